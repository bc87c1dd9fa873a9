//! Distributed training and experiments (docs/distributed.md) on in-process ranks
//! (`comm::Local`): 1–4 ranks × 1–2 threads give one process's state hash, checkpoint bytes,
//! metrics and `experiment.csv`, bit for bit; a failing rank stops every rank with its error.
//! The same runs under `mpirun` are `.ci/mpi`'s.

use crate::foraging::{foraging_text, trainer};
use snnsim::app::{self, RunOptions};
use snnsim::comm::{CommRef, Local};
use std::path::{Path, PathBuf};

/// What a trained agent leaves: state hash, checkpoint bytes, metrics, edits.
#[derive(Debug, PartialEq)]
struct Trained {
    hash: String,
    state: Vec<u8>,
    metrics: Vec<snnsim::agent::train::EpisodeMetrics>,
    edits: usize,
}

fn train(file: &str, episodes: u64, threads: usize, comm: Option<CommRef>) -> Trained {
    let mut t = trainer(file, |f| f.seed = 5);
    t.set_threads(threads).unwrap();
    if let Some(c) = comm {
        t.set_comm(c);
    }
    t.train(episodes, |_| {}).unwrap();
    Trained {
        hash: snnsim::engine::hash::state_hash(&t.net, t.episodes_done),
        state: t.save_state().unwrap(),
        metrics: t.metrics.clone(),
        edits: t.edits.len(),
    }
}

#[test]
fn training_on_1_to_4_ranks_equals_one_process() {
    // Batches of 16 episodes: 3 ranks get blocks of 6, 5, 5. Growth (aggressive: every 25
    // episodes) and the plateau policy edit the network between batches.
    for (file, episodes) in [
        ("foraging-aggressive-growth.ron", 96),
        ("foraging.ron", 80),
    ] {
        let one = train(file, episodes, 1, None);
        assert_eq!(one.metrics.len(), episodes as usize);
        if file.contains("growth") {
            assert!(one.edits > 0, "{file}: no structural edit to test");
        }
        for ranks in 1..=4 {
            for threads in 1..=2 {
                let got = Local::run(ranks, |c| train(file, episodes, threads, Some(c)));
                for (r, g) in got.iter().enumerate() {
                    assert_eq!(g.hash, one.hash, "{file}: {ranks} ranks × {threads} threads, rank {r}");
                    assert!(g.state == one.state, "{file}: checkpoint of rank {r} of {ranks} differs");
                    assert_eq!(g.metrics, one.metrics, "{file}: metrics of rank {r} of {ranks}");
                }
            }
        }
    }
}

/// A foraging graph file with plugin paths, written into `dir`.
fn graph_in(dir: &Path, file: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, foraging_text(file)).unwrap();
    p
}

fn run_opts(file: &Path, out: PathBuf, comm: Option<CommRef>) -> RunOptions {
    RunOptions {
        file: file.to_path_buf(),
        out: Some(out),
        episodes: Some(64),
        threads: Some(1),
        checkpoint_every: Some(32),
        comm,
        ..RunOptions::default()
    }
}

#[test]
fn a_training_run_on_ranks_writes_one_run_directory_and_resumes_on_other_counts() {
    let dir = tempfile::tempdir().unwrap();
    let f = graph_in(dir.path(), "foraging-aggressive-growth.ron");
    let one = app::train(&run_opts(&f, dir.path().join("one"), None), &mut |_| {}).unwrap();
    assert_eq!(one.ranks, 1);
    let got = Local::run(3, |c| {
        let rank = c.rank();
        let out = dir.path().join(format!("three-{rank}"));
        app::train(&run_opts(&f, out, Some(c)), &mut |_| {}).unwrap()
    });
    for s in &got {
        assert_eq!(s.state_hash, one.state_hash);
        assert_eq!(s.ranks, 3);
    }
    // Rank 0 alone wrote, and wrote what one process writes.
    assert!(!dir.path().join("three-1").exists() && !dir.path().join("three-2").exists());
    for name in ["metrics.csv", "edits.csv", "weights.csv", "config.ron"] {
        let a = std::fs::read(dir.path().join("one").join(name)).unwrap();
        let b = std::fs::read(dir.path().join("three-0").join(name)).unwrap();
        assert!(a == b, "{name} differs");
    }
    let ck = |d: &str| {
        let mut v: Vec<_> = std::fs::read_dir(dir.path().join(d).join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ck("one"), ck("three-0"));

    // Stop a 2-rank run at its first checkpoint (32 episodes) by training only that far, then
    // resume the run directory on 3 ranks and on one process: both end at one process's hash.
    let half = |out: PathBuf, comm| RunOptions {
        episodes: Some(32),
        ..run_opts(&f, out, comm)
    };
    let two = dir.path().join("two");
    Local::run(2, |c| {
        let out = if c.rank() == 0 { two.clone() } else { dir.path().join("unused") };
        app::train(&half(out, Some(c)), &mut |_| {}).unwrap()
    });
    let copy = dir.path().join("two-copy");
    std::fs::create_dir_all(copy.join("checkpoints")).unwrap();
    for entry in walk(&two) {
        let rel = entry.strip_prefix(&two).unwrap();
        std::fs::copy(&entry, copy.join(rel)).unwrap();
    }
    let resume = |d: &Path, comm| RunOptions {
        episodes: Some(64),
        comm,
        ..app::resume_options(d)
    };
    let three = Local::run(3, |c| app::train(&resume(&two, Some(c)), &mut |_| {}).unwrap());
    for s in &three {
        assert_eq!(s.state_hash, one.state_hash, "resumed on 3 ranks");
    }
    let alone = app::train(&resume(&copy, None), &mut |_| {}).unwrap();
    assert_eq!(alone.state_hash, one.state_hash, "resumed on one process");
    let m = |d: &Path| std::fs::read(d.join("metrics.csv")).unwrap();
    assert!(m(&two) == m(&dir.path().join("one")) && m(&copy) == m(&two));
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// An experiment of two configurations × three seeds, 40 episodes each, with adaptation.
fn experiment_in(dir: &Path) -> PathBuf {
    graph_in(dir, "foraging-aggressive-growth.ron");
    graph_in(dir, "foraging-fixed64.ron");
    let p = dir.join("exp.ron");
    std::fs::write(
        &p,
        r#"(
    format_version: 1,
    configurations: [
        (name: "growing", graph: "foraging-aggressive-growth.ron"),
        (name: "fixed64", graph: "foraging-fixed64.ron"),
    ],
    seeds: [1, 2, 3],
    episodes: 40,
    adaptation: (environment_params: (size: 15, food: 3, max_steps: 100), episodes: 16),
    food_bar: 0.5,
)"#,
    )
    .unwrap();
    p
}

#[test]
fn an_experiment_on_ranks_writes_one_process_tables() {
    let dir = tempfile::tempdir().unwrap();
    let exp = experiment_in(dir.path());
    let one = app::experiment(&exp, &dir.path().join("one"), Some(2)).unwrap();
    let read = |d: &str, f: &str| std::fs::read(dir.path().join(d).join(f)).unwrap();
    for ranks in 2..=4 {
        for threads in 1..=2 {
            let name = format!("r{ranks}t{threads}");
            let got = Local::run(ranks, |c| {
                let out = dir.path().join(if c.rank() == 0 { name.clone() } else { format!("{name}-{}", c.rank()) });
                app::experiment_on(&*c, &exp, &out, Some(threads)).unwrap()
            });
            for runs in &got {
                assert_eq!(runs, &one);
            }
            for f in ["experiment.csv", "experiment.md", "runs.csv"] {
                assert!(read("one", f) == read(&name, f), "{f} differs on {ranks} ranks × {threads}");
            }
            assert!(!dir.path().join(format!("{name}-1")).exists(), "rank 1 wrote");
        }
    }
}

#[test]
fn a_rank_that_cannot_read_its_file_stops_every_rank_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let exp = experiment_in(dir.path());
    let missing = dir.path().join("nowhere/exp.ron");
    let got = Local::run(3, |c| {
        let path = if c.rank() == 1 { missing.clone() } else { exp.clone() };
        app::experiment_on(&*c, &path, &dir.path().join("out"), Some(1))
    });
    for r in got {
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let msg = e.to_string();
        assert!(msg.starts_with("rank 1: ") && msg.contains("nowhere/exp.ron"), "{msg}");
    }
    assert!(!dir.path().join("out").exists(), "nothing is written when a rank fails");
}

/// A shipped control graph with its plugins' paths, written into `dir`.
fn control_graph_in(dir: &Path, file: &str, plugins: &[&str]) -> PathBuf {
    let mut text = std::fs::read_to_string(crate::common::root().join("graphs").join(file)).unwrap();
    for p in plugins {
        let path = crate::common::plugin_file(p);
        text = text.replace(
            &format!("(plugin: \"{p}\""),
            &format!("(plugin: \"{p}\", path: \"{}\"", path.display()),
        );
    }
    let out = dir.join(file);
    std::fs::write(&out, text).unwrap();
    out
}

#[test]
fn control_training_on_1_to_4_ranks_equals_one_process() {
    let dir = tempfile::tempdir().unwrap();
    // Pendulum: Gaussian policy and a critic (A2C); CartPole: categorical, REINFORCE.
    for (file, plugins, episodes) in [
        ("pendulum.ron", ["pendulum", "a2c"], 40),
        ("cartpole.ron", ["cartpole", "reinforce"], 40),
    ] {
        let f = control_graph_in(dir.path(), file, &plugins);
        let opts = |out: PathBuf, threads, comm| RunOptions {
            file: f.clone(),
            out: Some(out),
            episodes: Some(episodes),
            threads: Some(threads),
            comm,
            ..RunOptions::default()
        };
        let one_dir = dir.path().join(format!("{file}-one"));
        let one = app::train_control(&opts(one_dir.clone(), 1, None), &mut |_| {}).unwrap();
        let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
        let ck = |d: &Path| {
            let mut v: Vec<_> = std::fs::read_dir(d.join("checkpoints"))
                .unwrap()
                .map(|e| std::fs::read(e.unwrap().path()).unwrap())
                .collect();
            v.sort();
            v
        };
        for ranks in 2..=4 {
            for threads in 1..=2 {
                let out = dir.path().join(format!("{file}-{ranks}-{threads}"));
                let got = Local::run(ranks, |c| {
                    let o = if c.rank() == 0 { out.clone() } else { out.with_extension("x") };
                    app::train_control(&opts(o, threads, Some(c)), &mut |_| {}).unwrap()
                });
                for s in &got {
                    assert_eq!(s.state_hash, one.state_hash, "{file}: {ranks} ranks × {threads}");
                    assert_eq!(s.ranks, ranks);
                }
                assert!(read(&out, "metrics.csv") == read(&one_dir, "metrics.csv"), "{file}");
                assert!(ck(&out) == ck(&one_dir), "{file}: checkpoints differ on {ranks} ranks");
                assert!(!out.with_extension("x").exists());
            }
        }
    }
}
