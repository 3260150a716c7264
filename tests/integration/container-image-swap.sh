#!/bin/bash
# What a container mounts is the very file whose hash was checked: an
# image file swapped in by rename after its check (while cmld is still
# hashing the next image) is never used.  The guest OS "slow" has its root
# image first and a large second image, so that there is time to swap the
# checked root.squashfs for the root image of another guest OS while cmld
# hashes data.ext4 (cmld is held with SIGSTOP meanwhile).  The container then runs the checked image (its
# /etc/hostname says "slow", the swapped-in one says "other"), cmld holds
# the checked file open until it is mounted, and the next start checks the
# swapped-in file and refuses it, with the reason and an audit row.
# Proves: APS 02 (checked before the start; the checked file is mounted),
# TSF.INIT, NDR 2.4 (checked before each start),
# NDR 3.2 (a swapped-in image fails the next start),
# COM 06, CR 3.4, CR 2.8 (audited), CR 2.12 (with uid and pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

guestos_make "$SCRATCH/slow" slow 1.0 --extra-image data.ext4:512:/data
guestos_make "$SCRATCH/other" other 1.0
_run_tool "guestos install slow" "$CMLSH" --socket "$SOCK" guestos install "$SCRATCH/slow"

name=$(ct_name swap)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"slow"}}'
inst=$(state_dir)/guestos/slow/1.0
want=$(manifest_get "$SCRATCH/slow" images 0 sha256)
expect_eq "the root image comes first" "root.squashfs" "$(manifest_get "$SCRATCH/slow" images 0 file)"
cp "$SCRATCH/other/root.squashfs" "$inst/.swap" || fail "cannot copy the other root image"
cmp -s "$SCRATCH/other/root.squashfs" "$inst/root.squashfs" &&
    fail "the two root images are the same file: the test would prove nothing"

# Prints the files in the stack's guest OS directory that cmld has open.
cmld_open() {
	local f
	for f in /proc/"$1"/fd/*; do
		readlink "$f" 2>/dev/null
	done | grep -F "$inst/" | sort
	return 0
}

cpid=$(cmld_pid) || fail "no cmld"
"$CMLSH" --socket "$SOCK" container start "$name" >"$SCRATCH/out" 2>"$SCRATCH/err" &
spid=$!
seen=""
for ((i = 0; i < 20000; i++)); do
	if ls -l "/proc/$cpid/fd" 2>/dev/null | grep -qF " -> $inst/data.ext4"; then
		seen=1
		break
	fi
done
[ -n "$seen" ] || fail "cmld never had data.ext4 open: the window to swap in was missed"
# Held still while the image is swapped, so that the swap surely comes
# before the mount.
kill -STOP "$cpid"
expect_eq "at the swap nothing is mounted yet" "" "$(ct_loops)"
# root.squashfs has passed its check now; cmld keeps that very file.
expect_eq "while data.ext4 is hashed, cmld holds the checked root.squashfs" \
    "$inst/data.ext4
$inst/root.squashfs" "$(cmld_open "$cpid")"
mv -f "$inst/.swap" "$inst/root.squashfs" || fail "cannot swap the root image"
kill -CONT "$cpid"
wait $spid
rc=$?
expect_status "start, with the root image swapped after its check" 0 "$rc"
expect_eq "the container runs the checked image, not the swapped-in one" \
    "slow" "$(ct_exec "$name" /bin/cat /etc/hostname 2>&1)"
expect_eq "after the start cmld holds no image open" "" "$(cmld_open "$cpid")"
cmlsh_run container stop "$name" >/dev/null || fail "stop $name failed"
expect_eq "stopped, nothing left on the host" "" "$(ct_leftovers "$name")"

# The next start checks the file that is there now, and refuses it.
n0=$(audit_count)
ct_cmlsh container start "$name"
expect_status "the next start" 1 "$rc"
reason="guest OS slow 1.0: image 'root.squashfs' of slow 1.0 was changed after install: "
got=$(sha256sum "$inst/root.squashfs" | cut -d' ' -f1)
if [ "$(stat -c %s "$inst/root.squashfs")" = "$(manifest_get "$SCRATCH/slow" images 0 size)" ]; then
	reason+="SHA-256 $got expected $want"
else
	reason+="it has $(stat -c %s "$inst/root.squashfs") bytes, expected $(manifest_get "$SCRATCH/slow" images 0 size)"
fi
expect_eq "the swapped-in image is named with the reason" \
    "cmlsh: container '$name' did not start: $reason" "$(cat "$SCRATCH/err")"
expect_eq "failed, with the reason" "failed|$reason" \
    "$(ct_state "$name")|$(ct_show "$name" reason)"
expect_eq "audited" "$((n0 + 1))
type=call uid=0 pid=$pid container=$name object=org.cml.Container.Start result=org.cml.Error.IntegrityViolation details=container '$name' did not start: $reason" \
    "$(audit_last)"
expect_eq "nothing set up on the host" "" "$(ct_leftovers "$name")"
finish
