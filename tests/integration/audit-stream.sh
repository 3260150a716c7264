#!/bin/bash
# A long audit trail stays reviewable: with more than 2000 records, a
# streamed `audit list` (cmlsh, or a varlink call with "more") returns every
# record, in order, in replies of 500 records each that say "continues"
# but for the last; a plain call (no "more") for more than 2000 records is
# refused and told to ask for the last N or to stream; a plain call for
# the last 2000 gets exactly those in one reply.
# Proves: CR 6.1 (the whole audit log is accessible, however long: streamed
# in chunks of 500, plain replies bounded at 2000).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
stack_start

CHUNK=500     # AUDIT_CHUNK in daemon/cmld/cmd-audit.c
PLAIN_MAX=2000 # AUDIT_PLAIN_MAX
CALLS=2100

# More than PLAIN_MAX records: CALLS audited changes through one
# connection, sent in batches of 100 before their replies are read.
made=$(python3 - "$SOCK" "$CALLS" <<'PY'
import sys
sys.path.insert(0, __import__("os").environ["CML_SRCDIR"] + "/tests/integration")
import varlink
c = varlink.Connection(sys.argv[1])
n, ok = int(sys.argv[2]), 0
for base in range(0, n, 100):
    batch = range(base, min(base + 100, n))
    for i in batch:
        c.send("org.cml.Device.SetConfig",
               {"key": "device_name", "value": "bulk-%d" % i})
    for i in batch:
        r = c.recv()
        if r is not None and "error" not in r:
            ok += 1
print(ok)
PY
)
expect_eq "$CALLS audited changes made" "$CALLS" "$made"

# How many records there are, from the audit database itself (not through
# the listing under test): numbered 1 to total
read -r total first last < <(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(*db.execute("select count(*), min(seq), max(seq) from audit").fetchone())
' "$(state_dir)/audit.db")
expect_eq "the audit database: records numbered 1 to their count" \
    "1 $total" "$first $last"
CHECKS=$((CHECKS + 1))
if [ "$total" -gt $((CALLS + 1)) ]; then
	_check_passed "more than $PLAIN_MAX records ($total)"
else
	_check_failed "only $total records, expected more than $((CALLS + 1))"
fi

# A streamed listing: every record, in order, in replies of CHUNK records
# that continue but for the last.  Prints the number of records of each
# reply with "+" for continues, then whether the sequence numbers run
# FIRST to LAST without a gap.
stream() {
	python3 - "$SOCK" "$1" "$2" "$3" <<'PY'
import json, sys
sys.path.insert(0, __import__("os").environ["CML_SRCDIR"] + "/tests/integration")
import varlink
c = varlink.Connection(sys.argv[1])
params = json.loads(sys.argv[2])
first, last = int(sys.argv[3]), int(sys.argv[4])
c.send("org.cml.Audit.List", params, more=True)
shape, seqs = [], []
while True:
    r = c.recv()
    if r is None:
        shape.append("EOF")
        break
    if "error" in r:
        shape.append(json.dumps(r))
        break
    recs = r["parameters"]["records"]
    seqs += [x["seq"] for x in recs]
    if r.get("continues") is True:
        shape.append("%d+" % len(recs))
    else:
        shape.append("%d" % len(recs))
        break
print(" ".join(shape))
print("in order" if seqs == list(range(first, last + 1)) else
      "not %d..%d: %d records, %s ... %s" % (first, last, len(seqs), seqs[:3], seqs[-3:]))
PY
}

# the shape of a stream of N records: CHUNK+ ... CHUNK+ REST
shape() {
	local n=$1 s=''
	while [ "$n" -gt "$CHUNK" ]; do
		s="$s$CHUNK+ "
		n=$((n - CHUNK))
	done
	echo "$s$n"
}

expect_eq "streamed Audit.List: $total records in replies of $CHUNK" \
    "$(shape "$total")
in order" "$(stream '{}' 1 "$total")"
# ("$(shape "$total")" has at least two replies: total > PLAIN_MAX > CHUNK)
expect_eq "streamed Audit.List last $((PLAIN_MAX + 1)): the newest, in replies of $CHUNK" \
    "$(shape $((PLAIN_MAX + 1)))
in order" "$(stream "{\"last\": $((PLAIN_MAX + 1))}" $((total - PLAIN_MAX)) "$total")"

# cmlsh streams too: every record, as JSON and as a table
check=$(cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
seqs = [r["seq"] for r in json.load(sys.stdin)["records"]]
print(len(seqs), "in order" if seqs == list(range(1, len(seqs) + 1)) else "not in order")')
expect_eq "cmlsh --json audit list: every record, in order" "$total in order" "$check"
out=$(cmlsh_run -c 'audit list' 2>"$SCRATCH/err")
expect_status "cmlsh audit list" 0 $?
expect_eq "cmlsh audit list: nothing on stderr" "" "$(cat "$SCRATCH/err")"
expect_eq "cmlsh audit list: the header and every record" \
    "$((total + 1)) SEQ 1 $total" \
    "$(printf '%s\n' "$out" | awk 'NR == 1 { h = $1 } NR == 2 { f = $1 } { l = $1 } END { print NR, h, f, l }')"

# a plain call (no "more") for the whole trail or the last PLAIN_MAX + 1:
# refused, with what to do instead
refusal='{"error": "org.cml.Error.InvalidArgument", "parameters": {"parameter": "last", "message": "more than '$PLAIN_MAX' records: ask for the last N, or call with \"more\" to stream them"}}'
reply=$(varlink_run "$SOCK" call org.cml.Audit.List '{}')
expect_status "plain Audit.List of $total records" 1 $?
expect_eq "plain Audit.List of $total records: refused, use \"more\"" "$refusal" "$reply"
reply=$(varlink_run "$SOCK" call org.cml.Audit.List "{\"last\": $((PLAIN_MAX + 1))}")
expect_status "plain Audit.List last $((PLAIN_MAX + 1))" 1 $?
expect_eq "plain Audit.List last $((PLAIN_MAX + 1)): refused, use \"more\"" "$refusal" "$reply"

# a plain call for the last PLAIN_MAX: exactly those, in one reply
check=$(python3 - "$SOCK" "$PLAIN_MAX" <<'PY'
import json, sys
sys.path.insert(0, __import__("os").environ["CML_SRCDIR"] + "/tests/integration")
import varlink
c = varlink.Connection(sys.argv[1])
r = c.call("org.cml.Audit.List", {"last": int(sys.argv[2])})
if r is None or "error" in r:
    print(json.dumps(r))
    sys.exit(0)
seqs = [x["seq"] for x in r["parameters"]["records"]]
print(len(seqs), seqs[0], seqs[-1],
      "in order" if seqs == list(range(seqs[0], seqs[0] + len(seqs))) else "not in order",
      "continues" if "continues" in r else "one reply")
PY
)
expect_eq "plain Audit.List last $PLAIN_MAX: exactly the newest $PLAIN_MAX, in one reply" \
    "$PLAIN_MAX $((total - PLAIN_MAX + 1)) $total in order one reply" "$check"

# nothing of this was recorded as a change: the trail is as it was
expect_eq "listing added no records" "$total" "$(varlink_run "$SOCK" call org.cml.Audit.List '{"last": 1}' | json_get parameters records 0 seq)"

finish
