#!/bin/bash
# Correctly signed manifests whose content is wrong are refused after the
# signature check: empty, not JSON, not an object, an image listed twice,
# two images mounted at /, an unknown field, no images, a version with a
# leading zero, a name that is a path.  Versions only go
# up: an older version than the installed one is refused, the same version
# is refused as installed already, a newer one is accepted, and an older
# one is accepted only when its signed manifest says "allow_downgrade":
# true.  Each refusal has its own message, changes nothing in the installed
# tree or the database, and is audited with the reason.
# Proves: NDR 3.10 (newer versions install beside the installed ones),
# NDR 3.10(1) (no rollback unless the signed manifest allows it),
# TSF.UPD (versions only go up),
# CR 3.4 (a refused manifest leaves nothing half-installed),
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
guestos_make "$base" busybox 2.0
cmlsh_run ca add "$pki/root.crt" >/dev/null || fail "ca add $pki/root.crt failed"
img=$(manifest_get "$base" images 0 file)

n=0
# tampered NAME: a fresh copy of the base guest OS to change; sets $d
tampered() {
	n=$((n + 1))
	d=$SCRATCH/t$n-$1
	guestos_clone "$base" "$d"
}
# version_of VERSION: a copy of the base guest OS with that version,
# signed again; sets $d
version_of() {
	tampered "v$1"
	manifest_edit "$d" "m[\"version\"] = $2"
	manifest_sign "$d"
}

NEEDS='a downgrade needs a manifest signed with "allow_downgrade": true'

# --- content that is not a valid manifest ----------------------------------
tampered empty
: >"$d/manifest.json"
manifest_sign "$d"
expect_install_refused "empty manifest" "$d" org.cml.Error.InvalidArgument \
    "manifest: manifest is empty"

tampered not-json
printf 'name = "busybox"\nversion = "2.0"\n' >"$d/manifest.json"
manifest_sign "$d"
expect_install_refused "manifest that is not JSON" "$d" org.cml.Error.InvalidArgument \
    "manifest: manifest is not valid JSON: unexpected character 'n' at offset 0"

tampered not-object
printf '["busybox", "2.0"]\n' >"$d/manifest.json"
manifest_sign "$d"
expect_install_refused "manifest that is a JSON array" "$d" org.cml.Error.InvalidArgument \
    "manifest: manifest must be a JSON object"

tampered duplicate-image
manifest_edit "$d" 'm["images"].append(dict(m["images"][0]))'
manifest_sign "$d"
expect_install_refused "image listed twice" "$d" org.cml.Error.InvalidArgument \
    "manifest: images[1].file '$img' is listed twice (also images[0])"

tampered duplicate-image-other-mount
manifest_edit "$d" 'i = dict(m["images"][0]); i["mount"] = "/opt"; m["images"].append(i)'
manifest_sign "$d"
expect_install_refused "image file listed twice with another mount point" "$d" \
    org.cml.Error.InvalidArgument "manifest: images[1].file '$img' is listed twice (also images[0])"

tampered two-roots
cp "$d/$img" "$d/second.squashfs"
manifest_edit "$d" 'i = dict(m["images"][0]); i["file"] = "second.squashfs"; m["images"].append(i)'
manifest_sign "$d"
expect_install_refused "two images mounted at /" "$d" org.cml.Error.InvalidArgument \
    "manifest: images[0] and images[1] both mount at '/': exactly one image must be the root"

tampered unknown-field
manifest_edit "$d" 'm["run_as_root"] = True'
manifest_sign "$d"
expect_install_refused "unknown field" "$d" org.cml.Error.InvalidArgument \
    "manifest: unknown field 'run_as_root' in the manifest"

tampered no-images
manifest_edit "$d" 'm["images"] = []'
manifest_sign "$d"
expect_install_refused "no images" "$d" org.cml.Error.InvalidArgument \
    "manifest: images must not be empty"

tampered leading-zero
manifest_edit "$d" 'm["version"] = "02.0"'
manifest_sign "$d"
expect_install_refused "version with a leading zero" "$d" org.cml.Error.InvalidArgument \
    "manifest: version '02.0' must be 1 to 4 numbers separated by dots, without leading zeros, each at most 999999999"

tampered bad-name
manifest_edit "$d" 'm["name"] = "../busybox"'
manifest_sign "$d"
expect_install_refused "name with a slash" "$d" org.cml.Error.InvalidArgument \
    "manifest: name '../busybox' must be 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit"

# --- versions only go up --------------------------------------------------
expect_install_ok "install busybox 2.0" "$base"

version_of 1.0 '"1.0"'
expect_install_refused "older version" "$d" org.cml.Error.Downgrade \
    "busybox 1.0 is older than the installed 2.0; $NEEDS"

version_of 1 1
expect_install_refused "older version as a JSON integer" "$d" org.cml.Error.Downgrade \
    "busybox 1 is older than the installed 2.0; $NEEDS"

version_of 1.10 '"1.10"'
expect_install_refused "1.10 is older than 2.0" "$d" org.cml.Error.Downgrade \
    "busybox 1.10 is older than the installed 2.0; $NEEDS"

expect_install_refused "the same version again" "$base" org.cml.Error.Downgrade \
    "busybox 2.0 is already installed"

# allow_downgrade: true must be signed, and then an older version installs
version_of 1.5-allowed '"1.5"'
manifest_edit "$d" 'm["allow_downgrade"] = True'
manifest_sign "$d"
allowed=$d
expect_install_ok "older version with a signed allow_downgrade: true" "$allowed"
expect_match "older version with allow_downgrade: the reply" \
    $'^name: +busybox\nversion: +1\\.5\n' "$(cat "$SCRATCH/out")"

# a newer version installs; 2.10 is newer than 2.9 (numeric, part by part)
version_of 2.9 '"2.9"'
expect_install_ok "newer version 2.9" "$d"
version_of 2.10 '"2.10"'
expect_install_ok "newer version 2.10 after 2.9" "$d"
version_of 2.9-again '"2.9.1"'
expect_install_refused "2.9.1 after 2.10" "$d" org.cml.Error.Downgrade \
    "busybox 2.9.1 is older than the installed 2.10; $NEEDS"

expect_eq "installed versions" \
"busybox 1.5
busybox 2.0
busybox 2.10
busybox 2.9" "$(cmlsh_run --json guestos list | python3 -c '
import json, sys
for g in sorted(json.load(sys.stdin)["guestos"], key=lambda g: g["version"]):
    print(g["name"], g["version"])')"

finish
