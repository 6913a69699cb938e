# Performance (issue 7): what the shim adds to a system call, and the host
# emulator's round trip beside OS baselines, measured in one run.
# See docs/performance.md.
#
#   make bench        release builds, then bench/run.py: the table of ns per
#                     Call by configuration, the round-trip table, the targets'
#                     verdicts; writes target/bench/results.json; then the
#                     instructions per Call (make bench-instructions). Not part of
#                     `make test` (it takes minutes and its figures depend on
#                     the machine's load). BENCH_RUNS (default 15) processes per
#                     configuration, BENCH_CALLS (default 1000000) calls each.
#   make bench-instructions
#                     instructions per Call for each configuration, counted by
#                     valgrind's callgrind (independent of the machine's load);
#                     writes target/bench/instructions.json.
#   make bench-micro  the criterion micro-benchmarks in benches/micro.rs
#                     (policy decision, statistics record, trace ring push).
#   make bench-smoke  the same harness with a few iterations: checks that it
#                     builds, that every configuration's calls went through the
#                     layers it claims, and that the JSON is valid. In TEST_TARGETS.
#
# The programs reuse mk/interpose.mk's pieces: $(STANDIN) (the C stand-in
# kernel, whose loopback channels answer a Call in the calling thread),
# $(WRAP_FLAGS), $(WRAP_CARGO) and its cargo_copy rule. The shim archive is
# the wrap archive built with `std` as well, so that KOS_SHIM_* variables
# configure it (the no_std archive of `make wrap` has no environment).

.PHONY: bench bench-build bench-micro bench-smoke bench-instructions

BENCH_BUILD := $(BUILD)/bench
BENCH_OUT := target/bench
BENCH_WRAP_LIB := $(BENCH_BUILD)/libkos_ipc_shim_wrap_std.a
# Recursive (=): mk/interpose.mk, which defines IP_CFLAGS, is read after this file.
BENCH_CFLAGS = $(IP_CFLAGS) -O2
BENCH_RUNS ?= 15
BENCH_CALLS ?= 1000000
BENCH_SAMPLES ?= 50000
BENCH_MS ?= 300

TEST_TARGETS += bench-smoke

$(BENCH_WRAP_LIB): FORCE
	$(call cargo_copy,$(WRAP_CARGO) --features wrap$(COMMA)std,$(HOST_TRIPLE),target/$(HOST_TRIPLE)/release/libkos_ipc_shim.a,env -u KOS_SDK_SYSROOT,$(WRAP_RUSTC_ARGS))

# The baseline: the program calls the stand-in's Call directly, no shim.
$(BENCH_BUILD)/call_loop_direct: bench/call_loop.c $(STANDIN) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/call_loop.c $(STANDIN) -lpthread

# The same source through the shim: --wrap, the bench wrap archive, the stand-in below.
$(BENCH_BUILD)/call_loop_shim: bench/call_loop.c $(STANDIN) $(HEADERS) $(BENCH_WRAP_LIB)
	$(CC) $(BENCH_CFLAGS) -DBENCH_SHIM $(WRAP_FLAGS) -o $@ bench/call_loop.c $(STANDIN) $(BENCH_WRAP_LIB) $(NATIVE_LIBS)

# The first policy report of a process against the later ones (issue 16):
# linked as call_loop_shim.
$(BENCH_BUILD)/first_report: bench/first_report.c $(STANDIN) $(HEADERS) $(BENCH_WRAP_LIB)
	$(CC) $(BENCH_CFLAGS) $(WRAP_FLAGS) -o $@ bench/first_report.c $(STANDIN) $(BENCH_WRAP_LIB) $(NATIVE_LIBS)

# The host emulator (host archive) and the OS baselines in one program.
$(BENCH_BUILD)/roundtrip: bench/roundtrip.c $(HEADERS) $(LIB_RELEASE)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/roundtrip.c $(LIB_RELEASE) $(NATIVE_LIBS)

# Round trips between two processes: the emulator's shared-memory world
# beside a shared futex, a unix socket and pipes.
$(BENCH_BUILD)/xproc: bench/xproc.c $(HEADERS) $(LIB_RELEASE)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/xproc.c $(LIB_RELEASE) $(NATIVE_LIBS)

# What the machine charges for a clock read, a locked add, a plain increment.
$(BENCH_BUILD)/primitives: bench/primitives.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

BENCH_PROGS := $(BENCH_BUILD)/call_loop_direct $(BENCH_BUILD)/call_loop_shim $(BENCH_BUILD)/roundtrip $(BENCH_BUILD)/xproc \
               $(BENCH_BUILD)/primitives $(BENCH_BUILD)/first_report

bench-build: $(BENCH_PROGS)

bench: $(SETUP_STAMP) bench-build
	python3 bench/run.py --build $(BENCH_BUILD) --out $(BENCH_OUT)/results.json \
	    --runs $(BENCH_RUNS) --calls $(BENCH_CALLS) --samples $(BENCH_SAMPLES) --ms $(BENCH_MS)
	python3 bench/instructions.py --build $(BENCH_BUILD) --out $(BENCH_OUT)/instructions.json

bench-smoke: $(SETUP_STAMP) bench-build
	python3 bench/run.py --smoke --build $(BENCH_BUILD) --out $(BENCH_OUT)/smoke.json \
	    --runs 1 --calls 20000 --samples 500 --ms 20

bench-instructions: $(SETUP_STAMP) bench-build
	python3 bench/instructions.py --build $(BENCH_BUILD) --out $(BENCH_OUT)/instructions.json

bench-micro:
	$(CARGO) bench --bench micro
