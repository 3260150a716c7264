#!/bin/bash
# Data that persists: a container whose config names a data volume
# (cml.storage.volume) gets an ext4 file of that size, made by cmld at its
# first start in the state directory (root's alone, named by the
# container's id), mounted at the mount point inside.  What it writes
# there survives a stop and start, cmld killed with SIGKILL and started
# again, and another stop and start (e2fsck checks the volume each time,
# and repairs what it can on its own);
# what it writes elsewhere does not.  A second container has a volume of
# its own and sees nothing of the first's.  A full volume gives ENOSPC
# inside, the file on the host keeps its size and the container goes on.
# A damaged volume is refused at start with e2fsck's reason, one a loop
# device serves elsewhere as in use.  `container
# remove` keeps the volume file unless --purge; a new container with the
# old name gets a new, empty volume.  No loop device or mount is left
# after a stop.  With a user namespace the volume is id-mapped: the
# container's root owns it.  A config asking for encrypted storage is
# still refused on a kernel without device-mapper, and no plain volume is
# made for it.
# Proves: OS 01 (data kept across stop, start and a cmld restart),
# TSF.ISOL (a second container cannot see the first's volume),
# CR 7.2 (size enforced; no loop device or mount left after stop),
# CR 3.4 (a damaged volume is refused with the reason).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog mke2fs e2fsck debugfs losetup

ct_setup
state=$(state_dir)

a=$(ct_name vol-a)
b=$(ct_name vol-b)
vol='"cml":{"storage":{"volume":{"size_mb":16,"mount":"/data"}}}'
ct_create "$a" '{"name":"'"$a"'","guestos":{"name":"busybox"},'"$vol"'}'
ct_create "$b" '{"name":"'"$b"'","guestos":{"name":"busybox"},'"$vol"'}'

expect_eq "$a: before the first start" "/data, 16 MiB, made at the first start" "$(ct_show "$a" volume)"
expect_eq "$a: the effective config" '{"size_mb": 16, "mount": "/data"}' \
    "$(cmlsh_run --json container config "$a" | json_get config cml storage volume)"

# --- made at the first start ---------------------------------------------------------------------
ct_cmlsh container start "$a"
expect_status "$a: first start" 0 "$rc"
expect_match "audited: the volume was made" \
    "container=$a object=org\\.cml\\.Container\\.Start result=ok details=started $a on busybox 1\\.0, init pid [0-9]+; data volume made and mounted" \
    "$(audit_tail 3)"
file_a=$(ct_show "$a" volume_file)
expect_match "$a: the volume file is named by an id" "^$(re_quote "$state")/volumes/[0-9a-f]{32}\\.ext4\$" "$file_a"
expect_eq "$a: root's alone, of the size" "600 0 16777216" "$(stat -c '%a %u %s' "$file_a" 2>&1)"
expect_eq "the volumes directory is root's alone" "700 0" "$(stat -c '%a %u' "$state/volumes" 2>&1)"
expect_eq "$a: the size in show" "16777216" "$(ct_show "$a" volume_size)"
expect_match "$a: show" "^/data, 16 MiB, [0-9.]+ (KiB|MiB) used, [0-9.]+ (KiB|MiB) allocated\$" "$(ct_show "$a" volume)"
expect_eq "$a: an ext4 mounted at /data" "ext4 rw" \
    "$(ct_exec "$a" /bin/sh -c 'awk '\''$2 == "/data" { split($4, o, ","); print $3, o[1] }'\'' /proc/mounts' 2>&1)"
ct_exec "$a" /bin/sh -c 'echo kept >/data/f && mkdir /data/d && echo deep >/data/d/g && echo lost >/etc/scratch' >/dev/null 2>&1
expect_eq "$a: written" "kept deep lost" "$(ct_exec "$a" /bin/cat /data/f /data/d/g /etc/scratch 2>&1 | tr '\n' ' ' | sed 's/ $//')"

# the leftover check sees its volume's loop device while it runs
expect_match "$a: while it runs, the leftover check sees its volume's loop device" \
    "(^|"$'\n'")loop device over its volume loop[0-9]+ $(re_quote "$file_a")(\$|"$'\n'")" "$(ct_leftovers "$a")"

# --- stop and start ------------------------------------------------------------------------------
mntns=$(ct_mntns "$a")
cmlsh_run container stop "$a" >/dev/null || fail "stop $a failed"
expect_eq "$a: nothing left on the host after stop" "" "$(ct_leftovers "$a" "$mntns")"
expect_eq "$a: no loop device over its volume" "" "$(ct_loops | grep -F "$file_a")"
# a volume a loop device serves (mounted by hand, say) is neither checked
# nor mounted: the start waits a moment for it, then is refused
loopdev=$(losetup -f --show "$file_a") || fail "losetup $file_a failed"
ct_cmlsh container start "$a"
expect_status "$a: a volume in use elsewhere: refused" 1 "$rc"
expect_eq "$a: the reason" \
    "cmlsh: container '$a' did not start: the data volume $file_a is in use: $loopdev serves it (mounted elsewhere?); cml neither checks nor mounts it then" \
    "$(cat "$SCRATCH/err")"
losetup -d "$loopdev" || fail "losetup -d $loopdev failed"
ct_cmlsh container start "$a"
expect_status "$a: started again" 0 "$rc"
expect_match "audited: the volume was checked" \
    "container=$a object=org\\.cml\\.Container\\.Start result=ok details=started $a on busybox 1\\.0, init pid [0-9]+; data volume checked and mounted" \
    "$(audit_tail 3)"
expect_eq "$a: the volume's data is there after stop and start" "kept deep" \
    "$(ct_exec "$a" /bin/cat /data/f /data/d/g 2>&1 | tr '\n' ' ' | sed 's/ $//')"
expect_match "$a: the scratch layer is not" "No such file" "$(ct_exec "$a" /bin/cat /etc/scratch 2>&1)"

# --- cmld killed and started again ---------------------------------------------------------------
ct_exec "$a" /bin/sh -c 'echo again >>/data/f' >/dev/null 2>&1
a_pid=$(ct_show "$a" pid)
cpid=$(cmld_pid) || fail "no cmld"
kill -KILL "$cpid"
for ((i = 0; i < 50; i++)); do
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.1
done
STACK_RUNNING=0
stack_start
expect_eq "$a: found running after cmld was killed" "running $a_pid" "$(ct_state "$a") $(ct_show "$a" pid)"
expect_eq "$a: its data, after cmld was killed" "kept again" \
    "$(ct_exec "$a" /bin/cat /data/f 2>&1 | tr '\n' ' ' | sed 's/ $//')"
mntns=$(ct_mntns "$a")
cmlsh_run container stop "$a" >/dev/null || fail "stop $a failed"
expect_eq "$a (adopted): nothing left on the host after stop" "" "$(ct_leftovers "$a" "$mntns")"
ct_cmlsh container start "$a"
expect_status "$a: started by the new cmld" 0 "$rc"
expect_eq "$a: its data, started by the new cmld" "kept again deep" \
    "$(ct_exec "$a" /bin/cat /data/f /data/d/g 2>&1 | tr '\n' ' ' | sed 's/ $//')"

# --- a second container ----------------------------------------------------------------------------
ct_start "$b"
file_b=$(ct_show "$b" volume_file)
CHECKS=$((CHECKS + 1))
if [ -n "$file_b" ] && [ "$file_b" != "$file_a" ]; then
	_check_passed "$b: a volume file of its own"
else
	_check_failed "$b: its volume file is '$file_b', $a's '$file_a'"
fi
expect_eq "$b: its volume holds nothing of $a's" "lost+found" "$(ct_exec "$b" /bin/ls /data 2>&1)"
expect_match "$b: $a's file is not there" "No such file" "$(ct_exec "$b" /bin/cat /data/f 2>&1)"
expect_eq "$b: no mount of $a's volume" "1" \
    "$(ct_exec "$b" /bin/sh -c 'grep -c " ext4 " /proc/mounts' 2>&1)"

# --- full --------------------------------------------------------------------------------------------
out=$(ct_exec "$b" /bin/dd if=/dev/zero of=/data/big bs=1M count=64 2>&1)
expect_match "$b: writing 64 MiB into 16 gives ENOSPC" "No space left on device" "$out"
expect_eq "$b: the file on the host keeps its size" "16777216" "$(stat -c %s "$file_b")"
CHECKS=$((CHECKS + 1))
used=$(ct_show "$b" volume_used)
if [ "${used:-0}" -gt $((12 * 1048576)) ] && [ "$used" -le 16777216 ]; then
	_check_passed "$b: container show: the volume is full ($used bytes used)"
else
	_check_failed "$b: container show says $used bytes used"
fi
CHECKS=$((CHECKS + 1))
alloc=$(($(stat -c '%b * %B' "$file_b")))
if [ "$alloc" -le 16777216 ]; then
	_check_passed "$b: the file takes at most its size on the host ($alloc bytes)"
else
	_check_failed "$b: the file takes $alloc bytes on the host"
fi
expect_eq "$b: still running when full" "running" "$(ct_state "$b")"
expect_eq "$b: its root is still writable when the volume is full" "ok" \
    "$(ct_exec "$b" /bin/sh -c 'echo ok >/tmp/x && cat /tmp/x' 2>&1)"
expect_eq "$b: space again once the file is gone" "small" \
    "$(ct_exec "$b" /bin/sh -c 'rm /data/big && echo small >/data/s && cat /data/s' 2>&1)"
expect_eq "$a: unaffected by $b's full volume" "kept again" \
    "$(ct_exec "$a" /bin/cat /data/f 2>&1 | tr '\n' ' ' | sed 's/ $//')"

# --- damaged ------------------------------------------------------------------------------------------
mntns=$(ct_mntns "$a")
cmlsh_run container stop "$a" >/dev/null || fail "stop $a failed"
expect_eq "$a: nothing left on the host after stop" "" "$(ct_leftovers "$a" "$mntns")"
mntns=$(ct_mntns "$b")
cmlsh_run container stop "$b" >/dev/null || fail "stop $b failed"
expect_eq "$b: nothing left on the host after stop" "" "$(ct_leftovers "$b" "$mntns")"
# the superblock (1024 bytes at 1024) and its first backup zeroed
dd if=/dev/zero of="$file_b" bs=1024 seek=1 count=1 conv=notrunc 2>/dev/null
dd if=/dev/zero of="$file_b" bs=1024 seek=8193 count=1 conv=notrunc 2>/dev/null
ct_cmlsh container start "$b"
expect_status "$b: a damaged volume is refused" 1 "$rc"
expect_match "$b: the reason" \
    "^cmlsh: container '$b' did not start: the data volume $(re_quote "$file_b") is damaged: e2fsck -p cannot repair it safely \\(exit [0-9]+\\): e2fsck: Bad magic number in super-block while trying to open $(re_quote "${file_b##*/}"); cml does not mount it: repair it by hand \\(e2fsck $(re_quote "$file_b")\\) or remove the container with its data\$" \
    "$(cat "$SCRATCH/err")"
expect_match "$b: failed, with the reason" "^failed the data volume .* is damaged" \
    "$(ct_state "$b") $(ct_show "$b" reason)"
expect_eq "$b: nothing left after the refusal" "" "$(ct_leftovers "$b")"

# --- removed, with and without the data ------------------------------------------------------------
ct_cmlsh --yes container remove "$b" --purge
expect_status "$b: removed with --purge" 0 "$rc"
expect_eq "$b: the reply" "name:   $b
volume: removed $file_b" "$(cat "$SCRATCH/out")"
expect_eq "$b: its volume file is gone" "gone" "$([ -e "$file_b" ] && echo there || echo gone)"
ct_cmlsh --yes container remove "$a"
expect_status "$a: removed" 0 "$rc"
expect_eq "$a: the reply" "name:   $a
volume: kept in $file_a (remove --purge removes it)" "$(cat "$SCRATCH/out")"
expect_match "audited: kept" "container=$a object=org\\.cml\\.Container\\.Remove result=ok details=removed container $a; data volume kept in $(re_quote "$file_a")" \
    "$(audit_tail 2)"
expect_eq "$a: its volume file is kept" "there" "$([ -f "$file_a" ] && echo there || echo gone)"
ct_create "$a" '{"name":"'"$a"'","guestos":{"name":"busybox"},'"$vol"'}'
ct_start "$a"
file_a2=$(ct_show "$a" volume_file)
CHECKS=$((CHECKS + 1))
if [ -n "$file_a2" ] && [ "$file_a2" != "$file_a" ]; then
	_check_passed "a new $a gets a new volume, not the kept one"
else
	_check_failed "the new $a has volume '$file_a2', the old one '$file_a'"
fi
expect_eq "the new $a: an empty volume" "lost+found" "$(ct_exec "$a" /bin/ls /data 2>&1)"
mntns=$(ct_mntns "$a")
cmlsh_run container stop "$a" >/dev/null || fail "stop $a failed"
expect_eq "the new $a: nothing left on the host after stop" "" "$(ct_leftovers "$a" "$mntns")"

# --- encrypted storage keeps its refusal: no plain volume instead --------------------------------------
if [ ! -e /dev/mapper/control ]; then
	e=$(ct_name vol-enc)
	ct_create "$e" '{"name":"'"$e"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"},"storage":{"encrypted":true,"volume":{"size_mb":16,"mount":"/data"}}}}'
	ct_cmlsh container start "$e"
	expect_status "$e: encrypted storage without device-mapper: refused" 1 "$rc"
	expect_eq "$e: the reason" \
	    "cmlsh: container '$e' did not start: needs encrypted storage, but this kernel has no device-mapper: cml does not start it with plain data" \
	    "$(cat "$SCRATCH/err")"
	expect_eq "$e: no plain volume was made" "$(ct_show "$e" volume_file) absent" \
	    "$(ct_show "$e" volume_file) $([ -e "$(ct_show "$e" volume_file)" ] && echo there || echo absent)"
fi

# --- with a user namespace: the volume is id-mapped to the container's root --------------------------
chmod o+x "$SCRATCH" "$STACK_DIR" "$STACK_DIR/run" || fail "chmod o+x failed"
u=$(ct_name vol-u)
ct_create "$u" '{"name":"'"$u"'","guestos":{"name":"busybox"},"linux":{"user_namespace":true},'"$vol"'}'
ct_start "$u"
expect_eq "$u: root inside owns its volume and writes to it" "0:0 0:0 ok" \
    "$(ct_exec "$u" /bin/sh -c 'stat -c %u:%g /data && echo ok >/data/f && stat -c %u:%g /data/f && cat /data/f' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
cmlsh_run container stop "$u" >/dev/null || fail "stop $u failed"
ct_start "$u"
expect_eq "$u: its data after stop and start" "ok" "$(ct_exec "$u" /bin/cat /data/f 2>&1)"
mntns=$(ct_mntns "$u")
cmlsh_run container stop "$u" >/dev/null || fail "stop $u failed"
expect_eq "$u: nothing left on the host after stop" "" "$(ct_leftovers "$u" "$mntns")"

# --- repaired: what e2fsck -p fixes on its own is fixed, and the start goes on ----------------------
file_u=$(ct_show "$u" volume_file)
# not cleanly unmounted, with a wrong free block count
debugfs -w -R "ssv free_blocks_count 5" "$file_u" >/dev/null 2>&1
debugfs -w -R "ssv state 0" "$file_u" >/dev/null 2>&1
ct_cmlsh container start "$u"
expect_status "$u: a volume e2fsck -p repairs: started" 0 "$rc"
expect_match "audited: the volume was repaired" \
    "container=$u object=org\\.cml\\.Container\\.Start result=ok details=started $u on busybox 1\\.0, init pid [0-9]+; data volume repaired by e2fsck and mounted" \
    "$(audit_tail 3)"
expect_eq "$u: its data after the repair" "ok" "$(ct_exec "$u" /bin/cat /data/f 2>&1)"
mntns=$(ct_mntns "$u")
cmlsh_run container stop "$u" >/dev/null || fail "stop $u failed"
expect_eq "$u: nothing left on the host after stop" "" "$(ct_leftovers "$u" "$mntns")"
finish
