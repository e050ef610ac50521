//! cxx bindings around the Verilated switch-port model: ownership, reset, batched stepping, waves.
//!
//! The C++ side (`cpp/port_sim.cpp`) owns the `VerilatedContext` and the model and runs whole
//! batches of cycles, doing the valid/ready handshakes itself: Rust queues flits and commands
//! with the earliest cycle each may be offered, calls [`PortSim::run`], and takes the results and
//! the monitor trace back as whole buffers. Nothing here knows about DLRMs.

#[cxx::bridge(namespace = "pifs")]
mod ffi {
    /// One 528-bit S2M flit (flit bit i = bit i%32 of word i/32), offered from cycle `not_before`.
    #[derive(Clone, Copy, Debug)]
    struct FlitIn {
        words: [u32; 17],
        not_before: u64,
    }

    /// One 64-bit host command word (see rtl/pifs_pkg.sv), offered from cycle `not_before`.
    #[derive(Clone, Copy, Debug)]
    struct CmdIn {
        word: u64,
        not_before: u64,
    }

    /// One partial-sum line that left the port in cycle `cycle`.
    #[derive(Clone, Copy, Debug)]
    struct ResOut {
        cycle: u64,
        bag: u8,
        line: u8,
        last: bool,
        poison: bool,
        data: [u32; 16],
    }

    /// One line accepted by the accumulator: the order of additions (partial `part` of the line).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct MonOut {
        cycle: u64,
        bag: u8,
        line: u8,
        part: u8,
    }

    /// Cumulative counters since reset.
    #[derive(Clone, Copy, Debug, Default)]
    struct Counters {
        cycles: u64,
        flits: u64,
        crc_errors: u64,
        proto_errors: u64,
        ndr: u64,
        cmd_errors: u64,
        tag_errors: u64,
        flit_stall_cycles: u64,
        res_stall_cycles: u64,
        lines: u64,
        /// SVA assertion failures (the run stops at the first; details on stderr).
        assert_errors: u64,
    }

    unsafe extern "C++" {
        include!("pifs-rtl/cpp/port_sim.h");

        /// The Verilated port with its context and input/output queues.
        type PortSim;

        /// Build and reset a port; `wave_path` non-empty writes an FST waveform there.
        fn new_port_sim(seed: u64, wave_path: &str) -> Result<UniquePtr<PortSim>>;
        /// Version string of the Verilator runtime the model was built with.
        fn verilator_version() -> String;

        fn push_flits(self: Pin<&mut PortSim>, flits: &[FlitIn]);
        fn push_cmds(self: Pin<&mut PortSim>, cmds: &[CmdIn]);
        /// Percentage of cycles in which the result stream is ready (100 = always).
        fn set_res_ready_percent(self: Pin<&mut PortSim>, percent: u32);
        /// Run up to `max_cycles` cycles, or until all queues are empty and the port is idle.
        fn run(self: Pin<&mut PortSim>, max_cycles: u64, stop_when_idle: bool) -> u64;
        fn take_results(self: Pin<&mut PortSim>) -> Vec<ResOut>;
        fn take_monitor(self: Pin<&mut PortSim>) -> Vec<MonOut>;
        fn counters(self: &PortSim) -> Counters;
        /// Call `final()` on the model and close the waveform.
        fn finish(self: Pin<&mut PortSim>);
    }
}

pub use ffi::{CmdIn, Counters, FlitIn, MonOut, ResOut};

/// Owner of one Verilated switch port.
pub struct PortSim {
    inner: cxx::UniquePtr<ffi::PortSim>,
}

impl PortSim {
    /// Build and reset the port. `wave` names an FST file to write, if any.
    pub fn new(seed: u64, wave: Option<&std::path::Path>) -> Result<Self, String> {
        let path = wave
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let inner = ffi::new_port_sim(seed, &path).map_err(|e| e.what().to_string())?;
        Ok(PortSim { inner })
    }

    /// Queue flits; each is offered from its `not_before` cycle, in queue order.
    pub fn push_flits(&mut self, flits: &[FlitIn]) {
        self.inner.pin_mut().push_flits(flits);
    }

    /// Queue host commands; each is offered from its `not_before` cycle, in queue order.
    pub fn push_cmds(&mut self, cmds: &[CmdIn]) {
        self.inner.pin_mut().push_cmds(cmds);
    }

    /// Percentage of cycles the upstream side accepts a result (back-pressure when < 100).
    pub fn set_res_ready_percent(&mut self, percent: u32) {
        self.inner.pin_mut().set_res_ready_percent(percent);
    }

    /// Run up to `max_cycles` cycles (or until idle, if asked); returns the cycles run.
    pub fn run(&mut self, max_cycles: u64, stop_when_idle: bool) -> u64 {
        self.inner.pin_mut().run(max_cycles, stop_when_idle)
    }

    /// Results that left the port since the last call.
    pub fn take_results(&mut self) -> Vec<ResOut> {
        self.inner.pin_mut().take_results()
    }

    /// Accumulator arrivals since the last call.
    pub fn take_monitor(&mut self) -> Vec<MonOut> {
        self.inner.pin_mut().take_monitor()
    }

    /// Cumulative counters.
    pub fn counters(&self) -> Counters {
        self.inner.counters()
    }

    /// Finish the simulation (model `final()`, waveform closed). Also done on drop.
    pub fn finish(&mut self) {
        self.inner.pin_mut().finish();
    }
}

/// Version of the Verilator runtime linked in.
pub fn verilator_version() -> String {
    ffi::verilator_version()
}

/// Version string of the `verilator` executable that built the model (from the build script).
pub const VERILATOR_BUILD_VERSION: &str = env!("PIFS_VERILATOR_VERSION");
