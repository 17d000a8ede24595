#!/bin/bash
# End-to-end: standard streams, JSON logs and numbers (issue 10, points 6,
# 10, 11, 12).  Closed stdout and stderr never put human lines into the
# log; stdout on a full disk fails every command; a reader that goes away
# ends the human output, not the run; every log line is valid JSON without
# inf or nan, even for a non-UTF-8 path; one strict rule for numbers; a run
# that ends before its first epoch says how, even with -q; a loaded machine
# is warned about.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
mkdir "$D"
"$MKDATA" "$D" 300 60 8 8 3 plain >/dev/null || { bad "mkdata"; finish; exit 1; }
common=(--data "$D" --batch 50 --hidden 8 --threads 1 -j 1 --epochs 2)
need_tool "$PY" python3
need_tool gnuplot gnuplot-nox

# valid_json FILE...: every line of each file is a JSON object, without
# NaN/Infinity (json's parse_constant raises), in strict UTF-8.
valid_json() {
    "$PY" - "$@" <<'EOF'
import json, sys
def no_constant(c):
    raise ValueError("non-finite number " + c)
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                rec = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
                assert isinstance(rec, dict) and "type" in rec, "not a record"
            except Exception as e:
                print("%s:%d: %s: %r" % (path, n, e, raw[:120]))
                sys.exit(1)
EOF
}

# ---- point 6: closed stdout and stderr ---------------------------------------
"$MLPTRAIN" "${common[@]}" --log "$TMP/closed.jsonl" >&- 2>&- </dev/null
code=$?
[ "$code" -eq 0 ] && ok "closed stdout and stderr: exit 0" ||
    bad "closed stdout and stderr: exit $code"
if out=$(valid_json "$TMP/closed.jsonl") &&
   [ "$(grep -c '"type":"epoch"' "$TMP/closed.jsonl")" -eq 2 ] &&
   grep -q '"type":"end","status":"ok"' "$TMP/closed.jsonl"; then
    ok "closed streams: every log line is a JSON record"
else
    bad "closed streams: log: $out $(head -c 300 "$TMP/closed.jsonl")"
fi

# ---- point 6: stdout on a full disk fails every command ----------------------
"$MLPTRAIN" "${common[@]}" --log "$TMP/ok.jsonl" >/dev/null 2>&1 ||
    bad "a run for the commands below"
full_cases=("--help" "-V" "train --help" "activations" "activations --help"
            "plot --help" "sweep --help" "eval --help" "predict --help"
            "plot $TMP/ok.jsonl -o $TMP/ok.png")
for c in "${full_cases[@]}"; do
    # shellcheck disable=SC2086
    "$MLPTRAIN" $c >/dev/full 2>"$TMP/err"
    code=$?
    if [ "$code" -eq 1 ] &&
       grep -q "^mlptrain: cannot write standard output: No space left on device" "$TMP/err"; then
        ok "mlptrain $c >/dev/full: exit 1"
    else
        bad "mlptrain $c >/dev/full: exit $code: $(cat "$TMP/err")"
    fi
done
"$MLPTRAIN" sweep --grid 'lr=0.1' --dir "$TMP/sw" --no-plots -t 1 -- \
    --data "$D" --batch 50 --hidden 8 --epochs 1 >/dev/full 2>"$TMP/err"
code=$?
[ "$code" -eq 1 ] && grep -q "cannot write standard output" "$TMP/err" &&
    ok "sweep >/dev/full: exit 1" || bad "sweep >/dev/full: exit $code: $(cat "$TMP/err")"

# ---- point 6: a reader that goes away ends the human output, not the run ----
# A pipe whose reader is gone before the first line (deterministic EPIPE).
"$PY" - "$MLPTRAIN" "${common[@]}" --save "$TMP/pipe.ckpt" \
    --log "$TMP/pipe.jsonl" 2>"$TMP/err" <<'EOF'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.DEVNULL)
sys.exit(0 if p.returncode == 0 else 1 if p.returncode > 0 else 99)
EOF
code=$?
if [ "$code" -eq 0 ] && [ -s "$TMP/pipe.ckpt" ] &&
   grep -q '"type":"end","status":"ok","epochs":2' "$TMP/pipe.jsonl"; then
    ok "closed pipe: exit 0, checkpoint and end record written"
else
    bad "closed pipe: code $code (99: killed by a signal), $(tail -c 200 "$TMP/pipe.jsonl" 2>&1)"
fi
rm -f "$TMP/pipe.ckpt"
"$MLPTRAIN" "${common[@]}" --epochs 3 --save "$TMP/pipe.ckpt" \
    --log "$TMP/head.jsonl" 2>/dev/null | head -1 >"$TMP/head"
code=${PIPESTATUS[0]}
[ "$code" -eq 0 ] && [ -s "$TMP/pipe.ckpt" ] && [ "$(wc -l <"$TMP/head")" -eq 1 ] &&
    grep -q '"type":"end","status":"ok"' "$TMP/head.jsonl" &&
    ok "| head -1: exit 0, checkpoint and end record written" ||
    bad "| head -1: exit $code"

# ---- point 10: one strict rule for numbers -----------------------------------
expect_exit 2 "option '--max-loss': '1e39' is out of range" -- "${common[@]}" --max-loss 1e39
expect_exit 2 "option '--lr': '0x1p-3' is not a number" -- "${common[@]}" --lr 0x1p-3
expect_exit 2 "option '--lr': ' 0.1' is not a number" -- "${common[@]}" --lr " 0.1"
expect_exit 2 "option '--momentum': 'nan' is not a number" -- "${common[@]}" --momentum nan
expect_exit 2 "option '--lr': '1e39' is out of range" -- \
    sweep --grid 'lr=1e39' --dir "$TMP/sw2" -- --data "$D"

# ---- point 10: valid JSON whatever the path, never inf or nan ---------------
B="$TMP/d$(printf '\377\376')x"
cp -r "$D" "$B"
"$MLPTRAIN" "${common[@]}" --data "$B" --max-loss 1e38 --lr 0.1 \
    --log "$TMP/utf8.jsonl" >/dev/null 2>"$TMP/err" || bad "non-UTF-8 path: $(cat "$TMP/err")"
if out=$(valid_json "$TMP/utf8.jsonl") &&
   grep -qF "\"data\":\"$TMP/d$(printf '\357\277\275\357\277\275')x\"" "$TMP/utf8.jsonl" &&
   grep -q '"lr":0.1,' "$TMP/utf8.jsonl" && grep -q '"max_loss":1e38' "$TMP/utf8.jsonl"; then
    ok "non-UTF-8 --data: valid JSON (U+FFFD), option values as given"
else
    bad "non-UTF-8 --data: $out $(head -c 700 "$TMP/utf8.jsonl")"
fi
"$MLPTRAIN" "${common[@]}" --lr 1e30 --max-loss off --log "$TMP/div.jsonl" \
    >/dev/null 2>&1
code=$?
if [ "$code" -eq 3 ] && out=$(valid_json "$TMP/div.jsonl" "$TMP/ok.jsonl") &&
   ! grep -qi 'inf\b\|nan\b' "$TMP/div.jsonl"; then
    ok "diverged run: valid JSON, no inf or nan"
else
    bad "diverged run: exit $code, $out $(tail -c 400 "$TMP/div.jsonl")"
fi

# ---- point 11: a run that ends early says how, even with -q ------------------
"$MLPTRAIN" "${common[@]}" --lr 1e30 -q --log "$TMP/early.jsonl" >"$TMP/out" 2>"$TMP/err"
code=$?
if [ "$code" -eq 3 ] && grep -q '^diverged: 0 epochs in .*epoch 1 batch' "$TMP/out" &&
   [ "$(wc -l <"$TMP/out")" -eq 1 ]; then
    ok "-q, diverged in epoch 1: the status line on stdout"
else
    bad "-q, diverged in epoch 1: exit $code, stdout '$(cat "$TMP/out")'"
fi
end=$(grep '"type":"end"' "$TMP/early.jsonl")
case $end in
*'"final_test_acc":null,"best_test_acc":null,"best_epoch":null'*)
    ok "end record: null for figures that do not exist" ;;
*) bad "end record: $end" ;;
esac
E="$TMP/notest"
mkdir "$E" && "$MKDATA" "$E" 300 0 8 8 3 plain >/dev/null
expect_exit 1 "t10k-images-idx3-ubyte: no test images" -- --data "$E" --epochs 1

# ---- point 12: a loaded machine is warned about ------------------------------
echo "9.00 9.00 9.00 99999/400 1234" >"$TMP/loadavg"
MLPTRAIN_LOADAVG="$TMP/loadavg" "$MLPTRAIN" "${common[@]}" --threads 2 -q \
    --parallel gemm --log "$TMP/load.jsonl" >/dev/null 2>"$TMP/err"
if grep -q "^mlptrain: warning: the machine's load leaves 0 of [0-9]* cores free, fewer than the 2 compute threads" "$TMP/err" &&
   grep -q "^hint: --parallel batch" "$TMP/err" && grep -q '"free_cores":0,' "$TMP/load.jsonl"; then
    ok "loaded machine, gemm mode: warning with a hint, free_cores logged"
else
    bad "loaded machine: $(cat "$TMP/err")"
fi
# Batch mode's threads take fewer micro-batches on a taken core: no warning.
MLPTRAIN_LOADAVG="$TMP/loadavg" "$MLPTRAIN" "${common[@]}" --threads 2 -q \
    --parallel batch >/dev/null 2>"$TMP/err"
[ ! -s "$TMP/err" ] && ok "loaded machine, batch mode: no warning" ||
    bad "loaded machine, batch mode: $(cat "$TMP/err")"
echo "0.00 0.00 0.00 1/400 1234" >"$TMP/loadavg"
MLPTRAIN_LOADAVG="$TMP/loadavg" "$MLPTRAIN" "${common[@]}" --threads 1 -q \
    >/dev/null 2>"$TMP/err"
[ ! -s "$TMP/err" ] && ok "idle machine: no warning" || bad "idle machine: $(cat "$TMP/err")"

finish
