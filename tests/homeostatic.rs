//! Structural policies in simulations (the graph file's top-level `structure`) and Poisson
//! input stimuli: the `homeostatic` policy grows synapses until the calcium approaches its
//! target, deterministically on any thread count, through a checkpoint and resume; bad
//! entries are refused at their field.

use crate::common::{run_json, run_out, snnsim};
use std::path::Path;

/// A small network in the shape of NEST's structural-plasticity example: no synapses at the
/// start, each neuron driven by its own Poisson train, elements growing forty times faster and
/// updates every 500 ms so that synapses form within a few seconds.
pub(crate) fn small(duration_ms: f64, structure: &str) -> String {
    let lif = "Lif(tau_m_ms: 10.0, v_rest_mv: -70.0, v_reset_mv: -70.0, v_th_mv: -55.0, \
               refractory_ms: 2.0, tau_syn_exc_ms: 2.0, tau_syn_inh_ms: 2.0, r_mohm: 40.0)";
    let proj = |name: &str, pre: &str, post: &str, rec: &str, w: f64| {
        format!(
            "(name: \"{name}\", pre: \"{pre}\", post: \"{post}\", receptor: {rec}, \
             connectivity: List(pairs: []), weight: Constant({w}), delay_ms: Constant(1.0)),"
        )
    };
    format!(
        r#"(
    format_version: 1, dt_ms: 0.1, duration_ms: {duration_ms}, seed: 3,
    populations: [
        (name: "exc", size: 160, model: {lif}),
        (name: "inh", size: 40, model: {lif}),
    ],
    projections: [
        {} {} {} {}
    ],
    stimuli: [
        PoissonInput(target: "exc", rate_hz: 10000.0, weight: 0.01685),
        PoissonInput(target: "inh", rate_hz: 10000.0, weight: 0.01685),
    ],
    recorders: [Spikes(population: "exc"), Spikes(population: "inh")],
    {structure}
)"#,
        proj("ee", "exc", "exc", "Exc", 1.59),
        proj("ei", "exc", "inh", "Exc", 1.59),
        proj("ie", "inh", "exc", "Inh", -1.59),
        proj("ii", "inh", "inh", "Inh", -1.59),
    )
}

pub(crate) const HOMEOSTATIC: &str = r#"structure: [(plugin: "homeostatic", populations: ["exc", "inh"], every_ms: 1.0, params: (
        update_interval_ms: 500.0, seed: 7,
        elements: {
            "exc": {"Den_ex": (growth_rate: 0.004, eta: 0.0, eps: 0.05),
                    "Den_in": (growth_rate: 0.004, eta: 0.0, eps: 0.05),
                    "Axon_ex": (growth_rate: 0.004, eta: 0.0, eps: 0.05)},
            "inh": {"Den_ex": (growth_rate: 0.016, eta: 0.0, eps: 0.2),
                    "Den_in": (growth_rate: 0.004, eta: 0.0, eps: 0.2),
                    "Axon_in": (growth_rate: 0.004, eta: 0.0, eps: 0.2)},
        },
        synapses: [
            (pre_element: "Axon_ex", post_element: "Den_ex", weight: 1.59, projections: ["ee", "ei"]),
            (pre_element: "Axon_in", post_element: "Den_in", weight: -1.59, projections: ["ie", "ii"]),
        ],
    ))],"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn edits(run: &Path) -> Vec<(f64, String, usize, usize)> {
    let text = std::fs::read_to_string(run.join("edits.csv")).expect("edits.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("t_ms,plugin,projection,removed,added"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f[1], "homeostatic");
            (f[0].parse().unwrap(), f[2].to_string(), f[3].parse().unwrap(), f[4].parse().unwrap())
        })
        .collect()
}

#[test]
fn homeostatic_policy_grows_synapses_the_same_on_any_thread_count_and_through_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "sp.ron", &small(4000.0, HOMEOSTATIC));
    let one = run_json(&file, &dir.path().join("one"), &["--threads", "1"]);
    let two = run_json(&file, &dir.path().join("two"), &["--threads", "2"]);
    assert_eq!(one["state_hash"], two["state_hash"]);
    let log = edits(&dir.path().join("one"));
    assert_eq!(log, edits(&dir.path().join("two")));
    // Updates only at multiples of 500 ms; synapses were made in all four projections, and
    // the network holds what the log adds up to.
    assert!(log.iter().all(|e| e.0 % 500.0 == 0.0), "{log:?}");
    for p in ["ee", "ei", "ie", "ii"] {
        assert!(log.iter().any(|e| e.1 == p && e.3 > 0), "no synapse made in {p}: {log:?}");
    }
    let net: i64 = log.iter().map(|e| e.3 as i64 - e.2 as i64).sum();
    assert_eq!(one["synapses"].as_i64().unwrap(), net);
    assert!(net > 100, "{net} synapses");
    // Without the policy nothing connects and the rates are those of the Poisson drive
    // alone; with it, recurrent excitation has raised them.
    let bare = write(dir.path(), "bare.ron", &small(4000.0, ""));
    let b = run_json(&bare, &dir.path().join("bare"), &[]);
    assert_eq!(b["synapses"], 0);
    assert!(!dir.path().join("bare/edits.csv").exists());

    // Checkpoints every 1 250 ms; resuming from the one at 2 500 ms ends where the
    // uninterrupted run did, with the same edits.csv.
    let ck = dir.path().join("ck");
    run_json(&file, &ck, &["--threads", "2", "--checkpoint-every", "12500"]);
    let mut files: Vec<_> = std::fs::read_dir(ck.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for f in files.iter().skip(1) {
        std::fs::remove_file(f).unwrap();
    }
    std::fs::remove_file(ck.join("summary.json")).unwrap();
    let o = snnsim(&["run", "--resume", ck.to_str().unwrap(), "--json", "--threads", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let resumed = crate::common::summary_of(&o);
    assert_eq!(resumed["state_hash"], one["state_hash"]);
    assert_eq!(edits(&ck), log);
}

#[test]
fn poisson_input_drives_each_neuron_at_its_rate() {
    // Without a threshold in reach, v − v_rest tracks R·I of the summed Poisson current: its
    // time average over the population is R·w·rate·τ_syn, whatever the seed.
    let dir = tempfile::tempdir().unwrap();
    let text = r#"(
    format_version: 1, dt_ms: 0.1, duration_ms: 2000.0, seed: 11,
    populations: [(name: "p", size: 200, model: Lif(tau_m_ms: 10.0, v_rest_mv: 0.0,
        v_reset_mv: 0.0, v_th_mv: 1e9, refractory_ms: 0.0, tau_syn_exc_ms: 2.0,
        tau_syn_inh_ms: 2.0, r_mohm: 1.0))],
    stimuli: [PoissonInput(target: "p", rate_hz: 25000.0, weight: 0.5, start_ms: 100.0),
              PoissonInput(target: "p", rate_hz: 5000.0, weight: 0.4, receptor: Inh, neurons: [0, 1, 2])],
    recorders: [State(population: "p", variables: ["v"], neurons: NEURONS, every_ms: 1.0)],
)"#;
    let all: Vec<String> = (0..200).map(|j| j.to_string()).collect();
    let text = text.replace("NEURONS", &format!("[{}]", all.join(", ")));
    let file = write(dir.path(), "p.ron", &text);
    let one = run_json(&file, &dir.path().join("a"), &["--threads", "1"]);
    let two = run_json(&file, &dir.path().join("b"), &["--threads", "2"]);
    assert_eq!(one["state_hash"], two["state_hash"]);
    let csv = std::fs::read_to_string(dir.path().join("a/state_p.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("t_ms,neuron,v"));
    let (mut sum, mut count) = (0.0, 0usize);
    let mut before = 0.0f64;
    for line in csv.lines().skip(1) {
        let f: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        let (t, j, v) = (f[0], f[1] as usize, f[2]);
        if t < 100.0 && j >= 3 {
            before = before.max(v.abs());
        }
        // Neurons 3.. have the excitatory train alone.
        if t >= 300.0 && j >= 3 {
            sum += v;
            count += 1;
        }
    }
    assert_eq!(before, 0.0, "input before start_ms");
    // 0.5 nA × 25 000 Hz × 2 ms × 1 MΩ = 25 mV.
    let mean = sum / count as f64;
    assert!((mean - 25.0).abs() < 0.25, "mean v {mean} mV, expected 25");
}

#[test]
fn bad_structure_entries_are_refused_at_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            HOMEOSTATIC.replace("populations: [\"exc\", \"inh\"]", "populations: [\"exc\", \"nope\"]"),
            "structure[0].populations[1]",
        ),
        (HOMEOSTATIC.replace("every_ms: 1.0", "every_ms: 0.01"), "structure[0].every_ms"),
        (
            HOMEOSTATIC.replace("plugin: \"homeostatic\"", "plugin: \"rate_threshold\""),
            "structure[0]",
        ),
        (HOMEOSTATIC.replace("\"ie\", \"ii\"", "\"ie\", \"zz\""), "params.synapses[1].projections"),
        (HOMEOSTATIC.replace("seed: 7", "seed: 7, beta_ca: -1.0"), "beta_ca"),
    ];
    for (k, (structure, field)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("bad{k}.ron"), &small(1000.0, structure));
        let o = run_out(&file, &dir.path().join(format!("bad{k}")), &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.code() == Some(2) || o.status.code() == Some(1),
            "case {k}: {:?} {stderr}",
            o.status
        );
        assert!(stderr.contains(field), "case {k}: {stderr}");
    }
}

/// Curves of one run, one value per second of simulated time as NEST's example records them
/// (after each 1-s `Simulate`): the mean calcium of each population as NEST reports it, and
/// the synapses of each kind, summed from `edits.csv`.
///
/// NEST's `Ca` jumps by β_Ca = 0.001 at each spike and decays with τ_Ca = 10 s; NEST brings
/// it up to date at the end of every 1-ms slice, so the value it reports at a record is the
/// calcium at that time. NEST's update at t runs after its record at t, so edits made at the
/// end of second k count from the record of second k + 1, and NEST stamps a spike at the end
/// of its step, snnsim at its start.
struct Curves {
    ca_exc: Vec<f64>,
    ca_inh: Vec<f64>,
    conn_exc: Vec<f64>,
    conn_inh: Vec<f64>,
}

fn curves(run: &Path, seconds: usize) -> Curves {
    let (beta, tau) = (0.001, 10_000.0);
    let spikes = std::fs::read_to_string(run.join("spikes.csv")).expect("spikes.csv");
    let mut lines = spikes.lines().peekable();
    assert_eq!(lines.next(), Some("t_ms,population,neuron"));
    // Per neuron (exc 0..800, inh 800..1000): calcium just after its last spike, and when.
    let mut ca = vec![0.0f64; 1000];
    let mut last = vec![0.0f64; 1000];
    let (mut ca_exc, mut ca_inh) = (Vec::new(), Vec::new());
    for k in 1..=seconds {
        let t_rec = k as f64 * 1000.0;
        while let Some(l) = lines.peek() {
            let mut f = l.split(',');
            let t: f64 = f.next().unwrap().parse::<f64>().unwrap() + 0.1;
            if t > t_rec + 1e-9 {
                break;
            }
            let pop = f.next().unwrap();
            let j: usize = f.next().unwrap().parse().unwrap();
            let j = if pop == "exc" { j } else { 800 + j };
            ca[j] = ca[j] * (-(t - last[j]) / tau).exp() + beta;
            last[j] = t;
            lines.next();
        }
        let reported = |j: usize| ca[j] * (-(t_rec - last[j]) / tau).exp();
        ca_exc.push((0..800).map(reported).sum::<f64>() / 800.0);
        ca_inh.push((800..1000).map(reported).sum::<f64>() / 200.0);
    }
    let log = edits(run);
    // Synapses, not connections: a NEST multapse (about 0.5 % of them here) is one synapse.
    let conn = |projs: [&str; 2]| -> Vec<f64> {
        (1..=seconds)
            .map(|k| {
                let t = k as f64 * 1000.0;
                log.iter()
                    .filter(|e| e.0 < t && projs.contains(&e.1.as_str()))
                    .map(|e| e.3 as f64 - e.2 as f64)
                    .sum::<f64>()
            })
            .collect()
    };
    Curves {
        ca_exc,
        ca_inh,
        conn_exc: conn(["ee", "ei"]),
        conn_inh: conn(["ie", "ii"]),
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// NEST 3.10's structural-plasticity example (graphs/structural-plasticity.ron) against NEST's
/// own runs (tests/reference/nest_structural_plasticity.json, twenty seeds).
///
/// - While the network grows and its activity settles (10–130 s: the excitatory calcium at
///   its target 0.05), the mean of each curve is within 5 % of NEST's (one seed here, about
///   two minutes; or within three of NEST's seed-to-seed standard deviations, if that is
///   wider). `SNNSIM_SP_SEEDS=1,2,3,4,5` (five or more seeds) asks for 5 % of their means.
/// - The curves have NEST's shape: the first synapses come at the same update, and over
///   0–130 s each curve, as a fraction of its mean, is within 0.1 of NEST's on average.
/// - The last quarter (150–200 s), where both simulators' activity climbs again as inhibitory
///   synapses are lost, is held to the same bounds: 5 % of NEST's means with
///   five or more seeds (the inhibitory synapses, whose seed-to-seed spread is 10 %, to
///   three standard errors of the difference of the means); for one seed, three of
///   NEST's seed-to-seed standard deviations where that is wider (NEST's own seeds differ by
///   about 9 % in calcium there).
#[test]
fn nest_structural_plasticity_example_settles_as_in_nest() {
    let nest = crate::common::reference("nest_structural_plasticity.json");
    let seeds: Vec<u64> = std::env::var("SNNSIM_SP_SEEDS")
        .unwrap_or_else(|_| "1".into())
        .split(',')
        .map(|s| s.trim().parse().expect("SNNSIM_SP_SEEDS: seeds separated by commas"))
        .collect();
    let runs = nest["runs"].as_array().unwrap();
    let seconds = runs[0]["ca_exc"].as_array().unwrap().len();
    let series = |r: &serde_json::Value, key: &str| -> Vec<f64> {
        r[key].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    };
    let file = crate::common::root().join("graphs/structural-plasticity.ron");
    let dir = tempfile::tempdir().unwrap();
    let mut ours: Vec<Curves> = Vec::new();
    // Runs made beforehand (`snnsim run ... --seed S --out DIR/seedS`) are read from
    // `SNNSIM_SP_RUNS=DIR` instead of being simulated again.
    let done = std::env::var_os("SNNSIM_SP_RUNS").map(std::path::PathBuf::from);
    for &s in &seeds {
        let out = match &done {
            Some(d) => d.join(format!("seed{s}")),
            None => {
                let out = dir.path().join(format!("seed{s}"));
                run_json(&file, &out, &["--seed", &s.to_string(), "--threads", "2"]);
                out
            }
        };
        ours.push(curves(&out, seconds));
    }
    let pick = |c: &Curves, key: &str| -> Vec<f64> {
        match key {
            "ca_exc" => c.ca_exc.clone(),
            "ca_inh" => c.ca_inh.clone(),
            "conn_exc" => c.conn_exc.clone(),
            _ => c.conn_inh.clone(),
        }
    };
    let (grow, late) = (10..130, seconds * 3 / 4..seconds);
    for key in ["ca_exc", "ca_inh", "conn_exc", "conn_inh"] {
        let window = |w: std::ops::Range<usize>| {
            let theirs: Vec<f64> = runs.iter().map(|r| mean(&series(r, key)[w.clone()])).collect();
            let (m, n) = (mean(&theirs), theirs.len() as f64);
            let sd = (theirs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let mine: Vec<f64> = ours.iter().map(|c| mean(&pick(c, key)[w.clone()])).collect();
            (mean(&mine), mine, m, sd)
        };
        let (us, mine, m, sd) = window(grow.clone());
        eprintln!("{key}, 10-130 s: snnsim {us:.5} (seeds {mine:.5?}), NEST {m:.5} ± {sd:.5}, ratio {:.4}", us / m);
        let tolerance = if seeds.len() >= 5 { 0.05 * m } else { (0.05 * m).max(3.0 * sd) };
        assert!((us - m).abs() <= tolerance, "{key}, 10-130 s: {us} against NEST's {m} ± {sd}");
        let (late_us, late_mine, late_m, late_sd) = window(late.clone());
        eprintln!(
            "{key}, last quarter: snnsim {late_us:.5} (seeds {late_mine:.5?}), NEST {late_m:.5} ± {late_sd:.5}, ratio {:.4}",
            late_us / late_m
        );
        // The inhibitory synapses spread most between NEST's seeds (10 % of their mean in
        // the last quarter), so a few seeds pin their mean only to several per cent: there
        // the bound is three standard errors of the difference of the two means.
        let late_tolerance = if seeds.len() >= 5 && key != "conn_inh" {
            0.05 * late_m
        } else if seeds.len() >= 5 {
            let (a, b) = (runs.len() as f64, seeds.len() as f64);
            (0.05 * late_m).max(3.0 * late_sd * (1.0 / a + 1.0 / b).sqrt())
        } else {
            (0.05 * late_m).max(3.0 * late_sd)
        };
        assert!(
            (late_us - late_m).abs() <= late_tolerance,
            "{key}, last quarter: {late_us} against NEST's {late_m} ± {late_sd}"
        );
        // Shape over the first 130 s.
        let norm = |c: Vec<f64>| -> Vec<f64> {
            let m = mean(&c[grow.clone()]);
            c[..130].iter().map(|x| x / m).collect()
        };
        let avg = |curves: Vec<Vec<f64>>| -> Vec<f64> {
            (0..seconds)
                .map(|k| mean(&curves.iter().map(|c| c[k]).collect::<Vec<_>>()))
                .collect()
        };
        let theirs = norm(avg(runs.iter().map(|r| series(r, key)).collect()));
        let mine = norm(avg(ours.iter().map(|c| pick(c, key)).collect()));
        let first = |c: &[f64]| c.iter().position(|&x| x > 0.0);
        if key.starts_with("conn") {
            assert_eq!(first(&mine), first(&theirs), "{key}: the first synapses");
        }
        let gap = mine.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).sum::<f64>() / 130.0;
        eprintln!("{key}: mean gap between the normalised curves over 0-130 s {gap:.4}");
        assert!(gap <= 0.1, "{key}: curves differ by {gap} on average");
    }
}
