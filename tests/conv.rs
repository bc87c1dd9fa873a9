//! Convolution and pooling projections (docs/graph-format.md, "Convolution and pooling"): the
//! format document's example, run with `--input`, gives the spikes of a direct computation
//! written here (output-first convolution, then the average pool); a kernel projection gives,
//! bit for bit, the states of the same network with the kernel expanded into a `Dense` matrix
//! by independent loops, for graded and spiking inputs, zero and two-step delays, on one and on
//! two threads; malformed kernels exit 2 naming file, line and field.

use crate::common::{root, snnsim};
use npyz::WriterBuilder;
use snnsim::engine::Engine;
use snnsim::file::{Connectivity, GraphFile, Init, Source};
use std::path::Path;

/// The convolution example of docs/graph-format.md.
fn doc_example() -> String {
    let doc = std::fs::read_to_string(root().join("docs/graph-format.md")).unwrap();
    let start = doc
        .find("```ron\n(\n    format_version: 1,\n    dt_ms: 1.0,\n    duration_ms: 0.0,")
        .expect("the convolution example");
    let body = &doc[start + "```ron\n".len()..];
    body[..body.find("```").unwrap()].to_string()
}

fn parse(text: &str) -> GraphFile {
    Source::from_text("conv.ron", text.to_string())
        .parse()
        .unwrap()
}

fn engine_of(f: &GraphFile) -> Engine {
    let checked = Source::from_text("conv.ron", snnsim::file::to_ron(f))
        .load_with(&snnsim::models::Rules)
        .unwrap_or_else(|e| panic!("{e}"));
    Engine::from_file(&checked).unwrap()
}

/// A convolution's dense matrix, pre × post, written output-first (each output position
/// looks up its inputs), independently of the engine's scatter.
#[allow(clippy::too_many_arguments)]
fn dense_conv(
    [c_in, h, w]: [usize; 3],
    c_out: usize,
    [kh, kw]: [usize; 2],
    [sy, sx]: [usize; 2],
    [py, px]: [usize; 2],
    [dy, dx]: [usize; 2],
    groups: usize,
    weights: &[f64],
) -> Vec<Vec<f64>> {
    let oh = (h + 2 * py - dy * (kh - 1) - 1) / sy + 1;
    let ow = (w + 2 * px - dx * (kw - 1) - 1) / sx + 1;
    let (cin_g, cout_g) = (c_in / groups, c_out / groups);
    let mut m = vec![vec![0.0; c_out * oh * ow]; c_in * h * w];
    for o in 0..c_out {
        for oy in 0..oh {
            for ox in 0..ow {
                for ci in 0..cin_g {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * sy + ky * dy) as isize - py as isize;
                            let ix = (ox * sx + kx * dx) as isize - px as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            let c = (o / cout_g) * cin_g + ci;
                            let pre = (c * h + iy as usize) * w + ix as usize;
                            m[pre][(o * oh + oy) * ow + ox] +=
                                weights[((o * cin_g + ci) * kh + ky) * kw + kx];
                        }
                    }
                }
            }
        }
    }
    m
}

/// The file with every kernel projection replaced by its dense expansion.
fn expanded(f: &GraphFile) -> GraphFile {
    let mut g = f.clone();
    for p in &mut g.projections {
        let pair = |v: &[usize]| [v[0], v[1]];
        let dense = match &p.connectivity {
            Connectivity::Conv2d {
                input,
                out_channels,
                kernel,
                stride,
                padding,
                dilation,
                groups,
                weights,
            } => dense_conv(
                [input[0], input[1], input[2]],
                *out_channels,
                pair(kernel),
                pair(stride),
                pair(padding),
                pair(dilation),
                *groups,
                weights,
            ),
            Connectivity::AvgPool2d {
                input,
                kernel,
                stride,
                padding,
            }
            | Connectivity::SumPool2d {
                input,
                kernel,
                stride,
                padding,
            } => {
                let c = input[0];
                let w = if matches!(p.connectivity, Connectivity::AvgPool2d { .. }) {
                    1.0 / (kernel[0] * kernel[1]) as f64
                } else {
                    1.0
                };
                dense_conv(
                    [c, input[1], input[2]],
                    c,
                    pair(kernel),
                    pair(stride.as_deref().unwrap_or(kernel)),
                    pair(padding),
                    [1, 1],
                    c,
                    &vec![w; c * kernel[0] * kernel[1]],
                )
            }
            _ => continue,
        };
        p.connectivity = Connectivity::Dense { weights: dense };
    }
    g
}

/// Deterministic input rows in [0, 1.2).
fn input_rows(steps: usize, n: usize) -> Vec<Vec<f64>> {
    (0..steps)
        .map(|t| {
            (0..n)
                .map(|i| 0.6 + 0.6 * ((0.37 * t as f64 + 1.7 * i as f64).sin()))
                .collect()
        })
        .collect()
}

/// A population after a step: name, spikes, state columns by bit pattern.
type PopState = (String, Vec<u32>, Vec<Vec<u64>>);

/// Runs `f` with `rows` fed to `image`; per step, every population's spikes and state
/// columns by bit pattern.
fn trace(f: &GraphFile, rows: &[Vec<f64>]) -> Vec<Vec<PopState>> {
    let mut e = engine_of(f);
    let mut out = Vec::new();
    for row in rows {
        e.set_values("image", row).unwrap();
        e.step().unwrap();
        let ids = e.net.pop_ids();
        out.push(
            ids.iter()
                .map(|&id| {
                    let p = e.net.pop(id);
                    let cols = p
                        .dynamics
                        .columns()
                        .iter()
                        .map(|(_, c)| c.iter().map(|x| x.to_bits()).collect())
                        .collect();
                    (p.name.clone(), p.spikes.clone(), cols)
                })
                .collect(),
        );
    }
    out
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
fn the_conv_example_runs_with_input_as_computed_directly() {
    let steps = 80;
    let rows = input_rows(steps, 36);
    let k1 = [
        0.3, 0.1, -0.2, 0.2, 0.4, 0.1, -0.1, 0.2, 0.3, //
        -0.2, 0.3, 0.2, 0.1, -0.3, 0.4, 0.2, 0.1, -0.1,
    ];
    // Synaptic (α, β, threshold) with the zero reset in the step of the spike.
    let (mut syn1, mut mem1) = (vec![0.0f64; 32], vec![0.0f64; 32]);
    let (mut syn2, mut mem2) = (vec![0.0f64; 8], vec![0.0f64; 8]);
    let mut want = Vec::new();
    let mut feature_spikes = 0;
    for x in &rows {
        let mut spk1 = vec![0.0f64; 32];
        for o in 0..2 {
            for oy in 0..4 {
                for ox in 0..4 {
                    let mut s = 0.0;
                    for ky in 0..3 {
                        for kx in 0..3 {
                            s += k1[o * 9 + ky * 3 + kx] * x[(oy + ky) * 6 + ox + kx];
                        }
                    }
                    let j = (o * 4 + oy) * 4 + ox;
                    syn1[j] = 0.5 * syn1[j] + s;
                    mem1[j] = 0.8 * mem1[j] + syn1[j];
                    if mem1[j] > 1.0 {
                        spk1[j] = 1.0;
                        mem1[j] = 0.0;
                        feature_spikes += 1;
                    }
                }
            }
        }
        for c in 0..2 {
            for py in 0..2 {
                for px in 0..2 {
                    let mut s = 0.0;
                    for dy in 0..2 {
                        for dx in 0..2 {
                            s += spk1[(c * 4 + 2 * py + dy) * 4 + 2 * px + dx];
                        }
                    }
                    let j = (c * 2 + py) * 2 + px;
                    syn2[j] = 0.3 * syn2[j] + s / 4.0;
                    mem2[j] = 0.9 * mem2[j] + syn2[j];
                    if mem2[j] > 0.6 {
                        want.push(1.0f32);
                        mem2[j] = 0.0;
                    } else {
                        want.push(0.0);
                    }
                }
            }
        }
    }
    let n_out = want.iter().filter(|&&x| x == 1.0).count();
    assert!(
        n_out > 20 && n_out < want.len() - 20,
        "{n_out} output spikes: the check needs some"
    );
    assert!(feature_spikes > 50, "{feature_spikes}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conv.ron");
    std::fs::write(&file, doc_example()).unwrap();
    let x = dir.path().join("x.npy");
    write_npy(&x, &[steps as u64, 36], &rows.concat());
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
    assert_eq!(npy.shape(), &[steps as u64, 8]);
    let got: Vec<f32> = npy.into_vec().unwrap();
    assert_eq!(got, want);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["spikes"]["features"], feature_spikes);
}

/// A network exercising every kernel path: a graded input through a strided, padded,
/// dilated, grouped convolution (zero delay), a sum pool of spikes (zero delay) and an average
/// pool of spikes with padding and a two-step delay (the ring path).
fn kernels_network() -> GraphFile {
    let weights: Vec<String> = (0..24)
        .map(|k| format!("{:.3}", 0.45 * ((k as f64) * 0.9).sin() + 0.1))
        .collect();
    parse(&format!(
        r#"(
    format_version: 1,
    dt_ms: 1.0,
    duration_ms: 0.0,
    populations: [
        (name: "image", size: 80, model: Values()),
        (name: "a", size: 72, model: Synaptic(alpha: 0.5, beta: 0.8, threshold: 0.7, reset: Zero, reset_delay: false)),
        (name: "b", size: 24, model: Synaptic(alpha: 0.4, beta: 0.7, threshold: 0.9, reset: Zero, reset_delay: false)),
        (name: "c", size: 32, model: Synaptic(alpha: 0.2, beta: 0.9, threshold: 0.3, reset: Subtract)),
    ],
    projections: [
        (name: "conv", pre: "image", post: "a",
         connectivity: Conv2d(input: [2, 5, 8], out_channels: 4, kernel: [3, 2], stride: [2, 1],
                              padding: [1, 0], dilation: [1, 2], groups: 2, weights: [{}]),
         delay_ms: Constant(0.0)),
        (name: "sum", pre: "a", post: "b",
         connectivity: SumPool2d(input: [4, 3, 6], kernel: [2, 2], stride: [1, 2]),
         delay_ms: Constant(0.0)),
        (name: "avg", pre: "a", post: "c",
         connectivity: AvgPool2d(input: [4, 3, 6], kernel: [2, 2], padding: [1, 1]),
         delay_ms: Constant(2.0)),
    ],
    output: "b",
)"#,
        weights.join(", ")
    ))
}

#[test]
fn kernel_projections_equal_their_dense_expansion_bit_for_bit() {
    let f = kernels_network();
    let dense = expanded(&f);
    let rows = input_rows(120, 80);
    let run = |g: &GraphFile, threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| trace(g, &rows))
    };
    let k = run(&f, 1);
    let d = run(&dense, 1);
    let count = |name: &str| -> usize {
        k.iter()
            .flat_map(|s| s.iter().filter(|p| p.0 == name).map(|p| p.1.len()))
            .sum()
    };
    for name in ["a", "b", "c"] {
        assert!(count(name) > 30, "`{name}` spiked {} times", count(name));
    }
    for (t, (a, b)) in k.iter().zip(&d).enumerate() {
        assert_eq!(a, b, "step {t}: kernel and dense differ");
    }
    assert_eq!(run(&f, 2), k, "two threads");
    // The kernel holds its weights once: no synapses stored.
    let e = engine_of(&f);
    assert_eq!(e.net.projection("conv").unwrap().nnz(), 0);
    let de = engine_of(&dense);
    assert!(de.net.projection("conv").unwrap().nnz() > 100);
}

fn validate_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.ron");
    std::fs::write(&file, text).unwrap();
    let o = snnsim(&["validate", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    err
}

#[test]
fn malformed_kernels_are_refused_naming_file_line_and_field() {
    let good = doc_example();
    let cases = [
        // The input shape does not hold the pre population's 36 neurons.
        (
            good.replace("input: [1, 6, 6]", "input: [1, 6, 5]"),
            "projections[0].connectivity.Conv2d.input",
            "holds 30 neurons, but the pre population `image` has 36",
        ),
        // A kernel larger than the padded input.
        (
            good.replace("kernel: [3, 3]", "kernel: [3, 7]"),
            "projections[0].connectivity.Conv2d.kernel",
            "larger than the padded input",
        ),
        // The output map is not the post population.
        (
            good.replace("kernel: [2, 2]),", "kernel: [2, 2], stride: [1, 1]),"),
            "projections[1].connectivity",
            "output of shape [2, 3, 3] = 18 neurons, but the post population `pooled` has 8",
        ),
        // Too few weights.
        (
            good.replace("0.2, 0.1, -0.1,", "0.2, 0.1,"),
            "projections[0].connectivity.Conv2d.weights",
            "17 weights given",
        ),
        // A kernel carries its own weights.
        (
            good.replace("delay_ms: Constant(0.0),\n        ),\n        (\n            name: \"pool\"", "weight: Constant(1.0),\n            delay_ms: Constant(0.0),\n        ),\n        (\n            name: \"pool\""),
            "projections[0].weight",
            "carries its own weights",
        ),
    ];
    for (text, field, msg) in cases {
        assert_ne!(text, good, "the case must change the file ({field})");
        let err = validate_err(&text);
        assert!(err.contains("bad.ron:"), "{err}");
        assert!(err.contains(field), "want {field}: {err}");
        assert!(err.contains(msg), "want {msg}: {err}");
    }
    // The line is that of the field.
    let err = validate_err(&good.replace("input: [1, 6, 6]", "input: [1, 6, 5]"));
    let line = good
        .lines()
        .position(|l| l.contains("input: [1, 6, 6]"))
        .unwrap()
        + 1;
    assert!(err.contains(&format!("bad.ron:{line}:")), "line {line}: {err}");
    // A uniform delay is refused for a kernel.
    let mut f = parse(&good);
    f.projections[1].delay_ms = Some(Init::Uniform {
        low: 1.0,
        high: 2.0,
    });
    let err = validate_err(&snnsim::file::to_ron(&f));
    assert!(err.contains("projections[1].delay_ms"), "{err}");
}

#[test]
fn the_conv_example_goes_to_nir_and_back_with_the_same_kernels() {
    let f = parse(&doc_example());
    let nir = snnsim::convert::to_nir(&f).unwrap();
    let kinds: Vec<(String, String)> = nir
        .graph
        .nodes
        .iter()
        .map(|(k, n)| (k.clone(), n.kind.to_string()))
        .collect();
    for (name, kind) in [
        ("image", "Input"),
        ("conv", "Conv2d"),
        ("features", "CubaLIF"),
        ("pool", "AvgPool2d"),
        ("pooled", "CubaLIF"),
    ] {
        assert!(
            kinds.contains(&(name.to_string(), kind.to_string())),
            "{kinds:?}"
        );
    }
    // The neuron parameters take the maps' shapes; the file is valid NIR.
    assert_eq!(nir.graph.nodes["features"].params["tau_mem"].shape, [2, 4, 4]);
    assert_eq!(nir.graph.nodes["image"].params["shape"].ints(), Some(&[1i64, 6, 6][..]));
    let bytes = snnsim::nir::to_bytes(&nir).unwrap();
    let back = snnsim::nir::from_bytes(bytes).unwrap();
    let g = snnsim::convert::from_nir(&back, f.dt_ms, snnsim::convert::NirReset::Zero).unwrap();
    for name in ["conv", "pool"] {
        let a = f.projections.iter().find(|p| p.name.as_deref() == Some(name));
        let b = g.projections.iter().find(|p| p.name.as_deref() == Some(name));
        let (a, b) = (a.unwrap(), b.unwrap_or_else(|| panic!("{name}: {:?}", g.projections)));
        assert_eq!(a.connectivity, b.connectivity, "{name}");
        assert_eq!((&a.pre, &a.post), (&b.pre, &b.post), "{name}");
    }
    assert_eq!(g.projections.len(), 2);
    // And it computes the same spikes.
    let rows = input_rows(60, 36);
    let spikes = |t: &[Vec<PopState>]| -> Vec<Vec<u32>> {
        t.iter()
            .map(|s| s.iter().find(|p| p.0 == "pooled").unwrap().1.clone())
            .collect()
    };
    let (a, b) = (trace(&f, &rows), trace(&g, &rows));
    assert_eq!(spikes(&a), spikes(&b));
    assert!(spikes(&a).iter().map(|s| s.len()).sum::<usize>() > 10);
}

#[test]
fn diff_sees_a_changed_kernel_weight() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.ron"), dir.path().join("b.ron"));
    let text = doc_example();
    std::fs::write(&a, &text).unwrap();
    std::fs::write(&b, text.replace("0.3, 0.1, -0.2,", "0.3, 0.1, -0.25,")).unwrap();
    let same = snnsim(&["diff", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert!(same.status.success(), "{same:?}");
    let o = snnsim(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && out.contains("conv"), "{out}");
}

#[test]
fn inspect_counts_kernel_connections_and_structure_or_rules_on_kernels_are_refused() {
    // `inspect` gives a kernel projection's connections (no stored synapses): the 3 × 3
    // convolution reaches 2 channels × 4 × 4 outputs × 9 inputs, the 2 × 2 pool each of the
    // 32 features once; the same counts as the dense expansion's entries.
    let good = doc_example();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conv.ron");
    std::fs::write(&file, &good).unwrap();
    let o = snnsim(&["inspect", file.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{o:?}");
    let dense = expanded(&parse(&good));
    for (name, n, w) in [("conv", 288, 18), ("pool", 32, 8)] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("`{name}` not listed:\n{out}"));
        assert!(
            line.contains(&format!("nnz {n} (kernel, {w} shared weights)")),
            "`{line}`"
        );
        let p = dense
            .projections
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .unwrap();
        let Connectivity::Dense { weights } = &p.connectivity else {
            panic!("expanded to Dense")
        };
        let entries = weights.iter().flatten().filter(|&&x| x != 0.0).count();
        assert_eq!(entries, n, "{name}: dense entries");
    }
    // A structural policy naming a map a kernel reads or writes: file, line and field, exit 2.
    let end = good.rfind(')').unwrap();
    let text = format!(
        "{}    structure: [(plugin: \"homeostatic\", populations: [\"image\", \"pooled\"], every_ms: 1.0)],\n{}",
        &good[..end],
        &good[end..]
    );
    let err = validate_err(&text);
    let line = text.lines().position(|l| l.contains("structure:")).unwrap() + 1;
    assert!(err.contains(&format!("bad.ron:{line}:")), "line {line}: {err}");
    assert!(err.contains("structure[0].populations[0]"), "{err}");
    assert!(
        err.contains("`image` is a map of the Conv2d projection `conv`"),
        "{err}"
    );
    // A learning rule on a kernel projection: its field, exit 2.
    let text = good.replacen(
        "delay_ms: Constant(0.0),",
        "delay_ms: Constant(0.0),\n            rule: (plugin: \"stdp\"),",
        1,
    );
    assert_ne!(text, good);
    let err = validate_err(&text);
    assert!(err.contains("projections[0].rule"), "{err}");
    assert!(err.contains("shares one kernel over every position"), "{err}");
}
