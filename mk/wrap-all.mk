# Statistics, trace and policy at once, from the environment alone, in the
# wrap archive on x86-64 and on aarch64 under qemu (issue 13): see
# scripts/all-layers-wrap-test.sh. (Read after policy.mk and trace.mk, whose
# programs and tool it uses.)
#
#   make all-layers-wrap-test

.PHONY: all-layers-wrap-test
TEST_TARGETS += all-layers-wrap-test

all-layers-wrap-test: $(SETUP_STAMP) trace-tool $(PW_PROG) $(PW_PROG_CROSS)
	bash scripts/all-layers-wrap-test.sh $(TRACE_TOOL) $(BUILD)/all-layers/$(HOST_TRIPLE) $(PW_PROG)
	bash scripts/all-layers-wrap-test.sh $(TRACE_TOOL) $(BUILD)/all-layers/$(CROSS_TRIPLE) \
	    $(PW_QEMU) $(PW_PROG_CROSS)
