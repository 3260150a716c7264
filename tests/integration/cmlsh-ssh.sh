#!/bin/bash
# cmlsh over a real SSH session, as an admin on a remote gateway uses it:
# an sshd of the test's own listens on loopback inside a network namespace
# the test made, and `ssh -t` (the only terminal is the one ssh allocates
# on the far side) runs `container exec -it`: the command gets a pty of
# the container's own with the caller's size, keys typed go through, Ctrl-C
# ends a command inside with status 130 and ssh returns it; an
# interactive cmlsh over ssh -t ends an idle session after the time the
# device setting session_idle_timeout gives, saying so, and ssh ends with it.
# Proves: OS 01 (exec -it into a container over ssh -t),
# CR 2.6 (an idle remote session over SSH is terminated after the
# configured time).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || skip "needs $SSHD (openssh-server: scripts/deps --test installs it)"
need_prog ssh ssh-keygen script unshare nsenter ip ss
ct_setup

name=$(ct_name ssh)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"}}'
ct_start "$name"

# --- an sshd of our own, on loopback in a network namespace of our own ---------------------
S=$SCRATCH/ssh
mkdir -p "$S" && chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key" || fail "cannot make the host key"
ssh-keygen -q -t ed25519 -N '' -f "$S/user_key" || fail "cannot make the user key"
cp "$S/user_key.pub" "$S/authorized_keys"
chmod 600 "$S/authorized_keys"
cat >"$S/sshd_config" <<EOF
ListenAddress 127.0.0.1:2222
HostKey $S/host_key
PidFile none
AuthorizedKeysFile $S/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
EOF
# /run is a tmpfs of this mount namespace: sshd's privilege separation
# directory is made there, nothing on the host's /run
unshare -mn --fork --kill-child sh -c "ip link set lo up &&
    mount -t tmpfs -o mode=755 cml-ssh-run /run && mkdir -m 755 /run/sshd &&
    exec $SSHD -D -e -f $S/sshd_config" 2>"$S/sshd.log" &
ns_pid=$!
track_pid "$ns_pid"
for ((i = 0; i < 100; i++)); do
	nsenter --net="/proc/$ns_pid/ns/net" ss -ltn 2>/dev/null | grep -q '127.0.0.1:2222' && break
	sleep 0.05
done
nsenter --net="/proc/$ns_pid/ns/net" ss -ltn 2>/dev/null | grep -q '127.0.0.1:2222' ||
    fail "sshd did not listen: $(cat "$S/sshd.log")"
# unshare --fork ignores SIGTERM while it waits for its child: the cleanup
# ends sshd itself, and unshare with it
sshd_pid=$(pgrep -P "$ns_pid" -x sshd)
[ -n "$sshd_pid" ] || fail "no sshd under unshare $ns_pid"
track_pid "$sshd_pid"

# ssh_tty ROWS COLS REMOTE-COMMAND: ssh -t from a pty of that size (lib.sh's
# pty_start: keys with pty_keys, ended with pty_end, status in $trc)
ssh_tty() {
	local rows=$1 cols=$2
	shift 2
	pty_start "$rows" "$cols" nsenter --net="/proc/$ns_pid/ns/net" ssh -t \
	    -p 2222 -i "$S/user_key" -o UserKnownHostsFile=/dev/null \
	    -o StrictHostKeyChecking=no -o LogLevel=ERROR -o BatchMode=yes \
	    root@127.0.0.1 "$*"
}
printf -v cmlsh '%q ' "$CMLSH" --socket "$SOCK"

# --- exec -it over ssh -t -----------------------------------------------------------------
ssh_tty 31 97 "$cmlsh container exec -it $name -- /bin/sh"
pty_wait '#' || true
pty_keys 'tty; stty size; echo six-$((6*7))\r'
pty_wait 'six-42' || true
pty_keys 'exit 3\r'
pty_end
out=$(tr -d '\r' <"$SCRATCH/tty.out")
expect_match "over ssh -t: the container's own pty" '
/dev/pts/0
' "$out"
expect_match "over ssh -t: the caller's terminal size inside" '
31 97
' "$out"
expect_match "over ssh -t: keys typed reach the shell inside" '
six-42
' "$out"
expect_status "over ssh -t: the command's exit status is ssh's" 3 "$trc"

# --- Ctrl-C over ssh -t ---------------------------------------------------------------------
ssh_tty 24 80 "$cmlsh container exec -it $name -- sleep 100"
for ((i = 0; i < 100; i++)); do
	pgrep -f '^sleep 100$' >/dev/null && break
	sleep 0.1
done
pty_keys '\003'
pty_end
expect_status "over ssh -t: Ctrl-C ends sleep 100 inside: 128 + SIGINT" 130 "$trc"
expect_eq "over ssh -t: sleep is gone" "" "$(pgrep -f '^sleep 100$')"

# --- an idle interactive session over ssh -t ------------------------------------------------
_run_tool "device config set session_idle_timeout 2" \
    "$CMLSH" --socket "$SOCK" -c 'device config set session_idle_timeout 2'
t0=$(date +%s%N)
ssh_tty 24 80 "$cmlsh"
pty_wait 'cml>' || true
pty_keys 'container list\r'
pty_wait "$name" || true
# no key from now on: the session ends 2 s after the last one
for ((i = 0; i < 100; i++)); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.1
done
pty_end
t1=$(date +%s%N)
out=$(tr -d '\r' <"$SCRATCH/tty.out")
expect_match "over ssh -t: the idle session says why it ended" \
    'session ended after 2 s idle \(session_idle_timeout\)' "$out"
expect_status "over ssh -t: ssh ends with the idle session (status 1)" 1 "$trc"
secs=$(((t1 - t0) / 1000000000))
expect_match "over ssh -t: ended within 2 s of idleness, not at once nor much later ($secs s)" \
    '^[2-7]$' "$secs"

_run_tool "container kill $name" "$CMLSH" --socket "$SOCK" --yes container kill "$name"
finish
