#!/bin/bash
# A/B updates of the kernel and its initramfs from signed boot bundles, in
# a virtual machine that boots the way a device without an A/B boot
# loader does: qemu boots Debian's kernel (linux-image-amd64) with a small
# loader initramfs (tests/vm/boot-loader.sh, cml-bootpick) at every start
# and every reset; the loader mounts the disk, picks the boot slot with
# cml-bootpick and kexecs that slot's kernel and initramfs.  The slots'
# system (tests/vm/boot-system.sh: cmld with --boot-slots, cmlsh) runs
# from the slots of the disk /dev/vda, an ext4 image made here holding
# boot/a (the kernel and the system's initramfs), the supplier anchor and
# two bundles of kind boot signed under it: good (2.0: the same kernel and
# initramfs) and broken (3.0: the same kernel and an initramfs without a
# working init, so that the kernel panics; panic=1 resets the VM).  qemu
# runs without -no-reboot, so that a reset comes back to the loader.
#
# The run, one VM, four starts of the loader and three of the system:
#   1. loader: no state file, slot a is good: boots a.  System (boot 1):
#      cml.boot_slot=a; installs good.bundle into slot b (reply: boots from
#      slot b at the next start; the state says try=b tries=1; b's files
#      have the bundle's SHA-256); a second install while b waits is
#      refused; resets.
#   2. loader: boots b once, tries=0 written before.  System (boot 2):
#      cml.boot_slot=b; cmld confirms b (good=b, good_version 2.0), the
#      history says confirmed, the floor of boot is 2.0, audited;
#      mark-good says good already; installs broken.bundle into slot a;
#      resets.
#   3. loader: boots a once (tries=0 written); the kernel panics ("No
#      working init found") and resets.
#   4. loader: slot a was booted and not confirmed: recorded as failed,
#      boots the good slot b.  System (boot 3): cml.boot_slot=b; cmld
#      audits the fallback (fell-back, with the loader's reason), the
#      history says fell-back, update status shows the slots (good b,
#      nothing tried, the last failure) and the floor stays 2.0.
# After the VM the disk's state file and cmld's database are read on the
# host (debugfs, sqlite3) and compared.
#
# The loader's starts are counted on the console; more than 6 is a reset
# loop and stops the VM.  The VM is stopped when its console stays silent
# for CML_VM_STALL seconds (default 180) or after CML_VM_TIMEOUT seconds
# (default 900).  Needs qemu-system-x86, linux-image-amd64 (a kernel with
# CONFIG_KEXEC_FILE), busybox-static, cpio, e2fsprogs (mke2fs, debugfs)
# and sqlite3; skips loudly without them.
# Proves: TSF.UPD, NDR 3.10 (the kernel and its initramfs updated from a signed bundle into the inactive boot slot and confirmed once up), NDR 3.10(1) (the floor of the boot image), CR 3.4 (a kernel that does not come up falls back to the good slot at the next start), CR 2.8 (the confirmation and the fallback audited)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vm.sh"

VM_DIR=$CML_SRCDIR/tests/vm
VM_TIMEOUT=${CML_VM_TIMEOUT:-900}
VM_STALL=${CML_VM_STALL:-180}
BUNDLE=$CML_BUILDDIR/provisioning/cml-bundle
BOOTPICK=$CML_BUILDDIR/daemon/boot/cml-bootpick

need_root
need_binaries
need_prog qemu-system-x86_64 cpio timeout mke2fs debugfs sqlite3 openssl sha256sum
[ -x "$BUNDLE" ] || skip "no cml-bundle at $BUNDLE: build first"
[ -x "$BOOTPICK" ] || skip "no cml-bootpick at $BOOTPICK: build first"
vm_kernel
cfg=/boot/config-$kver
if [ -f "$cfg" ] && ! grep -q '^CONFIG_KEXEC_FILE=y' "$cfg"; then
	skip "kernel $kver has no CONFIG_KEXEC_FILE: the loader cannot boot a slot"
fi

make_scratch
t0=$(date +%s)

# --- the PKI, the initramfs images and the bundles -----------------------------------
pki_make "$SCRATCH/pki"
mods=(--module virtio_pci --module virtio_blk --module crc32c_generic --module ext4)
sysrd=$SCRATCH/system.cpio
_run_tool "mkinitramfs (system)" bash "$VM_DIR/mkinitramfs" "$sysrd" --kver "$kver" \
    --init "$VM_DIR/boot-system.sh" "${mods[@]}" \
    --binary "$CML_BUILDDIR/daemon/cmld/cmld" --binary "$CMLSH"
loaderrd=$SCRATCH/loader.cpio
_run_tool "mkinitramfs (loader)" bash "$VM_DIR/mkinitramfs" "$loaderrd" --kver "$kver" \
    --init "$VM_DIR/boot-loader.sh" "${mods[@]}" --binary "$BOOTPICK"
# an initramfs whose /init cannot run: the kernel finds no working init
# and panics
mkdir -p "$SCRATCH/broken"
printf '#!/nonexistent/interpreter\n' >"$SCRATCH/broken/init"
chmod 755 "$SCRATCH/broken/init"
(cd "$SCRATCH/broken" && echo init | cpio -o -H newc --owner 0:0 --quiet) >"$SCRATCH/broken.cpio" ||
    fail "cpio of the broken initramfs"

disk_root=$SCRATCH/disk
mkdir -p "$disk_root/boot/a" "$disk_root/test"
cp "$kernel" "$disk_root/boot/a/vmlinuz" && cp "$sysrd" "$disk_root/boot/a/initrd.img" ||
    fail "cannot fill slot a"
cp "$SCRATCH/pki/root.crt" "$disk_root/test/root.crt" || fail "cp root.crt"
openssl x509 -in "$SCRATCH/pki/root.crt" -outform DER | sha256sum | cut -d' ' -f1 >"$disk_root/test/root.fp"

# bundle_boot NAME VERSION INITRD: a signed boot bundle of the kernel and
# INITRD, in the disk's test directory
bundle_boot() {
	local out=$disk_root/test/$1.bundle
	_run_tool "cml-bundle create $1" "$BUNDLE" create -o "$out" --kind boot \
	    --name kernel --version "$2" "vmlinuz=$kernel" "initrd.img=$3"
	_run_tool "cml-bundle sign $1" "$BUNDLE" sign --key "$SCRATCH/pki/signer.key" \
	    --cert "$SCRATCH/pki/signer.crt" --chain "$SCRATCH/pki/chain.pem" "$out"
}
bundle_boot good 2.0 "$sysrd"
bundle_boot broken 3.0 "$SCRATCH/broken.cpio"
ksha=$(sha256sum <"$kernel" | cut -d' ' -f1)
ssha=$(sha256sum <"$sysrd" | cut -d' ' -f1)

disk=$SCRATCH/disk.img
_run_tool "mke2fs of the disk" mke2fs -q -F -t ext4 -L cmlboot -d "$disk_root" "$disk" 512M
t1=$(date +%s)
echo "# kernel $kernel ($kver); system initramfs $(($(stat -c %s "$sysrd") / 1048576)) MiB, loader $(($(stat -c %s "$loaderrd") / 1048576)) MiB; made in $((t1 - t0)) s"

# --- the VM ---------------------------------------------------------------------------
vm_accel
console=$SCRATCH/console.log
# more starts of the loader than the run has is a reset loop
vm_watch() {
	local n
	n=$(grep -c '^CMLVM-LOADER start' "$console" 2>/dev/null)
	[ "${n:-0}" -le 6 ] || echo "the loader started $n times: a reset loop"
}
vm_cmdline "console=ttyS0 panic=1 quiet loglevel=3"
# (no -no-reboot: a reset, as after a panic, starts the loader again)
vm_run "$console" \
    "${accel[@]}" -smp 2 -m 1024 -nodefaults -no-user-config -display none \
    -nic none -kernel "$kernel" -initrd "$loaderrd" -append "$append" \
    -drive "file=$disk,format=raw,if=virtio"
t2=$(date +%s)
echo "# the VM ran $((t2 - tvm)) s (exit $qrc, ${accel[*]}); $((t2 - t0)) s in all"

tr -d '\r' <"$console" >"$SCRATCH/console.txt"
declare -A vm=()
while IFS= read -r line; do
	case "$line" in
	"CMLVM "*)
		line=${line#CMLVM }
		key=${line%% *}
		if [ "$key" = "$line" ]; then vm[$key]=; else vm[$key]=${line#* }; fi
		;;
	esac
done <"$SCRATCH/console.txt"
show_console() {
	echo "--- qemu (exit $qrc):" >&2
	cat "$SCRATCH/qemu.log" >&2
	echo "--- the VM's console:" >&2
	cat "$SCRATCH/console.txt" >&2
}
got() {
	printf '%s' "${vm[$1]-<not reported>}"
}
if [ -n "$stopped" ] || [ -z "${vm[boot3.done]+x}" ]; then
	show_console
	[ -z "$stopped" ] || fail "$stopped"
	fail "the VM did not come to the end of its third system boot (qemu exit $qrc)"
fi
expect_eq "qemu ended by the VM's poweroff" 0 "$qrc"

# --- the loader's decisions, in order ----------------------------------------------------
picks=$(grep '^cml-bootpick: ' "$SCRATCH/console.txt")
unc="booted but not confirmed before the next start: it did not come up, or the device was reset before cmld confirmed it"
tried="being tried once: it must confirm itself before the next start"
expect_lines "the loader's decisions at its four starts" "$picks" \
    "^$(re_quote "cml-bootpick: booting slot a (boot image of unknown version, the good slot)")\$" \
    "^$(re_quote "cml-bootpick: booting slot b (boot image 2.0, $tried)")\$" \
    "^$(re_quote "cml-bootpick: booting slot a (boot image 3.0, $tried)")\$" \
    "^$(re_quote "cml-bootpick: slot a (boot image 3.0) failed: $unc")\$" \
    "^$(re_quote "cml-bootpick: booting slot b (boot image 2.0, the good slot)")\$"
expect_eq "the loader started four times" 4 "$(grep -c '^CMLVM-LOADER start' "$SCRATCH/console.txt")"
# the broken slot's kernel ran and panicked between the third and fourth start
seq=$(grep -oE '^CMLVM-LOADER start|Kernel panic - not syncing|^CMLVM boot[0-9]\.up' "$SCRATCH/console.txt")
expect_lines "loader, system, loader, system, loader, panic, loader, system" "$seq" \
    "^CMLVM-LOADER start\$" "^CMLVM boot1\\.up\$" "^CMLVM-LOADER start\$" "^CMLVM boot2\\.up\$" \
    "^CMLVM-LOADER start\$" "^Kernel panic - not syncing\$" "^CMLVM-LOADER start\$" "^CMLVM boot3\\.up\$"
expect_match "the broken kernel found no working init" "No working init found" \
    "$(grep 'Kernel panic' "$SCRATCH/console.txt")"

# --- boot 1: slot a; the good bundle into slot b -------------------------------------------
expect_eq "boot 1: the kernel came from slot a" a "$(got boot1.cmdline_slot)"
expect_eq "boot 1: cmld ready" ready "$(got boot1.cmld)"
expect_eq "boot 1: no state file before the first install" "" "$(got boot1.state)"
expect_match "boot 1: the supplier anchor" "^0 " "$(got boot1.anchor)"
expect_match "boot 1: install of good.bundle: boots from slot b at the next start" \
    "^0 detail: +written to slot b: boots from slot b at the next start, once" "$(got boot1.install)"
expect_eq "boot 1: the state after the install" \
    "good=a good_version= try=b tries=1 try_version=2.0 failed_slot=none failed_version= failed_reason= failed_time=0 failed_reported=0" \
    "$(got boot1.state_after)"
expect_eq "boot 1: slot b holds the kernel and the initramfs" "initrd.img vmlinuz " "$(got boot1.slot_b)"
expect_eq "boot 1: slot b's files are the bundle's" "$ksha $ssha " "$(got boot1.slot_b_sha)"
expect_match "boot 1: a second install while slot b waits is refused" \
    "^1 .*slot b \\(boot image 2\\.0\\) is being tried: confirm it \\('update mark-good'\\) or let it fall back first \\(it boots at the next start\\)" \
    "$(got boot1.again)"
expect_match "boot 1: the history: 2.0 pending" '"version": *"2.0", *"digest": *"[0-9a-f]{64}", *"result": *"pending"' \
    "$(got boot1.status)"
expect_match "boot 1: status shows the boot slots" \
    '"what": *"boot", *"running": *"a", *"good": *"a", *"try": *"b", *"tries": *1' "$(got boot1.status)"

# --- boot 2: slot b tried and confirmed; the broken bundle into slot a -----------------------
expect_eq "boot 2: the kernel came from slot b" b "$(got boot2.cmdline_slot)"
expect_eq "boot 2: cmld confirmed slot b" \
    "good=b good_version=2.0 try=none tries=0 try_version= failed_slot=none failed_version= failed_reason= failed_time=0 failed_reported=0" \
    "$(got boot2.state)"
expect_match "boot 2: mark-good: good already" "^0 .*slot b \\(boot image 2\\.0\\) is good already" "$(got boot2.mark_good)"
expect_match "boot 2: install of broken.bundle into slot a" "^0 detail: +written to slot a: boots from slot a at the next start" "$(got boot2.install)"
expect_eq "boot 2: the state after it" \
    "good=b good_version=2.0 try=a tries=1 try_version=3.0 failed_slot=none failed_version= failed_reason= failed_time=0 failed_reported=0" \
    "$(got boot2.state_after)"
expect_match "boot 2: the confirmation audited" "boot +ok +slot b \\(boot image 2\\.0\\) confirmed good once cmld and c0 were up" \
    "$(got boot2.audit)"
expect_match "boot 2: the history: 2.0 confirmed" '"version": *"2.0", *"digest": *"[0-9a-f]{64}", *"result": *"confirmed"' \
    "$(got boot2.status)"
expect_match "boot 2: the floor of boot is 2.0" '"kind": *"boot", *"name": *"kernel", *"version": *"2.0"' "$(got boot2.status)"

# --- boot 3: the fallback, audited ------------------------------------------------------
expect_eq "boot 3: the kernel came from slot b again" b "$(got boot3.cmdline_slot)"
expect_match "boot 3: the state records a's failure, taken by cmld" \
    "^good=b good_version=2.0 try=none tries=0 try_version= failed_slot=a failed_version=3.0 failed_reason=booted but not confirmed before the next start: it did not come up, or the device was reset before cmld confirmed it failed_time=[1-9][0-9]* failed_reported=1\$" \
    "$(got boot3.state_end)"
expect_match "boot 3: the fallback audited" \
    "boot +fell-back +boot image 3\\.0 in slot a did not come up: booted but not confirmed before the next start.*; slot b runs again" \
    "$(got boot3.audit)"
expect_match "boot 3: the history: 3.0 fell back" '"version": *"3.0", *"digest": *"[0-9a-f]{64}", *"result": *"fell-back"' \
    "$(got boot3.status)"
expect_match "boot 3: status: good b, nothing tried, the last failure" \
    '"what": *"boot", *"running": *"b", *"good": *"b", *"tries": *0, *"good_version": *"2.0", *"pending_confirmation": *false, *"last_failure": *"[^"]*slot a \(boot image 3.0\): booted but not confirmed' \
    "$(got boot3.status)"
expect_match "boot 3: the floor stays 2.0" '"kind": *"boot", *"name": *"kernel", *"version": *"2.0"' "$(got boot3.status)"

# --- on the host: the disk's state and cmld's database ---------------------------------------
hstate=$(debugfs -R 'cat /boot/state' "$disk" 2>/dev/null | grep -v '^#' | tr '\n' ' ' | sed 's/ $//')
expect_eq "the state file on the disk" "$(got boot3.state_end)" "$hstate"
for f in cml.db cml.db-wal; do
	debugfs -R "dump /stack/var/lib/cml/$f $SCRATCH/$f" "$disk" >/dev/null 2>&1
done
[ -s "$SCRATCH/cml.db" ] || fail "no cml.db on the disk"
expect_eq "the history in cmld's database" "2.0|confirmed
3.0|fell-back" "$(sqlite3 "$SCRATCH/cml.db" "select version, result from update_history where kind = 'boot' order by id")"
expect_eq "the floor in cmld's database" "boot|kernel|2.0" \
    "$(sqlite3 "$SCRATCH/cml.db" "select kind, name, version from update_floor where kind = 'boot'")"
# slot a holds the broken bundle's files, b the good one's
expect_eq "slot a holds the broken initramfs" "$(sha256sum <"$SCRATCH/broken.cpio" | cut -d' ' -f1)" \
    "$(debugfs -R 'cat /boot/a/initrd.img' "$disk" 2>/dev/null | sha256sum | cut -d' ' -f1)"
echo "# boots: 4 of the loader, 4 kernels from slots (one panicked); the VM ran $((t2 - tvm)) s"
finish
