//! Graph files: parse (RON → [`GraphFile`]), then validate (→ [`Checked`]), then build
//! (`graph::build`). Each stage has its own type, so nothing downstream sees an unchecked file.
//!
//! Every error names the file, line, column and field path. Syntax and type errors come with
//! ron's position and serde_path_to_error's path; semantic errors found by validation carry a
//! field path, which [`locate`] turns into a position in the source text.
//!
//! The format knows no model internals: the models' own parameter checks, their state
//! variables and which of them take input reach validation through [`rules::ModelRules`],
//! which the models layer implements and the caller hands in (`models::load` and friends wrap
//! it). Nothing here names a higher layer.

pub mod kernel;
pub mod limits;
pub mod locate;
pub mod rules;
pub mod schema;
mod validate;

pub use kernel::Kernel;
pub use limits::*;
pub use rules::{ModelRules, ParamError};
pub use schema::*;
pub use validate::{steps_of_time, zero_delay, Checked};

use crate::error::{Error, Result};
use ron::extensions::Extensions;
use std::path::Path;

/// RON extensions on for every graph file: `Lif(tau_m_ms: 20.0)` instead of
/// `Lif((tau_m_ms: 20.0))`, and `stop_ms: 100.0` instead of `stop_ms: Some(100.0)`.
fn extensions() -> Extensions {
    Extensions::UNWRAP_VARIANT_NEWTYPES | Extensions::IMPLICIT_SOME
}

/// A graph file read from text, not yet validated, with the source kept for error positions.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name used in messages.
    pub label: String,
    /// The RON text.
    pub text: String,
}

impl Source {
    /// Reads a file. A missing or unreadable file is bad input (exit 2).
    pub fn read(path: &Path) -> Result<Self> {
        let label = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Input(format!("{label}: cannot read the graph file: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            // The position of the first byte that is not UTF-8, as a syntax error has one.
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            let start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let col = 1 + String::from_utf8_lossy(&good[start..]).chars().count();
            Error::File {
                file: label.clone(),
                line,
                col,
                field: ".".into(),
                msg: "the graph file is not UTF-8 text".into(),
            }
        })?;
        Ok(Source { label, text })
    }

    /// Wraps text already in memory.
    pub fn from_text(label: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            label: label.into(),
            text: text.into(),
        }
    }

    /// Parses the text into a [`GraphFile`].
    pub fn parse(&self) -> Result<GraphFile> {
        let opts = ron::Options::default().with_default_extension(extensions());
        let mut de = ron::Deserializer::from_str_with_options(&self.text, &opts)
            .map_err(|e| self.ron_error(e, "."))?;
        let file: GraphFile = match serde_path_to_error::deserialize(&mut de) {
            Ok(f) => f,
            Err(e) => {
                let field = e.path().to_string();
                let spanned = de.span_error(e.into_inner());
                return Err(self.ron_error(spanned, &field));
            }
        };
        if let Err(e) = de.end() {
            return Err(self.ron_error(de.span_error(e), "."));
        }
        Ok(file)
    }

    /// Parses and validates, with the models' checks `rules`.
    pub fn load_with(&self, rules: &dyn ModelRules) -> Result<Checked> {
        validate::validate(self.parse()?, self, rules)
    }

    /// A syntax or type error from ron, placed at the token it is about (see
    /// [`locate::offending_token`]: ron's span often starts at the end of the previous token).
    fn ron_error(&self, e: ron::error::SpannedError, field: &str) -> Error {
        use ron::error::Error as E;
        let anchor = match e.code {
            E::InvalidEscape(_) => locate::Anchor::Escape,
            E::UnclosedBlockComment => locate::Anchor::UnclosedComment,
            _ => locate::Anchor::Token,
        };
        let pos = |p: ron::error::Position| locate::Pos {
            line: p.line,
            col: p.col,
        };
        let at = locate::offending_token(&self.text, pos(e.span.start), pos(e.span.end), anchor);
        Error::File {
            file: self.label.clone(),
            line: at.line,
            col: at.col,
            field: field.to_string(),
            msg: e.code.to_string(),
        }
    }

    /// An error at a field path found after parsing; the position is looked up in the text.
    pub fn error_at(&self, field: &str, msg: impl Into<String>) -> Error {
        let segs = locate::parse_path(field);
        let pos = locate::locate(&self.text, &segs)
            .map(|l| l.pos)
            .unwrap_or(locate::Pos { line: 1, col: 1 });
        Error::File {
            file: self.label.clone(),
            line: pos.line,
            col: pos.col,
            field: field.to_string(),
            msg: msg.into(),
        }
    }
}

/// Validates a parsed file (possibly changed after parsing, as `run` does with its overrides)
/// with the models' checks `rules`; error positions are looked up in `source`.
pub fn validate(file: GraphFile, source: &Source, rules: &dyn ModelRules) -> Result<Checked> {
    validate::validate(file, source, rules)
}

/// Makes every default that depends on other fields explicit: projection names
/// (`"<pre>-><post>"`) and delays (one step). Run directories hold the resolved file.
pub fn resolve(file: &mut GraphFile) {
    let dt = file.dt_ms;
    for p in &mut file.projections {
        if p.name.is_none() {
            p.name = Some(format!("{}->{}", p.pre, p.post));
        }
        if p.delay_ms.is_none() {
            p.delay_ms = Some(Init::Constant(dt));
        }
    }
}

/// The JSON Schema (draft 2020-12) of a graph file: [`GraphFile`] and every type below it,
/// derived from the serde types above, so it follows their renames, defaults, enum tagging
/// and `deny_unknown_fields`. Struct fields keep their declaration order; the root's
/// `x-format-version` is [`FORMAT_VERSION`]. The Python package builds its graph classes
/// from it.
#[cfg(feature = "schema")]
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(GraphFile);
    schema.insert("x-format-version".into(), FORMAT_VERSION.into());
    serde_json::to_string_pretty(&schema).expect("a JSON Schema always serialises")
}

/// Writes a graph file as RON text that [`Source::parse`] reads back to the same value.
pub fn to_ron(file: &GraphFile) -> String {
    let cfg = ron::ser::PrettyConfig::new()
        .extensions(extensions())
        .struct_names(false)
        .depth_limit(4);
    ron::Options::default()
        .to_string_pretty(file, cfg)
        .expect("a graph file always serialises")
}
