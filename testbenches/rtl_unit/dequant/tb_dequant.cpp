// Unit test of rtl/pifs_dequant.sv against an independent reference written with host float
// arithmetic (x86-64 SSE, round-to-nearest-even, subnormals kept: FTZ/DAZ forced off, no FMA):
//   int8 lane:  canon((float)q * half(scale) + half(bias))   (multiply, then add, each rounded)
//   fp16 lane:  canon(half(h) + 0.0f)
// where half() converts binary16 with ldexpf (not the RTL's bit manipulation) and canon() maps
// every NaN to 0x7FC00000. Timing is modelled independently of the RTL: a device line taken in
// cycle t (in_valid && in_ready) yields output line k = 0 .. E-1 in cycle t+3+k with tag t+k
// (16-bit wrap) and the line's poison; in_ready is low exactly in cycles t+1 .. t+E-1; busy_o
// is high while an output line is still due; out_valid_o is low in every other cycle. fp32 (fmt
// 0 and 3) must be a zero-latency pass-through: out = in in the same cycle, in_ready high.
//
// Phases:
//   1. exhaustive int8: every scale (65536) x every q (256), E = 1, one line per cycle, for each
//      of the first --biases biases of a list (zero, -0, subnormals, 1, -1.5, inf, -inf, NaN,
//      largest); 16 pairs per line.
//   2. random lines (--lines): formats fp16 / int8 / fp32 (0 and 3), E = 0 .. 7, random
//      in_valid, tags, poison, random halves with specials mixed in; every lane checked.
//
// Usage: tb_dequant [--seed N] [--biases N] [--lines N] [+verilator+... options]
// Exit status: 0 when everything matched, 1 on any mismatch or setup error.

#include <verilated.h>

#include <cfloat>
#include <cinttypes>
#include <cstdarg>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <xmmintrin.h>

#include "../host_fp.h"
#include "Vpifs_dequant.h"


namespace {

constexpr uint32_t kCanonicalNan = 0x7FC00000u;
constexpr int kMaxReported = 20;
using host_fp::bits_float;
using host_fp::float_bits;
using host_fp::Rng;

uint32_t canon(float f) { return std::isnan(f) ? kCanonicalNan : float_bits(f); }

// binary16 -> float by value (ldexpf of the integer significand), independent of bit layouts
// of binary32.
float half_to_float(uint16_t h) {
  const bool neg = h >> 15;
  const int e = (h >> 10) & 0x1F;
  const int f = h & 0x3FF;
  float v;
  if (e == 0x1F) {
    v = f ? std::nanf("") : INFINITY;
  } else if (e == 0) {
    v = std::ldexp(static_cast<float>(f), -24);
  } else {
    v = std::ldexp(static_cast<float>(1024 + f), e - 25);
  }
  return neg ? -v : v;
}

uint32_t ref_int8(uint8_t q, uint16_t scale, uint16_t bias) {
  volatile float p = static_cast<float>(q) * half_to_float(scale);
  volatile float r = p + half_to_float(bias);
  return canon(r);
}

uint32_t ref_fp16(uint16_t h) {
  volatile float r = half_to_float(h) + 0.0f;
  return canon(r);
}

const uint16_t kSpecialHalves[] = {0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x83FF, 0x0400,
                                   0x3C00, 0xBC00, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7C01,
                                   0x7E00, 0xFE00, 0x7FFF, 0x3555, 0x0200};

uint16_t random_half(Rng& rng) {
  if (rng.below(4) == 0) return kSpecialHalves[rng.below(sizeof kSpecialHalves / 2)];
  return static_cast<uint16_t>(rng.u32());
}

// One device line: 64 bytes, little-endian.
struct Line {
  uint8_t bytes[64];
  uint16_t half(int i) const { return static_cast<uint16_t>(bytes[2 * i] | bytes[2 * i + 1] << 8); }
  void set_half(int i, uint16_t h) {
    bytes[2 * i] = h & 0xFF;
    bytes[2 * i + 1] = h >> 8;
  }
};

struct Expect {
  uint64_t cycle;
  uint16_t tag;
  bool poison;
  uint32_t data[16];
};

class Bench {
 public:
  Bench(VerilatedContext* ctx, Vpifs_dequant* top) : ctx_(ctx), top_(top) {
    top_->clk_i = 0;
    top_->rst_ni = 0;
    top_->in_valid_i = 0;
    top_->fmt_i = 0;
    top_->exp_i = 1;
    top_->eval();
    for (int i = 0; i < 3; ++i) tick();
    top_->rst_ni = 1;
    top_->eval();
  }

  // Configure (only when idle); two idle cycles let the registered configuration settle.
  void configure(unsigned fmt, unsigned exp) {
    while (!expect_.empty() || held()) idle_cycle();
    fmt_ = fmt & 3;
    exp_ = exp & 7;
    ever_taken_ = false;  // the last line's hold is over (held() must not see it under a new E)
    top_->fmt_i = fmt_;
    top_->exp_i = exp_;
    idle_cycle();
    idle_cycle();
  }

  bool dq_on() const { return fmt_ == 1 || fmt_ == 2; }
  unsigned e() const { return exp_ == 0 ? 1 : exp_; }

  // Expected output lines of a device line under the current configuration.
  void reference(const Line& l, uint16_t tag, bool poison, uint64_t taken) {
    for (unsigned k = 0; k < e(); ++k) {
      Expect x{};
      x.cycle = taken + 3 + k;
      x.tag = static_cast<uint16_t>(tag + k);
      x.poison = poison;
      for (unsigned i = 0; i < 16; ++i) {
        if (fmt_ == 2) {
          const unsigned b = 4 + 16 * k + i;
          const uint8_t q = b < 64 ? l.bytes[b] : 0;
          x.data[i] = ref_int8(q, l.half(0), l.half(1));
        } else {
          const unsigned hi = 16 * k + i;
          x.data[i] = ref_fp16(hi < 32 ? l.half(static_cast<int>(hi)) : 0);
        }
      }
      expect_.push_back(x);
    }
  }

  // One cycle offering `l` (valid) or nothing; returns whether the line transferred.
  bool cycle(bool valid, const Line& l, uint16_t tag, bool poison) {
    top_->in_valid_i = valid;
    top_->in_tag_i = tag;
    top_->in_poison_i = poison;
    std::memcpy(top_->in_data_i.data(), l.bytes, 64);
    top_->clk_i = 0;
    top_->eval();
    // in_ready: low exactly in the cycles t+1 .. t+E-1 after a transfer in t (fp16/int8).
    const bool want_ready = !held() || !dq_on();
    bool fire = false;
    if (top_->in_ready_o != want_ready) {
      fail("in_ready_o %u, want %u", top_->in_ready_o, want_ready);
    }
    if (!dq_on()) {
      // Pass-through: the same line in the same cycle.
      bool ok = top_->out_valid_o == valid && top_->busy_o == 0;
      if (valid) {
        ok = ok && top_->out_tag_o == tag && top_->out_poison_o == poison &&
             std::memcmp(top_->out_data_o.data(), l.bytes, 64) == 0;
        ++passthrough_;
      }
      if (!ok) fail("fp32 pass-through differs (valid %u tag %04x)", valid, tag);
      fire = valid;
    } else {
      const bool due = !expect_.empty() && expect_.front().cycle == cycle_;
      if (top_->busy_o != !expect_.empty()) {
        fail("busy_o %u with %zu lines due", top_->busy_o, expect_.size());
      }
      if (top_->out_valid_o != due) {
        fail("out_valid_o %u, want %u", top_->out_valid_o, due);
      }
      if (due) {
        const Expect& x = expect_.front();
        if (top_->out_tag_o != x.tag || top_->out_poison_o != x.poison) {
          fail("out tag %04x poison %u, want %04x %u", top_->out_tag_o, top_->out_poison_o, x.tag,
               x.poison);
        }
        for (int i = 0; i < 16; ++i) {
          ++pairs_;
          const uint32_t got = top_->out_data_o[i];
          if (got != x.data[i]) {
            fail("lane %d tag %04x: got %08" PRIx32 " want %08" PRIx32, i, x.tag, got,
                 x.data[i]);
          }
        }
        expect_.pop_front();
      }
      fire = valid && want_ready;
      if (fire) {
        reference(l, tag, poison, cycle_);
        last_taken_ = cycle_;
        ever_taken_ = true;
      }
    }
    top_->clk_i = 1;
    top_->eval();
    ctx_->timeInc(1);
    ++cycle_;
    return fire;
  }

  void idle_cycle() {
    static const Line zero{};
    cycle(false, zero, 0, false);
  }

  void drain() {
    while (!expect_.empty() || held()) idle_cycle();
    idle_cycle();
  }

  uint64_t pairs() const { return pairs_; }
  uint64_t passthrough() const { return passthrough_; }
  uint64_t mismatches() const { return mismatches_; }
  uint64_t cycles() const { return cycle_; }

 private:
  // A line is held (in_ready low) in cycles t+1 .. t+E-1.
  bool held() const {
    return dq_on() && ever_taken_ && cycle_ >= last_taken_ + 1 && cycle_ < last_taken_ + e();
  }

  __attribute__((format(printf, 2, 3))) void fail(const char* fmt, ...) {
    if (++mismatches_ <= kMaxReported) {
      std::printf("MISMATCH cycle %" PRIu64 " fmt %u E %u: ", cycle_, fmt_, exp_);
      va_list ap;
      va_start(ap, fmt);
      std::vprintf(fmt, ap);
      va_end(ap);
      std::printf("\n");
    }
  }

  void tick() {
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
    ctx_->timeInc(1);
  }

  VerilatedContext* ctx_;
  Vpifs_dequant* top_;
  std::deque<Expect> expect_;
  unsigned fmt_ = 0, exp_ = 1;
  uint64_t cycle_ = 0, last_taken_ = 0;
  bool ever_taken_ = false;
  uint64_t pairs_ = 0, passthrough_ = 0, mismatches_ = 0;
};

bool setup_host_fp() {
  if (!host_fp::clear_mxcsr()) {
    return false;
  }
  // Subnormals kept, ties to even, and no fused multiply-add in the reference.
  const bool ok = ref_int8(1, 0x0001, 0x0000) == 0x33800000u &&     // 2^-24
                  ref_fp16(0x0001) == 0x33800000u &&
                  float_bits(bits_float(0x00800000u) * 0.5f) == 0x00400000u &&
                  float_bits(bits_float(0x3F800000u) + bits_float(0x33800000u)) == 0x3F800000u;
  if (!ok) {
    std::fprintf(stderr, "error: host float arithmetic is not IEEE RNE with subnormals\n");
    return false;
  }
  return true;
}

bool parse_u64(const char* text, uint64_t* out) {
  char* end = nullptr;
  *out = std::strtoull(text, &end, 0);
  return end != text && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 1;
  uint64_t biases = 10;
  uint64_t lines = 2000000;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg[0] == '+') continue;
    uint64_t* dst = arg == "--seed" ? &seed : arg == "--biases" ? &biases
                  : arg == "--lines" ? &lines : nullptr;
    if (dst != nullptr && i + 1 < argc) {
      if (!parse_u64(argv[++i], dst)) {
        std::fprintf(stderr, "error: %s needs an unsigned integer\n", arg.c_str());
        return 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--seed N] [--biases N] [--lines N] [+verilator+...]\n",
                   argv[0]);
      return 1;
    }
  }
  if (!setup_host_fp()) return 1;

  const std::unique_ptr<VerilatedContext> ctx{new VerilatedContext};
  ctx->commandArgs(argc, argv);
  ctx->randReset(2);
  const std::unique_ptr<Vpifs_dequant> top{new Vpifs_dequant{ctx.get(), "TOP"}};
  Bench bench(ctx.get(), top.get());
  Rng rng(seed);

  // Phase 1: every (q, scale) for each bias.
  static const uint16_t kBiases[] = {0x0000, 0x0001, 0x83FF, 0x3C00, 0xBE00,
                                     0x7C00, 0xFC00, 0x7E00, 0x8000, 0x7BFF};
  const uint64_t nb = biases < 10 ? biases : 10;
  bench.configure(2, 1);
  uint16_t tag = 0;
  uint64_t exhaustive_pairs = 0;
  for (uint64_t bi = 0; bi < nb; ++bi) {
    for (uint32_t scale = 0; scale < 65536; ++scale) {
      for (unsigned j = 0; j < 16; ++j) {
        Line l{};
        l.set_half(0, static_cast<uint16_t>(scale));
        l.set_half(1, kBiases[bi]);
        for (unsigned i = 0; i < 16; ++i) l.bytes[4 + i] = static_cast<uint8_t>(16 * j + i);
        for (unsigned i = 20; i < 64; ++i) l.bytes[i] = static_cast<uint8_t>(rng.u32());
        while (!bench.cycle(true, l, tag, false)) {
        }
        ++tag;
        exhaustive_pairs += 16;
      }
    }
  }
  bench.drain();

  // Phase 2: random formats, E, in_valid, tags, poison, data.
  uint64_t done = 0;
  while (done < lines) {
    static const unsigned kFmts[] = {1, 2, 1, 2, 0, 3};
    bench.configure(kFmts[rng.below(6)], rng.below(8));
    const unsigned valid_pct = 30 + rng.below(71);
    const uint64_t n = 1 + rng.below(2000);
    for (uint64_t j = 0; j < n && done < lines; ++j) {
      Line l{};
      for (int i = 0; i < 32; ++i) l.set_half(i, random_half(rng));
      tag = static_cast<uint16_t>(rng.u32());
      const bool poison = rng.below(8) == 0;
      // Offer the line until it transfers; in_valid low in random cycles before that.
      for (;;) {
        const bool v = rng.below(100) < valid_pct;
        if (bench.cycle(v, l, tag, poison)) break;
      }
      ++done;
    }
  }
  bench.drain();
  top->final();

  std::printf("dequant: seed=%" PRIu64 " exhaustive_int8_pairs=%" PRIu64 " (%" PRIu64
              " biases) random_lines=%" PRIu64 " pairs_checked=%" PRIu64
              " fp32_passthrough_lines=%" PRIu64 " cycles=%" PRIu64 " mismatches=%" PRIu64 "\n",
              seed, exhaustive_pairs, nb, lines, bench.pairs(), bench.passthrough(),
              bench.cycles(), bench.mismatches());
  if (bench.mismatches() != 0 || bench.pairs() < exhaustive_pairs) {
    std::printf("dequant: FAIL (replay with --seed %" PRIu64 ")\n", seed);
    return 1;
  }
  std::printf("dequant: PASS\n");
  return 0;
}
