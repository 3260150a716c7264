#!/bin/bash
# Measured start against a real swtpm behind tpm2d: two containers started
# leave two entries in the measurement log, each with the SHA-256 of the
# guest OS manifest and of the config the test wrote (computed here with
# sha256sum), the digest SHA-256(manifest_hash || config_hash), and the
# PCR value after its extend; replaying the log from zero gives the value
# tpm2d reads back from the measurement PCR (ReadPCRs) and the value the
# last entry recorded.  With tpm2d stopped a start is refused at once
# ("cannot measure the start: tpm2d is not running"), the container does
# not run, no entry is logged, and the refusal is audited.  Once tpm2d is
# back the container starts and the log replays again.  A start while
# tpm2d does not answer (stopped) is refused when the call times out; the
# extend tpm2d does once it runs again is found by the next start's and
# logged (audited), so the log replays still; likewise when cmld is
# killed while tpm2d has yet to do the extend (the next cmld finds it).
# `device attest` gives the log of the TPM's current reset and the PCR it
# quoted, and cml-attest verifies that evidence (with a device
# certificate from the test's device CA) and refuses it once a log entry
# is altered.  c0 is
# measured too: after the whole stack restarted (swtpm too: a TPM reset)
# c0 starts, and the evidence holds the new reset's log, c0's entry alone.
# Proves: CR 3.4(1) (a container's guest OS manifest and config are
# measured into a TPM PCR before its init runs, logged, and the log replays
# to the PCR; no start without a measurement), COM 04 (the quote and the
# measurement log verified by a remote verifier).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup
need_prog sha256sum sqlite3 python3 openssl

db=$(state_dir)/cml.db
a=$(ct_name ms-a)
b=$(ct_name ms-b)
ct_create "$a" '{"name":"'"$a"'","guestos":{"name":"busybox"},"hostname":"a"}'
ct_create "$b" '{"name":"'"$b"'","guestos":{"name":"busybox"},"hostname":"b"}'

# The hashes the test expects: the manifest it signed, the configs it wrote.
mh=$(sha256sum "$CT_GUESTOS/manifest.json" | cut -d' ' -f1)
cha=$(sha256sum "$SCRATCH/$a.json" | cut -d' ' -f1)
chb=$(sha256sum "$SCRATCH/$b.json" | cut -d' ' -f1)
# digest MANIFEST_HASH CONFIG_HASH: SHA-256 of the two raw hashes
digest() {
	python3 -c 'import hashlib, sys
print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())' "$1" "$2"
}
# replay DIGEST...: the PCR after extending zeros with each digest
replay() {
	python3 -c 'import hashlib, sys
v = bytes(32)
for d in sys.argv[1:]:
    v = hashlib.sha256(v + bytes.fromhex(d)).digest()
print(v.hex())' "$@"
}
# log: the measurement log, one entry a line
log() {
	sqlite3 "$db" ".timeout 5000" "select container, guestos, version, \
	    manifest_hash, config_hash, digest, pcr, pcr_value from measurement \
	    where pcr_value is not null order by seq"
}
# pcr N: the sha256 value of PCR N as tpm2d reads it
pcr() {
	varlink_run "$STACK_DIR/run/cml/tpm2d.sock" call org.cml.TPM.ReadPCRs \
	    "{\"pcrs\": [$1]}" | json_get parameters pcrs 0 value
}
da=$(digest "$mh" "$cha")
db_=$(digest "$mh" "$chb")

# --- two starts, two entries -----------------------------------------------
expect_eq "the log is empty before any start" "" "$(log)"
ct_start "$a"
ct_start "$b"
mpcr=$(sqlite3 "$db" "select pcr from measurement order by seq limit 1")
[ -n "$mpcr" ] || fail "no measurement logged"
v1=$(replay "$da")
v2=$(replay "$da" "$db_")
expect_eq "two entries: the right hashes, digest and PCR values" \
"$a|busybox|1.0|$mh|$cha|$da|$mpcr|$v1
$b|busybox|1.0|$mh|$chb|$db_|$mpcr|$v2" "$(log)"
expect_eq "the PCR read back equals the replay of the log" "$v2" "$(pcr "$mpcr")"

# --- tpm2d down: no start --------------------------------------------------
tpid=$(tpm2d_pid) || fail "cannot find this stack's tpm2d"
# its command line, to start it again the same way
mapfile -d '' targv <"/proc/$tpid/cmdline"
_run_tool "container stop $a" "$CMLSH" --socket "$SOCK" container stop "$a"
kill "$tpid"
for _ in $(seq 100); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$tpid" 2>/dev/null && fail "tpm2d did not end"
n0=$(audit_count)
out=$(cmlsh_run container start "$a" 2>&1)
expect_status "start without tpm2d refused" 1 $?
expect_match "the refusal says why" \
    "container '$a' did not start: cannot measure the start: tpm2d is not running" "$out"
expect_eq "it does not run" "no" \
    "$([ "$(ct_state "$a")" = running ] && echo yes || echo no)"
expect_match "its reason names the measurement" \
    "^cannot measure the start: tpm2d is not running" "$(ct_show "$a" reason)"
expect_eq "no entry logged" "2" \
    "$(sqlite3 "$db" "select count(*) from measurement where pcr_value is not null")"
expect_match "the refusal is audited" \
    "type=call uid=0 container=$a object=org.cml.Container.Start result=org.cml.Error.Failed details=[^|]*cannot measure the start: tpm2d is not running" \
    "$(cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"][int(sys.argv[1]):]:
    print("type=%s uid=%s container=%s object=%s result=%s details=%s|" % (
        r["type"], r["uid"], r["container"], r["object"], r["result"],
        r["details"]))' "$n0")"

# --- tpm2d back: the start is measured again ---------------------------------
tpm2d_argv=()
skip_next=0
for w in "${targv[@]}"; do
	if [ "$skip_next" = 1 ]; then
		skip_next=0
		continue
	fi
	case "$w" in
	--foreground | -f) ;;
	--ready-fd) skip_next=1 ;;
	*) tpm2d_argv+=("$w") ;;
	esac
done
"${tpm2d_argv[@]}" --foreground >>"$STACK_DIR/log/tpm2d.log" 2>&1 </dev/null &
track_pid $!
for _ in $(seq 100); do
	[ "$(cmlsh_run --json device status 2>/dev/null | json_get stages tpm2d)" = up ] && break
	sleep 0.1
done
ct_start "$a"
v3=$(replay "$da" "$db_" "$da")
expect_eq "three entries replay to the PCR" "$v3" "$(pcr "$mpcr")"
expect_eq "the last entry records that value" "$v3" \
    "$(sqlite3 "$db" "select pcr_value from measurement where pcr_value is not null order by seq desc limit 1")"

# --- tpm2d too slow: the start is refused, its late extend logged after all ---
_run_tool "container stop $b" "$CMLSH" --socket "$SOCK" container stop "$b"
tpid=$(tpm2d_pid) || fail "cannot find this stack's tpm2d"
pending0=$(sqlite3 "$db" "select count(*) from measurement where pcr_value is null")
kill -STOP "$tpid"
out=$(cmlsh_run container start "$b" 2>&1)
rc=$?
kill -CONT "$tpid"
expect_status "start while tpm2d does not answer: refused" 1 "$rc"
expect_match "it says tpm2d did not answer" \
    "cannot measure the start: tpm2d did not answer org\.cml\.TPM\.Extend within" "$out"
expect_eq "its entry is pending, not listed" "$((pending0 + 1))" \
    "$(sqlite3 "$db" "select count(*) from measurement where pcr_value is null")"
# tpm2d does the extend it read before it was stopped once it runs again
sleep 1
ct_start "$b"
v5=$(replay "$da" "$db_" "$da" "$db_" "$db_")
expect_eq "the late extend was found: the log replays to the PCR" "$v5" "$(pcr "$mpcr")"
expect_eq "it is no longer pending; five entries" "$pending0 5" \
    "$(sqlite3 "$db" "select sum(pcr_value is null) || ' ' || sum(pcr_value is not null) from measurement")"
expect_match "the late extend is audited" \
    "the extend of measurement log entry [0-9]+ \(digest $db_\) was found in PCR $mpcr after all" \
    "$(cmlsh_run --json -c 'audit list' | python3 -c 'import json, sys
print("\n".join(r["details"] or "" for r in json.load(sys.stdin)["records"]))')"

# --- cmld killed while tpm2d has yet to extend: the next cmld logs it ------------
_run_tool "container stop $b" "$CMLSH" --socket "$SOCK" container stop "$b"
pending0=$(sqlite3 "$db" "select count(*) from measurement where pcr_value is null")
tpid=$(tpm2d_pid) || fail "cannot find this stack's tpm2d"
kill -STOP "$tpid"
cmlsh_run container start "$b" >/dev/null 2>&1 &
spid=$!
for _ in $(seq 100); do
	[ "$(sqlite3 "$db" "select count(*) from measurement where pcr_value is null")" -gt "$pending0" ] && break
	sleep 0.05
done
cpid=$(cmld_pid) || fail "cannot find this stack's cmld"
kill -KILL "$cpid"
wait "$spid"
kill -CONT "$tpid"
sleep 1
stack_start
ct_start "$b"
v7=$(replay "$da" "$db_" "$da" "$db_" "$db_" "$db_" "$db_")
expect_eq "the extend cmld did not live to log is found: the log replays" "$v7" "$(pcr "$mpcr")"
expect_eq "seven entries" "7" \
    "$(sqlite3 "$db" "select count(*) from measurement where pcr_value is not null")"

# --- device attest: the log of this reset, verified by cml-attest ------------
# The device certificate, from the test's device CA, for cml-attest.
cmlsh_run -c 'device csr' >"$SCRATCH/dev.csr" || fail "device csr failed"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$SCRATCH/ext"
openssl x509 -req -in "$SCRATCH/dev.csr" -CA "$SCRATCH/pki/devca.crt" \
    -CAkey "$SCRATCH/pki/devca.key" -set_serial 7 -days 30 -sha384 \
    -extfile "$SCRATCH/ext" -out "$SCRATCH/dev.crt" >/dev/null 2>&1 ||
    fail "cannot sign the device's request"
_run_tool "ca add devca" "$CMLSH" --socket "$SOCK" ca add "$SCRATCH/pki/devca.crt"
_run_tool "device cert install" "$CMLSH" --socket "$SOCK" device cert install "$SCRATCH/dev.crt"
uuid=$(cmlsh_run --json device status | json_get uuid)
nonce=$(openssl rand -hex 20)
cmlsh_run --json -c "device attest $nonce" >"$SCRATCH/attest.json" 2>"$SCRATCH/attest.err"
expect_status "device attest" 0 $?
expect_eq "attest: the log's entries, in order" "$a $da
$b $db_
$a $da
$b $db_
$b $db_
$b $db_
$b $db_" "$(python3 -c 'import json, sys
for e in json.load(sys.stdin)["log"]:
    print(e["container"], e["digest"])' <"$SCRATCH/attest.json")"
expect_eq "attest: the measurement PCR" "$mpcr" "$(json_get measure_pcr <"$SCRATCH/attest.json")"
expect_eq "attest: the quoted measurement PCR equals the replay" "$v7" \
    "$(python3 -c 'import json, sys
a = json.load(sys.stdin)
print([p["value"] for p in a["pcrs"] if p["index"] == a["measure_pcr"]][0])' <"$SCRATCH/attest.json")"
ATTEST=$CML_BUILDDIR/provisioning/cml-attest
if [ -x "$ATTEST" ]; then
	out=$("$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce "$nonce" --uuid "$uuid" \
	    "$SCRATCH/attest.json" 2>&1)
	expect_status "cml-attest verifies the evidence" 0 $?
	expect_match "cml-attest names each container's guest OS" \
	    "$a.*busybox.*1\.0.*
.*attestation: ok" "$out"
	# a log whose first digest was altered no longer replays
	python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))
a["log"][0]["digest"] = "00" * 32
json.dump(a, open(sys.argv[2], "w"))' "$SCRATCH/attest.json" "$SCRATCH/altered.json"
	out=$("$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce "$nonce" --uuid "$uuid" \
	    "$SCRATCH/altered.json" 2>&1)
	expect_status "cml-attest refuses an altered log" 1 $?
else
	echo "# no cml-attest in $CML_BUILDDIR/provisioning: evidence not verified" >&2
fi

# --- c0, after a restart of the whole stack (a TPM reset) -----------------------
reset1=$(json_get reset_count <"$SCRATCH/attest.json")
_run_tool "device config set c0_guestos" "$CMLSH" --socket "$SOCK" device config set c0_guestos busybox
ct_track c0
stack_stop
stack_start
expect_eq "c0 starts" running "$(ct_wait_state c0 running)"
ch0=$(sqlite3 "$db" "select hex(config) from container where name = 'c0'" |
    python3 -c 'import hashlib, sys; print(hashlib.sha256(bytes.fromhex(sys.stdin.read().strip())).hexdigest())')
d0=$(digest "$mh" "$ch0")
nonce=$(openssl rand -hex 16)
cmlsh_run --json -c "device attest $nonce" >"$SCRATCH/attest2.json" 2>"$SCRATCH/attest.err"
expect_status "device attest after the restart" 0 $?
expect_eq "a new TPM reset, whose log holds c0's start alone" "$((reset1 + 1)) c0 $d0 $(replay "$d0")" \
    "$(python3 -c 'import json, sys
a = json.load(sys.stdin)
print(a["reset_count"], " ".join("%s %s %s" % (e["container"], e["digest"], e["pcr"]) for e in a["log"]))' <"$SCRATCH/attest2.json")"
expect_eq "the PCR read back is c0's replay" "$(replay "$d0")" "$(pcr "$mpcr")"
expect_eq "the earlier reset's entries are kept" "8" \
    "$(sqlite3 "$db" "select count(*) from measurement where pcr_value is not null")"
if [ -x "$ATTEST" ]; then
	out=$("$ATTEST" --ca "$SCRATCH/pki/devca.crt" --nonce "$nonce" --uuid "$uuid" \
	    "$SCRATCH/attest2.json" 2>&1)
	expect_status "cml-attest verifies c0's start" 0 $?
fi

finish
