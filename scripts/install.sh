#!/usr/bin/env bash
# Installs kos-ipc-shim into a prefix, or removes exactly what was installed.
# Called by `make install` / `make uninstall` (mk/integrate.mk), which pass
# the built files and the link lists; run it through make.
#
#   install.sh install   KEY=VALUE...
#   install.sh uninstall KEY=VALUE...
#
# Keys: PREFIX (absolute, required), DESTDIR (staging root, optional),
# LIBDIR, INCLUDEDIR (absolute; default PREFIX/lib, PREFIX/include), and for
# install: VERSION, HOST_LIB, WRAP_LIB, PRELOAD_LIB (installed when given),
# HEADER, COMPAT_DIR, TEMPLATES, HOST_LIBS, WRAP_LIBS, WRAP_FLAGS, POINTER_SIZE.
#
# Layout under PREFIX:
#   LIBDIR/libkos_ipc_shim.a, libkos_ipc_shim_wrap.a, libkos_ipc_shim_preload.so
#   INCLUDEDIR/kos-ipc-shim/kos_ipc_shim.h
#   INCLUDEDIR/kos-ipc-shim/kos/...          SDK-path compatibility headers
#   LIBDIR/pkgconfig/kos-ipc-shim.pc, kos-ipc-shim-wrap.pc
#   LIBDIR/cmake/KosIpcShim/KosIpcShimConfig.cmake, ...ConfigVersion.cmake
#   PREFIX/share/kos-ipc-shim/install-manifest.txt
#
# The manifest lists every installed file ("f PATH") and every directory the
# installation created ("d PATH"), as paths without DESTDIR. Uninstall
# removes those files and then those directories when they are empty;
# nothing else. Installing over an earlier installation first removes the
# files of the earlier one, so a file dropped from the new set does not stay
# behind unlisted.
set -euo pipefail

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

action=${1:-}
[ "$action" = install ] || [ "$action" = uninstall ] || die "usage: install.sh install|uninstall KEY=VALUE..."
shift
PREFIX='' DESTDIR='' LIBDIR='' INCLUDEDIR='' VERSION='' HOST_LIB='' WRAP_LIB='' PRELOAD_LIB=''
HEADER='' COMPAT_DIR='' TEMPLATES='' HOST_LIBS='' WRAP_LIBS='' WRAP_FLAGS='' POINTER_SIZE=''
for kv in "$@"; do
    key=${kv%%=*} value=${kv#*=}
    case $key in
        PREFIX|DESTDIR|LIBDIR|INCLUDEDIR|VERSION|HOST_LIB|WRAP_LIB|PRELOAD_LIB|HEADER|COMPAT_DIR|TEMPLATES|HOST_LIBS|WRAP_LIBS|WRAP_FLAGS|POINTER_SIZE)
            printf -v "$key" '%s' "$value" ;;
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

for key in VERSION HOST_LIB WRAP_LIB HEADER COMPAT_DIR TEMPLATES WRAP_FLAGS POINTER_SIZE; do
    [ -n "${!key}" ] || die "$key is empty"
done
for f in "$HOST_LIB" "$WRAP_LIB" "$HEADER" ${PRELOAD_LIB:+"$PRELOAD_LIB"}; do
    [ -f "$f" ] || die "$f does not exist (build it first: make lib wrap preload)"
done
[ -f "$COMPAT_DIR/coresrv/syscalls.h" ] || die "$COMPAT_DIR does not hold the compatibility headers"

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
pcdir=$LIBDIR/pkgconfig

install_file "$HOST_LIB" "$LIBDIR/libkos_ipc_shim.a" 644
install_file "$WRAP_LIB" "$LIBDIR/libkos_ipc_shim_wrap.a" 644
preload_path=''
if [ -n "$PRELOAD_LIB" ]; then
    install_file "$PRELOAD_LIB" "$LIBDIR/libkos_ipc_shim_preload.so" 755
    preload_path=$LIBDIR/libkos_ipc_shim_preload.so
fi
install_file "$HEADER" "$shim_inc/kos_ipc_shim.h" 644
while IFS= read -r rel; do
    install_file "$COMPAT_DIR/$rel" "$shim_inc/kos/$rel" 644
done < <(cd "$COMPAT_DIR" && find . -name '*.h' -type f | sed 's|^\./||' | LC_ALL=C sort)

declare -A subst=(
    [PREFIX]=$PREFIX [LIBDIR]=$LIBDIR [INCLUDEDIR]=$INCLUDEDIR [VERSION]=$VERSION
    [VERSION_MAJOR]=${VERSION%%.*} [VERSION_MINOR]=$(cut -d. -f2 <<<"$VERSION")
    [PRELOAD]=$preload_path [HOST_LIBS]=$HOST_LIBS [WRAP_LIBS]=$WRAP_LIBS [WRAP_FLAGS]=$WRAP_FLAGS
    [HOST_LIBS_LIST]=$(tr -s ' ' ';' <<<"$HOST_LIBS" | sed 's/^;//; s/;$//')
    [WRAP_LIBS_LIST]=$(tr -s ' ' ';' <<<"$WRAP_LIBS" | sed 's/^;//; s/;$//')
    [CMAKEDIR_TO_PREFIX]=$(relative "$PREFIX" "$cmakedir")
    [LIBDIR_REL]=$(relative "$LIBDIR" "$PREFIX")
    [INCLUDEDIR_REL]=$(relative "$INCLUDEDIR" "$PREFIX")
    [SIZEOF_VOID_P]=$POINTER_SIZE
)
install_text "$pcdir/kos-ipc-shim.pc" "$(render kos-ipc-shim.pc.in)"$'\n'
install_text "$pcdir/kos-ipc-shim-wrap.pc" "$(render kos-ipc-shim-wrap.pc.in)"$'\n'
install_text "$cmakedir/KosIpcShimConfig.cmake" "$(render KosIpcShimConfig.cmake.in)"$'\n'
install_text "$cmakedir/KosIpcShimConfigVersion.cmake" "$(render KosIpcShimConfigVersion.cmake.in)"$'\n'

make_dir "$(dirname -- "$MANIFEST")"
entries+=("f $MANIFEST")
for d in "${old_dirs[@]+"${old_dirs[@]}"}"; do
    entries+=("d $d")
done
printf '%s\n' "${entries[@]}" | awk '!seen[$0]++' >"$DESTDIR$MANIFEST"
chmod 644 -- "$DESTDIR$MANIFEST"
printf 'install: %d files under %s%s (manifest %s)\n' \
    "$(grep -c '^f ' "$DESTDIR$MANIFEST")" "$DESTDIR" "$PREFIX" "$MANIFEST"
