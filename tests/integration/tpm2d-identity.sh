#!/bin/bash
# tpm2d's device identity, against a real swtpm: at its first start tpm2d
# makes a P-384 signing key in the TPM and keeps it persistent at
# 0x81000100; IdentityPublic shows it (PEM, curve, name, attributes
# fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign: it cannot
# leave the TPM), tpm2_readpublic reads the same key and attributes from
# the TPM itself while tpm2d is stopped, and TPM2_Duplicate of it is
# refused.  CreateCSR gives a PKCS#10 request that `openssl req -verify`
# accepts, for the key shown and with the subject asked for (the device
# UUID); subjects that are not /KEY=VALUE/..., too long, or with control
# characters are refused with the reason.  tpm2d restarted keeps the same
# key (and AK), which also sign while the TPM is in dictionary attack
# lockout (noDA); a foreign key at the handle is neither used nor replaced.
# Many CSRs and quotes leave no transient object or session in the TPM.
# Proves: IAM 01 (the device key in the TPM, the CSR carries the device
# UUID), CR 1.2 (the CSR for the device certificate is signed in the TPM),
# CR 1.2(1) (the key is made once and kept across restarts: one identity
# per device), CR 1.9(1) (the private key is fixedTPM and fixedParent,
# cannot be duplicated).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm openssl python3 tpm2_readpublic tpm2_getcap \
    tpm2_startauthsession tpm2_policycommandcode tpm2_duplicate \
    tpm2_flushcontext tpm2_evictcontrol tpm2_createprimary \
    tpm2_dictionarylockout tpm2_sign
TPM2D=$CML_BUILDDIR/daemon/tpm2d/tpm2d
[ -x "$TPM2D" ] || skip "no tpm2d at $TPM2D: build first (or set CML_BUILDDIR)"
make_scratch

SWTPM_DIR=$SCRATCH/swtpm
TROOT=$SCRATCH/root
TSOCK=$TROOT/run/cml/tpm2d.sock
TCTI=swtpm:path=$SWTPM_DIR/sock
TPM2D_PID=
UUID=6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab
# ESYS prints the TPM errors this test provokes on purpose.
export TSS2_LOG=all+none

# Starts a swtpm of the test's own on a Unix socket in the scratch
# directory (never a TCP port).
swtpm_start() {
	mkdir -p "$SWTPM_DIR"
	swtpm socket --tpm2 --tpmstate "dir=$SWTPM_DIR" \
	    --server "type=unixio,path=$SWTPM_DIR/sock" \
	    --ctrl "type=unixio,path=$SWTPM_DIR/sock.ctrl" \
	    --flags not-need-init,startup-clear --daemon \
	    --pid "file=$SWTPM_DIR/pid" || fail "swtpm did not start"
	track_pid "$(cat "$SWTPM_DIR/pid")"
}

# Starts tpm2d on the swtpm and waits until it serves.
tpm2d_start() {
	local line
	mkdir -p "$TROOT"
	exec 3< <(exec "$TPM2D" --root "$TROOT" --tcti "$TCTI" \
	    --seal-pcrs 7,16 --foreground --ready-fd 4 4>&1 \
	    >>"$SCRATCH/tpm2d.log" 2>&1 </dev/null)
	TPM2D_PID=$!
	track_pid "$TPM2D_PID"
	if ! IFS= read -r -t 10 -u 3 line || [ "$line" != READY=1 ]; then
		exec 3<&-
		tail -n 20 "$SCRATCH/tpm2d.log" >&2
		fail "tpm2d did not become ready"
	fi
	exec 3<&-
}

# Stops tpm2d (it closes its TPM connection, so that tpm2-tools may use
# the swtpm).
tpm2d_stop() {
	local i
	kill -TERM "$TPM2D_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$TPM2D_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$TPM2D_PID" 2>/dev/null && fail "tpm2d did not stop"
	untrack_pid "$TPM2D_PID"
	TPM2D_PID=
}

# tpm2d_call METHOD [PARAMS-JSON]: prints the reply's parameters, or
# ERROR NAME: MESSAGE.
tpm2d_call() {
	varlink_run "$TSOCK" call "$@" | python3 -c 'import json, sys
m = json.load(sys.stdin)
if "error" in m:
	print("ERROR %s: %s" % (m["error"], m.get("parameters", {}).get("message", "")))
else:
	print(json.dumps(m.get("parameters", {})))'
}

swtpm_start
tpm2d_start

status=$(tpm2d_call org.cml.TPM.Status)
expect_eq "Status: the identity is present" present \
    "$(json_get identity <<<"$status")"
expect_eq "Status: at persistent handle 0x81000100" $((0x81000100)) \
    "$(json_get identity_handle <<<"$status")"

pub=$(tpm2d_call org.cml.TPM.IdentityPublic)
expect_eq "IdentityPublic: curve P-384" P-384 "$(json_get curve <<<"$pub")"
expect_eq "IdentityPublic: attributes (fixedtpm, fixedparent: not exportable)" \
    "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign" \
    "$(json_get attributes <<<"$pub")"
json_get public_key <<<"$pub" >"$SCRATCH/id.pem"
keytext=$(openssl pkey -pubin -in "$SCRATCH/id.pem" -noout -text 2>&1)
expect_match "the public key is an EC P-384 key" "NIST CURVE: P-384" "$keytext"
name=$(json_get name <<<"$pub")
expect_match "the name is sha256 nameAlg and digest" '^000b[0-9a-f]{64}$' "$name"

# The CSR: verifies, carries the subject and the key shown.
csr=$(tpm2d_call org.cml.TPM.CreateCSR "{\"subject\": \"/CN=$UUID/O=cml device\"}")
json_get csr <<<"$csr" >"$SCRATCH/id.csr"
out=$(openssl req -in "$SCRATCH/id.csr" -verify -noout 2>&1)
expect_status "openssl req -verify accepts the CSR" 0 $?
expect_match "openssl says the signature verifies" "verify OK" "$out"
subject=$(openssl req -in "$SCRATCH/id.csr" -noout -subject -nameopt RFC2253 2>&1)
expect_eq "the CSR's subject is the one asked for" \
    "subject=O=cml device,CN=$UUID" "$subject"
openssl req -in "$SCRATCH/id.csr" -noout -pubkey >"$SCRATCH/csr-key.pem" 2>/dev/null
expect_eq "the CSR's key is the device key" "$(cat "$SCRATCH/id.pem")" \
    "$(cat "$SCRATCH/csr-key.pem")"
expect_match "the CSR is signed with ECDSA SHA-384" \
    "Signature Algorithm: ecdsa-with-SHA384" \
    "$(openssl req -in "$SCRATCH/id.csr" -noout -text 2>&1)"

# Subjects that are refused, with the reason.
bad() {
	local desc=$1 subject=$2 want=$3 out
	out=$(tpm2d_call org.cml.TPM.CreateCSR "$(python3 -c 'import json, sys
print(json.dumps({"subject": sys.argv[1]}))' "$subject")")
	expect_match "CreateCSR refuses $desc" "^ERROR org.cml.Error.InvalidArgument: .*$want" "$out"
}
bad "a subject without a leading /" "CN=x" "the form /CN=NAME/O=ORG"
bad "an unknown attribute" "/CN=x/NOPE=y" "unknown attribute 'NOPE'"
bad "an empty value" "/CN=x/O=" "is not KEY=VALUE"
bad "a country of three letters" "/C=DEU" "C is not accepted"
bad "a control character" $'/CN=a\x01b' "control character"
bad "a subject of 2000 bytes" "/CN=$(printf 'a%.0s' {1..2000})" "1 to 1024 bytes"
out=$(tpm2d_call org.cml.TPM.CreateCSR '{"subject": 5}')
expect_match "CreateCSR refuses a subject that is no string" "^ERROR org.varlink.service.InvalidParameter" "$out"
# A UTF-8 subject is kept as UTF-8.
csr=$(tpm2d_call org.cml.TPM.CreateCSR '{"subject": "/CN=Gerät Ä/O=cml"}')
json_get csr <<<"$csr" >"$SCRATCH/utf8.csr"
expect_eq "a UTF-8 subject is carried as it is" "subject=O=cml,CN=Gerät Ä" \
    "$(openssl req -in "$SCRATCH/utf8.csr" -noout -subject -nameopt RFC2253,-esc_msb 2>&1)"

# Many operations leave nothing behind in the TPM (no resource manager).
for ((i = 0; i < 25; i++)); do
	tpm2d_call org.cml.TPM.CreateCSR '{"subject": "/CN=loop"}' >/dev/null
	tpm2d_call org.cml.TPM.Quote '{"nonce": "00112233445566778899"}' >/dev/null
	tpm2d_call org.cml.TPM.IdentityPublic >/dev/null
done
ak1=$(tpm2d_call org.cml.TPM.Quote '{"nonce": "0011223344556677"}' | json_get ak_pem)
tpm2d_stop

expect_eq "no transient object is left in the TPM" "" \
    "$(tpm2_getcap -T "$TCTI" handles-transient 2>&1)"
expect_eq "no session is left in the TPM" "" \
    "$(tpm2_getcap -T "$TCTI" handles-loaded-session 2>&1)"
expect_eq "the persistent handles are the device key's and the AK's" \
    "$(printf -- '- 0x81000100\n- 0x81000101')" \
    "$(tpm2_getcap -T "$TCTI" handles-persistent 2>&1)"

# The TPM itself says what the key is.
rp=$(tpm2_readpublic -T "$TCTI" -c 0x81000100 2>&1)
expect_eq "tpm2_readpublic: the same name" "$name" "$(sed -n 's/^name: //p' <<<"$rp")"
attrs=$(sed -n '/^attributes:/{n;s/^ *value: //p}' <<<"$rp")
expect_eq "tpm2_readpublic: the key's attributes" \
    "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign" "$attrs"
expect_match "tpm2_readpublic: fixedtpm and fixedparent are set" \
    '(^|\|)fixedtpm\|(.*\|)?fixedparent(\||$)' "$attrs"
expect_match "tpm2_readpublic: the curve is NIST P-384" "value: NIST p384" "$rp"
akattrs=$(tpm2_readpublic -T "$TCTI" -c 0x81000101 2>&1 |
    sed -n '/^attributes:/{n;s/^ *value: //p}')
expect_eq "tpm2_readpublic: the AK is a restricted signing key" \
    "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|sign" \
    "$akattrs"

# Duplication (the one way a key leaves its TPM) is refused.
(
	cd "$SCRATCH" || exit 1
	tpm2_startauthsession -T "$TCTI" --policy-session -S dup.ctx &&
	    tpm2_policycommandcode -T "$TCTI" -S dup.ctx TPM2_CC_Duplicate \
	    >/dev/null || exit 2
	tpm2_duplicate -T "$TCTI" -C null -c 0x81000100 -G null \
	    -p session:dup.ctx -r dup.priv -s dup.seed >dup.log 2>&1
	rc=$?
	tpm2_flushcontext -T "$TCTI" dup.ctx
	exit $rc
)
rc=$?
expect_status "TPM2_Duplicate of the device key is refused" 1 "$rc"
[ -e "$SCRATCH/dup.priv" ] && fail "tpm2_duplicate wrote a duplicate"

# Restarted, tpm2d keeps its identity.
tpm2d_start
pub2=$(tpm2d_call org.cml.TPM.IdentityPublic)
expect_eq "after a restart: the same public key" "$(json_get public_key <<<"$pub")" \
    "$(json_get public_key <<<"$pub2")"
expect_eq "after a restart: the same name" "$name" "$(json_get name <<<"$pub2")"
ak2=$(tpm2d_call org.cml.TPM.Quote '{"nonce": "0011223344556677"}' | json_get ak_pem)
expect_eq "after a restart: the same AK" "$ak1" "$ak2"
expect_eq "tpm2d made no new key" 1 "$(grep -c 'made the device key' "$SCRATCH/tpm2d.log")"
tpm2d_stop

# In dictionary attack lockout (one wrong password of a DA-protected key
# with maxTries 1), the device key and the AK still sign: they are noDA.
(
	cd "$SCRATCH" || exit 1
	tpm2_dictionarylockout -T "$TCTI" -s -n 1 -t 600 -l 600 &&
	    tpm2_createprimary -T "$TCTI" -C o -G ecc -p secret \
	    -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' \
	    -c da.ctx >/dev/null || exit 1
	echo data >da.msg
	tpm2_sign -T "$TCTI" -c da.ctx -p wrong -g sha256 -o da.sig da.msg \
	    >/dev/null 2>&1
	tpm2_flushcontext -T "$TCTI" -t
) || fail "cannot set up the lockout"
expect_match "the TPM is in lockout" "inLockout: +1" \
    "$(tpm2_getcap -T "$TCTI" properties-variable 2>&1)"
tpm2d_start
csr=$(tpm2d_call org.cml.TPM.CreateCSR "{\"subject\": \"/CN=$UUID\"}")
json_get csr <<<"$csr" >"$SCRATCH/lockout.csr"
openssl req -in "$SCRATCH/lockout.csr" -verify -noout >/dev/null 2>&1
expect_status "in lockout: a CSR signed by the device key" 0 $?
out=$(tpm2d_call org.cml.TPM.Quote '{"nonce": "0011223344556677"}')
expect_match "in lockout: a quote by the AK, certified by the device key" \
    '"certify_signature": ' "$out"
tpm2d_stop
tpm2_dictionarylockout -T "$TCTI" -c >/dev/null 2>&1 ||
    fail "cannot clear the lockout"

# A key of someone else's at the handle is neither used nor replaced.
(
	cd "$SCRATCH" || exit 1
	tpm2_evictcontrol -T "$TCTI" -C o -c 0x81000100 >/dev/null &&
	    tpm2_createprimary -T "$TCTI" -C o -G ecc -c other.ctx >/dev/null &&
	    tpm2_evictcontrol -T "$TCTI" -C o -c other.ctx 0x81000100 >/dev/null &&
	    tpm2_flushcontext -T "$TCTI" -t
) || fail "cannot put another key at 0x81000100"
tpm2d_start
expect_eq "with a foreign key at the handle: identity absent" absent \
    "$(tpm2d_call org.cml.TPM.Status | json_get identity)"
expect_match "tpm2d says why" "0x81000100 is not cml's device key" \
    "$(cat "$SCRATCH/tpm2d.log")"
expect_match "IdentityPublic is refused" "^ERROR org.cml.TPM.NoIdentity: " \
    "$(tpm2d_call org.cml.TPM.IdentityPublic)"
expect_match "CreateCSR is refused" "^ERROR org.cml.TPM.NoIdentity: " \
    "$(tpm2d_call org.cml.TPM.CreateCSR '{"subject": "/CN=x"}')"
expect_match "Quote is refused" "^ERROR org.cml.TPM.NoIdentity: " \
    "$(tpm2d_call org.cml.TPM.Quote '{"nonce": "0011223344556677"}')"
tpm2d_stop
expect_match "the foreign key is still there" "decrypt" \
    "$(tpm2_readpublic -T "$TCTI" -c 0x81000100 2>&1)"

# Gone, the key is made anew (the next device identity).
tpm2_evictcontrol -T "$TCTI" -C o -c 0x81000100 >/dev/null ||
    fail "cannot evict the foreign key"
tpm2d_start
pub3=$(tpm2d_call org.cml.TPM.IdentityPublic)
expect_eq "a new device key is made when there is none" present \
    "$(tpm2d_call org.cml.TPM.Status | json_get identity)"
if [ "$(json_get public_key <<<"$pub3")" = "$(json_get public_key <<<"$pub")" ]; then
	fail "the new device key is the old one (made from a fixed template)"
fi
tpm2d_stop

# Under ASan and UBSan, tpm2d reports what it found to its log.
expect_eq "tpm2d's log has no sanitizer report" "" \
    "$(grep -hE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SCRATCH/tpm2d.log")"

finish
