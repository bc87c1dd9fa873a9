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
//! spike), other connectivities, longer delays. Convolution and pooling projections become
//! `Conv2d`/`Conv1d`/`SumPool2d`/`AvgPool2d` nodes, and the populations they touch take the
//! maps' (C, H, W) or (C, L) shapes, a dense layer reading such a map through a `Flatten`.

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

/// Up to 64 doubles either side of `x`, nearest first (`x` itself first).
fn near(x: f64) -> impl Iterator<Item = f64> {
    let (mut up, mut down) = (x, x);
    std::iter::once(x).chain((0..64).flat_map(move |_| {
        up = up.next_up();
        down = down.next_down();
        [up, down]
    }))
}

/// τ (seconds) for which the reader's decay 1 − dt/τ (`from_nir`) gives `d` back bit for bit
/// and, with `gain`, r for which its gain r·(dt/τ) gives `gain` back bit for bit, so that
/// graph file → NIR → graph file is exact. τ = dt/(1 − d) is rounded, so the doubles next to
/// it are tried; `hint` (seconds, and the milliseconds it came from: a population's
/// `tau_m_ms`, which the reader sets to τ·1e3) is preferred where it gives both. A decay of 1
/// (no leak: NIR's IF) or outside [0, 1) is refused.
fn exact_tau(
    pop: &str,
    key: &str,
    d: f64,
    dt: f64,
    gain: Option<f64>,
    hint: Option<f64>,
) -> Result<(f64, f64), String> {
    if !(0.0..1.0).contains(&d) {
        return Err(format!(
            "population `{pop}`: {key} = {d} has no time constant (NIR needs a decay in [0, 1))"
        ));
    }
    let decays = |t: f64| t >= dt && (1.0 - dt / t).to_bits() == d.to_bits();
    let r_for = |t: f64, g: f64| {
        let k = dt / t;
        near(g / k).find(|r| (r * k).to_bits() == g.to_bits())
    };
    let hinted = hint
        .into_iter()
        .flat_map(|ms| near(ms / 1e3).filter(move |t| (t * 1e3).to_bits() == ms.to_bits()));
    let start = dt / (1.0 - d);
    let mut first = None;
    for t in hinted.chain(near(start)).filter(|&t| decays(t)) {
        first.get_or_insert(t);
        match gain {
            None => return Ok((t, 0.0)),
            Some(g) => {
                if let Some(r) = r_for(t, g) {
                    return Ok((t, r));
                }
            }
        }
    }
    // Not reachable bit for bit (rare): the nearest values, equal to within rounding.
    let t = first.unwrap_or(start);
    Ok((t, gain.map_or(0.0, |g| g * t / dt)))
}

/// [`exact_tau`] per neuron, each distinct (decay, gain) worked out once.
fn exact_taus(
    pop: &str,
    key: &str,
    decays: &[f64],
    gains: Option<&[f64]>,
    dt: f64,
    hint: Option<f64>,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let mut memo: BTreeMap<(u64, u64), (f64, f64)> = BTreeMap::new();
    let mut taus = Vec::with_capacity(decays.len());
    let mut rs = Vec::with_capacity(decays.len());
    for (i, &d) in decays.iter().enumerate() {
        let g = gains.map(|g| g[i]);
        let k = (d.to_bits(), g.map_or(0, f64::to_bits));
        let (t, r) = match memo.get(&k) {
            Some(&v) => v,
            None => {
                let v = exact_tau(pop, key, d, dt, g, hint)?;
                memo.insert(k, v);
                v
            }
        };
        taus.push(t);
        rs.push(r);
    }
    Ok((taus, rs))
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
    // The (C, H, W) or (C, L) shape of every population a convolution or pool reads or
    // writes: NIR's neuron parameters and Input shape take it.
    let mut shapes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for pr in &file.projections {
        // The kernel that reads the pre population and the one that writes the post one: the
        // projection's own, or a chain's first and last steps.
        let (first, last) = match &pr.connectivity {
            Connectivity::Chain { steps } => (steps.first(), steps.last()),
            c => (Some(c), Some(c)),
        };
        let mut sides = Vec::new();
        for (pop, conn, input) in [
            (pr.pre.as_str(), first, true),
            (pr.post.as_str(), last, false),
        ] {
            let Some(conn) = conn else { continue };
            let Some(k) = conn.kernel() else { continue };
            let k = k.map_err(|(f, e)| format!("projection `{}`: {f}: {e}", name_of(pr)))?;
            let sh = map_shape(conn, if input { k.input } else { k.output });
            sides.push((pop, sh));
        }
        for (pop, sh) in sides {
            if let Some(old) = shapes.insert(pop, sh.clone()) {
                if old != sh {
                    return Err(format!(
                        "population `{pop}`: convolutions read or write it as {old:?} and as {sh:?}; a NIR node has one shape"
                    ));
                }
            }
        }
    }
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
                let betas = per(p, "beta", beta1);
                let gain = per(p, "r_mohm", l.r_mohm);
                if per(p, "i_bias_na", l.i_bias_na).iter().any(|&x| x != 0.0) {
                    return Err(format!(
                        "population `{}`: a bias current (i_bias_na) has no place in NIR's LIF",
                        p.name
                    ));
                }
                let v_rest = per(p, "v_rest_mv", l.v_rest_mv);
                let v_reset = per(p, "v_reset_mv", l.v_reset_mv);
                let v_th = per(p, "v_th_mv", l.v_th_mv);
                let zero = |v: &[f64]| v.iter().all(|&x| x == 0.0);
                if betas.iter().all(|&b| b == 1.0) {
                    // No leak: NIR's IF, v ← v + (r·dt)·x (the reader's gain r·dt).
                    if !zero(&v_rest) {
                        return Err(format!(
                            "population `{}`: beta = 1 (no leak) is NIR's IF, which has no v_leak; v_rest_mv must be 0",
                            p.name
                        ));
                    }
                    let r = gain
                        .iter()
                        .map(|&g| {
                            near(g / dt)
                                .find(|r| (r * dt).to_bits() == g.to_bits())
                                .unwrap_or(g / dt)
                        })
                        .collect();
                    Node::new(
                        Kind::If,
                        [
                            ("r", Array::f64(r)),
                            ("v_threshold", Array::f64(v_th)),
                            ("v_reset", Array::f64(v_reset)),
                        ],
                    )
                } else if betas.iter().all(|&b| b == 0.0)
                    && gain.iter().all(|&g| g == 1.0)
                    && zero(&v_rest)
                    && zero(&v_reset)
                {
                    // No memory and gain 1: v ← x, z = [x > θ], NIR's Threshold.
                    Node::new(Kind::Threshold, [("threshold", Array::f64(v_th))])
                } else {
                    let (tau, r) =
                        exact_taus(&p.name, "beta", &betas, Some(&gain), dt, Some(l.tau_m_ms))?;
                    Node::new(
                        Kind::Lif,
                        [
                            ("tau", Array::f64(tau)),
                            ("r", Array::f64(r)),
                            ("v_leak", Array::f64(v_rest)),
                            ("v_threshold", Array::f64(v_th)),
                            ("v_reset", Array::f64(v_reset)),
                        ],
                    )
                }
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
                let (tau_syn, _) =
                    exact_taus(&p.name, "alpha", &per(p, "alpha", a), None, dt, None)?;
                let (tau_mem, _) = exact_taus(&p.name, "beta", &per(p, "beta", b), None, dt, None)?;
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
        let mut node = node;
        if let Some(sh) = shapes.get(p.name.as_str()) {
            if node.kind == Kind::Input {
                node.params.insert(
                    "shape".into(),
                    Array::int(sh.iter().map(|&x| x as i64).collect()),
                );
            } else {
                for a in node.params.values_mut() {
                    if a.len() == n {
                        *a = a.clone().reshaped(sh);
                    }
                }
            }
        }
        nodes.insert(p.name.clone(), node);
    }
    // Biases: the constant source `<projection>.bias` into the projection's target.
    let mut biases: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    // The node that holds a projection's bias: the last of the nodes it was written as.
    let mut layer_node: BTreeMap<String, String> = BTreeMap::new();
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
        if let Some(k) = pr.connectivity.kernel() {
            let k = k.map_err(|(f, e)| format!("projection `{name}`: {f}: {e}"))?;
            if constant(&pr.pre) {
                return Err(format!(
                    "projection `{name}`: a convolution from a constant source is not written to NIR"
                ));
            }
            if nodes.contains_key(&name) {
                return Err(format!(
                    "projection `{name}`: its NIR node would take the name of a population"
                ));
            }
            nodes.insert(name.clone(), kernel_node(&pr.connectivity, &k));
            layer_node.insert(name.clone(), name.clone());
            edges.push((pr.pre.clone(), name.clone()));
            edges.push((name.clone(), pr.post.clone()));
            if delay == 1 {
                delayed.insert((name.clone(), pr.post.clone()));
            }
            continue;
        }
        if let Connectivity::Chain { steps } = &pr.connectivity {
            // One node per step, a Flatten before a dense step that reads a map, named from
            // the projection's name split at `+` (`2+3+4`, as `from_nir` names a NIR path),
            // else `<name>.<i>` and `<name>.flatten` with the last node `<name>`.
            if constant(&pr.pre) {
                return Err(format!(
                    "projection `{name}`: a chain from a constant source is not written to NIR"
                ));
            }
            let mut chain: Vec<Node> = Vec::new();
            let mut shape = shapes.get(pr.pre.as_str()).cloned();
            for (i, step) in steps.iter().enumerate() {
                if let Some(k) = step.kernel() {
                    let k = k.map_err(|(f, e)| {
                        format!("projection `{name}`: Chain.steps[{i}].{f}: {e}")
                    })?;
                    let want = map_shape(step, k.input);
                    if i > 0 && shape.as_ref() != Some(&want) {
                        return Err(format!(
                            "projection `{name}`: step {i} reads a map of shape {want:?}, but the step before gives {}; NIR passes shapes unchanged between nodes",
                            shape.map_or("flat values".to_string(), |s| format!("{s:?}"))
                        ));
                    }
                    chain.push(kernel_node(step, &k));
                    shape = Some(map_shape(step, k.output));
                    continue;
                }
                let Connectivity::Dense { weights } = step else {
                    return Err(format!(
                        "projection `{name}`: Chain.steps[{i}] is not written to NIR (written: Dense, Conv2d, Conv1d, SumPool2d, AvgPool2d)"
                    ));
                };
                if let Some(sh) = shape.take() {
                    chain.push(flatten_node(&sh));
                }
                chain.push(linear_node(weights));
            }
            let parts: Vec<&str> = name.split('+').collect();
            let n = chain.len();
            let names: Vec<String> = if parts.len() == n {
                parts.iter().map(|p| p.to_string()).collect()
            } else {
                chain
                    .iter()
                    .enumerate()
                    .map(|(i, node)| {
                        if i + 1 == n {
                            name.clone()
                        } else if node.kind == Kind::Flatten {
                            format!("{name}.flatten")
                        } else {
                            format!("{name}.{i}")
                        }
                    })
                    .collect()
            };
            let mut from = pr.pre.clone();
            for (node, nm) in chain.into_iter().zip(&names) {
                if nodes.contains_key(nm) {
                    return Err(format!(
                        "projection `{name}`: its NIR node `{nm}` would take the name of another node"
                    ));
                }
                nodes.insert(nm.clone(), node);
                edges.push((from, nm.clone()));
                from = nm.clone();
            }
            edges.push((from.clone(), pr.post.clone()));
            if delay == 1 {
                delayed.insert((from.clone(), pr.post.clone()));
            }
            layer_node.insert(name.clone(), from);
            continue;
        }
        let Connectivity::Dense { weights } = &pr.connectivity else {
            return Err(format!(
                "projection `{name}`: {} connectivity is not written to NIR (written: Dense, Conv2d, Conv1d, SumPool2d, AvgPool2d)",
                format!("{:?}", pr.connectivity).split(['(', ' ', '{']).next().unwrap_or("?")
            ));
        };
        if constant(&pr.pre) {
            let ModelSpec::Values(v) = &pops[pr.pre.as_str()].model else {
                unreachable!()
            };
            let c = v.constant.as_ref().expect("constant");
            let Some(layer) = pr.pre.strip_suffix(".bias") else {
                return Err(format!(
                    "projection `{name}`: a constant Values source is written to NIR as the bias of the projection it names (`<projection>.bias`), not `{}`",
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
        let identity = n_in == n_out
            && weights.iter().enumerate().all(|(i, row)| {
                row.iter()
                    .enumerate()
                    .all(|(j, &x)| x == if i == j { 1.0 } else { 0.0 })
            });
        if identity
            && name == format!("{}->{}", pr.pre, pr.post)
            && !shapes.contains_key(pr.pre.as_str())
        {
            // A population feeding another one to one (as a NIR edge between two neuron
            // nodes reads): the edge itself.
            edges.push((pr.pre.clone(), pr.post.clone()));
            if delay == 1 {
                delayed.insert((pr.pre.clone(), pr.post.clone()));
            }
            continue;
        }
        // A dense layer reads a map flattened (the row-major order is the neuron order),
        // through a Flatten named as in a chain (`3+4`: Flatten 3, Affine 4).
        let (flat, layer) = match (shapes.get(pr.pre.as_str()), name.split_once('+')) {
            (Some(_), Some((a, b))) if !b.contains('+') => (a.to_string(), b.to_string()),
            _ => (format!("{name}.flatten"), name.clone()),
        };
        for n in [&layer, &flat] {
            if nodes.contains_key(n) {
                return Err(format!(
                    "projection `{name}`: its NIR node `{n}` would take the name of another node"
                ));
            }
        }
        nodes.insert(layer.clone(), linear_node(weights));
        if let Some(sh) = shapes.get(pr.pre.as_str()) {
            nodes.insert(flat.clone(), flatten_node(sh));
            edges.push((pr.pre.clone(), flat.clone()));
            edges.push((flat, layer.clone()));
        } else {
            edges.push((pr.pre.clone(), layer.clone()));
        }
        edges.push((layer.clone(), pr.post.clone()));
        if delay == 1 {
            delayed.insert((layer.clone(), pr.post.clone()));
        }
        layer_node.insert(name.clone(), layer);
    }
    for ((proj, post), b) in biases {
        let layer = layer_node
            .get(&proj)
            .cloned()
            .unwrap_or_else(|| proj.clone());
        // A convolution's bias is one value per output channel.
        if let Some(node) = nodes.get_mut(&layer).filter(|n| {
            matches!(n.kind, Kind::Conv1d | Kind::Conv2d)
                && edges.contains(&(layer.clone(), post.clone()))
        }) {
            let c_out = node.params["weight"].shape[0];
            let per = b.len() / c_out.max(1);
            let ch: Vec<f64> = (0..c_out).map(|o| b[o * per]).collect();
            if (0..b.len()).any(|j| b[j].to_bits() != ch[j / per].to_bits()) {
                return Err(format!(
                    "population `{proj}.bias`: the bias of convolution `{proj}` differs within an output channel; NIR's bias is one value per channel"
                ));
            }
            node.params.insert("bias".into(), Array::f64(ch));
            continue;
        }
        let node = nodes
            .get_mut(&layer)
            .filter(|n| n.kind == Kind::Linear && edges.contains(&(layer.clone(), post.clone())))
            .ok_or_else(|| {
                format!(
                    "population `{proj}.bias`: a constant source is written as the bias of projection `{proj}` into `{post}`, which the file does not have"
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
                // A map's shape, as nir.read's type check wants it to meet its source's.
                [(
                    "shape",
                    Array::int(match shapes.get(out.as_str()) {
                        Some(sh) => sh.iter().map(|&x| x as i64).collect(),
                        None => vec![pops[out.as_str()].size as i64],
                    }),
                )],
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
        metadata: BTreeMap::from([(super::DT_KEY.to_string(), Array::f64(vec![dt_ms]))]),
    })
}

/// The shape of a kernel's (C, H, W) side as NIR gives it: (C, L) for a 1-d convolution.
fn map_shape(conn: &Connectivity, s: [usize; 3]) -> Vec<usize> {
    if matches!(conn, Connectivity::Conv1d { .. }) {
        vec![s[0], s[2]]
    } else {
        s.to_vec()
    }
}

/// The NIR node of a convolution or pooling connectivity (a zero bias, which a
/// `<projection>.bias` source replaces).
fn kernel_node(conn: &Connectivity, k: &crate::file::Kernel) -> Node {
    let ints = |v: &[usize]| Array::int(v.iter().map(|&x| x as i64).collect());
    let one = |x: usize| Array::int_scalar(x as i64);
    let w = |shape: &[usize]| {
        Array::f64(k.weights.iter().map(|&x| crate::real::wide(x)).collect()).reshaped(shape)
    };
    let cin_g = k.input[0] / k.groups;
    match conn {
        Connectivity::Conv2d { .. } => Node::new(
            Kind::Conv2d,
            [
                ("weight", w(&[k.output[0], cin_g, k.size[0], k.size[1]])),
                ("stride", ints(&k.stride)),
                ("padding", ints(&k.padding)),
                ("dilation", ints(&k.dilation)),
                ("groups", one(k.groups)),
                ("bias", Array::f64(vec![0.0; k.output[0]])),
                ("input_shape", ints(&k.input[1..])),
            ],
        ),
        Connectivity::Conv1d { .. } => Node::new(
            Kind::Conv1d,
            [
                ("weight", w(&[k.output[0], cin_g, k.size[1]])),
                ("stride", one(k.stride[1])),
                ("padding", one(k.padding[1])),
                ("dilation", one(k.dilation[1])),
                ("groups", one(k.groups)),
                ("bias", Array::f64(vec![0.0; k.output[0]])),
                ("input_shape", one(k.input[2])),
            ],
        ),
        c => Node::new(
            if matches!(c, Connectivity::SumPool2d { .. }) {
                Kind::SumPool2d
            } else {
                Kind::AvgPool2d
            },
            [
                ("kernel_size", ints(&k.size)),
                ("stride", ints(&k.stride)),
                ("padding", ints(&k.padding)),
            ],
        ),
    }
}

/// A `Linear` node of dense weights (pre × post, as the graph file holds them), which a bias
/// turns into an `Affine`.
fn linear_node(weights: &[Vec<f64>]) -> Node {
    let n_in = weights.len();
    let n_out = weights.first().map_or(0, Vec::len);
    let mut w = Vec::with_capacity(n_in * n_out);
    for j in 0..n_out {
        for row in weights {
            w.push(row[j]);
        }
    }
    Node::new(
        Kind::Linear,
        [("weight", Array::f64(w).reshaped(&[n_out, n_in]))],
    )
}

/// A `Flatten` of a map of shape `sh` into its row-major order.
fn flatten_node(sh: &[usize]) -> Node {
    let mut node = Node::new(
        Kind::Flatten,
        [
            ("start_dim", Array::int_scalar(0)),
            ("end_dim", Array::int_scalar(-1)),
        ],
    );
    node.params.insert(
        "input_type".into(),
        Array::int(sh.iter().map(|&x| x as i64).collect()),
    );
    node
}
