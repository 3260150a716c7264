#!/bin/bash
# What a container sets up on the host goes when it ends, checked from the
# host: while it runs, its cgroups, a loop device of the root image, its
# mount point directory and the processes in its mount namespace are
# there (so the check can see them); after `container stop`, after
# `container kill` (with a process an exec left behind), and after a kill
# of a frozen container, none is left: no cgroup, no loop device of the
# state directory, no host mount under the stack, no directory, no
# process in its mount namespace, and cmld holds no descriptor of the
# image, a loop device or the container's namespaces.
# Proves: OS 01 (stop and kill leave nothing behind),
# CR 7.2 (no cgroup or mount or loop device or descriptor left).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

name=$(ct_name clean)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"}}'
img=$(state_dir)/guestos/busybox/1.0/root.squashfs

# cmld_holds: cmld's descriptors of the image, loop devices or namespaces
cmld_holds() {
	local p
	p=$(cmld_pid) || {
		echo "<no cmld>"
		return
	}
	# cmld keeps its own network namespace open (c0's, net.c): not a
	# container's
	for f in /proc/"$p"/fd/*; do
		readlink "$f" 2>/dev/null
	done | grep -v -x -F "$(readlink "/proc/$p/ns/net")" |
	    grep -E "^(/dev/loop|$(re_quote "$img")|(mnt|pid|net|ipc|uts|cgroup):\\[)" || true
}
# running_leftovers DESC: what the check sees while the container runs
running_leftovers() {
	local l
	l=$(ct_leftovers "$name" "$(ct_mntns "$name")")
	expect_match "$1: its cgroups are there" "(^|"$'\n'")cgroup [^"$'\n'"]*/$CT_CGROUP_PARENT/$name(\$|"$'\n'")" "$l"
	expect_match "$1: a loop device of the root image is there" \
	    "^loop[0-9]+ $(re_quote "$img")\$" "$(ct_loops)"
	expect_match "$1: its mount point directory is there" "(^|"$'\n'")directory " "$l"
	expect_match "$1: its processes are there" "(^|"$'\n'")process in mnt:" "$l"
}

for how in stop kill frozen-kill; do
	ct_start "$name"
	mntns=$(ct_mntns "$name")
	running_leftovers "$how, while it runs"
	case "$how" in
	stop)
		ct_cmlsh container stop "$name"
		expect_status "stop" 0 "$rc"
		;;
	kill)
		# a process an exec left behind, outside init's children
		ct_exec "$name" /bin/sh -c "setsid sleep 9$$ </dev/null >/dev/null 2>&1 &" >/dev/null 2>&1
		expect_eq "kill: a process outside init's children runs" "1" "$(pgrep -cxf "sleep 9$$")"
		ct_cmlsh --yes container kill "$name"
		expect_status "kill" 0 "$rc"
		expect_eq "kill: that process is gone too" "0" "$(pgrep -cxf "sleep 9$$")"
		;;
	frozen-kill)
		cmlsh_run container freeze "$name" >/dev/null || fail "freeze failed"
		ct_cmlsh --yes container kill "$name"
		expect_status "kill of a frozen container" 0 "$rc"
		expect_eq "kill of a frozen container: the reply" "name:   $name
state:  stopped
reason: killed by SIGKILL" "$(cat "$SCRATCH/out")"
		;;
	esac
	expect_eq "$how: stopped" "stopped" "$(ct_state "$name")"
	expect_eq "$how: nothing is left on the host" "" "$(ct_leftovers "$name" "$mntns")"
	expect_eq "$how: cmld holds no image, loop device or namespace" "" "$(cmld_holds)"
done

finish
