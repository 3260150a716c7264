#!/bin/bash
# update info and update install take a guest OS as a signed bundle
# (cml-bundle(5)), passed as a descriptor: info shows what it holds, who
# signed it under which kind of anchor and whether it would install, and
# changes nothing; install copies every image while hashing it and moves
# the guest OS into place, records the install (history, version floor)
# and audits it.  Refused, each with its reason, audited, nothing
# installed and no staging directory left: a changed payload byte, a
# changed manifest byte, an unsigned bundle, a cml bundle signed only under
# an owner anchor (it needs a supplier's), a guest OS bundle without the
# signature of a signer the device requires (update_signers_guestos, 2 of
# 2: info lists the one present and the one missing; a second signature
# added with cml-bundle sign makes it install), a version below the floor
# (also when the guest OS of that version was removed), and the same
# version again.
# Proves: TSF.UPD, NDR 3.10 (authentic, integrity-protected updates),
# NDR 3.10(1) (no rollback below the floor; m of n signers), NDR 3.12,
# NDR 3.13 (supplier and owner anchors by kind), COM 06, CR 3.4, CR 2.8.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_guestos_tools
need_bundle_tool
stack_start

sup=$SCRATCH/sup
own=$SCRATCH/own
pki_make "$sup"
pki_leaf "$sup" second
pki_make "$own"
anchor_supplier "$sup"
cmlsh_run ca add "$own/root.crt" >/dev/null || fail "ca add (owner) failed"
db=$(state_dir)/cml.db

run() {
	cmlsh_run "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
}
history_of() {
	sqlite3 "$db" ".timeout 5000" "select kind, name, version, result from update_history order by id desc limit 1"
}
floor_of() {
	sqlite3 "$db" ".timeout 5000" "select version from update_floor where kind = '$1' and name = '$2'"
}

# expect_update_refused DESC BUNDLE ERROR REASON-REGEX [MORE-RECORDS]
expect_update_refused() {
	local desc=$1 b=$2 error=$3 reason=$4 more=${5:-0} before n0
	before=$(installed_snapshot)
	n0=$(audit_count)
	run update install "$b"
	expect_status "$desc: refused" 1 "$rc"
	expect_eq "$desc: nothing on stdout" "" "$(cat "$SCRATCH/out")"
	expect_match "$desc: the message" \
	    "^cmlsh: update $(re_quote "$b") refused: ${reason}\$" "$(cat "$SCRATCH/err")"
	expect_eq "$desc: nothing installed or changed" "$before" "$(installed_snapshot)"
	expect_eq "$desc: no staging directory left" "" "$(staging_dirs)"
	audit_last >"$SCRATCH/audit"
	expect_eq "$desc: one audit record of the call" "$((n0 + 1 + more))" "$(head -n 1 "$SCRATCH/audit")"
	expect_match "$desc: audited with the error and the reason" \
	    "^type=call uid=0 pid=[0-9]+ container= object=org\\.cml\\.Update\\.Install result=$(re_quote "$error") details=.*${reason}" \
	    "$(sed -n 2p "$SCRATCH/audit")"
}

g1=$SCRATCH/g1
guestos_make "$g1" busybox 1.0
b1=$SCRATCH/busybox-1.0.bundle
bundle_guestos "$g1" "$b1" 1.0
bundle_sign "$b1" "$sup"
digest1=$(bundle_digest "$b1")

# --- info: what it holds, who signed it; nothing changes ----------------------
before=$(installed_snapshot)
run --json update info "$b1"
expect_status "info" 0 "$rc"
out=$(cat "$SCRATCH/out")
expect_eq "info: kind" guestos "$(json_get kind <<<"$out")"
expect_eq "info: version" 1.0 "$(json_get version <<<"$out")"
expect_eq "info: digest (SHA-256 of the signed manifest)" "$digest1" "$(json_get digest <<<"$out")"
expect_eq "info: the signer" "CN=cml software signer,O=cml" "$(json_get signatures 0 subject <<<"$out")"
expect_eq "info: under a supplier anchor" supplier "$(json_get signatures 0 anchor_kind <<<"$out")"
expect_eq "info: it counts" true "$(json_get signatures 0 counts <<<"$out")"
expect_eq "info: installable" true "$(json_get installable <<<"$out")"
expect_eq "info: one payload per file of the guest OS" "$(ls "$g1" | wc -l)" \
    "$(json_get payloads <<<"$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
expect_eq "info: nothing changed" "$before" "$(installed_snapshot)"
run update info "$b1"
expect_match "info as text: the kind" "^kind: +guestos$" "$(grep '^kind:' "$SCRATCH/out")"
expect_match "info as text: installable" "^installable: +yes$" "$(grep '^installable:' "$SCRATCH/out")"

# --- install ------------------------------------------------------------------
n0=$(audit_count)
run update install "$b1"
expect_status "install" 0 "$rc"
expect_match "install: the reply" "result: +installed" "$(cat "$SCRATCH/out")"
expect_eq "the guest OS is installed" "busybox 1.0" \
    "$(sqlite3 "$db" ".timeout 5000" "select name, version from guestos" | tr '|' ' ')"
expect_eq "its images as signed" "$(cd "$g1" && sha256sum $(ls) | sort)" \
    "$(cd "$(state_dir)/guestos/busybox/1.0" && sha256sum $(ls) | sort)"
expect_eq "the history" "guestos|busybox|1.0|installed" "$(history_of)"
expect_eq "the history: the bundle's digest" "$digest1" \
    "$(sqlite3 "$db" "select digest from update_history order by id desc limit 1")"
expect_eq "the floor" 1.0 "$(floor_of guestos busybox)"
sqlite3 "$db" ".timeout 5000" ".backup '$SCRATCH/cml-1.0.db'" || fail "cannot copy the store"
expect_eq "no staging directory left" "" "$(staging_dirs)"
audit_tail 4 | grep 'object=org\.cml\.Update\.Install' >"$SCRATCH/audit"
expect_match "install audited" \
    "object=org\\.cml\\.Update\\.Install result=ok details=.*installed guestos busybox 1\\.0 from .* \\(bundle $digest1\\), signed by CN=cml software signer" \
    "$(cat "$SCRATCH/audit")"
expect_update_refused "the same version again" "$b1" org.cml.Error.Downgrade \
    "guest OS busybox 1\\.0 is already installed"

# --- tampering --------------------------------------------------------------
g2=$SCRATCH/g2
guestos_make "$g2" busybox 2.0
b2=$SCRATCH/busybox-2.0.bundle
bundle_guestos "$g2" "$b2" 2.0
bundle_sign "$b2" "$sup"

img=$(manifest_get "$g2" images 0 file)
cp "$b2" "$SCRATCH/x.bundle"
flip_byte "$SCRATCH/x.bundle" $(($(bundle_payload_at "$b2" "$img") + 700000))
expect_update_refused "a changed image byte" "$SCRATCH/x.bundle" \
    org.cml.Error.IntegrityViolation "image '$(re_quote "$img")' does not match its signed SHA-256 \\(got [0-9a-f]{64}, manifest says [0-9a-f]{64}\\)"
expect_eq "a changed image byte: the history says failed" "guestos|busybox|2.0|failed" "$(history_of)"
cp "$b2" "$SCRATCH/x.bundle"
flip_byte "$SCRATCH/x.bundle" $(($(bundle_payload_at "$b2" manifest.json.p7s) + 100))
expect_update_refused "a changed byte of the guest OS's signature" "$SCRATCH/x.bundle" \
    org.cml.Error.IntegrityViolation "payload 'manifest\\.json\\.p7s' does not match its signed SHA-256 .*"

# a changed manifest byte that keeps it valid JSON: a payload's SHA-256
cp "$b2" "$SCRATCH/x.bundle"
bundle_change_manifest "$SCRATCH/x.bundle"
expect_update_refused "a changed manifest byte" "$SCRATCH/x.bundle" \
    org.cml.Error.InvalidSignature "no signature verifies: .*"

bundle_guestos "$g2" "$SCRATCH/unsigned.bundle" 2.0
expect_update_refused "an unsigned bundle" "$SCRATCH/unsigned.bundle" \
    org.cml.Error.InvalidSignature "the bundle is not signed: 'cml-bundle sign' adds a signature"

mkdir -p "$SCRATCH/tree/sbin"
cp "$CML_BUILDDIR/daemon/cmld/cmld" "$SCRATCH/tree/sbin/cmld"
_run_tool "cml-bundle create cml" "$BUNDLE" create -o "$SCRATCH/cml.bundle" --kind cml \
    --name cml --version 9.0 --tree "$SCRATCH/tree"
bundle_sign "$SCRATCH/cml.bundle" "$own"
expect_update_refused "a cml bundle signed under an owner anchor" "$SCRATCH/cml.bundle" \
    org.cml.Error.InvalidSignature \
    "signed by CN=cml software signer,O=cml, which chains to an owner anchor: a cml bundle needs a signature chaining to a supplier anchor"

# --- m of n -------------------------------------------------------------------
f1=$(cert_fp "$sup/signer.crt")
f2=$(cert_fp "$sup/second.crt")
run device config set update_signers_guestos "2:$f1,$f2"
expect_status "require 2 of 2 signers" 0 "$rc"
run --json update info "$b2"
out=$(cat "$SCRATCH/out")
expect_eq "info: not installable with one of two" false "$(json_get installable <<<"$out")"
expect_eq "info: the present signer" "[\"$f1\"]" "$(json_get signers present <<<"$out" | tr -d ' ')"
expect_eq "info: the missing signer" "[\"$f2\"]" "$(json_get signers missing <<<"$out" | tr -d ' ')"
expect_update_refused "one of two required signers" "$b2" org.cml.Error.InvalidSignature \
    "a guestos bundle needs signatures of 2 of the 2 required signers \\(update_signers_guestos\\); it has 1 \\(${f1:0:16}\\), missing: ${f2:0:16}"
# cml-sign adds the second signature to the bundle in place
_run_tool "cml-sign sign BUNDLE" "$CML_SIGN" sign --key "$sup/second.key" \
    --cert "$sup/second.crt" --chain "$sup/chain.pem" "$b2"
expect_eq "cml-sign wrote no .p7s beside the bundle" "" "$(ls "$b2.p7s" 2>/dev/null)"
run --json update info "$b2"
expect_eq "info: both required signers present" "[]" "$(json_get signers missing <"$SCRATCH/out" | tr -d ' ')"
run update install "$b2"
expect_status "both required signers: installed" 0 "$rc"
expect_eq "busybox 2.0 installed" "guestos|busybox|2.0|installed" "$(history_of)"
expect_eq "the floor went up" 2.0 "$(floor_of guestos busybox)"
run device config set update_signers_guestos ""
expect_status "no signers required again" 0 "$rc"

# --- the floor ----------------------------------------------------------------
g15=$SCRATCH/g15
guestos_make "$g15" busybox 1.5
b15=$SCRATCH/busybox-1.5.bundle
bundle_guestos "$g15" "$b15" 1.5
bundle_sign "$b15" "$sup"
expect_update_refused "a version below the floor" "$b15" org.cml.Error.Downgrade \
    "guestos busybox 1\\.5 is below the version floor 2\\.0 \\(held by the TPM and the state store\\): nothing older than an installed update installs"
run --yes guestos remove busybox 2.0
expect_status "guestos remove busybox 2.0" 0 "$rc"
expect_update_refused "below the floor after the newer one was removed" "$b15" \
    org.cml.Error.Downgrade "guestos busybox 1\\.5 is below the version floor 2\\.0 .*"
expect_eq "the floor stays" 2.0 "$(floor_of guestos busybox)"

# --- a state store restored from an older copy: the TPM holds the floor -----
run --yes guestos remove busybox
stack_stop
cp "$SCRATCH/cml-1.0.db" "$db"
rm -f "$db-wal" "$db-shm"
stack_start
expect_eq "the restored store's floor is the old one" 1.0 "$(floor_of guestos busybox)"
expect_update_refused "below the TPM's floor after the store was restored" "$b15" \
    org.cml.Error.Downgrade "guestos busybox 1\\.5 is below the version floor 2 \\(held by the TPM and the state store\\): .*" 1
expect_eq "the store takes the TPM's floor back" 2 "$(floor_of guestos busybox)"
expect_match "and says so in the audit trail" \
    "type=update .*object=busybox result=restored details=version floor of guestos busybox raised from 1\\.0 to 2, as the TPM holds it" \
    "$(audit_tail 10 | grep 'result=restored')"

finish
