//! The engine: owns a network and advances it one step at a time, in a fixed stage order
//! (written on [`Engine::step`] and checked by a test).
//!
//! Neuron state is updated clock-driven over dense columns; spikes propagate event-driven:
//! only neurons that spiked walk their CSR rows. Parallel work is split into fixed pieces —
//! chunks of neurons for the update, ranges of target neurons for propagation
//! ([`propagate`]) — with one writer per value and sums in a fixed order, so the same file
//! and seed give the same spikes on any number of threads.

mod distributed;
mod edit;
pub mod hash;
mod poisson_input;
pub mod propagate;
mod snapshot;
mod structure;

pub use distributed::ExchangeStats;
pub use structure::SynapseEditLog;

use crate::error::Result;
use crate::file::{Checked, RecorderSpec, StimulusSpec};
use crate::graph::{InputRing, Network, PopId, ProjId};
use crate::models::StepCtx;
use crate::monitor::{SpikeRecorder, StateRecorder};
use crate::plugin::{self, Kind, RuleInstance};
use crate::Real;
use rayon::prelude::*;
use snnsim_plugin_api::abi::{ProjShapeV1, RuleStepV1};

/// The stages of one step, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Stimuli and environments write their input for this step.
    Sense,
    /// Each population takes the synaptic input due now from its delay rings.
    Deliver,
    /// Each population integrates; threshold, reset and refractoriness; spike lists.
    Integrate,
    /// Each spike walks its CSR rows into the delay rings of its targets.
    Propagate,
    /// Learning rules (traces, weight updates).
    Plasticity,
    /// Recorders, metrics and checkers read the network.
    Observe,
    /// Structural edits (growth, pruning), applied as one batch.
    Structure,
    /// Checkpoints at their interval.
    Checkpoint,
    /// The clock moves to the next step.
    Advance,
}

/// Where a hook is called: the step about to complete.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    /// Step index n (the step covers [n·dt, (n+1)·dt)).
    pub step: u64,
    /// Time step (ms).
    pub dt_ms: f64,
}

/// Code that runs at the plasticity, observe, structural-edit and checkpoint stages of every
/// step. All methods default to doing nothing. `enter` is called as each stage begins.
/// A hook that fails stops the run at the end of the stage with its error.
pub trait StepHook: Send {
    /// A stage begins.
    fn enter(&mut self, _stage: Stage, _info: StepInfo) {}
    /// Learning rules may change weights and traces.
    fn plasticity(&mut self, _net: &mut Network, _info: StepInfo) -> Result<()> {
        Ok(())
    }
    /// Read-only view after propagation.
    fn observe(&mut self, _net: &Network, _info: StepInfo) -> Result<()> {
        Ok(())
    }
    /// The only place where the structure may change.
    fn structure(&mut self, _net: &mut Network, _info: StepInfo) -> Result<()> {
        Ok(())
    }
    /// Checkpoints.
    fn checkpoint(&mut self, _net: &Network, _info: StepInfo) -> Result<()> {
        Ok(())
    }
}

/// A learning-rule plugin instance bound to the projection it trains.
#[derive(Debug)]
struct RuleBinding {
    proj: ProjId,
    pre: PopId,
    post: PopId,
    instance: RuleInstance,
    /// The plugin and its parameters, for a second instance of the whole projection (rank 0
    /// of a split simulation merges the blocks' states into one to checkpoint it).
    plugin: plugin::LoadedPlugin,
    params: String,
}

/// A constant current switched on and off at given steps.
#[derive(Debug, Clone)]
struct Dc {
    pop: PopId,
    amplitude: Real,
    start: u64,
    stop: Option<u64>,
    neurons: Option<Vec<usize>>,
}

/// A network, its clock, its stimuli and recorders.
pub struct Engine {
    /// The network.
    pub net: Network,
    /// Index of the next step to compute.
    pub step: u64,
    /// Time step (ms).
    pub dt_ms: f64,
    /// The run's root seed (what structural policies are told).
    pub seed: u64,
    /// Synaptic events (spike × synapse) delivered so far.
    pub synaptic_events: u64,
    /// Spike recorder.
    pub spikes: SpikeRecorder,
    /// State recorders.
    pub states: Vec<StateRecorder>,
    /// Projections whose final weights are written to `weights.csv`.
    pub weights: Vec<String>,
    dc: Vec<Dc>,
    poisson: Vec<poisson_input::PoissonInput>,
    rules: Vec<RuleBinding>,
    structure: Vec<structure::StructureBinding>,
    /// Synapse edits applied by the file's structural policies, in order (`edits.csv`).
    pub edit_log: Vec<SynapseEditLog>,
    hooks: Vec<Box<dyn StepHook>>,
    /// Set when a step failed: the state is then partly advanced, so the engine refuses to
    /// go on.
    failed: Option<String>,
    /// Populations and incoming projections of the current structure, in name order.
    plan: Plan,
    /// Rings taken out during propagation (kept to reuse the allocation).
    rings: Vec<Target>,
    /// This rank's share when the simulation is split across ranks ([`Engine::distribute`]).
    part: Option<distributed::Partition>,
    /// Split with learning rules: each rule's postsynaptic membrane after each update whose
    /// step waits for the exchange (the rules run when it is propagated).
    pending_v: std::collections::VecDeque<(u64, Vec<Option<Vec<f64>>>)>,
    /// Built as one rank's part ([`Engine::from_file_on`]): (rank, ranks). Its projections
    /// hold only the synapses into the rank's blocks until [`Engine::distribute`].
    built_for: Option<(usize, usize)>,
}

/// What the step loops over, computed once per structure (not per step): population ids in
/// update order (name order, except that a population comes after the sources of its
/// zero-delay projections), per population its zero-delay projections out, and, per
/// population with incoming delayed projections of spikes, those projections in name order
/// with their presynaptic populations.
#[derive(Debug, Default)]
struct Plan {
    /// (generation, populations, projections) of the network it was made for.
    key: Option<(u64, usize, usize)>,
    /// Input is never added straight into synaptic variables (see
    /// [`Engine::set_direct_input`]).
    rings_only: bool,
    /// Populations that always read their rings (targets of Poisson inputs, which add to
    /// the delivered input).
    rings_for: Vec<PopId>,
    /// Populations in update order.
    pops: Vec<PopId>,
    /// Per population of `pops`: its zero-delay projections, delivered into their targets'
    /// due buffers right after its update.
    now: Vec<Vec<Edge>>,
    /// Delayed projections from graded (`Values`) populations and delayed convolution or
    /// pooling projections, in name order: walked one by one after the spiking CSR ones at
    /// the propagation stage.
    graded: Vec<Edge>,
    /// Per population of `pops`: whether all its input goes straight into its synaptic
    /// variables, so that (once [`Plan::lean_from`] is reached) its delay rings stay empty and
    /// its update need not read them.
    lean: Vec<bool>,
    posts: Vec<Post>,
    /// The first step at which lean populations skip their rings: until then, the rings are
    /// delivered as usual, which empties what an earlier structure (or a checkpoint, or the
    /// GPU backend) left in them.
    lean_from: u64,
}

/// A population with incoming projections.
#[derive(Debug)]
struct Post {
    pop: PopId,
    /// Incoming projections in name order.
    incoming: Vec<Incoming>,
    /// The population takes input straight into its synaptic variables.
    direct: bool,
}

/// A projection that the step walks on its own (zero delay, or from a graded population).
#[derive(Debug, Clone, Copy)]
struct Edge {
    proj: ProjId,
    pre: PopId,
    post: PopId,
}

/// An incoming projection.
#[derive(Debug, Clone, Copy)]
struct Incoming {
    proj: ProjId,
    pre: PopId,
    /// Its spikes are added straight into the target's synaptic variables: the target takes
    /// direct input and the delay is one step (the ring slot it would fill is the next one
    /// delivered, into the same variables, before anything reads them).
    direct: bool,
}

impl Plan {
    fn key(net: &Network) -> (u64, usize, usize) {
        (
            net.generation,
            net.population_count(),
            net.projection_count(),
        )
    }

    /// Recomputes the plan if the network's structure changed since it was made; `step` is
    /// the step about to be computed.
    fn refresh(&mut self, net: &Network, step: u64) {
        let key = Self::key(net);
        if self.key == Some(key) {
            return;
        }
        self.pops = update_order(net);
        let takes_direct = |id: PopId| {
            !self.rings_only
                && !self.rings_for.contains(&id)
                && net.pop(id).dynamics.direct_inputs()
        };
        let zero = |pid: ProjId| net.proj(pid).delays == crate::graph::Delays::Uniform(0);
        let graded = |pre: PopId| net.pop(pre).dynamics.graded().is_some();
        let kernel = |pid: ProjId| net.proj(pid).kernel.is_some();
        self.now = vec![Vec::new(); self.pops.len()];
        self.graded.clear();
        let position: std::collections::HashMap<PopId, usize> = self
            .pops
            .iter()
            .enumerate()
            .map(|(k, &id)| (id, k))
            .collect();
        self.posts = self
            .pops
            .iter()
            .map(|&post| {
                let direct = takes_direct(post);
                let incoming = net
                    .incoming(post)
                    .into_iter()
                    .map(|pid| {
                        let pre = net.endpoints(pid).0;
                        Incoming {
                            proj: pid,
                            pre,
                            direct: direct
                                && !graded(pre)
                                && !kernel(pid)
                                && net.proj(pid).delays == crate::graph::Delays::Uniform(1),
                        }
                    })
                    .collect::<Vec<_>>();
                Post {
                    pop: post,
                    incoming,
                    direct,
                }
            })
            .collect();
        // Zero-delay and graded projections leave the lists that the propagation stage walks
        // (after `lean` is known: their targets read the due buffers).
        let mut lean_of = std::collections::HashMap::new();
        for p in &mut self.posts {
            lean_of.insert(
                p.pop,
                takes_direct(p.pop) && p.incoming.iter().all(|i| i.direct),
            );
            p.incoming.retain(|i| {
                let edge = Edge {
                    proj: i.proj,
                    pre: i.pre,
                    post: p.pop,
                };
                if zero(i.proj) {
                    self.now[position[&i.pre]].push(edge);
                    false
                } else if graded(i.pre) || kernel(i.proj) {
                    self.graded.push(edge);
                    false
                } else {
                    true
                }
            });
        }
        self.posts.retain(|p| !p.incoming.is_empty());
        let name = |e: &Edge| net.proj(e.proj).name.clone();
        self.graded.sort_by_key(name);
        for list in &mut self.now {
            list.sort_by_key(name);
        }
        self.lean = self
            .pops
            .iter()
            .map(|&id| {
                lean_of
                    .get(&id)
                    .copied()
                    .unwrap_or_else(|| takes_direct(id))
            })
            .collect();
        let longest = self
            .pops
            .iter()
            .map(|&id| net.pop(id).input.len as u64)
            .max()
            .unwrap_or(0);
        self.lean_from = step + longest;
        self.key = Some(key);
    }
}

impl Engine {
    /// An engine over `net` with time step `dt_ms`, no stimuli and no recorders.
    pub fn new(net: Network, dt_ms: f64) -> Self {
        Engine {
            net,
            step: 0,
            dt_ms,
            seed: 0,
            synaptic_events: 0,
            spikes: SpikeRecorder::default(),
            states: Vec::new(),
            weights: Vec::new(),
            dc: Vec::new(),
            poisson: Vec::new(),
            rules: Vec::new(),
            structure: Vec::new(),
            edit_log: Vec::new(),
            hooks: Vec::new(),
            failed: None,
            plan: Plan::default(),
            rings: Vec::new(),
            part: None,
            pending_v: Default::default(),
            built_for: None,
        }
    }

    /// Splits the simulation across the ranks of `comm` (docs/distributed.md; called on every
    /// rank after the build and any resume): each rank keeps a block of every population and
    /// the synapses into it, and the ranks exchange their spikes after every update. One
    /// rank: nothing changes. What cannot be split yet is refused with the reason (bad input).
    pub fn distribute(&mut self, comm: crate::comm::CommRef) -> Result<()> {
        if let Some((_, r)) = self.built_for.filter(|&(_, r)| r != comm.size()) {
            return Err(crate::Error::Run(format!(
                "a network built for {r} ranks cannot be split across {}",
                comm.size()
            )));
        }
        if comm.size() > 1 {
            self.part = Some(distributed::Partition::split(self, comm)?);
        }
        Ok(())
    }

    /// Why this engine could not be split across ranks, if it could not.
    pub fn not_distributable(&self) -> Option<String> {
        distributed::check(self)
    }

    /// The ranks the simulation is split across (1 when it is not).
    pub fn ranks(&self) -> usize {
        self.part.as_ref().map_or(1, |p| p.comm().size())
    }

    /// Collective in a split simulation: brings every rank's state into rank 0's whole
    /// network, which [`Engine::whole_net`], [`Engine::state_hash`] and
    /// [`Engine::total_synaptic_events`] then read. Nothing to do on one rank.
    pub fn gather(&mut self) -> Result<()> {
        self.flush()?;
        if let Some(p) = &mut self.part {
            p.gather(&self.net, self.synaptic_events)?;
            if p.is_lean() {
                // Rank 0 holds no synapses: the hash streams them from the ranks, and the
                // projections come whole only for the weight outputs.
                if !self.weights.is_empty() {
                    p.fill(&self.net)?;
                }
                p.stream_hash(&self.net, self.step)?;
            }
        }
        Ok(())
    }

    /// Collective in a split simulation: exchanges the spikes of an interval not yet
    /// exchanged (a run that ends, stops or checkpoints within one) and propagates them.
    pub(crate) fn flush(&mut self) -> Result<()> {
        let steps = match &mut self.part {
            Some(p) => p.flush(&mut self.net)?,
            None => return Ok(()),
        };
        self.replay(steps)
    }

    /// Propagates and records exchanged steps in step order, each with its global spike
    /// lists: the sums into every ring slot keep one process's order (a step's spikes before
    /// the next step's; the smallest delay keeps them out of every slot delivered meanwhile).
    fn replay(&mut self, steps: Vec<distributed::Exchanged>) -> Result<()> {
        for (step, lists) in steps {
            for (id, list) in lists {
                self.net.pop_mut(id).spikes = list;
            }
            self.synaptic_events += self.propagate(step);
            if !self.spikes.is_empty() {
                self.spikes.record(&self.net, step)?;
            }
            if !self.rules.is_empty() {
                self.block_rules(step)?;
            }
            self.count_structure_spikes();
        }
        Ok(())
    }

    /// The plasticity stage of an exchanged step in a split simulation, right after its
    /// propagation (so weights change between the same propagations as in one process):
    /// each rule sees its projection's block, the step's global presynaptic spikes, its
    /// block's postsynaptic spikes and membrane as they were after that step's update.
    fn block_rules(&mut self, step: u64) -> Result<()> {
        let info = StepInfo {
            step,
            dt_ms: self.dt_ms,
        };
        let v = match self.pending_v.pop_front() {
            Some((s, v)) if s == step => v,
            _ => {
                return Err(crate::Error::Run(format!(
                    "step {step} was exchanged without its membrane record"
                )))
            }
        };
        let part = self.part.as_ref().expect("split");
        for (b, v) in self.rules.iter_mut().zip(v) {
            let local = part.local_spikes(b.post, &self.net.pop(b.post).spikes);
            let view = BlockView {
                post_spikes: &local,
                post_v: v.as_deref(),
            };
            with_rule_step(&mut self.net, b, info, Some(view), |inst, ctx| {
                inst.on_step(ctx)
            })?;
        }
        Ok(())
    }

    /// The whole network: this one, or (rank 0 of a split simulation) the one written by the
    /// last [`Engine::gather`]. Other ranks of a split simulation have only their blocks.
    /// Rank 0's projections hold their synapses only where a structural policy or a `Weights`
    /// recorder needs them (docs/distributed.md); otherwise they are empty shells of the
    /// right shape, and [`Engine::synapses`] and [`Engine::state_hash`] count and hash the
    /// ranks' blocks.
    pub fn whole_net(&self) -> &Network {
        self.part
            .as_ref()
            .and_then(|p| p.whole())
            .unwrap_or(&self.net)
    }

    /// The neurons of population `id` in the whole network (on every rank).
    pub fn global_len(&self, id: PopId) -> usize {
        match &self.part {
            Some(p) => p.global_len(id),
            None => self.net.pop(id).len(),
        }
    }

    /// Synaptic events of all ranks (as of the last [`Engine::gather`] on rank 0).
    pub fn total_synaptic_events(&self) -> u64 {
        self.part
            .as_ref()
            .map_or(self.synaptic_events, |p| p.total_events)
    }

    /// Where a split simulation's time went and what its exchanges moved.
    pub fn exchange_stats(&self) -> Option<ExchangeStats> {
        self.part.as_ref().map(|p| p.stats.clone())
    }

    /// Builds the network of a checked file and sets up its stimuli, recorders and learning
    /// rules (loading their plugins). A plugin that cannot be loaded or rejects its parameters
    /// is bad input, reported at its place in the file.
    pub fn from_file(checked: &Checked) -> Result<Self> {
        Self::from_file_on(checked, None)
    }

    /// [`Engine::from_file`] for rank `rank` of `ranks` (with `Some`): the projections hold
    /// only the synapses into the rank's blocks, so the build takes the rank's share of the
    /// memory; [`Engine::distribute`] over as many ranks then splits the populations. Learning
    /// rules are made for their projection's block. The run is the same as building the whole
    /// and splitting it.
    pub fn from_file_on(checked: &Checked, share: Option<(usize, usize)>) -> Result<Self> {
        let f = &checked.file;
        let net = match share {
            Some((rank, ranks)) if ranks > 1 => {
                let targets = |p: &crate::graph::Population| distributed::block_for(p, rank, ranks);
                crate::graph::build_part(checked, Some(&targets))?
            }
            _ => crate::graph::build(checked)?,
        };
        let mut e = Engine::new(net, f.dt_ms);
        e.built_for = share.filter(|&(_, ranks)| ranks > 1);
        e.seed = f.seed;
        let steps = |t: f64| crate::file::steps_of_time(t, f.dt_ms);
        for (i, s) in f.stimuli.iter().enumerate() {
            match s {
                StimulusSpec::Dc {
                    target,
                    amplitude_na,
                    start_ms,
                    stop_ms,
                    neurons,
                } => e.dc.push(Dc {
                    pop: e.net.pop_id(target).expect("validated"),
                    amplitude: *amplitude_na as Real,
                    start: steps(*start_ms),
                    stop: stop_ms.map(steps),
                    neurons: neurons.clone(),
                }),
                StimulusSpec::PoissonInput {
                    target,
                    rate_hz,
                    weight,
                    receptor,
                    start_ms,
                    stop_ms,
                    neurons,
                } => {
                    let pop = e.net.pop_id(target).expect("validated");
                    let p = e.net.pop(pop);
                    let receptor = p
                        .dynamics
                        .receptors()
                        .iter()
                        .position(|r| r == receptor)
                        .ok_or_else(|| {
                            checked.source.error_at(
                                &format!("stimuli[{i}].PoissonInput.receptor"),
                                format!("`{target}` has no {receptor:?} receptor"),
                            )
                        })?;
                    let input = poisson_input::PoissonInput::new(
                        i,
                        f.seed,
                        pop,
                        receptor,
                        *weight as Real,
                        rate_hz * f.dt_ms / 1000.0,
                        steps(*start_ms),
                        stop_ms.map(steps),
                        neurons.clone(),
                        p.len(),
                    );
                    e.poisson.push(input);
                    e.plan.rings_for.push(pop);
                }
            }
        }
        let mut spiking = Vec::new();
        for r in &f.recorders {
            match r {
                RecorderSpec::Spikes { population } => spiking.push(population.clone()),
                RecorderSpec::Weights { projection } => e.weights.push(projection.clone()),
                RecorderSpec::State {
                    population,
                    variables,
                    neurons,
                    every_ms,
                } => {
                    let every = every_ms.map(steps).unwrap_or(1);
                    let rec = StateRecorder::new(
                        &e.net,
                        population,
                        variables.clone(),
                        neurons.clone(),
                        every,
                    );
                    e.states.push(rec);
                }
            }
        }
        e.spikes = SpikeRecorder::new(&e.net, &spiking);
        for (i, p) in f.projections.iter().enumerate() {
            let Some(rule) = &p.rule else { continue };
            let name = p
                .name
                .clone()
                .unwrap_or_else(|| format!("{}->{}", p.pre, p.post));
            let located = |field: &str, err: crate::Error| {
                checked
                    .source
                    .error_at(&format!("projections[{i}].rule.{field}"), err.to_string())
            };
            let loaded = plugin::load(
                &rule.plugin,
                rule.path.as_deref().map(std::path::Path::new),
                Kind::Rule,
            )
            .map_err(|err| located("plugin", err))?;
            let id = e.net.proj_id(&name).expect("built projection");
            let (pre, post) = e.net.endpoints(id);
            // A rank's part has a block of the postsynaptic neurons (`from_file_on`).
            let proj = e.net.proj_mut(id);
            let (n_pre, n_post) = proj.weights.shape();
            let shape = ProjShapeV1 {
                n_pre: n_pre as u64,
                n_post: n_post as u64,
                nnz: proj.nnz() as u64,
                dt_ms: f.dt_ms,
            };
            let params = rule.params.as_ref().map_or("()", |r| r.get_ron());
            let instance =
                loaded
                    .create_rule(params, shape)
                    .map_err(|err| match err.exit_code() {
                        2 => located("params", err),
                        _ => err,
                    })?;
            // A rule changes single weights: a shared weight becomes one per synapse.
            proj.weights.make_per_synapse();
            proj.traces.pre = vec![0.0; n_pre];
            proj.traces.post = vec![0.0; n_post];
            e.rules.push(RuleBinding {
                proj: id,
                pre,
                post,
                instance,
                plugin: loaded,
                params: params.to_string(),
            });
        }
        for (i, st) in f.structure.iter().enumerate() {
            let located = |field: &str, err: crate::Error| {
                checked
                    .source
                    .error_at(&format!("structure[{i}].{field}"), err.to_string())
            };
            let loaded = plugin::load(
                &st.plugin,
                st.path.as_deref().map(std::path::Path::new),
                Kind::Structure,
            )
            .map_err(|err| located("plugin", err))?;
            let params = st.params.as_ref().map_or("()", |r| r.get_ron());
            let instance =
                loaded
                    .create_structure(params)
                    .map_err(|err| match err.exit_code() {
                        2 => located("params", err),
                        _ => err,
                    })?;
            if !instance.simulates() {
                return Err(located(
                    "plugin",
                    plugin::error(
                        &st.plugin,
                        plugin::PluginErrorKind::AbiMismatch,
                        "built for plugin ABI 1.3, which has no `simulate`: rebuild it against snnsim-plugin-api 1.4 to run in a simulation",
                    ),
                ));
            }
            let pops: Vec<PopId> = st
                .populations
                .iter()
                .map(|n| e.net.pop_id(n).expect("validated"))
                .collect();
            let sizes: Vec<usize> = pops.iter().map(|&p| e.net.pop(p).len()).collect();
            let every = steps(st.every_ms);
            e.structure.push(structure::StructureBinding::new(
                instance, pops, every, &sizes,
            ));
        }
        Ok(e)
    }

    /// Adds a hook, called at every step after those added before it.
    pub fn add_hook(&mut self, hook: Box<dyn StepHook>) {
        self.hooks.push(hook);
    }

    /// Whether hooks or learning rules take part in the steps (the GPU backend runs neither).
    pub fn has_hooks_or_rules(&self) -> bool {
        !self.hooks.is_empty()
            || !self.rules.is_empty()
            || !self.structure.is_empty()
            || !self.poisson.is_empty()
    }

    /// Whether spikes of one-step projections into exact-LIF and COBA targets are added
    /// straight into the synaptic variables (the default) or go through the delay rings like
    /// every other projection. The two give the same dynamics; with several inputs to one
    /// neuron in one step the sum is associated differently (`i + (a + b)` against
    /// `(i + a) + b`), so the results agree to rounding, not bit for bit. The rings are the
    /// order the GPU backend sums in. Takes effect at the next step; switching is exact.
    pub fn set_direct_input(&mut self, on: bool) {
        if self.plan.rings_only == on {
            self.plan.rings_only = !on;
            self.plan.key = None;
        }
    }

    /// Writes the values a graded (`Values`) population outputs from the next step on, one
    /// per neuron. Errors name the population: not a `Values` population, or a wrong length.
    pub fn set_values(&mut self, pop: &str, row: &[f64]) -> Result<()> {
        let id = self
            .net
            .pop_id(pop)
            .ok_or_else(|| crate::Error::Input(format!("no population `{pop}`")))?;
        let p = self.net.pop_mut(id);
        let n = p.len();
        match &mut p.dynamics {
            crate::models::Dynamics::Values(m) if row.len() == n => {
                m.set(row);
                Ok(())
            }
            crate::models::Dynamics::Values(_) => Err(crate::Error::Input(format!(
                "population `{pop}` has {n} neurons, {} values given",
                row.len()
            ))),
            other => Err(crate::Error::Input(format!(
                "population `{pop}` is a {} population, not Values",
                other.kind()
            ))),
        }
    }

    /// Simulated time so far (ms).
    pub fn time_ms(&self) -> f64 {
        self.step as f64 * self.dt_ms
    }

    /// Advances the network by one step of `dt`, from t_n = n·dt to t_n + dt:
    ///
    /// 1. **Sense** — stimuli (and, with a task, the environment) write this step's input.
    /// 2. **Deliver** — each population takes its delay-ring slot due at step n.
    /// 3. **Integrate** — each population adds the delivered input to its synaptic variables
    ///    and updates its state columns (exact propagators or Euler); threshold, reset and
    ///    refractoriness; the spike list of the step (stamped t_n).
    /// 4. **Propagate** — each neuron that spiked walks its CSR row in every outgoing
    ///    projection and adds the weight into the target's ring slot n + delay; only spiking
    ///    neurons do work. Per postsynaptic population, projections in name order; large
    ///    populations are cut into target ranges walked in parallel ([`propagate`]).
    /// 5. **Plasticity** — learning-rule hooks.
    /// 6. **Observe** — recorders and observing hooks.
    /// 7. **Structure** — structural-edit hooks (growth, pruning) as one batch.
    /// 8. **Checkpoint** — checkpoint hooks.
    /// 9. **Advance** — n ← n + 1.
    ///
    /// A spike emitted in step n with a delay of d steps is felt by its target's update in
    /// step n + d (d ≥ 1), as in NEST; Brian2's `delay = 0` corresponds to d = 1.
    pub fn step(&mut self) -> Result<()> {
        if let Some(why) = &self.failed {
            return Err(crate::Error::Run(format!(
                "the run stopped at step {} and cannot go on: {why}",
                self.step
            )));
        }
        let result = self.step_stages();
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    fn step_stages(&mut self) -> Result<()> {
        let info = StepInfo {
            step: self.step,
            dt_ms: self.dt_ms,
        };
        self.plan.refresh(&self.net, info.step);
        self.enter(Stage::Sense, info);
        self.apply_stimuli();

        self.enter(Stage::Deliver, info);
        let warm = info.step >= self.plan.lean_from;
        for (&id, &lean) in self.plan.pops.iter().zip(&self.plan.lean) {
            if !(lean && warm) {
                let p = self.net.pop_mut(id);
                p.input.deliver(info.step, &mut p.due);
            }
        }
        for input in &mut self.poisson {
            let due = &mut self.net.pop_mut(input.pop).due[input.receptor];
            input.apply(info.step, due);
        }
        for rec in &mut self.states {
            rec.record(&self.net, info.step)?;
        }

        self.enter(Stage::Integrate, info);
        let ctx = StepCtx {
            step: info.step,
            dt_ms: self.dt_ms,
        };
        for (k, (&id, &lean)) in self.plan.pops.iter().zip(&self.plan.lean).enumerate() {
            let p = self.net.pop_mut(id);
            p.dynamics
                .update_with(ctx, &mut p.due, !(lean && warm), &mut p.chunk_spikes);
            p.spikes.clear();
            for c in &p.chunk_spikes {
                p.spikes.extend_from_slice(c);
            }
            p.spike_count += p.spikes.len() as u64;
            // Zero-delay projections: into the due buffers of targets updated later this step.
            for e in &self.plan.now[k] {
                self.synaptic_events += deliver_edge(&mut self.net, e, None);
            }
        }
        // Split across ranks: the spikes wait for the exchange at the end of the min-delay
        // interval, where every step of the interval is propagated and recorded in turn.
        if self.part.is_some() && !self.rules.is_empty() {
            let v = self
                .rules
                .iter()
                .map(|b| {
                    let d = &self.net.pop(b.post).dynamics;
                    d.membrane().map(|m| crate::real::widen(m.v).into_owned())
                })
                .collect();
            self.pending_v.push_back((info.step, v));
        }
        let exchanged = match &mut self.part {
            Some(part) => Some(part.after_update(&mut self.net, info.step)?),
            None => None,
        };

        self.enter(Stage::Propagate, info);
        match exchanged {
            None => {
                self.synaptic_events += self.propagate(info.step);
                for e in &self.plan.graded {
                    self.synaptic_events += deliver_edge(&mut self.net, e, Some(info.step));
                }
            }
            Some(steps) => self.replay(steps)?,
        }

        self.enter(Stage::Plasticity, info);
        // Split: the rules ran with the exchanged steps' propagation (`block_rules`).
        if self.part.is_none() {
            for b in &mut self.rules {
                with_rule_step(&mut self.net, b, info, None, |inst, ctx| inst.on_step(ctx))?;
            }
        }
        for h in &mut self.hooks {
            h.plasticity(&mut self.net, info)?;
        }

        self.enter(Stage::Observe, info);
        if !self.spikes.is_empty() && self.part.is_none() {
            self.spikes.record(&self.net, info.step)?;
        }
        for h in &mut self.hooks {
            h.observe(&self.net, info)?;
        }

        self.enter(Stage::Structure, info);
        self.structure_stage()?;
        for h in &mut self.hooks {
            h.structure(&mut self.net, info)?;
        }

        self.enter(Stage::Checkpoint, info);
        for h in &mut self.hooks {
            h.checkpoint(&self.net, info)?;
        }

        self.enter(Stage::Advance, info);
        self.step += 1;
        Ok(())
    }

    /// Runs `n` steps; stops at the first failing step.
    pub fn run(&mut self, n: u64) -> Result<()> {
        for _ in 0..n {
            self.step()?;
        }
        Ok(())
    }

    /// Delivers a reward to every learning rule, with the spikes of the last step. Split
    /// across ranks it is collective (every rank calls it with the same reward), and first
    /// exchanges and propagates the steps that wait for the exchange.
    pub fn reward(&mut self, reward: f64) -> Result<()> {
        self.flush()?;
        let info = StepInfo {
            step: self.step,
            dt_ms: self.dt_ms,
        };
        for b in &mut self.rules {
            let local = self
                .part
                .as_ref()
                .map(|p| p.local_spikes(b.post, &self.net.pop(b.post).spikes));
            let view = local.as_ref().map(|l| BlockView {
                post_spikes: l,
                post_v: None,
            });
            with_rule_step(&mut self.net, b, info, view, |inst, ctx| {
                inst.on_reward(reward, ctx)
            })?;
        }
        Ok(())
    }

    /// Tells every learning rule that an episode ended.
    pub fn episode_end(&mut self) -> Result<()> {
        for b in &mut self.rules {
            b.instance.on_episode_end()?;
        }
        Ok(())
    }

    /// Synapses of the whole network (rank 0 of a split simulation: as of the last
    /// [`Engine::gather`]).
    pub fn synapses(&self) -> u64 {
        if let Some((_, n)) = self.part.as_ref().and_then(|p| p.hash.as_ref()) {
            return *n;
        }
        let whole = self.whole_net();
        whole.projections().map(|(_, _, p)| p.nnz() as u64).sum()
    }

    /// Hash over every weight and state value (see [`hash::state_hash`]); in a split
    /// simulation, of the whole network of the last [`Engine::gather`] (rank 0; computed
    /// there, streamed from the ranks, where rank 0 holds no synapses).
    pub fn state_hash(&self) -> String {
        if let Some((hash, _)) = self.part.as_ref().and_then(|p| p.hash.as_ref()) {
            return hash.clone();
        }
        hash::state_hash(self.whole_net(), self.step)
    }

    fn enter(&mut self, stage: Stage, info: StepInfo) {
        for h in &mut self.hooks {
            h.enter(stage, info);
        }
    }

    /// Rewrites the external current of the populations whose stimuli switch this step.
    fn apply_stimuli(&mut self) {
        self.rewrite_stimuli(self.step, false);
    }

    /// Rewrites the external current of the populations whose stimuli switch on or off at step
    /// `n` (of every stimulated population when `all`, or at step 0) to the sum of the stimuli
    /// on at `n`; returns those populations. The GPU backend uploads what this writes.
    pub(crate) fn rewrite_stimuli(&mut self, n: u64, all: bool) -> Vec<PopId> {
        let switching = |d: &Dc| all || n == 0 || d.start == n || d.stop == Some(n);
        let mut pops: Vec<PopId> = self
            .dc
            .iter()
            .filter(|d| switching(d))
            .map(|d| d.pop)
            .collect();
        pops.sort();
        pops.dedup();
        for &id in &pops {
            let col = self
                .net
                .pop_mut(id)
                .dynamics
                .external_current_mut()
                .expect("validated target");
            col.iter_mut().for_each(|x| *x = 0.0);
            for d in self.dc.iter().filter(|d| d.pop == id) {
                let on = d.start <= n && d.stop.is_none_or(|s| n < s);
                if !on {
                    continue;
                }
                match &d.neurons {
                    Some(js) => js.iter().for_each(|&j| col[j] += d.amplitude),
                    None => col.iter_mut().for_each(|x| *x += d.amplitude),
                }
            }
        }
        pops
    }

    /// Whether a stimulus switches on or off strictly between steps `a` and `b` (for the GPU
    /// backend, which an f32 build lacks).
    #[cfg_attr(feature = "f32", allow(dead_code))]
    pub(crate) fn stimulus_switches_between(&self, a: u64, b: u64) -> bool {
        let inside = |s: u64| a < s && s < b;
        self.dc
            .iter()
            .any(|d| inside(d.start) || d.stop.is_some_and(inside))
    }

    /// The propagation stage; returns the number of synaptic events. Populations that receive
    /// no spike this step are skipped. With few events all runs on this thread; otherwise the
    /// receiving populations are walked in parallel, and, where the spiking rows are long,
    /// each is cut into target ranges (see [`propagate`]), each range walked by one task.
    fn propagate(&mut self, step: u64) -> u64 {
        self.plan.refresh(&self.net, step);
        let plan = &self.plan;
        let mut rings = std::mem::take(&mut self.rings);
        rings.clear();
        // Estimated events, and spiking rows, of this step.
        let (mut work, mut rows) = (0usize, 0usize);
        for (k, post) in plan.posts.iter().enumerate() {
            let mut any = false;
            for i in &post.incoming {
                let spikes = self.net.pop(i.pre).spikes.len();
                if spikes > 0 {
                    any = true;
                    let proj = self.net.proj(i.proj);
                    work += spikes * proj.nnz() / proj.weights.rows().max(1);
                    rows += spikes;
                }
            }
            if any {
                let p = self.net.pop_mut(post.pop);
                let direct = if post.direct {
                    p.dynamics.take_direct_inputs()
                } else {
                    None
                };
                rings.push(Target {
                    post: k,
                    ring: std::mem::take(&mut p.input),
                    direct,
                });
            }
        }
        let net = &self.net;
        let threads = rayon::current_num_threads();
        let events = if threads == 1 || work < propagate::PARALLEL_EVENTS {
            rings
                .iter_mut()
                .map(|t| {
                    let mut events = 0;
                    for i in &plan.posts[t.post].incoming {
                        let spikes = &net.pop(i.pre).spikes;
                        if spikes.is_empty() {
                            continue;
                        }
                        let proj = net.proj(i.proj);
                        events += match (&mut t.direct, i.direct) {
                            (Some(cols), true) => {
                                let r = t
                                    .ring
                                    .receptor_index(proj.receptor)
                                    .expect("validated receptor");
                                let n = cols[r].len();
                                propagate::propagate_range(
                                    proj,
                                    spikes,
                                    &mut [&mut cols[r][..]],
                                    0..n,
                                    step,
                                )
                            }
                            _ => propagate::propagate_projection(proj, spikes, &mut t.ring, step),
                        };
                    }
                    events
                })
                .sum()
        } else {
            // Cutting a row between tasks costs each task a binary search per row; it pays
            // only for long rows.
            let pieces = if work >= propagate::SPLIT_ROW_LEN * rows {
                threads
            } else {
                1
            };
            propagate_split(net, plan, &mut rings, pieces, step)
        };
        for t in rings.drain(..) {
            let p = self.net.pop_mut(plan.posts[t.post].pop);
            p.input = t.ring;
            if let Some(cols) = t.direct {
                p.dynamics.put_direct_inputs(cols);
            }
        }
        self.rings = rings;
        events
    }
}

/// The update order: populations in name order, except that the target of a zero-delay
/// projection comes after its source (validation refuses zero-delay cycles; Kahn's algorithm
/// taking the first ready population in name order, so without zero-delay projections the
/// order is the name order).
fn update_order(net: &Network) -> Vec<PopId> {
    let names = net.pop_ids();
    let index: std::collections::HashMap<PopId, usize> =
        names.iter().enumerate().map(|(k, &id)| (id, k)).collect();
    let mut waiting = vec![0usize; names.len()];
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for pid in net.proj_ids() {
        if net.proj(pid).delays == crate::graph::Delays::Uniform(0) {
            let (pre, post) = net.endpoints(pid);
            let (a, b) = (index[&pre], index[&post]);
            if a != b {
                after[a].push(b);
                waiting[b] += 1;
            }
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..names.len()).filter(|&k| waiting[k] == 0).collect();
    let mut order = Vec::with_capacity(names.len());
    while let Some(k) = ready.pop_first() {
        order.push(names[k]);
        for &b in &after[k] {
            waiting[b] -= 1;
            if waiting[b] == 0 {
                ready.insert(b);
            }
        }
    }
    // A zero-delay cycle (refused by validation; possible only through an edit) keeps its
    // populations in name order after the others, so each still updates once.
    if order.len() < names.len() {
        let placed: std::collections::HashSet<PopId> = order.iter().copied().collect();
        order.extend(names.iter().filter(|id| !placed.contains(id)));
    }
    order
}

/// Walks one projection on its own: zero delay (`at` None: into the target's due buffer of
/// this step) or delayed from a graded population or through a kernel (`at` Some(step): into
/// the ring slot of step + delay). Spikes add the weights, graded values weight × value.
/// Returns the synapses (kernel connections) walked.
fn deliver_edge(net: &mut Network, e: &Edge, at: Option<u64>) -> u64 {
    let receptor = net.proj(e.proj).receptor;
    let r = net
        .pop(e.post)
        .input
        .receptor_index(receptor)
        .expect("validated receptor");
    let post = net.pop_mut(e.post);
    let mut ring = std::mem::take(&mut post.input);
    let mut due = std::mem::take(&mut post.due);
    let proj = net.proj(e.proj);
    let pre = net.pop(e.pre);
    let slot: &mut [Real] = match at {
        None => &mut due[r],
        Some(step) => {
            let d = proj.delays.max() as u64;
            ring.slot_mut(r, step + d)
        }
    };
    let events = match (&proj.kernel, pre.dynamics.graded()) {
        (Some(k), values) => propagate::propagate_kernel(k, &pre.spikes, values, slot),
        (None, Some(values)) => propagate::propagate_graded(proj, values, slot),
        (None, None) => {
            let n = slot.len();
            propagate::propagate_range(proj, &pre.spikes, &mut [slot], 0..n, 0)
        }
    };
    let post = net.pop_mut(e.post);
    post.input = ring;
    post.due = due;
    events
}

/// A population receiving spikes this step, its rings and (moved out of the model while
/// propagation writes them) the synaptic variables that take direct input.
struct Target {
    /// Index in [`Plan::posts`].
    post: usize,
    ring: InputRing,
    direct: Option<[Vec<Real>; 2]>,
}

/// Parallel propagation: each ring is cut into up to `pieces` target ranges; one task per
/// range walks every incoming projection in name order over that range only.
fn propagate_split(
    net: &Network,
    plan: &Plan,
    rings: &mut [Target],
    pieces: usize,
    step: u64,
) -> u64 {
    struct Task<'a> {
        post: usize,
        targets: std::ops::Range<usize>,
        len: usize,
        receptors: &'a [crate::file::Receptor],
        /// `slots[r * len + s]`: slot `s` of receptor index `r`, cut to `targets`.
        slots: Vec<&'a mut [Real]>,
        /// `direct[r]`: the direct-input variable of receptor index `r`, cut to `targets`.
        direct: Vec<&'a mut [Real]>,
    }
    /// Cuts `col` into the pieces of `ranges` (consecutive, from 0), one per task.
    fn cut<'a>(
        col: &'a mut [Real],
        ranges: &[std::ops::Range<usize>],
        tasks: &mut [Task<'a>],
        into: for<'t> fn(&'t mut Task<'a>) -> &'t mut Vec<&'a mut [Real]>,
    ) {
        let mut rest = col;
        for (t, r) in tasks.iter_mut().zip(ranges) {
            let (piece, tail) = rest.split_at_mut(r.len());
            into(t).push(piece);
            rest = tail;
        }
    }
    let mut tasks: Vec<Task> = Vec::new();
    for t in rings.iter_mut() {
        let ring = &mut t.ring;
        let ranges = propagate::target_ranges(ring.n, pieces);
        let first = tasks.len();
        for r in &ranges {
            tasks.push(Task {
                post: t.post,
                targets: r.clone(),
                len: ring.len,
                receptors: &ring.receptors,
                slots: Vec::with_capacity(ring.slots.len()),
                direct: Vec::with_capacity(2),
            });
        }
        for slot in ring.slots.iter_mut() {
            cut(slot, &ranges, &mut tasks[first..], |t| &mut t.slots);
        }
        for col in t.direct.iter_mut().flatten() {
            cut(col, &ranges, &mut tasks[first..], |t| &mut t.direct);
        }
    }
    tasks
        .par_iter_mut()
        .map(|t| {
            let mut events = 0;
            for i in &plan.posts[t.post].incoming {
                let spikes = &net.pop(i.pre).spikes;
                if spikes.is_empty() {
                    continue;
                }
                let proj = net.proj(i.proj);
                let r = t
                    .receptors
                    .iter()
                    .position(|&x| x == proj.receptor)
                    .expect("validated receptor");
                let slots = if i.direct && !t.direct.is_empty() {
                    &mut t.direct[r..r + 1]
                } else {
                    &mut t.slots[r * t.len..(r + 1) * t.len]
                };
                events += propagate::propagate_range(proj, spikes, slots, t.targets.clone(), step);
            }
            events
        })
        .sum()
}

/// What a rule sees of its postsynaptic population on one rank of a split simulation: the
/// spikes of its block (local indices) and, for a step propagated after later updates, the
/// membrane as that step left it.
struct BlockView<'a> {
    post_spikes: &'a [u32],
    post_v: Option<&'a [f64]>,
}

/// Calls `f` on a rule instance with the raw view of its projection: CSR weights (writable),
/// the spikes of both populations, the traces, and the postsynaptic membrane potential. Split
/// across ranks (`block`), the projection is the block's (global rows, local columns), the
/// presynaptic spikes are the global list and the postsynaptic ones the block's.
fn with_rule_step(
    net: &mut Network,
    b: &mut RuleBinding,
    info: StepInfo,
    block: Option<BlockView<'_>>,
    f: impl FnOnce(&mut RuleInstance, &mut RuleStepV1) -> Result<()>,
) -> Result<()> {
    let (n_pre, n_post) = {
        let w = &net.proj(b.proj).weights;
        (w.rows(), w.cols())
    };
    let (pre_spikes, n_pre_spikes) = {
        let p = net.pop(b.pre);
        (p.spikes.as_ptr(), p.spikes.len())
    };
    let post = net.pop(b.post);
    let (post_spikes, n_post_spikes) = match &block {
        Some(v) => (v.post_spikes.as_ptr(), v.post_spikes.len()),
        None => (post.spikes.as_ptr(), post.spikes.len()),
    };
    // The membrane as f64: the column itself, or (f32 build) a widened copy kept alive here.
    let _widened: Option<Vec<f64>>;
    let recorded = block.as_ref().and_then(|v| v.post_v);
    let membrane = match recorded {
        Some(v) => Some(std::borrow::Cow::Borrowed(v)),
        None => post.dynamics.membrane().map(|m| crate::real::widen(m.v)),
    };
    let (post_v, post_v_len) = match membrane {
        None => (std::ptr::null(), 0),
        Some(std::borrow::Cow::Borrowed(v)) => (v.as_ptr(), v.len()),
        Some(std::borrow::Cow::Owned(v)) => {
            let view = (v.as_ptr(), v.len());
            _widened = Some(v);
            view
        }
    };
    let proj = net.proj_mut(b.proj);
    let nnz = proj.nnz();
    let (indptr, indices, data) = proj.weights.parts_mut();
    let (indptr, indices) = (indptr.as_ptr(), indices.as_ptr());
    let mut weights = crate::real::F64View::new(data);
    let weights = weights.as_mut_ptr();
    let mut ctx = RuleStepV1 {
        step: info.step,
        dt_ms: info.dt_ms,
        n_pre: n_pre as u64,
        n_post: n_post as u64,
        nnz: nnz as u64,
        indptr,
        indices,
        weights,
        pre_spikes,
        n_pre_spikes: n_pre_spikes as u64,
        post_spikes,
        n_post_spikes: n_post_spikes as u64,
        pre_trace: proj.traces.pre.as_mut_ptr(),
        pre_trace_len: proj.traces.pre.len() as u64,
        post_trace: proj.traces.post.as_mut_ptr(),
        post_trace_len: proj.traces.post.len() as u64,
        post_v,
        post_v_len: post_v_len as u64,
    };
    // The pointers stay valid during the call: nothing else touches the network meanwhile.
    f(&mut b.instance, &mut ctx)
}
