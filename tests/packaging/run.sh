#!/usr/bin/env bash
# The four ways to install strobe, each built and its installed binary run
# once (docs/packaging.md): make install is covered by the functional tests
# (cases_install.py); here the static binary, the Debian package and the
# wheel (and wheel_broken: the wheel test rejects broken wheels).  Every
# check must run: a missing script is a failure.
set -uo pipefail
cd "$(dirname "$0")"
failed=()
for t in static deb wheel wheel_broken; do
	start=$SECONDS
	if [[ -x ./$t.sh ]] && ./$t.sh; then
		printf 'packaging: %-6s passed (%d s)\n' "$t" $((SECONDS - start))
	else
		printf 'packaging: %-6s FAILED (%d s)\n' "$t" $((SECONDS - start))
		failed+=("$t")
	fi
done
((${#failed[@]} == 0)) || { echo "packaging: failed: ${failed[*]}"; exit 1; }
