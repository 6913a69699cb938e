# kos-ipc-shim: build, test and demo entry points (GNU make). See README.md.
#
#   make / make all   release staticlib target/release/libkos_ipc_shim.a and
#                     the header include/kos_ipc_shim.h
#   make header       regenerate include/kos_ipc_shim.h (commit it); make
#                     header-check compares it (part of lint)
#   make test         everything: lint, cargo test, C tests, sanitizer C tests,
#                     then $(TEST_TARGETS) from mk/*.mk
#   make demo         one release build (library and kos-ipc-trace), then the
#                     examples in examples/: each one's own output, then its
#                     trace summary and statistics table
#   make setup        install what `make test` needs (scripts/setup.sh test)
#   make clean
#
# Other parts of the project put their targets in mk/<area>.mk and add their
# test target with `TEST_TARGETS += <target>`.

SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

CARGO ?= cargo
ifeq ($(origin CC),default)
CC := gcc
endif
ifeq ($(origin CXX),default)
CXX := g++
endif

BUILD := build
# `make test` and the areas' tests need the full set (scripts/setup.sh test),
# `make demo` only a C compiler (scripts/setup.sh demo).
SETUP_STAMP := $(BUILD)/.setup-done
DEMO_SETUP_STAMP := $(BUILD)/.setup-demo-done
LIB_RELEASE := target/release/libkos_ipc_shim.a
LIB_DEBUG := target/debug/libkos_ipc_shim.a
# What the staticlib needs from the system, from
# `cargo rustc --release --lib --crate-type staticlib -- --print native-static-libs`.
NATIVE_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# A C program written for the SDK needs only this include path (the KCE headers).
SHIM_CPPFLAGS := -Iinclude/kos
HEADERS := include/kos_ipc_shim.h $(shell find include/kos -name '*.h' 2>/dev/null)

CTEST_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Werror -g -pthread
CTEST_CXXFLAGS := -std=c++17 -Wall -Wextra -Wpedantic -Werror -g -pthread
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The sanitizer runtimes that ship with the nightly toolchain (LLVM's).
NIGHTLY_RT_DIR = $(shell rustc +nightly --print sysroot 2>/dev/null)/lib/rustlib/$(HOST_TRIPLE)/lib
# ctests-san: gcc instruments the C side (SAN_FLAGS) but the tests are linked
# with the nightly's AddressSanitizer runtime, which has UBSan's handlers
# too, instead of gcc 12's libasan. gcc's runtime has no fork handlers: a
# child forked while another thread was refilling its allocator cache finds
# that size class's lock held for good and hangs on its next allocation of
# that size (ctests/fork: about 1 run in 10 here). LLVM's runtime takes its
# allocator's locks around fork(). Both speak the same instrumentation
# interface (__asan_version_mismatch_check_v8); one process, one runtime.
ASAN_RT = $(NIGHTLY_RT_DIR)/librustc-nightly_rt.asan.a
SAN_LDLIBS = -Wl,--whole-archive $(ASAN_RT) -Wl,--no-whole-archive -lstdc++ $(NATIVE_LIBS)

CTEST_NAMES := $(sort $(basename $(notdir $(wildcard ctests/*.c ctests/*.cpp))))
# Headers the C tests share (check.h, echo_harness.h, policy_harness.h, ...)
# and the generated-style interface headers under ctests/nkgen.
CTEST_HELPERS := $(wildcard ctests/*.h) $(shell find ctests/nkgen -name '*.h' 2>/dev/null)
CTEST_BINS := $(addprefix $(BUILD)/ctests/,$(CTEST_NAMES))
CTEST_SAN_BINS := $(addprefix $(BUILD)/ctests-san/,$(CTEST_NAMES))

EXAMPLE_NAMES := $(basename $(notdir $(wildcard examples/*.c)))
EXAMPLE_BINS := $(addprefix $(BUILD)/examples/,$(EXAMPLE_NAMES))

TEST_TARGETS :=
-include mk/*.mk

.PHONY: all header header-check lib lib-debug test lint linkline-check cargo-test ctests ctests-san demo setup clean FORCE

all: lib header

lib: $(LIB_RELEASE)

lib-debug: $(LIB_DEBUG)

# Cargo decides whether anything changed; the archive's time stamp only moves
# when it did, so C programs relink only then.
$(LIB_RELEASE): FORCE
	$(CARGO) build --release --lib

$(LIB_DEBUG): FORCE
	$(CARGO) build --lib

# cbindgen runs only here, from a package of its own (tools/header-gen),
# never in an ordinary build. header-check (in lint) fails when the
# committed header differs from cbindgen's output.
HEADER_GEN = $(CARGO) run --quiet --locked --manifest-path tools/header-gen/Cargo.toml \
	--target-dir target/header-gen --
header:
	$(HEADER_GEN) write

header-check:
	$(HEADER_GEN) check

setup:
	bash scripts/setup.sh test
	@mkdir -p $(BUILD) && touch $(SETUP_STAMP) $(DEMO_SETUP_STAMP)

# Runs the setup once on a fresh machine (again when the script changes).
$(SETUP_STAMP): scripts/setup.sh
	bash scripts/setup.sh test
	@mkdir -p $(BUILD) && touch $@ $(DEMO_SETUP_STAMP)

$(DEMO_SETUP_STAMP): scripts/setup.sh
	bash scripts/setup.sh demo
	@mkdir -p $(BUILD) && touch $@

# The steps run in this order; a sub-make each so that -j cannot reorder them.
test: $(SETUP_STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory linkline-check
	$(MAKE) --no-print-directory cargo-test
	$(MAKE) --no-print-directory ctests
	$(MAKE) --no-print-directory ctests-san
	$(if $(strip $(TEST_TARGETS)),$(MAKE) --no-print-directory $(TEST_TARGETS))
	@echo "make test: all steps passed"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(MAKE) --no-print-directory header-check
	python3 scripts/import-cycles.py src

# README's link line and rustc's own list agree with NATIVE_LIBS.
linkline-check:
	@scripts/linkline-check.sh "$(NATIVE_LIBS)"

# Includes the check that include/kos_ipc_shim.h equals the generated header.
# Built first, then run under a time limit: the emulator tests block on
# other threads, and a lost wake-up must fail the run, not hang it.
CARGO_TEST_TIMEOUT ?= 900
cargo-test:
	$(CARGO) test --no-run
	@timeout --kill-after=10 $(CARGO_TEST_TIMEOUT) $(CARGO) test || { rc=$$?; \
	    [ $$rc -ne 124 ] || echo "cargo-test: FAIL: no result after $(CARGO_TEST_TIMEOUT) s: a test hangs" >&2; \
	    exit $$rc; }

# Runs every test binary of $(1) with scripts/run-ctest.sh, logs in $(2).
define run_ctests
	@pass=0; failed=(); \
	for t in $(CTEST_NAMES); do \
	    if $(3) scripts/run-ctest.sh $$t $(1)/$$t $(2); then pass=$$((pass+1)); else failed+=($$t); fi; \
	done; \
	echo "$@: $$pass of $(words $(CTEST_NAMES)) passed$${failed:+, failed: $${failed[*]}}"; \
	[ $${#failed[@]} -eq 0 ]
endef

ctests: $(CTEST_BINS)
	$(call run_ctests,$(BUILD)/ctests,$(BUILD)/ctests/logs,)

ctests-san: san-canary $(CTEST_SAN_BINS)
	$(call run_ctests,$(BUILD)/ctests-san,$(BUILD)/ctests-san/logs,$(SAN_ENV))

# The runtime must exist (setup installs the nightly toolchain) and must
# report each of the canary's faults before the tests' silence means
# anything.
.PHONY: san-canary asan-rt
asan-rt:
	@[ -f "$(ASAN_RT)" ] || { echo "ctests-san: FAILED: no AddressSanitizer runtime at '$(ASAN_RT)' (the nightly toolchain's); run scripts/setup.sh" >&2; exit 1; }

san-canary: $(BUILD)/ctests-san/asan_canary
	@for f in heap:AddressSanitizer:.heap-buffer-overflow int:'runtime error: signed integer overflow' leak:'LeakSanitizer: detected memory leaks'; do \
	    arg=$${f%%:*}; want=$${f#*:}; rc=0; \
	    $(SAN_ENV) $< $$arg >$(BUILD)/ctests-san/canary-$$arg.out 2>&1 || rc=$$?; \
	    if [ $$rc -eq 0 ] || ! grep -q "$$want" $(BUILD)/ctests-san/canary-$$arg.out; then \
	        echo "ctests-san: FAILED: the canary's $$arg fault was not reported (exit $$rc): the runtime does not watch" >&2; \
	        tail -n 20 $(BUILD)/ctests-san/canary-$$arg.out >&2; exit 1; fi; \
	done; echo "ctests-san: the runtime reports the canary's heap overflow, integer overflow and leak"

$(BUILD)/ctests $(BUILD)/ctests-san $(BUILD)/examples:
	@mkdir -p $@

$(BUILD)/ctests/%: ctests/%.c $(CTEST_HELPERS) $(HEADERS) $(LIB_RELEASE) | $(BUILD)/ctests
	$(CC) $(CTEST_CFLAGS) $(SHIM_CPPFLAGS) -o $@ $< $(LIB_RELEASE) $(NATIVE_LIBS)

$(BUILD)/ctests/%: ctests/%.cpp $(HEADERS) $(LIB_RELEASE) | $(BUILD)/ctests
	$(CXX) $(CTEST_CXXFLAGS) $(SHIM_CPPFLAGS) -o $@ $< $(LIB_RELEASE) $(NATIVE_LIBS)

# Sanitizer variant: the debug staticlib (no LTO), instrumented C side,
# the nightly's runtime (see ASAN_RT).
$(BUILD)/ctests-san/%.o: ctests/%.c $(CTEST_HELPERS) $(HEADERS) | $(BUILD)/ctests-san
	$(CC) $(CTEST_CFLAGS) $(SAN_FLAGS) $(SHIM_CPPFLAGS) -c -o $@ $<

$(BUILD)/ctests-san/%.o: ctests/%.cpp $(HEADERS) | $(BUILD)/ctests-san
	$(CXX) $(CTEST_CXXFLAGS) $(SAN_FLAGS) $(SHIM_CPPFLAGS) -c -o $@ $<

$(BUILD)/ctests-san/%: $(BUILD)/ctests-san/%.o $(LIB_DEBUG) | asan-rt
	$(CXX) -g -pthread -o $@ $< $(LIB_DEBUG) $(SAN_LDLIBS)

$(BUILD)/ctests-san/asan_canary.o: ctests/asan/canary.c | $(BUILD)/ctests-san
	$(CC) $(CTEST_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/ctests-san/asan_canary: $(BUILD)/ctests-san/asan_canary.o | asan-rt
	$(CXX) -g -pthread -o $@ $< $(SAN_LDLIBS)

# The intermediate objects are kept: relinking alone follows an archive change.
.SECONDARY: $(CTEST_SAN_BINS:=.o) $(BUILD)/ctests-san/asan_canary.o

$(BUILD)/examples/%: examples/%.c $(HEADERS) $(LIB_RELEASE) | $(BUILD)/examples
	$(CC) $(CTEST_CFLAGS) $(SHIM_CPPFLAGS) -o $@ $< $(LIB_RELEASE) $(NATIVE_LIBS)

# One cargo invocation builds the release archive and the release
# kos-ipc-trace; the examples then link against that archive (the sub-make's
# cargo call for $(LIB_RELEASE) finds nothing to do). Each example runs traced
# (.kst) and counted (text dump), names from examples/<name>.names when there
# is one; its own output comes first, then the trace summary and statistics.
DEMO_DIR := $(BUILD)/demo
DEMO_TOOL := target/release/kos-ipc-trace
demo: $(DEMO_SETUP_STAMP)
	$(CARGO) build --release --lib --bin kos-ipc-trace
	@$(MAKE) --no-print-directory $(EXAMPLE_BINS)
	@mkdir -p $(DEMO_DIR)
	@for e in $(EXAMPLE_NAMES); do \
	    names=; [ -f examples/$$e.names ] && names=examples/$$e.names; \
	    rm -f $(DEMO_DIR)/$$e.kst $(DEMO_DIR)/$$e.stats.txt; \
	    echo "== examples/$$e.c (KOS_SHIM_TRACE=file:$(DEMO_DIR)/$$e.kst KOS_SHIM_STATS=text:$(DEMO_DIR)/$$e.stats.txt$${names:+ KOS_SHIM_NAMES=$$names})"; \
	    env KOS_SHIM_TRACE=file:$(DEMO_DIR)/$$e.kst KOS_SHIM_STATS=text:$(DEMO_DIR)/$$e.stats.txt \
	        $${names:+KOS_SHIM_NAMES=$$names} $(BUILD)/examples/$$e || exit 1; \
	    echo; echo "== kos-ipc-trace summary $(DEMO_DIR)/$$e.kst"; \
	    $(DEMO_TOOL) summary $(DEMO_DIR)/$$e.kst || exit 1; \
	    echo; echo "== statistics at exit ($(DEMO_DIR)/$$e.stats.txt)"; \
	    cat $(DEMO_DIR)/$$e.stats.txt || exit 1; \
	done

clean:
	rm -rf $(BUILD)
	$(CARGO) clean
