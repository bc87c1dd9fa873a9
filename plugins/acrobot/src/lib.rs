//! The `acrobot` environment plugin: Gymnasium's Acrobot-v1 (see the `snnsim-classic-control` crate for
//! the dynamics and the parameters).

pub use snnsim_classic_control::Acrobot;

snnsim_plugin_api::export_env!(Acrobot, "acrobot");
