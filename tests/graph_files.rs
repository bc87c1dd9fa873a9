//! Graph files: every file under graphs/ and every example of docs/graph-format.md parses,
//! validates, builds and runs; the deliberately invalid example fails with the message the
//! document shows; files survive a write/read round trip; the command line agrees with the
//! library.

use crate::common::{root, run_json, snnsim};
use snnsim::engine::Engine;
use snnsim::file::{self, Checked, Connectivity, GraphFile, Source};
use std::path::PathBuf;

/// The `*.ron` files under graphs/, sorted.
/// Whether a RON file in graphs/ is an experiment file (`snnsim experiment`), not a graph.
fn is_experiment(p: &std::path::Path) -> bool {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    ron::Options::default()
        .with_default_extension(
            ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES
                | ron::extensions::Extensions::IMPLICIT_SOME,
        )
        .from_str::<file::ExperimentFile>(&text)
        .is_ok()
}

fn graph_files() -> Vec<PathBuf> {
    let dir = root().join("graphs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron") && !is_experiment(p))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for must in ["cuba.ron", "coba.ron"] {
        assert!(
            names.iter().any(|n| n == must),
            "graphs/ lacks {must}: {names:?}"
        );
    }
    files
}

/// A fenced code block of the format document.
#[derive(Debug, Clone)]
struct Block {
    /// The info string after the opening fence (`ron`, `ron,invalid`, `text`, ...).
    tag: String,
    /// The contents, each line ending in a newline.
    text: String,
    /// 1-based line of the opening fence in the document.
    line: usize,
}

impl Block {
    fn label(&self) -> String {
        format!("docs/graph-format.md[line {}]", self.line)
    }
}

/// Every fenced code block of docs/graph-format.md, in order.
fn doc_blocks() -> Vec<Block> {
    let path = root().join("docs/graph-format.md");
    let doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in doc.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    tag: info.trim().to_string(),
                    text: String::new(),
                    line: i + 1,
                })
            }
            (Some(_), Some("")) => blocks.push(open.take().unwrap()),
            (Some(b), _) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block in the document");
    for b in &blocks {
        assert!(
            !b.tag.starts_with("ron") || b.tag == "ron" || b.tag == "ron,invalid",
            "{}: unknown block tag `{}` (a typo would silently skip the block)",
            b.label(),
            b.tag
        );
    }
    blocks
}

/// The ```ron blocks: complete valid files.
fn doc_examples() -> Vec<Block> {
    let examples: Vec<Block> = doc_blocks()
        .into_iter()
        .filter(|b| b.tag == "ron")
        .collect();
    assert!(
        examples.len() >= 6,
        "the document should have at least 6 complete examples, has {}",
        examples.len()
    );
    examples
}

fn load_example(b: &Block) -> Checked {
    Source::from_text(b.label(), b.text.clone())
        .load_with(&snnsim::models::Rules)
        .unwrap_or_else(|e| panic!("example at {} does not validate: {e}", b.label()))
}

/// The one example containing `needle`.
fn example_with(needle: &str) -> Block {
    let found: Vec<Block> = doc_examples()
        .into_iter()
        .filter(|b| b.text.contains(needle))
        .collect();
    assert_eq!(found.len(), 1, "examples containing `{needle}`");
    found.into_iter().next().unwrap()
}

fn projection_name(p: &file::ProjectionSpec) -> String {
    p.name
        .clone()
        .unwrap_or_else(|| format!("{}->{}", p.pre, p.post))
}

#[test]
fn every_graph_file_loads_and_validates() {
    for path in graph_files() {
        let checked =
            snnsim::models::load(&path).unwrap_or_else(|e| panic!("{} is invalid: {e}", path.display()));
        let f = &checked.file;
        assert!(!f.populations.is_empty(), "{}", path.display());
        assert!(
            checked.steps() > 0 || f.task.is_some(),
            "{} runs no steps and has no task",
            path.display()
        );
        let stem = path.file_stem().unwrap().to_string_lossy();
        if stem == "cuba" || stem == "coba" {
            let pops: Vec<(&str, usize)> = f
                .populations
                .iter()
                .map(|p| (p.name.as_str(), p.size))
                .collect();
            assert_eq!(pops, [("exc", 3200), ("inh", 800)], "{stem}");
            assert_eq!(f.projections.len(), 4, "{stem}");
            assert_eq!(f.dt_ms, 0.1, "{stem}");
        }
    }
}

#[test]
fn every_doc_example_validates() {
    let examples = doc_examples();
    for b in &examples {
        let checked = load_example(b);
        assert!(!checked.file.populations.is_empty());
    }
    // The examples the document promises, by their distinctive parts.
    let all: String = examples.iter().map(|b| b.text.as_str()).collect();
    for needle in [
        "Dc(",
        "State(",
        "SpikeTimes(",
        "List(",
        "Poisson(",
        "FixedInDegree(",
        "delay_ms: Uniform(",
        "Dense(",
        "Observation(",
        "AllToAll",
        "KaimingNormal(",
        "CobaLif(",
    ] {
        assert!(all.contains(needle), "no example uses `{needle}`");
    }
}

#[test]
fn doc_invalid_example_fails_with_exit_code_2_and_the_documented_message() {
    let blocks = doc_blocks();
    let mut invalid = 0;
    for (i, b) in blocks.iter().enumerate() {
        if b.tag != "ron,invalid" {
            continue;
        }
        invalid += 1;
        let err = match Source::from_text("invalid.ron", b.text.clone()).load_with(&snnsim::models::Rules) {
            Ok(_) => panic!("the invalid example at {} validates", b.label()),
            Err(e) => e,
        };
        assert_eq!(err.exit_code(), 2, "{}: {err}", b.label());
        // The message is shown in the text block right after the example.
        let shown = blocks
            .get(i + 1)
            .filter(|n| n.tag == "text")
            .unwrap_or_else(|| panic!("{}: no ```text block follows", b.label()));
        let expected = format!("error: {err}");
        assert!(
            shown.text.lines().any(|l| l == expected),
            "{}: the document shows\n{}\nbut snnsim prints\n{expected}",
            b.label(),
            shown.text
        );
    }
    assert!(invalid >= 1, "the document has no ```ron,invalid example");
}

#[test]
fn doc_examples_build_and_run() {
    for b in doc_examples() {
        let checked = load_example(&b);
        let f = &checked.file;
        let mut engine = Engine::from_file(&checked).unwrap();
        engine.run(10).unwrap();
        assert_eq!(engine.step, 10, "{}", b.label());
        let net = &engine.net;
        assert_eq!(net.population_count(), f.populations.len(), "{}", b.label());
        for p in &f.populations {
            let pop = net
                .population(&p.name)
                .unwrap_or_else(|| panic!("{}: no population `{}`", b.label(), p.name));
            assert_eq!(pop.len(), p.size, "{}: `{}`", b.label(), p.name);
            assert!(
                pop.spike_count <= 10 * p.size as u64,
                "{}: `{}` spiked more than once per step",
                b.label(),
                p.name
            );
        }
        assert_eq!(net.projection_count(), f.projections.len(), "{}", b.label());
        let size = |name: &str| f.populations.iter().find(|p| p.name == name).unwrap().size;
        for spec in &f.projections {
            let name = projection_name(spec);
            let proj = net
                .projection(&name)
                .unwrap_or_else(|| panic!("{}: no projection `{name}`", b.label()));
            assert_eq!(proj.receptor, spec.receptor, "{}: `{name}`", b.label());
            let (n_pre, n_post) = (size(&spec.pre), size(&spec.post));
            let autapses = spec.pre == spec.post && !spec.allow_autapses;
            // The synapse counts that the connectivity rules fix exactly.
            let expected = match &spec.connectivity {
                Connectivity::AllToAll => Some(n_pre * n_post - if autapses { n_pre } else { 0 }),
                Connectivity::OneToOne => Some(n_pre),
                Connectivity::FixedInDegree { k } => Some(k * n_post),
                Connectivity::List { pairs } => Some(pairs.len()),
                Connectivity::Dense { weights } => {
                    Some(weights.iter().flatten().filter(|&&w| w != 0.0).count())
                }
                Connectivity::FixedProbability { .. } => None,
                // A kernel stores no synapses: its connections come from the kernel.
                c if c.is_kernel() => Some(0),
                _ => unreachable!("every connectivity is listed"),
            };
            if let Some(n) = expected {
                assert_eq!(proj.nnz(), n, "{}: synapses of `{name}`", b.label());
            }
        }
    }
}

#[test]
fn graph_files_and_doc_examples_survive_a_ron_round_trip() {
    let mut sources: Vec<Source> = graph_files()
        .iter()
        .map(|p| Source::read(p).expect("readable"))
        .collect();
    sources.extend(
        doc_examples()
            .iter()
            .map(|b| Source::from_text(b.label(), b.text.clone())),
    );
    for src in sources {
        let parsed: GraphFile = src
            .parse()
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", src.label));
        let text = file::to_ron(&parsed);
        let written = Source::from_text(format!("{} (written)", src.label), text.clone());
        let reparsed = written
            .parse()
            .unwrap_or_else(|e| panic!("{} written back does not parse: {e}\n{text}", src.label));
        assert_eq!(reparsed, parsed, "{} changes in a round trip", src.label);
        assert_eq!(
            file::to_ron(&reparsed),
            text,
            "{}: to_ron is not stable",
            src.label
        );
        written
            .load_with(&snnsim::models::Rules)
            .unwrap_or_else(|e| panic!("{} written back is invalid: {e}", src.label));
    }
}

#[test]
fn cli_validates_and_inspects_cuba() {
    let o = snnsim(&["validate", "graphs/cuba.ron"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "validate failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("valid (2 populations, 4 projections)"),
        "{stdout}"
    );

    let o = snnsim(&["inspect", "graphs/cuba.ron"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "inspect failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).expect("UTF-8");
    let lines: Vec<&str> = out.lines().collect();
    for (pop, size) in [("exc", 3200), ("inh", 800)] {
        assert!(
            lines.iter().any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.first() == Some(&pop) && l.contains(&format!("size {size:>9}"))
            }),
            "population `{pop}` of size {size} not listed:\n{out}"
        );
    }
    // The network the library builds from the same file, for the exact synapse counts.
    let checked = snnsim::models::load(&root().join("graphs/cuba.ron")).expect("cuba.ron is valid");
    let net = snnsim::graph::build(&checked).expect("builds");
    let size = |n: &str| if n == "exc" { 3200.0 } else { 800.0 };
    let mut listed = 0;
    for (pre, post) in [
        ("exc", "exc"),
        ("exc", "inh"),
        ("inh", "exc"),
        ("inh", "inh"),
    ] {
        let name = format!("{pre}->{post}");
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("projection `{name}` not listed:\n{out}"));
        let nnz: usize = line
            .split("nnz ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no nnz in `{line}`"));
        assert_eq!(nnz, net.projection(&name).expect("built").nnz(), "`{line}`");
        // p = 0.02 of all pairs, within 5 % (many standard deviations).
        let expected = 0.02 * size(pre) * size(post);
        assert!(
            (nnz as f64 - expected).abs() < 0.05 * expected,
            "`{name}`: nnz {nnz}, expected about {expected}"
        );
        assert!(line.contains(&format!("{pre} -> {post}")), "`{line}`");
        assert!(line.contains("delay 0.1 ms"), "`{line}`");
        listed += 1;
    }
    assert_eq!(listed, 4);
    assert!(out.contains("projections (4):"), "{out}");
}

#[test]
fn doc_step_current_example_writes_the_documented_run_directory() {
    let example = example_with("Dc(target: \"cell\"");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file_path = dir.path().join("step_current.ron");
    std::fs::write(&file_path, &example.text).expect("write the example");
    let out = dir.path().join("run");
    let summary = run_json(&file_path, &out, &[]);
    assert_eq!(summary["steps"], 1000);
    assert_eq!(summary["dt_ms"], 0.1);

    // config.ron is the same file with every default written out.
    let config = std::fs::read_to_string(out.join("config.ron")).expect("config.ron");
    let resolved = Source::from_text("config.ron", config.clone())
        .parse()
        .expect("config.ron parses");
    let original = Source::from_text(example.label(), example.text.clone())
        .parse()
        .unwrap();
    assert_eq!(resolved, original);
    for default in [
        "seed: 0",
        "r_mohm: 1.0",
        "tau_syn_exc_ms: 2.0",
        "projections: []",
    ] {
        assert!(config.contains(default), "config.ron lacks `{default}`");
    }

    let summary_file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).expect("summary.json"),
    )
    .expect("summary.json parses");
    assert_eq!(summary_file["state_hash"], summary["state_hash"]);

    // spikes.csv: spikes stamped with the start of the step in which v crossed. The 20 nA
    // step from 10 ms drives v from −70 mV towards −50 mV with τ = 20 ms; it crosses −55 mV
    // at 10 + 20·ln 4 ≈ 37.73 ms, in the step [37.7, 37.8).
    let spikes = std::fs::read_to_string(out.join("spikes.csv")).expect("spikes.csv");
    let mut rows = spikes.lines();
    assert_eq!(rows.next(), Some("t_ms,population,neuron"));
    let times: Vec<f64> = rows
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            assert_eq!(&f[1..], ["cell", "0"], "{r}");
            f[0].parse().expect("a time")
        })
        .collect();
    assert!(!times.is_empty(), "the documented neuron does not spike");
    assert!(
        (times[0] - 37.7).abs() < 1e-9,
        "first spike at {}",
        times[0]
    );
    assert!(
        times.iter().all(|&t| (10.0..90.0).contains(&t)),
        "{times:?}"
    );
    assert_eq!(
        summary["populations"]["cell"]["spikes"],
        times.len(),
        "summary and spikes.csv disagree"
    );

    // state_cell.csv: the requested variables, every 0.5 ms.
    let state = std::fs::read_to_string(out.join("state_cell.csv")).expect("state_cell.csv");
    let mut rows = state.lines();
    assert_eq!(rows.next(), Some("t_ms,neuron,v,i_exc"));
    let rows: Vec<Vec<f64>> = rows
        .map(|r| r.split(',').map(|x| x.parse().expect("a number")).collect())
        .collect();
    assert_eq!(rows.len(), 200, "100 ms sampled every 0.5 ms");
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 4);
        assert!(
            (r[0] - 0.5 * k as f64).abs() < 1e-9,
            "row {k} at t = {}",
            r[0]
        );
        assert_eq!(r[1], 0.0);
    }
    // At rest until the current starts; below threshold at every sample.
    assert!(rows[..20].iter().all(|r| r[2] == -70.0));
    assert!(rows[21][2] > -70.0);
    assert!(rows.iter().all(|r| r[2] <= -55.0));
}

#[test]
fn doc_poisson_example_writes_spikes_sorted_by_time_population_and_neuron() {
    let example = example_with("Poisson(");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file_path = dir.path().join("poisson.ron");
    std::fs::write(&file_path, &example.text).expect("write the example");
    let out = dir.path().join("run");
    let summary = run_json(&file_path, &out, &["--duration-ms", "50"]);
    assert_eq!(summary["steps"], 500);

    let spikes = std::fs::read_to_string(out.join("spikes.csv")).expect("spikes.csv");
    let mut rows = spikes.lines();
    assert_eq!(rows.next(), Some("t_ms,population,neuron"));
    let events: Vec<(f64, String, u32)> = rows
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            assert_eq!(f.len(), 3, "{r}");
            (
                f[0].parse().unwrap(),
                f[1].to_string(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    for w in events.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let ordered = a.0 < b.0 || (a.0 == b.0 && (&a.1, a.2) < (&b.1, b.2));
        assert!(ordered, "{a:?} before {b:?}");
    }
    for pop in ["background", "cells"] {
        let n = events.iter().filter(|e| e.1 == pop).count();
        assert_eq!(summary["populations"][pop]["spikes"], n, "`{pop}`");
    }
    // 200 sources at 20 Hz for 50 ms: 200 spikes expected (Poisson, std ≈ 14).
    let background = events.iter().filter(|e| e.1 == "background").count();
    assert!((120..280).contains(&background), "{background}");
    assert!(events.iter().all(|e| e.0 >= 0.0 && e.0 < 50.0));

    // The overridden duration is what config.ron records.
    let config = std::fs::read_to_string(out.join("config.ron")).expect("config.ron");
    let resolved = Source::from_text("config.ron", config)
        .load_with(&snnsim::models::Rules)
        .expect("valid");
    assert_eq!(resolved.file.duration_ms, 50.0);
    assert_eq!(resolved.file.seed, 7);
}

#[test]
fn doc_dense_example_config_ron_is_the_resolved_file_and_repeats_the_run() {
    let example = example_with("Dense(weights: [\n");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file_path = dir.path().join("dense.ron");
    std::fs::write(&file_path, &example.text).expect("write the example");
    let first = run_json(&file_path, &dir.path().join("first"), &[]);
    assert_eq!(
        first["synapses"], 4,
        "zero entries of a Dense matrix are absent"
    );

    // The projection's name and delay were left out; config.ron writes them.
    let config_path = dir.path().join("first/config.ron");
    let config = std::fs::read_to_string(&config_path).expect("config.ron");
    assert!(config.contains("name: \"drivers->targets\""), "{config}");
    assert!(config.contains("delay_ms: Constant(0.1)"), "{config}");
    let mut original = Source::from_text(example.label(), example.text.clone())
        .parse()
        .unwrap();
    assert_eq!(original.projections[0].name, None);
    file::resolve(&mut original);
    let written = Source::from_text("config.ron", config).parse().unwrap();
    assert_eq!(written, original);

    // Running config.ron repeats the run.
    let again = run_json(&config_path, &dir.path().join("again"), &[]);
    assert_eq!(again["state_hash"], first["state_hash"]);
    assert_eq!(again["populations"], first["populations"]);
    assert_eq!(again["synaptic_events"], first["synaptic_events"]);
}

/// Every experiment file in graphs/ parses and names graph files with a training task.
#[test]
fn experiment_files_name_training_graphs() {
    let dir = root().join("graphs");
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if !(p.extension().is_some_and(|x| x == "ron") && is_experiment(&p)) {
            continue;
        }
        found += 1;
        let exp: file::ExperimentFile = ron::Options::default()
            .with_default_extension(
                ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES
                    | ron::extensions::Extensions::IMPLICIT_SOME,
            )
            .from_str(&std::fs::read_to_string(&p).unwrap())
            .unwrap();
        assert!(!exp.seeds.is_empty());
        for c in &exp.configurations {
            let g = snnsim::models::load(&dir.join(&c.graph)).unwrap();
            assert!(
                g.file.task.is_some(),
                "{} names {} without a task",
                p.display(),
                c.graph
            );
        }
    }
    assert!(found >= 1, "graphs/h0.ron is an experiment file");
}

/// The networks for scaling studies (docs/distributed.md) have NEST's numbers: Brunel's model A
/// (brunel_alpha_nest.py) and hpc_benchmark (11 250 neurons per scale unit, 11 250 synapses in
/// per neuron, 1.5 ms delays, STDP on E→E only).
#[test]
fn the_scaling_networks_have_nests_numbers() {
    let in_degrees = |f: &GraphFile| -> Vec<(String, usize)> {
        f.projections
            .iter()
            .map(|p| match p.connectivity {
                Connectivity::FixedInDegree { k } => (projection_name(p), k),
                ref c => panic!("{}: {c:?} is not a fixed in-degree", projection_name(p)),
            })
            .collect()
    };
    for (file, sizes, k, delay) in [
        ("brunel.ron", [10_000, 2_500], [1_000, 1_000, 250, 250], 1.5),
        ("hpc-benchmark.ron", [9_000, 2_250], [9_000, 9_000, 2_250, 2_250], 1.5),
    ] {
        let checked = snnsim::models::load(&root().join("graphs").join(file)).unwrap();
        let f = &checked.file;
        let got: Vec<usize> = f.populations.iter().map(|p| p.size).collect();
        assert_eq!(got, sizes, "{file}");
        let names = ["exc->exc", "exc->inh", "inh->exc", "inh->inh"];
        let want: Vec<(String, usize)> =
            names.iter().map(|n| n.to_string()).zip(k).collect();
        assert_eq!(in_degrees(f), want, "{file}");
        for p in &f.projections {
            assert_eq!(p.delay_ms, Some(file::Init::Constant(delay)), "{file}");
            let plastic = p.rule.as_ref().map(|r| r.plugin.as_str());
            let want = (file == "hpc-benchmark.ron" && projection_name(p) == "exc->exc")
                .then_some("stdp");
            assert_eq!(plastic, want, "{file}: {}", projection_name(p));
        }
        assert_eq!(f.stimuli.len(), 2, "{file}: a Poisson train per neuron of both populations");
        assert_eq!(f.dt_ms, 0.1);
    }
    let hpc = snnsim::models::load(&root().join("graphs/hpc-benchmark.ron")).unwrap();
    let est = snnsim::graph::estimate::estimate(&hpc, 1);
    assert_eq!(est.neurons, 11_250);
    assert_eq!(est.synapses_expected, 11_250 * 11_250);
}

/// Graph file → NIR → graph file is exact for every shipped graph file NIR can express: the
/// files of graphs/ and graphs/models/, the examples of docs/graph-format.md, and the graph
/// files of the NIR fixtures (tests/reference/nir, converted with `snnsim convert`). Through
/// the command line: `snnsim diff` says equal, the graph file converted back writes the same
/// NIR graph again, bit for bit, edges in any order (so every neuron's decay, gain, threshold and reset came back bit for bit),
/// and a fixture's graph file comes back the same, population for population and projection
/// for projection. Files NIR cannot express (most of graphs/) must be refused, exit 2.
#[test]
fn graph_file_to_nir_and_back_is_exact_for_every_graph_nir_can_express() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let mut sources: Vec<(String, PathBuf)> = Vec::new();
    let mut files = graph_files();
    let models = root().join("graphs/models");
    for e in std::fs::read_dir(&models).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ron") {
            files.push(p);
        }
    }
    for p in files {
        let label = p.strip_prefix(root()).unwrap().display().to_string();
        sources.push((label, p));
    }
    for (i, b) in doc_examples().into_iter().enumerate() {
        let p = path(&format!("doc{i}.ron"));
        std::fs::write(&p, &b.text).unwrap();
        sources.push((b.label(), p));
    }
    for name in ["ff", "rnn", "conv", "v0"] {
        let nir = root().join(format!("tests/reference/nir/{name}.nir"));
        let p = path(&format!("{name}.ron"));
        let o = snnsim(&["convert", &s(&nir), &s(&p)]);
        assert!(o.status.success(), "{name}: {o:?}");
        sources.push((format!("{name}.nir as a graph file"), p));
    }
    let mut exact = Vec::new();
    for (k, (label, a)) in sources.iter().enumerate() {
        let (b, c, d) = (
            path(&format!("{k}.b.nir")),
            path(&format!("{k}.c.ron")),
            path(&format!("{k}.d.nir")),
        );
        let o = snnsim(&["convert", &s(a), &s(&b)]);
        if !o.status.success() {
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{label}: {err}");
            assert!(err.contains("NIR"), "{label}: {err}");
            continue;
        }
        for (x, y) in [(&b, &c), (&c, &d)] {
            let o = snnsim(&["convert", &s(x), &s(y)]);
            assert!(o.status.success(), "{label}: {o:?}");
        }
        let o = snnsim(&["diff", &s(a), &s(&c)]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{label}: {o:?}");
        assert!(
            out.contains("equal: same structure and weights"),
            "{label}: graph file -> NIR -> graph file differs:\n{out}"
        );
        let (nb, nd) = (
            snnsim::nir::read(&b).unwrap(),
            snnsim::nir::read(&d).unwrap(),
        );
        let sorted = |g: &snnsim::nir::Graph| {
            let mut e = g.edges.clone();
            e.sort();
            e
        };
        assert!(
            nb.graph.nodes == nd.graph.nodes
                && sorted(&nb.graph) == sorted(&nd.graph)
                && nb.metadata == nd.metadata,
            "{label}: the graph file read back writes a different NIR graph"
        );
        if label.ends_with("as a graph file") {
            let items = |p: &PathBuf| {
                let f = Source::read(p).unwrap().parse().unwrap();
                let mut pops: Vec<String> =
                    f.populations.iter().map(|x| format!("{x:?}")).collect();
                let mut projs: Vec<String> =
                    f.projections.iter().map(|x| format!("{x:?}")).collect();
                pops.sort();
                projs.sort();
                (pops, projs, f.output, f.dt_ms)
            };
            assert_eq!(items(a), items(&c), "{label}");
        }
        exact.push(label.clone());
    }
    eprintln!("exact round trips: {exact:?}");
    for want in ["ff.nir", "rnn.nir", "conv.nir", "v0.nir"] {
        assert!(
            exact.iter().any(|l| l.starts_with(want)),
            "{want}: not among the exact round trips {exact:?}"
        );
    }
    assert!(
        exact.iter().any(|l| l.starts_with("docs/graph-format.md")),
        "no example of docs/graph-format.md was written to NIR: {exact:?}"
    );
}
