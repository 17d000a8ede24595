#!/bin/bash
# End-to-end: what a new user meets (issue 10).  Every command's --help
# lists its exit statuses in lines of at most 80 columns; -V works in every
# command; `mlptrain help [COMMAND]`; an ambiguous abbreviation is called
# ambiguous; one option vocabulary (-o/--png, -n/--limit-test, --json);
# --resume FILE saves to FILE, needs --epochs, and takes a new --lr as a
# logged override while other conflicts still exit 2.
. "${srcdir:-.}/tests/lib.sh"
need_tool "$PY" python3
need_tool gnuplot gnuplot-nox

# ---- help, version -----------------------------------------------------
for c in train sweep plot activations eval predict; do
    if "$MLPTRAIN" "$c" --help >"$TMP/h" 2>"$TMP/err"; then
        grep -q '^Exit status:' "$TMP/h" && grep -q '^  2    bad usage' "$TMP/h" &&
            ok "$c --help lists exit statuses" ||
            bad "$c --help: no exit-status section"
        long=$(awk 'length($0) > 80' "$TMP/h")
        [ -z "$long" ] && ok "$c --help fits 80 columns" ||
            bad "$c --help: lines over 80 columns: $long"
    else
        bad "$c --help: exit $?: $(cat "$TMP/err")"
    fi
    for v in -V --version; do
        "$MLPTRAIN" "$c" "$v" >"$TMP/v" 2>"$TMP/err" &&
            grep -q '^mlptrain ' "$TMP/v" && ok "$c $v" ||
            bad "$c $v: $(cat "$TMP/err")"
    done
    "$MLPTRAIN" help "$c" >"$TMP/h2" 2>"$TMP/err" &&
        cmp -s "$TMP/h" "$TMP/h2" && ok "help $c == $c --help" ||
        bad "help $c: $(cat "$TMP/err")"
done
"$MLPTRAIN" --help >"$TMP/h" && [ -z "$(awk 'length($0) > 80' "$TMP/h")" ] &&
    grep -q "mlptrain help COMMAND" "$TMP/h" && ok "--help fits 80 columns" ||
    bad "--help: $(awk 'length($0) > 80' "$TMP/h")"
"$MLPTRAIN" help train >"$TMP/h2" && cmp -s "$TMP/h" "$TMP/h2" &&
    ok "help train == --help" || bad "help train differs from --help"
"$MLPTRAIN" help >"$TMP/h3" && grep -q '^  train  ' "$TMP/h3" &&
    grep -q '^  version  ' "$TMP/h3" && ok "help lists the commands" ||
    bad "help: $(cat "$TMP/h3")"
expect_exit 2 "help: unknown command 'fly'" -- help fly

# ---- abbreviations -----------------------------------------------------
expect_exit 2 "option '--s' is ambiguous: it could be --schedule, --seed, --slots, --save, --save-best" -- --s 3
expect_exit 2 "option '--c' is ambiguous: it could be --class-names, --count" -- \
    predict --c 3 --model x
expect_exit 2 "option '--s' is ambiguous: it could be --space, --samples, --seed, --search, --shard" -- \
    sweep --s 2 --grid lr=0.1 --dir "$TMP/sweep"
expect_exit 2 "unknown option '--bogus'" -- eval --bogus
expect_exit 2 "option '--help' takes no value" -- plot --help=yes
expect_exit 2 "option '--png' needs a value" -- activations --png

# ---- a run, resumed ----------------------------------------------------
D="$TMP/data"
C="$TMP/c.ckpt"
mkdir "$D"
"$MKDATA" "$D" 600 150 12 12 5 gz || { bad "mkdata"; finish; exit 1; }
common=(--data "$D" --hidden 16 --batch 50 --lr 0.05 --init-std 0.1 -j 0
        --threads 2)
"$MLPTRAIN" "${common[@]}" --epochs 3 >"$TMP/full" 2>"$TMP/err" ||
    bad "3 epochs: $(cat "$TMP/err")"
"$MLPTRAIN" "${common[@]}" --epochs 1 --save "$C" -q >/dev/null 2>"$TMP/err" ||
    bad "--save: $(cat "$TMP/err")"
# The figures of epoch lines: loss, train and test accuracy.
figures() { grep '^epoch' "$1" | sed 's/\(test acc [0-9.]*\).*/\1/'; }
expect_exit 2 "option '--resume' needs '--epochs N'" -- --data "$D" --resume "$C"
# No --save: the run goes on saving into the file it resumed.
"$MLPTRAIN" --data "$D" --threads 2 --epochs 2 --resume "$C" \
    >"$TMP/r2" 2>"$TMP/err" || bad "--resume: $(cat "$TMP/err")"
"$MLPTRAIN" eval --model "$C" --data "$D" >"$TMP/e" 2>"$TMP/err" &&
    grep -q ', 2 epochs' "$TMP/e" && ok "--resume FILE saves to FILE" ||
    bad "--resume saved nothing: $(head -1 "$TMP/e") $(cat "$TMP/err")"
"$MLPTRAIN" --data "$D" --threads 2 --epochs 3 --resume "$C" \
    >"$TMP/r3" 2>"$TMP/err" || bad "second --resume: $(cat "$TMP/err")"
want=$(figures "$TMP/full" | tail -2)
got=$(cat <(figures "$TMP/r2") <(figures "$TMP/r3"))
[ -n "$want" ] && [ "$want" = "$got" ] &&
    ok "1 + resume to 2 + resume to 3 == 3 epochs, digit for digit" ||
    bad "resumed twice differs: '$want' / '$got'"
# Fine-tuning: a lower --lr is taken, said and logged; other options still
# conflict.
expect_exit 2 "option '--momentum': 0.5 conflicts with the checkpoint" -- \
    --data "$D" --epochs 4 --momentum 0.5 --resume "$C"
"$MLPTRAIN" --data "$D" --threads 2 --epochs 4 --lr 0.01 --resume "$C" \
    --save "$TMP/ft.ckpt" --log "$TMP/ft.jsonl" >"$TMP/ft" 2>"$TMP/err" &&
    ok "--resume with a lower --lr runs" || bad "--lr on resume: $(cat "$TMP/err")"
grep -q "^override --lr 0.01 (the checkpoint's: 0.05)" "$TMP/ft" &&
    ok "the override is said" || bad "override line: $(head -8 "$TMP/ft")"
grep '"type":"run"' "$TMP/ft.jsonl" | grep -q '"overrides":{"lr":{"checkpoint":0.05,"used":0.01}}' &&
    ok "the override is logged" || bad "run record: $(head -1 "$TMP/ft.jsonl")"
json_ok <(head -1 "$TMP/ft.jsonl") 'd["options"]["lr"] < 0.02' &&
    ok "the run record's lr is the one used" || bad "run record lr"
"$MLPTRAIN" eval --model "$C" --data "$D" | grep -q ', 3 epochs' &&
    ok "--save OTHER leaves the resumed file" || bad "--save OTHER"

# ---- one vocabulary ----------------------------------------------------
"$MLPTRAIN" predict --model "$C" --data "$D" -n 3 --json >"$TMP/p.json" \
    2>"$TMP/err" && json_ok "$TMP/p.json" 'len(d["predictions"]) == 3' &&
    ok "predict -n 3 --json" || bad "predict --json: $(cat "$TMP/err") $(cat "$TMP/p.json")"
"$MLPTRAIN" predict --model "$C" --data "$D" --limit-test 2 >"$TMP/p" 2>"$TMP/err" &&
    grep -q 'showing  the first 2' "$TMP/p" && ok "predict --limit-test" ||
    bad "predict --limit-test: $(cat "$TMP/err")"
"$MLPTRAIN" eval --model "$C" --data "$D" -n 40 --json >"$TMP/e.json" \
    2>"$TMP/err" && json_ok "$TMP/e.json" 'd["samples"] == 40' &&
    ok "eval -n 40" || bad "eval -n: $(cat "$TMP/err")"
"$MLPTRAIN" predict --model "$C" --data "$D" -n 2 -o "$TMP/p.png" \
    >/dev/null 2>"$TMP/err" && [ -s "$TMP/p.png" ] && ok "predict -o" ||
    bad "predict -o: $(cat "$TMP/err")"
"$MLPTRAIN" "${common[@]}" --epochs 1 -q -o "$TMP/t.png" >/dev/null \
    2>"$TMP/err" && [ -s "$TMP/t.png" ] && ok "train -o" ||
    bad "train -o: $(cat "$TMP/err")"
"$MLPTRAIN" "${common[@]}" --epochs 1 -q --plot "$TMP/t2.png" >/dev/null \
    2>"$TMP/err" && [ -s "$TMP/t2.png" ] && ok "train --plot (alias)" ||
    bad "train --plot: $(cat "$TMP/err")"

finish
