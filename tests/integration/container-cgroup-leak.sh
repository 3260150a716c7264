#!/bin/bash
# No cgroup of a container that does not run survives a cmld restart, a
# `container stop` or a `container remove`, whichever cmld crash or earlier
# run left it; and a group that holds a process cmld did not start is never
# taken over or removed, only reported.
#   - cmld killed with SIGKILL 0 to 40 ms after `container start` (in steps
#     of 4 ms; here most delays leave the groups made and init not yet
#     recorded running): after the restart the container is stopped with no
#     group left in any hierarchy, or, when the start had got as far as a
#     running init, it is found running and leaves nothing after `container
#     stop`;
#   - empty groups made by hand for a known, stopped container in every
#     hierarchy under the test's cgroup parent (one with a group below it):
#     gone after the restart, in one audit record (and one log line); a
#     stopped container without leftovers is not audited;
#   - the same groups made by hand while cmld runs: `container stop` of the
#     stopped container answers as before ("is not running") and removes
#     them; so does `container remove`;
#   - a group named like a stopped container's that holds a foreign `sleep`:
#     after a restart, a `container stop` and a `container remove` the
#     group and the process are still there (and so are the container's
#     other groups: nothing of a name whose groups are in use is touched),
#     each time reported in the log and in an audit record naming the group
#     and the pid.
# Proves: CR 7.2 (no cgroup left behind; also after a crash),
# OS 01 (after a restart the container is stopped with nothing left),
# TSF.ISOL (a group holding a foreign process is never taken over),
# CR 2.8 (what was removed or kept is audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup
P=$CT_CGROUP_PARENT

# Prints every cgroup hierarchy: /sys/fs/cgroup itself on a v2-only host,
# else each cgroup file system mounted in it (cpu, memory, ..., unified).
hierarchies() {
	local d t
	if [ "$(stat -f -c %T "$CT_CGROUP_ROOT")" = cgroup2fs ]; then
		echo "$CT_CGROUP_ROOT"
		return 0
	fi
	for d in "$CT_CGROUP_ROOT"/*; do
		[ -d "$d" ] || continue
		t=$(stat -f -c %T "$d/")
		case "$t" in
		cgroupfs | cgroup2fs) echo "$d" ;;
		esac
	done
	return 0
}
mapfile -t HIERS < <(hierarchies)
[ "${#HIERS[@]}" -gt 0 ] || skip "no cgroup hierarchy under $CT_CGROUP_ROOT"
echo "# hierarchies: ${HIERS[*]}"

# Makes empty groups PARENT/NAME in every hierarchy (and PARENT/NAME/sub in
# the first): make_groups NAME
make_groups() {
	local h
	for h in "${HIERS[@]}"; do
		mkdir -p "$h/$P/$1" || fail "cannot make $h/$P/$1"
	done
	mkdir -p "${HIERS[0]}/$P/$1/sub" || fail "cannot make ${HIERS[0]}/$P/$1/sub"
}

# Prints every group directory of a container left in any hierarchy, the
# ones below it included.
groups_of() {
	local h
	for h in "${HIERS[@]}"; do
		[ -d "$h/$P/$1" ] && find "$h/$P/$1" -type d
	done
	return 0
}

# Prints the audit records about a container since record N0:
# audit_since N0 NAME
audit_since() {
	cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
n0, name = int(sys.argv[1]), sys.argv[2]
for r in json.load(sys.stdin)["records"][n0:]:
    if r["container"] == name and r["type"] == "container":
        print("result=%s details=%s" % (r["result"], r["details"]))' "$1" "$2"
}

# Waits until cmld (pid $1) has gone.
cmld_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "cmld $1 did not end after SIGKILL"
}

# --- cmld killed during a start ------------------------------------------------------------
crash=$(ct_name leak-crash)
ct_create "$crash" '{"name":"'"$crash"'","guestos":{"name":"busybox"}}'
left_by_crash=0
delays=0
for ms in 0 4 8 12 16 20 24 28 32 36 40; do
	delays=$((delays + 1))
	cpid=$(cmld_pid) || fail "no cmld"
	"$CMLSH" --socket "$SOCK" container start "$crash" >/dev/null 2>&1 &
	spid=$!
	sleep "$(printf '0.%03d' "$ms")"
	kill -KILL "$cpid"
	wait "$spid"
	cmld_gone "$cpid"
	STACK_RUNNING=0
	n=$(groups_of "$crash" | wc -l)
	[ "$n" -gt 0 ] && left_by_crash=$((left_by_crash + 1))
	stack_start
	state=$(ct_state "$crash")
	echo "# killed at $ms ms: $n groups left; after the restart $state ($(ct_show "$crash" reason))"
	case "$state" in
	running)
		# (it may end on its own meanwhile: a start cut short just after
		# cmld moved init into its groups)
		ct_cmlsh container stop "$crash"
		expect_match "killed at $ms ms: found running, then stopped" \
		    "^(0|1 cmlsh: container '$crash' is not running \\((stopped|failed)\\))\$" \
		    "$rc$([ "$rc" = 0 ] || echo " $(cat "$SCRATCH/err")")"
		expect_eq "killed at $ms ms, found running: no cgroup left after stop" "" "$(groups_of "$crash")"
		;;
	*)
		expect_match "killed at $ms ms: stopped after the restart" "^(stopped|failed)\$" "$state"
		expect_eq "killed at $ms ms: no cgroup left after the restart" "" "$(groups_of "$crash")"
		;;
	esac
	expect_eq "killed at $ms ms: nothing else of it left on the host" "" "$(ct_leftovers "$crash" | grep -v '^cgroup ')"
done
echo "# cmld's death left cgroups of $crash behind at $left_by_crash of $delays delays"
if [ "$left_by_crash" = 0 ]; then
	echo "# ######################################################################"
	echo "# NOTE: no delay caught cmld between making the groups and recording the"
	echo "# start; the groups made by hand below still test the clean-up."
	echo "# ######################################################################"
fi

# --- groups made by hand, found at a restart -----------------------------------------------
hand=$(ct_name leak-hand)
idle=$(ct_name leak-idle)
ct_create "$hand" '{"name":"'"$hand"'","guestos":{"name":"busybox"}}'
ct_create "$idle" '{"name":"'"$idle"'","guestos":{"name":"busybox"}}'
n0=$(audit_count)
stack_stop
make_groups "$hand"
n_made=$(groups_of "$hand" | wc -l)
expect_eq "made by hand: a group in each of ${#HIERS[@]} hierarchies and one below" "$((${#HIERS[@]} + 1))" "$n_made"
stack_start
expect_eq "after the restart: $hand stopped" stopped "$(ct_state "$hand")"
expect_eq "after the restart: no group of $hand left in any hierarchy" "" "$(groups_of "$hand")"
audit=$(audit_since "$n0" "$hand")
expect_match "after the restart: one audit record of what was removed" \
    "^result=ok details=removed the leftover cgroups of container '$hand', which does not run: [^"$'\n'"]*/$P/$hand/sub, [^"$'\n'"]*/$P/$hand(\$|, )" \
    "$audit"
for h in "${HIERS[@]}"; do
	expect_match "the audit record names $h/$P/$hand" "(: |, )$(re_quote "$h/$P/$hand")(\$|, )" "$audit"
done
expect_eq "one log line about it" 1 "$(grep -c "removed the leftover cgroups of container '$hand'" "$STACK_DIR/log/cmld.log")"
expect_eq "nothing audited about $idle, which left nothing" "" "$(audit_since "$n0" "$idle")"

# --- container stop and container remove of a stopped container -------------------------
make_groups "$hand"
n0=$(audit_count)
ct_cmlsh container stop "$hand"
expect_status "stop of stopped $hand with leftovers: refused as before" 1 "$rc"
expect_eq "stop: the message as before" "cmlsh: container '$hand' is not running (stopped)" "$(cat "$SCRATCH/err")"
expect_eq "stop: no group of $hand left" "" "$(groups_of "$hand")"
expect_match "stop: audited" "^result=ok details=removed the leftover cgroups of container '$hand', which does not run: " \
    "$(audit_since "$n0" "$hand")"

make_groups "$hand"
ct_cmlsh --yes container remove "$hand"
expect_status "remove of $hand with leftovers" 0 "$rc"
expect_eq "remove: no group of $hand left" "" "$(groups_of "$hand")"
expect_eq "remove: $hand is gone" "" "$(ct_list | grep "^$hand ")"

# --- a foreign process in a group named like a stopped container's -------------------------
foreign=$(ct_name leak-foreign)
ct_create "$foreign" '{"name":"'"$foreign"'","guestos":{"name":"busybox"}}'
make_groups "$foreign"
held=${HIERS[${#HIERS[@]} - 1]}/$P/$foreign
for h in "${HIERS[@]}"; do
	case "$h" in */memory) held=$h/$P/$foreign ;; esac
done
sleep 300 &
sp=$!
track_pid "$sp"
echo "$sp" >"$held/cgroup.procs" || fail "cannot move sleep $sp into $held"
before=$(groups_of "$foreign" | sort)
expect_eq "sleep $sp is in $held" "$sp" "$(cat "$held/cgroup.procs")"

# kept_checks WHEN N0: the group, the process and the report
kept_checks() {
	expect_eq "$1: $held still holds sleep $sp" "$sp" "$(cat "$held/cgroup.procs" 2>&1)"
	expect_eq "$1: sleep $sp lives" alive "$(kill -0 "$sp" 2>/dev/null && echo alive || echo gone)"
	expect_eq "$1: no group of $foreign removed" "$before" "$(groups_of "$foreign" | sort)"
	expect_match "$1: reported in one audit record naming the group and the pid" \
	    "^result=org\\.cml\\.Error\\.Busy details=[^"$'\n'"]*cgroup $(re_quote "$held") holds 1 process cmld did not start \\(pid $sp\\)[^"$'\n'"]*\$" \
	    "$(audit_since "$2" "$foreign")"
}
n0=$(audit_count)
stack_stop
logged0=$(grep -c "container $foreign: .*cgroup $(re_quote "$held") holds 1 process" "$STACK_DIR/log/cmld.log")
stack_start
expect_eq "after the restart: $foreign stopped" stopped "$(ct_state "$foreign")"
kept_checks "after the restart" "$n0"
expect_eq "after the restart: logged" "$((logged0 + 1))" \
    "$(grep -c "container $foreign: .*cgroup $(re_quote "$held") holds 1 process" "$STACK_DIR/log/cmld.log")"
n0=$(audit_count)
ct_cmlsh container stop "$foreign"
expect_status "stop of stopped $foreign" 1 "$rc"
kept_checks "after stop" "$n0"
n0=$(audit_count)
ct_cmlsh --yes container remove "$foreign"
expect_status "remove of $foreign" 0 "$rc"
kept_checks "after remove" "$n0"

kill -KILL "$sp"
wait "$sp" 2>/dev/null
untrack_pid "$sp"
for d in $(groups_of "$foreign" | sort -r); do
	rmdir "$d"
done

finish
