//! EventProp (docs/classification.md#eventprop): its exact event-time LIF model against the
//! clock-driven engine's exact-integration `Lif` as dt → 0, and graphs/yinyang.ron's network
//! trained with it: it learns, gives the same bits on one and two threads, and a graph
//! EventProp cannot run exits 2 naming the field and the reason.

use crate::common::{root, run_json};
use snnsim::engine::Engine;
use snnsim::exec::eventprop::{Event, EventLif, EventNet, Logit};
use snnsim::file::Source;

/// Spike times (ms) of neuron 0 of `n`, driven by inputs `a` (weight 2.5) and `b` (weight
/// −1.2), as the engine stamps them at step `dt` (the start of the step whose update crossed).
fn engine_spikes(dt: f64, a: &[f64], b: &[f64], tau_m: f64, tau_s: f64) -> Vec<f64> {
    let list = |v: &[f64]| v.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ");
    let text = format!(
        "(format_version: 1, dt_ms: {dt:?}, duration_ms: 60.0,
          populations: [
            (name: \"a\", size: 1, model: SpikeTimes(times_ms: [[{}]])),
            (name: \"b\", size: 1, model: SpikeTimes(times_ms: [[{}]])),
            (name: \"n\", size: 1, model: Lif(tau_m_ms: {tau_m:?}, tau_syn_exc_ms: {tau_s:?},
               tau_syn_inh_ms: {tau_s:?}, v_rest_mv: 0.0, v_reset_mv: 0.0, v_th_mv: 1.0,
               refractory_ms: 0.0, r_mohm: 1.0)),
          ],
          projections: [
            (pre: \"a\", post: \"n\", connectivity: AllToAll, weight: Constant(2.5), delay_ms: Constant({dt:?})),
            (pre: \"b\", post: \"n\", connectivity: AllToAll, weight: Constant(-1.2), delay_ms: Constant({dt:?})),
          ],
          recorders: [Spikes(population: \"n\")])",
        list(a),
        list(b)
    );
    let checked = Source::from_text("t.ron", &text)
        .load_with(&snnsim::models::Rules)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut e = Engine::from_file(&checked).unwrap();
    e.run(checked.steps()).unwrap();
    e.spikes.events.iter().map(|&(s, _, _)| s as f64 * dt).collect()
}

/// The engine's spikes converge to the event-time model's as dt → 0: the same spikes at every
/// dt of 0.1, 0.01 and 0.001 ms, the largest error at most (number of spikes + 1)·dt (an engine's
/// spike is stamped at the start of its step and resets at the step's end, so its lag can
/// add up over a run of spikes), a bound that shrinks with dt.
#[test]
fn event_time_model_is_the_engines_lif_as_dt_goes_to_zero() {
    let (a, b) = ([1.0, 3.0, 4.0, 12.0, 30.0, 31.0], [7.0, 20.0]);
    for (tau_m, tau_s) in [(10.0, 4.0), (20.0, 5.0)] {
        let net = EventNet {
            sizes: vec![2, 1, 1],
            layers: vec![
                EventLif { tau_m, tau_s, r: 1.0, theta: 1.0 },
                EventLif { tau_m, tau_s, r: 1.0, theta: f64::INFINITY },
            ],
            t_end: 60.0,
            logit: Logit::Max,
        };
        let mut input: Vec<Event> = a
            .iter()
            .map(|&t| Event { t, i: 0, x: 1.0 })
            .chain(b.iter().map(|&t| Event { t, i: 1, x: 1.0 }))
            .collect();
        input.sort_by(|p, q| p.t.total_cmp(&q.t).then(p.i.cmp(&q.i)));
        let tr = net.forward(&[&[2.5, -1.2], &[0.0]], &input);
        let exact: Vec<f64> = tr.spikes[0].iter().map(|s| s.0.t).collect();
        assert!(!exact.is_empty(), "τ {tau_m}/{tau_s}: no spike");
        for dt in [0.1, 0.01, 0.001] {
            let got = engine_spikes(dt, &a, &b, tau_m, tau_s);
            assert_eq!(got.len(), exact.len(), "dt {dt}: {got:?} vs {exact:?}");
            let err = got
                .iter()
                .zip(&exact)
                .map(|(g, e)| (g + dt / 2.0 - e).abs())
                .fold(0.0, f64::max);
            eprintln!("τ {tau_m}/{tau_s} dt {dt}: largest spike-time error {err:.2e} ms");
            // The engine's input acts within a step of its spike and each engine spike resets
            // up to a step late, so the k-th spike may lag by up to k + 1 steps.
            let bound = (exact.len() + 1) as f64 * dt;
            assert!(err <= bound, "dt {dt}: error {err} above {bound}");
        }
    }
}

/// graphs/yinyang.ron made small (2 000 training, 300 test points, 5 epochs):
/// EventProp learns far past chance (33 %) and the 64 % of a shallow network, and one and two
/// threads give the same bits.
#[test]
fn eventprop_learns_yinyang_the_same_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("graphs/yinyang.ron")).unwrap();
    let small = base
        .replace("train: 5000, test: 1000", "train: 2000, test: 300")
        .replace("epochs: 60,", "epochs: 5,");
    assert_ne!(small, base);
    let f = dir.path().join("yy.ron");
    std::fs::write(&f, &small).unwrap();
    let a = run_json(&f, &dir.path().join("a"), &["--threads", "1"]);
    let b = run_json(&f, &dir.path().join("b"), &["--threads", "2"]);
    let acc = a["test_accuracy"].as_f64().unwrap();
    eprintln!("eventprop yin-yang (small): test accuracy {acc:.4}");
    assert_eq!(a["gradient"], "eventprop");
    assert!(acc >= 0.75, "test accuracy {acc}");
    assert!(a["hidden_spikes_per_sample"].as_f64().unwrap() > 0.0);
    assert_eq!(a["state_hash"], b["state_hash"]);
    for file in ["metrics.csv", "predictions.csv"] {
        let read = |t: &str| std::fs::read(dir.path().join(t).join(file)).unwrap();
        assert_eq!(read("a"), read("b"), "{file}");
    }
    let cases = [
        ("bias: false,", "bias: true,", "task.Classify.bias"),
        (
            "lr: 0.005,",
            "lr: 0.005, spike_regularizer: (strength: 0.1),",
            "task.Classify.spike_regularizer",
        ),
        ("gradient: EventProp(),", "gradient: EventProp(tol: 1.0),", "tol"),
        (
            "(name: \"hidden\", size: 300, model: Lif(",
            "(name: \"hidden\", size: 300, model: Lif(integration: SnnTorch(reset: Zero), ",
            "task.Classify.gradient.EventProp",
        ),
        ("v_th_mv: 1.0, refractory_ms: 0.0", "v_th_mv: 1.0, refractory_ms: 1.0", "task.Classify.gradient.EventProp"),
        ("v_th_mv: 1e9,", "v_th_mv: 5.0,", "task.Classify.gradient.EventProp"),
        ("tau_syn_exc_ms: 5.0,\n            v_rest_mv: 0.0, v_reset_mv: 0.0, v_th_mv: 1.0", "tau_syn_exc_ms: 20.0,\n            v_rest_mv: 0.0, v_reset_mv: 0.0, v_th_mv: 1.0", "task.Classify.gradient.EventProp"),
        (
            "connectivity: AllToAll, weight: Normal(mean: 0.0",
            "connectivity: FixedProbability(p: 0.5), weight: Normal(mean: 0.0",
            "projections[1].connectivity",
        ),
    ];
    crate::common::assert_bad_fields(dir.path(), &small, &cases);
}
