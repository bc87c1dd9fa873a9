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
