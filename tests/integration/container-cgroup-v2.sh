#!/bin/bash
# The cgroup v2 path of cmld, on a real cgroup2 file system: cmld runs in a
# private mount namespace where cgroup2 is mounted over /sys/fs/cgroup (the
# test's own /sys/fs/cgroup stays as it is), so it finds cgroup v2 at run
# time.  Every half asserts on every host:
#
# Refusal.  Every config has a memory and a pids limit (cml-container(5):
# defaults 256 MiB and 1024), and a CPU quota or list needs cpu and
# cpuset.  cmld runs in a cgroup namespace whose root is a group of the
# host's unified hierarchy that the group above delegates no controller to
# (its cgroup.subtree_control is empty), as in a container without
# delegation; the root's cgroup.controllers, which cmld reads, is empty
# then on every host, whatever the host's v2 offers.  The start is refused
# before anything is made, with a reason naming every missing controller
# and the field that needs it; the container is failed with that reason
# (audited, twice the same), and no group, no parent group, no loop
# device, no mount and no mount point directory is left.  A container is
# never run without its limits.
#
# The host's own unified hierarchy (cgroup2 at its root): what cml
# promises depends on what it offers, and is checked either way.  Where a
# controller is missing (a host whose memory, cpu, cpuset and pids are
# bound to cgroup v1 hierarchies leaves only hugetlb to v2), the start is
# refused in the same way, naming exactly the missing controllers and what
# the hierarchy lists.  Where it offers them, the containers run: the
# group with init in it, 0::/ inside (cgroup namespace), memory.max,
# pids.max, cpu.max and cpuset.cpus, freeze and unfreeze through
# cgroup.freeze, stop, and no group left.  container-cgroup-v2-vm.sh proves
# the run on cgroup v2 on every host, in a virtual machine whose kernel
# gives every controller to v2.
#
# Cleanup after a restart, with no controller needed: a cmld restarted
# while its container's group (recorded running) holds processes that are
# no container's init finds them through the group's cgroup.procs, kills
# them (cgroup.kill) and removes the group and the emptied parent; the
# container is stopped with "it ended while cmld was not running".
# Proves: APS 04, CR 7.1, CR 7.2 (limits on cgroup v2 or no start at all;
# no leftovers), OS 01 (v2 cleanup after a restart).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog unshare nsenter mount umount sqlite3
make_scratch

# Runs its arguments with cgroup2 at /sys/fs/cgroup, the unified
# hierarchy's root (meant for a mount namespace of their own: unshare -m;
# on a host that is v2 only it is there already).
v2root=$SCRATCH/cgroup2-root
cat >"$v2root" <<'EOF' || fail "cannot write $v2root"
#!/bin/bash
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || mount -t cgroup2 none /sys/fs/cgroup || exit 97
exec "$@"
EOF
chmod 755 "$v2root"
in_v2() {
	unshare -m --propagation private "$v2root" "$@"
}
# cgroup2-in GROUP CMD...: runs CMD (its pid kept) in GROUP of the unified
# hierarchy, in a cgroup namespace rooted there, with that group's view of
# cgroup2 mounted over /sys/fs/cgroup (meant for unshare -m as well)
v2in=$SCRATCH/cgroup2-in
cat >"$v2in" <<'EOF' || fail "cannot write $v2in"
#!/bin/bash
if [ "$1" = --in-ns ]; then
	shift
	# the same cgroup2 cannot be mounted on itself: off with the root's view
	while [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; do
		umount -l /sys/fs/cgroup || exit 96
	done
	mount -t cgroup2 none /sys/fs/cgroup || exit 97
	exec "$@"
fi
g=$1
shift
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || mount -t cgroup2 none /sys/fs/cgroup || exit 97
echo $$ >"/sys/fs/cgroup/$g/cgroup.procs" || exit 98
exec unshare -C "$0" --in-ns "$@"
EOF
chmod 755 "$v2in"
controllers=$(in_v2 cat /sys/fs/cgroup/cgroup.controllers) ||
    skip "cannot mount cgroup2 over /sys/fs/cgroup in a private mount namespace"
host_fs=$(stat -f -c %T /sys/fs/cgroup)

CT_CGROUP_PARENT=cml-test-$$
P=$CT_CGROUP_PARENT

# runs a command in cmld's mount namespace
in_cmld() {
	nsenter -t "$cpid" -m -- "$@"
}

# in_cmld_leftovers NAME: what a container left in cmld's namespace and on
# the host (group, parent, mounts, directory, loop devices of the stack)
in_cmld_leftovers() {
	in_cmld sh -c "ls -d /sys/fs/cgroup/$P/$1 /sys/fs/cgroup/$P 2>/dev/null" | sed 's/^/cgroup /'
	grep -F " $STACK_DIR/" "/proc/$cpid/mountinfo" | sed 's/^/mount in cmld: /'
	[ -e "$STACK_DIR/run/cml/containers/$1" ] && echo "directory $STACK_DIR/run/cml/containers/$1"
	ct_loops | sed 's/^/loop device /'
	return 0
}

# why AVAILABLE NAME CONTROLLER:FIELD...: the refusal for the controllers
# missing from AVAILABLE (what cmld's /sys/fs/cgroup/cgroup.controllers
# lists); status 1 when none is missing
why() {
	local avail=$1 name=$2 m= c
	shift 2
	for c in "$@"; do
		[[ " $avail " == *" ${c%%:*} "* ]] && continue
		m+="${m:+, }no ${c%%:*} controller enabled (needed for ${c#*:})"
	done
	[ -n "$m" ] || return 1
	printf "cgroup v2 has %s: /sys/fs/cgroup/cgroup.controllers lists %s (a controller bound to a cgroup v1 hierarchy is not available to v2); container '%s' does not run without its limits" \
	    "$m" "$([ -n "$avail" ] && echo "only '$avail'" || echo none)" "$name"
}

# expect_refused NAME REASON: two starts, each refused with the reason,
# the container failed with it, audited, and nothing left
expect_refused() {
	local c=$1 reason=$2 attempt n0
	[ -n "$reason" ] || fail "expect_refused $c: no reason to expect"
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
}

MEM=memory:linux.resources.memory.limit
PIDS=pids:linux.resources.pids.limit
CPU="cpu:linux.resources.cpu.shares and .quota"
CPUSET=cpuset:linux.resources.cpu.cpus

# --- refusal: a cgroup root that is delegated no controller (every host) ------------------
# $P/nodeleg/root: nodeleg's cgroup.subtree_control is empty, so root has
# no controller, whatever the host's v2 offers
G=$P/nodeleg/root
in_v2 mkdir -p "/sys/fs/cgroup/$G" || fail "cannot make $G in the unified hierarchy"
expect_eq "$G: no controller delegated to it" "" "$(in_v2 cat "/sys/fs/cgroup/$G/cgroup.controllers")"
CML_TEST_WRAP="unshare -m --propagation private $v2in $G"
ct_setup
cpid=$(cmld_pid) || fail "no cmld"
expect_eq "cmld's /sys/fs/cgroup is cgroup2" "cgroup2fs" "$(in_cmld stat -f -c %T /sys/fs/cgroup)"
expect_eq "the test's /sys/fs/cgroup is untouched" "$host_fs" "$(stat -f -c %T /sys/fs/cgroup)"
expect_eq "cmld runs in $G (seen from the host)" "0::/$G" "$(grep '^0::' "/proc/$cpid/cgroup")"
expect_eq "cmld's own view (its /proc/PID/cgroup read in its cgroup namespace): the root" "0::/" \
    "$(nsenter -t "$cpid" -m -C -- cat "/proc/$cpid/cgroup" | grep '^0::')"
expect_eq "cmld's cgroup root offers no controller" "" "$(in_cmld cat /sys/fs/cgroup/cgroup.controllers)"

name=$(ct_name v2)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"linux":{"resources":{"memory":{"limit":67108864},"pids":{"limit":64}}}}'
lim=$(ct_name v2-cpu)
ct_create "$lim" '{"name":"'"$lim"'","guestos":{"name":"busybox"},"linux":{"resources":{"cpu":{"quota":50000,"cpus":"0"}}}}'
expect_refused "$name" "$(why "" "$name" "$MEM" "$PIDS")"
expect_refused "$lim" "$(why "" "$lim" "$MEM" "$PIDS" "$CPU" "$CPUSET")"
expect_eq "cmld enabled nothing in its root's cgroup.subtree_control" "" \
    "$(in_cmld cat /sys/fs/cgroup/cgroup.subtree_control)"
expect_eq "nothing was made below $G" "" "$(in_cmld find /sys/fs/cgroup -mindepth 1 -type d)"

stack_stop
expect_eq "$G is empty once cmld has ended" "" "$(in_v2 cat "/sys/fs/cgroup/$G/cgroup.procs")"
in_v2 rmdir "/sys/fs/cgroup/$G" "/sys/fs/cgroup/$P/nodeleg" "/sys/fs/cgroup/$P" ||
    fail "cannot remove $G and its parents"

# --- the host's own unified hierarchy ----------------------------------------------------
CML_TEST_WRAP="unshare -m --propagation private $v2root"
stack_start
cpid=$(cmld_pid) || fail "no cmld after the restart"
expect_eq "cmld's /sys/fs/cgroup is cgroup2, and cmld is back in the test's own group" \
    "cgroup2fs $(grep '^0::' /proc/self/cgroup)" \
    "$(in_cmld stat -f -c %T /sys/fs/cgroup) $(grep '^0::' "/proc/$cpid/cgroup")"
expect_eq "cmld sees the unified hierarchy's controllers" "$controllers" \
    "$(in_cmld cat /sys/fs/cgroup/cgroup.controllers)"
echo "# the host's cgroup v2 offers '$controllers'"
if reason=$(why "$controllers" "$name" "$MEM" "$PIDS"); then
	expect_refused "$name" "$reason"
else
	# (container-cgroup-v2-vm.sh checks this on every host)
	ct_cmlsh container start "$name"
	expect_status "start on v2" 0 "$rc"
	ipid=$(ct_show "$name" pid)
	g=/sys/fs/cgroup/$P/$name
	expect_eq "init is in $P/$name" "yes" "$(in_cmld grep -qx "$ipid" "$g/cgroup.procs" && echo yes || echo no)"
	expect_eq "/proc/$ipid/cgroup from the host" "0::/$P/$name" "$(grep '^0::' "/proc/$ipid/cgroup")"
	expect_eq "memory.max" "67108864" "$(in_cmld cat "$g/memory.max")"
	expect_eq "pids.max" "64" "$(in_cmld cat "$g/pids.max")"
	expect_eq "inside: /proc/self/cgroup is 0::/ (cgroup namespace)" "0::/" "$(ct_exec "$name" /bin/cat /proc/self/cgroup 2>&1)"
	ct_cmlsh container freeze "$name"
	expect_status "freeze" 0 "$rc"
	expect_eq "frozen" "frozen" "$(ct_state "$name")"
	expect_eq "cgroup.freeze" "1" "$(in_cmld cat "$g/cgroup.freeze")"
	expect_match "cgroup.events: frozen 1" "(^|"$'\n'")frozen 1(\$|"$'\n'")" "$(in_cmld cat "$g/cgroup.events")"
	ct_cmlsh container unfreeze "$name"
	expect_status "unfreeze" 0 "$rc"
	expect_eq "cgroup.freeze after unfreeze" "0" "$(in_cmld cat "$g/cgroup.freeze")"
	ct_cmlsh container stop "$name"
	expect_status "stop" 0 "$rc"
	expect_eq "after stop: nothing is left" "" "$(in_cmld_leftovers "$name")"
fi
if reason=$(why "$controllers" "$lim" "$MEM" "$PIDS" "$CPU" "$CPUSET"); then
	expect_refused "$lim" "$reason"
else
	ct_cmlsh container start "$lim"
	expect_status "start $lim on v2" 0 "$rc"
	g=/sys/fs/cgroup/$P/$lim
	expect_eq "$lim: cpu.max (quota 50000 per 100000)" "50000 100000" "$(in_cmld cat "$g/cpu.max")"
	expect_eq "$lim: cpuset.cpus" "0" "$(in_cmld cat "$g/cpuset.cpus")"
	ct_cmlsh container stop "$lim"
	expect_status "stop $lim" 0 "$rc"
	expect_eq "after stop: nothing of $lim is left" "" "$(in_cmld_leftovers "$lim")"
fi

# --- a leftover group of a container cmld recorded running (every host) ------------------
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
    "$(audit_tail 12)"

finish
