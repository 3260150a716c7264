#!/bin/bash
# An unseal refused for a changed PCR is an integrity violation that
# connected clients hear of at once: with a client following the trail's
# notices (`audit follow --notices`), tpm2d is killed, a sealed PCR (23)
# is extended behind its back on the same swtpm, and tpm2d started again;
# its refused unseal reaches cmld's trail (result refused) and the
# follower is told of it, naming the record, without asking.  A follower
# that does not read gets no notices queued without bound: once it reads
# again it is told how many it missed.
# Proves: CR 3.4(2) (automated notification of integrity violations: an
# unseal refused for changed PCRs), TSF.AUDIT.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 sqlite3 tpm2_pcrextend swtpm
stack_start

tpm2d_pid() {
	local pid
	pid=$(head -n 1 "$STACK_DIR/run/cml/tpm2d.pid" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}
tpid=$(tpm2d_pid) || fail "cannot find the stack's tpm2d"

"$CMLSH" --socket "$SOCK" audit follow --notices >"$SCRATCH/notices" 2>&1 &
follower=$!
track_pid "$follower"
sleep 0.5

# tpm2d away; PCR 23 changed on its swtpm; tpm2d back
mapfile -d '' TPM2D_ARGV < <(cat "/proc/$tpid/cmdline")
kill -KILL "$tpid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.05
done
TPM2TOOLS_TCTI="swtpm:path=$STACK_DIR/run/swtpm/swtpm.sock" \
    tpm2_pcrextend "23:sha256=$(printf 'changed' | sha256sum | cut -d' ' -f1)" \
    >"$SCRATCH/extend.out" 2>&1 || { cat "$SCRATCH/extend.out" >&2; fail "tpm2_pcrextend failed"; }
exec 5< <(exec "${TPM2D_ARGV[@]}" 4>&1 >>"$STACK_DIR/log/tpm2d.log" 2>&1 </dev/null)
IFS= read -r -t 10 -u 5 line
exec 5<&-
expect_eq "tpm2d started again" "READY=1" "$line"

rec=
for ((i = 0; i < 100; i++)); do
	rec=$(cmlsh_run --json audit list --type tpm2d --result refused --last 1 |
	    python3 -c 'import json, sys
r = json.load(sys.stdin)["records"]
print("%d %s" % (r[0]["seq"], r[0]["details"]) if r else "")')
	[ -n "$rec" ] && break
	sleep 0.1
done
expect_match "the refused unseal is in the trail" "^[0-9]+ #[0-9]+ syskey: " "$rec"
seq=${rec%% *}
for ((i = 0; i < 50; i++)); do
	grep -q "record #$seq)" "$SCRATCH/notices" && break
	sleep 0.1
done
expect_match "the follower was told at once, naming the record" \
    "^\\*\\*\\* audit integrity \\(record #$seq\\): tpm2d: system key: " \
    "$(grep "record #$seq)" "$SCRATCH/notices")"

# --- a follower that does not read ---------------------------------------------
# a broken trail: each audit verify is an integrity violation, a notice
sqlite3 "$STACK_DIR/var/lib/cml/audit.db" "UPDATE audit SET details = 'x' WHERE seq = 2" ||
    fail "sqlite3 failed"
out=$(python3 - "$SOCK" <<'PY'
import json, socket, sys
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    return s
def call(s, method, params=None, more=False):
    m = {"method": method, "parameters": params or {}}
    if more:
        m["more"] = True
    s.sendall(json.dumps(m).encode() + b"\0")
def replies(s, buf):
    while b"\0" not in buf[0]:
        d = s.recv(65536)
        if not d:
            raise SystemExit("closed")
        buf[0] += d
    r, buf[0] = buf[0].split(b"\0", 1)
    return json.loads(r)
stalled = conn()
stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
call(stalled, "org.cml.Audit.Follow", {"notices": True}, more=True)
worker = conn()
buf = [b""]
n = 3000
for i in range(n):
    call(worker, "org.cml.Audit.Verify")
    r = replies(worker, buf)
    if r.get("error") != "org.cml.Error.IntegrityViolation":
        raise SystemExit("verify %d: %r" % (i, r))
# now read everything the stalled follower has
stalled.settimeout(5)
got, missed, sbuf = 0, None, [b""]
try:
    while missed is None:
        r = replies(stalled, sbuf)
        n_ = r.get("parameters", {}).get("notice")
        if n_ is None:
            continue
        if n_["level"] == "missed":
            missed = n_["message"]
        else:
            got += 1
except (socket.timeout, SystemExit):
    pass
print("notices=%d" % got, "missed=%s" % missed)
PY
)
expect_match "a stalled follower got some notices, not all of $((2 * 3000))" \
    "^notices=[0-9]+ " "$out"
got=$(sed -n 's/^notices=\([0-9]*\) .*/\1/p' <<<"$out")
expect_eq "fewer than were written" yes "$([ "${got:-0}" -gt 0 ] && [ "${got:-0}" -lt 6000 ] && echo yes)"
expect_match "then it is told how many it missed" \
    "missed=[0-9]+ notices were not sent while this client did not read" "$out"

finish
