#!/bin/bash
# End-to-end: pictures and progress.  `mlptrain activations` (table values
# and --png), `--plot` on a training run, `mlptrain plot` of one and of
# several logs, a missing gnuplot, and the progress line on a terminal and
# off it.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
make_data "$D" 1200 300 12 12 7 gz
common=(--data "$D" --epochs 3 --batch 50 --hidden 24 --threads 2 --init-std 0.1)
need_tool gnuplot gnuplot-nox
need_tool script bsdutils

is_png() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ]; }

# The activation table: a header and 160 rows, x = -8.0 .. 7.9.
"$MLPTRAIN" activations >"$TMP/act" 2>"$TMP/err" && ok "activations" ||
    bad "activations: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/act")" -eq 161 ] && ok "161 lines" || bad "lines: $(wc -l <"$TMP/act")"
read -r -a head <"$TMP/act"
[ "${head[*]}" = "x relu drelu sigmoid dsigmoid tanh dtanh" ] && ok "table header" ||
    bad "header: ${head[*]}"
# row X: the values at x = X, compared to 1e-5
row_is() {
    awk -v x="$1" -v want="$2" '
        $1 == x { n = split(want, w, " "); for (i = 1; i <= n; i++)
                  if ((($(i + 1)) - w[i]) ^ 2 > 1e-10) exit 1; found = 1 }
        END { exit !found }' "$TMP/act" && ok "values at x = $1" ||
        bad "values at x = $1: $(awk -v x="$1" '$1 == x' "$TMP/act")"
}
row_is -8.0 "0 0 0.000335 0.000335 -1 0"
row_is -1.0 "0 0 0.268941 0.196612 -0.761594 0.419974"
row_is 0.0 "0 0 0.5 0.25 0 1"
row_is 1.0 "1 1 0.731059 0.196612 0.761594 0.419974"
row_is 7.9 "7.9 1 0.999629 0.000370 1 0.000001"
[ "$(sed -n 2p "$TMP/act" | awk '{print $1}')" = "-8.0" ] &&
    [ "$(tail -1 "$TMP/act" | awk '{print $1}')" = "7.9" ] &&
    ok "x from -8.0 to 7.9" || bad "x range"
expect_exit 2 "unknown option '--pgn'" -- activations --pgn x.png

"$MLPTRAIN" activations --png "$TMP/act.png" >/dev/null 2>"$TMP/err" &&
    is_png "$TMP/act.png" && ok "activations --png" ||
    bad "activations --png: $(cat "$TMP/err")"

# --plot redraws the curves every epoch; the run's output is unchanged.
"$MLPTRAIN" "${common[@]}" --plot "$TMP/run.png" --log "$TMP/run.jsonl" \
    >"$TMP/out" 2>"$TMP/err" && is_png "$TMP/run.png" &&
    ok "--plot FILE.png" || bad "--plot: $(cat "$TMP/err")"
[ "$(grep -c '^epoch' "$TMP/out")" -eq 3 ] && ok "--plot: epoch lines" ||
    bad "--plot output: $(cat "$TMP/out")"
ls "$TMP" | grep -q '\.tmp\.' && bad "a temporary PNG is left" ||
    ok "no temporary PNG left"

"$MLPTRAIN" plot "$TMP/run.jsonl" --png "$TMP/curves.png" >"$TMP/out" \
    2>"$TMP/err" && is_png "$TMP/curves.png" &&
    grep -q "wrote $TMP/curves.png (1 run)" "$TMP/out" &&
    ok "plot of one log" || bad "plot: $(cat "$TMP/err")"
"$MLPTRAIN" "${common[@]}" --act tanh -q --log "$TMP/tanh.jsonl" >/dev/null
"$MLPTRAIN" plot "$TMP/run.jsonl" "$TMP/tanh.jsonl" --png "$TMP/two.png" \
    --title 'relu and tanh' >"$TMP/out" 2>"$TMP/err" &&
    is_png "$TMP/two.png" && grep -q '(2 runs)' "$TMP/out" &&
    ok "plot of two logs overlaid" || bad "plot of two: $(cat "$TMP/err")"
expect_exit 2 "option '--png' is required" -- plot "$TMP/run.jsonl"
printf 'a,b\n1,2\n' >"$TMP/not.jsonl"
expect_exit 1 "'$TMP/not.jsonl': no epoch records" -- plot "$TMP/not.jsonl" --png "$TMP/x.png"
expect_exit 1 "cannot open '$TMP/none.jsonl'" -- plot "$TMP/none.jsonl" --png "$TMP/x.png"

# Without gnuplot --plot warns once and the run goes on.
MLPTRAIN_GNUPLOT=/nonexistent/gnuplot "$MLPTRAIN" "${common[@]}" \
    --plot "$TMP/none.png" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c 'warning: --plot:.*gnuplot-nox' "$TMP/err")" -eq 1 ] &&
    grep -q '^ok: 3 epochs' "$TMP/out" && ok "--plot without gnuplot: a warning" ||
    bad "--plot without gnuplot: $rc: $(cat "$TMP/err")"

# Progress off a terminal: plain lines on stderr, no carriage return;
# stdout keeps its epoch lines only.
MLPTRAIN_PROGRESS=0 "$MLPTRAIN" "${common[@]}" >"$TMP/out" 2>"$TMP/err"
grep -q '^\[epoch 1/3\] batch [0-9]*/24 ([0-9]*%)  [0-9]* samples/s  ETA ' "$TMP/err" &&
    ok "progress lines" || bad "progress: $(cat "$TMP/err")"
! grep -q $'\r' "$TMP/err" && ok "no carriage return off a terminal" ||
    bad "carriage return in a file"
! grep -q '\[epoch' "$TMP/out" && ok "stdout without progress" || bad "stdout: $(cat "$TMP/out")"
MLPTRAIN_PROGRESS=0 "$MLPTRAIN" "${common[@]}" -q >"$TMP/out" 2>"$TMP/err"
[ ! -s "$TMP/err" ] && ok "-q: no progress" || bad "-q progress: $(cat "$TMP/err")"
# On a terminal (script(1) runs it on a pseudo-terminal): one line redrawn
# with \r, erased before each epoch line.
if ! script -qec true /dev/null >/dev/null 2>&1; then
    bad "script cannot open a pseudo-terminal (is /dev/pts mounted?): progress on a terminal not checked"
else
    MLPTRAIN_PROGRESS=0 script -qec "'$MLPTRAIN' ${common[*]}" /dev/null \
        >"$TMP/tty" 2>&1 </dev/null
    grep -q $'\r\e\[K\[epoch 1/3\] batch' "$TMP/tty" && ok "terminal: redrawn in place" ||
        bad "terminal progress: $(od -c "$TMP/tty" | head)"
    grep -q $'\r\e\[Kepoch  1  loss' "$TMP/tty" && ok "terminal: erased before the epoch line" ||
        bad "terminal epoch line: $(od -c "$TMP/tty" | head -20)"
fi

# Loss axes are log-scaled with plain-number tick marks (a fake gnuplot
# keeps the program it is given and answers with a PNG signature).
printf '#!/bin/sh\ncat >"$GP_SCRIPT"\nprintf '"'"'\\211PNG\\r\\n\\032\\nfake'"'"'\n' >"$TMP/gp-keep"
chmod +x "$TMP/gp-keep"
"$MLPTRAIN" "${common[@]}" -q --log "$TMP/lg.jsonl" >/dev/null 2>&1
GP_SCRIPT="$TMP/single.gp" MLPTRAIN_GNUPLOT="$TMP/gp-keep" \
    "$MLPTRAIN" plot "$TMP/lg.jsonl" -o "$TMP/lg.png" >/dev/null 2>&1
grep -q '^set logscale y2$' "$TMP/single.gp" &&
    grep -Eq '^set y2tics \([0-9.]+(, [0-9.]+)+\) nomirror$' "$TMP/single.gp" &&
    grep -q 'axes x1y2' "$TMP/single.gp" &&
    ok "one run: loss on a log axis with plain tick marks" ||
    bad "one run's loss axis: $(grep -E 'y2|logscale' "$TMP/single.gp")"
GP_SCRIPT="$TMP/overlay.gp" MLPTRAIN_GNUPLOT="$TMP/gp-keep" \
    "$MLPTRAIN" plot "$TMP/lg.jsonl" "$TMP/lg.jsonl" -o "$TMP/ov.png" >/dev/null 2>&1
grep -q '^set logscale y$' "$TMP/overlay.gp" &&
    grep -Eq '^set ytics \([0-9.]+(, [0-9.]+)+\)$' "$TMP/overlay.gp" &&
    ok "overlay: loss on a log axis with plain tick marks" ||
    bad "overlay's loss axis: $(grep -E 'ytics|logscale' "$TMP/overlay.gp")"

finish
