//! Helpers shared by the test modules.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reference data of independent tools (Brian2, snnTorch, Gymnasium), kept in the
/// repository: `tests/reference/` (its README says which tool, version and command made each
/// file; `tests/reference/gen/` regenerates them).
pub fn reference_dir() -> PathBuf {
    root().join("tests/reference")
}

/// A reference JSON file, parsed.
pub fn reference(name: &str) -> serde_json::Value {
    let path = reference_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reference data {} is missing ({e})", path.display()));
    serde_json::from_str(&text).expect("reference JSON parses")
}

/// Runs the snnsim binary with `args`; `snnsim run` without a metrics endpoint unless the arguments ask for one: a training run
/// serves on port 8000 by default, and tests run in parallel.
pub fn snnsim(args: &[&str]) -> Output {
    let quiet_metrics = args.first() == Some(&"run")
        && !args
            .iter()
            .any(|a| a.starts_with("--metrics-port") || *a == "--no-metrics");
    Command::new(env!("CARGO_BIN_EXE_snnsim"))
        .args(args)
        .args(quiet_metrics.then_some("--no-metrics"))
        .current_dir(root())
        .output()
        .expect("snnsim starts")
}

/// Runs `snnsim run FILE --json --out DIR ARGS...`, whatever its exit.
pub fn run_out(file: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--json",
        "--no-metrics",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    snnsim(&args)
}

/// The summary: the last line of a `--json` run's standard output.
pub fn summary_of(o: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&o.stdout);
    let last = stdout.lines().last().expect("some output");
    serde_json::from_str(last).expect("the last line is the summary JSON")
}

/// Runs `snnsim run FILE --json --out DIR ARGS...` and returns the parsed summary.
pub fn run_json(file: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let o = run_out(file, out, extra);
    assert!(
        o.status.success(),
        "snnsim run {} {extra:?} failed: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    summary_of(&o)
}
