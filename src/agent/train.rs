//! Training a spiking agent: episodes in batches, REINFORCE-style gradients by BPTT, a gradient
//! rule plugin for the advantages and the optimiser, and the structural policy (growth and
//! pruning of the hidden population) between batches.
//!
//! One decision: the observation's on-values make their input neurons spike on each of the T
//! steps, the hidden layer and the readout run T steps from zero state, the logits are the
//! readout membrane averaged over the T steps, π = softmax(logits), and an action is sampled
//! from π with the episode's own random stream. The backward pass of the decision runs at
//! once, giving ∇log π(a|s) for the two projections; it is kept (sparse: only the active
//! inputs' rows) until the episode ends and its advantages are known.
//!
//! The policy's weights live in the network's projections (all-to-all, so their CSR data is a
//! dense row-major matrix), so growth and pruning are the network's own graph edits.

// Index loops mirror the equations above, over several arrays at once.
#![allow(clippy::needless_range_loop)]

mod batched;
mod record;
mod snapshot;
pub use batched::kernel_layers;
pub use snapshot::network_and_edits;

use super::policy_net::PolicyNet;
use super::setup::{Setup, Wiring};
use crate::error::{Error, Result};
use crate::exec::{transposed, Params, Trace};
use crate::file::{AgentSpec, Checked, Init, TaskSpec};
use crate::graph::{edit::EditOutcome, Network, PopId, ProjId};
use crate::plugin::{self, EnvInstance, Kind, RuleInstance, StructureInstance};
use crate::real::{widen, F64View};
use crate::rng::{stream, Rng};
use crate::width::widest;
use crate::Real;
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use snnsim_plugin_api::abi::GradStepV1;

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpisodeMetrics {
    /// Episode index (0-based).
    pub episode: u64,
    /// Undiscounted return.
    pub ret: f64,
    /// Food eaten: steps whose reward exceeded 0.5.
    pub food: u32,
    /// Decisions taken.
    pub length: u32,
    /// Hidden neurons during the episode.
    pub hidden_size: usize,
    /// Hidden spikes per neuron per simulation step.
    pub avg_firing_rate: f64,
    /// Fraction of hidden neurons whose rate was below the pruning threshold.
    pub sparsity: f64,
    /// Hidden spikes × hidden neurons (the seed's energy estimate).
    pub energy: f64,
    /// Synaptic events (input spikes × fan-out + hidden spikes × fan-out).
    pub synaptic_events: u64,
}

/// One row of `edits.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct EditLog {
    /// Episodes completed when the edit was made.
    pub episode: u64,
    /// `grow`, `prune` or `rewire` (synapses removed and added; `count` is their number).
    pub kind: &'static str,
    /// Neurons added or removed.
    pub count: usize,
    /// Hidden size after the edit.
    pub size_after: usize,
    /// Stable ids added or removed.
    pub ids: Vec<u64>,
}

/// What one episode leaves for the update.
#[derive(Default)]
struct EpisodeBuf {
    rewards: Vec<f64>,
    /// Active inputs of each decision, concatenated; `active_start[t]..active_start[t+1]`.
    active: Vec<u32>,
    active_start: Vec<usize>,
    /// Per decision, the factors of its backward pass (see `Layers::policy_factors`): q and ν
    /// (hidden size each), and ∂log π(a)/∂z and ∂H(π)/∂z (one per action each).
    q: Vec<f64>,
    nu: Vec<f64>,
    dz_logp: Vec<f64>,
    dz_ent: Vec<f64>,
    spikes_per_neuron: Vec<f64>,
    food: u32,
    events: u64,
    steps: u64,
    /// Hidden spikes (step in the episode, neuron), when recorded.
    raster: Vec<(u64, u32)>,
}

impl EpisodeBuf {
    /// An empty buffer for an episode of `h` hidden neurons in `self`'s memory: the buffers of
    /// one batch are the next one's, so an episode's records (q and ν alone are 2 × h values
    /// per decision) do not fault in fresh pages every batch.
    fn reuse(self, h: usize) -> Self {
        let clear = |mut v: Vec<f64>| {
            v.clear();
            v
        };
        let (mut active, mut active_start) = (self.active, self.active_start);
        active.clear();
        active_start.clear();
        active_start.push(0);
        let mut spikes_per_neuron = clear(self.spikes_per_neuron);
        spikes_per_neuron.resize(h, 0.0);
        let mut raster = self.raster;
        raster.clear();
        EpisodeBuf {
            rewards: clear(self.rewards),
            active,
            active_start,
            q: clear(self.q),
            nu: clear(self.nu),
            dz_logp: clear(self.dz_logp),
            dz_ent: clear(self.dz_ent),
            spikes_per_neuron,
            food: 0,
            events: 0,
            steps: 0,
            raster,
        }
    }
}

/// Scratch memory of one decision.
#[derive(Default)]
pub(super) struct Scratch {
    trace: Trace,
    inputs: Vec<(u32, f64)>,
}

impl Scratch {
    /// Holds the input neurons `active` (each at 1.0) for the next decision.
    fn hold(&mut self, active: &[u32]) {
        self.inputs.clear();
        self.inputs.extend(active.iter().map(|&i| (i, 1.0)));
    }
}

/// A spiking agent, its environments and its rule instances.
pub struct Trainer {
    /// The network holding the policy.
    pub net: Network,
    spec: AgentSpec,
    wiring: Wiring,
    envs: Vec<EnvInstance>,
    /// One rule instance per trained projection: input → hidden, hidden → readout.
    rules: Vec<RuleInstance>,
    layers: PolicyNet,
    n_in: usize,
    n_out: usize,
    seed: u64,
    weight_init: [Init; 2],
    /// Episodes completed.
    pub episodes_done: u64,
    updates: u64,
    /// Metrics of every episode so far.
    pub metrics: Vec<EpisodeMetrics>,
    /// Structural edits so far.
    pub edits: Vec<EditLog>,
    /// Hidden spikes of the last episode of the last batch: (step in the episode, neuron).
    pub last_episode_spikes: Vec<(u64, u32)>,
    /// With [`Trainer::record_every_episode`]: the hidden spikes of every episode of the last
    /// batch, in episode order (the last one equals `last_episode_spikes`); empty otherwise.
    pub batch_spikes: Vec<Vec<(u64, u32)>>,
    /// What the run's observers recorded so far (`Observer::save`), kept in checkpoints as it
    /// is given (the trainer does not read it), so that a resumed run's outputs are complete.
    pub observed: Option<Vec<u8>>,
    record_all: bool,
    /// The structural policy (a `structure` plugin), if the task has one.
    structure: Option<StructureInstance>,
    /// Episodes done when each hidden neuron was added (0 for the first ones).
    born: Vec<u64>,
    /// L2 norms of the last update's gradient of each hidden neuron's input and readout
    /// weights.
    grad_norms: [Vec<f64>; 2],
    edit_count: u64,
    /// The last batch's episode buffers, emptied into the next batch's.
    spare: Vec<EpisodeBuf>,
    pool: Option<rayon::ThreadPool>,
    /// The GPU the decisions run on, or `None` for the CPU.
    device: Option<batched::DeviceAgents>,
    /// The ranks a batch's episodes are split over (docs/distributed.md); `None`: this
    /// process alone.
    comm: Option<crate::comm::CommRef>,
}

/// The gradient of a batch of decisions with respect to the input and readout weights, summed
/// decision by decision from each one's ∂L/∂z and factors q and ν (see
/// `exec::Net::policy_factors`): ∂L/∂W2[j,c] += dz_c·q_j into `g2` (h × o, dense), and
/// ∂L/∂W1[i,j] += x_i·u_j·ν_j, u = W2·dz, into the synapses of each input's row (i, x_i) of
/// the input projection (`g1`: one value per synapse; all-to-all, the dense n_in × h matrix).
/// The readout's side is kept transposed (W2 and ∂L/∂W2 as o × h), so every loop runs along
/// the hidden neurons and vectorises; each u_j adds its terms in readout order, as the
/// scalar sum does, and every gradient element its decisions in order.
pub(super) struct DecisionGradient {
    /// ∂L/∂W1, one value per synapse of the input projection.
    g1: Vec<f64>,
    /// ∂L/∂W2 transposed: o × h.
    g2t: Vec<f64>,
    /// W2 transposed: o × h.
    w2t: Vec<f64>,
    /// A decision's u⊙ν.
    v: Vec<f64>,
}

impl DecisionGradient {
    /// Zero gradients for readout weights `w2` (h × o) and an input projection of `synapses`.
    pub fn new(w2: &[f64], (h, o): (usize, usize), synapses: usize) -> Self {
        debug_assert_eq!(w2.len(), h * o);
        DecisionGradient {
            g1: vec![0.0; synapses],
            g2t: vec![0.0; h * o],
            w2t: transposed(w2, o),
            v: vec![0.0; h],
        }
    }

    /// ∂L/∂W1 (per synapse) and ∂L/∂W2 (h × o) of the decisions added.
    pub fn finish(self) -> (Vec<f64>, Vec<f64>) {
        let g2 = transposed(&self.g2t, self.v.len());
        (self.g1, g2)
    }

    /// Adds one decision's gradient: `dz` = ∂L/∂z, its factors, its inputs (i, x_i), and the
    /// CSR structure `(indptr, indices)` of the input projection. Compiled per CPU vector
    /// width.
    pub fn add(
        &mut self,
        dz: &[f64],
        factors: (&[f64], &[f64]),
        inputs: impl Iterator<Item = (u32, f64)>,
        csr: (&[usize], &[u32]),
    ) {
        let DecisionGradient { g1, g2t, w2t, v } = self;
        let (w2t, out) = (&w2t[..], (&mut g1[..], &mut g2t[..], &mut v[..]));
        widest!(fn decision_gradient::<>(
            dz: &[f64],
            factors: (&[f64], &[f64]),
            inputs: impl Iterator<Item = (u32, f64)>,
            csr: (&[usize], &[u32]),
            w2t: &[f64],
            out: (&mut [f64], &mut [f64], &mut [f64])
        ))
    }
}

/// The work of [`DecisionGradient::add`].
#[inline(always)]
fn decision_gradient(
    dz: &[f64],
    (q, nu): (&[f64], &[f64]),
    inputs: impl Iterator<Item = (u32, f64)>,
    (indptr, indices): (&[usize], &[u32]),
    w2t: &[f64],
    (g1, g2t, v): (&mut [f64], &mut [f64], &mut [f64]),
) {
    let h = q.len();
    let (nu, v) = (&nu[..h], &mut v[..h]);
    v.iter_mut().for_each(|u| *u = 0.0);
    for (c, &d) in dz.iter().enumerate() {
        let (g, w) = (&mut g2t[c * h..(c + 1) * h], &w2t[c * h..(c + 1) * h]);
        for j in 0..h {
            g[j] += d * q[j];
            v[j] += w[j] * d;
        }
    }
    for (u, &n) in v.iter_mut().zip(nu) {
        *u *= n;
    }
    for (i, x) in inputs {
        let row = indptr[i as usize]..indptr[i as usize + 1];
        if row.len() == h {
            // Every post neuron, in order: the dense row.
            for (g, vj) in g1[row].iter_mut().zip(&*v) {
                *g += x * vj;
            }
        } else {
            for k in row {
                g1[k] += x * v[indices[k] as usize];
            }
        }
    }
}

/// Update number `*update` of the two trained projections `projs` by their rule instances,
/// with the gradients `grads` and the global norm over both (so that per-projection instances
/// clip consistently); counts it.
pub(super) fn rule_step(
    net: &mut Network,
    rules: &mut [RuleInstance],
    projs: &[ProjId],
    grads: &[&[f64]],
    update: &mut u64,
) -> Result<()> {
    let norm = (grads
        .iter()
        .flat_map(|g| g.iter())
        .map(|x| x * x)
        .sum::<f64>())
    .sqrt();
    for (r, (&pid, g)) in projs.iter().zip(grads).enumerate() {
        let proj = net.proj_mut(pid);
        let (n_pre, n_post) = proj.weights.shape();
        let nnz = proj.nnz();
        let (indptr, indices, data) = proj.weights.parts_mut();
        let (indptr, indices) = (indptr.as_ptr(), indices.as_ptr());
        let mut weights = F64View::new(data);
        let mut ctx = GradStepV1 {
            update: *update,
            n_pre: n_pre as u64,
            n_post: n_post as u64,
            nnz: nnz as u64,
            indptr,
            indices,
            weights: weights.as_mut_ptr(),
            grads: g.as_ptr(),
            global_grad_norm: norm,
        };
        rules[r].on_gradient(&mut ctx)?;
    }
    *update += 1;
    Ok(())
}

/// Samples an action from π (a softmax) with the uniform draw `u` (the last action when
/// rounding leaves `u` past the cumulative sum), and writes ∂log π(a)/∂z = onehot(a) − π and
/// ∂H/∂z_c = −π_c·(log π_c + H), H = −Σ π log π, into `dlogp` and `dent`.
pub(super) fn categorical(pi: &[f64], u: f64, dlogp: &mut [f64], dent: &mut [f64]) -> usize {
    let mut a = pi.len() - 1;
    let mut acc = 0.0;
    for (c, &p) in pi.iter().enumerate() {
        acc += p;
        if u < acc {
            a = c;
            break;
        }
    }
    let ent: f64 = -pi
        .iter()
        .map(|&p| if p > 0.0 { p * p.ln() } else { 0.0 })
        .sum::<f64>();
    for (c, &p) in pi.iter().enumerate() {
        dlogp[c] = f64::from(c == a) - p;
        dent[c] = if p > 0.0 { -p * (p.ln() + ent) } else { 0.0 };
    }
    a
}

/// π = softmax(`z`) into `pi`, then an action drawn from π with one uniform draw of `rng`
/// (see [`categorical`], which writes ∂log π(a)/∂z and ∂H/∂z into `dlogp` and `dent`).
pub fn sample_categorical(
    z: &[f64],
    rng: &mut Rng,
    pi: &mut [f64],
    dlogp: &mut [f64],
    dent: &mut [f64],
) -> usize {
    softmax(z, pi);
    let u: f64 = rng.random();
    categorical(pi, u, dlogp, dent)
}

/// The softmax of `z` into `out` (shifted by the maximum, so it cannot overflow).
pub(super) fn softmax(z: &[f64], out: &mut [f64]) {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    for (o, &x) in out.iter_mut().zip(z) {
        *o = (x - m).exp();
        s += *o;
    }
    for o in out.iter_mut() {
        *o /= s;
    }
}

/// Checks that a foraging agent's environment, encoder and populations fit each other (errors
/// located at the task's field) and returns the policy's layers, sized as the network is now.
pub(super) fn policy_layers(setup: &Setup) -> Result<PolicyNet> {
    let spec = setup.spec;
    let located = |field: &str, err: Error| setup.located(field, err);
    let (envs, wiring, net) = (&setup.envs, setup.wiring, &setup.net);
    let n_in = net.pop(wiring.input).len();
    let n_out = net.pop(wiring.readout).len();
    let obs_len = envs[0].observation_len();
    if spec.encoder.input_len(obs_len) != Some(n_in) {
        return Err(located(
            "input",
            Error::Input(format!(
                "the environment observes {obs_len} values, which the {:?} encoder presents to {} input neurons, but the input population has {n_in}",
                spec.encoder,
                spec.encoder.input_len(obs_len).map_or("no".to_string(), |k| k.to_string())
            )),
        ));
    }
    match envs[0].discrete_actions() {
        Some(k) if k == n_out => {}
        other => {
            return Err(located(
                "readout",
                Error::Input(format!(
                    "the readout has {n_out} neurons but the environment has {} discrete actions",
                    other.map_or("no".to_string(), |k| k.to_string())
                )),
            ))
        }
    }
    policy_net(setup)
}

impl Trainer {
    /// Builds the network of a checked file with an agent task, loads its environment and rule
    /// plugins, and creates `batch` environment instances.
    pub fn new(checked: &Checked) -> Result<Self> {
        let f = &checked.file;
        let Some(TaskSpec::Agent(spec)) = &f.task else {
            return Err(Error::Input("the file has no agent task".into()));
        };
        let setup = Setup::new(checked, spec, "Agent")?;
        let layers = policy_layers(&setup)?;
        let wiring = setup.wiring;
        let n_in = setup.net.pop(wiring.input).len();
        let n_out = setup.net.pop(wiring.readout).len();
        let rules = setup.rules(|_| Ok(()))?;
        let structure = setup.structure()?;
        let Setup { net, envs, .. } = setup;
        let init_of = |pre: &str, post: &str| {
            f.projections
                .iter()
                .find(|p| p.pre == pre && p.post == post)
                .and_then(|p| p.weight.clone())
                .expect("validated weight")
        };
        let h = net.pop(wiring.hidden).len();
        let t = Trainer {
            weight_init: [
                init_of(&spec.input, &spec.hidden),
                init_of(&spec.hidden, &spec.readout),
            ],
            net,
            spec: spec.clone(),
            wiring,
            envs,
            rules,
            layers,
            n_in,
            n_out,
            seed: f.seed,
            episodes_done: 0,
            updates: 0,
            metrics: Vec::new(),
            edits: Vec::new(),
            last_episode_spikes: Vec::new(),
            batch_spikes: Vec::new(),
            observed: None,
            record_all: false,
            structure,
            born: vec![0; h],
            grad_norms: [vec![0.0; h], vec![0.0; h]],
            edit_count: 0,
            spare: Vec::new(),
            pool: None,
            device: None,
            comm: None,
        };
        Ok(t)
    }

    /// Records the hidden spikes of every episode into [`Trainer::batch_spikes`], not only
    /// the last one of each batch (`--record-activity`; it costs a push per spike). Results
    /// do not depend on it.
    pub fn record_every_episode(&mut self, on: bool) {
        self.record_all = on;
    }

    /// Runs the episodes of a batch on `threads` worker threads (default: rayon's global
    /// pool). Results do not depend on it.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        self.pool = Some(super::thread_pool(threads)?);
        Ok(())
    }

    /// Splits each batch's episodes over the ranks of `comm` (docs/distributed.md): every rank
    /// runs a contiguous block of them, the blocks are gathered in rank order, and every rank
    /// then makes the same update from the same episodes in the same order, so the weights,
    /// the rule state and the environments stay those of one process on every rank. Every
    /// rank must call [`batch`](Self::batch) (or [`train`](Self::train)) alike.
    pub fn set_comm(&mut self, comm: crate::comm::CommRef) {
        self.comm = Some(comm);
    }

    /// Where the decisions of the episodes run: the CPU (the reference) or a GPU, which runs
    /// the episodes of a batch in lockstep, one kernel launch per decision of the whole batch.
    /// Results do not depend on it (docs/gpu.md states the tolerance).
    pub fn set_backend(&mut self, backend: &crate::backend::Backend) {
        self.device = match backend {
            crate::backend::Backend::Cpu => None,
            crate::backend::Backend::Gpu(d) => Some(batched::DeviceAgents::new(d.clone())),
        };
    }

    /// Runs the batches as on a GPU (in lockstep, one round of decisions at a time) with the
    /// GPU kernel's own code executed on the host: how a GPU build checks the lockstep driver
    /// on a machine without a device (tests/gpu.rs). `false` in a build without GPU kernels.
    pub fn set_host_twin(&mut self) -> bool {
        self.device = batched::DeviceAgents::host_twin();
        self.device.is_some()
    }

    /// On a GPU (or its host twin): whether a batch whose world has a device version (the
    /// grid world) runs whole on the device in rounds (`true`, the default) or in lockstep
    /// with the environment plugins on the host. Results do not depend on it.
    pub fn set_device_worlds(&mut self, on: bool) {
        if let Some(d) = &mut self.device {
            d.set_worlds(on);
        }
    }

    /// Whether batches have run whole on the device, in rounds (see
    /// [`set_device_worlds`](Self::set_device_worlds)).
    pub fn device_ran_rounds(&self) -> bool {
        self.device.as_ref().is_some_and(|d| d.ran_rounds())
    }

    /// `cpu`, or `gpu: <device name> (<arch>, <platform>)`.
    pub fn device(&self) -> String {
        self.device
            .as_ref()
            .map_or("cpu".to_string(), |d| d.describe())
    }

    /// The agent's settings.
    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// Hidden neurons now.
    pub fn hidden_size(&self) -> usize {
        self.layers.hidden
    }

    /// The logits z of one decision on `obs` with the current weights, computed as an episode
    /// on the CPU computes them.
    pub fn readout(&self, obs: &[f64]) -> Result<Vec<f64>> {
        let want = self.envs[0].observation_len();
        if obs.len() != want {
            return Err(Error::Input(format!(
                "an observation of {} values, but the environment observes {want}",
                obs.len()
            )));
        }
        let learned = "learned weights are per synapse";
        let w = |p: ProjId| widen(self.net.proj(p).weights.per_synapse().expect(learned));
        let (w1, w2) = (w(self.wiring.w_in), w(self.wiring.w_out));
        let mut active = Vec::new();
        self.spec.encoder.active(obs, &mut active);
        let mut z = vec![0.0; self.n_out];
        let mut s = Scratch::default();
        let params = self.layers.params((&w1, &w2));
        decide(&self.spec, &self.layers, &params, &active, &mut s, &mut z);
        Ok(z)
    }

    /// Trains until `episodes` episodes are done in all (a last, partial batch is cut to
    /// size). `progress` is called after every batch.
    pub fn train(&mut self, episodes: u64, mut progress: impl FnMut(&Trainer)) -> Result<()> {
        while self.episodes_done < episodes {
            let b = (self.spec.batch as u64).min(episodes - self.episodes_done) as usize;
            self.batch(b)?;
            progress(self);
        }
        Ok(())
    }

    /// Runs one batch of `b` episodes, updates the weights, then applies the structural policy.
    pub fn batch(&mut self, b: usize) -> Result<()> {
        let (h, o, n_in) = (self.layers.hidden, self.n_out, self.n_in);
        let first = self.episodes_done;
        let (layers, spec, seed) = (&self.layers, &self.spec, self.seed);
        let learned = "learned weights are per synapse";
        let w1 = self.net.proj(self.wiring.w_in).weights.per_synapse();
        let w2 = self.net.proj(self.wiring.w_out).weights.per_synapse();
        let (w1, w2) = (w1.expect(learned), w2.expect(learned));
        debug_assert_eq!(w2.len(), h * o);
        let (w1, w2) = (&*widen(w1), &*widen(w2));
        // On several ranks each runs a contiguous block of the batch's episodes; the blocks,
        // gathered in rank order, are the episodes in order, so everything below sees the
        // same buffers as on one process.
        let comm = self.comm.clone();
        let mine = comm
            .as_ref()
            .map_or(0..b, |c| crate::comm::block(b, c.rank(), c.size()));
        let envs = &mut self.envs[..b];
        let policy = Policy {
            spec,
            layers,
            params: layers.params((w1, w2)),
            w1,
            w2,
            n_in,
            seed,
        };
        let (lo, last) = (mine.start, mine.end == b);
        let record_all = self.record_all;
        let local = if let Some(dev) = &mut self.device {
            let start = first + lo as u64;
            batched::run_batch(
                dev,
                &mut envs[mine],
                start,
                &policy,
                self.pool.as_ref(),
                last,
                record_all,
            )
        } else {
            let mut spare = std::mem::take(&mut self.spare);
            spare.resize_with(b, EpisodeBuf::default);
            let episodes = || -> Vec<Result<EpisodeBuf>> {
                envs[mine.clone()]
                    .par_iter_mut()
                    .zip(&mut spare[mine])
                    .enumerate()
                    .map(|(k, (env, buf))| {
                        let e = lo + k;
                        let record = record_all || e + 1 == b;
                        run_episode(env, first + e as u64, record, &policy, std::mem::take(buf))
                    })
                    .collect()
            };
            let bufs = match &self.pool {
                Some(p) => p.install(episodes),
                None => episodes(),
            };
            bufs.into_iter().collect::<Result<Vec<_>>>()
        };
        let mut bufs = match comm.as_deref() {
            Some(c) if c.size() > 1 => super::distributed::gather_episodes(c, local, envs)?,
            _ => local?,
        };
        if self.record_all {
            self.batch_spikes = bufs
                .iter_mut()
                .map(|e| std::mem::take(&mut e.raster))
                .collect();
            self.last_episode_spikes = self.batch_spikes.last().cloned().unwrap_or_default();
        } else if let Some(last) = bufs.last_mut() {
            self.last_episode_spikes = std::mem::take(&mut last.raster);
        }

        // Advantages: every rule instance sees the same rewards (their baselines stay equal).
        let rewards: Vec<f64> = bufs
            .iter()
            .flat_map(|e| e.rewards.iter().copied())
            .collect();
        let lengths: Vec<u64> = bufs.iter().map(|e| e.rewards.len() as u64).collect();
        let mut adv = vec![0.0; rewards.len()];
        let mut scratch = vec![0.0; rewards.len()];
        for (r, rule) in self.rules.iter_mut().enumerate() {
            let out = if r == 0 { &mut adv } else { &mut scratch };
            rule.advantages(&rewards, &lengths, out)?;
        }

        // ∂L/∂w of L = −(1/B)·Σ A_t·log π(a_t|s_t) − c·(1/B)·Σ H(π_t), decision by decision:
        // ∂L/∂z = −(A/B)·∂log π/∂z − (c/B)·∂H/∂z, then the factored backward pass.
        let w2 = self.net.proj(self.wiring.w_out).weights.per_synapse();
        let w2 = &*widen(w2.expect("learned weights are per synapse"));
        let w_in = &self.net.proj(self.wiring.w_in).weights;
        let csr = (w_in.indptr(), w_in.indices());
        let mut grad = DecisionGradient::new(w2, (h, o), w_in.nnz());
        let scale = 1.0 / b as f64;
        let c_ent = self.spec.entropy_coef;
        let mut dz = vec![0.0; o];
        let mut at = 0;
        for e in &bufs {
            for t in 0..e.rewards.len() {
                for c in 0..o {
                    dz[c] = -adv[at] * scale * e.dz_logp[t * o + c]
                        - c_ent * scale * e.dz_ent[t * o + c];
                }
                at += 1;
                let (q, nu) = (&e.q[t * h..(t + 1) * h], &e.nu[t * h..(t + 1) * h]);
                let active = &e.active[e.active_start[t]..e.active_start[t + 1]];
                let inputs = active.iter().map(|&i| (i, 1.0));
                grad.add(&dz, (q, nu), inputs, csr);
            }
        }
        let (g1, g2) = grad.finish();
        // Per hidden neuron: the norm of its column of ∂L/∂W1 and of its row of ∂L/∂W2.
        let [gn_in, gn_out] = &mut self.grad_norms;
        gn_in.clear();
        gn_in.resize(h, 0.0);
        for (k, g) in g1.iter().enumerate() {
            gn_in[csr.1[k] as usize] += g * g;
        }
        gn_in.iter_mut().for_each(|n| *n = n.sqrt());
        gn_out.clear();
        gn_out.extend(
            g2.chunks_exact(o)
                .map(|r| r.iter().map(|g| g * g).sum::<f64>().sqrt()),
        );
        let projs = [self.wiring.w_in, self.wiring.w_out];
        rule_step(
            &mut self.net,
            &mut self.rules,
            &projs,
            &[&g1, &g2],
            &mut self.updates,
        )?;

        // Metrics and statistics.
        let prune_threshold = self
            .spec
            .structure
            .as_ref()
            .map_or(0.005, |s| s.prune_threshold);
        for (k, e) in bufs.iter().enumerate() {
            let steps = e.steps.max(1) as f64;
            let total: f64 = e.spikes_per_neuron.iter().sum();
            let silent = e
                .spikes_per_neuron
                .iter()
                .filter(|&&s| s / steps < prune_threshold)
                .count();
            self.metrics.push(EpisodeMetrics {
                episode: first + k as u64,
                ret: e.rewards.iter().sum(),
                food: e.food,
                length: e.rewards.len() as u32,
                hidden_size: h,
                avg_firing_rate: total / h as f64 / steps,
                sparsity: silent as f64 / h as f64,
                energy: total * h as f64,
                synaptic_events: e.events,
            });
        }
        self.episodes_done += b as u64;
        if let Some(policy) = &mut self.structure {
            // The batch's activity: whole counts, summed in episode order.
            let mut spikes = vec![0.0; h];
            let mut steps = 0.0;
            for e in &bufs {
                for (s, x) in spikes.iter_mut().zip(&e.spikes_per_neuron) {
                    *s += x;
                }
                steps += e.steps as f64;
            }
            let returns: Vec<f64> = bufs.iter().map(|e| e.rewards.iter().sum()).collect();
            let food: Vec<f64> = bufs.iter().map(|e| f64::from(e.food)).collect();
            policy.observe(&plugin::Activity {
                episodes_done: self.episodes_done,
                spikes: &spikes,
                steps,
                returns: &returns,
                food: &food,
            })?;
        }
        self.spare = bufs;
        self.structural_policy()
    }

    /// Asks the structural policy for edits and applies them, round after round, until it
    /// asks for none (at most [`MAX_ROUNDS`]): removals, then synapse edits, then growth, each
    /// a graph edit that keeps every other weight and state, followed by the policy's
    /// `resize`.
    fn structural_policy(&mut self) -> Result<()> {
        let Some(mut policy) = self.structure.take() else {
            return Ok(());
        };
        let result = self.policy_rounds(&mut policy);
        self.structure = Some(policy);
        result
    }

    fn policy_rounds(&mut self, policy: &mut StructureInstance) -> Result<()> {
        let name = policy.plugin.clone();
        let bad = |msg: String| Error::Plugin {
            plugin: name.clone(),
            kind: plugin::PluginErrorKind::Failed,
            msg,
        };
        for round in 0..MAX_ROUNDS {
            let edits = {
                let view = self.population_view(round);
                policy.decide(&view.view())?
            };
            if edits.is_empty() {
                return Ok(());
            }
            if !edits.remove.is_empty() {
                let ids = &self.net.pop(self.wiring.hidden).neuron_ids;
                let mut order = Vec::with_capacity(edits.remove.len());
                for id in &edits.remove {
                    match ids.iter().position(|x| x == id) {
                        Some(j) => order.push(j),
                        None => return Err(bad(format!("asked to remove neuron id {id}, which the hidden population does not have"))),
                    }
                }
                order.sort_unstable();
                order.dedup();
                if order.len() >= ids.len() {
                    return Err(bad("asked to remove every hidden neuron".into()));
                }
                let out = self
                    .net
                    .prune(self.wiring.hidden, &order, self.seed)
                    .map_err(Error::Run)?;
                self.after_edit(&out, "prune", order.len())?;
                policy.resize(&out.neurons)?;
            }
            if !edits.remove_synapses.is_empty() || !edits.add_synapses.is_empty() {
                self.rewire(&edits).map_err(bad)?;
            }
            if let Some((n, noise)) = edits.grow {
                let room = crate::file::limits::MAX_POPULATION_SIZE - self.layers.hidden;
                if n == 0 || n > room {
                    return Err(bad(format!("asked to grow {n} neurons (room for {room})")));
                }
                let out = self.grow(n, noise)?;
                self.after_edit(&out, "grow", n)?;
                policy.resize(&out.neurons)?;
            }
        }
        Err(bad(format!(
            "still asked for edits after {MAX_ROUNDS} rounds"
        )))
    }

    /// Applies a policy's synapse edits: one batch per projection (in name order), on the input
    /// projection only (the readout's dense rows are the decision's factored gradient); the
    /// input rule instance follows the synapse map.
    fn rewire(&mut self, edits: &plugin::Edits) -> std::result::Result<(), String> {
        use crate::graph::edit::NewSynapse;
        use std::collections::BTreeMap;
        type Batch = (Vec<(u32, u32)>, Vec<NewSynapse>);
        let mut per: BTreeMap<&str, Batch> = BTreeMap::new();
        for (name, pre, post) in &edits.remove_synapses {
            per.entry(name).or_default().0.push((*pre, *post));
        }
        for (name, pre, post, w) in &edits.add_synapses {
            per.entry(name).or_default().1.push(NewSynapse {
                pre: *pre,
                post: *post,
                weight: *w as Real,
                delay: None,
            });
        }
        for (name, (remove, add)) in per {
            let input = self.net.proj(self.wiring.w_in).name.clone();
            if name != input {
                return Err(format!(
                    "asked to edit synapses of `{name}`; an agent's policy may rewire its input projection `{input}` only"
                ));
            }
            let count = remove.len() + add.len();
            let remap = self
                .net
                .edit_synapses(self.wiring.w_in, &remove, &add, 0)
                .map_err(|e| format!("projection `{name}`: {e}"))?;
            let m = remap.to_proj_remap();
            self.rules[0]
                .resize(&m.pre, &m.post, &m.synapses)
                .map_err(|e| e.to_string())?;
            self.layers.resized(&self.net).map_err(|e| e.to_string())?;
            self.edit_count += 1;
            self.edits.push(EditLog {
                episode: self.episodes_done,
                kind: "rewire",
                count,
                size_after: self.layers.hidden,
                ids: Vec::new(),
            });
        }
        Ok(())
    }

    /// What the structural policy sees of the hidden population now.
    fn population_view(&self, round: u32) -> ViewData<'_> {
        let hidden = self.wiring.hidden;
        let pop = self.net.pop(hidden);
        let h = pop.len();
        let mut w_in = vec![0.0; h];
        let mut w_out = vec![0.0; h];
        let mut projections = Vec::new();
        for pid in self.net.proj_ids() {
            let (pre, post) = self.net.endpoints(pid);
            if pre != hidden && post != hidden {
                continue;
            }
            let proj = self.net.proj(pid);
            let w = &proj.weights;
            let values: Vec<f64> = w.expanded().iter().map(|&x| crate::real::wide(x)).collect();
            for i in 0..w.rows() {
                for k in w.row(i) {
                    let x = values[k] * values[k];
                    if post == hidden {
                        w_in[w.indices()[k] as usize] += x;
                    }
                    if pre == hidden {
                        w_out[i] += x;
                    }
                }
            }
            let role = match (pre == hidden, post == hidden) {
                (true, true) => plugin::Role::Recurrent,
                (true, false) => plugin::Role::Outgoing,
                _ => plugin::Role::Incoming,
            };
            projections.push((proj.name.as_str(), role, pid, values));
        }
        w_in.iter_mut()
            .chain(w_out.iter_mut())
            .for_each(|x| *x = x.sqrt());
        let age = self
            .born
            .iter()
            .map(|&b| self.episodes_done.saturating_sub(b))
            .collect();
        ViewData {
            trainer: self,
            round,
            ids: &pop.neuron_ids,
            age,
            w_in,
            w_out,
            projections,
        }
    }

    /// Grows the hidden population by `n` neurons now (the structural policy does this between
    /// batches; exposed for tests and tools).
    pub fn grow_hidden(&mut self, n: usize) -> Result<EditOutcome> {
        let noise = self
            .spec
            .structure
            .clone()
            .unwrap_or_default()
            .new_input_noise_std;
        let out = self.grow(n, noise)?;
        self.after_edit(&out, "grow", n)?;
        if let Some(p) = &mut self.structure {
            p.resize(&out.neurons)?;
        }
        Ok(out)
    }

    /// Removes the hidden neurons at `indices` now.
    pub fn prune_hidden(&mut self, indices: &[usize]) -> Result<EditOutcome> {
        let out = self
            .net
            .prune(self.wiring.hidden, indices, self.seed)
            .map_err(Error::Run)?;
        self.after_edit(&out, "prune", indices.len())?;
        if let Some(p) = &mut self.structure {
            p.resize(&out.neurons)?;
        }
        Ok(out)
    }

    /// Replaces the environments' parameters (RON text), for example to change the food count
    /// for the adaptation measure; the next batch starts new episodes with them.
    pub fn set_environment_params(&mut self, params: &str) -> Result<()> {
        let plugin = plugin::load(
            &self.spec.environment.plugin,
            self.spec
                .environment
                .path
                .as_deref()
                .map(std::path::Path::new),
            Kind::Env,
        )?;
        let envs = (0..self.spec.batch)
            .map(|_| plugin.create_env(params))
            .collect::<Result<Vec<_>>>()?;
        if self.spec.encoder.input_len(envs[0].observation_len()) != Some(self.n_in) {
            return Err(Error::Input(
                "the new environment observes a different size".into(),
            ));
        }
        self.envs = envs;
        Ok(())
    }

    /// Adds `n` hidden neurons: input weights from the input projection's initialiser plus
    /// noise, readout weights from the readout projection's initialiser, with the fan-in of the
    /// grown network.
    fn grow(&mut self, n: usize, noise: f64) -> Result<EditOutcome> {
        let h_new = self.layers.hidden + n;
        let mut rng = stream(self.seed, "grow", &self.spec.hidden, self.edit_count);
        let (w_in_name, w_out_name) = (
            self.net.proj(self.wiring.w_in).name.clone(),
            self.net.proj(self.wiring.w_out).name.clone(),
        );
        let sampler_in = sampler(&self.weight_init[0], self.n_in as f64, h_new as f64);
        let sampler_out = sampler(&self.weight_init[1], h_new as f64, self.n_out as f64);
        let mut weight = |proj: &str, _pre: usize, _post: usize| -> Option<Real> {
            Some(if proj == w_in_name {
                let z: f64 = StandardNormal.sample(&mut rng);
                (sampler_in.sample(&mut rng) + noise * z) as Real
            } else if proj == w_out_name {
                sampler_out.sample(&mut rng) as Real
            } else {
                0.0
            })
        };
        self.net
            .grow(self.wiring.hidden, n, self.seed, &mut weight)
            .map_err(Error::Run)
    }

    /// Brings rule state, statistics and the cached layer sizes in line with an edit.
    fn after_edit(&mut self, out: &EditOutcome, kind: &'static str, count: usize) -> Result<()> {
        self.edit_count += 1;
        for (r, pid) in [self.wiring.w_in, self.wiring.w_out]
            .into_iter()
            .enumerate()
        {
            let name = &self.net.proj(pid).name;
            let m = out
                .projections
                .iter()
                .find(|p| &p.name == name)
                .expect("incident projection remapped");
            self.rules[r].resize(&m.pre, &m.post, &m.synapses)?;
        }
        let remap = |v: &[f64]| crate::models::remap::remap_vec(v, &out.neurons, &0.0);
        for g in &mut self.grad_norms {
            *g = remap(g);
        }
        self.born = crate::models::remap::remap_vec(&self.born, &out.neurons, &self.episodes_done);
        self.layers.resized(&self.net)?;
        self.edits.push(EditLog {
            episode: self.episodes_done,
            kind,
            count,
            size_after: out.size_after,
            ids: out.ids.clone(),
        });
        Ok(())
    }

    /// Growth events so far.
    pub fn growth_events(&self) -> usize {
        self.edits.iter().filter(|e| e.kind == "grow").count()
    }

    /// Pruning events so far.
    pub fn pruning_events(&self) -> usize {
        self.edits.iter().filter(|e| e.kind == "prune").count()
    }

    /// The wiring's population ids (input, hidden, readout).
    pub fn populations(&self) -> (PopId, PopId, PopId) {
        (self.wiring.input, self.wiring.hidden, self.wiring.readout)
    }

    /// Saved state of the rule instances (input projection, readout projection).
    pub fn rule_states(&mut self) -> Result<Vec<Vec<u8>>> {
        self.rules.iter_mut().map(|r| r.save()).collect()
    }
}

/// A value distribution with the fan-based initialisers resolved.
#[derive(Debug, Clone, Copy)]
enum Sampler {
    Constant(f64),
    Uniform(f64, f64),
    Normal(f64, f64),
}

fn sampler(init: &Init, fan_in: f64, fan_out: f64) -> Sampler {
    let (fi, fo) = (fan_in.max(1.0), fan_out.max(1.0));
    let sqrt2 = std::f64::consts::SQRT_2;
    match *init {
        Init::Constant(c) => Sampler::Constant(c),
        Init::Uniform { low, high } => Sampler::Uniform(low, high),
        Init::Normal { mean, std } => Sampler::Normal(mean, std),
        Init::KaimingNormal { gain } => Sampler::Normal(0.0, gain.unwrap_or(sqrt2) / fi.sqrt()),
        Init::KaimingUniform { gain } => {
            let b = gain.unwrap_or(sqrt2) * (3.0 / fi).sqrt();
            Sampler::Uniform(-b, b)
        }
        Init::XavierNormal { gain } => {
            Sampler::Normal(0.0, gain.unwrap_or(1.0) * (2.0 / (fi + fo)).sqrt())
        }
        Init::XavierUniform { gain } => {
            let b = gain.unwrap_or(1.0) * (6.0 / (fi + fo)).sqrt();
            Sampler::Uniform(-b, b)
        }
    }
}

impl Sampler {
    fn sample(&self, rng: &mut Rng) -> f64 {
        match *self {
            Sampler::Constant(c) => c,
            Sampler::Uniform(a, b) => a + (b - a) * rng.random::<f64>(),
            Sampler::Normal(m, s) => {
                let z: f64 = StandardNormal.sample(rng);
                m + s * z
            }
        }
    }
}

/// The policy network of an agent (foraging or control) as the executor runs it, its errors
/// located at the task's `hidden` field.
pub(super) fn policy_net(setup: &Setup) -> Result<PolicyNet> {
    let w = setup.wiring;
    PolicyNet::of(
        &setup.net,
        w.input,
        w.readout,
        (w.w_in, w.w_out),
        setup.spec.surrogate,
    )
    .map_err(|e| setup.located("hidden", e))
}

/// The seed of episode `episode`'s environment reset.
fn episode_seed(seed: u64, episode: u64) -> u64 {
    let mut r = stream(seed, "episode-reset", "", episode);
    r.random()
}

/// One episode in progress: its environment, random stream, observation and buffer. A
/// decision is [`Episode::observe`] (the active inputs), the policy's forward and backward
/// pass (on the CPU or a device), then [`Episode::act`].
struct Episode<'e> {
    env: &'e mut EnvInstance,
    rng: Rng,
    obs: Vec<f64>,
    buf: EpisodeBuf,
    record: bool,
    done: bool,
    pi: Vec<f64>,
}

impl<'e> Episode<'e> {
    /// Resets the environment for episode `episode`.
    fn start(
        env: &'e mut EnvInstance,
        (episode, seed): (u64, u64),
        layers: &PolicyNet,
        record: bool,
        buf: EpisodeBuf,
    ) -> Result<Self> {
        let (h, o) = (layers.hidden, layers.out);
        let mut obs = vec![0.0; env.observation_len()];
        let mut buf = buf.reuse(h);
        let max = 128;
        buf.q.reserve(max * h);
        buf.nu.reserve(max * h);
        env.reset(episode_seed(seed, episode), &mut obs)?;
        Ok(Episode {
            env,
            rng: stream(seed, "episode", "", episode),
            obs,
            buf,
            record,
            done: false,
            pi: vec![0.0; o],
        })
    }

    /// The active inputs of the next decision (kept for the update).
    fn observe(&mut self, spec: &AgentSpec) -> &[u32] {
        let start = self.buf.active.len();
        spec.encoder.active(&self.obs, &mut self.buf.active);
        self.buf.active_start.push(self.buf.active.len());
        &self.buf.active[start..]
    }

    /// Room for this decision's q and ν (see `Layers::policy_factors`), `h` values each.
    fn factors(&mut self, h: usize) -> (&mut [f64], &mut [f64]) {
        let base = self.buf.q.len();
        self.buf.q.resize(base + h, 0.0);
        self.buf.nu.resize(base + h, 0.0);
        (&mut self.buf.q[base..], &mut self.buf.nu[base..])
    }

    /// Ends the decision whose logits are `z`, whose hidden neuron j spiked `counts(j)` times
    /// (`spiked(t, j)`: whether neuron j spiked at step t, read only when recording): samples
    /// the action from π = softmax(z) with the episode's stream, keeps ∂log π(a)/∂z and
    /// ∂H/∂z, and steps the environment.
    fn act(
        &mut self,
        layers: &PolicyNet,
        steps: usize,
        z: &[f64],
        counts: impl Fn(usize) -> f64,
        spiked: impl Fn(usize, usize) -> bool,
    ) -> Result<()> {
        let (h, o) = (layers.hidden, layers.out);
        let buf = &mut self.buf;
        let n_active = buf.active_start[buf.active_start.len() - 1]
            - buf.active_start[buf.active_start.len() - 2];
        let d = buf.dz_logp.len();
        buf.dz_logp.resize(d + o, 0.0);
        buf.dz_ent.resize(d + o, 0.0);
        let (dlogp, dent) = (&mut buf.dz_logp[d..], &mut buf.dz_ent[d..]);
        let a = sample_categorical(z, &mut self.rng, &mut self.pi, dlogp, dent);
        // Whole counts: their sums in f64 are exact in any order, so the total is summed in
        // four independent lanes.
        let mut lanes = [0.0; 4];
        for (j, s) in buf.spikes_per_neuron[..h].iter_mut().enumerate() {
            let c = counts(j);
            *s += c;
            lanes[j % 4] += c;
        }
        let hidden_spikes = lanes.iter().sum::<f64>() as u64;
        if self.record {
            for t in 0..steps {
                for j in 0..h {
                    if spiked(t, j) {
                        buf.raster.push((buf.steps + t as u64, j as u32));
                    }
                }
            }
        }
        buf.steps += steps as u64;
        buf.events += (steps * n_active * h) as u64 + hidden_spikes * o as u64;
        let tr = self.env.step(&[a as f64], &mut self.obs)?;
        buf.rewards.push(tr.reward);
        if tr.reward > 0.5 {
            buf.food += 1;
        }
        self.done = tr.terminated || tr.truncated;
        Ok(())
    }
}

/// What the episodes of a batch share: the settings, the network, the weights (input → hidden
/// and hidden → readout, row-major; `params` holds the same slices for the executor) and the
/// root seed.
pub(super) struct Policy<'a> {
    spec: &'a AgentSpec,
    layers: &'a PolicyNet,
    params: Params<'a>,
    w1: &'a [f64],
    w2: &'a [f64],
    n_in: usize,
    seed: u64,
}

/// Runs the T steps of one decision (from zero state) on the CPU, the inputs `active` spiking
/// on each, and writes the logits z (the readout membrane averaged over the T steps) into `z`.
pub(super) fn decide(
    spec: &AgentSpec,
    layers: &PolicyNet,
    params: &Params,
    active: &[u32],
    s: &mut Scratch,
    z: &mut [f64],
) {
    s.hold(active);
    layers.decide(params, spec.decision_steps, &s.inputs, &mut s.trace, z);
}

/// One episode with fixed weights, on the CPU: decisions until the environment ends it.
fn run_episode(
    env: &mut EnvInstance,
    episode: u64,
    record: bool,
    p: &Policy,
    buf: EpisodeBuf,
) -> Result<EpisodeBuf> {
    let (spec, layers) = (p.spec, p.layers);
    let (h, o, steps) = (layers.hidden, layers.out, spec.decision_steps);
    let mut ep = Episode::start(env, (episode, p.seed), layers, record, buf)?;
    debug_assert_eq!(spec.encoder.input_len(ep.obs.len()), Some(p.n_in));
    let mut s = Scratch::default();
    let mut z = vec![0.0; o];
    let mut counts = vec![0.0; h];
    while !ep.done {
        s.hold(ep.observe(spec));
        let factors = ep.factors(h);
        layers.decide_factored(&p.params, steps, &s.inputs, &mut s.trace, &mut z, factors);
        let spk = layers.hidden_spikes(&s.trace);
        count_spikes(spk, &mut counts);
        ep.act(
            layers,
            steps,
            &z,
            |j| counts[j],
            |t, j| spk[t * h + j] != 0.0,
        )?;
    }
    Ok(ep.buf)
}

/// Each hidden neuron's spikes in a decision (`spk`: steps × h, 0 or 1) into `counts` (h),
/// summed over the steps in order; compiled per CPU vector width.
fn count_spikes(spk: &[f64], counts: &mut [f64]) {
    widest!(fn count_spikes_body::<>(spk: &[f64], counts: &mut [f64]))
}

/// The work of [`count_spikes`].
#[inline(always)]
fn count_spikes_body(spk: &[f64], counts: &mut [f64]) {
    counts.iter_mut().for_each(|n| *n = 0.0);
    for row in spk.chunks_exact(counts.len()) {
        for (c, &s) in counts.iter_mut().zip(row) {
            *c += s;
        }
    }
}

/// Rounds of edits a structural policy may ask for in one check.
pub const MAX_ROUNDS: u32 = 8;

/// The data behind a [`plugin::Population`] view of the hidden population.
struct ViewData<'t> {
    trainer: &'t Trainer,
    round: u32,
    ids: &'t [u64],
    age: Vec<u64>,
    w_in: Vec<f64>,
    w_out: Vec<f64>,
    /// (name, role, id, weights in f64) of each incident projection.
    projections: Vec<(&'t str, plugin::Role, ProjId, Vec<f64>)>,
}

impl ViewData<'_> {
    fn view(&self) -> plugin::Population<'_> {
        let t = self.trainer;
        plugin::Population {
            episodes_done: t.episodes_done,
            round: self.round,
            ids: self.ids,
            age: &self.age,
            w_in_norm: &self.w_in,
            w_out_norm: &self.w_out,
            grad_in_norm: &t.grad_norms[0],
            grad_out_norm: &t.grad_norms[1],
            projections: self
                .projections
                .iter()
                .map(|(name, role, pid, values)| {
                    let w = &t.net.proj(*pid).weights;
                    let (n_pre, n_post) = w.shape();
                    plugin::ProjView {
                        name,
                        role: *role,
                        n_pre,
                        n_post,
                        indptr: w.indptr(),
                        indices: w.indices(),
                        weights: values,
                    }
                })
                .collect(),
        }
    }
}
