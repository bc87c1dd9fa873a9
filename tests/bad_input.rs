//! Bad input: every kind of malformed or invalid graph file gives exit code 2 and a message on
//! stderr naming FILE:LINE:COL and the field path; nothing is written.

use crate::common::snnsim;

/// A valid file, one field per line, into which each case substitutes one line.
const BASE: &[&str] = &[
    "(",                                                              // 1
    "    format_version: 1,",                                         // 2
    "    dt_ms: 0.1,",                                                // 3
    "    duration_ms: 10.0,",                                         // 4
    "    populations: [",                                             // 5
    "        (name: \"a\", size: 10, model: Poisson(rate_hz: 5.0)),", // 6
    "        (name: \"b\", size: 10, model: Lif(tau_m_ms: 20.0)),",   // 7
    "    ],",                                                         // 8
    "    projections: [",                                             // 9
    "        (",                                                      // 10
    "            pre: \"a\",",                                        // 11
    "            post: \"b\",",                                       // 12
    "            connectivity: FixedProbability(p: 0.5),",            // 13
    "            weight: Constant(1.0),",                             // 14
    "            delay_ms: Constant(1.0),",                           // 15
    "        ),",                                                     // 16
    "    ],",                                                         // 17
    ")",                                                              // 18
];

/// The file with line `line` (1-based) replaced.
fn with_line(line: usize, text: &str) -> String {
    let mut lines: Vec<&str> = BASE.to_vec();
    lines[line - 1] = text;
    lines.join("\n")
}

/// Validates `text` and runs it; both must fail with exit 2 and a message naming the line and
/// containing `field` and `words`. Returns the message.
fn rejects(text: &str, line: usize, field: &str, words: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.ron");
    std::fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();
    let out = dir.path().join("run");
    let mut msg = String::new();
    for args in [
        vec!["validate", f],
        vec!["run", f, "--out", out.to_str().unwrap()],
        vec!["inspect", f],
    ] {
        let o = snnsim(&args);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        let at = format!("{f}:{line}:");
        assert!(
            stderr.contains(&at),
            "{args:?}: expected `{at}` in: {stderr}"
        );
        assert!(
            stderr.contains(field),
            "{args:?}: expected field `{field}` in: {stderr}"
        );
        assert!(
            stderr.contains(words),
            "{args:?}: expected `{words}` in: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
        msg = stderr;
    }
    assert!(
        !out.exists(),
        "a rejected run must not create its run directory"
    );
    msg
}

#[test]
fn the_base_file_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.ron");
    std::fs::write(&file, BASE.join("\n")).unwrap();
    let o = snnsim(&["validate", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn syntax_error_names_its_line() {
    // A missing comma between two fields.
    rejects(
        &with_line(13, "            connectivity: FixedProbability(p: 0.5)"),
        14,
        "projections[0]",
        "comma",
    );
}

#[test]
fn unknown_field_names_line_and_field() {
    rejects(
        &with_line(14, "            wieght: Constant(1.0),"),
        14,
        "projections[0]",
        "wieght",
    );
}

#[test]
fn wrong_type_names_line_and_field() {
    rejects(&with_line(3, "    dt_ms: \"fast\","), 3, "dt_ms", "");
}

#[test]
fn unknown_population_names_line_and_field() {
    rejects(
        &with_line(12, "            post: \"c\","),
        12,
        "projections[0].post",
        "unknown population `c`",
    );
}

#[test]
fn zero_or_negative_dt_is_rejected() {
    rejects(&with_line(3, "    dt_ms: 0.0,"), 3, "dt_ms", "> 0");
    rejects(&with_line(3, "    dt_ms: -0.1,"), 3, "dt_ms", "> 0");
}

#[test]
fn delay_shorter_than_dt_is_rejected() {
    rejects(
        &with_line(15, "            delay_ms: Constant(0.05),"),
        15,
        "projections[0].delay_ms",
        "shorter than the time step",
    );
}

#[test]
fn probability_outside_the_unit_interval_is_rejected() {
    for p in ["1.5", "-0.1"] {
        rejects(
            &with_line(
                13,
                &format!("            connectivity: FixedProbability(p: {p}),"),
            ),
            13,
            "projections[0].connectivity.FixedProbability.p",
            "outside [0, 1]",
        );
    }
}

#[test]
fn wrong_format_version_and_bad_sizes_are_rejected() {
    rejects(
        &with_line(2, "    format_version: 7,"),
        2,
        "format_version",
        "not supported",
    );
    rejects(
        &with_line(
            7,
            "        (name: \"b\", size: 0, model: Lif(tau_m_ms: 20.0)),",
        ),
        7,
        "populations[1].size",
        "at least one neuron",
    );
    rejects(
        &with_line(
            7,
            "        (name: \"b\", size: 10, model: Lif(tau_m_ms: -20.0)),",
        ),
        7,
        "populations[1].model.Lif.tau_m_ms",
        "> 0",
    );
}

#[test]
fn unknown_model_parameter_and_state_variable_are_rejected() {
    rejects(
        &with_line(
            7,
            "        (name: \"b\", size: 10, model: Lif(tau_mem_ms: 20.0)),",
        ),
        7,
        "populations[1].model",
        "tau_mem_ms",
    );
    rejects(
        &with_line(
            7,
            "        (name: \"b\", size: 10, model: Lif(), init: { \"w\": Constant(1.0) }),",
        ),
        7,
        "populations[1].init.w",
        "not a state variable",
    );
}

#[test]
fn missing_file_and_bad_flags_are_bad_input() {
    let o = snnsim(&["validate", "no/such/file.ron"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/file.ron"));
    let o = snnsim(&["run", "graphs/cuba.ron", "--threads", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = snnsim(&["run", "graphs/cuba.ron", "--duration-ms", "-5"]);
    assert_eq!(o.status.code(), Some(2));
    let o = snnsim(&["run", "graphs/cuba.ron", "--seed", "x"]);
    assert_eq!(o.status.code(), Some(2), "clap's usage errors exit 2 too");
}

#[test]
fn autapses_that_the_file_forbids_are_rejected_for_every_rule() {
    let base = BASE.join("\n");
    let one_to_one = base.replace("pre: \"a\"", "pre: \"b\"").replace(
        "FixedProbability(p: 0.5)",
        "OneToOne, allow_autapses: false",
    );
    rejects(&one_to_one, 13, "projections[0].connectivity", "autapses");
}

#[test]
fn duplicate_state_recorders_and_empty_variable_lists_are_rejected() {
    let base = BASE.join("\n");
    let two = base.replace(
        "    ],\n)",
        "    ],\n    recorders: [\n        State(population: \"b\", variables: [\"v\"], neurons: [0]),\n        State(population: \"b\", variables: [\"i_exc\"], neurons: [0]),\n    ],\n)",
    );
    rejects(&two, 20, "recorders[1].State.population", "recorded twice");
    let empty = base.replace(
        "    ],\n)",
        "    ],\n    recorders: [\n        State(population: \"b\", variables: [], neurons: [0]),\n    ],\n)",
    );
    rejects(&empty, 19, "recorders[0].State.variables", "no variable");
}

/// A shipped graph file with one edit: `old` replaced by `new` on line `line` (1-based), or,
/// with `old` empty, `new` inserted as a new line `line`.
fn edited(file: &str, line: usize, old: &str, new: &str) -> String {
    let text = std::fs::read_to_string(crate::common::root().join(file)).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if old.is_empty() {
        lines.insert(line - 1, new.to_string());
    } else {
        let l = &mut lines[line - 1];
        assert!(l.contains(old), "{file}:{line} has no `{old}`: {l}");
        *l = l.replacen(old, new, 1);
    }
    lines.join("\n") + "\n"
}

/// The 1-based column of the first `marker` on line `line` of `text`.
fn column_of(text: &str, line: usize, marker: &str) -> usize {
    let l = text.lines().nth(line - 1).unwrap();
    let byte = l
        .find(marker)
        .unwrap_or_else(|| panic!("no `{marker}` on line {line}: {l}"));
    l[..byte].chars().count() + 1
}

/// `snnsim validate` refuses `text` with exit 2 and one line `error: FILE:LINE:COL: FIELD:
/// ...` containing `words`, where COL is the column of `marker` on line `line`. Returns the
/// message.
fn refused_at(text: &str, line: usize, marker: &str, field: &str, words: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.ron");
    std::fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();
    let o = snnsim(&["validate", f]);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let col = column_of(text, line, marker);
    let at = format!("error: {f}:{line}:{col}: {field}");
    assert!(stderr.starts_with(&at), "expected `{at}…` in: {stderr}");
    assert!(stderr.contains(words), "expected `{words}` in: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    stderr
}

#[test]
fn syntax_and_type_errors_point_at_the_offending_token() {
    // (file, line, old, new, error line, marker of the error column on it, words). Each edit
    // puts one faulty token into a shipped file; the error must name that token's line and
    // column, not the end of the line before it.
    let cases: &[(&str, usize, &str, &str, usize, &str, &str)] = &[
        // A stray token on a line of its own.
        ("graphs/cuba.ron", 29, "", "@@@", 29, "@@@", "Expected identifier"),
        // ... and one in place of a value.
        ("graphs/cuba.ron", 30, "800", "@800", 30, "@800", "Expected integer"),
        // A negative or too large number for an unsigned field, a fraction for an integer.
        ("graphs/cuba.ron", 30, "800", "-800", 30, "-800", "out of bounds"),
        ("graphs/cuba.ron", 30, "800", "99999999999999999999999", 30, "999", "out of bounds"),
        ("graphs/cuba.ron", 30, "800", "800.5", 30, "800.5", "Expected comma"),
        ("graphs/cuba.ron", 30, "800", "0x8G0", 30, "0x8G0", "Expected comma"),
        ("graphs/cuba.ron", 30, "800", "_800", 30, "_800", "leading underscore"),
        // A value of the wrong type.
        ("graphs/cuba.ron", 10, "0.1", "\"fast\"", 10, "\"fast\"", "Expected float"),
        ("graphs/cuba.ron", 45, "p: 0.02", "p: [0.02]", 45, "[0.02]", "Expected float"),
        // Unknown, duplicate and missing fields; unknown variants; a wrong struct name.
        ("graphs/cuba.ron", 18, "tau_m_ms", "tau_mem_ms", 18, "tau_mem_ms", "`tau_mem_ms`"),
        ("graphs/cuba.ron", 12, "4242,", "4242, seed: 1,", 12, "seed: 1", "duplicate field"),
        ("graphs/cuba.ron", 16, "size: 3200,", "", 27, ")", "missing field named `size`"),
        ("graphs/cuba.ron", 17, "Lif(", "Lf(", 17, "Lf(", "variant named `Lf`"),
        ("graphs/cuba.ron", 45, "Exc,", "Excitatory,", 45, "Excitatory", "`Excitatory`"),
        ("graphs/cuba.ron", 14, "(", "Population(", 14, "Population", "Expected struct"),
        // Missing punctuation: the error is at the token found instead.
        ("graphs/cuba.ron", 10, "0.1,", "0.1", 11, "duration_ms", "Expected comma"),
        ("graphs/cuba.ron", 10, "dt_ms:", "dt_ms", 10, "0.1", "Expected colon"),
        ("graphs/cuba.ron", 26, "\"v\":", "v:", 26, "v: U", "Expected string"),
        // Strings: unclosed, bad escapes.
        ("graphs/cuba.ron", 57, "\"inh\"", "\"inh", 57, "\"inh", "end of string"),
        ("graphs/cuba.ron", 15, "\"exc\"", "\"e\\qxc\"", 15, "\\q", "escape"),
        ("graphs/cuba.ron", 15, "\"exc\"", "\"e\\u{zz}\"", 15, "\\u", "hex digit"),
        // Comments: an unclosed one, also around a closed one.
        ("graphs/cuba.ron", 55, "", "    /* never closed", 55, "/*", "Unclosed block comment"),
        ("graphs/cuba.ron", 55, "", "    /* a /* b */", 55, "/* a", "Unclosed block comment"),
        // Something after the end of the value.
        ("graphs/cuba.ron", 59, ")", ") extra", 59, "extra", "trailing characters"),
        // Other files: a projection, a stimulus, an agent's task.
        ("graphs/coba.ron", 30, "", "    ,", 30, ",", ""),
        ("graphs/foraging.ron", 52, "20000", "2e4", 52, "2e4", "Invalid digit"),
        ("graphs/foraging.ron", 53, "FastSigmoid", "FastSigmoidx", 53, "FastSigmoidx", "variant"),
    ];
    for &(file, line, old, new, at, marker, words) in cases {
        let text = edited(file, line, old, new);
        let col = column_of(&text, at, marker);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.ron");
        std::fs::write(&path, &text).unwrap();
        let f = path.to_str().unwrap();
        let o = snnsim(&["validate", f]);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        let case = format!("{file}:{line} `{old}` → `{new}`");
        assert_eq!(o.status.code(), Some(2), "{case}: {stderr}");
        let want = format!("error: {f}:{at}:{col}: ");
        assert!(
            stderr.starts_with(&want),
            "{case}: expected `{want}…`, got: {stderr}"
        );
        assert!(stderr.contains(words), "{case}: expected `{words}` in: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{case}: one clear line: {stderr}");
    }
}

#[test]
fn sizes_and_times_beyond_the_limits_are_refused_at_their_field() {
    // A time step below the floor: `1e-320` once validated and then ran forever.
    for dt in ["1e-320", "1e-7"] {
        let text = with_line(3, &format!("    dt_ms: {dt},"));
        refused_at(&text, 3, "dt_ms", "dt_ms", "at least 1e-6 ms");
    }
    // More steps than the limit: 10¹³ steps of 0.1 ms.
    let text = with_line(4, "    duration_ms: 1e12,");
    refused_at(&text, 4, "duration_ms", "duration_ms", "at most 1000000000000");
    // A population beyond u32 neuron indices.
    let text = with_line(
        7,
        "        (name: \"b\", size: 4294967296, model: Lif(tau_m_ms: 20.0)),",
    );
    refused_at(&text, 7, "size", "populations[1].size", "2^32 − 1");
    // A refractory period beyond the u32 counter.
    let text = with_line(
        7,
        "        (name: \"b\", size: 10, model: Lif(refractory_ms: 1e300)),",
    );
    let field = "populations[1].model.Lif.refractory_ms";
    refused_at(&text, 7, "refractory_ms", field, "4294967295 steps");
    // Delays beyond the u16 delay (and ring) length, constant or drawn.
    let text = with_line(15, "            delay_ms: Constant(1e9),");
    refused_at(&text, 15, "delay_ms", "projections[0].delay_ms", "65 535 steps");
    let text = with_line(15, "            delay_ms: Uniform(low: 1.0, high: 1e9),");
    refused_at(&text, 15, "delay_ms", "projections[0].delay_ms", "65 535 steps");
    // A spike time beyond the step limit.
    let text = with_line(
        6,
        "        (name: \"a\", size: 2, model: SpikeTimes(times_ms: [[1.0], [1e200]])),",
    );
    let field = "populations[0].model.SpikeTimes.times_ms[1][0]";
    refused_at(&text, 6, "1e200", field, "steps of dt");
    // Stimulus times and a sampling interval beyond it.
    let base = BASE.join("\n");
    let extra = |block: &str| base.replace("    ],\n)", &format!("    ],\n{block}\n)"));
    for (field, marker) in [("start_ms", "start_ms"), ("stop_ms", "stop_ms")] {
        let stim = format!(
            "    stimuli: [\n        Dc(target: \"b\", amplitude_na: 1.0, {field}: 1e200),\n    ],"
        );
        let f = format!("stimuli[0].Dc.{field}");
        refused_at(&extra(&stim), 19, marker, &f, "steps of dt");
    }
    let rec = "    recorders: [\n        State(population: \"b\", variables: [\"v\"], neurons: [0], every_ms: 1e200),\n    ],";
    let f = "recorders[0].State.every_ms";
    refused_at(&extra(rec), 19, "every_ms", f, "steps of dt");
}

#[test]
fn training_tasks_beyond_the_limits_are_refused_at_their_field() {
    // The file whose structural policy is `rate_threshold` (its fields are checked here).
    let f = "graphs/foraging-rate-threshold.ron";
    // Steps per decision beyond the backward pass's trace bound.
    let text = edited(f, 45, "10", "2000000");
    refused_at(&text, 45, "decision_steps", "task.Agent.decision_steps", "1048576");
    // Episodes × steps per decision beyond the step limit.
    let text = edited(f, 47, "20000", "200000000000");
    refused_at(&text, 47, "episodes", "task.Agent.episodes", "more than 1000000000000 steps");
    // A hidden population allowed to grow beyond u32 neuron indices.
    let text = edited(f, 50, "max_hidden: 512", "max_hidden: 5000000000");
    refused_at(&text, 50, "max_hidden", "task.Agent.structure.max_hidden", "at most");
    // Encoders asking for more input neurons than a population holds.
    let text = edited(f, 49, "size: 15", "size: 100000");
    let field = "task.Agent.encoder.Egocentric.size";
    refused_at(&text, 49, "size: 100000", field, "input neurons");
    let text = edited(
        "graphs/cartpole.ron",
        40,
        "OnOff(scale: [1.0, 1.0, 0.1, 1.0])",
        "Population(per_value: 2000000000, low: [0.0, 0.0, 0.0, 0.0], high: [1.0, 1.0, 1.0, 1.0], width: 1.0)",
    );
    let field = "task.Control.encoder.Population.per_value";
    refused_at(&text, 40, "per_value", field, "input neurons");
}

#[test]
fn a_byte_that_is_not_utf8_is_reported_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(crate::common::root().join("graphs/cuba.ron")).unwrap();
    let mut bytes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 28 {
            // Line 29: four spaces, then a byte that starts no UTF-8 sequence.
            bytes.extend_from_slice(b"    \xff");
        }
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    let path = dir.path().join("latin1.ron");
    std::fs::write(&path, bytes).unwrap();
    let o = snnsim(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("latin1.ron:29:5: .: the graph file is not UTF-8 text"),
        "{stderr}"
    );
}

/// Runs the binary with its standard output a pipe whose reader is already gone.
fn with_stdout_closed(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    std::process::Command::new(crate::common::exe())
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .current_dir(crate::common::root())
        .output()
        .expect("snnsim starts")
}

/// `snnsim validate --json | head -0`: the reader leaving is not an error (no panic, exit 0),
/// and a run whose progress nobody reads still completes and writes its files.
#[test]
fn a_closed_standard_output_neither_panics_nor_loses_the_run() {
    let o = with_stdout_closed(&["validate", "graphs/cuba.ron", "--json"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {stderr}", o.status);
    assert!(!stderr.contains("panicked"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = with_stdout_closed(&[
        "run",
        "graphs/cuba.ron",
        "--duration-ms",
        "200",
        "--json",
        "--no-metrics",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {stderr}", o.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.join("summary.json").is_file(), "the run wrote its summary");
}
