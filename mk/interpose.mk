# Interposition: wrap archives (host and aarch64), the LD_PRELOAD library,
# the C stand-in kernel, the three link modes, the aarch64 cross test under
# qemu, symbol hygiene and the no_std build. See README "Interposition".
#
#   make wrap            $(IP_BUILD)/<host triple>/libkos_ipc_shim_wrap.a
#   make wrap-aarch64    $(IP_BUILD)/aarch64-unknown-linux-gnu/libkos_ipc_shim_wrap.a
#   make preload         $(IP_BUILD)/libkos_ipc_shim_preload.so
#   make interpose-test  one unmodified program, three link modes, counters checked
#   make cross-test      the same program built for aarch64 (--wrap), run under qemu
#   make symbols-check   C-visible symbols of each library == ctests/symbols/*.txt
#   make nostd-check     the no_std core builds for aarch64-unknown-none, no allocator

.PHONY: wrap wrap-aarch64 preload interpose-test interpose-lint interpose-host \
        interpose-wrap interpose-preload cross-test symbols-check nostd-check

HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
CROSS_TRIPLE := aarch64-unknown-linux-gnu
CROSS_CC ?= aarch64-linux-gnu-gcc
CROSS_READELF ?= aarch64-linux-gnu-readelf
QEMU_AARCH64 ?= qemu-aarch64
CROSS_SYSROOT ?= /usr/aarch64-linux-gnu

IP_BUILD := $(BUILD)/interpose
WRAP_LIB := $(IP_BUILD)/$(HOST_TRIPLE)/libkos_ipc_shim_wrap.a
WRAP_LIB_CROSS := $(IP_BUILD)/$(CROSS_TRIPLE)/libkos_ipc_shim_wrap.a
PRELOAD_LIB := $(IP_BUILD)/libkos_ipc_shim_preload.so
WRAP_FLAGS := -Wl,--wrap=Call,--wrap=CallEx,--wrap=Recv,--wrap=RecvEx,--wrap=Reply
# Only the staticlib crate type: a fully LTO'd archive whose single object
# holds machine code only (the rlib crate type would embed LLVM bitcode).
WRAP_CARGO := rustc --release --lib --crate-type staticlib --no-default-features --features wrap
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
# never overwrite the host archive in target/release/.
$(WRAP_LIB): FORCE
	$(CARGO) $(WRAP_CARGO) --target $(HOST_TRIPLE)
	@mkdir -p $(@D)
	@cmp -s target/$(HOST_TRIPLE)/release/libkos_ipc_shim.a $@ || cp target/$(HOST_TRIPLE)/release/libkos_ipc_shim.a $@

$(WRAP_LIB_CROSS): FORCE
	$(CARGO) $(WRAP_CARGO) --target $(CROSS_TRIPLE)
	@mkdir -p $(@D)
	@cmp -s target/$(CROSS_TRIPLE)/release/libkos_ipc_shim.a $@ || cp target/$(CROSS_TRIPLE)/release/libkos_ipc_shim.a $@

$(PRELOAD_LIB): FORCE
	$(CARGO) rustc --release --lib --crate-type cdylib --no-default-features --features preload --target $(HOST_TRIPLE)
	@mkdir -p $(@D)
	@cmp -s target/$(HOST_TRIPLE)/release/libkos_ipc_shim.so $@ || cp target/$(HOST_TRIPLE)/release/libkos_ipc_shim.so $@

# The feature sets `make lint` (default features) does not see.
interpose-lint:
	$(CARGO) clippy --lib --no-default-features --features wrap --target aarch64-unknown-none -- -D warnings
	$(CARGO) clippy --lib --no-default-features --features preload -- -D warnings

# The stand-in kernel: linked in statically (wrap modes) or as libkos_standin.so.
$(IP_BUILD)/libkos_standin.so: $(STANDIN) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(IP_CFLAGS) -shared -fPIC -o $@ $(STANDIN)

# Mode 1: the program against the host archive (emulator), no stand-in.
$(IP_BUILD)/echo_host: $(IP_DEPS) $(LIB_RELEASE)
	@mkdir -p $(@D)
	$(CC) $(IP_CFLAGS) -o $@ $(IP_PROG) $(LIB_RELEASE) $(NATIVE_LIBS)

# Mode 2: --wrap, our wrap archive, the stand-in statically.
$(IP_BUILD)/echo_wrap: $(IP_DEPS) $(WRAP_LIB)
	$(CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $(IP_PROG) $(STANDIN) $(WRAP_LIB) -ldl $(WRAP_NATIVE_LIBS)

# Mode 3: dynamically against libkos_standin.so; the shim comes in by LD_PRELOAD at run time.
$(IP_BUILD)/echo_dyn: $(IP_DEPS) $(IP_BUILD)/libkos_standin.so
	$(CC) $(IP_CFLAGS) -o $@ $(IP_PROG) -L$(IP_BUILD) -lkos_standin -Wl,-rpath,'$$ORIGIN' -ldl

# Runs $(1) (a command), saves stdout in $(2).out, compares it with $(3).
define ip_run
	@timeout 120 $(1) >$(2).out 2>$(2).err || { rc=$$?; echo "FAIL $(2): exit $$rc" >&2; cat $(2).out $(2).err >&2; exit 1; }
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

interpose-test: interpose-lint
	$(MAKE) --no-print-directory interpose-host interpose-wrap interpose-preload
	@echo "interpose-test: 3 link modes passed"

# The same program for aarch64: --wrap against the stand-in, under qemu-aarch64.
$(IP_BUILD)/echo_wrap_aarch64: $(IP_DEPS) $(WRAP_LIB_CROSS)
	$(CROSS_CC) $(IP_CFLAGS) $(WRAP_FLAGS) -o $@ $(IP_PROG) $(STANDIN) $(WRAP_LIB_CROSS) -ldl $(WRAP_NATIVE_LIBS)

cross-test: $(SETUP_STAMP) $(IP_BUILD)/echo_wrap_aarch64
	@echo "== cross test: aarch64 --wrap + wrap archive + stand-in, under $(QEMU_AARCH64)"
	@file $(IP_BUILD)/echo_wrap_aarch64 | grep -q 'ARM aarch64' || { echo "FAIL: not an aarch64 binary" >&2; exit 1; }
	$(call ip_run,$(QEMU_AARCH64) -L $(CROSS_SYSROOT) $(IP_BUILD)/echo_wrap_aarch64,$(IP_BUILD)/echo_wrap_aarch64,ctests/interpose/expect-standin.txt)
	@echo "cross-test: passed"

symbols-check: $(LIB_RELEASE) $(WRAP_LIB) $(WRAP_LIB_CROSS) $(PRELOAD_LIB)
	scripts/symbols-check.sh $(LIB_RELEASE) ctests/symbols/host.txt
	scripts/symbols-check.sh $(WRAP_LIB) ctests/symbols/wrap.txt
	scripts/symbols-check.sh $(WRAP_LIB_CROSS) ctests/symbols/wrap.txt $(CROSS_READELF)
	scripts/symbols-check.sh $(PRELOAD_LIB) ctests/symbols/preload.txt

# The no_std core: builds for a bare-metal target, and the archive needs
# nothing from outside but the three C functions it declares itself.
nostd-check:
	$(CARGO) build --no-default-features --features wrap --target aarch64-unknown-none
	scripts/nostd-check.sh target/aarch64-unknown-none/debug/libkos_ipc_shim.a
