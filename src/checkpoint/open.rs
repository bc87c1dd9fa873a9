//! A network from any of the three things `snnsim inspect` and `snnsim diff` take: a graph
//! file (the network it builds), a checkpoint file (the network it holds), or a run directory
//! (its newest valid checkpoint, else the network of its `config.ron`).

use super::summary::Edit;
use super::{Checkpoint, Kind, MAGIC};
use crate::error::{Error, Result};
use crate::file::{Checked, Source, TaskSpec};
use crate::graph::Network;
use std::path::Path;

/// A network and where it came from.
pub struct Opened {
    /// What was read: `graph file X`, `checkpoint X (step N)`, …
    pub origin: String,
    /// The graph file the network was built from.
    pub checked: Checked,
    /// The network.
    pub net: Network,
    /// The structural edit log (training checkpoints; empty otherwise).
    pub edits: Vec<Edit>,
}

/// Opens a graph file, checkpoint file or run directory. Refused checkpoints of a run
/// directory are reported through `refused` and skipped.
pub fn open(path: &Path, refused: &mut dyn FnMut(&str)) -> Result<Opened> {
    if path.is_dir() {
        if let Some((ck_path, ck)) = super::newest_valid(path, false, refused)? {
            return from_checkpoint(&ck_path, ck);
        }
        let config = path.join("config.ron");
        if !config.exists() {
            return Err(Error::Input(format!(
                "{}: neither a checkpoint nor config.ron; not a run directory",
                path.display()
            )));
        }
        let mut o = from_graph_file(&config)?;
        o.origin = format!(
            "run directory {} (config.ron, no checkpoint)",
            path.display()
        );
        return Ok(o);
    }
    if let Some(ck) = checkpoint_file(path)? {
        from_checkpoint(path, ck)
    } else {
        from_graph_file(path)
    }
}

/// The checkpoint at `path` when the file is one (it starts with the checkpoint magic), `None`
/// for any other file; an error when there is no file.
fn checkpoint_file(path: &Path) -> Result<Option<Checkpoint>> {
    if !path.exists() {
        return Err(Error::Input(format!(
            "{}: no such graph file, run directory or checkpoint",
            path.display()
        )));
    }
    let head = {
        use std::io::Read;
        let mut b = [0u8; 8];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut b))
            .map_err(|e| Error::io(path, e))?;
        b[..n].to_vec()
    };
    if head == MAGIC {
        Ok(Some(Checkpoint::read(path)?))
    } else {
        Ok(None)
    }
}

/// The checked graph file behind what [`open`] would open, read without building anything: a
/// graph file itself, a run directory's `config.ron`, a checkpoint's stored configuration.
pub fn checked_of(path: &Path) -> Result<Checked> {
    if path.is_dir() {
        let config = path.join("config.ron");
        if config.exists() {
            return crate::models::load(&config);
        }
        return match super::newest_valid(path, false, &mut |_| {})? {
            Some((ck_path, ck)) => crate::models::load_source(&Source::from_text(
                format!("{} (config)", ck_path.display()),
                ck.config,
            )),
            None => Err(Error::Input(format!(
                "{}: neither a checkpoint nor config.ron; not a run directory",
                path.display()
            ))),
        };
    }
    if let Some(ck) = checkpoint_file(path)? {
        crate::models::load_source(&Source::from_text(
            format!("{} (config)", path.display()),
            ck.config,
        ))
    } else {
        crate::models::load(path)
    }
}

fn from_graph_file(path: &Path) -> Result<Opened> {
    let checked = crate::models::load(path)?;
    let net = crate::graph::build(&checked)?;
    Ok(Opened {
        origin: format!("graph file {}", path.display()),
        checked,
        net,
        edits: Vec::new(),
    })
}

fn from_checkpoint(path: &Path, ck: Checkpoint) -> Result<Opened> {
    let bad = |why: String| Error::Input(format!("refusing checkpoint {}: {why}", path.display()));
    let source = Source::from_text(format!("{} (config)", path.display()), ck.config.clone());
    let checked = crate::models::load_source(&source)?;
    let mut net = crate::graph::build(&checked)?;
    let (origin, edits) = match ck.kind {
        Kind::Simulation => {
            let mut d = super::codec::Dec::new(&ck.state);
            let restored = (|| -> std::result::Result<(), String> {
                d.u64()?;
                d.u64()?;
                super::net::restore(&mut net, &mut d)
            })();
            restored.map_err(bad)?;
            (
                format!("checkpoint {} (step {})", path.display(), ck.position),
                Vec::new(),
            )
        }
        Kind::Training => {
            let log = match &checked.file.task {
                Some(TaskSpec::Control(_) | TaskSpec::Classify(_)) => {
                    crate::agent::control::network_of(&ck.state, &mut net).map(|()| Vec::new())
                }
                _ => crate::agent::train::network_and_edits(&ck.state, &mut net),
            };
            let log = log.map_err(bad)?;
            let hidden = checked
                .file
                .task
                .as_ref()
                .and_then(|t| t.agent())
                .map(|a| a.hidden.clone())
                .unwrap_or_default();
            let edits = log
                .into_iter()
                .map(|e| Edit {
                    episode: e.episode,
                    kind: e.kind.to_string(),
                    population: hidden.clone(),
                    count: e.count,
                    size_after: e.size_after,
                    ids: e.ids,
                })
                .collect();
            (
                format!(
                    "checkpoint {} ({} {})",
                    path.display(),
                    match checked.file.task {
                        Some(TaskSpec::Classify(_)) => "epoch",
                        _ => "episode",
                    },
                    ck.position
                ),
                edits,
            )
        }
    };
    Ok(Opened {
        origin,
        checked,
        net,
        edits,
    })
}
