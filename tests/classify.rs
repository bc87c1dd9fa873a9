//! Classification tasks (docs/classification.md): the example of the document trains on 600
//! digits to well above chance, writes the documented files consistently, gives the same
//! results on one and two threads (latency and rate codes), and bad task fields exit 2 naming
//! them.

use crate::common::{root, run_json, run_out};
use std::path::{Path, PathBuf};

/// The ```ron block of docs/classification.md, written to `dir` with `edit` applied.
fn doc_example(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let doc = std::fs::read_to_string(root().join("docs/classification.md")).unwrap();
    let start = doc.find("```ron\n").expect("a ron block") + "```ron\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let f = dir.join(name);
    std::fs::write(&f, edit(doc[start..end].to_string())).unwrap();
    f
}

fn csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// The document's example: 480 training and 120 test digits, 10 epochs. It must classify
/// the test digits far above chance (10 %), and its files must agree with each other.
#[test]
fn doc_example_learns_digits_and_writes_consistent_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let f = doc_example(dir.path(), "digits.ron", |s| s);
    let out = dir.path().join("run");
    let s = run_json(&f, &out, &["--threads", "2"]);
    let acc = s["test_accuracy"].as_f64().unwrap();
    eprintln!(
        "doc example: test accuracy {acc:.4}, {} samples/s",
        s["samples_per_s"]
    );
    assert!(acc >= 0.8, "test accuracy {acc}");
    assert_eq!(s["train_samples"], 480);
    assert_eq!(s["test_samples"], 120);
    assert_eq!(s["epochs"], 10);
    assert_eq!((s["dataset"].as_str(), s["encoder"].as_str()), (Some("digits"), Some("latency")));
    assert_eq!(s["parameters"], 64 * 64 + 64 * 10 + 64 + 10);
    assert!(s["samples_per_s"].as_f64().unwrap() > 0.0);
    assert!(s["hidden_spikes_per_sample"].as_f64().unwrap() > 0.0);
    assert!(s["stopped"].is_null());
    let m = csv(&out.join("metrics.csv"));
    assert_eq!(m[0], ["epoch", "train_loss", "train_accuracy", "test_accuracy"]);
    assert_eq!(m.len(), 11);
    let col = |k: usize| -> Vec<f64> { m[1..].iter().map(|r| r[k].parse().unwrap()).collect() };
    let (loss, train, test) = (col(1), col(2), col(3));
    assert!(loss[9] < loss[0] / 2.0, "the loss falls: {loss:?}");
    assert!(train[9] > train[0], "{train:?}");
    assert_eq!(test[9], acc, "the summary's accuracy is the last row's");
    // predictions.csv gives the same accuracy.
    let p = csv(&out.join("predictions.csv"));
    assert_eq!(p[0], ["sample", "label", "prediction"]);
    assert_eq!(p.len(), 121);
    let right = p[1..].iter().filter(|r| r[1] == r[2]).count();
    assert_eq!(right as f64 / 120.0, acc);
    assert!(out.join("config.ron").exists());
}

/// One and two threads give the same state_hash and byte-identical metrics and predictions,
/// with the latency code and with the rate code (whose spikes are drawn per sample); another
/// seed gives another run.
#[test]
fn classification_runs_are_the_same_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let small = |s: String| {
        s.replace("epochs: 10,", "epochs: 3,")
            .replace("samples: Some(600),", "samples: Some(300),")
            .replace("batch: 32,", "batch: 20,")
    };
    let latency = doc_example(dir.path(), "latency.ron", small);
    let rate = doc_example(dir.path(), "rate.ron", |s| {
        small(s).replace(
            "encoder: Latency(window: 20),",
            "encoder: Rate(max_probability: 0.5),",
        )
    });
    for f in [&latency, &rate] {
        let name = f.file_stem().unwrap().to_str().unwrap();
        let a = run_json(f, &dir.path().join(format!("{name}1")), &["--threads", "1"]);
        let b = run_json(f, &dir.path().join(format!("{name}2")), &["--threads", "2"]);
        assert_eq!(a["state_hash"], b["state_hash"], "{name}");
        assert_eq!(a["test_accuracy"], b["test_accuracy"], "{name}");
        for file in ["metrics.csv", "predictions.csv"] {
            let read = |t: &str| std::fs::read(dir.path().join(format!("{name}{t}")).join(file)).unwrap();
            assert_eq!(read("1"), read("2"), "{name} {file}");
        }
        let c = run_json(f, &dir.path().join(format!("{name}s")), &["--threads", "2", "--seed", "2"]);
        assert_ne!(a["state_hash"], c["state_hash"], "{name}: another seed");
    }
}

/// `--duration-ms` stops training before the minibatch that would pass it; checkpoints are
/// refused.
#[test]
fn duration_ms_caps_a_classification_run() {
    let dir = tempfile::tempdir().unwrap();
    let f = doc_example(dir.path(), "d.ron", |s| s);
    // 25 steps of 1 ms per sample: 3 000 ms are 120 samples, 3 minibatches of 32 (96); the
    // first epoch (480 samples) does not end.
    let s = run_json(&f, &dir.path().join("a"), &["--duration-ms", "3000"]);
    assert_eq!(s["epochs"], 0);
    assert_eq!(s["stopped"]["signal"], "--duration-ms");
    assert_eq!(s["stopped"]["unit"], "epochs");
    assert_eq!((s["stopped"]["at"].as_u64(), s["stopped"]["of"].as_u64()), (Some(0), Some(10)));
    assert_eq!(csv(&dir.path().join("a/metrics.csv")).len(), 1);
    assert!(s["test_accuracy"].is_null(), "no test pass after a cut run");
    assert!(!dir.path().join("a/predictions.csv").exists());
    let o = run_out(&f, &dir.path().join("ck"), &["--checkpoint-every", "10"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("takes no checkpoints"));
    assert!(!dir.path().join("ck").exists());
}

/// Task fields that cannot work exit 2 with the file, line and field, and leave nothing behind.
#[test]
fn bad_classify_fields_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(doc_example(dir.path(), "base.ron", |s| s)).unwrap();
    let cases = [
        ("input: \"pixels\",", "input: \"nope\",", "task.Classify.input"),
        ("input: \"pixels\",", "input: \"hidden\",", "task.Classify.input"),
        ("(name: \"pixels\", size: 64,", "(name: \"pixels\", size: 32,", "task.Classify.input"),
        ("(name: \"out\", size: 10,", "(name: \"out\", size: 9,", "task.Classify.readout"),
        ("hidden: [\"hidden\"],", "hidden: [\"out\"],", "task.Classify.hidden[0]"),
        ("hidden: [\"hidden\"],", "hidden: [],", "populations[1]"),
        ("steps: 25,", "steps: 0,", "task.Classify.steps"),
        ("Latency(window: 20)", "Latency(window: 30)", "task.Classify.encoder.Latency.window"),
        ("Latency(window: 20)", "Rate(max_probability: 1.5)", "task.Classify.encoder.Rate.max_probability"),
        ("epochs: 10,", "epochs: 0,", "task.Classify.epochs"),
        ("batch: 32,", "batch: 0,", "task.Classify.batch"),
        ("lr: 0.002,", "lr: -1.0,", "task.Classify.lr"),
        ("test_fraction: 0.2,", "test_fraction: 1.0,", "task.Classify.test_fraction"),
        ("samples: Some(600),", "samples: Some(2),", "task.Classify.samples"),
        ("dataset: Digits(),", "dataset: Digits(path: \"/nonexistent/d.csv\"),", "task.Classify.dataset.Digits.path"),
        // A hidden population the executor cannot differentiate: exact integration.
        ("model: Lif(integration: SnnTorch(reset: Subtract),", "model: Lif(", "task.Classify.hidden[0]"),
    ];
    for (k, (from, to, field)) in cases.iter().enumerate() {
        assert!(base.contains(from), "{from}");
        let f = dir.path().join(format!("bad{k}.ron"));
        std::fs::write(&f, base.replace(from, to)).unwrap();
        let o = run_out(&f, &dir.path().join(format!("out{k}")), &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(field) && err.contains(&format!("bad{k}.ron:")), "{to}: {err}");
        assert!(!dir.path().join(format!("out{k}")).exists(), "{to}: nothing is left behind");
    }
}

/// The document's example trained with e-prop (`gradient: Eprop()`) learns the digits far above
/// chance, and gives the same bits on one and two threads.
#[test]
fn eprop_learns_digits_the_same_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let f = doc_example(dir.path(), "eprop.ron", |s| {
        s.replace(
            "loss: MeanMembrane,",
            "loss: MeanMembrane,\n        gradient: Eprop(feedback: Symmetric),",
        )
    });
    let a = run_json(&f, &dir.path().join("e1"), &["--threads", "1"]);
    let b = run_json(&f, &dir.path().join("e2"), &["--threads", "2"]);
    let acc = a["test_accuracy"].as_f64().unwrap();
    eprintln!("e-prop doc example: test accuracy {acc:.4}, {} samples/s", b["samples_per_s"]);
    assert_eq!(a["gradient"], "eprop");
    assert!(acc >= 0.8, "test accuracy {acc}");
    assert_eq!(a["state_hash"], b["state_hash"]);
    for file in ["metrics.csv", "predictions.csv"] {
        let read = |t: &str| std::fs::read(dir.path().join(t).join(file)).unwrap();
        assert_eq!(read("e1"), read("e2"), "{file}");
    }
    // The same file with BPTT trains to other weights.
    let g = doc_example(dir.path(), "bptt.ron", |s| s);
    let c = run_json(&g, &dir.path().join("b"), &["--threads", "2"]);
    assert_eq!(c["gradient"], "bptt");
    assert_ne!(a["state_hash"], c["state_hash"]);
}

/// e-prop on a network it cannot handle exits 2 naming `task.Classify.gradient.Eprop`.
#[test]
fn eprop_on_a_zero_reset_readout_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = doc_example(dir.path(), "bad.ron", |s| {
        s.replace("SnnTorch(reset: NoReset)", "SnnTorch(reset: Zero)")
            .replace("loss: MeanMembrane,", "loss: MeanMembrane, gradient: Eprop(),")
    });
    let o = run_out(&f, &dir.path().join("out"), &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.ron:") && err.contains("task.Classify.gradient.Eprop"), "{err}");
    assert!(err.contains("`out`"), "{err}");
    assert!(!dir.path().join("out").exists());
}
