//! The agents' policy network as the executor runs it: the plan of the whole network
//! ([`exec::Net`]), checked to have the shape the agents train (inputs → one spiking hidden
//! population → one leaky `NoReset` readout), and the calls a decision makes: the forward pass
//! of T steps from zero state with the observation's inputs held on every step, the logits
//! (the readout membrane averaged over the T steps), and the factored backward pass
//! ([`exec::Net::policy_factors`]). The trainers, the loaded [`super::Policy`] and the GPU
//! driver's host side all decide through it.

use crate::error::{Error, Result};
use crate::exec::{self, Neuron, Params, Shallow, Surrogate, Trace};
use crate::graph::{Network, PopId, ProjId};

/// The policy network's plan and sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyNet {
    /// The executor's plan of the network.
    pub exec: exec::Net,
    /// Its hidden population and readout.
    pub shape: Shallow,
    /// Hidden neurons.
    pub hidden: usize,
    /// Readout neurons.
    pub out: usize,
    /// The plan's links of the input and readout projections.
    links: [usize; 2],
    ids: [PopId; 2],
}

impl PolicyNet {
    /// The plan of `net` for an agent whose `input` population feeds `w_in` into the hidden
    /// population and whose `w_out` feeds the `readout`.
    pub fn of(
        net: &Network,
        input: PopId,
        readout: PopId,
        (w_in, w_out): (ProjId, ProjId),
        surrogate: Surrogate,
    ) -> Result<Self> {
        let plan = exec::Net::from_network(net, &[input], &[readout], surrogate)
            .map_err(|e| Error::Input(e.to_string()))?;
        let shape = plan.shallow().map_err(Error::Input)?;
        let link = |p: ProjId| plan.link_index(&net.proj(p).name).expect("a projection");
        let links = [link(w_in), link(w_out)];
        Ok(PolicyNet {
            hidden: plan.pops()[shape.hidden].size,
            out: plan.pops()[shape.readout].size,
            exec: plan,
            shape,
            links,
            ids: [input, readout],
        })
    }

    /// The plan again after a structural edit of `net` (the hidden size changed).
    pub fn resized(&mut self, net: &Network) -> Result<()> {
        let plan = exec::Net::from_network(net, &[self.ids[0]], &[self.ids[1]], self.surrogate())
            .map_err(|e| Error::Input(e.to_string()))?;
        self.hidden = plan.pops()[self.shape.hidden].size;
        self.exec = plan;
        Ok(())
    }

    /// The hidden neuron.
    pub fn neuron(&self) -> Neuron {
        self.exec.neuron(self.shape.hidden).expect("hidden neurons")
    }

    /// The surrogate derivative.
    pub fn surrogate(&self) -> Surrogate {
        self.exec.surrogate()
    }

    /// The executor's parameters: `w1` for the input projection, `w2` for the readout's.
    pub fn params<'a>(&self, (w1, w2): (&'a [f64], &'a [f64])) -> Params<'a> {
        let mut weights = vec![&[][..]; self.exec.links().len()];
        weights[self.links[0]] = w1;
        weights[self.links[1]] = w2;
        Params::weights(&self.exec, weights)
    }

    /// One decision: T = `steps` steps from zero state with `inputs` (neuron, value) held on
    /// every step; writes the logits (the mean readout membrane) into `z`.
    pub fn decide(
        &self,
        p: &Params,
        steps: usize,
        inputs: &[(u32, f64)],
        tr: &mut Trace,
        z: &mut [f64],
    ) {
        self.exec.forward_shallow(self.shape, p, steps, inputs, tr);
        self.logits(tr, z);
    }

    /// [`PolicyNet::decide`] that also writes the decision's factors q and ν (see
    /// [`exec::Net::policy_factors`]), in one pass over the hidden neurons
    /// ([`exec::Net::decide_shallow`]); `tr` then holds the hidden spikes but not their
    /// membranes.
    pub fn decide_factored(
        &self,
        p: &Params,
        steps: usize,
        inputs: &[(u32, f64)],
        tr: &mut Trace,
        z: &mut [f64],
        factors: (&mut [f64], &mut [f64]),
    ) {
        self.exec
            .decide_shallow(self.shape, p, steps, inputs, tr, factors);
        self.logits(tr, z);
    }

    /// The logits of the decision in `tr`: its readout membrane averaged over its steps.
    fn logits(&self, tr: &Trace, z: &mut [f64]) {
        let (o, steps) = (self.out, tr.steps);
        z.iter_mut().for_each(|x| *x = 0.0);
        let mem = &tr.pops[self.shape.readout].mem;
        for t in 0..steps {
            for c in 0..o {
                z[c] += mem[t * o + c] / steps as f64;
            }
        }
    }

    /// The hidden spikes of the decision in `tr` (steps × hidden, 0 or 1).
    pub fn hidden_spikes<'t>(&self, tr: &'t Trace) -> &'t [f64] {
        &tr.pops[self.shape.hidden].spk
    }
}
