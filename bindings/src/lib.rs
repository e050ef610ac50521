//! cxx bindings around the Verilated switch-port model: ownership, reset, batched stepping, waves.
//!
//! Two Verilated models are linked: one downstream port (`pifs_port_top`, driven by
//! `cpp/port_sim.cpp` through [`PortSim`]) and the whole switch (`pifs_switch_top`, driven by
//! `cpp/switch_sim.cpp` through [`SwitchSim`]). The C++ side owns each `VerilatedContext` and
//! model and runs whole batches of cycles, doing the valid/ready handshakes itself: Rust queues
//! flits, commands (and, for the switch, credit pulses) with the earliest cycle each may be
//! offered, calls `run`, and takes the outputs back as whole buffers. Nothing here knows about
//! DLRMs.

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

    /// One link-layer retry message of port `port`'s S2M receiver (0 for the port model),
    /// raised in cycle `cycle`: a RETRY.Req for sequence number `seq` (`req`), or an
    /// acknowledgement of every flit before it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct LlrOut {
        cycle: u64,
        port: u8,
        req: bool,
        seq: u8,
    }

    /// One line that left the switch on the upstream stream in cycle `cycle`.
    #[derive(Clone, Copy, Debug)]
    struct UpOut {
        cycle: u64,
        port: u8,
        bag: u8,
        line: u8,
        last: bool,
        poison: bool,
        data: [u32; 16],
    }

    /// One M2S MemRd request that left port `port`'s dispatcher in cycle `cycle`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct MemReqOut {
        cycle: u64,
        port: u8,
        tag: u16,
        addr: u64,
    }

    /// Cumulative switch-level counters since reset.
    #[derive(Clone, Copy, Debug, Default)]
    struct SwitchCounters {
        cycles: u64,
        /// Host command words dropped by the switch (bad port, unknown op, RowRead lines).
        cmd_errors: u64,
        up_lines: u64,
        /// Cycles a line was offered upstream and not taken (up_ready low).
        up_stall_cycles: u64,
        /// Cycles a line waited for a credit.
        up_credit_wait_cycles: u64,
        mem_reqs: u64,
        /// Request-cycles a MemRd was offered and not taken (summed over ports).
        mem_req_stall_cycles: u64,
        /// Credits available now.
        credits: u64,
        /// SVA assertion failures (the run stops at the first; details on stderr).
        assert_errors: u64,
    }

    /// One variable of a waveform file: scope path (dot-separated), name as written (vectors
    /// carry their range, `flit_i [527:0]`), width in bits, whether it is a parameter and
    /// whether it is a port of its module.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct WaveVar {
        scope: String,
        name: String,
        width: u32,
        param: bool,
        io: bool,
    }

    /// What a port's streams show now (for a deadlock dump): the valid each input carried in the
    /// last cycle run and the ready/valid the model drives after it, the harness queues, and the
    /// first result word slot (an uninitialised FIFO entry right after reset).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    struct PortProbe {
        flit_valid: bool,
        flit_ready: bool,
        cmd_valid: bool,
        cmd_ready: bool,
        res_valid: bool,
        res_ready: bool,
        busy: bool,
        /// Flits and commands still in the harness queues, and the cycle each head may go.
        flits_queued: u64,
        flit_next_at: u64,
        cmds_queued: u64,
        cmd_next_at: u64,
        /// Commands taken since reset, and cycles a command was offered and not taken.
        cmds_taken: u64,
        cmd_stall_cycles: u64,
        res_data: [u32; 16],
    }

    /// The same for the switch; per-port signals are bit masks (bit p = port p).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    struct SwitchProbe {
        flit_valid: u32,
        flit_ready: u32,
        cmd_valid: u32,
        cmd_ready: u32,
        memrd_valid: u32,
        memrd_ready: u32,
        /// Ports whose result stream is held back now (egress FIFO full).
        res_stall: u32,
        up_valid: bool,
        up_ready: bool,
        /// A line waits for a credit.
        up_wait: bool,
        busy: bool,
        credits: u64,
        /// Per port: flits in the harness queue, and the cycle the head may go.
        flits_queued: Vec<u64>,
        flit_next_at: Vec<u64>,
        /// Per port command lane: words in the harness queue.
        cmds_queued: Vec<u64>,
        /// Credit pulses queued, and the cycle the next may be given.
        credits_queued: u64,
        credit_next_at: u64,
        cmds_taken: u64,
        cmd_stall_cycles: u64,
        up_data: [u32; 16],
    }

    /// Cumulative counts of one port's row buffer (`pifs_switch_buffer`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    struct BufCounters {
        hits: u64,
        misses: u64,
        bypasses: u64,
        evictions: u64,
    }

    /// The tag of a line port `port`'s accumulator took in cycle `cycle` (accumulation order).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct LineTagOut {
        cycle: u64,
        port: u8,
        tag: u16,
    }

    /// The parameters `pifs_switch_top` was Verilated with.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct SwitchParams {
        ports: u32,
        num_bags: u32,
        max_row_lines: u32,
        num_tags: u32,
        res_depth: u32,
        cmd_depth: u32,
        egress_depth: u32,
        up_credits: u32,
        /// Row buffer lines per port (`BufLines`, 0 = none) and ways (`BufWays`).
        buf_lines: u32,
        buf_ways: u32,
    }

    unsafe extern "C++" {
        include!("pifs-rtl/cpp/sim_common.h");

        /// Waveform time (ps) at which cycle `cycle` begins.
        fn wave_time_ps(cycle: u64) -> u64;
        /// Whether this Verilator runtime can read FST files (VCD output, GTKWave save files).
        fn fst_reader_available() -> bool;
        /// Rewrite an FST waveform as VCD.
        fn fst_to_vcd(fst: &str, vcd: &str) -> Result<()>;
        /// Every variable of an FST waveform, in file order.
        fn fst_vars(fst: &str) -> Result<Vec<WaveVar>>;
    }

    unsafe extern "C++" {
        include!("pifs-rtl/cpp/port_sim.h");

        /// The Verilated port with its context and input/output queues.
        type PortSim;

        /// Build and reset a port; `wave_path` non-empty writes an FST waveform there of the
        /// cycles in [`wave_from`, `wave_to`).
        fn new_port_sim(
            seed: u64,
            wave_path: &str,
            wave_from: u64,
            wave_to: u64,
        ) -> Result<UniquePtr<PortSim>>;
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
        /// The streams' state now (deadlock dumps).
        fn probe(self: &PortSim) -> PortProbe;
        /// Model and harness state as bytes (cpp/state.cpp); nothing may be queued.
        fn save_state(self: Pin<&mut PortSim>) -> Result<Vec<u8>>;
        /// Restore what `save_state` returned (the bytes must be intact: Verilator aborts on a
        /// malformed stream).
        fn restore_state(self: Pin<&mut PortSim>, bytes: &[u8]) -> Result<()>;
        /// Switch link-layer retry of the S2M link on or off (before any flit).
        fn set_llr(self: Pin<&mut PortSim>, on: bool);
        /// The receiver's RETRY.Req and acknowledgements since the last call.
        fn take_llr(self: Pin<&mut PortSim>) -> Vec<LlrOut>;
        /// Good flits discarded while waiting for a replay.
        fn llr_discards(self: &PortSim) -> u64;
        /// Row format (before any command; held): `fmt` 0 fp32 (3 too), 1 fp16, 2 int8
        /// row-wise; `exp` accumulator lines per device line (0 taken as 1). Masked to 2 / 3 bits.
        fn set_row_format(self: Pin<&mut PortSim>, fmt: u32, exp: u32);
    }

    unsafe extern "C++" {
        include!("pifs-rtl/cpp/switch_sim.h");

        /// The Verilated switch with its context and input/output queues.
        type SwitchSim;

        /// Build and reset the switch; `wave_path` non-empty writes an FST waveform there of the
        /// cycles in [`wave_from`, `wave_to`).
        fn new_switch_sim(
            seed: u64,
            wave_path: &str,
            wave_from: u64,
            wave_to: u64,
        ) -> Result<UniquePtr<SwitchSim>>;
        fn params(self: &SwitchSim) -> SwitchParams;
        fn push_flits(self: Pin<&mut SwitchSim>, port: u32, flits: &[FlitIn]) -> Result<()>;
        fn push_cmds(self: Pin<&mut SwitchSim>, cmds: &[CmdIn]);
        /// One credit pulse per entry, each offered from its cycle, one per cycle, in order.
        fn push_credits(self: Pin<&mut SwitchSim>, cycles: &[u64]);
        /// Percentage of cycles the upstream and MemRd streams are ready (100 = always).
        fn set_ready_percent(self: Pin<&mut SwitchSim>, up: u32, memrd: u32);
        /// Run up to `max_cycles` cycles, or until the flit and command queues are empty and the
        /// switch is idle.
        fn run(self: Pin<&mut SwitchSim>, max_cycles: u64, stop_when_idle: bool) -> u64;
        fn take_upstream(self: Pin<&mut SwitchSim>) -> Vec<UpOut>;
        fn take_mem_reqs(self: Pin<&mut SwitchSim>) -> Vec<MemReqOut>;
        fn port_counters(self: &SwitchSim, port: u32) -> Result<Counters>;
        fn counters(self: &SwitchSim) -> SwitchCounters;
        /// Call `final()` on the model and close the waveform.
        fn finish(self: Pin<&mut SwitchSim>);
        /// The streams' state now (deadlock dumps).
        fn probe(self: &SwitchSim) -> SwitchProbe;
        /// Model and harness state as bytes (cpp/state.cpp); nothing may be queued.
        fn save_state(self: Pin<&mut SwitchSim>) -> Result<Vec<u8>>;
        /// Restore what `save_state` returned (the bytes must be intact).
        fn restore_state(self: Pin<&mut SwitchSim>, bytes: &[u8]) -> Result<()>;
        /// Switch link-layer retry of every S2M link on or off (before any flit).
        fn set_llr(self: Pin<&mut SwitchSim>, on: bool);
        /// Every port's RETRY.Req and acknowledgements since the last call, in cycle order.
        fn take_llr(self: Pin<&mut SwitchSim>) -> Vec<LlrOut>;
        /// Good flits port `port`'s receiver discarded while waiting for a replay.
        fn llr_discards(self: &SwitchSim, port: u32) -> u64;
        /// Row buffer configuration (before any command): on, sets used minus one, policy (0 LRU,
        /// 1 hot).
        fn set_buffer(self: Pin<&mut SwitchSim>, on: bool, set_mask: u32, policy: u32);
        /// Row format of every port (before any command; held): `fmt` 0 fp32 (3 too), 1 fp16,
        /// 2 int8 row-wise; `exp` accumulator lines per device line (0 taken as 1).
        fn set_row_format(self: Pin<&mut SwitchSim>, fmt: u32, exp: u32);
        fn buffer_counters(self: &SwitchSim, port: u32) -> BufCounters;
        /// Record the tag of every line the accumulators take (off by default).
        fn record_line_tags(self: Pin<&mut SwitchSim>, on: bool);
        fn take_line_tags(self: Pin<&mut SwitchSim>) -> Vec<LineTagOut>;
    }
}

pub use ffi::{
    BufCounters, CmdIn, Counters, FlitIn, LineTagOut, LlrOut, MemReqOut, MonOut, PortProbe, ResOut,
    SwitchCounters, SwitchParams, SwitchProbe, UpOut, WaveVar,
};
pub use wave::{fst_reader_available, wave_time_ps, WaveFormat, WaveSpec};

mod wave;

/// A run that ends early (an error, a failed check) still finishes its waveform: the model's
/// `final()`, VCD and save file; a failure there is a warning line, as drop cannot return it.
impl Drop for PortSim {
    fn drop(&mut self) {
        if self.wave.is_some() {
            if let Err(e) = self.finish() {
                eprintln!("warning: {e}");
            }
        }
    }
}

/// Owner of one Verilated switch port.
pub struct PortSim {
    inner: cxx::UniquePtr<ffi::PortSim>,
    /// The waveform being written, finished (VCD, save file) by [`PortSim::finish`].
    wave: Option<wave::Pending>,
}

impl PortSim {
    /// Build and reset the port, writing the waveform `wave` asks for, if any.
    pub fn new(seed: u64, wave: Option<&WaveSpec>) -> Result<Self, String> {
        let wave = wave
            .map(|w| wave::Pending::start(w.clone(), wave::Layout::Port))
            .transpose()?;
        let (path, from, to) = wave.as_ref().map(wave::Pending::args).unwrap_or_default();
        let inner = ffi::new_port_sim(seed, &path, from, to).map_err(|e| e.what().to_string())?;
        Ok(PortSim { inner, wave })
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

    /// The streams' state now: valid/ready, harness queues (for deadlock dumps).
    pub fn probe(&self) -> PortProbe {
        self.inner.probe()
    }

    /// The model's registers and memories (Verilator `--savable`) and the harness's cycle
    /// count, counters and ready pattern, as bytes: a checkpoint of a port with nothing queued
    /// (an error otherwise). The waveform is not part of it.
    pub fn save_state(&mut self) -> Result<Vec<u8>, String> {
        self.inner
            .pin_mut()
            .save_state()
            .map_err(|e| e.what().to_string())
    }

    /// Continue from what [`PortSim::save_state`] returned. The bytes must be exactly those
    /// (check a checksum first): Verilator ends the process on a malformed stream.
    pub fn restore_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.inner
            .pin_mut()
            .restore_state(bytes)
            .map_err(|e| e.what().to_string())
    }

    /// Switch link-layer retry of the S2M link on or off (before any flit is queued).
    pub fn set_llr(&mut self, on: bool) {
        self.inner.pin_mut().set_llr(on);
    }

    /// The S2M receiver's RETRY.Req and acknowledgements since the last call, in order.
    pub fn take_llr(&mut self) -> Vec<LlrOut> {
        self.inner.pin_mut().take_llr()
    }

    /// Good flits the S2M receiver discarded while waiting for a replay.
    pub fn llr_discards(&self) -> u64 {
        self.inner.llr_discards()
    }

    /// Row format of the port's device lines (call before any command; the pins stay as set):
    /// `fmt` 0 fp32 (3 too), 1 fp16, 2 int8 row-wise (FBGEMM: fp16 scale, fp16 bias, then the
    /// bytes); `exp` is E, the accumulator lines per device line (0 is taken as 1). fp32 (the
    /// default, E = 1) passes lines through unchanged with no added latency; fp16 and int8 turn
    /// each device line with tag t into E binary32 lines with tags t .. t + E - 1, one per cycle,
    /// the first three cycles after the device line is taken (see rtl/pifs_dequant.sv).
    pub fn set_row_format(&mut self, fmt: u32, exp: u32) {
        self.inner.pin_mut().set_row_format(fmt, exp);
    }

    /// Finish the simulation: model `final()`, waveform closed, converted to VCD if asked, and
    /// its GTKWave save file written. The model part is also done on drop.
    pub fn finish(&mut self) -> Result<(), String> {
        self.inner.pin_mut().finish();
        match self.wave.take() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }
}

/// A run that ends early (an error, a failed check) still finishes its waveform: the model's
/// `final()`, VCD and save file; a failure there is a warning line, as drop cannot return it.
impl Drop for SwitchSim {
    fn drop(&mut self) {
        if self.wave.is_some() {
            if let Err(e) = self.finish() {
                eprintln!("warning: {e}");
            }
        }
    }
}

/// Owner of one Verilated switch (`pifs_switch_top`): all downstream ports, their dispatchers
/// and the upstream path, in one model with one context.
pub struct SwitchSim {
    inner: cxx::UniquePtr<ffi::SwitchSim>,
    /// The waveform being written, finished (VCD, save file) by [`SwitchSim::finish`].
    wave: Option<wave::Pending>,
}

impl SwitchSim {
    /// Build and reset the switch, writing the waveform `wave` asks for, if any.
    pub fn new(seed: u64, wave: Option<&WaveSpec>) -> Result<Self, String> {
        let wave = wave
            .map(|w| wave::Pending::start(w.clone(), wave::Layout::Switch))
            .transpose()?;
        let (path, from, to) = wave.as_ref().map(wave::Pending::args).unwrap_or_default();
        let inner = ffi::new_switch_sim(seed, &path, from, to).map_err(|e| e.what().to_string())?;
        let ports = inner.params().ports;
        if let Some(w) = wave.as_ref().filter(|w| w.port() >= ports) {
            drop(inner);
            let _ = std::fs::remove_file(&path);
            return Err(format!(
                "wave port {}: the switch has {ports} ports",
                w.port()
            ));
        }
        Ok(SwitchSim { inner, wave })
    }

    /// The parameters the model was Verilated with.
    pub fn params(&self) -> SwitchParams {
        self.inner.params()
    }

    /// Queue S2M flits of `port`; each is offered from its `not_before` cycle, in queue order.
    pub fn push_flits(&mut self, port: u32, flits: &[FlitIn]) -> Result<(), String> {
        self.inner
            .pin_mut()
            .push_flits(port, flits)
            .map_err(|e| e.what().to_string())
    }

    /// Queue host command words; each is offered from its `not_before` cycle, in queue order.
    pub fn push_cmds(&mut self, cmds: &[CmdIn]) {
        self.inner.pin_mut().push_cmds(cmds);
    }

    /// Queue upstream credit pulses: one per entry, from its cycle on, at most one per cycle.
    pub fn push_credits(&mut self, cycles: &[u64]) {
        self.inner.pin_mut().push_credits(cycles);
    }

    /// Percentage of cycles the upstream side and the MemRd streams are ready.
    pub fn set_ready_percent(&mut self, up: u32, memrd: u32) {
        self.inner.pin_mut().set_ready_percent(up, memrd);
    }

    /// Run up to `max_cycles` cycles (or until idle, if asked); returns the cycles run.
    pub fn run(&mut self, max_cycles: u64, stop_when_idle: bool) -> u64 {
        self.inner.pin_mut().run(max_cycles, stop_when_idle)
    }

    /// Upstream lines since the last call, in the order they left.
    pub fn take_upstream(&mut self) -> Vec<UpOut> {
        self.inner.pin_mut().take_upstream()
    }

    /// MemRd requests since the last call, in cycle order (ports in index order per cycle).
    pub fn take_mem_reqs(&mut self) -> Vec<MemReqOut> {
        self.inner.pin_mut().take_mem_reqs()
    }

    /// Cumulative counters of one port.
    pub fn port_counters(&self, port: u32) -> Result<Counters, String> {
        self.inner
            .port_counters(port)
            .map_err(|e| e.what().to_string())
    }

    /// Cumulative switch-level counters.
    pub fn counters(&self) -> SwitchCounters {
        self.inner.counters()
    }

    /// The streams' state now: valid/ready per port, credits, harness queues (deadlock dumps).
    pub fn probe(&self) -> SwitchProbe {
        self.inner.probe()
    }

    /// The model's state (Verilator `--savable`) and the harness's cycle count, counters and
    /// ready patterns, as bytes: a checkpoint of a switch with nothing queued (an error
    /// otherwise). The waveform is not part of it.
    pub fn save_state(&mut self) -> Result<Vec<u8>, String> {
        self.inner
            .pin_mut()
            .save_state()
            .map_err(|e| e.what().to_string())
    }

    /// Continue from what [`SwitchSim::save_state`] returned. The bytes must be exactly those
    /// (check a checksum first): Verilator ends the process on a malformed stream.
    pub fn restore_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.inner
            .pin_mut()
            .restore_state(bytes)
            .map_err(|e| e.what().to_string())
    }

    /// Switch link-layer retry of every S2M link on or off (before any flit is queued).
    pub fn set_llr(&mut self, on: bool) {
        self.inner.pin_mut().set_llr(on);
    }

    /// Every port's S2M receiver's RETRY.Req and acknowledgements since the last call.
    pub fn take_llr(&mut self) -> Vec<LlrOut> {
        self.inner.pin_mut().take_llr()
    }

    /// Good flits port `port`'s S2M receiver discarded while waiting for a replay.
    pub fn llr_discards(&self, port: u32) -> u64 {
        self.inner.llr_discards(port)
    }

    /// Row buffer configuration (before any command): on, sets used minus one, policy (0 LRU,
    /// 1 hot). Without a Verilated buffer (`BufLines` 0) the inputs are ignored.
    pub fn set_buffer(&mut self, on: bool, set_mask: u32, policy: u32) {
        self.inner.pin_mut().set_buffer(on, set_mask, policy);
    }

    /// Row format of every port's device lines (call before any command; the pins stay as
    /// set): `fmt` 0 fp32 (3 too), 1 fp16, 2 int8 row-wise; `exp` is E, the accumulator lines
    /// per device line (0 is taken as 1). With fp16 or int8 a RowRead's device line l gets tag
    /// tag + l * E (address line + l) and each port turns it into E binary32 lines with tags
    /// tag + l * E + k (see rtl/pifs_dequant.sv); fp32 (the default) is unchanged.
    pub fn set_row_format(&mut self, fmt: u32, exp: u32) {
        self.inner.pin_mut().set_row_format(fmt, exp);
    }

    /// Cumulative counts of port `port`'s row buffer (zero for a port the switch lacks).
    pub fn buffer_counters(&self, port: u32) -> BufCounters {
        self.inner.buffer_counters(port)
    }

    /// Record the tag of every line the accumulators take (see [`SwitchSim::take_line_tags`]).
    pub fn record_line_tags(&mut self, on: bool) {
        self.inner.pin_mut().record_line_tags(on);
    }

    /// Lines the accumulators took since the last call: (cycle, port, tag), in cycle order.
    pub fn take_line_tags(&mut self) -> Vec<LineTagOut> {
        self.inner.pin_mut().take_line_tags()
    }

    /// Finish the simulation: model `final()`, waveform closed, converted to VCD if asked, and
    /// its GTKWave save file written. The model part is also done on drop.
    pub fn finish(&mut self) -> Result<(), String> {
        self.inner.pin_mut().finish();
        match self.wave.take() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }
}

/// Version of the Verilator runtime linked in.
pub fn verilator_version() -> String {
    ffi::verilator_version()
}

/// Identity of the Verilated models linked in: the build script's keys of both models (Verilator
/// executable and version, arguments, RTL file contents), FNV-1a. Checkpoints carry it, so state
/// saved by one RTL build is never restored into another.
pub const MODEL_BUILD_KEY: &str = env!("PIFS_MODEL_KEY");

/// Version string of the `verilator` executable that built the model (from the build script).
pub const VERILATOR_BUILD_VERSION: &str = env!("PIFS_VERILATOR_VERSION");
