"""--live: the top-like view, tested the way a person uses it.  strobe runs in a
real terminal (a private tmux server per test, started with a shell); keys go
in with send-keys and the screen comes back with capture-pane, and the checks
are on what the screen shows: the header lines, the marked sort column, the
filter, the thread switch, pause, help, resizing, the finished state, and the
shell again with the terminal restored after 'q'.

Waits poll the screen (every 50 ms, bounded): a screen has no event to wait on.
The target's ready message comes through a FIFO (STROBE_READY_PATH), since
the target's stdout and stderr belong to the live view.
"""
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from cases import case
from harness import Failure, check, fn

# Tachyon's layout: header (title, PID line, samples, efficiency, threads,
# functions, top 3, rule), table header
SEP = " \u2502 "
PID_LINE = re.compile(r"^PID: (\d+) \u2502 Thread: (ALL|(\d+) \((\d+)/(\d+)\)) \u2502 "
                      r"Uptime: (\d+m\d\ds) \u2502 Time: (\d\d:\d\d:\d\d) \u2502 "
                      r"Interval: (\d+)\u00b5s \u2502 Display: ([\d.]+)Hz")
SAMPLES_LINE = re.compile(r"^Samples: +(\d+) total \( *([\d.]+)/s\)")
FINISHED = "[PROFILING FINISHED - Press 'q' to quit]"
BANNER = "\u2713 PROFILING COMPLETE - Final Results Below - Press 'q' to Quit"
PROMPT = "strobe-test$ "
EXIT = re.compile(r"^STROBE-EXIT:(\d+)$", re.M)
FULL = {(3, 8), (3, 15)}  # one interpreter per frame model, and the newest


class Tmux:
    """A private tmux server running a shell in a window of a fixed size."""

    def __init__(self, ctx, env, width=120, height=40):
        self.ctx = ctx
        self.dir = tempfile.mkdtemp(prefix="strobe-tmux-")  # short: a socket path
        self.sock = os.path.join(self.dir, "s")
        self.last = ""
        env = dict(env, ENV="", HOME=self.dir)
        env.pop("TMUX", None)
        self._tmux(["-f", "/dev/null", "new-session", "-d", "-s", "live", "-x", str(width),
                    "-y", str(height), "sh"], env=env)
        # an interactive dash run by root insists on "# ": set the prompt by hand
        self._tmux(["send-keys", "-t", "live", "-l", "PS1='%s'; clear" % PROMPT])
        self._tmux(["send-keys", "-t", "live", "Enter"])
        self.wait(lambda s: s.startswith(PROMPT.strip()), 10, "the shell prompt")

    def _tmux(self, args, env=None):
        r = subprocess.run(["tmux", "-S", self.sock] + args, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        if r.returncode != 0:
            raise Failure("tmux %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
        return r.stdout.decode("utf-8", "replace")

    def run(self, argv):
        """Type a command line and Enter; its exit status is printed after it."""
        line = " ".join(shlex.quote(a) for a in argv) + "; echo STROBE-EXIT:$?"
        self.ctx.notes.append("tmux$ " + line)
        self._tmux(["send-keys", "-t", "live", "-l", line])
        self._tmux(["send-keys", "-t", "live", "Enter"])

    def keys(self, *keys):
        self._tmux(["send-keys", "-t", "live"] + list(keys))

    def text(self, s):
        self._tmux(["send-keys", "-t", "live", "-l", s])

    def resize(self, width, height):
        self._tmux(["resize-window", "-t", "live", "-x", str(width), "-y", str(height)])

    def screen(self):
        self.last = self._tmux(["capture-pane", "-p", "-t", "live"])
        return self.last

    def lines(self):
        return self.screen().split("\n")

    def wait(self, pred, timeout, what):
        """The screen once pred(screen text) holds; fails after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            try:
                ok = pred(s)
            except (Failure, IndexError, AttributeError, ValueError):
                ok = False  # a screen between two states: look again
            if ok:
                return s
            if time.monotonic() > deadline:
                raise Failure("the screen did not show %s within %gs; it shows:\n%s"
                              % (what, timeout, s.rstrip("\n")))
            time.sleep(0.05)

    def close(self):
        try:
            subprocess.run(["tmux", "-S", self.sock, "kill-server"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=20)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class ReadyFifo:
    """The targets' messages (STROBE_READY_PATH) through a FIFO in the work
    directory; we keep a writer open too, so reads block until a message."""

    def __init__(self, ctx):
        self.host = ctx.path("ready.fifo")
        os.mkfifo(self.host)
        self.rfd = os.open(self.host, os.O_RDONLY | os.O_NONBLOCK)
        self.wfd = os.open(self.host, os.O_WRONLY)
        self.path = ctx.to_target(self.host)
        self.buf = b""

    def message(self, event="ready", timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                m = json.loads(line.decode("ascii"))
                if m.get("event") == event:
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("no %r message from the target within %gs" % (event, timeout))
            r, _, _ = select.select([self.rfd], [], [], left)
            if r:
                self.buf += os.read(self.rfd, 65536)

    def close(self):
        os.close(self.rfd)
        os.close(self.wfd)


class Live:
    """strobe run --live ARGS on the test's interpreter, in a tmux window."""

    def __init__(self, ctx, script, opts=(), width=120, height=40, ready=True, **envextra):
        self.ctx = ctx
        self.fifo = ReadyFifo(ctx) if ready else None
        env = dict(envextra)
        if ready:
            env["STROBE_READY_PATH"] = self.fifo.path
        self.tmux = Tmux(ctx, ctx.env(**env), width, height)
        self.ready = None
        try:
            self.tmux.run([ctx.strobe_path, "run", "--live"] + list(opts) + ctx.run_args(script))
            if ready:
                self.ready = self.fifo.message("ready")
        except BaseException:
            self.close()
            raise

    def view(self, timeout=20):
        """The screen once the view shows its header and some samples."""
        def up(s):
            lines = s.split("\n")
            if len(lines) < 9 or lines[0] != "strobe Profiler":
                return False
            m = SAMPLES_LINE.match(lines[2])
            return bool(m) and int(m.group(1)) > 0
        return self.tmux.wait(up, timeout, "the live view with samples")

    def quit(self, status=0, timeout=20):
        """'q', then the shell is back with strobe's exit status."""
        self.tmux.keys("q")
        s = self.tmux.wait(lambda s: EXIT.search(s), timeout, "strobe's exit status after 'q'")
        rc = int(EXIT.search(s).group(1))
        check(rc == status, "strobe exited with status %d after 'q', expected %d", rc, status)
        check("strobe Profiler" not in s and "nsamples" not in s,
              "the view is still on the screen after strobe exited:\n%s", s)
        check(PROMPT.strip() in s, "no shell prompt after strobe exited:\n%s", s)
        return s

    def close(self):
        try:
            self.ctx.notes.append("last screen:\n" + self.tmux.last.rstrip("\n")
                                  if hasattr(self, "tmux") else "no tmux")
            if hasattr(self, "tmux"):
                self.tmux.close()
        finally:
            if self.fifo:
                self.fifo.close()
            pid = self.ready and self.ready.get("pid")
            if pid:
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        if b"python" in f.read():
                            os.kill(pid, signal.SIGKILL)
                except (OSError, ValueError):
                    pass


def samples(s):
    """The sample total the view shows, or 0."""
    lines = s.split("\n")
    m = SAMPLES_LINE.match(lines[2]) if len(lines) > 2 else None
    return int(m.group(1)) if m else 0


def thread_field(s, group):
    """A group of the PID line's match on screen s, or None (also while the
    screen is between two states)."""
    lines = s.split("\n")
    m = PID_LINE.match(lines[1]) if len(lines) > 1 else None
    return m.group(group) if m else None


def header(lines):
    m = PID_LINE.match(lines[1])
    check(m, "second line is not Tachyon's PID line: %r", lines[1])
    return m


def table(lines):
    """(index of the table's header line, its text)."""
    for i, l in enumerate(lines):
        if l.lstrip().startswith(("nsamples", "\u25bcnsamples")):
            return i, l
    raise Failure("no table header on the screen:\n%s" % "\n".join(lines))


def rows(lines):
    """The table rows: (direct, cumulative, function, file:line as far as it
    fits).  Columns are at least two spaces apart; names have no spaces."""
    i, _ = table(lines)
    out = []
    for l in lines[i + 1:]:
        f = re.split(r" {2,}", l.strip())
        m = re.match(r"^(\d+)/(\d+)$", f[0])
        if not m or len(f) < 3:
            break
        out.append((int(m.group(1)), int(m.group(2)), f[-2], f[-1]))
    return out


def sorted_col(lines):
    """The name of the column marked as sorted (with its position)."""
    _, h = table(lines)
    m = re.search(r"\u25bc(\S+)", h)
    check(m, "no sorted column marked in %r", h)
    return m.group(1), m.start()


# ---------------------------------------------------------------------------

@case("live_ui", versions=FULL)
def t_live_ui(ctx):
    """--live in a terminal: header, sort keys, filter, threads, pause, help, resize, quit"""
    lv = Live(ctx, "threads.py", ["-a"])
    try:
        it, r = ctx.interp, lv.ready
        t = lv.tmux
        s = lv.view()
        lines = s.split("\n")
        m = header(lines)
        check(int(m.group(1)) == r["pid"], "PID %s in the header, the target is %d", m.group(1),
              r["pid"])
        check(m.group(2) == "ALL", "thread %r, expected ALL", m.group(2))
        check(m.group(8) == "1000" and m.group(9) == "10.0", "interval/display %s/%s",
              m.group(8), m.group(9))
        for prefix in ("Samples: ", "Efficiency:[", "Threads:   ", "Functions: ", "Top 3:     "):
            check(any(l.startswith(prefix) for l in lines[2:8]), "no %r line in the header:\n%s",
                  prefix, s)
        check(re.search(r"\d+\.\d\d% good, +\d+\.\d\d% failed", lines[3]), "efficiency %r",
              lines[3])
        check("% on gil" + SEP in lines[4] and "% off gil" in lines[4] and "% GC" in lines[4],
              "thread status line %r", lines[4])
        check(re.match(r"^Functions: +\d+ total \u2502 +\d+ exec \u2502 +\d+ stack \u2502 +\d+ shown",
                       lines[5]), "functions line %r", lines[5])
        check(lines[7].startswith("\u2500" * 20), "no rule under the header: %r", lines[7])
        # the workers' lines, once they dominate, and the top 3 medals
        s = t.wait(lambda s: any(row[2] == fn(it, "Workers.spin_a") and row[0] > 100
                                 for row in rows(s.split("\n"))), 15, "the spin_a row")
        t.wait(lambda s: "\U0001f947 " in s.split("\n")[6], 10, "the top 3 medals")
        # columns at 120: nsamples, %, tottime, % (cumtime needs 140); tottime sorted first
        lines = t.lines()
        _, h = table(lines)
        check(re.match(r"^ +nsamples +% +\u25bctottime +% +function +file:line$", h),
              "table header at 120 columns: %r", h)
        check("Sort: Total Time | 't':mode 'x':trends" in lines[-2] or
              "Sort: Total Time | 't':mode 'x':trends" in t.screen(), "footer: %r", lines[-2:])

        # s / S cycle the sorted column: tottime -> cumul % -> cumtime (hidden) -> nsamples
        t.keys("s")
        s = t.wait(lambda s: "Sort: Cumulative %" in s, 5, "the cumulative % sort")
        name, pos = sorted_col(s.split("\n"))
        check(name == "%" and pos > h.index("tottime"), "'s' marked %r at %d:\n%s", name, pos,
              table(s.split("\n"))[1])
        t.keys("s", "s")
        s = t.wait(lambda s: "Sort: Direct Samples" in s, 5, "the direct samples sort")
        check(sorted_col(s.split("\n"))[0] == "nsamples", "nsamples not marked")
        t.keys("S")
        s = t.wait(lambda s: "Sort: Cumulative Time" in s, 5, "'S' going back")
        t.keys("S", "S")
        t.wait(lambda s: "Sort: Total Time" in s, 5, "'S' back to tottime")

        # filter: '/', text, Enter; then 'c'
        t.keys("/")
        t.text("spin_a")
        t.wait(lambda s: "Function filter: spin_a_" in s, 5, "the filter prompt")
        t.keys("Enter")
        s = t.wait(lambda s: "[Filter: spin_a (c to clear)]" in s, 5, "the filter tag")
        got = rows(s.split("\n"))
        check(got and all("spin_a" in row[2] or "spin_a" in row[3] for row in got),
              "rows not matching the filter:\n%s", s)
        t.keys("c")
        s = t.wait(lambda s: "[Filter:" not in s and
                   any("spin_a" not in row[2] for row in rows(s.split("\n"))), 5,
                   "all rows again after 'c'")

        # threads: 't' shows the first thread, arrows move, 't' back to ALL
        tids = {str(v) for v in r["threads"].values()}
        t.keys("t")
        s = t.wait(lambda s: thread_field(s, 3) is not None, 5, "a thread view")
        m = header(s.split("\n"))
        check(m.group(3) in tids and m.group(4) == "1", "thread %r: not 1/n of the target's %s",
              m.group(2), sorted(tids))
        n = int(m.group(5))
        check(n == 4, "the view lists %d threads, the target has 4", n)
        t.keys("Right")
        s = t.wait(lambda s: thread_field(s, 4) == "2", 5, "thread 2/4")
        second = header(s.split("\n")).group(3)
        check(second in tids and second != m.group(3), "thread 2/4 is %s", second)
        t.keys("Left", "Left")
        s = t.wait(lambda s: thread_field(s, 4) == "4", 5, "thread 4/4")
        t.keys("t")
        t.wait(lambda s: thread_field(s, 2) == "ALL", 5, "Thread: ALL again")

        # pause freezes the display; sampling goes on underneath
        t.keys("p")
        s = t.wait(lambda s: "[PAUSED]" in s, 5, "[PAUSED]")
        frozen = SAMPLES_LINE.match(s.split("\n")[2]).group(1)
        time.sleep(0.5)  # the display must not move during this time
        again = SAMPLES_LINE.match(t.lines()[2]).group(1)
        check(again == frozen, "the paused display moved: %s -> %s samples", frozen, again)
        t.keys("p")
        t.wait(lambda s: "[PAUSED]" not in s and
               SAMPLES_LINE.match(s.split("\n")[2]).group(1) != frozen, 5, "the display moving")

        # help, and any key closes it
        t.keys("h")
        s = t.wait(lambda s: "strobe Profiler - Interactive Commands" in s, 5, "the help screen")
        check("Press any key to close this help screen" in s and "nsamples" not in s,
              "help screen:\n%s", s)
        t.keys("z")
        t.wait(lambda s: s.startswith("strobe Profiler\n") and "Interactive Commands" not in s,
               5, "the view after closing the help")

        # resize: fewer columns, then too small, then back
        t.resize(70, 20)
        s = t.wait(lambda s: len(s.split("\n")[0]) <= 70 and "function" in s and
                   "tottime" not in s and len(max(s.split("\n"), key=len)) <= 70, 5,
                   "the view at 70x20")
        _, h = table(s.split("\n"))
        check(re.match(r"^ +nsamples  function +file:line$", h), "table header at 70: %r", h)
        check(len(s.rstrip("\n").split("\n")) <= 20, "more than 20 lines at 70x20")
        t.resize(50, 10)
        s = t.wait(lambda s: "Terminal too small!" in s, 5, "the too-small screen")
        check("Need: 60x12" in s and "Have: 50x10" in s and "Please resize" in s,
              "too-small screen:\n%s", s)
        t.resize(120, 40)
        t.wait(lambda s: "\u25bctottime" in s, 5, "the view back at 120x40")
        lv.quit()
    finally:
        lv.close()


@case("live_attach", kind="global", quick=True)
def t_live_attach(ctx):
    """attach --live: the view of a running process; 'q' leaves it running"""
    target, ready = ctx.start_target("threads.py")
    tm = Tmux(ctx, ctx.env())
    try:
        tm.run([ctx.strobe_path, "attach", "--live", "-a", str(ready["pid"])])
        s = tm.wait(lambda s: s.startswith("strobe Profiler\n") and samples(s) > 100, 20,
                    "the live view of the attached process")
        m = header(s.split("\n"))
        check(int(m.group(1)) == ready["pid"], "PID %s, expected %d", m.group(1), ready["pid"])
        tm.keys("t")
        s = tm.wait(lambda s: thread_field(s, 3) is not None, 5, "a thread view")
        check(header(s.split("\n")).group(3) in {str(v) for v in ready["threads"].values()},
              "thread %s is not one of the target's", header(s.split("\n")).group(3))
        tm.keys("q")
        s = tm.wait(lambda s: EXIT.search(s), 15, "strobe's exit status after 'q'")
        check(EXIT.search(s).group(1) == "0", "exit status %s", EXIT.search(s).group(1))
        check(target.poll() is None, "the attached target exited with strobe")
    finally:
        ctx.notes.append("last screen:\n" + tm.last.rstrip("\n"))
        tm.close()


@case("live_finished", quick=True)
def t_live_finished(ctx):
    """--live until the target exits: finished screen, clock frozen, 'q'; stdout dropped, stderr shown after"""
    lv = Live(ctx, "chatty.py", STROBE_EXIT_AFTER="1.5")
    try:
        t = lv.tmux
        s = t.wait(lambda s: FINISHED in s, 30, "the finished state")
        check(BANNER in s, "no finished banner:\n%s", s)
        check("chatty-stdout" not in s and "chatty-stderr" not in s,
              "the target's output tore the view:\n%s", s)
        lines = s.split("\n")
        m = header(lines)
        check(any(row[2] == "spin" and row[0] > 0 for row in rows(lines)),
              "no row for spin():\n%s", s)
        n = int(SAMPLES_LINE.match(lines[2]).group(1))
        check(n >= 200, "finished with %d samples", n)
        time.sleep(1.1)  # the frozen clock must not move
        m2 = header(t.lines())
        check((m2.group(6), m2.group(7)) == (m.group(6), m.group(7)),
              "clock not frozen: %s %s -> %s %s", m.group(6), m.group(7), m2.group(6), m2.group(7))
        s = lv.quit()
        check("chatty-stderr 0" in s and "chatty-stderr 1" in s,
              "the target's stderr was not shown after the view:\n%s", s)
        check("chatty-stdout" not in s, "the target's stdout reached the terminal:\n%s", s)
    finally:
        lv.close()


@case("live_few_samples", kind="global", quick=True)
def t_live_few_samples(ctx):
    """--live with under 200 samples: no view left, Tachyon's message, exit 0"""
    lv = Live(ctx, "spin.py", ["-r", "20"], STROBE_EXIT_AFTER="1")
    try:
        s = lv.tmux.wait(lambda s: EXIT.search(s), 30, "strobe exiting by itself")
        m = re.search(r"Only (\d+) sample\(s\) collected \(minimum 200 required for TUI\) - "
                      r"process (\d+) exited too quickly\.", s)
        check(m, "no 'Only N sample(s)' message:\n%s", s)
        check(int(m.group(2)) == lv.ready["pid"] and 0 < int(m.group(1)) < 200,
              "message names %s samples of process %s", m.group(1), m.group(2))
        check(EXIT.search(s).group(1) == "0", "exit status %s", EXIT.search(s).group(1))
        check("strobe Profiler" not in s, "the view was left on the screen:\n%s", s)
    finally:
        lv.close()


@case("live_ctrl_c", kind="global", quick=True)
def t_live_ctrl_c(ctx):
    """--live: Ctrl-C stops sampling into the finished screen, a second one leaves; terminal restored"""
    lv = Live(ctx, "spin.py")
    try:
        t = lv.tmux
        t.wait(lambda s: samples(s) > 300, 20, "300 samples")
        t.keys("C-c")
        t.wait(lambda s: FINISHED in s, 10, "the finished state after Ctrl-C")
        t.keys("C-c")
        s = t.wait(lambda s: EXIT.search(s), 15, "strobe exiting after a second Ctrl-C")
        check(EXIT.search(s).group(1) == "0", "exit status %s", EXIT.search(s).group(1))
        check("strobe Profiler" not in s and PROMPT.strip() in s, "terminal not restored:\n%s", s)
        pid = lv.ready["pid"]
        deadline = time.monotonic() + 10
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(not os.path.exists("/proc/%d" % pid) or
              open("/proc/%d/stat" % pid).read().split(")")[-1].split()[0] == "Z",
              "target %d still running after strobe exited", pid)
    finally:
        lv.close()


@case("live_opcodes", versions=FULL)
def t_live_opcodes(ctx):
    """--live --opcodes: the opcode panel of the selected row, j/k move the selection"""
    lv = Live(ctx, "spin.py", ["--opcodes"])
    try:
        t = lv.tmux
        s = t.wait(lambda s: "\u2500\u2500\u2500 Opcodes for " in s, 20, "the opcode panel")
        lines = s.split("\n")
        i = next(k for k, l in enumerate(lines) if l.startswith("\u2500\u2500\u2500 Opcodes for "))
        check(re.match(r"^  \[[\u2588\u2591]{20}\] [A-Z_]+.* +\d+\.\d% \( *\d+\)$", lines[i + 1]),
              "opcode row %r", lines[i + 1])
        def selected(s):
            """Row number of the row marked \u25ba (0 = first), or None."""
            lines = s.split("\n")
            h, _ = table(lines)
            marked = [k - h - 1 for k, l in enumerate(lines) if l.startswith("\u25ba ")]
            return marked[0] if len(marked) == 1 else None
        check(selected(s) == 0, "the first row is not the selected one:\n%s", s)
        t.keys("j")
        t.wait(lambda s: selected(s) == 1, 5, "the selection on the second row after 'j'")
        t.keys("j")
        t.wait(lambda s: selected(s) == 2, 5, "the selection on the third row after 'j'")
        t.keys("k")
        t.wait(lambda s: selected(s) == 1, 5, "the selection back on the second row after 'k'")
        lv.quit()
    finally:
        lv.close()


@case("live_no_terminal", kind="global", quick=True)
def t_live_no_terminal(ctx):
    """--live without a terminal: one clear error line, exit 1, the launched target not left running"""
    p = ctx.strobe(["run", "--live"] + ctx.run_args("spin.py"), ready=False)
    rc = p.wait(30)
    check(rc == 1, "exit status %s, expected 1", rc)
    err = [l for l in p.stderr.splitlines() if l.strip()]
    check(err == ["strobe: --live needs a terminal: standard output is not a terminal"],
          "stderr %r", err)
    # strobe's session (Proc starts it in its own) holds nothing else any more
    left = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(st[3]) == p.pid and st[0] != "Z":
                left.append(d)
    check(not left, "processes left running in strobe's session: %s", left)
