//! The checks of a NIR graph, applied after reading and before writing.
//!
//! They are what a converter and `nir.read` 1.0.8 rely on: every parameter a kind holds is
//! present and no other, numbers where numbers belong, a neuron's per-neuron parameters of one
//! shape (what `nir`'s `__post_init__` asserts), weights and biases that fit, convolution and
//! pooling settings of the right length, time constants positive, edges between existing nodes
//! and none twice (what `validate_structure` refuses). Shapes flowing along edges are not
//! inferred here. Each message starts with the node it is about, `node 'lif1': …`, nested
//! nodes by their dotted path (`node 'rnn.lif': …`).

use super::{shape_str, Array, Data, Graph, Kind, Node};

/// Checks a graph and its nested graphs; the error names the node and parameter.
pub fn validate(graph: &Graph) -> Result<(), String> {
    check_graph(graph, "")
}

fn check_graph(graph: &Graph, prefix: &str) -> Result<(), String> {
    for (name, node) in &graph.nodes {
        let path = format!("{prefix}{name}");
        if name.is_empty() || name.contains('/') {
            return Err(format!(
                "node '{path}': a node name must be non-empty and hold no '/'"
            ));
        }
        check_node(node).map_err(|e| format!("node '{path}': {e}"))?;
        if let Some(sub) = &node.graph {
            check_graph(sub, &format!("{path}."))?;
        }
    }
    let here = if prefix.is_empty() {
        "the top graph".to_string()
    } else {
        format!("node '{}'", prefix.trim_end_matches('.'))
    };
    let mut seen = std::collections::HashSet::new();
    for (i, (a, b)) in graph.edges.iter().enumerate() {
        for end in [a, b] {
            if !resolves(graph, end) {
                return Err(format!(
                    "{here}: edges[{i}] ({a} -> {b}) names '{end}', which is not a node of the graph"
                ));
            }
        }
        if !seen.insert((a, b)) {
            return Err(format!("{here}: edges[{i}] ({a} -> {b}) appears twice"));
        }
    }
    Ok(())
}

/// A node of `graph`, or `sub.node` naming a node of the nested graph `sub`.
fn resolves(graph: &Graph, end: &str) -> bool {
    if graph.nodes.contains_key(end) {
        return true;
    }
    end.split_once('.').is_some_and(|(head, rest)| {
        graph
            .nodes
            .get(head)
            .and_then(|n| n.graph.as_ref())
            .is_some_and(|g| resolves(g, rest))
    })
}

fn check_node(node: &Node) -> Result<(), String> {
    let kind = node.kind;
    if (kind == Kind::NirGraph) != node.graph.is_some() {
        return Err(if kind == Kind::NirGraph {
            "a NIRGraph node without its graph".into()
        } else {
            format!("a {kind} node holds a nested graph")
        });
    }
    for p in kind.params() {
        if !node.params.contains_key(*p) && !kind.optional().contains(p) {
            return Err(format!("{kind} needs parameter '{p}', which is missing"));
        }
    }
    for (p, a) in &node.params {
        if !kind.params().contains(&p.as_str()) {
            return Err(format!(
                "unknown parameter '{p}' for {kind} (it has {})",
                if kind.params().is_empty() {
                    "none besides its nodes and edges".to_string()
                } else {
                    kind.params().join(", ")
                }
            ));
        }
        let n: usize = a.shape.iter().product();
        if a.len() != n {
            return Err(format!(
                "{p} has {} values for shape {}",
                a.len(),
                a.shape_str()
            ));
        }
        let string_ok = p == "padding" && matches!(kind, Kind::Conv1d | Kind::Conv2d);
        if matches!(a.data, Data::Str(_)) && !string_ok {
            return Err(format!("{p} holds strings, want numbers"));
        }
    }
    // Per-neuron parameters: one shape.
    let state = kind.state_params();
    if let Some(first) = state.first() {
        let a0 = &node.params[*first];
        for p in &state[1..] {
            let a = &node.params[*p];
            if a.shape != a0.shape {
                return Err(format!(
                    "{first} has shape {}, {p} {}",
                    a0.shape_str(),
                    a.shape_str()
                ));
            }
        }
        if let Some(w) = node.params.get("w_in") {
            if w.shape != a0.shape && w.len() != 1 {
                return Err(format!(
                    "{first} has shape {}, w_in {} (w_in is per neuron or one value)",
                    a0.shape_str(),
                    w.shape_str()
                ));
            }
        }
        for p in state.iter().chain(["w_in"].iter()) {
            if let Some(a) = node.params.get(*p) {
                check_values(p, a, p.starts_with("tau"), *p == "delay")?;
            }
        }
    }
    match kind {
        Kind::Input | Kind::Output => {
            let s = &node.params["shape"];
            let ints = ints_of("shape", s)?;
            if s.shape.len() > 1 || ints.iter().any(|&d| d < 0) {
                return Err(format!(
                    "shape must be a list of sizes ≥ 0, is {:?} of shape {}",
                    ints,
                    s.shape_str()
                ));
            }
        }
        Kind::Affine | Kind::Linear => {
            let w = &node.params["weight"];
            if w.shape.len() < 2 {
                return Err(format!(
                    "weight has shape {}, want (out, in)",
                    w.shape_str()
                ));
            }
            check_values("weight", w, false, false)?;
            if let Some(b) = node.params.get("bias") {
                let want = &w.shape[..w.shape.len() - 1];
                if b.shape != want && b.len() != w.shape[w.shape.len() - 2] {
                    return Err(format!(
                        "bias has shape {}, weight {} wants {}",
                        b.shape_str(),
                        w.shape_str(),
                        shape_str(want)
                    ));
                }
                check_values("bias", b, false, false)?;
            }
        }
        Kind::Conv1d | Kind::Conv2d => {
            let dims = if kind == Kind::Conv1d { 1 } else { 2 };
            let w = &node.params["weight"];
            if w.shape.len() != dims + 2 {
                return Err(format!(
                    "weight has shape {}, want (out_channels, in_channels/groups, {})",
                    w.shape_str(),
                    if dims == 1 { "k" } else { "kh, kw" }
                ));
            }
            check_values("weight", w, false, false)?;
            for p in ["stride", "dilation"] {
                check_tuple(p, &node.params[p], dims, 1)?;
            }
            let pad = &node.params["padding"];
            match pad.as_str() {
                Some("same" | "valid") => {}
                Some(other) => {
                    return Err(format!(
                        "padding is '{other}', want 'same', 'valid' or sizes"
                    ))
                }
                None => check_tuple("padding", pad, dims, 0)?,
            }
            let g = &node.params["groups"];
            let groups = ints_of("groups", g)?;
            if groups.len() != 1 || groups[0] < 1 || !w.shape[0].is_multiple_of(groups[0] as usize)
            {
                return Err(format!(
                    "groups is {groups:?}, want one value ≥ 1 dividing out_channels {}",
                    w.shape[0]
                ));
            }
            let b = &node.params["bias"];
            if b.len() != w.shape[0] && b.len() != 1 {
                return Err(format!(
                    "bias has shape {}, weight {} wants ({},)",
                    b.shape_str(),
                    w.shape_str(),
                    w.shape[0]
                ));
            }
            check_values("bias", b, false, false)?;
            if let Some(s) = node.params.get("input_shape") {
                check_tuple("input_shape", s, dims, 0)?;
            }
        }
        Kind::SumPool2d | Kind::AvgPool2d => {
            check_tuple("kernel_size", &node.params["kernel_size"], 2, 1)?;
            check_tuple("stride", &node.params["stride"], 2, 1)?;
            check_tuple("padding", &node.params["padding"], 2, 0)?;
        }
        Kind::Flatten => {
            for p in ["start_dim", "end_dim"] {
                let a = &node.params[p];
                if ints_of(p, a)?.len() != 1 {
                    return Err(format!("{p} has shape {}, want one value", a.shape_str()));
                }
            }
            if let Some(t) = node.params.get("input_type") {
                let ints = ints_of("input_type", t)?;
                if t.shape.len() > 1 || ints.iter().any(|&d| d < 0) {
                    return Err(format!(
                        "input_type must be a list of sizes, is of shape {}",
                        t.shape_str()
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Integers, or floats with integral values (nir 0.x wrote some sizes as floats).
fn ints_of(p: &str, a: &Array) -> Result<Vec<i64>, String> {
    match &a.data {
        Data::Int(v) => Ok(v.clone()),
        Data::Str(_) => Err(format!("{p} holds strings, want integers")),
        _ => {
            let v = a.to_f64().unwrap_or_default();
            if v.iter().all(|x| x.fract() == 0.0 && x.is_finite()) {
                Ok(v.iter().map(|&x| x as i64).collect())
            } else {
                Err(format!("{p} is {v:?}, want integers"))
            }
        }
    }
}

/// One value or `dims` values, each ≥ `min`.
fn check_tuple(p: &str, a: &Array, dims: usize, min: i64) -> Result<(), String> {
    let v = ints_of(p, a)?;
    if a.shape.len() > 1 || (v.len() != 1 && v.len() != dims) || v.iter().any(|&x| x < min) {
        return Err(format!(
            "{p} is {v:?}, want {} value{} ≥ {min}",
            if dims == 1 {
                "one".to_string()
            } else {
                format!("one or {dims}")
            },
            if dims == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

/// Finite values; positive ones for time constants, non-negative for delays.
fn check_values(p: &str, a: &Array, positive: bool, non_negative: bool) -> Result<(), String> {
    let Some(v) = a.to_f64() else {
        return Err(format!("{p} holds strings, want numbers"));
    };
    for (i, &x) in v.iter().enumerate() {
        let bad = if !x.is_finite() {
            Some("finite")
        } else if positive && x <= 0.0 {
            Some("> 0")
        } else if non_negative && x < 0.0 {
            Some("≥ 0")
        } else {
            None
        };
        if let Some(want) = bad {
            let at = if a.shape.is_empty() {
                String::new()
            } else {
                format!("[{i}]")
            };
            return Err(format!("{p}{at} is {x}, must be {want}"));
        }
    }
    Ok(())
}
