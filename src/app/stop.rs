//! Asking a run to stop early, and what a stopped run reports.
//!
//! The library installs no signal handler: a program that embeds it keeps its own Ctrl-C. It
//! exposes a flag instead, [`Stop`], which a run reads between steps (simulation) or between
//! batches of episodes (training), where the state is whole: the run then writes a checkpoint
//! when checkpointing is on, writes its output files and returns a summary whose `stopped` key
//! says where it stands. The `snnsim` binary sets the flag from SIGINT and SIGTERM (its own
//! handlers, in `main.rs`). The flag is one atomic word, so reading it costs nothing next to a
//! step and setting it is async-signal-safe.

use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The value of a [`Stop`] requested without a signal number.
const REQUESTED: usize = usize::MAX;

/// A request to stop a run at its next safe point; clones share the request. The default
/// never stops unless [`Stop::request`] is called.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    /// 0: go on; a signal number; or [`REQUESTED`].
    flag: Arc<AtomicUsize>,
}

impl Stop {
    /// A flag nobody has set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop (from any thread).
    pub fn request(&self) {
        let _ = self
            .flag
            .compare_exchange(0, REQUESTED, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed) != 0
    }

    /// The signal that asked for the stop, if a signal did.
    pub fn signal(&self) -> Option<i32> {
        match self.flag.load(Ordering::SeqCst) {
            0 | REQUESTED => None,
            s => i32::try_from(s).ok(),
        }
    }

    /// The shared word a signal handler stores the signal number into (for example with
    /// `signal_hook::flag::register_usize(sig, stop.word(), sig as usize)`); 0 means go on.
    pub fn word(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.flag)
    }

    /// What asked for the stop: `SIGINT`, `SIGTERM`, `signal N` or `request`.
    pub fn cause(&self) -> String {
        match self.signal() {
            Some(2) => "SIGINT".into(),
            Some(15) => "SIGTERM".into(),
            Some(s) => format!("signal {s}"),
            None => "request".into(),
        }
    }
}

/// The `stopped` key of a summary: a run that ended before its end because it was asked to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stopped {
    /// What asked for the stop: `SIGINT`, `SIGTERM` or `request` (the library's flag); for a
    /// reservoir run also `--duration-ms`.
    pub signal: String,
    /// `steps` (a simulation), `episodes` (a training run) or `samples` (a reservoir run).
    pub unit: String,
    /// Steps or episodes done when the run stopped.
    pub at: u64,
    /// Steps or episodes the run was to do.
    pub of: u64,
    /// The checkpoint written at the stop, from which `snnsim run --resume RUN_DIR`
    /// continues; `None` when checkpointing is off.
    pub checkpoint: Option<String>,
}

impl Stopped {
    /// One line saying where the run stands and how to continue it.
    pub fn line(&self, run_dir: &str) -> String {
        let head = format!(
            "snnsim: stopped by {} after {} of {} {}; outputs written to {run_dir}",
            self.signal, self.at, self.of, self.unit
        );
        match &self.checkpoint {
            None if self.unit == "samples" => format!(
                "{head} but no readout (a reservoir run is one pass, fitted at its end: run it again to the end)"
            ),
            Some(ck) => {
                format!("{head}; checkpoint {ck}; continue with: snnsim run --resume {run_dir}")
            }
            None => format!(
                "{head}; no checkpoint (checkpointing is off: --checkpoint-every N makes a run resumable)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Stop;

    #[test]
    fn a_stop_is_shared_by_clones_and_remembers_its_signal() {
        let s = Stop::new();
        assert!(!s.requested());
        let c = s.clone();
        c.word().store(15, std::sync::atomic::Ordering::SeqCst);
        assert!(s.requested());
        assert_eq!(s.signal(), Some(15));
        assert_eq!(s.cause(), "SIGTERM");
        let r = Stop::new();
        r.request();
        assert!(r.requested());
        assert_eq!(r.signal(), None);
        assert_eq!(r.cause(), "request");
    }
}
