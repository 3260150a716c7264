#!/bin/bash
# `container stats` tells what each container uses, as its cgroups count
# it, and what the host's counters say agrees:
#   - a running container: uptime_seconds as its init's start time in
#     /proc says, growing; cpu_usec between the host's cpuacct.usage of its
#     group read before and after (so from its own group, not the root's),
#     growing by at least a busy loop's CPU time run inside it; memory_bytes
#     > 0; pids as many as the tasks of its pids group (>= 1), one more
#     after a process was started in it; memory_limit its config's limit;
#   - a stopped container: state stopped, its limit, and no uptime, CPU,
#     memory or pids; a frozen one still has them;
#   - NAME gives that container alone; an unknown one is refused with the
#     message and error of `container show`;
#   - cmld keeps the counters' files open while the container runs (one
#     read each per call) and closes them at its stop;
#   - after a plain stop and start of cmld, the running container found
#     again has the same uptime and CPU time, going on;
#   - an operator (group cml) may call it; the table of cmlsh has a column
#     for each member, "-" where a stopped container has none.
# Proves: CR 7.2 (each container's CPU, memory and PIDs use is visible,
# measured in its own cgroups), CR 2.1 (operators read it).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog setpriv getent groupadd
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] &&
    skip "/sys/fs/cgroup is cgroup v2 only: this test reads the v1 counters on the host"
for c in cpuacct memory pids; do
	[ "$(stat -f -c %T "/sys/fs/cgroup/$c" 2>/dev/null)" = cgroupfs ] ||
	    skip "no cgroup v1 $c hierarchy at /sys/fs/cgroup/$c"
done
ensure_groups
ct_setup
user_programs
P=$CT_CGROUP_PARENT
HZ=$(getconf CLK_TCK)

run=$(ct_name st-run)
idle=$(ct_name st-idle)
ct_create "$run" '{"name":"'"$run"'","guestos":{"name":"busybox"},"linux":{"resources":{"memory":{"limit":134217728}}}}'
ct_create "$idle" '{"name":"'"$idle"'","guestos":{"name":"busybox"}}'
ct_start "$run"
ipid=$(ct_show "$run" pid)

# stats [NAME]: `container stats --json`
stats() {
	cmlsh_run --json container stats "$@" 2>&1
}
# member JSON NAME KEY: KEY of container NAME's row, "absent" if missing
member() {
	python3 -c 'import json, sys
rows = [r for r in json.loads(sys.argv[1])["containers"] if r["name"] == sys.argv[2]]
if len(rows) != 1:
    print("<%d rows of %s>" % (len(rows), sys.argv[2]))
else:
    v = rows[0].get(sys.argv[3], "absent")
    print(v if isinstance(v, str) else json.dumps(v))' "$@" 2>&1
}
# the host's cpuacct.usage of the container's group: its own cpuacct
# group where cpuacct is a hierarchy apart, else its cpu group
if [ "$(stat -c %d /sys/fs/cgroup/cpuacct/)" = "$(stat -c %d /sys/fs/cgroup/cpu/)" ]; then
	ACCT=/sys/fs/cgroup/cpu/$P/$run/cpuacct.usage
else
	ACCT=/sys/fs/cgroup/cpuacct/$P/$run/cpuacct.usage
fi
# ... in microseconds
acct_usec() {
	echo $(($(cat "$ACCT" 2>/dev/null || echo -1000) / 1000))
}
# ge WHAT A B: checks A >= B (integers)
ge() {
	CHECKS=$((CHECKS + 1))
	if [[ "$2" =~ ^[0-9]+$ ]] && [[ "$3" =~ ^-?[0-9]+$ ]] && [ "$2" -ge "$3" ]; then
		_check_passed "$1"
	else
		_check_failed "$1: '$2' is not >= '$3'"
	fi
}
# counters NAME: the files of the container's groups cmld holds open
counters() {
	ls -l "/proc/$(cmld_pid)/fd" 2>/dev/null | grep -o "/sys/fs/cgroup/[a-z,]*/$P/$1/[a-z_.]*" | sort
}
# the files cmld reads for container $run, as the host names them
COUNTERS=$(realpath -m "$ACCT" "/sys/fs/cgroup/memory/$P/$run/memory.usage_in_bytes" \
    "/sys/fs/cgroup/pids/$P/$run/pids.current" | sort)

# --- a running and a stopped container -------------------------------------------------------
a0=$(acct_usec)
s=$(stats)
a1=$(acct_usec)
expect_eq "two rows, in the order of container list" "$run $idle" \
    "$(python3 -c 'import json, sys; print(" ".join(r["name"] for r in json.loads(sys.argv[1])["containers"]))' "$s" 2>&1)"
expect_eq "$run: running" running "$(member "$s" "$run" state)"
expect_eq "$run: its guest OS" busybox "$(member "$s" "$run" guestos)"
expect_eq "$run: its version" 1.0 "$(member "$s" "$run" version)"
expect_eq "$idle: no version before its first start" "" "$(member "$s" "$idle" version)"
up=$(member "$s" "$run" uptime_seconds)
start=$(ct_proc_start "$ipid")
want=$(( ($(ct_ticks) - start) / HZ ))
# (the second may turn between the call and the reading here)
expect_match "$run: uptime_seconds as init's start time says ($want)" \
    "^($want|$((want - 1)))\$" "$up"
cpu0=$(member "$s" "$run" cpu_usec)
ge "$run: cpu_usec >= cpuacct.usage of its group before the call" "$cpu0" "$a0"
ge "$run: cpuacct.usage of its group after the call >= cpu_usec" "$a1" "$cpu0"
ge "$run: memory_bytes > 0" "$(member "$s" "$run" memory_bytes)" 1
expect_eq "$run: pids as its pids group's tasks" \
    "$(wc -l <"/sys/fs/cgroup/pids/$P/$run/tasks")" "$(member "$s" "$run" pids)"
ge "$run: pids >= 1" "$(member "$s" "$run" pids)" 1
expect_eq "$run: memory_limit from its config" 134217728 "$(member "$s" "$run" memory_limit)"
expect_eq "$idle: stopped" stopped "$(member "$s" "$idle" state)"
expect_eq "$idle: the default memory limit" 268435456 "$(member "$s" "$idle" memory_limit)"
for k in uptime_seconds cpu_usec memory_bytes pids; do
	expect_eq "$idle: no $k while stopped" absent "$(member "$s" "$idle" "$k")"
done
expect_eq "cmld holds the counters of $run open" "$COUNTERS" "$(counters "$run")"

# --- it grows ---------------------------------------------------------------------------------
# a busy loop inside, timed by the host: the container's CPU time grows by
# at least the loop's own
ct_exec "$run" /bin/sh -c 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done' >/dev/null 2>&1 ||
    fail "the busy loop in $run failed"
sleep 1.1
s=$(stats "$run")
expect_eq "NAME: one row" 1 "$(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])["containers"]))' "$s" 2>&1)"
cpu1=$(member "$s" "$run" cpu_usec)
ge "$run: cpu_usec grew by the busy loop's 20 ms at least ($cpu0 -> $cpu1)" "$cpu1" "$((cpu0 + 20000))"
ge "$run: uptime_seconds grew ($up -> $(member "$s" "$run" uptime_seconds))" \
    "$(member "$s" "$run" uptime_seconds)" "$((up + 1))"
expect_eq "the same descriptors, none more" "$COUNTERS" "$(counters "$run")"

# a process more: the next call counts it (its CPU time moved)
ct_exec "$run" /bin/sh -c 'sleep 60 >/dev/null 2>&1 &' >/dev/null 2>&1 ||
    fail "cannot start a process in $run"
pids0=$(member "$s" "$run" pids)
s=$(stats "$run")
expect_eq "$run: one process more ($pids0 before)" "$((pids0 + 1))" "$(member "$s" "$run" pids)"
expect_eq "$run: pids as its pids group's tasks" \
    "$(wc -l <"/sys/fs/cgroup/pids/$P/$run/tasks")" "$(member "$s" "$run" pids)"

# --- frozen -----------------------------------------------------------------------------------
cmlsh_run container freeze "$run" >/dev/null || fail "freeze $run failed"
s=$(stats "$run")
expect_eq "$run: frozen" frozen "$(member "$s" "$run" state)"
for k in uptime_seconds cpu_usec memory_bytes pids; do
	ge "$run: $k while frozen" "$(member "$s" "$run" "$k")" 0
done
cmlsh_run container unfreeze "$run" >/dev/null || fail "unfreeze $run failed"

# --- unknown name -----------------------------------------------------------------------------
out=$(cmlsh_run container stats nosuch 2>&1)
rc=$?
expect_status "an unknown name: refused" 1 "$rc"
expect_eq "an unknown name: the message of container show" \
    "$(cmlsh_run container show nosuch 2>&1)" "$out"
expect_eq "an unknown name: NotFound, as container show" \
    "$(cmlsh_run --json container show nosuch 2>/dev/null | json_get error)" \
    "$(cmlsh_run --json container stats nosuch 2>/dev/null | json_get error)"

# --- the table --------------------------------------------------------------------------------
out=$(cmlsh_run container stats 2>&1)
expect_match "the table's header: a column for each member" \
    '^NAME +STATE +GUESTOS +VERSION +UPTIME SECONDS +CPU USEC +MEMORY BYTES +MEMORY LIMIT +PIDS'$'\n' "$out"
expect_match "the table: $run with numbers" \
    $'\n'"$run +running +busybox +1\\.0 +[0-9]+ +[0-9]+ +[0-9]+ +134217728 +[0-9]+"$'(\n|$)' "$out"
expect_match "the table: $idle with '-' where it has none" \
    $'\n'"$idle +stopped +busybox +- +- +- +- +268435456 +-"$'(\n|$)' "$out"

# --- an operator ------------------------------------------------------------------------------
out=$(as_user cml "$USER_CMLSH" --socket "$SOCK" --json container stats 2>&1)
expect_status "operator (group cml): container stats" 0 $?
ge "operator: sees $run's CPU time" "$(member "$out" "$run" cpu_usec)" "$cpu1"
out=$(as_user "" "$USER_CMLSH" --socket "$SOCK" container stats 2>&1)
expect_status "no group: refused" 1 $?

# --- cmld restarted: found again, counting on ------------------------------------------------
stack_stop
stack_start
s=$(stats "$run")
expect_eq "after a cmld restart: $run running" running "$(member "$s" "$run" state)"
ge "after a cmld restart: the same uptime, going on" "$(member "$s" "$run" uptime_seconds)" "$((up + 1))"
ge "after a cmld restart: the same CPU time, going on" "$(member "$s" "$run" cpu_usec)" "$cpu1"

# --- stopped: no counters, none held ----------------------------------------------------------
ct_cmlsh container stop "$run"
expect_status "stop $run" 0 "$rc"
s=$(stats "$run")
expect_eq "$run: stopped" stopped "$(member "$s" "$run" state)"
for k in uptime_seconds cpu_usec memory_bytes pids; do
	expect_eq "$run: no $k once stopped" absent "$(member "$s" "$run" "$k")"
done
expect_eq "cmld holds none of its counters once stopped" "" "$(counters "$run")"
expect_eq "nothing of it is left on the host" "" "$(ct_leftovers "$run")"

finish
