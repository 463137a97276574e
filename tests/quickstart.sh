#!/bin/bash
# DungeonGate quick start, for a fresh Debian 12 machine, as root.
#
# Installs the packages, builds, starts dg-broker and a private sshd on
# 127.0.0.1:2222 with the shipped drop-in and a demo player (dgdemo), and
# logs you in to the menu over real ssh. The system's own sshd and
# /etc are not touched. Run it again to rebuild and restart;
# `tests/quickstart.sh --stop` stops the demo and removes the player.
set -eu
DG_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
export DG_SRCDIR
. "$DG_SRCDIR/tests/common.sh"

DEMO=/var/tmp/dungeongate-demo
PORT=2222
PLAYER=dgdemo
GROUP=dgplayers
# The broker gives up root for this user, as the package's does.
BROKER_USER=_dungeongate

if [ "$(id -u)" != 0 ]; then
	echo "quickstart.sh: run as root (it creates a player and starts sshd)" >&2
	exit 1
fi

# Stop what a previous run started, by the pids it recorded.
demo_stop() {
	local f pid
	for f in "$DEMO/sshd/sshd.pid" "$DEMO/broker.pid"; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
		fi
		rm -f "$f"
	done
}

if [ "${1:-}" = --stop ]; then
	demo_stop
	if id "$PLAYER" >/dev/null 2>&1; then
		pkill -HUP -u "$PLAYER" 2>/dev/null || true
		sleep 1
		userdel -r "$PLAYER" 2>/dev/null || userdel "$PLAYER"
	fi
	# The broker's user, if the demo made it (a package's stays).
	if [ -f "$DEMO/made-$BROKER_USER" ] && id "$BROKER_USER" >/dev/null 2>&1; then
		userdel "$BROKER_USER"
		getent group "$BROKER_USER" >/dev/null && groupdel "$BROKER_USER"
	fi
	rm -rf "$DEMO"
	echo "DungeonGate demo stopped and removed."
	exit 0
fi

echo "== installing packages"
dg_install_deps
dg_bootstrap "$DG_SRCDIR"

echo "== building"
mkdir -p "$DG_SRCDIR/build/demo"
cd "$DG_SRCDIR/build/demo"
[ -f Makefile ] || "$DG_SRCDIR/configure" -q
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

echo "== starting the demo in $DEMO"
demo_stop
mkdir -p "$DEMO/bin" "$DEMO/run" "$DEMO/keys"
chmod 755 "$DEMO"
install -m 755 dg-session "$DEMO/bin/dg-session"
install -m 755 dg-broker "$DEMO/bin/dg-broker"
getent group "$GROUP" >/dev/null || groupadd "$GROUP"
if ! id "$BROKER_USER" >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home \
	    --home-dir /var/lib/dungeongate --shell /usr/sbin/nologin \
	    -c "DungeonGate broker" "$BROKER_USER"
	touch "$DEMO/made-$BROKER_USER"
fi
# The broker, once unprivileged, removes its socket from here.
chown "$BROKER_USER:" "$DEMO/run"
if ! id "$PLAYER" >/dev/null 2>&1; then
	useradd -m -s /bin/sh -G "$GROUP" -c "DungeonGate demo player" "$PLAYER"
	usermod -p '*' "$PLAYER"
fi
[ -f "$DEMO/keys/$PLAYER" ] ||
    ssh-keygen -q -t ed25519 -N '' -C "$PLAYER" -f "$DEMO/keys/$PLAYER"
install -m 644 "$DEMO/keys/$PLAYER.pub" "$DEMO/keys/authorized_$PLAYER"

sed -e "s|^socket = .*|socket = $DEMO/run/broker.sock|" \
    -e "s|^dir = .*|dir = $DEMO/ttyrec|" \
    "$DG_SRCDIR/conf/dungeongate.ini" > "$DEMO/dungeongate.ini"
chmod 644 "$DEMO/dungeongate.ini"
"$DEMO/bin/dg-broker" --test-config -f "$DEMO/dungeongate.ini" >/dev/null

"$DEMO/bin/dg-broker" -D -f "$DEMO/dungeongate.ini" >>"$DEMO/broker.log" 2>&1 &
echo $! > "$DEMO/broker.pid"
for i in $(seq 50); do [ -S "$DEMO/run/broker.sock" ] && break; sleep 0.1; done

dg_sshd_config "$DEMO/sshd" "$PORT" "$GROUP" \
    "$DEMO/bin/dg-session -f $DEMO/dungeongate.ini" "$DEMO/keys/authorized_%u"
/usr/sbin/sshd -f "$DEMO/sshd/sshd_config" -E "$DEMO/sshd.log"
for i in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.1
done

"$DEMO/bin/dg-broker" --check -f "$DEMO/dungeongate.ini"
login="ssh -t -p $PORT -i $DEMO/keys/$PLAYER -o UserKnownHostsFile=$DEMO/known_hosts -o StrictHostKeyChecking=accept-new $PLAYER@127.0.0.1"
cat <<MSG

DungeonGate is running: dg-broker and sshd on 127.0.0.1:$PORT.
  log in again:  $login
  status:        $DEMO/bin/dg-broker --status -f $DEMO/dungeongate.ini
  stop:          $DG_SRCDIR/tests/quickstart.sh --stop

Logging you in as $PLAYER now (choose p for NetHack, q to quit).
MSG
# shellcheck disable=SC2086
exec $login
