#!/bin/bash
# tests/packaging/deb.sh - the Debian package installs like users install it.
#
#   1. `make deb` (or the package in $STROBE_DEB); its control fields, its
#      file list and owners; lintian reports no error and no warning.
#   2. A fresh Debian bookworm root: a pristine minbase root (with python3,
#      the program to profile) is debootstrapped once into
#      $STROBE_BOOKWORM_ROOT (default /var/cache/strobe/bookworm-base; built in
#      a temporary directory and renamed into place) and copied for each run,
#      so the cache is never changed.
#   3. In the copy, chrooted in a private mount namespace (unshare -m: its
#      /proc mount goes away with it): `apt-get install ./strobe_*.deb`, which
#      fetches the package's Depends (libdw1, ...) from the mirror; then the
#      installed /usr/bin/strobe prints its version and profiles a python3 -c
#      loop for a second, and the collapsed stacks must hold its function;
#      the completions are where bash, zsh and fish look; man -l renders the
#      installed page without warnings; apt-get remove takes it all away.
# Exits non-zero at the first failed check.  Prints each check and the time
# taken.
#
# Environment: STROBE_DEB (a .deb to check instead of building one),
# STROBE_BOOKWORM_ROOT, STROBE_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), BUILD (default build), MAKE.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
start=$SECONDS
build=${BUILD:-build}
base=${STROBE_BOOKWORM_ROOT:-/var/cache/strobe/bookworm-base}
mirror=${STROBE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkg=strobe

say() { printf 'deb: %s\n' "$*"; }
fail() { printf 'deb: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'deb: ok: %s\n' "$*"; }

[[ $(id -u) == 0 ]] || fail "needs root (debootstrap, chroot)"
for tool in dpkg-deb lintian debootstrap unshare chroot man flock; do
	command -v "$tool" >/dev/null || fail "missing $tool (tests/provision.sh installs it)"
done

version=$(sed -n 's/^#define STROBE_VERSION "\([^"]*\)".*/\1/p' src/cli.c)
arch=$(dpkg --print-architecture)
[[ -n $version ]] || fail "no STROBE_VERSION in src/cli.c"

# ------------------------------------------------------------ the package
if [[ -n ${STROBE_DEB:-} ]]; then
	deb=$(realpath -- "$STROBE_DEB")
	say "checking the given package $deb"
else
	say "make deb"
	"${MAKE:-make}" --no-print-directory -j1 deb
	deb=$top/$build/${pkg}_${version}_${arch}.deb
fi
[[ -s $deb ]] || fail "no package at $deb"

field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == "$pkg" ]] || fail "Package is '$(field Package)'"
[[ $(field Version) == "$version" ]] || fail "Version is '$(field Version)', src/cli.c says $version"
[[ $(field Architecture) == "$arch" ]] || fail "Architecture is '$(field Architecture)', not $arch"
[[ $(field Section) == devel && $(field Priority) == optional ]] || fail "Section/Priority are '$(field Section)'/'$(field Priority)'"
depends=$(field Depends)
for lib in libc6 libdw1 libzstd1 zlib1g libncursesw6 libbpf1; do
	[[ ,$depends, =~ ,\ ?$lib[\ ,] ]] || fail "Depends lacks $lib: $depends"
done
ok "control: $pkg $version $arch, Depends: $depends"

want=(
	./usr/bin/strobe
	./usr/share/man/man1/strobe.1.gz
	./usr/share/bash-completion/completions/strobe
	./usr/share/zsh/site-functions/_strobe
	./usr/share/fish/vendor_completions.d/strobe.fish
	./usr/share/doc/strobe/copyright
	./usr/share/doc/strobe/changelog.gz
)
listing=$(dpkg-deb -c "$deb")
for f in "${want[@]}"; do
	grep -q " ${f//./\\.}\$" <<<"$listing" || fail "the package lacks ${f#.}"
done
if awk '$2 != "root/root"' <<<"$listing" | grep -q .; then
	fail "files not owned by root/root: $(awk '$2 != "root/root"' <<<"$listing" | head -3)"
fi
ok "files: ${#want[@]} expected paths present, all owned by root/root"

lint=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v '^running with root privileges' || true)
[[ -z $lint ]] || printf '%s\n' "$lint" | sed 's/^/deb: lintian: /'
if grep -qE '^[EW]: ' <<<"$lint"; then
	fail "lintian reports errors or warnings"
fi
ok "lintian: no error, no warning"

# ------------------------------------------------------------ the pristine root
base_ok() { [[ -x $1/usr/bin/python3 && -x $1/usr/bin/apt-get && -c $1/dev/null ]]; }

remove_tree() {	# never through a mount point
	local d=$1
	[[ -n $d && -e $d ]] || return 0
	if awk -v d="$d" '$2 == d || index($2, d "/") == 1 { f = 1 } END { exit !f }' /proc/mounts; then
		fail "something is mounted under $d; not removing it"
	fi
	rm -rf --one-file-system -- "$d"
}

mkdir -p "$(dirname "$base")"
exec 9>"$base.lock"
flock -w 900 9 || fail "could not lock $base.lock"
if base_ok "$base"; then
	say "reusing the pristine bookworm root $base"
else
	log=$base.debootstrap.log
	tmp=$(mktemp -d "$base.tmp.XXXXXX")
	say "debootstrap --variant=minbase --include=python3 bookworm into $tmp (log: $log)"
	if ! debootstrap --variant=minbase --include=python3 bookworm "$tmp" "$mirror" >"$log" 2>&1; then
		remove_tree "$tmp"
		fail "debootstrap failed (see $log)"
	fi
	base_ok "$tmp" || { remove_tree "$tmp"; fail "debootstrap made a root without python3 or apt"; }
	if compgen -G "$tmp/var/lib/dpkg/info/$pkg.list" >/dev/null; then
		remove_tree "$tmp"
		fail "a fresh root already has $pkg"
	fi
	chmod 755 "$tmp"
	[[ ! -e $base ]] || remove_tree "$base"
	mv -- "$tmp" "$base"
	say "pristine root ready: $base"
fi

# ------------------------------------------------------------ install and run
run=$(mktemp -d "${TMPDIR:-/tmp}/strobe-deb-root.XXXXXX")
trap 'remove_tree "$run"' EXIT
cp -a -- "$base/." "$run/"
flock -u 9
say "scratch root $run (a copy of $base)"
for lib in libdw1 "$pkg"; do
	[[ ! -e $run/var/lib/dpkg/info/$lib.list && ! -e $run/var/lib/dpkg/info/$lib:$arch.list ]] ||
		fail "the fresh root already has $lib: the install would prove nothing"
done

cp -- "$deb" "$run/tmp/"
cp -L -- /etc/resolv.conf "$run/etc/resolv.conf" 2>/dev/null || true
printf 'deb %s bookworm main\n' "$mirror" >"$run/etc/apt/sources.list"
cat >"$run/tmp/check.sh" <<'EOF'
set -euo pipefail
deb=$1 version=$2
say() { printf 'deb: [root] %s\n' "$*"; }
fail() { printf 'deb: FAIL: [root] %s\n' "$*" >&2; exit 1; }
apt=(apt-get -q -o APT::Sandbox::User=root -o Dpkg::Use-Pty=0)
say "apt-get update"
"${apt[@]}" update >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log >&2; fail "apt-get update"; }
say "apt-get install -y ./$(basename "$deb")"
cd /tmp
"${apt[@]}" install -y --no-install-recommends "./$(basename "$deb")" >>/tmp/apt.log 2>&1 ||
	{ tail -30 /tmp/apt.log >&2; fail "apt-get install of the package"; }
[[ $(dpkg-query -W -f '${Status} ${Version}' strobe) == "install ok installed $version" ]] ||
	fail "dpkg says: $(dpkg-query -W -f '${Status} ${Version}' strobe)"
fetched=$(sed -n 's/^Setting up \([^ :]*\).*/\1/p' /tmp/apt.log | { grep -vx strobe || true; } | tr '\n' ' ')
say "ok: installed strobe $version; apt also set up: ${fetched:-nothing}"

out=$(/usr/bin/strobe --version 2>&1) || fail "strobe --version: $out"
printf '%s\n' "$out" | sed 's/^/deb: [root]   /'
[[ $out == "strobe $version"* ]] || fail "strobe --version says '$out'"
grep -q 'dynamically linked' <<<"$out" || fail "strobe --version does not say it is dynamically linked"

for f in /usr/share/bash-completion/completions/strobe /usr/share/zsh/site-functions/_strobe \
	/usr/share/fish/vendor_completions.d/strobe.fish /usr/share/man/man1/strobe.1.gz; do
	[[ -s $f ]] || fail "$f is not installed"
	dpkg -S "$f" >/dev/null || fail "$f does not belong to a package"
done
say "ok: completions for bash, zsh and fish and the man page are installed"

code='
import time
def strobe_deb_probe(n):
    t = 0
    for i in range(n):
        t += i * i
    return t
end = time.monotonic() + 3
while time.monotonic() < end:
    strobe_deb_probe(20000)
'
say "strobe run -d 1 --collapsed -o /tmp/stacks.txt -- python3 -c ..."
/usr/bin/strobe run -d 1 --collapsed -o /tmp/stacks.txt -- python3 -c "$code" >/tmp/run.log 2>&1 ||
	{ cat /tmp/run.log >&2; fail "strobe run failed"; }
[[ -s /tmp/stacks.txt ]] || { cat /tmp/run.log >&2; fail "strobe wrote no collapsed stacks"; }
hits=$(grep -c 'strobe_deb_probe' /tmp/stacks.txt || true)
((hits > 0)) || { head -5 /tmp/stacks.txt >&2; fail "no collapsed stack names strobe_deb_probe"; }
samples=$(awk '/strobe_deb_probe/ { n += $NF } END { print n + 0 }' /tmp/stacks.txt)
((samples >= 10)) || fail "only $samples samples in strobe_deb_probe"
say "ok: profiled python3 $(python3 -c 'import platform; print(platform.python_version())'): $samples samples in strobe_deb_probe"
EOF

say "chroot (private mount namespace, /proc mounted) into $run"
unshare -m --propagation private -- /bin/sh -c '
	mount -t proc proc "$1/proc" &&
	exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash /tmp/check.sh "$2" "$3"
' sh "$run" "/tmp/$(basename "$deb")" "$version" || fail "inside the fresh root"

# man -l on the installed page (man-db is the host's: minbase has none)
man_page=$run/usr/share/man/man1/strobe.1.gz
warnings=$(man -l --warnings -E UTF-8 "$man_page" 2>&1 >/dev/null) || fail "man -l failed: $warnings"
[[ -z $warnings ]] || fail "man -l --warnings: $warnings"
text=$(MANWIDTH=100 man -l -E UTF-8 "$man_page" 2>/dev/null)
for h in NAME SYNOPSIS OPTIONS; do
	grep -q "^$h" <<<"$text" || fail "the installed man page has no $h section"
done
grep -q '^ *strobe - ' <<<"$text" || fail "the installed man page's NAME is not strobe"
ok "man -l renders the installed page without warnings ($(wc -l <<<"$text") lines)"

# removal leaves nothing of the package behind
unshare -m --propagation private -- /bin/sh -c '
	mount -t proc proc "$1/proc" &&
	exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 purge -y strobe
' sh "$run" >/dev/null 2>&1 || fail "apt-get purge strobe"
for f in "${want[@]}"; do
	[[ ! -e $run/${f#./} ]] || fail "${f#.} is left after apt-get purge strobe"
done
ok "apt-get purge strobe removes every file"

ok "all checks passed in $((SECONDS - start)) s"
