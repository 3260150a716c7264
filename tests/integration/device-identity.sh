#!/bin/bash
# The device identity against a real swtpm behind tpm2d: `device csr`
# prints a PKCS#10 request that `openssl req -verify` accepts, whose
# subject is CN=<device UUID>, O=cml device, and is audited.  A device CA
# made here (cml-mkpki) and registered with `ca add` signs it; `device cert
# install` accepts that certificate, audits its subject and expiry, and
# `device status` shows them (text and --json).  Refused, each with its
# reason and nothing changed: a certificate for another key (an openssl
# key's request signed by the same CA), one from a CA that is no trust
# anchor, one for another UUID (the TPM's key, another CN); an operator
# may not install.  With only the root as anchor, the certificate is
# accepted when its device CA follows it in the file (which is stored as
# its chain), refused without, and refused, nothing changed, when a CA
# certificate off its path follows too.  An operator may attest: `device
# attest NONCE` (nonce validated) gives evidence, the certificate followed
# by its device CA, that cml-attest verifies against the root alone (the
# certificate, the quote, the log), and refuses for another nonce.
# With tpm2d stopped, csr, install and attest are refused at once, saying
# so.
# Proves: CR 1.2 (the device identified by a TPM-held key certified for
# its UUID), IAM 01 (device identity: CSR, certificate checked against
# the TPM key and the trust anchors), CR 1.9(1) (a certificate for another
# key, another device or an unknown CA refused), COM 04 (attestation
# evidence a remote verifier checks), CR 1.8 (the certificate kept and
# handed out with the CA certificates of its path, and no other).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog openssl python3 setpriv getent groupadd sqlite3
[ -x "$MKPKI" ] || skip "no provisioning/cml-mkpki at $MKPKI"
ensure_groups
stack_start
user_programs

uuid=$(cmlsh_run --json device status | json_get uuid)
[ -n "$uuid" ] || fail "device status names no uuid"
DB=$(state_dir)/cml.db
# last_call OBJECT: the newest audit record of that method, as one line
last_call() {
	cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
rs = [r for r in json.load(sys.stdin)["records"] if r["object"] == sys.argv[1]]
for r in rs[-1:]:
    print("uid=%s result=%s details=%s" % (r["uid"], r["result"], r["details"]))' "$1"
}
# install CERT: device cert install as root; sets $out and $rc
install() {
	out=$(cmlsh_run device cert install "$1" 2>&1)
	rc=$?
}
# as_op ARGS...: cmlsh as an operator (group cml)
as_op() {
	as_user cml "$USER_CMLSH" --socket "$SOCK" "$@"
}

# --- device csr ------------------------------------------------------------
cmlsh_run -c 'device csr' >"$SCRATCH/dev.csr" 2>"$SCRATCH/err"
expect_status "device csr" 0 $?
expect_eq "device csr writes nothing on stderr" "" "$(cat "$SCRATCH/err")"
expect_lines "device csr prints one PEM request" "$(sed -n '1p;$p' "$SCRATCH/dev.csr")" \
    '^-----BEGIN CERTIFICATE REQUEST-----$' '^-----END CERTIFICATE REQUEST-----$'
out=$(openssl req -in "$SCRATCH/dev.csr" -verify -noout 2>&1)
expect_status "openssl req -verify" 0 $?
expect_match "its signature verifies" "verify OK" "$out"
expect_eq "its subject carries the UUID" "CN=$uuid, O=cml device" \
    "$(openssl req -in "$SCRATCH/dev.csr" -noout -subject -nameopt sep_comma_plus_space | sed 's/^subject=//')"
openssl req -in "$SCRATCH/dev.csr" -noout -pubkey >"$SCRATCH/csr.pub"
tpm2d_call org.cml.TPM.IdentityPublic | json_get parameters public_key >"$SCRATCH/tpm.pub"
expect_eq "its key is the TPM's device key" "$(openssl pkey -pubin -in "$SCRATCH/tpm.pub" -outform DER | sha256sum)" \
    "$(openssl pkey -pubin -in "$SCRATCH/csr.pub" -outform DER | sha256sum)"
expect_eq "device csr is audited" \
    "uid=0 result=ok details=certificate request for the device key, subject /CN=$uuid/O=cml device" \
    "$(last_call org.cml.Device.CSR)"
out=$(as_op device csr 2>&1)
expect_status "an operator may not ask for a request" 1 $?

# --- a device CA signs it; install -----------------------------------------
pki_make "$SCRATCH/pki"
pki=$SCRATCH/pki
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$SCRATCH/ext"
# sign CSR OUT CA [OPENSSL-X509-OPTIONS...]: a device certificate for 30 days
sign() {
	local csr=$1 out=$2 ca=$3
	shift 3
	openssl x509 -req -in "$csr" -CA "$ca.crt" -CAkey "$ca.key" \
	    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha384 \
	    -extfile "$SCRATCH/ext" -out "$out" "$@" >/dev/null 2>&1 ||
	    fail "openssl x509 -req $csr failed"
}
sign "$SCRATCH/dev.csr" "$SCRATCH/dev.crt" "$pki/devca"

install "$SCRATCH/dev.crt"
expect_status "install before the device CA is an anchor: refused" 1 "$rc"
expect_match "it does not chain" "is not this device's certificate: .* does not chain to a trust anchor" "$out"
_run_tool "ca add devca" "$CMLSH" --socket "$SOCK" ca add "$pki/devca.crt"

out=$(as_op device cert install "$SCRATCH/dev.crt" 2>&1)
expect_status "an operator may not install" 1 $?
expect_match "the operator is told why" "admin" "$out"
expect_eq "status: still none" "none" "$(cmlsh_run --json device status | json_get certificate)"

subject="O=cml device,CN=$uuid"
end=$(date -u -d "$(openssl x509 -in "$SCRATCH/dev.crt" -noout -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)
install "$SCRATCH/dev.crt"
expect_status "install the device CA's certificate" 0 "$rc"
expect_lines "install: the reply" "$out" \
    "^subject: +${subject}\$" '^issuer: +CN=cml device CA,O=cml$' \
    "^not after: +$end\$" '^fingerprint: +[0-9a-f]{64}$'
expect_match "install is audited with subject and expiry" \
    "^uid=0 result=ok details=installed device certificate '$subject' issued by 'CN=cml device CA,O=cml', valid until $end " \
    "$(last_call org.cml.Device.InstallCertificate)"
expect_eq "device status shows subject and expiry" \
"certificate:           $subject
certificate not after: $end" "$(cmlsh_run device status | grep '^certificate')"
expect_eq "device status --json too" "$subject $end" \
    "$(cmlsh_run --json device status | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d["certificate"], d["certificate_not_after"])')"

# --- refused certificates --------------------------------------------------
# status_cert: the installed certificate as status shows it
status_cert() {
	cmlsh_run --json device status | json_get certificate
}
openssl ecparam -name secp384r1 -genkey -noout -out "$SCRATCH/other.key" 2>/dev/null
openssl req -new -key "$SCRATCH/other.key" -subj "/CN=$uuid/O=cml device" \
    -out "$SCRATCH/other.csr" || fail "openssl req -new failed"
sign "$SCRATCH/other.csr" "$SCRATCH/other.crt" "$pki/devca"
install "$SCRATCH/other.crt"
expect_status "a certificate for another key" 1 "$rc"
expect_match "refused: another key" \
    "other\\.crt is not this device's certificate: it certifies another key, not this device's TPM key" "$out"
expect_match "the refusal is audited" "^uid=0 result=org.cml.Error.InvalidArgument details=.*certifies another key" \
    "$(last_call org.cml.Device.InstallCertificate)"

pki_make "$SCRATCH/pki2"
sign "$SCRATCH/dev.csr" "$SCRATCH/unknown.crt" "$SCRATCH/pki2/devca"
install "$SCRATCH/unknown.crt"
expect_status "a certificate from a CA that is no anchor" 1 "$rc"
expect_match "refused: no chain" \
    "unknown\\.crt is not this device's certificate: '$subject' does not chain to a trust anchor" "$out"

sign "$SCRATCH/dev.csr" "$SCRATCH/uuid.crt" "$pki/devca" \
    -subj "/CN=00000000-0000-4000-8000-000000000000/O=cml device"
install "$SCRATCH/uuid.crt"
expect_status "a certificate for another UUID" 1 "$rc"
expect_match "refused: another device" \
    "uuid\\.crt is not this device's certificate: it is for another device: .* has not this device's UUID $uuid as its CN" "$out"

printf 'not a certificate\n' >"$SCRATCH/junk.crt"
install "$SCRATCH/junk.crt"
expect_status "junk" 1 "$rc"
expect_match "refused: no certificate" "holds no PEM or DER certificate" "$out"
expect_eq "the refusals changed nothing" "$subject" "$(status_cert)"

# --- with the root as the only anchor, the device CA comes along ------------
_run_tool "ca add root" "$CMLSH" --socket "$SOCK" ca add "$pki/root.crt"
fp=$(openssl x509 -in "$pki/devca.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
_run_tool "ca remove devca" "$CMLSH" --socket "$SOCK" --yes ca remove "$fp"
install "$SCRATCH/dev.crt"
expect_status "the root alone: the certificate without its CA refused" 1 "$rc"
expect_match "refused: no chain to the root" "does not chain to a trust anchor" "$out"
cat "$SCRATCH/dev.crt" "$pki/devca.crt" >"$SCRATCH/dev-chain.pem"
cat "$SCRATCH/dev-chain.pem" "$pki/swca.crt" >"$SCRATCH/dev-extra.pem"
install "$SCRATCH/dev-extra.pem"
expect_status "with a CA certificate off its path after them: refused" 1 "$rc"
expect_match "refused: naming the certificate off the path" \
    "dev-extra\\.pem is not this device's certificate: it comes with a certificate off its path: certificate 3 in .*dev-extra\\.pem, 'CN=cml software signing CA,O=cml', is not between it and the trust anchor 'CN=cml root CA,O=cml'" "$out"
expect_eq "the refusal changed nothing: the certificate installed under the device CA, no chain" \
    "$(openssl x509 -in "$SCRATCH/dev.crt" -outform DER | sha256sum | cut -d' ' -f1) 0" \
    "$(sqlite3 "$DB" 'SELECT fingerprint, length(chain) FROM device_cert' | tr '|' ' ')"
install "$SCRATCH/dev-chain.pem"
expect_status "the certificate with its device CA after it: accepted" 0 "$rc"
expect_eq "the device CA is kept as its chain" \
    "$(openssl x509 -in "$pki/devca.crt" -outform DER | od -An -v -tx1 | tr -d ' \n')" \
    "$(sqlite3 "$DB" 'SELECT lower(hex(chain)) FROM device_cert')"
_run_tool "ca add devca" "$CMLSH" --socket "$SOCK" ca add "$pki/devca.crt"

# --- device attest ---------------------------------------------------------
out=$(as_op device attest 1234 2>&1)
expect_status "a nonce of 2 bytes" 1 $?
expect_match "refused: the nonce" "'1234' is no nonce: give 8 to 64 bytes" "$out"
out=$(cmlsh_run device attest "$(printf 'zz%.0s' {1..8})" 2>&1)
expect_status "a nonce that is no hex" 1 $?
nonce=$(openssl rand -hex 20)
as_op --json -c "device attest $nonce" >"$SCRATCH/attest.json" 2>"$SCRATCH/err"
expect_status "an operator attests" 0 $?
expect_eq "attest: uuid, nonce, certificate subject" "$uuid $nonce $subject" \
    "$(python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d["uuid"], d["nonce"], d["certificate_subject"])' <"$SCRATCH/attest.json")"
expect_eq "attest: the certificate is the one installed, then its device CA" \
    "$(openssl x509 -in "$SCRATCH/dev.crt"; openssl x509 -in "$pki/devca.crt")" \
    "$(json_get certificate <"$SCRATCH/attest.json")"
out=$(cmlsh_run device attest "$nonce")
expect_match "attest: the human form sums it up" \
    "(^|
)log: +0 entries
certificate: +$subject$" "$out"
if [ -x "$CML_BUILDDIR/provisioning/cml-attest" ]; then
	out=$("$CML_BUILDDIR/provisioning/cml-attest" --ca "$pki/root.crt" \
	    --nonce "$nonce" --uuid "$uuid" "$SCRATCH/attest.json" 2>&1)
	expect_status "cml-attest verifies the evidence with the root alone" 0 $?
	expect_match "cml-attest: ok" "attestation: ok" "$out"
	"$CML_BUILDDIR/provisioning/cml-attest" --ca "$pki/root.crt" \
	    --nonce "$(openssl rand -hex 20)" --uuid "$uuid" "$SCRATCH/attest.json" >/dev/null 2>&1
	expect_status "cml-attest refuses it for another nonce" 1 $?
	"$CML_BUILDDIR/provisioning/cml-attest" --ca "$SCRATCH/pki2/root.crt" \
	    --nonce "$nonce" --uuid "$uuid" "$SCRATCH/attest.json" >/dev/null 2>&1
	expect_status "cml-attest refuses it under another root" 1 $?
else
	echo "# no cml-attest in $CML_BUILDDIR/provisioning: not verified here" >&2
fi

# --- tpm2d down: refused at once --------------------------------------------
tpid=$(tpm2d_pid) || fail "cannot find this stack's tpm2d"
kill "$tpid"
for _ in $(seq 100); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$tpid" 2>/dev/null && fail "tpm2d did not end"
t0=$(date +%s%N)
out=$(cmlsh_run -c 'device csr' 2>&1)
expect_status "csr without tpm2d" 1 $?
expect_match "csr: tpm2d is not running" \
    "^cmlsh: cannot make a certificate request for the device key: tpm2d is not running" "$out"
out=$(cmlsh_run device cert install "$SCRATCH/dev.crt" 2>&1)
expect_status "install without tpm2d" 1 $?
expect_match "install: tpm2d is not running" \
    "cannot install the device certificate: cannot read the TPM's device key: tpm2d is not running" "$out"
out=$(cmlsh_run device attest "$nonce" 2>&1)
expect_status "attest without tpm2d" 1 $?
expect_match "attest: tpm2d is not running" "cannot attest: tpm2d is not running" "$out"
t1=$(date +%s%N)
expect_eq "all three answered at once (under 3 s)" yes \
    "$([ $(((t1 - t0) / 1000000)) -lt 3000 ] && echo yes || echo "no: $(((t1 - t0) / 1000000)) ms")"
expect_eq "the certificate stays installed" "$subject" "$(status_cert)"

finish
