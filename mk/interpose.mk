# Interposition: wrap archives (host and aarch64), the LD_PRELOAD library,
# the C stand-in kernel, the three link modes, the aarch64 cross test under
# qemu, symbol hygiene and the no_std build. See docs/sdk-integration.md "Interposition".
#
#   make wrap            $(IP_BUILD)/<host triple>/libkos_ipc_shim_wrap.a
#   make wrap-aarch64    $(IP_BUILD)/aarch64-unknown-linux-gnu/libkos_ipc_shim_wrap.a
#   make preload         $(IP_BUILD)/libkos_ipc_shim_preload.so
#   make interpose-test  one unmodified program, three link modes, counters checked
#   make cross-test      the same program built for aarch64 (--wrap), run under qemu
#   make symbols-check   C-visible symbols of each library == ctests/symbols/*.txt
#   make nostd-check     the no_std core builds for aarch64-unknown-none, no allocator
#
# Against a real SDK (docs/sdk-integration.md "Building the wrap archive against a KasperskyOS SDK"):
#   make wrap WRAP_TARGET=aarch64-unknown-linux-gnu KOS_SDK_SYSROOT=/path/to/sysroot \
#        CC_aarch64_unknown_linux_gnu=<SDK gcc>
# (the build checks every fact of the KCE profile against that SDK's headers
# and stops, naming the fact, on any difference).

.PHONY: wrap wrap-aarch64 preload interpose-test interpose-lint interpose-host \
        interpose-wrap interpose-preload interpose-sdk-profile interpose-reentrant interpose-fastpath cross-test \
        symbols-check nostd-check

HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
CROSS_TRIPLE := aarch64-unknown-linux-gnu
CROSS_CC ?= aarch64-linux-gnu-gcc
CROSS_READELF ?= aarch64-linux-gnu-readelf
QEMU_AARCH64 ?= qemu-aarch64
CROSS_SYSROOT ?= /usr/aarch64-linux-gnu

IP_BUILD := $(BUILD)/interpose
# `make wrap` builds for WRAP_TARGET; with KOS_SDK_SYSROOT set, the build
# also checks the KCE profile against that SDK's headers (feature sdk-profile).
WRAP_TARGET ?= $(HOST_TRIPLE)
WRAP_SDK_FEATURE := $(if $(KOS_SDK_SYSROOT),$(COMMA)sdk-profile)
COMMA := ,
WRAP_LIB := $(IP_BUILD)/$(WRAP_TARGET)/libkos_ipc_shim_wrap.a
WRAP_LIB_HOST := $(IP_BUILD)/$(HOST_TRIPLE)/libkos_ipc_shim_wrap.a
# The sdk-profile build path, tested without an SDK: a stand-in SDK sysroot
# made of our headers (include/kos), which the check must pass.
WRAP_LIB_HOSTCOMPAT := $(IP_BUILD)/sdk-standin/libkos_ipc_shim_wrap.a
FAKE_SYSROOT := $(IP_BUILD)/sdk-standin/sysroot
# Cargo builds that end in a copy out of target/ hold this lock, so that two
# of them (different features, same output path) never interleave under -j.
IP_LOCK := flock target/.interpose.lock
WRAP_LIB_CROSS := $(IP_BUILD)/$(CROSS_TRIPLE)/libkos_ipc_shim_wrap.a
PRELOAD_LIB := $(IP_BUILD)/libkos_ipc_shim_preload.so
WRAP_FLAGS := -Wl,--wrap=Call,--wrap=CallEx,--wrap=Recv,--wrap=RecvEx,--wrap=Reply
# Only the staticlib crate type: a fully LTO'd archive whose single object
# holds machine code only (the rlib crate type would embed LLVM bitcode).
WRAP_CARGO := rustc --release --lib --crate-type staticlib --no-default-features
# The wrap archive serves programs (executables, PIE or not), never shared
# objects: compiled as position-independent *executable* code, its
# thread-locals use the local-exec model (one %fs-relative load) instead of
# general-dynamic (a __tls_get_addr call the linker later relaxes, but only
# after the compiler saved registers around it). That keeps the idle fast
# path (src/layers.rs) a dozen instructions ending in a tail call.
WRAP_RUSTC_ARGS := -- -C relocation-model=pie
# What the no_std wrap archive needs from the C library.
WRAP_NATIVE_LIBS := -lpthread -lc
IP_CFLAGS := $(CTEST_CFLAGS) $(SHIM_CPPFLAGS)
IP_PROG := ctests/interpose/echo_prog.c ctests/interpose/report.c
STANDIN := ctests/standin/libkos_standin.c
IP_DEPS := $(IP_PROG) $(STANDIN) $(HEADERS)

TEST_TARGETS += interpose-test cross-test symbols-check nostd-check

wrap: $(WRAP_LIB)
wrap-aarch64: $(WRAP_LIB_CROSS)
preload: $(PRELOAD_LIB)

# --target even for the host, so these builds land in target/<triple>/ and
# never overwrite the host archive in target/release/. $(1): cargo command,
# $(2): target triple, $(3): the file cargo writes, $@: where it goes,
# $(4): environment for cargo, $(5): arguments for rustc (after --).
define cargo_copy
	@mkdir -p target $(@D)
	$(IP_LOCK) sh -c '$(4) $(CARGO) $(1) --target $(2) $(5) && { cmp -s $(3) $@ || cp $(3) $@; }'
endef

$(WRAP_LIB): FORCE
	$(call cargo_copy,$(WRAP_CARGO) --features wrap$(COMMA)clib$(WRAP_SDK_FEATURE),$(WRAP_TARGET),target/$(WRAP_TARGET)/release/libkos_ipc_shim.a,,$(WRAP_RUSTC_ARGS))

ifneq ($(WRAP_LIB_HOST),$(WRAP_LIB))
$(WRAP_LIB_HOST): FORCE
	$(call cargo_copy,$(WRAP_CARGO) --features wrap$(COMMA)clib,$(HOST_TRIPLE),target/$(HOST_TRIPLE)/release/libkos_ipc_shim.a,env -u KOS_SDK_SYSROOT,$(WRAP_RUSTC_ARGS))
endif

ifneq ($(WRAP_LIB_CROSS),$(WRAP_LIB))
$(WRAP_LIB_CROSS): FORCE
	$(call cargo_copy,$(WRAP_CARGO) --features wrap$(COMMA)clib,$(CROSS_TRIPLE),target/$(CROSS_TRIPLE)/release/libkos_ipc_shim.a,env -u KOS_SDK_SYSROOT,$(WRAP_RUSTC_ARGS))
endif

$(FAKE_SYSROOT)/kos_ipc_shim.h: $(HEADERS)
	@rm -rf $(FAKE_SYSROOT) && mkdir -p $(FAKE_SYSROOT)/include
	cp -r include/kos/. $(FAKE_SYSROOT)/include/ && cp include/kos_ipc_shim.h $@

$(WRAP_LIB_HOSTCOMPAT): $(FAKE_SYSROOT)/kos_ipc_shim.h FORCE
	$(call cargo_copy,$(WRAP_CARGO) --features wrap$(COMMA)clib$(COMMA)sdk-profile,$(HOST_TRIPLE),target/$(HOST_TRIPLE)/release/libkos_ipc_shim.a,env KOS_SDK_SYSROOT=$(abspath $(FAKE_SYSROOT)),$(WRAP_RUSTC_ARGS))

$(PRELOAD_LIB): FORCE
	$(call cargo_copy,rustc --release --lib --crate-type cdylib --no-default-features --features preload,$(HOST_TRIPLE),target/$(HOST_TRIPLE)/release/libkos_ipc_shim.so,)

# The feature sets `make lint` (default features) does not see.
interpose-lint: $(FAKE_SYSROOT)/kos_ipc_shim.h
	$(CARGO) clippy --lib --no-default-features --features wrap --target aarch64-unknown-none -- -D warnings
	$(CARGO) clippy --lib --no-default-features --features wrap,clib --target $(CROSS_TRIPLE) --release -- -D warnings
	$(CARGO) clippy --lib --no-default-features --features preload -- -D warnings
	KOS_SDK_SYSROOT=$(abspath $(FAKE_SYSROOT)) CC_aarch64_unknown_none=$(CROSS_CC) $(CARGO) clippy --lib \
	    --no-default-features --features wrap,sdk-profile --target aarch64-unknown-none -- -D warnings

# The stand-in kernel: linked in statically (wrap modes) or as libkos_standin.so.
$(IP_BUILD)/libkos_standin.so: $(STANDIN) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(IP_CFLAGS) -shared -fPIC -o $@ $(STANDIN)

# Mode 1: the program against the host archive (emulator), no stand-in.
$(IP_BUILD)/echo_host: $(IP_DEPS) $(LIB_RELEASE)
	@mkdir -p $(@D)
	$(CC) $(IP_CFLAGS) -o $@ $(IP_PROG) $(LIB_RELEASE) $(NATIVE_LIBS)

# Mode 2: --wrap, our wrap archive, the stand-in statically.
$(IP_BUILD)/echo_wrap: $(IP_DEPS) $(WRAP_LIB_HOST)
	$(CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $(IP_PROG) $(STANDIN) $(WRAP_LIB_HOST) -ldl $(WRAP_NATIVE_LIBS)

# Mode 2 again with the archive built with sdk-profile on the stand-in
# sysroot (the build-time profile check passed): same results.
$(IP_BUILD)/echo_wrap_sdk: $(IP_DEPS) $(WRAP_LIB_HOSTCOMPAT)
	$(CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $(IP_PROG) $(STANDIN) $(WRAP_LIB_HOSTCOMPAT) -ldl $(WRAP_NATIVE_LIBS)

# Mode 3: dynamically against libkos_standin.so; the shim comes in by LD_PRELOAD at run time.
$(IP_BUILD)/echo_dyn: $(IP_DEPS) $(IP_BUILD)/libkos_standin.so
	$(CC) $(IP_CFLAGS) -o $@ $(IP_PROG) -L$(IP_BUILD) -lkos_standin -Wl,-rpath,'$$ORIGIN' -ldl

# Runs $(1) (a command), saves stdout in $(2).out, compares it with $(3).
# The shim's own configuration variables are cleared: the expected counts
# assume no policy, statistics at their default level and no trace.
IP_ENV := env -u KOS_SHIM_POLICY -u KOS_SHIM_STATS -u KOS_SHIM_TRACE -u KOS_SHIM_TRACE_BUF \
          -u KOS_SHIM_TRACE_PAYLOAD
define ip_run
	@timeout 120 $(IP_ENV) $(1) >$(2).out 2>$(2).err || { rc=$$?; echo "FAIL $(2): exit $$rc" >&2; cat $(2).out $(2).err >&2; exit 1; }
	@diff -u $(3) $(2).out || { echo "FAIL $(2): output differs from $(3)" >&2; cat $(2).err >&2; exit 1; }
	@sed 's/^/  | /' $(2).out
endef

interpose-host: $(IP_BUILD)/echo_host
	@echo "== link mode 1: host archive (emulator)"
	$(call ip_run,$(IP_BUILD)/echo_host,$(IP_BUILD)/echo_host,ctests/interpose/expect-host.txt)

interpose-wrap: $(IP_BUILD)/echo_wrap
	@echo "== link mode 2: --wrap + wrap archive + stand-in libkos (static)"
	$(call ip_run,$(IP_BUILD)/echo_wrap,$(IP_BUILD)/echo_wrap,ctests/interpose/expect-standin.txt)

interpose-preload: $(IP_BUILD)/echo_dyn $(PRELOAD_LIB)
	@echo "== link mode 3: libkos_standin.so + LD_PRELOAD=libkos_ipc_shim_preload.so"
	$(call ip_run,env LD_PRELOAD=$(abspath $(PRELOAD_LIB)) $(IP_BUILD)/echo_dyn,$(IP_BUILD)/echo_dyn,ctests/interpose/expect-standin.txt)
	@echo "== control: the same binary without LD_PRELOAD (no shim line)"
	$(call ip_run,$(IP_BUILD)/echo_dyn,$(IP_BUILD)/echo_dyn_noshim,ctests/interpose/expect-noshim.txt)

# Re-entrancy in C, through the no_std guard: a trace sink that makes IPC.
$(IP_BUILD)/reentrant_sink: ctests/interpose/reentrant_sink.c $(STANDIN) $(HEADERS) $(WRAP_LIB_HOST)
	$(CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $< $(STANDIN) $(WRAP_LIB_HOST) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/reentrant_sink_aarch64: ctests/interpose/reentrant_sink.c $(STANDIN) $(HEADERS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $< $(STANDIN) $(WRAP_LIB_CROSS) $(WRAP_NATIVE_LIBS)

interpose-reentrant: $(IP_BUILD)/reentrant_sink
	@echo "== re-entrancy: a C trace sink that calls Call (wrap archive, no_std guard)"
	$(call ip_run,$(IP_BUILD)/reentrant_sink,$(IP_BUILD)/reentrant_sink,ctests/interpose/expect-reentrant.txt)

# The idle fast path and its way back to the full pipeline (no_std wrap archive).
$(IP_BUILD)/fastpath: ctests/interpose/fastpath.c $(STANDIN) $(HEADERS) $(WRAP_LIB_HOST)
	$(CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $< $(STANDIN) $(WRAP_LIB_HOST) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/fastpath_aarch64: ctests/interpose/fastpath.c $(STANDIN) $(HEADERS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $< $(STANDIN) $(WRAP_LIB_CROSS) $(WRAP_NATIVE_LIBS)

interpose-fastpath: $(IP_BUILD)/fastpath
	@echo "== idle fast path: layers off -> kernel directly; a layer on -> full pipeline"
	$(call ip_run,$(IP_BUILD)/fastpath,$(IP_BUILD)/fastpath,ctests/interpose/expect-fastpath.txt)

interpose-sdk-profile: $(IP_BUILD)/echo_wrap_sdk
	@echo "== link mode 2b: --wrap + sdk-profile wrap archive (profile checked on a stand-in SDK sysroot) + stand-in"
	$(call ip_run,$(IP_BUILD)/echo_wrap_sdk,$(IP_BUILD)/echo_wrap_sdk,ctests/interpose/expect-standin.txt)

interpose-test: interpose-lint
	$(MAKE) --no-print-directory interpose-host interpose-wrap interpose-preload interpose-sdk-profile \
	    interpose-reentrant interpose-fastpath
	@echo "interpose-test: 3 link modes (and the sdk-profile wrap archive) passed"

# The same program for aarch64: --wrap against the stand-in, under qemu-aarch64.
$(IP_BUILD)/echo_wrap_aarch64: $(IP_DEPS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $(IP_PROG) $(STANDIN) $(WRAP_LIB_CROSS) -ldl $(WRAP_NATIVE_LIBS)

cross-test: $(SETUP_STAMP) $(IP_BUILD)/echo_wrap_aarch64 $(IP_BUILD)/reentrant_sink_aarch64 \
            $(IP_BUILD)/fastpath_aarch64
	@echo "== cross test: aarch64 --wrap + wrap archive + stand-in, under $(QEMU_AARCH64)"
	@file $(IP_BUILD)/echo_wrap_aarch64 | grep -q 'ARM aarch64' || { echo "FAIL: not an aarch64 binary" >&2; exit 1; }
	$(call ip_run,$(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/echo_wrap_aarch64,$(IP_BUILD)/echo_wrap_aarch64,ctests/interpose/expect-standin.txt)
	@echo "== cross test: re-entrancy through a C trace sink, aarch64, under $(QEMU_AARCH64)"
	$(call ip_run,$(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/reentrant_sink_aarch64,$(IP_BUILD)/reentrant_sink_aarch64,ctests/interpose/expect-reentrant.txt)
	@echo "== cross test: the idle fast path, aarch64, under $(QEMU_AARCH64)"
	$(call ip_run,$(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/fastpath_aarch64,$(IP_BUILD)/fastpath_aarch64,ctests/interpose/expect-fastpath.txt)
	@echo "cross-test: passed"

symbols-check: $(LIB_RELEASE) $(WRAP_LIB_HOST) $(WRAP_LIB_CROSS) $(PRELOAD_LIB) $(WRAP_LIB_HOSTCOMPAT)
	scripts/symbols-check.sh $(LIB_RELEASE) ctests/symbols/host.txt
	scripts/symbols-check.sh $(WRAP_LIB_HOST) ctests/symbols/wrap.txt
	scripts/symbols-check.sh $(WRAP_LIB_HOSTCOMPAT) ctests/symbols/wrap.txt
	scripts/symbols-check.sh $(WRAP_LIB_CROSS) ctests/symbols/wrap.txt $(CROSS_READELF)
	scripts/symbols-check.sh $(PRELOAD_LIB) ctests/symbols/preload.txt

# The no_std core: builds for a bare-metal target, and the archive needs
# nothing from outside but the three C functions it declares itself.
nostd-check: $(FAKE_SYSROOT)/kos_ipc_shim.h
	@mkdir -p target
	$(IP_LOCK) sh -c '$(CARGO) build --no-default-features --features wrap --target aarch64-unknown-none && \
	    scripts/nostd-check.sh target/aarch64-unknown-none/debug/libkos_ipc_shim.a'
	@echo "== the same with sdk-profile (the profile checked with the cross compiler on a stand-in sysroot)"
	$(IP_LOCK) sh -c 'KOS_SDK_SYSROOT=$(abspath $(FAKE_SYSROOT)) CC_aarch64_unknown_none=$(CROSS_CC) $(CARGO) build \
	    --no-default-features --features wrap,sdk-profile --target aarch64-unknown-none && \
	    scripts/nostd-check.sh target/aarch64-unknown-none/debug/libkos_ipc_shim.a'

# Names without files (docs/sdk-integration.md "Interposition", "Names from the service
# locator"): ctests/interpose/locator_prog.c, linked with the wrap archive
# and the stand-in libkos (which has a stand-in locator), with the three
# opt-in --wrap=ServiceLocator* flags (statistics and traces name the
# connection and the endpoints) and without them (numbers only, and the
# program links all the same), on x86-64 and on aarch64 under qemu
# (scripts/locator-wrap-test.sh); and the unchanged echo_prog against a
# stand-in libkos that has no locator at all.
.PHONY: locator-test
LOCATOR_WRAP_FLAGS := -Wl,--wrap=ServiceLocatorRegister,--wrap=ServiceLocatorConnect,--wrap=ServiceLocatorGetRiid
LOCATOR_PROG := ctests/interpose/locator_prog.c
# The program's <coresrv/sl/sl_api.h> is include/kos's (in $(HEADERS)),
# implemented here by the stand-in libkos.
LOCATOR_CFLAGS := $(IP_CFLAGS)
LOCATOR_DEPS := $(LOCATOR_PROG) $(STANDIN) $(HEADERS)
TEST_TARGETS += locator-test

$(IP_BUILD)/locator_names: $(LOCATOR_DEPS) $(WRAP_LIB_HOST)
	$(CC) $(LOCATOR_CFLAGS) $(WRAP_FLAGS) $(LOCATOR_WRAP_FLAGS) -o $@ $(LOCATOR_PROG) $(STANDIN) $(WRAP_LIB_HOST) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/locator_numbers: $(LOCATOR_DEPS) $(WRAP_LIB_HOST)
	$(CC) $(LOCATOR_CFLAGS) $(WRAP_FLAGS) -o $@ $(LOCATOR_PROG) $(STANDIN) $(WRAP_LIB_HOST) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/locator_names_aarch64: $(LOCATOR_DEPS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(LOCATOR_CFLAGS) $(WRAP_FLAGS) $(LOCATOR_WRAP_FLAGS) -o $@ $(LOCATOR_PROG) $(STANDIN) $(WRAP_LIB_CROSS) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/locator_numbers_aarch64: $(LOCATOR_DEPS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(LOCATOR_CFLAGS) $(WRAP_FLAGS) -o $@ $(LOCATOR_PROG) $(STANDIN) $(WRAP_LIB_CROSS) $(WRAP_NATIVE_LIBS)

$(IP_BUILD)/echo_wrap_nolocator: $(IP_DEPS) $(WRAP_LIB_HOST)
	$(CC) $(IP_CFLAGS) -DSTANDIN_NO_LOCATOR $(WRAP_FLAGS) -o $@ $(IP_PROG) $(STANDIN) $(WRAP_LIB_HOST) -ldl $(WRAP_NATIVE_LIBS)

locator-test: $(SETUP_STAMP) $(IP_BUILD)/locator_names $(IP_BUILD)/locator_numbers \
              $(IP_BUILD)/locator_names_aarch64 $(IP_BUILD)/locator_numbers_aarch64 $(IP_BUILD)/echo_wrap_nolocator
	@echo "== locator names: --wrap + --wrap=ServiceLocator* + wrap archive + stand-in (x86-64)"
	scripts/locator-wrap-test.sh $(IP_BUILD)/locator-names-$(HOST_TRIPLE) ctests/interpose/expect-locator-names.txt \
	    $(IP_BUILD)/locator_names
	@echo "== the same program without the locator flags: numbers only (x86-64)"
	scripts/locator-wrap-test.sh $(IP_BUILD)/locator-numbers-$(HOST_TRIPLE) ctests/interpose/expect-locator-numbers.txt \
	    $(IP_BUILD)/locator_numbers
	@echo "== locator names, aarch64, under $(QEMU_AARCH64)"
	@file $(IP_BUILD)/locator_names_aarch64 | grep -q 'ARM aarch64' || { echo "FAIL: not an aarch64 binary" >&2; exit 1; }
	scripts/locator-wrap-test.sh $(IP_BUILD)/locator-names-$(CROSS_TRIPLE) ctests/interpose/expect-locator-names.txt \
	    $(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/locator_names_aarch64
	@echo "== without the locator flags, aarch64, under $(QEMU_AARCH64)"
	scripts/locator-wrap-test.sh $(IP_BUILD)/locator-numbers-$(CROSS_TRIPLE) ctests/interpose/expect-locator-numbers.txt \
	    $(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/locator_numbers_aarch64
	@echo "== the wrappers' archive member is in a program only with the flags"
	@for p in locator_names locator_names_aarch64; do \
	    nm $(IP_BUILD)/$$p | grep -q ' T __wrap_ServiceLocatorGetRiid$$' || { echo "FAIL: $$p lacks the locator wrappers" >&2; exit 1; }; done
	@for p in locator_numbers locator_numbers_aarch64 echo_wrap_nolocator; do \
	    ! nm $(IP_BUILD)/$$p | grep -q '__wrap_ServiceLocator\|__real_ServiceLocator' || { echo "FAIL: $$p has the locator wrappers" >&2; exit 1; }; done
	@echo "== echo_prog, wrap archive, a stand-in libkos without any locator: links and runs"
	$(call ip_run,$(IP_BUILD)/echo_wrap_nolocator,$(IP_BUILD)/echo_wrap_nolocator,ctests/interpose/expect-standin.txt)
	@echo "locator-test: names with the flags, numbers without, x86-64 and aarch64"
