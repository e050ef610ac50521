// Native C++ Verilator harness of `make bench`: replays a stimulus dumped by pifs-bench (timestamped
// S2M flits and host commands) into the Verilated switch port with the same per-cycle work as
// bindings/cpp/port_sim.cpp's PortSim::run, and reports simulated cycles per second.
//
// Usage: pifs_bench_native STIMULUS.bin [--reps N]
//
// The stimulus file (little-endian, written by bench/src/stimulus.rs):
//   "PIFSSTM1"  u64 step  u64 cycles  u64 seed  u64 n_cmds  u64 n_flits
//   n_cmds  x { u64 not_before, u64 word }
//   n_flits x { u64 not_before, u32 words[17] }
// The whole file is read into memory before any timing. Each repetition builds and resets a new
// model (not timed), then times the loop: every `step` cycles, queue the commands and flits whose
// not_before falls in the next window (as the Rust side pushes them), run the window, take the
// results and monitor events out as fresh vectors (as take_results/take_monitor build rust::Vec)
// and fold them into two digests (results, monitor events) that must equal the Rust side's.
// One `key=value` line per repetition and per figure on stdout.

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "Vpifs_port_top.h"
#include "verilated.h"
#include "verilated_fst_c.h"

namespace {

// The same layouts as the cxx shared structs of bindings/src/lib.rs.
struct FlitIn {
  std::array<uint32_t, 17> words;
  uint64_t not_before;
};
struct CmdIn {
  uint64_t word;
  uint64_t not_before;
};
struct ResOut {
  uint64_t cycle;
  uint8_t bag;
  uint8_t line;
  bool last;
  bool poison;
  std::array<uint32_t, 16> data;
};
struct MonOut {
  uint64_t cycle;
  uint8_t bag;
  uint8_t line;
  uint8_t part;
};

constexpr int kResetCycles = 4;

uint64_t next_rand(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1DULL;
}

// FNV-1a over 64-bit values, byte by byte (little-endian): bench/src/stimulus.rs has the twin.
struct Digest {
  uint64_t h = 0xcbf29ce484222325ULL;
  void add(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  }
};

// PortSim of bindings/cpp/port_sim.cpp with the Rust types swapped for std ones; run() is the
// same loop line for line.
class NativePort {
 public:
  explicit NativePort(uint64_t seed) : rng_(seed | 1) {
    ctx_ = std::make_unique<VerilatedContext>();
    ctx_->debug(0);
    ctx_->randReset(0);
    ctx_->fatalOnError(false);
    ctx_->errorLimit(1 << 30);
    top_ = std::make_unique<Vpifs_port_top>(ctx_.get(), "port");
    top_->rst_ni = 0;
    top_->flit_valid_i = 0;
    top_->cmd_valid_i = 0;
    top_->res_ready_i = 1;
    for (int i = 0; i < kResetCycles; ++i) {
      edge(0);
      edge(1);
    }
    top_->rst_ni = 1;
    edge(0);
  }
  ~NativePort() { top_->final(); }

  void push_flits(const FlitIn* f, size_t n) {
    for (size_t i = 0; i < n; ++i) flits_.push_back(f[i]);
  }
  void push_cmds(const CmdIn* c, size_t n) {
    for (size_t i = 0; i < n; ++i) cmds_.push_back(c[i]);
  }

  uint64_t run(uint64_t max_cycles, bool stop_when_idle) {
    const uint64_t start = cycle_;
    bool flit_loaded = false;
    while (cycle_ - start < max_cycles) {
      if (stop_when_idle && idle()) break;
      if (ctx_->errorCount() != 0) break;
      const bool fv = !flits_.empty() && flits_.front().not_before <= cycle_;
      if (fv && !flit_loaded) {
        std::memcpy(top_->flit_i.data(), flits_.front().words.data(), sizeof(uint32_t) * 17);
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
      const bool flit_fire = fv && top_->flit_ready_o;
      if (fv && !top_->flit_ready_o) ++flit_stall_;
      const bool cmd_fire = cv && top_->cmd_ready_o;

      if (wave_) wave_->dump(ctx_->time());
      ctx_->timeInc(1);
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

  std::vector<ResOut> take_results() {
    std::vector<ResOut> out;
    out.reserve(results_.size());
    for (const ResOut& r : results_) out.push_back(r);
    results_.clear();
    return out;
  }
  std::vector<MonOut> take_monitor() {
    std::vector<MonOut> out;
    out.reserve(monitor_.size());
    for (const MonOut& m : monitor_) out.push_back(m);
    monitor_.clear();
    return out;
  }

  uint64_t cycle() const { return cycle_; }
  uint64_t flits() const { return flits_done_; }
  uint64_t lines() const { return lines_; }
  uint64_t flit_stall() const { return flit_stall_; }
  uint64_t errors() const {
    return crc_errors_ + proto_errors_ + cmd_errors_ + tag_errors_ +
           static_cast<uint64_t>(ctx_->errorCount());
  }

 private:
  void edge(uint8_t clk) {
    top_->clk_i = clk;
    top_->eval();
    if (wave_) wave_->dump(ctx_->time());
    ctx_->timeInc(1);
  }
  bool idle() const { return flits_.empty() && cmds_.empty() && !top_->busy_o; }

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vpifs_port_top> top_;
  std::unique_ptr<VerilatedFstC> wave_;
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
  uint64_t rng_;
  uint32_t res_ready_percent_ = 100;
};

struct Stimulus {
  uint64_t step = 0, cycles = 0, seed = 0;
  std::vector<CmdIn> cmds;
  std::vector<FlitIn> flits;
};

uint64_t get_u64(const std::vector<char>& b, size_t& at) {
  if (at + 8 > b.size()) throw std::runtime_error("truncated stimulus file");
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  at += 8;
  return v;
}

Stimulus load(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<char> b(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  if (!in.read(b.data(), static_cast<std::streamsize>(b.size())))
    throw std::runtime_error(path + ": cannot read");
  if (b.size() < 8 || std::memcmp(b.data(), "PIFSSTM1", 8) != 0)
    throw std::runtime_error(path + ": not a PIFSSTM1 stimulus file");
  size_t at = 8;
  Stimulus s;
  s.step = get_u64(b, at);
  s.cycles = get_u64(b, at);
  s.seed = get_u64(b, at);
  const uint64_t nc = get_u64(b, at), nf = get_u64(b, at);
  if (s.step == 0) throw std::runtime_error(path + ": step 0");
  s.cmds.resize(nc);
  for (auto& c : s.cmds) {
    c.not_before = get_u64(b, at);
    c.word = get_u64(b, at);
  }
  s.flits.resize(nf);
  for (auto& f : s.flits) {
    f.not_before = get_u64(b, at);
    if (at + 68 > b.size()) throw std::runtime_error(path + ": truncated stimulus file");
    std::memcpy(f.words.data(), b.data() + at, 68);
    at += 68;
  }
  if (at != b.size()) throw std::runtime_error(path + ": trailing bytes");
  return s;
}

struct Rep {
  double seconds;
  uint64_t cycles, flits, lines, stall, results, errors;
  Digest res_digest, mon_digest;
};

Rep replay(const Stimulus& s) {
  NativePort port(s.seed);
  Digest d, m_d;
  uint64_t results = 0;
  size_t ci = 0, fi = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t w = 0; w < s.cycles; w += s.step) {
    const uint64_t until = std::min(w + s.step, s.cycles);
    size_t cj = ci, fj = fi;
    while (cj < s.cmds.size() && s.cmds[cj].not_before < until) ++cj;
    while (fj < s.flits.size() && s.flits[fj].not_before < until) ++fj;
    if (cj > ci) port.push_cmds(&s.cmds[ci], cj - ci);
    if (fj > fi) port.push_flits(&s.flits[fi], fj - fi);
    ci = cj;
    fi = fj;
    port.run(until - port.cycle(), false);
    for (const ResOut& r : port.take_results()) {
      d.add(r.cycle);
      d.add(uint64_t(r.bag) | uint64_t(r.line) << 8 | uint64_t(r.last) << 16 |
            uint64_t(r.poison) << 24);
      for (uint32_t x : r.data) d.add(x);
      ++results;
    }
    for (const MonOut& m : port.take_monitor()) {
      m_d.add(m.cycle);
      m_d.add(uint64_t(m.bag) | uint64_t(m.line) << 8 | uint64_t(m.part) << 16);
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  return Rep{std::chrono::duration<double>(t1 - t0).count(),
             port.cycle(),
             port.flits(),
             port.lines(),
             port.flit_stall(),
             results,
             port.errors(),
             d,
             m_d};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s STIMULUS.bin [--reps N]\n", argv[0]);
    return 2;
  }
  int reps = 3;
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  try {
    const Stimulus s = load(argv[1]);
    std::printf("stimulus_cmds=%zu\nstimulus_flits=%zu\nstimulus_cycles=%llu\nstep=%llu\n",
                s.cmds.size(), s.flits.size(), (unsigned long long)s.cycles,
                (unsigned long long)s.step);
    double best = 0;
    for (int k = 0; k < reps; ++k) {
      const Rep r = replay(s);
      const double cps = r.cycles / r.seconds;
      if (cps > best) best = cps;
      std::printf(
          "rep=%d seconds=%.6f cycles=%llu cycles_per_s=%.0f flits=%llu lines=%llu "
          "flit_stall=%llu results=%llu errors=%llu digest=%016llx%016llx\n",
          k, r.seconds, (unsigned long long)r.cycles, cps, (unsigned long long)r.flits,
          (unsigned long long)r.lines, (unsigned long long)r.stall,
          (unsigned long long)r.results, (unsigned long long)r.errors,
          (unsigned long long)r.res_digest.h, (unsigned long long)r.mon_digest.h);
      std::fflush(stdout);
    }
    std::printf("native_cycles_per_s=%.0f\nverilator=%s\n", best, Verilated::productVersion());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pifs_bench_native: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
