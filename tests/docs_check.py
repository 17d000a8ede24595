#!/usr/bin/python3
"""docs_check.py SRCDIR: the documentation's promises, checked.

- README.md is at most 300 lines (the front door; the rest is in doc/);
- every relative link and #anchor of README.md and doc/*.md resolves: the
  file exists and the anchor is one of its headings' GitHub slugs (links
  in code blocks and code spans are not links);
- README.md opens with the two commands, as scripts/fresh-root.sh reads
  them (the first indented block);
- README.md's package list is ./bootstrap's, word for word;
- doc/export.md's PyTorch lines are the ones tests/export_check.py runs;
- every doc/*.md is in Makefile.am's DOC_FILES, so `make dist` ships it.

Prints one "FAIL: ..." line per problem (and "PASS: ..." per check); exits
1 when any failed.
"""
import os
import re
import sys

MAX_README_LINES = 300
COMMANDS = ["./bootstrap && ./configure && make && ./mlptrain -j 20",
            "./bootstrap && ./configure && make check"]
# Files other branches add (issues 24 and 26), linked before they land: a
# link to one is accepted only while the file does not exist.  Remove an
# entry once its branch is merged.
PENDING = set()

failed = 0


def ok(msg):
    print("PASS: " + msg)


def bad(msg):
    global failed
    failed += 1
    print("FAIL: " + msg)


def prose(text, spans=False):
    """text without fenced or indented code blocks, and without code spans
    unless spans (line count kept)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = re.match(r"^\s*(```+|~~~+)", line)
        if fence is None and m:
            fence = m.group(1)[:3]
            out.append("")
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            out.append("")
            continue
        if line.startswith("    ") or line.startswith("\t"):
            out.append("")          # an indented code block (or its like)
            continue
        out.append(line if spans else re.sub(r"`+[^`]*`+", "", line))
    return out


def slug(heading):
    """GitHub's anchor of a heading's text."""
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)   # links: their text
    t = t.replace("`", "").strip().lower()
    t = re.sub(r"[^\w\- ]", "", t)
    return t.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for line in prose(open(path, encoding="utf-8").read(), spans=True):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        s = slug(m.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


def check_links(src, files):
    cache, count = {}, 0
    for rel in files:
        path = os.path.join(src, rel)
        for lineno, line in enumerate(
                prose(open(path, encoding="utf-8").read()), 1):
            for m in re.finditer(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", line):
                target = m.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue            # http:, https:, mailto:
                count += 1
                where = f"{rel}:{lineno}: link '{target}'"
                file_part, _, frag = target.partition("#")
                tpath = (os.path.normpath(os.path.join(os.path.dirname(path),
                                                       file_part))
                         if file_part else path)
                trel = os.path.relpath(tpath, src)
                if not os.path.exists(tpath):
                    if trel in PENDING:
                        print(f"NOTE: {where}: {trel} is another branch's, "
                              "not here yet")
                    else:
                        bad(f"{where}: no file {trel}")
                    continue
                if frag:
                    if not tpath.endswith(".md"):
                        bad(f"{where}: an anchor into a file that is not "
                            "Markdown")
                        continue
                    if tpath not in cache:
                        cache[tpath] = anchors(tpath)
                    if frag not in cache[tpath]:
                        bad(f"{where}: {trel} has no heading #{frag}")
    return count


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    readme_path = os.path.join(src, "README.md")
    readme = open(readme_path, encoding="utf-8").read()
    n = readme.count("\n")
    if n <= MAX_README_LINES:
        ok(f"README.md is {n} lines (at most {MAX_README_LINES})")
    else:
        bad(f"README.md is {n} lines, more than {MAX_README_LINES}: move "
            "text to doc/")

    docdir = os.path.join(src, "doc")
    docs = sorted("doc/" + f for f in os.listdir(docdir) if f.endswith(".md"))
    before = failed
    count = check_links(src, ["README.md"] + docs)
    if failed == before:
        ok(f"{count} relative links and anchors of README.md and "
           f"{len(docs)} doc files resolve")

    # The opening commands, read as scripts/fresh-root.sh reads them.
    cmds, seen = [], False
    for line in readme.split("\n"):
        if line.startswith("    ") or line.startswith("\t"):
            cmds.append(line.strip())
            seen = True
        elif line.strip() == "":
            continue
        elif seen:
            break
    if cmds == COMMANDS:
        ok("README.md opens with the two commands")
    else:
        bad(f"README.md opens with {cmds}, not {COMMANDS}")

    # The package list: ./bootstrap's PACKAGES, in the README's words.
    boot = open(os.path.join(src, "bootstrap"), encoding="utf-8").read()
    m = re.search(r'^PACKAGES="([^"]*)"', boot, re.M)
    pk = re.search(r"--no-install-recommends` of `([^`]*)`", readme)
    if not m or not pk:
        bad("no package list in bootstrap or README.md "
            "(\"--no-install-recommends` of `...`\")")
    elif m.group(1).split() == pk.group(1).split():
        ok(f"README.md lists bootstrap's {len(m.group(1).split())} packages")
    else:
        bad(f"README.md's packages {pk.group(1).split()} are not "
            f"bootstrap's {m.group(1).split()}")

    # doc/export.md's PyTorch lines are the ones the export test runs.
    exp = os.path.join(src, "doc/export.md")
    chk = os.path.join(src, "tests/export_check.py")
    if os.path.exists(exp) and os.path.exists(chk):
        body = open(chk, encoding="utf-8").read()
        f = body[body.index("def torch_accuracy"):]
        f = f[:f.index("\n    return")]
        run = [re.sub(r"\s*# noqa.*$", "", ln.strip())
               for ln in f.split("\n")[1:]
               if ln.strip() and not ln.strip().startswith(('"""', "import",
                                                             "#"))
               and "checks that they are" not in ln]
        run = [ln.replace("acc = ", "").replace("npz_path", '"model.npz"')
               for ln in run]
        doc = open(exp, encoding="utf-8").read()
        missing = [ln for ln in run if ln not in doc]
        if not missing and len(run) >= 4:
            ok(f"doc/export.md has the {len(run)} PyTorch lines "
               "tests/export_check.py runs")
        else:
            bad(f"doc/export.md lacks these lines of export_check.py's "
                f"torch_accuracy: {missing or run}")

    # Every doc file ships.
    mk = os.path.join(src, "Makefile.am")
    if os.path.exists(mk):
        am = open(mk, encoding="utf-8").read().replace("\\\n", " ")
        m = re.search(r"^DOC_FILES\s*=(.*)$", am, re.M)
        listed = set(m.group(1).split()) if m else set()
        unlisted = [d for d in docs if d not in listed]
        if not unlisted:
            ok("every doc/*.md is in Makefile.am's DOC_FILES")
        else:
            bad(f"not in Makefile.am's DOC_FILES (make dist would not ship "
                f"them): {unlisted}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
