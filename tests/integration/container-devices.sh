#!/bin/bash
# A container reaches only the devices of its allow list, enforced by the
# device cgroup: the host's devices.list of its group is exactly the
# default list plus the config's rule (c 10:229 r, /dev/fuse read-only); its
# /dev holds only those nodes, each with the host's mode and owner;
# allowed nodes work; a node of a device
# outside the list, made by the host in the container's /tmp, cannot be
# opened (EPERM), while a node of an allowed device made the same way can;
# with CAP_MKNOD kept, mknod of an allowed device works and of any other
# fails with EPERM; the read-only rule lets /dev/fuse be opened for reading
# and not for writing.
# Proves: TSF.DEV (only the allow list; enforced by the device cgroup),
# CR 7.7 (every other device denied),
# TSF.ISOL (no host device such as /dev/mem),
# CR 7.6(1) (the device rule in the effective config).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -d /sys/fs/cgroup/devices ] ||
    skip "no cgroup v1 devices controller here: container-cgroup-v2-vm.sh tests the allow list on cgroup v2 (a BPF device program)"
[ -c /dev/fuse ] || skip "no /dev/fuse (c 10:229) on this host to allow"
ct_setup

name=$(ct_name dev)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"process":{"capabilities":{"bounding":["CAP_MKNOD"]}},"linux":{"resources":{"devices":[{"type":"c","major":10,"minor":229,"access":"r"}]}}}'
ct_start "$name"
pid=$(ct_show "$name" pid)

# --- the device cgroup, from the host ------------------------------------------------
expect_eq "devices.list of the container's group: the defaults and c 10:229 r" \
"c 1:3 rwm
c 1:5 rwm
c 1:7 rwm
c 1:8 rwm
c 1:9 rwm
c 5:0 rwm
c 5:2 rwm
c 136:* rwm
c 10:229 r" "$(cat "/sys/fs/cgroup/devices/$CT_CGROUP_PARENT/$name/devices.list" 2>&1)"
expect_eq "init is in that group" "yes" \
    "$(grep -qx "$pid" "/sys/fs/cgroup/devices/$CT_CGROUP_PARENT/$name/cgroup.procs" && echo yes || echo no)"

# --- /dev inside -----------------------------------------------------------------------
out=$(ct_exec "$name" /bin/sh -c 'cd /dev && for f in *; do
	if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; elif [ -c "$f" ] || [ -b "$f" ]; then stat -c "%n %F %t:%T" "$f"; else echo "$f $(stat -c %F "$f")"; fi
done' 2>&1)
expect_eq "/dev inside: only the allowed nodes" \
"fd -> /proc/self/fd
full character special file 1:7
fuse character special file a:e5
null character special file 1:3
ptmx -> pts/ptmx
pts directory
random character special file 1:8
shm directory
stderr -> /proc/self/fd/2
stdin -> /proc/self/fd/0
stdout -> /proc/self/fd/1
tty character special file 5:0
urandom character special file 1:9
zero character special file 1:5" "$out"

# the copies (mknod) and the bound node (fuse: no 'm') as the host has them
for n in null zero full random urandom tty fuse; do
	expect_eq "/dev/$n inside: the host's mode and owner" \
	    "$(stat -c '%A %u:%g' "/dev/$n")" \
	    "$(ct_exec "$name" /bin/stat -c '%A %u:%g' "/dev/$n" 2>&1)"
done

# --- allowed devices work ----------------------------------------------------------------
out=$(ct_exec "$name" /bin/sh -c 'echo x >/dev/null && head -c 5 /dev/zero | wc -c && head -c 8 /dev/urandom | wc -c' 2>&1)
expect_eq "/dev/null, /dev/zero and /dev/urandom work" "5
8" "$out"
out=$(ct_exec "$name" /bin/sh -c 'exec 3</dev/fuse && echo opened' 2>&1)
expect_eq "/dev/fuse (c 10:229 r) opens for reading" "opened" "$out"
out=$(ct_exec "$name" /bin/sh -c 'exec 3>/dev/fuse' 2>&1)
expect_status "opening /dev/fuse for writing (r only)" 1 $?
expect_eq "opening /dev/fuse for writing (r only): EPERM from the device cgroup" \
    "/bin/sh: can't create /dev/fuse: Operation not permitted" "$out"

# --- nodes made by the host in the container's /tmp ----------------------------------------
mknod "/proc/$pid/root/tmp/mem" c 1 1 || fail "cannot make /tmp/mem (c 1:1) in $name"
mknod "/proc/$pid/root/tmp/zero2" c 1 5 || fail "cannot make /tmp/zero2 (c 1:5) in $name"
out=$(ct_exec "$name" /bin/dd if=/tmp/mem of=/dev/null bs=1 count=1 2>&1)
expect_status "opening /tmp/mem (c 1:1, not allowed)" 1 $?
expect_eq "opening /tmp/mem (c 1:1): EPERM from the device cgroup" \
    "dd: can't open '/tmp/mem': Operation not permitted" "$out"
out=$(ct_exec "$name" /bin/sh -c 'echo x >/tmp/mem' 2>&1)
expect_eq "writing /tmp/mem (c 1:1): EPERM" "/bin/sh: can't create /tmp/mem: Operation not permitted" "$out"
out=$(ct_exec "$name" /bin/sh -c 'head -c 3 /tmp/zero2 | wc -c' 2>&1)
expect_eq "the same kind of node for an allowed device (c 1:5) opens" "3" "$out"

# --- mknod with CAP_MKNOD ------------------------------------------------------------------
out=$(ct_exec "$name" /bin/sh -c 'mknod /tmp/zero3 c 1 5 && head -c 2 /tmp/zero3 | wc -c' 2>&1)
expect_eq "mknod of an allowed device (c 1:5) with CAP_MKNOD, then reading it" "2" "$out"
out=$(ct_exec "$name" /bin/mknod /tmp/port c 1 4 2>&1)
expect_status "mknod of /dev/port's device (c 1:4)" 1 $?
expect_eq "mknod c 1:4: EPERM from the device cgroup" "mknod: /tmp/port: Operation not permitted" "$out"
out=$(ct_exec "$name" /bin/mknod /tmp/loop0 b 7 0 2>&1)
expect_eq "mknod of a block device (b 7:0): EPERM" "mknod: /tmp/loop0: Operation not permitted" "$out"
out=$(ct_exec "$name" /bin/mknod /tmp/fuse2 c 10 229 2>&1)
expect_eq "mknod of fuse (c 10:229, allowed r but not m): EPERM" "mknod: /tmp/fuse2: Operation not permitted" "$out"

# --- the config reports its list ----------------------------------------------------------
expect_eq "container config: the config's device rule" \
    '[{"allow":true,"type":"c","major":10,"minor":229,"access":"r","exclusive":false}]' \
    "$(cmlsh_run --json container config "$name" | json_get config linux resources devices | tr -d ' \n')"

finish
