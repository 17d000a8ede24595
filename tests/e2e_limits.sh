#!/bin/bash
# End-to-end: issue 20's checked values.  The walk (tests/limits_walk.py):
# every option of the table with every extreme value, and every option line
# of a checkpoint, is refused naming it or accepted and used, never a
# crash, a hang or silently ignored.  Then the rules that wait for the
# data's format, --label '' (a column, not a file), MLPTRAIN_PARENT_PID
# garbage (ignored with a warning; --help always works), and doc/options.md's
# Limits section naming every option.
. "${srcdir:-.}/tests/lib.sh"

if /usr/bin/python3 "${srcdir:-.}/tests/limits_walk.py" "$MLPTRAIN" "$MKDATA" \
    "${srcdir:-.}/tests/ckpt_edit.py" "$TMP" >"$TMP/walk" 2>&1; then
    ok "the walk: $(tail -1 "$TMP/walk")"
else
    bad "the walk: $(grep -v '^hint' "$TMP/walk" | head -20)"
fi

D="$TMP/d"
mkdir "$D"
"$MKDATA" "$D" 64 32 4 4 3 plain || { bad "mkdata"; finish; exit 1; }
awk 'BEGIN { print "a,b,label"; for (i = 0; i < 60; i++)
             printf "%d,%d,%s\n", i % 5, i % 3, substr("xyz", i % 3 + 1, 1) }' \
    >"$TMP/rows.csv"
csv=(--train "$TMP/rows.csv" --test "$TMP/rows.csv" -e 1 -b 16 -j 0 -t 1 -q)
idx=(--train "$D/train-images-idx3-ubyte" --test "$D/t10k-images-idx3-ubyte"
     --test-labels "$D/t10k-labels-idx1-ubyte" -e 1 -b 16 -j 0 -t 1 -q)

# The rules that need the data's format: bad usage once it is read.
expect_exit 2 "option '--header' needs a CSV --train file" -- \
    "${idx[@]}" --train-labels "$D/train-labels-idx1-ubyte" --header yes
expect_exit 2 "option '--label' needs a CSV --train file" -- \
    "${idx[@]}" --train-labels "$D/train-labels-idx1-ubyte" --label 0
expect_exit 2 "option '--train-labels' needs a --train file without labels" -- \
    "${csv[@]}" --train-labels "$D/train-labels-idx1-ubyte"
expect_exit 2 "option '--normalize' needs real features" -- \
    "${idx[@]}" --train-labels "$D/train-labels-idx1-ubyte" --normalize none
expect_exit 2 "option '--augment' needs images" -- "${csv[@]}" --augment flip

# A sweep grid's values: the same parser and rules, before any run starts
# (--lr-step 1e20 died of SIGFPE in the run).
expect_exit 2 "grid point 'schedule=step lr-step=1e20': option '--lr-step': 1e+20 is not below --epochs" -- \
    sweep --grid 'schedule=step lr-step=1e20' --dir "$TMP/sweep" --no-plots \
    -- --data "$D" -e 2
[ ! -e "$TMP/sweep" ] && ok "the refused sweep made nothing" ||
    bad "the refused sweep left $(ls "$TMP/sweep")"

# --label '' is the last column (bug 15: "not a usable file name").
"$MLPTRAIN" "${csv[@]}" --label '' >"$TMP/out" 2>"$TMP/err" &&
    grep -q '^ok: 1 epochs' "$TMP/out" &&
    ok "--label '' trains on the last column" ||
    bad "--label '': $(cat "$TMP/err")"

# MLPTRAIN_PARENT_PID that is not a pid was not set by a sweep: a warning,
# and every command works, --help first.
MLPTRAIN_PARENT_PID=garbage "$MLPTRAIN" --help >"$TMP/out" 2>"$TMP/err" &&
    grep -q '^usage: mlptrain' "$TMP/out" &&
    grep -q "warning: MLPTRAIN_PARENT_PID='garbage' is not a process id; ignored" \
        "$TMP/err" && ok "MLPTRAIN_PARENT_PID=garbage: --help works, warned" ||
    bad "MLPTRAIN_PARENT_PID=garbage --help: $(cat "$TMP/err")"
MLPTRAIN_PARENT_PID=garbage "$MLPTRAIN" --data "$D" -e 1 -q >/dev/null \
    2>"$TMP/err" && ok "MLPTRAIN_PARENT_PID=garbage: training works" ||
    bad "MLPTRAIN_PARENT_PID=garbage train: $(cat "$TMP/err")"

# doc/options.md states every option's range in its Limits section.
readme="${srcdir:-.}/doc/options.md"
limits=$(sed -n '/^## Limits/,/^## [^L]/p' "$readme")
missing=
for o in $("$MLPTRAIN" --help | sed -n 's/^ \{2,6\}\(-., \)\{0,1\}--\([a-z0-9-]*\).*/\2/p'); do
    case $o in help | version) continue ;; esac
    printf '%s\n' "$limits" | grep -q -- "--$o\b" || missing="$missing --$o"
done
[ -n "$limits" ] && [ -z "$missing" ] &&
    ok "doc/options.md's Limits section names every option" ||
    bad "doc/options.md's Limits section lacks:$missing"
finish
