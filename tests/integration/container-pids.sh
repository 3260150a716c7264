#!/bin/bash
# A container cannot have more processes than its PID limit: with a limit
# of 16 (pids.max of its group on the host), a loop that starts 40
# background processes stops with "can't fork: Resource temporarily
# unavailable"; the limit's hits are counted; while the container is full,
# an exec cannot even start and says why; the container keeps running,
# and once processes end, exec works again; the stop reports how often the
# limit was hit.  The host and other containers are not affected.
# Proves: APS 04 (the config's PID limit set and enforced),
# CR 7.1 (a fork bomb stays inside),
# CR 7.2 (the limit's hits in the reason).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

name=$(ct_name pids)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"linux":{"resources":{"pids":{"limit":16}}}}'
ct_start "$name"
ipid=$(ct_show "$name" pid)
pg=$(ct_cgroups "$name" | grep "/pids/$CT_CGROUP_PARENT/" || ct_cgroups "$name" | grep -v "/[a-z]*/$CT_CGROUP_PARENT/")
[ -n "$pg" ] && [ -f "$pg/pids.max" ] || fail "no pids cgroup of $name: $(ct_cgroups "$name")"

expect_eq "pids.max of the container's group" "16" "$(cat "$pg/pids.max")"
expect_eq "container show: the limit" "16" "$(ct_show "$name" pids)"
expect_eq "nothing hit the limit yet" "max 0" "$(cat "$pg/pids.events")"

# --- the loop that hits it -------------------------------------------------------------
# (the background processes let go of the output, so the exec ends with the loop)
out=$(ct_exec "$name" /bin/sh -c 'i=0; while [ $i -lt 40 ]; do sleep 600 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; echo all started' 2>"$SCRATCH/err")
expect_status "a loop starting 40 processes" 2 $?
expect_eq "the loop did not get to its end" "" "$out"
expect_eq "the loop stopped at the limit" "/bin/sh: can't fork: Resource temporarily unavailable" \
    "$(cat "$SCRATCH/err")"
hits=$(sed -n 's/^max //p' "$pg/pids.events")
CHECKS=$((CHECKS + 1))
if [ "${hits:-0}" -ge 1 ]; then
	_check_passed "the limit was hit ($hits times)"
else
	_check_failed "pids.events counts no hit: $(cat "$pg/pids.events")"
fi
sleeps=$(for p in $(cat "$pg/cgroup.procs"); do
	[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "sleep 600 " ] && echo "$p"
done)
expect_match "the processes started before the limit run on (below 16 in all)" '^[0-9]+$' \
    "$(wc -l <<<"$sleeps")"
CHECKS=$((CHECKS + 1))
n=$(wc -l <"$pg/cgroup.procs")
if [ "$n" -le 16 ]; then
	_check_passed "the group holds $n processes, at most 16"
else
	_check_failed "the group holds $n processes, more than 16"
fi

# --- full: an exec cannot start ----------------------------------------------------------
# an exec takes two processes while it runs (the one that joins, the
# command): one that stays fills what the loop left
"$CMLSH" --socket "$SOCK" container exec "$name" -- /bin/sleep 600 >/dev/null 2>&1 &
bgexec=$!
track_pid "$bgexec"
for ((i = 0; i < 50; i++)); do
	[ "$(cat "$pg/pids.current")" = 16 ] && break
	sleep 0.1
done
expect_eq "the container is full: pids.current is 16" "16" "$(cat "$pg/pids.current")"
ct_cmlsh container exec "$name" -- /bin/echo hello
expect_status "exec into the full container" 1 "$rc"
expect_eq "exec into the full container: why" \
    "cmlsh: cannot run /bin/echo in container '$name': fork into container '$name' failed: Resource temporarily unavailable" \
    "$(cat "$SCRATCH/err")"
expect_eq "the container still runs" "running" "$(ct_state "$name")"
expect_eq "its init still runs" "yes" "$(kill -0 "$ipid" 2>/dev/null && echo yes || echo no)"

# --- room again ------------------------------------------------------------------------
for p in $(cat "$pg/cgroup.procs"); do
	case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
	"sleep 600 " | "/bin/sleep 600 ") kill -KILL "$p" ;;
	esac
done
wait "$bgexec"
expect_status "the long exec ended with its sleep (SIGKILL)" 137 $?
untrack_pid "$bgexec"
for ((i = 0; i < 50; i++)); do
	[ "$(cat "$pg/pids.current")" -le 2 ] && break
	sleep 0.1
done
expect_eq "exec works again once processes ended" "hello" "$(ct_exec "$name" /bin/echo hello 2>&1)"

hits=$(sed -n 's/^max //p' "$pg/pids.events")
ct_cmlsh container stop "$name"
expect_status "stop" 0 "$rc"
expect_eq "stop: the limit's hits are part of the reason" \
"name:   $name
state:  stopped
reason: exited with status 0; its pids limit (16) was hit $hits time$([ "$hits" = 1 ] || echo s)" "$(cat "$SCRATCH/out")"
expect_eq "the host can still fork" "ok" "$(/bin/sh -c 'echo ok')"

finish
