#!/bin/bash
# The audit trail: every successful and every refused state-changing call is
# recorded with the caller's uid and pid, the object and the result, in UTC
# with milliseconds; read-only calls only when audit_read_calls is on;
# `audit list --last N` shows exactly N records under the right header and
# refuses N that is no positive integer.
# Proves: CR 2.8 (auditable events), CR 2.12 (uid and pid of the caller),
# CR 2.11 (UTC timestamps), CR 6.1 (the audit log is accessible).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
stack_start

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
    '^SEQ +TIME +TYPE +UID +PID +CONTAINER +OBJECT +RESULT +DETAILS$' \
    "^$((n2 - 1)) +$ts +call +0 +$status_pid +- +org\\.cml\\.Device\\.Status +ok +-\$" \
    "^$n2 +$ts +call +0 +$pid +- +org\\.cml\\.Device\\.SetConfig +ok +audit_read_calls=false\$"
# the columns line up: each header word starts where its cells start
aligned=$(printf '%s\n' "$out" | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
ok = all([m.start() for m in re.finditer(r"\S+", l)] == starts for l in lines[1:])
print("aligned" if ok and not any(l.endswith(" ") for l in lines) else "not aligned")')
expect_eq "audit list --last 2: columns aligned, no trailing spaces" aligned "$aligned"

# the whole list: consecutive sequence numbers, UTC times close to now
check=$(cmlsh_run --json -c 'audit list' | python3 -c '
import datetime, json, sys, time
recs = json.load(sys.stdin)["records"]
problems = []
seqs = [r["seq"] for r in recs]
if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
    problems.append("sequence numbers not consecutive: %s" % seqs)
for r in recs:
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
    if r["type"] == "call" and (r["uid"] < 0 or r["pid"] <= 0):
        problems.append("call without uid/pid: %r" % r)
print("\n".join(problems) or "ok")')
expect_eq "all records: consecutive, UTC with ms, with uid and pid" ok "$check"

# N must be a positive integer: a usage error, with the reason
usage_error() {
	local bad=$1 reason=$2 out
	out=$(cmlsh_run -c "audit list --last $bad" 2>"$SCRATCH/err")
	expect_status "audit list --last '$bad'" 2 $?
	expect_eq "audit list --last '$bad': nothing on stdout" "" "$out"
	expect_eq "audit list --last '$bad': usage and reason" \
"cmlsh: usage: audit list [--last N]
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

finish
