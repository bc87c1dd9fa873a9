//! Full-state checkpoints of runs, their file format, and the canonical structure summary.
//!
//! A checkpoint file (`<run dir>/checkpoints/ckpt-<position>.snnck`, position = steps done for
//! a simulation, episodes done for a training run) is
//!
//! | bytes | what |
//! | --- | --- |
//! | 8 | magic `SNNSIMCK` |
//! | 4 | format version, u32 little-endian ([`FORMAT_VERSION`]) |
//! | 8 | payload length in bytes, u64 LE |
//! | 4 | CRC-32 (IEEE) of the payload, u32 LE |
//! | n | payload |
//!
//! The payload (little-endian, see [`codec`]) holds the kind (0 simulation, 1 training), the
//! position, the resolved graph file (RON text, so that a checkpoint is self-contained) and
//! the state: the network ([`net`]) and what the run keeps besides it. Files are written
//! atomically (temporary file, fsync, rename, fsync of the directory); the newest
//! [`KEEP`] are kept. A file of another version, with a bad length or checksum, is refused with
//! a message saying why; resuming then falls back to the previous one and sets the refused
//! file aside (renamed `*.refused`), so nothing is overwritten.

pub mod codec;
pub mod diff;
pub mod net;
pub mod open;
pub mod summary;

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The first bytes of every checkpoint file.
pub const MAGIC: &[u8; 8] = b"SNNSIMCK";
/// The format version this build writes. Version 2 may hold a projection's shared weight as
/// one value; version 1 files (every weight per synapse) read as they are.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads.
pub const OLDEST_READ: u32 = 1;
/// Checkpoints kept per run directory.
pub const KEEP: usize = 3;
const HEADER: usize = 8 + 4 + 8 + 4;

/// What a checkpoint continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A network simulated step by step (position = steps done).
    Simulation,
    /// An agent trained episode by episode (position = episodes done).
    Training,
}

/// A checkpoint in memory.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Simulation or training.
    pub kind: Kind,
    /// Steps or episodes done.
    pub position: u64,
    /// The resolved graph file of the run.
    pub config: String,
    /// The run's state (engine or trainer), encoded.
    pub state: Vec<u8>,
}

impl Checkpoint {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = codec::Enc::default();
        e.u8(match self.kind {
            Kind::Simulation => 0,
            Kind::Training => 1,
        });
        e.u64(self.position);
        e.str(&self.config);
        e.bytes(&self.state);
        let payload = e.buf;
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Parses and checks a checkpoint file's bytes; the error says why they are refused.
    pub fn from_bytes(b: &[u8]) -> std::result::Result<Self, String> {
        if b.len() < 8 || &b[..8] != MAGIC {
            return Err("not an snnsim checkpoint (bad magic)".into());
        }
        if b.len() < HEADER {
            return Err(format!(
                "truncated: {} bytes, shorter than the header",
                b.len()
            ));
        }
        let version = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
        if !(OLDEST_READ..=FORMAT_VERSION).contains(&version) {
            return Err(format!(
                "checkpoint format version {version}, but this snnsim reads versions {OLDEST_READ} to {FORMAT_VERSION}"
            ));
        }
        let len = u64::from_le_bytes(b[12..20].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(b[20..24].try_into().expect("4 bytes"));
        let have = (b.len() - HEADER) as u64;
        if have != len {
            return Err(format!(
                "truncated or padded: the header says {len} payload bytes, the file has {have}"
            ));
        }
        let payload = &b[HEADER..];
        if crc32fast::hash(payload) != crc {
            return Err("checksum mismatch: the file is corrupted".into());
        }
        let mut d = codec::Dec::new(payload);
        let kind = match d.u8()? {
            0 => Kind::Simulation,
            1 => Kind::Training,
            k => return Err(format!("unknown checkpoint kind {k}")),
        };
        let position = d.u64()?;
        let config = d.str()?;
        let state = d.bytes()?;
        if !d.finished() {
            return Err("trailing bytes after the state".into());
        }
        Ok(Checkpoint {
            kind,
            position,
            config,
            state,
        })
    }

    /// Reads and checks a checkpoint file.
    pub fn read(path: &Path) -> Result<Self> {
        let b = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&b)
            .map_err(|why| Error::Input(format!("refusing checkpoint {}: {why}", path.display())))
    }
}

/// `<run dir>/checkpoints`.
pub fn dir_of(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

fn file_name(position: u64) -> String {
    format!("ckpt-{position:012}.snnck")
}

/// The checkpoint files of a run directory, oldest first, with their positions.
pub fn list(run_dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(dir_of(run_dir)) else {
        return Vec::new();
    };
    let mut v: Vec<(u64, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let pos = name.strip_prefix("ckpt-")?.strip_suffix(".snnck")?;
            Some((pos.parse().ok()?, e.path()))
        })
        .collect();
    v.sort();
    v
}

/// Writes a checkpoint into `<run dir>/checkpoints/` atomically and removes all but the newest
/// [`KEEP`]. A file already at that name (one refused earlier) is set aside, not overwritten.
pub fn write(run_dir: &Path, ck: &Checkpoint) -> Result<PathBuf> {
    let dir = dir_of(run_dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(file_name(ck.position));
    if path.exists() {
        set_aside(&path)?;
    }
    crate::io::write_atomic(&path, &ck.to_bytes())?;
    let all = list(run_dir);
    if all.len() > KEEP {
        for (_, old) in &all[..all.len() - KEEP] {
            std::fs::remove_file(old).map_err(|e| Error::io(old, e))?;
        }
    }
    Ok(path)
}

/// Renames a refused checkpoint to `<name>.refused` (or `.refused-2`, …).
fn set_aside(path: &Path) -> Result<()> {
    let mut k = 1;
    loop {
        let suffix = if k == 1 {
            ".refused".to_string()
        } else {
            format!(".refused-{k}")
        };
        let to = PathBuf::from(format!("{}{suffix}", path.display()));
        if !to.exists() {
            return std::fs::rename(path, &to).map_err(|e| Error::io(path, e));
        }
        k += 1;
    }
}

/// The newest checkpoint of a run directory that reads back intact. Each refused file is
/// reported through `refused` (with the reason) and, where `set_aside` is true, renamed to
/// `*.refused` so that a new checkpoint never overwrites it.
pub fn newest_valid(
    run_dir: &Path,
    set_aside_refused: bool,
    refused: &mut dyn FnMut(&str),
) -> Result<Option<(PathBuf, Checkpoint)>> {
    for (_, path) in list(run_dir).into_iter().rev() {
        match Checkpoint::read(&path) {
            Ok(ck) => return Ok(Some((path, ck))),
            Err(e) => {
                refused(&e.to_string());
                if set_aside_refused {
                    set_aside(&path)?;
                }
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ck(position: u64) -> Checkpoint {
        Checkpoint {
            kind: Kind::Simulation,
            position,
            config: "(cfg)".into(),
            state: vec![1, 2, 3, position as u8],
        }
    }

    #[test]
    fn damaged_files_are_refused_with_the_reason() {
        let b = ck(5).to_bytes();
        let back = Checkpoint::from_bytes(&b).unwrap();
        assert_eq!((back.position, back.state), (5, vec![1, 2, 3, 5]));
        let why = Checkpoint::from_bytes(&b[..b.len() - 1]).unwrap_err();
        assert!(why.contains("truncated"), "{why}");
        let mut flipped = b.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(Checkpoint::from_bytes(&flipped)
            .unwrap_err()
            .contains("checksum"));
        let mut newer = b.clone();
        newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        let why = Checkpoint::from_bytes(&newer).unwrap_err();
        assert!(
            why.contains(&format!("version {}", FORMAT_VERSION + 1)),
            "{why}"
        );
        // Version 1 files (every weight per synapse) read as they are.
        let mut v1 = b.clone();
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(Checkpoint::from_bytes(&v1).unwrap().state, vec![1, 2, 3, 5]);
        assert!(Checkpoint::from_bytes(b"hello")
            .unwrap_err()
            .contains("magic"));
    }

    #[test]
    fn the_newest_are_kept_and_a_refused_one_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        for p in [10, 20, 30, 40, 50] {
            write(dir.path(), &ck(p)).unwrap();
        }
        let pos: Vec<u64> = list(dir.path()).iter().map(|x| x.0).collect();
        assert_eq!(pos, vec![30, 40, 50]);
        // Truncate the newest: the one before is used, the bad one renamed.
        let newest = &list(dir.path())[2].1;
        let b = std::fs::read(newest).unwrap();
        std::fs::write(newest, &b[..b.len() / 2]).unwrap();
        let mut msgs = Vec::new();
        let (_, got) = newest_valid(dir.path(), true, &mut |m| msgs.push(m.to_string()))
            .unwrap()
            .unwrap();
        assert_eq!(got.position, 40);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].contains("truncated"), "{}", msgs[0]);
        assert!(dir_of(dir.path())
            .join("ckpt-000000000050.snnck.refused")
            .exists());
    }
}
