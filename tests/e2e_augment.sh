#!/bin/bash
# End-to-end: --augment shift=2,flip changes the training figures, and
# identically for -j 0 and -j 3 (the draws are keyed by seed, epoch and
# sample, not by the thread); `predict --show-train` shows the training
# images as delivered, different in epochs 1 and 2.
. "${srcdir:-.}/tests/lib.sh"
need_tool gnuplot gnuplot-nox

D="$TMP/data"
mkdir "$D"
"$MKDATA" "$D" 600 150 12 12 5 gz || { bad "mkdata"; finish; exit 1; }

# The figures of each epoch line, without its timings.
figures() { grep '^epoch' "$1" | sed -E 's/(test acc [0-9.]+).*/\1/'; }

train() { # OUT ARGS...
    out=$1
    shift
    "$MLPTRAIN" --data "$D" --epochs 3 --lr 0.05 --batch 50 --hidden 16 \
        --threads 1 --init-std 0.1 "$@" >"$TMP/$out" 2>"$TMP/err" ||
        bad "train $*: $(cat "$TMP/err")"
}

train j0 --augment shift=2,flip -j 0 --save "$TMP/m.ckpt"
train j3 --augment shift=2,flip -j 3
train plain -j 3
[ "$(figures "$TMP/j0" | wc -l)" -eq 3 ] &&
    [ "$(figures "$TMP/j0")" = "$(figures "$TMP/j3")" ] &&
    ok "--augment shift=2,flip: same figures for -j 0 and -j 3" ||
    bad "augmented figures differ: $(figures "$TMP/j0") / $(figures "$TMP/j3")"
[ "$(figures "$TMP/j0")" != "$(figures "$TMP/plain")" ] &&
    ok "--augment changes the figures" ||
    bad "augmented figures equal the plain ones: $(figures "$TMP/plain")"
[ "$(grep -c '^ok: ' "$TMP/j0")" -eq 1 ] && ok "augmented run ends ok" ||
    bad "no ok line: $(cat "$TMP/j0")"

# The pictures of predict, without the header lines.
show() { # OUT ARGS...
    out=$1
    shift
    "$MLPTRAIN" predict --model "$TMP/m.ckpt" --data "$D" -n 6 \
        --show-train "$@" >"$TMP/$out" 2>"$TMP/err" ||
        bad "predict --show-train $*: $(cat "$TMP/err")"
    sed -i '1,3d' "$TMP/$out"
}

show e1 --augment shift=2,flip
show e1b --augment shift=2,flip --epoch 1
show e2 --augment shift=2,flip --epoch 2
show n1 --epoch 1 --augment none
show d1 --epoch 1
show s1 --augment shift=2,flip --seed 9
[ -s "$TMP/e1" ] && grep -q '^true ' "$TMP/e1" && grep -q ' right$' "$TMP/e1" &&
    ok "predict --show-train shows images" || bad "show-train: $(cat "$TMP/e1")"
cmp -s "$TMP/e1" "$TMP/d1" &&
    ok "show-train: the model's augmentation is the default" ||
    bad "show-train: the default is not the model's augmentation"
cmp -s "$TMP/e1" "$TMP/e1b" && ok "--epoch 1 is the default" ||
    bad "--epoch 1 differs from the default"
! cmp -s "$TMP/e1" "$TMP/e2" && ok "show-train: epochs 1 and 2 differ" ||
    bad "show-train: epochs 1 and 2 show the same"
! cmp -s "$TMP/e1" "$TMP/n1" && ok "show-train: --augment changes the images" ||
    bad "show-train: augmented and plain images are the same"
! cmp -s "$TMP/e1" "$TMP/s1" && ok "show-train: --seed changes the images" ||
    bad "show-train: seeds 1 and 9 show the same"
"$MLPTRAIN" predict --model "$TMP/m.ckpt" --data "$D" -n 2 --show-train \
    --augment flip --epoch 3 >"$TMP/out" 2>"$TMP/err" &&
    grep -q '^showing  the first 2 of epoch 3 as trained on (seed 1, augment flip)' \
        "$TMP/out" && ok "show-train header" || bad "header: $(cat "$TMP/out")"
"$MLPTRAIN" predict --model "$TMP/m.ckpt" --data "$D" --show-train \
    --augment shift=2,flip --png "$TMP/t.png" >"$TMP/out" 2>"$TMP/err" &&
    [ -s "$TMP/t.png" ] && ok "predict --show-train --png" ||
    bad "show-train --png: $(cat "$TMP/err")"
# A model trained on a validation hold-out: its training split is the
# rest, made as the trainer made it.
train v --val 40 --save "$TMP/v.ckpt"
"$MLPTRAIN" predict --model "$TMP/v.ckpt" --data "$D" -n 3 --show-train \
    >"$TMP/vout" 2>"$TMP/err" && grep -q "training images" "$TMP/vout" &&
    ok "show-train of a model trained with --val" ||
    bad "show-train --val: $(cat "$TMP/err")"
# Data too small for the model's hold-out: an error naming the model, not
# an option the user never gave.
S="$TMP/small"
mkdir "$S"
"$MKDATA" "$S" 30 20 12 12 5 gz >/dev/null || bad "mkdata small"
expect_exit 1 "model '$TMP/v.ckpt' holds out 40 validation samples" -- \
    predict --model "$TMP/v.ckpt" --data "$S" -n 3 --show-train
expect_exit 2 "option '--epoch' needs --show-train" -- predict --model "$TMP/m.ckpt" --epoch 2
expect_exit 2 "option '--epoch'" -- predict --model "$TMP/m.ckpt" --show-train --epoch 0
expect_exit 2 "option '--augment'" -- predict --model "$TMP/m.ckpt" --show-train --augment shift=99
finish
