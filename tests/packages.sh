#!/bin/bash
# The packages, as CI checks them, as root on Debian 12 (which has no
# systemd as PID 1 here):
#
#   tests/packages.sh BUILDDIR
#
# in a configured build tree: make deb from make dist, lintian, apt-get
# install of the .deb, its units verified and scored where they are
# installed, every end-to-end test against the installed binaries with
# the broker started as its unit would start it, then apt-get purge and
# a check that nothing is left running or installed; then make rpm,
# rpmlint, and rpm -qlp against what the spec promises.
set -eu
build=$(cd "$1" && pwd)
src=${DG_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
jobs=$(nproc 2>/dev/null || echo 2)
cd "$build"
version=$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)
deb=dungeongate_${version}-1_$(dpkg --print-architecture).deb
failed=0
ok() { echo "packages.sh: ok: $*"; }
fail() { echo "packages.sh: FAIL: $*"; failed=1; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# What the package installs, and where: both packages promise these.
promised="/usr/bin/dg-session /usr/sbin/dg-broker
	/etc/dungeongate/dungeongate.ini /etc/dungeongate/dungeongate-alerts.yml
	/etc/ssh/sshd_config.d/dungeongate.conf
	/usr/lib/sysusers.d/dungeongate.conf
	/usr/lib/tmpfiles.d/dungeongate.conf
	/usr/share/man/man1/dg-session.1 /usr/share/man/man5/dungeongate.ini.5
	/usr/share/man/man8/dg-broker.8"

echo "== make deb"
rm -f dungeongate_*.deb dungeongate-dbgsym_*.deb
make deb >deb.log 2>&1 || { tail -40 deb.log; exit 1; }
[ -f "$deb" ] || { echo "packages.sh: no $deb"; exit 1; }
echo "== lintian"
if lintian --fail-on error,warning "dungeongate_${version}-1_$(dpkg --print-architecture).changes"; then
	ok "lintian: no errors or warnings"
else
	fail "lintian"
fi

echo "== apt-get install ./$deb"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "./$deb" >install.log 2>&1 || { cat install.log; exit 1; }
check "the postinst says sshd must be reloaded" grep -q 'reload sshd' install.log
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
for f in $promised "$unitdir/dg-broker.service" "$unitdir/dg-broker.socket"; do
	case $f in /usr/share/man/*) f=$f.gz ;; esac
	[ -e "$f" ] || fail "installed: $f"
done
ok "installed: the binaries, configuration, drop-in, units, entries, pages"
check "conffiles: the configuration and the sshd drop-in" \
    bash -c "dpkg-query --showformat='\${Conffiles}' -W dungeongate |
	grep -q ' /etc/dungeongate/dungeongate.ini ' &&
	dpkg-query --showformat='\${Conffiles}' -W dungeongate |
	grep -q ' /etc/ssh/sshd_config.d/dungeongate.conf '"
check "the broker's user, locked out" \
    bash -c "getent passwd _dungeongate | grep -q ':/var/lib/dungeongate:/usr/sbin/nologin$'"
for g in dgplayers dgadmin dgvip; do
	check "group $g" getent group "$g"
done
check "/var/lib/dungeongate is the broker's" \
    bash -c '[ "$(stat -c "%U %a" /var/lib/dungeongate)" = "_dungeongate 750" ]'
check "the shipped configuration is valid" \
    bash -c '/usr/sbin/dg-broker --test-config >/dev/null'
check "the manual pages are found" man -w dg-broker dg-session dungeongate.ini
if out=$(cd / && systemd-analyze verify "$unitdir/dg-broker.socket" \
    "$unitdir/dg-broker.service" 2>&1) && [ -z "$out" ]; then
	ok "systemd-analyze verify on the installed units"
else
	fail "systemd-analyze verify: $out"
fi
score=$(systemd-analyze security --offline=yes "$unitdir/dg-broker.service" 2>&1 |
    sed -n 's/.*Overall exposure level for dg-broker.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
	ok "systemd-analyze security: exposure $score"
else
	fail "systemd-analyze security: exposure '${score:-none}', want at most 2.0"
fi

echo "== end-to-end tests against the installed package"
if make -j"$jobs" check-installed >e2e-installed.log 2>&1; then
	ok "every end-to-end test against the installed package"
else
	grep -E '^(PASS|FAIL|ERROR|SKIP):' e2e-installed.log || true
	cat test-suite.log 2>/dev/null | tail -80
	fail "end-to-end tests against the installed package"
fi
grep -E '^# (TOTAL|PASS|FAIL|ERROR):' e2e-installed.log || true

echo "== apt-get purge"
apt-get purge -y -q dungeongate >purge.log 2>&1 || { cat purge.log; exit 1; }
check "nothing runs as _dungeongate" bash -c '! pgrep -u _dungeongate >/dev/null'
for f in /usr/sbin/dg-broker /usr/bin/dg-session /etc/dungeongate \
    /etc/ssh/sshd_config.d/dungeongate.conf "$unitdir/dg-broker.service" \
    "$unitdir/dg-broker.socket" /run/dungeongate; do
	[ ! -e "$f" ] || fail "left after purge: $f"
done
ok "purge removes the package's files"
check "the state is kept unless asked" bash -c '[ -d /var/lib/dungeongate ] && grep -q DUNGEONGATE_PURGE_STATE purge.log'
apt-get install -y -q "./$deb" >install.log 2>&1 || { cat install.log; exit 1; }
DUNGEONGATE_PURGE_STATE=yes apt-get purge -y -q dungeongate >purge.log 2>&1 ||
    { cat purge.log; exit 1; }
check "and removed when asked (DUNGEONGATE_PURGE_STATE=yes)" test ! -e /var/lib/dungeongate

echo "== make rpm"
rm -f dungeongate-*.rpm
make rpm >rpm.log 2>&1 || { tail -40 rpm.log; exit 1; }
rpms=$(ls dungeongate-"$version"-*.rpm)
if rpmlint -c "$src/packaging/rpm/rpmlint.toml" $rpms; then
	ok "rpmlint: no errors"
else
	fail "rpmlint"
fi
rpmfile=$(ls dungeongate-"$version"-*."$(uname -m)".rpm)
list=$(rpm -qlp "$rpmfile")
for f in $promised /usr/lib/systemd/system/dg-broker.service \
    /usr/lib/systemd/system/dg-broker.socket; do
	printf '%s\n' "$list" | grep -qx -- "$f\(\.[a-z0-9]*\)\?" ||
	    fail "rpm -qlp lacks $f"
done
ok "rpm -qlp lists what the spec promises"
check "the rpm makes the broker's user before install" \
    bash -c "rpm -qp --scripts '$rpmfile' | grep -q 'useradd -r -g _dungeongate'"

[ "$failed" = 0 ] && echo "packages.sh: all checks passed"
exit "$failed"
