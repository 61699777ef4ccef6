"""--gecko (Firefox Profiler JSON): run, attach and replay on every interpreter,
checked by gecko_validate.py (the profiler's documented format) and against
Tachyon's own --gecko output: byte for byte for replays of one binary file
(apart from meta.startTime and the profiler's pid), structurally for live
runs of the same program on 3.15.  Also: --opcodes markers, --mode rejected,
default names, and memory that does not grow with the length of the run."""
import json
import os
import re
import shutil
import stat

import gecko_validate as gv
from cases import case, expect_success, fn, frame, spin_stack, strip_runpy
from harness import Failure, Tachyon, check, one_line_error

WRITTEN = re.compile(r"^Gecko profile written to (.*)\nOpen in Firefox Profiler: "
                     r"https://profiler\.firefox\.com/$", re.M)
MODE_MSG = ("--mode option is incompatible with --gecko. Gecko format automatically includes "
            "both GIL-holding and CPU status analysis.")


def load_valid(path):
    """The parsed profile at path, after the validator found nothing wrong."""
    check(os.path.exists(path), "no gecko file %s", path)
    try:
        prof = gv.load(path)
    except gv.Invalid as e:
        raise Failure(str(e))
    problems = gv.validate(prof)
    check(not problems, "%s is not a valid Firefox Profiler file:\n  %s", os.path.basename(path),
          "\n  ".join(problems))
    return prof


# A Python frame stopped at an instruction the location table gives no line
# (code 15, e.g. exception-cleanup code) gets lineno -1 from Tachyon's live
# sampler, and its gecko collector writes `lineno if lineno else None`: -1.
# The Firefox Profiler has no such line; Tachyon's own replay of that frame
# writes null, and so does strobe, live or replayed.  Only in Tachyon's live
# files, and only there, is that -1 let through.
_TACHYON_NO_LINE = re.compile(r"^threads\[\d+\]\.(frameTable\[\d+\]: line|"
                              r"funcTable\[\d+\]: lineNumber) -1$")


def load_tachyon_live(path):
    """Tachyon's live --gecko file at path, parsed, once the validator found
    nothing wrong with it apart from the -1 lines above."""
    try:
        prof = gv.load(path)
    except gv.Invalid as e:
        raise Failure("Tachyon's file: %s" % e)
    problems = [p for p in gv.validate(prof) if not _TACHYON_NO_LINE.match(p)]
    check(not problems, "%s is not a valid Firefox Profiler file:\n  %s", os.path.basename(path),
          "\n  ".join(problems))
    return prof


def expect_written(p, path, shown=None):
    """The two lines Tachyon prints after writing (naming `shown`, default
    path), and the file as every strobe output: mode 0666 minus the umask (Tachyon's
    is 0600), no temporary files."""
    shown = shown or path
    m = WRITTEN.search(p.stdout)
    check(m and m.group(1) == shown, "no 'Gecko profile written to %s' + 'Open in Firefox "
          "Profiler' lines:\n%s", shown, p.stdout[-600:])
    mode = stat.S_IMODE(os.stat(path).st_mode)
    mask = os.umask(0)
    os.umask(mask)
    check(mode == 0o666 & ~mask, "%s has mode %o, expected %o", path, mode, 0o666 & ~mask)
    left = [f for f in os.listdir(os.path.dirname(path)) if ".tmp" in f or ".strobe-" in f]
    check(not left, "temporary files left beside the output: %s", left)


def thread_of(prof, tid):
    ts = [t for t in prof["threads"] if t["tid"] == tid]
    check(len(ts) == 1, "%d threads with tid %d in %s", len(ts), tid,
          [t["tid"] for t in prof["threads"]])
    return ts[0]


def frames_text(stack):
    """'file:func:line' root first, as cases.frame() spells them."""
    out = []
    for (fn_, line, _c, _cat, _s, _a, _d), _sc in stack:
        name, _js, _rel, res, _file, _ln, _cn = fn_
        out.append(name if res == "~" else "%s:%s:%d" % (res, name, line or 0))
    return out


def top_stack(prof, t):
    """(frames root first, count, total) of the thread's most frequent sample stack."""
    r = gv.resolve_thread(prof, t)
    counts = {}
    for s in r["samples"]:
        # by line: frames that differ in their column only count as one
        key = tuple(frames_text(s))
        counts[key] = counts.get(key, 0) + 1
    check(counts, "thread %s has no samples", t["tid"])
    best = max(counts.items(), key=lambda kv: kv[1])
    return list(best[0]), best[1], len(r["samples"])


def marker_names(prof, t):
    s = prof["shared"]["stringArray"]
    return [s[i] for i in t["markers"]["name"]]


_START = re.compile(rb'"startTime":[-0-9.e+]+,"abi"')
_PID = re.compile(rb'"pid":"\d+"')


def normalized(path):
    """The file's bytes without what differs between any two writers: the
    collector's creation time and the profiler's own pid."""
    with open(path, "rb") as f:
        data = f.read()
    data, n = _START.subn(b'"startTime":0,"abi"', data, count=1)
    check(n == 1, "%s: no meta.startTime before abi", path)
    return _PID.sub(b'"pid":"0"', data)


_ENDS_EARLY = re.compile(r"^threads\[\d+\]\.markers\[\d+\]: interval ends \(([-0-9.e+]+)\) "
                        r"before it starts")


def spans_closed_at_latest(theirs, mine, problems):
    """Tachyon's replay closes the spans still open at the end at the time of
    the last sample it replays.  A binary file keeps each thread's samples in
    time order but not the threads' records (a run of repeats is written when
    it ends, a thread that exited has its run written at the very end), so that
    time can be earlier than other threads' last samples and those spans end
    before they start.  strobe closes them at the latest sample's time.
    Returns Tachyon's profile with each thread's closing spans (among as many
    trailing markers as strobe's file ends at that time) moved to that time;
    fails if Tachyon's file has any other problem."""
    early = set()
    for p in problems:
        m = _ENDS_EARLY.match(p)
        check(m, "Tachyon's replay is not a valid Firefox Profiler file:\n  %s", p)
        early.add(float(m.group(1)))
    check(len(early) == 1, "Tachyon's spans end early at several times: %s", sorted(early))
    last = early.pop()
    end = max(e for t in mine["threads"] for e in t["markers"]["endTime"])
    for ours, t in zip(mine["threads"], theirs["threads"]):
        mk, om = t["markers"], ours["markers"]
        k = 0
        while k < om["length"] and om["endTime"][om["length"] - 1 - k] == end:
            k += 1
        check(k <= mk["length"], "thread %s: %d closing spans, Tachyon has %d markers",
              t["tid"], k, mk["length"])
        for i in range(mk["length"] - k, mk["length"]):
            if mk["endTime"][i] == end:  # closed by that thread's own last sample
                continue
            check(mk["endTime"][i] == last, "thread %s: Tachyon's marker %d ends at %r, not %r",
                  t["tid"], i, mk["endTime"][i], last)
            mk["endTime"][i] = end
            if isinstance(mk["data"][i], dict) and "duration" in mk["data"][i]:
                mk["data"][i]["duration"] = end - mk["startTime"][i]
    return theirs


def same_as_tachyon_replay(ctx, binfile, label):
    """strobe's and Tachyon's replay --gecko of binfile are the same file
    (apart from startTime and pid); returns strobe's profile."""
    ours = ctx.path("strobe-%s.json" % label)
    p = ctx.strobe(["replay", "--gecko", "-o", ours, binfile], ready=False)
    check(p.wait(120) == 0, "strobe replay --gecko exited with %s: %s", p.rc, p.stderr[-400:])
    expect_written(p, ours)
    check(re.search(r"^Replayed \d+ samples$", p.stdout, re.M), "no 'Replayed N samples' line")
    mine = load_valid(ours)
    t = Tachyon(ctx)
    try:
        inside = t.put(binfile, "in.bin")
        t.run(["replay", "--gecko", "-o", "theirs.json", inside])
        theirs_path = ctx.path("tachyon-%s.json" % label)
        shutil.copy(t.host("theirs.json"), theirs_path)
    finally:
        t.cleanup()
    try:
        theirs = gv.load(theirs_path)
    except gv.Invalid as e:
        raise Failure("Tachyon's replay: %s" % e)
    problems = gv.validate(theirs)
    if problems:
        # the one way Tachyon's replay may be wrong: compare with it mended
        theirs = spans_closed_at_latest(theirs, mine, problems)
        diffs = gv.compare(mine, theirs, timing=True)
        ctx.notes.append("%s: Tachyon's replay closes open spans before they start (%d "
                         "markers); strobe's closes them at the latest sample"
                         % (label, len(problems)))
    elif normalized(ours) != normalized(theirs_path):
        diffs = gv.compare(mine, theirs, timing=True) or ["(no structural difference: bytes "
                                                          "differ in formatting)"]
    else:
        diffs = []
    if diffs:
        raise Failure("strobe's and Tachyon's replays of %s differ:\n  %s"
                      % (label, "\n  ".join(diffs[:12])))
    ctx.notes.append("%s: %s" % (label, "; ".join(gv.summary(mine))))
    return mine


# ---------------------------------------------------------------------------
# run and attach

def check_threads_profile(ctx, prof, ready, samples):
    """The profile of threads.py -a: every thread, the right main thread,
    each spinner's own stack, CPU markers that say who spins and who sleeps."""
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    got = {t["tid"] for t in prof["threads"]}
    check(set(tids.values()) <= got, "threads %s, expected at least %s", sorted(got),
          sorted(tids.values()))
    mains = [t["tid"] for t in prof["threads"] if t["isMainThread"]]
    check(mains == [tids["main"]], "isMainThread set for %s, expected [%d]", mains, tids["main"])
    for t in prof["threads"]:
        check(t["samples"]["length"] <= samples, "thread %s: %d samples from %d", t["tid"],
              t["samples"]["length"], samples)
        check(t["name"] == "Thread-%d" % t["tid"], "thread name %r", t["name"])
        check(t["pid"] == str(ctx.strobe_pid), "pid %r, expected strobe's %d", t["pid"],
              ctx.strobe_pid)
    for role in ("spin_a", "spin_b"):
        t = thread_of(prof, tids[role])
        frames, n, _ = top_stack(prof, t)
        leaf = frame(it, "threads.py", "Workers." + role, L[role])
        check(frames and frames[-1] == leaf, "top stack of %s ends in %s, expected %s",
              role, frames[-1:], leaf)
        # the start-up of the thread does not count, torn or mislabelled stacks do
        in_fn = sum(1 for st in gv.resolve_thread(prof, t)["samples"]
                    if st and frames_text(st)[-1].rsplit(":", 1)[0] == leaf.rsplit(":", 1)[0])
        check(n >= 0.9 * in_fn, "only %d of %d samples of %s in %s have its stack", n, in_fn,
              role, leaf)
        names = marker_names(prof, t)
        check("On CPU" in names, "%s has no 'On CPU' marker: %s", role, sorted(set(names)))
        check("Has GIL" in names, "%s has no 'Has GIL' marker: %s", role, sorted(set(names)))
    names = marker_names(prof, thread_of(prof, tids["sleeper"]))
    check("Off CPU" in names, "the sleeper has no 'Off CPU' marker: %s", sorted(set(names)))
    # times count from the earliest sample, and meta.interval is about the
    # 1 ms asked for (the time spanned over the ticks; with --engine bpf,
    # whose samples are of one thread each on its own clock, over the
    # samples of the thread sampled most)
    times = [x for t in prof["threads"] for x in t["samples"]["time"]]
    marks = [x for t in prof["threads"] for k in ("startTime", "endTime")
             for x in t["markers"][k] if x is not None]
    check(times and min(times) >= 0, "a sample at %r ms, before the first", min(times or [None]))
    # no span before the first sample; with bpf the first look at each
    # thread opens its status spans at its first sample, time 0 (the
    # reader's first ticks under load may carry none: 1-6 ms seen)
    check(marks and min(marks) >= 0, "a marker at %r ms, before the first sample",
          min(marks or [None]))
    if ctx.engine == "bpf":
        check(min(marks) == 0, "the earliest marker at %r ms, not 0", min(marks))
    interval = prof["meta"]["interval"]
    check(0.5 <= interval <= 3, "meta.interval %r ms, sampling every 1 ms", interval)


@case("gecko_run", quick=True, engines=True)
def t_gecko_run(ctx):
    """run -a --gecko: a valid profile with every thread, its stacks and status markers"""
    out = ctx.path("run.json")
    p = ctx.strobe(["run", "-d", "1", "-a", "--gecko", "-o", out] + ctx.run_args("threads.py"))
    ready = p.message("ready")
    s = expect_success(p, duration=1)
    ctx.strobe_pid = p.pid
    expect_written(p, out)
    prof = load_valid(out)
    check_threads_profile(ctx, prof, ready, s["samples"])
    ctx.notes.extend(gv.summary(prof))
    if tuple(ctx.interp.version[:2]) == (3, 15):
        same_shape_as_tachyon_run(ctx, prof, ["-d", "1", "-a"], "threads.py", ready)


@case("gecko_attach", engines=True)
def t_gecko_attach(ctx):
    """attach -a --gecko to a running program"""
    proc, ready = ctx.start_target("threads.py")
    out = ctx.path("attach.json")
    p = ctx.strobe(["attach", "-d", "1", "-a", "--gecko", "-o", out, str(ready["pid"])],
                   ready=False)
    s = expect_success(p, duration=1)
    ctx.strobe_pid = p.pid
    expect_written(p, out)
    check_threads_profile(ctx, load_valid(out), ready, s["samples"])
    check(proc.poll() is None, "the target exited after strobe detached")


@case("gecko_gc_exceptions", engines=True)
def t_gecko_gc_exceptions(ctx):
    """run --gecko: 'GC Collecting' spans while <GC> is on the stack, exception spans per thread"""
    out = ctx.path("gc.json")
    p = ctx.strobe(["run", "-d", "1", "--gecko", "-o", out] + ctx.run_args("gc_target.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    prof = load_valid(out)
    t = thread_of(prof, ready["tid"])
    r = gv.resolve_thread(prof, t)
    in_gc = [any(f[0][0] == "<GC>" for f, _ in s) for s in r["samples"]]
    check(any(in_gc), "no sample inside the collector")
    names = marker_names(prof, t)
    check("GC Collecting" in names, "no 'GC Collecting' marker: %s", sorted(set(names)))
    # GC spans start at samples with <GC> on the stack, every such sample lies
    # in a span, and a sample entering <GC> starts one.  (A sample with no
    # Python frame has no row but does end a span: two spans may follow rows
    # that are both in <GC>.)
    times = t["samples"]["time"]
    gc_times = {times[i] for i in range(len(times)) if in_gc[i]}
    entering = {times[i] for i in range(len(times)) if in_gc[i] and (i == 0 or not in_gc[i - 1])}
    m = t["markers"]
    spans = [(m["startTime"][k], m["endTime"][k]) for k, nm in enumerate(names)
             if nm == "GC Collecting"]
    for start, _ in spans:
        check(start in gc_times, "a GC span starts at %r, where <GC> is not on the stack", start)
    starts = {start for start, _ in spans}
    for at in sorted(entering):
        check(at in starts, "no GC span starts at %r, where <GC> appears", at)
    for at in sorted(gc_times):
        check(any(a <= at <= b for a, b in spans), "the sample at %r in <GC> is in no GC span", at)
    for at in sorted(set(times) - gc_times):
        check(not any(a <= at < b for a, b in spans), "the sample at %r, not in <GC>, is inside "
              "a GC span", at)
    out = ctx.path("exc.json")
    p = ctx.strobe(["run", "-d", "1", "-a", "--gecko", "-o", out] + ctx.run_args("exceptions.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    prof = load_valid(out)
    tids = ready["threads"]
    h = marker_names(prof, thread_of(prof, tids["handler"]))
    q = marker_names(prof, thread_of(prof, tids["plain"]))
    check("Has Exception" in h, "the handler thread has no 'Has Exception' span: %s",
          sorted(set(h)))
    check("Has Exception" not in q, "the plain thread has a 'Has Exception' span")
    check("No Exception" in q, "the plain thread has no 'No Exception' span: %s", sorted(set(q)))


# ---------------------------------------------------------------------------
# replay, against Tachyon's replay of the same file

@case("gecko_replay", quick=True)
def t_gecko_replay(ctx):
    """replay --gecko of a strobe --binary file: the same file as Tachyon's replay"""
    binfile = ctx.path("threads.bin")
    p = ctx.strobe(["run", "-d", "1", "-a", "--binary", "-o", binfile]
                   + ctx.run_args("threads.py"))
    p.message("ready")
    expect_success(p, duration=1)
    same_as_tachyon_replay(ctx, binfile, "threads")


@case("gecko_replay_gc")
def t_gecko_replay_gc(ctx):
    """replay --gecko of files with <GC> frames and exception status: as Tachyon's replay"""
    for script in ("gc_target.py", "exceptions.py"):
        binfile = ctx.path(script[:-3] + ".bin")
        p = ctx.strobe(["run", "-d", "1", "-a", "--binary", "-o", binfile] + ctx.run_args(script))
        p.message("ready")
        expect_success(p, duration=1)
        same_as_tachyon_replay(ctx, binfile, script[:-3])


@case("gecko_replay_tachyon", kind="global")
def t_gecko_replay_tachyon(ctx):
    """replay --gecko of files Tachyon recorded (threads, GC, exceptions; zstd and not)"""
    t = Tachyon(ctx)
    try:
        host = os.path.join(os.path.dirname(__file__), "..", "targets")
        for f in os.listdir(host):
            if f.endswith(".py"):
                t.put(os.path.join(host, f))
        files = []
        for script, comp in (("threads.py", "zstd"), ("gc_target.py", "none"),
                             ("exceptions.py", "zstd")):
            name = "%s.bin" % script[:-3]
            t.run(["run", "-d", "1", "-a", "--binary", "--compression", comp, "-o", name, script])
            files.append((name, ctx.path(name)))
            shutil.copy(t.host(name), ctx.path(name))
    finally:
        t.cleanup()
    for name, path in files:
        same_as_tachyon_replay(ctx, path, "tachyon-" + name[:-4])


# ---------------------------------------------------------------------------
# Live runs against Tachyon's (3.15): same structure

def _skeleton(v, path="", out=None):
    """path -> kind of every value (object keys in order; array item kinds merged)."""
    if out is None:
        out = {}
    if isinstance(v, dict):
        out[path] = ("object", tuple(v))
        for k, x in v.items():
            _skeleton(x, path + "." + k, out)
    elif isinstance(v, list):
        out.setdefault(path, ("array", frozenset()))
        kinds = set(out[path][1])
        for x in v:
            if isinstance(x, (dict, list)):
                _skeleton(x, path + "[]", out)
                kinds.add(type(x).__name__)
            else:
                kinds.add("number" if isinstance(x, (int, float)) and not isinstance(x, bool)
                          else type(x).__name__)
        out[path] = ("array", frozenset(kinds))
    else:
        out[path] = ("number" if isinstance(v, (int, float)) and not isinstance(v, bool)
                     else type(v).__name__)
    return out


def same_shape_as_tachyon_run(ctx, mine, opts, script, ready, extra=()):
    """Tachyon's run --gecko of the same program has the same layout (every
    object's keys in the same order, the same kinds of values), the same meta
    apart from times, the same threads and main thread, the same top stack of
    the program's busiest thread and the same marker names on it."""
    t = Tachyon(ctx)
    try:
        host = os.path.join(os.path.dirname(__file__), "..", "targets")
        for f in os.listdir(host):
            if f.endswith(".py"):
                t.put(os.path.join(host, f))
        t.run(["run"] + list(opts) + ["--gecko", "-o", "theirs.json"] + list(extra) + [script])
        path = ctx.path("tachyon-run.json")
        shutil.copy(t.host("theirs.json"), path)
    finally:
        t.cleanup()
    theirs = load_tachyon_live(path)
    a, b = _skeleton(mine), _skeleton(theirs)
    # arrays that happen to be empty in one run, or hold nulls only, say nothing
    diff = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        if x == y:
            continue
        if (isinstance(x, tuple) and isinstance(y, tuple) and x[0] == y[0] == "array"
                and (not x[1] or not y[1] or x[1] <= y[1] or y[1] <= x[1])):
            continue
        if x is None or y is None:
            # a path only one side reached through a non-empty array
            parent = k.rsplit(".", 1)[0]
            if parent.endswith("[]"):
                continue
        diff.append("%s: %s vs %s" % (k, x, y))
    check(not diff, "strobe's and Tachyon's --gecko layouts differ:\n  %s", "\n  ".join(diff[:10]))
    ma = {k: v for k, v in mine["meta"].items() if k not in ("startTime", "interval")}
    mb = {k: v for k, v in theirs["meta"].items() if k not in ("startTime", "interval")}
    check(ma == mb, "meta differs from Tachyon's in %s",
          [k for k in sorted(set(ma) | set(mb)) if ma.get(k) != mb.get(k)])
    # a thread seen only while it starts (no stack yet, even tid 0 on 3.15)
    # depends on when sampling began: count threads with samples
    na_, nb_ = ([t for t in prof["threads"] if t["samples"]["length"]] for prof in (mine, theirs))
    check(len(na_) == len(nb_), "%d threads with samples, Tachyon %d", len(na_), len(nb_))
    check(sum(t["isMainThread"] for t in theirs["threads"]) == 1
          and sum(t["isMainThread"] for t in mine["threads"]) == 1, "not one main thread each")

    def tops(prof):
        """top stack (from <module>: Tachyon's launcher runs the script through
        runpy) -> marker names, of every thread with samples"""
        out = {}
        for t in prof["threads"]:
            if t["samples"]["length"]:
                frames = [f for f in top_stack(prof, t)[0]
                          if not f.startswith("_sync_coordinator.py:")]
                out[";".join(strip_runpy(frames))] = set(marker_names(prof, t))
        return out
    def callers_unlined(tops_):
        """the same, without the callers' line numbers: Tachyon caches a
        thread's parent frames (cache_frames=True) and was seen to keep a
        caller's line from before its call (Thread._bootstrap_inner at
        `self._started.set()` while its run() spun)"""
        out = {}
        for stack, marks in tops_.items():
            frames = stack.split(";")
            frames[:-1] = [f.rsplit(":", 1)[0] for f in frames[:-1]]
            out[";".join(frames)] = marks
        return out
    ta, tb = tops(mine), tops(theirs)
    if set(ta) != set(tb):
        ctx.notes.append("top stacks differ with their callers' lines, compared without:\n  strobe  %s\n  Tachyon %s"
                         % ("\n          ".join(sorted(ta)), "\n          ".join(sorted(tb))))
        ta, tb = callers_unlined(ta), callers_unlined(tb)
    check(set(ta) == set(tb), "the threads' top stacks differ:\n  strobe  %s\n  Tachyon %s",
          "\n          ".join(sorted(ta)), "\n          ".join(sorted(tb)))
    for k in ta:
        # spinners are on a CPU in both; who holds the GIL when varies from run to run
        if "On CPU" in tb[k] and "Off CPU" not in tb[k]:
            check("On CPU" in ta[k], "%s: Tachyon shows only 'On CPU', strobe %s", k,
                  sorted(ta[k]))
    ctx.notes.append("Tachyon run: " + "; ".join(gv.summary(theirs)))
    return theirs


# ---------------------------------------------------------------------------
# --opcodes

OPNAMES = r"""
import dis, json, sys
names = dict(enumerate(getattr(dis, "_all_opname", dis.opname)))
spec = {}
try:
    import opcode
    for base, variants in getattr(opcode, "_specializations", {}).items():
        for v in variants:
            spec[v] = base
except Exception:
    pass
print(json.dumps({"names": names, "spec": spec}))
"""


@case("gecko_opcodes", quick=True, engines=True)
def t_gecko_opcodes(ctx):
    """--gecko --opcodes: Opcode schema and leaf-opcode spans named by the target's own dis"""
    out = ctx.path("ops.json")
    p = ctx.strobe(["run", "-d", "1", "--gecko", "--opcodes", "-o", out]
                   + ctx.run_args("native.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    prof = load_valid(out)
    schema = prof["meta"]["markerSchema"]
    check([s["name"] for s in schema] == ["Opcode"], "markerSchema %s", schema)
    check([f["key"] for f in schema[0]["fields"]] == ["opname", "base_opname", "is_specialized",
                                                      "line", "column", "function", "duration"],
          "Opcode schema fields %s", schema[0]["fields"])
    q = ctx.spawn(ctx.interp.command("-c", OPNAMES), ready=False, name="opnames")
    check(q.wait(30) == 0, "naming opcodes failed: %s", q.stderr[-300:])
    info = json.loads(q.stdout)
    names = {int(k): v for k, v in info["names"].items()}
    t = thread_of(prof, ready["tid"])
    s = prof["shared"]["stringArray"]
    M = t["markers"]
    ops = [k for k in range(M["length"]) if M["data"][k]["type"] == "Opcode"]
    check(len(ops) >= 10, "only %d Opcode markers", len(ops))
    L = ready["lines"]
    work, on_line = 0.0, 0.0
    for k in ops:
        d = M["data"][k]
        check(M["category"][k] == 7 and M["phase"][k] == 1, "Opcode marker category %r phase %r",
              M["category"][k], M["phase"][k])
        check(s[M["name"][k]] == d["opname"], "marker name %r, data.opname %r", s[M["name"][k]],
              d["opname"])
        name = names.get(d["opcode"], "<%d>" % d["opcode"])
        if d["is_specialized"]:
            check(d["opname"] == "%s (%s)" % (name, d["base_opname"]) and
                  info["spec"].get(name) == d["base_opname"],
                  "specialized opcode %d named %r / %r; dis says %s from %s", d["opcode"],
                  d["opname"], d["base_opname"], name, info["spec"].get(name))
        else:
            check(d["opname"] == d["base_opname"] == name, "opcode %d named %r / %r; dis says %r",
                  d["opcode"], d["opname"], d["base_opname"], name)
        check(d["duration"] >= 0 and abs(M["endTime"][k] - M["startTime"][k] - d["duration"]) < 1e-6,
              "duration %r for %r..%r", d["duration"], M["startTime"][k], M["endTime"][k])
        if d["function"] == fn(ctx.interp, "work"):
            # work() is its loop line, plus its first lines and its return
            check(L["work"] - 2 <= d["line"] <= L["work"] + 1, "an opcode of work() on line %r, "
                  "outside its body (loop on line %d)", d["line"], L["work"])
            work += d["duration"]
            on_line += d["duration"] if d["line"] == L["work"] else 0
    check(work > 0, "no Opcode marker in work()")
    check(on_line >= 0.5 * work, "work() spent %.1f of %.1f ms in opcodes of its loop line",
          on_line, work)
    if tuple(ctx.interp.version[:2]) == (3, 15):
        same_shape_as_tachyon_run(ctx, prof, ["-d", "1"], "native.py", ready, extra=["--opcodes"])


# ---------------------------------------------------------------------------
# Command line

@case("gecko_mode_rejected", kind="global", quick=True)
def t_gecko_mode_rejected(ctx):
    """--gecko with --mode other than wall: Tachyon's usage error, exit 2; --mode wall is fine"""
    _, spin = ctx.target("spin.py")
    for mode in ("cpu", "gil", "exception"):
        p = ctx.strobe(["run", "--mode", mode, "--gecko", spin], ready=False)
        p.wait(30)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        check(p.rc == 2, "--mode %s --gecko: exit status %s", mode, p.rc)
        check(lines and lines[-1].endswith("error: " + MODE_MSG), "--mode %s --gecko: %r", mode,
              lines[-1:] if lines else p.stderr)
    out = ctx.path("wall.json")
    p = ctx.strobe(["run", "-d", "1", "--mode", "wall", "--gecko", "-o", out]
                   + ctx.run_args("spin.py"))
    p.message("ready")
    expect_success(p, duration=1)
    load_valid(out)


@case("gecko_default_name", kind="global")
def t_gecko_default_name(ctx):
    """gecko_<pid>.json in the cwd (run: the target's pid; replay: strobe's); -o DIR"""
    cwd = ctx.path("cwd")
    os.mkdir(cwd)
    p = ctx.strobe(["run", "-d", "1", "--gecko"] + ctx.run_args("spin.py"), cwd=cwd)
    ready = p.message("ready")
    expect_success(p, duration=1)
    name = "gecko_%d.json" % ready["pid"]
    check(os.listdir(cwd) == [name], "cwd holds %s, expected [%s]", os.listdir(cwd), name)
    expect_written(p, os.path.join(cwd, name), shown=name)
    load_valid(os.path.join(cwd, name))
    outdir = ctx.path("outdir")
    os.mkdir(outdir)
    p = ctx.strobe(["run", "-d", "1", "--gecko", "-o", outdir] + ctx.run_args("spin.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    name = "gecko_%d.json" % ready["pid"]
    check(os.listdir(outdir) == [name], "-o DIR holds %s, expected [%s]", os.listdir(outdir), name)
    binfile = ctx.path("s.bin")
    p = ctx.strobe(["run", "-d", "1", "--binary", "-o", binfile] + ctx.run_args("spin.py"))
    p.message("ready")
    expect_success(p, duration=1)
    rdir = ctx.path("rcwd")
    os.mkdir(rdir)
    p = ctx.strobe(["replay", "--gecko", binfile], ready=False, cwd=rdir)
    check(p.wait(60) == 0, "replay exited with %s: %s", p.rc, p.stderr[-300:])
    name = "gecko_%d.json" % p.pid
    check(os.listdir(rdir) == [name], "replay cwd holds %s, expected [%s]", os.listdir(rdir), name)
    load_valid(os.path.join(rdir, name))


@case("gecko_unwritable", kind="global", quick=True)
def t_gecko_unwritable(ctx):
    """--gecko into a directory that does not exist: one error line before sampling, exit 1"""
    out = ctx.path("no", "such", "dir", "x.json")
    # the readiness pipe keeps the target's own "ready" line off stderr, if
    # it gets that far before strobe ends it
    p = ctx.strobe(["run", "-d", "1", "--gecko", "-o", out] + ctx.run_args("spin.py"))
    p.wait(30)
    line = one_line_error(p, 1)
    check("x.json" in line, "error line does not name the file: %r", line)


# ---------------------------------------------------------------------------
# Memory: streamed, not accumulated

def peak_rss_kib(ctx, seconds, rate):
    """strobe's peak RSS (KiB, GNU time) attached to a steady spinner for `seconds`."""
    proc, ready = ctx.start_target("spin.py", STROBE_PROCESS_TIMEOUT=str(seconds + 30))
    out = ctx.path("mem-%d.json" % seconds)
    rss = ctx.path("rss-%d.txt" % seconds)
    p = ctx.strobe(["attach", "-d", str(seconds), "-r", rate, "--gecko", "-o", out,
                    str(ready["pid"])], ready=False,
                   prefix=["/usr/bin/time", "-f", "%M", "-o", rss])
    s = expect_success(p, timeout=seconds + 60)
    proc.kill()
    with open(rss) as f:
        kib = int(f.read().split()[-1])
    prof = load_valid(out)
    n = sum(t["samples"]["length"] for t in prof["threads"])
    return kib, s["samples"], n, os.path.getsize(out)


@case("gecko_memory", kind="global", exclusive=True)
def t_gecko_memory(ctx):
    """30 s at 10 kHz peaks at the same RSS as 5 s: samples and markers are spilled, not kept"""
    check(os.path.exists("/usr/bin/time"), "GNU time (/usr/bin/time) is needed")
    short = peak_rss_kib(ctx, 5, "10khz")
    long_ = peak_rss_kib(ctx, 30, "10khz")
    ctx.notes.append("5 s: %d KiB peak, %d samples, %d in file, %d bytes" % short)
    ctx.notes.append("30 s: %d KiB peak, %d samples, %d in file, %d bytes" % long_)
    check(long_[2] >= 3 * short[2], "the long run has %d samples, the short one %d: not long enough "
          "to tell", long_[2], short[2])
    check(long_[0] <= short[0] * 1.15 + 512, "peak RSS grew from %d KiB (5 s) to %d KiB (30 s)",
          short[0], long_[0])


# ---------------------------------------------------------------------------
# The validator itself can fail

def _mutations(prof):
    """(what, function that breaks a copy of prof) pairs, one per rule family."""
    def t0(p):
        return next(t for t in p["threads"] if t["samples"]["length"] and t["markers"]["length"])

    def last_frame_gone(p):
        t0(p)["stackTable"]["frame"].pop()

    def sample_out_of_range(p):
        t = t0(p)
        t["samples"]["stack"][0] = t["stackTable"]["length"]

    def func_name_out_of_range(p):
        t0(p)["funcTable"]["name"][0] = len(p["shared"]["stringArray"])

    def prefix_not_earlier(p):
        st = t0(p)["stackTable"]
        st["prefix"][0] = st["length"] - 1 if st["length"] > 1 else 0

    def interval_without_end(p):
        t0(p)["markers"]["endTime"][0] = None

    def time_backwards(p):
        tm = t0(p)["samples"]["time"]
        tm[0] = tm[-1] + 1

    def bad_category(p):
        t0(p)["frameTable"]["category"][0] = 99

    def bad_colour(p):
        p["meta"]["categories"][0]["color"] = "pink"

    def not_boolean(p):
        t0(p)["funcTable"]["isJS"][0] = 1

    def marker_name_out_of_range(p):
        t0(p)["markers"]["name"][0] = -1

    return [("a column shorter than length", last_frame_gone),
            ("a sample stack out of range", sample_out_of_range),
            ("a func name out of the string table", func_name_out_of_range),
            ("a prefix that is not an earlier stack", prefix_not_earlier),
            ("an interval marker without end", interval_without_end),
            ("sample times going backwards", time_backwards),
            ("a frame category out of range", bad_category),
            ("a category colour the profiler does not know", bad_colour),
            ("isJS not a boolean", not_boolean),
            ("a marker name out of the string table", marker_name_out_of_range)]


@case("gecko_validator", kind="global", quick=True)
def t_gecko_validator(ctx):
    """gecko_validate.py finds each kind of broken table, and compare() a changed sample"""
    out = ctx.path("v.json")
    p = ctx.strobe(["run", "-d", "1", "-a", "--gecko", "-o", out] + ctx.run_args("threads.py"))
    p.message("ready")
    expect_success(p, duration=1)
    good = load_valid(out)
    for what, breaker in _mutations(good):
        bad = json.loads(json.dumps(good))
        breaker(bad)
        check(gv.validate(bad), "the validator accepts %s", what)
    nan = ctx.path("nan.json")
    with open(out) as f, open(nan, "w") as g:
        g.write(f.read().replace('"interval":', '"interval":NaN,"x":', 1))
    try:
        gv.load(nan)
        raise Failure("the validator reads NaN as JSON")
    except gv.Invalid:
        pass
    changed = json.loads(json.dumps(good))
    t = next(t for t in changed["threads"] if t["stackTable"]["length"] > 1)
    st = t["samples"]["stack"]
    st[0] = (st[0] + 1) % t["stackTable"]["length"]
    check(gv.compare(good, changed), "compare() misses a sample with another stack")
    check(not gv.compare(good, json.loads(json.dumps(good))), "compare() differs from a copy")
