//! `Mpi`: the [`Comm`] of a process started by `mpirun` or `srun`, over rsmpi (the `mpi`
//! crate) and the system's MPI library (feature `mpi`).
//!
//! MPI is initialised only when a launcher started the process (its environment says so), so
//! the same binary run by hand is one rank and never touches MPI. It is initialised with
//! `MPI_THREAD_FUNNELED`, as NEST does: worker threads compute, and only the thread that
//! initialised MPI calls it, which every call here checks (an error otherwise), so sharing the
//! handle between threads cannot reach MPI from the wrong one. Byte buffers go as
//! `MPI_Allgatherv`/`MPI_Gatherv` after a gather of their lengths; nothing is reduced by MPI
//! (see the parent module). MPI's default error handler aborts the job on a failed call.

use super::local::check_root;
use super::Comm;
use crate::error::{Error, Result};
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Root};
use mpi::Threading;
use std::thread::ThreadId;

/// The ranks of `MPI_COMM_WORLD` (see the module's documentation). Dropping it finalises MPI.
pub struct Mpi {
    world: SimpleCommunicator,
    node_ranks: usize,
    owner: ThreadId,
    // Last: finalises MPI after the communicators above are gone.
    _universe: Universe,
}

// SAFETY: every method that calls MPI first checks that it runs on `owner`, the thread that
// initialised MPI (MPI_THREAD_FUNNELED), and returns an error on any other thread; the handles
// are never touched elsewhere. Dropping on another thread is the one exception the check
// cannot cover: `main` owns the handle and drops it on the main thread.
unsafe impl Send for Mpi {}
// SAFETY: as above; no method mutates through `&self` except inside MPI calls on `owner`.
unsafe impl Sync for Mpi {}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpi")
            .field("rank", &self.world.rank())
            .field("size", &self.world.size())
            .field("node_ranks", &self.node_ranks)
            .finish()
    }
}

/// Whether an MPI launcher started this process: Open MPI's `mpirun`, a PMI launcher (MPICH's
/// Hydra, Intel MPI, `srun --mpi=pmi2`) or a PMIx one (Open MPI 5, `srun --mpi=pmix`).
pub fn launched() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

impl Mpi {
    /// Initialises MPI when a launcher started the process; `None` otherwise (one rank, no MPI).
    pub fn init() -> Result<Option<Mpi>> {
        if !launched() {
            return Ok(None);
        }
        let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Funneled)
        else {
            return Err(Error::Run("MPI was already initialised".into()));
        };
        if threading < Threading::Funneled {
            return Err(Error::Run(format!(
                "the MPI library offers thread support {threading:?}; snnsim needs Funneled"
            )));
        }
        let world = universe.world();
        let node_ranks = world.split_shared(world.rank()).size() as usize;
        Ok(Some(Mpi {
            world,
            node_ranks,
            owner: std::thread::current().id(),
            _universe: universe,
        }))
    }

    fn on_owner(&self) -> Result<()> {
        if std::thread::current().id() == self.owner {
            Ok(())
        } else {
            Err(Error::Run(
                "MPI called from a thread other than the one that initialised it".into(),
            ))
        }
    }

    /// Each rank's length (as MPI's `int` count) on every rank.
    fn lengths(&self, n: usize) -> Result<Vec<i32>> {
        let n = i32::try_from(n).map_err(|_| {
            Error::Run(format!(
                "a buffer of {n} bytes exceeds MPI's count limit ({} bytes)",
                i32::MAX
            ))
        })?;
        let mut all = vec![0i32; self.size()];
        self.world.all_gather_into(&n, &mut all[..]);
        Ok(all)
    }
}

/// Displacements of concatenated buffers of `counts` bytes, with an error past MPI's `int`.
fn displacements(counts: &[i32]) -> Result<Vec<i32>> {
    let mut at = 0i64;
    let mut d = Vec::with_capacity(counts.len());
    for &c in counts {
        d.push(i32::try_from(at).map_err(|_| {
            Error::Run("gathered buffers exceed MPI's count limit (2 GiB in all)".into())
        })?);
        at += i64::from(c);
    }
    Ok(d)
}

/// `data` behind a one-byte header: an MPI buffer is never empty, since empty slices share a
/// dangling address, which Open MPI takes for a send buffer aliasing the receive buffer.
fn framed(data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(data.len() + 1);
    b.push(0);
    b.extend_from_slice(data);
    b
}

/// The concatenation `buf` of framed buffers cut back into its ranks' buffers.
fn split(buf: &[u8], counts: &[i32], displs: &[i32]) -> Vec<Vec<u8>> {
    counts
        .iter()
        .zip(displs)
        .map(|(&c, &d)| buf[d as usize + 1..(d + c) as usize].to_vec())
        .collect()
}

impl Comm for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn node_ranks(&self) -> usize {
        self.node_ranks
    }
    fn barrier(&self) -> Result<()> {
        self.on_owner()?;
        self.world.barrier();
        Ok(())
    }
    fn broadcast(&self, root: usize, data: &mut Vec<u8>) -> Result<()> {
        self.on_owner()?;
        check_root(root, self.size())?;
        let process = self.world.process_at_rank(root as i32);
        let mut len = data.len() as u64;
        process.broadcast_into(&mut len);
        let len = usize::try_from(len).map_err(|_| Error::Run("broadcast too long".into()))?;
        if i32::try_from(len).is_err() {
            return Err(Error::Run(format!(
                "a broadcast of {len} bytes exceeds MPI's count limit"
            )));
        }
        if len > 0 {
            data.resize(len, 0);
            process.broadcast_into(&mut data[..]);
        } else {
            data.clear();
        }
        Ok(())
    }
    fn all_gather(&self, data: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.on_owner()?;
        let data = &framed(data)[..];
        let counts = self.lengths(data.len())?;
        let displs = displacements(&counts)?;
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let mut buf = vec![0u8; total];
        {
            let mut part = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(data, &mut part);
        }
        Ok(split(&buf, &counts, &displs))
    }
    fn gather(&self, root: usize, data: &[u8]) -> Result<Option<Vec<Vec<u8>>>> {
        self.on_owner()?;
        check_root(root, self.size())?;
        let data = &framed(data)[..];
        // Every rank learns the lengths (one small collective), so a too-large total fails on
        // all ranks alike instead of on the root alone.
        let counts = self.lengths(data.len())?;
        let displs = displacements(&counts)?;
        let process = self.world.process_at_rank(root as i32);
        if self.rank() != root {
            process.gather_varcount_into(data);
            return Ok(None);
        }
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let mut buf = vec![0u8; total];
        {
            let mut part = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            process.gather_varcount_into_root(data, &mut part);
        }
        Ok(Some(split(&buf, &counts, &displs)))
    }
}
