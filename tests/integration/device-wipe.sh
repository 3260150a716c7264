#!/bin/bash
# device wipe on the full stack (swtpm, tpm2d, scd with software tokens,
# cmld): a device provisioned and locked through cmlsh's seven steps (its
# certificate for the TPM key, supplier, owner and device CA anchors, c0's
# token, settings), with audit checkpoints signed by the device key and
# two more containers with soft tokens and plain data volumes (one
# running), is wiped back to factory.  A wrong UUID, an operator, and
# cmlsh without --yes and a terminal are refused with nothing lost.  The
# wipe answers each item verified, and the test checks each one itself,
# on disk and in the TPM: cml.db holds no certificate, anchor, setting,
# provisioning step, container or wrapped key (nor the wrapped key's
# bytes, nor a setting's value, anywhere in its files); the data volumes
# are gone; scd's token directory is empty; with tpm2d stopped,
# tpm2_getcap on the same swtpm lists neither the device key (0x81000100)
# nor the attestation key (0x81000101), and the sealed system key's files
# are gone.  The audit trail is new: it begins at #1 with the wipe's
# record by the caller, naming the trail destroyed (its records and head),
# nothing of the old trail is left in audit.db, and `audit verify` passes.
# device status and provision status say factory, the settings are the
# defaults, guest OS images stay.  With tpm2d and scd down a wipe fails
# naming the tokens and the TPM's keys and keeps the trail; once they are
# back a second wipe finishes the job, a token whose container went
# included.  After a restart the device provisions again with a new
# device key (the wiped key's certificate is refused), locks, and its
# trail verifies with signed checkpoints.
# Proves: CR 4.2 (information persistence: every key and all state
# purged, back to factory: wrapped keys, tokens, the TPM's device and
# attestation keys, the sealed system key), CR 4.2(2) (the wipe verified, item by item, and independently on disk
# and in the TPM), CR 1.9 (the device key is replaced: a new identity
# after a wipe), NDR 3.12 (the trust anchors are removed with the
# device's state, and provisioned again afterwards), NDR 3.13 (the owner
# anchors likewise), CR 2.8 (the wipe audited: the new trail's first
# record names the caller and the trail destroyed).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/provision-lib.sh"

need_prog openssl sqlite3 tpm2_getcap setpriv getent groupadd
# scd's cheapest key derivation: the wipe, not the KDF, is tested
export CML_STACK_KDF_COST=test
prov_setup
ensure_groups
user_programs

STATE=$(state_dir)
DB=$STATE/cml.db
ADB=$STATE/audit.db
TOKENS=$STATE/scd/tokens
TPMSTATE=$STATE/tpm2d
SWTPM_SOCK=$STACK_DIR/run/swtpm/swtpm.sock
DEVICE_KEY=0x81000100
AK=0x81000101
# a value that stands only in the settings, and in the trail that records
# its change: neither may be found in a database file after the wipe
MARK=wipemark$$x

uuid=$(cmlsh_run --json device status | json_get uuid)
[ -n "$uuid" ] || fail "device status names no uuid"

# rows TABLE: the rows of a table of cml.db
rows() {
	sqlite3 "$DB" "SELECT count(*) FROM $1" 2>&1
}
# hex TEXT: the text's bytes in hex
hex() {
	printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}
# in_files HEX FILE...: says which files hold the bytes (hex)
in_files() {
	python3 -c '
import sys
needle = bytes.fromhex(sys.argv[1])
for f in sys.argv[2:]:
    try:
        data = open(f, "rb").read()
    except FileNotFoundError:
        continue
    if needle in data:
        print(f)' "$@"
}
# handles: the TPM's persistent handles, read with tpm2d stopped
handles() {
	TPM2TOOLS_TCTI=swtpm:path=$SWTPM_SOCK tpm2_getcap handles-persistent 2>&1
}
# stage_down NAME: stops the stack's tpm2d or scd (SIGTERM) and waits
# until it is gone
stage_down() {
	local pid i
	pid=$(head -n 1 "$STACK_DIR/run/cml/$1.pid" 2>/dev/null | tr -dc 0-9)
	case "$(tr '\0' ' ' <"/proc/${pid:-0}/cmdline" 2>/dev/null)" in
	*"$1"*" --root $STACK_DIR "*) ;;
	*) fail "no $1 runs for $STACK_DIR" ;;
	esac
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "$1 $pid did not stop"
}
tpm2d_stop() {
	stage_down tpm2d
}
# wipe ARGS...: device wipe as root with --json; $out, $err, $rc
wipe() {
	out=$(cmlsh_run --yes --json device wipe "$@" 2>"$SCRATCH/err")
	rc=$?
	err=$(cat "$SCRATCH/err")
}
# verdicts: "what=verified" for each item of a wipe's JSON answer on
# stdin, a reply or an error's parameters
verdicts() {
	python3 -c '
import json, sys
text = sys.stdin.read()
try:
    o = json.loads(text)
    ws = (o["parameters"] if "error" in o else o)["wiped"]
except (ValueError, KeyError):
    print("<not a wipe answer: %r>" % text[:300])
    sys.exit(1)
for w in ws:
    print("%s=%s" % (w["what"], str(w["verified"]).lower()))'
}
# checkpointed: makes records (reads are audited with audit_read_calls;
# changes always are) until tpm2d signed a checkpoint; prints its seq
checkpointed() {
	local i seq=0
	for ((i = 0; i < 50; i++)); do
		cmlsh_run -c "device config set device_name cp$i" >/dev/null
		seq=$(cmlsh_run --json -c 'audit status' | json_get last_checkpoint)
		[ "$seq" -gt 0 ] 2>/dev/null && break
		sleep 0.1
	done
	echo "$seq"
}
# csr_key: the DER SHA-256 of the key of `device csr`
csr_key() {
	cmlsh_run -c 'device csr' | openssl req -noout -pubkey |
	    openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}

# provision: the seven steps through cmlsh, each of which must pass
provision() {
	local out
	out=$(cmlsh_run "$@" 2>&1) || fail "$*: $out"
	printf '%s\n' "$out"
}
# fp CERT: the fingerprint as provision anchor --confirm takes it
fp() {
	prov_fp "$1" | tr -d : | tr A-F a-f
}

# --- the device before: provisioned and locked, with containers and tokens --
c1=$(ct_name wipe1)
c2=$(ct_name wipe2)
vol='"storage":{"volume":{"size_mb":16,"mount":"/data"}}'
for n in "$c1" "$c2"; do
	ct_create "$n" '{"name":"'"$n"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"},'"$vol"'}}'
	out=$(printf 'pin4729x\n' | cmlsh_run -c "token init $n --generate-puk --pin-stdin" 2>&1) ||
	    fail "token init $n: $out"
done
# started before the lock, after which configs must be signed
ct_start "$c1"
expect_eq "$c1 runs" running "$(ct_state "$c1")"
provision -c 'provision check' >/dev/null
provision --json -c 'provision identity' | json_get csr >"$SCRATCH/dev.csr"
prov_sign "$SCRATCH/dev.csr" "$SCRATCH/dev.crt"
provision provision certificate "$SCRATCH/dev.crt" "$FAB/root.crt" >/dev/null
provision provision anchor "$FAB/swca.crt" supplier --confirm "$(fp "$FAB/swca.crt")" >/dev/null
provision provision anchor "$OWN/root.crt" owner --confirm "$(fp "$OWN/root.crt")" >/dev/null
provision device config set c0_guestos busybox >/dev/null
printf 'c0pin4729\n' | provision -c 'provision token softtoken --generate-puk --pin-stdin' >/dev/null
provision provision settings audit_checkpoint_records=5 stop_timeout=3 >/dev/null
provision --yes provision lock >/dev/null
expect_eq "before: the device is provisioned" provisioned \
    "$(cmlsh_run --json device status | json_get provisioning)"
expect_eq "before: every provisioning step is done" 7 \
    "$(sqlite3 "$DB" "SELECT count(*) FROM provision_step WHERE state = 'done'")"
expect_eq "before: anchors of every kind" "device owner supplier" \
    "$(sqlite3 "$DB" 'SELECT DISTINCT kind FROM trust_anchor ORDER BY kind' | tr '\n' ' ' | sed 's/ $//')"
OLD_KEY=$(openssl req -in "$SCRATCH/dev.csr" -noout -pubkey |
    openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
expect_eq "before: the device key is the one provisioned" "$OLD_KEY" "$(csr_key)"
ID1=$(sqlite3 "$DB" "SELECT uuid FROM container WHERE name = '$c1'")
WRAPPED=$(sqlite3 "$DB" "SELECT hex(wrapped) FROM container_key WHERE container = '$c1'")
[ -n "$WRAPPED" ] || fail "no wrapped key of $c1 in the store"
[ -f "$STATE/volumes/$ID1.ext4" ] || fail "no data volume of $c1 in $STATE/volumes"
cp_seq=$(checkpointed)
_run_tool "device config set" "$CMLSH" --socket "$SOCK" device config set device_name "$MARK"
expect_match "before: the device key signed audit checkpoints" '^[1-9][0-9]*$' "$cp_seq"
expect_eq "before: the TPM holds the device key" present "$(tpm2d_call org.cml.TPM.Status | json_get parameters identity)"
expect_eq "before: scd holds three token directories (c0's too)" 3 "$(ls "$TOKENS" | wc -l)"
expect_eq "before: the system key's blob" yes "$([ -f "$TPMSTATE/syskey.blob" ] && echo yes)"
expect_match "before: the value stands in cml.db" "cml\\.db" "$(in_files "$(hex "$MARK")" "$DB" "$DB-wal")"

# --- refused: a wrong UUID, an operator ---------------------------------------
out=$(cmlsh_run --yes device wipe 00000000-0000-4000-8000-000000000000 2>&1)
expect_status "a wrong UUID: refused" 1 $?
expect_eq "a wrong UUID: says so, and that nothing was destroyed" \
    "cmlsh: that is not this device's UUID ('device status' shows it): nothing was destroyed" "$out"
out=$(as_user cml "$USER_CMLSH" --socket "$SOCK" --yes device wipe "$uuid" 2>&1)
expect_status "an operator: refused" 1 $?
expect_eq "refused: nothing lost: $c1 runs" running "$(ct_state "$c1")"
expect_eq "refused: nothing lost: provisioned" provisioned "$(sqlite3 "$DB" 'SELECT state FROM device')"
expect_eq "refused: nothing lost: the certificate" 1 "$(rows device_cert)"
expect_eq "refused: nothing lost: the wrapped keys" 3 "$(rows container_key)"
expect_eq "refused: nothing lost: the tokens" 3 "$(ls "$TOKENS" | wc -l)"
expect_eq "refused: nothing lost: the device key" present "$(tpm2d_call org.cml.TPM.Status | json_get parameters identity)"
out=$(cmlsh_run device wipe "$uuid" </dev/null 2>&1)
expect_status "without --yes and no terminal: not run (a usage error)" 2 $?
expect_eq "without --yes: says to add it" \
    "cmlsh: 'device wipe' asks for confirmation, and there is no terminal to ask on: add --yes to run it anyway" "$out"
expect_eq "without --yes: nothing lost" 3 "$(rows container)"

# --- the wipe -----------------------------------------------------------------
OLD_RECORDS=$(sqlite3 "$ADB" "SELECT count(*) FROM audit")
wipe "$uuid"
expect_status "device wipe" 0 "$rc"
expect_eq "device wipe: nothing on stderr" "" "$err"
expect_eq "device wipe: state factory" factory "$(printf '%s' "$out" | json_get state)"
expect_eq "device wipe: every item destroyed and verified" \
    "containers=true tokens=true device-key=true attestation-key=true system-key=true certificate=true anchors=true settings=true provisioning=true audit-trail=true" \
    "$(printf '%s' "$out" | verdicts | tr '\n' ' ' | sed 's/ $//')"
printf '%s' "$out" | python3 -c 'import json, sys
for w in json.load(sys.stdin)["wiped"]: print("#", w["what"] + ":", w["detail"])' >&2

# --- checked here: the store -----------------------------------------------------
for t in device_cert trust_anchor settings provision_step container container_key; do
	expect_eq "after: no row in $t" 0 "$(rows "$t")"
done
expect_eq "after: the device row says factory" factory "$(sqlite3 "$DB" 'SELECT state FROM device')"
expect_eq "after: the device keeps its UUID" "$uuid" "$(sqlite3 "$DB" 'SELECT uuid FROM device')"
expect_eq "after: the wrapped key's bytes are in no file of cml.db" "" \
    "$(in_files "$WRAPPED" "$DB" "$DB-wal")"
expect_eq "after: the changed setting's value is in no database file" "" \
    "$(in_files "$(hex "$MARK")" "$DB" "$DB-wal" "$ADB" "$ADB-wal")"
expect_eq "after: no data volume is left" "" "$(ls "$STATE/volumes" 2>/dev/null)"
expect_eq "after: scd's token directory is empty" "" "$(ls -A "$TOKENS" 2>/dev/null)"
expect_eq "after: the guest OS stays" busybox \
    "$(cmlsh_run --json guestos list | json_get guestos 0 name)"
out=$(cmlsh_run --json device status)
expect_eq "device status: factory" factory "$(printf '%s' "$out" | json_get provisioning)"
expect_eq "device status: no certificate" none "$(printf '%s' "$out" | json_get certificate)"
expect_eq "device status: the TPM's identity is absent" absent "$(printf '%s' "$out" | json_get tpm identity)"
expect_eq "device status: the system key is absent" absent "$(printf '%s' "$out" | json_get tpm system_key)"
expect_eq "device status: the default name" cml "$(printf '%s' "$out" | json_get name)"
expect_eq "the settings are the defaults" 10 \
    "$(cmlsh_run --json -c 'device config get stop_timeout' | json_get settings 0 value)"
expect_eq "no container" "" "$(ct_list)"
out=$(cmlsh_run --json provision status)
expect_eq "provision status: factory, every step pending, the first next" \
    "factory check pending pending pending pending pending pending pending" \
    "$(printf '%s' "$out" | python3 -c 'import json, sys
s = json.load(sys.stdin)
print(s["state"], s["next"], " ".join(x["state"] for x in s["steps"]))')"

# --- the audit trail: new, and it verifies ----------------------------------------
first=$(cmlsh_run --json -c 'audit list' | python3 -c 'import json, sys
r = json.load(sys.stdin)["records"][0]
print("seq=%s type=%s uid=%s object=%s result=%s" % (r["seq"], r["type"], r["uid"], r["object"], r["result"]))
print(r["details"])')
expect_eq "the new trail's first record: #1, the wipe, by root" \
    "seq=1 type=device.wipe uid=0 object=audit trail result=ok" "$(head -n 1 <<<"$first")"
expect_match "it names the trail destroyed: its records and head" \
    "^the audit trail before this record was destroyed: [0-9]+ records \(#1 to #[0-9]+\), its head [0-9a-f]{64}; destroyed by the device wipe of uid 0 pid [0-9]+ \(cmlsh\): containers: " \
    "$(tail -n 1 <<<"$first")"
n=$(sed -n 's/^the audit trail before this record was destroyed: \([0-9]*\) records.*/\1/p' <<<"$(tail -n 1 <<<"$first")")
[ "${n:-0}" -gt "$OLD_RECORDS" ] 2>/dev/null
expect_status "the count destroyed covers the records before the wipe ($OLD_RECORDS)" 0 $?
expect_eq "audit.db: no checkpoint of the old key is left" 0 "$(sqlite3 "$ADB" 'SELECT count(*) FROM checkpoint')"
expect_eq "audit.db: no record before the wipe's" 1 "$(sqlite3 "$ADB" 'SELECT min(seq) FROM audit')"
FIRST_DETAILS=$(sqlite3 "$ADB" 'SELECT details FROM audit WHERE seq = 1')
out=$(cmlsh_run --json -c 'audit verify')
expect_status "audit verify passes" 0 $?
expect_eq "audit verify: verified" true "$(printf '%s' "$out" | json_get verified)"

# --- checked here: the TPM ---------------------------------------------------------
# tpm2d alone stops (the swtpm serves one client); it makes new keys at its
# next start, so the TPM is read now
tpm2d_stop
out=$(handles)
expect_status "tpm2_getcap handles-persistent" 0 $?
expect_eq "the TPM holds no device key ($DEVICE_KEY)" "" "$(grep -i "$DEVICE_KEY" <<<"$out")"
expect_eq "the TPM holds no attestation key ($AK)" "" "$(grep -i "$AK" <<<"$out")"
expect_eq "the sealed system key's files are gone" "" \
    "$(ls "$TPMSTATE"/syskey.* 2>/dev/null)"

# --- back up: a new identity; a wipe with tpm2d and scd down, and again -------------
# scd takes the platform secret of the new system key at its start
stack_stop
stack_start
out=$(cmlsh_run --json device status)
expect_eq "restarted: factory" factory "$(printf '%s' "$out" | json_get provisioning)"
expect_eq "restarted: tpm2d made a new device key" present "$(printf '%s' "$out" | json_get tpm identity)"
NEW_KEY=$(csr_key)
expect_match "a new device key: its request has a key" '^[0-9a-f]{64}$' "$NEW_KEY"
[ "$NEW_KEY" != "$OLD_KEY" ]
expect_status "a new device key: not the old one" 0 $?

# a token again, whose container then goes: scd must still remove it
_run_tool "ca add" "$CMLSH" --socket "$SOCK" ca add "$SCRATCH/pki/root.crt"
c3=$(ct_name wipe3)
ct_create "$c3" '{"name":"'"$c3"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"}}}'
out=$(printf 'pin4729x\n' | cmlsh_run -c "token init $c3 --generate-puk --pin-stdin" 2>&1) ||
    fail "token init $c3: $out"
stage_down scd
tpm2d_stop
out=$(handles)
expect_match "with tpm2d stopped tpm2_getcap sees the new device key" "$DEVICE_KEY" "$out"
expect_match "and the new attestation key" "$AK" "$out"
wipe "$uuid"
expect_status "a wipe with tpm2d and scd down: fails" 1 "$rc"
expect_eq "it fails as org.cml.Error.Failed" org.cml.Error.Failed "$(printf '%s' "$out" | json_get error)"
msg=$(printf '%s' "$out" | json_get parameters message)
expect_match "it names the tokens as left first, and why" \
    "^the wipe left something behind \(what was destroyed stays destroyed\): tokens \(scd cannot list its tokens: scd is not running \(stage 2\)" "$msg"
expect_match "it names the TPM's keys, and why" \
    "; device-key \(tpm2d cannot evict it: tpm2d is not running \(stage 1\)" "$msg"
expect_match "it says to wipe again" "then 'device wipe' again$" "$msg"
expect_eq "its items: tokens, the TPM's and the trail remain, the rest is verified" \
    "containers=true tokens=false device-key=false attestation-key=false system-key=false certificate=true anchors=true settings=true provisioning=true audit-trail=false" \
    "$(printf '%s' "$out" | verdicts | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the token is still on disk" "$c3" "$(ls "$TOKENS")"
expect_eq "its container is gone" 0 "$(rows container)"
expect_eq "with tpm2d down the trail is kept (its key is not destroyed)" \
    "$FIRST_DETAILS" "$(sqlite3 "$ADB" 'SELECT details FROM audit WHERE seq = 1')"
expect_eq "the failed wipe is in it" 1 \
    "$(sqlite3 "$ADB" "SELECT count(*) FROM audit WHERE type = 'device.wipe' AND result = 'begun'")"
stack_stop
stack_start
for ((i = 0; i < 100; i++)); do
	[ "$(cmlsh_run --json device status | json_get stages)" = '{"tpm2d": "up", "scd": "up", "cmld": "up"}' ] && break
	sleep 0.1
done
wipe "$uuid"
expect_status "a second wipe finishes the job" 0 "$rc"
expect_eq "a second wipe: every item verified" \
    "containers=true tokens=true device-key=true attestation-key=true system-key=true certificate=true anchors=true settings=true provisioning=true audit-trail=true" \
    "$(printf '%s' "$out" | verdicts | tr '\n' ' ' | sed 's/ $//')"
expect_match "a second wipe: scd removed the token left" "scd removed 1 of 1 tokens" \
    "$(printf '%s' "$out" | json_get wiped 1 detail)"
expect_eq "a second wipe: scd's token directory is empty" "" "$(ls -A "$TOKENS" 2>/dev/null)"

# --- provisioned again: a new identity, certificate and lock; a signed trail ------
stack_stop
stack_start
provision -c 'provision check' >/dev/null
provision --json -c 'provision identity' | json_get csr >"$SCRATCH/dev2.csr"
NEW_KEY2=$(openssl req -in "$SCRATCH/dev2.csr" -noout -pubkey |
    openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
expect_match "provisioned again: the request has a key" '^[0-9a-f]{64}$' "$NEW_KEY2"
[ "$NEW_KEY2" != "$OLD_KEY" ] && [ "$NEW_KEY2" != "$NEW_KEY" ]
expect_status "provisioned again: a device key that is neither of the wiped ones" 0 $?
prov_sign "$SCRATCH/dev2.csr" "$SCRATCH/dev2.crt"
out=$(cmlsh_run provision certificate "$SCRATCH/dev.crt" "$FAB/root.crt" 2>&1)
expect_status "the certificate of the wiped key is refused" 1 $?
provision provision certificate "$SCRATCH/dev2.crt" "$FAB/root.crt" >/dev/null
provision provision anchor "$FAB/swca.crt" supplier --confirm "$(fp "$FAB/swca.crt")" >/dev/null
provision provision anchor "$SCRATCH/pki/root.crt" owner --confirm "$(fp "$SCRATCH/pki/root.crt")" >/dev/null
provision device config set c0_guestos busybox >/dev/null
printf 'c0pin4729\n' | provision -c 'provision token softtoken --generate-puk --pin-stdin' >/dev/null
provision provision settings audit_checkpoint_records=5 >/dev/null
provision --yes provision lock >/dev/null
out=$(cmlsh_run --json device status)
expect_eq "provisioned again: locked, with the new certificate" "provisioned CN=$uuid" \
    "$(printf '%s' "$out" | json_get provisioning) $(printf '%s' "$out" | json_get certificate | grep -o "CN=$uuid")"
cp_seq=$(checkpointed)
expect_match "the new device key signs checkpoints" '^[1-9][0-9]*$' "$cp_seq"
out=$(cmlsh_run --json -c 'audit verify')
expect_eq "audit verify: verified, signatures checked" "true true" \
    "$(printf '%s' "$out" | json_get verified) $(printf '%s' "$out" | json_get signatures_checked)"

finish
