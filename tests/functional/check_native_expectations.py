#!/usr/bin/python3
"""Checks the checks of cases_native_stacks.py, without strobe: each
expectation helper gets stacks as a right --native-stacks would write them
(modelled on gdb backtraces of the targets: Debian 12's glibc 2.36 with
libc6-dbg, sid's stripped glibc 2.43, pyenv's libpython with DWARF, sid's
stripped static python3.14) and must accept them, and broken variants (a
frame dropped, frames out of order, _PyEval_EvalFrameDefault left in, the
plumbing not hidden...) that it must refuse.

    tests/functional/check_native_expectations.py      # exit status 1 on any surprise
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

import cases  # noqa: E402,F401  (registers @case)
import cases_native_stacks as N  # noqa: E402
from cases_dump import parse as parse_dump  # noqa: E402
from harness import TARGETS, Collapsed, Failure  # noqa: E402

sys.path.insert(0, TARGETS)
from _common import markers  # noqa: E402


class It:
    def __init__(self, version):
        self.version = version


PY38, PY311, PY314 = It((3, 8, 18)), It((3, 11, 2)), It((3, 14, 0))
TID = 4242
TMP = tempfile.mkdtemp(prefix="strobe-check-native-")
results = []


def collapsed(rows, name):
    """A Collapsed of rows [(frames, count)] (thread TID)."""
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        for frames, count in sorted(rows, key=lambda r: -r[1]):
            f.write("tid:%d;%s %d\n" % (TID, ";".join(frames), count))
    return Collapsed(path)


def expect(name, should_pass, fn, *args):
    try:
        fn(*args)
        passed, why = True, ""
    except Failure as e:
        passed, why = False, str(e).splitlines()[0]
    ok = passed == should_pass
    results.append(ok)
    print("%s  %-60s %s%s" % ("ok  " if ok else "BAD ", name, "accepted" if passed else "refused",
                              "" if passed else ": " + why[:150]))


def rows_check(rows, anchor_problem, **kw):
    anchor, problem = anchor_problem

    def run():
        col = collapsed(rows, "rows.txt")
        bad = N.native_format_problems(col)
        if bad:
            raise Failure("format: " + bad[0])
        N.expect_rows(col, TID, anchor, problem, "check", **kw)
    return run


def L(script):
    return markers(os.path.join(TARGETS, script))


ROOT_HOST = ["python3.11:_start:0", "libc-start.c:__libc_start_main_impl:360",
             "main.c:Py_BytesMain:734", "main.c:Py_RunMain:680"]
ROOT_SID = ["python3.14:_start:0", "libc.so.6:__libc_start_main:0", "libc.so.6:0x29fba:0",
            "python3.14:Py_BytesMain:0", "python3.14:Py_RunMain:0"]


def qsort_stack(it, root, libc, compare_line=None, mutate=None):
    l = L("native_qsort.py")
    f = N.frame
    py = [f(it, "native_qsort.py", "<module>", l["module"]), f(it, "native_qsort.py", "main", l["main"]),
          f(it, "native_qsort.py", "sort_it", l["qsort"])]
    ctypes_in = ["_ctypes.c:PyCFuncPtr_call:4201", "callproc.c:_ctypes_callproc:1256",
                 "libffi.so.8:ffi_call:0", "libffi.so.8:0x640e:0", "libffi.so.8:0x6f7a:0"]
    if libc == "host":
        sort = ["msort.c:__qsort_r:296"] + ["msort.c:msort_with_tmp:44"] * 5 + ["msort.c:msort_with_tmp:64"]
    else:
        sort = ["libc.so.6:qsort_r:0", "libc.so.6:0x4618a:0"] + ["libc.so.6:0x45d61:0"] * 4 + ["libc.so.6:0x45f0a:0"]
    back = ["libffi.so.8:0x7110:0", "libffi.so.8:0x6d95:0", "callbacks.c:closure_fcn:385",
            "callbacks.c:_CallPythonObject:239"]
    leaf = [f(it, "native_qsort.py", "compare", compare_line or l["spin"])]
    parts = {"root": root, "py": py, "ctypes": ctypes_in, "sort": sort, "back": back, "leaf": leaf}
    if mutate:
        mutate(parts)
    return parts["root"] + parts["py"] + parts["ctypes"] + parts["sort"] + parts["back"] + parts["leaf"]


def check_qsort():
    l = L("native_qsort.py")
    for it, root, libc in ((PY311, ROOT_HOST, "host"), (PY314, ROOT_SID, "sid"), (PY38, ROOT_HOST, "host")):
        tag = "qsort %s %s" % (".".join(map(str, it.version[:2])), libc)
        good = [(qsort_stack(it, root, libc), 80), (qsort_stack(it, root, libc, l["spin"] + 1), 10),
                (qsort_stack(it, root, libc) + ["longobject.c:long_add:3456"], 5)]
        expect(tag + ": right stacks", True, rows_check(good, N.qsort_rows(it, l)))

        def drop_sort(p):
            p["sort"] = []

        def swap(p):
            p["sort"], p["leaf"] = p["leaf"], p["sort"]

        def eval_left(p):
            p["back"] = p["back"] + ["ceval.c:_PyEval_EvalFrameDefault:4012"]

        def eval_cold(p):
            p["ctypes"] = ["python3.14:_PyEval_EvalFrameDefault.cold:0"] + p["ctypes"]

        def lost_main(p):
            p["py"] = [p["py"][0], p["py"][2]]

        def full_path(p):
            p["ctypes"][2] = "/usr/lib/x86_64-linux-gnu/libffi.so.8:ffi_call:0"

        def python_twice(p):
            p["back"] = p["back"] + [p["py"][2]]

        for name, m in (("libc's sort frames lost", drop_sort), ("compare below qsort", swap),
                        ("_PyEval_EvalFrameDefault left in", eval_left),
                        ("_PyEval_EvalFrameDefault.cold left in", eval_cold),
                        ("a Python frame lost", lost_main), ("file not a basename", full_path),
                        ("sort_it shown twice", python_twice)):
            bad = [(qsort_stack(it, root, libc, mutate=m), 80), (qsort_stack(it, root, libc), 15)]
            expect(tag + ": " + name, False, rows_check(bad, N.qsort_rows(it, l)))
        # a few bad samples among many right ones are tolerated
        few = [(qsort_stack(it, root, libc), 95), (qsort_stack(it, root, libc, mutate=drop_sort), 5)]
        expect(tag + ": 5% broken", True, rows_check(few, N.qsort_rows(it, l)))
        # no native frames: what strobe writes today without --native-stacks
        plain = [([x for x in qsort_stack(it, root, libc) if N.is_python(x)], 100)]
        expect(tag + ": Python frames only", False, rows_check(plain, N.qsort_rows(it, l)))
        expect(tag + ": plain run has no native frames", True,
               lambda: N.expect_no_native(collapsed(plain, "p.txt"), N.qsort_rows(it, l)[0], "qsort"))
        expect(tag + ": plain run with native frames refused", False,
               lambda: N.expect_no_native(collapsed(good, "p.txt"), N.qsort_rows(it, l)[0], "qsort"))


def ext_stack(it, dwarf=True, plumbing=False, mutate=None):
    l, c = L("native_ext.py"), N.c_markers(N.EXT_SOURCE)
    f = N.frame
    so = "strobe_cb.cpython-311-x86_64-linux-gnu.so"
    py = [f(it, "native_ext.py", "<module>", l["module"]), f(it, "native_ext.py", "main", l["call"])]
    down = ["call.c:cfunction_call:543"] if plumbing else []
    if dwarf:
        ours = ["strobe_cb.c:strobe_cb_call_back:58", "strobe_cb.c:strobe_cb_outer:%d" % c["outer_call"],
                "strobe_cb.c:strobe_cb_inner:%d" % c["inner_call"]]
    else:
        ours = [so + ":0x11d0:0", so + ":strobe_cb_outer:0", so + ":strobe_cb_inner:0"]
    up = (["call.c:PyObject_CallObject:470", "call.c:_PyFunction_Vectorcall:419", "ceval.c:_PyEval_Vector:1800"]
          if plumbing else [])
    leaf = [f(it, "native_ext.py", "work", l["work"])]
    parts = {"py": py, "down": down, "ours": ours, "up": up, "leaf": leaf}
    if mutate:
        mutate(parts)
    return ROOT_HOST + parts["py"] + parts["down"] + parts["ours"] + parts["up"] + parts["leaf"]


def check_ext():
    l = L("native_ext.py")
    c = N.c_markers(N.EXT_SOURCE)
    for it in (PY38, PY311):
        tag = "ext %d.%d" % it.version[:2]
        good = [(ext_stack(it), 90), (ext_stack(it) + ["obmalloc.c:pymalloc_alloc:1460"], 8)]
        expect(tag + ": right stacks (DWARF)", True, rows_check(good, N.ext_rows(it, l, True)))
        expect(tag + ": right stacks (stripped)", True,
               rows_check([(ext_stack(it, dwarf=False), 90)], N.ext_rows(it, l, False)))

        def tail_call(p):
            del p["ours"][1]

        def swapped(p):
            p["ours"][1], p["ours"][2] = p["ours"][2], p["ours"][1]

        def return_line(p):   # the return address' line instead of the call's
            p["ours"][2] = "strobe_cb.c:strobe_cb_inner:%d" % (c["inner_call"] + 2)

        def no_natives(p):
            p["ours"] = []

        for name, m in (("strobe_cb_outer lost", tail_call), ("outer and inner swapped", swapped),
                        ("line of the return address", return_line), ("no C frames", no_natives)):
            expect(tag + ": " + name, False, rows_check([(ext_stack(it, mutate=m), 90)], N.ext_rows(it, l, True)))
        full = collapsed([(ext_stack(it, dwarf=False, plumbing=True), 90)], "full.txt")
        hidden = collapsed([(ext_stack(it, dwarf=False), 90)], "hidden.txt")
        expect(tag + ": --native-plumbing shows call machinery", True, N.expect_plumbing_shown, full, it)
        expect(tag + ": plumbing absent with --native-plumbing", False, N.expect_plumbing_shown, hidden, it)
        expect(tag + ": default hides it", True, N.expect_plumbing_hidden, hidden, full, it)
        expect(tag + ": default shows it", False, N.expect_plumbing_hidden, full, full, it)


def check_select():
    l = L("native_select.py")
    for it, libc in ((PY311, "host"), (PY314, "sid")):
        tag = "select %d.%d %s" % (it.version[:2] + (libc,))
        f = N.frame
        base = ["libc.so.6:clone3:0", "pthread_create.c:start_thread:442", "python3.11:0x2d7e11:0",
                f(it, "threading.py", "Thread._bootstrap", 995), f(it, "threading.py", "Thread._bootstrap_inner", 1038),
                f(it, "threading.py", "Thread.run", 975), f(it, "native_select.py", "wait_select", l["select"]),
                "selectmodule.c:select_select_impl:320"]
        if libc == "host":
            leaf = ["select.c:__select:69"]
        else:
            leaf = ["libc.so.6:select:0", "libc.so.6:0x91a1d:0", "libc.so.6:0x919d4:0", "libc.so.6:0x9cefe:0"]
        expect(tag + ": right stacks", True, rows_check([(base + leaf, 100)], N.select_rows(it, l), min_part=0.9))
        expect(tag + ": no select frame", False,
               rows_check([(base + ["libc.so.6:0x9cefe:0"], 100)], N.select_rows(it, l), min_part=0.9))
        expect(tag + ": select not near the leaf", False,
               rows_check([(base + leaf + ["python3.11:0x123:0"] * 4, 100)], N.select_rows(it, l), min_part=0.9))
        expect(tag + ": Python frames only", False,
               rows_check([(base[3:7], 100)], N.select_rows(it, l), min_part=0.9))


def check_numpy():
    l = L("native_numpy.py")
    v = (3, 11, 2)
    f = N.pyframe
    py = [f(v, "native_numpy.py", "<module>", l["module"]), f(v, "native_numpy.py", "main", l["main"]),
          f(v, "native_numpy.py", "product", l["matmul"])]
    um = "_multiarray_umath.cpython-311-x86_64-linux-gnu.so"
    mid = ["abstract.c:binary_op1:917", um + ":0x1a98c7:0", um + ":0x19df65:0", um + ":0x19a94d:0"]
    blas = ["libblas.so.3:cblas_dgemm:0", "libblas.so.3:dgemm_:0"]
    good = [(ROOT_HOST + py + mid + blas, 90), (ROOT_HOST + py + mid[:2] + ["libc.so.6:memset:0"], 8)]
    expect("numpy: right stacks", True, rows_check(good, N.numpy_rows(v, l), share=0.8))
    expect("numpy: BLAS missing", False,
           rows_check([(ROOT_HOST + py + mid, 90)], N.numpy_rows(v, l), share=0.8))
    expect("numpy: Python only", False, rows_check([(ROOT_HOST + py, 90)], N.numpy_rows(v, l), share=0.8))


def check_dump():
    l = L("native_ext.py")
    it = PY311
    mod = "/tmp/w/ext/strobe_cb.cpython-311-x86_64-linux-gnu.so"

    def text(natives):
        out = ["Stack dump for PID 1, thread 1 (main thread; on CPU; most recent call last):",
               '  File "native_ext.py", line %d, in <module>' % l["module"], "    main()  # @module",
               '  File "native_ext.py", line %d, in main' % l["call"],
               "    strobe_cb.call_back(work, 10)  # @call"]
        out += ['  File "%s", in %s' % (mod, n) for n in natives]
        out += ['  File "native_ext.py", line %d, in work' % l["work"],
                "    while i < 2000: i += 1  # @work"]
        return "\n".join(out) + "\n"

    def run(natives):
        return lambda: N.expect_dump_frames(parse_dump(text(natives))[0]["frames"], it, l, mod, "/tmp/w")
    expect("dump: right frames", True, run(["0x11d0", "strobe_cb_outer", "strobe_cb_inner"]))
    expect("dump: C frames missing", False, run([]))
    expect("dump: swapped", False, run(["0x11d0", "strobe_cb_inner", "strobe_cb_outer"]))
    expect("dump: eval frame left", False,
           run(["0x11d0", "strobe_cb_outer", "strobe_cb_inner", "_PyEval_EvalFrameDefault"]))


def main():
    check_qsort()
    check_ext()
    check_select()
    check_numpy()
    check_dump()
    bad = results.count(False)
    print("%d checks, %d surprises" % (len(results), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
