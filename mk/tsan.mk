# ThreadSanitizer over the C tests (issue 18).
#
#   make ctests-tsan   every C test in ctests/ (the stress tests among them)
#                      under ThreadSanitizer, against an instrumented archive:
#                      the library built with nightly -Zsanitizer=thread and
#                      its standard library instrumented too (-Zbuild-std),
#                      in target/tsan-lib; part of make test.
#
# The C side is compiled by gcc with -fsanitize=thread, but linked with the
# ThreadSanitizer runtime that ships with the nightly toolchain instead of
# gcc's libtsan: the Rust code's instrumentation (LLVM) calls entry points
# that gcc 12's older runtime does not have (__tsan_memcpy, ...), and one
# process must have exactly one runtime. Both compilers' instrumentation
# speak compiler-rt's interface, so the one runtime sees every access.
# halt_on_error=1: the first race report fails the test (exit code 66).

TSAN_LIB_DIR := target/tsan-lib
TSAN_LIB = $(TSAN_LIB_DIR)/$(HOST_TRIPLE)/debug/libkos_ipc_shim.a
TSAN_RT = $(NIGHTLY_RT_DIR)/librustc-nightly_rt.tsan.a
TSAN_CFLAGS := -fsanitize=thread -fno-omit-frame-pointer
TSAN_LDLIBS = -Wl,--whole-archive $(TSAN_RT) -Wl,--no-whole-archive -lstdc++ $(NATIVE_LIBS)
# die_after_fork=0: ctests/fork.c's children start threads (the trace
# drainer) after a fork of a threaded parent, which ThreadSanitizer refuses
# by default; it then keeps checking the child as any process.
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0
CTEST_TSAN_BINS := $(addprefix $(BUILD)/ctests-tsan/,$(CTEST_NAMES))

TEST_TARGETS += ctests-tsan
.PHONY: ctests-tsan tsan-lib

ctests-tsan: $(CTEST_TSAN_BINS)
	$(call run_ctests,$(BUILD)/ctests-tsan,$(BUILD)/ctests-tsan/logs,$(TSAN_ENV))

# Cargo decides whether anything changed (as for the other archives).
$(TSAN_LIB): FORCE
	@if ! rustup run nightly rustc --version >/dev/null 2>&1; then \
	    echo "ctests-tsan: FAILED: no nightly Rust toolchain; run scripts/setup.sh" >&2; exit 1; fi; \
	if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then \
	    echo "ctests-tsan: FAILED: the nightly toolchain has no rust-src (needed by -Zbuild-std); run scripts/setup.sh" >&2; exit 1; fi
	RUSTFLAGS="-Zsanitizer=thread" $(CARGO) +nightly rustc -Zbuild-std --target $(HOST_TRIPLE) \
	    --target-dir $(TSAN_LIB_DIR) --lib --crate-type staticlib --no-default-features --features host

tsan-lib: $(TSAN_LIB)

$(BUILD)/ctests-tsan:
	@mkdir -p $@

$(BUILD)/ctests-tsan/%.o: ctests/%.c $(CTEST_HELPERS) $(HEADERS) | $(BUILD)/ctests-tsan
	$(CC) $(CTEST_CFLAGS) $(TSAN_CFLAGS) $(SHIM_CPPFLAGS) -c -o $@ $<

$(BUILD)/ctests-tsan/%.o: ctests/%.cpp $(HEADERS) | $(BUILD)/ctests-tsan
	$(CXX) $(CTEST_CXXFLAGS) $(TSAN_CFLAGS) $(SHIM_CPPFLAGS) -c -o $@ $<

$(BUILD)/ctests-tsan/%: $(BUILD)/ctests-tsan/%.o $(TSAN_LIB)
	$(CXX) -g -pthread -o $@ $< $(TSAN_LIB) $(TSAN_LDLIBS)

# The intermediate objects are kept: relinking alone follows an archive change.
.SECONDARY: $(CTEST_TSAN_BINS:=.o) $(BUILD)/ctests-tsan/race_canary.o

# Proof that the runtime watches: the canary's race must be reported (exit
# code 66 with halt_on_error), and the archive's Rust code must call the
# runtime (undefined __tsan_* symbols); checked before the tests run.
ctests-tsan: tsan-canary
.PHONY: tsan-canary
tsan-canary: $(BUILD)/ctests-tsan/race_canary $(TSAN_LIB)
	@n=$$(nm $(TSAN_LIB) 2>/dev/null | grep -c ' U __tsan_\(read\|write\|func_entry\)'); \
	if [ "$$n" -eq 0 ]; then echo "ctests-tsan: FAILED: $(TSAN_LIB) is not instrumented (no __tsan_ calls)" >&2; exit 1; fi; \
	rc=0; $(TSAN_ENV) $< >$(BUILD)/ctests-tsan/race_canary.out 2>&1 || rc=$$?; \
	if [ $$rc -ne 66 ] || ! grep -q 'WARNING: ThreadSanitizer: data race' $(BUILD)/ctests-tsan/race_canary.out; then \
	    echo "ctests-tsan: FAILED: the race canary was not reported (exit $$rc): the runtime does not watch" >&2; \
	    tail -n 20 $(BUILD)/ctests-tsan/race_canary.out >&2; exit 1; fi; \
	echo "ctests-tsan: runtime reports the canary's race; archive has $$n instrumented call sites"

$(BUILD)/ctests-tsan/race_canary.o: ctests/tsan/race_canary.c | $(BUILD)/ctests-tsan
	$(CC) $(CTEST_CFLAGS) $(TSAN_CFLAGS) -c -o $@ $<
