//! The executor's plan of a network: its populations in step order, each an input or a
//! population of trainable neurons, and its projections as links, each feed-forward (acting
//! within the step) or recurrent (acting one step later), each dense or sparse. It holds only
//! structure; the weights and biases are passed to every call ([`super::Params`]), so a plan
//! made from a [`Network`] reads the network's own weight arrays and is made again only when
//! the structure changes (growth, pruning).
//!
//! Step order is the order in which the populations were added (a graph file's order). A
//! projection to a later population acts within the step (snnTorch's layer after layer); one
//! to the same or an earlier population closes a cycle and acts with one step of delay
//! (snnTorch's `RLeaky`/`RSynaptic`: the spikes of step t − 1). Delays written in the graph
//! file are the engine's and are not used here: training follows snnTorch's discrete
//! semantics.

use super::neuron::{Model, Neuron};
use crate::graph::{Network, PopId};
use std::fmt;

/// What a population is to the executor.
#[derive(Debug, Clone, PartialEq)]
pub enum PopKind {
    /// Given values each step (spikes, or real values), not stepped.
    Input,
    /// Neurons stepped by their model.
    Neurons(Neuron),
}

/// One population of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Pop {
    /// Name (the graph file's).
    pub name: String,
    /// Neurons.
    pub size: usize,
    /// Input or neurons.
    pub kind: PopKind,
}

/// How a link's weights are laid out in the slice passed for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// Every pair, row-major by presynaptic neuron (n_pre × n_post).
    Dense,
    /// CSR by presynaptic neuron: row i's synapses are `indptr[i]..indptr[i + 1]`, their
    /// postsynaptic neurons `indices` (ascending within a row).
    Sparse {
        /// Row pointers, n_pre + 1.
        indptr: Vec<usize>,
        /// Postsynaptic neuron of each synapse.
        indices: Vec<u32>,
    },
}

/// One projection of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// Name (the graph file's).
    pub name: String,
    /// Presynaptic population (index into [`Net::pops`]).
    pub pre: usize,
    /// Postsynaptic population.
    pub post: usize,
    /// Acts one step later (closes a cycle) instead of within the step.
    pub recurrent: bool,
    /// Weight layout.
    pub storage: Storage,
}

impl Link {
    /// Number of weights.
    pub fn len(&self, pops: &[Pop]) -> usize {
        match &self.storage {
            Storage::Dense => pops[self.pre].size * pops[self.post].size,
            Storage::Sparse { indices, .. } => indices.len(),
        }
    }
}

/// A plan that cannot be run, naming the population or projection.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError {
    /// `population \`x\`` or `projection \`y\``.
    pub what: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.reason)
    }
}

impl std::error::Error for PlanError {}

/// A network as the executor runs it: populations in step order, links, and which
/// populations are readouts (their membrane is an output the loss may depend on).
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    pops: Vec<Pop>,
    links: Vec<Link>,
    readouts: Vec<usize>,
    inputs: Vec<usize>,
    /// Per population, its incoming links (in link order).
    into: Vec<Vec<usize>>,
    /// Per population, its outgoing links (in link order).
    out_of: Vec<Vec<usize>>,
    surrogate: super::Surrogate,
}

impl Net {
    /// A plan from its parts; `readouts` index `pops`. Checks that every link joins existing
    /// populations, enters no input, is recurrent exactly when it does not go forward in the
    /// order, and that sparse layouts fit the sizes.
    pub fn new(
        pops: Vec<Pop>,
        links: Vec<Link>,
        readouts: Vec<usize>,
        surrogate: super::Surrogate,
    ) -> Result<Self, PlanError> {
        let n = pops.len();
        let mut into = vec![Vec::new(); n];
        let mut out_of = vec![Vec::new(); n];
        for (k, l) in links.iter().enumerate() {
            let err = |reason: String| PlanError {
                what: format!("projection `{}`", l.name),
                reason,
            };
            if l.pre >= n || l.post >= n {
                return Err(err("joins a population that is not in the plan".into()));
            }
            if pops[l.post].kind == PopKind::Input {
                return Err(err(format!(
                    "targets `{}`, which is an input",
                    pops[l.post].name
                )));
            }
            if l.recurrent != (l.pre >= l.post) {
                return Err(err(
                    "is recurrent exactly when it goes to the same or an earlier population".into(),
                ));
            }
            if let Storage::Sparse { indptr, indices } = &l.storage {
                let ok = indptr.len() == pops[l.pre].size + 1
                    && indptr.first() == Some(&0)
                    && indptr.windows(2).all(|w| w[0] <= w[1])
                    && indptr.last() == Some(&indices.len())
                    && indices.iter().all(|&j| (j as usize) < pops[l.post].size);
                if !ok {
                    return Err(err("has a sparse layout that does not fit its sizes".into()));
                }
            }
            into[l.post].push(k);
            out_of[l.pre].push(k);
        }
        for &r in &readouts {
            if r >= n || pops[r].kind == PopKind::Input {
                return Err(PlanError {
                    what: format!("population {r}"),
                    reason: "a readout must be a population of neurons".into(),
                });
            }
            if matches!(pops[r].kind, PopKind::Neurons(nr) if nr.model.adaptive()) {
                return Err(PlanError {
                    what: format!("population `{}`", pops[r].name),
                    reason: "a readout's membrane is the output; an Alif (adaptive threshold) readout has no meaning here, use Lif or Synaptic".into(),
                });
            }
        }
        let inputs = (0..n).filter(|&p| pops[p].kind == PopKind::Input).collect();
        Ok(Net {
            pops,
            links,
            readouts,
            inputs,
            into,
            out_of,
            surrogate,
        })
    }

    /// The plan of a built network: `inputs` are given values each step, `readouts` are the
    /// outputs, every other population must be a trainable model. All-to-all projections are
    /// dense, the others sparse.
    pub fn from_network(
        net: &Network,
        inputs: &[PopId],
        readouts: &[PopId],
        surrogate: super::Surrogate,
    ) -> Result<Self, PlanError> {
        let ids = net.pop_ids_in_order();
        let index = |id: PopId| ids.iter().position(|&x| x == id);
        let mut pops = Vec::with_capacity(ids.len());
        for &id in &ids {
            let p = net.pop(id);
            let kind = if inputs.contains(&id) {
                PopKind::Input
            } else {
                PopKind::Neurons(Neuron::of(&p.dynamics).map_err(|reason| PlanError {
                    what: format!("population `{}`", p.name),
                    reason,
                })?)
            };
            pops.push(Pop {
                name: p.name.clone(),
                size: p.len(),
                kind,
            });
        }
        let mut links = Vec::new();
        for pid in net.proj_ids() {
            let (a, b) = net.endpoints(pid);
            let (pre, post) = (index(a).expect("live"), index(b).expect("live"));
            let w = &net.proj(pid).weights;
            let (n_pre, n_post) = w.shape();
            let storage = if w.nnz() == n_pre * n_post {
                // Every pair once, columns ascending: the CSR data is the dense matrix.
                Storage::Dense
            } else {
                Storage::Sparse {
                    indptr: w.indptr().to_vec(),
                    indices: w.indices().to_vec(),
                }
            };
            links.push(Link {
                name: net.proj(pid).name.clone(),
                pre,
                post,
                recurrent: pre >= post,
                storage,
            });
        }
        let readouts = readouts
            .iter()
            .map(|&r| index(r).expect("live population"))
            .collect();
        Net::new(pops, links, readouts, surrogate)
    }

    /// A feed-forward chain of dense links: an input population `in` of `n_in` neurons, then
    /// each of `layers` (name, size, neuron) in order, joined by links `w1`, `w2`, …; the
    /// last layer is the readout. The shape of a network written in code in a few lines.
    pub fn chain(
        n_in: usize,
        layers: &[(&str, usize, Neuron)],
        surrogate: super::Surrogate,
    ) -> Result<Self, PlanError> {
        let mut pops = vec![Pop {
            name: "in".into(),
            size: n_in,
            kind: PopKind::Input,
        }];
        pops.extend(layers.iter().map(|&(name, size, neuron)| Pop {
            name: name.into(),
            size,
            kind: PopKind::Neurons(neuron),
        }));
        let links = (1..pops.len())
            .map(|k| Link {
                name: format!("w{k}"),
                pre: k - 1,
                post: k,
                recurrent: false,
                storage: Storage::Dense,
            })
            .collect();
        let readout = pops.len() - 1;
        Net::new(pops, links, vec![readout], surrogate)
    }

    /// The same plan with the populations `which` made ReLU units ([`Neuron::relu`]): the
    /// dense network of the same architecture (sizes, links, readouts). Inputs stay inputs.
    pub fn with_relu(mut self, which: &[usize]) -> Self {
        for &q in which {
            if let PopKind::Neurons(n) = &mut self.pops[q].kind {
                *n = Neuron::relu();
            }
        }
        self
    }

    /// Populations in step order.
    pub fn pops(&self) -> &[Pop] {
        &self.pops
    }

    /// Links (projections).
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The readouts (indices into [`Net::pops`]), in the order their gradients are passed.
    pub fn readouts(&self) -> &[usize] {
        &self.readouts
    }

    /// The input populations, in the order their values are passed.
    pub fn inputs(&self) -> &[usize] {
        &self.inputs
    }

    /// The population named `name`.
    pub fn pop_index(&self, name: &str) -> Option<usize> {
        self.pops.iter().position(|p| p.name == name)
    }

    /// The link named `name`.
    pub fn link_index(&self, name: &str) -> Option<usize> {
        self.links.iter().position(|l| l.name == name)
    }

    /// The links into population `p`.
    pub fn into(&self, p: usize) -> &[usize] {
        &self.into[p]
    }

    /// The links out of population `p`.
    pub fn out_of(&self, p: usize) -> &[usize] {
        &self.out_of[p]
    }

    /// The surrogate derivative of the spikes.
    pub fn surrogate(&self) -> super::Surrogate {
        self.surrogate
    }

    /// The neuron of population `p`, `None` for an input.
    pub fn neuron(&self, p: usize) -> Option<Neuron> {
        match self.pops[p].kind {
            PopKind::Input => None,
            PopKind::Neurons(n) => Some(n),
        }
    }

    /// The model's decays of population `p` as the per-neuron values of
    /// [`super::Params::decays`] (β of every neuron, then α for `Synaptic`): where learned
    /// decays start. `None` for an input or a model whose decays are not learned (`Alpha`).
    pub fn initial_decays(&self, p: usize) -> Option<Vec<f64>> {
        let n = self.pops[p].size;
        match self.neuron(p)?.model {
            Model::Leaky { beta } => Some(vec![beta; n]),
            Model::Synaptic { alpha, beta } => Some([vec![beta; n], vec![alpha; n]].concat()),
            Model::Alpha { .. } | Model::Alif { .. } | Model::Relu => None,
        }
    }

    /// `decays.csv` of learned decays (one slot per population, `None` where not learned):
    /// a header `population,neuron,beta,alpha`, then one row per neuron, reals written
    /// exactly (shortest round-trip form); `alpha` is empty for a `Leaky` population.
    pub fn decays_csv(&self, decays: &[Option<Vec<f64>>]) -> String {
        let mut out = String::from("population,neuron,beta,alpha\n");
        for (q, d) in decays.iter().enumerate() {
            let Some(d) = d else { continue };
            let n = self.pops[q].size;
            for j in 0..n {
                let alpha = d.get(n + j).map_or(String::new(), |a| format!("{a:?}"));
                out.push_str(&format!("{},{j},{:?},{alpha}\n", self.pops[q].name, d[j]));
            }
        }
        out
    }
}

/// Keeps learned decays in [0, 1], the range snnTorch clamps them to in its forward pass
/// (`beta.clamp(0, 1)`): applied after every optimiser step, so that the forward pass, which
/// reads the values as they are, and its gradient are snnTorch's on the clamped values.
pub fn clamp_decays(d: &mut [f64]) {
    for x in d {
        *x = x.clamp(0.0, 1.0);
    }
}
