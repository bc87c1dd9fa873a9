//! Communication between the ranks of a distributed run (docs/distributed.md).
//!
//! Why it is built this way:
//!
//! - **A trait over byte collectives.** [`Comm`] offers what the distributed paths need and no
//!   more: rank, size, barrier, broadcast, and gathers of byte buffers in rank order (to one
//!   rank or to all). Typed data travels through the small encoders here ([`f64s_bytes`],
//!   [`bytes_f64s`]) or the checkpoint codec, so the MPI side never sees a Rust type.
//! - **No reductions of floats.** Nothing here adds numbers across ranks: an MPI reduction may
//!   associate a sum in any order, which changes the bits. A caller gathers the individual
//!   terms in rank order and adds them itself, in the order one process adds them, so a run on
//!   R ranks gives one process's bits.
//! - **Two implementations.** [`Local`] runs 1–N ranks as threads of one process (shared slots
//!   and a condition variable), so the default `cargo test` exercises every distributed path
//!   without MPI installed; its 1-rank form is what a run without `mpirun` uses. `Mpi`
//!   (feature `mpi`, [`mpi`]) is rsmpi over the system's MPI, initialised only when a launcher
//!   started the process.
//! - **Errors agree.** A rank that fails must not leave the others waiting in a collective:
//!   [`agree`] gathers every rank's outcome so that all ranks return the same error (naming the
//!   rank it came from) and exit with the same code. A [`Local`] rank that panics or returns
//!   early makes the others' next collective fail instead of hang.

mod local;
#[cfg(feature = "mpi")]
pub mod mpi;

pub use local::Local;

use crate::error::{Error, Result};
use std::sync::Arc;

/// The collectives of a group of ranks. Every rank calls the same collectives in the same
/// order; all but [`rank`](Comm::rank), [`size`](Comm::size) and
/// [`node_ranks`](Comm::node_ranks) block until every rank has called them.
pub trait Comm: Send + Sync + std::fmt::Debug {
    /// This rank, 0-based.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// The ranks on this rank's node (sharing its cores), this one included.
    fn node_ranks(&self) -> usize;
    /// Waits until every rank has arrived.
    fn barrier(&self) -> Result<()>;
    /// Rank `root`'s `data` on every rank (replacing `data` elsewhere).
    fn broadcast(&self, root: usize, data: &mut Vec<u8>) -> Result<()>;
    /// Every rank's `data`, on every rank, in rank order.
    fn all_gather(&self, data: &[u8]) -> Result<Vec<Vec<u8>>>;
    /// Every rank's `data` on rank `root`, in rank order; `None` on the other ranks.
    fn gather(&self, root: usize, data: &[u8]) -> Result<Option<Vec<Vec<u8>>>>;
}

/// A shared handle to a communicator.
pub type CommRef = Arc<dyn Comm>;

/// The communicator of a process that runs alone (one rank).
pub fn single() -> CommRef {
    Arc::new(Local::single())
}

/// The part of `n` items (numbered from 0) that rank `rank` of `size` takes: a contiguous
/// block, the first `n mod size` ranks one item more, so that concatenating the blocks in rank
/// order gives the items in order.
pub fn block(n: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    let (q, r) = (n / size, n % size);
    let start = rank * q + rank.min(r);
    start..start + q + usize::from(rank < r)
}

/// The worker threads of a rank when none are asked for: the cores of the node divided among
/// its ranks (at least one).
pub fn default_threads(comm: &dyn Comm) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / comm.node_ranks().max(1)).max(1)
}

/// Makes every rank return the same outcome: each rank's result is gathered; if any failed,
/// every rank returns the error of the lowest failing rank (its message prefixed by the rank
/// when there are several ranks, its exit code kept). Costs one collective.
pub fn agree<T>(comm: &dyn Comm, result: Result<T>) -> Result<T> {
    let mine = match &result {
        Ok(_) => Vec::new(),
        Err(e) => status_bytes(e),
    };
    let all = comm.all_gather(&mine)?;
    match first_failure(&all) {
        None => result,
        Some((rank, code, msg)) if rank == comm.rank() => match result {
            Err(e) if comm.size() == 1 => Err(e),
            _ => Err(Error::Rank { rank, code, msg }),
        },
        Some((rank, code, msg)) => Err(Error::Rank { rank, code, msg }),
    }
}

/// An error as bytes for [`decode_status`]: exit code (i32 LE) then the message.
pub fn status_bytes(e: &Error) -> Vec<u8> {
    let mut b = e.exit_code().to_le_bytes().to_vec();
    b.extend_from_slice(e.to_string().as_bytes());
    b
}

/// The exit code and message of [`status_bytes`]; `None` for an empty buffer (success).
pub fn decode_status(b: &[u8]) -> Option<(i32, String)> {
    if b.len() < 4 {
        return None;
    }
    let code = i32::from_le_bytes(b[..4].try_into().expect("four bytes"));
    Some((code, String::from_utf8_lossy(&b[4..]).into_owned()))
}

/// The lowest rank whose status (see [`status_bytes`]) is a failure, with its code and message.
pub fn first_failure(all: &[Vec<u8>]) -> Option<(usize, i32, String)> {
    all.iter()
        .enumerate()
        .find_map(|(k, b)| decode_status(b).map(|(c, m)| (k, c, m)))
}

/// f64 values by bit pattern, little-endian.
pub fn f64s_bytes(xs: &[f64]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect()
}

/// The values of [`f64s_bytes`]; an error when the length is not a multiple of 8.
pub fn bytes_f64s(b: &[u8]) -> Result<Vec<f64>> {
    if !b.len().is_multiple_of(8) {
        return Err(Error::Run(format!(
            "a gathered buffer of {} bytes is not a whole number of f64 values",
            b.len()
        )));
    }
    Ok(b.chunks_exact(8)
        .map(|c| f64::from_bits(u64::from_le_bytes(c.try_into().expect("eight bytes"))))
        .collect())
}

/// Every rank's f64 values on every rank, in rank order (the terms of a sum, for the caller to
/// add in its own order).
pub fn all_gather_f64s(comm: &dyn Comm, xs: &[f64]) -> Result<Vec<Vec<f64>>> {
    comm.all_gather(&f64s_bytes(xs))?
        .iter()
        .map(|b| bytes_f64s(b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_items_in_order() {
        for n in 0..20 {
            for size in 1..6 {
                let all: Vec<usize> = (0..size).flat_map(|r| block(n, r, size)).collect();
                assert_eq!(all, (0..n).collect::<Vec<_>>(), "n {n} size {size}");
                let lens: Vec<usize> = (0..size).map(|r| block(n, r, size).len()).collect();
                assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
            }
        }
    }

    #[test]
    fn status_round_trips() {
        let e = Error::Input("bad seed".into());
        assert_eq!(
            decode_status(&status_bytes(&e)),
            Some((2, "bad seed".into()))
        );
        assert_eq!(decode_status(&[]), None);
        let all = vec![
            vec![],
            status_bytes(&Error::Run("x".into())),
            status_bytes(&e),
        ];
        assert_eq!(first_failure(&all), Some((1, 1, "run failed: x".into())));
    }

    #[test]
    fn f64s_keep_their_bits() {
        let xs = [0.1, -0.0, f64::NAN, 1e-310, f64::INFINITY];
        let back = bytes_f64s(&f64s_bytes(&xs)).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&xs));
        assert!(bytes_f64s(&[0; 7]).is_err());
    }
}
