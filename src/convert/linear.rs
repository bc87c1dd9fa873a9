//! The linear nodes of a NIR graph (Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d,
//! AvgPool2d, Flatten) as operators on a population's output, for [`super::from_nir`].
//!
//! A path population → linear nodes → population becomes one projection. A single dense node
//! becomes a `Dense` projection with its own weights; a single convolution or pool a kernel
//! projection (`Conv2d`, `Conv1d`, `SumPool2d`, `AvgPool2d` connectivity), its weights stored
//! once; a Flatten is the identity on the row-major neuron order, so it vanishes. A path of
//! several operators (a pool, then a flatten, then a dense layer) has no intermediate
//! population in the engine to hold the values between them, so it becomes one `Chain`
//! projection of their maps, which the engine composes (`file::Connectivity::chain_dense`);
//! only a chain from a population back to itself is composed here into one dense matrix
//! (each operator applied to the columns of the one before, in f64). A bias reaches a
//! population through the operators after its node, which are applied to it too.

use crate::file::{Connectivity, Kernel};
use crate::nir::{Kind, Node};

/// What a linear node does to a vector of its input.
#[derive(Debug, Clone)]
pub enum Op {
    /// Flatten: the identity.
    Identity,
    /// A dense matrix (out, in), row-major.
    Matrix {
        w: Vec<f64>,
        n_out: usize,
        n_in: usize,
    },
    /// A convolution or pool, as the graph file's connectivity and the kernel it builds.
    Conv(Connectivity, Box<Kernel>),
}

/// A linear node: its operator, its bias (one value per output neuron), and the shape of
/// its output.
#[derive(Debug, Clone)]
pub struct Lin {
    pub op: Op,
    pub bias: Option<Vec<f64>>,
    pub out_shape: Vec<usize>,
    /// Steps of delay the node adds (a `Delay` node; 0 for the others).
    pub steps: usize,
}

impl Lin {
    /// Output size.
    pub fn n_out(&self) -> usize {
        self.out_shape.iter().product()
    }

    /// `y = op(x)` (no bias).
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        match &self.op {
            Op::Identity => x.to_vec(),
            Op::Matrix { w, n_out, n_in } => (0..*n_out)
                .map(|j| (0..*n_in).map(|i| w[j * n_in + i] * x[i]).sum())
                .collect(),
            Op::Conv(_, k) => {
                let mut y = vec![0.0; k.n_post()];
                for (i, &xi) in x.iter().enumerate() {
                    if xi != 0.0 {
                        k.targets(i, |j, w| y[j] += crate::real::wide(w) * xi);
                    }
                }
                y
            }
        }
    }
}

fn ints(name: &str, node: &Node, p: &str) -> Result<Vec<usize>, String> {
    let a = node.param(p).map_err(|e| format!("node '{name}': {e}"))?;
    let v = a
        .ints()
        .ok_or_else(|| format!("node '{name}': {p} is not a list of integers"))?;
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| format!("node '{name}': {p} holds {x}, below 0")))
        .collect()
}

/// One value per spatial dimension (`dims` of them) from a parameter holding one or `dims`.
fn per_dim(name: &str, node: &Node, p: &str, dims: usize) -> Result<Vec<usize>, String> {
    let v = ints(name, node, p)?;
    match v.len() {
        1 => Ok(vec![v[0]; dims]),
        n if n == dims => Ok(v),
        n => Err(format!(
            "node '{name}': {p} has {n} values, the node takes 1 or {dims}"
        )),
    }
}

fn floats(name: &str, node: &Node, p: &str) -> Result<Vec<f64>, String> {
    let v = node
        .param(p)
        .map_err(|e| format!("node '{name}': {e}"))?
        .to_f64()
        .ok_or_else(|| format!("node '{name}': {p} is not numeric"))?;
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(format!("node '{name}': {p}[{i}] = {} is not finite", v[i]));
    }
    Ok(v)
}

/// The padding of a convolution: numbers, or `"valid"` (none) or `"same"` (stride 1, an odd
/// span d·(k − 1), as PyTorch pads it evenly then).
fn padding(
    name: &str,
    node: &Node,
    kernel: &[usize],
    dilation: &[usize],
    stride: &[usize],
) -> Result<Vec<usize>, String> {
    let a = node
        .param("padding")
        .map_err(|e| format!("node '{name}': {e}"))?;
    match a.as_str() {
        Some("valid") => Ok(vec![0; kernel.len()]),
        Some("same") => {
            if stride.iter().any(|&s| s != 1) {
                return Err(format!(
                    "node '{name}': padding \"same\" needs stride 1, not {stride:?}"
                ));
            }
            kernel
                .iter()
                .zip(dilation)
                .map(|(&k, &d)| {
                    let total = d * (k - 1);
                    if total % 2 == 0 {
                        Ok(total / 2)
                    } else {
                        Err(format!(
                            "node '{name}': padding \"same\" with the even kernel span {} pads one side more, which snnsim's convolution does not do",
                            total + 1
                        ))
                    }
                })
                .collect()
        }
        Some(other) => Err(format!(
            "node '{name}': padding \"{other}\" (NIR takes numbers, \"same\" or \"valid\")"
        )),
        None => per_dim(name, node, "padding", kernel.len()),
    }
}

/// The operator of linear node `name`, given the shape of its input.
pub fn linear_op(name: &str, node: &Node, in_shape: &[usize], dt: f64) -> Result<Lin, String> {
    let n_in: usize = in_shape.iter().product();
    let lin = |op: Op, bias: Option<Vec<f64>>, out_shape: Vec<usize>| Lin {
        op,
        bias,
        out_shape,
        steps: 0,
    };
    let kernel_err = |(field, msg): (&str, String)| format!("node '{name}': {field}: {msg}");
    match node.kind {
        Kind::Flatten => Ok(lin(
            Op::Identity,
            None,
            // A nested graph's port keeps the shape; a Flatten flattens.
            if node.metadata.contains_key(super::from_nir::PORT) {
                in_shape.to_vec()
            } else {
                vec![n_in]
            },
        )),
        Kind::Delay => {
            // y(t) = x(t − τ): the identity, τ/dt steps later (one τ for every element, a
            // whole number of steps).
            let d = floats(name, node, "delay")?;
            if d.len() != n_in {
                return Err(format!(
                    "node '{name}': delays {} values but its input gives {n_in}",
                    d.len()
                ));
            }
            if d.iter().any(|&x| x.to_bits() != d[0].to_bits()) {
                return Err(format!(
                    "node '{name}': delay differs between elements; snnsim takes one delay per node"
                ));
            }
            let x = d.first().copied().unwrap_or(0.0) / dt;
            let steps = x.round();
            if (x - steps).abs() > 1e-6 * steps.max(1.0) || steps > 65_535.0 {
                return Err(format!(
                    "node '{name}': delay {} s is not a whole number of time steps (dt = {dt} s) up to 65 535",
                    d[0]
                ));
            }
            Ok(Lin {
                steps: steps as usize,
                ..lin(Op::Identity, None, in_shape.to_vec())
            })
        }
        Kind::Scale => {
            let s = floats(name, node, "scale")?;
            let n = s.len();
            if n != n_in {
                return Err(format!(
                    "node '{name}': scales {n} values but its input gives {n_in}"
                ));
            }
            let mut w = vec![0.0; n * n];
            for (j, x) in s.iter().enumerate() {
                w[j * n + j] = *x;
            }
            Ok(Lin {
                op: Op::Matrix {
                    w,
                    n_out: n,
                    n_in: n,
                },
                bias: None,
                out_shape: in_shape.to_vec(),
                steps: 0,
            })
        }
        Kind::Affine | Kind::Linear => {
            let wa = node
                .param("weight")
                .map_err(|e| format!("node '{name}': {e}"))?;
            if wa.shape.len() != 2 {
                return Err(format!(
                    "node '{name}': weight has shape {}, a dense layer takes (out, in)",
                    wa.shape_str()
                ));
            }
            let (n_out, k_in) = (wa.shape[0], wa.shape[1]);
            if k_in != n_in {
                return Err(format!(
                    "node '{name}': takes {k_in} values but its input gives {n_in}"
                ));
            }
            let w = floats(name, node, "weight")?;
            let bias = if node.kind == Kind::Affine {
                let b = floats(name, node, "bias")?;
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
            Ok(Lin {
                op: Op::Matrix { w, n_out, n_in },
                bias,
                out_shape: vec![n_out],
                steps: 0,
            })
        }
        Kind::Conv2d | Kind::Conv1d => {
            let dims = if node.kind == Kind::Conv2d { 2 } else { 1 };
            let wa = node
                .param("weight")
                .map_err(|e| format!("node '{name}': {e}"))?;
            if wa.shape.len() != dims + 2 {
                return Err(format!(
                    "node '{name}': weight has shape {}, a {} takes (C_out, C_in/groups, {})",
                    wa.shape_str(),
                    node.kind,
                    if dims == 2 { "kh, kw" } else { "k" }
                ));
            }
            let weights = floats(name, node, "weight")?;
            let groups = ints(name, node, "groups")?;
            let groups = match groups[..] {
                [g] => g,
                _ => {
                    return Err(format!(
                        "node '{name}': groups holds {} values",
                        groups.len()
                    ))
                }
            };
            let (c_out, c_in) = (wa.shape[0], wa.shape[1] * groups);
            let size = wa.shape[2..].to_vec();
            let stride = per_dim(name, node, "stride", dims)?;
            let dilation = per_dim(name, node, "dilation", dims)?;
            let pad = padding(name, node, &size, &dilation, &stride)?;
            // The spatial input shape: the source's shape after its channels, or the node's
            // own `input_shape` when the source is flat.
            let spatial: Vec<usize> = if in_shape.len() == dims + 1 && in_shape[0] == c_in {
                in_shape[1..].to_vec()
            } else if node.params.contains_key("input_shape") {
                per_dim(name, node, "input_shape", dims)?
            } else {
                return Err(format!(
                    "node '{name}': its input has shape {in_shape:?}, not (C_in = {c_in}, {}); the node gives no input_shape",
                    if dims == 2 { "H, W" } else { "L" }
                ));
            };
            if c_in * spatial.iter().product::<usize>() != n_in {
                return Err(format!(
                    "node '{name}': takes {c_in} channels of {spatial:?} = {} values but its input gives {n_in}",
                    c_in * spatial.iter().product::<usize>()
                ));
            }
            let conn = if dims == 2 {
                Connectivity::Conv2d {
                    input: vec![c_in, spatial[0], spatial[1]],
                    out_channels: c_out,
                    kernel: size.clone(),
                    stride,
                    padding: pad,
                    dilation,
                    groups,
                    weights: weights.clone(),
                }
            } else {
                Connectivity::Conv1d {
                    input: vec![c_in, spatial[0]],
                    out_channels: c_out,
                    kernel: size[0],
                    stride: stride[0],
                    padding: pad[0],
                    dilation: dilation[0],
                    groups,
                    weights: weights.clone(),
                }
            };
            let k = conn
                .kernel()
                .expect("a kernel connectivity")
                .map_err(kernel_err)?;
            let b = floats(name, node, "bias")?;
            if b.len() != c_out {
                return Err(format!(
                    "node '{name}': bias has {} values for {c_out} output channels",
                    b.len()
                ));
            }
            let per_channel = k.output[1] * k.output[2];
            let bias = Some(
                b.iter()
                    .flat_map(|&x| std::iter::repeat_n(x, per_channel))
                    .collect::<Vec<f64>>(),
            )
            .filter(|b| b.iter().any(|&x| x != 0.0));
            let out_shape = if dims == 2 {
                k.output.to_vec()
            } else {
                vec![k.output[0], k.output[2]]
            };
            Ok(lin(Op::Conv(conn, Box::new(k)), bias, out_shape))
        }
        Kind::SumPool2d | Kind::AvgPool2d => {
            let size = per_dim(name, node, "kernel_size", 2)?;
            let stride = per_dim(name, node, "stride", 2)?;
            let pad = per_dim(name, node, "padding", 2)?;
            let input = match in_shape {
                [c, h, w] => vec![*c, *h, *w],
                _ => {
                    return Err(format!(
                        "node '{name}': its input has shape {in_shape:?}, a pool takes (C, H, W)"
                    ))
                }
            };
            // A stride equal to the window is the graph file's default, left out.
            let stride = (stride != size).then_some(stride);
            let conn = if node.kind == Kind::SumPool2d {
                Connectivity::SumPool2d {
                    input,
                    kernel: size,
                    stride,
                    padding: pad,
                }
            } else {
                Connectivity::AvgPool2d {
                    input,
                    kernel: size,
                    stride,
                    padding: pad,
                }
            };
            let k = conn
                .kernel()
                .expect("a kernel connectivity")
                .map_err(kernel_err)?;
            let out = k.output.to_vec();
            Ok(lin(Op::Conv(conn, Box::new(k)), None, out))
        }
        other => Err(format!("node '{name}': a {other} is not a linear node")),
    }
}

/// Whether the kind is a linear node ([`linear_op`] converts it).
pub fn is_linear(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Affine
            | Kind::Linear
            | Kind::Scale
            | Kind::Conv1d
            | Kind::Conv2d
            | Kind::SumPool2d
            | Kind::AvgPool2d
            | Kind::Flatten
            | Kind::Delay
    )
}
