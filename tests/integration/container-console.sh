#!/bin/bash
# `container logs NAME [--follow]` and `container console NAME`: init's
# stdin, stdout and stderr are a console (a pty) whose master cmld's loop
# reads into a 64 KiB ring per container.  logs shows what init printed,
# also after its end, until the next start (which empties it); --follow
# gets each new line as it comes and ends with init.  A follower that does
# not read is paced by the server: cmld's memory stays flat, init is not
# held up, and the follower is told what it missed.  console, in a real
# pseudo-terminal (script), shows what init prints and passes what is
# typed to init's stdin; Ctrl-] detaches and init runs on.  Every attach
# is audited.
# Proves: OS 01 (the console and log of a container's init),
# CR 7.1 (a log follower that does not read holds up neither cmld nor init),
# CR 2.8 (console attach audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog script
need_prog python3
ct_setup

# init prints a line, then a tick a second, and answers each line it reads
name=$(ct_name con)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","echo init-started; i=0; while :; do if read -t 1 l; then echo \"got $l\"; else i=$((i+1)); echo tick-$i; fi; done"]}}'
ct_start "$name"

# --- logs ------------------------------------------------------------------------------------
for ((i = 0; i < 50; i++)); do
	"$CMLSH" --socket "$SOCK" container logs "$name" 2>/dev/null | grep -q '^tick-1$' && break
	sleep 0.1
done
ct_cmlsh container logs "$name"
expect_status "logs" 0 "$rc"
expect_eq "logs: what init printed, its lines ending in \\n" "init-started
tick-1" "$(head -n 2 "$SCRATCH/out")"
expect_eq "logs: nothing on stderr" "" "$(cat "$SCRATCH/err")"

# --- logs --follow ------------------------------------------------------------------------------
"$CMLSH" --socket "$SOCK" container logs --follow "$name" >"$SCRATCH/follow" 2>&1 &
fpid=$!
track_pid "$fpid"
n=$(grep -c '^tick-' "$SCRATCH/out")
for ((i = 0; i < 40; i++)); do
	[ "$(grep -c '^tick-' "$SCRATCH/follow")" -gt "$((n + 1))" ] && break
	sleep 0.1
done
expect_eq "--follow: the log, then new lines as they come" 1 \
    "$(( $(grep -c '^tick-' "$SCRATCH/follow") > n + 1 ? 1 : 0 ))"
expect_eq "--follow: still running while init runs" yes "$(kill -0 "$fpid" 2>/dev/null && echo yes || echo no)"

# --- console --------------------------------------------------------------------------------------
n0=$(audit_count)
pty_start 30 90 "$CMLSH" --socket "$SOCK" container console "$name"
pty_wait 'tick-' || true
pty_keys 'hello console\r'
pty_wait 'got hello console' || true
pty_keys '\035'
pty_end
out=$(tr -d '\r' <"$SCRATCH/tty.out")
expect_match "console: what init prints appears" '(^|
)tick-[0-9]+
' "$out"
expect_match "console: what is typed reaches init's stdin" '
got hello console
' "$out"
expect_status "console: Ctrl-] detaches, cmlsh exits 0" 0 "$trc"
expect_eq "console: attach audited" "type=call uid=0 container=$name object=org.cml.Container.Console result=ok details=detached" \
    "$(audit_tail "$n0" | grep 'Container.Console' | sed 's/ pid=[0-9]*//')"
expect_eq "console: init runs on after the detach" running "$(ct_state "$name")"
"$CMLSH" --socket "$SOCK" container logs "$name" >"$SCRATCH/out" 2>&1
expect_eq "logs: what was typed and init's answer are in the log too" 1 \
    "$(grep -c '^got hello console$' "$SCRATCH/out")"

# --- a console client that makes the master blocking and reads nothing ------------------------
# It holds the master's open file too: cmld reads only what is there, so
# it is not held up, and neither is a log reader.
cat >"$SCRATCH/blocking.py" <<'PY'
import fcntl, os, sys, time
sys.path.insert(0, os.path.join(os.environ["CML_SRCDIR"], "tests/integration"))
import varlink
c = varlink.Connection(sys.argv[1], 20)
c.send("org.cml.Container.Console", {"name": sys.argv[2]}, more=True)
m = c.recv()
out, inp = c.fds[m["parameters"]["output"]], c.fds[m["parameters"]["input"]]
fl = fcntl.fcntl(inp, fcntl.F_GETFL)
fcntl.fcntl(inp, fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
print("attached, blocking", flush=True)
time.sleep(float(sys.argv[3]))
PY
python3 "$SCRATCH/blocking.py" "$SOCK" "$name" 4 >"$SCRATCH/blocking" 2>&1 &
bpid=$!
track_pid "$bpid"
sleep 1.5
expect_eq "a console client made the master blocking" "attached, blocking" "$(cat "$SCRATCH/blocking")"
# a cmld stuck in a read answers nothing, its cleanup included: end it
stuck() {
	kill -9 "$(cmld_pid)" 2>/dev/null
	fail "cmld does not answer while a console client holds a blocking master"
}
timeout 5 "$CMLSH" --socket "$SOCK" container logs "$name" >"$SCRATCH/out" 2>&1 ||
    stuck
t0=$(grep -c '^tick-' "$SCRATCH/out")
sleep 1.5
timeout 5 "$CMLSH" --socket "$SOCK" container logs "$name" >"$SCRATCH/out" 2>&1 ||
    stuck
t1=$(grep -c '^tick-' "$SCRATCH/out")
expect_eq "cmld still reads init's output and answers ($t0 -> $t1 ticks)" 1 "$(( t1 > t0 ? 1 : 0 ))"
wait "$bpid"
untrack_pid "$bpid"

# --- a follower that does not read ------------------------------------------------------------------
loud=$(ct_name loud)
ct_create "$loud" '{"name":"'"$loud"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","echo loud-start; exec yes loud-line-of-some-length"]}}'
ct_start "$loud"
cmld=$(cmld_pid) || fail "no cmld"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$cmld/status"; }
cat >"$SCRATCH/noread.py" <<'PY'
import os, sys, time
sys.path.insert(0, os.path.join(os.environ["CML_SRCDIR"], "tests/integration"))
import varlink
c = varlink.Connection(sys.argv[1], 60)
c.send("org.cml.Container.Logs", {"name": sys.argv[2], "follow": True}, more=True)
time.sleep(float(sys.argv[3]))
lost = 0
end = time.time() + 20
while not lost and time.time() < end:
    m = c.recv()
    lost += m["parameters"].get("lost", 0)
print("lost" if lost > 0 else "nothing lost", flush=True)
PY
python3 "$SCRATCH/noread.py" "$SOCK" "$loud" 5 >"$SCRATCH/noread" 2>&1 &
npid=$!
track_pid "$npid"
# once its queue is full (at most the server's stream limit), nothing
# more is made for it
sleep 1.5
before=$(rss)
sleep 2
after=$(rss)
ipid=$(ct_show "$loud" pid)
t0=$(awk '{ print $14 + $15 }' "/proc/$ipid/stat" 2>/dev/null)
sleep 0.5
t1=$(awk '{ print $14 + $15 }' "/proc/$ipid/stat" 2>/dev/null)
expect_eq "a follower that does not read: cmld's memory stays flat meanwhile (${before} -> ${after} KiB)" \
    1 "$((after - before < 1024 ? 1 : 0))"
expect_eq "init is not held up by it (yes keeps using CPU: $t0 -> $t1)" 1 "$(( ${t1:-0} > ${t0:-0} ? 1 : 0 ))"
expect_eq "others get answers meanwhile" running "$(ct_state "$loud")"
wait "$npid"
untrack_pid "$npid"
expect_eq "once it reads again, it is told what it missed" "lost" "$(cat "$SCRATCH/noread")"
_run_tool "container kill $loud" "$CMLSH" --socket "$SOCK" --yes container kill "$loud"

# --- after init's end, until the next start -----------------------------------------------------
_run_tool "container kill $name" "$CMLSH" --socket "$SOCK" --yes container kill "$name"
for ((i = 0; i < 50; i++)); do
	kill -0 "$fpid" 2>/dev/null || break
	sleep 0.1
done
expect_eq "--follow ends with init" no "$(kill -0 "$fpid" 2>/dev/null && echo yes || echo no)"
wait "$fpid"
expect_status "--follow: its status" 0 $?
untrack_pid "$fpid"
ct_cmlsh container logs "$name"
expect_eq "logs after init's end: still there" "init-started" "$(head -n 1 "$SCRATCH/out")"
ct_cmlsh container console "$name"
expect_status "console of a stopped container: refused" 1 "$rc"
expect_eq "console of a stopped container: why" "cmlsh: container '$name' is not running" "$(cat "$SCRATCH/err")"
ct_start "$name"
for ((i = 0; i < 30; i++)); do
	"$CMLSH" --socket "$SOCK" container logs "$name" 2>/dev/null | grep -q '^init-started$' && break
	sleep 0.1
done
ct_cmlsh container logs "$name"
expect_eq "the next start empties the log" "init-started" "$(head -n 1 "$SCRATCH/out")"
expect_eq "the next start empties the log: no got line" 0 "$(grep -c '^got ' "$SCRATCH/out")"

# --- after a cmld restart -------------------------------------------------------------------------
# cmld's end closes the master: init's writes fail (EIO) and nothing more,
# since the console is not its controlling terminal; the new cmld has no
# console for it until its next start, and says so.
ipid=$(ct_show "$name" pid)
cpid=$(cmld_pid) || fail "no cmld"
kill -KILL "$cpid"
for ((i = 0; i < 50; i++)); do
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.1
done
STACK_RUNNING=0
sleep 1.5
stack_start
expect_eq "after a cmld restart: init runs on (it printed to a console that is gone)" \
    "running $ipid" "$(ct_state "$name") $(ct_show "$name" pid)"
ct_cmlsh container console "$name"
expect_status "after a cmld restart: console refused" 1 "$rc"
expect_eq "after a cmld restart: why" "cmlsh: container '$name' has no console: cmld was restarted while it ran (it has one again from its next start)" \
    "$(cat "$SCRATCH/err")"
ct_cmlsh container logs "$name"
expect_status "after a cmld restart: logs" 0 "$rc"
expect_eq "after a cmld restart: the log is empty" "" "$(cat "$SCRATCH/out")"
_run_tool "container kill $name" "$CMLSH" --socket "$SOCK" --yes container kill "$name"
finish
