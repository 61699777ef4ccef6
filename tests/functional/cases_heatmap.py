"""--heatmap: a directory with index.html and one page per source file
(file_0000.html, ... by samples), from run, attach and replay on every version.

Checked against:
  - the samples themselves: a --collapsed replay of the same binary file gives,
    per (file, line), the samples whose stack holds the line (once per sample)
    and those whose leaf is on it; the heat map must hold exactly those;
  - Tachyon (3.15): its --heatmap replay of the same file has the same files,
    file totals and per-line self / total counts;
  - headless Chromium (tests/browser/heatmap.mjs): the pages load with no
    error, a file opens from the index, a caller link is followed.
"""
import html
import json
import os
import re
import shutil

from cases import case, expect_success
from harness import Collapsed, Tachyon, check

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
NODE_DIR = os.environ.get("STROBE_NODE_DIR", "/var/cache/strobe/node")
HEATMAP_PAGE = os.path.join(TESTS, "browser", "heatmap.mjs")

_ROW = re.compile(r'<div class="ln( c)?" id="line-(-?\d+)"(?: data-self="(\d+)" data-total="(\d+)")?'
                  r'[^>]*>.*?<code>(.*?)</code>')
_FILE = re.compile(r'<div class="file" data-module="([^"]*)" data-total="(\d+)" data-self="(\d+)">'
                   r'<a class="name" href="(file_\d{4}\.html)" title="([^"]*)"')
_DATA = re.compile(r'<script type="application/json" id="heatmap-data">(.*?)</script>', re.S)


class Heatmap:
    """A strobe heat map directory: index rows and file pages."""

    def __init__(self, path):
        check(os.path.isdir(path), "heat map directory %s was not written", path)
        self.dir = path
        names = sorted(os.listdir(path))
        check("index.html" in names, "%s holds no index.html: %s", path, names)
        pages = [n for n in names if n != "index.html"]
        check(pages == ["file_%04d.html" % i for i in range(len(pages))],
              "pages are not file_0000.html .. in sequence: %s", pages)
        with open(os.path.join(path, "index.html"), encoding="utf-8") as f:
            self.index = f.read()
        self.files = [{"module": html.unescape(m), "total": int(t), "self": int(s), "page": p,
                       "path": html.unescape(fp)} for m, t, s, p, fp in _FILE.findall(self.index)]
        check(len(self.files) == len(pages), "index lists %d files, %d pages written",
              len(self.files), len(pages))
        check(sorted(f["page"] for f in self.files) == pages, "index links %s",
              [f["page"] for f in self.files])
        bypage = sorted(self.files, key=lambda f: f["page"])
        totals = [f["total"] for f in bypage]
        check(totals == sorted(totals, reverse=True), "pages not in order of samples: %s", totals)
        check(re.search(r'id="stat-files">%d<' % len(pages), self.index), "Files Profiled card")
        for s in ("<script src", "<link ", "http://", "https://"):
            check(s not in self.index, "index.html refers to something outside: %r", s)

    def find(self, basename):
        hits = [f for f in self.files if os.path.basename(f["path"]) == basename]
        check(len(hits) == 1, "%d files named %s in the index: %s", len(hits), basename,
              [f["path"] for f in self.files])
        return hits[0]

    def page(self, basename):
        """(file row, {line: (self, total)}, {line: source text}, page data)"""
        f = self.find(basename)
        with open(os.path.join(self.dir, f["page"]), encoding="utf-8") as fp:
            text = fp.read()
        counts, source = {}, {}
        for cold, line, s, t, code in _ROW.findall(text):
            line = int(line)
            source[line] = html.unescape(code)
            if not cold:
                counts[line] = (int(s), int(t))
        m = _DATA.search(text)
        check(m, "%s: no page data", f["page"])
        data = json.loads(m.group(1))
        check(sum(t for _, t in counts.values()) == f["total"],
              "%s: line totals add up to %d, the index says %d", f["page"],
              sum(t for _, t in counts.values()), f["total"])
        check(sum(s for s, _ in counts.values()) == f["self"], "%s: self samples", f["page"])
        return f, counts, source, data


def line_counts(col, basename):
    """{line: (self, total)} of one file from collapsed stacks: total counts a
    line once per sample, self when the leaf is on it."""
    out = {}
    for _, frames, n in col.rows:
        seen = set()
        for i, fr in enumerate(frames):
            parts = fr.rsplit(":", 1)
            if len(parts) != 2 or not parts[0].startswith(basename + ":"):
                continue
            line = int(parts[1])
            s, t = out.get(line, (0, 0))
            if line not in seen:
                seen.add(line)
                t += n
            if i == len(frames) - 1:
                s += n
            out[line] = (s, t)
    return out


def written_lines(p, outdir, nfiles=None):
    out = p.stdout
    check(re.search(r"^Heatmap output written to %s/$" % re.escape(outdir), out, re.M),
          "no 'Heatmap output written to %s/' line:\n%s", outdir, out[-600:])
    check(re.search(r"^  - Index: %s/index\.html$" % re.escape(outdir), out, re.M),
          "no '  - Index:' line:\n%s", out[-600:])
    m = re.search(r"^  - (\d+) source files? analyzed$", out, re.M)
    check(m, "no '  - N source files analyzed' line:\n%s", out[-600:])
    if nfiles is not None:
        check(int(m.group(1)) == nfiles, "%s files analyzed, %d pages", m.group(1), nfiles)


def browser(ctx, outdir, file, line, follow=None, opcodes=False, shot=None):
    check(os.path.exists(os.path.join(NODE_DIR, "node_modules", "playwright-core")),
          "npm package playwright-core is missing: run tests/provision.sh")
    argv = ["node", HEATMAP_PAGE, "--dir", outdir, "--file", file, "--line", str(line)]
    if follow:
        argv += ["--follow", follow]
    if opcodes:
        argv.append("--opcodes")
    if shot:
        argv += ["--screenshot", shot]
    p = ctx.spawn(argv, ready=False, name="heatmap-page",
                  env=ctx.env(STROBE_NODE_DIR=NODE_DIR, HOME=os.environ.get("HOME", ctx.work)))
    rc = p.wait(180)
    lines = p.stdout.strip().splitlines()
    res = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    check(rc == 0 and res.get("ok"), "heat map in Chromium: %s\n%s", res or p.stdout[-800:],
          p.stderr[-800:])
    return res


# ---------------------------------------------------------------------------

@case("heatmap_run", quick=True, engines="one")
def t_heatmap_run(ctx):
    """run --heatmap: pages in order, source lines read through the target's root (chroots too), counts, navigation, Chromium"""
    outdir = ctx.path("hm")
    p = ctx.strobe(["run", "-d", "1", "--heatmap", "-o", outdir + ".html"] + ctx.run_args("chain.py"))
    ready = p.message("ready")
    s = expect_success(p, duration=1)
    written_lines(p, outdir, len(os.listdir(outdir)) - 1)
    hm = Heatmap(outdir)
    check(os.path.basename(hm.files[0]["path"]) == "chain.py" or
          os.path.basename(min(hm.files, key=lambda f: f["page"])["path"]) == "chain.py",
          "file_0000.html is not chain.py")
    f, counts, source, data = hm.page("chain.py")
    check(f["path"] == ctx.to_target(ctx.path("chain.py")), "file path %s", f["path"])
    L = ready["lines"]
    # the source is the target's (through /proc/PID/root for a chrooted one)
    check(data["source"] is True, "source of %s not found", f["path"])
    check(source.get(L["leaf"], "").rstrip().endswith("# @leaf"), "line %d shows %r", L["leaf"],
          source.get(L["leaf"]))
    leaf_self, leaf_total = counts.get(L["leaf"], (0, 0))
    # (a loaded machine may spend much of the run starting the target: compare
    # with the samples that reached the call chain, not with the run's)
    module_total = counts.get(L["module"], (0, 0))[1]
    # the leaf line calls nothing, so it is the leaf of every sample it is
    # in, but for at most 0.5% (issue 8's bound on failed samples of a
    # steady stack): one such sample (of 1000) was seen once, on 3.9 under
    # ASan, and is not explained yet
    check(0 < leaf_self <= leaf_total <= leaf_self + max(1, leaf_total // 200) and
          leaf_self >= 0.9 * module_total and
          module_total <= s["samples"],
          "leaf line %d: self %d total %d; <module> line %d; %d samples", L["leaf"], leaf_self,
          leaf_total, module_total, s["samples"])
    for name in ("lambda", "inner", "method", "main", "module"):
        st = counts.get(L[name], (0, 0))
        check(st[1] >= leaf_total and st[0] <= st[1] // 10, "line %s (%d): %s", name, L[name], st)
    # navigation: the leaf is called from the lambda's line, <module> calls main
    nav = data["lines"]
    callers = [c for fid in nav.get(str(L["leaf"]), {}).get("fns", []) for c in data["fns"][str(fid)]]
    check(any(c[0] == f["page"] and c[1] == L["lambda"] for c in callers),
          "leaf callers %s, expected line %d", callers, L["lambda"])
    callees = nav.get(str(L["module"]), {}).get("callees", [])
    check(any(c[0] == f["page"] and c[2].endswith("main") for c in callees),
          "<module> callees %s", callees)
    browser(ctx, outdir, "chain.py", L["leaf"], follow="caller",
            shot=ctx.path("heatmap.png"))


@case("heatmap_replay_counts", quick=True, engines="one")
def t_heatmap_replay_counts(ctx):
    """replay of one binary file: per-line self/total equal the collapsed stacks' (a recursive line once per sample); 3.15: equal Tachyon's heat map"""
    binf = ctx.path("prof.bin")
    p = ctx.strobe(["run", "-d", "1", "--binary", "-o", binf] + ctx.run_args("recursion.py"),
                   env=ctx.env(STROBE_DEPTH=200))
    ready = p.message("ready")
    expect_success(p, duration=1)
    outdir, col = ctx.path("hm"), ctx.path("c.txt")
    q = ctx.strobe(["replay", "--heatmap", "-o", outdir, binf], ready=False)
    check(q.wait(60) == 0, "replay --heatmap exited with %s: %s", q.rc, q.stderr[-400:])
    written_lines(q, outdir)
    q = ctx.strobe(["replay", "--collapsed", "-o", col, binf], ready=False)
    check(q.wait(60) == 0, "replay --collapsed exited with %s: %s", q.rc, q.stderr[-400:])
    hm = Heatmap(outdir)
    f, counts, source, data = hm.page("recursion.py")
    want = line_counts(Collapsed(col), "recursion.py")
    want = {k: v for k, v in want.items() if v[1]}
    check(counts == want, "recursion.py per line (self, total):\n  heat map  %s\n  collapsed %s",
          sorted(counts.items()), sorted(want.items()))
    L = ready["lines"]
    rec = counts.get(L["rec"], (0, 0))
    hold = counts.get(L["hold"], (0, 0))
    total = Collapsed(col).total
    check(hold[0] > 0 and hold[1] <= rec[1] <= total,
          "the recursive line counts once per sample: rec %s hold %s, %d samples", rec, hold, total)
    if tuple(ctx.interp.version[:2]) != (3, 15):
        return
    # Tachyon's heat map of the same file
    t = Tachyon(ctx)
    try:
        t.run(["replay", "--heatmap", "-o", "t", t.put(binf, "in.bin")])
        theirs = ctx.path("t")
        shutil.copytree(t.host("t"), theirs)
    finally:
        t.cleanup()
    with open(os.path.join(theirs, "index.html"), encoding="utf-8") as fp:
        index = fp.read()
    tfiles = {html.unescape(p_): int(n.replace(",", "")) for p_, n in re.findall(
        r'class="file-link" title="([^"]*)">.*?</a>\s*<span class="file-samples">([\d,]+) samples?',
        index, re.S)}
    mine = {x["path"]: x["total"] for x in hm.files}
    check(tfiles == mine, "files and totals differ from Tachyon's:\n  strobe  %s\n  Tachyon %s",
          sorted(mine.items()), sorted(tfiles.items()))
    page = re.search(r'href="(file_\d{4}\.html)" class="file-link" title="%s"' %
                     re.escape(html.escape(f["path"])), index)
    check(page, "Tachyon's index has no %s", f["path"])
    with open(os.path.join(theirs, page.group(1)), encoding="utf-8") as fp:
        tp = fp.read()
    tcounts = {}
    for line, s_, t_ in re.findall(
            r'id="line-(\d+)"[^>]*>\s*<div class="line-number">\d+</div>\s*'
            r'<div class="line-samples-self">([\d,]*)</div>\s*'
            r'<div class="line-samples-cumulative">([\d,]*)</div>', tp):
        if t_:
            tcounts[int(line)] = (int(s_.replace(",", "") or 0), int(t_.replace(",", "")))
    mine_lines = {k: v for k, v in counts.items() if k >= 1}
    check(tcounts == mine_lines, "recursion.py lines differ from Tachyon's:\n  strobe  %s\n  Tachyon %s",
          sorted(mine_lines.items()), sorted(tcounts.items()))


@case("heatmap_attach_opcodes", engines="one")
def t_heatmap_attach_opcodes(ctx):
    """attach --heatmap --opcodes, no -o: heatmap_<pid>/ in the cwd, the leaf line's executing opcodes by name, the bytecode panel in Chromium"""
    tp, ready = ctx.start_target("shares.py")
    pid = ready["pid"]
    cwd = ctx.path("cwd")
    os.mkdir(cwd)
    p = ctx.strobe(["attach", "-d", "1", "--heatmap", "--opcodes", str(pid)], ready=False, cwd=cwd)
    expect_success(p)
    name = "heatmap_%d" % pid
    check(os.listdir(cwd) == [name], "cwd holds %s, expected [%s]", os.listdir(cwd), name)
    written_lines(p, name)
    hm = Heatmap(os.path.join(cwd, name))
    f, counts, source, data = hm.page("shares.py")
    L = ready["lines"]
    check(data["opcodes"] is True, "page data says no opcodes")
    hot = counts.get(L["hot"], (0, 0))
    check(hot[0] > 0, "line hot (%d) has no self samples: %s", L["hot"], sorted(counts.items()))
    ops = data["lines"].get(str(L["hot"]), {}).get("ops", [])
    check(ops, "no opcodes for line %d", L["hot"])
    check(all(re.match(r"^[A-Z][A-Z0-9_]+$", o[0]) and re.match(r"^[A-Z][A-Z0-9_]+$", o[1])
              for o in ops), "opcode names %s", [o[:2] for o in ops])
    # every frame on the line counts once per occurrence: the leaf's samples at least
    check(sum(o[3] for o in ops) >= hot[0], "opcode samples %d < self %d",
          sum(o[3] for o in ops), hot[0])
    check(source.get(L["hot"], "").rstrip().endswith("# @hot"), "line %d shows %r", L["hot"],
          source.get(L["hot"]))
    browser(ctx, os.path.join(cwd, name), "shares.py", L["hot"], opcodes=True, follow="caller")


@case("heatmap_output_errors", kind="global")
def t_heatmap_output_errors(ctx):
    """--heatmap -o under a regular file: one 'Error:' line, exit 1; -o DIR that exists: pages go into it"""
    blocker = ctx.path("plain")
    with open(blocker, "w") as fp:
        fp.write("x")
    p = ctx.strobe(["run", "-d", "1", "--heatmap", "-o", os.path.join(blocker, "hm")] +
                   ctx.run_args("chain.py"))
    p.message("ready")
    rc = p.wait(30)
    check(rc == 1, "exit status %s, expected 1", rc)
    err = [l for l in p.stderr.splitlines() if l.strip()]
    check(len(err) == 1 and err[0].startswith("Error: Failed to create output directory"),
          "stderr: %s", err)
    check(re.search(r"^Captured \d+ samples?", p.stdout, re.M), "no summary before the error")
    outdir = ctx.path("exists")
    os.mkdir(outdir)
    p = ctx.strobe(["run", "-d", "1", "--heatmap", "-o", outdir] + ctx.run_args("chain.py"))
    p.message("ready")
    expect_success(p)
    written_lines(p, outdir)
    Heatmap(outdir).page("chain.py")
