#!/bin/sh
# The init of the loader's initramfs in the boot slot test virtual machine
# (busybox sh; put in the initramfs by tests/vm/mkinitramfs, run by
# tests/integration/update-boot-vm.sh).  It is what the machine boots
# first, at every start and every reset: it loads the modules of the
# disk, mounts the disk that holds the boot slots and runs cml-bootpick,
# which kexecs the picked slot's kernel.  Nothing here decides: the pick
# and its record are cml-bootpick's (cml-bootpick(8)), as on a device.
# Its lines on the console start with "CMLVM-LOADER".
PATH=/bin:/cml
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo 1 >/proc/sys/kernel/printk 2>/dev/null
echo "CMLVM-LOADER start $(cut -d' ' -f1 /proc/uptime)"
while read -r m; do
	insmod "/lib/modules/$m" || echo "CMLVM-LOADER insmod $m failed"
done </etc/modules.order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
mkdir -p /disk
if mount -t ext4 /dev/vda /disk; then
	cml-bootpick --slots /disk/boot --unmount /disk
	echo "CMLVM-LOADER cml-bootpick failed: exit $?"
else
	echo "CMLVM-LOADER cannot mount /dev/vda"
fi
# nothing to boot: end the machine (the test fails on it)
sync
poweroff -f
sleep 10
echo o >/proc/sysrq-trigger
