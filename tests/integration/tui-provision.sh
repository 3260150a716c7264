#!/bin/bash
# The factory provisioning as cmltui's screens, driven through tmux at
# 80x24 on a fresh stack (swtpm, the software token): a device with no
# container opens on the provisioning screen (the dashboard's line says
# so too); the seven steps are run from it, each checked on the screen
# and in its effect: the checks shown; the request written by cmltui
# where the operator said, carrying the device UUID, for the TPM key; a
# certificate for another key refused in a dialog with cmld's words, the
# step failed and nothing installed, the paths typed kept; the right
# certificate installed; the supplier's anchor (which the guest OS is
# signed under) and an owner's, each shown with its fingerprint and
# installed only once confirmed, stored with their kinds; c0's guest OS
# picked, the token made with the PIN typed twice and a PUK scd made,
# shown once in a dialog that Enter and Esc do not close, both of them
# working afterwards and neither on any later screen or in any file of
# the stack; a setting refused as cmld would refuse it, then set; the
# review, a wrong word typed (not locked), then the lock; a step refused
# once provisioned; the signed report saved where the operator said,
# verified with the device maker's root alone; the end state through
# cmlsh (every step done, the device provisioned); then the wipe, a wrong
# UUID refused, the right one typed: back to factory.
# Proves: CR 1.2 (the device identified by a certificate for its TPM key
# naming its UUID, requested and installed from the console), IAM 01
# (the connector identifier: the certificate of the TPM-held key),
# NDR 3.12, NDR 3.13 (supplier and owner roots of trust provisioned, each
# confirmed by its fingerprint), CR 1.5 (the token's PIN and PUK set up
# without echo, the PUK shown once and stored nowhere in clear), CR 4.2
# (the wipe from the console, back to factory)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tui-lib.sh"

need_root
need_binaries
need_guestos_tools
need_prog tmux openssl sqlite3
stack_start
trap ct_exit EXIT
ct_track c0

PIN=prov-pin-$$
NEWPIN=prov-new-$$
uuid=$(cmlsh_run --json -c 'device status' | json_get uuid)
[ -n "$uuid" ] || fail "device status gave no uuid"
DB=$(state_dir)/cml.db

# Three PKIs, as a factory has them: the supplier's (it signs the guest
# OS), the device maker's (its device CA certifies device keys) and the
# owner's.
pki_make "$SCRATCH/pki" --org supplier
pki_make "$SCRATCH/devpki" --org maker
pki_make "$SCRATCH/owner" --org owner
guestos_make "$SCRATCH/busybox-1.0" busybox 1.0

# Every screen a check saw is kept, to look for the secrets at the end.
SEEN=$SCRATCH/screens
: >"$SEEN"
# Prints what the screen says as one line, runs of blanks as one blank:
# with a dialog open, only the dialog (its title and what is inside its
# box, so that a message wrapped in it reads as it was said), otherwise
# the whole screen.
flat() {
	tui_screen | python3 -c 'import sys
lines = sys.stdin.buffer.read().decode("utf-8", "replace").splitlines()
out, box = [], None
for line in lines:
    if box is None and "┌" in line and "┐" in line:
        box = (line.index("┌"), line.rindex("┐"))
    if box is not None:
        out.append(line[box[0] + 1:box[1]].strip("─ "))
        if len(line) > box[0] and line[box[0]] == "└":
            break
if box is None:
    out = lines
print(" ".join(" ".join(out).split()))'
}
# see DESCRIPTION ERE: the flattened screen matches within 20 s (kept)
see() {
	local i
	CHECKS=$((CHECKS + 1))
	for ((i = 0; i < 200; i++)); do
		if flat | grep -E -q -- "$2"; then
			_check_passed "$1"
			tui_screen >>"$SEEN"
			return 0
		fi
		sleep 0.1
	done
	_check_failed "$1" "the screen never read /$2/"
	_tui_show
	return 1
}
# answer TEXT: clears the field of a dialog, types TEXT and Enter
answer() {
	tui_keys C-u
	tui_type "$1"
	tui_keys Enter
}
# step NAME: the state of step NAME in the store ("pending": no row)
step() {
	local s
	s=$(sqlite3 "$DB" "SELECT state FROM provision_step WHERE name = '$1'")
	echo "${s:-pending}"
}
# status: "STATE NAME=STATE..." as cmlsh provision status --json says
status() {
	cmlsh_run --json -c 'provision status' | python3 -c 'import json, sys
s = json.load(sys.stdin)
print(s["state"], " ".join("%s=%s" % (x["name"], x["state"]) for x in s["steps"]))'
}

# --- a device with nothing on it opens on the provisioning screen ----------------
tui_start 80 24
see "the provisioning screen comes first" 'cmltui cml > Provisioning'
see "the device is in factory, its uuid shown" "State factory Device $uuid"
see "the next step is the first" 'Next step 1 of 7, check:'
see "the next step is marked and selected" '> ?\* 1 check pending'
see "the report and the wipe are offered below" '- report .* - wipe '
tui_keys Escape
see "Esc: the dashboard, whose line says what is next" \
    'Provision step 1 of 7 \(check\) is next p: the provisioning screen'
tui_keys p
see "p: the provisioning screen again" 'STEP STATE WHEN \(UTC\) WHAT'

# --- 1: the checks ----------------------------------------------------------------
tui_keys Enter
see "step 1: each check shown" 'Step 1: check the platform .*\[ ok \] tpm '
see "step 1: the clock checked" '\[ ok \] clock '
see "step 1: every check passed" 'All [0-9]+ checks passed: step 1 is done\.'
tui_keys Enter
see "step 1 done on the screen, with its time" '1 check done [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}'
expect_eq "step 1 done in the store" done "$(step check)"
see "the next one is selected" '> ?\* 2 identity pending'

# --- 2: the request, written by cmltui ---------------------------------------------
tui_keys Enter
see "step 2: the path asked, /var/tmp/UUID.csr offered" "Write the certificate request \(PEM\) to: /var/tmp/$uuid\.csr"
answer "$SCRATCH/dev.csr"
see "step 2: where it was written" "The certificate request is in $SCRATCH/dev\.csr\."
see "step 2: its subject names the device" "Subject: .*CN ?= ?$uuid"
tui_keys Enter
expect_eq "step 2 done in the store" done "$(step identity)"
expect_match "the file is a request, its signature good" 'verify OK' \
    "$(openssl req -in "$SCRATCH/dev.csr" -noout -verify 2>&1)"
expect_match "the request carries the device uuid" "CN ?= ?$uuid" \
    "$(openssl req -in "$SCRATCH/dev.csr" -noout -subject)"

# The device maker's CA signs it; a certificate for another key is made
# too, with the same subject.
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' \
    >"$SCRATCH/dev.ext"
sign() {
	openssl x509 -req -in "$1" -CA "$SCRATCH/devpki/devca.crt" \
	    -CAkey "$SCRATCH/devpki/devca.key" -set_serial "0x$(openssl rand -hex 8)" \
	    -days 30 -sha384 -extfile "$SCRATCH/dev.ext" -out "$2" >/dev/null 2>&1 ||
	    fail "openssl x509 -req $1 failed"
	cat "$SCRATCH/devpki/devca.crt" >>"$2"
}
sign "$SCRATCH/dev.csr" "$SCRATCH/dev.crt"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$SCRATCH/other.key" -subj "/CN=$uuid/O=cml device" \
    -out "$SCRATCH/other.csr" >/dev/null 2>&1 || fail "openssl req (other key) failed"
sign "$SCRATCH/other.csr" "$SCRATCH/other.crt"

# --- 3: a certificate for another key refused, then the right one -----------------
see "step 3 selected" '> ?\* 3 certificate pending'
tui_keys Enter
see "step 3: the certificate asked, next to the request" "issued \(PEM or DER\): $SCRATCH/dev\.crt"
answer "$SCRATCH/other.crt"
see "step 3: the device CA's root asked" "The device CA's root certificate:"
answer "$SCRATCH/devpki/root.crt"
see "the refusal in a dialog, in cmld's words" 'Step 3: the device certificate .*(key|TPM)'
see "nothing typed is lost, it says" 'Nothing typed is lost'
screen_refused=$(flat)
tui_keys Enter
see "step 3 failed on the screen" '3 certificate failed'
expect_eq "step 3 failed in the store" failed "$(step certificate)"
expect_eq "no device certificate stored" 0 \
    "$(sqlite3 "$DB" 'SELECT count(*) FROM device_cert')"
expect_eq "no device CA stored either" 0 \
    "$(sqlite3 "$DB" "SELECT count(*) FROM trust_anchor WHERE kind = 'device'")"
tui_keys Enter
see "step 3 again: the path typed before is offered" "issued \(PEM or DER\): $SCRATCH/other\.crt"
answer "$SCRATCH/dev.crt"
see "and the CA's path typed before" "root certificate: $SCRATCH/devpki/root\.crt"
tui_keys Enter
see "step 3: installed" 'Installed: the certificate certifies this device.s TPM key\.'
see "step 3: its subject" "Subject: .*$uuid"
tui_keys Enter
expect_eq "step 3 done in the store" done "$(step certificate)"
expect_eq "the device certificate stored is the one issued" \
    "$(openssl x509 -in "$SCRATCH/dev.crt" -outform DER | sha256sum | cut -d' ' -f1)" \
    "$(sqlite3 "$DB" 'SELECT hex(der) FROM device_cert' | xxd -r -p | sha256sum | cut -d' ' -f1)"
expect_eq "the device CA kept as a device anchor" 1 \
    "$(sqlite3 "$DB" "SELECT count(*) FROM trust_anchor WHERE kind = 'device'")"

# --- 4: the supplier's anchor, then an owner's --------------------------------------
# fp FILE: the SHA-256 fingerprint as the screen shows it (groups of 4)
fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
	    tr 'A-F' 'a-f' | sed -E 's/(....)/\1 /g; s/ $//'
}
see "step 4 selected" '> ?\* 4 anchors pending'
tui_keys Enter
see "step 4: the kind asked" 'The kind of the trust anchor .*supplier: signs software'
tui_keys Enter
see "step 4: the certificate asked" "The anchor.s CA certificate"
answer "$SCRATCH/pki/root.crt"
see "the supplier's anchor shown with its subject" 'Confirm the trust anchor .*Subject: .*supplier'
fpr=$(fp "$SCRATCH/pki/root.crt")
CHECKS=$((CHECKS + 1))
if flat | grep -q -i -F -- "SHA-256: $fpr"; then
	_check_passed "and its fingerprint, in groups of four"
else
	_check_failed "and its fingerprint, in groups of four" "no '$fpr' on the screen"
	_tui_show
fi
expect_eq "shown: nothing stored yet" 0 \
    "$(sqlite3 "$DB" "SELECT count(*) FROM trust_anchor WHERE kind = 'supplier'")"
tui_keys y
see "installed; another offered" 'Installed the supplier anchor .* Add another trust anchor'
tui_keys y
see "the kind asked again" 'The kind of the trust anchor'
tui_keys Down Enter
see "the path typed before is offered" "The anchor.s CA certificate \(PEM or DER\): $SCRATCH/pki/root\.crt"
answer "$SCRATCH/owner/root.crt"
see "the owner's anchor shown" 'Confirm the trust anchor .*Kind: owner'
tui_keys y
see "installed, another offered" 'Installed the owner anchor'
tui_keys n
see "step 4 done" '4 anchors done'
expect_eq "the anchors stored with their kinds" "device
owner
supplier" "$(sqlite3 "$DB" 'SELECT kind FROM trust_anchor ORDER BY kind')"
expect_eq "the supplier's is the one shown" "$fpr" \
    "$(sqlite3 "$DB" "SELECT lower(fingerprint) FROM trust_anchor WHERE kind = 'supplier'" |
        sed -E 's/(....)/\1 /g; s/ $//')"

# The guest OS of c0, signed under the supplier's anchor, installs now.
_run_tool "guestos install" "$CMLSH" --socket "$SOCK" guestos install "$SCRATCH/busybox-1.0"

# --- 5: c0's token --------------------------------------------------------------------
see "step 5 selected" '> ?\* 5 token pending'
tui_keys Enter
see "c0's guest OS offered from those installed" 'The guest OS of c0, the management container .*busybox 1\.0'
tui_keys Enter
see "the token's type asked" 'The type of c0.s token .*softtoken'
tui_keys Enter
see "the PUK: typed or made" 'The PUK of c0.s token .*have scd make the PUK'
tui_keys Down Enter
see "the new PIN asked" 'New PIN:'
tui_type "$PIN"
tui_keys Enter
see "asked again" 'Repeat new PIN:'
tui_type "$PIN"
tui_keys Enter
see "the PUK scd made shown once" 'shown once .*PUK: [0-9]{12}'
PUK=$(flat | sed -nE 's/.*PUK: ([0-9]{12}).*/\1/p')
tui_keys Enter
sleep 0.5
tui_keys Escape
sleep 1.5
see "Enter and Esc do not close it" "PUK: $PUK"
tui_keys W
see "W closes it: the token made" 'c0.s token is made: softtoken, ready'
tui_expect_not "the PUK is gone from the screen" "$PUK"
# the screens from here on are those that must not show it
puk_closed=$(wc -l <"$SEEN")
tui_keys Enter
expect_eq "step 5 done in the store" done "$(step token)"
expect_eq "the device setting c0_guestos set" busybox \
    "$(cmlsh_run --json -c 'device config get c0_guestos' | json_get settings 0 value)"
printf '%s\n' "$PIN" | cmlsh_run -c 'token verify c0 --pin-stdin' >/dev/null 2>"$SCRATCH/err"
expect_status "the PIN typed opens c0's token" 0 $?
printf '%s\n%s\n' "$PUK" "$NEWPIN" | cmlsh_run -c 'token unblock c0 --pin-stdin' \
    >/dev/null 2>"$SCRATCH/err"
expect_status "the PUK shown is the token's" 0 $?

# --- 6: the settings ------------------------------------------------------------------
see "step 6 selected" '> ?\* 6 settings pending'
tui_keys Enter
see "the form shows the settings with their values" 'audit_capacity +67108864'
tui_keys Down Down Enter
see "a value asked, the current one offered" 'The value of audit_warn_percent: 75'
answer 150
see "out of range: refused as cmld refuses it" 'audit_warn_percent.*1.*99'
tui_keys Enter
answer 70
see "changed, marked" '\* audit_warn_percent +70'
tui_keys F5
see "set, and applied" 'Set, and applied: .*audit_warn_percent'
tui_keys Enter
see "back on the screen: step 6 done" '6 settings done'
expect_eq "the setting is set" 70 \
    "$(cmlsh_run --json -c 'device config get audit_warn_percent' | json_get settings 0 value)"

# --- 7: the review and the lock --------------------------------------------------------
see "step 7 selected" '> ?\* 7 lock pending'
tui_keys Enter
see "the review" 'Review before the lock'
see "the review shows the settings" 'audit_warn_percent=70'
see "the review says what the lock means" 'Only device wipe returns it to factory'
tui_keys Enter
see "the word asked" 'Type lock to make this device provisioned'
answer lok
see "a wrong word: not locked" "'lok' is not 'lock': the device was not locked"
tui_keys Enter
expect_match "still factory" '^factory ' "$(status)"
tui_keys Enter
answer lock
see "locked" 'Locked: the device is provisioned\.'
tui_keys Enter
see "the screen: provisioned" 'State provisioned'
see "no next step" 'Next none: the device is provisioned'

# A step run once provisioned: cmld's refusal in a dialog.
tui_keys 1 Enter
see "a step refused once provisioned, in cmld's words" 'Step 1: check the platform .*provisioned'
tui_keys Enter

# --- the report -------------------------------------------------------------------------
tui_keys End Up
see "the report selected" '> +- report'
tui_keys Enter
see "the report's path asked" "Save the signed report \(JSON\) to: /var/tmp/$uuid-report\.json"
answer "$SCRATCH/report.json"
see "saved" "The report, signed by the TPM.s device key, is in $SCRATCH/report\.json"
tui_keys Enter
out=$("$CML_BUILDDIR/provisioning/cml-attest" --ca "$SCRATCH/devpki/root.crt" \
    --report "$SCRATCH/report.json" 2>&1)
expect_status "cml-attest verifies the report cmltui saved, with the root alone" 0 $?
for re in "^device: $uuid " '^state: provisioned$' '^step 1 check +done ' \
    '^step 3 certificate +done ' '^step 7 lock +done '; do
	expect_eq "the report verified says /$re/" 1 "$(grep -c -E -- "$re" <<<"$out")"
done

# --- the end state, through cmlsh ---------------------------------------------------------
expect_eq "provision status: every step done" \
    "provisioned check=done identity=done certificate=done anchors=done token=done settings=done lock=done" \
    "$(status)"
expect_eq "device status: provisioned" provisioned \
    "$(cmlsh_run --json -c 'device status' | json_get provisioning)"

# --- the secrets: on no screen after they were typed, in no file ----------------------------
expect_eq "the PIN on no screen" "" "$(grep -F -- "$PIN" "$SEEN")"
expect_eq "the PUK on no screen after its own dialog" "" \
    "$(tail -n +"$((puk_closed + 1))" "$SEEN" | grep -F -- "$PUK")"
for s in "$PIN" "$PUK" "$NEWPIN"; do
	expect_eq "the secret $s in no file of the stack" "" \
	    "$(grep -rlaF -- "$s" "$STACK_DIR" 2>/dev/null)"
done

# --- the wipe -------------------------------------------------------------------------------
tui_keys End
see "the wipe selected" '> +- wipe'
tui_keys Enter
see "what it destroys is said first" 'Wipe the device .*Guest OS images stay'
tui_keys y
see "the UUID asked" "To wipe it, type its UUID $uuid:"
answer "00000000-0000-0000-0000-000000000000"
see "a wrong UUID: nothing done" "is not this device.s UUID: nothing was done"
tui_keys Enter
expect_match "still provisioned" '^provisioned ' "$(status)"
tui_keys Enter
tui_keys y
see "the UUID asked again" "To wipe it, type its UUID"
answer "$uuid"
see "what was wiped, each checked" 'The device is factory\. Every check of what was wiped passed\.' 
see "the token among them" 'gone +.*token'
tui_keys Escape
see "the screen: factory again" 'State factory'
see "every step pending, the first next" '> ?\* 1 check pending'
expect_eq "provision status: factory, every step pending" \
    "factory check=pending identity=pending certificate=pending anchors=pending token=pending settings=pending lock=pending" \
    "$(status)"
tui_end
expect_eq "cmltui ended well" 0 "$trc"

finish
