"""--blocking: every thread of the target is stopped around each sample
(ptrace), so stacks are never torn, and the target always runs on afterwards
- when strobe ends, is interrupted, terminated or even SIGKILLed."""
import ctypes
import os
import re
import signal
import subprocess
import threading

from cases import case, expect_success
from harness import Collapsed, Failure, check, fn, frame, strip_runpy, wait_sampling

BLOCKING_WARNING = ("Warning: --blocking with a 50 \u00b5s interval will stop all threads 20000 "
                    "times per second. Consider using --sampling-rate 1khz or lower to reduce "
                    "overhead.")


def torn(it, L, frames):
    """Why frames (root first, runpy stripped) cannot be a consistent stack of
    genconsumer.py, or None."""
    produce, consume = fn(it, "produce"), fn(it, "consume")
    on_for = frame(it, "genconsumer.py", "consume", L["for"])
    for i, fr in enumerate(frames):
        parts = fr.rsplit(":", 2)
        if len(parts) != 3 or parts[0] != "genconsumer.py":  # <GC> and others
            continue
        file, func, line = parts
        if func == produce:
            if i != len(frames) - 1:
                return "produce() is not the leaf"
            if i == 0 or frames[i - 1] != on_for:
                return "produce() is not directly above consume() on its for line"
        if func == consume and int(line) == L["arith"] and i != len(frames) - 1:
            return "consume() on its arithmetic line has a frame above it"
    return None


@case("blocking_consistent", quick=True, debug=True)
def t_blocking_consistent(ctx):
    """--blocking -r 2khz on a generator/consumer pair: not one torn stack"""
    out = ctx.path("out.txt")
    # attach once the pair runs: on a loaded machine a launched target's
    # start-up (imports, each paused 2000 times a second) can take most of
    # the 2 s and leave too few samples of the loop
    tgt, ready = ctx.start_target("genconsumer.py")
    p = ctx.strobe(["attach", "-d", "2", "-r", "2khz", "--blocking", "--collapsed", "-o", out,
                    str(ready["pid"])], ready=False)
    s = expect_success(p, timeout=60)
    check(s["samples"] >= 400, "only %d samples in 2 s at 2 kHz with --blocking", s["samples"])
    # A failed sample is no tear: the walker refused what it read.  Even a
    # stopped interpreter can be between two stores of a frame switch (the
    # walker refuses 0-2% of 3.11's samples here), so only a high rate fails.
    check(s["error_rate"] < 5, "error rate %.2f%% with --blocking", s["error_rate"])
    col = Collapsed(out)
    it, L = ctx.interp, ready["lines"]
    bad = []
    for tid, frames, count in col.rows:
        why = torn(it, L, strip_runpy(frames))
        if why:
            bad.append("%5d %s: %s" % (count, why, ";".join(frames[-3:])))
    check(not bad, "torn stacks with --blocking:\n%s\n%s", "\n".join(bad[:10]),
          "\n".join(col.summary()))
    # the test means something only if both sides of the switch were seen
    gen = col.count(lambda t, fr: fr[-1].startswith("genconsumer.py:%s:" % fn(it, "produce")))
    arith = col.count(lambda t, fr: fr[-1] == frame(it, "genconsumer.py", "consume", L["arith"]))
    check(gen >= 10 and arith >= 10, "too few samples in produce() (%d) or on consume()'s "
          "arithmetic (%d)\n%s", gen, arith, "\n".join(col.summary()))


@case("blocking_threads")
def t_blocking_threads(ctx):
    """--blocking -a: every thread is held and sampled, with its whole stack"""
    tgt, ready = ctx.start_target("threads.py")
    out = ctx.path("out.txt")
    p = ctx.strobe(["attach", "-d", "1", "-a", "--blocking", "--collapsed", "-o", out,
                    str(ready["pid"])], ready=False)
    expect_success(p)
    col = Collapsed(out)
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    check(set(col.tids()) == set(tids.values()), "thread ids %s, expected %s",
          sorted(col.tids()), sorted(tids.values()))
    for role in ("spin_a", "spin_b", "sleeper"):
        leaf = frame(it, "threads.py", "Workers." + role, L[role])
        mine = "threads.py:%s:" % fn(it, "Workers." + role)
        n = col.count(lambda t, fr: t == tids[role])
        # whole stacks only: threading's bootstrap at the root, the worker in them
        whole = col.count(lambda t, fr: t == tids[role] and fr[0].startswith("threading.py:")
                          and any(x.startswith(mine) for x in fr))
        check(whole == n, "%d of %d samples of %s are not whole stacks\n%s", n - whole, n,
              role, "\n".join(col.summary()))
        # (the first ones may still be on the way from the start-up handshake)
        on = col.count(lambda t, fr: t == tids[role] and fr[-1] == leaf)
        check(on >= 0.5 * n, "only %d of %d samples of %s end in %s\n%s", on, n, role, leaf,
              "\n".join(col.summary()))
    released(ctx, ready["pid"])


# ---------------------------------------------------------------------------
# The target always runs on

def thread_states(pid):
    """{tid: state letter} of every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                out[int(tid)] = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            pass
    return out


def tracer_of(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^TracerPid:\s*(\d+)", f.read(), re.M)
    return int(m.group(1)) if m else 0


def released(ctx, pid):
    """No thread of pid is stopped or traced."""
    states = thread_states(pid)
    check(states, "target %d is gone", pid)
    stopped = {t: s for t, s in states.items() if s in "tT"}
    check(not stopped, "threads of target %d left stopped: %s", pid, stopped)
    check(tracer_of(pid) == 0, "target %d still traced by %d", pid, tracer_of(pid))


def progresses(ctx, tgt):
    """tgt (genconsumer.py) keeps consuming: a progress report newer than any
    sent so far counts more items."""
    last = 0
    while True:  # the reports already sent, stale
        try:
            last = max(last, tgt.message("progress", timeout=0.1)["items"])
        except Failure:
            break
    fresh = tgt.message("progress", timeout=10)["items"]
    check(fresh > last, "target made no progress after strobe ended (%d items, then %d)",
          last, fresh)


def _ending(ctx, end, opts=("-r", "2khz")):
    tgt, ready = ctx.start_target("genconsumer.py", STROBE_PROGRESS_EVERY="0.1")
    pid = ready["pid"]
    out = ctx.path("out.txt")
    args = ["attach", "--blocking", "--collapsed", "-o", out] + list(opts)
    if end == "duration":
        args += ["-d", "1"]
    p = ctx.strobe(args + [str(pid)], ready=False)
    # strobe samples (its start-up, signal handlers included, is over: on a
    # loaded machine a SIGTERM sent 0.1 s after its start found it without
    # them); for -d 1, before the end
    wait_sampling(p)
    if end == "duration":
        expect_success(p, timeout=30)
    elif end == "sigkill":
        p.send(signal.SIGKILL)
        rc = p.wait(30)
        check(rc == -signal.SIGKILL, "strobe exited with %s after SIGKILL", rc)
    else:
        p.send(signal.SIGINT if end == "sigint" else signal.SIGTERM)
        expect_success(p, timeout=30)
        check(Collapsed(out).total > 0, "no samples written")
    check(tgt.poll() is None, "target exited (status %s)", tgt.poll())
    released(ctx, pid)
    progresses(ctx, tgt)


@case("blocking_release_end", quick=True)
def t_blocking_release_end(ctx):
    """--blocking, -d 1 ends: the target is running (not stopped, not traced) and progresses"""
    _ending(ctx, "duration")


@case("blocking_release_sigint")
def t_blocking_release_sigint(ctx):
    """--blocking, Ctrl-C to strobe: output written, the target runs on"""
    _ending(ctx, "sigint")


@case("blocking_release_sigterm", quick=True)
def t_blocking_release_sigterm(ctx):
    """--blocking, SIGTERM to strobe: output written, the target runs on"""
    _ending(ctx, "sigterm")


@case("blocking_release_sigkill")
def t_blocking_release_sigkill(ctx):
    """--blocking at 20 kHz (held most of the time), SIGKILL to strobe: the kernel lets the target go"""
    for _ in range(3):
        _ending(ctx, "sigkill", opts=("-r", "20khz"))


@case("blocking_target_exits", quick=True)
def t_blocking_target_exits(ctx):
    """--blocking until the target exits by itself: run (strobe is its parent) and attach end cleanly"""
    env = ctx.env(STROBE_EXIT_AFTER="1")
    out = ctx.path("run.txt")
    p = ctx.strobe(["run", "--blocking", "-r", "5khz", "--collapsed", "-o", out]
                   + ctx.run_args("genconsumer.py"), env=env)
    p.message("ready")
    expect_success(p, timeout=30)
    check(p.elapsed < 10, "strobe ran %.1f s; the target exited after 1 s", p.elapsed)
    check(Collapsed(out).total > 0, "no samples written")

    tgt, ready = ctx.start_target("genconsumer.py", STROBE_EXIT_AFTER="1")
    out = ctx.path("attach.txt")
    p = ctx.strobe(["attach", "--blocking", "-r", "5khz", "--collapsed", "-o", out,
                    str(ready["pid"])], ready=False)
    expect_success(p, timeout=30)
    check(tgt.wait(10) == 0, "target exited with %s", tgt.rc)
    check(Collapsed(out).total > 0, "no samples written")


# ---------------------------------------------------------------------------
# Errors and the warning

PTRACE_SEIZE = 0x4206


@case("blocking_already_traced", kind="host")
def t_blocking_already_traced(ctx):
    """--blocking on a process another tracer holds: one line naming the tracer, exit 1"""
    tgt, ready = ctx.start_target("spin.py")
    pid = ready["pid"]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    # the test is the tracer now; seizing does not stop the target, and
    # killing it at cleanup needs no detach
    check(libc.ptrace(PTRACE_SEIZE, pid, None, None) == 0, "PTRACE_SEIZE failed: %s",
          os.strerror(ctypes.get_errno()))
    p = ctx.strobe(["attach", "-d", "1", "--blocking", str(pid)], ready=False)
    p.wait(30)
    check(p.rc == 1, "exit status %s, expected 1", p.rc)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(len(lines) == 1, "expected one line on stderr, got:\n%s", p.stderr)
    me = threading.get_native_id()  # ptrace's tracer is a thread
    check(re.search(r"\b%d\b" % me, lines[0]) and "--blocking" in lines[0],
          "message does not name the tracer %d and --blocking: %r", me, lines[0])
    check(tgt.poll() is None, "the target died")


@case("blocking_warning", kind="global", quick=True)
def t_blocking_warning(ctx):
    """--blocking under 100 us: Tachyon's warning first, before any other message"""
    gone = subprocess.Popen(["/bin/true"])
    gone.wait(10)
    p = ctx.strobe(["attach", "--blocking", "-r", "20khz", str(gone.pid)], ready=False)
    p.wait(30)
    lines = p.stderr.splitlines()
    check(p.rc == 1, "exit status %s, expected 1", p.rc)
    check(lines[:1] == [BLOCKING_WARNING], "first stderr line %r, expected %r",
          lines[:1], BLOCKING_WARNING)
    check(len(lines) == 2 and "does not exist" in lines[1], "stderr:\n%s", p.stderr)
    p = ctx.strobe(["attach", "--blocking", "-r", "10khz", str(gone.pid)], ready=False)
    p.wait(30)
    check("Warning" not in p.stderr, "warning at 100 us:\n%s", p.stderr)
