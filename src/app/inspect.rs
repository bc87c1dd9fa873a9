//! `snnsim inspect`: what a graph file builds — populations, projections, delays, and an
//! estimate of the memory the network takes.

use crate::file::Checked;
use crate::graph::{Delays, Network};
use std::fmt::Write;

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
        b += pr.weights.indptr().len() * std::mem::size_of::<usize>();
        b += pr.nnz() * (4 + real);
        if let Delays::PerSynapse(d) = &pr.delays {
            b += d.len() * 2;
        }
    }
    b
}

/// Builds the network of `checked` and describes it.
pub fn inspect(checked: &Checked) -> String {
    let net = crate::graph::build(checked);
    let dt = checked.file.dt_ms;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "dt {dt} ms, duration {} ms ({} steps), seed {}",
        checked.file.duration_ms,
        checked.steps(),
        checked.file.seed
    );
    let _ = writeln!(s, "populations ({}):", net.population_count());
    for p in net.populations() {
        let vars: Vec<&str> = p.dynamics.columns().iter().map(|(n, _)| *n).collect();
        let _ = writeln!(
            s,
            "  {:<16} {:<12} size {:>9}  state [{}]",
            p.name,
            p.dynamics.kind(),
            p.len(),
            vars.join(", ")
        );
    }
    let _ = writeln!(s, "projections ({}):", net.projection_count());
    for (pre, post, pr) in net.projections() {
        let delays = match &pr.delays {
            Delays::Uniform(d) => format!("delay {} ms", *d as f64 * dt),
            Delays::PerSynapse(_) => format!(
                "delays {}..{} ms",
                pr.delays.min() as f64 * dt,
                pr.delays.max() as f64 * dt
            ),
        };
        let _ = writeln!(
            s,
            "  {:<16} {pre} -> {post} ({:?})  nnz {}  {delays}",
            pr.name,
            pr.receptor,
            pr.nnz()
        );
    }
    let mb = memory_bytes(&net) as f64 / (1024.0 * 1024.0);
    let _ = writeln!(s, "memory estimate: {mb:.1} MiB");
    s
}
