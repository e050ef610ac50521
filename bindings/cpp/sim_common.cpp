// Shared harness pieces (see sim_common.h).
#include "pifs-rtl/cpp/sim_common.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "pifs-rtl/src/lib.rs.h"

#if VM_COVERAGE
#include "verilated_cov.h"
#endif

// Verilator up to 5.04x ships gtkwave's fstapi (writer and reader; verilated_fst_c.cpp compiles
// it into the runtime). Later releases (the 5.048 PyPI wheel) write FST with their own writer and
// have no reader: there, VCD output and GTKWave save files are not available.
#if __has_include("gtkwave/fstapi.h")
#define PIFS_HAVE_FST_READER 1
#include "gtkwave/fstapi.h"
#else
#define PIFS_HAVE_FST_READER 0
#endif

namespace pifs {

std::unique_ptr<VerilatedContext> new_context(bool trace) {
  auto ctx = std::make_unique<VerilatedContext>();
  ctx->debug(0);
  ctx->randReset(0);
  ctx->fatalOnError(false);
  ctx->errorLimit(1 << 30);
  if (trace) ctx->traceEverOn(true);
  // Runtime plusargs for every context of the process, e.g. `+verilator+rand+reset+2
  // +verilator+seed+7` (random initial values; effective only in a model Verilated with
  // --x-initial unique, as make soak builds it). Parsed after the settings above, so they win.
  if (const char* env = std::getenv("PIFS_VERILATOR_ARGS"); env != nullptr && *env != '\0') {
    std::vector<std::string> args{"pifs"};
    std::istringstream in(env);
    for (std::string a; in >> a;) args.push_back(a);
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    ctx->commandArgs(static_cast<int>(argv.size()), argv.data());
  }
  return ctx;
}

void write_coverage(VerilatedContext& ctx, const char* model) {
#if VM_COVERAGE
  static std::atomic<unsigned> count{0};
  const char* dir = std::getenv("PIFS_COVERAGE_DIR");
  if (dir == nullptr || *dir == '\0') return;
  const std::string path = std::string(dir) + "/" + model + "-" + std::to_string(getpid()) + "-" +
                           std::to_string(count++) + ".dat";
  ctx.coveragep()->write(path.c_str());
#else
  (void)ctx;
  (void)model;
#endif
}

bool fst_reader_available() { return PIFS_HAVE_FST_READER != 0; }

#if PIFS_HAVE_FST_READER
namespace {
// An fstReader context closed on every path out.
struct Reader {
  explicit Reader(const std::string& path) : ctx(fstReaderOpen(path.c_str())) {
    if (ctx == nullptr) throw std::runtime_error("cannot read FST file " + path);
  }
  ~Reader() { fstReaderClose(ctx); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  void* ctx;
};
}  // namespace

void fst_to_vcd(rust::Str fst, rust::Str vcd) {
  Reader r{std::string(fst)};
  const std::string out(vcd);
  FILE* fv = std::fopen(out.c_str(), "w");
  if (fv == nullptr) throw std::runtime_error("cannot write VCD file " + out);
  fstReaderProcessHier(r.ctx, fv);
  fstReaderSetFacProcessMaskAll(r.ctx);
  const int ok = fstReaderIterBlocks(r.ctx, nullptr, nullptr, fv);
  const bool closed = std::fclose(fv) == 0;
  if (!ok || !closed) throw std::runtime_error("cannot convert " + std::string(fst) + " to VCD");
}

rust::Vec<WaveVar> fst_vars(rust::Str fst) {
  Reader r{std::string(fst)};
  rust::Vec<WaveVar> vars;
  std::vector<std::string> scope;
  while (const fstHier* h = fstReaderIterateHier(r.ctx)) {
    switch (h->htyp) {
      case FST_HT_SCOPE:
        scope.emplace_back(h->u.scope.name);
        break;
      case FST_HT_UPSCOPE:
        if (!scope.empty()) scope.pop_back();
        break;
      case FST_HT_VAR: {
        std::string path;
        for (const std::string& s : scope) path += (path.empty() ? "" : ".") + s;
        vars.push_back(WaveVar{rust::String(path), rust::String(h->u.var.name), h->u.var.length,
                               h->u.var.typ == FST_VT_VCD_PARAMETER,
                               h->u.var.direction == FST_VD_INPUT ||
                                   h->u.var.direction == FST_VD_OUTPUT ||
                                   h->u.var.direction == FST_VD_INOUT});
        break;
      }
      default:
        break;
    }
  }
  return vars;
}
#else
namespace {
[[noreturn]] void no_reader() {
  throw std::runtime_error(std::string("this Verilator runtime (") + Verilated::productVersion() +
                           ") has no FST reader: VCD output and GTKWave save files need "
                           "Verilator 5.006 to 5.04x (Debian's package)");
}
}  // namespace

void fst_to_vcd(rust::Str, rust::Str) { no_reader(); }
rust::Vec<WaveVar> fst_vars(rust::Str) { no_reader(); }
#endif

}  // namespace pifs
