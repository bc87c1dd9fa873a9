//! The CPU backend: [`Engine::step`], repeated. It is the reference every other backend is
//! checked against.

use crate::engine::Engine;
use crate::error::Result;

/// Runs `steps` steps on the CPU; stops at the first failing step.
pub fn run(engine: &mut Engine, steps: u64) -> Result<()> {
    engine.run(steps)
}
