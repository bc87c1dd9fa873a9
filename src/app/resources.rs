//! The memory a run can have, and the check that refuses a network whose estimate
//! (`graph::estimate`) exceeds it before anything is allocated.
//!
//! What a process can have is the least of three limits, each of which ends it differently
//! when crossed: the kernel's `MemAvailable` (the OOM killer), the memory cgroup's limit less
//! its current use (the cgroup's OOM killer), and `RLIMIT_AS` (allocation failure). They are
//! read from /proc and /sys (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`) and from
//! `getrlimit`; where none can be read the run is not refused. `--memory-limit BYTES`
//! replaces them, either way.

use crate::error::Result;
use crate::file::Checked;
use crate::graph::estimate::{human, Estimate};

/// A memory limit and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// `MemAvailable`, `cgroup memory.max`, `RLIMIT_AS` or `--memory-limit`.
    pub source: String,
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The memory cgroup's limit less its use, in bytes (v2, else v1), where there is a limit.
fn cgroup_left() -> Option<(u64, &'static str)> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let path_of = |pred: &dyn Fn(&str) -> bool| {
        cgroups.lines().find_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, ctrl, path) = (it.next()?, it.next()?, it.next()?);
            pred(ctrl).then(|| path.to_string())
        })
    };
    // v2: the unified hierarchy, its own cgroup first, then the mount's root.
    if let Some(p) = path_of(&|c| c.is_empty()) {
        for dir in [format!("/sys/fs/cgroup{p}"), "/sys/fs/cgroup".to_string()] {
            let max = std::fs::read_to_string(format!("{dir}/memory.max")).ok();
            if let Some(max) = max.as_deref().map(str::trim) {
                if max == "max" {
                    break;
                }
                if let Ok(max) = max.parse::<u64>() {
                    let used = read_u64(&format!("{dir}/memory.current")).unwrap_or(0);
                    return Some((max.saturating_sub(used), "cgroup memory.max"));
                }
            }
        }
    }
    // v1: the memory controller.
    if let Some(p) = path_of(&|c| c.split(',').any(|c| c == "memory")) {
        for dir in [
            format!("/sys/fs/cgroup/memory{p}"),
            "/sys/fs/cgroup/memory".to_string(),
        ] {
            if let Some(max) = read_u64(&format!("{dir}/memory.limit_in_bytes")) {
                // "No limit" reads as a huge number (2^63 rounded down to a page).
                if max >= 1 << 62 {
                    break;
                }
                let used = read_u64(&format!("{dir}/memory.usage_in_bytes")).unwrap_or(0);
                return Some((max.saturating_sub(used), "cgroup memory.limit_in_bytes"));
            }
        }
    }
    None
}

/// `RLIMIT_AS` (the address-space limit), where one is set.
fn rlimit_as() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } == 0;
    (ok && r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur)
}

/// The least of `MemAvailable`, the cgroup's limit less its use and `RLIMIT_AS`; `None` where
/// none of them can be read.
pub fn available_memory() -> Option<Available> {
    let mut found: Vec<Available> = Vec::new();
    if let Some(b) = mem_available() {
        found.push(Available {
            bytes: b,
            source: "MemAvailable".into(),
        });
    }
    if let Some((b, source)) = cgroup_left() {
        found.push(Available {
            bytes: b,
            source: source.into(),
        });
    }
    if let Some(b) = rlimit_as() {
        found.push(Available {
            bytes: b,
            source: "RLIMIT_AS".into(),
        });
    }
    found.into_iter().min_by_key(|a| a.bytes)
}

/// Parses `--memory-limit`: plain bytes, or a number with a suffix K, M, G or T (powers of
/// 1024; `KiB`, `MB` and the like are read the same way).
pub fn parse_bytes(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    let x: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a number of bytes (e.g. 4294967296, 512M, 4G)"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let scale: f64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("`{s}`: unknown unit (use K, M, G or T)")),
    };
    let b = x * scale;
    if !(b.is_finite() && b >= 1.0 && b < u64::MAX as f64) {
        return Err(format!("`{s}`: must be at least 1 byte"));
    }
    Ok(b as u64)
}

/// Refuses (bad input, exit 2) a network whose estimate exceeds `limit` (`--memory-limit`) or,
/// without one, the memory available; the message names the estimate, its largest contributor
/// at its place in the file, and the limit.
pub fn check_memory(checked: &Checked, est: &Estimate, limit: Option<u64>) -> Result<()> {
    let available = match limit {
        Some(b) => Some(Available {
            bytes: b,
            source: "--memory-limit".into(),
        }),
        None => available_memory(),
    };
    let Some(available) = available else {
        return Ok(());
    };
    if est.memory_bytes_estimate <= available.bytes {
        return Ok(());
    }
    let largest = est.largest();
    Err(checked.source.error_at(
        &largest.field,
        format!(
            "the run needs an estimated {} ({} bytes; largest part: {}, {}), more than the {} \
             available ({}); --memory-limit BYTES overrides the limit",
            human(est.memory_bytes_estimate),
            est.memory_bytes_estimate,
            largest.what,
            human(largest.bytes),
            human(available.bytes),
            available.source,
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_parse_with_and_without_units() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("4G"), Ok(4 << 30));
        assert_eq!(parse_bytes("1.5KiB"), Ok(1536));
        assert_eq!(parse_bytes("2 gb"), Ok(2 << 30));
        assert_eq!(parse_bytes("1_000"), Ok(1000));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("-5").is_err());
        assert!(parse_bytes("12X").is_err());
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn available_memory_is_read_on_linux() {
        let a = available_memory().expect("/proc/meminfo on Linux");
        assert!(a.bytes > 0, "{a:?}");
    }
}
