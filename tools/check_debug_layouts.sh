#!/bin/bash
# check_debug_layouts.sh - show that Debian's debug builds (pythonX.Y-dbg:
# Py_DEBUG) can be walked with the release builds' layout tables.
#
#   tools/check_debug_layouts.sh
#
# strobe has no tables of its own for debug builds: they use the release
# build's (src/py/layouts/py3_X.h).  For every X.Y whose release and debug
# headers are both found (the host's /usr/include/python3.Xd, the sid root's
# $STROBE_SID_ROOT/usr/include/python3.Xd, as tests/provision.sh installs
# them), tools/layout_probe.c is compiled against each and the two outputs
# are compared.  They may differ only in
#   is_size                 the interpreter state's size: read from the
#                           target's _Py_DebugOffsets (3.13+), else unused
#   is_asyncio_tasks_head   read from the target's AsyncioDebug section
# Any other difference fails (exit 1) and is printed.  No tree found: exit 0
# with a note.  Environment: CC (default cc), STROBE_SID_ROOT.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sid_root=${STROBE_SID_ROOT:-/var/cache/strobe/sid}
cc=${CC:-cc}
allowed='^PY_(LAYOUT|DEBUG_MAP|ASYNCIO_MAP)_3_[0-9]+\.(is_size|is_asyncio_tasks_head):'
multiarch=$("$cc" -print-multiarch 2>/dev/null || true)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# probe OUT INCLUDEDIR ARCHCONFIGDIR MINOR DEFINES...: the probe's output for
# one header tree.  Debian's pythonX.Yd/Python.h is a link into pythonX.Y/,
# whose pyconfig.h includes <MULTIARCH/pythonX.Y/pyconfig.h>: that name is
# made to point at the configuration wanted (release or debug).
probe() {
	local out=$1 inc=$2 arch=$3 minor=$4 ma
	shift 4
	ma=$tmp/ma-$(basename "$out")
	mkdir -p "$ma/$multiarch"
	ln -s "$arch" "$ma/$multiarch/python3.$minor"
	"$cc" -std=gnu11 -O0 -w -DPy_BUILD_CORE -DPROBE_DEBUG_BUILD -DPROBE_MINOR="$minor" \
		-isystem "$ma" -isystem "$inc" -isystem "$inc/internal" "$@" \
		-o "$tmp/probe" "$root/tools/layout_probe.c"
	# "TABLE.field value", sorted for join(1)
	"$tmp/probe" "" "" | awk '/^#define PY_[A-Z_0-9]+ \{/ { t = $2 }
		/^\t\.[a-z_0-9]+ = / { sub(/^\t\./, ""); sub(/, \\$/, ""); print t "." $1, $3 }' |
		LC_ALL=C sort >"$out"
}

# the build's layout-changing -D flags (as tools/gen_layouts.sh reads them)
build_defines() {
	local data
	for data in "$1"/_sysconfigdata_*.py; do
		[[ -f $data ]] || continue
		grep -E "^[[:space:]]*'PY_CORE_CFLAGS':" "$data" |
			grep -oE -- "-D(_Py_TIER2|_Py_JIT)(=[0-9A-Za-z_]+)?" | sort -u || true
		return 0
	done
}

checked=0 bad=0
for base in "" "$sid_root"; do
	for dinc in "$base"/usr/include/python3.*d; do
		[[ $dinc =~ /python3\.([0-9]+)d$ ]] || continue
		minor=${BASH_REMATCH[1]}
		rinc=$base/usr/include/python3.$minor
		rarch=$base/usr/include/$multiarch/python3.$minor
		darch=$base/usr/include/$multiarch/python3.${minor}d
		[[ -d $rinc/internal && -d $dinc/internal && -f $rarch/pyconfig.h &&
			-f $darch/pyconfig.h ]] || continue
		grep -q '^#define Py_DEBUG 1' "$darch/pyconfig.h" || continue
		mapfile -t defs < <(build_defines "$base/usr/lib/python3.$minor")
		name="3.$minor${base:+ (${base})}"
		probe "$tmp/r$minor${base//\//_}" "$rinc" "$rarch" "$minor" "${defs[@]}"
		probe "$tmp/d$minor${base//\//_}" "$dinc" "$darch" "$minor" "${defs[@]}"
		# every field of either side, with the other side's value (or "-")
		diffs=$(LC_ALL=C join -a1 -a2 -e- -o 0,1.2,2.2 "$tmp/r$minor${base//\//_}" \
			"$tmp/d$minor${base//\//_}" | awk '$2 != $3 { print $1 ": release " $2 ", debug " $3 }')
		other=$(grep -Ev "$allowed" <<<"$diffs" || true)
		checked=$((checked + 1))
		if [[ -n $other ]]; then
			echo "check_debug_layouts: $name: the debug build differs where strobe uses the table:"
			sed 's/^/  /' <<<"$other"
			bad=1
		else
			echo "check_debug_layouts: $name: debug = release${diffs:+ except (read from the target)}"
			[[ -n $diffs ]] && sed 's/^/  /' <<<"$diffs"
		fi
	done
done
((checked)) || echo "check_debug_layouts: no debug headers found (tests/provision.sh installs python3.X-dbg)"
exit $bad
