#!/bin/bash
# The good path of guest OSes: a signed guest OS installs, `guestos list`
# shows it with its signer, the installed files are the signed ones, the
# install is audited; a large install shows progress on a terminal;
# `guestos verify` passes, then catches an installed image changed
# afterwards (naming the image, audited); an operator may list but not
# install; `guestos remove` asks for confirmation, removes with --yes / -y
# and is audited.
# Proves: APS 02 (guestos verify checks the images again),
# COM 06 (a changed or truncated image fails against its signed SHA-256),
# CR 3.4 (the installed files are the signed ones),
# CR 2.1 (install is admin only),
# CR 2.8 (installs and removals and failed verifications audited),
# CR 2.12 (with uid and pid), CR 2.12(1) (an operator's refusal too).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_guestos_tools
need_prog script setpriv getent groupadd
ensure_groups
stack_start
user_programs

pki=$SCRATCH/pki
pki_make "$pki"
base=$SCRATCH/busybox-1.0
guestos_make "$base" busybox 1.0
big=$SCRATCH/big-3
guestos_make "$big" big 3 --extra-image data.img:64:/data
cmlsh_run ca add "$pki/root.crt" >/dev/null || fail "ca add $pki/root.crt failed"

state=$(state_dir)
db=$state/cml.db
signer=$(openssl x509 -in "$pki/signer.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
img=$(manifest_get "$base" images 0 file)

# files DIR: name, size and SHA-256 of every entry of a directory
files() {
	(cd "$1" && find . -mindepth 1 -printf '%y %s %P\n' | LC_ALL=C sort &&
	    find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}
# image_bytes DIR: the sum of the manifest's image sizes
image_bytes() {
	python3 -c 'import json, sys
print(sum(i["size"] for i in json.load(open(sys.argv[1]))["images"]))' "$1/manifest.json"
}

# The images' bytes as cmlsh shows them (binary units, client/format.c),
# as a regular expression.
image_size() {
	python3 -c 'import re, sys
n = int(sys.argv[1])
if n < 1024:
    s = "%d B" % n
else:
    units, div, u = ["KiB", "MiB", "GiB", "TiB", "PiB"], 1024, 0
    while u + 1 < len(units) and n // div >= 1024:
        div *= 1024; u += 1
    v = n / div
    s = "%d %s" % (n // div, units[u]) if n % div == 0 else \
        ("%.1f %s" if v < 10 else "%.0f %s") % (v, units[u])
print(re.escape(s))' "$(image_bytes "$1")"
}
# run_cmlsh ARGS...: cmlsh as root in the background, to learn its pid;
# sets $pid and $rc, output in $SCRATCH/out and $SCRATCH/err
run_cmlsh() {
	"$CMLSH" --socket "$SOCK" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	wait $pid
	rc=$?
}

HEADER='^NAME  +VERSION  +SIGNER  +IMAGES  +SIZE  +INSTALLED$'
TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z'

# --- nothing installed yet ---------------------------------------------------
out=$(cmlsh_run guestos list 2>"$SCRATCH/err")
expect_status "guestos list, nothing installed" 0 $?
expect_eq "guestos list, nothing installed: the header only" \
    "NAME  VERSION  SIGNER  IMAGES  SIZE  INSTALLED" "$out"
expect_eq "guestos list: nothing on stderr" "" "$(cat "$SCRATCH/err")"

# --- install ---------------------------------------------------------------
n0=$(audit_count)
run_cmlsh guestos install "$base"
expect_status "guestos install $base" 0 $rc
expect_eq "guestos install: the reply" \
"name:    busybox
version: 1.0
signer:  $signer" "$(cat "$SCRATCH/out")"
expect_eq "guestos install: nothing on stderr (no terminal, no progress)" "" "$(cat "$SCRATCH/err")"
# the install's record, after tpm2d's of the version floor it raised in
# the TPM (the first: the floor index defined) which are in the trail
# before the answer
expect_eq "guestos install: its audit record and tpm2d's of the floor" "$((n0 + 4))" "$(audit_count)"
expect_lines "guestos install: tpm2d raised the floor" "$(audit_tail 4 | head -n 3 | sed 's/ pid=[0-9]* / /')" \
    '^type=tpm2d uid=0 container= object=floor index result=ok details=#[0-9]+ floor: defined the floor index at 0x[0-9a-f]+ .*$' \
    '^type=tpm2d uid=0 container= object=guestos/busybox result=ok details=#[0-9]+ floor: floor raised: none -> 1$' \
    '^type=tpm2d uid=0 container= object=org\.cml\.TPM\.RaiseFloor result=ok details=#[0-9]+ call: uid 0 pid [0-9]+: guestos/busybox: floor raised: none -> 1$'
expect_eq "guestos install: audited with name, version, directory and signer" \
    "type=call uid=0 pid=$pid container= object=org.cml.GuestOS.Install result=ok details=installed busybox 1.0 from $base, signed by $signer" \
    "$(audit_tail 1)"

expect_eq "installed tree: only busybox/1.0" "d busybox
d busybox/1.0" "$(cd "$state/guestos" && find . -mindepth 1 -type d -printf '%y %P\n' | LC_ALL=C sort)"
expect_eq "installed files: the signed ones, byte for byte" \
    "$(files "$base")" "$(files "$state/guestos/busybox/1.0")"
expect_eq "no staging directory left" "" "$(staging_dirs)"
expect_eq "database: one guest OS row with its signer" \
    "busybox|1.0|$signer" "$(sqlite3 "$db" 'select name, version, signer from guestos')"

size=$(image_size "$base")
out=$(cmlsh_run guestos list 2>&1)
expect_lines "guestos list after the install" "$out" \
    "$HEADER" \
    "^busybox  +1\\.0  +$(re_quote "$signer")  +1  +$size  +$TIME\$"
# the columns line up under the header
expect_eq "guestos list: columns aligned" \
    "$(sed -n 1p <<<"$out" | grep -bo 'VERSION' | cut -d: -f1)" \
    "$(sed -n 2p <<<"$out" | grep -bo '1\.0' | head -n 1 | cut -d: -f1)"
json=$(cmlsh_run --json guestos list)
expect_eq "guestos list --json" \
    "busybox 1.0 $signer 1 $(image_bytes "$base")" \
    "$(printf '%s' "$json" | python3 -c 'import json, sys
g = json.load(sys.stdin)["guestos"][0]
print(g["name"], g["version"], g["signer"], g["images"], g["size"])')"

# --- progress on a terminal, for a 64 MiB image ------------------------------
# cmld reports progress after the first step of the copy (8 MiB), then at
# most every 250 ms: a 64 MiB image always shows some.
script -qec "$CMLSH --socket $SOCK guestos install $big" "$SCRATCH/progress.log" \
    </dev/null >/dev/null 2>&1 &
spid=$!
track_pid "$spid"
wait "$spid"
rc=$?
untrack_pid "$spid"
expect_status "guestos install of 64 MiB on a terminal" 0 $rc
progress=$(sed '/^Script started/d; /^Script done/d' "$SCRATCH/progress.log")
total_mib=$(python3 -c 'import sys; print("%.1f" % (int(sys.argv[1]) / 1048576))' "$(image_bytes "$big")")
expect_match "guestos install on a terminal: a progress line (image, percent, MiB of $total_mib)" \
    $'\r\e\\[K(root\\.squashfs|data\\.img): +[0-9]+% \\([0-9]+\\.[0-9] of '"$(re_quote "$total_mib")"' MiB\)' \
    "$progress"
expect_match "guestos install on a terminal: the progress line is cleared, then the reply" \
    $'MiB\\)\r\e\\[Kname: +big\r\nversion: +3\r\nsigner: +'"$(re_quote "$signer")"$'\r?$' \
    "$progress"
expect_eq "big 3: installed files are the signed ones" \
    "$(files "$big")" "$(files "$state/guestos/big/3")"
expect_lines "guestos list with two" "$(cmlsh_run guestos list 2>&1)" \
    "$HEADER" \
    "^big  +3  +$(re_quote "$signer")  +2  +$(image_size "$big")  +$TIME\$" \
    "^busybox  +1\\.0  +$(re_quote "$signer")  +1  +$size  +$TIME\$"

# --- verify ----------------------------------------------------------------
run_cmlsh guestos verify busybox
expect_status "guestos verify busybox" 0 $rc
expect_eq "guestos verify busybox: the reply" \
"name:    busybox
version: 1.0
result:  ok" "$(cat "$SCRATCH/out")"
expect_eq "guestos verify busybox: nothing on stderr" "" "$(cat "$SCRATCH/err")"
run_cmlsh guestos verify big 3
expect_status "guestos verify big 3" 0 $rc
expect_eq "guestos verify big 3: the reply" \
"name:    big
version: 3
result:  ok" "$(cat "$SCRATCH/out")"

installed=$state/guestos/busybox/1.0/$img
flip_byte "$installed"
n0=$(audit_count)
run_cmlsh guestos verify busybox
expect_status "guestos verify after a byte of $img changed" 1 $rc
expect_eq "guestos verify, changed image: nothing on stdout" "" "$(cat "$SCRATCH/out")"
changed="guest OS busybox 1.0 failed verification: image '$img' of busybox 1.0 was changed after install: SHA-256 $(sha256sum "$installed" | cut -d' ' -f1) expected $(manifest_get "$base" images 0 sha256)"
expect_eq "guestos verify, changed image: the message names the image" \
    "cmlsh: $changed" "$(cat "$SCRATCH/err")"
expect_eq "guestos verify, changed image: audited" "$((n0 + 1))" "$(audit_count)"
expect_eq "guestos verify, changed image: the audit record" \
    "type=call uid=0 pid=$pid container= object=org.cml.GuestOS.Verify result=org.cml.Error.IntegrityViolation details=$changed" \
    "$(audit_tail 1)"
json=$(cmlsh_run --json guestos verify busybox 1.0 2>/dev/null)
expect_eq "guestos verify --json, changed image: IntegrityViolation" \
    "org.cml.Error.IntegrityViolation" "$(printf '%s' "$json" | json_get error 2>&1)"
flip_byte "$installed"
n0=$(audit_count)
run_cmlsh guestos verify busybox
expect_status "guestos verify with the byte changed back" 0 $rc
expect_eq "guestos verify that passes: not audited (a read)" "$n0" "$(audit_count)"

truncate -s -1 "$installed"
run_cmlsh guestos verify busybox
expect_status "guestos verify after $img was truncated" 1 $rc
expect_eq "guestos verify, truncated image: the message names the image and its size" \
    "cmlsh: guest OS busybox 1.0 failed verification: image '$img' of busybox 1.0 was changed after install: it has $(($(manifest_get "$base" images 0 size) - 1)) bytes, expected $(manifest_get "$base" images 0 size)" \
    "$(cat "$SCRATCH/err")"

run_cmlsh guestos verify nosuch
expect_status "guestos verify of a guest OS that is not installed" 1 $rc
expect_eq "guestos verify nosuch: the message" \
    "cmlsh: no guest OS 'nosuch' is installed: 'guestos list' shows them" "$(cat "$SCRATCH/err")"

# --- an operator may look but not install ------------------------------------
out=$(as_user cml "$USER_CMLSH" --socket "$SOCK" guestos list 2>&1)
expect_status "operator: guestos list" 0 $?
expect_match "operator: guestos list shows busybox" $'\nbusybox ' "$out"
before=$(installed_snapshot)
n0=$(audit_count)
cp -a "$base" "$SCRATCH/busybox-1.1"
manifest_edit "$SCRATCH/busybox-1.1" 'm["version"] = "1.1"'
manifest_sign "$SCRATCH/busybox-1.1"
chmod -R a+rX "$SCRATCH/busybox-1.1"
out=$(as_user cml "$USER_CMLSH" --socket "$SOCK" --json guestos install "$SCRATCH/busybox-1.1" 2>/dev/null)
expect_status "operator: guestos install" 1 $?
expect_eq "operator: guestos install refused with PermissionDenied" \
    "org.cml.Error.PermissionDenied" "$(printf '%s' "$out" | json_get error 2>&1)"
expect_eq "operator: nothing installed" "$before" "$(installed_snapshot)"
expect_eq "operator: the refusal audited" "$((n0 + 1))" "$(audit_count)"
expect_match "operator: the audit record" \
    "^type=call uid=65534 pid=[0-9]+ container= object=org\\.cml\\.GuestOS\\.Install result=org\\.cml\\.Error\\.PermissionDenied details=permission denied: 'guestos install' needs the admin role \\(root or group cml-admin\\)\$" \
    "$(audit_tail 1)"

# --- remove ----------------------------------------------------------------
before=$(installed_snapshot)
run_cmlsh guestos remove busybox
expect_status "guestos remove without --yes and without a terminal" 2 $rc
expect_eq "guestos remove without --yes: the message" \
    "cmlsh: 'guestos remove' asks for confirmation, and there is no terminal to ask on: add --yes to run it anyway" \
    "$(cat "$SCRATCH/err")"
expect_eq "guestos remove without --yes: nothing removed" "$before" "$(installed_snapshot)"

n0=$(audit_count)
run_cmlsh --yes guestos remove busybox
expect_status "guestos remove --yes busybox" 0 $rc
expect_eq "guestos remove busybox: the reply" \
"name:    busybox
removed: 1.0" "$(cat "$SCRATCH/out")"
expect_eq "guestos remove busybox: nothing on stderr" "" "$(cat "$SCRATCH/err")"
expect_eq "guestos remove busybox: its version directory is gone" "no" \
    "$([ -e "$state/guestos/busybox/1.0" ] && echo yes || echo no)"
expect_eq "guestos remove busybox: nothing of it is left" "" \
    "$(find "$state/guestos" -path "$state/guestos/busybox/*" 2>/dev/null)"
expect_eq "guestos remove busybox: its row is gone" "0" \
    "$(sqlite3 "$db" "select count(*) from guestos where name = 'busybox'")"
expect_eq "guestos remove busybox: audited" "$((n0 + 1))" "$(audit_count)"
expect_match "guestos remove busybox: the audit record" \
    "^type=call uid=0 pid=$pid container= object=org\\.cml\\.GuestOS\\.Remove result=ok details=removed busybox \\[\"1\\.0\"\\]\$" \
    "$(audit_tail 1)"
expect_lines "guestos list after removing busybox" "$(cmlsh_run guestos list 2>&1)" \
    "$HEADER" "^big  +3  +"

run_cmlsh -y guestos remove big 3
expect_status "guestos remove -y big 3" 0 $rc
expect_eq "guestos remove big 3: the reply" \
"name:    big
removed: 3" "$(cat "$SCRATCH/out")"
expect_lines "guestos list after removing everything" "$(cmlsh_run guestos list 2>&1)" "$HEADER"
# (an empty directory per name may stay)
expect_eq "the installed tree holds no file and no version" "" \
    "$(find "$state/guestos" -mindepth 2 2>/dev/null; find "$state/guestos" -type f 2>/dev/null)"
expect_eq "the database holds no guest OS" "0" "$(sqlite3 "$db" 'select count(*) from guestos')"

n0=$(audit_count)
run_cmlsh --yes guestos remove busybox
expect_status "guestos remove of a guest OS that is not installed" 1 $rc
expect_eq "guestos remove busybox again: the message" \
    "cmlsh: no guest OS 'busybox' is installed: 'guestos list' shows them" "$(cat "$SCRATCH/err")"
expect_match "guestos remove busybox again: audited as NotFound" \
    "^type=call uid=0 pid=$pid container= object=org\\.cml\\.GuestOS\\.Remove result=org\\.cml\\.Error\\.NotFound details=" \
    "$(audit_tail 1)"

# and it installs again after removal
run_cmlsh guestos install "$base"
expect_status "busybox 1.0 installs again after removal" 0 $rc

finish
