// Batched cycle loop around the Verilated switch (see switch_sim.h).
#include "pifs-rtl/cpp/switch_sim.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "Vpifs_switch_top.h"
#include "pifs-rtl/src/lib.rs.h"
#include "verilated.h"

// The parameters pifs_switch_top was Verilated with (-G flags), defined by bindings/build.rs.
#ifndef PIFS_SW_NUM_PORTS
#error "PIFS_SW_* parameters must be defined by bindings/build.rs"
#endif

namespace pifs {

namespace {
constexpr uint32_t kPorts = PIFS_SW_NUM_PORTS;
constexpr unsigned kFlitBits = 528;
constexpr unsigned kTagBits = 16;
constexpr unsigned kAddrBits = 52;
static_assert(kPorts >= 1 && kPorts <= 16, "NumPorts must be 1..16");

// xorshift64*: the ready patterns of the upstream and MemRd streams, replayable from the seed.
uint64_t next_rand(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1DULL;
}

uint32_t low_mask(unsigned n) { return n >= 32 ? 0xFFFFFFFFu : ((1u << n) - 1u); }

// Bits [lo, lo + width) of a signal (width <= 64), whether Verilator made it an integer or a
// VlWide (the widths of the flattened per-port arrays change with NumPorts).
template <typename T>
uint64_t field(const T& sig, unsigned lo, unsigned width) {
  if constexpr (std::is_integral_v<T>) {
    const uint64_t v = static_cast<uint64_t>(sig) >> lo;
    return width >= 64 ? v : (v & ((1ULL << width) - 1));
  } else {
    uint64_t v = 0;
    for (unsigned i = 0; i < width;) {
      const unsigned b = lo + i;
      const unsigned n = std::min(32u - b % 32, width - i);
      v |= static_cast<uint64_t>((sig.at(b / 32) >> (b % 32)) & low_mask(n)) << i;
      i += n;
    }
    return v;
  }
}

// Write a 64-bit value at bit `lo` (a multiple of 32) of a signal, integral or VlWide.
template <typename T>
void put64(T& sig, unsigned lo, uint64_t v) {
  if constexpr (std::is_integral_v<T>) {
    sig = static_cast<T>(v);
  } else {
    sig.at(lo / 32) = static_cast<uint32_t>(v);
    sig.at(lo / 32 + 1) = static_cast<uint32_t>(v >> 32);
  }
}

// Write `width` bits of `src` (LSB first, 32-bit words) at bit `lo` of a wide signal.
template <typename T>
void put_bits(T& sig, unsigned lo, const uint32_t* src, unsigned width) {
  for (unsigned i = 0; i < width; i += 32) {
    const unsigned n = std::min(32u, width - i);
    const uint64_t m = static_cast<uint64_t>(low_mask(n)) << ((lo + i) % 32);
    const uint64_t v = static_cast<uint64_t>(src[i / 32] & low_mask(n)) << ((lo + i) % 32);
    const unsigned w = (lo + i) / 32;
    sig.at(w) = (sig.at(w) & ~static_cast<uint32_t>(m)) | static_cast<uint32_t>(v);
    if ((m >> 32) != 0) {
      sig.at(w + 1) = (sig.at(w + 1) & ~static_cast<uint32_t>(m >> 32)) |
                      static_cast<uint32_t>(v >> 32);
    }
  }
}

// A per-port ready vector: all ones at 100%, else each bit high with the given chance.
uint64_t ready_bits(uint32_t percent, unsigned n, uint64_t& rng) {
  uint64_t v = 0;
  for (unsigned p = 0; p < n; ++p) {
    if (percent >= 100 || (next_rand(rng) % 100) < percent) v |= 1ULL << p;
  }
  return v;
}
}  // namespace

SwitchSim::SwitchSim(uint64_t seed, rust::Str wave_path, uint64_t wave_from, uint64_t wave_to)
    : flits_(kPorts), flit_loaded_(kPorts, false), cmds_(kPorts), port_(kPorts), rng_(seed | 1) {
  const std::string wave(wave_path.data(), wave_path.size());
  ctx_ = new_context(!wave.empty());
  top_ = std::make_unique<Vpifs_switch_top>(ctx_.get(), "switch");
  wave_.open(*top_, wave, wave_from, wave_to);
  top_->rst_ni = 0;
  top_->flit_valid_i = 0;
  top_->cmd_valid_i = 0;
  top_->up_credit_i = 0;
  top_->up_ready_i = 1;
  top_->llr_en_i = 0;  // link-layer retry off until set_llr
  top_->buf_en_i = 0;   // row buffer off until set_buffer
  top_->buf_set_mask_i = 0;
  top_->buf_policy_i = 0;
  top_->fmt_i = 0;      // fp32 rows until set_row_format
  top_->fmt_exp_i = 1;
  top_->memrd_ready_i = ready_bits(100, kPorts, rng_);
  for (int i = 0; i < kResetCycles; ++i) {
    edge(0);
    edge(1);
  }
  top_->rst_ni = 1;
  edge(0);
}

SwitchSim::~SwitchSim() { finish(); }

void SwitchSim::finish() {
  if (finished_) return;
  finished_ = true;
  top_->final();
  wave_.close();
  write_coverage(*ctx_, "switch");
}

void SwitchSim::edge(uint8_t clk) {
  top_->clk_i = clk;
  top_->eval();
  wave_.dump(*ctx_, cycle_);
  ctx_->timeInc(kHalfPeriodPs);
}

SwitchParams SwitchSim::params() const {
  return SwitchParams{kPorts,
                      PIFS_SW_NUM_BAGS,
                      PIFS_SW_MAX_ROW_LINES,
                      PIFS_SW_NUM_TAGS,
                      PIFS_SW_RES_DEPTH,
                      PIFS_SW_CMD_DEPTH,
                      PIFS_SW_EGRESS_DEPTH,
                      PIFS_SW_UP_CREDITS,
                      PIFS_SW_BUF_LINES,
                      PIFS_SW_BUF_WAYS};
}

void SwitchSim::push_flits(uint32_t port, rust::Slice<const FlitIn> flits) {
  if (port >= kPorts) throw std::out_of_range("port " + std::to_string(port) + " out of range");
  for (const FlitIn& f : flits) flits_[port].push_back(f);
}

// Each word goes to the command lane of the port in its port field (bits 59:56); a port the
// switch does not have goes to lane 0, whose port check drops it as the RTL specifies.
void SwitchSim::push_cmds(rust::Slice<const CmdIn> cmds) {
  for (const CmdIn& c : cmds) {
    const uint32_t lane = static_cast<uint32_t>((c.word >> 56) & 0xF);
    cmds_[lane < kPorts ? lane : 0].push_back(c);
  }
}

void SwitchSim::push_credits(rust::Slice<const uint64_t> cycles) {
  for (uint64_t c : cycles) credits_.push_back(c);
}

void SwitchSim::set_ready_percent(uint32_t up, uint32_t memrd) {
  up_ready_percent_ = up > 100 ? 100 : up;
  memrd_ready_percent_ = memrd > 100 ? 100 : memrd;
}

bool SwitchSim::idle() const {
  for (const auto& q : flits_) {
    if (!q.empty()) return false;
  }
  for (const auto& q : cmds_) {
    if (!q.empty()) return false;
  }
  return !top_->busy_o;
}

uint64_t SwitchSim::run(uint64_t max_cycles, bool stop_when_idle) {
  const uint64_t start = cycle_;
  while (cycle_ - start < max_cycles) {
    if (stop_when_idle && idle()) break;
    if (ctx_->errorCount() != 0) break;
    // Drive inputs for this cycle (clock low), then sample the handshakes.
    uint64_t fv = 0;
    for (uint32_t p = 0; p < kPorts; ++p) {
      const auto& q = flits_[p];
      if (q.empty() || q.front().not_before > cycle_) continue;
      if (!flit_loaded_[p]) {
        put_bits(top_->flit_i, p * kFlitBits, q.front().words.data(), kFlitBits);
        flit_loaded_[p] = true;
      }
      fv |= 1ULL << p;
    }
    top_->flit_valid_i = fv;
    uint64_t cv = 0;
    for (uint32_t p = 0; p < kPorts; ++p) {
      const auto& q = cmds_[p];
      if (q.empty() || q.front().not_before > cycle_) continue;
      put64(top_->cmd_i, p * 64, q.front().word);
      cv |= 1ULL << p;
    }
    top_->cmd_valid_i = cv;
    const bool credit = !credits_.empty() && credits_.front() <= cycle_;
    top_->up_credit_i = credit;
    top_->up_ready_i =
        up_ready_percent_ >= 100 || (next_rand(rng_) % 100) < up_ready_percent_;
    const uint64_t mr = ready_bits(memrd_ready_percent_, kPorts, rng_);
    top_->memrd_ready_i = mr;
    top_->clk_i = 0;
    top_->eval();

    if (top_->up_valid_o && top_->up_ready_i) {
      UpOut u{};
      u.cycle = cycle_;
      u.port = top_->up_port_o;
      u.bag = top_->up_bag_o;
      u.line = top_->up_line_o;
      u.last = top_->up_last_o;
      u.poison = top_->up_poison_o;
      std::memcpy(u.data.data(), top_->up_data_o.data(), sizeof(uint32_t) * 16);
      up_.push_back(u);
      ++up_lines_;
    } else if (top_->up_valid_o) {
      ++up_stall_;
    }
    up_wait_ += top_->up_wait_o;
    const uint64_t mv = field(top_->memrd_valid_o, 0, kPorts);
    const uint64_t fr = field(top_->flit_ready_o, 0, kPorts);
    const uint64_t crc = field(top_->port_crc_err_o, 0, kPorts);
    const uint64_t proto = field(top_->port_proto_err_o, 0, kPorts);
    const uint64_t cerr = field(top_->port_cmd_err_o, 0, kPorts);
    const uint64_t terr = field(top_->port_tag_err_o, 0, kPorts);
    const uint64_t line = field(top_->port_line_o, 0, kPorts);
    const uint64_t rstall = field(top_->port_res_stall_o, 0, kPorts);
    const uint64_t ndr = field(top_->port_ndr_o, 0, 2 * kPorts);
    const uint64_t lv = field(top_->port_llr_valid_o, 0, kPorts);
    const uint64_t lreq = field(top_->port_llr_req_o, 0, kPorts);
    const uint64_t ldis = field(top_->port_llr_discard_o, 0, kPorts);
    const uint64_t bhit = field(top_->port_buf_hit_o, 0, kPorts);
    const uint64_t bmiss = field(top_->port_buf_miss_o, 0, kPorts);
    const uint64_t bbyp = field(top_->port_buf_bypass_o, 0, kPorts);
    const uint64_t bevi = field(top_->port_buf_evict_o, 0, kPorts);
    for (uint32_t p = 0; p < kPorts; ++p) {
      PortCount& c = port_[p];
      const uint64_t bit = 1ULL << p;
      if (mv & bit) {
        if (mr & bit) {
          reqs_.push_back(MemReqOut{
              cycle_, static_cast<uint8_t>(p),
              static_cast<uint16_t>(field(top_->memrd_tag_o, p * kTagBits, kTagBits)),
              field(top_->memrd_addr_o, p * kAddrBits, kAddrBits)});
          ++mem_reqs_;
        } else {
          ++mem_stall_;
        }
      }
      c.crc += (crc & bit) != 0;
      c.proto += (proto & bit) != 0;
      c.cmd_err += (cerr & bit) != 0;
      c.tag_err += (terr & bit) != 0;
      c.lines += (line & bit) != 0;
      if (record_tags_ && (line & bit)) {
        line_tags_.push_back(LineTagOut{
            cycle_, static_cast<uint8_t>(p),
            static_cast<uint16_t>(field(top_->port_line_tag_o, p * kTagBits, kTagBits))});
      }
      c.buf_hit += (bhit & bit) != 0;
      c.buf_miss += (bmiss & bit) != 0;
      c.buf_bypass += (bbyp & bit) != 0;
      c.buf_evict += (bevi & bit) != 0;
      c.res_stall += (rstall & bit) != 0;
      c.ndr += (ndr >> (2 * p)) & 3;
      if ((fv & bit) && !(fr & bit)) ++c.flit_stall;
      if (lv & bit) {
        llr_.push_back(LlrOut{cycle_, static_cast<uint8_t>(p), (lreq & bit) != 0,
                              static_cast<uint8_t>(field(top_->port_llr_seq_o, p * 8, 8))});
      }
      c.llr_discards += (ldis & bit) != 0;
    }
    cmd_errors_ += __builtin_popcountll(field(top_->cmd_err_o, 0, kPorts));
    const uint64_t cmd_fire = cv & field(top_->cmd_ready_o, 0, kPorts);
    cmds_taken_ += __builtin_popcountll(cmd_fire);
    cmd_stall_ += __builtin_popcountll(cv & ~cmd_fire);

    wave_.dump(*ctx_, cycle_);
    ctx_->timeInc(kHalfPeriodPs);
    edge(1);
    ++cycle_;
    for (uint32_t p = 0; p < kPorts; ++p) {
      if ((fv & fr) & (1ULL << p)) {
        flits_[p].pop_front();
        flit_loaded_[p] = false;
        ++port_[p].flits;
      }
    }
    for (uint32_t p = 0; p < kPorts; ++p) {
      if (cmd_fire & (1ULL << p)) cmds_[p].pop_front();
    }
    if (credit) credits_.pop_front();
  }
  return cycle_ - start;
}

rust::Vec<UpOut> SwitchSim::take_upstream() {
  rust::Vec<UpOut> out;
  out.reserve(up_.size());
  for (const UpOut& u : up_) out.push_back(u);
  up_.clear();
  return out;
}

rust::Vec<MemReqOut> SwitchSim::take_mem_reqs() {
  rust::Vec<MemReqOut> out;
  out.reserve(reqs_.size());
  for (const MemReqOut& r : reqs_) out.push_back(r);
  reqs_.clear();
  return out;
}

Counters SwitchSim::port_counters(uint32_t port) const {
  if (port >= kPorts) throw std::out_of_range("port " + std::to_string(port) + " out of range");
  const PortCount& c = port_[port];
  return Counters{cycle_,     c.flits,      c.crc,         c.proto, c.ndr,
                  c.cmd_err,  c.tag_err,    c.flit_stall,  c.res_stall, c.lines,
                  static_cast<uint64_t>(ctx_->errorCount())};
}

SwitchCounters SwitchSim::counters() const {
  return SwitchCounters{cycle_,
                        cmd_errors_,
                        up_lines_,
                        up_stall_,
                        up_wait_,
                        mem_reqs_,
                        mem_stall_,
                        field(top_->up_credits_o, 0, 32),
                        static_cast<uint64_t>(ctx_->errorCount())};
}

SwitchProbe SwitchSim::probe() const {
  SwitchProbe p{};
  p.flit_valid = static_cast<uint32_t>(field(top_->flit_valid_i, 0, kPorts));
  p.flit_ready = static_cast<uint32_t>(field(top_->flit_ready_o, 0, kPorts));
  p.cmd_valid = static_cast<uint32_t>(field(top_->cmd_valid_i, 0, kPorts));
  p.cmd_ready = static_cast<uint32_t>(field(top_->cmd_ready_o, 0, kPorts));
  p.memrd_valid = static_cast<uint32_t>(field(top_->memrd_valid_o, 0, kPorts));
  p.memrd_ready = static_cast<uint32_t>(field(top_->memrd_ready_i, 0, kPorts));
  p.res_stall = static_cast<uint32_t>(field(top_->port_res_stall_o, 0, kPorts));
  p.up_valid = top_->up_valid_o;
  p.up_ready = top_->up_ready_i;
  p.up_wait = top_->up_wait_o;
  p.busy = top_->busy_o;
  p.credits = field(top_->up_credits_o, 0, 32);
  for (uint32_t q = 0; q < kPorts; ++q) {
    p.flits_queued.push_back(flits_[q].size());
    p.flit_next_at.push_back(flits_[q].empty() ? UINT64_MAX : flits_[q].front().not_before);
    p.cmds_queued.push_back(cmds_[q].size());
  }
  p.credits_queued = credits_.size();
  p.credit_next_at = credits_.empty() ? UINT64_MAX : credits_.front();
  p.cmds_taken = cmds_taken_;
  p.cmd_stall_cycles = cmd_stall_;
  std::memcpy(p.up_data.data(), top_->up_data_o.data(), sizeof(uint32_t) * 16);
  return p;
}

std::unique_ptr<SwitchSim> new_switch_sim(uint64_t seed, rust::Str wave_path, uint64_t wave_from,
                                    uint64_t wave_to) {
  return std::make_unique<SwitchSim>(seed, wave_path, wave_from, wave_to);
}

void SwitchSim::set_llr(bool on) { top_->llr_en_i = on; }

rust::Vec<LlrOut> SwitchSim::take_llr() {
  rust::Vec<LlrOut> out;
  out.reserve(llr_.size());
  for (const LlrOut& e : llr_) out.push_back(e);
  llr_.clear();
  return out;
}

void SwitchSim::set_row_format(uint32_t fmt, uint32_t exp) {
  top_->fmt_i = fmt & 3u;
  top_->fmt_exp_i = exp & 7u;
}

void SwitchSim::set_buffer(bool on, uint32_t set_mask, uint32_t policy) {
  top_->buf_en_i = on;
  top_->buf_set_mask_i = set_mask;
  top_->buf_policy_i = policy != 0;
}

BufCounters SwitchSim::buffer_counters(uint32_t port) const {
  if (port >= port_.size()) return BufCounters{};
  const PortCount& c = port_[port];
  return BufCounters{c.buf_hit, c.buf_miss, c.buf_bypass, c.buf_evict};
}

void SwitchSim::record_line_tags(bool on) { record_tags_ = on; }

rust::Vec<LineTagOut> SwitchSim::take_line_tags() {
  rust::Vec<LineTagOut> out;
  out.reserve(line_tags_.size());
  for (const LineTagOut& t : line_tags_) out.push_back(t);
  line_tags_.clear();
  return out;
}

uint64_t SwitchSim::llr_discards(uint32_t port) const {
  return port < port_.size() ? port_[port].llr_discards : 0;
}

}  // namespace pifs
