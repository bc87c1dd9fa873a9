//! Checkpoints and resume: runs killed with SIGKILL at random moments and resumed finish with
//! the same `state_hash` and the same output files as runs never interrupted; damaged
//! checkpoints are refused with a message and the previous one is used.

use crate::common::{kill_and_resume, resume, root, run_json, snnsim};
use std::path::Path;

/// A small xorshift generator seeded from the clock (printed, so a failure can be replayed
/// with `SNNSIM_KILL_SEED`).
fn kill_rng() -> impl FnMut(u64, u64) -> u64 {
    let seed = std::env::var("SNNSIM_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill moments drawn with SNNSIM_KILL_SEED={seed}");
    let mut x = seed;
    move |lo, hi| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lo + x % (hi - lo)
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn killed_cuba_runs_resume_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/cuba.ron");
    let f = file.to_str().unwrap();
    // 4 s simulated, so that a kill 20-300 ms after the start lands while the run goes on a
    // fast, idle machine too.
    let full = run_json(
        &file,
        &dir.path().join("full"),
        &["--threads", "1", "--duration-ms", "4000"],
    );
    let spikes = read(&dir.path().join("full/spikes.csv"));
    assert!(spikes.lines().count() > 1000, "CUBA must spike");
    let mut draw = kill_rng();
    let mut mid_run = 0;
    for k in 0..3 {
        let out = dir.path().join(format!("killed{k}"));
        let o = out.to_str().unwrap();
        let args = [
            "run",
            f,
            "--out",
            o,
            "--threads",
            "2",
            "--checkpoint-every",
            "500",
            "--duration-ms",
            "4000",
        ];
        let (s, going) = kill_and_resume(&args, &out, &[draw(20, 300)], &[], &["--threads", "2"]);
        mid_run += going;
        assert_eq!(s["state_hash"], full["state_hash"], "kill {k}");
        assert_eq!(s["steps"], full["steps"]);
        assert!(
            read(&out.join("spikes.csv")) == spikes,
            "kill {k}: spikes.csv differs from the uninterrupted run's"
        );
    }
    eprintln!("{mid_run} of 3 kills landed while the run was going");
    assert!(mid_run >= 1, "no kill landed while the run was going");
}

#[test]
fn killed_foraging_runs_resume_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/foraging.ron");
    let f = file.to_str().unwrap();
    // Seed 1 grows seven times (to 512 neurons by episode 224) and prunes a silent neuron at
    // the check of episode 320, so the kills land between edits of both kinds.
    // Every episode's hidden spikes too (`activity.csv`), which checkpoints keep.
    let common = ["--episodes", "320", "--seed", "1", "--record-activity"];
    let mut args = common.to_vec();
    args.extend(["--threads", "1"]);
    let full = run_json(&file, &dir.path().join("full"), &args);
    assert!(
        full["growth_events"].as_u64().unwrap() > 0 && full["pruning_events"].as_u64().unwrap() > 0,
        "the run must grow and prune for the check to cover edits: {full}"
    );
    let metrics = read(&dir.path().join("full/metrics.csv"));
    let edits = read(&dir.path().join("full/edits.csv"));
    let spikes = read(&dir.path().join("full/spikes.csv"));
    let activity = read(&dir.path().join("full/activity.csv"));
    assert!(activity.lines().count() > spikes.lines().count());
    assert!(
        spikes.lines().count() > 1,
        "the last episode's hidden spikes"
    );
    let mut draw = kill_rng();
    for k in 0..3 {
        let out = dir.path().join(format!("killed{k}"));
        let o = out.to_str().unwrap();
        let mut args = vec!["run", f, "--out", o, "--threads", "2", "--no-metrics"];
        args.extend(common);
        args.extend(["--checkpoint-every", "40"]);
        // Killed, resumed and killed again, then resumed to the end.
        let again = [
            "--threads",
            "2",
            "--checkpoint-every",
            "40",
            "--no-metrics",
            "--record-activity",
        ];
        let kills = [draw(5, 400), draw(5, 200)];
        let last = ["--threads", "2", "--record-activity"];
        let (s, _) = kill_and_resume(&args, &out, &kills, &again, &last);
        assert_eq!(s["state_hash"], full["state_hash"], "kill {k}");
        assert_eq!(s["episodes"], 320);
        assert!(
            read(&out.join("metrics.csv")) == metrics,
            "kill {k}: metrics.csv differs"
        );
        assert!(
            read(&out.join("edits.csv")) == edits,
            "kill {k}: edits.csv differs"
        );
        assert!(
            read(&out.join("spikes.csv")) == spikes,
            "kill {k}: spikes.csv differs"
        );
        assert!(
            read(&out.join("activity.csv")) == activity,
            "kill {k}: activity.csv differs"
        );
    }
    // The run directories hold their final networks: equal to each other, grown and pruned
    // against the graph file, with the edit log listed by inspect.
    let killed = |k: usize| dir.path().join(format!("killed{k}"));
    let o = snnsim(&[
        "diff",
        killed(0).to_str().unwrap(),
        killed(1).to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = snnsim(&["diff", f, killed(2).to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("population hidden: size 64 -> "));
    let o = snnsim(&["inspect", killed(2).to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("(episode 320)"), "{text}");
    let n_edits = edits.lines().count() - 1;
    assert!(text.contains(&format!("edits ({n_edits}):")), "{text}");
}

#[test]
fn a_truncated_checkpoint_is_refused_and_the_previous_one_used() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/cuba.ron");
    let full = run_json(&file, &dir.path().join("full"), &["--duration-ms", "100"]);
    let out = dir.path().join("run");
    run_json(
        &file,
        &out,
        &["--duration-ms", "100", "--checkpoint-every", "200"],
    );
    let cks = out.join("checkpoints");
    let mut names: Vec<String> = std::fs::read_dir(&cks)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ckpt-000000000600.snnck",
            "ckpt-000000000800.snnck",
            "ckpt-000000001000.snnck"
        ],
        "the newest three are kept"
    );
    // Truncate the newest, and give the one before another format version.
    let newest = cks.join(&names[2]);
    let bytes = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &bytes[..bytes.len() / 3]).unwrap();
    let middle = cks.join(&names[1]);
    let mut b = std::fs::read(&middle).unwrap();
    b[8] = 99;
    std::fs::write(&middle, &b).unwrap();
    std::fs::remove_file(out.join("spikes.csv")).unwrap();

    let o = snnsim(&["run", "--resume", out.to_str().unwrap(), "--json"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("refusing checkpoint") && stderr.contains("truncated"),
        "{stderr}"
    );
    assert!(stderr.contains("format version 99"), "{stderr}");
    assert!(
        stderr.contains("resuming from") && stderr.contains(&names[0]),
        "{stderr}"
    );
    let s: serde_json::Value =
        serde_json::from_str(String::from_utf8(o.stdout).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(s["state_hash"], full["state_hash"]);
    assert_eq!(
        read(&out.join("spikes.csv")),
        read(&dir.path().join("full/spikes.csv"))
    );
    // The refused files were set aside, not overwritten by the checkpoints written since.
    let aside = std::fs::read(cks.join(format!("{}.refused", names[2]))).unwrap();
    assert_eq!(aside.len(), bytes.len() / 3);
    assert!(cks.join(format!("{}.refused", names[1])).exists());
    assert!(
        cks.join(&names[2]).exists(),
        "the resumed run checkpoints again"
    );

    // inspect names the refusal too, and reads the newest valid checkpoint.
    std::fs::write(cks.join(&names[2]), &bytes[..10]).unwrap();
    let o = snnsim(&["inspect", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("refusing checkpoint"), "{stderr}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("(step 800)"));
}

#[test]
fn resume_without_a_run_directory_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let o = snnsim(&["run", "--resume", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("config.ron"));
    let o = snnsim(&["run", "graphs/cuba.ron", "--checkpoint-every", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A network with a learning rule (its state through the plugin ABI), a stimulus switching on
/// and off, per-synapse delays and every recorder, resumed from an older checkpoint, writes
/// the same files as the run that went through.
#[test]
fn a_plastic_recorded_network_resumes_to_the_same_files() {
    let stdp = crate::common::plugin_file("stdp");
    let text = format!(
        r#"(format_version: 1, dt_ms: 0.5, duration_ms: 300.0, seed: 9,
    populations: [
        (name: "drive", size: 40, model: Poisson(rate_hz: 30.0)),
        (name: "cells", size: 20, model: Lif(tau_m_ms: 10.0, v_rest_mv: 0.0, v_reset_mv: 0.0,
            v_th_mv: 1.0, refractory_ms: 2.0)),
    ],
    projections: [(name: "p", pre: "drive", post: "cells", connectivity: FixedProbability(p: 0.5),
        weight: Uniform(low: 1.0, high: 3.0), delay_ms: Uniform(low: 0.5, high: 3.0),
        rule: (plugin: "stdp", path: "{}", params: (tau_plus_ms: 16.8, tau_minus_ms: 33.7,
            a_plus: 0.01, a_minus: 0.012, w_min: -10.0, w_max: 10.0)))],
    stimuli: [Dc(target: "cells", amplitude_na: 0.5, start_ms: 50.0, stop_ms: 220.0)],
    recorders: [Spikes(population: "cells"), Spikes(population: "drive"), Weights(projection: "p"),
        State(population: "cells", variables: ["v", "i_exc"], neurons: [0, 3], every_ms: 2.0)],
)"#,
        stdp.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plastic.ron");
    std::fs::write(&file, text).unwrap();
    let full = dir.path().join("full");
    let s = run_json(&file, &full, &["--checkpoint-every", "70"]);
    // Keep only the oldest kept checkpoint (step 490 of 490, 560 and the final 600) and drop
    // the outputs.
    let resumed = dir.path().join("resumed");
    std::fs::create_dir_all(resumed.join("checkpoints")).unwrap();
    std::fs::copy(full.join("config.ron"), resumed.join("config.ron")).unwrap();
    let oldest = &snnsim::checkpoint::list(&full)[0];
    assert_eq!(oldest.0, 490);
    std::fs::copy(
        &oldest.1,
        resumed
            .join("checkpoints")
            .join(oldest.1.file_name().unwrap()),
    )
    .unwrap();
    let r = resume(&resumed, &[]);
    assert_eq!(r["state_hash"], s["state_hash"]);
    for f in ["spikes.csv", "weights.csv", "state_cells.csv"] {
        assert!(
            read(&full.join(f)) == read(&resumed.join(f)),
            "{f} differs after resume"
        );
    }
    // The rule changed the weights, so its state mattered.
    let w = read(&full.join("weights.csv"));
    let c = snnsim::models::load(&file).unwrap();
    let net = snnsim::graph::build(&c).expect("builds");
    let before = net
        .projection("p")
        .unwrap()
        .weights
        .iter()
        .collect::<Vec<_>>();
    let after: Vec<f64> = w
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(before.len(), after.len());
    assert!(
        before.iter().zip(&after).any(|(a, b)| a != b),
        "stdp changed nothing"
    );
}

/// A control run (Pendulum: a Gaussian decoder, a critic and the `a2c` rule's optimiser
/// state) resumed from an older checkpoint ends as the run that went through, which ends as a
/// run without checkpoints; `inspect` and `diff` read its checkpoints.
#[test]
fn a_control_run_resumes_from_an_older_checkpoint_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/pendulum.ron");
    let plain = dir.path().join("plain");
    let p = run_json(&file, &plain, &["--episodes", "40"]);
    let full = dir.path().join("full");
    let args = ["--episodes", "40", "--checkpoint-every", "12"];
    let s = run_json(&file, &full, &args);
    assert_eq!(s["state_hash"], p["state_hash"]);
    // Batches of 8: the checkpoints fall on the first batch boundary at or after each
    // multiple of 12, and at the end.
    let kept: Vec<u64> = snnsim::checkpoint::list(&full).iter().map(|c| c.0).collect();
    assert_eq!(kept, vec![16, 24, 40]);
    let resumed = dir.path().join("resumed");
    std::fs::create_dir_all(resumed.join("checkpoints")).unwrap();
    std::fs::copy(full.join("config.ron"), resumed.join("config.ron")).unwrap();
    let oldest = &snnsim::checkpoint::list(&full)[0].1;
    let to = resumed.join("checkpoints").join(oldest.file_name().unwrap());
    std::fs::copy(oldest, to).unwrap();
    let r = resume(&resumed, &[]);
    assert_eq!(r["state_hash"], s["state_hash"]);
    assert_eq!(r["episodes"], 40);
    assert!(
        read(&full.join("metrics.csv")) == read(&resumed.join("metrics.csv")),
        "metrics.csv differs after resume"
    );
    let o = snnsim(&["inspect", resumed.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("(episode 40)") && text.contains("edits (0)"), "{text}");
    let o = snnsim(&["diff", full.to_str().unwrap(), resumed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let o = snnsim(&["diff", file.to_str().unwrap(), resumed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "training changed the weights");
}
