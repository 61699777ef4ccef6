"""Failed samples: counted per cause, shown to the user, and kept rare on
code that changes its stacks every microsecond (issue 16).

A sample fails when what strobe reads of the running target is unreadable
or impossible.  The end-of-run summary prints one line per cause after
"Error rate:", --realtime-stats the commonest causes on its live line and,
at the end, how many first walks were torn and walked again at once."""
import os
import re
import shutil
import subprocess

from cases import case, expect_success, run_collapsed
from harness import Collapsed, check, run_summary, strip_ansi

# "  <cause>: N (P%)" right after the "Error rate:" line
_CAUSE = re.compile(r"^  ([a-z][^:]*): (\d+) \(([\d.]+)%\)$")


def causes(stdout):
    """{cause: count} from the lines after 'Error rate:'."""
    lines = strip_ansi(stdout).replace("\r", "\n").splitlines()
    found, after = {}, False
    for line in lines:
        if line.startswith("Error rate:"):
            after = True
            continue
        if after:
            m = _CAUSE.match(line)
            if not m:
                break
            found[m.group(1)] = int(m.group(2))
    return found


def functions(col):
    """Function names of every frame in a collapsed profile."""
    return {fr.rsplit(":", 2)[1] for _, frames, _ in col.rows for fr in frames if fr.count(":") >= 2}


def torn_line(stdout):
    """(torn, walks, recovered) from the unwinder statistics."""
    m = re.search(r"Torn first walks: (\d+) \([\d.]+%; walked again at once, (\d+) walks, "
                  r"(\d+) recovered\)", strip_ansi(stdout))
    check(m, "no 'Torn first walks' line in the unwinder statistics")
    return tuple(int(g) for g in m.groups())


@case("fail_causes", quick=True, versions=[(3, 9), (3, 11), (3, 12), (3, 15)])
def t_fail_causes(ctx):
    """samples in a function whose code object is unreadable fail, under that cause"""
    p, ready, out = run_collapsed(ctx, "bad_code.py", opts=("--realtime-stats",),
                                  env=ctx.env(STROBE_EXIT_AFTER=2.5))
    done = p.message("done")
    expect_success(p)
    s = run_summary(p.stdout)
    got = causes(p.stdout)
    ctx.notes.append("summary %s, causes %s, hidden share %.3f" % (s, got, done["hidden_share"]))
    # torn reads are walked again, so other causes stay rare
    bad = got.get("code object unreadable", 0)
    check(bad and sum(got.values()) - bad <= 0.01 * s["samples"],
          "causes %s, expected 'code object unreadable'", got)
    failed = s["error_rate"] * s["samples"] / 100.0
    check(abs(sum(got.values()) - failed) <= 1,
          "%d failed by cause, %.1f by the error rate", sum(got.values()), failed)
    # the target measured its own split: the failed share is hidden()'s time
    check(abs(failed / s["samples"] - done["hidden_share"]) < 0.12,
          "%.1f%% failed, the target spent %.1f%% in hidden()", s["error_rate"],
          100 * done["hidden_share"])
    # the commonest cause first; a rare torn read may follow it
    live = re.findall(r"Failed: ([\d.]+)% \(code object unreadable ([\d.]+)%[,)]",
                      p.stdout + p.stderr)
    check(live, "no 'Failed: P%% (code object unreadable P%%...' on the live line")
    check(all(float(a) - float(b) < 1 and 20 < float(a) < 80 for a, b in live),
          "live failures %s", live)
    # a failed sample adds no stack: hidden() never shows, shown() does
    col = Collapsed(out)
    funcs = functions(col)
    check("hidden" not in funcs and "shown" in funcs, "functions in the profile: %s\n%s",
          sorted(funcs), "\n".join(col.summary()))
    torn, walks, recovered = torn_line(p.stdout)
    if ctx.engine == "bpf":
        # copied while the thread stands still: nothing is walked again
        check(torn == walks == recovered == 0, "--engine bpf walked again: %d torn, %d walks",
              torn, walks)
        return
    # walked again 8 times and never recovered, unless hidden() returned
    # in between (it does every 20 ms)
    check(torn - recovered >= bad and
          8 * (torn - recovered) <= walks <= 8 * torn and recovered <= 0.05 * torn + 5,
          "an unreadable code object is no torn read: %d torn, %d walks, %d recovered",
          torn, walks, recovered)


@case("fail_import_storm", exclusive=True, versions=[(3, 8), (3, 9), (3, 10), (3, 11), (3, 12),
                                                     (3, 13), (3, 14), (3, 15)], engines="one")
def t_fail_import_storm(ctx):
    """re-importing packages in a loop at 2 kHz: under 1% failed, torn walks recovered"""
    p, ready, out = run_collapsed(ctx, "imports.py", args=("3",), opts=("-r", "2000",
                                                                        "--realtime-stats"))
    expect_success(p)
    s = run_summary(p.stdout)
    torn, walks, recovered = torn_line(p.stdout)
    got = causes(p.stdout)
    ctx.notes.append("summary %s, causes %s, torn %d (%d walks, %d recovered)"
                     % (s, got, torn, walks, recovered))
    check(s["samples"] > 2000, "only %d samples", s["samples"])
    # a quiet machine gives well under 1% (BENCHMARKS.md); a CI machine
    # running other tests beside this one is allowed twice that
    check(s["error_rate"] < 2.0, "%.2f%% of the samples failed: %s", s["error_rate"], got)
    failed = round(s["error_rate"] * s["samples"] / 100.0)
    check(abs(sum(got.values()) - failed) <= 1, "causes %s do not add up to %d", got, failed)
    check(torn - recovered <= failed, "%d torn, %d recovered, but only %d failed",
          torn, recovered, failed)
    col = Collapsed(out, same_basenames=True)
    funcs = functions(col)
    check("_find_and_load" in funcs, "no import machinery in the profile:\n%s",
          "\n".join(col.summary()))


@case("fail_mercurial", kind="global", exclusive=True)
def t_fail_mercurial(ctx):
    """`hg log -p` (Debian's Mercurial, /usr/bin/python3) at 5 kHz: under 2% failed"""
    hg = shutil.which("hg")
    check(hg, "Debian's mercurial is not installed (tests/provision.sh installs it)")
    repo = ctx.path("repo")
    env = ctx.env(HGPLAIN=1, HGUSER="test <test@example.org>")
    subprocess.run([hg, "init", repo], check=True, env=env)
    for i in range(30):
        with open(os.path.join(repo, "f%d.py" % (i % 7)), "a") as f:
            f.write("".join("x_%d_%d = %d\n" % (i, k, k * i) for k in range(40)))
        subprocess.run([hg, "-R", repo, "commit", "-q", "-A", "-m", "change %d" % i],
                       check=True, env=env)
    total, failed, funcs = 0, 0, set()
    for run in range(3):
        out = ctx.path("hg%d.txt" % run)
        p = ctx.strobe(["run", "-r", "5000", "--collapsed", "-o", out, "--", hg, "-R", repo,
                        "log", "-p"], ready=False, env=env)
        expect_success(p, timeout=60)
        s = run_summary(p.stdout)
        got = causes(p.stdout)
        ctx.notes.append("run %d: %s, causes %s" % (run, s, got))
        total += s["samples"]
        failed += sum(got.values())
        funcs |= functions(Collapsed(out, same_basenames=True))
    check(total > 1000, "only %d samples in 3 runs", total)
    check(failed < 0.02 * total, "%d of %d samples failed", failed, total)
    check("dispatch" in funcs or "_dispatch" in funcs, "no Mercurial frames: %s",
          sorted(funcs)[:40])
