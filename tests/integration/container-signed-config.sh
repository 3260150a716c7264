#!/bin/bash
# Signed container configs: CONFIG.json.p7s made with cml-sign verifies,
# and create, show, config and the audit trail name the signer; a config
# changed after signing, a signature by a PKI the device does not trust,
# by a certificate without code signing, by an expired one, without the
# chain, with SHA-1, or not CMS at all, is refused as InvalidSignature
# with the reason, stores nothing and is audited, whether signatures are
# required or not.  With require_signed_configs true, an unsigned config
# is refused with the exact message and a signed one accepted; with auto
# (the default) on a device not yet provisioned, and with false, an
# unsigned config is accepted.
# Proves: COM 06 (configs signed; mandatory with require_signed_configs),
# CR 3.4(1) (a config's signature verified up to a registered anchor),
# CR 1.8 (the signer's chain and validity and key usage checked),
# COM 03 (a SHA-1 signature refused), CR 4.3,
# TSF.UPD (configs can be required to be signed),
# CR 7.6 (require_signed_configs applies at once),
# CR 2.8 (refusals audited), CR 2.12 (with uid and pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

pki=$SCRATCH/pki
signer=$(openssl x509 -in "$pki/signer.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
db=$(state_dir)/cml.db

# write NAME [EXTRA]: writes $SCRATCH/NAME.json, a config of NAME; prints its path
write() {
	ct_config "$1" '{"name":"'"$1"'","guestos":{"name":"busybox"}'"${2:-}"'}'
}
# sign PATH [KEY CERT [CHAIN]]: PATH.p7s by cml-sign (default: the PKI's signer)
sign() {
	local key=${2:-$pki/signer.key} cert=${3:-$pki/signer.crt} chain=${4-$pki/chain.pem}
	local -a c=()
	[ -n "$chain" ] && c=(--chain "$chain")
	rm -f "$1.p7s"
	_run_tool "cml-sign" "$CML_SIGN" sign --key "$key" --cert "$cert" "${c[@]}" -o "$1.p7s" "$1"
}
stored() {
	cmlsh_run container list 2>&1
	sqlite3 "$db" ".timeout 5000" 'select name, signer, config from container order by name' 2>&1
}
# refused DESC PATH ERROR REASON
refused() {
	local desc=$1 path=$2 before n0
	before=$(stored)
	n0=$(audit_count)
	ct_cmlsh container create "$path"
	expect_status "$desc: refused" 1 "$rc"
	expect_eq "$desc: the message" "cmlsh: container config $path refused: $4" "$(cat "$SCRATCH/err")"
	expect_eq "$desc: nothing stored" "$before" "$(stored)"
	expect_eq "$desc: audited" "$((n0 + 1))
type=call uid=0 pid=$pid container= object=org.cml.Container.Create result=$3 details=container config $path refused: $4" \
	    "$(audit_last)"
	ct_cmlsh --json container create "$path"
	expect_eq "$desc: the error" "$3" "$(json_get error <"$SCRATCH/out")"
}
setting() {
	cmlsh_run device config set require_signed_configs "$1" >/dev/null ||
	    fail "device config set require_signed_configs $1 failed"
}

expect_eq "require_signed_configs is auto by default" "auto" \
    "$(cmlsh_run --json device config get require_signed_configs | json_get settings 0 value)"
expect_eq "the device is not provisioned" "factory" \
    "$(cmlsh_run --json device status | json_get provisioning)"

# --- a signed config --------------------------------------------------------------------------
good=$(ct_name signed)
path=$(write "$good")
sign "$path"
ct_track "$good"
n0=$(audit_count)
ct_cmlsh container create "$path"
expect_status "a signed config" 0 "$rc"
expect_eq "a signed config: the reply names the signer" "name:   $good
signer: $signer" "$(cat "$SCRATCH/out")"
expect_eq "a signed config: audited with the signer" "$((n0 + 1))
type=call uid=0 pid=$pid container= object=org.cml.Container.Create result=ok details=created container $good from $path ($signer)" \
    "$(audit_last)"
expect_eq "container show: the signer" "$signer" "$(ct_show "$good" signer)"
expect_match "container show (text): the signer" $'\nsigner: +'"$(re_quote "$signer")"$'\n' \
    "$(cmlsh_run container show "$good" 2>&1)"
expect_eq "container config: the signer" "$signer" \
    "$(cmlsh_run --json container config "$good" | json_get signer)"
expect_eq "the database keeps the signed bytes, byte for byte, and the signer" \
    "$(od -An -tx1 -v "$path" | tr -d ' \n' | tr a-f A-F)|$signer" \
    "$(sqlite3 "$db" "select hex(config), signer from container where name = '$good'")"
ct_start "$good"
expect_eq "a signed container starts" "running" "$(ct_state "$good")"

# --- bad signatures, while signatures are not required ------------------------------------------
bad=$(ct_name tampered)
path=$(write "$bad")
sign "$path"
sed -i 's/"busybox"}/"busybox"},"autostart":true/' "$path"
refused "changed after signing" "$path" org.cml.Error.InvalidSignature \
    "config signature: signature does not match the data: the file was changed after signing or the signature belongs to another file"

cp "$SCRATCH/$good.json.p7s" "$(write "$bad").p7s"
refused "another config's signature" "$SCRATCH/$bad.json" org.cml.Error.InvalidSignature \
    "config signature: signature does not match the data: the file was changed after signing or the signature belongs to another file"

other=$SCRATCH/pki-other
pki_make "$other"
path=$(write "$bad")
sign "$path" "$other/signer.key" "$other/signer.crt" "$other/chain.pem"
refused "signed under a PKI the device does not trust" "$path" org.cml.Error.InvalidSignature \
    "config signature: signer certificate '$signer' does not chain to a trusted root: unable to get local issuer certificate"

pki_leaf "$pki" nocode --no-codesign
sign "$path" "$pki/nocode.key" "$pki/nocode.crt"
refused "a signer without code signing" "$path" org.cml.Error.InvalidSignature \
    "config signature: signer certificate 'CN=nocode,O=cml' is not for code signing (no extendedKeyUsage codeSigning)"

pki_leaf "$pki" old --expired
sign "$path" "$pki/old.key" "$pki/old.crt"
refused "an expired signer" "$path" org.cml.Error.InvalidSignature \
    "config signature: signer certificate 'CN=old,O=cml' expired on $(date -u -d "$(openssl x509 -in "$pki/old.crt" -noout -enddate | sed 's/^notAfter=//')" '+%Y-%m-%d %H:%M') UTC"

sign "$path" "$pki/signer.key" "$pki/signer.crt" ""
refused "a signature without the chain" "$path" org.cml.Error.InvalidSignature \
    "config signature: signer certificate '$signer' does not chain to a trusted root: unable to get local issuer certificate"

rm -f "$path.p7s"
_run_tool "openssl cms -sign -md sha1" openssl cms -sign -binary -md sha1 -in "$path" \
    -signer "$pki/signer.crt" -inkey "$pki/signer.key" -certfile "$pki/chain.pem" \
    -outform DER -out "$path.p7s"
refused "a SHA-1 signature" "$path" org.cml.Error.InvalidSignature \
    "config signature: signature digest: SHA-1 is not allowed (BSI TR-02102-1): use SHA-256 or stronger"

echo garbage >"$path.p7s"
refused "a signature that is not CMS" "$path" org.cml.Error.InvalidSignature \
    "config signature: signature is not a DER CMS (PKCS#7) structure"

# --- require_signed_configs ---------------------------------------------------------------------
unsigned=$(ct_name unsigned)
setting true
path=$(write "$unsigned")
refused "unsigned, with require_signed_configs true" "$path" org.cml.Error.InvalidSignature \
    "the config is not signed ($path.p7s is missing) and require_signed_configs is on"
req=$(ct_name required)
rpath=$(write "$req")
sign "$rpath"
ct_track "$req"
ct_cmlsh container create "$rpath"
expect_status "signed, with require_signed_configs true" 0 "$rc"
expect_eq "signed, with require_signed_configs true: the signer" "$signer" "$(ct_show "$req" signer)"

setting auto
ct_track "$unsigned"
ct_cmlsh container create "$path"
expect_status "unsigned, with auto on a device not provisioned" 0 "$rc"
expect_eq "unsigned: the reply" "name:   $unsigned
signer: -" "$(cat "$SCRATCH/out")"
expect_eq "unsigned: no signer" "" "$(ct_show "$unsigned" signer)"

setting false
loose=$(ct_name loose)
ct_track "$loose"
ct_cmlsh container create "$(write "$loose")"
expect_status "unsigned, with require_signed_configs false" 0 "$rc"
path=$(write "$bad")
sign "$path"
echo " " >>"$path"
refused "a bad signature, with require_signed_configs false" "$path" org.cml.Error.InvalidSignature \
    "config signature: signature does not match the data: the file was changed after signing or the signature belongs to another file"

expect_eq "the signed container runs on" "running" "$(ct_state "$good")"
finish
