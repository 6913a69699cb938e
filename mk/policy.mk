# Policy (issue 4): C tests share ctests/policy_harness.h; fuzzing the parser.
#
#   make fuzz-policy   run the cargo-fuzz targets in fuzz/ for FUZZ_SECONDS
#                      each (default 60) with 0 crashes allowed; part of
#                      `make test`. Fails with a message when cargo-fuzz or the
#                      nightly toolchain is missing (scripts/setup.sh installs
#                      them). The committed corpus fuzz/corpus/<target> is only
#                      read: new inputs go to $(FUZZ_BUILD)/corpus/<target>,
#                      crash inputs to $(FUZZ_BUILD)/artifacts/<target>/, the
#                      build to target/fuzz.

POLICY_CTESTS := $(filter policy_%,$(CTEST_NAMES))
$(addprefix $(BUILD)/ctests/,$(POLICY_CTESTS)) $(addprefix $(BUILD)/ctests-san/,$(POLICY_CTESTS)): ctests/policy_harness.h

FUZZ_SECONDS ?= 60
POLICY_FUZZ_TARGETS := policy_parse msg_validate
FUZZ_BUILD := $(BUILD)/fuzz
TEST_TARGETS += fuzz-policy

# libFuzzer writes new inputs into the first corpus directory only (the
# scratch copy) and reads the committed one; -artifact_prefix given last
# overrides cargo-fuzz's fuzz/artifacts/. A slow input (-timeout, seconds)
# counts as a failure like a crash. fuzz/Cargo.lock must be current (checked
# with --locked first, as the build would rewrite it), and the git status of
# fuzz/ is compared before and after, so a run that changed a committed file
# fails.
.PHONY: fuzz-policy
fuzz-policy:
	@if ! $(CARGO) fuzz --help >/dev/null 2>&1; then \
	    echo "fuzz-policy: FAILED: cargo-fuzz is not installed; run scripts/setup.sh" >&2; exit 1; fi; \
	if ! rustup run nightly rustc --version >/dev/null 2>&1; then \
	    echo "fuzz-policy: FAILED: no nightly Rust toolchain; run scripts/setup.sh" >&2; exit 1; fi; \
	if ! $(CARGO) +nightly metadata --manifest-path fuzz/Cargo.toml --locked --format-version 1 >/dev/null; then \
	    echo "fuzz-policy: FAILED: fuzz/Cargo.lock does not match Cargo.toml (a dependency changed):" \
	         "run \`cargo +nightly update --manifest-path fuzz/Cargo.toml -p kos-ipc-shim\` and commit fuzz/Cargo.lock" >&2; \
	    exit 1; fi; \
	before="$$(git status --porcelain -- fuzz 2>/dev/null)"; \
	start=$$(date +%s); \
	for t in $(POLICY_FUZZ_TARGETS); do \
	    $(CARGO) +nightly fuzz build --fuzz-dir fuzz --target-dir $(CURDIR)/target/fuzz $$t || exit 1; \
	done; \
	built=$$(date +%s); echo "fuzz-policy: built $(words $(POLICY_FUZZ_TARGETS)) targets in $$((built-start)) s"; \
	for t in $(POLICY_FUZZ_TARGETS); do \
	    echo "fuzz-policy: $$t for $(FUZZ_SECONDS) s"; \
	    rm -rf $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	    if ! $(CARGO) +nightly fuzz run --fuzz-dir fuzz --target-dir $(CURDIR)/target/fuzz $$t \
	            $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	            -artifact_prefix=$(CURDIR)/$(FUZZ_BUILD)/artifacts/$$t/ > $(FUZZ_BUILD)/$$t.log 2>&1; then \
	        tail -n 40 $(FUZZ_BUILD)/$$t.log >&2; \
	        echo "fuzz-policy: FAILED: $$t found a crash or slow input; full log $(FUZZ_BUILD)/$$t.log; inputs:" >&2; \
	        find $(FUZZ_BUILD)/artifacts/$$t -type f | sed 's/^/  /' >&2; \
	        echo "  reproduce: cargo +nightly fuzz run --fuzz-dir fuzz $$t <input>" >&2; \
	        exit 1; fi; \
	    grep -E '^Done [0-9]+ runs' $(FUZZ_BUILD)/$$t.log | sed "s/^/fuzz-policy: $$t: /"; \
	done; \
	after="$$(git status --porcelain -- fuzz 2>/dev/null)"; \
	if [ "$$before" != "$$after" ]; then \
	    echo "fuzz-policy: FAILED: the run changed files under fuzz/:" >&2; echo "$$after" >&2; exit 1; fi; \
	echo "fuzz-policy: $(words $(POLICY_FUZZ_TARGETS)) targets ran $(FUZZ_SECONDS) s each, 0 crashes ($$(( $$(date +%s)-start )) s in all)"

# Decision cost for 1, 10 and 1,000 rules (a benchmark; prints ns/decision).
.PHONY: bench-policy
bench-policy:
	$(CARGO) run --release --example policy_bench
