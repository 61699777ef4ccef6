"""--engine bpf (docs/bpf-engine.md): a BPF program on a per-thread
cpu-clock perf event walks the frame chain in the kernel; strobe decodes the
records with the walker.  Same outputs and summary as the reader; only
--mode cpu so far.  Needs root (CI runs as root): CAP_BPF and CAP_PERFMON."""
import re

from cases import (case, chain_stack, expect_only_tids, expect_stack, expect_success,
                   run_collapsed, spin_stack)
from harness import Collapsed, check, fn, frame, one_line_error

# strobe without the capabilities BPF needs (out of the bounding set, so
# root's exec does not get them; CAP_SYS_PTRACE stays, so the reader still
# works): CAP_SYS_ADMIN would allow BPF too
NO_BPF = ["setpriv", "--bounding-set", "-bpf,-perfmon,-sys_admin"]


def attach_collapsed(ctx, pid, engine, out, seconds=2, extra=()):
    p = ctx.strobe(["attach", "--engine", engine, "--mode", "cpu", "-d", str(seconds),
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


@case("engine_bpf_refusals", kind="global", quick=True)
def t_engine_bpf_refusals(ctx):
    """--engine bpf: another mode is a usage error; no capability is one line; auto falls back"""
    tgt, ready = ctx.start_target("spin.py")
    pid = str(ready["pid"])
    p = ctx.strobe(["attach", "--engine", "bpf", "-d", "1", pid], ready=False)
    p.wait(30)
    check(p.rc == 2, "--engine bpf in wall mode: exit status %s, expected 2", p.rc)
    last = [l for l in p.stderr.splitlines() if l.strip()][-1:]
    check(last and "error:" in last[0] and "--engine bpf" in last[0] and "cpu" in last[0],
          "the error line does not name --engine bpf and cpu:\n%s", p.stderr)
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
    # auto in wall mode: the reader, said once
    p = ctx.strobe(["attach", "--engine", "auto", "-d", "1", "--collapsed", "-o", out, pid],
                   ready=False)
    expect_success(p, timeout=60)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(len(lines) == 1 and "--engine auto" in lines[0], "auto in wall mode, expected one "
          "line:\n%s", p.stderr)


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
