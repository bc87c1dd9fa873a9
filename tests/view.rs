//! The live view's server without a browser (docs/monitoring.md, "The live view"): the event
//! stream of `snnsim run --view` and `snnsim view`, read over plain TCP. Counters in the
//! stream equal the run's own files; several viewers are served at once; a viewer that never
//! reads does not hold the run; the drawing stream keeps to its stated bound; the page and its
//! scripts come from the binary; the server refuses anything but GET. The page itself is
//! tested in chromium by tests/view_browser.py (.ci/view).

use crate::common::{exe, root};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child when dropped (a failing test leaves no server behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts snnsim with `args`; returns it and the `host:port` its `view at` line names.
fn start(args: &[&str]) -> (Killed, String) {
    let mut child = Command::new(exe())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("snnsim starts");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("a `view at` line before the end of standard error")
            .unwrap();
        if let Some(rest) = line.strip_prefix("view at http://") {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    // Drain the rest so that the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Killed(child), addr)
}

/// An HTTP request; the status and body.
fn http(addr: &str, method: &str, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let status = std::str::from_utf8(&buf[9..12]).unwrap().parse().unwrap();
    (status, buf[head_end..].to_vec())
}

/// One viewer: the events received until the server closed the stream, and the bytes and
/// seconds that took.
struct Received {
    events: Vec<(String, Value)>,
    bytes: usize,
    secs: f64,
}

fn subscribe(addr: &str) -> std::thread::JoinHandle<Received> {
    let addr = addr.to_string();
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        // HTTP/1.0: the stream's body is unframed and the server closes the connection at
        // the end (an HTTP/1.1 client gets it chunked; tests/view_browser.py reads that).
        write!(s, "GET /events HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
        let t0 = Instant::now();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let secs = t0.elapsed().as_secs_f64();
        let body = &text[text.find("\r\n\r\n").expect("a response head") + 4..];
        assert!(text.starts_with("HTTP/1.1 200"), "{}", &text[..80.min(text.len())]);
        assert!(text.contains("Content-Type: text/event-stream"));
        let events = body
            .split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let name = e.lines().next().unwrap().strip_prefix("event: ").unwrap();
                let data = e.lines().nth(1).unwrap().strip_prefix("data: ").unwrap();
                (name.to_string(), serde_json::from_str(data).unwrap())
            })
            .collect();
        Received {
            events,
            bytes: body.len(),
            secs,
        }
    })
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn wait(child: &mut Killed, limit: Duration) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            return st;
        }
        assert!(t0.elapsed() < limit, "the run did not end within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn live_stream_carries_the_exact_counts_to_several_viewers_and_a_stalled_one_holds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cuba");
    let cuba = root().join("graphs/cuba.ron");
    let (mut child, addr) = start(&[
        "run",
        cuba.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--threads",
        "1",
        "--duration-ms",
        "20000",
        "--view",
        "--view-port",
        "0",
    ]);
    // A viewer that asks for the stream and never reads it.
    let mut stalled = TcpStream::connect(&addr).unwrap();
    write!(stalled, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let viewers: Vec<_> = (0..2).map(|_| subscribe(&addr)).collect();
    let status = wait(&mut child, Duration::from_secs(120));
    assert!(status.success());
    let s = summary(&out);
    for v in viewers {
        let r = v.join().unwrap();
        let (first, _) = &r.events[0];
        assert_eq!(first, "scene");
        let (last, end) = r.events.last().unwrap();
        assert_eq!(last, "end", "the stream ends with the run's totals");
        for (pop, p) in s["populations"].as_object().unwrap() {
            assert_eq!(end["totals"]["spikes"][pop], p["spikes"], "{pop}");
            assert_eq!(end["totals"]["sizes"][pop], p["size"], "{pop}");
        }
        assert_eq!(end["totals"]["step"], s["steps"]);
        let frames: Vec<&Value> = r
            .events
            .iter()
            .filter(|(n, _)| n == "frame")
            .map(|(_, v)| v)
            .collect();
        assert!(frames.len() >= 3, "{} frames", frames.len());
        // Counters only grow, and each frame's sample keeps to the bound.
        let mut prev = (0u64, 0u64);
        for f in &frames {
            let step = f["totals"]["step"].as_u64().unwrap();
            let exc = f["totals"]["spikes"]["exc"].as_u64().unwrap();
            assert!(step >= prev.0 && exc >= prev.1);
            prev = (step, exc);
            let sampled: usize = f["sample"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_array().unwrap().len() / 2)
                .sum();
            let seen: u64 = f["seen"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            assert!(sampled <= snnsim::observe::view::frame::SAMPLE);
            assert_eq!(sampled as u64, seen.min(snnsim::observe::view::frame::SAMPLE as u64));
        }
        assert!(prev.1 <= s["populations"]["exc"]["spikes"].as_u64().unwrap());
        // The stated bound on the drawing stream plus the counters (~1 kB a frame), over the
        // time the viewer was connected (at least one frame interval).
        let bound = snnsim::observe::view::frame::BYTES_PER_SECOND as f64
            + snnsim::observe::view::frame::FPS as f64 * 1000.0;
        let rate = r.bytes as f64 / r.secs.max(0.05);
        assert!(rate <= bound * 1.05, "{rate:.0} B/s over {:.2} s", r.secs);
    }
    drop(stalled);
}

#[test]
fn replay_serves_the_page_and_plays_the_files_totals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cuba");
    let o = crate::common::run_out(
        &root().join("graphs/cuba.ron"),
        &out,
        &["--quiet", "--duration-ms", "500"],
    );
    assert!(o.status.success());
    let s = summary(&out);
    let (_child, addr) = start(&[
        "view",
        out.to_str().unwrap(),
        "--view-port",
        "0",
        "--speed",
        "2",
    ]);
    // The page and three.js come from the binary.
    let (st, page) = http(&addr, "GET", "/");
    assert_eq!(st, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("\"three\": \"/vendor/three.module.min.js\""), "{page}");
    for asset in [
        "/view.js",
        "/vendor/three.module.min.js",
        "/vendor/three.core.min.js",
        "/vendor/OrbitControls.js",
        "/vendor/LICENSE-three",
    ] {
        let (st, body) = http(&addr, "GET", asset);
        assert_eq!(st, 200, "{asset}");
        assert!(body.len() > 1000, "{asset}");
    }
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert_eq!(http(&addr, "GET", "/nothing").0, 404);
    // Read-only.
    assert_eq!(http(&addr, "POST", "/events").0, 405);
    let r = subscribe(&addr).join().unwrap();
    let (last, end) = r.events.last().unwrap();
    assert_eq!(last, "end");
    assert_eq!(r.events[0].1["replay"], true);
    for (pop, p) in s["populations"].as_object().unwrap() {
        assert_eq!(end["totals"]["spikes"][pop], p["spikes"], "{pop}");
    }
    // 500 ms at twice real time: about a quarter of a second, in about five frames.
    assert!(r.secs >= 0.2 && r.secs < 5.0, "{:.2} s", r.secs);
    let frames = r.events.iter().filter(|(n, _)| n == "frame").count();
    assert!((4..=8).contains(&frames), "{frames} frames");
    // A viewer after the end gets the scene, the last frame and the end at once.
    let late = subscribe(&addr).join().unwrap();
    let names: Vec<&str> = late.events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["scene", "frame", "end"]);
    assert_eq!(late.events[2].1, *end);
}

#[test]
fn a_growing_run_streams_its_edits_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grow");
    let file = root().join("graphs/foraging-aggressive-growth.ron");
    let (mut child, addr) = start(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--no-metrics",
        "--threads",
        "1",
        "--episodes",
        "600",
        "--view",
        "--view-port",
        "0",
    ]);
    let r = subscribe(&addr).join().unwrap();
    assert!(wait(&mut child, Duration::from_secs(120)).success());
    let s = summary(&out);
    let end = &r.events.last().unwrap().1["totals"];
    assert_eq!(end["episodes"], s["episodes"]);
    assert_eq!(end["growth_events"], s["growth_events"]);
    assert_eq!(end["pruning_events"], s["pruning_events"]);
    assert_eq!(end["hidden_size"], s["final_hidden_size"]);
    assert!(s["growth_events"].as_u64().unwrap() > 0);
    let edits = std::fs::read_to_string(out.join("edits.csv")).unwrap();
    assert_eq!(end["edits"].as_u64().unwrap() as usize, edits.lines().count() - 1);
    // Every edit the viewer saw names as many ids as neurons it added or removed, and the
    // hidden ids it was sent follow them.
    let mut sizes = Vec::new();
    for (name, v) in &r.events {
        if name != "frame" {
            continue;
        }
        for e in v["edits"].as_array().unwrap() {
            if e["kind"] == "grow" || e["kind"] == "prune" {
                assert_eq!(e["ids"].as_array().unwrap().len() as u64, e["count"]);
            }
        }
        if let Some(ids) = v["ids"].as_object() {
            sizes.push(ids["hidden"].as_array().unwrap().len());
        }
    }
    sizes.dedup();
    assert!(sizes.len() > 1, "the hidden size changed in the stream: {sizes:?}");
}

#[test]
fn recorded_activity_replays_growth_with_its_spikes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grow");
    let o = crate::common::run_out(
        &root().join("graphs/foraging-aggressive-growth.ron"),
        &out,
        &["--quiet", "--episodes", "320", "--record-activity"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&out);
    // Every episode is recorded (the run's hidden spikes stay under the 2 M bound), each with
    // the spike count its metrics.csv row implies (energy = spikes × hidden size); the last is
    // spikes.csv's.
    let activity = std::fs::read_to_string(out.join("activity.csv")).unwrap();
    let spikes = std::fs::read_to_string(out.join("spikes.csv")).unwrap();
    let mut per_episode = std::collections::BTreeMap::<u64, u64>::new();
    for l in activity.lines().skip(1) {
        *per_episode
            .entry(l.split(',').next().unwrap().parse().unwrap())
            .or_default() += 1;
    }
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let expected: Vec<u64> = metrics
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            (c[7] / c[4]).round() as u64
        })
        .collect();
    assert_eq!(expected.len(), 320);
    assert!(expected.iter().sum::<u64>() < 2_000_000);
    let silent = expected.iter().filter(|&&n| n == 0).count();
    assert_eq!(per_episode.len() + silent, 320, "{per_episode:?}");
    for (e, n) in expected.iter().enumerate() {
        assert_eq!(per_episode.get(&(e as u64)).copied().unwrap_or(0), *n, "episode {e}");
    }
    let last: Vec<&str> = activity
        .lines()
        .filter(|l| l.starts_with("319,"))
        .map(|l| l.split_once(',').unwrap().1)
        .collect();
    let recorded: Vec<String> = spikes
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            format!("{},{}", c[0], c[2])
        })
        .collect();
    assert_eq!(last, recorded);
    // The replay draws recorded episodes as it goes, and ends with the run's totals.
    let (_child, addr) = start(&["view", out.to_str().unwrap(), "--view-port", "0", "--speed", "5"]);
    let r = subscribe(&addr).join().unwrap();
    let end = &r.events.last().unwrap().1["totals"];
    assert_eq!(end["episodes"], s["episodes"]);
    assert_eq!(end["growth_events"], s["growth_events"]);
    assert_eq!(end["pruning_events"], s["pruning_events"]);
    assert_eq!(end["hidden_size"], s["final_hidden_size"]);
    let drawn = r
        .events
        .iter()
        .filter(|(n, v)| n == "frame" && v["sample"]["hidden"].is_array())
        .count();
    assert!(drawn >= 10, "{drawn} frames drew spikes");
    // A viewer arriving after the end gets the hidden cloud as it ended.
    let late = subscribe(&addr).join().unwrap();
    let (name, scene) = &late.events[0];
    assert_eq!(name, "scene");
    let hidden = &scene["populations"][1];
    assert_eq!(hidden["size"], s["final_hidden_size"]);
    assert_eq!(hidden["ids"].as_array().unwrap().len() as u64, s["final_hidden_size"].as_u64().unwrap());
    // A network run has nothing to record this way.
    let o = crate::common::snnsim(&[
        "run",
        root().join("graphs/cuba.ron").to_str().unwrap(),
        "--out",
        dir.path().join("c").to_str().unwrap(),
        "--record-activity",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--record-activity applies"));
}
