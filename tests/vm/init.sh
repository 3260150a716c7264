#!/bin/sh
# The init of the cgroup v2 test virtual machine (busybox sh; put in the
# initramfs by tests/vm/mkinitramfs, run by
# tests/integration/container-cgroup-v2-vm.sh).
#
# Stage 1 copies the initramfs to a tmpfs and switches to it: a container's
# pivot_root needs a root file system that is mounted on something, which
# the initramfs (rootfs) is not.  Stage 2 mounts cgroup2 at /sys/fs/cgroup
# (the kernel runs with cgroup_no_v1=all, so that every controller is
# v2's), loads the modules of /etc/modules.order, starts cmld with its
# state under /stack, installs /payload's trust anchor and guest OS, runs
# containers and looks at their groups from the VM's root namespaces.  The
# init enables no controller itself: cmld's own writes to the root's and
# the parent's cgroup.subtree_control are part of what is tested.  Words
# NAME=VALUE of the kernel command line (ASAN_OPTIONS and the like) are
# init's environment, and so cmld's.
#
# Every finding is one line on the console, "CMLVM KEY VALUE" (VALUE may
# be empty or hold blanks); the test compares them with what it expects.
# "CMLVM done" is the last; cmld's log follows as "CMLVM-LOG LINE" lines.
# Then the VM powers off.
#
# The payload: root.crt (the trust anchor), busybox-1.0/ (a signed guest
# OS), marker (a random text), and one config per container: v2.json
# (container "v2", the default limits), v2-lim.json (container "v2-lim",
# explicit memory, pids, CPU quota and CPU list), enc.json, plain.json and
# enc-auto.json (a 64 MiB data volume on /data: encrypted with a software
# token, plain, and encrypted with autostart).  scd runs next to cmld, so
# that encrypted containers start with their PIN; CML_VM_BENCH=N (on the
# kernel command line) times N starts of "plain" and of "enc" each
# (default 1), as "bench.plain.I" and "bench.enc.I" lines.  The payload's
# kauditstat (a static helper the test builds) reads the kernel's audit
# state for the checks of cmld as the kernel's audit daemon.
PATH=/bin:/cml
export PATH

report() {
	key=$1
	shift
	echo "CMLVM $key $*"
}

# Ends the VM: a PID 1 that exits makes the kernel panic.
off() {
	sync
	poweroff -f
	sleep 10
	echo o >/proc/sysrq-trigger
}

if [ "${1:-}" != stage2 ]; then
	mount -t devtmpfs devtmpfs /dev
	exec </dev/console >/dev/console 2>&1
	mount -t tmpfs -o mode=0755 tmpfs /newroot || { report stage1 "tmpfs failed"; off; }
	for f in /*; do
		case "$f" in
		/newroot | /dev | /proc | /sys) mkdir -p "/newroot$f" ;;
		*) cp -a "$f" /newroot/ || report stage1 "cannot copy $f" ;;
		esac
	done
	umount -l /dev
	exec switch_root /newroot /init stage2
	report stage1 "switch_root failed"
	off
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
exec </dev/console >/dev/console 2>&1
echo 1 >/proc/sys/kernel/printk 2>/dev/null
# a task blocked for 30 s is told in the kernel's log (hang_report reads it)
echo 30 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
# a heartbeat: the host's watchdog stops a VM whose console stays silent,
# and this tells a VM that works slowly from one that stands still
( while sleep 20; do echo "CMLVM-BEAT $(cut -d' ' -f1 /proc/uptime)"; done ) &
report boot "$(cut -d' ' -f1 /proc/uptime)"
report kernel "$(uname -r)"
report sanitizer_options "ASAN_OPTIONS=${ASAN_OPTIONS:-} UBSAN_OPTIONS=${UBSAN_OPTIONS:-}"

mods=
while read -r m; do
	if insmod "/lib/modules/$m"; then
		mods="$mods${mods:+ }${m##*/}"
	else
		mods="$mods${mods:+ }${m##*/}:failed"
	fi
done </etc/modules.order
report modules "$mods"
report filesystems "$(awk '$NF == "squashfs" || $NF == "overlay" { print $NF }' /proc/filesystems | sort | tr '\n' ' ' | sed 's/ $//')"
report loop_control "$(if [ -c /dev/loop-control ]; then echo present; else echo gone; fi)"

mount -t cgroup2 cgroup2 /sys/fs/cgroup || report cgroup2_mount failed
# the file system's magic number, as cmld's statfs(2) sees it
report cgroup_fs "$(stat -f -c %t /sys/fs/cgroup) $(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)"
report cgroup_controllers "$(cat /sys/fs/cgroup/cgroup.controllers)"
report cgroup_v1 "$(awk '$3 == "cgroup" { print $2 }' /proc/mounts | tr '\n' ' ')"

# --- tpm2d and the state volume -------------------------------------------------------
# tpm2d (stage 1) talks to the swtpm the host attached as a TIS TPM through
# the kernel's resource manager, unseals (at first: makes) the system key
# sealed to PCRs 16 and 23, and opens the disk /dev/vda as cml's state
# volume on $STACK/var/lib/cml before it reports readiness; cmld starts
# after it, its database inside the volume.
STACK=/stack
SOCK=$STACK/run/cml/control.sock
VOLDIR=$STACK/var/lib/cml
mkdir -p $STACK/log $STACK/run
report tpm_device "$(if [ -c /dev/tpmrm0 ]; then echo present; else echo gone; fi)"
report dm_control "$(if [ -c /dev/mapper/control ]; then echo present; else echo gone; fi)"
report disk "$(if [ -b /dev/vda ]; then echo present; else echo gone; fi)"

# waitready FILE PID: waits up to 60 s for READY=1 in FILE while PID runs
waitready() {
	i=0
	while [ $i -lt 600 ] && ! grep -q READY=1 "$1" 2>/dev/null; do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	grep -q READY=1 "$1" 2>/dev/null
}

# stopwait KEY PID: SIGTERM, waits up to 20 s, reports "exited" or why not
# (a zombie counts as ended; this shell is its parent and reaps it)
stopwait() {
	kill -TERM "$2" 2>/dev/null
	i=0
	while [ $i -lt 200 ] && [ -d "/proc/$2" ] &&
	    ! grep -q '^State:[[:space:]]*Z' "/proc/$2/status" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -d "/proc/$2" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$2/status" 2>/dev/null; then
		report "$1" "still running after 20 s"
	else
		wait "$2" 2>/dev/null
		report "$1" exited
	fi
}

# tpm2d_start KEY: starts tpm2d on the TPM and the state volume, reports
# whether it is ready; sets tpm2d_pid
tpm2d_start() {
	rm -f /tmp/tready
	echo "=== tpm2d_start $(cut -d' ' -f1 /proc/uptime)" >>$STACK/log/tpm2d.log
	DM_DISABLE_UDEV=1 tpm2d --root $STACK --tcti device:/dev/tpmrm0 \
	    --seal-pcrs 16,23 --state-volume /dev/vda --foreground \
	    --ready-fd 5 5>/tmp/tready >>$STACK/log/tpm2d.log 2>&1 </dev/null &
	tpm2d_pid=$!
	t0=$(cut -d' ' -f1 /proc/uptime)
	if waitready /tmp/tready $tpm2d_pid; then
		report "$1" ready
		report "$1.seconds" "$t0 $(cut -d' ' -f1 /proc/uptime)"
	else
		report "$1" "not ready: $(tail -n 3 $STACK/log/tpm2d.log | tr '\n' ' ')"
	fi
}

# scd_start KEY: starts scd (software tokens at the test KDF cost; the
# platform secret from tpm2d), reports whether it is ready; sets scd_pid
scd_start() {
	rm -f /tmp/sready
	scd --root $STACK --tpm2d-socket $STACK/run/cml/tpm2d.sock --kdf-cost test \
	    --foreground --ready-fd 6 6>/tmp/sready >>$STACK/log/scd.log 2>&1 </dev/null &
	scd_pid=$!
	if waitready /tmp/sready $scd_pid; then
		report "$1" ready
	else
		report "$1" "not ready: $(tail -n 3 $STACK/log/scd.log | tr '\n' ' ')"
	fi
}

# cmld_start LOG: starts cmld; sets cmld_pid (libdevmapper in cmld's volume
# child makes the /dev/mapper nodes itself: the VM runs no udev)
cmld_start() {
	rm -f /tmp/ready
	DM_DISABLE_UDEV=1 cmld --root $STACK --foreground --ready-fd 4 4>/tmp/ready >>"$1" 2>&1 </dev/null &
	cmld_pid=$!
	waitready /tmp/ready $cmld_pid
}

# the mount on the state directory: "SOURCE FSTYPE OPTIONS", or "none"
volmount() {
	awk -v d="$VOLDIR" '$2 == d { m = $1 " " $3 " " $4 } END { print (m == "" ? "none" : m) }' /proc/mounts
}

# the device-mapper devices, by name, as the kernel has them (sysfs: a
# device removed by the kernel itself, deferred, leaves its node in
# /dev/mapper behind when no udev runs)
mapped() {
	cat /sys/block/dm-*/dm/name 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'
}

tpm2d_start tpm2d
report vol.mount "$(volmount)"
report vol.tpm2d_dir "$(awk -v d="$VOLDIR/tpm2d" '$2 == d { print "bound" }' /proc/mounts) $(if [ -f $VOLDIR/tpm2d/syskey.blob ]; then echo blob; else echo no-blob; fi)"
report vol.mapped "$(mapped)"
report vol.log "$(grep -m 1 'state volume: [a-z]*: ' $STACK/log/tpm2d.log | sed 's/^tpm2d: //')"
scd_start scd

# --- cmld ------------------------------------------------------------------------------
if cmld_start $STACK/log/cmld.log; then
	report cmld ready
else
	report cmld "not ready after $((i / 10)) s"
	sed 's/^/CMLVM-LOG /' $STACK/log/cmld.log $STACK/log/tpm2d.log
	off
fi

# hang_report WHAT: what cmld and its children are doing, cmld's log and
# the kernel's last words, on the console (CMLVM-HANG lines; the console
# itself, since a command's output may be taken by $(...)), when a
# command did not finish in time
hang_report() {
	hang_report_lines "$@" >/dev/console 2>&1
}
hang_report_lines() {
	local p
	echo "CMLVM-HANG $1 did not finish in time (uptime $(cut -d' ' -f1 /proc/uptime))"
	for p in /proc/[0-9]*; do
		[ -r $p/stat ] || continue
		case "$(cat $p/comm 2>/dev/null)" in
		cmld | cmlsh | cml-* | tpm2d | scd | sh | init)
			echo "CMLVM-HANG pid ${p#/proc/} $(cat $p/comm 2>/dev/null) state $(sed -n 's/^State:[[:space:]]*//p' $p/status 2>/dev/null) ppid $(sed -n 's/^PPid:[[:space:]]*//p' $p/status 2>/dev/null) wchan $(cat $p/wchan 2>/dev/null) cgroup $(cat $p/cgroup 2>/dev/null)"
			sed 's/^/CMLVM-HANG   stack /' $p/stack 2>/dev/null | head -n 12
			;;
		esac
	done
	tail -n 20 $STACK/log/cmld.log | sed 's/^/CMLVM-HANG log /'
	dmesg 2>/dev/null | tail -n 20 | sed 's/^/CMLVM-HANG kernel /'
}

# (a command cut off at 100 s says what hung, well within the host's
# watchdog; -k: a cmlsh that does not end on SIGTERM is killed)
cml() {
	local t0 rc
	t0=$(cut -d. -f1 /proc/uptime)
	timeout -k 5 100 cmlsh --socket $SOCK "$@"
	rc=$?
	# (by the time taken: a command's own status may be 137 or 143 too)
	if [ $(($(cut -d. -f1 /proc/uptime) - t0)) -ge 100 ]; then
		# what hung, then the VM ends: the host fails the test with it
		hang_report "cmlsh $*"
		off
	fi
	return $rc
}

# run KEY CMLSH-ARGS...: reports KEY's exit status, and the output when
# it failed
run() {
	key=$1
	shift
	cml "$@" >/tmp/out 2>&1
	rc=$?
	report "$key" "$rc"
	[ "$rc" = 0 ] || report "$key.out" "$(head -c 600 /tmp/out | tr '\n' ' ')"
	return $rc
}

# show NAME KEY: a member of `container show NAME --json` (a number or a
# string)
show() {
	cml --json container show "$1" 2>/dev/null | tr ',{}' '\n\n\n' |
	    sed -n "s/^ *\"$2\": *\"\{0,1\}\([^\"]*\)\"\{0,1\} *\$/\1/p" | head -n 1
}

# ctrl FILE: a control file's content, "<none>" when it cannot be read
ctrl() {
	if [ -r "$1" ]; then
		tr '\n' ' ' <"$1" | sed 's/ $//'
	else
		echo "<none>"
	fi
}

# gone PID: whether a process has ended (a zombie counts as ended)
gone() {
	if [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; then
		echo running
	else
		echo gone
	fi
}

exists() {
	if [ -e "$1" ]; then echo present; else echo gone; fi
}

# mounts NAME: cmld's mounts of a container (below its mount point
# directory), one mount point each
mounts() {
	awk -v d="$STACK/run/cml/containers/$1" '$5 == d || index($5, d "/") == 1 { print $5 }' \
	    /proc/$cmld_pid/mountinfo | tr '\n' ' ' | sed 's/ $//'
}

# loops: the loop devices whose backing file lies in cmld's state
loops() {
	for f in /sys/block/loop*/loop/backing_file; do
		[ -r "$f" ] || continue
		case "$(cat "$f" 2>/dev/null)" in
		$STACK/*) f=${f#/sys/block/}; echo "${f%%/*}" ;;
		esac
	done | tr '\n' ' ' | sed 's/ $//'
}

run ca_add ca add /payload/root.crt
run guestos_install guestos install /payload/busybox-1.0
run create.v2 container create /payload/v2.json
run create.v2-lim container create /payload/v2-lim.json

CG=/sys/fs/cgroup
P=$CG/cml

# --- v2: the default limits ------------------------------------------------------------
G=$P/v2
run start.v2 container start v2
report v2.state "$(show v2 state)"
ipid=$(show v2 pid)
report v2.init_in_group "$(grep -qx "$ipid" $G/cgroup.procs 2>/dev/null && echo yes || echo "no (pid '$ipid', procs '$(ctrl $G/cgroup.procs)')")"
report v2.proc_cgroup "$(cat /proc/$ipid/cgroup 2>&1)"
report root.subtree_control "$(ctrl $CG/cgroup.subtree_control)"
report parent.subtree_control "$(ctrl $P/cgroup.subtree_control)"
report v2.controllers "$(ctrl $G/cgroup.controllers)"
report v2.memory.max "$(ctrl $G/memory.max)"
report v2.memory.swap.max "$(ctrl $G/memory.swap.max)"
report v2.pids.max "$(ctrl $G/pids.max)"
report v2.cpu.max "$(ctrl $G/cpu.max)"
report v2.cpu.weight "$(ctrl $G/cpu.weight)"
report v2.dir_running "$(exists $STACK/run/cml/containers/v2)"
report v2.loops_running "$(loops | wc -w)"
report v2.exec_cgroup "$(cml container exec v2 -- /bin/cat /proc/self/cgroup 2>&1 | tr '\n' ' ' | sed 's/ $//')"
report v2.init_cgroup_inside "$(cml container exec v2 -- /bin/cat /proc/1/cgroup 2>&1 | tr '\n' ' ' | sed 's/ $//')"

# --- v2-lim: explicit limits, side by side with v2 ----------------------------------------
L=$P/v2-lim
run start.v2-lim container start v2-lim
report v2-lim.state "$(show v2-lim state)"
lpid=$(show v2-lim pid)
report v2-lim.init_in_group "$(grep -qx "$lpid" $L/cgroup.procs 2>/dev/null && echo yes || echo "no (pid '$lpid', procs '$(ctrl $L/cgroup.procs)')")"
report v2-lim.proc_cgroup "$(cat /proc/$lpid/cgroup 2>&1)"
report v2-lim.controllers "$(ctrl $L/cgroup.controllers)"
report v2-lim.memory.max "$(ctrl $L/memory.max)"
report v2-lim.pids.max "$(ctrl $L/pids.max)"
report v2-lim.cpu.max "$(ctrl $L/cpu.max)"
report v2-lim.cpu.weight "$(ctrl $L/cpu.weight)"
report v2-lim.cpuset.cpus "$(ctrl $L/cpuset.cpus)"
report v2-lim.cpuset.cpus.effective "$(ctrl $L/cpuset.cpus.effective)"
# the device allow list (a BPF program on v2): the defaults plus c 5:1 r
# (/dev/console, read only); v2-lim keeps CAP_MKNOD, so only the program
# stands between it and any device.  Devices whose drivers check nothing
# of their own, so that EPERM can only come from the program.
cml container exec v2-lim -- /bin/sh -c 'mknod /tmp/mem c 1 1' >/tmp/out 2>&1
report v2-lim.dev.mknod_mem "$? $(tr '\n' ' ' </tmp/out | sed 's/ $//')"
cml container exec v2-lim -- /bin/sh -c 'mknod /tmp/null2 c 1 3 && echo hi >/tmp/null2 && echo written' >/tmp/out 2>&1
report v2-lim.dev.mknod_null "$? $(tr '\n' ' ' </tmp/out | sed 's/ $//')"
mknod /proc/$lpid/root/tmp/loop0 b 7 0 2>/dev/null
cml container exec v2-lim -- /bin/sh -c ': </tmp/loop0' >/tmp/out 2>&1
report v2-lim.dev.open_loop0 "$? $(tr '\n' ' ' </tmp/out | sed 's/ $//')"
cml container exec v2-lim -- /bin/sh -c ': </dev/console && echo read-ok' >/tmp/out 2>&1
report v2-lim.dev.console_read "$? $(tr '\n' ' ' </tmp/out | sed 's/ $//')"
cml container exec v2-lim -- /bin/sh -c ': >/dev/console' >/tmp/out 2>&1
report v2-lim.dev.console_write "$? $(tr '\n' ' ' </tmp/out | sed 's/ $//')"
# v2 has no rule for the console: a node of it made by the VM in v2's /tmp
mknod /proc/$ipid/root/tmp/console c 5 1 2>/dev/null
cml container exec v2 -- /bin/sh -c ': </tmp/console' >/tmp/out 2>&1
report v2.dev.console_read "$? $(tr '\n' ' ' </tmp/out | sed 's/ $//')"
# the memory limit holds: a 96 MiB buffer does not fit under 64 MiB
cml container exec v2-lim -- /bin/dd if=/dev/zero of=/dev/null bs=96M count=1 >/tmp/out 2>&1
report v2-lim.dd_96m "$?"
report v2-lim.oom_kill "$(sed -n 's/^oom_kill //p' $L/memory.events)"
report v2-lim.state_after_oom "$(show v2-lim state)"
# the CPU quota holds: a busy loop of 2 s (no forks; the guest's own
# clock) is throttled and gets at most about half a CPU
# ("THROTTLED-DELTA USAGE-USEC-DELTA WALL-USEC")
stat_key() {
	sed -n "s/^$2 //p" "$1"
}
t0=$(stat_key $L/cpu.stat nr_throttled)
c0=$(stat_key $L/cpu.stat usage_usec)
read -r w0 _ </proc/uptime
cml container exec v2-lim -- /bin/sh -c 'read s _ </proc/uptime; e=$((${s%.*} + 2)); while :; do read n _ </proc/uptime; [ ${n%.*} -lt $e ] || break; done' >/tmp/out 2>&1
rc=$?
read -r w1 _ </proc/uptime
t1=$(stat_key $L/cpu.stat nr_throttled)
c1=$(stat_key $L/cpu.stat usage_usec)
report v2-lim.busy_loop "$rc $(tr '\n' ' ' </tmp/out | sed 's/ $//')"
report v2-lim.cpu_quota "$((t1 - t0)) $((c1 - c0)) $(( (${w1%.*}${w1#*.} - ${w0%.*}${w0#*.}) * 10000 ))"
# the pids limit holds: 40 more processes do not fit under 16
cml container exec v2-lim -- /bin/sh -c 'i=0; while [ $i -lt 40 ]; do sleep 600 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; echo all started' >/tmp/out 2>&1
report v2-lim.fork_loop "$? $(grep -c "can't fork" /tmp/out) $(grep -c 'all started' /tmp/out)"
report v2-lim.pids.current "$(ctrl $L/pids.current)"
report v2-lim.pids.events "$(ctrl $L/pids.events)"
run stop.v2-lim container stop v2-lim
report v2-lim.state_after_stop "$(show v2-lim state)"
report v2-lim.group_after_stop "$(exists $L)"
report v2-lim.init_after_stop "$(gone "$lpid")"
report v2-lim.mounts_after_stop "$(mounts v2-lim)"
report v2-lim.dir_after_stop "$(exists $STACK/run/cml/containers/v2-lim)"
report parent_while_v2_runs "$(exists $P)"

# --- v2: freeze and unfreeze ---------------------------------------------------------
run freeze.v2 container freeze v2
report v2.state_frozen "$(show v2 state)"
report v2.cgroup.freeze "$(ctrl $G/cgroup.freeze)"
report v2.events_frozen "$(grep '^frozen ' $G/cgroup.events 2>&1)"
run unfreeze.v2 container unfreeze v2
report v2.state_thawed "$(show v2 state)"
report v2.cgroup.freeze_thawed "$(ctrl $G/cgroup.freeze)"
report v2.events_thawed "$(grep '^frozen ' $G/cgroup.events 2>&1)"
report v2.exec_after_thaw "$(cml container exec v2 -- /bin/echo alive 2>&1)"

# --- v2: stop; nothing left --------------------------------------------------------------
run stop.v2 container stop v2
report v2.state_after_stop "$(show v2 state)"
report v2.group_after_stop "$(exists $G)"
report parent_after_stop "$(exists $P)"
report v2.init_after_stop "$(gone "$ipid")"
report v2.mounts_after_stop "$(mounts v2)"
report v2.dir_after_stop "$(exists $STACK/run/cml/containers/v2)"
report loops_after_stop "$(loops)"
report cgroups_left "$(find $CG -mindepth 1 -type d | tr '\n' ' ')"

# --- encrypted container storage --------------------------------------------------------
# scd (started after tpm2d) keeps the software tokens.  Three containers
# with a 64 MiB data volume on /data: "enc" (softtoken, LUKS2 with
# integrity), "plain" (the same volume without encryption: the benchmark's
# peer) and "enc-auto" (encrypted, autostart).  An encrypted volume is
# STATE/volumes/ID.luks, opened as the dm devices cml-ID (dm-crypt) and
# cml-ID_dif (dm-integrity) while its container runs.
PIN=qz4829
WRONG=rn5910
ENCMARK="ENC-$(cat /payload/marker 2>/dev/null)"
BENCH_RUNS=${CML_VM_BENCH:-1}

# now_ms: a clock in milliseconds (coreutils' date, which the initramfs
# carries because busybox's has no %N; else /proc/uptime's centiseconds)
now_ms() {
	if [ -x /usr/bin/date ]; then
		echo $(($(/usr/bin/date +%s%N) / 1000000))
	else
		read -r u _ </proc/uptime
		echo $((${u%.*}${u#*.} * 10))
	fi
}

# jint KEY FILE: an integer member of the JSON in FILE (at any depth)
jint() {
	tr ',{}' '\n\n\n' <"$2" | sed -n "s/^ *\"$1\": *\([0-9][0-9]*\) *\$/\1/p" | head -n 1
}

# encmapped: the dm devices of container volumes (cml-* but the state
# volume), as the kernel has them
encmapped() {
	mapped | tr ' ' '\n' | grep '^cml-' | grep -v '^cml-state$' | tr '\n' ' ' | sed 's/ $//'
}

# encnodes: the nodes of container volumes' dm devices in /dev/mapper
encnodes() {
	ls /dev/mapper 2>/dev/null | grep '^cml-' | grep -v '^cml-state$' | tr '\n' ' ' | sed 's/ $//'
}

# auditlast OPTION VALUE PATTERN: the last record of `audit list OPTION
# VALUE` matching the extended regex PATTERN, waited for up to 5 s (cmld
# reads the kernel's log as it comes)
auditlast() {
	i=0
	while [ $i -lt 50 ] && ! cml audit list "$1" "$2" 2>/dev/null | grep -qE "$3"; do
		sleep 0.1
		i=$((i + 1))
	done
	cml audit list "$1" "$2" 2>&1 | grep -E "$3" | tail -n 1
}

# integrity_record NAME: the last integrity error record of container NAME
integrity_record() {
	auditlast --container "$1" 'integrity error'
}

# gonewait LIST: waits up to 5 s until the function LIST prints nothing
# (dm devices are removed deferred, once their last user closes them),
# prints what it prints then
gonewait() {
	i=0
	while [ $i -lt 50 ] && [ -n "$($1)" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	$1
}

# unmapped: waits for the container volumes' dm devices to go, prints those
# left
unmapped() {
	gonewait encmapped
}

# volid NAME: the id that names a container's volume file and dm devices
volid() {
	vf=$(show "$1" volume_file)
	vf=${vf##*/}
	echo "${vf%.*}"
}

# jstr NAME KEY: a string member of `container show NAME --json`, whole
# (show splits at commas)
jstr() {
	cml --json container show "$1" 2>/dev/null | grep -o "\"$2\": *\"[^\"]*\"" |
	    head -n 1 | sed 's/^[^:]*: *"//; s/"$//'
}

# start KEY NAME [PIN]: `container start` (with the PIN on stdin if given),
# timed; reports KEY (the exit status, and the output when it failed) and
# KEY.ms ("WALL-MS UNLOCK-MS OPEN-MS KEYSLOT-MS ACTIVATE-MS FS-MS", all
# but the first from the JSON reply)
start() {
	if [ $# -ge 3 ]; then
		t0=$(now_ms)
		printf '%s\n' "$3" | cml --json container start "$2" --pin-stdin >/tmp/out 2>/tmp/err
		rc=$?
	else
		t0=$(now_ms)
		cml --json container start "$2" >/tmp/out 2>/tmp/err </dev/null
		rc=$?
	fi
	t1=$(now_ms)
	report "$1" "$rc"
	[ "$rc" = 0 ] || report "$1.out" "$(cat /tmp/out /tmp/err | head -c 600 | tr '\n' ' ')"
	report "$1.ms" "$((t1 - t0)) $(jint unlock_ms /tmp/out) $(jint open_ms /tmp/out) $(jint keyslot_ms /tmp/out) $(jint activate_ms /tmp/out) $(jint fs_ms /tmp/out)"
	return $rc
}

# pin KEY LINE CMLSH-ARGS...: runs cmlsh with LINE on stdin; reports
# "STATUS OUTPUT" (stdout and stderr, one line)
pin() {
	key=$1
	line=$2
	shift 2
	printf '%s\n' "$line" | cml "$@" >/tmp/out 2>&1
	report "$key" "$? $(head -c 600 /tmp/out | tr '\n' ' ' | sed 's/ $//')"
}

# listed NAME: the state column of NAME's line in `container list`
listed() {
	cml container list 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
}

# dmread KEY ID: reads the whole dm-crypt device cml-ID from the VM's side;
# reports "STATUS I/O-ERROR-LINES"
dmread() {
	dd if="/dev/mapper/cml-$2" of=/dev/null bs=1M conv=noerror >/tmp/dd.out 2>&1
	report "$1" "$? $(grep -ciE 'input/output error|i/o error' /tmp/dd.out)"
	report "$1.out" "$(head -c 300 /tmp/dd.out | tr '\n' ' ')"
}

# byteat FILE OFFSET: the byte there, as a decimal number
byteat() {
	dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' \n'
}

run create.enc container create /payload/enc.json
run create.plain container create /payload/plain.json
run create.enc-auto container create /payload/enc-auto.json
pin enc.token_init "$PIN" token init enc --pin-stdin --generate-puk
pin enc-auto.token_init "$PIN" token init enc-auto --pin-stdin --generate-puk
pin enc.token_verify "$PIN" token verify enc --pin-stdin

# the first starts: plain makes its ext4; enc formats LUKS2, wipes (so that
# every sector has its integrity tag) and makes its ext4
start bench.plain_first plain
run bench.plain_first_stop container stop plain
start enc.start enc "$PIN"
id=$(volid enc)
report enc.id "$id"
report enc.state "$(show enc state)"
report enc.mapped "$(encmapped)"
report enc.nodes "$(encnodes)"
report enc.encryption "$(jstr enc encryption)"
report enc.integrity "$(show enc integrity)"
report enc.integrity_errors_clean "$(show enc integrity_errors)"
report enc.volume_file "$(show enc volume_file)"
report enc.volume_mode "$(stat -c '%a %u' "$VOLDIR/volumes/$id.luks" 2>&1)"
# untampered, the whole device reads without an error
dmread enc.dm_read_clean "$id"
cml container exec enc -- /bin/sh -c "echo $ENCMARK >/data/m; sync" >/tmp/out 2>&1
report enc.write "$? $(head -c 300 /tmp/out | tr '\n' ' ')"
report enc.read "$(cml container exec enc -- /bin/cat /data/m 2>&1)"
report enc.mount_inside "$(cml container exec enc -- /bin/cat /proc/mounts 2>&1 | awk '$2 == "/data" { print $1, $3 }')"
run enc.stop container stop enc
report enc.state_stopped "$(show enc state)"
report enc.mapped_stopped "$(unmapped)"
# cmld removes the nodes once the kernel removed the devices (no udev
# here to do it): given up to 5 s
i=0
while [ -n "$(encnodes)" ] && [ "$i" -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
report enc.nodes_stopped "$(encnodes)"
# the volume file: a LUKS2 header (magic, version 2, integrity in its JSON
# area), and the marker not in clear
volf=$VOLDIR/volumes/$id.luks
report enc.file_magic "$(od -An -c -N 6 "$volf" 2>&1 | tr -s ' ' | sed 's/^ //; s/ $//') $(od -An -tu1 -j 6 -N 2 "$volf" | tr -s ' ' | sed 's/^ //; s/ $//')"
# (the JSON area follows the 4 KiB binary header; NULs pad both)
head -c 16384 "$volf" | tr '\000' '\n' >/tmp/hdr
report enc.file_header "$(for w in '"aes-xts-plain64"' 'hmac(sha256)' 'cml:enc'; do grep -q -F "$w" /tmp/hdr && printf '%s ' "$w"; done | sed 's/ $//')"
report enc.file_json "$(dd if="$volf" bs=4096 skip=1 count=1 2>/dev/null | tr -d '\000' | head -c 900)"
report enc.file_marker "$(grep -c -a -F "$ENCMARK" "$volf")"
report enc.file_size "$(stat -c %s "$volf" 2>&1)"

# started again: the marker is there; cmld restarted: enc runs on, the
# marker readable; enc-auto (autostart) is locked, not started
start enc.start2 enc "$PIN"
report enc.read2 "$(cml container exec enc -- /bin/cat /data/m 2>&1)"
stopwait enc.cmld_stop $cmld_pid
if cmld_start $STACK/log/cmld.log; then
	report enc.cmld_again ready
else
	report enc.cmld_again "not ready: $(tail -n 3 $STACK/log/cmld.log | tr '\n' ' ')"
fi
report enc.state_restarted "$(show enc state)"
report enc.read_restarted "$(cml container exec enc -- /bin/cat /data/m 2>&1)"
report enc.mapped_restarted "$(encmapped)"
report enc-auto.state "$(show enc-auto state)"
report enc-auto.listed "$(listed enc-auto)"
auto=$(volid enc-auto)
report enc-auto.mapped "$(ls /dev/mapper 2>/dev/null | grep -c "^cml-${auto:-none}")"
run enc.stop2 container stop enc
report enc.mapped_stopped2 "$(unmapped)"

# a wrong PIN: refused, locked, nothing opened
printf '%s\n' "$WRONG" | cml container start enc --pin-stdin >/tmp/out 2>&1
report enc.wrong_pin "$? $(head -c 400 /tmp/out | tr '\n' ' ' | sed 's/ $//')"
report enc.wrong_state "$(show enc state)"
report enc.wrong_listed "$(listed enc)"
report enc.wrong_mapped "$(encmapped)"

# --- the benchmark: plain against encrypted starts, whole commands ------------------------
# settled: waits up to 5 s until the last run's volume devices are gone
# (dm devices, and the loop devices under them and under plain volumes),
# so that each start is timed from the same state, not while the kernel
# still tears the last one down
settled() {
	unmapped >/dev/null
	i=0
	while [ $i -lt 50 ] && loops | grep -q .; do
		sleep 0.1
		i=$((i + 1))
	done
}
n=0
while [ $n -lt "$BENCH_RUNS" ]; do
	settled
	start bench.plain.$n plain
	cml container stop plain >/dev/null 2>&1
	settled
	start bench.enc.$n enc "$PIN"
	cml container stop enc >/dev/null 2>&1
	n=$((n + 1))
done
report bench.runs "$BENCH_RUNS"

# tamper: one byte of the data area flipped while enc is stopped.  The
# offset, 40 MiB into the 64 MiB file, lies 24 MiB into the dm-integrity
# device that follows the 16 MiB LUKS2 header: past its superblock,
# journal and tag areas, in a data area (the kernel names sector 47840 of
# the dm-crypt device, 23.4 MiB in: the 0.6 MiB before it are
# dm-integrity's own); the wipe at the format wrote every sector with its
# tag, so the sector there is checked when read, and reads cleanly before
# (enc.dm_read_clean).  e2fsck -p at the start finds the file system
# clean and reads little of it, not that sector: the start goes on, and
# the read of the whole device meets the error.
off=41943040
if [ -f "$volf" ]; then
	b0=$(byteat "$volf" $off)
	printf "\\$(printf %o $((b0 ^ 255)))" | dd of="$volf" bs=1 seek=$off count=1 conv=notrunc 2>/dev/null
	sync
	report enc.tamper "$b0 $(byteat "$volf" $off)"
else
	report enc.tamper "no volume file $volf"
fi
dmesg -c >/dev/null
start enc.tamper_start enc "$PIN"
report enc.tamper_state "$(show enc state)"
if [ -n "$(encmapped)" ]; then
	dmread enc.tamper_read "$id"
else
	report enc.tamper_read "not opened"
fi
report enc.tamper_dmesg "$(dmesg | grep -cE 'INTEGRITY AEAD ERROR|Checksum failed')"
report enc.tamper_dmesg_line "$(dmesg | grep -m 1 -E 'INTEGRITY AEAD ERROR|Checksum failed' | head -c 300)"
report enc.tamper_audit "$(integrity_record enc | head -c 400)"
report enc.tamper_errors "$(show enc integrity_errors)"
cml container stop enc >/dev/null 2>&1
report enc.tamper_mapped_stopped "$(unmapped)"

# wipe: header, volume and key destroyed; a start after it makes a new volume
cml --json --yes container wipe enc >/tmp/out 2>&1
report enc.wipe "$? $(head -c 1200 /tmp/out | tr '\n' ' ')"
report enc.wipe_files "$(ls "$VOLDIR/volumes" 2>/dev/null | grep -c "^$id\.")"
report enc.wipe_mapped "$(encmapped)"
start enc.start_wiped enc "$PIN"
report enc.read_wiped "$(cml container exec enc -- /bin/cat /data/m 2>&1 | head -c 200)"
report enc.id_wiped "$(volid enc)"
cml container stop enc >/dev/null 2>&1
report enc.mapped_end "$(unmapped)"
# (a loop device goes a moment after the dm device over it: waited for,
# as after each start of the benchmark)
settled
report enc.loops_end "$(loops)"
report enc.cgroups_end "$(find $CG -mindepth 1 -type d | tr '\n' ' ')"
report enc.kmsg "$(dmesg | grep -E 'device-mapper|dm-|integrity' | tail -n 5 | tr '\n' '|' | head -c 600)"

# --- a kernel without dm-integrity: refused, never opened without it ----------------------
# (the module unloaded, and the kernel kept from loading it again: its
# modprobe helper is /bin/false meanwhile)
modprobe_was=$(cat /proc/sys/kernel/modprobe 2>/dev/null)
echo /bin/false >/proc/sys/kernel/modprobe
rmmod dm_integrity >/tmp/rmmod.out 2>&1
report noint.rmmod "$? $(head -c 200 /tmp/rmmod.out | tr '\n' ' ')"
start noint.start enc-auto "$PIN"
report noint.state "$(show enc-auto state)"
report noint.mapped "$(encmapped)"
report noint.files "$(ls "$VOLDIR/volumes" 2>/dev/null | grep -c "^${auto:-none}\.")"
insmod "/lib/modules/$(uname -r)/dm_integrity.ko" >/tmp/insmod.out 2>&1
report noint.insmod "$? $(head -c 200 /tmp/insmod.out | tr '\n' ' ')"
echo "$modprobe_was" >/proc/sys/kernel/modprobe

# --- guest OS images checked by dm-verity as they are read ---------------------------------
# /payload/vsmall-1.0: the busybox root and a 2 MiB ext4 on /data, each with
# its signed hash tree (cml-mkguestos --verity); /dev/vdb: an ext4 holding
# vbig-1.0, the same with a 252 MiB ext4 on /pad (about 256 MiB in all);
# containers "vsmall" and "vbig" on them.  /payload/vsmall.offset: a byte
# of the root directory's block in the /data image, to change.
# vdm: the dm-verity devices of container images (cml-ID_vN)
vdm() {
	mapped | tr ' ' '\n' | grep -E '^cml-[0-9a-f]{32}_v[0-9]+$' | tr '\n' ' ' | sed 's/ $//'
}
# vgone: waits for them to go (removed with the last mount of them),
# prints those left
vgone() {
	gonewait vdm
}
# vbacking: for each dm-verity device, the file its loop device reads
vbacking() {
	for d in /sys/block/dm-*; do
		case "$(cat $d/dm/name 2>/dev/null)" in
		cml-*_v[0-9]*) ;;
		*) continue ;;
		esac
		for l in $d/slaves/*; do
			cat /sys/block/${l##*/}/loop/backing_file 2>/dev/null
		done
	done | sort | tr '\n' ' ' | sed 's/ $//'
}
# vmntdev NAME DIR: the dm device (its name) of the mount on DIR in the
# mount namespace of NAME's init, as the kernel has it; "none MAJ:MIN"
# when it is not one
vmntdev() {
	mm=$(awk -v d="$2" '$5 == d { m = $3 } END { print m }' "/proc/$(show "$1" pid)/mountinfo" 2>/dev/null)
	cat "/sys/dev/block/$mm/dm/name" 2>/dev/null || echo "none $mm"
}
# imagecheck: device status's image_check
imagecheck() {
	cml --json device status 2>/dev/null | tr ',{}' '\n\n\n' |
	    sed -n 's/^ *"image_check": *"\([^"]*\)" *$/\1/p'
}
# cycle KEY NAME: one start and one stop, timed as whole commands ("KEY
# STATUS" and "KEY.ms MS")
cycle() {
	t0=$(now_ms)
	cml container start "$2" >/tmp/out 2>&1 </dev/null && cml container stop "$2" >>/tmp/out 2>&1
	rc=$?
	t1=$(now_ms)
	report "$1" "$rc"
	[ "$rc" = 0 ] || report "$1.out" "$(head -c 400 /tmp/out | tr '\n' ' ')"
	report "$1.ms" "$((t1 - t0))"
}
report verity.image_check "$(imagecheck)"
run verity.install_small guestos install /payload/vsmall-1.0
mkdir -p /big
mount -t ext4 -o ro /dev/vdb /big >/tmp/out 2>&1
report verity.big_disk "$? $(head -c 200 /tmp/out | tr '\n' ' ')"
run verity.install_big guestos install /big/vbig-1.0
run verity.create_small container create /payload/vsmall.json
run verity.create_big container create /payload/vbig.json
run verity.start_small container start vsmall
report verity.small_state "$(show vsmall state)"
report verity.small_images "$(jstr vsmall images)"
report verity.small_mapped "$(vdm | wc -w)"
report verity.small_backing "$(vbacking)"
report verity.small_data_dev "$(vmntdev vsmall /data)"
report verity.small_read "$(cml container exec vsmall -- /bin/ls /data 2>&1 | tr '\n' ' ' | sed 's/ $//')"
report verity.small_exec "$(cml container exec vsmall -- /bin/echo alive 2>&1)"
run verity.stop_small container stop vsmall
report verity.small_mapped_stopped "$(vgone)"
settled
report verity.small_loops_stopped "$(loops)"
run verity.start_big container start vbig
report verity.big_state "$(show vbig state)"
report verity.big_mapped "$(vdm | wc -w)"
report verity.big_pad_dev "$(vmntdev vbig /pad)"
report verity.big_read "$(cml container exec vbig -- /bin/ls /pad 2>&1 | tr '\n' ' ' | sed 's/ $//')"
run verity.stop_big container stop vbig
report verity.big_mapped_stopped "$(vgone)"
settled
report verity.big_loops_stopped "$(loops)"

# guestos_verity false: the images are hashed in full, no dm-verity device
run verity.off device config set guestos_verity false
report verity.off_image_check "$(imagecheck)"
run verity.off_start container start vbig
report verity.off_mapped "$(vdm)"
report verity.off_images "$(jstr vbig images)"
run verity.off_stop container stop vbig
run verity.on device config set guestos_verity true
report verity.on_image_check "$(imagecheck)"

# the benchmark: start+stop of the 2 MiB and the 256 MiB guest OS in turn,
# checked by dm-verity, then hashed in full (guestos_verity false)
for how in v:true h:false; do
	cml device config set guestos_verity "${how#*:}" >/dev/null 2>&1
	n=0
	while [ $n -lt "$BENCH_RUNS" ]; do
		settled
		cycle "bench.${how%:*}small.$n" vsmall
		settled
		cycle "bench.${how%:*}big.$n" vbig
		n=$((n + 1))
	done
done
cml device config set guestos_verity true >/dev/null 2>&1

# tamper: one byte of the installed /data image changed (its root
# directory's block, in the file system, not the tree): the start does not
# hash, the read of /data fails with an I/O error, the kernel says why,
# cmld audits it against vsmall
vimg=$VOLDIR/guestos/vsmall/1.0/data.ext4
voff=$(cat /payload/vsmall.offset 2>/dev/null)
if [ -f "$vimg" ] && [ -n "$voff" ]; then
	b0=$(byteat "$vimg" "$voff")
	printf "\\$(printf %o $((b0 ^ 255)))" | dd of="$vimg" bs=1 seek="$voff" count=1 conv=notrunc 2>/dev/null
	sync
	report verity.tamper "$b0 $(byteat "$vimg" "$voff")"
else
	report verity.tamper "no image $vimg or offset '$voff'"
fi
dmesg -c >/dev/null
settled
run verity.tamper_start container start vsmall
# (a lookup in the root directory reads its block; busybox's ls would
# not say that its readdir failed)
cml container exec vsmall -- /bin/cat /data/lost+found/none >/tmp/out 2>&1
report verity.tamper_read "$? $(head -c 300 /tmp/out | tr '\n' ' ' | sed 's/ $//')"
report verity.tamper_exec "$(cml container exec vsmall -- /bin/echo alive 2>&1)"
report verity.tamper_dmesg_line "$(dmesg | grep -m 1 'device-mapper: verity: .* is corrupted' | head -c 300)"
report verity.tamper_audit "$(integrity_record vsmall | head -c 500)"
report verity.tamper_errors "$(show vsmall integrity_errors)"
run verity.tamper_stop container stop vsmall
report verity.tamper_mapped_stopped "$(vgone)"
if [ -n "${b0:-}" ]; then
	printf "\\$(printf %o "$b0")" | dd of="$vimg" bs=1 seek="$voff" count=1 conv=notrunc 2>/dev/null
fi
umount /big 2>/dev/null

# --- cmld as the kernel's audit daemon (audit_kernel) --------------------------------------
# /payload/kauditstat prints the kernel's audit status ("enabled E pid P"),
# or with "hold" is another audit daemon until SIGTERM.  With the setting
# on, cmld registers at its start (auditing on), a process killed by
# SIGSEGV is an ANOM_ABEND record in the trail, and cmld's stop gives the
# kernel back as it was; a daemon already registered is left alone.
KSTAT=/payload/kauditstat
# kstart KEY: starts cmld, reports whether it is ready
kstart() {
	if cmld_start $STACK/log/cmld.log; then
		report "$1" ready
	else
		report "$1" "not ready: $(tail -n 3 $STACK/log/cmld.log | tr '\n' ' ')"
	fi
}
report kaudit.before "$($KSTAT 2>&1)"
run kaudit.set device config set audit_kernel true
stopwait kaudit.cmld_stop $cmld_pid
kstart kaudit.cmld
report kaudit.cmld_pid "$cmld_pid"
# (the registration completes in cmld's loop)
i=0
while [ $i -lt 50 ] && ! $KSTAT 2>/dev/null | grep -q " pid $cmld_pid\$"; do
	sleep 0.1
	i=$((i + 1))
done
report kaudit.running "$($KSTAT 2>&1)"
sh -c 'echo $$ >/tmp/segv.pid; kill -SEGV $$'
report kaudit.segv_pid "$(cat /tmp/segv.pid)"
# klist TYPE PATTERN: the last record of TYPE matching, waited for up to 5 s
klist() {
	auditlast --type "$1" "$2" | head -c 600
}
# kshow TYPE PATTERN: that record whole, as audit show --json has it (one
# line; the listing cuts long details)
kshow() {
	seq=$(klist "$1" "$2" | awk '{ print $1 }')
	if [ -n "$seq" ]; then
		cml --json audit show "$seq" 2>&1 | tr '\n' ' ' | tr -s ' ' | head -c 1500
	else
		echo "no record of type $1 matching $2"
	fi
}
report kaudit.abend "$(kshow kernel "ANOM_ABEND .*pid=$(cat /tmp/segv.pid) ")"
report kaudit.config_change "$(kshow kernel "CONFIG_CHANGE .*audit_pid=$cmld_pid ")"
report kaudit.registered "$(kshow audit "is the kernel's audit daemon")"
stopwait kaudit.cmld_stop2 $cmld_pid
report kaudit.after "$($KSTAT 2>&1)"
$KSTAT hold >/tmp/hold.out 2>&1 &
hold_pid=$!
i=0
while [ $i -lt 50 ] && ! grep -q held /tmp/hold.out; do
	sleep 0.1
	i=$((i + 1))
done
report kaudit.hold_pid "$hold_pid $(head -c 200 /tmp/hold.out | tr '\n' ' ')"
kstart kaudit.cmld_held
report kaudit.unregistered "$(kshow audit "no longer the kernel's audit daemon")"
report kaudit.refused "$(kshow audit "another audit daemon")"
report kaudit.refused_state "$($KSTAT 2>&1)"
run kaudit.unset device config set audit_kernel false
kill -TERM $hold_pid
wait $hold_pid
report kaudit.released "$? $($KSTAT 2>&1)"

# --- the state volume: what lives in it ----------------------------------------------
# (cmld still runs: its device UUID and what tpm2d says of the volume)
devstatus() {
	cml --json device status 2>/dev/null | tr ',{}' '\n\n\n' |
	    sed -n "s/^ *\"$1\": *\"\([^\"]*\)\" *\$/\1/p" | head -n 1
}
uuid1=$(devstatus uuid)
report vol.uuid "$uuid1"
report vol.status "$(devstatus state_volume)"
marker=$(cat /payload/marker 2>/dev/null)
echo "$marker" >$VOLDIR/cmlvm-marker
sync
report vol.marker_inside "$(cat $VOLDIR/cmlvm-marker)"
report vol.db "$(head -c 15 $VOLDIR/cml.db 2>&1)"

# cmld ends (sanitizer builds report leaks only then)
kill -TERM $cmld_pid 2>/dev/null
i=0
while [ $i -lt 200 ] && kill -0 $cmld_pid 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 $cmld_pid 2>/dev/null; then
	report cmld_exit "still running after 20 s"
else
	report cmld_exit exited
fi
report sanitizer "$(grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' $STACK/log/cmld.log)"
# scd ends before tpm2d (its tokens live in the state volume)
stopwait scd_stop $scd_pid
report scd_sanitizer "$(grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' $STACK/log/scd.log)"

# --- tpm2d stopped and started again: the volume opens again -----------------------------
stopwait vol.tpm2d_stop $tpm2d_pid
report vol.mount_stopped "$(volmount)"
report vol.mapped_stopped "$(mapped)"
tpm2d_start vol.tpm2d_again
report vol.mount_again "$(volmount)"
report vol.marker_again "$(cat $VOLDIR/cmlvm-marker 2>&1)"
if cmld_start $STACK/log/cmld2.log; then
	report vol.cmld_again ready
else
	report vol.cmld_again "not ready: $(tail -n 3 $STACK/log/cmld2.log | tr '\n' ' ')"
fi
report vol.uuid_again "$(devstatus uuid)"
report vol.status_again "$(devstatus state_volume)"
report vol.containers_again "$(cml container list 2>&1 | grep -oE 'v2(-lim)?' | sort -u | tr '\n' ' ' | sed 's/ $//')"
stopwait vol.cmld_again_exit $cmld_pid
stopwait vol.tpm2d_again_stop $tpm2d_pid
report vol.mapped_again_stopped "$(mapped)"

# --- PCR 16 extended: the key refused, the volume stays closed, cmld cannot start ------------
# TPM2_PCR_Extend of PCR 16 (sha256, 32 bytes 0x01) with an empty password
# session, written as raw bytes to the kernel's resource manager: the
# response code (bytes 7 to 10) is 0 on success.
printf '\200\002\000\000\000\101\000\000\001\202\000\000\000\020\000\000\000\011\100\000\000\011\000\000\000\000\000\000\000\000\001\000\013' >/tmp/extend.bin
i=0
while [ $i -lt 32 ]; do
	printf '\001' >>/tmp/extend.bin
	i=$((i + 1))
done
exec 3<>/dev/tpmrm0
dd if=/tmp/extend.bin bs=65 count=1 >&3 2>/dev/null
dd bs=4096 count=1 <&3 2>/dev/null >/tmp/extend.out
exec 3<&-
report vol.extend "$(stat -c %s /tmp/extend.bin) $(od -An -tx1 -j 6 -N 4 /tmp/extend.out | tr -d ' \n')"
tpm2d_start vol.tpm2d_refused
report vol.refused_log "$(grep 'state volume: [a-z]*: ' $STACK/log/tpm2d.log | tail -n 1 | sed 's/^tpm2d: //')"
report vol.refused_audit "$(grep 'audit [0-9]*: volume /dev/vda ' $STACK/log/tpm2d.log | tail -n 1 | sed 's/^tpm2d: audit [0-9]*: //' | head -c 300)"
report vol.mount_refused "$(volmount)"
report vol.mapped_refused "$(mapped)"
report vol.locked_file "$(cat $VOLDIR/LOCKED 2>&1 | head -c 400)"
report vol.marker_refused "$(cat $VOLDIR/cmlvm-marker 2>&1 | head -c 200)"
cmld --root $STACK --foreground >$STACK/log/cmld3.log 2>&1 </dev/null &
cmld_pid=$!
i=0
while [ $i -lt 100 ] && kill -0 $cmld_pid 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 $cmld_pid 2>/dev/null; then
	report vol.cmld_locked "still running after 10 s"
	kill -KILL $cmld_pid
else
	wait $cmld_pid
	report vol.cmld_locked "exit $? $(tail -n 1 $STACK/log/cmld3.log)"
fi
stopwait vol.tpm2d_refused_stop $tpm2d_pid
report vol.mount_end "$(volmount)"

# --- an image file as the state volume: attached to a loop device by tpm2d -------------------
# (another root, so another system key, sealed to the PCRs as they are now)
S2=/stack2
mkdir -p $S2/log
truncate -s 40M /tmp/state2.img
rm -f /tmp/tready
DM_DISABLE_UDEV=1 tpm2d --root $S2 --tcti device:/dev/tpmrm0 --seal-pcrs 16,23 \
    --state-volume /tmp/state2.img --foreground --ready-fd 5 5>/tmp/tready \
    >>$STACK/log/tpm2d.log 2>&1 </dev/null &
tpm2d_pid=$!
if waitready /tmp/tready $tpm2d_pid; then
	report img.tpm2d ready
else
	report img.tpm2d "not ready: $(tail -n 3 $STACK/log/tpm2d.log | tr '\n' ' ')"
fi
report img.mount "$(awk -v d="$S2/var/lib/cml" '$2 == d { print $1, $3 }' /proc/mounts)"
report img.loop "$(for f in /sys/block/loop*/loop/backing_file; do [ "$(cat "$f" 2>/dev/null)" = /tmp/state2.img ] && echo "${f%/loop/backing_file}"; done | sed 's|/sys/block/||' | tr '\n' ' ' | sed 's/ $//')"
report img.slaves "$(ls /sys/block/dm-0/slaves 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
stopwait img.tpm2d_stop $tpm2d_pid
report img.mount_stopped "$(awk -v d="$S2/var/lib/cml" '$2 == d { print $1 }' /proc/mounts)"
report img.loop_stopped "$(for f in /sys/block/loop*/loop/backing_file; do [ "$(cat "$f" 2>/dev/null)" = /tmp/state2.img ] && echo "${f%/loop/backing_file}"; done)"
report img.mapped_stopped "$(mapped)"
report vol.sanitizer "$(cat $STACK/log/tpm2d.log $STACK/log/cmld2.log | grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer')"
report done "$(cut -d' ' -f1 /proc/uptime)"
tail -n 100 $STACK/log/cmld.log | sed 's/^/CMLVM-LOG /'
tail -n 60 $STACK/log/tpm2d.log | sed 's/^/CMLVM-LOG tpm2d: /'
tail -n 20 $STACK/log/cmld2.log | sed 's/^/CMLVM-LOG cmld2: /'
tail -n 20 $STACK/log/scd.log | sed 's/^/CMLVM-LOG scd: /'
off
