"""Outputs are created, never clobbered (docs/security.md, "Writing outputs";
issue 14): strobe runs as root in directories other users share.

  - a name another user planted at a default output name (a symbolic link to
    root's file, a heat map directory with a link inside) is refused, and
    root's file is untouched;
  - a special file named by -o (a device like /dev/null) is written through,
    never replaced;
  - a write that fails (a full disk) leaves no file and no temporary file,
    and a file already at the destination as it was;
  - -o naming the run's input (the recording replay reads, the
    --diff-flamegraph baseline) is refused before anything is written;
  - every new output's mode is 0666 (directories 0777) minus the umask; a
    file replaced keeps its mode;
  - a directory planted at a --subprocesses child's made-up name is refused;
  - ordinary uses keep working: -o /dev/stdout with stdout on a file, one's
    own file in a directory one cannot write, sudo --heatmap -o a directory
    of the user who ran sudo;
  - a run killed mid-way leaves no half file.

These tests never name the real /dev/null: strobe before issue 14 renamed
its gecko output over the -o path, and would have replaced the machine's
/dev/null with a regular file.  A private device node made with mknod
(1, 3, as /dev/null) stands in for it.
"""
import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

from cases import case, expect_success
from harness import check, one_line_error, wait_gone

NOBODY = 65534

# format flag -> default name pattern (pid), as Tachyon names them
DEFAULT_NAMES = (
    ("--collapsed", "collapsed_%d.txt"),
    ("--flamegraph", "flamegraph_%d.html"),
    ("--gecko", "gecko_%d.json"),
    ("--jsonl", "jsonl_%d.jsonl"),
    ("--speedscope", "speedscope_%d.json"),
    ("--pprof", "pprof_%d.pb.gz"),
    ("--binary", "binary_%d.bin"),
)

# the formats replay writes to one file
REPLAY_FILE_FORMATS = ("--collapsed", "--flamegraph", "--gecko", "--jsonl", "--speedscope",
                       "--pprof", "--pstats")

SECRET = b"root's own file\n"


def as_nobody(ctx, code, *args):
    """Run python code as user nobody (what another local user would do)."""
    def drop():
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    r = subprocess.run([sys.executable, "-c", code] + list(args), preexec_fn=drop,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    check(r.returncode == 0, "as nobody: %s failed: %s", code, r.stdout.decode()[-400:])


def shared_dir(ctx, name):
    """A sticky, world-writable directory owned by nobody (/tmp as another
    user's): the kernel's fs.protected_symlinks follows a link there when
    its owner owns the directory, so the test holds whatever the sysctl."""
    d = ctx.path(name)
    os.mkdir(d)
    os.chown(d, NOBODY, NOBODY)
    os.chmod(d, 0o1777)
    return d


def root_file(ctx, name):
    path = ctx.path(name)
    with open(path, "wb") as f:
        f.write(SECRET)
    os.chmod(path, 0o644)
    return path


def read(path):
    """The file's bytes, None if it is gone."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class Problems:
    """Every format is tried and every problem listed, rather than the
    first one only."""

    def __init__(self):
        self.items = []

    def check(self, cond, msg, *args):
        if not cond:
            self.items.append(msg % args if args else msg)
        return cond

    def refused(self, q, words, what):
        """q exited 1 with one line on stderr holding words."""
        lines = [l for l in q.stderr.splitlines() if l.strip()]
        self.check(q.rc == 1 and len(lines) == 1 and words in lines[0],
                   "%s: expected exit 1 and one line saying %r, got exit %s and %r", what,
                   words, q.rc, lines[-3:])

    def one_line(self, q, what):
        lines = [l for l in q.stderr.splitlines() if l.strip()]
        self.check(q.rc == 1 and len(lines) == 1, "%s: expected exit 1 and one line, got exit %s "
                   "and %r", what, q.rc, lines[-3:])
        return lines[0] if lines else ""

    def done(self):
        check(not self.items, "%d problem(s):\n    %s", len(self.items), "\n    ".join(self.items))


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def temporaries(d):
    """Names strobe's temporary files or directories would have."""
    return sorted(n for n in os.listdir(d) if n.startswith(".") or ".tmp" in n)


def record(ctx, name="rec.bin"):
    """A binary recording of a short run, to feed replay to every format."""
    path = ctx.path(name)
    p = ctx.strobe(["run", "-d", "1", "--binary", "-o", path] + ctx.run_args("chain.py"))
    p.message("ready")
    expect_success(p)
    return path


def replay(ctx, args, cwd=None, prefix=()):
    q = ctx.strobe(["replay"] + list(args), ready=False, cwd=cwd, prefix=prefix)
    q.wait(120)
    return q


def refused(q, words):
    """strobe refused: exit 1, one line on stderr holding words."""
    line = one_line_error(q)
    check(words in line, "the error does not say %r: %s", words, line)
    return line


# ---------------------------------------------------------------------------

@case("write_default_name_planted", kind="global")
def t_write_default_name_planted(ctx):
    """default output names in a shared sticky dir: nobody's link to root's file is refused (every format), root's file untouched"""
    target, ready = ctx.start_target("spin.py")
    pid = ready["pid"]
    shared = shared_dir(ctx, "shared")
    victim = root_file(ctx, "victim")
    pb = Problems()
    plant_link = "import os, sys; os.symlink(sys.argv[1], sys.argv[2])"

    def attach(*args, cwd=shared):
        q = ctx.strobe(["attach", "-d", "1"] + list(args) + [str(pid)], ready=False, cwd=cwd)
        q.wait(60)
        return q

    def victim_intact(what):
        if not pb.check(read(victim) == SECRET, "%s: root's file was written through the link",
                        what):
            root_file(ctx, "victim")

    for flag, pattern in DEFAULT_NAMES:
        link = os.path.join(shared, pattern % pid)
        as_nobody(ctx, plant_link, victim, link)
        q = attach(flag)
        victim_intact(flag)
        pb.refused(q, "symbolic link", flag)
        pb.check(os.path.islink(link), "%s: the planted link was removed or replaced", flag)
        pb.check(not temporaries(shared), "%s: temporaries left: %s", flag, temporaries(shared))
        remove(link)

    # a dangling link: nothing is created where it points
    created = ctx.path("created_by_root")
    link = os.path.join(shared, "collapsed_%d.txt" % pid)
    as_nobody(ctx, plant_link, created, link)
    q = attach("--collapsed")
    pb.check(not os.path.lexists(created), "dangling link: a file was created where it points")
    pb.refused(q, "symbolic link", "dangling link")
    remove(link)

    # pstats -o DIR: DIR/pstats_<pid>.pstats is a name strobe made up
    link = os.path.join(shared, "pstats_%d.pstats" % pid)
    as_nobody(ctx, plant_link, victim, link)
    q = attach("--pstats", "-o", shared, cwd=None)
    victim_intact("--pstats -o DIR")
    pb.refused(q, "symbolic link", "--pstats -o DIR")
    remove(link)

    # heatmap: a directory nobody made, a link to root's file as its index
    hdir = os.path.join(shared, "heatmap_%d" % pid)
    as_nobody(ctx, "import os, sys; os.mkdir(sys.argv[2]); os.chmod(sys.argv[2], 0o777); "
              "os.symlink(sys.argv[1], os.path.join(sys.argv[2], 'index.html'))", victim, hdir)
    q = attach("--heatmap")
    victim_intact("--heatmap")
    pb.refused(q, "owned by another user", "--heatmap")
    pb.check(sorted(os.listdir(hdir)) == ["index.html"],
             "--heatmap wrote into nobody's directory: %s", os.listdir(hdir))

    # -o a link or FIFO another user planted (as --subprocesses passes each
    # child profiler its name with -o): refused, even to a device
    null = ctx.path("null")
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    link = os.path.join(shared, "out_%d.txt" % pid)
    as_nobody(ctx, plant_link, null, link)
    q = attach("--collapsed", "-o", link, cwd=None)
    pb.refused(q, "owned by another user", "-o nobody's link to a device")
    fifo = os.path.join(shared, "fifo_%d.txt" % pid)
    as_nobody(ctx, "import os, sys; os.mkfifo(sys.argv[1], 0o666)", fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # nobody listening on it
    try:
        q = attach("--collapsed", "-o", fifo, cwd=None)
        try:
            leaked = os.read(r, 1 << 20)
        except BlockingIOError:
            leaked = b""
        pb.check(not leaked, "-o nobody's FIFO: the profile went to its reader")
    finally:
        os.close(r)
    pb.refused(q, "owned by another user", "-o nobody's FIFO")

    # an -o link to a regular file (even one's own) is refused, saying so
    mine = ctx.path("mylink")
    os.symlink(victim, mine)
    q = attach("--collapsed", "-o", mine, cwd=None)
    victim_intact("-o LINK")
    pb.refused(q, "symbolic link", "-o LINK")
    target.close()
    pb.done()


@case("write_special_files", kind="global")
def t_write_special_files(ctx):
    """-o a char device (mknod c 1 3, like /dev/null): written through by every format, still a device; -o a root link to it too"""
    rec = record(ctx)
    null = ctx.path("null")
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    link = ctx.path("null-link")
    os.symlink(null, link)

    def still_device():
        st = os.lstat(null)
        check(stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3),
              "%s is no longer the device (mode %o)", null, st.st_mode)

    q = replay(ctx, ["--gecko", "-o", null, rec])
    still_device()
    check(q.rc == 0, "--gecko -o DEVICE exited %s: %s", q.rc, q.stderr[-300:])
    check(not temporaries(ctx.work), "temporaries left: %s", temporaries(ctx.work))
    for flag in REPLAY_FILE_FORMATS:
        for dest in (null, link):
            q = replay(ctx, [flag, "-o", dest, rec])
            still_device()
            check(os.path.islink(link), "%s -o %s: the link was replaced", flag, dest)
            check(q.rc == 0, "%s -o %s exited %s: %s", flag, dest, q.rc, q.stderr[-300:])
    p = ctx.strobe(["run", "-d", "1", "--binary", "-o", null] + ctx.run_args("chain.py"))
    p.message("ready")
    expect_success(p)
    still_device()
    # a FIFO with a reader: the output comes through it
    fifo = ctx.path("fifo")
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        q = replay(ctx, ["--collapsed", "-o", fifo, rec])
        check(q.rc == 0, "--collapsed -o FIFO exited %s: %s", q.rc, q.stderr[-300:])
        data = os.read(r, 1 << 20)
        check(b"chain.py" in data, "nothing came through the FIFO: %r", data[:200])
    finally:
        os.close(r)
    check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced")
    # -o /dev/stdout on a pipe
    out = subprocess.run([ctx.strobe_path, "replay", "--collapsed", "-o", "/dev/stdout", rec],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    check(out.returncode == 0, "-o /dev/stdout exited %s: %s", out.returncode, out.stderr[-300:])
    check(b"chain.py" in out.stdout, "no collapsed stacks on stdout")
    # at a default name, a device is refused
    target, ready = ctx.start_target("spin.py")
    dev = ctx.path("collapsed_%d.txt" % ready["pid"])
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    q = ctx.strobe(["attach", "-d", "1", "--collapsed", str(ready["pid"])], ready=False)
    q.wait(60)
    refused(q, "not a regular file")
    check(stat.S_ISCHR(os.lstat(dev).st_mode), "the device at the default name was replaced")
    target.close()


def mount_full_tmpfs(ctx, d):
    """A 64 KiB tmpfs at d, filled up: no output fits.  False if it cannot be mounted."""
    os.mkdir(d)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", d],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        ctx.notes.append("cannot mount a tmpfs: %s" % r.stdout.decode().strip())
        return False
    return True


def fill(d):
    fd = os.open(os.path.join(d, "fill"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError as e:
        check(e.errno == errno.ENOSPC, "filling the tmpfs: %s", e)
    finally:
        os.close(fd)


@case("write_disk_full", kind="global")
def t_write_disk_full(ctx):
    """a full file system (tmpfs): every format exits 1 with one line, leaves no file nor temporary, a file there before unchanged"""
    rec = record(ctx)
    small = ctx.path("small")
    check(mount_full_tmpfs(ctx, small), "tmpfs: %s", ctx.notes)
    pb = Problems()

    def outcome(what, path, existed):
        if existed:
            pb.check(read(path) == b"before\n", "%s: the file there before was changed", what)
        else:
            pb.check(not os.path.lexists(path), "%s: a partial file was left", what)
        left = temporaries(small)
        pb.check(not left, "%s: temporaries left: %s", what, left)
        for n in left:
            remove(os.path.join(small, n))

    try:
        names = [f.lstrip("-") for f in REPLAY_FILE_FORMATS] + ["binary"]
        for n in names:
            with open(os.path.join(small, "old_" + n), "wb") as f:
                f.write(b"before\n")
        fill(small)
        for flag in REPLAY_FILE_FORMATS:
            n = flag.lstrip("-")
            for dest, existed in (("old_" + n, True), ("new_" + n, False)):
                path = os.path.join(small, dest)
                q = replay(ctx, [flag, "-o", path, rec])
                pb.one_line(q, "%s -o %s" % (flag, dest))
                outcome("%s -o %s" % (flag, dest), path, existed)
                if existed:
                    with open(path, "wb") as f:
                        f.truncate(0)
                        f.write(b"before\n")
                else:
                    remove(path)
        # heatmap: a directory, not made at all
        path = os.path.join(small, "new_heatmap")
        q = replay(ctx, ["--heatmap", "-o", path, rec])
        pb.one_line(q, "--heatmap")
        outcome("--heatmap", path, False)
        remove(path)
        # binary: streamed while sampling, dropped at the end
        for dest, existed in (("old_binary", True), ("new_binary", False)):
            path = os.path.join(small, dest)
            # (not one byte fits: the header's placeholder fails at once,
            # maybe before the target is ready: its message is not waited for)
            p = ctx.strobe(["run", "-d", "1", "--binary", "-o", path] + ctx.run_args("chain.py"))
            p.wait(60)
            line = pb.one_line(p, "--binary -o " + dest)
            pb.check("No space left on device" in line, "--binary: %s", line)
            outcome("--binary -o " + dest, path, existed)
        # room for the start of a recording, not for all of it: the error
        # comes while sampling or at the end, and what was written goes
        fillpath = os.path.join(small, "fill")
        os.truncate(fillpath, os.path.getsize(fillpath) - 16384)
        path = os.path.join(small, "old_binary")
        with open(path, "wb") as f:
            f.write(b"before\n")
        p = ctx.strobe(["run", "-d", "2", "--binary", "--compression", "none", "-o", path] +
                       ctx.run_args("chain.py"))
        p.message("ready")
        p.wait(60)
        line = pb.one_line(p, "--binary filling up")
        pb.check("No space left on device" in line, "--binary filling up: %s", line)
        pb.check("Captured" in p.stdout, "--binary: the run did not sample: %s", p.stdout[-300:])
        outcome("--binary filling up", path, True)
    finally:
        subprocess.run(["umount", small])
    pb.done()


def holds_file_in(pid, d, timeout=30):
    """Wait (bounded) until process pid has a file of directory d open: a
    named one, or an unnamed O_TMPFILE ("d/#123 (deleted)")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except FileNotFoundError:
            return False
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(d + "/"):
                    return True
            except OSError:
                pass
        if wait_gone(pid, 0.02):
            return False
    return False


@case("write_killed_leaves_nothing", kind="global")
def t_write_killed_leaves_nothing(ctx):
    """strobe killed (SIGKILL) while sampling to --collapsed / --jsonl / --binary: no half file, no temporary file"""
    target, ready = ctx.start_target("spin.py")
    pid = ready["pid"]
    out = ctx.path("out")
    os.mkdir(out)
    for flag, name in (("--collapsed", "c.txt"), ("--binary", "b.bin"), ("--jsonl", "j.jsonl")):
        path = os.path.join(out, name)
        q = ctx.strobe(["attach", flag, "-o", path, str(pid)], ready=False)
        # the output is opened just before sampling starts
        check(holds_file_in(q.pid, out), "%s: strobe never opened its output: %s", flag,
              q.stderr[-300:])
        q.send(signal.SIGKILL)
        q.wait(10)
        check(os.listdir(out) == [], "%s: left %s", flag, os.listdir(out))
    target.close()


@case("write_input_refused", kind="global")
def t_write_input_refused(ctx):
    """replay -o naming its own recording (or a link to it), --diff-flamegraph -o BASELINE: refused in one line, the file unchanged"""
    rec = record(ctx)
    base = record(ctx, "base.bin")
    before, base_before = read(rec), read(base)
    hard = ctx.path("hard.bin")
    os.link(rec, hard)
    soft = ctx.path("soft.bin")
    os.symlink(rec, soft)
    pb = Problems()

    def intact(path, data, what):
        if not pb.check(read(path) == data, "%s: %s changed", what, os.path.basename(path)):
            remove(path)
            with open(path, "wb") as f:
                f.write(data)
            remove(hard)
            os.link(rec, hard)

    for flag in REPLAY_FILE_FORMATS + ("--heatmap",):
        for dest in (rec, hard, soft):
            what = "%s -o %s" % (flag, os.path.basename(dest))
            q = replay(ctx, [flag, "-o", dest, rec])
            intact(rec, before, what)
            pb.refused(q, "input", what)
    q = replay(ctx, ["--diff-flamegraph", base, "-o", base, rec])
    intact(base, base_before, "replay --diff-flamegraph -o BASELINE")
    pb.refused(q, "input", "replay --diff-flamegraph -o BASELINE")
    # run: the baseline, before anything is sampled
    p = ctx.strobe(["run", "-d", "1", "--diff-flamegraph", base, "-o", base] +
                   ctx.run_args("chain.py"))
    p.wait(60)
    intact(base, base_before, "run --diff-flamegraph -o BASELINE")
    pb.refused(p, "input", "run --diff-flamegraph -o BASELINE")
    pb.check("Captured" not in p.stdout, "run: sampled before refusing: %s", p.stdout[-200:])
    pb.done()


@case("write_modes", kind="global")
def t_write_modes(ctx):
    """every format's new file (and the heat map directory) is 0666 (0777) minus the umask: umask 022 and 077; a file replaced keeps its mode"""
    rec = record(ctx)
    pb = Problems()
    for mask in (0o022, 0o077):
        d = ctx.path("m%03o" % mask)
        os.mkdir(d)
        umask = ("sh", "-c", 'umask %03o && exec "$0" "$@"' % mask)

        def mode_is(path, want, what):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            pb.check(mode == want, "%s under umask %03o: mode %03o, expected %03o", what, mask,
                     mode, want)

        for flag in REPLAY_FILE_FORMATS:
            path = os.path.join(d, flag.lstrip("-"))
            q = replay(ctx, [flag, "-o", path, rec], prefix=umask)
            if pb.check(q.rc == 0, "%s exited %s: %s", flag, q.rc, q.stderr[-300:]):
                mode_is(path, 0o666 & ~mask, flag)
        # a file of one's own there before keeps its mode (0600 stays private)
        for flag, mode in (("--collapsed", 0o600), ("--gecko", 0o664)):
            path = os.path.join(d, "old" + flag.lstrip("-"))
            with open(path, "wb") as f:
                f.write(b"x")
            os.chmod(path, mode)
            q = replay(ctx, [flag, "-o", path, rec], prefix=umask)
            if pb.check(q.rc == 0, "%s exited %s: %s", flag, q.rc, q.stderr[-300:]):
                mode_is(path, mode, "%s replacing a %03o file" % (flag, mode))
        hm = os.path.join(d, "hm")
        q = replay(ctx, ["--heatmap", "-o", hm, rec], prefix=umask)
        if pb.check(q.rc == 0, "--heatmap exited %s: %s", q.rc, q.stderr[-300:]):
            mode_is(hm, 0o777 & ~mask, "the heat map directory")
            for n in os.listdir(hm):
                mode_is(os.path.join(hm, n), 0o666 & ~mask, "heat map " + n)
        path = os.path.join(d, "binary")
        p = ctx.strobe(["run", "-d", "1", "--binary", "-o", path] + ctx.run_args("chain.py"),
                       prefix=umask)
        p.message("ready")
        expect_success(p)
        mode_is(path, 0o666 & ~mask, "--binary")
    pb.done()


@case("write_subprocess_planted_dir", kind="global")
def t_write_subprocess_planted_dir(ctx):
    """--subprocesses -o shared/out.txt: a directory another user planted at a child's made-up name out_<pid>.txt is refused, not written into"""
    shared = shared_dir(ctx, "shared")
    out = os.path.join(shared, "out.txt")
    gate = ctx.path("gate")
    os.mkfifo(gate)
    p = ctx.strobe(["run", "--subprocesses", "--collapsed", "-o", out]
                   + ctx.run_args("children.py", ["gated", "1", ctx.to_target(gate)]))
    p.message("ready", timeout=60)
    # the child is a shell until the gate opens: its directory is planted
    # before it becomes Python and its profiler starts
    child = p.message("gated", timeout=60)["child"]
    planted = os.path.join(shared, "out_%d.txt" % child)
    as_nobody(ctx, "import os, sys; os.mkdir(sys.argv[1]); os.chmod(sys.argv[1], 0o777)", planted)
    with open(gate, "w") as f:
        f.write("go\n")
    check(p.message("lingering", timeout=60)["pid"] == child, "the child changed pid")
    # the child's profiler must run for the test to mean anything
    deadline = time.monotonic() + 30
    while "Started profiler for child process %d" % child not in p.stderr:
        check(time.monotonic() < deadline, "no profiler started for child %d in 30 s:\n%s",
              child, p.stderr)
        time.sleep(0.02)
    p.message("lingered", timeout=60)
    rc = p.wait(60)
    check(rc == 0, "strobe exited %s: %s", rc, p.stderr[-300:])
    check(os.path.isfile(out), "no output for the parent")
    check(os.listdir(planted) == [], "the child's output went into the planted directory: %s",
          os.listdir(planted))
    check(not temporaries(shared), "temporaries left: %s", temporaries(shared))


@case("write_ordinary_use", kind="global")
def t_write_ordinary_use(ctx):
    """what users do keeps working: -o /dev/stdout with stdout on a file; one's own file in a directory one cannot write (written in place); sudo --heatmap -o a directory of the sudo user (SUDO_UID), not at a default name"""
    rec = record(ctx)
    os.chmod(rec, 0o644)
    pb = Problems()
    # -o /dev/stdout, stdout a regular file (the harness's log): through it
    q = replay(ctx, ["--collapsed", "-o", "/dev/stdout", rec])
    pb.check(q.rc == 0, "-o /dev/stdout > FILE exited %s: %s", q.rc, q.stderr[-300:])
    pb.check("chain.py" in q.stdout, "-o /dev/stdout > FILE: no stacks in the file: %r",
             q.stdout[-300:])
    # nobody's own file in root's directory, strobe run as nobody
    ro = ctx.path("ro")
    os.mkdir(ro, 0o755)
    mine = os.path.join(ro, "mine.txt")
    with open(mine, "wb") as f:
        f.write(b"before\n" * 1000)
    os.chown(mine, NOBODY, NOBODY)
    os.chmod(mine, 0o640)
    ino = os.stat(mine).st_ino
    nobody = ("setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups")
    q = replay(ctx, ["--collapsed", "-o", mine, rec], prefix=nobody)
    pb.check(q.rc == 0, "as nobody, -o its own file in root's directory exited %s: %s", q.rc,
             q.stderr[-300:])
    data = read(mine) or b""
    pb.check(b"chain.py" in data and b"before" not in data, "the file is not the output: %r",
             data[:200])
    st = os.stat(mine)
    pb.check(st.st_ino == ino and st.st_uid == NOBODY and stat.S_IMODE(st.st_mode) == 0o640,
             "the file was not written in place: inode %d (was %d), uid %d, mode %03o",
             st.st_ino, ino, st.st_uid, stat.S_IMODE(st.st_mode))
    pb.check(not temporaries(ro), "temporaries left: %s", temporaries(ro))
    # sudo strobe --heatmap -o ~user/dir: a directory of the user who ran sudo
    home = ctx.path("home")
    os.mkdir(home, 0o755)
    os.chown(home, NOBODY, NOBODY)
    env_sudo = ctx.env(SUDO_UID=NOBODY)
    q = ctx.strobe(["replay", "--heatmap", "-o", home, rec], ready=False, env=env_sudo)
    q.wait(120)
    pb.check(q.rc == 0, "--heatmap -o SUDO_UID's directory exited %s: %s", q.rc,
             q.stderr[-300:])
    pb.check(os.path.isfile(os.path.join(home, "index.html")), "no index.html in %s: %s", home,
             os.listdir(home))
    other = ctx.path("other")
    os.mkdir(other, 0o755)
    os.chown(other, NOBODY, NOBODY)
    q = ctx.strobe(["replay", "--heatmap", "-o", other, rec], ready=False,
                   env=ctx.env(SUDO_UID=None))
    q.wait(120)
    pb.refused(q, "owned by another user", "--heatmap -o another user's directory, no sudo")
    # at a default name, SUDO_UID's directory is not taken
    target, ready = ctx.start_target("spin.py")
    shared = shared_dir(ctx, "shared")
    hdir = os.path.join(shared, "heatmap_%d" % ready["pid"])
    as_nobody(ctx, "import os, sys; os.mkdir(sys.argv[1]); os.chmod(sys.argv[1], 0o777)", hdir)
    q = ctx.strobe(["attach", "-d", "1", "--heatmap", str(ready["pid"])], ready=False,
                   env=env_sudo, cwd=shared)
    q.wait(60)
    pb.refused(q, "owned by another user", "--heatmap at a default name, SUDO_UID's directory")
    pb.check(os.listdir(hdir) == [], "--heatmap wrote into %s: %s", hdir, os.listdir(hdir))
    target.close()
    pb.done()
