//! `snnsim run FILE --record-activity`: the hidden spikes of a training run over the whole run,
//! into `activity.csv`, so that `snnsim view` can replay growth and pruning with the activity
//! they came with.
//!
//! A training run records the hidden spikes of one episode per batch (the last one; the
//! trainer keeps it as `last_episode_spikes`), and without this option only the run's last
//! such episode reaches `spikes.csv`. The recorder keeps every batch's episode as it arrives,
//! in memory, up to [`MAX_SPIKES`] spikes; past that it keeps every other recorded episode
//! and from then on records every second batch (then every fourth, and so on), so that the
//! file covers the whole run evenly within the bound. It is written once, at the end.

use super::{Observer, RunInfo, TrainProgress};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Spikes kept at most (about 16 bytes each in `activity.csv`: about 32 MB).
pub const MAX_SPIKES: usize = 2_000_000;

/// One recorded episode: its index (episodes done before it) and its spikes (step in the
/// episode, hidden neuron index at the time).
type Episode = (u64, Vec<(u32, u32)>);

/// The observer behind `--record-activity`.
#[derive(Debug, Default)]
pub struct ActivityRecorder {
    episodes: Vec<Episode>,
    spikes: usize,
    /// Record every `stride`-th batch.
    stride: u64,
    batches: u64,
    dt_ms: f64,
    cap: usize,
    started: bool,
}

impl ActivityRecorder {
    /// A recorder keeping at most [`MAX_SPIKES`] spikes.
    pub fn new() -> Self {
        Self::with_cap(MAX_SPIKES)
    }

    /// A recorder keeping at most `cap` spikes.
    pub fn with_cap(cap: usize) -> Self {
        ActivityRecorder {
            stride: 1,
            cap,
            ..Self::default()
        }
    }

    /// Batches between two recorded episodes now.
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// Episodes and spikes kept.
    pub fn kept(&self) -> (usize, usize) {
        (self.episodes.len(), self.spikes)
    }

    fn thin(&mut self) {
        while self.spikes > self.cap && self.episodes.len() > 1 {
            let kept: Vec<Episode> = std::mem::take(&mut self.episodes)
                .into_iter()
                .step_by(2)
                .collect();
            self.spikes = kept.iter().map(|e| e.1.len()).sum();
            self.episodes = kept;
            self.stride *= 2;
        }
    }

    /// Writes `DIR/activity.csv` (`episode,t_ms,neuron`: the episode's index, the time from
    /// its start, the hidden neuron's index then) and returns its path; nothing when the run
    /// never reported to it (a `Control` task).
    pub fn write(&self, dir: &Path) -> Result<Option<PathBuf>> {
        if !self.started {
            return Ok(None);
        }
        let path = dir.join("activity.csv");
        let mut f = crate::io::AtomicFile::create(&path)?;
        let prec = crate::monitor::time_decimals(self.dt_ms);
        let res = (|| -> std::io::Result<()> {
            writeln!(f, "episode,t_ms,neuron")?;
            for (ep, spikes) in &self.episodes {
                for &(step, i) in spikes {
                    writeln!(f, "{ep},{:.prec$},{i}", step as f64 * self.dt_ms)?;
                }
            }
            Ok(())
        })();
        res.map_err(|e| Error::io(&path, e))?;
        f.commit()?;
        Ok(Some(path))
    }
}

impl Observer for ActivityRecorder {
    fn start(&mut self, info: &RunInfo) -> Result<()> {
        if !info.training {
            return Err(Error::Input(
                "--record-activity applies to files with a training task (a network run's \
                 `Spikes` recorders record every spike)"
                    .into(),
            ));
        }
        self.dt_ms = info.dt_ms;
        self.started = true;
        Ok(())
    }

    fn training(&mut self, p: &TrainProgress<'_>) {
        let t = p.trainer;
        let due = self.batches.is_multiple_of(self.stride);
        self.batches += 1;
        if !due || t.episodes_done == 0 {
            return;
        }
        let spikes: Vec<(u32, u32)> = t
            .last_episode_spikes
            .iter()
            .map(|&(s, i)| (s as u32, i))
            .collect();
        self.spikes += spikes.len();
        self.episodes.push((t.episodes_done - 1, spikes));
        self.thin();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_bound_and_spans_the_run() {
        let mut r = ActivityRecorder::with_cap(1000);
        r.dt_ms = 1.0;
        r.started = true;
        // 64 batches of 100 spikes each, fed as the observer would see them.
        for b in 0..64u64 {
            if r.batches.is_multiple_of(r.stride) {
                r.spikes += 100;
                r.episodes.push((b * 16 + 15, vec![(0, 0); 100]));
                r.thin();
            }
            r.batches += 1;
        }
        let (eps, spikes) = r.kept();
        assert!(spikes <= 1000, "{spikes}");
        assert!(eps >= 5, "{eps}");
        assert_eq!(r.episodes[0].0, 15);
        // Evenly spaced: every recorded batch is a multiple of the final stride.
        for (k, (ep, _)) in r.episodes.iter().enumerate() {
            assert_eq!(*ep, k as u64 * r.stride() * 16 + 15);
        }
        assert!(r.episodes.last().unwrap().0 >= 48 * 16);
        let dir = tempfile::tempdir().unwrap();
        let path = r.write(dir.path()).unwrap().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text.lines().count(), spikes + 1);
        assert!(
            text.starts_with("episode,t_ms,neuron\n15,0,0\n"),
            "{}",
            &text[..40]
        );
    }
}
