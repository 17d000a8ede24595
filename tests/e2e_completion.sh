#!/bin/bash
# End-to-end: `mlptrain completion bash` (cmd_completion.c, generated from
# the option tables).  The script is sourced in a fresh bash and asked,
# through COMP_WORDS and COMP_CWORD as bash's completion sets them, for
# commands, options, the values of an option that takes a name, files
# and directories, operands and train's options after sweep's "--"; every
# option of every command's --help is offered.  The installed file
# (completion/mlptrain) is the command's output.
. "${srcdir:-.}/tests/lib.sh"

: "${COMPLETION:=completion/mlptrain}"
"$MLPTRAIN" completion bash >"$TMP/comp.bash" 2>"$TMP/err" &&
    ok "mlptrain completion bash" || bad "completion bash: $(cat "$TMP/err")"
cmp -s "$TMP/comp.bash" "$COMPLETION" &&
    ok "$COMPLETION is the command's output" || bad "$COMPLETION differs"
bash -n "$TMP/comp.bash" 2>"$TMP/err" && ok "bash -n: its syntax" ||
    bad "bash -n: $(cat "$TMP/err")"

# comp WORD... : the completions of the last WORD (the one being typed)
# after the others, sorted, on one line.
comp() {
    bash --norc --noprofile -c '
        source "$1" || exit 1
        shift
        complete -p mlptrain >/dev/null || exit 1
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        _mlptrain
        printf "%s\n" "${COMPREPLY[@]}"' _ "$TMP/comp.bash" "$@" |
        sort | tr '\n' ' ' | sed 's/ $//'
}
# expect WANT WORD...: comp WORD... is WANT.
expect() {
    local want=$1 got
    shift
    got=$(comp "$@")
    [ "$got" = "$want" ] && ok "complete '$*' -> '$want'" ||
        bad "complete '$*': '$got', expected '$want'"
}

# Commands, options, names.
expect "eval export" mlptrain e
expect "completion" mlptrain compl
expect "--optimizer" mlptrain --optim
expect "--optimizer" mlptrain train --optim
expect "adam adamw" mlptrain --optimizer ad
expect "adam adamw" mlptrain train -e 3 --optimizer ad
expect "auto bf16 f32" mlptrain --precision ""
expect "cosine" mlptrain --schedule cos
expect "--lr --lr-gamma --lr-min --lr-step" mlptrain --lr
# --opt=value, as bash splits it (COMP_WORDBREAKS has '=').
expect "adam adamw" mlptrain --optimizer = ad
expect "adam adamw sgd" mlptrain --optimizer =
# A number: nothing to offer.
expect "" mlptrain --lr ""
# A command's own options; train's after sweep's "--", not before.
expect "--model" mlptrain eval --mo
expect "--model" mlptrain predict --mod
expect "--onnx" mlptrain export --on
expect "" mlptrain sweep --optim
expect "--optimizer" mlptrain sweep --grid lr=0.1,0.2 -- --optim
expect "grid halving hyperband random" mlptrain sweep --search ""
# Operands: help's commands, completion's shell.
expect "sweep" mlptrain help sw
expect "bash" mlptrain completion ""
# Files and directories: --log a file, --data a directory.
mkdir -p "$TMP/w/data-dir"
: >"$TMP/w/data.jsonl"
expect "$TMP/w/data-dir $TMP/w/data.jsonl" mlptrain --log "$TMP/w/data"
expect "$TMP/w/data-dir" mlptrain --data "$TMP/w/data"
expect "$TMP/w/data-dir $TMP/w/data.jsonl" mlptrain plot "$TMP/w/d"
expect "$TMP/w/data-dir $TMP/w/data.jsonl" mlptrain eval --model "$TMP/w/"
# Every option of every command's --help is offered after "--".
missing=
for c in $("$MLPTRAIN" help | sed -n 's/^  \([a-z]*\)  .*/\1/p'); do
    if [ "$c" = train ]; then offered=" $(comp mlptrain --) "
    else offered=" $(comp mlptrain "$c" --) "; fi
    for o in $("$MLPTRAIN" "$c" --help |
               sed -n 's/^ \{2,6\}\(-., \)\{0,1\}--\([a-z0-9-]*\).*/\2/p'); do
        case $offered in *" --$o "*) ;; *) missing="$missing $c:--$o" ;; esac
    done
done
[ -z "$missing" ] && ok "every option of every command is completed" ||
    bad "not completed:$missing"

# Bad usage: no shell, another shell.
expect_exit 2 "which shell" -- completion
expect_exit 2 "unknown shell 'zsh'" -- completion zsh
expect_exit 2 "unexpected argument 'x'" -- completion bash x
finish
