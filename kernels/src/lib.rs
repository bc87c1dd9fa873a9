//! snnsim's GPU kernels: HIP C++ in `hip/`, compiled by hipcc for ROCm (`--features hip`) or
//! by nvcc for CUDA (`--features cuda`, through `hip/compat.h`), behind the C ABI of
//! `hip/snnk.h`. This crate is the typed Rust side of that ABI: device discovery, a context,
//! device buffers, and the launchers. Without a feature nothing is compiled and every entry
//! point reports that the build has no GPU support.
//!
//! Device state is `f64`, as on the host, and the kernels are compiled without contraction,
//! so the neuron updates are the CPU's bit for bit; see docs/gpu.md for what differs.

#![deny(missing_docs)]

#[cfg(all(feature = "hip", feature = "cuda"))]
compile_error!(
    "the `hip` and `cuda` features of snnsim are mutually exclusive: build with one of them"
);

pub mod envs;
pub mod ffi;
pub mod memory;
pub mod round;

use std::ffi::{c_int, c_void, CStr};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

pub use envs::{DeviceEnvs, Envs, HostEnvs};
pub use ffi::{
    SnnkAgentLayers, SnnkCobaParams, SnnkCsr, SnnkEnvParams, SnnkEnvState, SnnkEnvTransition,
    SnnkLifParams, SnnkListSource, SnnkLog, SnnkPoissonChunk, SnnkPop, SnnkTarget, POISSON_CHUNK,
};
pub use memory::{Device, Host, Memory};
pub use round::{DeviceRound, EpisodeRecords, HostRound, Round};

/// The GPU platform this build targets: `Some("HIP")`, `Some("CUDA")`, or `None` for a build
/// without GPU support.
pub fn platform() -> Option<&'static str> {
    if cfg!(feature = "hip") {
        Some("HIP")
    } else if cfg!(feature = "cuda") {
        Some("CUDA")
    } else {
        None
    }
}

/// A failed GPU call: the runtime's (or the shim's) status code and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuError {
    /// The status: > 0 the runtime's error code, < 0 the shim's.
    pub code: i32,
    /// What was being done and the runtime's text for the code.
    pub message: String,
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GpuError {}

/// Result of a GPU call.
pub type Result<T> = std::result::Result<T, GpuError>;

/// The runtime's text for a status code.
pub fn error_text(code: i32) -> String {
    if code == ffi::NO_GPU {
        return "this snnsim was built without GPU support (rebuild with --features hip or \
                --features cuda)"
            .into();
    }
    // SAFETY: snnk_error_string returns a static NUL-terminated string for any code.
    let p = unsafe { ffi::snnk_error_string(code) };
    if p.is_null() {
        return format!("error {code}");
    }
    // SAFETY: non-null, static, NUL-terminated (above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `Ok` for status 0, else a [`GpuError`] naming `what`.
pub fn check(status: c_int, what: &str) -> Result<()> {
    if status == 0 {
        return Ok(());
    }
    let platform = platform().unwrap_or("GPU");
    Err(GpuError {
        code: status,
        message: if status == ffi::NO_GPU {
            error_text(status)
        } else {
            format!("{what}: {} ({platform} error {status})", error_text(status))
        },
    })
}

/// The device a context would use, as the runtime describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `"HIP"` or `"CUDA"`.
    pub platform: &'static str,
    /// Devices present.
    pub count: i32,
    /// Name of device 0 (for example `NVIDIA H100 80GB HBM3`, `AMD Radeon RX 6900 XT`).
    pub name: String,
    /// Its architecture (`sm_90`, `gfx1030`).
    pub arch: String,
    /// Runtime version, as the runtime encodes it.
    pub runtime_version: i32,
    /// Driver version, as the runtime encodes it (0 where there is no driver).
    pub driver_version: i32,
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.arch, self.platform)
    }
}

/// Asks the runtime for a device. `Err` says why there is none: no GPU support in this build,
/// no driver, no device; its message is one line, fit to print as the reason for falling
/// back to the CPU.
pub fn probe() -> Result<DeviceInfo> {
    let Some(platform) = platform() else {
        return Err(GpuError {
            code: ffi::NO_GPU,
            message: error_text(ffi::NO_GPU),
        });
    };
    #[cfg(feature = "hip")]
    hip_count()?;
    let mut count: c_int = 0;
    let mut name = [0u8; 256];
    let mut arch = [0u8; 64];
    let (mut rv, mut dv): (c_int, c_int) = (0, 0);
    // SAFETY: every pointer is valid for the length given with it.
    let status = unsafe {
        ffi::snnk_probe(
            &mut count,
            name.as_mut_ptr().cast(),
            name.len(),
            arch.as_mut_ptr().cast(),
            arch.len(),
            &mut rv,
            &mut dv,
        )
    };
    check(status, &format!("{platform} device discovery")).map_err(|mut e| {
        if dv == 0 && platform == "CUDA" {
            e.message.push_str("; no NVIDIA driver is installed");
        }
        e
    })?;
    let text = |b: &[u8]| {
        CStr::from_bytes_until_nul(b)
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    Ok(DeviceInfo {
        platform,
        count,
        name: text(&name),
        arch: text(&arch),
        runtime_version: rv,
        driver_version: dv,
    })
}

/// The HIP runtime's device count, through hip-sys.
#[cfg(feature = "hip")]
fn hip_count() -> Result<i32> {
    use hip_sys::hiprt::{hipError_t, hipGetDeviceCount, hipGetErrorString};
    let mut n: c_int = 0;
    // SAFETY: a plain out-parameter.
    let e = unsafe { hipGetDeviceCount(&mut n) };
    if e == hipError_t::hipSuccess && n > 0 {
        return Ok(n);
    }
    let e = if e == hipError_t::hipSuccess {
        hipError_t::hipErrorNoDevice
    } else {
        e
    };
    // SAFETY: hipGetErrorString returns a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(hipGetErrorString(e)) }.to_string_lossy();
    Err(GpuError {
        code: e as i32,
        message: format!("HIP device discovery: {text} (HIP error {})", e as i32),
    })
}

/// A device context: one stream, on which every upload, launch and download of this crate is
/// ordered. Buffers keep their context alive.
#[derive(Debug)]
pub struct Context {
    raw: *mut ffi::SnnkCtx,
    info: DeviceInfo,
    multiprocessors: u32,
}

// SAFETY: the context is a device number and a stream, usable from any host thread; snnsim
// drives it from one thread at a time.
unsafe impl Send for Context {}
// SAFETY: as above; no method mutates host-side state of the context.
unsafe impl Sync for Context {}

impl Context {
    /// Opens device 0 (after [`probe`] says there is one).
    pub fn open() -> Result<Arc<Context>> {
        let info = probe()?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: out-parameter.
        check(
            unsafe { ffi::snnk_create(0, &mut raw) },
            "creating a device context",
        )?;
        // SAFETY: raw is a live context.
        let multiprocessors = unsafe { ffi::snnk_multiprocessors(raw) }.max(1);
        Ok(Arc::new(Context {
            raw,
            info,
            multiprocessors,
        }))
    }

    /// The device.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// Its multiprocessors (compute units).
    pub fn multiprocessors(&self) -> u32 {
        self.multiprocessors
    }

    /// The raw context, for the launchers.
    pub fn raw(&self) -> *mut ffi::SnnkCtx {
        self.raw
    }

    /// Waits for every call so far; reports an error of any of them.
    pub fn sync(&self) -> Result<()> {
        // SAFETY: live context.
        check(
            unsafe { ffi::snnk_sync(self.raw) },
            "waiting for the device",
        )
    }

    /// A zero-filled device buffer of `len` elements.
    pub fn alloc<T: DeviceCopy>(self: &Arc<Self>, len: usize) -> Result<DeviceBuffer<T>> {
        let mut p: *mut c_void = std::ptr::null_mut();
        let bytes = len * std::mem::size_of::<T>();
        // SAFETY: out-parameter; live context.
        check(
            unsafe { ffi::snnk_alloc(self.raw, bytes, &mut p) },
            &format!("allocating {bytes} bytes of device memory"),
        )?;
        Ok(DeviceBuffer {
            ctx: Arc::clone(self),
            ptr: p.cast(),
            len,
            _t: PhantomData,
        })
    }

    /// A device buffer holding a copy of `data`.
    pub fn upload<T: DeviceCopy>(self: &Arc<Self>, data: &[T]) -> Result<DeviceBuffer<T>> {
        let mut b = self.alloc(data.len())?;
        b.write(0, data)?;
        Ok(b)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: created by snnk_create, destroyed once; every buffer (which holds an Arc of
        // this context) is gone.
        unsafe { ffi::snnk_destroy(self.raw) }
    }
}

/// A recorded sequence of launches, replayed by [`Graph::launch`] (HIP and CUDA graphs).
#[derive(Debug)]
pub struct Graph {
    ctx: Arc<Context>,
    raw: *mut ffi::SnnkGraph,
}

// SAFETY: an executable graph handle, launched on the context's stream from one thread at a
// time.
unsafe impl Send for Graph {}
// SAFETY: as above.
unsafe impl Sync for Graph {}

impl Graph {
    /// Records the launches `enqueue` makes on the context's stream (nothing runs), and
    /// prepares them for replay. `enqueue` must only launch: no copies that wait, no syncs.
    pub fn record(ctx: &Arc<Context>, enqueue: impl FnOnce() -> Result<()>) -> Result<Graph> {
        // SAFETY: live context.
        check(
            unsafe { ffi::snnk_capture_begin(ctx.raw) },
            "starting a graph capture",
        )?;
        let recorded = enqueue();
        let mut raw = std::ptr::null_mut();
        // SAFETY: ends the capture begun above (always, so the stream leaves capture mode).
        let ended = check(
            unsafe { ffi::snnk_capture_end(ctx.raw, &mut raw) },
            "ending a graph capture",
        );
        let g = Graph {
            ctx: Arc::clone(ctx),
            raw,
        };
        recorded?;
        ended?;
        Ok(g)
    }

    /// Replays the recorded launches on the context's stream.
    pub fn launch(&self) -> Result<()> {
        // SAFETY: a graph made by `record` on this context.
        check(
            unsafe { ffi::snnk_graph_launch(self.ctx.raw, self.raw) },
            "launching a graph",
        )
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        // SAFETY: made by snnk_capture_end (or null), destroyed once.
        unsafe { ffi::snnk_graph_destroy(self.raw) }
    }
}

/// Plain data that may be copied to and from the device byte for byte.
///
/// # Safety
/// Every bit pattern the device writes must be a valid value (no references, no niches that
/// the device could violate).
pub unsafe trait DeviceCopy: Copy + Default {}
// SAFETY: plain numbers.
unsafe impl DeviceCopy for f64 {}
// SAFETY: plain numbers.
unsafe impl DeviceCopy for u64 {}
// SAFETY: plain numbers.
unsafe impl DeviceCopy for u32 {}
// SAFETY: plain numbers.
unsafe impl DeviceCopy for u16 {}
// SAFETY: plain numbers.
unsafe impl DeviceCopy for u8 {}
// SAFETY: plain numbers; only the host writes it.
unsafe impl DeviceCopy for SnnkLifParams {}
// SAFETY: plain numbers; only the host writes it.
unsafe impl DeviceCopy for SnnkCobaParams {}
// SAFETY: plain numbers; only the host writes it.
unsafe impl DeviceCopy for SnnkPoissonChunk {}

/// Host-written descriptors holding device addresses: copied to the device, never read back.
/// Kept apart from [`DeviceCopy`] because they have no meaningful default.
///
/// # Safety
/// The type must be `#[repr(C)]` plain data that the kernels read with the layout of its
/// declaration in hip/snnk.h.
pub unsafe trait Descriptor: Copy {}
// SAFETY: numbers and raw device addresses.
unsafe impl Descriptor for SnnkPop {}
// SAFETY: numbers and raw device addresses.
unsafe impl Descriptor for SnnkListSource {}

/// Elements in device memory, freed on drop.
#[derive(Debug)]
pub struct DeviceBuffer<T> {
    ctx: Arc<Context>,
    ptr: *mut T,
    len: usize,
    _t: PhantomData<T>,
}

// SAFETY: a device address and a length; access goes through the context's stream.
unsafe impl<T: Send> Send for DeviceBuffer<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for DeviceBuffer<T> {}

impl<T> DeviceBuffer<T> {
    /// Elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device address, for descriptors and launchers.
    pub fn ptr(&self) -> *mut T {
        self.ptr
    }

    /// The device address of element `i` (which may be `len`, one past the end).
    pub fn ptr_at(&self, i: usize) -> *mut T {
        assert!(i <= self.len, "index {i} out of a buffer of {}", self.len);
        self.ptr.wrapping_add(i)
    }

    fn range_check(&self, offset: usize, n: usize) {
        assert!(
            offset.checked_add(n).is_some_and(|e| e <= self.len),
            "range {offset}..+{n} out of a device buffer of {}",
            self.len
        );
    }

    /// Copies `data` to elements `offset..`; returns when `data` may be reused.
    pub fn write(&mut self, offset: usize, data: &[T]) -> Result<()>
    where
        T: Copy,
    {
        self.range_check(offset, data.len());
        // SAFETY: the range is inside the buffer (checked); `data` is valid for its length.
        check(
            unsafe {
                ffi::snnk_upload(
                    self.ctx.raw,
                    self.ptr.add(offset).cast(),
                    data.as_ptr().cast(),
                    std::mem::size_of_val(data),
                )
            },
            "copying to the device",
        )
    }

    /// Copies elements `offset..offset + out.len()` into `out`, after every call so far.
    pub fn read(&self, offset: usize, out: &mut [T]) -> Result<()>
    where
        T: DeviceCopy,
    {
        self.range_check(offset, out.len());
        // SAFETY: the range is inside the buffer (checked); `out` is valid for its length, and
        // DeviceCopy makes any bytes the device wrote a valid T.
        check(
            unsafe {
                ffi::snnk_download(
                    self.ctx.raw,
                    out.as_mut_ptr().cast(),
                    self.ptr.add(offset).cast(),
                    std::mem::size_of_val(out),
                )
            },
            "copying from the device",
        )
    }

    /// The whole buffer, copied to the host.
    pub fn to_vec(&self) -> Result<Vec<T>>
    where
        T: DeviceCopy,
    {
        let mut v = vec![T::default(); self.len];
        self.read(0, &mut v)?;
        Ok(v)
    }

    /// Zero-fills elements `offset..offset + n`, asynchronously (ordered on the stream).
    pub fn zero(&mut self, offset: usize, n: usize) -> Result<()> {
        self.range_check(offset, n);
        // SAFETY: the range is inside the buffer (checked).
        check(
            unsafe {
                ffi::snnk_zero(
                    self.ctx.raw,
                    self.ptr.add(offset).cast(),
                    n * std::mem::size_of::<T>(),
                )
            },
            "clearing device memory",
        )
    }
}

impl<T> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        // SAFETY: allocated by snnk_alloc on this context, freed once.
        let _ = unsafe { ffi::snnk_free(self.ctx.raw, self.ptr.cast()) };
    }
}

/// A device copy of host-built descriptors (see [`Descriptor`]).
pub fn upload_descriptors<T: Descriptor>(
    ctx: &Arc<Context>,
    data: &[T],
) -> Result<DeviceBuffer<T>> {
    let mut p: *mut c_void = std::ptr::null_mut();
    let bytes = std::mem::size_of_val(data);
    // SAFETY: out-parameter; live context.
    check(
        unsafe { ffi::snnk_alloc(ctx.raw, bytes, &mut p) },
        &format!("allocating {bytes} bytes of device memory"),
    )?;
    let mut b = DeviceBuffer {
        ctx: Arc::clone(ctx),
        ptr: p.cast::<T>(),
        len: data.len(),
        _t: PhantomData,
    };
    b.write(0, data)?;
    Ok(b)
}

/// Draw number `index` of the ChaCha8 stream with `key` (the 32-byte seed, as little-endian
/// words), computed on the host by the code the Poisson kernel runs on the device. `None`
/// without GPU support.
pub fn chacha8_draw(key: &[u32; 8], index: u64) -> Option<u64> {
    platform()?;
    // SAFETY: `key` holds the 8 words the function reads.
    Some(unsafe { ffi::snnk_chacha8_u64(key.as_ptr(), index) })
}

/// The outputs of one decision of a batch of agents, in the layout of `snnk_agent_decide`
/// (hip/snnk.h): per agent `a`, `z[a·o..]`, `q`/`nu`/`counts[a·h..]`, and `mem`/`flags` of
/// step t at `(a·T + t)·h..`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentDecision {
    /// Hidden membrane after each step.
    pub mem: Vec<f64>,
    /// Per step and neuron: [`ffi::AGENT_SPIKE`] | [`ffi::AGENT_RESET`].
    pub flags: Vec<u8>,
    /// Logits: the mean readout membrane.
    pub z: Vec<f64>,
    /// q of the factored backward pass.
    pub q: Vec<f64>,
    /// ν of the factored backward pass.
    pub nu: Vec<f64>,
    /// Spikes of each hidden neuron in the decision.
    pub counts: Vec<u32>,
}

impl AgentDecision {
    /// Zeroed buffers for `n_agents` agents of `layers`.
    pub fn zeroed(layers: &SnnkAgentLayers, n_agents: usize) -> Self {
        let (h, o, t) = (
            layers.hidden as usize,
            layers.out as usize,
            layers.steps as usize,
        );
        AgentDecision {
            mem: vec![0.0; n_agents * t * h],
            flags: vec![0; n_agents * t * h],
            z: vec![0.0; n_agents * o],
            q: vec![0.0; n_agents * h],
            nu: vec![0.0; n_agents * h],
            counts: vec![0; n_agents * h],
        }
    }
}

/// Panics unless the active lists of a batch decision fit: `active_start` non-decreasing up
/// to at most `active.len()`, every active index one of the `rows` input rows. Returns the
/// number of agents.
fn check_active(active: &[u32], active_start: &[u32], rows: usize) -> usize {
    assert!(active_start.len() >= 2, "no agents");
    assert!(
        active_start.windows(2).all(|w| w[0] <= w[1])
            && *active_start.last().unwrap() as usize <= active.len(),
        "active_start must rise to at most active.len()"
    );
    assert!(
        active.iter().all(|&i| (i as usize) < rows),
        "an active input is not a row of w1"
    );
    active_start.len() - 1
}

/// `snnk_agent_decide` computed on the host by the kernel's own per-neuron and per-unit code
/// (hip/agent.hip), so its arithmetic can be compared with the CPU agent without a device.
/// `None` without GPU support.
pub fn agent_decide_host(
    layers: &SnnkAgentLayers,
    w1: &[f64],
    w2: &[f64],
    active: &[u32],
    active_start: &[u32],
) -> Option<Result<AgentDecision>> {
    platform()?;
    let (h, o) = (layers.hidden as usize, layers.out as usize);
    assert!(
        h > 0 && o > 0 && layers.steps > 0,
        "empty layers {layers:?}"
    );
    assert!(
        w1.len() % h == 0,
        "w1 holds {} values, not rows of {h}",
        w1.len()
    );
    assert_eq!(w2.len(), h * o, "w2 must be hidden × out");
    let n = check_active(active, active_start, w1.len() / h);
    let mut d = AgentDecision::zeroed(layers, n);
    // SAFETY: every buffer has the size snnk.h documents for these layers and agents
    // (zeroed above; the inputs checked).
    let status = unsafe {
        ffi::snnk_agent_decide_host(
            *layers,
            w1.as_ptr(),
            w2.as_ptr(),
            n as u32,
            active.as_ptr(),
            active_start.as_ptr(),
            d.mem.as_mut_ptr(),
            d.flags.as_mut_ptr(),
            d.z.as_mut_ptr(),
            d.q.as_mut_ptr(),
            d.nu.as_mut_ptr(),
            d.counts.as_mut_ptr(),
        )
    };
    Some(check(status, "deciding on the host").map(|()| d))
}

/// The actions of one decision of a batch of agents and their gradients, in the layout of
/// `snnk_agent_sample` (hip/snnk.h): agent a's at `actions[a]` and `pi`/`dlogp`/`dent[a·o..]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentSamples {
    /// The sampled action of each agent.
    pub actions: Vec<u32>,
    /// π = softmax(z).
    pub pi: Vec<f64>,
    /// ∂log π(a)/∂z.
    pub dlogp: Vec<f64>,
    /// ∂H/∂z.
    pub dent: Vec<f64>,
}

/// `snnk_agent_sample` computed on the host by the kernel's own per-agent code: agent a
/// samples from softmax(`z[a·o..]`) with draw `draws[a]` of the ChaCha8 stream keyed by
/// `keys[a]`. `None` without GPU support.
pub fn agent_sample_host(
    o: usize,
    z: &[f64],
    keys: &[[u32; 8]],
    draws: &[u64],
) -> Option<Result<AgentSamples>> {
    platform()?;
    let n = keys.len();
    assert!(
        o > 0 && z.len() == n * o && draws.len() == n,
        "o logits, a key and a draw per agent"
    );
    let mut s = AgentSamples {
        actions: vec![0; n],
        pi: vec![0.0; n * o],
        dlogp: vec![0.0; n * o],
        dent: vec![0.0; n * o],
    };
    // SAFETY: every buffer holds n agents' values (checked and allocated above), in host
    // memory, which a null context reads; the keys are 8 words each, contiguous.
    let status = unsafe {
        ffi::snnk_agent_sample(
            std::ptr::null_mut(),
            o as u32,
            n as u32,
            z.as_ptr(),
            keys.as_ptr().cast(),
            draws.as_ptr(),
            s.actions.as_mut_ptr(),
            s.pi.as_mut_ptr(),
            s.dlogp.as_mut_ptr(),
            s.dent.as_mut_ptr(),
        )
    };
    Some(check(status, "sampling on the host").map(|()| s))
}

/// The device buffers of batch decisions for up to `capacity` agents of fixed layers, with
/// the policy's weights.
#[derive(Debug)]
pub struct AgentBatch {
    layers: SnnkAgentLayers,
    capacity: usize,
    w1: DeviceBuffer<f64>,
    w2: DeviceBuffer<f64>,
    active: DeviceBuffer<u32>,
    active_start: DeviceBuffer<u32>,
    mem: DeviceBuffer<f64>,
    flags: DeviceBuffer<u8>,
    z: DeviceBuffer<f64>,
    q: DeviceBuffer<f64>,
    nu: DeviceBuffer<f64>,
    counts: DeviceBuffer<u32>,
    n_agents: usize,
}

impl AgentBatch {
    /// Buffers for up to `capacity` agents with `max_active` active inputs each at most, and
    /// `n_in` input rows.
    pub fn new(
        ctx: &Arc<Context>,
        layers: SnnkAgentLayers,
        n_in: usize,
        capacity: usize,
        max_active: usize,
    ) -> Result<Self> {
        let (h, o, t) = (
            layers.hidden as usize,
            layers.out as usize,
            layers.steps as usize,
        );
        let cap = capacity.max(1);
        Ok(AgentBatch {
            layers,
            capacity: cap,
            w1: ctx.alloc(n_in * h)?,
            w2: ctx.alloc(h * o)?,
            active: ctx.alloc((cap * max_active).max(1))?,
            active_start: ctx.alloc(cap + 1)?,
            mem: ctx.alloc(cap * t * h)?,
            flags: ctx.alloc(cap * t * h)?,
            z: ctx.alloc(cap * o)?,
            q: ctx.alloc(cap * h)?,
            nu: ctx.alloc(cap * h)?,
            counts: ctx.alloc(cap * h)?,
            n_agents: 0,
        })
    }

    /// The layers these buffers are for.
    pub fn layers(&self) -> &SnnkAgentLayers {
        &self.layers
    }

    /// The most agents a decision may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Input rows (of w1).
    pub fn inputs(&self) -> usize {
        self.w1.len() / self.layers.hidden as usize
    }

    /// Uploads the policy's weights (w1: n_in × h, w2: h × o, row-major).
    pub fn set_weights(&mut self, w1: &[f64], w2: &[f64]) -> Result<()> {
        assert_eq!(w1.len(), self.w1.len(), "w1 has the wrong size");
        assert_eq!(w2.len(), self.w2.len(), "w2 has the wrong size");
        self.w1.write(0, w1)?;
        self.w2.write(0, w2)
    }

    /// Launches one decision of `active_start.len() − 1` agents (at most the capacity; see
    /// `snnk_agent_decide`); the outputs are read with [`AgentBatch::read`].
    pub fn decide(&mut self, active: &[u32], active_start: &[u32]) -> Result<()> {
        let h = self.layers.hidden as usize;
        let n = check_active(active, active_start, self.w1.len() / h);
        assert!(
            n <= self.capacity,
            "{n} agents in buffers for {}",
            self.capacity
        );
        assert!(
            active.len() <= self.active.len(),
            "more active inputs than reserved"
        );
        self.active.write(0, active)?;
        self.active_start.write(0, active_start)?;
        self.n_agents = n;
        // SAFETY: every buffer is a live buffer of this context sized for `capacity` agents of
        // these layers (allocated in `new`), n <= capacity, the active lists are checked
        // against the rows of w1.
        check(
            unsafe {
                ffi::snnk_agent_decide(
                    self.w1.ctx.raw,
                    self.layers,
                    self.w1.ptr(),
                    self.w2.ptr(),
                    n as u32,
                    self.active.ptr(),
                    self.active_start.ptr(),
                    self.mem.ptr(),
                    self.flags.ptr(),
                    self.z.ptr(),
                    self.q.ptr(),
                    self.nu.ptr(),
                    self.counts.ptr(),
                )
            },
            "launching a batch decision",
        )
    }

    /// The logits, q, ν and spike counts of the last decision's agents (flags and membranes
    /// are left on the device; see [`AgentBatch::read_flags`]).
    pub fn read(&self, out: &mut AgentDecision) -> Result<()> {
        let (h, o, n) = (
            self.layers.hidden as usize,
            self.layers.out as usize,
            self.n_agents,
        );
        out.z.resize(n * o, 0.0);
        out.q.resize(n * h, 0.0);
        out.nu.resize(n * h, 0.0);
        out.counts.resize(n * h, 0);
        self.z.read(0, &mut out.z)?;
        self.q.read(0, &mut out.q)?;
        self.nu.read(0, &mut out.nu)?;
        self.counts.read(0, &mut out.counts)
    }

    /// Agent `a`'s flags of the last decision (T × h).
    pub fn read_flags(&self, a: usize, out: &mut Vec<u8>) -> Result<()> {
        let th = self.layers.steps as usize * self.layers.hidden as usize;
        assert!(a < self.n_agents, "agent {a} of {}", self.n_agents);
        out.resize(th, 0);
        self.flags.read(a * th, out)
    }

    /// Agent `a`'s membranes of the last decision (T × h).
    pub fn read_mem(&self, a: usize, out: &mut Vec<f64>) -> Result<()> {
        let th = self.layers.steps as usize * self.layers.hidden as usize;
        assert!(a < self.n_agents, "agent {a} of {}", self.n_agents);
        out.resize(th, 0.0);
        self.mem.read(a * th, out)
    }
}

/// The number of threads per block of the neuron-update kernels (`SNNK_UPDATE_BLOCK`).
pub fn update_block_size() -> u32 {
    // SAFETY: no arguments; the stub answers 0.
    match unsafe { ffi::snnk_update_block_size() } {
        0 => 256,
        n => n,
    }
}

/// The launchers: thin `unsafe` wrappers over the C ABI that turn statuses into errors.
///
/// # Safety (all of them)
/// Every device address passed, directly or inside a descriptor, must belong to a live
/// buffer of the same context, large enough for the sizes passed with it and in the
/// descriptors (see hip/snnk.h for each kernel's reads and writes).
pub mod launch {
    use super::*;

    /// `snnk_end_step`.
    ///
    /// # Safety
    /// See the [module](self).
    pub unsafe fn end_step(
        ctx: &Context,
        step: &DeviceBuffer<u64>,
        counts: &DeviceBuffer<u32>,
        last_counts: &DeviceBuffer<u32>,
    ) -> Result<()> {
        assert!(last_counts.len() >= counts.len() && !step.is_empty());
        check(
            ffi::snnk_end_step(
                ctx.raw,
                step.ptr(),
                counts.ptr(),
                last_counts.ptr(),
                counts.len() as u32,
            ),
            "launching the end of a step",
        )
    }

    /// `snnk_lif_update`.
    ///
    /// # Safety
    /// See the [module](self).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn lif_update(
        ctx: &Context,
        pops: &DeviceBuffer<SnnkPop>,
        params: &DeviceBuffer<SnnkLifParams>,
        n_blocks: u32,
        cols: [*mut f64; 3],
        i_ext: *const f64,
        refractory: *mut u32,
        step: *const u64,
        counts: *mut u32,
        totals: *mut u64,
        log: SnnkLog,
    ) -> Result<()> {
        check(
            ffi::snnk_lif_update(
                ctx.raw,
                pops.ptr(),
                params.ptr(),
                pops.len() as u32,
                n_blocks,
                cols[0],
                cols[1],
                cols[2],
                i_ext,
                refractory,
                step,
                counts,
                totals,
                log,
            ),
            "launching the LIF update",
        )
    }

    /// `snnk_coba_update`.
    ///
    /// # Safety
    /// See the [module](self).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn coba_update(
        ctx: &Context,
        pops: &DeviceBuffer<SnnkPop>,
        params: &DeviceBuffer<SnnkCobaParams>,
        n_blocks: u32,
        cols: [*mut f64; 3],
        i_ext: *const f64,
        refractory: *mut u32,
        step: *const u64,
        counts: *mut u32,
        totals: *mut u64,
        log: SnnkLog,
    ) -> Result<()> {
        check(
            ffi::snnk_coba_update(
                ctx.raw,
                pops.ptr(),
                params.ptr(),
                pops.len() as u32,
                n_blocks,
                cols[0],
                cols[1],
                cols[2],
                i_ext,
                refractory,
                step,
                counts,
                totals,
                log,
            ),
            "launching the CobaLif update",
        )
    }

    /// `snnk_poisson_update`.
    ///
    /// # Safety
    /// See the [module](self).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn poisson_update(
        ctx: &Context,
        pops: &DeviceBuffer<SnnkPop>,
        p: &DeviceBuffer<f64>,
        n_blocks: u32,
        chunks: &DeviceBuffer<SnnkPoissonChunk>,
        step: *const u64,
        step0: u64,
        counts: *mut u32,
        totals: *mut u64,
        log: SnnkLog,
    ) -> Result<()> {
        check(
            ffi::snnk_poisson_update(
                ctx.raw,
                pops.ptr(),
                p.ptr(),
                pops.len() as u32,
                n_blocks,
                chunks.ptr(),
                step,
                step0,
                counts,
                totals,
                log,
            ),
            "launching the Poisson sources",
        )
    }

    /// `snnk_list_source_update`.
    ///
    /// # Safety
    /// See the [module](self).
    pub unsafe fn list_source_update(
        ctx: &Context,
        pops: &DeviceBuffer<SnnkPop>,
        sources: &DeviceBuffer<SnnkListSource>,
        step: *const u64,
        counts: *mut u32,
        totals: *mut u64,
        log: SnnkLog,
    ) -> Result<()> {
        check(
            ffi::snnk_list_source_update(
                ctx.raw,
                pops.ptr(),
                sources.ptr(),
                pops.len() as u32,
                step,
                counts,
                totals,
                log,
            ),
            "launching the spike-list sources",
        )
    }

    /// `snnk_propagate_csr`.
    ///
    /// # Safety
    /// See the [module](self).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn propagate_csr(
        ctx: &Context,
        csr: SnnkCsr,
        spikes: *const u32,
        count: *const u32,
        target: SnnkTarget,
        step: *const u64,
        grid: u32,
        block: u32,
        events: *mut u64,
    ) -> Result<()> {
        check(
            ffi::snnk_propagate_csr(
                ctx.raw, csr, spikes, count, target, step, grid, block, events,
            ),
            "launching a sparse projection",
        )
    }

    /// `snnk_propagate_dense`.
    ///
    /// # Safety
    /// See the [module](self).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn propagate_dense(
        ctx: &Context,
        weights: *const f64,
        row_nnz: *const u32,
        n_pre: u32,
        last_spike: *const u32,
        count: *const u32,
        target: SnnkTarget,
        delay: u32,
        step: *const u64,
        events: *mut u64,
    ) -> Result<()> {
        check(
            ffi::snnk_propagate_dense(
                ctx.raw, weights, row_nnz, n_pre, last_spike, count, target, delay, step, events,
            ),
            "launching a dense projection",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_device_probe_gives_a_one_line_reason() {
        match probe() {
            Ok(info) => println!("device present: {info}"),
            Err(e) => {
                assert!(!e.message.is_empty() && !e.message.contains('\n'), "{e:?}");
                println!("no device: {e}");
            }
        }
    }
}
