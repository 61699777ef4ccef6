"""--flamegraph and --diff-flamegraph: run, attach and replay on every
interpreter.  Checked three ways:

  - the data tree in the page (Tachyon's shape): totals, the target's call
    chain with its lines and source, threads, stats;
  - against Tachyon itself: a replay of one binary file, by strobe and by
    python3.15 -m profiling.sampling in the sid root, gives the same tree,
    strings (in the same order) and stats, also for --diff-flamegraph and
    its elided view; the baseline errors are Tachyon's;
  - in headless Chromium (tests/browser/flamegraph.mjs, playwright-core from
    tests/provision.sh): no console error, no network, root total == samples,
    search, zoom, tooltip, inverted view, thread filter, theme, elided view;
    a screenshot compared by structure with docs/screenshots/flamegraph.png;
    a page of 100,000 distinct frames loads within a bounded time.
"""
import json
import os
import re
import shutil
import struct
import sys
import time
import zlib

from cases import case, expect_success, fn
from harness import SID_ROOT, Failure, Tachyon, check, one_line_error

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
REPO = os.path.dirname(TESTS)
NODE_DIR = os.environ.get("STROBE_NODE_DIR", "/var/cache/strobe/node")
PAGE_TEST = os.path.join(TESTS, "browser", "flamegraph.mjs")
DEMO_PROFILE = os.path.join(TESTS, "browser", "make_demo_profile.py")
WIDE_PROFILE = os.path.join(HERE, "make_wide_profile.py")
SCREENSHOT = os.path.join(REPO, "docs", "screenshots", "flamegraph.png")

STROBE_DATA = re.compile(r'<script type="application/json" id="strobe-data">(.*?)</script>', re.S)
TACHYON_DATA = re.compile(r"const EMBEDDED_DATA = (\{.*?\});\n", re.S)
SUMMARY = re.compile(r"^Flamegraph data: (\d+) root functions?, (\d+) total samples?, "
                     r"(\d+) unique strings?$", re.M)
SAVED = re.compile(r"^Flamegraph saved to: (.+)$", re.M)
# anything a browser would fetch: <script src>, <link href>, <img src>, css url()/@import
EXTERNAL = re.compile(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)"
                      r"\s*=\s*[\"']?(?!data:|#)[^\s>\"']|url\(\s*[\"']?(?!data:|#)[a-z]+:|@import",
                      re.I)


# ---------------------------------------------------------------------------
# The page and its data

def load_page(path):
    """(html, data) of a strobe flame graph page, checked to be self-contained."""
    check(os.path.exists(path), "no flame graph page %s", path)
    with open(path, encoding="utf-8") as f:
        html = f.read()
    check(html.startswith("<!DOCTYPE html>"), "%s is not an HTML page", path)
    m = EXTERNAL.search(html)
    check(not m, "the page refers to something outside itself: %r", m and m.group(0))
    m = STROBE_DATA.search(html)
    check(m, "no strobe-data script element in %s", path)
    # the tree nests two levels per frame and a stack may be 8192 deep:
    # more than json's default recursion limit (1000) allows
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))
    try:
        data = json.loads(m.group(1))
    finally:
        sys.setrecursionlimit(limit)
    return html, data


def load_tachyon(path):
    with open(path, encoding="utf-8") as f:
        m = TACHYON_DATA.search(f.read())
    check(m, "no EMBEDDED_DATA in Tachyon's page %s", path)
    return json.loads(m.group(1))


def resolve(node, strings):
    """The tree with string indices replaced by the strings (recursively,
    also the elided view with its own table); 'strings' dropped."""
    out = {}
    for k, v in node.items():
        if k == "strings":
            continue
        if k in ("name", "label", "filename", "module", "funcname") and isinstance(v, int):
            check(0 <= v < len(strings), "string index %d of %s out of range (%d)", v, k, len(strings))
            out[k] = strings[v]
        elif k == "source":
            out[k] = [strings[i] for i in v]
        elif k == "children":
            out[k] = [resolve(c, strings) for c in v]
        elif k == "elided_flamegraph":
            out[k] = resolve(v, v.get("strings", []))
        elif k == "stats":
            out[k] = resolve(v, strings)
        else:
            out[k] = v
    return out


def nodes(root):
    """Every node, pre-order, with its parent."""
    stack = [(root, None)]
    while stack:
        n, parent = stack.pop()
        yield n, parent
        for c in reversed(n.get("children", [])):
            stack.append((c, n))


def check_tree(data):
    """Inclusive values hold their children and their self; strings exist."""
    strings = data.get("strings")
    check(isinstance(strings, list) and strings, "no strings table")
    for n, _ in nodes(data):
        for k in ("name", "label", "filename", "module", "funcname"):
            if k in n:
                check(0 <= n[k] < len(strings), "%s index %s out of range", k, n[k])
        kids = n.get("children", [])
        total = sum(c["value"] for c in kids) + n.get("self", 0)
        check(total <= n["value"] + 1e-6, "node %s: children + self = %s > value %s",
              strings[n["name"]], total, n["value"])
        vals = [c["value"] for c in kids]
        check(vals == sorted(vals, reverse=True), "children of %s not sorted by value",
              strings[n["name"]])


def summary_line(p, data=None):
    """(roots, total, strings) of 'Flamegraph data: ...'; matches data when given."""
    m = SUMMARY.search(p.stdout)
    check(m, "no 'Flamegraph data: ...' line:\n%s", p.stdout[-600:])
    roots, total, nstr = (int(x) for x in m.groups())
    if data is not None:
        check(total == data["value"], "summary says %d samples, the root holds %s", total,
              data["value"])
        check(nstr == len(data["strings"]), "summary says %d strings, the page has %d", nstr,
              len(data["strings"]))
        check(roots == len(data["children"]), "summary says %d root functions, the root has %d",
              roots, len(data["children"]))
    return roots, total, nstr


def saved(p, path):
    m = SAVED.search(p.stdout)
    check(m and m.group(1) == path, "no 'Flamegraph saved to: %s' line:\n%s", path, p.stdout[-600:])


def ident(n):
    """(funcname, basename, line) of a resolved node."""
    return (n.get("funcname"), os.path.basename(n.get("filename", "")), n.get("lineno"))


def find_chain(root, chain):
    """The nodes of the best-covered occurrence of chain (idents, root first)."""
    best = None
    for n, _ in nodes(root):
        if ident(n) != chain[0]:
            continue
        path, cur = [n], n
        for want in chain[1:]:
            nxt = [c for c in cur.get("children", []) if ident(c) == want]
            if not nxt:
                break
            cur = max(nxt, key=lambda c: c["value"])
            path.append(cur)
        if len(path) == len(chain) and (best is None or path[0]["value"] > best[0]["value"]):
            best = path
    return best


def top_nodes(root, limit=8):
    rows = sorted((n for n, _ in nodes(root) if "funcname" in n), key=lambda n: -n.get("self", 0))
    return "\n".join("  self %6s value %6s %s" % (n.get("self"), n["value"], n.get("name"))
                     for n in rows[:limit])


# ---------------------------------------------------------------------------
# Chromium

def page_test(ctx, page, samples, *extra, timeout=240):
    """Run tests/browser/flamegraph.mjs on page; returns its result."""
    for need in (PAGE_TEST, os.path.join(NODE_DIR, "node_modules", "playwright-core")):
        check(os.path.exists(need), "%s is missing: run tests/provision.sh", need)
    check(shutil.which("node"), "no node: run tests/provision.sh")
    argv = ["node", PAGE_TEST, "--page", page, "--samples", str(samples)] + list(extra)
    p = ctx.spawn(argv, ready=False, name="chromium",
                  env=ctx.env(STROBE_NODE_MODULES=os.path.join(NODE_DIR, "node_modules"),
                              HOME=ctx.work))
    rc = p.wait(timeout)
    lines = p.stdout.strip().splitlines()
    res = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    check(rc == 0 and res.get("ok"), "flame graph page in Chromium: %s\n%s",
          res.get("error") or "exit %s" % rc, (p.stderr or "")[-800:])
    return res


# ---------------------------------------------------------------------------
# Tachyon and strobe replaying the same file in the sid root

def replay_both(ctx, t, args, name):
    """strobe replay ARGS and Tachyon's replay ARGS, both in the sid root
    (same files, same sys.path-free module rules, same source files), each
    writing NAME.html; returns (strobe data, Tachyon data, strobe stdout,
    Tachyon stdout)."""
    mine = ctx.spawn(["chroot", SID_ROOT, "sh", "-c",
                      'cd "$0" && exec ./strobe "$@"', t.inside,
                      "replay"] + args + ["-o", "s-%s.html" % name],
                     ready=False, name="strobe-in-root")
    check(mine.wait(120) == 0, "strobe replay %s in the root exited %s: %s", " ".join(args),
          mine.rc, mine.stderr[-400:])
    theirs = t.run(["replay"] + args + ["-o", "t-%s.html" % name])
    _, a = load_page(t.host("s-%s.html" % name))
    b = load_tachyon(t.host("t-%s.html" % name))
    return a, b, mine.stdout, theirs.stdout


def compare(a, b, what, same_opcodes, libs=None):
    """strobe's tree a equals Tachyon's b (strings resolved and in the same
    order).  Opcode names are Tachyon's own 3.15 table there; strobe names
    the profiled version's opcodes, so names are compared only when
    same_opcodes (a 3.15 target), and never its pseudo-opcodes (>= 256).
    libs: the files whose module and label may differ (OTHER_LIB)."""
    libs = libs or OTHER_LIB
    # One deliberate difference: a file of another Python's standard library
    # (lib/pythonX.Y) or under a site-packages (dist-packages) directory is
    # named by its path below it, as the profiled Python's own sys.path
    # would; Tachyon asks the sys.path of the Python it runs on (3.15, and in
    # a replay not the profiled one).  Those modules and labels may differ;
    # everything else, the order of the table included, may not.
    loose = site_strings(a, libs) | site_strings(b, libs)
    check(len(a["strings"]) == len(b["strings"]) and
          all(x == y for i, (x, y) in enumerate(zip(a["strings"], b["strings"])) if i not in loose),
          "%s: string tables differ (%d vs %d strings); first difference: %s", what,
          len(a["strings"]), len(b["strings"]),
          next(((i, x, y) for i, (x, y) in enumerate(zip(a["strings"], b["strings"]))
                if x != y and i not in loose), "(one is a prefix of the other)"))
    ma, mb = a.pop("opcode_mapping", None), b.pop("opcode_mapping", None)
    if same_opcodes and ma is not None and mb is not None:
        low = {k: v for k, v in mb["names"].items() if int(k) < 256}
        check(ma["names"] == low, "%s: opcode names differ", what)
        check(ma["deopt"] == mb["deopt"], "%s: deopt tables differ", what)
    ra, rb = resolve(a, a["strings"]), resolve(b, b["strings"])
    problems = []
    _diff(ra, rb, "$", problems, libs)
    check(not problems, "%s: strobe's flame graph differs from Tachyon's:\n  %s", what,
          "\n  ".join(problems[:12]))


OTHER_LIB = re.compile(r"/(site|dist)-packages/|/lib/python(?!3\.15/)\d+\.\d+t?/")
ANY_LIB = re.compile(r"/(site|dist)-packages/|/lib/python\d+\.\d+t?/")


def site_strings(data, libs=OTHER_LIB):
    """Indices of the module and label strings of files in another Python's
    library or in site-packages (libs)."""
    out = set()
    for n, _ in nodes(data):
        f = n.get("filename")
        if isinstance(f, int) and libs.search(data["strings"][f]):
            out.update((n["module"], n["label"]))
    return out


def _diff(x, y, path, out, libs=OTHER_LIB):
    if len(out) > 12:
        return
    if isinstance(x, dict) and isinstance(y, dict):
        site = bool(libs.search(str(x.get("filename", ""))))
        for k in sorted(set(x) | set(y)):
            if k == "opcode_mapping" or (site and k in ("module", "label")):
                continue
            if k not in x or k not in y:
                out.append("%s.%s only in %s" % (path, k, "Tachyon" if k in y else "strobe"))
            else:
                _diff(x[k], y[k], "%s.%s" % (path, k), out, libs)
    elif isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            out.append("%s: %d vs %d entries" % (path, len(x), len(y)))
        for i, (u, v) in enumerate(zip(x, y)):
            _diff(u, v, "%s[%d]" % (path, i), out, libs)
    elif isinstance(x, float) or isinstance(y, float):
        if not (isinstance(x, (int, float)) and isinstance(y, (int, float))
                and abs(x - y) <= 1e-9 * max(1.0, abs(y))):
            out.append("%s: %r vs %r" % (path, x, y))
    elif x != y or type(x) is not type(y):
        out.append("%s: %r vs %r" % (path, str(x)[:120], str(y)[:120]))


STRING_KEYS = ("name", "label", "filename", "module", "funcname")


def without_sources(data):
    """data as a page without source lines: no "source" members, and their
    strings out of the table (the others keep their order, indices remapped)."""
    strings = data["strings"]
    gone = {i for n, _ in nodes(data) for i in n.get("source", [])}
    new_index, kept = {}, []
    for i, s in enumerate(strings):
        if i not in gone:
            new_index[i] = len(kept)
            kept.append(s)

    def remap(node):
        out = {}
        for k, v in node.items():
            if k == "source":
                continue
            if k in STRING_KEYS and isinstance(v, int):
                out[k] = new_index[v]
            elif k == "children":
                out[k] = [remap(c) for c in v]
            elif k == "stats":
                out[k] = remap(v)
            else:
                out[k] = v
        return out

    out = remap(data)
    out["strings"] = kept
    return out


def in_root_strobe(ctx, t):
    """Put the strobe binary under test into Tachyon's scratch dir."""
    dst = os.path.join(t.dir, "strobe")
    shutil.copy(ctx.strobe_path, dst)
    os.chmod(dst, 0o755)


# ---------------------------------------------------------------------------
# run, attach, replay

@case("flamegraph_run", quick=True, engines=True)
def t_flamegraph_run(ctx):
    """run --flamegraph: self-contained page; root == samples; the chain with lines, source line, stats"""
    out = ctx.path("fg.html")
    p = ctx.strobe(["run", "-d", "1", "--flamegraph", "-o", out] + ctx.run_args("chain.py"))
    ready = p.message("ready")
    s = expect_success(p, duration=1)
    saved(p, out)
    _, data = load_page(out)
    check_tree(data)
    roots, total, _ = summary_line(p, data)
    check(0.5 * s["samples"] <= total <= s["samples"], "%d samples in the tree, %d captured",
          total, s["samples"])
    d = resolve(data, data["strings"])
    it, L = ctx.interp, ready["lines"]
    chain = [(fn(it, q), "chain.py", L[k]) for q, k in (
        ("<module>", "module"), ("main", "main"), ("Outer.method", "method"),
        ("Outer.method.<locals>.inner", "inner"), ("Outer.Nested.static", "lambda"),
        ("Outer.Nested.static.<locals>.<lambda>", "lambda"), ("leaf", "leaf"))]
    path = find_chain(d, chain)
    check(path, "no path %s in the tree; top:\n%s", chain, top_nodes(d))
    vals = [n["value"] for n in path]
    check(vals[0] >= 0.2 * total and max(vals) - min(vals) <= 0.1 * vals[0],
          "values along the chain %s of %d samples", vals, total)
    leaf = path[-1]
    check(leaf["self"] >= 0.9 * leaf["value"], "leaf self %s of %s", leaf["self"], leaf["value"])
    check(leaf["threads"] == [ready["tid"]] and
          leaf["thread_values"] == {str(ready["tid"]): [leaf["value"], leaf["self"]]},
          "leaf threads %s %s, main thread %d", leaf["threads"], leaf["thread_values"], ready["tid"])
    # the source line comes from the file as the target sees it (chroot too)
    cur = "\u2192 %d: " % L["leaf"]
    src = [l for l in leaf.get("source", []) if l.startswith(cur)]
    check(src and src[0].endswith("while c.now() < c.END: pass  # @leaf"),
          "leaf source lines %s", leaf.get("source"))
    check(leaf["name"].startswith("%s (" % fn(it, "leaf")) and
          leaf["name"].endswith("chain.py:%d)" % L["leaf"]) and
          leaf["label"].endswith("chain:%d)" % L["leaf"]), "leaf name %r label %r",
          leaf["name"], leaf["label"])
    st = data["stats"]
    check(st["sample_interval_usec"] == 1000 and st["mode"] == 0, "stats %s", st)
    check(abs(st["duration_sec"] - s["seconds"]) < 0.02 and abs(st["sample_rate"] - s["rate"]) < 1 and
          abs(st["error_rate"] - s["error_rate"]) < 0.01 and "missed_samples" in st,
          "stats %s for the run's %s", {k: st.get(k) for k in ("duration_sec", "sample_rate",
                                                               "error_rate", "missed_samples")}, s)
    check(str(ready["tid"]) in st["per_thread_stats"] and st["thread_stats"]["total"] > 0,
          "thread stats %s", st["thread_stats"])


@case("flamegraph_attach", engines="one")
def t_flamegraph_attach(ctx):
    """attach -a --flamegraph: every thread in the tree, each spinner's line under its own tid only"""
    target, ready = ctx.start_target("threads.py")
    out = ctx.path("fg.html")
    p = ctx.strobe(["attach", "-d", "1", "-a", "--flamegraph", "-o", out, str(ready["pid"])],
                   ready=False)
    expect_success(p, duration=1)
    saved(p, out)
    _, data = load_page(out)
    check_tree(data)
    summary_line(p, data)
    tids = ready["threads"]
    check(set(tids.values()) <= set(data["threads"]), "root threads %s, expected %s",
          data["threads"], tids)
    check(sum(v[0] for v in data["thread_values"].values()) == data["value"],
          "root thread values %s do not add up to %s", data["thread_values"], data["value"])
    d = resolve(data, data["strings"])
    it, L = ctx.interp, ready["lines"]
    for role in ("spin_a", "spin_b"):
        want = (fn(it, "Workers." + role), "threads.py", L[role])
        hits = [n for n, _ in nodes(d) if ident(n) == want]
        check(hits, "no node %s; top:\n%s", want, top_nodes(d))
        n = max(hits, key=lambda x: x["value"])
        check(n["threads"] == [tids[role]] and n["value"] >= 0.2 * data["value"] / 4,
              "%s: threads %s value %s of %s", role, n["threads"], n["value"], data["value"])
    check(len(data["stats"]["per_thread_stats"]) >= 4, "per-thread stats for %s",
          list(data["stats"]["per_thread_stats"]))


@case("flamegraph_replay_tachyon", engines="one")
def t_flamegraph_replay_tachyon(ctx):
    """replay of the same binary files by strobe and Tachyon: identical --flamegraph and --diff-flamegraph data"""
    cur, base = ctx.path("cur.bin"), ctx.path("base.bin")
    # the current run: threads (and opcodes); the baseline: another program at
    # half the rate, so paths match, change, appear and disappear, scaled by 2
    p = ctx.strobe(["run", "-d", "1", "-a", "--opcodes", "--binary", "-o", cur] +
                   ctx.run_args("threads.py"))
    p.message("ready")
    expect_success(p, duration=1)
    p = ctx.strobe(["run", "-d", "1", "-a", "--opcodes", "-r", "500", "--binary", "-o", base] +
                   ctx.run_args("chain.py"))
    p.message("ready")
    expect_success(p, duration=1, rate=500)
    # strobe replays a recording of root's with nobody's credentials (the
    # names in it are the target's; docs/security.md), Tachyon as root: where
    # nobody cannot search the sid root (0700, as tests/provision.sh's mktemp
    # -d made it), strobe
    # shows no source line of a file in it, nor sees which directory is a
    # standard library (its os.py), and the pages are compared without source
    # lines and with the module names of every library loose
    blind = ctx.interp.root is not None and not os.stat(SID_ROOT).st_mode & 0o001
    if blind:
        ctx.notes.append("%s is not searchable by nobody: source lines and library module "
                         "names not compared" % SID_ROOT)

    def summary(out):
        line = SUMMARY.search(out).group(0)
        return re.sub(r"\d+ unique strings?$", "", line) if blind else line

    t = Tachyon(ctx)
    try:
        in_root_strobe(ctx, t)
        t.put(cur, "cur.bin")
        t.put(base, "base.bin")
        v315 = tuple(ctx.interp.version[:2]) == (3, 15)
        a, b, so, to = replay_both(ctx, t, ["--flamegraph", "cur.bin"], "fg")
        check(summary(so) == summary(to), "summary lines differ:\n  %s\n  %s",
              SUMMARY.search(so).group(0), SUMMARY.search(to).group(0))
        check(any("opcodes" in n for n, _ in nodes(a)), "no opcodes in the tree")
        libs = None
        if blind:
            a, b, libs = without_sources(a), without_sources(b), ANY_LIB
        compare(a, b, "--flamegraph", v315, libs)
        a, b, so, to = replay_both(ctx, t, ["--diff-flamegraph", "base.bin", "cur.bin"], "diff")
        check(summary(so) == summary(to), "diff summary lines differ")
        if blind:
            a, b = without_sources(a), without_sources(b)
        st = a["stats"]
        check(st.get("is_differential") is True and st.get("baseline_scale") == 2.0 and
              st.get("elided_count", 0) > 0 and "elided_flamegraph" in st,
              "diff stats %s", {k: v for k, v in st.items() if k != "elided_flamegraph"})
        compare(a, b, "--diff-flamegraph", v315, libs)
    finally:
        t.cleanup()


@case("flamegraph_replay", quick=True, engines="one")
def t_flamegraph_replay(ctx):
    """replay --flamegraph of a recorded file: same tree as --flamegraph of the same run; stats restored"""
    binf = ctx.path("prof.bin")
    p = ctx.strobe(["run", "-d", "1", "--binary", "-o", binf] + ctx.run_args("chain.py"))
    p.message("ready")
    s = expect_success(p, duration=1)
    out = ctx.path("replayed.html")
    q = ctx.strobe(["replay", "--flamegraph", "-o", out, binf], ready=False)
    check(q.wait(60) == 0, "replay exited %s: %s", q.rc, q.stderr[-400:])
    saved(q, out)
    _, data = load_page(out)
    check_tree(data)
    summary_line(q, data)
    check(data["value"] <= s["samples"] and data["value"] >= 0.5 * s["samples"],
          "replayed tree holds %s of %d samples", data["value"], s["samples"])
    st = data["stats"]
    check(abs(st.get("duration_sec", 0) - s["seconds"]) < 0.02 and st["sample_interval_usec"] == 1000,
          "replayed stats %s for %s", st, s)


# ---------------------------------------------------------------------------
# Errors, names, --browser

@case("flamegraph_errors", kind="global", quick=True)
def t_flamegraph_errors(ctx):
    """--diff-flamegraph: Tachyon's messages for a missing baseline (before sampling), other mode, other capture options, not a binary file"""
    missing = ctx.path("nope.bin")
    # readiness on the pipe (here and below): a target that gets as far as
    # "ready" before strobe stops never adds that line to stderr
    p = ctx.strobe(["run", "-d", "1", "--diff-flamegraph", missing] + ctx.run_args("chain.py"))
    p.wait(30)
    line = one_line_error(p, 1)
    check(line == "Error: Baseline file not found: %s" % missing, "got %r", line)
    check("Captured" not in p.stdout, "sampled before checking the baseline:\n%s", p.stdout)

    wall, cpu, allt = ctx.path("wall.bin"), ctx.path("cpu.bin"), ctx.path("all.bin")
    for path, extra in ((wall, []), (cpu, ["--mode", "cpu"]), (allt, ["-a"])):
        q = ctx.strobe(["run", "-d", "1", "--binary", "-o", path] + extra + ctx.run_args("chain.py"))
        q.message("ready")
        expect_success(q, duration=1)
    junk = ctx.path("junk.bin")
    with open(junk, "wb") as f:
        f.write(b"not a profile\n" * 20)
    for baseline, msg in ((cpu, "Error: Baseline profiling mode does not match current mode"),
                          (allt, "Error: Baseline capture configuration does not match current "
                                 "configuration: all_threads"),
                          (junk, None)):
        out = ctx.path("d.html")
        q = ctx.strobe(["replay", "--diff-flamegraph", baseline, "-o", out, wall], ready=False)
        q.wait(60)
        line = one_line_error(q, 1)
        if msg:
            check(line == msg, "baseline %s: %r, expected %r", os.path.basename(baseline), line, msg)
        else:
            check(line.startswith("Error: "), "junk baseline: %r", line)
        check(not os.path.exists(out), "a page was written despite the error")
    # run and attach find out before sampling (Tachyon only after, losing the run)
    p = ctx.strobe(["run", "-d", "1", "--mode", "cpu", "--diff-flamegraph", wall] +
                   ctx.run_args("chain.py"))
    p.wait(30)
    line = one_line_error(p, 1)
    check(line == "Error: Baseline profiling mode does not match current mode", "got %r", line)
    check("Captured" not in p.stdout, "sampled before checking the baseline:\n%s", p.stdout)
    target, ready = ctx.start_target("spin.py")
    p = ctx.strobe(["attach", "-d", "1", "-a", "--diff-flamegraph", wall, str(ready["pid"])],
                   ready=False)
    p.wait(30)
    line = one_line_error(p, 1)
    check(line == "Error: Baseline capture configuration does not match current configuration: "
          "all_threads", "got %r", line)
    # the same baseline as the current profile: nothing changed, nothing elided
    out = ctx.path("same.html")
    q = ctx.strobe(["replay", "--diff-flamegraph", wall, "-o", out, wall], ready=False)
    check(q.wait(60) == 0, "self-diff exited %s: %s", q.rc, q.stderr[-300:])
    _, data = load_page(out)
    st = data["stats"]
    check(st["is_differential"] and st["elided_count"] == 0 and st["baseline_scale"] == 1.0 and
          "elided_flamegraph" not in st, "self-diff stats %s", st)
    for n, _ in nodes(data):
        if "diff" in n:
            check(n["diff"] == 0 and n["diff_pct"] == 0, "self-diff node with diff %s %s", n["diff"],
                  n["diff_pct"])


@case("flamegraph_default_names", kind="global")
def t_flamegraph_default_names(ctx):
    """no -o: flamegraph_<pid>.html in the cwd; -o DIR: inside DIR; --browser hands file://PATH to xdg-open"""
    cwd = ctx.path("cwd")
    os.mkdir(cwd)
    p = ctx.strobe(["run", "-d", "1", "--flamegraph"] + ctx.run_args("chain.py"), cwd=cwd)
    ready = p.message("ready")
    expect_success(p, duration=1)
    name = "flamegraph_%d.html" % ready["pid"]
    check(os.listdir(cwd) == [name], "cwd holds %s, expected [%s]", os.listdir(cwd), name)
    saved(p, name)

    outdir = ctx.path("outdir")
    os.mkdir(outdir)
    binf = ctx.path("p.bin")
    p = ctx.strobe(["run", "-d", "1", "--binary", "-o", binf] + ctx.run_args("chain.py"))
    p.message("ready")
    expect_success(p, duration=1)
    # replay names the page after the replaying process; --browser opens it
    bindir = ctx.path("bin")
    os.mkdir(bindir)
    opened = ctx.path("opened.txt")
    opener = os.path.join(bindir, "xdg-open")
    with open(opener, "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$@" > %s.tmp && mv %s.tmp %s\n' % (opened, opened, opened))
    os.chmod(opener, 0o755)
    env = ctx.env(PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    q = ctx.strobe(["replay", "--flamegraph", "--browser", "-o", outdir, binf], ready=False, env=env)
    check(q.wait(60) == 0, "replay exited %s: %s", q.rc, q.stderr[-300:])
    name = "flamegraph_%d.html" % q.pid
    check(os.listdir(outdir) == [name], "-o DIR holds %s, expected [%s]", os.listdir(outdir), name)
    page = os.path.join(outdir, name)
    saved(q, page)
    deadline = time.monotonic() + 20
    while not os.path.exists(opened) and time.monotonic() < deadline:
        time.sleep(0.05)  # the opener runs detached: poll for its note, bounded
    check(os.path.exists(opened), "--browser did not run xdg-open")
    with open(opened) as f:
        args = f.read().split()
    check(args == ["file://" + os.path.realpath(page)], "xdg-open got %s", args)


# ---------------------------------------------------------------------------
# In the browser

@case("flamegraph_browser", kind="global", quick=True)
def t_flamegraph_browser(ctx):
    """Chromium: run -a page loads cleanly, root == samples, search, zoom, tooltip, inverted, thread filter, theme"""
    out = ctx.path("fg.html")
    p = ctx.strobe(["run", "-d", "1", "-a", "--flamegraph", "-o", out] + ctx.run_args("threads.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    _, data = load_page(out)
    _, total, _ = summary_line(p, data)
    spin = fn(ctx.interp, "Workers.spin_a")
    line = ready["lines"]["spin_a"]
    res = page_test(ctx, out, total, "--search", "spin_", "--zoom", spin, "--threads",
                    "--tip", "\u2192 %d:" % line)
    check(res["search"]["matches"] >= 2, "search for spin_ found %s", res["search"])
    check("while c.now() < c.END: pass  # @spin_a" in res["tip"], "no source line in the "
          "tooltip: %r", res["tip"])
    st, cards = data["stats"], res["cards"]
    check(cards["duration"] == "%.2f s" % st["duration_sec"] and
          cards["errors"] == "%.2f%%" % st["error_rate"] and
          cards["missed"] == "%.2f%%" % st["missed_samples"] and
          cards["rate"].endswith("/s") and int(cards["functions"]) > 3,
          "summary cards %s for stats %s", cards,
          {k: st[k] for k in ("duration_sec", "sample_rate", "error_rate", "missed_samples")})
    check(res["zoomed"]["value"] > 0 and str(ready["lines"]["spin_a"]) in res["zoomed"]["name"],
          "zoomed into %s", res["zoomed"])


@case("flamegraph_diff_browser", kind="global")
def t_flamegraph_diff_browser(ctx):
    """run --diff-flamegraph BASELINE: colours from the baseline, elided view in Chromium"""
    base = ctx.path("base.bin")
    p = ctx.strobe(["run", "-d", "1", "-r", "500", "--binary", "-o", base] + ctx.run_args("threads.py"))
    p.message("ready")
    expect_success(p, duration=1, rate=500)
    out = ctx.path("diff.html")
    p = ctx.strobe(["run", "-d", "1", "--diff-flamegraph", base, "-o", out] + ctx.run_args("shares.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    saved(p, out)
    html, data = load_page(out)
    check("Differential Flamegraph Report" in html, "not titled as a differential report")
    _, total, _ = summary_line(p, data)
    st = data["stats"]
    check(st["is_differential"] and st["baseline_scale"] == 2.0 and st["elided_count"] > 0 and
          st["current_samples"] == total and st["baseline_samples"] > 0,
          "diff stats %s", {k: v for k, v in st.items() if k != "elided_flamegraph"})
    d = resolve(data, data["strings"])
    hot = [n for n, _ in nodes(d) if ident(n) == ("hot", "shares.py", ready["lines"]["hot"])]
    check(hot and hot[0]["diff_pct"] == 100.0 and hot[0]["baseline"] == 0 and
          hot[0]["diff"] == hot[0]["self"], "hot() is new: %s",
          hot and {k: hot[0][k] for k in ("self", "baseline", "diff", "diff_pct")})
    el = st["elided_flamegraph"]
    eld = resolve(el, el["strings"])
    spins = [n for n, _ in nodes(eld) if n.get("funcname") == fn(ctx.interp, "Workers.spin_a")]
    check(not spins, "spin_a ran in the baseline's main-thread-only profile?")
    gone = [n for n, _ in nodes(eld) if n.get("diff_pct") == -100.0]
    check(gone, "no vanished function in the elided view")
    page_test(ctx, out, total, "--diff")


@case("flamegraph_screenshot", kind="global")
def t_flamegraph_screenshot(ctx):
    """a fixed profile's page looks like docs/screenshots/flamegraph.png (structure, not pixels)"""
    check(os.path.exists(SCREENSHOT), "no %s", SCREENSHOT)
    t = Tachyon(ctx)
    try:
        inside = t.put(DEMO_PROFILE)
        t.python([inside, "demo.bin"])
        binf = ctx.path("demo.bin")
        shutil.copy(t.host("demo.bin"), binf)
        theirs = t.run(["replay", "--flamegraph", "-o", "t.html", "demo.bin"])
    finally:
        t.cleanup()
    out = ctx.path("demo.html")
    q = ctx.strobe(["replay", "--flamegraph", "-o", out, binf], ready=False)
    check(q.wait(60) == 0, "replay exited %s: %s", q.rc, q.stderr[-300:])
    # roots and samples as Tachyon's (strings differ: its root has the source files)
    mine_s, theirs_s = SUMMARY.search(q.stdout), SUMMARY.search(theirs.stdout)
    check(mine_s and theirs_s and mine_s.groups()[:2] == theirs_s.groups()[:2],
          "summary %s, Tachyon's %s", mine_s and mine_s.group(0), theirs_s and theirs_s.group(0))
    _, data = load_page(out)
    png = ctx.path("shot.png")
    res = page_test(ctx, out, data["value"], "--zoom", "Session.query", "--threads",
                    "--screenshot", png)
    check(res["nodes"] == 37, "the demo profile shows %s frames, expected 37", res["nodes"])
    got, want = png_grid(png), png_grid(SCREENSHOT)
    check(got["size"] == want["size"], "screenshot %s, reference %s", got["size"], want["size"])
    # cells with something drawn in either picture (the background is most of
    # the page and would hide a wrong flame graph)
    inked = [(a, b) for a, b in zip(got["cells"], want["cells"]) if a != BLANK or b != BLANK]
    check(len(inked) > 0.05 * len(want["cells"]), "nothing drawn: %d inked cells", len(inked))
    share = sum(1 for a, b in inked if a == b) / len(inked)
    if share < 0.85:
        keep = ctx.path("..", "flamegraph-screenshot-got.png")
        shutil.copy(png, keep)
        raise Failure("screenshot matches the reference in %.1f%% of its drawn cells (want 85%%); "
                      "picture kept at %s" % (share * 100, os.path.abspath(keep)))
    ctx.notes.append("screenshot: %.1f%% of %d inked cells as the reference" % (share * 100, len(inked)))


@case("flamegraph_big", kind="global", exclusive=True)
def t_flamegraph_big(ctx):
    """100,000 distinct frames: written fast, same tree size as Tachyon says, page usable in Chromium"""
    t = Tachyon(ctx)
    try:
        inside = t.put(WIDE_PROFILE)
        t.python([inside, "wide.bin", "1000", "100", "10"], timeout=300)
        binf = ctx.path("wide.bin")
        shutil.copy(t.host("wide.bin"), binf)
    finally:
        t.cleanup()
    out = ctx.path("wide.html")
    t0 = time.monotonic()
    q = ctx.strobe(["replay", "--flamegraph", "-o", out, binf], ready=False)
    check(q.wait(120) == 0, "replay exited %s: %s", q.rc, q.stderr[-300:])
    secs = time.monotonic() - t0
    _, data = load_page(out)
    roots, total, nstr = summary_line(q, data)
    check((roots, total, nstr) == (1000, 10000, 300101), "summary %s", (roots, total, nstr))
    # Tachyon needs ~30 s here; a loaded 2-core machine gives strobe ~1 s
    check(secs < 20, "writing the page took %.1f s", secs)
    res = page_test(ctx, out, total, "--search", "stack7_level5", "--budget-ms", "90000",
                    timeout=300)
    check(res["nodes"] == 100001, "the page shows %s frames", res["nodes"])
    check(res["draw"]["ms"] < 2000, "one redraw takes %s ms", res["draw"]["ms"])
    ctx.notes.append("100k frames: written in %.2f s, loaded in %d ms, redraw %.1f ms"
                     % (secs, res["load_ms"], res["draw"]["ms"]))


# ---------------------------------------------------------------------------
# PNG, by structure: a coarse grid of cells, each classed by its mean
# brightness and saturation (background, text-ish, frame colour); fonts and
# anti-aliasing differ between machines, the layout does not.

GRID = (64, 36)
BLANK = (0, False)  # a light, unsaturated cell: background


def png_grid(path):
    w, h, rows = png_decode(path)
    gw, gh = GRID
    cells = []
    for gy in range(gh):
        y0, y1 = gy * h // gh, (gy + 1) * h // gh
        for gx in range(gw):
            x0, x1 = gx * w // gw, (gx + 1) * w // gw
            rs = gs = bs = n = 0
            for y in range(y0, y1, 2):
                row = rows[y]
                for x in range(x0, x1, 2):
                    r, g, b = row[x]
                    rs += r
                    gs += g
                    bs += b
                    n += 1
            r, g, b = rs / n, gs / n, bs / n
            light = (r + g + b) / 3
            sat = max(r, g, b) - min(r, g, b)
            cells.append((0 if light > 200 else 1 if light > 90 else 2, sat > 60))
    return {"size": (w, h), "cells": cells}


def png_decode(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA, non-interlaced PNG."""
    with open(path, "rb") as f:
        raw = f.read()
    check(raw[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG", path)
    pos, idat, hdr = 8, [], None
    while pos < len(raw):
        n, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        body = raw[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    check(hdr, "%s: no IHDR", path)
    w, h, depth, color, _, _, interlace = hdr
    check(depth == 8 and color in (2, 6) and interlace == 0, "%s: unsupported PNG %s", path, hdr)
    bpp = 3 if color == 2 else 4
    data = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows, p = [], 0
    for _ in range(h):
        ft = data[p]
        line = bytearray(data[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows
