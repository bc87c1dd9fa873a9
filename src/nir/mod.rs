//! NIR files (the Neuromorphic Intermediate Representation, Python package `nir` 1.0.x): a
//! data model of a NIR graph, reading it from and writing it to its HDF5 file, and checking it.
//!
//! This layer knows the file and nothing of the engine. A NIR graph is declarative and
//! continuous-time (no time step, no discretisation in the file); mapping its nodes onto
//! populations and projections is a converter's job, which consumes [`Nir`] and never sees
//! HDF5. The model is generic on purpose: a node is its [`Kind`] plus named parameters, each an
//! n-d [`Array`] kept in the element type it was stored in (f32 from PyTorch exporters, f64 from
//! numpy, integers for shapes and strides), so that read → write → read gives back the same
//! nodes, edges and parameters for every node type with one reader, one writer and one table of
//! what each kind holds ([`Kind::params`]). Typed access for a converter is through
//! [`Node::param`], [`Array::to_f64`] and [`Node::population_shape`].
//!
//! Reading accepts what `nir` 1.0.8 writes (gzip-compressed chunked arrays, vlen UTF-8
//! strings, symbol-table groups) and what nir 0.x wrote (no compression, no `v_reset`, no
//! `w_in`, scalar strides): a missing `v_reset` reads as zeros and a missing `w_in` as ones,
//! as `nir.read` 1.0.8 does, and the node lists them in [`Node::defaulted`]. Every graph is
//! checked on reading and before writing ([`validate`]); an error names the node and the
//! parameter, as `node 'lif1': tau has shape (4,), v_threshold (3,)`, and reaches the caller
//! as [`crate::Error::Input`] (exit status 2) prefixed with the file.
//!
//! Writing follows `nir.write` 1.0.8: a `version` string and a group `node` holding the top
//! graph; arrays of one or more elements chunked and deflate-compressed, 0-d values plain
//! (HDF5 refuses filters on scalars). The written file loads in `nir.read` 1.0.8 with type
//! checking on (tests/nir.rs runs it where Python's `nir` is installed).
//!
//! HDF5 through `hdf5-pure`, a plain (not optional) dependency: it is pure Rust (its own
//! implementation of the format; dependencies byteorder and flate2 with the miniz_oxide
//! backend, no C library, no build script that links one), so the README's two commands keep
//! working on a machine with only a Rust toolchain, and a cargo feature would only add a build
//! variant to test without saving a system dependency. It costs build time once (about 100 000
//! lines). It is pinned to an exact version because the crate is young and changes often;
//! bindings to libhdf5 (`hdf5-metno`) would need `libhdf5-dev` or cmake and were not used.

mod hdf5;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use validate::validate;

/// The version string written into files: the `nir` release whose layout this writer follows.
pub const WRITE_VERSION: &str = "1.0.8";

/// A NIR file: its version string and its top graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Nir {
    /// The `version` dataset as stored ("1.0.8", "0.2.0", …).
    pub version: String,
    /// The top `NIRGraph`.
    pub graph: Graph,
    /// The top graph's `metadata` group (informative only; NIR says no backend relies on it).
    pub metadata: BTreeMap<String, Array>,
}

/// A NIR graph: named nodes and directed edges between them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// The nodes by name (names may contain dots, as snnTorch's `lif1.lif`).
    pub nodes: BTreeMap<String, Node>,
    /// The edges `(source, target)` in file order (not topological). Several edges into one
    /// node are summed; an edge that closes a cycle carries the source's previous-step output.
    pub edges: Vec<(String, String)>,
}

/// An evaluation order of a graph's nodes (see [`Graph::schedule`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Every node once, each after the sources of its feed-forward edges.
    pub order: Vec<String>,
    /// The edges that close a cycle: they carry the source's output of the previous step.
    pub recurrent: Vec<(String, String)>,
}

impl Graph {
    /// The sources of the edges into `node`, in edge order (their values are summed).
    pub fn inputs_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.edges
            .iter()
            .filter(move |(_, b)| b == node)
            .map(|(a, _)| a.as_str())
    }

    /// An evaluation order for one step, and the edges that close cycles.
    ///
    /// A depth-first walk from the `Input` nodes (then from any node not reached), in name
    /// order, following each node's edges in target-name order: an edge into a node still on
    /// the walk's path closes a cycle and is recurrent; the others form a DAG, and the order
    /// is its reverse postorder, so every node comes after the sources of its feed-forward
    /// edges. For snnTorch's recurrent export (`1.lif` ⇄ `1.w_rec`, entered at `1.lif`) the
    /// recurrent edge is `1.w_rec → 1.lif`, as nirtorch runs it. Edge endpoints that name a
    /// node inside a nested graph (`sub.node`) count as the nested graph's node `sub`.
    pub fn schedule(&self) -> Schedule {
        let top = |end: &str| -> String {
            if self.nodes.contains_key(end) {
                end.to_string()
            } else {
                end.split('.').next().unwrap_or(end).to_string()
            }
        };
        let mut succ: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
        for (i, (a, b)) in self.edges.iter().enumerate() {
            succ.entry(top(a)).or_default().push((top(b), i));
        }
        for v in succ.values_mut() {
            v.sort();
        }
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark: BTreeMap<&str, Mark> =
            self.nodes.keys().map(|k| (k.as_str(), Mark::New)).collect();
        let mut post = Vec::with_capacity(self.nodes.len());
        let mut recurrent_idx = Vec::new();
        let starts: Vec<&String> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.kind == Kind::Input)
            .map(|(k, _)| k)
            .chain(self.nodes.keys())
            .collect();
        let empty = Vec::new();
        for start in starts {
            if mark[start.as_str()] != Mark::New {
                continue;
            }
            // Iterative DFS: (node, index of the next successor to visit).
            let mut stack: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
            mark.insert(start.as_str(), Mark::OnPath);
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let out = succ.get(node).unwrap_or(&empty);
                if let Some((target, edge)) = out.get(*next) {
                    *next += 1;
                    match mark.get(target.as_str()).copied() {
                        Some(Mark::New) => {
                            let key = self.nodes.get_key_value(target).unwrap().0.as_str();
                            mark.insert(key, Mark::OnPath);
                            stack.push((key, 0));
                        }
                        Some(Mark::OnPath) => recurrent_idx.push(*edge),
                        _ => {}
                    }
                } else {
                    mark.insert(node, Mark::Done);
                    post.push(node.to_string());
                    stack.pop();
                }
            }
        }
        post.reverse();
        recurrent_idx.sort_unstable();
        Schedule {
            order: post,
            recurrent: recurrent_idx
                .into_iter()
                .map(|i| self.edges[i].clone())
                .collect(),
        }
    }
}

/// One node: its kind, its parameters and, for a nested `NIRGraph`, its graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// What the node computes.
    pub kind: Kind,
    /// The parameters by dataset name (`tau`, `weight`, `shape`, …), as [`Kind::params`] lists.
    pub params: BTreeMap<String, Array>,
    /// The node's `metadata` group, if it has one.
    pub metadata: BTreeMap<String, Array>,
    /// The nested graph of a `NIRGraph` node; `None` for every other kind.
    pub graph: Option<Graph>,
    /// Parameters absent from the file and filled with NIR's defaults (a nir 0.x file's
    /// `v_reset`, zeros, and `w_in`, ones). Not compared by `==`.
    pub defaulted: Vec<String>,
}

/// Equal kinds, parameters, metadata and nested graphs; how a parameter came to be there
/// ([`Node::defaulted`]) is not compared.
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.kind == other.kind
            && self.params == other.params
            && self.metadata == other.metadata
            && self.graph == other.graph
    }
}

impl Node {
    /// A node of `kind` with these parameters (not yet checked: [`validate`] does).
    pub fn new(kind: Kind, params: impl IntoIterator<Item = (&'static str, Array)>) -> Node {
        Node {
            kind,
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            metadata: BTreeMap::new(),
            graph: None,
            defaulted: Vec::new(),
        }
    }

    /// A nested `NIRGraph` node.
    pub fn subgraph(graph: Graph) -> Node {
        Node {
            kind: Kind::NirGraph,
            params: BTreeMap::new(),
            metadata: BTreeMap::new(),
            graph: Some(graph),
            defaulted: Vec::new(),
        }
    }

    /// The parameter `name`; an error naming the parameter when the node has none.
    pub fn param(&self, name: &str) -> std::result::Result<&Array, String> {
        self.params
            .get(name)
            .ok_or_else(|| format!("{} has no parameter '{name}'", self.kind))
    }

    /// The shape of the neurons of a neuron kind (I, IF, LI, LIF, CubaLI, CubaLIF: the common
    /// shape of their per-neuron parameters), or of the values of Scale, Threshold and Delay;
    /// `None` for the other kinds.
    pub fn population_shape(&self) -> Option<&[usize]> {
        let first = self.kind.state_params().first()?;
        self.params.get(*first).map(|a| a.shape.as_slice())
    }
}

/// The 19 node types of NIR 1.0.x, by the type string stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `Input`: a port; `shape`.
    Input,
    /// `Output`: a port; `shape`.
    Output,
    /// `Affine`: y = W x + b; `weight` (…, out, in), `bias` (out).
    Affine,
    /// `Linear`: y = W x; `weight` (…, out, in).
    Linear,
    /// `Scale`: y = s ⊙ x; `scale`.
    Scale,
    /// `Threshold`: z = 1 if x > θ else 0; `threshold`.
    Threshold,
    /// `Delay`: y(t) = x(t − τ); `delay`.
    Delay,
    /// `I`, the integrator: dv/dt = R I; `r`.
    I,
    /// `IF`: dv/dt = R I, spike when v > v_threshold, then v = v_reset.
    If,
    /// `LI`: τ dv/dt = (v_leak − v) + R I.
    Li,
    /// `LIF`: LI with spike and reset as IF.
    Lif,
    /// `CubaLI`: τ_syn dI/dt = −I + w_in S; τ_mem dv/dt = (v_leak − v) + R I.
    CubaLi,
    /// `CubaLIF`: CubaLI with spike and reset as IF.
    CubaLif,
    /// `Conv1d`: PyTorch's, without the batch dimension.
    Conv1d,
    /// `Conv2d`: PyTorch's, without the batch dimension.
    Conv2d,
    /// `SumPool2d`: the sum over each window.
    SumPool2d,
    /// `AvgPool2d`: the mean over each window.
    AvgPool2d,
    /// `Flatten`: dimensions `start_dim..=end_dim` (batch excluded) merged into one.
    Flatten,
    /// `NIRGraph`: a nested graph whose own Input and Output nodes are its ports.
    NirGraph,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 19] = [
        Kind::Input,
        Kind::Output,
        Kind::Affine,
        Kind::Linear,
        Kind::Scale,
        Kind::Threshold,
        Kind::Delay,
        Kind::I,
        Kind::If,
        Kind::Li,
        Kind::Lif,
        Kind::CubaLi,
        Kind::CubaLif,
        Kind::Conv1d,
        Kind::Conv2d,
        Kind::SumPool2d,
        Kind::AvgPool2d,
        Kind::Flatten,
        Kind::NirGraph,
    ];

    /// The type string of the file (`"CubaLIF"`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Input => "Input",
            Kind::Output => "Output",
            Kind::Affine => "Affine",
            Kind::Linear => "Linear",
            Kind::Scale => "Scale",
            Kind::Threshold => "Threshold",
            Kind::Delay => "Delay",
            Kind::I => "I",
            Kind::If => "IF",
            Kind::Li => "LI",
            Kind::Lif => "LIF",
            Kind::CubaLi => "CubaLI",
            Kind::CubaLif => "CubaLIF",
            Kind::Conv1d => "Conv1d",
            Kind::Conv2d => "Conv2d",
            Kind::SumPool2d => "SumPool2d",
            Kind::AvgPool2d => "AvgPool2d",
            Kind::Flatten => "Flatten",
            Kind::NirGraph => "NIRGraph",
        }
    }

    /// The kind of a type string.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The parameters a node of this kind holds, in `nir`'s order, required ones first.
    /// Optional ones ([`Kind::optional`]) may be absent.
    pub fn params(self) -> &'static [&'static str] {
        match self {
            Kind::Input | Kind::Output => &["shape"],
            Kind::Affine => &["weight", "bias"],
            Kind::Linear => &["weight"],
            Kind::Scale => &["scale"],
            Kind::Threshold => &["threshold"],
            Kind::Delay => &["delay"],
            Kind::I => &["r"],
            Kind::If => &["r", "v_threshold", "v_reset"],
            Kind::Li => &["tau", "r", "v_leak"],
            Kind::Lif => &["tau", "r", "v_leak", "v_threshold", "v_reset"],
            Kind::CubaLi => &["tau_syn", "tau_mem", "r", "v_leak", "w_in"],
            Kind::CubaLif => &[
                "tau_syn",
                "tau_mem",
                "r",
                "v_leak",
                "v_threshold",
                "v_reset",
                "w_in",
            ],
            Kind::Conv1d | Kind::Conv2d => &[
                "weight",
                "stride",
                "padding",
                "dilation",
                "groups",
                "bias",
                "input_shape",
            ],
            Kind::SumPool2d | Kind::AvgPool2d => &["kernel_size", "stride", "padding"],
            Kind::Flatten => &["start_dim", "end_dim", "input_type"],
            Kind::NirGraph => &[],
        }
    }

    /// The parameters that may be absent from a valid file: a convolution's `input_shape` and
    /// a Flatten's `input_type` (unknown input shape).
    pub fn optional(self) -> &'static [&'static str] {
        match self {
            Kind::Conv1d | Kind::Conv2d => &["input_shape"],
            Kind::Flatten => &["input_type"],
            _ => &[],
        }
    }

    /// The parameters with one value per neuron (or per element), which must all have the
    /// same shape. `w_in` is not among them: it may also be a single value for all.
    pub fn state_params(self) -> &'static [&'static str] {
        match self {
            Kind::Scale => &["scale"],
            Kind::Threshold => &["threshold"],
            Kind::Delay => &["delay"],
            Kind::I => &["r"],
            Kind::If => &["r", "v_threshold", "v_reset"],
            Kind::Li => &["tau", "r", "v_leak"],
            Kind::Lif => &["tau", "r", "v_leak", "v_threshold", "v_reset"],
            Kind::CubaLi => &["tau_syn", "tau_mem", "r", "v_leak"],
            Kind::CubaLif => &[
                "tau_syn",
                "tau_mem",
                "r",
                "v_leak",
                "v_threshold",
                "v_reset",
            ],
            _ => &[],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An n-d array in row-major order, in the element type it was stored in.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The dimensions; empty for a 0-d value.
    pub shape: Vec<usize>,
    /// The elements, `shape.iter().product()` of them.
    pub data: Data,
}

/// The elements of an [`Array`].
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// 32-bit floats (what PyTorch exporters store).
    F32(Vec<f32>),
    /// 64-bit floats (what numpy stores).
    F64(Vec<f64>),
    /// Integers of any stored width, written back as 64-bit (what numpy and h5py use for
    /// shapes, strides and `groups`).
    Int(Vec<i64>),
    /// UTF-8 strings (a convolution's `padding = "same"`, metadata).
    Str(Vec<String>),
}

impl Array {
    /// A 1-d f64 array.
    pub fn f64(values: Vec<f64>) -> Array {
        Array {
            shape: vec![values.len()],
            data: Data::F64(values),
        }
    }

    /// A 1-d f32 array.
    pub fn f32(values: Vec<f32>) -> Array {
        Array {
            shape: vec![values.len()],
            data: Data::F32(values),
        }
    }

    /// A 1-d integer array.
    pub fn int(values: Vec<i64>) -> Array {
        Array {
            shape: vec![values.len()],
            data: Data::Int(values),
        }
    }

    /// A 0-d integer.
    pub fn int_scalar(value: i64) -> Array {
        Array {
            shape: vec![],
            data: Data::Int(vec![value]),
        }
    }

    /// A 0-d string.
    pub fn string(value: &str) -> Array {
        Array {
            shape: vec![],
            data: Data::Str(vec![value.to_string()]),
        }
    }

    /// The array with another shape (same number of elements; [`validate`] checks).
    pub fn reshaped(mut self, shape: &[usize]) -> Array {
        self.shape = shape.to_vec();
        self
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::Int(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type's name (`f32`, `f64`, `int`, `str`).
    pub fn dtype(&self) -> &'static str {
        match self.data {
            Data::F32(_) => "f32",
            Data::F64(_) => "f64",
            Data::Int(_) => "int",
            Data::Str(_) => "str",
        }
    }

    /// The elements as f64 (f32 widened exactly, integers converted); `None` for strings.
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        match &self.data {
            Data::F32(v) => Some(v.iter().map(|&x| x as f64).collect()),
            Data::F64(v) => Some(v.clone()),
            Data::Int(v) => Some(v.iter().map(|&x| x as f64).collect()),
            Data::Str(_) => None,
        }
    }

    /// The elements as integers; `None` unless the array holds integers.
    pub fn ints(&self) -> Option<&[i64]> {
        match &self.data {
            Data::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The single string of a 0-d (or one-element) string array.
    pub fn as_str(&self) -> Option<&str> {
        match &self.data {
            Data::Str(v) if v.len() == 1 => Some(&v[0]),
            _ => None,
        }
    }

    /// The shape as Python prints a tuple: `(4,)`, `(4, 3)`, `()`.
    pub fn shape_str(&self) -> String {
        shape_str(&self.shape)
    }
}

/// A shape as Python prints a tuple: `(4,)`, `(4, 3)`, `()`.
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Reads and checks the NIR file at `path`.
///
/// A file that is missing or cannot be read, is not HDF5, not NIR, or not a valid graph is
/// bad input ([`crate::Error::Input`], exit 2) naming the file and, where there is one, the
/// node and parameter.
pub fn read(path: &Path) -> crate::Result<Nir> {
    let bytes = std::fs::read(path).map_err(|e| {
        crate::Error::Input(format!("{}: cannot read the NIR file: {e}", path.display()))
    })?;
    let nir = hdf5::from_bytes(bytes).map_err(|e| input_error(path, e))?;
    validate(&nir.graph).map_err(|e| input_error(path, e))?;
    Ok(nir)
}

/// Checks `nir` and writes it to `path` (atomically), in `nir.write` 1.0.8's layout with
/// version [`WRITE_VERSION`] whatever `nir.version` says.
pub fn write(path: &Path, nir: &Nir) -> crate::Result<()> {
    let bytes = to_bytes(nir).map_err(|e| input_error(path, e))?;
    crate::io::write_atomic(path, &bytes)
}

/// Checks `nir` and serialises it as [`write`] does, without a file.
pub fn to_bytes(nir: &Nir) -> std::result::Result<Vec<u8>, String> {
    validate(&nir.graph)?;
    hdf5::to_bytes(nir)
}

/// Reads and checks a NIR file held in memory; errors as [`read`]'s without the file name.
pub fn from_bytes(bytes: Vec<u8>) -> std::result::Result<Nir, String> {
    let nir = hdf5::from_bytes(bytes)?;
    validate(&nir.graph)?;
    Ok(nir)
}

fn input_error(path: &Path, msg: String) -> crate::Error {
    crate::Error::Input(format!("{}: {msg}", path.display()))
}
