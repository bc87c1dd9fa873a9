//! NIR graph → graph file (see the module documentation of `crate::convert` for the mapping).
//!
//! Errors are strings naming the node and, where one is at fault, its parameter; the caller
//! prefixes the file and reports them as bad input (exit 2).

use crate::file::{
    Connectivity, GraphFile, Init, LifIntegration, LifParams, ModelSpec, PopulationSpec,
    ProjectionSpec, Receptor, Reset, SynapticParams, ValuesParams, FORMAT_VERSION,
};
use crate::nir::{Kind, Nir, Node};
use std::collections::{BTreeMap, BTreeSet};

/// The reset NIR leaves open (`snnsim convert --reset`, `snnsim run X.nir --reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NirReset {
    /// v ← v_reset (NIR's definition; snnTorch's `reset_mechanism="zero"`, its importer's).
    Zero,
    /// v ← v − v_threshold.
    Subtract,
}

/// The node kinds [`from_nir`] converts.
pub const SUPPORTED: &str = "Input, Output, Affine, Linear, Scale, LIF, CubaLIF";

/// A node that becomes a population, with what its incoming weights are multiplied by (per
/// neuron).
struct Pop {
    size: usize,
    scale: Vec<f64>,
}

fn values(name: &str, node: &Node, param: &str) -> Result<Vec<f64>, String> {
    node.param(param)
        .map_err(|e| format!("node '{name}': {e}"))?
        .to_f64()
        .ok_or_else(|| format!("node '{name}': {param} is not numeric"))
}

/// `dt/τ` per neuron, refusing τ that is not finite or shorter than dt (a decay outside
/// [0, 1)).
fn ratio(name: &str, param: &str, tau: &[f64], dt: f64) -> Result<Vec<f64>, String> {
    tau.iter()
        .map(|&t| {
            if t.is_finite() && t >= dt {
                Ok(dt / t)
            } else {
                Err(format!(
                    "node '{name}': {param} = {t} s is not at least the time step dt = {dt} s \
                     (the decay 1 − dt/{param} would leave [0, 1))"
                ))
            }
        })
        .collect()
}

/// Every value finite, or an error naming the node and parameter.
fn finite(name: &str, param: &str, v: &[f64]) -> Result<(), String> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(format!(
            "node '{name}': {param}[{i}] = {} is not finite",
            v[i]
        )),
        None => Ok(()),
    }
}

/// The single value of a parameter, and the per-neuron list when the neurons differ.
fn split(v: &[f64]) -> (f64, Option<Vec<f64>>) {
    let first = v.first().copied().unwrap_or(0.0);
    if v.iter().all(|&x| x.to_bits() == first.to_bits()) {
        (first, None)
    } else {
        (first, Some(v.to_vec()))
    }
}

/// Converts the top graph of `nir` into a graph file with time step `dt_ms` and the given
/// reset. The graph file runs for 0 ms (a run with `--input` takes its length from the input).
pub fn from_nir(nir: &Nir, dt_ms: f64, reset: NirReset) -> Result<GraphFile, String> {
    if !(dt_ms.is_finite() && dt_ms > 0.0) {
        return Err(format!("the time step must be positive, not {dt_ms} ms"));
    }
    let dt = dt_ms / 1000.0;
    let g = &nir.graph;
    let sched = g.schedule();
    let recurrent: BTreeSet<(&str, &str)> = sched
        .recurrent
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let reset = match reset {
        NirReset::Zero => Reset::Zero,
        NirReset::Subtract => Reset::Subtract,
    };
    let mut populations = Vec::new();
    let mut pops: BTreeMap<&str, Pop> = BTreeMap::new();
    let mut output = None;
    // Populations first, in evaluation order.
    for name in &sched.order {
        let node = &g.nodes[name];
        let vals = |p: &str| -> Result<Vec<f64>, String> {
            let v = values(name, node, p)?;
            finite(name, p, &v)?;
            Ok(v)
        };
        let (model, size, scale, params) = match node.kind {
            Kind::Input => {
                let shape = node.param("shape").map_err(|e| format!("node '{name}': {e}"))?;
                let size: i64 = shape
                    .ints()
                    .ok_or_else(|| format!("node '{name}': shape is not a list of integers"))?
                    .iter()
                    .product();
                let size = usize::try_from(size)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("node '{name}': shape gives {size} values"))?;
                (
                    ModelSpec::Values(ValuesParams::default()),
                    size,
                    vec![1.0; size],
                    BTreeMap::new(),
                )
            }
            Kind::Lif => {
                let tau = vals("tau")?;
                if tau.is_empty() {
                    return Err(format!("node '{name}': tau has no values (no neurons)"));
                }
                let k = ratio(name, "tau", &tau, dt)?;
                let r = vals("r")?;
                let n = tau.len();
                let gain: Vec<f64> = r.iter().zip(&k).map(|(r, k)| r * k).collect();
                if let Some(i) = gain.iter().position(|&x| x <= 0.0) {
                    return Err(format!(
                        "node '{name}': r[{i}] = {} must be positive (the input's gain r·dt/tau)",
                        r[i]
                    ));
                }
                let beta: Vec<f64> = k.iter().map(|k| 1.0 - k).collect();
                let mut params = BTreeMap::new();
                let mut one = |key: &str, v: &[f64]| {
                    let (x, each) = split(v);
                    if let Some(each) = each {
                        params.insert(key.to_string(), each);
                    }
                    x
                };
                let p = LifParams {
                    tau_m_ms: tau[0] * 1e3,
                    v_rest_mv: one("v_rest_mv", &vals("v_leak")?),
                    v_reset_mv: one("v_reset_mv", &vals("v_reset")?),
                    v_th_mv: one("v_th_mv", &vals("v_threshold")?),
                    refractory_ms: 0.0,
                    r_mohm: one("r_mohm", &gain),
                    i_bias_na: 0.0,
                    integration: LifIntegration::SnnTorch {
                        beta: Some(one("beta", &beta)),
                        reset,
                        reset_delay: false,
                    },
                    ..LifParams::default()
                };
                (ModelSpec::Lif(p), n, vec![1.0; n], params)
            }
            Kind::CubaLif => {
                for p in ["v_leak", "v_reset"] {
                    let v = vals(p)?;
                    if let Some(i) = v.iter().position(|&x| x != 0.0) {
                        return Err(format!(
                            "node '{name}': {p}[{i}] = {}; snnsim maps CubaLIF to Synaptic, which leaks and resets to 0 (a non-zero {p} is not supported yet)",
                            v[i]
                        ));
                    }
                }
                let ks = ratio(name, "tau_syn", &vals("tau_syn")?, dt)?;
                let km = ratio(name, "tau_mem", &vals("tau_mem")?, dt)?;
                let r = vals("r")?;
                let w_in = vals("w_in")?;
                let n = km.len();
                // syn' = (r·dt/τ_mem)·I: the input's two gains go into the weights.
                let scale: Vec<f64> = (0..n)
                    .map(|j| (w_in[j] * ks[j]) * (r[j] * km[j]))
                    .collect();
                let alpha: Vec<f64> = ks.iter().map(|k| 1.0 - k).collect();
                let beta: Vec<f64> = km.iter().map(|k| 1.0 - k).collect();
                let mut params = BTreeMap::new();
                let mut one = |key: &str, v: &[f64]| {
                    let (x, each) = split(v);
                    if let Some(each) = each {
                        params.insert(key.to_string(), each);
                    }
                    x
                };
                let p = SynapticParams {
                    alpha: Some(one("alpha", &alpha)),
                    beta: Some(one("beta", &beta)),
                    threshold: one("threshold", &vals("v_threshold")?),
                    reset,
                    reset_delay: false,
                    ..SynapticParams::default()
                };
                (ModelSpec::Synaptic(p), n, scale, params)
            }
            Kind::Output => {
                let mut src = g.inputs_of(name);
                let (Some(from), None) = (src.next(), src.next()) else {
                    return Err(format!(
                        "node '{name}': an Output node needs exactly one edge into it (a population's spikes)"
                    ));
                };
                if output.replace(from.to_string()).is_some() {
                    return Err(format!(
                        "node '{name}': the graph has more than one Output node; a graph file has one output population"
                    ));
                }
                continue;
            }
            Kind::Affine | Kind::Linear | Kind::Scale => continue,
            Kind::NirGraph => {
                return Err(format!(
                    "node '{name}': nested NIRGraph nodes are not supported yet (flatten the graph)"
                ))
            }
            other => {
                return Err(format!(
                    "node '{name}': node type {other} is not yet supported (supported: {SUPPORTED}; the conv fixture is read and checked, not run)"
                ))
            }
        };
        pops.insert(
            name.as_str(),
            Pop {
                size,
                scale: scale.clone(),
            },
        );
        populations.push(PopulationSpec {
            name: name.clone(),
            size,
            model,
            init: BTreeMap::new(),
            params,
        });
    }
    if let Some(out) = &output {
        let node = &g.nodes[out];
        if !matches!(node.kind, Kind::Lif | Kind::CubaLif) {
            return Err(format!(
                "node '{out}': it feeds the Output node, but the output must be a population's spikes (LIF or CubaLIF), not a {}",
                node.kind
            ));
        }
    }

    // Projections: every path population → (linear node) → population.
    let mut projections = Vec::new();
    let delay = |a: &str, b: &str| {
        if recurrent.contains(&(a, b)) {
            dt_ms
        } else {
            0.0
        }
    };
    let targets_of = |node: &str| -> Vec<&str> {
        g.edges
            .iter()
            .filter(|(a, _)| a == node)
            .map(|(_, b)| b.as_str())
            .collect()
    };
    let mut used: BTreeSet<String> = pops.keys().map(|k| k.to_string()).collect();
    for name in &sched.order {
        let node = &g.nodes[name];
        match node.kind {
            Kind::Affine | Kind::Linear | Kind::Scale => {
                let sources: Vec<&str> = g.inputs_of(name).collect();
                let dests = targets_of(name);
                // W as (out, in), row-major, and the bias.
                let (w, n_out, n_in) = match node.kind {
                    Kind::Scale => {
                        let s = values(name, node, "scale")?;
                        let n = s.len();
                        let mut w = vec![0.0; n * n];
                        for (j, x) in s.iter().enumerate() {
                            w[j * n + j] = *x;
                        }
                        (w, n, n)
                    }
                    _ => {
                        let wa = node
                            .param("weight")
                            .map_err(|e| format!("node '{name}': {e}"))?;
                        if wa.shape.len() != 2 {
                            return Err(format!(
                                "node '{name}': weight has shape {}, a dense layer takes (out, in)",
                                wa.shape_str()
                            ));
                        }
                        (values(name, node, "weight")?, wa.shape[0], wa.shape[1])
                    }
                };
                finite(name, "weight", &w)?;
                let bias = if node.kind == Kind::Affine {
                    let b = values(name, node, "bias")?;
                    finite(name, "bias", &b)?;
                    if b.len() != n_out {
                        return Err(format!(
                            "node '{name}': bias has {} values, weight {n_out} rows",
                            b.len()
                        ));
                    }
                    Some(b).filter(|b| b.iter().any(|&x| x != 0.0))
                } else {
                    None
                };
                if sources.is_empty() || dests.is_empty() {
                    return Err(format!(
                        "node '{name}': a dense layer needs an edge into it and one out of it"
                    ));
                }
                for d in &dests {
                    let dp = dest_pop(&pops, g, name, d)?;
                    if dp.size != n_out {
                        return Err(format!(
                            "node '{name}': gives {n_out} values but '{d}' has {} neurons",
                            dp.size
                        ));
                    }
                    let several = sources.len() > 1 || dests.len() > 1;
                    for s in &sources {
                        let Some(sp) = pops.get(s) else {
                            return Err(format!(
                                "node '{name}': its input '{s}' is a {}; a dense layer must take a population's output (Input, LIF, CubaLIF)",
                                g.nodes.get(*s).map_or("nested node".to_string(), |n| n.kind.to_string())
                            ));
                        };
                        if sp.size != n_in {
                            return Err(format!(
                                "node '{name}': takes {n_in} values but its input '{s}' gives {}",
                                sp.size
                            ));
                        }
                        let weights: Vec<Vec<f64>> = (0..n_in)
                            .map(|i| (0..n_out).map(|j| w[j * n_in + i] * dp.scale[j]).collect())
                            .collect();
                        let d_ms = delay(s, name).max(delay(name, d));
                        projections.push(ProjectionSpec {
                            name: Some(if several {
                                format!("{name}:{s}->{d}")
                            } else {
                                name.clone()
                            }),
                            pre: s.to_string(),
                            post: d.to_string(),
                            receptor: Receptor::Exc,
                            connectivity: Connectivity::Dense { weights },
                            allow_autapses: true,
                            weight: None,
                            delay_ms: Some(Init::Constant(d_ms)),
                            rule: None,
                        });
                    }
                    if let Some(b) = &bias {
                        let src = format!("{name}.bias");
                        if !used.contains(&src) {
                            if g.nodes.contains_key(&src) {
                                return Err(format!(
                                    "node '{name}': its bias needs a population named '{src}', which is a node of the graph"
                                ));
                            }
                            used.insert(src.clone());
                            populations.push(PopulationSpec {
                                name: src.clone(),
                                size: 1,
                                model: ModelSpec::Values(ValuesParams {
                                    constant: Some(vec![1.0]),
                                }),
                                init: BTreeMap::new(),
                                params: BTreeMap::new(),
                            });
                        }
                        // The bias travels the layer's edge into `d` (and its input's, for
                        // a recurrent layer entered through a recurrent edge).
                        let d_ms = sources
                            .iter()
                            .map(|s| delay(s, name))
                            .fold(delay(name, d), f64::max);
                        projections.push(ProjectionSpec {
                            name: Some(if dests.len() > 1 {
                                format!("{src}->{d}")
                            } else {
                                src.clone()
                            }),
                            pre: src.clone(),
                            post: d.to_string(),
                            receptor: Receptor::Exc,
                            connectivity: Connectivity::Dense {
                                weights: vec![(0..n_out).map(|j| b[j] * dp.scale[j]).collect()],
                            },
                            allow_autapses: true,
                            weight: None,
                            delay_ms: Some(Init::Constant(d_ms)),
                            rule: None,
                        });
                    }
                }
            }
            Kind::Lif | Kind::CubaLif => {
                // Edges straight from another population: one to one, weight 1.
                for s in g.inputs_of(name) {
                    let Some(sp) = pops.get(s) else { continue };
                    let dp = &pops[name.as_str()];
                    if sp.size != dp.size {
                        return Err(format!(
                            "node '{name}': takes {} values but its input '{s}' gives {}",
                            dp.size, sp.size
                        ));
                    }
                    let weights: Vec<Vec<f64>> = (0..sp.size)
                        .map(|i| {
                            (0..dp.size)
                                .map(|j| if i == j { dp.scale[j] } else { 0.0 })
                                .collect()
                        })
                        .collect();
                    projections.push(ProjectionSpec {
                        name: Some(format!("{s}->{name}")),
                        pre: s.to_string(),
                        post: name.clone(),
                        receptor: Receptor::Exc,
                        connectivity: Connectivity::Dense { weights },
                        allow_autapses: true,
                        weight: None,
                        delay_ms: Some(Init::Constant(delay(s, name))),
                        rule: None,
                    });
                }
            }
            _ => {}
        }
    }
    for (name, node) in &g.nodes {
        if node.kind == Kind::Input && g.inputs_of(name).next().is_some() {
            return Err(format!("node '{name}': an Input node has an edge into it"));
        }
        if matches!(node.kind, Kind::Lif | Kind::CubaLif) && g.inputs_of(name).next().is_none() {
            return Err(format!("node '{name}': no edge leads into it"));
        }
    }
    Ok(GraphFile {
        format_version: FORMAT_VERSION,
        dt_ms,
        duration_ms: 0.0,
        seed: 0,
        device: Default::default(),
        populations,
        projections,
        stimuli: Vec::new(),
        recorders: Vec::new(),
        task: None,
        checkpoint_every: None,
        structure: Vec::new(),
        output,
    })
}

/// The population a dense layer `layer` feeds: `d` must be a LIF or CubaLIF node.
fn dest_pop<'a>(
    pops: &'a BTreeMap<&str, Pop>,
    g: &crate::nir::Graph,
    layer: &str,
    d: &str,
) -> Result<&'a Pop, String> {
    match (g.nodes.get(d).map(|n| n.kind), pops.get(d)) {
        (Some(Kind::Lif | Kind::CubaLif), Some(p)) => Ok(p),
        (Some(kind), _) => Err(format!(
            "node '{layer}': it feeds '{d}', a {kind}; a dense layer must feed a LIF or CubaLIF node (a graded output is not supported yet)"
        )),
        (None, _) => Err(format!(
            "node '{layer}': it feeds '{d}', inside a nested graph, which is not supported yet"
        )),
    }
}
