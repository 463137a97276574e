# Shared by the quick start, the test runner and the end-to-end harness.

# What building and testing DungeonGate needs from Debian 12.
DG_PACKAGES="build-essential autoconf automake pkg-config
	libevent-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev
	libvterm-dev zlib1g-dev
	openssh-server openssh-client nethack-console nano tmux jq procps passwd
	libsystemd-dev systemd iproute2 mandoc python3 curl prometheus
	ttyrec termrec valgrind"

# What building and checking the packages needs besides (CI only).
DG_PACKAGE_TOOLS="debhelper dpkg-dev fakeroot lintian rpm rpmlint"

# What make fuzz needs: clang and its libFuzzer runtime (CI only).
DG_FUZZ_TOOLS="clang libclang-rt-dev"

# Install the packages (as root, without questions), and any named.
dg_install_deps() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $DG_PACKAGES "$@"
}

# Bootstrap autotools in the source tree if it has not been done.
dg_bootstrap() {
	local src=$1
	if [ ! -x "$src/configure" ] || [ "$src/configure.ac" -nt "$src/configure" ] ||
	    [ "$src/Makefile.am" -nt "$src/Makefile.in" ]; then
		(cd "$src" && autoreconf -fi)
	fi
}

# Write a private sshd's configuration: dg_sshd_config DIR PORT GROUP
# SESSION-COMMAND AUTHORIZED-KEYS-PATTERN [EXTRA LINES]. Players in GROUP
# get the shipped drop-in, with ForceCommand pointed at SESSION-COMMAND.
dg_sshd_config() {
	local dir=$1 port=$2 group=$3 session=$4 keys=$5 extra=${6:-}
	mkdir -p /run/sshd "$dir"
	chmod 755 /run/sshd
	[ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
	cat > "$dir/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
AcceptEnv LANG LC_*
LogLevel VERBOSE
Subsystem sftp /usr/lib/openssh/sftp-server
$extra
CFG
	sed -e "s/^Match Group dgplayers\$/Match Group $group/" \
	    -e "s|ForceCommand /usr/bin/dg-session\$|ForceCommand $session|" \
	    "$DG_SRCDIR/sshd_config.d/dungeongate.conf" >> "$dir/sshd_config"
	grep -q "^Match Group $group\$" "$dir/sshd_config" &&
	    grep -q "ForceCommand $session\$" "$dir/sshd_config" &&
	    /usr/sbin/sshd -t -f "$dir/sshd_config"
}

# A free TCP port on 127.0.0.1, below the kernel's ephemeral range (an
# outgoing connection may hold a port there that nothing listens on).
# Fails after 100 ports in use.
dg_free_port() {
	local p low try
	low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ -n "$low" ] && [ "$low" -gt 12000 ] || low=32768
	for try in $(seq 100); do
		p=$(( 10000 + $(od -An -N2 -tu2 /dev/urandom) % (low - 10000) ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
