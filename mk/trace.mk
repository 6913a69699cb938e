# Tracing (issue 6): the kos-ipc-trace tool, the end-to-end trace test, the
# ring's model test and the traced demo. See docs/tracing.md.
#
#   make trace-tool   target/debug/kos-ipc-trace
#   make trace-test   ctests/trace_echo traced to .kst, JSON and CTF, read back
#                     by kos-ipc-trace, python3 and babeltrace2; ctests/trace_threads
#                     (named threads, time order) likewise (scripts/trace-test.sh)
#   make test-loom    loom explores every interleaving of the trace ring
#                     (2 producers, 1 consumer); own target dir (--cfg loom)
#   make trace-demo   the echo example traced to a .kst, then `kos-ipc-trace summary`
#                     (`make demo` does the same with the release build)
#   make trace-bench  ns a traced call costs (benches/trace_overhead.rs; a
#                     benchmark, not part of `make test`)
#   make trace-wrap-test        the unchanged ctests/interpose/echo_prog.c, --wrap
#                     + wrap archive (no_std + C library) + stand-in libkos, traced by
#                     KOS_SHIM_TRACE to .kst, CTF and JSON; lost records, a bogus spec
#                     and unwritable paths (scripts/trace-wrap-test.sh,
#                     ctests/interpose/expect-trace-wrap.txt)
#   make trace-wrap-cross-test  the same for aarch64, under qemu-aarch64
#   make trace-preload-test     the same with the LD_PRELOAD library (echo_prog
#                     dynamically linked against libkos_standin.so)
#   make payload-decode-test    ctests/payload_decode (messages of rt.Probe built in
#                     the IDL layout) read back from .kst and CTF, decoded by the
#                     descriptions (scripts/payload-decode-test.sh)

TRACE_TOOL := target/debug/kos-ipc-trace
TRACE_DEMO_DIR := $(BUILD)/trace-demo

TRACE_WRAP_DIR := $(BUILD)/trace-wrap

.PHONY: trace-tool trace-test test-loom trace-demo trace-bench trace-wrap-test trace-wrap-cross-test \
        trace-preload-test payload-decode-test

TEST_TARGETS += trace-test test-loom trace-wrap-test trace-wrap-cross-test trace-preload-test \
        payload-decode-test

trace-tool:
	$(CARGO) build --bin kos-ipc-trace

trace-test: $(SETUP_STAMP) trace-tool $(BUILD)/ctests/trace_echo $(BUILD)/examples/echo $(BUILD)/ctests/trace_threads
	bash scripts/trace-test.sh $(TRACE_TOOL) $(BUILD)/ctests/trace_echo $(BUILD)/trace $(BUILD)/examples/echo \
	    $(BUILD)/ctests/trace_threads

payload-decode-test: $(SETUP_STAMP) trace-tool $(BUILD)/ctests/payload_decode
	bash scripts/payload-decode-test.sh $(TRACE_TOOL) $(BUILD)/ctests/payload_decode $(BUILD)/payload-test

# $(IP_BUILD)/echo_wrap and echo_wrap_aarch64 are made by mk/interpose.mk.
trace-wrap-test: $(SETUP_STAMP) trace-tool $(IP_BUILD)/echo_wrap
	bash scripts/trace-wrap-test.sh $(TRACE_TOOL) $(TRACE_WRAP_DIR)/$(HOST_TRIPLE) \
	    ctests/interpose/expect-trace-wrap.txt $(IP_BUILD)/echo_wrap

trace-wrap-cross-test: $(SETUP_STAMP) trace-tool $(IP_BUILD)/echo_wrap_aarch64
	bash scripts/trace-wrap-test.sh $(TRACE_TOOL) $(TRACE_WRAP_DIR)/$(CROSS_TRIPLE) \
	    ctests/interpose/expect-trace-wrap.txt $(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/echo_wrap_aarch64

trace-preload-test: $(SETUP_STAMP) trace-tool $(IP_BUILD)/echo_dyn $(PRELOAD_LIB)
	bash scripts/trace-wrap-test.sh $(TRACE_TOOL) $(TRACE_WRAP_DIR)/preload \
	    ctests/interpose/expect-trace-wrap.txt env LD_PRELOAD=$(abspath $(PRELOAD_LIB)) $(IP_BUILD)/echo_dyn

test-loom:
	RUSTFLAGS="--cfg loom" $(CARGO) test --lib --target-dir target/loom -- trace::ring::loom_tests

trace-demo: $(SETUP_STAMP) trace-tool $(BUILD)/examples/echo
	@mkdir -p $(TRACE_DEMO_DIR)
	@KOS_SHIM_TRACE=file:$(TRACE_DEMO_DIR)/echo.kst KOS_SHIM_NAMES=examples/echo.names \
	    $(BUILD)/examples/echo >$(TRACE_DEMO_DIR)/echo.out
	@echo "== kos-ipc-trace summary $(TRACE_DEMO_DIR)/echo.kst (KOS_SHIM_TRACE=file:..., KOS_SHIM_NAMES=examples/echo.names)"
	@$(TRACE_TOOL) summary $(TRACE_DEMO_DIR)/echo.kst


trace-bench:
	$(CARGO) bench --bench trace_overhead
