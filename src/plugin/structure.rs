//! Structural-policy instances (plugin kind `structure`, ABI 1.3): the host's safe side of
//! [`StructureVTableV1`]. The host hands a policy the activity of each batch
//! ([`StructureInstance::observe`]) and the population as it is ([`StructureInstance::decide`],
//! which collects the edits the policy asks for through a sink of host functions); applying
//! the edits is the caller's (a trainer's graph edits), after which it reports the new neuron
//! order ([`StructureInstance::resize`]) and asks again.

use super::host::{checked_call, params_error, sink_write};
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

/// The activity of one batch (see [`ActivityV1`]).
#[derive(Debug, Clone, Copy)]
pub struct Activity<'a> {
    /// Episodes completed, this batch included.
    pub episodes_done: u64,
    /// Spikes of each neuron over the batch.
    pub spikes: &'a [f64],
    /// Simulation steps each neuron ran.
    pub steps: f64,
    /// Return of each episode.
    pub returns: &'a [f64],
    /// Food of each episode.
    pub food: &'a [f64],
}

/// One projection incident to the edited population.
#[derive(Debug, Clone, Copy)]
pub struct IncidentProjection<'a> {
    /// Name.
    pub name: &'a str,
    /// [`ROLE_INCOMING`], [`ROLE_OUTGOING`] or [`ROLE_RECURRENT`].
    pub role: u32,
    /// Presynaptic neurons.
    pub n_pre: usize,
    /// Postsynaptic neurons.
    pub n_post: usize,
    /// Row offsets.
    pub indptr: &'a [usize],
    /// Post indices.
    pub indices: &'a [u32],
    /// Weights.
    pub weights: &'a [f64],
}

/// The edited population as a policy sees it (see [`PopulationV1`]).
#[derive(Debug, Clone)]
pub struct PopulationView<'a> {
    /// Episodes completed.
    pub episodes_done: u64,
    /// Round of the check.
    pub round: u32,
    /// Stable ids.
    pub ids: &'a [u64],
    /// Episodes since each neuron was added.
    pub age: &'a [u64],
    /// Incoming weight norms.
    pub w_in_norm: &'a [f64],
    /// Outgoing weight norms.
    pub w_out_norm: &'a [f64],
    /// Incoming gradient norms of the last update.
    pub grad_in_norm: &'a [f64],
    /// Outgoing gradient norms of the last update.
    pub grad_out_norm: &'a [f64],
    /// Incident projections, in name order.
    pub projections: Vec<IncidentProjection<'a>>,
}

/// The edits a policy asked for in one call, in the order the host applies them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edits {
    /// Stable ids of neurons to remove.
    pub remove: Vec<u64>,
    /// Synapses to remove: (projection, pre, post).
    pub remove_synapses: Vec<(String, u64, u64)>,
    /// Synapses to add: (projection, pre, post, weight).
    pub add_synapses: Vec<(String, u64, u64, f64)>,
    /// Neurons to add and the noise on their input weights.
    pub grow: Option<(u64, f64)>,
}

impl Edits {
    /// Whether nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty()
            && self.grow.is_none()
            && self.add_synapses.is_empty()
            && self.remove_synapses.is_empty()
    }
}

unsafe extern "C" fn edit_grow(ctx: *mut c_void, n: u64, noise: f64) {
    let e = &mut *(ctx as *mut Edits);
    let (before, _) = e.grow.unwrap_or((0, noise));
    e.grow = Some((before.saturating_add(n), noise));
}

unsafe extern "C" fn edit_remove(ctx: *mut c_void, id: u64) {
    (*(ctx as *mut Edits)).remove.push(id);
}

unsafe extern "C" fn edit_add_synapse(ctx: *mut c_void, proj: StrRef, pre: u64, post: u64, w: f64) {
    let e = &mut *(ctx as *mut Edits);
    e.add_synapses
        .push((proj.to_str().into_owned(), pre, post, w));
}

unsafe extern "C" fn edit_remove_synapse(ctx: *mut c_void, proj: StrRef, pre: u64, post: u64) {
    let e = &mut *(ctx as *mut Edits);
    e.remove_synapses
        .push((proj.to_str().into_owned(), pre, post));
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
    pub fn decide(&mut self, p: &PopulationView) -> crate::Result<Edits> {
        let (vt, this) = (self.vt, self.this);
        let projections: Vec<ProjViewV1> = p
            .projections
            .iter()
            .map(|v| ProjViewV1 {
                name: StrRef::new(v.name),
                role: v.role,
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
        let mut sink = EditSinkV1 {
            ctx: &mut edits as *mut Edits as *mut c_void,
            grow: edit_grow,
            remove: edit_remove,
            add_synapse: edit_add_synapse,
            remove_synapse: edit_remove_synapse,
        };
        // SAFETY: the view, its arrays and the sink's target live for the call.
        checked_call(&self.plugin, "decide", &mut self.poisoned, |err| unsafe {
            (vt.decide)(this, &raw, &mut sink, err)
        })?;
        Ok(edits)
    }

    /// The population's neurons changed: `map[k]` is the old index of new neuron k, or `NEW`.
    pub fn resize(&mut self, map: &[u64]) -> crate::Result<()> {
        let (vt, this) = (self.vt, self.this);
        // SAFETY: the map lives for the call.
        checked_call(&self.plugin, "resize", &mut self.poisoned, |err| unsafe {
            (vt.resize)(this, map.as_ptr(), map.len() as u64, err)
        })
    }

    /// The instance's state.
    pub fn save(&mut self) -> crate::Result<Vec<u8>> {
        let (vt, this) = (self.vt, self.this);
        let mut out: Vec<u8> = Vec::new();
        let mut sink = ByteSink {
            ctx: &mut out as *mut Vec<u8> as *mut c_void,
            write: sink_write,
        };
        // SAFETY: the sink appends to `out`, which lives for the call.
        checked_call(&self.plugin, "save", &mut self.poisoned, |err| unsafe {
            (vt.save)(this, &mut sink, err)
        })?;
        Ok(out)
    }

    /// Restores the instance's state.
    pub fn load(&mut self, bytes: &[u8]) -> crate::Result<()> {
        let (vt, this) = (self.vt, self.this);
        let b = BytesRef {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        };
        // SAFETY: the bytes live for the call.
        checked_call(&self.plugin, "load", &mut self.poisoned, |err| unsafe {
            (vt.load)(this, b, err)
        })
    }
}

impl Drop for StructureInstance {
    fn drop(&mut self) {
        if self.poisoned.is_none() {
            // SAFETY: `this` came from `create` and is destroyed once.
            unsafe { (self.vt.destroy)(self.this) }
        }
    }
}
