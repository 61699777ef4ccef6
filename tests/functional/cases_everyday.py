"""Everyday use (issue 20): run's exit status is the program's, -d takes
fractions, py-spy habits get strobe's equivalent, child profiles are
announced, replay names outputs
after the recorded pid."""
import os
import re
import shutil

from cases import case
from harness import Collapsed, check, run_summary


def run_program(ctx, code, out):
    """strobe run --collapsed -o OUT -- <interpreter> -c CODE; returns the finished Proc."""
    it = ctx.interp
    argv = ["run", "--collapsed", "-o", out, "--"] + it.command("-c", code)
    p = ctx.strobe(argv, ready=False)
    p.wait(60)
    return p


@case("run_exit_status", engines=True)
def t_run_exit_status(ctx):
    """run exits with the program's status (0, 3, 1, 128+15), the profile still written"""
    spin = "import time\nt = time.time()\nwhile time.time() - t < 0.3: pass\n"
    programs = [
        (0, spin),
        (3, spin + "import sys; sys.exit(3)"),
        (1, spin + "raise ValueError('boom')"),
        (143, spin + "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"),
    ]
    for want, code in programs:
        out = ctx.path("out_%d.txt" % want)
        p = run_program(ctx, code, out)
        check(p.rc == want, "program ending with %d: strobe exited %s\n%s", want, p.rc,
              p.stderr[-400:])
        check(os.path.exists(out), "program ending with %d: no profile written", want)
        check(Collapsed(out).total > 0, "program ending with %d: an empty profile", want)
    # strobe ended the program (the duration): strobe's own status, 0
    out = ctx.path("out_d.txt")
    argv = ["run", "-d", "0.5", "--collapsed", "-o", out, "--"] + ctx.interp.command(
        "-c", "import time\nwhile True: time.sleep(0.01)")
    p = ctx.strobe(argv, ready=False)
    check(p.wait(60) == 0, "a program strobe ended after -d: exit status %s", p.rc)
    check(os.path.exists(out), "no profile after -d")


@case("duration_fraction", quick=True, engines="one")
def t_duration_fraction(ctx):
    """-d 0.5 samples half a second"""
    out = ctx.path("out.txt")
    p = ctx.strobe(["run", "-d", "0.5", "--collapsed", "-o", out] + ctx.run_args("spin.py"))
    p.message("ready")
    check(p.wait(60) == 0, "exit status %s\n%s", p.rc, p.stderr[-300:])
    s = run_summary(p.stdout)
    check(0.45 <= s["seconds"] <= 1.0, "-d 0.5 sampled %.2f s", s["seconds"])
    check(s["samples"] >= 100, "only %d samples in -d 0.5 at 1 kHz", s["samples"])


HABITS = [
    (["attach", "--gil", "1"], "--mode gil"),
    (["attach", "--idle", "1"], "--mode cpu"),
    (["attach", "--nonblocking", "1"], "--blocking"),
    (["attach", "--pid", "1"], "strobe attach PID"),
    (["run", "--rate", "100", "x.py"], "-r/--sampling-rate"),
    (["record", "-o", "x.svg", "--pid", "1"], "strobe's run"),
    (["top", "--pid", "1"], "--live"),
]


@case("pyspy_habits", kind="global", quick=True)
def t_pyspy_habits(ctx):
    """py-spy's options and commands: exit 2, one error line naming strobe's equivalent"""
    for args, hint in HABITS:
        p = ctx.strobe(args, ready=False)
        p.wait(30)
        check(p.rc == 2, "strobe %s: exit status %s, expected 2", " ".join(args), p.rc)
        last = [l for l in p.stderr.splitlines() if l.strip()][-1:]
        check(last and "error:" in last[0] and hint in last[0],
              "strobe %s: the error line does not name %r:\n%s", " ".join(args), hint, p.stderr)


@case("subprocess_written_lines", engines="one")
def t_subprocess_written_lines(ctx):
    """--subprocesses says where each child's profile went; -o x.pb.gz gives x_PID.pb.gz"""
    out = ctx.path("prof.pb.gz")
    p = ctx.strobe(["run", "--subprocesses", "--pprof", "-o", out]
                   + ctx.run_args("children.py", ["nopool"]))
    p.message("ready")
    child = p.message("child", timeout=60)
    check(p.wait(90) == 0, "exit status %s\n%s", p.rc, p.stderr[-400:])
    said = re.findall(r"^Profile of child process (\d+) written to (.+)$", p.stderr, re.M)
    check(said, "no line for the child's profile:\n%s", p.stderr)
    for pid, path in said:
        check(os.path.exists(path), "announced %s does not exist", path)
        check(os.path.basename(path) == "prof_%s.pb.gz" % pid,
              "child file %s, expected prof_%s.pb.gz", os.path.basename(path), pid)
    check(str(child["child"]) in [pid for pid, _ in said],
          "the python -c child %s is not among %s", child["child"], said)


@case("replay_recorded_pid", kind="global", quick=True)
def t_replay_recorded_pid(ctx):
    """replay's default output name takes the pid of binary_PID.bin"""
    rec = ctx.path("rec.bin")
    p = ctx.strobe(["run", "-d", "0.5", "--binary", "-o", rec] + ctx.run_args("spin.py"))
    p.message("ready")
    check(p.wait(60) == 0, "recording: exit status %s", p.rc)
    named = ctx.path("binary_4242.bin")
    shutil.copy(rec, named)
    cwd = ctx.path("cwd")
    os.mkdir(cwd)
    q = ctx.strobe(["replay", "--collapsed", named], ready=False, cwd=cwd)
    check(q.wait(60) == 0, "replay: exit status %s\n%s", q.rc, q.stderr[-300:])
    check(os.listdir(cwd) == ["collapsed_4242.txt"], "replay wrote %s", os.listdir(cwd))
