#!/bin/bash
# A running container is fenced off from the host: `ps` inside shows its
# own processes only and a host process is out of reach; it has its own
# host name, which it cannot change, and the host's stays; it sees no
# network interface of the host, only its own lo; it sees none of the
# host's System V IPC objects; the files of /proc and /sys that tell about
# or act on the host are masked or read-only; no signal is ignored or
# blocked in its processes (as cmld ignores SIGPIPE); and each of its
# mount, PID, UTS, IPC, network and cgroup namespaces is its own.
# Proves: TSF.ISOL (namespaces of its own; /proc and /sys masked), OS 01,
# OS 05 (host processes and host name and IPC out of reach),
# CR 5.1 (a network namespace of its own: lo only).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog ipcmk ipcrm ip
ct_setup

name=$(ct_name iso)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"hostname":"iso-host"}'
ct_start "$name"
expect_eq "the container runs" "running" "$(ct_state "$name")"

# --- processes -----------------------------------------------------------------
# a host process with a marker, which the container must not see
sleep 3117 &
hostpid=$!
track_pid "$hostpid"

out=$(ct_exec "$name" /bin/ps 2>&1)
expect_status "ps inside" 0 $?
expect_lines "ps inside: the container's init, its sleep and ps itself, nothing of the host" "$out" \
    '^PID +USER +COMMAND$' \
    '^ +1 root +\{init\} /bin/sh /sbin/init$' \
    '^ +2 root +sleep 3600$' \
    '^ +[0-9]+ root +/bin/ps$'
out=$(ct_exec "$name" /bin/sh -c 'cd /proc && echo [0-9]*' 2>&1)
expect_match "/proc inside: the process directories are 1, 2 and the shell's own" \
    '^1 2 [0-9]+$' "$out"
expect_eq "/proc/HOSTPID of a host process is not there inside" "no" \
    "$(ct_exec "$name" /bin/sh -c "[ -e /proc/$hostpid ] && echo yes || echo no" 2>&1)"
out=$(ct_exec "$name" /bin/kill -0 "$hostpid" 2>&1)
expect_status "kill -0 of a host pid from inside" 1 $?
expect_eq "kill -0 of a host pid from inside: no such process" \
    "kill: can't kill pid $hostpid: No such process" "$out"
expect_eq "the host process still runs" "yes" \
    "$(kill -0 "$hostpid" 2>/dev/null && echo yes || echo no)"
kill "$hostpid"
wait "$hostpid" 2>/dev/null
untrack_pid "$hostpid"

# --- host name -----------------------------------------------------------------
host_name=$(hostname)
expect_eq "hostname inside: the config's" "iso-host" "$(ct_exec "$name" /bin/hostname 2>&1)"
expect_eq "/proc/sys/kernel/hostname inside: the config's" "iso-host" \
    "$(ct_exec "$name" /bin/cat /proc/sys/kernel/hostname 2>&1)"
out=$(ct_exec "$name" /bin/hostname evil 2>&1)
expect_status "hostname evil inside (no CAP_SYS_ADMIN)" 1 $?
expect_eq "hostname evil inside: refused" \
    "hostname: sethostname: Operation not permitted" "$out"
expect_eq "the host's name did not change" "$host_name" "$(hostname)"
expect_eq "the container's name did not change" "iso-host" "$(ct_exec "$name" /bin/hostname 2>&1)"

# --- network -------------------------------------------------------------------
host_ifs=$(sed -n '3,$s/^ *\([^:]*\):.*/\1/p' /proc/net/dev | sort | tr '\n' ' ')
[ "$host_ifs" != "lo " ] ||
    fail "the host has no network interface but lo: this test could not tell the container's from the host's"
out=$(ct_exec "$name" /bin/cat /proc/net/dev 2>&1)
expect_eq "/proc/net/dev inside: lo only (the host has $host_ifs)" "lo" \
    "$(sed -n '3,$s/^ *\([^:]*\):.*/\1/p' <<<"$out")"
out=$(ct_exec "$name" /sbin/ip -o link 2>&1)
expect_status "ip -o link inside" 0 $?
expect_lines "ip -o link inside: lo only, one line" "$out" '^1: lo: <LOOPBACK[,>]'
out=$(ct_exec "$name" /bin/ls /sys/class/net 2>&1)
expect_eq "/sys/class/net inside: lo only" "lo" "$out"

# --- System V IPC ----------------------------------------------------------------
shmid=$(ipcmk -M 4096 | sed -n 's/^Shared memory id: //p')
[ -n "$shmid" ] || fail "ipcmk -M 4096 made no segment on the host"
expect_match "the host sees its shared memory segment" " $shmid " "$(cat /proc/sysvipc/shm)"
out=$(ct_exec "$name" /bin/cat /proc/sysvipc/shm 2>&1)
ipcrm -m "$shmid"
expect_lines "/proc/sysvipc/shm inside: the header, no segment of the host" "$out" '^ +key +shmid perms '

# --- /proc and /sys --------------------------------------------------------------
# Each mask is a mount of its own inside (mountinfo: mount point, options).
mounts=$(ct_exec "$name" /bin/cat /proc/self/mountinfo 2>&1)
mopts() { awk -v p="$1" '$5 == p { o = $6 } END { print o }' <<<"$mounts"; }
for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
	[ -e "$f" ] || continue
	expect_match "$f inside: masked (a mount over it)" '.' "$(mopts "$f")"
	expect_eq "$f inside: empty (/dev/null)" "0" \
	    "$(ct_exec "$name" /bin/sh -c "wc -c <$f" 2>&1 | tr -d ' ')"
done
for d in /proc/acpi /proc/scsi /proc/asound /sys/firmware; do
	[ -e "$d" ] || continue
	expect_match "$d inside: an empty read-only tmpfs over it" '^ro,' "$(mopts "$d")"
	expect_eq "$d inside: empty" "" "$(ct_exec "$name" /bin/ls -A "$d" 2>&1)"
done
for p in /proc/sys /proc/sysrq-trigger /proc/irq /proc/bus /proc/fs; do
	[ -e "$p" ] || continue
	expect_match "$p inside: read-only" '^ro,' "$(mopts "$p")"
done
expect_match "/sys inside: read-only" '^ro,' "$(mopts /sys)"
# the same value written back: refused, and harmless if it were not
out=$(ct_exec "$name" /bin/sh -c 'cat /proc/sys/kernel/printk_ratelimit >/proc/sys/kernel/printk_ratelimit' 2>&1)
expect_match "a write to /proc/sys inside: refused" 'Read-only file system' "$out"

# --- signals ---------------------------------------------------------------------
# cmld ignores SIGPIPE, and what its starter ignored (SIGHUP, SIGINT...):
# none of that reaches init (its shell may ignore signals of its own).
ipid=$(ct_show "$name" pid)
cign=$(sed -n 's/^SigIgn:\t//p' "/proc/$(cmld_pid)/status")
iign=$(sed -n 's/^SigIgn:\t//p' "/proc/$ipid/status")
expect_eq "init ignores none of the signals cmld ignores (cmld $cign, init $iign)" \
    "0" "$(((16#$cign | 1 << 12) & 16#$iign & ~(1 << 2)))"
expect_eq "init blocks no signal" \
    "0000000000000000" "$(sed -n 's/^SigBlk:\t//p' "/proc/$ipid/status")"
expect_eq "an exec ignores and blocks no signal" \
    "SigBlk:	0000000000000000
SigIgn:	0000000000000000" "$(ct_exec "$name" /bin/grep -E '^Sig(Blk|Ign):' /proc/self/status 2>&1)"

# --- namespaces ----------------------------------------------------------------
for ns in mnt pid uts ipc net cgroup; do
	inside=$(ct_exec "$name" /bin/readlink /proc/1/ns/$ns 2>&1)
	host=$(readlink /proc/self/ns/$ns)
	expect_match "$ns namespace inside is one" "^$ns:\\[[0-9]+\\]\$" "$inside"
	CHECKS=$((CHECKS + 1))
	if [ "$inside" != "$host" ]; then
		_check_passed "$ns namespace inside ($inside) is not the host's ($host)"
	else
		_check_failed "$ns namespace inside ($inside) is the host's"
	fi
	expect_eq "an exec joins init's $ns namespace" "$inside" \
	    "$(ct_exec "$name" /bin/readlink /proc/self/ns/$ns 2>&1)"
done
out=$(ct_exec "$name" /bin/cat /proc/self/cgroup 2>&1)
expect_eq "/proc/self/cgroup inside: the root of every hierarchy (cgroup namespace)" "" \
    "$(grep -v ':/$' <<<"$out")"

cmlsh_run container stop "$name" >/dev/null
expect_eq "stopped" "stopped" "$(ct_state "$name")"
finish
