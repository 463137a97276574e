#!/bin/bash
# Build the RPM from the make dist tarball:
#   build-rpm.sh BUILDDIR TARBALL SPEC
# in BUILDDIR/rpmbuild/, leaving the binary and source RPMs in BUILDDIR.
# On a machine whose packages are not rpm's (Debian's rpm), the build
# dependencies cannot be checked by rpm and are not (--nodeps), and
# without find-debuginfo no debuginfo package is made.
set -eu
builddir=$(cd "$1" && pwd)
tarball=$2
spec=$3
top=$builddir/rpmbuild
version=$(basename "$tarball" .tar.gz)
version=${version#dungeongate-}

specversion=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
if [ "$specversion" != "$version" ]; then
	echo "build-rpm.sh: $spec is at $specversion, the tarball at" \
	    "$version: update Version and %changelog" >&2
	exit 1
fi
rm -rf "$top"
mkdir -p "$top/SOURCES" "$top/SPECS"
cp "$tarball" "$top/SOURCES/"
cp "$spec" "$top/SPECS/"
opts=()
rpm -q rpm >/dev/null 2>&1 || opts+=(--nodeps)
if ! command -v find-debuginfo >/dev/null &&
    [ ! -x /usr/lib/rpm/find-debuginfo.sh ]; then
	opts+=(--define 'debug_package %{nil}')
fi
rpmbuild -ba "${opts[@]}" --define "_topdir $top" \
    "$top/SPECS/$(basename "$spec")"
find "$top/RPMS" "$top/SRPMS" -name '*.rpm' -exec cp {} "$builddir/" \;
echo "build-rpm.sh: built $(cd "$builddir" && ls dungeongate-"$version"-*.rpm | tr '\n' ' ')"
