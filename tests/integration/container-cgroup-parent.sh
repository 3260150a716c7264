#!/bin/bash
# cmld --cgroup-parent: a name that is not one safe cgroup name ("a/b",
# "..", "", ".x", "-x", "x y", 65 characters) is refused at start with
# exit status 2, the exact message, and nothing created.  With a parent of
# its own (cml-test-PID), a running container's groups are exactly
# /sys/fs/cgroup/<ctrl>/PARENT/NAME for every v1 controller it uses
# (memory, cpu, cpuset, pids, freezer, devices, and cpuacct where it is
# a hierarchy apart from cpu), init is in each of them,
# /proc/PID/cgroup says so, and nothing of it is under the shared "cml";
# after stop the groups and the emptied parent are gone.  A group of a
# container's name that exists already and holds a process cmld did not
# start (another cmld with the same parent) is not taken over: the start
# fails with a reason naming the group and the pid, the container is
# failed with it, the process lives on in its group, and the groups the
# start had made are removed again.
# Proves: TSF.ISOL (cgroups of its own; a foreign group is not taken over),
# CR 7.2 (a group per controller; none left after stop),
# APS 04 (the config's CPU list in the cpuset group),
# OS 01 (a refused start leaves the container failed with the reason).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
make_scratch

# --- a bad parent is refused at start --------------------------------------------------
long=$(printf 'p%.0s' {1..65})
for bad in 'a/b' '..' '' '.x' '-x' 'x y' "$long"; do
	out=$("$CMLD" --root "$SCRATCH/bad" --foreground --cgroup-parent "$bad" 2>&1)
	rc=$?
	expect_status "--cgroup-parent '$bad': refused" 2 "$rc"
	expect_eq "--cgroup-parent '$bad': the message" \
	    "cmld: --cgroup-parent '$bad' is not a single cgroup name: use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit" \
	    "$out"
	expect_eq "--cgroup-parent '$bad': nothing created" "no" "$([ -e "$SCRATCH/bad" ] && echo yes || echo no)"
done

# --- a stack with its own parent -------------------------------------------------------
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] &&
    skip "/sys/fs/cgroup is cgroup v2 only: this test checks v1 hierarchies (container-cgroup-v2.sh covers v2)"
ctrls=(memory cpu cpuset pids freezer devices)
for c in "${ctrls[@]}"; do
	[ "$(stat -f -c %T "/sys/fs/cgroup/$c" 2>/dev/null)" = cgroupfs ] ||
	    skip "no cgroup v1 $c hierarchy at /sys/fs/cgroup/$c"
done
# cpuacct (for container stats' CPU time) where it is a hierarchy apart
if [ "$(stat -f -c %T /sys/fs/cgroup/cpuacct 2>/dev/null)" = cgroupfs ] &&
    [ "$(stat -c %d /sys/fs/cgroup/cpuacct/)" != "$(stat -c %d /sys/fs/cgroup/cpu/)" ]; then
	ctrls+=(cpuacct)
fi
CT_CGROUP_PARENT=cml-test-$$
P=$CT_CGROUP_PARENT
ct_setup
expect_match "cmld runs with --cgroup-parent $P" " --cgroup-parent $P( |\$)" \
    "$(tr '\0' ' ' <"/proc/$(cmld_pid)/cmdline")"

name=$(ct_name cgp)
# cpus: so that the cpuset group is made too
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"linux":{"resources":{"cpu":{"cpus":"0"}}}}'
ct_start "$name"
ipid=$(ct_show "$name" pid)
want=
for c in "${ctrls[@]}"; do
	want+="/sys/fs/cgroup/$c/$P/$name"$'\n'
done
expect_eq "its groups: one under $P for every v1 controller" "$(printf '%s' "$want" | sort)" \
    "$(ls -d /sys/fs/cgroup/*/"$P/$name" 2>&1 | sort)"
for c in "${ctrls[@]}"; do
	expect_eq "init $ipid is in $c/$P/$name" "yes" \
	    "$(grep -qx "$ipid" "/sys/fs/cgroup/$c/$P/$name/cgroup.procs" 2>/dev/null && echo yes || echo no)"
	expect_match "/proc/$ipid/cgroup: $c in /$P/$name" "(^|"$'\n'")[0-9]+:([a-z_]+,)*$c(,[a-z_]+)*:/$P/$name(\$|"$'\n'")" \
	    "$(cat "/proc/$ipid/cgroup")"
done
expect_eq "nothing of it under the shared cml" "" "$(ls -d /sys/fs/cgroup/*/cml/"$name" 2>/dev/null)"
expect_eq "cpuset.cpus of its group" "0" "$(cat "/sys/fs/cgroup/cpuset/$P/$name/cpuset.cpus")"

ct_cmlsh container stop "$name"
expect_status "stop" 0 "$rc"
expect_eq "after stop: no group of it is left" "" "$(ls -d /sys/fs/cgroup/*/"$P/$name" 2>/dev/null)"
expect_eq "after stop: the emptied parent $P is gone too" "" "$(ls -d /sys/fs/cgroup/*/"$P" 2>/dev/null)"
expect_eq "after stop: nothing of it is left on the host" "" "$(ct_leftovers "$name")"

# --- a group that holds someone else's process is not taken over -----------------------
other=$(ct_name cgp-other)
ct_create "$other" '{"name":"'"$other"'","guestos":{"name":"busybox"}}'
# freezer comes after memory, cpu and pids: those are made before the refusal
fg=/sys/fs/cgroup/freezer/$P/$other
mkdir -p "$fg" || fail "mkdir $fg"
sleep 300 &
spid=$!
track_pid "$spid"
echo "$spid" >"$fg/cgroup.procs" || fail "cannot move $spid into $fg"
ct_cmlsh container start "$other"
expect_status "start with a foreign process in its freezer group: refused" 1 "$rc"
why="cgroup $fg exists already and holds 1 process that container '$other' did not start (pid $spid): another cmld with the same cgroup parent may run a container of this name; they are not taken over"
expect_eq "the message names the group and the process" "cmlsh: container '$other' did not start: $why" \
    "$(cat "$SCRATCH/err")"
expect_lines "container list: failed with that reason" "$(ct_list | grep "^$other ")" \
    "^$(re_quote "$other failed $why")\$"
expect_eq "the foreign process lives on" "alive" "$(kill -0 "$spid" 2>/dev/null && echo alive || echo gone)"
expect_eq "the foreign process is still in its group" "$spid" "$(cat "$fg/cgroup.procs")"
expect_eq "the groups the start made are removed again; the foreign one stays" "$fg" \
    "$(ls -d /sys/fs/cgroup/*/"$P/$other" 2>/dev/null)"
expect_eq "the foreign group is not frozen by cmld's cleanup" "THAWED" "$(cat "$fg/freezer.state")"

# once it is gone, the container starts
kill "$spid"
wait "$spid" 2>/dev/null
untrack_pid "$spid"
rmdir "$fg"
ct_cmlsh container start "$other"
expect_status "start once the foreign group is gone" 0 "$rc"
expect_eq "running" "running" "$(ct_state "$other")"
ct_cmlsh container stop "$other"
expect_status "stop" 0 "$rc"
expect_eq "nothing of it is left on the host" "" "$(ct_leftovers "$other")"
expect_eq "the parent $P is gone" "" "$(ls -d /sys/fs/cgroup/*/"$P" 2>/dev/null)"

finish
