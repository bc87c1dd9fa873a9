//! Stopping a run with SIGINT or SIGTERM: the run finishes its step (or batch of episodes),
//! checkpoints, writes its outputs with a `stopped` key in summary.json and exits 130 / 143;
//! `--resume` then ends with the uninterrupted run's `state_hash`. A second signal exits at
//! once and leaves only whole files. The library's own stop flag does the same without signals.

use crate::common::{root, run_json, snnsim};
use snnsim::app::{self, Outcome, RunOptions, Stop};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `snnsim run`, its standard output and error collected by threads.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

/// Starts `snnsim run ARGS --no-metrics`.
fn start(args: &[&str]) -> Running {
    let mut child = Command::new(crate::common::exe())
        .args(args)
        .arg("--no-metrics")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("snnsim starts");
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    Running {
        child,
        stdout: rx,
        stderr,
    }
}

impl Running {
    /// Waits (up to a minute) until the run has written its first checkpoint into `out`.
    fn wait_for_checkpoint(&mut self, out: &Path) {
        let t0 = Instant::now();
        while snnsim::checkpoint::list(out).is_empty() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the run ended before its first checkpoint: {status}");
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no checkpoint after a minute"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) with the pid of our own child and a valid signal number.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits (up to a minute) for the exit: code, standard output lines, standard error, and
    /// how long after the call it exited.
    fn finish(mut self) -> (Option<i32>, Vec<String>, String, Duration) {
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("the run did not exit within a minute of the signal");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let took = t0.elapsed();
        let stderr = self.stderr.join().unwrap();
        let lines: Vec<String> = self.stdout.iter().collect();
        (status.code(), lines, stderr, took)
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn summary_file(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&read(&dir.join("summary.json"))).expect("summary.json parses")
}

/// `snnsim run --resume DIR --json`: the summary.
fn resume(dir: &Path) -> serde_json::Value {
    let o = snnsim(&[
        "run",
        "--resume",
        dir.to_str().unwrap(),
        "--json",
        "--threads",
        "2",
    ]);
    assert!(
        o.status.success(),
        "resume failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// The checks every stopped run passes: exit code, the stderr line, summary.json (on disk and
/// as stdout's last line) with `stopped`, and the checkpoint it names. Returns the summary.
fn check_stopped(
    (code, lines, stderr, _): &(Option<i32>, Vec<String>, String, Duration),
    out: &Path,
    signal: &str,
    expect_code: i32,
    unit: &str,
) -> serde_json::Value {
    assert_eq!(*code, Some(expect_code), "exit code; stderr: {stderr}");
    assert!(
        stderr.contains(&format!("stopped by {signal} after "))
            && stderr.contains(&format!("snnsim run --resume {}", out.display())),
        "the stop line names the position and how to resume: {stderr}"
    );
    let s = summary_file(out);
    let last: serde_json::Value =
        serde_json::from_str(lines.last().expect("stdout lines")).expect("the summary line");
    assert_eq!(s, last, "summary.json and the --json summary line agree");
    let st = &s["stopped"];
    assert_eq!(st["signal"], signal, "{s}");
    assert_eq!(st["unit"], unit);
    let at = st["at"].as_u64().unwrap();
    assert!(at < st["of"].as_u64().unwrap(), "stopped before the end: {st}");
    let ck = PathBuf::from(st["checkpoint"].as_str().expect("a checkpoint was written"));
    assert_eq!(
        snnsim::checkpoint::list(out).last().map(|(p, f)| (*p, f)),
        Some((at, &ck)),
        "the newest checkpoint is the stop's"
    );
    let bytes = std::fs::read(&ck).unwrap();
    let parsed = snnsim::checkpoint::Checkpoint::from_bytes(&bytes).expect("checkpoint reads");
    assert_eq!(parsed.position, at);
    s
}

#[test]
fn sigint_stops_a_simulation_which_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/cuba.ron");
    let long = ["--duration-ms", "3000", "--threads", "2"];
    let full = run_json(&file, &dir.path().join("full"), &long);
    let out = dir.path().join("stopped");
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--checkpoint-every",
        "1000",
    ];
    args.extend(long);
    let mut run = start(&args);
    run.wait_for_checkpoint(&out);
    run.signal(libc::SIGINT);
    let s = check_stopped(&run.finish(), &out, "SIGINT", 130, "steps");
    let at = s["stopped"]["at"].as_u64().unwrap();
    assert_eq!(s["steps"], at, "the summary counts the steps done");
    assert!(at >= 1000, "the first checkpoint came first: {at}");
    // The outputs of what ran: spikes up to the stop.
    let spikes = read(&out.join("spikes.csv"));
    let t_stop = at as f64 * 0.1;
    assert!(spikes.lines().count() > 100);
    assert!(spikes
        .lines()
        .skip(1)
        .all(|l| l.split(',').next().unwrap().parse::<f64>().unwrap() < t_stop));
    let r = resume(&out);
    assert_eq!(r["state_hash"], full["state_hash"]);
    assert!(r["stopped"].is_null(), "the resumed run went to the end");
    assert!(
        read(&out.join("spikes.csv")) == read(&dir.path().join("full/spikes.csv")),
        "spikes.csv differs from the uninterrupted run's"
    );
}

#[test]
fn sigterm_stops_training_which_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/foraging.ron");
    let common = ["--episodes", "480", "--seed", "3", "--threads", "2"];
    let full = run_json(&file, &dir.path().join("full"), &common);
    let out = dir.path().join("stopped");
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--checkpoint-every",
        "32",
    ];
    args.extend(common);
    let mut run = start(&args);
    run.wait_for_checkpoint(&out);
    run.signal(libc::SIGTERM);
    let s = check_stopped(&run.finish(), &out, "SIGTERM", 143, "episodes");
    let at = s["stopped"]["at"].as_u64().unwrap();
    assert_eq!(s["episodes"], at);
    assert_eq!(at % 16, 0, "a training run stops between batches: {at}");
    assert_eq!(read(&out.join("metrics.csv")).lines().count() as u64, at + 1);
    for f in ["edits.csv", "weights.csv", "spikes.csv"] {
        assert!(out.join(f).exists(), "{f} written at the stop");
    }
    let r = resume(&out);
    assert_eq!(r["state_hash"], full["state_hash"]);
    assert_eq!(r["episodes"], 480);
    for f in ["metrics.csv", "edits.csv", "spikes.csv"] {
        assert!(
            read(&out.join(f)) == read(&dir.path().join("full").join(f)),
            "{f} differs from the uninterrupted run's"
        );
    }
}

/// Every file a run directory holds (temporary `.name.tmp` files aside) reads as what it is.
fn every_file_parses(out: &Path) {
    let mut n = 0;
    for dir in [out.to_path_buf(), out.join("checkpoints")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() || name.starts_with('.') {
                continue;
            }
            n += 1;
            if name.ends_with(".snnck") {
                let b = std::fs::read(&path).unwrap();
                snnsim::checkpoint::Checkpoint::from_bytes(&b)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            } else if name == "config.ron" {
                snnsim::models::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            } else if name.ends_with(".json") {
                serde_json::from_str::<serde_json::Value>(&read(&path))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            } else if name.ends_with(".csv") {
                let text = read(&path);
                let cols = text.lines().next().unwrap().split(',').count();
                assert!(text.ends_with('\n'), "{name} is cut");
                assert!(text.lines().all(|l| l.split(',').count() == cols), "{name}");
            } else if name.ends_with(".npy") {
                let b = std::fs::read(&path).unwrap();
                npy_reads(&b).unwrap_or_else(|e| panic!("{name}: {e}"));
            } else {
                panic!("unexpected file {name}");
            }
        }
    }
    assert!(n >= 2, "config.ron and a checkpoint at least");
}

/// A .npy file's header and data length agree.
fn npy_reads(b: &[u8]) -> Result<(), String> {
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err("no npy magic".into());
    }
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(b.get(10..10 + hl).ok_or("short header")?)
        .map_err(|e| e.to_string())?;
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or("no shape")?;
    let count: usize = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<usize>().map_err(|e| e.to_string()))
        .product::<Result<usize, String>>()?;
    let item = if header.contains("<f8") || header.contains("<i8") || header.contains("<u8") {
        8
    } else if header.contains("<f4") || header.contains("<u4") || header.contains("<i4") {
        4
    } else {
        return Err(format!("unknown dtype in {header}"));
    };
    if b.len() - 10 - hl != count * item {
        return Err(format!("{} data bytes for shape ({shape})", b.len() - 10 - hl));
    }
    Ok(())
}

#[test]
fn a_second_signal_exits_at_once_leaving_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/cuba.ron");
    let out = dir.path().join("twice");
    let mut run = start(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--duration-ms",
        "100000",
        "--checkpoint-every",
        "200",
        "--threads",
        "2",
    ]);
    run.wait_for_checkpoint(&out);
    // Two different signals, so that the kernel cannot merge them into one.
    run.signal(libc::SIGINT);
    run.signal(libc::SIGTERM);
    let (code, _, stderr, took) = run.finish();
    assert!(
        code == Some(130) || code == Some(143),
        "exit {code:?}: {stderr}"
    );
    assert!(
        !stderr.contains("stopped by"),
        "the second signal ended the run before it wrote its outputs: {stderr}"
    );
    assert!(took < Duration::from_secs(5), "exited after {took:?}");
    every_file_parses(&out);
}

/// The library installs no handler: a program stops a run through `RunOptions::stop`.
#[test]
fn the_library_stop_flag_stops_simulation_training_and_control() {
    let dir = tempfile::tempdir().unwrap();
    let stop = Stop::new();
    stop.request();
    for (name, unit) in [
        ("cuba.ron", "steps"),
        ("foraging.ron", "episodes"),
        ("cartpole.ron", "episodes"),
    ] {
        let out = dir.path().join(name);
        let opts = RunOptions {
            file: root().join("graphs").join(name),
            out: Some(out.clone()),
            threads: Some(1),
            stop: stop.clone(),
            ..RunOptions::default()
        };
        let outcome = app::run_file(&opts, &mut |_| {}).unwrap();
        let st = outcome.stopped().expect("stopped").clone();
        assert_eq!((st.signal.as_str(), st.unit.as_str()), ("request", unit));
        assert_eq!(st.at, 0, "{name}: stopped before the first step");
        assert!(st.checkpoint.is_none(), "checkpointing is off");
        let s = summary_file(&out);
        assert_eq!(s["stopped"]["at"], 0, "{name}");
        if let Outcome::Simulation(sim) = &outcome {
            assert_eq!(sim.steps, 0);
        }
    }
    // A run nobody stops has no `stopped` key.
    let out = dir.path().join("short");
    let opts = RunOptions {
        file: root().join("graphs/cuba.ron"),
        out: Some(out.clone()),
        duration_ms: Some(5.0),
        threads: Some(1),
        ..RunOptions::default()
    };
    let outcome = app::run_file(&opts, &mut |_| {}).unwrap();
    assert!(outcome.stopped().is_none());
    assert!(summary_file(&out).get("stopped").is_none());
}
