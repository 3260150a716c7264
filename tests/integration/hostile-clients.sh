#!/bin/bash
# Hostile clients cannot lock out admins, bloat cmld, flood the audit
# trail or break a listing for everyone:
#   - 64 idle connections of an operator do not keep root out: slots are
#     kept for admins, each uid has its own limit, idle connections are
#     closed after --idle-timeout (and that is audited);
#   - a call with a 1 MiB parameter name is refused with a bounded message,
#     stores a bounded record, and `audit list` works for everyone after;
#   - a streamed listing ends at its first error, never goes on after it;
#   - a client that never reads a streamed `audit list`, or the output of
#     `container exec ... yes`, costs cmld no memory: it stops producing
#     (the exec's pipe fills, the listing waits), and others get answers;
#   - the same refused call repeated thousands of times leaves a bounded
#     number of records, and the next one says how many were not recorded;
#   - a name with bytes that are not UTF-8, or with control characters, is
#     refused at the framing layer or stored escaped, never raw, and cmlsh
#     never prints control characters from cmld raw;
#   - a key given twice or with an embedded \u0000 is refused.
# Proves: CR 7.1 (per-uid limits; admin slots; idle timeout; paced streams),
# CR 2.8 (refusals and idle closes audited),
# TSF.AUDIT (a refusal flood leaves few records; names stored escaped),
# CR 6.1 (audit list streams in parts after hostile input).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 setpriv
ensure_groups
user_programs
export CMLD_IDLE_TIMEOUT=4
stack_start
chgrp cml "$SOCK"
chmod 0660 "$SOCK"

pid_cmld=$(cmld_pid) || fail "no cmld"
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid_cmld/status"; }
probe=$SCRATCH/probe.py
cat >"$probe" <<'PY'
import json, os, socket, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/bin")
import varlink

path, case = sys.argv[1], sys.argv[2]

def status_ok(timeout=5):
    c = varlink.Connection(path, timeout)
    try:
        r = c.call("org.cml.Device.Status")
        return r is not None and "error" not in r
    finally:
        c.close()

if case == "hold":
    # hold N connections open, say so, wait to be killed
    n = int(sys.argv[3])
    conns = []
    refused = 0
    for i in range(n):
        c = varlink.Connection(path, 5)
        c.sock.settimeout(0.2)
        try:
            m = c.recv()
            if m is not None and m.get("error") == "org.cml.Error.Busy":
                refused += 1
                c.close()
                continue
        except socket.timeout:
            pass
        conns.append(c)
    print("held %d refused %d" % (len(conns), refused), flush=True)
    time.sleep(120)
elif case == "status":
    print("ok" if status_ok() else "failed")
elif case == "idle":
    # an idle connection is closed after the timeout; one with work is not
    c = varlink.Connection(path, 15)
    t0 = time.time()
    gone = c.closed_by_peer(timeout=12)
    print("closed %s after %d s" % ("yes" if gone else "no", round(time.time() - t0)))
elif case == "longname":
    c = varlink.Connection(path, 10)
    r = c.call("org.cml.Device.Status", {"x" * (1024 * 1024 - 200): 1})
    raw = json.dumps(r)
    print("%s %d" % (r.get("error"), len(raw)))
elif case == "noread-audit":
    # ask for a streamed listing and never read it
    c = varlink.Connection(path, 10)
    c.send("org.cml.Audit.List", {}, more=True)
    print("asked", flush=True)
    time.sleep(120)
elif case == "stream":
    # a streamed listing: count replies until the last; any error ends it
    c = varlink.Connection(path, 30)
    c.send("org.cml.Audit.List", {}, more=True)
    n = errors = after_error = 0
    while True:
        m = c.recv()
        if m is None:
            break
        if "error" in m:
            errors += 1
            break
        n += 1
        if not m.get("continues"):
            break
    c.sock.settimeout(1)
    try:
        extra = c.recv()
        after_error = 0 if extra is None else 1
    except socket.timeout:
        after_error = 0
    print("replies %d errors %d after %d" % (n, errors, after_error))
elif case == "refuse-flood":
    c = varlink.Connection(path, 10)
    for i in range(int(sys.argv[3])):
        c.send("org.cml.Device.SetConfig", {"key": "device_name", "value": "x"})
        c.recv()
    print("done")
elif case == "raw":
    c = varlink.Connection(path, 5)
    c.send_raw(sys.argv[3].encode("latin-1").decode("unicode_escape").encode("latin-1") + b"\0")
    m = c.recv()
    print(m.get("error") if m else "EOF")
PY
cp "$probe" "$SCRATCH/probe-user.py"
chmod 644 "$SCRATCH/probe-user.py"
# (probe.py finds varlink.py in $SCRATCH/bin)
run_probe() { python3 "$probe" "$SOCK" "$@"; }

# --- 1. an operator's idle connections do not lock root out -------------------------------
as_user cml "$USER_PYTHON3" "$SCRATCH/probe-user.py" "$SOCK" hold 64 >"$SCRATCH/hold" 2>&1 &
hpid=$!
track_pid "$hpid"
for ((i = 0; i < 100; i++)); do
	[ -s "$SCRATCH/hold" ] && break
	sleep 0.1
done
held=$(cat "$SCRATCH/hold")
expect_match "an operator cannot hold all 64 connections (16 per uid)" "^held 16 refused 48\$" "$held"
expect_eq "root still gets answers" "ok" "$(run_probe status)"
out=$(as_user cml "$USER_CMLSH" --socket "$SOCK" device status 2>&1 >/dev/null)
expect_match "the same operator's next connection is refused with the reason" \
    "too many connections from uid 65534 \\(at most 16\\)" "$out"
n0=$(audit_count)
# (among the last few: on a loaded machine a checkpoint or a stage's
# records may come after it)
expect_match "the refusal is audited" "result=org.cml.Error.Busy details=too many connections from uid 65534" \
    "$(audit_tail 10)"
# idle connections are closed after the timeout (4 s here), and audited
sleep 6
expect_eq "after the idle timeout the operator can connect again" "" \
    "$(as_user cml "$USER_CMLSH" --socket "$SOCK" device status 2>&1 >/dev/null)"
expect_match "closing idle connections is audited" "object=idle result=ok details=closed after 4 s without a call" \
    "$(audit_tail 40)"
kill "$hpid" 2>/dev/null
wait "$hpid" 2>/dev/null
untrack_pid "$hpid"
expect_match "an idle connection is closed after about 4 s" "^closed yes after [4-6] s\$" "$(run_probe idle)"

# --- 4. a 1 MiB parameter name -----------------------------------------------------------
out=$(run_probe longname)
expect_match "a 1 MiB parameter name: refused, with a reply under 4 KiB" \
    "^org\\.varlink\\.service\\.InvalidParameter [0-9]{1,3}[0-9]?\$" "$out"
rec=$(cmlsh_run --json audit list --last 1 | json_get records 0 details)
expect_match "its audit record is bounded" "^unknown parameter '.{1,300}'\$" "$rec"
cmlsh_run audit list >/dev/null 2>"$SCRATCH/err"
expect_status "audit list works for everyone after it" 0 $?
expect_eq "audit list: no error" "" "$(cat "$SCRATCH/err")"
expect_match "a streamed listing after it: replies up to the last, no error, nothing after" \
    "^replies [1-9][0-9]* errors 0 after 0\$" "$(run_probe stream)"

# --- 7. a flood of refused calls ---------------------------------------------------------
n0=$(audit_count)
out=$(as_user cml "$USER_PYTHON3" "$SCRATCH/probe-user.py" "$SOCK" refuse-flood 3000)
expect_eq "3000 refused calls" "done" "$out"
n1=$(audit_count)
grown=$((n1 - n0))
expect_match "3000 identical refusals leave a bounded number of records ($grown)" \
    "^([1-9]|[1-9][0-9]|[1-4][0-9][0-9])\$" "$grown"
expect_match "the connection's end says how many were not recorded" \
    "details=[0-9]+ refusals like the last recorded one were not recorded" "$(audit_tail 5)"

# --- 6. a client that never reads a streamed listing -------------------------------------
# 30000 records of 1 KiB: a listing of 30 MiB, put in while cmld is stopped
need_prog sqlite3
stack_stop
sqlite3 "$(state_dir)/audit.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
    INSERT INTO audit (time_ms, type, uid, pid, container, object, result, details)
    SELECT 0, 'test', 0, 0, '', 'filler', 'ok', printf('%.1000c', 'x') FROM n;" ||
    fail "cannot add filler records"
stack_start
chgrp cml "$SOCK"
pid_cmld=$(cmld_pid) || fail "no cmld"
out=$(run_probe stream)
expect_match "a streamed listing of 30000 records: every part, no error, nothing after" \
    "^replies (6[0-9]) errors 0 after 0\$" "$out"
before=$(rss_kib)
for i in 1 2 3 4 5 6; do
	run_probe noread-audit >"$SCRATCH/noread.$i" 2>&1 &
	track_pid $!
done
sleep 3
after=$(rss_kib)
# (6 listings held in full would take 180 MiB.  AddressSanitizer keeps
# freed blocks in quarantine, so there the resident size says what was
# allocated meanwhile, not what is held: not checked)
if ldd "$CMLD" | grep -q libasan; then
	echo "# the memory of 6 clients that never read is not checked: AddressSanitizer's quarantine (${before} -> ${after} KiB)"
else
	expect_eq "6 clients that never read a listing cost cmld under 16 MiB (${before} -> ${after} KiB)" \
	    1 "$((after - before < 16384 ? 1 : 0))"
fi
expect_eq "others get answers meanwhile" "ok" "$(run_probe status)"

# --- 8. bytes that are not UTF-8, control characters, ambiguous keys ------------------------
expect_eq "a name with bytes that are not UTF-8 is refused at the framing layer" \
    "org.cml.Error.Protocol" "$(run_probe raw '{"method":"org.cml.Container.Show","parameters":{"name":"\xff\xfe"}}')"
expect_eq "a key with an embedded \\u0000 is refused" \
    "org.cml.Error.Protocol" "$(run_probe raw '{"method":"org.cml.Device.Status","parameters":{"a\\u0000b":1}}')"
expect_eq "a key given twice is refused" \
    "org.cml.Error.Protocol" "$(run_probe raw '{"method":"org.cml.Device.Status","more":false,"more":true}')"
out=$(cmlsh_run container start "$(printf 'x\033[31my')" 2>&1)
expect_match "a name with a control character: refused" "no container" "$out"
case "$out" in
*$'\033'*) expect_eq "cmlsh never prints a control character from cmld raw" "escaped" "raw" ;;
*) expect_eq "cmlsh never prints a control character from cmld raw" "escaped" "escaped" ;;
esac
rec=$(cmlsh_run --json audit list --last 1 | json_get records 0 container)
expect_eq "the record of that call holds it escaped" 'x\x1b[31my' "$rec"

check_sanitizer_reports
finish
