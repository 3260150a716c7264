#!/bin/sh
# The init of the system the boot slots hold, in the boot slot test
# virtual machine (busybox sh; put in the initramfs by tests/vm/mkinitramfs
# as the initrd.img of slot a and of the good boot bundle, run by
# tests/integration/update-boot-vm.sh).  cml-bootpick kexecs it with
# cml.boot_slot=SLOT on the command line.
#
# It mounts the disk /dev/vda on /disk (the boot slots in /disk/boot,
# cmld's state under /disk/stack, the test's files in /disk/test), counts
# its boots in /disk/test/boots and starts cmld with --boot-slots
# /disk/boot (no tpm2d, no scd, no c0: a slot being tried is confirmed as
# soon as cmld is up).  Then, by the boot's number:
#   1  provisions the supplier anchor, installs good.bundle (the same
#      kernel and this initramfs, version 2.0) into slot b and resets
#   2  (slot b, tried) waits for the confirmation, installs broken.bundle
#      (version 3.0: an initramfs without a working init, the kernel
#      panics) into slot a and resets
#   3  (slot b again, after the fallback) reports and powers off
# Every finding is one line on the console, "CMLVM KEY VALUE"; cmld's log
# follows as "CMLVM-LOG LINE" lines at the end of each boot.
PATH=/bin:/cml
export PATH

report() {
	key=$1
	shift
	echo "CMLVM $key $*"
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
exec </dev/console >/dev/console 2>&1
echo 1 >/proc/sys/kernel/printk 2>/dev/null
while read -r m; do
	insmod "/lib/modules/$m" || echo "CMLVM-LOADER insmod $m failed"
done </etc/modules.order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
mkdir -p /disk
mount -t ext4 /dev/vda /disk || { report error "cannot mount /dev/vda"; poweroff -f; }
n=$(($(cat /disk/test/boots 2>/dev/null || echo 0) + 1))
echo $n >/disk/test/boots
sync
B=boot$n
report $B.up "$(cut -d' ' -f1 /proc/uptime)"
report $B.cmdline_slot "$(sed -n 's/.*cml\.boot_slot=\([a-z]*\).*/\1/p' /proc/cmdline)"

STACK=/disk/stack
SOCK=$STACK/run/cml/control.sock
mkdir -p $STACK/log
LOG=$STACK/log/cmld.log
echo "=== boot $n" >>$LOG
rm -f /tmp/ready
cmld --root $STACK --boot-slots /disk/boot --foreground --tpm2d-socket '' \
    --scd-socket '' --ready-fd 4 4>/tmp/ready >>$LOG 2>&1 </dev/null &
cmld_pid=$!
i=0
while [ $i -lt 600 ] && ! grep -q READY=1 /tmp/ready 2>/dev/null; do
	kill -0 $cmld_pid 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
report $B.cmld "$(if grep -q READY=1 /tmp/ready; then echo ready; else echo not ready; fi)"

cm() {
	timeout -k 5 100 cmlsh --socket $SOCK "$@"
}
# the state file's fields on one line
state() {
	grep -v '^#' /disk/boot/state 2>/dev/null | tr '\n' ' ' | sed 's/ $//'
}
# waits up to 30 s for the state to hold PATTERN
waitstate() {
	i=0
	while [ $i -lt 300 ] && ! state | grep -q "$1"; do
		sleep 0.1
		i=$((i + 1))
	done
}
# install KEY BUNDLE: reports the exit status and the detail line of the
# answer (the last line when there is none: a refusal)
install() {
	local rc line
	out=$(cm update install "$2" 2>&1)
	rc=$?
	line=$(echo "$out" | grep '^detail:' | tail -n 1)
	[ -n "$line" ] || line=$(echo "$out" | tail -n 1)
	report "$1" "$rc $line"
}
finish() {
	report $B.status "$(cm --json update status 2>&1 | tr -d '\n')"
	report $B.audit "$(cm audit list --type update 2>&1 | grep -E 'confirmed|fell-back' | tr '\n' '|')"
	kill -TERM $cmld_pid
	i=0
	while [ $i -lt 200 ] && kill -0 $cmld_pid 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	wait $cmld_pid 2>/dev/null
	sed -n "/^=== boot $n\$/,\$p" $LOG | sed 's/^/CMLVM-LOG /'
	report $B.state_end "$(state)"
	report $B.done "$1"
	cd /
	umount /disk || sync
	if [ "$1" = reset ]; then
		reboot -f
	else
		poweroff -f
	fi
	sleep 10
	echo o >/proc/sysrq-trigger
}

case $n in
1)
	report $B.state "$(state)"
	out=$(cm provision anchor /disk/test/root.crt supplier --confirm "$(cat /disk/test/root.fp)" 2>&1)
	report $B.anchor "$? $(echo "$out" | tail -n 1)"
	install $B.install /disk/test/good.bundle
	report $B.state_after "$(state)"
	report $B.slot_b "$(ls /disk/boot/b | tr '\n' ' ')"
	report $B.slot_b_sha "$(cd /disk/boot/b && sha256sum vmlinuz initrd.img | cut -d' ' -f1 | tr '\n' ' ')"
	install $B.again /disk/test/broken.bundle
	finish reset
	;;
2)
	waitstate 'good=b good_version=2.0 try=none'
	report $B.state "$(state)"
	out=$(cm update mark-good 2>&1)
	report $B.mark_good "$? $(echo "$out" | tail -n 1)"
	install $B.install /disk/test/broken.bundle
	report $B.state_after "$(state)"
	finish reset
	;;
3)
	report $B.state "$(state)"
	finish poweroff
	;;
*)
	report $B.unexpected "boot $n"
	finish poweroff
	;;
esac
