//! Single neurons against Brian2 (`brian2_single_neuron.json`, Brian2 2.9, numpy target,
//! float64): the same spikes, stamped the same way (the start of the step in which v crossed).

use crate::common::reference;
use snnsim::engine::Engine;
use snnsim::file::Source;

fn engine(text: &str) -> Engine {
    let checked = Source::from_text("test.ron", text)
        .load_with(&snnsim::models::Rules)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut e = Engine::from_file(&checked).unwrap();
    e.run(checked.steps()).unwrap();
    e
}

/// Spike steps of population `name`'s neuron 0 from the spike recorder.
fn spike_steps(e: &Engine) -> Vec<u64> {
    e.spikes.events.iter().map(|&(s, _, _)| s).collect()
}

fn ms_to_step(t: f64, dt: f64) -> u64 {
    let s = t / dt;
    assert!((s - s.round()).abs() < 1e-6, "{t} ms is not on the grid");
    s.round() as u64
}

/// (a) LIF with constant current, exact integration, refractory 2 ms: every spike time equals
/// Brian2's, hence every ISI equals the grid prediction n_ref + k − 1 steps and the first
/// spike is at step k − 1. Tolerance: none (the same step).
#[test]
fn lif_constant_current_matches_brian2_and_the_grid_prediction() {
    let r = reference("brian2_single_neuron.json");
    let sec = &r["lif_constant_current"];
    let dt = sec["dt_ms"].as_f64().unwrap();
    assert_eq!(dt, 0.1);
    let cases = sec["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let i = case["I"].as_f64().unwrap();
        let e = engine(&format!(
            "(format_version: 1, dt_ms: {dt}, duration_ms: 1000.0,
              populations: [(name: \"n\", size: 1, model: Lif(tau_m_ms: 20.0, v_rest_mv: 0.0,
                 v_reset_mv: 0.0, v_th_mv: 1.0, refractory_ms: 2.0, r_mohm: 1.0))],
              stimuli: [Dc(target: \"n\", amplitude_na: {i:?})],
              recorders: [Spikes(population: \"n\")])"
        ));
        let got = spike_steps(&e);
        let want: Vec<u64> = case["spike_times_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| ms_to_step(t.as_f64().unwrap(), dt))
            .collect();
        assert_eq!(got, want, "I = {i}: spike steps differ from Brian2's");
        let a = &case["analytic"];
        let isi = a["isi_steps_discrete_prediction"].as_u64().unwrap();
        let first = ms_to_step(
            a["first_spike_ms_discrete_prediction"].as_f64().unwrap(),
            dt,
        );
        assert_eq!(got[0], first, "I = {i}: first spike");
        for w in got.windows(2) {
            assert_eq!(w[1] - w[0], isi, "I = {i}: ISI off the grid prediction");
        }
        // The continuous formula agrees with the grid ISI within one dt.
        let isi_cont = 1000.0 / a["rate_hz_continuous"].as_f64().unwrap();
        assert!((isi as f64 * dt - isi_cont).abs() <= dt, "I = {i}");
    }
}

/// (b) LIF with one exponential synapse driven by given spike times: the same 6 output spikes,
/// and v and I_syn within 1e-9 (threshold units) at every 0.1 ms sample of the trace, which
/// Brian2 records in its `start` slot (after the previous step's synaptic increments).
#[test]
fn lif_exp_synapse_matches_brian2_spikes_and_trace() {
    let r = reference("brian2_single_neuron.json");
    let sec = &r["lif_exp_synapse"];
    let dt = sec["dt_ms"].as_f64().unwrap();
    let p = &sec["params"];
    let w = p["w"].as_f64().unwrap();
    let times: Vec<String> = sec["input_spike_times_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{:?}", t.as_f64().unwrap()))
        .collect();
    // Brian2's synapse has no delay: the increment lands after the update of the step of the
    // input spike and is felt from the next step on — delay_ms = dt here.
    let e = engine(&format!(
        "(format_version: 1, dt_ms: {dt}, duration_ms: {dur:?},
          populations: [
            (name: \"in\", size: 1, model: SpikeTimes(times_ms: [[{times}]])),
            (name: \"n\", size: 1, model: Lif(tau_m_ms: {tm:?}, tau_syn_exc_ms: {ts:?},
               v_rest_mv: 0.0, v_reset_mv: 0.0, v_th_mv: 1.0, refractory_ms: 2.0, r_mohm: 1.0)),
          ],
          projections: [(pre: \"in\", post: \"n\", connectivity: List(pairs: [(0, 0)]),
                         weight: Constant({w:?}), delay_ms: Constant({dt}))],
          recorders: [Spikes(population: \"n\"),
                      State(population: \"n\", variables: [\"v\", \"i_exc\"], neurons: [0])])",
        dur = sec["duration_ms"].as_f64().unwrap(),
        times = times.join(", "),
        tm = p["tau_m_ms"].as_f64().unwrap(),
        ts = p["tau_syn_ms"].as_f64().unwrap(),
    ));
    let want: Vec<u64> = sec["output_spike_times_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| ms_to_step(t.as_f64().unwrap(), dt))
        .collect();
    assert_eq!(want.len(), 6);
    assert_eq!(spike_steps(&e), want);

    let trace = &sec["trace_dense"];
    let (tv, vv, iv) = (
        trace["t_ms"].as_array().unwrap(),
        trace["v"].as_array().unwrap(),
        trace["I_syn"].as_array().unwrap(),
    );
    let rows = &e.states[0].rows;
    assert_eq!(rows.len(), tv.len());
    let mut max_dv: f64 = 0.0;
    for (k, (step, vals)) in rows.iter().enumerate() {
        assert_eq!(*step, ms_to_step(tv[k].as_f64().unwrap(), dt));
        let (v, i) = (vv[k].as_f64().unwrap(), iv[k].as_f64().unwrap());
        max_dv = max_dv.max((vals[0] - v).abs());
        assert!(
            (vals[0] - v).abs() <= 1e-9,
            "t = {} ms: v {} vs {v}",
            tv[k],
            vals[0]
        );
        assert!(
            (vals[1] - i).abs() <= 1e-9,
            "t = {} ms: I {} vs {i}",
            tv[k],
            vals[1]
        );
    }
    assert!(max_dv < 1e-9);
}
