#!/bin/bash
# tpm2d's system key against a real swtpm: made and sealed to PCRs 16 and 23
# at the first start, unsealed at the next (PlatformSecret the same across
# the restart); PCR 16 extended while tpm2d is stopped -> the next start
# refuses to unseal, and Status, PlatformSecret's error, CheckSystemKey and
# the audit record (TakeAudit) name PCR 16 with the value sealed against and
# the value now, not PCR 23; PCR 16 reset -> unsealed again, the same key;
# ResetSystemKey wipes blob and expected values, the next start makes a new
# key (another secret); a truncated or altered blob and damaged expected
# values are clear errors, tpm2d keeps serving; the TPM gone, calls that
# need it fail with the TCTI's error in words, and once it is back the next
# call reconnects (both audited); nothing is left in the TPM.
# The socket is root's only (0600), a malformed message is answered and the
# connection closed, bad parameters refused.
# Proves: TSF.SDATA (the system key is sealed to PCRs in the TPM and
# unsealed only while they hold their values, each changed PCR named; the
# platform secret derived from it is refused when the platform changed),
# CR 4.2 (ResetSystemKey destroys the sealed key: blob and expected values
# wiped, the secret gone), CR 1.5(1) (the platform secret comes from the
# TPM-sealed key: the same after a restart, refused on another platform
# state).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm tpm2_pcrextend tpm2_pcrreset tpm2_getcap python3 setpriv
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] || skip "no tpm2d: build first"
make_scratch
swtpm_start "$SCRATCH/tpm"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
state=$STACK_DIR/var/lib/cml/tpm2d
zero=0000000000000000000000000000000000000000000000000000000000000000
nl=$'\n'

# Prints a member of a reply's parameters (or of its error's).
get() {
	json_get parameters "$@"
}

status_key() {
	tpm2d_call org.cml.TPM.Status | get system_key
}

secret() {
	tpm2d_call org.cml.TPM.PlatformSecret "{\"label\": \"$1\"}" | get secret
}

# Prints the spooled records "type object result: details", one a line.
audit_lines() {
	tpm2d_call org.cml.TPM.TakeAudit | python3 -c 'import json, sys
for r in json.load(sys.stdin)["parameters"]["records"]:
    print("%s %s %s: %s" % (r["type"], r["object"], r["result"], r["details"]))'
}

# --- first start: the key is made --------------------------------------------
tpm2d_up --seal-pcrs 16,23 --measure-pcr 13 || fail "tpm2d did not start"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "first start: the system key is unsealed" unsealed "$(get system_key <<<"$out")"
expect_eq "first start: sealed to PCRs 16 and 23" "[16, 23]" "$(get seal_pcrs <<<"$out")"
expect_eq "Status names the TCTI" "$SWTPM_TCTI" "$(get tcti <<<"$out")"
expect_eq "Status names the TPM's manufacturer" IBM "$(get manufacturer <<<"$out")"
expect_eq "Status: no reason while unsealed" null "$(get reason <<<"$out")"
audit=$(audit_lines)
expect_match "audited: tpm2d started, with the TCTI" \
    "(^|$nl)daemon tpm2d ok: tpm2d [0-9.]+ started \(pid [0-9]+, TPM IBM firmware [0-9.]+ over $(re_quote "$SWTPM_TCTI")\)" "$audit"
expect_match "audited: the system key created, with its PCRs" \
    "(^|$nl)syskey system key ok: system key created, sealed to PCRs 16,23 \(sha256\)" "$audit"
expect_eq "blob and expected values are root's only" "600 600" \
    "$(stat -c %a "$state/syskey.blob" "$state/syskey.pcrs" | xargs)"
expect_eq "the state directory is root's only" 700 "$(stat -c %a "$state")"
expect_eq "the expected values are those of PCRs 16 and 23 at seal time" \
    "16=$zero 23=$zero" \
    "$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%d=%s" % (p["index"], p["value"]) for p in d["pcrs"]))' "$state/syskey.pcrs")"

s1=$(secret "scd platform secret")
expect_match "PlatformSecret: 32 bytes, hex" '^[0-9a-f]{64}$' "$s1"
expect_eq "PlatformSecret: the same label, the same secret" "$s1" "$(secret "scd platform secret")"
s_other=$(secret "another purpose")
expect_match "PlatformSecret: another label, another secret" '^[0-9a-f]{64}$' "$s_other"
[ "$s_other" != "$s1" ] || expect_eq "two labels give two secrets" different same
expect_eq "the secret is in no log" 0 "$(grep -c -e "$s1" -e "$s_other" "$STACK_DIR/log/tpm2d.log")"
expect_eq "CheckSystemKey: it unseals" true \
    "$(tpm2d_call org.cml.TPM.CheckSystemKey | get unseals)"

# --- the socket -----------------------------------------------------------------
expect_eq "the socket is root's, mode 0600" "root 600" "$(stat -c '%U %a' "$TPM2D_SOCK")"
user_programs
as_user "" "$USER_PYTHON3" "$USER_VARLINK_PY" "$TPM2D_SOCK" call org.cml.TPM.Status \
    >"$SCRATCH/out" 2>&1
rc=$?
expect_status "a non-root caller cannot connect" 3 $rc
expect_match "it is told permission denied" 'cannot connect to .*: Permission denied' "$(cat "$SCRATCH/out")"
out=$(printf 'this is no JSON\0' | varlink_run "$TPM2D_SOCK" send)
expect_lines "a malformed message is answered with Protocol, the connection closed" "$out" \
    '^\{"error": "org\.cml\.Error\.Protocol", "parameters": \{"message": "malformed message: .*"\}\}$' \
    '^EOF$'
out=$(tpm2d_call org.cml.TPM.PlatformSecret '{"label": ""}')
expect_match "an empty label is refused" '"org\.varlink\.service\.InvalidParameter".*"parameter": "label"' "$out"
out=$(tpm2d_call org.cml.TPM.ReadPCRs '{"pcrs": [24]}')
expect_match "PCR 24 is refused" '"org\.varlink\.service\.InvalidParameter".*"parameter": "pcrs"' "$out"
out=$(tpm2d_call org.cml.TPM.Extend '{"digest": "zz"}')
expect_match "a digest that is no SHA-256 is refused" '"org\.varlink\.service\.InvalidParameter".*"parameter": "digest"' "$out"
out=$(tpm2d_call org.cml.TPM.Status '{"extra": 1}')
expect_match "an unknown parameter is refused" '"org\.varlink\.service\.InvalidParameter"' "$out"

# --- a restart unseals the same key -------------------------------------------
tpm2d_down
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not restart"
expect_eq "restart: unsealed" unsealed "$(status_key)"
expect_eq "restart: the same platform secret (seal/unseal round trip)" "$s1" "$(secret "scd platform secret")"
expect_match "audited: unsealed" "(^|$nl)syskey system key ok: system key unsealed \(PCRs 16,23\)" "$(audit_lines)"

# --- PCR 16 changes: refused, and the message names it ----------------------------
tpm2d_down
digest=$(printf 'a new boot loader' | sha256sum | cut -d' ' -f1)
tpm2_pcrextend "16:sha256=$digest" || fail "tpm2_pcrextend failed"
now=$(python3 -c 'import hashlib, sys
print(hashlib.sha256(bytes(32) + bytes.fromhex(sys.argv[1])).hexdigest())' "$digest")
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not start after PCR 16 changed"
want="the PCRs changed since the system key was sealed: PCR 16 changed: sealed against $zero, now $now"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "PCR 16 changed: refused" refused "$(get system_key <<<"$out")"
expect_eq "the reason names PCR 16 with both values, and no other PCR" "$want" "$(get reason <<<"$out")"
out=$(tpm2d_call org.cml.TPM.PlatformSecret '{"label": "scd platform secret"}')
expect_eq "PlatformSecret refused: SystemKeyUnavailable" org.cml.TPM.SystemKeyUnavailable \
    "$(json_get error <<<"$out")"
expect_eq "... with the reason" "the system key is not unsealed: $want" "$(get message <<<"$out")"
out=$(tpm2d_call org.cml.TPM.CheckSystemKey)
expect_eq "CheckSystemKey: it would not unseal" false "$(get unseals <<<"$out")"
expect_eq "CheckSystemKey: the same reason" "$want" "$(get reason <<<"$out")"
audit=$(audit_lines)
expect_match "audited: refused, with PCR 16's values" \
    "(^|$nl)syskey system key refused: $(re_quote "$want")($nl|$)" "$audit"
expect_match "audited: the refused PlatformSecret call" \
    "(^|$nl)call org\.cml\.TPM\.PlatformSecret org\.cml\.TPM\.SystemKeyUnavailable: uid 0 pid [0-9]+: label 'scd platform secret'" "$audit"
expect_match "the log says it too" "syskey system key refused: $(re_quote "$want")" \
    "$(cat "$STACK_DIR/log/tpm2d.log")"
expect_eq "tpm2d keeps serving" ok "$(kill -0 "$TPM2D_PID" && tpm2d_call org.cml.TPM.ReadPCRs '{"pcrs": [16]}' >/dev/null && echo ok)"
expect_eq "ReadPCRs shows PCR 16 as the reason does" "$now" \
    "$(tpm2d_call org.cml.TPM.ReadPCRs '{"pcrs": [16]}' | get pcrs 0 value)"

# --- PCR 16 back to its sealed value: the same key again ------------------------
tpm2d_down
tpm2_pcrreset 16 || fail "tpm2_pcrreset failed"
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not start after PCR 16 was reset"
expect_eq "PCR 16 reset: unsealed again" unsealed "$(status_key)"
expect_eq "PCR 16 reset: the same secret" "$s1" "$(secret "scd platform secret")"

# --- ResetSystemKey destroys it; the next start makes another -------------------
out=$(tpm2d_call org.cml.TPM.ResetSystemKey)
expect_eq "ResetSystemKey answers" '{"parameters": {}}' "$out"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "after the reset: absent" absent "$(get system_key <<<"$out")"
expect_match "... and says a new one comes at the next start" "next start" "$(get reason <<<"$out")"
expect_eq "blob and expected values are gone" "" "$(ls -A "$state")"
out=$(tpm2d_call org.cml.TPM.PlatformSecret '{"label": "scd platform secret"}')
expect_eq "after the reset: PlatformSecret refused" org.cml.TPM.SystemKeyUnavailable \
    "$(json_get error <<<"$out")"
expect_match "audited: destroyed" \
    "(^|$nl)syskey system key ok: system key destroyed \(blob and expected PCR values wiped\)" "$(audit_lines)"
tpm2d_down
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not start after the reset"
expect_eq "next start: a new key, unsealed" unsealed "$(status_key)"
s2=$(secret "scd platform secret")
expect_match "next start: a secret" '^[0-9a-f]{64}$' "$s2"
[ "$s2" != "$s1" ] && r=differs || r="is the old one"
expect_eq "next start: the secret differs from the destroyed key's" differs "$r"
expect_match "audited: created again" "(^|$nl)syskey system key ok: system key created" "$(audit_lines)"

# --- damaged files: a clear error, no crash --------------------------------------
tpm2d_down
cp "$state/syskey.blob" "$SCRATCH/blob.good"
cp "$state/syskey.pcrs" "$SCRATCH/pcrs.good"
head -c 100 "$SCRATCH/blob.good" >"$state/syskey.blob"
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not start with a truncated blob"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "truncated blob: error" error "$(get system_key <<<"$out")"
expect_match "truncated blob: the reason says the blob is damaged" \
    "^$(re_quote "$state/syskey.blob") is damaged: not a sealed key" "$(get reason <<<"$out")"
expect_eq "truncated blob: tpm2d serves" ok "$(tpm2d_call org.cml.TPM.ReadPCRs >/dev/null && echo ok)"
tpm2d_down
# a byte of the private part (its encrypted sensitive area) altered: the
# TPM's integrity check refuses it
python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-20] ^= 0x5a
open(sys.argv[2], "wb").write(b)' "$SCRATCH/blob.good" "$state/syskey.blob"
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not start with an altered blob"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "altered blob: error" error "$(get system_key <<<"$out")"
expect_match "altered blob: the TPM's integrity check, in words and code" \
    "^cannot load the sealed system key: .*\(TPM_RC_INTEGRITY, 0x[0-9a-f]+\)$" "$(get reason <<<"$out")"
expect_match "audited as an error" "(^|$nl)syskey system key error: cannot load the sealed system key" "$(audit_lines)"
tpm2d_down
cp "$SCRATCH/blob.good" "$state/syskey.blob"
echo '{"bank": "sha256", "pcrs": [{"index": 16}]}' >"$state/syskey.pcrs"
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not start with damaged expected values"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "damaged expected values: error" error "$(get system_key <<<"$out")"
expect_match "damaged expected values: the reason names the file" \
    "^$(re_quote "$state/syskey.pcrs") is damaged" "$(get reason <<<"$out")"
tpm2d_down
cp "$SCRATCH/pcrs.good" "$state/syskey.pcrs"
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not start with its files restored"
expect_eq "files restored: unsealed, the same key" "unsealed $s2" "$(status_key) $(secret "scd platform secret")"

# --- the TPM goes away and comes back ----------------------------------------------
kill -TERM "$(cat "$SCRATCH/tpm/pid")"
for ((i = 0; i < 50; i++)); do
	[ -S "$SCRATCH/tpm/sock" ] || break
	kill -0 "$(cat "$SCRATCH/tpm/pid" 2>/dev/null)" 2>/dev/null || break
	sleep 0.1
done
out=$(tpm2d_call org.cml.TPM.ReadPCRs '{"pcrs": [16]}')
expect_eq "TPM gone: ReadPCRs fails with TPMError" org.cml.TPM.TPMError "$(json_get error <<<"$out")"
expect_match "... saying the TPM cannot be talked to" \
    'input/output error talking to the TPM \(TCTI_IO_ERROR, 0x[0-9a-f]+\)' "$(get message <<<"$out")"
expect_eq "TPM gone: Status still answers" unsealed "$(status_key)"
swtpm_start "$SCRATCH/tpm"
expect_eq "TPM back: the next call reconnects and unseals" true \
    "$(tpm2d_call org.cml.TPM.CheckSystemKey | get unseals)"
audit=$(audit_lines)
expect_match "audited: the connection broke" \
    "(^|$nl)tpm $(re_quote "$SWTPM_TCTI") error: the connection to the TPM broke" "$audit"
expect_match "audited: reconnected" \
    "(^|$nl)tpm $(re_quote "$SWTPM_TCTI") ok: reconnected to the TPM" "$audit"
tpm2d_down

# --- nothing left in the TPM -------------------------------------------------------
expect_eq "no transient object left" "" "$(tpm2_getcap handles-transient)"
expect_eq "no session left" "" "$(tpm2_getcap handles-loaded-session)"

finish
