//! Zero-delay projections, graded (`Values`) populations, per-neuron parameters and the
//! same-step reset (docs/graph-format.md, "Timing" and "Graded input"): a zero-delay chain is
//! crossed within one step whatever the population names; a zero-delay cycle is refused naming
//! its projections; the format document's graded example, run with `--input`, gives the
//! spikes of an independent step-by-step computation; bad per-neuron parameters and bad
//! `--input` uses exit 2 naming the field or file.

use crate::common::{root, snnsim};
use npyz::WriterBuilder;
use snnsim::engine::Engine;
use snnsim::file::Source;
use std::path::Path;

fn engine_of(text: &str) -> Engine {
    let checked = Source::from_text("test.ron", text)
        .load_with(&snnsim::models::Rules)
        .unwrap_or_else(|e| panic!("{e}"));
    Engine::from_file(&checked).unwrap()
}

/// A spike source at 1 ms (step 10) → `mid` → `last`, exact LIF cells driven hard enough to
/// fire in the step they receive the spike; names sort against the order of the chain.
fn chain(delay: &str) -> String {
    format!(
        r#"(
    format_version: 1,
    dt_ms: 0.1,
    duration_ms: 3.0,
    populations: [
        (name: "z_src", size: 1, model: SpikeTimes(times_ms: [[1.0]])),
        (name: "b_mid", size: 1, model: Lif(refractory_ms: 5.0)),
        (name: "a_last", size: 1, model: Lif(refractory_ms: 5.0)),
    ],
    projections: [
        (pre: "z_src", post: "b_mid", connectivity: AllToAll, weight: Constant(1e6), delay_ms: {delay}),
        (pre: "b_mid", post: "a_last", connectivity: AllToAll, weight: Constant(1e6), delay_ms: {delay}),
    ],
)"#
    )
}

/// The steps in which each population spiked, by name.
fn spike_steps(e: &mut Engine, steps: u64) -> Vec<(String, Vec<u64>)> {
    let ids = e.net.pop_ids();
    let mut out: Vec<(String, Vec<u64>)> = ids
        .iter()
        .map(|&id| (e.net.pop(id).name.clone(), Vec::new()))
        .collect();
    for _ in 0..steps {
        let t = e.step;
        e.step().unwrap();
        for (k, &id) in ids.iter().enumerate() {
            if !e.net.pop(id).spikes.is_empty() {
                out[k].1.push(t);
            }
        }
    }
    out
}

#[test]
fn a_zero_delay_chain_is_crossed_within_one_step() {
    let mut e = engine_of(&chain("Constant(0.0)"));
    let got = spike_steps(&mut e, 30);
    let want = |v: &[u64]| v.to_vec();
    assert_eq!(
        got,
        vec![
            ("a_last".to_string(), want(&[10])),
            ("b_mid".to_string(), want(&[10])),
            ("z_src".to_string(), want(&[10])),
        ]
    );
    // With the default delay of one step each link takes a step.
    let mut e = engine_of(&chain("Constant(0.1)"));
    let got = spike_steps(&mut e, 30);
    assert_eq!(got[0].1, vec![12]);
    assert_eq!(got[1].1, vec![11]);
    assert_eq!(e.synaptic_events, 2);
}

#[test]
fn a_cycle_of_zero_delay_projections_is_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let cyc = |back: &str| {
        format!(
            r#"(
    format_version: 1,
    dt_ms: 0.1,
    duration_ms: 1.0,
    populations: [
        (name: "p", size: 2, model: Lif()),
        (name: "q", size: 2, model: Lif()),
        (name: "r", size: 2, model: Lif()),
    ],
    projections: [
        (name: "pq", pre: "p", post: "q", connectivity: OneToOne, weight: Constant(1.0), delay_ms: Constant(0.0)),
        (name: "qr", pre: "q", post: "r", connectivity: OneToOne, weight: Constant(1.0), delay_ms: Constant(0.0)),
        (name: "rp", pre: "r", post: "p", connectivity: OneToOne, weight: Constant(1.0), delay_ms: {back}),
    ],
)"#
        )
    };
    let bad = dir.path().join("cycle.ron");
    std::fs::write(&bad, cyc("Constant(0.0)")).unwrap();
    let o = snnsim(&["validate", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`pq`") && err.contains("`qr`") && err.contains("`rp`"),
        "{err}"
    );
    assert!(err.contains("form a cycle"), "{err}");
    assert!(err.contains("cycle.ron:"), "{err}");
    // One step of delay anywhere in the loop is enough.
    let good = dir.path().join("loop.ron");
    std::fs::write(&good, cyc("Constant(0.1)")).unwrap();
    let o = snnsim(&["validate", good.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    // A delay between 0 and one step is still refused.
    std::fs::write(&bad, cyc("Constant(0.05)")).unwrap();
    let o = snnsim(&["validate", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("shorter than the time step"), "{err}");
}

/// The graded example of docs/graph-format.md.
fn doc_example() -> String {
    let doc = std::fs::read_to_string(root().join("docs/graph-format.md")).unwrap();
    let start = doc
        .find("```ron\n(\n    format_version: 1,\n    dt_ms: 0.1,\n    duration_ms: 0.0,")
        .expect("the graded example");
    let body = &doc[start + "```ron\n".len()..];
    body[..body.find("```").unwrap()].to_string()
}

fn write_npy(path: &Path, shape: &[u64], values: &[f64]) {
    let mut f = std::fs::File::create(path).unwrap();
    let mut w = npyz::WriteOptions::<f64>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut f)
        .begin_nd()
        .unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
}

#[test]
fn the_graded_example_runs_with_input_as_computed_by_hand() {
    let steps = 200;
    let input: Vec<f64> = (0..steps)
        .flat_map(|t| {
            let t = t as f64;
            [1.0 + (0.3 * t).sin(), 0.4 + 0.8 * (0.17 * t).cos()]
        })
        .collect();
    // The example's arithmetic, step by step: hidden = Synaptic (α 0.5, β per neuron,
    // thresholds per neuron), out = snnTorch Leaky (β 0.9), both resetting to 0 in the step
    // of the spike; every projection within the step.
    let (w1, b1, w2) = ([[0.6, -0.2], [0.3, 0.5]], [0.1, 0.05], [0.7, 0.6]);
    let (beta, thr) = ([0.8, 0.9], [1.0, 0.7]);
    let (mut syn, mut mem, mut m) = ([0.0f64; 2], [0.0f64; 2], 0.0f64);
    let mut want = Vec::new();
    let mut hidden_spikes = 0;
    for t in 0..steps {
        let x = &input[2 * t..2 * t + 2];
        let mut spk = [0.0; 2];
        for j in 0..2 {
            let drive = (b1[j] + x[0] * w1[0][j]) + x[1] * w1[1][j];
            syn[j] = 0.5 * syn[j] + drive;
            mem[j] = beta[j] * mem[j] + syn[j];
            if mem[j] > thr[j] {
                spk[j] = 1.0;
                mem[j] = 0.0;
                hidden_spikes += 1;
            }
        }
        let drive = spk[0] * w2[0] + spk[1] * w2[1];
        m = 0.9 * m + drive;
        if m > 1.0 {
            want.push(1.0f32);
            m = 0.0;
        } else {
            want.push(0.0);
        }
    }
    let n_out = want.iter().filter(|&&x| x == 1.0).count();
    assert!(
        n_out > 10 && n_out < steps - 10,
        "{n_out} output spikes: the check needs some"
    );
    assert!(hidden_spikes > n_out, "{hidden_spikes}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("graded.ron");
    std::fs::write(&file, doc_example()).unwrap();
    let x = dir.path().join("x.npy");
    write_npy(&x, &[steps as u64, 2], &input);
    let out = dir.path().join("run");
    let o = snnsim(&[
        "run",
        file.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{o:?}");
    let bytes = std::fs::read(out.join("output.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[steps as u64, 1]);
    let got: Vec<f32> = npy.into_vec().unwrap();
    assert_eq!(got, want);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["output_population"], "out");
    assert_eq!(summary["input_population"], "in");
    assert_eq!(summary["spikes"]["hidden"], hidden_spikes);
    assert_eq!(summary["spikes"]["out"], n_out);

    // The wrong shape is refused naming the array and the shape the file takes.
    write_npy(&x, &[steps as u64, 3], &vec![0.0; 3 * steps]);
    let o = snnsim(&[
        "run",
        file.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("x.npy: shape (200, 3)") && err.contains("(T, 2)"),
        "{err}"
    );
}

#[test]
fn bad_per_neuron_parameters_and_input_files_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.ron");
    let check = |text: &str, needles: &[&str]| {
        std::fs::write(&file, text).unwrap();
        let o = snnsim(&["validate", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        for n in needles {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
    };
    let ex = doc_example();
    check(
        &ex.replace(r#""threshold": [1.0, 0.7]"#, r#""threshold": [1.0]"#),
        &[
            "params.threshold",
            "1 values given, the population has 2 neurons",
        ],
    );
    check(
        &ex.replace(r#""threshold": [1.0, 0.7]"#, r#""tau_mem_ms": [1.0, 0.7]"#),
        &[
            "`tau_mem_ms` cannot be given per neuron",
            "alpha, beta, threshold",
        ],
    );
    check(
        &ex.replace(r#""beta": [0.8, 0.9]"#, r#""beta": [0.8, 1.5]"#),
        &["params.beta[1]", "[0, 1]"],
    );
    check(
        &ex.replace(r#"output: "out""#, r#"output: "nowhere""#),
        &["unknown population `nowhere`"],
    );
    check(
        &ex.replace(
            "Dense(weights: [[0.6, -0.2], [0.3, 0.5]]),\n            delay_ms: Constant(0.0)",
            "Dense(weights: [[0.6, -0.2], [0.3, 0.5]]),\n            delay_ms: Uniform(low: 0.1, high: 0.3)",
        ),
        &["Values population `in` takes one delay for all synapses"],
    );
    // --input needs one fed Values population and an output.
    let x = dir.path().join("x.npy");
    write_npy(&x, &[3, 2], &[0.0; 6]);
    let run = |text: &str| {
        std::fs::write(&file, text).unwrap();
        let o = snnsim(&[
            "run",
            file.to_str().unwrap(),
            "--input",
            x.to_str().unwrap(),
            "--out",
            dir.path().join("run").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let err = run(&ex.replace("    output: \"out\",\n", ""));
    assert!(err.contains("needs an `output` population"), "{err}");
    let err = run(&ex.replace(
        r#"(name: "in", size: 2, model: Values()),"#,
        r#"(name: "in", size: 2, model: Values(constant: [0.0, 1.0])),"#,
    ));
    assert!(
        err.contains("exactly one Values population without `constant`"),
        "{err}"
    );
    std::fs::write(&file, &ex).unwrap();
    let o = snnsim(&[
        "run",
        file.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--dt-ms",
        "0.5",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--dt-ms and --reset are for NIR files"),
        "{err}"
    );
}
