#!/bin/bash
# Idle sessions: an interactive cmlsh (on a pseudo-terminal, as over
# ssh -t) reads session_idle_timeout from cmld when it starts and ends the
# session once no key came for that long, saying so, with exit status 1;
# a line typed but not entered is dropped, not run, and a question for
# confirmation left unanswered is answered no; keys typed keep the session
# alive; 0 turns the limit off.  cmld records each such end (type session)
# with the session's process as its subject; audit session takes only the
# events it knows, an account name, at most 10 a minute for each user.
# Proves: CR 2.5 (an idle session does not stay open), CR 2.6 (an idle
# remote session is terminated after the time the device setting gives,
# and the end audited by cmld), CR 2.8 (session events a client sees are
# audited, bounded for each user).
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
expect_match "cmld recorded the end, with cmlsh as its subject" \
    "^type=session uid=0 pid=[0-9]+ container= object=idle-ended result=ok details=cmlsh reports: the session ended after 2 s without a key \(session_idle_timeout\)\$" \
    "$(audit_tail 1)"

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
expect_eq "nothing was asked of cmld: only the session's end recorded" \
    "$((n0 + 1)) object=idle-ended" \
    "$(audit_count) $(audit_tail 1 | grep -o 'object=[a-z-]*')"

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

# audit session itself: what it refuses, and its bound.
session_err() {
	cmlsh_run -c "audit session $1" 2>&1 >/dev/null
}
expect_eq "audit session: an unknown event refused" \
    "cmlsh: EVENT is idle-ended, locked, unlocked or unlock-failed" \
    "$(session_err 'bogus')"
expect_eq "audit session: a name that is no account name refused, not recorded" \
    "cmlsh: NAME is an account name: at most 32 letters, digits, '.', '_' or '-', not first '-' or '.'" \
    "$(session_err "unlock-failed --user 'pass word!'")"
expect_eq "audit session: nothing of it in the trail" "" \
    "$(cmlsh_run --json -c 'audit list --type session' | grep -F 'pass word')"
expect_eq "audit session: unlocked names who" \
    "cmlsh: unlocked needs --user: who unlocked the session" \
    "$(session_err 'unlocked')"
cmlsh_run -c 'audit session unlocked --user alice' >/dev/null
expect_match "audit session: unlocked recorded with the name" \
    "^type=session uid=0 pid=[0-9]+ container= object=unlocked result=ok details=cmlsh reports: the screen unlocked by alice\$" \
    "$(audit_tail 1)"
cmlsh_run -c 'audit session unlock-failed --user alice' >/dev/null
expect_match "audit session: a failed unlock recorded as failed" \
    "^type=session uid=0 pid=[0-9]+ container= object=unlock-failed result=failed details=cmlsh reports: an unlock failed \(user alice\)\$" \
    "$(audit_tail 1)"
# an operator (uid 65534, group cml) not heard from before: 10 pass at
# once (one more each 6 s), the next is refused; root's bound is its own
ok=0 refused=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	if as_user cml "$CMLSH" --socket "$SOCK" \
	    -c 'audit session locked --seconds 5' >/dev/null 2>"$SCRATCH/err"; then
		ok=$((ok + 1))
	elif grep -qFx "cmlsh: too many session events: at most 10 a minute for each user" \
	    "$SCRATCH/err"; then
		refused=$((refused + 1))
	fi
done
expect_eq "audit session: at most 10 a minute for each user, the rest refused with the reason" \
    "10 passed, 2 refused" "$ok passed, $refused refused"
expect_match "audit session: an operator's events recorded with its uid" \
    "^type=session uid=65534 pid=[0-9]+ container= object=locked result=ok details=cmlsh reports: the screen locked after 5 s without a key \(session_idle_timeout\)\$" \
    "$(audit_tail 20 | grep 'type=session uid=65534' | tail -n 1)"
cmlsh_run -c 'audit session locked' >/dev/null
expect_status "audit session: root is not held by the operator's bound" 0 $?

finish
