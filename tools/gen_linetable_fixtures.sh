#!/bin/sh
# Regenerate tests/fixtures/linetable/py3_X.txt by running
# tools/gen_linetable_fixtures.py inside each CPython.
#
#   tools/gen_linetable_fixtures.sh            all of 3.8 .. 3.15
#   tools/gen_linetable_fixtures.sh 3.11 3.12  just these
#
# 3.8-3.13 come from pyenv ($PYENV_ROOT, default ~/.pyenv; the newest patch
# release installed), 3.14+ from the Debian sid root ($SID_ROOT, default
# /var/cache/strobe/sid) through chroot, which needs root.  The script is fed
# on stdin so the chroot does not need to see this checkout.
set -eu

cd "$(dirname "$0")/.."
PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
SID_ROOT=${SID_ROOT:-/var/cache/strobe/sid}
OUT=tests/fixtures/linetable
GEN=tools/gen_linetable_fixtures.py

[ $# -gt 0 ] || set -- 3.8 3.9 3.10 3.11 3.12 3.13 3.14 3.15
mkdir -p "$OUT"

for v in "$@"; do
	minor=${v#3.}
	out="$OUT/py3_$minor.txt"
	py=$(ls -d "$PYENV_ROOT"/versions/"$v".* 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$py" ] && [ -x "$py/bin/python$v" ]; then
		run="$py/bin/python$v -"
	elif [ -x "$SID_ROOT/usr/bin/python$v" ]; then
		run="chroot $SID_ROOT python$v -"
	else
		echo "gen_linetable_fixtures: no Python $v found" >&2
		exit 1
	fi
	# Hash seed fixed so nothing set-ordered can make two runs differ.
	PYTHONHASHSEED=0 $run < "$GEN" > "$out.tmp"
	mv "$out.tmp" "$out"
	echo "$out: $(grep -c '^code ' "$out") code objects, $(wc -c < "$out") bytes"
done
