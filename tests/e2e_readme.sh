#!/bin/bash
# End-to-end: doc/options.md's generated sections (the option reference of
# every command, the Limits tables) are what tools/docgen makes of the
# option tables now: the file edited by hand there, or a table changed
# without `make docs`, fails here.  Then every option of every command's
# --help is in both sections.
. "${srcdir:-.}/tests/lib.sh"

readme="${srcdir:-.}/doc/options.md"
: "${DOCGEN:=tools/docgen}"
if "$DOCGEN" "$readme" >"$TMP/readme" 2>"$TMP/err" &&
   cmp -s "$TMP/readme" "$readme"; then
    ok "doc/options.md's generated sections are current"
else
    bad "doc/options.md's generated sections are stale (run make docs): $(cat "$TMP/err") $(diff "$readme" "$TMP/readme" | head -20)"
fi
for name in options limits; do
    [ "$(grep -c "^<!-- BEGIN generated: $name " "$readme")" = 1 ] &&
        [ "$(grep -c "^<!-- END generated: $name -->" "$readme")" = 1 ] &&
        ok "one $name section" || bad "the $name section's markers"
done
# The generator refuses a section it does not know and a missing END.
printf '<!-- BEGIN generated: nope (x) -->\n<!-- END generated: nope -->\n' \
    >"$TMP/bad.md"
! "$DOCGEN" "$TMP/bad.md" >/dev/null 2>"$TMP/err" &&
    grep -q "unknown section 'nope'" "$TMP/err" &&
    ok "an unknown section is refused" || bad "unknown section: $(cat "$TMP/err")"
printf '<!-- BEGIN generated: options (x) -->\n' >"$TMP/open.md"
! "$DOCGEN" "$TMP/open.md" >/dev/null 2>"$TMP/err" &&
    grep -q "no END line" "$TMP/err" &&
    ok "a section without its END is refused" || bad "no END: $(cat "$TMP/err")"

# Every option of every command is in the option reference, under its
# command; every one of train's in the Limits table.
options=$(sed -n '/^<!-- BEGIN generated: options/,/^<!-- END generated: options/p' "$readme")
limits=$(sed -n '/^<!-- BEGIN generated: limits/,/^<!-- END generated: limits/p' "$readme")
missing=
for c in $("$MLPTRAIN" help | sed -n 's/^  \([a-z]*\)  .*/\1/p'); do
    section=$(printf '%s\n' "$options" | sed -n "/^### $c\$/,/^### /p")
    for o in $("$MLPTRAIN" "$c" --help |
               sed -n 's/^ \{2,6\}\(-., \)\{0,1\}--\([a-z0-9-]*\).*/\2/p'); do
        printf '%s\n' "$section" | grep -q -- "--$o\b" || missing="$missing $c:--$o"
    done
done
for o in $("$MLPTRAIN" --help |
           sed -n 's/^ \{2,6\}\(-., \)\{0,1\}--\([a-z0-9-]*\).*/\2/p'); do
    case $o in help | version) continue ;; esac
    printf '%s\n' "$limits" | grep -q -- "--$o\b" || missing="$missing limits:--$o"
done
[ -z "$missing" ] && ok "every command's every option is in doc/options.md" ||
    bad "doc/options.md lacks:$missing"
finish
