//! `snnsim inspect` and `snnsim diff`: the resource estimate of a graph file, run directory or
//! checkpoint (`graph::estimate`, computed from the file before anything is built), the
//! canonical structure summary (`checkpoint::summary`) of the network when it fits in memory,
//! and what changed between two networks.

use crate::checkpoint::diff::{diff, Diff};
use crate::checkpoint::open::open;
use crate::checkpoint::summary::{summary, Edit};
use crate::error::Result;
use crate::file::Checked;
use crate::graph::estimate::{human, Estimate};
use crate::graph::Network;
use std::fmt::Write;
use std::path::Path;

/// The estimate in one line, as `validate` and `inspect` print it.
pub fn estimate_line(e: &Estimate) -> String {
    let largest = e.largest();
    format!(
        "memory estimate: {} ({} neurons, {} synapses expected, {} steps; recording {}, \
         baseline {}; largest part {}: {}, {})",
        human(e.memory_bytes_estimate),
        e.neurons,
        e.synapses_expected,
        e.steps,
        human(e.recording_bytes_estimate),
        human(e.baseline_bytes),
        largest.field,
        largest.what,
        human(largest.bytes)
    )
}

/// The estimate of `checked` and, when it fits in the memory available, the structure
/// summary of the network built from it.
pub fn inspect(checked: &Checked) -> Result<String> {
    let est = super::estimate(checked);
    if let Err(e) = super::resources::check_memory(checked, &est, None) {
        return Ok(not_built(checked, &est, &e));
    }
    let net = crate::graph::build(checked)?;
    Ok(describe(checked, &net, &[], &est))
}

fn settings(checked: &Checked) -> String {
    format!(
        "dt {} ms, duration {} ms ({} steps), seed {}\n",
        checked.file.dt_ms,
        checked.file.duration_ms,
        checked.steps(),
        checked.file.seed
    )
}

fn not_built(checked: &Checked, est: &Estimate, why: &crate::Error) -> String {
    let mut s = settings(checked);
    let _ = writeln!(s, "{}", estimate_line(est));
    let _ = writeln!(
        s,
        "structure summary skipped: the network does not fit ({why})"
    );
    s
}

/// The text of `snnsim inspect` for `net`, a network of the file `checked` as it is now
/// (grown or pruned, perhaps).
pub fn describe_network(checked: &Checked, net: &Network) -> String {
    describe(checked, net, &[], &super::estimate(checked))
}

fn describe(checked: &Checked, net: &Network, edits: &[Edit], est: &Estimate) -> String {
    let mut s = settings(checked);
    s.push_str(&summary(net, checked.file.dt_ms, edits));
    let _ = writeln!(s, "{}", estimate_line(est));
    s
}

/// `snnsim inspect PATH`: a graph file, a run directory (its newest valid checkpoint) or a
/// checkpoint file. The estimate comes first, from the file alone; the network is built (or
/// read) for the structure summary only when the estimate fits in the memory available.
pub fn inspect_path(path: &Path) -> Result<String> {
    let (checked, est) = inspect_estimate(path)?;
    if let Err(e) = super::resources::check_memory(&checked, &est, None) {
        return Ok(not_built(&checked, &est, &e));
    }
    let o = open(path, &mut |why| eprintln!("snnsim: {why}"))?;
    Ok(format!(
        "{}\n{}",
        o.origin,
        describe(&o.checked, &o.net, &o.edits, &est)
    ))
}

/// The checked file behind an `inspect` path (a graph file, run directory or checkpoint) and
/// its estimate, without building anything.
pub fn inspect_estimate(path: &Path) -> Result<(Checked, Estimate)> {
    let checked = crate::checkpoint::open::checked_of(path)?;
    let est = super::estimate(&checked);
    Ok((checked, est))
}

/// `snnsim diff A B`.
pub fn diff_paths(a: &Path, b: &Path) -> Result<Diff> {
    let report = &mut |why: &str| eprintln!("snnsim: {why}");
    let (a, b) = (open(a, report)?, open(b, report)?);
    Ok(diff(&a.net, &b.net))
}
