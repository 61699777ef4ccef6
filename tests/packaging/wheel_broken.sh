#!/bin/bash
# tests/packaging/wheel_broken.sh - tests/packaging/wheel.sh must fail on a
# broken wheel.  Makes broken copies of build/dist's wheel (same file name,
# RECORD rewritten to match unless the breakage is RECORD itself) and checks
# that wheel.sh rejects each with the expected message; also that make
# wheel's builder refuses a dynamically linked binary.  A few seconds: every
# breakage is caught before the venv is made.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
fail() { printf 'wheel_broken.sh: FAIL: %s\n' "$*" >&2; exit 1; }
make -j1 --no-print-directory wheel build/strobe >/dev/null
good=$(ls build/dist/strobe_profiler-*.whl)
tmp=$(mktemp -d -t strobe-wheel-broken.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

# make_copy NAME KIND: $tmp/NAME/<wheel>, a copy of the good wheel broken as KIND
make_copy() {
	local dir=$tmp/$1 kind=$2
	mkdir -p "$dir"
	/usr/bin/python3 - "$good" "$dir" "$kind" build/strobe <<'PY'
import base64, hashlib, os, sys, zipfile
good, outdir, kind, dynamic = sys.argv[1:]
src = zipfile.ZipFile(good)
name = os.path.basename(good)
if kind == "anytag":
    name = name.split("-py3-none-")[0] + "-py3-none-any.whl"
entries = []
for zi in src.infolist():
    body = src.read(zi)
    mode = zi.external_attr >> 16
    n = zi.filename
    if n.endswith("/WHEEL") and kind == "purelib":
        body = body.replace(b"Root-Is-Purelib: false", b"Root-Is-Purelib: true")
    if n.endswith("/WHEEL") and kind == "tagline":
        body = body.replace(b"Tag: py3-none-musllinux", b"Tag: cp311-cp311-musllinux")
    if n.endswith("/scripts/strobe"):
        if kind == "noexec":
            mode &= ~0o111
        if kind == "dynamic":
            body = open(dynamic, "rb").read()
        if kind == "missing":
            continue
        if kind == "inpurelib":
            n = n.replace("/scripts/", "/purelib/")
        if kind == "badhash":
            body = body[:-1] + bytes([body[-1] ^ 1])
    if n.endswith("/METADATA") and kind == "version":
        body = body.replace(b"\nVersion: ", b"\nVersion: 9", 1)
    entries.append([n, body, mode])
record = next(e for e in entries if e[0].endswith("/RECORD"))
if kind != "badhash":
    rows = []
    for n, body, _ in entries:
        if n == record[0]:
            rows.append(f"{n},,")
        else:
            h = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
            rows.append(f"{n},sha256={h},{len(body)}")
    record[1] = ("\n".join(rows) + "\n").encode()
with zipfile.ZipFile(os.path.join(outdir, name), "w", zipfile.ZIP_DEFLATED) as out:
    for n, body, mode in entries:
        zi = zipfile.ZipInfo(n, (2020, 1, 1, 0, 0, 0))
        zi.external_attr = mode << 16
        zi.compress_type = zipfile.ZIP_DEFLATED
        out.writestr(zi, body)
PY
}

# break_wheel NAME KIND EXPECT: wheel.sh must reject the copy broken as KIND
# with a message matching EXPECT
break_wheel() {
	local name=$1 kind=$2 expect=$3 dir=$tmp/$1 rc=0
	make_copy "$name" "$kind"
	tests/packaging/wheel.sh "$dir"/*.whl >"$dir/log" 2>&1 || rc=$?
	((rc != 0)) || { cat "$dir/log" >&2; fail "$name: wheel.sh passed a broken wheel ($kind)"; }
	grep -q -- "$expect" "$dir/log" || { cat "$dir/log" >&2; fail "$name: wheel.sh failed, but not with '$expect'"; }
	printf 'wheel_broken.sh: ok: %-10s rejected: %s\n' "$name" "$(grep -m1 -- "$expect" "$dir/log" | cut -c1-110)"
}

# the copying itself breaks nothing: an unbroken copy passes
make_copy control none
tests/packaging/wheel.sh "$tmp"/control/*.whl >/dev/null || fail "control: an unbroken rewritten copy fails wheel.sh"
echo "wheel_broken.sh: ok: control   an unbroken rewritten copy passes"
break_wheel anytag   anytag   'want strobe_profiler-.*-py3-none-manylinux'
break_wheel purelib  purelib  'Root-Is-Purelib: true (want false)'
break_wheel inpurelib inpurelib 'unexpected file strobe_profiler-.*/purelib/strobe'
break_wheel tagline  tagline  'Tag lines'
break_wheel noexec   noexec   'is not executable'
break_wheel dynamic  dynamic  'is not static'
break_wheel missing  missing  'missing strobe_profiler-.*/scripts/strobe'
break_wheel badhash  badhash  'RECORD hash of'
break_wheel version  version  'Version: 9'
out=$(packaging/wheel/build.sh build/strobe "$tmp/build" 2>&1) && fail "make wheel's builder accepted build/strobe (dynamic)"
grep -q 'dynamically linked' <<<"$out" || fail "builder refused build/strobe, but not as dynamic: $out"
echo "wheel_broken.sh: ok: packaging/wheel/build.sh refuses build/strobe: $out"
