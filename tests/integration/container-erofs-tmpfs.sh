#!/bin/bash
# The scenario of container-erofs.sh with cmld's state directory on a
# tmpfs (as on a Debian root whose /tmp is one), where erofs cannot be
# mounted straight from its file ("Block device required"): the start
# works through a loop device over the same checked file, with and
# without a user namespace, container show names that loop device, and
# after stop nothing is left.  The test runs in a mount namespace of its
# own with a tmpfs on /tmp, so the host's /tmp is not touched.
# Proves: OS 01 (an erofs root from a state directory on a tmpfs),
# APS 02 (the checked file is what the loop device serves),
# CR 7.2 (no mount or loop device left after stop).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
if [ "${CML_EROFS_TMPFS_NS:-}" != 1 ]; then
	. "$(dirname "$0")/lib.sh"
	need_root
	need_prog unshare mount
	CML_EROFS_TMPFS_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
# A checkout or build under /tmp stays reachable: the old /tmp is held at
# /mnt/tmp (a tmpfs of this namespace on /mnt) and each such tree is bound
# back onto the new /tmp.
here=$(cd "$(dirname "$0")" && pwd -P)
keep=()
for d in "$CML_SRCDIR" "$CML_BUILDDIR" "$here"; do
	d=$(cd "$d" 2>/dev/null && pwd -P) || continue
	case "$d" in /tmp/*) keep+=("$d") ;; esac
done
if [ "${#keep[@]}" -gt 0 ]; then
	mount -t tmpfs cml-erofs-hold /mnt && mkdir /mnt/tmp &&
	    mount --bind /tmp /mnt/tmp || {
		echo "FAIL: container-erofs-tmpfs: cannot keep $CML_BUILDDIR reachable" >&2
		exit 1
	}
fi
mount -t tmpfs -o mode=1777 cml-erofs-tmpfs /tmp || {
	echo "FAIL: container-erofs-tmpfs: cannot mount a tmpfs on /tmp" >&2
	exit 1
}
for d in "${keep[@]}"; do
	mkdir -p "$d" && mount --bind "/mnt$d" "$d" || {
		echo "FAIL: container-erofs-tmpfs: cannot bind $d back" >&2
		exit 1
	}
done
[ "$(stat -f -c %T /tmp)" = tmpfs ] || {
	echo "FAIL: container-erofs-tmpfs: /tmp is no tmpfs" >&2
	exit 1
}
EROFS_VIA=loop
. "$here/container-erofs.sh"
