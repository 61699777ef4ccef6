"""make install: the binary, the man page strobe(1) and the bash, zsh and fish
completions land under DESTDIR/PREFIX; the man page renders without warnings;
each completion offers every option the installed binary's --help lists for
each command (so an option added to src/cli.c without reaching a completion
fails here), the choices of --mode, --sort..., and the PIDs of running Python
processes for attach and dump; --version says what the build includes."""
import os
import re
import shutil
import subprocess
import tempfile

from cases import case
from harness import Failure, Skip, check

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

FILES = {
    "bin": "bin/strobe",
    "man": "share/man/man1/strobe.1",
    "bash": "share/bash-completion/completions/strobe",
    "zsh": "share/zsh/site-functions/_strobe",
    "fish": "share/fish/vendor_completions.d/strobe.fish",
}

# an option line of argparse's help: "  -r, --sampling-rate RATE" or
# "  --mode {wall,cpu,gil,exception}" (wrapped help text is indented deeper)
HELP_OPTION = re.compile(r"^  (?:(-\w), )?(--[a-z][\w-]*)(?: (?:\{([^}]*)\}|[A-Z_]+))?(?:\s|$)")


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, **kw)


def grammar(strobe):
    """{command: {option: choices or None}} from the binary's own --help
    ("" is the top level), and the command names."""
    p = run([strobe, "--help"])
    check(p.returncode == 0, "strobe --help: exit status %s", p.returncode)
    m = re.search(r"\{(\w+(?:,\w+)*)\}", p.stdout)
    check(m, "strobe --help lists no commands: %r", p.stdout[:300])
    commands = m.group(1).split(",")
    out = {}
    for cmd in [""] + commands:
        p = run([strobe] + ([cmd] if cmd else []) + ["--help"])
        check(p.returncode == 0, "strobe %s --help: exit status %s", cmd, p.returncode)
        opts = {}
        for line in p.stdout.splitlines():
            m = HELP_OPTION.match(line)
            if m:
                choices = m.group(3).split(",") if m.group(3) else None
                for name in (m.group(1), m.group(2)):
                    if name:
                        opts[name] = choices
        check("--help" in opts and len(opts) > 2, "strobe %s --help: no options parsed", cmd)
        out[cmd] = opts
    return commands, out


def bash_complete(script, words, env=None):
    """COMPREPLY of the bash completion for words (the last one being completed)."""
    prog = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _strobe; '
            'printf "%s\\n" "${COMPREPLY[@]}"')
    p = run(["bash", "--norc", "--noprofile", "-c", prog, "_", script] + list(words), env=env)
    check(p.returncode == 0 and not p.stderr,
          "bash completion of %r: status %s, stderr %r", words, p.returncode, p.stderr[-300:])
    return set(p.stdout.split())


def fish_complete(script, line):
    """The candidates (without descriptions) fish offers for line."""
    p = run(["fish", "--no-config", "-c", "source $argv[1]; complete -C $argv[2]", script, line])
    check(p.returncode == 0 and not p.stderr,
          "fish completion of %r: status %s, stderr %r", line, p.returncode, p.stderr[-300:])
    return set(l.split("\t")[0] for l in p.stdout.splitlines())


# Types a line and a Tab into an interactive zsh (under zpty) whose fpath has
# the completion, and waits until the terminal shows what PATTERN matches.
ZSH_DRIVER = r'''
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D; unsetopt list_ambiguous; LISTMAX=10000; PROMPT='>'; print RE''ADY"
zpty -r -m z out '*READY*' || exit 3
zpty -n -w z "$2"$'\t'
zpty -r -m z out "$3" || exit 1
zpty -d z
'''


def zsh_shows(fpath, line, pattern):
    """Whether completing line in zsh shows text matching the glob pattern."""
    try:
        p = run(["zsh", "-f", "-c", ZSH_DRIVER, "zsh", fpath, line, pattern], timeout=15)
    except subprocess.TimeoutExpired:
        return False
    check(p.returncode in (0, 1), "zsh driver failed (%s): %r", p.returncode, p.stderr[-300:])
    return p.returncode == 0


def zsh_blocks(text, commands):
    """{command: its _arguments block} of the zsh completion file."""
    out = {}
    for cmd in commands:
        m = re.search(r"\n\t\t%s\)\n(.*?)\n\t\t\t;;" % re.escape(cmd), text, re.S)
        check(m, "zsh completion has no block for %s", cmd)
        out[cmd] = m.group(1)
    return out


def install(ctx):
    """make install into a temporary DESTDIR with PREFIX=/usr; the prefix."""
    build = os.path.dirname(os.path.abspath(ctx.strobe_path))
    if not os.path.isdir(os.path.join(build, "obj")):
        raise Skip("%s is not a make build directory" % build)
    dest = ctx.path("dest")
    p = run(["make", "--no-print-directory", "-C", ROOT, "install", "BUILD=" + build,
             "DESTDIR=" + dest, "PREFIX=/usr"], timeout=600)
    check(p.returncode == 0, "make install: exit status %s: %s", p.returncode,
          (p.stdout + p.stderr)[-1500:])
    prefix = os.path.join(dest, "usr")
    for what, rel in sorted(FILES.items()):
        path = os.path.join(prefix, rel)
        check(os.path.isfile(path), "make install did not install %s (%s)", rel, what)
    check(os.access(os.path.join(prefix, FILES["bin"]), os.X_OK), "bin/strobe is not executable")
    with open(os.path.join(prefix, FILES["bin"]), "rb") as a, open(ctx.strobe_path, "rb") as b:
        check(a.read() == b.read(), "the installed bin/strobe is not %s", ctx.strobe_path)
    return prefix


@case("install_files", kind="global")
def t_install_files(ctx):
    """make install DESTDIR= PREFIX=/usr: binary, man page, completions; the man
    page renders without warnings and documents every option, command and
    exit status; the installed binary's --version says what it includes"""
    prefix = install(ctx)
    man = os.path.join(prefix, FILES["man"])
    strobe = os.path.join(prefix, FILES["bin"])
    for tool in ("man", "groff"):
        check(shutil.which(tool), "%s is not installed (tests/provision.sh installs it)", tool)
    p = run(["man", "-l", "--warnings", "-E", "UTF-8", man])
    check(p.returncode == 0 and not p.stderr.strip(),
          "man -l --warnings: status %s: %s", p.returncode, p.stderr[-1000:])
    p = run(["groff", "-man", "-ww", "-z", man])
    check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
          "groff -man -ww -z: status %s: %s", p.returncode, (p.stdout + p.stderr)[-1000:])
    # the rendered text, hyphens as typed
    env = dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="")
    p = run(["man", "-l", "-E", "UTF-8", man], env=env)
    text = re.sub(r".\x08", "", p.stdout).replace("\u2010", "-").replace("\u2212", "-")
    commands, opts = grammar(strobe)
    for cmd in commands:
        check(re.search(r"^\s+%s\b" % cmd, text, re.M), "the man page lacks command %s", cmd)
    # the entries of the OPTIONS section: "-r, --sampling-rate RATE",
    # "--mode {wall,cpu,gil,exception}" at the tags' indent
    m = re.search(r"^OPTIONS\n(.*?)^[A-Z]", text, re.M | re.S)
    check(m, "the man page has no OPTIONS section")
    entries = {}
    for line in m.group(1).splitlines():
        e = re.match(r"^ {7}(?:(-\w), )?(--[a-z][\w-]*)(?: \{([^}]*)\})?", line)
        if e:
            for name in (e.group(1), e.group(2)):
                if name:
                    entries[name] = e.group(3)
    for cmd, o in opts.items():
        for name, choices in o.items():
            check(name in entries, "the man page's OPTIONS lack %s (of strobe %s)", name, cmd)
            if choices:
                check(entries[name] == ",".join(choices),
                      "the man page gives %s the choices {%s}, not {%s}",
                      name, entries[name], ",".join(choices))
    for heading in ("EXIT STATUS", "PERMISSIONS", "EXAMPLES", "NATIVE STACKS", "OUTPUT FORMATS"):
        check(re.search(r"^%s$" % heading, text, re.M), "the man page has no %s section", heading)
    for word in ("128+N", "ptrace_scope", "CAP_SYS_PTRACE", "--locals", "--native-stacks"):
        check(word in text, "the man page does not mention %s", word)

    p = run([strobe, "--version"])
    check(p.returncode == 0 and not p.stderr, "strobe --version: status %s, stderr %r",
          p.returncode, p.stderr)
    lines = p.stdout.splitlines()
    check(len(lines) == 3 and re.match(r"^strobe \d+\.\d+\.\d+$", lines[0]),
          "strobe --version: %r", p.stdout)
    for lib in (r"libdw \d+\.\d+", r"libzstd \d+\.\d+\.\d+", r"zlib \d+\.\d+",
                r"ncurses \d+\.\d+", r"libiberty", r"libbpf v?\d+\.\d+"):
        check(re.search(lib, lines[1]), "strobe --version does not name %s: %r", lib, lines[1])
    check(re.match(r"^CPython 3\.8-3\.15, x86-64, (dynamically|statically) linked$", lines[2]),
          "strobe --version: versions line %r", lines[2])


@case("install_completions", kind="global")
def t_install_completions(ctx):
    """the installed bash, zsh and fish completions: every option of every
    command (as the binary's --help lists them), choices, files, and the PIDs
    of Python processes (not of others) for attach and dump"""
    prefix = install(ctx)
    strobe = os.path.join(prefix, FILES["bin"])
    bash = os.path.join(prefix, FILES["bash"])
    zsh = os.path.join(prefix, FILES["zsh"])
    fish = os.path.join(prefix, FILES["fish"])
    commands, opts = grammar(strobe)
    target, ready = ctx.start_target("spin.py")
    py_pid = str(ready.get("pid", target.pid))
    other = ctx.spawn(["sleep", "300"], ready=False)
    files = tempfile.mkdtemp(dir=ctx.work)
    open(os.path.join(files, "prof.bin"), "w").close()

    # bash: the exact sets
    check(bash_complete(bash, ["strobe", ""]) == set(commands),
          "bash: commands %s", sorted(bash_complete(bash, ["strobe", ""])))
    check(bash_complete(bash, ["strobe", "-"]) == set(opts[""]),
          "bash: top-level options %s", sorted(bash_complete(bash, ["strobe", "-"])))
    for cmd in commands:
        got = bash_complete(bash, ["strobe", cmd, "-"])
        check(got == set(opts[cmd]), "bash: strobe %s options: missing %s, extra %s", cmd,
              sorted(set(opts[cmd]) - got), sorted(got - set(opts[cmd])))
        for name, choices in opts[cmd].items():
            if choices:
                got = bash_complete(bash, ["strobe", cmd, name, ""])
                check(got == set(choices), "bash: strobe %s %s: %s, expected %s",
                      cmd, name, sorted(got), choices)
    check(bash_complete(bash, ["strobe", "attach", "--mo"]) == {"--mode"},
          "bash: attach --mo gives %s", bash_complete(bash, ["strobe", "attach", "--mo"]))
    check(bash_complete(bash, ["strobe", "attach", "--mode", "=", "g"]) == {"gil"},
          "bash: attach --mode=g")
    prof = os.path.join(files, "prof")
    for words in (["strobe", "run", "-o", prof], ["strobe", "replay", prof],
                  ["strobe", "attach", "--diff-flamegraph", prof]):
        got = bash_complete(bash, words)
        check(got == {prof + ".bin"}, "bash: %s gives %s, not the file", " ".join(words), got)
    for cmd in ("attach", "dump"):
        got = bash_complete(bash, ["strobe", cmd, ""])
        check(py_pid in got, "bash: strobe %s offers %s, not the Python target %s",
              cmd, sorted(got), py_pid)
        check(str(other.pid) not in got, "bash: strobe %s offers sleep's pid %d", cmd, other.pid)
        got = bash_complete(bash, ["strobe", cmd, "-a", py_pid[:-1]])
        check(py_pid in got, "bash: strobe %s -a %s does not complete to %s",
              cmd, py_pid[:-1], py_pid)

    # fish: what it offers for each line
    if not shutil.which("fish"):
        raise Failure("fish is not installed (tests/provision.sh installs it)")
    p = run(["fish", "--no-execute", fish])
    check(p.returncode == 0, "fish -n: %s", p.stderr[-500:])
    check(fish_complete(fish, "strobe ") == set(commands), "fish: commands")
    for cmd in commands:
        got = fish_complete(fish, "strobe %s -" % cmd)
        want = set(opts[cmd])
        check(got == want, "fish: strobe %s options: missing %s, extra %s", cmd,
              sorted(want - got), sorted(got - want))
        for name, choices in opts[cmd].items():
            if choices and name.startswith("--"):
                got = fish_complete(fish, "strobe %s %s " % (cmd, name))
                check(got == set(choices), "fish: strobe %s %s: %s", cmd, name, sorted(got))
    for cmd in ("attach", "dump"):
        got = fish_complete(fish, "strobe %s " % cmd)
        check(py_pid in got and str(other.pid) not in got,
              "fish: strobe %s offers %s (Python target %s, sleep %d)",
              cmd, sorted(got), py_pid, other.pid)
    check(fish_complete(fish, "strobe replay %s" % prof) == {prof + ".bin"}, "fish: replay FILE")

    # zsh: syntax, each command's _arguments lists its options, and a real
    # completion in an interactive zsh
    if not shutil.which("zsh"):
        raise Failure("zsh is not installed (tests/provision.sh installs it)")
    p = run(["zsh", "-n", zsh])
    check(p.returncode == 0, "zsh -n: %s", p.stderr[-500:])
    with open(zsh) as f:
        blocks = zsh_blocks(f.read(), commands)
    for cmd in commands:
        for name, choices in opts[cmd].items():
            check(re.search(r"\)?%s[=+]?\[" % re.escape(name), blocks[cmd]),
                  "zsh: strobe %s lacks %s", cmd, name)
            if choices:
                check(":(%s)'" % " ".join(choices) in blocks[cmd],
                      "zsh: strobe %s %s lacks its choices", cmd, name)
    fpath = os.path.dirname(zsh)
    check(zsh_shows(fpath, "strobe attach --mo", "*--mode*"), "zsh: attach --mo is not --mode")
    check(zsh_shows(fpath, "strobe attach --mode ", "*exception*"),
          "zsh: attach --mode does not list its choices")
    check(zsh_shows(fpath, "strobe attach ", "*%s *--*" % py_pid),
          "zsh: attach does not offer the Python target %s" % py_pid)
