#!/bin/bash
# The cgroup v2 path of cmld, on a real cgroup2 file system: cmld runs in a
# private mount namespace where cgroup2 is mounted over /sys/fs/cgroup (the
# host's unified hierarchy; the test's own /sys/fs/cgroup stays as it is),
# so it finds cgroup v2 at run time.
#
# Every config has a memory and a pids limit (cml-container(5): defaults
# 256 MiB and 1024), and a CPU quota or list needs cpu and cpuset.  Where
# the unified hierarchy lacks one of those controllers (on a host whose
# memory, cpu, cpuset and pids are bound to cgroup v1 hierarchies, only
# hugetlb is left to v2), the start is refused before anything is made,
# with a reason naming every missing controller and the field that needs
# it; the container is failed with that reason (audited), and no group, no
# parent group, no loop device, no mount and no mount point directory is
# left.  A container is never run without its limits.
#
# What runs on v2 without a controller: a cmld restarted while its
# container's group (recorded running) holds processes that are no
# container's init finds them through the group's cgroup.procs, kills them
# (cgroup.kill) and removes the group and the emptied parent; the
# container is stopped with "it ended while cmld was not running".
#
# Where memory and pids are offered to v2, the test also runs a container:
# its group with init in it, 0::/ inside (cgroup namespace), memory.max and
# pids.max, freeze and unfreeze through cgroup.freeze, stop, and no group
# left.  That part prints why when it cannot run.
# Proves: APS 04, CR 7.1, CR 7.2 (limits on cgroup v2 or no start at all;
# no leftovers), TSF.ISOL (cgroup namespace on v2), OS 01 (v2 cleanup after
# a restart).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog unshare nsenter mount sqlite3
make_scratch

# Runs its arguments with cgroup2 mounted over /sys/fs/cgroup (meant for a
# mount namespace of their own: unshare -m).
v2root=$SCRATCH/cgroup2-root
cat >"$v2root" <<'EOF' || fail "cannot write $v2root"
#!/bin/bash
mount -t cgroup2 none /sys/fs/cgroup || exit 97
exec "$@"
EOF
chmod 755 "$v2root"
in_v2() {
	unshare -m --propagation private "$v2root" "$@"
}
controllers=$(in_v2 cat /sys/fs/cgroup/cgroup.controllers) ||
    skip "cannot mount cgroup2 over /sys/fs/cgroup in a private mount namespace"
has() {
	[[ " $controllers " == *" $1 "* ]]
}
host_fs=$(stat -f -c %T /sys/fs/cgroup)

CML_TEST_WRAP="unshare -m --propagation private $v2root"
CT_CGROUP_PARENT=cml-test-$$
P=$CT_CGROUP_PARENT
ct_setup
cpid=$(cmld_pid) || fail "no cmld"
# runs a command in cmld's mount namespace
in_cmld() {
	nsenter -t "$cpid" -m -- "$@"
}
expect_eq "cmld's /sys/fs/cgroup is cgroup2" "cgroup2fs" "$(in_cmld stat -f -c %T /sys/fs/cgroup)"
expect_eq "the test's /sys/fs/cgroup is untouched" "$host_fs" "$(stat -f -c %T /sys/fs/cgroup)"
expect_eq "cmld sees the unified hierarchy's controllers" "$controllers" \
    "$(in_cmld cat /sys/fs/cgroup/cgroup.controllers)"

# in_cmld_leftovers NAME: what a container left in cmld's namespace and on
# the host (group, parent, mounts, directory, loop devices of the stack)
in_cmld_leftovers() {
	in_cmld sh -c "ls -d /sys/fs/cgroup/$P/$1 /sys/fs/cgroup/$P 2>/dev/null" | sed 's/^/cgroup /'
	grep -F " $STACK_DIR/" "/proc/$cpid/mountinfo" | sed 's/^/mount in cmld: /'
	[ -e "$STACK_DIR/run/cml/containers/$1" ] && echo "directory $STACK_DIR/run/cml/containers/$1"
	ct_loops | sed 's/^/loop device /'
	return 0
}

# why NAME CONTROLLER:FIELD...: the refusal for the controllers missing
why() {
	local name=$1 m= c
	shift
	for c in "$@"; do
		has "${c%%:*}" && continue
		m+="${m:+, }no ${c%%:*} controller enabled (needed for ${c#*:})"
	done
	[ -n "$m" ] || return 1
	printf "cgroup v2 has %s: /sys/fs/cgroup/cgroup.controllers lists %s (a controller bound to a cgroup v1 hierarchy is not available to v2); container '%s' does not run without its limits" \
	    "$m" "$([ -n "$controllers" ] && echo "only '$controllers'" || echo none)" "$name"
}

# --- a limit without its controller: no start ------------------------------------------
name=$(ct_name v2)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"}}'
lim=$(ct_name v2-cpu)
ct_create "$lim" '{"name":"'"$lim"'","guestos":{"name":"busybox"},"linux":{"resources":{"cpu":{"quota":50000,"cpus":"0"}}}}'
MEM=memory:linux.resources.memory.limit
PIDS=pids:linux.resources.pids.limit
CPU="cpu:linux.resources.cpu.shares and .quota"
CPUSET=cpuset:linux.resources.cpu.cpus
refused=0
for c in "$name" "$lim"; do
	if [ "$c" = "$name" ]; then
		reason=$(why "$c" "$MEM" "$PIDS") || continue
	else
		reason=$(why "$c" "$MEM" "$PIDS" "$CPU" "$CPUSET") || continue
	fi
	refused=1
	for attempt in first second; do
		n0=$(audit_count)
		ct_cmlsh container start "$c"
		expect_status "$c, $attempt start: refused" 1 "$rc"
		expect_eq "$c, $attempt start: the reason names every missing controller" \
		    "cmlsh: container '$c' did not start: $reason" "$(cat "$SCRATCH/err")"
		expect_eq "$c: failed, with the reason" "$c failed $reason" "$(ct_list | grep "^$c ")"
		expect_match "$c, $attempt start: audited" \
		    "^$((n0 + 1))"$'\n'"type=call uid=0 pid=$pid container=$c object=org\\.cml\\.Container\\.Start result=org\\.cml\\.Error\\.Failed details=container '$c' did not start: $(re_quote "$reason")\$" \
		    "$(audit_last)"
		expect_eq "$c, $attempt start: nothing is left (no group, no parent group)" "" "$(in_cmld_leftovers "$c")"
	done
done
if [ "$refused" = 0 ]; then
	echo "# this host's cgroup v2 offers memory, pids, cpu and cpuset ('$controllers'): no refusal to check"
fi

# --- a leftover group of a container cmld recorded running --------------------------------
stack_stop
dead=$name
unshare -m --propagation private "$v2root" bash -c "mkdir -p /sys/fs/cgroup/$P/$dead && echo \$\$ >/sys/fs/cgroup/$P/$dead/cgroup.procs && { sleep 300 & exec sleep 301; }" &
p1=$!
# bash would report its end ("Killed") on stderr
disown "$p1"
track_pid "$p1"
for ((i = 0; i < 50; i++)); do
	procs=$(in_v2 cat "/sys/fs/cgroup/$P/$dead/cgroup.procs" 2>/dev/null | sort -n | tr '\n' ' ')
	[ "$(wc -w <<<"$procs")" = 2 ] && break
	sleep 0.1
done
expect_eq "two processes in $P/$dead while cmld is down" 2 "$(wc -w <<<"$procs")"
sqlite3 "$(state_dir)/cml.db" ".timeout 5000" \
    "update container set state = 'running', pid = 0, guestos_version = '1.0', reason = null where name = '$dead'" ||
    fail "cannot mark $dead running"
stack_start
cpid=$(cmld_pid) || fail "no cmld after the restart"
expect_eq "after the restart: stopped, with the reason" "$dead stopped it ended while cmld was not running" \
    "$(ct_list | grep "^$dead ")"
for p in $procs; do
	expect_eq "process $p of the leftover group is killed" "gone" \
	    "$(s=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ] && echo gone || echo "state $s")"
done
untrack_pid "$p1"
expect_eq "the leftover group and the emptied parent are removed" "" "$(in_cmld_leftovers "$dead")"
expect_match "audited" \
    "(^|"$'\n'")type=container uid=0 pid=$(cmld_pid) container=$dead object=container result=stopped details=it ended while cmld was not running \\(no init\\); cleaned up(\$|"$'\n'")" \
    "$(audit_tail 5)"

# --- a container on v2 (only where v2 has the controllers) ---------------------------------
if ! has memory || ! has pids; then
	echo "# not run here: a container on cgroup v2 needs the memory and pids controllers, and this host's v2 offers '$controllers'"
	finish
fi
run=$(ct_name v2-run)
ct_create "$run" '{"name":"'"$run"'","guestos":{"name":"busybox"},"linux":{"resources":{"memory":{"limit":67108864},"pids":{"limit":64}}}}'
ct_cmlsh container start "$run"
expect_status "start on v2" 0 "$rc"
ipid=$(ct_show "$run" pid)
g=/sys/fs/cgroup/$P/$run
expect_eq "init is in $P/$run" "yes" "$(in_cmld grep -qx "$ipid" "$g/cgroup.procs" && echo yes || echo no)"
expect_eq "/proc/$ipid/cgroup from the host" "0::/$P/$run" "$(grep '^0::' "/proc/$ipid/cgroup")"
expect_eq "memory.max" "67108864" "$(in_cmld cat "$g/memory.max")"
expect_eq "pids.max" "64" "$(in_cmld cat "$g/pids.max")"
expect_eq "inside: /proc/self/cgroup is 0::/ (cgroup namespace)" "0::/" "$(ct_exec "$run" /bin/cat /proc/self/cgroup 2>&1)"
ct_cmlsh container freeze "$run"
expect_status "freeze" 0 "$rc"
expect_eq "frozen" "frozen" "$(ct_state "$run")"
expect_eq "cgroup.freeze" "1" "$(in_cmld cat "$g/cgroup.freeze")"
expect_match "cgroup.events: frozen 1" "(^|"$'\n'")frozen 1(\$|"$'\n'")" "$(in_cmld cat "$g/cgroup.events")"
ct_cmlsh container unfreeze "$run"
expect_status "unfreeze" 0 "$rc"
expect_eq "cgroup.freeze after unfreeze" "0" "$(in_cmld cat "$g/cgroup.freeze")"
ct_cmlsh container stop "$run"
expect_status "stop" 0 "$rc"
expect_eq "after stop: nothing is left" "" "$(in_cmld_leftovers "$run")"

finish
