#!/bin/bash
# A/B update of cml itself on the host: the built binaries installed into
# two prefixes (slot a and slot b of a slots directory), the real cmld run
# by cml-launch.  An update staged into the inactive slot and marked (as
# cmld will, through common/slot.c: tests/tools/slot-tool) is started once
# when the running cmld ends; killed before it confirms itself, the
# launcher starts the old slot again and records why; confirmed, it stays,
# also across a restart of the launcher; not confirmed in time, it is
# stopped and the old slot comes back; a launcher killed during a trial
# falls back at its next start.  Every check looks at the running cmld's
# executable (/proc/PID/exe), its environment, the state file and cmld's
# answers on its socket.  Also: a malformed state file stops the launcher
# with its line; what an interrupted update left is removed at the start.
# Proves: TSF.UPD, NDR 3.10 (an update of cml itself that does not confirm
# itself falls back to the old version, and the failure is recorded)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
SLOT_TOOL=$CML_BUILDDIR/tests/tools/slot-tool
need_launch
[ -x "$SLOT_TOOL" ] || skip "no tests/tools/slot-tool at $SLOT_TOOL: build first"

make_scratch
SLOTS=$SCRATCH/slots
LOG=$STACK_DIR/log/cmld.log
mkdir -p "$SLOTS" "$STACK_DIR/log" || fail "mkdir"
chmod 755 "$STACK_DIR" "$STACK_DIR/log"

# Prints the CML_SLOT of process PID's environment.
env_slot() {
	tr '\0' '\n' <"/proc/$1/environ" | sed -n 's/^CML_SLOT=//p'
}

# Prints fields of the state file: state_get FIELD...
state_get() {
	local f out=
	for f in "$@"; do
		out+="$f=$(sed -n "s/^$f=//p" "$SLOTS/state") "
	done
	echo "${out% }"
}

# Waits until the launcher has ended; its exit status in LRC (not in a
# subshell: only this shell can wait for it).
launch_wait() {
	wait "$LPID"
	LRC=$?
	untrack_pid "$LPID"
}

# Stages the build into the inactive slot as version V and marks it:
# stage_update V; prints the slot
stage_update() {
	local new
	new=$("$SLOT_TOOL" begin "$SLOTS" inactive) || fail "slot-tool begin failed"
	install_prefix "$new"
	"$SLOT_TOOL" commit "$SLOTS" "$(basename "$new" .new)" "$1" ||
	    fail "slot-tool commit failed"
	basename "$new" .new
}

install_prefix "$SLOTS/a"

# --- no state yet: slot a is good; --status changes nothing ---------------
out=$("$LAUNCH" --status --slots "$SLOTS")
expect_status "--status without a state file" 0 $?
expect_lines "--status without a state file" "$out" \
	"^slots:        $SLOTS\$" \
	'^state:        none written yet \(the installed slot is good\)$' \
	'^good:         a \(version unknown\)$' \
	'^tried:        none$' \
	'^last failure: none$' \
	"^slot a:       $SLOTS/a, installed\$" \
	"^slot b:       $SLOTS/b, not installed \(no sbin/cmld\)\$"
[ -e "$SLOTS/state" ] && fail "--status wrote $SLOTS/state"

launch_start --confirm-timeout 60
wait_cmld a
expect_eq "cmld runs with CML_SLOT=a" a "$(env_slot "$CPID")"
expect_eq "and CML_SLOTS" "CML_SLOTS=$SLOTS" \
	"$(tr '\0' '\n' <"/proc/$CPID/environ" | grep '^CML_SLOTS=')"

# --- an update to b, started when cmld ends; killed before confirming ------
slot=$(stage_update 0.2.0)
expect_eq "the update went to the inactive slot" b "$slot"
expect_eq "b is marked to be tried once" "good=a try=b tries=1 try_version=0.2.0" \
	"$(state_get good try tries try_version)"
out=$("$LAUNCH" --status --slots "$SLOTS" | sed -n 's/^tried: *//p')
expect_eq "--status shows the marked slot" \
	"b (version 0.2.0), marked: starts at the next start" "$out"
old=$CPID
t0=$(ms_now)
kill -TERM "$CPID"
wait_cmld b
t1=$(ms_now)
echo "# from SIGTERM to the old cmld to the new one answering: $((t1 - t0)) ms"
kill -0 "$old" 2>/dev/null && fail "a's cmld $old still runs next to b's"
expect_eq "cmld of b runs with CML_SLOT=b" b "$(env_slot "$CPID")"
expect_eq "b's one start was used before it ran" "good=a try=b tries=0" \
	"$(state_get good try tries)"
expect_between "a's cmld stopped and b's answered" 0 5000 $((t1 - t0))

kill -KILL "$CPID"
wait_cmld a
expect_eq "after b died unconfirmed, a runs again" "$SLOTS/a/sbin/cmld" \
	"$(readlink "/proc/$CPID/exe")"
expect_eq "the state records b's failure" \
	"good=a try=none tries=0 failed_slot=b failed_version=0.2.0 failed_reason=killed by signal 9 before confirming failed_reported=0" \
	"$(state_get good try tries failed_slot failed_version failed_reason failed_reported)"
out=$("$LAUNCH" --status --slots "$SLOTS" | sed -n 's/^last failure: *//p')
expect_match "--status shows the failure" \
	'^b \(version 0\.2\.0\) at 20[0-9-]{8}T[0-9:]{8}\.[0-9]{3}Z: killed by signal 9 before confirming \(not audited yet\)$' "$out"
expect_eq "cmld takes the failure to audit it" \
	"slot=b version=0.2.0 reported=0 reason=killed by signal 9 before confirming" \
	"$("$SLOT_TOOL" take-failure "$SLOTS")"
expect_eq "and only once" "" "$("$SLOT_TOOL" take-failure "$SLOTS")"
expect_eq "a late confirmation of b is refused" \
	"slot-tool: slot b is neither good (a) nor being tried: its trial ended before it was confirmed (see the last failure)" \
	"$("$SLOT_TOOL" mark-good "$SLOTS" b 2>&1)"
expect_eq "a stays good" "good=a try=none" "$(state_get good try)"

# --- an update that confirms itself stays, across a launcher restart ------
slot=$(stage_update 0.2.1)
kill -TERM "$CPID"
wait_cmld b
"$SLOT_TOOL" mark-good "$SLOTS" b || fail "mark-good b failed"
expect_eq "b confirmed" "good=b good_version=0.2.1 try=none tries=0" \
	"$(state_get good good_version try tries)"
expect_eq "the failure before stays recorded" "failed_slot=b failed_reported=1" \
	"$(state_get failed_slot failed_reported)"
# the launcher sees the confirmation (inotify): b's end is a good slot's
for ((i = 0; i < 50; i++)); do
	grep -q 'slot b (version 0.2.1) confirmed itself' "$LOG" && break
	sleep 0.1
done
expect_match "cml-launch saw the confirmation" 'confirmed itself: it is the good slot now' \
	"$(grep 'slot b (version 0.2.1) confirmed' "$LOG")"
kill -TERM "$LPID"
launch_wait
expect_eq "cml-launch stopped by SIGTERM ends with cmld's status" 0 "$LRC"
expect_eq "the stop changed nothing" "good=b try=none tries=0" \
	"$(state_get good try tries)"
launch_start --confirm-timeout 60
wait_cmld b
expect_eq "after a restart the confirmed b runs" b "$(env_slot "$CPID")"
# a good slot's cmld that dies ends the launcher with its status
kill -KILL "$CPID"
launch_wait
expect_eq "cml-launch ends with 128+9 when the good cmld is killed" 137 "$LRC"
expect_eq "and the good slot stays b" "good=b try=none" "$(state_get good try)"

# --- not confirmed in time: stopped, the good slot comes back --------------
slot=$(stage_update 0.3.0)
expect_eq "the next update goes to a" a "$slot"
launch_start --confirm-timeout 3
wait_cmld a
t0=$(ms_now)
expect_eq "a is on trial" "good=b try=a tries=0" "$(state_get good try tries)"
wait_cmld b
t1=$(ms_now)
expect_between "fallback after the confirm timeout of 3 s" 2000 6000 $((t1 - t0))
expect_eq "the timeout is recorded" \
	"good=b try=none failed_slot=a failed_version=0.3.0 failed_reason=not confirmed within 3 s failed_reported=0" \
	"$(state_get good try failed_slot failed_version failed_reason failed_reported)"

# --- the launcher killed during a trial: the next start falls back ---------
slot=$(stage_update 0.3.1)
kill -TERM "$CPID"
wait_cmld a
trial=$CPID
kill -KILL "$LPID"
launch_wait
# its cmld goes with it (parent-death signal), as with a power cut
for ((i = 0; i < 100; i++)); do
	kill -0 "$trial" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$trial" 2>/dev/null && fail "the trial's cmld $trial outlived its launcher"
expect_eq "the state still says a was started" "try=a tries=0" "$(state_get try tries)"
launch_start --confirm-timeout 60
wait_cmld b
expect_eq "the next start records a's failure" \
	"good=b try=none failed_slot=a failed_version=0.3.1 failed_reason=started but not confirmed before cml-launch started again" \
	"$(state_get good try failed_slot failed_version failed_reason)"
kill -TERM "$LPID"
launch_wait

# --- leftovers of a cut update go; a malformed state stops the launcher ----
new=$("$SLOT_TOOL" begin "$SLOTS" a) || fail "slot-tool begin a failed"
install_prefix "$new"
launch_start
wait_cmld b
expect_eq "a.new was removed at the start" no "$([ -e "$SLOTS/a.new" ] && echo yes || echo no)"
expect_match "and that was said" "removed a\.new in $SLOTS: left by an update that was cut off" \
	"$(grep 'cml-launch: removed' "$LOG")"
kill -TERM "$LPID"
launch_wait

cp "$SLOTS/state" "$SCRATCH/state.good"
sed -i 's/^tries=0$/tries=7/' "$SLOTS/state"
out=$("$LAUNCH" --slots "$SLOTS" -- sbin/cmld --root "$STACK_DIR" 2>&1)
expect_status "cml-launch refuses a malformed state" 1 $?
expect_eq "naming its line and field" \
	"cml-launch: $SLOTS/state line 5: field 'tries' needs 0 or 1" "$out"
out=$("$LAUNCH" --status --slots "$SLOTS" 2>&1)
expect_status "--status refuses it too" 1 $?
expect_eq "with the same words" \
	"cml-launch: $SLOTS/state line 5: field 'tries' needs 0 or 1" "$out"
cmp -s "$SLOTS/state" "$SCRATCH/state.good" && fail "the state was not edited"
expect_eq "and nothing was changed" "tries=7" "$(state_get tries)"

cp "$SCRATCH/state.good" "$SLOTS/state"
chmod o+w "$SLOTS"
out=$("$LAUNCH" --slots "$SLOTS" -- sbin/cmld --root "$STACK_DIR" 2>&1)
expect_status "cml-launch refuses a slots directory others can write" 1 $?
expect_eq "saying what to do" "cml-launch: $SLOTS is owned by uid 0 with mode 0757: others could plant what runs from it; make it uid 0's and not writable by group or others (chmod go-w)" "$out"
chmod o-w "$SLOTS"
chmod g+w "$SLOTS/b"
launch_start
for ((i = 0; i < 100; i++)); do
	kill -0 "$LPID" 2>/dev/null || break
	sleep 0.05
done
launch_wait
expect_eq "or a good slot others can write" 1 "$LRC"
expect_match "and says so" "cml-launch: the good slot cannot start: $SLOTS/b is owned by uid 0 with mode 0775" \
	"$(tail -n 1 "$LOG")"
chmod g-w "$SLOTS/b"

out=$("$LAUNCH" --slots "$SLOTS" -- /sbin/cmld 2>&1)
expect_status "an absolute PROGRAM is a usage error" 2 $?
expect_eq "said so" "cml-launch: PROGRAM must be a path inside a slot such as sbin/cmld, not '/sbin/cmld'" "$out"
out=$("$LAUNCH" --slots "$SLOTS" -- sbin/../../x 2>&1)
expect_status "a PROGRAM leaving the slot is a usage error" 2 $?

finish
