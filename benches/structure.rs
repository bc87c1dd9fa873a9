//! Criterion benches of structural edits:
//!
//! - `structure/edit_synapses_10k`: one batch of 10 000 synapse edits — 5 000 removals of
//!   existing synapses and 5 000 additions of absent pairs, at the projection's shared weight
//!   and delay — on the largest projection of CUBA-400k (`exc->exc`, 20 million synapses);
//! - `structure/edit_synapses_10k_per_synapse`: the same batch with a weight per synapse (a
//!   projection that a learning rule trains) and new weights of their own.
//!
//! Each iteration edits a fresh clone of the same network (made outside the measurement).
//! Run with `cargo bench --bench structure`.

mod common;

use common::network;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use snnsim::graph::edit::NewSynapse;
use snnsim::graph::Network;
use snnsim::Real;
use std::collections::HashSet;
use std::hint::black_box;
use std::time::Duration;

/// A deterministic batch on projection `name`: `n` removals of existing synapses spread
/// evenly over the matrix, and `n` additions of absent pairs drawn by a fixed linear
/// congruential sequence, weighted by `weight(k)`.
fn batch(
    net: &Network,
    name: &str,
    n: usize,
    weight: impl Fn(usize) -> Real,
) -> (Vec<(u32, u32)>, Vec<NewSynapse>) {
    let w = &net.projection(name).expect("projection").weights;
    let (indptr, indices) = (w.indptr(), w.indices());
    let (n_pre, n_post) = w.shape();
    let stride = w.nnz() / n;
    let remove: Vec<(u32, u32)> = (0..n)
        .map(|q| {
            let k = q * stride;
            let row = indptr.partition_point(|&p| p <= k) - 1;
            (row as u32, indices[k])
        })
        .collect();
    let exists = |i: u32, j: u32| {
        indices[indptr[i as usize]..indptr[i as usize + 1]]
            .binary_search(&j)
            .is_ok()
    };
    let mut seen = HashSet::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut add = Vec::with_capacity(n);
    while add.len() < n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let i = ((x >> 33) % n_pre as u64) as u32;
        let j = ((x >> 11) % n_post as u64) as u32;
        if !exists(i, j) && seen.insert((i, j)) {
            add.push(NewSynapse {
                pre: i,
                post: j,
                weight: weight(add.len()),
                delay: None,
            });
        }
    }
    (remove, add)
}

fn edit_synapses(c: &mut Criterion) {
    let mut net = network("cuba-400k.ron");
    let name = "exc->exc";
    let largest = net
        .projections()
        .max_by_key(|p| p.2.nnz())
        .expect("projections")
        .2
        .name
        .clone();
    assert_eq!(largest, name, "exc->exc is CUBA's largest projection");
    let id = net.proj_id(name).expect("exc->exc");
    let shared = net.proj(id).weights.shared().expect("a shared weight");
    let mut g = c.benchmark_group("structure");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(30));

    let edit = |g: &mut criterion::BenchmarkGroup<_>, label: &str, net: &Network, remove, add| {
        g.bench_function(label, |b| {
            b.iter_batched(
                || net.clone(),
                |mut n| {
                    let remap = n.edit_synapses(id, remove, add, 0).expect("edits");
                    black_box(&remap);
                    (n, remap)
                },
                BatchSize::PerIteration,
            )
        });
    };
    let (remove, add) = batch(&net, name, 5_000, |_| shared);
    edit(&mut g, "edit_synapses_10k", &net, &remove, &add);
    net.proj_mut(id).weights.make_per_synapse();
    let (remove, add) = batch(&net, name, 5_000, |k| shared + k as Real * 1e-3);
    edit(&mut g, "edit_synapses_10k_per_synapse", &net, &remove, &add);
    g.finish();
}

criterion_group!(benches, edit_synapses);
criterion_main!(benches);
