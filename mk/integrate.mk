# Integration for SDK projects (issue 8): make install / uninstall, the
# pkg-config and CMake packages, the tests that consume an installed prefix,
# and the Rust API docs. See docs/sdk-integration.md "Use it in your SDK project".
#
#   make install PREFIX=/opt/kos-ipc-shim [DESTDIR=/stage] [LIBDIR=..] [INCLUDEDIR=..] [BINDIR=..]
#                [INSTALL_ARCHES="x86_64 aarch64"]
#                        kos-ipc-trace, libraries per architecture in
#                        LIBDIR/kos-ipc-shim/<arch>/ (archives, preload .so,
#                        .pc files), headers, CMake package, manifest
#                        PREFIX/share/kos-ipc-shim/install-manifest.txt
#   make uninstall PREFIX=... [DESTDIR=...]   removes exactly what the manifest lists
#   make doc             cargo doc --no-deps with RUSTDOCFLAGS="-D warnings"
#   make install-test    install + uninstall into temp dirs (plain, DESTDIR, two arches)
#   make cmake-test      a C program built with find_package(KosIpcShim) +
#                        kos_ipc_shim_interpose(app) against an installed prefix;
#                        the toolchain's architecture picks the archive
#   make pkgconfig-test  the same program built with pkg-config --cflags --libs
#   make native-libs-check  the link lists in the installed .pc/CMake files ==
#                        a fresh `--print native-static-libs` of each archive
#
# The link lists are stated once: NATIVE_LIBS (Makefile, host archive) and
# WRAP_NATIVE_LIBS (mk/interpose.mk, wrap archive); the templates in dist/
# receive them through scripts/install.sh. The archives themselves come from
# the rules of the Makefile (lib) and mk/interpose.mk (wrap archives, preload).

.PHONY: install uninstall doc install-test cmake-test pkgconfig-test native-libs-check

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
INT_BUILD := $(BUILD)/integrate
SHIM_VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
# The architectures whose libraries are installed, each in its own
# LIBDIR/kos-ipc-shim/<arch>/: the host's always (host and wrap archives,
# preload library), and the cross-built aarch64 wrap archive (mk/interpose.mk,
# CROSS_TRIPLE) when listed. Recursive: HOST_TRIPLE is set by mk/interpose.mk,
# read after this file.
HOST_ARCH = $(firstword $(subst -, ,$(HOST_TRIPLE)))
CROSS_ARCH = $(firstword $(subst -, ,$(CROSS_TRIPLE)))
INSTALL_ARCHES ?= $(HOST_ARCH)
INT_OTHER_ARCHES = $(filter-out $(HOST_ARCH),$(sort $(INSTALL_ARCHES)))
INT_CHECK_ARCHES = $(if $(filter-out $(CROSS_ARCH),$(INT_OTHER_ARCHES)),$(error INSTALL_ARCHES: \
    $(filter-out $(CROSS_ARCH),$(INT_OTHER_ARCHES)) cannot be built here; the host's ($(HOST_ARCH)) \
    is always installed, and $(CROSS_ARCH) can be added))
INT_CLI := target/release/kos-ipc-trace
INT_HOST_RUN := target/release/kos-host-run

TEST_TARGETS += doc install-test cmake-test pkgconfig-test native-libs-check

INSTALL_ARGS = 'PREFIX=$(PREFIX)' 'DESTDIR=$(DESTDIR)' 'LIBDIR=$(LIBDIR)' 'INCLUDEDIR=$(INCLUDEDIR)' 'BINDIR=$(BINDIR)'

# mk/*.mk are read in name order, so WRAP_LIB_HOST and PRELOAD_LIB
# (mk/interpose.mk) are not yet defined while this file's prerequisite lists
# are read: the files are built by a sub-make with the Makefile's and
# interpose.mk's own rules and named only in recipes.
INT_ARCHIVES = $(MAKE) --no-print-directory lib $(WRAP_LIB_HOST) preload $(INT_CLI) $(INT_HOST_RUN) \
    $(if $(INT_OTHER_ARCHES),$(WRAP_LIB_CROSS))

# The kos-ipc-trace and kos-host-run tools (feature cli, on by default).
$(INT_CLI) $(INT_HOST_RUN): FORCE
	$(CARGO) build --release --bin kos-ipc-trace --bin kos-host-run

install:
	$(INT_CHECK_ARCHES)
	+$(INT_ARCHIVES)
	bash scripts/install.sh install $(INSTALL_ARGS) 'VERSION=$(SHIM_VERSION)' 'HOST_ARCH=$(HOST_ARCH)' \
	    'HOST_LIB=$(LIB_RELEASE)' 'WRAP_LIB=$(WRAP_LIB_HOST)' 'PRELOAD_LIB=$(PRELOAD_LIB)' 'CLI=$(INT_CLI)' 'HOST_RUN=$(INT_HOST_RUN)' \
	    $(foreach a,$(INT_OTHER_ARCHES),'WRAP_LIB_$(a)=$(WRAP_LIB_CROSS)') \
	    'HEADER=include/kos_ipc_shim.h' 'COMPAT_DIR=include/kos' 'TEMPLATES=dist' \
	    'HOST_LIBS=$(NATIVE_LIBS)' 'WRAP_LIBS=$(WRAP_NATIVE_LIBS)' 'WRAP_FLAGS=$(WRAP_FLAGS)'

uninstall:
	bash scripts/install.sh uninstall $(INSTALL_ARGS)

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps
	@echo "doc: cargo doc --no-deps built without warnings"

# The tests below install into fresh temp dirs and consume what is there.
# They need the cross toolchain (scripts/setup.sh): they install the aarch64
# wrap archive too.
INT_ENV = CC='$(CC)' MAKE='$(MAKE)' LIB_RELEASE='$(LIB_RELEASE)' WRAP_LIB='$(WRAP_LIB_HOST)' \
    WRAP_LIB_CROSS='$(WRAP_LIB_CROSS)' PRELOAD_LIB='$(PRELOAD_LIB)' CLI='$(INT_CLI)' INT_BUILD='$(INT_BUILD)' \
    HOST_ARCH='$(HOST_ARCH)' CROSS_ARCH='$(CROSS_ARCH)' CROSS_CC='$(CROSS_CC)' \
    QEMU_AARCH64='$(QEMU_AARCH64)' CROSS_SYSROOT='$(CROSS_SYSROOT)'

install-test: $(SETUP_STAMP)
	+$(INT_ARCHIVES)
	$(INT_ENV) bash scripts/integrate-test.sh install

cmake-test: $(SETUP_STAMP)
	+$(INT_ARCHIVES)
	$(INT_ENV) bash scripts/integrate-test.sh cmake

pkgconfig-test: $(SETUP_STAMP)
	+$(INT_ARCHIVES)
	$(INT_ENV) bash scripts/integrate-test.sh pkgconfig

# A separate target dir: `--print` is an extra rustc argument, and sharing
# target/ would make cargo rebuild the archives every time the two
# alternate. Cargo replays the note while the build is fresh and rebuilds
# (printing anew) whenever a source changes.
NATIVE_TARGET_DIR := target/native-libs
native-libs-check:
	+$(INT_ARCHIVES)
	$(INT_ENV) CARGO='$(CARGO)' HOST_TRIPLE='$(HOST_TRIPLE)' NATIVE_TARGET_DIR='$(NATIVE_TARGET_DIR)' \
	    NATIVE_LIBS='$(NATIVE_LIBS)' WRAP_NATIVE_LIBS='$(WRAP_NATIVE_LIBS)' WRAP_CARGO='$(WRAP_CARGO)' \
	    bash scripts/integrate-test.sh native-libs
