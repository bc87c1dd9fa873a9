//! What a researcher sees: the Prometheus endpoint scraped by a real Prometheus, its errors,
//! `snnsim plot`, the `.npy` files read by numpy, and `--json` progress lines.

use crate::common::{root, snnsim};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills a child process when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `name` on `$PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// A program a test needs: found, or `None` with a notice (a failure under `CI`).
fn required(name: &str, why: &str) -> Option<PathBuf> {
    let found = on_path(name);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is missing ({why}); .ci/run installs it"
        );
        eprintln!("skipped: {name} is not installed ({why})");
    }
    found
}

/// A plain HTTP/1.0 GET; returns the status code and the body.
fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((code, body))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a long training run serving metrics on a free port; returns the process, its
/// metrics address (from its first line) and the run directory's name.
fn start_training(file: &Path, out: &Path) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnsim"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--episodes",
            "100000000",
            "--threads",
            "1",
            "--metrics-port",
            "0",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("snnsim starts");
    // Read the first line, then keep draining standard output so that the run never writes
    // into a closed pipe.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(|l| l.ok()).unwrap_or_default());
        for _ in lines {}
    });
    let first = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    let addr = first
        .trim()
        .strip_prefix("metrics at http://")
        .and_then(|a| a.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("first line names the endpoint: {first:?}"))
        .to_string();
    (Killed(child), addr)
}

/// The hidden population's size in a graph file.
fn hidden_size(file: &Path) -> usize {
    let checked = snnsim::file::load(file).expect("valid file");
    checked
        .file
        .populations
        .iter()
        .find(|p| p.name == "hidden")
        .expect("a hidden population")
        .size
}

/// A training run is scraped by Prometheus (deploy/prometheus.yml pointed at the run's port):
/// its HTTP API returns `snn_neuron_count` equal to the run's hidden size, labelled with the
/// run.
#[test]
fn prometheus_scrapes_a_training_run() {
    let Some(prometheus) = required("prometheus", "the scrape test") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/foraging-fixed64.ron");
    let hidden = hidden_size(&file);
    let out = dir.path().join("scraped-run");
    let (_run, addr) = start_training(&file, &out);

    // The endpoint itself answers with the seed's names.
    let (code, body) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(
        body.contains(&format!("snn_neuron_count{{run=\"scraped-run\"}} {hidden}")),
        "{body}"
    );
    assert_eq!(http_get(&addr, "/nothing").unwrap().0, 404);

    let config = std::fs::read_to_string(root().join("deploy/prometheus.yml")).unwrap();
    assert!(config.contains("127.0.0.1:8000"));
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, config.replace("127.0.0.1:8000", &addr)).unwrap();
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let _prom = Killed(
        Command::new(prometheus)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={prom_addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );

    let t0 = Instant::now();
    let result = loop {
        if let Ok((200, body)) = http_get(&prom_addr, "/api/v1/query?query=snn_neuron_count") {
            let v: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
            assert_eq!(v["status"], "success", "{body}");
            if let Some(r) = v["data"]["result"].as_array().and_then(|a| a.first()) {
                break r.clone();
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "Prometheus returned no sample of snn_neuron_count in 90 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(result["metric"]["run"], "scraped-run", "{result}");
    assert_eq!(result["metric"]["job"], "snnsim", "{result}");
    let value: f64 = result["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(value, hidden as f64);
}

/// A metrics port in use is a clear input error (exit 2), not a panic; `--no-metrics` runs.
#[test]
fn metrics_port_in_use_is_an_input_error() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = snnsim(&[
        "run",
        "graphs/cuba.ron",
        "--duration-ms",
        "10",
        "--metrics-port",
        &port,
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot serve metrics on 127.0.0.1:"), "{err}");
    assert!(err.contains(&port) && !err.contains("panicked"), "{err}");
    assert!(!out.join("summary.json").exists());
    let o = snnsim(&[
        "run",
        "graphs/cuba.ron",
        "--duration-ms",
        "10",
        "--metrics-port",
        &port,
        "--no-metrics",
    ]);
    assert_eq!(o.status.code(), Some(2), "the two flags conflict");
}
