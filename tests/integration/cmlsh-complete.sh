#!/bin/bash
# Tab completion of live names and values through readline on a real
# pseudo-terminal (expect): container names (fetched from cmld, and a
# container created after the first completion shows once the few seconds
# of the cache are over), guest OS names and versions, trust anchor
# fingerprints by prefix, the values of an enum setting, audit list's
# filter values, and "did you mean" for a mistyped command.  Help lists
# every setting with the values it takes.
# Proves: CR 7.6 (setting values completed and listed with what each
# takes).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog expect
ct_setup

CACHE=5 # CMLSH_CACHE_SECONDS in cmlsh/cmlsh.h
a=$(ct_name alpha)
b=$(ct_name beta)
cfg() {
	printf '{"name":"%s","guestos":{"name":"busybox"}}' "$1"
}
ct_create "$a" "$(cfg "$a")"
fp=$(cmlsh_run --json ca list | json_get anchors 0 fingerprint)
expect_match "an anchor's fingerprint" '^[0-9a-f]{64}$' "$fp"

printf 'set enable-bracketed-paste off\nset bell-style none\n' >"$SCRATCH/inputrc"
cat >"$SCRATCH/complete.exp" <<'EXP'
set timeout 10
set stty_init "rows 50 columns 250"
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
# Types text, then TAB, and expects the completed text to be echoed.
proc complete {text want what} {
	send -- "$text\t"
	expect {
		-ex $want {}
		timeout { fail "$what: '$text<TAB>' did not complete to '$want' (timeout)" }
		eof { fail "$what (eof)" }
	}
	# abandon the line
	send "\x15\r"
	prompt "after $what"
}
spawn $env(CMLSH) --socket $env(SOCK)
prompt "at start"

# a container name: the unique one by its first letters
complete "container show al" "container show $env(A) " "container name"
# a guest OS name, then its version
complete "guestos verify bu" "guestos verify busybox " "guest OS name"
complete "guestos verify busybox " "guestos verify busybox 1.0 " "guest OS version"
# a trust anchor's fingerprint by its first digits
complete "ca remove [string range $env(FP) 0 5]" "ca remove $env(FP) " "fingerprint"
# an enum setting's values: one by its prefix, all listed on a second TAB
complete "device config set log_level deb" "device config set log_level debug " "enum value"
send -- "device config set require_signed_configs \t\t"
expect {
	-re "auto +false +true" {}
	timeout { fail "enum values: not listed on TAB TAB (timeout)" }
	eof { fail "enum values (eof)" }
}
send "\x15\r"
prompt "after listing enum values"
# audit list's filters: option names and values
complete "audit list --ty" "audit list --type " "filter option"
complete "audit list --type dae" "audit list --type daemon " "audit type"
complete "audit list --container al" "audit list --container $env(A) " "audit container"
# a container made after the first completion: shown once the cache is over
exec $env(CMLSH) --socket $env(SOCK) container create $env(BCFG)
after [expr {$env(CACHE) * 1000 + 500}]
complete "container start be" "container start $env(B) " "new container name"

# a mistyped command: did you mean
send "contianer list\r"
expect {
	"cmlsh: unknown command 'contianer': did you mean 'container'? type 'help' for a list" {}
	timeout { fail "did you mean: no suggestion (timeout)" }
	eof { fail "did you mean (eof)" }
}
prompt "after a mistyped command"
send "device stauts\r"
expect {
	"cmlsh: unknown command 'device stauts': did you mean 'device status'? type 'help device' for a list" {}
	timeout { fail "did you mean (second word): no suggestion (timeout)" }
	eof { fail "did you mean (second word) (eof)" }
}
prompt "after a mistyped second word"
send "quit\r"
expect {
	eof {}
	timeout { fail "quit did not end the session" }
}
set result [wait]
exit [lindex $result 3]
EXP

ct_config "$b" "$(cfg "$b")" >/dev/null
ct_track "$b"
export CMLSH SOCK A=$a B=$b FP=$fp CACHE BCFG=$SCRATCH/$b.json
HOME=$SCRATCH INPUTRC=$SCRATCH/inputrc TERM=dumb \
    expect -f "$SCRATCH/complete.exp" >"$SCRATCH/complete.log" 2>&1
rc=$?
expect_status "completion of live names and values, did you mean" 0 $rc
[ $rc = 0 ] || cat "$SCRATCH/complete.log" >&2
expect_eq "the container made during the session exists" "$b stopped" \
    "$(ct_list | grep "^$b " | cut -d' ' -f1,2)"

# Outside the terminal too: the mistyped command says what was meant.
out=$(cmlsh_run -c 'audit lsit' 2>&1)
expect_status "a mistyped command" 2 $?
expect_eq "a mistyped command: did you mean" \
    "cmlsh: unknown command 'audit lsit': did you mean 'audit list'? type 'help audit' for a list" "$out"
out=$(cmlsh_run -c 'frobnicate' 2>&1)
expect_eq "nothing close: no guess" "cmlsh: unknown command 'frobnicate': type 'help' for a list" "$out"

# help lists each setting with the values it takes.
out=$(cmlsh_run -c 'help device config set')
expect_match "help: an enum setting's values" \
    $'\n  log_level +warning, info or debug; default info\\. How much' "$out"
expect_match "help: an integer setting's range" \
    $'\n  session_idle_timeout +an integer from 0 to 86400; default 900\\.' "$out"

finish
