"""Plumbing for strobe's functional tests: processes with a readiness pipe,
bounded waits, and parsers for strobe's outputs.  Standard library only.

Every wait here has a timeout; nothing sleeps to wait for something.  A target
reports readiness (and later events) as JSON lines on the pipe whose write end
it inherits as STROBE_READY_FD; see tests/targets/_common.py.
"""
import errno
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(os.path.dirname(HERE), "targets")


class Failure(Exception):
    """A test's expectation did not hold."""


class Skip(Exception):
    """The test cannot run on this interpreter, for the reason given (the
    runner prints a SKIP line with it; never raised to hide a failure)."""


def check(cond, msg, *args):
    if not cond:
        raise Failure(msg % args if args else msg)


# ---------------------------------------------------------------------------
# Processes

class Proc:
    """A child process in its own session (so the whole group can be signalled
    and killed), stdout/stderr captured to files, with an optional readiness
    pipe passed as STROBE_READY_FD."""

    def __init__(self, ctx, name, argv, env, cwd, ready, preexec_user=None):
        self.name = name
        self.argv = argv
        self.rc = None
        self._buf = b""
        self._rfd = None
        self.messages = []
        self.starts = {}  # pid in a message -> its start time then (start_time)
        self.out_path = os.path.join(ctx.logdir, name + ".out")
        self.err_path = os.path.join(ctx.logdir, name + ".err")
        pass_fds = ()
        wfd = None
        if ready:
            self._rfd, wfd = os.pipe()
            env = dict(env, STROBE_READY_FD=str(wfd))
            pass_fds = (wfd,)
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            try:
                self.p = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=err, pass_fds=pass_fds,
                                          start_new_session=True)
            finally:
                if wfd is not None:
                    os.close(wfd)
        self.pid = self.p.pid
        self.started = time.monotonic()
        self.ended = None

    # -- readiness messages -------------------------------------------------
    def message(self, event="ready", timeout=30):
        """Return the next message with this event (earlier ones are kept in
        self.messages).  Fails on timeout or when every writer has gone."""
        for m in self.messages:
            if m.get("event") == event and not m.get("_seen"):
                m["_seen"] = True
                return m
        check(self._rfd is not None, "%s: no readiness pipe", self.name)
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                try:
                    m = json.loads(line.decode("ascii"))
                except ValueError:
                    raise Failure("%s: bad readiness message %r" % (self.name, line[:200]))
                self.messages.append(m)
                if isinstance(m.get("pid"), int) and m["pid"] not in self.starts:
                    self.starts[m["pid"]] = start_time(m["pid"])
                if m.get("event") == event:
                    m["_seen"] = True
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("%s: no %r message from the target within %gs"
                              % (self.name, event, timeout))
            r, _, _ = select.select([self._rfd], [], [], left)
            if not r:
                continue
            chunk = os.read(self._rfd, 65536)
            if not chunk:
                raise Failure("%s: the target never sent %r (pipe closed; exit status %s)"
                              % (self.name, event, self.poll()))
            self._buf += chunk

    # -- lifetime -------------------------------------------------------------
    def poll(self):
        if self.rc is None:
            self.rc = self.p.poll()
            if self.rc is not None:
                self.ended = time.monotonic()
        return self.rc

    def wait(self, timeout):
        """Exit status; fails (after killing the group) if it takes longer."""
        try:
            self.rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            where = hang_report(self.pid) if "strobe" in self.name else []
            self.kill()
            raise Failure("%s did not exit within %gs (killed)%s" % (
                self.name, timeout, "".join("\n  " + l for l in where)))
        if self.ended is None:
            self.ended = time.monotonic()
        return self.rc

    def wait_output(self, text, timeout=30, stream="stdout"):
        """Wait until text appears in the captured stdout (or stderr); fails
        on timeout or when the process exits first."""
        deadline = time.monotonic() + timeout
        while text not in getattr(self, stream):
            check(self.poll() is None or text in getattr(self, stream),
                  "%s exited (status %s) before printing %r", self.name, self.rc, text)
            check(time.monotonic() < deadline, "%s printed no %r in %gs", self.name, text, timeout)
            time.sleep(0.02)

    @property
    def elapsed(self):
        return (self.ended or time.monotonic()) - self.started

    def send(self, sig):
        if self.poll() is None:
            os.kill(self.pid, sig)

    def send_group(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        """Kill everything in the process group we created, then reap."""
        self.send_group(signal.SIGKILL)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.poll()

    def close(self):
        # Always kill the group: the process may be gone (exited, crashed) while
        # children it started (the target of strobe run) are still in it.
        self.kill()
        # A target that left our process group (setsid/setpgid) is still known by
        # the pid in its messages.
        for pid, start in self.starts.items():
            if pid != self.pid:
                kill_if_same(pid, start)
        if self._rfd is not None:
            os.close(self._rfd)
            self._rfd = None

    # -- captured output ------------------------------------------------------
    @property
    def stdout(self):
        return _read_text(self.out_path)

    @property
    def stderr(self):
        return _read_text(self.err_path)

    def describe(self, lines=15):
        out = ["$ " + " ".join(_quote(a) for a in self.argv),
               "  exit status: %s" % self.poll()]
        for title, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            all_lines = text.splitlines()
            tail = all_lines[-lines:]
            # A sanitizer report matters from its first line on.
            for i, l in enumerate(all_lines):
                if "ERROR: AddressSanitizer" in l or "ERROR: LeakSanitizer" in l or "runtime error:" in l:
                    tail = all_lines[i:i + 40]
                    break
            if tail:
                out.append("  %s (last %d lines):" % (title, len(tail)))
                out.extend("    " + t for t in tail)
        return out


def _read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _quote(a):
    return a if re.match(r"^[\w@%+=:,./-]+$", a) else repr(a)


def sampling(pid, sleeps=30):
    """Process pid's main thread has gone to sleep `sleeps` times (a
    profiler between its samples): its start-up is over - signal handlers
    installed, target found - and it samples."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    return int(line.split()[1]) >= sleeps
    except OSError:
        pass
    return False


def wait_sampling(p, timeout=30):
    """Wait until strobe (a Proc) samples; fails if it ends or takes longer."""
    end = time.monotonic() + timeout
    while not sampling(p.pid):
        check(p.poll() is None, "%s ended before it sampled (exit status %s)", p.name, p.rc)
        check(time.monotonic() < end, "%s did not start sampling within %gs", p.name, timeout)
        time.sleep(0.01)


def hang_report(pid):
    """Where a process that does not end is: each thread's state, kernel
    wait channel and stack, and gdb's backtraces when gdb is there."""
    def text(path):
        try:
            return _read_text(path)
        except OSError as e:
            return "(%s)" % e.strerror
    out = []
    try:
        tids = sorted(os.listdir("/proc/%d/task" % pid), key=int)
    except OSError as e:
        return ["no /proc entry for %d: %s" % (pid, e)]
    for tid in tids:
        base = "/proc/%d/task/%s/" % (pid, tid)
        state = re.search(r"^State:\s*(.*)$", text(base + "status"), re.M)
        out.append("thread %s: %s, wchan %s" % (tid, state.group(1) if state else "?",
                                                text(base + "wchan").strip() or "-"))
        out += ["  " + l for l in text(base + "stack").splitlines()[:12]]
    if shutil.which("gdb"):
        try:
            r = subprocess.run(["gdb", "-nx", "-batch", "-p", str(pid), "-ex", "thread apply all bt 30"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
            out += [l for l in r.stdout.splitlines() if l.startswith(("#", "Thread"))][:80]
        except (OSError, subprocess.TimeoutExpired) as e:
            out.append("gdb: %s" % e)
    return out


def start_time(pid):
    """Process pid's start time (clock ticks after boot, /proc/PID/stat's
    22nd field) if it is a Python here, else None: with its pid, what tells
    it from a later process that got the same pid.  (A target in its own
    PID namespace reports a pid that names another process here, init for
    1: not a Python, never to be killed.)"""
    try:
        if pid <= 1:
            return None
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"python" not in f.read():
                return None
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def kill_if_same(pid, start):
    """SIGKILL pid if it is still the process that started at `start`: a
    test's target that outlived it is killed, never a process that reused
    its pid (a check of the command line for "python" once killed another
    test's strobe, whose command line has --python)."""
    if start is not None and start_time(pid) == start:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def wait_gone(pid, timeout):
    """True once process pid has exited (pidfd: an event, not a poll loop)."""
    try:
        fd = os.pidfd_open(pid)
    except OSError as e:
        if e.errno == errno.ESRCH:
            return True
        raise
    try:
        r, _, _ = select.select([fd], [], [], timeout)
        return bool(r)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# Per test context

# Engines (issue 21).  A case marked engines=True runs once more per
# interpreter as name[interp+bpf] with ctx.engine == "bpf": ctx.strobe puts
# "--engine bpf" right after the subcommand of every run/attach.  What the bpf
# engine samples today is below, in one place: widen it as wall/gil/exception
# land (docs/bpf-engine.md), then mark the cases of those modes.  A marked
# case whose run/attach asks for anything else fails here, naming it, rather
# than exercising the reader under a bpf label.
ENGINES = ("reader", "bpf")
BPF_MODES = {"wall", "cpu", "gil", "exception"}
BPF_REFUSED = ("--blocking", "--native", "--native-stacks", "--async-aware", "--live")
ENGINE_SUBCOMMANDS = ("run", "attach")
# run/attach options that take a value (the scan of the options stops at the
# first word that is neither an option nor an option's value: the script,
# the module, the PID, or "--")
VALUE_OPTIONS = {"-r", "--sampling-rate", "-d", "--duration", "-o", "--outfile", "--python",
                 "--mode", "--async-mode", "--compression", "--sort", "-l", "--limit",
                 "--engine", "--diff-flamegraph"}


def engine_options(args):
    """The options of a run/attach argument list (args[0] is the subcommand):
    {option: value or True}, up to the target."""
    opts, i = {}, 1
    while i < len(args):
        a = args[i]
        if a == "--" or not a.startswith("-") or a == "-":
            break
        if "=" in a and a.startswith("--"):
            k, v = a.split("=", 1)
            opts[k] = v
        elif a in VALUE_OPTIONS:
            opts[a] = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        else:
            opts[a] = True
        i += 1
    return opts


def bpf_unsupported(args):
    """Why --engine bpf cannot run this run/attach argument list, or None."""
    opts = engine_options(args)
    if "--engine" in opts:
        return "the case passes --engine itself"
    mode = opts.get("--mode", "wall")
    if mode not in BPF_MODES:
        return "--mode %s (the bpf engine samples %s)" % (mode, ", ".join(sorted(BPF_MODES)))
    refused = [o for o in BPF_REFUSED if o in opts]
    if refused:
        return " ".join(refused)
    return None


class Ctx:
    """What a test gets: the strobe binary, the interpreter (or None), the
    engine (ENGINES), a work directory the target can see, and helpers that
    keep every process and file under cleanup."""

    def __init__(self, strobe, interp, name, keep=False, unsupported=(), engine="reader"):
        self.strobe_path = strobe
        self.interp = interp
        self.engine = engine
        self.engine_runs = 0  # run/attach started with --engine (engine != reader)
        self.unsupported = unsupported
        self.name = name
        self.keep = keep
        base = interp.scratch_base() if interp is not None else None
        if base:
            os.makedirs(base, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="strobe-%s-" % re.sub(r"\W", "_", name), dir=base)
        os.chmod(self.work, 0o755)
        self.logdir = os.path.join(self.work, "log")
        os.mkdir(self.logdir)
        self.procs = []
        self.notes = []
        self._copied = False
        self._n = 0

    # -- files --------------------------------------------------------------
    def path(self, *parts):
        """Host path inside the work dir."""
        return os.path.join(self.work, *parts)

    def target(self, name):
        """(host path, path as the interpreter sees it) of a copied target script."""
        if not self._copied:
            for f in os.listdir(TARGETS):
                if f.endswith(".py"):
                    shutil.copy(os.path.join(TARGETS, f), self.work)
            self._copied = True
        host = self.path(name)
        return host, (self.interp.to_target(host) if self.interp else host)

    def to_target(self, host):
        return self.interp.to_target(host) if self.interp else host

    # -- processes ------------------------------------------------------------
    def env(self, **extra):
        env = dict(os.environ)
        for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT",
                  "STROBE_READY_FD", "STROBE_READY_PATH", "STROBE_EXIT_AFTER",
                  "STROBE_PROGRESS_AFTER"):
            env.pop(k, None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["STROBE_PROCESS_TIMEOUT"] = "60"
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def spawn(self, argv, ready=True, env=None, cwd=None, name=None):
        self._n += 1
        name = "%02d-%s" % (self._n, name or os.path.basename(argv[0]))
        p = Proc(self, name, list(argv), env if env is not None else self.env(),
                 cwd or self.work, ready)
        self.procs.append(p)
        return p

    def strobe(self, args, ready=True, env=None, cwd=None, exe=None, prefix=()):
        """Start strobe (or exe) with args; prefix (e.g. setpriv ...) goes first.
        Under another engine than the reader, a run/attach gets --engine after
        its subcommand (and fails if the engine cannot do what it asks)."""
        args = list(args)
        if self.engine != "reader" and args and args[0] in ENGINE_SUBCOMMANDS:
            why = bpf_unsupported(args)
            if why:
                raise Failure("marked engines=True, but --engine %s does not apply to `strobe %s`: "
                              "%s" % (self.engine, " ".join(args), why))
            args[1:1] = ["--engine", self.engine]
            self.engine_runs += 1
        return self.spawn(list(prefix) + [exe or self.strobe_path] + list(args),
                          ready=ready, env=env, cwd=cwd, name="strobe")

    def start_target(self, script, args=(), **envextra):
        """Start a target directly (for attach tests); returns (proc, ready message)."""
        _, tpath = self.target(script)
        p = self.spawn(self.interp.command(tpath, *args), env=self.env(**envextra),
                       name=os.path.splitext(script)[0])
        return p, p.message("ready")

    def run_args(self, script, args=(), module=False):
        """strobe run arguments that run script (or module) on this interpreter."""
        it = self.interp
        if module:
            if it.root is None:
                return ["--python", it.exe, "-m", script] + list(args)
            return ["--", "chroot", it.root, it.exe_in_target, "-m", script] + list(args)
        _, tpath = self.target(script)
        if it.root is None:
            return ["--python", it.exe, tpath] + list(args)
        return ["--", "chroot", it.root, it.exe_in_target, tpath] + list(args)

    def cleanup(self):
        for p in self.procs:
            p.close()
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    def describe(self):
        lines = list(self.notes)
        for p in self.procs:
            lines.extend(p.describe())
        return lines


# ---------------------------------------------------------------------------
# Expected frames

def fn(interp, qualname):
    """The function name strobe reports: co_qualname on 3.11+, co_name before."""
    if tuple(interp.version[:2]) >= (3, 11):
        return qualname
    return qualname.rsplit(".", 1)[-1]


def frame(interp, file, qualname, line):
    return "%s:%s:%d" % (file, fn(interp, qualname), line)


RUNPY = ("<frozen runpy>:", "runpy.py:")


def strip_runpy(frames):
    """Drop the runpy frames that sit below <module> when Python runs a module
    (python -m, or Tachyon's coordinator); nothing else is dropped."""
    i = 0
    while i < len(frames) and frames[i].startswith(RUNPY):
        i += 1
    return frames[i:]


# ---------------------------------------------------------------------------
# Output parsers

# the file may be empty: code compiled with compile(src, "", "exec")
_FRAME = re.compile(r"^(?P<file>[^:]*|<[^>]*>):(?P<func>.+):(?P<line>-?\d+)$")


class Collapsed:
    """A parsed collapsed-stack file: rows of (tid, frames root->leaf, count)."""

    def __init__(self, path, same_basenames=False):
        """same_basenames: the target runs files of one name from several
        directories (packages' __init__.py), whose stacks Tachyon's format
        keeps apart under the same text."""
        check(os.path.exists(path), "collapsed output %s was not written", path)
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Failure("%s is not UTF-8: %s" % (path, e))
        self.path = path
        self.rows = []
        seen = set()
        for n, line in enumerate(text.split("\n"), 1):
            if line == "" and n == len(text.split("\n")):
                break  # the final newline
            m = re.match(r"^tid:(\d+);(.+) (\d+)$", line)
            check(m is not None, "%s:%d: not 'tid:N;frames COUNT': %r", os.path.basename(path), n, line[:200])
            tid, stack, count = int(m.group(1)), m.group(2), int(m.group(3))
            frames = stack.split(";")
            for fr in frames:
                check(_FRAME.match(fr) or re.match(r"^<[^>]+>$", fr),
                      "%s:%d: bad frame %r", os.path.basename(path), n, fr)
            check(count > 0, "%s:%d: count %d", os.path.basename(path), n, count)
            key = (tid, stack)
            check(key not in seen or same_basenames, "%s:%d: duplicate stack for tid %d",
                  os.path.basename(path), n, tid)
            seen.add(key)
            self.rows.append((tid, frames, count))
        check(text == "" or text.endswith("\n"), "%s does not end with a newline", path)

    @property
    def total(self):
        return sum(c for _, _, c in self.rows)

    def tids(self):
        out = {}
        for tid, _, c in self.rows:
            out[tid] = out.get(tid, 0) + c
        return out

    def count(self, pred):
        return sum(c for tid, fr, c in self.rows if pred(tid, fr))

    def top(self, tid=None, keep=None):
        """(frames, count) of the most frequent stack (of one thread; of
        the stacks whose frames keep(frames) accepts)."""
        rows = [r for r in self.rows if (tid is None or r[0] == tid)
                and (keep is None or keep(r[1]))]
        check(rows, "no samples%s in %s", "" if tid is None else " for tid %d" % tid,
              os.path.basename(self.path))
        best = max(rows, key=lambda r: r[2])
        return best[1], best[2]

    def summary(self, limit=6):
        rows = sorted(self.rows, key=lambda r: -r[2])[:limit]
        out = ["%s: %d rows, %d samples, tids %s" % (os.path.basename(self.path), len(self.rows),
                                                      self.total, sorted(self.tids()))]
        for tid, fr, c in rows:
            s = ";".join(fr)
            if len(s) > 300:
                s = s[:120] + " ... " + s[-170:]
            out.append("  %6d tid:%d;%s" % (c, tid, s))
        return out


_SUMMARY = {
    "samples": re.compile(r"^Captured ([\d,]+) samples? in ([\d.,]+) seconds$", re.M),
    "rate": re.compile(r"^Sample rate: ([\d.,]+) samples/sec$", re.M),
    "errors": re.compile(r"^Error rate: ([\d.,]+)%?$", re.M),
}


def run_summary(stdout):
    """{'samples', 'seconds', 'rate', 'error_rate', 'failed_by': {cause: percent}} from
    strobe's end-of-run lines."""
    text = strip_ansi(stdout).replace("\r", "\n")
    out = {}
    m = _SUMMARY["samples"].search(text)
    check(m, "no 'Captured N samples in T seconds' line on stdout")
    out["samples"] = int(m.group(1).replace(",", ""))
    out["seconds"] = float(m.group(2).replace(",", ""))
    m = _SUMMARY["rate"].search(text)
    check(m, "no 'Sample rate: X samples/sec' line on stdout")
    out["rate"] = float(m.group(1).replace(",", ""))
    m = _SUMMARY["errors"].search(text)
    check(m, "no 'Error rate: X' line on stdout")
    out["error_rate"] = float(m.group(1).replace(",", ""))
    # the causes listed under it: "  frame unreadable: 3 (0.30%)"
    after = text[m.end():].splitlines()[1:]
    out["failed_by"] = {}
    for line in after:
        c = re.match(r"\s+(\S[^:]*): ([\d,]+) \(([\d.]+)%\)$", line)
        if not c:
            break
        out["failed_by"][c.group(1)] = float(c.group(3))
    return out


def strip_ansi(s):
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", s)


_PSTATS_ROW = re.compile(
    r"^\s*(\d+)/(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(.+):(\d+)\((.*)\)$")


def pstats_text(stdout):
    """Rows of the 'Profile Stats:' table: dicts direct, cumulative, pct, cum_pct, file, line, func."""
    lines = strip_ansi(stdout).splitlines()
    check("Profile Stats:" in lines, "no 'Profile Stats:' header on stdout")
    i = lines.index("Profile Stats:") + 1
    check(i < len(lines) and "nsamples" in lines[i] and "filename:lineno(function)" in lines[i],
          "no column header after 'Profile Stats:'")
    rows = []
    for line in lines[i + 1:]:
        if not line.strip():
            break
        m = _PSTATS_ROW.match(line)
        check(m, "bad pstats row %r", line)
        rows.append({"direct": int(m.group(1)), "cumulative": int(m.group(2)),
                     "pct": float(m.group(3)), "cum_pct": float(m.group(5)),
                     "file": m.group(7), "line": int(m.group(8)), "func": m.group(9)})
    return rows


def one_line_error(p, rc=1):
    """The process failed the way a config/target error must: exit rc, exactly one
    non-empty line on stderr.  Returns that line."""
    check(p.rc == rc, "exit status %s, expected %d", p.rc, rc)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(len(lines) == 1, "expected one line on stderr, got %d", len(lines))
    return lines[0]


# ---------------------------------------------------------------------------
# The reference: Tachyon (python3.15 -m profiling.sampling) in the sid root

SID_ROOT = os.path.abspath(os.environ.get("STROBE_SID_ROOT", "/var/cache/strobe/sid"))


class Tachyon:
    """Runs Tachyon inside the sid root, in a private mount namespace with
    /proc mounted there (nothing outlives the namespace).  Files are passed
    through a scratch directory inside the root."""

    def __init__(self, ctx):
        self.ctx = ctx
        base = os.path.join(SID_ROOT, "tmp")
        check(os.path.exists(os.path.join(SID_ROOT, "usr/bin/python3.15")),
              "no python3.15 in %s (tests/provision.sh builds it)", SID_ROOT)
        self.dir = tempfile.mkdtemp(prefix="strobe-tachyon-", dir=base)
        os.chmod(self.dir, 0o755)
        ctx.notes.append("tachyon scratch: %s" % self.dir)
        self.inside = "/" + os.path.relpath(self.dir, SID_ROOT)

    def put(self, host_path, name=None):
        """Copy a host file into the scratch dir; returns its path inside the root."""
        name = name or os.path.basename(host_path)
        shutil.copy(host_path, os.path.join(self.dir, name))
        return self.inside + "/" + name

    def host(self, name):
        """Host path of a file Tachyon wrote into the scratch dir."""
        return os.path.join(self.dir, name)

    def spawn(self, args, ready=False, env=None):
        inner = ('mount -t proc proc "$0/proc" && exec chroot "$0" sh -c '
                 '\'cd "$0" && exec python3.15 -m profiling.sampling "$@"\' "$@"')
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", inner,
                SID_ROOT, self.inside] + list(args)
        return self.ctx.spawn(argv, ready=ready, env=env, name="tachyon")

    def python(self, args, timeout=120):
        """Run python3.15 ARGS in the root (cwd: the scratch dir); returns stdout."""
        p = self.ctx.spawn(["chroot", SID_ROOT, "sh", "-c", 'cd "$0" && exec python3.15 "$@"',
                            self.inside] + list(args), ready=False, name="python3.15")
        rc = p.wait(timeout)
        check(rc == 0, "python3.15 %s exited with %s: %s", " ".join(args), rc, p.stderr[-400:])
        return p.stdout

    def run(self, args, timeout=120):
        p = self.spawn(args)
        rc = p.wait(timeout)
        check(rc == 0, "Tachyon %s exited with %s:\n%s", " ".join(args), rc,
              "\n".join((p.stderr.strip().splitlines() or ["(no stderr)"])[-6:]))
        return p

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
