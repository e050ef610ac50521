// Shared by the RTL unit harnesses (tb_fp32_add.cpp, tb_dequant.cpp): binary32 bit casts, the
// splitmix64 stimulus generator, and the host floating-point set-up their IEEE references need.
#pragma once

#include <cfloat>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <xmmintrin.h>

#ifdef __FAST_MATH__
#error "the RTL unit harnesses must be built without -ffast-math: the references are IEEE float arithmetic"
#endif
#if !defined(__SSE2__) || FLT_EVAL_METHOD != 0
#error "the RTL unit harnesses need SSE float arithmetic (FLT_EVAL_METHOD == 0)"
#endif

namespace host_fp {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// splitmix64: small, fast and the same on every platform, so a seed replays anywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t u32() { return static_cast<uint32_t>(next() >> 32); }
  unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }
  // Uniform in [lo, hi] (modulo bias is irrelevant for stimulus).
  int range(int lo, int hi) { return lo + static_cast<int>(next() % (uint64_t)(hi - lo + 1)); }
  bool coin() { return next() & 1; }

 private:
  uint64_t state_;
};

// Forces flush-to-zero, denormals-are-zero and the rounding control (MXCSR) off, so host float
// arithmetic is IEEE round-to-nearest-even with subnormals; false (with a message) if it cannot.
inline bool clear_mxcsr() {
  constexpr unsigned kFtz = 0x8000u, kDaz = 0x0040u, kRc = 0x6000u;
  _mm_setcsr(_mm_getcsr() & ~(kFtz | kDaz | kRc));
  const unsigned csr = _mm_getcsr();
  if (csr & (kFtz | kDaz | kRc)) {
    std::fprintf(stderr, "error: cannot clear FTZ/DAZ/RC in MXCSR (%08x)\n", csr);
    return false;
  }
  return true;
}

}  // namespace host_fp
