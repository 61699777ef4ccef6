#!/usr/bin/python3
"""Find the CPython interpreters the functional tests run against.

Three places are searched (each can be pointed elsewhere by the environment):
  pyenv       $PYENV_ROOT/versions/*/bin/python      (PYENV_ROOT, default ~/.pyenv)
  debian      /usr/bin/pythonX.Y[d]                  (STROBE_DEBIAN_BIN, default /usr/bin)
  sid chroot  $STROBE_SID_ROOT/usr/bin/pythonX.Y[-pie|d] run with chroot(8)
              (STROBE_SID_ROOT, default /var/cache/strobe/sid; built by tests/provision.sh)
plus any paths listed in STROBE_EXTRA_PYTHONS (colon separated), labelled "extra".

pythonX.Yd is Debian's debug build (pythonX.Y-dbg: --with-pydebug, Py_DEBUG);
the run itself says whether an interpreter is one (sys.gettotalrefcount
exists only in debug builds).  Debug builds run the cases marked debug=True
(a representative subset, cases.py).  DEBUG_EXPECTED names the debug builds
tests/provision.sh installs beside a release interpreter of the same origin
and version: one of those missing is a failure of the run (missing_debug()).

Each interpreter is run once to learn its version; its executable's ELF header tells
whether it is PIE and whether libpython is a shared library (DT_NEEDED libpython*) or
linked in (static).  sysconfig is not asked: Debian's builds say Py_ENABLE_SHARED=1
because they also ship libpython3.X.so, yet /usr/bin/python3.X does not use it.

Run as a script it prints what it found, one line per interpreter.
"""
import glob
import os
import re
import struct
import subprocess
import sys

SUPPORTED = [(3, minor) for minor in range(8, 16)]  # 3.8 .. 3.15
SID_ROOT_DEFAULT = "/var/cache/strobe/sid"
# origin -> versions whose debug build (Debian's pythonX.Y-dbg) must be there
# whenever the release build of that origin is
DEBUG_EXPECTED = {"debian": {(3, 11)}, "sid chroot": {(3, 13), (3, 14), (3, 15)}}

_PROBE = ("import sys; sys.stdout.write('%d %d %d %d\\n' % (tuple(sys.version_info[:3]) + "
          "(hasattr(sys, 'gettotalrefcount'),)))")


class Interp:
    """One interpreter.

    version   (major, minor, micro)
    origin    "pyenv" | "debian" | "sid chroot" | "extra"
    exe       the executable as the host sees it (inside the root for a chroot)
    root      chroot directory, or None
    argv      argv prefix that runs this interpreter (["chroot", root, "/usr/bin/python3.14"])
    linkage   "shared" | "static" (is libpython a separate shared object?)
    pie       True when the executable is position independent (ET_DYN)
    debug     True for a debug build (Py_DEBUG)
    """

    def __init__(self, version, origin, exe, root, argv, linkage, pie, debug=False):
        self.version = version
        self.origin = origin
        self.exe = exe
        self.root = root
        self.argv = argv
        self.linkage = linkage
        self.pie = pie
        self.debug = debug
        self.label = "%s (%s, %s, %s%s)" % (self.short, origin, linkage, "PIE" if pie else "non-PIE",
                                           ", debug" if debug else "")

    @property
    def short(self):
        return "%d.%d" % self.version[:2]

    @property
    def supported(self):
        return tuple(self.version[:2]) in SUPPORTED

    @property
    def exe_in_target(self):
        """The executable's path as the interpreter itself sees it."""
        return self.to_target(self.exe)

    def to_target(self, host_path):
        """Map a host path (which must be inside the root for a chroot) to the target's view."""
        host_path = os.path.abspath(host_path)
        if self.root is None:
            return host_path
        root = os.path.abspath(self.root)
        if host_path != root and not host_path.startswith(root + os.sep):
            raise ValueError("%s is not visible inside the chroot %s" % (host_path, root))
        return "/" + os.path.relpath(host_path, root) if host_path != root else "/"

    def scratch_base(self):
        """A host directory whose contents the target can see (for copies of targets)."""
        if self.root is None:
            return None  # the system temp dir
        return os.path.join(self.root, "tmp", "strobe-tests")

    def command(self, *args):
        """argv that runs this interpreter with args (paths already in the target's view)."""
        return list(self.argv) + list(args)

    def __repr__(self):
        return "<Interp %s %s>" % (self.label, self.exe)


class Discovery:
    """Result of discover(): interpreters found and notes about what was not."""

    def __init__(self):
        self.interps = []   # every working interpreter, supported or not
        self.notes = []     # human-readable lines: places searched and problems

    @property
    def supported(self):
        return [i for i in self.interps if i.supported]

    @property
    def unsupported(self):
        return [i for i in self.interps if not i.supported]

    def missing(self):
        have = {tuple(i.version[:2]) for i in self.supported}
        return [v for v in SUPPORTED if v not in have]

    def missing_debug(self):
        """Debug builds that should be there (DEBUG_EXPECTED) but are not:
        [(origin, (major, minor))]."""
        release = {(i.origin, tuple(i.version[:2])) for i in self.interps if not i.debug}
        debug = {(i.origin, tuple(i.version[:2])) for i in self.interps if i.debug}
        return sorted((o, v) for o, vs in DEBUG_EXPECTED.items() for v in vs
                      if (o, v) in release and (o, v) not in debug)


def elf_facts(path):
    """(pie, linkage) from the ELF file at path; raises ValueError if it is not ELF64 LE."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("%s: not a 64-bit little-endian ELF file" % path)
    e_type, = struct.unpack_from("<H", data, 16)
    e_shoff, = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = []
    for i in range(e_shnum):
        off = e_shoff + i * e_shentsize
        (name, stype, flags, addr, offset, size, link, info, align,
         entsize) = struct.unpack_from("<IIQQQQIIQQ", data, off)
        sections.append((stype, offset, size, link))
    needed = []
    for stype, offset, size, link in sections:
        if stype != 6:  # SHT_DYNAMIC
            continue
        str_off = sections[link][1]
        for pos in range(offset, offset + size, 16):
            tag, val = struct.unpack_from("<qQ", data, pos)
            if tag == 0:
                break
            if tag == 1:  # DT_NEEDED
                end = data.index(b"\0", str_off + val)
                needed.append(data[str_off + val:end].decode("ascii", "replace"))
    pie = e_type == 3  # ET_DYN
    shared = any(n.startswith("libpython") for n in needed)
    return pie, ("shared" if shared else "static")


def _probe(argv, timeout=30):
    try:
        p = subprocess.run(argv + ["-c", _PROBE], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=_clean_env())
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip()[-200:])
    try:
        fields = [int(x) for x in p.stdout.split()]
    except ValueError:
        fields = []
    if len(fields) != 4:
        return None, "unexpected output %r" % p.stdout[:100]
    return (tuple(fields[:3]), bool(fields[3])), None


def _clean_env():
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE"):
        env.pop(k, None)
    return env


def _add(d, origin, exe, root, argv):
    try:
        pie, linkage = elf_facts(exe)
    except (OSError, ValueError, struct.error, IndexError) as e:
        d.notes.append("%s: %s: cannot read ELF header (%s)" % (origin, exe, e))
        return
    facts, err = _probe(argv)
    if facts is None:
        d.notes.append("%s: %s does not run: %s" % (origin, exe, err))
        return
    version, debug = facts
    d.interps.append(Interp(version, origin, exe, root, argv, linkage, pie, debug))


def _pyenv(d):
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    vdir = os.path.join(root, "versions")
    if not os.path.isdir(vdir):
        d.notes.append("pyenv: no %s" % vdir)
        return
    for path in sorted(glob.glob(os.path.join(vdir, "*"))):
        if os.path.islink(path):  # pyenv aliases; the real directory is listed too
            continue
        exe = os.path.join(path, "bin", "python")
        if not os.path.exists(exe):
            d.notes.append("pyenv: %s has no bin/python" % path)
            continue
        _add(d, "pyenv", exe, None, [exe])


_NAME = re.compile(r"^python[23]\.\d+d?$")


def _debian(d):
    bindir = os.environ.get("STROBE_DEBIAN_BIN", "/usr/bin")
    seen = set()
    for exe in sorted(glob.glob(os.path.join(bindir, "python*"))):
        if not _NAME.match(os.path.basename(exe)) or not os.path.isfile(exe):
            continue
        real = os.path.realpath(exe)
        if real in seen:
            continue
        seen.add(real)
        _add(d, "debian", exe, None, [exe])


_SID_NAME = re.compile(r"^python3\.\d+(-pie|d)?$")


def _sid(d):
    root = os.environ.get("STROBE_SID_ROOT", SID_ROOT_DEFAULT)
    bindir = os.path.join(root, "usr", "bin")
    if not os.path.isdir(bindir):
        d.notes.append("sid chroot: no root at %s (tests/provision.sh builds it)" % root)
        return
    if os.geteuid() != 0:
        d.notes.append("sid chroot: %s present but chroot needs root; not used" % root)
        return
    for exe in sorted(glob.glob(os.path.join(bindir, "python3.*"))):
        name = os.path.basename(exe)
        if not _SID_NAME.match(name) or os.path.islink(exe):
            continue
        _add(d, "sid chroot", exe, root, ["chroot", root, "/usr/bin/" + name])


def _extra(d):
    for exe in filter(None, os.environ.get("STROBE_EXTRA_PYTHONS", "").split(":")):
        _add(d, "extra", exe, None, [exe])


def discover():
    d = Discovery()
    _pyenv(d)
    _debian(d)
    _sid(d)
    _extra(d)
    # Labels must tell interpreters apart (e.g. sid's python3.14 and python3.14-pie).
    labels = {}
    for i in d.interps:
        labels.setdefault(i.label, []).append(i)
    for same in labels.values():
        if len(same) > 1:
            for i in same:
                i.label = i.label[:-1] + ", %s)" % os.path.basename(i.exe)
    d.interps.sort(key=lambda i: (i.version, i.debug, i.origin, i.exe))
    return d


def main():
    d = discover()
    for i in d.interps:
        tag = "" if i.supported else "   [unsupported by strobe: error tests only]"
        print("  %-48s %s%s" % (i.label, " ".join(i.argv), tag))
    for n in d.notes:
        print("  note: " + n)
    missing = d.missing()
    if missing:
        print("  MISSING supported versions: " + ", ".join("%d.%d" % v for v in missing))
    else:
        print("  every supported version 3.8-3.15 is present")
    for origin, v in d.missing_debug():
        print("  MISSING debug build: %d.%d (%s; tests/provision.sh installs python%d.%d-dbg)"
              % (v + (origin,) + v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
