#!/bin/bash
# packaging/wheel/build.sh BINARY BUILD_DIR - make wheel (docs/packaging.md)
#
# Builds BUILD_DIR/dist/strobe_profiler-VERSION-py3-none-PLATFORM.whl around
# BINARY, which must be a static executable for this machine (no program
# interpreter, no shared library needed), with Debian's python3-build and
# setuptools (no network, no isolation).  VERSION is src/cli.c's
# STROBE_VERSION; PLATFORM is derived from `uname -m`.  Everything is built in
# BUILD_DIR/wheel (recreated each time); the source tree is only read.
# Zip timestamps come from SOURCE_DATE_EPOCH (default: the last commit's
# date), so the same binary gives the same wheel.
set -euo pipefail

die() { printf 'make wheel: %s\n' "$*" >&2; exit 1; }
(($# == 2)) || die "usage: $0 BINARY BUILD_DIR"
bin=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
python=${STROBE_WHEEL_PYTHON:-/usr/bin/python3}

version=$(sed -n 's/^#define STROBE_VERSION "\(.*\)"$/\1/p' "$top/src/cli.c")
[[ $version =~ ^[0-9]+(\.[0-9]+)*$ ]] || die "no STROBE_VERSION in src/cli.c (got '$version')"

# The platform tag.  A static binary brings its own libc, so it runs on any
# Linux of its architecture: the oldest manylinux tag pip knows for the
# architecture (glibc hosts) and musllinux_1_1 (musl hosts, e.g. Alpine).
arch=$(uname -m)
case $arch in
x86_64) elf_machine='X86-64' ;;
i686) elf_machine='Intel 80386' ;;
aarch64) elf_machine='AArch64' ;;
*) die "no platform tag known for $arch" ;;
esac
case $arch in
x86_64 | i686) manylinux="manylinux_2_5_$arch.manylinux1_$arch" ;;
*) manylinux="manylinux_2_17_$arch.manylinux2014_$arch" ;;
esac
platform="$manylinux.musllinux_1_1_$arch"

# refuse anything but a static executable for this machine
[[ -f $bin && -x $bin ]] || die "$bin: no executable file"
header=$(readelf -hW "$bin" 2>/dev/null) || die "$bin: not an ELF file"
grep -q "Type: *EXEC\|Type: *DYN" <<<"$header" || die "$bin: not an executable"
grep -q "Machine: .*$elf_machine" <<<"$header" || die "$bin: not built for $arch"
if readelf -lW "$bin" | grep -q '^ *INTERP '; then
	die "$bin is dynamically linked (it has a program interpreter): a wheel carries the static binary (make static)"
fi
if readelf -dW "$bin" | grep -q '(NEEDED)'; then
	die "$bin needs shared libraries: a wheel carries the static binary (make static)"
fi

stage=$out/wheel
dist=$out/dist
name=strobe_profiler-$version-py3-none-$platform.whl
rm -rf "$stage"
mkdir -p "$stage" "$dist"
cp "$here/pyproject.toml" "$here/setup.py" "$top/README.md" "$stage/"
install -m 0755 "$bin" "$stage/strobe"
printf '%s\n' "$version" >"$stage/VERSION"
printf '[bdist_wheel]\nplat_name = %s\n' "$platform" >"$stage/setup.cfg"

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null) || SOURCE_DATE_EPOCH=$(stat -c %Y "$top/src/cli.c")
fi
export SOURCE_DATE_EPOCH

rm -f "$dist"/strobe_profiler-*.whl
"$python" -m build --wheel --no-isolation --outdir "$dist" "$stage" >"$stage/build.log" 2>&1 ||
	{ cat "$stage/build.log" >&2; die "$python -m build failed (log: $stage/build.log)"; }
[[ -f $dist/$name ]] || { ls "$dist" >&2; die "expected $dist/$name"; }
echo "  WHEEL   $dist/$name"
