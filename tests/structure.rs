//! The canonical structure summary under snapshot tests (build, grow, prune, save, load), so a
//! change of structure shows as a snapshot diff in review; property tests of growth and
//! pruning; `snnsim diff`.

use crate::common::{root, snnsim};
use proptest::prelude::*;
use snnsim::checkpoint::summary::{summary, Edit};
use snnsim::checkpoint::{self, Checkpoint, Kind};
use snnsim::engine::Engine;
use snnsim::file::Source;
use snnsim::graph::edit::EditOutcome;
use snnsim::graph::{Delays, Network};
use std::collections::BTreeMap;

const SMALL: &str = r#"(format_version: 1, dt_ms: 0.5, duration_ms: 10.0, seed: 5,
    populations: [
        (name: "in", size: 4, model: Poisson(rate_hz: 400.0)),
        (name: "hidden", size: 6, model: Lif(tau_m_ms: 10.0, v_rest_mv: -65.0,
            v_reset_mv: -65.0, v_th_mv: -64.0, tau_syn_exc_ms: 2.0, tau_syn_inh_ms: 5.0,
            refractory_ms: 1.0)),
        (name: "out", size: 3, model: Lif(tau_m_ms: 10.0, v_rest_mv: -65.0,
            v_reset_mv: -65.0, v_th_mv: -60.0, tau_syn_exc_ms: 2.0, tau_syn_inh_ms: 5.0)),
    ],
    projections: [
        (pre: "in", post: "hidden", connectivity: AllToAll, weight: Normal(mean: 3.0, std: 0.5)),
        (name: "rec", pre: "hidden", post: "hidden", receptor: Inh,
            connectivity: FixedProbability(p: 0.5), allow_autapses: false,
            weight: Constant(-1.0), delay_ms: Uniform(low: 0.5, high: 2.0)),
        (pre: "hidden", post: "out", connectivity: AllToAll,
            weight: Uniform(low: 0.0, high: 1.0)),
    ])"#;

fn checked() -> snnsim::file::Checked {
    Source::from_text("small.ron", SMALL).load_with(&snnsim::models::Rules).unwrap()
}

fn small() -> Network {
    snnsim::graph::build(&checked()).expect("builds")
}

fn grow_weight(_: &str, i: usize, j: usize) -> f64 {
    0.25 + 0.125 * (i + 2 * j) as f64
}

fn edit_of(out: &EditOutcome, kind: &str) -> Edit {
    Edit {
        episode: 0,
        kind: kind.into(),
        population: out.population.clone(),
        count: out.ids.len(),
        size_after: out.size_after,
        ids: out.ids.clone(),
    }
}

#[test]
fn summary_snapshots_of_build_grow_and_prune() {
    let mut net = small();
    insta::assert_snapshot!("build", summary(&net, 0.5, &[]));
    let hidden = net.pop_id("hidden").unwrap();
    let g = net.grow(hidden, 2, 5, &mut grow_weight).unwrap();
    let mut log = vec![edit_of(&g, "grow")];
    insta::assert_snapshot!("grow", summary(&net, 0.5, &log));
    let p = net.prune(hidden, &[0, 3, 7], 5).unwrap();
    log.push(edit_of(&p, "prune"));
    insta::assert_snapshot!("prune", summary(&net, 0.5, &log));
}

/// A grown and pruned network simulated a few steps, saved in a checkpoint and loaded back:
/// the loaded summary is the saved one (and is snapshotted), and so is the whole state.
#[test]
fn summary_snapshots_of_save_and_load() {
    let checked = checked();
    let mut engine = Engine::from_file(&checked).unwrap();
    engine.run(5).unwrap();
    let hidden = engine.net.pop_id("hidden").unwrap();
    engine.net.grow(hidden, 3, 5, &mut grow_weight).unwrap();
    engine.net.prune(hidden, &[1, 2], 5).unwrap();
    engine.run(5).unwrap();
    let saved = summary(&engine.net, 0.5, &[]);
    let dir = tempfile::tempdir().unwrap();
    let ck = Checkpoint {
        kind: Kind::Simulation,
        position: engine.step,
        config: SMALL.into(),
        state: engine.save_state().unwrap(),
    };
    let path = checkpoint::write(dir.path(), &ck).unwrap();
    insta::assert_snapshot!("save", saved);

    let opened = checkpoint::open::open(&path, &mut |m| panic!("{m}")).unwrap();
    let loaded = summary(&opened.net, 0.5, &opened.edits);
    assert_eq!(loaded, saved);
    insta::assert_snapshot!("load", loaded);

    // The full state too: a fresh engine with the checkpoint loaded continues identically.
    let mut again = Engine::from_file(&checked).unwrap();
    again
        .load_state(&Checkpoint::read(&path).unwrap().state)
        .unwrap();
    assert_eq!(again.state_hash(), engine.state_hash());
    engine.run(20).unwrap();
    again.run(20).unwrap();
    assert_eq!(again.state_hash(), engine.state_hash());
    assert!(
        engine.net.populations().map(|p| p.spike_count).sum::<u64>() > 0,
        "the network must spike for the check to mean anything"
    );
}

/// The summary of a training checkpoint lists the edit log (growth and pruning of the hidden
/// population through the trainer).
#[test]
fn summary_snapshot_of_a_trainer_after_growth_and_pruning() {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_snnsim"))
        .parent()
        .unwrap()
        .to_path_buf();
    let plugin = |n: &str| exe.join(snnsim::plugin::file_name(n)).display().to_string();
    let text = std::fs::read_to_string(root().join("graphs/foraging-fixed64.ron"))
        .unwrap()
        .replace(
            "(plugin: \"gridworld\",",
            &format!("(plugin: \"gridworld\", path: \"{}\",", plugin("gridworld")),
        )
        .replace(
            "(plugin: \"reinforce\",",
            &format!("(plugin: \"reinforce\", path: \"{}\",", plugin("reinforce")),
        );
    let checked = Source::from_text("fixed64.ron", text.clone())
        .load_with(&snnsim::models::Rules)
        .unwrap();
    let mut t = snnsim::agent::train::Trainer::new(&checked).unwrap();
    t.grow_hidden(4).unwrap();
    t.prune_hidden(&[0, 5, 66]).unwrap();
    let state = t.save_state().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ck = Checkpoint {
        kind: Kind::Training,
        position: 0,
        config: text,
        state,
    };
    let path = checkpoint::write(dir.path(), &ck).unwrap();
    let opened = checkpoint::open::open(&path, &mut |m| panic!("{m}")).unwrap();
    assert_eq!(opened.edits.len(), 2);
    assert_eq!(opened.net.population("hidden").unwrap().len(), 65);
    insta::assert_snapshot!("trainer_edits", summary(&opened.net, 1.0, &opened.edits));
}

#[test]
fn diff_reports_resizing_and_weight_changes_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ron");
    let b = dir.path().join("b.ron");
    std::fs::write(&a, SMALL).unwrap();
    std::fs::write(
        &b,
        SMALL.replace("(name: \"out\", size: 3", "(name: \"out\", size: 5"),
    )
    .unwrap();
    let o = snnsim(&["diff", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("equal"));
    let o = snnsim(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("population out: size 3 -> 5; 2 neurons added (ids 3..=4)"),
        "{text}"
    );
    // hidden -> out gains 6 × 2 synapses; the others keep theirs.
    assert!(
        text.contains("projection hidden->out: nnz 18 -> 30; 12 synapses added, 0 removed"),
        "{text}"
    );
    assert!(!text.contains("projection rec"), "{text}");

    // Weight changes: counts and norms, from the library.
    let x = small();
    let mut y = x.clone();
    let id = y.proj_id("hidden->out").unwrap();
    y.proj_mut(id).weights.data_mut()[0] += 0.5;
    y.proj_mut(id).weights.data_mut()[4] -= 2.0;
    let d = snnsim::checkpoint::diff::diff(&x, &y);
    assert!(!d.is_equal());
    let p = &d.projections[0];
    assert_eq!((p.changed, p.added, p.removed), (2, 0, 0));
    assert!((p.change_l2 - (0.25f64 + 4.0).sqrt()).abs() < 1e-12);
    assert!((p.change_max - 2.0).abs() < 1e-12);
    // Missing files are bad input.
    let o = snnsim(&["diff", a.to_str().unwrap(), "no/such.ron"]);
    assert_eq!(o.status.code(), Some(2));
}

/// (pre id, post id) → (weight bits, delay) of every synapse of every projection.
fn synapse_map(net: &Network) -> BTreeMap<(String, u64, u64), (u64, u16)> {
    let mut m = BTreeMap::new();
    for (pre, post, p) in net.projections() {
        let pi = &net.population(pre).unwrap().neuron_ids;
        let qi = &net.population(post).unwrap().neuron_ids;
        let indptr = p.weights.indptr();
        for i in 0..p.weights.rows() {
            for k in indptr[i]..indptr[i + 1] {
                let d = match &p.delays {
                    Delays::Uniform(d) => *d,
                    Delays::PerSynapse(v) => v[k],
                };
                let j = p.weights.indices()[k] as usize;
                m.insert(
                    (p.name.clone(), pi[i], qi[j]),
                    (p.weights.get(k).to_bits(), d),
                );
            }
        }
    }
    m
}

fn ids_of(net: &Network) -> BTreeMap<String, Vec<u64>> {
    net.populations()
        .map(|p| (p.name.clone(), p.neuron_ids.clone()))
        .collect()
}

/// Every incident matrix, delay list, trace, state column and ring matches its populations.
fn assert_consistent(net: &Network) {
    for p in net.populations() {
        let n = p.len();
        assert_eq!(p.neuron_ids.len(), n, "{}", p.name);
        for (c, col) in p.dynamics.columns() {
            assert_eq!(col.len(), n, "{}.{c}", p.name);
        }
        assert!(p.input.slots.iter().all(|s| s.len() == n));
        assert!(p.due.iter().all(|s| s.len() == n));
        assert!(p.spikes.iter().all(|&i| (i as usize) < n));
        let mut ids = p.neuron_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "stable ids are unique");
    }
    for (pre, post, pr) in net.projections() {
        let shape = (
            net.population(pre).unwrap().len(),
            net.population(post).unwrap().len(),
        );
        assert_eq!(pr.weights.shape(), shape, "{}", pr.name);
        if let Delays::PerSynapse(v) = &pr.delays {
            assert_eq!(v.len(), pr.nnz(), "{}", pr.name);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Grow(usize, usize),
    Prune(usize, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..4usize).prop_map(|(p, n)| Op::Grow(p, n)),
        (0..3usize, any::<u64>()).prop_map(|(p, m)| Op::Prune(p, m)),
    ]
}

const POPS: [&str; 3] = ["in", "hidden", "out"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random grow/prune sequences keep every matrix consistent with its populations and
    /// every surviving synapse with its weight and delay; new synapses touch a new neuron.
    #[test]
    fn grow_and_prune_sequences_keep_structure_and_values(ops in proptest::collection::vec(op(), 1..8)) {
        let mut net = small();
        for op in ops {
            let before = synapse_map(&net);
            let old_ids = ids_of(&net);
            match op {
                Op::Grow(p, n) => {
                    let id = net.pop_id(POPS[p]).unwrap();
                    net.grow(id, n, 5, &mut grow_weight).unwrap();
                }
                Op::Prune(p, mask) => {
                    let id = net.pop_id(POPS[p]).unwrap();
                    let n = net.pop(id).len();
                    let remove: Vec<usize> = (0..n).filter(|&i| mask >> (i % 64) & 1 == 1).collect();
                    if remove.is_empty() || remove.len() == n {
                        continue;
                    }
                    net.prune(id, &remove, 5).unwrap();
                }
            }
            assert_consistent(&net);
            let after = synapse_map(&net);
            let now_ids = ids_of(&net);
            let alive = |pop: &str, id: u64, ids: &BTreeMap<String, Vec<u64>>| ids[pop].contains(&id);
            let ends = |name: &str| {
                let (a, b, _) = net.projections().find(|x| x.2.name == name).unwrap();
                (a.to_string(), b.to_string())
            };
            for ((name, i, j), v) in &before {
                let (a, b) = ends(name);
                if alive(&a, *i, &now_ids) && alive(&b, *j, &now_ids) {
                    prop_assert_eq!(after.get(&(name.clone(), *i, *j)), Some(v));
                }
            }
            for (name, i, j) in after.keys() {
                if !before.contains_key(&(name.clone(), *i, *j)) {
                    let (a, b) = ends(name);
                    prop_assert!(!alive(&a, *i, &old_ids) || !alive(&b, *j, &old_ids),
                        "a new synapse between two old neurons");
                }
            }
        }
    }

    /// Growing a population and pruning exactly the new neurons returns the network exactly:
    /// ids, state, matrices, delays (only the generation and the next fresh id move on).
    #[test]
    fn grow_then_prune_the_new_neurons_is_the_identity(
        pre_ops in proptest::collection::vec(op(), 0..4), p in 0..3usize, n in 1..5usize
    ) {
        let mut net = small();
        let mut engine = Engine::new(net.clone(), 0.5);
        engine.run(3).unwrap();
        net = engine.net;
        for op in pre_ops {
            if let Op::Grow(q, k) = op {
                let id = net.pop_id(POPS[q]).unwrap();
                net.grow(id, k, 5, &mut grow_weight).unwrap();
            }
        }
        let original = net.clone();
        let id = net.pop_id(POPS[p]).unwrap();
        let old = net.pop(id).len();
        net.grow(id, n, 5, &mut grow_weight).unwrap();
        let new: Vec<usize> = (old..old + n).collect();
        net.prune(id, &new, 5).unwrap();
        assert_consistent(&net);
        prop_assert_eq!(net.generation, original.generation + 2);
        let body = |s: String| s.lines().skip(1).collect::<Vec<_>>().join("\n");
        prop_assert_eq!(body(summary(&net, 0.5, &[])), body(summary(&original, 0.5, &[])));
        prop_assert_eq!(synapse_map(&net), synapse_map(&original));
        for (a, b) in net.populations().zip(original.populations()) {
            prop_assert_eq!(&a.neuron_ids, &b.neuron_ids);
            prop_assert_eq!(&a.spikes, &b.spikes);
            prop_assert_eq!(a.dynamics.refractory(), b.dynamics.refractory());
            for ((c, x), (_, y)) in a.dynamics.columns().into_iter().zip(b.dynamics.columns()) {
                let bits = |v: &[f64]| v.iter().map(|z| z.to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(x), bits(y), "column {}", c);
            }
            prop_assert_eq!(&a.input.slots, &b.input.slots);
        }
        for ((_, _, x), (_, _, y)) in net.projections().zip(original.projections()) {
            prop_assert_eq!(&x.weights, &y.weights);
            prop_assert_eq!(&x.delays, &y.delays);
        }
    }
}

/// A projection whose weights are one constant (and which no rule trains) keeps that value
/// once: no per-synapse array, which its byte count shows. Its network runs to the state
/// (hash, spikes, events) of the same network with the weights forced per synapse.
#[test]
fn constant_weights_are_kept_once_and_run_as_per_synapse_weights() {
    let checked = snnsim::models::load(&root().join("graphs/cuba.ron")).unwrap();
    let mut shared = Engine::from_file(&checked).unwrap();
    let mut full = Engine::from_file(&checked).unwrap();
    let mut nnz = 0;
    for id in full.net.proj_ids() {
        let w = &mut full.net.proj_mut(id).weights;
        assert!(w.shared().is_some() && w.per_synapse().is_none());
        nnz += w.nnz();
        w.make_per_synapse();
        assert!(w.shared().is_none());
    }
    let bytes = |net: &Network| -> usize {
        net.projections()
            .map(|(_, _, p)| p.weights.heap_bytes())
            .sum()
    };
    let (a, b) = (bytes(&full.net), bytes(&shared.net));
    assert_eq!(a - b, nnz * std::mem::size_of::<snnsim::Real>());
    assert_eq!(shared.state_hash(), full.state_hash());
    shared.run(2000).unwrap();
    full.run(2000).unwrap();
    assert!(
        shared.synaptic_events > 100_000,
        "{}",
        shared.synaptic_events
    );
    assert_eq!(shared.synaptic_events, full.synaptic_events);
    assert_eq!(shared.spikes.events, full.spikes.events);
    assert_eq!(shared.state_hash(), full.state_hash());
    for (_, _, p) in shared.net.projections() {
        assert!(p.weights.per_synapse().is_none(), "{}", p.name);
    }
}

/// Edits keep a shared weight shared while every new synapse has that value, and give the
/// synapses their own values at the first that differs; a checkpoint holds a shared weight
/// as one value and restores it as it was.
#[test]
fn edits_and_checkpoints_of_a_shared_weight() {
    let mut net = small();
    let shared = |net: &Network| net.projection("rec").unwrap().weights.shared();
    assert_eq!(shared(&net), Some(-1.0));
    let hidden = net.pop_id("hidden").unwrap();
    // Pruning adds nothing; growth with the same value adds nothing new.
    net.prune(hidden, &[0], 5).unwrap();
    net.grow(hidden, 2, 5, &mut |name, _, _| {
        if name == "rec" {
            -1.0
        } else {
            0.5
        }
    })
    .unwrap();
    assert_eq!(shared(&net), Some(-1.0));
    let before = synapse_map(&net);
    let mut full = net.clone();
    for id in full.proj_ids() {
        full.proj_mut(id).weights.make_per_synapse();
    }
    assert_eq!(synapse_map(&full), before);
    assert_eq!(
        snnsim::engine::hash::state_hash(&net, 0),
        snnsim::engine::hash::state_hash(&full, 0)
    );

    // The checkpoint of the shared projection restores it shared, to the same state.
    let mut enc = checkpoint::codec::Enc::default();
    checkpoint::net::encode(&mut net, &mut enc);
    let mut enc_full = checkpoint::codec::Enc::default();
    checkpoint::net::encode(&mut full, &mut enc_full);
    let nnz = net.projection("rec").unwrap().nnz();
    assert!(nnz > 1);
    assert_eq!(enc_full.buf.len() - enc.buf.len(), (nnz - 1) * 8);
    for (buf, want) in [(&enc.buf, Some(-1.0)), (&enc_full.buf, None)] {
        let mut back = small();
        checkpoint::net::restore(&mut back, &mut checkpoint::codec::Dec::new(buf)).unwrap();
        assert_eq!(shared(&back), want);
        assert_eq!(synapse_map(&back), before);
        assert_eq!(
            snnsim::engine::hash::state_hash(&back, 0),
            snnsim::engine::hash::state_hash(&net, 0)
        );
    }

    // A new synapse of another value gives every synapse its own.
    net.grow(hidden, 1, 5, &mut |_, i, j| -1.0 + (i + j) as f64)
        .unwrap();
    assert_eq!(shared(&net), None);
    let w = &net.projection("rec").unwrap().weights;
    assert!(w.iter().any(|x| x != -1.0) && w.iter().filter(|&x| x == -1.0).count() > 1);
    assert_consistent(&net);
}
