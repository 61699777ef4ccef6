"""The runner's engines=True machinery (issue 21; tests/README.md): which
run/attach command lines harness.bpf_unsupported lets through to --engine bpf,
and where ctx.strobe puts the option.  No profiling: the checks are of the
harness, so that a marked case cannot end up testing the reader (or a script
argument) under a bpf label."""
from cases import case
from harness import Ctx, Failure, bpf_unsupported, check

# (argv after "strobe", None if --engine bpf applies, else a word of the reason)
LINES = [
    (["run", "-d", "2", "-a", "--mode", "cpu", "--collapsed", "-o", "o.txt", "t.py"], None),
    (["run", "--mode=cpu", "-r", "10khz", "--python", "/usr/bin/python3", "t.py", "--blocking"],
     None),  # the script's own arguments are not strobe's
    (["attach", "--mode", "cpu", "-d", "1", "123"], None),
    (["run", "--mode", "cpu", "--", "python3", "--blocking"], None),
    (["run", "-m", "spin", "--native"], None),  # options after the module are its own
    (["run", "-d", "1", "t.py"], None),
    (["attach", "--mode", "gil", "1"], None),
    (["attach", "--mode=exception", "1"], None),
    (["run", "--mode", "cpu", "--blocking", "t.py"], "--blocking"),
    (["run", "--mode", "cpu", "--native", "t.py"], "--native"),
    (["run", "--mode", "cpu", "--native-stacks", "t.py"], "--native-stacks"),
    (["run", "--mode", "cpu", "--async-aware", "t.py"], "--async-aware"),
    (["attach", "--mode", "cpu", "--live", "1"], "--live"),
    (["attach", "-a", "--gecko", "-o", "g.json", "1"], None),
    (["attach", "--mode", "cpu", "--engine", "reader", "1"], "--engine"),
]


@case("harness_engines", kind="global", quick=True)
def t_harness_engines(ctx):
    """engines=True: the run/attach lines --engine bpf applies to, and --engine placed after the subcommand"""
    for argv, why in LINES:
        got = bpf_unsupported(argv)
        if why is None:
            check(got is None, "%s: refused for --engine bpf (%s)", argv, got)
        else:
            check(got is not None and why in got, "%s: %r, expected a refusal naming %s",
                  argv, got, why)
    # ctx.strobe under bpf: the option right after run/attach, nothing added
    # to other subcommands, a refused line raised before anything starts
    sub = Ctx(ctx.strobe_path, None, "harness_engines", engine="bpf")
    try:
        for argv, want in ((["attach", "--mode", "cpu", "-d", "0.1", "999999999"],
                            ["attach", "--engine", "bpf", "--mode", "cpu"]),
                           (["dump", "999999999"], ["dump", "999999999"])):
            p = sub.strobe(argv, ready=False)
            p.wait(30)
            check(p.argv[1:1 + len(want)] == want, "ctx.strobe ran %s", p.argv)
        check(sub.engine_runs == 1, "%d run/attach counted, expected 1", sub.engine_runs)
        try:
            sub.strobe(["run", "-d", "1", "--blocking", "t.py"], ready=False)
        except Failure as e:
            check("--blocking" in str(e), "the failure does not say why: %s", e)
        else:
            raise Failure("ctx.strobe started a --blocking run under --engine bpf")
        check(len(sub.procs) == 2, "%d processes started, expected 2", len(sub.procs))
    finally:
        sub.cleanup()
