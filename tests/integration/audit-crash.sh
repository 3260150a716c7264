#!/bin/bash
# The audit trail survives kill -9: while three clients change device_name
# as fast as they can (a burst of audited calls over their own
# connections), cmld is killed with SIGKILL at a random point, 20 times,
# and restarted on the same state.  Every call a client got its answer to
# has its record in the trail after the restart (a reply leaves only once
# the records of its call are committed), the records are numbered without
# a gap, and `audit verify` finds the chain intact across every crash.
# Proves: TSF.AUDIT, CR 2.8, CR 3.9 (no acknowledged record lost to a
# crash; the chain intact), CR 2.9.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 sqlite3
export CML_STACK_NO_TPM2D=1
stack_start

KILLS=${CML_AUDIT_KILLS:-20}
WRITERS=3
wdir=$SCRATCH/writers
mkdir -p "$wdir"

# writer N: SetConfig device_name wN-1, wN-2, ... on one connection until
# the connection breaks; appends each value whose reply came to wdir/acked.N
writer() {
	python3 - "$SOCK" "$1" "$wdir" <<'PY'
import json, os, socket, sys
path, n, wdir = sys.argv[1], sys.argv[2], sys.argv[3]
start = int(open(os.path.join(wdir, "next.%s" % n)).read() or 0) \
    if os.path.exists(os.path.join(wdir, "next.%s" % n)) else 0
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(path)
except OSError:
    sys.exit(0)
acked = open(os.path.join(wdir, "acked.%s" % n), "a", buffering=1)
buf = b""
i = start
while True:
    i += 1
    open(os.path.join(wdir, "next.%s" % n), "w").write(str(i))
    v = "w%s-%d" % (n, i)
    msg = {"method": "org.cml.Device.SetConfig",
           "parameters": {"key": "device_name", "value": v}}
    try:
        s.sendall(json.dumps(msg).encode() + b"\0")
        while b"\0" not in buf:
            d = s.recv(65536)
            if not d:
                sys.exit(0)
            buf += d
    except OSError:
        sys.exit(0)
    reply, buf = buf.split(b"\0", 1)
    if "error" not in json.loads(reply):
        acked.write(v + "\n")
PY
}

# the device_name values the trail holds, one a line
trail_values() {
	sqlite3 "$STACK_DIR/var/lib/cml/audit.db" \
	    "SELECT details FROM audit WHERE object = 'org.cml.Device.SetConfig' AND result = 'ok'" |
	    sed -n 's/^device_name=//p' | sort -u
}

total_acked=0
for ((k = 1; k <= KILLS; k++)); do
	pids=()
	for ((n = 1; n <= WRITERS; n++)); do
		writer "$n" &
		pids+=($!)
		track_pid $!
	done
	# a random point in the burst: 50 to 450 ms after it began
	sleep "0.$((RANDOM % 5))5"
	cmld_kill9
	for p in "${pids[@]}"; do
		wait "$p"
		untrack_pid "$p"
	done
	STACK_RUNNING=0
	out=$("$STACK" start "$STACK_DIR" 2>"$SCRATCH/err")
	rc=$?
	[ $rc = 0 ] || { cat "$SCRATCH/err" >&2; fail "cmld did not restart after kill $k"; }
	STACK_RUNNING=1

	cat "$wdir"/acked.* 2>/dev/null | sort -u >"$SCRATCH/acked"
	trail_values >"$SCRATCH/trail"
	missing=$(comm -23 "$SCRATCH/acked" "$SCRATCH/trail" | head -n 5)
	nacked=$(wc -l <"$SCRATCH/acked")
	expect_eq "kill $k: every answered call of $nacked has its record" "" "$missing"
	gaps=$(sqlite3 "$STACK_DIR/var/lib/cml/audit.db" \
	    "SELECT count(*) - (max(seq) - min(seq) + 1) FROM audit")
	expect_eq "kill $k: the records are numbered without a gap" 0 "$gaps"
	out=$(cmlsh_run -c 'audit verify' 2>&1)
	expect_status "kill $k: audit verify" 0 $?
	total_acked=$nacked
done
[ "$total_acked" -gt 100 ] ||
    expect_eq "the writers got calls through" "> 100 answered" "$total_acked"
expect_match "audit verify after the last restart" "^verified: +yes" \
    "$(cmlsh_run audit verify 2>&1)"
echo "answered calls: $total_acked, kills: $KILLS"

finish
