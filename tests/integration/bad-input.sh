#!/bin/bash
# Bad input on the control socket closes only the offending client, is
# audited, and leaves cmld serving everyone else: malformed JSON, a JSON
# array, a call without a method, a method that is no string, parameters
# that are no object, an oversized message with and without its NUL, a
# client that goes away at once or in the middle of a message, 50 clients at
# once, and several calls in one write.
# Proves: CR 7.1 (a bad client is closed alone; everyone else is served),
# CR 2.8 (protocol violations audited),
# CR 2.12 (with the offender's uid and pid),
# TSF.AUDIT (the records stored and listed).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
stack_start

probe=$SCRATCH/probe.py
cat >"$probe" <<'PY'
import os, socket, sys, time
sys.path.insert(0, os.path.join(os.environ["CML_SRCDIR"], "tests/integration"))
import varlink

path, case = sys.argv[1], sys.argv[2]
MIB = 1024 * 1024
STATUS = b'{"method":"org.cml.Device.Status","parameters":{}}\0'

malformed = {
    "invalid-json": b'{this is not json}\0',
    "array": b'["org.cml.Device.Status", {}]\0',
    "no-method": b'{"parameters": {}}\0',
    "method-not-string": b'{"method": 42, "parameters": {}}\0',
    "parameters-not-object":
        b'{"method": "org.cml.Device.Status", "parameters": [1, 2]}\0',
    # more than 1 MiB and no NUL in sight
    "oversized-no-nul": b'{"method": "' + b"a" * (MIB + 4096),
    # 2 MiB, properly terminated
    "oversized-2mib": b'{"method": "org.cml.Device.Status", "parameters": '
                      b'{"pad": "' + b"b" * (2 * MIB) + b'"}}\0',
}

def status_ok(conn):
    r = conn.call("org.cml.Device.Status")
    return r is not None and "error" not in r and \
        r["parameters"].get("stages", {}).get("cmld") == "up"

print("pid=%d" % os.getpid(), flush=True)
if case in malformed:
    # a bystander connected before the bad client must stay served
    bystander = varlink.Connection(path)
    c = varlink.Connection(path, timeout=10)
    c.send_raw(malformed[case])
    try:
        r = c.recv()
    except socket.timeout:
        r = "timeout"
    if isinstance(r, dict):
        err = r.get("error")
        msg = r.get("parameters", {}).get("message")
        closed = "yes" if c.closed_by_peer(5) else "no"
    else:
        err, msg = r, None
        closed = "yes" if r is None else "no"
    c.close()
    print("error=%s closed=%s message=%s bystander=%s" % (
        err, closed, "yes" if isinstance(msg, str) and msg else "no",
        "ok" if status_ok(bystander) else "lost"))
elif case == "connect-close":
    varlink.Connection(path).close()
    print("done")
elif case == "half-message":
    c = varlink.Connection(path)
    c.send_raw(b'{"method": "org.cml.Devi')
    time.sleep(0.2)
    c.close()
    print("done")
elif case == "fifty-clients":
    conns = [varlink.Connection(path) for _ in range(50)]
    for c in conns:
        c.send_raw(STATUS)
    good = 0
    for c in conns:
        try:
            r = c.recv()
        except socket.timeout:
            r = None
        if r is not None and "error" not in r and "uptime_seconds" in r["parameters"]:
            good += 1
        c.close()
    print("answered=%d" % good)
elif case == "burst":
    c = varlink.Connection(path)
    c.send_raw(STATUS +
               b'{"method":"org.varlink.service.GetInfo"}\0' +
               b'{"method":"org.cml.Device.GetConfig","parameters":{"key":"max_clients"}}\0' +
               b'{"method":"org.cml.Device.Nothing","parameters":{}}\0' +
               b'{"method":"org.varlink.service.GetInterfaceDescription",'
               b'"parameters":{"interface":"org.cml.Audit"}}\0' +
               STATUS)
    seen = []
    for _ in range(6):
        try:
            r = c.recv()
        except socket.timeout:
            r = None
        if r is None:
            seen.append("none")
        elif "error" in r:
            seen.append(r["error"])
        else:
            p = r["parameters"]
            if "uptime_seconds" in p:
                seen.append("status")
            elif "interfaces" in p:
                seen.append("info")
            elif "settings" in p:
                seen.append("config:" + ",".join(s["key"] for s in p["settings"]))
            elif "description" in p:
                seen.append("describe:" + next(
                    (l for l in p["description"].splitlines()
                     if l.startswith("interface ")), "?"))
            else:
                seen.append("other")
    print(" ".join(seen))
    print("open" if not c.closed_by_peer(0.5) else "closed")
    c.close()
else:
    sys.exit("unknown case " + case)
PY

# audit_last: the newest record, summarised
audit_last() {
	cmlsh_run --json -c 'audit list --last 1' | python3 -c '
import json, sys
r = json.load(sys.stdin)["records"][-1]
print("uid=%s pid=%s object=%s result=%s" % (r["uid"], r["pid"], r["object"], r["result"]))
print(r["type"])'
}

# fresh_status: a new client can still call Device.Status
fresh_status() {
	local what=$1 reply
	reply=$(varlink_run "$SOCK" call org.cml.Device.Status)
	expect_status "$what: then a fresh client's Device.Status" 0 $?
	expect_match "$what: ... is answered" '"cmld": "up"' "$reply"
	[ -n "$(cmld_pid)" ] && kill -0 "$(cmld_pid)" 2>/dev/null
	expect_status "$what: cmld still runs" 0 $?
}

for case in invalid-json array no-method method-not-string \
    parameters-not-object oversized-no-nul oversized-2mib; do
	before=$(audit_count)
	out=$(python3 "$probe" "$SOCK" "$case")
	expect_status "$case: probe ran" 0 $?
	pid=$(printf '%s\n' "$out" | sed -n 's/^pid=//p')
	expect_eq "$case: Protocol error, that client closed, others served" \
	    "error=org.cml.Error.Protocol closed=yes message=yes bystander=ok" \
	    "$(printf '%s\n' "$out" | sed -n 2p)"
	fresh_status "$case"
	after=$(audit_count)
	expect_eq "$case: one audit record" "$((before + 1))" "$after"
	last=$(audit_last)
	expect_match "$case: audit record names the offender and the result" \
	    "^uid=0 pid=$pid object=.* result=org\\.cml\\.Error\\.Protocol\$" \
	    "$(printf '%s\n' "$last" | head -n 1)"
	expect_match "$case: audit record type" '^(session|protocol)$' \
	    "$(printf '%s\n' "$last" | sed -n 2p)"
done

for case in connect-close half-message; do
	before=$(audit_count)
	out=$(python3 "$probe" "$SOCK" "$case")
	expect_status "$case: probe ran" 0 $?
	pid=$(printf '%s\n' "$out" | sed -n 's/^pid=//p')
	expect_eq "$case: probe finished" "done" "$(printf '%s\n' "$out" | sed -n 2p)"
	fresh_status "$case"
	if [ "$case" = half-message ]; then
		# a message cut off is a protocol violation too
		expect_eq "$case: one audit record" "$((before + 1))" "$(audit_count)"
		expect_match "$case: audit record names the offender and the result" \
		    "^uid=0 pid=$pid object=.* result=org\\.cml\\.Error\\.Protocol\$" \
		    "$(audit_last | head -n 1)"
	fi
done

out=$(python3 "$probe" "$SOCK" fifty-clients)
expect_eq "50 clients at once: all answered" "answered=50" \
    "$(printf '%s\n' "$out" | sed -n 2p)"
fresh_status "50 clients"

out=$(python3 "$probe" "$SOCK" burst)
expect_eq "six calls in one write: all answered, in order" \
    "status info config:max_clients org.varlink.service.MethodNotFound describe:interface org.cml.Audit status
open" "$(printf '%s\n' "$out" | sed -n '2,$p')"
fresh_status "burst"

finish
