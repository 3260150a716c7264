#!/bin/bash
# A container cannot use more memory than its limit: the host's memory
# cgroup of a container with a 64 MiB limit says 67108864; a command that
# takes 96 MiB inside is killed by the OOM killer (exit status 137) while
# the container runs on; a container whose init takes 96 MiB is killed and
# reported failed with the reason "killed by the OOM killer: memory limit
# 64 MiB" by `container list` and `container show`, audited, and cleaned
# up.
# Proves: APS 04 (the config's memory limit set and enforced),
# CR 7.1 (a container cannot exhaust memory),
# CR 7.2 (the OOM reason reported; nothing left),
# OS 01 (failed with the reason), CR 2.8 (the failure audited),
# CR 2.12 (with cmld's pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup
[ "$(awk '$1 == "SwapTotal:" { print $2 }' /proc/meminfo)" = 0 ] ||
    echo "# this host has swap: the memory limit counts memory only, so the test takes 96 MiB against 64"

reason="killed by the OOM killer: memory limit 64 MiB"

# --- init takes too much (alone on the host's loop devices) -----------------------------------------------------------------
hog=$(ct_name hog)
ct_create "$hog" '{"name":"'"$hog"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","sleep 0.5; exec dd if=/dev/zero of=/dev/null bs=96M count=1"]},"linux":{"resources":{"memory":{"limit":67108864}}}}'
n0=$(audit_count)
ct_cmlsh container start "$hog"
expect_status "start $hog" 0 "$rc"
expect_match "start $hog: it runs" "^name: +$hog"$'\n'"state: +running"$'\n'"pid: +[0-9]+\$" "$(cat "$SCRATCH/out")"
expect_eq "$hog is killed and reported failed" "failed" "$(ct_wait_state "$hog" failed 10)"
expect_eq "container show: the reason" "$reason" "$(ct_show "$hog" reason)"
expect_match "container list: failed with the reason" \
    "(^|"$'\n'")$hog +failed +busybox +1\\.0 +- +$(re_quote "$reason")(\$|"$'\n'")" "$(cmlsh_run container list 2>&1)"
expect_eq "audited: the start, then the failure with the reason" \
    "$((n0 + 2))
type=container uid=0 pid=$(cmld_pid) container=$hog object=container result=failed details=$reason" "$(audit_last)"
expect_eq "nothing of $hog is left on the host" "" "$(ct_leftovers "$hog")"

# and it starts again (and fails again the same way)
ct_cmlsh container start "$hog"
expect_status "start $hog again" 0 "$rc"
expect_eq "$hog fails again" "failed" "$(ct_wait_state "$hog" failed 10)"
expect_eq "the same reason" "$reason" "$(ct_show "$hog" reason)"

# --- a command inside takes too much ------------------------------------------------------
name=$(ct_name oom)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"linux":{"resources":{"memory":{"limit":67108864}}}}'
ct_start "$name"
mg=$(ct_cgroups "$name" | grep "/memory/$CT_CGROUP_PARENT/")
if [ -n "$mg" ]; then
	expect_eq "memory.limit_in_bytes of the container's group" "67108864" \
	    "$(cat "$mg/memory.limit_in_bytes")"
else
	mg=$(ct_cgroups "$name" | head -n 1)
	expect_eq "memory.max of the container's group (cgroup v2)" "67108864" "$(cat "$mg/memory.max")"
fi
expect_eq "container show: the limit" "64 MiB" "$(ct_show "$name" memory)"
out=$(ct_exec "$name" /bin/dd if=/dev/zero of=/dev/null bs=96M count=1 2>&1)
expect_status "dd with a 96 MiB buffer inside: killed (128 + SIGKILL)" 137 $?
expect_eq "dd: no output, it was killed" "" "$out"
if [ -f "$mg/memory.oom_control" ]; then
	expect_match "the host counts an OOM kill in the group" $'\noom_kill [1-9]' \
	    "$(cat "$mg/memory.oom_control")"
fi
expect_eq "the container runs on: its init was not the one killed" "running" "$(ct_state "$name")"
expect_eq "an exec after the OOM kill works" "ok" "$(ct_exec "$name" /bin/echo ok 2>&1)"

finish
