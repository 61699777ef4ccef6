#!/bin/sh
# make bench: every comparison against Tachyon, in one go.
set -e
cd "$(dirname "$0")/.."
tests/provision.sh >/dev/null
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null
exec python3 bench/bench.py "$@"
