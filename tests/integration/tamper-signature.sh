#!/bin/bash
# Tampered or badly signed guest OS manifests are refused before anything
# is copied: a signer from another PKI (same names, root not registered),
# a signature that carries an unregistered root, an expired or not yet
# valid signer, a CA certificate or a certificate without code signing
# usage as signer, a SHA-1 or MD5 signature, a SHA-1 signed signer
# certificate, an RSA-2048 signer, a key on a curve outside the policy, a
# manifest edited after signing, a missing or garbled signature.  Each is refused with its own
# message, nothing is written to the installed tree or the database, and
# the refusal is audited with the reason.
# Proves: APS 01 (only a manifest signed under a registered CA installs),
# APS 02 (the signature verified before installation),
# OS 03 (against registered CAs only), NDR 2.4(1), CR 3.4(1),
# CR 1.8 (chain and validity and CA constraints and key usage checked),
# COM 03 (BSI TR-02102-1 algorithm policy), CR 4.3,
# TSF.INIT (nothing unsigned installed), TSF.UPD, NDR 3.10(1),
# CR 2.8 (refusals audited), CR 2.12 (with uid and pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_guestos_tools
stack_start

pki=$SCRATCH/pki
pki_make "$pki"
base=$SCRATCH/base
guestos_make "$base" busybox 1.0
cmlsh_run ca add "$pki/root.crt" >/dev/null || fail "ca add $pki/root.crt failed"

# subject CERT: its subject as cml shows it (RFC 2253)
subject() {
	openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}

root_subject=$(subject "$pki/root.crt")

n=0
# tampered NAME: a fresh copy of the base guest OS to tamper with; sets $d
tampered() {
	n=$((n + 1))
	d=$SCRATCH/t$n-$1
	guestos_clone "$base" "$d"
}

SIG='manifest signature: '
POLICY='is not allowed (BSI TR-02102-1): use SHA-256 or stronger'
# start_date CERT: its notBefore as cml shows it
start_date() {
	date -u -d "$(openssl x509 -in "$1" -noout -startdate | sed 's/^notBefore=//')" '+%Y-%m-%d %H:%M UTC'
}

# --- a second PKI: same names, other keys, its root not registered --------
pki2=$SCRATCH/pki2
pki_make "$pki2"
expect_eq "the second PKI's root has the registered root's name" \
    "$root_subject" "$(subject "$pki2/root.crt")"
tampered wrong-signer
manifest_sign "$d" "$pki2/signer.key" "$pki2/signer.crt" "$pki2/chain.pem"
expect_install_refused "signer of another PKI" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signer certificate '$(subject "$pki2/signer.crt")' does not chain to a trusted root: unable to get local issuer certificate"

# the signature carries the whole chain up to the unregistered root
cat "$pki2/chain.pem" "$pki2/root.crt" >"$SCRATCH/chain2-full.pem"
tampered untrusted-root
manifest_sign "$d" "$pki2/signer.key" "$pki2/signer.crt" "$SCRATCH/chain2-full.pem"
expect_install_refused "chain up to an unregistered root" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signer certificate '$(subject "$pki2/signer.crt")' does not chain to a trusted root: self-signed certificate in certificate chain"

# --- certificates that may not sign code ------------------------------------
pki_leaf "$pki" expired --expired
tampered expired
manifest_sign "$d" "$pki/expired.key" "$pki/expired.crt"
expect_install_refused "expired signer" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signer certificate '$(subject "$pki/expired.crt")' expired on 2025-01-01 00:00 UTC"

pki_leaf "$pki" future --not-yet-valid
tampered not-yet-valid
manifest_sign "$d" "$pki/future.key" "$pki/future.crt"
expect_install_refused "signer not yet valid" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signer certificate '$(subject "$pki/future.crt")' is not yet valid: valid from $(start_date "$pki/future.crt") (is the system clock right?)"

tampered ca-signer
manifest_sign "$d" "$pki/swca.key" "$pki/swca.crt" ""
expect_install_refused "CA certificate as signer" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signer certificate '$(subject "$pki/swca.crt")' is a CA certificate: signatures must come from a code-signing certificate"

pki_leaf "$pki" nocodesign --no-codesign
tampered no-codesign
manifest_sign "$d" "$pki/nocodesign.key" "$pki/nocodesign.crt"
expect_install_refused "signer without code signing usage" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signer certificate '$(subject "$pki/nocodesign.crt")' is not for code signing (no extendedKeyUsage codeSigning)"

# --- algorithms outside BSI TR-02102-1 -------------------------------------
tampered sha1
manifest_sign_openssl "$d" sha1
expect_install_refused "SHA-1 signature" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signature digest: SHA-1 $POLICY"

pki_leaf "$pki" rsa3072 --rsa 3072
tampered md5
manifest_sign_openssl "$d" md5 "$pki/rsa3072.key" "$pki/rsa3072.crt"
expect_install_refused "MD5 signature" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signature digest: MD5 $POLICY"

pki_leaf "$pki" sha1cert --sha1
tampered sha1-cert
manifest_sign "$d" "$pki/sha1cert.key" "$pki/sha1cert.crt"
expect_install_refused "signer certificate signed with SHA-1" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signature on certificate '$(subject "$pki/sha1cert.crt")': SHA-1 $POLICY"

pki_leaf "$pki" rsa2048 --rsa 2048
tampered rsa2048
manifest_sign "$d" "$pki/rsa2048.key" "$pki/rsa2048.crt"
expect_install_refused "RSA-2048 signer" "$d" org.cml.Error.InvalidSignature \
    "${SIG}RSA key of 2048 bits in '$(subject "$pki/rsa2048.crt")' is too weak (BSI TR-02102-1: at least 3072)"

# a signer on secp256k1 with every extension a signer needs: only the
# curve is wrong
pki_leaf "$pki" k1 --ec secp256k1
tampered secp256k1
manifest_sign "$d" "$pki/k1.key" "$pki/k1.crt"
expect_install_refused "signer on secp256k1" "$d" org.cml.Error.InvalidSignature \
    "${SIG}curve secp256k1 of '$(subject "$pki/k1.crt")' is not allowed (BSI TR-02102-1: P-256, P-384, P-521, brainpoolP256r1/384r1/512r1)"

# --- the signature and the manifest do not belong together -----------------
MISMATCH='signature does not match the data: the file was changed after signing or the signature belongs to another file'
tampered edited
manifest_edit "$d" 'm["description"] = m.get("description", "") + " (edited)"'
expect_install_refused "manifest edited after signing" "$d" org.cml.Error.InvalidSignature \
    "${SIG}$MISMATCH"

tampered edited-allow-downgrade
manifest_edit "$d" 'm["allow_downgrade"] = True'
expect_install_refused "allow_downgrade added after signing" "$d" org.cml.Error.InvalidSignature \
    "${SIG}$MISMATCH"

# the valid signature of another manifest (version 1.1) next to this one
tampered foreign-p7s
guestos_clone "$base" "$SCRATCH/v1.1"
manifest_edit "$SCRATCH/v1.1" 'm["version"] = "1.1"'
manifest_sign "$SCRATCH/v1.1"
cp "$SCRATCH/v1.1/manifest.json.p7s" "$d/manifest.json.p7s"
expect_install_refused "the signature of another manifest" "$d" org.cml.Error.InvalidSignature \
    "${SIG}$MISMATCH"

tampered missing-p7s
rm -f "$d/manifest.json.p7s"
expect_install_refused "missing manifest.json.p7s" "$d" org.cml.Error.InvalidSignature \
    "the manifest is not signed: manifest.json.p7s is missing"

tampered garbled-p7s
head -c 300 /dev/urandom >"$d/manifest.json.p7s"
expect_install_refused "manifest.json.p7s that is no signature" "$d" org.cml.Error.InvalidSignature \
    "${SIG}signature is not a DER CMS (PKCS#7) structure"

# and the untouched guest OS installs, so the refusals above were the
# signatures' doing
expect_install_ok "the untampered guest OS" "$base"

finish
