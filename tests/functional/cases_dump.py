"""strobe dump PID: one stack dump in Tachyon's text form - sections per
thread, frames root first with their source lines, status words - checked
exactly against the targets' own line numbers and sources, and on 3.15
against Tachyon's own `dump` of the same process."""
import os
import re
import shutil
import subprocess
import tempfile
import time

from cases import case
from harness import SID_ROOT, Failure, check, fn, one_line_error, strip_ansi

STATUS_ORDER = ["main thread", "has GIL", "on CPU", "waiting for GIL", "has exception", "idle"]
HEADER = re.compile(r"^Stack dump(?P<pid> for PID \d+)?, thread (?P<tid>\d+) "
                    r"\((?:(?P<details>.*); )?most recent call last\):$")
FRAME = re.compile(r'^  File "(?P<file>[^"]*)"(?:, line (?P<line>\d+))?, in (?P<func>.*?)'
                   r'(?:  opcode=(?P<opcode>.*))?$')


def parse(text):
    """Sections of a dump: dicts header, pid, tid, details, frames (dicts file,
    line, func, opcode, source), each frame also as its raw lines."""
    check(text.endswith("\n"), "dump does not end with a newline: %r", text[-80:])
    sections = []
    lines = text[:-1].split("\n")
    i = 0
    while i < len(lines):
        m = HEADER.match(lines[i])
        check(m, "line %d: not a section header: %r", i + 1, lines[i])
        check((m.group("pid") is not None) == (not sections),
              "line %d: 'for PID' must be in the first header only: %r", i + 1, lines[i])
        sec = {"header": lines[i], "tid": int(m.group("tid")), "details": m.group("details"),
               "frames": [], "lines": []}
        sections.append(sec)
        i += 1
        while i < len(lines) and lines[i] != "":
            l = lines[i]
            sec["lines"].append(l)
            if l.startswith("        "):
                # dump --locals: "name = repr" under a frame's source line
                check(sec["frames"], "line %d: a local without its frame: %r", i + 1, l)
                name, sep, value = l[8:].partition(" = ")
                check(sep, "line %d: not a local: %r", i + 1, l)
                sec["frames"][-1]["locals"].append((name, value))
            elif l.startswith("    "):
                check(sec["frames"] and sec["frames"][-1]["source"] is None,
                      "line %d: source line without its frame: %r", i + 1, l)
                sec["frames"][-1]["source"] = l[4:]
            elif l == "No Python frames":
                pass
            else:
                m = FRAME.match(l)
                if m:
                    f = m.groupdict()
                    f["line"] = int(f["line"]) if f["line"] else None
                else:
                    check(re.match(r"^  <[^>]+>(  opcode=.*)?$", l), "line %d: not a frame: %r",
                          i + 1, l)
                    f = {"file": None, "line": None, "func": l.strip(), "opcode": None}
                f["source"] = None
                f["locals"] = []
                sec["frames"].append(f)
            i += 1
        if i < len(lines):
            i += 1  # the blank line between sections
            check(i < len(lines), "blank line at the end of the dump")
    return sections


def status_words(details):
    """The status words of a header's details, checked for Tachyon's order."""
    words = [] if not details else details.split("; ")[-1].split(", ")
    check(all(w in STATUS_ORDER for w in words), "unknown status words %r", details)
    check(words == sorted(words, key=STATUS_ORDER.index), "status words out of order: %r", details)
    check(not ("idle" in words and {"has GIL", "on CPU", "waiting for GIL", "has exception"} & set(words)),
          "idle with an active status: %r", details)
    return words


def shown_name(path, cwd):
    """Tachyon's _display_filename, for a strobe running in cwd."""
    rel = os.path.relpath(path, cwd)
    return path if rel == ".." or rel.startswith(".." + os.sep) else rel


def source_lines(ctx, script):
    with open(ctx.path(script), encoding="utf-8") as f:
        return [l.rstrip("\n").lstrip() for l in f]


def expected_frames(ctx, ready, script, chain):
    """[(file, line, func, source)] for chain = [(qualname, marker)]."""
    src = source_lines(ctx, script)
    name = shown_name(ready["file"], ctx.work)
    return [(name, ready["lines"][mk], fn(ctx.interp, q), src[ready["lines"][mk] - 1])
            for q, mk in chain]


def dump(ctx, pid, args=(), env=None, rc=0):
    p = ctx.strobe(["dump"] + list(args) + [str(pid)], ready=False, env=env)
    got = p.wait(30)
    check(got == rc, "strobe dump exited with %s, expected %d:\n%s", got, rc, p.stderr[-600:])
    if rc == 0:
        check(p.stderr == "", "strobe dump wrote to stderr:\n%s", p.stderr[-600:])
    return p


def parked(ctx, pid, args, leaves, env=None):
    """Dump until every thread in leaves ({tid: (func, line)}) is parked on
    its leaf line (a target says ready a little before it gets there);
    returns (process, sections).  Bounded: 10 s."""
    deadline = time.monotonic() + 10
    while True:
        p = dump(ctx, pid, args, env=env)
        secs = parse(p.stdout)
        at = {s["tid"]: (s["frames"][-1]["func"], s["frames"][-1]["line"])
              for s in secs if s["frames"]}
        if all(at.get(t) == want for t, want in leaves.items()) or time.monotonic() > deadline:
            return p, secs


def check_frames(sec, want, what):
    got = [(f["file"], f["line"], f["func"], f["source"]) for f in sec["frames"]]
    check(got == want, "%s: frames differ\n  got:\n    %s\n  expected:\n    %s", what,
          "\n    ".join(map(repr, got)), "\n    ".join(map(repr, want)))


def chain_leaf(ctx, ready):
    return {ready["tid"]: (fn(ctx.interp, "leaf"), ready["lines"]["leaf"])}


def threads_leaves(ctx, ready):
    L, tids = ready["lines"], ready["threads"]
    out = {tids[r]: (fn(ctx.interp, "Workers." + r), L[r]) for r in ("spin_a", "spin_b", "sleeper")}
    out[tids["main"]] = (fn(ctx.interp, "main"), L["main_wait"])
    return out


CHAIN = [("<module>", "module"), ("main", "main"), ("Outer.method", "method"),
         ("Outer.method.<locals>.inner", "inner"), ("Outer.Nested.static", "lambda"),
         ("Outer.Nested.static.<locals>.<lambda>", "lambda"), ("leaf", "leaf")]


@case("dump_chain", quick=True, debug=True)
def t_dump_chain(ctx):
    """dump of a parked call chain: exact header, frames, lines, qualnames and source lines"""
    tgt, ready = ctx.start_target("chain.py")
    pid = ready["pid"]
    p, secs = parked(ctx, pid, [], chain_leaf(ctx, ready))
    check(len(secs) == 1, "%d sections without -a, expected 1:\n%s", len(secs), p.stdout)
    sec = secs[0]
    check(sec["header"].startswith("Stack dump for PID %d, thread %d (" % (pid, ready["tid"])),
          "header %r", sec["header"])
    words = status_words(sec["details"])
    check("main thread" in words, "no 'main thread' in %r", sec["header"])
    check_frames(sec, expected_frames(ctx, ready, "chain.py", CHAIN), "chain.py")
    check(not any(f["opcode"] for f in sec["frames"]), "opcodes without --opcodes")
    # relative to the working directory only when the file lies inside it
    p = ctx.strobe(["dump", str(pid)], ready=False, cwd="/")
    p.wait(30)
    f = parse(p.stdout)[0]["frames"][0]["file"]
    check(f == shown_name(ready["file"], "/"), "from /: file shown as %r", f)
    if tuple(ctx.interp.version[:2]) == (3, 15):
        same_as_tachyon(ctx, pid, [])
        same_as_tachyon(ctx, pid, [], color=True)
        same_as_tachyon(ctx, pid, ["--opcodes"])
    check(tgt.poll() is None, "the target died")


@case("dump_threads", quick=True, debug=True)
def t_dump_threads(ctx):
    """dump -a: one section per thread with its native id, main thread first-class; no -a: main only"""
    tgt, ready = ctx.start_target("threads.py")
    pid, tids = ready["pid"], ready["threads"]
    _, secs = parked(ctx, pid, ["-a"], threads_leaves(ctx, ready))
    by_tid = {s["tid"]: s for s in secs}
    check(len(by_tid) == len(secs) and set(by_tid) == set(tids.values()),
          "sections for threads %s, expected %s", [s["tid"] for s in secs], sorted(tids.values()))
    main = by_tid[tids["main"]]
    check_frames(main, expected_frames(ctx, ready, "threads.py",
                                       [("<module>", "module"), ("main", "main_wait")]), "main")
    check("main thread" in status_words(main["details"]), "main thread header %r", main["header"])
    for role in ("spin_a", "spin_b", "sleeper"):
        sec = by_tid[tids[role]]
        check("main thread" not in status_words(sec["details"]), "%s: %r", role, sec["header"])
        want = expected_frames(ctx, ready, "threads.py", [("Workers." + role, role)])[0]
        leaf = sec["frames"][-1]
        check((leaf["file"], leaf["line"], leaf["func"], leaf["source"]) == want,
              "%s: leaf %r, expected %r", role, leaf, want)
        # threading's frames below it, each with its source line
        below = sec["frames"][:-1]
        check(below and all(f["file"] and f["file"].endswith("threading.py") and f["source"]
                            for f in below), "%s: frames below the leaf: %r", role, below)
    only = parse(dump(ctx, pid).stdout)
    check([s["tid"] for s in only] == [tids["main"]], "without -a: sections %r",
          [s["header"] for s in only])
    if tuple(ctx.interp.version[:2]) == (3, 15):
        same_as_tachyon(ctx, pid, ["-a"])
        same_as_tachyon(ctx, pid, ["-a", "--native"])
    check(tgt.poll() is None, "the target died")


@case("dump_options")
def t_dump_options(ctx):
    """dump --opcodes names every frame's opcode; --native (3.11+) marks C boundaries; colour on demand"""
    tgt, ready = ctx.start_target("threads.py")
    pid, it = ready["pid"], ctx.interp
    plain = parked(ctx, pid, ["-a"], threads_leaves(ctx, ready))[0].stdout
    secs = parse(dump(ctx, pid, ["-a", "--opcodes"]).stdout)
    for sec in secs:
        for f in sec["frames"]:
            check(f["opcode"] and re.match(r"^[A-Z_0-9]+( \([A-Z_0-9]+\))?$", f["opcode"]),
                  "frame without a proper opcode: %r", f)
    # colour: the same text once the escapes are gone, the header in bold blue
    col = dump(ctx, pid, env=ctx.env(FORCE_COLOR="1")).stdout
    check(col.startswith("\x1b[1;34mStack dump for PID %d" % pid), "no colour: %r", col[:80])
    check(_comparable(strip_ansi(col)) == _comparable(dump(ctx, pid).stdout),
          "coloured dump differs from plain:\n%s", col)
    nocol = dump(ctx, pid, env=ctx.env(FORCE_COLOR="1", NO_COLOR="1")).stdout
    check("\x1b" not in nocol, "colour despite NO_COLOR")
    if tuple(it.version[:2]) >= (3, 11):
        nat = parse(dump(ctx, pid, ["-a", "--native"]).stdout)
        for sec in nat:
            names = [f["func"] for f in sec["frames"]]
            check(names[-1] != "<native>", "<native> at the leaf: %r", names)
            plain_names = [f["func"] for s in parse(plain) if s["tid"] == sec["tid"]
                           for f in s["frames"]]
            check([n for n in names if n != "<native>"] == plain_names,
                  "--native changed the Python frames: %r vs %r", names, plain_names)
        check(any("<native>" in [f["func"] for f in s["frames"]] for s in nat),
              "no <native> frame in any thread (threads start from C)")
    else:
        p = ctx.strobe(["dump", "--native", str(pid)], ready=False)
        p.wait(30)
        line = one_line_error(p, rc=2)
        check("3.11" in line, "--native on %s: %r", it.short, line)
    check(tgt.poll() is None, "the target died")


@case("dump_blocking", quick=True)
def t_dump_blocking(ctx):
    """dump --blocking: the same frames, and the target runs on (not stopped, not traced)"""
    tgt, ready = ctx.start_target("chain.py")
    pid = ready["pid"]
    sec = parked(ctx, pid, ["--blocking"], chain_leaf(ctx, ready))[1][0]
    check_frames(sec, expected_frames(ctx, ready, "chain.py", CHAIN), "chain.py --blocking")
    with open("/proc/%d/status" % pid) as f:
        status = f.read()
    check(re.search(r"^TracerPid:\s*0$", status, re.M), "target still traced:\n%s", status)
    state = re.search(r"^State:\s*(\S)", status, re.M).group(1)
    check(state not in "tT", "target left in state %s", state)


# locals.py's hold(): each local and the repr dump --locals shows for it
HOLD_LOCALS = [("arg", "-3"), ("small", "42"), ("big", "-12345678901234567890123456789"),
               ("ratio", "2.5"), ("text", "\"it's \u00fc\""), ("data", "b\"\\x00ab'\""),
               ("flag", "True"), ("nothing", "None"), ("items", "<list of 3>"),
               ("table", "<dict of 2>"), ("obj", "<Custom object>"),
               ("reader", "<function object>"), ("long_text", "'" + "x" * 60 + "'..."),
               ("cell", "7")]


@case("dump_locals", quick=True, debug=True)
def t_dump_locals(ctx):
    """dump --locals: each frame's local variables (int, big int, float, str, bytes, bool, None, containers, objects, a cell) exactly"""
    tgt, ready = ctx.start_target("locals.py")
    pid, L = ready["pid"], ready["lines"]
    leaf = {ready["tid"]: (fn(ctx.interp, "hold"), L["hold"])}
    for args in (["--locals"], ["--locals", "--blocking"]):
        p, secs = parked(ctx, pid, args, leaf)
        check(len(secs) == 1, "%s: %d sections:\n%s", args, len(secs), p.stdout)
        frames = secs[0]["frames"]
        got = [(f["func"], f["line"], f["locals"]) for f in frames]
        want = [(fn(ctx.interp, "<module>"), L["module"], []),
                (fn(ctx.interp, "outer"), L["outer"], [("mine", "<tuple of 2>")]),
                (fn(ctx.interp, "hold"), L["hold"], HOLD_LOCALS)]
        check(got == want, "%s: locals differ\n  got:\n    %s\n  expected:\n    %s", args,
              "\n    ".join(map(repr, got)), "\n    ".join(map(repr, want)))
        # each local line comes right after its frame's source line
        check([f["source"] for f in frames] == [src for *_, src in expected_frames(
            ctx, ready, "locals.py", [("<module>", "module"), ("outer", "outer"),
                                      ("hold", "hold")])],
              "%s: source lines differ:\n%s", args, p.stdout)
    # without --locals, none
    plain = parse(dump(ctx, pid).stdout)
    check(not any(f["locals"] for s in plain for f in s["frames"]), "locals without --locals")
    # with what rebuilds or merges stacks: refused
    for other in ("--async-aware", "--native-stacks"):
        p = ctx.strobe(["dump", "--locals", other, str(pid)], ready=False)
        p.wait(30)
        check(p.rc == 2, "%s: exit status %s, expected 2", other, p.rc)
        want = "strobe: error: --locals is incompatible with %s." % other
        check(p.stderr.splitlines()[-1:] == [want], "%s: %r", other, p.stderr)
    check(tgt.poll() is None, "the target died")


@case("dump_exited", quick=True)
def t_dump_exited(ctx):
    """dump of a Python process that has exited (a zombie): Tachyon's 'No stack dump collected' line, exit 1"""
    z = ctx.spawn(ctx.interp.command("-c", "pass"), ready=False, name="zombie")
    os.waitid(os.P_PID, z.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    for args in ([], ["--blocking"]):
        p = ctx.strobe(["dump"] + args + [str(z.pid)], ready=False)
        p.wait(30)
        line = one_line_error(p)
        want = ("No stack dump collected - process %d exited before its stack could be read."
                % z.pid)
        check(line == want, "got %r, expected %r", line, want)


@case("dump_no_such_pid", kind="global", quick=True)
def t_dump_no_such_pid(ctx):
    """dump of a PID that does not exist: Tachyon's line, exit 1"""
    gone = subprocess.Popen(["/bin/true"])
    gone.wait(10)
    p = ctx.strobe(["dump", str(gone.pid)], ready=False)
    p.wait(30)
    line = one_line_error(p)
    want = "strobe cannot find the process: Process with PID '%d' does not exist." % gone.pid
    check(line == want, "got %r, expected %r", line, want)


@case("dump_not_python", kind="global", quick=True)
def t_dump_not_python(ctx):
    """dump of a process that is not Python (sleep): one line, exit 1, sleep unharmed"""
    sl = ctx.spawn(["sleep", "100"], ready=False)
    p = ctx.strobe(["dump", str(sl.pid)], ready=False)
    p.wait(30)
    line = one_line_error(p)
    check(re.search(r"python", line, re.I) and str(sl.pid) in line,
          "message does not say process %d is not Python: %r", sl.pid, line)
    check(sl.poll() is None, "sleep died")
    # --async-aware changes nothing: the same line
    p = ctx.strobe(["dump", "--async-aware", str(sl.pid)], ready=False)
    p.wait(30)
    check(one_line_error(p) == line, "--async-aware: %r, expected %r", p.stderr, line)


# ---------------------------------------------------------------------------
# --async-aware: one section per leaf task (3.14+)

def async_sections(ctx, text, ready):
    """{task id: (tid, frames)} of an async dump; frames as cases_async
    writes them ("<task>:NAME:0", "async_tree.py:FUNC:LINE"), only the
    <task> frames and the target's own."""
    out = {}
    for sec in parse(text):
        m = re.match(r"^task (\d+)$", sec["details"] or "")
        check(m, "async section without its task: %r", sec["header"])
        check(int(m.group(1)) not in out, "task %s has two sections", m.group(1))
        frames = []
        for f in sec["frames"]:
            if f["file"] == "<task>":
                check(f["line"] is None and f["source"] is None, "task frame %r", f)
                frames.append("<task>:%s:0" % f["func"])
            elif f["file"] and os.path.basename(f["file"]) == "async_tree.py":
                check(f["file"] == shown_name(ready["file"], ctx.work), "file shown as %r", f["file"])
                frames.append("async_tree.py:%s:%d" % (f["func"], f["line"]))
        out[int(m.group(1))] = (sec["tid"], frames)
    return out


@case("dump_async", quick=True)
def t_dump_async(ctx):
    """dump --async-aware: a section per leaf task ("task ID"), all tasks by default, running with --async-mode running"""
    import cases_async as ca
    it = ctx.interp
    if not ca.supported(it):
        tgt, ready = ctx.start_target("chain.py")
        p = ctx.strobe(["dump", "--async-aware", str(ready["pid"])], ready=False)
        p.wait(30)
        line = one_line_error(p, rc=2)
        check("--async-aware needs CPython 3.14 or newer" in line and
              "runs Python %d.%d" % tuple(it.version[:2]) in line, "message %r", line)
        return
    tgt, ready = ctx.start_target(ca.TARGET, ["--thread"])
    pid, L, tids = ready["pid"], ready["lines"], ready["threads"]
    want = {(tids[role], tuple(frames)) for role, frames in ca.all_stacks(L).values()}
    # the worker says ready a little before it spins; the other tasks
    # suspend right after marking themselves: bounded wait for both
    deadline = time.monotonic() + 10
    while True:
        text = dump(ctx, pid, ["--async-aware", "--async-mode", "running"]).stdout
        run = async_sections(ctx, text, ready)
        if list(run.values()) == [(tids["main"], ca.running_stack(L))]:
            break
        check(time.monotonic() < deadline, "--async-mode running:\n%s\nexpected %s on thread %d",
              text, ";".join(ca.running_stack(L)), tids["main"])
    while True:
        text = dump(ctx, pid, ["--async-aware"]).stdout
        secs = async_sections(ctx, text, ready)
        got = {(tid, tuple(ca.fans_as_one(fr))) for tid, fr in secs.values()}
        if got == want and len(secs) == len(want):
            break
        check(time.monotonic() < deadline, "async dump (all tasks):\n%s\nexpected:\n%s",
              text, "\n".join(";".join(f) for _, f in sorted(want)))
    # the same with --blocking, and with --async-mode all said explicitly
    for args in (["--blocking"], ["--async-mode", "all"]):
        again = async_sections(ctx, dump(ctx, pid, ["--async-aware"] + args).stdout, ready)
        check(again == secs, "dump --async-aware %s differs:\n%r\n%r", " ".join(args), again, secs)
    if tuple(it.version[:2]) == (3, 15):
        for args in (["--async-aware"], ["--async-aware", "--async-mode", "running"]):
            same_as_tachyon(ctx, pid, args, by_section=True)
    check(tgt.poll() is None, "the target died")


# ---------------------------------------------------------------------------
# Tachyon's own dump of the same process (3.15)

def tachyon_dump(ctx, pid, args, color=False):
    """stdout of `python3.15 -m profiling.sampling dump ARGS PID` run in the sid
    root (private mount namespace with /proc, and a link making the host paths
    of /proc/PID/maps resolve inside the root, as tests/functional/tachyon_shim.py)."""
    scratch = tempfile.mkdtemp(prefix="strobe-tachyon-", dir=os.path.join(SID_ROOT, "tmp"))
    os.chmod(scratch, 0o755)
    inside = "/" + os.path.relpath(scratch, SID_ROOT)
    root_parent = os.path.dirname(SID_ROOT)
    inner = ('mount -t proc proc "$0/proc" && mount -t tmpfs none "$0%s" && '
             'mkdir -p "$0%s" && ln -s / "$0$0" && '
             'exec chroot "$0" sh -c \'cd "$1" && shift && exec python3.15 -m profiling.sampling '
             '"$@"\' "$0" "$@"' % (os.path.dirname(root_parent), root_parent))
    env = ctx.env(FORCE_COLOR="1" if color else None, NO_COLOR=None if color else "1",
                  PYTHON_COLORS=None, TERM="xterm")
    p = ctx.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", inner, SID_ROOT,
                   inside, "dump"] + list(args) + [str(pid)], ready=False, env=env,
                  name="tachyon")
    try:
        rc = p.wait(120)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    check(rc == 0, "Tachyon dump exited with %s:\n%s", rc, p.stderr[-800:])
    return p.stdout


def _comparable(text):
    """Dump text with what may differ between two moments masked: each
    header's details (status words) and, in each section's leaf frame, the
    opcode and the highlighted part of the source line (the instruction
    executing)."""
    out = text.split("\n")
    leaf = None  # index of the last frame line of the current section
    for i, l in enumerate(out + [""]):
        plain = strip_ansi(l)
        if HEADER.match(plain):
            out[i] = re.sub(r"\((.*)most recent call last\)", "(...most recent call last)", l)
        elif FRAME.match(plain) or re.match(r"^  <[^>]+>", plain):
            leaf = i
        elif plain == "" and leaf is not None:
            out[leaf] = re.sub(r"opcode=[^\x1b]*", "opcode=?", out[leaf])
            if leaf + 1 < len(out) and strip_ansi(out[leaf + 1]).startswith("    "):
                out[leaf + 1] = strip_ansi(out[leaf + 1])
            leaf = None
    return out


def _sections(lines):
    """Comparable lines cut into sections, in a fixed order, the first
    header's "for PID N" dropped (async dumps: Tachyon's sections come in the
    order of a Python set of task ids)."""
    secs = "\n".join(lines).split("\n\n")
    secs = [re.sub(r"^Stack dump for PID \d+, ", "Stack dump, ", x) for x in secs]
    return "\n\n".join(sorted(secs)).split("\n")


def same_as_tachyon(ctx, pid, args, color=False, by_section=False):
    env = ctx.env(FORCE_COLOR="1") if color else ctx.env(NO_COLOR="1")
    ours = dump(ctx, pid, args, env=env).stdout
    theirs = tachyon_dump(ctx, pid, args, color)
    a, b = _comparable(ours), _comparable(theirs)
    if by_section:
        a, b = _sections(a), _sections(b)
    if a != b:
        diff = next(i for i in range(max(len(a), len(b)))
                    if i >= len(a) or i >= len(b) or a[i] != b[i])
        raise Failure("dump %s differs from Tachyon's at line %d:\n  strobe:  %r\n  Tachyon: %r\n"
                      "--- strobe\n%s--- Tachyon\n%s"
                      % (" ".join(args), diff + 1, a[diff] if diff < len(a) else None,
                         b[diff] if diff < len(b) else None, ours, theirs))
    ctx.notes.append("dump %s identical to Tachyon's (status words aside)" % " ".join(args))
