// Save and restore of a harness's simulation state as bytes (checkpoints): the Verilated model's
// registers and memories through Verilator's --savable serialization, plus the harness's cycle
// count, counters and ready-pattern generator. Taken only between runs with nothing queued or
// pending on either side (the run loop's batch boundary); the waveform is not part of the state.
#include <cstring>
#include <stdexcept>
#include <string>

#include "Vpifs_port_top.h"
#include "Vpifs_switch_top.h"
#include "pifs-rtl/cpp/port_sim.h"
#include "pifs-rtl/cpp/switch_sim.h"
#include "pifs-rtl/src/lib.rs.h"
#include "verilated_save.h"

namespace pifs {

namespace {

// Tag at the front of a state blob: which harness wrote it (a port blob cannot be restored into a
// switch), and the layout version of the harness fields.
constexpr uint64_t kPortTag = 0x3174726f70736670ULL;    // "pfsport1"
constexpr uint64_t kSwitchTag = 0x3174697773736670ULL;  // "pfsswit1"

// Verilator's serializer writing into memory instead of a file.
class MemSave final : public VerilatedSerialize {
 public:
  MemSave() {
    m_isOpen = true;
    m_filename = "<memory>";
    header();
  }
  ~MemSave() override = default;
  void flush() override {
    out_.insert(out_.end(), m_bufp, m_cp);
    m_cp = m_bufp;
  }
  rust::Vec<uint8_t> finish() {
    trailer();
    flush();
    rust::Vec<uint8_t> v;
    v.reserve(out_.size());
    for (uint8_t b : out_) v.push_back(b);
    return v;
  }

 private:
  std::vector<uint8_t> out_;
};

// Verilator's deserializer reading from memory (the caller has checked the bytes' checksum:
// Verilator aborts the process on a malformed stream).
class MemRestore final : public VerilatedDeserialize {
 public:
  explicit MemRestore(rust::Slice<const uint8_t> bytes) : src_(bytes) {
    m_isOpen = true;
    m_filename = "<checkpoint>";
    m_endp = m_bufp;
    fill();
    header();
  }
  ~MemRestore() override = default;
  void done() { trailer(); }

 protected:
  void fill() override {
    // As VerilatedRestore::fill: keep the unread bytes, then top the buffer up from the source,
    // padding with zeros past the end.
    uint8_t* rp = m_bufp;
    for (uint8_t* sp = m_cp; sp < m_endp; *rp++ = *sp++) {
    }
    m_endp = m_bufp + (m_endp - m_cp);
    m_cp = m_bufp;
    while (m_endp < m_bufp + bufferSize()) {
      *m_endp++ = pos_ < src_.size() ? src_[pos_++] : 0;
    }
  }

 private:
  rust::Slice<const uint8_t> src_;
  size_t pos_ = 0;
};

void put(MemSave& os, uint64_t v) { os.write(&v, sizeof v); }
uint64_t get(MemRestore& is) {
  uint64_t v = 0;
  is.read(&v, sizeof v);
  return v;
}

}  // namespace

rust::Vec<uint8_t> PortSim::save_state() {
  if (!flits_.empty() || !cmds_.empty() || !results_.empty() || !monitor_.empty()) {
    throw std::runtime_error("port state: flits, commands or results still queued");
  }
  MemSave os;
  put(os, kPortTag);
  for (uint64_t v : {cycle_, flits_done_, crc_errors_, proto_errors_, ndr_, cmd_errors_,
                     tag_errors_, flit_stall_, res_stall_, lines_, rng_, cmds_taken_, cmd_stall_,
                     llr_discards_, static_cast<uint64_t>(res_ready_percent_), ctx_->time()}) {
    put(os, v);
  }
  os << *top_;
  return os.finish();
}

void PortSim::restore_state(rust::Slice<const uint8_t> bytes) {
  if (!flits_.empty() || !cmds_.empty()) {
    throw std::runtime_error("port state: restore into a port with queued input");
  }
  MemRestore is(bytes);
  if (get(is) != kPortTag) throw std::runtime_error("port state: not a port state blob");
  for (uint64_t* v : {&cycle_, &flits_done_, &crc_errors_, &proto_errors_, &ndr_, &cmd_errors_,
                      &tag_errors_, &flit_stall_, &res_stall_, &lines_, &rng_, &cmds_taken_,
                      &cmd_stall_, &llr_discards_}) {
    *v = get(is);
  }
  res_ready_percent_ = static_cast<uint32_t>(get(is));
  ctx_->time(get(is));
  is >> *top_;
  is.done();
  results_.clear();
  monitor_.clear();
}

rust::Vec<uint8_t> SwitchSim::save_state() {
  bool queued = !credits_.empty() || !up_.empty() || !reqs_.empty();
  for (const auto& q : flits_) queued |= !q.empty();
  for (const auto& q : cmds_) queued |= !q.empty();
  for (bool l : flit_loaded_) queued |= l;
  if (queued) throw std::runtime_error("switch state: flits, commands, credits or outputs queued");
  MemSave os;
  put(os, kSwitchTag);
  put(os, port_.size());
  for (const PortCount& p : port_) {
    for (uint64_t v : {p.flits, p.crc, p.proto, p.ndr, p.cmd_err, p.tag_err, p.flit_stall,
                       p.res_stall, p.lines, p.llr_discards}) {
      put(os, v);
    }
  }
  for (uint64_t v : {cycle_, cmd_errors_, up_lines_, up_stall_, up_wait_, mem_reqs_, mem_stall_,
                     rng_, cmds_taken_, cmd_stall_, static_cast<uint64_t>(up_ready_percent_),
                     static_cast<uint64_t>(memrd_ready_percent_), ctx_->time()}) {
    put(os, v);
  }
  os << *top_;
  return os.finish();
}

void SwitchSim::restore_state(rust::Slice<const uint8_t> bytes) {
  MemRestore is(bytes);
  if (get(is) != kSwitchTag) throw std::runtime_error("switch state: not a switch state blob");
  if (get(is) != port_.size()) throw std::runtime_error("switch state: different port count");
  for (PortCount& p : port_) {
    for (uint64_t* v : {&p.flits, &p.crc, &p.proto, &p.ndr, &p.cmd_err, &p.tag_err,
                        &p.flit_stall, &p.res_stall, &p.lines, &p.llr_discards}) {
      *v = get(is);
    }
  }
  for (uint64_t* v :
       {&cycle_, &cmd_errors_, &up_lines_, &up_stall_, &up_wait_, &mem_reqs_, &mem_stall_, &rng_,
        &cmds_taken_, &cmd_stall_}) {
    *v = get(is);
  }
  up_ready_percent_ = static_cast<uint32_t>(get(is));
  memrd_ready_percent_ = static_cast<uint32_t>(get(is));
  ctx_->time(get(is));
  is >> *top_;
  is.done();
  for (auto& q : flits_) q.clear();
  for (auto& q : cmds_) q.clear();
  credits_.clear();
  up_.clear();
  reqs_.clear();
}

}  // namespace pifs
