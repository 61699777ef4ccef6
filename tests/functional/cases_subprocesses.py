"""--subprocesses: the Python children of the target (multiprocessing pool
workers, a `python -c` started with subprocess, Python processes under a
shell) are profiled too, each by its own `strobe attach` writing
out_<pid>.<ext> (Tachyon's naming), and strobe does not wait for children
that are gone.

Multiprocessing needs POSIX semaphores, i.e. a writable /dev/shm: a chroot
interpreter whose root has none runs the subprocess child only (noted in the
test's output)."""
import marshal
import os
import time

from cases import case
from harness import Collapsed, check, fn, frame


def pool_mode(ctx):
    """'pool' where multiprocessing can work for this interpreter, else 'nopool'."""
    it = ctx.interp
    if it.root is not None:
        shm = os.path.join(it.root, "dev", "shm")
        if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
            ctx.notes.append("no writable /dev/shm in %s: multiprocessing cannot work there, "
                             "testing the subprocess child only" % it.root)
            return "nopool"
    return "pool"


def started(p, pid):
    check("Started profiler for child process %d" % pid in p.stderr,
          "no 'Started profiler for child process %d' on stderr", pid)


def expect_leaf(path, leaf_prefix, least, what):
    """The collapsed file at path has at least `least` samples whose leaf
    frame starts with leaf_prefix ('file:func:')."""
    col = Collapsed(path)
    n = col.count(lambda t, fr: fr[-1].startswith(leaf_prefix))
    check(n >= least, "%s: only %d samples in %s (want >= %d)\n%s", what, n, leaf_prefix, least,
          "\n".join(col.summary()))
    return col


def child_leaf(ctx):
    return "<string>:%s:" % fn(ctx.interp, "child_spin")


def shell_command(ctx, script):
    """strobe run arguments: `sh -c script PYTHON children.py` (in the root
    for a chroot interpreter): the top-level process never becomes Python."""
    it = ctx.interp
    _, tpath = ctx.target("children.py")
    if it.root is None:
        return ["--", "/bin/sh", "-c", script, it.exe, tpath]
    return ["--", "chroot", it.root, "/bin/sh", "-c", script, it.exe_in_target, tpath]


@case("subprocess_run", quick=True)
def t_subprocess_run(ctx):
    """run --subprocesses --collapsed -o out.txt: out_<pid>.txt for both pool workers and a
    python -c child, with their functions; out.txt for the parent; no wait for gone children"""
    mode = pool_mode(ctx)
    out = ctx.path("out.txt")
    p = ctx.strobe(["run", "--subprocesses", "--collapsed", "-o", out]
                   + ctx.run_args("children.py", [mode]))
    ready = p.message("ready", timeout=60)
    workers = p.message("workers", timeout=60)["workers"] if mode == "pool" else []
    child = p.message("child", timeout=60)["child"]
    p.message("done", timeout=60)
    done = time.monotonic()
    rc = p.wait(60)
    waited = time.monotonic() - done
    check(rc == 0, "strobe exited with status %s, expected 0", rc)
    # the profilers of children that ended have ended too: nothing to wait 30 s for
    check(waited < 10, "strobe took %.1f s to exit after the target was done", waited)
    it, L = ctx.interp, ready["lines"]
    check(mode != "pool" or len(set(workers)) == 2, "pool worker pids %s", workers)
    for w in workers:
        started(p, w)
        # each worker spins 1 s at 1 kHz; its profiler starts within ~10 ms of the
        # fork, plus its own start-up (slow in the sanitizer build on a loaded host)
        expect_leaf(ctx.path("out_%d.txt" % w), frame(it, "children.py", "pool_work",
                                                      L["pool_work"]), 50, "worker %d" % w)
    started(p, child)
    # 0.5 s of spinning after the interpreter's start-up
    expect_leaf(ctx.path("out_%d.txt" % child), child_leaf(ctx), 50, "python -c child %d" % child)
    col = Collapsed(out)
    tid = ready["tid"]
    check(set(col.tids()) == {tid}, "parent output has threads %s, expected %d",
          sorted(col.tids()), tid)
    on_main = col.count(lambda t, fr: any(f.startswith("children.py:%s:" % fn(it, "main"))
                                          for f in fr))
    check(on_main > 0, "the parent's output has no children.py:main frame\n%s",
          "\n".join(col.summary()))
    # no output for anything that is not a descendant
    names = sorted(f for f in os.listdir(ctx.work) if f.startswith("out"))
    check("out.txt" in names, "no out.txt among %s", names)


@case("subprocess_names")
def t_subprocess_names(ctx):
    """without -o: collapsed_<pid>.txt for parent and child; pstats: table on stdout for the
    parent, profile_<pid>.pstats for the child"""
    p = ctx.strobe(["run", "--subprocesses", "--collapsed"] + ctx.run_args("children.py", ["nopool"]))
    ready = p.message("ready", timeout=60)
    child = p.message("child", timeout=60)["child"]
    check(p.wait(60) == 0, "strobe exited with status %s", p.rc)
    check(os.path.exists(ctx.path("collapsed_%d.txt" % ready["pid"])),
          "no collapsed_%d.txt (the parent's default name)", ready["pid"])
    expect_leaf(ctx.path("collapsed_%d.txt" % child), child_leaf(ctx), 50, "python -c child")

    p = ctx.strobe(["run", "--subprocesses"] + ctx.run_args("children.py", ["nopool"]))
    p.message("ready", timeout=60)
    child = p.message("child", timeout=60)["child"]
    check(p.wait(60) == 0, "strobe exited with status %s", p.rc)
    check("Profile Stats:" in p.stdout, "no pstats table on stdout for the parent")
    path = ctx.path("profile_%d.pstats" % child)
    check(os.path.exists(path), "no profile_%d.pstats for the child", child)
    with open(path, "rb") as f:
        stats = marshal.load(f)
    funcs = {k[2] for k in stats if isinstance(k, tuple) and len(k) == 3}
    check(fn(ctx.interp, "child_spin") in funcs, "child_spin not in the child's pstats file: %s",
          sorted(funcs)[:20])


@case("subprocess_shell")
def t_subprocess_shell(ctx):
    """a shell that never becomes Python: its two Python children (and theirs) are profiled,
    exit 0, no output for the shell itself"""
    out = ctx.path("out.txt")
    script = '"$0" "$1" nopool & "$0" "$1" nopool; wait'
    p = ctx.strobe(["run", "--subprocesses", "--collapsed", "-o", out] + shell_command(ctx, script))
    pys = sorted(p.message("ready", timeout=60)["pid"] for _ in range(2))
    kids = sorted(p.message("child", timeout=60)["child"] for _ in range(2))
    rc = p.wait(60)
    check(rc == 0, "strobe exited with status %s, expected 0", rc)
    check("without becoming a Python process" in p.stderr,
          "no note that the command itself was not Python")
    check(not os.path.exists(out), "out.txt written for a shell")
    it = ctx.interp
    for pid in pys:
        started(p, pid)
        col = Collapsed(ctx.path("out_%d.txt" % pid))
        n = col.count(lambda t, fr: any(f.startswith("children.py:%s:" % fn(it, "main")) for f in fr))
        check(n > 0, "children.py %d: no main frame\n%s", pid, "\n".join(col.summary()))
    for pid in kids:
        started(p, pid)
        expect_leaf(ctx.path("out_%d.txt" % pid), child_leaf(ctx), 50, "grandchild %d" % pid)


@case("subprocess_attach")
def t_subprocess_attach(ctx):
    """attach --subprocesses -d 1 to a parent whose pool workers are spinning: each worker gets
    its own -d 1 profile"""
    mode = pool_mode(ctx)
    if mode != "pool":
        return
    tgt, ready = ctx.start_target("children.py", ["pool", "4"])
    out = ctx.path("out.txt")
    p = ctx.strobe(["attach", "--subprocesses", "-d", "1", "--collapsed", "-o", out,
                    str(ready["pid"])], ready=False)
    t0 = time.monotonic()
    rc = p.wait(60)
    check(rc == 0, "strobe exited with status %s, expected 0", rc)
    # its own second, then the children's (started within the first poll)
    check(time.monotonic() - t0 < 15, "attach -d 1 took %.1f s", time.monotonic() - t0)
    it, L = ctx.interp, ready["lines"]
    for w in ready["workers"]:
        started(p, w)
        expect_leaf(ctx.path("out_%d.txt" % w), frame(it, "children.py", "pool_work",
                                                      L["pool_work"]), 100, "worker %d" % w)
    Collapsed(out)


@case("subprocess_none", kind="global", quick=True)
def t_subprocess_none(ctx):
    """--subprocesses on a target without children: the usual output, no child profiler,
    no wait"""
    out = ctx.path("out.txt")
    p = ctx.strobe(["run", "--subprocesses", "-d", "1", "--collapsed", "-o", out]
                   + ctx.run_args("spin.py"))
    p.message("ready")
    rc = p.wait(30)
    check(rc == 0, "strobe exited with status %s, expected 0", rc)
    check("Started profiler" not in p.stderr and "Waiting for" not in p.stderr,
          "child profilers for a target without children:\n%s", p.stderr)
    check(Collapsed(out).total > 0, "no samples")
    check([f for f in os.listdir(ctx.work) if f.startswith("out")] == ["out.txt"],
          "outputs %s", sorted(os.listdir(ctx.work)))
