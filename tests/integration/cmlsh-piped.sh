#!/bin/bash
# Interactive cmlsh whose stdout is a pipe (`cmlsh --socket S | cat`, issue
# 10 bug 2): the prompt goes to the terminal, and the output of each
# command, the shell's own help included, is through the pipe before the
# next prompt appears, not only after the next command.
# Proves: none (interactive shell output order).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog expect
stack_start

printf 'set enable-bracketed-paste off\n' >"$SCRATCH/inputrc"
out=$SCRATCH/piped.out
: >"$out"

cat >"$SCRATCH/piped.exp" <<'EXP'
set timeout 10
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
# Waits (2 s at most) until the piped output holds pattern; no further
# command is typed meanwhile.
proc piped {pattern what} {
	global env
	for {set i 0} {$i < 20} {incr i} {
		set f [open $env(OUT)]
		set text [read $f]
		close $f
		if {[string match $pattern $text]} {
			return
		}
		after 100
	}
	fail "$what: not in the pipe before the next command: '$text'"
}
spawn sh -c "exec \"\$CMLSH\" --socket \"\$SOCK\" | cat >\"\$OUT\""
prompt "at start"
send "help device\r"
prompt "after help device"
piped "*device - the device: status and settings*device config set KEY VALUE*" "help device"
send "help quit\r"
prompt "after help quit"
piped "*usage: quit*" "help quit"
send "device config get max_clients\r"
prompt "after device config get"
piped "*max_clients*64*" "device config get max_clients"
send "quit\r"
expect {
	eof {}
	timeout { fail "quit did not end the session" }
}
set result [wait]
exit [lindex $result 3]
EXP

export CMLSH SOCK OUT=$out
INPUTRC=$SCRATCH/inputrc TERM=dumb \
    expect -f "$SCRATCH/piped.exp" >"$SCRATCH/piped.log" 2>&1
rc=$?
expect_status "each command's output through the pipe before the next prompt" 0 $rc
[ $rc = 0 ] || cat "$SCRATCH/piped.log" >&2
expect_eq "no prompt in the piped output" 0 "$(grep -c 'cml> ' "$out")"

finish
