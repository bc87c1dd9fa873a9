//! Compiles hip/*.hip into a static library when the `hip` or `cuda` feature is on; does
//! nothing otherwise, so a default build needs no GPU toolchain.
//!
//! - `hip`: hipcc (`$HIPCC`, else `$HIP_PATH/bin/hipcc`, else `hipconfig -p`/bin/hipcc, else
//!   `hipcc` on PATH) for every architecture in `$SNNSIM_HIP_ARCHS` (default `gfx1030,gfx90a`);
//!   hip-sys links libamdhip64, and it is named again after the shim.
//! - `cuda`: nvcc (`$NVCC`, else `$CUDA_PATH/bin/nvcc`, else `nvcc` on PATH) compiles the same
//!   files as CUDA (`-x cu`, compat.h maps the hip* names) for every compute capability in
//!   `$SNNSIM_CUDA_ARCHS` (default `90`), with the static CUDA runtime.
//!
//! Both compile without floating-point contraction, so device arithmetic is the CPU's.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCES: &[&str] = &[
    "runtime.hip",
    "neurons.hip",
    "propagate.hip",
    "agent.hip",
    "envs.hip",
];
const HEADERS: &[&str] = &["compat.h", "snnk.h", "device.h", "envs.h"];

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("hip");
    println!("cargo:rerun-if-changed=build.rs");
    for f in SOURCES.iter().chain(HEADERS) {
        println!("cargo:rerun-if-changed={}", dir.join(f).display());
    }
    for v in [
        "HIPCC",
        "HIP_PATH",
        "NVCC",
        "CUDA_PATH",
        "SNNSIM_HIP_ARCHS",
        "SNNSIM_CUDA_ARCHS",
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    let hip = env::var_os("CARGO_FEATURE_HIP").is_some();
    let cuda = env::var_os("CARGO_FEATURE_CUDA").is_some();
    match (hip, cuda) {
        (true, true) | (false, false) => {} // none: nothing to build; both: lib.rs says why
        (true, false) => build_hip(&dir),
        (false, true) => build_cuda(&dir),
    }
}

fn sources(dir: &Path) -> Vec<PathBuf> {
    SOURCES.iter().map(|f| dir.join(f)).collect()
}

fn archs(var: &str, default: &str) -> Vec<String> {
    env::var(var)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn hip_root() -> Option<PathBuf> {
    if let Some(p) = env::var_os("HIP_PATH") {
        return Some(PathBuf::from(p));
    }
    let out = Command::new("hipconfig").arg("-p").output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn build_hip(dir: &Path) {
    let root = hip_root();
    let hipcc = env::var_os("HIPCC")
        .map(PathBuf::from)
        .or_else(|| {
            root.as_ref()
                .map(|r| r.join("bin/hipcc"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from("hipcc"));
    let archs = archs("SNNSIM_HIP_ARCHS", "gfx1030,gfx90a");
    // hipcc asks rocm_agent_enumerator (which needs a GPU) for a target whenever it runs
    // without --offload-arch, as cc's compiler detection does; name the targets instead.
    env::set_var("HCC_AMDGPU_TARGET", archs.join(","));
    // hipcc compiles for NVIDIA when it finds nvcc on PATH; this build is for AMD.
    env::set_var("HIP_PLATFORM", "amd");
    let mut b = cc::Build::new();
    b.compiler(&hipcc)
        .cpp(true)
        .debug(false)
        .opt_level(3)
        .include(dir)
        .flag("-std=c++17")
        .flag("-ffp-contract=off")
        .flag("-Wno-unused-parameter")
        .files(sources(dir));
    for a in &archs {
        b.flag(format!("--offload-arch={a}"));
    }
    b.compile("snnsim_kernels");
    // After the static library, so that its references to the runtime resolve.
    if let Some(r) = &root {
        println!("cargo:rustc-link-search=native={}", r.join("lib").display());
    }
    println!("cargo:rustc-link-lib=dylib=amdhip64");
}

fn build_cuda(dir: &Path) {
    // cc runs `nvcc` from PATH unless NVCC names it (it must not be given `.compiler(...)`:
    // its CUDA mode then loses track of nvcc's flags).
    let nvcc = env::var_os("NVCC").map(PathBuf::from).or_else(|| {
        env::var_os("CUDA_PATH")
            .map(|p| PathBuf::from(p).join("bin/nvcc"))
            .filter(|p| p.is_file())
    });
    if let Some(n) = &nvcc {
        env::set_var("NVCC", n);
    }
    let mut b = cc::Build::new();
    b.cuda(true)
        .cudart("static")
        .debug(false)
        .opt_level(3)
        .include(dir)
        .flag("-std=c++17")
        .flag("-fmad=false")
        .flag("-x")
        .flag("cu")
        .files(sources(dir));
    for a in archs("SNNSIM_CUDA_ARCHS", "90") {
        b.flag(format!("-gencode=arch=compute_{a},code=sm_{a}"));
    }
    b.compile("snnsim_kernels");
    // cc names cudart_static and searches <nvcc>/../targets/<arch>-linux/lib; the pip wheels
    // (nvidia-cuda-runtime) keep it in <nvcc>/../lib instead.
    let nvcc_path = nvcc.or_else(|| which("nvcc"));
    if let Some(bin) = nvcc_path.as_ref().and_then(|p| p.parent()) {
        for lib in ["lib", "lib64"] {
            let d = bin.join("..").join(lib);
            if d.join("libcudart_static.a").is_file() {
                println!("cargo:rustc-link-search=native={}", d.display());
            }
        }
    }
    for l in ["rt", "dl", "pthread"] {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}
