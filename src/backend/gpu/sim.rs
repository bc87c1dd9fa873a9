//! The device simulation of [`super::run`]: upload, the step loop of launches, write-back.

use crate::engine::Engine;
use crate::file::{Checked, RecorderSpec};
use crate::graph::Delays;
use crate::models::{Dynamics, CHUNK};
use crate::Real;
use snnsim_kernels::{
    self as kern, launch, Context, DeviceBuffer, GpuError, Graph, SnnkCobaParams, SnnkCsr,
    SnnkLifParams, SnnkListSource, SnnkLog, SnnkPoissonChunk, SnnkPop, SnnkTarget,
};
use std::collections::BTreeSet;
use std::sync::Arc;

type KResult<T> = std::result::Result<T, GpuError>;

/// What a population is on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lif,
    Coba,
    Poisson,
    List,
}

/// One population on the device.
struct PopDev {
    name: String,
    kind: Kind,
    n: usize,
    /// Offset of its columns in its model group's concatenated columns.
    offset: usize,
    /// Input rings, [receptor][slot][neuron] (neuron models only).
    ring: Option<DeviceBuffer<f64>>,
    ring_len: usize,
    spikes: DeviceBuffer<u32>,
    last_spike: Option<DeviceBuffer<u32>>,
    global_base: u32,
    record: bool,
}

/// The populations of one neuron model, their columns concatenated.
struct Group<P> {
    descs: DeviceBuffer<SnnkPop>,
    params: DeviceBuffer<P>,
    n_blocks: u32,
    cols: [DeviceBuffer<f64>; 3],
    i_ext: DeviceBuffer<f64>,
    refractory: DeviceBuffer<u32>,
}

struct PoissonGroup {
    members: Vec<usize>,
    descs: DeviceBuffer<SnnkPop>,
    p: DeviceBuffer<f64>,
    chunks: DeviceBuffer<SnnkPoissonChunk>,
    /// Per member: its chunks' (base draw, length).
    host_chunks: Vec<Vec<(u64, u64)>>,
    n_blocks: u32,
}

struct ListGroup {
    members: Vec<usize>,
    descs: DeviceBuffer<SnnkPop>,
    sources: DeviceBuffer<SnnkListSource>,
    _steps: Vec<DeviceBuffer<u64>>,
    _neurons: Vec<DeviceBuffer<u32>>,
}

enum ProjKind {
    Csr {
        csr: SnnkCsr,
        grid: u32,
        block: u32,
        _buffers: (
            DeviceBuffer<u64>,
            DeviceBuffer<u32>,
            DeviceBuffer<f64>,
            Option<DeviceBuffer<u16>>,
        ),
    },
    Dense {
        weights: DeviceBuffer<f64>,
        row_nnz: DeviceBuffer<u32>,
        delay: u32,
    },
}

struct ProjDev {
    pre: usize,
    n_pre: u32,
    target: SnnkTarget,
    kind: ProjKind,
}

/// The network on the device.
pub(super) struct Sim {
    ctx: Arc<Context>,
    pops: Vec<PopDev>,
    lif: Option<Group<SnnkLifParams>>,
    coba: Option<Group<SnnkCobaParams>>,
    poisson: Option<PoissonGroup>,
    lists: Option<ListGroup>,
    projs: Vec<ProjDev>,
    /// The step being computed, on the device (kernels read it; the end of a step advances it).
    step: DeviceBuffer<u64>,
    /// Spikes per population in the step being computed; zeroed by the end of each step.
    counts: DeviceBuffer<u32>,
    /// Spikes per population in the last step completed.
    last_counts: DeviceBuffer<u32>,
    totals: DeviceBuffer<u64>,
    events: DeviceBuffer<u64>,
    log: DeviceBuffer<u32>,
    log_count: DeviceBuffer<u32>,
    log_cap: u32,
    /// Steps between two reads of the spike log (it cannot fill up in fewer).
    drain_every: u64,
    recording: bool,
    /// Recorded launches of one step and of [`GRAPH_STEPS`] steps; `None` until first used,
    /// or for good when recording is off or failed.
    graphs: Option<(Graph, Graph)>,
    use_graphs: bool,
    step0: u64,
    steps_run: u64,
    drained_to: u64,
}

/// Steps recorded in one graph: replayed with one call where no host work falls inside.
const GRAPH_STEPS: u64 = 32;

/// Projections denser than this (synapses / pairs) use the dense kernel.
const DENSE_MIN_DENSITY: f64 = 0.25;
/// ... if their dense matrix has at most this many entries (512 MiB of f64).
const DENSE_MAX_ENTRIES: usize = 1 << 26;

fn blocks(n: usize, block: u32) -> u32 {
    n.div_ceil(block as usize) as u32
}

fn lif_params(m: &crate::models::Lif) -> SnnkLifParams {
    let p = &m.prop;
    SnnkLifParams {
        p22: p.p22,
        p11_exc: p.p11_exc,
        p11_inh: p.p11_inh,
        p21_exc: p.p21_exc,
        p21_inh: p.p21_inh,
        r: p.r,
        v_rest: p.v_rest,
        i_bias: p.i_bias,
        v_th: p.v_th,
        v_reset: p.v_reset,
        hold_steps: p.hold_steps,
        pad: 0,
    }
}

fn coba_params(m: &crate::models::CobaLif) -> SnnkCobaParams {
    let k = &m.k;
    SnnkCobaParams {
        h_over_tau_m: k.h_over_tau_m,
        h_over_tau_exc: k.h_over_tau_exc,
        h_over_tau_inh: k.h_over_tau_inh,
        e_l: k.e_l,
        e_exc: k.e_exc,
        e_inh: k.e_inh,
        r: k.r,
        i_bias: k.i_bias,
        v_th: k.v_th,
        v_reset: k.v_reset,
        hold_steps: k.hold_steps,
        pad: 0,
    }
}

/// The three real columns, refractory counters and external current of a neuron model.
fn neuron_columns(d: &Dynamics) -> ([&[Real]; 3], &[u32], &[Real]) {
    match d {
        Dynamics::Lif(m) => ([&m.v, &m.i_exc, &m.i_inh], &m.refractory, &m.i_ext),
        Dynamics::CobaLif(m) => ([&m.v, &m.g_exc, &m.g_inh], &m.refractory, &m.i_ext),
        _ => unreachable!("a neuron model"),
    }
}

/// The columns for writing back; the external current may come back non-zero, so the CPU
/// update reads it from then on.
fn neuron_columns_mut(d: &mut Dynamics) -> ([&mut Vec<Real>; 3], &mut Vec<u32>, &mut Vec<Real>) {
    match d {
        Dynamics::Lif(m) => {
            m.ext_used = true;
            (
                [&mut m.v, &mut m.i_exc, &mut m.i_inh],
                &mut m.refractory,
                &mut m.i_ext,
            )
        }
        Dynamics::CobaLif(m) => {
            m.ext_used = true;
            (
                [&mut m.v, &mut m.g_exc, &mut m.g_inh],
                &mut m.refractory,
                &mut m.i_ext,
            )
        }
        _ => unreachable!("a neuron model"),
    }
}

impl Sim {
    pub(super) fn upload(ctx: &Arc<Context>, engine: &Engine, checked: &Checked) -> KResult<Sim> {
        let net = &engine.net;
        let ids = net.pop_ids(); // name order
        let index_of = |id| ids.iter().position(|&x| x == id).expect("live population");
        let recorded: BTreeSet<&str> = checked
            .file
            .recorders
            .iter()
            .filter_map(|r| match r {
                RecorderSpec::Spikes { population } => Some(population.as_str()),
                _ => None,
            })
            .collect();

        // Projections first: which presynaptic populations feed a dense kernel.
        struct Plan {
            pid: crate::graph::ProjId,
            pre: usize,
            post: usize,
            dense: bool,
        }
        let mut plans = Vec::new();
        for &post in &ids {
            for pid in net.incoming(post) {
                let proj = net.proj(pid);
                let (pre, _) = net.endpoints(pid);
                let (n_pre, n_post) = (net.pop(pre).len(), net.pop(post).len());
                let pairs = n_pre * n_post;
                let w = &proj.weights;
                let unique_sorted =
                    (0..w.rows()).all(|i| w.indices()[w.row(i)].windows(2).all(|x| x[0] < x[1]));
                let dense = matches!(proj.delays, Delays::Uniform(_))
                    && pairs > 0
                    && pairs <= DENSE_MAX_ENTRIES
                    && proj.nnz() as f64 >= DENSE_MIN_DENSITY * pairs as f64
                    && unique_sorted;
                plans.push(Plan {
                    pid,
                    pre: index_of(pre),
                    post: index_of(post),
                    dense,
                });
            }
        }
        let dense_pre: BTreeSet<usize> = plans.iter().filter(|p| p.dense).map(|p| p.pre).collect();

        // Populations.
        let mut pops = Vec::with_capacity(ids.len());
        let mut global = 0u64;
        let (mut lif_n, mut coba_n) = (0usize, 0usize);
        for (i, &id) in ids.iter().enumerate() {
            let p = net.pop(id);
            let n = p.len();
            let kind = match &p.dynamics {
                Dynamics::Lif(_) => Kind::Lif,
                Dynamics::CobaLif(_) => Kind::Coba,
                Dynamics::Poisson(_) => Kind::Poisson,
                Dynamics::SpikeTimes(_) | Dynamics::Observation(_) => Kind::List,
                other => {
                    return Err(GpuError {
                        code: kern::ffi::ERR_BAD_ARGUMENT,
                        message: format!(
                            "population `{}`: model {} has no GPU kernel",
                            p.name,
                            other.kind()
                        ),
                    })
                }
            };
            let counter = match kind {
                Kind::Lif => Some(&mut lif_n),
                Kind::Coba => Some(&mut coba_n),
                _ => None,
            };
            let offset = counter.map_or(0, |c| {
                *c += n;
                *c - n
            });
            let (ring, ring_len) = if matches!(kind, Kind::Lif | Kind::Coba) {
                let r = &p.input;
                assert_eq!(
                    r.receptors,
                    [crate::file::Receptor::Exc, crate::file::Receptor::Inh],
                    "neuron models take excitatory then inhibitory input"
                );
                let mut host = Vec::with_capacity(r.slots.len() * n);
                for s in &r.slots {
                    host.extend_from_slice(s);
                }
                (Some(ctx.upload(&host)?), r.len)
            } else {
                (None, 0)
            };
            let last_spike = if dense_pre.contains(&i) {
                Some(ctx.alloc::<u32>(n)?)
            } else {
                None
            };
            pops.push(PopDev {
                name: p.name.clone(),
                kind,
                n,
                offset,
                ring,
                ring_len,
                spikes: ctx.alloc::<u32>(n.max(1))?,
                last_spike,
                global_base: global as u32,
                record: recorded.contains(p.name.as_str()),
            });
            global += n as u64;
        }
        assert!(
            global < u32::MAX as u64,
            "the GPU backend numbers neurons with 32 bits"
        );

        let block = kern::update_block_size();
        let desc = |pd: &PopDev, pop: usize, block_start: u32, chunk_base: u32| SnnkPop {
            block_start,
            n: pd.n as u32,
            offset: pd.offset as u32,
            pop: pop as u32,
            ring_len: pd.ring_len as u32,
            global_base: pd.global_base,
            record: pd.record as u32,
            chunk_base,
            ring: pd.ring.as_ref().map_or(std::ptr::null_mut(), |r| r.ptr()),
            spikes: pd.spikes.ptr(),
            last_spike: pd
                .last_spike
                .as_ref()
                .map_or(std::ptr::null_mut(), |b| b.ptr()),
        };

        // Neuron groups.
        #[allow(clippy::too_many_arguments)]
        fn group<P: kern::DeviceCopy>(
            ctx: &Arc<Context>,
            net: &crate::graph::Network,
            ids: &[crate::graph::PopId],
            pops: &[PopDev],
            kind: Kind,
            total: usize,
            block: u32,
            desc: &dyn Fn(&PopDev, usize, u32, u32) -> SnnkPop,
            params: &dyn Fn(&Dynamics) -> P,
        ) -> KResult<Option<Group<P>>> {
            let members: Vec<usize> = (0..pops.len()).filter(|&i| pops[i].kind == kind).collect();
            if members.is_empty() {
                return Ok(None);
            }
            let mut cols: [Vec<Real>; 3] = Default::default();
            let (mut refr, mut i_ext) = (Vec::with_capacity(total), Vec::with_capacity(total));
            let (mut descs, mut ps) = (Vec::new(), Vec::new());
            let mut block_start = 0u32;
            for &i in &members {
                let d = &net.pop(ids[i]).dynamics;
                let (c, r, x) = neuron_columns(d);
                for (dst, src) in cols.iter_mut().zip(c) {
                    dst.extend_from_slice(src);
                }
                refr.extend_from_slice(r);
                i_ext.extend_from_slice(x);
                descs.push(desc(&pops[i], i, block_start, 0));
                ps.push(params(d));
                block_start += blocks(pops[i].n, block);
            }
            let [c0, c1, c2] = cols;
            Ok(Some(Group {
                descs: kern::upload_descriptors(ctx, &descs)?,
                params: ctx.upload(&ps)?,
                n_blocks: block_start,
                cols: [ctx.upload(&c0)?, ctx.upload(&c1)?, ctx.upload(&c2)?],
                i_ext: ctx.upload(&i_ext)?,
                refractory: ctx.upload(&refr)?,
            }))
        }
        let lif = group(
            ctx,
            net,
            &ids,
            &pops,
            Kind::Lif,
            lif_n,
            block,
            &desc,
            &|d| match d {
                Dynamics::Lif(m) => lif_params(m),
                _ => unreachable!(),
            },
        )?;
        let coba = group(
            ctx,
            net,
            &ids,
            &pops,
            Kind::Coba,
            coba_n,
            block,
            &desc,
            &|d| match d {
                Dynamics::CobaLif(m) => coba_params(m),
                _ => unreachable!(),
            },
        )?;

        // Poisson sources: each chunk's ChaCha8 key and position, as the host streams stand.
        let poisson = {
            let members: Vec<usize> = (0..pops.len())
                .filter(|&i| pops[i].kind == Kind::Poisson)
                .collect();
            if members.is_empty() {
                None
            } else {
                let (mut descs, mut probs, mut chunks, mut host_chunks) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let mut block_start = 0u32;
                for &i in &members {
                    let Dynamics::Poisson(m) = &net.pop(ids[i]).dynamics else {
                        unreachable!()
                    };
                    descs.push(desc(&pops[i], i, block_start, chunks.len() as u32));
                    block_start += blocks(pops[i].n, block);
                    probs.push(m.params.rate_hz * engine.dt_ms / 1000.0);
                    let mut mine = Vec::new();
                    for (c, rng) in m.rngs.iter().enumerate() {
                        let seed = rng.get_seed();
                        let mut key = [0u32; 8];
                        for (w, b) in key.iter_mut().zip(seed.chunks(4)) {
                            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                        }
                        let pos = rng.get_word_pos();
                        assert!(
                            pos.is_multiple_of(2),
                            "Poisson streams draw whole 64-bit words"
                        );
                        let base = (pos / 2) as u64;
                        let len = (pops[i].n - c * CHUNK).min(CHUNK) as u64;
                        mine.push((base, len));
                        chunks.push(SnnkPoissonChunk {
                            key,
                            base,
                            len: len as u32,
                            pad: 0,
                        });
                    }
                    host_chunks.push(mine);
                }
                Some(PoissonGroup {
                    members,
                    descs: kern::upload_descriptors(ctx, &descs)?,
                    p: ctx.upload(&probs)?,
                    chunks: ctx.upload(&chunks)?,
                    host_chunks,
                    n_blocks: block_start,
                })
            }
        };

        // Spike-list sources.
        let lists = {
            let members: Vec<usize> = (0..pops.len())
                .filter(|&i| pops[i].kind == Kind::List)
                .collect();
            if members.is_empty() {
                None
            } else {
                let (mut descs, mut sources, mut steps_b, mut neurons_b) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for &i in &members {
                    descs.push(desc(&pops[i], i, 0, 0));
                    let (steps, neurons): (Option<Vec<u64>>, Vec<u32>) =
                        match &net.pop(ids[i]).dynamics {
                            Dynamics::SpikeTimes(m) => {
                                let ev = m.events();
                                (
                                    Some(ev.iter().map(|e| e.0).collect()),
                                    ev.iter().map(|e| e.1).collect(),
                                )
                            }
                            Dynamics::Observation(m) => (None, m.active.clone()),
                            _ => unreachable!(),
                        };
                    let nb = ctx.upload(&neurons)?;
                    let sb = match &steps {
                        Some(s) => Some(ctx.upload(s)?),
                        None => None,
                    };
                    sources.push(SnnkListSource {
                        steps: sb.as_ref().map_or(std::ptr::null(), |b| b.ptr()),
                        neurons: nb.ptr(),
                        n_events: neurons.len() as u64,
                    });
                    neurons_b.push(nb);
                    if let Some(b) = sb {
                        steps_b.push(b);
                    }
                }
                Some(ListGroup {
                    members,
                    descs: kern::upload_descriptors(ctx, &descs)?,
                    sources: kern::upload_descriptors(ctx, &sources)?,
                    _steps: steps_b,
                    _neurons: neurons_b,
                })
            }
        };

        // Projections, in the CPU's order.
        let sms = ctx.multiprocessors();
        let mut projs = Vec::with_capacity(plans.len());
        for plan in &plans {
            let proj = net.proj(plan.pid);
            let (n_pre, n_post) = (pops[plan.pre].n, pops[plan.post].n);
            let post = &pops[plan.post];
            let receptor = net
                .pop(ids[plan.post])
                .input
                .receptor_index(proj.receptor)
                .expect("validated receptor") as u32;
            let target = SnnkTarget {
                ring: post.ring.as_ref().expect("a neuron model").ptr(),
                ring_len: post.ring_len as u32,
                n_post: n_post as u32,
                receptor,
                pad: 0,
            };
            let w = &proj.weights;
            assert!(
                w.structure().is_csr(),
                "projection weights are CSR by presynaptic neuron"
            );
            let kind = if plan.dense {
                let mut dense = vec![0.0; n_pre * n_post];
                let mut row_nnz = Vec::with_capacity(n_pre);
                for i in 0..n_pre {
                    let ks = w.row(i);
                    row_nnz.push(ks.len() as u32);
                    for k in ks {
                        dense[i * n_post + w.indices()[k] as usize] = w.get(k);
                    }
                }
                let Delays::Uniform(d) = proj.delays else {
                    unreachable!()
                };
                ProjKind::Dense {
                    weights: ctx.upload(&dense)?,
                    row_nnz: ctx.upload(&row_nnz)?,
                    delay: d as u32,
                }
            } else {
                let indptr: Vec<u64> = w.indptr().iter().map(|&x| x as u64).collect();
                let indptr = ctx.upload(&indptr)?;
                let indices = ctx.upload(w.indices())?;
                // A shared weight is expanded for the kernels, here only, for the upload.
                let weights = ctx.upload(&w.expanded())?;
                let (delays, uniform) = match &proj.delays {
                    Delays::Uniform(d) => (None, *d as u32),
                    Delays::PerSynapse(ds) => (Some(ctx.upload(ds)?), 0),
                };
                let mean_row = proj.nnz() / n_pre.max(1);
                let block = (mean_row.max(1).next_power_of_two() as u32).clamp(32, 256);
                let grid = (n_pre as u32).clamp(1, 8 * sms);
                ProjKind::Csr {
                    csr: SnnkCsr {
                        indptr: indptr.ptr(),
                        indices: indices.ptr(),
                        weights: weights.ptr(),
                        delays: delays.as_ref().map_or(std::ptr::null(), |b| b.ptr()),
                        uniform_delay: uniform,
                        n_pre: n_pre as u32,
                    },
                    grid,
                    block,
                    _buffers: (indptr, indices, weights, delays),
                }
            };
            projs.push(ProjDev {
                pre: plan.pre,
                n_pre: n_pre as u32,
                target,
                kind,
            });
        }

        // The spike log: room for `drain_every` steps of every recorded neuron spiking.
        let recorded_neurons: u64 = pops.iter().filter(|p| p.record).map(|p| p.n as u64).sum();
        let recording = recorded_neurons > 0;
        let log_cap = if recording {
            (recorded_neurons * 256)
                .clamp(1 << 20, 1 << 25)
                .max(recorded_neurons)
        } else {
            0
        };
        let drain_every = if recording {
            (log_cap / recorded_neurons).max(1)
        } else {
            u64::MAX
        };

        let n_pops = pops.len();
        Ok(Sim {
            ctx: Arc::clone(ctx),
            pops,
            lif,
            coba,
            poisson,
            lists,
            projs,
            step: ctx.upload(&[engine.step])?,
            counts: ctx.alloc(n_pops)?,
            last_counts: ctx.alloc(n_pops)?,
            totals: ctx.alloc(n_pops)?,
            events: ctx.alloc(1)?,
            log: ctx.alloc((2 * log_cap as usize).max(2))?,
            log_count: ctx.alloc(1)?,
            log_cap: log_cap as u32,
            drain_every,
            recording,
            graphs: None,
            // SNNSIM_GPU_GRAPHS=0: one call per launch, for comparison.
            use_graphs: std::env::var("SNNSIM_GPU_GRAPHS").map_or(true, |v| v != "0"),
            step0: engine.step,
            steps_run: 0,
            drained_to: engine.step,
        })
    }

    fn log(&self) -> SnnkLog {
        SnnkLog {
            entries: self.log.ptr(),
            count: self.log_count.ptr(),
            cap: self.log_cap,
            pad: 0,
        }
    }

    pub(super) fn run(&mut self, engine: &mut Engine, steps: u64) -> KResult<()> {
        let end = engine.step + steps;
        let mut n = engine.step;
        while n < end {
            self.stimuli(engine, n)?;
            if !engine.states.is_empty() {
                self.record_states(engine, n)?;
            }
            if self.recording
                && n > self.drained_to
                && n + GRAPH_STEPS - self.drained_to > self.drain_every
            {
                self.drain(engine, n)?; // room for a whole graph of steps in the log
            }
            let many = n + GRAPH_STEPS <= end
                && engine.states.is_empty()
                && !engine.stimulus_switches_between(n, n + GRAPH_STEPS)
                && (!self.recording || n + GRAPH_STEPS - self.drained_to <= self.drain_every);
            let k = if many { GRAPH_STEPS } else { 1 };
            self.launch_steps(k)?;
            n += k;
            self.steps_run += k;
            engine.step = n;
            if self.recording && n - self.drained_to >= self.drain_every {
                self.drain(engine, n)?;
            }
        }
        if self.recording {
            self.drain(engine, end)?;
        }
        Ok(())
    }

    /// Queues `k` steps (1 or [`GRAPH_STEPS`]): replays of recorded launches where recording
    /// works, else the launches themselves.
    fn launch_steps(&mut self, k: u64) -> KResult<()> {
        if self.use_graphs && self.graphs.is_none() {
            let one = Graph::record(&self.ctx, || self.enqueue_step());
            let many = Graph::record(&self.ctx, || {
                (0..GRAPH_STEPS).try_for_each(|_| self.enqueue_step())
            });
            match (one, many) {
                (Ok(a), Ok(b)) => self.graphs = Some((a, b)),
                _ => self.use_graphs = false, // not recordable here: launch one by one
            }
        }
        match &self.graphs {
            Some((one, many)) if k == GRAPH_STEPS => many.launch(),
            Some((one, _)) => (0..k).try_for_each(|_| one.launch()),
            None => (0..k).try_for_each(|_| self.enqueue_step()),
        }
    }

    /// Queues one step's launches. Their arguments do not depend on the step (the kernels
    /// read it from the device), so the same launches can be recorded once and replayed.
    fn enqueue_step(&self) -> KResult<()> {
        let ctx = &*self.ctx;
        let log = self.log();
        let (counts, totals) = (self.counts.ptr(), self.totals.ptr());
        let step = self.step.ptr().cast_const();
        // SAFETY (all launches below): every address is a live buffer of this context made in
        // `upload` with the sizes the descriptors state; the buffers live as long as `self`.
        unsafe {
            if let Some(g) = &self.lif {
                launch::lif_update(
                    ctx,
                    &g.descs,
                    &g.params,
                    g.n_blocks,
                    [g.cols[0].ptr(), g.cols[1].ptr(), g.cols[2].ptr()],
                    g.i_ext.ptr(),
                    g.refractory.ptr(),
                    step,
                    counts,
                    totals,
                    log,
                )?;
            }
            if let Some(g) = &self.coba {
                launch::coba_update(
                    ctx,
                    &g.descs,
                    &g.params,
                    g.n_blocks,
                    [g.cols[0].ptr(), g.cols[1].ptr(), g.cols[2].ptr()],
                    g.i_ext.ptr(),
                    g.refractory.ptr(),
                    step,
                    counts,
                    totals,
                    log,
                )?;
            }
            if let Some(g) = &self.poisson {
                launch::poisson_update(
                    ctx, &g.descs, &g.p, g.n_blocks, &g.chunks, step, self.step0, counts, totals,
                    log,
                )?;
            }
            if let Some(g) = &self.lists {
                launch::list_source_update(ctx, &g.descs, &g.sources, step, counts, totals, log)?;
            }
            for p in &self.projs {
                let pre = &self.pops[p.pre];
                let count = self.counts.ptr_at(p.pre);
                match &p.kind {
                    ProjKind::Csr {
                        csr, grid, block, ..
                    } => launch::propagate_csr(
                        ctx,
                        *csr,
                        pre.spikes.ptr(),
                        count,
                        p.target,
                        step,
                        *grid,
                        *block,
                        self.events.ptr(),
                    )?,
                    ProjKind::Dense {
                        weights,
                        row_nnz,
                        delay,
                    } => launch::propagate_dense(
                        ctx,
                        weights.ptr(),
                        row_nnz.ptr(),
                        p.n_pre,
                        pre.last_spike.as_ref().expect("dense pre").ptr(),
                        count,
                        p.target,
                        *delay,
                        step,
                        self.events.ptr(),
                    )?,
                }
            }
            launch::end_step(ctx, &self.step, &self.counts, &self.last_counts)
        }
    }

    /// Rewrites and uploads the external current of the populations whose stimuli switch at
    /// step `n` (all stimulated populations at the first step), as the engine does.
    fn stimuli(&mut self, engine: &mut Engine, n: u64) -> KResult<()> {
        let ids = engine.net.pop_ids();
        for id in engine.rewrite_stimuli(n, n == self.step0) {
            let i = ids.iter().position(|&x| x == id).expect("a population");
            let pd = &self.pops[i];
            let col = engine
                .net
                .pop_mut(id)
                .dynamics
                .external_current_mut()
                .expect("validated target");
            let group = match pd.kind {
                Kind::Lif => self.lif.as_mut().map(|g| &mut g.i_ext),
                Kind::Coba => self.coba.as_mut().map(|g| &mut g.i_ext),
                _ => None,
            };
            if let Some(buf) = group {
                buf.write(pd.offset, col)?;
            }
        }
        Ok(())
    }

    /// State recorders sample after delivery, before integration: bring the recorded
    /// populations' columns and this step's delivered input to the host and let them record.
    fn record_states(&mut self, engine: &mut Engine, n: u64) -> KResult<()> {
        let ids = engine.net.pop_ids();
        let names: BTreeSet<String> = engine.states.iter().map(|r| r.population.clone()).collect();
        for name in &names {
            let i = self
                .pops
                .iter()
                .position(|p| &p.name == name)
                .expect("recorded population");
            self.pull_population(engine, ids[i], i, Some(n))?;
        }
        for rec in &mut engine.states {
            rec.record(&engine.net, n).map_err(recording_failed)?;
        }
        for name in &names {
            let p = engine
                .net
                .population_mut(name)
                .expect("recorded population");
            for d in &mut p.due {
                d.iter_mut().for_each(|x| *x = 0.0);
            }
        }
        Ok(())
    }

    /// Copies a neuron population's columns to the host; with `due_step`, also the input
    /// slot due at that step into its `due` buffers, else every ring slot into its rings.
    fn pull_population(
        &self,
        engine: &mut Engine,
        id: crate::graph::PopId,
        i: usize,
        due_step: Option<u64>,
    ) -> KResult<()> {
        let pd = &self.pops[i];
        let g = match pd.kind {
            Kind::Lif => self.lif.as_ref().map(|g| (&g.cols, &g.refractory)),
            Kind::Coba => self.coba.as_ref().map(|g| (&g.cols, &g.refractory)),
            _ => None,
        };
        let Some((cols, refr)) = g else {
            return Ok(());
        };
        let p = engine.net.pop_mut(id);
        let (host_cols, host_refr, _) = neuron_columns_mut(&mut p.dynamics);
        for (dev, host) in cols.iter().zip(host_cols) {
            dev.read(pd.offset, host)?;
        }
        refr.read(pd.offset, host_refr)?;
        let ring = pd.ring.as_ref().expect("neuron model");
        let len = pd.ring_len;
        match due_step {
            Some(n) => {
                let s = (n % len as u64) as usize;
                for (r, d) in p.due.iter_mut().enumerate() {
                    ring.read((r * len + s) * pd.n, d)?;
                }
            }
            None => {
                for (k, slot) in p.input.slots.iter_mut().enumerate() {
                    ring.read(k * pd.n, slot)?;
                }
            }
        }
        Ok(())
    }

    /// Reads the spike log (steps `drained_to..upto`) into the engine's spike recorder.
    fn drain(&mut self, engine: &mut Engine, upto: u64) -> KResult<()> {
        let mut c = [0u32];
        self.log_count.read(0, &mut c)?;
        let count = c[0].min(self.log_cap) as usize;
        assert!(c[0] <= self.log_cap, "the spike log overflowed");
        let mut raw = vec![0u32; 2 * count];
        self.log.read(0, &mut raw)?;
        self.log_count.zero(0, 1)?;
        let from = self.drained_to;
        let mut ev: Vec<(u64, u32)> = raw
            .chunks_exact(2)
            .map(|e| (from + e[0].wrapping_sub(from as u32) as u64, e[1]))
            .collect();
        ev.sort_unstable();
        let recorded: Vec<usize> = (0..self.pops.len())
            .filter(|&i| self.pops[i].record)
            .collect();
        let ids = engine.net.pop_ids();
        let mut at = 0;
        for s in from..upto {
            for &i in &recorded {
                engine.net.pop_mut(ids[i]).spikes.clear();
            }
            while at < ev.len() && ev[at].0 == s {
                let g = ev[at].1;
                let k = recorded.partition_point(|&i| self.pops[i].global_base <= g) - 1;
                let i = recorded[k];
                engine
                    .net
                    .pop_mut(ids[i])
                    .spikes
                    .push(g - self.pops[i].global_base);
                at += 1;
            }
            engine
                .spikes
                .record(&engine.net, s)
                .map_err(recording_failed)?;
        }
        debug_assert_eq!(at, ev.len(), "log entries outside the drained steps");
        self.drained_to = upto;
        Ok(())
    }

    /// Writes the device state back into the engine.
    pub(super) fn download(&mut self, engine: &mut Engine) -> KResult<()> {
        self.ctx.sync()?;
        if self.steps_run == 0 {
            return Ok(());
        }
        let ids = engine.net.pop_ids();
        let counts = self.last_counts.to_vec()?;
        let totals = self.totals.to_vec()?;
        for (i, &id) in ids.iter().enumerate() {
            self.pull_population(engine, id, i, None)?;
            let pd = &self.pops[i];
            let p = engine.net.pop_mut(id);
            for d in &mut p.due {
                d.iter_mut().for_each(|x| *x = 0.0);
            }
            let mut last = vec![0u32; counts[i] as usize];
            pd.spikes.read(0, &mut last)?;
            last.sort_unstable();
            p.spikes = last;
            p.spike_count += totals[i];
        }
        if let Some(g) = &self.poisson {
            for (k, &i) in g.members.iter().enumerate() {
                let Dynamics::Poisson(m) = &mut engine.net.pop_mut(ids[i]).dynamics else {
                    unreachable!()
                };
                for (rng, &(base, len)) in m.rngs.iter_mut().zip(&g.host_chunks[k]) {
                    rng.set_word_pos(2 * (base + self.steps_run * len) as u128);
                }
            }
        }
        if let Some(g) = &self.lists {
            for &i in &g.members {
                if let Dynamics::SpikeTimes(m) = &mut engine.net.pop_mut(ids[i]).dynamics {
                    m.cursor = m.events().partition_point(|e| e.0 < engine.step);
                }
            }
        }
        engine.synaptic_events += self.events.to_vec()?[0];
        Ok(())
    }
}

/// A recorder that could not grow, as the error of the device run that drains into it.
fn recording_failed(e: crate::Error) -> GpuError {
    GpuError {
        // A host-side failure: no runtime code; the shim's generic one.
        code: kern::ffi::ERR_BAD_ARGUMENT,
        message: e.to_string(),
    }
}
