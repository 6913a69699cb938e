#!/usr/bin/env bash
# Tests of the installed package (mk/integrate.mk runs them; run them through make).
#
#   integrate-test.sh install       layout, manifest, reinstall, uninstall, DESTDIR, two
#                                   architectures, bad input
#   integrate-test.sh cmake         find_package(KosIpcShim) + kos_ipc_shim_interpose(app);
#                                   the toolchain's architecture picks the archive
#   integrate-test.sh pkgconfig     pkg-config --cflags --libs, per architecture
#   integrate-test.sh native-libs   .pc/CMake link lists == fresh --print native-static-libs
#
# Each installs into a fresh temp dir (removed at exit) with `make install`.
# The consumer program is ctests/interpose/echo_prog.c + report.c, unmodified;
# its output must equal ctests/interpose/expect-standin.txt (interposed on the
# stand-in libkos: the shim counted every call, the stand-in received every
# call) or expect-host.txt (host archive: the shim counted every call, the
# emulator served them).
#
# Libraries are installed per architecture (lib/kos-ipc-shim/<arch>/):
# HOST_ARCH's always, CROSS_ARCH's wrap archive (aarch64, cross-built) when a
# test asks for it; CROSS_CC and QEMU_AARCH64, when present, build and run
# the program for it.
set -euo pipefail

mode=${1:?usage: integrate-test.sh install|cmake|pkgconfig|native-libs}
: "${CC:=gcc}" "${MAKE:=make}" "${HOST_ARCH:?}" "${CROSS_ARCH:=aarch64}"
: "${CROSS_CC:=aarch64-linux-gnu-gcc}" "${QEMU_AARCH64:=qemu-aarch64}" "${CROSS_SYSROOT:=/usr/aarch64-linux-gnu}"
root=$(pwd)
[ -f "$root/mk/integrate.mk" ] || { echo "integrate-test.sh: run from the repository root" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kos-shim-$mode.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
checks=0
fail() { printf 'FAIL %s: %s\n' "$mode" "$*" >&2; exit 1; }
ok() { checks=$((checks + 1)); printf '  ok %s\n' "$*"; }

make_install() { "$MAKE" --no-print-directory -s install "$@" >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log" >&2; fail "make install $*"; }; }
make_uninstall() { "$MAKE" --no-print-directory -s uninstall "$@" >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log" >&2; fail "make uninstall $*"; }; }

# run_expect NAME EXPECT_FILE CMD...: CMD's stdout must equal EXPECT_FILE.
run_expect() {
    local name=$1 expect=$2
    shift 2
    if ! timeout 120 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
        cat "$tmp/$name.out" "$tmp/$name.err" >&2
        fail "$name exited with an error"
    fi
    diff -u "$expect" "$tmp/$name.out" >&2 || { cat "$tmp/$name.err" >&2; fail "$name: output differs from $expect"; }
    sed 's/^/    | /' "$tmp/$name.out"
    ok "$name: output == $expect"
}

# The files an installation must contain, relative to the prefix: the host
# architecture's, and the wrap archive of each architecture given.
expected_files() {
    local h=lib/kos-ipc-shim/$HOST_ARCH a
    {
        printf '%s\n' bin/kos-ipc-trace bin/kos-host-run \
            share/man/man1/kos-ipc-trace.1 share/man/man1/kos-host-run.1 \
            share/man/man1/kos-ipc-trace-{summary,export,names,merge,policy-from,check}.1 \
            share/bash-completion/completions/{kos-ipc-trace,kos-host-run} \
            share/zsh/site-functions/{_kos-ipc-trace,_kos-host-run} \
            share/fish/vendor_completions.d/{kos-ipc-trace,kos-host-run}.fish \
            $h/libkos_ipc_shim.a $h/libkos_ipc_shim_wrap.a $h/libkos_ipc_shim_preload.so \
            $h/pkgconfig/kos-ipc-shim.pc $h/pkgconfig/kos-ipc-shim-wrap.pc \
            include/kos-ipc-shim/kos_ipc_shim.h \
            lib/cmake/KosIpcShim/KosIpcShimConfig.cmake lib/cmake/KosIpcShim/KosIpcShimConfigVersion.cmake \
            lib/cmake/KosIpcShim/KosIpcShimArch.cmake \
            share/kos-ipc-shim/install-manifest.txt
        for a in "$@"; do
            printf '%s\n' "lib/kos-ipc-shim/$a/libkos_ipc_shim_wrap.a" "lib/kos-ipc-shim/$a/pkgconfig/kos-ipc-shim-wrap.pc"
        done
        (cd include/kos && find . -name '*.h' -type f | sed 's|^\./|include/kos-ipc-shim/kos/|')
    } | LC_ALL=C sort
}
files_under() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }

# check_manifest DIR: DIR/prefix was created by the installation; its
# manifest lists exactly the files and directories there.
check_manifest() {
    local dir=$1 manifest=$1/prefix/share/kos-ipc-shim/install-manifest.txt
    diff -u <(files_under "$dir/prefix" | sed "s|^|f $dir/prefix/|") <(grep '^f ' "$manifest" | LC_ALL=C sort) >&2 \
        || fail "manifest files != installed files"
    diff -u <(cd "$dir" && find prefix -type d | sed "s|^|d $dir/|" | LC_ALL=C sort) \
        <(grep '^d ' "$manifest" | LC_ALL=C sort) >&2 || fail "manifest directories != created directories"
}

# machines FILE: the ELF machines of FILE (of every member of an archive), one line each.
machines() { readelf -h -- "$1" | sed -n 's/^ *Machine: *//p' | LC_ALL=C sort -u; }
machine_of() { case $1 in x86_64) echo 'Advanced Micro Devices X86-64' ;; aarch64) echo AArch64 ;; *) echo "$1" ;; esac; }

test_install() {
    local prefix=$tmp/a/prefix
    mkdir -p "$tmp/a"
    make_install PREFIX="$prefix"
    diff -u <(expected_files) <(files_under "$prefix") >&2 || fail "installed files differ from the expected list"
    ok "install: $(expected_files | wc -l) files, exactly the expected list"
    local manifest=$prefix/share/kos-ipc-shim/install-manifest.txt
    check_manifest "$tmp/a"
    ok "manifest lists every installed file and every created directory"
    local lib=$prefix/lib/kos-ipc-shim/$HOST_ARCH
    cmp -s include/kos_ipc_shim.h "$prefix/include/kos-ipc-shim/kos_ipc_shim.h" || fail "installed header differs"
    cmp -s "$LIB_RELEASE" "$lib/libkos_ipc_shim.a" || fail "installed host archive differs"
    cmp -s "$WRAP_LIB" "$lib/libkos_ipc_shim_wrap.a" || fail "installed wrap archive differs"
    cmp -s "$PRELOAD_LIB" "$lib/libkos_ipc_shim_preload.so" || fail "installed preload library differs"
    cmp -s "$CLI" "$prefix/bin/kos-ipc-trace" || fail "installed kos-ipc-trace differs"
    ok "archives, preload library, kos-ipc-trace and header are byte-identical to the build's"
    [ -x "$prefix/bin/kos-ipc-trace" ] || fail "bin/kos-ipc-trace is not executable"
    "$prefix/bin/kos-ipc-trace" --help >"$tmp/help.out" 2>&1 || { cat "$tmp/help.out" >&2; fail "kos-ipc-trace --help exited with an error"; }
    grep -q '^Usage: kos-ipc-trace ' "$tmp/help.out" || { cat "$tmp/help.out" >&2; fail "kos-ipc-trace --help: no usage line"; }
    ok "bin/kos-ipc-trace --help exits 0 and prints its usage"
    bash -n "$prefix/share/bash-completion/completions/kos-ipc-trace" || fail "kos-ipc-trace's bash completion: bash -n"
    grep -q '^\.TH kos-ipc-trace-check 1' "$prefix/share/man/man1/kos-ipc-trace-check.1" || fail "kos-ipc-trace-check.1: no .TH line"
    ok "man pages and bash/zsh/fish completions of both tools; the bash one passes bash -n"
    local f
    for f in "$lib"/*.a "$lib"/*.so "$prefix/bin/kos-ipc-trace"; do
        [ "$(machines "$f")" = "$(machine_of "$HOST_ARCH")" ] || fail "$f: ELF machine '$(machines "$f")'"
    done
    ok "everything in lib/kos-ipc-shim/$HOST_ARCH/ and bin/ is $HOST_ARCH code (readelf -h)"
    grep -qx "prefix=$prefix" "$lib/pkgconfig/kos-ipc-shim.pc" || fail "kos-ipc-shim.pc: prefix line"
    grep -qx "arch=$HOST_ARCH" "$lib/pkgconfig/kos-ipc-shim.pc" || fail "kos-ipc-shim.pc: arch line"
    grep -q '^Libs: ${wrapflags} ${archive}' "$lib/pkgconfig/kos-ipc-shim-wrap.pc" || fail "kos-ipc-shim-wrap.pc: Libs line"
    ok ".pc files name the prefix and the architecture and carry the wrap flags"

    # Reinstalling over it changes nothing in the list.
    cp "$manifest" "$tmp/manifest.1"
    make_install PREFIX="$prefix"
    diff -u "$tmp/manifest.1" "$manifest" >&2 || fail "second install wrote a different manifest"
    ok "installing again over the same prefix: same manifest"

    # Uninstall removes exactly the listed things: a file of someone else's stays.
    echo other >"$prefix/lib/other.txt"
    make_uninstall PREFIX="$prefix"
    diff -u <(printf '%s\n' prefix prefix/lib prefix/lib/other.txt) \
        <(cd "$tmp/a" && find prefix | LC_ALL=C sort) >&2 || fail "uninstall left or removed the wrong things"
    ok "uninstall removed every installed file and empty created directory, kept lib/other.txt"
    rm -rf "$prefix"
    if "$MAKE" --no-print-directory -s uninstall PREFIX="$prefix" >"$tmp/u.log" 2>&1; then
        fail "uninstall with nothing installed succeeded"
    fi
    grep -q "nothing to uninstall: $prefix/share/kos-ipc-shim/install-manifest.txt does not exist" "$tmp/u.log" \
        || { cat "$tmp/u.log" >&2; fail "uninstall without manifest: wrong message"; }
    ok "uninstall with nothing installed: exit != 0, 'nothing to uninstall' message"

    # DESTDIR: files staged under DESTDIR, contents name the final PREFIX.
    local stage=$tmp/stage final=/opt/kos-ipc-shim-test
    make_install PREFIX="$final" DESTDIR="$stage"
    diff -u <(expected_files) <(files_under "$stage$final") >&2 || fail "DESTDIR install: wrong files"
    [ "$(find "$stage" -type f | wc -l)" -eq "$(expected_files | wc -l)" ] || fail "DESTDIR install wrote outside DESTDIR/PREFIX"
    grep -qx "prefix=$final" "$stage$final/lib/kos-ipc-shim/$HOST_ARCH/pkgconfig/kos-ipc-shim.pc" || fail "DESTDIR .pc names the staging dir"
    grep -q "^f $final/lib/kos-ipc-shim/$HOST_ARCH/libkos_ipc_shim.a\$" "$stage$final/share/kos-ipc-shim/install-manifest.txt" \
        || fail "DESTDIR manifest holds staging paths"
    ! grep -rqF "$stage" "$stage$final/lib/kos-ipc-shim" "$stage$final/lib/cmake" "$stage$final/share" \
        || fail "an installed text file mentions the staging dir"
    ok "DESTDIR=$stage PREFIX=$final: staged files, final paths inside"
    make_uninstall PREFIX="$final" DESTDIR="$stage"
    [ -z "$(find "$stage" -mindepth 1)" ] || { find "$stage" >&2; fail "DESTDIR uninstall left files"; }
    ok "DESTDIR uninstall: staging dir empty"

    if "$MAKE" --no-print-directory -s install PREFIX=relative/dir >"$tmp/r.log" 2>&1; then
        fail "install with a relative PREFIX succeeded"
    fi
    grep -q "PREFIX must be an absolute path, got 'relative/dir'" "$tmp/r.log" || { cat "$tmp/r.log" >&2; fail "relative PREFIX: wrong message"; }
    [ ! -e relative ] || fail "relative PREFIX created something"
    ok "relative PREFIX refused with a message, nothing written"

    test_install_arches
}

# Two architectures in one prefix: the aarch64 wrap archive in its own
# directory, never beside the host's libraries.
test_install_arches() {
    [ "$CROSS_ARCH" != "$HOST_ARCH" ] || { echo "  (host is $CROSS_ARCH: no second architecture to install)"; return 0; }
    local prefix=$tmp/b/prefix
    mkdir -p "$tmp/b"
    make_install PREFIX="$prefix" INSTALL_ARCHES="$HOST_ARCH $CROSS_ARCH"
    diff -u <(expected_files "$CROSS_ARCH") <(files_under "$prefix") >&2 || fail "two-arch install: files differ from the expected list"
    check_manifest "$tmp/b"
    ok "INSTALL_ARCHES=\"$HOST_ARCH $CROSS_ARCH\": $(expected_files "$CROSS_ARCH" | wc -l) files, exactly the expected list and manifest"
    local cross=$prefix/lib/kos-ipc-shim/$CROSS_ARCH f
    cmp -s "$WRAP_LIB_CROSS" "$cross/libkos_ipc_shim_wrap.a" || fail "installed $CROSS_ARCH wrap archive differs from $WRAP_LIB_CROSS"
    [ "$(machines "$cross/libkos_ipc_shim_wrap.a")" = "$(machine_of "$CROSS_ARCH")" ] \
        || fail "$cross/libkos_ipc_shim_wrap.a: ELF machine '$(machines "$cross/libkos_ipc_shim_wrap.a")'"
    for f in "$prefix/lib/kos-ipc-shim/$HOST_ARCH"/*.a "$prefix/lib/kos-ipc-shim/$HOST_ARCH"/*.so; do
        [ "$(machines "$f")" = "$(machine_of "$HOST_ARCH")" ] || fail "$f: ELF machine '$(machines "$f")'"
    done
    ok "lib/kos-ipc-shim/$CROSS_ARCH/libkos_ipc_shim_wrap.a is an $(machine_of "$CROSS_ARCH") archive; lib/kos-ipc-shim/$HOST_ARCH/ holds $HOST_ARCH code only"
    grep -qx "arch=$CROSS_ARCH" "$cross/pkgconfig/kos-ipc-shim-wrap.pc" || fail "$CROSS_ARCH kos-ipc-shim-wrap.pc: arch line"

    # Back to the host alone: the cross directory goes, the manifest stays exact.
    make_install PREFIX="$prefix"
    diff -u <(expected_files) <(files_under "$prefix") >&2 || fail "host-only reinstall: files differ"
    [ ! -e "$cross" ] || fail "host-only reinstall left $cross"
    check_manifest "$tmp/b"
    ok "reinstalling for $HOST_ARCH alone removes lib/kos-ipc-shim/$CROSS_ARCH/; manifest exact"
    make_install PREFIX="$prefix" INSTALL_ARCHES="$CROSS_ARCH $HOST_ARCH"
    make_uninstall PREFIX="$prefix"
    [ ! -e "$prefix" ] || { find "$prefix" >&2; fail "uninstall left $prefix behind"; }
    ok "two-arch uninstall: $prefix is gone"

    if "$MAKE" --no-print-directory -s install PREFIX="$tmp/c" INSTALL_ARCHES="$HOST_ARCH riscv64" >"$tmp/ra.log" 2>&1; then
        fail "INSTALL_ARCHES with riscv64 succeeded"
    fi
    grep -q "INSTALL_ARCHES: riscv64 cannot be built here" "$tmp/ra.log" || { cat "$tmp/ra.log" >&2; fail "INSTALL_ARCHES=riscv64: wrong message"; }
    [ ! -e "$tmp/c" ] || fail "INSTALL_ARCHES=riscv64 wrote something"
    ok "an architecture that cannot be built is refused with a message, nothing written"

    # install.sh itself refuses an archive in another architecture's directory.
    if bash scripts/install.sh install PREFIX="$tmp/c" VERSION=0.0.0 HOST_ARCH="$HOST_ARCH" HOST_LIB="$LIB_RELEASE" \
        WRAP_LIB="$WRAP_LIB" "WRAP_LIB_$CROSS_ARCH=$WRAP_LIB" HEADER=include/kos_ipc_shim.h COMPAT_DIR=include/kos \
        TEMPLATES=dist WRAP_FLAGS=-Wl,--wrap=Call >"$tmp/wa.log" 2>&1; then
        fail "install.sh put a $HOST_ARCH archive under $CROSS_ARCH"
    fi
    grep -qF "$WRAP_LIB is built for $HOST_ARCH, not $CROSS_ARCH" "$tmp/wa.log" || { cat "$tmp/wa.log" >&2; fail "wrong-arch archive: wrong message"; }
    [ ! -e "$tmp/c" ] || fail "the wrong-arch install wrote something"
    ok "install.sh refuses the $HOST_ARCH wrap archive as the $CROSS_ARCH one, nothing written"
    # ... and an archive that mixes architectures (one host object in the aarch64 archive).
    printf 'int kos_shim_test_stray;\n' | "$CC" -c -x c - -o "$tmp/stray.o"
    cp "$WRAP_LIB_CROSS" "$tmp/mixed.a"
    ar q "$tmp/mixed.a" "$tmp/stray.o" 2>/dev/null
    if bash scripts/install.sh install PREFIX="$tmp/c" VERSION=0.0.0 HOST_ARCH="$HOST_ARCH" HOST_LIB="$LIB_RELEASE" \
        WRAP_LIB="$WRAP_LIB" "WRAP_LIB_$CROSS_ARCH=$tmp/mixed.a" HEADER=include/kos_ipc_shim.h COMPAT_DIR=include/kos \
        TEMPLATES=dist WRAP_FLAGS=-Wl,--wrap=Call >"$tmp/wm.log" 2>&1; then
        fail "install.sh installed an archive of two architectures"
    fi
    grep -qF "$tmp/mixed.a: members of several architectures (machine, pointer size): $CROSS_ARCH 8, $HOST_ARCH 8" "$tmp/wm.log" \
        || { cat "$tmp/wm.log" >&2; fail "mixed archive: wrong message"; }
    [ "$(wc -l <"$tmp/wm.log")" -eq 1 ] || { cat "$tmp/wm.log" >&2; fail "mixed archive: more than one message"; }
    [ ! -e "$tmp/c" ] || fail "the mixed-archive install wrote something"
    ok "install.sh refuses an archive with members of two architectures, one message, nothing written"
}

test_cmake() {
    command -v cmake >/dev/null || fail "cmake not found (scripts/setup.sh installs it)"
    local prefix=$tmp/prefix build=$tmp/build arches=$HOST_ARCH
    [ "$CROSS_ARCH" = "$HOST_ARCH" ] || arches+=" $CROSS_ARCH"
    make_install PREFIX="$prefix" INSTALL_ARCHES="$arches"
    ok "installed into $prefix for $arches"
    cmake -S ctests/integrate -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DKOS_SHIM_SOURCE_DIR="$root" \
        -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Debug >"$tmp/configure.log" 2>&1 \
        || { cat "$tmp/configure.log" >&2; fail "cmake configure"; }
    cmake --build "$build" -j 2 -- VERBOSE=1 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "cmake --build"; }
    local hostlib=$prefix/lib/kos-ipc-shim/$HOST_ARCH
    grep -q -- "-Wl,--wrap=Call,--wrap=CallEx,--wrap=Recv,--wrap=RecvEx,--wrap=Reply .*$hostlib/libkos_ipc_shim_wrap.a" \
        "$tmp/build.log" || { grep -- '-o echo_wrap' "$tmp/build.log" >&2; fail "echo_wrap's link line lacks the --wrap options or the archive"; }
    ok "cmake built echo_wrap (--wrap options and $hostlib/libkos_ipc_shim_wrap.a on its link line, picked for the host toolchain) and echo_host"
    grep -qx "version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)" "$build/package.txt" || fail "KosIpcShim_VERSION"
    run_expect cmake-echo_wrap ctests/interpose/expect-standin.txt "$build/echo_wrap"
    run_expect cmake-echo_host ctests/interpose/expect-host.txt "$build/echo_host"
    run_expect cmake-stats_wrap ctests/integrate/expect-stats.txt "$build/stats_wrap"
    run_expect cmake-stats_host ctests/integrate/expect-stats.txt "$build/stats_host"

    # The function's argument checks and the version file, in a project with no languages (fast).
    local neg=$tmp/neg
    mkdir -p "$neg"
    cmake_expect_error() {
        local name=$1 body=$2 message=$3
        mkdir -p "$neg/$name"
        printf 'cmake_minimum_required(VERSION 3.13)\nproject(neg NONE)\n%s\n' "$body" >"$neg/$name/CMakeLists.txt"
        if cmake -S "$neg/$name" -B "$neg/$name/b" -DCMAKE_PREFIX_PATH="$prefix" >"$neg/$name.log" 2>&1; then
            fail "$name: configure succeeded"
        fi
        tr -s ' \n' '  ' <"$neg/$name.log" | grep -qF "$message" || { cat "$neg/$name.log" >&2; fail "$name: message '$message' missing"; }
        ok "$name: configure fails with \"$message\""
    }
    cmake_expect_error interface-target \
        'find_package(KosIpcShim REQUIRED)
add_library(iface INTERFACE)
kos_ipc_shim_interpose(iface)' "kos_ipc_shim_interpose: 'iface' is a INTERFACE_LIBRARY"
    cmake_expect_error no-target 'find_package(KosIpcShim REQUIRED)
kos_ipc_shim_interpose(nothing)' "kos_ipc_shim_interpose: 'nothing' is not a target"
    cmake_expect_error version-too-new 'find_package(KosIpcShim 1.0 REQUIRED)' 'version: 0.1.0'
    # Coverage is stated: a dynamically linked target gets a warning (the NK
    # transport in a shared libkos is not wrapped); -static set even after the
    # call, or KOS_IPC_SHIM_ACCEPT_DYNAMIC, keeps it quiet.
    cmake_static_case() {
        local name=$1 body=$2 want=$3
        mkdir -p "$neg/$name"
        : >"$neg/$name/app.c"
        printf 'cmake_minimum_required(VERSION 3.13)\nproject(st C)\nfind_package(KosIpcShim REQUIRED)\nadd_executable(app app.c)\n%s\n' \
            "$body" >"$neg/$name/CMakeLists.txt"
        cmake -S "$neg/$name" -B "$neg/$name/b" -DCMAKE_PREFIX_PATH="$prefix" >"$neg/$name.log" 2>&1 \
            || { cat "$neg/$name.log" >&2; fail "$name: configure failed"; }
        if tr -s ' \n' '  ' <"$neg/$name.log" | grep -qF "app is not linked statically"; then
            [ "$want" = warn ] || { cat "$neg/$name.log" >&2; fail "$name: unexpected static-link warning"; }
            tr -s ' \n' '  ' <"$neg/$name.log" | grep -qF "the NK transport inside the shared libkos" \
                || fail "$name: the warning does not say what is missed"
        else
            [ "$want" = quiet ] || { cat "$neg/$name.log" >&2; fail "$name: no static-link warning"; }
        fi
        ok "$name: $want"
    }
    cmake_static_case dynamic-warns 'kos_ipc_shim_interpose(app)' warn
    cmake_static_case static-quiet 'kos_ipc_shim_interpose(app)
target_link_options(app PRIVATE -static)' quiet
    cmake_static_case accepted-quiet 'set(KOS_IPC_SHIM_ACCEPT_DYNAMIC ON)
kos_ipc_shim_interpose(app)' quiet
    # NAMES (or KOS_IPC_SHIM_WRAP_LOCATOR) adds the locator's --wrap flags; a plain call does not.
    cmake_locator_case() {
        local name=$1 call=$2 want=$3 opts
        cmake_static_case "$name" "set(KOS_IPC_SHIM_ACCEPT_DYNAMIC ON)
$call
get_target_property(o app LINK_OPTIONS)
file(WRITE \"\${CMAKE_BINARY_DIR}/opts.txt\" \"\${o}\")" quiet >/dev/null
        opts=$(cat "$neg/$name/b/opts.txt")
        if [[ $opts == *--wrap=ServiceLocatorConnect* ]]; then [ "$want" = yes ]; else [ "$want" = no ]; fi ||
            fail "$name: link options '$opts' (locator flags expected: $want)"
        ok "$name: locator flags $want"
    }
    cmake_locator_case names-flag 'kos_ipc_shim_interpose(app NAMES)' yes
    cmake_locator_case names-variable 'set(KOS_IPC_SHIM_WRAP_LOCATOR ON)
kos_ipc_shim_interpose(app)' yes
    cmake_locator_case names-off 'kos_ipc_shim_interpose(app)' no
    cmake_expect_error version-minor 'find_package(KosIpcShim 0.2 REQUIRED)' 'version: 0.1.0'

    cmake_arches "$prefix"

    make_uninstall PREFIX="$prefix"
    [ ! -e "$prefix" ] || { find "$prefix" >&2; fail "uninstall left $prefix behind"; }
    ok "uninstalled: $prefix is gone"
}

# The toolchain's architecture picks the archives: a probe project reports
# what the package chose.
cmake_arches() {
    local prefix=$1 probe=$tmp/probe
    mkdir -p "$probe"
    cat >"$probe/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(probe ${PROBE_LANGUAGES})
find_package(KosIpcShim 0.1 ${PROBE_REQUIRED})
set(host_target no)
if(TARGET KosIpcShim::host)
  set(host_target yes)
endif()
file(WRITE "${CMAKE_BINARY_DIR}/arch.txt" "found=${KosIpcShim_FOUND}\narch=${KosIpcShim_ARCH}\n"
  "arches=${KosIpcShim_ARCHES}\nwrap=${KosIpcShim_WRAP_LIBRARY}\nhost=${KosIpcShim_HOST_LIBRARY}\n"
  "host_target=${host_target}\npreload=${KosIpcShim_PRELOAD_LIBRARY}\n")
# The echo program for this toolchain, interposed on the stand-in libkos.
if(PROBE_ECHO)
  set(CMAKE_C_STANDARD 11)
  add_compile_options(-Wall -Wextra -Wpedantic -Werror -pthread)
  find_package(Threads REQUIRED)
  add_library(kos_standin STATIC "${PROBE_SRC}/ctests/standin/libkos_standin.c")
  target_link_libraries(kos_standin PUBLIC KosIpcShim::compat Threads::Threads)
  add_executable(echo_wrap "${PROBE_SRC}/ctests/interpose/echo_prog.c" "${PROBE_SRC}/ctests/interpose/report.c")
  target_link_libraries(echo_wrap kos_standin ${CMAKE_DL_LIBS})
  set(KOS_IPC_SHIM_ACCEPT_DYNAMIC ON)
  kos_ipc_shim_interpose(echo_wrap)
endif()
EOF
    # probe NAME ARGS...: configure (languages NONE unless ARGS say otherwise).
    probe() {
        local name=$1
        shift
        cmake -S "$probe" -B "$probe/$name" -DCMAKE_PREFIX_PATH="$prefix" -DPROBE_REQUIRED=REQUIRED \
            -DPROBE_LANGUAGES=NONE -DPROBE_SRC="$root" "$@" >"$probe/$name.log" 2>&1
    }
    # probe_expect NAME KEY=VALUE... -- ARGS...: configures; arch.txt holds each KEY=VALUE.
    probe_expect() {
        local name=$1 kv
        shift
        local -a want=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do want+=("$1"); shift; done
        [ $# -gt 0 ] && shift
        probe "$name" "$@" || { cat "$probe/$name.log" >&2; fail "$name: configure failed"; }
        for kv in "${want[@]}"; do
            grep -qxF "$kv" "$probe/$name/arch.txt" || { cat "$probe/$name/arch.txt" >&2; fail "$name: want $kv"; }
        done
        ok "$name: ${want[*]}"
    }
    # probe_fails NAME MESSAGE ARGS...
    probe_fails() {
        local name=$1 message=$2
        shift 2
        if probe "$name" "$@"; then fail "$name: configure succeeded"; fi
        tr -s ' \n' '  ' <"$probe/$name.log" | grep -qF "$message" || { cat "$probe/$name.log" >&2; fail "$name: message '$message' missing"; }
        ok "$name: configure fails with \"$message\""
    }
    local hostlib=$prefix/lib/kos-ipc-shim/$HOST_ARCH
    probe_expect host-toolchain "arch=$HOST_ARCH" "wrap=$hostlib/libkos_ipc_shim_wrap.a" \
        "host=$hostlib/libkos_ipc_shim.a" host_target=yes "preload=$hostlib/libkos_ipc_shim_preload.so" \
        -- -DPROBE_LANGUAGES=C -DCMAKE_C_COMPILER="$CC"
    probe_fails riscv64 "KosIpcShim: no libraries for riscv64 (from the toolchain's CMAKE_SYSTEM_PROCESSOR 'riscv64') in $prefix/lib/kos-ipc-shim; installed architectures: $arches" \
        -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=riscv64
    probe_expect riscv64-optional found=0 arch= -- -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=riscv64 -DPROBE_REQUIRED=
    grep -qF "no libraries for riscv64" "$probe/riscv64-optional.log" || fail "riscv64-optional: the reason is not shown"
    [ "$CROSS_ARCH" != "$HOST_ARCH" ] || return 0

    local crosslib=$prefix/lib/kos-ipc-shim/$CROSS_ARCH
    local -a cross_args=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="$CROSS_ARCH")
    if command -v "$CROSS_CC" >/dev/null; then
        cross_args+=(-DPROBE_LANGUAGES=C -DCMAKE_C_COMPILER="$CROSS_CC" -DPROBE_ECHO=ON)
    else
        echo "  ($CROSS_CC not found: configuring for $CROSS_ARCH without a compiler)"
    fi
    probe_expect "$CROSS_ARCH-toolchain" "arch=$CROSS_ARCH" "wrap=$crosslib/libkos_ipc_shim_wrap.a" host= host_target=no preload= \
        -- "${cross_args[@]}"
    if command -v "$CROSS_CC" >/dev/null; then
        cmake --build "$probe/$CROSS_ARCH-toolchain" -- VERBOSE=1 >"$tmp/cross-build.log" 2>&1 \
            || { cat "$tmp/cross-build.log" >&2; fail "cmake --build for $CROSS_ARCH"; }
        grep -q -- "-Wl,--wrap=Call,.*$crosslib/libkos_ipc_shim_wrap.a" "$tmp/cross-build.log" \
            || { cat "$tmp/cross-build.log" >&2; fail "the $CROSS_ARCH echo_wrap was not linked with $crosslib/libkos_ipc_shim_wrap.a"; }
        file "$probe/$CROSS_ARCH-toolchain/echo_wrap" | grep -q 'ARM aarch64' || fail "echo_wrap built with $CROSS_CC is not an aarch64 executable"
        ok "$CROSS_CC built echo_wrap with $crosslib/libkos_ipc_shim_wrap.a (an aarch64 executable)"
        if command -v "$QEMU_AARCH64" >/dev/null; then
            run_expect "cmake-echo_wrap-$CROSS_ARCH" ctests/interpose/expect-standin.txt \
                "$QEMU_AARCH64" -L "$CROSS_SYSROOT" "$probe/$CROSS_ARCH-toolchain/echo_wrap"
        fi
    fi
    probe_expect arm64-spelling "arch=$CROSS_ARCH" -- -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=arm64
    probe_expect AMD64-spelling "arch=x86_64" -- -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=AMD64
    probe_expect by-hand "arch=$CROSS_ARCH" "wrap=$crosslib/libkos_ipc_shim_wrap.a" -- -DKOS_IPC_SHIM_ARCH="$CROSS_ARCH"
    # The pointer size checked is that of the architecture picked.
    probe_fails "$CROSS_ARCH-32bit" "version: 0.1.0 ($CROSS_ARCH, 64-bit)" \
        -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="$CROSS_ARCH" -DCMAKE_SIZEOF_VOID_P=4

    # A prefix with the host's libraries only: an aarch64 toolchain is told so.
    local one=$tmp/one
    make_install PREFIX="$one"
    prefix=$one
    probe_fails "$CROSS_ARCH-not-installed" "KosIpcShim: no libraries for $CROSS_ARCH (from the toolchain's CMAKE_SYSTEM_PROCESSOR '$CROSS_ARCH') in $one/lib/kos-ipc-shim; installed architectures: $HOST_ARCH." \
        -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="$CROSS_ARCH"
    make_uninstall PREFIX="$one"
}

test_pkgconfig() {
    command -v pkg-config >/dev/null || fail "pkg-config not found (scripts/setup.sh installs it)"
    local prefix=$tmp/prefix arches=$HOST_ARCH
    [ "$CROSS_ARCH" = "$HOST_ARCH" ] || arches+=" $CROSS_ARCH"
    make_install PREFIX="$prefix" INSTALL_ARCHES="$arches"
    ok "installed into $prefix for $arches"
    # Only our .pc files, those of the host architecture: no system ones can stand in for them.
    export PKG_CONFIG_LIBDIR=$prefix/lib/kos-ipc-shim/$HOST_ARCH/pkgconfig PKG_CONFIG_PATH=
    local version
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
    [ "$(pkg-config --modversion kos-ipc-shim)" = "$version" ] || fail "kos-ipc-shim --modversion"
    [ "$(pkg-config --modversion kos-ipc-shim-wrap)" = "$version" ] || fail "kos-ipc-shim-wrap --modversion"
    ok "pkg-config --modversion: $version for both"
    local locator='-Wl,--wrap=ServiceLocatorRegister,--wrap=ServiceLocatorConnect,--wrap=ServiceLocatorGetRiid'
    [ "$(pkg-config --variable=locator_wrap_flags kos-ipc-shim-wrap)" = "$locator" ] ||
        fail "locator_wrap_flags is '$(pkg-config --variable=locator_wrap_flags kos-ipc-shim-wrap)'"
    ok "pkg-config --variable=locator_wrap_flags: the three ServiceLocator --wrap flags"
    local flags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -pthread)
    local prog=(ctests/interpose/echo_prog.c ctests/interpose/report.c)
    # shellcheck disable=SC2046 # word splitting of pkg-config output is the point
    "$CC" "${flags[@]}" $(pkg-config --cflags kos-ipc-shim) -o "$tmp/echo_host" "${prog[@]}" \
        $(pkg-config --libs kos-ipc-shim) || fail "cc against kos-ipc-shim"
    echo "    cc ... \$(pkg-config --cflags kos-ipc-shim) echo_prog.c report.c \$(pkg-config --libs kos-ipc-shim)"
    run_expect pkgconfig-echo_host ctests/interpose/expect-host.txt "$tmp/echo_host"

    # The SDK of this test: the stand-in libkos as a static library, linked
    # last as a toolchain links libkos; its headers are the compat headers.
    local sdk
    sdk=$(pkg-config --variable=compatincludedir kos-ipc-shim)
    [ "$sdk" = "$prefix/include/kos-ipc-shim/kos" ] || fail "compatincludedir is '$sdk'"
    "$CC" "${flags[@]}" -I"$sdk" -c -o "$tmp/standin.o" ctests/standin/libkos_standin.c || fail "cc stand-in"
    ar rcs "$tmp/libkos_standin.a" "$tmp/standin.o"
    # shellcheck disable=SC2046
    "$CC" "${flags[@]}" -I"$sdk" $(pkg-config --cflags kos-ipc-shim-wrap) -o "$tmp/echo_wrap" "${prog[@]}" \
        $(pkg-config --libs kos-ipc-shim-wrap) -L"$tmp" -lkos_standin -ldl || fail "cc against kos-ipc-shim-wrap"
    echo "    cc ... \$(pkg-config --cflags kos-ipc-shim-wrap) echo_prog.c report.c \$(pkg-config --libs kos-ipc-shim-wrap) -lkos_standin"
    run_expect pkgconfig-echo_wrap ctests/interpose/expect-standin.txt "$tmp/echo_wrap"
    [ "$(pkg-config --variable=archive kos-ipc-shim-wrap)" = "$prefix/lib/kos-ipc-shim/$HOST_ARCH/libkos_ipc_shim_wrap.a" ] \
        || fail "host kos-ipc-shim-wrap.pc: archive is '$(pkg-config --variable=archive kos-ipc-shim-wrap)'"
    ok "lib/kos-ipc-shim/$HOST_ARCH/pkgconfig gives the $HOST_ARCH archives"

    # The aarch64 directory: the wrap archive only, built and run for aarch64.
    if [ "$CROSS_ARCH" != "$HOST_ARCH" ]; then
        local crosslib=$prefix/lib/kos-ipc-shim/$CROSS_ARCH
        export PKG_CONFIG_LIBDIR=$crosslib/pkgconfig
        [ "$(pkg-config --variable=arch kos-ipc-shim-wrap)" = "$CROSS_ARCH" ] || fail "$CROSS_ARCH kos-ipc-shim-wrap.pc: arch"
        pkg-config --libs kos-ipc-shim-wrap | grep -qF " $crosslib/libkos_ipc_shim_wrap.a " \
            || fail "$CROSS_ARCH: pkg-config --libs kos-ipc-shim-wrap is '$(pkg-config --libs kos-ipc-shim-wrap)'"
        ! pkg-config --exists kos-ipc-shim || fail "$CROSS_ARCH: kos-ipc-shim.pc (the host build) is there"
        ok "lib/kos-ipc-shim/$CROSS_ARCH/pkgconfig: kos-ipc-shim-wrap names $crosslib/libkos_ipc_shim_wrap.a; no host build"
        if command -v "$CROSS_CC" >/dev/null; then
            # shellcheck disable=SC2046
            "$CROSS_CC" "${flags[@]}" -I"$sdk" $(pkg-config --cflags kos-ipc-shim-wrap) -o "$tmp/echo_wrap_$CROSS_ARCH" \
                "${prog[@]}" ctests/standin/libkos_standin.c $(pkg-config --libs kos-ipc-shim-wrap) -ldl \
                || fail "$CROSS_CC against the $CROSS_ARCH kos-ipc-shim-wrap"
            file "$tmp/echo_wrap_$CROSS_ARCH" | grep -q 'ARM aarch64' || fail "echo_wrap_$CROSS_ARCH is not an aarch64 executable"
            echo "    $CROSS_CC ... echo_prog.c report.c libkos_standin.c \$(pkg-config --libs kos-ipc-shim-wrap)   # PKG_CONFIG_LIBDIR=$crosslib/pkgconfig"
            if command -v "$QEMU_AARCH64" >/dev/null; then
                run_expect "pkgconfig-echo_wrap-$CROSS_ARCH" ctests/interpose/expect-standin.txt \
                    "$QEMU_AARCH64" -L "$CROSS_SYSROOT" "$tmp/echo_wrap_$CROSS_ARCH"
            fi
        fi
    fi

    make_uninstall PREFIX="$prefix"
    [ ! -e "$prefix" ] || fail "uninstall left $prefix behind"
    ok "uninstalled: $prefix is gone"
}

# The libraries rustc says an archive needs, from a build with
# --print native-static-libs (cargo replays the note while the build is fresh).
fresh_native_libs() {
    local what=$1 log=$tmp/native-$1.log
    shift
    CARGO_TARGET_DIR=$NATIVE_TARGET_DIR "$CARGO" "$@" -- --print native-static-libs >"$log" 2>&1 \
        || { cat "$log" >&2; fail "cargo $* -- --print native-static-libs"; }
    grep -q 'native-static-libs:' "$log" || { cat "$log" >&2; fail "$what: rustc printed no native-static-libs note"; }
    sed -n 's/^.*native-static-libs: *//p' "$log" | tail -n 1 | xargs
}
words() { xargs <<<"$*"; }

test_native_libs() {
    command -v cmake >/dev/null || fail "cmake not found (scripts/setup.sh installs it)"
    local host_fresh wrap_fresh
    echo "  (first run: two release builds in $NATIVE_TARGET_DIR; later runs replay them)"
    host_fresh=$(fresh_native_libs host rustc --release --lib --crate-type staticlib)
    # shellcheck disable=SC2086 # WRAP_CARGO is a word list
    wrap_fresh=$(fresh_native_libs wrap $WRAP_CARGO --target "$HOST_TRIPLE")
    echo "  rustc, host archive: '$host_fresh'"
    echo "  rustc, wrap archive: '$wrap_fresh'"

    local prefix=$tmp/prefix
    make_install PREFIX="$prefix"
    local pc=$prefix/lib/kos-ipc-shim/$HOST_ARCH/pkgconfig
    local host_pc wrap_pc
    host_pc=$(sed -n 's/^Libs: ${archive} *//p' "$pc/kos-ipc-shim.pc" | xargs)
    wrap_pc=$(sed -n 's/^Libs: ${wrapflags} ${archive} *//p' "$pc/kos-ipc-shim-wrap.pc" | xargs)
    # What pkg-config itself prints, too (it must not drop or reorder them).
    local host_pkg wrap_pkg
    host_pkg=$(PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH='' pkg-config --libs kos-ipc-shim | xargs -n1 | grep -v '^/' | xargs)
    wrap_pkg=$(PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH='' pkg-config --libs kos-ipc-shim-wrap | xargs -n1 | grep -v '^/' | grep -v '^-Wl,--wrap' | xargs)

    # What CMake gets: the imported targets' INTERFACE_LINK_LIBRARIES.
    mkdir -p "$tmp/cm"
    cat >"$tmp/cm/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(libs NONE)
find_package(KosIpcShim REQUIRED)
get_target_property(h KosIpcShim::host INTERFACE_LINK_LIBRARIES)
get_target_property(w KosIpcShim::wrap INTERFACE_LINK_LIBRARIES)
string(REPLACE ";" " " h "${h}")
string(REPLACE ";" " " w "${w}")
file(WRITE "${CMAKE_BINARY_DIR}/libs.txt" "${h}\n${w}\n")
EOF
    cmake -S "$tmp/cm" -B "$tmp/cm/b" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log" >&2; fail "cmake configure"; }
    local host_cmake wrap_cmake
    host_cmake=$(sed -n 1p "$tmp/cm/b/libs.txt" | xargs)
    wrap_cmake=$(sed -n 2p "$tmp/cm/b/libs.txt" | xargs)

    local name value
    for name in NATIVE_LIBS host_pc host_pkg host_cmake; do
        case $name in NATIVE_LIBS) value=$(words "$NATIVE_LIBS") ;; *) value=${!name} ;; esac
        [ "$value" = "$host_fresh" ] || fail "host archive: $name is '$value', rustc says '$host_fresh'"
    done
    ok "host archive: Makefile NATIVE_LIBS, kos-ipc-shim.pc, pkg-config --libs and KosIpcShim::host all == '$host_fresh'"

    # The wrap archive (no_std) also declares a few C functions itself
    # (pthread_self, clock_gettime, abort), which rustc cannot see:
    # WRAP_NATIVE_LIBS may add libraries, but must hold rustc's list in order.
    local wrap_var
    wrap_var=$(words "$WRAP_NATIVE_LIBS")
    for name in wrap_pc wrap_pkg wrap_cmake; do
        [ "${!name}" = "$wrap_var" ] || fail "wrap archive: $name is '${!name}', WRAP_NATIVE_LIBS is '$wrap_var'"
    done
    local rest=" $wrap_var " lib
    for lib in $wrap_fresh; do
        [[ $rest == *" $lib "* ]] || fail "wrap archive: rustc's '$lib' is missing from WRAP_NATIVE_LIBS ('$wrap_var') or out of order"
        rest=" ${rest#* "$lib" } "
    done
    ok "wrap archive: kos-ipc-shim-wrap.pc, pkg-config --libs and KosIpcShim::wrap == WRAP_NATIVE_LIBS '$wrap_var', which holds rustc's '$wrap_fresh' in order"
    make_uninstall PREFIX="$prefix"
}

case $mode in
    install) test_install ;;
    cmake) test_cmake ;;
    pkgconfig) test_pkgconfig ;;
    native-libs) test_native_libs ;;
    *) fail "unknown mode" ;;
esac
echo "integrate-test.sh $mode: $checks checks passed"
