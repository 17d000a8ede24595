#!/bin/bash
# End-to-end: the documentation keeps its promises (tests/docs_check.py):
# README.md at most 300 lines and opening with the two commands, every
# relative link and #anchor of README.md and doc/*.md resolving, the
# README's package list bootstrap's, doc/export.md's PyTorch lines those
# tests/export_check.py runs, every doc/*.md shipped by make dist.  The
# checker is first shown to fail on a broken tree.  Then doc/data.md's
# shell block runs as written (mlptrain on PATH, its directory a scratch
# one).
. "${srcdir:-.}/tests/lib.sh"
PY=/usr/bin/python3
src=${srcdir:-.}

$PY "$src/tests/docs_check.py" "$src" >"$TMP/check" 2>&1
rc=$?
cat "$TMP/check"
npass=$((npass + $(grep -c '^PASS' "$TMP/check")))
nfail=$((nfail + $(grep -c '^FAIL' "$TMP/check")))
[ "$rc" -eq 0 ] || [ "$(grep -c '^FAIL' "$TMP/check")" -gt 0 ] ||
    bad "docs_check.py exited $rc without a FAIL line"

# The checker can fail: a copy with a dead link, a dead anchor, a long
# README and a package dropped from its list.
mkdir -p "$TMP/bad/doc"
cp "$src/bootstrap" "$TMP/bad/"
{
    sed 's/ valgrind / /' "$src/README.md"
    printf '[x](doc/nothing.md) [y](doc/a.md#no-such-heading)\n'
    for i in $(seq 300); do echo "line $i"; done
} >"$TMP/bad/README.md"
printf '# A\n\n## B heading\n\n[up](../README.md#mlptrain)\n' >"$TMP/bad/doc/a.md"
if $PY "$src/tests/docs_check.py" "$TMP/bad" >"$TMP/badout" 2>&1; then
    bad "docs_check.py passes a broken tree: $(cat "$TMP/badout")"
else
    for want in "no file doc/nothing.md" "has no heading #no-such-heading" \
        "more than 300" "are not bootstrap's"; do
        grep -q -- "$want" "$TMP/badout" && ok "a broken tree fails: $want" ||
            bad "a broken tree's report lacks '$want': $(cat "$TMP/badout")"
    done
fi

# doc/data.md's commands, as written, in a scratch directory.
mkdir -p "$TMP/bin"
ln -s "$(cd "$(dirname "$MLPTRAIN")" && pwd)/$(basename "$MLPTRAIN")" "$TMP/bin/mlptrain"
sed -n '/^```sh$/,/^```$/p' "$src/doc/data.md" | sed '1d;$d' |
    sed "s#/tmp/mydata#$TMP/mydata#g" >"$TMP/data.sh"
if [ "$(grep -c '^mlptrain' "$TMP/data.sh")" -ge 6 ] &&
    (PATH="$TMP/bin:$PATH" bash -e "$TMP/data.sh") >"$TMP/data.out" 2>&1 &&
    grep -q '"accuracy"' "$TMP/data.out"; then
    ok "doc/data.md's commands run as written ($(grep -c '^mlptrain' "$TMP/data.sh") mlptrain lines)"
else
    bad "doc/data.md's commands: $(tail -20 "$TMP/data.out")"
fi
finish
