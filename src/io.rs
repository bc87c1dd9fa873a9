//! Files written atomically: into a temporary file in the target's directory, flushed and
//! fsynced, then renamed over the target. A reader (or a run killed halfway) sees either the
//! old file or the complete new one, never a torn one.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file being written; it appears under its name only on [`AtomicFile::commit`].
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
}

impl AtomicFile {
    /// Starts writing `target` (through `.<name>.tmp` beside it).
    pub fn create(target: &Path) -> Result<Self> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = target.with_file_name(format!(".{name}.tmp"));
        let f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
            out: BufWriter::with_capacity(1 << 20, f),
        })
    }

    /// Overwrites bytes already written at `offset` (a header completed last); later writes
    /// go on at the end.
    pub fn rewrite_at(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        let tmp = &self.tmp;
        (|| {
            self.out.flush()?;
            let f = self.out.get_mut();
            f.seek(SeekFrom::Start(offset))?;
            f.write_all(bytes)?;
            f.seek(SeekFrom::End(0)).map(drop)
        })()
        .map_err(|e| Error::io(tmp, e))
    }

    /// Flushes, fsyncs and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let f = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&self.tmp, e.into_error()))?;
        f.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        if let Some(dir) = self.target.parent() {
            // Make the rename itself durable; not every platform lets a directory be opened.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.commit()
}
