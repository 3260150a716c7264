#!/bin/bash
# cml-audit-verify checks an exported audit trail off the device with only
# the device certificate and its CA.  The exports are made here: a chain
# of records hashed as the spec lays the bytes out (by this test's own
# Python, not cml's code), checkpoints signed by a real tpm2d on swtpm
# through SignCheckpoint, and a device certificate the test's device CA
# issued for tpm2d's CSR.  A good export verifies (exit 0, the figures
# printed, from a file and from standard input); a record's field edited,
# a record deleted, two records reordered, a checkpoint's head edited, a
# record's shown time edited, the last records cut off each fail (exit 1)
# naming the right seq; a checkpoint signed by another key (made by
# openssl) is rejected; a certificate not from the CA, or for another
# device than the header names, is refused; an export whose oldest
# records were dropped verifies from its anchor checkpoint and says so,
# and is refused without it.  Usage errors and input that is no export
# exit 2.
# Proves: CR 3.9 (the hash chain and the TPM-signed checkpoints find an
# edited, deleted or reordered record and name it; a checkpoint signed by
# another key is rejected), CR 2.9 (a trail whose oldest records were
# dropped verifies from the signed checkpoint before the gap), CR 6.1 (an
# exported trail is verified off the device with only the device
# certificate and its CA).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm openssl python3
VERIFY=$CML_BUILDDIR/provisioning/cml-audit-verify
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] ||
    skip "no tpm2d at $CML_BUILDDIR/daemon/tpm2d/tpm2d: build first (or set CML_BUILDDIR)"
[ -x "$VERIFY" ] || skip "no cml-audit-verify at $VERIFY: build first"
[ -x "$MKPKI" ] || skip "no provisioning/cml-mkpki at $MKPKI"
make_scratch
export TSS2_LOG=all+none

UUID=0b7f0a4e-1111-4222-8333-444455556666
swtpm_start "$SCRATCH/swtpm"
tpm2d_up --seal-pcrs 7,16 || fail "tpm2d did not start"

# The device certificate: the test's device CA issues it for tpm2d's CSR;
# another PKI's device CA issues one for the same key.
pki_make "$SCRATCH/pki"
pki_make "$SCRATCH/pki2"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$SCRATCH/dev.ext"
tpm2d_call org.cml.TPM.CreateCSR "{\"subject\": \"/CN=$UUID/O=cml device\"}" |
    json_get parameters csr >"$SCRATCH/dev.csr" || fail "CreateCSR failed"
issue() {
	openssl x509 -req -in "$SCRATCH/dev.csr" -CA "$1/devca.crt" \
	    -CAkey "$1/devca.key" -set_serial "0x$(openssl rand -hex 8)" \
	    -days 30 -sha384 -extfile "$SCRATCH/dev.ext" -out "$2" 2>/dev/null ||
	    fail "openssl cannot issue $2"
}
issue "$SCRATCH/pki" "$SCRATCH/dev.crt"
issue "$SCRATCH/pki2" "$SCRATCH/foreign.crt"
CA=$SCRATCH/pki/devca.crt
SUBJECT=$(openssl x509 -in "$SCRATCH/dev.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
ISSUER=$(openssl x509 -in "$SCRATCH/dev.crt" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
# Another key, for checkpoints signed by someone else.
openssl ecparam -name prime256v1 -genkey -noout -out "$SCRATCH/other.key" 2>/dev/null ||
    fail "openssl cannot make a key"

# The generator and the tampering: export.py gen SOCK N EVERY OUT makes an
# export of N records with a checkpoint after every EVERY, signed by
# tpm2d at SOCK; export.py OP IN OUT ARGS... changes one.
cat >"$SCRATCH/export.py" <<'EOF'
import base64, hashlib, json, struct, subprocess, sys, time
sys.path.insert(0, sys.argv[-1])
ZERO = bytes(32)

def iso(ms, frac=True):
	t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
	return t + (".%03dZ" % (ms % 1000) if frac else "Z")

def s(x):
	b = x.encode()
	return struct.pack(">I", len(b)) + b

def rec_hash(prev, r):
	return hashlib.sha256(b"cml-audit-record-v1\0" + prev +
	    struct.pack(">qqqq", r["seq"], r["time_ms"], r["uid"], r["pid"]) +
	    s(r["type"]) + s(r["comm"]) + s(r["container"]) + s(r["object"]) +
	    s(r["result"]) + s(r["details"])).digest()

def cp_digest(seq, t, head):
	return hashlib.sha256(b"cml-audit-checkpoint-v1\0" +
	    struct.pack(">qq", seq, t) + head).digest()

def load(path):
	return [json.loads(l) for l in open(path)]

def save(lines, path):
	with open(path, "w") as f:
		for l in lines:
			f.write(json.dumps(l, ensure_ascii=False, separators=(",", ":")) + "\n")

def find(lines, kind, seq):
	for i, l in enumerate(lines):
		if l["kind"] == kind and l["seq"] == seq:
			return i
	raise SystemExit("no %s %d" % (kind, seq))

op = sys.argv[1]
if op == "gen":
	import varlink
	sock, n, every, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
	c = varlink.Connection(sock)
	types = ["container", "token", "verification", "config", "audit", "connection"]
	lines = [{"kind": "header", "format": "cml-audit-export-v1", "device": sys.argv[6],
	    "exported": iso(1767225700000, False), "first_seq": 1, "last_seq": n}]
	prev = ZERO
	for i in range(1, n + 1):
		t = 1767225600000 + 137 * i
		r = {"kind": "record", "seq": i, "time": iso(t), "time_ms": t,
		    "type": types[i % len(types)], "uid": 0 if i % 2 else 1000,
		    "pid": 4000 + i, "comm": ["cmlsh", "cmld", ""][i % 3],
		    "container": "web" if i % 4 == 0 else "",
		    "object": "object %d" % i, "result": "ok" if i % 5 else "failed",
		    "details": "details of %d: Gerät \"x\"" % i}
		h = rec_hash(prev, r)
		r["prev"], r["hash"] = prev.hex(), h.hex()
		lines.append(r)
		prev = h
		if i % every == 0:
			ct = t + 50
			rep = c.call("org.cml.TPM.SignCheckpoint",
			    {"seq": i, "time_ms": ct, "head": h.hex()})
			lines.append({"kind": "checkpoint", "seq": i, "time_ms": ct,
			    "time": iso(ct), "head": h.hex(),
			    "signature": rep["parameters"]["signature"]})
	save(lines, out)
	sys.exit(0)

lines = load(sys.argv[2])
out = sys.argv[3]
a = sys.argv[4:-1]
if op == "edit":			# edit SEQ FIELD VALUE
	r = lines[find(lines, "record", int(a[0]))]
	r[a[1]] = int(a[2]) if isinstance(r[a[1]], int) else a[2]
elif op == "delete":			# delete SEQ
	del lines[find(lines, "record", int(a[0]))]
elif op == "swap":			# swap SEQ SEQ
	i, j = find(lines, "record", int(a[0])), find(lines, "record", int(a[1]))
	lines[i], lines[j] = lines[j], lines[i]
elif op == "head":			# head SEQ: one bit of a checkpoint's head
	cp = lines[find(lines, "checkpoint", int(a[0]))]
	h = bytearray(bytes.fromhex(cp["head"]))
	h[7] ^= 1
	cp["head"] = h.hex()
elif op == "resign":			# resign SEQ KEY: signed by another key
	cp = lines[find(lines, "checkpoint", int(a[0]))]
	d = cp_digest(cp["seq"], cp["time_ms"], bytes.fromhex(cp["head"]))
	sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", a[1]],
	    input=d, capture_output=True, check=True).stdout
	cp["signature"] = base64.b64encode(sig).decode()
elif op == "anchor":			# anchor K [keep]: records 1..K dropped
	k = int(a[0])
	keep = len(a) < 2 or a[1] != "no-checkpoint"
	rest = [l for l in lines[1:] if l["seq"] > k or
	    (keep and l["kind"] == "checkpoint" and l["seq"] == k)]
	lines[0]["first_seq"] = k + 1
	lines = [lines[0]] + rest
elif op == "cut":			# cut N: the last N records gone
	n = int(a[0])
	last = lines[0]["last_seq"]
	lines = [l for l in lines if l["kind"] == "header" or l["seq"] <= last - n]
elif op == "set":			# set LINE FIELD JSON: any member of a line
	lines[int(a[0])][a[1]] = json.loads(a[2])
else:
	raise SystemExit("unknown op " + op)
save(lines, out)
EOF
ex() {
	python3 "$SCRATCH/export.py" "$@" "$CML_SRCDIR/tests/integration" ||
	    fail "export.py $1 failed"
}
ex gen "$TPM2D_SOCK" 25 8 "$SCRATCH/good.jsonl" "$UUID"

# verify EXPORT [OPTIONS...]: runs the verifier with the device
# certificate and the CA; sets $out (stdout and stderr) and $rc.
verify() {
	local e=$1
	shift
	out=$("$VERIFY" --cert "$SCRATCH/dev.crt" --ca "$CA" "$@" "$e" 2>&1)
	rc=$?
}

# --- a good export -------------------------------------------------------------
verify "$SCRATCH/good.jsonl"
expect_status "a good export verifies" 0 "$rc"
expect_eq "it says what it verified" "device certificate: $SUBJECT (issued by $ISSUER)
device: $UUID
verified 25 records (#1 to #25), 3 checkpoints signed by the device key $SUBJECT; 1 record after the last checkpoint is chained but not yet signed
audit trail: ok" "$out"
out=$("$VERIFY" --cert "$SCRATCH/dev.crt" --ca "$CA" - <"$SCRATCH/good.jsonl" 2>&1)
expect_status "from standard input too" 0 $?
out=$("$VERIFY" --cert "$SCRATCH/dev.crt" --ca "$CA" <"$SCRATCH/good.jsonl" 2>&1)
expect_match "without EXPORT it reads standard input" "audit trail: ok$" "$out"
ex cut "$SCRATCH/good.jsonl" "$SCRATCH/even.jsonl" 1
ex set "$SCRATCH/even.jsonl" "$SCRATCH/even.jsonl" 0 last_seq 24
verify "$SCRATCH/even.jsonl"
expect_match "ending at a checkpoint: nothing unsigned" \
    "verified 24 records \(#1 to #24\), 3 checkpoints signed by the device key [^;]*
audit trail: ok$" "$out"

# cmld's export shows whether each record was acknowledged (no part of
# the hash); an empty trail verifies; records without hashes do not.
python3 - "$SCRATCH/good.jsonl" "$SCRATCH/acked.jsonl" <<'EOF'
import json, sys
with open(sys.argv[2], "w") as f:
	for l in open(sys.argv[1]):
		o = json.loads(l)
		if o["kind"] == "record":
			o["acknowledged"] = o["seq"] < 5
		f.write(json.dumps(o) + "\n")
EOF
verify "$SCRATCH/acked.jsonl"
expect_status "records marked acknowledged or not verify" 0 "$rc"
ex set "$SCRATCH/acked.jsonl" "$SCRATCH/badack.jsonl" 2 acknowledged '"yes"'
verify "$SCRATCH/badack.jsonl"
expect_eq "acknowledged must be a boolean" \
    "cml-audit-verify: $SCRATCH/badack.jsonl: line 3: the record's 'acknowledged' is no boolean" "$out"
head -n 1 "$SCRATCH/good.jsonl" | sed 's/"last_seq":25/"last_seq":0/' >"$SCRATCH/empty-trail.jsonl"
verify "$SCRATCH/empty-trail.jsonl"
expect_status "an empty trail (last_seq 0) verifies" 0 "$rc"
expect_match "it says so" "verified no records, 0 checkpoints" "$out"
head -n 1 "$SCRATCH/good.jsonl" >"$SCRATCH/allgone.jsonl"
verify "$SCRATCH/allgone.jsonl"
expect_eq "a header naming records that are not there: refused" \
    "cml-audit-verify: the export holds no records, but its header says it holds #1 to #25" "$out"
python3 - "$SCRATCH/good.jsonl" "$SCRATCH/nohash.jsonl" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
del lines[3]["prev"], lines[3]["hash"]
open(sys.argv[2], "w").write("".join(json.dumps(o) + "\n" for o in lines))
EOF
verify "$SCRATCH/nohash.jsonl"
expect_status "a record without hashes: refused" 1 "$rc"
expect_eq "it says it cannot be verified" \
    "cml-audit-verify: record #3 carries no hash: it is not part of a chain and cannot be verified" "$out"

# --- tampering, each named ---------------------------------------------------------
# broken DESC OP ARGS... -- MESSAGE: the changed export fails with exit 1
# and exactly that message.
broken() {
	local desc=$1 want=${*: -1}
	shift
	ex "$1" "$SCRATCH/good.jsonl" "$SCRATCH/bad.jsonl" "${@:2:$#-3}"
	verify "$SCRATCH/bad.jsonl"
	expect_status "$desc: refused" 1 "$rc"
	expect_eq "$desc: named" "cml-audit-verify: $want" "$out"
}
broken "a record's details edited" edit 10 details "nothing happened" -- \
    "record #10: its hash does not match its contents"
broken "a record's uid edited" edit 11 uid 4242 -- \
    "record #11: its hash does not match its contents"
broken "a record's result edited" edit 20 result ok -- \
    "record #20: its hash does not match its contents"
broken "a record deleted" delete 12 -- \
    "record #13 follows #11: record #12 is missing or out of order"
broken "two records reordered" swap 14 15 -- \
    "record #15 follows #13: record #14 is missing or out of order"
broken "a checkpoint's head edited" head 16 -- \
    "checkpoint #16: its head is not the hash of record #16"
broken "a checkpoint signed by another key" resign 16 "$SCRATCH/other.key" -- \
    "checkpoint #16: its signature does not verify with the device key"
broken "the first checkpoint signed by another key" resign 8 "$SCRATCH/other.key" -- \
    "checkpoint #8: its signature does not verify with the device key"
broken "the last two records cut off" cut 2 -- \
    "the export ends at record #23, but its header says it holds records up to #25: records are missing at its end"
broken "a record's shown time edited" edit 5 time "2020-01-01T00:00:00.000Z" -- \
    "record #5: its time '2020-01-01T00:00:00.000Z' is not its time_ms 1767225600685 (2026-01-01T00:00:00.685Z)"

# The whole chain rewritten from record 10 on (every hash recomputed):
# the checkpoint signed over the old head fails.
python3 - "$SCRATCH/good.jsonl" "$SCRATCH/rewritten.jsonl" "$SCRATCH/export.py" <<'EOF'
import json, sys, types
src = open(sys.argv[3]).read().split("op = sys.argv[1]")[0]
m = types.ModuleType("x")
sys.argv = sys.argv + [""]
exec(src, m.__dict__)
lines = m.load(sys.argv[1])
prev = m.ZERO
for l in lines[1:]:
	if l["kind"] != "record":
		continue
	if l["seq"] == 10:
		l["details"] = "rewritten"
	l["prev"] = prev.hex()
	h = m.rec_hash(prev, l)
	l["hash"] = h.hex()
	prev = h
m.save(lines, sys.argv[2])
EOF
verify "$SCRATCH/rewritten.jsonl"
expect_status "a chain rewritten from record 10: refused" 1 "$rc"
expect_eq "it fails at the next signed checkpoint" \
    "cml-audit-verify: checkpoint #16: its head is not the hash of record #16" "$out"

# --- the certificate -----------------------------------------------------------------
out=$("$VERIFY" --cert "$SCRATCH/foreign.crt" --ca "$CA" "$SCRATCH/good.jsonl" 2>&1)
expect_status "a certificate not from the CA: refused" 1 $?
expect_match "it does not chain" \
    "^cml-audit-verify: the device certificate \(.*CN=$UUID, issued by .*\) does not chain to a CA given: " "$out"
ex set "$SCRATCH/good.jsonl" "$SCRATCH/otherdev.jsonl" 0 device '"99999999-2222-4333-8444-555555555555"'
verify "$SCRATCH/otherdev.jsonl"
expect_status "an export of another device than the certificate's: refused" 1 "$rc"
expect_match "it names the device" \
    "is not for device 99999999-2222-4333-8444-555555555555 \(its CN is not that UUID\)$" "$out"
out=$("$VERIFY" --cert "$SCRATCH/pki/devca.crt" --ca "$SCRATCH/pki/root.crt" "$SCRATCH/good.jsonl" 2>&1)
expect_status "a CA certificate as the device certificate: refused" 1 $?

# --- an anchored export (records 1 to 8 dropped) -----------------------------------
ex anchor "$SCRATCH/good.jsonl" "$SCRATCH/anchored.jsonl" 8
verify "$SCRATCH/anchored.jsonl"
expect_status "an export after dropped records verifies" 0 "$rc"
expect_eq "it starts from its anchor checkpoint and says so" "device certificate: $SUBJECT (issued by $ISSUER)
device: $UUID
the trail starts after dropped records: verified from checkpoint #8
verified 17 records (#9 to #25), 3 checkpoints signed by the device key $SUBJECT; 1 record after the last checkpoint is chained but not yet signed
audit trail: ok" "$out"
ex anchor "$SCRATCH/good.jsonl" "$SCRATCH/noanchor.jsonl" 8 no-checkpoint
verify "$SCRATCH/noanchor.jsonl"
expect_status "without its anchor: refused" 1 "$rc"
expect_eq "it says the anchor is missing" \
    "cml-audit-verify: record #9: the trail starts after dropped records but without the signed checkpoint #8 before them: records #1 to #8 are missing" "$out"
ex resign "$SCRATCH/anchored.jsonl" "$SCRATCH/badanchor.jsonl" 8 "$SCRATCH/other.key"
verify "$SCRATCH/badanchor.jsonl"
expect_eq "an anchor signed by another key: refused" \
    "cml-audit-verify: checkpoint #8: its signature does not verify with the device key" "$out"

# --- usage and input that is no export (exit 2) -------------------------------------
usage() {
	local desc=$1 want=$2
	shift 2
	out=$("$VERIFY" "$@" 2>&1)
	rc=$?
	expect_status "$desc" 2 "$rc"
	expect_match "$desc: says why" "$want" "$out"
}
usage "no --cert" "needs --cert FILE" --ca "$CA" "$SCRATCH/good.jsonl"
usage "no --ca" "needs at least one --ca FILE" --cert "$SCRATCH/dev.crt" "$SCRATCH/good.jsonl"
usage "two exports" "takes one EXPORT at most" --cert "$SCRATCH/dev.crt" --ca "$CA" a b
usage "an unknown option" "unknown option '--nope'" --nope
usage "an export that is not there" "$SCRATCH/none.jsonl: cannot open: No such file" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/none.jsonl"
usage "a certificate file that is not there" "cannot open" \
    --cert "$SCRATCH/none.crt" --ca "$CA" "$SCRATCH/good.jsonl"
: >"$SCRATCH/empty.jsonl"
usage "an empty export" "empty.jsonl is empty: not an audit export" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/empty.jsonl"
{ head -n 3 "$SCRATCH/good.jsonl"; echo 'not json'; } >"$SCRATCH/junk.jsonl"
usage "a line that is no JSON" "junk.jsonl: line 4 is no JSON object" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/junk.jsonl"
tail -n +2 "$SCRATCH/good.jsonl" >"$SCRATCH/nohead.jsonl"
usage "no header" "line 1 is no header" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/nohead.jsonl"
ex set "$SCRATCH/good.jsonl" "$SCRATCH/fmt.jsonl" 0 format '"cml-audit-export-v9"'
usage "another format" "the format 'cml-audit-export-v9' is not cml-audit-export-v1" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/fmt.jsonl"
ex set "$SCRATCH/good.jsonl" "$SCRATCH/extra.jsonl" 3 note '"trust me"'
usage "a member the format does not have" "line 4: a record has no member 'note'" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/extra.jsonl"
ex set "$SCRATCH/good.jsonl" "$SCRATCH/type.jsonl" 3 uid '"0"'
usage "a uid that is no integer" "line 4: the record's 'uid' is no integer" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/type.jsonl"
{ head -n 2 "$SCRATCH/good.jsonl"; sed -n 3p "$SCRATCH/good.jsonl" | sed 's/"seq":2,/"seq":2,"seq":2,/'; } >"$SCRATCH/twice.jsonl"
usage "a member given twice" "line 3 is no JSON object: .*twice" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/twice.jsonl"
{ head -n 2 "$SCRATCH/good.jsonl"; printf '{"kind":"record","details":"%070000d"}\n' 0; } >"$SCRATCH/long.jsonl"
usage "a line longer than 64 KiB" "line 3 is longer than 65536 bytes" \
    --cert "$SCRATCH/dev.crt" --ca "$CA" "$SCRATCH/long.jsonl"
out=$("$VERIFY" --help 2>&1)
expect_status "--help" 0 $?
expect_match "--help shows the usage" "^usage: cml-audit-verify --cert FILE --ca FILE" "$out"

tpm2d_down
finish
