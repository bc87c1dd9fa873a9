//! The full state of a network in a checkpoint: every population's stable ids, state columns,
//! refractory counters, external currents, spikes of the last step, spike counts, random
//! streams (Poisson chunks) and source cursors, the input in flight in its delay rings; every
//! projection's CSR matrix (a shared weight as its one value), delays and traces; and the
//! generation. A network is restored onto
//! one freshly built from the same graph file: populations are resized where the checkpoint's
//! structure differs (growth, pruning) and every value is then overwritten.

use super::codec::{Dec, DecResult, Enc};
use crate::error::Result;
use crate::graph::{Delays, Network, ProjId, Projection, WeightValues, Weights};
use crate::models::{chunks, Dynamics};
use std::ops::Range;

fn refractory_mut(d: &mut Dynamics) -> Option<&mut Vec<u32>> {
    match d {
        Dynamics::Lif(m) => Some(&mut m.refractory),
        Dynamics::LifAlpha(m) => Some(&mut m.refractory),
        Dynamics::CobaLif(m) => Some(&mut m.refractory),
        Dynamics::AdEx(m) => Some(&mut m.refractory),
        Dynamics::Qif(m) => Some(&mut m.refractory),
        Dynamics::HodgkinHuxley(m) => Some(&mut m.refractory),
        _ => None,
    }
}

/// Writes the state of `net`.
pub fn encode(net: &mut Network, e: &mut Enc) {
    encode_with(net, e, &mut |net, pid, e| {
        synapses(net.proj(pid), e);
        Ok(())
    })
    .expect("writing a network's own synapses cannot fail");
}

/// Writes a projection's synapses and traces in [`synapses`]' layout.
pub type SynapseWriter<'f> = dyn FnMut(&Network, ProjId, &mut Enc) -> Result<()> + 'f;

/// [`encode`], each projection's synapses and traces written by `synapses` (a split
/// simulation's rank 0 streams them from the ranks).
pub fn encode_with(net: &mut Network, e: &mut Enc, synapses: &mut SynapseWriter) -> Result<()> {
    e.u64(net.generation);
    let ids = net.pop_ids();
    e.u64(ids.len() as u64);
    for id in ids {
        let p = net.pop_mut(id);
        e.str(&p.name);
        e.str(p.dynamics.kind());
        e.u64(p.len() as u64);
        e.u64s(&p.neuron_ids);
        e.u64(p.next_neuron_id);
        e.u64(p.spike_count);
        e.u32s(&p.spikes);
        let cols = p.dynamics.columns();
        e.u64(cols.len() as u64);
        for (name, col) in cols {
            e.str(name);
            e.reals(col);
        }
        e.u32s(p.dynamics.refractory());
        match p.dynamics.external_current_mut() {
            Some(c) => {
                e.u8(1);
                e.reals(c);
            }
            None => e.u8(0),
        }
        match &p.dynamics {
            Dynamics::Poisson(m) => {
                e.u64(m.rngs.len() as u64);
                for r in &m.rngs {
                    e.rng(r);
                }
            }
            Dynamics::SpikeTimes(m) => e.u64(m.cursor as u64),
            Dynamics::Observation(m) => e.u32s(&m.active),
            _ => {}
        }
        e.u64(p.input.len as u64);
        e.u64(p.input.slots.len() as u64);
        for s in &p.input.slots {
            e.reals(s);
        }
        e.u64(p.due.len() as u64);
        for d in &p.due {
            e.reals(d);
        }
    }
    let projs = net.proj_ids();
    e.u64(projs.len() as u64);
    for id in projs {
        let (a, b) = net.endpoints(id);
        let (pre, post) = (net.pop(a).name.clone(), net.pop(b).name.clone());
        let pr = net.proj(id);
        e.str(&pr.name);
        e.str(&pre);
        e.str(&post);
        let (rows, cols) = pr.weights.shape();
        e.u64(rows as u64);
        e.u64(cols as u64);
        synapses(net, id, e)?;
    }
    Ok(())
}

/// A projection's synapses (row pointers, targets, weights: a shared one as its one value,
/// delays) and its traces.
pub fn synapses(pr: &Projection, e: &mut Enc) {
    let indptr: Vec<u64> = pr.weights.indptr().iter().map(|&x| x as u64).collect();
    e.u64s(&indptr);
    e.u32s(pr.weights.indices());
    // One value per synapse, or the shared weight alone (one value where nnz ≠ 1).
    match pr.weights.values() {
        WeightValues::PerSynapse(v) => e.reals(v),
        WeightValues::Shared(w) => e.reals(&[*w]),
    }
    match &pr.delays {
        Delays::Uniform(d) => {
            e.u8(0);
            e.u16s(&[*d]);
        }
        Delays::PerSynapse(v) => {
            e.u8(1);
            e.u16s(v);
        }
    }
    e.f64s(&pr.traces.pre);
    e.f64s(&pr.traces.post);
}

fn check(ok: bool, what: impl FnOnce() -> String) -> DecResult<()> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

/// Restores the state written by [`encode`] onto `net`, built from the same graph file.
pub fn restore(net: &mut Network, d: &mut Dec) -> DecResult<()> {
    restore_cut(net, d, None).map(drop)
}

/// A projection cut to a block of its targets while it was restored ([`restore_cut`]).
#[derive(Debug)]
pub struct Cut {
    /// The projection.
    pub proj: ProjId,
    /// Its synapses in the checkpoint (the whole projection).
    pub nnz: usize,
    /// Per row, the range of the whole's synapses kept (their targets ascend in a row).
    pub kept: Vec<Range<usize>>,
}

/// Which targets a rank keeps of a population: its block.
pub type Blocks<'f> = dyn Fn(&crate::graph::Population) -> Range<usize> + 'f;

/// [`restore`] onto a network whose projections hold only the synapses into a block of
/// their targets (one rank's part, `Engine::from_file_on`): each projection of the
/// checkpoint is cut to `blocks` of its postsynaptic population as it is read, so that the
/// whole is never held; its populations are whole. Returns the projections cut.
pub fn restore_cut(net: &mut Network, d: &mut Dec, blocks: Option<&Blocks>) -> DecResult<Vec<Cut>> {
    let mut cuts = Vec::new();
    let generation = d.u64()?;
    let n_pops = d.u64()? as usize;
    check(n_pops == net.population_count(), || {
        format!(
            "{n_pops} populations, but the graph file builds {}",
            net.population_count()
        )
    })?;
    for _ in 0..n_pops {
        let name = d.str()?;
        let id = net
            .pop_id(&name)
            .ok_or_else(|| format!("population `{name}` is not in the graph file"))?;
        let p = net.pop_mut(id);
        let kind = d.str()?;
        check(kind == p.dynamics.kind(), || {
            format!(
                "population `{name}` is {kind}, the graph file says {}",
                p.dynamics.kind()
            )
        })?;
        let n = d.u64()? as usize;
        if n != p.len() {
            let keep = n.min(p.len()) as u64;
            let map: Vec<u64> = (0..keep)
                .chain(std::iter::repeat_n(
                    snnsim_plugin_api::abi::NEW,
                    n - keep as usize,
                ))
                .collect();
            p.dynamics.remap(&map, 0, &name)?;
        }
        let ids = d.u64s()?;
        check(ids.len() == n, || {
            format!("`{name}`: {} ids for {n} neurons", ids.len())
        })?;
        p.neuron_ids = ids;
        p.next_neuron_id = d.u64()?;
        p.spike_count = d.u64()?;
        p.spikes = d.u32s()?;
        check(p.spikes.iter().all(|&i| (i as usize) < n), || {
            format!("`{name}`: a spike index is out of range")
        })?;
        let n_cols = d.u64()? as usize;
        check(n_cols == p.dynamics.columns().len(), || {
            format!("`{name}`: {n_cols} state columns, the model has a different number")
        })?;
        for _ in 0..n_cols {
            let col = d.str()?;
            let values = d.reals()?;
            let dst = p
                .dynamics
                .column_mut(&col)
                .ok_or_else(|| format!("`{name}` has no state column `{col}`"))?;
            check(dst.len() == values.len(), || {
                format!("`{name}.{col}`: {} values for {n} neurons", values.len())
            })?;
            dst.copy_from_slice(&values);
        }
        let refr = d.u32s()?;
        match refractory_mut(&mut p.dynamics) {
            Some(r) => {
                check(r.len() == refr.len(), || {
                    format!("`{name}`: refractory counters of the wrong length")
                })?;
                *r = refr;
            }
            None => check(refr.is_empty(), || {
                format!("`{name}`: refractory counters for a model without them")
            })?,
        }
        if d.u8()? == 1 {
            let cur = d.reals()?;
            let dst = p
                .dynamics
                .external_current_mut()
                .ok_or_else(|| format!("`{name}` takes no external current"))?;
            check(dst.len() == cur.len(), || {
                format!("`{name}`: external current of the wrong length")
            })?;
            dst.copy_from_slice(&cur);
        }
        match &mut p.dynamics {
            Dynamics::Poisson(m) => {
                let k = d.u64()? as usize;
                check(k == chunks(n), || {
                    format!("`{name}`: {k} random streams for {n} neurons")
                })?;
                m.rngs = (0..k).map(|_| d.rng()).collect::<DecResult<_>>()?;
            }
            Dynamics::SpikeTimes(m) => {
                let c = d.u64()? as usize;
                check(c <= m.events().len(), || {
                    format!("`{name}`: cursor out of range")
                })?;
                m.cursor = c;
            }
            Dynamics::Observation(m) => {
                let active = d.u32s()?;
                check(active.iter().all(|&i| (i as usize) < n), || {
                    format!("`{name}`: an active input is out of range")
                })?;
                m.active = active;
            }
            _ => {}
        }
        let len = d.u64()? as usize;
        let n_slots = d.u64()? as usize;
        check(n_slots == p.input.receptors.len() * len && len >= 1, || {
            format!("`{name}`: {n_slots} ring slots of length {len}")
        })?;
        let slots = (0..n_slots)
            .map(|_| d.reals())
            .collect::<DecResult<Vec<_>>>()?;
        check(slots.iter().all(|s| s.len() == n), || {
            format!("`{name}`: a ring slot has the wrong length")
        })?;
        p.input.slots = slots;
        p.input.len = len;
        p.input.n = n;
        let n_due = d.u64()? as usize;
        check(n_due == p.due.len(), || {
            format!("`{name}`: {n_due} input buffers")
        })?;
        let due = (0..n_due)
            .map(|_| d.reals())
            .collect::<DecResult<Vec<_>>>()?;
        check(due.iter().all(|s| s.len() == n), || {
            format!("`{name}`: an input buffer has the wrong length")
        })?;
        p.due = due;
        p.chunk_spikes = vec![Vec::new(); chunks(n)];
    }
    let n_projs = d.u64()? as usize;
    check(n_projs == net.projection_count(), || {
        format!(
            "{n_projs} projections, but the graph file builds {}",
            net.projection_count()
        )
    })?;
    for _ in 0..n_projs {
        let name = d.str()?;
        let id = net
            .proj_id(&name)
            .ok_or_else(|| format!("projection `{name}` is not in the graph file"))?;
        let (pre, post) = (d.str()?, d.str()?);
        let (a, b) = net.endpoints(id);
        let (n_pre, n_post) = (net.pop(a).len(), net.pop(b).len());
        check(net.pop(a).name == pre && net.pop(b).name == post, || {
            format!("projection `{name}` joins other populations in the graph file")
        })?;
        let (rows, cols) = (d.u64()? as usize, d.u64()? as usize);
        check((rows, cols) == (n_pre, n_post), || {
            format!("projection `{name}` is {rows}×{cols}, its populations {n_pre}×{n_post}")
        })?;
        let indptr: Vec<usize> = d.u64s()?.into_iter().map(|x| x as usize).collect();
        check(indptr.len() == rows + 1, || {
            format!(
                "projection `{name}`: {} row pointers for {rows} rows",
                indptr.len()
            )
        })?;
        let block = blocks.map(|f| f(net.pop(b)));
        let (mut weights, kept) = match &block {
            None => (read_weights(d, &name, (rows, cols), indptr)?, None),
            Some(block) => {
                let (w, kept) = read_weights_cut(d, &name, rows, &indptr, block)?;
                (w, Some((kept, indptr[rows])))
            }
        };
        let pick = |raw: &[u8], size: usize| -> Vec<u8> {
            match &kept {
                None => raw.to_vec(),
                Some((kept, _)) => kept
                    .iter()
                    .flat_map(|r| &raw[r.start * size..r.end * size])
                    .copied()
                    .collect(),
            }
        };
        let tag = d.u8()?;
        let dl = {
            let raw = d.column_bytes(2)?;
            let all = raw.len() / 2;
            let raw = if tag == 1 && kept.is_some() {
                pick(raw, 2)
            } else {
                raw.to_vec()
            };
            (
                all,
                raw.chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect::<Vec<_>>(),
            )
        };
        let whole_nnz = kept.as_ref().map_or(weights.nnz(), |k| k.1);
        let delays = match (tag, dl) {
            (0, (1, dl)) => Delays::Uniform(dl[0]),
            (1, (n, dl)) if n == whole_nnz => Delays::PerSynapse(dl),
            _ => return Err(format!("projection `{name}`: bad delays")),
        };
        // Zero only where the file made a zero-delay projection (delivered within the step).
        let zero_built = matches!(net.proj(id).delays, Delays::Uniform(0));
        check(
            delays.min() >= 1 || (zero_built && matches!(delays, Delays::Uniform(0))),
            || format!("projection `{name}`: a delay below one step"),
        )?;
        let (tpre, mut tpost) = (d.f64s()?, d.f64s()?);
        check(
            (tpre.is_empty() || tpre.len() == n_pre) && (tpost.is_empty() || tpost.len() == n_post),
            || format!("projection `{name}`: traces of the wrong length"),
        )?;
        if let (Some(block), false) = (&block, tpost.is_empty()) {
            tpost = tpost[block.clone()].to_vec();
        }
        let ring_len = net.pop(b).input.len;
        check((delays.max() as usize) < ring_len, || {
            format!("projection `{name}`: a delay longer than the rings of `{post}`")
        })?;
        let pr = net.proj_mut(id);
        // A projection with its own weights (a learning rule's) keeps them per synapse.
        if pr.weights.per_synapse().is_some() {
            weights.make_per_synapse();
        }
        pr.weights = weights;
        pr.delays = delays;
        pr.traces.pre = tpre;
        pr.traces.post = tpost;
        if let Some((kept, nnz)) = kept {
            cuts.push(Cut {
                proj: id,
                nnz,
                kept,
            });
        }
    }
    net.generation = generation;
    Ok(cuts)
}

/// A projection's weights as the checkpoint holds them whole.
fn read_weights(
    d: &mut Dec,
    name: &str,
    shape: (usize, usize),
    indptr: Vec<usize>,
) -> DecResult<Weights> {
    let indices = d.u32s()?;
    let data = d.reals()?;
    let values = if data.len() == indices.len() {
        WeightValues::PerSynapse(data)
    } else if data.len() == 1 {
        WeightValues::Shared(data[0])
    } else {
        return Err(format!(
            "projection `{name}`: {} weights for {} synapses",
            data.len(),
            indices.len()
        ));
    };
    Weights::try_from_parts(shape, indptr, indices, values)
        .map_err(|e| format!("projection `{name}`: bad CSR matrix: {e}"))
}

/// A projection's weights cut to the targets in `block` (renumbered from its start) as they
/// are read, and per row the range of the whole's synapses kept.
fn read_weights_cut(
    d: &mut Dec,
    name: &str,
    rows: usize,
    indptr: &[usize],
    block: &Range<usize>,
) -> DecResult<(Weights, Vec<Range<usize>>)> {
    let raw = d.column_bytes(4)?;
    let nnz = raw.len() / 4;
    check(
        indptr[rows] == nnz && indptr.windows(2).all(|w| w[0] <= w[1]),
        || format!("projection `{name}`: bad row pointers"),
    )?;
    let col = |k: usize| u32::from_le_bytes(raw[4 * k..4 * k + 4].try_into().expect("4 bytes"));
    let (lo, hi) = (block.start as u32, block.end as u32);
    let mut kept = Vec::with_capacity(rows);
    let mut new_ptr = Vec::with_capacity(rows + 1);
    new_ptr.push(0usize);
    let mut cols = Vec::new();
    for i in 0..rows {
        let (a, z) = (indptr[i], indptr[i + 1]);
        check((a + 1..z).all(|k| col(k - 1) < col(k)), || {
            format!("projection `{name}`: the targets of row {i} do not ascend")
        })?;
        let first = a + (a..z).take_while(|&k| col(k) < lo).count();
        let end = first + (first..z).take_while(|&k| col(k) < hi).count();
        cols.extend((first..end).map(|k| col(k) - lo));
        new_ptr.push(cols.len());
        kept.push(first..end);
    }
    let data = d.column_bytes(8)?;
    let real = |k: usize| {
        f64::from_le_bytes(data[8 * k..8 * k + 8].try_into().expect("8 bytes")) as crate::Real
    };
    let values = if data.len() == raw.len() * 2 {
        WeightValues::PerSynapse(kept.iter().flat_map(|r| r.clone().map(real)).collect())
    } else if data.len() == 8 {
        WeightValues::Shared(real(0))
    } else {
        return Err(format!(
            "projection `{name}`: {} weights for {nnz} synapses",
            data.len() / 8
        ));
    };
    let w = Weights::try_from_parts((rows, block.len()), new_ptr, cols, values)
        .map_err(|e| format!("projection `{name}`: bad CSR matrix: {e}"))?;
    Ok((w, kept))
}
