//! System simulation of switch ports: the accumulator trait with its RTL and reference backends,
//! the host command format, the memory-device model, timing parameters, the run loop and stats.

pub mod buffer;
pub mod check;
pub mod cmd;
pub mod device;
pub mod fp;
pub mod hotness;
pub mod layout;
pub mod model;
pub mod params;
pub mod plan;
pub mod port;
pub mod rtl;
pub mod stats;
pub mod switch;
pub mod switch_model;
pub mod switch_rtl;
pub mod switch_run;
pub mod system;

pub use cmd::Command;
pub use pifs_rtl::MODEL_BUILD_KEY;
pub use pifs_rtl::{fst_reader_available, wave_time_ps, WaveFormat, WaveSpec};
pub use port::{Arrival, PortAccumulator, PortCounters, PortResult, SimError};
