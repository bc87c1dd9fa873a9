//! The `mountaincar` environment plugin: Gymnasium's MountainCar-v0 (see the `snnsim-classic-control` crate for
//! the dynamics and the parameters).

pub use snnsim_classic_control::MountainCar;

snnsim_plugin_api::export_env!(MountainCar, "mountaincar");
