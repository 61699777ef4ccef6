"""Containers (issue 15): a target in its own PID, mount or user namespace is
profiled exactly like one on the host.

Every container here is built with util-linux's unshare, the way container
runtimes build theirs; the target (threads.py: two spinning workers, one
sleeping) reports its thread ids as it sees them (threading.get_native_id():
1, 2, ... in its namespace), and strobe must show those ids, with the run
states /proc has under other numbers.  Settings (the issue's numbering):
  1. PID + mount namespace, the interpreter of the host;
  2. PID namespace + another root: chroot into the sid root, and pivot_root
     into it in a mount namespace;
  3. user + PID namespace: root mapped (made by root), and rootless (made by
     nobody, the target's uid mapped to nobody's);
  4. strobe inside the target's PID and mount namespaces (a sidecar,
     `docker exec`), through nsenter;
  5. `strobe run -- unshare --pid --fork --mount-proc python3 ...`.
Each checks cpu mode (samples of the spinning threads, few or none of the
sleeping one, which naps 0.2 s at a time so that busy CPUs cannot keep it
runnable), wall mode (the sleeping thread is sampled), `dump -a`'s
status words and --blocking."""
import os
import re
import shutil

from cases import case, expect_success
from harness import Collapsed, check
from cases_dump import parse, status_words

VERSIONS = [(3, 9), (3, 12), (3, 15)]
NOBODY = 65534


def _env(ctx):
    # the sleeper naps 0.2 s: off the run queue even when the CPUs are busy
    return ctx.env(STROBE_PROCESS_TIMEOUT=60, STROBE_SLEEP_S=0.2)


def _children(pid):
    """Direct children of pid, from /proc."""
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(name))
    return kids


def _host_pid(root_pid, ns_pid):
    """The pid in our /proc of the descendant of root_pid that its own PID
    namespace knows as ns_pid."""
    todo = [root_pid]
    while todo:
        pid = todo.pop(0)
        try:
            with open("/proc/%d/status" % pid) as f:
                nspid = [l for l in f if l.startswith("NSpid:")][0].split()[1:]
        except (OSError, IndexError):
            continue
        if len(nspid) > 1 and int(nspid[-1]) == ns_pid:
            return pid
        todo.extend(_children(pid))
    check(False, "no process %d inside the namespace under %d", ns_pid, root_pid)


class Container:
    """threads.py started in a container; pid: its pid in our /proc."""

    def __init__(self, ctx, prefix):
        _, tpath = ctx.target("threads.py")
        argv = list(prefix) + ctx.interp.command(tpath)
        self.proc = ctx.spawn(argv, env=_env(ctx), name="container")
        self.ready = self.proc.message("ready", timeout=60)
        self.ns_pid = self.ready["pid"]
        self.pid = _host_pid(self.proc.pid, self.ns_pid)
        self.tids = self.ready["threads"]
        check(self.ns_pid != self.pid, "the target is not in a PID namespace of its own "
              "(its pid %d is the same in ours)", self.pid)


def _attach(ctx, pid, args, prefix=()):
    out = ctx.path("out_%d.txt" % len(ctx.procs))
    p = ctx.strobe(["attach", "--collapsed", "-o", out] + list(args) + [str(pid)], ready=False,
                   prefix=prefix)
    expect_success(p, timeout=60)
    return Collapsed(out)


def check_modes(ctx, tids, pid, prefix=()):
    """cpu, wall and --blocking samples of a target whose own thread ids are
    tids, attached as pid (through prefix, e.g. nsenter)."""
    spin = {tids["spin_a"], tids["spin_b"]}
    # both engines (--engine bpf: the BPF program finds the threads by
    # strobe's ids, perf events opened on them from strobe's namespace)
    for engine in ("reader", "bpf"):
        col = _attach(ctx, pid, ["--mode", "cpu", "--engine", engine, "-a", "-d", "1"], prefix)
        by_tid = col.tids()
        check(set(by_tid) <= set(tids.values()), "cpu mode, %s: thread ids %s are not the "
              "target's own %s", engine, sorted(by_tid), tids)
        on_spin = sum(by_tid.get(t, 0) for t in spin)
        check(on_spin >= 300, "cpu mode, %s: only %d samples of the spinning threads in 1 s at "
              "1 kHz\n%s", engine, on_spin, "\n".join(col.summary()))
        check(by_tid.get(tids["sleeper"], 0) <= 0.2 * on_spin,
              "cpu mode, %s: the sleeping thread has %d samples, the spinning ones %d",
              engine, by_tid.get(tids["sleeper"], 0), on_spin)
    # wall mode, both engines (bpf: the sched_switch program knows the
    # threads by their ids in the target's PID namespace, its records by
    # strobe's)
    for engine in ("reader", "bpf"):
        col = _attach(ctx, pid, ["-a", "-d", "1", "--engine", engine], prefix)
        by_tid = col.tids()
        check(set(by_tid) <= set(tids.values()), "wall mode, %s: thread ids %s are not the "
              "target's own %s", engine, sorted(by_tid), tids)
        check(by_tid.get(tids["sleeper"], 0) >= 300, "wall mode, %s: %d samples of the sleeping "
              "thread", engine, by_tid.get(tids["sleeper"], 0))
        if engine == "bpf":
            # every thread the rate's samples, on CPU or off
            for role, t in tids.items():
                check(700 <= by_tid.get(t, 0) <= 1100, "wall mode, bpf: %s has %d samples in "
                      "1 s at 1 kHz\n%s", role, by_tid.get(t, 0), "\n".join(col.summary()))
    col = _attach(ctx, pid, ["--blocking", "-a", "-d", "1", "-r", "200"], prefix)
    check(set(col.tids()) == set(tids.values()), "--blocking: threads %s, expected %s",
          sorted(col.tids()), tids)


def check_dump(ctx, tids, pid, prefix=()):
    """dump -a: the target's own thread ids, with run states: a spinning
    thread (or the main thread's sleeping loop) is never shown without one."""
    words = {}
    for attempt in range(20):
        p = ctx.strobe(["dump", "-a", str(pid)], ready=False, prefix=prefix)
        check(p.wait(60) == 0, "dump exited with status %s:\n%s", p.rc, p.stderr)
        for sec in parse(p.stdout):
            words.setdefault(sec["tid"], set()).update(status_words(sec["details"]))
        if all("on CPU" in words.get(tids[r], ()) for r in ("spin_a", "spin_b")) and \
                "idle" in words.get(tids["sleeper"], ()):
            break
    check(set(words) == set(tids.values()), "dump -a: threads %s, expected %s", sorted(words), tids)
    for role in ("spin_a", "spin_b"):
        check("on CPU" in words[tids[role]], "dump -a: spinning thread %s (tid %d) never on CPU "
              "in 20 dumps: %s", role, tids[role], words)
    check("idle" in words[tids["sleeper"]], "dump -a: the sleeping thread never idle: %s", words)


def _check_container(ctx, c, prefix=()):
    check_modes(ctx, c.tids, c.pid if not prefix else c.ns_pid, prefix)
    check_dump(ctx, c.tids, c.pid if not prefix else c.ns_pid, prefix)


UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]


@case("container_pid_mount", versions=VERSIONS)
def t_container_pid_mount(ctx):
    """1. PID + mount namespace: cpu/wall/blocking samples and dump status, own tids"""
    _check_container(ctx, Container(ctx, UNSHARE))


@case("container_user_ns", versions=VERSIONS)
def t_container_user_ns(ctx):
    """3. user + PID namespace (root mapped): the same"""
    _check_container(ctx, Container(ctx, ["unshare", "--user", "--map-root-user"] + UNSHARE[1:]))


@case("container_sidecar", versions=VERSIONS)
def t_container_sidecar(ctx):
    """4. strobe inside the target's PID and mount namespaces (nsenter): the same"""
    c = Container(ctx, UNSHARE)
    _check_container(ctx, c, prefix=["nsenter", "--target", str(c.pid), "--pid", "--mount", "--"])


@case("container_run_unshare", versions=VERSIONS, engines=True)
def t_container_run_unshare(ctx):
    """5. run -- unshare --pid --fork ...: the Python child profiled, named, own tids"""
    _, tpath = ctx.target("threads.py")
    out = ctx.path("run.txt")
    p = ctx.strobe(["run", "--mode", "cpu", "-a", "-d", "2", "--collapsed", "-o", out, "--"] +
                   UNSHARE + ctx.interp.command(tpath), env=_env(ctx))
    ready = p.message("ready", timeout=60)
    expect_success(p, timeout=60)
    check(re.search(r"^strobe: the command runs Python in its child process \d+; profiling that "
                    r"process$", p.stderr, re.M), "no line naming the profiled child:\n%s", p.stderr)
    tids = ready["threads"]
    by_tid = Collapsed(out).tids()
    check(set(by_tid) <= set(tids.values()), "thread ids %s are not the target's own %s",
          sorted(by_tid), tids)
    check(sum(by_tid.get(tids[r], 0) for r in ("spin_a", "spin_b")) >= 300,
          "cpu mode: %s samples of the spinning threads", by_tid)


def _pivot_script(root, exe, script):
    """sh text that makes root the root of a new mount namespace with
    pivot_root and execs the target there."""
    return ("set -e; mount --bind {r} {r}; cd {r}; mkdir -p .oldroot; "
            "pivot_root . .oldroot; exec {exe} {s}").format(r=root, exe=exe, s=script)


@case("container_other_root", versions=[(3, 15)])
def t_container_other_root(ctx):
    """2. PID namespace + another root (chroot, and pivot_root): the same, sources read inside"""
    it = ctx.interp
    check(it.root is not None, "needs an interpreter in the sid root")
    # chroot: the sid interpreters already run so
    c = Container(ctx, UNSHARE)
    _check_container(ctx, c)
    # pivot_root in a mount namespace: /proc/PID/root is the new root
    _, tpath = ctx.target("threads.py")
    argv = UNSHARE + ["--mount", "sh", "-c", _pivot_script(it.root, it.exe_in_target, tpath)]
    p = ctx.spawn(argv, env=_env(ctx), name="pivot")
    ready = p.message("ready", timeout=60)
    pid = _host_pid(p.pid, ready["pid"])
    check(os.readlink("/proc/%d/root" % pid) == "/",
          "after pivot_root the target's root link should read '/', got %r",
          os.readlink("/proc/%d/root" % pid))
    check_modes(ctx, ready["threads"], pid)
    check_dump(ctx, ready["threads"], pid)
    # the heat map shows the target's own source, read through its root
    hm = ctx.path("hm")
    s = ctx.strobe(["attach", "--heatmap", "-o", hm, "-d", "1", str(pid)], ready=False)
    expect_success(s, timeout=60)
    pages = [n for n in os.listdir(hm) if n.startswith("file_")]
    text = "".join(open(os.path.join(hm, n), encoding="utf-8").read() for n in pages)
    check("def spin_a(self):" in text, "the heat map does not show threads.py's source")


@case("container_rootless", kind="global")
def t_container_rootless(ctx):
    """3. rootless user + PID namespace made by nobody (Debian's python3.11): the same"""
    exe = "/usr/bin/python3.11"
    check(os.path.exists(exe), "%s is missing (tests/provision.sh installs it)", exe)
    with open("/proc/sys/kernel/unprivileged_userns_clone") if os.path.exists(
            "/proc/sys/kernel/unprivileged_userns_clone") else open("/dev/null") as f:
        check(f.read().strip() in ("", "1"), "unprivileged user namespaces are disabled here")
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "targets")
    for name in ("threads.py", "_common.py"):
        shutil.copy(os.path.join(src, name), ctx.path(name))
    os.chmod(ctx.work, 0o755)
    argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
            "unshare", "--user", "--map-root-user"] + UNSHARE[1:] + [exe, ctx.path("threads.py")]
    p = ctx.spawn(argv, env=_env(ctx), name="rootless")
    ready = p.message("ready", timeout=60)
    pid = _host_pid(p.pid, ready["pid"])
    with open("/proc/%d/status" % pid) as f:
        uid = [l for l in f if l.startswith("Uid:")][0].split()[1]
    check(int(uid) == NOBODY, "the target runs as uid %s on the host, not nobody", uid)
    check_modes(ctx, ready["threads"], pid)
    check_dump(ctx, ready["threads"], pid)
