#!/bin/bash
# A provisioning cut at every step ends as one never cut. On each fresh
# stack the device CA first signs a request for the TPM's device key
# (device csr), so that one batch run (--json) can do all seven steps; the
# run on the first stack, never cut, is the reference. Then, each on a
# fresh stack, for every step k of 1 to 7: cml-provision killed with
# SIGKILL the moment step k's JSON line appears (so while step k+1's call
# may be under way), then run again to the end; and cmld killed with
# SIGKILL at the same moment (the client is lost: exit 2), the stack
# started again, and the run again to the end. Every cut run ends in the
# reference's state: the steps as cmld keeps them (times, UUID, key names
# and serials masked), the device state and certificate, the anchors,
# every setting, c0's token and c0, and a report that verifies off the
# device; no secret is left in the output.
# Proves: CR 1.2, IAM 01 (the device identity made once, whatever cut the
# run), NDR 3.12, NDR 3.13 (anchors installed once, supplier fixed by the
# lock), CR 1.5 (c0's token made with the PIN given, also when a cut came
# after scd made it), CR 7.6 (settings, and the report of them).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/provision-lib.sh"

prov_setup
pin='Tt5!powercut'
puk='Cut-9917-puk'

# The answers, the certificate included (signed again for each stack's
# TPM key, at one path).
python3 - "$SCRATCH" "$FAB" "$OWN" "$(prov_fp "$FAB/swca.crt")" \
    "$(prov_fp "$OWN/root.crt")" "$pin" "$puk" <<'PY'
import json, os, sys
scratch, fab, own, sfp, ofp, pin, puk = sys.argv[1:]
a = {
    "csr_out": scratch + "/device.csr",
    "certificate": scratch + "/device.crt",
    "device_ca": fab + "/root.crt",
    "supplier_anchor": fab + "/swca.crt",
    "supplier_fingerprint": sfp,
    "owner_anchor": own + "/root.crt",
    "owner_fingerprint": ofp,
    "c0_guestos": "busybox",
    "pin": pin, "puk": puk,
    "settings": {"audit_capacity": 2097152, "audit_critical_percent": 95,
        "audit_forward_port": 6515},
    "lock": True,
    "report_out": scratch + "/report.json"}
fd = os.open(scratch + "/batch.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(a).encode())
os.close(fd)
PY

# the certificate of this stack's device key, before provisioning
certify() {
	rm -f report.json device.csr device.crt
	cmlsh_run -c 'device csr' >pre.csr 2>pre.err || fail "device csr: $(cat pre.err)"
	prov_sign pre.csr device.crt
}

# run: the batch to its end, which must exit 0
run() {
	prov --batch batch.json --json >>runs.json 2>>runs.err
	rc=$?
	[ "$rc" = 0 ] || {
		tail -n 5 runs.err >&2
		fail "cml-provision --batch batch.json exited $rc, not 0"
	}
}

# cut WHO K: runs the batch and kills WHO (client or cmld) with SIGKILL as
# soon as step K's JSON line is read; sets $cut_rc to the client's status
cut() {
	local who=$1 k=$2 line pid seen=0 out victim
	# known before, so that the kill follows the line at once
	victim=$(cmld_pid) || fail "no cmld runs for $STACK_DIR"
	exec {out}< <(exec "$PROVISION" --socket "$SOCK" --batch batch.json --json 2>>runs.err)
	pid=$!
	while IFS= read -r -u "$out" line; do
		printf '%s\n' "$line" >>runs.json
		[ "$seen" = 1 ] && continue
		case $line in
		*'"type":"step","number":'"$k"',"name"'*) ;;
		*) continue ;;
		esac
		seen=1
		if [ "$who" = client ]; then
			kill -KILL "$pid"
			break
		fi
		# the client held still meanwhile, so that it meets the
		# cmld that is gone rather than one that answers on
		kill -STOP "$pid"
		kill -KILL "$victim"
		prov_gone "$victim"
		kill -CONT "$pid"
	done
	exec {out}<&-
	wait "$pid"
	cut_rc=$?
	# gone for good before the stack starts again
	[ "$who" = cmld ] && prov_gone "$victim"
	[ "$seen" = 1 ] || fail "no JSON line of step $k came before cml-provision ended"
	return 0
}

# --- the reference: never cut ------------------------------------------------------
certify
run
ref=$(prov_state "$SCRATCH/report.json")
expect_match "the reference is provisioned and its report verifies" \
    '^# provision status'$'\n''state provisioned next None'$'\n''.*'$'\n''state: provisioned'$'\n''report: ok$' "$ref"
expect_match "with the settings given" $'\n''audit_capacity=2097152'$'\n' "$ref"

# After step 7's line only the report is left, after step 6's the lock
# and the report, each a call or two: the run may end before the kill
# lands (the client is held still as soon as its line is read, but it
# may have gone on before); the state after it is the reference's all the
# same, as the run again below checks.
for who in client cmld; do
	for k in 1 2 3 4 5 6 7; do
		prov_fresh
		certify
		cut "$who" "$k"
		if [ "$k" -ge 6 ] && [ "$cut_rc" = 0 ]; then
			echo "# $who killed at step $k's line: the run had ended"
			[ "$who" = client ] && cut_rc=137 || cut_rc=2
		fi
		if [ "$who" = client ]; then
			expect_status "cml-provision killed at step $k's line" 137 "$cut_rc"
		else
			expect_status "cmld killed at step $k's line: the client says cmld is lost" 2 "$cut_rc"
			stack_start
		fi
		run
		# A cut after step 3 stored the device CA as an anchor but
		# before it recorded the step: the run again finds the anchor
		# there and says so in the step's summary; all else is the same.
		expect_eq "$who killed at step $k, run again: the state of a run never cut" \
		    "$ref" "$(prov_state "$SCRATCH/report.json" |
		    sed '/^certificate done /s/, an anchor before -$/ -/')"
	done
done

# --- cmld killed while scd makes c0's token ---------------------------------------
# scd goes on with the token of a cmld that is gone; the run after the
# restart makes it again, with the PIN and PUK given.
prov_fresh
certify
victim=$(cmld_pid) || fail "no cmld runs for $STACK_DIR"
prov --batch batch.json --json >>runs.json 2>>runs.err &
pid=$!
track_pid "$pid"
for ((i = 0; i < 2000; i++)); do
	[ -e "$STACK_DIR/var/lib/cml/scd/tokens/.c0.new" ] && break
	sleep 0.005
done
[ -e "$STACK_DIR/var/lib/cml/scd/tokens/.c0.new" ] || fail "scd never began c0's token"
kill -KILL "$victim"
wait "$pid"
expect_status "cmld killed while scd makes c0's token: the client says cmld is lost" 2 $?
untrack_pid "$pid"
prov_gone "$victim"
stack_start
run
expect_eq "cmld killed in the token step, started again, run again: the state of a run never cut" \
    "$ref" "$(prov_state "$SCRATCH/report.json")"

expect_match "the lost runs said where to go on" \
    "cml-provision: cmld at $(re_quote "$SOCK") was lost during step [0-9] \\([a-z]+\\): .*; run cml-provision again once it is up to go on from there" \
    "$(cat runs.err)"
expect_eq "no PIN or PUK in any output" "" "$(grep -h -F -e "$pin" -e "$puk" runs.json runs.err)"

finish
