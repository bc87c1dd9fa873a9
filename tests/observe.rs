//! What a researcher sees: the Prometheus endpoint scraped by a real Prometheus, its errors,
//! `snnsim plot`, the `.npy` files read by numpy, and `--json` progress lines.

use crate::common::{root, run_json, snnsim};
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

/// A plain HTTP/1.0 GET; returns the status code and the body. Written out because two GET
/// requests to loopback need no HTTP client crate.
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
    let mut child = Command::new(crate::common::exe())
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
    let checked = snnsim::models::load(file).expect("valid file");
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
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/foraging-fixed64.ron");
    let hidden = hidden_size(&file);
    let out = dir.path().join("scraped-run");
    let (_run, addr) = start_training(&file, &out);

    // The endpoint itself answers with the seed's names, and the values move with training.
    let (code, body) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(
        body.contains(&format!("snn_neuron_count{{run=\"scraped-run\"}} {hidden}")),
        "{body}"
    );
    assert_eq!(http_get(&addr, "/nothing").unwrap().0, 404);
    let value = |body: &str, name: &str| -> f64 {
        body.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {body}"))
    };
    let t0 = Instant::now();
    let body = loop {
        let (_, body) = http_get(&addr, "/metrics").unwrap();
        if value(&body, "snnsim_episodes_total") >= 32.0 {
            break body;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "training does not move"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let batch = 16.0;
    assert_eq!(value(&body, "snnsim_episodes_total") % batch, 0.0);
    let rate = value(&body, "snn_avg_firing_rate");
    let hz = value(&body, "snnsim_population_rate_hz{population=\"hidden\"");
    let dt_ms = snnsim::models::load(&file).unwrap().file.dt_ms;
    assert!(
        rate > 0.0 && (hz - rate * 1000.0 / dt_ms).abs() < 1e-6 * hz,
        "{rate} {hz}"
    );
    assert!((0.0..=1.0).contains(&value(&body, "snn_sparsity")));
    assert!(value(&body, "snnsim_steps_total") >= value(&body, "snnsim_episodes_total") * 10.0);
    assert_eq!(
        value(&body, "snn_growth_events_total"),
        0.0,
        "growth is off"
    );

    let Some(prometheus) = required("prometheus", "the scrape test") else {
        return;
    };

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

/// CUBA for 200 ms, also recording the weights of `exc->inh`; returns the run directory.
fn cuba_run(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("graphs/cuba.ron")).unwrap();
    let text = text.replace(
        "Spikes(population: \"inh\"),",
        "Spikes(population: \"inh\"),\n        Weights(projection: \"exc->inh\"),",
    );
    assert!(text.contains("Weights(projection"));
    let file = dir.join("cuba.ron");
    std::fs::write(&file, text).unwrap();
    let out = dir.join("cuba-run");
    run_json(&file, &out, &["--duration-ms", "200"]);
    out
}

/// A short foraging run; returns the run directory and its summary.
fn foraging_run(dir: &Path) -> (PathBuf, serde_json::Value) {
    let out = dir.join("foraging-run");
    let s = run_json(
        &root().join("graphs/foraging.ron"),
        &out,
        &["--episodes", "480", "--seed", "2"],
    );
    (out, s)
}

/// Width, height and the fraction of pixels that are not white.
fn png_facts(path: &Path) -> (u32, u32, f64) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{} decodes: {e}", path.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    (w, h, inked as f64 / (w * h) as f64)
}

fn plot(dir: &Path) -> Vec<String> {
    let o = snnsim(&["plot", dir.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "snnsim plot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `snnsim plot` on a CUBA run draws the raster, the rates and the weights (it recorded one
/// projection's weights), and nothing that needs a training run.
#[test]
fn plot_draws_raster_rates_and_weights_of_cuba() {
    let dir = tempfile::tempdir().unwrap();
    let run = cuba_run(dir.path());
    let names = plot(&run);
    let want: Vec<String> = ["raster", "rates", "weights"]
        .iter()
        .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
        .collect();
    let mut want = want;
    want.sort();
    assert_eq!(names, want);
    let p = run.join("plots");
    let (w, h, ink) = png_facts(&p.join("raster.png"));
    assert_eq!((w, h), (1000, 600));
    assert!(ink > 0.01 && ink < 0.5, "raster ink {ink}");
    let (w, h, ink) = png_facts(&p.join("rates.png"));
    assert_eq!((w, h), (1000, 500));
    assert!(ink > 0.01, "rates ink {ink}");
    let svg = std::fs::read_to_string(p.join("rates.svg")).unwrap();
    assert!(svg.contains("time (ms)") && svg.contains("rate (Hz)"));
    assert!(
        svg.contains("\nexc\n") && svg.contains("\ninh\n"),
        "legend names"
    );
    let svg = std::fs::read_to_string(p.join("raster.svg")).unwrap();
    assert!(svg.contains("time (ms)") && svg.contains("exc (3200 neurons)"));
    let synapses = std::fs::read_to_string(run.join("weights.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let svg = std::fs::read_to_string(p.join("weights.svg")).unwrap();
    assert!(
        svg.contains(&format!("({synapses} synapses)")),
        "the weight histogram counts the synapses of weights.csv"
    );
}

/// `snnsim plot` on a foraging run draws the five plots; the population plot counts the
/// run's growth and pruning events.
#[test]
fn plot_draws_five_plots_of_a_foraging_run() {
    let dir = tempfile::tempdir().unwrap();
    let (run, summary) = foraging_run(dir.path());
    let names = plot(&run);
    let mut want: Vec<String> = [
        "learning_curve",
        "population_size",
        "raster",
        "rates",
        "weights",
    ]
    .iter()
    .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
    .collect();
    want.sort();
    assert_eq!(names, want);
    let p = run.join("plots");
    for (name, size) in [
        ("learning_curve", (1000, 700)),
        ("population_size", (1000, 500)),
        ("raster", (1000, 600)),
        ("rates", (1000, 500)),
        ("weights", (900, 400)),
    ] {
        let (w, h, ink) = png_facts(&p.join(format!("{name}.png")));
        assert_eq!((w, h), size, "{name}");
        assert!(ink > 0.01, "{name}: ink {ink}");
    }
    let svg = std::fs::read_to_string(p.join("learning_curve.svg")).unwrap();
    assert!(svg.contains("episode") && svg.contains("food per episode"));
    assert!(svg.contains("moving average (48 episodes)"), "window n/10");
    let svg = std::fs::read_to_string(p.join("population_size.svg")).unwrap();
    let title = format!(
        "({} growths, {} prunings)",
        summary["growth_events"], summary["pruning_events"]
    );
    assert!(svg.contains(&title), "{title}");
    assert!(svg.contains("hidden neurons"));
    let svg = std::fs::read_to_string(p.join("raster.svg")).unwrap();
    let hidden = summary["final_hidden_size"].as_u64().unwrap();
    assert!(svg.contains(&format!("hidden ({hidden} neurons)")));
}

/// `snnsim plot` on a directory that is not a run directory is an input error.
#[test]
fn plot_of_a_directory_without_a_run_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = snnsim(&["plot", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("not a run directory") && !err.contains("panicked"));
    // A broken row names its file and line.
    std::fs::write(dir.path().join("summary.json"), r#"{"episodes": 2}"#).unwrap();
    std::fs::write(
        dir.path().join("metrics.csv"),
        "episode,return,food,length,hidden_size,avg_firing_rate,sparsity,energy,synaptic_events\n\
         0,1.0,1,10,64,0.01,0.5,100,1000\n\
         1,x,1,10,64,0.01,0.5,100,1000\n",
    )
    .unwrap();
    let o = snnsim(&["plot", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("metrics.csv:3: column return is not a number"),
        "{err}"
    );
}

/// The `.npy` files load in numpy with the shapes and values of the CSV files beside them.
#[test]
fn npy_files_load_in_numpy_like_the_csv() {
    let Some(python) = required("python3", "the .npy test") else {
        return;
    };
    let has_numpy = Command::new(&python)
        .args(["-c", "import numpy"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_numpy {
        assert!(
            std::env::var_os("CI").is_none(),
            "numpy is missing; .ci/run installs it"
        );
        eprintln!("skipped: numpy is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cuba = cuba_run(dir.path());
    let (forage, _) = foraging_run(dir.path());
    let script = r#"
import csv, sys
import numpy as np

def check(run, spikes, weights):
    rows = list(csv.DictReader(open(f"{run}/spikes.csv")))
    for pop in spikes:
        a = np.load(f"{run}/spikes_{pop}.npy")
        want = [(float(r["t_ms"]), float(r["neuron"])) for r in rows if r["population"] == pop]
        assert a.dtype == np.float64 and a.ndim == 2 and a.shape == (len(want), 2), (pop, a.shape)
        assert len(want) > 0
        assert np.allclose(a, np.array(want), rtol=0, atol=1e-9), pop
    rows = list(csv.DictReader(open(f"{run}/weights.csv")))
    for proj, fname in weights:
        a = np.load(f"{run}/weights_{fname}.npy")
        want = [(float(r["pre"]), float(r["post"]), float(r["weight"]))
                for r in rows if r["projection"] == proj]
        assert a.shape == (len(want), 3) and len(want) > 0, (proj, a.shape)
        assert (a == np.array(want)).all(), proj
    print(run, "ok")

check(sys.argv[1], ["exc", "inh"], [("exc->inh", "exc_to_inh")])
check(sys.argv[2], ["hidden"], [("input->hidden", "input_to_hidden"),
                                ("hidden->readout", "hidden_to_readout")])
"#;
    let o = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&cuba)
        .arg(&forage)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).matches(" ok").count(), 2);
}

/// `--json` prints one JSON object per line: progress objects with the step growing to the
/// run's length, then the summary as the last line.
#[test]
fn json_prints_progress_objects_then_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = snnsim(&[
        "run",
        "graphs/cuba.ron",
        "--duration-ms",
        "100",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let stdout = String::from_utf8(o.stdout).unwrap();
    let objs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let (summary, progress) = objs.split_last().unwrap();
    assert_eq!(summary["steps"], 1000);
    assert!(summary["state_hash"].is_string());
    assert_eq!(progress.len(), 10);
    let steps: Vec<u64> = progress
        .iter()
        .map(|p| {
            assert_eq!(p["event"], "progress");
            p["step"].as_u64().unwrap()
        })
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(*steps.last().unwrap(), 1000);
    let last = progress.last().unwrap();
    assert_eq!(last["synaptic_events"], summary["synaptic_events"]);
    // --quiet prints nothing on success.
    let o = snnsim(&[
        "run",
        "graphs/cuba.ron",
        "--duration-ms",
        "10",
        "--quiet",
        "--out",
        dir.path().join("q").to_str().unwrap(),
    ]);
    assert!(o.status.success() && o.stdout.is_empty());
}
