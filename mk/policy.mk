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
POLICY_FUZZ_TARGETS := policy_parse msg_validate idl_parse payload_decode
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
	            $$(test -f fuzz/$$t.dict && echo -dict=$(CURDIR)/fuzz/$$t.dict) \
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

# ---- The policy in the wrap archive (issue 13) ------------------------------
#
#   make policy-wrap-test   the unchanged ctests/interpose/echo_prog.c, linked
#                      with --wrap against the no_std wrap archive (with the
#                      C-library layer) and the C stand-in libkos, configured
#                      through KOS_SHIM_POLICY* only:
#     deny      a policy denying the echo method (iid 0x2A, mid 1): it never
#               reaches the stand-in (standin: call=1, the quit request), the
#               program sees rcSecurityDisallow for that call only, and the
#               denial is reported on stderr;
#     fault     fault rules (issue 18): the echo method fails with rcTimeout
#               and never reaches the stand-in (standin: call=1, the quit
#               request, which a delay rule holds 20 ms and then forwards);
#     broken    a policy with a syntax error fails closed (path:line:col on
#               stderr; nothing reaches the stand-in);
#     missing   a missing policy file fails closed;
#     words     a wrong KOS_SHIM_POLICY_ON_ERROR / KOS_SHIM_CLOCK word is
#               reported with the valid ones (and the policy still fails closed);
#     allow     KOS_SHIM_POLICY_ON_ERROR=allow runs without the broken policy;
#     learn     KOS_SHIM_POLICY_LEARN=<dir>/learned-%p.policy writes, at exit,
#               the policy expected in ctests/interpose/expect-policy-learned.policy
#               (its lock file gone), and a replay under it denies nothing;
#     learn-bad an unusable learn path is reported at start-up;
#   the deny case again with the LD_PRELOAD library (the same program,
#   dynamically linked against libkos_standin.so; no policy_watch.c there),
#   and the deny and broken cases again for aarch64 under qemu-aarch64.
#
# Under a policy that fails closed, echo_prog's quit request is refused too
# and the program would wait for its server forever: the harness object
# ctests/interpose/policy_watch.c (linked with --wrap=pthread_join) ends such
# a run with exit status 3 when main() reaches the join, and prints the
# policy's counters at exit beside report.c's. Expected: stdout exactly, and
# the stderr lines as a set (threads interleave them; $(PW_DIR) reads @DIR@).

PW_DIR := $(IP_BUILD)/policy
PW_PROG := $(IP_BUILD)/echo_policy_wrap
PW_PROG_CROSS := $(IP_BUILD)/echo_policy_wrap_aarch64
PW_HARNESS := ctests/interpose/policy_watch.c
PW_LINK := $(WRAP_FLAGS),--wrap=pthread_join
PW_EXPECT := ctests/interpose/expect-policy
PW_QEMU := $(QEMU_AARCH64) -L $(CROSS_SYSROOT)

TEST_TARGETS += policy-wrap-test

.PHONY: policy-wrap-test policy-wrap-cross policy-preload

$(PW_PROG): $(IP_DEPS) $(PW_HARNESS) $(WRAP_LIB_HOST)
	$(CC) $(IP_CFLAGS) $(PW_LINK) -o $@ $(IP_PROG) $(PW_HARNESS) $(STANDIN) $(WRAP_LIB_HOST) $(WRAP_NATIVE_LIBS)

$(PW_PROG_CROSS): $(IP_DEPS) $(PW_HARNESS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(IP_CFLAGS) $(PW_LINK) -o $@ $(IP_PROG) $(PW_HARNESS) $(STANDIN) $(WRAP_LIB_CROSS) $(WRAP_NATIVE_LIBS)

# $(1): case (its directory under $(PW_DIR)), $(2): command, $(3): variables
# for it, $(4): expected exit status, $(5): expected stdout, $(6): expected
# stderr lines. Every KOS_SHIM_* variable of the caller is cleared first.
define pw_case
	@echo "== policy, environment only: $(1)"
	@rm -rf $(PW_DIR)/$(1) && mkdir -p $(PW_DIR)/$(1)
	@rc=0; timeout 120 env $$(env | sed -n 's/^\(KOS_SHIM_[A-Za-z0-9_]*\)=.*/-u \1/p') $(3) $(2) \
	    >$(PW_DIR)/$(1)/out 2>$(PW_DIR)/$(1)/err || rc=$$?; \
	if [ $$rc != $(4) ]; then \
	    echo "FAIL policy $(1): exit status $$rc, expected $(4)" >&2; cat $(PW_DIR)/$(1)/out $(PW_DIR)/$(1)/err >&2; exit 1; fi
	@diff -u $(5) $(PW_DIR)/$(1)/out || { echo "FAIL policy $(1): stdout differs from $(5)" >&2; cat $(PW_DIR)/$(1)/err >&2; exit 1; }
	@sed 's|$(PW_DIR)|@DIR@|g' $(PW_DIR)/$(1)/err | LC_ALL=C sort >$(PW_DIR)/$(1)/err.sorted; \
	LC_ALL=C sort $(6) | diff -u - $(PW_DIR)/$(1)/err.sorted || { echo "FAIL policy $(1): stderr lines differ from $(6)" >&2; exit 1; }
	@sed 's/^/  | /' $(PW_DIR)/$(1)/out $(PW_DIR)/$(1)/err
endef

policy-wrap-test: $(PW_PROG)
	$(call pw_case,deny,$(PW_PROG),KOS_SHIM_POLICY=ctests/interpose/policy-deny.policy,1,$(PW_EXPECT)-deny.txt,$(PW_EXPECT)-deny.err)
	$(call pw_case,fault,$(PW_PROG),KOS_SHIM_POLICY=ctests/interpose/policy-fault.policy,1,$(PW_EXPECT)-fault.txt,$(PW_EXPECT)-fault.err)
	$(call pw_case,broken,$(PW_PROG),KOS_SHIM_POLICY=ctests/interpose/policy-broken.policy,3,$(PW_EXPECT)-closed.txt,$(PW_EXPECT)-broken.err)
	$(call pw_case,missing,$(PW_PROG),KOS_SHIM_POLICY=$(PW_DIR)/missing/app.policy,3,$(PW_EXPECT)-closed.txt,$(PW_EXPECT)-missing.err)
	$(call pw_case,words,$(PW_PROG),KOS_SHIM_POLICY=ctests/interpose/policy-broken.policy KOS_SHIM_POLICY_ON_ERROR=yes KOS_SHIM_CLOCK=bogus,3,$(PW_EXPECT)-closed.txt,$(PW_EXPECT)-words.err)
	$(call pw_case,allow,$(PW_PROG),KOS_SHIM_POLICY=ctests/interpose/policy-broken.policy KOS_SHIM_POLICY_ON_ERROR=allow,0,$(PW_EXPECT)-open.txt,$(PW_EXPECT)-allow.err)
	$(call pw_case,learn,$(PW_PROG),KOS_SHIM_POLICY_LEARN=$(PW_DIR)/learn/learned-%p.policy,0,$(PW_EXPECT)-learning.txt,/dev/null)
	@set -- $(PW_DIR)/learn/learned-*; \
	if [ $$# != 1 ] || ! expr "$$1" : '.*/learned-[0-9][0-9]*\.policy$$' >/dev/null; then \
	    echo "FAIL policy learn: expected one learned-<pid>.policy (and no lock) in $(PW_DIR)/learn, found: $$*" >&2; exit 1; fi; \
	diff -u $(PW_EXPECT)-learned.policy "$$1" || { echo "FAIL policy learn: $$1 differs" >&2; exit 1; }; \
	echo "  | $$1: $$(grep -c '^allow' "$$1") allow rules, as expected"
	$(call pw_case,replay,$(PW_PROG),KOS_SHIM_POLICY=$$(echo $(PW_DIR)/learn/learned-*.policy),0,$(PW_EXPECT)-replay.txt,/dev/null)
	$(call pw_case,learn-bad,$(PW_PROG),KOS_SHIM_POLICY_LEARN=$(PW_DIR)/learn-bad/missing/x.policy,0,$(PW_EXPECT)-open.txt,$(PW_EXPECT)-learn-bad.err)
	$(MAKE) --no-print-directory policy-preload policy-wrap-cross
	@echo "policy-wrap-test: passed (wrap archive, x86-64: 9 cases; preload: 1; aarch64 under qemu: 2)"

policy-preload: $(IP_BUILD)/echo_dyn $(PRELOAD_LIB)
	$(call pw_case,deny-preload,$(IP_BUILD)/echo_dyn,LD_PRELOAD=$(abspath $(PRELOAD_LIB)) KOS_SHIM_POLICY=ctests/interpose/policy-deny.policy,1,$(PW_EXPECT)-deny-preload.txt,$(PW_EXPECT)-deny.err)

policy-wrap-cross: $(SETUP_STAMP) $(PW_PROG_CROSS)
	@file $(PW_PROG_CROSS) | grep -q 'ARM aarch64' || { echo "FAIL: $(PW_PROG_CROSS) is not an aarch64 binary" >&2; exit 1; }
	$(call pw_case,deny-aarch64,$(PW_QEMU) $(PW_PROG_CROSS),KOS_SHIM_POLICY=ctests/interpose/policy-deny.policy,1,$(PW_EXPECT)-deny.txt,$(PW_EXPECT)-deny.err)
	$(call pw_case,broken-aarch64,$(PW_QEMU) $(PW_PROG_CROSS),KOS_SHIM_POLICY=ctests/interpose/policy-broken.policy,3,$(PW_EXPECT)-closed.txt,$(PW_EXPECT)-broken.err)
