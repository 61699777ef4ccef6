#!/bin/bash
# tests/provision.sh - provide the interpreters and tools strobe's tests need.
#
# Idempotent; safe to run before every `make test`.
#   1. host packages the suite uses (apt, when missing and running as root):
#      python3 (runs tests/functional/run.py), util-linux (setpriv, flock),
#      libncurses-dev and tmux (the live view and its tests),
#      debootstrap, and Debian's python3.11 and its debug build python3.11-dbg
#      (/usr/bin/python3.11d) when apt has them; for the --native-stacks tests
#      (tests/functional/cases_native_stacks.py): gcc, the headers of
#      python3.11 and python3.11d (libpython3.11-dev, libpython3.11-dbg: the
#      tests compile a small C extension against each interpreter's own
#      headers) and python3-numpy for /usr/bin/python3 (BLAS frames);
#      clang, bpftool and libbpf-dev to build --engine bpf (src/bpf/);
#      man-db, groff-base, zsh and fish for the installed man page and shell
#      completions (tests/functional/cases_install.py); libbz2-dev for make
#      static; dpkg-dev and lintian for make deb (tests/packaging/deb.sh);
#      python3-build, python3-setuptools, python3-wheel and python3-venv for
#      make wheel and its venv (tests/packaging/wheel.sh).
#   2. a Debian sid root with python3.13, python3.14 (+ python3.14-nopie, which
#      diverts the PIE build to python3.14-pie) and python3.15, built once with
#        debootstrap --variant=minbase --include=python3.13,python3.14,python3.15,python3.14-nopie sid DIR
#      into a temporary directory beside the cache and renamed into place on
#      success; reused afterwards.  Cache: $STROBE_SID_ROOT (default
#      /var/cache/strobe/sid), outside the checkout.  The CPython headers
#      (libpython3.X-dev, used by tools/gen_layouts.sh and by the
#      --native-stacks tests' C extension) and the debug builds
#      python3.13-dbg, python3.14-dbg and python3.15-dbg (python3.Xd, which the
#      functional tests run a subset of cases on) are added inside it.
#      sid's Release file is past its Valid-Until date, so apt inside the root
#      runs with -o Acquire::Check-Valid-Until=false (also written to the
#      root's apt.conf.d for later use).
#   3. pyenv builds (3.8-3.13, shared libpython) cannot be downloaded here:
#      they are only reported.
# Nothing is mounted.  Ends by listing the interpreters the tests will use.
#
# Environment: STROBE_SID_ROOT, STROBE_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), PYENV_ROOT, CI (=true: exit 1 when something
# required could not be provided).
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
sid_root=${STROBE_SID_ROOT:-/var/cache/strobe/sid}
mirror=${STROBE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
sid_pythons=(python3.13 python3.14 python3.15)
sid_include=python3.13,python3.14,python3.15,python3.14-nopie
sid_extras=(libpython3.13-dev libpython3.14-dev libpython3.15-dev)
sid_debug=(python3.13-dbg python3.14-dbg python3.15-dbg)
apt_nvu=(-o Acquire::Check-Valid-Until=false)

problems=()
say() { printf 'provision: %s\n' "$*"; }
warn() { printf 'provision: WARNING: %s\n' "$*" >&2; problems+=("$*"); }
is_root() { [[ $(id -u) == 0 ]]; }

# ---------------------------------------------------------------- host packages
apt_updated=
apt_install() {	# apt_install PKG...: install with apt, as root; 0 on success
	is_root || { warn "not root: cannot apt-get install $*"; return 1; }
	command -v apt-get >/dev/null || { warn "no apt-get: cannot install $*"; return 1; }
	if [[ -z $apt_updated ]]; then
		say "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || warn "apt-get update failed"
		apt_updated=1
	fi
	say "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need_pkgs=()
[[ -x /usr/bin/python3 ]] || need_pkgs+=(python3)
command -v setpriv >/dev/null || need_pkgs+=(util-linux)
command -v flock >/dev/null || need_pkgs+=(util-linux)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
# the binary format: libzstd for building, clang's libFuzzer for the reader's fuzz run
[[ -e /usr/include/zstd.h ]] || need_pkgs+=(libzstd-dev)
command -v clang >/dev/null || need_pkgs+=(clang)
compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null ||
	need_pkgs+=(libclang-rt-dev)
command -v /usr/bin/time >/dev/null || need_pkgs+=(time)
# --live: ncurses to build, tmux for the tests that drive the view in a terminal
[[ -e /usr/include/curses.h ]] || need_pkgs+=(libncurses-dev)
command -v tmux >/dev/null || need_pkgs+=(tmux)
# dump_pid_reuse holds strobe still under gdb; the containers tests use
# unshare and nsenter (util-linux)
command -v gdb >/dev/null || need_pkgs+=(gdb)
command -v nsenter >/dev/null || need_pkgs+=(util-linux)
# failed samples on a real program nobody here wrote: Debian's Mercurial
command -v hg >/dev/null || need_pkgs+=(mercurial)
# --native-stacks: the tests build a C extension (gcc); strobe itself links
# elfutils' libdw (unwinding, symbols) and libiberty (demangling)
command -v gcc >/dev/null || need_pkgs+=(gcc)
[[ -e /usr/include/elfutils/libdwfl.h ]] || need_pkgs+=(libdw-dev)
[[ -e /usr/include/libiberty/demangle.h ]] || need_pkgs+=(libiberty-dev)
# --engine bpf: the BPF program is built with clang's BPF target, its
# skeleton with bpftool, and strobe links libbpf (src/bpf/)
command -v clang >/dev/null || need_pkgs+=(clang)
command -v bpftool >/dev/null || need_pkgs+=(bpftool)
[[ -e /usr/include/bpf/libbpf.h ]] || need_pkgs+=(libbpf-dev)
# make install's man page and completions (tests/functional/cases_install.py):
# man and groff render the page, zsh and fish run their completions
command -v man >/dev/null || need_pkgs+=(man-db)
command -v groff >/dev/null || need_pkgs+=(groff-base)
command -v zsh >/dev/null || need_pkgs+=(zsh)
command -v fish >/dev/null || need_pkgs+=(fish)
# make static links Debian's static archives; libdw's needs libbz2's too
compgen -G '/usr/lib/*/libbz2.a' >/dev/null || need_pkgs+=(libbz2-dev)
# make deb and its test (tests/packaging/deb.sh): dpkg-shlibdeps computes
# the Depends, lintian checks the package
command -v dpkg-shlibdeps >/dev/null || need_pkgs+=(dpkg-dev)
command -v lintian >/dev/null || need_pkgs+=(lintian)
# make wheel builds with Debian's PEP 517 builder and setuptools; its test
# installs the wheel in a venv of /usr/bin/python3 (ensurepip: python3-venv)
# (-I: not from the checkout's directory, where strobe's own build/ would
# pass for the module)
/usr/bin/python3 -I -c 'import build, setuptools, wheel' >/dev/null 2>&1 ||
	need_pkgs+=(python3-build python3-setuptools python3-wheel)
/usr/bin/python3 -I -c 'import ensurepip, venv' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
if ((${#need_pkgs[@]})); then
	readarray -t need_pkgs < <(printf '%s\n' "${need_pkgs[@]}" | sort -u)
	apt_install "${need_pkgs[@]}" || warn "could not install ${need_pkgs[*]}"
fi
if [[ ! -x /usr/bin/python3.11 ]]; then
	if command -v apt-cache >/dev/null && apt-cache show python3.11 >/dev/null 2>&1; then
		apt_install python3.11 || warn "could not install Debian's python3.11"
	else
		warn "Debian's python3.11 is not available from apt here"
	fi
fi
# its debug build (Py_DEBUG), beside it: tests/functional/interpreters.py
# expects one whenever Debian's python3.11 is there
if [[ -x /usr/bin/python3.11 && ! -x /usr/bin/python3.11d ]]; then
	if command -v apt-cache >/dev/null && apt-cache show python3.11-dbg >/dev/null 2>&1; then
		apt_install python3.11-dbg || warn "could not install Debian's python3.11-dbg"
	else
		warn "Debian's python3.11-dbg is not available from apt here"
	fi
fi
# the headers each Debian interpreter's C extension is built with
# (cases_native_stacks.py): python3.11's in libpython3.11-dev, python3.11d's
# (the debug ABI) in libpython3.11-dbg
for v in 3.11 3.11d; do
	[[ -x /usr/bin/python$v && ! -e /usr/include/python$v/Python.h ]] || continue
	pkg=libpython3.11-dev
	[[ $v == *d ]] && pkg=libpython3.11-dbg
	if command -v apt-cache >/dev/null && apt-cache show "$pkg" >/dev/null 2>&1; then
		apt_install "$pkg" || warn "could not install $pkg (headers of /usr/bin/python$v)"
	else
		warn "$pkg (headers of /usr/bin/python$v) is not available from apt here"
	fi
done
# numpy for /usr/bin/python3: BLAS frames under --native-stacks
if [[ -x /usr/bin/python3 ]] && ! /usr/bin/python3 -c 'import numpy' >/dev/null 2>&1; then
	apt_install python3-numpy || warn "could not install python3-numpy"
fi
for tool in /usr/bin/python3 setpriv debootstrap chroot gcc; do
	command -v "$tool" >/dev/null && say "have $(command -v "$tool")" || warn "missing $tool"
done

# ---------------------------------------------------------------- data-format consumers
# zlib (--pprof is gzipped); the tools that read strobe's data formats in
# tests/functional/cases_dataformats.py: `go tool pprof` (golang-go) for
# --pprof; ajv for --jsonl and --speedscope (the schema ships in the
# speedscope package), speedscope's own page in Debian's Chromium driven by
# playwright-core.  npm packages go to a cache outside the checkout,
# $STROBE_NODE_DIR (default /var/cache/strobe/node); versions are pinned.
node_dir=${STROBE_NODE_DIR:-/var/cache/strobe/node}
node_pkgs=(ajv@8.20.0 speedscope@1.25.0 playwright-core@1.65.1)
tool_pkgs=()
[[ -e /usr/include/zlib.h ]] || tool_pkgs+=(zlib1g-dev)
command -v go >/dev/null || tool_pkgs+=(golang-go)
command -v chromium >/dev/null || tool_pkgs+=(chromium)
command -v node >/dev/null || tool_pkgs+=(nodejs)
command -v npm >/dev/null || tool_pkgs+=(npm)
if ((${#tool_pkgs[@]})); then
	apt_install "${tool_pkgs[@]}" || warn "could not install ${tool_pkgs[*]}"
fi
node_ok() {	# every pinned package is in the cache
	local p
	for p in "${node_pkgs[@]}"; do
		grep -qs "\"version\": *\"${p##*@}\"" "$node_dir/node_modules/${p%@*}/package.json" || return 1
	done
}
if node_ok; then
	say "npm packages in $node_dir: ${node_pkgs[*]}"
elif command -v npm >/dev/null && mkdir -p "$node_dir"; then
	[[ -e $node_dir/package.json ]] || echo '{"name":"strobe-test-tools","private":true}' >"$node_dir/package.json"
	say "npm install ${node_pkgs[*]} in $node_dir"
	(cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error "${node_pkgs[@]}" >/dev/null) ||
		warn "npm install ${node_pkgs[*]} failed in $node_dir"
else
	warn "no npm: cannot install ${node_pkgs[*]} in $node_dir"
fi
# the consumers' tests fail (never skip) without these: say so here too
for tool in go chromium node; do
	command -v "$tool" >/dev/null && say "have $(command -v "$tool")" || warn "missing $tool (data-format consumer)"
done
node_ok || warn "npm packages ${node_pkgs[*]} are not all in $node_dir"

# ---------------------------------------------------------------- sid root
sid_ok() {	# sid_ok DIR: the root has every interpreter we need
	local d=$1 p
	for p in "${sid_pythons[@]}"; do [[ -x $d/usr/bin/$p ]] || return 1; done
	[[ -e $d/var/lib/dpkg/info/python3.14-nopie.list ]] || return 1
}

mounted_under() {	# mounted_under DIR: is anything mounted at or below DIR?
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}

remove_tree() {	# remove_tree DIR: rm -rf, but never through a mount point
	local d=$1
	[[ -n $d && -e $d ]] || return 0
	if mounted_under "$d"; then
		warn "something is mounted under $d; not removing it"
		return 1
	fi
	rm -rf --one-file-system -- "$d"
}

sid_extras_install() {	# sid_extras_install DIR: headers for tools/gen_layouts.sh and the C extension of the --native-stacks tests; libdw for strobe run inside the root
	local d=$1 missing=() p v
	mkdir -p "$d/etc/apt/apt.conf.d"
	echo 'Acquire::Check-Valid-Until "false";' >"$d/etc/apt/apt.conf.d/99strobe-no-valid-until"
	for p in "${sid_extras[@]}"; do
		v=${p#libpython}; v=${v%-dev}
		[[ -d $d/usr/include/python$v/internal ]] || missing+=("$p")
	done
	# strobe's own shared libraries, for the tests that run strobe inside
	# the root (replay there as Tachyon's files are read there): libdw
	# (--native-stacks) and libbpf (--engine bpf) are not in a minbase root
	compgen -G "$d/usr/lib/*/libdw.so.1" >/dev/null || missing+=(libdw1)
	compgen -G "$d/usr/lib/*/libbpf.so.1" >/dev/null || missing+=(libbpf1)
	((${#missing[@]})) || return 0
	local log
	log=$(dirname "$sid_root")/sid-apt.log
	say "installing ${missing[*]} in $d (log: $log)"
	{ chroot "$d" apt-get "${apt_nvu[@]}" -o APT::Sandbox::User=root update &&
		DEBIAN_FRONTEND=noninteractive chroot "$d" apt-get "${apt_nvu[@]}" \
			-o APT::Sandbox::User=root install -y --reinstall --no-install-recommends "${missing[@]}"
	} >"$log" 2>&1 ||
		warn "could not install ${missing[*]} in $d (tools/gen_layouts.sh and the --native-stacks tests need them; see $log)"
}

sid_debug_install() {	# sid_debug_install DIR: the debug builds the tests run
	local d=$1 missing=() p log
	for p in "${sid_debug[@]}"; do
		[[ -x $d/usr/bin/${p%-dbg}d ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log=$(dirname "$sid_root")/sid-apt-dbg.log
	say "installing ${missing[*]} in $d (log: $log)"
	{ chroot "$d" apt-get "${apt_nvu[@]}" -o APT::Sandbox::User=root update &&
		DEBIAN_FRONTEND=noninteractive chroot "$d" apt-get "${apt_nvu[@]}" \
			-o APT::Sandbox::User=root install -y --no-install-recommends "${missing[@]}"
	} >"$log" 2>&1 || warn "could not install ${missing[*]} in $d (see $log)"
}

build_sid() {
	local parent tmp log
	parent=$(dirname "$sid_root")
	mkdir -p "$parent" || { warn "cannot create $parent"; return 1; }
	tmp=$(mktemp -d "$sid_root.tmp.XXXXXX") || { warn "cannot create a temp dir in $parent"; return 1; }
	log=$parent/debootstrap.log
	say "building the sid root in $tmp (log: $log); this takes a minute"
	if ! debootstrap --variant=minbase --include="$sid_include" sid "$tmp" "$mirror" >"$log" 2>&1; then
		warn "debootstrap failed (see $log)"
		remove_tree "$tmp"
		return 1
	fi
	if ! sid_ok "$tmp"; then
		warn "debootstrap finished but $tmp lacks some of ${sid_pythons[*]} python3.14-nopie"
		remove_tree "$tmp"
		return 1
	fi
	sid_extras_install "$tmp"
	sid_debug_install "$tmp"
	if [[ -e $sid_root ]]; then	# an old, incomplete root: swap it out
		local old=$sid_root.old.$$
		mv -- "$sid_root" "$old" && remove_tree "$old"
	fi
	mv -- "$tmp" "$sid_root" || { warn "cannot rename $tmp to $sid_root"; remove_tree "$tmp"; return 1; }
	chmod 755 "$sid_root"
	say "sid root ready: $sid_root"
}

provision_sid() {
	if sid_ok "$sid_root"; then
		say "reusing the sid root $sid_root"
		is_root && sid_extras_install "$sid_root"
		is_root && sid_debug_install "$sid_root"
		# a root filesystem is searchable by everyone (mktemp -d made it
		# 0700): targets running as nobody inside it, and replays read
		# with nobody's credentials, must see its files
		is_root && chmod 755 "$sid_root"
		return 0
	fi
	is_root || { warn "not root: cannot build the sid root $sid_root (3.13-3.15 from Debian)"; return 1; }
	command -v debootstrap >/dev/null || { warn "no debootstrap: cannot build $sid_root"; return 1; }
	build_sid
}

if command -v flock >/dev/null && mkdir -p "$(dirname "$sid_root")" 2>/dev/null; then
	# One provisioner at a time per cache.
	exec 9>"$sid_root.lock" && flock -w 900 9 || warn "could not lock $sid_root.lock"
fi
provision_sid

# ---------------------------------------------------------------- pyenv
for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
	found=$(compgen -G "$pyenv_root/versions/$v.*/bin/python" | head -n1)
	if [[ -n $found ]]; then
		say "pyenv $v: $found"
	else
		say "pyenv $v: not installed (needs 'pyenv install' with PYTHON_CONFIGURE_OPTS=--enable-shared; source downloads are not reachable here)"
	fi
done

# ---------------------------------------------------------------- report
say "interpreters the functional tests will use:"
if [[ -x /usr/bin/python3 ]]; then
	/usr/bin/python3 "$here/functional/interpreters.py" || warn "interpreter discovery failed"
else
	warn "no /usr/bin/python3: the functional tests cannot run"
fi
if ((${#problems[@]})); then
	say "${#problems[@]} problem(s):"
	printf '  - %s\n' "${problems[@]}"
	[[ -x /usr/bin/python3 ]] || exit 1
	[[ ${CI:-} == true ]] && exit 1
fi
exit 0
