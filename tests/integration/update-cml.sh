#!/bin/bash
# An update of cml itself from a signed bundle, A/B on the host: the real
# stack (swtpm, tpm2d, scd) with cmld run by cml-launch from slot a of a
# slots directory.  `update install` of a cml bundle (the built binaries
# as an install tree, signed under the supplier anchor) writes it into
# slot b, marks it to be tried once and ends cmld; the launcher starts
# slot b's cmld, which confirms itself (no c0 here: once up) — the state
# file says b is good, the history says confirmed, the floor of cml is
# the new version, and it is audited.  A broken update (its cmld ends
# before it is up) is written into slot a and tried: the launcher falls
# back to slot b, whose cmld audits the fallback with the reason and ends
# the install's history as fell-back.  A cml bundle below the floor is
# refused; `update mark-good` on the good slot says so; `update status`
# shows the history.
# Proves: TSF.UPD, NDR 3.10 (authentic updates of cml itself, written
# beside the running version and confirmed), NDR 3.10(1) (the floor of
# cml), CR 3.4 (an update that fails to come up falls back, recorded),
# CR 2.8 (audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/launch-lib.sh"

update_launch_need

stack_start
sup=$SCRATCH/sup
pki_make "$sup"
anchor_supplier "$sup"
db=$(state_dir)/cml.db

# cmld from now on runs under the launcher, with tpm2d and scd as before
launch_take_over

SLOTS=$SCRATCH/slots
LOG=$STACK_DIR/log/cmld.log
mkdir -p "$SLOTS" || fail "mkdir"
run() {
	cmlsh_run "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
}
history_of() {
	sqlite3 "$db" ".timeout 5000" "select version, result from update_history where kind = 'cml' order by id desc limit 1"
}

# bundle_cml TREE VERSION: a signed cml bundle of TREE; prints its path
bundle_cml() {
	local out=$SCRATCH/cml-$2.bundle
	_run_tool "cml-bundle create" "$BUNDLE" create -o "$out" --kind cml \
	    --name cml --version "$2" --tree "$1"
	_run_tool "cml-bundle sign" "$BUNDLE" sign --key "$sup/signer.key" \
	    --cert "$sup/signer.crt" --chain "$sup/chain.pem" "$out"
	echo "$out"
}

install_prefix "$SLOTS/a"
launch_start
wait_cmld a

# --- an update: written into slot b, tried, confirmed -------------------------
install_prefix "$SCRATCH/tree2"
b2=$(bundle_cml "$SCRATCH/tree2" 2.0)
run --json update info "$b2"
expect_status "info" 0 "$rc"
expect_eq "info: installable" true "$(json_get installable <"$SCRATCH/out")"
old=$CPID
run update install "$b2"
expect_status "install cml 2.0" 0 "$rc"
expect_match "the reply: pending in slot b" \
    "result: +pending" "$(cat "$SCRATCH/out")"
expect_match "the reply: what follows" \
    "detail: +written to slot b, to be tried at the restart that follows and confirmed once cmld and c0 are up" \
    "$(cat "$SCRATCH/out")"
expect_eq "slot b holds the bundle's cmld" "$(sha256sum <"$SCRATCH/tree2/sbin/cmld")" \
    "$(sha256sum <"$SLOTS/b/sbin/cmld")"
expect_eq "its mode as signed" 755 "$(stat -c %a "$SLOTS/b/sbin/cmld")"
wait_cmld b
CHECKS=$((CHECKS + 1))
if kill -0 "$old" 2>/dev/null; then
	_check_failed "the old cmld ended"
else
	_check_passed "the old cmld ended"
fi
expect_eq "the new cmld runs from slot b" "$SLOTS/b/sbin/cmld" "$(readlink "/proc/$CPID/exe")"
wait_state good b
expect_eq "slot b confirmed itself: good" "b" "$(slot_get good)"
expect_eq "nothing is tried any more" "none" "$(slot_get try)"
expect_eq "the good version" "2.0" "$(slot_get good_version)"
expect_eq "the history: confirmed" "2.0|confirmed" "$(history_of)"
expect_eq "the floor of cml" "2.0" \
    "$(sqlite3 "$db" ".timeout 5000" "select version from update_floor where kind = 'cml' and name = 'cml'")"
expect_match "the confirmation audited" \
    "type=update .*object=cml result=ok details=slot b \\(cml 2\\.0\\) confirmed good once cmld and c0 were up" \
    "$(audit_tail 20 | grep 'confirmed good')"
run update mark-good
expect_status "mark-good on the good slot" 0 "$rc"
expect_match "says it is good already" "slot b \\(cml 2\\.0\\) is good already" "$(cat "$SCRATCH/out")"

# --- a broken update: tried, falls back ---------------------------------------
install_prefix "$SCRATCH/tree3"
printf '#!/bin/sh\necho "this cmld does not come up" >&2\nexit 1\n' >"$SCRATCH/tree3/sbin/cmld"
chmod 755 "$SCRATCH/tree3/sbin/cmld"
b3=$(bundle_cml "$SCRATCH/tree3" 3.0)
run update install "$b3"
expect_status "install the broken cml 3.0" 0 "$rc"
expect_match "pending in slot a" "detail: +written to slot a" "$(cat "$SCRATCH/out")"
wait_cmld b
expect_eq "slot b runs again" "$SLOTS/b/sbin/cmld" "$(readlink "/proc/$CPID/exe")"
expect_eq "b is still good" "b" "$(slot_get good)"
expect_eq "the failure: slot a" "a" "$(slot_get failed_slot)"
expect_eq "the failure: why" "exited with status 1 before confirming" "$(slot_get failed_reason)"
for ((i = 0; i < 100; i++)); do
	[ "$(history_of)" = "3.0|fell-back" ] && break
	sleep 0.05
done
expect_eq "the history: fell back" "3.0|fell-back" "$(history_of)"
expect_match "the fallback audited" \
    "type=update .*object=cml result=fell-back details=cml 3\\.0 in slot a did not come up: exited with status 1 before confirming; slot b runs again" \
    "$(audit_tail 30 | grep 'did not come up')"
expect_eq "the floor stays at the version that runs" "2.0" \
    "$(sqlite3 "$db" ".timeout 5000" "select version from update_floor where kind = 'cml' and name = 'cml'")"

# --- below the floor ----------------------------------------------------------
b15=$(bundle_cml "$SCRATCH/tree2" 1.5)
run update install "$b15"
expect_status "cml 1.5: refused" 1 "$rc"
expect_match "below the floor" \
    "refused: cml cml 1\\.5 is below the version floor 2\\.0 \\(held by the TPM and the state store\\)" \
    "$(cat "$SCRATCH/err")"
expect_eq "nothing tried" "none" "$(slot_get try)"

run update status
expect_status "update status" 0 "$rc"
expect_match "status: the history" "3\\.0.*fell-back" "$(cat "$SCRATCH/out")"
run --json update status
expect_eq "status: the slot that runs" b "$(json_get slots 0 running <"$SCRATCH/out")"
expect_eq "status: the good slot" b "$(json_get slots 0 good <"$SCRATCH/out")"
expect_eq "status: nothing pending" false "$(json_get slots 0 pending_confirmation <"$SCRATCH/out")"
expect_match "status: the last failure" "slot a \\(cml 3\\.0\\): exited with status 1 before confirming" \
    "$(json_get slots 0 last_failure <"$SCRATCH/out")"

kill -TERM "$LPID"
wait "$LPID"
untrack_pid "$LPID"
finish
