#!/bin/bash
# A stop is never lost on an init that has not caught SIGTERM yet: the
# kernel drops a signal from outside a PID namespace to its init while
# that init has no handler for it, so cmld looks at the init's SigCgt and
# sends SIGTERM again as soon as the init catches it.  50 start+stop
# cycles of an init that sets its TERM trap only 0.3 s after it started:
# each stop well under the stop timeout (5 s), the watch seen at work in
# at least half of them (the others had the trap by then).  An
# init that never catches SIGTERM (or ignores it) is killed at the stop
# timeout and the reason, reply and audit record say so.  With
# process.init_shim, PID 1 is cml's shim: `sleep 1000` as init (no
# handler at all) stops at once, killed by SIGTERM; the reported pid is
# the init's (the shim's child, pid 2 inside), the shim shares its
# namespaces and cgroups, keeps no capability and the same bounding set
# and seccomp mode; an orphan is reaped (without the shim it stays a
# zombie); the exit status is the init's; exec and the console log work,
# also in a user namespace of its own; a cmld restart
# finds the container again and the stop still works.
# Proves: OS 01 (stop with a timeout, never lost on a young init; the
# init shim), OS 05 (the shim with init's restrictions, no capability),
# CR 7.2 (orphans reaped, nothing left), CR 2.8 (the reason audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

# status_field PID KEY: a field of /proc/PID/status
status_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null
}
# nspid_last PID: the pid in its own PID namespace
nspid_last() {
	status_field "$1" NSpid | awk '{ print $NF }'
}
# zombies NAME: the zombies whose parent is a process of the container
# (zombies are not in cgroup.procs: found by their parent's pid)
zombies() {
	local d p stat rest procs=" "
	for d in $(ct_cgroups "$1"); do
		procs="$procs$(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null)"
	done
	for p in /proc/[0-9]*; do
		stat=$(cat "$p/stat" 2>/dev/null) || continue
		rest=${stat##*) }
		set -- $rest
		[ "$1" = Z ] && [[ "$procs" == *" $2 "* ]] && echo "${p#/proc/}"
	done
	return 0
}
# catches_term PID: "yes" when the process has a handler for SIGTERM
catches_term() {
	local cgt
	cgt=$(status_field "$1" SigCgt)
	[ -n "$cgt" ] && (((0x$cgt >> 14) & 1)) && echo yes || echo no
}
# log_count TEXT: the lines of cmld's log holding TEXT
log_count() {
	grep -c "$1" "$STACK_DIR/log/cmld.log"
}

cmlsh_run device config set stop_timeout 5 >/dev/null || fail "device config set stop_timeout 5 failed"

# --- (a) an init that catches SIGTERM only 0.3 s after it started ---------------------------------
late=$(ct_name late)
ct_create "$late" '{"name":"'"$late"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","sleep 0.3; trap \"exit 0\" TERM; while :; do sleep 1 & wait $!; done"]}}'
n_watch=$(log_count "$late: its init does not catch SIGTERM yet")
n_again=$(log_count "$late: its init catches SIGTERM now")
max=0 slow=0 bad=
for ((i = 0; i < 50; i++)); do
	"$CMLSH" --socket "$SOCK" -c "container start $late" >/dev/null || fail "start $i of $late failed"
	t0=$(ms_now)
	"$CMLSH" --socket "$SOCK" -c "container stop $late" >"$SCRATCH/out" 2>&1 || fail "stop $i of $late failed: $(cat "$SCRATCH/out")"
	el=$(($(ms_now) - t0))
	[ "$el" -gt "$max" ] && max=$el
	[ "$el" -ge 2000 ] && slow=$((slow + 1))
	grep -q '^reason: exited with status 0$' "$SCRATCH/out" || bad="$bad $i:$(grep reason "$SCRATCH/out")"
done
expect_eq "50 start+stop cycles of a late trap: none waits for the stop timeout (longest $max ms)" 0 "$slow"
expect_between "the longest stop, well under stop_timeout 5 s" 0 2000 "$max"
expect_eq "every stop ended the init by its trap (exited with status 0)" "" "$bad"
watched=$(($(log_count "$late: its init does not catch SIGTERM yet") - n_watch))
again=$(($(log_count "$late: its init catches SIGTERM now") - n_again))
expect_eq "the stops found the init without its handler and sent SIGTERM again ($watched watched, $again again)" \
    "yes" "$([ "$watched" -ge 25 ] && [ "$again" -eq "$watched" ] && echo yes || echo no)"
expect_eq "none was killed at the timeout" 0 "$(log_count "container $late did not stop within")"

# --- (b) an init that never catches SIGTERM -------------------------------------------------------
cmlsh_run device config set stop_timeout 1 >/dev/null || fail "device config set stop_timeout 1 failed"
deaf=$(ct_name deaf)
ct_create "$deaf" '{"name":"'"$deaf"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","while :; do sleep 1; done"]}}'
ct_start "$deaf"
ipid=$(ct_show "$deaf" pid)
expect_eq "its init catches no SIGTERM" "no" "$(catches_term "$ipid")"
ct_timed_stop "$deaf"
expect_status "stop of an init without a TERM handler" 0 "$rc"
expect_between "killed at the stop timeout (1 s)" 950 3000 "$elapsed"
expect_eq "the reply says why" "name:   $deaf
state:  stopped
reason: the init does not catch SIGTERM: killed after 1 s" "$(cat "$SCRATCH/out")"
expect_eq "audited with the reason" \
"type=container uid=0 pid=$(cmld_pid) container=$deaf object=container result=stopped details=the init does not catch SIGTERM: killed after 1 s
type=call uid=0 pid=$pid container=$deaf object=org.cml.Container.Stop result=ok details=$deaf stopped: the init does not catch SIGTERM: killed after 1 s" \
    "$(audit_tail 2)"
expect_match "cmld logs it" "container $deaf: its init does not catch SIGTERM" "$(cat "$STACK_DIR/log/cmld.log")"

# --- (c) the init shim ------------------------------------------------------------------------------
shim=$(ct_name shim)
ct_create "$shim" '{"name":"'"$shim"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sleep","1000"],"init_shim":true,"capabilities":{"bounding":["CAP_NET_BIND_SERVICE"]}}}'
expect_eq "the effective config shows init_shim" "true" \
    "$(cmlsh_run --json container config "$shim" | json_get config process init_shim)"
ct_start "$shim"
ipid=$(ct_show "$shim" pid)
ppid=$(status_field "$ipid" PPid)
expect_eq "the reported pid is the init's: sleep, pid 2 inside" "sleep 2" \
    "$(cat "/proc/$ipid/comm" 2>/dev/null) $(nspid_last "$ipid")"
expect_eq "its parent is the container's PID 1" "1" "$(nspid_last "$ppid")"
expect_eq "the shim catches SIGTERM, the init does not" "yes no" \
    "$(catches_term "$ppid") $(catches_term "$ipid")"
same=yes
for ns in mnt pid uts ipc net cgroup user; do
	[ "$(readlink "/proc/$ppid/ns/$ns")" = "$(readlink "/proc/$ipid/ns/$ns")" ] || same="no ($ns)"
done
expect_eq "the shim is in init's namespaces" yes "$same"
[ "$(readlink "/proc/$ipid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] || _check_failed "init is in the host's PID namespace"
expect_eq "the shim is in init's cgroups" "$(cat "/proc/$ipid/cgroup")" "$(cat "/proc/$ppid/cgroup")"
expect_eq "the shim holds no capability" "0000000000000000 0000000000000000" \
    "$(status_field "$ppid" CapEff) $(status_field "$ppid" CapPrm)"
expect_eq "the shim has init's bounding set, seccomp mode and no_new_privs" \
    "$(status_field "$ipid" CapBnd) $(status_field "$ipid" Seccomp) $(status_field "$ipid" NoNewPrivs)" \
    "$(status_field "$ppid" CapBnd) $(status_field "$ppid" Seccomp) $(status_field "$ppid" NoNewPrivs)"
expect_eq "the shim's root is init's" "$(stat -L -c %d:%i "/proc/$ipid/root/")" "$(stat -L -c %d:%i "/proc/$ppid/root/")"
expect_eq "the shim keeps no descriptor" "" "$(ls "/proc/$ppid/fd" 2>&1)"
expect_eq "exec works" "ok" "$(ct_exec "$shim" /bin/echo ok 2>&1)"
mntns=$(ct_mntns "$shim")
ct_timed_stop "$shim"
expect_status "stop of sleep under the shim" 0 "$rc"
expect_between "stopped at once" 0 900 "$elapsed"
expect_eq "the reason is the init's end" "name:   $shim
state:  stopped
reason: killed by SIGTERM" "$(cat "$SCRATCH/out")"
expect_eq "nothing of it is left on the host" "" "$(ct_leftovers "$shim" "$mntns")"

# an orphan: reaped by the shim, a zombie without it
orph=$(ct_name orphan)
orphan_cfg() {
	echo '{"name":"'"$orph"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","sh -c \"sleep 0.2 & exit 0\"; exec sleep 1000"]'"$1"'}}'
}
ct_create "$orph" "$(orphan_cfg '')"
ct_start "$orph"
sleep 1
expect_eq "without the shim the orphan stays a zombie (the check can fail)" 1 "$(zombies "$orph" | wc -l)"
cmlsh_run --yes container kill "$orph" >/dev/null || fail "kill $orph failed"
cmlsh_run --yes container remove "$orph" >/dev/null || fail "remove $orph failed"
ct_create "$orph" "$(orphan_cfg ',"init_shim":true')"
ct_start "$orph"
sleep 1
expect_eq "with the shim the orphan is reaped: no zombie" "" "$(zombies "$orph")"
expect_eq "init and the shim run on" "sleep running" \
    "$(cat "/proc/$(ct_show "$orph" pid)/comm") $(ct_state "$orph")"

# a cmld restart finds the shim's container again, by its init's pid
opid=$(ct_show "$orph" pid)
stack_stop
stack_start
expect_eq "found again after a cmld restart, the same init" "running $opid" "$(ct_state "$orph") $(ct_show "$orph" pid)"
ct_timed_stop "$orph"
expect_status "stop after the restart" 0 "$rc"
expect_between "stopped at once after the restart" 0 900 "$elapsed"

# the exit status is the init's; what it prints reaches the console log
st=$(ct_name status)
ct_create "$st" '{"name":"'"$st"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","echo said-$$; sleep 0.2; exit 7"],"init_shim":true}}'
ct_start "$st"
expect_eq "init's exit status 7 is the container's" "failed exited with status 7" \
    "$(ct_wait_state "$st" failed 5) $(ct_show "$st" reason)"
expect_match "what init printed is in the container's log" "^said-[0-9]+" "$(cmlsh_run container logs "$st" 2>&1)"

# in a user namespace of its own
us=$(ct_name userns)
ct_create "$us" '{"name":"'"$us"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sleep","1000"],"init_shim":true},"linux":{"user_namespace":true}}'
ct_start "$us"
ipid=$(ct_show "$us" pid)
ppid=$(status_field "$ipid" PPid)
expect_eq "userns: init is sleep, pid 2, its parent PID 1, in its user namespace" \
    "sleep 2 1 $(readlink "/proc/$ipid/ns/user")" \
    "$(cat "/proc/$ipid/comm") $(nspid_last "$ipid") $(nspid_last "$ppid") $(readlink "/proc/$ppid/ns/user")"
expect_eq "userns: the shim runs as the container's root, not the host's" \
    "$(status_field "$ipid" Uid)" "$(status_field "$ppid" Uid)"
expect_eq "userns: exec works" "ok" "$(ct_exec "$us" /bin/echo ok 2>&1)"
ct_timed_stop "$us"
expect_between "userns: stopped at once" 0 900 "$elapsed"
expect_eq "userns: killed by SIGTERM" "stopped killed by SIGTERM" "$(ct_state "$us") $(ct_show "$us" reason)"

# refused: the shim with CAP_SYS_PTRACE
path=$(ct_config bad '{"name":"bad","guestos":{"name":"busybox"},"process":{"init_shim":true,"capabilities":{"bounding":["CAP_SYS_PTRACE"]}}}')
ct_cmlsh container create "$path"
expect_status "init_shim with CAP_SYS_PTRACE refused" 1 "$rc"
expect_eq "refused: why" "cmlsh: container config $path refused: process.init_shim cannot go with CAP_SYS_PTRACE: the shim is a copy of cmld, whose memory a process that may trace it could read" \
    "$(cat "$SCRATCH/err")"

finish
