//! The engine: owns a network and advances it one step at a time, in a fixed stage order
//! (written on [`Engine::step`] and checked by a test).
//!
//! Neuron state is updated clock-driven over dense columns; spikes propagate event-driven:
//! only neurons that spiked walk their CSR rows. Parallel work is split into fixed pieces —
//! chunks of neurons for the update, ranges of target neurons for propagation
//! ([`propagate`]) — with one writer per value and sums in a fixed order, so the same file
//! and seed give the same spikes on any number of threads.

pub mod hash;
pub mod propagate;
pub mod rng;
mod snapshot;

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
    /// Synaptic events (spike × synapse) delivered so far.
    pub synaptic_events: u64,
    /// Spike recorder.
    pub spikes: SpikeRecorder,
    /// State recorders.
    pub states: Vec<StateRecorder>,
    /// Projections whose final weights are written to `weights.csv`.
    pub weights: Vec<String>,
    dc: Vec<Dc>,
    rules: Vec<RuleBinding>,
    hooks: Vec<Box<dyn StepHook>>,
    /// Set when a step failed: the state is then partly advanced, so the engine refuses to
    /// go on.
    failed: Option<String>,
    /// Populations and incoming projections of the current structure, in name order.
    plan: Plan,
    /// Rings taken out during propagation (kept to reuse the allocation).
    rings: Vec<(usize, InputRing)>,
}

/// What the step loops over, computed once per structure (not per step): population ids in
/// name order and, per population with incoming projections, those projections in name order
/// with their presynaptic populations.
#[derive(Debug, Default)]
struct Plan {
    /// (generation, populations, projections) of the network it was made for.
    key: Option<(u64, usize, usize)>,
    pops: Vec<PopId>,
    posts: Vec<(PopId, Vec<(ProjId, PopId)>)>,
}

impl Plan {
    fn key(net: &Network) -> (u64, usize, usize) {
        (
            net.generation,
            net.population_count(),
            net.projection_count(),
        )
    }

    /// Recomputes the plan if the network's structure changed since it was made.
    fn refresh(&mut self, net: &Network) {
        let key = Self::key(net);
        if self.key == Some(key) {
            return;
        }
        self.pops = net.pop_ids();
        self.posts = self
            .pops
            .iter()
            .map(|&post| {
                let incoming = net
                    .incoming(post)
                    .into_iter()
                    .map(|pid| (pid, net.endpoints(pid).0))
                    .collect::<Vec<_>>();
                (post, incoming)
            })
            .filter(|(_, incoming)| !incoming.is_empty())
            .collect();
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
            synaptic_events: 0,
            spikes: SpikeRecorder::default(),
            states: Vec::new(),
            weights: Vec::new(),
            dc: Vec::new(),
            rules: Vec::new(),
            hooks: Vec::new(),
            failed: None,
            plan: Plan::default(),
            rings: Vec::new(),
        }
    }

    /// Builds the network of a checked file and sets up its stimuli, recorders and learning
    /// rules (loading their plugins). A plugin that cannot be loaded or rejects its parameters
    /// is bad input, reported at its place in the file.
    pub fn from_file(checked: &Checked) -> Result<Self> {
        let f = &checked.file;
        let net = crate::graph::build(checked);
        let mut e = Engine::new(net, f.dt_ms);
        let steps = |t: f64| crate::file::steps_of_time(t, f.dt_ms);
        for s in &f.stimuli {
            let StimulusSpec::Dc {
                target,
                amplitude_na,
                start_ms,
                stop_ms,
                neurons,
            } = s;
            e.dc.push(Dc {
                pop: e.net.pop_id(target).expect("validated"),
                amplitude: *amplitude_na as Real,
                start: steps(*start_ms),
                stop: stop_ms.map(steps),
                neurons: neurons.clone(),
            });
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
            let (n_pre, n_post) = (e.net.pop(pre).len(), e.net.pop(post).len());
            let proj = e.net.proj_mut(id);
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
            });
        }
        Ok(e)
    }

    /// Adds a hook, called at every step after those added before it.
    pub fn add_hook(&mut self, hook: Box<dyn StepHook>) {
        self.hooks.push(hook);
    }

    /// Whether hooks or learning rules take part in the steps (the GPU backend runs neither).
    pub fn has_hooks_or_rules(&self) -> bool {
        !self.hooks.is_empty() || !self.rules.is_empty()
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
        self.plan.refresh(&self.net);
        self.enter(Stage::Sense, info);
        self.apply_stimuli();

        self.enter(Stage::Deliver, info);
        for &id in &self.plan.pops {
            let p = self.net.pop_mut(id);
            p.input.deliver(info.step, &mut p.due);
        }
        for rec in &mut self.states {
            rec.record(&self.net, info.step);
        }

        self.enter(Stage::Integrate, info);
        let ctx = StepCtx {
            step: info.step,
            dt_ms: self.dt_ms,
        };
        for &id in &self.plan.pops {
            let p = self.net.pop_mut(id);
            p.dynamics.update(ctx, &mut p.due, &mut p.chunk_spikes);
            p.spikes.clear();
            for c in &p.chunk_spikes {
                p.spikes.extend_from_slice(c);
            }
            p.spike_count += p.spikes.len() as u64;
        }

        self.enter(Stage::Propagate, info);
        self.synaptic_events += self.propagate(info.step);

        self.enter(Stage::Plasticity, info);
        for b in &mut self.rules {
            with_rule_step(&mut self.net, b, info, |inst, ctx| inst.on_step(ctx))?;
        }
        for h in &mut self.hooks {
            h.plasticity(&mut self.net, info)?;
        }

        self.enter(Stage::Observe, info);
        if !self.spikes.is_empty() {
            self.spikes.record(&self.net, info.step);
        }
        for h in &mut self.hooks {
            h.observe(&self.net, info)?;
        }

        self.enter(Stage::Structure, info);
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

    /// Delivers a reward to every learning rule, with the spikes of the last step.
    pub fn reward(&mut self, reward: f64) -> Result<()> {
        let info = StepInfo {
            step: self.step,
            dt_ms: self.dt_ms,
        };
        for b in &mut self.rules {
            with_rule_step(&mut self.net, b, info, |inst, ctx| {
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

    /// Hash over every weight and state value (see [`hash::state_hash`]).
    pub fn state_hash(&self) -> String {
        hash::state_hash(&self.net, self.step)
    }

    fn enter(&mut self, stage: Stage, info: StepInfo) {
        for h in &mut self.hooks {
            h.enter(stage, info);
        }
    }

    /// Rewrites the external current of the populations whose stimuli switch this step.
    fn apply_stimuli(&mut self) {
        let n = self.step;
        let switching = |d: &Dc| n == 0 || d.start == n || d.stop == Some(n);
        let mut pops: Vec<PopId> = self
            .dc
            .iter()
            .filter(|d| switching(d))
            .map(|d| d.pop)
            .collect();
        pops.sort();
        pops.dedup();
        for id in pops {
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
    }

    /// The propagation stage; returns the number of synaptic events. Populations that receive
    /// no spike this step are skipped. With few events all runs on this thread; otherwise the
    /// receiving populations are walked in parallel, and, where the spiking rows are long,
    /// each is cut into target ranges (see [`propagate`]), each range walked by one task.
    fn propagate(&mut self, step: u64) -> u64 {
        self.plan.refresh(&self.net);
        let plan = &self.plan;
        let mut rings = std::mem::take(&mut self.rings);
        rings.clear();
        // Estimated events, and spiking rows, of this step.
        let (mut work, mut rows) = (0usize, 0usize);
        for (k, (post, incoming)) in plan.posts.iter().enumerate() {
            let mut any = false;
            for &(pid, pre) in incoming {
                let spikes = self.net.pop(pre).spikes.len();
                if spikes > 0 {
                    any = true;
                    let proj = self.net.proj(pid);
                    work += spikes * proj.nnz() / proj.weights.rows().max(1);
                    rows += spikes;
                }
            }
            if any {
                rings.push((k, std::mem::take(&mut self.net.pop_mut(*post).input)));
            }
        }
        let net = &self.net;
        let threads = rayon::current_num_threads();
        let events = if threads == 1 || work < propagate::PARALLEL_EVENTS {
            rings
                .iter_mut()
                .map(|(k, ring)| {
                    let mut events = 0;
                    for &(pid, pre) in &plan.posts[*k].1 {
                        let spikes = &net.pop(pre).spikes;
                        if !spikes.is_empty() {
                            events +=
                                propagate::propagate_projection(net.proj(pid), spikes, ring, step);
                        }
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
        for (k, ring) in rings.drain(..) {
            self.net.pop_mut(plan.posts[k].0).input = ring;
        }
        self.rings = rings;
        events
    }
}

/// Parallel propagation: each ring is cut into up to `pieces` target ranges; one task per
/// range walks every incoming projection in name order over that range only.
fn propagate_split(
    net: &Network,
    plan: &Plan,
    rings: &mut [(usize, InputRing)],
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
    }
    let mut tasks: Vec<Task> = Vec::new();
    for (k, ring) in rings.iter_mut() {
        let ranges = propagate::target_ranges(ring.n, pieces);
        let first = tasks.len();
        for t in &ranges {
            tasks.push(Task {
                post: *k,
                targets: t.clone(),
                len: ring.len,
                receptors: &ring.receptors,
                slots: Vec::with_capacity(ring.slots.len()),
            });
        }
        for slot in ring.slots.iter_mut() {
            let mut rest: &mut [Real] = slot;
            for (i, t) in ranges.iter().enumerate() {
                let (piece, tail) = rest.split_at_mut(t.len());
                tasks[first + i].slots.push(piece);
                rest = tail;
            }
        }
    }
    tasks
        .par_iter_mut()
        .map(|t| {
            let mut events = 0;
            for &(pid, pre) in &plan.posts[t.post].1 {
                let spikes = &net.pop(pre).spikes;
                if spikes.is_empty() {
                    continue;
                }
                let proj = net.proj(pid);
                let r = t
                    .receptors
                    .iter()
                    .position(|&x| x == proj.receptor)
                    .expect("validated receptor");
                events += propagate::propagate_range(
                    proj,
                    spikes,
                    &mut t.slots[r * t.len..(r + 1) * t.len],
                    t.targets.clone(),
                    step,
                );
            }
            events
        })
        .sum()
}

/// Calls `f` on a rule instance with the raw view of its projection: CSR weights (writable),
/// the spikes of both populations, the traces, and the postsynaptic membrane potential.
fn with_rule_step(
    net: &mut Network,
    b: &mut RuleBinding,
    info: StepInfo,
    f: impl FnOnce(&mut RuleInstance, &mut RuleStepV1) -> Result<()>,
) -> Result<()> {
    let (pre_spikes, n_pre) = {
        let p = net.pop(b.pre);
        (p.spikes.as_ptr(), p.len())
    };
    let n_pre_spikes = net.pop(b.pre).spikes.len();
    let post = net.pop(b.post);
    let (post_spikes, n_post_spikes, n_post) =
        (post.spikes.as_ptr(), post.spikes.len(), post.len());
    let (post_v, post_v_len) = post
        .dynamics
        .membrane()
        .map_or((std::ptr::null(), 0), |m| (m.v.as_ptr(), m.v.len()));
    let proj = net.proj_mut(b.proj);
    let nnz = proj.nnz();
    let weights = proj.weights.data_mut().as_mut_ptr();
    let indptr = proj.weights.indptr().as_ptr();
    let indices = proj.weights.indices().as_ptr();
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
