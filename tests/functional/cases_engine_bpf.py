"""--engine bpf (docs/bpf-engine.md): a BPF program on a per-thread
cpu-clock perf event walks the frame chain in the kernel; strobe decodes the
records with the walker.  Same outputs and summary as the reader; --mode
cpu, wall (a sched_switch program copies a thread's stack as it leaves its
CPU, its time off CPU credited as samples of it), gil and exception.  Needs
root (CI runs as root): CAP_BPF and CAP_PERFMON."""
import json
import re

from cases import (case, chain_stack, check_gc_frames, expect_only_tids, expect_stack,
                   expect_success, run_collapsed, spin_stack)
from harness import Collapsed, check, fn, frame, one_line_error, strip_runpy

# strobe without the capabilities BPF needs (out of the bounding set, so
# root's exec does not get them; CAP_SYS_PTRACE stays, so the reader still
# works): CAP_SYS_ADMIN would allow BPF too
NO_BPF = ["setpriv", "--bounding-set", "-bpf,-perfmon,-sys_admin"]


def attach_collapsed(ctx, pid, engine, out, seconds=2, extra=(), mode="cpu"):
    p = ctx.strobe(["attach", "--engine", engine, "--mode", mode, "-d", str(seconds),
                    "--collapsed", "-o", ctx.path(out)] + list(extra) + [str(pid)], ready=False)
    s = expect_success(p, timeout=60)
    return p, s, Collapsed(ctx.path(out))


@case("engine_bpf_cpu", quick=True, debug=True)
def t_engine_bpf_cpu(ctx):
    """--engine bpf --mode cpu on a spinning target: its stack dominates, as with the reader"""
    tgt, ready = ctx.start_target("spin.py")
    tgt.message("progress")  # on its second loop (@spin2) from now on
    it, L = ctx.interp, ready["lines"]
    p, s, col = attach_collapsed(ctx, ready["pid"], "bpf", "bpf.txt")
    check(s["error_rate"] < 1, "error rate %.2f%% with --engine bpf", s["error_rate"])
    # a cpu-clock event counts the thread's CPU time: a spinning thread on
    # a loaded 2-core host gets half of a core or more
    check(s["samples"] >= 0.3 * 1000 * 2, "only %d samples in 2 s at 1 kHz", s["samples"])
    check(set(col.tids()) == {ready["tid"]}, "thread ids %s, expected %s",
          sorted(col.tids()), [ready["tid"]])
    expect_stack(col, spin_stack(it, L), ready["tid"])
    mine = col.count(lambda t, fr: fr[-1].startswith("spin.py:%s:" % fn(it, "spin")))
    check(mine >= 0.95 * col.total, "only %d of %d samples in spin()\n%s", mine, col.total,
          "\n".join(col.summary()))
    # the reader on the same target sees the same stack on top
    p2, s2, col2 = attach_collapsed(ctx, ready["pid"], "reader", "reader.txt")
    check(col2.top(ready["tid"])[0] == col.top(ready["tid"])[0],
          "the reader's top stack differs:\n  bpf    %s\n  reader %s",
          ";".join(col.top(ready["tid"])[0]), ";".join(col2.top(ready["tid"])[0]))


@case("engine_bpf_threads")
def t_engine_bpf_threads(ctx):
    """--engine bpf -a: each spinning worker's samples carry its own tid and whole stack"""
    tgt, ready = ctx.start_target("threads.py")
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    p, s, col = attach_collapsed(ctx, ready["pid"], "bpf", "out.txt", extra=["-a"])
    check(s["error_rate"] < 1, "error rate %.2f%% with --engine bpf", s["error_rate"])
    check(set(col.tids()) <= set(tids.values()), "thread ids %s, not among %s",
          sorted(col.tids()), sorted(tids.values()))
    for role in ("spin_a", "spin_b"):
        leaf = frame(it, "threads.py", "Workers." + role, L[role])
        n = col.count(lambda t, fr: t == tids[role])
        on = col.count(lambda t, fr: t == tids[role] and fr[-1] == leaf
                       and fr[0].startswith("threading.py:"))
        check(n >= 100, "only %d samples of %s\n%s", n, role, "\n".join(col.summary()))
        check(on >= 0.9 * n, "only %d of %d samples of %s are whole stacks ending in %s\n%s",
              on, n, role, leaf, "\n".join(col.summary()))


def samples_of(col, tid):
    return col.count(lambda t, fr: t == tid)


def stat_count(stdout, name):
    """The first number after 'name:' in --realtime-stats' lines."""
    m = re.search(r"^\s*%s:\s+(\d+)" % re.escape(name), stdout, re.M)
    check(m, "no '%s:' line in --realtime-stats' output:\n%s", name, stdout)
    return int(m.group(1))


@case("engine_bpf_gil", debug=True)
def t_engine_bpf_gil(ctx):
    """--engine bpf --mode gil: a thread busy without the GIL (hashing) is left out, one
    spinning in Python kept, as with the reader; the summary counts only what was kept"""
    tgt, ready = ctx.start_target("gil_free.py")
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    spin, hasher = tids["spin"], tids["hash"]
    # cpu mode: the hasher does run (without this, its absence below says nothing)
    p, s, cpu = attach_collapsed(ctx, ready["pid"], "bpf", "cpu.txt", extra=["-a"])
    check(samples_of(cpu, hasher) >= 100, "--mode cpu: only %d samples of the hashing "
          "thread in 2 s\n%s", samples_of(cpu, hasher), "\n".join(cpu.summary()))
    # gil mode: the spinner, hardly ever the hasher
    p, s, col = attach_collapsed(ctx, ready["pid"], "bpf", "gil.txt", mode="gil",
                                 extra=["-a", "--realtime-stats"])
    check(s["error_rate"] < 1, "error rate %.2f%% with --engine bpf", s["error_rate"])
    n_spin, n_hash = samples_of(col, spin), samples_of(col, hasher)
    check(n_spin >= 100, "--mode gil: only %d samples of the spinning thread\n%s", n_spin,
          "\n".join(col.summary()))
    check(n_hash <= 0.05 * n_spin, "--mode gil: the hashing thread (no GIL) has %d samples, "
          "the spinner %d\n%s", n_hash, n_spin, "\n".join(col.summary()))
    leaf = frame(it, "gil_free.py", "Workers.spin", L["spin"])
    on = col.count(lambda t, fr: t == spin and fr[-1] == leaf)
    check(on >= 0.9 * n_spin, "only %d of %d samples of the spinner end in %s\n%s", on, n_spin,
          leaf, "\n".join(col.summary()))
    # the counts: the summary's samples are ticks, as the reader's: the
    # samples of the thread sampled most (kept or left out: one GIL holder
    # a tick, so about a stack a tick); "Taken" counts every thread's
    left = stat_count(p.stdout, "Left out by mode")
    taken = stat_count(p.stdout, "Taken")
    check(0.5 * s["samples"] <= col.total <= s["samples"] * 1.05 + 5 and
          s["samples"] <= taken + left, "%d stacks written, %d samples (ticks) in the summary, "
          "%d taken, %d left out", col.total, s["samples"], taken, left)
    check(left >= 0.5 * samples_of(cpu, hasher), "only %d records left out (the hasher had %d "
          "samples in cpu mode)", left, samples_of(cpu, hasher))
    # the reader's --mode gil on the same target agrees
    p2, s2, rd = attach_collapsed(ctx, ready["pid"], "reader", "reader.txt", mode="gil",
                                  extra=["-a"])
    r_spin, r_hash = samples_of(rd, spin), samples_of(rd, hasher)
    check(r_spin >= 100 and r_hash <= 0.05 * r_spin, "the reader's --mode gil: spinner %d, "
          "hasher %d\n%s", r_spin, r_hash, "\n".join(rd.summary()))
    check(rd.top(spin)[0] == col.top(spin)[0], "the reader's top stack differs:\n  bpf    %s\n"
          "  reader %s", ";".join(col.top(spin)[0]), ";".join(rd.top(spin)[0]))


@case("engine_bpf_gc", debug=True)
def t_engine_bpf_gc(ctx):
    """--engine bpf: <GC> frames where the reader puts them (on top of the GIL holder before
    3.15, at the collection's start after) in cpu and gil modes, where the program reads the GIL
    only while the collector runs or always (gc_frames+bpf: wall mode, --no-gc)"""
    for mode in ("cpu", "gil"):
        p, ready, out = run_collapsed(ctx, "gc_target.py", out=mode + ".txt",
                                      opts=("-d", "1", "--engine", "bpf", "--mode", mode))
        expect_success(p)
        check_gc_frames(ctx, ready, Collapsed(out), "--mode %s: " % mode)


@case("engine_bpf_refusals", kind="global", quick=True)
def t_engine_bpf_refusals(ctx):
    """--engine bpf: what needs the reader's loop is a usage error; no capability is one line;
    auto falls back"""
    tgt, ready = ctx.start_target("spin.py")
    pid = str(ready["pid"])
    # what needs the reader's own loop is a usage error
    p = ctx.strobe(["attach", "--engine", "bpf", "--blocking", "-d", "1", pid], ready=False)
    p.wait(30)
    check(p.rc == 2, "--engine bpf --blocking: exit status %s, expected 2", p.rc)
    last = [l for l in p.stderr.splitlines() if l.strip()][-1:]
    check(last and "error:" in last[0] and "--engine bpf" in last[0] and "--blocking" in last[0],
          "the error line does not name --engine bpf and --blocking:\n%s", p.stderr)
    # without CAP_BPF/CAP_PERFMON: one line naming them, no output file
    out = ctx.path("nocap.txt")
    p = ctx.strobe(["attach", "--engine", "bpf", "--mode", "cpu", "-d", "1", "--collapsed",
                    "-o", out, pid], ready=False, prefix=NO_BPF)
    p.wait(30)
    line = one_line_error(p, 1)
    check("CAP_BPF" in line and "CAP_PERFMON" in line, "the line does not name the "
          "capabilities: %s", line)
    check(not re.search(r"Captured", p.stdout), "a summary after the refusal:\n%s", p.stdout)
    # auto: says so once, samples with the reader
    p = ctx.strobe(["attach", "--engine", "auto", "--mode", "cpu", "-d", "1", "--collapsed",
                    "-o", out, pid], ready=False, prefix=NO_BPF)
    s = expect_success(p, timeout=60)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(len(lines) == 1 and "--engine auto" in lines[0] and "reader" in lines[0]
          and "CAP_BPF" in lines[0], "auto's fallback, expected one line:\n%s", p.stderr)
    col = Collapsed(out)
    check(col.total > 0, "no samples from the reader")
    # auto with an option the bpf engine does not take (--blocking: the
    # threads paused around each sample): the reader, said once, naming it
    p = ctx.strobe(["attach", "--engine", "auto", "-d", "1", "--blocking", "--realtime-stats",
                    "--collapsed", "-o", ctx.path("b.txt"), pid], ready=False)
    expect_success(p, timeout=60)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(len(lines) == 1 and "--engine auto" in lines[0] and "--blocking" in lines[0],
          "auto with --blocking, expected one line naming it:\n%s", p.stderr)
    check("BPF Engine:" not in p.stdout, "auto with --blocking sampled with bpf:\n%s", p.stdout)
    # auto with --gecko (every thread's status, gecko's internal all mode):
    # bpf, nothing said
    p = ctx.strobe(["attach", "--engine", "auto", "-d", "1", "--gecko", "--realtime-stats",
                    "-o", ctx.path("g.json"), pid], ready=False)
    expect_success(p, timeout=60)
    check(not p.stderr.strip(), "auto with --gecko said:\n%s", p.stderr)
    check("BPF Engine:" in p.stdout, "auto with --gecko did not sample with bpf:\n%s",
          p.stdout[-800:])


@case("engine_bpf_recursion", debug=True)
def t_engine_bpf_recursion(ctx):
    """--engine bpf: a 600-deep recursion (ten records a sample) comes out whole"""
    tgt, ready = ctx.start_target("recursion.py")
    it, L, depth = ctx.interp, ready["lines"], ready["depth"]
    check(depth == 600, "target recursed %d deep", depth)
    p, s, col = attach_collapsed(ctx, ready["pid"], "bpf", "out.txt", seconds=1)
    check(s["error_rate"] < 1, "error rate %.2f%% with --engine bpf", s["error_rate"])
    expected = ([frame(it, "recursion.py", "<module>", L["module"]),
                 frame(it, "recursion.py", "main", L["main"])]
                + [frame(it, "recursion.py", "recurse", L["rec"])] * (depth - 1)
                + [frame(it, "recursion.py", "recurse", L["base"]),
                   frame(it, "recursion.py", "hold", L["hold"])])
    expect_stack(col, expected, ready["tid"], share=0.98)


@case("engine_bpf_run_chain")
def t_engine_bpf_run_chain(ctx):
    """run --engine bpf: from the interpreter's start, the exact chain through method, closure,
    staticmethod, lambda"""
    p, ready, out = run_collapsed(ctx, "chain.py", opts=("-d", "2", "--mode", "cpu",
                                                         "--engine", "bpf"))
    s = expect_success(p)
    col = Collapsed(out)
    expect_only_tids(col, [ready["tid"]])
    check(col.total <= s["samples"], "%d stacks from %d samples", col.total, s["samples"])
    expect_stack(col, chain_stack(ctx.interp, ready["lines"]), ready["tid"])


# ---------------------------------------------------------------------------
# wall mode: every thread, on CPU or off, gets the rate's samples

WALL_ROLES = ("main", "sleeper", "spinner", "selector", "locker")


def wall_leaf(it, L, role):
    return frame(it, "wall.py", "main" if role == "main" else role,
                 L["main_wait" if role == "main" else role])


def check_wall_counts(col, s, tids, roles, low=0.85, high=1.1, rate=1000):
    """Each thread of roles has rate x duration samples (time off CPU
    missing or counted twice is far outside), most of them at its leaf."""
    want = rate * s["seconds"]
    per = col.tids()
    for role in roles:
        n = per.get(tids[role], 0)
        check(low * want <= n <= high * want, "%s (tid %d): %d samples in %.2f s at %d Hz, "
              "expected %d-%d\n%s", role, tids[role], n, s["seconds"], rate, low * want,
              high * want, "\n".join(col.summary(10)))


def check_wall_leaves(col, it, L, tids, roles, share=0.9):
    for role in roles:
        leaf = wall_leaf(it, L, role)
        n = col.count(lambda t, fr: t == tids[role])
        at = col.count(lambda t, fr: t == tids[role] and fr[-1] == leaf)
        check(at >= share * n, "only %d of %d samples of %s end in %s\n%s", at, n, role, leaf,
              "\n".join(col.summary(10)))


@case("engine_bpf_wall_threads", debug=True)
def t_engine_bpf_wall_threads(ctx):
    """--engine bpf wall -a: sleeping, spinning, select- and lock-blocked threads each get rate x
    duration samples of their stacks, the reader's shares and top stacks; an ended thread no
    credit past its end"""
    tgt, ready = ctx.start_target("wall.py", STROBE_BRIEF_S="1.0")
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    p, s, col = attach_collapsed(ctx, ready["pid"], "bpf", "bpf.txt", mode="wall", extra=["-a"])
    check(s["error_rate"] < 1, "error rate %.2f%% with --engine bpf", s["error_rate"])
    check(set(col.tids()) <= set(tids.values()), "thread ids %s, not among %s",
          sorted(col.tids()), sorted(tids.values()))
    check_wall_counts(col, s, tids, WALL_ROLES)
    check_wall_leaves(col, it, L, tids, WALL_ROLES + ("brief",))
    # the brief thread slept 1 s from "ready" and ended: not much more than
    # that (its wait for the GIL and a CPU after the nap counts: 1.09 s
    # seen on the loaded host), far from the 2 s of the run
    nb = col.tids().get(tids["brief"], 0)
    check(50 <= nb <= 1200, "the thread that ended after 1 s has %d samples\n%s", nb,
          "\n".join(col.summary(10)))
    # the reader in wall mode on the same target: the same shares and top stacks
    p2, s2, col2 = attach_collapsed(ctx, ready["pid"], "reader", "reader.txt", mode="wall",
                                    extra=["-a"])
    per, per2 = col.tids(), col2.tids()
    tot = sum(per.get(tids[r], 0) for r in WALL_ROLES)
    tot2 = sum(per2.get(tids[r], 0) for r in WALL_ROLES)
    for role in WALL_ROLES:
        a, b = per.get(tids[role], 0) / max(tot, 1), per2.get(tids[role], 0) / max(tot2, 1)
        check(abs(a - b) <= 0.05, "%s's share: bpf %.3f, reader %.3f\n%s\n%s", role, a, b,
              "\n".join(col.summary(10)), "\n".join(col2.summary(10)))
        check(strip_runpy(col.top(tids[role])[0]) == strip_runpy(col2.top(tids[role])[0]),
              "%s's top stack:\n  bpf    %s\n  reader %s", role, ";".join(col.top(tids[role])[0]),
              ";".join(col2.top(tids[role])[0]))


@case("engine_bpf_wall_main", debug=True)
def t_engine_bpf_wall_main(ctx):
    """--engine bpf wall without -a: the main thread alone, napping, gets rate x duration samples
    of its nap"""
    tgt, ready = ctx.start_target("wall.py")
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    p, s, col = attach_collapsed(ctx, ready["pid"], "bpf", "bpf.txt", mode="wall")
    check(s["error_rate"] < 1, "error rate %.2f%% with --engine bpf", s["error_rate"])
    expect_only_tids(col, [tids["main"]])
    check_wall_counts(col, s, tids, ("main",))
    check_wall_leaves(col, it, L, tids, ("main",))


@case("engine_bpf_wall_run")
def t_engine_bpf_wall_run(ctx):
    """run --engine bpf (wall, the default) -a from the interpreter's start: threads that appear
    are followed, asleep or not, none past rate x duration"""
    p, ready, out = run_collapsed(ctx, "wall.py", opts=("-d", "3", "-a", "--engine", "bpf"),
                                  env=ctx.env(STROBE_BRIEF_S="0.5"))
    s = expect_success(p, timeout=60)
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    col = Collapsed(out)
    check(set(col.tids()) <= set(tids.values()), "thread ids %s, not among %s",
          sorted(col.tids()), sorted(tids.values()))
    # the workers start after the interpreter's start-up and each other
    check_wall_counts(col, s, tids, WALL_ROLES, low=0.5)
    check_wall_leaves(col, it, L, tids, WALL_ROLES, share=0.8)
    for role in ("sleeper", "selector", "locker"):
        fr = strip_runpy(col.top(tids[role])[0])
        check(fr[0].startswith("threading.py:") and fr[-1] == wall_leaf(it, L, role),
              "%s's top stack: %s", role, ";".join(fr))


@case("engine_bpf_wall_target_exits")
def t_engine_bpf_wall_target_exits(ctx):
    """--engine bpf wall -a: the target exits mid-profile - strobe ends with it, no thread credited
    past its end"""
    tgt, ready = ctx.start_target("wall.py", STROBE_PROCESS_TIMEOUT="3")
    tids = ready["threads"]
    p, s, col = attach_collapsed(ctx, ready["pid"], "bpf", "bpf.txt", seconds=10, mode="wall",
                                 extra=["-a"])
    check(s["seconds"] < 5, "strobe ran %.2f s on a target that exited after 3 s", s["seconds"])
    per = col.tids()
    for role in WALL_ROLES:
        n = per.get(tids[role], 0)
        # what it lived while watched: up to strobe's own end
        check(0.5 * 1000 * s["seconds"] <= n <= 1000 * s["seconds"] * 1.02 + 5,
              "%s: %d samples in the %.2f s strobe ran\n%s", role, n, s["seconds"],
              "\n".join(col.summary(10)))


@case("engine_bpf_wall_times")
def t_engine_bpf_wall_times(ctx):
    """--engine bpf wall -a --binary, replayed to gecko: each thread's samples in time order, one
    interval apart, on CPU or off (time off CPU is not stamped at the drain)"""
    tgt, ready = ctx.start_target("wall.py")
    tids = ready["threads"]
    out, g = ctx.path("out.bin"), ctx.path("out.json")
    p = ctx.strobe(["attach", "--engine", "bpf", "-a", "-d", "2", "--binary", "-o", out,
                    str(ready["pid"])], ready=False)
    expect_success(p, timeout=60)
    p = ctx.strobe(["replay", "--gecko", "-o", g, out], ready=False)
    check(p.wait(60) == 0, "replay --gecko exited with status %s:\n%s", p.rc, p.stderr)
    with open(g) as f:
        threads = {str(t.get("tid")): t for t in json.load(f)["threads"]}
    for role in WALL_ROLES:
        t = threads.get(str(tids[role]))
        check(t is not None, "no thread %s (tid %d) in the replay: %s", role, tids[role],
              sorted(threads))
        s = t["samples"]
        times = s["time"] if "time" in s else [r[s["schema"]["time"]] for r in s["data"]]
        check(len(times) >= 1500, "%s: %d samples", role, len(times))
        gaps = [b - a for a, b in zip(times, times[1:])]
        check(min(gaps) >= 0, "%s: samples out of time order", role)
        far = sum(1 for d in gaps if d > 3.0)
        check(far <= 0.02 * len(gaps), "%s: %d of %d gaps between samples over 3 ms (largest "
              "%.1f ms)", role, far, len(gaps), max(gaps))
def churn_rates(ctx, script, args, same_basenames=False):
    """Attach --engine bpf then the reader (2 s each, --mode cpu) to a
    target whose code objects live for under a millisecond; returns both
    runs' (summary, Collapsed) and the ready message.  same_basenames: the
    target runs files of one name from several directories (packages'
    __init__.py), whose stacks the collapsed format keeps apart under the
    same text."""
    tgt, ready = ctx.start_target(script, args)
    runs = []
    for engine in ("bpf", "reader"):
        out = ctx.path(engine + ".txt")
        p = ctx.strobe(["attach", "--engine", engine, "--mode", "cpu", "-d", "2", "--collapsed",
                        "-o", out, str(ready["pid"])], ready=False)
        s = expect_success(p, timeout=60)
        runs.append((s, Collapsed(out, same_basenames=same_basenames)))
    return ready, runs[0], runs[1]


@case("engine_bpf_code_churn", debug=True)
def t_engine_bpf_code_churn(ctx):
    """--engine bpf on exec(compile(...)) churn: the code objects, freed within a millisecond,
    are resolved from the program's copies (under 0.5% failed samples, as the reader)"""
    ready, (s, col), (s2, col2) = churn_rates(ctx, "exec_churn.py", ("30",))
    it, L, tid = ctx.interp, ready["lines"], ready["tid"]
    check(s["samples"] >= 300, "only %d samples", s["samples"])
    check(s["error_rate"] < 0.5, "%.2f%% failed samples with --engine bpf (the reader: %.2f%%)",
          s["error_rate"], s2["error_rate"])
    prefix = [frame(it, "exec_churn.py", "<module>", L["module"]),
              frame(it, "exec_churn.py", "churn", L["exec"]),
              frame(it, "churn_src", "<module>", 5)]
    loop = (frame(it, "churn_src", "churned", 3), frame(it, "churn_src", "churned", 4))
    n = col.count(lambda t, fr: t == tid and fr[-1] in loop and fr[:-1] == prefix)
    check(n >= 0.1 * col.total, "only %d of %d samples in churned() under churn()\n%s", n,
          col.total, "\n".join(col.summary()))


@case("engine_bpf_code_idle")
def t_engine_bpf_code_idle(ctx):
    """--engine bpf, a code object run again after a nap, then freed: the samples of its second
    run come with copies (its entry idle, the code cache revalidates it; it once stayed known
    to the program, uncopied, and 30% of the samples failed)"""
    tgt, ready = ctx.start_target("code_idle.py", ("30",))
    it, L, tid = ctx.interp, ready["lines"], ready["tid"]
    p, s, col = attach_collapsed(ctx, ready["pid"], "bpf", "bpf.txt", extra=["-r", "10khz"])
    check(s["samples"] >= 300, "only %d samples", s["samples"])
    check(s["error_rate"] < 3, "%.2f%% failed samples with --engine bpf", s["error_rate"])
    loop = (frame(it, "idle_src", "idler", 3), frame(it, "idle_src", "idler", 4))
    runs = {}
    for run in ("first", "again"):
        at = frame(it, "code_idle.py", "rounds", L[run])
        runs[run] = col.count(lambda t, fr: t == tid and at in fr and fr[-1] in loop)
    check(runs["again"] >= 0.2 * col.total and runs["first"] >= 0.2 * col.total,
          "idler's samples: %d in its first run, %d in its second, of %d\n%s", runs["first"],
          runs["again"], col.total, "\n".join(col.summary()))


@case("engine_bpf_import_storm")
def t_engine_bpf_import_storm(ctx):
    """--engine bpf on an import loop (module bodies' code objects freed as soon as they ran):
    under 0.5% failed samples, as the reader"""
    ready, (s, col), (s2, col2) = churn_rates(ctx, "imports.py", ("30",), same_basenames=True)
    it, L, tid = ctx.interp, ready["lines"], ready["tid"]
    check(s["samples"] >= 300, "only %d samples", s["samples"])
    check(s["error_rate"] < 0.5, "%.2f%% failed samples with --engine bpf (the reader: %.2f%%)",
          s["error_rate"], s2["error_rate"])
    at = frame(it, "imports.py", "storm", L["import"])
    n = col.count(lambda t, fr: t == tid and at in fr)
    check(n >= 0.5 * col.total, "only %d of %d samples under storm()'s import\n%s", n,
          col.total, "\n".join(col.summary()))


@case("engine_bpf_exec")
def t_engine_bpf_exec(ctx):
    """--engine bpf, a target that os.execv's its interpreter: the program is set anew for the new
    image (the addresses it was given moved), so both halves are sampled - gil mode's GIL holder
    read at its new place, wall mode's threads known again at once"""
    it = ctx.interp
    for mode in ("gil", "wall"):
        out = ctx.path("out-%s.txt" % mode)
        p = ctx.strobe(["run", "--engine", "bpf", "--mode", mode, "--collapsed", "-o", out]
                       + ctx.run_args("children.py", ["exec-before"]), ready=False)
        s = expect_success(p, timeout=60)
        col = Collapsed(out)
        # each half spins 0.5 s holding the GIL: 500 samples at 1 kHz in
        # either mode (the first may lose the program's start-up)
        for func, least in (("before_exec", 200), ("after_exec", 350)):
            n = col.count(lambda t, fr: fr[-1].startswith("children.py:%s:" % fn(it, func)))
            check(n >= least, "--mode %s: %d samples in %s (want >= %d)\n%s", mode, n, func,
                  least, "\n".join(col.summary(10)))
        # the samples between the exec and the new runtime's discovery fail,
        # no more (before the program was set anew: every one after it)
        unreadable = s["failed_by"].get("thread state unreadable", 0.0)
        check(unreadable < 15.0, "--mode %s: %.1f%% of samples failed as thread state unreadable",
              mode, unreadable)
