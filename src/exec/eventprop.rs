//! EventProp (Wunderlich & Pehle 2021, "Event-based backpropagation can compute exact
//! gradients for spiking neural networks", *Sci. Rep.* 11:12829): exact gradients of a loss on
//! the readout's membrane for a feed-forward chain of current-based LIF layers with
//! exponential synapses, from an adjoint simulation that runs backwards in time and, like the
//! forward pass, only stops at spikes.
//!
//! Why it is built this way: exact gradients need exact spike times, which a clock-driven step
//! does not give, so EventProp has its own forward pass — the one second simulation path of
//! snnsim (docs/architecture.md). Between events the state of a neuron is known in closed form,
//!
//! ```text
//! τ_m dV/dt = −V + I,   τ_s dI/dt = −I        (V about rest, I = R·I_syn in mV)
//! V(t0 + s) = (V0 − A)·e^(−s/τ_m) + A·e^(−s/τ_s),   A = I0·τ_s/(τ_s − τ_m),   I(t0 + s) = I0·e^(−s/τ_s)
//! ```
//!
//! a sum of two exponentials with at most one extremum, so each piece between extrema is
//! monotone and the first threshold crossing is bracketed and found by safeguarded Newton
//! steps to machine precision. A spike adds R·w to the current of every target and resets V to
//! 0. The chain is feed-forward, so a layer is simulated whole, one neuron at a time over its
//! input's sorted spike list, before the next; its output is its spike list. The readout is a
//! layer of non-spiking leaky integrators whose logits are their membrane maxima over the
//! sample (the loss of the paper's MNIST and SHD runs) or their membrane means, (1/T)∫V dt in
//! closed form (the "sum" loss that Nowotny, Turner & Knight 2025, "Loss shaping enhances exact
//! gradient learning with Eventprop", found to train better than the maximum: every readout
//! gets a gradient from every sample, where one whose membrane never rises above rest has its
//! maximum at t = 0 and none).
//!
//! The adjoint (costate) λ = ∂L/∂(V, I) obeys, backwards in time between events,
//! dλ_V/dσ = −λ_V/τ_m and dλ_I/dσ = λ_V/τ_m − λ_I/τ_s (σ = reversed time), again in closed
//! form. At a spike of neuron i at t_k (V̇⁻ = (I_i − θ)/τ_m) the costate of V jumps
//!
//! ```text
//! λ_V,i⁻ = −( −λ_V,i⁺·I_i/τ_m + Σ_j R·w_ji·(λ_I,j⁺/τ_s − λ_V,j⁺/τ_m) ) / V̇⁻
//! ∂L/∂w_ji += R·x·λ_I,j(t_k)      for every presynaptic event (time t_k, value x)
//! ```
//!
//! (the paper's equations with the reset to zero written out; derived from the saltation of
//! the state at the event). A readout maximum adds ∂L/∂z to λ_V at its time; a maximum on the
//! kink of an inhibitory input's arrival also moves with that spike (a term g·V̇⁻ in its
//! jump). A mean logit z = (1/T)∫V dt instead adds a constant source g/T to dλ_V/dσ over the
//! whole sample; the costate then relaxes towards (g·τ_m/T, g·τ_s/T), again in closed form, and
//! the jumps are unchanged (V is continuous at every event, so moving an event moves no part of
//! the integrand). Memory is the spike lists and one number per spike, not a trace per step.

use crate::exec::CHUNK;
use rayon::prelude::*;

/// One layer's neurons (all alike): membrane and synaptic time constants (ms), the current's
/// jump per unit weight (R), the threshold above rest (`INFINITY`: non-spiking).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventLif {
    /// τ_m (ms).
    pub tau_m: f64,
    /// τ_s (ms), the exponential synapse of the layer's input.
    pub tau_s: f64,
    /// R: a weight w adds R·w to I.
    pub r: f64,
    /// Threshold above rest θ (> 0), or `f64::INFINITY` for a non-spiking integrator.
    pub theta: f64,
}

/// A presynaptic event: time (ms), source neuron, value (1 for a spike; an encoder's count).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Time (ms).
    pub t: f64,
    /// Source neuron.
    pub i: u32,
    /// Multiplies the weight.
    pub x: f64,
}

/// What a readout neuron's membrane over a sample gives as its logit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Logit {
    /// The maximum over [0, T] (0 where the membrane never rises above rest).
    #[default]
    Max,
    /// The mean (1/T)∫₀ᵀ V dt.
    Mean,
}

/// A feed-forward chain: `sizes[0]` inputs, then one [`EventLif`] layer per further size (the
/// last one the non-spiking readout); layer l's weights (from l − 1) are dense, by
/// presynaptic neuron: `w[l − 1][i·sizes[l] + j]`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventNet {
    /// Layer sizes, input first.
    pub sizes: Vec<usize>,
    /// The neurons of layers 1.., readout last.
    pub layers: Vec<EventLif>,
    /// Length of a sample (ms).
    pub t_end: f64,
    /// The readout's logits.
    pub logit: Logit,
}

/// Where a readout neuron's maximum lies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    /// At time 0 (V = 0): no gradient.
    Start,
    /// On the arrival of input event k (V̇ just before it).
    Event(usize, f64),
    /// Between events, or at the end, at this time.
    Time(f64),
}

/// The forward pass of one sample: each spiking layer's spikes (sorted by time, then neuron)
/// with the neuron's current at the spike, and the readout's maxima.
#[derive(Debug, Clone, Default)]
pub struct EventTrace {
    /// Per spiking layer: (event, current I at the spike).
    pub spikes: Vec<Vec<(Event, f64)>>,
    /// Readout maxima, the logits.
    pub z: Vec<f64>,
    at: Vec<At>,
}

/// V and I after `s` ms from (v, i), and the split of V into its two exponentials.
#[inline]
fn parts(c: &EventLif, v: f64, i: f64) -> (f64, f64) {
    let a = i * c.tau_s / (c.tau_s - c.tau_m);
    (v - a, a)
}

#[inline]
fn v_at(c: &EventLif, a: f64, b: f64, s: f64) -> f64 {
    a * (-s / c.tau_m).exp() + b * (-s / c.tau_s).exp()
}

#[inline]
fn dv_at(c: &EventLif, a: f64, b: f64, s: f64) -> f64 {
    -a / c.tau_m * (-s / c.tau_m).exp() - b / c.tau_s * (-s / c.tau_s).exp()
}

/// The extremum of a e^(−s/τ_m) + b e^(−s/τ_s) in (0, d), if any.
fn extremum(c: &EventLif, a: f64, b: f64, d: f64) -> Option<f64> {
    if a == 0.0 {
        return None;
    }
    let q = -b * c.tau_m / (a * c.tau_s);
    if q <= 0.0 {
        return None;
    }
    let s = q.ln() / (1.0 / c.tau_s - 1.0 / c.tau_m);
    (s > 0.0 && s < d).then_some(s)
}

/// The root of V − θ in [lo, hi], where V is monotone, V(lo) < θ ≤ V(hi): Newton steps kept
/// inside the bracket (bisection where one would leave it), to machine precision.
fn root(c: &EventLif, a: f64, b: f64, theta: f64, mut lo: f64, mut hi: f64) -> f64 {
    let mut s = hi;
    for _ in 0..200 {
        let f = v_at(c, a, b, s) - theta;
        if f == 0.0 {
            return s;
        }
        if f < 0.0 {
            lo = s;
        } else {
            hi = s;
        }
        if hi - lo <= 2.0 * f64::EPSILON * hi.max(1e-300) {
            break;
        }
        let n = s - f / dv_at(c, a, b, s);
        s = if n > lo && n < hi { n } else { 0.5 * (lo + hi) };
    }
    hi
}

/// The first threshold crossing in (0, d] from (v, i), v < θ.
fn crossing(c: &EventLif, v: f64, i: f64, d: f64) -> Option<f64> {
    if !c.theta.is_finite() || d <= 0.0 {
        return None;
    }
    let (a, b) = parts(c, v, i);
    let mut lo = 0.0;
    for hi in extremum(c, a, b, d).into_iter().chain([d]) {
        if v_at(c, a, b, hi) >= c.theta && v_at(c, a, b, lo) < c.theta {
            return Some(root(c, a, b, c.theta, lo, hi));
        }
        lo = hi;
    }
    None
}

/// Costate (λ_V, λ_I) carried `s` ms backwards, under a constant source `src` in dλ_V/dσ (a
/// mean logit's g/T; 0 elsewhere): the deviation from the fixed point (src·τ_m, src·τ_s)
/// decays as without a source.
#[inline]
fn back(c: &EventLif, lv: f64, li: f64, s: f64, src: f64) -> (f64, f64) {
    let (fv, fi) = (src * c.tau_m, src * c.tau_s);
    let (lv, li) = (lv - fv, li - fi);
    let (em, es) = ((-s / c.tau_m).exp(), (-s / c.tau_s).exp());
    let b = lv * c.tau_s / (c.tau_m - c.tau_s);
    (lv * em + fv, (li - b) * es + b * em + fi)
}

/// A readout neuron's membrane over a sample: its maximum and where it lies, and ∫V dt.
#[derive(Debug, Clone, Copy)]
struct Readout {
    max: f64,
    at: At,
    area: f64,
}

/// Simulates one neuron of layer `c` over `input` (sorted) with incoming weights `w(i)` until
/// `t_end`: its spikes (time, current), or with `max` its membrane maximum and integral.
fn neuron(
    c: &EventLif,
    input: &[Event],
    w: impl Fn(usize) -> f64,
    t_end: f64,
    spikes: &mut Vec<(f64, f64)>,
    mut max: Option<&mut Readout>,
) {
    let (mut v, mut i, mut t) = (0.0f64, 0.0f64, 0.0f64);
    let mut k = 0;
    loop {
        let t1 = input.get(k).map_or(t_end, |e| e.t.min(t_end));
        // Spikes within (t, t1].
        while let Some(s) = crossing(c, v, i, t1 - t) {
            t += s;
            i *= (-s / c.tau_s).exp();
            v = 0.0;
            spikes.push((t, i));
        }
        let d = t1 - t;
        let (a, b) = parts(c, v, i);
        if let Some(m) = max.as_deref_mut() {
            if let Some(s) = extremum(c, a, b, d) {
                let vs = v_at(c, a, b, s);
                if vs > m.max {
                    (m.max, m.at) = (vs, At::Time(t + s));
                }
            }
            m.area +=
                a * c.tau_m * -(-d / c.tau_m).exp_m1() + b * c.tau_s * -(-d / c.tau_s).exp_m1();
        }
        v = v_at(c, a, b, d);
        i *= (-d / c.tau_s).exp();
        t = t1;
        if let Some(m) = max.as_deref_mut() {
            if v > m.max {
                let at = if k < input.len() && input[k].t < t_end {
                    At::Event(k, (i - v) / c.tau_m)
                } else {
                    At::Time(t)
                };
                (m.max, m.at) = (v, at);
            }
        }
        if k >= input.len() || input[k].t >= t_end {
            return;
        }
        // Every event at this time.
        while k < input.len() && input[k].t == t {
            i += c.r * w(input[k].i as usize) * input[k].x;
            k += 1;
        }
    }
}

impl EventNet {
    /// The exact forward pass of one sample from its input events (sorted by time, then
    /// neuron), with weights `w` (per layer, as [`EventNet`] lays them out).
    pub fn forward(&self, w: &[&[f64]], input: &[Event]) -> EventTrace {
        let n = self.layers.len();
        let mut tr = EventTrace::default();
        let mut events: Vec<Event> = input.to_vec();
        let mut buf = Vec::new();
        for (l, (c, &wl)) in self.layers.iter().zip(w).enumerate() {
            let post = self.sizes[l + 1];
            if l + 1 < n {
                let mut out: Vec<(Event, f64)> = Vec::new();
                for j in 0..post {
                    buf.clear();
                    neuron(c, &events, |i| wl[i * post + j], self.t_end, &mut buf, None);
                    out.extend(buf.iter().map(|&(t, cur)| {
                        (
                            Event {
                                t,
                                i: j as u32,
                                x: 1.0,
                            },
                            cur,
                        )
                    }));
                }
                out.sort_by(|a, b| a.0.t.total_cmp(&b.0.t).then(a.0.i.cmp(&b.0.i)));
                events = out.iter().map(|e| e.0).collect();
                tr.spikes.push(out);
            } else {
                for j in 0..post {
                    let mut m = Readout {
                        max: 0.0,
                        at: At::Start,
                        area: 0.0,
                    };
                    neuron(
                        c,
                        &events,
                        |i| wl[i * post + j],
                        self.t_end,
                        &mut buf,
                        Some(&mut m),
                    );
                    match self.logit {
                        Logit::Max => {
                            tr.z.push(m.max);
                            tr.at.push(m.at);
                        }
                        Logit::Mean => {
                            tr.z.push(m.area / self.t_end);
                            tr.at.push(At::Start);
                        }
                    }
                }
            }
        }
        tr
    }

    /// The adjoint pass: adds ∂L/∂w to `grad` (shaped as the weights) for a loss whose
    /// gradient with respect to the logits `tr.z` is `g_z`.
    pub fn backward(
        &self,
        w: &[&[f64]],
        input: &[Event],
        tr: &EventTrace,
        g_z: &[f64],
        grad: &mut [Vec<f64>],
    ) {
        let n = self.layers.len();
        // c[k]: the coefficient of a shift of layer l's input event k in the loss, summed
        // over the layer's neurons (the pre neuron's jump needs it).
        let mut c_out: Vec<f64> = Vec::new();
        for l in (0..n).rev() {
            let c = &self.layers[l];
            let post = self.sizes[l + 1];
            let owned;
            let events: &[Event] = if l == 0 {
                input
            } else {
                owned = tr.spikes[l - 1].iter().map(|e| e.0).collect::<Vec<_>>();
                &owned
            };
            let need_c = l > 0;
            let mut c_in = vec![0.0; if need_c { events.len() } else { 0 }];
            let wl = w[l];
            let gl = &mut grad[l];
            // This layer's own spikes per neuron, in time order, with their c.
            let mut own: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); post];
            if l + 1 < n {
                for (k, (e, cur)) in tr.spikes[l].iter().enumerate() {
                    own[e.i as usize].push((e.t, *cur, c_out[k]));
                }
            }
            for (j, own) in own.iter().enumerate() {
                let (mut lv, mut li, mut t) = (0.0f64, 0.0f64, self.t_end);
                let (mut g, mut at, mut src) = (0.0, At::Start, 0.0);
                if l + 1 == n {
                    g = g_z[j];
                    at = tr.at[j];
                    if at == At::Time(self.t_end) {
                        lv += g;
                    }
                    if self.logit == Logit::Mean {
                        src = g / self.t_end;
                    }
                }
                let mut s = own.len();
                // Events at or after the end reach nothing.
                let mut k = events.partition_point(|e| e.t < self.t_end);
                loop {
                    // The next event backwards: an own spike or an input event.
                    let te = if k > 0 {
                        events[k - 1].t
                    } else {
                        f64::NEG_INFINITY
                    };
                    let ts = if s > 0 {
                        own[s - 1].0
                    } else {
                        f64::NEG_INFINITY
                    };
                    let tn = te.max(ts).max(0.0);
                    if let At::Time(tm) = at {
                        if tm < t && tm >= tn && tm < self.t_end {
                            (lv, li) = back(c, lv, li, t - tm, src);
                            t = tm;
                            lv += g;
                        }
                    }
                    (lv, li) = back(c, lv, li, t - tn, src);
                    t = tn;
                    if s > 0 && ts > te {
                        let (_, cur, ck) = own[s - 1];
                        let vdot = (cur - c.theta) / c.tau_m;
                        lv = -(-lv * cur / c.tau_m + ck) / vdot;
                        s -= 1;
                    } else if k > 0 {
                        let e = events[k - 1];
                        let wi = wl[e.i as usize * post + j];
                        gl[e.i as usize * post + j] += c.r * e.x * li;
                        if need_c {
                            c_in[k - 1] += c.r * wi * e.x * (li / c.tau_s - lv / c.tau_m);
                        }
                        if let At::Event(ka, vdot) = at {
                            if ka == k - 1 {
                                if need_c {
                                    c_in[k - 1] += g * vdot;
                                }
                                lv += g;
                            }
                        }
                        k -= 1;
                    } else {
                        break;
                    }
                }
            }
            c_out = c_in;
        }
    }
}

/// The softmax cross-entropy of logits `z` for label `y`: (predicted class, loss, ∂loss/∂z).
pub fn cross_entropy(z: &[f64], y: usize) -> (usize, f64, Vec<f64>) {
    let mut pred = 0;
    for j in 1..z.len() {
        if z[j] > z[pred] {
            pred = j;
        }
    }
    let top = z[pred];
    let sum: f64 = z.iter().map(|&v| (v - top).exp()).sum();
    let loss = sum.ln() + top - z[y];
    let g = z
        .iter()
        .enumerate()
        .map(|(j, &v)| (v - top).exp() / sum - if j == y { 1.0 } else { 0.0 })
        .collect();
    (pred, loss, g)
}

/// A minibatch's summed loss, its count of right predictions and its summed gradient: samples
/// in parallel in fixed chunks of [`CHUNK`], each chunk summed in order and the chunks in
/// order, so any number of threads gives the same bits.
pub fn batch(
    net: &EventNet,
    w: &[&[f64]],
    samples: &[(Vec<Event>, usize)],
) -> (f64, usize, Vec<Vec<f64>>) {
    let zeros = || -> Vec<Vec<f64>> { w.iter().map(|v| vec![0.0; v.len()]).collect() };
    let parts: Vec<(f64, usize, Vec<Vec<f64>>)> = samples
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut g = zeros();
            let (mut loss, mut right) = (0.0, 0);
            for (input, y) in chunk {
                let tr = net.forward(w, input);
                let (pred, l, gz) = cross_entropy(&tr.z, *y);
                loss += l;
                right += usize::from(pred == *y);
                net.backward(w, input, &tr, &gz, &mut g);
            }
            (loss, right, g)
        })
        .collect();
    let mut g = zeros();
    let (mut loss, mut right) = (0.0, 0);
    for (l, r, gp) in parts {
        loss += l;
        right += r;
        for (a, b) in g.iter_mut().zip(&gp) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
    (loss, right, g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    fn small(seed: u64, logit: Logit) -> (EventNet, Vec<Vec<f64>>, Vec<Vec<Event>>) {
        let net = EventNet {
            sizes: vec![3, 5, 2],
            layers: vec![
                EventLif {
                    tau_m: 10.0,
                    tau_s: 4.0,
                    r: 1.0,
                    theta: 1.0,
                },
                EventLif {
                    tau_m: 12.0,
                    tau_s: 3.0,
                    r: 1.0,
                    theta: f64::INFINITY,
                },
            ],
            t_end: 40.0,
            logit,
        };
        let mut rng = crate::rng::stream(seed, "eventprop-test", "", 0);
        let w = vec![
            (0..15).map(|_| rng.random_range(-0.5..2.5)).collect(),
            (0..10).map(|_| rng.random_range(-1.0..1.0)).collect(),
        ];
        let inputs = (0..6)
            .map(|_| {
                let mut ev: Vec<Event> = (0..3u32)
                    .flat_map(|i| {
                        let n = rng.random_range(1..4);
                        (0..n)
                            .map(|_| Event {
                                t: rng.random_range(0.0..25.0),
                                i,
                                x: 1.0,
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect();
                ev.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.i.cmp(&b.i)));
                ev
            })
            .collect();
        (net, w, inputs)
    }

    /// A crossing found by the root finder is on the threshold to machine precision, and the
    /// membrane stays below it before.
    #[test]
    fn crossing_is_exact() {
        let c = EventLif {
            tau_m: 10.0,
            tau_s: 4.0,
            r: 1.0,
            theta: 1.0,
        };
        let s = crossing(&c, 0.2, 6.0, 50.0).expect("a crossing");
        let (a, b) = parts(&c, 0.2, 6.0);
        assert!((v_at(&c, a, b, s) - 1.0).abs() < 1e-14);
        for k in 0..1000 {
            assert!(v_at(&c, a, b, s * k as f64 / 1000.0) < 1.0);
        }
        assert_eq!(crossing(&c, 0.2, 3.0, 50.0), None);
    }

    /// EventProp's gradient equals central differences of the event-time model's loss
    /// (relative 1e-6), on networks with hidden spikes whose count the perturbation keeps, for
    /// maximum and mean logits.
    #[test]
    fn gradient_matches_finite_differences() {
        for logit in [Logit::Max, Logit::Mean] {
            gradient_matches_finite_differences_for(logit);
        }
    }

    fn gradient_matches_finite_differences_for(logit: Logit) {
        let mut checked = 0;
        for seed in 0..4 {
            let (net, mut w, inputs) = small(seed, logit);
            for (s, input) in inputs.iter().enumerate() {
                let y = s % 2;
                let loss = |w: &[Vec<f64>]| {
                    let ws: Vec<&[f64]> = w.iter().map(|v| v.as_slice()).collect();
                    let tr = net.forward(&ws, input);
                    (cross_entropy(&tr.z, y).1, tr.spikes[0].len())
                };
                let ws: Vec<&[f64]> = w.iter().map(|v| v.as_slice()).collect();
                let tr = net.forward(&ws, input);
                let (_, _, gz) = cross_entropy(&tr.z, y);
                let mut g: Vec<Vec<f64>> = w.iter().map(|v| vec![0.0; v.len()]).collect();
                net.backward(&ws, input, &tr, &gz, &mut g);
                let n0 = tr.spikes[0].len();
                for l in 0..2 {
                    for k in 0..w[l].len() {
                        let h = 1e-6;
                        w[l][k] += h;
                        let (up, nu) = loss(&w);
                        w[l][k] -= 2.0 * h;
                        let (down, nd) = loss(&w);
                        w[l][k] += h;
                        assert!(
                            nu == n0 && nd == n0,
                            "seed {seed}: a spike grazes threshold"
                        );
                        let fd = (up - down) / (2.0 * h);
                        let err = (fd - g[l][k]).abs();
                        assert!(
                            err <= 1e-6 * fd.abs().max(1e-3),
                            "{logit:?} seed {seed} sample {s} layer {l} weight {k}: fd {fd}, eventprop {}",
                            g[l][k]
                        );
                        checked += usize::from(fd.abs() > 1e-3 && l == 0);
                    }
                }
            }
        }
        assert!(
            checked > 50,
            "{logit:?}: only {checked} hidden weights with a gradient"
        );
    }

    /// A mean logit is (1/T)∫V dt: over a window long against τ_m and τ_s, ∫V = ∫I = Σ R·w·τ_s
    /// (τ_m dV/dt = −V + I with V back at rest), whatever the event times; and a readout that
    /// never rises has a maximum logit of 0 but a negative mean one.
    #[test]
    fn mean_logit_is_the_time_integral() {
        let c = EventLif {
            tau_m: 10.0,
            tau_s: 4.0,
            r: 2.0,
            theta: f64::INFINITY,
        };
        let mut net = EventNet {
            sizes: vec![2, 2],
            layers: vec![c],
            t_end: 1000.0,
            logit: Logit::Mean,
        };
        let input = [
            Event {
                t: 3.0,
                i: 0,
                x: 1.0,
            },
            Event {
                t: 7.5,
                i: 1,
                x: 2.0,
            },
            Event {
                t: 20.0,
                i: 0,
                x: 1.0,
            },
        ];
        // w[i·2 + j]: readout 0 gets 0.7 and −0.2, readout 1 gets −0.5 and −0.1.
        let w = [0.7, -0.5, -0.2, -0.1];
        let tr = net.forward(&[&w], &input);
        let want = |j: usize| {
            input
                .iter()
                .map(|e| c.r * w[e.i as usize * 2 + j] * e.x * c.tau_s)
                .sum::<f64>()
                / net.t_end
        };
        for j in 0..2 {
            assert!(
                (tr.z[j] - want(j)).abs() < 1e-12,
                "readout {j}: {} vs {}",
                tr.z[j],
                want(j)
            );
        }
        assert!(tr.z[1] < 0.0);
        net.logit = Logit::Max;
        let tr = net.forward(&[&w], &input);
        assert_eq!(tr.z[1], 0.0);
        assert!(tr.z[0] > 0.0);
    }
}
