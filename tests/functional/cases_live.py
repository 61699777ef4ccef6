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
from harness import Failure, check, fn, kill_if_same, start_time

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

    def styled(self):
        """The screen with its text attributes (SGR escapes), as capture-pane -e."""
        self.last = self._tmux(["capture-pane", "-p", "-e", "-t", "live"])
        return self.last

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
        self.ready_start = None
        try:
            self.tmux.run([ctx.strobe_path, "run", "--live"] + list(opts) + ctx.run_args(script))
            if ready:
                self.ready = self.fifo.message("ready")
                self.ready_start = start_time(self.ready["pid"])
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
        sane_terminal(self.tmux)
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
                kill_if_same(pid, self.ready_start)


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


def sane_terminal(t):
    """The shell's terminal is in its normal mode again: line editing and
    echo on (curses turns both off), and the cursor shown (tmux: cursor_flag)."""
    t.text("clear")
    t.keys("Enter")
    t.run(["stty", "-a"])
    s = t.wait(lambda s: EXIT.search(s) and "speed" in s, 15, "the output of stty -a")
    for flag in ("icanon", "echo", "isig", "icrnl", "opost"):
        check(re.search(r"(?<![-\w])%s\b" % flag, s), "the terminal was left with -%s:\n%s", flag, s)
    cursor = t._tmux(["display-message", "-p", "-t", "live", "#{cursor_flag}"]).strip()
    check(cursor == "1", "the cursor was left hidden (cursor_flag %r)", cursor)


SGR = re.compile(r"\x1b\[([\d;]*)m")


def trend_cells(styled):
    """The numbers of the table rows drawn in a trend colour: [(colour, text)],
    colour 'up' (bold green) or 'down' (bold red).  Walks the screen's SGR
    escapes, which tmux emits as changes from the previous cell's style."""
    bold, fg, out, in_table = False, 39, [], False
    for line in styled.split("\n"):
        plain = SGR.sub("", line)
        if plain.lstrip().startswith(("nsamples", "\u25bcnsamples")):
            in_table = True
        elif in_table and not re.match(r"^ *\d+/\d+ ", plain):
            in_table = False
        pos = 0
        for m in list(SGR.finditer(line)) + [None]:
            text = line[pos:m.start() if m else len(line)]
            if in_table and text.strip() and re.match(r"^[\d./ ]+$", text) and bold \
                    and fg in (31, 32):
                out.append(("up" if fg == 32 else "down", text.strip()))
            if m is None:
                break
            codes = [int(c) for c in m.group(1).split(";") if c] or [0]
            for c in codes:
                if c == 0:
                    bold, fg = False, 39
                elif c == 1:
                    bold = True
                elif c == 22:
                    bold = False
                elif 30 <= c <= 39:
                    fg = c
            pos = m.end()
    return out


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
        t.keys("/")
        t.text("zz")
        t.wait(lambda s: "Function filter: spin_azz_" in s, 5, "the filter being edited")
        t.keys("Escape")  # drops the edit, keeps the filter
        t.wait(lambda s: "Function filter" not in s and "[Filter: spin_a (c to clear)]" in s, 5,
               "the filter kept after Escape")
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

        # trend colours: the workers' counts grow between refreshes, so
        # their numbers are drawn bold green; 'x' turns the colours off
        t.wait(lambda s: any(c == "up" for c, _ in trend_cells(t.styled())), 10,
               "numbers coloured as rising")
        t.keys("x")
        t.wait(lambda s: "[Trend colors: OFF]" in s and not trend_cells(t.styled()), 5,
               "[Trend colors: OFF] and no trend colour")
        time.sleep(0.5)  # a few refreshes: still none
        check(not trend_cells(t.styled()), "trend colours with 'x' off:\n%s", t.last)
        t.keys("x")
        t.wait(lambda s: "[Trend colors: OFF]" not in s and
               any(c == "up" for c, _ in trend_cells(t.styled())), 10, "the trend colours back")

        # refresh rate: '+' to 20 Hz at most, '-' slower in 0.05 s steps
        t.keys("+", "+", "+")
        t.wait(lambda s: thread_field(s, 9) == "20.0", 5, "Display: 20.0Hz")
        t.keys("-", "-", "-")
        t.wait(lambda s: thread_field(s, 9) == "5.0", 5, "Display: 5.0Hz")
        t.keys("=", "=")
        t.wait(lambda s: thread_field(s, 9) == "10.0", 5, "Display: 10.0Hz")

        # 'r' starts the counts again
        before = samples(t.screen())
        t.keys("r")
        s = t.wait(lambda s: 0 < samples(s) < before / 2, 5, "the counts from zero after 'r'")
        check(before > 1000, "%d samples before the reset", before)
        check(header(s.split("\n")).group(6) in ("0m00s", "0m01s"),
              "uptime %s just after a reset", header(s.split("\n")).group(6))

        # help, and any key closes it
        t.keys("h")
        # (a capture can catch the screen halfway through the redraw)
        t.wait(lambda s: "strobe Profiler - Interactive Commands" in s and
               "Press any key to close this help screen" in s and "nsamples" not in s, 5,
               "the help screen")
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
        sane_terminal(t)
        pid = lv.ready["pid"]
        deadline = time.monotonic() + 10
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(not os.path.exists("/proc/%d" % pid) or
              open("/proc/%d/stat" % pid).read().split(")")[-1].split()[0] == "Z",
              "target %d still running after strobe exited", pid)
    finally:
        lv.close()


@case("live_sigterm", kind="global", quick=True)
def t_live_sigterm(ctx):
    """--live ended by SIGTERM: the view closes at once, the terminal is restored, the target ends"""
    lv = Live(ctx, "spin.py")
    try:
        t = lv.tmux
        t.wait(lambda s: samples(s) > 300, 20, "300 samples")
        pid = lv.ready["pid"]
        with open("/proc/%d/stat" % pid) as f:
            strobe = int(f.read().rsplit(")", 1)[1].split()[2])
        with open("/proc/%d/cmdline" % strobe, "rb") as f:
            check(b"strobe" in f.read().split(b"\0")[0], "the target's parent is not strobe")
        os.kill(strobe, signal.SIGTERM)
        s = t.wait(lambda s: EXIT.search(s), 15, "strobe exiting after SIGTERM")
        check(EXIT.search(s).group(1) == "0", "exit status %s", EXIT.search(s).group(1))
        check("strobe Profiler" not in s and FINISHED not in s and PROMPT.strip() in s,
              "the view was left on the screen:\n%s", s)
        sane_terminal(t)
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


# ---------------------------------------------------------------------------
# Against Tachyon's own --live (3.15 in the sid root): the same target, the
# same keys, two terminals of the same size, and the screens compared line
# by line with what must differ taken out (the tool's name, the numbers, bar
# lengths).  Where strobe departs from Tachyon on purpose, the test skips:
#  - after 'p' Tachyon stops redrawing, so its "[PAUSED]" tag never shows;
#  - Tachyon's filter prompt leaves the rest of the controls line behind;
#  - Tachyon prints 100% as "100." in the Threads line (one column short).

NUMBER = re.compile(r"\d+(?:\.\d*)?")
MEDAL = re.compile("[\U0001f947\U0001f948\U0001f949] (\\S+)")


def shape(line):
    """A screen line without what differs between two profilers of one
    target: the tool's name, numbers (and a rate's unit), bar lengths and
    the spacing that numbers of other widths move."""
    line = line.replace("Tachyon Profiler", "strobe Profiler")
    line = re.sub("[\u2588\u2591]+", "#", line)
    line = re.sub(r"N[KM]?Hz", "NHz", NUMBER.sub("N", line))
    return re.sub(r" +", " ", line).strip()


def start_in_namespace(ctx, script, **envextra):
    """The target on the sid root's 3.15, in a mount namespace of its own with
    /proc mounted inside the root (nothing outlives it), so that Tachyon can
    join it (tachyon_argv) and read the target's maps as paths it can open:
    Tachyon run from another namespace fails to find the PyRuntime section.
    Returns (proc, ready message)."""
    _, tpath = ctx.target(script)
    inner = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
    argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", inner, ctx.interp.root,
            ctx.interp.exe_in_target, tpath]
    p = ctx.spawn(argv, env=ctx.env(**envextra), name=os.path.splitext(script)[0])
    return p, p.message("ready")


def tachyon_argv(pid, args):
    """Tachyon ARGS in the mount namespace, root and cwd of process pid."""
    return (["nsenter", "-t", str(pid), "-m", "-r", "-w", "python3.15", "-m", "profiling.sampling"]
            + list(args))


class Pair:
    """strobe and Tachyon, each in its own tmux window of one size."""

    def __init__(self, ctx, ns_pid, width, height, env=None):
        self.ctx, self.pid, self.w, self.h = ctx, ns_pid, width, height
        env = env or ctx.env()
        self.s = self.t = None
        self.s = Tmux(ctx, env, width, height)
        self.t = Tmux(ctx, env, width, height)

    def run(self, strobe_args, tachyon_args):
        self.s.run([self.ctx.strobe_path] + list(strobe_args))
        self.t.run(tachyon_argv(self.pid, tachyon_args))

    def keys(self, *keys):
        self.s.keys(*keys)
        self.t.keys(*keys)

    def resize(self, width, height):
        self.w, self.h = width, height
        self.s.resize(width, height)
        self.t.resize(width, height)

    def wait(self, pred, timeout, what):
        """Both screens once pred holds for each: (strobe's lines, Tachyon's)."""
        a = self.s.wait(pred, timeout, what + " (strobe)")
        b = self.t.wait(pred, timeout, what + " (Tachyon)")
        return a.split("\n")[:self.h], b.split("\n")[:self.h]

    def agree(self, pred, timeout, what, compare):
        """Both screens once pred holds for each and compare(strobe's lines,
        Tachyon's) passes; compare raises Failure.  Tried again while the
        time lasts: a capture can catch a screen halfway through a redraw,
        a real difference stays."""
        deadline = time.monotonic() + timeout
        while True:
            a, b = self.wait(pred, timeout, what)
            try:
                compare(a, b)
                return a, b
            except Failure:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def close(self):
        for tm, who in ((self.s, "strobe"), (self.t, "Tachyon")):
            if tm:
                self.ctx.notes.append("last %s screen:\n%s" % (who, tm.last.rstrip("\n")))
                tm.close()


def same(ours, theirs, idx, what):
    for i in idx:
        check(shape(ours[i]) == shape(theirs[i]), "%s, line %d:\n  strobe:  %r\n  Tachyon: %r",
              what, i + 1, ours[i], theirs[i])


def same_exact(ours, theirs, idx, what):
    for i in idx:
        check(ours[i].rstrip() == theirs[i].rstrip(), "%s, line %d:\n  strobe:  %r\n  Tachyon: %r",
              what, i + 1, ours[i], theirs[i])


def same_header(ours, theirs, what):
    """Title, PID line, samples, efficiency, threads, functions, rule; the
    top 3 as a set (ties may come in another order)."""
    same(ours, theirs, [0, 1, 2, 3, 5, 7], what)
    th = lambda l: re.sub(r"[\d.]+%", "N%", l)
    check(th(ours[4]) == th(theirs[4]), "%s, threads line:\n  strobe:  %r\n  Tachyon: %r",
          what, ours[4], theirs[4])
    check(set(MEDAL.findall(ours[6])) == set(MEDAL.findall(theirs[6])),
          "%s, top 3:\n  strobe:  %r\n  Tachyon: %r", what, ours[6], theirs[6])


def pct_rows(lines):
    """{(function, file:line): (sample %, cumul %)} of a table with every column."""
    i, _ = table(lines)
    out = {}
    for l in lines[i + 1:]:
        f = re.split(r" {2,}", l.strip())
        if len(f) != 7 or not re.match(r"^\d+/\d+$", f[0]):
            break
        out[(f[5], f[6])] = (float(f[1]), float(f[3]))
    return out


def same_table(ours, theirs, what):
    """The same table header, rows for the same locations, and the same
    shares (each profiler took its own samples: within 2 points).  With -a
    Tachyon's shares are of the samples, each holding a stack per thread
    (their direct shares sum to 100% times the threads); strobe's are of
    the stacks (issue 20: never above 100%): Tachyon's are scaled by the
    ratio of the two sums first."""
    i, h = table(ours)
    j, h2 = table(theirs)
    check(i == j and h == h2, "%s, table header:\n  strobe:  %r\n  Tachyon: %r", what, h, h2)
    a, b = pct_rows(ours), pct_rows(theirs)
    check(a and set(a) == set(b), "%s: strobe's rows %s, Tachyon's %s", what, sorted(a), sorted(b))
    sa, sb = sum(v[0] for v in a.values()), sum(v[0] for v in b.values())
    scale = sa / sb if sb > 0 and sa > 0 else 1.0
    check(sa <= 100.5, "%s: strobe's direct shares sum to %.1f%%", what, sa)
    for k in a:
        check(abs(a[k][0] - b[k][0] * scale) <= 2 and abs(a[k][1] - b[k][1] * scale) <= 2,
              "%s, %s: strobe %.1f%%/%.1f%%, Tachyon %.1f%%/%.1f%% (scaled by %.2f)", what, k[0],
              a[k][0], a[k][1], b[k][0], b[k][1], scale)


def footer(lines):
    return lines[-2:]


@case("live_vs_tachyon", versions={(3, 15)})
def t_live_vs_tachyon(ctx):
    """--live next to Tachyon's --live on one target: the same screens after the same keys, widths, finish"""
    target, ready = start_in_namespace(ctx, "threads.py", STROBE_PROCESS_TIMEOUT=240)
    pid = str(ready["pid"])
    W, H = 150, 40
    pr = Pair(ctx, pid, W, H)
    try:
        pr.run(["attach", "--live", "-a", pid], ["attach", "--live", "-a", pid])
        up = lambda s: samples(s) > 500 and len(pct_rows(s.split("\n"))) >= 8
        def first(a, b):
            same_header(a, b, "first screen")
            check(a[0] == "strobe Profiler" and b[0] == "Tachyon Profiler", "titles %r, %r",
                  a[0], b[0])
            same_table(a, b, "first screen")
            same_exact(footer(a), footer(b), [0, 1], "footer")
        a, b = pr.agree(up, 60, "the view with the target's 8 locations", first)
        # cumulative is per thread stack: 3 of the 4 threads run
        # Thread.run, so it is on 75% of the stacks (Tachyon: 300% of the
        # samples)
        run = [v for k, v in pct_rows(a).items() if k[0] == "Thread.run"]
        check(run and abs(run[0][1] - 75) < 3, "Thread.run cumulative %s, expected 75%%", run)

        for keys, want in (("s", "Sort: Cumulative %"), ("s", "Sort: Cumulative Time"),
                           ("s", "Sort: Direct Samples"), ("S", "Sort: Cumulative Time"),
                           ("S", "Sort: Cumulative %"), ("S", "Sort: Total Time"),
                           ("S", "Sort: Sample %")):
            pr.keys(keys)
            def sort(a, b):
                same_exact(a, b, [table(a)[0]], "table header after %r" % keys)
                same_exact(footer(a), footer(b), [0, 1], "footer after %r" % keys)
            pr.agree(lambda s: want in s, 15, repr(want), sort)
        pr.keys("s")
        pr.wait(lambda s: "Sort: Total Time" in s, 15, "the tottime sort again")

        pr.keys("x")
        pr.agree(lambda s: "[Trend colors: OFF]" in s, 15, "[Trend colors: OFF]",
                 lambda a, b: same_exact(footer(a), footer(b), [0, 1], "footer after 'x'"))
        pr.keys("x")
        pr.wait(lambda s: "[Trend colors: OFF]" not in s, 15, "trend colours on again")

        # refresh rate: '+' twice stops at 20 Hz, '-' three times is 5 Hz
        pr.keys("+", "+")
        pr.wait(lambda s: "Display: 20.0Hz" in s.split("\n")[1], 15, "Display: 20.0Hz")
        pr.keys("-", "-", "-")
        pr.wait(lambda s: "Display: 5.0Hz" in s.split("\n")[1], 15, "Display: 5.0Hz")
        pr.keys("=", "=")
        pr.wait(lambda s: "Display: 10.0Hz" in s.split("\n")[1], 15, "Display: 10.0Hz")

        pr.keys("h")
        def helps(a, b):
            for x, y in zip(a, b):
                check(x.replace("strobe", "Tachyon") == y,
                      "help screen:\n  strobe:  %r\n  Tachyon: %r", x, y)
        pr.agree(lambda s: "Interactive Commands" in s and "nsamples" not in s, 15,
                 "the help screen", helps)
        pr.keys("z")
        pr.wait(lambda s: "Interactive Commands" not in s and "Sort: Total Time" in s, 15,
                "the view after the help")

        pr.keys("/")
        pr.s.text("spin")
        pr.t.text("spin")
        pr.wait(lambda s: "Function filter: spin_" in s, 15, "the filter prompt")
        pr.keys("Enter")
        def filtered(a, b):
            same_table(a, b, "filtered")
            same_exact(footer(a), footer(b), [0, 1], "footer with a filter")
            same(a, b, [5], "functions line with a filter")
        pr.agree(lambda s: "[Filter: spin (c to clear)]" in s and len(pct_rows(s.split("\n"))) == 2,
                 15, "the two spin rows", filtered)
        pr.keys("/")
        pr.s.text("x")
        pr.t.text("x")
        pr.wait(lambda s: "Function filter: spinx_" in s, 15, "the filter being edited")
        pr.keys("Escape")  # cancels the edit, the filter stays
        pr.wait(lambda s: "Function filter" not in s and "[Filter: spin (c to clear)]" in s, 15,
                "the filter kept after Escape")
        pr.keys("c")
        pr.wait(lambda s: "[Filter:" not in s and len(pct_rows(s.split("\n"))) >= 8, 15,
                "every row after 'c'")

        tids = {str(v) for v in ready["threads"].values()}
        pr.keys("t")
        def one(a, b):
            same_header(a, b, "one thread")
            check(header(a).group(5) == header(b).group(5) == "4" and header(a).group(3) in tids
                  and header(b).group(3) in tids, "threads: strobe %r, Tachyon %r", a[1], b[1])
            same_table(a, b, "thread %s" % header(a).group(2))
        pr.agree(lambda s: thread_field(s, 4) == "1", 15, "thread 1/n", one)
        pr.keys("Left")
        pr.wait(lambda s: thread_field(s, 4) == "4", 15, "thread 4/4")
        pr.keys("t")
        pr.wait(lambda s: thread_field(s, 2) == "ALL", 15, "Thread: ALL")

        before = (samples(pr.s.screen()), samples(pr.t.screen()))
        pr.keys("r")
        pr.wait(lambda s: 0 < samples(s) < 300, 15, "the counts from zero after 'r'")
        check(min(before) > 1000, "samples before the reset: %s", before)

        for w, h in ((100, 30), (80, 24), (70, 20)):
            pr.resize(w, h)
            # tmux cuts the old screen to the new width at once: wait for
            # the rule under the header, which is drawn as wide as the screen
            # but one column
            def sized(a, b):
                same_exact(a, b, [table(a)[0]], "table header at %dx%d" % (w, h))
                same_exact(footer(a), footer(b), [0, 1], "footer at %dx%d" % (w, h))
                same(a, b, [0, 1, 5, 7], "header at %dx%d" % (w, h))
            pr.agree(lambda s: len(s.split("\n")[7]) == w - 1 and "nsamples" in s and
                     samples(s) > 0, 15, "the view redrawn at %dx%d" % (w, h), sized)
        pr.resize(50, 10)
        pr.agree(lambda s: "Terminal too small!" in s, 15, "the too-small screen",
                 lambda a, b: same_exact(a, b, range(10), "too-small screen"))
        pr.resize(W, H)
        pr.wait(lambda s: "\u25bctottime" in s, 15, "the view at %dx%d again" % (W, H))

        pr.keys("q")
        a, b = pr.wait(lambda s: EXIT.search(s), 30, "the exit status after 'q'")
        for who, lines in (("strobe", a), ("Tachyon", b)):
            s = "\n".join(lines)
            check(EXIT.search(s).group(1) == "0" and "Profiler" not in s and PROMPT.strip() in s,
                  "%s after 'q':\n%s", who, s)
    finally:
        pr.close()

    # sampling ends (-d): the finished screens
    pr = Pair(ctx, pid, W, H)
    try:
        pr.run(["attach", "--live", "-a", "-d", "3", pid], ["attach", "--live", "-a", "-d", "3", pid])
        def finished(a, b):
            same_header(a, b, "finished screen")
            same_exact(a, b, [8, 9, 10], "finished banner")
            check(BANNER in a[8], "banner %r", a[8])
            same_table(a, b, "finished screen")
            same_exact(footer(a), footer(b), [0, 1], "finished footer")
        pr.agree(lambda s: FINISHED in s, 90, "the finished state", finished)
        pr.keys("q")
        pr.wait(lambda s: EXIT.search(s) and EXIT.search(s).group(1) == "0", 30,
                "exit status 0 after 'q'")
    finally:
        pr.close()
    check(target.poll() is None, "the attached target did not survive")

    # under 200 samples: the same message, then the target's stderr
    pr = Pair(ctx, pid, W, H, ctx.env(STROBE_EXIT_AFTER="1"))
    try:
        _, tpath = ctx.target("chatty.py")
        pr.run(["run", "--live", "-r", "20"] + ctx.run_args("chatty.py"),
               ["run", "--live", "-r", "20", tpath])
        a, b = pr.wait(lambda s: EXIT.search(s), 60, "the exit status")
        msgs = []
        for who, lines in (("strobe", a), ("Tachyon", b)):
            s = "\n".join(lines)
            m = re.search(r"^(Only \d+ sample\(s\) collected .*)$", s, re.M)
            check(m and EXIT.search(s).group(1) == "0" and "Profiler" not in s,
                  "%s with under 200 samples:\n%s", who, s)
            check(s.index("chatty-stderr 0") > m.end(), "%s: no stderr after the message:\n%s",
                  who, s)
            msgs.append(m.group(1))
        check(shape(msgs[0]) == shape(msgs[1]), "messages:\n  strobe:  %r\n  Tachyon: %r", *msgs)
    finally:
        pr.close()
