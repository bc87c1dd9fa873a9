//! `snnsim run FILE --record-activity`: the hidden spikes of a training run over the whole run,
//! into `activity.csv`, so that `snnsim view` can replay growth and pruning with the activity
//! they came with.
//!
//! Without this option a training run keeps the hidden spikes of one episode per batch (the
//! last one, `Trainer::last_episode_spikes`) and only the run's last such episode reaches
//! `spikes.csv`. With it the trainer records every episode (`Trainer::batch_spikes`), and the
//! recorder keeps them all as they arrive, in memory, up to [`MAX_SPIKES`] spikes; past that
//! it keeps every second episode (those whose index + 1 is a multiple of 2), and from then on
//! records only those (then every fourth, and so on), so that the file covers the whole run
//! evenly within the bound. The kept episodes are always ends of batches once the stride
//! reaches the batch size, so the last one is `spikes.csv`'s. It is written once, at the end;
//! checkpoints keep what it holds (`Observer::save`), so that a run killed and resumed writes
//! the uninterrupted run's file (a resume of a checkpoint made without the option starts it
//! empty there).

use super::{Observer, RunInfo, TrainProgress};
use crate::checkpoint::codec::{Dec, Enc};
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
    /// Record the episodes whose index + 1 is a multiple of `stride`.
    stride: u64,
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

    /// Episodes between two recorded ones now.
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// Episodes and spikes kept.
    pub fn kept(&self) -> (usize, usize) {
        (self.episodes.len(), self.spikes)
    }

    fn due(&self, episode: u64) -> bool {
        (episode + 1).is_multiple_of(self.stride)
    }

    /// Keeps `spikes` of episode `episode` if it is due, then thins to the bound.
    fn push(&mut self, episode: u64, spikes: Vec<(u32, u32)>) {
        if !self.due(episode) {
            return;
        }
        self.spikes += spikes.len();
        self.episodes.push((episode, spikes));
        while self.spikes > self.cap && self.episodes.len() > 1 {
            self.stride *= 2;
            let stride = self.stride;
            self.episodes.retain(|e| (e.0 + 1).is_multiple_of(stride));
            self.spikes = self.episodes.iter().map(|e| e.1.len()).sum();
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

    fn every_episode(&self) -> bool {
        true
    }

    /// The episodes kept so far and the stride, so that a resumed run writes the
    /// uninterrupted run's file.
    fn save(&self) -> Option<Vec<u8>> {
        let mut e = Enc::default();
        e.u64(self.stride);
        e.u64(self.episodes.len() as u64);
        for (ep, spikes) in &self.episodes {
            e.u64(*ep);
            let (steps, neurons): (Vec<u32>, Vec<u32>) = spikes.iter().copied().unzip();
            e.u32s(&steps);
            e.u32s(&neurons);
        }
        Some(e.buf)
    }

    fn load(&mut self, state: &[u8]) -> Result<()> {
        let bad = |why: String| Error::Input(format!("checkpoint state: recorded activity: {why}"));
        let mut d = Dec::new(state);
        let stride = d.u64().map_err(bad)?;
        if !stride.is_power_of_two() {
            return Err(bad(format!("a stride of {stride}")));
        }
        let n = d.u64().map_err(bad)?;
        let mut episodes = Vec::new();
        for _ in 0..n {
            let ep = d.u64().map_err(bad)?;
            let (steps, neurons) = (d.u32s().map_err(bad)?, d.u32s().map_err(bad)?);
            if steps.len() != neurons.len() {
                return Err(bad(format!("episode {ep}: spikes of unequal lengths")));
            }
            episodes.push((ep, steps.into_iter().zip(neurons).collect::<Vec<_>>()));
        }
        if !d.finished() {
            return Err(bad("trailing bytes".into()));
        }
        self.stride = stride;
        self.spikes = episodes.iter().map(|e| e.1.len()).sum();
        self.episodes = episodes;
        Ok(())
    }

    fn training(&mut self, p: &TrainProgress<'_>) {
        let t = p.trainer;
        let first = t.episodes_done - t.batch_spikes.len() as u64;
        for (k, episode) in t.batch_spikes.iter().enumerate() {
            let spikes = episode.iter().map(|&(s, i)| (s as u32, i)).collect();
            self.push(first + k as u64, spikes);
        }
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
        // 1 024 episodes of 10 spikes each (64 batches of 16), fed as the trainer reports them.
        for e in 0..1024u64 {
            r.push(e, vec![(0, 0); 10]);
        }
        let (eps, spikes) = r.kept();
        assert!(spikes <= 1000, "{spikes}");
        assert!(eps >= 50, "{eps}");
        // Evenly spaced ends of batches: episodes 15, 31, 47, ... (stride 16).
        assert_eq!(r.stride(), 16);
        for (k, (ep, _)) in r.episodes.iter().enumerate() {
            assert_eq!(*ep, k as u64 * 16 + 15);
        }
        assert_eq!(r.episodes.last().unwrap().0, 1023);
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

    #[test]
    fn a_recorder_restored_from_its_state_goes_on_as_the_uninterrupted_one() {
        let feed = |r: &mut ActivityRecorder, episodes: std::ops::Range<u64>| {
            for e in episodes {
                r.push(e, vec![(e as u32 % 7, 3); 1 + (e % 13) as usize]);
            }
        };
        let mut whole = ActivityRecorder::with_cap(500);
        feed(&mut whole, 0..400);
        // Stopped at 160 (past the first thinning), restored into a fresh recorder.
        let mut first = ActivityRecorder::with_cap(500);
        feed(&mut first, 0..160);
        assert!(first.stride() > 1, "the state carries a thinned stride");
        let mut resumed = ActivityRecorder::with_cap(500);
        resumed.load(&first.save().unwrap()).unwrap();
        feed(&mut resumed, 160..400);
        assert_eq!(resumed.episodes, whole.episodes);
        assert_eq!(
            (resumed.stride(), resumed.kept()),
            (whole.stride(), whole.kept())
        );
        // A damaged state is refused, not half loaded.
        let mut state = first.save().unwrap();
        state.truncate(state.len() - 1);
        let mut r = ActivityRecorder::with_cap(500);
        assert!(r.load(&state).is_err());
        assert_eq!(r.kept(), (0, 0));
    }
}
