#!/bin/bash
# scripts/demo in a real terminal (tmux): Ctrl-C at the cml> prompt
# reaches the shell only, cmld (in a session of its own) keeps running and
# serving; quitting stops the container and cmld and removes the demo's
# directory.  When its container cannot be stopped (cmld was killed, the
# container runs on), the demo says so, keeps the directory and exits 1.
# cmld runs in the demo's own network namespace: its container reaches the
# web server outside through its link, nothing of it is in the host's
# namespace, and quitting removes the namespaces.  With --tui the demo
# opens cmltui, whose dashboard shows the container demo running; F10
# ends the demo as quit does.
# Proves: none (the demo's terminal handling and cleanup).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_guestos_tools
need_prog tmux mkfs.erofs sha256sum ps
make_scratch

tmux_sock=$SCRATCH/tmux.sock
mkdir -p "$SCRATCH/tmp" "$SCRATCH/home"
printf 'set enable-bracketed-paste off\n' >"$SCRATCH/inputrc"

tm() {
	tmux -S "$tmux_sock" "$@"
}

demo_exit() {
	local status=$?
	tm kill-server 2>/dev/null
	if [ -n "${netns:-}" ]; then
		ip netns pids "$netns-out" 2>/dev/null | xargs -r kill
		ip netns del "$netns-out" 2>/dev/null
		ip netns del "$netns" 2>/dev/null
	fi
	(exit "$status")
	cleanup
}
trap demo_exit EXIT

# Starts the demo in a new tmux session NAME (with the options after it);
# the pane stays open after the demo ends, with a line DEMO-EXIT=STATUS.
demo_start() {
	local name=$1
	shift
	tm new-session -d -s "$name" -x 160 -y 50 \
	    "cd /; env HOME=$SCRATCH/home INPUTRC=$SCRATCH/inputrc TMPDIR=$SCRATCH/tmp \
	    CML_BUILDDIR=$CML_BUILDDIR CMLD_CGROUP_PARENT=$CT_CGROUP_PARENT \
	    LANG=C.UTF-8 TERM=tmux-256color \
	    bash $CML_SRCDIR/scripts/demo $*; echo DEMO-EXIT=\$?; sleep 600" ||
		fail "tmux new-session failed"
}

# Prints what the pane of session NAME shows, its history included.
pane() {
	tm capture-pane -p -J -t "$1" -S -500 2>/dev/null
}

# Waits up to SECONDS until the pane of NAME matches REGEX: wait_pane NAME
# SECONDS REGEX
wait_pane() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ "$(pane "$1")" =~ $3 ]] && return 0
		sleep 0.1
	done
	return 1
}

# The demo's directory: the only one made under our TMPDIR.
demo_dir() {
	local d=("$SCRATCH"/tmp/cml-demo.*)
	[ "${#d[@]}" = 1 ] && [ -d "${d[0]}" ] && echo "${d[0]}"
}

# Points lib.sh at the demo's stack, so that cleanup stops what is left.
use_demo_stack() {
	STACK_DIR=$1
	SOCK=$STACK_DIR/run/cml/control.sock
	STACK_RUNNING=1
}

# Whether a process runs (a zombie does not: cmld, out of the session of
# scripts/stack, waits for whoever adopted it to reap it).
runs() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# --- Ctrl-C at the prompt, then quit --------------------------------------
demo_start one
if ! wait_pane one 120 'cml> '; then
	pane one >&2
	fail "no cml> prompt from scripts/demo within 120 s"
fi
dir=$(demo_dir) || fail "no demo directory under $SCRATCH/tmp"
use_demo_stack "$dir"
pid=$(cmld_pid) || fail "no cmld runs for $dir"
expect_eq "the container demo runs" running \
    "$(cmlsh_run --json -c 'container show demo' | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
expect_eq "cmld leads a session of its own" "$pid" "$(ps -o sid= -p "$pid" | tr -d ' ')"
pane_pid=$(tm display-message -p -t one '#{pane_pid}')
pane_sid=$(ps -o sid= -p "$pane_pid" | tr -d ' ')
expect_eq "cmld is in another session than the terminal's shell" yes \
    "$([ -n "$pane_sid" ] && [ "$pane_sid" != "$pid" ] && echo yes || echo "no: $pane_sid")"

# the network: cmld in the demo's own namespace, 'demo' reaching only the
# web server outside; nothing in the host's namespace
netns=cml-demo-$(printf '%s' "$dir" | sha256sum | cut -c 1-8)
expect_eq "cmld runs in the demo's network namespace" "$netns" \
    "$(ip netns identify "$pid")"
nft list table inet cml >/dev/null 2>&1
expect_status "no table inet cml in the host's namespace" 1 $?
expect_eq "demo reaches the web server outside" "hello from outside" \
    "$(cmlsh_run container exec demo -- /bin/sh -c 'timeout 10 wget -qO- http://192.0.2.2/' 2>&1)"
cmlsh_run container exec demo -- /bin/sh -c 'timeout 2 wget -qO- http://192.0.2.2:81/ || exit 7' >/dev/null 2>&1
expect_status "demo does not reach another port outside" 7 $?
expect_match "net status shows demo's segment" 'demo' \
    "$(cmlsh_run -c 'net status' 2>&1)"

tm send-keys -t one C-c
sleep 1
runs "$pid"
expect_status "cmld still runs after Ctrl-C at the prompt" 0 $?
expect_eq "cmld's log has no shutdown after Ctrl-C" 0 \
    "$(grep -c 'shutting down' "$dir/log/cmld.log")"
cmlsh_run -c 'device status' >/dev/null
expect_status "cmld still serves after Ctrl-C" 0 $?
tm send-keys -t one 'device status' Enter
wait_pane one 10 'uptime seconds: +[0-9]+'
expect_status "the shell answers 'device status' after Ctrl-C" 0 $?

tm send-keys -t one quit Enter
wait_pane one 60 'DEMO-EXIT=[0-9]+'
expect_status "the demo ends after quit" 0 $?
expect_match "the demo exits 0 after quit" 'DEMO-EXIT=0' "$(pane one)"
runs "$pid"
expect_status "quit stops cmld" 1 $?
[ -e "$dir" ]
expect_status "quit removes the demo directory" 1 $?
[ -e "/run/netns/$netns" ] || [ -e "/run/netns/$netns-out" ]
expect_status "quit removes the demo's network namespaces" 1 $?
expect_eq "no process is left in the demo's cgroups" "" \
    "$(find /sys/fs/cgroup/*/"$CT_CGROUP_PARENT" /sys/fs/cgroup/"$CT_CGROUP_PARENT" \
        -name cgroup.procs -exec cat {} + 2>/dev/null)"
STACK_RUNNING=0

# --- the demo with cmltui ------------------------------------------------
demo_start tui --tui
if ! wait_pane tui 120 'Press Enter'; then
	pane tui >&2
	fail "scripts/demo --tui did not get ready within 120 s"
fi
dir=$(demo_dir) || fail "no demo directory under $SCRATCH/tmp"
use_demo_stack "$dir"
pid=$(cmld_pid) || fail "no cmld runs for $dir"
tm send-keys -t tui Enter
wait_pane tui 20 '[ >]demo +running +busybox'
expect_status "cmltui's dashboard shows the container demo running" 0 $?
wait_pane tui 10 'Stages +tpm2d ready +scd ready +cmld ready'
expect_status "and the demo's stages ready" 0 $?
tm send-keys -t tui F10
wait_pane tui 60 'DEMO-EXIT=[0-9]+'
expect_status "the demo ends after F10 in cmltui" 0 $?
expect_match "the demo exits 0 after F10" 'DEMO-EXIT=0' "$(pane tui)"
runs "$pid"
expect_status "F10 in cmltui stops cmld" 1 $?
[ -e "$dir" ]
expect_status "and removes the demo directory" 1 $?
STACK_RUNNING=0

# --- a container that cannot be stopped: the directory stays --------------
demo_start two
if ! wait_pane two 120 'cml> '; then
	pane two >&2
	fail "no cml> prompt from the second scripts/demo within 120 s"
fi
dir=$(demo_dir) || fail "no demo directory under $SCRATCH/tmp"
use_demo_stack "$dir"
pid=$(cmld_pid) || fail "no cmld runs for $dir"
# cmld dies, its container runs on (containers outlive cmld by design):
# nobody can stop it now
kill -KILL "$pid"
for ((i = 0; i < 50; i++)); do
	runs "$pid" || break
	sleep 0.1
done
tm send-keys -t two quit Enter
wait_pane two 60 'DEMO-EXIT=[0-9]+'
expect_status "the demo ends after quit" 0 $?
out=$(pane two)
expect_match "the demo exits 1 when a container is left running" 'DEMO-EXIT=1' "$out"
expect_match "the demo says which containers still run" \
    "demo: containers still run in cgroup $CT_CGROUP_PARENT \\(pids [0-9 ]+\\):" "$out"
expect_match "the demo says the state stays, and how to stop them" \
    "demo: their state stays in $dir; to stop them, start cmld on it again:" "$out"
[ -d "$dir/var/lib/cml" ]
expect_status "the demo directory is kept" 0 $?
left=$(find /sys/fs/cgroup/*/"$CT_CGROUP_PARENT" /sys/fs/cgroup/"$CT_CGROUP_PARENT" \
    -name cgroup.procs -exec cat {} + 2>/dev/null)
expect_match "the container still runs" '[0-9]' "$left"

netns=cml-demo-$(printf '%s' "$dir" | sha256sum | cut -c 1-8)
expect_match "the demo says its network namespaces stay" \
    "demo: the network namespaces $netns and $netns-out stay too" "$out"

# as the demo says: cmld on the kept directory (in the kept namespace)
# finds the container again and stops it
STACK_RUNNING=0
CML_TEST_WRAP="nsenter --net=/run/netns/$netns"
stack_start
cmlsh_run -c 'container stop demo' >/dev/null
expect_status "cmld on the kept directory stops the container" 0 $?
expect_eq "nothing is left in the demo's cgroups then" "" \
    "$(find /sys/fs/cgroup/*/"$CT_CGROUP_PARENT" /sys/fs/cgroup/"$CT_CGROUP_PARENT" \
        -name cgroup.procs -exec cat {} + 2>/dev/null)"
stack_stop
ip netns pids "$netns-out" 2>/dev/null | xargs -r kill
ip netns del "$netns-out"
ip netns del "$netns"

finish
