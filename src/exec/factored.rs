//! The backward pass of a decision, factored, for the networks the agents run: inputs that
//! are the same on every step, one spiking population, and one leaky readout (reset `NoReset`)
//! whose mean membrane over the T steps is the output z (the action logits). Every gradient is
//! then linear in dz = ∂L/∂z:
//!
//! ```text
//! ∂L/∂W2[j,c] = dz_c·q_j,       q_j = Σ_t κ_t·spk_t,j,   κ_t = (1/T)·Σ_{s≥t} β_r^(s−t)
//! Σ_t ∂L/∂x_t,j = u_j·ν_j,      u = W2·dz,  ν_j = Σ_t λ_t,j
//! ```
//!
//! with λ_t the x̄_t of the neuron's adjoint recursion driven by κ_t·σ'(mem_t − θ) instead of
//! (W2·ō_t)·σ'(mem_t − θ) (the model's [`SnnTorchStep::adjoint`]). So a decision keeps q and ν
//! (two vectors of the hidden size) instead of its whole trace, and its gradient can be formed
//! later for any dz (for REINFORCE: once the advantage is known). [`Net::backward`] computes
//! the same numbers unfactored (tested).

use super::neuron::with_neuron;
use super::{Model, Net, PopKind, Trace};
use crate::file::Reset;
use crate::models::step::{keep, ResetKind, SnnTorchStep};

/// The populations of a network the factored pass applies to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shallow {
    /// The spiking population.
    pub hidden: usize,
    /// The readout.
    pub readout: usize,
    /// The readout's decay β_r.
    pub beta_out: f64,
}

impl Net {
    /// The factored pass's populations when the network has its shape (inputs → one spiking
    /// population → one `NoReset` leaky readout, nothing recurrent), else why not.
    pub fn shallow(&self) -> Result<Shallow, String> {
        let [readout] = self.readouts() else {
            return Err("the network must have one readout".into());
        };
        let readout = *readout;
        let beta_out = match self.neuron(readout) {
            Some(n) if n.reset == Reset::NoReset => match n.model {
                Model::Leaky { beta } => beta,
                _ => return Err("the readout must be Lif SnnTorch(reset: NoReset)".into()),
            },
            _ => return Err("the readout must be Lif SnnTorch(reset: NoReset)".into()),
        };
        let into_readout = self.into(readout);
        let [l] = into_readout else {
            return Err("the readout must have one incoming projection".into());
        };
        let hidden = self.links()[*l].pre;
        let pops = self.pops();
        let spiking = pops
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind != PopKind::Input)
            .count();
        if self.neuron(hidden).is_none() || spiking != 2 {
            return Err(
                "the network must have one hidden population between its inputs and its readout"
                    .into(),
            );
        }
        let hidden_ok = self.into(hidden).iter().all(|&k| {
            let pre = self.links()[k].pre;
            pops[pre].kind == PopKind::Input
        }) && self.out_of(hidden) == [*l];
        if !hidden_ok || self.links().iter().any(|k| k.recurrent) {
            return Err(
                "the hidden population must be fed by the inputs only and feed only the readout"
                    .into(),
            );
        }
        Ok(Shallow {
            hidden,
            readout,
            beta_out,
        })
    }

    /// Writes q and ν of a decision (see the module documentation) from the trace of its
    /// forward pass; `shape` is [`Net::shallow`].
    pub fn policy_factors(&self, shape: Shallow, tr: &mut Trace, q: &mut [f64], nu: &mut [f64]) {
        let neuron = self.neuron(shape.hidden).expect("a spiking population");
        with_neuron!(neuron, n, R => policy_factors_with::<_, R>(
            n,
            neuron.threshold,
            self.surrogate(),
            shape,
            tr,
            q,
            nu,
        ))
    }
}

fn policy_factors_with<N: SnnTorchStep<f64>, R: ResetKind>(
    neuron: N,
    theta: f64,
    surrogate: super::Surrogate,
    shape: Shallow,
    tr: &mut Trace,
    q: &mut [f64],
    nu: &mut [f64],
) {
    let steps = tr.steps;
    let mut back = std::mem::take(&mut tr.factors);
    let pt = &tr.pops[shape.hidden];
    let h = q.len();
    q.iter_mut().for_each(|x| *x = 0.0);
    nu.iter_mut().for_each(|x| *x = 0.0);
    back.clear();
    back.resize(4 * h, 0.0);
    let (mu, rest) = back.split_at_mut(h);
    let (a, rest) = rest.split_at_mut(h);
    let (b, k_next) = rest.split_at_mut(h);
    let mut kappa = 0.0;
    for t in (0..steps).rev() {
        kappa = 1.0 / steps as f64 + shape.beta_out * kappa;
        let row = t * h..(t + 1) * h;
        let (spk, mem, reset) = (&pt.spk[row.clone()], &pt.mem[row.clone()], &pt.reset[row]);
        for j in 0..h {
            q[j] += kappa * spk[j];
            let drive = kappa * surrogate.grad(mem[j] - theta);
            let k_t = keep::<R, f64>(reset[j]);
            nu[j] += neuron.adjoint(drive, k_t, k_next[j], &mut mu[j], &mut a[j], &mut b[j]);
            k_next[j] = k_t;
        }
    }
    tr.factors = back;
}
