//! The canonical structure summary under snapshot tests (build, grow, prune, save, load), so a
//! change of structure shows as a snapshot diff in review; property tests of growth and
//! pruning; `snnsim diff`; batches of synapse edits (against a map-based model, errors that
//! change nothing, shared values, delivery in a run, rule state that follows).

use crate::common::{root, snnsim};
use proptest::prelude::*;
use snnsim::checkpoint::summary::{summary, Edit};
use snnsim::checkpoint::{self, Checkpoint, Kind};
use snnsim::engine::Engine;
use snnsim::file::Source;
use snnsim::graph::edit::{EditOutcome, NewSynapse, SynapseRemap};
use snnsim::graph::{Delays, Network, Projection};
use snnsim_plugin_api::abi::NEW;
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

fn grow_weight(_: &str, i: usize, j: usize) -> Option<f64> {
    Some(0.25 + 0.125 * (i + 2 * j) as f64)
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
    let exe = crate::common::exe()
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
        Some(if name == "rec" { -1.0 } else { 0.5 })
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
    net.grow(hidden, 1, 5, &mut |_, i, j| Some(-1.0 + (i + j) as f64))
        .unwrap();
    assert_eq!(shared(&net), None);
    let w = &net.projection("rec").unwrap().weights;
    assert!(w.iter().any(|x| x != -1.0) && w.iter().filter(|&x| x == -1.0).count() > 1);
    assert_consistent(&net);
}

// ---------------------------------------------------------------------------------------------
// Synapse edits.

/// Every synapse of a projection in storage order: (pre, post, weight bits, delay).
fn synapse_list(p: &Projection) -> Vec<(u32, u32, u64, u16)> {
    let w = &p.weights;
    let mut v = Vec::with_capacity(w.nnz());
    for i in 0..w.rows() {
        for k in w.row(i) {
            let d = match &p.delays {
                Delays::Uniform(d) => *d,
                Delays::PerSynapse(v) => v[k],
            };
            v.push((i as u32, w.indices()[k], w.get(k).to_bits(), d));
        }
    }
    v
}

/// The projection's matrix passes the full check of a CSR structure (rows sorted, unique and
/// in range), which an in-place edit leaves to debug builds.
fn assert_well_formed(p: &Projection) {
    let w = &p.weights;
    let again = snnsim::graph::Weights::try_from_parts(
        w.shape(),
        w.indptr().to_vec(),
        w.indices().to_vec(),
        w.values().clone(),
    );
    assert!(again.is_ok(), "{}: {:?}", p.name, again.err());
}

/// The whole state of a network as checkpoint bytes.
fn state_bytes(net: &Network) -> Vec<u8> {
    let mut net = net.clone();
    let mut enc = checkpoint::codec::Enc::default();
    checkpoint::net::encode(&mut net, &mut enc);
    enc.buf
}

/// The synapses listed by `remap` as removed and added are those of the edit, and the full
/// map sends every kept synapse to an old one with the same pair, weight and delay.
fn assert_remap(
    remap: &SynapseRemap,
    before: &[(u32, u32, u64, u16)],
    after: &[(u32, u32, u64, u16)],
    removed: &[(u32, u32)],
    added: &[(u32, u32)],
) {
    assert_eq!(remap.nnz_before, before.len());
    assert_eq!(remap.nnz_after(), after.len());
    let pair = |s: &(u32, u32, u64, u16)| (s.0, s.1);
    let mut want: Vec<usize> = (0..before.len())
        .filter(|&k| removed.contains(&pair(&before[k])))
        .collect();
    want.sort_unstable();
    assert_eq!(remap.removed, want, "removed old indices");
    let want: Vec<usize> = (0..after.len())
        .filter(|&k| added.contains(&pair(&after[k])))
        .collect();
    assert_eq!(remap.added, want, "added new indices");
    let full = remap.to_proj_remap();
    let rows = full.pre.len();
    assert!(full.pre.iter().copied().eq(0..rows as u64), "pre is the identity");
    let cols = full.post.len();
    assert!(full.post.iter().copied().eq(0..cols as u64), "post is the identity");
    assert_eq!(full.synapses, remap.synapses());
    assert_eq!(full.synapses.len(), after.len());
    for (k, &o) in full.synapses.iter().enumerate() {
        if o == NEW {
            assert!(added.contains(&pair(&after[k])), "new synapse {k}");
        } else {
            assert_eq!(after[k], before[o as usize], "synapse {k} from old {o}");
        }
    }
}

const PROJS: [&str; 3] = ["in->hidden", "rec", "hidden->out"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// A random batch of removals and additions gives the synapses a map-based model of the
    /// edit gives, survivors bit for bit; the remap, traces, rings, the shared weight and the
    /// uniform delay follow the documented rules.
    #[test]
    fn synapse_edits_match_a_map_model(
        p in 0..3usize,
        mask in any::<u64>(),
        adds in proptest::collection::vec((0..8u32, 0..8u32, any::<bool>(), 0..4u16), 0..12),
    ) {
        let mut net = small();
        let id = net.proj_id(PROJS[p]).unwrap();
        // Traces as a rule leaves them, to see that they are kept.
        {
            let pr = net.proj_mut(id);
            let (n_pre, n_post) = pr.weights.shape();
            pr.traces.pre = (0..n_pre).map(|i| 0.5 + i as f64).collect();
            pr.traces.post = (0..n_post).map(|j| -0.25 * j as f64).collect();
        }
        let before = synapse_list(net.proj(id));
        let traces = net.proj(id).traces.clone();
        let shared = net.proj(id).weights.shared();
        let uniform = match net.proj(id).delays { Delays::Uniform(d) => Some(d), _ => None };
        let (n_pre, n_post) = net.proj(id).weights.shape();
        let remove: Vec<(u32, u32)> = before.iter().enumerate()
            .filter(|(k, _)| mask >> (k % 64) & 1 == 1)
            .map(|(_, s)| (s.0, s.1))
            .collect();
        let mut model: BTreeMap<(u32, u32), (u64, u16)> =
            before.iter().map(|s| ((s.0, s.1), (s.2, s.3))).collect();
        for r in &remove {
            model.remove(r);
        }
        let fallback = net.proj(id).delays.min();
        let mut add = Vec::new();
        for (q, (i, j, same, d)) in adds.into_iter().enumerate() {
            let (i, j) = (i % n_pre as u32, j % n_post as u32);
            if model.contains_key(&(i, j)) {
                continue;
            }
            let weight = match (same, shared) {
                (true, Some(w)) => w,
                _ => 0.125 * q as f64 - 0.5,
            };
            let delay = (d > 0).then_some(2 * d);
            model.insert((i, j), (weight.to_bits(), delay.unwrap_or(fallback)));
            add.push(NewSynapse { pre: i, post: j, weight, delay });
        }
        let g = net.generation;
        let ring = net.population(if p == 2 { "out" } else { "hidden" }).unwrap().input.len;
        let remap = net.edit_synapses(id, &remove, &add, 0).unwrap();
        assert_well_formed(net.proj(id));
        let after = synapse_list(net.proj(id));
        let want: Vec<(u32, u32, u64, u16)> =
            model.iter().map(|(&(i, j), &(w, d))| (i, j, w, d)).collect();
        prop_assert_eq!(&after, &want);
        let added: Vec<(u32, u32)> = add.iter().map(|s| (s.pre, s.post)).collect();
        assert_remap(&remap, &before, &after, &remove, &added);
        prop_assert_eq!(&net.proj(id).traces, &traces);
        prop_assert_eq!(net.generation, g + 1);
        assert_consistent(&net);
        let same_weight = |w: f64| add.iter().all(|s| s.weight.to_bits() == w.to_bits());
        prop_assert_eq!(net.proj(id).weights.shared(), shared.filter(|&w| same_weight(w)));
        let delays: Vec<u16> = add.iter().map(|s| s.delay.unwrap_or(fallback)).collect();
        let still_uniform = uniform.filter(|d| delays.iter().all(|x| x == d));
        prop_assert_eq!(matches!(net.proj(id).delays, Delays::Uniform(_)), still_uniform.is_some());
        let longest = delays.iter().copied().max().unwrap_or(0) as usize;
        let ring_after = net.population(if p == 2 { "out" } else { "hidden" }).unwrap().input.len;
        prop_assert_eq!(ring_after, ring.max(longest + 1));
    }
}

/// Every kind of bad batch is refused with an error naming the entry and its pair, and leaves
/// the network exactly as it was (the valid parts of the batch included).
#[test]
fn bad_synapse_edits_change_nothing() {
    let mut net = small();
    let id = net.proj_id("hidden->out").unwrap(); // all to all, 6 × 3
    let rec = net.proj_id("rec").unwrap();
    let missing = {
        let list = synapse_list(net.proj(rec));
        (0..6u32)
            .flat_map(|i| (0..6u32).map(move |j| (i, j)))
            .find(|&(i, j)| !list.iter().any(|s| (s.0, s.1) == (i, j)))
            .expect("rec is sparse")
    };
    let ok = |pre: u32, post: u32| NewSynapse {
        pre,
        post,
        weight: 0.5,
        delay: None,
    };
    let before = state_bytes(&net);
    let g = net.generation;
    type Case = (ProjRemove, Vec<NewSynapse>, String);
    type ProjRemove = (snnsim::graph::ProjId, Vec<(u32, u32)>);
    let cases: Vec<Case> = vec![
        (
            (rec, vec![missing]),
            vec![],
            format!("remove[0]: there is no synapse ({}, {})", missing.0, missing.1),
        ),
        (
            (id, vec![(1, 2), (0, 0), (1, 2)]),
            vec![],
            "remove[0] and remove[2] both name synapse (1, 2)".into(),
        ),
        (
            (id, vec![(0, 0), (6, 0)]),
            vec![],
            "remove[1]: synapse (6, 0) is out of range: the projection is 6 × 3".into(),
        ),
        (
            (id, vec![(0, 3)]),
            vec![],
            "remove[0]: synapse (0, 3) is out of range".into(),
        ),
        (
            (id, vec![(0, 0)]),
            vec![ok(0, 0), ok(2, 1)],
            "add[1]: synapse (2, 1) exists (remove it in the same edit to replace it)".into(),
        ),
        (
            (rec, vec![]),
            vec![ok(missing.0, missing.1), ok(missing.0, missing.1)],
            format!(
                "add[0] and add[1] both add synapse ({}, {})",
                missing.0, missing.1
            ),
        ),
        (
            (id, vec![(0, 0)]),
            vec![ok(0, 0), ok(0, 7)],
            "add[1]: synapse (0, 7) is out of range".into(),
        ),
        (
            (rec, vec![]),
            vec![NewSynapse {
                delay: Some(0),
                ..ok(missing.0, missing.1)
            }],
            "has a delay of 0 steps".into(),
        ),
        (
            (rec, vec![]),
            vec![NewSynapse {
                weight: f64::NAN,
                ..ok(missing.0, missing.1)
            }],
            "has the weight NaN, which is not finite".into(),
        ),
    ];
    for ((proj, remove), add, want) in cases {
        let e = net.edit_synapses(proj, &remove, &add, 0).unwrap_err();
        assert!(e.contains(&want), "{e}\nwanted: {want}");
        assert_eq!(net.generation, g);
        assert!(state_bytes(&net) == before, "`{want}` changed the network");
    }
}

/// The engine names the projection in its errors (and lists the projections for an unknown
/// name), and the network stays as it was.
#[test]
fn engine_synapse_edit_errors_name_the_projection() {
    let mut e = Engine::from_file(&checked()).unwrap();
    let before = state_bytes(&e.net);
    let err = e.edit_synapses("nope", &[], &[]).unwrap_err().to_string();
    assert!(
        err.contains("no projection `nope` (the network has hidden->out, in->hidden, rec)"),
        "{err}"
    );
    let err = e
        .edit_synapses("hidden->out", &[(0, 0), (9, 9)], &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("projection `hidden->out`: remove[1]: synapse (9, 9) is out of range"),
        "{err}"
    );
    assert!(state_bytes(&e.net) == before);
}

/// A shared weight stays shared through removals and additions of that value (bit for bit),
/// and becomes one value per synapse at the first addition of another value (`-0.0` is
/// another value than `0.0`); uniform delays likewise.
#[test]
fn synapse_edits_keep_a_shared_weight_and_a_uniform_delay() {
    let mut net = small();
    let id = net.proj_id("in->hidden").unwrap();
    // A shared weight of 0.0 on the all-to-all input projection, one delay.
    net.proj_mut(id).weights = snnsim::graph::Weights::try_shared(
        (4, 6),
        net.proj(id).weights.indptr().to_vec(),
        net.proj(id).weights.indices().to_vec(),
        0.0,
    )
    .unwrap();
    assert!(matches!(net.proj(id).delays, Delays::Uniform(_)));
    let d = net.proj(id).delays.max();
    let syn = |pre, post, weight: f64, delay| NewSynapse {
        pre,
        post,
        weight,
        delay,
    };
    net.edit_synapses(id, &[(0, 1), (3, 5), (2, 2)], &[], 0)
        .unwrap();
    net.edit_synapses(id, &[(0, 0)], &[syn(0, 1, 0.0, None), syn(3, 5, 0.0, Some(d))], 0)
        .unwrap();
    assert_eq!(net.proj(id).weights.shared(), Some(0.0));
    assert_eq!(net.proj(id).delays, Delays::Uniform(d));
    assert_eq!(net.proj(id).nnz(), 24 - 2);
    // Another delay: one per synapse, the old ones kept.
    net.edit_synapses(id, &[], &[syn(0, 0, 0.0, Some(d + 2))], 0)
        .unwrap();
    assert_eq!(net.proj(id).weights.shared(), Some(0.0));
    let list = synapse_list(net.proj(id));
    assert!(list.iter().all(|s| s.3 == if (s.0, s.1) == (0, 0) { d + 2 } else { d }));
    assert!(matches!(net.proj(id).delays, Delays::PerSynapse(_)));
    assert!(net.population("hidden").unwrap().input.len >= d as usize + 3);
    // Negative zero is another weight.
    net.edit_synapses(id, &[], &[syn(2, 2, -0.0, None)], 0).unwrap();
    let w = &net.proj(id).weights;
    assert_eq!(w.shared(), None);
    let list = synapse_list(net.proj(id));
    for s in &list {
        let want = if (s.0, s.1) == (2, 2) { -0.0f64 } else { 0.0 };
        assert_eq!(s.2, want.to_bits(), "{s:?}");
    }
}

/// An empty edit changes nothing but the generation and maps every synapse to itself;
/// a row can lose all its synapses and gain them back, and a projection can be emptied and
/// refilled.
#[test]
fn empty_edits_emptied_rows_and_emptied_projections() {
    let mut net = small();
    let id = net.proj_id("rec").unwrap();
    let before = synapse_list(net.proj(id));
    let g = net.generation;
    let r = net.edit_synapses(id, &[], &[], 0).unwrap();
    assert_eq!(net.generation, g + 1);
    assert_eq!(synapse_list(net.proj(id)), before);
    assert!(r.removed.is_empty() && r.added.is_empty());
    assert!(r.synapses().iter().copied().eq(0..before.len() as u64));

    // Empty the fullest row, then refill it with its old synapses.
    let row = (0..6u32)
        .max_by_key(|&i| before.iter().filter(|s| s.0 == i).count())
        .unwrap();
    let row_syn: Vec<_> = before.iter().filter(|s| s.0 == row).copied().collect();
    assert!(row_syn.len() >= 2);
    let pairs: Vec<(u32, u32)> = row_syn.iter().map(|s| (s.0, s.1)).collect();
    let r = net.edit_synapses(id, &pairs, &[], 0).unwrap();
    assert_well_formed(net.proj(id));
    assert!(net.proj(id).weights.row(row as usize).is_empty());
    let after = synapse_list(net.proj(id));
    assert_remap(&r, &before, &after, &pairs, &[]);
    let back: Vec<NewSynapse> = row_syn
        .iter()
        .rev() // any order
        .map(|s| NewSynapse {
            pre: s.0,
            post: s.1,
            weight: f64::from_bits(s.2),
            delay: Some(s.3),
        })
        .collect();
    let r = net.edit_synapses(id, &[], &back, 0).unwrap();
    assert_eq!(synapse_list(net.proj(id)), before);
    assert_eq!(net.proj(id).weights.shared(), Some(-1.0));
    assert_remap(&r, &after, &before, &[], &pairs);

    // Remove every synapse, then add one.
    let all: Vec<(u32, u32)> = before.iter().map(|s| (s.0, s.1)).collect();
    net.edit_synapses(id, &all, &[], 0).unwrap();
    assert_eq!(net.proj(id).nnz(), 0);
    assert_consistent(&net);
    let r = net
        .edit_synapses(
            id,
            &[],
            &[NewSynapse {
                pre: 5,
                post: 0,
                weight: 2.0,
                delay: None,
            }],
            0,
        )
        .unwrap();
    assert_eq!(synapse_list(net.proj(id)).len(), 1);
    assert_eq!(r.synapses(), vec![NEW]);
    assert_eq!(net.proj(id).weights.row(5), 0..1);
}

/// One source spike onto two targets: after the synapse onto target 1 is removed, target 1
/// gets nothing while target 0 gets exactly what it got before; added back with a delay of
/// 4 steps, target 1 gets the spike 4 steps after it was emitted.
#[test]
fn a_removed_synapse_delivers_nothing_and_an_added_one_delivers_after_its_delay() {
    const TEXT: &str = r#"(format_version: 1, dt_ms: 1.0, duration_ms: 12.0,
    populations: [
      (name: "src", size: 1, model: SpikeTimes(times_ms: [[2.0]])),
      (name: "dst", size: 2, model: Lif(tau_m_ms: 10.0, v_rest_mv: 0.0, v_reset_mv: 0.0,
         v_th_mv: 100.0, refractory_ms: 0.0, tau_syn_exc_ms: 5.0)),
    ],
    projections: [(name: "p", pre: "src", post: "dst", connectivity: AllToAll,
                   weight: Constant(1.0))],
    recorders: [State(population: "dst", variables: ["i_exc"], neurons: [0, 1])])"#;
    let checked = Source::from_text("two.ron", TEXT)
        .load_with(&snnsim::models::Rules)
        .unwrap();
    let currents = |e: &Engine| -> Vec<(f64, f64)> {
        e.states[0]
            .rows
            .iter()
            .map(|(_, r)| (snnsim::real::wide(r[0]), snnsim::real::wide(r[1])))
            .collect()
    };
    let mut plain = Engine::from_file(&checked).unwrap();
    plain.run(12).unwrap();
    let plain = currents(&plain);
    // Spike in step 2, delay 1: both targets feel it from step 3.
    assert!(plain[..3].iter().all(|&(a, b)| a == 0.0 && b == 0.0));
    assert!(plain[3].0 == 1.0 && plain[3].1 == 1.0, "{plain:?}");

    let mut cut = Engine::from_file(&checked).unwrap();
    cut.run(1).unwrap();
    let r = cut.edit_synapses("p", &[(0, 1)], &[]).unwrap();
    assert_eq!((r.removed.clone(), r.nnz_after()), (vec![1], 1));
    cut.run(11).unwrap();
    let cut = currents(&cut);
    for (s, (&(a, b), &(a0, _))) in cut.iter().zip(&plain).enumerate() {
        assert_eq!(a.to_bits(), a0.to_bits(), "target 0, step {s}");
        assert_eq!(b, 0.0, "target 1, step {s}");
    }

    let mut late = Engine::from_file(&checked).unwrap();
    late.run(1).unwrap();
    late.edit_synapses(
        "p",
        &[(0, 1)],
        &[NewSynapse {
            pre: 0,
            post: 1,
            weight: 1.0,
            delay: Some(4),
        }],
    )
    .unwrap();
    assert!(late.net.population("dst").unwrap().input.len >= 5);
    late.run(11).unwrap();
    let late = currents(&late);
    for (s, (&(a, b), &(a0, b0))) in late.iter().zip(&plain).enumerate() {
        assert_eq!(a.to_bits(), a0.to_bits(), "target 0, step {s}");
        // Target 1's trace is the plain one, 3 steps later.
        let want = if s >= 3 { plain[s - 3].1 } else { 0.0 };
        assert_eq!(b.to_bits(), want.to_bits(), "target 1, step {s} (plain {b0})");
    }
    assert_eq!(late[6].1, 1.0);
}

/// A projection trained by `rstdp` (per-synapse eligibility): after a synapse edit the rule's
/// state is that of the old synapses under the map (bit for bit), zero for new ones, and the
/// run goes on.
#[test]
fn rule_state_follows_a_synapse_edit() {
    let plugin = crate::common::plugin_file("rstdp");
    assert!(
        plugin.is_file(),
        "{} is missing: build the workspace first (cargo build --release)",
        plugin.display()
    );
    let text = format!(
        r#"(format_version: 1, dt_ms: 0.5, duration_ms: 100.0,
    populations: [
        (name: "pre", size: 3, model: SpikeTimes(times_ms: [[5.0, 20.0, 41.5], [7.0, 30.0],
            [12.0, 13.0, 50.0]])),
        (name: "post", size: 3, model: Lif(tau_m_ms: 10.0, v_rest_mv: 0.0, v_reset_mv: 0.0,
            v_th_mv: 1.0, refractory_ms: 2.0)),
    ],
    projections: [(name: "p", pre: "pre", post: "post", connectivity: AllToAll,
        weight: Constant(0.5), rule: (plugin: "rstdp", path: "{}"))],
    stimuli: [Dc(target: "post", amplitude_na: 1.15)],
)"#,
        plugin.display()
    );
    let checked = Source::from_text("rstdp.ron", text)
        .load_with(&snnsim::models::Rules)
        .unwrap();
    let mut e = Engine::from_file(&checked).unwrap();
    // The rule's state is the last thing saved: 28 header bytes and 8 per synapse.
    let eligibility = |e: &mut Engine| -> Vec<u64> {
        let n = e.net.projection("p").unwrap().nnz();
        let s = e.save_state().unwrap();
        s[s.len() - 8 * n..]
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    e.run(120).unwrap();
    let before = eligibility(&mut e);
    assert_eq!(before.len(), 9);
    assert!(before.iter().all(|&x| f64::from_bits(x) != 0.0), "{before:?}");
    let r = e
        .edit_synapses("p", &[(0, 1), (2, 2), (1, 0)], &[])
        .unwrap();
    let mid = eligibility(&mut e);
    let map = r.synapses();
    assert_eq!(map, vec![0, 2, 4, 5, 6, 7]);
    for (k, &o) in map.iter().enumerate() {
        assert_eq!(mid[k], before[o as usize], "synapse {k}");
    }
    e.run(20).unwrap();
    let before = eligibility(&mut e);
    let add = |pre, post| NewSynapse {
        pre,
        post,
        weight: 0.25,
        delay: None,
    };
    let r = e
        .edit_synapses("p", &[(0, 0)], &[add(2, 2), add(0, 1)])
        .unwrap();
    let after = eligibility(&mut e);
    let map = r.synapses();
    assert_eq!(map, vec![NEW, 1, 2, 3, 4, 5, NEW]);
    for (k, &o) in map.iter().enumerate() {
        let want = if o == NEW { 0 } else { before[o as usize] };
        assert_eq!(after[k], want, "synapse {k}");
    }
    e.run(80).unwrap();
    assert_eq!(eligibility(&mut e).len(), 7);
}

/// Large batches on a larger projection, growing and shrinking it in turn (runs of synapses
/// moving both ways in one edit), against the map model, values and delays per synapse.
#[test]
fn large_synapse_batches_match_the_map_model() {
    const TEXT: &str = r#"(format_version: 1, dt_ms: 0.5, duration_ms: 1.0, seed: 3,
    populations: [
      (name: "a", size: 200, model: Poisson(rate_hz: 10.0)),
      (name: "b", size: 300, model: Lif()),
    ],
    projections: [(name: "p", pre: "a", post: "b", connectivity: FixedProbability(p: 0.1),
        weight: Uniform(low: -1.0, high: 1.0), delay_ms: Uniform(low: 0.5, high: 3.0))])"#;
    let checked = Source::from_text("large.ron", TEXT)
        .load_with(&snnsim::models::Rules)
        .unwrap();
    let mut net = snnsim::graph::build(&checked).unwrap();
    let id = net.proj_id("p").unwrap();
    assert!(matches!(net.proj(id).delays, Delays::PerSynapse(_)));
    let mut x: u64 = 7;
    let mut next = move |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    for (round, (n_remove, n_add)) in [(500, 1500), (1500, 300), (800, 800), (0, 2000), (3000, 0)]
        .into_iter()
        .enumerate()
    {
        let before = synapse_list(net.proj(id));
        let mut model: BTreeMap<(u32, u32), (u64, u16)> =
            before.iter().map(|s| ((s.0, s.1), (s.2, s.3))).collect();
        let mut remove = Vec::new();
        while remove.len() < n_remove.min(before.len()) {
            let s = before[next(before.len() as u64) as usize];
            if model.remove(&(s.0, s.1)).is_some() {
                remove.push((s.0, s.1));
            }
        }
        let mut add = Vec::new();
        while add.len() < n_add {
            let (i, j) = (next(200) as u32, next(300) as u32);
            if model.contains_key(&(i, j)) {
                continue;
            }
            let s = NewSynapse {
                pre: i,
                post: j,
                weight: next(1000) as f64 / 100.0 - 5.0,
                delay: Some(1 + next(9) as u16),
            };
            model.insert((i, j), (s.weight.to_bits(), s.delay.unwrap()));
            add.push(s);
        }
        let r = net.edit_synapses(id, &remove, &add, 0).unwrap();
        assert_well_formed(net.proj(id));
        let after = synapse_list(net.proj(id));
        let want: Vec<_> = model.iter().map(|(&(i, j), &(w, d))| (i, j, w, d)).collect();
        assert!(after == want, "round {round}");
        let added: Vec<(u32, u32)> = add.iter().map(|s| (s.pre, s.post)).collect();
        assert_remap(&r, &before, &after, &remove, &added);
        assert_consistent(&net);
    }
    assert!(net.population("b").unwrap().input.len >= 10);
}
