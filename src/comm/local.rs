//! [`Local`]: ranks as threads of one process. Each collective is one exchange: every rank
//! puts its buffer in its slot; the last to arrive moves the slots into a shared snapshot,
//! starts a new generation and wakes the others, who read the snapshot before they can take
//! part in the next exchange (which cannot complete without them), so one snapshot at a time
//! suffices. A rank that leaves the group (its closure returned or panicked) makes every
//! exchange still waiting, and every later one, fail with its name instead of waiting forever.

use super::Comm;
use crate::error::{Error, Result};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[derive(Debug, Default)]
struct State {
    slots: Vec<Option<Vec<u8>>>,
    arrived: usize,
    generation: u64,
    snapshot: Arc<Vec<Vec<u8>>>,
    /// Why the group can no longer complete an exchange (a rank left).
    broken: Option<String>,
}

#[derive(Debug)]
struct Shared {
    size: usize,
    state: Mutex<State>,
    wake: Condvar,
}

/// One rank of a group of ranks in this process (see the module's documentation).
#[derive(Debug)]
pub struct Local {
    rank: usize,
    shared: Arc<Shared>,
}

impl Local {
    /// The only rank of a group of one: every collective returns at once.
    pub fn single() -> Local {
        Local::group(1).pop().expect("one rank")
    }

    /// The `size` ranks of a new group, rank 0 first; each must be used by its own thread.
    pub fn group(size: usize) -> Vec<Local> {
        assert!(size >= 1, "a group needs at least one rank");
        let shared = Arc::new(Shared {
            size,
            state: Mutex::new(State {
                slots: vec![None; size],
                ..State::default()
            }),
            wake: Condvar::new(),
        });
        (0..size)
            .map(|rank| Local {
                rank,
                shared: Arc::clone(&shared),
            })
            .collect()
    }

    /// Runs `f` on `size` ranks, one thread each, and returns their results in rank order. A
    /// rank that panics makes the others' collectives fail; its panic is then raised here.
    pub fn run<R: Send>(size: usize, f: impl Fn(super::CommRef) -> R + Sync) -> Vec<R> {
        let ranks = Local::group(size);
        std::thread::scope(|s| {
            let handles: Vec<_> = ranks
                .into_iter()
                .map(|comm| {
                    let f = &f;
                    s.spawn(move || {
                        let leave = Leaving(Arc::clone(&comm.shared), comm.rank);
                        let out = f(Arc::new(comm));
                        drop(leave);
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A rank panicking inside a collective holds no invariant half-done: the state stays
        // readable, and `broken` tells the others.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every rank's buffer, in rank order, once every rank has given its own.
    fn exchange(&self, mine: Vec<u8>) -> Result<Arc<Vec<Vec<u8>>>> {
        let size = self.shared.size;
        let mut st = self.lock();
        if let Some(why) = &st.broken {
            return Err(Error::Run(format!("rank {}: {why}", self.rank)));
        }
        st.slots[self.rank] = Some(mine);
        st.arrived += 1;
        if st.arrived == size {
            st.arrived = 0;
            st.generation += 1;
            let all = st.slots.iter_mut().map(|s| s.take().unwrap_or_default());
            st.snapshot = Arc::new(all.collect());
            self.shared.wake.notify_all();
            return Ok(Arc::clone(&st.snapshot));
        }
        let generation = st.generation;
        loop {
            st = self.shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            if st.generation != generation {
                return Ok(Arc::clone(&st.snapshot));
            }
            if let Some(why) = &st.broken {
                return Err(Error::Run(format!("rank {}: {why}", self.rank)));
            }
        }
    }
}

/// Marks its rank as gone when dropped (its closure returned or unwound).
struct Leaving(Arc<Shared>, usize);

impl Drop for Leaving {
    fn drop(&mut self) {
        let how = if std::thread::panicking() {
            "panicked"
        } else {
            "finished"
        };
        let mut st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.broken.is_none() {
            st.broken = Some(format!(
                "rank {} {how} and left the group; this collective cannot complete",
                self.1
            ));
        }
        self.0.wake.notify_all();
    }
}

impl Comm for Local {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.shared.size
    }
    fn node_ranks(&self) -> usize {
        self.shared.size
    }
    fn barrier(&self) -> Result<()> {
        self.exchange(Vec::new()).map(|_| ())
    }
    fn broadcast(&self, root: usize, data: &mut Vec<u8>) -> Result<()> {
        check_root(root, self.size())?;
        let mine = if self.rank == root {
            std::mem::take(data)
        } else {
            Vec::new()
        };
        let all = self.exchange(mine)?;
        *data = all[root].clone();
        Ok(())
    }
    fn all_gather(&self, data: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self.exchange(data.to_vec())?.to_vec())
    }
    fn gather(&self, root: usize, data: &[u8]) -> Result<Option<Vec<Vec<u8>>>> {
        check_root(root, self.size())?;
        let all = self.exchange(data.to_vec())?;
        Ok((self.rank == root).then(|| all.to_vec()))
    }
}

/// An error unless `root` is a rank of a group of `size`.
pub(super) fn check_root(root: usize, size: usize) -> Result<()> {
    if root < size {
        Ok(())
    } else {
        Err(Error::Run(format!(
            "root rank {root} is not one of the {size} ranks"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{agree, all_gather_f64s, CommRef};
    use super::*;

    #[test]
    fn gathers_come_in_rank_order_on_every_rank() {
        for size in 1..=4 {
            let out = Local::run(size, |c: CommRef| {
                let mut got = Vec::new();
                for round in 0..50u8 {
                    let mine = vec![c.rank() as u8; c.rank() + round as usize % 3];
                    let all = c.all_gather(&mine).unwrap();
                    let want: Vec<Vec<u8>> = (0..c.size())
                        .map(|k| vec![k as u8; k + round as usize % 3])
                        .collect();
                    assert_eq!(all, want);
                    let g = c.gather(size - 1, &[round, c.rank() as u8]).unwrap();
                    assert_eq!(g.is_some(), c.rank() == size - 1);
                    if let Some(g) = g {
                        assert_eq!(
                            g,
                            (0..size).map(|k| vec![round, k as u8]).collect::<Vec<_>>()
                        );
                    }
                    let mut b = if c.rank() == 0 {
                        vec![round; 3]
                    } else {
                        vec![9]
                    };
                    c.broadcast(0, &mut b).unwrap();
                    got.push(b);
                    c.barrier().unwrap();
                }
                got
            });
            for got in &out {
                assert_eq!(got, &(0..50u8).map(|r| vec![r; 3]).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn floats_travel_by_their_bits() {
        let out = Local::run(3, |c: CommRef| {
            all_gather_f64s(&*c, &[c.rank() as f64 + 0.1, -0.0]).unwrap()
        });
        for all in out {
            assert_eq!(all.len(), 3);
            assert_eq!(all[2][0], 2.1);
            assert!(all[1][1].is_sign_negative());
        }
    }

    #[test]
    fn a_rank_that_leaves_fails_the_others_instead_of_hanging() {
        let out = Local::run(3, |c: CommRef| {
            if c.rank() == 1 {
                return Ok(());
            }
            c.barrier()
        });
        assert!(out[1].is_ok());
        for r in [0, 2] {
            let e = out[r].as_ref().unwrap_err().to_string();
            assert!(e.contains("rank 1 finished and left"), "{e}");
        }
    }

    #[test]
    fn agreement_reports_the_lowest_failing_rank_everywhere() {
        let out = Local::run(4, |c: CommRef| {
            let mine = match c.rank() {
                2 => Err(Error::Input(
                    "configurations[1].graph: cannot read x.ron".into(),
                )),
                3 => Err(Error::Run("later".into())),
                k => Ok(k),
            };
            agree(&*c, mine)
        });
        for r in out {
            let e = r.unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert_eq!(
                e.to_string(),
                "rank 2: configurations[1].graph: cannot read x.ron"
            );
        }
        let ok = Local::run(2, |c: CommRef| agree(&*c, Ok(c.rank())).unwrap());
        assert_eq!(ok, vec![0, 1]);
    }
}
