"""Data formats for tools: --jsonl (Tachyon's JSONL schema v0), --speedscope
and --pprof (beyond Tachyon), from run, attach and replay on every version.

Consumers, from the cache tests/provision.sh fills ($STROBE_NODE_DIR,
default /var/cache/strobe/node) and Debian:
  - ajv (tests/schemas/validate.cjs) against tests/schemas/jsonl-v0.json and
    the schema the speedscope npm package ships;
  - speedscope's own page in headless Chromium (tests/browser/speedscope_load.cjs);
  - `go tool pprof` (Debian golang-go);
  - Tachyon itself: its replay of the same binary file must give the same
    JSONL bytes (run_id aside) and the totals every format must agree with.
"""
import gzip
import json
import os
import re
import shutil

from cases import case, chain_stack, expect_success, spin_stack
from harness import Failure, Tachyon, check, fn, strip_runpy

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
NODE_DIR = os.environ.get("STROBE_NODE_DIR", "/var/cache/strobe/node")
JSONL_SCHEMA = os.path.join(TESTS, "schemas", "jsonl-v0.json")
VALIDATE = os.path.join(TESTS, "schemas", "validate.cjs")
SPEEDSCOPE_LOAD = os.path.join(TESTS, "browser", "speedscope_load.cjs")
SPEEDSCOPE_SCHEMA = os.path.join(NODE_DIR, "node_modules", "speedscope", "dist", "release",
                                 "file-format-schema.json")
RUN_ID = re.compile(rb'"run_id":"([0-9a-f]{32})"')
UUID4_HEX = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$")


def _need(path, what):
    check(os.path.exists(path), "%s is missing (%s): run tests/provision.sh", path, what)


def _tool(ctx, argv, name, timeout=120):
    """Run a consumer; fails with its output unless it exits 0.  Returns stdout."""
    p = ctx.spawn(argv, ready=False, name=name,
                  env=ctx.env(STROBE_NODE_DIR=NODE_DIR, PPROF_TMPDIR=ctx.work,
                              HOME=os.environ.get("HOME", ctx.work)))
    rc = p.wait(timeout)
    check(rc == 0, "%s exited with %s:\n%s", name, rc, (p.stdout + p.stderr)[-1500:])
    return p.stdout


def ajv(ctx, schema, path, jsonl=False):
    _need(VALIDATE, "validator")
    _need(os.path.join(NODE_DIR, "node_modules", "ajv"), "npm package ajv")
    _need(schema, "schema")
    _tool(ctx, ["node", VALIDATE] + (["--jsonl"] if jsonl else []) + [schema, path], "ajv")


def speedscope_page(ctx, path, expect=()):
    """Load path in speedscope's own page in headless Chromium: no error of any kind."""
    _need(os.path.join(NODE_DIR, "node_modules", "playwright-core"), "npm package playwright-core")
    argv = ["node", SPEEDSCOPE_LOAD, path]
    for e in expect:
        argv += ["--expect", e]
    out = _tool(ctx, argv, "speedscope-page", timeout=180)
    res = json.loads(out.strip().splitlines()[-1])
    check(res.get("ok"), "speedscope page: %s", res)


def go_pprof(ctx, *args):
    check(shutil.which("go"), "no `go` (Debian golang-go): run tests/provision.sh")
    return _tool(ctx, ["go", "tool", "pprof"] + list(args), "pprof")


def written(p, msg, path):
    check(re.search("^%s %s$" % (re.escape(msg), re.escape(path)), p.stdout, re.M),
          "no '%s %s' line:\n%s", msg, path, p.stdout[-800:])


# ---------------------------------------------------------------------------
# Readers

class Jsonl:
    """A JSONL v0 file: meta, strings, frames (dicts with 'path' and 'func'
    resolved), agg rows by frame id, samples_total, run_id."""

    def __init__(self, path):
        check(os.path.exists(path), "JSONL output %s was not written", path)
        with open(path, "rb") as f:
            self.raw = f.read()
        self.records = [json.loads(l) for l in self.raw.decode("ascii").splitlines()]
        check(self.records and self.records[0]["type"] == "meta", "%s: no meta record", path)
        self.meta = self.records[0]
        self.run_id = self.meta["run_id"]
        strings, self.frames, self.agg = [], [], {}
        self.total = None
        for r in self.records:
            if r["type"] == "string_table":
                strings += [s["value"] for s in r["strings"]]
            elif r["type"] == "frame_table":
                self.frames += r["frames"]
            elif r["type"] == "agg":
                self.agg.update({e["frame_id"]: e for e in r["entries"]})
            elif r["type"] == "end":
                self.total = r["samples_total"]
        for f in self.frames:
            f["path"] = strings[f["path_str_id"]]
            f["func"] = strings[f["func_str_id"]]

    def find(self, file, func, line):
        """Frames of basename file, function func at line."""
        return [f for f in self.frames if os.path.basename(f["path"]) == file
                and f["func"] == func and f["line"] == line]

    def summary(self, limit=8):
        rows = sorted(self.frames, key=lambda f: -self.agg[f["frame_id"]]["cumulative"])[:limit]
        return ["samples_total %s" % self.total] + [
            "  %6d %6d %s:%s:%d" % (self.agg[f["frame_id"]]["self"], self.agg[f["frame_id"]]["cumulative"],
                                   os.path.basename(f["path"]), f["func"], f["line"]) for f in rows]


def speedscope_stacks(doc, profile, interval=1000):
    """[(frames root first as 'file:func:line', samples)] of one profile
    (weights in microseconds: samples of `interval` us)."""
    frames = doc["shared"]["frames"]
    unit = profile["unit"]
    out = []
    for stack, w in zip(profile["samples"], profile["weights"]):
        names = []
        for i in stack:
            f = frames[i]
            names.append("%s:%s:%d" % (os.path.basename(f.get("file", "")), f["name"], f.get("line", 0))
                         if "file" in f else f["name"])
        out.append((names, w // interval if unit == "microseconds" else w))
    return out


def pprof_top(ctx, path, *extra, granularity="-lines"):
    """(total, rows, text) of `go tool pprof -top -lines -sample_index=samples`:
    rows of (flat, cum, 'func file:line') (or 'func' with granularity="-functions")."""
    out = go_pprof(ctx, "-top", granularity, "-nodecount=1000000", "-sample_index=samples", *extra,
                   path)
    m = re.search(r"Total samples = (\d+)", out)
    check(m, "no 'Total samples = N' in pprof -top:\n%s", out[-1500:])
    rows = []
    for line in out.splitlines():
        r = re.match(r"^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(.+)$", line)
        if r:
            rows.append((int(r.group(1)), int(r.group(2)), r.group(3).strip()))
    return int(m.group(1)), rows, out


def pprof_tags(ctx, path):
    """{label: {value: samples}} from `go tool pprof -tags` (numeric values as int)."""
    out = go_pprof(ctx, "-tags", "-sample_index=samples", path)
    tags, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^\s*(\S+): Total ", line)
        if m:
            cur = tags.setdefault(m.group(1), {})
            continue
        m = re.match(r"^\s*([\d.]+) \([\d.]+%\): (.+)$", line)
        if m and cur is not None:
            v = m.group(2).strip()
            cur[int(v) if v.isdigit() else v] = int(float(m.group(1)))
    return tags


# ---------------------------------------------------------------------------
# JSONL

@case("jsonl_run", quick=True, engines="one")
def t_jsonl_run(ctx):
    """run --jsonl: valid v0 (ajv), the chain's frames with lines, columns on 3.11+, self/cumulative"""
    out = ctx.path("out.jsonl")
    p = ctx.strobe(["run", "-d", "1", "--jsonl", "-o", out] + ctx.run_args("chain.py"))
    ready = p.message("ready")
    s = expect_success(p, duration=1)
    written(p, "JSONL profile written to", out)
    ajv(ctx, JSONL_SCHEMA, out, jsonl=True)
    j = Jsonl(out)
    check(UUID4_HEX.match(j.run_id), "run_id %r is not a uuid4 in hex", j.run_id)
    check(j.meta.get("sample_interval_usec") == 1000 and j.meta.get("mode") == "wall",
          "meta record %s", j.meta)
    check(0.2 * s["samples"] <= j.total <= s["samples"], "samples_total %d for %d samples",
          j.total, s["samples"])
    it, L = ctx.interp, ready["lines"]
    # start-up (imports) takes a share of the run that depends on the load:
    # the chain's frames are compared with each other, not with the total
    chain = [f.split(":") for f in chain_stack(it, L)]
    cums = []
    for file, func, line in chain:
        got = j.find(file, func, int(line))
        check(got, "no frame %s:%s:%s\n%s", file, func, line, "\n".join(j.summary()))
        cums.append(sum(j.agg[f["frame_id"]]["cumulative"] for f in got))
    check(cums[0] >= 0.2 * j.total, "the chain is in %d of %d stacks\n%s", cums[0], j.total,
          "\n".join(j.summary()))
    check(max(cums) - min(cums) <= 0.1 * cums[0], "cumulative counts along the chain %s\n%s",
          cums, "\n".join(j.summary()))
    leaf = j.find(*chain[-1][:2], int(chain[-1][2]))
    self_ = sum(j.agg[f["frame_id"]]["self"] for f in leaf)
    check(self_ >= 0.9 * cums[0], "leaf self %d of the chain's %d", self_, cums[0])
    for f in leaf:
        has_cols = "col" in f and "end_col" in f and f.get("end_line", 0) >= f["line"]
        if tuple(it.version[:2]) >= (3, 11):
            check(has_cols, "3.11+ leaf frame without columns: %s", f)
        else:
            check("col" not in f and "end_col" not in f, "columns before 3.11: %s", f)


@case("dataformats_replay", quick=True, engines="one")
def t_dataformats_replay(ctx):
    """replay of one binary file: JSONL byte-identical to Tachyon's (run_id aside); speedscope and pprof totals equal Tachyon's"""
    binf = ctx.path("prof.bin")
    p = ctx.strobe(["run", "-d", "1", "-a", "--binary", "-o", binf] + ctx.run_args("threads.py"))
    ready = p.message("ready")
    expect_success(p, duration=1)
    outs = {}
    for flag, name in (("--jsonl", "s.jsonl"), ("--speedscope", "s.json"), ("--pprof", "s.pb.gz")):
        outs[flag] = ctx.path(name)
        q = ctx.strobe(["replay", flag, "-o", outs[flag], binf], ready=False)
        check(q.wait(60) == 0, "strobe replay %s exited with %s: %s", flag, q.rc, q.stderr[-400:])
        check(re.search(r"^Replayed \d+ samples$", q.stdout, re.M), "no 'Replayed' line")
    t = Tachyon(ctx)
    try:
        inside = t.put(binf, "in.bin")
        t.run(["replay", "--jsonl", "-o", "t.jsonl", inside])
        theirs_path = ctx.path("t.jsonl")
        shutil.copy(t.host("t.jsonl"), theirs_path)
    finally:
        t.cleanup()

    # JSONL: the same bytes but the run id; both valid
    ajv(ctx, JSONL_SCHEMA, outs["--jsonl"], jsonl=True)
    ajv(ctx, JSONL_SCHEMA, theirs_path, jsonl=True)
    mine, theirs = Jsonl(outs["--jsonl"]), Jsonl(theirs_path)
    check(UUID4_HEX.match(mine.run_id), "run_id %r is not a uuid4 in hex", mine.run_id)
    check(mine.run_id != theirs.run_id, "the same run_id twice: %s", mine.run_id)
    a = RUN_ID.sub(b'"run_id":"R"', mine.raw)
    b = RUN_ID.sub(b'"run_id":"R"', theirs.raw)
    if a != b:
        al, bl = a.split(b"\n"), b.split(b"\n")
        i = next((k for k, (x, y) in enumerate(zip(al, bl)) if x != y), min(len(al), len(bl)))
        x = al[i] if i < len(al) else b"(end)"
        y = bl[i] if i < len(bl) else b"(end)"
        k = next((c for c, (u, v) in enumerate(zip(x, y)) if u != v), min(len(x), len(y)))
        raise Failure("strobe's JSONL differs from Tachyon's at line %d, byte %d (%d vs %d lines):\n"
                      "  strobe  ...%s\n  Tachyon ...%s" % (i + 1, k, len(al), len(bl),
                                                            x[max(0, k - 80):k + 120].decode(),
                                                            y[max(0, k - 80):k + 120].decode()))
    total = theirs.total
    check(total > 0, "Tachyon's replay counted no samples")

    # speedscope: one profile per thread; weights / interval add up to the same total
    ajv(ctx, SPEEDSCOPE_SCHEMA, outs["--speedscope"])
    with open(outs["--speedscope"], encoding="utf-8") as f:
        doc = json.load(f)
    interval = theirs.meta["sample_interval_usec"]
    got = 0
    for prof in doc["profiles"]:
        check(prof["unit"] == "microseconds", "unit %s", prof["unit"])
        check(all(w % interval == 0 for w in prof["weights"]), "weights not whole intervals")
        check(prof["endValue"] == sum(prof["weights"]), "endValue %s != sum of weights", prof["endValue"])
        got += sum(prof["weights"]) // interval
    check(got == total, "speedscope holds %d samples, Tachyon's JSONL %d", got, total)
    # On a loaded machine a 1 s run can end before every worker has been
    # seen: each profile must be one of the target's threads, main included.
    names = {p["name"] for p in doc["profiles"]}
    known = {"Thread %d%s" % (tid, " (main)" if role == "main" else "")
             for role, tid in ready["threads"].items()}
    check("Thread %d (main)" % ready["threads"]["main"] in names,
          "no speedscope profile for the main thread (have %s)", sorted(names))
    check(names <= known, "speedscope profiles %s, the target's threads %s", sorted(names),
          sorted(known))

    # pprof: the same total, and per thread
    ptotal, rows, text = pprof_top(ctx, outs["--pprof"])
    check(ptotal == total, "pprof total %d, Tachyon's JSONL %d", ptotal, total)
    per_thread = pprof_tags(ctx, outs["--pprof"]).get("thread_id", {})
    for prof in doc["profiles"]:
        tid = int(prof["name"].split()[1])
        check(per_thread.get(tid) == sum(prof["weights"]) // interval,
              "thread %d: pprof has %s samples, speedscope %d", tid, per_thread.get(tid),
              sum(prof["weights"]) // interval)
    check(len(per_thread) == len(doc["profiles"]), "pprof threads %s, speedscope %s",
          sorted(per_thread), [p["name"] for p in doc["profiles"]])


# ---------------------------------------------------------------------------
# speedscope

@case("speedscope_run", quick=True, engines="one")
def t_speedscope_run(ctx):
    """run -a --speedscope: schema-valid, a profile per thread, exact stacks, loads in speedscope (Chromium)"""
    out = ctx.path("out.json")
    p = ctx.strobe(["run", "-d", "1", "-a", "--speedscope", "-o", out] + ctx.run_args("threads.py"))
    ready = p.message("ready")
    s = expect_success(p, duration=1)
    written(p, "Speedscope profile written to", out)
    ajv(ctx, SPEEDSCOPE_SCHEMA, out)
    with open(out, encoding="utf-8") as f:
        doc = json.load(f)
    check(doc["$schema"] == "https://www.speedscope.app/file-format-schema.json", "$schema %s",
          doc["$schema"])
    it, L, tids = ctx.interp, ready["lines"], ready["threads"]
    byname = {pr["name"]: pr for pr in doc["profiles"]}
    main_name = "Thread %d (main)" % tids["main"]
    check(main_name in byname, "no profile %r: %s", main_name, sorted(byname))
    check(doc["profiles"][doc["activeProfileIndex"]]["name"] == main_name,
          "active profile is %s", doc["profiles"][doc["activeProfileIndex"]]["name"])
    for role in ("spin_a", "spin_b"):
        prof = byname.get("Thread %d" % tids[role])
        check(prof, "no profile for thread %s (%d): %s", role, tids[role], sorted(byname))
        stacks = speedscope_stacks(doc, prof)
        n = sum(c for _, c in stacks)
        # sampling starts at launch: under load the workers may exist for
        # only the end of a 1 s run, so no share of the total is asked for
        check(0 < n <= s["samples"], "thread %s: %d samples of %d", role, n, s["samples"])
        leaf = "threads.py:%s:%d" % (fn(it, "Workers." + role), L[role])
        hot = sum(c for fr, c in stacks if fr and fr[-1] == leaf)
        # thread start-up (waiting for "go") takes a load-dependent share:
        # compare with the samples in the spinning function, not the total
        in_fn = sum(c for fr, c in stacks if fr and fr[-1].rsplit(":", 1)[0] == leaf.rsplit(":", 1)[0])
        check(in_fn > 0 and hot >= 0.9 * in_fn,
              "thread %s: %d of %d samples end in %s, %d in its function; top: %s",
              role, hot, n, leaf, in_fn, max(stacks, key=lambda x: x[1]))
    speedscope_page(ctx, out, expect=[main_name])


# ---------------------------------------------------------------------------
# pprof

@case("pprof_run", quick=True, engines="one")
def t_pprof_run(ctx):
    """run --pprof: go tool pprof reads it; hot function with file:line; totals; thread label"""
    out = ctx.path("out.pb.gz")
    p = ctx.strobe(["run", "-d", "1", "--pprof", "-o", out] + ctx.run_args("chain.py"))
    ready = p.message("ready")
    s = expect_success(p, duration=1)
    written(p, "pprof profile written to", out)
    with open(out, "rb") as f:
        raw = f.read()
    check(raw[:2] == b"\x1f\x8b", "not gzip")
    gzip.decompress(raw)  # a whole, valid gzip stream
    total, rows, text = pprof_top(ctx, out)
    # (start-up before the first stack takes a load-dependent share of a 1 s run)
    check(0.2 * s["samples"] <= total <= s["samples"], "pprof total %d for %d samples", total,
          s["samples"])
    it, L = ctx.interp, ready["lines"]
    path = ctx.to_target(ctx.path("chain.py"))
    want = "%s %s:%d" % (fn(it, "leaf"), path, L["leaf"])
    check(rows and rows[0][2] == want and rows[0][0] >= 0.2 * total,
          "hottest line is %s, expected %s with a good part of %d samples\n%s", rows[:1], want,
          total, text[-1500:])
    # by function (the default view): <module> keeps its name and holds the leaf
    _, frows, ftext = pprof_top(ctx, out, granularity="-functions")
    mod = [r for r in frows if r[2] == "<module>"]
    check(any(r[1] >= rows[0][0] for r in mod), "no <module> row holding the leaf's samples:\n%s",
          ftext[-1500:])
    # wall time: count x interval
    tt = go_pprof(ctx, "-top", "-nodecount=1", out)
    m = re.search(r"Total samples = ([\d.]+)(ms|s)\b", tt)
    check(m, "no wall total in pprof -top:\n%s", tt)
    ms = float(m.group(1)) * (1000 if m.group(2) == "s" else 1)
    check(abs(ms - total) < 0.5, "wall total %s for %d samples at 1 ms", m.group(0), total)
    raw_text = go_pprof(ctx, "-raw", out)
    check("thread_id:[%d]" % ready["tid"] in raw_text, "no thread_id label %d in pprof -raw",
          ready["tid"])


# ---------------------------------------------------------------------------
# attach, default names

@case("dataformats_attach", engines="one")
def t_dataformats_attach(ctx):
    """attach with --jsonl, --speedscope and --pprof: each valid, the target's hot line in it"""
    target, ready = ctx.start_target("spin.py")
    target.message("progress")
    it, L = ctx.interp, ready["lines"]
    leaf = (fn(it, "spin"), L["spin2"])
    for flag, name in (("--jsonl", "a.jsonl"), ("--speedscope", "a.json"), ("--pprof", "a.pb.gz")):
        out = ctx.path(name)
        p = ctx.strobe(["attach", "-d", "1", flag, "-o", out, str(ready["pid"])], ready=False)
        expect_success(p, duration=1)
        if flag == "--jsonl":
            ajv(ctx, JSONL_SCHEMA, out, jsonl=True)
            j = Jsonl(out)
            got = j.find("spin.py", leaf[0], leaf[1])
            check(got and sum(j.agg[f["frame_id"]]["self"] for f in got) >= 0.5 * j.total,
                  "spin line not hot\n%s", "\n".join(j.summary()))
        elif flag == "--speedscope":
            ajv(ctx, SPEEDSCOPE_SCHEMA, out)
            with open(out, encoding="utf-8") as f:
                doc = json.load(f)
            stacks = speedscope_stacks(doc, doc["profiles"][doc["activeProfileIndex"]])
            n = sum(c for _, c in stacks)
            hot = sum(c for fr, c in stacks
                      if strip_runpy(fr) == spin_stack(it, L))
            check(hot >= 0.5 * n, "%d of %d samples on the spin stack", hot, n)
        else:
            total, rows, text = pprof_top(ctx, out)
            check(rows and rows[0][2].startswith(leaf[0] + " ") and
                  rows[0][2].endswith("spin.py:%d" % leaf[1]), "hottest %s\n%s", rows[:1], text[-800:])


@case("dataformats_default_names", kind="global")
def t_dataformats_default_names(ctx):
    """no -o: jsonl_<pid>.jsonl, speedscope_<pid>.json, pprof_<pid>.pb.gz in the cwd; -o DIR: inside DIR"""
    outdir = ctx.path("outdir")
    os.mkdir(outdir)
    for flag, pattern in (("--jsonl", "jsonl_%d.jsonl"), ("--speedscope", "speedscope_%d.json"),
                          ("--pprof", "pprof_%d.pb.gz")):
        cwd = ctx.path("cwd" + flag)
        os.mkdir(cwd)
        p = ctx.strobe(["run", "-d", "1", flag] + ctx.run_args("chain.py"), cwd=cwd)
        ready = p.message("ready")
        expect_success(p, duration=1)
        name = pattern % ready["pid"]
        check(os.listdir(cwd) == [name], "%s: cwd holds %s, expected [%s]", flag, os.listdir(cwd), name)
        p = ctx.strobe(["run", "-d", "1", flag, "-o", outdir] + ctx.run_args("chain.py"))
        ready = p.message("ready")
        expect_success(p, duration=1)
        name = pattern % ready["pid"]
        check(name in os.listdir(outdir), "%s -o DIR: %s holds %s, expected %s", flag, outdir,
              os.listdir(outdir), name)
        written(p, {"--jsonl": "JSONL profile written to",
                    "--speedscope": "Speedscope profile written to",
                    "--pprof": "pprof profile written to"}[flag], os.path.join(outdir, name))
