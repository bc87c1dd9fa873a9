//! Plugins: learning rules and environments loaded from dynamic libraries through the C ABI
//! of `snnsim-plugin-api`.
//!
//! Loading goes in a fixed order, and nothing of a library is called before its header has
//! been checked: open the file, find the one entry symbol, read the header, check the ABI
//! major version, the kind and the vtable size, and only then use the vtable. A library is
//! never unloaded (its code and statics must outlive every instance made from it), so loaded
//! libraries are kept, process-wide, for the life of the process — the one global of snnsim,
//! because the dynamic loader itself is process-wide.
//!
//! Where plugins are looked for, in order: an explicit path given in the graph file;
//! the directories on `SNNSIM_PLUGIN_PATH`; the directory of the `snnsim` binary; `./plugins`.
//! A plugin `NAME` lives in the file `libsnnsim_plugin_NAME.so` (`.dylib` on macOS,
//! `snnsim_plugin_NAME.dll` on Windows).

mod host;
mod structure;

pub use host::{EnvInstance, LoadedPlugin, RuleInstance};
pub use structure::{
    Activity, Edits, Group, Population, ProjView, Role, SimProj, SimView, StructureInstance,
};

use snnsim_plugin_api::abi;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a plugin is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A learning rule.
    Rule,
    /// An environment.
    Env,
    /// A structural policy (ABI 1.3).
    Structure,
}

impl Kind {
    fn from_abi(k: u32) -> Option<Kind> {
        match k {
            abi::KIND_RULE => Some(Kind::Rule),
            abi::KIND_ENV => Some(Kind::Env),
            abi::KIND_STRUCTURE => Some(Kind::Structure),
            _ => None,
        }
    }

    /// `rule`, `env` or `structure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rule => "rule",
            Kind::Env => "env",
            Kind::Structure => "structure",
        }
    }

    fn described(self) -> &'static str {
        match self {
            Kind::Rule => "a learning rule",
            Kind::Env => "an environment",
            Kind::Structure => "a structural policy",
        }
    }
}

/// Why a plugin could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginErrorKind {
    /// No library of that name on the search path (bad input).
    NotFound,
    /// The file is not a loadable snnsim plugin (bad input).
    NotAPlugin,
    /// Built for another ABI major version (bad input).
    AbiMismatch,
    /// A rule where an environment was expected, or the reverse (bad input).
    WrongKind,
    /// The vtable is shorter than this ABI's (bad input).
    Truncated,
    /// The plugin rejected its parameters (bad input).
    Params,
    /// A call returned an error (the run fails).
    Failed,
    /// A call panicked; the instance is poisoned (the run fails).
    Panicked,
}

/// Directories added by the embedding program (the Python package adds the plugins it ships),
/// searched after `SNNSIM_PLUGIN_PATH` and before the executable's directory. Process-wide, as
/// the loaded-library cache is: a plugin library is loaded once per process.
static EXTRA_DIRS: std::sync::RwLock<Vec<PathBuf>> = std::sync::RwLock::new(Vec::new());

/// Adds `dir` to the directories searched for plugins (see [`search_dirs`]); a directory
/// already added is not added twice.
pub fn add_search_dir(dir: impl Into<PathBuf>) {
    let dir = dir.into();
    let mut dirs = EXTRA_DIRS.write().unwrap_or_else(|e| e.into_inner());
    if !dirs.contains(&dir) {
        dirs.push(dir);
    }
}

/// Directories searched for plugins by name, in order: `SNNSIM_PLUGIN_PATH`, those added by
/// [`add_search_dir`], the executable's directory, then `./plugins`.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = std::env::var_os("SNNSIM_PLUGIN_PATH") {
        dirs.extend(std::env::split_paths(&p).filter(|d| !d.as_os_str().is_empty()));
    }
    dirs.extend(
        EXTRA_DIRS
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned(),
    );
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir);
    }
    dirs.push(PathBuf::from("plugins"));
    let mut seen = std::collections::BTreeSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// The file name of plugin `name` on this platform.
pub fn file_name(name: &str) -> String {
    format!(
        "{}snnsim_plugin_{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The plugin name a file name stands for, if it follows the naming scheme.
fn name_of_file(file: &str) -> Option<&str> {
    file.strip_prefix(std::env::consts::DLL_PREFIX)?
        .strip_prefix("snnsim_plugin_")?
        .strip_suffix(std::env::consts::DLL_SUFFIX)
}

/// Plugin files found in `dirs`, by plugin name (the first directory wins).
pub fn discover(dirs: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let Some(name) = path
                .file_name()
                .and_then(|f| f.to_str())
                .and_then(name_of_file)
            else {
                continue;
            };
            found.entry(name.to_string()).or_insert(path.clone());
        }
    }
    found
}

/// Finds plugin `name`: at `explicit` if given, else on the search path.
pub fn resolve(name: &str, explicit: Option<&Path>) -> crate::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(error(
            name,
            PluginErrorKind::NotFound,
            format!("no plugin file at {}", p.display()),
        ));
    }
    let dirs = search_dirs();
    for d in &dirs {
        let p = d.join(file_name(name));
        if p.is_file() {
            return Ok(p);
        }
    }
    let known: Vec<String> = discover(&dirs).into_keys().collect();
    Err(error(
        name,
        PluginErrorKind::NotFound,
        format!(
            "not found (looked for {} in {}); known plugins: {}",
            file_name(name),
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ),
    ))
}

/// A plugin error.
pub fn error(name: &str, kind: PluginErrorKind, msg: impl Into<String>) -> crate::Error {
    crate::Error::Plugin {
        plugin: name.to_string(),
        kind,
        msg: msg.into(),
    }
}

/// One line of `snnsim plugins`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginInfo {
    /// Name as in graph files.
    pub name: String,
    /// `rule` or `env`, or an error if the library could not be checked.
    pub kind: String,
    /// The plugin's own version.
    pub version: String,
    /// ABI version it was built for, `major.minor`.
    pub abi: String,
    /// The library file.
    pub path: String,
    /// Why it cannot be used, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every plugin on the search path, checked.
pub fn list() -> Vec<PluginInfo> {
    discover(&search_dirs())
        .into_iter()
        .map(|(name, path)| match host::load(&name, &path, None) {
            Ok(p) => PluginInfo {
                name: p.name.clone(),
                kind: p.kind.as_str().to_string(),
                version: p.version.clone(),
                abi: format!("{}.{}", p.abi_major, p.abi_minor),
                path: path.display().to_string(),
                error: None,
            },
            Err(e) => PluginInfo {
                name,
                kind: "?".into(),
                version: "?".into(),
                abi: "?".into(),
                path: path.display().to_string(),
                error: Some(e.to_string()),
            },
        })
        .collect()
}

/// Loads plugin `name` (found as [`resolve`] says) and checks it is of `kind`.
pub fn load(name: &str, explicit: Option<&Path>, kind: Kind) -> crate::Result<LoadedPlugin> {
    let path = resolve(name, explicit)?;
    host::load(name, &path, Some(kind))
}
