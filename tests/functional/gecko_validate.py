#!/usr/bin/python3
"""Check a Firefox Profiler JSON file (strobe's or Tachyon's --gecko output),
and compare two of them.  Standard library only.

    gecko_validate.py FILE                 validate; prints a summary or the problems
    gecko_validate.py FILE --compare OTHER validate both, then compare them

The rules come from the Firefox Profiler's documented formats: the processed
profile types (src/types/profile.ts: RawThread, RawSamplesTable, RawStackTable,
FrameTable, FuncTable, ResourceTable, NativeSymbolTable, RawMarkerTable,
ProfileMeta, Category, SourceTable, RawProfileSharedData) and the marker
phases and marker schema of src/types/gecko-profile.ts / markers.ts.  What
validate() checks:

  file        strict JSON (no NaN/Infinity), UTF-8, a top-level object with
              meta, libs, threads, shared (pages optional, a list)
  meta        interval > 0, startTime, processType, product, stackwalk 0|1,
              version, preprocessedProfileVersion; categories: a non-empty list,
              each {name, color from the profiler's CategoryColor list,
              subcategories: non-empty, [0] == "Other"}, at least one "grey";
              markerSchema: each {name, display (known locations), fields with
              key + known format}, names unique; extensions a consistent table
  shared      stringArray: strings; sources: a consistent table, filename
              indices in range
  threads     name, isMainThread (bool), pid (string), tid, processType,
              processStartupTime, registerTime, unregisterTime and
              processShutdownTime (number or null), pausedRanges (list)
  tables      every table (samples, stackTable, frameTable, funcTable,
              resourceTable, nativeSymbols, markers) has an integer `length`
              and every column it has is a list of exactly `length` items;
              the columns the type requires are present
  indices     samples.stack -> stackTable (or null); stackTable.frame ->
              frameTable; stackTable.prefix -> an earlier stack (or null: a
              root), so the stack table is a forest; frameTable.func ->
              funcTable; frameTable.nativeSymbol -> nativeSymbols (or null);
              funcTable.resource -> resourceTable (or -1); funcTable.name,
              fileName, resourceTable.name/host, nativeSymbols.name,
              markers.name -> stringArray; funcTable.source -> shared.sources;
              resourceTable.lib, nativeSymbols.libIndex -> libs; every
              category -> meta.categories and subcategory -> that category's
              subcategories (a null frame category needs a null subcategory)
  values      isJS/relevantForJS booleans; line, column, lineNumber >= 0
              integers or null; address an integer >= -1; inlineDepth >= 0;
              weightType one of samples|tracing-ms|bytes, weight null or one
              number per sample; sample times finite and non-decreasing;
              eventDelay numbers or null
  markers     phase 0..3 with the times each phase requires (instant: start
              only; interval: both, start <= end; start: start only; end: end
              only); data null or an object with a string `type`; when the
              type has a schema, its fields have values of the field's format
              (integer, number/duration, string, boolean for flags) or null

compare(a, b) says whether two profiles of the same samples (e.g. strobe's and
Tachyon's replays of one binary file) hold the same thing, whatever their
indices: the same meta apart from startTime (interval too, unless timing=True),
the same threads in the same order (tid, name, isMainThread), per thread the
same sets of funcs, frames and stacks once every index is resolved through the
string, func, frame and stack tables, the same sequence of sample stacks (and
times, with timing=True), and the same markers in the same order (name,
category, phase, data without durations; times with timing=True).
"""
import json
import math
import sys

CATEGORY_COLORS = {"transparent", "purple", "green", "orange", "yellow", "lightblue", "blue",
                   "brown", "magenta", "red", "lightred", "darkgrey", "grey"}
DISPLAY_LOCATIONS = {"marker-chart", "marker-table", "timeline-overview", "timeline-memory",
                     "timeline-ipc", "timeline-fileio", "stack-chart"}
FIELD_FORMATS = {"url", "file-path", "sanitized-string", "unique-string", "flow-id",
                 "terminating-flow-id", "duration", "time", "seconds", "milliseconds",
                 "microseconds", "nanoseconds", "bytes", "percentage", "integer", "decimal",
                 "pid", "tid", "list", "table", "string", "flow-id"}
WEIGHT_TYPES = {"samples", "tracing-ms", "bytes"}

# required columns of each per-thread table (optional ones are checked when present)
REQUIRED = {
    "samples": ("stack", "weight", "weightType", "length"),
    "stackTable": ("frame", "prefix", "length"),
    "frameTable": ("address", "inlineDepth", "category", "subcategory", "func", "nativeSymbol",
                   "innerWindowID", "line", "column", "length"),
    "funcTable": ("name", "isJS", "relevantForJS", "resource", "lineNumber", "columnNumber",
                  "length"),
    "resourceTable": ("lib", "name", "host", "type", "length"),
    "nativeSymbols": ("libIndex", "address", "name", "functionSize", "length"),
    "markers": ("data", "name", "startTime", "endTime", "phase", "category", "length"),
}
# members of a table that are not columns
NOT_COLUMNS = {"length", "weight", "weightType"}


class Invalid(Exception):
    pass


def _reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid("%s is not UTF-8: %s" % (path, e))
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as e:
        raise Invalid("%s is not strict JSON: %s" % (path, e))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


class _Checker:
    def __init__(self, limit=40):
        self.problems = []
        self.limit = limit

    def fail(self, where, msg, *args):
        if len(self.problems) < self.limit:
            self.problems.append("%s: %s" % (where, msg % args if args else msg))

    def need(self, cond, where, msg, *args):
        if not cond:
            self.fail(where, msg, *args)
        return cond

    # -- helpers --------------------------------------------------------------
    def index(self, v, n, where, nullable=False, minus_one=False):
        if v is None and nullable:
            return True
        if minus_one and v == -1:
            return True
        return self.need(_is_int(v) and 0 <= v < n, where, "%r is not an index below %d", v, n)

    def table(self, t, name, where):
        """A columnar table: length, and every column a list of that length."""
        if not self.need(isinstance(t, dict), where, "%s is not an object", name):
            return None
        for col in REQUIRED.get(name, ("length",)):
            self.need(col in t, where, "%s has no %r", name, col)
        n = t.get("length")
        if not self.need(_is_int(n) and n >= 0, where, "%s.length is %r", name, n):
            return None
        for col, v in t.items():
            if col in NOT_COLUMNS:
                continue
            if self.need(isinstance(v, list), where, "%s.%s is not a list", name, col):
                self.need(len(v) == n, where, "%s.%s has %d items, length is %d", name, col,
                          len(v), n)
        return n

    def col(self, t, name):
        """A column, padded or cut to the table's length so that later checks
        never index out of range after a length problem was reported."""
        v = t.get(name)
        n = t.get("length", 0) if _is_int(t.get("length")) else 0
        if not isinstance(v, list):
            return [None] * n
        return (v + [None] * n)[:n]


def _check_meta(c, meta):
    w = "meta"
    if not c.need(isinstance(meta, dict), w, "not an object"):
        return []
    c.need(_is_num(meta.get("interval")) and meta["interval"] > 0, w, "interval %r",
           meta.get("interval"))
    c.need(_is_num(meta.get("startTime")), w, "startTime %r", meta.get("startTime"))
    c.need(_is_int(meta.get("processType")), w, "processType %r", meta.get("processType"))
    c.need(isinstance(meta.get("product"), str), w, "product %r", meta.get("product"))
    c.need(meta.get("stackwalk") in (0, 1), w, "stackwalk %r", meta.get("stackwalk"))
    c.need(_is_int(meta.get("version")), w, "version %r", meta.get("version"))
    c.need(_is_int(meta.get("preprocessedProfileVersion")), w, "preprocessedProfileVersion %r",
           meta.get("preprocessedProfileVersion"))
    for k in ("physicalCPUs", "logicalCPUs"):
        if k in meta:
            c.need(_is_int(meta[k]) and meta[k] >= 0, w, "%s %r", k, meta[k])
    if "symbolicated" in meta:
        c.need(isinstance(meta["symbolicated"], bool), w, "symbolicated %r", meta["symbolicated"])
    cats = meta.get("categories")
    out = []
    if c.need(isinstance(cats, list) and cats, w, "categories %r", cats):
        for i, cat in enumerate(cats):
            cw = "meta.categories[%d]" % i
            if not c.need(isinstance(cat, dict), cw, "not an object"):
                out.append(1)
                continue
            c.need(isinstance(cat.get("name"), str), cw, "name %r", cat.get("name"))
            c.need(cat.get("color") in CATEGORY_COLORS, cw, "color %r", cat.get("color"))
            subs = cat.get("subcategories")
            if c.need(isinstance(subs, list) and subs and all(isinstance(s, str) for s in subs),
                      cw, "subcategories %r", subs):
                c.need(subs[0] == "Other", cw, "subcategory 0 is %r, not 'Other'", subs[0])
                out.append(len(subs))
            else:
                out.append(1)
        c.need(any(isinstance(cat, dict) and cat.get("color") == "grey" for cat in cats), w,
               "no category has the colour grey (the default category)")
    schema = meta.get("markerSchema")
    names = set()
    if c.need(isinstance(schema, list), w, "markerSchema %r", schema):
        for i, s in enumerate(schema):
            sw = "meta.markerSchema[%d]" % i
            if not c.need(isinstance(s, dict), sw, "not an object"):
                continue
            c.need(isinstance(s.get("name"), str), sw, "name %r", s.get("name"))
            c.need(s.get("name") not in names, sw, "schema %r defined twice", s.get("name"))
            names.add(s.get("name"))
            disp = s.get("display")
            c.need(isinstance(disp, list) and all(d in DISPLAY_LOCATIONS for d in disp), sw,
                   "display %r", disp)
            fields = s.get("fields", s.get("data"))
            if c.need(isinstance(fields, list), sw, "no field list"):
                for j, f in enumerate(fields):
                    fw = "%s.fields[%d]" % (sw, j)
                    if not c.need(isinstance(f, dict), fw, "not an object"):
                        continue
                    if "value" in f:  # a static field
                        c.need(isinstance(f.get("label"), str), fw, "static field without label")
                        continue
                    c.need(isinstance(f.get("key"), str), fw, "key %r", f.get("key"))
                    c.need(f.get("format") in FIELD_FORMATS or isinstance(f.get("format"), dict),
                           fw, "format %r", f.get("format"))
                    if "searchable" in f:
                        c.need(isinstance(f["searchable"], bool), fw, "searchable %r",
                               f["searchable"])
            for k in ("tooltipLabel", "tableLabel", "chartLabel"):
                if k in s:
                    c.need(isinstance(s[k], str), sw, "%s %r", k, s[k])
    ext = meta.get("extensions")
    if ext is not None:
        n = c.table(ext, "extensions", "meta")
        if n is not None:
            for k in ("id", "name", "baseURL"):
                c.need(k in ext, "meta", "extensions has no %r", k)
    return out


def _schemas(meta):
    out = {}
    for s in meta.get("markerSchema") or []:
        if isinstance(s, dict) and isinstance(s.get("name"), str):
            out[s["name"]] = {f.get("key"): f.get("format") for f in s.get("fields", s.get("data", []))
                              if isinstance(f, dict) and "key" in f}
    return out


def _value_fits(fmt, v):
    if v is None:
        return True
    if fmt in ("integer", "pid", "tid", "bytes"):
        return _is_int(v) or isinstance(v, str) and fmt in ("pid", "tid")
    if fmt in ("duration", "time", "seconds", "milliseconds", "microseconds", "nanoseconds",
               "percentage", "decimal"):
        return _is_num(v)
    if fmt in ("string", "url", "file-path", "sanitized-string"):
        # Tachyon's "is_specialized" (format string) holds a boolean
        return isinstance(v, (str, bool))
    return True


def _check_thread(c, t, i, strings, ncats, nlibs, nsources, schemas):
    w = "threads[%d]" % i
    if not c.need(isinstance(t, dict), w, "not an object"):
        return
    c.need(isinstance(t.get("name"), str), w, "name %r", t.get("name"))
    c.need(isinstance(t.get("isMainThread"), bool), w, "isMainThread %r", t.get("isMainThread"))
    c.need(isinstance(t.get("pid"), str), w, "pid %r is not a string", t.get("pid"))
    c.need(_is_int(t.get("tid")) or isinstance(t.get("tid"), str), w, "tid %r", t.get("tid"))
    c.need(isinstance(t.get("processType"), str), w, "processType %r", t.get("processType"))
    c.need(_is_num(t.get("processStartupTime")), w, "processStartupTime %r",
           t.get("processStartupTime"))
    c.need(_is_num(t.get("registerTime")), w, "registerTime %r", t.get("registerTime"))
    for k in ("unregisterTime", "processShutdownTime"):
        c.need(t.get(k) is None or _is_num(t.get(k)), w, "%s %r", k, t.get(k))
    c.need(isinstance(t.get("pausedRanges"), list), w, "pausedRanges %r", t.get("pausedRanges"))
    nstr = len(strings)
    lens = {}
    for name in REQUIRED:
        lens[name] = c.table(t.get(name), name, w) if name in t else None
        if name not in t:
            c.fail(w, "no %s", name)
    if any(v is None for v in lens.values()):
        return
    S, ST, FR, FU, RE, NS, MK = (t[k] for k in ("samples", "stackTable", "frameTable", "funcTable",
                                                "resourceTable", "nativeSymbols", "markers"))

    def cat_sub(cat, sub, where, nullable):
        if cat is None and nullable:
            c.need(sub is None, where, "subcategory %r with a null category", sub)
            return
        if c.index(cat, len(ncats), where + " category"):
            c.index(sub, ncats[cat], where + " subcategory")

    # samples
    c.need(S.get("weightType") in WEIGHT_TYPES, w, "samples.weightType %r", S.get("weightType"))
    wt = S.get("weight")
    c.need(wt is None or (isinstance(wt, list) and all(_is_num(x) for x in wt)), w,
           "samples.weight %r", wt if not isinstance(wt, list) else "(bad items)")
    stacks = c.col(S, "stack")
    for k, s in enumerate(stacks):
        c.index(s, lens["stackTable"], "%s.samples.stack[%d]" % (w, k), nullable=True)
    if "time" in S:
        prev = None
        for k, x in enumerate(c.col(S, "time")):
            if not c.need(_is_num(x), "%s.samples.time[%d]" % (w, k), "%r", x):
                break
            if prev is not None and x < prev:
                c.fail("%s.samples.time[%d]" % (w, k), "%r after %r: times go backwards", x, prev)
                break
            prev = x
    else:
        c.need("timeDeltas" in S, w, "samples has neither time nor timeDeltas")
    for k, x in enumerate(c.col(S, "eventDelay") if "eventDelay" in S else []):
        c.need(x is None or _is_num(x), "%s.samples.eventDelay[%d]" % (w, k), "%r", x)
    # stackTable
    sf, sp = c.col(ST, "frame"), c.col(ST, "prefix")
    for k in range(lens["stackTable"]):
        c.index(sf[k], lens["frameTable"], "%s.stackTable.frame[%d]" % (w, k))
        p = sp[k]
        if p is not None:
            c.need(_is_int(p) and 0 <= p < k, "%s.stackTable.prefix[%d]" % (w, k),
                   "%r is not an earlier stack", p)
    if "category" in ST:
        scat, ssub = c.col(ST, "category"), c.col(ST, "subcategory")
        for k in range(lens["stackTable"]):
            cat_sub(scat[k], ssub[k], "%s.stackTable[%d]" % (w, k), False)
    # frameTable
    ff, fcat, fsub = c.col(FR, "func"), c.col(FR, "category"), c.col(FR, "subcategory")
    fline, fcol, fad = c.col(FR, "line"), c.col(FR, "column"), c.col(FR, "address")
    fdep, fns = c.col(FR, "inlineDepth"), c.col(FR, "nativeSymbol")
    fiw = c.col(FR, "innerWindowID")
    for k in range(lens["frameTable"]):
        fw = "%s.frameTable[%d]" % (w, k)
        c.index(ff[k], lens["funcTable"], fw + " func")
        cat_sub(fcat[k], fsub[k], fw, True)
        c.need(fline[k] is None or _is_int(fline[k]) and fline[k] >= 0, fw, "line %r", fline[k])
        c.need(fcol[k] is None or _is_int(fcol[k]) and fcol[k] >= 0, fw, "column %r", fcol[k])
        c.need(_is_int(fad[k]) and fad[k] >= -1, fw, "address %r", fad[k])
        c.need(_is_int(fdep[k]) and fdep[k] >= 0, fw, "inlineDepth %r", fdep[k])
        c.index(fns[k], lens["nativeSymbols"], fw + " nativeSymbol", nullable=True)
        c.need(fiw[k] is None or _is_int(fiw[k]), fw, "innerWindowID %r", fiw[k])
    # funcTable
    fun = [c.col(FU, k) for k in ("name", "isJS", "relevantForJS", "resource", "lineNumber",
                                  "columnNumber")]
    ffile = c.col(FU, "fileName") if "fileName" in FU else None
    fsrc = c.col(FU, "source") if "source" in FU else None
    for k in range(lens["funcTable"]):
        uw = "%s.funcTable[%d]" % (w, k)
        name, isjs, rel, res, ln, cn = (col[k] for col in fun)
        c.index(name, nstr, uw + " name")
        c.need(isinstance(isjs, bool), uw, "isJS %r", isjs)
        c.need(isinstance(rel, bool), uw, "relevantForJS %r", rel)
        c.index(res, lens["resourceTable"], uw + " resource", minus_one=True)
        c.need(ln is None or _is_int(ln) and ln >= 0, uw, "lineNumber %r", ln)
        c.need(cn is None or _is_int(cn) and cn >= 0, uw, "columnNumber %r", cn)
        if ffile is not None:
            c.index(ffile[k], nstr, uw + " fileName", nullable=True)
        if fsrc is not None:
            c.index(fsrc[k], nsources, uw + " source", nullable=True)
    # resourceTable
    rl, rn, rh, rt = (c.col(RE, k) for k in ("lib", "name", "host", "type"))
    for k in range(lens["resourceTable"]):
        rw = "%s.resourceTable[%d]" % (w, k)
        c.index(rl[k], nlibs, rw + " lib", nullable=True)
        c.index(rn[k], nstr, rw + " name")
        c.index(rh[k], nstr, rw + " host", nullable=True)
        c.need(_is_int(rt[k]), rw, "type %r", rt[k])
    # nativeSymbols
    nl, na, nn, nz = (c.col(NS, k) for k in ("libIndex", "address", "name", "functionSize"))
    for k in range(lens["nativeSymbols"]):
        nw = "%s.nativeSymbols[%d]" % (w, k)
        c.index(nl[k], nlibs, nw + " libIndex")
        c.need(_is_int(na[k]), nw, "address %r", na[k])
        c.index(nn[k], nstr, nw + " name")
        c.need(nz[k] is None or _is_int(nz[k]), nw, "functionSize %r", nz[k])
    # markers
    md, mn, ms, me, mp, mc = (c.col(MK, k) for k in ("data", "name", "startTime", "endTime",
                                                     "phase", "category"))
    for k in range(lens["markers"]):
        mw = "%s.markers[%d]" % (w, k)
        c.index(mn[k], nstr, mw + " name")
        c.index(mc[k], len(ncats), mw + " category")
        ph, st, en = mp[k], ms[k], me[k]
        want = {0: (True, False), 1: (True, True), 2: (True, False), 3: (False, True)}.get(ph)
        if c.need(want is not None, mw, "phase %r", ph):
            c.need((st is not None) == want[0] and (st is None or _is_num(st)), mw,
                   "startTime %r for phase %d", st, ph)
            c.need((en is not None) == want[1] and (en is None or _is_num(en)), mw,
                   "endTime %r for phase %d", en, ph)
            if ph == 1 and _is_num(st) and _is_num(en):
                c.need(st <= en, mw, "interval ends (%r) before it starts (%r)", en, st)
        d = md[k]
        if d is None:
            continue
        if not c.need(isinstance(d, dict) and isinstance(d.get("type"), str), mw,
                      "data %r has no string type", d):
            continue
        for key, fmt in schemas.get(d["type"], {}).items():
            if key in d:
                c.need(_value_fits(fmt, d[key]), mw, "data.%s = %r does not fit format %s", key,
                       d[key], fmt)


def validate(profile):
    """The problems found in a parsed profile (an empty list: valid)."""
    c = _Checker()
    if not isinstance(profile, dict):
        return ["the top level is not an object"]
    for k in ("meta", "libs", "threads", "shared"):
        c.need(k in profile, "profile", "no %r", k)
    if c.problems:
        return c.problems
    ncats = _check_meta(c, profile["meta"])
    libs = profile["libs"]
    c.need(isinstance(libs, list), "libs", "not a list")
    if "pages" in profile:
        c.need(isinstance(profile["pages"], list), "pages", "not a list")
    shared = profile["shared"]
    strings = shared.get("stringArray") if isinstance(shared, dict) else None
    if not c.need(isinstance(strings, list) and all(isinstance(s, str) for s in strings),
                  "shared", "stringArray is not a list of strings"):
        return c.problems
    nsources = 0
    if "sources" in shared:
        n = c.table(shared["sources"], "sources", "shared")
        if n is not None:
            nsources = n
            for k, fi in enumerate(c.col(shared["sources"], "filename")):
                c.index(fi, len(strings), "shared.sources.filename[%d]" % k)
    threads = profile["threads"]
    if c.need(isinstance(threads, list), "threads", "not a list"):
        schemas = _schemas(profile["meta"])
        for i, t in enumerate(threads):
            _check_thread(c, t, i, strings, ncats or [1], len(libs) if isinstance(libs, list)
                          else 0, nsources, schemas)
    return c.problems


# ---------------------------------------------------------------------------
# Resolution: every index replaced by what it points at

def resolve_thread(profile, t):
    """{'funcs', 'frames', 'stacks': sets, 'samples': [stack tuple], 'times': [...],
    'markers': [...]} of one thread, with strings instead of indices."""
    s = profile["shared"]["stringArray"]
    FU, FR, ST = t["funcTable"], t["frameTable"], t["stackTable"]
    RE = t["resourceTable"]

    def sidx(i):
        return None if i is None else s[i]

    def func(i):
        res = FU["resource"][i]
        return (s[FU["name"][i]], FU["isJS"][i], FU["relevantForJS"][i],
                sidx(RE["name"][res]) if res != -1 else None,
                sidx(FU.get("fileName", [None] * FU["length"])[i]), FU["lineNumber"][i],
                FU["columnNumber"][i])

    def frame(i):
        return (func(FR["func"][i]), FR["line"][i], FR["column"][i], FR["category"][i],
                FR["subcategory"][i], FR["address"][i], FR["inlineDepth"][i])

    memo = {}

    def stack(i):
        if i is None:
            return ()
        if i not in memo:
            out = []
            j = i
            while j is not None:
                out.append((frame(ST["frame"][j]), ST.get("category", [None] * ST["length"])[j]))
                j = ST["prefix"][j]
            memo[i] = tuple(reversed(out))  # root first
        return memo[i]

    M = t["markers"]
    markers = []
    for k in range(M["length"]):
        markers.append({"name": s[M["name"][k]], "category": M["category"][k],
                        "phase": M["phase"][k], "startTime": M["startTime"][k],
                        "endTime": M["endTime"][k], "data": M["data"][k]})
    return {
        "funcs": {func(i) for i in range(FU["length"])},
        "frames": {frame(i) for i in range(FR["length"])},
        "stacks": {stack(i) for i in range(ST["length"])},
        "samples": [stack(x) for x in t["samples"]["stack"]],
        "times": t["samples"].get("time"),
        "markers": markers,
    }


def stack_text(stack):
    """'file:func:line;...' (root first) of a resolved stack, for messages."""
    out = []
    for (fn, line, _col, _c, _s, _a, _d), _cat in stack:
        name, _js, _rel, res, _file, _ln, _cn = fn
        out.append("%s:%s:%s" % (res, name, line) if res != "~" else name)
    return ";".join(out)


def _strip_timing(marker, timing):
    m = dict(marker)
    if not timing:
        m.pop("startTime")
        m.pop("endTime")
        if isinstance(m["data"], dict):
            m["data"] = {k: v for k, v in m["data"].items() if k != "duration"}
    return m


def compare(a, b, timing=False):
    """Differences between two profiles of the same samples (an empty list:
    the same), see the module docstring."""
    out = []
    ma = {k: v for k, v in a["meta"].items() if k != "startTime" and (timing or k != "interval")}
    mb = {k: v for k, v in b["meta"].items() if k != "startTime" and (timing or k != "interval")}
    if ma != mb:
        keys = sorted(set(ma) | set(mb))
        out.append("meta differs in %s" % [k for k in keys if ma.get(k) != mb.get(k)])
    if list(a["meta"]) != list(b["meta"]):
        out.append("meta keys differ in order: %s vs %s" % (list(a["meta"]), list(b["meta"])))
    ta, tb = a["threads"], b["threads"]
    ida = [(t["tid"], t["name"], t["isMainThread"]) for t in ta]
    idb = [(t["tid"], t["name"], t["isMainThread"]) for t in tb]
    if ida != idb:
        out.append("threads differ: %s vs %s" % (ida, idb))
        return out
    for x, y in zip(ta, tb):
        w = "thread %s" % x["tid"]
        if list(x) != list(y):
            out.append("%s: keys %s vs %s" % (w, list(x), list(y)))
        for k in x:
            if isinstance(x[k], dict) and k in y and list(x[k]) != list(y[k]):
                out.append("%s: %s keys %s vs %s" % (w, k, list(x[k]), list(y[k])))
        rx, ry = resolve_thread(a, x), resolve_thread(b, y)
        for k in ("funcs", "frames", "stacks"):
            if rx[k] != ry[k]:
                only_a, only_b = rx[k] - ry[k], ry[k] - rx[k]
                out.append("%s: %s differ (%d only in the first, %d only in the second; e.g. %r / %r)"
                           % (w, k, len(only_a), len(only_b), next(iter(only_a), None),
                              next(iter(only_b), None)))
        if rx["samples"] != ry["samples"]:
            n = next((i for i, (p, q) in enumerate(zip(rx["samples"], ry["samples"])) if p != q),
                     min(len(rx["samples"]), len(ry["samples"])))
            out.append("%s: sample stacks differ at sample %d of %d/%d: %s vs %s"
                       % (w, n, len(rx["samples"]), len(ry["samples"]),
                          stack_text(rx["samples"][n]) if n < len(rx["samples"]) else "(end)",
                          stack_text(ry["samples"][n]) if n < len(ry["samples"]) else "(end)"))
        if timing and rx["times"] != ry["times"]:
            out.append("%s: sample times differ" % w)
        mx = [_strip_timing(m, timing) for m in rx["markers"]]
        my = [_strip_timing(m, timing) for m in ry["markers"]]
        if mx != my:
            n = next((i for i, (p, q) in enumerate(zip(mx, my)) if p != q), min(len(mx), len(my)))
            out.append("%s: markers differ at %d of %d/%d: %s vs %s"
                       % (w, n, len(mx), len(my), mx[n] if n < len(mx) else "(end)",
                          my[n] if n < len(my) else "(end)"))
    return out


def summary(profile):
    lines = []
    for t in profile["threads"]:
        names = {}
        for m in range(t["markers"]["length"]):
            nm = profile["shared"]["stringArray"][t["markers"]["name"][m]]
            names[nm] = names.get(nm, 0) + 1
        lines.append("thread %s%s: %d samples, %d stacks, %d frames, %d funcs, %d markers %s"
                     % (t["tid"], " (main)" if t["isMainThread"] else "", t["samples"]["length"],
                        t["stackTable"]["length"], t["frameTable"]["length"],
                        t["funcTable"]["length"], t["markers"]["length"],
                        dict(sorted(names.items()))))
    return lines


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    try:
        a = load(argv[0])
    except Invalid as e:
        print(e)
        return 1
    problems = validate(a)
    for p in problems:
        print("%s: %s" % (argv[0], p))
    if problems:
        return 1
    print("%s: valid" % argv[0])
    for line in summary(a):
        print("  " + line)
    if len(argv) >= 3 and argv[1] == "--compare":
        b = load(argv[2])
        problems = validate(b)
        for p in problems:
            print("%s: %s" % (argv[2], p))
        if problems:
            return 1
        diffs = compare(a, b, timing="--timing" in argv)
        for d in diffs:
            print("differs: " + d)
        if diffs:
            return 1
        print("same profile as %s" % argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
