//! The `pendulum` environment plugin: Gymnasium's Pendulum-v1 (see the `snnsim-classic-control` crate for
//! the dynamics and the parameters).

pub use snnsim_classic_control::Pendulum;

snnsim_plugin_api::export_env!(Pendulum, "pendulum");
