// C++ side of the switch bindings: owns a VerilatedContext and the Verilated pifs_switch_top,
// runs batches of cycles with every valid/ready handshake done here (per-port flit queues, the
// host command queue, credit pulses, random ready on the upstream and MemRd streams), and hands
// whole vectors to Rust: upstream lines and MemRd requests with their cycles, per-port counters.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "pifs-rtl/cpp/sim_common.h"
#include "rust/cxx.h"

class Vpifs_switch_top;

namespace pifs {

struct FlitIn;
struct CmdIn;
struct Counters;
struct UpOut;
struct MemReqOut;
struct SwitchCounters;
struct SwitchParams;
struct SwitchProbe;
struct LlrOut;
struct BufCounters;
struct LineTagOut;

class SwitchSim {
 public:
  SwitchSim(uint64_t seed, rust::Str wave_path, uint64_t wave_from, uint64_t wave_to);
  ~SwitchSim();
  SwitchSim(const SwitchSim&) = delete;
  SwitchSim& operator=(const SwitchSim&) = delete;

  SwitchParams params() const;
  void push_flits(uint32_t port, rust::Slice<const FlitIn> flits);
  void push_cmds(rust::Slice<const CmdIn> cmds);
  void push_credits(rust::Slice<const uint64_t> cycles);
  void set_ready_percent(uint32_t up, uint32_t memrd);
  uint64_t run(uint64_t max_cycles, bool stop_when_idle);
  rust::Vec<UpOut> take_upstream();
  rust::Vec<MemReqOut> take_mem_reqs();
  Counters port_counters(uint32_t port) const;
  SwitchCounters counters() const;
  void finish();
  SwitchProbe probe() const;
  // Checkpoints (state.cpp): the model (Verilator --savable) and the harness's counters.
  rust::Vec<uint8_t> save_state();
  void restore_state(rust::Slice<const uint8_t> bytes);
  // Link-layer retry of the S2M links (llr_en_i) and the receivers' messages since the last take.
  void set_llr(bool on);
  rust::Vec<LlrOut> take_llr();
  uint64_t llr_discards(uint32_t port) const;
  void set_buffer(bool on, uint32_t set_mask, uint32_t policy);
  // Row format of every port (fmt_i: 0 fp32, 1 fp16, 2 int8) and lines per device line.
  void set_row_format(uint32_t fmt, uint32_t exp);
  BufCounters buffer_counters(uint32_t port) const;
  void record_line_tags(bool on);
  rust::Vec<LineTagOut> take_line_tags();

 private:
  struct PortCount {
    uint64_t flits = 0, crc = 0, proto = 0, ndr = 0, cmd_err = 0, tag_err = 0;
    uint64_t flit_stall = 0, res_stall = 0, lines = 0, llr_discards = 0;
    uint64_t buf_hit = 0, buf_miss = 0, buf_bypass = 0, buf_evict = 0;
  };

  void edge(uint8_t clk);
  bool idle() const;

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vpifs_switch_top> top_;
  Wave wave_;
  std::vector<std::deque<FlitIn>> flits_;
  std::vector<bool> flit_loaded_;
  std::vector<std::deque<CmdIn>> cmds_;  // one lane per port
  std::deque<uint64_t> credits_;
  std::vector<UpOut> up_;
  std::vector<MemReqOut> reqs_;
  std::vector<PortCount> port_;
  uint64_t cycle_ = 0;
  uint64_t cmd_errors_ = 0;
  uint64_t up_lines_ = 0;
  uint64_t up_stall_ = 0;
  uint64_t up_wait_ = 0;
  uint64_t mem_reqs_ = 0;
  uint64_t mem_stall_ = 0;
  uint64_t cmds_taken_ = 0;
  uint64_t cmd_stall_ = 0;
  uint64_t rng_;
  uint32_t up_ready_percent_ = 100;
  uint32_t memrd_ready_percent_ = 100;
  bool finished_ = false;
  std::vector<LlrOut> llr_;
  bool record_tags_ = false;
  std::vector<LineTagOut> line_tags_;
};

std::unique_ptr<SwitchSim> new_switch_sim(uint64_t seed, rust::Str wave_path, uint64_t wave_from,
                                    uint64_t wave_to);

}  // namespace pifs
