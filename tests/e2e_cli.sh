#!/bin/bash
# End-to-end: the command line's help, version, and every bad input's
# message and exit code.
. "${srcdir:-.}/tests/lib.sh"

"$MLPTRAIN" --help >"$TMP/help" && grep -q -- '--workers N' "$TMP/help" &&
    grep -q '\[256\]' "$TMP/help" && ok "--help lists options with defaults" ||
    bad "--help"
"$MLPTRAIN" --version >"$TMP/v" && grep -q '^mlptrain ' "$TMP/v" &&
    grep -q 'oneDNN 2\.' "$TMP/v" && ok "--version" || bad "--version"

expect_exit 2 "unknown option '--bogus'" -- --bogus
expect_exit 2 "option '--lr': 'abc' is not a number" -- --lr abc
expect_exit 2 "option '--batch': '0'" -- --batch 0
expect_exit 2 "option '--workers': '-1'" -- -j -1
expect_exit 2 "option '--hidden': '12,,3'" -- --hidden 12,,3
expect_exit 2 "option '--act': unknown value 'swish' (relu, sigmoid, tanh)" -- --act swish
expect_exit 2 "option '--epochs'" -- --epochs -3
expect_exit 2 "needs a value" -- --data
expect_exit 2 "unknown command 'fly'" -- fly
expect_exit 2 "hint: see 'mlptrain --help'" -- --lr abc

# Data problems: exit 1, the message names the file.
expect_exit 1 "$TMP/none" -- --data "$TMP/none" --epochs 1
mkdir "$TMP/bad"
"$MKDATA" "$TMP/bad" 100 20 4 4 3 plain
printf 'garbage' >"$TMP/bad/train-labels-idx1-ubyte"
expect_exit 1 "train-labels-idx1-ubyte" -- --data "$TMP/bad" --epochs 1
expect_exit 1 "cannot write '$TMP/nodir/x.jsonl'" -- --data "$TMP/bad" --log "$TMP/nodir/x.jsonl"

finish
