//! Running a NIR graph in discrete time, node by node, with the discretisation of snnTorch
//! 1.0.0's importer (`import_from_nir`), so that a file snnTorch exported gives back
//! snnTorch's spikes.
//!
//! NIR is declarative and continuous-time; running it needs a time step and a discretisation,
//! which the file does not hold. This module fixes them: a [`Plan`] is made once from a graph,
//! a time step `dt` and a reset rule, then [`Plan::run`] steps it. Each step evaluates the
//! nodes in [`Graph::schedule`]'s order; a node's input is the sum of its sources' outputs,
//! this step's for a feed-forward edge and the previous step's (zero at step 0) for an edge
//! that closes a cycle, as nirtorch runs a graph. With β = 1 − dt/τ (snnTorch's, not
//! exp(−dt/τ)):
//!
//! ```text
//! LIF:     v ← β·v + (r·dt/τ)·x + (dt/τ)·v_leak
//! CubaLIF: I ← α·I + (w_in·dt/τ_syn)·x;  v ← β_mem·v + (r·dt/τ_mem)·I + (dt/τ_mem)·v_leak
//! then     z = [v > v_threshold];  zero: v ← v_reset where z;  subtract: v ← v − z·v_threshold
//! ```
//!
//! The reset acts in the same step as the spike (snnTorch's `reset_delay=False`, what its
//! importer builds) and the synaptic current I is never reset. snnTorch folds r·dt/τ (w_in·dt/τ_syn)
//! into the threshold instead of the input; for its own exports that factor is 1 and both are
//! the same numbers.
//!
//! Why an interpreter of the node graph and not the training executor (`crate::exec`): the
//! executor implements snnTorch's default `reset_delay=True`, whose zero reset of `Synaptic`
//! also drops the step's new synaptic input after a spike, so a CubaLIF population would not
//! give the importer's spikes. Here every parameter is a per-neuron vector, as in the file,
//! and the state is f64.

use super::{Graph, Kind, Nir, Node};
use std::collections::BTreeMap;

/// The reset applied in the step of a spike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NirReset {
    /// v ← v_reset (NIR's definition; snnTorch's `reset_mechanism="zero"`, its importer's).
    Zero,
    /// v ← v − v_threshold.
    Subtract,
}

/// One node as the plan evaluates it.
#[derive(Debug, Clone)]
enum Op {
    Input,
    Output,
    /// y = W x (+ b); W row-major (out, in).
    Dense {
        w: Vec<f64>,
        b: Option<Vec<f64>>,
        n_in: usize,
    },
    Scale(Vec<f64>),
    Lif {
        beta: Vec<f64>,
        gain: Vec<f64>,
        leak: Vec<f64>,
        thr: Vec<f64>,
        v_reset: Vec<f64>,
    },
    CubaLif {
        alpha: Vec<f64>,
        w_in: Vec<f64>,
        beta: Vec<f64>,
        gain: Vec<f64>,
        leak: Vec<f64>,
        thr: Vec<f64>,
        v_reset: Vec<f64>,
    },
}

/// A node of the plan: name, evaluation, output size, sources (index, recurrent).
#[derive(Debug, Clone)]
struct Step {
    name: String,
    op: Op,
    size: usize,
    from: Vec<(usize, bool)>,
}

/// A NIR graph ready to run: the nodes in evaluation order with their discretised parameters.
#[derive(Debug, Clone)]
pub struct Plan {
    steps: Vec<Step>,
    input: usize,
    output: usize,
    input_shape: Vec<usize>,
    output_shape: Vec<usize>,
    reset: NirReset,
}

/// What a run gives: the Output node's values per step, and per spiking node (by name) its
/// spikes and its membrane after the step's reset, each steps × size row-major.
#[derive(Debug, Clone, Default)]
pub struct NirRun {
    /// Steps × output size.
    pub output: Vec<f64>,
    /// Per LIF/CubaLIF node: (name, spikes, membrane).
    pub layers: Vec<(String, Vec<f64>, Vec<f64>)>,
}

/// The node kinds [`Plan::new`] accepts.
pub const SUPPORTED: &str = "Input, Output, Affine, Linear, Scale, LIF, CubaLIF";

fn vec_of(name: &str, node: &Node, param: &str) -> Result<Vec<f64>, String> {
    node.param(param)
        .map_err(|e| format!("node '{name}': {e}"))?
        .to_f64()
        .ok_or_else(|| format!("node '{name}': {param} is not numeric"))
}

/// `dt/τ` per neuron, refusing τ that is not finite or shorter than dt (a decay outside [0, 1)).
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

impl Plan {
    /// A plan of `nir`'s top graph with time step `dt_s` (seconds, the unit of NIR's τ as
    /// snnTorch writes it). Errors name the node (and parameter): a node kind not in
    /// [`SUPPORTED`], a nested graph, not exactly one Input and one Output, sizes that do not
    /// match along an edge, τ < dt.
    pub fn new(nir: &Nir, dt_s: f64, reset: NirReset) -> Result<Plan, String> {
        if !(dt_s.is_finite() && dt_s > 0.0) {
            return Err(format!("the time step must be positive, not {dt_s} s"));
        }
        let g: &Graph = &nir.graph;
        let sched = g.schedule();
        let index: BTreeMap<&str, usize> = sched
            .order
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut steps: Vec<Step> = Vec::with_capacity(sched.order.len());
        let (mut input, mut output) = (Vec::new(), Vec::new());
        for (i, name) in sched.order.iter().enumerate() {
            let node = &g.nodes[name];
            let from: Vec<(usize, bool)> = g
                .inputs_of(name)
                .map(|src| {
                    let j = *index.get(src).ok_or_else(|| {
                        format!("node '{name}': its input '{src}' is inside a nested graph, which snnsim run does not support yet")
                    })?;
                    let rec = sched.recurrent.iter().any(|(a, b)| a == src && b == name);
                    Ok((j, rec))
                })
                .collect::<Result<_, String>>()?;
            let shape_of = |p: &str| -> Result<Vec<usize>, String> {
                let a = node.param(p).map_err(|e| format!("node '{name}': {e}"))?;
                a.ints()
                    .map(|v| v.iter().map(|&x| x.max(0) as usize).collect())
                    .ok_or_else(|| format!("node '{name}': {p} is not a list of integers"))
            };
            let pop = |p: &str| vec_of(name, node, p);
            let (op, size) = match node.kind {
                Kind::Input => {
                    input.push(i);
                    let s = shape_of("shape")?;
                    (Op::Input, s.iter().product())
                }
                Kind::Output => {
                    output.push(i);
                    let s = shape_of("shape")?;
                    (Op::Output, s.iter().product())
                }
                Kind::Affine | Kind::Linear => {
                    let wa = node.param("weight").map_err(|e| format!("node '{name}': {e}"))?;
                    if wa.shape.len() != 2 {
                        return Err(format!(
                            "node '{name}': weight has shape {}, snnsim run takes (out, in)",
                            wa.shape_str()
                        ));
                    }
                    let (n_out, n_in) = (wa.shape[0], wa.shape[1]);
                    let b = if node.kind == Kind::Affine {
                        let b = pop("bias")?;
                        if b.len() != n_out {
                            return Err(format!(
                                "node '{name}': bias has {} values, weight {n_out} rows",
                                b.len()
                            ));
                        }
                        Some(b)
                    } else {
                        None
                    };
                    (
                        Op::Dense {
                            w: pop("weight")?,
                            b,
                            n_in,
                        },
                        n_out,
                    )
                }
                Kind::Scale => {
                    let s = pop("scale")?;
                    let n = s.len();
                    (Op::Scale(s), n)
                }
                Kind::Lif => {
                    let tau = pop("tau")?;
                    let k = ratio(name, "tau", &tau, dt_s)?;
                    let r = pop("r")?;
                    let n = tau.len();
                    (
                        Op::Lif {
                            beta: k.iter().map(|k| 1.0 - k).collect(),
                            gain: r.iter().zip(&k).map(|(r, k)| r * k).collect(),
                            leak: pop("v_leak")?.iter().zip(&k).map(|(l, k)| l * k).collect(),
                            thr: pop("v_threshold")?,
                            v_reset: pop("v_reset")?,
                        },
                        n,
                    )
                }
                Kind::CubaLif => {
                    let ks = ratio(name, "tau_syn", &pop("tau_syn")?, dt_s)?;
                    let km = ratio(name, "tau_mem", &pop("tau_mem")?, dt_s)?;
                    let r = pop("r")?;
                    let n = km.len();
                    (
                        Op::CubaLif {
                            alpha: ks.iter().map(|k| 1.0 - k).collect(),
                            w_in: pop("w_in")?.iter().zip(&ks).map(|(w, k)| w * k).collect(),
                            beta: km.iter().map(|k| 1.0 - k).collect(),
                            gain: r.iter().zip(&km).map(|(r, k)| r * k).collect(),
                            leak: pop("v_leak")?.iter().zip(&km).map(|(l, k)| l * k).collect(),
                            thr: pop("v_threshold")?,
                            v_reset: pop("v_reset")?,
                        },
                        n,
                    )
                }
                Kind::NirGraph => {
                    return Err(format!(
                        "node '{name}': nested NIRGraph nodes are not yet supported by snnsim run"
                    ))
                }
                other => {
                    return Err(format!(
                        "node '{name}': node type {other} is not yet supported by snnsim run (supported: {SUPPORTED})"
                    ))
                }
            };
            steps.push(Step {
                name: name.clone(),
                op,
                size,
                from,
            });
        }
        let [input] = input[..] else {
            return Err(format!(
                "snnsim run needs exactly one Input node, the graph has {}",
                input.len()
            ));
        };
        let [output] = output[..] else {
            return Err(format!(
                "snnsim run needs exactly one Output node, the graph has {}",
                output.len()
            ));
        };
        // Every edge joins equal sizes (a dense node checks its weight's columns).
        for s in &steps {
            if let Op::Input = s.op {
                if !s.from.is_empty() {
                    return Err(format!(
                        "node '{}': an Input node has an edge into it",
                        s.name
                    ));
                }
                continue;
            }
            if s.from.is_empty() {
                return Err(format!("node '{}': no edge leads into it", s.name));
            }
            let want = match &s.op {
                Op::Dense { n_in, .. } => *n_in,
                _ => s.size,
            };
            for &(j, _) in &s.from {
                if steps[j].size != want {
                    return Err(format!(
                        "node '{}': takes {want} values but its input '{}' gives {}",
                        s.name, steps[j].name, steps[j].size
                    ));
                }
            }
        }
        let shape = |i: usize| -> Vec<usize> {
            let node = &g.nodes[&steps[i].name];
            node.params["shape"]
                .ints()
                .map(|v| v.iter().map(|&x| x.max(0) as usize).collect())
                .unwrap_or_default()
        };
        Ok(Plan {
            input_shape: shape(input),
            output_shape: shape(output),
            steps,
            input,
            output,
            reset,
        })
    }

    /// The shape of one step's input (the Input node's `shape`).
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The shape of one step's output (the Output node's `shape`).
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    /// Runs `steps` steps from rest; `input` holds steps × (input size) values, row-major.
    pub fn run(&self, input: &[f64], steps: usize) -> NirRun {
        let n_in = self.steps[self.input].size;
        assert_eq!(input.len(), steps * n_in, "steps × input size values");
        let k = self.steps.len();
        let mut now: Vec<Vec<f64>> = self.steps.iter().map(|s| vec![0.0; s.size]).collect();
        let mut prev = now.clone();
        let mut v: Vec<Vec<f64>> = now.clone();
        let mut syn: Vec<Vec<f64>> = now.clone();
        let mut out = NirRun::default();
        let spiking: Vec<usize> = (0..k)
            .filter(|&i| matches!(self.steps[i].op, Op::Lif { .. } | Op::CubaLif { .. }))
            .collect();
        out.layers = spiking
            .iter()
            .map(|&i| (self.steps[i].name.clone(), Vec::new(), Vec::new()))
            .collect();
        let mut x = Vec::new();
        for t in 0..steps {
            for i in 0..k {
                let s = &self.steps[i];
                // The sum of the inputs (a dense node sums before its weights: W is linear).
                let width = match &s.op {
                    Op::Dense { n_in, .. } => *n_in,
                    Op::Input => 0,
                    _ => s.size,
                };
                x.clear();
                x.resize(width, 0.0);
                for &(j, rec) in &s.from {
                    let src = if rec { &prev[j] } else { &now[j] };
                    for (a, b) in x.iter_mut().zip(src) {
                        *a += b;
                    }
                }
                let y = &mut now[i];
                match &s.op {
                    Op::Input => y.copy_from_slice(&input[t * n_in..(t + 1) * n_in]),
                    Op::Output => y.copy_from_slice(&x),
                    Op::Dense { w, b, n_in } => {
                        for (o, yo) in y.iter_mut().enumerate() {
                            let row = &w[o * n_in..(o + 1) * n_in];
                            let mut acc = b.as_ref().map_or(0.0, |b| b[o]);
                            for (wi, xi) in row.iter().zip(&x) {
                                acc += wi * xi;
                            }
                            *yo = acc;
                        }
                    }
                    Op::Scale(sc) => {
                        for ((yo, a), b) in y.iter_mut().zip(sc).zip(&x) {
                            *yo = a * b;
                        }
                    }
                    Op::Lif {
                        beta,
                        gain,
                        leak,
                        thr,
                        v_reset,
                    } => {
                        let v = &mut v[i];
                        for j in 0..s.size {
                            let m = beta[j] * v[j] + gain[j] * x[j] + leak[j];
                            (v[j], y[j]) = fire(self.reset, m, thr[j], v_reset[j]);
                        }
                    }
                    Op::CubaLif {
                        alpha,
                        w_in,
                        beta,
                        gain,
                        leak,
                        thr,
                        v_reset,
                    } => {
                        let (v, syn) = (&mut v[i], &mut syn[i]);
                        for j in 0..s.size {
                            syn[j] = alpha[j] * syn[j] + w_in[j] * x[j];
                            let m = beta[j] * v[j] + gain[j] * syn[j] + leak[j];
                            (v[j], y[j]) = fire(self.reset, m, thr[j], v_reset[j]);
                        }
                    }
                }
            }
            out.output.extend_from_slice(&now[self.output]);
            for (l, &i) in out.layers.iter_mut().zip(&spiking) {
                l.1.extend_from_slice(&now[i]);
                l.2.extend_from_slice(&v[i]);
            }
            std::mem::swap(&mut now, &mut prev);
        }
        out
    }
}

/// The membrane after the step's reset, and the spike, from the membrane before it.
#[inline]
fn fire(reset: NirReset, m: f64, thr: f64, v_reset: f64) -> (f64, f64) {
    if m - thr > 0.0 {
        let after = match reset {
            NirReset::Zero => v_reset,
            NirReset::Subtract => m - thr,
        };
        (after, 1.0)
    } else {
        (m, 0.0)
    }
}
