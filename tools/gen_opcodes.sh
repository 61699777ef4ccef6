#!/bin/bash
# gen_opcodes.sh - write src/py/opcodes/py3_X.h from each CPython's own opcode module.
#
#   tools/gen_opcodes.sh [-o OUTDIR] [3.X ...]     generate
#   tools/gen_opcodes.sh --check [3.X ...]         compare the headers with each
#                                                  interpreter (tools/check_opcodes.py)
#
# With no versions, does every version 3.8+ it finds an interpreter for; with
# versions, exactly those, and fails if one has no interpreter.  Each header
# is printed by tools/gen_opcodes.py running under the interpreter it
# describes, so the names and numbers are that version's own.
#
# Where interpreters are looked for, first match wins:
#   $PYENV_ROOT/versions/3.X.Y/bin/python3.X   (highest release Y; default ~/.pyenv)
#   chroot $STROBE_SID_ROOT python3.X           (default /var/cache/strobe/sid;
#                                                chroot needs root)
# For 3.13 both exist; pyenv's wins (the sid build's tables are the same
# bar the version in the first line, checked for 3.13.0 against 3.13.18).
# The scripts are fed on stdin / -c so the chroot need not see this
# checkout.  Output depends only on the interpreter: same one, same bytes.
# No network is used.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gen=$root/tools/gen_opcodes.py
check=$root/tools/check_opcodes.py
outdir=$root/src/py/opcodes
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
sid_root=${STROBE_SID_ROOT:-/var/cache/strobe/sid}
mode=gen

die() { echo "gen_opcodes: $*" >&2; exit 1; }

while (($#)); do
	case $1 in
	-o) (($# >= 2)) || die "-o wants a directory"; outdir=$2; shift 2 ;;
	--check) mode=check; shift ;;
	-h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option '$1' (try -h)" ;;
	*) break ;;
	esac
done

# The pyenv interpreter for minor $1 (highest 3.X.Y release), or nothing.
pyenv_python() {
	local minor=$1 dir best=
	for dir in "$pyenv_root"/versions/3."$minor".*; do
		[[ $dir =~ /versions/3\.$minor\.[0-9]+$ && -x $dir/bin/python3.$minor ]] || continue
		if [[ -z $best ]] || [[ $(printf '%s\n' "$best" "$dir" | sort -V | tail -n 1) == "$dir" ]]; then
			best=$dir
		fi
	done
	[[ -n $best ]] && echo "$best/bin/python3.$minor"
	return 0
}

# Sets run=(command prefix) and where=(description) for minor $1; false if none.
find_python() {
	local minor=$1 py
	py=$(pyenv_python "$minor")
	if [[ -n $py ]]; then
		run=("$py")
		where=${py/#"$HOME"/\~}
	elif [[ -x $sid_root/usr/bin/python3.$minor ]]; then
		run=(chroot "$sid_root" "python3.$minor")
		where="chroot $sid_root python3.$minor"
	else
		return 1
	fi
}

all_minors() {
	local p
	{
		for p in "$pyenv_root"/versions/3.*.*/bin/python3.*; do
			[[ $p =~ /versions/3\.([0-9]+)\.[0-9]+/bin/python3\.([0-9]+)$ &&
				${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] && echo "${BASH_REMATCH[1]}"
		done
		for p in "$sid_root"/usr/bin/python3.*; do
			[[ $p =~ /python3\.([0-9]+)$ && -x $p ]] && echo "${BASH_REMATCH[1]}"
		done
	} | awk '$1 >= 8' | sort -n -u
}

minors=()
if (($# == 0)); then
	mapfile -t minors < <(all_minors)
	((${#minors[@]})) || die "no CPython 3.8+ found (looked in $pyenv_root/versions and $sid_root/usr/bin)"
else
	for v in "$@"; do
		[[ $v =~ ^3\.([0-9]+)$ ]] || die "versions look like 3.X, got '$v'"
		((BASH_REMATCH[1] >= 8)) || die "Python $v is older than 3.8, which strobe does not support"
		minors+=("${BASH_REMATCH[1]}")
	done
fi

# Fixed hash seed, isolated mode (no site, no PYTHON* variables, no user
# site-packages): nothing outside the interpreter can change the output.
pyflags=(-I -S)
export PYTHONHASHSEED=0
mkdir -p "$outdir"
failed=0

for minor in "${minors[@]}"; do
	find_python "$minor" ||
		die "no Python 3.$minor (looked for $pyenv_root/versions/3.$minor.*/bin/python3.$minor and $sid_root/usr/bin/python3.$minor)"
	out=$outdir/py3_$minor.h
	if [[ $mode == check ]]; then
		[[ -f $out ]] || die "${out#"$root"/} does not exist; generate it first"
		if ! "${run[@]}" "${pyflags[@]}" -c "$(cat "$check")" - <"$out"; then
			echo "gen_opcodes: ${out#"$root"/} does not match $where" >&2
			failed=1
		fi
		continue
	fi
	"${run[@]}" "${pyflags[@]}" - <"$gen" >"$out.tmp" || { rm -f "$out.tmp"; die "$where could not generate ${out#"$root"/}"; }
	mv "$out.tmp" "$out"
	echo "generated ${out#"$root"/} with $where ($(sed -n '5s/^\/\* \([0-9]*\) opcodes.*/\1/p' "$out") opcodes)"
	if ! grep -q "PY_OPNAMES_3_$minor\b" "$root/src/py/opcodes.c" 2>/dev/null; then
		echo "  note: src/py/opcodes.c has no table line for 3.$minor yet" >&2
	fi
done
exit $failed
