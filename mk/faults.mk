# Fault injection (issue 18): the trace of ctests/fault_inject read back.
#
#   make faults-test   runs ctests/fault_inject with its trace also written to
#                      a .kst file and a CTF directory; `kos-ipc-trace summary`
#                      must list exactly the injected faults (2 runs x 95
#                      rcTimeout failures of Call 7.1 under seed 20261130, the
#                      every=/after= case's 9 rcNotConnected of 8.2, the failed
#                      Reply of 8.3), `kos-ipc-trace export --format text` must mark them
#                      verdict=fault, and babeltrace2 must decode the CTF
#                      verdict 'fault' for the same number of records.

FAULTS_DIR := $(BUILD)/faults
TEST_TARGETS += faults-test

.PHONY: faults-test
faults-test: trace-tool $(BUILD)/ctests/fault_inject
	@rm -rf $(FAULTS_DIR) && mkdir -p $(FAULTS_DIR)
	FAULT_INJECT_TRACE=sink,file:$(FAULTS_DIR)/fi.kst,ctf:$(FAULTS_DIR)/ctf \
	    $(BUILD)/ctests/fault_inject > $(FAULTS_DIR)/out.txt
	diff -u ctests/fault_inject.expect $(FAULTS_DIR)/out.txt
	$(TRACE_TOOL) summary $(FAULTS_DIR)/fi.kst > $(FAULTS_DIR)/summary.txt
	@grep '^injected faults:' $(FAULTS_DIR)/summary.txt > $(FAULTS_DIR)/faults.txt || true
	@printf '%s\n' 'injected faults: call 7.1 rcTimeout: 190' \
	    'injected faults: call 8.2 rcNotConnected: 9' \
	    'injected faults: reply 8.3 rcFail: 1' | diff -u - $(FAULTS_DIR)/faults.txt \
	    || { echo "faults-test: FAILED: kos-ipc-trace summary lists other faults" >&2; exit 1; }
	@n=$$($(TRACE_TOOL) export --format text $(FAULTS_DIR)/fi.kst - | grep -c 'verdict=fault'); \
	if [ "$$n" != 200 ]; then echo "faults-test: FAILED: $$n text records marked verdict=fault, expected 200" >&2; exit 1; fi
	@n=$$(babeltrace2 $(FAULTS_DIR)/ctf | grep -c 'verdict = ( "fault"'); \
	if [ "$$n" != 200 ]; then echo "faults-test: FAILED: babeltrace2 decoded $$n fault records, expected 200" >&2; exit 1; fi
	@echo "faults-test: 200 injected faults in the .kst (summary, text) and the CTF trace"
