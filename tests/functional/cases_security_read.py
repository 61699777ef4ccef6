"""strobe reads a target's files as the target itself would (docs/security.md,
src/process/rootfs.h): names resolved inside its root, opened with its
credentials, and the ELF file it has mapped rather than whatever its root now
holds at that path.  The target (tests/targets/hostile_files.py) names its
code after files it chooses; the heat map, the flame graph and `dump` must
show what it could read and nothing else."""
import os
import shutil
import signal
import tempfile
import uuid

from cases import case
from harness import check, fn, wait_gone


def marked(path, word, mode=0o644):
    """A source file whose every line holds word (spin() is on lines 1-4)."""
    with open(path, "w") as f:
        for n in range(1, 9):
            f.write("%s = %d  # line %d\n" % (word, n, n))
    os.chmod(path, mode)


def private_and_public(ctx, private_prefix="ROOTONLY_"):
    """(private, public, private_word, public_word): a 0600 and a 0644 marked
    source in the work dir, each word unique to this run."""
    token = uuid.uuid4().hex[:12]
    private_word, public_word = private_prefix + token, "PUBLIC_" + token
    private, public = ctx.path("private.py"), ctx.path("public.py")
    marked(private, private_word, 0o600)
    marked(public, public_word, 0o644)
    return private, public, private_word, public_word


def html_of(hm, fg):
    """{"heatmap": every page of directory hm, "flamegraph": page fg}"""
    pages = []
    for name in sorted(os.listdir(hm)):
        with open(os.path.join(hm, name), encoding="utf-8") as f:
            pages.append(f.read())
    with open(fg, encoding="utf-8") as f:
        return {"heatmap": "\n".join(pages), "flamegraph": f.read()}


def outputs(ctx, pid):
    """{"heatmap", "flamegraph", "dump"}: the text strobe shows of pid's
    sources in each (every heat map page, the flame graph page, the dump)."""
    hm, fg = ctx.path("hm"), ctx.path("fg.html")
    for what, args in (("heatmap", ["--heatmap", "-o", hm]), ("flamegraph", ["--flamegraph", "-o", fg])):
        p = ctx.strobe(["attach", "-d", "1", "-a"] + args + [str(pid)], ready=False)
        check(p.wait(60) == 0, "strobe attach --%s exited with %s", what, p.rc)
    out = html_of(hm, fg)
    p = ctx.strobe(["dump", "-a", str(pid)], ready=False)
    check(p.wait(30) == 0, "strobe dump exited with %s:\n%s", p.rc, p.stderr[-600:])
    out["dump"] = p.stdout
    return out


def expect_shown(out, shown, hidden):
    """Every output shows each word of shown, and none of hidden."""
    wrong = []
    for what, text in sorted(out.items()):
        wrong += ["the %s shows %s, which the target cannot read" % (what, w)
                  for w in hidden if w in text]
        wrong += ["the %s does not show %s, which the target reads" % (what, w)
                  for w in shown if w not in text]
    check(not wrong, "\n".join(wrong))


@case("read_inside_root", versions={(3, 15)})
def t_read_inside_root(ctx):
    """a chroot target names its code by an absolute symlink, a /../.. path and a relative
    ../.. path to a host file: strobe shows the file of that name inside the root, never the host's"""
    it = ctx.interp
    check(it.root is not None, "%s is not a chroot interpreter", it.label)
    token = uuid.uuid4().hex[:12]
    secret_word, decoy_word = "HOSTSECRET_" + token, "INROOT_" + token
    hostdir = tempfile.mkdtemp(prefix="strobe-host-")  # the host's /tmp, outside the root
    inside = it.root + hostdir                         # the same name inside the root
    try:
        os.chmod(hostdir, 0o755)
        secret = os.path.join(hostdir, "secret.py")
        marked(secret, secret_word)
        os.makedirs(inside)
        marked(inside + "/secret.py", decoy_word)
        link = ctx.path("link.py")
        os.symlink(secret, link)  # absolute: leads to the host's file from the host's root
        # chroot(8) leaves the target in "/" of its root: ".." there is "/"
        names = [ctx.to_target(link), "/../../../../../.." + secret, "../../../../.." + secret]
        tgt, ready = ctx.start_target("hostile_files.py",
                                      [a for n in names for a in ("--code", n)])
        expect_shown(outputs(ctx, ready["pid"]), [decoy_word], [secret_word])
    finally:
        shutil.rmtree(hostdir, ignore_errors=True)
        shutil.rmtree(inside, ignore_errors=True)


# on the host: the sid root (0700) is not even searchable by nobody, so
# strobe rightly shows nothing at all of a chroot target running as nobody
@case("read_as_target_user", versions={(3, 8), (3, 12)}, engines="one")
def t_read_as_target_user(ctx):
    """a target running as nobody names its code after a 0600 root file: strobe does not show
    it, and still shows the target's world-readable file"""
    private, public, private_word, public_word = private_and_public(ctx)
    tgt, ready = ctx.start_target("hostile_files.py",
                                  ["--user", "65534:65534", "--code", ctx.to_target(private),
                                   "--code", ctx.to_target(public)])
    check(ready["uid"] == 65534, "the target runs as uid %s", ready["uid"])
    expect_shown(outputs(ctx, ready["pid"]), [public_word], [private_word])


@case("mapped_file_not_path", versions={(3, 11), (3, 12)})
def t_mapped_file_not_path(ctx):
    """a target chroots into a root holding other files at the paths of its executable and
    libpython: strobe still reads the files it has mapped, and profiles it"""
    jail = ctx.path("jail")
    os.mkdir(jail)
    tgt, ready = ctx.start_target("hostile_files.py",
                                  ["--chroot", jail, "--code", "/elsewhere/code.py"])
    p = ctx.strobe(["dump", "-a", str(ready["pid"])], ready=False)
    check(p.wait(30) == 0, "strobe dump exited with %s:\n%s", p.rc, p.stderr[-600:])
    want = '  File "/elsewhere/code.py", line 4, in %s' % fn(ctx.interp, "spin")
    check(want in p.stdout.splitlines(), "no frame %r in the dump:\n%s", want, p.stdout[-1500:])


@case("read_replay_as_owner", versions={(3, 12)}, engines="one")
def t_read_replay_as_owner(ctx):
    """replay of a recording owned by nobody: the sources are read as its owner, so a 0600
    root file it names is not shown, a world-readable one is"""
    private, public, private_word, public_word = private_and_public(ctx)
    tgt, ready = ctx.start_target("hostile_files.py", ["--code", private, "--code", public])
    rec = ctx.path("rec.bin")
    p = ctx.strobe(["attach", "-d", "1", "-a", "--binary", "-o", rec, str(ready["pid"])],
                   ready=False)
    check(p.wait(60) == 0, "strobe attach --binary exited with %s", p.rc)
    tgt.kill()
    os.chown(rec, 65534, 65534)
    hm, fg = ctx.path("hm"), ctx.path("fg.html")
    for what, args in (("heatmap", ["--heatmap", "-o", hm]), ("flamegraph", ["--flamegraph", "-o", fg])):
        p = ctx.strobe(["replay"] + args + [rec], ready=False)
        check(p.wait(60) == 0, "strobe replay --%s exited with %s", what, p.rc)
    expect_shown(html_of(hm, fg), [public_word], [private_word])


@case("read_replay_root_recording", versions={(3, 12)}, engines="one")
def t_read_replay_root_recording(ctx):
    """replay of root's recording of a target running as nobody: the names in it are the
    target's, so its sources are read as nobody - a 0600 root file it names is not shown, a
    world-readable one is"""
    private, public, private_word, public_word = private_and_public(ctx)
    tgt, ready = ctx.start_target("hostile_files.py",
                                  ["--user", "65534:65534", "--code", private, "--code", public])
    rec = ctx.path("rec.bin")
    p = ctx.strobe(["attach", "-d", "1", "-a", "--binary", "-o", rec, str(ready["pid"])],
                   ready=False)
    check(p.wait(60) == 0, "strobe attach --binary exited with %s", p.rc)
    tgt.kill()
    check(os.stat(rec).st_uid == 0, "the recording is not root's")
    hm, fg = ctx.path("hm"), ctx.path("fg.html")
    for what, args in (("heatmap", ["--heatmap", "-o", hm]), ("flamegraph", ["--flamegraph", "-o", fg])):
        p = ctx.strobe(["replay"] + args + [rec], ready=False)
        check(p.wait(60) == 0, "strobe replay --%s exited with %s", what, p.rc)
    expect_shown(html_of(hm, fg), [public_word], [private_word])


def kallsyms_head(n=8):
    """The first n lines of /proc/kallsyms as root reads them ("ADDR T name"), and the same
    lines as a reader without CAP_SYSLOG gets them (zero addresses)."""
    with open("/proc/kallsyms") as f:
        lines = [next(f).rstrip("\n") for _ in range(n)]
    real = [l for l in lines if l.split()[0].strip("0")]
    check(real, "/proc/kallsyms shows no address even to root here: this test cannot tell")
    zeroed = ["0" * len(l.split()[0]) + l[len(l.split()[0]):] for l in lines]
    return real, zeroed


@case("read_no_kernel_files", versions={(3, 12)}, engines="one")
def t_read_no_kernel_files(ctx):
    """a target running as nobody names its code /proc/kallsyms: strobe (root, with CAP_SYSLOG)
    shows no kernel address, nor anything of the file (files of proc, sysfs and the other
    kernel file systems are never read for a target)"""
    real, zeroed = kallsyms_head()
    token = uuid.uuid4().hex[:12]
    public_word = "PUBLIC_" + token
    public = ctx.path("public.py")
    marked(public, public_word, 0o644)
    tgt, ready = ctx.start_target("hostile_files.py",
                                  ["--user", "65534:65534", "--code", "/proc/kallsyms",
                                   "--code", public])
    expect_shown(outputs(ctx, ready["pid"]), [public_word], real + zeroed)


@case("read_caps_of_target", versions={(3, 12)}, engines="one")
def t_read_caps_of_target(ctx):
    """a target running as root without any capability names its code after another user's
    0600 file: strobe, root with every capability, does not show it (it reads with the
    target's capabilities too), and still shows the target's world-readable file"""
    private, public, private_word, public_word = private_and_public(ctx, "NOBODYONLY_")
    os.chown(private, 65534, 65534)
    tgt, ready = ctx.start_target("hostile_files.py",
                                  ["--drop-caps", "--code", private, "--code", public])
    check(ready["uid"] == 0, "the target runs as uid %s", ready["uid"])
    expect_shown(outputs(ctx, ready["pid"]), [public_word], [private_word])


@case("read_after_privilege_drop", versions={(3, 12)}, engines="one")
def t_read_after_privilege_drop(ctx):
    """a target that starts as root and drops to nobody while strobe samples it (a server
    forking its workers): its sources are read as nobody, not as the root strobe saw at attach"""
    private, public, private_word, public_word = private_and_public(ctx)
    tgt, ready = ctx.start_target("hostile_files.py",
                                  ["--drop-later", "65534:65534", "--code", private,
                                   "--code", public])
    check(ready["uid"] == 0, "the target runs as uid %s", ready["uid"])
    fg = ctx.path("fg.html")
    p = ctx.strobe(["attach", "-a", "--realtime-stats", "--flamegraph", "-o", fg,
                    str(ready["pid"])], ready=False)
    # sampling has begun (the target's files are held) once the rate line is printed
    p.wait_output("Stats:", timeout=30)
    tgt.send(signal.SIGUSR1)
    check(tgt.message("dropped")["uid"] == 65534, "the target did not become nobody")
    p.send(signal.SIGINT)
    check(p.wait(60) == 0, "strobe attach exited with %s", p.rc)
    with open(fg, encoding="utf-8") as f:
        expect_shown({"flamegraph": f.read()}, [public_word], [private_word])


def wait_rss(p, timeout):
    """Wait (bounded) for strobe p; its exit status and peak resident size in MiB."""
    if not wait_gone(p.pid, timeout):
        p.kill()
        check(False, "%s did not exit within %gs (killed)" % (p.name, timeout))
    _, status, usage = os.wait4(p.pid, 0)
    p.rc = p.p.returncode = os.waitstatus_to_exitcode(status)
    return p.rc, usage.ru_maxrss / 1024.0


def newlines(path, mib):
    """A source file of mib MiB of empty lines (the most lines for its size)."""
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(b"\n" * (1 << 20))
    os.chmod(path, 0o644)


@case("read_source_aliases_bounded", versions={(3, 12)}, engines="one")
def t_read_source_aliases_bounded(ctx):
    """a target names its code after one large file by several names (/x, //x, /d/./x,
    /tmp/../x): the flame graph and the dump read it once, keep only what they show, and stay
    small (not the file times the names, plus an index of every line)"""
    big = ctx.path("big.py")
    newlines(big, 15)
    d, base = os.path.split(big)
    names = [big, "/" + big, d + "/./" + base, "/tmp/.." + big]
    tgt, ready = ctx.start_target("hostile_files.py", [a for n in names for a in ("--code", n)])
    fg = ctx.path("fg.html")
    wrong = []
    for what, args in (("flamegraph", ["attach", "-d", "1", "-a", "--flamegraph", "-o", fg]),
                       ("dump", ["dump", "-a"])):
        p = ctx.strobe(args + [str(ready["pid"])], ready=False)
        rc, rss = wait_rss(p, 120)
        check(rc == 0, "strobe %s exited with %s", what, rc)
        ctx.notes.append("strobe %s: peak RSS %.0f MiB" % (what, rss))
        if rss >= 200:
            wrong.append("strobe %s took %.0f MiB for a 15 MiB source under %d names"
                         % (what, rss, len(names)))
    check(not wrong, "\n".join(wrong))


@case("read_heatmap_bounded", versions={(3, 12)}, engines="one")
def t_read_heatmap_bounded(ctx):
    """a target names its code after a file of millions of empty lines: the heat map, which
    makes a page row of every line, does not show it (its source budget is bytes and lines)
    and stays small"""
    big = ctx.path("big.py")
    newlines(big, 3)
    tgt, ready = ctx.start_target("hostile_files.py", ["--code", big])
    hm = ctx.path("hm")
    p = ctx.strobe(["attach", "-d", "1", "-a", "--heatmap", "-o", hm, str(ready["pid"])],
                   ready=False)
    rc, rss = wait_rss(p, 120)
    check(rc == 0, "strobe attach --heatmap exited with %s", rc)
    ctx.notes.append("strobe --heatmap: peak RSS %.0f MiB" % rss)
    # unbounded, this took 609 MiB; bounded, 70-105 MiB from run to run
    # (the whole libpython is read into memory at attach, see process/elf.c)
    check(rss < 200, "strobe --heatmap took %.0f MiB for a source of 3 million lines", rss)
