# Policy (issue 4): C tests share ctests/policy_harness.h; fuzzing the parser.
#
#   make fuzz-policy   run the cargo-fuzz targets in fuzz/ for FUZZ_SECONDS
#                      each (default 60) with 0 crashes allowed; skipped with a
#                      message when cargo-fuzz or the nightly toolchain is
#                      missing. Not part of `make test` (two minutes of CPU on
#                      a shared machine); CI runs it as a separate step.

POLICY_CTESTS := $(filter policy_%,$(CTEST_NAMES))
$(addprefix $(BUILD)/ctests/,$(POLICY_CTESTS)) $(addprefix $(BUILD)/ctests-san/,$(POLICY_CTESTS)): ctests/policy_harness.h

FUZZ_SECONDS ?= 60
POLICY_FUZZ_TARGETS := policy_parse msg_validate

.PHONY: fuzz-policy
fuzz-policy:
	@if ! command -v cargo-fuzz >/dev/null 2>&1 && ! $(CARGO) fuzz --help >/dev/null 2>&1; then \
	    echo "fuzz-policy: skipped: cargo-fuzz is not installed (cargo install cargo-fuzz)"; exit 0; fi; \
	if ! rustup run nightly rustc --version >/dev/null 2>&1; then \
	    echo "fuzz-policy: skipped: no nightly toolchain"; exit 0; fi; \
	for t in $(POLICY_FUZZ_TARGETS); do \
	    echo "fuzz-policy: $$t for $(FUZZ_SECONDS) s"; \
	    mkdir -p fuzz/corpus/$$t.run && cp -n fuzz/corpus/$$t/* fuzz/corpus/$$t.run/ 2>/dev/null; \
	    (cd fuzz && $(CARGO) +nightly fuzz run $$t corpus/$$t.run -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	done; \
	echo "fuzz-policy: $(words $(POLICY_FUZZ_TARGETS)) targets ran $(FUZZ_SECONDS) s each, 0 crashes"

# Decision cost for 1, 10 and 1,000 rules (a benchmark; prints ns/decision).
.PHONY: bench-policy
bench-policy:
	$(CARGO) run --release --example policy_bench
