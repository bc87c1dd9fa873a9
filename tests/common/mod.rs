//! Helpers shared by the test modules.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reference data of independent tools (Brian2, snnTorch, Gymnasium), kept in the
/// repository: `tests/reference/` (its README says which tool, version and command made each
/// file; `tests/reference/gen/` regenerates them).
pub fn reference_dir() -> PathBuf {
    root().join("tests/reference")
}

/// A reference JSON file, parsed.
pub fn reference(name: &str) -> serde_json::Value {
    let path = reference_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reference data {} is missing ({e})", path.display()));
    serde_json::from_str(&text).expect("reference JSON parses")
}

/// The snnsim binary, with the workspace's plugin libraries built beside it.
///
/// `cargo test` builds the binary a test runs but not the workspace's cdylibs (the plugins
/// and the loader's fixtures), which the simulator looks for next to its executable. The
/// first caller builds them with the same cargo and profile (cargo holds no lock while tests
/// run) and puts them beside the binary, so a bare `cargo test --release` in a fresh clone
/// passes and the tests always load plugins built from the sources they test. The build has
/// its own target directory: `cargo test` unifies dev-dependency features into the shared
/// crates, so building the plugins in the main one would make every later `cargo build`
/// rebuild them. Every test that runs the binary or loads a plugin goes through here.
pub fn exe() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_snnsim"));
        let bin_dir = exe.parent().expect("the binary has a directory");
        let profile_dir = bin_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("release");
        let profile = if profile_dir == "debug" {
            "dev"
        } else {
            profile_dir
        };
        let plugin_target = bin_dir.with_file_name("test-plugins");
        let out = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--profile", profile, "--target-dir"])
            .arg(&plugin_target)
            .args([
                "--workspace",
                "--exclude",
                "snnsim",
                "--exclude",
                "snnsim-python",
            ])
            .current_dir(root())
            .output()
            .expect("cargo starts");
        assert!(
            out.status.success(),
            "building the plugin libraries failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let built = plugin_target.join(profile_dir);
        let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
        for entry in std::fs::read_dir(&built).expect("the plugins' output directory") {
            let name = entry.expect("a directory entry").file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&format!("{prefix}snnsim_plugin_")) && name.ends_with(suffix) {
                // A new file renamed into place: a process that has the old one mapped keeps it.
                let tmp = bin_dir.join(format!(".{name}.tmp"));
                std::fs::copy(built.join(&*name), &tmp).expect("copy a plugin library");
                std::fs::rename(&tmp, bin_dir.join(&*name)).expect("put a plugin library in place");
            }
        }
        exe
    })
}

/// The built plugin library `name` (see [`exe`]).
pub fn plugin_file(name: &str) -> PathBuf {
    exe()
        .parent()
        .unwrap()
        .join(snnsim::plugin::file_name(name))
}

/// Runs the snnsim binary with `args`; `snnsim run` without a metrics endpoint unless the arguments ask for one: a training run
/// serves on port 8000 by default, and tests run in parallel.
pub fn snnsim(args: &[&str]) -> Output {
    let quiet_metrics = args.first() == Some(&"run")
        && !args
            .iter()
            .any(|a| a.starts_with("--metrics-port") || *a == "--no-metrics");
    Command::new(exe())
        .args(args)
        .args(quiet_metrics.then_some("--no-metrics"))
        .current_dir(root())
        .output()
        .expect("snnsim starts")
}

/// Runs `snnsim run FILE --json --out DIR ARGS...`, whatever its exit.
pub fn run_out(file: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--json",
        "--no-metrics",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    snnsim(&args)
}

/// For each case `(from, to, field)`: writes `base` with `from` (which must occur) replaced by
/// `to` into `dir/badK.ron` and runs it; the run exits 2 with a message naming the file and
/// `field`, and leaves no run directory behind.
pub fn assert_bad_fields(dir: &Path, base: &str, cases: &[(&str, &str, &str)]) {
    for (k, (from, to, field)) in cases.iter().enumerate() {
        assert!(base.contains(from), "{from}");
        let f = dir.join(format!("bad{k}.ron"));
        std::fs::write(&f, base.replace(from, to)).unwrap();
        let out = dir.join(format!("out{k}"));
        let o = run_out(&f, &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{to}: {err}");
        assert!(
            err.contains(field) && err.contains(&format!("bad{k}.ron:")),
            "{to}: {err}"
        );
        assert!(!out.exists(), "{to}: nothing is left behind");
    }
}

/// The summary: the last line of a `--json` run's standard output.
pub fn summary_of(o: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&o.stdout);
    let last = stdout.lines().last().expect("some output");
    serde_json::from_str(last).expect("the last line is the summary JSON")
}

/// The summary of `o`, a `--json` run that must have succeeded (`what` names it if not).
fn summary_of_success(o: &Output, what: std::fmt::Arguments) -> serde_json::Value {
    assert!(
        o.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    summary_of(o)
}

/// Runs `snnsim run FILE --json --out DIR ARGS...` and returns the parsed summary.
pub fn run_json(file: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let o = run_out(file, out, extra);
    summary_of_success(&o, format_args!("snnsim run {} {extra:?}", file.display()))
}

/// Starts `snnsim ARGS` (a run that writes the run directory `out`), waits until
/// `out/config.ron` is there (or the process has ended, or 20 s have passed), sleeps
/// `after_ms`, then kills it with SIGKILL (`Child::kill` on Unix). Returns whether it was still
/// running when killed.
pub fn start_and_kill(args: &[&str], out: &Path, after_ms: u64) -> bool {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = Command::new(exe())
        .args(args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("snnsim starts");
    let t0 = Instant::now();
    while !out.join("config.ron").exists() && t0.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(after_ms));
    let running = child.try_wait().unwrap().is_none();
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    running
}

/// `snnsim run --resume DIR --json --no-metrics ARGS`, which must succeed: its summary.
pub fn resume(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "run",
        "--resume",
        dir.to_str().unwrap(),
        "--json",
        "--no-metrics",
    ];
    args.extend_from_slice(extra);
    summary_of_success(&snnsim(&args), format_args!("resume of {}", dir.display()))
}

/// A run killed and resumed: starts `snnsim ARGS` (a run that checkpoints into `out`) and
/// kills it `kills_ms[0]` ms after its `config.ron` appears ([`start_and_kill`]); for each
/// later entry of `kills_ms`, resumes it (`snnsim run --resume OUT AGAIN...`) and kills that
/// likewise; then resumes it to its end ([`resume`] with `last`). Returns the final summary
/// and how many of the kills landed while the run was still going.
pub fn kill_and_resume(
    args: &[&str],
    out: &Path,
    kills_ms: &[u64],
    again: &[&str],
    last: &[&str],
) -> (serde_json::Value, usize) {
    let mut going = 0;
    let mut resumed = vec!["run", "--resume", out.to_str().unwrap()];
    resumed.extend_from_slice(again);
    for (k, &after_ms) in kills_ms.iter().enumerate() {
        let args = if k == 0 { args } else { &resumed[..] };
        going += usize::from(start_and_kill(args, out, after_ms));
    }
    (resume(out, last), going)
}
