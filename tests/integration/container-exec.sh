#!/bin/bash
# `container exec NAME -- CMD...` runs CMD inside the container and hands
# back what it does: cmlsh exits with the command's exit status (3 for
# `exit 3`, 128 + 9 for a command killed by SIGKILL), stdout and stderr
# arrive on cmlsh's stdout and stderr, output comes while the command
# still runs (streamed, not at its end), a megabyte of output arrives
# whole, the command gets the config's environment, / as its directory and
# /dev/null as stdin; --json collects stdout and stderr (base64, since
# output is bytes, not text) and exit_status.  A
# relative or missing command is refused with the reason; every exec is
# audited with its exit status.  A caller that does not read the output
# of `yes` holds up `yes`, not cmld.
# Proves: OS 01 (exec into a container),
# CR 7.1 (a caller that does not read holds up its command and not cmld),
# CR 2.8 (every exec audited), CR 2.12 (with uid and pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

name=$(ct_name exec)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"process":{"env":["PATH=/bin:/sbin:/usr/bin","GREETING=hello there"]}}'
ct_start "$name"

# --- exit status -------------------------------------------------------------------------
n0=$(audit_count)
ct_cmlsh container exec "$name" -- /bin/sh -c 'exit 3'
expect_status "sh -c 'exit 3': cmlsh exits 3" 3 "$rc"
expect_eq "sh -c 'exit 3': nothing on stdout" "" "$(cat "$SCRATCH/out")"
expect_eq "sh -c 'exit 3': nothing on stderr" "" "$(cat "$SCRATCH/err")"
expect_eq "sh -c 'exit 3': audited with the exit status" "$((n0 + 1))
type=call uid=0 pid=$pid container=$name object=org.cml.Container.Exec result=ok details=ran in $name, exit status 3" \
    "$(audit_last)"
ct_cmlsh container exec "$name" -- /bin/true
expect_status "true: cmlsh exits 0" 0 "$rc"
ct_cmlsh container exec "$name" -- /bin/false
expect_status "false: cmlsh exits 1" 1 "$rc"
ct_cmlsh container exec "$name" -- /bin/sh -c 'kill -9 $$'
expect_status "a command killed by SIGKILL: 128 + 9" 137 "$rc"
ct_cmlsh container exec "$name" -- /bin/sh -c 'exit 255'
expect_status "sh -c 'exit 255': cmlsh exits 255" 255 "$rc"

# --- stdout and stderr -----------------------------------------------------------------------
ct_cmlsh container exec "$name" -- /bin/sh -c 'echo to-out; echo to-err >&2; echo more-out'
expect_status "output on both" 0 "$rc"
expect_eq "stdout on cmlsh's stdout" "to-out
more-out" "$(cat "$SCRATCH/out")"
expect_eq "stderr on cmlsh's stderr" "to-err" "$(cat "$SCRATCH/err")"
out=$(ct_exec "$name" /bin/sh -c 'head -c 1048576 /dev/zero | tr "\0" a' 2>"$SCRATCH/err" | wc -c)
expect_eq "a megabyte of output arrives whole" "1048576" "$out"
expect_eq "a megabyte of output: nothing on stderr" "" "$(cat "$SCRATCH/err")"
out=$(ct_exec "$name" /bin/sh -c 'printf "a\0b\377c\n"' 2>&1 | od -An -c | tr -s ' ')
expect_eq "bytes that are not text arrive as they are" " a \\0 b 377 c \\n" "$out"

# --- streamed ------------------------------------------------------------------------------
"$CMLSH" --socket "$SOCK" container exec "$name" -- /bin/sh -c 'echo first; sleep 3; echo second' \
    >"$SCRATCH/stream" 2>&1 &
spid=$!
track_pid "$spid"
got=
for ((i = 0; i < 25; i++)); do
	got=$(cat "$SCRATCH/stream")
	[ -n "$got" ] && break
	sleep 0.1
done
expect_eq "the first line arrives while the command still runs" "first" "$got"
expect_eq "cmlsh still runs then" "yes" "$(kill -0 "$spid" 2>/dev/null && echo yes || echo no)"
wait "$spid"
expect_status "the streamed command" 0 $?
untrack_pid "$spid"
expect_eq "then the rest" "first
second" "$(cat "$SCRATCH/stream")"

# --- what the command gets ---------------------------------------------------------------------
out=$(ct_exec "$name" /bin/sh -c 'pwd; echo "$GREETING"; echo "$PATH"; readlink /proc/self/fd/0' 2>&1)
expect_eq "directory /, the config's environment, stdin /dev/null" "/
hello there
/bin:/sbin:/usr/bin
/dev/null" "$out"
out=$(ct_exec "$name" /usr/bin/env 2>&1)
expect_eq "the environment is the config's (and what sh adds, nothing of cmld's)" \
"GREETING=hello there
PATH=/bin:/sbin:/usr/bin" "$(grep -v -e '^PWD=' -e '^SHLVL=' <<<"$out" | LC_ALL=C sort)"

# --- --json ------------------------------------------------------------------------------------
out=$(cmlsh_run --json container exec "$name" -- /bin/sh -c 'echo out; echo err >&2; exit 3' 2>&1)
expect_status "--json: cmlsh exits with the command's status" 3 $?
expect_eq "--json: stdout, stderr and exit_status" '["out\n", "err\n", 3]' \
    "$(printf '%s' "$out" | python3 -c 'import base64, json, sys
try:
    r = json.load(sys.stdin)
    b = lambda v: base64.b64decode(v, validate=True).decode()
    print(json.dumps([b(r["stdout"]), b(r["stderr"]), r["exit_status"]]))
except (ValueError, KeyError) as e:
    print("<not an exec reply: %r>" % e)')"

# --- a caller that does not read -------------------------------------------------------------
# The command's pipes are the caller's: `yes` with nobody reading fills its
# pipe and waits; cmld buffers nothing, answers others, and reports the end
# once the caller goes away.
cmld=$(cmld_pid) || fail "no cmld"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$cmld/status"; }
cat >"$SCRATCH/noread.py" <<'PY'
import os, sys, time
sys.path.insert(0, os.path.join(os.environ["CML_SRCDIR"], "tests/integration"))
import varlink
c = varlink.Connection(sys.argv[1], 20)
c.send("org.cml.Container.Exec", {"name": sys.argv[2], "command": ["/bin/busybox", "yes"]}, more=True)
m = c.recv()
print("fds %d stdout %s stderr %s" % (len(c.fds), m["parameters"].get("stdout"),
      m["parameters"].get("stderr")), flush=True)
time.sleep(float(sys.argv[3]))
PY
before=$(rss)
python3 "$SCRATCH/noread.py" "$SOCK" "$name" 6 >"$SCRATCH/noread" 2>&1 &
npid=$!
track_pid "$npid"
sleep 4
after=$(rss)
expect_eq "a streamed exec passes two pipes: stdout as 0, stderr as 1" \
    "fds 2 stdout 0 stderr 1" "$(head -n 1 "$SCRATCH/noread")"
expect_eq "yes, unread for 4 s, costs cmld under 1 MiB (${before} -> ${after} KiB)" \
    1 "$((after - before < 1024 ? 1 : 0))"
expect_eq "yes runs, held up by its pipe" 1 "$(pgrep -f '^/bin/busybox yes$' | wc -l)"
expect_eq "others get answers meanwhile" running "$(ct_state "$name")"
wait "$npid"
untrack_pid "$npid"
# (the host sees the container's processes)
for ((i = 0; i < 50; i++)); do
	pgrep -f '^/bin/busybox yes$' >/dev/null || break
	sleep 0.1
done
expect_eq "once the caller is gone, yes ends (SIGPIPE)" "" "$(pgrep -f '^/bin/busybox yes$')"

# --- refused ---------------------------------------------------------------------------------------
n0=$(audit_count)
ct_cmlsh container exec "$name" -- bin/true
expect_status "a relative command" 1 "$rc"
expect_eq "a relative command: why" \
    "cmlsh: the command must start with an absolute path inside the container, e.g. /bin/ps" "$(cat "$SCRATCH/err")"
expect_eq "a relative command: audited" "$((n0 + 1))
type=call uid=0 pid=$pid container=$name object=org.cml.Container.Exec result=org.cml.Error.InvalidArgument details=the command must start with an absolute path inside the container, e.g. /bin/ps" \
    "$(audit_last)"
ct_cmlsh container exec "$name" -- /no/such
expect_status "a missing command" 1 "$rc"
expect_eq "a missing command: why" \
    "cmlsh: cannot run /no/such in container '$name': execution of '/no/such' in container '$name' failed: No such file or directory" \
    "$(cat "$SCRATCH/err")"
ct_cmlsh container exec "$name" -- /etc/passwd
expect_status "a command that is no program" 1 "$rc"
expect_eq "a command that is no program: why" \
    "cmlsh: cannot run /etc/passwd in container '$name': execution of '/etc/passwd' in container '$name' failed: Permission denied" \
    "$(cat "$SCRATCH/err")"
ct_cmlsh container exec "$name"
expect_status "no command: usage" 2 "$rc"
ct_cmlsh container exec "$(ct_name nosuch)" -- /bin/true
expect_status "exec in a container that does not exist" 1 "$rc"
expect_eq "exec in a container that does not exist: why" \
    "cmlsh: no container '$(ct_name nosuch)': 'container list' shows them" "$(cat "$SCRATCH/err")"

expect_eq "after all that, the container runs" "running" "$(ct_state "$name")"
finish
