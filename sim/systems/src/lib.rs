//! System-level characterisation: one configuration of links, switch, memory devices and host
//! ([`config`]), a small discrete-event engine of FIFO servers ([`des`]), and the four systems
//! that serve the same embedding workload ([`systems`]): Pond, BEACON-D, BEACON-S and PIFS-Rec,
//! the last with the port accumulators (RTL or reference model) in the loop. [`compare`] runs
//! them side by side; [`energy`] turns what they counted into energy and average power, with
//! DRAM-only or tiered (DRAM cache in front of SCM or NAND) devices; [`tiers`] is the study
//! that sets the two side by side; [`ablate`] measures each PIFS-Rec feature on and off.

pub mod ablate;
pub mod compare;
pub mod config;
pub mod des;
pub mod energy;
pub mod plot;
pub mod systems;
pub mod tiers;

pub use config::SysConfig;
