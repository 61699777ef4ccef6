"""Names from the target are data, never markup (docs/security.md): a target
whose function and file names hold ';', newlines, backslashes, terminal
escapes and lone surrogates (tests/targets/hostile_names.py) gets one
collapsed line per stack with the README's escapes; every output is valid
UTF-8 (and JSON where JSON); dump, the pstats table and the live view show
control characters as visible escapes and send the terminal no escape
sequence but strobe's own colours."""
import glob
import json
import os
import re
import subprocess

from cases import case, expect_success
from harness import check
from cases_live import Live

SGR = re.compile(rb"\x1b\[[0-9;]*m")
# a JSON escape of a lone surrogate in the flame graph's data (it writes
# other characters as UTF-8, so no pair is escaped either)
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
SEVERAL = {(3, 8), (3, 11), (3, 12), (3, 15)}


def clean(name):
    """The name as strobe holds it: lone surrogates as U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in name)


def collapsed_escape(name):
    """README: ';', '\\' and control characters but tab as \\xNN, byte-wise."""
    out = []
    b = clean(name).encode("utf-8")
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0xC2 and i + 1 < len(b) and 0x80 <= b[i + 1] <= 0x9F:
            out.append(b"\\x%02x\\x%02x" % (c, b[i + 1]))
            i += 2
            continue
        if (c < 0x20 and c != 0x09) or c == 0x7F or c in b";\\":
            out.append(b"\\x%02x" % c)
        else:
            out.append(bytes([c]))
        i += 1
    return b"".join(out)


def term_escape(name):
    """base/utf8.h's utf8_term_escape: Python's repr() notation."""
    out = []
    for ch in clean(name):
        o = ord(ch)
        if ch in "\n\r\t\\":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}[ch])
        elif o < 0x20 or 0x7F <= o <= 0x9F:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    return "".join(out)


def decode_strict(data, what):
    """data as strict UTF-8 (no lone surrogates, no bad bytes), or a failure."""
    try:
        return data.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        check(False, "%s is not valid UTF-8: %s near %r", what, e, data[max(0, e.start - 40):e.end + 40])


def json_strings(v):
    """Every str (keys too) in a parsed JSON value."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from json_strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from json_strings(x)


def check_json_text(text, what):
    """Valid JSON whose strings are all valid Unicode (no lone surrogate
    written as a \\uXXXX escape)."""
    try:
        docs = [json.loads(l) for l in text.splitlines() if l.strip()] if what.endswith(".jsonl") \
            else [json.loads(text)]
    except ValueError as e:
        check(False, "%s is not valid JSON: %s", what, e)
    for d in docs:
        for s in json_strings(d):
            try:
                s.encode("utf-8")
            except UnicodeEncodeError:
                check(False, "%s holds a string with a lone surrogate: %r", what, s[:200])


def no_controls(data, what, allow=b"\n"):
    """No byte below 0x20 (but those in allow), no DEL, no C1 control."""
    bad = [i for i, c in enumerate(data) if (c < 0x20 and bytes([c]) not in allow) or c == 0x7F]
    text = data.decode("utf-8", "replace")
    c1 = [ch for ch in text if 0x80 <= ord(ch) <= 0x9F]
    check(not bad and not c1, "%s holds control characters: %r", what,
          data[max(0, (bad or [0])[0] - 60):(bad or [0])[0] + 60] if bad else c1)


def start(ctx):
    target, ready = ctx.start_target("hostile_names.py")
    return target, ready


def expected_stack(ready):
    """The hostile frames as collapsed text, root first (bytes)."""
    L, H = ready["lines"], ready["hostile_lines"]
    base = lambda p: p.rsplit("/", 1)[-1]
    return b";".join([
        b"hostile_names.py:<module>:%d" % L["module"],
        b"hostile_names.py:main:%d" % L["main"],
        collapsed_escape(base(ready["hostile_file"])) + b":" + collapsed_escape(ready["outer"])
        + b":%d" % H["call"],
        collapsed_escape(base(ready["hostile_file2"])) + b":" + collapsed_escape(ready["inner"])
        + b":%d" % H["hold"],
    ])


@case("names_collapsed", quick=True, engines="one")
def t_names_collapsed(ctx):
    """collapsed: hostile names give exactly one line per stack, escaped as the README says, valid UTF-8"""
    target, ready = start(ctx)
    out = ctx.path("c.txt")
    p = ctx.strobe(["attach", "-d", "1", "--collapsed", "-o", out, str(ready["pid"])], ready=False)
    expect_success(p, duration=1)
    with open(out, "rb") as f:
        data = f.read()
    decode_strict(data, "the collapsed file")
    no_controls(data, "the collapsed file", allow=b"\n")
    lines = data.split(b"\n")
    check(lines[-1] == b"", "no newline at the end: %r", data[-80:])
    want = b"tid:%d;" % ready["tid"] + expected_stack(ready)
    m = [re.match(rb"^(.*) (\d+)$", l) for l in lines[:-1]]
    check(len(lines) == 2 and m[0] and m[0].group(1) == want,
          "expected exactly one line\n  %r N\ngot\n  %s", want,
          "\n  ".join(repr(l) for l in lines[:-1]))


def dump_text(ctx, pid, color):
    p = ctx.strobe(["dump", str(pid)], ready=False,
                   env=ctx.env(PYTHON_COLORS="1" if color else "0"))
    check(p.wait(60) == 0, "strobe dump exited with %s: %s", p.rc, p.stderr[-400:])
    with open(p.out_path, "rb") as f:
        return f.read()


def colors_only(colored, plain, what):
    """With colour on, the only escape sequences are strobe's SGR codes, and
    without them the text is the colourless one."""
    stripped = SGR.sub(b"", colored)
    no_controls(stripped, what + " (colour on, SGR codes removed)")
    # the thread's status may change between the two dumps
    status = lambda t: re.sub(rb"\(.*most recent call last\):", b"(...):", t)
    check(status(stripped) == status(plain),
          "%s with colour, SGR codes removed, differs from it without:\n%r\n%r",
          what, stripped[:600], plain[:600])


@case("names_dump", versions=SEVERAL)
def t_names_dump(ctx):
    """dump: hostile names and source lines shown with visible escapes, no control bytes, colours only strobe's"""
    target, ready = start(ctx)
    plain = dump_text(ctx, ready["pid"], False)
    text = decode_strict(plain, "dump's output")
    no_controls(plain, "dump's output")
    base = lambda p: p.rsplit("/", 1)[-1]
    H = ready["hostile_lines"]
    # the file shown relative to strobe's directory, or whole (a chroot)
    want = [
        r'  File "(?:.*/)?%s", line %d, in %s$' % (re.escape(term_escape(base(ready["hostile_file"]))),
                                                 H["call"], re.escape(term_escape(ready["outer"]))),
        r"    return inner\(end\)  # @call \\x1b\]0;pwned\\x07$",
        r'  File "(?:.*/)?%s", line %d, in %s$' % (re.escape(term_escape(base(ready["hostile_file2"]))),
                                                 H["hold"], re.escape(term_escape(ready["inner"]))),
    ]
    lines = text.split("\n")
    check(any(all(re.match(w, l) for w, l in zip(want, lines[i:i + len(want)]))
              for i in range(len(lines) - len(want) + 1)),
          "dump does not show\n  %s\nit shows\n  %s", "\n  ".join(want), "\n  ".join(lines))
    colors_only(dump_text(ctx, ready["pid"], True), plain, "dump's output")


def pstats_stdout(ctx, pid, color):
    p = ctx.strobe(["attach", "-d", "1", str(pid)], ready=False,
                   env=ctx.env(PYTHON_COLORS="1" if color else "0"))
    expect_success(p, duration=1)
    with open(p.out_path, "rb") as f:
        return f.read()


@case("names_pstats_table", versions=SEVERAL, engines="one")
def t_names_pstats_table(ctx):
    """the pstats table on stdout: hostile names escaped, no control bytes, colours only strobe's SGR codes"""
    target, ready = start(ctx)
    plain = pstats_stdout(ctx, ready["pid"], False)
    text = decode_strict(plain, "the pstats table")
    no_controls(plain, "the pstats table")
    base = lambda p: p.rsplit("/", 1)[-1]
    H = ready["hostile_lines"]
    colored = pstats_stdout(ctx, ready["pid"], True)
    stripped = SGR.sub(b"", colored)
    no_controls(stripped, "the pstats table (colour on, SGR codes removed)")
    for file, func, line in ((ready["hostile_file"], ready["outer"], H["call"]),
                             (ready["hostile_file2"], ready["inner"], H["hold"])):
        want = "%s:%d(%s)" % (term_escape(base(file)), line, term_escape(func))
        for t, what in ((text, "without colour"), (stripped.decode("utf-8"), "with colour")):
            check(re.search(r"^ +\d+/\d+ .*  %s$" % re.escape(want), t, re.M),
                  "no table row ends with %r (%s):\n%s", want, what, t)


@case("names_formats", versions=SEVERAL, engines="one")
def t_names_formats(ctx):
    """every format of a hostile target's profile (binary, replayed to each) is valid UTF-8, JSON where JSON, no lone surrogates"""
    target, ready = start(ctx)
    binf = ctx.path("h.bin")
    p = ctx.strobe(["attach", "-d", "1", "--binary", "-o", binf, str(ready["pid"])], ready=False)
    expect_success(p, duration=1)
    outs = {}
    for flag, name in (("--collapsed", "h.txt"), ("--flamegraph", "h.html"), ("--gecko", "h.json"),
                       ("--jsonl", "h.jsonl"), ("--speedscope", "h.speedscope.json"),
                       ("--heatmap", "hm"), ("--pprof", "h.pb.gz")):
        out = outs[flag] = ctx.path(name)
        q = ctx.strobe(["replay", flag, "-o", out, binf], ready=False)
        check(q.wait(120) == 0, "strobe replay %s exited with %s: %s", flag, q.rc, q.stderr[-400:])
    # collapsed from the replay: the same single line
    with open(outs["--collapsed"], "rb") as f:
        data = f.read()
    decode_strict(data, "replayed collapsed")
    check(re.match(rb"^tid:\d+;" + re.escape(expected_stack(ready)) + rb" \d+\n$", data),
          "replayed collapsed is not the one expected line: %r", data)
    for flag in ("--gecko", "--jsonl", "--speedscope"):
        with open(outs[flag], "rb") as f:
            data = f.read()
        check_json_text(decode_strict(data, flag), outs[flag])
    pages = [outs["--flamegraph"]] + sorted(glob.glob(os.path.join(outs["--heatmap"], "**", "*"),
                                                      recursive=True))
    for page in pages:
        if os.path.isdir(page):
            continue
        with open(page, "rb") as f:
            data = f.read()
        decode_strict(data, page)
        check(b"\x1b" not in data and b"\x07" not in data, "%s holds raw ESC or BEL", page)
        # (the heat map's pages show source code, which may spell one)
        m = SURROGATE_ESCAPE.search(data) if page == outs["--flamegraph"] else None
        check(not m, "%s holds a lone surrogate as a JSON escape: %r", page,
              data[max(0, m.start() - 80):m.end() + 40] if m else b"")
    # pprof: protobuf strings must be UTF-8; the names are in it as such
    r = subprocess.run(["gzip", "-dc", outs["--pprof"]], stdout=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, "cannot gunzip the pprof profile")
    check(clean(ready["inner"]).encode("utf-8") in r.stdout,
          "the pprof profile does not hold the inner name as strict UTF-8")


@case("names_live", versions={(3, 8), (3, 15)})
def t_names_live(ctx):
    """--live: hostile names on screen in their escaped form; the window title is not changed"""
    live = Live(ctx, "hostile_names.py")
    try:
        title0 = live.tmux._tmux(["display-message", "-p", "-t", "live", "#{pane_title}"])
        # the hot one (the table is sorted by own time): in the top 3 and
        # in the table
        inner = term_escape(live.ready["inner"])
        s = live.tmux.wait(lambda s: s.count(inner) >= 2, 20, "the escaped name %r twice" % inner)
        check("pwned" not in s.replace(inner, ""), "'pwned' on screen outside the escaped name:\n%s", s)
        title = live.tmux._tmux(["display-message", "-p", "-t", "live", "#{pane_title}"])
        check("pwned" not in title and title == title0, "the window title changed: %r -> %r",
              title0, title)
        live.quit(status=0)
    finally:
        live.close()
