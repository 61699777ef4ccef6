#!/bin/sh
# make bench: every comparison against Tachyon, in one go.
set -e
cd "$(dirname "$0")/.."
tests/provision.sh >/dev/null
exec python3 bench/bench.py "$@"
