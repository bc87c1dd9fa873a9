//! Graph file → NIR graph: the inverse of [`super::from_nir`] for the networks NIR can express
//! (see the module documentation of `crate::convert`).
//!
//! A fed `Values` population becomes an `Input` node, `Lif` with `integration: SnnTorch(reset:
//! Zero, reset_delay: false)` a `LIF` (τ = dt/(1 − β), r = R·τ/dt, v_leak = v_rest), `Synaptic`
//! with `reset: Zero, reset_delay: false` a `CubaLIF` (τ_syn = dt/(1 − α), τ_mem = dt/(1 − β),
//! and snnTorch's gains r = τ_mem/dt, w_in = τ_syn/dt, so that the input scale r·dt/τ_mem ·
//! w_in·dt/τ_syn is 1 and the weights carry everything), a `Dense` projection an `Affine` node
//! named after it (a `Linear` without a bias), whose bias is read back from the projection of
//! the constant source `<name>.bias`, and `output` an `Output` node. A zero-delay projection is
//! a feed-forward edge; a projection of one step must close a cycle, which NIR reads as the
//! previous step's output. Everything else is refused, naming the population or projection:
//! other models, the delayed or subtracting reset (NIR resets to `v_reset` in the step of the
//! spike), other connectivities, longer delays.

use crate::file::{
    Connectivity, GraphFile, Init, LifIntegration, ModelSpec, PopulationSpec, ProjectionSpec, Reset,
};
use crate::nir::{Array, Graph, Kind, Nir, Node};
use std::collections::{BTreeMap, BTreeSet};

/// A parameter per neuron: the population's `params` entry, else `one` for every neuron.
fn per(p: &PopulationSpec, key: &str, one: f64) -> Vec<f64> {
    p.params
        .get(key)
        .cloned()
        .unwrap_or_else(|| vec![one; p.size])
}

/// The per-step decay of a `Synaptic` parameter as the engine computes it.
fn decay(per_step: Option<f64>, tau_ms: Option<f64>, dt_ms: f64, default: f64) -> f64 {
    match (per_step, tau_ms) {
        (Some(d), _) => d,
        (None, Some(tau)) => (-dt_ms / tau).exp(),
        (None, None) => default,
    }
}

/// τ = dt/(1 − decay) per neuron (seconds), refusing a decay of 1 (no leak: NIR's IF, not
/// written yet) or outside [0, 1).
fn taus(pop: &str, key: &str, decays: &[f64], dt: f64) -> Result<Vec<f64>, String> {
    decays
        .iter()
        .map(|&d| {
            if (0.0..1.0).contains(&d) {
                Ok(dt / (1.0 - d))
            } else {
                Err(format!(
                    "population `{pop}`: {key} = {d} has no time constant (NIR needs a decay in [0, 1))"
                ))
            }
        })
        .collect()
}

fn name_of(p: &ProjectionSpec) -> String {
    p.name
        .clone()
        .unwrap_or_else(|| format!("{}->{}", p.pre, p.post))
}

/// Writes a (validated) graph file as a NIR graph, or says which population or projection
/// NIR cannot express.
pub fn to_nir(file: &GraphFile) -> Result<Nir, String> {
    let dt_ms = file.dt_ms;
    let dt = dt_ms / 1000.0;
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut edges: Vec<(String, String)> = Vec::new();
    let pops: BTreeMap<&str, &PopulationSpec> = file
        .populations
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    // Constant sources are biases, read with the projection they belong to.
    let constant =
        |name: &str| matches!(&pops[name].model, ModelSpec::Values(v) if v.constant.is_some());
    for p in &file.populations {
        let n = p.size;
        let node = match &p.model {
            ModelSpec::Values(v) if v.constant.is_none() => {
                Node::new(Kind::Input, [("shape", Array::int(vec![n as i64]))])
            }
            ModelSpec::Values(_) => continue,
            ModelSpec::Lif(l) => {
                let LifIntegration::SnnTorch {
                    beta,
                    reset: Reset::Zero,
                    reset_delay: false,
                } = l.integration
                else {
                    return Err(format!(
                        "population `{}`: Lif is written to NIR only with integration: SnnTorch(reset: Zero, reset_delay: false) (NIR's LIF resets to v_reset in the step of the spike)",
                        p.name
                    ));
                };
                let beta1 = beta.unwrap_or((-dt_ms / l.tau_m_ms).exp());
                let tau = taus(&p.name, "beta", &per(p, "beta", beta1), dt)?;
                let gain = per(p, "r_mohm", l.r_mohm);
                if per(p, "i_bias_na", l.i_bias_na).iter().any(|&x| x != 0.0) {
                    return Err(format!(
                        "population `{}`: a bias current (i_bias_na) has no place in NIR's LIF",
                        p.name
                    ));
                }
                let r: Vec<f64> = gain.iter().zip(&tau).map(|(g, t)| g * t / dt).collect();
                Node::new(
                    Kind::Lif,
                    [
                        ("tau", Array::f64(tau)),
                        ("r", Array::f64(r)),
                        ("v_leak", Array::f64(per(p, "v_rest_mv", l.v_rest_mv))),
                        ("v_threshold", Array::f64(per(p, "v_th_mv", l.v_th_mv))),
                        ("v_reset", Array::f64(per(p, "v_reset_mv", l.v_reset_mv))),
                    ],
                )
            }
            ModelSpec::Synaptic(s) => {
                if s.reset != Reset::Zero || s.reset_delay {
                    return Err(format!(
                        "population `{}`: Synaptic is written to NIR only with reset: Zero, reset_delay: false (NIR's CubaLIF resets to v_reset in the step of the spike)",
                        p.name
                    ));
                }
                let a = decay(s.alpha, s.tau_syn_ms, dt_ms, 0.8);
                let b = decay(s.beta, s.tau_mem_ms, dt_ms, 0.9);
                let tau_syn = taus(&p.name, "alpha", &per(p, "alpha", a), dt)?;
                let tau_mem = taus(&p.name, "beta", &per(p, "beta", b), dt)?;
                let r: Vec<f64> = tau_mem.iter().map(|t| t / dt).collect();
                let w_in: Vec<f64> = tau_syn.iter().map(|t| t / dt).collect();
                Node::new(
                    Kind::CubaLif,
                    [
                        ("tau_syn", Array::f64(tau_syn)),
                        ("tau_mem", Array::f64(tau_mem)),
                        ("r", Array::f64(r)),
                        ("v_leak", Array::f64(vec![0.0; n])),
                        ("v_threshold", Array::f64(per(p, "threshold", s.threshold))),
                        ("v_reset", Array::f64(vec![0.0; n])),
                        ("w_in", Array::f64(w_in)),
                    ],
                )
            }
            other => {
                let model = format!("{other:?}");
                let model = model.split(['(', ' ', '{']).next().unwrap_or("?");
                return Err(format!(
                    "population `{}`: model {model} cannot be written to NIR (written: Lif with SnnTorch integration, Synaptic, Values)",
                    p.name
                ));
            }
        };
        nodes.insert(p.name.clone(), node);
    }
    // Biases: the constant source `<projection>.bias` into the projection's target.
    let mut biases: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    let mut delayed: BTreeSet<(String, String)> = BTreeSet::new();
    for pr in &file.projections {
        let name = name_of(pr);
        let delay = match &pr.delay_ms {
            Some(Init::Constant(d)) if *d == 0.0 => 0,
            None => 1,
            Some(Init::Constant(d)) if crate::file::steps_of_time(*d, dt_ms) == 1 => 1,
            _ => {
                return Err(format!(
                    "projection `{name}`: NIR holds zero-delay edges and one-step edges that close a cycle; this delay is not written yet"
                ))
            }
        };
        let Connectivity::Dense { weights } = &pr.connectivity else {
            return Err(format!(
                "projection `{name}`: only Dense connectivity is written to NIR yet"
            ));
        };
        if constant(&pr.pre) {
            let ModelSpec::Values(v) = &pops[pr.pre.as_str()].model else {
                unreachable!()
            };
            let c = v.constant.as_ref().expect("constant");
            let Some(layer) = pr.pre.strip_suffix(".bias") else {
                return Err(format!(
                    "projection `{name}`: a constant Values source is written as the bias of the projection it names (`<projection>.bias`), not `{}`",
                    pr.pre
                ));
            };
            let b: Vec<f64> = (0..pops[pr.post.as_str()].size)
                .map(|j| weights.iter().zip(c).map(|(row, x)| row[j] * x).sum())
                .collect();
            biases.insert((layer.to_string(), pr.post.clone()), b);
            continue;
        }
        let (n_in, n_out) = (pops[pr.pre.as_str()].size, pops[pr.post.as_str()].size);
        let mut w = Vec::with_capacity(n_in * n_out);
        for j in 0..n_out {
            for row in weights {
                w.push(row[j]);
            }
        }
        if nodes.contains_key(&name) {
            return Err(format!(
                "projection `{name}`: its NIR node would take the name of a population"
            ));
        }
        nodes.insert(
            name.clone(),
            Node::new(
                Kind::Linear,
                [("weight", Array::f64(w).reshaped(&[n_out, n_in]))],
            ),
        );
        edges.push((pr.pre.clone(), name.clone()));
        edges.push((name.clone(), pr.post.clone()));
        if delay == 1 {
            delayed.insert((name.clone(), pr.post.clone()));
        }
    }
    for ((layer, post), b) in biases {
        let node = nodes
            .get_mut(&layer)
            .filter(|n| n.kind == Kind::Linear && edges.contains(&(layer.clone(), post.clone())))
            .ok_or_else(|| {
                format!(
                    "population `{layer}.bias`: a constant source is written as the bias of projection `{layer}` into `{post}`, which the file does not have"
                )
            })?;
        node.kind = Kind::Affine;
        node.params.insert("bias".into(), Array::f64(b));
    }
    if let Some(out) = &file.output {
        let name = if nodes.contains_key("output") {
            format!("{out}.output")
        } else {
            "output".to_string()
        };
        nodes.insert(
            name.clone(),
            Node::new(
                Kind::Output,
                [("shape", Array::int(vec![pops[out.as_str()].size as i64]))],
            ),
        );
        edges.push((out.clone(), name));
    }
    let graph = Graph { nodes, edges };
    // NIR knows delays only as the edges that close cycles: those must be the one-step ones.
    let recurrent: BTreeSet<(String, String)> = graph.schedule().recurrent.into_iter().collect();
    if recurrent != delayed {
        let odd: Vec<String> = delayed
            .symmetric_difference(&recurrent)
            .map(|(a, b)| format!("{a} -> {b}"))
            .collect();
        return Err(format!(
            "a projection of one step must close a cycle, and every cycle needs one (NIR reads a cycle's closing edge as the previous step); these edges differ: {}",
            odd.join(", ")
        ));
    }
    Ok(Nir {
        version: crate::nir::WRITE_VERSION.into(),
        graph,
        metadata: BTreeMap::new(),
    })
}
