#!/bin/bash
# The factory provisioning, step by step through cmlsh on a fresh stack
# (swtpm, a software token): each step's state is checked in `provision
# status --json` and in the store (provision_step of cml.db), and each step
# run again answers the same without a second change in the audit trail
# (the token step, which would change the device, is refused). Refused with
# the reason and nothing stored: a certificate for another key with the
# device UUID as CN, the right certificate with a CA certificate off its
# path to the root in the file (the device CA on it is stored as the
# certificate's chain once accepted), an anchor confirmed with a wrong
# fingerprint, the lock before every step is done (the steps named). The
# token step makes c0 on c0_guestos with the token type in its config. The
# device CA is kept as an anchor of kind device that signs no software (a
# config signed under it is refused). After the lock: an unsigned config refused, a factory-only
# command refused as AlreadyProvisioned, require_signed_configs false
# refused, the supplier and device anchors cannot be removed but an owner
# anchor can; and cmld restarted is still provisioned.
# Proves: CR 1.2 (the CSR carries the device UUID, the certificate must
# certify the TPM's key), IAM 01 (the device certificate names the device
# UUID and the TPM key), CR 1.9 (a certificate for another key refused),
# CR 1.8 (only the CA certificates on the path to the anchor are kept with
# the device certificate), CR 1.5 (c0's token made with its PIN and PUK,
# neither stored nor audited),
# NDR 3.12 (the supplier anchor installed on confirmation and fixed once
# provisioned), NDR 3.13 (owner anchors stay removable), CR 7.6 (settings
# checked before any is stored), COM 06 (signed configs required once
# provisioned).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog openssl sqlite3 python3
ct_setup
ct_track c0
db=$(state_dir)/cml.db
SUP=$SCRATCH/sup
DEV=$SCRATCH/dev
pki_make "$SUP" --org supplier
pki_make "$DEV" --org "device maker"
UUID=$(cmlsh_run --json device status | json_get uuid)
[ -n "$UUID" ] || fail "device status names no uuid"
PIN=246813
PUK=97531864

# state NAME: the step's state as provision status --json says it
state() {
	cmlsh_run --json provision status | python3 -c '
import json, sys
for s in json.load(sys.stdin)["steps"]:
    if s["name"] == sys.argv[1]:
        print(s["state"])' "$1"
}
# stored NAME: the step's state as the store has it ("" when no row)
stored() {
	sqlite3 "$db" ".timeout 5000" "select state from provision_step where name = '$1'"
}
# step_is NAME STATE: both say so
step_is() {
	expect_eq "$1: provision status says $2" "$2" "$(state "$1")"
	expect_eq "$1: the store says ${3-$2}" "${3-$2}" "$(stored "$1")"
}
# audited OBJECT RESULT REGEX: how many records of calls of OBJECT with
# RESULT have details matching REGEX
audited() {
	cmlsh_run --json -c 'audit list' | python3 -c '
import json, re, sys
n = 0
for r in json.load(sys.stdin)["records"]:
    if r["object"] == sys.argv[1] and r["result"] == sys.argv[2] and re.search(sys.argv[3], r["details"]):
        n += 1
print(n)' "org.cml.Provision.$1" "$2" "$3"
}
# run ARGS...: cmlsh's output in $SCRATCH/out, its errors in $SCRATCH/err, $rc
run() {
	cmlsh_run "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
}

expect_eq "a fresh device is in factory" "factory" \
    "$(cmlsh_run --json provision status | json_get state)"
for s in check identity certificate anchors token settings lock; do
	step_is "$s" pending ""
done
expect_eq "the next step is check" "check" \
    "$(cmlsh_run --json provision status | json_get next)"

# --- 1 check ------------------------------------------------------------------
run provision check
expect_status "provision check" 0 "$rc"
expect_lines "the checks, each passed, then the step" "$(cat "$SCRATCH/out")" \
    '^NAME +OK +DETAIL$' \
    '^tpm +yes +tpm2d is up, its TPM answers \(manufacturer ' \
    '^device-key +yes +the TPM holds the device key$' \
    '^scd +yes +scd is up ' \
    '^clock +yes +UTC now is 20.*after cml.s build date' \
    '^step: check done at 20[0-9-]+T[0-9:.]+Z: every check passed: tpm, device-key, scd, clock$'
step_is check done
run provision check
expect_status "provision check again" 0 "$rc"
step_is check done

# --- 2 identity ---------------------------------------------------------------
cmlsh_run provision identity >"$SCRATCH/dev.csr" 2>"$SCRATCH/err" ||
    fail "provision identity: $(cat "$SCRATCH/err")"
expect_match "the request subject is the device UUID" \
    "subject=CN ?= ?$UUID, ?O ?= ?cml device" \
    "$(openssl req -in "$SCRATCH/dev.csr" -noout -verify -subject 2>&1)"
step_is identity done
cmlsh_run --json provision identity >"$SCRATCH/id.json" || fail "provision identity --json"
expect_eq "identity again: the same request" "$(cat "$SCRATCH/dev.csr")" \
    "$(cmlsh_run provision identity)"
expect_eq "the request's key is the TPM's" \
    "$(openssl req -in "$SCRATCH/dev.csr" -noout -pubkey)" \
    "$(json_get public_key <"$SCRATCH/id.json" | openssl pkey -pubin)"
expect_eq "the CSR is made once (audited once)" 1 \
    "$(audited Identity ok 'request for /CN=')"
expect_eq "a repeat is audited as such" 2 \
    "$(audited Identity ok 'the same request answered again')"

# --- 3 certificate ------------------------------------------------------------
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$SCRATCH/dev.ext"
# issue CSR OUT: the device maker's device CA signs CSR; OUT has the chain
issue() {
	openssl x509 -req -in "$1" -CA "$DEV/devca.crt" -CAkey "$DEV/devca.key" \
	    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha384 \
	    -extfile "$SCRATCH/dev.ext" -out "$2" >/dev/null 2>&1 ||
	    fail "openssl x509 -req $1 failed"
	cat "$DEV/devca.crt" >>"$2"
}
# cert_refused: the certificate step failed and stored nothing
cert_refused() {
	expect_eq "no device certificate stored" 0 \
	    "$(sqlite3 "$db" ".timeout 5000" 'select count(*) from device_cert')"
	expect_eq "the device CA is not stored either" 0 \
	    "$(sqlite3 "$db" ".timeout 5000" "select count(*) from trust_anchor where kind = 'device'")"
	step_is certificate failed
}
# A certificate with the device UUID as CN, for a key of its own.
openssl ecparam -name secp384r1 -genkey -noout -out "$SCRATCH/other.key" 2>/dev/null
openssl req -new -key "$SCRATCH/other.key" -subj "/CN=$UUID/O=cml device" \
    -out "$SCRATCH/other.csr" 2>/dev/null || fail "openssl req for another key"
issue "$SCRATCH/other.csr" "$SCRATCH/other.pem"
run provision certificate "$SCRATCH/other.pem" "$DEV/root.crt"
expect_status "a certificate for another key: refused" 1 "$rc"
expect_match "with the reason" \
    "^cmlsh: $SCRATCH/other.pem is not this device's certificate: .*key" \
    "$(cat "$SCRATCH/err")"
cert_refused
expect_match "the step says why" "is not this device's certificate" \
    "$(cmlsh_run --json provision status | python3 -c 'import json, sys
print([s for s in json.load(sys.stdin)["steps"] if s["name"] == "certificate"][0]["error"])')"

issue "$SCRATCH/dev.csr" "$SCRATCH/dev.pem"
# The right certificate and its device CA, then a CA certificate off its
# path (the software-signing CA under the same root).
cat "$SCRATCH/dev.pem" "$DEV/swca.crt" >"$SCRATCH/dev-extra.pem"
run provision certificate "$SCRATCH/dev-extra.pem" "$DEV/root.crt"
expect_status "a certificate off the path in the file: refused" 1 "$rc"
expect_match "with the reason, naming it" \
    "^cmlsh: $SCRATCH/dev-extra.pem is not this device's certificate: it comes with a certificate off its path: certificate 3 in $SCRATCH/dev-extra.pem, 'CN=device maker software signing CA,O=device maker', is not between it and the trust anchor 'CN=device maker root CA,O=device maker'" \
    "$(cat "$SCRATCH/err")"
cert_refused
run provision certificate "$SCRATCH/dev.pem" "$DEV/root.crt"
expect_status "provision certificate" 0 "$rc"
cp "$SCRATCH/out" "$SCRATCH/cert1.out"
expect_match "it names the device" "^subject: +O=cml device,CN=$UUID" "$(cat "$SCRATCH/out")"
step_is certificate done
expect_eq "the device certificate is stored" \
    "$(openssl x509 -in "$SCRATCH/dev.pem" -outform DER | sha256sum | cut -d' ' -f1)" \
    "$(sqlite3 "$db" ".timeout 5000" 'select fingerprint from device_cert')"
expect_eq "with the device CA between it and the root as its chain" \
    "$(openssl x509 -in "$DEV/devca.crt" -outform DER | od -An -v -tx1 | tr -d ' \n')" \
    "$(sqlite3 "$db" ".timeout 5000" 'select lower(hex(chain)) from device_cert')"
DEVCA_FP=$(openssl x509 -in "$DEV/root.crt" -outform DER | sha256sum | cut -d' ' -f1)
expect_eq "the device CA is an anchor of kind device" "device" \
    "$(sqlite3 "$db" ".timeout 5000" "select kind from trust_anchor where fingerprint = '$DEVCA_FP'")"
expect_match "ca list shows it as device" "device$" \
    "$(cmlsh_run ca list | grep 'CN=device maker root CA')"
run provision certificate "$SCRATCH/dev.pem" "$DEV/root.crt"
expect_status "the same certificate again" 0 "$rc"
expect_eq "answers as the first time" "$(cat "$SCRATCH/cert1.out")" "$(cat "$SCRATCH/out")"
issue "$SCRATCH/dev.csr" "$SCRATCH/dev2.pem"
run provision certificate "$SCRATCH/dev2.pem" "$DEV/root.crt"
expect_status "another certificate, even for the same key: refused" 1 "$rc"
expect_match "with the reason" "the device certificate was installed already" \
    "$(cat "$SCRATCH/err")"
step_is certificate done
expect_eq "installed once (audited once)" 1 \
    "$(audited Certificate ok '^installed device certificate')"
# The device CA certifies devices, never software: a config signed under
# the device maker's PKI is not trusted.
ct_config signed-dev '{"name":"signed-dev","guestos":{"name":"busybox"}}' >/dev/null
_run_tool "cml-sign" "$CML_SIGN" sign --key "$DEV/signer.key" --cert "$DEV/signer.crt" \
    --chain "$DEV/chain.pem" -o "$SCRATCH/signed-dev.json.p7s" "$SCRATCH/signed-dev.json"
run container create "$SCRATCH/signed-dev.json"
expect_status "a config signed under the device CA's PKI: refused" 1 "$rc"
expect_match "as untrusted" "refused: .*(trust|anchor|chain)" "$(cat "$SCRATCH/err")"

# --- 4 anchors ----------------------------------------------------------------
SUP_FP=$(openssl x509 -in "$SUP/root.crt" -outform DER | sha256sum | cut -d' ' -f1)
run provision anchor "$SUP/root.crt" supplier
expect_status "provision anchor without --confirm" 0 "$rc"
expect_lines "it shows the anchor and how to install it" "$(cat "$SCRATCH/out")" \
    '^subject: +CN=supplier root CA,O=supplier$' \
    '^key: +EC P-384$' \
    '^not after: +20[0-9-]+T[0-9:]+Z$' \
    "^fingerprint: +$SUP_FP\$" \
    '^kind: +supplier$' \
    "^not installed: check the fingerprint, then confirm with --confirm $SUP_FP\$" \
    '^step: anchors pending$'
expect_eq "nothing stored" 0 \
    "$(sqlite3 "$db" ".timeout 5000" "select count(*) from trust_anchor where fingerprint = '$SUP_FP'")"
WRONG=$(printf '%s' "$SUP_FP" | tr 0-9a-f 1-9a-f0)
run provision anchor "$SUP/root.crt" supplier --confirm "$WRONG"
expect_status "a wrong fingerprint confirmed: refused" 1 "$rc"
expect_eq "with the reason" "cmlsh: the fingerprint confirmed ($WRONG) is not the one of $SUP/root.crt ($SUP_FP): nothing was installed" \
    "$(cat "$SCRATCH/err")"
expect_eq "nothing stored" 0 \
    "$(sqlite3 "$db" ".timeout 5000" "select count(*) from trust_anchor where fingerprint = '$SUP_FP'")"
step_is anchors failed
run provision anchor "$SUP/root.crt" supplier --confirm "$SUP_FP"
expect_status "the right fingerprint: installed" 0 "$rc"
expect_match "installed" $'\ninstalled\nstep: anchors done at ' "$(cat "$SCRATCH/out")"
step_is anchors done
expect_eq "stored as a supplier anchor" supplier \
    "$(sqlite3 "$db" ".timeout 5000" "select kind from trust_anchor where fingerprint = '$SUP_FP'")"
run provision anchor "$SUP/root.crt" supplier --confirm "$SUP_FP"
expect_status "the same anchor again" 0 "$rc"
expect_match "answers installed" $'\ninstalled\n' "$(cat "$SCRATCH/out")"
run provision anchor "$SUP/root.crt" owner --confirm "$SUP_FP"
expect_status "the same anchor as owner: refused" 1 "$rc"
expect_match "with the reason" "is a supplier anchor already, not a owner one" "$(cat "$SCRATCH/err")"
expect_eq "installed once (audited once)" 1 \
    "$(audited Anchor ok '^installed supplier anchor')"
OWN_FP=$(openssl x509 -in "$SUP/swca.crt" -outform DER | sha256sum | cut -d' ' -f1)
run provision anchor "$SUP/swca.crt" owner --confirm "$OWN_FP"
expect_status "an owner anchor" 0 "$rc"
expect_eq "stored as an owner anchor" owner \
    "$(sqlite3 "$db" ".timeout 5000" "select kind from trust_anchor where fingerprint = '$OWN_FP'")"

# --- lock before the steps are done -------------------------------------------
run --yes provision lock
expect_status "lock before token and settings: refused" 1 "$rc"
expect_eq "naming the steps not done" \
    "cmlsh: cannot lock: steps before it are not done: 5 token, 6 settings ('provision status' shows them)" \
    "$(cat "$SCRATCH/err")"
expect_eq "the device stays in factory" factory \
    "$(sqlite3 "$db" ".timeout 5000" 'select state from device')"
step_is lock failed

# --- 5 token ------------------------------------------------------------------
expect_eq "no c0 yet" "" "$(cmlsh_run --json container list | python3 -c 'import json, sys
print(" ".join(c["name"] for c in json.load(sys.stdin)["containers"] if c["name"] == "c0"))')"
run provision token softtoken --pin-stdin <<<"$PIN"$'\n'"$PUK"
expect_status "token without c0_guestos: refused" 1 "$rc"
expect_match "saying what to do" "set c0_guestos to an installed guest OS first" "$(cat "$SCRATCH/err")"
step_is token failed
cmlsh_run device config set c0_guestos busybox >/dev/null || fail "device config set c0_guestos"
run provision token softtoken --pin-stdin <<<"$PIN"$'\n'"$PUK"
expect_status "provision token" 0 "$rc"
expect_lines "c0's token is shown" "$(cat "$SCRATCH/out")" \
    '^name: +c0$' '^type: +softtoken$' '^serial: +[0-9a-f]+$' '^state: +ready$' \
    '^present: +yes$' '^bound: +yes$' '^pin tries: +3 of 3$' '^puk tries: +3 of 3$' \
    '^step: token done at .*: softtoken [0-9a-f]+ of c0, PIN and PUK set$'
step_is token done
expect_eq "c0 is made, its config names the token" "c0 softtoken" \
    "$(cmlsh_run --json container config c0 | python3 -c 'import json, sys
c = json.load(sys.stdin)["config"]
print(c["name"], c["cml"]["token"]["type"])')"
expect_eq "c0's key is bound to it in the store" 1 \
    "$(sqlite3 "$db" ".timeout 5000" "select count(*) from container_key where container = 'c0'")"
expect_eq "c0's creation audited" 1 "$(cmlsh_run --json -c 'audit list' | python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin)["records"] if r["details"] == "created c0 on guest OS busybox with a softtoken token"))')"
run provision token softtoken --pin-stdin <<<"$PIN"$'\n'"$PUK"
expect_status "token again: refused" 1 "$rc"
expect_match "saying it is made once" "c0's token was made by provisioning at .*it is made once; 'token init c0 --force' makes it anew" \
    "$(cat "$SCRATCH/err")"
step_is token done
expect_eq "made once (audited once)" 1 "$(audited Token ok "made for container 'c0'")"
expect_eq "neither PIN nor PUK in the audit trail" "" \
    "$(cmlsh_run --json -c 'audit list' | grep -e "$PIN" -e "$PUK")"
expect_eq "nor in the store" "" \
    "$(sqlite3 "$db" ".timeout 5000" .dump | grep -e "$PIN" -e "$PUK")"

# --- 6 settings ---------------------------------------------------------------
before=$(sqlite3 "$db" ".timeout 5000" 'select key, value from settings order by key')
run provision settings audit_capacity=2000000 audit_warn_percent=101
expect_status "one invalid setting: refused" 1 "$rc"
expect_eq "none stored" "$before" \
    "$(sqlite3 "$db" ".timeout 5000" 'select key, value from settings order by key')"
step_is settings failed
run provision settings audit_capacity=2000000 require_signed_configs=auto
expect_status "provision settings" 0 "$rc"
expect_lines "the settings set, then the step" "$(cat "$SCRATCH/out")" \
    '^KEY +VALUE$' '^audit_capacity +2000000$' '^require_signed_configs +auto$' \
    '^step: settings done at .*: audit_capacity=2000000, require_signed_configs=auto$'
step_is settings done
expect_eq "stored" "2000000" \
    "$(sqlite3 "$db" ".timeout 5000" "select value from settings where key = 'audit_capacity'")"
run provision settings audit_capacity=3000000
expect_status "settings again before the lock" 0 "$rc"
expect_eq "stored again" "3000000" \
    "$(sqlite3 "$db" ".timeout 5000" "select value from settings where key = 'audit_capacity'")"

# --- 7 lock -------------------------------------------------------------------
run --yes provision lock
expect_status "provision lock" 0 "$rc"
expect_match "the device is provisioned" "^The device is provisioned: " "$(cat "$SCRATCH/out")"
step_is lock done
expect_eq "the store says provisioned" provisioned \
    "$(sqlite3 "$db" ".timeout 5000" 'select state from device')"
expect_eq "provision status says provisioned, no next step" "provisioned null" \
    "$(cmlsh_run --json provision status | python3 -c 'import json, sys
s = json.load(sys.stdin); print(s["state"], json.dumps(s["next"]))')"
expect_eq "the lock audited" 1 "$(audited Lock ok '^the device is provisioned, for good')"

# --- provisioned ----------------------------------------------------------------
ct_config unsigned '{"name":"unsigned","guestos":{"name":"busybox"}}' >/dev/null
run container create "$SCRATCH/unsigned.json"
expect_status "an unsigned config: refused" 1 "$rc"
expect_match "as unsigned" "refused: .*sign" "$(cat "$SCRATCH/err")"
run --json provision anchor "$SUP/swca.crt" owner
expect_status "a factory-only command: refused" 1 "$rc"
expect_eq "as AlreadyProvisioned" "org.cml.Error.AlreadyProvisioned" "$(json_get error <"$SCRATCH/out")"
run device config set require_signed_configs false
expect_status "require_signed_configs false: refused" 1 "$rc"
expect_eq "with the reason" "cmlsh: require_signed_configs cannot be false on a provisioned device: container configs must be signed (true or auto); only 'device wipe' returns to factory" \
    "$(cat "$SCRATCH/err")"
run --yes --json ca remove "$SUP_FP"
expect_status "the supplier anchor cannot be removed" 1 "$rc"
expect_eq "as AlreadyProvisioned" "org.cml.Error.AlreadyProvisioned" "$(json_get error <"$SCRATCH/out")"
run --yes ca remove "$DEVCA_FP"
expect_status "nor the device CA" 1 "$rc"
expect_match "with the reason" "the device anchor .* cannot be removed: the device is provisioned" \
    "$(cat "$SCRATCH/err")"
expect_eq "both stay" 2 "$(sqlite3 "$db" ".timeout 5000" \
    "select count(*) from trust_anchor where fingerprint in ('$SUP_FP', '$DEVCA_FP')")"
run --yes ca remove "$OWN_FP"
expect_status "an owner anchor can be removed" 0 "$rc"
expect_eq "it is gone" 0 "$(sqlite3 "$db" ".timeout 5000" \
    "select count(*) from trust_anchor where fingerprint = '$OWN_FP'")"

stack_stop
stack_start
expect_eq "cmld restarted: still provisioned" provisioned \
    "$(cmlsh_run --json device status | json_get provisioning)"
run container create "$SCRATCH/unsigned.json"
expect_status "an unsigned config still refused" 1 "$rc"
run --json provision check
expect_eq "a step still refused" "org.cml.Error.AlreadyProvisioned" "$(json_get error <"$SCRATCH/out")"
for s in check identity certificate anchors token settings lock; do
	step_is "$s" done
done
finish
