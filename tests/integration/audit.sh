#!/bin/bash
# The audit trail: every successful and every refused state-changing call is
# recorded with the caller's uid and pid, the object and the result, in UTC
# with milliseconds; read-only calls only when audit_read_calls is on;
# `audit list --last N` shows exactly N records under the right header and
# refuses N that is no positive integer.  What cmld does on its own (its
# start and stop) is recorded with cmld's own uid and pid: no record lacks
# a subject.  cmld's stop is the last record before its next start.  A cmld
# and a cmlsh running in a zone 5:30 east of UTC still write and show UTC.
# Proves: CR 2.8 (auditable events: calls, refusals, cmld's start and stop),
# CR 2.12, CR 2.12(1) (uid and pid of the acting process in every record:
# the caller, or cmld itself), CR 2.11 (UTC timestamps, whatever the zone),
# CR 6.1 (the audit log is accessible), TSF.AUDIT.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
# cmld's own records, exactly and in order: cmld alone, without tpm2d's
# records arriving in between (tests/integration/tpm-link.sh has those).
export CML_STACK_NO_TPM2D=1
stack_start
cpid=$(cmld_pid) || fail "cannot find the pid of cmld"

# records N: prints the last N records as "seq=S time=T " and then
# audit_tail's line, from `audit list --json`
records() {
	cmlsh_run --json -c "audit list --last $1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    print("seq=%s time=%s type=%s uid=%s pid=%s container=%s object=%s result=%s details=%s" % (
        r["seq"], r["time"], r["type"], r["uid"], r["pid"], r["container"],
        r["object"], r["result"], r["details"]))'
}

# utc_age TIME: prints how many seconds TIME (RFC 3339 UTC, "...Z") lies
# before the real UTC now, rounded, or why it cannot tell
utc_age() {
	python3 -c '
import datetime, sys
try:
    t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ")
except ValueError:
    print("<not RFC 3339 UTC: %r>" % sys.argv[1])
    sys.exit(0)
now = datetime.datetime.now(datetime.timezone.utc)
print(round((now - t.replace(tzinfo=datetime.timezone.utc)).total_seconds()))
' "$1"
}

# |age| of at most 5 s: the time is UTC, not shifted by a zone
recent() {
	local age=$1
	case "$age" in
	-[0-5] | [0-5]) echo recent ;;
	*) echo "$age s from now" ;;
	esac
}

# cmld's start is audited with cmld's uid and pid as the subject (the
# first start also creates the device)
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
start=$(audit_tail 2)
expect_lines "cmld's first start: two records with cmld's uid and pid" "$start" \
    "^type=daemon uid=0 pid=$cpid container= object=device result=ok details=device $uuid_re created in state factory\$" \
    "^type=daemon uid=0 pid=$cpid container= object=cmld result=ok details=cmld [^ ]+ started \\(pid $cpid, device $uuid_re, factory\\)\$"
uuid=$(printf '%s\n' "$start" | sed -n 's/.* details=device \([^ ]*\) created.*/\1/p')

# run_cmlsh CMD: runs cmlsh -c CMD in the background to learn its pid;
# sets $pid and $rc
run_cmlsh() {
	"$CMLSH" --socket "$SOCK" -c "$1" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	wait $pid
	rc=$?
}

n0=$(audit_count)
expect_match "audit list --json works" '^[0-9]+$' "$n0"

run_cmlsh 'device config set device_name audited-1'
expect_status "set device_name" 0 $rc
expect_eq "successful change: one record" "$((n0 + 1))" "$(audit_count)"
expect_eq "successful change: the record" \
    "type=call uid=0 pid=$pid container= object=org.cml.Device.SetConfig result=ok details=device_name=audited-1" \
    "$(audit_tail 1)"

run_cmlsh 'device config set max_clients 0'
expect_status "set max_clients 0 (refused)" 1 $rc
expect_eq "refused change: one record" "$((n0 + 2))" "$(audit_count)"
expect_match "refused change: the record" \
    "^type=call uid=0 pid=$pid container= object=org\\.cml\\.Device\\.SetConfig result=org\\.cml\\.Error\\.InvalidArgument details=.*max_clients" \
    "$(audit_tail 1)"

run_cmlsh 'device config set no_such_key 1'
expect_status "set no_such_key (refused)" 1 $rc
expect_match "refused unknown key: the record" \
    "^type=call uid=0 pid=$pid container= object=org\\.cml\\.Device\\.SetConfig result=org\\.cml\\.Error\\.InvalidArgument details=.*no_such_key" \
    "$(audit_tail 1)"

# a refused call with bad parameters (from a plain client) is audited too
reply=$(varlink_run "$SOCK" call org.cml.Device.SetConfig '{"key": "log_level"}')
expect_status "SetConfig without value" 1 $?
expect_match "SetConfig without value: InvalidParameter" \
    '"error": "org\.varlink\.service\.InvalidParameter"' "$reply"
expect_match "SetConfig without value: the record" \
    "^type=call uid=0 pid=[1-9][0-9]* container= object=org\\.cml\\.Device\\.SetConfig result=org\\.varlink\\.service\\.InvalidParameter details=" \
    "$(audit_tail 1)"
n1=$(audit_count)
expect_eq "four records so far" "$((n0 + 4))" "$n1"

# read-only calls are not audited by default ...
for c in 'device status' 'device config get' 'audit list' 'api info'; do
	cmlsh_run -c "$c" >/dev/null
done
expect_eq "read-only calls: no records while audit_read_calls is false" "$n1" "$(audit_count)"
# ... but are when audit_read_calls is on
run_cmlsh 'device config set audit_read_calls yes'
expect_status "set audit_read_calls yes" 0 $rc
run_cmlsh 'device status'
status_pid=$pid
run_cmlsh 'device config set audit_read_calls no'
expect_status "set audit_read_calls no" 0 $rc
expect_eq "read-only call audited while audit_read_calls was true" \
"type=call uid=0 pid=$status_pid container= object=org.cml.Device.Status result=ok details=
type=call uid=0 pid=$pid container= object=org.cml.Device.SetConfig result=ok details=audit_read_calls=false" \
    "$(audit_tail 2)"
n2=$(audit_count)
cmlsh_run -c 'device status' >/dev/null
expect_eq "read-only calls: no records again" "$n2" "$(audit_count)"

# --last 2: exactly two rows under the header, the newest ones
out=$(cmlsh_run -c 'audit list --last 2' 2>"$SCRATCH/err")
expect_status "audit list --last 2" 0 $?
expect_eq "audit list --last 2: nothing on stderr" "" "$(cat "$SCRATCH/err")"
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
expect_lines "audit list --last 2: header and two rows" "$out" \
    '^SEQ +TIME +TYPE +UID +PID +COMM +CONTAINER +OBJECT +RESULT +DETAILS$' \
    "^$((n2 - 1)) +$ts +call +0 +$status_pid +cmlsh +- +org\\.cml\\.Device\\.Status +ok +-\$" \
    "^$n2 +$ts +call +0 +$pid +cmlsh +- +org\\.cml\\.Device\\.SetConfig +ok +audit_read_calls=false\$"
# the columns line up: each header word starts where its cells start
aligned=$(printf '%s\n' "$out" | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
ok = all([m.start() for m in re.finditer(r"\S+", l)] == starts for l in lines[1:])
print("aligned" if ok and not any(l.endswith(" ") for l in lines) else "not aligned")')
expect_eq "audit list --last 2: columns aligned, no trailing spaces" aligned "$aligned"

# N must be a positive integer: a usage error, with the reason
usage_error() {
	local bad=$1 reason=$2 out
	out=$(cmlsh_run -c "audit list --last $bad" 2>"$SCRATCH/err")
	expect_status "audit list --last '$bad'" 2 $?
	expect_eq "audit list --last '$bad': nothing on stdout" "" "$out"
	expect_eq "audit list --last '$bad': usage and reason" \
"cmlsh: usage: audit list [--last N] [--since TIME] [--until TIME] [--container NAME] [--type TYPE] [--result RESULT] [--uid UID]
cmlsh: $reason" "$(cat "$SCRATCH/err")"
}
usage_error 0 "N must be between 1 and 1000000, not 0"
usage_error -1 "N must be between 1 and 1000000, not -1"
usage_error x "N must be an integer, not 'x'"
usage_error 2x "N must be an integer, not '2x'"
usage_error '' "option '--last' needs a value (N)"
reply=$(varlink_run "$SOCK" call org.cml.Audit.List '{"last": 0}')
expect_status "Audit.List last 0 (plain client)" 1 $?
expect_match "Audit.List last 0: InvalidParameter last" \
    '"error": "org\.varlink\.service\.InvalidParameter".*"parameter": "last"' "$reply"

# cmld's stop is audited: after it ended, the last record of the trail (read
# from the audit database itself) is its stop, with its uid and pid
stack_stop
cmld_pid >/dev/null && fail "cmld still runs after scripts/stack stop"
stopped=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
r = db.execute("select seq, type, uid, pid, container, object, result, details"
               " from audit order by seq desc limit 1").fetchone()
print("seq=%s type=%s uid=%s pid=%s container=%s object=%s result=%s details=%s" % tuple(
    "" if v is None else v for v in r))
' "$(state_dir)/audit.db")
expect_match "cmld stopped: the last record of the trail is its stop" \
    "^seq=[0-9]+ type=daemon uid=0 pid=$cpid container= object=cmld result=ok details=cmld stopped\$" \
    "$stopped"
stop_seq=${stopped#seq=}
stop_seq=${stop_seq%% *}

# cmld again, in a zone 5:30 east of UTC (a POSIX TZ, no tzdata needed)
zone=XST-5:30
expect_eq "TZ=$zone is 5:30 east of UTC here" "+0530" "$(TZ=$zone date +%z)"
TZ=$zone stack_start
cpid2=$(cmld_pid) || fail "cannot find the pid of the restarted cmld"
expect_eq "the restarted cmld runs with TZ=$zone" "TZ=$zone" \
    "$(tr '\0' '\n' <"/proc/$cpid2/environ" | grep '^TZ=')"

# the stop is the last record before the next start: consecutive, nothing
# between, the old cmld's pid on the stop, the new one's on the start
expect_lines "restart: the stop, then at once the start, each with its cmld" \
    "$(records 2)" \
    "^seq=$stop_seq time=[^ ]+ type=daemon uid=0 pid=$cpid container= object=cmld result=ok details=cmld stopped\$" \
    "^seq=$((stop_seq + 1)) time=[^ ]+ type=daemon uid=0 pid=$cpid2 container= object=cmld result=ok details=cmld [^ ]+ started \\(pid $cpid2, device $(re_quote "$uuid"), factory\\)\$"

# the start record, written in that zone, is UTC: seconds from now, not
# 5.5 hours
t=$(records 1 | sed -n 's/^seq=[0-9]* time=\([^ ]*\) .*/\1/p')
expect_eq "TZ=$zone: the start record's time $t is UTC now" recent "$(recent "$(utc_age "$t")")"
run_cmlsh 'device config set device_name in-another-zone'
expect_status "TZ=$zone: set device_name" 0 $rc
rec=$(records 1)
expect_match "TZ=$zone: the call's record" \
    "^seq=$((stop_seq + 2)) time=$ts type=call uid=0 pid=$pid container= object=org\\.cml\\.Device\\.SetConfig result=ok details=device_name=in-another-zone\$" \
    "$rec"
t=$(printf '%s\n' "$rec" | sed -n 's/^seq=[0-9]* time=\([^ ]*\) .*/\1/p')
expect_eq "TZ=$zone: the call's record time $t is UTC now" recent "$(recent "$(utc_age "$t")")"

# cmlsh in that zone shows the times as they are: UTC, with Z
out=$(TZ=$zone cmlsh_run -c 'audit list --last 1' 2>"$SCRATCH/err")
expect_status "TZ=$zone cmlsh audit list --last 1" 0 $?
expect_eq "TZ=$zone cmlsh: nothing on stderr" "" "$(cat "$SCRATCH/err")"
expect_lines "TZ=$zone cmlsh: the record with a UTC time" "$out" \
    '^SEQ +TIME +TYPE +UID +PID +COMM +CONTAINER +OBJECT +RESULT +DETAILS$' \
    "^$((stop_seq + 2)) +$ts +call +0 +$pid +cmlsh +- +org\\.cml\\.Device\\.SetConfig +ok +device_name=in-another-zone\$"
t=$(printf '%s\n' "$out" | awk 'NR == 2 { print $2 }')
expect_eq "TZ=$zone cmlsh: the TIME column $t is UTC now" recent "$(recent "$(utc_age "$t")")"
t=$(TZ=$zone cmlsh_run --json -c 'audit list --last 1' | json_get records 0 time)
expect_eq "TZ=$zone cmlsh --json: the time $t is UTC now" recent "$(recent "$(utc_age "$t")")"

# the whole list, both cmlds: consecutive sequence numbers, UTC times close
# to now, and every record with a subject: uid >= 0 and pid > 0 whatever
# its type, and cmld's own uid and pid on what cmld did on its own
check=$(cmlsh_run --json -c 'audit list' | python3 -c '
import datetime, json, sys, time
recs = json.load(sys.stdin)["records"]
cmlds = {int(sys.argv[1]), int(sys.argv[2])}
problems = []
types = set(r["type"] for r in recs)
if not {"daemon", "call"} <= types:
    problems.append("not every kind of record was checked: %s" % sorted(types))
seqs = [r["seq"] for r in recs]
if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
    problems.append("sequence numbers not consecutive: %s" % seqs)
for r in recs:
    if r["uid"] < 0 or r["pid"] <= 0:
        problems.append("record without uid/pid: %r" % r)
    if r["type"] in ("daemon", "container") and (r["uid"] != 0 or r["pid"] not in cmlds):
        problems.append("record of cmld without its uid/pid: %r" % r)
    t = r["time"]
    try:
        dt = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        problems.append("time %r is not RFC 3339 UTC" % t)
        continue
    age = time.time() - dt.replace(tzinfo=datetime.timezone.utc).timestamp()
    if not -5 < age < 600:
        problems.append("time %s is %.0f s from now" % (t, age))
    if len(t) != 24:
        problems.append("time %r has no milliseconds" % t)
print("\n".join(problems) or "ok")' "$cpid" "$cpid2")
expect_eq "all records: consecutive, UTC with ms, each with a uid and a pid" ok "$check"

finish
