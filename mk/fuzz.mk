# Long fuzzing runs (issue 18), a target of their own: not in make test,
# which keeps fuzz-policy's short runs (mk/policy.mk).
#
#   make fuzz-long     every cargo-fuzz target in fuzz/ for FUZZ_RUNS
#                      executions each (default 10 million), one after the
#                      other, 0 crashes and 0 slow inputs allowed. Prints and
#                      writes $(FUZZ_LONG)/summary.txt: per target the runs,
#                      seconds, executions per second, coverage (libFuzzer's
#                      cov/ft), corpus size, whether ASan was on (see
#                      FUZZ_NO_ASAN) and the commit of the code it
#                      fuzzed (built just before its run; "+" when src/ or
#                      fuzz/ had uncommitted changes), with the date.
#                      The corpus grows in $(FUZZ_LONG)/corpus/<target>
#                      across runs (the committed fuzz/corpus is only read).

FUZZ_RUNS ?= 10000000
FUZZ_LONG := $(BUILD)/fuzz-long
# Targets fuzzed without AddressSanitizer: the code they reach has no
# `unsafe` (src/idl/decode.rs, src/json_text.rs), where ASan finds nothing
# that Rust's own checks would not, and costs payload_decode most of its
# speed (~900 executions per second with ASan, its Value trees being many
# small allocations). A panic, overflow or slow input still fails the run.
FUZZ_NO_ASAN ?= payload_decode

.PHONY: fuzz-long
fuzz-long:
	@if ! $(CARGO) fuzz --help >/dev/null 2>&1; then \
	    echo "fuzz-long: FAILED: cargo-fuzz is not installed; run scripts/setup.sh" >&2; exit 1; fi; \
	mkdir -p $(FUZZ_LONG); \
	summary=$(FUZZ_LONG)/summary.txt; \
	{ echo "fuzz-long: $$(date -u +%Y-%m-%d), $(FUZZ_RUNS) runs per target, $$(nproc) cores"; \
	  printf '%-16s %12s %8s %10s %8s %8s %8s %-8s %s\n' target runs seconds exec/s cov ft corpus asan commit; } > $$summary; \
	for t in $(POLICY_FUZZ_TARGETS); do \
	    case " $(FUZZ_NO_ASAN) " in *" $$t "*) san=none; asan=no;; *) san=address; asan=yes;; esac; \
	    $(CARGO) +nightly fuzz build -s $$san --fuzz-dir fuzz --target-dir $(CURDIR)/target/fuzz $$t || exit 1; \
	    commit=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); \
	    [ -z "$$(git status --porcelain -- src fuzz 2>/dev/null)" ] || commit="$$commit+"; \
	    echo "fuzz-long: $$t for $(FUZZ_RUNS) runs"; \
	    mkdir -p $(FUZZ_LONG)/corpus/$$t $(FUZZ_LONG)/artifacts/$$t; \
	    start=$$(date +%s); \
	    if ! $(CARGO) +nightly fuzz run -s $$san --fuzz-dir fuzz --target-dir $(CURDIR)/target/fuzz $$t \
	            $(FUZZ_LONG)/corpus/$$t fuzz/corpus/$$t -- -runs=$(FUZZ_RUNS) -timeout=10 -print_final_stats=1 \
	            -artifact_prefix=$(CURDIR)/$(FUZZ_LONG)/artifacts/$$t/ > $(FUZZ_LONG)/$$t.log 2>&1; then \
	        tail -n 40 $(FUZZ_LONG)/$$t.log >&2; \
	        echo "fuzz-long: FAILED: $$t found a crash or slow input; full log $(FUZZ_LONG)/$$t.log; inputs:" >&2; \
	        find $(FUZZ_LONG)/artifacts/$$t -type f | sed 's/^/  /' >&2; exit 1; fi; \
	    secs=$$(( $$(date +%s) - start )); \
	    runs=$$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' $(FUZZ_LONG)/$$t.log | tail -n 1); \
	    last=$$(grep -E '^#[0-9]+' $(FUZZ_LONG)/$$t.log | tail -n 1); \
	    cov=$$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$$last"); \
	    ft=$$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$$last"); \
	    corpus=$$(find $(FUZZ_LONG)/corpus/$$t -type f | wc -l); \
	    if [ -z "$$runs" ] || [ "$$runs" -lt $(FUZZ_RUNS) ]; then \
	        echo "fuzz-long: FAILED: $$t ran $${runs:-no} runs, fewer than $(FUZZ_RUNS); log $(FUZZ_LONG)/$$t.log" >&2; exit 1; fi; \
	    printf '%-16s %12s %8s %10s %8s %8s %8s %-8s %s\n' $$t $$runs $$secs $$(( runs / (secs > 0 ? secs : 1) )) \
	        "$${cov:-?}" "$${ft:-?}" $$corpus $$asan $$commit >> $$summary; \
	done; \
	cat $$summary
