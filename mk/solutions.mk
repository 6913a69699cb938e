# Example solutions (issue 15): KasperskyOS-style programs, one per entity,
# run as Linux processes by kos-host-run from their init.yaml. See
# examples/solutions/*/README.md.
#
#   make solutions        build/solutions/<solution>/<Entity> for every entity
#   make solutions-run    run each solution once under kos-host-run (a demo)
#   make solutions-test   each entity's descriptions read by kos-ipc-trace names;
#                         each solution under kos-host-run --trace: status 0,
#                         every entity's output lines as expected-output.txt
#                         says, every call linked to its server's receive and
#                         reply in DIR/merged.json as expected-trace.txt says
#                         (scripts/solutions-test.sh, scripts/solutions_check.py)
#   make solutions-kill-test    echo with ECHO_SERVER_DIE_AFTER=3: the server
#                         SIGKILLs itself on its 3rd request; the client's call
#                         returns NK_ENOTCONN within 1 s, the launcher reports
#                         the death (scripts/solutions-kill-test.sh)
#   make solutions-policy-test  echo with KOS_SHIM_POLICY=deny-add.policy for
#                         every entity: the client's Add gets NK_EPERM, the
#                         server never receives one (scripts/solutions-policy-test.sh)
#   make solutions-asan-test    solutions-test with every entity built with
#                         AddressSanitizer and UBSan ($(SAN_FLAGS)) against the
#                         debug archive, as ctests-san builds the C tests

SOL_DIR := examples/solutions
SOL_BUILD := $(BUILD)/solutions
# The launcher (src/bin/kos-host-run.rs), built like the trace tool.
HOST_RUN := target/debug/kos-host-run
SOLUTION_NAMES := echo store
SOLUTION_BINS :=
SOLUTION_SAN_BINS :=
SOL_SAN_BUILD := $(BUILD)/solutions-san

.PHONY: solutions solutions-launcher solutions-run solutions-test solutions-kill-test \
        solutions-policy-test solutions-asan-test

# They need kos-host-run (branch i15-run) and the emulator's world
# (i15-xproc); with both merged they pass.
TEST_TARGETS += solutions-test solutions-kill-test solutions-policy-test solutions-asan-test

# The program of entity $(2) of solution $(1), from $(SOL_DIR)/$(1)/$(3).c,
# against the host archive like the examples, with the solution's
# generated-style headers (gen/) and the shared solution.h.
define solution_program
$(SOL_BUILD)/$(1)/$(2): $(SOL_DIR)/$(1)/$(3).c $$(wildcard $(SOL_DIR)/$(1)/gen/*/*.h) \
        $(SOL_DIR)/common/solution.h $$(HEADERS) $$(LIB_RELEASE)
	@mkdir -p $$(@D)
	$$(CC) $$(CTEST_CFLAGS) $$(SHIM_CPPFLAGS) -I$(SOL_DIR)/$(1)/gen -I$(SOL_DIR)/common \
	    -o $$@ $$< $$(LIB_RELEASE) $$(NATIVE_LIBS)
SOLUTION_BINS += $(SOL_BUILD)/$(1)/$(2)

$(SOL_SAN_BUILD)/$(1)/$(2): $(SOL_DIR)/$(1)/$(3).c $$(wildcard $(SOL_DIR)/$(1)/gen/*/*.h) \
        $(SOL_DIR)/common/solution.h $$(HEADERS) $$(LIB_DEBUG)
	@mkdir -p $$(@D)
	$$(CC) $$(CTEST_CFLAGS) $$(SAN_FLAGS) $$(SHIM_CPPFLAGS) -I$(SOL_DIR)/$(1)/gen -I$(SOL_DIR)/common \
	    -o $$@ $$< $$(LIB_DEBUG) $$(NATIVE_LIBS)
SOLUTION_SAN_BINS += $(SOL_SAN_BUILD)/$(1)/$(2)
endef

$(eval $(call solution_program,echo,Client,client))
$(eval $(call solution_program,echo,Server,server))
$(eval $(call solution_program,store,Client,client))
$(eval $(call solution_program,store,Frontend,frontend))
$(eval $(call solution_program,store,Storage,storage))

solutions: $(SOLUTION_BINS)

solutions-launcher:
	$(CARGO) build --bin kos-host-run

solutions-run: $(SETUP_STAMP) solutions solutions-launcher
	@for s in $(SOLUTION_NAMES); do \
	    echo "== $(HOST_RUN) --bin-dir $(SOL_BUILD)/$$s $(SOL_DIR)/$$s/init.yaml"; \
	    $(HOST_RUN) --timeout 60 --bin-dir $(SOL_BUILD)/$$s $(SOL_DIR)/$$s/init.yaml || exit 1; \
	done

solutions-test: $(SETUP_STAMP) solutions solutions-launcher trace-tool
	@for s in $(SOLUTION_NAMES); do \
	    bash scripts/solutions-test.sh $(HOST_RUN) $(TRACE_TOOL) $(SOL_DIR)/$$s \
	        $(SOL_BUILD)/$$s $(SOL_BUILD)/test/$$s || exit 1; \
	done

# The same checks with sanitized entities; a sanitizer report makes an
# entity exit non-zero, which fails the run.
solutions-asan-test: $(SETUP_STAMP) $(SOLUTION_SAN_BINS) solutions-launcher trace-tool
	@for s in $(SOLUTION_NAMES); do \
	    env $(SAN_ENV) bash scripts/solutions-test.sh $(HOST_RUN) $(TRACE_TOOL) $(SOL_DIR)/$$s \
	        $(SOL_SAN_BUILD)/$$s $(SOL_SAN_BUILD)/test/$$s || exit 1; \
	done

solutions-kill-test: $(SETUP_STAMP) solutions solutions-launcher
	bash scripts/solutions-kill-test.sh $(HOST_RUN) $(SOL_DIR)/echo $(SOL_BUILD)/echo \
	    $(SOL_BUILD)/kill-test

solutions-policy-test: $(SETUP_STAMP) solutions solutions-launcher
	bash scripts/solutions-policy-test.sh $(HOST_RUN) $(SOL_DIR)/echo $(SOL_BUILD)/echo \
	    $(SOL_BUILD)/policy-test
