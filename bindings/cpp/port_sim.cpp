// Batched cycle loop around the Verilated switch port (see port_sim.h).
#include "pifs-rtl/cpp/port_sim.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "Vpifs_port_top.h"
#include "pifs-rtl/src/lib.rs.h"
#include "verilated.h"

namespace pifs {

namespace {

// xorshift64*: the stall pattern of the result stream, replayable from the seed.
uint64_t next_rand(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1DULL;
}
}  // namespace

PortSim::PortSim(uint64_t seed, rust::Str wave_path, uint64_t wave_from, uint64_t wave_to) : rng_(seed | 1) {
  const std::string wave(wave_path.data(), wave_path.size());
  ctx_ = new_context(!wave.empty());
  top_ = std::make_unique<Vpifs_port_top>(ctx_.get(), "port");
  wave_.open(*top_, wave, wave_from, wave_to);
  top_->rst_ni = 0;
  top_->flit_valid_i = 0;
  top_->cmd_valid_i = 0;
  top_->res_ready_i = 1;
  top_->llr_en_i = 0;  // link-layer retry off until set_llr
  top_->hit_valid_i = 0;  // no row buffer in front of a lone port
  top_->hit_tag_i = 0;
  top_->fmt_i = 0;      // fp32 rows until set_row_format
  top_->fmt_exp_i = 1;
  for (int i = 0; i < kResetCycles; ++i) {
    edge(0);
    edge(1);
  }
  top_->rst_ni = 1;
  edge(0);
}

PortSim::~PortSim() { finish(); }

void PortSim::finish() {
  if (finished_) return;
  finished_ = true;
  top_->final();
  wave_.close();
  write_coverage(*ctx_, "port");
}

void PortSim::edge(uint8_t clk) {
  top_->clk_i = clk;
  top_->eval();
  wave_.dump(*ctx_, cycle_);
  ctx_->timeInc(kHalfPeriodPs);
}

void PortSim::push_flits(rust::Slice<const FlitIn> flits) {
  for (const FlitIn& f : flits) flits_.push_back(f);
}

void PortSim::push_cmds(rust::Slice<const CmdIn> cmds) {
  for (const CmdIn& c : cmds) cmds_.push_back(c);
}

void PortSim::set_res_ready_percent(uint32_t percent) {
  res_ready_percent_ = percent > 100 ? 100 : percent;
}

bool PortSim::idle() const {
  return flits_.empty() && cmds_.empty() && !top_->busy_o;
}

uint64_t PortSim::run(uint64_t max_cycles, bool stop_when_idle) {
  const uint64_t start = cycle_;
  bool flit_loaded = false;
  while (cycle_ - start < max_cycles) {
    if (stop_when_idle && idle()) break;
    if (ctx_->errorCount() != 0) break;
    // Drive inputs for this cycle (clock low), then sample the handshakes.
    const bool fv = !flits_.empty() && flits_.front().not_before <= cycle_;
    if (fv && !flit_loaded) {
      std::memcpy(top_->flit_i.data(), flits_.front().words.data(), sizeof(uint32_t) * 17);
      top_->flit_i.data()[16] &= 0xFFFFu;  // 528 bits: only the low half of word 16 exists
      flit_loaded = true;
    }
    top_->flit_valid_i = fv;
    const bool cv = !cmds_.empty() && cmds_.front().not_before <= cycle_;
    if (cv) top_->cmd_i = cmds_.front().word;
    top_->cmd_valid_i = cv;
    top_->res_ready_i =
        res_ready_percent_ >= 100 || (next_rand(rng_) % 100) < res_ready_percent_;
    top_->clk_i = 0;
    top_->eval();

    if (top_->mon_valid_o) {
      monitor_.push_back(MonOut{cycle_, top_->mon_bag_o, top_->mon_line_o, top_->mon_part_o});
      ++lines_;
    }
    if (top_->res_valid_o && top_->res_ready_i) {
      ResOut r{};
      r.cycle = cycle_;
      r.bag = top_->res_bag_o;
      r.line = top_->res_line_o;
      r.last = top_->res_last_o;
      r.poison = top_->res_poison_o;
      std::memcpy(r.data.data(), top_->res_data_o.data(), sizeof(uint32_t) * 16);
      results_.push_back(r);
    } else if (top_->res_valid_o) {
      ++res_stall_;
    }
    crc_errors_ += top_->crc_err_o;
    proto_errors_ += top_->proto_err_o;
    ndr_ += top_->ndr_o;
    cmd_errors_ += top_->cmd_err_o;
    tag_errors_ += top_->tag_err_o;
    if (top_->llr_valid_o) llr_.push_back(LlrOut{cycle_, 0, top_->llr_req_o != 0, top_->llr_seq_o});
    llr_discards_ += top_->llr_discard_o;
    const bool flit_fire = fv && top_->flit_ready_o;
    if (fv && !top_->flit_ready_o) ++flit_stall_;
    const bool cmd_fire = cv && top_->cmd_ready_o;
    cmds_taken_ += cmd_fire;
    cmd_stall_ += cv && !top_->cmd_ready_o;

    wave_.dump(*ctx_, cycle_);
    ctx_->timeInc(kHalfPeriodPs);
    edge(1);
    ++cycle_;
    if (flit_fire) {
      flits_.pop_front();
      flit_loaded = false;
      ++flits_done_;
    }
    if (cmd_fire) cmds_.pop_front();
  }
  return cycle_ - start;
}

rust::Vec<ResOut> PortSim::take_results() {
  rust::Vec<ResOut> out;
  out.reserve(results_.size());
  for (const ResOut& r : results_) out.push_back(r);
  results_.clear();
  return out;
}

rust::Vec<MonOut> PortSim::take_monitor() {
  rust::Vec<MonOut> out;
  out.reserve(monitor_.size());
  for (const MonOut& m : monitor_) out.push_back(m);
  monitor_.clear();
  return out;
}

void PortSim::set_llr(bool on) { top_->llr_en_i = on; }

rust::Vec<LlrOut> PortSim::take_llr() {
  rust::Vec<LlrOut> out;
  out.reserve(llr_.size());
  for (const LlrOut& e : llr_) out.push_back(e);
  llr_.clear();
  return out;
}

uint64_t PortSim::llr_discards() const { return llr_discards_; }

void PortSim::set_row_format(uint32_t fmt, uint32_t exp) {
  top_->fmt_i = fmt & 3u;
  top_->fmt_exp_i = exp & 7u;
}

Counters PortSim::counters() const {
  return Counters{cycle_,      flits_done_, crc_errors_, proto_errors_, ndr_,
                  cmd_errors_, tag_errors_, flit_stall_, res_stall_,    lines_,
                  static_cast<uint64_t>(ctx_->errorCount())};
}

PortProbe PortSim::probe() const {
  PortProbe p{};
  p.flit_valid = top_->flit_valid_i;
  p.flit_ready = top_->flit_ready_o;
  p.cmd_valid = top_->cmd_valid_i;
  p.cmd_ready = top_->cmd_ready_o;
  p.res_valid = top_->res_valid_o;
  p.res_ready = top_->res_ready_i;
  p.busy = top_->busy_o;
  p.flits_queued = flits_.size();
  p.flit_next_at = flits_.empty() ? UINT64_MAX : flits_.front().not_before;
  p.cmds_queued = cmds_.size();
  p.cmd_next_at = cmds_.empty() ? UINT64_MAX : cmds_.front().not_before;
  p.cmds_taken = cmds_taken_;
  p.cmd_stall_cycles = cmd_stall_;
  std::memcpy(p.res_data.data(), top_->res_data_o.data(), sizeof(uint32_t) * 16);
  return p;
}

std::unique_ptr<PortSim> new_port_sim(uint64_t seed, rust::Str wave_path, uint64_t wave_from,
                                    uint64_t wave_to) {
  return std::make_unique<PortSim>(seed, wave_path, wave_from, wave_to);
}

rust::String verilator_version() {
  return rust::String(std::string(Verilated::productVersion()));
}

}  // namespace pifs
