#!/usr/bin/env bash
# Installs what kos-ipc-shim needs on a Debian machine, for one of two uses:
#
#   scripts/setup.sh demo   what `make demo` needs: a C compiler, its libc
#                           headers, make (and a Rust toolchain, checked)
#   scripts/setup.sh test   (the default) everything `make test` and CI need:
#                           the demo set, the aarch64 cross toolchain, qemu,
#                           babeltrace2, cmake, valgrind, Rust targets and
#                           components, the nightly toolchain, cargo-fuzz
#
# Idempotent: installs only the Debian packages that are missing (checked with
# dpkg-query), runs `apt-get update` at most once, and adds only missing Rust
# targets and components. `make demo` runs the demo set once (stamp
# build/.setup-demo-done), `make test` the test set (stamp build/.setup-done);
# each runs again when this script changes; run it by hand (or `make setup`)
# any time.
#
# Other parts of the project add their Debian packages to DEB_PACKAGES_TEST
# below (one line each, with the reason) and their Rust targets to RUST_TARGETS.
set -euo pipefail

USE=${1:-test}
case $USE in
demo | test) ;;
*)
    printf 'setup: unknown use "%s" (expected demo or test)\n' "$USE" >&2
    exit 2
    ;;
esac

DEB_PACKAGES_DEMO=(
    gcc libc6-dev make                # building the C example against the archive
)
DEB_PACKAGES_TEST=(
    g++ pkg-config python3            # C++ header test, pkg-config test, scripts
    gcc-aarch64-linux-gnu             # cross-building the aarch64 wrap profile
    libc6-dev-arm64-cross             # aarch64 libc headers and crt files
    qemu-user                         # running aarch64 test binaries on x86_64
    babeltrace2                       # reading exported CTF traces
    cmake                             # building the C examples with CMake
    file                              # cross-test checks the binary is aarch64 (mk/interpose.mk)
    valgrind                          # make bench-instructions (callgrind instruction counts)
)
DEB_PACKAGES=("${DEB_PACKAGES_DEMO[@]}")
[ "$USE" = demo ] || DEB_PACKAGES+=("${DEB_PACKAGES_TEST[@]}")
RUST_TARGETS=(aarch64-unknown-linux-gnu aarch64-unknown-none)
RUST_COMPONENTS=(clippy rustfmt)
# The nightly toolchain and what the nightly-only test steps need from it:
# rust-src for -Zbuild-std (make tsan-stats, make asan-stats) and cargo-fuzz
# (make fuzz-policy).
NIGHTLY_COMPONENTS=(rust-src)

# Parts that could not be installed; reported at the end (exit status 1).
FAILED=()

log() { printf 'setup: %s\n' "$*"; }

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

install_debian_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        log "dpkg-query not found: not a Debian system; install these by hand: ${DEB_PACKAGES[*]}"
        return 0
    fi
    local missing=() p
    for p in "${DEB_PACKAGES[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "Debian packages: all ${#DEB_PACKAGES[@]} present"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            log "missing Debian packages (${missing[*]}) and not root, no sudo: run this script as root" >&2
            return 1
        fi
    fi
    log "installing: ${missing[*]}"
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

install_rust_parts() {
    if ! command -v cargo >/dev/null 2>&1; then
        log "cargo not found: install a Rust toolchain (1.87 or newer, e.g. with rustup) and rerun" >&2
        return 1
    fi
    if ! command -v rustup >/dev/null 2>&1; then
        log "rustup not found: skipping Rust targets (${RUST_TARGETS[*]}) and components" \
            "(${RUST_COMPONENTS[*]}); cross builds and \`make lint\` need them"
        return 0
    fi
    local have t c
    have="$(rustup target list --installed)"
    for t in "${RUST_TARGETS[@]}"; do
        if grep -qx "$t" <<<"$have"; then
            log "Rust target $t: present"
        else
            rustup target add "$t"
        fi
    done
    have="$(rustup component list --installed)"
    for c in "${RUST_COMPONENTS[@]}"; do
        if grep -q "^$c-" <<<"$have"; then
            log "Rust component $c: present"
        else
            rustup component add "$c"
        fi
    done
}

install_nightly_parts() {
    if ! command -v rustup >/dev/null 2>&1; then
        FAILED+=("nightly toolchain (no rustup)")
        return 0
    fi
    if rustup run nightly rustc --version >/dev/null 2>&1; then
        log "Rust toolchain nightly: present"
    else
        log "installing the nightly toolchain"
        if ! rustup toolchain install nightly --profile minimal; then
            log "ERROR: \`rustup toolchain install nightly --profile minimal\` failed" >&2
            FAILED+=("nightly toolchain")
            return 0
        fi
    fi
    local have c
    have="$(rustup component list --toolchain nightly --installed)"
    for c in "${NIGHTLY_COMPONENTS[@]}"; do
        if grep -q "^$c\(-\|\$\)" <<<"$have"; then
            log "nightly component $c: present"
        elif ! rustup component add "$c" --toolchain nightly; then
            log "ERROR: \`rustup component add $c --toolchain nightly\` failed" >&2
            FAILED+=("nightly component $c")
        fi
    done
}

install_cargo_fuzz() {
    if cargo fuzz --help >/dev/null 2>&1; then
        log "cargo-fuzz: present"
        return 0
    fi
    log "installing cargo-fuzz"
    if ! cargo install cargo-fuzz --locked; then
        log "ERROR: \`cargo install cargo-fuzz --locked\` failed" >&2
        FAILED+=("cargo-fuzz")
    fi
}

install_debian_packages
if [ "$USE" = demo ]; then
    command -v cargo >/dev/null 2>&1 || {
        log "cargo not found: install a Rust toolchain (1.87 or newer, e.g. with rustup) and rerun" >&2
        exit 1
    }
    log "done (demo)"
    exit 0
fi
install_rust_parts
install_nightly_parts
install_cargo_fuzz
if [ "${#FAILED[@]}" -ne 0 ]; then
    log "NOT INSTALLED: ${FAILED[*]}" >&2
    log "make fuzz-policy, tsan-stats and asan-stats (part of make test) fail without them;" \
        "fix the cause above and run scripts/setup.sh again" >&2
    exit 1
fi
log "done (test)"
