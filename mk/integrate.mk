# Integration for SDK projects (issue 8): make install / uninstall, the
# pkg-config and CMake packages, the tests that consume an installed prefix,
# and the Rust API docs. See README "Use it in your SDK project".
#
#   make install PREFIX=/opt/kos-ipc-shim [DESTDIR=/stage] [LIBDIR=..] [INCLUDEDIR=..]
#                        archives, preload .so, headers, .pc files, CMake package,
#                        manifest PREFIX/share/kos-ipc-shim/install-manifest.txt
#   make uninstall PREFIX=... [DESTDIR=...]   removes exactly what the manifest lists
#   make doc             cargo doc --no-deps with RUSTDOCFLAGS="-D warnings"
#   make install-test    install + uninstall into temp dirs (plain and DESTDIR)
#   make cmake-test      a C program built with find_package(KosIpcShim) +
#                        kos_ipc_shim_interpose(app) against an installed prefix
#   make pkgconfig-test  the same program built with pkg-config --cflags --libs
#   make native-libs-check  the link lists in the installed .pc/CMake files ==
#                        a fresh `--print native-static-libs` of each archive
#
# The link lists are stated once: NATIVE_LIBS (Makefile, host archive) and
# WRAP_NATIVE_LIBS (mk/interpose.mk, wrap archive); the templates in dist/
# receive them through scripts/install.sh. The archives themselves come from
# the rules of the Makefile (lib) and mk/interpose.mk (wrap, preload).

.PHONY: install uninstall doc install-test cmake-test pkgconfig-test native-libs-check

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
INT_BUILD := $(BUILD)/integrate
SHIM_VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
# Size of a pointer in the host archives (the CMake version file rejects a
# project of the other size).
POINTER_SIZE := $(shell $(CC) -dM -E -x c /dev/null 2>/dev/null | sed -n 's/^.define __SIZEOF_POINTER__ //p')

TEST_TARGETS += doc install-test cmake-test pkgconfig-test native-libs-check

INSTALL_ARGS = 'PREFIX=$(PREFIX)' 'DESTDIR=$(DESTDIR)' 'LIBDIR=$(LIBDIR)' 'INCLUDEDIR=$(INCLUDEDIR)'

# mk/*.mk are read in name order, so WRAP_LIB and PRELOAD_LIB (mk/interpose.mk)
# are not yet defined while this file's prerequisite lists are read: the
# archives are built by a sub-make with the Makefile's and interpose.mk's own
# rules (targets lib, wrap, preload) and named only in recipes.
INT_ARCHIVES := $(MAKE) --no-print-directory lib wrap preload

install:
	+$(INT_ARCHIVES)
	bash scripts/install.sh install $(INSTALL_ARGS) \
	    'VERSION=$(SHIM_VERSION)' 'POINTER_SIZE=$(POINTER_SIZE)' \
	    'HOST_LIB=$(LIB_RELEASE)' 'WRAP_LIB=$(WRAP_LIB)' 'PRELOAD_LIB=$(PRELOAD_LIB)' \
	    'HEADER=include/kos_ipc_shim.h' 'COMPAT_DIR=include/kos' 'TEMPLATES=dist' \
	    'HOST_LIBS=$(NATIVE_LIBS)' 'WRAP_LIBS=$(WRAP_NATIVE_LIBS)' 'WRAP_FLAGS=$(WRAP_FLAGS)'

uninstall:
	bash scripts/install.sh uninstall $(INSTALL_ARGS)

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps
	@echo "doc: cargo doc --no-deps built without warnings"

# The tests below install into fresh temp dirs and consume what is there.
INT_ENV = CC='$(CC)' MAKE='$(MAKE)' LIB_RELEASE='$(LIB_RELEASE)' WRAP_LIB='$(WRAP_LIB)' \
    PRELOAD_LIB='$(PRELOAD_LIB)' INT_BUILD='$(INT_BUILD)'

install-test:
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
