#!/bin/bash
# The trust anchors: `ca add` registers a root certificate (listed with its
# fingerprint, subject, key and validity, kind owner), refuses it a second
# time, refuses a certificate that is no CA (the signer), an expired CA and
# an RSA-2048 CA, and anything from an operator; `ca remove` takes a
# fingerprint prefix of 8 or more hex digits, after which guest OSes signed
# under that root are refused as untrusted (install and verify).  Every
# change and every refusal is audited.
# Proves: OS 03 (the owner registers trust anchors),
# NDR 3.13 (only CA certificates; admin only),
# CR 1.8 (signatures must chain to a registered anchor),
# COM 03 (an RSA-2048 anchor refused), CR 4.3,
# CR 2.1 (an operator may list but not add or remove),
# APS 01 (a guest OS not signed under a registered CA is refused),
# NDR 2.4(1) (install and verify refused once the root is removed),
# APS 02 (guestos verify checks the signature again),
# CR 7.1 (a FIFO passed as a certificate is not read),
# CR 2.8 (every change and refusal audited), CR 2.12 (with uid and pid),
# CR 2.12(1) (an operator's refusal too).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_guestos_tools
need_prog setpriv getent groupadd
ensure_groups
stack_start
user_programs

pki=$SCRATCH/pki
pki_make "$pki"
pki_leaf "$pki" oldca --ca --expired
pki_leaf "$pki" weakca --ca --rsa 2048
base=$SCRATCH/busybox-1.0
guestos_make "$base" busybox 1.0

# fingerprint CERT: SHA-256 of the DER, lower-case hex
fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}
# subject CERT: as cml shows it (RFC 2253)
subject() {
	openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}
# not_after CERT: end of validity, RFC 3339 UTC
not_after() {
	date -u -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')" '+%Y-%m-%dT%H:%M:%SZ'
}
# run_cmlsh ARGS...: cmlsh as root in the background, to learn its pid;
# sets $pid and $rc, output in $SCRATCH/out and $SCRATCH/err
run_cmlsh() {
	"$CMLSH" --socket "$SOCK" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	wait $pid
	rc=$?
}

root_fp=$(fingerprint "$pki/root.crt")
root_subject=$(subject "$pki/root.crt")
root_not_after=$(not_after "$pki/root.crt")
HEADER='^FINGERPRINT  +SUBJECT  +KEY  +NOT AFTER  +KIND$'

# --- empty at first; an install has nothing to chain to --------------------
out=$(cmlsh_run ca list 2>"$SCRATCH/err")
expect_status "ca list, no anchors" 0 $?
expect_lines "ca list, no anchors: the header only" "$out" "$HEADER"
untrusted_reason="manifest signature: signer certificate '$(subject "$pki/signer.crt")' does not chain to a trusted root: unable to get local issuer certificate"
expect_install_refused "install with no anchor registered" "$base" \
    org.cml.Error.InvalidSignature "$untrusted_reason"

# --- ca add ------------------------------------------------------------------
n0=$(audit_count)
run_cmlsh ca add "$pki/root.crt"
expect_status "ca add root.crt" 0 $rc
expect_eq "ca add root.crt: the reply" \
"fingerprint: $root_fp
subject:     $root_subject
key:         EC P-384
not after:   $root_not_after
kind:        owner" "$(cat "$SCRATCH/out")"
expect_eq "ca add root.crt: nothing on stderr" "" "$(cat "$SCRATCH/err")"
expect_eq "ca add root.crt: one audit record" "$((n0 + 1))" "$(audit_count)"
expect_eq "ca add root.crt: audited with the fingerprint" \
    "type=call uid=0 pid=$pid container= object=org.cml.Trust.Add result=ok details=added owner anchor $root_fp ($root_subject) from $pki/root.crt" \
    "$(audit_tail 1)"

table="$(cmlsh_run ca list 2>&1)"
expect_lines "ca list: the root" "$table" "$HEADER" \
    "^${root_fp:0:16}"$'\u2026'"  $(re_quote "$root_subject")  +EC P-384  +$root_not_after  +owner\$"
expect_eq "ca list --json" "$root_fp|$root_subject|EC P-384|$root_not_after|owner" \
    "$(cmlsh_run --json ca list | python3 -c 'import json, sys
a = json.load(sys.stdin)["anchors"][0]
print("|".join([a["fingerprint"], a["subject"], a["key"], a["not_after"], a["kind"]]))')"
out=$(as_user cml "$USER_CMLSH" --socket "$SOCK" ca list 2>&1)
expect_status "operator: ca list" 0 $?
expect_eq "operator: ca list shows the same" "$table" "$out"

# ca add refusals: exit 1, the message, nothing changed, audited
# add_refused DESCRIPTION CERT ERROR MESSAGE-REGEX
add_refused() {
	local desc=$1 cert=$2 error=$3 re=$4 before n0
	before=$(cmlsh_run ca list 2>&1)
	n0=$(audit_count)
	run_cmlsh ca add "$cert"
	expect_status "$desc" 1 $rc
	expect_eq "$desc: nothing on stdout" "" "$(cat "$SCRATCH/out")"
	expect_match "$desc: the message" "^cmlsh: ${re}\$" "$(cat "$SCRATCH/err")"
	expect_eq "$desc: anchors unchanged" "$before" "$(cmlsh_run ca list 2>&1)"
	expect_eq "$desc: one audit record" "$((n0 + 1))" "$(audit_count)"
	expect_match "$desc: audited" \
	    "^type=call uid=0 pid=$pid container= object=org\\.cml\\.Trust\\.Add result=$(re_quote "$error") details=${re}\$" \
	    "$(audit_tail 1)"
}
cannot="cannot add"
add_refused "ca add root.crt again" "$pki/root.crt" org.cml.Error.InvalidArgument \
    "$(re_quote "'$root_subject' ($root_fp) is already a trust anchor")"
add_refused "ca add signer.crt (no CA)" "$pki/signer.crt" org.cml.Error.InvalidArgument \
    "$(re_quote "$cannot $pki/signer.crt as a trust anchor: certificate '$(subject "$pki/signer.crt")' is not a CA certificate: a trust anchor needs basicConstraints CA:TRUE")"
add_refused "ca add an expired CA" "$pki/oldca.crt" org.cml.Error.InvalidArgument \
    "$(re_quote "$cannot $pki/oldca.crt as a trust anchor: certificate '$(subject "$pki/oldca.crt")' expired on 2025-01-01 00:00 UTC")"
add_refused "ca add an RSA-2048 CA" "$pki/weakca.crt" org.cml.Error.InvalidArgument \
    "$(re_quote "$cannot $pki/weakca.crt as a trust anchor: RSA key of 2048 bits in '$(subject "$pki/weakca.crt")' is too weak (BSI TR-02102-1: at least 3072)")"
# (the end is OpenSSL's own words)
add_refused "ca add a file that is no certificate" "$pki/root.key" org.cml.Error.InvalidArgument \
    "$(re_quote "$cannot $pki/root.key as a trust anchor: $pki/root.key holds no PEM certificate: ").+"
# a file the caller cannot open never reaches cmld: cmlsh opens it itself
n0=$(audit_count)
run_cmlsh ca add "$SCRATCH/nosuch.crt"
expect_status "ca add a file that does not exist" 1 $rc
expect_eq "ca add a file that does not exist: cmlsh says so" \
    "cmlsh: cannot open $SCRATCH/nosuch.crt: No such file or directory" "$(cat "$SCRATCH/err")"
expect_eq "ca add a file that does not exist: cmld was not called" "$n0" "$(audit_count)"
# what cmld is passed, it checks: a FIFO (passed unopened) is no file to read
mkfifo "$SCRATCH/fifo.crt"
add_refused "ca add a FIFO" "$SCRATCH/fifo.crt" org.cml.Error.InvalidArgument \
    "$(re_quote "$cannot $SCRATCH/fifo.crt as a trust anchor: $SCRATCH/fifo.crt is not a regular file")"

# a relative path is the caller's, not cmld's
(cd "$pki" && "$CMLSH" --socket "$SOCK" ca add root.crt >"$SCRATCH/out" 2>"$SCRATCH/err")
expect_status "ca add of a relative path (already registered)" 1 $?
expect_match "ca add root.crt relative: found and refused as a duplicate" \
    "^cmlsh: .*already a trust anchor.*\$" "$(cat "$SCRATCH/err")"

# an operator cannot add
n0=$(audit_count)
out=$(as_user cml "$USER_CMLSH" --socket "$SOCK" --json ca add "$pki/devca.crt" 2>/dev/null)
expect_status "operator: ca add" 1 $?
expect_eq "operator: ca add refused with PermissionDenied" "org.cml.Error.PermissionDenied" \
    "$(printf '%s' "$out" | json_get error 2>&1)"
expect_eq "operator: nothing added" "$table" "$(cmlsh_run ca list 2>&1)"
expect_eq "operator: the refusal audited" "$((n0 + 1))" "$(audit_count)"
expect_match "operator: the audit record" \
    "^type=call uid=65534 pid=[0-9]+ container= object=org\\.cml\\.Trust\\.Add result=org\\.cml\\.Error\\.PermissionDenied details=permission denied: 'ca add' needs the admin role \\(root or group cml-admin\\)\$" \
    "$(audit_tail 1)"
out=$(as_user cml "$USER_CMLSH" --socket "$SOCK" --yes --json ca remove "$root_fp" 2>/dev/null)
expect_status "operator: ca remove" 1 $?
expect_eq "operator: ca remove refused with PermissionDenied" "org.cml.Error.PermissionDenied" \
    "$(printf '%s' "$out" | json_get error 2>&1)"
expect_eq "operator: nothing removed" "$table" "$(cmlsh_run ca list 2>&1)"

# --- with the root registered, the guest OS installs and verifies --------------
expect_install_ok "install with the root registered" "$base"
cmlsh_run guestos verify busybox >/dev/null 2>&1
expect_status "verify with the root registered" 0 $?

# --- ca remove -----------------------------------------------------------------
run_cmlsh --yes ca remove "${root_fp:0:7}"
expect_status "ca remove with 7 hex digits" 1 $rc
expect_eq "ca remove with 7 hex digits: the message" \
    "cmlsh: '${root_fp:0:7}' is no fingerprint: give at least 8 of its hex digits ('ca list' shows them)" \
    "$(cat "$SCRATCH/err")"
run_cmlsh --yes ca remove 00000000
expect_status "ca remove of an unknown fingerprint" 1 $rc
expect_eq "ca remove 00000000: the message" \
    "cmlsh: no trust anchor has a fingerprint starting with 00000000" "$(cat "$SCRATCH/err")"
expect_eq "refused removals changed nothing" "$table" "$(cmlsh_run ca list 2>&1)"
run_cmlsh ca remove "${root_fp:0:8}"
expect_status "ca remove without --yes and without a terminal" 2 $rc
expect_eq "refused removals changed nothing" "$table" "$(cmlsh_run ca list 2>&1)"

n0=$(audit_count)
run_cmlsh --yes ca remove "${root_fp:0:8}"
expect_status "ca remove by an 8-digit prefix" 0 $rc
expect_eq "ca remove: the reply" \
"fingerprint: $root_fp
subject:     $root_subject" "$(cat "$SCRATCH/out")"
expect_eq "ca remove: one audit record" "$((n0 + 1))" "$(audit_count)"
expect_eq "ca remove: audited with the fingerprint" \
    "type=call uid=0 pid=$pid container= object=org.cml.Trust.Remove result=ok details=removed anchor $root_fp ($root_subject)" \
    "$(audit_tail 1)"
expect_lines "ca list after the removal: the header only" "$(cmlsh_run ca list 2>&1)" "$HEADER"

# now nothing signed under that root is accepted
cp -a "$base" "$SCRATCH/busybox-1.1"
manifest_edit "$SCRATCH/busybox-1.1" 'm["version"] = "1.1"'
manifest_sign "$SCRATCH/busybox-1.1"
expect_install_refused "install after the root was removed" "$SCRATCH/busybox-1.1" \
    org.cml.Error.InvalidSignature "$untrusted_reason"
run_cmlsh guestos verify busybox
expect_status "verify after the root was removed" 1 $rc
expect_eq "verify after the root was removed: the message" \
    "cmlsh: guest OS busybox 1.0 failed verification: $untrusted_reason" "$(cat "$SCRATCH/err")"
expect_eq "verify after the root was removed: audited" \
    "type=call uid=0 pid=$pid container= object=org.cml.GuestOS.Verify result=org.cml.Error.InvalidSignature details=guest OS busybox 1.0 failed verification: $untrusted_reason" \
    "$(audit_tail 1)"

# the full fingerprint works too, after adding it again
cmlsh_run ca add "$pki/root.crt" >/dev/null
expect_status "ca add root.crt after its removal" 0 $?
run_cmlsh --yes ca remove "$root_fp"
expect_status "ca remove by the full fingerprint" 0 $rc
expect_lines "ca list: empty again" "$(cmlsh_run ca list 2>&1)" "$HEADER"

finish
