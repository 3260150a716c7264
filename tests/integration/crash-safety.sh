#!/bin/bash
# Crash safety of the state store: while a loop changes device_name as fast
# as it can, cmld is killed with SIGKILL several times and restarted.  Each
# restart must succeed, the database must pass PRAGMA quick_check, and the
# stored name must be one that was written and no older than the last one
# cmld acknowledged (acknowledged means committed).
# Proves: CR 3.4 (acknowledged writes survive SIGKILL; the database intact).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog sqlite3
stack_start

KILLS=5
db=$STACK_DIR/var/lib/cml/cml.db
writer_dir=$SCRATCH/writer
mkdir -p "$writer_dir"
echo 0 >"$writer_dir/next"

# The writer: sets n1, n2, ... and records, after each acknowledged set,
# its number in acked; the next number survives across writer restarts.
start_writer() {
	rm -f "$writer_dir/stop"
	(
		i=$(cat "$writer_dir/next")
		while [ ! -e "$writer_dir/stop" ]; do
			i=$((i + 1))
			echo "$i" >"$writer_dir/next"
			if "$CMLSH" --socket "$SOCK" -c "device config set device_name n$i" \
			    >/dev/null 2>&1; then
				echo "$i" >"$writer_dir/acked"
			fi
		done
	) &
	writer=$!
	track_pid "$writer"
}
stop_writer() {
	touch "$writer_dir/stop"
	wait "$writer"
	untrack_pid "$writer"
}

# stored_name: device_name as cmld has it
stored_name() {
	cmlsh_run --json -c 'device config get device_name' | json_get settings 0 value
}

for ((k = 1; k <= KILLS; k++)); do
	start_writer
	# let some writes through, then kill mid-stream
	for ((w = 0; w < 50; w++)); do
		[ -s "$writer_dir/acked" ] && [ "$(cat "$writer_dir/acked")" -ge $((k * 10)) ] && break
		sleep 0.1
	done
	sleep 0.$((RANDOM % 3 + 1))
	cmld_kill9
	stop_writer
	acked=$(cat "$writer_dir/acked" 2>/dev/null || echo 0)
	written=$(cat "$writer_dir/next")
	STACK_RUNNING=0

	# restart on the same state
	out=$("$STACK" start "$STACK_DIR" 2>"$SCRATCH/err")
	rc=$?
	[ -s "$SCRATCH/err" ] && cat "$SCRATCH/err" >&2
	expect_status "kill $k: cmld restarts" 0 $rc
	[ $rc = 0 ] || fail "cmld did not restart after kill $k"
	STACK_RUNNING=1
	expect_eq "kill $k: database quick_check" ok "$(sqlite3 "$db" 'PRAGMA quick_check' 2>&1)"
	name=$(stored_name)
	expect_match "kill $k: device_name is one the writer wrote" '^n[0-9]+$' "$name"
	n=${name#n}
	if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge "$acked" ] && [ "$n" -le "$written" ]; then
		expect_eq "kill $k: device_name n$n within acknowledged n$acked .. attempted n$written" ok ok
	else
		expect_eq "kill $k: device_name within acknowledged n$acked .. attempted n$written" \
		    "n$acked..n$written" "$name"
	fi
	[ "$acked" -gt 0 ] || expect_eq "kill $k: the writer got some sets through" "> 0" "$acked"
done

# the database is in order after a clean stop too
stack_stop
expect_eq "after a clean stop: quick_check" ok "$(sqlite3 "$db" 'PRAGMA quick_check' 2>&1)"
stack_start
expect_eq "after a clean restart: device_name kept" "$name" "$(stored_name)"
echo "writes attempted: $(cat "$writer_dir/next"), kills: $KILLS"

finish
