"""Interpreter shutdown: once the atexit callbacks have run, the thread that
runs Py_FinalizeEx has no Python frames left but still works (the last
collections, module teardown, the finalizers these call).  strobe roots
those samples in a synthetic <shutdown> frame, with <GC> above it while the
collector runs (docs/thread-status.md, "Interpreter shutdown"); a bare root
<GC> would claim a collection with nothing below it.

Tachyon has no such frame (it counts these samples as failed), so the
Tachyon shim cannot pass these cases."""
from cases import case, expect_success, run_collapsed
from harness import Collapsed, check, frame, strip_runpy

# bare <GC> samples allowed: the start-up's collection (see check_shutdown)
STARTUP_GC = 3


def check_shutdown(ctx, ready, col, gc):
    """The samples of shutdown.py: work() before the end as always, then
    <shutdown> at the root of every shutdown sample and nowhere else."""
    it, L = ctx.interp, ready["lines"]
    summary = "\n".join(col.summary())
    # A collection that runs while the interpreter starts, before its first
    # Python frame, is a bare <GC> rightly (seen as the very first sample
    # of a launched 3.8-3.10 in about 1 run of 30: gecko's timeline put it
    # at t=0, before the bootstrap's first frame).  A shutdown missing its
    # root shows as dozens (its collections take 40-100 samples here).
    bare_gc = col.count(lambda t, fr: fr[0] == "<GC>")
    check(bare_gc <= STARTUP_GC, "%d samples with a bare root <GC>\n%s", bare_gc, summary)
    inside = col.count(lambda t, fr: "<shutdown>" in fr[1:])
    check(inside == 0, "%d samples with <shutdown> above the root\n%s", inside, summary)

    # before the end: unaffected
    module = frame(it, "shutdown.py", "<module>", L["module"])
    work = frame(it, "shutdown.py", "work", L["work"])
    in_work = col.count(lambda t, fr: work in fr)
    exact = col.count(lambda t, fr: strip_runpy(fr) == [module, work])
    check(in_work >= 100, "only %d samples in work()\n%s", in_work, summary)
    check(exact >= 0.9 * in_work, "%d of %d samples in work() are <module>;work\n%s", exact,
          in_work, summary)

    # the collector of the end, and nothing else, under <shutdown>
    alone = ["<shutdown>", "<GC>"] if gc else ["<shutdown>"]
    n = col.count(lambda t, fr: fr == alone)
    check(n >= 10, "only %d samples of %s (the last collection)\n%s", n, ";".join(alone), summary)
    if not gc:
        check(col.count(lambda t, fr: "<GC>" in fr) == 0, "<GC> frames with --no-gc\n%s", summary)

    # a finalizer run by the shutdown sits on the <shutdown> root
    dl = frame(it, "shutdown.py", "Slow.__del__", L["del"])
    dels = col.count(lambda t, fr: dl in fr)
    rooted = col.count(lambda t, fr: dl in fr and fr[0] == "<shutdown>" and fr[1] in (dl, "<GC>"))
    check(dels >= 20, "only %d samples in Slow.__del__\n%s", dels, summary)
    check(rooted == dels, "%d of %d samples in Slow.__del__ have it right above <shutdown>\n%s",
          rooted, dels, summary)


@case("shutdown_root", quick=True, engines=True)
def t_shutdown_root(ctx):
    """interpreter shutdown under a <shutdown> root, <GC> above it, no bare root <GC> but the start-up's"""
    # no -d: strobe samples until the target has exited by itself
    p, ready, out = run_collapsed(ctx, "shutdown.py", opts=())
    expect_success(p)
    check_shutdown(ctx, ready, Collapsed(out), gc=True)
    # every thread (the words come with the interpreter's read), no <GC>
    p, ready, out = run_collapsed(ctx, "shutdown.py", opts=("-a", "--no-gc"), out="all.txt")
    expect_success(p)
    check_shutdown(ctx, ready, Collapsed(out), gc=False)


@case("shutdown_subinterp", quick=True, versions=[(3, 12), (3, 13), (3, 14), (3, 15)])
def t_shutdown_subinterp(ctx):
    """-a: a subinterpreter's end (Py_EndInterpreter) under <shutdown> too, its caller unaffected (3.12+)"""
    # 3.8-3.11 record no thread for a subinterpreter's end (docs/thread-status.md).
    # Not with --engine bpf: its program follows one thread state per OS
    # thread (the oldest, the main interpreter's waiting in run_sub), so a
    # subinterpreter run on that thread shows only while a thread look
    # names its state (docs/bpf-engine.md, "Not built")
    p, ready, out = run_collapsed(ctx, "subinterp_end.py", opts=("-a",))
    expect_success(p)
    col = Collapsed(out)
    summary = "\n".join(col.summary())
    check(col.count(lambda t, fr: fr[0] == "<GC>") <= STARTUP_GC,
          "samples with a bare root <GC>\n%s", summary)
    check(col.count(lambda t, fr: "<shutdown>" in fr[1:]) == 0,
          "<shutdown> above the root\n%s", summary)
    n = col.count(lambda t, fr: fr == ["<shutdown>", "<GC>"])
    check(n >= 10, "only %d samples of <shutdown>;<GC> (the subinterpreter's last collection)\n%s",
          n, summary)
    # the main interpreter's thread state waits in run_sub() meanwhile
    it, L = ctx.interp, ready["lines"]
    caller = [frame(it, "subinterp_end.py", "<module>", L["module"]),
              frame(it, "subinterp_end.py", "run_sub", L["sub"])]
    waiting = col.count(lambda t, fr: strip_runpy(fr) == caller)
    check(waiting >= n, "only %d samples of <module>;run_sub, %d of the subinterpreter's end\n%s",
          waiting, n, summary)
    check(col.count(lambda t, fr: fr[0] == "<shutdown>" and caller[-1] in fr) == 0,
          "the caller under <shutdown>\n%s", summary)
