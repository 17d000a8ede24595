#!/usr/bin/python3
"""Issue 20's checked-values walk (run by tests/e2e_limits.sh).

Every option of `mlptrain --help` (the option table) with every extreme
value (0, -1, 1e308, 1e-45, nan, inf, 2^63, 2^64, empty, a 10 KB string),
given with the options it needs (read from the same --help: "needs
--optimizer adam or adamw", "needs a CSV --train file"), on tiny data, each
run under a timeout; then every option line of a version 3 checkpoint set
to the same values (the file's sizes and CRC fixed) and resumed.  None may
crash, hang or be silently ignored: each is refused (exit 2 naming the
option, or for a checkpoint exit 1 or 2 naming the file) or accepted and
used: exit 0 (or 3, diverged, a documented end) with the run record of
--log holding the value given.  Then every other command's table (`mlptrain
COMMAND --help`: eval, predict, export, sweep, plot, activations) with the
same values and what each needs: none may crash or hang, and a refusal
names the option (exit 2) or the option, the value or a file (exit 1).
Prints one line a case that fails and a summary; exit 1 when any failed.

  limits_walk.py MLPTRAIN MKDATA CKPT_EDIT TMPDIR
"""
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys

VALUES = ["0", "-1", "1e308", "1e-45", "nan", "inf",
          "9223372036854775808", "18446744073709551616", "", "a" * 10240,
          # finite floats whose step counts overflow 2^64, and 2^32
          "1e30", "3e38", "4294967296"]
# Options that never change the figures (machine, outputs), and accepted
# values documented to change nothing on the walk's 64 rows: a limit past
# the rows ("the first N": all of them), a probability or rate of 1e-45
# (no draw falls below it; the float sum does not move), a warm-up of 1e-45
# epochs (one step, which is the peak), a patience past the run.
NO_FIGURES = {"workers", "threads", "slots", "parallel", "log", "png",
              "save", "save-best", "quiet", "resume", "data", "train",
              "test", "train-labels", "test-labels", "label"}
SAME_OK = {"1e-45": {"dropout", "input-dropout", "label-smoothing",
                     "momentum", "weight-decay", "warmup", "lr-min",
                     "eps"},
           "9223372036854775808": {"limit-train", "limit-test"},
           "18446744073709551616": set(),
           "4294967296": {"limit-train", "limit-test"},
           "0": {"early-stop", "val", "init-std"}}
# A threshold past every loss (every gradient's norm) of the run changes
# nothing.
THRESHOLDS = {"max-loss", "clip-grad"}
TIMEOUT = 60


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def help_table(mlptrain, command="train"):
    """{name: (metavar or None, help text)} from COMMAND --help."""
    out = subprocess.run([mlptrain, command, "--help"], capture_output=True,
                         text=True, check=True).stdout
    table, name = {}, None
    for line in out.splitlines():
        if line.startswith(("Values:", "Exit status:")):
            break
        m = re.match(r"^ {2,6}(?:-\S, )?--([a-z0-9-]+)(?: ([A-Z]+))?"
                     r"(?:\s+(.*))?$", line)
        if m:
            name = m.group(1)
            table[name] = [m.group(2), m.group(3) or ""]
        elif name and line.startswith(" " * 25):
            table[name][1] += " " + line.strip()
        else:
            name = None
    for k in ("help", "version"):
        table.pop(k, None)
    return table


class Walk:
    def __init__(self, mlptrain, mkdata, ckpt_edit, tmp):
        self.bin = os.path.abspath(mlptrain)
        self.edit = os.path.abspath(ckpt_edit)
        self.tmp = os.path.abspath(tmp)
        tmp = self.tmp
        self.fails = self.cases = 0
        spec = importlib.util.spec_from_file_location("ckpt_edit",
                                                      self.edit)
        self.ckpt_edit = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.ckpt_edit)
        # no load probe (three samples 10 ms apart) in every run
        self.env = dict(os.environ, MLPTRAIN_LOADAVG="off")
        self.data = os.path.join(tmp, "data")
        os.makedirs(self.data, exist_ok=True)
        subprocess.run([mkdata, self.data, "64", "32", "4", "4", "3",
                        "plain"], check=True)
        self.csv = os.path.join(tmp, "rows.csv")
        with open(self.csv, "w") as f:
            f.write("a,b,c,label\n")
            # every column a whole number: any of them may be the label
            for i in range(60):
                f.write("%d,%d,%d,%d\n" % (i % 7, i % 3, i % 5, i % 3))
        self.cwd = os.path.join(tmp, "cwd")
        os.makedirs(self.cwd, exist_ok=True)
        self.table = help_table(mlptrain)
        self.idx = {k: os.path.join(self.data, v) for k, v in {
            "train": "train-images-idx3-ubyte",
            "train-labels": "train-labels-idx1-ubyte",
            "test": "t10k-images-idx3-ubyte",
            "test-labels": "t10k-labels-idx1-ubyte"}.items()}

    def bad(self, what):
        self.fails += 1
        print("FAIL: " + what)

    def needs(self, name):
        """The options name needs, as arguments, from its help."""
        meta, text = self.table[name]
        args = []
        phrases = [p.strip() for p in
                   re.findall(r"(?:^|[;,] )needs ([^;,\[]+)", text)]
        # what the files must be comes first: it names --train and --test
        phrases.sort(key=lambda p: not p.startswith(("a ", "real")))
        for phrase in phrases:
            m = re.match(r"--([a-z0-9-]+)(?: ([a-z]+))?", phrase)
            if m and m.group(2) == "or": # "--save or --resume": the first
                m = re.match(r"--([a-z0-9-]+)()", phrase)
            if phrase.startswith("a CSV --train") or \
                    phrase.startswith("real features"):
                args += ["--train", self.csv, "--test", self.csv]
            elif phrase.startswith("a --train file without"):
                args += ["--train", self.idx["train"], "--test",
                         self.idx["test"], "--test-labels",
                         self.idx["test-labels"]]
            elif phrase.startswith("a --test file without"):
                args += ["--train", self.idx["train"], "--train-labels",
                         self.idx["train-labels"], "--test",
                         self.idx["test"]]
            elif m and m.group(1) in ("train", "test"):
                args += ["--train", self.csv, "--test", self.csv]
            elif m and m.group(2):
                args += ["--" + m.group(1), m.group(2)]
                if m.group(2) == "step": # a cut within the 4-step run
                    args += ["--lr-step", "0.5"]
            elif m:
                y = m.group(1)
                args += ["--" + y, {"val": "10", "momentum": "0.5",
                                    "lr-step": "0.5"}.get(y, "1")]
        # one --train/--test pair: the first wins
        seen, out = set(), []
        i = 0
        while i < len(args):
            if args[i] in seen:
                i += 2
                continue
            seen.add(args[i])
            out += args[i:i + 2]
            i += 2
        return out

    def run(self, args, log):
        try:
            p = subprocess.run([self.bin] + args +
                               (["--log", log] if log else []),
                               capture_output=True, text=True,
                               timeout=TIMEOUT, cwd=self.cwd, env=self.env,
                               errors="replace")
        except subprocess.TimeoutExpired:
            return None, "timed out (a hang)"
        return p.returncode, p.stderr

    def is_default(self, name, value):
        """Is value the default --help shows ("[0]")?"""
        m = re.search(r"\[([^\]]*)\]$", self.table[name][1])
        if not m:
            return False
        shown = m.group(1).split(";")[0] # "0; adamw 0.01"
        try:
            return float(shown) == float(value)
        except ValueError:
            return shown == value

    @staticmethod
    def same_value(a, b):
        try:
            return f32(float(a)) == f32(float(b))
        except (ValueError, OverflowError):
            return a == b

    def figures(self, log):
        """The epoch records' losses and accuracies."""
        try:
            with open(log) as f:
                recs = [json.loads(l) for l in f if '"epoch"' in l]
        except (OSError, ValueError):
            return None
        return [(r.get("train_loss"), r.get("train_acc"), r.get("test_loss"),
                 r.get("test_acc"), r.get("lr")) for r in recs
                if r.get("type") == "epoch"]

    def logged(self, log, name):
        try:
            with open(log) as f:
                rec = json.loads(f.readline())
        except (OSError, ValueError):
            return None
        return rec.get("options", {}).get(name.replace("-", "_"), None)

    def used(self, name, value, got):
        """Does the run record's value say `value` was used?"""
        if name in ("log", "save", "save-best", "png"):
            # an output: written where asked
            return os.path.isfile(os.path.join(self.cwd, value))
        if got is None:
            # an input file (its path is logged elsewhere), or a column ''
            return name in ("data", "train", "test", "train-labels",
                            "test-labels", "resume") or \
                (name == "label" and value == "")
        if isinstance(got, bool):
            return True
        if isinstance(got, (int, float)) or re.match(r"^[0-9]+$", str(got)):
            try:
                v = float(value)
            except ValueError:
                return value in ("all", "auto")
            g = float(got)
            return g == v or g == f32(v) or abs(g - v) <= 1e-6 * abs(v)
        if isinstance(got, list):
            return True
        return str(got) == value or value == ""

    def check(self, what, name, rc, err, log, value, file_pat=None):
        self.cases += 1
        said = "'--%s" % name in err or "--%s" % name in err
        if rc is None:
            self.bad("%s: %s" % (what, err))
        elif rc < 0 or rc > 3:
            self.bad("%s: exit %d (a crash?): %s" % (what, rc, err[-300:]))
        elif rc == 2 and not (said or (file_pat and file_pat in err)):
            self.bad("%s: exit 2 not naming --%s: %s" % (what, name,
                                                          err[-300:]))
        elif rc == 1 and not (said or (file_pat and file_pat in err) or
                              (value != "" and
                               ("'%s" % value[:50] in err or
                                "%s: " % value[:50] in err))):
            self.bad("%s: exit 1 naming neither --%s nor the value: %s" %
                     (what, name, err[-300:]))
        elif rc in (0, 3) and file_pat is None and \
                not self.used(name, value, self.logged(log, name)):
            self.bad("%s: exit %d, but the run record has %r" %
                     (what, rc, self.logged(log, name)))
        elif rc == 3 and "diverged" not in err and "not finite" not in err \
                and "--max-loss" not in err:
            self.bad("%s: exit 3 without a divergence: %s" % (what, err))

    def command_line(self):
        base = ["-e", "1", "-b", "16", "--hidden", "8", "-j", "0", "-t", "1",
                "-q"]
        for name, (meta, _) in sorted(self.table.items()):
            if meta is None:
                continue
            needs = self.needs(name)
            data = [] if "--train" in needs or name in ("train", "data") \
                else ["--data", self.data]
            if name == "train":
                needs = ["--test", self.csv]
            if name == "test":
                needs = ["--train", self.csv]
            baseline = None
            for value in VALUES:
                args = base + data + needs + ["--" + name, value]
                if name == "resume":
                    args += ["-e", "2"]
                log = os.path.join(self.tmp, "walk.jsonl")
                if os.path.exists(log):
                    os.unlink(log)
                rc, err = self.run(args, None if name == "log" else log)
                what = "--%s %r" % (name, value[:20])
                self.check(what, name, rc, err, log, value)
                if rc != 0 or name in NO_FIGURES or name in THRESHOLDS or \
                        name in SAME_OK.get(value, ()) or \
                        self.is_default(name, value):
                    continue
                if baseline is None:
                    blog = os.path.join(self.tmp, "base.jsonl")
                    if os.path.exists(blog):
                        os.unlink(blog)
                    self.run(base + data + needs, blog)
                    baseline = self.figures(blog)
                if self.figures(log) == baseline:
                    self.bad("%s: accepted, but the figures are those of "
                             "a run without it (silently ignored?)" % what)

    def checkpoint_lines(self):
        ck = os.path.join(self.tmp, "walk.ckpt")
        args = ["--data", self.data, "-e", "1", "-b", "16", "--hidden", "8",
                "-j", "0", "-t", "1", "-q", "--save", ck]
        p = subprocess.run([self.bin] + args, capture_output=True, text=True,
                           env=self.env)
        if p.returncode != 0:
            self.bad("the checkpoint to edit: " + p.stderr)
            return
        with open(ck, "rb") as f:
            b = f.read()
        n = struct.unpack_from("<Q", b, 256)[0]
        names = [l.split("=")[0] for l in b[264:264 + n].decode().split("\n")
                 if l]
        if len(names) < 20:
            self.bad("only %d option lines in the checkpoint" % len(names))
        bad = os.path.join(self.tmp, "line.ckpt")
        blog = os.path.join(self.tmp, "base.jsonl")
        if os.path.exists(blog):
            os.unlink(blog)
        self.ckpt_edit.main(["ckpt_edit", ck, bad])
        self.run(["--data", self.data, "-e", "2", "-j", "0", "-t", "1", "-q",
                  "--resume", bad], blog)
        baseline = self.figures(blog)
        if not baseline:
            self.bad("the unedited checkpoint does not resume")
        text = dict(l.split("=", 1) for l in
                    b[264:264 + n].decode().split("\n") if l)
        for name in names:
            for value in VALUES:
                # a line holds at most 4095 bytes of value: the 10 KB one
                # makes a line no option has
                self.ckpt_edit.main(["ckpt_edit", ck, bad,
                                     "line:%s=%s" % (name, value)])
                log = os.path.join(self.tmp, "line.jsonl")
                if os.path.exists(log):
                    os.unlink(log)
                rc, err = self.run(["--data", self.data, "-e", "2", "-j",
                                    "0", "-t", "1", "-q", "--resume", bad],
                                   log)
                what = "checkpoint line %s=%r" % (name, value[:20])
                if rc in (1, 2) and "line.ckpt" not in err and \
                        "--%s" % name not in err:
                    self.bad("%s: exit %d naming neither the file nor "
                             "--%s: %s" % (what, rc, name, err[-300:]))
                    continue
                self.check(what, name, rc, err, log, value,
                           file_pat="line.ckpt")
                if rc == 0 and not self.used(name, value,
                                             self.logged(log, name)):
                    self.bad("%s: resumed, but the run record has %r" %
                             (what, self.logged(log, name)))
                if rc == 0 and name not in NO_FIGURES | THRESHOLDS and \
                        name not in SAME_OK.get(value, ()) and \
                        not self.same_value(text[name], value) and \
                        self.figures(log) == baseline:
                    self.bad("%s: resumed, but the figures are those of "
                             "the file as saved (silently ignored?)" % what)


    def other_commands(self):
        """Every other command's options with every value: no crash or
        hang; a refusal names the option (2), or it, the value or a file
        (1).  Returns the options walked."""
        model = os.path.join(self.tmp, "m.ckpt")
        log = os.path.join(self.tmp, "m.jsonl")
        p = subprocess.run([self.bin, "--data", self.data, "-e", "1", "-b",
                            "16", "--hidden", "8", "-j", "0", "-t", "1",
                            "-q", "--save", model, "--log", log],
                           capture_output=True, text=True, env=self.env)
        if p.returncode != 0:
            self.bad("the model to walk with: " + p.stderr)
            return 0
        fixed = ["--", "--data", self.data, "-e", "3", "-b", "16",
                 "--hidden", "8", "-j", "0", "-t", "1", "--val", "16"]
        bases = {
            "eval": lambda: ["--model", model],
            "predict": lambda: ["--model", model],
            "export": lambda: ["--model", model, "--npz", "out.npz"],
            "plot": lambda: [log, "--png", "out.png"],
            "activations": lambda: [],
            "sweep": lambda: ["--no-plots", "-P", "1", "-t", "1", "--dir",
                              os.path.join(self.tmp, "sw%d" % self.cases)],
        }
        walked = 0
        # the commands' --data: the walk's (through its default)
        self.env["MLPTRAIN_DATA"] = self.data
        for command, base in sorted(bases.items()):
            table = help_table(self.bin, command)
            for name, (meta, text) in sorted(table.items()):
                if meta is None:
                    continue
                walked += 1
                for value in VALUES:
                    args = [command] + base() + \
                        self.command_needs(command, name, text)
                    if command == "sweep" and "--grid" not in args and \
                            "--space" not in args and name != "report":
                        args += ["--grid", "lr=0.1"]
                    args += ["--" + name, value]
                    if command == "sweep":
                        args += fixed
                    rc, err = self.run(args, None)
                    self.cases += 1
                    what = "%s --%s %r" % (command, name, value[:20])
                    said = "'--%s" % name in err or "--%s" % name in err
                    if rc is None:
                        self.bad("%s: %s" % (what, err))
                    elif rc < 0 or rc > 3:
                        self.bad("%s: exit %d (a crash?): %s" %
                                 (what, rc, err[-300:]))
                    elif rc == 2 and not said:
                        self.bad("%s: exit 2 not naming --%s: %s" %
                                 (what, name, err[-300:]))
                    elif rc == 1 and not said and not \
                            (value != "" and value[:50] in err) and \
                            "'" not in err:
                        self.bad("%s: exit 1 naming neither --%s, the "
                                 "value nor a file: %s" %
                                 (what, name, err[-300:]))
        return walked

    def command_needs(self, command, name, text):
        """What option `name` of `command` needs, from its help."""
        args = []
        for phrase in re.findall(r"(?:^|[;,] )needs ([^;,\[]+)", text):
            m = re.match(r"--([a-z0-9-]+)(?: ([a-z]+))?", phrase.strip())
            if not m:
                continue
            y, v = m.group(1), m.group(2)
            if v in ("or", None):
                v = {"test": "rows.csv", "input": "rows.csv",
                     "samples": "2", "show-train": None}.get(y, "1")
                if y in ("test", "input"):
                    v = self.csv
            args += ["--" + y] + ([v] if v is not None else [])
        return args


def main(argv):
    w = Walk(*argv[1:5])
    w.command_line()
    n1 = w.cases
    w.checkpoint_lines()
    n2 = w.cases
    others = w.other_commands()
    print("%d command-line cases (%d options), %d checkpoint-line cases, "
          "%d cases of the other commands' %d options, %d failed" %
          (n1, sum(1 for v in w.table.values() if v[0]), n2 - n1,
           w.cases - n2, others, w.fails))
    return 1 if w.fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
