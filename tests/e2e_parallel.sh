#!/bin/bash
# End-to-end: the parallel step (--parallel, --micro, --accum).  In batch
# mode the trained weights are the same bytes for any -t and -j; --accum K
# of batch B is batch K x B where the micro-batches cut both the same;
# gemm mode at -t 1 is batch mode; --micro is kept in the checkpoint (a
# resumed run with another one is refused); bad values are refused.  The
# same in bf16 (--precision bf16), whose weights are its own.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
mkdir "$D"
"$MKDATA" "$D" 590 120 8 8 4 3 || { bad "mkdata"; finish; exit 1; }
common=(--data "$D" --hidden 24 -e 2 --dropout 0.2 --input-dropout 0.1
        --optimizer adam --lr 0.01 --schedule cosine)

# The parameters and optimizer state of a checkpoint: its payload (after
# the header and the options text, before the checksum).
payload() {
    n=$(od -A n -t u8 -j 256 -N 8 "$1" | tr -d ' ')
    tail -c +$((264 + n + 1)) "$1" | head -c -4 | md5sum | cut -d' ' -f1
}
figures() { grep '^epoch' "$1" | sed 's/  [0-9.]* s  .*//'; }

run() { # name args...
    name=$1
    shift
    "$MLPTRAIN" "${common[@]}" --save "$TMP/$name.ckpt" "$@" \
        >"$TMP/$name.out" 2>"$TMP/err" || bad "$name: $(cat "$TMP/err")"
}

run t1 --parallel batch -b 40 --micro 10 -t 1 -j 0
ref=$(payload "$TMP/t1.ckpt")
for tj in "2 2" "3 0" "4 3"; do
    set -- $tj
    run "t$1" --parallel batch -b 40 --micro 10 -t "$1" -j "$2"
    if [ "$(payload "$TMP/t$1.ckpt")" = "$ref" ] &&
       [ "$(figures "$TMP/t$1.out")" = "$(figures "$TMP/t1.out")" ]; then
        ok "batch mode: -t $1 -j $2 trains the same weights as -t 1"
    else
        bad "batch mode: -t $1 -j $2 differs from -t 1"
    fi
done
run gemm --parallel gemm -b 40 --micro 10 -t 1
[ "$(payload "$TMP/gemm.ckpt")" = "$ref" ] &&
    ok "gemm mode at -t 1 is batch mode" || bad "gemm -t 1 differs"
# 590 rows: 14 x 40 + 30 = 29 x 20 + 10; the epoch's last step is short.
run acc --parallel batch -b 20 --accum 2 --micro 10 -t 2
[ "$(payload "$TMP/acc.ckpt")" = "$ref" ] &&
    [ "$(figures "$TMP/acc.out")" = "$(figures "$TMP/t1.out")" ] &&
    ok "--accum 2 of batch 20 is batch 40" || bad "--accum 2 differs"
run part --parallel batch -b 40 --micro 20 -t 2
[ "$(payload "$TMP/part.ckpt")" != "$ref" ] &&
    ok "another partition, other weights" ||
    bad "--micro 20 trained the same weights as --micro 10"

# bf16: the same bytes for any -t and -j, gemm -t 1 and --accum, and
# not f32's.
if bf16_here "$D"; then
    run b1 --parallel batch -b 40 --micro 10 -t 1 -j 0 --precision bf16
    bref=$(payload "$TMP/b1.ckpt")
    [ "$bref" != "$ref" ] && ok "bf16 trains other weights than f32" ||
        bad "bf16 trained f32's weights"
    for case in "t3 -t 3 -j 2" "t2 -t 2 -j 0" "g1 --parallel gemm -t 1" \
                "acc -b 20 --accum 2 -t 2"; do
        set -- $case
        c=b$1
        shift
        [ "$c" = bacc ] || set -- -b 40 "$@"
        run "$c" --parallel batch --micro 10 --precision bf16 "$@"
        if [ "$(payload "$TMP/$c.ckpt")" = "$bref" ] &&
           [ "$(figures "$TMP/$c.out")" = "$(figures "$TMP/b1.out")" ]; then
            ok "bf16: $* trains the same weights as -t 1"
        else
            bad "bf16: $* differs from -t 1"
        fi
    done
    grep -a -q '^precision=bf16$' "$TMP/b1.ckpt" &&
        ok "the checkpoint names the precision" || bad "precision not saved"
fi

# The checkpoint keeps --micro and --accum.
grep -a -q '^micro=10$' "$TMP/acc.ckpt" && grep -a -q '^accum=2$' "$TMP/acc.ckpt" &&
    ok "the checkpoint names micro and accum" || bad "micro/accum not saved"
expect_exit 2 "option '--micro': 20 conflicts with the checkpoint" -- \
    --data "$D" -e 3 --micro 20 --resume "$TMP/acc.ckpt"
# Resumed at an epoch's end (a constant rate: a schedule spans --epochs).
resume_opts=(--data "$D" --hidden 24 --dropout 0.2 --optimizer adam
             --lr 0.01 -b 20 --accum 2 --micro 10)
"$MLPTRAIN" "${resume_opts[@]}" -e 3 -t 1 >"$TMP/f3" 2>"$TMP/err" &&
    "$MLPTRAIN" "${resume_opts[@]}" -e 2 -t 2 --save "$TMP/r.ckpt" \
        >/dev/null 2>>"$TMP/err" &&
    "$MLPTRAIN" --data "$D" -e 3 -t 3 --resume "$TMP/r.ckpt" >"$TMP/r3" \
        2>>"$TMP/err" &&
    [ -n "$(figures "$TMP/r3")" ] &&
    [ "$(figures "$TMP/r3")" = "$(figures "$TMP/f3" | tail -n 1)" ] &&
    ok "a resumed --accum run continues exactly" ||
    bad "resume: $(figures "$TMP/r3") / $(figures "$TMP/f3") $(cat "$TMP/err")"

expect_exit 2 "--parallel" -- --data "$D" --parallel fast
expect_exit 2 "--accum" -- --data "$D" --accum 0
expect_exit 2 "--micro" -- --data "$D" --micro -3
expect_exit 2 "'--precision'" -- --data "$D" --precision f16
finish
