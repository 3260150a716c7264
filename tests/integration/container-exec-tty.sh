#!/bin/bash
# `container exec -it NAME -- CMD...` in a real pseudo-terminal (script):
# cmld opens a pty of the container's own devpts, the command's
# controlling terminal; the caller's terminal is raw, so that Ctrl-C
# travels as a byte and the line discipline inside turns it into SIGINT
# (`sleep 100` ends, cmlsh exits 130); a shell runs two commands typed
# into it; `stty size` inside sees the caller's size at the start and
# after a resize (SIGWINCH, passed on as TIOCSWINSZ).  Without -t, stdin
# is passed through (`echo hi | cmlsh -c 'container exec c -- cat'`) and
# Ctrl-C is passed on as SIGINT.  A bare command name is found through
# the container's PATH, inside the container.  The caller's terminal is
# cooked again after the command and after a SIGTERM to cmlsh (which ends
# the command inside); exec -it works from an interactive session and in
# a user namespace.  Every exec is audited.
# Proves: OS 01 (interactive exec into a container, also in a user namespace),
# CR 2.8 (every exec audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog script
need_prog python3
ct_setup

name=$(ct_name tty)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"}}'
ct_start "$name"

# --- PATH lookup ---------------------------------------------------------------------------
out=$(ct_exec "$name" echo found 2>&1)
expect_status "a bare name through the container's PATH" 0 $?
expect_eq "a bare name through the container's PATH: output" "found" "$out"
out=$(ct_exec "$name" no-such-program 2>&1)
expect_status "a bare name not in the PATH" 1 $?
expect_eq "a bare name not in the PATH: why" \
    "cmlsh: cannot run no-such-program in container '$name': 'no-such-program' was not found in the PATH of container '$name' (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)" "$out"

# --- options ---------------------------------------------------------------------------------
ct_cmlsh container exec -ix "$name" -- true
expect_status "an unknown -LETTER option: usage" 2 "$rc"
expect_eq "an unknown -LETTER option: why" "cmlsh: usage: container exec NAME [-i|--interactive] [-t|--tty] [--rows N] [--cols N] [--signals] COMMAND...
cmlsh: unknown option '-x'" "$(cat "$SCRATCH/err")"
ct_cmlsh --json container exec -t "$name" -- true
expect_status "--json with -t: refused" 1 "$rc"
expect_match "--json with -t: why" 'a terminal, stdin or signals need a streamed call' "$(cat "$SCRATCH/out")"

# --- stdin without a tty ------------------------------------------------------------------------
out=$(echo hi | "$CMLSH" --socket "$SOCK" -c "container exec $name -- cat" 2>&1)
expect_status "stdin piped through exec: status" 0 $?
expect_eq "stdin piped through exec: cat prints it" "hi" "$out"
out=$(head -c 300000 /dev/zero | "$CMLSH" --socket "$SOCK" -c "container exec $name -- wc -c" 2>&1)
expect_eq "300000 bytes of stdin arrive whole" "300000" "$(echo $out)"
out=$(printf 'a\nb\n' | "$CMLSH" --socket "$SOCK" container exec -i "$name" -- sh -c 'read x; read y; echo "$y$x"' 2>&1)
expect_eq "-i passes stdin in argument mode" "ba" "$out"

# --- Ctrl-C without a tty: SIGINT passed on ---------------------------------------------------
"$CMLSH" --socket "$SOCK" container exec "$name" -- sleep 100 >"$SCRATCH/int.out" 2>&1 &
ipid=$!
track_pid "$ipid"
for ((i = 0; i < 50; i++)); do
	pgrep -f '^sleep 100$' >/dev/null && break
	sleep 0.1
done
kill -INT "$ipid"
wait "$ipid"
expect_status "SIGINT to cmlsh ends sleep inside: 128 + 2" 130 $?
untrack_pid "$ipid"

# --- a real terminal: script(1) and a FIFO for the keys --------------------------------------
# tty_run ROWS COLS CMLSH-ARGS...: runs cmlsh in a pty of that size, keys
# come from $SCRATCH/keys (written with keys), output to $SCRATCH/tty.out
tty_start() {
	local rows=$1 cols=$2
	shift 2
	pty_start "$rows" "$cols" "$CMLSH" --socket "$SOCK" "$@"
}

n0=$(audit_count)
tty_start 33 101 container exec -it "$name" -- /bin/sh
pty_wait '#' || true
pty_keys 'echo one-$((1+1)); stty size\r'
pty_wait '33 101' || true
pty_keys 'tty; echo two-$((2+1))\r'
pty_wait 'two-3' || true
pty_keys 'exit 7\r'
pty_end
out=$(tr -d '\r' <"$SCRATCH/tty.out")
expect_match "a shell on a pty runs the first command" '(^|
)one-2
' "$out"
expect_match "stty size inside: the caller's size" '
33 101
' "$out"
expect_match "the command's terminal is a pty of the container" '
/dev/pts/0
' "$out"
expect_match "a shell on a pty runs the second command" '
two-3
' "$out"
expect_status "exit 7 in the shell: cmlsh exits 7" 7 "$trc"
expect_eq "audited with its exit status" "$((n0 + 1))
type=call uid=0 pid=$(audit_last | sed -n 's/.* pid=\([0-9]*\) .*/\1/p') container=$name object=org.cml.Container.Exec result=ok details=ran in $name, exit status 7" \
    "$(audit_last)"

# --- a resize -----------------------------------------------------------------------------------
tty_start 24 80 container exec -t "$name" -- /bin/sh
pty_wait '#' || true
pty_keys 'stty size\r'
pty_wait '24 80' || true
# the size script's pty gets, then SIGWINCH to cmlsh (script passes it on
# only for its own terminal): cmlsh reads its terminal's size again
spty=$(ps -o tty= -p "$(pgrep -P "$tpid" -n)" 2>/dev/null | tr -d ' ')
cpid=$(pgrep -f "^$CMLSH --socket $SOCK container exec -t" | head -n 1)
stty -F "/dev/$spty" rows 50 cols 132 2>/dev/null
kill -WINCH "$cpid"
sleep 0.5
pty_keys 'stty size\r'
pty_wait '50 132' || true
pty_keys 'exit\r'
pty_end
out=$(tr -d '\r' <"$SCRATCH/tty.out")
expect_match "stty size before the resize" '
24 80
' "$out"
expect_match "stty size after the resize" '
50 132
' "$out"
expect_status "the shell's end" 0 "$trc"

# --- Ctrl-C through the pty ------------------------------------------------------------------------
tty_start 24 80 container exec -it "$name" -- sleep 100
for ((i = 0; i < 50; i++)); do
	pgrep -f '^sleep 100$' >/dev/null && break
	sleep 0.1
done
pty_keys '\003'
pty_end
expect_status "Ctrl-C ends sleep 100 inside: 128 + SIGINT" 130 "$trc"
expect_eq "sleep is gone" "" "$(pgrep -f '^sleep 100$')"
tty_start 24 80 container exec -it "$name" -- /bin/sh
pty_wait '#' || true
pty_keys 'sleep 100\r'
for ((i = 0; i < 50; i++)); do
	pgrep -f '^sleep 100$' >/dev/null && break
	sleep 0.1
done
pty_keys '\003'
sleep 0.3
pty_keys 'echo status=$?\r'
pty_wait 'status=' || true
pty_keys 'exit\r'
pty_end
expect_match "Ctrl-C in the shell ends sleep, the shell goes on" 'status=130' "$(tr -d '\r' <"$SCRATCH/tty.out")"

# --- the terminal is restored --------------------------------------------------------------------
rm -f "$SCRATCH/keys"
mkfifo "$SCRATCH/keys"
printf -v args '%q ' "$CMLSH" --socket "$SOCK" container exec -t "$name" -- true
script -qfec "stty -a | grep -o -- '-\?icanon'; $args; stty -a | grep -o -- '-\?icanon'" /dev/null \
    <"$SCRATCH/keys" >"$SCRATCH/tty.out" 2>&1 &
tpid=$!
track_pid "$tpid"
exec 9>"$SCRATCH/keys"
pty_end
expect_eq "the caller's terminal is cooked again after exec -t" "icanon
icanon" "$(grep -a -o -- '-\?icanon' "$SCRATCH/tty.out")"

# ... also when cmlsh is ended by a signal (SIGTERM, as a closed ssh
# session's SIGHUP): the command inside loses its terminal and ends
rm -f "$SCRATCH/keys"
mkfifo "$SCRATCH/keys"
printf -v args '%q ' "$CMLSH" --socket "$SOCK" container exec -it "$name" -- sleep 100
script -qfec "$args; echo status=\$?; stty -a | grep -o -- '-\?icanon'" /dev/null \
    <"$SCRATCH/keys" >"$SCRATCH/tty.out" 2>&1 &
tpid=$!
track_pid "$tpid"
exec 9>"$SCRATCH/keys"
for ((i = 0; i < 50; i++)); do
	pgrep -f '^sleep 100$' >/dev/null && break
	sleep 0.1
done
kill -TERM "$(pgrep -f "^$CMLSH --socket $SOCK container exec -it $name -- sleep 100" | head -n 1)"
for ((i = 0; i < 50; i++)); do
	pgrep -f '^sleep 100$' >/dev/null || break
	sleep 0.1
done
pty_end
expect_eq "SIGTERM to cmlsh: its terminal is cooked again, it exits 1" "status=1
icanon" "$(tr -d '\r' <"$SCRATCH/tty.out" | grep -a -o -e 'status=[0-9]*' -e '-\?icanon')"
expect_eq "SIGTERM to cmlsh: the command inside lost its terminal and ended" "" "$(pgrep -f '^sleep 100$')"

# --- from an interactive cmlsh session (readline) ----------------------------------------------
tty_start 24 80
pty_wait 'cml>' || true
pty_keys "container exec -it $name -- /bin/sh\r"
pty_wait '# ' || true
pty_keys 'echo inner-$((6*7)); exit 5\r'
pty_wait 'inner-42' || true
sleep 0.3
pty_keys 'container exec '"$name"' -- echo back-in-cmlsh\r'
pty_wait 'back-in-cmlsh' || true
pty_keys 'quit\r'
pty_end
# readline's and busybox's terminal escapes are not what is looked at
out=$(tr -d '\r' <"$SCRATCH/tty.out" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g')
expect_match "interactive cmlsh: exec -it runs a shell" 'inner-42' "$out"
expect_match "interactive cmlsh: the prompt comes back, the next command runs" '
back-in-cmlsh
' "$out"
expect_status "interactive cmlsh: quit" 0 "$trc"

# --- in a user namespace ---------------------------------------------------------------------------
# the pty is the container's own, opened inside, so root inside owns it
uns=$(ct_name uns)
ct_create "$uns" '{"name":"'"$uns"'","guestos":{"name":"busybox"},"linux":{"user_namespace":true}}'
ct_start "$uns"
# (script's input stays open until the command ended: at its end script
# would type an end-of-file character into the raw terminal, and cmlsh
# passes every key on)
tty_start 20 70 container exec -t "$uns" -- sh -c 'tty; id -u; stty size'
pty_wait '20 70' || true
pty_end
out=$(tr -d '\r' <"$SCRATCH/tty.out")
expect_eq "exec -t in a user namespace: a pty of its own devpts, root inside, the size" "/dev/pts/0
0
20 70" "$out"
_run_tool "container kill $uns" "$CMLSH" --socket "$SOCK" --yes container kill "$uns"

expect_eq "after all that, the container runs" "running" "$(ct_state "$name")"
finish
