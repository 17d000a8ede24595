#!/bin/bash
# test-summary.sh [DIR]: the results of the last `make check` in the build
# tree DIR (default .), from its tests/*.trs and tests/*.log files.
# Prints the whole .log of every test program that did not pass (failed,
# errored or skipped: where bootstrap has run, even MPI is there, so CI
# counts a skip as a failure), then one line "N passed, N failed"
# counting individual checks: Check's "NN%: Checks: C, Failures: F,
# Errors: E" and the end-to-end scripts' "P passed, F failed"; a program
# without either line counts as one.  Exit 0 when nothing failed and at
# least one test ran.  Used by .ci/run, for its own tree and for the fresh
# root's (scripts/fresh-root.sh).
set -u
dir=${1:-.}
passed=0
failed=0
for trs in "$dir"/tests/*.trs; do
    [ -e "$trs" ] || continue
    log=${trs%.trs}.log
    result=$(sed -n 's/^:test-result: //p' "$trs")
    before=$failed
    line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -1)
    if [ -n "$line" ]; then
        c=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
        f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
        e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
        passed=$((passed + c - f - e))
        failed=$((failed + f + e))
    elif line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1) && [ -n "$line" ]; then
        passed=$((passed + ${line%% passed*}))
        f=${line#*, }
        failed=$((failed + ${f%% failed*}))
    elif [ "$result" = PASS ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
    if [ "$result" != PASS ]; then
        echo "=== ${log#"$dir"/} ($result)"
        cat "$log"
        # Not a pass (a crash after a clean count line, a skip): a failure.
        [ "$failed" -gt "$before" ] || failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ $((passed + failed)) -gt 0 ]
