#!/bin/bash
# update receipt on a real stack (swtpm, tpm2d, scd, cmld) with a device
# certificate issued by the test's device CA: after an install of a guest
# OS bundle, the receipt names the install as the update history has it
# (id, kind, name, version, digest, size, signers, result, times) and the
# measurement PCR as tpm2d reads it; its quote is made with the nonce
# SHA-256(receipt) and its log holds the install's measurement
# (SHA-256("cml-update-v1" NUL kind NUL name NUL version NUL bundle digest),
# computed here); the call is audited with the receipt's SHA-256.  Off the
# device, in a directory of its own, openssl alone checks the signature
# over SHA-256("cml-update-receipt-v1" NUL SHA-256(receipt)) with the
# certificate's key (and the same signature fails as a report's), and
# cml-attest --receipt --ca ROOT prints what was installed and every check.
# Refused, each naming what: one byte changed in the receipt, its
# signature, the certificate, the quote, its signature, a quoted PCR value,
# the quote's nonce and reset count, and in the log (a bundle digest, a PCR
# value, an entry taken out); another CA; another UUID.  A failed install
# (not measured) still gets a receipt that verifies and says it was not
# put in place; an install marked installed that the log of this TPM reset
# does not hold (the device restarted since) gets none, with the reason;
# an unknown id is NotFound.  The failed install is a bundle with a
# changed image byte; the install not in the log is the first one after the
# stack (swtpm too) was stopped and started again: a new TPM reset.
# Proves: TSF.UPD, NDR 3.10 (what was installed, signed by the device),
# CR 1.9(1) (signed by the TPM-held device key), CR 3.4 (the install
# measured into the TPM and quoted), CR 2.8 (the receipt is audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_guestos_tools
ATTEST=$CML_BUILDDIR/provisioning/cml-attest
BUNDLE=$CML_BUILDDIR/provisioning/cml-bundle
[ -x "$ATTEST" ] || skip "no cml-attest at $ATTEST: build first"
[ -x "$BUNDLE" ] || skip "no cml-bundle at $BUNDLE: build first"
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] ||
    skip "no tpm2d at $CML_BUILDDIR/daemon/tpm2d/tpm2d: build first"
export TSS2_LOG=all+none

stack_start
# SUP: the supplier's PKI, which signs the guest OS and its bundle (made
# first: guestos_make signs with it); PKI: the device's, whose root is the
# device CA anchor
SUP=$SCRATCH/sup
pki_make "$SUP"
PKI=$SCRATCH/pki
pki_make "$PKI"
uuid=$(cmlsh_run --json device status | json_get uuid)
[ -n "$uuid" ] || fail "device status names no uuid"
DB=$(state_dir)/cml.db
sql() {
	sqlite3 "$DB" ".timeout 5000" "$@"
}
fp() {
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# --- the device's identity: its certificate under the test's device CA ------
cmlsh_run -c 'device config set device_name gateway-7' >/dev/null ||
    fail "device config set device_name"
provision_device_cert "$PKI"
cmlsh_run provision anchor "$SUP/root.crt" supplier --confirm "$(fp "$SUP/root.crt")" \
    >/dev/null 2>"$SCRATCH/err" || fail "provision anchor: $(cat "$SCRATCH/err")"

# --- none yet -----------------------------------------------------------------
out=$(cmlsh_run update receipt 2>&1)
expect_status "no install yet: refused" 1 $?
expect_match "... NotFound, saying so" "there is no install in the update history yet" "$out"

# --- an install ----------------------------------------------------------------
g1=$SCRATCH/g1
guestos_make "$g1" busybox 1.0
b1=$SCRATCH/busybox-1.0.bundle
payloads=()
for f in $(ls "$g1"); do
	payloads+=("$f=$g1/$f")
done
_run_tool "cml-bundle create" "$BUNDLE" create -o "$b1" --kind guestos \
    --name busybox --version 1.0 "${payloads[@]}"
_run_tool "cml-bundle sign" "$BUNDLE" sign --key "$SUP/signer.key" \
    --cert "$SUP/signer.crt" --chain "$SUP/chain.pem" "$b1"
# the SHA-256 of the bundle's signed manifest (cml-bundle(5): the footer's
# manifest offset and length)
digest=$(python3 - "$b1" <<'PY'
import hashlib, struct, sys
d = open(sys.argv[1], "rb").read()
f = d[-64:]
off, ln = struct.unpack_from("<QI", f, 16)
print(hashlib.sha256(d[off:off + ln]).hexdigest())
PY
)
# install_digest KIND NAME VERSION DIGEST: what the measurement PCR is
# extended with for an install, computed here
install_digest() {
	python3 - "$@" <<'PY'
import hashlib, sys
k, n, v, d = sys.argv[1:]
m = b"cml-update-v1\0" + k.encode() + b"\0" + n.encode() + b"\0" + \
    v.encode() + b"\0" + bytes.fromhex(d)
print(hashlib.sha256(m).hexdigest())
PY
}
want_extend=$(install_digest guestos busybox 1.0 "$digest")

signers='[{"subject":"CN=cml software signer,O=cml","fingerprint":"'$(fp "$SUP/signer.crt")'","anchor_kind":"supplier"}]'

n_before=$(sql "SELECT count(*) FROM measurement WHERE event = 'install'")
cmlsh_run update install "$b1" >"$SCRATCH/out" 2>"$SCRATCH/err" ||
    fail "update install: $(cat "$SCRATCH/err")"
expect_match "the install answers that it is measured" "measured: +yes" "$(cat "$SCRATCH/out")"
id=$(sql "SELECT id FROM update_history ORDER BY id DESC LIMIT 1")
expect_eq "the install is in the history" "guestos busybox 1.0 $digest installed" \
    "$(sql -separator ' ' "SELECT kind, name, version, digest, result FROM update_history WHERE id = $id")"
expect_eq "the install is measured: its entry in the log" \
    "$((n_before + 1)) guestos busybox 1.0 $digest $want_extend" \
    "$(sql -separator ' ' "SELECT (SELECT count(*) FROM measurement WHERE event = 'install'), kind, name, version, manifest_hash, digest FROM measurement WHERE event = 'install' ORDER BY seq DESC LIMIT 1")"

# --- the receipt -----------------------------------------------------------------
# receipt_records: the audit records of Update.Receipt calls, oldest first
receipt_records() {
	cmlsh_run --json -c 'audit list' | python3 -c 'import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["object"] == "org.cml.Update.Receipt":
        print("type=%s uid=%s pid=%s container=%s object=%s result=%s details=%s" % (
            r["type"], r["uid"], r["pid"], r["container"] or "", r["object"],
            r["result"], r["details"]))'
}
n0=$(receipt_records | wc -l)
cmlsh_run --json update receipt >"$SCRATCH/r.json" 2>"$SCRATCH/err" ||
    fail "update receipt: $(cat "$SCRATCH/err")"
cmlsh_run --json update receipt "$id" >"$SCRATCH/r2.json" 2>"$SCRATCH/err" ||
    fail "update receipt $id: $(cat "$SCRATCH/err")"
member() {
	json_get receipt <"$SCRATCH/r.json" | json_get "$@"
}
expect_eq "the newest install is the one given by id" "$(member install id)" \
    "$(json_get receipt <"$SCRATCH/r2.json" | json_get install id)"
expect_eq "the receipt's format" 1 "$(member format)"
expect_eq "its device" "$uuid gateway-7" "$(member device uuid) $(member device name)"
expect_eq "its install, as the history has it" \
    "$(sql -separator ' ' "SELECT id, kind, name, version, digest, size, result FROM update_history WHERE id = $id")" \
    "$(member install id) $(member install kind) $(member install name) $(member install version) $(member install digest) $(member install size) $(member install result)"
expect_eq "its signers, as the history has them" \
    "$(sql "SELECT signers FROM update_history WHERE id = $id" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')" \
    "$(member install signers | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')"
mpcr=$(tpm2d_params org.cml.TPM.Status | json_get measure_pcr)
expect_eq "its PCR is the measurement PCR as tpm2d reads it" \
    "$mpcr sha256 $(tpm2d_params org.cml.TPM.ReadPCRs "{\"pcrs\": [$mpcr]}" | json_get pcrs 0 value)" \
    "$(member pcr index) $(member pcr bank) $(member pcr value)"
rdigest=$(python3 -c 'import hashlib, json, sys
print(hashlib.sha256(json.load(sys.stdin)["receipt"].encode()).hexdigest())' <"$SCRATCH/r.json")
expect_eq "the quote's nonce is the receipt's SHA-256" "$rdigest" \
    "$(json_get quote nonce <"$SCRATCH/r.json")"
expect_eq "the log holds the install's measurement, with the digest computed here" \
    "guestos busybox 1.0 $digest $want_extend" \
    "$(json_get quote log <"$SCRATCH/r.json" | python3 -c 'import json, sys
for e in json.load(sys.stdin):
    if e["event"] == "install":
        print(e["kind"], e["name"], e["version"], e["bundle_digest"], e["digest"])' | tail -n 1)"
expect_eq "the log's entries carry no time (nothing signs it)" "" \
    "$(json_get quote log <"$SCRATCH/r.json" | python3 -c 'import json, sys
print(" ".join(str(e["seq"]) for e in json.load(sys.stdin) if "time" in e))')"
expect_eq "two receipts, two audit records of the call" "$((n0 + 2))" \
    "$(receipt_records | wc -l)"
expect_match "the receipt is audited with its SHA-256" \
    "^type=call uid=0 pid=[0-9]+ container= object=org\.cml\.Update\.Receipt result=ok details=receipt of install $id \(guestos busybox 1\.0, installed\), SHA-256 $rdigest, signed by the device key, quoted in TPM reset [0-9]+ with PCR $mpcr = [0-9a-f]{16}\.\.\., with the device certificate$" \
    "$(receipt_records | tail -n 2 | head -n 1)"

# --- off the device -------------------------------------------------------------
OFF=$SCRATCH/off
mkdir -p "$OFF"
cp "$SCRATCH/r.json" "$OFF/r.json"
cd "$OFF" || fail "cd $OFF"
json_get receipt <r.json >receipt.txt
json_get signature <r.json | base64 -d >sig.der
openssl x509 -in "$PKI/dev.crt" -noout -pubkey >dev.pub
python3 - <<'PY' || fail "cannot write the signed messages"
import hashlib, json
t = json.load(open("r.json"))["receipt"].encode()
h = hashlib.sha256(t).digest()
open("signed.bin", "wb").write(b"cml-update-receipt-v1\0" + h)
open("as-report.bin", "wb").write(b"cml-provision-report-v1\0" + h)
PY
expect_eq "openssl: the signature is the device key's over the receipt's label" \
    "Verified OK" "$(openssl dgst -sha256 -verify dev.pub -signature sig.der signed.bin 2>&1)"
expect_eq "openssl: the same signature is no report's" "Verification failure" \
    "$(openssl dgst -sha256 -verify dev.pub -signature sig.der as-report.bin 2>&1 | head -n 1)"

# attest FILE [OPTIONS...]: cml-attest --receipt FILE with the root CA of the
# test's PKI alone; sets $out (stdout and stderr) and $rc
attest() {
	local f=$1
	shift
	out=$("$ATTEST" --ca "$PKI/root.crt" --receipt "$f" "$@" 2>&1)
	rc=$?
}
attest r.json
expect_status "cml-attest --receipt verifies it" 0 "$rc"
expect_lines "... printing what was installed and each check" "$out" \
    "^install $id: guestos busybox 1\.0, installed$" \
    "^bundle: SHA-256 $digest \(of its signed manifest\), $(member install size) bytes$" \
    "^signed by: CN=cml software signer,O=cml \(supplier anchor\)$" \
    "^began: [0-9T:.-]+Z, ended: [0-9T:.-]+Z$" \
    "^device: $uuid \(gateway-7\)$" \
    "^receipt: made [0-9T:.-]+Z by cml [0-9.a-z~+-]+$" \
    "^check device certificate: ok: O=cml device,CN=$uuid, issued by CN=cml device CA,O=cml, chains to a CA given$" \
    "^check device CA: ok: CN=cml root CA,O=cml, a CA given$" \
    "^check signature: ok: by the device key, under the label \"cml-update-receipt-v1\"$" \
    "^check receipt: ok: format 1, of device $uuid, the device the certificate names$" \
    "^check attestation key: ok: certified by the device key$" \
    "^check quote: ok: by the attestation key over the receipt \(nonce ${rdigest:0:16}\.\.\.\), PCRs [0-9, ]+ \(sha256\), TPM reset [0-9]+$" \
    "^check measurement log: ok: [0-9]+ entr(y|ies) of TPM reset [0-9]+ replay(s)? to PCR $mpcr as quoted$" \
    "^check pcr: ok: PCR $mpcr = [0-9a-f]{16}\.\.\., as quoted$" \
    "^check install measured: ok: log entry [0-9]+ of TPM reset [0-9]+: guestos busybox 1\.0, bundle ${digest:0:16}\.\.\.$" \
    "^receipt: ok$"
attest r.json --uuid "$uuid"
expect_status "... also when asked for this device's UUID" 0 "$rc"
attest - <r.json
expect_status "... also from standard input" 0 "$rc"

# edit CODE: r.json changed by a piece of Python acting on the dict r into
# t.json; flip(s) is s with one character changed in the middle (a hex
# digit or a base64 character by another one)
edit() {
	python3 - "$1" <<'PY' || fail "edit $1"
import json, sys
r = json.load(open("r.json"))
def flip(s):
    i = len(s) // 2
    while s[i] in "\n-= ":
        i += 1
    c = "B" if s[i] == "A" else "A"
    if s[i] in "0123456789abcdef" and all(x in "0123456789abcdef" for x in s):
        c = "0" if s[i] != "0" else "1"
    return s[:i] + c + s[i + 1:]
def entry(ev):
    return [e for e in r["quote"]["log"] if e["event"] == ev][-1]
exec(sys.argv[1])
json.dump(r, open("t.json", "w"))
PY
}
# refused DESC CODE REGEX: the receipt edited by CODE fails, naming REGEX
refused() {
	edit "$2"
	attest t.json
	expect_status "$1: fails" 1 "$rc"
	expect_match "$1: saying what" "^cml-attest: the receipt does not verify: $3" \
	    "$(grep '^cml-attest:' <<<"$out")"
	expect_eq "$1: no 'receipt: ok'" "" "$(grep '^receipt: ok' <<<"$out")"
}
refused "a byte changed in the receipt" 'r["receipt"] = r["receipt"].replace("busybox", "busyboy", 1)' \
    "the receipt's signature does not verify with the device key \(O=cml device,CN=$uuid\)"
refused "a byte changed in its signature" 'r["signature"] = flip(r["signature"])' \
    "the receipt's signature (does not verify|is no|is not as cmld gives it)"
refused "a byte changed in the device certificate" \
    'e = "-----END CERTIFICATE-----\n"; b = [c + e for c in r["certificate"].split(e) if c]; r["certificate"] = "".join([flip(b[0])] + b[1:])' \
    "the (reply's )?device certificate"
refused "a byte changed in the quote" 'r["quote"]["quote"] = flip(r["quote"]["quote"])' \
    "the receipt's quote: "
refused "a byte changed in the quote's signature" 'r["quote"]["signature"] = flip(r["quote"]["signature"])' \
    "the receipt's quote: (the quote is not signed by the AK|the reply's signature is no)"
refused "a byte changed in the AK's certification" 'r["quote"]["certify_info"] = flip(r["quote"]["certify_info"])' \
    "the receipt's quote: (the AK's certification|the reply's certify_info)"
refused "a quoted PCR value changed" 'r["quote"]["pcrs"][0]["value"] = flip(r["quote"]["pcrs"][0]["value"])' \
    "the receipt's quote: the PCR values do not match the quote"
refused "the quote's nonce changed" 'r["quote"]["nonce"] = flip(r["quote"]["nonce"])' \
    "the quote's nonce is not the SHA-256 of the receipt"
refused "the quote's reset count changed" 'r["quote"]["reset_count"] += 1' \
    "the quote's reset_count [0-9]+ is not the TPM reset the quote was made in"
refused "a byte changed in the log: the install's bundle digest" \
    'entry("install")["bundle_digest"] = flip(entry("install")["bundle_digest"])' \
    "the receipt's quote: the measurement log does not replay: entry [0-9]+ \(install of guestos busybox 1\.0\) has digest [0-9a-f]{64}, but SHA-256\(\"cml-update-v1\" NUL kind NUL name NUL version NUL bundle_digest\) is [0-9a-f]{64}$"
refused "a byte changed in the log: a PCR value" 'entry("install")["pcr"] = flip(entry("install")["pcr"])' \
    "the receipt's quote: the measurement log does not replay: after entry [0-9]+ \(install of guestos busybox 1\.0\) PCR $mpcr would be [0-9a-f]{64}, the entry says"
refused "the install's entry taken out of the log" 'r["quote"]["log"].remove(entry("install"))' \
    "the receipt's quote: the measurement log does not replay"
refused "the log's PCR index changed" 'entry("install")["pcr_index"] = 1' \
    "log entry [0-9]+ names another PCR than the measurement PCR"
"$ATTEST" --ca "$PKI/devca.crt" --receipt r.json >/dev/null 2>"$SCRATCH/err"
expect_status "without the device CA anchor the reply names: fails" 1 $?
expect_match "... saying the reply's device CA was not given" \
    "^cml-attest: the receipt does not verify: the reply's device CA \(CN=cml root CA,O=cml, SHA-256 $(fp "$PKI/root.crt")\) is none of the CAs given$" \
    "$(cat "$SCRATCH/err")"
pki_make "$SCRATCH/pki2"
"$ATTEST" --ca "$SCRATCH/pki2/root.crt" --receipt r.json >/dev/null 2>"$SCRATCH/err"
expect_status "another PKI's root: fails" 1 $?
expect_match "... the certificate does not chain to it" \
    "^cml-attest: the receipt does not verify: the device certificate .* does not chain to a CA given" \
    "$(cat "$SCRATCH/err")"
attest r.json --uuid 0b7f0a4e-1111-4222-8333-444455556666
expect_status "another UUID asked for: fails" 1 "$rc"
expect_match "... naming both" \
    "^cml-attest: the receipt does not verify: the receipt is of device $uuid, not of 0b7f0a4e-1111-4222-8333-444455556666$" \
    "$(grep '^cml-attest:' <<<"$out")"
cd "$SCRATCH" || fail "cd $SCRATCH"

# --- a failed install, an install the log does not hold, an unknown id ----------
# a failed install: an image byte changed in the bundle (1.1), refused while
# it was copied; not measured
g2=$SCRATCH/g2
guestos_make "$g2" busybox 1.1
b2=$SCRATCH/busybox-1.1.bundle
payloads=()
for f in $(ls "$g2"); do
	payloads+=("$f=$g2/$f")
done
_run_tool "cml-bundle create" "$BUNDLE" create -o "$b2" --kind guestos \
    --name busybox --version 1.1 "${payloads[@]}"
_run_tool "cml-bundle sign" "$BUNDLE" sign --key "$SUP/signer.key" \
    --cert "$SUP/signer.crt" --chain "$SUP/chain.pem" "$b2"
flip_byte "$b2" 700000
cmlsh_run update install "$b2" >/dev/null 2>&1 && fail "a changed image byte was installed"
failed_id=$(sql "SELECT max(id) FROM update_history")
expect_eq "the failed install is in the history" "busybox 1.1 failed" \
    "$(sql -separator ' ' "SELECT name, version, result FROM update_history WHERE id = $failed_id")"
cmlsh_run --json update receipt "$failed_id" >"$SCRATCH/f.json" 2>"$SCRATCH/err" ||
    fail "update receipt $failed_id: $(cat "$SCRATCH/err")"
out=$("$ATTEST" --ca "$PKI/root.crt" --receipt "$SCRATCH/f.json" 2>&1)
expect_status "a failed install's receipt verifies" 0 $?
expect_lines "... saying it failed, why, and that it was not put in place" \
    "$(grep '^install \|^detail: \|^check install measured: \|^receipt: ok' <<<"$out")" \
    "^install $failed_id: guestos busybox 1\.1, failed$" \
    "^detail: image '[^']+' does not match its signed SHA-256 \(got [0-9a-f]{64}, manifest says [0-9a-f]{64}\)$" \
    "^check install measured: ok: not in the log, as an install that is failed was not put in place$" \
    "^receipt: ok$"

# the device restarts (the TPM is reset): the install of 1.0 is not in the
# log of the new reset
stack_stop
stack_start
unmeasured_id=$id
out=$(cmlsh_run update receipt "$unmeasured_id" 2>&1)
expect_status "an installed install the log does not hold: refused" 1 $?
expect_match "... saying why" \
    "cannot make the receipt of install $unmeasured_id: the install \(guestos busybox 1\.0\) is installed, but the measurement log of TPM reset [0-9]+ does not hold it: it was not measured since the TPM's last reset \(the device restarted since it was installed\), so no quote can show it" \
    "$out"
expect_match "... audited with the reason" \
    "^type=call uid=0 pid=[0-9]+ container= object=org\.cml\.Update\.Receipt result=org\.cml\.Error\.Failed details=receipt of install $unmeasured_id$" \
    "$(receipt_records | tail -n 1)"

out=$(cmlsh_run update receipt 99999 2>&1)
expect_status "an unknown id: refused" 1 $?
expect_match "... NotFound, naming it" "there is no install 99999 in the update history" "$out"

finish
