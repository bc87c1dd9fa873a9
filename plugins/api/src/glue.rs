//! The code behind [`crate::export_rule!`], [`crate::export_env!`] and
//! [`crate::export_structure!`]: `extern "C"` functions,
//! generic over the plugin's type, that turn raw ABI arguments into safe Rust values, catch
//! panics, and report errors through the host's buffer. Not part of the public API.

use crate::abi::*;
use crate::{
    parse_config, Activity, Edits, Environment, GradContext, LearningRule, ProjView, Remap, Role,
    RuleContext, Shape, StructurePolicy,
};
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once, a panic hook that records the message and location of a panic raised
/// inside a plugin call (to report it through the error buffer) and leaves every other panic
/// to the previous hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_CALL.with(Cell::get) {
                let msg = payload_text(info.payload());
                let text = match info.location() {
                    Some(l) => format!("{msg} (at {}:{})", l.file(), l.line()),
                    None => msg,
                };
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Writes `msg` into the host's buffer, truncated at a character boundary.
///
/// # Safety
/// `err` is null or points at a valid `ErrBuf` whose `ptr` has `cap` writable bytes.
unsafe fn write_err(err: *mut ErrBuf, msg: &str) {
    let Some(e) = err.as_mut() else { return };
    if e.ptr.is_null() {
        return;
    }
    let mut n = msg.len().min(e.cap);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    std::ptr::copy_nonoverlapping(msg.as_ptr(), e.ptr, n);
    e.len = n;
}

/// Runs `f`, turning an error into [`STATUS_ERROR`] and a panic into [`STATUS_PANICKED`].
fn guard(err: *mut ErrBuf, f: impl FnOnce() -> Result<(), String>) -> Status {
    install_hook();
    IN_CALL.with(|c| c.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_CALL.with(|c| c.set(false));
    match result {
        Ok(Ok(())) => STATUS_OK,
        Ok(Err(msg)) => {
            unsafe { write_err(err, &msg) };
            STATUS_ERROR
        }
        Err(payload) => {
            let msg = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| payload_text(&*payload));
            unsafe { write_err(err, &msg) };
            STATUS_PANICKED
        }
    }
}

/// A slice from a raw pointer and length; empty for a null pointer.
///
/// # Safety
/// A non-null `p` points at `n` valid values that outlive `'a`.
unsafe fn slice<'a, T>(p: *const T, n: u64) -> &'a [T] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(p, n as usize)
    }
}

/// As [`slice`], mutable.
///
/// # Safety
/// As [`slice`], and no other reference to the values exists during `'a`.
unsafe fn slice_mut<'a, T>(p: *mut T, n: u64) -> &'a mut [T] {
    if p.is_null() || n == 0 {
        &mut []
    } else {
        std::slice::from_raw_parts_mut(p, n as usize)
    }
}

/// # Safety
/// `c` describes valid slices as documented on [`RuleStepV1`].
unsafe fn context<'a>(c: &'a mut RuleStepV1) -> RuleContext<'a> {
    RuleContext {
        step: c.step,
        dt_ms: c.dt_ms,
        n_pre: c.n_pre as usize,
        n_post: c.n_post as usize,
        indptr: slice(c.indptr, c.n_pre + 1),
        indices: slice(c.indices, c.nnz),
        weights: slice_mut(c.weights, c.nnz),
        pre_spikes: slice(c.pre_spikes, c.n_pre_spikes),
        post_spikes: slice(c.post_spikes, c.n_post_spikes),
        pre_trace: slice_mut(c.pre_trace, c.pre_trace_len),
        post_trace: slice_mut(c.post_trace, c.post_trace_len),
        post_v: slice(c.post_v, c.post_v_len),
    }
}

const fn const_header(
    kind: u32,
    size: usize,
    name: &'static str,
    version: &'static str,
) -> PluginHeader {
    PluginHeader {
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        kind,
        vtable_size: size as u32,
        reserved: 0,
        name: StrRef::from_static(name),
        version: StrRef::from_static(version),
    }
}

/// The vtable of rule type `R`.
pub const fn rule_vtable<R: LearningRule>(
    name: &'static str,
    version: &'static str,
) -> RuleVTableV1 {
    RuleVTableV1 {
        header: const_header(
            KIND_RULE,
            std::mem::size_of::<RuleVTableV1>(),
            name,
            version,
        ),
        create: rule_create::<R>,
        on_step: rule_on_step::<R>,
        on_reward: rule_on_reward::<R>,
        on_episode_end: rule_on_episode_end::<R>,
        resize: rule_resize::<R>,
        save: rule_save::<R>,
        load: rule_load::<R>,
        destroy: rule_destroy::<R>,
        advantages: rule_advantages::<R>,
        on_gradient: rule_on_gradient::<R>,
        critic_advantages: rule_critic_advantages::<R>,
        td_loss: rule_td_loss::<R>,
        dist_loss: rule_dist_loss::<R>,
        save_parts: if R::BLOCKWISE {
            Some(rule_save_parts::<R>)
        } else {
            None
        },
        load_parts: if R::BLOCKWISE {
            Some(rule_load_parts::<R>)
        } else {
            None
        },
    }
}

unsafe extern "C" fn rule_save_parts<R: LearningRule>(
    this: *mut c_void,
    sinks: *mut StatePartsSinkV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let parts = (*(this as *mut R)).save_parts()?;
        let s = &mut *sinks;
        for (sink, bytes) in [
            (&s.shared, &parts.shared),
            (&s.per_pre, &parts.per_pre),
            (&s.per_post, &parts.per_post),
            (&s.per_synapse, &parts.per_synapse),
        ] {
            (sink.write)(sink.ctx, bytes.as_ptr(), bytes.len());
        }
        Ok(())
    })
}

unsafe extern "C" fn rule_load_parts<R: LearningRule>(
    this: *mut c_void,
    parts: *const StatePartsV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let p = &*parts;
        let owned = |b: BytesRef| slice(b.ptr, b.len as u64).to_vec();
        let parts = crate::StateParts {
            shared: owned(p.shared),
            per_pre: owned(p.per_pre),
            per_post: owned(p.per_post),
            per_synapse: owned(p.per_synapse),
        };
        (*(this as *mut R)).load_parts(&parts)
    })
}

unsafe extern "C" fn rule_dist_loss<R: LearningRule>(
    this: *mut c_void,
    batch: *mut DistBatchV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let b = &mut *batch;
        let (n, a, z, k) = (b.n, b.n_actions, b.n_atoms, b.n_step);
        let view = crate::DistBatch {
            n_actions: a as usize,
            n_atoms: z as usize,
            n_step: k as usize,
            v_min: b.v_min,
            v_max: b.v_max,
            logits: slice(b.logits, n * a * z),
            logits_next_online: slice(b.logits_next_online, n * a * z),
            logits_next_target: slice(b.logits_next_target, n * a * z),
            actions: slice(b.actions, n),
            rewards: slice(b.rewards, n * k),
            steps: slice(b.steps, n),
            terminal: slice(b.terminal, n),
            weights: slice(b.weights, n),
        };
        let dl = slice_mut(b.dlogits, n * a * z);
        let td = slice_mut(b.td, n);
        b.loss = (*(this as *mut R)).dist_loss(&view, dl, td)?;
        Ok(())
    })
}

unsafe extern "C" fn rule_td_loss<R: LearningRule>(
    this: *mut c_void,
    batch: *mut TdBatchV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let b = &mut *batch;
        let (n, a, k) = (b.n, b.n_actions, b.n_step);
        let view = crate::TdBatch {
            n_actions: a as usize,
            n_step: k as usize,
            q: slice(b.q, n * a),
            q_next_online: slice(b.q_next_online, n * a),
            q_next_target: slice(b.q_next_target, n * a),
            actions: slice(b.actions, n),
            rewards: slice(b.rewards, n * k),
            steps: slice(b.steps, n),
            terminal: slice(b.terminal, n),
            weights: slice(b.weights, n),
        };
        let dq = slice_mut(b.dq, n * a);
        let td = slice_mut(b.td, n);
        b.loss = (*(this as *mut R)).td_loss(&view, dq, td)?;
        Ok(())
    })
}

unsafe extern "C" fn rule_critic_advantages<R: LearningRule>(
    this: *mut c_void,
    rewards: *const f64,
    values: *const f64,
    lengths: *const u64,
    n_episodes: u64,
    advantages: *mut f64,
    targets: *mut f64,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let lengths: Vec<usize> = slice(lengths, n_episodes)
            .iter()
            .map(|&l| l as usize)
            .collect();
        let total: usize = lengths.iter().sum();
        let rewards = slice(rewards, total as u64);
        let values = slice(values, (total + lengths.len()) as u64);
        let advantages = slice_mut(advantages, total as u64);
        let targets = slice_mut(targets, total as u64);
        (*(this as *mut R)).critic_advantages(rewards, values, &lengths, advantages, targets)
    })
}

unsafe extern "C" fn rule_advantages<R: LearningRule>(
    this: *mut c_void,
    rewards: *const f64,
    lengths: *const u64,
    n_episodes: u64,
    out: *mut f64,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let lengths: Vec<usize> = slice(lengths, n_episodes)
            .iter()
            .map(|&l| l as usize)
            .collect();
        let total: usize = lengths.iter().sum();
        let rewards = slice(rewards, total as u64);
        let out = slice_mut(out, total as u64);
        (*(this as *mut R)).advantages(rewards, &lengths, out)
    })
}

unsafe extern "C" fn rule_on_gradient<R: LearningRule>(
    this: *mut c_void,
    ctx: *mut GradStepV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let c = &mut *ctx;
        let mut g = GradContext {
            update: c.update,
            n_pre: c.n_pre as usize,
            n_post: c.n_post as usize,
            indptr: slice(c.indptr, c.n_pre + 1),
            indices: slice(c.indices, c.nnz),
            weights: slice_mut(c.weights, c.nnz),
            grads: slice(c.grads, c.nnz),
            global_grad_norm: c.global_grad_norm,
        };
        (*(this as *mut R)).on_gradient(&mut g)
    })
}

unsafe extern "C" fn rule_create<R: LearningRule>(
    config: StrRef,
    shape: *const ProjShapeV1,
    out: *mut *mut c_void,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let cfg: R::Config = parse_config(&config.to_str())?;
        let s = &*shape;
        let shape = Shape {
            n_pre: s.n_pre as usize,
            n_post: s.n_post as usize,
            nnz: s.nnz as usize,
            dt_ms: s.dt_ms,
        };
        let rule = R::new(cfg, &shape)?;
        *out = Box::into_raw(Box::new(rule)) as *mut c_void;
        Ok(())
    })
}

unsafe extern "C" fn rule_on_step<R: LearningRule>(
    this: *mut c_void,
    ctx: *mut RuleStepV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || (*(this as *mut R)).on_step(&mut context(&mut *ctx)))
}

unsafe extern "C" fn rule_on_reward<R: LearningRule>(
    this: *mut c_void,
    reward: f64,
    ctx: *mut RuleStepV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        (*(this as *mut R)).on_reward(reward, &mut context(&mut *ctx))
    })
}

unsafe extern "C" fn rule_on_episode_end<R: LearningRule>(
    this: *mut c_void,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || (*(this as *mut R)).on_episode_end())
}

unsafe extern "C" fn rule_resize<R: LearningRule>(
    this: *mut c_void,
    remap: *const RemapV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let m = &*remap;
        let remap = Remap {
            pre: slice(m.pre_map, m.n_pre),
            post: slice(m.post_map, m.n_post),
            synapses: slice(m.syn_map, m.nnz),
        };
        (*(this as *mut R)).resize(&remap)
    })
}

unsafe fn save_to(sink: *mut ByteSink, bytes: Result<Vec<u8>, String>) -> Result<(), String> {
    let bytes = bytes?;
    let s = &*sink;
    (s.write)(s.ctx, bytes.as_ptr(), bytes.len());
    Ok(())
}

unsafe extern "C" fn rule_save<R: LearningRule>(
    this: *mut c_void,
    sink: *mut ByteSink,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || save_to(sink, (*(this as *mut R)).save()))
}

unsafe extern "C" fn rule_load<R: LearningRule>(
    this: *mut c_void,
    bytes: BytesRef,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        (*(this as *mut R)).load(slice(bytes.ptr, bytes.len as u64))
    })
}

unsafe extern "C" fn rule_destroy<R: LearningRule>(this: *mut c_void) {
    if !this.is_null() {
        // A panicking destructor must not unwind into the host.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(this as *mut R))));
    }
}

/// The vtable of environment type `E`.
pub const fn env_vtable<E: Environment>(name: &'static str, version: &'static str) -> EnvVTableV1 {
    EnvVTableV1 {
        header: const_header(KIND_ENV, std::mem::size_of::<EnvVTableV1>(), name, version),
        create: env_create::<E>,
        spaces: env_spaces::<E>,
        reset: env_reset::<E>,
        step: env_step::<E>,
        save: env_save::<E>,
        load: env_load::<E>,
        destroy: env_destroy::<E>,
    }
}

unsafe extern "C" fn env_create<E: Environment>(
    config: StrRef,
    out: *mut *mut c_void,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let cfg: E::Config = parse_config(&config.to_str())?;
        let env = E::new(cfg)?;
        *out = Box::into_raw(Box::new(env)) as *mut c_void;
        Ok(())
    })
}

unsafe extern "C" fn env_spaces<E: Environment>(
    this: *mut c_void,
    out: *mut SpacesV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let s = (*(this as *mut E)).spaces();
        let (kind, len) = match s.action {
            crate::ActionSpace::Discrete(n) => (0, n),
            crate::ActionSpace::Continuous(n) => (1, n),
        };
        *out = SpacesV1 {
            obs_len: s.observation_len as u64,
            action_kind: kind,
            action_len: len as u64,
        };
        Ok(())
    })
}

unsafe extern "C" fn env_reset<E: Environment>(
    this: *mut c_void,
    seed: u64,
    obs: *mut f64,
    obs_len: u64,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        (*(this as *mut E)).reset(seed, slice_mut(obs, obs_len))
    })
}

unsafe extern "C" fn env_step<E: Environment>(
    this: *mut c_void,
    action: *const f64,
    action_len: u64,
    obs: *mut f64,
    obs_len: u64,
    out: *mut TransitionV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let t = (*(this as *mut E)).step(slice(action, action_len), slice_mut(obs, obs_len))?;
        *out = TransitionV1 {
            reward: t.reward,
            terminated: t.terminated as u8,
            truncated: t.truncated as u8,
        };
        Ok(())
    })
}

unsafe extern "C" fn env_save<E: Environment>(
    this: *mut c_void,
    sink: *mut ByteSink,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || save_to(sink, (*(this as *mut E)).save()))
}

unsafe extern "C" fn env_load<E: Environment>(
    this: *mut c_void,
    bytes: BytesRef,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        (*(this as *mut E)).load(slice(bytes.ptr, bytes.len as u64))
    })
}

unsafe extern "C" fn env_destroy<E: Environment>(this: *mut c_void) {
    if !this.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(this as *mut E))));
    }
}

/// The vtable of structural policy type `P`.
pub const fn structure_vtable<P: StructurePolicy>(
    name: &'static str,
    version: &'static str,
) -> StructureVTableV1 {
    StructureVTableV1 {
        header: const_header(
            KIND_STRUCTURE,
            std::mem::size_of::<StructureVTableV1>(),
            name,
            version,
        ),
        create: structure_create::<P>,
        observe: structure_observe::<P>,
        decide: structure_decide::<P>,
        resize: structure_resize::<P>,
        save: structure_save::<P>,
        load: structure_load::<P>,
        destroy: structure_destroy::<P>,
        simulate: structure_simulate::<P>,
    }
}

unsafe extern "C" fn structure_create<P: StructurePolicy>(
    config: StrRef,
    out: *mut *mut c_void,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let cfg: P::Config = parse_config(&config.to_str())?;
        let policy = P::new(cfg)?;
        *out = Box::into_raw(Box::new(policy)) as *mut c_void;
        Ok(())
    })
}

unsafe extern "C" fn structure_observe<P: StructurePolicy>(
    this: *mut c_void,
    activity: *const ActivityV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let a = &*activity;
        let activity = Activity {
            episodes_done: a.episodes_done,
            spikes: slice(a.spikes, a.n),
            steps: a.steps,
            returns: slice(a.returns, a.n_episodes),
            food: slice(a.food, a.n_episodes),
        };
        (*(this as *mut P)).observe(&activity)
    })
}

unsafe extern "C" fn structure_decide<P: StructurePolicy>(
    this: *mut c_void,
    population: *const PopulationV1,
    sink: *mut EditSinkV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let p = &*population;
        let projections = slice(p.projections, p.n_projections)
            .iter()
            .map(|v| ProjView {
                name: std::str::from_utf8(slice(v.name.ptr, v.name.len as u64)).unwrap_or_default(),
                role: match v.role {
                    ROLE_INCOMING => Role::Incoming,
                    ROLE_OUTGOING => Role::Outgoing,
                    _ => Role::Recurrent,
                },
                n_pre: v.n_pre as usize,
                n_post: v.n_post as usize,
                indptr: slice(v.indptr, v.n_pre + 1),
                indices: slice(v.indices, v.nnz),
                weights: slice(v.weights, v.nnz),
            })
            .collect();
        let population = crate::Population {
            episodes_done: p.episodes_done,
            round: p.round,
            ids: slice(p.ids, p.n),
            age: slice(p.age, p.n),
            w_in_norm: slice(p.w_in_norm, p.n),
            w_out_norm: slice(p.w_out_norm, p.n),
            grad_in_norm: slice(p.grad_in_norm, p.n),
            grad_out_norm: slice(p.grad_out_norm, p.n),
            projections,
        };
        let mut edits = Edits::default();
        (*(this as *mut P)).decide(&population, &mut edits)?;
        send(&edits, &*sink);
        Ok(())
    })
}

/// Hands `edits` to the host through its sink.
unsafe fn send(edits: &Edits, s: &EditSinkV1) {
    for &id in &edits.remove {
        (s.remove)(s.ctx, id);
    }
    for (proj, pre, post) in &edits.remove_synapses {
        (s.remove_synapse)(s.ctx, StrRef::new(proj), u64::from(*pre), u64::from(*post));
    }
    for (proj, pre, post, w) in &edits.add_synapses {
        (s.add_synapse)(
            s.ctx,
            StrRef::new(proj),
            u64::from(*pre),
            u64::from(*post),
            *w,
        );
    }
    if let Some((n, noise)) = edits.grow {
        (s.grow)(s.ctx, n as u64, noise);
    }
}

unsafe extern "C" fn structure_simulate<P: StructurePolicy>(
    this: *mut c_void,
    view: *const SimViewV1,
    sink: *mut EditSinkV1,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        let v = &*view;
        let name = |r: &StrRef| std::str::from_utf8(slice(r.ptr, r.len as u64)).unwrap_or_default();
        let index = |i: u64| (i != NOT_WATCHED).then_some(i as usize);
        let groups = slice(v.groups, v.n_groups)
            .iter()
            .map(|g| crate::Group {
                name: name(&g.name),
                ids: slice(g.ids, g.n),
                spikes: slice(g.spikes, g.n),
            })
            .collect();
        let projections = slice(v.projections, v.n_projections)
            .iter()
            .map(|p| crate::SimProj {
                name: name(&p.name),
                pre: index(p.pre),
                post: index(p.post),
                n_pre: p.n_pre as usize,
                n_post: p.n_post as usize,
                indptr: slice(p.indptr, p.n_pre + 1),
                indices: slice(p.indices, p.nnz),
                weights: slice(p.weights, p.nnz),
            })
            .collect();
        let view = crate::SimView {
            time_ms: v.time_ms,
            dt_ms: v.dt_ms,
            step: v.step,
            interval_steps: v.interval_steps,
            seed: v.seed,
            groups,
            projections,
        };
        let mut edits = Edits::default();
        (*(this as *mut P)).simulate(&view, &mut edits)?;
        send(&edits, &*sink);
        Ok(())
    })
}

unsafe extern "C" fn structure_resize<P: StructurePolicy>(
    this: *mut c_void,
    map: *const u64,
    n: u64,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || (*(this as *mut P)).resize(slice(map, n)))
}

unsafe extern "C" fn structure_save<P: StructurePolicy>(
    this: *mut c_void,
    sink: *mut ByteSink,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || save_to(sink, (*(this as *mut P)).save()))
}

unsafe extern "C" fn structure_load<P: StructurePolicy>(
    this: *mut c_void,
    bytes: BytesRef,
    err: *mut ErrBuf,
) -> Status {
    guard(err, || {
        (*(this as *mut P)).load(slice(bytes.ptr, bytes.len as u64))
    })
}

unsafe extern "C" fn structure_destroy<P: StructurePolicy>(this: *mut c_void) {
    if !this.is_null() {
        // A panicking destructor must not unwind into the host.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(this as *mut P))));
    }
}
