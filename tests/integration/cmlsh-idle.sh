#!/bin/bash
# Idle sessions: an interactive cmlsh (on a pseudo-terminal, as over
# ssh -t) reads session_idle_timeout from cmld when it starts and ends the
# session once no key came for that long, saying so, with exit status 1;
# a line typed but not entered is dropped, not run, and a question for
# confirmation left unanswered is answered no; keys typed keep the session
# alive; 0 turns the limit off.
# Proves: CR 2.5 (an idle session does not stay open), CR 2.6 (an idle
# remote session is terminated after the time the device setting gives).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog expect
stack_start

printf 'set enable-bracketed-paste off\n' >"$SCRATCH/inputrc"
value_of() {
	cmlsh_run --json -c "device config get $1" | json_get settings 0 value
}
expect_eq "session_idle_timeout: 900 s by default" 900 "$(value_of session_idle_timeout)"
cmlsh_run -c 'device config set session_idle_timeout 2' >/dev/null ||
    fail "device config set session_idle_timeout 2 failed"

# Session 1: a command, then a line typed but not entered; the session ends
# 2 s after the last key.
cat >"$SCRATCH/idle.exp" <<'EXP'
set timeout 10
proc fail {what} {
	puts "\nEXPECT-FAIL: $what"
	exit 3
}
spawn $env(CMLSH) --socket $env(SOCK)
expect {
	"cml> " {}
	timeout { fail "no prompt (timeout)" }
	eof { fail "no prompt (eof)" }
}
send "device config get session_idle_timeout\r"
expect {
	-re "session_idle_timeout +2 +integer +900\r\n" {}
	timeout { fail "no reply (timeout)" }
}
expect "cml> "
# keys every second for 3 s (longer than the limit): still there
for {set i 0} {$i < 3} {incr i} {
	after 1000
	send " "
}
send "\x15"
after 300
send "device config set log_level debug"
set start [clock milliseconds]
expect {
	"cmlsh: session ended after 2 s idle (session_idle_timeout)" {}
	timeout { fail "the idle session did not end (timeout)" }
	eof { fail "the session ended without saying why" }
}
set took [expr {[clock milliseconds] - $start}]
expect eof
if {$took < 1500 || $took > 4000} {
	fail "ended $took ms after the last key, not about 2000"
}
puts "\nENDED-AFTER-MS $took"
set result [wait]
exit [lindex $result 3]
EXP
export CMLSH SOCK
INPUTRC=$SCRATCH/inputrc TERM=dumb HOME=$SCRATCH \
    expect -f "$SCRATCH/idle.exp" >"$SCRATCH/idle.log" 2>&1
rc=$?
expect_status "an idle session ends, with exit status 1" 1 $rc
[ $rc = 1 ] || cat "$SCRATCH/idle.log" >&2
expect_match "it ended about 2 s after the last key, not while keys came" \
    'ENDED-AFTER-MS [0-9]+' "$(cat "$SCRATCH/idle.log")"
expect_eq "the line typed but not entered was not run" info "$(value_of log_level)"

# Session 2: a question for confirmation left unanswered ends the session
# too, and what it asked about is not done.
n0=$(audit_count)
cat >"$SCRATCH/confirm.exp" <<'EXP'
set timeout 10
proc fail {what} {
	puts "\nEXPECT-FAIL: $what"
	exit 3
}
spawn $env(CMLSH) --socket $env(SOCK)
expect "cml> "
send "ca remove 0123456789abcdef\r"
expect {
	"Really ca remove 0123456789abcdef? \[y/N\] " {}
	timeout { fail "no question (timeout)" }
}
expect {
	"cmlsh: 'ca remove' not confirmed: nothing was done" {}
	timeout { fail "the unanswered question did not end (timeout)" }
}
expect {
	"cmlsh: session ended after 2 s idle (session_idle_timeout)" {}
	timeout { fail "the session did not end (timeout)" }
	eof { fail "the session ended without saying why" }
}
expect eof
set result [wait]
exit [lindex $result 3]
EXP
INPUTRC=$SCRATCH/inputrc TERM=dumb HOME=$SCRATCH \
    expect -f "$SCRATCH/confirm.exp" >"$SCRATCH/confirm.log" 2>&1
rc=$?
expect_status "an unanswered question ends an idle session" 1 $rc
[ $rc = 1 ] || cat "$SCRATCH/confirm.log" >&2
expect_eq "nothing was asked of cmld" "$n0" "$(audit_count)"

# Session 3: with 0 the session stays, however long it waits.
cmlsh_run -c 'device config set session_idle_timeout 0' >/dev/null ||
    fail "device config set session_idle_timeout 0 failed"
cat >"$SCRATCH/noidle.exp" <<'EXP'
set timeout 10
proc fail {what} {
	puts "\nEXPECT-FAIL: $what"
	exit 3
}
spawn $env(CMLSH) --socket $env(SOCK)
expect {
	"cml> " {}
	timeout { fail "no prompt (timeout)" }
}
set timeout 4
expect {
	"session ended" { fail "the session ended although the limit is off" }
	eof { fail "the session ended although the limit is off (eof)" }
	timeout {}
}
set timeout 10
send "quit\r"
expect eof
set result [wait]
exit [lindex $result 3]
EXP
INPUTRC=$SCRATCH/inputrc TERM=dumb HOME=$SCRATCH \
    expect -f "$SCRATCH/noidle.exp" >"$SCRATCH/noidle.log" 2>&1
rc=$?
expect_status "session_idle_timeout 0: the session stays until quit" 0 $rc
[ $rc = 0 ] || cat "$SCRATCH/noidle.log" >&2

finish
