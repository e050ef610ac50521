// Unit test of rtl/pifs_fp32_add.sv: every result is compared bit for bit against the host's
// binary32 addition (x86-64 SSE, round-to-nearest-even, subnormals kept: FTZ/DAZ forced off).
// A NaN result passes only if the host result is a NaN and the RTL gives exactly 0x7FC00000.
//
// Stimulus: all ordered pairs of a list of special values, then random pairs drawn round-robin
// from several generators (uniform bit patterns, massive cancellation, exponent differences
// 0..30, near overflow, near/below the normal range, exact ties, special x random). A new pair
// enters every cycle and its sum is checked two cycles later.
//
// Usage: tb_fp32_add [--seed N] [--pairs N] [+verilator+... options]
// Exit status: 0 when every pair matched, 1 on any mismatch or setup error.

#include <verilated.h>

#include <cfloat>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include <xmmintrin.h>

#include "../host_fp.h"
#include "Vpifs_fp32_add.h"


namespace {

constexpr uint32_t kCanonicalNan = 0x7FC00000u;
constexpr uint64_t kDefaultSeed = 1;
constexpr uint64_t kDefaultPairs = 24000000;
constexpr int kMaxReported = 20;

using host_fp::bits_float;
using host_fp::float_bits;
using host_fp::Rng;

bool is_nan_bits(uint32_t u) { return (u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu); }

uint32_t host_add(uint32_t a, uint32_t b) { return float_bits(bits_float(a) + bits_float(b)); }

uint32_t pack(uint32_t sign, int exp, uint32_t frac) {
  return (sign << 31) | (static_cast<uint32_t>(exp) << 23) | (frac & 0x007FFFFFu);
}

std::vector<uint32_t> special_values() {
  const uint32_t magnitudes[] = {
      0x00000000, 0x00000001, 0x00000002, 0x00000003, 0x00400000, 0x007FFFFE,  // zero, subnorm
      0x007FFFFF, 0x00800000, 0x00800001, 0x00FFFFFF, 0x01000000, 0x01000001,  // min normal
      0x3F000000, 0x3F7FFFFF, 0x3F800000, 0x3F800001, 0x3F800002, 0x3F800003,  // around 1
      0x3FC00000, 0x3FFFFFFF, 0x40000000, 0x40400000, 0x33000000, 0x33000001,  // 2^-25
      0x337FFFFF, 0x33800000, 0x33800001, 0x33C00000, 0x34000000, 0x34000001,  // 2^-24, 2^-23
      0x4AFFFFFF, 0x4B000000, 0x4B000001, 0x4B7FFFFF, 0x4B800000, 0x4B800001,  // 2^23, 2^24
      0x4C000000, 0x72800000, 0x73000000, 0x73000001, 0x737FFFFF, 0x73800000,  // max/2 ulps
      0x7E800000, 0x7EFFFFFF, 0x7F000000, 0x7F7FFFFE, 0x7F7FFFFF, 0x7F800000,  // max, inf
      0x7F800001, 0x7FA5A5A5, 0x7FBFFFFF, 0x7FC00000, 0x7FC00001, 0x7FFFFFFF,  // NaNs
  };
  std::vector<uint32_t> values;
  for (uint32_t m : magnitudes) {
    values.push_back(m);
    values.push_back(m | 0x80000000u);
  }
  return values;
}

struct Pair {
  uint32_t a;
  uint32_t b;
};

// Random operand with a biased exponent in [lo, hi] and a random sign and fraction.
uint32_t random_with_exp(Rng& rng, int lo, int hi) {
  return pack(rng.coin(), rng.range(lo, hi), rng.u32());
}

// Random generators, used round-robin. Each returns one operand pair.
constexpr int kNumGenerators = 8;
const char* const kGeneratorNames[kNumGenerators] = {
    "uniform", "cancellation", "exp-diff-0..30", "near-overflow",
    "near-subnormal", "tie", "special-x-random", "small-exp-cancellation"};

Pair draw(Rng& rng, const std::vector<uint32_t>& specials, int gen) {
  Pair p{};
  switch (gen) {
    case 0: {  // Any bit pattern, NaNs and infinities included.
      p.a = rng.u32();
      p.b = rng.u32();
      break;
    }
    case 1:
    case 7: {  // Nearly equal magnitudes, mostly opposite signs: massive cancellation.
      const int hi = (gen == 1) ? 254 : 30;
      p.a = random_with_exp(rng, 0, hi);
      int64_t mag = p.a & 0x7FFFFFFF;
      int64_t delta = rng.range(-4, 4);
      if (rng.coin()) delta = rng.range(-1 << 12, 1 << 12);
      mag += delta;
      if (mag < 0) mag = 0;
      if (mag > 0x7F7FFFFF) mag = 0x7F7FFFFF;
      uint32_t sign = (p.a >> 31) ^ ((rng.next() & 7) != 0);
      p.b = (sign << 31) | static_cast<uint32_t>(mag);
      break;
    }
    case 2: {  // Exponent difference 0..30: alignment and sticky bits.
      const int d = rng.range(0, 30);
      const int ea = rng.range(1, 254);
      int eb = ea - d;
      if (eb < 0) eb = 0;
      p.a = pack(rng.coin(), ea, rng.u32());
      p.b = pack(rng.coin(), eb, rng.u32());
      break;
    }
    case 3: {  // Sums near the overflow threshold.
      p.a = random_with_exp(rng, 250, 254);
      p.b = random_with_exp(rng, 220, 254);
      if (rng.range(0, 3) != 0) p.b = (p.b & 0x7FFFFFFF) | (p.a & 0x80000000u);
      if (rng.coin()) p.a |= 0x007FFF00u;
      break;
    }
    case 4: {  // Subnormal and small normal operands, results across the normal boundary.
      p.a = random_with_exp(rng, 0, 3);
      p.b = random_with_exp(rng, 0, 3);
      if (rng.range(0, 3) == 0) p.b &= 0x807FFFFFu;
      break;
    }
    case 5: {  // Exact ties: b's lowest set bit has the weight of half an ulp of a.
      const int d = rng.range(1, 24);
      const int ea = rng.range(d + 1, 254);
      const int eb = ea - d;
      p.a = pack(rng.coin(), ea, rng.u32());
      // b's significand (hidden bit 23) has bit d-1 set and all lower bits clear.
      uint32_t sig = (rng.u32() & 0x00FFFFFFu) | 0x00800000u;
      sig &= ~((1u << (d - 1)) - 1u);
      sig |= 1u << (d - 1);
      p.b = pack(rng.coin(), eb, sig);
      if (rng.range(0, 3) == 0) p.b = (p.b & 0x7FFFFFFF) | (p.a & 0x80000000u);
      break;
    }
    case 6: {  // One special value against a random operand of any kind.
      p.a = specials[rng.next() % specials.size()];
      p.b = rng.coin() ? rng.u32() : random_with_exp(rng, 0, 30);
      break;
    }
    default:
      break;
  }
  if (rng.coin()) std::swap(p.a, p.b);
  return p;
}

class Bench {
 public:
  Bench(VerilatedContext* contextp, Vpifs_fp32_add* top) : contextp_(contextp), top_(top) {
    top_->clk_i = 0;
    top_->rst_ni = 1;
    top_->en_i = 0;
    top_->a_i = 0;
    top_->b_i = 0;
    top_->eval();
    top_->rst_ni = 0;  // reset pulse: clears the stage-2 enable
    top_->eval();
    top_->rst_ni = 1;
    top_->eval();
  }

  // Presents p for one cycle (sampled at the rising edge ending it when en is set). The
  // expected output is modelled independently of the RTL: a pair enabled at an edge enters
  // stage 1; stage 2 takes stage 1's pair at the next edge if stage 1 was loaded at the edge
  // before; sum_o shows stage 2's pair's sum, held through disabled cycles. With en always
  // set this is latency 2: after the edge the output holds the sum of the pair presented one
  // cycle earlier.
  void cycle(const Pair& p, bool check_p, const char* what, bool en = true) {
    top_->en_i = en;
    top_->a_i = p.a;
    top_->b_i = p.b;
    top_->clk_i = 0;
    top_->eval();
    contextp_->timeInc(1);
    top_->clk_i = 1;
    top_->eval();
    contextp_->timeInc(1);
    if (s1_loaded_) {
      out_ = s1_;
      out_what_ = s1_what_;
      out_check_ = s1_check_;
    }
    s1_loaded_ = en;
    if (en) {
      s1_ = p;
      s1_what_ = what;
      s1_check_ = check_p;
    }
    if (out_check_) {
      check(out_, top_->sum_o, out_what_);
      out_check_ = false;  // each pair is counted once; a held output is checked below
      have_out_ = true;
    } else if (have_out_ && top_->sum_o != last_sum_) {
      ++mismatches_;
      if (mismatches_ <= kMaxReported) {
        std::printf("MISMATCH [hold] sum_o changed from %08" PRIx32 " to %08" PRIx32
                    " with no new enabled pair\n", last_sum_, top_->sum_o);
      }
    }
    last_sum_ = top_->sum_o;
  }

  // Two extra cycles so the last real pair reaches the output.
  void flush() {
    cycle(Pair{0, 0}, false, "flush", false);
    cycle(Pair{0, 0}, false, "flush", false);
  }

  uint64_t checked() const { return checked_; }
  uint64_t mismatches() const { return mismatches_; }

 private:
  void check(const Pair& p, uint32_t got, const char* what) {
    ++checked_;
    const uint32_t want = host_add(p.a, p.b);
    const bool ok = is_nan_bits(want) ? got == kCanonicalNan : got == want;
    if (ok) return;
    if (++mismatches_ <= kMaxReported) {
      std::printf("MISMATCH [%s] a=%08" PRIx32 " b=%08" PRIx32 " want=%08" PRIx32
                  " got=%08" PRIx32 "\n",
                  what, p.a, p.b, want, got);
    }
  }

  VerilatedContext* contextp_;
  Vpifs_fp32_add* top_;
  Pair s1_{}, out_{};
  const char* s1_what_ = "";
  const char* out_what_ = "";
  bool s1_loaded_ = false, s1_check_ = false, out_check_ = false;
  bool have_out_ = false;
  uint32_t last_sum_ = 0;
  uint64_t checked_ = 0;
  uint64_t mismatches_ = 0;
};

// Forces FTZ/DAZ off and round-to-nearest, then checks that the host really keeps subnormals and
// rounds ties to even; the reference is worthless otherwise.
bool setup_host_fp() {
  if (!host_fp::clear_mxcsr()) {
    return false;
  }
  const bool subnormals = host_add(0x00000001u, 0x00000001u) == 0x00000002u &&
                          host_add(0x00800000u, 0x80000001u) == 0x007FFFFFu;
  const bool ties_even = host_add(0x3F800000u, 0x33800000u) == 0x3F800000u &&
                         host_add(0x3F800001u, 0x33800000u) == 0x3F800002u;
  if (!subnormals || !ties_even) {
    std::fprintf(stderr, "error: host float addition is not IEEE RNE with subnormals\n");
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
  uint64_t seed = kDefaultSeed;
  uint64_t pairs = kDefaultPairs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg[0] == '+') continue;  // +verilator+... options go to the context
    if ((arg == "--seed" || arg == "--pairs") && i + 1 < argc) {
      if (!parse_u64(argv[++i], arg == "--seed" ? &seed : &pairs)) {
        std::fprintf(stderr, "error: %s needs an unsigned integer\n", arg.c_str());
        return 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--seed N] [--pairs N] [+verilator+...]\n", argv[0]);
      return 1;
    }
  }

  if (!setup_host_fp()) return 1;

  const std::unique_ptr<VerilatedContext> contextp{new VerilatedContext};
  contextp->commandArgs(argc, argv);
  contextp->randReset(2);  // registers start random: nothing may depend on reset values
  const std::unique_ptr<Vpifs_fp32_add> top{new Vpifs_fp32_add{contextp.get(), "TOP"}};

  Bench bench(contextp.get(), top.get());

  const std::vector<uint32_t> specials = special_values();
  uint64_t special_pairs = 0;
  for (uint32_t a : specials) {
    for (uint32_t b : specials) {
      bench.cycle(Pair{a, b}, true, "special");
      ++special_pairs;
    }
  }

  Rng rng(seed);
  for (uint64_t i = 0; i < pairs; ++i) {
    const int gen = static_cast<int>(i % kNumGenerators);
    bench.cycle(draw(rng, specials, gen), true, kGeneratorNames[gen]);
  }
  // Enables: a random quarter of the cycles present a pair with en_i low, which must change
  // nothing (the output holds until the next enabled pair arrives).
  uint64_t gated_pairs = 0;
  for (uint64_t i = 0; i < pairs / 8; ++i) {
    const int gen = static_cast<int>(i % kNumGenerators);
    const bool en = rng.next() % 4 != 0;
    bench.cycle(draw(rng, specials, gen), en, kGeneratorNames[gen], en);
    gated_pairs += en;
  }
  bench.flush();
  top->final();

  const uint64_t expected = special_pairs + pairs + gated_pairs;
  std::printf("fp32_add: seed=%" PRIu64 " special_pairs=%" PRIu64 " random_pairs=%" PRIu64
              " enabled_of_gated=%" PRIu64 " checked=%" PRIu64 " mismatches=%" PRIu64 "\n",
              seed, special_pairs, pairs, gated_pairs, bench.checked(), bench.mismatches());
  if (bench.checked() != expected || bench.mismatches() != 0) {
    std::printf("fp32_add: FAIL (replay with --seed %" PRIu64 ")\n", seed);
    return 1;
  }
  std::printf("fp32_add: PASS\n");
  return 0;
}
