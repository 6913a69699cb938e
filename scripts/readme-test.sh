#!/usr/bin/env bash
# The README's commands work, and every link between the README and docs/
# leads somewhere.
#
# 1. Links: every relative Markdown link in README.md and docs/*.md (not
#    docs/pending/) names a file of the repository, and a `#anchor` names a
#    heading of the page it points to (GitHub's anchor rule).
# 2. Runnable blocks: each fenced block of the committed README.md whose
#    info string is `sh run` is run with `bash -euo pipefail`, in order, at
#    the top of a fresh `git clone` of HEAD, so the README is tested as a
#    newcomer gets it (committed files only, no build output of this
#    checkout). A failing block is named by its README line. (The links are
#    checked in the working tree, so they can be checked before a commit.)
#
# The clone's target/ is a symlink to one persistent directory,
# target/readme-test of this checkout: the dependencies are compiled once
# there, the crate itself is compiled again in every clone (its sources are
# new files), never sharing target/ with this checkout's own builds, whose
# fingerprints a second source path would invalidate.
#
#   scripts/readme-test.sh [--links-only]
set -euo pipefail

repo=$(git rev-parse --show-toplevel)
cd "$repo"
fail() {
    printf 'FAIL readme-test: %s\n' "$*" >&2
    exit 1
}

# ---- 1. links ---------------------------------------------------------------
python3 - README.md docs/*.md <<'PY' || exit 1
import os, re, sys

def anchor(title):
    t = re.sub(r'`', '', title.strip().lower())
    t = re.sub(r'[^\w\- ]', '', t)
    return t.replace(' ', '-')

def headings(path):
    out, code = set(), False
    for line in open(path, encoding='utf-8'):
        if line.lstrip().startswith('```'):
            code = not code
        elif not code and re.match(r'#{1,6} ', line):
            out.add(anchor(line.lstrip('#')))
    return out

bad, n = [], 0
for page in sys.argv[1:]:
    code = False
    for no, line in enumerate(open(page, encoding='utf-8'), 1):
        if line.lstrip().startswith('```'):
            code = not code
            continue
        if code:
            continue
        line = re.sub(r'`[^`]*`', '', line)
        for target in re.findall(r'\]\(([^)\s]+)\)', line):
            if re.match(r'[a-z]+:', target):
                continue
            n += 1
            path, _, frag = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(dest):
                bad.append(f'{page}:{no}: {target}: no file {dest}')
            elif frag and (not dest.endswith('.md') or frag not in headings(dest)):
                bad.append(f'{page}:{no}: {target}: no heading #{frag} in {dest}')
for b in bad:
    print(b, file=sys.stderr)
if bad:
    print(f'FAIL readme-test: {len(bad)} of {n} links lead nowhere', file=sys.stderr)
    sys.exit(1)
print(f'readme-test: {n} links in README.md and docs/ all lead to a file and heading')
PY
[ "${1:-}" = --links-only ] && exit 0

# ---- 2. runnable blocks -----------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$repo" "$tmp/clone"
head=$(git -C "$tmp/clone" rev-parse --short HEAD)
# Block bodies, one file each, named by the line of their opening fence.
awk -v dir="$tmp/blocks" '
    BEGIN { system("mkdir -p " dir) }
    inblock && /^```[[:space:]]*$/ { inblock = 0; close(f); next }
    inblock { print > f; next }
    /^```sh run[[:space:]]*$/ { inblock = 1; f = sprintf("%s/%06d.sh", dir, NR); printf "" > f }
    END { if (inblock) { print "unterminated block at line " substr(f, length(dir) + 2, 6) + 0 > "/dev/stderr"; exit 1 } }
' "$tmp/clone/README.md"
blocks=("$tmp"/blocks/*.sh)
[ -e "${blocks[0]}" ] || fail "README.md has no runnable block (\`\`\`sh run)"

mkdir -p target/readme-test
ln -s "$repo/target/readme-test" "$tmp/clone/target"
ran=0
for b in "${blocks[@]}"; do
    line=$((10#$(basename "$b" .sh)))
    printf 'readme-test: README.md:%d\n' "$line"
    (cd "$tmp/clone" && bash -euo pipefail "$b") >"$tmp/out" 2>&1 || {
        rc=$?
        tail -n 40 "$tmp/out" >&2
        fail "the block at README.md:$line failed (exit $rc; last lines of its output above)"
    }
    ran=$((ran + 1))
done
printf 'readme-test: %d runnable README blocks passed in a fresh clone of %s\n' "$ran" "$head"
