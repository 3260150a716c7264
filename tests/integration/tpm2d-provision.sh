#!/bin/bash
# tpm2d's methods for provisioning and the wipe, against a real swtpm:
# CreateIdentity answers the device key tpm2d made at its start (made
# false, the key IdentityPublic shows); WipeIdentity evicts the device key
# and the attestation key (tpm2_getcap, run while tpm2d is stopped, finds
# neither handle), after which signing answers NoIdentity and a second
# wipe still answers present false; CreateIdentity then makes a new key
# (made true, another public key) at the same handle, which signs again.
# SignReport signs SHA-256("cml-provision-report-v1" NUL || the report's
# SHA-256), computed here without cml's code, verifiable with `openssl
# dgst -sha256 -verify` over that message (and not for another report);
# a digest that is not 64 lower-case hex digits is refused with the
# reason.  Create and wipe are audited (TakeAudit) with what they did.
# Proves: CR 1.2 (the device key is made in the TPM on request, for the
# CSR of provisioning), CR 4.2(1) (the wipe of the TPM's keys is checked:
# both persistent handles free), CR 1.9(1) (the report is signed in the
# TPM by the device key, under a label of its own).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm openssl python3 tpm2_getcap
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] ||
    skip "no tpm2d at $CML_BUILDDIR/daemon/tpm2d/tpm2d: build first (or set CML_BUILDDIR)"
make_scratch
# ESYS prints the TPM errors this test provokes on purpose.
export TSS2_LOG=all+none

swtpm_start "$SCRATCH/swtpm"
tpm2d_up --seal-pcrs 7,16 || fail "tpm2d did not start"

# handles: the persistent handles of cml's keys the TPM holds, read with
# tpm2-tools while tpm2d is stopped (swtpm serves one client at a time).
handles() {
	tpm2_getcap -T "$SWTPM_TCTI" handles-persistent |
	    grep -oE '0x8100010[01]' | sort | tr '\n' ' '
}

tpm2d_params org.cml.TPM.IdentityPublic | json_get public_key >"$SCRATCH/id.pem"
created=$(tpm2d_params org.cml.TPM.CreateIdentity)
expect_eq "CreateIdentity with a key there makes none" false \
    "$(json_get made <<<"$created")"
expect_eq "and answers the key IdentityPublic shows" "$(cat "$SCRATCH/id.pem")" \
    "$(json_get public_key <<<"$created")"
expect_match "with its curve" '^P-(256|384)$' "$(json_get curve <<<"$created")"
expect_match "and its TPM name" '^000b[0-9a-f]{64}$' "$(json_get name <<<"$created")"

# SignReport: the message is the label, a NUL and the report's SHA-256.
printf '{"format": 1, "uuid": "x"}' >"$SCRATCH/report.json"
printf '{"format": 1, "uuid": "y"}' >"$SCRATCH/other.json"
# message REPORT OUT: the bytes the device key signs for REPORT.
message() {
	python3 -c 'import hashlib, sys
r = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(b"cml-provision-report-v1\0" + hashlib.sha256(r).digest())' "$@"
}
message "$SCRATCH/report.json" "$SCRATCH/report.msg"
message "$SCRATCH/other.json" "$SCRATCH/other.msg"
DIGEST=$(sha256sum "$SCRATCH/report.json" | cut -d' ' -f1)
sig=$(tpm2d_params org.cml.TPM.SignReport "{\"report_digest\": \"$DIGEST\"}" |
    json_get signature)
base64 -d <<<"$sig" >"$SCRATCH/report.sig" || fail "the signature is no base64"
openssl dgst -sha256 -verify "$SCRATCH/id.pem" -signature "$SCRATCH/report.sig" \
    "$SCRATCH/report.msg" >/dev/null 2>&1
expect_status "the report's signature verifies with openssl dgst" 0 $?
openssl dgst -sha256 -verify "$SCRATCH/id.pem" -signature "$SCRATCH/report.sig" \
    "$SCRATCH/other.msg" >/dev/null 2>&1
expect_status "and not for another report" 1 $?
BADMSG="ERROR org.cml.Error.InvalidArgument: report_digest must be the report's SHA-256: 64 lower-case hex digits"
for bad in "${DIGEST:1}" "${DIGEST}00" "" "zz${DIGEST:2}" "$(tr a-f A-F <<<"$DIGEST")"; do
	expect_eq "SignReport refuses '$bad'" "$BADMSG" \
	    "$(tpm2d_refused org.cml.TPM.SignReport "{\"report_digest\": \"$bad\"}")"
done

# WipeIdentity: both keys go, and the TPM shows it.
expect_eq "WipeIdentity answers present false" false \
    "$(tpm2d_params org.cml.TPM.WipeIdentity | json_get present)"
expect_match "SignReport after the wipe: NoIdentity" \
    "^ERROR org.cml.TPM.NoIdentity: " \
    "$(tpm2d_refused org.cml.TPM.SignReport "{\"report_digest\": \"$DIGEST\"}")"
expect_eq "Status says absent" absent "$(tpm2d_params org.cml.TPM.Status | json_get identity)"
expect_eq "a second wipe answers present false" false \
    "$(tpm2d_params org.cml.TPM.WipeIdentity | json_get present)"
tpm2d_down
expect_eq "the TPM holds neither handle after the wipe" "" "$(handles)"
# tpm2d restarted makes a key at its start; wipe it once more to see
# CreateIdentity make one.
tpm2d_up --seal-pcrs 7,16 || fail "tpm2d did not start again"
expect_eq "WipeIdentity after a restart" false \
    "$(tpm2d_params org.cml.TPM.WipeIdentity | json_get present)"
created=$(tpm2d_params org.cml.TPM.CreateIdentity)
expect_eq "CreateIdentity after a wipe makes the keys" true \
    "$(json_get made <<<"$created")"
json_get public_key <<<"$created" >"$SCRATCH/new.pem"
if cmp -s "$SCRATCH/id.pem" "$SCRATCH/new.pem"; then
	fail "the new device key is the old one"
fi
expect_eq "IdentityPublic shows the new key" "$(cat "$SCRATCH/new.pem")" \
    "$(tpm2d_params org.cml.TPM.IdentityPublic | json_get public_key)"
expect_eq "Status says present" present "$(tpm2d_params org.cml.TPM.Status | json_get identity)"
sig=$(tpm2d_params org.cml.TPM.SignReport "{\"report_digest\": \"$DIGEST\"}" |
    json_get signature)
base64 -d <<<"$sig" >"$SCRATCH/report2.sig"
openssl dgst -sha256 -verify "$SCRATCH/new.pem" -signature "$SCRATCH/report2.sig" \
    "$SCRATCH/report.msg" >/dev/null 2>&1
expect_status "the new key signs reports" 0 $?

audit=$(tpm2d_params org.cml.TPM.TakeAudit | python3 -c 'import json, sys
for r in json.load(sys.stdin)["records"]:
	print("%s %s %s" % (r["object"], r["result"], r["details"]))')
expect_match "a wipe is audited with what it did" \
    "org.cml.TPM.WipeIdentity ok .*evicted the device key \(0x81000100\) and the attestation key \(0x81000101\); both handles are free" \
    "$audit"
expect_match "a CreateIdentity that made the keys is audited so" \
    "org.cml.TPM.CreateIdentity ok .*made the device identity at 0x81000100" "$audit"
expect_match "the keys made are audited" "device key ok made a P-(256|384) device key" \
    "$audit"
tpm2d_down
expect_eq "the TPM holds both handles again" "0x81000100 0x81000101 " "$(handles)"

expect_eq "tpm2d's log has no sanitizer report" "" \
    "$(grep -hE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$STACK_DIR/log/tpm2d.log")"
finish
