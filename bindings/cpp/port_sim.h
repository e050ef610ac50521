// C++ side of the switch-port bindings: owns the VerilatedContext and the Verilated model, runs
// batches of cycles with valid/ready handshakes done here, and hands whole buffers to Rust.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "pifs-rtl/cpp/sim_common.h"
#include "rust/cxx.h"

class Vpifs_port_top;

namespace pifs {

struct FlitIn;
struct CmdIn;
struct ResOut;
struct MonOut;
struct Counters;
struct PortProbe;
struct LlrOut;

class PortSim {
 public:
  PortSim(uint64_t seed, rust::Str wave_path, uint64_t wave_from, uint64_t wave_to);
  ~PortSim();
  PortSim(const PortSim&) = delete;
  PortSim& operator=(const PortSim&) = delete;

  void push_flits(rust::Slice<const FlitIn> flits);
  void push_cmds(rust::Slice<const CmdIn> cmds);
  void set_res_ready_percent(uint32_t percent);
  uint64_t run(uint64_t max_cycles, bool stop_when_idle);
  rust::Vec<ResOut> take_results();
  rust::Vec<MonOut> take_monitor();
  Counters counters() const;
  void finish();
  PortProbe probe() const;
  // Checkpoints (state.cpp): the model (Verilator --savable) and the harness's counters.
  rust::Vec<uint8_t> save_state();
  void restore_state(rust::Slice<const uint8_t> bytes);
  // Link-layer retry of the S2M link (llr_en_i) and the receiver's messages since the last take.
  void set_llr(bool on);
  rust::Vec<LlrOut> take_llr();
  uint64_t llr_discards() const;
  // Row format (fmt_i: 0 fp32, 1 fp16, 2 int8 row-wise) and lines per device line (fmt_exp_i).
  void set_row_format(uint32_t fmt, uint32_t exp);

 private:
  void edge(uint8_t clk);
  bool idle() const;

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vpifs_port_top> top_;
  Wave wave_;
  std::deque<FlitIn> flits_;
  std::deque<CmdIn> cmds_;
  std::vector<ResOut> results_;
  std::vector<MonOut> monitor_;
  uint64_t cycle_ = 0;
  uint64_t flits_done_ = 0;
  uint64_t crc_errors_ = 0;
  uint64_t proto_errors_ = 0;
  uint64_t ndr_ = 0;
  uint64_t cmd_errors_ = 0;
  uint64_t tag_errors_ = 0;
  uint64_t flit_stall_ = 0;
  uint64_t res_stall_ = 0;
  uint64_t lines_ = 0;
  uint64_t cmds_taken_ = 0;
  uint64_t cmd_stall_ = 0;
  uint64_t rng_;
  uint32_t res_ready_percent_ = 100;
  bool finished_ = false;
  std::vector<LlrOut> llr_;
  uint64_t llr_discards_ = 0;
};

std::unique_ptr<PortSim> new_port_sim(uint64_t seed, rust::Str wave_path, uint64_t wave_from,
                                    uint64_t wave_to);
rust::String verilator_version();

}  // namespace pifs
