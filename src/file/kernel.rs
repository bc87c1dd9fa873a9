//! Convolution and pooling projections: one kernel of weights shared by every position,
//! stored once, instead of a CSR matrix holding each (pre, post) pair.
//!
//! Why not expand a convolution into the CSR rows every other projection uses: a kernel of
//! C_out·C_in·k² weights applied at every position of an H×W map would become
//! C_out·C_in·k²·H·W stored synapses (a 32-channel 3×3 layer over 64×64 maps: 38 M of them
//! instead of 9 216 weights), each with its own column index. The kernel computes a spike's
//! targets instead, which costs a few integer operations per target.
//!
//! Neurons are numbered row-major over (channel, y, x), as PyTorch lays out a (C, H, W)
//! tensor: neuron (c, y, x) is index (c·H + y)·W + x, on both sides. A presynaptic neuron
//! (c, y, x) reaches, for each output channel o of its group and each kernel offset (ky, kx),
//! the output position (oy, ox) with oy·stride_y − pad_y + ky·dil_y = y (likewise for x), if
//! such a whole position exists inside the output map. [`Kernel::targets`] visits them in the
//! fixed order o, then ky, then kx; with projections walked in name order and spikes in index
//! order that makes every sum's order independent of the thread count.
//!
//! Pooling is the same kernel with one group per channel and every weight equal: 1 for a sum
//! pool, 1/(kh·kw) for an average pool (PyTorch's `count_include_pad` default, which NIR's
//! AvgPool2d follows). A 1-d convolution is a 2-d one of height 1.
//!
//! It sits in the format layer because the geometry is part of what a `Conv2d` connectivity
//! means: validation computes output shapes with it, and `graph` builds projections from it.

use super::Connectivity;
use crate::Real;

/// A 2-d convolution (or pooling) between two row-major (C, H, W) populations.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// Presynaptic shape (C_in, H, W).
    pub input: [usize; 3],
    /// Postsynaptic shape (C_out, OH, OW), computed from the rest.
    pub output: [usize; 3],
    /// Kernel size (kh, kw).
    pub size: [usize; 2],
    /// Stride (y, x), each ≥ 1.
    pub stride: [usize; 2],
    /// Zero padding (y, x).
    pub padding: [usize; 2],
    /// Dilation (y, x), each ≥ 1.
    pub dilation: [usize; 2],
    /// Groups: C_in and C_out are cut into this many equal parts, part g of the output seeing
    /// only part g of the input.
    pub groups: usize,
    /// The weights, (C_out, C_in/groups, kh, kw) row-major (PyTorch's layout).
    pub weights: Vec<Real>,
}

/// The output length of one spatial dimension, or `None` if the kernel does not fit the
/// padded input.
fn out_len(n: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let span = d * (k - 1) + 1;
    (n + 2 * p >= span).then(|| (n + 2 * p - span) / s + 1)
}

impl Kernel {
    /// A kernel over input shape (C_in, H, W) with `out_channels`; the error names the
    /// setting at fault (relative field names: `kernel`, `stride`, `groups`, `weights`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: [usize; 3],
        out_channels: usize,
        size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        groups: usize,
        weights: Vec<Real>,
    ) -> Result<Self, (&'static str, String)> {
        let [c, h, w] = input;
        if c == 0 || h == 0 || w == 0 {
            return Err(("input", format!("shape {input:?} has no neurons")));
        }
        if size.contains(&0) {
            return Err(("kernel", format!("kernel size {size:?} must be at least 1")));
        }
        if stride.contains(&0) {
            return Err(("stride", format!("stride {stride:?} must be at least 1")));
        }
        if dilation.contains(&0) {
            return Err((
                "dilation",
                format!("dilation {dilation:?} must be at least 1"),
            ));
        }
        if groups == 0
            || out_channels == 0
            || !c.is_multiple_of(groups)
            || !out_channels.is_multiple_of(groups)
        {
            return Err((
                "groups",
                format!(
                    "groups {groups} must divide both the {c} input channels and the {out_channels} output channels"
                ),
            ));
        }
        let (Some(oh), Some(ow)) = (
            out_len(h, size[0], stride[0], padding[0], dilation[0]),
            out_len(w, size[1], stride[1], padding[1], dilation[1]),
        ) else {
            return Err((
                "kernel",
                format!(
                    "the kernel {size:?} (dilation {dilation:?}) is larger than the padded input {}×{} (input {h}×{w}, padding {padding:?})",
                    h + 2 * padding[0],
                    w + 2 * padding[1]
                ),
            ));
        };
        let want = out_channels * (c / groups) * size[0] * size[1];
        if weights.len() != want {
            return Err((
                "weights",
                format!(
                    "{} weights given; a kernel of shape (C_out, C_in/groups, kh, kw) = ({out_channels}, {}, {}, {}) holds {want}",
                    weights.len(),
                    c / groups,
                    size[0],
                    size[1]
                ),
            ));
        }
        Ok(Kernel {
            input,
            output: [out_channels, oh, ow],
            size,
            stride,
            padding,
            dilation,
            groups,
            weights,
        })
    }

    /// A channel-wise pool: one group per channel, every weight `w`.
    pub fn pool(
        input: [usize; 3],
        size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        w: Real,
    ) -> Result<Self, (&'static str, String)> {
        let c = input[0];
        Kernel::new(
            input,
            c,
            size,
            stride,
            padding,
            [1, 1],
            c,
            vec![w; c * size[0] * size[1]],
        )
    }

    /// Presynaptic neurons C_in·H·W.
    pub fn n_pre(&self) -> usize {
        self.input.iter().product()
    }

    /// Postsynaptic neurons C_out·OH·OW.
    pub fn n_post(&self) -> usize {
        self.output.iter().product()
    }

    /// Calls `f(target, weight)` for every target of presynaptic neuron `i`, in the order
    /// output channel, ky, kx; returns how many.
    #[inline]
    pub fn targets(&self, i: usize, mut f: impl FnMut(usize, Real)) -> u64 {
        let [c_in, h, w] = self.input;
        let [c_out, oh, ow] = self.output;
        let (c, y, x) = (i / (h * w), (i / w) % h, i % w);
        let (cin_g, cout_g) = (c_in / self.groups, c_out / self.groups);
        let g = c / cin_g;
        let ci = c - g * cin_g;
        let [kh, kw] = self.size;
        let mut n = 0;
        for o in g * cout_g..(g + 1) * cout_g {
            let base = (o * cin_g + ci) * kh * kw;
            for ky in 0..kh {
                let Some(oy) = position(y, ky, self.stride[0], self.padding[0], self.dilation[0])
                    .filter(|&v| v < oh)
                else {
                    continue;
                };
                for kx in 0..kw {
                    let Some(ox) =
                        position(x, kx, self.stride[1], self.padding[1], self.dilation[1])
                            .filter(|&v| v < ow)
                    else {
                        continue;
                    };
                    f((o * oh + oy) * ow + ox, self.weights[base + ky * kw + kx]);
                    n += 1;
                }
            }
        }
        n
    }

    /// Connections (pre, post) the kernel makes, counted over every presynaptic neuron.
    pub fn connections(&self) -> u64 {
        (0..self.n_pre()).map(|i| self.targets(i, |_, _| {})).sum()
    }

    /// The same projection as a dense n_pre × n_post matrix (weights added where two kernel
    /// offsets reach one target): for tests and for converting to dense formats.
    pub fn dense(&self) -> Vec<Vec<Real>> {
        let mut m = vec![vec![0.0; self.n_post()]; self.n_pre()];
        for (i, row) in m.iter_mut().enumerate() {
            self.targets(i, |j, w| row[j] += w);
        }
        m
    }
}

/// A pair from a list of two, or the error naming the field.
fn pair(field: &'static str, v: &[usize]) -> Result<[usize; 2], (&'static str, String)> {
    match v {
        [a, b] => Ok([*a, *b]),
        _ => Err((field, format!("takes two values [y, x], not {}", v.len()))),
    }
}

impl Connectivity {
    /// The number of values a step of a `Chain` gives (`Dense`: its columns; a kernel: its
    /// output neurons); `None` for a step that is neither or is malformed.
    pub fn step_output(&self) -> Option<usize> {
        match self {
            Connectivity::Dense { weights } => weights.first().map(Vec::len),
            c => c.kernel()?.ok().map(|k| k.n_post()),
        }
    }

    /// The composed weights of a `Chain`, one row per pre neuron (`n_pre` of them) and one
    /// column per post neuron: each pre neuron's unit vector carried through the steps in
    /// f64, by its non-zero entries only (a pool before a dense layer costs the pool's few
    /// targets per neuron, not a matrix product), each sum in the order of its terms' indices.
    /// `None` for another connectivity or steps that do not fit together (validation refuses
    /// those).
    pub fn chain_dense(&self, n_pre: usize) -> Option<Vec<Vec<f64>>> {
        let Connectivity::Chain { steps } = self else {
            return None;
        };
        let kernels: Vec<Option<Kernel>> = steps
            .iter()
            .map(|s| s.kernel().transpose().ok().flatten())
            .collect();
        let sizes: Vec<usize> = steps.iter().map(Self::step_output).collect::<Option<_>>()?;
        let mut out = Vec::with_capacity(n_pre);
        for i in 0..n_pre {
            let mut x: Vec<(usize, f64)> = vec![(i, 1.0)];
            let mut y = Vec::new();
            for ((step, k), &n) in steps.iter().zip(&kernels).zip(&sizes) {
                y = vec![0.0; n];
                match (step, k) {
                    (_, Some(k)) => {
                        for &(j, v) in &x {
                            if j >= k.n_pre() {
                                return None;
                            }
                            k.targets(j, |t, w| y[t] += crate::real::wide(w) * v);
                        }
                    }
                    (Connectivity::Dense { weights }, None) => {
                        for &(j, v) in &x {
                            let row = weights.get(j).filter(|r| r.len() == n)?;
                            for (t, w) in row.iter().enumerate() {
                                y[t] += w * v;
                            }
                        }
                    }
                    _ => return None,
                }
                x = y
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(t, v)| (t, *v))
                    .collect();
            }
            out.push(y);
        }
        Some(out)
    }

    /// The kernel of a convolution or pooling connectivity (`None` for the others). The error
    /// names the field at fault, relative to the variant (`input`, `kernel`, `weights`, ...).
    pub fn kernel(&self) -> Option<Result<Kernel, (&'static str, String)>> {
        let shape3 = |v: &[usize]| match v {
            [c, h, w] => Ok([*c, *h, *w]),
            _ => Err((
                "input",
                format!(
                    "takes the pre population's shape [C, H, W], not {} values",
                    v.len()
                ),
            )),
        };
        let real = |w: &[f64]| w.iter().map(|&x| x as Real).collect::<Vec<_>>();
        Some(match self {
            Connectivity::Conv2d {
                input,
                out_channels,
                kernel,
                stride,
                padding,
                dilation,
                groups,
                weights,
            } => (|| {
                Kernel::new(
                    shape3(input)?,
                    *out_channels,
                    pair("kernel", kernel)?,
                    pair("stride", stride)?,
                    pair("padding", padding)?,
                    pair("dilation", dilation)?,
                    *groups,
                    real(weights),
                )
            })(),
            Connectivity::Conv1d {
                input,
                out_channels,
                kernel,
                stride,
                padding,
                dilation,
                groups,
                weights,
            } => match input[..] {
                [c, l] => Kernel::new(
                    [c, 1, l],
                    *out_channels,
                    [1, *kernel],
                    [1, *stride],
                    [0, *padding],
                    [1, *dilation],
                    *groups,
                    real(weights),
                ),
                _ => Err((
                    "input",
                    format!(
                        "takes the pre population's shape [C, L], not {} values",
                        input.len()
                    ),
                )),
            },
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
            } => (|| {
                let size = pair("kernel", kernel)?;
                let stride = match stride {
                    Some(s) => pair("stride", s)?,
                    None => size,
                };
                let w = if matches!(self, Connectivity::AvgPool2d { .. }) {
                    1.0 / (size[0] * size[1]) as Real
                } else {
                    1.0
                };
                Kernel::pool(shape3(input)?, size, stride, pair("padding", padding)?, w)
            })(),
            _ => return None,
        })
    }
}

/// The output position o with o·s − p + k·d = v, if it is whole and ≥ 0.
#[inline(always)]
fn position(v: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let t = (v + p).checked_sub(k * d)?;
    t.is_multiple_of(s).then_some(t / s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook convolution (cross-correlation, as PyTorch), written output-first.
    fn direct(k: &Kernel, x: &[Real]) -> Vec<Real> {
        let [c_in, h, w] = k.input;
        let [c_out, oh, ow] = k.output;
        let (cin_g, cout_g) = (c_in / k.groups, c_out / k.groups);
        let mut y = vec![0.0; k.n_post()];
        for o in 0..c_out {
            let g = o / cout_g;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = 0.0;
                    for ci in 0..cin_g {
                        for ky in 0..k.size[0] {
                            for kx in 0..k.size[1] {
                                let iy = (oy * k.stride[0] + ky * k.dilation[0]) as isize
                                    - k.padding[0] as isize;
                                let ix = (ox * k.stride[1] + kx * k.dilation[1]) as isize
                                    - k.padding[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let c = g * cin_g + ci;
                                let wi = ((o * cin_g + ci) * k.size[0] + ky) * k.size[1] + kx;
                                s += k.weights[wi] * x[(c * h + iy as usize) * w + ix as usize];
                            }
                        }
                    }
                    y[(o * oh + oy) * ow + ox] = s;
                }
            }
        }
        y
    }

    /// Scattering every input through [`Kernel::targets`] gives the output-first convolution,
    /// over strides, paddings, dilations and groups.
    #[test]
    fn scattering_equals_the_direct_convolution() {
        let cases = [
            ([1, 6, 6], 2, [3, 3], [1, 1], [0, 0], [1, 1], 1),
            ([2, 7, 5], 4, [3, 2], [2, 1], [1, 0], [1, 2], 2),
            ([3, 8, 8], 3, [2, 2], [2, 2], [0, 0], [1, 1], 3),
            ([4, 5, 6], 2, [3, 3], [1, 2], [2, 1], [2, 1], 2),
            ([1, 1, 9], 2, [1, 3], [1, 2], [0, 1], [1, 1], 1),
        ];
        for (input, co, size, stride, padding, dilation, groups) in cases {
            let n_w = co * (input[0] / groups) * size[0] * size[1];
            let weights: Vec<Real> = (0..n_w).map(|k| (k as Real * 0.37).sin()).collect();
            let k =
                Kernel::new(input, co, size, stride, padding, dilation, groups, weights).unwrap();
            let x: Vec<Real> = (0..k.n_pre()).map(|i| (i as Real * 1.3).cos()).collect();
            let mut y = vec![0.0; k.n_post()];
            for (i, &xi) in x.iter().enumerate() {
                k.targets(i, |j, w| y[j] += w * xi);
            }
            let want = direct(&k, &x);
            for (a, b) in y.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "{input:?}: {a} vs {b}");
            }
            assert!(want.iter().any(|&v| v != 0.0));
        }
    }

    #[test]
    fn shapes_follow_pytorch_and_misfits_are_refused() {
        let k = Kernel::new(
            [1, 6, 6],
            2,
            [3, 3],
            [1, 1],
            [0, 0],
            [1, 1],
            1,
            vec![0.0; 18],
        );
        assert_eq!(k.unwrap().output, [2, 4, 4]);
        let p = Kernel::pool([2, 4, 4], [2, 2], [2, 2], [0, 0], 0.25).unwrap();
        assert_eq!(p.output, [2, 2, 2]);
        assert_eq!(p.connections(), 32);
        let big = Kernel::new(
            [1, 2, 2],
            1,
            [3, 3],
            [1, 1],
            [0, 0],
            [1, 1],
            1,
            vec![0.0; 9],
        );
        assert_eq!(big.unwrap_err().0, "kernel");
        let g = Kernel::new(
            [3, 4, 4],
            2,
            [1, 1],
            [1, 1],
            [0, 0],
            [1, 1],
            2,
            vec![0.0; 2],
        );
        assert_eq!(g.unwrap_err().0, "groups");
        let w = Kernel::new(
            [1, 4, 4],
            2,
            [2, 2],
            [1, 1],
            [0, 0],
            [1, 1],
            1,
            vec![0.0; 7],
        );
        assert_eq!(w.unwrap_err().0, "weights");
    }
}
