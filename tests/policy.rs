//! A trained policy loaded from a run directory or checkpoint (`snnsim::agent::Policy`): it
//! acts as the trainer decides (the same readout, bit for bit, as a trainer trained in this
//! process to the same episode), its deterministic actions are reproducible and in range, its
//! sampled actions follow π and repeat with the seed, and bad paths and observations are
//! refused with a message.

use crate::common::{plugin_file, root, run_json};
use snnsim::agent::control::ControlTrainer;
use snnsim::agent::train::Trainer;
use snnsim::agent::{ActionSpace, Policy};
use snnsim::plugin::{self, EnvInstance, Kind};
use std::path::{Path, PathBuf};

/// `graphs/<name>` written into `dir` with explicit plugin paths: the library looks for
/// plugins by name next to the running executable, which here is the test binary.
fn graph_with_plugin_paths(name: &str, dir: &Path) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join("graphs").join(name)).unwrap();
    for p in ["cartpole", "pendulum", "gridworld", "reinforce", "a2c"] {
        text = text.replace(
            &format!("(plugin: \"{p}\""),
            &format!("(plugin: \"{p}\", path: \"{}\"", plugin_file(p).display()),
        );
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The environment a policy was trained in, made from what the policy says about it.
fn environment_of(p: &Policy) -> EnvInstance {
    let (name, params) = p.environment();
    let explicit = p.spec().environment.path.as_deref().map(Path::new);
    plugin::load(name, explicit, Kind::Env)
        .unwrap()
        .create_env(params)
        .unwrap()
}

/// Observations of a few greedy episodes of `p` in its environment (at most `n`), each
/// action checked against the action space.
fn observations(p: &mut Policy, n: usize) -> Vec<Vec<f64>> {
    let mut env = environment_of(p);
    let mut obs = vec![0.0; p.observation_len()];
    let mut seen = Vec::new();
    for episode in 0..3 {
        if seen.len() >= n {
            break;
        }
        env.reset(100 + episode, &mut obs).unwrap();
        loop {
            seen.push(obs.clone());
            let a = p.act(&obs, true).unwrap();
            assert_in_space(p.action_space(), &a);
            let tr = env.step(&a, &mut obs).unwrap();
            if tr.terminated || tr.truncated || seen.len() >= n {
                break;
            }
        }
    }
    seen
}

fn assert_in_space(space: &ActionSpace, a: &[f64]) {
    match space {
        ActionSpace::Discrete(n) => {
            assert_eq!(a.len(), 1);
            assert!(a[0].fract() == 0.0 && a[0] >= 0.0 && a[0] < *n as f64, "{a:?}");
        }
        ActionSpace::Box { low, high } => {
            assert_eq!(a.len(), low.len());
            for (k, x) in a.iter().enumerate() {
                assert!((low[k]..=high[k]).contains(x), "{a:?} outside [{low:?}, {high:?}]");
            }
        }
    }
}

fn input_error(e: snnsim::Error) -> String {
    match e {
        snnsim::Error::Input(m) => m,
        other => panic!("expected bad input, got {other:?}"),
    }
}

fn load_err(path: &Path) -> String {
    match Policy::load(path) {
        Ok(_) => panic!("{} loaded as a policy", path.display()),
        Err(e) => input_error(e),
    }
}

fn ckpt(run: &Path, episodes: u64) -> PathBuf {
    run.join(format!("checkpoints/ckpt-{episodes:012}.snnck"))
}

fn argmax(z: &[f64]) -> usize {
    (0..z.len()).fold(0, |b, c| if z[c] > z[b] { c } else { b })
}

#[test]
fn a_cartpole_policy_acts_as_its_trainer_decides() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_with_plugin_paths("cartpole.ron", dir.path());
    let run = dir.path().join("run");
    let args = ["--episodes", "40", "--checkpoint-every", "20", "--threads", "1"];
    let summary = run_json(&file, &run, &args);

    let mut from_dir = Policy::load(&run).unwrap();
    let mut from_file = Policy::load(&ckpt(&run, 40)).unwrap();
    let mut earlier = Policy::load(&ckpt(&run, 20)).unwrap();
    assert_eq!(from_dir.task(), "Control");
    assert_eq!(from_dir.environment(), ("cartpole", "()"));
    assert_eq!(from_dir.observation_len(), 4);
    assert_eq!(from_dir.action_space(), &ActionSpace::Discrete(2));
    assert_eq!((from_dir.episodes(), earlier.episodes()), (40, 20));
    assert_eq!(from_dir.hidden_size(), 64);
    assert!(from_dir.origin().contains("ckpt-000000000040.snnck"));

    // The trainer, trained here to the same episode, is the run's (same state hash), and
    // its own decision function gives the policy's readout bit for bit.
    let checked = snnsim::models::load(&file).unwrap();
    let mut trainer = ControlTrainer::new(&checked).unwrap();
    trainer.train(40, |_| {}).unwrap();
    let hash = snnsim::engine::hash::state_hash(&trainer.net, 40);
    assert_eq!(summary["state_hash"], hash.as_str());

    let obs = observations(&mut from_dir, 40);
    assert!(obs.len() >= 20, "{} observations", obs.len());
    let mut moved = 0;
    for o in &obs {
        let want = trainer.readout(o).unwrap();
        assert_eq!(from_dir.readout(o).unwrap(), &want[..]);
        assert_eq!(from_file.readout(o).unwrap(), &want[..]);
        if earlier.readout(o).unwrap() != &want[..] {
            moved += 1;
        }
        // (a) Deterministic: the most probable action, again and again, from either load.
        let a = from_dir.act(o, true).unwrap();
        assert_eq!(a, vec![argmax(&want) as f64]);
        assert_eq!(from_dir.act(o, true).unwrap(), a);
        assert_eq!(from_file.act(o, true).unwrap(), a);
    }
    // (A decision in which no hidden neuron spikes reads z = 0 whatever the weights.)
    assert!(
        moved > obs.len() / 2,
        "20 more episodes of training changed {moved} of {} readouts",
        obs.len()
    );

    // (b) Sampled: the same seed gives the same actions, from either load; the actions
    // follow π = softmax(z).
    let o = &obs[obs.len() / 2];
    let draws = |p: &mut Policy, seed: u64| -> Vec<f64> {
        p.reset(Some(seed));
        (0..4000).map(|_| p.act(o, false).unwrap()[0]).collect()
    };
    let a7 = draws(&mut from_dir, 7);
    assert_eq!(draws(&mut from_file, 7), a7);
    assert_eq!(draws(&mut from_dir, 7), a7);
    assert_ne!(draws(&mut from_dir, 8), a7);
    // Without a seed, a reset keeps the stream going.
    from_dir.reset(Some(7));
    let first: Vec<f64> = (0..100).map(|_| from_dir.act(o, false).unwrap()[0]).collect();
    from_dir.reset(None);
    let next: Vec<f64> = (0..100).map(|_| from_dir.act(o, false).unwrap()[0]).collect();
    assert_eq!(first, a7[..100]);
    assert_eq!(next, a7[100..200]);
    let z = from_dir.readout(o).unwrap().to_vec();
    let pi0 = 1.0 / (1.0 + (z[1] - z[0]).exp());
    let freq0 = a7.iter().filter(|&&a| a == 0.0).count() as f64 / a7.len() as f64;
    assert!(a7.iter().all(|&a| a == 0.0 || a == 1.0));
    // 4000 draws: the frequency's standard deviation is at most 0.008.
    assert!((freq0 - pi0).abs() < 0.04, "π₀ {pi0}, frequency {freq0}");
}

#[test]
fn a_pendulum_policy_takes_the_clipped_mean_or_samples_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_with_plugin_paths("pendulum.ron", dir.path());
    let run = dir.path().join("run");
    let args = ["--episodes", "16", "--checkpoint-every", "16", "--threads", "1"];
    run_json(&file, &run, &args);
    let mut p = Policy::load(&run).unwrap();
    assert_eq!(p.environment().0, "pendulum");
    assert_eq!(
        p.action_space(),
        &ActionSpace::Box {
            low: vec![-2.0],
            high: vec![2.0]
        }
    );
    let checked = snnsim::models::load(&file).unwrap();
    let mut trainer = ControlTrainer::new(&checked).unwrap();
    trainer.train(16, |_| {}).unwrap();
    let obs = observations(&mut p, 30);
    for o in &obs {
        let z = trainer.readout(o).unwrap();
        assert_eq!(z.len(), 3, "μ, log σ and the critic");
        assert_eq!(p.readout(o).unwrap(), &z[..]);
        // μ = scale·z₀ with scale 2, clipped to [−2, 2].
        assert_eq!(p.act(o, true).unwrap(), vec![(2.0 * z[0]).clamp(-2.0, 2.0)]);
    }
    p.reset(Some(3));
    let a: Vec<f64> = (0..200).map(|_| p.act(&obs[0], false).unwrap()[0]).collect();
    assert!(a.iter().all(|x| (-2.0..=2.0).contains(x)));
    let distinct = a.iter().map(|x| x.to_bits()).collect::<std::collections::BTreeSet<_>>();
    assert!(distinct.len() > 100, "sampled actions vary: {} distinct", distinct.len());
    p.reset(Some(3));
    assert_eq!(p.act(&obs[0], false).unwrap()[0], a[0]);
}

#[test]
fn a_foraging_policy_loads_its_grown_and_pruned_network() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_with_plugin_paths("foraging.ron", dir.path());
    let run = dir.path().join("run");
    let args = ["--episodes", "160", "--checkpoint-every", "160", "--threads", "1"];
    let summary = run_json(&file, &run, &args);
    let hidden = summary["final_hidden_size"].as_u64().unwrap() as usize;
    assert_ne!(hidden, 64, "the run must edit the hidden population: {summary}");

    let mut p = Policy::load(&run).unwrap();
    assert_eq!(p.task(), "Foraging");
    assert_eq!(p.environment().0, "gridworld");
    assert_eq!(p.environment().1, "(size: 15, food: 5, max_steps: 100)");
    assert_eq!(p.observation_len(), 450);
    assert_eq!(p.action_space(), &ActionSpace::Discrete(4));
    assert_eq!(p.hidden_size(), hidden);

    let checked = snnsim::models::load(&file).unwrap();
    let mut trainer = Trainer::new(&checked).unwrap();
    trainer.train(160, |_| {}).unwrap();
    assert_eq!(trainer.hidden_size(), hidden);
    let obs = observations(&mut p, 50);
    for o in &obs {
        let z = trainer.readout(o).unwrap();
        assert_eq!(p.readout(o).unwrap(), &z[..]);
        assert_eq!(p.act(o, true).unwrap(), vec![argmax(&z) as f64]);
    }
    p.reset(Some(1));
    let a: Vec<f64> = (0..50).map(|_| p.act(&obs[0], false).unwrap()[0]).collect();
    p.reset(Some(1));
    let b: Vec<f64> = (0..50).map(|_| p.act(&obs[0], false).unwrap()[0]).collect();
    assert_eq!(a, b);
    for x in &a {
        assert_in_space(p.action_space(), &[*x]);
    }
}

#[test]
fn bad_paths_and_observations_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let why = load_err(&d.join("nothing-here"));
    assert!(why.contains("no such run directory or checkpoint"), "{why}");

    // A training run without `--checkpoint-every` still ends with a checkpoint: its policy.
    let cartpole = graph_with_plugin_paths("cartpole.ron", d);
    run_json(&cartpole, &d.join("plain"), &["--episodes", "4"]);
    assert_eq!(Policy::load(&d.join("plain")).unwrap().episodes(), 4);
    // A run directory without any checkpoint (a run stopped before its end, say).
    std::fs::remove_dir_all(d.join("plain/checkpoints")).unwrap();
    let why = load_err(&d.join("plain"));
    assert!(
        why.contains("no valid checkpoint") && why.contains("--checkpoint-every"),
        "{why}"
    );

    // A simulation run with checkpoints: its directory and its checkpoint file.
    let cuba = root().join("graphs/cuba.ron");
    let sim = d.join("sim");
    run_json(
        &cuba,
        &sim,
        &["--duration-ms", "2", "--checkpoint-every", "10"],
    );
    let why = load_err(&sim);
    assert!(why.contains("simulation run"), "{why}");
    let why = load_err(&ckpt(&sim, 20));
    assert!(why.contains("simulation run"), "{why}");

    // A graph file is not a checkpoint.
    let why = load_err(&cartpole);
    assert!(why.contains("not an snnsim checkpoint"), "{why}");

    // A run directory whose only checkpoint is damaged: the reason is given.
    let run = d.join("run");
    run_json(&cartpole, &run, &["--episodes", "4", "--checkpoint-every", "4"]);
    let mut p = Policy::load(&run).unwrap();
    let damaged = d.join("damaged");
    std::fs::create_dir_all(damaged.join("checkpoints")).unwrap();
    let bytes = std::fs::read(ckpt(&run, 4)).unwrap();
    std::fs::write(ckpt(&damaged, 4), &bytes[..bytes.len() - 9]).unwrap();
    let why = load_err(&damaged);
    assert!(why.contains("no valid checkpoint") && why.contains("truncated"), "{why}");

    // Observations of the wrong length or with a value that is not a number.
    let why = input_error(p.act(&[0.0; 3], false).unwrap_err());
    assert!(why.contains("3 values") && why.contains("expects 4"), "{why}");
    let why = input_error(p.act(&[0.0, f64::NAN, 0.0, 0.0], true).unwrap_err());
    assert!(why.contains("value 1") && why.contains("finite"), "{why}");
    assert_eq!(p.act(&[0.0; 4], true).unwrap().len(), 1);
}
