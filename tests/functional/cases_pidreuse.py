"""The target's identity: when the profiled process exits and another of the
same build takes its PID between two samples, strobe ends with what it had
and never profiles the newcomer (issue 14).

Both processes run under `setarch -R` (no address randomisation), so the
newcomer's runtime, thread states and frames sit where the old one's were:
a profiler that only knows the PID reads the newcomer's stacks as if nothing
had happened.  The newcomer gets the PID through the kernel's ns_last_pid,
so the case runs alone (another test forking meanwhile could take it)."""
import os
import shutil
import signal

from cases import case, expect_success
from harness import Collapsed, check

LAST_PID = "/proc/sys/kernel/ns_last_pid"


def _spawn_on_pid(ctx, argv, pid, name):
    """Start argv as process pid (ns_last_pid set to pid - 1 right before the
    fork), or None when another process took the number first."""
    with open(LAST_PID, "w") as f:
        f.write(str(pid - 1))
    p = ctx.spawn(argv, env=ctx.env(STROBE_PROCESS_TIMEOUT=6), name=name)
    if p.pid == pid:
        return p
    p.kill()
    return None


@case("pid_reuse", exclusive=True, versions=[(3, 9), (3, 11), (3, 12), (3, 15)], engines="one")
def t_pid_reuse(ctx):
    """a newcomer on the target's PID is not profiled: strobe stops at the exit"""
    check(os.access(LAST_PID, os.W_OK), "%s is not writable (run as root)", LAST_PID)
    _, tpath = ctx.target("pidreuse.py")
    cmd = ["setarch", "x86_64", "-R"] + ctx.interp.command(tpath)
    for attempt in range(5):
        old = ctx.spawn(cmd, env=ctx.env(STROBE_PROCESS_TIMEOUT=60), name="old")
        old.message("ready")
        out = ctx.path("reuse%d.txt" % attempt)
        p = ctx.strobe(["attach", "-r", "20", "--realtime-stats", "--collapsed", "-o", out,
                        str(old.pid)], ready=False)
        # sampling has begun once the once-a-second rate line is printed
        p.wait_output("Stats:", timeout=30)
        os.killpg(old.pid, signal.SIGKILL)
        old.wait(10)
        new = _spawn_on_pid(ctx, cmd + ["new"], old.pid, "newcomer")
        if new is None:
            p.send(signal.SIGINT)
            p.wait(30)
            ctx.notes.append("attempt %d: PID %d was taken by another process" % (attempt, old.pid))
            continue
        new.message("ready")
        expect_success(p, timeout=30)
        check(new.poll() is None,
              "strobe went on until the newcomer on PID %d exited" % old.pid)
        col = Collapsed(out)
        names = {fr.split(":")[-2] for _, frames, _ in col.rows for fr in frames}
        check("newcomer" not in names, "the newcomer's stacks were profiled: %s", col.summary())
        check("old_process" in names, "no samples of the profiled process: %s", col.summary())
        new.kill()
        return
    check(False, "PID %d could not be given to a second process in 5 attempts" % old.pid)


@case("dump_pid_reuse", exclusive=True, versions=[(3, 12)])
def t_dump_pid_reuse(ctx):
    """dump: when the target exits and a newcomer takes its PID between the attach and the stack read, no stack is shown ('No stack dump collected ...', exit 1)"""
    check(os.access(LAST_PID, os.W_OK), "%s is not writable (run as root)", LAST_PID)
    check(shutil.which("gdb"), "gdb is not installed: it holds strobe between attach and read")
    _, tpath = ctx.target("pidreuse.py")
    cmd = ["setarch", "x86_64", "-R"] + ctx.interp.command(tpath)
    gate = ctx.path("gate")
    os.mkfifo(gate)
    # gdb stops strobe once it has opened the process (its pidfd taken),
    # before it reads a stack, until the test writes to the gate
    hold = ["gdb", "-nx", "-batch", "-ex", "set startup-with-shell off",
            "-ex", "break py_walker_init", "-ex", "run", "-ex", "shell echo HELD",
            "-ex", "shell read go < '%s'" % gate, "-ex", "continue", "--args"]
    for attempt in range(5):
        old = ctx.spawn(cmd, env=ctx.env(STROBE_PROCESS_TIMEOUT=60), name="old")
        old.message("ready")
        p = ctx.strobe(["dump", str(old.pid)], ready=False, prefix=hold)
        p.wait_output("HELD", timeout=60)
        os.killpg(old.pid, signal.SIGKILL)
        old.wait(10)
        new = _spawn_on_pid(ctx, cmd + ["new"], old.pid, "newcomer")
        if new is not None:
            new.message("ready")
        with open(gate, "w") as f:
            f.write("go\n")
        p.wait(60)
        if new is None:
            ctx.notes.append("attempt %d: PID %d was taken by another process" % (attempt, old.pid))
            continue
        check("Stack dump" not in p.stdout, "the newcomer's stack was shown:\n%s", p.stdout[-600:])
        want = ("No stack dump collected - process %d exited before its stack could be read."
                % old.pid)
        check(want in p.stderr, "no %r on stderr:\n%s", want, p.stderr[-600:])
        new.kill()
        return
    check(False, "PID %d could not be given to a second process in 5 attempts" % old.pid)
