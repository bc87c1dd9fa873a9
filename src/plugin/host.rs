//! Opening a plugin library, the handshake, and safe wrappers around plugin instances.

use super::{error, Kind, PluginErrorKind};
use snnsim_plugin_api::abi::{self, *};
use std::collections::HashMap;
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Libraries opened so far, by path, kept open for the life of the process.
fn libraries() -> &'static Mutex<HashMap<PathBuf, &'static libloading::Library>> {
    static LIBS: OnceLock<Mutex<HashMap<PathBuf, &'static libloading::Library>>> = OnceLock::new();
    LIBS.get_or_init(|| Mutex::new(HashMap::new()))
}

#[derive(Debug, Clone, Copy)]
enum VTable {
    Rule(&'static RuleVTableV1),
    Env(&'static EnvVTableV1),
    Structure(&'static StructureVTableV1),
}

/// A plugin library that passed the handshake.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// Name from its header.
    pub name: String,
    /// Kind from its header.
    pub kind: Kind,
    /// Its own version.
    pub version: String,
    /// ABI major it was built for.
    pub abi_major: u16,
    /// ABI minor it was built for.
    pub abi_minor: u16,
    /// The library file.
    pub path: PathBuf,
    vtable: VTable,
}

/// Opens `path` (once per process) and checks its header. `name` is what the user asked for.
pub(super) fn load(name: &str, path: &Path, want: Option<Kind>) -> crate::Result<LoadedPlugin> {
    let at = || format!("{} ({})", name, path.display());
    let lib: &'static libloading::Library = {
        let mut libs = libraries().lock().unwrap_or_else(|p| p.into_inner());
        match libs.get(path) {
            Some(l) => l,
            None => {
                // SAFETY: opening a library runs its initialisers; snnsim only opens files the
                // user pointed it at (graph file, SNNSIM_PLUGIN_PATH, its own directory).
                let l = unsafe { libloading::Library::new(path) }.map_err(|e| {
                    error(
                        name,
                        PluginErrorKind::NotAPlugin,
                        format!("{}: cannot load: {e}", path.display()),
                    )
                })?;
                let l: &'static libloading::Library = Box::leak(Box::new(l));
                libs.insert(path.to_path_buf(), l);
                l
            }
        }
    };
    // SAFETY: the symbol's type is fixed by the ABI; a library exporting the name with another
    // type is not a snnsim plugin and cannot be detected.
    let entry: libloading::Symbol<'static, EntryFn> =
        unsafe { lib.get(abi::ENTRY_SYMBOL.as_bytes()) }.map_err(|_| {
            error(
                name,
                PluginErrorKind::NotAPlugin,
                format!(
                    "{} is not a snnsim plugin: it exports no `{}` symbol",
                    path.display(),
                    abi::ENTRY_SYMBOL
                ),
            )
        })?;
    // SAFETY: the entry function takes no arguments and returns a pointer to a static header.
    let header_ptr = unsafe { entry() };
    // SAFETY: a non-null pointer from the entry function points at a static header, whose
    // first fields (abi_major, abi_minor, kind, vtable_size) have the same layout in every ABI
    // version.
    let header = unsafe { header_ptr.as_ref() }.ok_or_else(|| {
        error(
            name,
            PluginErrorKind::NotAPlugin,
            format!("{}: the entry symbol returned no header", at()),
        )
    })?;
    if header.abi_major != abi::ABI_MAJOR {
        return Err(error(
            name,
            PluginErrorKind::AbiMismatch,
            format!(
                "{}: built for plugin ABI {}.{}, this snnsim supports ABI {}.x (found major {}, expected {}); rebuild the plugin against snnsim-plugin-api {}",
                path.display(),
                header.abi_major,
                header.abi_minor,
                abi::ABI_MAJOR,
                header.abi_major,
                abi::ABI_MAJOR,
                abi::ABI_MAJOR
            ),
        ));
    }
    let kind = Kind::from_abi(header.kind).ok_or_else(|| {
        error(
            name,
            PluginErrorKind::WrongKind,
            format!(
                "{}: unknown plugin kind {} (expected 1 = rule, 2 = env or 3 = structure)",
                path.display(),
                header.kind
            ),
        )
    })?;
    if let Some(want) = want {
        if kind != want {
            return Err(error(
                name,
                PluginErrorKind::WrongKind,
                format!(
                    "{}: is {} (kind {}), but {} is expected here (kind {})",
                    path.display(),
                    kind.described(),
                    kind.as_str(),
                    want.described(),
                    want.as_str()
                ),
            ));
        }
    }
    let need = match kind {
        Kind::Rule => abi::RULE_VTABLE_V1_0_SIZE,
        Kind::Env => std::mem::size_of::<EnvVTableV1>(),
        Kind::Structure => abi::STRUCTURE_VTABLE_V1_3_SIZE,
    };
    if (header.vtable_size as usize) < need {
        return Err(error(
            name,
            PluginErrorKind::Truncated,
            format!(
                "{}: vtable of {} bytes, this snnsim needs at least {need} (found {}, expected >= {need})",
                path.display(),
                header.vtable_size,
                header.vtable_size
            ),
        ));
    }
    // SAFETY: the header is the first field of a `#[repr(C)]` vtable of the checked kind and at
    // least the checked size, with static lifetime.
    let vtable = unsafe {
        match kind {
            Kind::Rule => VTable::Rule(&*(header_ptr as *const RuleVTableV1)),
            Kind::Env => VTable::Env(&*(header_ptr as *const EnvVTableV1)),
            Kind::Structure => VTable::Structure(&*(header_ptr as *const StructureVTableV1)),
        }
    };
    // SAFETY: the strings are static data of the library, which is never unloaded.
    let (pname, version) = unsafe {
        (
            header.name.to_str().into_owned(),
            header.version.to_str().into_owned(),
        )
    };
    Ok(LoadedPlugin {
        name: pname,
        kind,
        version,
        abi_major: header.abi_major,
        abi_minor: header.abi_minor,
        path: path.to_path_buf(),
        vtable,
    })
}

/// Error buffer capacity.
const ERR_CAP: usize = 4096;

/// Calls into a plugin with an error buffer and turns its status into a result.
pub(super) fn checked_call(
    plugin: &str,
    call: &str,
    poisoned: &mut Option<String>,
    f: impl FnOnce(*mut ErrBuf) -> Status,
) -> crate::Result<()> {
    if let Some(first) = poisoned {
        return Err(error(
            plugin,
            PluginErrorKind::Panicked,
            format!("the instance was poisoned by an earlier panic ({first}); `{call}` refused"),
        ));
    }
    // The error buffer is the thread's own, allocated once: an environment's `step` is called
    // once per decision, and a fresh zeroed buffer per call cost as much as the step itself.
    // A nested call (none today) gets a buffer of its own.
    thread_local! {
        static ERR: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let call_with = |buf: &mut Vec<u8>| {
        buf.resize(ERR_CAP, 0);
        let mut err = ErrBuf {
            ptr: buf.as_mut_ptr(),
            cap: ERR_CAP,
            len: 0,
        };
        let status = f(&mut err);
        let msg = || String::from_utf8_lossy(&buf[..err.len.min(ERR_CAP)]).into_owned();
        (status, (status != STATUS_OK).then(msg).unwrap_or_default())
    };
    let (status, msg) = ERR.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => call_with(&mut buf),
        Err(_) => call_with(&mut Vec::new()),
    });
    match status {
        STATUS_OK => Ok(()),
        STATUS_PANICKED => {
            *poisoned = Some(format!("in {call}"));
            Err(error(
                plugin,
                PluginErrorKind::Panicked,
                format!("panicked in {call}: {msg}"),
            ))
        }
        STATUS_ERROR => Err(error(
            plugin,
            PluginErrorKind::Failed,
            format!("{call} failed: {msg}"),
        )),
        other => Err(error(
            plugin,
            PluginErrorKind::Failed,
            format!("{call} returned an unknown status {other}: {msg}"),
        )),
    }
}

unsafe extern "C" fn sink_write(ctx: *mut c_void, ptr: *const u8, len: usize) {
    let out = &mut *(ctx as *mut Vec<u8>);
    if !ptr.is_null() && len > 0 {
        out.extend_from_slice(std::slice::from_raw_parts(ptr, len));
    }
}

/// The calls every kind of instance shares: `save` and `load` of its state for checkpoints,
/// and `Drop`, which destroys the plugin's side once. A poisoned instance is leaked rather
/// than handed back to code that panicked while holding it. The type needs the fields
/// `plugin`, `vt` (with `save`, `load`, `destroy`), `this` and `poisoned`.
macro_rules! instance_lifecycle {
    ($t:ty) => {
        impl $t {
            /// The instance's state.
            pub fn save(&mut self) -> crate::Result<Vec<u8>> {
                $crate::plugin::host::save_state(
                    &self.plugin,
                    &mut self.poisoned,
                    self.vt.save,
                    self.this,
                )
            }

            /// Restores the instance's state.
            pub fn load(&mut self, bytes: &[u8]) -> crate::Result<()> {
                $crate::plugin::host::load_state(
                    &self.plugin,
                    &mut self.poisoned,
                    self.vt.load,
                    self.this,
                    bytes,
                )
            }
        }

        impl Drop for $t {
            fn drop(&mut self) {
                if self.poisoned.is_none() {
                    // SAFETY: `this` came from `create` and is destroyed once.
                    unsafe { (self.vt.destroy)(self.this) }
                }
            }
        }
    };
}
pub(super) use instance_lifecycle;

/// A plugin's `save` call through a byte sink: the instance's state.
pub(super) fn save_state(
    plugin: &str,
    poisoned: &mut Option<String>,
    save: unsafe extern "C" fn(*mut c_void, *mut ByteSink, *mut ErrBuf) -> Status,
    this: *mut c_void,
) -> crate::Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut sink = ByteSink {
        ctx: &mut out as *mut Vec<u8> as *mut c_void,
        write: sink_write,
    };
    // SAFETY: the sink appends to `out`, which lives for the call.
    checked_call(plugin, "save", poisoned, |err| unsafe {
        save(this, &mut sink, err)
    })?;
    Ok(out)
}

/// A plugin's `load` call with `bytes`.
pub(super) fn load_state(
    plugin: &str,
    poisoned: &mut Option<String>,
    load: unsafe extern "C" fn(*mut c_void, BytesRef, *mut ErrBuf) -> Status,
    this: *mut c_void,
    bytes: &[u8],
) -> crate::Result<()> {
    let b = BytesRef {
        ptr: bytes.as_ptr(),
        len: bytes.len(),
    };
    // SAFETY: the bytes live for the call.
    checked_call(plugin, "load", poisoned, |err| unsafe {
        load(this, b, err)
    })
}

/// A learning-rule instance living in a plugin.
#[derive(Debug)]
pub struct RuleInstance {
    /// Plugin name.
    pub plugin: String,
    vt: &'static RuleVTableV1,
    this: *mut c_void,
    poisoned: Option<String>,
}

// SAFETY: the SDK requires `LearningRule: Send`, and an instance is used by one thread at a
// time (the engine calls rules sequentially at the plasticity stage).
unsafe impl Send for RuleInstance {}

impl LoadedPlugin {
    /// Creates a rule instance for a projection; `params` is RON text.
    pub fn create_rule(&self, params: &str, shape: ProjShapeV1) -> crate::Result<RuleInstance> {
        let VTable::Rule(vt) = self.vtable else {
            return Err(error(
                &self.name,
                PluginErrorKind::WrongKind,
                "not a learning rule",
            ));
        };
        let mut this: *mut c_void = std::ptr::null_mut();
        let mut poisoned = None;
        // SAFETY: arguments are valid for the call; `this` receives a pointer owned by the plugin.
        checked_call(&self.name, "create", &mut poisoned, |err| unsafe {
            (vt.create)(StrRef::new(params), &shape, &mut this, err)
        })
        .map_err(params_error)?;
        Ok(RuleInstance {
            plugin: self.name.clone(),
            vt,
            this,
            poisoned: None,
        })
    }

    /// Creates a structural-policy instance; `params` is RON text.
    pub fn create_structure(&self, params: &str) -> crate::Result<super::StructureInstance> {
        let VTable::Structure(vt) = self.vtable else {
            return Err(error(
                &self.name,
                PluginErrorKind::WrongKind,
                "not a structural policy",
            ));
        };
        super::structure::create(&self.name, vt, params)
    }

    /// Creates an environment instance; `params` is RON text.
    pub fn create_env(&self, params: &str) -> crate::Result<EnvInstance> {
        let VTable::Env(vt) = self.vtable else {
            return Err(error(
                &self.name,
                PluginErrorKind::WrongKind,
                "not an environment",
            ));
        };
        let mut this: *mut c_void = std::ptr::null_mut();
        let mut poisoned = None;
        // SAFETY: as for rules.
        checked_call(&self.name, "create", &mut poisoned, |err| unsafe {
            (vt.create)(StrRef::new(params), &mut this, err)
        })
        .map_err(params_error)?;
        let mut env = EnvInstance {
            plugin: self.name.clone(),
            vt,
            this,
            poisoned: None,
            spaces: SpacesV1::default(),
        };
        let mut spaces = SpacesV1::default();
        let this = env.this;
        checked_call(&env.plugin, "spaces", &mut env.poisoned, |err| unsafe {
            (vt.spaces)(this, &mut spaces, err)
        })?;
        env.spaces = spaces;
        Ok(env)
    }
}

/// A failed `create` is a parameter error (bad input); a panic stays a panic.
pub(super) fn params_error(e: crate::Error) -> crate::Error {
    match e {
        crate::Error::Plugin {
            plugin,
            kind: PluginErrorKind::Failed,
            msg,
        } => crate::Error::Plugin {
            plugin,
            kind: PluginErrorKind::Params,
            msg: msg.trim_start_matches("create failed: ").to_string(),
        },
        other => other,
    }
}

impl RuleInstance {
    /// One step.
    pub fn on_step(&mut self, ctx: &mut RuleStepV1) -> crate::Result<()> {
        let (vt, this) = (self.vt, self.this);
        // SAFETY: `ctx` describes slices valid for the call.
        checked_call(&self.plugin, "on_step", &mut self.poisoned, |err| unsafe {
            (vt.on_step)(this, ctx, err)
        })
    }

    /// A reward.
    pub fn on_reward(&mut self, reward: f64, ctx: &mut RuleStepV1) -> crate::Result<()> {
        let (vt, this) = (self.vt, self.this);
        // SAFETY: as for `on_step`.
        checked_call(
            &self.plugin,
            "on_reward",
            &mut self.poisoned,
            |err| unsafe { (vt.on_reward)(this, reward, ctx, err) },
        )
    }

    /// The end of an episode.
    pub fn on_episode_end(&mut self) -> crate::Result<()> {
        let (vt, this) = (self.vt, self.this);
        checked_call(
            &self.plugin,
            "on_episode_end",
            &mut self.poisoned,
            |err| unsafe { (vt.on_episode_end)(this, err) },
        )
    }

    /// A structural edit.
    pub fn resize(&mut self, pre: &[u64], post: &[u64], synapses: &[u64]) -> crate::Result<()> {
        let (vt, this) = (self.vt, self.this);
        let remap = RemapV1 {
            pre_map: pre.as_ptr(),
            n_pre: pre.len() as u64,
            post_map: post.as_ptr(),
            n_post: post.len() as u64,
            syn_map: synapses.as_ptr(),
            nnz: synapses.len() as u64,
        };
        // SAFETY: the maps live for the call.
        checked_call(&self.plugin, "resize", &mut self.poisoned, |err| unsafe {
            (vt.resize)(this, &remap, err)
        })
    }

    /// Whether the plugin has the gradient-rule calls (ABI 1.1).
    pub fn is_gradient_rule(&self) -> bool {
        self.vt.header.vtable_size as usize >= abi::RULE_VTABLE_V1_1_SIZE
    }

    /// Whether the plugin has the actor-critic call (ABI 1.2).
    pub fn is_critic_rule(&self) -> bool {
        self.vt.header.vtable_size as usize >= abi::RULE_VTABLE_V1_2_SIZE
    }

    /// Whether the plugin has the value-rule call (ABI 1.5).
    pub fn is_value_rule(&self) -> bool {
        self.vt.header.vtable_size as usize >= abi::RULE_VTABLE_V1_5_SIZE
    }

    /// Whether the plugin has the distributional value-rule call (ABI 1.6).
    pub fn is_distributional_rule(&self) -> bool {
        self.vt.header.vtable_size as usize >= abi::RULE_VTABLE_V1_6_SIZE
    }

    /// Whether the rule trains blocks of a split projection (ABI 1.7: `save_parts` and
    /// `load_parts` present).
    pub fn is_blockwise(&self) -> bool {
        self.vt.header.vtable_size as usize >= std::mem::size_of::<RuleVTableV1>()
            && self.vt.save_parts.is_some()
            && self.vt.load_parts.is_some()
    }

    /// The ABI minor the plugin was built for.
    pub fn abi_minor(&self) -> u16 {
        self.vt.header.abi_minor
    }

    /// The state as its four parts (ABI 1.7): shared, per pre neuron, per post neuron, per
    /// synapse.
    pub fn save_parts(&mut self) -> crate::Result<[Vec<u8>; 4]> {
        // `is_blockwise` first: an older vtable ends before `save_parts`.
        let save_parts = if self.is_blockwise() {
            self.vt.save_parts
        } else {
            None
        };
        let Some(save) = save_parts else {
            return Err(error(
                &self.plugin,
                PluginErrorKind::WrongKind,
                "`save_parts` needs a rule of plugin ABI 1.7 that trains blocks",
            ));
        };
        let mut out: [Vec<u8>; 4] = Default::default();
        let [a, b, c, d] = &mut out;
        let sink = |v: &mut Vec<u8>| ByteSink {
            ctx: v as *mut Vec<u8> as *mut c_void,
            write: sink_write,
        };
        let mut sinks = StatePartsSinkV1 {
            shared: sink(a),
            per_pre: sink(b),
            per_post: sink(c),
            per_synapse: sink(d),
        };
        let this = self.this;
        // SAFETY: the sinks append to `out`, which lives for the call.
        checked_call(
            &self.plugin,
            "save_parts",
            &mut self.poisoned,
            |err| unsafe { save(this, &mut sinks, err) },
        )?;
        Ok(out)
    }

    /// Restores the state from its four parts (ABI 1.7).
    pub fn load_parts(&mut self, parts: &[Vec<u8>; 4]) -> crate::Result<()> {
        // `is_blockwise` first: an older vtable ends before `load_parts`.
        let load_parts = if self.is_blockwise() {
            self.vt.load_parts
        } else {
            None
        };
        let Some(load) = load_parts else {
            return Err(error(
                &self.plugin,
                PluginErrorKind::WrongKind,
                "`load_parts` needs a rule of plugin ABI 1.7 that trains blocks",
            ));
        };
        let r = |v: &Vec<u8>| BytesRef {
            ptr: v.as_ptr(),
            len: v.len(),
        };
        let view = StatePartsV1 {
            shared: r(&parts[0]),
            per_pre: r(&parts[1]),
            per_post: r(&parts[2]),
            per_synapse: r(&parts[3]),
        };
        let this = self.this;
        // SAFETY: the parts live for the call.
        checked_call(
            &self.plugin,
            "load_parts",
            &mut self.poisoned,
            |err| unsafe { load(this, &view, err) },
        )
    }

    /// The loss of a minibatch of transitions and ∂L/∂logits of a categorical return
    /// distribution (see the SDK's `LearningRule::dist_loss`); the rule writes
    /// `batch.dlogits`, `batch.td` and `batch.loss`. The caller keeps every pointer of `batch`
    /// valid, with its stated lengths, for the call.
    pub fn dist_loss(&mut self, batch: &mut abi::DistBatchV1) -> crate::Result<()> {
        if !self.is_distributional_rule() {
            return Err(error(
                &self.plugin,
                PluginErrorKind::WrongKind,
                "`dist_loss` needs plugin ABI 1.6 (a distributional value rule such as `dqn`)",
            ));
        }
        let (vt, this) = (self.vt, self.this);
        // SAFETY: the caller keeps the batch's slices alive with their lengths.
        checked_call(
            &self.plugin,
            "dist_loss",
            &mut self.poisoned,
            |err| unsafe { (vt.dist_loss)(this, batch, err) },
        )
    }

    /// The loss of a minibatch of transitions and ∂L/∂Q (see the SDK's
    /// `LearningRule::td_loss`); the rule writes `batch.dq`, `batch.td` and `batch.loss`.
    /// The caller keeps every pointer of `batch` valid, with its stated lengths, for the call.
    pub fn td_loss(&mut self, batch: &mut abi::TdBatchV1) -> crate::Result<()> {
        if !self.is_value_rule() {
            return Err(error(
                &self.plugin,
                PluginErrorKind::WrongKind,
                "`td_loss` needs plugin ABI 1.5 (a value rule such as `dqn`)",
            ));
        }
        let (vt, this) = (self.vt, self.this);
        // SAFETY: the caller keeps the batch's slices alive with their lengths.
        checked_call(&self.plugin, "td_loss", &mut self.poisoned, |err| unsafe {
            (vt.td_loss)(this, batch, err)
        })
    }

    /// Advantages and critic targets of a batch of episodes (see the SDK's
    /// `LearningRule::critic_advantages`); `values` has one more entry per episode than its
    /// steps.
    pub fn critic_advantages(
        &mut self,
        rewards: &[f64],
        values: &[f64],
        lengths: &[u64],
        advantages: &mut [f64],
        targets: &mut [f64],
    ) -> crate::Result<()> {
        if !self.is_critic_rule() {
            return Err(error(
                &self.plugin,
                PluginErrorKind::WrongKind,
                "`critic_advantages` needs plugin ABI 1.2 (an actor-critic rule)",
            ));
        }
        assert_eq!(lengths.iter().sum::<u64>() as usize, rewards.len());
        assert_eq!(values.len(), rewards.len() + lengths.len());
        assert!(advantages.len() == rewards.len() && targets.len() == rewards.len());
        let (vt, this) = (self.vt, self.this);
        // SAFETY: the slices live for the call, with the lengths stated.
        checked_call(
            &self.plugin,
            "critic_advantages",
            &mut self.poisoned,
            |err| unsafe {
                (vt.critic_advantages)(
                    this,
                    rewards.as_ptr(),
                    values.as_ptr(),
                    lengths.as_ptr(),
                    lengths.len() as u64,
                    advantages.as_mut_ptr(),
                    targets.as_mut_ptr(),
                    err,
                )
            },
        )
    }

    fn require_gradients(&self, call: &str) -> crate::Result<()> {
        if self.is_gradient_rule() {
            return Ok(());
        }
        Err(error(
            &self.plugin,
            PluginErrorKind::WrongKind,
            format!(
                "`{call}` needs plugin ABI 1.1 (a gradient rule); this plugin was built for 1.0"
            ),
        ))
    }

    /// Advantages of a batch of episodes (see the SDK's `LearningRule::advantages`).
    pub fn advantages(
        &mut self,
        rewards: &[f64],
        lengths: &[u64],
        out: &mut [f64],
    ) -> crate::Result<()> {
        self.require_gradients("advantages")?;
        assert_eq!(rewards.len(), out.len());
        assert_eq!(lengths.iter().sum::<u64>() as usize, rewards.len());
        let (vt, this) = (self.vt, self.this);
        // SAFETY: the slices live for the call, with the lengths stated.
        checked_call(
            &self.plugin,
            "advantages",
            &mut self.poisoned,
            |err| unsafe {
                (vt.advantages)(
                    this,
                    rewards.as_ptr(),
                    lengths.as_ptr(),
                    lengths.len() as u64,
                    out.as_mut_ptr(),
                    err,
                )
            },
        )
    }

    /// An optimiser step with the gradient `ctx.grads`.
    pub fn on_gradient(&mut self, ctx: &mut GradStepV1) -> crate::Result<()> {
        self.require_gradients("on_gradient")?;
        let (vt, this) = (self.vt, self.this);
        // SAFETY: `ctx` describes slices valid for the call.
        checked_call(
            &self.plugin,
            "on_gradient",
            &mut self.poisoned,
            |err| unsafe { (vt.on_gradient)(this, ctx, err) },
        )
    }

    /// Whether a panic has poisoned the instance.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }
}

instance_lifecycle!(RuleInstance);

/// An environment instance living in a plugin.
#[derive(Debug)]
pub struct EnvInstance {
    /// Plugin name.
    pub plugin: String,
    vt: &'static EnvVTableV1,
    this: *mut c_void,
    poisoned: Option<String>,
    spaces: SpacesV1,
}

// SAFETY: the SDK requires `Environment: Send`; one thread uses an instance at a time.
unsafe impl Send for EnvInstance {}

/// One environment step's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvStep {
    /// Reward.
    pub reward: f64,
    /// Terminal state reached.
    pub terminated: bool,
    /// Cut short.
    pub truncated: bool,
}

impl EnvInstance {
    /// Observation length.
    pub fn observation_len(&self) -> usize {
        self.spaces.obs_len as usize
    }

    /// `Some(n)` for n discrete actions, `None` for a continuous action space.
    pub fn discrete_actions(&self) -> Option<usize> {
        (self.spaces.action_kind == 0).then_some(self.spaces.action_len as usize)
    }

    /// Number of action values passed to `step`.
    pub fn action_len(&self) -> usize {
        match self.discrete_actions() {
            Some(_) => 1,
            None => self.spaces.action_len as usize,
        }
    }

    /// Starts an episode; writes the first observation into `obs`.
    pub fn reset(&mut self, seed: u64, obs: &mut [f64]) -> crate::Result<()> {
        self.check_obs(obs.len())?;
        let (vt, this) = (self.vt, self.this);
        checked_call(&self.plugin, "reset", &mut self.poisoned, |err| unsafe {
            (vt.reset)(this, seed, obs.as_mut_ptr(), obs.len() as u64, err)
        })
    }

    /// Applies an action; writes the next observation into `obs`.
    pub fn step(&mut self, action: &[f64], obs: &mut [f64]) -> crate::Result<EnvStep> {
        self.check_obs(obs.len())?;
        let (vt, this) = (self.vt, self.this);
        let mut t = TransitionV1::default();
        checked_call(&self.plugin, "step", &mut self.poisoned, |err| unsafe {
            (vt.step)(
                this,
                action.as_ptr(),
                action.len() as u64,
                obs.as_mut_ptr(),
                obs.len() as u64,
                &mut t,
                err,
            )
        })?;
        Ok(EnvStep {
            reward: t.reward,
            terminated: t.terminated != 0,
            truncated: t.truncated != 0,
        })
    }

    fn check_obs(&self, len: usize) -> crate::Result<()> {
        if len != self.observation_len() {
            return Err(error(
                &self.plugin,
                PluginErrorKind::Failed,
                format!(
                    "observation buffer of {len} values, the environment has {}",
                    self.observation_len()
                ),
            ));
        }
        Ok(())
    }
}

instance_lifecycle!(EnvInstance);
