//! Criterion benches of the hot loops (docs/performance.md):
//!
//! - `update/<model>/<n>`: one step of a population's update (integration, threshold, reset,
//!   refractoriness, spike list), per model, at rest with no input except CUBA's `Lif`, whose
//!   rest potential lies above threshold so that it fires, as in the CUBA network;
//! - `propagate/<network>`: the CSR walk of a step's spikes of CUBA's `exc->exc` projection
//!   into its delay ring (one shared delay), and the same with a delay per synapse;
//! - `deliver`: taking the ring slot due now (a buffer swap).
//!
//! Run with `cargo bench --bench hot_loops` (add `-- update/lif` to run a subset).

mod common;

use common::network;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use snnsim::engine::propagate::propagate_projection;
use snnsim::file::{
    AdExParams, AlifParams, AlphaParams, CobaLifParams, IzhikevichParams, LifAlphaParams,
    LifParams, ModelSpec, Receptor, SynapticParams,
};
use snnsim::graph::{Delays, InputRing};
use snnsim::models::{chunks, Dynamics, StepCtx};
use snnsim::Real;
use std::hint::black_box;
use std::time::Duration;

/// CUBA's LIF (graphs/cuba.ron).
fn cuba_lif() -> LifParams {
    LifParams {
        tau_m_ms: 20.0,
        v_rest_mv: -49.0,
        v_reset_mv: -60.0,
        v_th_mv: -50.0,
        refractory_ms: 5.0,
        tau_syn_exc_ms: 5.0,
        tau_syn_inh_ms: 10.0,
        ..LifParams::default()
    }
}

fn models() -> Vec<(&'static str, ModelSpec)> {
    vec![
        ("lif", ModelSpec::Lif(cuba_lif())),
        ("lif_alpha", ModelSpec::LifAlpha(LifAlphaParams::default())),
        ("coba_lif", ModelSpec::CobaLif(CobaLifParams::default())),
        ("synaptic", ModelSpec::Synaptic(SynapticParams::default())),
        ("alpha", ModelSpec::Alpha(AlphaParams::default())),
        ("alif", ModelSpec::Alif(AlifParams::default())),
        (
            "izhikevich",
            ModelSpec::Izhikevich(IzhikevichParams::default()),
        ),
        ("adex", ModelSpec::AdEx(AdExParams::default())),
    ]
}

fn update(c: &mut Criterion) {
    let mut g = c.benchmark_group("update");
    g.measurement_time(Duration::from_secs(3));
    for (name, spec) in models() {
        // 1 000 neurons' columns fit in L1, 4 000 in L2, 400 000 only in L3: the update costs
        // about the same per neuron at 4 000 as at 400 000 and less at 1 000 (memory-bound).
        let sizes: &[usize] = if name == "lif" || name == "coba_lif" {
            &[1_000, 4_000, 400_000]
        } else {
            &[4_000]
        };
        for &n in sizes {
            let mut d = Dynamics::new(&spec, n, 0.1, 1, "bench");
            if let Some(v) = d.column_mut("v") {
                // Spread the membranes so that neurons do not fire in lockstep.
                for (j, x) in v.iter_mut().enumerate() {
                    *x -= (j % 97) as Real * 0.1;
                }
            }
            let mut due = vec![vec![0.0; n]; d.receptors().len()];
            let mut outs = vec![Vec::new(); chunks(n)];
            let mut step = 0u64;
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    d.update(StepCtx { step, dt_ms: 0.1 }, &mut due, &mut outs);
                    step += 1;
                    black_box(&outs);
                })
            });
        }
    }
    g.finish();
}

/// Every `every`-th presynaptic neuron: a spike list of a given density.
fn spikes(n_pre: usize, count: usize) -> Vec<u32> {
    let every = (n_pre / count).max(1);
    (0..n_pre).step_by(every).map(|i| i as u32).collect()
}

fn propagate(c: &mut Criterion) {
    let mut g = c.benchmark_group("propagate");
    g.measurement_time(Duration::from_secs(3));
    // CUBA-4k at 100 spikes per step; CUBA-400k at its own rate (about 230 spikes per step,
    // 18 000 events, into a ring of 320 000 targets).
    for (file, label, count) in [
        ("cuba.ron", "cuba-4k", 100),
        ("cuba-400k.ron", "cuba-400k", 230),
    ] {
        let net = network(file);
        let proj = net.projection("exc->exc").expect("exc->exc").clone();
        drop(net);
        let (n_pre, n_post) = proj.weights.shape();
        let list = spikes(n_pre, count);
        let events: usize = list
            .iter()
            .map(|&i| proj.weights.row(i as usize).len())
            .sum();
        let mut ring = InputRing::new(&[Receptor::Exc, Receptor::Inh], n_post, 2);
        let mut step = 0u64;
        g.throughput(Throughput::Elements(events as u64));
        g.bench_function(BenchmarkId::new("shared_delay", label), |b| {
            b.iter(|| {
                step += 1;
                black_box(propagate_projection(&proj, &list, &mut ring, step))
            })
        });
        // The same synapses with delays of 1 to 16 steps, one per synapse.
        let mut per = proj.clone();
        per.delays = Delays::PerSynapse((0..proj.nnz()).map(|k| 1 + (k % 16) as u16).collect());
        let mut ring = InputRing::new(&[Receptor::Exc, Receptor::Inh], n_post, 17);
        g.bench_function(BenchmarkId::new("per_synapse_delay", label), |b| {
            b.iter(|| {
                step += 1;
                black_box(propagate_projection(&per, &list, &mut ring, step))
            })
        });
    }
    g.finish();
}

fn deliver(c: &mut Criterion) {
    let n = 4_000;
    let mut ring = InputRing::new(&[Receptor::Exc, Receptor::Inh], n, 17);
    let mut due = vec![vec![0.0; n]; 2];
    let mut step = 0u64;
    c.bench_function("deliver", |b| {
        b.iter(|| {
            ring.deliver(step, &mut due);
            step += 1;
            black_box(&due);
        })
    });
}

criterion_group!(benches, update, propagate, deliver);
criterion_main!(benches);
