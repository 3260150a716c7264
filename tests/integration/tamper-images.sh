#!/bin/bash
# Images that do not match their correctly signed manifest are refused: one
# byte changed, truncated, a byte appended, swapped with another signed
# guest OS's image, missing, an extra file not in the manifest, a symbolic
# link in place of the image, the second of two images changed; and (in a
# re-signed manifest) an image file name that leaves the directory, which
# is refused as manifest content.  Each is refused with its own message
# naming the image, nothing is written to the installed tree or the
# database (no staging directory is left behind), and the refusal is
# audited with the reason.
# Proves: TSF.INIT (every image's size and hash checked before install),
# APS 02 (checked before installation),
# COM 06 (images against their signed SHA-256),
# NDR 3.2 (tampered images refused),
# NDR 3.10(1) (a guest OS installs only checked), TSF.UPD,
# CR 3.4 (a failure leaves nothing half-installed),
# CR 2.8 (refusals audited), CR 2.12 (with uid and pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_guestos_tools
stack_start

pki=$SCRATCH/pki
pki_make "$pki"
base=$SCRATCH/base
guestos_make "$base" busybox 1.0
other=$SCRATCH/other
guestos_make "$other" other 1.0
two=$SCRATCH/two
guestos_make "$two" two 1.0 --extra-image data.img:2:/data
cmlsh_run ca add "$pki/root.crt" >/dev/null || fail "ca add $pki/root.crt failed"

img=$(manifest_get "$base" images 0 file)
[ -f "$base/$img" ] || fail "the base guest OS has no image '$img'"
size=$(manifest_get "$base" images 0 size)
[ "$(manifest_get "$other" images 0 file)" = "$img" ] ||
    fail "the other guest OS names its root image differently"
cmp -s "$base/$img" "$other/$img" &&
    fail "the two guest OSes have the same $img: swapping them would prove nothing"

n=0
# tampered NAME: a fresh copy of the base guest OS to tamper with; sets $d
tampered() {
	n=$((n + 1))
	d=$SCRATCH/t$n-$1
	guestos_clone "$base" "$d"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}
signed_sha=$(manifest_get "$base" images 0 sha256)
# the message for an image whose bytes differ
differs() {
	echo "image '$img' does not match its signed SHA-256 (got $(sha "$1"), manifest says $signed_sha)"
}

tampered byte-changed
flip_byte "$d/$img"
expect_install_refused "image with one byte changed" "$d" org.cml.Error.IntegrityViolation \
    "$(differs "$d/$img")"

tampered first-byte-changed
flip_byte "$d/$img" 0
expect_install_refused "image with its first byte changed" "$d" org.cml.Error.IntegrityViolation \
    "$(differs "$d/$img")"

tampered truncated
truncate -s $((size - 4096)) "$d/$img"
expect_install_refused "truncated image" "$d" org.cml.Error.IntegrityViolation \
    "image '$img' has $((size - 4096)) bytes, the manifest says $size"

tampered appended
printf 'x' >>"$d/$img"
expect_install_refused "image with a byte appended" "$d" org.cml.Error.IntegrityViolation \
    "image '$img' has $((size + 1)) bytes, the manifest says $size"

tampered swapped
cp "$other/$img" "$d/$img"
other_size=$(stat -c %s "$other/$img")
if [ "$other_size" = "$size" ]; then
	why=$(differs "$d/$img")
else
	why="image '$img' has $other_size bytes, the manifest says $size"
fi
expect_install_refused "image swapped with another guest OS's" "$d" org.cml.Error.IntegrityViolation \
    "$why"

# the last byte of the second image: the first is copied by then, and the
# copy must go too
d=$SCRATCH/t-second-image
guestos_clone "$two" "$d"
[ "$(manifest_get "$d" images 1 file)" = data.img ] || fail "guest OS 'two' has no second image data.img"
two_size=$(manifest_get "$d" images 1 size)
flip_byte "$d/data.img" $((two_size - 1))
expect_install_refused "second image with its last byte changed" "$d" org.cml.Error.IntegrityViolation \
    "image 'data.img' does not match its signed SHA-256 (got $(sha "$d/data.img"), manifest says $(manifest_get "$d" images 1 sha256))"

tampered missing
rm -f "$d/$img"
expect_install_refused "image missing" "$d" org.cml.Error.IntegrityViolation \
    "image '$img' is missing"

tampered extra
head -c 4096 /dev/urandom >"$d/extra.img"
expect_install_refused "extra file not in the manifest" "$d" org.cml.Error.IntegrityViolation \
    "extra file 'extra.img' in $d is not in the manifest"

tampered symlink
mv "$d/$img" "$SCRATCH/real-$img"
ln -s "$SCRATCH/real-$img" "$d/$img"
expect_install_refused "image that is a symbolic link" "$d" org.cml.Error.IntegrityViolation \
    "image '$img' is a symbolic link"

# File names that leave the directory are refused as manifest content (the
# manifest is signed, so the signer made the mistake), before any file is
# opened.
# ../x: the file exists next to the guest OS directory, with the image's
# bytes, so only the name is wrong
n=$((n + 1))
trav=$SCRATCH/t$n-traversal
mkdir -p "$trav"
d=$trav/gos
guestos_clone "$base" "$d"
cp "$base/$img" "$trav/x"
rm -f "$d/$img"
manifest_edit "$d" 'm["images"][0]["file"] = "../x"'
manifest_sign "$d"
expect_install_refused "image file name ../x" "$d" org.cml.Error.InvalidArgument \
    "manifest: images[0].file '../x' must be a plain file name"

tampered absolute-name
manifest_edit "$d" "m[\"images\"][0][\"file\"] = \"$d/$img\""
manifest_sign "$d"
expect_install_refused "absolute image file name" "$d" org.cml.Error.InvalidArgument \
    "manifest: images[0].file '$d/$img' must be a plain file name"

tampered subdir-name
mkdir "$d/sub"
mv "$d/$img" "$d/sub/$img"
manifest_edit "$d" "m[\"images\"][0][\"file\"] = \"sub/$img\""
manifest_sign "$d"
expect_install_refused "image file name with a directory" "$d" org.cml.Error.InvalidArgument \
    "manifest: images[0].file 'sub/$img' must be a plain file name"

# the untouched guest OS installs, so the refusals above were the images'
# doing
expect_install_ok "the untampered guest OS" "$base"

finish
