#!/bin/bash
# The audit trail's room, review and tamper evidence, against a real
# tpm2d on swtpm whose device key signs the checkpoints (its certificate
# from a test PKI installed):
#   - records carry the subject's command; `audit show` gives one whole
#     with its chain; `audit ack` SEQ and --up-to SEQ;
#   - the first and the second threshold each give one record and one
#     notice to a client following the trail (`audit follow --notices`)
#     and to an interactive cmlsh waiting at its prompt (printed above
#     it, the line being typed kept), at the first commit past them, in
#     order;
#   - full with audit_full_action refuse: state-changing commands are
#     refused (AuditFull) while audit status, list, export and ack still
#     work; a larger capacity (an audit_* setting is served) lifts it;
#   - full with drop-acknowledged: nothing unacknowledged is dropped (the
#     trail refuses instead); once acknowledged, the oldest records go,
#     whole checkpoint intervals, with a record saying so; `audit verify`
#     then starts from the signed checkpoint before the gap and says so,
#     and an export starts with that checkpoint;
#   - editing, deleting or reordering a row, and a checkpoint signed by
#     another key, make `audit verify` fail (exit 1) naming the record or
#     checkpoint; the failure is recorded as an integrity violation and
#     pushed to followers at once.
# Proves: CR 2.9, CR 2.9(1) (capacity, thresholds, action when full),
# CR 3.9 (hash chain, TPM-signed checkpoints, verify), CR 6.1 (review:
# show, ack, status, follow, export), CR 3.4(2) (integrity violations
# pushed to clients at once, also to an interactive cmlsh at its prompt), CR 2.12 (the subject's command), TSF.AUDIT.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 sqlite3 openssl script
need_guestos_tools
stack_start
DB=$STACK_DIR/var/lib/cml/audit.db

device_cert_setup "$SCRATCH/pki"
set_cfg() {
	cmlsh_run -c "device config set $1 $2" >/dev/null 2>"$SCRATCH/err" ||
	    fail "device config set $1 $2: $(cat "$SCRATCH/err")"
}
st() {
	cmlsh_run --json audit status | json_get "$1"
}
set_cfg audit_checkpoint_records 5
set_cfg audit_checkpoint_seconds 2

# --- records and review ----------------------------------------------------------
seq=$(cmlsh_run --json audit list --type call --last 1 | json_get records 0 seq)
expect_match "a call's record names its command" '^cmlsh$' \
    "$(cmlsh_run --json audit list --type call --last 1 | json_get records 0 comm)"
out=$(cmlsh_run --json audit show "$seq")
expect_eq "audit show: the whole record" \
    "$seq org.cml.Device.SetConfig cmlsh 64 64 False" \
    "$(python3 -c 'import json, sys
r = json.load(sys.stdin)["record"]
print(r["seq"], r["object"], r["comm"], len(r["prev"]), len(r["hash"]), r["acknowledged"])' <<<"$out")"
out=$(cmlsh_run audit show 999999 2>&1)
expect_status "audit show of no record" 1 $?
expect_match "it says which it holds" "there is no record #999999 in the audit trail" "$out"
out=$(cmlsh_run audit ack "$seq" 2>&1)
expect_match "audit ack SEQ" "^acknowledged: +1$" "$(grep '^acknowledged:' <<<"$out")"
expect_eq "audit show: acknowledged" True \
    "$(cmlsh_run --json audit show "$seq" | python3 -c 'import json, sys; print(json.load(sys.stdin)["record"]["acknowledged"])')"
out=$(cmlsh_run audit ack 2>&1)
expect_status "audit ack without SEQ" 1 $?
expect_match "it says what to give" "give either SEQ .* or --up-to SEQ" "$out"

# --- thresholds and notices --------------------------------------------------------
"$CMLSH" --socket "$SOCK" audit follow --notices >"$SCRATCH/notices" 2>&1 &
follower=$!
track_pid "$follower"
for ((i = 0; i < 50; i++)); do
	[ -s "$SCRATCH/notices" ] || [ "$i" -gt 10 ] && break
	sleep 0.1
done
# and an operator at an interactive cmlsh's prompt, halfway through a line
export INPUTRC=$SCRATCH/inputrc
printf 'set enable-bracketed-paste off\n' >"$INPUTRC"
HOME=$SCRATCH pty_start 24 200 "$CMLSH" --socket "$SOCK"
pty_wait "cml> " || fail "no prompt from the interactive cmlsh"
pty_keys 'audit sta'
sleep 0.3
set_cfg audit_warn_percent 50
set_cfg audit_critical_percent 75
set_cfg audit_capacity 131072
used=$(st bytes)
[ "$used" -lt 65536 ] || fail "the trail takes $used bytes already: the test needs less than 65536"
n=0
while [ "$(st level)" != full ] && [ $n -lt 2000 ]; do
	n=$((n + 1))
	cmlsh_run -c "device config set device_name d$n" >/dev/null 2>&1 || break
done
expect_eq "the trail filled up" full "$(st level)"
audit_recs() {
	cmlsh_run --json audit list --type audit | python3 -c '
import json, re, sys
for r in json.load(sys.stdin)["records"]:
    m = re.search(r"(\d+) of (\d+) bytes", r["details"])
    print(r["seq"], r["result"], m.group(1) if m else "-")'
}
audit_recs >"$SCRATCH/arecs"
expect_eq "one warning, one critical, one full record, in order" "warning critical full" \
    "$(awk '{print $2}' "$SCRATCH/arecs" | tr '\n' ' ' | sed 's/ $//')"
read -r wseq _ wbytes < <(grep ' warning ' "$SCRATCH/arecs")
read -r cseq _ cbytes < <(grep ' critical ' "$SCRATCH/arecs")
read -r fseq _ fbytes < <(grep ' full ' "$SCRATCH/arecs")
expect_eq "warning past 50% and below 75% (bytes $wbytes)" yes \
    "$([ "$wbytes" -ge 65536 ] && [ "$wbytes" -lt 98304 ] && echo yes)"
expect_eq "critical past 75% and below full (bytes $cbytes)" yes \
    "$([ "$cbytes" -ge 98304 ] && [ "$cbytes" -lt 131072 ] && echo yes)"
expect_eq "full at the capacity (bytes $fbytes)" yes "$([ "$fbytes" -ge 131072 ] && echo yes)"
sleep 0.3
expect_lines "the follower was told each at once" "$(cat "$SCRATCH/notices")" \
    "^\\*\\*\\* audit warning \\(record #$wseq\\): the audit trail is [0-9]+% full" \
    "^\\*\\*\\* audit critical \\(record #$cseq\\): " \
    "^\\*\\*\\* audit full \\(record #$fseq\\): the audit trail is full"

pty_wait "audit full (record #$fseq)"
expect_match "the interactive cmlsh showed each notice above its prompt" \
    "\*\*\* audit warning \(record #$wseq\).*\*\*\* audit critical \(record #$cseq\).*\*\*\* audit full \(record #$fseq\)" \
    "$(tr -d '\r' <"$SCRATCH/tty.out" | tr '\n' ' ')"
pty_keys 'tus\r'
pty_wait "refusing:" 
expect_match "the line being typed was kept: audit status ran" "refusing: +yes" \
    "$(tr -d '\r' <"$SCRATCH/tty.out")"
pty_keys 'quit\r'
pty_end

# --- full: refuse -----------------------------------------------------------------
out=$(cmlsh_run -c 'device config set device_name refused' 2>&1)
expect_status "full: a state-changing command is refused" 1 $?
expect_match "full: it says why and what to do" "the audit trail is full: 'device config set' changes state" "$out"
expect_eq "full: the refusal is recorded" org.cml.Error.AuditFull \
    "$(cmlsh_run --json audit list --last 1 | json_get records 0 result)"
cmlsh_run audit status >/dev/null 2>&1
expect_status "full: audit status works" 0 $?
cmlsh_run audit list --last 3 >/dev/null 2>&1
expect_status "full: audit list works" 0 $?
cmlsh_run audit export >"$SCRATCH/full.jsonl" 2>&1
expect_status "full: audit export works" 0 $?
expect_eq "full: refusing" true "$(st refusing)"
set_cfg audit_capacity 1048576
cmlsh_run -c 'device config set device_name roomy' >/dev/null 2>&1
expect_status "a larger capacity: commands are served again" 0 $?
expect_match "and that is recorded" "the audit trail has room again" \
    "$(cmlsh_run --json audit list --type audit | python3 -c 'import json, sys; print(json.load(sys.stdin)["records"][-1]["details"])')"

# --- full: drop-acknowledged --------------------------------------------------------
set_cfg audit_full_action drop-acknowledged
set_cfg audit_capacity 131072
out=$(cmlsh_run -c 'device config set device_name x' 2>&1)
expect_status "nothing acknowledged beyond one record: still refused" 1 $?
expect_eq "nothing was dropped" 1 "$(st first_seq)"
last=$(st last_seq)
sleep 2.5 # a checkpoint covers the newest records
out=$(cmlsh_run audit ack --up-to "$last" 2>&1)
expect_status "audit ack --up-to works while full" 0 $?
first=$(st first_seq)
dropped=$(st dropped_up_to)
expect_eq "acknowledged records were dropped, up to a checkpoint" yes \
    "$([ "$dropped" -gt 1 ] && [ "$first" = $((dropped + 1)) ] && echo yes)"
expect_eq "no unacknowledged record was dropped" yes "$([ "$dropped" -le "$last" ] && echo yes)"
expect_eq "the trail has room again" false "$(st refusing)"
expect_match "the drop is recorded" "records #1 to #$dropped were dropped for room" \
    "$(cmlsh_run --json audit list --type audit | python3 -c 'import json, sys; print("\n".join(r["details"] for r in json.load(sys.stdin)["records"]))')"
out=$(cmlsh_run audit verify 2>&1)
expect_status "audit verify after the drop" 0 $?
expect_match "it starts from the checkpoint before the gap" "^anchor: +$dropped$" \
    "$(grep '^anchor:' <<<"$out")"
expect_match "signatures checked" "^signatures checked: +yes$" \
    "$(grep '^signatures checked:' <<<"$out")"
cmlsh_run audit export >"$SCRATCH/export.jsonl"
expect_eq "the export starts with the anchor checkpoint" "header checkpoint:$dropped record:$((dropped + 1))" \
    "$(head -n 3 "$SCRATCH/export.jsonl" | python3 -c 'import json, sys
out = []
for l in sys.stdin:
    o = json.loads(l)
    out.append(o["kind"] + ("" if o["kind"] == "header" else ":%d" % o["seq"]))
print(" ".join(out))')"
set_cfg audit_capacity 1048576
if [ -x "$CML_BUILDDIR/provisioning/cml-audit-verify" ]; then
	out=$("$CML_BUILDDIR/provisioning/cml-audit-verify" --cert "$SCRATCH/pki/dev.crt" \
	    --ca "$SCRATCH/pki/devca.crt" "$SCRATCH/export.jsonl" 2>&1)
	expect_status "the export verifies off the device" 0 $? ||
	    printf '%s\n' "$out" >&2
fi

# --- tampering ----------------------------------------------------------------------
kill "$follower" 2>/dev/null
wait "$follower" 2>/dev/null
untrack_pid "$follower"
cmlsh_run -c 'device config set device_name t1' >/dev/null
sleep 2.5
stack_stop
cp "$DB" "$SCRATCH/audit.db.good"
lo=$((dropped + 3))
# tamper NAME SQL EXPECTED: SQL on a copy of the good trail; verify names it
tamper() {
	cp "$SCRATCH/audit.db.good" "$DB"
	rm -f "$DB-wal" "$DB-shm"
	sqlite3 "$DB" "$2" || fail "$1: sqlite3 failed"
	stack_start
	"$CMLSH" --socket "$SOCK" audit follow --notices >"$SCRATCH/n.$1" 2>&1 &
	local f=$!
	track_pid "$f"
	sleep 0.3
	out=$(cmlsh_run audit verify 2>&1)
	expect_status "$1: audit verify fails" 1 $?
	expect_match "$1: it names what broke" "$3" "$out"
	expect_eq "$1: recorded as an integrity violation" broken \
	    "$(cmlsh_run --json audit list --type integrity --last 1 | json_get records 0 result)"
	sleep 0.3
	expect_match "$1: the follower was told at once" "^\\*\\*\\* audit integrity" "$(cat "$SCRATCH/n.$1")"
	kill "$f" 2>/dev/null
	wait "$f" 2>/dev/null
	untrack_pid "$f"
	stack_stop
}
tamper edited "UPDATE audit SET details = 'nothing happened' WHERE seq = $lo" \
    "record #$lo: its hash does not match its contents"
tamper deleted "DELETE FROM audit WHERE seq = $((lo + 1))" \
    "record #$((lo + 2)) follows #$lo"
tamper reordered "UPDATE audit SET details = CASE seq WHEN $((lo + 2)) THEN (SELECT details FROM audit WHERE seq = $((lo + 3))) ELSE (SELECT details FROM audit WHERE seq = $((lo + 2))) END, object = CASE seq WHEN $((lo + 2)) THEN (SELECT object FROM audit WHERE seq = $((lo + 3))) ELSE (SELECT object FROM audit WHERE seq = $((lo + 2))) END WHERE seq IN ($((lo + 2)), $((lo + 3)))" \
    "record #$((lo + 2)): its hash does not match its contents"

# a checkpoint signed by another key over the right digest
cp=$(sqlite3 "$SCRATCH/audit.db.good" "SELECT seq FROM checkpoint WHERE seq > $lo ORDER BY seq LIMIT 1")
[ -n "$cp" ] || fail "no checkpoint after #$lo"
openssl ecparam -name secp384r1 -genkey -noout -out "$SCRATCH/other.key" 2>/dev/null
python3 - "$SCRATCH/audit.db.good" "$cp" "$SCRATCH/digest" <<'PY'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
t, head = db.execute("SELECT time_ms, head FROM checkpoint WHERE seq = ?", (int(sys.argv[2]),)).fetchone()
m = b"cml-audit-checkpoint-v1\0" + struct.pack(">qq", int(sys.argv[2]), t) + head
open(sys.argv[3], "wb").write(hashlib.sha256(m).digest())
PY
openssl pkeyutl -sign -inkey "$SCRATCH/other.key" -in "$SCRATCH/digest" -out "$SCRATCH/other.sig" ||
    fail "openssl pkeyutl -sign failed"
tamper "other-key" "UPDATE checkpoint SET signature = X'$(od -An -tx1 -v "$SCRATCH/other.sig" | tr -d ' \n')' WHERE seq = $cp" \
    "checkpoint #$cp: .*signature"

# the good trail verifies again
cp "$SCRATCH/audit.db.good" "$DB"
rm -f "$DB-wal" "$DB-shm"
stack_start
out=$(cmlsh_run audit verify 2>&1)
expect_status "the untouched trail verifies" 0 $?

finish
