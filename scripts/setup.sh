#!/usr/bin/env bash
# Installs what building and testing kos-ipc-shim needs on a Debian machine.
#
# Idempotent: installs only the Debian packages that are missing (checked with
# dpkg-query), runs `apt-get update` at most once, and adds only missing Rust
# targets and components. `make test` / `make demo` run it once through the
# stamp build/.setup-done; run it again by hand (or `make setup`) any time.
#
# Other parts of the project add their Debian packages to DEB_PACKAGES below
# (one line each, with the reason) and their Rust targets to RUST_TARGETS.
set -euo pipefail

DEB_PACKAGES=(
    gcc g++ make pkg-config python3   # C tests, C++ header test, scripts
    gcc-aarch64-linux-gnu             # cross-building the aarch64 wrap profile
    libc6-dev-arm64-cross             # aarch64 libc headers and crt files
    qemu-user                         # running aarch64 test binaries on x86_64
    babeltrace2                       # reading exported CTF traces
    cmake                             # building the C examples with CMake
    file                              # cross-test checks the binary is aarch64 (mk/interpose.mk)
)
RUST_TARGETS=(aarch64-unknown-linux-gnu aarch64-unknown-none)
RUST_COMPONENTS=(clippy rustfmt)

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

install_debian_packages
install_rust_parts
log "done"
