#!/bin/bash
# End-to-end: --precision (issue 21).  Where oneDNN has no bf16 (emulated
# here with ONEDNN_MAX_CPU_ISA=AVX2) bf16 is a usage error naming the ISA
# and auto trains f32 saying why; where it is slow (AVX512_CORE: bf16 by
# conversions) auto calibrates and keeps f32; here (when this CPU has
# bf16) a bf16 run says so on its step line and run record, eval and
# predict run its model in bf16 by default (eval printing the training's
# last test figures) or in f32 when asked, export reads it, and a resume
# in f32 is an override.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
mkdir "$D"
"$MKDATA" "$D" 600 150 12 12 5 gz || { bad "mkdata"; finish; exit 1; }
common=(--data "$D" --hidden 16 --lr 0.05 -b 50 --init-std 0.1 -j 1)

# No bf16 in oneDNN (AVX2): bf16 refused, naming the ISA; auto is f32.
ONEDNN_MAX_CPU_ISA=AVX2 expect_exit 2 "'--precision': bf16: .*no bf16 .*ISA avx2" \
    -- "${common[@]}" -e 1 --precision bf16
ONEDNN_MAX_CPU_ISA=AVX2 "$MLPTRAIN" "${common[@]}" -e 1 --precision auto \
    --log "$TMP/avx2.log" >"$TMP/avx2.out" 2>"$TMP/err" &&
    grep -q '^step .*, f32 (auto: .*no bf16 .*avx2.*): micro' "$TMP/avx2.out" &&
    grep -q '"precision":{"asked":"auto","used":"f32","speedup":null' "$TMP/avx2.log" &&
    ok "AVX2: auto trains f32 and says why" ||
    bad "AVX2 auto: $(cat "$TMP/avx2.out" "$TMP/err")"

# bf16 by conversions only (AVX512_CORE): bf16 runs when asked, auto
# measures it slower and keeps f32.  A net wide enough that the products,
# not the calls, are what the calibration times (emulated bf16 ran at
# 0.38-0.39x f32 at width 512, 0.43-0.85x at width 16).
if ONEDNN_MAX_CPU_ISA=AVX512_CORE bf16_here "$D"; then
    ONEDNN_MAX_CPU_ISA=AVX512_CORE "$MLPTRAIN" "${common[@]}" --hidden 512 \
        -e 1 --precision auto >"$TMP/core.out" 2>"$TMP/err" &&
        grep -q '^step .*, f32 (auto: bf16 ran [0-9.]*x f32 in a [0-9]* ms calibration, below 1.3x): micro' \
            "$TMP/core.out" &&
        ok "AVX512_CORE: auto calibrates bf16 slower and trains f32" ||
        bad "AVX512_CORE auto: $(cat "$TMP/core.out" "$TMP/err")"
fi

if ! bf16_here "$D"; then
    finish
    exit $?
fi
M="$TMP/m.ckpt"
"$MLPTRAIN" "${common[@]}" -e 2 --precision bf16 --save "$M" \
    --log "$TMP/log" >"$TMP/train" 2>"$TMP/err" &&
    grep -q '^step .*, bf16: micro-batches of 50 rows' "$TMP/train" &&
    grep -q '"precision":{"asked":"bf16","used":"bf16"}' "$TMP/log" &&
    grep -q '"options":{.*"precision":"bf16"' "$TMP/log" &&
    ok "bf16: the step line and the run record say so" ||
    bad "bf16 run: $(cat "$TMP/train" "$TMP/err")"
train_acc=$(grep '^epoch' "$TMP/train" | tail -1 | sed 's/.*test acc \([0-9.]*\).*/\1/')
train_loss=$(grep '"type":"epoch"' "$TMP/log" | tail -1 |
    sed 's/.*"test_loss":\([0-9.]*\).*/\1/')
"$MLPTRAIN" "${common[@]}" -e 2 >"$TMP/f32" 2>"$TMP/err" ||
    bad "f32 run: $(cat "$TMP/err")"
[ "$(grep '^epoch' "$TMP/f32" | sed 's/  [0-9.]* s  .*//')" != \
  "$(grep '^epoch' "$TMP/train" | sed 's/  [0-9.]* s  .*//')" ] &&
    ok "bf16's figures are not f32's" || bad "bf16 printed f32's figures"

run() { "$MLPTRAIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null; }
# eval: the model's precision by default, the training's figures.
if run eval --model "$M" --data "$D" --batch 50 --threads 2; then
    acc=$(sed -n 's/^test .* acc \([0-9.]*\) .*/\1/p' "$TMP/out")
    loss=$(sed -n 's/^test  *loss \([0-9.]*\) .*/\1/p' "$TMP/out")
    grep -q '^model .*, 2 epochs, run in bf16$' "$TMP/out" &&
        [ "$acc" = "$train_acc" ] &&
        awk -v a="$loss" -v b="$train_loss" 'BEGIN { d = a - b; exit !(a != "" && d < 1e-4 && d > -1e-4) }' &&
        ok "eval runs a bf16 model in bf16: the training's acc $acc, loss $loss" ||
        bad "eval: '$acc' '$loss' vs '$train_acc' '$train_loss': $(head -3 "$TMP/out")"
else
    bad "eval: $(cat "$TMP/err")"
fi
run eval --model "$M" --data "$D" --batch 50 --precision f32 --json &&
    grep -q '"products":"f32"' "$TMP/out" &&
    ok "eval --precision f32 of a bf16 model" || bad "eval f32: $(cat "$TMP/out" "$TMP/err")"
ONEDNN_MAX_CPU_ISA=AVX2 "$MLPTRAIN" eval --model "$M" --data "$D" \
    --batch 50 >"$TMP/out" 2>"$TMP/err" &&
    grep -q '^model .*, 2 epochs$' "$TMP/out" &&
    ok "eval of a bf16 model without bf16: f32" || bad "eval AVX2: $(cat "$TMP/out" "$TMP/err")"
ONEDNN_MAX_CPU_ISA=AVX2 expect_exit 2 "'--precision': bf16" -- eval \
    --model "$M" --data "$D" --precision bf16
expect_exit 2 "option '--precision': unknown value 'bf8' (f32, bf16, auto)" \
    -- eval --model "$M" --data "$D" --precision bf8
run predict --model "$M" --data "$D" -n 5 --json &&
    grep -q '"products":"bf16"' "$TMP/out" &&
    ok "predict runs a bf16 model in bf16" || bad "predict: $(cat "$TMP/out" "$TMP/err")"
gzip -dc "$D/t10k-images-idx3-ubyte.gz" >"$TMP/in.idx"
run predict --model "$M" --input "$TMP/in.idx" --precision auto &&
    [ "$(wc -l <"$TMP/out")" = 151 ] &&
    ok "predict --input --precision auto" || bad "predict --input: $(cat "$TMP/err")"
run export --model "$M" --npz "$TMP/m.npz" &&
    ok "export reads a bf16 model" || bad "export: $(cat "$TMP/err")"

# The rest of a bf16 run in f32: taken, said, logged, kept.
"$MLPTRAIN" --data "$D" -e 3 --resume "$M" --precision f32 \
    --log "$TMP/r.log" >"$TMP/r.out" 2>"$TMP/err" &&
    grep -q '^override --precision f32 (the checkpoint.s: bf16)$' "$TMP/r.out" &&
    grep -q '"overrides":{"precision":{"checkpoint":"bf16","used":"f32"}}' "$TMP/r.log" &&
    grep -a -q '^precision=f32$' "$M" &&
    ok "resume in f32: an override, kept" || bad "resume f32: $(cat "$TMP/r.out" "$TMP/err")"
finish
