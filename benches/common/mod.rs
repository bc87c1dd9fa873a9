//! What the benchmarks share: loading a shipped graph file's network.

use snnsim::file::Source;
use snnsim::graph::Network;
use std::path::PathBuf;

/// The network of a graph file under graphs/.
pub fn network(file: &str) -> Network {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("graphs")
        .join(file);
    let checked = Source::read(&path)
        .and_then(|s| s.load_with(&snnsim::models::Rules))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    snnsim::graph::build(&checked).expect("builds")
}
