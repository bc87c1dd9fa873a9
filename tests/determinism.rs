//! The same file and seed give the same spikes and the same `state_hash` on 1 and N threads.

use crate::common::{root, run_json};

fn compare_threads(file: &std::path::Path, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut hashes = Vec::new();
    let mut spikes = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("t{threads}"));
        let mut args = vec!["--threads", threads];
        args.extend_from_slice(extra);
        let s = run_json(file, &out, &args);
        assert_eq!(s["threads"].as_u64().unwrap().to_string(), threads);
        hashes.push(s["state_hash"].as_str().unwrap().to_string());
        spikes.push(std::fs::read(out.join("spikes.csv")).unwrap());
    }
    assert!(
        spikes[0].len() > 1000,
        "the network must spike for the check to mean anything"
    );
    assert_eq!(
        hashes[0], hashes[1],
        "state_hash differs between 1 and 2 threads"
    );
    assert_eq!(
        hashes[0], hashes[2],
        "state_hash differs between 1 and 3 threads"
    );
    assert!(
        spikes[0] == spikes[1] && spikes[0] == spikes[2],
        "spikes differ"
    );
}

#[test]
fn cuba_is_bit_identical_on_one_and_several_threads() {
    compare_threads(&root().join("graphs/cuba.ron"), &["--duration-ms", "300"]);
}

/// A network with several update chunks per population (Poisson chunks draw from their own
/// streams), a fixed in-degree and per-synapse delays: the paths where thread-dependent
/// results would show first.
#[test]
fn chunked_poisson_network_is_bit_identical_on_one_and_several_threads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chunked.ron");
    std::fs::write(
        &file,
        r#"(format_version: 1, dt_ms: 0.1, duration_ms: 100.0, seed: 11,
            populations: [
              (name: "drive", size: 10000, model: Poisson(rate_hz: 20.0)),
              (name: "cells", size: 9000, model: Lif(tau_m_ms: 10.0, v_rest_mv: -65.0,
                 v_reset_mv: -65.0, v_th_mv: -50.0, tau_syn_exc_ms: 2.0, tau_syn_inh_ms: 5.0),
               init: { "v": Uniform(low: -65.0, high: -50.0) }),
            ],
            projections: [
              (pre: "drive", post: "cells", connectivity: FixedInDegree(k: 40),
               weight: Normal(mean: 4.0, std: 1.0), delay_ms: Uniform(low: 0.1, high: 2.0)),
              (name: "rec", pre: "cells", post: "cells", receptor: Inh,
               connectivity: FixedProbability(p: 0.01), allow_autapses: false,
               weight: Constant(-2.0), delay_ms: Constant(1.5)),
            ],
            recorders: [Spikes(population: "cells"), Spikes(population: "drive")])"#,
    )
    .unwrap();
    compare_threads(&file, &[]);
}

/// A different seed gives a different network and different spikes (the seed is used).
#[test]
fn the_seed_changes_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let f = root().join("graphs/cuba.ron");
    let a = run_json(
        &f,
        &dir.path().join("a"),
        &["--seed", "1", "--duration-ms", "50"],
    );
    let b = run_json(
        &f,
        &dir.path().join("b"),
        &["--seed", "2", "--duration-ms", "50"],
    );
    assert_eq!(a["seed"], 1);
    assert_ne!(a["state_hash"], b["state_hash"]);
}
