#!/bin/bash
# The guest OS images are checked against their signed hashes before every
# start: after one byte of the installed root.squashfs is changed (also
# with its time stamp put back, also while the container runs, for the
# next start), `container start` fails with exit 1 and a message that
# names the image and both hashes; the container is failed with that
# reason in `container list` and the database, the refusal is audited as
# IntegrityViolation, and nothing was set up on the host.  A longer image
# and a changed installed manifest are refused too.  With the byte put
# back, the container starts.  A start keeps its signature check for the
# very manifest and signature bytes (a changed manifest after verified
# starts is refused all the same), but not past a change of the anchors:
# with the signer's root removed after verified starts, the next start is
# refused; with it back, it starts.
# Proves: APS 02 (signature and images checked again before every start),
# TSF.INIT, NDR 2.4, NDR 3.2 (a tampered image fails the start),
# NDR 2.4(1) (a changed manifest fails its signature at start),
# OS 03 (checked before execution), COM 06, CR 3.4, CR 3.4(1),
# OS 01 (failed with the reason), CR 2.8 (audited),
# CR 2.12 (with uid and pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

name=$(ct_name tamper)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"}}'
inst=$(state_dir)/guestos/busybox/1.0
img=$inst/root.squashfs
want=$(manifest_get "$CT_GUESTOS" images 0 sha256)
size=$(manifest_get "$CT_GUESTOS" images 0 size)
db=$(state_dir)/cml.db

# refused_start DESC ERROR REASON: start fails with REASON, recorded and audited
refused_start() {
	local desc=$1 error=$2 reason=$3 n0
	n0=$(audit_count)
	ct_cmlsh container start "$name"
	expect_status "$desc: start refused" 1 "$rc"
	expect_eq "$desc: nothing on stdout" "" "$(cat "$SCRATCH/out")"
	expect_eq "$desc: the message" "cmlsh: container '$name' did not start: $reason" "$(cat "$SCRATCH/err")"
	expect_eq "$desc: failed, with the reason" "failed|$reason" \
	    "$(ct_state "$name")|$(ct_show "$name" reason)"
	expect_lines "$desc: container list" "$(cmlsh_run container list 2>&1)" \
	    '^NAME ' "^$name +failed +busybox +[-0-9.]+ +- +$(re_quote "$reason")\$"
	expect_eq "$desc: the database" "failed|$reason|0" \
	    "$(sqlite3 "$db" ".timeout 5000" "select state, reason, pid from container where name = '$name'")"
	expect_eq "$desc: audited" "$((n0 + 1))
type=call uid=0 pid=$pid container=$name object=org.cml.Container.Start result=$error details=container '$name' did not start: $reason" \
	    "$(audit_last)"
	expect_eq "$desc: nothing set up on the host" "" "$(ct_leftovers "$name")"
}

ct_start "$name"
cmlsh_run container stop "$name" >/dev/null || fail "stop $name failed"

# --- one byte changed ------------------------------------------------------------------
flip_byte "$img"
refused_start "one byte of root.squashfs changed" org.cml.Error.IntegrityViolation \
    "guest OS busybox 1.0: image 'root.squashfs' of busybox 1.0 was changed after install: SHA-256 $(sha256sum "$img" | cut -d' ' -f1) expected $want"
ct_cmlsh --json container start "$name"
expect_eq "--json: IntegrityViolation" "org.cml.Error.IntegrityViolation" "$(json_get error <"$SCRATCH/out")"

# the same with the time stamp put back: the bytes are hashed, not the time
flip_byte "$img"
touch "$SCRATCH/stamp"
touch -r "$img" "$SCRATCH/stamp"
flip_byte "$img"
touch -r "$SCRATCH/stamp" "$img"
expect_eq "the changed image has the time stamp of the signed one" \
    "$(stat -c %y "$SCRATCH/stamp")" "$(stat -c %y "$img")"
refused_start "one byte changed, the time stamp kept" org.cml.Error.IntegrityViolation \
    "guest OS busybox 1.0: image 'root.squashfs' of busybox 1.0 was changed after install: SHA-256 $(sha256sum "$img" | cut -d' ' -f1) expected $want"

# --- put back: it starts ------------------------------------------------------------------------
flip_byte "$img"
expect_eq "the image is the signed one again" "$want" "$(sha256sum "$img" | cut -d' ' -f1)"
ct_cmlsh container start "$name"
expect_status "with the byte put back, start" 0 "$rc"
expect_eq "running" "running" "$(ct_state "$name")"

# --- changed while it runs: the next start is refused ------------------------------------------
flip_byte "$img"
expect_eq "the running container is not disturbed" "ok" "$(ct_exec "$name" /bin/echo ok 2>&1)"
ct_cmlsh container stop "$name"
expect_status "stop after the image changed under it" 0 "$rc"
refused_start "changed while it ran, at the next start" org.cml.Error.IntegrityViolation \
    "guest OS busybox 1.0: image 'root.squashfs' of busybox 1.0 was changed after install: SHA-256 $(sha256sum "$img" | cut -d' ' -f1) expected $want"
flip_byte "$img"

# --- a byte appended ---------------------------------------------------------------------------
printf x >>"$img"
refused_start "a byte appended to root.squashfs" org.cml.Error.IntegrityViolation \
    "guest OS busybox 1.0: image 'root.squashfs' of busybox 1.0 was changed after install: it has $((size + 1)) bytes, expected $size"
truncate -s "$size" "$img"

# --- the installed manifest changed ----------------------------------------------------------
cp "$inst/manifest.json" "$SCRATCH/manifest.json.orig"
sed -i 's/made by mkguestos/made by someone else/' "$inst/manifest.json"
refused_start "the installed manifest changed" org.cml.Error.InvalidSignature \
    "guest OS busybox 1.0: manifest signature: signature does not match the data: the file was changed after signing or the signature belongs to another file"
cp "$SCRATCH/manifest.json.orig" "$inst/manifest.json"

ct_cmlsh container start "$name"
expect_status "all put back: start" 0 "$rc"
expect_eq "running again, no reason" "running|" "$(ct_state "$name")|$(ct_show "$name" reason)"

# --- the anchor removed: the signature check kept from the starts above goes with it ----------
cmlsh_run container stop "$name" >/dev/null || fail "stop $name failed"
root_fp=$(openssl x509 -in "$SCRATCH/pki/root.crt" -noout -fingerprint -sha256 |
    sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f')
cmlsh_run --yes ca remove "$root_fp" >/dev/null || fail "ca remove failed"
refused_start "the anchor removed after verified starts" org.cml.Error.InvalidSignature \
    "guest OS busybox 1.0: manifest signature: signer certificate '$(openssl x509 -in "$SCRATCH/pki/signer.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')' does not chain to a trusted root: unable to get local issuer certificate"
cmlsh_run ca add "$SCRATCH/pki/root.crt" >/dev/null || fail "ca add failed"
ct_cmlsh container start "$name"
expect_status "the anchor back: start" 0 "$rc"
finish
