//! Backends agree: the same test body runs on every backend present (the CPU always, the GPU
//! in a `--features hip` or `--features cuda` build on a machine with a device) and each
//! result is compared with the CPU's, the reference. Without a device the GPU half is skipped
//! with a printed reason. Tolerances (docs/gpu.md):
//!
//! - networks whose synaptic sums are formed in a fixed order on the device (dense
//!   projections, and sparse ones with at most one input per target and step): bit for bit,
//!   the same `state_hash`, against the CPU summing through its delay rings as the device
//!   does (`Engine::set_direct_input(false)`);
//! - networks with sparse projections summed by atomics (CUBA, COBA): identical spike
//!   rasters and every state variable within 1e-9 of the CPU's default run (state is f64 on
//!   both sides; the sums differ only in the order of their terms).

use crate::common::root;
use snnsim::backend::{self, Backend};
use snnsim::engine::Engine;
use snnsim::file::{Checked, Source};
use std::collections::BTreeMap;

/// A xorshift64 stream from `seed`: the tests' fixed pseudo-random inputs.
fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Uniform numbers in [0, 1) from the top 53 bits of [`xorshift`].
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut next = xorshift(seed);
    move || (next() >> 11) as f64 / (1u64 << 53) as f64
}

/// The state variables a comparison reads.
const STATE_TOL: f64 = 1e-9;

/// Everything a run leaves that the backends must agree on.
#[derive(Debug)]
struct Outcome {
    backend: String,
    spikes: Vec<(u64, u32, u32)>,
    columns: BTreeMap<String, Vec<f64>>,
    refractory: BTreeMap<String, Vec<u32>>,
    spike_counts: BTreeMap<String, u64>,
    synaptic_events: u64,
    states: Vec<Vec<(u64, Vec<f64>)>>,
    hash: String,
    step: u64,
}

fn run_on(b: &Backend, checked: &Checked, steps: u64, rings: bool) -> Outcome {
    let mut e = Engine::from_file(checked).expect("engine");
    e.set_direct_input(!rings);
    backend::run(b, &mut e, checked, steps).unwrap_or_else(|err| panic!("{}: {err}", b.describe()));
    let mut columns = BTreeMap::new();
    let mut refractory = BTreeMap::new();
    let mut spike_counts = BTreeMap::new();
    for p in e.net.populations() {
        for (name, col) in p.dynamics.columns() {
            columns.insert(format!("{}.{name}", p.name), col.to_vec());
        }
        refractory.insert(p.name.clone(), p.dynamics.refractory().to_vec());
        spike_counts.insert(p.name.clone(), p.spike_count);
    }
    Outcome {
        backend: b.describe(),
        spikes: e.spikes.events.clone(),
        columns,
        refractory,
        spike_counts,
        synaptic_events: e.synaptic_events,
        states: e.states.iter().map(|r| r.rows.clone()).collect(),
        hash: e.state_hash(),
        step: e.step,
    }
}

/// The backends to compare, the CPU first; prints why the GPU is skipped.
fn backends(test: &str) -> Vec<Backend> {
    let (list, why) = backend::available();
    if let Some(why) = why {
        println!("{test}: GPU comparison skipped: {why}");
    }
    list
}

/// Largest |a − b| over all state columns.
fn max_state_diff(a: &Outcome, b: &Outcome) -> (f64, String) {
    let mut worst = (0.0, String::new());
    for (name, xa) in &a.columns {
        let xb = &b.columns[name];
        assert_eq!(xa.len(), xb.len(), "{name}");
        for (p, q) in xa.iter().zip(xb) {
            let d = (p - q).abs();
            assert!(!d.is_nan(), "{name}: NaN");
            if d > worst.0 {
                worst = (d, name.clone());
            }
        }
    }
    worst
}

/// Runs `checked` on every backend and compares each with the CPU: identical spikes, spike
/// counts, synaptic events and refractory counters; state within `tol` (0: bit for bit,
/// including the hash, against the CPU summing through its rings).
fn agree(test: &str, checked: &Checked, steps: u64, tol: f64) {
    let list = backends(test);
    let reference = run_on(&list[0], checked, steps, tol == 0.0);
    assert!(
        !reference.spikes.is_empty(),
        "{test}: the network is silent"
    );
    for b in &list[1..] {
        let got = run_on(b, checked, steps, false);
        let (d, worst) = max_state_diff(&reference, &got);
        println!(
            "{test}: {} vs cpu over {steps} steps: {} spikes, max |Δstate| = {d:.3e} ({worst}), hash {} vs {}",
            got.backend,
            got.spikes.len(),
            got.hash,
            reference.hash
        );
        assert_eq!(got.step, reference.step);
        if got.spikes != reference.spikes {
            let first = got
                .spikes
                .iter()
                .zip(&reference.spikes)
                .position(|(x, y)| x != y)
                .unwrap_or(got.spikes.len().min(reference.spikes.len()));
            panic!(
                "{test}: {} spike rasters differ from the CPU's at event {first}: {:?} vs {:?}",
                got.backend,
                got.spikes.get(first),
                reference.spikes.get(first)
            );
        }
        assert_eq!(got.spike_counts, reference.spike_counts, "{test}");
        assert_eq!(got.synaptic_events, reference.synaptic_events, "{test}");
        assert_eq!(got.refractory, reference.refractory, "{test}");
        assert!(d <= tol, "{test}: {worst} differs by {d:e} > {tol:e}");
        assert_eq!(got.states.len(), reference.states.len());
        for (rg, rr) in got.states.iter().zip(&reference.states) {
            assert_eq!(rg.len(), rr.len(), "{test}: state rows");
            for ((sg, vg), (sr, vr)) in rg.iter().zip(rr) {
                assert_eq!(sg, sr);
                for (x, y) in vg.iter().zip(vr) {
                    assert!((x - y).abs() <= tol, "{test}: recorded state at step {sg}");
                }
            }
        }
        if tol == 0.0 {
            assert_eq!(got.hash, reference.hash, "{test}: state_hash");
        }
    }
}

fn load_graph(rel: &str) -> Checked {
    snnsim::models::load(&root().join(rel)).expect("shipped graph loads")
}

#[test]
fn cuba_agrees_on_every_backend() {
    agree("cuba", &load_graph("graphs/cuba.ron"), 3000, STATE_TOL);
}

#[test]
fn coba_agrees_on_every_backend() {
    agree("coba", &load_graph("graphs/coba.ron"), 3000, STATE_TOL);
}

/// Every kind of population and projection the GPU backend has, wired so that every sum on
/// the device is formed in a fixed order: Poisson and Observation sources and a recurrent
/// projection through the dense kernel; spike times and a per-synapse-delay projection
/// through the sparse kernel with one input per target and step; DC stimuli switching on and
/// off; state recorders.
const MIXED: &str = r#"(
    format_version: 1,
    dt_ms: 0.1,
    duration_ms: 100.0,
    seed: 99,
    populations: [
        (name: "drive", size: 600, model: Poisson(rate_hz: 40.0)),
        (name: "cue", size: 4, model: SpikeTimes(times_ms: [[1.0, 5.0, 12.3], [2.0], [], [7.7, 40.0]])),
        (name: "obs", size: 3, model: Observation(active: [0, 2])),
        (name: "lif", size: 300,
         model: Lif(tau_m_ms: 10.0, v_rest_mv: -70.0, v_reset_mv: -70.0, v_th_mv: -55.0,
                    refractory_ms: 2.0, tau_syn_exc_ms: 3.0, tau_syn_inh_ms: 6.0),
         init: { "v": Uniform(low: -70.0, high: -56.0) }),
        (name: "coba", size: 300,
         model: CobaLif(i_bias_na: 5.0),
         init: { "v": Normal(mean: -60.0, std: 3.0) }),
    ],
    projections: [
        (pre: "drive", post: "lif", connectivity: AllToAll, weight: Uniform(low: 0.0, high: 0.25)),
        (pre: "obs", post: "lif", connectivity: AllToAll, weight: Constant(0.5)),
        (pre: "coba", post: "lif", receptor: Inh, connectivity: FixedProbability(p: 0.5),
         weight: Constant(-0.4)),
        (pre: "lif", post: "coba", connectivity: OneToOne, weight: Uniform(low: 0.05, high: 0.3),
         delay_ms: Uniform(low: 0.1, high: 2.0)),
        (pre: "cue", post: "coba", connectivity: List(pairs: [(0, 0), (1, 1), (2, 2), (3, 3)]),
         weight: Constant(2.0), delay_ms: Constant(0.3)),
    ],
    stimuli: [
        Dc(target: "lif", amplitude_na: 3.0, start_ms: 0.0, stop_ms: 80.0),
        Dc(target: "coba", amplitude_na: 8.0, start_ms: 20.0, stop_ms: 60.0, neurons: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ],
    recorders: [
        Spikes(population: "drive"), Spikes(population: "cue"), Spikes(population: "lif"),
        Spikes(population: "coba"),
        State(population: "lif", variables: ["v", "i_exc", "i_inh"], neurons: [0, 5, 17]),
        State(population: "coba", variables: ["v", "g_exc"], neurons: [0, 3], every_ms: 0.5),
    ],
)"#;

#[test]
fn mixed_network_is_bit_identical_on_every_backend() {
    let checked = Source::from_text("mixed.ron", MIXED)
        .load_with(&snnsim::models::Rules)
        .expect("the mixed network is valid");
    assert!(backend::gpu::unsupported(&checked.file).is_none());
    agree("mixed", &checked, 1000, 0.0);
}

#[test]
fn unsupported_networks_are_named_before_a_run() {
    let izh = MIXED
        .replace("model: CobaLif(i_bias_na: 5.0)", "model: Izhikevich()")
        .replace(r#"["v", "g_exc"]"#, r#"["v", "u"]"#);
    let checked = Source::from_text("izh.ron", izh)
        .load_with(&snnsim::models::Rules)
        .expect("the Izhikevich variant is valid");
    let why = backend::gpu::unsupported(&checked.file).expect("unsupported");
    assert!(why.contains("coba") && why.contains("Izhikevich"), "{why}");
}

#[test]
fn device_gpu_fails_with_the_reason_and_auto_falls_back_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/cuba.ron");
    let run = |device: &str, out: &str| {
        let extra = ["--duration-ms", "20", "--device", device];
        crate::common::run_out(&file, &dir.path().join(out), &extra)
    };
    let cpu = run("cpu", "cpu");
    assert!(cpu.status.success());
    let summary = crate::common::summary_of;
    let cpu_summary = summary(&cpu);
    assert_eq!(cpu_summary["device"], "cpu");

    let auto = run("auto", "auto");
    assert!(auto.status.success());
    let stderr = String::from_utf8_lossy(&auto.stderr);
    let gpu = run("gpu", "gpu");
    match backend::gpu::GpuDevice::open() {
        Err(why) => {
            println!("device test: no GPU ({why})");
            // auto: exactly one line saying why, then the CPU's result.
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{stderr}");
            assert!(
                lines[0].starts_with("snnsim: device Auto: running on the CPU: ")
                    && lines[0].ends_with(&why),
                "{stderr}"
            );
            let s = summary(&auto);
            assert_eq!(s["device"], "cpu");
            assert_eq!(s["state_hash"], cpu_summary["state_hash"]);
            // gpu: exit 1, the reason on stderr.
            assert_eq!(gpu.status.code(), Some(1));
            let err = String::from_utf8_lossy(&gpu.stderr);
            assert!(err.contains("device Gpu") && err.contains(&why), "{err}");
        }
        Ok(dev) => {
            println!("device test: GPU {}", dev.info());
            assert!(stderr.is_empty(), "{stderr}");
            for o in [&auto, &gpu] {
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let s = summary(o);
                assert!(s["device"].as_str().unwrap().starts_with("gpu: "));
                assert_eq!(s["populations"], cpu_summary["populations"]);
                assert_eq!(s["synaptic_events"], cpu_summary["synaptic_events"]);
            }
        }
    }
}

/// The Poisson kernel's ChaCha8 (run on the host here, the same code as on the device) gives
/// the draws of the CPU's streams. Needs a GPU build, not a device.
#[test]
fn device_chacha8_matches_the_cpu_streams() {
    use rand::RngCore;
    if backend::kernels::platform().is_none() {
        println!("chacha: skipped: this build has no GPU kernels");
        return;
    }
    for (seed, name, chunk) in [(1u64, "drive", 0u64), (4242, "exc", 3), (7, "x", 99)] {
        let mut rng = snnsim::rng::stream(seed, "poisson", name, chunk);
        let bytes = rng.get_seed();
        let mut key = [0u32; 8];
        for (w, b) in key.iter_mut().zip(bytes.chunks(4)) {
            *w = u32::from_le_bytes(b.try_into().unwrap());
        }
        for index in 0..200u64 {
            let want = rng.next_u64();
            let got = backend::kernels::chacha8_draw(&key, index).unwrap();
            assert_eq!(got, want, "seed {seed} stream {name}/{chunk} draw {index}");
        }
    }
}

/// The batched agents' sampling code (hip/agent.hip), run on the host, picks each episode's
/// action as the CPU trainer does (`sample_categorical` with the episode's stream): the
/// same actions, π and gradients bit for bit, decision after decision, drawing the stream by
/// its counter instead of in sequence. Needs a GPU build, not a device.
#[test]
fn agent_sampling_code_picks_the_cpu_agents_actions_bit_for_bit() {
    use snnsim::agent::train::sample_categorical;
    if backend::kernels::platform().is_none() {
        println!("agent sampling: skipped: this build has no GPU kernels");
        return;
    }
    let (episodes, o, decisions) = (7usize, 4usize, 300u64);
    let mut rngs: Vec<_> = (0..episodes as u64)
        .map(|e| snnsim::rng::stream(11, "episode", "", e))
        .collect();
    let keys: Vec<[u32; 8]> = rngs
        .iter()
        .map(|r| {
            let mut key = [0u32; 8];
            for (w, b) in key.iter_mut().zip(r.get_seed().chunks(4)) {
                *w = u32::from_le_bytes(b.try_into().unwrap());
            }
            key
        })
        .collect();
    let mut next = uniform(0x853c49e6748fea9b);
    let mut counts = [0usize; 4];
    for k in 0..decisions {
        // Logits from near-ties to one dominant action (π ≈ one-hot: the ends of the sum).
        let spread = [0.01, 1.0, 10.0, 800.0][k as usize % 4];
        let z: Vec<f64> = (0..episodes * o).map(|_| spread * (next() - 0.5)).collect();
        let got = backend::kernels::agent_sample_host(o, &z, &keys, &vec![k; episodes])
            .expect("a GPU build")
            .expect("valid arguments");
        for (e, rng) in rngs.iter_mut().enumerate() {
            let (mut pi, mut dlogp, mut dent) = (vec![0.0; o], vec![0.0; o], vec![0.0; o]);
            let a = sample_categorical(&z[e * o..(e + 1) * o], rng, &mut pi, &mut dlogp, &mut dent);
            assert_eq!(got.actions[e] as usize, a, "decision {k}, episode {e}");
            for (what, want, got) in [("pi", &pi, &got.pi), ("dlogp", &dlogp, &got.dlogp), ("dent", &dent, &got.dent)] {
                for c in 0..o {
                    assert_eq!(got[e * o + c].to_bits(), want[c].to_bits(), "decision {k}, episode {e}: {what}[{c}]");
                }
            }
            counts[a] += 1;
        }
    }
    assert!(counts.iter().all(|&c| c > 100), "every action was drawn: {counts:?}");
}

/// The device versions of the shipped environments (hip/envs.hip), run on the host, step
/// as their plugins do: from the same seeds and actions, the same observations, rewards,
/// terminations and truncations bit for bit over thousands of steps and many episodes, and
/// for the grid world the same active inputs as the CPU's encoders. A refused step (a bad
/// action, an episode that is not running) changes nothing. Needs a GPU build, not a device.
#[test]
fn environment_kernel_code_steps_as_the_plugins_do() {
    use backend::kernels::{ffi, HostEnvs, SnnkEnvParams, SnnkEnvTransition};
    use snnsim::file::Encoder;
    use snnsim::plugin::{self, Kind};
    if backend::kernels::platform().is_none() {
        println!("environment kernels: skipped: this build has no GPU kernels");
        return;
    }
    let mut next = xorshift(0x9e3779b97f4a7c15);
    let grid = |size, food, max_steps| SnnkEnvParams::gridworld(size, food, max_steps);
    let cases = [
        ("gridworld", "()", grid(15, 5, 100)),
        ("gridworld", "(size: 6, food: 20, max_steps: 40)", grid(6, 20, 40)),
        ("gridworld", "(size: 2, food: 3, max_steps: 100)", grid(2, 3, 100)),
        ("cartpole", "()", SnnkEnvParams::for_plugin("cartpole").unwrap()),
        ("pendulum", "()", SnnkEnvParams::for_plugin("pendulum").unwrap()),
        ("mountaincar", "()", SnnkEnvParams::for_plugin("mountaincar").unwrap()),
        ("acrobot", "()", SnnkEnvParams::for_plugin("acrobot").unwrap()),
        ("acrobot", "(max_steps: 30)", SnnkEnvParams::classic(ffi::ENV_ACROBOT, 30)),
    ];
    let (n, steps) = (6usize, 1500usize);
    let states = |twin: &HostEnvs| {
        let mut s = vec![backend::kernels::SnnkEnvState::default(); n];
        twin.read_states(&mut s).unwrap();
        s
    };
    for (name, params, kp) in cases {
        let case = format!("{name} {params}");
        let lib = plugin::load(name, None, Kind::Env).unwrap();
        let mut plugins: Vec<_> = (0..n).map(|_| lib.create_env(params).unwrap()).collect();
        let len = plugins[0].observation_len();
        assert_eq!(len, kp.obs_len(), "{case}: observation length");
        let discrete = plugins[0].discrete_actions();
        let mut twin = HostEnvs::on_host(kp, n).expect("a GPU build").unwrap();
        let mut want = vec![0.0; n * len];
        let mut got = vec![0.0; n * len];
        let mut seeds: Vec<u64> = (0..n).map(|_| next()).collect();
        for (a, env) in plugins.iter_mut().enumerate() {
            env.reset(seeds[a], &mut want[a * len..(a + 1) * len]).unwrap();
        }
        twin.reset(&seeds).unwrap();
        twin.read_obs(&mut got).unwrap();
        let same = |want: &[f64], got: &[f64], what: &str| {
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                assert_eq!(w.to_bits(), g.to_bits(), "{case}: {what}, value {i}: {w} vs {g}");
            }
        };
        same(&want, &got, "first observations");
        let (mut ended, mut terminated, mut reward_sum) = (0, 0, 0.0);
        let mut out = vec![SnnkEnvTransition::default(); n];
        let mut active = vec![0u32; n * kp.max_active()];
        let mut n_active = vec![0u32; n];
        for step in 0..steps {
            let actions: Vec<f64> = (0..n)
                .map(|_| match discrete {
                    Some(k) => (next() % k as u64) as f64,
                    None => (next() >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 3.0,
                })
                .collect();
            twin.step(&actions).unwrap();
            twin.read_obs(&mut got).unwrap();
            twin.read_transitions(&mut out).unwrap();
            for (a, env) in plugins.iter_mut().enumerate() {
                let t = env.step(&actions[a..a + 1], &mut want[a * len..(a + 1) * len]).unwrap();
                let o = out[a];
                let at = format!("step {step}, episode {a}");
                assert_eq!(o.status, ffi::ENV_OK, "{case}: {at}");
                assert_eq!(o.reward.to_bits(), t.reward.to_bits(), "{case}: {at}: reward");
                assert_eq!((o.terminated != 0, o.truncated != 0), (t.terminated, t.truncated), "{case}: {at}: ends");
                reward_sum += t.reward;
            }
            same(&want, &got, &format!("observations after step {step}"));
            if kp.is_grid() {
                for (encoder, code) in [
                    (Encoder::Identity, ffi::ENCODER_IDENTITY),
                    (Encoder::Egocentric { size: kp.size as usize }, ffi::ENCODER_EGOCENTRIC),
                ] {
                    twin.list_active(code).unwrap();
                    twin.read_active(&mut active, &mut n_active).unwrap();
                    for a in 0..n {
                        let mut cpu = Vec::new();
                        encoder.active(&want[a * len..(a + 1) * len], &mut cpu);
                        let base = a * kp.max_active();
                        assert_eq!(&active[base..base + n_active[a] as usize], &cpu[..], "{case}: step {step}, episode {a}: {encoder:?}");
                    }
                }
            }
            // Episodes that ended: a refused step first, then both start again from a new seed.
            let done: Vec<usize> = (0..n).filter(|&a| out[a].terminated != 0 || out[a].truncated != 0).collect();
            if !done.is_empty() {
                ended += done.len();
                terminated += done.iter().filter(|&&a| out[a].terminated != 0).count();
                let before = states(&twin);
                twin.step(&vec![0.0; n]).unwrap();
                twin.read_transitions(&mut out).unwrap();
                let after = states(&twin);
                for &a in &done {
                    assert_eq!(out[a].status, ffi::ENV_NOT_RUNNING, "{case}: stepping ended episode {a}");
                    assert_eq!(after[a], before[a], "{case}: a refused step changed episode {a}");
                }
                // That step moved the others: set every plugin to the twin's episodes again by
                // resetting all of them.
                for s in seeds.iter_mut() {
                    *s = next();
                }
                for (a, env) in plugins.iter_mut().enumerate() {
                    env.reset(seeds[a], &mut want[a * len..(a + 1) * len]).unwrap();
                }
                twin.reset(&seeds).unwrap();
                twin.read_obs(&mut got).unwrap();
                same(&want, &got, &format!("observations after the resets of step {step}"));
            }
        }
        // A bad action is refused and changes nothing.
        let before = states(&twin);
        let bad = if discrete.is_some() { [7.0, 0.5, f64::NAN, -1.0, 1e300, f64::INFINITY] } else { [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, f64::NAN, f64::NAN] };
        twin.step(&bad).unwrap();
        twin.read_transitions(&mut out).unwrap();
        for a in 0..n {
            assert_eq!(out[a].status, ffi::ENV_BAD_ACTION, "{case}: bad action {}", bad[a]);
        }
        assert_eq!(states(&twin), before, "{case}: a refused action changed a state");
        println!("{case}: {steps} steps of {n} episodes agree; {ended} episodes ended, {terminated} of them terminated; rewards {reward_sum:.2}");
        assert!(ended > 0, "{case}: no episode ended");
    }
}

/// The batched agents' kernel code (hip/agent.hip), run on the host, computes a decision of
/// several agents exactly as the CPU agent does (the executor, src/exec/, and the logits of
/// src/agent/policy_net.rs): membranes, spikes, resets, logits, q and ν bit for bit, for every
/// hidden neuron, reset and surrogate. Needs a GPU build, not a device.
#[test]
fn agent_kernel_code_computes_the_cpu_agents_decisions_bit_for_bit() {
    use snnsim::exec::{Model, Net, Neuron, Params, Seq, Surrogate, Trace};
    use snnsim::agent::train::kernel_layers;
    use snnsim::file::Reset;
    use snnsim_kernels::ffi::{AGENT_RESET, AGENT_SPIKE};
    if backend::kernels::platform().is_none() {
        println!("agent kernel: skipped: this build has no GPU kernels");
        return;
    }
    let (n_in, h, o, steps) = (40, 37, 4, 10);
    // Fixed pseudo-random weights, strong enough that neurons spike and reset.
    let mut next = uniform(0x2545f4914f6cdd1d);
    let w1: Vec<f64> = (0..n_in * h).map(|_| 1.6 * next() - 0.4).collect();
    let w2: Vec<f64> = (0..h * o).map(|_| next() - 0.5).collect();
    // Five agents: no input, one input, several (repeated) inputs.
    let lists: [&[u32]; 5] = [&[], &[3], &[0, 7, 39], &[5, 5, 12, 30, 31, 2], &[17, 1]];
    let mut active = Vec::new();
    let mut starts = vec![0u32];
    for l in lists {
        active.extend_from_slice(l);
        starts.push(active.len() as u32);
    }
    let (alpha, beta) = (0.9f64, 0.8f64);
    let tau = alpha.ln() / (beta.ln() - alpha.ln()) + 1.0;
    let neurons = [
        (Model::Leaky { beta: 0.95 }, &[Reset::Zero, Reset::Subtract, Reset::NoReset][..]),
        (
            Model::Synaptic {
                alpha: 0.9,
                beta: 0.95,
            },
            &[Reset::Zero, Reset::Subtract, Reset::NoReset][..],
        ),
        (Model::Alpha { alpha, beta, tau }, &[Reset::Zero, Reset::NoReset][..]),
    ];
    let surrogates = [
        Surrogate::FastSigmoid { slope: 25.0 },
        Surrogate::Sigmoid { slope: 5.0 },
        Surrogate::Atan { alpha: 2.0 },
    ];
    let (mut total_spikes, mut total_resets) = (0, 0);
    for (neuron, resets) in neurons {
        for &reset in resets {
            for surrogate in surrogates {
                let hidden = Neuron {
                    model: neuron,
                    reset,
                    threshold: 1.0,
                };
                let readout = Neuron {
                    model: Model::Leaky { beta: 0.85 },
                    reset: Reset::NoReset,
                    threshold: 1e9,
                };
                let net = Net::chain(n_in, &[("h", h, hidden), ("out", o, readout)], surrogate)
                .unwrap();
                let shape = net.shallow().unwrap();
                let params = Params::weights(&net, vec![&w1, &w2]);
                let kl = kernel_layers(&net, shape, steps);
                let got = backend::kernels::agent_decide_host(&kl, &w1, &w2, &active, &starts)
                    .expect("a GPU build")
                    .expect("valid arguments");
                let case = format!("{neuron:?} {reset:?} {surrogate:?}");
                let mut tr = Trace::default();
                for (a, l) in lists.iter().enumerate() {
                    let inputs: Vec<(u32, f64)> = l.iter().map(|&i| (i, 1.0)).collect();
                    net.forward(&params, steps, &[Seq::Constant(&inputs)], &mut tr);
                    let (mem, spk, reset) = (&tr.pops[1].mem, &tr.pops[1].spk, &tr.pops[1].reset);
                    for t in 0..steps {
                        for j in 0..h {
                            let k = (a * steps + t) * h + j;
                            let f = got.flags[k];
                            assert_eq!(got.mem[k].to_bits(), mem[t * h + j].to_bits(), "{case}: mem a{a} t{t} j{j}");
                            assert_eq!(f & AGENT_SPIKE != 0, spk[t * h + j] != 0.0, "{case}: spike a{a} t{t} j{j}");
                            assert_eq!(f & AGENT_RESET != 0, reset[t * h + j] != 0.0, "{case}: reset a{a} t{t} j{j}");
                            total_spikes += usize::from(f & AGENT_SPIKE != 0);
                            total_resets += usize::from(f & AGENT_RESET != 0);
                        }
                    }
                    for j in 0..h {
                        let n = (0..steps).filter(|t| spk[t * h + j] != 0.0).count();
                        assert_eq!(got.counts[a * h + j] as usize, n, "{case}: count a{a} j{j}");
                    }
                    for c in 0..o {
                        let mut z = 0.0;
                        for t in 0..steps {
                            z += tr.mem(2, t)[c] / steps as f64;
                        }
                        assert_eq!(got.z[a * o + c].to_bits(), z.to_bits(), "{case}: z a{a} c{c}");
                    }
                    let (mut q, mut nu) = (vec![0.0; h], vec![0.0; h]);
                    net.policy_factors(shape, &mut tr, &mut q, &mut nu);
                    for j in 0..h {
                        assert_eq!(got.q[a * h + j].to_bits(), q[j].to_bits(), "{case}: q a{a} j{j}");
                        assert_eq!(got.nu[a * h + j].to_bits(), nu[j].to_bits(), "{case}: nu a{a} j{j}");
                    }
                }
            }
        }
    }
    // The comparison covered spiking and resetting neurons.
    assert!(total_spikes > 1000 && total_resets > 500, "{total_spikes} spikes, {total_resets} resets");
}

/// Training the foraging agent with its decisions on the GPU gives the CPU's training: the
/// same episodes (returns, food, lengths, spikes), the same weights after every batch, bit for
/// bit with the fast-sigmoid surrogate, through a growth and a pruning edit. In a GPU build
/// the lockstep driver also runs with the kernel's code on the host (no device needed); the
/// device half is skipped without a device.
#[test]
fn foraging_training_agrees_on_every_backend() {
    #[derive(Clone, Copy)]
    enum Where<'a> {
        On(&'a Backend),
        /// The kernels' code on the host: whole rounds (`true`) or lockstep decisions.
        HostTwin(bool),
    }
    let run = |w: Where| {
        let mut t = crate::foraging::trainer("foraging.ron", |f| {
            f.task.as_mut().unwrap().agent_mut().unwrap().batch = 24;
        });
        match w {
            Where::On(b) => t.set_backend(b),
            Where::HostTwin(rounds) => {
                assert!(t.set_host_twin());
                t.set_device_worlds(rounds);
            }
        }
        t.batch(24).unwrap();
        t.grow_hidden(16).unwrap();
        t.batch(24).unwrap();
        t.prune_hidden(&[0, 3, 50, 70]).unwrap();
        t.batch(20).unwrap();
        if let Where::HostTwin(rounds) = w {
            assert_eq!(t.device_ran_rounds(), rounds, "the batches ran in rounds: {rounds}");
        }
        let w = |p: &str| -> Vec<u64> {
            let proj = t.net.projection(p).unwrap();
            proj.weights.iter().map(|w| w.to_bits()).collect()
        };
        (
            t.device(),
            t.metrics.clone(),
            t.last_episode_spikes.clone(),
            w("input->hidden"),
            w("hidden->readout"),
        )
    };
    let backends = backends("foraging");
    let reference = run(Where::On(&backends[0]));
    assert!(reference.1.iter().map(|m| m.length).sum::<u32>() > 1000);
    assert!(!reference.2.is_empty(), "the recorded episode has spikes");
    let mut others: Vec<Where> = backends[1..].iter().map(Where::On).collect();
    if backend::kernels::platform().is_some() {
        others.push(Where::HostTwin(true));
        others.push(Where::HostTwin(false));
    } else {
        println!("foraging: host twin skipped: this build has no GPU kernels");
    }
    for w in others {
        let got = run(w);
        let how = match w {
            Where::HostTwin(true) => ", whole rounds",
            Where::HostTwin(false) => ", lockstep decisions",
            Where::On(_) => "",
        };
        println!("foraging: {}{how} against {}", got.0, reference.0);
        assert_eq!(got.1, reference.1, "{}: episode metrics", got.0);
        assert_eq!(got.2, reference.2, "{}: spikes of the recorded episode", got.0);
        assert!(got.3 == reference.3, "{}: input weights differ", got.0);
        assert!(got.4 == reference.4, "{}: readout weights differ", got.0);
    }
}

/// `snnsim run graphs/foraging.ron --device gpu`: without a usable GPU, exit 1 with the reason
/// and no run directory; with one, `summary.json` names the GPU and the run ends with the
/// CPU's `state_hash` (the batch runs in lockstep on the device, the episodes unchanged).
#[test]
fn foraging_runs_on_the_device_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/foraging.ron");
    let extra = ["--episodes", "48", "--batch", "24", "--threads", "2"];
    let cpu = crate::common::run_json(&file, &dir.path().join("cpu"), &extra);
    assert_eq!(cpu["device"], "cpu");
    let out = dir.path().join("gpu");
    let o = crate::common::run_out(&file, &out, &[&extra[..], &["--device", "gpu"]].concat());
    match backend::gpu::GpuDevice::open() {
        Err(why) => {
            println!("foraging device test: no GPU ({why})");
            assert_eq!(o.status.code(), Some(1));
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("device Gpu") && err.contains(&why), "{err}");
            assert!(!out.exists(), "a failed start leaves no run directory");
        }
        Ok(dev) => {
            println!("foraging device test: GPU {}", dev.info());
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let s = crate::common::summary_of(&o);
            assert!(s["device"].as_str().unwrap().starts_with("gpu: "), "{s}");
            assert_eq!(s["state_hash"], cpu["state_hash"]);
            assert_eq!(s["energy_total"], cpu["energy_total"]);
        }
    }
}
