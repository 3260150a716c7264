#!/bin/bash
# Remote attestation against a real swtpm and tpm2d: a reply shaped like
# `device attest NONCE`'s (tpm2d's Quote, a device certificate the test's
# device CA issued for tpm2d's CSR, and a measurement log of two container
# starts extended through tpm2d's Extend) is accepted by cml-attest, which
# prints each start; tpm2_checkquote (tpm2-tools) verifies the same quote
# with the AK's PEM, the nonce and the PCR values tpm2_pcrread reads from
# the TPM.  cml-attest rejects, naming what does not match: another nonce
# (a replayed attestation), a measurement log altered (a digest changed, a
# config hash changed, an entry removed, two entries swapped, out of seq
# order), a PCR value changed, a CA that did not issue the certificate,
# another UUID, no certificate, more than 8 certificates, the AK's
# certification by another device's key, another device's AK, a quote
# signed by another AK.  Entries of an earlier TPM reset are not replayed.  The certificate followed by its
# device CA verifies against the root alone.  Usage errors exit 2.
# Proves: CR 1.2 (the device certificate vouches for the AK and its
# quotes), CR 1.2(1) (the attestation names one device: its certificate
# and UUID), CR 1.9(1) (the quote and the certification are signed by
# keys that never leave the TPM; a restricted AK signs only what the TPM
# made), CR 3.4(1) (a verifier replays the measurement log of container
# starts against the quoted PCR and finds any change), CR 1.8 (the device
# certificate's chain checked up to the root the verifier gives).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm openssl python3 tpm2_checkquote tpm2_pcrread
TPM2D=$CML_BUILDDIR/daemon/tpm2d/tpm2d
ATTEST=$CML_BUILDDIR/provisioning/cml-attest
[ -x "$TPM2D" ] || skip "no tpm2d at $TPM2D: build first (or set CML_BUILDDIR)"
[ -x "$ATTEST" ] || skip "no cml-attest at $ATTEST: build first"
[ -x "$MKPKI" ] || skip "no provisioning/cml-mkpki at $MKPKI"
make_scratch
export TSS2_LOG=all+none

UUID=0b7f0a4e-1111-4222-8333-444455556666
NONCE=00112233445566778899aabbccddeeff
declare -A TPM2D_PIDS

# dev_start NAME: starts a swtpm and a tpm2d of their own for device NAME
# in $SCRATCH/NAME (a swtpm already there is kept).
dev_start() {
	local d=$SCRATCH/$1 line
	mkdir -p "$d/swtpm" "$d/root"
	if [ ! -S "$d/swtpm/sock" ]; then
		swtpm socket --tpm2 --tpmstate "dir=$d/swtpm" \
		    --server "type=unixio,path=$d/swtpm/sock" \
		    --ctrl "type=unixio,path=$d/swtpm/sock.ctrl" \
		    --flags not-need-init,startup-clear --daemon \
		    --pid "file=$d/swtpm/pid" || fail "swtpm did not start"
		track_pid "$(cat "$d/swtpm/pid")"
	fi
	exec 3< <(exec "$TPM2D" --root "$d/root" \
	    --tcti "swtpm:path=$d/swtpm/sock" --seal-pcrs 7,16 \
	    --foreground --ready-fd 4 4>&1 >>"$d/tpm2d.log" 2>&1 </dev/null)
	TPM2D_PIDS[$1]=$!
	track_pid "$!"
	if ! IFS= read -r -t 10 -u 3 line || [ "$line" != READY=1 ]; then
		exec 3<&-
		tail -n 20 "$d/tpm2d.log" >&2
		fail "tpm2d of $1 did not become ready"
	fi
	exec 3<&-
}

# dev_stop NAME: stops the tpm2d of device NAME (its swtpm runs on).
dev_stop() {
	local pid=${TPM2D_PIDS[$1]} i
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "tpm2d of $1 did not stop"
	untrack_pid "$pid"
}

# call NAME METHOD [PARAMS]: the reply's parameters from device NAME's
# tpm2d (the test fails on an error).
call() {
	local dev=$1 out
	shift
	out=$(varlink_run "$SCRATCH/$dev/root/run/cml/tpm2d.sock" call "$@") ||
	    fail "tpm2d of $dev answered $1 with $out"
	json_get parameters <<<"$out"
}

dev_start dev
dev_start other

# The device certificate: the test's device CA issues it for tpm2d's CSR.
pki_make "$SCRATCH/pki"
pki_make "$SCRATCH/pki2"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$SCRATCH/dev.ext"
issue() {
	local dev=$1 pki=$2 subject=$3
	call "$dev" org.cml.TPM.CreateCSR "{\"subject\": \"$subject\"}" |
	    json_get csr >"$SCRATCH/$dev.csr"
	openssl x509 -req -in "$SCRATCH/$dev.csr" -CA "$pki/devca.crt" \
	    -CAkey "$pki/devca.key" -CAcreateserial -days 30 -sha384 \
	    -extfile "$SCRATCH/dev.ext" -out "$SCRATCH/$dev.crt" 2>/dev/null ||
	    fail "openssl cannot issue the certificate of $dev"
}
issue dev "$SCRATCH/pki" "/CN=$UUID/O=cml device"
issue other "$SCRATCH/pki" "/CN=11111111-2222-4333-8444-555555555555/O=cml device"

# Two container starts, measured as cmld measures them, through Extend.
mpcr=$(call dev org.cml.TPM.Status | json_get measure_pcr)
log=$(python3 - "$SCRATCH/dev/root/run/cml/tpm2d.sock" "$CML_SRCDIR/tests/integration" <<'EOF'
import hashlib, json, sys
sys.path.insert(0, sys.argv[2])
import varlink
c = varlink.Connection(sys.argv[1])
log = []
for seq, (ct, g, v) in enumerate([("web", "busybox", "1.36"), ("db", "alpine", "3.19")], 1):
	mh = hashlib.sha256(("manifest of %s %s" % (g, v)).encode()).digest()
	ch = hashlib.sha256(("config of %s" % ct).encode()).digest()
	d = hashlib.sha256(mh + ch).digest()
	r = c.call("org.cml.TPM.Extend", {"digest": d.hex()})
	p = r["parameters"]
	log.append({"seq": seq, "time": "2026-12-03T04:00:00.000Z",
	    "reset_count": p["reset_count"], "container": ct, "guestos": g,
	    "version": v, "manifest_hash": mh.hex(), "config_hash": ch.hex(),
	    "digest": d.hex(), "pcr": p["pcr"]["value"]})
print(json.dumps(log))
EOF
) || fail "cannot extend through tpm2d"

# reply DEV NONCE LOG [CERT]: a reply as device attest gives it.
reply() {
	local dev=$1 nonce=$2 lg=$3 cert=${4-$SCRATCH/$1.crt}
	call "$dev" org.cml.TPM.Quote "{\"nonce\": \"$nonce\"}" |
	    python3 -c 'import json, sys
q = json.load(sys.stdin)
q["uuid"] = sys.argv[1]
q["measure_pcr"] = int(sys.argv[2])
q["log"] = json.loads(sys.argv[3])
if sys.argv[4]:
	q["certificate"] = open(sys.argv[4]).read()
print(json.dumps(q, indent=1))' "$UUID" "$mpcr" "$lg" "$cert"
}
reply dev "$NONCE" "$log" >"$SCRATCH/reply.json"

out=$("$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce "$NONCE" --uuid "$UUID" \
    "$SCRATCH/reply.json" 2>&1)
expect_status "cml-attest accepts the attestation" 0 $?
ch_web=$(python3 -c 'import hashlib; print(hashlib.sha256(b"config of web").hexdigest()[:12])')
ch_db=$(python3 -c 'import hashlib; print(hashlib.sha256(b"config of db").hexdigest()[:12])')
expect_lines "cml-attest prints the device, the quote and each start" "$out" \
    "^device certificate: O=cml device,CN=$UUID \(issued by CN=cml device CA,O=cml\)$" \
    "^device: $UUID$" \
    "^quote: PCRs 7, $mpcr, 16 \(sha256\), TPM reset [0-9]+, measurement PCR $mpcr$" \
    "^container web: guest OS busybox 1.36, config $ch_web$" \
    "^container db: guest OS alpine 3.19, config $ch_db$" \
    "^attestation: ok$"
out=$("$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce "$NONCE" <"$SCRATCH/reply.json" 2>&1)
expect_status "cml-attest reads standard input, without --uuid" 0 $?
python3 -c 'import json, sys
print(json.dumps({"parameters": json.load(open(sys.argv[1]))}))' \
    "$SCRATCH/reply.json" >"$SCRATCH/reply-message.json"
out=$("$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce "$NONCE" \
    "$SCRATCH/reply-message.json" 2>&1)
expect_status "cml-attest takes a whole reply message too" 0 $?

# tpm2_checkquote verifies the same quote, with the PCR values the TPM
# itself gives tpm2_pcrread (while tpm2d is stopped: one client at a time).
python3 - "$SCRATCH/reply.json" "$SCRATCH" <<'EOF'
import base64, json, sys
q = json.load(open(sys.argv[1]))
d = sys.argv[2]
open(d + "/quote.bin", "wb").write(base64.b64decode(q["quote"]))
open(d + "/quote.sig", "wb").write(base64.b64decode(q["signature"]))
open(d + "/ak.pem", "w").write(q["ak_pem"])
open(d + "/pcrs.txt", "w").write(",".join(str(p["index"]) for p in q["pcrs"]))
EOF
dev_stop dev
pcrlist=$(cat "$SCRATCH/pcrs.txt")
tpm2_pcrread -T "swtpm:path=$SCRATCH/dev/swtpm/sock" "sha256:$pcrlist" \
    -o "$SCRATCH/pcrs.bin" >"$SCRATCH/pcrread.txt" 2>&1 || fail "tpm2_pcrread failed"
out=$(tpm2_checkquote -u "$SCRATCH/ak.pem" -m "$SCRATCH/quote.bin" \
    -s "$SCRATCH/quote.sig" -q "$NONCE" -g sha256 -f "$SCRATCH/pcrs.bin" \
    -l "sha256:$pcrlist" 2>&1)
expect_status "tpm2_checkquote verifies the quote (AK, nonce, PCR values read from the TPM)" 0 $?
out=$(tpm2_checkquote -u "$SCRATCH/ak.pem" -m "$SCRATCH/quote.bin" \
    -s "$SCRATCH/quote.sig" -q "ffeeddccbbaa99887766554433221100" -g sha256 2>&1)
expect_status "tpm2_checkquote refuses another nonce" 1 $?
python3 - "$SCRATCH/reply.json" "$SCRATCH/pcrread.txt" "$mpcr" <<'EOF' || fail "the quoted PCR values are not those tpm2_pcrread reads"
import json, re, sys
q = json.load(open(sys.argv[1]))
tools = {int(i): v.lower() for i, v in re.findall(r"^\s*(\d+)\s*:\s*0x([0-9A-Fa-f]{64})", open(sys.argv[2]).read(), re.M)}
mine = {p["index"]: p["value"] for p in q["pcrs"]}
sys.exit(0 if mine == tools else 1)
EOF
dev_start dev

# reject DESC PATTERN [CML-ATTEST-ARGS...] < reply: exit 1 and the message.
reject() {
	local desc=$1 want=$2 out rc
	shift 2
	out=$("$ATTEST" "$@" 2>&1)
	rc=$?
	expect_status "cml-attest rejects $desc" 1 "$rc"
	expect_match "... and says: $want" "^cml-attest: $want" "$out"
}

# A replayed attestation: the reply of another nonce.
reject "a replayed attestation (another nonce)" \
    "the nonce does not match: expected ffeeddccbbaa99887766554433221100, quoted $NONCE" \
    --ca "$SCRATCH/pki/devca.crt" --nonce ffeeddccbbaa99887766554433221100 \
    "$SCRATCH/reply.json"

# mutate PYTHON-EXPR: the reply with q changed by the expression(s).
mutate() {
	python3 -c 'import json, sys
q = json.load(open(sys.argv[1]))
exec(sys.argv[2])
print(json.dumps(q))' "$SCRATCH/reply.json" "$1" >"$SCRATCH/bad.json" ||
	    fail "cannot alter the reply: $1"
}
ok_args=(--ca "$SCRATCH/pki/devca.crt" --nonce "$NONCE" --uuid "$UUID" "$SCRATCH/bad.json")

mutate 'q["log"][1]["digest"] = "00" * 32'
reject "a log entry whose digest was changed" \
    "the measurement log does not replay: entry 2 \(db\) has digest 0{64}, but SHA-256\(manifest_hash \|\| config_hash\) is [0-9a-f]{64}$" \
    "${ok_args[@]}"
mutate 'import hashlib
e = q["log"][0]; e["config_hash"] = hashlib.sha256(b"another config").hexdigest()
e["digest"] = hashlib.sha256(bytes.fromhex(e["manifest_hash"]) + bytes.fromhex(e["config_hash"])).hexdigest()'
reject "a log entry for another config (digest made to fit)" \
    "the measurement log does not replay: after entry 1 \(web\) PCR $mpcr would be [0-9a-f]{64}, the entry says [0-9a-f]{64}$" \
    "${ok_args[@]}"
mutate 'del q["log"][0]'
reject "a log with an entry removed" \
    "the measurement log does not replay: after entry 2 \(db\) PCR $mpcr would be [0-9a-f]{64}, the entry says" \
    "${ok_args[@]}"
mutate 'del q["log"][1]'
reject "a log with its last entry removed" \
    "the measurement log does not replay: after entry 1 \(web\) PCR $mpcr would be [0-9a-f]{64}, quoted [0-9a-f]{64}$" \
    "${ok_args[@]}"
mutate 'a, b = q["log"]
for k in ("container", "guestos", "version", "manifest_hash", "config_hash", "digest"):
	a[k], b[k] = b[k], a[k]'
reject "a log with two starts swapped" \
    "the measurement log does not replay: after entry 1 \(db\) PCR $mpcr would be" \
    "${ok_args[@]}"
mutate 'q["log"].reverse()'
reject "a log out of seq order" \
    "the measurement log is not in seq order: entry 1 after entry 2$" \
    "${ok_args[@]}"
mutate 'q["log"] = [dict(q["log"][0], seq=0, reset_count=q["log"][0]["reset_count"] - 1, container="old", digest="11" * 32, pcr="22" * 32)] + q["log"]'
out=$("$ATTEST" "${ok_args[@]}" 2>&1)
expect_status "entries of an earlier TPM reset are not replayed" 0 $?
expect_match "... nor shown" "^device certificate" "$(grep -v 'container old' <<<"$out")"
mutate 'q["log"] = []'
reject "an empty log while starts were measured" \
    "the measurement log does not replay: it has no entry of TPM reset [0-9]+, so PCR $mpcr would be 0{64}, quoted" \
    "${ok_args[@]}"
mutate 'for p in q["pcrs"]:
	if p["index"] == 16: p["value"] = "ab" * 32'
reject "a PCR value changed" \
    "the PCR values do not match the quote: their digest is [0-9a-f]{64}, quoted [0-9a-f]{64}$" \
    "${ok_args[@]}"

# The certificate: another CA, another device, none.
reject "a certificate that does not chain to the CA given" \
    "the device certificate \(O=cml device,CN=$UUID, issued by CN=cml device CA,O=cml\) does not chain to a CA given" \
    --ca "$SCRATCH/pki2/devca.crt" --nonce "$NONCE" "$SCRATCH/reply.json"
reject "another UUID" \
    "the device certificate \(O=cml device,CN=$UUID\) is not for device 99999999-2222-4333-8444-555555555555" \
    --ca "$SCRATCH/pki/devca.crt" --nonce "$NONCE" \
    --uuid 99999999-2222-4333-8444-555555555555 "$SCRATCH/reply.json"
mutate 'del q["certificate"]'
reject "a reply without a device certificate" \
    "the reply carries no device certificate" "${ok_args[@]}"

# The certificate followed by its device CA, as device attest gives it
# when the certificate was installed with it: the root alone verifies it,
# and not the certificate without it; more than 8 certificates are
# refused.
mutate 'q["certificate"] += open(sys.argv[1].replace("reply.json", "pki/devca.crt")).read()'
out=$("$ATTEST" --ca "$SCRATCH/pki/root.crt" --nonce "$NONCE" --uuid "$UUID" \
    "$SCRATCH/bad.json" 2>&1)
expect_status "the certificate with its device CA: the root alone verifies it" 0 $?
expect_match "... attestation: ok" "(^|
)attestation: ok$" "$out"
reject "the certificate without its device CA, against the root alone" \
    "the device certificate \(O=cml device,CN=$UUID, issued by CN=cml device CA,O=cml\) does not chain to a CA given" \
    --ca "$SCRATCH/pki/root.crt" --nonce "$NONCE" "$SCRATCH/reply.json"
mutate 'q["certificate"] += open(sys.argv[1].replace("reply.json", "pki/devca.crt")).read() * 8'
reject "a certificate followed by 8 more" \
    "the reply's device certificate holds more than 8 certificates" \
    "${ok_args[@]}"

# Another device's parts: its key certifying our AK, its AK, its quote.
reply other "$NONCE" "$log" >"$SCRATCH/other.json"
mutate 'o = json.load(open(sys.argv[1].replace("reply.json", "other.json")))
q["certify_info"] = o["certify_info"]; q["certify_signature"] = o["certify_signature"]'
reject "an AK certified by another key (another device's)" \
    "the AK's certification is not signed by the device certificate's key" \
    "${ok_args[@]}"
mutate 'o = json.load(open(sys.argv[1].replace("reply.json", "other.json")))
q["ak_public"] = o["ak_public"]; q["ak_pem"] = o["ak_pem"]'
reject "another AK than the one certified" \
    "the certification is not of the AK: the AK's name is [0-9a-f]+, certified [0-9a-f]+$" \
    "${ok_args[@]}"
mutate 'o = json.load(open(sys.argv[1].replace("reply.json", "other.json")))
q["signature"] = o["signature"]'
reject "a quote signed by another AK" \
    "the quote is not signed by the AK" "${ok_args[@]}"
mutate 'q["ak_pem"] = open(sys.argv[1].replace("reply.json", "pki/root.crt")).read()'
reject "an ak_pem that is not the AK" "the reply's ak_pem is no PEM public key" "${ok_args[@]}"

# Usage errors.
"$ATTEST" --nonce "$NONCE" "$SCRATCH/reply.json" >/dev/null 2>&1
expect_status "cml-attest without --ca is a usage error" 2 $?
"$ATTEST" --ca "$SCRATCH/pki/devca.crt" "$SCRATCH/reply.json" >/dev/null 2>&1
expect_status "cml-attest without --nonce is a usage error" 2 $?
"$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce 0011 "$SCRATCH/reply.json" >/dev/null 2>&1
expect_status "cml-attest with a nonce of 2 bytes is a usage error" 2 $?
"$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce xyz "$SCRATCH/reply.json" >/dev/null 2>&1
expect_status "cml-attest with a nonce that is no hex is a usage error" 2 $?
"$ATTEST" --bogus >/dev/null 2>&1
expect_status "cml-attest with an unknown option is a usage error" 2 $?
out=$("$ATTEST" --help 2>&1)
expect_match "cml-attest --help shows the usage" "^usage: cml-attest --ca FILE" "$out"
out=$(echo 'not json' | "$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce "$NONCE" 2>&1)
expect_match "cml-attest says when the input is no JSON" "^cml-attest: the reply is no JSON object$" "$out"

dev_stop dev
dev_stop other

# Under ASan and UBSan, tpm2d reports what it found to its log.
expect_eq "tpm2d's log has no sanitizer report" "" \
    "$(grep -hE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SCRATCH/dev/tpm2d.log" "$SCRATCH/other/tpm2d.log")"

finish
