#!/bin/bash
# Build the Debian package from the make dist tarball:
#   build-deb.sh BUILDDIR TARBALL
# in BUILDDIR/deb/, leaving the .deb (and the .changes and source
# package) in BUILDDIR. Needs dpkg-dev, debhelper and the build
# dependencies in packaging/debian/control.
set -eu
builddir=$(cd "$1" && pwd)
tarball=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
name=$(basename "$tarball" .tar.gz)		# dungeongate-VERSION
version=${name#dungeongate-}
work=$builddir/deb

if [ "$(id -u)" != 0 ] && ! command -v fakeroot >/dev/null; then
	echo "build-deb.sh: run as root or install fakeroot" >&2
	exit 1
fi
rm -rf "$work"
mkdir -p "$work"
cp "$tarball" "$work/dungeongate_$version.orig.tar.gz"
tar -C "$work" -xzf "$tarball"
cp -a "$work/$name/packaging/debian" "$work/$name/debian"
debversion=$(cd "$work/$name" && dpkg-parsechangelog -S Version)
if [ "${debversion%-*}" != "$version" ]; then
	echo "build-deb.sh: debian/changelog is at $debversion, the tarball" \
	    "at $version: add a changelog entry" >&2
	exit 1
fi
(cd "$work/$name" && dpkg-buildpackage -us -uc)
for f in "$work"/dungeongate_"$debversion"* \
    "$work"/dungeongate-dbgsym_"$debversion"* \
    "$work/dungeongate_$version.orig.tar.gz"; do
	cp "$f" "$builddir/"
done
echo "build-deb.sh: built $(cd "$builddir" && ls dungeongate_"$debversion"_*.deb)"
