#!/bin/bash
# End-to-end: dropout, input dropout, label smoothing and He init train, and
# their figures are the same for -j 0 and -j 4 and for -t 1 and -t 2 (the
# masks are a function of the seed, the epoch, the batch and the unit, not
# of a thread); dropout changes the figures, and a zero rate does not.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
make_data "$D" 1200 300 12 12 7 gz
common=(--data "$D" --epochs 3 --batch 50 --hidden 32,24)
# --init-std is --init normal's (with he it is bad usage: issue 20)
normal=(--init-std 0.1)
reg=(--dropout 0.3 --input-dropout 0.1 --label-smoothing 0.1 --init he)

same() { # name file1 file2
    if [ -n "$(figures "$2")" ] && [ "$(figures "$2")" = "$(figures "$3")" ]; then
        ok "$1"
    else
        bad "$1: $(figures "$2") / $(figures "$3")"
    fi
}

for run in "j0 -j 0 -t 1" "j4 -j 4 -t 1" "j4t2 -j 4 -t 2"; do
    set -- $run
    name=$1
    shift
    "$MLPTRAIN" "${common[@]}" "${reg[@]}" "$@" --log "$TMP/$name.jsonl" \
        >"$TMP/$name" 2>"$TMP/err" && ok "trains with $*" ||
        bad "$*: $(cat "$TMP/err")"
done
same "-j 0 and -j 4 print the same figures" "$TMP/j0" "$TMP/j4"
same "-t 1 and -t 2 print the same figures" "$TMP/j4" "$TMP/j4t2"
acc=$(figures "$TMP/j0" | tail -1 | sed 's/.*test acc //')
awk -v a="$acc" 'BEGIN { exit !(a > 0.7) }' && ok "learns (test acc $acc)" ||
    bad "test acc $acc"
grep -q '"dropout":0.3.*"input_dropout":0.1\|"input_dropout":0.1.*"dropout":0.3' \
    "$TMP/j0.jsonl" && ok "run record has the rates" ||
    bad "run record: $(head -1 "$TMP/j0.jsonl")"

# Each ingredient changes the figures; zero rates change nothing.
"$MLPTRAIN" "${common[@]}" "${normal[@]}" -j 2 >"$TMP/plain" 2>&1 ||
    bad "plain run"
"$MLPTRAIN" "${common[@]}" "${normal[@]}" -j 2 --dropout 0 --input-dropout 0 \
    --label-smoothing 0 --init normal >"$TMP/zero" 2>&1 || bad "zero run"
same "zero rates give the plain figures" "$TMP/plain" "$TMP/zero"
for opt in "--dropout 0.2" "--input-dropout 0.2" "--label-smoothing 0.2" \
    "--init xavier"; do
    # shellcheck disable=SC2086
    case $opt in --init*) std=() ;; *) std=("${normal[@]}") ;; esac
    "$MLPTRAIN" "${common[@]}" "${std[@]}" -j 2 $opt >"$TMP/one" 2>&1 ||
        bad "$opt run"
    if [ -n "$(figures "$TMP/one")" ] &&
        [ "$(figures "$TMP/one")" != "$(figures "$TMP/plain")" ]; then
        ok "$opt changes the figures"
    else
        bad "$opt: $(figures "$TMP/one")"
    fi
done
expect_exit 2 "dropout" -- "${common[@]}" --dropout 1
expect_exit 2 "option '--init-std' needs --init normal (this run's is he)" \
    -- "${common[@]}" --init he --init-std 0.1
finish
