//! A simulation split across in-process ranks (`comm::Local`, docs/distributed.md): 1–4 ranks
//! × 1–2 threads give one process's `state_hash`, spikes and summary counts bit for bit, on
//! CUBA, COBA and a network with Poisson sources, Poisson inputs (over all neurons and over a
//! list), DC stimuli on a neuron list, per-synapse weights and delays, plastic projections and a
//! structural policy that grows and prunes synapses; a checkpoint written on 2 ranks resumes on
//! 3 and on 1 to the uninterrupted run; what is not split yet is refused.
//! The same comparisons under `mpirun` are `.ci/mpi`'s.

use snnsim::app::{self, RunOptions, Summary};
use snnsim::comm::{CommRef, Local};
use std::path::{Path, PathBuf};

/// A network that takes every distributed path: populations of several update chunks (4 096
/// neurons) and of less than one, Poisson sources and inputs (blocks of whole chunks), stimuli on
/// neuron lists, per-synapse weights and delays, both receptors.
const MIXED: &str = r#"(format_version: 1, dt_ms: 0.1, duration_ms: 30.0, seed: 11,
    populations: [
      (name: "drive", size: 9000, model: Poisson(rate_hz: 40.0)),
      (name: "cells", size: 10000, model: Lif(v_th_mv: -50.0),
       init: { "v": Uniform(low: -70.0, high: -50.0) }),
      (name: "coba", size: 700, model: CobaLif(),
       init: { "v": Uniform(low: -65.0, high: -50.0) }),
    ],
    projections: [
      (pre: "drive", post: "cells", connectivity: FixedProbability(p: 0.01),
       weight: Normal(mean: 0.6, std: 0.2), delay_ms: Uniform(low: 0.1, high: 0.5)),
      (name: "rec", pre: "cells", post: "cells", receptor: Inh,
       connectivity: FixedProbability(p: 0.002), weight: Constant(-0.3), delay_ms: Constant(0.2)),
      (pre: "cells", post: "coba", connectivity: FixedProbability(p: 0.02),
       weight: Uniform(low: 0.0, high: 0.004)),
    ],
    stimuli: [
      PoissonInput(target: "coba", rate_hz: 2000.0, weight: 0.002),
      PoissonInput(target: "cells", rate_hz: 3000.0, weight: 0.5, neurons: [3, 4100, 4101, 9999]),
      Dc(target: "cells", amplitude_na: 2.0, neurons: [0, 1, 5000, 9998]),
    ],
    recorders: [Spikes(population: "cells"), Spikes(population: "coba"), Spikes(population: "drive")])"#;

/// A network whose smallest delay is 3 steps (0.3 ms): the ranks exchange once per 3 steps.
const DELAYED: &str = r#"(format_version: 1, dt_ms: 0.1, duration_ms: 30.1, seed: 12,
    populations: [
      (name: "drive", size: 5000, model: Poisson(rate_hz: 60.0)),
      (name: "cells", size: 6000, model: Lif(v_th_mv: -50.0),
       init: { "v": Uniform(low: -70.0, high: -50.0) }),
    ],
    projections: [
      (pre: "drive", post: "cells", connectivity: FixedProbability(p: 0.02),
       weight: Normal(mean: 0.5, std: 0.2), delay_ms: Uniform(low: 0.3, high: 0.9)),
      (name: "rec", pre: "cells", post: "cells", receptor: Inh,
       connectivity: FixedProbability(p: 0.005), weight: Constant(-0.4), delay_ms: Constant(1.5)),
    ],
    stimuli: [PoissonInput(target: "cells", rate_hz: 2000.0, weight: 0.3)],
    recorders: [Spikes(population: "cells"), Spikes(population: "drive")])"#;

/// A plastic network: `stdp` on the input (one-step delays: an exchange every step) and
/// `rstdp` on the recurrent projection (per-synapse eligibility, a rule state of its own);
/// `{delay}` sets the smallest delay, `{stdp}` and `{rstdp}` the plugin files.
const PLASTIC: &str = r#"(format_version: 1, dt_ms: 0.1, duration_ms: 30.0, seed: 13,
    populations: [
      (name: "drive", size: 3000, model: Poisson(rate_hz: 50.0)),
      (name: "exc", size: 5000, model: Lif(v_th_mv: -50.0),
       init: { "v": Uniform(low: -70.0, high: -50.0) }),
    ],
    projections: [
      (name: "in", pre: "drive", post: "exc", connectivity: FixedProbability(p: 0.02),
       weight: Uniform(low: 0.2, high: 0.8), delay_ms: Uniform(low: {delay}, high: 0.6),
       rule: (plugin: "stdp", path: "{stdp}", params: (a_plus: 0.02, a_minus: 0.021, w_max: 1.0))),
      (name: "rec", pre: "exc", post: "exc", connectivity: FixedProbability(p: 0.01),
       weight: Constant(0.3), delay_ms: Constant(0.5), rule: (plugin: "rstdp", path: "{rstdp}")),
    ],
    stimuli: [PoissonInput(target: "exc", rate_hz: 4000.0, weight: 2.0)],
    recorders: [Spikes(population: "exc"), Weights(projection: "in"), Weights(projection: "rec")])"#;

/// [`PLASTIC`] with the smallest delay `delay` (ms) and the built plugins.
fn plastic(delay: &str) -> String {
    let plugin = |n: &str| crate::common::plugin_file(n).display().to_string();
    PLASTIC
        .replace("{delay}", delay)
        .replace("{stdp}", &plugin("stdp"))
        .replace("{rstdp}", &plugin("rstdp"))
}

/// Exchanges of a run over steps `first..end` with `interval` steps per exchange: one per
/// interval touched (the last one cut short by the end).
fn exchanges(first: u64, end: u64, interval: u64) -> u64 {
    (end - 1) / interval - first / interval + 1
}

fn opts(file: &Path, out: PathBuf, threads: usize, comm: Option<CommRef>) -> RunOptions {
    RunOptions {
        file: file.to_path_buf(),
        out: Some(out),
        threads: Some(threads),
        comm,
        ..RunOptions::default()
    }
}

/// What two runs must share: hash, steps, events, synapses, per-population counts, spikes.csv,
/// weights.csv (when recorded).
type Essence = (String, u64, u64, u64, Vec<(String, usize, u64)>, Vec<u8>, Option<Vec<u8>>);

fn essence(s: &Summary, dir: &Path) -> Essence {
    (
        s.state_hash.clone(),
        s.steps,
        s.synaptic_events,
        s.synapses,
        s.populations
            .iter()
            .map(|(k, p)| (k.clone(), p.size, p.spikes))
            .collect(),
        std::fs::read(dir.join("spikes.csv")).unwrap(),
        std::fs::read(dir.join("weights.csv")).ok(),
    )
}

fn files(dir: &Path) -> Vec<(PathBuf, Option<String>)> {
    vec![
        (
            crate::common::root().join("graphs/cuba.ron"),
            Some("200".into()),
        ),
        (
            crate::common::root().join("graphs/coba.ron"),
            Some("100".into()),
        ),
        ({
            let p = dir.join("mixed.ron");
            std::fs::write(&p, MIXED).unwrap();
            p
        }, None),
        ({
            let p = dir.join("delayed.ron");
            std::fs::write(&p, DELAYED).unwrap();
            p
        }, None),
        ({
            let p = dir.join("plastic.ron");
            std::fs::write(&p, plastic("0.1")).unwrap();
            p
        }, None),
        ({
            let p = dir.join("plastic-delayed.ron");
            std::fs::write(&p, plastic("0.3")).unwrap();
            p
        }, None),
    ]
}

#[test]
fn a_simulation_on_1_to_4_ranks_equals_one_process() {
    let dir = tempfile::tempdir().unwrap();
    for (file, ms) in files(dir.path()) {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let duration_ms = ms.map(|m| m.parse().unwrap());
        let out = dir.path().join(format!("{name}-one"));
        let one = app::run(&RunOptions {
            duration_ms,
            ..opts(&file, out.clone(), 1, None)
        })
        .unwrap();
        assert_eq!(one.ranks, 1);
        assert!(one.exchange.is_none());
        let want = essence(&one, &out);
        assert!(want.5.len() > 1000, "{name}: too few spikes to compare");
        for ranks in 1..=4 {
            for threads in 1..=2 {
                let out = dir.path().join(format!("{name}-{ranks}-{threads}"));
                let got = Local::run(ranks, |c| {
                    app::run(&RunOptions {
                        duration_ms,
                        ..opts(&file, out.clone(), threads, Some(c))
                    })
                    .unwrap()
                });
                for (r, s) in got.iter().enumerate() {
                    assert_eq!(s.state_hash, one.state_hash, "{name}: {ranks} ranks × {threads} threads, rank {r}");
                    assert_eq!(s.ranks, ranks);
                }
                assert_eq!(essence(&got[0], &out), want, "{name}: {ranks} ranks × {threads} threads");
                if ranks > 1 {
                    let x = got[0].exchange.as_ref().expect("exchange figures");
                    let d = if name.ends_with("delayed") { 3 } else { 1 };
                    assert_eq!(x.interval_steps, d, "{name}");
                    assert_eq!(x.exchanges, exchanges(0, one.steps, d), "{name}");
                    assert!(x.bytes_sent > 0);
                }
            }
        }
    }
}

#[test]
fn a_checkpoint_on_2_ranks_resumes_on_3_and_on_1_as_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    for (file, _) in files(dir.path()).into_iter().skip(1) {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let duration_ms = 30.0;
        let whole = dir.path().join(format!("{name}-whole"));
        let one = app::run(&RunOptions {
            duration_ms: Some(duration_ms),
            ..opts(&file, whole.clone(), 2, None)
        })
        .unwrap();
        let want = essence(&one, &whole);
        // Two ranks checkpoint every 70 steps and are stopped after 150 (the run's duration
        // cut to 15 ms, as a stop would); the checkpoint at 140 is where the others resume.
        let part = dir.path().join(format!("{name}-part"));
        Local::run(2, |c| {
            app::run(&RunOptions {
                duration_ms: Some(15.0),
                checkpoint_every: Some(70),
                ..opts(&file, part.clone(), 1, Some(c))
            })
            .unwrap()
        });
        let ck = snnsim::checkpoint::list(&part);
        assert_eq!(ck.iter().map(|(at, _)| *at).collect::<Vec<_>>(), vec![70, 140, 150]);
        // Each file is the one one process writes (rank 0 streams the projections into it).
        let alone = dir.path().join(format!("{name}-alone"));
        app::run(&RunOptions {
            duration_ms: Some(15.0),
            checkpoint_every: Some(70),
            ..opts(&file, alone.clone(), 1, None)
        })
        .unwrap();
        for ((at, split), (_, one)) in ck.iter().zip(snnsim::checkpoint::list(&alone)) {
            let same = std::fs::read(split).unwrap() == std::fs::read(one).unwrap();
            assert!(same, "{name}: the checkpoint at step {at} differs from one process's");
        }
        std::fs::remove_file(&ck[2].1).unwrap();
        for ranks in [3, 1] {
            // The copied config says 15 ms: resume with the full duration.
            let (resumed, copy) = resume_copy(&part, &name, ranks, duration_ms);
            assert_eq!(resumed[0].state_hash, one.state_hash, "{name}: 2 ranks → {ranks}");
            if ranks > 1 {
                // It went on from step 140, not from the start (the config's checkpoints at
                // 210 and 280 may each exchange a cut interval once more).
                let x = resumed[0].exchange.as_ref().unwrap();
                let least = exchanges(140, one.steps, x.interval_steps);
                assert!(
                    (least..=least + 2).contains(&x.exchanges),
                    "{name}: {} exchanges from step 140, at least {least}",
                    x.exchanges
                );
            }
            assert_eq!(essence(&resumed[0], &copy), want, "{name}: 2 ranks → {ranks}");
        }
    }
}

/// Resumes a copy of the run directory `part` (beside it, named after `name` and `ranks`) on
/// `ranks` in-process ranks with 2 threads each, to `duration_ms`; every rank's summary and the
/// copy's path.
fn resume_copy(part: &Path, name: &str, ranks: usize, duration_ms: f64) -> (Vec<Summary>, PathBuf) {
    let copy = part.with_file_name(format!("{name}-resumed-{ranks}"));
    copy_dir(part, &copy);
    let resumed = Local::run(ranks, |c| {
        app::run(&RunOptions {
            duration_ms: Some(duration_ms),
            resume: true,
            ..opts(&copy.join("config.ron"), copy.clone(), 2, Some(c))
        })
        .unwrap()
    });
    (resumed, copy)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn what_is_not_split_yet_is_refused_on_every_rank() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(crate::common::root().join("graphs/cuba.ron"))
        .unwrap()
        .replace(
            "recorders: [",
            "recorders: [State(population: \"exc\", variables: [\"v\"], neurons: [0, 1]), ",
        );
    assert!(text.contains("State(population"), "cuba.ron has no recorders list");
    // A convolution: its kernel addresses the whole target population.
    let conv = r#"(format_version: 1, dt_ms: 0.1, duration_ms: 5.0, seed: 3,
        populations: [(name: "img", size: 16, model: Poisson(rate_hz: 200.0)),
                      (name: "map", size: 18, model: Lif())],
        projections: [(pre: "img", post: "map", delay_ms: Constant(1.0),
            connectivity: Conv2d(input: [1, 4, 4], out_channels: 2, kernel: [2, 2],
                weights: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]))],
        recorders: [Spikes(population: "map")])"#;
    for (name, text, why) in [
        ("state", text.as_str(), "State recorders"),
        ("conv", conv, "is a convolution or pooling"),
    ] {
        let file = dir.path().join(format!("{name}.ron"));
        std::fs::write(&file, text).unwrap();
        let out = dir.path().join(name);
        let got = Local::run(2, |c| {
            app::run_file(&opts(&file, out.clone(), 1, Some(c)), &mut |_| {}).map(|_| ())
        });
        for r in got {
            let e = r.unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
            assert!(e.to_string().contains("not yet distributed"), "{e}");
            assert!(e.to_string().contains(why), "{e}");
        }
        assert!(!out.exists(), "nothing is written");
        // One process runs it.
        app::run_file(&opts(&file, dir.path().join(format!("{name}-1")), 1, None), &mut |_| {})
            .unwrap();
    }
}

/// The homeostatic network of tests/homeostatic.rs, 2 s (updates every 500 ms), as is and
/// with `stdp` on `ee`, a projection that the policy grows and prunes while the rule trains
/// its block on each rank.
fn growing(dir: &Path) -> Vec<PathBuf> {
    let plain = crate::homeostatic::small(2000.0, crate::homeostatic::HOMEOSTATIC);
    let stdp = crate::common::plugin_file("stdp").display().to_string();
    let plastic = plain.replacen(
        "delay_ms: Constant(1.0)),",
        &format!(
            "delay_ms: Constant(1.0), rule: (plugin: \"stdp\", path: \"{stdp}\", \
             params: (a_plus: 0.01, a_minus: 0.0105, w_max: 3.0))),"
        ),
        1,
    );
    assert!(plastic.contains("stdp"));
    [("growing", plain), ("growing-stdp", plastic)]
        .into_iter()
        .map(|(name, text)| {
            let p = dir.join(format!("{name}.ron"));
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect()
}

/// A structural policy (`homeostatic`: synapses grow and are deleted every 500 ms) on 1–4
/// ranks × 1–2 threads gives one process's `state_hash`, spikes.csv and edits.csv; checkpointed
/// on 2 ranks, it resumes on 3 and on one process to the uninterrupted run.
#[test]
fn a_growing_and_pruning_simulation_on_1_to_4_ranks_equals_one_process() {
    let dir = tempfile::tempdir().unwrap();
    for file in growing(dir.path()) {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let out = dir.path().join(format!("{name}-one"));
        let one = app::run(&opts(&file, out.clone(), 1, None)).unwrap();
        let want = essence(&one, &out);
        let edits = std::fs::read(out.join("edits.csv")).unwrap();
        assert!(one.synapses > 100, "{name}: {} synapses grown", one.synapses);
        assert!(
            String::from_utf8_lossy(&edits).lines().any(|l| !l.ends_with(",0")),
            "{name}: no synapse added"
        );
        for ranks in 1..=4 {
            for threads in [1, 2] {
                let out = dir.path().join(format!("{name}-{ranks}-{threads}"));
                let got = Local::run(ranks, |c| {
                    app::run(&opts(&file, out.clone(), threads, Some(c))).unwrap()
                });
                for (r, s) in got.iter().enumerate() {
                    assert_eq!(s.state_hash, one.state_hash, "{name}: {ranks} ranks × {threads} threads, rank {r}");
                }
                assert_eq!(essence(&got[0], &out), want, "{name}: {ranks} ranks × {threads} threads");
                assert_eq!(std::fs::read(out.join("edits.csv")).unwrap(), edits, "{name}: {ranks} ranks");
            }
        }
        // Checkpoints every 750 ms on 2 ranks, stopped at 1 500 ms; resumed from 750 ms.
        let part = dir.path().join(format!("{name}-part"));
        Local::run(2, |c| {
            app::run(&RunOptions {
                duration_ms: Some(1500.0),
                checkpoint_every: Some(7500),
                ..opts(&file, part.clone(), 1, Some(c))
            })
            .unwrap()
        });
        let ck = snnsim::checkpoint::list(&part);
        assert_eq!(ck.iter().map(|(at, _)| *at).collect::<Vec<_>>(), vec![7500, 15000]);
        std::fs::remove_file(&ck[1].1).unwrap();
        for ranks in [3, 1] {
            let (resumed, copy) = resume_copy(&part, &name, ranks, 2000.0);
            assert_eq!(resumed[0].state_hash, one.state_hash, "{name}: 2 ranks → {ranks}");
            assert_eq!(essence(&resumed[0], &copy), want, "{name}: 2 ranks → {ranks}");
            assert_eq!(std::fs::read(copy.join("edits.csv")).unwrap(), edits, "{name}: 2 ranks → {ranks}");
        }
    }
}

/// `rstdp` with rewards, driven through the engine (a run delivers none): on 2–4 ranks,
/// steps with rewards between them (the same on every rank, some within a min-delay interval)
/// and an episode end give one process's state hash, and the state a checkpoint would hold is
/// one process's byte for byte (weights, traces and the rule's eligibility merged from the
/// blocks).
#[test]
fn rewarded_rstdp_on_2_to_4_ranks_equals_one_process() {
    let checked = snnsim::file::Source::from_text("plastic.ron", plastic("0.3"))
        .load_with(&snnsim::models::Rules)
        .unwrap();
    let drive = |e: &mut snnsim::engine::Engine, rewards: bool| -> (String, Vec<u8>) {
        for k in 0..6 {
            e.run(37).unwrap();
            if rewards {
                e.reward(if k % 2 == 0 { 1.5 } else { -0.7 }).unwrap();
            }
        }
        e.episode_end().unwrap();
        e.run(20).unwrap();
        if rewards {
            e.reward(2.0).unwrap();
        }
        let state = e.save_state_whole().unwrap();
        e.gather().unwrap();
        (e.state_hash(), state.unwrap_or_default())
    };
    let one = drive(&mut snnsim::engine::Engine::from_file(&checked).unwrap(), true);
    let unrewarded = drive(&mut snnsim::engine::Engine::from_file(&checked).unwrap(), false);
    assert_ne!(one.0, unrewarded.0, "the rewards changed no weight");
    for ranks in 2..=4 {
        let got = Local::run(ranks, |c| {
            let mut e = snnsim::engine::Engine::from_file(&checked).unwrap();
            e.distribute(c).unwrap();
            drive(&mut e, true)
        });
        assert_eq!(got[0].0, one.0, "{ranks} ranks: state_hash");
        assert!(got[0].1 == one.1, "{ranks} ranks: the checkpoint state differs");
    }
}

/// A learning rule that does not declare that it trains blocks (`reinforce`, a gradient
/// rule; or any rule built before ABI 1.7) is refused on several ranks with the reason, before
/// anything is written.
#[test]
fn a_rule_that_does_not_train_blocks_is_refused_on_several_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other-rule.ron");
    let stdp = crate::common::plugin_file("stdp").display().to_string();
    let reinforce = crate::common::plugin_file("reinforce").display().to_string();
    let text = plastic("0.1")
        .replace(&stdp, &reinforce)
        .replace("plugin: \"stdp\"", "plugin: \"reinforce\"")
        .replace("params: (a_plus: 0.02, a_minus: 0.021, w_max: 1.0)", "params: ()");
    std::fs::write(&file, text).unwrap();
    let got = Local::run(2, |c| {
        app::run(&opts(&file, dir.path().join("out"), 1, Some(c))).map(|_| ())
    });
    for r in got {
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let e = e.to_string();
        assert!(e.contains("learning rule `reinforce`") && e.contains("not yet distributed"), "{e}");
    }
    assert!(!dir.path().join("out").exists(), "nothing is written");
}

#[test]
fn a_rule_of_plugin_abi_1_4_is_refused_on_several_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old-rule.ron");
    let stdp = crate::common::plugin_file("stdp").display().to_string();
    let old = crate::common::plugin_file("old_abi").display().to_string();
    let text = plastic("0.1")
        .replace(&stdp, &old)
        .replace("plugin: \"stdp\"", "plugin: \"old_abi\"")
        .replace("params: (a_plus: 0.02, a_minus: 0.021, w_max: 1.0)", "params: (dw: 0.01)");
    std::fs::write(&file, text).unwrap();
    let got = Local::run(3, |c| {
        app::run(&opts(&file, dir.path().join("out"), 1, Some(c))).map(|_| ())
    });
    for r in got {
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let e = e.to_string();
        assert!(
            e.contains("learning rule `old_abi` (plugin ABI 1.4)")
                && e.contains("does not declare that it trains a block"),
            "{e}"
        );
    }
    assert!(!dir.path().join("out").exists(), "nothing is written");
}
