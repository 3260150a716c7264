#!/bin/bash
# `container stop` sends SIGTERM to init and, when init ignores it, SIGKILL
# after the device setting stop_timeout: with stop_timeout 1 an init that
# ignores SIGTERM is stopped after about a second, reported "the init
# ignores SIGTERM: killed after 1 s" (stopped, as asked), and cleaned up;
# with 2, after about two;
# an init that obeys stops at once; `container kill` does not wait.
# Proves: OS 01 (stop with a configurable timeout; then SIGKILL),
# CR 7.6 (stop_timeout applies at once), CR 7.2 (nothing left),
# CR 2.8 (audited), CR 2.12 (the caller's and cmld's pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

deaf=$(ct_name deaf)
ct_create "$deaf" '{"name":"'"$deaf"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","trap \"\" TERM; while :; do sleep 1; done"]}}'
ok=$(ct_name obeys)
ct_create "$ok" '{"name":"'"$ok"'","guestos":{"name":"busybox"}}'

expect_eq "stop_timeout is 10 by default" "10" \
    "$(cmlsh_run --json device config get stop_timeout | json_get settings 0 value)"
cmlsh_run device config set stop_timeout 1 >/dev/null || fail "device config set stop_timeout 1 failed"

# --- an init that ignores SIGTERM ---------------------------------------------------------
ct_start "$deaf"
ipid=$(ct_show "$deaf" pid)
ign=$(sed -n 's/^SigIgn:\t//p' "/proc/$ipid/status")
expect_eq "init ignores SIGTERM (SigIgn $ign)" "yes" \
    "$([ -n "$ign" ] && (((0x$ign >> 14) & 1)) && echo yes || echo no)"
mntns=$(ct_mntns "$deaf")
n0=$(audit_count)
ct_timed_stop "$deaf"
expect_status "stop with stop_timeout 1" 0 "$rc"
expect_between "stop with stop_timeout 1: SIGKILL after about a second" 950 3000 "$elapsed"
expect_eq "stop: the reply says why" "name:   $deaf
state:  stopped
reason: the init ignores SIGTERM: killed after 1 s" "$(cat "$SCRATCH/out")"
expect_eq "stop: audited" \
"type=container uid=0 pid=$(cmld_pid) container=$deaf object=container result=stopped details=the init ignores SIGTERM: killed after 1 s
type=call uid=0 pid=$pid container=$deaf object=org.cml.Container.Stop result=ok details=$deaf stopped: the init ignores SIGTERM: killed after 1 s" \
    "$(audit_tail 2)"
expect_match "cmld logs the escalation" "container $deaf did not stop within 1 s: killing it" \
    "$(cat "$STACK_DIR/log/cmld.log")"
expect_eq "nothing of it is left on the host" "" "$(ct_leftovers "$deaf" "$mntns")"

cmlsh_run device config set stop_timeout 2 >/dev/null || fail "device config set stop_timeout 2 failed"
ct_start "$deaf"
ct_timed_stop "$deaf"
expect_status "stop with stop_timeout 2" 0 "$rc"
expect_between "stop with stop_timeout 2: SIGKILL after about two seconds" 1950 4000 "$elapsed"
expect_eq "stopped" "stopped the init ignores SIGTERM: killed after 2 s" "$(ct_state "$deaf") $(ct_show "$deaf" reason)"

# --- kill does not wait ----------------------------------------------------------------------
ct_start "$deaf"
t0=$(ms_now)
ct_cmlsh --yes container kill "$deaf"
elapsed=$(($(ms_now) - t0))
expect_status "kill" 0 "$rc"
expect_between "kill: at once" 0 900 "$elapsed"
expect_eq "kill: the reply" "name:   $deaf
state:  stopped
reason: killed by SIGKILL" "$(cat "$SCRATCH/out")"

# --- an init that obeys ------------------------------------------------------------------------
ct_start "$ok"
ct_timed_stop "$ok"
expect_status "stop of an init that obeys" 0 "$rc"
expect_between "stop of an init that obeys: at once" 0 900 "$elapsed"
expect_eq "stop of an init that obeys: exited with status 0" "stopped exited with status 0" \
    "$(ct_state "$ok") $(ct_show "$ok" reason)"

finish
