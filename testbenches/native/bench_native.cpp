// Native C++ Verilator harness of `make bench`: replays a stimulus dumped by pifs-bench (timestamped
// S2M flits and host commands) into the Verilated switch port through bindings/cpp/port_sim.cpp
// itself (compiled here against stand-ins for the cxx types, testbenches/native/shim/), so the
// per-cycle work is the bridge's PortSim::run line for line, and reports simulated cycles per
// second without Rust or cxx in the loop.
//
// Usage: pifs_bench_native STIMULUS.bin [--reps N]
//
// The stimulus file (little-endian, written by bench/src/stimulus.rs):
//   "PIFSSTM1"  u64 step  u64 cycles  u64 seed  u64 n_cmds  u64 n_flits
//   n_cmds  x { u64 not_before, u64 word }
//   n_flits x { u64 not_before, u32 words[17] }
// The whole file is read into memory before any timing. Each repetition builds and resets a new
// PortSim (not timed), then times the loop: every `step` cycles, queue the commands and flits whose
// not_before falls in the window (as the Rust side pushes them), run the window, take the results
// and monitor events out and fold them into two digests (results, monitor events) that must
// equal the Rust side's. One `key=value` line per repetition and per figure on stdout.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pifs-rtl/cpp/port_sim.h"
#include "pifs-rtl/src/lib.rs.h"

using pifs::CmdIn;
using pifs::FlitIn;
using pifs::MonOut;
using pifs::ResOut;

namespace {

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
  const std::unique_ptr<pifs::PortSim> port = pifs::new_port_sim(s.seed, rust::Str(""), 0, UINT64_MAX);
  Digest d, m_d;
  uint64_t results = 0;
  size_t ci = 0, fi = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t w = 0; w < s.cycles; w += s.step) {
    const uint64_t until = std::min(w + s.step, s.cycles);
    size_t cj = ci, fj = fi;
    while (cj < s.cmds.size() && s.cmds[cj].not_before < until) ++cj;
    while (fj < s.flits.size() && s.flits[fj].not_before < until) ++fj;
    if (cj > ci) port->push_cmds(rust::Slice<const CmdIn>(&s.cmds[ci], cj - ci));
    if (fj > fi) port->push_flits(rust::Slice<const FlitIn>(&s.flits[fi], fj - fi));
    ci = cj;
    fi = fj;
    port->run(until - port->counters().cycles, false);
    for (const ResOut& r : port->take_results()) {
      d.add(r.cycle);
      d.add(uint64_t(r.bag) | uint64_t(r.line) << 8 | uint64_t(r.last) << 16 |
            uint64_t(r.poison) << 24);
      for (uint32_t x : r.data) d.add(x);
      ++results;
    }
    for (const MonOut& m : port->take_monitor()) {
      m_d.add(m.cycle);
      m_d.add(uint64_t(m.bag) | uint64_t(m.line) << 8 | uint64_t(m.part) << 16);
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  const pifs::Counters c = port->counters();
  port->finish();
  return Rep{std::chrono::duration<double>(t1 - t0).count(),
             c.cycles,
             c.flits,
             c.lines,
             c.flit_stall_cycles,
             results,
             c.crc_errors + c.proto_errors + c.cmd_errors + c.tag_errors + c.assert_errors,
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
    std::printf("native_cycles_per_s=%.0f\nverilator=%s\n", best,
                std::string(pifs::verilator_version()).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pifs_bench_native: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
