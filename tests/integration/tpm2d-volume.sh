#!/bin/bash
# tpm2d's state volume on a host whose kernel has no device-mapper (the
# virtual machine of container-cgroup-v2-vm.sh opens and mounts it where
# the kernel has one), against a real swtpm:
#   - without --state-volume the state directory is plain, and Status says
#     so;
#   - with --state-volume IMAGE (zeros), tpm2d formats the image LUKS2
#     (aes-xts-plain64, a 512-bit volume key, one PBKDF2 keyslot), checks
#     that the keyslot opens with the key derived from the system key
#     without opening a device, and says at start and in Status that the
#     state directory stays plain because the kernel has no device-mapper
#     (dm-crypt); nothing else is written to the image;
#   - with tpm2d stopped, the system key unsealed independently (tpm2-tools
#     on tpm2d's sealed blob) gives HMAC-SHA-256(key, "cml state volume"
#     and a zero byte), and libcryptsetup (through ctypes) opens the keyslot
#     with it, not with PlatformSecret("cml state volume") (which any
#     caller of tpm2d may ask for), another label's or random bytes;
#   - restarted (the volume named by state_volume in tpm2d.conf this
#     time), tpm2d finds the header and does not format again (UUID
#     unchanged); an image that holds data but no LUKS2 header is not
#     formatted over (unchanged), a too small one refused;
#   - PCR 16 extended while tpm2d is stopped: the system key is refused,
#     the volume is not opened, not formatted anew (UUID unchanged), and
#     Status says why, naming PCR 16;
#   - --state-mount without --state-volume, or relative paths: usage error.
# Proves: CR 4.1, TSF.SDATA (the state volume's keyslot opens only with the key
# derived from the TPM-sealed system key; it is not opened nor formatted
# anew when the PCRs changed; without device-mapper the state stays plain
# and tpm2d says so).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm tpm2_pcrextend tpm2_createprimary tpm2_load tpm2_unseal \
    tpm2_flushcontext blkid python3 truncate
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] || skip "no tpm2d: build first"
python3 -c 'import ctypes; ctypes.CDLL("libcryptsetup.so.12")' 2>/dev/null ||
    skip "no libcryptsetup.so.12 for python3's ctypes"
if grep -q ' device-mapper$' /proc/misc 2>/dev/null; then
	skip "this kernel has device-mapper: tpm2d would open the volume on the host (the VM test covers that)"
fi
make_scratch
swtpm_start "$SCRATCH/tpm"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
state=$STACK_DIR/var/lib/cml/tpm2d
img=$SCRATCH/state.img
nl=$'\n'

get() {
	json_get parameters "$@"
}

# luks IMAGE HEX-PASSPHRASE: what libcryptsetup says of the image and of
# the passphrase ("LUKS2 CIPHER MODE KEYBYTES PBKDF ITERATIONS SLOT-OR-ERR")
luks() {
	python3 - "$1" "$2" <<'PY'
import ctypes, sys
c = ctypes.CDLL("libcryptsetup.so.12")
c.crypt_get_type.restype = ctypes.c_char_p
c.crypt_get_cipher.restype = ctypes.c_char_p
c.crypt_get_cipher_mode.restype = ctypes.c_char_p
c.crypt_set_log_callback(None, None, None)
cd = ctypes.c_void_p()
if c.crypt_init(ctypes.byref(cd), sys.argv[1].encode()) < 0:
    sys.exit("crypt_init failed")
r = c.crypt_load(cd, b"LUKS2", None)
if r < 0:
    print("no-luks2 %d" % r)
    sys.exit(0)
class Pbkdf(ctypes.Structure):
    _fields_ = [("type", ctypes.c_char_p), ("hash", ctypes.c_char_p),
                ("time_ms", ctypes.c_uint32), ("iterations", ctypes.c_uint32),
                ("max_memory_kb", ctypes.c_uint32),
                ("parallel_threads", ctypes.c_uint32), ("flags", ctypes.c_uint32)]
p = Pbkdf()
c.crypt_keyslot_get_pbkdf(cd, 0, ctypes.byref(p))
pw = bytes.fromhex(sys.argv[2])
slot = c.crypt_activate_by_passphrase(cd, None, -1, pw, len(pw), 0)
print(c.crypt_get_type(cd).decode(), c.crypt_get_cipher(cd).decode(),
      c.crypt_get_cipher_mode(cd).decode(), c.crypt_get_volume_key_size(cd),
      p.type.decode() if p.type else "?", p.iterations, slot)
c.crypt_free(cd)
PY
	# libdevmapper makes a control node even without device-mapper
	if [ -z "$mapper_before" ]; then
		rm -f /dev/mapper/control
		rmdir /dev/mapper 2>/dev/null
	fi
}

uuid() {
	blkid -p -s UUID -o value "$1"
}

# --- usage ---------------------------------------------------------------
"$CML_BUILDDIR/daemon/tpm2d/tpm2d" --state-mount /tmp/x >/dev/null 2>&1
expect_status "--state-mount without --state-volume: usage error" 2 $?
"$CML_BUILDDIR/daemon/tpm2d/tpm2d" --state-volume state.img >/dev/null 2>&1
expect_status "a relative --state-volume: usage error" 2 $?
mapper_before=$(ls -d /dev/mapper/control 2>/dev/null)

# --- no state volume ------------------------------------------------------
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not start"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "no --state-volume: the state directory is plain" plain "$(get state_volume <<<"$out")"
expect_match "no --state-volume: Status says why" "no state volume is configured" \
    "$(get state_volume_reason <<<"$out")"
tpm2d_down

# --- an image of zeros: formatted, the keyslot checked, plain ----------------
truncate -s 40M "$img" || fail "truncate"
: >"$STACK_DIR/log/tpm2d.log"
tpm2d_up --seal-pcrs 16,23 --state-volume "$img" || fail "tpm2d did not start with --state-volume"
out=$(tpm2d_call org.cml.TPM.Status)
reason=$(get state_volume_reason <<<"$out")
expect_eq "no device-mapper: the state directory stays plain" plain "$(get state_volume <<<"$out")"
expect_match "Status: the kernel has no device-mapper (dm-crypt)" \
    "^the kernel has no device-mapper \(dm-crypt\): the state directory stays plain" "$reason"
expect_match "Status: the volume was formatted now, its keyslot opens with the sealed key" \
    "$(re_quote "$img") \(formatted now, keyslot 0 opens with the sealed key\)" "$reason"
expect_match "tpm2d says it at start-up" \
    "state volume: plain: the kernel has no device-mapper \(dm-crypt\)" "$(cat "$STACK_DIR/log/tpm2d.log")"
audit=$(tpm2d_call org.cml.TPM.TakeAudit | python3 -c 'import json, sys
for r in json.load(sys.stdin)["parameters"]["records"]:
    print("%s %s %s: %s" % (r["type"], r["object"], r["result"], r["details"]))')
expect_match "audited: the volume formatted" \
    "(^|$nl)volume $(re_quote "$img") ok: the state volume was formatted LUKS2 \(aes-xts-plain64, 512-bit key\)" "$audit"
ps_secret=$(tpm2d_call org.cml.TPM.PlatformSecret '{"label": "cml state volume"}' | get secret)
expect_match "PlatformSecret(\"cml state volume\") is answered" '^[0-9a-f]{64}$' "$ps_secret"
tpm2d_down
expect_eq "tpm2d left no device-mapper control node behind (libdevmapper makes one)" \
    "$mapper_before" "$(ls -d /dev/mapper/control 2>/dev/null)"
expect_eq "blkid: a LUKS2 header, labelled cml-state" "LABEL=cml-state TYPE=crypto_LUKS VERSION=2" \
    "$(blkid -p -s TYPE -s VERSION -s LABEL -o export "$img" | grep -E '^(TYPE|VERSION|LABEL)=' | sort | xargs)"
uuid1=$(uuid "$img")
# past the LUKS2 header (16 MiB) nothing was written: the state stays off it
expect_eq "nothing written past the LUKS2 header" 0 \
    "$(tail -c +$((16 * 1048576 + 1)) "$img" | tr -d '\0' | wc -c)"

# the system key, unsealed with tpm2-tools from tpm2d's blob (tpm2d stopped)
cd "$SCRATCH" || fail "cd"
python3 - "$state/syskey.blob" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
n = int.from_bytes(b[:2], "big")
open("key.pub", "wb").write(b[:2 + n])
open("key.priv", "wb").write(b[2 + n:])
PY
tpm2_createprimary -Q -C o -g sha256 -G ecc256:aes128cfb \
    -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda' \
    -c primary.ctx && tpm2_load -Q -C primary.ctx -u key.pub -r key.priv -c key.ctx ||
    fail "tpm2-tools cannot load tpm2d's sealed blob"
tpm2_flushcontext -t >/dev/null 2>&1
tpm2_unseal -c key.ctx -p pcr:sha256:16,23 -o syskey.bin >/dev/null 2>&1 || fail "tpm2_unseal failed"
tpm2_flushcontext -t >/dev/null 2>&1
tpm2_flushcontext -l >/dev/null 2>&1
expect_eq "the unsealed system key: 32 bytes" 32 "$(stat -c %s syskey.bin)"
hmac() {
	python3 -c 'import hmac, hashlib, sys
k = open(sys.argv[1], "rb").read()
print(hmac.new(k, sys.argv[2].encode() + (b"\0" if sys.argv[3] == "1" else b""), hashlib.sha256).hexdigest())' \
	    syskey.bin "$1" "$2"
}
pass=$(hmac "cml state volume" 1)
expect_eq "PlatformSecret(\"cml state volume\") is HMAC of the label under the key unsealed here" \
    "$ps_secret" "$(hmac "cml state volume" 0)"
scd_secret=$(hmac "scd platform secret" 0)
rm -f syskey.bin
expect_eq "libcryptsetup: LUKS2, aes-xts-plain64, 64-byte key, PBKDF2 1000; keyslot 0 opens with HMAC(system key, \"cml state volume\\0\")" \
    "LUKS2 aes xts-plain64 64 pbkdf2 1000 0" "$(luks "$img" "$pass")"
for other in "$ps_secret" "$scd_secret" "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"; do
	expect_eq "the keyslot does not open with another passphrase (${other:0:8}...)" \
	    "LUKS2 aes xts-plain64 64 pbkdf2 1000 -1" "$(luks "$img" "$other")"
done

# --- restarted (the volume named in tpm2d.conf): the header found, not formatted again --
mkdir -p "$STACK_DIR/etc/cml"
printf 'state_volume = %s\n' "$img" >"$STACK_DIR/etc/cml/tpm2d.conf"
tpm2d_up --seal-pcrs 16,23 || fail "tpm2d did not restart"
expect_match "restarted (state_volume in tpm2d.conf): the volume's keyslot opens again, not formatted anew" \
    "$(re_quote "$img") \(formatted before, keyslot 0 opens with the sealed key\)" \
    "$(tpm2d_call org.cml.TPM.Status | get state_volume_reason)"
tpm2d_down
rm -f "$STACK_DIR/etc/cml/tpm2d.conf"
expect_eq "restarted: the same LUKS2 volume (UUID)" "$uuid1" "$(uuid "$img")"

# --- an image holding data: not formatted over; too small: refused -----------------
data=$SCRATCH/data.img
head -c 1048576 /dev/urandom >"$data"
truncate -s 40M "$data"
sum=$(sha256sum <"$data")
small=$SCRATCH/small.img
truncate -s 8M "$small"
tpm2d_up --seal-pcrs 16,23 --state-volume "$data" || fail "tpm2d did not start on a data image"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "an image with data: plain" plain "$(get state_volume <<<"$out")"
expect_match "an image with data: Status says it is not formatted over" \
    "holds data but no LUKS2 header: tpm2d formats only a volume whose first MiB is zeros" \
    "$(get state_volume_reason <<<"$out")"
tpm2d_down
expect_eq "the image with data is unchanged" "$sum" "$(sha256sum <"$data")"
tpm2d_up --seal-pcrs 16,23 --state-volume "$small" || fail "tpm2d did not start on a small image"
expect_match "a too small image is refused" "is too small for a state volume" \
    "$(tpm2d_call org.cml.TPM.Status | get state_volume_reason)"
tpm2d_down
expect_eq "the small image is unchanged (zeros)" 0 "$(tr -d '\0' <"$small" | wc -c)"

# --- PCR 16 changed: refused, not opened, not formatted anew ------------------------
tpm2_pcrextend 16:sha256=$(printf '%064d' 1) || fail "tpm2_pcrextend failed"
tpm2d_up --seal-pcrs 16,23 --state-volume "$img" || fail "tpm2d did not start after the extend"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "PCR 16 changed: the system key is refused" refused "$(get system_key <<<"$out")"
expect_eq "PCR 16 changed: the state directory stays plain" plain "$(get state_volume <<<"$out")"
expect_match "PCR 16 changed: Status says the volume is not opened, the key not unsealed" \
    "and the system key is not unsealed: $(re_quote "$img") is not opened" "$(get state_volume_reason <<<"$out")"
expect_match "PCR 16 changed: the system key's reason names PCR 16" "PCR 16 changed" "$(get reason <<<"$out")"
expect_match "PCR 16 changed: audited, the volume refused" \
    "(^|$nl)volume $(re_quote "$img") refused: the kernel has no device-mapper \(dm-crypt\), and the system key is not unsealed" \
    "$(tpm2d_call org.cml.TPM.TakeAudit | python3 -c 'import json, sys
for r in json.load(sys.stdin)["parameters"]["records"]:
    print("%s %s %s: %s" % (r["type"], r["object"], r["result"], r["details"]))')"
tpm2d_down
expect_eq "PCR 16 changed: the volume is not formatted anew (UUID)" "$uuid1" "$(uuid "$img")"
expect_eq "PCR 16 changed: the keyslot still opens with the old derived key" \
    "LUKS2 aes xts-plain64 64 pbkdf2 1000 0" "$(luks "$img" "$pass")"
expect_eq "no state volume device was left (no loop device of the image)" "" \
    "$(grep -l "$SCRATCH" /sys/block/loop*/loop/backing_file 2>/dev/null)"
check_sanitizer_reports
finish
