//! `snnsim bench`: the table and the JSON report, peers that are not installed reported as
//! such (not as failures), unknown networks refused as bad input. Only the shape of the
//! output is checked here: speed is measured by the benchmark itself, never in tests.

use crate::common::root;
use std::process::Command;

fn bench(args: &[&str], python: &str) -> std::process::Output {
    Command::new(crate::common::exe())
        .arg("bench")
        .args(args)
        .current_dir(root())
        .env("SNNSIM_PEER_PYTHON", python)
        .output()
        .expect("snnsim starts")
}

/// `snnsim bench ARGS` (with `--json`), which must succeed: its output and its report (the
/// last line).
fn bench_json(args: &[&str], python: &str) -> (String, serde_json::Value) {
    let o = bench(args, python);
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report =
        serde_json::from_str(stdout.lines().last().expect("output")).expect("JSON last line");
    (stdout, report)
}

#[test]
fn bench_reports_a_row_per_network_and_thread_count_and_missing_peers() {
    let (stdout, report) = bench_json(
        &[
            "--networks",
            "cuba",
            "--reps",
            "1",
            "--threads",
            "1,2",
            "--peers",
            "--json",
        ],
        "/nonexistent/python",
    );
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{report}");
    for (row, threads) in rows.iter().zip([1, 2]) {
        assert_eq!(row["network"], "cuba");
        assert_eq!(row["threads"], threads);
        assert_eq!(row["sim_time_s"], 10.0);
        assert!(row["sim_wall_s"].as_f64().unwrap() > 0.0);
        let run = &row["runs"][0];
        assert!(run["synaptic_events"].as_u64().unwrap() > 1_000_000);
        assert!(run["peak_rss_mb"].as_f64().is_some_and(|m| m > 1.0));
        let peers = row["peers"].as_array().expect("peers");
        let names: Vec<&str> = peers.iter().map(|p| p["peer"].as_str().unwrap()).collect();
        assert_eq!(names, ["brian2", "nest"]);
        for p in peers {
            assert_eq!(p["status"], "not installed", "{p}");
            assert!(p["sim_wall_s"].is_null());
        }
    }
    // The same network on 1 and 2 threads gives the same state.
    assert_eq!(
        rows[0]["runs"][0]["state_hash"],
        rows[1]["runs"][0]["state_hash"]
    );
    let table = stdout
        .lines()
        .find(|l| l.starts_with("network"))
        .expect("a header");
    assert!(
        table.contains("brian2 s") && table.contains("nest s"),
        "{table}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("cuba ") && l.contains("not installed")),
        "{stdout}"
    );
}

#[test]
fn bench_refuses_an_unknown_network_as_bad_input() {
    let o = bench(&["--networks", "cuba,nope", "--reps", "1"], "python3");
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("unknown network `nope`") && stderr.contains("cuba-400k"),
        "{stderr}"
    );
}

/// The training rows: decisions per second of a real training run, the same state on every
/// repetition, and the PyTorch implementation reported as not installed when its Python cannot
/// run it.
#[test]
fn bench_training_rows_report_decisions_per_second_and_a_missing_torch() {
    let o = Command::new(env!("CARGO_BIN_EXE_snnsim"))
        .args([
            "bench",
            "--networks",
            "foraging-absolute-fixed64",
            "--reps",
            "2",
            "--peers",
            "--json",
        ])
        .current_dir(root())
        .env("SNNSIM_PEER_PYTHON", "/nonexistent/python")
        .env("SNNSIM_TORCH_PYTHON", "/nonexistent/python")
        .output()
        .expect("snnsim starts");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("foraging-absolute-fixed64"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("output")).expect("JSON last line");
    assert_eq!(report["rows"].as_array().map(Vec::len), Some(0));
    let rows = report["training"].as_array().expect("training rows");
    assert_eq!(rows.len(), 1, "{report}");
    let row = &rows[0];
    assert_eq!(row["network"], "foraging-absolute-fixed64");
    assert_eq!(row["episodes"], 2000);
    assert_eq!(row["same_hash"], true);
    let runs = row["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    for r in runs {
        // At most 100 decisions per episode, at least one.
        let (d, e) = (
            r["decisions_per_s"].as_f64().unwrap(),
            r["episodes_per_s"].as_f64().unwrap(),
        );
        assert!(d > 0.0 && d >= e && d <= 100.0 * e * 1.000001, "{r}");
    }
    assert_eq!(row["torch"]["status"], "not installed", "{row}");
    assert!(row["ratio"].is_null());
}

/// The spiking-versus-dense row: a spiking and a dense (`--dense`) run of the shortened
/// CartPole Rainbow file, each network's counts of its architecture (the dense one 6 272
/// multiply-accumulates per decision, the spiking one the input layer's 2 048 and its spikes'
/// accumulates), the energy ratio of the two, and a table section.
#[test]
fn bench_dense_row_reports_the_spiking_and_the_dense_network() {
    let (stdout, report) = bench_json(
        &["--networks", "cartpole-rainbow-dense", "--reps", "1", "--json"],
        "/nonexistent/python",
    );
    let rows = report["dense"].as_array().expect("dense rows");
    assert_eq!(rows.len(), 1, "{report}");
    let row = &rows[0];
    assert_eq!(row["network"], "cartpole-rainbow-dense");
    assert_eq!(row["env_steps"], 10000);
    let (s, d) = (&row["spiking"], &row["dense"]);
    assert_eq!(s["macs"], 2048.0);
    assert_eq!((&d["macs"], &d["accumulates"]), (&6272.0.into(), &0.0.into()));
    assert!(s["accumulates"].as_f64().unwrap() > 0.0);
    for side in [s, d] {
        assert!(side["eval_return_mean"].as_f64().is_some(), "{side}");
        assert!(side["decisions_per_s"].as_f64().unwrap() > 0.0);
        assert_eq!(side["silent_fraction_per_step"].as_object().unwrap().len(), 2);
    }
    let ratio = d["energy_pj_estimate"].as_f64().unwrap() / s["energy_pj_estimate"].as_f64().unwrap();
    assert!((row["energy_ratio"].as_f64().unwrap() - ratio).abs() < 1e-12);
    assert!(
        stdout.lines().any(|l| l.starts_with("spiking vs dense")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("cartpole-rainbow-dense") && l.contains("energy dense / spiking")),
        "{stdout}"
    );
}
