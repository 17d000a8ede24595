#!/bin/bash
# End-to-end: train on generated data; the same seed gives the same
# figures for -j 0 and -j 20; the log holds whole records; deeper and
# shallower models run.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
make_data "$D" 1200 300 12 12 7 gz
common=(--data "$D" --epochs 3 --batch 50 --hidden 24 --threads 2 --init-std 0.1)

"$MLPTRAIN" "${common[@]}" -j 0 >"$TMP/j0" 2>"$TMP/err" &&
    ok "-j 0 trains" || bad "-j 0: $(cat "$TMP/err")"
"$MLPTRAIN" "${common[@]}" -j 20 --log "$TMP/log.jsonl" >"$TMP/j20" 2>"$TMP/err" &&
    ok "-j 20 trains" || bad "-j 20: $(cat "$TMP/err")"
[ "$(figures "$TMP/j0" | wc -l)" -eq 3 ] && ok "three epoch lines" ||
    bad "epoch lines: $(cat "$TMP/j0")"
if [ -n "$(figures "$TMP/j0")" ] && [ "$(figures "$TMP/j0")" = "$(figures "$TMP/j20")" ]; then
    ok "-j 0 and -j 20 print the same figures"
else
    bad "-j 0 and -j 20 differ: $(figures "$TMP/j0") / $(figures "$TMP/j20")"
fi
grep -q '^model    144-24-7 relu' "$TMP/j0" && ok "shape from the files" ||
    bad "config lines: $(head -5 "$TMP/j0")"
grep -q '^ok: 3 epochs' "$TMP/j0" && ok "summary line" || bad "summary line"
acc=$(figures "$TMP/j0" | tail -1 | sed 's/.*test acc //')
awk -v a="$acc" 'BEGIN { exit !(a > 0.8) }' && ok "learns (test acc $acc)" ||
    bad "test acc $acc"

[ "$(wc -l <"$TMP/log.jsonl")" -eq 5 ] && ok "log has 5 records" ||
    bad "log: $(cat "$TMP/log.jsonl")"
grep -q '"type":"run".*"workers":20' "$TMP/log.jsonl" && ok "log run record" ||
    bad "log run record"
grep -q '"type":"end","status":"ok"' "$TMP/log.jsonl" && ok "log end record" ||
    bad "log end record"

"$MLPTRAIN" "${common[@]}" --hidden 32,16 --act tanh -q >"$TMP/deep" 2>&1 &&
    grep -q '^ok: 3 epochs' "$TMP/deep" && ok "--hidden 32,16 -q" ||
    bad "--hidden 32,16: $(cat "$TMP/deep")"
[ "$(wc -l <"$TMP/deep")" -eq 1 ] && ok "-q prints one line" || bad "-q output"
"$MLPTRAIN" "${common[@]}" --hidden none >"$TMP/lin" 2>&1 &&
    grep -q '^model    144-7 linear' "$TMP/lin" && ok "--hidden none" ||
    bad "--hidden none: $(cat "$TMP/lin")"
MLPTRAIN_DATA="$D" "$MLPTRAIN" --epochs 1 --batch 50 -q >"$TMP/env" 2>&1 &&
    ok "MLPTRAIN_DATA" || bad "MLPTRAIN_DATA: $(cat "$TMP/env")"

finish
