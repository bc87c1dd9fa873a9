//! `snnsim bench`: the benchmark networks of docs/performance.md on snnsim and, with
//! `--peers`, on Brian2 (cpp_standalone) and NEST, side by side on the same machine.
//!
//! Every repetition is a fresh process: snnsim runs as `snnsim run FILE --json` (this same
//! binary), whose summary gives the simulation-phase wall time, the build time, the synaptic
//! events and the peak resident memory (`VmHWM`); the peers run the scripts under
//! `benches/peers/` with the Python named by `$SNNSIM_PEER_PYTHON` (else `../peer-venv` beside
//! the repository, else `python3`). A peer that is not installed is reported as such, not as a
//! failure. Figures are medians over the repetitions; ratios are peer time / snnsim time
//! (how many times faster snnsim is) and snnsim memory / peer memory.
//!
//! The training rows (`foraging-absolute-fixed64`, `-fixed512`) train the foraging agent for
//! the file's 2 000 episodes and compare decisions per second (`decisions_per_s` of the
//! training summary: episodes end early once all food is eaten, so episodes per second is not
//! the measure) with `benches/peers/foraging_torch.py --neurons plain`, the same network and
//! task in plain PyTorch, run with `$SNNSIM_TORCH_PYTHON` (else `../torch-venv` beside the
//! repository, else the peer Python). The two alternate repetition by repetition, so that both
//! see the same load.
//!
//! The spiking-versus-dense row (`cartpole-rainbow-dense`, [`DENSE`]) trains
//! graphs/cartpole-rainbow.ron on a short budget (10 000 environment steps, ε over 5 000; a
//! copy of the file with those two values changed) twice per repetition, spiking and with
//! `--dense` (ReLU units, docs/rainbow.md), alternating, and reports for both the greedy
//! return, environment steps and greedy decisions per second (medians), the silent fraction per
//! hidden population, the synaptic operations and the energy estimate per decision, and the
//! ratios.

use crate::error::{Error, Result};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A benchmark network: a graph file under `graphs/` and the peers' equivalent.
#[derive(Debug, Clone, Copy)]
pub struct BenchNetwork {
    /// Name on the command line.
    pub name: &'static str,
    /// Graph file, relative to the repository root.
    pub file: &'static str,
    /// Simulated time (s).
    pub sim_time_s: f64,
    /// The peers' `--model`.
    pub model: &'static str,
    /// The peers' `--scale` (N = 4 000 × scale, in-degree 80).
    pub scale: u32,
}

/// The networks `snnsim bench` knows, in table order.
pub const NETWORKS: [BenchNetwork; 5] = [
    BenchNetwork {
        name: "cuba",
        file: "graphs/cuba.ron",
        sim_time_s: 10.0,
        model: "cuba",
        scale: 1,
    },
    BenchNetwork {
        name: "coba",
        file: "graphs/coba.ron",
        sim_time_s: 10.0,
        model: "coba",
        scale: 1,
    },
    BenchNetwork {
        name: "cobahh",
        file: "graphs/cobahh.ron",
        sim_time_s: 1.0,
        model: "cobahh",
        scale: 1,
    },
    BenchNetwork {
        name: "cuba-40k",
        file: "graphs/cuba-40k.ron",
        sim_time_s: 1.0,
        model: "cuba",
        scale: 10,
    },
    BenchNetwork {
        name: "cuba-400k",
        file: "graphs/cuba-400k.ron",
        sim_time_s: 1.0,
        model: "cuba",
        scale: 100,
    },
];

/// A training benchmark: a graph file with an agent task, and the hidden size the peer
/// script is given.
#[derive(Debug, Clone, Copy)]
pub struct TrainNetwork {
    /// Name on the command line.
    pub name: &'static str,
    /// Graph file, relative to the repository root.
    pub file: &'static str,
    /// Hidden neurons (the peer's `--hidden`).
    pub hidden: usize,
    /// Episodes (the file's; the peer's `--episodes`).
    pub episodes: u64,
}

/// The training benchmarks, in table order.
pub const TRAINING: [TrainNetwork; 2] = [
    TrainNetwork {
        name: "foraging-absolute-fixed64",
        file: "graphs/foraging-absolute-fixed64.ron",
        hidden: 64,
        episodes: 2000,
    },
    TrainNetwork {
        name: "foraging-absolute-fixed512",
        file: "graphs/foraging-absolute-fixed512.ron",
        hidden: 512,
        episodes: 2000,
    },
];

/// The spiking-versus-dense row: its name, the graph file it shortens, and the edits that
/// shorten it (text replacements).
#[derive(Debug, Clone, Copy)]
pub struct DenseNetwork {
    /// Name on the command line.
    pub name: &'static str,
    /// Graph file, relative to the repository root.
    pub file: &'static str,
    /// Text replacements that set the short budget.
    pub edits: &'static [(&'static str, &'static str)],
    /// Environment steps of the short budget.
    pub env_steps: u64,
}

/// The spiking-versus-dense row.
pub const DENSE: DenseNetwork = DenseNetwork {
    name: "cartpole-rainbow-dense",
    file: "graphs/cartpole-rainbow.ron",
    edits: &[
        ("env_steps: 30000", "env_steps: 10000"),
        ("steps: 8000)", "steps: 5000)"),
    ],
    env_steps: 10000,
};

/// The networks run when `--networks` is not given.
pub const DEFAULT_NETWORKS: [&str; 5] = [
    "cuba",
    "coba",
    "cuba-400k",
    "foraging-absolute-fixed64",
    "foraging-absolute-fixed512",
];

/// Options of `snnsim bench`.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Network names (see [`NETWORKS`]).
    pub networks: Vec<String>,
    /// Also run Brian2 and NEST.
    pub peers: bool,
    /// Repetitions (fresh processes) per measurement.
    pub reps: usize,
    /// snnsim thread counts, one table row each.
    pub threads: Vec<usize>,
    /// Repository root (holding `graphs/` and `benches/peers/`); default: the current
    /// directory if it has `graphs/`, else the source tree this binary was built from.
    pub root: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            networks: DEFAULT_NETWORKS.iter().map(|s| s.to_string()).collect(),
            peers: false,
            reps: 3,
            threads: vec![1],
            root: None,
        }
    }
}

/// One snnsim run.
#[derive(Debug, Clone, Serialize)]
pub struct SnnsimRun {
    /// Simulation-phase wall time (s).
    pub sim_wall_s: f64,
    /// Network construction wall time (s).
    pub build_wall_s: f64,
    /// Synaptic events delivered.
    pub synaptic_events: u64,
    /// Spikes emitted.
    pub spikes: u64,
    /// Peak resident memory of the process (MB).
    pub peak_rss_mb: Option<f64>,
    /// `state_hash` of the run.
    pub state_hash: String,
}

/// One peer's figures for a network.
#[derive(Debug, Clone, Serialize)]
pub struct PeerResult {
    /// `brian2` or `nest`.
    pub peer: String,
    /// `ok`, `not installed`, `skipped` or `failed`.
    pub status: String,
    /// Why it is not `ok`, or what to know about the figures.
    pub note: Option<String>,
    /// Median simulation-phase wall time for the network's simulated time (s).
    pub sim_wall_s: Option<f64>,
    /// Median peak resident memory (MB) of what ran the simulation.
    pub peak_rss_mb: Option<f64>,
    /// Median synaptic events.
    pub synaptic_events: Option<u64>,
    /// The repetitions' simulation-phase wall times (s), as measured.
    pub reps_s: Vec<f64>,
}

/// A row of the table: one network on one thread count.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// Network name.
    pub network: String,
    /// snnsim worker threads.
    pub threads: usize,
    /// Simulated time (s).
    pub sim_time_s: f64,
    /// Median simulation-phase wall time (s).
    pub sim_wall_s: f64,
    /// Simulated time / median wall time.
    pub speed_factor: f64,
    /// Synaptic events per second of wall time.
    pub events_per_s: f64,
    /// Median build time (s).
    pub build_wall_s: f64,
    /// Median peak resident memory (MB).
    pub peak_rss_mb: Option<f64>,
    /// Whether every repetition gave the same `state_hash` (and so the same spikes).
    pub same_hash: bool,
    /// Every repetition.
    pub runs: Vec<SnnsimRun>,
    /// The peers, each measured once per network (their own thread count is 1).
    pub peers: Vec<PeerResult>,
}

/// The machine a benchmark ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model (/proc/cpuinfo).
    pub cpu: String,
    /// Logical CPUs.
    pub nproc: usize,
    /// 1-minute load average when the benchmark started.
    pub load_start: Option<f64>,
    /// 1-minute load average when it ended.
    pub load_end: Option<f64>,
    /// The Python that ran the peers.
    pub peer_python: Option<String>,
}

/// One training run of snnsim.
#[derive(Debug, Clone, Serialize)]
pub struct TrainRun {
    /// Wall time of the training loop (s).
    pub sim_wall_s: f64,
    /// Decisions per second of the training loop.
    pub decisions_per_s: f64,
    /// Episodes per second of the training loop.
    pub episodes_per_s: f64,
    /// Peak resident memory of the process (MB).
    pub peak_rss_mb: Option<f64>,
    /// `state_hash` at the end.
    pub state_hash: String,
}

/// The PyTorch implementation's figures for a training row.
#[derive(Debug, Clone, Serialize)]
pub struct TorchResult {
    /// `ok`, `not installed` or `failed`.
    pub status: String,
    /// Why it is not `ok`.
    pub note: Option<String>,
    /// Median decisions per second.
    pub decisions_per_s: Option<f64>,
    /// The repetitions' decisions per second, as measured.
    pub reps: Vec<f64>,
    /// torch's version.
    pub torch: Option<String>,
    /// The Python that ran it.
    pub python: String,
}

/// A training row: one agent on one thread count.
#[derive(Debug, Clone, Serialize)]
pub struct TrainRow {
    /// Network name.
    pub network: String,
    /// snnsim worker threads.
    pub threads: usize,
    /// Episodes trained.
    pub episodes: u64,
    /// Median decisions per second.
    pub decisions_per_s: f64,
    /// Median episodes per second.
    pub episodes_per_s: f64,
    /// Whether every repetition gave the same `state_hash`.
    pub same_hash: bool,
    /// Every repetition.
    pub runs: Vec<TrainRun>,
    /// The PyTorch implementation (`--neurons plain`, one thread), when `--peers`.
    pub torch: Option<TorchResult>,
    /// snnsim's median decisions per second / the PyTorch implementation's.
    pub ratio: Option<f64>,
}

/// What `snnsim bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The machine.
    pub machine: Machine,
    /// The float type of snnsim's neuron state and weights in this build: `f64`, or `f32`
    /// with the `f32` feature (Brian2 and NEST run f64).
    pub precision: &'static str,
    /// Repetitions per measurement.
    pub reps: usize,
    /// One row per network and thread count.
    pub rows: Vec<BenchRow>,
    /// One row per training network and thread count.
    pub training: Vec<TrainRow>,
    /// The spiking-versus-dense row, per thread count (when asked for).
    pub dense: Vec<DenseRow>,
}

/// One network's side of the spiking-versus-dense row (medians over the repetitions for the
/// speeds; the rest is the same on every repetition).
#[derive(Debug, Clone, Serialize)]
pub struct DenseSide {
    /// `eval_return_mean`: the greedy episodes after training.
    pub eval_return_mean: Option<f64>,
    /// Environment steps per second of the training loop (median).
    pub env_steps_per_s: f64,
    /// Greedy decisions per second of the evaluation (median).
    pub decisions_per_s: Option<f64>,
    /// Per hidden population, the fraction of its units silent per step.
    pub silent_fraction_per_step: serde_json::Value,
    /// Accumulates per decision.
    pub accumulates: Option<f64>,
    /// Multiply-accumulates per decision.
    pub macs: Option<f64>,
    /// `energy_pj_estimate`: pJ per decision.
    pub energy_pj_estimate: Option<f64>,
    /// Whether every repetition gave the same `state_hash`.
    pub same_hash: bool,
    /// Every repetition's summary.
    pub runs: Vec<serde_json::Value>,
}

/// The spiking-versus-dense row on one thread count.
#[derive(Debug, Clone, Serialize)]
pub struct DenseRow {
    /// Row name.
    pub network: String,
    /// snnsim worker threads.
    pub threads: usize,
    /// Environment steps trained.
    pub env_steps: u64,
    /// The spiking Q-network.
    pub spiking: DenseSide,
    /// The same architecture with ReLU units.
    pub dense: DenseSide,
    /// Dense energy per decision / spiking energy per decision.
    pub energy_ratio: Option<f64>,
    /// Spiking greedy decisions per second / dense.
    pub decisions_ratio: Option<f64>,
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

fn median_opt(xs: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = xs.flatten().collect();
    (!v.is_empty()).then(|| median(&v))
}

/// The repository root: `opts.root`, else the current directory if it has `graphs/`, else the
/// source tree this binary was built from.
fn root(opts: &BenchOptions) -> PathBuf {
    if let Some(r) = &opts.root {
        return r.clone();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if cwd.join("graphs").is_dir() {
        cwd
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }
}

/// The Python for the peer scripts: `$SNNSIM_PEER_PYTHON`, else `<root>/../peer-venv/bin/python`
/// if it exists, else `python3`.
pub fn peer_python(root: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("SNNSIM_PEER_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root.join("../peer-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

/// The machine's CPU model, core count and load.
fn machine(python: Option<&Path>) -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    Machine {
        cpu,
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_start: load_average(),
        load_end: None,
        peer_python: python.map(|p| p.display().to_string()),
    }
}

/// The 1-minute load average (/proc/loadavg).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A child's exit status and standard output; `None` when it ran past `limit` (then killed).
fn run_child(mut cmd: Command, limit: Duration) -> std::io::Result<Option<(i32, String, String)>> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(status.map(|s| (s.code().unwrap_or(-1), stdout, stderr)))
}

/// The last few lines of a text, for error messages.
fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Runs `snnsim run FILE ARGS... --threads N --json --out TMP` in a fresh process (the
/// run directory is removed afterwards) and returns its summary, the last line of its output.
fn snnsim_summary(
    root: &Path,
    name: &str,
    file: &str,
    threads: usize,
    args: &[String],
) -> Result<serde_json::Value> {
    let exe = std::env::current_exe().map_err(|e| Error::Run(format!("own executable: {e}")))?;
    let out = std::env::temp_dir().join(format!(
        "snnsim-bench-{}-{name}-{threads}-{}",
        std::process::id(),
        nanos()
    ));
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg(root.join(file))
        .arg("--threads")
        .arg(threads.to_string())
        .args(args)
        .arg("--json")
        .arg("--out")
        .arg(&out);
    let res = run_child(cmd, Duration::from_secs(3600));
    let _ = std::fs::remove_dir_all(&out);
    let (code, stdout, stderr) = res
        .map_err(|e| Error::Run(format!("cannot start snnsim run: {e}")))?
        .ok_or_else(|| Error::Run(format!("snnsim run {file} ran past an hour")))?;
    if code != 0 {
        return Err(Error::Run(format!(
            "snnsim run {file} failed (exit {code}): {}",
            tail(&stderr, 5)
        )));
    }
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last)
        .map_err(|e| Error::Run(format!("snnsim run printed no summary ({e}): {last}")))
}

/// Runs `snnsim run` on a network in a fresh process.
fn snnsim_once(root: &Path, net: &BenchNetwork, threads: usize) -> Result<SnnsimRun> {
    let v = snnsim_summary(
        root,
        net.name,
        net.file,
        threads,
        &[
            "--duration-ms".to_string(),
            (net.sim_time_s * 1000.0).to_string(),
        ],
    )?;
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let spikes = v["populations"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(|p| p["spikes"].as_u64()).sum());
    Ok(SnnsimRun {
        sim_wall_s: f("sim_wall_s"),
        build_wall_s: f("build_wall_s"),
        synaptic_events: v["synaptic_events"].as_u64().unwrap_or(0),
        spikes,
        peak_rss_mb: v["peak_rss_mb"].as_f64(),
        state_hash: v["state_hash"].as_str().unwrap_or("").to_string(),
    })
}

/// Nanoseconds since the epoch, for unique temporary directory names.
fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// One peer's JSON lines: `Ok(lines)`, or the status and note to report.
fn peer_lines(
    python: &Path,
    script: &Path,
    args: &[String],
    limit: Duration,
) -> std::result::Result<Vec<serde_json::Value>, (String, String)> {
    let mut cmd = Command::new(python);
    cmd.arg(script).args(args);
    let res = match run_child(cmd, limit) {
        Err(e) => {
            return Err((
                "not installed".into(),
                format!("cannot run {}: {e}", python.display()),
            ))
        }
        Ok(None) => return Err(("failed".into(), format!("ran past {} s", limit.as_secs()))),
        Ok(Some(r)) => r,
    };
    let (code, stdout, stderr) = res;
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.is_object())
        .collect();
    if let Some(e) = lines.iter().find_map(|v| v["error"].as_str()) {
        let status = if code == 3 { "not installed" } else { "failed" };
        return Err((status.into(), e.to_string()));
    }
    if code != 0 || lines.is_empty() {
        return Err((
            "failed".into(),
            format!("exit {code}: {}", tail(&stderr, 3)),
        ));
    }
    Ok(lines)
}

fn peer_result(peer: &str, lines: &[serde_json::Value], scale_time: f64) -> PeerResult {
    let t: Vec<f64> = lines.iter().filter_map(|v| v["t_sim"].as_f64()).collect();
    let scaled: Vec<f64> = t.iter().map(|x| x * scale_time).collect();
    PeerResult {
        peer: peer.to_string(),
        status: "ok".into(),
        note: None,
        sim_wall_s: (!t.is_empty()).then(|| median(&scaled)),
        peak_rss_mb: median_opt(lines.iter().map(|v| v["peak_mb"].as_f64())),
        synaptic_events: median_opt(
            lines
                .iter()
                .map(|v| v["syn_events"].as_f64().map(|e| e * scale_time)),
        )
        .map(|e| e as u64),
        reps_s: t,
    }
}

fn not_ok(peer: &str, status: &str, note: String) -> PeerResult {
    PeerResult {
        peer: peer.to_string(),
        status: status.to_string(),
        note: Some(note),
        sim_wall_s: None,
        peak_rss_mb: None,
        synaptic_events: None,
        reps_s: Vec::new(),
    }
}

/// Brian2 cpp_standalone, one thread: the project is compiled once and its binary run `reps`
/// times (each a fresh process).
fn brian2(python: &Path, root: &Path, net: &BenchNetwork, reps: usize) -> PeerResult {
    let script = root.join("benches/peers/brian2_bench.py");
    let args = vec![
        "--model".into(),
        net.model.into(),
        "--scale".into(),
        net.scale.to_string(),
        "--T".into(),
        net.sim_time_s.to_string(),
        "--reps".into(),
        reps.to_string(),
    ];
    match peer_lines(python, &script, &args, Duration::from_secs(3600)) {
        Ok(lines) => peer_result("brian2", &lines, 1.0),
        Err((status, note)) => not_ok("brian2", &status, note),
    }
}

/// NEST, one thread, one fresh process per repetition. Not run where it needs more memory
/// than a benchmark machine has (CUBA-400k, ≈ 16 GB); COBA (GSL RKF45, ≈ 17 s per simulated
/// second) is run for 1 s and scaled to the network's simulated time. COBAHH has no NEST
/// script (skipped, with the reason).
fn nest(python: &Path, root: &Path, net: &BenchNetwork, reps: usize) -> PeerResult {
    if net.model == "cobahh" {
        return not_ok(
            "nest",
            "skipped",
            "not run: benches/peers/nest_bench.py has no COBAHH network".into(),
        );
    }
    if net.scale >= 100 {
        return not_ok(
            "nest",
            "skipped",
            "not run: NEST needs about 16 GB for 400 000 neurons × 80 synapses".into(),
        );
    }
    let t = if net.model == "coba" {
        net.sim_time_s.min(1.0)
    } else {
        net.sim_time_s
    };
    let script = root.join("benches/peers/nest_bench.py");
    let args = vec![
        "--model".into(),
        net.model.into(),
        "--scale".into(),
        net.scale.to_string(),
        "--T".into(),
        t.to_string(),
    ];
    let mut lines = Vec::new();
    for _ in 0..reps {
        match peer_lines(python, &script, &args, Duration::from_secs(3600)) {
            Ok(mut l) => lines.append(&mut l),
            Err((status, note)) => return not_ok("nest", &status, note),
        }
    }
    let mut r = peer_result("nest", &lines, net.sim_time_s / t);
    if t < net.sim_time_s {
        r.note = Some(format!(
            "ran {t} s of simulated time; times scaled ×{}",
            net.sim_time_s / t
        ));
    }
    r
}

/// The Python for the PyTorch peer: `$SNNSIM_TORCH_PYTHON`, else
/// `<root>/../torch-venv/bin/python` if it exists, else [`peer_python`].
pub fn torch_python(root: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("SNNSIM_TORCH_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root.join("../torch-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    peer_python(root)
}

/// Trains a training network with `snnsim run` in a fresh process.
fn snnsim_train_once(root: &Path, net: &TrainNetwork, threads: usize) -> Result<TrainRun> {
    let v = snnsim_summary(
        root,
        net.name,
        net.file,
        threads,
        &["--episodes".to_string(), net.episodes.to_string()],
    )?;
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    Ok(TrainRun {
        sim_wall_s: f("sim_wall_s"),
        decisions_per_s: f("decisions_per_s"),
        episodes_per_s: f("episodes_per_s"),
        peak_rss_mb: v["peak_rss_mb"].as_f64(),
        state_hash: v["state_hash"].as_str().unwrap_or("").to_string(),
    })
}

/// One run of the PyTorch implementation: its decisions per second and torch's version, or
/// the status and note to report.
fn torch_once(
    python: &Path,
    root: &Path,
    net: &TrainNetwork,
) -> std::result::Result<(f64, Option<String>), (String, String)> {
    let script = root.join("benches/peers/foraging_torch.py");
    let args: Vec<String> = [
        "--hidden",
        &net.hidden.to_string(),
        "--episodes",
        &net.episodes.to_string(),
        "--batch",
        "16",
        "--seed",
        "1",
        "--threads",
        "1",
        "--neurons",
        "plain",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let lines = peer_lines(python, &script, &args, Duration::from_secs(3600))?;
    let v = lines.last().expect("peer_lines returns at least one line");
    match v["decisions_per_s"].as_f64() {
        Some(d) => Ok((d, v["torch"].as_str().map(String::from))),
        None => Err(("failed".into(), format!("no decisions_per_s in {v}"))),
    }
}

/// The training rows: per network and thread count, `reps` snnsim runs, each followed by a
/// run of the PyTorch implementation when `torch` is given (on the first thread count only).
fn training_rows(
    root: &Path,
    nets: &[TrainNetwork],
    opts: &BenchOptions,
    torch: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<TrainRow>> {
    let mut rows = Vec::new();
    for net in nets {
        for (k, &threads) in opts.threads.iter().enumerate() {
            let mut runs = Vec::new();
            let mut peer = torch.filter(|_| k == 0).map(|py| TorchResult {
                status: "ok".into(),
                note: None,
                decisions_per_s: None,
                reps: Vec::new(),
                torch: None,
                python: py.display().to_string(),
            });
            for rep in 0..opts.reps {
                progress(&format!(
                    "{}: snnsim, {threads} thread(s), repetition {}/{}",
                    net.name,
                    rep + 1,
                    opts.reps
                ));
                runs.push(snnsim_train_once(root, net, threads)?);
                if let (Some(py), Some(p)) = (torch, peer.as_mut()) {
                    if p.status != "ok" {
                        continue;
                    }
                    progress(&format!(
                        "{}: pytorch, repetition {}/{}",
                        net.name,
                        rep + 1,
                        opts.reps
                    ));
                    match torch_once(py, root, net) {
                        Ok((d, version)) => {
                            p.reps.push(d);
                            p.torch = version;
                        }
                        Err((status, note)) => {
                            p.status = status;
                            p.note = Some(note);
                            p.reps.clear();
                        }
                    }
                }
            }
            if let Some(p) = peer.as_mut() {
                p.decisions_per_s = (!p.reps.is_empty()).then(|| median(&p.reps));
            }
            let dps = median(&runs.iter().map(|r| r.decisions_per_s).collect::<Vec<_>>());
            rows.push(TrainRow {
                network: net.name.to_string(),
                threads,
                episodes: net.episodes,
                decisions_per_s: dps,
                episodes_per_s: median(&runs.iter().map(|r| r.episodes_per_s).collect::<Vec<_>>()),
                same_hash: runs.iter().all(|r| r.state_hash == runs[0].state_hash),
                runs,
                ratio: peer
                    .as_ref()
                    .and_then(|p| p.decisions_per_s)
                    .map(|t| dps / t),
                torch: peer,
            });
        }
    }
    Ok(rows)
}

/// The spiking-versus-dense rows: per thread count, `reps` repetitions of a spiking and a
/// dense run (fresh processes, alternating) of the shortened file.
fn dense_rows(
    root: &Path,
    net: &DenseNetwork,
    opts: &BenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<DenseRow>> {
    let mut text = std::fs::read_to_string(root.join(net.file))
        .map_err(|e| Error::io(root.join(net.file), e))?;
    for (from, to) in net.edits {
        if !text.contains(from) {
            return Err(Error::Run(format!(
                "{}: no `{from}` to shorten for the {} row",
                net.file, net.name
            )));
        }
        text = text.replacen(from, to, 1);
    }
    let dir = std::env::temp_dir().join(format!("snnsim-bench-{}-{}", std::process::id(), nanos()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let file_name = format!("{}.ron", net.name);
    let file = dir.join(&file_name);
    let written = std::fs::write(&file, text).map_err(|e| Error::io(&file, e));
    let rows = written.and_then(|()| {
        let mut rows = Vec::new();
        for &threads in &opts.threads {
            let mut runs: [Vec<serde_json::Value>; 2] = [Vec::new(), Vec::new()];
            for rep in 0..opts.reps {
                for (k, kind) in ["spiking", "dense"].into_iter().enumerate() {
                    progress(&format!(
                        "{}: {kind}, {threads} thread(s), repetition {}/{}",
                        net.name,
                        rep + 1,
                        opts.reps
                    ));
                    let args: Vec<String> = match kind {
                        "dense" => vec!["--dense".into(), "--no-metrics".into()],
                        _ => vec!["--no-metrics".into()],
                    };
                    let name = format!("{}-{kind}", net.name);
                    runs[k].push(snnsim_summary(&dir, &name, &file_name, threads, &args)?);
                }
            }
            let [spiking, dense] = runs.map(dense_side);
            let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
            rows.push(DenseRow {
                network: net.name.to_string(),
                threads,
                env_steps: net.env_steps,
                energy_ratio: ratio(dense.energy_pj_estimate, spiking.energy_pj_estimate),
                decisions_ratio: ratio(spiking.decisions_per_s, dense.decisions_per_s),
                spiking,
                dense,
            });
        }
        Ok(rows)
    });
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

/// One network's side of a dense row from its repetitions' summaries.
fn dense_side(runs: Vec<serde_json::Value>) -> DenseSide {
    let first = &runs[0];
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64();
    let med = |k: &str| median_opt(runs.iter().map(|r| f(r, k)));
    DenseSide {
        eval_return_mean: f(first, "eval_return_mean"),
        env_steps_per_s: med("env_steps_per_s").unwrap_or(f64::NAN),
        decisions_per_s: med("decisions_per_s"),
        silent_fraction_per_step: first["silent_fraction_per_step"].clone(),
        accumulates: first["synaptic_ops_per_decision"]["accumulates"].as_f64(),
        macs: first["synaptic_ops_per_decision"]["macs"].as_f64(),
        energy_pj_estimate: f(first, "energy_pj_estimate"),
        same_hash: runs.iter().all(|r| r["state_hash"] == first["state_hash"]),
        runs,
    }
}

/// Runs the benchmark. `progress` receives a line as each measurement starts and ends.
pub fn bench(opts: &BenchOptions, progress: &mut dyn FnMut(&str)) -> Result<BenchReport> {
    if opts.reps == 0 {
        return Err(Error::Input("--reps must be at least 1".into()));
    }
    if opts.threads.contains(&0) {
        return Err(Error::Input("--threads must be at least 1".into()));
    }
    let mut nets = Vec::new();
    let mut train_nets = Vec::new();
    let mut dense_net = None;
    for name in &opts.networks {
        if name == DENSE.name {
            dense_net = Some(DENSE);
            continue;
        }
        if let Some(t) = TRAINING.iter().find(|n| n.name == name) {
            train_nets.push(*t);
            continue;
        }
        let net = NETWORKS.iter().find(|n| n.name == name).ok_or_else(|| {
            let known: Vec<&str> = NETWORKS
                .iter()
                .map(|n| n.name)
                .chain(TRAINING.iter().map(|n| n.name))
                .chain([DENSE.name])
                .collect();
            Error::Input(format!(
                "unknown network `{name}`; known: {}",
                known.join(", ")
            ))
        })?;
        nets.push(*net);
    }
    let root = root(opts);
    let files = nets
        .iter()
        .map(|n| n.file)
        .chain(train_nets.iter().map(|n| n.file))
        .chain(dense_net.iter().map(|n| n.file));
    for file in files {
        let f = root.join(file);
        if !f.is_file() {
            return Err(Error::Input(format!(
                "{} not found (run from the repository root)",
                f.display()
            )));
        }
    }
    let python = opts.peers.then(|| peer_python(&root));
    let mut machine = machine(python.as_deref());
    let mut rows = Vec::new();
    for net in &nets {
        let mut peers = Vec::new();
        if let Some(py) = &python {
            progress(&format!("{}: brian2 × {}", net.name, opts.reps));
            peers.push(brian2(py, &root, net, opts.reps));
            progress(&format!("{}: nest × {}", net.name, opts.reps));
            peers.push(nest(py, &root, net, opts.reps));
        }
        for &threads in &opts.threads {
            let mut runs = Vec::new();
            for rep in 0..opts.reps {
                progress(&format!(
                    "{}: snnsim, {threads} thread(s), repetition {}/{}",
                    net.name,
                    rep + 1,
                    opts.reps
                ));
                runs.push(snnsim_once(&root, net, threads)?);
            }
            let wall = median(&runs.iter().map(|r| r.sim_wall_s).collect::<Vec<_>>());
            let events = runs[0].synaptic_events as f64;
            rows.push(BenchRow {
                network: net.name.to_string(),
                threads,
                sim_time_s: net.sim_time_s,
                sim_wall_s: wall,
                speed_factor: net.sim_time_s / wall,
                events_per_s: events / wall,
                build_wall_s: median(&runs.iter().map(|r| r.build_wall_s).collect::<Vec<_>>()),
                peak_rss_mb: median_opt(runs.iter().map(|r| r.peak_rss_mb)),
                same_hash: runs.iter().all(|r| r.state_hash == runs[0].state_hash),
                runs,
                peers: peers.clone(),
            });
        }
    }
    let torch = (opts.peers && !train_nets.is_empty()).then(|| torch_python(&root));
    let training = training_rows(&root, &train_nets, opts, torch.as_deref(), progress)?;
    let dense = match &dense_net {
        Some(net) => dense_rows(&root, net, opts, progress)?,
        None => Vec::new(),
    };
    machine.load_end = load_average();
    Ok(BenchReport {
        machine,
        precision: crate::real::PRECISION,
        reps: opts.reps,
        rows,
        training,
        dense,
    })
}

fn fmt_opt(x: Option<f64>, prec: usize) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.prec$}"))
}

/// Events per second as `1.23e8`.
fn fmt_rate(x: f64) -> String {
    format!("{x:.2e}")
}

/// The report as a text table, with the peers' notes below it.
pub fn format_table(r: &BenchReport) -> String {
    let m = &r.machine;
    let mut s = format!(
        "machine: {} ({} logical CPUs), load average {} at start, {} at end; median of {} fresh process(es)\n",
        m.cpu,
        m.nproc,
        fmt_opt(m.load_start, 2),
        fmt_opt(m.load_end, 2),
        r.reps
    );
    s += &format!(
        "snnsim state and weights: {}{}\n",
        r.precision,
        if r.precision == "f32" {
            " (feature `f32`; the peers run f64)"
        } else {
            " (`cargo build --release --features f32` builds the faster f32 simulator)"
        }
    );
    let peers: Vec<String> = r
        .rows
        .first()
        .map(|row| row.peers.iter().map(|p| p.peer.clone()).collect())
        .unwrap_or_default();
    s.push_str(&format!(
        "{:<10} {:>3} {:>6} {:>9} {:>8} {:>9} {:>7} {:>8}",
        "network", "thr", "sim s", "wall s", "speed×", "events/s", "build s", "peak MB"
    ));
    for p in &peers {
        s.push_str(&format!(
            " | {:>8} {:>6} {:>8} {:>6}",
            format!("{p} s"),
            "×",
            "peak MB",
            "mem"
        ));
    }
    s.push('\n');
    let mut notes: Vec<String> = Vec::new();
    for row in &r.rows {
        s.push_str(&format!(
            "{:<10} {:>3} {:>6} {:>9.3} {:>8.2} {:>9} {:>7.3} {:>8}",
            row.network,
            row.threads,
            row.sim_time_s,
            row.sim_wall_s,
            row.speed_factor,
            fmt_rate(row.events_per_s),
            row.build_wall_s,
            fmt_opt(row.peak_rss_mb, 0)
        ));
        for p in &row.peers {
            match p.sim_wall_s {
                Some(t) => s.push_str(&format!(
                    " | {:>8.3} {:>6.2} {:>8} {:>6}",
                    t,
                    t / row.sim_wall_s,
                    fmt_opt(p.peak_rss_mb, 0),
                    match (row.peak_rss_mb, p.peak_rss_mb) {
                        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                        _ => "-".into(),
                    }
                )),
                None => s.push_str(&format!(" | {:>8} {:>6} {:>8} {:>6}", p.status, "", "", "")),
            }
            if let Some(n) = &p.note {
                let line = format!("{} on {}: {}", p.peer, row.network, n);
                if !notes.contains(&line) {
                    notes.push(line);
                }
            }
        }
        if !row.same_hash {
            notes.push(format!(
                "{} on {} threads: the repetitions' state_hash differ",
                row.network, row.threads
            ));
        }
        s.push('\n');
    }
    s.push_str(
        "wall s: simulation phase (median); speed×: simulated / wall time; ×: peer time / snnsim \
         time; mem: snnsim peak / peer peak\n",
    );
    if !r.training.is_empty() {
        s += &format_training(&r.training, &mut notes);
    }
    if !r.dense.is_empty() {
        s += &format_dense(&r.dense, &mut notes);
    }
    for n in notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}

/// The training rows as a table (decisions per second, medians), their notes into `notes`.
fn format_training(rows: &[TrainRow], notes: &mut Vec<String>) -> String {
    let mut s = format!(
        "{:<27} {:>3} {:>8} {:>12} {:>10} {:>8} | {:>12} {:>7}\n",
        "training", "thr", "episodes", "decisions/s", "episodes/s", "peak MB", "pytorch d/s", "×"
    );
    for row in rows {
        let peak = median_opt(row.runs.iter().map(|r| r.peak_rss_mb));
        s += &format!(
            "{:<27} {:>3} {:>8} {:>12.0} {:>10.1} {:>8}",
            row.network,
            row.threads,
            row.episodes,
            row.decisions_per_s,
            row.episodes_per_s,
            fmt_opt(peak, 0)
        );
        match (&row.torch, row.ratio) {
            (Some(t), Some(ratio)) => {
                s += &format!(
                    " | {:>12.0} {:>7.2}",
                    t.decisions_per_s.unwrap_or(f64::NAN),
                    ratio
                )
            }
            (Some(t), None) => s += &format!(" | {:>12} {:>7}", t.status, ""),
            (None, _) => s += &format!(" | {:>12} {:>7}", "-", ""),
        }
        s.push('\n');
        if let Some(t) = &row.torch {
            if let Some(n) = &t.note {
                notes.push(format!("pytorch on {}: {n}", row.network));
            }
        }
        if !row.same_hash {
            notes.push(format!(
                "{} on {} threads: the repetitions' state_hash differ",
                row.network, row.threads
            ));
        }
    }
    s.push_str(
        "decisions/s: environment steps of all episodes per second of the training loop \
         (median); ×: snnsim / the PyTorch implementation (benches/peers/foraging_torch.py \
         --neurons plain, one thread, float32)\n",
    );
    s
}

/// The spiking-versus-dense rows as a table: per network, its figures, then the ratios.
fn format_dense(rows: &[DenseRow], notes: &mut Vec<String>) -> String {
    let mut s = format!(
        "{:<23} {:>3} {:<8} {:>7} {:>11} {:>11} {:>15} {:>10} {:>10} {:>12}\n",
        "spiking vs dense",
        "thr",
        "network",
        "return",
        "env steps/s",
        "decisions/s",
        "silent/step",
        "AC/dec",
        "MAC/dec",
        "energy pJ/dec"
    );
    for row in rows {
        for (kind, side) in [("spiking", &row.spiking), ("dense", &row.dense)] {
            let silent: Vec<String> = side
                .silent_fraction_per_step
                .as_object()
                .map(|m| {
                    m.values()
                        .filter_map(|v| v.as_f64())
                        .map(|v| format!("{v:.3}"))
                        .collect()
                })
                .unwrap_or_default();
            s += &format!(
                "{:<23} {:>3} {:<8} {:>7} {:>11.0} {:>11} {:>15} {:>10} {:>10} {:>12}\n",
                row.network,
                row.threads,
                kind,
                fmt_opt(side.eval_return_mean, 1),
                side.env_steps_per_s,
                fmt_opt(side.decisions_per_s, 0),
                silent.join(" "),
                fmt_opt(side.accumulates, 0),
                fmt_opt(side.macs, 0),
                fmt_opt(side.energy_pj_estimate, 0),
            );
            if !side.same_hash {
                notes.push(format!(
                    "{} ({kind}) on {} threads: the repetitions' state_hash differ",
                    row.network, row.threads
                ));
            }
        }
        s += &format!(
            "{:<23} {:>3} energy dense / spiking {}, decisions/s spiking / dense {}\n",
            row.network,
            row.threads,
            fmt_opt(row.energy_ratio, 2),
            fmt_opt(row.decisions_ratio, 2)
        );
    }
    s.push_str(&format!(
        "spiking vs dense: graphs/cartpole-rainbow.ron for {} environment steps, spiking and \
         with --dense (ReLU units); return: greedy episodes; silent/step: per hidden population; \
         AC/MAC per greedy decision; energy 0.9 pJ per AC + 4.6 pJ per MAC (45 nm, Horowitz \
         2014)\n",
        rows[0].env_steps
    ));
    s
}
