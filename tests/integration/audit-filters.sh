#!/bin/bash
# Audit review with filters: `audit list` selects records by --since and
# --until (RFC 3339 with or without an offset, a date, or a span before
# now; --since inclusive, --until exclusive), --container, --type,
# --result and --uid, all given ones together, with --last counting only
# what they select; the selection is made by the store's query, so a
# streamed listing pages through the selected records alone (chunks of
# 500), in order, without a gap, as the database itself says.  A time that
# is none is refused with what to give instead.  Records cmld writes of
# its own accord carry its uid and pid, shown as "cmld" in the UID column,
# while --json keeps the numbers.
# Proves: CR 6.1 (audit review with filters: time, container, type,
# result, uid), CR 2.12 (daemon records name cmld as their subject).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 setpriv
ensure_groups
user_programs
stack_start

CHUNK=500 # AUDIT_CHUNK in daemon/cmld/cmd-audit.c
ghost=ghost-$$

# Prints "seq type uid result container object" of the records a filter
# selects, one per line: sel ARGS...
sel() {
	cmlsh_run --json audit list "$@" 2>&1 | python3 -c 'import json, sys
text = sys.stdin.read()
try:
    rs = json.loads(text)["records"]
except (ValueError, KeyError):
    print("<not a record list: %r>" % text[:300])
    sys.exit(0)
for r in rs:
    print(r["seq"], r["type"], r["uid"], r["result"], r["container"] or "-", r["object"])'
}

# Prints a member of the record with sequence number N: rec N KEY
rec() {
	cmlsh_run --json audit list 2>&1 | python3 -c 'import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["seq"] == int(sys.argv[1]):
        print(r[sys.argv[2]])' "$1" "$2"
}

# Records: cmld's start (daemon), an accepted change by root, a refused
# start of a container that does not exist, a refused change by an
# operator; a pause before each, so that their times differ.
cmlsh_run -c 'device config set log_level debug' >/dev/null ||
    fail "device config set log_level debug failed"
sleep 0.05
cmlsh_run -c "container start $ghost" >/dev/null 2>&1
sleep 0.05
as_user cml "$USER_CMLSH" --socket "$SOCK" -c 'device config set log_level info' \
    >/dev/null 2>&1
sleep 0.05
cmlsh_run -c 'device config set log_level info' >/dev/null ||
    fail "device config set log_level info failed"

pid=$(cmld_pid) || fail "no cmld pid"
set_ok=$(sel --type call --result ok --last 2 | head -n 1 | cut -d' ' -f1)
ghost_seq=$(sel --container "$ghost" | cut -d' ' -f1)

expect_lines "--type daemon: the device made and cmld's start, with cmld's uid" \
    "$(sel --type daemon)" \
    '^1 daemon 0 ok - device$' '^2 daemon 0 ok - cmld$'
expect_eq "--type daemon: cmld's pid in the record (--json keeps the numbers)" "$pid" \
    "$(cmlsh_run --json audit list --type daemon | json_get records 1 pid)"
out=$(cmlsh_run audit list --type daemon 2>&1)
expect_lines "--type daemon as a table: UID says cmld, PID is cmld's" "$out" \
    '^SEQ +TIME +TYPE +UID +PID +COMM +CONTAINER +OBJECT +RESULT +DETAILS$' \
    "^1 +[-0-9T:.]+Z +daemon +cmld +$pid +cmld +- +device +ok +device [-0-9a-f]+ created in state factory\$" \
    "^2 +[-0-9T:.]+Z +daemon +cmld +$pid +cmld +- +cmld +ok +cmld [0-9].* started \\(pid $pid, "
out=$(cmlsh_run audit list --type call --result ok --last 1 2>&1)
expect_lines "a caller's record as a table: UID is the caller's" "$out" \
    '^SEQ +TIME +TYPE +UID +PID +COMM +CONTAINER +OBJECT +RESULT +DETAILS$' \
    '^[0-9]+ +[-0-9T:.]+Z +call +0 +[0-9]+ +cmlsh +- +org\.cml\.Device\.SetConfig +ok +log_level=info$'

expect_lines "--container: the refused start of that container alone" \
    "$(sel --container "$ghost")" \
    "^[0-9]+ call 0 org\\.cml\\.Error\\.[A-Za-z]+ $ghost org\\.cml\\.Container\\.Start\$"
expect_eq "--container of none: nothing" "" "$(sel --container nobody-$$)"
expect_lines "--uid: the operator's refused change alone" "$(sel --uid 65534)" \
    '^[0-9]+ call 65534 org\.cml\.Error\.PermissionDenied - org\.cml\.Device\.SetConfig$'
expect_lines "--type call --result ok: the two accepted changes" \
    "$(sel --type call --result ok)" \
    '^[0-9]+ call 0 ok - org\.cml\.Device\.SetConfig$' \
    '^[0-9]+ call 0 ok - org\.cml\.Device\.SetConfig$'
expect_lines "--result ok --uid 65534: all given must match, so none" \
    "$(sel --result ok --uid 65534)"
expect_lines "--type call --last 1: the last of the selected" \
    "$(sel --type call --last 1)" \
    '^[0-9]+ call 0 ok - org\.cml\.Device\.SetConfig$'

# Times: --since is inclusive, --until exclusive; with an offset, the same
# instant selects the same records.
t=$(rec "$ghost_seq" time)
expect_eq "--since the time of a record: it is the first" "$ghost_seq" \
    "$(sel --since "$t" | head -n 1 | cut -d' ' -f1)"
expect_eq "--until the time of a record: the one before is the last" \
    "$((ghost_seq - 1))" "$(sel --until "$t" | tail -n 1 | cut -d' ' -f1)"
t_off=$(python3 -c 'import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(t.astimezone(datetime.timezone(datetime.timedelta(hours=5, minutes=30))).isoformat(timespec="milliseconds"))' "$t")
expect_match "an offset time is given as +05:30" '\+05:30$' "$t_off"
expect_eq "--since with an offset: the same instant" "$ghost_seq" \
    "$(sel --since "$t_off" | head -n 1 | cut -d' ' -f1)"
expect_eq "--since and --until: exactly the records between" \
    "$ghost_seq $((ghost_seq + 1))" \
    "$(sel --since "$t" --until "$(rec "$((ghost_seq + 2))" time)" | cut -d' ' -f1 | xargs)"
all=$(sel | wc -l)
expect_eq "--since 1h: every record" "$all" "$(sel --since 1h | wc -l)"
expect_eq "--until 1h: none" "" "$(sel --until 1h)"
expect_eq "--since 2000-01-01 (a date): every record" "$all" "$(sel --since 2000-01-01 | wc -l)"
expect_eq "--until 2000-01-01: none" "" "$(sel --until 2000-01-01)"
expect_eq "--since 0s (now): none yet" "" "$(sel --since 0s)"

for bad in yesterday 10x 2026-13-01 '2026-12-03T10:00:00' -5m; do
	out=$(cmlsh_run audit list --since "$bad" 2>&1)
	rc=$?
	expect_status "--since '$bad' refused" 1 $rc
	expect_eq "--since '$bad': what to give instead" \
	    "cmlsh: '$bad' is no time: give RFC 3339 UTC (2026-12-03T10:00:00Z), a date (2026-12-03) or a span before now (30s, 10m, 2h, 7d)" \
	    "$out"
done
out=$(varlink_run "$SOCK" call org.cml.Audit.List '{"until": "soon"}')
expect_match "a time that is none, over varlink: InvalidArgument naming until" \
    '"error": "org\.cml\.Error\.InvalidArgument".*"parameter": "until"' "$out"

# Paging through a selection: interleaved accepted and refused changes,
# more accepted ones than a chunk; the stream of --result ok pages through
# them alone, the database says which they are.
python3 - "$SOCK" <<'PY' >/dev/null
import sys
sys.path.insert(0, __import__("os").environ["CML_SRCDIR"] + "/tests/integration")
import varlink
c = varlink.Connection(sys.argv[1])
for base in range(0, 1300, 100):
    for i in range(base, base + 100):
        if i % 2 == 0:
            c.send("org.cml.Device.SetConfig", {"key": "device_name", "value": "f-%d" % i})
        else:
            c.send("org.cml.Device.SetConfig", {"key": "max_clients", "value": "0"})
    for i in range(base, base + 100):
        c.recv()
PY
want=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
seqs = [r[0] for r in db.execute("select seq from audit where type = ? and result = ? order by seq", ("call", "ok"))]
print(len(seqs), seqs[0], seqs[-1], sum(seqs))' "$(state_dir)/audit.db")
got=$(python3 - "$SOCK" <<'PY'
import json, sys
sys.path.insert(0, __import__("os").environ["CML_SRCDIR"] + "/tests/integration")
import varlink
c = varlink.Connection(sys.argv[1])
c.send("org.cml.Audit.List", {"type": "call", "result": "ok"}, more=True)
shape, seqs = [], []
while True:
    r = c.recv()
    if r is None or "error" in r:
        shape.append(json.dumps(r))
        break
    recs = r["parameters"]["records"]
    if any(x["result"] != "ok" or x["type"] != "call" for x in recs):
        shape.append("unselected")
    seqs += [x["seq"] for x in recs]
    shape.append("%d%s" % (len(recs), "+" if r.get("continues") else ""))
    if not r.get("continues"):
        break
print(" ".join(shape))
print(len(seqs), seqs[0], seqs[-1], sum(seqs), "ascending" if seqs == sorted(set(seqs)) else "not ascending")
PY
)
n=${want%% *}
expect_eq "streamed --result ok: chunks of $CHUNK of the selected records alone" \
    "$CHUNK+ $((n - CHUNK))" "$(head -n 1 <<<"$got")"
expect_eq "streamed --result ok: exactly what the database selects, ascending" \
    "$want ascending" "$(tail -n 1 <<<"$got")"
expect_eq "cmlsh --json --type call --result ok: the same records" "$want" \
    "$(cmlsh_run --json audit list --type call --result ok | python3 -c 'import json, sys
s = [r["seq"] for r in json.load(sys.stdin)["records"]]
print(len(s), s[0], s[-1], sum(s))')"

finish
