#!/bin/bash
# cmld reports readiness: "READY=1\n" on --ready-fd, then closes that fd,
# with the control socket already serving; READY=1 to $NOTIFY_SOCKET
# (sd_notify) when that is set.  SIGTERM and SIGINT end it with status 0; a
# second cmld on the same directory is refused while the first serves on.
# It checks DESIGN "Processes" (staged start with readiness).
# Proves: CR 7.1 (a second cmld cannot take over; the first serves on).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 timeout
make_scratch

# --- --ready-fd ----------------------------------------------------------
out=$(python3 - "$CMLD" "$STACK_DIR" <<'PY' 2>&1
import os, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["CML_SRCDIR"], "tests/integration"))
import varlink
cmld, root = sys.argv[1:3]
sock = os.path.join(root, "run/cml/control.sock")
os.makedirs(os.path.join(root, "log"), exist_ok=True)
r, w = os.pipe()
log = open(os.path.join(root, "log/cmld.log"), "ab")
p = subprocess.Popen([cmld, "--root", root, "--foreground", "--ready-fd", str(w)],
                     pass_fds=[w], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
os.close(w)
deadline = time.time() + 10
data = b""
import select
while time.time() < deadline:
    rl, _, _ = select.select([r], [], [], max(0, deadline - time.time()))
    if not rl:
        break
    chunk = os.read(r, 100)
    if not chunk:
        break
    data += chunk
    if data == b"READY=1\n":
        # the socket must serve as soon as READY=1 is said
        try:
            reply = varlink.call_once(sock, "org.cml.Device.Status")
            print("status at ready:", "ok" if reply and "error" not in reply else reply)
        except OSError as e:
            print("status at ready: cannot connect:", e)
# EOF came (or time ran out) while cmld still runs
print("ready fd said %r" % data.decode(errors="replace"))
print("ready fd closed" if time.time() < deadline else "ready fd still open after 10 s")
print("cmld running" if p.poll() is None else "cmld exited %s" % p.returncode)
p.send_signal(signal.SIGTERM)
try:
    print("SIGTERM: exit %d" % p.wait(10))
except subprocess.TimeoutExpired:
    p.kill()
    print("SIGTERM: still running after 10 s")
PY
)
expect_eq "--ready-fd: READY=1, socket serving, fd closed, SIGTERM exits 0" \
"status at ready: ok
ready fd said 'READY=1\n'
ready fd closed
cmld running
SIGTERM: exit 0" "$out"

# --- NOTIFY_SOCKET ---------------------------------------------------------
notify=$SCRATCH/notify.sock
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
try:
    print(s.recv(4096).decode(), flush=True)
except socket.timeout:
    print("nothing within 10 s", flush=True)' "$notify" >"$SCRATCH/notified" &
listener=$!
track_pid "$listener"
for ((i = 0; i < 100; i++)); do
	[ -S "$notify" ] && break
	sleep 0.05
done
[ -S "$notify" ] || fail "the notify listener made no socket"
NOTIFY_SOCKET=$notify "$CMLD" --root "$STACK_DIR" --foreground \
    >>"$STACK_DIR/log/cmld.log" 2>&1 </dev/null &
cmld=$!
track_pid "$cmld"
wait "$listener"
untrack_pid "$listener"
expect_match "NOTIFY_SOCKET: READY=1 arrives" '(^|'$'\n'')READY=1('$'\n''|$)' \
    "$(cat "$SCRATCH/notified")"
reply=$(varlink_run "$SOCK" call org.cml.Device.Status)
expect_status "NOTIFY_SOCKET: serving after READY=1" 0 $?

# a second cmld on the same directory is refused; the first serves on
timeout 15 "$CMLD" --root "$STACK_DIR" --foreground >/dev/null 2>"$SCRATCH/err" </dev/null
expect_status "second cmld on the same directory" 1 $?
expect_match "second cmld: says why, naming the socket" "$SOCK" "$(cat "$SCRATCH/err")"
reply=$(varlink_run "$SOCK" call org.cml.Device.Status)
expect_status "first cmld still serves" 0 $?

kill -INT "$cmld"
wait "$cmld"
expect_status "SIGINT ends cmld cleanly" 0 $?
untrack_pid "$cmld"
expect_eq "socket removed on exit" "" "$(find "$STACK_DIR/run" -type s 2>/dev/null)"

# --version
out=$("$CMLD" --version 2>&1)
expect_status "cmld --version" 0 $?
version=$(sed -n 's/^AC_INIT(\[cml\], *\[\([^]]*\)\].*/\1/p' "$CML_SRCDIR/configure.ac")
expect_match "cmld --version names the version" "(^| )${version//./\\.}(\$| )" "$out"

finish
