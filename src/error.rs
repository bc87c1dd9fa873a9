//! The library's error type. Every error says where it comes from: a file error names the file,
//! line, column and field path; a run error names the stage that failed. The binary maps them
//! to exit codes (2 for bad input, 1 for a failed run).

use std::path::PathBuf;

/// Errors of the snnsim library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A graph file is malformed or invalid.
    #[error("{file}:{line}:{col}: {field}: {msg}")]
    File {
        /// The file as named by the user.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// Field path, as `projections[2].connectivity.FixedProbability.p` (`.` for the root).
        field: String,
        /// What is wrong.
        msg: String,
    },
    /// Bad input that is not in a file (a command-line value, for example).
    #[error("{0}")]
    Input(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A plugin could not be loaded, rejected its parameters, failed or panicked.
    #[error("plugin `{plugin}`: {msg}")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// What went wrong.
        kind: crate::plugin::PluginErrorKind,
        /// The details: paths, found and expected values, the call and the plugin's message.
        msg: String,
    },
    /// The simulation failed while running.
    #[error("run failed: {0}")]
    Run(String),
    /// Another rank of a distributed run failed (docs/distributed.md): every rank reports the
    /// error of the lowest failing rank, with that rank's exit code.
    #[error("rank {rank}: {msg}")]
    Rank {
        /// The rank that failed.
        rank: usize,
        /// Its exit code (2 bad input, 1 a failed run).
        code: i32,
        /// Its error message.
        msg: String,
    },
}

impl Error {
    /// The process exit code for this error: 2 for bad input, 1 for a failed run.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::File { .. } | Error::Input(_) => 2,
            Error::Plugin { kind, .. } => match kind {
                crate::plugin::PluginErrorKind::Failed
                | crate::plugin::PluginErrorKind::Panicked => 1,
                _ => 2,
            },
            Error::Io { .. } | Error::Run(_) => 1,
            Error::Rank { code, .. } => *code,
        }
    }

    /// An I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
