//! Structural policies as plugins (kind `structure`): the graph file's former `structure`
//! fields are the `rate_threshold` plugin, which trains exactly as the same plugin named
//! explicitly; errors in a `structure` section name its field; a resumed run keeps the
//! policy's state.

use crate::common::{root, run_json, snnsim};
use std::path::PathBuf;

/// graphs/foraging-rate-threshold.ron (graphs/foraging.ron with the `rate_threshold` policy)
/// with its `structure: (...)` replaced by `structure`.
fn foraging_with(structure: &str, dir: &std::path::Path) -> PathBuf {
    let text =
        std::fs::read_to_string(root().join("graphs/foraging-rate-threshold.ron")).unwrap();
    let start = text.find("structure: (").unwrap();
    let end = start + text[start..].find("),\n").unwrap() + 2;
    let path = dir.join("foraging.ron");
    std::fs::write(&path, format!("{}{}{}", &text[..start], structure, &text[end..])).unwrap();
    path
}

const FIELDS: &str = "grow_interval: 40, grow_threshold: 0.05, max_hidden: 512, \
    neurons_per_grow: 32, new_input_noise_std: 0.01, prune_interval: 20, \
    prune_threshold: 0.025, prune_fraction: 0.3, min_hidden: 32";

#[test]
fn the_former_fields_are_the_rate_threshold_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let former = foraging_with(&format!("structure: ({FIELDS}),"), dir.path());
    let a = run_json(&former, &dir.path().join("a"), &["--episodes", "160", "--quiet"]);
    let dir2 = tempfile::tempdir().unwrap();
    let explicit = foraging_with(
        &format!("structure: (plugin: \"rate_threshold\", params: ({FIELDS})),"),
        dir2.path(),
    );
    let b = run_json(&explicit, &dir2.path().join("b"), &["--episodes", "160", "--quiet"]);
    assert_eq!(a["state_hash"], b["state_hash"]);
    let edits = |d: &std::path::Path| std::fs::read_to_string(d.join("edits.csv")).unwrap();
    let (ea, eb) = (edits(&dir.path().join("a")), edits(&dir2.path().join("b")));
    assert_eq!(ea, eb);
    assert!(ea.contains("prune") && ea.contains("grow"), "edits happened:\n{ea}");
}

#[test]
fn structure_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    for (structure, field, says) in [
        (
            "structure: (plugin: \"rate_threshold\", grow_interval: 7),",
            "task.Agent.structure",
            "params",
        ),
        (
            "structure: (params: (grow_interval: 7)),",
            "task.Agent.structure.plugin",
            "need `plugin`",
        ),
        (
            "structure: (plugin: \"rate_threshold\", params: (grow_intervall: 7)),",
            "task.Agent.structure.params",
            "grow_intervall",
        ),
        (
            "structure: (plugin: \"no_such_policy\"),",
            "task.Agent.structure.plugin",
            "no_such_policy",
        ),
        (
            "structure: (plugin: \"gridworld\"),",
            "task.Agent.structure.plugin",
            "structural policy",
        ),
    ] {
        let file = foraging_with(structure, dir.path());
        let o = snnsim(&[
            "run",
            file.to_str().unwrap(),
            "--episodes",
            "16",
            "--quiet",
            "--out",
            dir.path().join("x").to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{structure}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.contains(says),
            "{structure}: wanted `{field}` and `{says}` in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A run resumed from its checkpoint at episode 80 ends as the uninterrupted run, for both
/// shipped policies: their windows and learning curves travel in the checkpoint.
#[test]
fn a_resumed_run_keeps_the_policy_state() {
    let plateau = "structure: (plugin: \"plateau\", params: (check_interval: 20, curve_window: 20, \
        warmup: 40, low_rate: 0.5, dead_rate: 0.025, plateau_tolerance: 10.0)),";
    for structure in [format!("structure: ({FIELDS}),"), plateau.to_string()] {
        let dir = tempfile::tempdir().unwrap();
        let file = foraging_with(&structure, dir.path());
        let full = dir.path().join("full");
        let args = ["--episodes", "160", "--checkpoint-every", "80", "--quiet"];
        let whole = run_json(&file, &full, &args);
        let kept = snnsim::checkpoint::list(&full);
        assert_eq!(kept.iter().map(|c| c.0).collect::<Vec<_>>(), vec![80, 160]);
        let resumed = dir.path().join("resumed");
        std::fs::create_dir_all(resumed.join("checkpoints")).unwrap();
        std::fs::copy(full.join("config.ron"), resumed.join("config.ron")).unwrap();
        let at80 = &kept[0].1;
        let to = resumed.join("checkpoints").join(at80.file_name().unwrap());
        std::fs::copy(at80, to).unwrap();
        let o = snnsim(&["run", "--resume", resumed.to_str().unwrap(), "--quiet", "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let last = String::from_utf8_lossy(&o.stdout).lines().last().unwrap().to_string();
        let r: serde_json::Value = serde_json::from_str(&last).unwrap();
        assert_eq!(r["episodes"], 160);
        assert_eq!(whole["state_hash"], r["state_hash"], "{structure}");
        let edits = |d: &std::path::Path| std::fs::read_to_string(d.join("edits.csv")).unwrap();
        let e = edits(&full);
        assert_eq!(e, edits(&resumed), "{structure}");
        assert!(e.contains("grow") && e.contains("prune"), "{structure}: edits after 80:\n{e}");
    }
}

/// Synapse-level edits through the plugin ABI (the `rewire` fixture: every 32 episodes the 50
/// weakest input synapses go and 50 absent pairs come): the input projection stays at its
/// size, `edits.csv` logs the rewiring, training goes on (now on a sparse projection), and a
/// run resumed from a checkpoint between two rewirings ends as the uninterrupted one.
#[test]
fn a_policy_rewires_the_input_projection() {
    let dir = tempfile::tempdir().unwrap();
    let file = foraging_with(
        "structure: (plugin: \"rewire\", params: (every: 32, n: 50, weight: 0.02)),",
        dir.path(),
    );
    let full = dir.path().join("full");
    let args = ["--episodes", "96", "--checkpoint-every", "48", "--quiet"];
    let whole = run_json(&file, &full, &args);
    let edits = std::fs::read_to_string(full.join("edits.csv")).unwrap();
    let rewires: Vec<&str> = edits.lines().filter(|l| l.contains("rewire")).collect();
    assert_eq!(rewires.len(), 3, "{edits}");
    assert!(rewires.iter().all(|l| l.contains(",rewire,100,64")), "{edits}");
    let o = snnsim(&["inspect", full.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("68224") || text.contains("68 224"), "1 066 × 64 synapses:\n{text}");
    let kept = snnsim::checkpoint::list(&full);
    let resumed = dir.path().join("resumed");
    std::fs::create_dir_all(resumed.join("checkpoints")).unwrap();
    std::fs::copy(full.join("config.ron"), resumed.join("config.ron")).unwrap();
    let first = &kept[0].1;
    std::fs::copy(first, resumed.join("checkpoints").join(first.file_name().unwrap())).unwrap();
    let o = snnsim(&["run", "--resume", resumed.to_str().unwrap(), "--quiet", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let last = String::from_utf8_lossy(&o.stdout).lines().last().unwrap().to_string();
    let r: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(whole["state_hash"], r["state_hash"]);
}

/// The input→hidden synapse count in `snnsim inspect`'s summary of a graph file, run
/// directory or checkpoint.
fn input_nnz(path: &std::path::Path) -> usize {
    let o = snnsim(&["inspect", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("input->hidden"))
        .unwrap_or_else(|| panic!("no input projection in:\n{text}"));
    let after = line.split("nnz ").nth(1).unwrap();
    after.split_whitespace().next().unwrap().parse().unwrap()
}

/// DEEP R (plugins/deep_r) on graphs/foraging-deepr.ron: the sparse input projection is
/// rewired after every batch, its synapse count stays at the initial budget at every
/// checkpoint, and a run resumed from the checkpoint at episode 48 ends as the uninterrupted
/// one (the signs and the random stream travel in the checkpoint).
#[test]
fn deep_r_rewires_at_a_constant_synapse_count_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("graphs/foraging-deepr.ron");
    let budget = input_nnz(&file);
    // FixedProbability(p: 0.1) of 1 066 × 64 pairs.
    assert!((6_000..7_700).contains(&budget), "{budget}");
    let full = dir.path().join("full");
    let args = ["--episodes", "96", "--checkpoint-every", "48", "--quiet"];
    let whole = run_json(&file, &full, &args);
    let kept = snnsim::checkpoint::list(&full);
    assert_eq!(kept.iter().map(|c| c.0).collect::<Vec<_>>(), vec![48, 96]);
    for (_, path) in &kept {
        assert_eq!(input_nnz(path), budget, "{}", path.display());
    }
    let edits = std::fs::read_to_string(full.join("edits.csv")).unwrap();
    let rewires: Vec<&str> = edits.lines().filter(|l| l.contains(",rewire,")).collect();
    // The first check (episode 16) records the signs; then one check per batch, each with
    // some synapse that crossed zero.
    assert_eq!(rewires.len(), 5, "{edits}");
    for row in &rewires {
        let count: usize = row.split(',').nth(2).unwrap().parse().unwrap();
        // As many added as removed, and a small part of the budget.
        assert!(count > 0 && count.is_multiple_of(2) && count < budget / 10, "{row}");
    }
    assert!(!edits.contains("grow") && !edits.contains("prune"), "{edits}");
    assert_eq!(whole["final_hidden_size"], 64);

    let resumed = dir.path().join("resumed");
    std::fs::create_dir_all(resumed.join("checkpoints")).unwrap();
    std::fs::copy(full.join("config.ron"), resumed.join("config.ron")).unwrap();
    let first = &kept[0].1;
    std::fs::copy(first, resumed.join("checkpoints").join(first.file_name().unwrap())).unwrap();
    let o = snnsim(&["run", "--resume", resumed.to_str().unwrap(), "--quiet", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let last = String::from_utf8_lossy(&o.stdout).lines().last().unwrap().to_string();
    let r: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(r["episodes"], 96);
    assert_eq!(whole["state_hash"], r["state_hash"]);
    assert_eq!(edits, std::fs::read_to_string(resumed.join("edits.csv")).unwrap());
    // Another seed draws another sparse structure and rewires differently.
    let other = run_json(&file, &dir.path().join("seed2"), &["--episodes", "48", "--seed", "2", "--quiet"]);
    assert_ne!(other["state_hash"], whole["state_hash"]);
}

/// A bad `deep_r` parameter is an input error (exit 2) naming the field; the agent's readout
/// must stay all-to-all; a sparse input projection is refused by the GPU agents before
/// anything runs, and `--device auto` runs it on the CPU.
#[test]
fn deep_r_and_sparse_agent_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("graphs/foraging-deepr.ron")).unwrap();
    let run = |name: &str, text: &str, extra: &[&str]| {
        let path = dir.path().join(format!("{name}.ron"));
        std::fs::write(&path, text).unwrap();
        let out = dir.path().join(name);
        let mut args = vec!["run", path.to_str().unwrap(), "--episodes", "16", "--quiet"];
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        snnsim(&args)
    };
    for (name, from, to, says) in [
        ("check", "check_every: 16", "check_every: 0", "params.check_every: must be at least 1"),
        ("weight", "init_weight: 0.001", "init_weight: -0.5", "params.init_weight"),
        ("field", "seed: 0", "temperature: 0.1", "temperature"),
        (
            "readout",
            "post: \"readout\", connectivity: AllToAll",
            "post: \"readout\", connectivity: FixedProbability(p: 0.5)",
            "from `hidden` to `readout` must be AllToAll",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let o = run(name, &text.replace(from, to), &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: wanted `{says}` in:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let o = run("gpu", &text, &["--device", "gpu"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("input projection `input->hidden` is sparse"),
        "{stderr}"
    );
    let o = run("auto", &text, &["--device", "auto"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("running on the CPU"), "{stderr}");
}
