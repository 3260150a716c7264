#!/bin/bash
# The provisioning report on a fresh stack (swtpm, tpm2d, scd, cmld):
# before the certificate step `provision report` is signed but carries no
# certificate, and cml-attest --report refuses it for that.  After
# `provision identity` and `provision certificate` (the test's device CA,
# kept as the device anchor), the report names what the store holds (the
# device, its state, each step with its state as in provision_step, the
# device certificate's fingerprint, the device CA, every trust anchor and
# setting) and the TPM's device key; the call is audited with the
# report's SHA-256.  With the stack stopped, in a directory of its own,
# the report verifies: openssl alone checks the signature over
# SHA-256("cml-provision-report-v1" NUL SHA-256(report)) with the
# certificate's key, and cml-attest --report --ca ROOT prints the device,
# the state and every step: the root alone, because the reply's
# certificate is the device certificate followed by the device CA it was
# installed with (kept in the store as its chain).  Refused, each with its
# reason: one byte changed in the report, in the signature, in the
# certificate, in its device CA; the device CA dropped from the reply
# (while root and device CA given to the verifier still verify it);
# another CA; another UUID asked for; the same report signed by another
# TPM (a second swtpm's device key, a signature valid for that key) with
# the first device's certificate.
# Proves: CR 1.8 (the device certificate handed out with its chain: a
# verifier needs only the root CA), CR 1.2 (the report names the device
# its certificate names), CR 1.2(1) (the certificate's CN is the report's
# UUID), CR 1.9(1) (signed by the TPM-held device key: another TPM's
# signature fails), NDR 3.12 (the device CA anchor installed in
# provisioning is the one the report names and a verifier trusts), CR
# 7.6(1) (a machine-readable, signed report of the settings and anchors),
# CR 2.8 (the report is audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog swtpm openssl python3 sqlite3
ATTEST=$CML_BUILDDIR/provisioning/cml-attest
[ -x "$ATTEST" ] || skip "no cml-attest at $ATTEST: build first"
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] ||
    skip "no tpm2d at $CML_BUILDDIR/daemon/tpm2d/tpm2d: build first"
[ -x "$MKPKI" ] || skip "no provisioning/cml-mkpki at $MKPKI"
export TSS2_LOG=all+none

stack_start
PKI=$SCRATCH/pki
pki_make "$PKI"
uuid=$(cmlsh_run --json device status | json_get uuid)
[ -n "$uuid" ] || fail "device status names no uuid"
DB=$(state_dir)/cml.db

# attest FILE [OPTIONS...]: cml-attest --report FILE with the root CA of
# the test's PKI alone (the device CA anchor; the device CA under it, which
# issues device certificates, comes with the certificate); sets $out
# (stdout and stderr) and $rc.
attest() {
	local f=$1
	shift
	out=$("$ATTEST" --ca "$PKI/root.crt" --report "$f" "$@" 2>&1)
	rc=$?
}

# member FILE KEY...: a member of the report inside a saved reply.
member() {
	local f=$1
	shift
	json_get report <"$f" | json_get "$@"
}

# --- before the certificate step ---------------------------------------------
cmlsh_run --json provision report >"$SCRATCH/early.json" 2>"$SCRATCH/err" ||
    fail "provision report: $(cat "$SCRATCH/err")"
expect_eq "before step 3 the reply has no certificate" "" \
    "$(json_get certificate <"$SCRATCH/early.json")"
expect_eq "before step 3 the reply has no device CA" "" \
    "$(json_get ca <"$SCRATCH/early.json")"
expect_eq "the early report names no certificate" "null" \
    "$(member "$SCRATCH/early.json" certificate)"
expect_eq "the early report: every step pending" \
    "check pending,identity pending,certificate pending,anchors pending,token pending,settings pending,lock pending" \
    "$(json_get report <"$SCRATCH/early.json" | python3 -c 'import json, sys
print(",".join("%s %s" % (s["name"], s["state"]) for s in json.load(sys.stdin)["steps"]))')"
attest "$SCRATCH/early.json"
expect_status "cml-attest refuses a report without a certificate" 1 "$rc"
expect_match "... saying there is no certificate to vouch for it" \
    "^cml-attest: the report does not verify: the report came without a device certificate" "$out"

# --- steps 2 and 3: the device key's certificate, the device CA --------------
# The PKI's device CA issues the certificate (installed with it as its
# chain); the root above it becomes the device CA anchor.
cmlsh_run -c 'device config set device_name gateway-7' >/dev/null ||
    fail "device config set device_name"
provision_device_cert "$PKI"

cmlsh_run --json provision report >"$SCRATCH/r.json" 2>"$SCRATCH/err" ||
    fail "provision report: $(cat "$SCRATCH/err")"
json_get report <"$SCRATCH/r.json" >"$SCRATCH/report.txt"
digest=$(python3 -c 'import hashlib, json, sys
print(hashlib.sha256(json.load(sys.stdin)["report"].encode()).hexdigest())' <"$SCRATCH/r.json")

# The report says what the store and the TPM hold.
expect_eq "the report's format" 1 "$(member "$SCRATCH/r.json" format)"
expect_eq "the report's device" "$uuid gateway-7" \
    "$(member "$SCRATCH/r.json" device uuid) $(member "$SCRATCH/r.json" device name)"
expect_eq "the report's state is the store's" \
    "$(sqlite3 "$DB" 'SELECT state FROM device')" \
    "$(member "$SCRATCH/r.json" state)"
expect_eq "each step tried is in the report as in provision_step" \
    "$(sqlite3 -separator ' ' "$DB" "SELECT name, state, coalesce(summary, '') FROM provision_step WHERE name IN ('identity', 'certificate') ORDER BY name")" \
    "$(member "$SCRATCH/r.json" steps | python3 -c 'import json, sys
for s in sorted(json.load(sys.stdin), key=lambda s: s["name"]):
    if s["name"] in ("identity", "certificate"):
        print(s["name"], s["state"], s["summary"] or "")')"
expect_eq "steps not tried are pending" "check anchors token settings lock" \
    "$(member "$SCRATCH/r.json" steps | python3 -c 'import json, sys
print(" ".join(s["name"] for s in json.load(sys.stdin) if s["state"] == "pending"))')"
expect_eq "the certificate it names is the one installed" \
    "$(openssl x509 -in "$PKI/dev.crt" -outform DER | sha256sum | cut -d' ' -f1)" \
    "$(member "$SCRATCH/r.json" certificate fingerprint)"
root_fp=$(openssl x509 -in "$PKI/root.crt" -outform DER | sha256sum | cut -d' ' -f1)
expect_eq "the device CA it names is the device anchor" \
    "$root_fp $root_fp" \
    "$(sqlite3 "$DB" "SELECT fingerprint FROM trust_anchor WHERE kind = 'device'") $(member "$SCRATCH/r.json" certificate ca_fingerprint)"
expect_eq "every trust anchor, with its kind" \
    "$(sqlite3 -separator ' ' "$DB" 'SELECT kind, fingerprint FROM trust_anchor ORDER BY fingerprint')" \
    "$(member "$SCRATCH/r.json" anchors | python3 -c 'import json, sys
for a in sorted(json.load(sys.stdin), key=lambda a: a["fingerprint"]):
    print(a["kind"], a["fingerprint"])')"
nsettings=$(member "$SCRATCH/r.json" settings | python3 -c 'import json, sys
print(len(json.load(sys.stdin)))')
expect_eq "every setting, with its value" \
    "$(cmlsh_run --json device config get | python3 -c 'import json, sys
for s in json.load(sys.stdin)["settings"]:
    print(s["key"], s["value"])')" \
    "$(member "$SCRATCH/r.json" settings | python3 -c 'import json, sys
for s in json.load(sys.stdin):
    print(s["key"], s["value"])')"
expect_eq "the device key it names is the certificate's" \
    "$(openssl x509 -in "$PKI/dev.crt" -noout -pubkey)" \
    "$(member "$SCRATCH/r.json" device_key public_key | openssl pkey -pubin)"
expect_eq "the reply's certificate and CA are the installed ones" \
    "$(openssl x509 -in "$PKI/dev.crt") $(openssl x509 -in "$PKI/root.crt")" \
    "$(json_get certificate <"$SCRATCH/r.json" | openssl x509) $(json_get ca <"$SCRATCH/r.json" | openssl x509)"
expect_eq "the store keeps the device CA as the certificate's chain" \
    "$(openssl x509 -in "$PKI/devca.crt" -outform DER | od -An -v -tx1 | tr -d ' \n')" \
    "$(sqlite3 "$DB" 'SELECT lower(hex(chain)) FROM device_cert')"
expect_eq "the reply's certificate is the device certificate, then its device CA" \
    "$(openssl x509 -in "$PKI/dev.crt"; openssl x509 -in "$PKI/devca.crt")" \
    "$(json_get certificate <"$SCRATCH/r.json")"
expect_match "the report is audited with its SHA-256" \
    "object=org.cml.Provision.Report result=ok details=provisioning report of [0-9]+ bytes, SHA-256 $digest, state factory, with the device certificate" \
    "$(audit_tail 1)"

# --- off the device -------------------------------------------------------------
# Everything the verifier gets, in a directory of its own; no daemon runs.
OFF=$SCRATCH/off
mkdir -p "$OFF"
cp "$SCRATCH/r.json" "$PKI/root.crt" "$PKI/devca.crt" "$OFF/"
cp "$SCRATCH/r.json" "$SCRATCH/forged.json"
stack_stop
cd "$OFF" || fail "cd $OFF"
expect_eq "the verifier's directory holds no socket" "" \
    "$(find "$OFF" -type s)"

# openssl alone, as cml-attest(1) shows: the signature over the digest
# the spec gives.
json_get report <r.json >report.txt
json_get signature <r.json | base64 -d >sig.der
json_get certificate <r.json | openssl x509 -noout -pubkey >dev.pub
{ printf 'cml-provision-report-v1\0'
  openssl dgst -sha256 -binary report.txt; } >signed.bin
expect_eq "openssl verifies the signature with the certificate's key" \
    "Verified OK" \
    "$(openssl dgst -sha256 -verify dev.pub -signature sig.der signed.bin 2>&1)"

attest r.json
expect_status "cml-attest --report verifies the report" 0 "$rc"
expect_lines "... and prints the device, its state and every step" "$out" \
    "^device: $uuid \(gateway-7\)$" \
    "^device certificate: O=cml device,CN=$uuid \(issued by CN=cml device CA,O=cml\)$" \
    "^device CA: CN=cml root CA,O=cml$" \
    "^report: made 20[0-9-]+T[0-9:.]+Z by cml [^ ]+, signed by the device key \(P-(256|384)\)$" \
    "^state: factory$" \
    "^step 1 check +pending$" \
    "^step 2 identity +done +20[0-9-]+T[0-9:.]+Z .+$" \
    "^step 3 certificate +done +20[0-9-]+T[0-9:.]+Z .+$" \
    "^step 4 anchors +pending$" \
    "^step 5 token +pending$" \
    "^step 6 settings +pending$" \
    "^step 7 lock +pending$" \
    "^steps done: 2 of 7; trust anchors: 1; settings: $nsettings$" \
    "^report: ok$"
attest r.json --uuid "$uuid"
expect_status "... also when asked for this device's UUID" 0 "$rc"
attest - <r.json
expect_status "... also from standard input" 0 "$rc"
expect_eq "... with the same words" "report: ok" "$(tail -n 1 <<<"$out")"

# tamper PART: r.json with one byte of the reply's member PART changed (in
# the middle; a base64 character by another one) into t.json.
tamper() {
	python3 - "$1" <<'PY' || fail "tamper $1"
import json, sys
r = json.load(open("r.json"))
s = r[sys.argv[1]]
i = len(s) // 2
while s[i] in "\n-=":
    i += 1
c = "B" if s[i] == "A" else "A"
r[sys.argv[1]] = s[:i] + c + s[i + 1:]
json.dump(r, open("t.json", "w"))
PY
}

tamper report
attest t.json
expect_status "a byte changed in the report fails" 1 "$rc"
expect_match "... for its signature" \
    "^cml-attest: the report does not verify: the report's signature does not verify with the device key \(O=cml device,CN=$uuid\)" \
    "$out"
tamper signature
attest t.json
expect_status "a byte changed in the signature fails" 1 "$rc"
expect_match "... for the signature" \
    "^cml-attest: the report does not verify: the report's signature (does not verify|is no)" "$out"
# chain EXPR: r.json with the reply's certificate's PEM blocks (b: the
# list, the device certificate first) replaced by the Python expression
# EXPR of them into t.json; flip(c) is c with one base64 character changed
# in the middle.
chain() {
	python3 - "$1" <<'PY' || fail "chain $1"
import json, sys
r = json.load(open("r.json"))
e = "-----END CERTIFICATE-----\n"
b = [c + e for c in r["certificate"].split(e) if c]
def flip(c):
    i = len(c) // 2
    while c[i] in "\n-=":
        i += 1
    return c[:i] + ("B" if c[i] == "A" else "A") + c[i + 1:]
r["certificate"] = "".join(eval(sys.argv[1]))
json.dump(r, open("t.json", "w"))
PY
}
chain '[flip(b[0])] + b[1:]'
attest t.json
expect_status "a byte changed in the certificate fails" 1 "$rc"
expect_match "... for the certificate" \
    "^cml-attest: the report does not verify: the (reply's )?device certificate" "$out"
chain 'b[:1] + [flip(b[1])]'
attest t.json
expect_status "a byte changed in the device CA after the certificate fails" 1 "$rc"
expect_match "... for the certificate" \
    "^cml-attest: the report does not verify: the (reply's )?device certificate" "$out"
chain 'b[:1]'
attest t.json
expect_status "the device CA dropped from the reply: the root alone fails" 1 "$rc"
expect_match "... the certificate does not chain to the root" \
    "^cml-attest: the report does not verify: the device certificate \(O=cml device,CN=$uuid, issued by CN=cml device CA,O=cml\) does not chain to a CA given" "$out"
out=$("$ATTEST" --ca "$PKI/root.crt" --ca "$PKI/devca.crt" --report t.json 2>&1)
expect_status "... while root and device CA given verify it" 0 "$?"

pki_make "$SCRATCH/pki2"
out=$("$ATTEST" --ca "$SCRATCH/pki2/root.crt" --report r.json 2>&1)
expect_status "another PKI's root fails" 1 "$?"
expect_match "... the certificate does not chain to them" \
    "^cml-attest: the report does not verify: the device certificate .* does not chain to a CA given" "$out"
out=$("$ATTEST" --ca "$PKI/devca.crt" --report r.json 2>&1)
expect_status "without the device CA anchor the reply names, it fails" 1 "$?"
expect_match "... saying the reply's device CA was not given" \
    "^cml-attest: the report does not verify: the reply's device CA \(CN=cml root CA,O=cml, SHA-256 $root_fp\) is none of the CAs given$" \
    "$out"
attest r.json --uuid 0b7f0a4e-1111-4222-8333-444455556666
expect_status "another UUID asked for fails" 1 "$rc"
expect_match "... naming both" \
    "^cml-attest: the report is of device $uuid, not of 0b7f0a4e-1111-4222-8333-444455556666$" "$out"

# --- another TPM signs the same report ----------------------------------------
# A second device (its own swtpm and tpm2d) signs the first device's report;
# the reply keeps the first device's certificate.
cd "$SCRATCH" || fail "cd $SCRATCH"
first_stack=$STACK_DIR
STACK_DIR=$SCRATCH/other
TPM2D_SOCK=$STACK_DIR/run/cml/tpm2d.sock
swtpm_start "$SCRATCH/other-swtpm"
tpm2d_up || fail "the second tpm2d did not start"
other_sig=$(tpm2d_call org.cml.TPM.SignReport "{\"report_digest\": \"$digest\"}" |
    json_get parameters signature)
tpm2d_call org.cml.TPM.IdentityPublic | json_get parameters public_key \
    >"$OFF/other.pub"
tpm2d_down
STACK_DIR=$first_stack
cd "$OFF" || fail "cd $OFF"
base64 -d <<<"$other_sig" >other.der
expect_eq "the second TPM's signature holds for its own key" "Verified OK" \
    "$(openssl dgst -sha256 -verify other.pub -signature other.der signed.bin 2>&1)"
python3 -c 'import json, sys
r = json.load(open("r.json"))
r["signature"] = sys.argv[1]
json.dump(r, open("t.json", "w"))' "$other_sig"
attest t.json
expect_status "the report signed by another TPM fails" 1 "$rc"
expect_match "... the signature is not the certified device key's" \
    "^cml-attest: the report does not verify: the report's signature does not verify with the device key \(O=cml device,CN=$uuid\): .*another device's TPM signed it$" \
    "$out"

finish
