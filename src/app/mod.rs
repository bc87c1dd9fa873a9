//! The commands behind the command line: `validate`, `run` and `inspect`. Each returns a
//! typed result; the binary prints it and maps errors to exit codes.

mod inspect;
mod plugins;
mod run;

pub use inspect::inspect;
pub use plugins::{default_sdk_path, new_plugin, plugins};
pub use run::{run, PopulationSummary, RunOptions, Summary};

use crate::error::Result;
use std::path::Path;

/// Parses and validates a graph file.
pub fn validate(path: &Path) -> Result<crate::file::Checked> {
    crate::file::load(path)
}
