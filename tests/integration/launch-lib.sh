# Sourced by the tests that run cmld under cml-launch (after lib.sh), with
# $LAUNCH (the built cml-launch), $SLOTS (the slots directory) and $LOG
# (the log cmld and the launcher append to) set:
#
#   update_launch_need     skips unless root, the binaries, the guest OS
#                          tools, cml-launch and cml-bundle are there;
#                          sets LAUNCH and BUNDLE
#   install_prefix DIR     the built binaries in DIR as make install lays
#                          them out
#   launch_start [OPT...]  cml-launch on sbin/cmld --root $STACK_DIR;
#                          sets LPID, clears CPID
#   wait_cmld SLOT|any     waits until the launcher's child is a cmld
#                          (of SLOT) other than the last one seen,
#                          answering on its socket; sets CPID and CSLOT.
#                          With LAUNCH_RESTART=1 a launcher that ended is
#                          started again (it ends when its good slot's
#                          cmld dies and nothing is marked); else that
#                          fails the test
#   slot_get FIELD         a field of $SLOTS/state
#   wait_state FIELD VALUE waits until the state says so (10 s); 1 if not
#   launch_take_over       stops the cmld of stack_start (tpm2d and scd
#                          keep running), for the launcher to run it

LPID=
CPID=
CSLOT=

install_prefix() {
	local d=$1
	mkdir -p "$d/sbin" "$d/bin" "$d/libexec/cml" || fail "mkdir $d"
	if ! cp "$CML_BUILDDIR/daemon/cmld/cmld" "$CML_BUILDDIR/daemon/tpm2d/tpm2d" \
	    "$CML_BUILDDIR/daemon/scd/scd" "$LAUNCH" "$d/sbin/" ||
	    ! cp "$CMLSH" "$d/bin/" ||
	    ! cp "$CML_BUILDDIR/daemon/forward/cml-forward" "$d/libexec/cml/"; then
		fail "cannot install into $d"
	fi
}

launch_start() {
	echo "=== $(date -u +%H:%M:%S.%N) cml-launch $*" >>"$LOG"
	"$LAUNCH" --slots "$SLOTS" "$@" -- sbin/cmld --root "$STACK_DIR" \
	    --foreground --cgroup-parent "$CT_CGROUP_PARENT" \
	    </dev/null >>"$LOG" 2>&1 &
	LPID=$!
	track_pid "$LPID"
	CPID=
}

wait_cmld() {
	local want=$1 i pid exe lrc
	for ((i = 0; i < 400; i++)); do
		if ! kill -0 "$LPID" 2>/dev/null; then
			[ "${LAUNCH_RESTART:-0}" = 1 ] || break
			wait "$LPID"
			lrc=$?
			untrack_pid "$LPID"
			echo "# cml-launch ended (status $lrc): started again"
			launch_start
		fi
		pid=$(awk '{ print $1 }' "/proc/$LPID/task/$LPID/children" 2>/dev/null)
		if [ -n "$pid" ] && [ "$pid" != "$CPID" ]; then
			exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
			if [[ "$exe" == "$SLOTS"/[ab]/sbin/cmld ]] &&
			    { [ "$want" = any ] || [ "$exe" = "$SLOTS/$want/sbin/cmld" ]; } &&
			    cmlsh_run -c 'device status' >/dev/null 2>&1; then
				CPID=$pid
				CSLOT=${exe#"$SLOTS/"}
				CSLOT=${CSLOT%%/*}
				return 0
			fi
		fi
		sleep 0.05
	done
	fail "no cmld of slot $want answers under cml-launch $LPID (child ${pid:-none}: ${exe:-no exe})"
}

slot_get() {
	sed -n "s/^$1=//p" "$SLOTS/state"
}

wait_state() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(slot_get "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

launch_take_over() {
	cmld_end TERM
}

update_launch_need() {
	need_root
	need_binaries
	need_guestos_tools
	LAUNCH=$CML_BUILDDIR/daemon/launch/cml-launch
	BUNDLE=$CML_BUILDDIR/provisioning/cml-bundle
	[ -x "$LAUNCH" ] || skip "no cml-launch at $LAUNCH: build first"
	[ -x "$BUNDLE" ] || skip "no cml-bundle at $BUNDLE: build first"
}
