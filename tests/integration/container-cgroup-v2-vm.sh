#!/bin/bash
# The cgroup v2 path of cmld with a running container, in a virtual machine
# whose kernel gives every controller to cgroup v2, so that it is proven on
# every host: a host whose memory, pids, cpu and cpuset controllers are
# bound to cgroup v1 hierarchies cannot run a container on v2
# (container-cgroup-v2.sh checks the refusal on every host, and runs a
# container on the host's own v2 only where it offers the controllers).
#
# The same boot proves tpm2d through a real TPM device and cml's encrypted
# state volume, which need a kernel with device-mapper (see below).
#
# The test makes a PKI and a signed busybox guest OS here, and an
# initramfs (tests/vm/mkinitramfs) with busybox-static, the freshly built
# cmld, cmlsh, cml-sign and tpm2d with their libraries (and tpm2-tss's
# TCTI for /dev/tpmrm0, which is loaded with dlopen, and mke2fs), the
# modules the guest needs (loop, squashfs, overlay; virtio_blk, dm-mod,
# dm-crypt, ecb, xts, algif_skcipher, ext4) and tests/vm/init.sh as init.
# qemu boots Debian's kernel (linux-image-amd64) with it, with
# cgroup_no_v1=all, without network, with a swtpm attached as its TPM
# (tpm-tis), an empty 768 MiB disk image (virtio, sparse) for the state
# volume (it holds the containers' data volumes and the installed guest
# OSes too) and a read-only second disk holding the 256 MiB guest OS below.
# Inside, the init starts tpm2d (device:/dev/tpmrm0, system key sealed to
# PCRs 16 and 23, --state-volume /dev/vda) and then, once it is ready,
# mounts cgroup2 at /sys/fs/cgroup, starts cmld, installs the guest OS and
# runs two containers: "v2" with the default limits (256 MiB, 1024
# processes) and "v2-lim" with 64 MiB, 16 processes, a CPU quota of 50 %
# and CPU list "0".  It reports what it finds, one line each, on the
# serial console; this test compares every line with what cml promises:
#   - cmld enables the controllers (root and parent subtree_control),
#     makes the group cml/NAME and moves init into it (/proc/PID/cgroup
#     on the VM's side is 0::/cml/NAME);
#   - memory.max, memory.swap.max (0), pids.max, cpu.max and cpu.weight
#     (cpu.shares mapped as runc does), cpuset.cpus are the config's;
#   - inside, /proc/self/cgroup and /proc/1/cgroup are 0::/ (cgroup
#     namespace);
#   - the memory limit holds: dd with a 96 MiB buffer is killed (137),
#     memory.events counts the OOM kill, the container runs on;
#   - the CPU quota holds: a busy loop of 2 s is throttled (cpu.stat
#     nr_throttled grows) and gets less than 80 % of one CPU (50 % allowed);
#   - the pids limit holds: a loop of 40 background processes stops with
#     "can't fork", pids.current stays within 16, pids.events counts the
#     hits;
#   - the device allow list is a BPF program on v2: with CAP_MKNOD kept,
#     mknod and open of a device without a rule fail with EPERM, a rule's
#     device works, a read-only rule lets reads through and not writes;
#   - freeze writes cgroup.freeze 1 and waits for cgroup.events "frozen 1"
#     (init is stopped), unfreeze undoes it and the container runs on;
#   - stop removes the group, and the shared parent with the last one;
#     nothing is left in the hierarchy, no mount of the container in
#     cmld's namespace, no mount point directory, and no loop device of
#     cmld's state (v2's image had one while it ran); cmld reports no
#     sanitizer error.
# The state volume (tpm2d, in the same boot):
#   - /dev/tpmrm0 is there (swtpm through tpm-tis) and tpm2d is ready
#     through it; before its readiness it formatted /dev/vda LUKS2
#     (aes-xts-plain64), opened it as /dev/mapper/cml-state with the key
#     derived from the sealed system key, made ext4 on it and mounted it
#     on cmld's state directory (nosuid,nodev,noexec), its own directory
#     with the sealed blob bound back outside the volume;
#   - cmld runs on it (the containers above), device status says
#     "encrypted"; cml.db and a marker file the VM writes live inside;
#   - tpm2d stopped after cmld: unmounted and closed; tpm2d and cmld
#     started again in the same boot: the volume opens again with the
#     sealed key, the marker is there, cmld has the same device UUID and
#     its containers;
#   - PCR 16 extended (a raw TPM2_PCR_Extend through /dev/tpmrm0): tpm2d
#     serves on but the system key is refused and the volume stays closed;
#     tpm2d says so naming PCR 16, the state directory is locked (an empty
#     read-only tmpfs with a file LOCKED saying why), and cmld refuses to
#     start on it; tpm2d's stop removes the lock;
#   - an image file as the state volume (another root): tpm2d attaches it
#     to a loop device, opens and mounts it; at stop it unmounts, closes
#     and the loop device is detached;
#   - on the host, after the VM: the image has a LUKS2 header (blkid), and
#     neither the marker nor SQLite's header appears in it.
# Encrypted container storage (scd next to cmld, in the same boot):
#   - "enc" (softtoken, cml.storage.encrypted, 64 MiB on /data): token init
#     with the PIN on stdin; `container start --pin-stdin` formats
#     STATE/volumes/ID.luks (LUKS2, aes-xts-plain64, hmac(sha256)
#     integrity, label cml:enc) and opens cml-ID and cml-ID_dif; the reply
#     has unlock_ms and open_ms, container show the encryption and
#     integrity; the whole device reads cleanly; a marker written to /data
#     is there after a stop and start and across a cmld restart, and not in
#     the volume file in clear; every stop closes the dm devices;
#   - "enc-auto" (encrypted, autostart) is locked after cmld's start, its
#     volume not opened;
#   - a wrong PIN: refused with "verification failed" and the tries left,
#     enc locked, nothing opened;
#   - one byte of the data area flipped: an I/O error reading the device
#     (or a start refused naming an integrity error), the kernel's
#     integrity error, cmld's audit record and integrity_errors >= 1;
#   - `container wipe --yes` reports its checks, leaves no volume file and
#     no device, and the next start makes a new, empty volume;
#   - scd and cmld report no sanitizer error.
# cmld as the kernel's audit daemon (the setting audit_kernel, same boot):
#   - before, the kernel audits nothing and has no audit daemon (AUDIT_GET,
#     by a small static helper built here); with audit_kernel true cmld's
#     start registers it and turns auditing on; a shell killed by SIGSEGV
#     is an ANOM_ABEND record of type kernel in the trail with its uid,
#     pid, result and the kernel's text, the registration's CONFIG_CHANGE
#     and cmld's own audit record are there;
#   - cmld's stop unregisters and turns auditing off again, and says so;
#   - another audit daemon registered first: cmld's start says so in the
#     trail, naming its pid, and leaves the kernel's state as it was.
# Guest OS images checked by dm-verity as they are read (same boot; the
# kernel's dm-verity module loaded): "vsmall" (the busybox root and a 2 MiB
# ext4 on /data, made with cml-mkguestos --verity, in the payload) and
# "vbig" (the same and a 252 MiB ext4 on /pad, about 256 MiB, from a second
# virtio disk: an ext4 made here with mke2fs -d); before the boot,
# `veritysetup verify` passes on each of their images with the manifest's
# root hash, salt and data size:
#   - device status says "image check: dm-verity"; both install;
#   - vsmall starts through one read-only dm-verity device per image
#     (cml-ID_v0, cml-ID_v1; container show names them), each over a loop
#     device of the installed image file itself, the container's /data
#     mounted from cml-ID_v1 (its init's mountinfo); its files read; after
#     the stop no dm-verity device and no loop device are left; the same
#     for vbig;
#   - guestos_verity false: "full hash (the setting ...)", vbig starts on
#     loop devices with no dm-verity device; true again;
#   - one byte of the installed /data image changed (a block of its root
#     directory, found here with debugfs): the start does not hash and
#     starts, a lookup in /data fails with an I/O error while the rest of
#     the guest OS runs, the kernel logs "device-mapper: verity: MAJ:MIN:
#     data block N is corrupted", cmld audits an integrity error for vsmall
#     naming the image, the guest OS and the dm device, and container show
#     counts it; after the stop no dm-verity device is left.
# It also times whole `container start` commands of "plain" (the same
# volume unencrypted) and "enc", and whole start+stop pairs of vsmall and
# vbig with dm-verity and with the full hash, and prints the figures as
# "# bench:" lines, with the ratio 256 MiB / 2 MiB (CML_VM_BENCH=N runs
# each, default 1; tests/bench/run-storage, tests/bench/run-start --vm).
# A check the VM does not report fails, and so does a VM that never says
# "done".  The VM is stopped when its console stays silent for
# CML_VM_STALL seconds (default 180: the VM prints a heartbeat every 20 s,
# so a silence that long is a VM that stands still; a cmlsh command in it
# that takes over 100 s prints what cmld and its children are doing, the
# end of cmld's log and the kernel's, and ends the VM) or when it has run
# CML_VM_TIMEOUT seconds in all (default 900: an ASan build under TCG on a
# slow machine needs more than three minutes of steady progress).  The VM uses KVM when
# /dev/kvm is writable and a probe boot of the same kernel under KVM alone
# prints its first console line ("Linux version") within
# CML_VM_PROBE_TIMEOUT seconds (default 20): where /dev/kvm exists but
# cannot run guests (nested virtualisation) qemu starts but the kernel
# never prints a line, and the test says so loudly and uses TCG emulation (20-60 s
# on two cores) instead of waiting out its timeout.  CML_VM_NO_KVM=1 forces
# TCG.
# Needs qemu-system-x86, linux-image-amd64, busybox-static, cpio, swtpm
# and e2fsprogs (scripts/deps); skips loudly without them.  $CML_VM_KERNEL names another
# kernel image (its modules in /lib/modules/VERSION, VERSION from the file
# name vmlinuz-VERSION, or $CML_VM_KVER).  Every check is made whichever
# accelerator runs the VM: KVM only saves time.
# Proves: APS 04, CR 7.1, CR 7.2 (limits on cgroup v2, the CPU quota
# enforced; no leftovers after stop), TSF.ISOL (cgroup namespace on v2;
# the freezer on v2), TSF.DEV, CR 7.7 (device access on v2), CR 4.1,
# TSF.SDATA (cml's state directory is a LUKS2 volume opened only with the TPM-sealed
# system key through /dev/tpmrm0, opened again after a restart, kept
# closed and locked when a sealed PCR changed; the state is not in the
# image in clear), TSF.CDATA (a container's data volume encrypted and
# integrity-protected, opened only with its token's PIN, tampering
# detected, wiped on request), APS 02, NDR 3.2, CR 3.4 (guest OS images
# checked block by block by dm-verity against the signed root hash, a
# changed block failing its read and audited), TSF.AUDIT, CR 2.8 (kernel audit records in
# the trail where cmld is the kernel's audit daemon; the kernel's audit
# state given back at its stop).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vm.sh"

VM_DIR=$CML_SRCDIR/tests/vm
VM_TIMEOUT=${CML_VM_TIMEOUT:-900}
VM_STALL=${CML_VM_STALL:-180}

need_binaries
need_guestos_tools
need_prog qemu-system-x86_64 cpio timeout swtpm blkid truncate
[ -f "$VM_DIR/mkinitramfs" ] && [ -f "$VM_DIR/init.sh" ] || skip "no $VM_DIR/mkinitramfs or $VM_DIR/init.sh"

vm_kernel

make_scratch
t0=$(date +%s)

# --- the payload: trust anchor, guest OS, configs -------------------------------------------
payload=$SCRATCH/payload
mkdir -p "$payload"
pki_make "$SCRATCH/pki"
cp "$SCRATCH/pki/root.crt" "$payload/root.crt"
guestos_make "$payload/busybox-1.0" busybox 1.0
printf '%s\n' '{"name":"v2","guestos":{"name":"busybox"}}' >"$payload/v2.json"
printf '%s\n' '{"name":"v2-lim","guestos":{"name":"busybox"},"process":{"capabilities":{"bounding":["CAP_MKNOD"]}},"linux":{"resources":{"memory":{"limit":67108864},"pids":{"limit":16},"cpu":{"quota":50000,"cpus":"0"},"devices":[{"type":"c","major":5,"minor":1,"access":"r"}]}}}' >"$payload/v2-lim.json"
vol='"volume":{"size_mb":64,"mount":"/data"}'
printf '%s\n' '{"name":"enc","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"},"storage":{"encrypted":true,'"$vol"'}}}' >"$payload/enc.json"
printf '%s\n' '{"name":"plain","guestos":{"name":"busybox"},"cml":{"storage":{'"$vol"'}}}' >"$payload/plain.json"
printf '%s\n' '{"name":"enc-auto","guestos":{"name":"busybox"},"autostart":true,"cml":{"token":{"type":"softtoken"},"storage":{"encrypted":true,'"$vol"'}}}' >"$payload/enc-auto.json"

# guest OSes with signed dm-verity hash trees: vsmall (the busybox root and
# a 2 MiB ext4 on /data) in the payload, vbig (the same and a 252 MiB ext4
# on /pad: about 256 MiB) on a disk of its own (the initramfs is copied to
# a tmpfs in the VM: 256 MiB more of it would not fit its memory)
need_prog veritysetup debugfs mke2fs
guestos_make "$payload/vsmall-1.0" vsmall 1.0 --verity --extra-image data.ext4:2:/data
printf '%s\n' '{"name":"vsmall","guestos":{"name":"vsmall"}}' >"$payload/vsmall.json"
printf '%s\n' '{"name":"vbig","guestos":{"name":"vbig"}}' >"$payload/vbig.json"
# a byte of the root directory's block of the /data image (4096-byte blocks)
vblk=$(debugfs -R 'bmap <2> 0' "$payload/vsmall-1.0/data.ext4" 2>/dev/null)
[[ "$vblk" =~ ^[0-9]+$ ]] || fail "debugfs found no root directory block in vsmall's data.ext4"
echo $((vblk * 4096 + 64)) >"$payload/vsmall.offset"
mkdir -p "$SCRATCH/bigroot"
guestos_make "$SCRATCH/bigroot/vbig-1.0" vbig 1.0 --verity --extra-image pad.ext4:252:/pad
# cml-mkguestos --verity's trees, checked in user space with the
# manifest's values (the interface's format: no superblock, the tree at
# data_size), before the VM relies on them
for d in "$payload/vsmall-1.0" "$SCRATCH/bigroot/vbig-1.0"; do
	for i in 0 1; do
		f=$(manifest_get "$d" images $i file)
		ds=$(manifest_get "$d" images $i verity data_size)
		veritysetup verify --no-superblock --format=1 --hash=sha256 --data-block-size=4096 \
		    --hash-block-size=4096 --data-blocks="$((ds / 4096))" --hash-offset="$ds" \
		    --salt="$(manifest_get "$d" images $i verity salt)" "$d/$f" "$d/$f" \
		    "$(manifest_get "$d" images $i verity root_hash)" >/dev/null 2>&1
		expect_status "cml-mkguestos --verity: veritysetup verify of ${d##*/}/$f with the manifest's values" 0 $?
	done
done
bigdisk=$SCRATCH/big.img
_run_tool "mke2fs of the vbig disk" mke2fs -q -F -t ext4 -L vbig -d "$SCRATCH/bigroot" "$bigdisk" 320M

# kauditstat, for the kernel audit checks: prints the kernel's audit
# status ("enabled E pid P", AUDIT_GET over NETLINK_AUDIT), or with "hold"
# registers itself as the audit daemon, prints "held" and keeps it until
# SIGTERM (another daemon for cmld to meet); static, the VM has no libc
# of its own beyond what its binaries bring
cc -static -O2 -o "$payload/kauditstat" -x c - <<'KAUDITSTAT' || fail "cannot build kauditstat (cc -static)"
#include <sys/socket.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static volatile sig_atomic_t stop;
static void onterm(int s) { (void)s; stop = 1; }
static int req(int fd, int type, int flags, const void *p, size_t len) {
	struct { struct nlmsghdr h; struct audit_status s; } r;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	memset(&r, 0, sizeof r);
	r.h.nlmsg_len = NLMSG_LENGTH(len); r.h.nlmsg_type = type;
	r.h.nlmsg_flags = NLM_F_REQUEST | flags; r.h.nlmsg_seq = 1;
	memcpy(&r.s, p, len);
	return sendto(fd, &r, r.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0 ? -1 : 0;
}
/* the answer to the request: the status (GET) or the acknowledgement */
static int answer(int fd, int want) {
	static char buf[16384];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		if (poll(&p, 1, 5000) != 1) { fprintf(stderr, "no answer\n"); return 1; }
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		for (; n > 0 && NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error != 0) { fprintf(stderr, "%s\n", strerror(-e->error)); return 1; }
				if (want == NLMSG_ERROR) return 0;
			} else if (h->nlmsg_type == want && want == AUDIT_GET) {
				struct audit_status *s = NLMSG_DATA(h);
				printf("enabled %u pid %u\n", s->enabled, s->pid);
				return 0;
			}
		}
	}
}
int main(int argc, char **argv) {
	struct audit_status s;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (fd < 0) { perror("socket"); return 1; }
	if (argc < 2) {
		if (req(fd, AUDIT_GET, 0, NULL, 0) < 0) { perror("send"); return 1; }
		return answer(fd, AUDIT_GET);
	}
	signal(SIGTERM, onterm);
	memset(&s, 0, sizeof s);
	s.mask = AUDIT_STATUS_PID; s.pid = getpid();
	if (req(fd, AUDIT_SET, NLM_F_ACK, &s, sizeof s) < 0 || answer(fd, NLMSG_ERROR) != 0) return 1;
	printf("held\n"); fflush(stdout);
	while (!stop) pause();
	s.pid = 0;
	if (req(fd, AUDIT_SET, NLM_F_ACK, &s, sizeof s) < 0 || answer(fd, NLMSG_ERROR) != 0) return 1;
	return 0;
}
KAUDITSTAT

# the marker the VM writes into a file of the state volume
marker="CMLVM-MARKER-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$marker" >"$payload/marker"

# tpm2d and what it needs: tpm2-tss's TCTI for /dev/tpmrm0 (loaded with
# dlopen, so ldd does not list it), mke2fs for the volume's file system
tcti_lib=
for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
	[ -f "$d/libtss2-tcti-device.so.0" ] && { tcti_lib=$d/libtss2-tcti-device.so.0; break; }
done
[ -n "$tcti_lib" ] || skip "no libtss2-tcti-device.so.0 (libtss2-dev) for tpm2d in the VM"
mke2fs_bin=$(command -v mke2fs || echo /usr/sbin/mke2fs)
[ -x "$mke2fs_bin" ] || skip "no mke2fs (e2fsprogs)"
# e2fsck checks data volumes before later starts; coreutils' date times
# the starts in milliseconds (busybox's has no %N)
e2fsck_bin=$(command -v e2fsck || echo /usr/sbin/e2fsck)
[ -x "$e2fsck_bin" ] || skip "no e2fsck (e2fsprogs)"
extras=(--extra "$tcti_lib" --extra "$mke2fs_bin" --extra "$e2fsck_bin")
[ -x /usr/bin/date ] && extras+=(--extra /usr/bin/date)
[ -f /etc/mke2fs.conf ] && extras+=(--extra /etc/mke2fs.conf)

initrd=$SCRATCH/initrd.cpio
_run_tool "mkinitramfs" bash "$VM_DIR/mkinitramfs" "$initrd" --kver "$kver" \
    --init "$VM_DIR/init.sh" --payload "$payload" \
    --module loop --module squashfs --module overlay \
    --module virtio_pci --module virtio_blk --module dm-mod --module dm-crypt \
    --module ecb --module xts --module algif_skcipher --module crc32c_generic --module ext4 \
    --module dm-integrity --module authenc --module hmac --module sha256_generic --module aes_generic \
    --module dm-verity \
    "${extras[@]}"
t1=$(date +%s)
echo "# kernel $kernel ($kver), initramfs of $(($(stat -c %s "$initrd") / 1048576)) MiB, made in $((t1 - t0)) s"

# --- the accelerator ------------------------------------------------------------------
vm_accel

# --- the VM's TPM and disk ---------------------------------------------------------------
# swtpm as the guest's TPM (qemu's tpm-tis over swtpm's control socket; it
# ends when qemu closes it), and an empty disk image for the state volume
tpmdir=$SCRATCH/vtpm
mkdir -p "$tpmdir"
swtpm socket --tpm2 --tpmstate "dir=$tpmdir" \
    --ctrl "type=unixio,path=$tpmdir/sock" --terminate --daemon \
    --pid "file=$tpmdir/pid" --log "file=$tpmdir/log" </dev/null ||
    fail "swtpm for the VM did not start"
for ((i = 0; i < 100; i++)); do
	[ -S "$tpmdir/sock" ] && [ -s "$tpmdir/pid" ] && break
	sleep 0.05
done
swtpm_pid=$(head -n 1 "$tpmdir/pid" 2>/dev/null | tr -dc 0-9)
[ -n "$swtpm_pid" ] || fail "swtpm for the VM wrote no pid"
track_pid "$swtpm_pid"
# (room for the 64 MiB data volumes of "enc", whose integrity wipe writes
# all of it, and "plain", next to the guest OSes, vbig's 256 MiB among
# them, and the database; sparse)
disk=$SCRATCH/state.img
truncate -s 768M "$disk" || fail "truncate $disk"

# --- the VM ---------------------------------------------------------------------------
console=$SCRATCH/console.log
# The sanitizer settings of the test run (scripts/test) reach cmld in the
# VM as init's environment.
vm_cmdline "console=ttyS0 panic=-1 quiet loglevel=3 cgroup_no_v1=all" CML_VM_BENCH
# (in the background, so that the cleanup can stop it when the test is
# interrupted)
vm_run "$console" \
    "${accel[@]}" -smp 2 -m 1024 -nodefaults -no-user-config -display none \
    -nic none -no-reboot \
    -kernel "$kernel" -initrd "$initrd" \
    -append "$append" \
    -chardev "socket,id=chrtpm,path=$tpmdir/sock" \
    -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
    -drive "file=$disk,format=raw,if=virtio" \
    -drive "file=$bigdisk,format=raw,if=virtio,readonly=on"
t2=$(date +%s)
echo "# the VM ran $((t2 - tvm)) s (exit $qrc, ${accel[*]}); $((t2 - t0)) s in all"

[ -f "$console" ] || : >"$console"
# KEY -> VALUE of the "CMLVM KEY VALUE" lines
declare -A vm=()
while IFS= read -r line; do
	line=${line%$'\r'}
	case "$line" in
	"CMLVM "*)
		line=${line#CMLVM }
		key=${line%% *}
		if [ "$key" = "$line" ]; then
			vm[$key]=
		else
			vm[$key]=${line#* }
		fi
		;;
	esac
done <"$console"

show_console() {
	echo "--- qemu (exit $qrc):" >&2
	cat "$SCRATCH/qemu.log" >&2
	echo "--- the VM's console:" >&2
	tr -d '\r' <"$console" >&2
	echo "---" >&2
}

# got KEY: what the VM reported, or that it did not
got() {
	if [ -n "${vm[$1]+set}" ]; then
		printf '%s' "${vm[$1]}"
	else
		printf '<not reported by the VM: %s>' "$1"
	fi
}

if [ -z "${vm[done]+set}" ]; then
	show_console
	[ -n "$stopped" ] && fail "$stopped"
	fail "the VM did not report 'done' (qemu exit $qrc)"
fi

expect_eq "qemu ended by the VM's poweroff" 0 "$qrc"
expect_match "the VM runs kernel $kver" "^$(re_quote "$kver")\$" "$(got kernel)"
expect_eq "the kernel has squashfs and overlay" "overlay squashfs" "$(got filesystems)"
expect_eq "the kernel has loop devices" present "$(got loop_control)"
expect_eq "no module failed to load" "" "$(got modules | tr ' ' '\n' | grep ':failed')"
expect_eq "/sys/fs/cgroup is cgroup2 (CGROUP2_SUPER_MAGIC)" "63677270 cgroup2" "$(got cgroup_fs)"
expect_eq "no cgroup v1 hierarchy" "" "$(got cgroup_v1)"
for c in cpuset cpu memory pids; do
	expect_match "cgroup v2 offers $c" "(^| )$c( |\$)" "$(got cgroup_controllers)"
done
expect_eq "cmld ready" ready "$(got cmld)"
for k in ca_add guestos_install create.v2 create.v2-lim start.v2 start.v2-lim \
    stop.v2-lim freeze.v2 unfreeze.v2 stop.v2; do
	expect_eq "cmlsh ${k//./ }: exit 0$([ -n "${vm[$k.out]+set}" ] && echo " (${vm[$k.out]})")" 0 "$(got "$k")"
done

# controllers enabled by cmld for the groups below the root and the parent
for k in root.subtree_control parent.subtree_control v2.controllers v2-lim.controllers; do
	for c in memory pids; do
		expect_match "$k has $c" "(^| )$c( |\$)" "$(got "$k")"
	done
done
expect_match "v2-lim.controllers has cpu" "(^| )cpu( |\$)" "$(got v2-lim.controllers)"
expect_match "v2-lim.controllers has cpuset" "(^| )cpuset( |\$)" "$(got v2-lim.controllers)"

# v2: the defaults
expect_eq "v2 runs" running "$(got v2.state)"
expect_eq "v2's init is in cml/v2 (cgroup.procs)" yes "$(got v2.init_in_group)"
expect_eq "v2's init from the VM's side: /proc/PID/cgroup" "0::/cml/v2" "$(got v2.proc_cgroup)"
expect_eq "v2 memory.max (default 256 MiB)" 268435456 "$(got v2.memory.max)"
expect_eq "v2 memory.swap.max" 0 "$(got v2.memory.swap.max)"
expect_eq "v2 pids.max (default 1024)" 1024 "$(got v2.pids.max)"
expect_eq "v2 cpu.max (no quota)" "max 100000" "$(got v2.cpu.max)"
expect_eq "v2 cpu.weight (cpu.shares 1024)" 39 "$(got v2.cpu.weight)"
expect_eq "v2's mount point directory while it runs" present "$(got v2.dir_running)"
expect_eq "v2's image on a loop device of cmld's state while it runs" 1 "$(got v2.loops_running)"
expect_eq "inside v2: /proc/self/cgroup (cgroup namespace)" "0::/" "$(got v2.exec_cgroup)"
expect_eq "inside v2: /proc/1/cgroup (cgroup namespace)" "0::/" "$(got v2.init_cgroup_inside)"

# v2-lim: explicit limits, next to v2
expect_eq "v2-lim runs" running "$(got v2-lim.state)"
expect_eq "v2-lim's init is in cml/v2-lim" yes "$(got v2-lim.init_in_group)"
expect_eq "v2-lim's init from the VM's side" "0::/cml/v2-lim" "$(got v2-lim.proc_cgroup)"
expect_eq "v2-lim memory.max" 67108864 "$(got v2-lim.memory.max)"
expect_eq "v2-lim pids.max" 16 "$(got v2-lim.pids.max)"
expect_eq "v2-lim cpu.max (quota 50000 per 100000)" "50000 100000" "$(got v2-lim.cpu.max)"
expect_eq "v2-lim cpu.weight" 39 "$(got v2-lim.cpu.weight)"
expect_eq "v2-lim cpuset.cpus" 0 "$(got v2-lim.cpuset.cpus)"
expect_eq "v2-lim cpuset.cpus.effective" 0 "$(got v2-lim.cpuset.cpus.effective)"
# the device allow list, as a BPF program (v2-lim keeps CAP_MKNOD)
expect_match "v2-lim: mknod of /dev/mem's device (no rule) is denied" \
    "^1 mknod: /tmp/mem: Operation not permitted\$" "$(got v2-lim.dev.mknod_mem)"
expect_eq "v2-lim: mknod of null's device (rule c 1:3 rwm) works, and writing to it" \
    "0 written" "$(got v2-lim.dev.mknod_null)"
expect_match "v2-lim: a node of loop0 (b 7:0, no rule) made by the VM cannot be opened" \
    "^[12] .*/tmp/loop0: Operation not permitted\$" "$(got v2-lim.dev.open_loop0)"
expect_eq "v2-lim: /dev/console (rule c 5:1 r) opens for reading" "0 read-ok" "$(got v2-lim.dev.console_read)"
expect_match "v2-lim: /dev/console does not open for writing (the rule grants r only)" \
    "^[12] .*/dev/console: Operation not permitted\$" "$(got v2-lim.dev.console_write)"
expect_match "v2: a node of the console (no rule in v2) cannot be opened" \
    "^[12] .*/tmp/console: Operation not permitted\$" "$(got v2.dev.console_read)"
expect_eq "v2-lim: a 96 MiB buffer inside is killed (128 + SIGKILL)" 137 "$(got v2-lim.dd_96m)"
expect_match "v2-lim memory.events counts the OOM kill" "^[1-9][0-9]*\$" "$(got v2-lim.oom_kill)"
expect_eq "v2-lim runs on after the OOM kill" running "$(got v2-lim.state_after_oom)"
# the CPU quota (50000 per 100000): throttled, and at most 80 % of one CPU
# over the loop's wall time (without the quota it would take all of it)
expect_eq "v2-lim: the busy loop ran and ended" "0 " "$(got v2-lim.busy_loop)"
read -r thr used wall <<<"$(got v2-lim.cpu_quota)"
echo "# v2-lim: the loop's group used $((${used:-0} / 1000)) ms of CPU in $((${wall:-0} / 1000)) ms, throttled ${thr:-?} times"
expect_match "v2-lim cpu.stat: nr_throttled grew" "^[1-9][0-9]*\$" "${thr:-}"
CHECKS=$((CHECKS + 1))
if [[ "${used:-}" =~ ^[0-9]+$ ]] && [[ "${wall:-}" =~ ^[0-9]+$ ]] && [ "$used" -gt 0 ] &&
    [ "$((used * 100))" -lt "$((wall * 80))" ]; then
	_check_passed "v2-lim: the loop got less than 80 % of one CPU ($((used * 100 / wall)) %; the quota allows 50 %)"
else
	_check_failed "v2-lim: the CPU the loop got: '$(got v2-lim.cpu_quota)' (nr_throttled, usage_usec, wall in usec)"
fi
# "STATUS CANT-FORK-LINES ALL-STARTED-LINES"
expect_match "v2-lim: 40 more processes do not fit under 16 (can't fork, not all started)" \
    "^[1-9][0-9]* [1-9][0-9]* 0\$" "$(got v2-lim.fork_loop)"
# (the exec's own processes have ended by then)
expect_match "v2-lim pids.current within the limit" "^([1-9]|1[0-6])\$" "$(got v2-lim.pids.current)"
expect_match "v2-lim pids.events counts the hits" "^max [1-9][0-9]*\$" "$(got v2-lim.pids.events)"
expect_eq "v2-lim stopped" stopped "$(got v2-lim.state_after_stop)"
expect_eq "v2-lim's group is removed at stop" gone "$(got v2-lim.group_after_stop)"
expect_eq "v2-lim's init has ended" gone "$(got v2-lim.init_after_stop)"
expect_eq "no mount of v2-lim is left in cmld's namespace" "" "$(got v2-lim.mounts_after_stop)"
expect_eq "v2-lim's mount point directory is removed" gone "$(got v2-lim.dir_after_stop)"
expect_eq "the parent cml stays while v2 runs" present "$(got parent_while_v2_runs)"

# freeze and unfreeze through cgroup.freeze
expect_eq "v2 frozen" frozen "$(got v2.state_frozen)"
expect_eq "v2 cgroup.freeze" 1 "$(got v2.cgroup.freeze)"
expect_eq "v2 cgroup.events" "frozen 1" "$(got v2.events_frozen)"
expect_eq "v2 runs again after unfreeze" running "$(got v2.state_thawed)"
expect_eq "v2 cgroup.freeze after unfreeze" 0 "$(got v2.cgroup.freeze_thawed)"
expect_eq "v2 cgroup.events after unfreeze" "frozen 0" "$(got v2.events_thawed)"
expect_eq "an exec in v2 after unfreeze" alive "$(got v2.exec_after_thaw)"

# stop: nothing left
expect_eq "v2 stopped" stopped "$(got v2.state_after_stop)"
expect_eq "v2's group is removed at stop" gone "$(got v2.group_after_stop)"
expect_eq "the parent cml is removed with the last container" gone "$(got parent_after_stop)"
expect_eq "v2's init has ended" gone "$(got v2.init_after_stop)"
expect_eq "no mount of v2 is left in cmld's namespace" "" "$(got v2.mounts_after_stop)"
expect_eq "v2's mount point directory is removed" gone "$(got v2.dir_after_stop)"
expect_eq "no loop device of cmld's state is left" "" "$(got loops_after_stop)"
expect_eq "no group left in the hierarchy" "" "$(got cgroups_left)"
expect_eq "cmld exits on SIGTERM" exited "$(got cmld_exit)"
expect_eq "no sanitizer report in cmld's log" 0 "$(got sanitizer)"

# --- tpm2d through /dev/tpmrm0, the state volume opened by the sealed key ---------------
expect_eq "the VM has /dev/tpmrm0 (swtpm as a TIS TPM)" present "$(got tpm_device)"
expect_eq "the VM has device-mapper (/dev/mapper/control)" present "$(got dm_control)"
expect_eq "the VM has the state disk /dev/vda" present "$(got disk)"
expect_eq "tpm2d ready through device:/dev/tpmrm0 with --state-volume /dev/vda" ready "$(got tpm2d)"
expect_match "the state directory is the dm-crypt volume, ext4, nosuid,nodev,noexec" \
    '^/dev/mapper/cml-state ext4 rw,nosuid,nodev,noexec(,|$)' "$(got vol.mount)"
expect_eq "tpm2d's own directory (the sealed blob) is bound back, outside the volume" "bound blob" "$(got vol.tpm2d_dir)"
expect_eq "the dm-crypt device is cml-state" cml-state "$(got vol.mapped)"
expect_match "tpm2d says it formatted and opened the volume before readiness" \
    '^state volume: encrypted: /dev/vda \(LUKS2, aes-xts-plain64\) formatted and opened as /dev/mapper/cml-state, mounted on /stack/var/lib/cml$' \
    "$(got vol.log)"
expect_eq "device status (cmld, from tpm2d): state volume encrypted" encrypted "$(got vol.status)"
expect_match "device status: a device UUID" '^[0-9a-f-]{32,36}$' "$(got vol.uuid)"
expect_eq "the marker was written into the state directory" "$marker" "$(got vol.marker_inside)"
expect_eq "cmld's database lives in the state directory" "SQLite format 3" "$(got vol.db)"
expect_eq "tpm2d stopped (after cmld)" exited "$(got vol.tpm2d_stop)"
expect_eq "tpm2d's stop unmounted the state directory" none "$(got vol.mount_stopped)"
expect_eq "tpm2d's stop closed the dm-crypt device" "" "$(got vol.mapped_stopped)"
expect_eq "tpm2d started again" ready "$(got vol.tpm2d_again)"
expect_match "the volume opened again with the sealed key and mounted" \
    '^/dev/mapper/cml-state ext4 ' "$(got vol.mount_again)"
expect_eq "the marker is there again" "$marker" "$(got vol.marker_again)"
expect_eq "cmld started again on the volume" ready "$(got vol.cmld_again)"
expect_eq "cmld found its state: the same device UUID" "$(got vol.uuid)" "$(got vol.uuid_again)"
expect_eq "cmld found its containers" "v2 v2-lim" "$(got vol.containers_again)"
expect_eq "device status again: encrypted" encrypted "$(got vol.status_again)"
expect_eq "cmld stopped again" exited "$(got vol.cmld_again_exit)"
expect_eq "tpm2d stopped again" exited "$(got vol.tpm2d_again_stop)"
expect_eq "the dm-crypt device closed again" "" "$(got vol.mapped_again_stopped)"
expect_eq "PCR 16 extended through /dev/tpmrm0 (65 bytes, TPM_RC_SUCCESS)" "65 00000000" "$(got vol.extend)"
expect_eq "tpm2d serves after the refusal (for diagnosis)" ready "$(got vol.tpm2d_refused)"
expect_match "tpm2d: the state volume is locked, the reason names PCR 16" \
    '^state volume: locked: the system key is not unsealed, so /dev/vda stays closed: .*PCR 16 changed' \
    "$(got vol.refused_log)"
expect_match "tpm2d audits the volume refused" \
    '^volume /dev/vda refused: the system key is not unsealed, so /dev/vda stays closed: .*PCR 16 changed' \
    "$(got vol.refused_audit)"
expect_match "the state directory is locked: a read-only tmpfs" '^tmpfs tmpfs ro,' "$(got vol.mount_refused)"
expect_eq "the volume was not opened" "" "$(got vol.mapped_refused)"
expect_match "LOCKED in the state directory says why, naming PCR 16" \
    "^cml's state volume /dev/vda is not open: .*PCR 16 changed" "$(got vol.locked_file)"
expect_match "nothing of the volume is readable while it is locked" "No such file" "$(got vol.marker_refused)"
expect_match "cmld does not start on the locked state directory" '^exit [1-9]' "$(got vol.cmld_locked)"
expect_eq "tpm2d stopped after the refusal" exited "$(got vol.tpm2d_refused_stop)"
expect_eq "tpm2d's stop removed the lock" none "$(got vol.mount_end)"
expect_eq "no sanitizer report in tpm2d's log and cmld's second run" 0 "$(got vol.sanitizer)"
# an image file as the state volume: on a loop device of tpm2d's
expect_eq "an image file as the state volume: tpm2d ready" ready "$(got img.tpm2d)"
expect_eq "the image file's volume is mounted through dm-crypt" \
    "/dev/mapper/cml-state ext4" "$(got img.mount)"
expect_match "tpm2d attached the image file to a loop device" '^loop[0-9]+$' "$(got img.loop)"
expect_eq "the dm-crypt device sits on that loop device" "$(got img.loop)" "$(got img.slaves)"
expect_eq "tpm2d stopped" exited "$(got img.tpm2d_stop)"
expect_eq "the image file's volume is unmounted" "" "$(got img.mount_stopped)"
expect_eq "the loop device is detached" "" "$(got img.loop_stopped)"
expect_eq "the dm-crypt device is closed" "" "$(got img.mapped_stopped)"
# (the guest's clock: when each tpm2d start began and was ready)
echo "# tpm2d in the VM: first start (system key, device key, AK, format, mkfs, mount)" \
    "$(got tpm2d.seconds); again $(got vol.tpm2d_again.seconds); refused" \
    "$(got vol.tpm2d_refused.seconds); done at $(got done) s of uptime"
# the disk image, on the host
expect_eq "the disk image has a LUKS2 header (blkid)" "TYPE=crypto_LUKS VERSION=2" \
    "$(blkid -p -s TYPE -s VERSION -o export "$disk" | grep -E '^(TYPE|VERSION)=' | sort | xargs)"
expect_eq "the marker written into the state directory is not in the image" 0 \
    "$(grep -c -a -F "$marker" "$disk")"
expect_eq "no SQLite header in the image (cmld's database is encrypted)" 0 \
    "$(grep -c -a -F "SQLite format 3" "$disk")"

# --- encrypted container storage (LUKS2 with integrity, dm-crypt in the VM) -------------
encmark="ENC-$marker"
expect_eq "scd ready (test KDF cost, the platform secret from tpm2d)" ready "$(got scd)"
for k in create.enc create.plain create.enc-auto bench.plain_first bench.plain_first_stop \
    enc.start enc.stop enc.start2 enc.stop2; do
	expect_eq "cmlsh ${k//./ }: exit 0$([ -n "${vm[$k.out]+set}" ] && echo " (${vm[$k.out]})")" 0 "$(got "$k")"
done
expect_match "token init enc --pin-stdin --generate-puk: the PUK shown" '^0 .*[0-9]{12}' "$(got enc.token_init)"
expect_match "token init enc-auto" '^0 ' "$(got enc-auto.token_init)"
expect_match "token verify enc with the PIN" '^0 ' "$(got enc.token_verify)"
expect_match "encrypted start: the reply has unlock_ms, open_ms, keyslot_ms, activate_ms and fs_ms" '^[0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+$' "$(got enc.start.ms)"
id=$(got enc.id)
expect_match "enc's volume id (32 hex digits)" '^[0-9a-f]{32}$' "$id"
expect_eq "enc runs" running "$(got enc.state)"
expect_eq "while enc runs: dm-crypt cml-ID and dm-integrity cml-ID_dif" "cml-$id cml-${id}_dif" "$(got enc.mapped)"
expect_eq "while enc runs: /dev/mapper/cml-ID and cml-ID_dif" "cml-$id cml-${id}_dif" "$(got enc.nodes)"
expect_match "container show: encryption names LUKS2 and integrity" \
    '(LUKS2.*[Ii]ntegrity|[Ii]ntegrity.*LUKS2)' "$(got enc.encryption)"
expect_eq "container show: integrity true" true "$(got enc.integrity)"
expect_eq "container show: no integrity error yet" 0 "$(got enc.integrity_errors_clean)"
expect_eq "the volume file is STATE/volumes/ID.luks" "/stack/var/lib/cml/volumes/$id.luks" "$(got enc.volume_file)"
expect_eq "the volume file is root's, 0600" "600 0" "$(got enc.volume_mode)"
expect_eq "untampered, the whole dm device reads without an error" "0 0" "$(got enc.dm_read_clean)"
expect_eq "a marker written into /data" "0 " "$(got enc.write)"
expect_eq "the marker read back" "$encmark" "$(got enc.read)"
expect_match "/data inside is ext4" ' ext4$' "$(got enc.mount_inside)"
expect_eq "enc stopped" stopped "$(got enc.state_stopped)"
expect_eq "after the stop no dm device of a container volume is left" "" "$(got enc.mapped_stopped)"
# (the devices removed by the kernel, deferred; their nodes by cmld, since
# no udev runs in the VM)
expect_eq "after the stop no /dev/mapper node of a container volume is left" "" "$(got enc.nodes_stopped)"
expect_eq "the volume file starts with a LUKS2 header (magic, version 2)" "L U K S 272 276 0 2" "$(got enc.file_magic)"
expect_eq "the LUKS2 header: aes-xts-plain64, hmac(sha256) integrity, label cml:enc" \
    '"aes-xts-plain64" hmac(sha256) cml:enc' "$(got enc.file_header)"
expect_eq "the marker is not in the volume file in clear" 0 "$(got enc.file_marker)"
expect_eq "the volume file has the configured size" 67108864 "$(got enc.file_size)"
expect_eq "started again with the PIN: the marker is there" "$encmark" "$(got enc.read2)"
expect_eq "cmld stops with enc running" exited "$(got enc.cmld_stop)"
expect_eq "cmld started again" ready "$(got enc.cmld_again)"
expect_eq "enc runs on across cmld's restart" running "$(got enc.state_restarted)"
expect_eq "the marker readable after cmld's restart" "$encmark" "$(got enc.read_restarted)"
expect_eq "enc's dm devices stay across cmld's restart" "cml-$id cml-${id}_dif" "$(got enc.mapped_restarted)"
expect_eq "enc-auto (autostart, encrypted) is locked after cmld's start" locked "$(got enc-auto.state)"
expect_eq "container list shows enc-auto locked" locked "$(got enc-auto.listed)"
expect_eq "enc-auto's volume is not opened" 0 "$(got enc-auto.mapped)"
expect_eq "stopped after cmld's restart: no dm device left" "" "$(got enc.mapped_stopped2)"
expect_match "a wrong PIN: refused, verification failed, tries left" \
    '^[1-9][0-9]* .*verification failed.*tries left: 2' "$(got enc.wrong_pin)"
expect_eq "a wrong PIN: enc is locked" locked "$(got enc.wrong_state)"
expect_eq "a wrong PIN: container list shows enc locked" locked "$(got enc.wrong_listed)"
expect_eq "a wrong PIN: no dm device opened" "" "$(got enc.wrong_mapped)"
# tamper: one byte flipped in the data area ("BEFORE AFTER")
read -r b0 b1 <<<"$(got enc.tamper)"
expect_eq "one byte of the volume's data area flipped" "$((${b0:-0} ^ 255))" "${b1:-}"
if [ "$(got enc.tamper_start)" = 0 ]; then
	echo "# tamper: enc started (e2fsck did not read the flipped sector); read through the dm device"
	# ("STATUS ERROR-LINES": busybox dd with conv=noerror goes on past an
	# error, says so and ends with 0)
	expect_match "tampered: reading the dm device meets an I/O error" '^[0-9]+ [1-9]' "$(got enc.tamper_read)"
else
	echo "# tamper: the start itself failed: $(got enc.tamper_start.out)"
	expect_match "tampered: the start names an integrity error" 'integrity error' "$(got enc.tamper_start.out)"
fi
expect_match "tampered: the kernel logs an integrity error" '^[1-9]' "$(got enc.tamper_dmesg)"
echo "# kernel: $(got enc.tamper_dmesg_line)"
expect_match "tampered: cmld audits an integrity error for enc" 'integrity error' "$(got enc.tamper_audit)"
expect_match "tampered: container show counts integrity errors" '^[1-9][0-9]*$' "$(got enc.tamper_errors)"
expect_eq "tampered, stopped: no dm device left" "" "$(got enc.tamper_mapped_stopped)"
expect_match "cmlsh --yes container wipe enc: exit 0" '^0 ' "$(got enc.wipe)"
# a kernel without dm-integrity (the module unloaded in the VM)
expect_match "dm-integrity unloaded" '^0 ' "$(got noint.rmmod)"
expect_match "without dm-integrity: the start is refused with that reason" \
    "did not start: needs encrypted storage with integrity protection, but this kernel has no dm-integrity: cml does not start it without \\(a config may opt out with cml.storage.integrity false\\)" \
    "$(got noint.start.out)"
expect_eq "without dm-integrity: enc-auto failed" failed "$(got noint.state)"
expect_eq "without dm-integrity: no dm device opened" "" "$(got noint.mapped)"
expect_eq "without dm-integrity: no volume file left (none was made)" 0 "$(got noint.files)"
expect_match "dm-integrity loaded again" '^0 ' "$(got noint.insmod)"
for w in header volume device key; do
	expect_match "container wipe --json reports the $w check" "\"$w\": *\"[^\"]+\"" "$(got enc.wipe)"
done
expect_match "container wipe --json: verified" '"verified": *true' "$(got enc.wipe)"
expect_eq "after the wipe: no volume file of enc" 0 "$(got enc.wipe_files)"
expect_eq "after the wipe: no dm device" "" "$(got enc.wipe_mapped)"
expect_eq "after the wipe: started with the PIN$([ -n "${vm[enc.start_wiped.out]+set}" ] && echo " (${vm[enc.start_wiped.out]})")" \
    0 "$(got enc.start_wiped)"
expect_match "after the wipe: a new, empty volume (the marker is gone)" 'No such file' "$(got enc.read_wiped)"
expect_eq "at the end: no dm device of a container volume" "" "$(got enc.mapped_end)"
expect_eq "at the end: no loop device of cmld's state" "" "$(got enc.loops_end)"
expect_eq "at the end: no group left" "" "$(got enc.cgroups_end)"
expect_eq "scd exits on SIGTERM" exited "$(got scd_stop)"

# --- guest OS images checked by dm-verity as they are read ------------------------------
expect_eq "dm-verity: device status says images are checked by it" dm-verity "$(got verity.image_check)"
for k in install_small install_big create_small create_big start_small stop_small start_big stop_big \
    off off_start off_stop on tamper_stop; do
	expect_eq "dm-verity: $k$([ -n "${vm[verity.$k.out]+set}" ] && echo " (${vm[verity.$k.out]})")" 0 "$(got verity.$k)"
done
expect_match "dm-verity: the vbig disk mounted" '^0 ' "$(got verity.big_disk)"
expect_eq "dm-verity: vsmall runs" running "$(got verity.small_state)"
expect_match "dm-verity: container show names both images' dm-verity devices" \
    '^root\.squashfs \(squashfs\) on dm-verity device cml-[0-9a-f]{32}_v0 over /dev/loop[0-9]+, data\.ext4 \(ext4\) on dm-verity device cml-[0-9a-f]{32}_v1 over /dev/loop[0-9]+$' \
    "$(got verity.small_images)"
expect_eq "dm-verity: two devices while vsmall runs" 2 "$(got verity.small_mapped)"
small_id=$(sed -n 's/.* on dm-verity device cml-\([0-9a-f]\{32\}\)_v0 .*/\1/p' <<<"$(got verity.small_images)")
expect_eq "dm-verity: the container's /data is mounted from its dm-verity device" \
    "cml-${small_id:-?}_v1" "$(got verity.small_data_dev)"
expect_eq "dm-verity: they read the installed images themselves" \
    "/stack/var/lib/cml/guestos/vsmall/1.0/data.ext4 /stack/var/lib/cml/guestos/vsmall/1.0/root.squashfs" \
    "$(got verity.small_backing)"
expect_eq "dm-verity: the /data image reads" lost+found "$(got verity.small_read)"
expect_eq "dm-verity: a program of the root image runs" alive "$(got verity.small_exec)"
expect_eq "dm-verity: after the stop no dm-verity device" "" "$(got verity.small_mapped_stopped)"
expect_eq "dm-verity: after the stop no loop device of cmld's state" "" "$(got verity.small_loops_stopped)"
expect_eq "dm-verity: vbig (256 MiB) runs" running "$(got verity.big_state)"
expect_eq "dm-verity: vbig's two devices" 2 "$(got verity.big_mapped)"
expect_eq "dm-verity: vbig's /pad image reads" lost+found "$(got verity.big_read)"
expect_match "dm-verity: vbig's /pad is mounted from its dm-verity device" \
    '^cml-[0-9a-f]{32}_v1$' "$(got verity.big_pad_dev)"
expect_eq "dm-verity: after vbig's stop no dm-verity device" "" "$(got verity.big_mapped_stopped)"
expect_eq "dm-verity: after vbig's stop no loop device of cmld's state" "" "$(got verity.big_loops_stopped)"
expect_eq "guestos_verity false: device status says full hash" \
    "full hash (the setting guestos_verity is false)" "$(got verity.off_image_check)"
expect_eq "guestos_verity false: no dm-verity device" "" "$(got verity.off_mapped)"
expect_match "guestos_verity false: the images on loop devices" \
    '^root\.squashfs \(squashfs\) on loop device /dev/loop[0-9]+, pad\.ext4 \(ext4\) on loop device /dev/loop[0-9]+$' \
    "$(got verity.off_images)"
expect_eq "guestos_verity true again" dm-verity "$(got verity.on_image_check)"
read -r b0 b1 <<<"$(got verity.tamper)"
expect_match "dm-verity tamper: a byte of the installed /data image changed" '^[0-9]+ [0-9]+$' "$(got verity.tamper)"
[ "${b0:-x}" != "${b1:-x}" ] || fail "the tampered byte did not change: $(got verity.tamper)"
expect_eq "dm-verity tamper: the start does not hash, it starts" 0 "$(got verity.tamper_start)"
expect_match "dm-verity tamper: reading the changed block fails with an I/O error" \
    '^[1-9][0-9]* .*(I/O|Input/output) error' "$(got verity.tamper_read)"
expect_eq "dm-verity tamper: the rest of the guest OS runs" alive "$(got verity.tamper_exec)"
expect_match "dm-verity tamper: the kernel names the corrupted block" \
    'device-mapper: verity: [0-9]+:[0-9]+: data block [0-9]+ is corrupted' "$(got verity.tamper_dmesg_line)"
echo "# kernel: $(got verity.tamper_dmesg_line)"
expect_match "dm-verity tamper: cmld audits it against vsmall, naming the image" \
    ' vsmall +container +integrity +integrity error on image data\.ext4 of guest OS vsmall 1\.0 \(cml-[0-9a-f]{32}_v1, sector [0-9]+\): the image was changed after install, the read failed: device-mapper: verity: [0-9]+:[0-9]+: data block [0-9]+ is corrupted$' \
    "$(got verity.tamper_audit)"
expect_match "dm-verity tamper: container show counts it" '^[1-9][0-9]*$' "$(got verity.tamper_errors)"
expect_eq "dm-verity tamper, stopped: no dm-verity device" "" "$(got verity.tamper_mapped_stopped)"
expect_eq "no sanitizer report in scd's log" 0 "$(got scd_sanitizer)"

# --- cmld as the kernel's audit daemon (audit_kernel) ----------------------------------
kpid=$(got kaudit.cmld_pid)
segv=$(got kaudit.segv_pid)
read -r hpid _ <<<"$(got kaudit.hold_pid)"
expect_eq "kernel audit before: auditing off, no audit daemon" "enabled 0 pid 0" "$(got kaudit.before)"
expect_eq "cmlsh device config set audit_kernel true: exit 0" 0 "$(got kaudit.set)"
expect_eq "cmld stopped for the restart" exited "$(got kaudit.cmld_stop)"
expect_eq "cmld started with audit_kernel true" ready "$(got kaudit.cmld)"
expect_eq "the kernel: auditing on, cmld is its audit daemon" "enabled 1 pid $kpid" "$(got kaudit.running)"
expect_match "the trail: cmld says it is the kernel's audit daemon, auditing turned on" \
    "\"type\": *\"audit\".*\"object\": *\"kernel\".*\"result\": *\"ok\".*\"details\": *\"cmld is the kernel's audit daemon \\(pid $kpid\\): .*auditing was off and is on now\"" \
    "$(got kaudit.registered)"
# (the records whole, as audit show --json has them)
kcc=$(got kaudit.config_change)
expect_match "the trail: the registration's CONFIG_CHANGE, type kernel" '"type": *"kernel"' "$kcc"
expect_match "CONFIG_CHANGE: the object is the record type's name" '"object": *"CONFIG_CHANGE"' "$kcc"
expect_match "CONFIG_CHANGE: res=1 is the result ok" '"result": *"ok"' "$kcc"
expect_match "CONFIG_CHANGE: the kernel names no process (uid and pid -1)" '"uid": *-1,.*"pid": *-1' "$kcc"
expect_match "CONFIG_CHANGE: the details are the kernel's whole text" \
    "\"details\": *\"audit\\([0-9]+\\.[0-9]{3}:[0-9]+\\): op=set audit_pid=$kpid old=0 auid=4294967295 ses=4294967295 .*res=1\"" "$kcc"
kab=$(got kaudit.abend)
expect_match "the trail: a shell killed by SIGSEGV is ANOM_ABEND of type kernel" '"type": *"kernel".*"object": *"ANOM_ABEND"' "$kab"
expect_match "ANOM_ABEND: the subject is the shell: uid 0, its pid, comm sh" \
    "\"uid\": *0,.*\"pid\": *$segv,.*\"comm\": *\"sh\"" "$kab"
expect_match "ANOM_ABEND: res=1 is the result ok" '"result": *"ok"' "$kab"
expect_match "ANOM_ABEND: the details are the kernel's whole text, sig=11" \
    "\"details\": *\"audit\\([0-9]+\\.[0-9]{3}:[0-9]+\\): auid=4294967295 uid=0 .*pid=$segv comm=.*sig=11 res=1\"" "$kab"
expect_eq "cmld stopped" exited "$(got kaudit.cmld_stop2)"
expect_eq "after cmld's stop: no audit daemon, auditing off again" "enabled 0 pid 0" "$(got kaudit.after)"
expect_match "the trail: cmld's stop gave the kernel back" \
    "\"object\": *\"kernel\".*\"result\": *\"ok\".*\"details\": *\"cmld is no longer the kernel's audit daemon \\([1-9][0-9]* kernel records kept\\); auditing is off again" \
    "$(got kaudit.unregistered)"
expect_match "another audit daemon registered first" '^[0-9]+ held ?$' "$(got kaudit.hold_pid)"
expect_eq "cmld started next to it" ready "$(got kaudit.cmld_held)"
expect_match "the trail: kernel records not collected, the other daemon named" \
    "\"object\": *\"kernel\".*\"result\": *\"org.cml.Error.Failed\".*\"details\": *\"kernel audit records are not collected: another audit daemon \\(pid $hpid\\) is registered" \
    "$(got kaudit.refused)"
expect_eq "the kernel: the other daemon keeps it, auditing off as it was" "enabled 0 pid $hpid" "$(got kaudit.refused_state)"
expect_eq "cmlsh device config set audit_kernel false: exit 0" 0 "$(got kaudit.unset)"
expect_eq "the other daemon let go" "0 enabled 0 pid 0" "$(got kaudit.released)"

# --- the storage benchmark's figures (CML_VM_BENCH=N runs; 1 by default) ----------------
# stats LIST: "min MIN median MEDIAN" of integers
stats() {
	local a
	a=($(printf '%s\n' "$@" | grep -E '^[0-9]+$' | sort -n))
	[ "${#a[@]}" -gt 0 ] || { echo "min ? median ?"; return; }
	echo "min ${a[0]} median ${a[$(((${#a[@]} - 1) / 2))]}"
}
bruns=$(got bench.runs)
pw=() ew=() eu=() eo=() ek=() ea=() ef=()
for ((n = 0; n < ${bruns//[!0-9]/}+0; n++)); do
	expect_eq "bench: plain start $n$([ -n "${vm[bench.plain.$n.out]+set}" ] && echo " (${vm[bench.plain.$n.out]})")" 0 "$(got bench.plain.$n)"
	expect_eq "bench: encrypted start $n$([ -n "${vm[bench.enc.$n.out]+set}" ] && echo " (${vm[bench.enc.$n.out]})")" 0 "$(got bench.enc.$n)"
	read -r w _ <<<"$(got bench.plain.$n.ms)"
	pw+=("$w")
	read -r w u o k a f <<<"$(got bench.enc.$n.ms)"
	ew+=("$w")
	eu+=("$u")
	eo+=("$o")
	ek+=("$k")
	ea+=("$a")
	ef+=("$f")
done
read -r _ pmin _ pmed <<<"$(stats "${pw[@]}")"
read -r _ emin _ emed <<<"$(stats "${ew[@]}")"
echo "# bench: storage: $bruns run(s) each, whole \`cmlsh container start\` commands in the VM (ms)"
echo "# bench: first start, plain (mke2fs): $(got bench.plain_first.ms | cut -d' ' -f1)"
echo "# bench: first start, encrypted (LUKS2 format, integrity wipe, mke2fs): $(got enc.start.ms | cut -d' ' -f1) (unlock $(got enc.start.ms | cut -d' ' -f2), open $(got enc.start.ms | cut -d' ' -f3))"
echo "# bench: plain start: min $pmin median $pmed"
echo "# bench: encrypted start: min $emin median $emed"
if [[ "$pmed" =~ ^[0-9]+$ ]] && [[ "$emed" =~ ^[0-9]+$ ]]; then
	echo "# bench: encrypted above plain (medians): $((emed - pmed)) (target <= 300 with the test KDF cost: $([ $((emed - pmed)) -le 300 ] && echo met || echo MISSED))"
fi
echo "# bench: KDF cost (scd's unwrap, unlock_ms): $(stats "${eu[@]}")"
echo "# bench: activation cost (open_ms): $(stats "${eo[@]}")"
echo "# bench:   of it the keyslot (keyslot_ms): $(stats "${ek[@]}")"
echo "# bench:   dm-integrity and dm-crypt set up (activate_ms): $(stats "${ea[@]}")"
echo "# bench:   e2fsck -p on the device (fs_ms): $(stats "${ef[@]}")"
# start+stop of the 2 MiB and the 256 MiB guest OS, checked by dm-verity
# and hashed in full, in the same boot
declare -A vb=()
for ((n = 0; n < ${bruns//[!0-9]/}+0; n++)); do
	for k in vsmall vbig hsmall hbig; do
		expect_eq "bench: $k start+stop $n$([ -n "${vm[bench.$k.$n.out]+set}" ] && echo " (${vm[bench.$k.$n.out]})")" \
		    0 "$(got bench.$k.$n)"
		vb[$k]+=" $(got bench.$k.$n.ms)"
	done
done
# ratio A B: A/B to two decimals
ratio() {
	if [[ "$1" =~ ^[0-9]+$ ]] && [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
		printf '%d.%02d' $(($1 / $2)) $((($1 * 100 / $2) % 100))
	else
		echo "?"
	fi
}
read -r _ _ _ vsmed <<<"$(stats ${vb[vsmall]})"
read -r _ _ _ vbmed <<<"$(stats ${vb[vbig]})"
read -r _ _ _ hsmed <<<"$(stats ${vb[hsmall]})"
read -r _ _ _ hbmed <<<"$(stats ${vb[hbig]})"
echo "# bench: start path: $bruns run(s) each, whole \`cmlsh container start\` + \`cmlsh container stop\` in the VM (ms)"
echo "# bench: dm-verity, 2 MiB: $(stats ${vb[vsmall]})"
echo "# bench: dm-verity, 256 MiB: $(stats ${vb[vbig]})"
echo "# bench: full hash, 2 MiB: $(stats ${vb[hsmall]})"
echo "# bench: full hash, 256 MiB: $(stats ${vb[hbig]})"
r=$(ratio "$vbmed" "$vsmed")
echo "# bench: 256 MiB / 2 MiB with dm-verity (medians): ${r}x (target <= 1.2x: $([[ "$r" =~ ^[0-9] ]] && [ "${r/./}" -le 120 ] && echo met || echo MISSED))"
echo "# bench: 256 MiB / 2 MiB with the full hash (medians): $(ratio "$hbmed" "$hsmed")x"

[ "$FAILURES" = 0 ] || show_console
finish
