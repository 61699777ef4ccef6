#!/usr/bin/python3
"""Run strobe's functional tests against every CPython interpreter found.

  tests/functional/run.py --strobe build/strobe [--quick] [-k PATTERN] [-v] [-j N] [--keep] [--list]

Each test runs once per interpreter it applies to (see cases.py), in parallel
(-j, default 2) except tests marked exclusive (timing / share measurements),
which run afterwards one at a time.  One PASS/FAIL line per test x interpreter,
then the version matrix, then "N passed, M failed".  A test that failed runs
once more, alone, at the end (up to MAX_RETRIES of them; not with
--no-retry): many tests compare timing-dependent shares with the program's own
or with Tachyon's, and a 2-core CI machine running two of them beside a
sanitizer build starves profilers now and then.  One that passes then counts as
passed and is listed under "Passed on a second run", its first failure printed
in full above.  Exit status 1 on any
failure, and - when CI=true - when any version 3.8-3.15 has no interpreter.
"""
import argparse
import os
import re
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

import cases          # noqa: E402
import interpreters   # noqa: E402
import importlib      # noqa: E402

# more tests live in cases_<topic>.py; they register with cases.case
for _name in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):
    if _name.startswith("cases_") and _name.endswith(".py"):
        importlib.import_module(_name[:-3])
from harness import ENGINES, Ctx, Failure, Skip  # noqa: E402


class Job:
    def __init__(self, case, interp, engine="reader"):
        self.case = case
        self.interp = interp
        self.engine = engine
        self.label = (interp.label if interp else "-") + ("" if engine == "reader" else "+" + engine)
        self.ident = "%s[%s]" % (case.name, self.label)
        self.ok = None
        self.skipped = False
        self.msg = ""
        self.details = []
        self.seconds = 0.0
        self.retried = False


MAX_RETRIES = 10  # more failures than this is a breakage, not a loaded machine


def default_interp(supported):
    """Interpreter for the interpreter-independent tests: the newest release build on the host."""
    supported = [i for i in supported if not i.debug]
    host = [i for i in supported if i.root is None]
    pool = host or supported
    return max(pool, key=lambda i: i.version) if pool else None


def build_jobs(disc, args):
    supported = disc.supported
    jobs = []
    for c in cases.CASES:
        if args.quick and not c.quick:
            continue
        # debug builds: only the representative subset (debug=True), and
        # not in the sanitizer pass (--quick), which is about strobe itself
        mine = [i for i in supported if not i.debug or (c.debug and not args.quick)]
        if c.kind == "interp":
            targets = [i for i in mine
                       if c.versions is None or tuple(i.version[:2]) in c.versions]
        elif c.kind == "host":
            targets = [i for i in mine if i.root is None]
        elif c.kind == "unsupported":
            targets = disc.unsupported
        else:
            d = default_interp(supported)
            targets = [d] if d else []
        # engines=True: once more per interpreter with --engine bpf
        # (name[interp+bpf]), engines="one": on one of them only (the newest
        # host release among them); not for global cases (no interpreter
        # of their own)
        engines = ENGINES if c.engines and c.kind != "global" else ENGINES[:1]
        one = default_interp(targets) if c.engines == "one" else None
        for it in targets:
            for engine in (engines if one is None or it is one else ENGINES[:1]):
                j = Job(c, it, engine)
                if c.kind == "global":
                    j.ident = "%s[-]" % c.name
                if args.k and not re.search(args.k, j.ident):
                    continue
                jobs.append(j)
    return jobs


class Runner:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.live = set()
        self.stopping = False

    def run_job(self, job):
        if self.stopping:
            job.ok, job.msg = False, "not run (interrupted)"
            return job
        t0 = time.monotonic()
        ctx = None
        try:
            ctx = Ctx(self.args.strobe, job.interp, job.case.name, keep=self.args.keep,
                      engine=job.engine)
            with self.lock:
                self.live.add(ctx)
            job.case.func(ctx)
            if job.engine != "reader" and not ctx.engine_runs:
                raise Failure("marked engines=True, but no strobe run/attach went through "
                              "ctx.strobe, so --engine %s was never used" % job.engine)
            job.ok = True
        except Skip as e:
            job.ok, job.skipped, job.msg = True, True, str(e)
        except Failure as e:
            job.ok, job.msg = False, str(e)
        except Exception:
            job.ok, job.msg = False, "test error:\n" + traceback.format_exc()
        finally:
            if ctx is not None:
                if not job.ok or self.args.verbose:
                    job.details = ctx.describe()
                    if self.args.keep:
                        job.details.append("work dir kept: " + ctx.work)
                with self.lock:
                    self.live.discard(ctx)
                try:
                    ctx.cleanup()
                except Exception as e:  # cleanup problems must not hide the result
                    job.details.append("cleanup: %s" % e)
            job.seconds = time.monotonic() - t0
            self.report(job)
        return job

    def report(self, job):
        with self.lock:
            label = job.label if job.interp and job.case.kind != "global" else "-"
            print("%s  %-20s %-52s %5.1fs" % ("SKIP" if job.skipped else "PASS" if job.ok else "FAIL",
                                             job.case.name, label, job.seconds))
            if not job.ok or job.skipped:
                for line in job.msg.splitlines():
                    print("      " + line)
            for line in job.details:
                print("      | " + line)
            sys.stdout.flush()

    def kill_all(self):
        self.stopping = True
        with self.lock:
            for ctx in list(self.live):
                for p in ctx.procs:
                    p.kill()


def print_matrix(disc, jobs, ci):
    """Version x interpreter table of what was tested; returns failure lines for missing versions."""
    print()
    print("Version matrix (strobe supports %s-%s):" % ("3.8", "3.15"))
    print("  %-8s %-56s %6s %6s" % ("version", "interpreter", "passed", "failed"))
    by_interp = {}
    for j in jobs:
        if j.case.kind != "global":
            by_interp.setdefault(id(j.interp), []).append(j)
    missing = []
    for v in interpreters.SUPPORTED:
        its = [i for i in disc.supported if tuple(i.version[:2]) == v]
        name = "%d.%d" % v
        if not its:
            print("  %-8s %-56s %6s %6s" % (name, "MISSING: no interpreter found", "-", "-"))
            missing.append(name)
        for i in its:
            js = by_interp.get(id(i), [])
            print("  %-8s %-56s %6d %6d%s" % (name, i.label, sum(j.ok and not j.skipped for j in js),
                                              sum(not j.ok for j in js),
                                              "" if js else "   (no test selected)"))
    for i in disc.unsupported:
        js = by_interp.get(id(i), [])
        print("  %-8s %-56s %6d %6d   (unsupported: must be refused)"
              % (i.short, i.label, sum(j.ok and not j.skipped for j in js), sum(not j.ok for j in js)))
    gl = [j for j in jobs if j.case.kind == "global"]
    if gl:
        print("  %-8s %-56s %6d %6d" % ("-", "interpreter-independent (on %s)" % gl[0].interp.label,
                                        sum(j.ok and not j.skipped for j in gl), sum(not j.ok for j in gl)))
    for n in disc.notes:
        print("  note: " + n)
    failures = []
    if missing:
        print("  versions NOT tested: %s%s" % (", ".join(missing),
              " -> failing the run (CI=true)" if ci else " (set CI=true to make this fail)"))
        if ci:
            failures = missing
    # a debug build provisioning installs beside its release build is
    # required whenever that release build is here
    for origin, v in disc.missing_debug():
        name = "%d.%d debug (%s)" % (v + (origin,))
        print("  %-8s %-56s %6s %6s" % ("%d.%d" % v, "MISSING: %s; tests/provision.sh installs "
                                        "python%d.%d-dbg" % ((name,) + v), "-", "-"))
        failures.append(name)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--strobe", required=True, help="the strobe binary to test")
    ap.add_argument("--quick", action="store_true", help="the reduced set (sanitizer build)")
    ap.add_argument("-k", metavar="PATTERN", help="only tests whose 'name[interpreter]' matches this regex")
    ap.add_argument("-v", "--verbose", action="store_true", help="show commands and output of passing tests too")
    ap.add_argument("--no-retry", action="store_true",
                    help="do not run failed tests a second time")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="tests run in parallel (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep work directories")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    args = ap.parse_args()

    if args.list:
        for c in cases.CASES:
            flags = [c.kind] + (["quick"] if c.quick else []) + (["exclusive"] if c.exclusive else []) \
                + (["engines"] if c.engines else [])
            print("%-20s %-28s %s" % (c.name, ",".join(flags), c.doc))
        return 0

    args.strobe = os.path.abspath(args.strobe)
    if not (os.path.isfile(args.strobe) and os.access(args.strobe, os.X_OK)):
        print("run.py: %s is not an executable file (build it with make)" % args.strobe, file=sys.stderr)
        return 2
    ci = os.environ.get("CI") == "true"
    t0 = time.monotonic()

    disc = interpreters.discover()
    print("strobe functional tests: %s%s" % (args.strobe, " (quick)" if args.quick else ""))
    print("interpreters:")
    for i in disc.interps:
        print("  %-52s %s%s" % (i.label, " ".join(i.argv), "" if i.supported else "  [unsupported]"))
    jobs = build_jobs(disc, args)
    print("%d tests\n" % len(jobs))
    sys.stdout.flush()

    runner = Runner(args)
    parallel = [j for j in jobs if not j.case.exclusive]
    exclusive = [j for j in jobs if j.case.exclusive]
    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    try:
        list(pool.map(runner.run_job, parallel))
        pool.shutdown()
        for j in exclusive:  # timing-sensitive: nothing else runs beside them
            runner.run_job(j)
        again = [j for j in jobs if not j.ok]
        if again and not args.no_retry and len(again) <= MAX_RETRIES:
            print("\nrunning the %d failed test(s) once more, one at a time:" % len(again))
            for j in again:
                j.retried = True
                runner.run_job(j)
    except KeyboardInterrupt:
        runner.kill_all()  # running tests fail fast, queued ones are skipped
        pool.shutdown(wait=True, cancel_futures=True)
        print("\ninterrupted", file=sys.stderr)
        return 130

    missing = print_matrix(disc, jobs, ci)
    failed = [j for j in jobs if not j.ok]
    if failed:
        print("\nFailed:")
        for j in failed:
            print("  " + j.ident)
    for v in missing:
        if "debug" in v:
            print("FAIL  coverage             %s: no interpreter found (tests/provision.sh installs it "
                  "beside the release build)" % v)
        else:
            print("FAIL  coverage             %s: no interpreter found (every version 3.8-3.15 is required under CI=true)" % v)
    n_pass = sum(1 for j in jobs if j.ok and not j.skipped)
    second = [j for j in jobs if j.ok and j.retried]
    if second:
        print("\nPassed on a second run (the first failure is printed above):")
        for j in second:
            print("  " + j.ident)
    skipped = [j for j in jobs if j.skipped]
    if skipped:
        print("\nSkipped (each with its reason above):")
        for j in skipped:
            print("  %s: %s" % (j.ident, j.msg.splitlines()[0] if j.msg else ""))
    n_fail = len(failed) + len(missing)
    print("\nwall time %.0f s" % (time.monotonic() - t0))
    if not jobs:
        print("no test was selected")
        n_fail += 1
    print("%d passed, %d failed" % (n_pass, n_fail))
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
