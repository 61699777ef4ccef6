#!/bin/bash
# gen_layouts.sh - write src/py/layouts/py3_X.h from each CPython's own headers.
#
#   tools/gen_layouts.sh [-o OUTDIR] [-I 3.X=INCLUDEDIR]... [3.X ...]
#
# With no versions, generates every version 3.8+ it finds headers for; with
# versions, generates exactly those and fails if any has no headers.  For
# each version it compiles tools/layout_probe.c against that version's
# headers (-DPy_BUILD_CORE, internal/ on the path) and runs it; the probe
# prints the whole header.  Same headers + same compiler = same bytes.
#
# Where headers are looked for, first match wins:
#   -I 3.X=DIR                       DIR is an include/python3.X directory
#   $PYENV_ROOT/versions/3.X.Y/include/python3.X   (highest Y; default ~/.pyenv)
#   $STROBE_SID_ROOT/usr/include/python3.X         (default /var/cache/strobe/sid;
#        Debian keeps pyconfig.h in usr/include/<multiarch>/python3.X)
# Only plain release trees qualify (the probe rejects free-threaded/debug ones).
#
# Some build options change struct sizes without being recorded in pyconfig.h:
# they live in the interpreter's own PY_CORE_CFLAGS.  When the tree has a
# <prefix>/lib/python3.X/_sysconfigdata_*.py, its -D_Py_TIER2=N / -D_Py_JIT
# flags (e.g. Debian's --enable-experimental-jit=yes-off, which grows 3.15's
# PyInterpreterState by 8 bytes) are passed to the probe too, and named in
# the generated header.
# No network is used.  Environment: CC (default cc).
set -euo pipefail
trap 'echo "gen_layouts: failed at line $LINENO" >&2' ERR

root=$(cd "$(dirname "$0")/.." && pwd)
probe_src=$root/tools/layout_probe.c
outdir=$root/src/py/layouts
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
sid_root=${STROBE_SID_ROOT:-/var/cache/strobe/sid}
cc=${CC:-cc}
declare -A override=()

die() { echo "gen_layouts: $*" >&2; exit 1; }

while getopts "o:I:h" opt; do
	case $opt in
	o) outdir=$OPTARG ;;
	I) [[ $OPTARG =~ ^3\.([0-9]+)=(.+)$ ]] || die "-I wants 3.X=DIR, got '$OPTARG'"
	   override[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]} ;;
	h) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

# The include/python3.X directory for minor $1, or nothing.
find_headers() {
	local minor=$1 dir best=
	if [[ -n ${override[$minor]:-} ]]; then
		echo "${override[$minor]}"
		return
	fi
	# Highest 3.X.Y release under pyenv (not 3.X.Yt, 3.X-dev, ...).
	for dir in "$pyenv_root"/versions/3."$minor".*/include/python3."$minor"; do
		[[ $dir =~ /versions/3\.$minor\.[0-9]+/include/ && -d $dir/internal ]] || continue
		if [[ -z $best ]] || [[ $(printf '%s\n' "$best" "$dir" | sort -V | tail -n 1) == "$dir" ]]; then
			best=$dir
		fi
	done
	if [[ -n $best ]]; then
		echo "$best"
	elif [[ -d $sid_root/usr/include/python3.$minor/internal ]]; then
		echo "$sid_root/usr/include/python3.$minor"
	fi
}

# -D flags of the build that change layouts but are not in pyconfig.h, read
# from the _sysconfigdata next to include dir $1 (nothing if there is none).
build_defines() {
	local inc=$1 minor=$2 prefix data
	prefix=$(dirname "$(dirname "$inc")")
	for data in "$prefix"/lib/python3."$minor"/_sysconfigdata_*.py; do
		[[ -f $data ]] || continue
		grep -E "^[[:space:]]*'PY_CORE_CFLAGS':" "$data" |
			grep -oE -- "-D(_Py_TIER2|_Py_JIT)(=[0-9A-Za-z_]+)?" | sort -u | tr '\n' ' ' |
			sed 's/ $//' || true
		return 0
	done
}

# Every minor >= 8 that some location has headers for, ascending.
all_minors() {
	local dir
	{
		for m in "${!override[@]}"; do echo "$m"; done
		for dir in "$pyenv_root"/versions/3.*.*/include/python3.*/internal; do
			[[ $dir =~ /versions/3\.([0-9]+)\.[0-9]+/include/python3\.([0-9]+)/internal$ &&
				${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] && echo "${BASH_REMATCH[1]}"
		done
		for dir in "$sid_root"/usr/include/python3.*/internal; do
			[[ $dir =~ /python3\.([0-9]+)/internal$ ]] && echo "${BASH_REMATCH[1]}"
		done
	} | awk '$1 >= 8' | sort -n -u
}

minors=()
if (($# == 0)); then
	mapfile -t minors < <(all_minors)
	((${#minors[@]})) || die "no CPython headers found (looked in $pyenv_root/versions and $sid_root/usr/include)"
else
	for v in "$@"; do
		[[ $v =~ ^3\.([0-9]+)$ ]] || die "versions look like 3.X, got '$v'"
		((BASH_REMATCH[1] >= 8)) || die "Python $v is older than 3.8, which strobe does not support"
		minors+=("${BASH_REMATCH[1]}")
	done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
multiarch=$("$cc" -print-multiarch 2>/dev/null || true)
mkdir -p "$outdir"

for minor in "${minors[@]}"; do
	inc=$(find_headers "$minor")
	[[ -n $inc ]] || die "no headers for Python 3.$minor (looked in $pyenv_root/versions/3.$minor.*/include and $sid_root/usr/include/python3.$minor)"
	[[ -f $inc/Python.h && -d $inc/internal ]] ||
		die "$inc is not a CPython 3.$minor include directory with internal/ headers"

	flags=(-std=gnu11 -O0 -Wall -Wextra -Werror -DPy_BUILD_CORE -DPROBE_MINOR="$minor"
		-isystem "$inc" -isystem "$inc/internal")
	# Debian: python3.X/pyconfig.h only does #include <MULTIARCH/python3.X/pyconfig.h>.
	# Expose just that directory (not the whole foreign usr/include, whose libc
	# headers must not shadow the host's).
	arch_cfg=$(dirname "$inc")/$multiarch/python3.$minor
	if [[ -n $multiarch && -f $arch_cfg/pyconfig.h ]]; then
		mkdir -p "$tmp/ma$minor/$multiarch"
		ln -s "$arch_cfg" "$tmp/ma$minor/$multiarch/python3.$minor"
		flags+=(-isystem "$tmp/ma$minor")
	fi

	defines=$(build_defines "$inc" "$minor")
	read -r -a extra <<<"$defines"
	flags+=("${extra[@]}")

	"$cc" "${flags[@]}" -o "$tmp/probe$minor" "$probe_src" ||
		die "probe does not compile against $inc"
	shown=$inc
	[[ $shown == "$HOME"/* ]] && shown="~${shown#"$HOME"}"
	out=$outdir/py3_$minor.h
	"$tmp/probe$minor" "$shown" "$defines" >"$tmp/py3_$minor.h" || die "probe for 3.$minor failed"
	mv "$tmp/py3_$minor.h" "$out"
	echo "generated ${out#"$root"/} from $shown (Python $(sed -n '1s/.*(Python \([^)]*\)).*/\1/p' "$out"))${defines:+ with $defines}"
	if ! grep -q "PY_LAYOUT_3_$minor\b" "$root/src/py/layout.c" 2>/dev/null; then
		echo "  note: src/py/layout.c has no { PY_LAYOUT_3_$minor } table line yet" >&2
	fi
done
