# Statistics (issue 5): the exit dumps of a C program, checked.
#
#   make stats-test   run ctests/stats_dump.c with KOS_SHIM_STATS=text:...,json:...
#                     and KOS_SHIM_NAMES=ctests/stats_names.txt; check the text
#                     table against ctests/stats_dump.text-patterns and the JSON
#                     with python3 -m json.tool and scripts/stats-check.py
#   make stats-wrap-test
#                     the unchanged ctests/interpose/echo_prog.c with
#                     KOS_SHIM_STATS=json:DIR/stats-%p.json, a bad word and an
#                     unwritable path, linked four ways: --wrap + wrap archive
#                     (x86-64, and aarch64 under qemu), host archive, LD_PRELOAD;
#                     every build must give ctests/interpose/expect-stats-wrap.txt
#                     (scripts/stats-wrap-test.sh); then KOS_SHIM_STATS_SIGNAL=1:
#                     ctests/interpose/stats_signal.c (wrap archive, x86-64 and
#                     aarch64) sees SIGUSR1 rewrite its dump while it runs; then
#                     KOS_SHIM_STATS_INTERVAL=0.05: ctests/interpose/stats_periodic.c
#                     (wrap archive, x86-64 and aarch64) leaves periodic dumps
#                     and the final one, checked by scripts/stats-check.py periodic
#   make tsan-stats   the Rust 8-thread exact-count test (tests/stats_exact.rs)
#                     under ThreadSanitizer (nightly -Zsanitizer=thread
#                     -Zbuild-std, target dir target/tsan); part of make test
#   make asan-stats   the same test under AddressSanitizer (leak checking on;
#                     target dir target/asan); part of make test
#                     Both fail with a message when the nightly toolchain or
#                     its rust-src is missing (scripts/setup.sh adds them).
#   make bench-stats  added ns per call at levels off, count, timing (release)
#   make demo-stats   the echo demo with KOS_SHIM_STATS=stderr and names

.PHONY: stats-test stats-wrap-test tsan-stats asan-stats bench-stats

STATS_BUILD := $(BUILD)/stats
TEST_TARGETS += stats-test stats-wrap-test tsan-stats asan-stats

$(addprefix $(BUILD)/ctests/,$(filter stats_%,$(CTEST_NAMES))) \
$(addprefix $(BUILD)/ctests-san/,$(filter stats_%,$(CTEST_NAMES))): ctests/policy_harness.h

stats-test: $(BUILD)/ctests/stats_dump
	@mkdir -p $(STATS_BUILD)
	@rm -f $(STATS_BUILD)/dump.txt $(STATS_BUILD)/dump.json
	KOS_SHIM_STATS=text:$(STATS_BUILD)/dump.txt,json:$(STATS_BUILD)/dump.json \
	KOS_SHIM_NAMES=ctests/stats_names.txt \
	    $(BUILD)/ctests/stats_dump > $(STATS_BUILD)/stdout.txt
	python3 -m json.tool $(STATS_BUILD)/dump.json > /dev/null
	python3 scripts/stats-check.py $(STATS_BUILD)/dump.txt ctests/stats_dump.text-patterns $(STATS_BUILD)/dump.json

# One implementation of KOS_SHIM_STATS in every build: the same report from
# each (the wrap archive is no_std with the C-library layer; the host archive
# and the preload library are std).
stats-wrap-test: $(SETUP_STAMP) $(IP_BUILD)/echo_wrap $(IP_BUILD)/echo_wrap_aarch64 $(IP_BUILD)/echo_host \
                 $(IP_BUILD)/echo_dyn $(PRELOAD_LIB) $(IP_BUILD)/stats_signal $(IP_BUILD)/stats_signal_aarch64 \
                 $(IP_BUILD)/stats_periodic $(IP_BUILD)/stats_periodic_aarch64
	@echo "== statistics: --wrap + wrap archive + stand-in (x86-64)"
	scripts/stats-wrap-test.sh $(STATS_BUILD)/wrap-$(HOST_TRIPLE) ctests/interpose/expect-stats-wrap.txt \
	    $(IP_BUILD)/echo_wrap
	@echo "== statistics: --wrap + wrap archive + stand-in (aarch64, under $(QEMU_AARCH64))"
	scripts/stats-wrap-test.sh $(STATS_BUILD)/wrap-$(CROSS_TRIPLE) ctests/interpose/expect-stats-wrap.txt \
	    $(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/echo_wrap_aarch64
	@echo "== statistics: host archive (emulator)"
	scripts/stats-wrap-test.sh $(STATS_BUILD)/host ctests/interpose/expect-stats-wrap.txt $(IP_BUILD)/echo_host
	@echo "== statistics: libkos_standin.so + LD_PRELOAD=libkos_ipc_shim_preload.so"
	scripts/stats-wrap-test.sh $(STATS_BUILD)/preload ctests/interpose/expect-stats-wrap.txt \
	    env LD_PRELOAD=$(abspath $(PRELOAD_LIB)) $(IP_BUILD)/echo_dyn
	@echo "== statistics: KOS_SHIM_STATS_SIGNAL=1, wrap archive (x86-64; aarch64 under $(QEMU_AARCH64))"
	$(call stats_signal_run,$(IP_BUILD)/stats_signal,$(STATS_BUILD)/signal-$(HOST_TRIPLE))
	$(call stats_signal_run,$(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/stats_signal_aarch64,$(STATS_BUILD)/signal-$(CROSS_TRIPLE))
	@echo "== statistics: KOS_SHIM_STATS_INTERVAL=0.05, wrap archive (x86-64; aarch64 under $(QEMU_AARCH64))"
	$(call stats_periodic_run,$(IP_BUILD)/stats_periodic,$(STATS_BUILD)/periodic-$(HOST_TRIPLE))
	$(call stats_periodic_run,$(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/stats_periodic_aarch64,$(STATS_BUILD)/periodic-$(CROSS_TRIPLE))

$(IP_BUILD)/stats_periodic: ctests/interpose/stats_periodic.c $(STANDIN) $(HEADERS) $(WRAP_LIB_HOST)
	$(CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $< $(STANDIN) $(WRAP_LIB_HOST) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/stats_periodic_aarch64: ctests/interpose/stats_periodic.c $(STANDIN) $(HEADERS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $< $(STANDIN) $(WRAP_LIB_CROSS) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/stats_signal: ctests/interpose/stats_signal.c $(STANDIN) $(HEADERS) $(WRAP_LIB_HOST)
	$(CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $< $(STANDIN) $(WRAP_LIB_HOST) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/stats_signal_aarch64: ctests/interpose/stats_signal.c $(STANDIN) $(HEADERS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $< $(STANDIN) $(WRAP_LIB_CROSS) $(WRAP_NATIVE_LIBS)

# $(call stats_signal_run,<command>,<dir>): the program's line must be
# ctests/interpose/expect-stats-signal.txt, nothing on stderr, and the dump
# left at exit must hold the 12 calls.
define stats_signal_run
	@rm -rf $(2) && mkdir -p $(2)
	@$(IP_ENV) -u KOS_SHIM_LOG -u KOS_SHIM_STATS_CAP KOS_SHIM_STATS=json:$(2)/signal-%p.json KOS_SHIM_STATS_SIGNAL=1 \
	    timeout 120 $(1) $(2) >$(2)/out.txt 2>$(2)/err.txt || \
	    { cat $(2)/out.txt $(2)/err.txt >&2; echo "FAIL stats-signal: $(1)" >&2; exit 1; }
	@diff -u ctests/interpose/expect-stats-signal.txt $(2)/out.txt && [ ! -s $(2)/err.txt ] && \
	    grep -q '"global":{"calls":12,' $(2)/signal-*.json || \
	    { cat $(2)/err.txt >&2; echo "FAIL stats-signal: $(1): see $(2)" >&2; exit 1; }
	@sed 's/^/  | /' $(2)/out.txt
endef

# $(call stats_periodic_run,<command>,<dir>): the program must see three
# periodic dumps and exit 0 with nothing on stderr; its JSON Lines and text
# logs are then checked (scripts/stats-check.py periodic).
define stats_periodic_run
	@rm -rf $(2) && mkdir -p $(2)
	@$(IP_ENV) -u KOS_SHIM_LOG -u KOS_SHIM_STATS_CAP -u KOS_SHIM_STATS_SIGNAL \
	    KOS_SHIM_STATS=json:$(2)/periodic-%p.jsonl,text:$(2)/periodic-%p.txt KOS_SHIM_STATS_INTERVAL=0.05 \
	    timeout 120 $(1) $(2) >$(2)/out.txt 2>$(2)/err.txt && [ ! -s $(2)/err.txt ] || \
	    { cat $(2)/out.txt $(2)/err.txt >&2; echo "FAIL stats-periodic: $(1)" >&2; exit 1; }
	@python3 scripts/stats-check.py periodic $(2)/out.txt $(2)/periodic-*.jsonl $(2)/periodic-*.txt
	@sed 's/^/  | /' $(2)/out.txt
endef

# $(call stats_san,<target name>,<sanitizer>,<runtime options variable>):
# tests/stats_exact.rs built with the nightly -Zsanitizer=<sanitizer>, the
# standard library instrumented too (-Zbuild-std), in its own target dir.
define stats_san
	@if ! rustup run nightly rustc --version >/dev/null 2>&1; then \
	    echo "$(1): FAILED: no nightly Rust toolchain; run scripts/setup.sh" >&2; exit 1; fi; \
	if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then \
	    echo "$(1): FAILED: the nightly toolchain has no rust-src (needed by -Zbuild-std); run scripts/setup.sh" >&2; exit 1; fi
	RUSTFLAGS="-Zsanitizer=$(2)" $(3) \
	    $(CARGO) +nightly test -Zbuild-std --target $(HOST_TRIPLE) --target-dir target/$(1:-stats=) \
	    --test stats_exact
endef

tsan-stats:
	$(call stats_san,tsan-stats,thread,TSAN_OPTIONS=halt_on_error=1)

asan-stats:
	$(call stats_san,asan-stats,address,ASAN_OPTIONS=detect_leaks=1:halt_on_error=1)

bench-stats:
	$(CARGO) bench --bench stats

# The echo demo with its statistics on stderr (the README shows this output).
.PHONY: demo-stats
demo-stats: $(SETUP_STAMP) $(BUILD)/examples/echo
	KOS_SHIM_STATS=stderr KOS_SHIM_NAMES=examples/echo.names $(BUILD)/examples/echo
