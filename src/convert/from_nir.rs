//! NIR graph → graph file (see the module documentation of `crate::convert` for the mapping).
//!
//! Errors are strings naming the node and, where one is at fault, its parameter; the caller
//! prefixes the file and reports them as bad input (exit 2).

use super::linear::{is_linear, linear_op, Lin, Op};
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
pub const SUPPORTED: &str =
    "Input, Output, Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Delay, LIF, CubaLIF, IF, Threshold, NIRGraph (flattened)";

/// A node that becomes a population, with what its incoming weights are multiplied by (per
/// neuron).
struct Pop {
    size: usize,
    /// The shape of its neurons (row-major), as the node gives it.
    shape: Vec<usize>,
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
    let flat = flatten(&nir.graph, "")?;
    let g = &flat;
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
                let shape = node
                    .param("shape")
                    .map_err(|e| format!("node '{name}': {e}"))?;
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
            Kind::If | Kind::Threshold => {
                // IF: v ← v + (r·dt)·x (Euler, no leak), spike and reset as LIF. Threshold:
                // v ← x (β = 0, gain 1), z = [x > θ], so the state holds no memory.
                let (beta, gain, th, reset_v) = if node.kind == Kind::If {
                    let r = vals("r")?;
                    let gain: Vec<f64> = r.iter().map(|r| r * dt).collect();
                    (1.0, gain, vals("v_threshold")?, vals("v_reset")?)
                } else {
                    let th = vals("threshold")?;
                    let n = th.len();
                    (0.0, vec![1.0; n], th, vec![0.0; n])
                };
                let n = th.len();
                if n == 0 {
                    return Err(format!("node '{name}': no neurons"));
                }
                let mut params = BTreeMap::new();
                let mut one = |key: &str, v: &[f64]| {
                    let (x, each) = split(v);
                    if let Some(each) = each {
                        params.insert(key.to_string(), each);
                    }
                    x
                };
                let p = LifParams {
                    v_rest_mv: 0.0,
                    v_reset_mv: one("v_reset_mv", &reset_v),
                    v_th_mv: one("v_th_mv", &th),
                    refractory_ms: 0.0,
                    r_mohm: one("r_mohm", &gain),
                    i_bias_na: 0.0,
                    integration: LifIntegration::SnnTorch {
                        beta: Some(beta),
                        reset,
                        reset_delay: false,
                    },
                    ..LifParams::default()
                };
                (ModelSpec::Lif(p), n, vec![1.0; n], params)
            }
            Kind::I | Kind::Li | Kind::CubaLi => {
                return Err(format!(
                    "node '{name}': {} is a neuron without spikes whose membrane is passed on as a graded value; the engine's populations pass on spikes or fed values only, so it is not supported",
                    node.kind
                ))
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
                    .map(|j| unit((w_in[j] * ks[j]) * (r[j] * km[j])))
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
                let (Some(mut from), None) = (src.next(), src.next()) else {
                    return Err(format!(
                        "node '{name}': an Output node needs exactly one edge into it (a population's spikes)"
                    ));
                };
                // Through a nested graph's Output port (the identity) to what feeds it.
                while g.nodes.get(from).is_some_and(|n| {
                    n.kind == Kind::Flatten && n.metadata.contains_key(PORT)
                }) {
                    let mut src = g.inputs_of(from);
                    match (src.next(), src.next()) {
                        (Some(f), None) => from = f,
                        _ => {
                            return Err(format!(
                                "node '{from}': a nested graph's Output port needs exactly one edge into it"
                            ))
                        }
                    }
                }
                if output.replace(from.to_string()).is_some() {
                    return Err(format!(
                        "node '{name}': the graph has more than one Output node; a graph file has one output population"
                    ));
                }
                continue;
            }
            kind if is_linear(kind) => continue,
            other => {
                return Err(format!(
                    "node '{name}': node type {other} is not yet supported (supported: {SUPPORTED})"
                ))
            }
        };
        pops.insert(
            name.as_str(),
            Pop {
                size,
                shape: match node.kind {
                    Kind::Input => node
                        .param("shape")
                        .ok()
                        .and_then(|a| a.ints())
                        .map(|v| v.iter().map(|&x| x as usize).collect())
                        .unwrap_or_else(|| vec![size]),
                    _ => node
                        .population_shape()
                        .map(|v| v.to_vec())
                        .filter(|v| v.iter().product::<usize>() == size)
                        .unwrap_or_else(|| vec![size]),
                },
                scale: scale.clone(),
            },
        );
        populations.push(PopulationSpec {
            name: name.clone(),
            size,
            model,
            init: BTreeMap::new(),
            params,
            learn_decay: false,
        });
    }
    if let Some(out) = &output {
        let node = &g.nodes[out];
        if !matches!(
            node.kind,
            Kind::Lif | Kind::CubaLif | Kind::If | Kind::Threshold
        ) {
            return Err(format!(
                "node '{out}': it feeds the Output node, but the output must be a population's spikes (LIF, CubaLIF, IF or Threshold), not a {}",
                node.kind
            ));
        }
    }

    // The operator and output shape of every linear node, each from the shape of its input
    // (a node may come before its input in the schedule only through a recurrent edge).
    let mut shapes: BTreeMap<&str, Vec<usize>> =
        pops.iter().map(|(k, p)| (*k, p.shape.clone())).collect();
    let mut lins: BTreeMap<&str, Lin> = BTreeMap::new();
    loop {
        let mut changed = false;
        for name in &sched.order {
            let node = &g.nodes[name];
            if !is_linear(node.kind) || lins.contains_key(name.as_str()) {
                continue;
            }
            let Some(in_shape) = g.inputs_of(name).find_map(|s| shapes.get(s)) else {
                continue;
            };
            let lin = linear_op(name, node, in_shape, dt)?;
            shapes.insert(name.as_str(), lin.out_shape.clone());
            lins.insert(name.as_str(), lin);
            changed = true;
        }
        if !changed {
            break;
        }
    }
    for name in &sched.order {
        let node = &g.nodes[name];
        if is_linear(node.kind) && !lins.contains_key(name.as_str()) {
            return Err(format!(
                "node '{name}': no population's output reaches it, so its input shape is unknown"
            ));
        }
        if is_linear(node.kind) && targets_of(g, name).is_empty() {
            return Err(format!(
                "node '{name}': a linear node needs an edge into it and one out of it"
            ));
        }
    }

    // Projections: every path population → linear nodes → population.
    let steps = |a: &str, b: &str| usize::from(recurrent.contains(&(a, b)));
    let mut paths: Vec<(&str, Vec<&str>, &str, usize)> = Vec::new();
    for name in &sched.order {
        if !pops.contains_key(name.as_str()) {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>, usize)> = vec![(name.as_str(), Vec::new(), 0)];
        while let Some((at, path, d)) = stack.pop() {
            for t in targets_of(g, at).into_iter().rev() {
                let d = d + steps(at, t) + lins.get(t).map_or(0, |l| l.steps);
                if pops.contains_key(t) {
                    paths.push((name.as_str(), path.clone(), t, d));
                } else if lins.contains_key(t) {
                    if path.contains(&t) {
                        return Err(format!(
                            "node '{t}': a cycle of linear nodes without a population in it"
                        ));
                    }
                    let mut p = path.clone();
                    p.push(t);
                    stack.push((t, p, d));
                } else if let Some(n) = g.nodes.get(t) {
                    let port = |x: &&str| g.nodes[*x].metadata.contains_key(PORT);
                    if n.kind == Kind::Output && !path.iter().all(port) {
                        return Err(format!(
                            "node '{}': it feeds the Output node, but the output must be a population's spikes (a graded output is not supported yet)",
                            path.last().unwrap()
                        ));
                    }
                }
            }
        }
    }
    // Paths in the order they were found: sources in schedule order, edges in file order.
    paths.reverse();
    paths.sort_by_key(|p| sched.order.iter().position(|n| n == p.0));
    let mut projections = Vec::new();
    let mut used: BTreeSet<String> = pops.keys().map(|k| k.to_string()).collect();
    let mut biased: BTreeSet<(Vec<&str>, &str)> = BTreeSet::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let unique = |names: &mut BTreeSet<String>, base: String| -> String {
        let mut n = base.clone();
        let mut k = 1;
        while names.contains(&n) {
            k += 1;
            n = format!("{base}#{k}");
        }
        names.insert(n.clone());
        n
    };
    for (s, path, d, d_steps) in &paths {
        let (sp, dp) = (&pops[s], &pops[d]);
        let ops: Vec<&Lin> = path
            .iter()
            .map(|n| &lins[n])
            .filter(|l| !matches!(l.op, Op::Identity))
            .collect();
        let n_last = path.last().map_or(sp.size, |n| lins[n].n_out());
        if n_last != dp.size {
            return Err(match path.last() {
                Some(n) => format!(
                    "node '{n}': gives {n_last} values but '{d}' has {} neurons",
                    dp.size
                ),
                None => format!(
                    "node '{d}': takes {} values but its input '{s}' gives {}",
                    dp.size, sp.size
                ),
            });
        }
        let base = match path.first() {
            None => format!("{s}->{d}"),
            Some(first) => {
                // Every node of the path, so that the writer gives each its name back,
                // except nested graphs' ports (the identity) and the names the writer makes
                // up for a layer `x` (`x.flatten`, `x.<i>`: `to_nir.rs`).
                let last = *path.last().unwrap();
                let made_up = |n: &str| {
                    n.strip_prefix(last)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|r| {
                            r == "flatten"
                                || (!r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                        })
                };
                let named: Vec<&str> = path
                    .iter()
                    .copied()
                    .filter(|n| !g.nodes[*n].metadata.contains_key(PORT) && !made_up(n))
                    .collect();
                let joined = if named.is_empty() {
                    path.join("+")
                } else {
                    named.join("+")
                };
                let several =
                    g.inputs_of(first).count() > 1 || targets_of(g, path.last().unwrap()).len() > 1;
                if several {
                    format!("{joined}:{s}->{d}")
                } else {
                    joined
                }
            }
        };
        let uniform = dp
            .scale
            .iter()
            .all(|&x| x.to_bits() == dp.scale[0].to_bits());
        let connectivity = match ops[..] {
            [Lin {
                op: Op::Conv(conn, _),
                ..
            }] if uniform => scaled(conn, dp.scale.first().copied().unwrap_or(1.0)),
            [Lin {
                op: Op::Matrix { w, n_out, n_in },
                ..
            }] => Connectivity::Dense {
                weights: (0..*n_in)
                    .map(|i| (0..*n_out).map(|j| w[j * n_in + i] * dp.scale[j]).collect())
                    .collect(),
            },
            [] => Connectivity::Dense {
                weights: (0..sp.size)
                    .map(|i| {
                        (0..dp.size)
                            .map(|j| if i == j { dp.scale[j] } else { 0.0 })
                            .collect()
                    })
                    .collect(),
            },
            [_, .., last] if s != d && (uniform || matches!(last.op, Op::Matrix { .. })) => {
                // Several operators: a chain of their maps, the target's input gain in the
                // last one, which the engine composes into one dense projection.
                let n = ops.len();
                let steps = ops
                    .iter()
                    .enumerate()
                    .map(|(k, l)| match &l.op {
                        Op::Matrix { w, n_out, n_in } => Connectivity::Dense {
                            weights: (0..*n_in)
                                .map(|i| {
                                    (0..*n_out)
                                        .map(|j| {
                                            let x = w[j * n_in + i];
                                            if k + 1 == n {
                                                x * dp.scale[j]
                                            } else {
                                                x
                                            }
                                        })
                                        .collect()
                                })
                                .collect(),
                        },
                        Op::Conv(conn, _) if k + 1 == n => {
                            scaled(conn, dp.scale.first().copied().unwrap_or(1.0))
                        }
                        Op::Conv(conn, _) => conn.clone(),
                        Op::Identity => unreachable!("identities are left out"),
                    })
                    .collect();
                Connectivity::Chain { steps }
            }
            _ => {
                // A cycle through several operators (or a kernel into neurons of different
                // input gains): the composed matrix, column by column (one column per
                // presynaptic neuron).
                let weights = (0..sp.size)
                    .map(|i| {
                        let mut x = vec![0.0; sp.size];
                        x[i] = 1.0;
                        let y = ops.iter().fold(x, |x, op| op.apply(&x));
                        y.iter().zip(&dp.scale).map(|(y, s)| y * s).collect()
                    })
                    .collect();
                Connectivity::Dense { weights }
            }
        };
        projections.push(ProjectionSpec {
            name: Some(unique(&mut names, base.clone())),
            pre: s.to_string(),
            post: d.to_string(),
            receptor: Receptor::Exc,
            connectivity,
            allow_autapses: true,
            weight: None,
            delay_ms: Some(Init::Constant(*d_steps as f64 * dt_ms)),
            rule: None,
        });
        // Biases on the path: each reaches `d` through the operators after its node, once
        // per (node and what follows it, target), however many sources share the path.
        for (k, node) in path.iter().enumerate() {
            let Some(b) = &lins[node].bias else { continue };
            if !biased.insert((path[k..].to_vec(), *d)) {
                continue;
            }
            let after: Vec<&Lin> = path[k + 1..]
                .iter()
                .map(|n| &lins[n])
                .filter(|l| !matches!(l.op, Op::Identity))
                .collect();
            // The last operator's bias is named after the chain it ends (`2+4.bias` for
            // `AvgPool2d 2 → Flatten 3 → Affine 4`), which is how the writer finds its layer.
            let src = if after.is_empty() {
                format!("{}.bias", base.split(':').next().unwrap_or(node))
            } else {
                format!("{node}.bias")
            };
            if !used.contains(&src) {
                if g.nodes.contains_key(&src) {
                    return Err(format!(
                        "node '{node}': its bias needs a population named '{src}', which is a node of the graph"
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
                    learn_decay: false,
                });
            }
            let y = after.iter().fold(b.clone(), |x, op| op.apply(&x));
            // The bias travels the edges from its node to `d`, and (a recurrent layer entered
            // through a recurrent edge) those into its node.
            let mut b_steps = path[k..]
                .windows(2)
                .map(|w| steps(w[0], w[1]) + lins[w[1]].steps)
                .sum::<usize>()
                + steps(path.last().unwrap(), d);
            b_steps += g.inputs_of(node).map(|i| steps(i, node)).max().unwrap_or(0);
            let several = targets_of(g, node).len() > 1 || !after.is_empty();
            projections.push(ProjectionSpec {
                name: Some(unique(
                    &mut names,
                    if several {
                        format!("{src}->{d}")
                    } else {
                        src.clone()
                    },
                )),
                pre: src.clone(),
                post: d.to_string(),
                receptor: Receptor::Exc,
                connectivity: Connectivity::Dense {
                    weights: vec![y.iter().zip(&dp.scale).map(|(y, s)| y * s).collect()],
                },
                allow_autapses: true,
                weight: None,
                delay_ms: Some(Init::Constant(b_steps as f64 * dt_ms)),
                rule: None,
            });
        }
    }
    for (name, node) in &g.nodes {
        if node.kind == Kind::Input && g.inputs_of(name).next().is_some() {
            return Err(format!("node '{name}': an Input node has an edge into it"));
        }
        if matches!(
            node.kind,
            Kind::Lif | Kind::CubaLif | Kind::If | Kind::Threshold
        ) && g.inputs_of(name).next().is_none()
        {
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

/// The nodes that edges out of `node` lead to, in file order.
fn targets_of<'a>(g: &'a crate::nir::Graph, node: &str) -> Vec<&'a str> {
    g.edges
        .iter()
        .filter(|(a, _)| a == node)
        .map(|(_, b)| b.as_str())
        .collect()
}

/// A CubaLIF's input gain (w_in·dt/τ_syn)·(r·dt/τ_mem), taken as exactly 1 within four ulps:
/// snnTorch-style gains (r = τ_mem/dt, w_in = τ_syn/dt, as snnsim writes them too) multiply
/// back to 1 only within a few ulps, and such a gain is 1, so a pool stays a pool and the
/// weights are the file's (which makes graph file → NIR → graph file exact).
fn unit(s: f64) -> f64 {
    if (s - 1.0).abs() <= 4.0 * f64::EPSILON {
        1.0
    } else {
        s
    }
}

/// A kernel connectivity with its weights multiplied by `s` (a pool becomes the equivalent
/// grouped convolution when `s` is not 1).
fn scaled(conn: &Connectivity, s: f64) -> Connectivity {
    if s == 1.0 {
        return conn.clone();
    }
    let mut c = conn.clone();
    match &mut c {
        Connectivity::Conv2d { weights, .. } | Connectivity::Conv1d { weights, .. } => {
            weights.iter_mut().for_each(|w| *w *= s)
        }
        Connectivity::SumPool2d {
            input,
            kernel,
            stride,
            padding,
        }
        | Connectivity::AvgPool2d {
            input,
            kernel,
            stride,
            padding,
        } => {
            let w = if matches!(conn, Connectivity::AvgPool2d { .. }) {
                1.0 / (kernel[0] * kernel[1]) as f64
            } else {
                1.0
            };
            return Connectivity::Conv2d {
                input: input.clone(),
                out_channels: input[0],
                kernel: kernel.clone(),
                stride: stride.clone().unwrap_or_else(|| kernel.clone()),
                padding: padding.clone(),
                dilation: vec![1, 1],
                groups: input[0],
                weights: vec![w * s; input[0] * kernel[0] * kernel[1]],
            };
        }
        _ => {}
    }
    c
}

/// The metadata key that marks a nested graph's port once the graph is flattened.
pub(super) const PORT: &str = "snnsim_port";

/// The graph with every nested `NIRGraph` node replaced by its nodes, named
/// `<graph node>.<node>` (recursively), its `Input` and `Output` ports becoming pass-through
/// nodes (a Flatten marked [`PORT`], the identity that keeps the shape); an edge to or from
/// the nested graph node itself goes to its one Input port or from its one Output port.
fn flatten(g: &crate::nir::Graph, prefix: &str) -> Result<crate::nir::Graph, String> {
    use crate::nir::{Array, Graph};
    let mut nodes = BTreeMap::new();
    let mut edges = Vec::new();
    let mut ports: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (name, node) in &g.nodes {
        if node.kind != Kind::NirGraph {
            nodes.insert(name.clone(), node.clone());
            continue;
        }
        let full = format!("{prefix}{name}");
        let inner = flatten(
            node.graph.as_ref().expect("a NIRGraph node has a graph"),
            &format!("{full}."),
        )?;
        let (mut ins, mut outs) = (Vec::new(), Vec::new());
        for (n, nd) in inner.nodes {
            let here = format!("{name}.{n}");
            let nd = match nd.kind {
                Kind::Input | Kind::Output if !n.contains('.') => {
                    if nd.kind == Kind::Input {
                        ins.push(here.clone())
                    } else {
                        outs.push(here.clone())
                    }
                    let mut port = Node::new(
                        Kind::Flatten,
                        [
                            ("start_dim", Array::int_scalar(0)),
                            ("end_dim", Array::int_scalar(-1)),
                        ],
                    );
                    port.metadata.insert(PORT.into(), Array::string("port"));
                    port
                }
                _ => nd,
            };
            nodes.insert(here, nd);
        }
        for (a, b) in inner.edges {
            edges.push((format!("{name}.{a}"), format!("{name}.{b}")));
        }
        ports.insert(name.as_str(), (ins, outs));
    }
    for (a, b) in &g.edges {
        let end = |x: &str, inputs: bool| -> Result<String, String> {
            let Some((ins, outs)) = ports.get(x) else {
                return Ok(x.to_string());
            };
            let list = if inputs { ins } else { outs };
            match &list[..] {
                [one] => Ok(one.clone()),
                _ => Err(format!(
                    "node '{prefix}{x}': an edge names the nested graph, which has {} {} nodes; name one of them ('{x}.<node>')",
                    list.len(),
                    if inputs { "Input" } else { "Output" }
                )),
            }
        };
        edges.push((end(a, false)?, end(b, true)?));
    }
    for (a, b) in &edges {
        for x in [a, b] {
            if !nodes.contains_key(x) {
                return Err(format!(
                    "{}an edge names '{x}', which is not a node of the flattened graph",
                    if prefix.is_empty() {
                        String::new()
                    } else {
                        format!("nested graph '{}': ", prefix.trim_end_matches('.'))
                    }
                ));
            }
        }
    }
    Ok(Graph { nodes, edges })
}
