#!/bin/bash
# cmlsh on a terminal (driven by expect): the prompt, a command and its
# output, tab completion of command words and setting names, an error that
# does not end the session, quit, and the history kept in ~/.cmlsh_history
# and offered again in the next session.
# Proves: CR 7.6 (settings read and set in the interactive shell).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog expect
stack_start

home=$SCRATCH/home
mkdir -p "$home"
printf 'set enable-bracketed-paste off\n' >"$SCRATCH/inputrc"

cat >"$SCRATCH/session1.exp" <<'EXP'
set timeout 10
log_user 1
proc fail {what} {
	puts "\nEXPECT-FAIL: $what"
	exit 1
}
proc prompt {what} {
	expect {
		"cml> " {}
		timeout { fail "no prompt $what (timeout)" }
		eof { fail "no prompt $what (eof)" }
	}
}
spawn $env(CMLSH) --socket $env(SOCK)
prompt "at start"

send "device config get max_clients\r"
expect {
	-re "max_clients +64 +integer +64\r\n" {}
	timeout { fail "device config get max_clients: no table row (timeout)" }
	eof { fail "device config get max_clients: no table row (eof)" }
}
prompt "after device config get"

# dev<TAB> completes to "device "
send "dev\t"
expect {
	"device " {}
	timeout { fail "dev<TAB> did not complete to 'device ' (timeout)" }
	eof { fail "dev<TAB> (eof)" }
}
send "stat\t"
expect {
	"status " {}
	timeout { fail "device stat<TAB> did not complete to 'status ' (timeout)" }
	eof { fail "device stat<TAB> (eof)" }
}
send "\r"
expect {
	-re "uptime seconds: +\[0-9\]+\r\n" {}
	timeout { fail "completed device status: no output (timeout)" }
	eof { fail "completed device status (eof)" }
}
prompt "after device status"

# setting names complete too
send "device config set log_l\t"
expect {
	"log_level " {}
	timeout { fail "log_l<TAB> did not complete to 'log_level ' (timeout)" }
	eof { fail "log_l<TAB> (eof)" }
}
send "debug\r"
expect {
	-re "value: debug\r\n" {}
	timeout { fail "device config set log_level debug: no reply (timeout)" }
	eof { fail "device config set log_level debug (eof)" }
}
prompt "after device config set"

# an error is shown and the session goes on
send "frobnicate\r"
expect {
	"cmlsh: unknown command 'frobnicate': type 'help' for a list" {}
	timeout { fail "unknown command: no message (timeout)" }
	eof { fail "unknown command ended the session" }
}
prompt "after an unknown command"

send "quit\r"
expect {
	eof {}
	timeout { fail "quit did not end the session" }
}
set result [wait]
exit [lindex $result 3]
EXP

cat >"$SCRATCH/session2.exp" <<'EXP'
set timeout 10
proc fail {what} {
	puts "\nEXPECT-FAIL: $what"
	exit 1
}
spawn $env(CMLSH) --socket $env(SOCK)
expect {
	"cml> " {}
	timeout { fail "no prompt (timeout)" }
	eof { fail "no prompt (eof)" }
}
# Ctrl-R searches the history of the first session
send "\x12max_c"
expect {
	"device config get max_clients" {}
	timeout { fail "reverse search found no 'device config get max_clients' (timeout)" }
	eof { fail "reverse search (eof)" }
}
send "\r"
expect {
	-re "max_clients +64 +integer +64\r\n" {}
	timeout { fail "recalled command: no output (timeout)" }
	eof { fail "recalled command (eof)" }
}
expect {
	"cml> " {}
	timeout { fail "no prompt after the recalled command (timeout)" }
	eof { fail "no prompt after the recalled command (eof)" }
}
# Ctrl-D leaves
send "\x04"
expect {
	eof {}
	timeout { fail "Ctrl-D did not end the session" }
}
set result [wait]
exit [lindex $result 3]
EXP

export CMLSH SOCK
HOME=$home INPUTRC=$SCRATCH/inputrc TERM=dumb \
    expect -f "$SCRATCH/session1.exp" >"$SCRATCH/session1.log" 2>&1
rc=$?
expect_status "session 1 (prompt, command, completion, error, quit)" 0 $rc
[ $rc = 0 ] || cat "$SCRATCH/session1.log" >&2
expect_eq "log_level set in the session" debug \
    "$(cmlsh_run --json -c 'device config get log_level' | json_get settings 0 value)"

hist=$home/.cmlsh_history
expect_eq "history file written" yes "$([ -s "$hist" ] && echo yes || echo no)"
for line in 'device config get max_clients' 'device status' \
    'device config set log_level debug' 'frobnicate'; do
	# (a completed word leaves its trailing space in the line)
	expect_eq "history has '$line'" "$line" \
	    "$(sed 's/ *$//' "$hist" 2>/dev/null | grep -Fx -- "$line" | head -n 1)"
done

HOME=$home INPUTRC=$SCRATCH/inputrc TERM=dumb \
    expect -f "$SCRATCH/session2.exp" >"$SCRATCH/session2.log" 2>&1
rc=$?
expect_status "session 2 (history recalled, Ctrl-D)" 0 $rc
[ $rc = 0 ] || cat "$SCRATCH/session2.log" >&2

finish
