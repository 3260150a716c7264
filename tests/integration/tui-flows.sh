#!/bin/bash
# cmltui's guided flows, driven through tmux against a real stack (swtpm,
# tpm2d, scd with software tokens, cmld):
#   - start of a container whose storage is encrypted (integrity off, so
#     that the PIN is asked and checked before the activation this kernel
#     cannot do): the PIN is asked in a dialog with the tries left, never
#     shown; a wrong PIN gives cmlsh's generic failure ("container start
#     NAME: verification failed") and the tries left, the same words the
#     second time, and the PIN asked again with one try fewer; the right
#     PIN unwraps the key, which opens the volume's keyslot, and the start
#     ends as it really does here: refused, with cmld's exact reason (no
#     device-mapper), or running where the kernel has device-mapper; the
#     tries are back at their maximum; Esc at the PIN counts nothing;
#   - token PIN change: the PIN now with its tries left, a new PIN the
#     policy refuses (its rule shown), the new PIN twice, the result with
#     the tries left; the new PIN verifies with cmlsh; a wrong PIN now is
#     the same generic failure;
#   - a PIN blocked by wrong PINs: the start flow says so and offers the
#     unblock with the PUK, which sets a new PIN that verifies;
#   - guest OS install from the dashboard: a bar per image and one for all
#     while it copies, then the verdict VERIFIED with the signer, and
#     cmld's list has it; a tampered image: REFUSED with cmld's reason,
#     nothing installed;
#   - the audit review: the table of records, a filter set in the filter
#     dialog (result, from the values seen), a record's details (audit
#     show), acknowledged (audit status counts it), followed live (a
#     record made by cmlsh appears), the chain verified (its verdict shown
#     above the table), and after a record was changed behind cmld's back
#     the verdict BROKEN naming the record;
#   - a container's details: state, guest OS, the network, and its live
#     log, a line printed by its init appearing as it comes; its console
#     (curses leaves the terminal to it, Ctrl-] comes back); stopped from
#     there (confirmed), its state shown;
#   - no PIN, PUK or new PIN on any screen, in any log or database.
# Proves: CR 1.10 (every failed PIN check says the same, with the tries left),
# CR 1.11 (the tries left shown and counted; a blocked PIN asks for the PUK),
# CR 1.5 (PIN change and unblock with the PUK from the console), CR 1.7 (a new
# PIN the policy refuses is refused before it is asked twice), CR 1.1 (the PIN
# unlocks the container's storage), CR 6.1 (audit review in cmltui: filters,
# details, acknowledge, follow, verify), CR 3.9 (a changed audit record found
# and named), CR 3.4 (a guest OS verified before it is installed, the verdict
# shown; a tampered one refused)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tui-lib.sh"

need_prog tmux
# scd's cheapest key derivation: the flows, not the KDF's cost, are tested
export CML_STACK_KDF_COST=test
ct_setup
dm=0
grep -q ' device-mapper$' /proc/misc && dm=1

PIN=lk3958q
WRONG=zz1047m
NEWPIN=qv5820n
UNBLOCKED=rw6143b
PUK=pk82631907
enc=$(ct_name tui-enc)
logc=$(ct_name tui-log)
ct_create "$enc" '{"name":"'"$enc"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"},"storage":{"encrypted":true,"integrity":false,"volume":{"size_mb":32,"mount":"/data"}}}}'
ct_create "$logc" '{"name":"'"$logc"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","trap \"exit 0\" TERM; echo init-started; i=0; while :; do sleep 1; i=$((i+1)); echo tick-$i; done"]}}'
printf '%s\n%s\n' "$PIN" "$PUK" | cmlsh_run -c "token init $enc --pin-stdin" >/dev/null 2>"$SCRATCH/err" ||
    fail "token init $enc failed: $(cat "$SCRATCH/err")"

# tries NAME [pin|puk]: "left/max" of the token's PIN (or PUK)
tries() {
	cmlsh_run --json token status "$1" | python3 -c 'import json, sys
s = json.load(sys.stdin)["status"]
k = sys.argv[1]
print("%d/%d" % (s[k + "_tries_left"], s[k + "_tries_max"]))' "${2:-pin}"
}
max=$(tries "$enc")
pmax=$(tries "$enc" puk)

# Every screen a check saw is kept, to look for the PINs at the end.
SEEN=$SCRATCH/screens
: >"$SEEN"
snap() {
	tui_screen >>"$SEEN"
}
# expect_screen DESCRIPTION ERE: as tui_expect, keeping the screen
expect_screen() {
	tui_expect "$1" "$2"
	snap
}

# Prints the screen as one line, box lines and runs of blanks as one
# blank: a message wrapped in a dialog reads as it was said.
flat() {
	tui_screen | tr '│┃|\n' '    ' | tr -s ' '
}
# expect_flat DESCRIPTION ERE: the flattened screen matches within 10 s
expect_flat() {
	local i
	CHECKS=$((CHECKS + 1))
	for ((i = 0; i < 100; i++)); do
		if flat | grep -E -q -- "$2"; then
			_check_passed "$1"
			snap
			return
		fi
		sleep 0.1
	done
	_check_failed "$1" "the screen never read /$2/"
	_tui_show
}

# open_container NAME: from the dashboard, opens NAME's details (the row
# marked '>' is the selected one)
open_container() {
	local i
	tui_keys Home
	for ((i = 0; i < 10; i++)); do
		tui_screen | grep -q "^>$1 " && break
		tui_keys Down
		sleep 0.2
	done
	tui_keys Enter
	tui_wait ">  Container $1( |$)" 20 || fail "the dashboard opened no details of $1: $(tui_screen)"
}

# pick TEXT: in a list dialog whose first choice is "any", chooses TEXT
pick() {
	local k i
	k=$(tui_screen | sed -n '/│ any  *│/,/│ other: type it  *│/p' | grep -n -F -- "$1" | head -n 1 | cut -d: -f1)
	[ -n "$k" ] || { _check_failed "the list offers $1"; _tui_show; return; }
	tui_keys Home
	for ((i = 1; i < k; i++)); do
		tui_keys Down
	done
	tui_keys Enter
}

tui_start 100 30 -- --interval 500
tui_wait "$enc" 20 || fail "the dashboard does not list $enc: $(tui_screen)"

# --- the start flow: a wrong PIN, the same failure, the right PIN ------------------------------
open_container "$enc"
expect_screen "$enc's details: its encryption" "Encryption +LUKS2, aes-xts-plain64, no integrity"
tui_keys s
expect_screen "start: the PIN is asked for, with the tries left" "PIN tries left: ${max%/*} of ${max#*/}"
tui_expect "start: the PIN's prompt" "PIN:"
tui_type "$WRONG"
snap
tui_keys Enter
expect_screen "a wrong PIN: the generic failure" "container start $enc: verification failed"
expect_screen "a wrong PIN: the tries left on a line of their own" "│ +tries left: $((${max%/*} - 1)) +│|\| +tries left: $((${max%/*} - 1)) +\|"
first=$(tui_screen | grep -o "container start $enc: verification failed")
expect_eq "tries counted by scd" "$((${max%/*} - 1))/${max#*/}" "$(tries "$enc")"
tui_keys Enter
expect_screen "the PIN is asked again, one try fewer" "PIN tries left: $((${max%/*} - 1)) of ${max#*/}"
tui_type "$WRONG"
tui_keys Enter
expect_screen "a second wrong PIN: the tries left" "tries left: $((${max%/*} - 2))"
expect_eq "the second failure says the same words as the first" "$first" \
    "$(tui_screen | grep -o "container start $enc: verification failed")"
tui_keys Enter
expect_screen "asked again" "PIN tries left: $((${max%/*} - 2)) of ${max#*/}"
tui_type "$PIN"
tui_keys Enter
if [ "$dm" = 0 ]; then
	expect_screen "the right PIN: not started, for want of device-mapper" "Not started"
	expect_flat "the right PIN: cmld's reason, word for word" \
	    "container '$enc' did not start: needs encrypted storage, but this kernel has no device-mapper: cml does not start it with plain data \\(its key, unwrapped with the PIN, opens keyslot 0 of the LUKS2 volume"
else
	expect_screen "the right PIN: running" "$enc: running, pid [0-9]+"
	expect_screen "the right PIN: the unlock's steps" "PIN accepted: the key unwrapped in [0-9]+ ms"
fi
expect_eq "the right PIN resets the tries" "$max" "$(tries "$enc")"
tui_keys Enter
tui_wait_gone "Not started|PIN accepted" 5

# Esc at the PIN: nothing sent, nothing counted
tui_keys s
tui_expect "start again: the PIN asked" "PIN tries left: ${max%/*} of ${max#*/}"
tui_keys Escape
tui_wait_gone "PIN tries left" 5
expect_eq "Esc at the PIN: nothing counted" "$max" "$(tries "$enc")"
expect_screen "Esc at the PIN: back at the details" ">  Container $enc"

# --- PIN change ------------------------------------------------------------------------------
tui_keys p
expect_screen "change-pin: the PIN now, with the tries left" "PIN tries left: ${max%/*} of ${max#*/}"
tui_expect "change-pin: its dialog" "Change the PIN of $enc"
tui_type "$PIN"
tui_keys Enter
tui_expect "change-pin: the new PIN" "New PIN:"
tui_type "aaaaaa"
tui_keys Enter
expect_screen "a new PIN the policy refuses: asked again, with its rule" "may not be one character repeated"
tui_expect "the new PIN asked again" "New PIN:"
tui_type "$NEWPIN"
tui_keys Enter
tui_expect "the new PIN a second time" "Repeat new PIN:"
tui_type "$NEWPIN"
tui_keys Enter
expect_screen "change-pin: done, the tries left" "PIN changed\."
expect_screen "change-pin: the tries after it" "PIN tries left: ${max%/*} of ${max#*/}"
tui_keys Enter
printf '%s\n' "$NEWPIN" | cmlsh_run token verify "$enc" --pin-stdin >/dev/null 2>"$SCRATCH/err"
expect_status "the new PIN verifies with cmlsh" 0 "$?"
# a wrong PIN now: the same failure as cmlsh's
tui_keys p
tui_expect "change-pin again" "Change the PIN of $enc"
tui_type "$WRONG"
tui_keys Enter
tui_expect "new PIN" "New PIN:"
tui_type "$UNBLOCKED"
tui_keys Enter
tui_expect "repeat" "Repeat new PIN:"
tui_type "$UNBLOCKED"
tui_keys Enter
expect_screen "change-pin with a wrong PIN: the generic failure" "token change-pin $enc: verification failed"
expect_screen "change-pin with a wrong PIN: the tries left" "tries left: $((${max%/*} - 1))"
tui_keys Enter

# --- a blocked PIN: the start offers the unblock with the PUK ---------------------------------
for ((i = 0; i < ${max%/*}; i++)); do
	printf '%s\n' "$WRONG" | cmlsh_run token verify "$enc" --pin-stdin >/dev/null 2>&1
done
expect_match "the PIN is blocked" "pin-blocked" "$(cmlsh_run token status "$enc")"
tui_keys s
expect_flat "start with a blocked PIN: says so" "The token of $enc is pin-blocked: unblock its PIN with the PUK first\."
tui_keys y
expect_screen "unblock: the PUK asked, with its tries left" "PUK tries left: ${pmax%/*} of ${pmax#*/}"
tui_type "$PUK"
tui_keys Enter
tui_expect "unblock: a new PIN" "New PIN:"
tui_type "$UNBLOCKED"
tui_keys Enter
tui_expect "unblock: again" "Repeat new PIN:"
tui_type "$UNBLOCKED"
tui_keys Enter
expect_screen "unblocked: says so" "PIN unblocked, the new PIN set\."
expect_screen "unblocked: the PIN's tries are full again" "PIN tries left: ${max%/*} of ${max#*/}"
tui_keys Enter
printf '%s\n' "$UNBLOCKED" | cmlsh_run token verify "$enc" --pin-stdin >/dev/null 2>"$SCRATCH/err"
expect_status "the PIN set by the unblock verifies" 0 "$?"
tui_keys Escape
tui_wait_gone ">  Container $enc" 5

# --- a container's details with its live log, stopped from there -------------------------------
ct_start "$logc"
open_container "$logc"
expect_screen "details: the state" "State +running, pid [0-9]+"
expect_screen "details: the guest OS" "Guest OS +busybox 1\.0"
expect_screen "details: the network" "Network +island"
expect_screen "details: the log so far" "init-started"
n=$(tui_screen | grep -o 'tick-[0-9]*' | tail -n 1 | tr -dc 0-9)
expect_screen "details: a new line of the log appears as init prints it" "tick-$((${n:-0} + 2))"
# the console: curses leaves the terminal to it until Ctrl-] detaches
n0=$(audit_count)
tui_keys c
tui_expect "console: the terminal is the container's" "^Console of $logc: Ctrl-\] detaches\.$"
for ((i = 0; i < 50; i++)); do
	[ "$(tui_screen | grep -c '^tick-[0-9]*$')" -ge 2 ] && break
	sleep 0.1
done
expect_match "console: what init prints comes through, line by line" \
    "^tick-[0-9]+"$'\n'"tick-[0-9]+" "$(tui_screen | sed -n '/^Console of/,$p' | sed 1d)"
tui_keys 'C-]'
expect_screen "console: detached, back at the details" "console: detached"
expect_screen "console: the details drawn again" ">  Container $logc"
expect_match "console: attach audited" "object=org\.cml\.Container\.Console result=ok details=detached" \
    "$(audit_tail $(($(audit_count) - n0)))"
tui_keys x
expect_screen "stop: confirmed first" "Stop container $logc\?"
tui_keys y
expect_screen "stop: the state after it" "$logc: stopped"
tui_keys Enter
expect_screen "details: stopped" "State +stopped"
expect_eq "cmld: stopped" stopped "$(ct_state "$logc")"
tui_keys Escape
tui_wait_gone ">  Container $logc" 5

# --- guest OS install: progress, verdict ----------------------------------------------------------
go=$SCRATCH/busybox-1.1
guestos_make "$go" busybox 1.1 --extra-image big.img:384:/big
tui_keys g
tui_expect "install: the directory asked" "The directory"
tui_type "$go"
tui_keys Enter
# while it copies: a bar per image and one for all, part done
mid=0
for ((i = 0; i < 300; i++)); do
	s=$(tui_screen)
	if grep -Eq "│ all +.* ([1-9]|[1-9][0-9])% +[0-9.]+ [KMG]?i?B of " <<<"$s"; then
		mid=1
		printf '%s\n' "$s" >>"$SEEN"
		break
	fi
	grep -q "VERIFIED" <<<"$s" && break
	sleep 0.05
done
expect_eq "install: the bar for all shows a part done while it copies" 1 "$mid"
expect_screen "install: the verdict" "VERIFIED"
expect_screen "install: what and who signed it" "Installed busybox 1\.1, signed by .*signer"
expect_screen "install: every image's bar full" "big\.img +.* 100% +384 MiB"
expect_screen "install: the bar for all full" "│ all +.* 100% +([0-9.]+ MiB) of \\1"
tui_keys Enter
expect_match "cmld lists it" "busybox +1\.1" "$(cmlsh_run guestos list)"
bad=$SCRATCH/busybox-1.2
guestos_make "$bad" busybox 1.2
flip_byte "$bad/$(manifest_get "$bad" images 0 file)"
tui_keys g
tui_expect "install again: the directory asked" "The directory"
tui_type "$bad"
tui_keys Enter
expect_screen "a tampered image: the verdict" "REFUSED"
expect_screen "a tampered image: cmld's reason" "guest OS in $(re_quote "$bad") refused"
tui_keys Enter
expect_eq "nothing of it installed" "" "$(cmlsh_run guestos list | grep -E '^busybox +1\.2 ')"

# --- the audit review -------------------------------------------------------------------------
# a table row: "SEQ HH:MM:SS TYPE ..."
table_rows() {
	tui_screen | grep -E '^ [0-9]+ +[0-9]{2}:[0-9]{2}:[0-9]{2} '
}
tui_keys a
expect_screen "audit: the table's header" "SEQ +TIME +TYPE +CONTAINER +OBJECT +RESULT +DETAILS"
expect_screen "audit: the refused install is listed, its error by name" "GuestOS\.Install +IntegrityViolation"
# a filter from the values seen: result org.cml.Token.VerificationFailed
tui_keys /
tui_expect "the filter dialog" "Audit filters"
tui_keys Down Enter
expect_screen "the filter's values: those the trail holds" "│ org\.cml\.Token\.VerificationFailed +│"
pick org.cml.Token.VerificationFailed
tui_expect "the filter set" "result +org\.cml\.Token\.VerificationFailed"
tui_keys End Enter
expect_screen "audit: the filter line" "Filters: .*result org\.cml\.Token\.VerificationFailed"
n=$(table_rows | wc -l)
expect_match "audit: failed verifications listed" '^[1-9]' "$n"
expect_eq "audit: only failed verifications listed" "$n" "$(table_rows | grep -c ' VerificationFailed ')"
seq=$(table_rows | tail -n 1 | awk '{ print $1 }')
tui_keys Enter
expect_screen "audit: a record's details" ">  Audit record #$seq"
expect_screen "audit: its result whole" "Result +org\.cml\.Token\.VerificationFailed"
expect_screen "audit: its hash and the one before it" "Previous +[0-9a-f]{64}"
tui_keys Escape
tui_wait_gone ">  Audit record" 5
tui_keys a
tui_expect "ack: one record or every one up to it" "Acknowledge every record up to #$seq"
tui_keys Down Enter
expect_screen "ack: done, counted" "acknowledged [0-9]+ records?; "
expect_match "audit show: acknowledged" "acknowledged=yes" "$(cmlsh_run audit show "$seq")"
oldest=$(cmlsh_run --json audit status | json_get oldest_unacknowledged)
expect_eq "audit status: nothing up to it is left unacknowledged" 1 "$((oldest == 0 || oldest > seq))"
# follow: a record made now appears (the filter kept: a failed verification)
tui_keys f
expect_screen "follow: on" "\[following\]"
before=$(table_rows | grep -Ec 'Token\.Verify +VerificationFailed')
printf '%s\n' "$WRONG" | cmlsh_run token verify "$enc" --pin-stdin >/dev/null 2>&1
for ((i = 0; i < 100; i++)); do
	[ "$(table_rows | grep -Ec 'Token\.Verify +VerificationFailed')" -gt "$before" ] && break
	sleep 0.1
done
snap
expect_eq "follow: the new failed verification appears at once" "$((before + 1))" \
    "$(table_rows | grep -Ec 'Token\.Verify +VerificationFailed')"
tui_keys f
tui_wait_gone "\[following\]" 5
expect_screen "follow: off" "no longer following the trail"
tui_keys v
expect_screen "verify: the chain's verdict" "Chain OK: [0-9]+ records \(#[0-9]+\.\.#[0-9]+\) and [0-9]+ checkpoints verified"
tui_keys Escape
tui_end
expect_eq "cmltui ended well" 0 "$trc"

# a record changed behind cmld's back: the verdict says BROKEN, and where
stack_stop
sqlite3 "$(state_dir)/audit.db" "UPDATE audit SET details = 'nothing happened' WHERE seq = 20" ||
    fail "sqlite3 could not change the trail"
stack_start
tui_start 100 30
tui_wait "Stages" 20 || fail "no dashboard after the restart: $(tui_screen)"
tui_keys a
tui_expect "audit again" "SEQ +TIME"
tui_keys v
expect_flat "verify: the chain BROKEN, and where" "Chain BROKEN the audit trail is broken: record #20: its hash does not match its contents"
tui_end

# --- no PIN anywhere ---------------------------------------------------------------------------
for s in "$PIN" "$WRONG" "$NEWPIN" "$UNBLOCKED" "$PUK"; do
	expect_eq "the secret $s on no screen" "" "$(grep -F -- "$s" "$SEEN")"
	expect_eq "the secret $s in no log, database or audit record" "" \
	    "$(grep -rlaF -- "$s" "$STACK_DIR" 2>/dev/null)"
done
finish
