#!/bin/bash
# End-to-end: checkpoints and faults through the command line.  Resuming is
# exact (4 epochs == 2 + --resume to 4, and after a SIGINT mid-epoch);
# SIGINT exits 130 with a checkpoint and an "interrupted" log record;
# divergence exits 3 and leaves the last good checkpoint; unwritable
# outputs fail before any work; a full disk is an error; corrupt
# checkpoints are refused naming the file and the problem; a model too big
# for memory is refused before it is allocated.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
make_data "$D" 1200 300 12 12 7 gz
common=(--data "$D" --batch 50 --hidden 24 --threads 2 --init-std 0.1
        --momentum 0.5 --lr 0.05)

# ---- resume is exact -------------------------------------------------------
"$MLPTRAIN" "${common[@]}" --epochs 4 -j 2 >"$TMP/full" 2>"$TMP/err" ||
    bad "4 epochs: $(cat "$TMP/err")"
"$MLPTRAIN" "${common[@]}" --epochs 2 -j 0 --save "$TMP/c.ckpt" >"$TMP/half" 2>"$TMP/err" &&
    [ -s "$TMP/c.ckpt" ] && ok "--save writes a checkpoint" ||
    bad "--save: $(cat "$TMP/err")"
ls "$TMP" | grep -q '\.tmp\.' && bad "a temporary file is left" ||
    ok "no temporary file left"
# Only --data, --threads and --epochs: the rest comes from the checkpoint.
"$MLPTRAIN" --data "$D" --threads 2 -j 3 --epochs 4 --resume "$TMP/c.ckpt" \
    --save "$TMP/rest.ckpt" >"$TMP/rest" 2>"$TMP/err" || bad "--resume: $(cat "$TMP/err")"
grep -q "^resumed  $TMP/c.ckpt after epoch 2" "$TMP/rest" && ok "resumed line" ||
    bad "resumed line: $(head -7 "$TMP/rest")"
same_text "$(figures "$TMP/full" | tail -2)" "$(figures "$TMP/rest")" \
    "4 epochs == 2 + --resume 2, digit for digit"
grep -q '^ok: 4 epochs' "$TMP/rest" && ok "resumed summary counts 4 epochs" ||
    bad "resumed summary: $(tail -1 "$TMP/rest")"

expect_exit 2 "option '--weight-decay': 0.3 conflicts with the checkpoint '$TMP/c.ckpt' (0)" -- \
    --data "$D" --epochs 4 --weight-decay 0.3 --resume "$TMP/c.ckpt"
expect_exit 2 "has completed 2 epochs; --epochs is the total" -- \
    --data "$D" --epochs 2 --resume "$TMP/c.ckpt"
make_data "$TMP/other" 1200 300 10 10 7 gz
expect_exit 1 "was trained on 12x12 images" -- \
    --data "$TMP/other" --epochs 4 --resume "$TMP/c.ckpt"

# ---- SIGINT mid-epoch --------------------------------------------------------
# Many epochs; interrupt once the first is logged, then resume to two epochs
# past the interrupted one and compare with an uninterrupted run.
"$MLPTRAIN" "${common[@]}" --epochs 20000 -j 2 --save "$TMP/i.ckpt" \
    --log "$TMP/i.jsonl" >"$TMP/iout" 2>"$TMP/ierr" &
pid=$!
wait_until grep -q '"type":"epoch"' "$TMP/i.jsonl" 2>/dev/null ||
    bad "no epoch logged before SIGINT: $(cat "$TMP/ierr")"
sigint_exits "$pid" SIGINT "$TMP/ierr"
grep -q "interrupted in epoch [0-9]* after batch [0-9]* of 24; saved '$TMP/i.ckpt'" "$TMP/ierr" &&
    ok "SIGINT message" || bad "SIGINT message: $(cat "$TMP/ierr")"
tail -1 "$TMP/i.jsonl" | grep -q '{"type":"end","status":"interrupted"' &&
    ok "log ends with status interrupted" || bad "log end: $(tail -1 "$TMP/i.jsonl")"
grep -q '^interrupted: ' "$TMP/iout" && ok "summary line says interrupted" ||
    bad "summary: $(tail -1 "$TMP/iout")"
e=$(sed -n 's/.*interrupted in epoch \([0-9]*\).*/\1/p' "$TMP/ierr")
if [ -n "$e" ]; then
    n=$((e + 1))
    "$MLPTRAIN" "${common[@]}" --epochs "$n" -j 1 >"$TMP/iref" 2>&1
    "$MLPTRAIN" --data "$D" --threads 2 --epochs "$n" --resume "$TMP/i.ckpt" \
        --log "$TMP/i.jsonl" >"$TMP/ires" 2>"$TMP/err" || bad "resume after SIGINT: $(cat "$TMP/err")"
    same_text "$(figures "$TMP/iref" | tail -2)" "$(figures "$TMP/ires")" \
        "SIGINT in epoch $e, resumed: epochs $e-$n as uninterrupted"
    [ "$(grep -c '"type":"run"' "$TMP/i.jsonl")" -eq 2 ] &&
        tail -1 "$TMP/i.jsonl" | grep -q '"status":"ok"' &&
        ok "the resumed run appends to the log" || bad "log after resume"
fi

# ---- divergence --------------------------------------------------------------
expect_exit 3 "epoch 1 batch [0-9]*: the loss is not finite" -- \
    --data "$D" --batch 50 --hidden 24 --lr 50 --weight-decay 0.1 --epochs 3 \
    --max-loss off --log "$TMP/d.jsonl"
tail -1 "$TMP/d.jsonl" | grep -q '"status":"diverged","epochs":0' &&
    ok "log status diverged" || bad "diverged log: $(tail -1 "$TMP/d.jsonl")"
# A finite loss that explodes (--lr 50 alone) is divergence too.
expect_exit 3 "epoch 1 batch [0-9]*: the mean loss .* exceeds .* (--max-loss)" -- \
    --data "$D" --batch 50 --hidden 24 --lr 50 --epochs 3
# Weight decay * lr above 2 grows the weights geometrically: a good epoch
# or more, then divergence.  The checkpoint stays the last good epoch's.
div=(--data "$D" --batch 50 --hidden 24 --threads 2 --init-std 0.1
     --lr 2 --weight-decay 1.025 --max-loss off)
"$MLPTRAIN" "${div[@]}" --epochs 100 --save "$TMP/d.ckpt" >"$TMP/dout" 2>"$TMP/derr"
code=$?
good=$(sed -n 's/^diverged: \([0-9]*\) epochs.*/\1/p' "$TMP/dout")
if [ "$code" -eq 3 ] && [ -n "$good" ] && [ "$good" -ge 1 ]; then
    ok "diverges after $good good epochs, exit 3"
    "$MLPTRAIN" "${div[@]}" --epochs "$good" --save "$TMP/g.ckpt" >/dev/null 2>&1
    cmp -s "$TMP/d.ckpt" "$TMP/g.ckpt" && ok "the last good checkpoint is kept" ||
        bad "checkpoint after divergence differs from epoch $good's"
else
    bad "divergence: exit $code, $(cat "$TMP/dout" "$TMP/derr")"
fi

# ---- unwritable outputs fail before any work ---------------------------------
# (--data points nowhere: an output error must come first.)
nodata=(--data "$TMP/no-data" --epochs 1)
expect_exit 1 "cannot write '$TMP/missing/x.jsonl': .*No such file" -- \
    "${nodata[@]}" --log "$TMP/missing/x.jsonl"
expect_exit 1 "'$TMP/missing/x.ckpt'.*No such file or directory" -- \
    "${nodata[@]}" --save "$TMP/missing/x.ckpt"
expect_exit 1 "cannot write '$TMP': it is a directory" -- "${nodata[@]}" --save "$TMP"
expect_exit 1 "'$TMP/missing/x.png'.*No such file or directory" -- \
    "${nodata[@]}" --plot "$TMP/missing/x.png"
expect_exit 1 "cannot write '/dev/full': it is a character device" -- "${nodata[@]}" --save /dev/full
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$TMP/ro" && chmod 555 "$TMP/ro"
    expect_exit 1 "Permission denied" -- "${nodata[@]}" --save "$TMP/ro/x.ckpt"
    expect_exit 1 "Permission denied" -- "${nodata[@]}" --log "$TMP/ro/x.jsonl"
else
    # root writes into read-only directories; /proc refuses even root
    expect_exit 1 "/proc/mlptrain-x.ckpt" -- "${nodata[@]}" --save /proc/mlptrain-x.ckpt
fi
[ ! -s "$TMP/out" ] && ok "nothing trained" || bad "output: $(cat "$TMP/out")"
# A full disk: the log's first record fails, before the first epoch.
expect_exit 1 "cannot write '/dev/full': it is a character device" -- \
    "${common[@]}" --epochs 2 --log /dev/full
grep -q '^epoch' "$TMP/out" && bad "trained with a full log" || ok "no epoch with a full log"
"$MLPTRAIN" "${common[@]}" --epochs 1 -q >/dev/full 2>"$TMP/err"
code=$?
[ "$code" -eq 1 ] && grep -q "cannot write standard output" "$TMP/err" &&
    ok "stdout on a full disk: exit 1" || bad "stdout to /dev/full: exit $code, $(cat "$TMP/err")"

# ---- corrupt checkpoints -----------------------------------------------------
size=$(wc -c <"$TMP/c.ckpt")
head -c $((size - 10)) "$TMP/c.ckpt" >"$TMP/trunc.ckpt"
expect_exit 1 "$TMP/trunc.ckpt: truncated: $((size - 10)) bytes, the header says $size" -- \
    --data "$D" --epochs 4 --resume "$TMP/trunc.ckpt"
head -c 100 "$TMP/c.ckpt" >"$TMP/short.ckpt"
expect_exit 1 "$TMP/short.ckpt: truncated: 100 bytes, a checkpoint has at least 268" -- \
    --data "$D" --epochs 4 --resume "$TMP/short.ckpt"
patched "$TMP/c.ckpt" "$TMP/flip.ckpt" 1000 '\377'
expect_exit 1 "$TMP/flip.ckpt: checksum mismatch" -- \
    --data "$D" --epochs 4 --resume "$TMP/flip.ckpt"
{ cat "$TMP/c.ckpt"; printf 'xyz'; } >"$TMP/long.ckpt"
expect_exit 1 "$TMP/long.ckpt: 3 bytes of trailing data" -- \
    --data "$D" --epochs 4 --resume "$TMP/long.ckpt"
patched "$TMP/c.ckpt" "$TMP/magic.ckpt" 0 'X'
expect_exit 1 "$TMP/magic.ckpt: not an mlptrain checkpoint (bad magic)" -- \
    --data "$D" --epochs 4 --resume "$TMP/magic.ckpt"
patched "$TMP/c.ckpt" "$TMP/version.ckpt" 8 '\007'
expect_exit 1 "$TMP/version.ckpt: checkpoint format version 7; this mlptrain reads versions 1 to 3" -- \
    --data "$D" --epochs 4 --resume "$TMP/version.ckpt"
: >"$TMP/empty.ckpt"
expect_exit 1 "$TMP/empty.ckpt: empty file" -- --data "$D" --epochs 4 --resume "$TMP/empty.ckpt"
expect_exit 1 "cannot open '$TMP/none.ckpt': No such file" -- \
    --data "$D" --epochs 4 --resume "$TMP/none.ckpt"
expect_exit 1 "cannot read '$TMP': it is a directory, not a regular file" -- --data "$D" --epochs 4 --resume "$TMP"
expect_exit 1 "not an mlptrain checkpoint" -- \
    --data "$D" --epochs 4 --resume "$D/train-labels-idx1-ubyte.gz"

# ---- out of memory -----------------------------------------------------------
expect_exit 1 "not enough memory: the model" -- \
    --data "$D" --hidden 16000000,16000000 --batch 1000000 --epochs 1
grep -q "^hint: a smaller --batch or --hidden" "$TMP/err" && ok "memory hint" ||
    bad "memory hint: $(cat "$TMP/err")"

finish
