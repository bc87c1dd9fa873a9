//! `snnsim validate` and `snnsim inspect` on NIR files (`.nir`): the file is read and checked
//! by the `nir` layer, whose errors name the node and the parameter (exit 2); these functions
//! only describe what was read. Running a NIR graph is `nir_run.rs`.

use crate::error::Result;
use crate::nir::{Graph, Nir};
use std::path::Path;

/// Whether `path` names a NIR file (by its extension, as `snnsim convert` decides).
pub fn is_nir(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nir"))
}

/// Nodes, edges and parameter values of a graph, nested graphs included.
fn counts(g: &Graph) -> (usize, usize, usize) {
    g.nodes
        .values()
        .fold((g.nodes.len(), g.edges.len(), 0), |(n, e, p), node| {
            let values: usize = node.params.values().map(|a| a.len()).sum();
            let (sn, se, sp) = node.graph.as_ref().map_or((0, 0, 0), counts);
            (n + sn, e + se, p + values + sp)
        })
}

/// Reads and checks a NIR file.
pub fn validate_nir(path: &Path) -> Result<Nir> {
    crate::nir::read(path)
}

/// One line: `FILE: valid NIR 1.0.8 (5 nodes, 4 edges, 1 234 parameter values)`.
pub fn nir_line(path: &Path, nir: &Nir) -> String {
    let (nodes, edges, values) = counts(&nir.graph);
    format!(
        "{}: valid NIR {} ({nodes} nodes, {edges} edges, {values} parameter values)",
        path.display(),
        nir.version
    )
}

/// The same as one JSON object: `file`, `format` ("nir"), `version`, `nodes`, `edges`,
/// `parameter_values` (nested graphs counted in).
pub fn nir_json(path: &Path, nir: &Nir) -> serde_json::Value {
    let (nodes, edges, values) = counts(&nir.graph);
    serde_json::json!({
        "file": path.display().to_string(),
        "format": "nir",
        "version": nir.version,
        "nodes": nodes,
        "edges": edges,
        "parameter_values": values,
    })
}

/// `snnsim inspect FILE.nir`: every node with its type and parameter shapes, then the edges
/// (those closing a cycle marked: they carry the previous step's output), nested graphs
/// indented.
pub fn inspect_nir(path: &Path) -> Result<String> {
    let nir = crate::nir::read(path)?;
    let mut out = format!("{}\n", nir_line(path, &nir));
    describe(&nir.graph, 1, &mut out);
    Ok(out)
}

fn describe(g: &Graph, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let width = g.nodes.keys().map(|k| k.len()).max().unwrap_or(0);
    for (name, node) in &g.nodes {
        let params: Vec<String> = node
            .params
            .iter()
            .map(|(k, a)| {
                let filled = if node.defaulted.contains(k) {
                    ", default"
                } else {
                    ""
                };
                format!("{k} {} {}{filled}", a.dtype(), a.shape_str())
            })
            .collect();
        out.push_str(&format!(
            "{pad}{name:<width$}  {:<9} {}\n",
            node.kind.name(),
            params.join(", ")
        ));
        if let Some(sub) = &node.graph {
            describe(sub, depth + 1, out);
        }
    }
    let recurrent = g.schedule().recurrent;
    for (a, b) in &g.edges {
        let back = if recurrent.contains(&(a.clone(), b.clone())) {
            "  (previous step)"
        } else {
            ""
        };
        out.push_str(&format!("{pad}{a} -> {b}{back}\n"));
    }
}
