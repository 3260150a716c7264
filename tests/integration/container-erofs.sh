#!/bin/bash
# A guest OS with an erofs root image: cmld mounts it straight from the
# checked file, without a loop device, with and without a user namespace
# (container show says "from its file"; container-erofs-tmpfs.sh runs
# this scenario where the file's file system cannot back erofs, and there
# a loop device over the same file serves it);
# the container runs from it (its /etc/hostname is the guest OS's), its
# root is read-only below the writable layer, and after stop nothing is
# left on the host.  A changed erofs image is refused at start like any
# other.
# With a user namespace, root inside is a range of 65536 host ids of the
# container's own, and init is that unprivileged id on the host.
# Proves: APS 02 (the image checked again before a start), TSF.INIT,
# NDR 3.2 (a changed image fails the start), COM 06, CR 3.4,
# OS 01 (a container runs from an erofs root),
# OS 05 (with a user namespace init is an unprivileged host id),
# CR 7.2 (no mount or loop device left after stop).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog mkfs.erofs
# how the image is mounted: "file", or "loop" (container-erofs-tmpfs.sh)
EROFS_VIA=${EROFS_VIA:-file}
ct_setup
grep -qw erofs /proc/filesystems || skip "this kernel has no erofs"

guestos_make "$SCRATCH/ero" ero 1.0 --fs erofs
expect_eq "the root image is erofs" "root.erofs erofs" \
    "$(manifest_get "$SCRATCH/ero" images 0 file) $(manifest_get "$SCRATCH/ero" images 0 fs)"
_run_tool "guestos install ero" "$CMLSH" --socket "$SOCK" guestos install "$SCRATCH/ero"
img=$(state_dir)/guestos/ero/1.0/root.erofs
# A user namespace's root is nobody on the host: it must reach its mount
# point below the stack's run directory.
chmod o+x "$SCRATCH" "$STACK_DIR" "$STACK_DIR/run" || fail "chmod o+x failed"

for userns in false true; do
	name=$(ct_name "ero-$userns")
	ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"ero"},"linux":{"user_namespace":'"$userns"'}}'
	ct_cmlsh container start "$name"
	expect_status "user_namespace $userns: start" 0 "$rc"
	expect_eq "user_namespace $userns: running" "running" "$(ct_state "$name")"
	expect_eq "user_namespace $userns: runs the erofs root" "ero" \
	    "$(ct_exec "$name" /bin/cat /etc/hostname 2>&1)"
	if [ "$EROFS_VIA" = file ]; then
		expect_eq "user_namespace $userns: no loop device serves the image" "" "$(ct_loops)"
		expect_eq "user_namespace $userns: container show: from its file" \
		    "root.erofs (erofs) from its file" "$(ct_show "$name" images)"
	else
		expect_match "user_namespace $userns: one loop device serves the image" \
		    "^loop[0-9]+ $(re_quote "$img")\$" "$(ct_loops)"
		expect_eq "user_namespace $userns: container show: that loop device" \
		    "root.erofs (erofs) on loop device /dev/$(ct_loops | awk '{ print $1 }')" \
		    "$(ct_show "$name" images)"
	fi
	mntns=$(ct_mntns "$name")
	# the root is the overlay, with the erofs image as its lower layer
	expect_eq "user_namespace $userns: the root is an overlay" "overlay" \
	    "$(ct_exec "$name" /bin/sh -c 'awk '\''$2 == "/" { print $3 }'\'' /proc/mounts' 2>&1)"
	if [ "$userns" = true ]; then
		# 65536 ids of the host from CONTAINER_ID_BASE (1048576) on,
		# a range of their own for each container
		expect_match "user_namespace true: root is a range of 65536 host ids" \
		    '^ *0 +[0-9]+ +65536$' "$(ct_exec "$name" /bin/cat /proc/self/uid_map 2>&1)"
		base=$(ct_exec "$name" /bin/cat /proc/self/uid_map | awk '{ print $2 }')
		[ "${base:-0}" -ge 1048576 ] && [ $((base % 65536)) = 0 ] ||
		    fail "user_namespace true: the range starts at $base"
		expect_eq "user_namespace true: init is nobody privileged on the host" "$base" \
		    "$(stat -c %u "/proc/$(ct_show "$name" pid)")"
	else
		expect_eq "user_namespace false: no id mapping" "0 0 4294967295" \
		    "$(ct_exec "$name" /bin/cat /proc/self/uid_map 2>&1 | awk '{ print $1, $2, $3 }')"
	fi
	# with a user namespace the image is id-mapped: root owns its files
	expect_eq "user_namespace $userns: the image's files belong to root inside" "0:0" \
	    "$(ct_exec "$name" /bin/stat -c %u:%g /bin/busybox 2>&1)"
	ct_exec "$name" /bin/sh -c 'echo hi >/etc/new && cat /etc/new' >"$SCRATCH/w" 2>&1
	expect_eq "user_namespace $userns: the writable layer" "hi" "$(cat "$SCRATCH/w")"
	cmlsh_run container stop "$name" >/dev/null || fail "stop $name failed"
	expect_eq "user_namespace $userns: stopped" "stopped" "$(ct_state "$name")"
	expect_eq "user_namespace $userns: nothing left on the host" "" "$(ct_leftovers "$name" "$mntns")"
	expect_eq "user_namespace $userns: the image is not in use" "" \
	    "$(grep -lF "$img" /proc/[0-9]*/maps 2>/dev/null)"
done

# a changed erofs image is refused like any other
flip_byte "$img"
ct_cmlsh container start "$name"
expect_status "a changed erofs image: start refused" 1 "$rc"
expect_match "a changed erofs image: the reason" \
    "^cmlsh: container '$name' did not start: guest OS ero 1.0: image 'root.erofs' of ero 1.0 was changed after install: SHA-256 [0-9a-f]{64} expected [0-9a-f]{64}\$" \
    "$(cat "$SCRATCH/err")"
flip_byte "$img"
ct_cmlsh container start "$name"
expect_status "put back: start" 0 "$rc"
finish
