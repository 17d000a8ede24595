#!/bin/bash
# End-to-end: checkpoint format version 2 and its options text.  A version
# 1 file (tests/data/v1-momentum.ckpt, written by mlptrain 0.1.0 before
# version 2) still resumes exactly; every option a checkpoint keeps comes
# back from the text, and a given value that differs is a conflict; an
# option the text does not name has its default; a text naming an unknown
# option or holding a bad value is refused, naming the file and the line.
. "${srcdir:-.}/tests/lib.sh"
need_tool "$PY" python3

D="$TMP/data"
mkdir "$D"
# The data the version 1 file was trained on (mkdata is deterministic).
"$MKDATA" "$D" 64 32 4 4 3 || { bad "mkdata"; finish; exit 1; }
V1="${srcdir:-.}/tests/data/v1-momentum.ckpt"
common=(--data "$D" --hidden 8 --momentum 0.9 --lr 0.5 -b 16 -j 0 -t 1)

figures() { grep '^epoch' "$1" | sed 's/  [0-9.]* s  .*//'; }

# ---- version 1 resumes exactly ----------------------------------------------
"$MLPTRAIN" "${common[@]}" -e 3 >"$TMP/full" 2>"$TMP/err" ||
    bad "3 epochs: $(cat "$TMP/err")"
cp "$V1" "$TMP/v1.ckpt"
"$MLPTRAIN" --data "$D" -t 1 -e 3 --resume "$TMP/v1.ckpt" --save "$TMP/v2.ckpt" \
    >"$TMP/rest" 2>"$TMP/err" || bad "--resume v1: $(cat "$TMP/err")"
if [ -n "$(figures "$TMP/rest")" ] &&
   [ "$(figures "$TMP/full" | tail -n 2)" = "$(figures "$TMP/rest")" ]; then
    ok "a version 1 checkpoint resumes exactly"
else
    bad "v1 resume differs: $(figures "$TMP/full") / $(figures "$TMP/rest")"
fi
v=$(od -A n -t u4 -j 8 -N 4 "$TMP/v2.ckpt" | tr -d ' ')
[ "$v" = 3 ] && ok "a save is format version 3" || bad "version $v"
cmp -s "$V1" "$TMP/v1.ckpt" && ok "the version 1 file is left as it was" ||
    bad "the version 1 file changed"
# The resumed run's options are the file's: a conflict names them.
expect_exit 2 "option '--momentum': 0.5 conflicts with the checkpoint" -- \
    --data "$D" -e 4 --momentum 0.5 --resume "$TMP/v2.ckpt"

# ---- version 2 keeps every checkpointed option ------------------------------
"$MLPTRAIN" --data "$D" --hidden 6:5 --act tanh --init-std 0.2 \
    --weight-decay 0.001 -b 8 -s 7 -e 1 -j 0 -t 1 --save "$TMP/o.ckpt" \
    >/dev/null 2>"$TMP/err" || bad "save: $(cat "$TMP/err")"
cp "$TMP/o.ckpt" "$TMP/o2.ckpt" # a resumed run saves into its file
"$MLPTRAIN" --data "$D" -e 2 -j 0 -t 1 --resume "$TMP/o2.ckpt" \
    --log "$TMP/o.jsonl" >/dev/null 2>"$TMP/err" || bad "resume: $(cat "$TMP/err")"
opts=$(head -n 1 "$TMP/o.jsonl" | "$PY" -c '
import json, sys
o = json.loads(sys.stdin.readline())["options"]
print(o["hidden"], o["act"], o["init_std"], o["weight_decay"], o["batch"], o["seed"])')
[ "$opts" = "[6, 5] tanh 0.2 0.001 8 7" ] &&
    ok "the options come back from the checkpoint" || bad "options: $opts"
for bad_opt in "--act relu" "--hidden 6" "--seed 8" "--batch 9"; do
    # shellcheck disable=SC2086
    expect_exit 2 "conflicts with the checkpoint" -- \
        --data "$D" -e 3 $bad_opt --resume "$TMP/o.ckpt"
done

# ---- the options text: edited files -----------------------------------------
# edit FILE OLD NEW OUT: replace text in the options, fix sizes and crc32.
edit() {
    "$PY" - "$@" <<'PY'
import struct, sys, zlib
src, old, new, out = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode(), sys.argv[4]
b = open(src, "rb").read()
n = struct.unpack_from("<Q", b, 256)[0]
text = b[264:264 + n]
assert old in text, text
text = text.replace(old, new)
body = bytearray(b[:264] + text + b[264 + n:-4])
struct.pack_into("<Q", body, 256, len(text))
struct.pack_into("<Q", body, 16, len(body) + 4)
body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xffffffff)
open(out, "wb").write(body)
PY
}
edit "$TMP/o.ckpt" "seed=7" "colour=blue" "$TMP/unknown.ckpt"
expect_exit 1 "unknown.ckpt: option 'colour' (line [0-9]*) is not one this mlptrain keeps" -- \
    --data "$D" -e 3 --resume "$TMP/unknown.ckpt"
edit "$TMP/o.ckpt" "act=tanh" "act=swish" "$TMP/badval.ckpt"
expect_exit 1 "badval.ckpt: options line [0-9]*: option '--act': unknown value 'swish'" -- \
    --data "$D" -e 3 --resume "$TMP/badval.ckpt"
# An option the text does not name has its default (here seed 1).
edit "$TMP/o.ckpt" "seed=7
" "" "$TMP/noseed.ckpt"
"$MLPTRAIN" --data "$D" -e 2 -j 0 -t 1 --resume "$TMP/noseed.ckpt" \
    --log "$TMP/n.jsonl" >/dev/null 2>"$TMP/err" || bad "resume: $(cat "$TMP/err")"
seed=$(head -n 1 "$TMP/n.jsonl" | "$PY" -c '
import json, sys; print(json.loads(sys.stdin.readline())["options"]["seed"])')
[ "$seed" = 1 ] && ok "an option the file does not name has its default" ||
    bad "seed $seed"
finish
