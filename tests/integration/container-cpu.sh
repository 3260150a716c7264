#!/bin/bash
# A container's CPU limits come from its config (cml-container(5),
# linux.resources.cpu) and hold, on cgroup v1:
#   - a config with shares 512, quota 10000, period 50000 and cpus set to
#     the host's last CPU: its group's cpu.shares, cpu.cfs_quota_us,
#     cpu.cfs_period_us and cpuset.cpus read back exactly those values (a
#     period other than the default, so that the default cannot pass for
#     it), init is in both groups and may run on that CPU only, and the
#     effective config (`container config`) shows them;
#   - a config without a cpu section: the documented defaults, shares
#     1024, no quota (cpu.cfs_quota_us -1), period 100000, and no cpuset
#     group (every CPU: init may run where cmld may), as the effective
#     config shows them (quota and cpus null);
#   - the quota is enforced: a busy loop run inside the limited container
#     for 2 s (up to 6 s on a busy host) is throttled (cpu.stat nr_throttled grows) and gets less
#     than 40 % of one CPU over the wall time (the quota allows 20 %; the
#     time comes from the loop's own schedstat, and from cpuacct.usage too
#     where cpuacct shares the cpu hierarchy), on the one CPU of its list;
#     the same loop in the container without a quota is never throttled;
#   - a CPU list naming a CPU the machine does not have (8191) makes the
#     start fail, naming the file and value, and leaves no group;
#   - stop removes every group of both, and the emptied parent.
# Proves: APS 04 (CPU limits from the container config), CR 7.2 (CPU
# quota and CPU list enforced; no cgroup leaks), CR 7.1 (a busy loop
# gets no more CPU than its quota), TSF.ISOL (resource limits: CPU).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] &&
    skip "/sys/fs/cgroup is cgroup v2 only: this test reads v1 hierarchies (container-cgroup-v2-vm.sh checks cpu.max and cpuset.cpus on v2)"
for c in cpu cpuset; do
	[ "$(stat -f -c %T "/sys/fs/cgroup/$c" 2>/dev/null)" = cgroupfs ] ||
	    skip "no cgroup v1 $c hierarchy at /sys/fs/cgroup/$c"
done
online=$(cat /sys/devices/system/cpu/online) || fail "cannot read /sys/devices/system/cpu/online"
# the host's last CPU ("0-1" -> 1, "0-3,5" -> 5)
cpu=${online##*[,-]}
[[ "$cpu" =~ ^[0-9]+$ ]] || fail "cannot find the last CPU in '$online'"

CT_CGROUP_PARENT=cml-test-$$
P=$CT_CGROUP_PARENT
ct_setup
cmld=$(cmld_pid) || fail "no cmld"

# Prints a process's CPU time in nanoseconds (schedstat), or "" when the
# process is gone.
cpu_ns() {
	local f
	f=$(cut -d' ' -f1 "/proc/$1/schedstat" 2>/dev/null) || return 0
	echo "$f"
}

# Prints a key's number from a cpu.stat: stat_key FILE KEY
stat_key() {
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# Prints the time in nanoseconds.
now_ns() {
	date +%s%N
}

# Starts `while :; do :; done` in a container through `container exec`,
# and sets $busy to the loop's pid on the host and $busy_exec to cmlsh's:
# busy_start NAME CPU-GROUP
busy_start() {
	local name=$1 g=$2 p i
	"$CMLSH" --socket "$SOCK" container exec "$name" -- /bin/sh -c 'while :; do :; done' \
	    </dev/null >/dev/null 2>&1 &
	busy_exec=$!
	track_pid "$busy_exec"
	busy=
	for ((i = 0; i < 50; i++)); do
		for p in $(cat "$g/cgroup.procs"); do
			[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "/bin/sh -c while :; do :; done " ] &&
			    busy=$p
		done
		[ -n "$busy" ] && break
		sleep 0.1
	done
	[ -n "$busy" ] || fail "the busy loop did not show up in $g/cgroup.procs: $(cat "$g/cgroup.procs")"
}

# Ends the busy loop (and with it its exec).
busy_stop() {
	kill -KILL "$busy" 2>/dev/null
	wait "$busy_exec" 2>/dev/null
	untrack_pid "$busy_exec"
}

# --- the config's values -----------------------------------------------------------------
lim=$(ct_name cpu)
ct_create "$lim" '{"name":"'"$lim"'","guestos":{"name":"busybox"},"linux":{"resources":{"cpu":{"shares":512,"quota":10000,"period":50000,"cpus":"'"$cpu"'"}}}}'
ct_start "$lim"
ipid=$(ct_show "$lim" pid)
cg=/sys/fs/cgroup/cpu/$P/$lim
sg=/sys/fs/cgroup/cpuset/$P/$lim
expect_eq "$lim: its cpu group" "$cg" "$(ct_cgroups "$lim" | grep "/cpu/$P/")"
expect_eq "$lim: its cpuset group" "$sg" "$(ct_cgroups "$lim" | grep "/cpuset/$P/")"
expect_eq "$lim: cpu.shares" 512 "$(cat "$cg/cpu.shares")"
expect_eq "$lim: cpu.cfs_quota_us" 10000 "$(cat "$cg/cpu.cfs_quota_us")"
expect_eq "$lim: cpu.cfs_period_us" 50000 "$(cat "$cg/cpu.cfs_period_us")"
expect_eq "$lim: cpuset.cpus" "$cpu" "$(cat "$sg/cpuset.cpus")"
expect_eq "$lim: cpuset.mems (the parent's)" "$(cat "/sys/fs/cgroup/cpuset/$P/cpuset.mems")" "$(cat "$sg/cpuset.mems")"
for g in "$cg" "$sg"; do
	expect_eq "$lim: init $ipid is in ${g#/sys/fs/cgroup/}" yes \
	    "$(grep -qx "$ipid" "$g/cgroup.procs" && echo yes || echo no)"
done
expect_eq "$lim: init may run on CPU $cpu only" "$cpu" \
    "$(awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$ipid/status")"

# --- no cpu section: the defaults --------------------------------------------------------
def=$(ct_name cpu-def)
ct_create "$def" '{"name":"'"$def"'","guestos":{"name":"busybox"}}'
ct_start "$def"
dpid=$(ct_show "$def" pid)
dg=/sys/fs/cgroup/cpu/$P/$def
expect_eq "$def: its cpu group" "$dg" "$(ct_cgroups "$def" | grep "/cpu/$P/")"
expect_eq "$def: cpu.shares (default 1024)" 1024 "$(cat "$dg/cpu.shares")"
expect_eq "$def: cpu.cfs_quota_us (default: no quota)" -1 "$(cat "$dg/cpu.cfs_quota_us")"
expect_eq "$def: cpu.cfs_period_us (default 100000)" 100000 "$(cat "$dg/cpu.cfs_period_us")"
expect_eq "$def: init $dpid is in its cpu group" yes \
    "$(grep -qx "$dpid" "$dg/cgroup.procs" && echo yes || echo no)"
expect_eq "$def: no cpuset group (every CPU)" "" "$(ct_cgroups "$def" | grep "/cpuset/")"
expect_eq "$def: init may run wherever cmld may" \
    "$(awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$cmld/status")" \
    "$(awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$dpid/status")"
# what cmld took from the configs (the effective config)
cpu_config() {
	cmlsh_run --json container config "$1" 2>&1 | python3 -c 'import json, sys
text = sys.stdin.read()
try:
    print(json.dumps(json.loads(text)["config"]["linux"]["resources"]["cpu"], sort_keys=True))
except (ValueError, KeyError, TypeError):
    print("<no linux.resources.cpu in %r>" % text[:300])'
}
expect_eq "$lim: the effective config's CPU limits" \
    '{"cpus": "'"$cpu"'", "period": 50000, "quota": 10000, "shares": 512}' "$(cpu_config "$lim")"
expect_eq "$def: the effective config's CPU defaults" \
    '{"cpus": null, "period": 100000, "quota": null, "shares": 1024}' "$(cpu_config "$def")"

# --- the quota holds ---------------------------------------------------------------------
busy_start "$lim" "$cg"
expect_eq "$lim: the loop may run on CPU $cpu only" "$cpu" \
    "$(awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$busy/status")"
expect_eq "$lim: the loop is in the cpuset group" yes \
    "$(grep -qx "$busy" "$sg/cgroup.procs" && echo yes || echo no)"
acct=
[ -f "$cg/cpuacct.usage" ] && acct=$cg/cpuacct.usage
thr0=$(stat_key "$cg/cpu.stat" nr_throttled)
u0=$(cpu_ns "$busy")
a0=$([ -n "$acct" ] && cat "$acct")
w0=$(now_ns)
# 2 s, longer (up to 6 s) while a busy host leaves the loop too little CPU
# to reach its quota in any period
sleep 2
for ((i = 0; i < 8; i++)); do
	[ "$(stat_key "$cg/cpu.stat" nr_throttled)" -gt "$thr0" ] && break
	sleep 0.5
done
w1=$(now_ns)
u1=$(cpu_ns "$busy")
a1=$([ -n "$acct" ] && cat "$acct")
thr1=$(stat_key "$cg/cpu.stat" nr_throttled)
busy_stop
wall=$((w1 - w0))
used=$((${u1:-0} - ${u0:-0}))
echo "# $lim: the loop used $((used / 1000000)) ms of CPU in $((wall / 1000000)) ms ($((used * 100 / wall)) %; the quota allows 20 %), throttled $((thr1 - thr0)) times"
CHECKS=$((CHECKS + 1))
if [ -n "$u0" ] && [ -n "$u1" ] && [ "$used" -gt 0 ]; then
	_check_passed "$lim: the loop ran ($((used / 1000000)) ms of CPU)"
else
	_check_failed "$lim: the loop did not run (schedstat '$u0' then '$u1')"
fi
CHECKS=$((CHECKS + 1))
if [ "$((thr1 - thr0))" -gt 0 ]; then
	_check_passed "$lim: cpu.stat nr_throttled grew ($thr0 -> $thr1)"
else
	_check_failed "$lim: cpu.stat nr_throttled did not grow ($thr0 -> $thr1): $(tr '\n' ' ' <"$cg/cpu.stat")"
fi
CHECKS=$((CHECKS + 1))
if [ "$((used * 100))" -lt "$((wall * 40))" ]; then
	_check_passed "$lim: the loop got less than 40 % of one CPU"
else
	_check_failed "$lim: the loop got $((used * 100 / wall)) % of one CPU, the quota allows 20 %"
fi
if [ -n "$acct" ]; then
	ause=$((a1 - a0))
	CHECKS=$((CHECKS + 1))
	if [ "$ause" -gt 0 ] && [ "$((ause * 100))" -lt "$((wall * 40))" ]; then
		_check_passed "$lim: cpuacct.usage grew by less than 40 % of the wall time ($((ause / 1000000)) ms)"
	else
		_check_failed "$lim: cpuacct.usage grew by $((ause / 1000000)) ms in $((wall / 1000000)) ms"
	fi
else
	echo "# cpuacct is not in the cpu hierarchy here: the loop's own schedstat is the measure"
fi

# the same loop without a quota is never throttled
busy_start "$def" "$dg"
p0=$(stat_key "$dg/cpu.stat" nr_periods)
t0=$(stat_key "$dg/cpu.stat" nr_throttled)
u0=$(cpu_ns "$busy")
sleep 1
u1=$(cpu_ns "$busy")
expect_eq "$def: no quota, no enforcement periods" "0 0" \
    "$(($(stat_key "$dg/cpu.stat" nr_periods) - p0)) $(($(stat_key "$dg/cpu.stat" nr_throttled) - t0))"
busy_stop
CHECKS=$((CHECKS + 1))
if [ -n "$u0" ] && [ -n "$u1" ] && [ "$((u1 - u0))" -gt 0 ]; then
	_check_passed "$def: the loop ran unthrottled ($(((u1 - u0) / 1000000)) ms of CPU in 1 s)"
else
	_check_failed "$def: the loop did not run (schedstat '$u0' then '$u1')"
fi

# --- a CPU the machine does not have: no start ----------------------------------------------
no=$(ct_name cpu-none)
ct_create "$no" '{"name":"'"$no"'","guestos":{"name":"busybox"},"linux":{"resources":{"cpu":{"cpus":"8191"}}}}'
ct_cmlsh container start "$no"
expect_status "$no (cpus 8191): the start fails" 1 "$rc"
# (the kernel says EINVAL or, beyond its CPU ids, ERANGE)
expect_match "$no: why" \
    "^$(re_quote "cmlsh: container '$no' did not start: setting /sys/fs/cgroup/cpuset/$P/$no/cpuset.cpus to '8191' failed: ")(Invalid argument|Numerical result out of range)\$" \
    "$(cat "$SCRATCH/err")"
expect_eq "$no: failed" failed "$(ct_state "$no")"
expect_eq "$no: no group of it is left" "" "$(ls -d /sys/fs/cgroup/*/"$P/$no" 2>/dev/null)"

# --- stop: no group left ------------------------------------------------------------------
for c in "$lim" "$def"; do
	ct_cmlsh container stop "$c"
	expect_status "stop $c" 0 "$rc"
	expect_eq "after stop: no group of $c is left" "" "$(ls -d /sys/fs/cgroup/*/"$P/$c" 2>/dev/null)"
	expect_eq "after stop: nothing of $c is left on the host" "" "$(ct_leftovers "$c")"
done
expect_eq "after stop: the emptied parent $P is gone" "" "$(ls -d /sys/fs/cgroup/*/"$P" 2>/dev/null)"

finish
