//! `snnsim inspect` and `snnsim diff`: the canonical structure summary of a graph file, run
//! directory or checkpoint (`checkpoint::summary`) with an estimate of the memory the network
//! takes, and what changed between two of them.

use crate::checkpoint::diff::{diff, Diff};
use crate::checkpoint::open::open;
use crate::checkpoint::summary::{summary, Edit};
use crate::error::Result;
use crate::file::Checked;
use crate::graph::{Delays, Network};
use std::fmt::Write;
use std::path::Path;

/// Bytes held by a network's columns, matrices and rings (an estimate: allocator overhead
/// and the recorders are not counted).
pub fn memory_bytes(net: &Network) -> usize {
    let real = std::mem::size_of::<crate::Real>();
    let mut b = 0;
    for p in net.populations() {
        let n = p.len();
        b += p.dynamics.columns().len() * n * real;
        b += p.dynamics.refractory().len() * 4;
        b += n * 8; // stable ids
        b += p.input.slots.len() * n * real + p.due.len() * n * real;
    }
    for (_, _, pr) in net.projections() {
        b += pr.weights.heap_bytes();
        if let Delays::PerSynapse(d) = &pr.delays {
            b += d.len() * 2;
        }
    }
    b
}

/// Builds the network of `checked` and describes it: the run settings, the canonical
/// structure summary, and the memory estimate.
pub fn inspect(checked: &Checked) -> String {
    let net = crate::graph::build(checked);
    describe(checked, &net, &[])
}

fn describe(checked: &Checked, net: &Network, edits: &[Edit]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "dt {} ms, duration {} ms ({} steps), seed {}",
        checked.file.dt_ms,
        checked.file.duration_ms,
        checked.steps(),
        checked.file.seed
    );
    s.push_str(&summary(net, checked.file.dt_ms, edits));
    let mb = memory_bytes(net) as f64 / (1024.0 * 1024.0);
    let _ = writeln!(s, "memory estimate: {mb:.1} MiB");
    s
}

/// `snnsim inspect PATH`: a graph file, a run directory (its newest valid checkpoint) or a
/// checkpoint file.
pub fn inspect_path(path: &Path) -> Result<String> {
    let o = open(path, &mut |why| eprintln!("snnsim: {why}"))?;
    Ok(format!(
        "{}\n{}",
        o.origin,
        describe(&o.checked, &o.net, &o.edits)
    ))
}

/// `snnsim diff A B`.
pub fn diff_paths(a: &Path, b: &Path) -> Result<Diff> {
    let report = &mut |why: &str| eprintln!("snnsim: {why}");
    let (a, b) = (open(a, report)?, open(b, report)?);
    Ok(diff(&a.net, &b.net))
}
