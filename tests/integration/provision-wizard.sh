#!/bin/bash
# The interactive cml-provision on a terminal (tmux), as an operator on a
# serial console answers it. In a locale that is not UTF-8 the progress
# line's marks are words; step 1 shows each check, step 2 writes the
# request to ./UUID.csr (the default) and Ctrl-D at step 3 stops the
# wizard cleanly (exit 3, resumable). Run again, it shows the steps done,
# writes the request again, takes the certificate the device CA issued
# (a file that cannot be read is asked again; a CA that is not the device
# CA is refused by cmld and the step is tried again); Ctrl-C at step 4
# stops it too. The third run installs the supplier anchor only once its
# fingerprint (shown as openssl shows it) is confirmed, an owner anchor,
# makes c0 on the guest OS offered, its token with a PIN typed twice
# without echo (one the PIN policy refuses is asked again) and a PUK scd
# makes, shown once; the settings show their values, Enter keeps one, a
# value out of range is asked again; the review, then the lock typed, then
# the report. The end state is the one answered: the PIN and the PUK shown
# work on c0's token.
# Proves: CR 1.2 (the device's request carries its UUID), IAM 01 (the
# certificate of the TPM's device key installed), NDR 3.12, NDR 3.13 (the
# supplier and owner anchors installed after the operator confirmed their
# fingerprints), CR 1.5, CR 1.7 (c0's initial PIN, policy checked, and a PUK
# shown once), CR 7.6 (the settings reviewed before the lock).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tui-lib.sh"
. "$(dirname "$0")/provision-lib.sh"

need_prog tmux
prov_setup
TUI_TARGET=provision

# wiz_start [VAR=VALUE...]: cml-provision in a tmux window of 100x60 in
# $SCRATCH (LANG C.UTF-8 unless given); "provision-exit=N" follows it
wiz_start() {
	local cmd dir pid
	TUI_STARTS=$((${TUI_STARTS:-0} + 1))
	TUI_TMUX=$SCRATCH/tmux-$TUI_STARTS.sock
	printf -v dir '%q' "$SCRATCH"
	printf -v cmd '%q ' env LANG=C.UTF-8 "$@" "$PROVISION" --socket "$SOCK"
	cmd="cd $dir && $cmd"
	_tui_tmux new-session -d -s "$TUI_TARGET" -x 100 -y 60 \
	    "$cmd; echo provision-exit=\$?; sleep 600" || fail "tmux new-session failed"
	pid=$(_tui_tmux display-message -p -t "$TUI_TARGET" '#{pid}') &&
	    track_pid "$pid"
}
# wiz_all: everything the window showed, history included
wiz_all() {
	_tui_tmux capture-pane -p -S - -t "$TUI_TARGET"
}
# wiz_prompt TEXT ERE: a check that the last line shown (the question
# waiting) matches ERE within 10 s
wiz_prompt() {
	local i
	CHECKS=$((CHECKS + 1))
	for ((i = 0; i < 100; i++)); do
		if tui_screen | grep -v '^ *$' | tail -n 1 | grep -E -q -- "$2"; then
			_check_passed "$1"
			return 0
		fi
		sleep 0.1
	done
	_check_failed "$1: the last line never matched /$2/"
	_tui_show
	return 1
}
# wiz_answer TEXT: types TEXT and Enter
wiz_answer() {
	[ -n "$1" ] && tui_type "$1"
	tui_keys Enter
}
# wiz_end: waits for the wizard's exit; its status in $trc
wiz_end() {
	tui_wait '^provision-exit=' 20 || true
	trc=$(tui_screen | sed -n 's/^provision-exit=\([0-9]*\).*/\1/p' | tail -n 1)
	[ -n "$trc" ] || { echo "# cml-provision did not end:" >&2; _tui_show; }
	wiz_all >"$SCRATCH/wizard-$TUI_STARTS.txt"
	_tui_tmux kill-server 2>/dev/null
	return 0
}
steps() {
	prov --status --json | python3 -c 'import json, sys
print(" ".join(x["state"] for x in json.load(sys.stdin)["steps"]))'
}

pin='Kx4!pin77'

# --- first run, not UTF-8: steps 1 and 2, Ctrl-D at step 3 ------------------------
wiz_start LANG=C LC_ALL=C
wiz_prompt "step 2 asks where the request goes, ./UUID.csr the default" \
    "^Write the certificate request to \\[\\./$UUID\\.csr\\]:\$"
tui_expect "the progress line in words: check done, identity under way" \
    '^\[1 check ok\] \[2 identity \.\.\.\] \[3 certificate\] \[4 anchors\] \[5 token\] \[6 settings\] \[7 lock\]$'
tui_expect "step 1 showed each check" '^  ok tpm +tpm2d is up, its TPM answers'
wiz_answer ""
wiz_prompt "step 3 asks for the certificate" '^The device certificate \(PEM or DER\):$'
tui_expect "the request is written where said" "^The request is in \\./$UUID\\.csr: the device CA signs it"
tui_keys C-d
wiz_end
expect_status "Ctrl-D stops the wizard" 3 "$trc"
expect_match "saying where it stopped and how to go on" \
    "cml-provision: stopped at step 3 \\(certificate\\); run cml-provision again to go on from there" \
    "$(cat "$SCRATCH/wizard-1.txt")"
expect_eq "checks and identity are done, the rest pending" \
    "done done pending pending pending pending pending" "$(steps)"
expect_eq "the request carries the device UUID" "CN=$UUID, O=cml device" \
    "$(openssl req -in "$SCRATCH/$UUID.csr" -noout -subject -nameopt sep_comma_plus_space | sed 's/^subject=//')"
prov_sign "$SCRATCH/$UUID.csr" "$SCRATCH/device.crt"

# --- second run: resumed at 2, step 3 with a retry, Ctrl-C at step 4 --------------
wiz_start
wiz_prompt "step 2 again: the same request, written again" \
    "^Write the certificate request to \\[\\./$UUID\\.csr\\]:\$"
tui_expect "the steps done before are shown" '^Done before: step 1 \(check\) at 20[0-9-]+T[0-9:.]+Z: every check passed'
tui_expect "with the progress line in UTF-8" \
    '^\[1 check ✓\] \[2 identity …\] \[3 certificate\] \[4 anchors\] \[5 token\] \[6 settings\] \[7 lock\]$'
wiz_answer ""
wiz_prompt "step 3" '^The device certificate \(PEM or DER\):$'
tui_expect "its progress line" '^\[1 check ✓\] \[2 identity ✓\] \[3 certificate …\] \[4 anchors\] \[5 token\]'
wiz_answer "no-such.crt"
wiz_prompt "a file that cannot be read is asked for again" '^The device certificate \(PEM or DER\):$'
tui_expect "saying why" '^Cannot read no-such\.crt: No such file or directory\.$'
wiz_answer "device.crt"
wiz_prompt "then the device CA" "^The device CA's root certificate:\$"
wiz_answer "$OWN/root.crt"
wiz_prompt "cmld refuses another CA: try again?" '^Try it again\? \[Y/n\]:$'
tui_expect "saying why" '^Step 3 \(certificate\) failed: .+'
wiz_answer ""
wiz_prompt "step 3 asked again" '^The device certificate \(PEM or DER\):$'
wiz_answer "device.crt"
wiz_prompt "its CA" "^The device CA's root certificate:\$"
wiz_answer "$FAB/root.crt"
wiz_prompt "step 4 asks for the supplier's CA" "^The supplier's CA certificate:\$"
tui_expect "the certificate installed is shown" "^  subject: +O=cml device,CN=$UUID\$"
tui_keys C-c
wiz_end
expect_status "Ctrl-C stops the wizard" 3 "$trc"
expect_eq "checks, identity and certificate are done" \
    "done done done pending pending pending pending" "$(steps)"

# --- third run: anchors, token, settings, lock, report ----------------------------
wiz_start
wiz_prompt "resumed at step 4" "^The supplier's CA certificate:\$"
wiz_answer "$FAB/swca.crt"
fp=$(prov_fp "$FAB/swca.crt")
wiz_prompt "the supplier's anchor is shown, to be confirmed" \
    "^Is this the supplier's certificate \\(compare the fingerprint with theirs\\)\\? Install it \\[y/N\\]:\$"
tui_expect "with its fingerprint as openssl prints it, in two lines" "^  fingerprint: +${fp:0:47}\$"
tui_expect "its second half" "^ +${fp:48}\$"
tui_expect "and its subject" '^  subject: +CN=cml software signing CA,O=cml$'
wiz_answer "n"
wiz_prompt "not confirmed: asked for again" "^The supplier's CA certificate:\$"
expect_eq "nothing was installed" "0" \
    "$(sqlite3 "$(state_dir)/cml.db" ".timeout 5000" "select count(*) from trust_anchor where kind = 'supplier'")"
wiz_answer "$FAB/swca.crt"
wiz_prompt "shown again" "Install it \\[y/N\\]:\$"
wiz_answer "y"
wiz_prompt "then owner anchors" "^An owner anchor's CA certificate \\(Enter: no more owner anchors\\):\$"
tui_expect "the supplier's is installed" '^Installed as a supplier anchor\.$'
wiz_answer "$OWN/root.crt"
wiz_prompt "the owner's is shown" "^Is this the owner's certificate .*Install it \\[y/N\\]:\$"
wiz_answer "y"
wiz_prompt "another owner anchor?" "^An owner anchor's CA certificate \\(Enter: no more owner anchors\\):\$"
wiz_answer ""
wiz_prompt "step 5: c0's guest OS, the one installed the default" '^The guest OS of c0 \[busybox\]:$'
tui_expect "the guest OSes are listed" '^  busybox +1\.0$'
wiz_answer ""
wiz_prompt "the token's type" '^The token: softtoken \(a key file scd keeps\) or usbtoken \(an OpenPGP card\) \[softtoken\]:$'
wiz_answer ""
wiz_prompt "the PUK" '^Have scd make the PUK \(12 digits, shown once\)\? \[Y/n\]:$'
wiz_answer ""
wiz_prompt "the PIN, without echo" '^New PIN:$'
wiz_answer "111111"
wiz_prompt "a PIN the policy refuses is asked again" '^New PIN:$'
tui_expect "saying why" 'may not be one character repeated or a run of digits'
wiz_answer "$pin"
wiz_prompt "then once more" '^Repeat new PIN:$'
wiz_answer "$pin"
wiz_prompt "the PUK is shown once, until Enter" '^Press Enter once it is written down:$'
puk=$(tui_screen | sed -n 's/^  PUK: *\([0-9]*\)$/\1/p' | tail -n 1)
expect_match "the PUK: 12 digits" '^[0-9]{12}$' "$puk"
tui_expect_not "the PIN never showed" "$pin|111111"
wiz_answer ""
wiz_prompt "step 6: the device's name first, its value now the default" '^device_name \[cml\]:$'
tui_expect "with what it is" "the device's name, shown in status and prompts"
wiz_answer "gw-7"
wiz_prompt "the audit capacity, its value now the default" '^audit_capacity \[67108864\]:$'
tui_expect "with what it is" 'bytes the audit trail may take'
wiz_answer "2097152"
wiz_prompt "the first threshold" '^audit_warn_percent \[75\]:$'
wiz_answer "150"
wiz_prompt "a value out of range is asked again" '^audit_warn_percent \[75\]:$'
tui_expect "saying why" 'audit_warn_percent.*: again\.$'
wiz_answer "70"
wiz_prompt "the second" '^audit_critical_percent \[90\]:$'
wiz_answer ""
wiz_prompt "what happens when full" '^audit_full_action \[refuse\]:$'
wiz_answer "drop-acknowledged"
wiz_prompt "the collector, empty now" '^audit_forward_host:$'
wiz_answer ""
wiz_prompt "its port" '^audit_forward_port \[6514\]:$'
wiz_answer ""
wiz_prompt "the guarded uplinks" '^net_guard_uplinks:$'
wiz_answer ""
wiz_prompt "c0's ports on them" '^net_c0_ports:$'
wiz_answer ""
wiz_prompt "the masquerading uplinks" '^net_masquerade:$'
wiz_answer ""
wiz_prompt "the idle time of a session" '^session_idle_timeout \[900\]:$'
wiz_answer ""
wiz_prompt "step 7: the lock, typed" "^Type 'lock' to lock the device \\(Enter: not now\\):\$"
tui_expect "after the review of the settings" '^  audit_full_action +drop-acknowledged$'
tui_expect "and of the steps" '^  6 settings +done +20[0-9-]+T[0-9:.]+Z device_name=gw-7, audit_capacity=2097152, '
wiz_answer "lock"
wiz_prompt "then the report" "^Write the signed provisioning report to \\[\\./$UUID-report\\.json\\]:\$"
wiz_answer ""
wiz_end
expect_status "the wizard ends well" 0 "$trc"
expect_match "the last progress line: every step done" \
    '\[1 check ✓\] \[2 identity ✓\] \[3 certificate ✓\] \[4 anchors ✓\] \[5 token ✓\] \[6 settings ✓\] \[7 lock ✓\]'$'\n''The device is provisioned\.' \
    "$(cat "$SCRATCH/wizard-3.txt")"

state=$(prov_state "$SCRATCH/$UUID-report.json")
expect_match "the end state: provisioned, every step done" \
    '^# provision status'$'\n''state provisioned next None'$'\n''check done .*'$'\n''identity done .*'$'\n''certificate done .*'$'\n''anchors done supplier anchor .CN=cml software signing CA,O=cml. .*'$'\n''token done softtoken <hex> of c0, PIN and PUK set \(the PUK made by scd, shown once\) -'$'\n''settings done device_name=gw-7, audit_capacity=2097152, audit_warn_percent=70, audit_critical_percent=90, audit_full_action=drop-acknowledged, audit_forward_host=, audit_forward_port=6514, net_guard_uplinks=, net_c0_ports=, net_masquerade=, session_idle_timeout=900 -'$'\n''lock done ' \
    "$state"
expect_match "the report verifies" $'\n''state: provisioned'$'\n''report: ok$' "$state"
expect_eq "the anchors: device CA, owners, supplier" \
    "device 1
owner 2
supplier 1" "$(sqlite3 "$(state_dir)/cml.db" ".timeout 5000" "select kind, count(*) from trust_anchor group by kind order by kind" | tr '|' ' ')"
expect_match "c0 on busybox with a softtoken" $'\n''softtoken ready pin 3 3 puk 3 3 bound True'$'\n''# c0'$'\n''c0 busybox' "$state"
out=$(printf '%s\n' "$pin" | cmlsh_run token verify c0 --pin-stdin 2>&1)
expect_status "the PIN typed opens c0's token" 0 $?
out=$(printf '%s\n%s\n' "$puk" 'New-pin-4411' | cmlsh_run token unblock c0 --pin-stdin 2>&1)
expect_status "the PUK shown unblocks it" 0 $?

finish
