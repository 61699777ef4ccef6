#!/bin/bash
# tools/make_deb.sh BUILD - build BUILD/strobe_VERSION_ARCH.deb (`make deb`).
#
# Stages `make install PREFIX=/usr` of the dynamic BUILD/strobe in
# BUILD/deb/root, makes it a Debian binary package by hand (no debhelper
# tree; docs/packaging.md) and builds it with dpkg-deb:
#   - the binary stripped as dh_strip does, the man page gzip -9n'd;
#   - /usr/share/doc/strobe: copyright (packaging/deb/copyright, DEP-5),
#     changelog.gz (Debian format; strobe is a native package: its own
#     upstream, version without a Debian revision), README.md.gz;
#   - DEBIAN/control from packaging/deb/control.in: the version from
#     src/cli.c's STROBE_VERSION, Depends computed by dpkg-shlibdeps,
#     Installed-Size counted as dpkg-gencontrol does; DEBIAN/md5sums.
# Files are owned by root:root in the package (dpkg-deb --root-owner-group);
# every timestamp is SOURCE_DATE_EPOCH (default: the last commit's time), so
# two builds of one commit give the same bytes.
#
# Environment: MAKE, SOURCE_DATE_EPOCH, DEB_MAINTAINER (default: the last
# commit's author).
set -euo pipefail
umask 022

build=${1:?usage: tools/make_deb.sh BUILD}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pkg=strobe
make=${MAKE:-make}

die() { printf 'make_deb: %s\n' "$*" >&2; exit 1; }

version=$(sed -n 's/^#define STROBE_VERSION "\([^"]*\)".*/\1/p' src/cli.c)
[[ $version =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || die "no usable STROBE_VERSION in src/cli.c (got '$version')"
arch=$(dpkg --print-architecture)

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null) ||
		die "not a git checkout: set SOURCE_DATE_EPOCH"
fi
export SOURCE_DATE_EPOCH
maintainer=${DEB_MAINTAINER:-$(git -C "$top" log -1 --format='%an <%ae>' 2>/dev/null)} ||
	die "not a git checkout: set DEB_MAINTAINER"
[[ $maintainer =~ ^[^\<\>]+\ \<[^\<\>@]+@[^\<\>@]+\>$ ]] || die "bad maintainer '$maintainer' (want 'Name <address>')"

# strobe's license is stated by whoever owns it, in packaging/deb/copyright:
# nothing here writes one
[[ -s packaging/deb/copyright ]] ||
	die "packaging/deb/copyright is missing: the repository states no license for strobe yet, so there is no copyright file to ship"

build=$(realpath -m -- "$build")
stage=$build/deb/root
out=$build/${pkg}_${version}_${arch}.deb
rm -rf --one-file-system -- "$build/deb"
mkdir -p "$stage/DEBIAN"

echo "  STAGE   $stage (make install PREFIX=/usr)"
"$make" --no-print-directory -s install BUILD="$build" PREFIX=/usr DESTDIR="$stage" >/dev/null

# what dh_strip does for a program, and what policy asks of man pages
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/bin/$pkg"
gzip -9n "$stage/usr/share/man/man1/$pkg.1"

doc=$stage/usr/share/doc/$pkg
install -d "$doc"
install -m 0644 packaging/deb/copyright "$doc/copyright"
install -m 0644 README.md "$doc/README.md"
gzip -9n "$doc/README.md"
date_rfc=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")
commit=$(git -C "$top" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
{
	printf '%s (%s) unstable; urgency=medium\n\n' "$pkg" "$version"
	printf '  * Built with make deb from the strobe source at commit %s.\n' "$commit"
	printf '\n -- %s  %s\n' "$maintainer" "$date_rfc"
} >"$doc/changelog"
gzip -9n "$doc/changelog"

# Depends: dpkg-shlibdeps wants a debian/control to read the package from
shl=$(mktemp -d)
trap 'rm -rf -- "$shl"' EXIT
mkdir "$shl/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" >"$shl/debian/control"
depends=$(cd "$shl" && dpkg-shlibdeps -O "$stage/usr/bin/$pkg" 2>&1 >"$shl/out") ||
	die "dpkg-shlibdeps failed: $depends"
[[ -z $depends ]] || printf 'make_deb: dpkg-shlibdeps: %s\n' "$depends" >&2
depends=$(sed -n 's/^shlibs:Depends=//p' "$shl/out")
[[ -n $depends ]] || die "dpkg-shlibdeps found no dependency of $pkg"

# Installed-Size as dpkg-gencontrol counts it: KiB per file rounded up, one
# per directory or link
installed_size=$(find "$stage" -mindepth 1 -path "$stage/DEBIAN" -prune -o \
	\( -type f -printf '%s\n' \) -o -printf '1024\n' |
	awk '{ n += int(($1 + 1023) / 1024) } END { print n }')

sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
	-e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@DEPENDS@|$depends|" \
	packaging/deb/control.in >"$stage/DEBIAN/control"
! grep -n '@[A-Z_]*@' "$stage/DEBIAN/control" || die "unfilled field in DEBIAN/control"

(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
	xargs -d '\n' md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -f -- "$out"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "  DEB     $out (Depends: $depends)"
