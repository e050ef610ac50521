// Stand-in for the header cxx generates from bindings/src/lib.rs: the shared structs of the
// `pifs` bridge, field for field in the same order and types (a field added there and used by
// port_sim.cpp breaks this build until it is added here). build.sh installs this file as
// <include>/pifs-rtl/src/lib.rs.h.
#pragma once

#include <array>
#include <cstdint>

#include "rust/cxx.h"

namespace pifs {

struct FlitIn final {
  std::array<std::uint32_t, 17> words;
  std::uint64_t not_before;
};

struct CmdIn final {
  std::uint64_t word;
  std::uint64_t not_before;
};

struct ResOut final {
  std::uint64_t cycle;
  std::uint8_t bag;
  std::uint8_t line;
  bool last;
  bool poison;
  std::array<std::uint32_t, 16> data;
};

struct MonOut final {
  std::uint64_t cycle;
  std::uint8_t bag;
  std::uint8_t line;
  std::uint8_t part;
};

struct LlrOut final {
  std::uint64_t cycle;
  std::uint8_t port;
  bool req;
  std::uint8_t seq;
};

struct WaveVar final {
  ::rust::String scope;
  ::rust::String name;
  std::uint32_t width;
  bool param;
  bool io;
};

struct PortProbe final {
  bool flit_valid;
  bool flit_ready;
  bool cmd_valid;
  bool cmd_ready;
  bool res_valid;
  bool res_ready;
  bool busy;
  std::uint64_t flits_queued;
  std::uint64_t flit_next_at;
  std::uint64_t cmds_queued;
  std::uint64_t cmd_next_at;
  std::uint64_t cmds_taken;
  std::uint64_t cmd_stall_cycles;
  std::array<std::uint32_t, 16> res_data;
};

struct Counters final {
  std::uint64_t cycles;
  std::uint64_t flits;
  std::uint64_t crc_errors;
  std::uint64_t proto_errors;
  std::uint64_t ndr;
  std::uint64_t cmd_errors;
  std::uint64_t tag_errors;
  std::uint64_t flit_stall_cycles;
  std::uint64_t res_stall_cycles;
  std::uint64_t lines;
  std::uint64_t assert_errors;
};

}  // namespace pifs
