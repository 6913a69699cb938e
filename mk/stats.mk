# Statistics (issue 5): the exit dumps of a C program, checked.
#
#   make stats-test   run ctests/stats_dump.c with KOS_SHIM_STATS=text:...,json:...
#                     and KOS_SHIM_NAMES=ctests/stats_names.txt; check the text
#                     table against ctests/stats_dump.text-patterns and the JSON
#                     with python3 -m json.tool and scripts/stats-check.py
#   make tsan-stats   the Rust 8-thread exact-count test under ThreadSanitizer
#                     (nightly -Zsanitizer=thread; skipped with a message
#                     when the nightly toolchain or its rust-src is missing)
#   make bench-stats  added ns per call at levels off, count, timing (release)
#   make demo-stats   the echo demo with KOS_SHIM_STATS=stderr and names

.PHONY: stats-test tsan-stats bench-stats

STATS_BUILD := $(BUILD)/stats
TEST_TARGETS += stats-test

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

tsan-stats:
	@if ! rustup run nightly rustc --version >/dev/null 2>&1; then \
	    echo "tsan-stats: skipped: no nightly toolchain"; exit 0; fi; \
	if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q rust-src; then \
	    echo "tsan-stats: skipped: nightly has no rust-src (rustup component add rust-src --toolchain nightly)"; exit 0; fi; \
	RUSTFLAGS="-Zsanitizer=thread" TSAN_OPTIONS=halt_on_error=1 \
	    $(CARGO) +nightly test -Zbuild-std --target $(HOST_TRIPLE) --target-dir target/tsan \
	    --test stats_exact

bench-stats:
	$(CARGO) bench --bench stats

# The echo demo with its statistics on stderr (the README shows this output).
.PHONY: demo-stats
demo-stats: $(SETUP_STAMP) $(BUILD)/examples/echo
	KOS_SHIM_STATS=stderr KOS_SHIM_NAMES=examples/echo.names $(BUILD)/examples/echo
