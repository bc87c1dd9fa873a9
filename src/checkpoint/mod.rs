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
//! the state to its end: the network ([`net`]) and what the run keeps besides it. A
//! [`Writer`] streams the state into the file as it is encoded (the length and checksum are
//! written into the header last), so that saving a network never holds it encoded in
//! memory; reading keeps the file's bytes once. Files are written
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
use crate::io::AtomicFile;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first bytes of every checkpoint file.
pub const MAGIC: &[u8; 8] = b"SNNSIMCK";
/// The format version this build writes. Version 3 runs the state to the end of the payload
/// (so that it can be streamed); version 2 prefixed it with its length and may hold a
/// projection's shared weight as one value; version 1 files (every weight per synapse) read
/// as they are.
pub const FORMAT_VERSION: u32 = 3;
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
        head(&mut e, self.kind, self.position, &self.config);
        e.raw(&self.state);
        let payload = e.buf;
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(&header(payload.len() as u64, crc32fast::hash(&payload)));
        out.extend_from_slice(&payload);
        out
    }

    /// Parses and checks a checkpoint file's bytes; the error says why they are refused.
    pub fn from_bytes(b: &[u8]) -> std::result::Result<Self, String> {
        Self::from_vec(b.to_vec())
    }

    /// [`Checkpoint::from_bytes`], keeping the state in the file's own buffer.
    fn from_vec(mut b: Vec<u8>) -> std::result::Result<Self, String> {
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
        let state = if version >= 3 {
            // The rest of the payload: the file's buffer, its head cut off.
            let at = HEADER + d.offset();
            b.drain(..at);
            b
        } else {
            let state = d.bytes()?;
            if !d.finished() {
                return Err("trailing bytes after the state".into());
            }
            state
        };
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
        Self::from_vec(b)
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

/// The fixed-size header of a payload of `len` bytes with checksum `crc`.
fn header(len: u64, crc: u32) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&len.to_le_bytes());
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The payload's head: kind, position and graph file (the state follows to the end).
fn head(e: &mut codec::Enc, kind: Kind, position: u64, config: &str) {
    e.u8(match kind {
        Kind::Simulation => 0,
        Kind::Training => 1,
    });
    e.u64(position);
    e.str(config);
}

/// A checkpoint file being written, its state streamed into it as it is encoded
/// ([`Writer::encode`]); it appears, atomically, on [`Writer::commit`], which also removes all
/// but the newest [`KEEP`]. A file already at that name (one refused earlier) is set aside, not
/// overwritten.
pub struct Writer {
    run_dir: PathBuf,
    path: PathBuf,
    file: AtomicFile,
    crc: crc32fast::Hasher,
    len: u64,
}

impl Writer {
    /// Starts the checkpoint at `position` of a run in `run_dir`.
    pub fn create(run_dir: &Path, kind: Kind, position: u64, config: &str) -> Result<Writer> {
        let dir = dir_of(run_dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join(file_name(position));
        if path.exists() {
            set_aside(&path)?;
        }
        let mut file = AtomicFile::create(&path)?;
        // The header's length and checksum are filled in by `commit`.
        file.write_all(&header(0, 0))
            .map_err(|e| Error::io(&path, e))?;
        let mut w = Writer {
            run_dir: run_dir.to_path_buf(),
            path,
            file,
            crc: crc32fast::Hasher::new(),
            len: 0,
        };
        w.encode(|e| head(e, kind, position, config))?;
        Ok(w)
    }

    /// Runs `f` with an encoder whose bytes go into the file (after those of earlier calls).
    pub fn encode<R>(&mut self, f: impl FnOnce(&mut codec::Enc) -> R) -> Result<R> {
        let Writer { file, crc, len, .. } = self;
        let mut sink = |b: &[u8]| {
            crc.update(b);
            *len += b.len() as u64;
            file.write_all(b)
        };
        let mut e = codec::Enc::streaming(&mut sink);
        let out = f(&mut e);
        e.finish().map_err(|e| Error::io(&self.path, e))?;
        Ok(out)
    }

    /// Completes the header and puts the file in place; returns its path.
    pub fn commit(self) -> Result<PathBuf> {
        let Writer {
            run_dir,
            path,
            mut file,
            crc,
            len,
        } = self;
        file.rewrite_at(0, &header(len, crc.finalize()))?;
        file.commit()?;
        let all = list(&run_dir);
        if all.len() > KEEP {
            for (_, old) in &all[..all.len() - KEEP] {
                std::fs::remove_file(old).map_err(|e| Error::io(old, e))?;
            }
        }
        Ok(path)
    }
}

/// Writes a checkpoint held in memory (see [`Writer`]).
pub fn write(run_dir: &Path, ck: &Checkpoint) -> Result<PathBuf> {
    let mut w = Writer::create(run_dir, ck.kind, ck.position, &ck.config)?;
    w.encode(|e| e.raw(&ck.state))?;
    w.commit()
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
        // Versions 1 and 2 prefixed the state with its length.
        let mut e = codec::Enc::default();
        head(&mut e, Kind::Simulation, 5, "(cfg)");
        e.bytes(&[1, 2, 3, 5]);
        for v in [1u32, 2] {
            let mut old = header(e.buf.len() as u64, crc32fast::hash(&e.buf)).to_vec();
            old[8..12].copy_from_slice(&v.to_le_bytes());
            old.extend_from_slice(&e.buf);
            assert_eq!(
                Checkpoint::from_bytes(&old).unwrap().state,
                vec![1, 2, 3, 5]
            );
        }
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
