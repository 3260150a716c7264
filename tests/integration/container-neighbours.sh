#!/bin/bash
# Two service containers running side by side cannot see each other: not
# each other's processes (ps, /proc, kill), not each other's files (the
# writable layer, /tmp, /dev/shm), not each other's System V IPC, not each
# other's network; every namespace of one differs from the other's, and
# each has its own cgroups on the host.
# Proves: TSF.ISOL (none of each other's processes or files or IPC),
# APS 05 (each app a container of its own),
# OS 02 (service containers kept apart),
# CR 5.1 (a network namespace each: no connection between them), OS 01.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

a=$(ct_name nb-a)
b=$(ct_name nb-b)
# a long-running process with a marker in each
ct_create "$a" '{"name":"'"$a"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","sleep 2001 & exec /sbin/init"]}}'
ct_create "$b" '{"name":"'"$b"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","sleep 2002 & exec /sbin/init"]}}'
ct_start "$a"
ct_start "$b"
expect_eq "both run" "running running" "$(ct_state "$a") $(ct_state "$b")"

# --- processes -----------------------------------------------------------------
pa=$(ct_exec "$a" /bin/ps -o comm,args 2>&1)
pb=$(ct_exec "$b" /bin/ps -o comm,args 2>&1)
expect_match "$a sees its own marker process" 'sleep 2001' "$pa"
expect_match "$b sees its own marker process" 'sleep 2002' "$pb"
CHECKS=$((CHECKS + 1))
if [[ "$pa" != *"sleep 2002"* ]] && [[ "$pb" != *"sleep 2001"* ]]; then
	_check_passed "neither sees the other's marker process in ps"
else
	_check_failed "a container sees the other's process: $a: $pa / $b: $pb"
fi
expect_eq "the host sees both markers" "2" \
    "$(ps -eo args | grep -cE '^sleep 200[12]$')"
out=$(ct_exec "$a" /bin/sh -c 'for p in /proc/[0-9]*; do tr "\0" " " <$p/cmdline; echo; done' 2>&1)
CHECKS=$((CHECKS + 1))
if [[ "$out" != *"sleep 2002"* ]]; then
	_check_passed "no command line of $b's processes under $a's /proc"
else
	_check_failed "$a's /proc shows $b's process: $out"
fi
host_bpid=$(pgrep -xf 'sleep 2002' | head -n 1)
out=$(ct_exec "$a" /bin/kill -9 "$host_bpid" 2>&1)
expect_eq "kill of $b's marker (host pid $host_bpid) from $a: no such process" \
    "kill: can't kill pid $host_bpid: No such process" "$out"
expect_eq "$b's marker still runs" "1" "$(pgrep -cxf 'sleep 2002')"

# --- files ---------------------------------------------------------------------
ct_exec "$a" /bin/sh -c 'echo from-a >/tmp/a-file; echo from-a >/dev/shm/a-shm; echo from-a >/a-root' >/dev/null 2>&1
expect_eq "$a wrote its files" "from-a from-a from-a" \
    "$(ct_exec "$a" /bin/cat /tmp/a-file /dev/shm/a-shm /a-root 2>&1 | tr '\n' ' ' | sed 's/ $//')"
for f in /tmp/a-file /dev/shm/a-shm /a-root; do
	expect_eq "$b does not see $a's $f" "absent" \
	    "$(ct_exec "$b" /bin/sh -c "[ -e $f ] && echo present || echo absent" 2>&1)"
done
out=$(ct_exec "$b" /bin/sh -c 'ls -a /tmp /dev/shm' 2>&1)
expect_eq "$b's /tmp and /dev/shm are empty" "/dev/shm:
.
..

/tmp:
.
.." "$out"

# --- System V IPC --------------------------------------------------------------
# busybox has no ipcmk: the host makes a segment in a's IPC namespace
need_prog nsenter ipcmk
apid=$(ct_show "$a" pid)
shmid=$(nsenter --ipc="/proc/$apid/ns/ipc" ipcmk -M 4096 | sed -n 's/^Shared memory id: //p')
[ -n "$shmid" ] || fail "could not make a shared memory segment in $a's IPC namespace"
out=$(ct_exec "$a" /bin/cat /proc/sysvipc/shm 2>&1)
expect_lines "$a sees the segment in its IPC namespace" "$out" '^ +key +shmid ' "^ *-?[0-9]+ +$shmid +"
out=$(ct_exec "$b" /bin/cat /proc/sysvipc/shm 2>&1)
expect_lines "$b does not see $a's segment" "$out" '^ +key +shmid '

# --- namespaces ----------------------------------------------------------------
for ns in mnt pid uts ipc net cgroup; do
	na=$(ct_exec "$a" /bin/readlink /proc/1/ns/$ns 2>&1)
	nb=$(ct_exec "$b" /bin/readlink /proc/1/ns/$ns 2>&1)
	CHECKS=$((CHECKS + 1))
	if [[ $na =~ ^$ns:\[[0-9]+\]$ ]] && [[ $nb =~ ^$ns:\[[0-9]+\]$ ]] && [ "$na" != "$nb" ]; then
		_check_passed "$ns namespaces differ ($na, $nb)"
	else
		_check_failed "$ns namespaces: $a has '$na', $b has '$nb'"
	fi
done

# --- network -------------------------------------------------------------------
# a listener on lo in b, reachable from b, is not reachable from a's lo
ct_exec "$b" /bin/sh -c 'while :; do nc -l -p 7777 -e /bin/echo hello-from-b; done >/dev/null 2>&1 &' >/dev/null 2>&1
listening=no
for ((i = 0; i < 30; i++)); do
	if [[ "$(ct_exec "$b" /bin/netstat -ltn 2>&1)" == *":7777 "* ]]; then
		listening=yes
		break
	fi
	sleep 0.1
done
expect_eq "$b listens on port 7777" "yes" "$listening"
out=$(ct_exec "$a" /bin/netstat -ltn 2>&1)
CHECKS=$((CHECKS + 1))
if [[ "$out" != *":7777 "* ]]; then
	_check_passed "$a does not see $b's listening socket"
else
	_check_failed "$a sees $b's listening socket: $out"
fi
out=$(ct_exec "$a" /usr/bin/nc -w 1 127.0.0.1 7777 </dev/null 2>&1)
expect_status "$a cannot connect to $b's listener on 127.0.0.1:7777" 1 $?
expect_eq "$a's connection attempt: refused" "nc: can't connect to remote host (127.0.0.1): Connection refused" "$out"
expect_eq "$b connects to its own listener on 127.0.0.1:7777" "hello-from-b" \
    "$(ct_exec "$b" /usr/bin/nc -w 1 127.0.0.1 7777 </dev/null 2>&1)"

# --- cgroups -------------------------------------------------------------------
expect_eq "$a and $b have their own cgroups on the host" "$(ct_cgroups "$a" | sed "s|/$a\$||")" \
    "$(ct_cgroups "$b" | sed "s|/$b\$||")"
expect_match "$a's cgroups exist" "/$CT_CGROUP_PARENT/$a" "$(ct_cgroups "$a")"

finish
