#!/bin/sh
# sshd-fixture.sh: become a private sshd for a test.
#
# usage: sshd-fixture.sh DIR ADDR PORT [HOSTKEY]
#
# Writes DIR/sshd_config for a server on ADDR:PORT (ADDR is one of
# 127.0.0.N, each a distinct "host") and then execs sshd in the
# foreground, so the caller's child IS sshd: it can be killed and
# waited for by its pid, and nothing is left to daemonise behind the
# test (PID 1 here reaps no orphans).  Logs go to stderr.
#
# Files in DIR: hostkey (ed25519, made unless HOSTKEY is given),
# authorized_keys (the caller writes it), sshd.pid.  LogLevel comes
# from SSHD_LOGLEVEL (default INFO).
#
# As root, sshd needs /run/sshd; as a normal user it serves only that
# user and needs a PORT above 1024.

prog=sshd-fixture

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $prog DIR ADDR PORT [HOSTKEY]" >&2
	exit 3
fi
dir=$1 addr=$2 port=$3 hostkey=${4:-$1/hostkey}

case $addr in
127.*) ;;
*)	echo "$prog: $addr: not a loopback address" >&2
	exit 3 ;;
esac
if [ ! -d "$dir" ]; then
	echo "$prog: $dir: not a directory" >&2
	exit 3
fi

if [ ! -f "$hostkey" ]; then
	ssh-keygen -q -t ed25519 -N '' -C "$prog@$addr" -f "$hostkey" ||
	    { echo "$prog: $hostkey: ssh-keygen failed" >&2; exit 1; }
fi

# sshd refuses to start as root without its privilege separation
# directory; a normal user cannot make it and does not need it.
if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
	mkdir -p /run/sshd && chmod 0755 /run/sshd || exit 1
fi

# StrictModes no: the test keys live under a world-writable /tmp,
# which sshd would otherwise hold against them.
conf=$dir/sshd_config
cat >"$conf" <<EOF || exit 1
ListenAddress $addr:$port
HostKey $hostkey
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
StrictModes no
PermitRootLogin prohibit-password
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ${SSHD_LOGLEVEL:-INFO}
EOF

exec /usr/sbin/sshd -D -e -f "$conf"
