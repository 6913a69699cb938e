# Output paths and the shim's messages, in the wrap archive (issue 13):
#
#   make outputs-wrap-test   scripts/outputs-wrap-test.sh on the unchanged
#                            echo program linked with --wrap: a live
#                            process's output kept, a dead owner's taken
#                            over, %n/%t, KOS_SHIM_LOG levels, two
#                            processes at once on one path

.PHONY: outputs-wrap-test
TEST_TARGETS += outputs-wrap-test

outputs-wrap-test: $(SETUP_STAMP) $(IP_BUILD)/echo_wrap $(IP_BUILD)/stats_signal
	scripts/outputs-wrap-test.sh $(BUILD)/outputs $(IP_BUILD)/echo_wrap $(IP_BUILD)/stats_signal

# Every configuration message README shows, provoked once and checked
# (scripts/config-errors-test.sh), on the wrap archive.
.PHONY: config-errors-test
TEST_TARGETS += config-errors-test

config-errors-test: $(SETUP_STAMP) $(IP_BUILD)/echo_wrap $(BUILD)/examples/echo
	scripts/config-errors-test.sh $(BUILD)/config-errors $(IP_BUILD)/echo_wrap $(BUILD)/examples/echo
