#!/usr/bin/env bash
# check_layers.sh - enforce the include layering of DESIGN.md:
#   0 base/   1 process/ model/ bpf/   2 py/ format/   3 sampler.c cli.c tui/
#   4 profiling/ (what the subcommands share)   5 main.c cmd/ (the subcommands)
# An #include may only point to a lower layer, or within the same module
# directory; modules of one layer never include each other.
set -euo pipefail
cd "$(dirname "$0")/.."

layer_of() {
	case "$1" in
	base/*) echo 0 ;;
	process/* | model/* | bpf/*) echo 1 ;;
	py/* | format/*) echo 2 ;;
	sampler.* | sampler_bpf*.* | cli.* | tui/*) echo 3 ;;
	profiling/*) echo 4 ;;
	main.c | cmd/*) echo 5 ;;
	*) echo "?" ;;
	esac
}
module_of() {
	case "$1" in
	main.c | cmd/*) echo cmd ;; # main.c dispatches through cmd/cmd.h
	sampler_bpf*.*) echo sampler ;; # the bpf engine's loop, beside the reader's
	*/*) echo "${1%%/*}" ;;
	*) echo "${1%%.*}" ;;
	esac
}

bad=0
while IFS= read -r file; do
	rel=${file#src/}
	from=$(layer_of "$rel")
	if [ "$from" = "?" ]; then
		echo "layers: $file is in no layer (see DESIGN.md)"
		bad=1
		continue
	fi
	while IFS= read -r inc; do
		to=$(layer_of "$inc")
		if [ "$to" = "?" ]; then
			echo "layers: $file includes \"$inc\", which is in no layer"
			bad=1
		elif [ "$(module_of "$inc")" = "$(module_of "$rel")" ]; then
			:
		elif [ "$to" -ge "$from" ]; then
			echo "layers: $file (layer $from) includes \"$inc\" (layer $to)"
			bad=1
		fi
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find src -name '*.[ch]' ! -name '*.bpf.c' | sort)

if [ "$bad" -ne 0 ]; then
	exit 1
fi
echo "layers: ok"
