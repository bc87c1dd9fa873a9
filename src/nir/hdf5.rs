//! The HDF5 side of NIR files: the tree of groups and datasets to and from [`Nir`].
//!
//! Kept apart from the data model and the checks so that the rest of `nir` never sees HDF5
//! types; everything here returns plain messages that name the HDF5 path, and the caller adds
//! the file name. The reader takes what is in a node's group as its parameters without
//! judging them (that is [`super::validate`]'s job), except that it fills the defaults a nir
//! 0.x file leaves out, as `nir.read` 1.0.8 does.

use std::collections::BTreeMap;

use hdf5_pure::{DType, Dataset, File, FileBuilder, Group, GroupBuilder};

use super::{Array, Data, Graph, Kind, Nir, Node};

/// Parses a NIR file's bytes (no validation).
pub(super) fn from_bytes(bytes: Vec<u8>) -> Result<Nir, String> {
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err("not an HDF5 file (no HDF5 signature), so not a NIR file".into());
    }
    let file = File::from_bytes(bytes).map_err(|e| format!("unreadable HDF5 file: {e}"))?;
    let root = file.root();
    let datasets = root.datasets().map_err(|e| format!("/: {e}"))?;
    let groups = root.groups().map_err(|e| format!("/: {e}"))?;
    if !datasets.iter().any(|d| d == "version") || !groups.iter().any(|g| g == "node") {
        return Err("not a NIR file: no 'version' dataset and 'node' group at the root".into());
    }
    let version = read_array(
        &root.dataset("version").map_err(|e| e.to_string())?,
        "version",
    )?;
    let version = version
        .as_str()
        .ok_or("'version' is not a string")?
        .to_string();
    let top = root.group("node").map_err(|e| format!("/node: {e}"))?;
    let node = read_node(&top, "", 0)?;
    let Node {
        kind,
        graph,
        metadata,
        ..
    } = node;
    let Some(graph) = graph else {
        return Err(format!(
            "the top node is a {kind}, not a NIRGraph (NIR files hold a graph)"
        ));
    };
    Ok(Nir {
        version,
        graph,
        metadata,
    })
}

/// `node 'a.b'` for a nested node, `the top graph` for the root.
fn label(name: &str) -> String {
    if name.is_empty() {
        "the top graph".into()
    } else {
        format!("node '{name}'")
    }
}

/// Nested graphs deeper than this are refused (a file can link a group into itself).
const MAX_DEPTH: usize = 64;

fn read_node(group: &Group, name: &str, depth: usize) -> Result<Node, String> {
    let here = label(name);
    if depth > MAX_DEPTH {
        return Err(format!("{here}: graphs nested more than {MAX_DEPTH} deep"));
    }
    let datasets = group.datasets().map_err(|e| format!("{here}: {e}"))?;
    let groups = group.groups().map_err(|e| format!("{here}: {e}"))?;
    if !datasets.iter().any(|d| d == "type") {
        return Err(format!("{here}: no 'type' dataset"));
    }
    let ty = read_array(&dataset(group, "type", &here)?, &format!("{here}: type"))?;
    let ty = ty
        .as_str()
        .ok_or_else(|| format!("{here}: 'type' is not a string"))?;
    let kind = Kind::from_name(ty).ok_or_else(|| {
        let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        format!(
            "{here}: unknown type '{ty}' (NIR 1.0.x types: {})",
            known.join(", ")
        )
    })?;
    let mut params = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    let mut graph = None;
    for d in &datasets {
        if d == "type" || (kind == Kind::NirGraph && d == "edges") {
            continue;
        }
        let a = read_array(&dataset(group, d, &here)?, &format!("{here}: {d}"))?;
        params.insert(d.clone(), a);
    }
    for g in &groups {
        let sub = group
            .group(g)
            .map_err(|e| format!("{here}: group '{g}': {e}"))?;
        match g.as_str() {
            "metadata" => {
                for d in sub
                    .datasets()
                    .map_err(|e| format!("{here}: metadata: {e}"))?
                {
                    let path = format!("{here}: metadata/{d}");
                    let a = read_array(&dataset(&sub, &d, &path)?, &path)?;
                    metadata.insert(d, a);
                }
            }
            "nodes" if kind == Kind::NirGraph => {}
            _ => return Err(format!("{here}: unexpected group '{g}' in a {kind} node")),
        }
    }
    if kind == Kind::NirGraph {
        let mut nodes = BTreeMap::new();
        if groups.iter().any(|g| g == "nodes") {
            let sub = group
                .group("nodes")
                .map_err(|e| format!("{here}: nodes: {e}"))?;
            for child in sub.groups().map_err(|e| format!("{here}: nodes: {e}"))? {
                let g = sub
                    .group(&child)
                    .map_err(|e| format!("{here}: nodes/{child}: {e}"))?;
                let qualified = if name.is_empty() {
                    child.clone()
                } else {
                    format!("{name}.{child}")
                };
                nodes.insert(child, read_node(&g, &qualified, depth + 1)?);
            }
        }
        let edges = if datasets.iter().any(|d| d == "edges") {
            let path = format!("{here}: edges");
            read_edges(&read_array(&dataset(group, "edges", &here)?, &path)?, &path)?
        } else {
            Vec::new()
        };
        graph = Some(Graph { nodes, edges });
    }
    let mut node = Node {
        kind,
        params,
        metadata,
        graph,
        defaulted: Vec::new(),
    };
    fill_defaults(&mut node);
    Ok(node)
}

/// nir 0.x files have no `v_reset` (read as zeros) and no `w_in` (read as ones), each shaped
/// and typed like the neuron's other parameters, as `nir.read` 1.0.8 fills them.
fn fill_defaults(node: &mut Node) {
    let fill = |like: &Array, value: f64| -> Array {
        let n = like.len();
        let data = match like.data {
            Data::F32(_) => Data::F32(vec![value as f32; n]),
            Data::Int(_) => Data::Int(vec![value as i64; n]),
            _ => Data::F64(vec![value; n]),
        };
        Array {
            shape: like.shape.clone(),
            data,
        }
    };
    if matches!(node.kind, Kind::If | Kind::Lif | Kind::CubaLif)
        && !node.params.contains_key("v_reset")
    {
        if let Some(like) = node.params.get("v_threshold") {
            let a = fill(like, 0.0);
            node.params.insert("v_reset".into(), a);
            node.defaulted.push("v_reset".into());
        }
    }
    if matches!(node.kind, Kind::CubaLi | Kind::CubaLif) && !node.params.contains_key("w_in") {
        if let Some(like) = node.params.get("v_leak") {
            let a = fill(like, 1.0);
            node.params.insert("w_in".into(), a);
            node.defaulted.push("w_in".into());
        }
    }
}

fn dataset(group: &Group, name: &str, here: &str) -> Result<Dataset, String> {
    group
        .dataset(name)
        .map_err(|e| format!("{here}: dataset '{name}': {e}"))
}

fn read_edges(a: &Array, path: &str) -> Result<Vec<(String, String)>, String> {
    if a.is_empty() {
        return Ok(Vec::new());
    }
    let Data::Str(s) = &a.data else {
        return Err(format!("{path}: not strings ({})", a.dtype()));
    };
    if a.shape.len() != 2 || a.shape[1] != 2 {
        return Err(format!(
            "{path}: shape {}, want (n, 2) pairs of node names",
            a.shape_str()
        ));
    }
    Ok(s.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect())
}

fn read_array(ds: &Dataset, path: &str) -> Result<Array, String> {
    let err = |e: hdf5_pure::Error| format!("{path}: {e}");
    let shape: Vec<usize> = ds
        .shape()
        .map_err(err)?
        .into_iter()
        .map(|d| d as usize)
        .collect();
    let data = match ds.dtype().map_err(err)? {
        DType::F32 => Data::F32(ds.read_f32().map_err(err)?),
        DType::F64 => Data::F64(ds.read_f64().map_err(err)?),
        DType::I8
        | DType::I16
        | DType::I32
        | DType::I64
        | DType::U8
        | DType::U16
        | DType::U32
        | DType::U64
        | DType::Enum(_) => Data::Int(ds.read_i64().map_err(err)?),
        DType::String | DType::VariableLengthString => Data::Str(ds.read_string().map_err(err)?),
        other => return Err(format!("{path}: unsupported element type {other}")),
    };
    let a = Array { shape, data };
    let want: usize = a.shape.iter().product();
    if a.len() != want {
        return Err(format!(
            "{path}: {} elements for shape {}",
            a.len(),
            a.shape_str()
        ));
    }
    Ok(a)
}

/// Serialises a (checked) NIR graph in `nir.write` 1.0.8's layout.
pub(super) fn to_bytes(nir: &Nir) -> Result<Vec<u8>, String> {
    let mut b = FileBuilder::new();
    b.create_dataset("version")
        .with_vlen_strings(&[super::WRITE_VERSION])
        .with_shape(&[]);
    let mut top = b.create_group("node");
    fill_graph_group(&mut top, &nir.graph, &nir.metadata);
    b.add_group(top.finish());
    b.finish().map_err(|e| format!("writing HDF5: {e}"))
}

fn fill_graph_group(g: &mut GroupBuilder, graph: &Graph, metadata: &BTreeMap<String, Array>) {
    write_array(g, "type", &Array::string(Kind::NirGraph.name()));
    let flat: Vec<&str> = graph
        .edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    g.create_dataset("edges")
        .with_vlen_strings(&flat)
        .with_shape(&[graph.edges.len() as u64, 2]);
    let mut nodes = g.create_group("nodes");
    for (child, node) in &graph.nodes {
        let mut ng = nodes.create_group(child);
        match &node.graph {
            Some(sub) => fill_graph_group(&mut ng, sub, &node.metadata),
            None => {
                write_array(&mut ng, "type", &Array::string(node.kind.name()));
                for (k, a) in &node.params {
                    write_array(&mut ng, k, a);
                }
                write_metadata(&mut ng, &node.metadata);
            }
        }
        nodes.add_group(ng.finish());
    }
    g.add_group(nodes.finish());
    write_metadata(g, metadata);
}

fn write_metadata(g: &mut GroupBuilder, metadata: &BTreeMap<String, Array>) {
    if metadata.is_empty() {
        return;
    }
    let mut m = g.create_group("metadata");
    for (k, a) in metadata {
        write_array(&mut m, k, a);
    }
    g.add_group(m.finish());
}

/// One dataset; arrays of one or more dimensions and elements chunked (one chunk) and
/// deflated as `nir.write` 1.0.8 does, 0-d values and strings plain.
fn write_array(g: &mut GroupBuilder, name: &str, a: &Array) {
    let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
    let d = g.create_dataset(name);
    match &a.data {
        Data::F32(v) => d.with_f32_data(v),
        Data::F64(v) => d.with_f64_data(v),
        Data::Int(v) => d.with_i64_data(v),
        Data::Str(v) => {
            let s: Vec<&str> = v.iter().map(String::as_str).collect();
            d.with_vlen_strings(&s)
        }
    };
    d.with_shape(&shape);
    if !shape.is_empty() && !a.is_empty() && !matches!(a.data, Data::Str(_)) {
        d.with_chunks(&shape).with_deflate(4);
    }
}
