"""strobe's functional tests.  Each is a function taking a Ctx (harness.py),
registered with @case:

  kind="interp"       once per supported interpreter (3.8-3.15) found
  kind="host"         once per supported interpreter that runs on the host (not in a chroot)
  kind="unsupported"  once per interpreter strobe must refuse (2.7, 3.6, 3.7)
  kind="global"       once, against a default interpreter (interpreter-independent CLI behaviour)

  quick=True          also in the --quick set (run under the sanitizer build)
  versions={(3, 8)}   kind="interp" only on interpreters of these versions
  exclusive=True      measures timing or shares: runs with no other test beside it
  debug=True          also on debug builds (Debian's pythonX.Y-dbg, interpreters.py):
                      the representative subset that keeps them tested at little cost;
                      every other case skips them

A test fails by raising harness.Failure (check() does that).  Expected line
numbers, thread ids and pids come from the target's ready message, never from
constants here.
"""
import marshal
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import (Collapsed, Failure, Tachyon, check, fn, frame, one_line_error,
                     pstats_text, run_summary, strip_runpy, wait_gone)

CASES = []


class Case:
    def __init__(self, func, name, kind, quick, exclusive, doc, versions=None, debug=False,
                 engines=False):
        self.func = func
        self.engines = engines
        self.name = name
        self.kind = kind
        self.quick = quick
        self.exclusive = exclusive
        self.doc = doc
        self.versions = versions
        self.debug = debug


def case(name, kind="interp", quick=False, exclusive=False, versions=None, debug=False,
         engines=False):
    """versions: for kind="interp", only interpreters of these (major, minor);
    debug: also on debug builds; engines: also once per interpreter with
    --engine bpf on every run/attach (harness.BPF_MODES says what applies),
    engines="one": so on one of its interpreters only (the newest host
    release, run.py's default_interp): a case whose engine-specific part
    is small."""
    def register(func):
        doc = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        CASES.append(Case(func, name, kind, quick, exclusive, doc, versions, debug, engines))
        return func
    return register


# ---------------------------------------------------------------------------
# Shared expectations

def expect_success(p, duration=None, rate=1000, timeout=30):
    """strobe exited 0 and printed the end-of-run summary; returns it."""
    rc = p.wait(timeout)
    check(rc == 0, "strobe exited with status %s, expected 0", rc)
    s = run_summary(p.stdout)
    check(s["samples"] > 0, "strobe captured no samples")
    if duration is not None:
        check(duration * 0.9 <= s["seconds"] <= duration + 2.0,
              "reported %.2f s for -d %d", s["seconds"], duration)
        check(s["samples"] >= 0.2 * rate * duration,
              "only %d samples in %.2f s at %d Hz", s["samples"], s["seconds"], rate)
        check(s["samples"] <= rate * s["seconds"] * 1.1 + 10,
              "%d samples in %.2f s is more than %d Hz allows", s["samples"], s["seconds"], rate)
    check(0 <= s["error_rate"] <= 100, "error rate %s out of range", s["error_rate"])
    return s


def _func(fr):
    """'file:func' of a 'file:func:line' frame."""
    return fr.rsplit(":", 1)[0]


def expect_stack(col, expected, tid, share=0.9):
    """The most frequent stack of thread tid is exactly `expected` (root first;
    runpy frames below <module> are ignored), and it is at least `share` of the
    samples whose leaf is the expected leaf function (at any line): start-up
    samples don't count, truncated, torn or mislabelled variants do."""
    frames, count = col.top(tid)
    got = strip_runpy(frames)
    if got != expected:
        diff = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b),
                    min(len(got), len(expected)))
        raise Failure("top stack of tid %d differs at frame %d (%d frames, expected %d):\n"
                      "  got      %s\n  expected %s\n%s"
                      % (tid, diff, len(got), len(expected),
                         ";".join(got[diff:diff + 4]) or "(end)",
                         ";".join(expected[diff:diff + 4]) or "(end)",
                         "\n".join(col.summary())))
    leaf = _func(expected[-1])
    n = col.count(lambda t, fr: t == tid and _func(fr[-1]) == leaf)
    check(count >= share * n, "only %d of %d samples of tid %d with leaf %s have the expected "
          "stack (want %d%%)\n%s", count, n, tid, leaf, share * 100, "\n".join(col.summary()))


def expect_only_tids(col, tids):
    got = set(col.tids())
    check(got == set(tids), "thread ids in output %s, expected %s\n%s",
          sorted(got), sorted(tids), "\n".join(col.summary()))


def chain_stack(it, L):
    return [frame(it, "chain.py", "<module>", L["module"]),
            frame(it, "chain.py", "main", L["main"]),
            frame(it, "chain.py", "Outer.method", L["method"]),
            frame(it, "chain.py", "Outer.method.<locals>.inner", L["inner"]),
            frame(it, "chain.py", "Outer.Nested.static", L["lambda"]),
            frame(it, "chain.py", "Outer.Nested.static.<locals>.<lambda>", L["lambda"]),
            frame(it, "chain.py", "leaf", L["leaf"])]


def spin_stack(it, L, where="spin2"):
    return [frame(it, "spin.py", "<module>", L["module"]),
            frame(it, "spin.py", "main", L["main"]),
            frame(it, "spin.py", "spin", L[where])]


def run_collapsed(ctx, script, args=(), opts=("-d", "1"), env=None, out="out.txt"):
    """strobe run OPTS --collapsed -o OUT <script on this interpreter>; returns (proc, ready)."""
    out = ctx.path(out)
    p = ctx.strobe(["run"] + list(opts) + ["--collapsed", "-o", out] + ctx.run_args(script, args),
                   env=env)
    return p, p.message("ready"), out


# ---------------------------------------------------------------------------
# Stacks, names, lines, threads

@case("chain", quick=True, debug=True, engines=True)
def t_chain(ctx):
    """exact call chain through method, closure, staticmethod, lambda; qualnames and lines"""
    p, ready, out = run_collapsed(ctx, "chain.py")
    s = expect_success(p, duration=1)
    col = Collapsed(out)
    expect_only_tids(col, [ready["tid"]])
    check(col.total <= s["samples"], "%d stacks from %d samples", col.total, s["samples"])
    check(col.total >= 0.5 * s["samples"], "only %d stacks from %d samples", col.total, s["samples"])
    expect_stack(col, chain_stack(ctx.interp, ready["lines"]), ready["tid"])
    counts = [c for _, _, c in col.rows]
    check(counts == sorted(counts, reverse=True), "collapsed lines are not sorted by count, "
          "highest first: %s", counts[:20])


@case("recursion", quick=True, debug=True, engines=True)
def t_recursion(ctx):
    """a 600-deep recursion comes out whole"""
    p, ready, out = run_collapsed(ctx, "recursion.py")
    expect_success(p, duration=1)
    col = Collapsed(out)
    it, L, depth = ctx.interp, ready["lines"], ready["depth"]
    check(depth == 600, "target recursed %d deep", depth)
    expected = ([frame(it, "recursion.py", "<module>", L["module"]),
                 frame(it, "recursion.py", "main", L["main"])]
                + [frame(it, "recursion.py", "recurse", L["rec"])] * (depth - 1)
                + [frame(it, "recursion.py", "recurse", L["base"]),
                   frame(it, "recursion.py", "hold", L["hold"])])
    expect_stack(col, expected, ready["tid"])


@case("unicode", quick=True, debug=True, engines="one")
def t_unicode(ctx):
    """non-ASCII file and function names (latin-1, UCS-2 and UCS-4 strings)"""
    p, ready, out = run_collapsed(ctx, "ünïcode.py")
    expect_success(p, duration=1)
    col = Collapsed(out)
    it, L = ctx.interp, ready["lines"]
    f = "ünïcode.py"
    expected = [frame(it, f, "<module>", L["module"]), frame(it, f, "größe", L["latin"]),
                frame(it, f, "Ünï.naïve", L["method"]), frame(it, f, "計算", L["cjk"]),
                frame(it, f, "𠀀", L["leaf"])]
    expect_stack(col, expected, ready["tid"])


@case("shares", quick=True, exclusive=True, engines=True)
def t_shares(ctx):
    """hot() and cold() do the same loop 3:1 -> 75/25 of their samples (+-10 points), exact lines"""
    p, ready, out = run_collapsed(ctx, "shares.py", opts=("-d", "2", "-r", "2khz"))
    expect_success(p, duration=2, rate=2000)
    col = Collapsed(out)
    it, L = ctx.interp, ready["lines"]
    counts = {}
    for name in ("hot", "cold"):
        loop = frame(it, "shares.py", name, L[name])
        entry = frame(it, "shares.py", name, L[name + "_def"])  # 3.11+: RESUME is on the def line
        base = [frame(it, "shares.py", "<module>", L["module"]),
                frame(it, "shares.py", "main", L["call_" + name])]
        on_loop = col.count(lambda t, fr: strip_runpy(fr) == base + [loop])
        in_func = col.count(lambda t, fr: strip_runpy(fr) in (base + [loop], base + [entry]))
        anywhere = col.count(lambda t, fr: any(x.startswith("shares.py:%s:" % name) for x in fr))
        # Sampling without stopping the target may tear a stack now and then
        # (caller read after the callee returned): allow 1%, no more.
        check(anywhere - in_func <= 0.01 * anywhere, "%d of %d samples in %s() are not "
              "exactly %s or %s (the line executing)\n%s", anywhere - in_func, anywhere, name,
              ";".join(base + [loop]), entry, "\n".join(col.summary()))
        check(on_loop >= 0.9 * in_func, "only %d of %d samples in %s() on its loop line %s\n%s",
              on_loop, in_func, name, loop, "\n".join(col.summary()))
        counts[name] = in_func
    hot, cold = counts["hot"], counts["cold"]
    check(hot + cold >= 0.8 * col.total, "hot+cold stacks are only %d of %d samples\n%s",
          hot + cold, col.total, "\n".join(col.summary()))
    pct = 100.0 * hot / (hot + cold)
    ctx.notes.append("hot %d, cold %d: %.1f%% / %.1f%%" % (hot, cold, pct, 100 - pct))
    check(65 <= pct <= 85, "hot() got %.1f%% of hot+cold samples (%d/%d), expected 75 +- 10",
          pct, hot, hot + cold)


@case("threads_all", quick=True, debug=True, engines=True)
def t_threads_all(ctx):
    """-a: every thread, each under its own native thread id (threading.get_native_id())"""
    p, ready, out = run_collapsed(ctx, "threads.py", opts=("-a", "-d", "1"))
    expect_success(p, duration=1)
    col = Collapsed(out)
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    expect_only_tids(col, tids.values())
    expect_stack(col, [frame(it, "threads.py", "<module>", L["module"]),
                       frame(it, "threads.py", "main", L["main_wait"])], tids["main"])
    roles = ("spin_a", "spin_b", "sleeper")
    for role in roles:
        mine = frame(it, "threads.py", "Workers." + role, L[role])
        tid = tids[role]
        # the sampling starts with the interpreter: a worker waits in
        # _started() for its siblings to start, which on a loaded host
        # under the sanitizer build took half of the 1 s
        starting = "threads.py:%s:" % fn(it, "Workers._started")
        frames, count = col.top(tid, keep=lambda fr: not any(x.startswith(starting) for x in fr))
        check(frames[-1] == mine, "thread %s (tid %d): top stack ends in %s, expected %s\n%s",
              role, tid, frames[-1], mine, "\n".join(col.summary()))
        same_leaf = col.count(lambda t, fr: t == tid and _func(fr[-1]) == _func(mine))
        check(count >= 0.9 * same_leaf, "thread %s: top stack has %d of %d samples in %s",
              role, count, same_leaf, _func(mine))
        # No other thread shows this worker's function.
        other = col.count(lambda t, fr: t != tid and any(
            x.startswith("threads.py:%s:" % fn(it, "Workers." + role)) for x in fr))
        check(other == 0, "%d samples of other threads contain %s's function", other, role)
    counts = col.tids()
    most = max(counts.values())
    for role, tid in tids.items():
        check(counts[tid] >= 0.5 * most, "thread %s has %d samples, the busiest %d: -a must "
              "sample every thread at every tick", role, counts[tid], most)


@case("threads_main", engines=True)
def t_threads_main(ctx):
    """without -a only the main thread is sampled"""
    p, ready, out = run_collapsed(ctx, "threads.py")
    expect_success(p, duration=1)
    col = Collapsed(out)
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    expect_only_tids(col, [tids["main"]])
    check(tids["main"] == ready["pid"], "main thread id %d is not the pid", tids["main"])
    expect_stack(col, [frame(it, "threads.py", "<module>", L["module"]),
                       frame(it, "threads.py", "main", L["main_wait"])], tids["main"])


# ---------------------------------------------------------------------------
# Attach

def _request(port, n, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"%d\n" % n)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(64)
            if not chunk:
                break
            data += chunk
        return data


@case("attach_server", quick=True, debug=True, engines="one")
def t_attach_server(ctx):
    """attach -d 2 to a running TCP server while a client keeps it busy; it keeps serving after"""
    srv, ready = ctx.start_target("server.py")
    port, pid = ready["port"], ready["pid"]
    check(_request(port, 1000) == b"ok\n", "server does not answer before the test")
    out = ctx.path("out.txt")
    p = ctx.strobe(["attach", "-d", "2", "--collapsed", "-o", out, str(pid)], ready=False)
    # Keep the server busy until strobe is done (bounded in count and time).
    n, t0 = 0, time.monotonic()
    while p.poll() is None and n < 5000 and time.monotonic() - t0 < 30:
        check(_request(port, 100000) == b"ok\n", "server stopped answering while attached")
        n += 1
    expect_success(p, duration=2)
    ctx.notes.append("%d requests served while attached" % n)
    check(_request(port, 1000) == b"ok\n", "server does not answer after strobe detached")
    check(srv.poll() is None, "server exited after strobe detached")
    col = Collapsed(out)
    it, L = ctx.interp, ready["lines"]
    expect_only_tids(col, [ready["tid"]])
    base = [frame(it, "server.py", "<module>", L["module"]), frame(it, "server.py", "main", L["serve"])]
    based = col.count(lambda t, fr: strip_runpy(fr)[:2] == base)
    check(based >= 0.98 * col.total, "only %d of %d samples start with %s\n%s", based, col.total,
          ";".join(base), "\n".join(col.summary()))
    work = col.count(lambda t, fr: fr[-2:] == [frame(it, "server.py", "Handler.handle", L["handle"]),
                                                frame(it, "server.py", "work", L["work"])])
    check(work >= 0.1 * col.total, "only %d of %d samples in Handler.handle -> work\n%s",
          work, col.total, "\n".join(col.summary()))


@case("attach_exit", engines="one")
def t_attach_exit(ctx):
    """attach without -d; the target exits by itself -> output written, exit 0"""
    tgt, ready = ctx.start_target("spin.py", STROBE_EXIT_AFTER="2")
    exited = []

    def reap():  # as the target's parent would, so it does not linger as a zombie
        tgt.p.wait()
        exited.append(time.monotonic())
    reaper = threading.Thread(target=reap, daemon=True)
    reaper.start()
    out = ctx.path("out.txt")
    p = ctx.strobe(["attach", "--collapsed", "-o", out, str(ready["pid"])], ready=False)
    expect_success(p, timeout=30)
    reaper.join(10)
    check(exited and tgt.poll() == 0, "target exited with %s", tgt.poll())
    check(p.ended - exited[0] < 5, "strobe ended %.1f s after the target", p.ended - exited[0])
    col = Collapsed(out)
    expect_only_tids(col, [ready["tid"]])
    n = col.count(lambda t, fr: fr[-1].startswith("spin.py:%s:" % fn(ctx.interp, "spin")))
    check(n > 0, "no samples in spin()\n%s", "\n".join(col.summary()))


# ---------------------------------------------------------------------------
# Ending: target exit, Ctrl-C, SIGTERM

@case("run_exit", quick=True, engines="one")
def t_run_exit(ctx):
    """run without -d until the target exits; script args (even option-like) go to the script"""
    args = ["-d", "5", "-a", "--collapsed", "x y"]
    p, ready, out = run_collapsed(ctx, "spin.py", args, opts=(),
                                  env=ctx.env(STROBE_EXIT_AFTER="1", STROBE_PROGRESS_AFTER="0.1"))
    check(ready["argv"] == args, "script got argv %r, expected %r", ready["argv"], args)
    expect_success(p, timeout=30)
    check(p.elapsed < 4.5, "strobe ran %.1f s; the target exited after 1 s", p.elapsed)
    col = Collapsed(out)
    expect_only_tids(col, [ready["tid"]])  # -a was the script's
    expect_stack(col, spin_stack(ctx.interp, ready["lines"]), ready["tid"], share=0.6)


def _interrupt(ctx, send):
    p, ready, out = run_collapsed(ctx, "spin.py", opts=())
    p.message("progress")  # the target has run 0.3 s under strobe
    send(p)
    expect_success(p, timeout=15)
    col = Collapsed(out)
    check(col.total > 0, "no samples written")
    n = col.count(lambda t, fr: strip_runpy(fr)[:3] in (spin_stack(ctx.interp, ready["lines"], "spin1"),
                                                        spin_stack(ctx.interp, ready["lines"], "spin2")))
    check(n >= 0.5 * col.total, "only %d of %d samples in spin()\n%s", n, col.total,
          "\n".join(col.summary()))
    check(wait_gone(ready["pid"], 10), "target %d still running 10 s after strobe exited",
          ready["pid"])


@case("ctrl_c", quick=True, engines="one")
def t_ctrl_c(ctx):
    """SIGINT to strobe: output still written, exit 0, target not left running"""
    _interrupt(ctx, lambda p: p.send(signal.SIGINT))


@case("sigterm", engines="one")
def t_sigterm(ctx):
    """SIGTERM to strobe: output still written, exit 0, target not left running"""
    _interrupt(ctx, lambda p: p.send(signal.SIGTERM))


@case("ctrl_c_group", engines="one")
def t_ctrl_c_group(ctx):
    """terminal-style Ctrl-C (SIGINT to strobe and target): output written, exit 0"""
    _interrupt(ctx, lambda p: p.send_group(signal.SIGINT))


# ---------------------------------------------------------------------------
# Output formats and options

@case("pstats_text", engines=True)
def t_pstats_text(ctx):
    """default output: the pstats table on stdout, sorted by direct samples, with summary"""
    p = ctx.strobe(["run", "-d", "1"] + ctx.run_args("shares.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    rows = pstats_text(p.stdout)
    L = ready["lines"]
    check(0 < len(rows) <= 15, "%d rows (default limit is 15)", len(rows))
    by = {(r["file"], r["line"], r["func"]): r for r in rows}
    hot = by.get(("shares.py", L["hot"], fn(ctx.interp, "hot")))
    cold = by.get(("shares.py", L["cold"], fn(ctx.interp, "cold")))
    check(hot is not None and cold is not None, "no rows shares.py:%d(hot) and shares.py:%d(cold)",
          L["hot"], L["cold"])
    check(hot["direct"] > cold["direct"] > 0, "hot %d, cold %d direct samples",
          hot["direct"], cold["direct"])
    check(hot["direct"] == hot["cumulative"], "hot() is a leaf: direct %d != cumulative %d",
          hot["direct"], hot["cumulative"])
    d = [r["direct"] for r in rows]
    check(d == sorted(d, reverse=True), "rows not sorted by direct samples: %s", d)
    check("Legend:" in p.stdout, "no Legend")
    check("Functions with Highest Direct/Cumulative Ratio (Hot Spots):" in p.stdout,
          "no summary section (Hot Spots)")


@case("pstats_options", engines="one")
def t_pstats_options(ctx):
    """--sort nsamples-cumul -l 3 --no-summary"""
    p = ctx.strobe(["run", "-d", "1", "--sort", "nsamples-cumul", "-l", "3", "--no-summary"]
                   + ctx.run_args("shares.py"))
    p.message("ready")
    expect_success(p, duration=1)
    rows = pstats_text(p.stdout)
    check(len(rows) == 3, "%d rows with -l 3", len(rows))
    c = [r["cumulative"] for r in rows]
    check(c == sorted(c, reverse=True), "rows not sorted by cumulative samples: %s", c)
    check("Functions with Highest" not in p.stdout, "summary printed despite --no-summary")


@case("pstats_file", quick=True, debug=True, engines="one")
def t_pstats_file(ctx):
    """--pstats -o FILE: marshal {(file, line, func): (cc, nc, tt, ct, callers)} this Python's pstats loads"""
    out = ctx.path("out.pstats")
    p = ctx.strobe(["run", "-d", "1", "--pstats", "-o", out] + ctx.run_args("shares.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    check(os.path.exists(out), "%s not written", out)
    with open(out, "rb") as f:
        try:
            data = marshal.load(f)
        except (EOFError, ValueError, TypeError) as e:
            raise Failure("%s is not a marshal file: %s" % (out, e))
    check(isinstance(data, dict), "marshal file holds %s, not a dict", type(data).__name__)
    # Tachyon adds ("__sampled__",): True, which only 3.15's pstats accepts; strobe may
    # leave it out (src/format/pstats.c) so that every version's pstats loads the file.
    check(data.get(("__sampled__",), True) is True, "('__sampled__',) maps to %r",
          data.get(("__sampled__",)))
    L, file = ready["lines"], ready["file"]
    hot = (file, L["hot"], fn(ctx.interp, "hot"))
    main_hot = (file, L["call_hot"], fn(ctx.interp, "main"))
    check(hot in data, "no key %r; keys: %s", hot, sorted(k for k in data if len(k) == 3)[:8])
    cc, nc, tt, ct, callers = data[hot]
    check(cc > 0 and nc >= cc, "hot: cc %r nc %r", cc, nc)
    check(abs(tt - cc * 0.001) < 1e-6 and abs(ct - nc * 0.001) < 1e-6,
          "hot: tt %r ct %r are not samples x 1 ms (cc %d, nc %d)", tt, ct, cc, nc)
    check(isinstance(callers, dict) and 0 < callers.get(main_hot, 0) <= nc,
          "hot's callers %r lack %r", callers, main_hot)
    for k, v in data.items():
        if k == ("__sampled__",):
            continue
        check(isinstance(k, tuple) and len(k) == 3 and isinstance(k[0], str)
              and isinstance(k[1], int) and isinstance(k[2], str), "bad key %r", k)
        check(isinstance(v, tuple) and len(v) == 5 and v[0] <= v[1], "bad value %r for %r", v, k)
    if ("__sampled__",) not in data:
        # Then the profiled interpreter's own pstats must load and print it.
        code = ("import io, pstats, sys; out = io.StringIO(); "
                "s = pstats.Stats(sys.argv[1], stream=out); n = len(s.stats); s.strip_dirs(); "
                "s.sort_stats('cumulative').print_stats(5); s.print_callers(5); s.print_callees(5); "
                "print(n)")
        q = ctx.spawn(ctx.interp.command("-c", code, ctx.to_target(out)), ready=False, name="pstats")
        check(q.wait(30) == 0, "%s's pstats cannot load the file: %s", ctx.interp.short,
              (q.stderr.strip().splitlines() or ["?"])[-1])
        check(int(q.stdout.split()[-1]) == len(data), "pstats loaded %s of %d functions",
              q.stdout.split()[-1], len(data))


@case("default_output_name", engines="one")
def t_default_output_name(ctx):
    """--collapsed without -o writes collapsed_<pid>.txt in the cwd; -o DIR writes DIR/collapsed_<pid>.txt"""
    cwd = ctx.path("cwd")
    os.mkdir(cwd)
    p = ctx.strobe(["run", "-d", "1", "--collapsed"] + ctx.run_args("chain.py"), cwd=cwd)
    ready = p.message("ready")
    expect_success(p, duration=1)
    name = "collapsed_%d.txt" % ready["pid"]
    check(os.listdir(cwd) == [name], "cwd holds %s, expected [%s]", os.listdir(cwd), name)
    Collapsed(os.path.join(cwd, name))
    outdir = ctx.path("outdir")
    os.mkdir(outdir)
    p = ctx.strobe(["run", "-d", "1", "--collapsed", "-o", outdir] + ctx.run_args("chain.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    name = "collapsed_%d.txt" % ready["pid"]
    check(os.listdir(outdir) == [name], "-o DIR holds %s, expected [%s]", os.listdir(outdir), name)


# ---------------------------------------------------------------------------
# Ways to launch

@case("module", engines="one")
def t_module(ctx):
    """run -m module args (python -m semantics)"""
    env = ctx.env(STROBE_PROGRESS_AFTER="0.1")
    if ctx.interp.root is not None:
        env["PYTHONPATH"] = ctx.to_target(ctx.work)  # chroot(8) starts in /
    ctx.target("spin.py")
    out = ctx.path("out.txt")
    p = ctx.strobe(["run", "-d", "1", "--collapsed", "-o", out]
                   + ctx.run_args("spin", ["a", "-b"], module=True), env=env)
    ready = p.message("ready")
    check(ready["argv"] == ["a", "-b"], "module got argv %r", ready["argv"])
    check(ready["file"] == ctx.to_target(ctx.path("spin.py")), "ran %s", ready["file"])
    expect_success(p, duration=1)
    expect_stack(Collapsed(out), spin_stack(ctx.interp, ready["lines"]), ready["tid"], share=0.6)


@case("command_form", engines="one")
def t_command_form(ctx):
    """run -- COMMAND: a command that becomes CPython by exec (here through env(1))"""
    it = ctx.interp
    _, tpath = ctx.target("chain.py")
    out = ctx.path("out.txt")
    p = ctx.strobe(["run", "-d", "1", "--collapsed", "-o", out, "--", "/usr/bin/env"]
                   + it.command(tpath))
    ready = p.message("ready")
    expect_success(p, duration=1)
    col = Collapsed(out)
    expect_only_tids(col, [ready["tid"]])
    expect_stack(col, chain_stack(it, ready["lines"]), ready["tid"])


@case("path_python3", kind="host", engines="one")
def t_path_python3(ctx):
    """without --python, run uses python3 from PATH"""
    it = ctx.interp
    bindir = ctx.path("bin")
    os.mkdir(bindir)
    os.symlink(it.exe, os.path.join(bindir, "python3"))
    _, tpath = ctx.target("chain.py")
    out = ctx.path("out.txt")
    env = ctx.env(PATH=bindir + ":/usr/bin:/bin")
    p = ctx.strobe(["run", "-d", "1", "--collapsed", "-o", out, tpath], env=env)
    ready = p.message("ready")
    check(ready["version"][:2] == list(it.version[:2]), "PATH's python3 is %s but %s ran",
          it.short, ready["version"])
    expect_success(p, duration=1)
    expect_stack(Collapsed(out), chain_stack(it, ready["lines"]), ready["tid"])


@case("module_not_found", kind="host", quick=True, engines="one")
def t_module_not_found(ctx):
    """run -m with a module that does not exist: one line, exit 1, naming the interpreter
    that searched and pointing at --python"""
    p = ctx.strobe(["run", "--python", ctx.interp.exe, "-m", "strobe_no_such_module"], ready=False)
    p.wait(30)
    line = one_line_error(p)
    check("strobe_no_such_module" in line, "message does not name the module: %r", line)
    check("--python" in line and ("Python %d.%d" % ctx.interp.version[:2]) in line,
          "message does not name the interpreter and --python: %r", line)


# ---------------------------------------------------------------------------
# Errors

@case("no_permission", quick=True, engines="one")
def t_no_permission(ctx):
    """attach as an unprivileged user to a root process: one actionable line, exit 1"""
    tgt, ready = ctx.start_target("spin.py")
    bindir = tempfile.mkdtemp(prefix="strobe-bin-")
    try:
        os.chmod(bindir, 0o755)
        exe = os.path.join(bindir, "strobe")
        shutil.copy(ctx.strobe_path, exe)
        os.chmod(exe, 0o755)
        if shutil.which("setpriv"):
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        elif shutil.which("runuser"):
            prefix = ["runuser", "-u", "nobody", "--"]
        else:
            raise Failure("neither setpriv nor runuser is installed (tests/provision.sh installs util-linux)")
        check(os.geteuid() == 0, "this test needs root (to drop to nobody)")
        p = ctx.strobe(["attach", "-d", "1", str(ready["pid"])], ready=False, exe=exe,
                       prefix=prefix, cwd=bindir)
        p.wait(30)
    finally:
        shutil.rmtree(bindir, ignore_errors=True)
    line = one_line_error(p)
    for hint, rx in (("CAP_SYS_PTRACE", r"CAP_SYS_PTRACE"), ("ptrace_scope", r"ptrace_scope"),
                     ("run as root", r"\broot\b"), ("--cap-add SYS_PTRACE", r"--cap-add[= ]SYS_PTRACE")):
        check(re.search(rx, line), "message does not mention %s: %r", hint, line)
    check(tgt.poll() is None, "the target died")


@case("unsupported_attach", kind="unsupported", quick=True)
def t_unsupported_attach(ctx):
    """attach to an interpreter outside 3.8-3.15: one line naming its version, exit 1"""
    tgt, ready = ctx.start_target("idle.py")
    p = ctx.strobe(["attach", "-d", "1", str(ready["pid"])], ready=False)
    p.wait(30)
    line = one_line_error(p)
    check(re.search(r"(?<![\d.])%s(?![\d])" % re.escape(ctx.interp.short), line),
          "message does not name version %s: %r", ctx.interp.short, line)
    check(tgt.poll() is None, "the target died")


@case("unsupported_run", kind="unsupported")
def t_unsupported_run(ctx):
    """run a script on an interpreter outside 3.8-3.15: one line naming its version, exit 1"""
    _, tpath = ctx.target("idle.py")
    p = ctx.strobe(["run", "-d", "1", "--python", ctx.interp.exe, tpath])
    p.wait(30)
    line = one_line_error(p)
    check(re.search(r"(?<![\d.])%s(?![\d])" % re.escape(ctx.interp.short), line),
          "message does not name version %s: %r", ctx.interp.short, line)
    try:
        ready = p.message("ready", timeout=2)
    except Failure:
        ready = None  # strobe stopped it before it said anything
    if ready is not None:
        check(wait_gone(ready["pid"], 10), "target %d left running", ready["pid"])


@case("no_such_pid", kind="global", quick=True)
def t_no_such_pid(ctx):
    """attach to a PID that does not exist: one line naming it, exit 1"""
    gone = subprocess.Popen(["/bin/true"])
    gone.wait(10)
    p = ctx.strobe(["attach", "-d", "1", str(gone.pid)], ready=False)
    p.wait(30)
    line = one_line_error(p)
    check(str(gone.pid) in line, "message does not name pid %d: %r", gone.pid, line)


@case("not_python", kind="global", quick=True)
def t_not_python(ctx):
    """attach to a process that is not Python (sleep 100): one line, exit 1"""
    sl = ctx.spawn(["sleep", "100"], ready=False)
    p = ctx.strobe(["attach", "-d", "1", str(sl.pid)], ready=False)
    p.wait(30)
    line = one_line_error(p)
    check(re.search(r"python", line, re.I), "message does not say it is not Python: %r", line)
    check(sl.poll() is None, "sleep died")


@case("command_exits", kind="global", quick=True)
def t_command_exits(ctx):
    """run -- COMMAND that exits (or fails to exec) before it ever becomes Python: one line, exit 1"""
    for cmd in (["/bin/true"], ["/bin/sh", "-c", "exit 3"], ["/nonexistent/strobe-cmd"]):
        p = ctx.strobe(["run", "--"] + cmd, ready=False)
        p.wait(30)
        try:
            one_line_error(p)
        except Failure as e:
            raise Failure("run -- %s: %s" % (" ".join(cmd), e))


@case("script_not_found", kind="global", quick=True)
def t_script_not_found(ctx):
    """run a script that does not exist: one line naming it, exit 1"""
    p = ctx.strobe(["run", "--python", ctx.interp.exe, "/nonexistent/strobe_missing.py"],
                   ready=False)
    p.wait(30)
    line = one_line_error(p)
    check("strobe_missing.py" in line, "message does not name the script: %r", line)
    p = ctx.strobe(["run", "--python", ctx.interp.exe, "strobe_missing.py"], ready=False)
    p.wait(30)
    line = one_line_error(p)
    check("strobe_missing.py" in line, "message does not name the script: %r", line)


@case("usage_errors", kind="global", quick=True)
def t_usage_errors(ctx):
    """bad command lines exit 2; --help exits 0"""
    _, spin = ctx.target("spin.py")
    bad = [[], ["bogus"], ["run"], ["attach"], ["attach", "notapid"],
           ["run", "-r", "abc", spin], ["run", "-r", "0", spin], ["run", "-r", "2mhz", spin],
           ["run", "-r", "1000001", spin], ["run", "-d", "nan", spin], ["run", "-d", "x", spin],
           ["run", "--collapsed", "--pstats", spin], ["run", "--collapsed", "--sort", "name", spin],
           ["run", "-l", "x", spin], ["run", "--sort", "bogus", spin], ["run", "--bogus", spin],
           ["attach", "-m", "1"]]
    env = ctx.env(STROBE_PROCESS_TIMEOUT="5")
    for args in bad:
        p = ctx.strobe(args, ready=False, env=env)
        rc = p.wait(30)
        check(rc == 2, "strobe %s: exit status %s, expected 2", " ".join(args), rc)
        check(p.stderr.strip(), "strobe %s: nothing on stderr", " ".join(args))
    p = ctx.strobe(["--help"], ready=False)
    check(p.wait(30) == 0, "--help: exit status %s", p.rc)
    check("run" in p.stdout and "attach" in p.stdout, "--help does not list run and attach")


# ---------------------------------------------------------------------------
# Sampling modes, thread status, <GC> and <native> frames

def leaf_counts(col):
    """{(tid, leaf function): samples}"""
    out = {}
    for tid, frames, n in col.rows:
        key = (tid, _func(frames[-1]).split(":", 1)[-1] if frames else "")
        out[key] = out.get(key, 0) + n
    return out


def samples_of(col, tid):
    return sum(n for t, _, n in col.rows if t == tid)


@case("mode_cpu", quick=True, exclusive=True, engines=True)
def t_mode_cpu(ctx):
    """--mode cpu: busy threads are sampled, a sleeping one (almost) never"""
    p, ready, out = run_collapsed(ctx, "threads.py", opts=("-d", "2", "-a", "--mode", "cpu"))
    expect_success(p, duration=2)
    col = Collapsed(out)
    th = ready["threads"]
    busy = samples_of(col, th["spin_a"]) + samples_of(col, th["spin_b"])
    sleeper = samples_of(col, th["sleeper"])
    check(busy >= 0.5 * col.total, "busy threads have %d of %d samples\n%s", busy, col.total,
          "\n".join(col.summary()))
    check(sleeper <= 0.1 * busy, "the sleeping thread has %d samples, the busy ones %d\n%s",
          sleeper, busy, "\n".join(col.summary()))


@case("mode_gil", quick=True, exclusive=True, engines=True)
def t_mode_gil(ctx):
    """--mode gil: only the thread holding the GIL, at most one per sample"""
    p, ready, out = run_collapsed(ctx, "threads.py", opts=("-d", "2", "-a", "--mode", "gil"))
    s = expect_success(p, duration=2)
    col = Collapsed(out)
    th = ready["threads"]
    check(col.total <= s["samples"] * 1.02 + 5, "%d stacks in %d samples: more than one GIL "
          "holder per sample", col.total, s["samples"])
    busy = samples_of(col, th["spin_a"]) + samples_of(col, th["spin_b"])
    check(busy >= 0.8 * col.total, "GIL holders: spinners %d of %d\n%s", busy, col.total,
          "\n".join(col.summary()))
    check(samples_of(col, th["sleeper"]) <= 0.05 * col.total, "the sleeper held the GIL in %d "
          "of %d samples", samples_of(col, th["sleeper"]), col.total)


@case("mode_exception", quick=True, debug=True, engines=True)
def t_mode_exception(ctx):
    """--mode exception: only the thread inside an except block"""
    # 2 s: the handler spins in its except block from its start on, but the
    # interpreter's start-up counts in run's -d (over 0.7 s of 1 s seen
    # under the sanitizer build on a loaded host)
    p, ready, out = run_collapsed(ctx, "exceptions.py", opts=("-d", "2", "-a", "--mode", "exception"))
    expect_success(p, duration=2)
    col = Collapsed(out)
    th = ready["threads"]
    handler = samples_of(col, th["handler"])
    check(handler >= 0.3 * 1000, "only %d samples of the handling thread in 2 s", handler)
    # (start-up code of the main thread may handle exceptions of its own)
    idle_main = col.count(lambda t, fr: t == th["main"] and fr and fr[-1] == frame(
        ctx.interp, "exceptions.py", "main", ready["lines"]["main_wait"]))
    check(samples_of(col, th["plain"]) == 0 and idle_main == 0,
          "threads without an exception were sampled\n%s", "\n".join(col.summary()))
    frames, _ = col.top(th["handler"])
    check(frames[-1] == frame(ctx.interp, "exceptions.py", "handler", ready["lines"]["handler"]),
          "top stack of the handler ends in %s", frames[-1])


def check_gc_frames(ctx, ready, col, what=""):
    """gc_target.py's samples: mostly in G.__del__, run by the collector,
    with <GC> where it belongs (what: which run, for the messages)."""
    L = ready["lines"]
    dl = frame(ctx.interp, "gc_target.py", "G.__del__", L["del"])
    collect = frame(ctx.interp, "gc_target.py", "main", L["collect"])
    if tuple(ctx.interp.version[:2]) >= (3, 15):
        # exact: where the collection started, below the finalizer
        want = lambda fr: fr[-3:] == [collect, "<GC>", dl]
        where = "main;<GC>;G.__del__"
    else:
        # only a flag: on top of the stack of the thread holding the GIL
        want = lambda fr: fr[-3:] == [collect, dl, "<GC>"]
        where = "main;G.__del__;<GC>"
    n = col.count(lambda t, fr: want(strip_runpy(fr)))
    dels = col.count(lambda t, fr: any(f == dl for f in fr))
    check(dels > 0.5 * col.total, "%sonly %d of %d samples in __del__", what, dels, col.total)
    check(n >= 0.8 * dels, "%s%d of %d samples in __del__ show %s\n%s", what, n, dels, where,
          "\n".join(col.summary()))


@case("gc_frames", quick=True, debug=True, engines=True)
def t_gc_frames(ctx):
    """<GC> frames while the collector runs finalizers; none with --no-gc"""
    p, ready, out = run_collapsed(ctx, "gc_target.py")
    expect_success(p, duration=1)
    check_gc_frames(ctx, ready, Collapsed(out))
    p, ready, out = run_collapsed(ctx, "gc_target.py", opts=("-d", "1", "--no-gc"), out="nogc.txt")
    expect_success(p, duration=1)
    col = Collapsed(out)
    check(col.count(lambda t, fr: "<GC>" in fr) == 0, "<GC> frames with --no-gc")


@case("native_frames", quick=True, debug=True)
def t_native_frames(ctx):
    """--native: <native> between a Python caller and a callback from C, never at the leaf (3.11+)"""
    if tuple(ctx.interp.version[:2]) < (3, 11):
        # readiness on the pipe: the target's "ready" line, if it gets
        # that far before strobe ends it, stays off stderr
        p = ctx.strobe(["run", "-d", "1", "--native", "--collapsed", "-o", ctx.path("n.txt")]
                       + ctx.run_args("native.py"))
        p.wait(30)
        line = one_line_error(p, rc=2)
        check("--native" in line and "3.11" in line, "message %r", line)
        return
    p, ready, out = run_collapsed(ctx, "native.py", opts=("-d", "1", "--native"))
    expect_success(p, duration=1)
    col = Collapsed(out)
    L = ready["lines"]
    work = frame(ctx.interp, "native.py", "work", L["work"])
    mapcall = frame(ctx.interp, "native.py", "main", L["map"])
    n = col.count(lambda t, fr: fr[-3:] == [mapcall, "<native>", work])
    inwork = col.count(lambda t, fr: fr[-1] == work)
    check(inwork > 0.5 * col.total and n >= 0.9 * inwork, "%d of %d samples in work() show "
          "main;<native>;work\n%s", n, inwork, "\n".join(col.summary()))
    check(col.count(lambda t, fr: fr and fr[-1] == "<native>") == 0, "<native> at a leaf")
    p, ready, out = run_collapsed(ctx, "native.py", out="plain.txt")
    expect_success(p, duration=1)
    check(Collapsed(out).count(lambda t, fr: "<native>" in fr) == 0, "<native> without --native")


# ---------------------------------------------------------------------------
# Binary format: strobe's files replay in Tachyon and Tachyon's in strobe

def _read(path):
    with open(path, "rb") as f:
        return f.read()


def strobe_replay(ctx, binfile, out, extra=()):
    """strobe replay --collapsed -o OUT BINFILE; returns the process."""
    p = ctx.strobe(["replay", "--collapsed", "-o", out] + list(extra) + [binfile], ready=False)
    rc = p.wait(60)
    check(rc == 0, "strobe replay exited with %s: %s", rc, p.stderr.strip()[-400:])
    check(re.search(r"^Replaying \d+ samples from ", p.stdout, re.M), "no 'Replaying' line:\n%s",
          p.stdout)
    check(re.search(r"^Replayed \d+ samples$", p.stdout, re.M), "no 'Replayed' line:\n%s",
          p.stdout)
    return p


def same_collapsed_as_tachyon(ctx, binfile):
    """Tachyon's replay of binfile and strobe's give the same collapsed file."""
    ours = ctx.path("strobe-replay.txt")
    strobe_replay(ctx, binfile, ours)
    t = Tachyon(ctx)
    try:
        inside = t.put(binfile, "in.bin")
        t.run(["replay", "--collapsed", "-o", "theirs.txt", inside])
        theirs = _read(t.host("theirs.txt"))
    finally:
        t.cleanup()
    mine = _read(ours)
    check(mine == theirs, "strobe's and Tachyon's replays of %s differ:\n--- strobe\n%s\n--- Tachyon\n%s",
          binfile, mine[:800].decode("utf-8", "replace"), theirs[:800].decode("utf-8", "replace"))
    return Collapsed(ours)


@case("binary_interop", quick=True, engines=True)
def t_binary_interop(ctx):
    """--binary on every version: Tachyon's replay and strobe's give the same collapsed stacks"""
    out = ctx.path("prof.bin")
    p = ctx.strobe(["run", "-d", "1", "-a", "--binary", "-o", out] + ctx.run_args("spin.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    m = re.search(r"^Binary profile written to (.*) \((\d+) samples\)$", p.stdout, re.M)
    check(m and m.group(1) == out, "no 'Binary profile written to %s (N samples)' line:\n%s",
          out, p.stdout)
    check(re.search(r"^  Binary Encoding:$", p.stdout, re.M), "no Binary Encoding block")
    col = same_collapsed_as_tachyon(ctx, out)
    expect_stack(col, spin_stack(ctx.interp, ready["lines"]), ready["tid"], share=0.6)


@case("binary_uncompressed", engines="one")
def t_binary_uncompressed(ctx):
    """--compression none: a valid file Tachyon replays the same"""
    out = ctx.path("prof.bin")
    p = ctx.strobe(["run", "-d", "1", "--binary", "--compression", "none", "-o", out]
                   + ctx.run_args("chain.py"))
    p.message("ready")
    expect_success(p, duration=1)
    same_collapsed_as_tachyon(ctx, out)


@case("binary_interrupted", quick=True, engines="one")
def t_binary_interrupted(ctx):
    """Ctrl-C during --binary, and a target that exits: both leave complete files"""
    out = ctx.path("int.bin")
    p = ctx.strobe(["run", "--binary", "-o", out] + ctx.run_args("spin.py"))
    p.message("progress")
    p.send(signal.SIGINT)
    expect_success(p, timeout=15)
    same_collapsed_as_tachyon(ctx, out)
    out2 = ctx.path("exit.bin")
    p = ctx.strobe(["run", "--binary", "-o", out2] + ctx.run_args("spin.py"),
                   env=ctx.env(STROBE_EXIT_AFTER="1", STROBE_PROGRESS_AFTER="0.1"))
    p.message("ready")
    expect_success(p, timeout=30)
    same_collapsed_as_tachyon(ctx, out2)


OPCODE_DUMP = r"""
import collections, sys
from profiling.sampling.binary_reader import BinaryReader
class C:
    aggregating = False
    def __init__(self):
        self.c = collections.Counter()
    def collect(self, frames, timestamps_us=None):
        for interp in frames:
            for t in interp.threads:
                for depth, f in enumerate(t.frame_info[:2]):
                    self.c["%d %s %s" % (depth, f.funcname, f.opcode)] += len(timestamps_us or [0])
    def collect_failed_sample(self):
        pass
with BinaryReader(sys.argv[1]) as r:
    c = C()
    r.replay_samples(c)
    print(r.get_info()["capture_config"]["opcodes"])
for k, v in c.c.items():
    print(k, v)
"""

OPCODE_NAMES = r"""
import dis, sys
names = dict(enumerate(getattr(dis, "_all_opname", dis.opname)))
for n in sys.argv[1:]:
    print(n, names.get(int(n), "<%s>" % n))
"""


@case("binary_opcodes", quick=True, engines="one")
def t_binary_opcodes(ctx):
    """--binary --opcodes: each frame's executing opcode, named by the target's own dis module"""
    out = ctx.path("ops.bin")
    p = ctx.strobe(["run", "-d", "1", "--binary", "--opcodes", "-o", out] + ctx.run_args("native.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    t = Tachyon(ctx)
    try:
        inside = t.put(out, "ops.bin")
        with open(os.path.join(t.dir, "dump.py"), "w") as f:
            f.write(OPCODE_DUMP)
        lines = t.python(["dump.py", inside]).strip().splitlines()
    finally:
        t.cleanup()
    check(lines and lines[0] == "True", "the file does not record opcodes in its capture config")
    counts = {}
    for line in lines[1:]:
        key, n = line.rsplit(" ", 1)
        counts[key] = int(n)
    ops = sorted({k.rsplit(" ", 1)[1] for k in counts if k.split(" ")[1] in ("work", "main")})
    check(ops and "None" not in ops, "frames without opcodes: %s", sorted(counts)[:10])
    q = ctx.spawn(ctx.interp.command("-c", OPCODE_NAMES, *ops), ready=False, name="opnames")
    check(q.wait(30) == 0, "naming opcodes failed: %s", q.stderr[-300:])
    names = dict(l.split(" ", 1) for l in q.stdout.strip().splitlines())
    # the caller main() is in its CALL of map/list (3.11-3.12: never a CACHE unit)
    callers = {names[k.rsplit(" ", 1)[1]] for k in counts if k.startswith("1 main ")}
    check(callers and all(n.startswith(("CALL", "INSTRUMENTED_CALL", "PRECALL"))
                          for n in callers), "main() executes %s, not a call", sorted(callers))
    leaf = {names[k.rsplit(" ", 1)[1]] for k in counts if k.startswith("0 work ")}
    check(leaf and not any(n.startswith("<") or n == "CACHE" for n in leaf),
          "work() executes unknown opcodes: %s", sorted(leaf))


@case("binary_from_tachyon", kind="global")
def t_binary_from_tachyon(ctx):
    """a file Tachyon records (3.15, threads, zstd and not) replays in strobe as in Tachyon"""
    t = Tachyon(ctx)
    try:
        for target in ("threads.py", "chain.py"):
            host = os.path.join(os.path.dirname(__file__), "..", "targets")
            for f in os.listdir(host):
                if f.endswith(".py"):
                    t.put(os.path.join(host, f))
            for comp in ("zstd", "none"):
                name = "%s-%s.bin" % (target[:-3], comp)
                t.run(["run", "-d", "1", "-a", "--binary", "--compression", comp, "-o", name, target])
                t.run(["replay", "--collapsed", "-o", name + ".txt", name])
                theirs = _read(t.host(name + ".txt"))
                ours = ctx.path(name + ".txt")
                strobe_replay(ctx, t.host(name), ours)
                mine = _read(ours)
                check(mine == theirs, "replays of Tachyon's %s differ:\n--- strobe\n%s\n--- Tachyon\n%s",
                      name, mine[:800].decode("utf-8", "replace"),
                      theirs[:800].decode("utf-8", "replace"))
                check(Collapsed(ours).total > 0, "Tachyon's %s replayed to nothing", name)
    finally:
        t.cleanup()


@case("replay_errors", kind="global", quick=True)
def t_replay_errors(ctx):
    """replay of a missing file, a non-profile and a damaged profile: one line, exit 1"""
    missing = ctx.path("nope.bin")
    p = ctx.strobe(["replay", missing], ready=False)
    p.wait(30)
    check(one_line_error(p) == "Error: Input file not found: %s" % missing,
          "missing file: %r", p.stderr)
    text = ctx.path("text.bin")
    with open(text, "w") as f:
        f.write("not a profile\n" * 10)
    p = ctx.strobe(["replay", text], ready=False)
    p.wait(30)
    check(one_line_error(p) == "Error: Input file is not a binary sampling profile. The replay "
          "command only accepts files created with --binary", "non-profile: %r", p.stderr)
    # a real file cut in half
    good = ctx.path("good.bin")
    p = ctx.strobe(["run", "-d", "1", "--binary", "-o", good] + ctx.run_args("spin.py"))
    p.message("ready")
    expect_success(p, duration=1)
    data = _read(good)
    cut = ctx.path("cut.bin")
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2])
    p = ctx.strobe(["replay", cut], ready=False)
    p.wait(30)
    line = one_line_error(p)
    check(line.startswith("Error: "), "damaged file: %r", line)


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "binary")
# (flag, output name) of every format replay writes; --diff-flamegraph gets
# the file itself as its baseline
REPLAY_FORMATS = (("--pstats", "out.pstats"), ("--collapsed", "out.txt"),
                  ("--flamegraph", "out.html"), ("--diff-flamegraph", "diff.html"),
                  ("--gecko", "out.json"), ("--heatmap", "heatmap"), ("--jsonl", "out.jsonl"),
                  ("--speedscope", "out.json"), ("--pprof", "out.pb.gz"))


@case("replay_fixtures", kind="global", quick=True)
def t_replay_fixtures(ctx):
    """every binary fixture (Tachyon's files, good and damaged) replayed to every format: a
    good file gives every output and exit 0; a damaged one exit 1 with the same one-line
    error whatever the format, and no output left behind; never a crash"""
    names = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".bin"))
    check(len(names) >= 60, "only %d fixtures in %s", len(names), FIXTURES)
    for name in names:
        path = os.path.join(FIXTURES, name)
        verdicts = {}
        for flag, out in REPLAY_FORMATS:
            d = ctx.path("replay", name, flag.lstrip("-"))
            os.makedirs(d)
            args = [ctx.strobe_path, "replay", flag] + ([path] if flag == "--diff-flamegraph"
                                                        else []) + ["-o", os.path.join(d, out), path]
            p = subprocess.run(args, cwd=d, capture_output=True, text=True, timeout=120)
            where = "%s %s" % (name, flag)
            check(p.returncode in (0, 1), "%s: exit status %d\n%s", where, p.returncode,
                  p.stderr[-800:])
            err = [l for l in p.stderr.splitlines() if l.strip()]
            left = sorted(os.listdir(d))
            if p.returncode == 0:
                check(not err, "%s: exit 0 with stderr %r", where, err[:3])
                # Tachyon's HTML writers have nothing to draw without samples
                empty = "Replayed 0 samples" in p.stdout
                check(left == [out] or empty and flag in ("--flamegraph", "--diff-flamegraph",
                                                          "--heatmap") and not left,
                      "%s: wrote %s, expected %s", where, left, out)
                verdicts[flag] = "ok"
            else:
                check(len(err) == 1 and err[0].startswith("Error: "),
                      "%s: exit 1 without one 'Error: ' line: %r", where, err[:3])
                check(not left, "%s: failed but left %s behind", where, left)
                verdicts[flag] = err[0]
        check(len(set(verdicts.values())) == 1, "%s: formats disagree: %s", name, verdicts)
        ok = verdicts["--collapsed"] == "ok"
        check(ok == (not name.startswith("bad_")), "%s: %s", name, verdicts["--collapsed"])
    ctx.notes.append("%d fixtures x %d formats" % (len(names), len(REPLAY_FORMATS)))


@case("realtime_stats", kind="global")
def t_realtime_stats(ctx):
    """--realtime-stats prints live 'Stats: ...Hz' lines and still the summary"""
    p, ready, out = run_collapsed(ctx, "chain.py", opts=("-d", "2", "--realtime-stats"))
    expect_success(p, duration=2)
    check(re.search(r"Stats: .*Hz", p.stdout + p.stderr), "no 'Stats: ...Hz' line")
    Collapsed(out)


@case("rate_duration", kind="global", exclusive=True)
def t_rate_duration(ctx):
    """-r 250 -d 2: about 500 samples in about 2 s (absolute schedule, no drift)"""
    p, ready, out = run_collapsed(ctx, "chain.py", opts=("-r", "250", "-d", "2"))
    s = expect_success(p, duration=2, rate=250)
    ctx.notes.append("summary: %s" % s)
    check(1.9 <= s["seconds"] <= 2.5, "%.2f s for -d 2", s["seconds"])
    check(0.9 * 250 * s["seconds"] <= s["samples"] <= 250 * s["seconds"] + 3,
          "%d samples in %.2f s at 250 Hz", s["samples"], s["seconds"])
    check(200 <= s["rate"] <= 260, "sample rate %.1f for -r 250", s["rate"])
    check(s["error_rate"] < 5, "error rate %.2f%% on a target that holds still", s["error_rate"])
    check(Collapsed(out).total <= s["samples"], "more stacks than samples")


@case("high_rate", kind="global", exclusive=True)
def t_high_rate(ctx):
    """-r 10khz -d 1 reaches at least 60% of the requested rate"""
    p, ready, out = run_collapsed(ctx, "chain.py", opts=("-r", "10khz", "-d", "1"))
    s = expect_success(p, duration=1, rate=10000)
    ctx.notes.append("summary: %s" % s)
    check(s["samples"] >= 0.6 * 10000 * s["seconds"], "%d samples in %.2f s at 10 kHz",
          s["samples"], s["seconds"])
    expect_stack(Collapsed(out), chain_stack(ctx.interp, ready["lines"]), ready["tid"])
