//! Conversion between NIR graphs (`crate::nir`) and graph files (`crate::file`): `snnsim
//! convert`, and how `snnsim run X.nir` gets a network the engine runs.
//!
//! Why a module of its own: the converter needs the NIR data model and the graph-file schema,
//! and nothing else — not the models' internals, not the engine. Both are leaves to its left
//! (`nir` is a leaf, `file` the bottom of the chain), so it sits beside `file` and under
//! `app`, and neither of the two formats learns of the other. What it produces is an ordinary
//! [`GraphFile`], checked by the usual validation, so a converted network is exactly what a
//! hand-written file with the same text would be.
//!
//! NIR → graph file ([`from_nir`], docs/nir.md has the table): `Input` nodes become `Values`
//! populations (graded, fed from `--input`), `LIF` becomes `Lif` with `integration:
//! SnnTorch(...)`, `CubaLIF` becomes `Synaptic`, both with the reset in the step of the spike
//! (`reset_delay: false`) and snnTorch's importer's discretisation: β = 1 − dt/τ, input scaled
//! by r·dt/τ (LIF: `r_mohm`; CubaLIF: w_in·dt/τ_syn · r·dt/τ_mem folded into the incoming
//! weights, so `syn` holds r·dt/τ_mem times NIR's I). Parameters that differ between neurons
//! go into the population's per-neuron `params`. `Affine`, `Linear` and `Scale` nodes between
//! populations become `Dense` projections (weights transposed to pre × post), `Conv1d`,
//! `Conv2d`, `SumPool2d` and `AvgPool2d` kernel projections, `Flatten` nothing, and a chain of
//! several linear nodes one `Chain` projection of their maps (`linear.rs`), named after the
//! path's nodes, which the engine composes and the writer turns back into those nodes;
//! `IF` and `Threshold` become `Lif` (β = 1 and β = 0), a `Delay` steps on its path, a nested
//! graph its nodes under prefixed names; a bias a
//! projection from a one-neuron `Values` source of constant 1 with the same delay (so a
//! recurrent layer's bias, like its weights, is felt from the second step on, as nirtorch
//! runs it). A feed-forward edge is a zero-delay projection; an edge that closes a cycle
//! ([`crate::nir::Graph::schedule`]) has a delay of one step. The `Output` node names the
//! graph file's `output` population.
//!
//! Graph file → NIR ([`to_nir`]) is the inverse for the networks written that way (`Values`,
//! `Lif` and `Synaptic` with the same-step zero reset, β = 1 as `IF` and β = 0 as `Threshold`,
//! `Dense` and kernel projections of zero or one step of delay, biases from
//! `<projection>.bias` sources). Graph file → NIR → graph file is exact: τ and r are chosen
//! among the doubles next to dt/(1 − β) and R·τ/dt so that the reader's 1 − dt/τ and r·dt/τ
//! give β and R back bit for bit, a CubaLIF's unit input gain is read as exactly 1, and the
//! time step travels in the top graph's metadata ([`DT_KEY`]). NIR → graph file → NIR gives
//! back the node names, edges and parameters to rounding (a CubaLIF's input gains are written as
//! snnTorch's r = τ_mem/dt, w_in = τ_syn/dt with their product in the weights).

mod from_nir;
mod linear;
mod to_nir;

pub use from_nir::{from_nir, NirReset, SUPPORTED};
pub use to_nir::to_nir;

/// The top graph's metadata key under which snnsim writes the time step (ms, one f64) of the
/// graph file it wrote to NIR. NIR has no time step; this one is informative, a default for
/// reading the file back, never over `--dt-ms`.
pub const DT_KEY: &str = "snnsim_dt_ms";

/// The time step for reading `nir`: `given` (`--dt-ms`), else the one snnsim wrote into the
/// file's metadata ([`DT_KEY`], when it is one positive finite value), else 0.1 ms (snnTorch's
/// dt = 1e-4 s).
pub fn dt_ms_for(nir: &crate::nir::Nir, given: Option<f64>) -> f64 {
    given
        .or_else(|| {
            let v = nir.metadata.get(DT_KEY)?.to_f64()?;
            match v[..] {
                [x] if x.is_finite() && x > 0.0 => Some(x),
                _ => None,
            }
        })
        .unwrap_or(0.1)
}
