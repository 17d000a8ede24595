#!/bin/bash
# End-to-end: `mlptrain export`.  Train tiny models (relu with one hidden
# layer; sigmoid and tanh with two; softmax regression), export each to
# ONNX and .npz, and check them with Debian's python3-onnx and NumPy
# (tests/export_check.py): onnx.checker with full_check, an independent
# NumPy evaluation of the graph on the raw test pixels whose confusion
# matrix and accuracy are mlptrain eval's, the .npz's logits equal to the
# graph's, doc/export.md's PyTorch lines (python3-torch), and the per-sample
# classes and logits of `mlptrain predict --input`.  Then usage and the
# output door: a directory, a FIFO, the
# model itself, a bad model (the old output is kept); one model always
# gives the same bytes.
. "${srcdir:-.}/tests/lib.sh"

need_py onnx python3-onnx
need_py numpy python3-numpy
need_py torch python3-torch
CHECK="${srcdir:-.}/tests/export_check.py"
D="$TMP/data"
mkdir "$D"
"$MKDATA" "$D" 600 200 12 12 5 gz || { bad "mkdata"; finish; exit 1; }

run() { "$MLPTRAIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null; }

torch=--torch

# model NAME SIZES ACT TRAIN-OPTIONS...: train, export, check.
model() {
    local name=$1 sizes=$2 act=$3 m="$TMP/$1.ckpt" csv=
    shift 3
    if ! run --data "$D" --batch 50 --threads 2 -j 0 --act "$act" "$@" \
            --save "$m"; then
        bad "$name: train: $(cat "$TMP/err")"
        return
    fi
    if run export --model "$m" --onnx "$TMP/$name.onnx" --npz "$TMP/$name.npz" &&
       [ -s "$TMP/$name.onnx" ] && [ -s "$TMP/$name.npz" ] &&
       grep -q "^wrote $TMP/$name.onnx (ONNX, opset 13)$" "$TMP/out" &&
       grep -q "^wrote $TMP/$name.npz (NumPy .npz)$" "$TMP/out"; then
        ok "$name: export --onnx --npz"
    else
        bad "$name: export: $(cat "$TMP/out" "$TMP/err")"
        return
    fi
    run eval --model "$m" --data "$D" --batch 50 --threads 2 --json ||
        { bad "$name: eval: $(cat "$TMP/err")"; return; }
    cp "$TMP/out" "$TMP/$name.eval.json"
    csv="$TMP/$name.predict.csv"
    run predict --model "$m" --input "$D/t10k-images-idx3-ubyte.gz" \
        --csv --logits --threads 2 && cp "$TMP/out" "$csv" ||
        { bad "$name: predict --input: $(cat "$TMP/err")"; csv=; }
    # torch takes a second to import: doc/export.md's lines run on one model.
    local torch_once=$torch
    torch=
    if "$PY" "$CHECK" --onnx "$TMP/$name.onnx" --npz "$TMP/$name.npz" \
            --images "$D/t10k-images-idx3-ubyte.gz" \
            --labels "$D/t10k-labels-idx1-ubyte.gz" \
            --eval-json "$TMP/$name.eval.json" ${csv:+--predict-csv "$csv"} \
            --act "$act" --sizes "$sizes" $torch_once \
            >"$TMP/py" 2>&1; then
        ok "$name: ONNX and .npz agree with mlptrain ($(grep -c '^PASS' "$TMP/py") checks)"
    else
        bad "$name: $(grep -v '^PASS' "$TMP/py")"
    fi
}

# Recipes that stop short of perfect (test accuracy 0.56 to 0.99): the
# confusion matrices have errors to agree on.
model relu1 144-16-5 relu --hidden 16 --init-std 0.1 --lr 0.05 -e 1
model sigmoid2 144-24-12-5 sigmoid --hidden 24,12 --init xavier --lr 1 -e 3
model tanh2 144-24-12-5 tanh --hidden 24,12 --init-std 0.1 --lr 0.1 -e 2
model linear 144-5 relu --hidden '' --init-std 0.1 --lr 0.03 -e 1

# Large logits: relu1 with its weights x 30 (logits in the hundreds, past
# where a float exp overflows): predict's probabilities are still the
# exported graph's Softmax row by row, its classes the graph's.
{
    B="$TMP/big"
    if "$PY" "${srcdir:-.}/tests/ckpt_weights.py" "$TMP/relu1.ckpt" "$B.ckpt" scale 30 &&
       run export --model "$B.ckpt" --onnx "$B.onnx" --npz "$B.npz" &&
       run eval --model "$B.ckpt" --data "$D" --batch 50 --threads 2 --json &&
       cp "$TMP/out" "$B.eval.json" &&
       run predict --model "$B.ckpt" --input "$D/t10k-images-idx3-ubyte.gz" \
           --csv --logits --threads 2 && cp "$TMP/out" "$B.csv" &&
       "$PY" "$CHECK" --onnx "$B.onnx" --npz "$B.npz" \
           --images "$D/t10k-images-idx3-ubyte.gz" \
           --labels "$D/t10k-labels-idx1-ubyte.gz" --eval-json "$B.eval.json" \
           --predict-csv "$B.csv" --act relu --sizes 144-16-5 \
           --logit-tol 0.05 >"$TMP/py" 2>&1 &&
       grep -q "largest |logit| [1-9][0-9][0-9]" "$TMP/py"; then
        ok "large logits: predict agrees with the exported graph ($(grep 'ONNX Softmax' "$TMP/py" | sed 's/.*(//; s/)//'))"
    else
        bad "large logits: $(grep -v '^PASS' "$TMP/py"; cat "$TMP/err")"
    fi
}

for name in relu1 sigmoid2 tanh2 linear; do
    acc=$(sed 's/.*"accuracy":\([0-9.]*\),"loss".*/\1/' "$TMP/$name.eval.json" 2>/dev/null)
    awk -v a="${acc:-0}" 'BEGIN { exit !(a > 0.4 && a < 1) }' &&
        ok "$name: test accuracy $acc in (0.4, 1)" ||
        bad "$name: test accuracy '$acc' (the recipe no longer fits the data)"
done

# A model of real features: CSV with text labels, --normalize standard.
F="$TMP/feat"
mkdir "$F"
FX="${srcdir:-.}/tests/export_features.py"
if "$PY" "$FX" make --dir "$F" &&
   run --train "$F/train.csv" --test "$F/test.csv" --label shape \
       --hidden 8 --epochs 3 --batch 30 --lr 0.1 -t 2 -j 0 \
       --save "$F/m.ckpt" &&
   run export --model "$F/m.ckpt" --onnx "$F/m.onnx" --npz "$F/m.npz" &&
   run predict --model "$F/m.ckpt" --input "$F/test_x.csv" --csv \
       --logits -t 2 && cp "$TMP/out" "$F/pred.csv"; then
    if "$PY" "$FX" check --dir "$F" --onnx "$F/m.onnx" --npz "$F/m.npz" \
           --predict-csv "$F/pred.csv" >"$TMP/py" 2>&1; then
        ok "features model: ONNX and .npz agree with mlptrain ($(grep -c '^PASS' "$TMP/py") checks)"
    else
        bad "features model: $(grep -v '^PASS' "$TMP/py")"
    fi
else
    bad "features model: $(cat "$TMP/out" "$TMP/err")"
fi

M="$TMP/relu1.ckpt"
# Same model, same bytes.
run export --model "$M" --onnx "$TMP/again.onnx" --npz "$TMP/again.npz" &&
    cmp -s "$TMP/again.onnx" "$TMP/relu1.onnx" &&
    cmp -s "$TMP/again.npz" "$TMP/relu1.npz" &&
    ok "export is deterministic" || bad "export differs on a second run"

# ---- usage and the output door -----------------------------------------
expect_exit 2 "option '--model' is required" -- export --onnx "$TMP/x.onnx"
expect_exit 2 "nothing to write" -- export --model "$M"
expect_exit 2 "unknown option '--bogus'" -- export --model "$M" --bogus
expect_exit 2 "unexpected argument 'extra'" -- export --model "$M" --npz "$TMP/x.npz" extra
expect_exit 2 "option '--onnx': an empty file name" -- export --model "$M" --onnx ''
expect_exit 2 "option '--class-names': 2 names for 5 classes" -- \
    export --model "$M" --onnx "$TMP/x.onnx" --class-names a,b
mkdir "$TMP/dir.onnx"
expect_exit 1 "cannot write '$TMP/dir.onnx': it is a directory" -- \
    export --model "$M" --onnx "$TMP/dir.onnx"
mkfifo "$TMP/fifo.npz"
expect_exit 1 "cannot write '$TMP/fifo.npz': it is a FIFO" -- \
    export --model "$M" --npz "$TMP/fifo.npz"
expect_exit 2 "'--onnx' and '--model' name the same file" -- \
    export --model "$M" --onnx "$M"
expect_exit 2 "name the same file" -- \
    export --model "$M" --onnx "$TMP/same" --npz "$TMP/same"
expect_exit 1 "cannot open '$TMP/nope.ckpt'" -- \
    export --model "$TMP/nope.ckpt" --onnx "$TMP/x.onnx"
[ ! -e "$TMP/x.onnx" ] && ok "no output after a failure" ||
    bad "an output was written after a failure"
# A bad model leaves an existing output as it was.
head -c 100 "$M" >"$TMP/cut.ckpt"
cp "$TMP/relu1.onnx" "$TMP/keep.onnx"
expect_exit 1 "$TMP/cut.ckpt: truncated" -- \
    export --model "$TMP/cut.ckpt" --onnx "$TMP/keep.onnx"
cmp -s "$TMP/keep.onnx" "$TMP/relu1.onnx" && ok "old output kept" ||
    bad "old output changed"
[ -z "$(ls "$TMP" | grep '\.tmp\.')" ] && ok "no temporary files left" ||
    bad "temporary files: $(ls "$TMP" | grep '\.tmp\.')"
# Class names go into both files.
if run export --model "$M" --onnx "$TMP/n.onnx" --npz "$TMP/n.npz" \
       --class-names 'a,b,c,d,été'; then
    "$PY" -c "
import json, sys, numpy as np, onnx
m = onnx.load(sys.argv[1])
meta = {p.key: p.value for p in m.metadata_props}
want = ['a', 'b', 'c', 'd', 'été']
assert json.loads(meta['class_names']) == want, meta
assert np.load(sys.argv[2], allow_pickle=False)['class_names'].tolist() == want
" "$TMP/n.onnx" "$TMP/n.npz" 2>"$TMP/err" && ok "--class-names in both files" ||
        bad "--class-names: $(cat "$TMP/err")"
else
    bad "export --class-names: $(cat "$TMP/err")"
fi

finish
