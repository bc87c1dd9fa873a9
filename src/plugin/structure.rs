//! Structural-policy instances (plugin kind `structure`, ABI 1.3; `simulate` from 1.4): the host's safe side of
//! [`StructureVTableV1`]. The host hands a policy the activity of each batch
//! ([`StructureInstance::observe`]) and the population as it is ([`StructureInstance::decide`],
//! which collects the edits the policy asks for through a sink of host functions); applying
//! the edits is the caller's (a trainer's graph edits), after which it reports the new neuron
//! order ([`StructureInstance::resize`]) and asks again.

use super::host::{checked_call, params_error};
use snnsim_plugin_api::abi::*;
use std::ffi::c_void;

/// A structural policy living in a plugin.
#[derive(Debug)]
pub struct StructureInstance {
    /// Plugin name.
    pub plugin: String,
    vt: &'static StructureVTableV1,
    this: *mut c_void,
    poisoned: Option<String>,
}

// SAFETY: the SDK requires `StructurePolicy: Send`; one thread uses an instance at a time.
unsafe impl Send for StructureInstance {}

pub(super) fn create(
    name: &str,
    vt: &'static StructureVTableV1,
    params: &str,
) -> crate::Result<StructureInstance> {
    let mut this: *mut c_void = std::ptr::null_mut();
    let mut poisoned = None;
    // SAFETY: arguments are valid for the call; `this` receives a pointer owned by the plugin.
    checked_call(name, "create", &mut poisoned, |err| unsafe {
        (vt.create)(StrRef::new(params), &mut this, err)
    })
    .map_err(params_error)?;
    Ok(StructureInstance {
        plugin: name.to_string(),
        vt,
        this,
        poisoned: None,
    })
}

/// The SDK's types are the host's too: what a policy is handed and what it asks for.
pub use snnsim_plugin_api::{Activity, Edits, Group, Population, ProjView, Role, SimProj, SimView};

/// A neuron index from the ABI; one beyond u32 becomes u32::MAX, which every edit refuses as
/// out of range.
fn index(i: u64) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

unsafe extern "C" fn edit_grow(ctx: *mut c_void, n: u64, noise: f64) {
    let e = &mut *(ctx as *mut Edits);
    let (before, _) = e.grow.unwrap_or((0, noise));
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    e.grow = Some((before.saturating_add(n), noise));
}

unsafe extern "C" fn edit_remove(ctx: *mut c_void, id: u64) {
    (*(ctx as *mut Edits)).remove.push(id);
}

unsafe extern "C" fn edit_add_synapse(ctx: *mut c_void, proj: StrRef, pre: u64, post: u64, w: f64) {
    let e = &mut *(ctx as *mut Edits);
    e.add_synapses
        .push((proj.to_str().into_owned(), index(pre), index(post), w));
}

unsafe extern "C" fn edit_remove_synapse(ctx: *mut c_void, proj: StrRef, pre: u64, post: u64) {
    let e = &mut *(ctx as *mut Edits);
    e.remove_synapses
        .push((proj.to_str().into_owned(), index(pre), index(post)));
}

impl StructureInstance {
    /// The activity of one batch.
    pub fn observe(&mut self, a: &Activity) -> crate::Result<()> {
        let (vt, this) = (self.vt, self.this);
        let raw = ActivityV1 {
            episodes_done: a.episodes_done,
            n: a.spikes.len() as u64,
            spikes: a.spikes.as_ptr(),
            steps: a.steps,
            n_episodes: a.returns.len().min(a.food.len()) as u64,
            returns: a.returns.as_ptr(),
            food: a.food.as_ptr(),
        };
        // SAFETY: the slices live for the call.
        checked_call(&self.plugin, "observe", &mut self.poisoned, |err| unsafe {
            (vt.observe)(this, &raw, err)
        })
    }

    /// The edits the policy asks for now.
    pub fn decide(&mut self, p: &Population) -> crate::Result<Edits> {
        let (vt, this) = (self.vt, self.this);
        let projections: Vec<ProjViewV1> = p
            .projections
            .iter()
            .map(|v| ProjViewV1 {
                name: StrRef::new(v.name),
                role: match v.role {
                    Role::Incoming => ROLE_INCOMING,
                    Role::Outgoing => ROLE_OUTGOING,
                    Role::Recurrent => ROLE_RECURRENT,
                },
                reserved: 0,
                n_pre: v.n_pre as u64,
                n_post: v.n_post as u64,
                nnz: v.indices.len() as u64,
                indptr: v.indptr.as_ptr(),
                indices: v.indices.as_ptr(),
                weights: v.weights.as_ptr(),
            })
            .collect();
        let n = p.ids.len();
        for a in [p.w_in_norm, p.w_out_norm, p.grad_in_norm, p.grad_out_norm] {
            assert_eq!(a.len(), n, "per-neuron arrays of the population's size");
        }
        assert_eq!(p.age.len(), n, "per-neuron arrays of the population's size");
        let raw = PopulationV1 {
            episodes_done: p.episodes_done,
            round: p.round,
            reserved: 0,
            n: n as u64,
            ids: p.ids.as_ptr(),
            age: p.age.as_ptr(),
            w_in_norm: p.w_in_norm.as_ptr(),
            w_out_norm: p.w_out_norm.as_ptr(),
            grad_in_norm: p.grad_in_norm.as_ptr(),
            grad_out_norm: p.grad_out_norm.as_ptr(),
            projections: projections.as_ptr(),
            n_projections: projections.len() as u64,
        };
        let mut edits = Edits::default();
        let mut sink = self.sink(&mut edits);
        // SAFETY: the view, its arrays and the sink's target live for the call.
        checked_call(&self.plugin, "decide", &mut self.poisoned, |err| unsafe {
            (vt.decide)(this, &raw, &mut sink, err)
        })?;
        Ok(edits)
    }

    /// Whether the plugin runs in simulations (ABI 1.4's `simulate`).
    pub fn simulates(&self) -> bool {
        self.vt.header.vtable_size as usize >= std::mem::size_of::<StructureVTableV1>()
    }

    /// A simulation's interval ended: the edits the policy asks for now.
    pub fn simulate(&mut self, v: &SimView) -> crate::Result<Edits> {
        if !self.simulates() {
            return Err(crate::plugin::error(
                &self.plugin,
                crate::plugin::PluginErrorKind::Failed,
                "built for plugin ABI 1.3, which has no `simulate`: rebuild it to run in a simulation",
            ));
        }
        let (vt, this) = (self.vt, self.this);
        let groups: Vec<SimGroupV1> = v
            .groups
            .iter()
            .map(|g| {
                assert_eq!(g.ids.len(), g.spikes.len(), "a spike count per neuron");
                SimGroupV1 {
                    name: StrRef::new(g.name),
                    n: g.ids.len() as u64,
                    ids: g.ids.as_ptr(),
                    spikes: g.spikes.as_ptr(),
                }
            })
            .collect();
        let at = |i: Option<usize>| i.map_or(NOT_WATCHED, |i| i as u64);
        let projections: Vec<SimProjV1> = v
            .projections
            .iter()
            .map(|p| SimProjV1 {
                name: StrRef::new(p.name),
                pre: at(p.pre),
                post: at(p.post),
                n_pre: p.n_pre as u64,
                n_post: p.n_post as u64,
                nnz: p.indices.len() as u64,
                indptr: p.indptr.as_ptr(),
                indices: p.indices.as_ptr(),
                weights: p.weights.as_ptr(),
            })
            .collect();
        let raw = SimViewV1 {
            time_ms: v.time_ms,
            dt_ms: v.dt_ms,
            step: v.step,
            interval_steps: v.interval_steps,
            seed: v.seed,
            groups: groups.as_ptr(),
            n_groups: groups.len() as u64,
            projections: projections.as_ptr(),
            n_projections: projections.len() as u64,
        };
        let mut edits = Edits::default();
        let mut sink = self.sink(&mut edits);
        // SAFETY: the view, its arrays and the sink's target live for the call; the vtable
        // has `simulate` (checked above).
        checked_call(&self.plugin, "simulate", &mut self.poisoned, |err| unsafe {
            (vt.simulate)(this, &raw, &mut sink, err)
        })?;
        Ok(edits)
    }

    /// A sink that collects edits into `edits`.
    fn sink(&self, edits: &mut Edits) -> EditSinkV1 {
        EditSinkV1 {
            ctx: edits as *mut Edits as *mut c_void,
            grow: edit_grow,
            remove: edit_remove,
            add_synapse: edit_add_synapse,
            remove_synapse: edit_remove_synapse,
        }
    }

    /// The population's neurons changed: `map[k]` is the old index of new neuron k, or `NEW`.
    pub fn resize(&mut self, map: &[u64]) -> crate::Result<()> {
        let (vt, this) = (self.vt, self.this);
        // SAFETY: the map lives for the call.
        checked_call(&self.plugin, "resize", &mut self.poisoned, |err| unsafe {
            (vt.resize)(this, map.as_ptr(), map.len() as u64, err)
        })
    }
}

super::host::instance_lifecycle!(StructureInstance);
