//! A batch's episodes on several ranks (docs/distributed.md): what each rank sends of the
//! episodes it ran, and how every rank puts the batch back together; for both trainers
//! (foraging and control), whose episode records implement [`Record`].
//!
//! Each rank sends, per episode, everything the update reads (rewards, inputs, the decisions'
//! factors q, ν, ∂log π/∂z and ∂H/∂z, critic values, spike counts, …) and its environment's
//! saved state; every rank decodes the blocks in rank order,
//! which is episode order. The gradient is then formed on every rank from these terms in
//! the loop that one process runs: nothing is summed per rank, so no sum is associated
//! differently. Loading the other ranks' environment states keeps every rank's environments
//! (and so its checkpoints) those of one process. A rank whose episodes failed sends its
//! error instead, so every rank returns that error rather than waiting.

use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::comm::{block, decode_status, status_bytes, Comm};
use crate::error::{Error, Result};
use crate::plugin::EnvInstance;

const OK: u8 = 0;
const FAILED: u8 = 1;

/// An episode's record for the update, as bytes and back.
pub(super) trait Record: Sized {
    /// Appends the record.
    fn encode(&self, enc: &mut Enc);
    /// Reads a record written by [`encode`](Record::encode).
    fn decode(dec: &mut Dec) -> DecResult<Self>;
}

/// This rank's episodes (run on its block `envs` of the batch's environments) and
/// environment states as bytes.
fn payload<T: Record>(bufs: &[T], envs: &mut [EnvInstance]) -> Result<Vec<u8>> {
    let mut enc = Enc::default();
    enc.u8(OK);
    enc.u64(bufs.len() as u64);
    for (e, env) in bufs.iter().zip(envs.iter_mut()) {
        e.encode(&mut enc);
        enc.bytes(&env.save()?);
    }
    Ok(enc.buf)
}

/// The batch's episodes in order on every rank, from each rank's `local` episodes; the other
/// ranks' environment states are loaded into `envs` (the batch's environments).
pub(super) fn gather_episodes<T: Record>(
    comm: &dyn Comm,
    local: Result<Vec<T>>,
    envs: &mut [EnvInstance],
) -> Result<Vec<T>> {
    let (b, me, size) = (envs.len(), comm.rank(), comm.size());
    let mine = block(b, me, size);
    let local = local.and_then(|bufs| payload(&bufs, &mut envs[mine]));
    let sent = match &local {
        Ok(p) => p.clone(),
        Err(e) => [&[FAILED][..], &status_bytes(e)].concat(),
    };
    let all = comm.all_gather(&sent)?;
    // A rank that failed returns its own error; the others that of the lowest failing rank.
    local?;
    for (r, p) in all.iter().enumerate() {
        if p.first() == Some(&FAILED) {
            let (code, msg) = decode_status(&p[1..]).unwrap_or((1, "failed".into()));
            return Err(Error::Rank { rank: r, code, msg });
        }
    }
    let mut bufs = Vec::with_capacity(b);
    for (r, p) in all.iter().enumerate() {
        let block = block(b, r, size);
        let bad = |m: String| Error::Run(format!("the episodes gathered from rank {r}: {m}"));
        let mut dec = Dec::new(p);
        let (tag, n) = (dec.u8().map_err(bad)?, dec.u64().map_err(bad)?);
        if tag != OK || n != block.len() as u64 {
            return Err(bad(format!("{n} episodes where {} were due", block.len())));
        }
        for k in block {
            bufs.push(T::decode(&mut dec).map_err(bad)?);
            let state = dec.bytes().map_err(bad)?;
            if r != me {
                envs[k].load(&state)?;
            }
        }
        if !dec.finished() {
            return Err(bad("bytes left over".into()));
        }
    }
    Ok(bufs)
}
