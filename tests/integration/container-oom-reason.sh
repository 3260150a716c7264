#!/bin/bash
# The reason a container ended names what ended it: when the OOM killer
# ended a command run in the container earlier and its init lived on, a
# `container stop` asked for afterwards is a stop (state stopped, not
# failed), whose reason still tells of that OOM kill; a `container kill`
# is reported as killed by SIGKILL, not as killed by the OOM killer.
# Proves: OS 01 (stopped; with a reason that tells of the OOM kill),
# APS 04 (the memory limit enforced), CR 7.2 (the OOM reason reported),
# CR 2.8 (audited as a stop).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

name=$(ct_name oomr)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"linux":{"resources":{"memory":{"limit":67108864}}}}'

# --- stop -------------------------------------------------------------------------------
ct_start "$name"
out=$(ct_exec "$name" /bin/dd if=/dev/zero of=/dev/null bs=96M count=1 2>&1)
expect_status "a command taking 96 MiB against 64 is OOM-killed" 137 $?
expect_eq "the container runs on" "running" "$(ct_state "$name")"
ct_cmlsh container stop "$name"
expect_status "stop" 0 "$rc"
expect_eq "stop after a command was OOM-killed: stopped, as asked" "stopped" "$(ct_state "$name")"
expect_eq "stop after a command was OOM-killed: the reason tells of the OOM kill" \
    "exited with status 0 after the OOM killer ended 1 of its processes: memory limit 64 MiB" \
    "$(ct_show "$name" reason)"
expect_eq "stop: audited as stopped" "stopped" \
    "$(cmlsh_run --json -c 'audit list --last 2' | python3 -c 'import json, sys
print(json.load(sys.stdin)["records"][0]["result"])')"

# --- kill -------------------------------------------------------------------------------
ct_start "$name"
out=$(ct_exec "$name" /bin/dd if=/dev/zero of=/dev/null bs=96M count=1 2>&1)
expect_status "again a command is OOM-killed" 137 $?
ct_cmlsh --yes container kill "$name"
expect_status "kill" 0 "$rc"
expect_eq "kill after a command was OOM-killed: stopped, as asked" "stopped" "$(ct_state "$name")"
expect_match "kill after a command was OOM-killed: the reason names the kill" \
    '^killed by SIGKILL' "$(ct_show "$name" reason)"

finish
