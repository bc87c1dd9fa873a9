//! Plugins through the real loader: listing, the handshake's refusals with their exact
//! messages and exit codes, panics, parameters, rules changing weights inside a run, an
//! environment driven across the boundary, and the plugin tutorial built from its page.
//!
//! The plugins are the workspace's own cdylibs, which `cargo build --release` puts next to the
//! `snnsim` binary.

use crate::common::{self, root, snnsim};
use snnsim::plugin::{self, Kind};
use snnsim_plugin_api::abi;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the built plugins are: beside the snnsim binary.
fn plugin_dir() -> PathBuf {
    common::exe().parent().unwrap().to_path_buf()
}

fn plugin_path(name: &str) -> PathBuf {
    let p = plugin_dir().join(plugin::file_name(name));
    assert!(
        p.is_file(),
        "{} is missing: build the workspace first (cargo build --release)",
        p.display()
    );
    p
}

/// A graph with one projection trained by `rule` (RON text of the `rule` field).
fn graph_with_rule(rule: &str) -> String {
    format!(
        r#"(
    format_version: 1,
    dt_ms: 1.0,
    duration_ms: 20.0,
    populations: [
        (name: "src", size: 2, model: SpikeTimes(times_ms: [[2.0, 8.0], [4.0]])),
        (name: "dst", size: 3, model: Lif()),
    ],
    projections: [
        (
            name: "p",
            pre: "src",
            post: "dst",
            connectivity: AllToAll,
            weight: Constant(0.5),
            rule: {rule},
        ),
    ],
)"#
    )
}

/// Runs `snnsim run` on `text`; returns the output and the file's path.
fn run_text(text: &str, dir: &Path) -> (Output, String) {
    let file = dir.join("g.ron");
    std::fs::write(&file, text).unwrap();
    let o = snnsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        dir.join("run").to_str().unwrap(),
    ]);
    (o, file.display().to_string())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn plugins_lists_the_standard_plugins_with_kind_version_and_abi() {
    let o = snnsim(&["plugins", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let find = |n: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap_or_else(|| panic!("{n} not listed: {list}"))
            .clone()
    };
    for (name, kind) in [
        ("stdp", "rule"),
        ("rstdp", "rule"),
        ("dqn", "rule"),
        ("gridworld", "env"),
        ("rate_threshold", "structure"),
        ("deep_r", "structure"),
        ("homeostatic", "structure"),
    ] {
        let p = find(name);
        assert_eq!(p["kind"], kind);
        assert_eq!(
            p["abi"],
            format!("{}.{}", abi::ABI_MAJOR, abi::ABI_MINOR),
            "{name}"
        );
        assert!(p["version"].as_str().unwrap().contains('.'));
        assert_eq!(Path::new(p["path"].as_str().unwrap()), plugin_path(name));
        assert!(p.get("error").is_none());
    }
    // A fixture built for another ABI is listed as unusable, with the reason.
    let bad = find("bad_abi");
    assert!(bad["error"]
        .as_str()
        .unwrap()
        .contains("found major 0, expected 1"));
}

#[test]
fn a_library_of_another_abi_major_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let (o, file) = run_text(&graph_with_rule(r#"(plugin: "bad_abi")"#), dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(&format!("{file}:16:")), "{e}");
    assert!(e.contains("projections[0].rule.plugin"), "{e}");
    assert!(
        e.contains("plugin `bad_abi`") && e.contains("built for plugin ABI 0.9"),
        "{e}"
    );
    assert!(e.contains("(found major 0, expected 1)"), "{e}");
    assert!(!dir.path().join("run/summary.json").exists());
}

#[test]
fn a_truncated_vtable_and_a_plugin_of_the_wrong_kind_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = run_text(&graph_with_rule(r#"(plugin: "truncated")"#), dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("vtable of 56 bytes"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(found 56, expected >= "),
        "{}",
        stderr(&o)
    );

    let (o, _) = run_text(&graph_with_rule(r#"(plugin: "wrong_kind")"#), dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains(
            "is an environment (kind env), but a learning rule is expected here (kind rule)"
        ),
        "{e}"
    );
    // The library API says the same.
    let err = plugin::load("wrong_kind", Some(&plugin_path("wrong_kind")), Kind::Rule).unwrap_err();
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn an_unknown_plugin_names_the_known_ones_and_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = run_text(&graph_with_rule(r#"(plugin: "stpd")"#), dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("plugin `stpd`: not found"), "{e}");
    assert!(e.contains(&plugin::file_name("stpd")), "{e}");
    assert!(e.contains(&plugin_dir().display().to_string()), "{e}");
    assert!(e.contains("known plugins:") && e.contains("stdp"), "{e}");
}

#[test]
fn a_bad_parameter_names_the_plugin_the_field_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (o, file) = run_text(
        &graph_with_rule(r#"(plugin: "stdp", params: (tau_plus: 20.0))"#),
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains(&format!("{file}:16:")), "{e}");
    assert!(e.contains("projections[0].rule.params"), "{e}");
    assert!(e.contains("plugin `stdp`: params.tau_plus"), "{e}");
}

#[test]
fn a_panicking_rule_stops_the_run_with_exit_1_and_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = run_text(
        &graph_with_rule(r#"(plugin: "panics", params: (after_steps: 3))"#),
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("plugin `panics`: panicked in on_step: deliberate panic at step 3"),
        "{e}"
    );
    assert!(
        e.contains("plugins/fixtures/panics/src/lib.rs"),
        "the location is kept: {e}"
    );
    assert_eq!(e.lines().count(), 1, "no raw panic output: {e}");
    assert!(!dir.path().join("run/summary.json").exists());

    // In the library: the error is returned at the step barrier and the instance is poisoned.
    let src = graph_with_rule(&format!(
        r#"(plugin: "panics", path: "{}", params: (after_steps: 3))"#,
        plugin_path("panics").display()
    ));
    let checked = snnsim::file::Source::from_text("g.ron", src)
        .load_with(&snnsim::models::Rules)
        .unwrap();
    let mut e = snnsim::engine::Engine::from_file(&checked).unwrap();
    e.run(3).unwrap();
    let err = e.step().unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(e.step, 3, "the failing step does not advance the clock");
    let again = e.step().unwrap_err().to_string();
    assert!(
        again.contains("stopped at step 3") && again.contains("deliberate panic"),
        "{again}"
    );
}

#[test]
fn gridworld_runs_across_the_boundary_and_matches_the_random_policy_yardstick() {
    let p = plugin::load("gridworld", Some(&plugin_path("gridworld")), Kind::Env).unwrap();
    assert_eq!(p.name, "gridworld");
    let mut env = p.create_env("()").unwrap();
    assert_eq!(env.observation_len(), 450);
    assert_eq!(env.discrete_actions(), Some(4));
    let mut obs = vec![0.0; 450];
    // A uniformly random policy eats 0.87 food per episode (SPEC §1.1, over 20 000 episodes).
    // Over 4 000 episodes the standard error of the mean is about 1/sqrt(4000) ≈ 0.016 food,
    // so 0.87 ± 0.06 is about four standard errors.
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut food = 0.0;
    let episodes = 4000;
    for ep in 0..episodes {
        env.reset(ep, &mut obs).unwrap();
        assert_eq!(obs[..225].iter().sum::<f64>(), 1.0, "one agent cell");
        assert_eq!(obs[225..].iter().sum::<f64>(), 5.0, "five food cells");
        loop {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let t = env.step(&[(rng % 4) as f64], &mut obs).unwrap();
            if t.reward > 0.5 {
                food += 1.0;
            }
            if t.terminated || t.truncated {
                break;
            }
        }
    }
    let mean = food / episodes as f64;
    assert!((mean - 0.87).abs() < 0.06, "random policy ate {mean}");
    // An invalid action is the plugin's error, returned as exit 1, not a crash.
    let err = env.step(&[7.0], &mut obs).unwrap_err();
    assert_eq!(err.exit_code(), 1);
}

/// A fenced block of `doc` whose info string is exactly `tag`.
fn block(doc: &str, tag: &str) -> String {
    let start = doc
        .find(&format!("```{tag}\n"))
        .unwrap_or_else(|| panic!("no ```{tag} block"));
    let body = &doc[start + tag.len() + 4..];
    body[..body.find("\n```").unwrap() + 1].to_string()
}

fn cargo(args: &[&str], target: &Path) -> Output {
    Command::new(env!("CARGO"))
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("cargo starts")
}

/// One build directory for the crates these tests scaffold, so that the SDK and serde compile
/// once (cargo's lock keeps concurrent builds apart).
fn scaffold_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-scaffolds")
}

/// docs/writing-a-plugin.md, followed as a new user would: scaffold, write the rule from the
/// page, test and build it in its own crate, see it listed, and run the page's graph file; the
/// final weights equal w_max − (w_max − w₀)(1 − eta)ⁿ exactly as the page says.
#[test]
fn the_plugin_tutorial_builds_loads_and_changes_weights_as_predicted() {
    let doc = std::fs::read_to_string(root().join("docs/writing-a-plugin.md")).unwrap();
    let code = block(&doc, "rust,plugin");
    assert!(
        code.lines().count() < 100,
        "the tutorial promises under 100 lines"
    );
    let graph = block(&doc, "ron");
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("soft_bound");
    let target = scaffold_target();

    let o = snnsim(&[
        "new-plugin",
        "soft_bound",
        "--kind",
        "rule",
        "--path",
        crate_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest = crate_dir.join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    // The scaffold builds and its own test passes before any change.
    let o = cargo(
        &["test", "--release", "-q", "--manifest-path", manifest],
        &target,
    );
    assert!(o.status.success(), "scaffold test: {}", stderr(&o));

    std::fs::write(crate_dir.join("src/lib.rs"), code).unwrap();
    let o = cargo(
        &["test", "--release", "-q", "--manifest-path", manifest],
        &target,
    );
    assert!(o.status.success(), "tutorial test: {}", stderr(&o));
    let o = cargo(
        &["build", "--release", "-q", "--manifest-path", manifest],
        &target,
    );
    assert!(o.status.success(), "tutorial build: {}", stderr(&o));

    // Only this plugin on the search path (the build directory is shared with other scaffolds).
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir(&plugin_dir).unwrap();
    let lib = plugin::file_name("soft_bound");
    std::fs::copy(target.join("release").join(&lib), plugin_dir.join(&lib)).unwrap();
    let run = |args: &[&str]| {
        Command::new(common::exe())
            .args(args)
            .env("SNNSIM_PLUGIN_PATH", &plugin_dir)
            .output()
            .unwrap()
    };
    let abi = format!(
        "abi {}.{}",
        snnsim_plugin_api::abi::ABI_MAJOR,
        snnsim_plugin_api::abi::ABI_MINOR
    );
    let o = run(&["plugins"]);
    let listing = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("soft_bound") && l.contains("rule") && l.contains(&abi)),
        "{listing}"
    );
    assert!(doc.contains(&format!("soft_bound rule 0.1.0 {abi}")), "the page's listing");

    let file = dir.path().join("soft-bound.ron");
    std::fs::write(&file, graph).unwrap();
    let out = dir.path().join("run");
    let o = run(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("weights.csv")).unwrap();
    let expected = 2.0 - 1.5 * 0.75f64.powi(4);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    for (j, row) in rows.iter().enumerate() {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(&f[..3], &["learned", "0", &j.to_string()]);
        assert_eq!(f[3].parse::<f64>().unwrap(), expected, "{csv}");
    }
    assert!(doc.contains("1.5253906"), "the page states the value");

    // An environment scaffold builds and passes its test too.
    let env_dir = dir.path().join("counter");
    let o = snnsim(&[
        "new-plugin",
        "counter",
        "--kind",
        "env",
        "--path",
        env_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let m = env_dir.join("Cargo.toml");
    let o = cargo(
        &[
            "test",
            "--release",
            "-q",
            "--manifest-path",
            m.to_str().unwrap(),
        ],
        &target,
    );
    assert!(o.status.success(), "env scaffold: {}", stderr(&o));
    // Scaffolding over an existing directory is refused.
    let o = snnsim(&[
        "new-plugin",
        "counter",
        "--kind",
        "env",
        "--path",
        env_dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// docs/writing-a-plugin.md, "A structural policy": the scaffold of `--kind structure` builds
/// and passes its own test, and so does the page's example policy put in its place.
#[test]
fn the_structural_policy_scaffold_and_the_page_example_build_and_pass_their_tests() {
    let doc = std::fs::read_to_string(root().join("docs/writing-a-plugin.md")).unwrap();
    let code = block(&doc, "rust,structure");
    assert!(
        code.lines().count() < 150,
        "the page promises under 150 lines"
    );
    assert!(code.contains("export_structure!(QuietGrowth, \"quiet_growth\")"));
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("quiet_growth");
    let target = scaffold_target();
    let o = snnsim(&[
        "new-plugin",
        "quiet_growth",
        "--kind",
        "structure",
        "--path",
        crate_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("impl StructurePolicy for QuietGrowth"), "{lib}");
    assert!(lib.contains("export_structure!(QuietGrowth, \"quiet_growth\")"));
    let manifest = crate_dir.join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let test = |what: &str| {
        // The test names appear in the output, so a crate whose tests vanished would fail.
        let o = cargo(&["test", "--release", "--manifest-path", manifest], &target);
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(o.status.success(), "{what}: {}{out}", stderr(&o));
        out
    };
    let out = test("structure scaffold");
    assert!(out.contains("silent_neurons_go_at_the_check ... ok"), "{out}");

    std::fs::write(crate_dir.join("src/lib.rs"), code).unwrap();
    let out = test("the page's policy");
    assert!(
        out.contains("grows_when_quiet_and_removes_withered_neurons_first ... ok"),
        "{out}"
    );
    let o = cargo(
        &["build", "--release", "-q", "--manifest-path", manifest],
        &target,
    );
    assert!(o.status.success(), "build: {}", stderr(&o));
    assert!(target
        .join("release")
        .join(plugin::file_name("quiet_growth"))
        .is_file());

    // An unknown kind is refused, naming the three.
    let o = snnsim(&[
        "new-plugin",
        "x",
        "--kind",
        "shape",
        "--path",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected `rule`, `env` or `structure`"),
        "{}",
        stderr(&o)
    );
}

/// `stdp` inside a run: a presynaptic train and a postsynaptic neuron driven to fire by a
/// current; the final weight equals the initial one plus the analytic pair window summed over
/// every (pre, post) pair of the recorded spikes — A₊·exp(−Δt/τ₊) for Δt = t_post − t_pre ≥ 0,
/// −A₋·exp(Δt/τ₋) for Δt < 0 (additive, far from the bounds).
#[test]
fn stdp_in_a_run_changes_the_weight_by_the_analytic_window() {
    let text = format!(
        r#"(format_version: 1, dt_ms: 0.5, duration_ms: 200.0,
    populations: [
        (name: "pre", size: 1, model: SpikeTimes(times_ms: [[12.0, 47.5, 90.0, 131.0, 170.5]])),
        (name: "post", size: 1, model: Lif(tau_m_ms: 10.0, v_rest_mv: 0.0, v_reset_mv: 0.0,
            v_th_mv: 1.0, refractory_ms: 2.0)),
    ],
    projections: [(name: "p", pre: "pre", post: "post", connectivity: AllToAll,
        weight: Constant(0.5),
        rule: (plugin: "stdp", path: "{}", params: (tau_plus_ms: 16.8, tau_minus_ms: 33.7,
            a_plus: 0.01, a_minus: 0.012, w_min: -10.0, w_max: 10.0)))],
    stimuli: [Dc(target: "post", amplitude_na: 1.15)],
    recorders: [Spikes(population: "pre"), Spikes(population: "post")],
)"#,
        plugin_path("stdp").display()
    );
    let checked = snnsim::file::Source::from_text("stdp.ron", text)
        .load_with(&snnsim::models::Rules)
        .unwrap();
    // The constant weight is kept once until the rule attaches, which gives every synapse
    // its own.
    let built = snnsim::graph::build(&checked).expect("builds");
    assert_eq!(built.projection("p").unwrap().weights.shared(), Some(0.5));
    let mut e = snnsim::engine::Engine::from_file(&checked).unwrap();
    assert_eq!(
        e.net.projection("p").unwrap().weights.per_synapse(),
        Some(&[0.5][..])
    );
    e.run(checked.steps()).unwrap();
    let times = |k: u32| -> Vec<f64> {
        e.spikes
            .events
            .iter()
            .filter(|s| s.1 == k)
            .map(|s| s.0 as f64 * 0.5)
            .collect()
    };
    let (post, pre) = (times(0), times(1)); // recorded in name order: post, pre
    assert_eq!(pre, vec![12.0, 47.5, 90.0, 131.0, 170.5]);
    assert!(post.len() >= 5, "the post neuron must fire: {post:?}");
    let mut dw = 0.0;
    for &tp in &pre {
        for &tq in &post {
            let d = tq - tp;
            dw += if d >= 0.0 {
                0.01 * (-d / 16.8).exp()
            } else {
                -0.012 * (d / 33.7).exp()
            };
        }
    }
    let w = e.net.projection("p").unwrap().weights.get(0);
    assert!(
        (w - (0.5 + dw)).abs() < 1e-12,
        "w = {w}, expected {}",
        0.5 + dw
    );
    assert!(
        dw.abs() > 1e-3,
        "the pairs must change the weight measurably"
    );
}

/// The `old_abi` fixture: a rule vtable of ABI 1.4 (no `td_loss` and later), written by hand.
fn old_abi_graph() -> String {
    graph_with_rule(&format!(
        r#"(plugin: "old_abi", path: "{}", params: (dw: 0.01))"#,
        plugin_path("old_abi").display()
    ))
}

#[test]
fn a_rule_of_plugin_abi_1_4_loads_and_trains_in_a_run() {
    let checked = snnsim::file::Source::from_text("old.ron", old_abi_graph())
        .load_with(&snnsim::models::Rules)
        .unwrap();
    let mut e = snnsim::engine::Engine::from_file(&checked).unwrap();
    e.run(checked.steps()).unwrap();
    // Pre 0 fires at 2 and 8 ms, pre 1 at 4 ms: each spike adds dw = 0.01 to its row.
    let w = e.net.projection("p").unwrap().weights.per_synapse().unwrap().to_vec();
    let want = [0.52, 0.52, 0.52, 0.51, 0.51, 0.51];
    assert_eq!(w.len(), 6);
    for (g, x) in w.iter().zip(want) {
        assert!((g - x).abs() < 1e-12, "weights {w:?}, expected {want:?}");
    }
    // The same through the binary.
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = run_text(&old_abi_graph(), dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_rule_of_plugin_abi_1_4_is_refused_the_calls_of_later_minors() {
    let p = plugin::load("old_abi", Some(&plugin_path("old_abi")), Kind::Rule).unwrap();
    let shape = abi::ProjShapeV1 {
        n_pre: 2,
        n_post: 3,
        nnz: 6,
        dt_ms: 1.0,
    };
    let mut r = p.create_rule("(dw: 0.01)", shape).unwrap();
    assert_eq!(r.abi_minor(), 4);
    assert!(r.is_critic_rule() && !r.is_value_rule() && !r.is_distributional_rule());
    assert!(!r.is_blockwise());
    let null = std::ptr::null_mut::<f64>();
    let mut batch = abi::TdBatchV1 {
        n: 0,
        n_actions: 0,
        n_step: 0,
        q: null,
        q_next_online: null,
        q_next_target: null,
        actions: std::ptr::null(),
        rewards: null,
        steps: std::ptr::null(),
        terminal: std::ptr::null(),
        weights: null,
        dq: null,
        td: null,
        loss: 0.0,
    };
    let e = r.td_loss(&mut batch).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let m = e.to_string();
    assert!(m.contains("old_abi") && m.contains("`td_loss` needs plugin ABI 1.5"), "{m}");
    let m = r.save_parts().unwrap_err().to_string();
    assert!(m.contains("old_abi") && m.contains("ABI 1.7"), "{m}");
    let m = r.load_parts(&Default::default()).unwrap_err().to_string();
    assert!(m.contains("old_abi") && m.contains("ABI 1.7"), "{m}");
    assert!(!r.is_poisoned(), "a refused call does not reach the plugin");
}
