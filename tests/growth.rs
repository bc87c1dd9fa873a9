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
