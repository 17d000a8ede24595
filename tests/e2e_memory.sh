#!/bin/bash
# End-to-end: a run that cannot fit in memory is refused at once, before
# it allocates, with a clear message and exit 1 (issue 10: this shape was
# OOM-killed at 24 GB).  The estimate counts oneDNN's scratchpads: here
# 8 GB of the 31 GiB.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
make_data "$D" 2000 200 28 28 10 gz
huge=(--data "$D" --hidden 1000000 --batch 1000000 --limit-train 2000 -e 1)

kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
avail=$(( $(kb MemAvailable) + $(kb SwapFree) ))
limit=
if [ "$avail" -ge $((28 * 1024 * 1024)) ]; then
    # A large machine: cap the address space so that the run is refused
    # here too (not under ASan, whose shadow maps terabytes).
    if ldd "$MLPTRAIN" 2>/dev/null | grep -q libasan; then
        echo "SKIP: the huge shape fits this machine (ASan build)"
        finish
        exit 0
    fi
    limit=$((16 * 1024 * 1024))
fi
# At once: in CPU seconds (user and system), which the machine's load
# leaves alone; touching gigabytes would take seconds of it.
TIMEFORMAT='%U %S'
{ time { ( [ -n "$limit" ] && ulimit -v "$limit"
           exec "$MLPTRAIN" "${huge[@]}" ) >"$TMP/out" 2>"$TMP/err" </dev/null; }; } \
    2>"$TMP/cpu"
rc=$?
t=$(awk '{ print $1 + $2 }' "$TMP/cpu")
[ "$rc" -eq 1 ] && awk -v t="$t" 'BEGIN { exit !(t != "" && t <= 3) }' &&
    grep -q '^mlptrain: not enough memory: the model (7.95e+08 parameters) and batches of 2000 need about [0-9.]* GiB, and [0-9.]* GiB is available$' "$TMP/err" &&
    grep -q '^hint: a smaller --batch or --hidden needs less memory$' "$TMP/err" &&
    ok "the huge shape is refused in ${t} s of CPU" ||
    bad "huge shape: exit $rc in $t s of CPU: $(cat "$TMP/err")"

finish
