#!/bin/bash
# Containers outlive cmld, and a new cmld finds them again: after cmld is
# killed with SIGKILL while containers run, a running container is found
# running with the same init ("found running after a cmld restart",
# audited), takes exec and stops cleanly; a frozen one is found frozen and
# unfreezes; one whose init was killed while cmld was down is marked
# stopped ("it ended while cmld was not running", audited) and what it
# left (its cgroups) is removed; one whose guest OS was changed while cmld
# was down is stopped, killed and cleaned up; a stopped one stays as it
# was.  After a
# plain stop and start of cmld the running container is found again.  In
# the end nothing of any of them is left on the host, checked exactly: a
# process in a later namespace that got the number of a container's is
# not taken for the container's (the number alone would).
# Proves: OS 01 (found again after a restart or stopped and cleaned up),
# TSF.INIT (a container whose guest OS no longer verifies is stopped),
# CR 3.4, CR 7.2 (nothing left on the host, a leftover told from a later
# namespace of the same number),
# CR 2.8 (what was found audited), CR 2.12 (with cmld's own pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup
other_gos=$SCRATCH/other-1.0
guestos_make "$other_gos" other 1.0
_run_tool "guestos install other" "$CMLSH" --socket "$SOCK" guestos install "$other_gos"

run=$(ct_name rs-run)
gone=$(ct_name rs-gone)
frz=$(ct_name rs-frozen)
dead=$(ct_name rs-dead)
idle=$(ct_name rs-idle)
for c in "$run" "$frz" "$dead" "$idle"; do
	ct_create "$c" '{"name":"'"$c"'","guestos":{"name":"busybox"}}'
done
ct_create "$gone" '{"name":"'"$gone"'","guestos":{"name":"other"}}'
for c in "$run" "$frz" "$dead" "$gone"; do
	ct_start "$c"
done
cmlsh_run container freeze "$frz" >/dev/null || fail "freeze $frz failed"
run_pid=$(ct_show "$run" pid)
frz_pid=$(ct_show "$frz" pid)
dead_pid=$(ct_show "$dead" pid)
run_ns=$(ct_mntns "$run")
frz_ns=$(ct_mntns "$frz")
dead_ns=$(ct_mntns "$dead")
gone_pid=$(ct_show "$gone" pid)
gone_ns=$(ct_mntns "$gone")

# --- cmld killed ------------------------------------------------------------------------------
cpid=$(cmld_pid) || fail "no cmld"
kill -KILL "$cpid"
for ((i = 0; i < 50; i++)); do
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.1
done
STACK_RUNNING=0
expect_eq "cmld is gone" "gone" "$(kill -0 "$cpid" 2>/dev/null && echo running || echo gone)"
expect_eq "the containers' inits run on without cmld" "yes yes yes" \
    "$(for p in "$run_pid" "$frz_pid" "$dead_pid"; do kill -0 "$p" 2>/dev/null && echo yes || echo no; done | tr '\n' ' ' | sed 's/ $//')"

# one container's init dies while cmld is down
kill -KILL "$dead_pid"
for ((i = 0; i < 50; i++)); do
	[ -z "$(ct_ns_procs "$dead_ns" "$dead")" ] && break
	sleep 0.1
done
expect_eq "$dead's processes are gone" "" "$(ct_ns_procs "$dead_ns" "$dead")"
# The kernel gives the number of a freed namespace to the next one made,
# by anyone: a namespace made now takes that of $dead's, and a process in
# it is no leftover of $dead (issue 10, bug 5: this check once failed
# when another test's namespace got the number).
impostor=
for ((i = 0; i < 20 && ${#impostor} == 0; i++)); do
	unshare -m sleep 120 &
	p=$!
	track_pid "$p"
	for ((j = 0; j < 100; j++)); do
		[ "$(readlink "/proc/$p/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
		sleep 0.01
	done
	if [ "$(readlink "/proc/$p/ns/mnt")" = "${dead_ns%@*}" ]; then
		impostor=$p
	else
		kill "$p"
		wait "$p" 2>/dev/null
		untrack_pid "$p"
	fi
done
if [ -n "$impostor" ]; then
	expect_match "a new namespace has the number of $dead's: the number alone takes it for $dead's" \
	    "^$impostor \\(sleep, " "$(ct_ns_procs "${dead_ns%@*}" "$dead")"
	expect_eq "the exact check (number, start time, cgroup) does not" "" "$(ct_ns_procs "$dead_ns" "$dead")"
else
	echo "# no new namespace of ours got the number of $dead's (${dead_ns%@*}) in 20 tries: another holds it: $(ct_ns_procs "${dead_ns%@*}" | head -n 3 | tr '\n' ';')" >&2
fi
expect_match "$dead's cgroups are still there: nobody cleaned up yet" "/$CT_CGROUP_PARENT/$dead" "$(ct_cgroups "$dead")"

# another's guest OS is changed while cmld is down
sed -i 's/made by mkguestos/changed/' "$(state_dir)/guestos/other/1.0/manifest.json"

stack_start
expect_eq "the new cmld is ready" "$STACK_DIR/run/cml/control.sock" "$SOCK"

# --- what the new cmld found ------------------------------------------------------------------
expect_eq "$run: running, the same init" "running $run_pid" "$(ct_state "$run") $(ct_show "$run" pid)"
expect_eq "$frz: frozen, the same init" "frozen $frz_pid" "$(ct_state "$frz") $(ct_show "$frz" pid)"
expect_eq "$dead: stopped, with the reason" "stopped|it ended while cmld was not running" \
    "$(ct_state "$dead")|$(ct_show "$dead" reason)"
expect_eq "$gone: stopped, since its guest OS no longer verifies" \
    "stopped|stopped when cmld started: its guest OS is gone or no longer verifies" \
    "$(ct_state "$gone")|$(ct_show "$gone" reason)"
# (a zombie until whoever inherited it from the killed cmld collects it)
expect_eq "$gone's init was killed" "gone" \
    "$(case "$(awk '{ print $3 }' "/proc/$gone_pid/stat" 2>/dev/null)" in "" | Z) echo gone ;; *) echo running ;; esac)"
expect_eq "$idle: stopped, as it was" "stopped|" "$(ct_state "$idle")|$(ct_show "$idle" reason)"
audit=$(audit_tail 7)
expect_match "audited: $run found running" \
    "(^|"$'\n'")type=container uid=0 pid=$(cmld_pid) container=$run object=container result=ok details=found running after a cmld restart \\(init pid $run_pid\\)(\$|"$'\n'")" "$audit"
expect_match "audited: $frz found running (frozen)" \
    "(^|"$'\n'")type=container uid=0 pid=$(cmld_pid) container=$frz object=container result=ok details=found running after a cmld restart \\(init pid $frz_pid\\)(\$|"$'\n'")" "$audit"
expect_match "audited: $dead ended and cleaned up" \
    "(^|"$'\n'")type=container uid=0 pid=$(cmld_pid) container=$dead object=container result=stopped details=it ended while cmld was not running \\([^"$'\n'"]*\\); cleaned up(\$|"$'\n'")" "$audit"
expect_match "audited: $gone stopped and cleaned up" \
    "(^|"$'\n'")type=container uid=0 pid=$(cmld_pid) container=$gone object=container result=stopped details=stopped when cmld started: its guest OS is gone or no longer verifies \\(its guest OS is gone or no longer verifies\\); cleaned up(\$|"$'\n'")" "$audit"
CHECKS=$((CHECKS + 1))
if [[ "$audit" != *"container=$idle "* ]]; then
	_check_passed "nothing audited about $idle, which did not run"
else
	_check_failed "$idle was audited at the restart: $audit"
fi
expect_eq "nothing of $dead is left on the host" "" "$(ct_leftovers "$dead" "$dead_ns")"
expect_eq "nothing of $gone is left on the host" "" "$(ct_leftovers "$gone" "$gone_ns")"
if [ -n "$impostor" ]; then
	kill "$impostor"
	wait "$impostor" 2>/dev/null
	untrack_pid "$impostor"
fi

# --- they work as before ------------------------------------------------------------------------
expect_eq "$run takes exec" "ok" "$(ct_exec "$run" /bin/echo ok 2>&1)"
ct_cmlsh container exec "$frz" -- /bin/true
expect_eq "$frz refuses exec while frozen" \
    "cmlsh: container '$frz' is frozen: commands run only in a running container" "$(cat "$SCRATCH/err")"
ct_cmlsh container unfreeze "$frz"
expect_status "$frz unfreezes" 0 "$rc"
expect_eq "$frz takes exec once thawed" "ok" "$(ct_exec "$frz" /bin/echo ok 2>&1)"
ct_cmlsh container start "$dead"
expect_status "$dead starts again" 0 "$rc"

# --- a plain stop and start of cmld -------------------------------------------------------------
stack_stop
expect_eq "after cmld stopped, $run's init runs on" "yes" "$(kill -0 "$run_pid" 2>/dev/null && echo yes || echo no)"
stack_start
expect_eq "$run: found again after a plain restart" "running $run_pid" "$(ct_state "$run") $(ct_show "$run" pid)"
expect_match "audited: found again" "container=$run object=container result=ok details=found running after a cmld restart \\(init pid $run_pid\\)" \
    "$(audit_tail 12)"

# --- and they end cleanly --------------------------------------------------------------------------
ct_cmlsh container stop "$run"
expect_status "stop $run (adopted)" 0 "$rc"
expect_eq "stop $run: the reply" "name:   $run
state:  stopped
reason: ended (its exit status is unknown: cmld was restarted while it ran)" "$(cat "$SCRATCH/out")"
ct_cmlsh --yes container kill "$frz"
expect_status "kill $frz (adopted)" 0 "$rc"
dead_ns2=$(ct_mntns "$dead")
ct_cmlsh container stop "$dead"
expect_status "stop $dead (restarted)" 0 "$rc"
expect_eq "nothing of $run is left on the host" "" "$(ct_leftovers "$run" "$run_ns")"
expect_eq "nothing of $frz is left on the host" "" "$(ct_leftovers "$frz" "$frz_ns")"
expect_eq "nothing of $dead is left on the host" "" "$(ct_leftovers "$dead" "$dead_ns2")"

finish
