#!/bin/bash
# tpm2d signs with the device key for the audit trail, against a real
# swtpm: SignCheckpoint makes the checkpoint digest itself (SHA-256 of
# "cml-audit-checkpoint-v1", NUL, be64(seq), be64(time_ms), head), which
# this test computes on its own, and its signature verifies with
# IdentityPublic's key under `openssl pkeyutl` (and not for another seq,
# time or head); SignDigest signs SHA-256, SHA-384 and SHA-512 digests for
# "tls-client", verified the same way.  Refused with the reason: a head
# that is not 64 lower-case hex digits, seq 0 or a seq that is no integer,
# another purpose than tls-client, a digest of a length that is no
# SHA-2 digest or not hex.  Both calls go through tpm2d's table: SignDigest
# is audited (TakeAudit), refusals of both too; a signed checkpoint is not
# (it is in the trail itself).  Without a device key (another key
# at its handle) both answer NoIdentity.
# Proves: CR 3.9 (checkpoints of the audit trail are signed in the TPM by
# the device key, over a digest tpm2d makes itself), CR 1.9(1) (the key
# that signs checkpoints and the forwarder's TLS handshakes never leaves
# the TPM).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm openssl python3 tpm2_evictcontrol tpm2_createprimary \
    tpm2_flushcontext
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] ||
    skip "no tpm2d at $CML_BUILDDIR/daemon/tpm2d/tpm2d: build first (or set CML_BUILDDIR)"
make_scratch
# ESYS prints the TPM errors this test provokes on purpose.
export TSS2_LOG=all+none

swtpm_start "$SCRATCH/swtpm"
tpm2d_up --seal-pcrs 7,16 || fail "tpm2d did not start"

# call METHOD [PARAMS]: the reply's parameters (the test fails on an error).
call() {
	local out
	out=$(tpm2d_call "$@") || fail "tpm2d answered $1 with $out"
	json_get parameters <<<"$out"
}

# refused METHOD PARAMS: "ERROR NAME: MESSAGE" of an error reply.
refused() {
	tpm2d_call "$@" | python3 -c 'import json, sys
m = json.load(sys.stdin)
print("ERROR %s: %s" % (m.get("error"), m.get("parameters", {}).get("message", "")))'
}

call org.cml.TPM.IdentityPublic | json_get public_key >"$SCRATCH/id.pem"
expect_match "the device key is EC" "NIST CURVE: P-(256|384)" \
    "$(openssl pkey -pubin -in "$SCRATCH/id.pem" -noout -text 2>&1)"

# cp_digest SEQ TIME_MS HEAD-HEX FILE: the checkpoint digest, as the spec
# lays it out, computed here without cml's code.
cp_digest() {
	python3 -c 'import hashlib, struct, sys
seq, t, head, out = int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4]
d = hashlib.sha256(b"cml-audit-checkpoint-v1\0" + struct.pack(">qq", seq, t) + head).digest()
open(out, "wb").write(d)' "$@"
}

# verifies DIGEST-FILE SIG-BASE64: 0 when openssl accepts the signature.
verifies() {
	base64 -d <<<"$2" >"$SCRATCH/sig.der" || return 2
	openssl pkeyutl -verify -pubin -inkey "$SCRATCH/id.pem" \
	    -in "$1" -sigfile "$SCRATCH/sig.der" >/dev/null 2>&1
}

HEAD=$(printf 'cml' | sha256sum | cut -d' ' -f1)
sig=$(call org.cml.TPM.SignCheckpoint \
    "{\"seq\": 17, \"time_ms\": 1767225600123, \"head\": \"$HEAD\"}" |
    json_get signature)
expect_match "SignCheckpoint gives base64" '^[A-Za-z0-9+/]+=*$' "$sig"
openssl asn1parse -inform DER -in <(base64 -d <<<"$sig") >"$SCRATCH/asn1" 2>&1
expect_match "the signature is a DER ECDSA-Sig-Value (two integers)" \
    "SEQUENCE.*"$'\n'".*INTEGER.*"$'\n'".*INTEGER" "$(cat "$SCRATCH/asn1")"
cp_digest 17 1767225600123 "$HEAD" "$SCRATCH/cp.bin"
verifies "$SCRATCH/cp.bin" "$sig"
expect_status "the checkpoint signature verifies with IdentityPublic's key" 0 $?
cp_digest 18 1767225600123 "$HEAD" "$SCRATCH/cp18.bin"
verifies "$SCRATCH/cp18.bin" "$sig"
expect_status "it does not verify for another seq" 1 $?
cp_digest 17 1767225600124 "$HEAD" "$SCRATCH/cpt.bin"
verifies "$SCRATCH/cpt.bin" "$sig"
expect_status "nor for another time" 1 $?
cp_digest 17 1767225600123 "$(printf 'lmc' | sha256sum | cut -d' ' -f1)" "$SCRATCH/cph.bin"
verifies "$SCRATCH/cph.bin" "$sig"
expect_status "nor for another head" 1 $?
# time 0 and the largest seq are in range.
sig=$(call org.cml.TPM.SignCheckpoint \
    "{\"seq\": 9223372036854775807, \"time_ms\": 0, \"head\": \"$HEAD\"}" |
    json_get signature)
cp_digest 9223372036854775807 0 "$HEAD" "$SCRATCH/cpmax.bin"
verifies "$SCRATCH/cpmax.bin" "$sig"
expect_status "seq 2^63-1 at time 0 is signed" 0 $?

# Heads and seqs that are refused.
badhead() {
	local desc=$1 head=$2
	expect_eq "SignCheckpoint refuses $desc" \
	    "ERROR org.cml.Error.InvalidArgument: head must be the hash of record 5: 64 lower-case hex digits" \
	    "$(refused org.cml.TPM.SignCheckpoint "{\"seq\": 5, \"time_ms\": 1, \"head\": \"$head\"}")"
}
badhead "a head of 63 digits" "${HEAD:1}"
badhead "a head of 66 digits" "${HEAD}00"
badhead "an empty head" ""
badhead "a head that is no hex" "zz${HEAD:2}"
badhead "a head in upper case" "$(tr a-f A-F <<<"$HEAD")"
expect_match "SignCheckpoint refuses seq 0" \
    "^ERROR org.varlink.service.InvalidParameter: 'seq' must be between 1 and" \
    "$(refused org.cml.TPM.SignCheckpoint "{\"seq\": 0, \"time_ms\": 1, \"head\": \"$HEAD\"}")"
expect_match "SignCheckpoint refuses a negative time" \
    "^ERROR org.varlink.service.InvalidParameter: 'time_ms' must be between 0 and" \
    "$(refused org.cml.TPM.SignCheckpoint "{\"seq\": 1, \"time_ms\": -1, \"head\": \"$HEAD\"}")"
expect_match "SignCheckpoint refuses a seq that is no integer" \
    "^ERROR org.varlink.service.InvalidParameter: 'seq' must be an integer" \
    "$(refused org.cml.TPM.SignCheckpoint "{\"seq\": \"1\", \"time_ms\": 1, \"head\": \"$HEAD\"}")"
expect_match "SignCheckpoint needs a head" \
    "^ERROR org.varlink.service.InvalidParameter: " \
    "$(refused org.cml.TPM.SignCheckpoint '{"seq": 1, "time_ms": 1}')"

# SignDigest: each SHA-2 length, for tls-client only.
for alg in sha256 sha384 sha512; do
	printf 'handshake' | openssl dgst "-$alg" -binary >"$SCRATCH/$alg.bin"
	hex=$(od -An -v -tx1 "$SCRATCH/$alg.bin" | tr -d ' \n')
	sig=$(call org.cml.TPM.SignDigest \
	    "{\"digest\": \"$hex\", \"purpose\": \"tls-client\"}" | json_get signature)
	verifies "$SCRATCH/$alg.bin" "$sig"
	expect_status "SignDigest: a $alg digest's signature verifies" 0 $?
done
hex=$(od -An -v -tx1 "$SCRATCH/sha256.bin" | tr -d ' \n')
for p in tls-server audit-checkpoint "" TLS-CLIENT; do
	expect_eq "SignDigest refuses purpose '$p'" \
	    "ERROR org.cml.Error.InvalidArgument: the device key signs digests only for 'tls-client', not for '$p'" \
	    "$(refused org.cml.TPM.SignDigest "{\"digest\": \"$hex\", \"purpose\": \"$p\"}")"
done
LENMSG="ERROR org.cml.Error.InvalidArgument: digest must be a SHA-256, SHA-384 or SHA-512 digest: 64, 96 or 128 lower-case hex digits"
for n in 0 20 31 33 47 65; do
	d=$(head -c "$n" /dev/zero | od -An -v -tx1 | tr -d ' \n')
	expect_eq "SignDigest refuses a digest of $n bytes" "$LENMSG" \
	    "$(refused org.cml.TPM.SignDigest "{\"digest\": \"$d\", \"purpose\": \"tls-client\"}")"
done
expect_eq "SignDigest refuses an odd number of digits" "$LENMSG" \
    "$(refused org.cml.TPM.SignDigest "{\"digest\": \"${hex}0\", \"purpose\": \"tls-client\"}")"
expect_eq "SignDigest refuses digits that are no hex" "$LENMSG" \
    "$(refused org.cml.TPM.SignDigest "{\"digest\": \"xy${hex:2}\", \"purpose\": \"tls-client\"}")"

# Each call is audited, with what was signed; refusals too.
audit=$(call org.cml.TPM.TakeAudit | python3 -c 'import json, sys
for r in json.load(sys.stdin)["records"]:
	if r["object"] in ("org.cml.TPM.SignCheckpoint", "org.cml.TPM.SignDigest"):
		print("%s %s %s" % (r["object"], r["result"], r["details"].split(": ", 1)[1]))')
expect_eq "a signed checkpoint is not audited (it is in the trail itself)" "" \
    "$(grep 'org.cml.TPM.SignCheckpoint ok' <<<"$audit")"
expect_match "SignDigest is audited with its purpose" \
    "org.cml.TPM.SignDigest ok a 48-byte digest for tls-client" "$audit"
expect_match "a refused SignCheckpoint is audited" \
    "org.cml.TPM.SignCheckpoint org.cml.Error.InvalidArgument " "$audit"
expect_match "a refused SignDigest is audited" \
    "org.cml.TPM.SignDigest org.cml.Error.InvalidArgument " "$audit"
tpm2d_down

# Without a device key (another's key at its handle): NoIdentity.
(
	cd "$SCRATCH" || exit 1
	tpm2_evictcontrol -T "$SWTPM_TCTI" -C o -c 0x81000100 >/dev/null &&
	    tpm2_createprimary -T "$SWTPM_TCTI" -C o -G ecc -c other.ctx >/dev/null &&
	    tpm2_evictcontrol -T "$SWTPM_TCTI" -C o -c other.ctx 0x81000100 >/dev/null &&
	    tpm2_flushcontext -T "$SWTPM_TCTI" -t
) || fail "cannot put another key at 0x81000100"
tpm2d_up --seal-pcrs 7,16 || fail "tpm2d did not start again"
expect_match "SignCheckpoint without a device key: NoIdentity" \
    "^ERROR org.cml.TPM.NoIdentity: tpm2d has no usable device key" \
    "$(refused org.cml.TPM.SignCheckpoint "{\"seq\": 1, \"time_ms\": 1, \"head\": \"$HEAD\"}")"
expect_match "SignDigest without a device key: NoIdentity" \
    "^ERROR org.cml.TPM.NoIdentity: tpm2d has no usable device key" \
    "$(refused org.cml.TPM.SignDigest "{\"digest\": \"$hex\", \"purpose\": \"tls-client\"}")"
tpm2d_down

expect_eq "tpm2d's log has no sanitizer report" "" \
    "$(grep -hE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$STACK_DIR/log/tpm2d.log")"
finish
