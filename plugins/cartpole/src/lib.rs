//! The `cartpole` environment plugin: Gymnasium's CartPole-v1 (see the `snnsim-classic-control` crate for
//! the dynamics and the parameters).

pub use snnsim_classic_control::CartPole;

snnsim_plugin_api::export_env!(CartPole, "cartpole");
