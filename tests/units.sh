#!/bin/bash
# The systemd units and entries: systemd-analyze verify finds nothing
# wrong with them (run against this build's dg-broker), the service's
# exposure under systemd-analyze security is at most 2.0, the socket,
# user and group they name are the configuration's defaults, and
# systemd-sysusers and systemd-tmpfiles make the user, the groups and the
# directories from them.
set -u
: "${DG_BUILDDIR:?}" "${DG_SRCDIR:?}"
for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v "$tool" >/dev/null || { echo "units.sh: $tool is needed (package systemd)"; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
pass() { echo "units.sh: ok: $*"; }
fail() { echo "units.sh: FAIL: $*"; failed=1; }
sysd=$DG_SRCDIR/packaging/systemd

# The service names the installed broker: an absolute path.
exec=$(sed -n 's/^ExecStart=//p' "$DG_BUILDDIR/dg-broker.service")
case $exec in
/*[!@]*/dg-broker\ -D) pass "ExecStart=$exec" ;;
*) fail "ExecStart=$exec is not the installed dg-broker -D" ;;
esac

# The units as installed, with ExecStart at this build's broker.
sed "s|^ExecStart=[^ ]*|ExecStart=$DG_BUILDDIR/dg-broker|" \
    "$DG_BUILDDIR/dg-broker.service" > "$tmp/dg-broker.service"
cp "$sysd/dg-broker.socket" "$tmp/dg-broker.socket"
if out=$(cd "$tmp" && systemd-analyze verify --man=no \
    "$tmp/dg-broker.socket" "$tmp/dg-broker.service" 2>&1) && [ -z "$out" ]; then
	pass "systemd-analyze verify"
else
	fail "systemd-analyze verify:"
	printf '%s\n' "$out" | sed 's/^/    | /'
fi
out=$(systemd-analyze security --offline=yes "$tmp/dg-broker.service" 2>&1)
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for dg-broker.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
	pass "systemd-analyze security: exposure $score (at most 2.0)"
else
	fail "systemd-analyze security: exposure '${score:-none}', want at most 2.0:"
	printf '%s\n' "$out" | grep '✗' | sed 's/^/    | /'
fi

# What the units name is what the configuration defaults to.
schema=$("$DG_BUILDDIR/dg-broker" --print-schema)
default() { printf '%s\n' "$schema" | sed -n "s/^broker $1 = //p"; }
key() { sed -n "s/^$2=//p" "$1" | tail -1; }
[ "$(key "$sysd/dg-broker.socket" ListenStream)" = "$(default socket)" ] &&
    pass "ListenStream= is [broker] socket" ||
    fail "ListenStream= $(key "$sysd/dg-broker.socket" ListenStream) is not [broker] socket $(default socket)"
[ "$(key "$sysd/dg-broker.socket" SocketGroup)" = "$(default socket_group)" ] &&
    [ "$(key "$sysd/dg-broker.socket" SocketMode)" = 0660 ] &&
    pass "SocketGroup= is socket_group, mode 0660" ||
    fail "SocketGroup=/SocketMode= are not socket_group $(default socket_group) and 0660"
[ "$(key "$tmp/dg-broker.service" User)" = "$(default user)" ] &&
    pass "User= is [broker] user" ||
    fail "User= $(key "$tmp/dg-broker.service" User) is not [broker] user $(default user)"

# The user, groups and directories, made in a root of their own.
root=$tmp/root
mkdir -p "$root/etc"
if systemd-sysusers --root="$root" "$sysd/dungeongate.sysusers" 2>"$tmp/sysusers.err"; then
	user=$(default user)
	ent=$(grep "^$user:" "$root/etc/passwd")
	case $ent in
	"$user:x:"*":DungeonGate broker:/var/lib/dungeongate:/usr/sbin/nologin")
		pass "systemd-sysusers makes $user" ;;
	*) fail "systemd-sysusers: $user is '$ent'" ;;
	esac
	for g in "$(default socket_group)" "$(default admin_group)" \
	    "$(printf '%s\n' "$schema" | sed -n 's/^quota:vip groups = //p')"; do
		grep -q "^$g:" "$root/etc/group" && pass "and group $g" ||
		    fail "systemd-sysusers made no group $g"
	done
else
	fail "systemd-sysusers: $(cat "$tmp/sysusers.err")"
fi
if systemd-tmpfiles --root="$root" --create "$sysd/dungeongate.tmpfiles" 2>"$tmp/tmpfiles.err"; then
	for d in "run/dungeongate 755" "var/lib/dungeongate 750" \
	    "var/lib/dungeongate/ttyrec 750"; do
		got=$(stat -c '%a' "$root/${d% *}" 2>/dev/null)
		[ "$got" = "${d#* }" ] && pass "systemd-tmpfiles makes /${d% *} (${d#* })" ||
		    fail "systemd-tmpfiles: /${d% *} is '${got:-missing}', want ${d#* }"
	done
else
	fail "systemd-tmpfiles: $(cat "$tmp/tmpfiles.err")"
fi
exit "$failed"
