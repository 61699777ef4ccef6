"""--native-stacks (issue 18): each sampled thread's stack is its real native
stack with the Python frames put where the interpreter ran them (the
_PyEval_EvalFrameDefault frames are replaced by the Python frames they ran;
interpreter call plumbing is hidden unless --native-plumbing).

In collapsed output a native frame is basename(file):func:line, where file is
the C source file when DWARF knows it, else the shared object as mapped; func
is the symbol or 0x<offset into the object>; line is DWARF's or 0.  A Python
frame's file is a .py file or <frozen ...>/<string>: that is how the checks
below tell the two apart.

Targets that cross the boundary both ways (tests/targets/native_*.py):
  native_qsort   Python -> libc qsort (ctypes) -> Python comparator
  native_ext     Python -> C extension built here (strobe_cb_outer ->
                 strobe_cb_inner) -> Python
  native_numpy   /usr/bin/python3 with Debian's numpy: BLAS dgemm above the caller
  native_select  a thread blocked in select(): libc's select at its leaf
Each one is also sampled without --native-stacks, which must show no native
frame at all (so the checks prove something).  glibc differs between the host
(Debian 12, 2.36, with libc6-dbg) and the sid root (2.43, stripped): the libc
expectations accept the names of both (qsort_r, msort_with_tmp, __select,
cancellation helpers or bare 0x offsets above select).
"""
import os
import re

from cases import case
from cases_dump import parse as parse_dump, shown_name
from harness import TARGETS, Collapsed, Failure, Skip, check, fn, frame, run_summary, strip_runpy

DURATION = "2"
RATE = "300hz"          # every sample stops the thread (ptrace): a gentle rate
MAX_ERROR_RATE = 5.0    # % of failed samples allowed
SHARE = 0.9             # share of the anchor's samples that must read right

EVAL = "_PyEval_EvalFrameDefault"   # never shown: replaced by the Python frames it ran
SORT_RE = re.compile(r"qsort|msort|introsort|heapsort", re.I)     # glibc 2.36 .. 2.43
# libc's own: select, __select, pselect, __pselect64, __GI___select (a debug file's local
# alias) - not the select module's select_select_impl below it
SELECT_RE = re.compile(r"^(__GI_)?_*p?select(64)?$")
# what libc may run above select on its way to the system call (2.41+:
# __syscall_cancel, __internal_syscall_cancel, __syscall_cancel_arch; stripped: 0x...)
LIBC_HELPER_RE = re.compile(r"syscall|cancel", re.I)
BLAS_FUNC_RE = re.compile(r"gemm", re.I)
BLAS_FILE_RE = re.compile(r"^lib(open)?blas", re.I)
PLUMBING_RE = re.compile(r"call|vector", re.I)                     # PyObject_Call*, *Vectorcall*, ...

_FRAME = re.compile(r"^(?P<file>[^:]*):(?P<func>.+):(?P<line>-?\d+)$")


# ---------------------------------------------------------------------------
# Frames

def parts(fr):
    """(file, func, line) of a collapsed frame, or None for a marker (<GC>...)."""
    m = _FRAME.match(fr)
    if not m:
        return None
    return m.group("file"), m.group("func"), int(m.group("line"))


def is_python(fr):
    p = parts(fr)
    return p is not None and (p[0].endswith(".py") or p[0].startswith("<"))


def is_native(fr):
    return parts(fr) is not None and not is_python(fr)


def func_of(fr):
    p = parts(fr)
    return p[1] if p else fr


def file_of(fr):
    p = parts(fr)
    return p[0] if p else ""


def well_formed_native(fr):
    """Why the native frame fr breaks the format, or None."""
    file, func, line = parts(fr)
    if not file or "/" in file:
        return "file %r is not a basename" % file
    if line < 0:
        return "negative line"
    if func.startswith("0x") and not re.fullmatch(r"0x[0-9a-f]+", func):
        return "unnamed frame %r is not 0x<hex offset>" % func
    return None


def pyframe(version, file, qualname, line):
    """frame() for a version (the numpy target runs outside the matrix)."""
    name = qualname if tuple(version[:2]) >= (3, 11) else qualname.rsplit(".", 1)[-1]
    return "%s:%s:%d" % (file, name, line)


def native_format_problems(col):
    """Rows breaking the rules every --native-stacks output keeps."""
    bad = []
    for tid, frames, count in col.rows:
        for fr in frames:
            if EVAL in fr:
                bad.append("%s shown (it must be replaced by the Python frames it ran): %s"
                           % (EVAL, fr))
            elif is_native(fr):
                why = well_formed_native(fr)
                if why:
                    bad.append("%s: %s" % (fr, why))
    return sorted(set(bad))


def native_frames(col):
    return sorted({fr for _, frames, _ in col.rows for fr in frames if is_native(fr)})


# ---------------------------------------------------------------------------
# Running strobe

def _fail_run(p, args, rc):
    err = [l for l in p.stderr.splitlines() if l.strip()]
    shown = [os.path.basename(a) if a.startswith("/") else a for a in args]
    raise Failure("strobe %s exited with status %s, expected 0: %s"
                  % (" ".join(shown), rc, err[-1] if err else "(nothing on stderr)"))


def attach_collapsed(ctx, pid, opts=(), out="out.txt", all_threads=False):
    """strobe attach -d 2 -r 300hz [-a] OPTS --collapsed PID; returns (Collapsed, summary)
    after checking the run succeeded with few failed samples."""
    path = ctx.path(out)
    args = (["attach", "-d", DURATION, "-r", RATE] + (["-a"] if all_threads else []) + list(opts)
            + ["--collapsed", "-o", path, str(pid)])
    p = ctx.strobe(args, ready=False)
    rc = p.wait(90)
    if rc != 0:
        _fail_run(p, args[:-1], rc)
    s = run_summary(p.stdout)
    check(s["samples"] > 0, "strobe %s captured no samples", " ".join(opts))
    # threads that could not be stopped within the pause's 50 ms wait
    # (waiting for a CPU: seen at 10-24% on a 2-core host at load 10) say
    # nothing of the unwinding; every other cause counts
    late = s["failed_by"].get("threads could not be stopped", 0.0)
    check(s["error_rate"] - late < MAX_ERROR_RATE,
          "error rate %.2f%% with %s (at most %g%% allowed besides threads not stopped in time)",
          s["error_rate"], " ".join(opts) or "no option", MAX_ERROR_RATE)
    if late:
        ctx.notes.append("%.2f%% of samples: threads not stopped in time" % late)
    col = Collapsed(path)
    if "--native-stacks" in opts:
        bad = native_format_problems(col)
        check(not bad, "native frames break the format:\n  %s\n%s", "\n  ".join(bad[:10]),
              "\n".join(col.summary()))
    return col, s


def expect_rows(col, tid, anchor, row_problem, what, share=SHARE, min_part=0.5):
    """Of the samples of thread tid whose stack holds anchor (a predicate on
    a frame), at least `share` pass row_problem (None = good; else why not),
    and so does the most frequent of them; they are at least min_part of the
    thread's samples."""
    rows = [(fr, c) for t, fr, c in col.rows if t == tid and any(anchor(x) for x in fr)]
    total = sum(c for t, _, c in col.rows if t == tid)
    n = sum(c for _, c in rows)
    summary = "\n".join(col.summary())
    check(total > 0, "%s: no samples of thread %d\n%s", what, tid, summary)
    check(n >= min_part * total, "%s: only %d of the %d samples of thread %d are in the expected "
          "function\n%s", what, n, total, tid, summary)
    bad, good = {}, 0
    for fr, c in rows:
        why = row_problem(fr)
        if why is None:
            good += c
        else:
            bad[why] = bad.get(why, 0) + c
    top = max(rows, key=lambda r: r[1])[0]
    top_why = row_problem(top)
    reasons = "\n".join("  %5d  %s" % (c, w) for w, c in sorted(bad.items(), key=lambda x: -x[1])[:6])
    check(top_why is None, "%s: the most frequent stack is wrong: %s\n  %s\n%s\n%s", what, top_why,
          ";".join(top), reasons, summary)
    check(good >= share * n, "%s: only %d of %d samples read right (want %d%%):\n%s\n%s", what,
          good, n, share * 100, reasons, summary)


def expect_no_native(col, anchor, what):
    """Without --native-stacks: no native frame anywhere, and the anchor was sampled."""
    nat = native_frames(col)
    check(not nat, "%s without --native-stacks: native frames %s\n%s", what, nat[:8],
          "\n".join(col.summary()))
    check(col.count(lambda t, fr: any(anchor(x) for x in fr)) > 0,
          "%s without --native-stacks: the target's function was never sampled\n%s", what,
          "\n".join(col.summary()))


def py_chain_problem(frames, expected):
    """Why the Python frames of frames (runpy stripped) are not expected, whose
    last frame is matched on file:func only (its line may move), or None."""
    py = strip_runpy([f for f in frames if is_python(f)])
    head = [f.rsplit(":", 1)[0] for f in py[-1:]]
    if py[:-1] != expected[:-1] or head != [expected[-1].rsplit(":", 1)[0]]:
        return "Python frames %s, expected %s" % (";".join(py), ";".join(expected))
    return None


def only_native_after(frames, i):
    rest = frames[i + 1:]
    bad = [f for f in rest if not is_native(f)]
    return None if not bad else "non-native frames above %s: %s" % (frames[i], ";".join(bad))


# ---------------------------------------------------------------------------
# The C extension, built for the interpreter under test

_PROBE = ("import sysconfig, json; "
          "print(json.dumps([sysconfig.get_config_var('EXT_SUFFIX'), sysconfig.get_paths()['include'], "
          "sysconfig.get_paths()['platinclude'], sysconfig.get_config_var('MULTIARCH') or '']))")
EXT_SOURCE = os.path.join(TARGETS, "native_ext", "strobe_cb.c")


def c_markers(path):
    """{name: line} of the '/* @name */' comments of a C file."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            m = re.search(r"/\* @(\w+) \*/\s*$", text)
            if m:
                out[m.group(1)] = n
    return out


def build_ext(ctx, debug_info):
    """Compile strobe_cb.c for ctx.interp, with its own headers, into
    ctx.path('ext') (inside the chroot for a sid interpreter): with DWARF
    (debug_info) or stripped.  Returns the directory as the target sees it."""
    import json
    it = ctx.interp
    p = ctx.spawn(it.command("-c", _PROBE), ready=False, name="sysconfig")
    rc = p.wait(60)
    check(rc == 0, "%s -c 'sysconfig...' exited with %s: %s", it.exe, rc, p.stderr[-300:])
    suffix, inc, platinc, multiarch = json.loads(p.stdout.strip().splitlines()[-1])

    def host(path):
        return os.path.join(it.root, path.lstrip("/")) if it.root else path

    incs = [host(inc)] + ([host(platinc)] if platinc != inc else [])
    if not os.path.exists(os.path.join(incs[0], "Python.h")):
        pkg = ("libpython%s-dev" % it.short if not it.debug else "libpython%s-dbg" % it.short)
        if it.debug:
            raise Skip("no headers for this debug build (%s/Python.h; Debian package %s): the C "
                       "extension cannot be built for its debug ABI" % (incs[0], pkg))
        raise Failure("no %s/Python.h: the C extension cannot be built (tests/provision.sh "
                      "installs %s%s)" % (incs[0], pkg, " in the sid root" if it.root else ""))
    argv = ["gcc", "-shared", "-fPIC", "-O2", "-fno-optimize-sibling-calls", "-Wall", "-Werror"]
    argv += ["-g"] if debug_info else ["-s"]
    if it.root and multiarch:
        # Debian's pyconfig.h is a wrapper: #include <MULTIARCH/pythonX.Y/pyconfig.h>,
        # which must come from the root, not from the host's /usr/include
        shim = ctx.path("inc")
        os.makedirs(shim, exist_ok=True)
        os.symlink(host("/usr/include/" + multiarch), os.path.join(shim, multiarch))
        incs.append(shim)
    for d in incs:
        argv += ["-I", d]
    outdir = ctx.path("ext")
    os.makedirs(outdir, exist_ok=True)
    argv += [EXT_SOURCE, "-o", os.path.join(outdir, "strobe_cb" + suffix)]
    p = ctx.spawn(argv, ready=False, name="gcc")
    rc = p.wait(120)
    check(rc == 0, "building the C extension failed (status %s): %s\n%s", rc, " ".join(argv),
          p.stderr[-1200:])
    return ctx.to_target(outdir)


def start_ext(ctx, debug_info):
    return ctx.start_target("native_ext.py", [build_ext(ctx, debug_info)])


# ---------------------------------------------------------------------------
# What each target's stacks must read (module level: check_native_expectations.py
# feeds them stacks by hand, right and broken)

def qsort_rows(it, L):
    """(anchor, row_problem) for native_qsort: the Python frames are exactly
    <module> -> main -> sort_it -> compare; between sort_it and compare only
    native frames, one of them libc's sort (qsort_r, msort_with_tmp...)."""
    expected_py = [frame(it, "native_qsort.py", "<module>", L["module"]),
                   frame(it, "native_qsort.py", "main", L["main"]),
                   frame(it, "native_qsort.py", "sort_it", L["qsort"]),
                   frame(it, "native_qsort.py", "compare", L["spin"])]
    cmp_fn = "native_qsort.py:%s" % fn(it, "compare")

    def anchor(x):
        return x.rsplit(":", 1)[0] == cmp_fn

    def problem(frames):
        why = py_chain_problem(frames, expected_py)
        if why:
            return why
        i = frames.index(expected_py[2])
        j = max(k for k, x in enumerate(frames) if anchor(x))
        between = frames[i + 1:j]
        if not between or not all(is_native(x) for x in between):
            return ("not only native frames between sort_it and compare: %s"
                    % (";".join(between) or "(none)"))
        if not any(SORT_RE.search(func_of(x)) for x in between):
            return "no qsort/msort frame between sort_it and compare: %s" % ";".join(between)
        return only_native_after(frames, j)
    return anchor, problem


def ext_rows(it, L, with_lines):
    """(anchor, row_problem) for native_ext: the Python frames are exactly
    <module> -> main -> work; between main and work strobe_cb_outer right
    below strobe_cb_inner; with DWARF (with_lines) file strobe_cb.c and the
    lines of the calls."""
    C = c_markers(EXT_SOURCE)
    expected_py = [frame(it, "native_ext.py", "<module>", L["module"]),
                   frame(it, "native_ext.py", "main", L["call"]),
                   frame(it, "native_ext.py", "work", L["work"])]
    work_fn = "native_ext.py:%s" % fn(it, "work")

    def anchor(x):
        return x.rsplit(":", 1)[0] == work_fn

    def problem(frames):
        why = py_chain_problem(frames, expected_py)
        if why:
            return why
        i = frames.index(expected_py[1])
        j = max(k for k, x in enumerate(frames) if anchor(x))
        between = frames[i + 1:j]
        if not all(is_native(x) for x in between):
            return "not only native frames between main and work: %s" % ";".join(between)
        names = [func_of(x) for x in between]
        if "strobe_cb_outer" not in names or "strobe_cb_inner" not in names:
            return ("no strobe_cb_outer;strobe_cb_inner between main and work: %s"
                    % (";".join(between) or "(none)"))
        o = names.index("strobe_cb_outer")
        if o + 1 >= len(names) or names[o + 1] != "strobe_cb_inner":
            return "strobe_cb_inner is not right above strobe_cb_outer: %s" % ";".join(between)
        if with_lines:
            want = ["strobe_cb.c:strobe_cb_outer:%d" % C["outer_call"],
                    "strobe_cb.c:strobe_cb_inner:%d" % C["inner_call"]]
            if between[o:o + 2] != want:
                return "with DWARF: %s, expected %s" % (";".join(between[o:o + 2]), ";".join(want))
        return only_native_after(frames, j)
    return anchor, problem


def plumbing_between(frames, it):
    """The frames between strobe_cb_inner and work (the call back into Python), or None."""
    names = [func_of(x) for x in frames]
    if "strobe_cb_inner" not in names:
        return None
    i = names.index("strobe_cb_inner")
    work = "native_ext.py:%s" % fn(it, "work")
    j = next((k for k in range(i + 1, len(frames)) if frames[k].rsplit(":", 1)[0] == work), None)
    return None if j is None else frames[i + 1:j]


def plumbing_shown(col, it):
    """{func: samples} of the call-machinery frames between strobe_cb_inner and work."""
    shown = {}
    for tid, frames, c in col.rows:
        for x in plumbing_between(frames, it) or ():
            if PLUMBING_RE.search(func_of(x)):
                shown[func_of(x)] = shown.get(func_of(x), 0) + c
    return shown


def expect_plumbing_shown(full, it):
    """With --native-plumbing: a call-machinery frame between strobe_cb_inner
    and work in nearly every sample that has both."""
    shown = plumbing_shown(full, it)
    both = full.count(lambda t, fr: plumbing_between(fr, it) is not None)
    check(shown, "--native-plumbing: no call-machinery frame (a func with 'Call' or 'Vectorcall') "
          "between strobe_cb_inner and work\n%s", "\n".join(full.summary()))
    check(max(shown.values()) >= SHARE * both, "--native-plumbing: the call machinery %s shows "
          "in only %d of %d samples in work()\n%s", shown, max(shown.values()), both,
          "\n".join(full.summary()))


def expect_plumbing_hidden(col, full, it):
    """Without --native-plumbing (col): none of the call-machinery functions
    that --native-plumbing (full) showed between strobe_cb_inner and work."""
    shown = plumbing_shown(full, it)
    leaked = {}
    for tid, frames, c in col.rows:
        for x in plumbing_between(frames, it) or ():
            if func_of(x) in shown:
                leaked[func_of(x)] = leaked.get(func_of(x), 0) + c
    check(not leaked, "--native-stacks without --native-plumbing shows the call machinery %s "
          "(--native-plumbing showed %s)\n%s", leaked, sorted(shown), "\n".join(col.summary()))


def select_rows(it, L):
    """(anchor, row_problem) for native_select's waiting thread: its last
    Python frame is wait_select on the select line, then only native frames,
    one of them libc's select; above the last select frame at most 3 frames of libc
    (its cancellable-syscall helpers, named or not)."""
    sel = frame(it, "native_select.py", "wait_select", L["select"])

    def anchor(x):
        return x == sel

    def problem(frames):
        py = [x for x in frames if is_python(x)]
        if not py or py[-1] != sel:
            return "the last Python frame is %s, expected %s" % (py[-1] if py else "none", sel)
        i = frames.index(sel)
        rest = frames[i + 1:]
        why = only_native_after(frames, i)
        if why:
            return why
        hits = [k for k, x in enumerate(rest) if SELECT_RE.search(func_of(x))]
        if not hits:
            return "no select frame above %s: %s" % (sel, ";".join(rest) or "(none)")
        above = rest[hits[-1] + 1:]
        if len(above) > 3 or not all(file_of(x).startswith("libc") or LIBC_HELPER_RE.search(func_of(x))
                                     for x in above):
            return "the leaf is not libc's select (or its system-call helpers): %s" % ";".join(rest)
        return None
    return anchor, problem


def numpy_rows(v, L):
    """(anchor, row_problem) for native_numpy: the Python frames are exactly
    <module> -> main -> product, then only native frames, the leaf BLAS."""
    caller = pyframe(v, "native_numpy.py", "product", L["matmul"])
    expected_py = [pyframe(v, "native_numpy.py", "<module>", L["module"]),
                   pyframe(v, "native_numpy.py", "main", L["main"]), caller]

    def anchor(x):
        return x == caller

    def blas(x):
        return is_native(x) and (BLAS_FUNC_RE.search(func_of(x)) or BLAS_FILE_RE.search(file_of(x)))

    def problem(frames):
        py = strip_runpy([x for x in frames if is_python(x)])
        if py != expected_py:
            return "Python frames %s, expected %s" % (";".join(py), ";".join(expected_py))
        i = frames.index(caller)
        why = only_native_after(frames, i)
        if why:
            return why
        if i == len(frames) - 1 or not blas(frames[-1]):
            return "the leaf is not BLAS (gemm / libblas / libopenblas): %s" % ";".join(frames[i:])
        return None
    return anchor, problem


def expect_dump_frames(frames, it, L, module, cwd):
    """The main thread's frames (parsed by cases_dump.parse) of dump
    --native-stacks on native_ext, stripped build: main, then strobe_cb_outer
    right below strobe_cb_inner, named from .dynsym, their file the shared
    object (module: its path as the target sees it), no line, then work."""
    work, main = fn(it, "work"), fn(it, "main")
    text = "\n".join("  %r" % (f,) for f in frames)
    names = [f["func"] for f in frames]
    check(not any(EVAL in n for n in names), "%s in the dump:\n%s", EVAL, text)
    py = [f for f in frames if (f["file"] or "").endswith(".py")]
    check([f["func"] for f in py][-3:] == [fn(it, "<module>"), main, work],
          "Python frames of the dump: %s, expected ... <module>, main, work\n%s",
          [f["func"] for f in py], text)
    i = frames.index(py[-2])
    j = frames.index(py[-1])
    check(frames[i]["line"] == L["call"] and frames[j]["line"] == L["work"],
          "Python frames at lines %s and %s, expected %d and %d\n%s", frames[i]["line"],
          frames[j]["line"], L["call"], L["work"], text)
    between = frames[i + 1:j]
    bnames = [f["func"] for f in between]
    check("strobe_cb_outer" in bnames and "strobe_cb_inner" in bnames,
          "no strobe_cb_outer and strobe_cb_inner between main and work:\n%s", text)
    o = bnames.index("strobe_cb_outer")
    check(o + 1 < len(bnames) and bnames[o + 1] == "strobe_cb_inner",
          "strobe_cb_inner is not right above strobe_cb_outer:\n%s", text)
    for f in between[o:o + 2]:
        check(f["file"] in (module, shown_name(module, cwd)) and f["line"] is None,
              "native frame %r: expected file %s (the shared object as mapped; no DWARF so no "
              "line)\n%s", f, module, text)


# ---------------------------------------------------------------------------
# Cases

@case("nstacks_qsort", quick=True, debug=True)
def t_nstacks_qsort(ctx):
    """--native-stacks: sort_it -> ... libc qsort ... -> compare (ctypes, Python comparator)"""
    tgt, ready = ctx.start_target("native_qsort.py")
    anchor, problem = qsort_rows(ctx.interp, ready["lines"])
    col, _ = attach_collapsed(ctx, ready["pid"], ["--native-stacks"], out="native.txt")
    expect_rows(col, ready["tid"], anchor, problem, "qsort with --native-stacks")
    plain, _ = attach_collapsed(ctx, ready["pid"], [], out="plain.txt")
    expect_no_native(plain, anchor, "qsort")
    check(tgt.poll() is None, "the target died")


@case("nstacks_ext", quick=True, debug=True)
def t_nstacks_ext(ctx):
    """--native-stacks: main -> strobe_cb_outer -> strobe_cb_inner -> work (C extension, DWARF)"""
    tgt, ready = start_ext(ctx, debug_info=True)
    anchor, problem = ext_rows(ctx.interp, ready["lines"], with_lines=True)
    col, _ = attach_collapsed(ctx, ready["pid"], ["--native-stacks"], out="native.txt")
    expect_rows(col, ready["tid"], anchor, problem, "C extension with --native-stacks")
    plain, _ = attach_collapsed(ctx, ready["pid"], [], out="plain.txt")
    expect_no_native(plain, anchor, "C extension")
    check(tgt.poll() is None, "the target died")


@case("nstacks_plumbing", debug=True)
def t_nstacks_plumbing(ctx):
    """--native-plumbing shows the call machinery between C and Python that the default hides"""
    tgt, ready = start_ext(ctx, debug_info=False)   # stripped: .dynsym names only
    it = ctx.interp
    anchor, problem = ext_rows(it, ready["lines"], with_lines=False)
    full, _ = attach_collapsed(ctx, ready["pid"], ["--native-stacks", "--native-plumbing"],
                               out="plumbing.txt")
    expect_rows(full, ready["tid"], anchor, problem, "C extension with --native-plumbing")
    expect_plumbing_shown(full, it)
    col, _ = attach_collapsed(ctx, ready["pid"], ["--native-stacks"], out="default.txt")
    expect_rows(col, ready["tid"], anchor, problem, "C extension with --native-stacks")
    expect_plumbing_hidden(col, full, it)
    check(tgt.poll() is None, "the target died")


@case("nstacks_select")
def t_nstacks_select(ctx):
    """--native-stacks -a: a thread blocked in select.select() ends in libc's select"""
    tgt, ready = ctx.start_target("native_select.py")
    tid = ready["threads"]["selecter"]
    anchor, problem = select_rows(ctx.interp, ready["lines"])
    col, _ = attach_collapsed(ctx, ready["pid"], ["--native-stacks"], out="native.txt",
                              all_threads=True)
    expect_rows(col, tid, anchor, problem, "select with --native-stacks", min_part=0.9)
    plain, _ = attach_collapsed(ctx, ready["pid"], [], out="plain.txt", all_threads=True)
    expect_no_native(plain, anchor, "select")
    check(tgt.poll() is None, "the target died")


@case("nstacks_numpy", kind="global")
def t_nstacks_numpy(ctx):
    """--native-stacks, /usr/bin/python3 + Debian's numpy: a @ b shows BLAS above the caller"""
    exe = "/usr/bin/python3"
    check(os.path.exists(exe), "no %s (tests/provision.sh installs python3)", exe)
    probe = ctx.spawn([exe, "-c", "import numpy"], ready=False, name="numpy-probe")
    check(probe.wait(60) == 0, "%s cannot import numpy (tests/provision.sh installs "
          "python3-numpy): %s", exe, (probe.stderr.strip().splitlines() or [""])[-1])
    _, path = ctx.target("native_numpy.py")
    tgt = ctx.spawn([exe, path], name="native_numpy")
    ready = tgt.message("ready")
    anchor, problem = numpy_rows(ready["version"], ready["lines"])
    col, _ = attach_collapsed(ctx, ready["pid"], ["--native-stacks"], out="native.txt")
    expect_rows(col, ready["tid"], anchor, problem, "numpy with --native-stacks", share=0.8)
    plain, _ = attach_collapsed(ctx, ready["pid"], [], out="plain.txt")
    expect_no_native(plain, anchor, "numpy")
    check(tgt.poll() is None, "the target died")


@case("nstacks_dump", debug=True)
def t_nstacks_dump(ctx):
    """dump --native-stacks: strobe_cb_outer, strobe_cb_inner between main and work (stripped)"""
    tgt, ready = start_ext(ctx, debug_info=False)
    it, pid = ctx.interp, ready["pid"]
    work = fn(it, "work")
    frames = None
    for _ in range(20):  # work() is where the target spends its time; a dump may land between calls
        args = ["dump", "--native-stacks", str(pid)]
        p = ctx.strobe(args, ready=False)
        rc = p.wait(30)
        if rc != 0:
            _fail_run(p, args[:-1], rc)
        secs = parse_dump(p.stdout)
        check(len(secs) == 1, "%d sections without -a:\n%s", len(secs), p.stdout[-2000:])
        frames = secs[0]["frames"]
        if work in [f["func"] for f in frames]:
            break
    expect_dump_frames(frames, it, ready["lines"], ready["module"], ctx.work)
    check(tgt.poll() is None, "the target died")


@case("nstacks_expectations", kind="global", quick=True)
def t_nstacks_expectations(ctx):
    """the checks above accept right mixed stacks and refuse broken ones (check_native_expectations.py)"""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_native_expectations.py")
    p = ctx.spawn(["/usr/bin/python3", script], ready=False, name="check_native_expectations")
    rc = p.wait(120)
    bad = [l for l in p.stdout.splitlines() if l.startswith("BAD ")]
    check(rc == 0, "check_native_expectations.py exited with %s:\n%s\n%s", rc, "\n".join(bad[:10]),
          p.stderr[-1500:])


@case("nstacks_stripped", versions=[(3, 12), (3, 13), (3, 14), (3, 15)])
def t_nstacks_stripped(ctx):
    """--native-stacks without separate debug files: 3.12+ find evaluation calls by address"""
    # The target runs in a mount namespace of its own where /usr/lib/debug
    # (of its root) is an empty directory: a stripped interpreter (sid's,
    # PGO-built) then names only the entry of its evaluation loop in
    # .dynsym, not the part GCC moved its main loop to, and a merge by name
    # failed every sample.  strobe reads the target's files through its
    # root, so it sees the empty directory too.
    it = ctx.interp
    debug_dir = os.path.join(it.root or "/", "usr/lib/debug")
    if not os.path.isdir(debug_dir):
        raise Skip("no %s to hide" % debug_dir)
    empty = ctx.path("nodebug")
    os.makedirs(empty, exist_ok=True)
    _, tpath = ctx.target("native_qsort.py")
    argv = (["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$1" && shift && exec "$@"',
             empty, debug_dir] + it.command(tpath))
    tgt = ctx.spawn(argv, env=ctx.env(), name="native_qsort")
    ready = tgt.message("ready")
    anchor, problem = qsort_rows(it, ready["lines"])
    col, s = attach_collapsed(ctx, ready["pid"], ["--native-stacks"], out="native.txt")
    expect_rows(col, ready["tid"], anchor, problem, "qsort with --native-stacks, no debug files")
    check(tgt.poll() is None, "the target died")
