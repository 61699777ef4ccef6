#!/bin/bash
# tests/packaging/wheel.sh [WHEEL] - check strobe's wheel (make wheel) end to end
#
# Without WHEEL, runs `make wheel` (quick when build/strobe-static is up to
# date) and checks build/dist/strobe_profiler-*.whl.  Checks the file name
# and tag, RECORD (every file, hashes, sizes), WHEEL (Root-Is-Purelib: false,
# the Tag lines), METADATA, and that the wheel's one script is a static
# executable; then installs it with `pip install --no-index` into a fresh
# venv, runs the installed `strobe` from that venv's PATH, profiles the
# venv's own Python with it once, and uninstalls it.  Exits non-zero at the
# first failure.  Everything temporary goes to one mktemp directory, removed
# on exit.  Environment: STROBE_VENV_PYTHON, the Python that makes the venv
# (default /usr/bin/python3; needs its venv module: Debian's python3-venv).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
venv_python=${STROBE_VENV_PYTHON:-/usr/bin/python3}
started=$SECONDS
fail() { printf 'wheel.sh: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'wheel.sh: ok: %s\n' "$*"; }

version=$(sed -n 's/^#define STROBE_VERSION "\(.*\)"$/\1/p' src/cli.c)
[[ -n $version ]] || fail "no STROBE_VERSION in src/cli.c"

if (($#)); then
	wheel=$1
	built=
else
	make -j1 --no-print-directory wheel >/dev/null
	shopt -s nullglob
	wheels=(build/dist/strobe_profiler-*.whl)
	shopt -u nullglob
	((${#wheels[@]} == 1)) || fail "make wheel left ${#wheels[@]} wheels in build/dist: ${wheels[*]}"
	wheel=${wheels[0]}
	built=1
fi
[[ -f $wheel ]] || fail "no wheel $wheel"

tmp=$(mktemp -d -t strobe-wheel.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

# ------------------------------------------------------------ name and tag
# a static binary needs no libc of the host: the oldest manylinux tag of the
# architecture plus musllinux_1_1 (docs/packaging.md, Wheel)
arch=$(uname -m)
case $arch in
x86_64 | i686) platform="manylinux_2_5_$arch.manylinux1_$arch.musllinux_1_1_$arch" ;;
*) platform="manylinux_2_17_$arch.manylinux2014_$arch.musllinux_1_1_$arch" ;;
esac
want_name=strobe_profiler-$version-py3-none-$platform.whl
[[ $(basename "$wheel") == "$want_name" ]] || fail "wheel is named $(basename "$wheel"), want $want_name"
ok "name $want_name"

# ------------------------------------------------------------ contents
# RECORD, WHEEL, METADATA and the script's mode, read with zipfile (no unzip
# needed); the script is extracted to $tmp/strobe for the ELF checks
"$venv_python" - "$wheel" "$version" "$platform" "$tmp/strobe" README.md <<'PY' || fail "wheel contents (above)"
import base64, csv, hashlib, io, stat, sys, zipfile
from email.parser import Parser

path, version, platform, out, readme = sys.argv[1:]
dist = f"strobe_profiler-{version}"
info, data = f"{dist}.dist-info", f"{dist}.data"
script = f"{data}/scripts/strobe"
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
    return cond

z = zipfile.ZipFile(path)
names = z.namelist()
check(len(names) == len(set(names)), f"duplicate entries: {names}")
for n in names:
    check(n.startswith(info + "/") or n == script, f"unexpected file {n} (only {script} and {info}/)")
for need in (script, f"{info}/RECORD", f"{info}/WHEEL", f"{info}/METADATA"):
    check(need in names, f"missing {need}")
if errors:
    sys.exit("\n".join(errors))

# RECORD: every file but itself with its sha256 and size, nothing else
rows = list(csv.reader(io.StringIO(z.read(f"{info}/RECORD").decode())))
recorded = {r[0]: r for r in rows if r}
check(set(recorded) == set(names), f"RECORD lists {sorted(recorded)}, the wheel holds {sorted(names)}")
for n, r in recorded.items():
    if n == f"{info}/RECORD":
        check(r[1:] == ["", ""], f"RECORD's own row has a hash: {r}")
        continue
    body = z.read(n)
    digest = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
    check(r[1] == digest, f"RECORD hash of {n}: {r[1]}, the file's: {digest}")
    check(r[2] == str(len(body)), f"RECORD size of {n}: {r[2]}, the file's: {len(body)}")

# WHEEL: a platform wheel (not purelib), one Tag line per tag of the name
wheel = Parser().parsestr(z.read(f"{info}/WHEEL").decode())
check(wheel["Wheel-Version"] == "1.0", f"Wheel-Version {wheel['Wheel-Version']}")
check(wheel["Root-Is-Purelib"] == "false", f"Root-Is-Purelib: {wheel['Root-Is-Purelib']} (want false)")
tags = sorted(wheel.get_all("Tag") or [])
want = sorted(f"py3-none-{p}" for p in platform.split("."))
check(tags == want, f"Tag lines {tags}, want {want}")

# METADATA: name, version, the README as long description
meta = Parser().parsestr(z.read(f"{info}/METADATA").decode())
check(meta["Name"] == "strobe-profiler", f"Name: {meta['Name']}")
check(meta["Version"] == version, f"Version: {meta['Version']} (src/cli.c says {version})")
check(meta["Description-Content-Type"] == "text/markdown", f"Description-Content-Type: {meta['Description-Content-Type']}")
check(meta.get_payload().strip() == open(readme).read().strip(), "the long description is not README.md")

# the script: a regular file, executable, an ELF binary, written out as is
zi = z.getinfo(script)
mode = zi.external_attr >> 16
check(stat.S_ISREG(mode), f"{script}: zip mode {oct(mode)} is not a regular file")
check(mode & 0o111 == 0o111, f"{script}: zip mode {oct(mode)} is not executable")
body = z.read(script)
check(body[:4] == b"\x7fELF", f"{script} is not an ELF file")
open(out, "wb").write(body)
if errors:
    sys.exit("\n".join(errors))
print(f"wheel.sh: ok: {len(names)} files, RECORD hashes and sizes, WHEEL (Root-Is-Purelib: false; {', '.join(tags)}), METADATA {meta['Name']} {meta['Version']}, {script} mode {oct(mode & 0o7777)}")
PY

static_elf() {	# static_elf FILE: no program interpreter, no shared library
	! readelf -lW "$1" | grep -q '^ *INTERP ' && ! readelf -dW "$1" | grep -q '(NEEDED)'
}
static_elf "$tmp/strobe" || fail "the wheel's strobe is not static: $(readelf -lW "$tmp/strobe" | grep -A1 INTERP | tr -s ' \n' ' ')"
if [[ -n $built ]]; then
	cmp -s "$tmp/strobe" build/strobe-static || fail "the wheel's strobe is not build/strobe-static byte for byte"
	ok "the wheel's strobe is build/strobe-static, static (no INTERP, no NEEDED)"
else
	ok "the wheel's strobe is static (no INTERP, no NEEDED)"
fi

# ------------------------------------------------------------ install in a fresh venv
venv=$tmp/venv
"$venv_python" -m venv "$venv" || fail "$venv_python -m venv failed (Debian: python3-venv)"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input --no-cache-dir)
"${pip[@]}" install --no-index "$wheel" >"$tmp/pip-install.log" 2>&1 ||
	{ cat "$tmp/pip-install.log" >&2; fail "pip install --no-index $wheel"; }
[[ -f $venv/bin/strobe ]] || fail "pip install did not put strobe in $venv/bin"
[[ -x $venv/bin/strobe ]] || fail "$venv/bin/strobe is not executable ($(stat -c %A "$venv/bin/strobe"))"
cmp -s "$venv/bin/strobe" "$tmp/strobe" || fail "$venv/bin/strobe differs from the wheel's binary (rewritten?)"
static_elf "$venv/bin/strobe" || fail "$venv/bin/strobe is not static"
ok "pip install --no-index: $venv/bin/strobe, the wheel's static binary, executable"

found=$(PATH=$venv/bin:$PATH command -v strobe) || fail "strobe is not on the venv's PATH"
[[ $found == "$venv/bin/strobe" ]] || fail "strobe on the venv's PATH is $found, not $venv/bin/strobe"
out=$(PATH=$venv/bin:$PATH strobe --version) || fail "strobe --version failed: $out"
grep -q "^strobe $version\$" <<<"$out" || fail "strobe --version does not say $version: $out"
grep -q 'statically linked' <<<"$out" || fail "strobe --version does not say statically linked: $out"
ok "PATH=$venv/bin:\$PATH: strobe --version says strobe $version, statically linked"

# profile the venv's own Python once
cat >"$tmp/spin.py" <<'PY'
import time

def wheel_spin():
    end = time.monotonic() + 3
    while time.monotonic() < end:
        pass

wheel_spin()
PY
collapsed=$tmp/spin.collapsed
PATH=$venv/bin:$PATH strobe run -d 1 --collapsed -o "$collapsed" -- "$venv/bin/python" "$tmp/spin.py" \
	>"$tmp/run.log" 2>&1 || { cat "$tmp/run.log" >&2; fail "strobe run on $venv/bin/python failed"; }
grep -q 'wheel_spin' "$collapsed" || { head -5 "$collapsed" >&2; fail "no wheel_spin in the collapsed stacks of $venv/bin/python"; }
ok "strobe run -d 1 --collapsed -- $venv/bin/python: $(grep -c wheel_spin "$collapsed") stack(s) with wheel_spin"

"${pip[@]}" uninstall -y strobe-profiler >"$tmp/pip-uninstall.log" 2>&1 ||
	{ cat "$tmp/pip-uninstall.log" >&2; fail "pip uninstall -y strobe-profiler"; }
[[ ! -e $venv/bin/strobe ]] || fail "pip uninstall left $venv/bin/strobe"
ok "pip uninstall -y strobe-profiler removed $venv/bin/strobe"
ok "all checks passed in $((SECONDS - started)) s"
