#!/usr/bin/env bash
# Installs kos-ipc-shim into a prefix, or removes exactly what was installed.
# Called by `make install` / `make uninstall` (mk/integrate.mk), which pass
# the built files and the link lists; run it through make.
#
#   install.sh install   KEY=VALUE...
#   install.sh uninstall KEY=VALUE...
#
# Keys: PREFIX (absolute, required), DESTDIR (staging root, optional),
# LIBDIR, INCLUDEDIR, BINDIR (absolute; default PREFIX/lib, PREFIX/include,
# PREFIX/bin), and for install: VERSION, HOST_ARCH, HOST_LIB, WRAP_LIB,
# PRELOAD_LIB (installed when given), CLI (the kos-ipc-trace executable,
# installed when given), HOST_RUN (the kos-host-run executable, installed
# when given), WRAP_LIB_<arch> (the wrap archive of another
# architecture, any number), HEADER, COMPAT_DIR, TEMPLATES, HOST_LIBS,
# WRAP_LIBS, WRAP_FLAGS.
#
# Layout under PREFIX, libraries per architecture (x86_64, aarch64), so that
# an archive never lands beside one of another architecture:
#   BINDIR/kos-ipc-trace, BINDIR/kos-host-run
#   PREFIX/share/man/man1/kos-ipc-trace.1, kos-ipc-trace-<command>.1, kos-host-run.1
#   PREFIX/share/bash-completion/completions/<tool>, PREFIX/share/zsh/site-functions/_<tool>,
#   PREFIX/share/fish/vendor_completions.d/<tool>.fish
#       (man pages and completions made by each tool's hidden `generate`)
#   LIBDIR/kos-ipc-shim/<host arch>/libkos_ipc_shim.a, libkos_ipc_shim_wrap.a,
#                                   libkos_ipc_shim_preload.so
#   LIBDIR/kos-ipc-shim/<host arch>/pkgconfig/kos-ipc-shim.pc, kos-ipc-shim-wrap.pc
#   LIBDIR/kos-ipc-shim/<other arch>/libkos_ipc_shim_wrap.a
#   LIBDIR/kos-ipc-shim/<other arch>/pkgconfig/kos-ipc-shim-wrap.pc
#   INCLUDEDIR/kos-ipc-shim/kos_ipc_shim.h
#   INCLUDEDIR/kos-ipc-shim/kos/...          SDK-path compatibility headers
#   LIBDIR/cmake/KosIpcShim/KosIpcShimConfig.cmake, ...ConfigVersion.cmake,
#                           KosIpcShimArch.cmake (picks the toolchain's arch)
#   PREFIX/share/kos-ipc-shim/install-manifest.txt
# Each archive's ELF machine must be that of its directory (readelf checks).
#
# The manifest lists every installed file ("f PATH") and every directory the
# installation created ("d PATH"), as paths without DESTDIR. Uninstall
# removes those files and then those directories when they are empty;
# nothing else. Installing over an earlier installation first removes the
# files of the earlier one, so a file dropped from the new set does not stay
# behind unlisted.
set -euo pipefail
# A die() inside $(...) (check_arch) must stop the script, not just the subshell.
shopt -s inherit_errexit

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

action=${1:-}
[ "$action" = install ] || [ "$action" = uninstall ] || die "usage: install.sh install|uninstall KEY=VALUE..."
shift
PREFIX='' DESTDIR='' LIBDIR='' INCLUDEDIR='' BINDIR='' VERSION='' HOST_ARCH='' HOST_LIB='' WRAP_LIB=''
PRELOAD_LIB='' CLI='' HOST_RUN='' HEADER='' COMPAT_DIR='' TEMPLATES='' HOST_LIBS='' WRAP_LIBS='' WRAP_FLAGS=''
declare -A other_wrap=()
for kv in "$@"; do
    key=${kv%%=*} value=${kv#*=}
    case $key in
        PREFIX|DESTDIR|LIBDIR|INCLUDEDIR|BINDIR|VERSION|HOST_ARCH|HOST_LIB|WRAP_LIB|PRELOAD_LIB|CLI|HOST_RUN|HEADER|COMPAT_DIR|TEMPLATES|HOST_LIBS|WRAP_LIBS|WRAP_FLAGS)
            printf -v "$key" '%s' "$value" ;;
        WRAP_LIB_*)
            [[ ${key#WRAP_LIB_} =~ ^[a-z0-9_]+$ ]] || die "bad architecture in '$key'"
            other_wrap[${key#WRAP_LIB_}]=$value ;;
        *) die "unknown key '$key'" ;;
    esac
done

# Normalise: no trailing slashes, no empty components; reject relative paths
# and newlines (the manifest is line-based).
clean_path() {
    local p=$1 what=$2
    [[ $p == /* ]] || die "$what must be an absolute path, got '$p'"
    [[ $p != *$'\n'* ]] || die "$what contains a newline"
    p=$(printf '%s' "$p" | tr -s /)
    [ "$p" = / ] || p=${p%/}
    printf '%s' "$p"
}
[ -n "$PREFIX" ] || die "PREFIX is empty: run \`make install PREFIX=/some/prefix\`"
PREFIX=$(clean_path "$PREFIX" PREFIX)
LIBDIR=$(clean_path "${LIBDIR:-$PREFIX/lib}" LIBDIR)
INCLUDEDIR=$(clean_path "${INCLUDEDIR:-$PREFIX/include}" INCLUDEDIR)
BINDIR=$(clean_path "${BINDIR:-$PREFIX/bin}" BINDIR)
if [ -n "$DESTDIR" ]; then
    DESTDIR=$(clean_path "$DESTDIR" DESTDIR)
    [ "$DESTDIR" = / ] && DESTDIR=''
fi
MANIFEST=$PREFIX/share/kos-ipc-shim/install-manifest.txt

# Removes what the manifest at $DESTDIR$MANIFEST lists. Prints a summary.
uninstall() {
    local manifest=$DESTDIR$MANIFEST files=0 dirs=0 missing=0 kind path
    [ -f "$manifest" ] || die "nothing to uninstall: $manifest does not exist"
    local -a dirlist=()
    while IFS= read -r line; do
        kind=${line%% *} path=${line#* }
        [[ $path == /* ]] || die "$manifest: malformed line '$line'"
        case $kind in
            f) if [ -e "$DESTDIR$path" ] || [ -L "$DESTDIR$path" ]; then
                   rm -f -- "$DESTDIR$path"; files=$((files + 1))
               else
                   printf 'install.sh: already gone: %s\n' "$DESTDIR$path" >&2; missing=$((missing + 1))
               fi ;;
            d) dirlist+=("$path") ;;
            *) die "$manifest: malformed line '$line'" ;;
        esac
    done <"$manifest"
    rm -f -- "$manifest"
    # Deepest first, only when empty (something else may live there now).
    local d
    while IFS= read -r d; do
        [ -n "$d" ] || continue
        if rmdir -- "$DESTDIR$d" 2>/dev/null; then dirs=$((dirs + 1)); fi
    done < <(printf '%s\n' "${dirlist[@]+"${dirlist[@]}"}" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)
    printf 'uninstall: removed %d files and %d directories under %s%s' "$files" "$dirs" "$DESTDIR" "$PREFIX"
    [ "$missing" -eq 0 ] && printf '\n' || printf ' (%d listed files were already gone)\n' "$missing"
}

if [ "$action" = uninstall ]; then
    uninstall
    exit 0
fi

for key in VERSION HOST_ARCH HOST_LIB WRAP_LIB HEADER COMPAT_DIR TEMPLATES WRAP_FLAGS; do
    [ -n "${!key}" ] || die "$key is empty"
done
[ -z "${other_wrap[$HOST_ARCH]+x}" ] || die "WRAP_LIB_$HOST_ARCH: $HOST_ARCH is the host architecture (WRAP_LIB)"
for f in "$HOST_LIB" "$WRAP_LIB" "$HEADER" ${PRELOAD_LIB:+"$PRELOAD_LIB"} ${CLI:+"$CLI"} ${HOST_RUN:+"$HOST_RUN"} "${other_wrap[@]}"; do
    [ -f "$f" ] || die "$f does not exist (build it first: make lib wrap preload)"
done
[ -f "$COMPAT_DIR/coresrv/syscalls.h" ] || die "$COMPAT_DIR does not hold the compatibility headers"
command -v readelf >/dev/null || die "readelf not found (binutils): needed to check each file's architecture"

# elf_facts FILE: "<arch> <pointer size>" of an ELF file or of every member
# of an archive (they must agree), with readelf's machine names mapped to
# the directory names.
elf_facts() {
    local facts
    facts=$(readelf -h -- "$1" 2>/dev/null | awk -F: '
        /^ *Class:/   { c = $2; gsub(/ /, "", c); size = (c == "ELF64") ? 8 : (c == "ELF32") ? 4 : "?" }
        /^ *Machine:/ { m = $2; sub(/^ +/, "", m)
                        arch = (m ~ /X86-64/) ? "x86_64" : (m == "AArch64") ? "aarch64" : m
                        print arch, size }' | LC_ALL=C sort -u)
    [ -n "$facts" ] || die "$1: not an ELF file or archive (readelf -h)"
    [ "$(wc -l <<<"$facts")" -eq 1 ] \
        || die "$1: members of several architectures (machine, pointer size): $(paste -sd, <<<"$facts" | sed 's/,/, /g')"
    printf '%s' "$facts"
}
# check_arch FILE ARCH: FILE is built for ARCH; prints its pointer size.
check_arch() {
    local facts
    facts=$(elf_facts "$1")
    [ "${facts% *}" = "$2" ] || die "$1 is built for ${facts% *}, not $2: it does not belong in kos-ipc-shim/$2/"
    printf '%s' "${facts#* }"
}

# The architectures, host first; the pointer size of each (from its wrap
# archive) for the CMake version check.
arches=("$HOST_ARCH")
while IFS= read -r a; do [ -z "$a" ] || arches+=("$a"); done < <(printf '%s\n' "${!other_wrap[@]}" | LC_ALL=C sort)
declare -A wrap_of=([$HOST_ARCH]=$WRAP_LIB) sizeof_void_p=()
for a in "${!other_wrap[@]}"; do wrap_of[$a]=${other_wrap[$a]}; done
for a in "${arches[@]}"; do
    sizeof_void_p[$a]=$(check_arch "${wrap_of[$a]}" "$a")
done
for f in "$HOST_LIB" ${PRELOAD_LIB:+"$PRELOAD_LIB"} ${CLI:+"$CLI"} ${HOST_RUN:+"$HOST_RUN"}; do
    size=$(check_arch "$f" "$HOST_ARCH")
    [ "$size" = "${sizeof_void_p[$HOST_ARCH]}" ] || die "$f: pointer size $size, $WRAP_LIB's is ${sizeof_void_p[$HOST_ARCH]}"
done

# An earlier installation into the same place: remove its files first.
if [ -f "$DESTDIR$MANIFEST" ]; then
    # Its directory list is kept: they were created by us and still count as ours.
    mapfile -t old_dirs < <(sed -n 's/^d //p' "$DESTDIR$MANIFEST")
    uninstall >/dev/null
else
    old_dirs=()
fi

declare -a entries=()
# The staging root itself is not ours to record.
[ -z "$DESTDIR" ] || mkdir -p -- "$DESTDIR"
# Creates $1 (a path without DESTDIR) and its missing parents, recording them.
make_dir() {
    local d=$1 missing=() p
    p=$d
    while [ "$p" != / ] && [ ! -d "$DESTDIR$p" ]; do
        missing=("$p" "${missing[@]+"${missing[@]}"}")
        p=$(dirname -- "$p")
    done
    for p in "${missing[@]+"${missing[@]}"}"; do
        mkdir -- "$DESTDIR$p"
        entries+=("d $p")
    done
}
# install_file SRC DEST MODE (DEST without DESTDIR)
install_file() {
    make_dir "$(dirname -- "$2")"
    install -m "$3" -- "$1" "$DESTDIR$2"
    entries+=("f $2")
}
# install_text DEST CONTENT
install_text() {
    make_dir "$(dirname -- "$1")"
    printf '%s' "$2" >"$DESTDIR$1"
    chmod 644 -- "$DESTDIR$1"
    entries+=("f $1")
}

# relative PATH FROM: PATH relative to directory FROM (both absolute).
relative() { realpath -m --relative-to="$2" -- "$1"; }

# Template substitution in bash, so any character in a path is safe.
render() {
    local text
    text=$(<"$TEMPLATES/$1")
    local key
    for key in "${!subst[@]}"; do
        text=${text//"@$key@"/"${subst[$key]}"}
    done
    if [[ $text =~ @[A-Z_]+@ ]]; then
        die "$1: unsubstituted ${BASH_REMATCH[0]}"
    fi
    printf '%s\n' "$text"
}

shim_inc=$INCLUDEDIR/kos-ipc-shim
cmakedir=$LIBDIR/cmake/KosIpcShim
archdir() { printf '%s/kos-ipc-shim/%s' "$LIBDIR" "$1"; }

# install_tool EXECUTABLE NAME: the tool, its man pages and its bash, zsh
# and fish completions, which it writes itself (`NAME generate ...`, from
# the definitions its --help comes from).
gen_dir=''
install_tool() {
    local exe=$1 name=$2 f shell dest
    install_file "$exe" "$BINDIR/$name" 755
    [ -n "$gen_dir" ] || { gen_dir=$(mktemp -d); trap 'rm -rf -- "$gen_dir"' EXIT; }
    "$exe" generate man "$gen_dir/$name-man" >"$gen_dir/$name.list" || die "$name generate man failed"
    for shell in bash zsh fish; do
        "$exe" generate completions "$shell" "$gen_dir/$name-$shell" >>"$gen_dir/$name.list" \
            || die "$name generate completions $shell failed"
    done
    while IFS= read -r f; do
        case $f in
            *-man/*.1) dest=$PREFIX/share/man/man1/${f##*/} ;;
            *-bash/"$name".bash) dest=$PREFIX/share/bash-completion/completions/$name ;;
            *-zsh/_"$name") dest=$PREFIX/share/zsh/site-functions/_$name ;;
            *-fish/"$name".fish) dest=$PREFIX/share/fish/vendor_completions.d/$name.fish ;;
            *) die "$name generate wrote an unexpected file: $f" ;;
        esac
        install_file "$f" "$dest" 644
    done <"$gen_dir/$name.list"
}
[ -z "$CLI" ] || install_tool "$CLI" kos-ipc-trace
[ -z "$HOST_RUN" ] || install_tool "$HOST_RUN" kos-host-run
hostdir=$(archdir "$HOST_ARCH")
install_file "$HOST_LIB" "$hostdir/libkos_ipc_shim.a" 644
preload_path=''
if [ -n "$PRELOAD_LIB" ]; then
    install_file "$PRELOAD_LIB" "$hostdir/libkos_ipc_shim_preload.so" 755
    preload_path=$hostdir/libkos_ipc_shim_preload.so
fi
for a in "${arches[@]}"; do
    install_file "${wrap_of[$a]}" "$(archdir "$a")/libkos_ipc_shim_wrap.a" 644
done
install_file "$HEADER" "$shim_inc/kos_ipc_shim.h" 644
while IFS= read -r rel; do
    install_file "$COMPAT_DIR/$rel" "$shim_inc/kos/$rel" 644
done < <(cd "$COMPAT_DIR" && find . -name '*.h' -type f | sed 's|^\./||' | LC_ALL=C sort)

sizeof_sets=''
for a in "${arches[@]}"; do
    sizeof_sets+="set(_kis_sizeof_void_p_$a ${sizeof_void_p[$a]})"$'\n'
done
declare -A subst=(
    [PREFIX]=$PREFIX [LIBDIR]=$LIBDIR [INCLUDEDIR]=$INCLUDEDIR [VERSION]=$VERSION
    [VERSION_MAJOR]=${VERSION%%.*} [VERSION_MINOR]=$(cut -d. -f2 <<<"$VERSION")
    [PRELOAD]=$preload_path [HOST_LIBS]=$HOST_LIBS [WRAP_LIBS]=$WRAP_LIBS [WRAP_FLAGS]=$WRAP_FLAGS
    [HOST_LIBS_LIST]=$(tr -s ' ' ';' <<<"$HOST_LIBS" | sed 's/^;//; s/;$//')
    [WRAP_LIBS_LIST]=$(tr -s ' ' ';' <<<"$WRAP_LIBS" | sed 's/^;//; s/;$//')
    [CMAKEDIR_TO_PREFIX]=$(relative "$PREFIX" "$cmakedir")
    [LIBDIR_REL]=$(relative "$LIBDIR" "$PREFIX")
    [INCLUDEDIR_REL]=$(relative "$INCLUDEDIR" "$PREFIX")
    [HOST_ARCH]=$HOST_ARCH [ARCHES]=$(IFS=';'; printf '%s' "${arches[*]}")
    [SIZEOF_VOID_P_SETS]=${sizeof_sets%$'\n'}
)
for a in "${arches[@]}"; do
    subst[ARCH]=$a
    [ "$a" != "$HOST_ARCH" ] \
        || install_text "$(archdir "$a")/pkgconfig/kos-ipc-shim.pc" "$(render kos-ipc-shim.pc.in)"$'\n'
    install_text "$(archdir "$a")/pkgconfig/kos-ipc-shim-wrap.pc" "$(render kos-ipc-shim-wrap.pc.in)"$'\n'
done
unset 'subst[ARCH]'
install_text "$cmakedir/KosIpcShimConfig.cmake" "$(render KosIpcShimConfig.cmake.in)"$'\n'
install_text "$cmakedir/KosIpcShimConfigVersion.cmake" "$(render KosIpcShimConfigVersion.cmake.in)"$'\n'
install_text "$cmakedir/KosIpcShimArch.cmake" "$(render KosIpcShimArch.cmake.in)"$'\n'

make_dir "$(dirname -- "$MANIFEST")"
entries+=("f $MANIFEST")
# (Only those still there: one a new layout no longer uses was removed above.)
for d in "${old_dirs[@]+"${old_dirs[@]}"}"; do
    [ ! -d "$DESTDIR$d" ] || entries+=("d $d")
done
printf '%s\n' "${entries[@]}" | awk '!seen[$0]++' >"$DESTDIR$MANIFEST"
chmod 644 -- "$DESTDIR$MANIFEST"
printf 'install: %d files under %s%s, libraries for %s (manifest %s)\n' \
    "$(grep -c '^f ' "$DESTDIR$MANIFEST")" "$DESTDIR" "$PREFIX" "${arches[*]}" "$MANIFEST"
