#!/bin/bash
# Encrypted container storage on a host whose kernel has no device-mapper
# (these build machines): the key path up to the LUKS2 keyslot, without
# activation, and the refusals that keep plain data from ever standing in
# for encrypted data.  On the full stack (swtpm, tpm2d, scd with its
# cheapest key derivation, cmld), with software tokens:
#   - a config asking for encrypted storage without a token or a data
#     volume is refused at create, naming the field;
#   - integrity protection on (the default): the start is refused at once
#     with the exact reason, before any PIN is asked or counted, and
#     nothing is made on disk;
#   - integrity off (cml.storage.integrity false, which container show
#     says): cmld asks for the PIN (org.cml.Error.SecretRequired to a
#     client that sent none; cmlsh asks for it, or says --pin-stdin without
#     a terminal), scd unwraps the container's key with it, cmld formats
#     the volume's LUKS2 header at the first start and verifies the key
#     against its keyslot without activation at every start, then refuses
#     with the same exact reason and says which keyslot the key opened;
#     cryptsetup (read-only: luksDump, isLuks) finds a LUKS2 header with
#     one PBKDF2 keyslot, aes-xts-plain64, cml's label, no integrity, and
#     no ext4 anywhere in the file (no plain data);
#   - a foreign LUKS2 header in place of the volume's: the right PIN
#     unwraps the key, the key opens no keyslot, the start is refused as an
#     integrity violation; the volume's own header put back: verified again;
#   - a wrong PIN: verification failed with the tries left, the container
#     "locked" in container list with that reason, the volume untouched;
#   - autostart: an encrypted container is never started by cmld itself:
#     after a restart of the stack it is "locked", waiting for its PIN,
#     audited, with no volume made;
#   - container wipe: the LUKS2 header and keyslots overwritten, the file
#     removed, the wrapped key deleted; the report names each check, and
#     this test checks them again: no file, no LUKS2 header with the
#     volume's UUID in the volumes directory, no key row, and the wrapped
#     key's bytes in neither cml.db nor its WAL; the next start with the
#     PIN makes a new key and a new volume (another UUID); a running
#     container's data is not wiped (stop it first), a stopped plain one's
#     volume is overwritten and removed;
#   - the PINs in no log, no database and no audit record.
# The activation itself (dm-crypt with dm-integrity, data across restarts,
# a flipped byte reported as an integrity error, the device closed at
# stop) needs a kernel with device-mapper: container-cgroup-v2-vm.sh proves
# it in the virtual machine.
# Proves: TSF.CDATA (a container's data only ever on its LUKS2 volume,
# under a key wrapped by its token and verified against the keyslot; never
# plain), CR 4.1 (confidentiality at rest: no plain data in the volume
# file), CR 4.2, CR 4.2(2) (container wipe destroys header, keyslots,
# volume and key, and verifies that none remains), CR 1.1 (the PIN unlocks
# the container's storage), CR 1.11 (a wrong PIN counts and leaves it
# locked), TSF.AUDIT (no PIN and no key material in the trail).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog cryptsetup blkid
# scd's cheapest key derivation: the flows, not the KDF's cost, are tested
export CML_STACK_KDF_COST=test
ct_setup
! grep -q ' device-mapper$' /proc/misc ||
    skip "this kernel has device-mapper: container-cgroup-v2-vm.sh covers the activation; this test proves the refusal where there is none"
# cryptsetup (libdevmapper) makes /dev/mapper/control when it asks for
# device-mapper, even where the kernel has none: what this test's own
# cryptsetup left is removed after it, so that nothing here looks as if
# the kernel had device-mapper (cmld leaves none: checked below)
had_control=$([ -e /dev/mapper/control ] && echo 1 || echo 0)
cryptsetup() {
	local rc
	command cryptsetup "$@"
	rc=$?
	if [ "$had_control" = 0 ] && [ -e /dev/mapper/control ]; then
		rm -f /dev/mapper/control
		rmdir /dev/mapper 2>/dev/null
	fi
	return $rc
}

PIN=lk3958q
WRONG=zz1047m
vol='"volume":{"size_mb":32,"mount":"/data"}'
e1=$(ct_name luks-int)
e2=$(ct_name luks)
ea=$(ct_name luks-auto)
pl=$(ct_name luks-plain)
bad=$(ct_name luks-bad)

# --- configs -----------------------------------------------------------------------------------
ct_cmlsh container create "$(ct_config "$bad" '{"name":"'"$bad"'","guestos":{"name":"busybox"},"cml":{"storage":{"encrypted":true,'"$vol"'}}}')"
expect_status "encrypted storage without a token: refused at create" 1 "$rc"
expect_match "the reason names cml.token.type" \
    "cml.storage.encrypted needs cml.token.type softtoken or usbtoken: the token's PIN unlocks the volume's key" "$(cat "$SCRATCH/err")"
ct_cmlsh container create "$(ct_config "$bad" '{"name":"'"$bad"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"},"storage":{"encrypted":true}}}')"
expect_status "encrypted storage without a data volume: refused at create" 1 "$rc"
expect_match "the reason names cml.storage.volume" \
    "cml.storage.encrypted needs cml.storage.volume: the data volume is what is encrypted" "$(cat "$SCRATCH/err")"

ct_create "$e1" '{"name":"'"$e1"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"},"storage":{"encrypted":true,'"$vol"'}}}'
ct_create "$e2" '{"name":"'"$e2"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"},"storage":{"encrypted":true,"integrity":false,'"$vol"'}}}'
ct_create "$ea" '{"name":"'"$ea"'","guestos":{"name":"busybox"},"autostart":true,"cml":{"token":{"type":"softtoken"},"storage":{"encrypted":true,"integrity":false,'"$vol"'}}}'
ct_create "$pl" '{"name":"'"$pl"'","guestos":{"name":"busybox"},"cml":{"storage":{'"$vol"'}}}'
for n in "$e1" "$e2" "$ea"; do
	printf '%s\n%s\n' "$PIN" "$PIN" | cmlsh_run -c "token init $n --pin-stdin --generate-puk" >/dev/null 2>"$SCRATCH/err" ||
	    fail "token init $n failed: $(cat "$SCRATCH/err")"
done
expect_eq "$e2: container show says integrity is off" "false" "$(ct_show "$e2" integrity)"
expect_match "$e2: container show says how it is encrypted" \
    '^LUKS2, aes-xts-plain64, no integrity protection \(opted out: cml.storage.integrity false\)' "$(ct_show "$e2" encryption)"
expect_match "$e1: container show: integrity protection" \
    '^LUKS2, aes-xts-plain64 with hmac\(sha256\) integrity' "$(ct_show "$e1" encryption)"
f1=$(ct_show "$e1" volume_file)
f2=$(ct_show "$e2" volume_file)
expect_match "$e2: its volume file is ID.luks in the volumes directory" \
    "^$(re_quote "$(state_dir)")/volumes/[0-9a-f]{32}\\.luks\$" "$f2"

# tries PIN-OR-PUK NAME: "left/max" of the token's PIN
tries() {
	cmlsh_run --json token status "$1" | python3 -c 'import json, sys
s = json.load(sys.stdin)["status"]
print("%d/%d" % (s["pin_tries_left"], s["pin_tries_max"]))'
}

# --- integrity on, no device-mapper: refused at once, nothing asked, nothing made ----------------
max=$(tries "$e1")
ct_cmlsh container start "$e1"
expect_status "$e1 (integrity): refused without device-mapper" 1 "$rc"
expect_eq "$e1: the exact reason" \
    "cmlsh: container '$e1' did not start: needs encrypted storage, but this kernel has no device-mapper: cml does not start it with plain data" \
    "$(cat "$SCRATCH/err")"
expect_eq "$e1: no PIN was asked or counted" "$max" "$(tries "$e1")"
expect_eq "$e1: no volume file was made" "absent" "$([ -e "$f1" ] && echo there || echo absent)"
[ "$had_control" = 1 ] || expect_eq "$e1: no device-mapper control node was left behind" "absent" \
    "$([ -e /dev/mapper/control ] && echo there || echo absent)"

# --- the PIN is asked for only when needed ------------------------------------------------------
out=$(varlink_run "$SOCK" call org.cml.Container.Start '{"name":"'"$e2"'"}')
expect_match "$e2: a Start without a PIN is answered SecretRequired, naming the secret" \
    '"error": ?"org.cml.Error.SecretRequired".*"secret": ?"pin"' "$out"
ct_cmlsh container start "$e2"
expect_status "$e2: without a terminal and without --pin-stdin: a usage error" 2 "$rc"
expect_match "$e2: cmlsh says to give the PIN on stdin" "there is no terminal to ask on: give it on stdin with --pin-stdin" "$(cat "$SCRATCH/err")"
expect_eq "$e2: nothing was counted" "$max" "$(tries "$e2")"
expect_eq "$e2: nothing was made yet" "absent" "$([ -e "$f2" ] && echo there || echo absent)"

# --- integrity off: the key path to the keyslot, then the refusal -----------------------------
# pstart PIN NAME: container start NAME --pin-stdin with PIN on stdin
pstart() {
	printf '%s\n' "$1" | "$CMLSH" --socket "$SOCK" container start "$2" --pin-stdin >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
}
pstart "$PIN" "$e2"
expect_status "$e2: started with the right PIN: refused (no device-mapper)" 1 "$rc"
expect_eq "$e2: the exact reason, and the keyslot the key opened" \
    "cmlsh: container '$e2' did not start: needs encrypted storage, but this kernel has no device-mapper: cml does not start it with plain data (its key, unwrapped with the PIN, opens keyslot 0 of the LUKS2 volume $f2; checked without activation)" \
    "$(cat "$SCRATCH/err")"
expect_eq "$e2: the right PIN leaves the tries at their maximum" "$max" "$(tries "$e2")"
expect_eq "$e2: the volume file is there, root's alone" "-rw------- 0 33554432" "$(stat -c '%A %u %s' "$f2" 2>&1)"
expect_eq "$e2: blkid: a LUKS2 volume" "TYPE=crypto_LUKS VERSION=2" \
    "$(blkid -p -s TYPE -s VERSION -o export "$f2" | grep -E '^(TYPE|VERSION)=' | sort | xargs)"
dump=$(cryptsetup luksDump "$f2" 2>&1)
expect_eq "luksDump: LUKS2" "Version: 2" "$(printf '%s\n' "$dump" | grep '^Version:' | xargs)"
expect_eq "luksDump: cml's label" "Label: cml:$e2" "$(printf '%s\n' "$dump" | grep '^Label:' | xargs)"
expect_eq "luksDump: cml's subsystem" "Subsystem: cml" "$(printf '%s\n' "$dump" | grep '^Subsystem:' | xargs)"
expect_match "luksDump: aes-xts-plain64" 'cipher: +aes-xts-plain64' "$dump"
expect_eq "luksDump: one keyslot, 0" "0: luks2" "$(printf '%s\n' "$dump" | grep -E '^ +[0-9]+: luks2' | xargs)"
expect_match "luksDump: PBKDF2 (the passphrase is a 512-bit random key)" 'PBKDF: +pbkdf2' "$dump"
expect_eq "luksDump: keyslot and digest at PBKDF2's least, 1000 iterations (no stretching of a random key)" \
    "Iterations: 1000 Iterations: 1000" "$(printf '%s\n' "$dump" | sed -n '/^Keyslots:/,$p' | grep -E '^[[:space:]]+Iterations:' | xargs)"
expect_eq "luksDump: no integrity (opted out)" "" "$(printf '%s\n' "$dump" | grep -i 'integrity:' | grep -v 'integrity: (none)')"
# the data area was never written in clear: no ext4 superblock magic
# (0xEF53 at 1080 of a file system) anywhere in it (the header's keyslot
# area before it is random by design: 2 bytes of it match by chance)
data_off=$(printf '%s\n' "$dump" | sed -n '/^Data segments:/,/^Keyslots:/s/^[[:space:]]*offset: \([0-9]*\) \[bytes\].*/\1/p' | head -n 1)
expect_match "luksDump: the data segment's offset" '^[0-9]+$' "$data_off"
expect_eq "$e2: no ext4 superblock in the volume's data area (no plain file system)" 0 \
    "$(python3 -c 'import sys
d = open(sys.argv[1], "rb").read()[int(sys.argv[2]):]
n = 0
# an ext4 superblock: magic at 56 of the 1024-byte block at 1024 of its fs
for off in range(0, len(d) - 2048, 4096):
    if d[off + 1024 + 56:off + 1024 + 58] == b"\x53\xef":
        n += 1
print(n)' "$f2" "${data_off:-0}")"
uuid=$(cryptsetup luksUUID "$f2" 2>&1)
sum=$(sha256sum "$f2" | cut -d' ' -f1)

# a second start: the existing volume's keyslot verified again
pstart "$PIN" "$e2"
expect_match "$e2: again: the key opens keyslot 0 of the existing volume" \
    "opens keyslot 0 of the LUKS2 volume $(re_quote "$f2"); checked without activation\\)\$" "$(cat "$SCRATCH/err")"
expect_eq "$e2: the existing volume was not formatted again" "$uuid" "$(cryptsetup luksUUID "$f2" 2>&1)"

# on a terminal: cmlsh asks for the PIN once cmld says it needs one,
# without echo
pty_start 24 80 "$CMLSH" --socket "$SOCK" -c "container start $e2"
pty_wait "PIN: " || fail "container start on a terminal: no PIN prompt"
pty_keys "$PIN\r"
pty_end
expect_status "$e2 on a terminal: the PIN asked, then refused (no device-mapper)" 1 "$trc"
expect_match "$e2 on a terminal: the prompt, then the reason with the keyslot" \
    "^PIN: "$'\n'"cmlsh: container '$(re_quote "$e2")' did not start: needs encrypted storage, .* opens keyslot 0 of the LUKS2 volume" \
    "$(tr -d '\r' <"$SCRATCH/tty.out")"
expect_eq "$e2 on a terminal: the PIN was not echoed" "" "$(grep -aF -- "$PIN" "$SCRATCH/tty.out")"

# --- a foreign header: the key opens no keyslot -------------------------------------------------
cp "$f2" "$SCRATCH/own.luks"
truncate -s 32M "$SCRATCH/foreign.luks"
printf 'another-passphrase' | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --label "cml:$e2" --subsystem cml --key-file - \
    "$SCRATCH/foreign.luks" >/dev/null 2>&1 || fail "cryptsetup luksFormat of a foreign header failed"
dd if="$SCRATCH/foreign.luks" of="$f2" bs=1M count=16 conv=notrunc status=none
pstart "$PIN" "$e2"
expect_status "$e2 with a foreign header: refused" 1 "$rc"
expect_match "$e2: the key does not open the volume" \
    "did not start: the container's key does not open the LUKS2 volume $(re_quote "$f2")" "$(cat "$SCRATCH/err")"
expect_eq "$e2: the PIN was right: tries at their maximum" "$max" "$(tries "$e2")"
cp "$SCRATCH/own.luks" "$f2"
pstart "$PIN" "$e2"
expect_match "$e2: its own header back: verified again" "opens keyslot 0 of the LUKS2 volume" "$(cat "$SCRATCH/err")"
rm -f "$SCRATCH/own.luks" "$SCRATCH/foreign.luks"

# --- a wrong PIN: counted, locked, nothing touched ------------------------------------------------
pstart "$WRONG" "$e2"
expect_status "$e2: a wrong PIN fails" 1 "$rc"
expect_match "$e2: verification failed, tries left" "verification failed" "$(cat "$SCRATCH/err")"
left=$(tries "$e2")
expect_eq "$e2: one try fewer" "$((${max%/*} - 1))/${max#*/}" "$left"
expect_eq "$e2: container list: locked, and why" \
    "$e2 locked wrong PIN ($((${max%/*} - 1)) tries left): 'container start $e2' asks again" \
    "$(ct_list | grep "^$e2 ")"
expect_eq "$e2: the volume was not touched" "$sum" "$(sha256sum "$f2" | cut -d' ' -f1)"
pstart "$PIN" "$e2"
expect_eq "$e2: the right PIN resets the tries" "$max" "$(tries "$e2")"

# --- autostart: locked, never started by cmld itself ----------------------------------------------
stack_stop
stack_start
expect_eq "$ea: after a restart: locked, waiting for its PIN" \
    "$ea locked waiting for the PIN of its token: 'container start $ea' unlocks it" \
    "$(ct_list | grep "^$ea ")"
expect_match "$ea: audited as locked" \
    "container=$(re_quote "$ea") object=container result=locked details=not started: waiting for the PIN of its token" \
    "$(audit_tail 40)"
expect_eq "$ea: no volume was made" "absent" \
    "$(f=$(ct_show "$ea" volume_file); [ -e "$f" ] && echo there || echo absent)"
expect_eq "$ea: its PIN was not counted" "$max" "$(tries "$ea")"

# --- container wipe: header, volume, key; verified -----------------------------------------------
db=$(state_dir)/cml.db
wrapped=$(sqlite3 "$db" "SELECT hex(wrapped) FROM container_key WHERE container = '$e2'")
[ -n "$wrapped" ] || fail "no wrapped key of $e2 in $db"
ct_cmlsh container wipe "$e2"
expect_status "container wipe without --yes and no terminal: a usage error" 2 "$rc"
expect_eq "$e2: nothing was wiped then" "there" "$([ -e "$f2" ] && echo there || echo absent)"
cmlsh_run --json --yes container wipe "$e2" >"$SCRATCH/wipe.json" 2>"$SCRATCH/err"
expect_status "container wipe $e2 --yes" 0 "$?"
wj=$(cat "$SCRATCH/wipe.json")
expect_eq "the wipe says it verified" "true" "$(json_get verified <<<"$wj")"
expect_match "the wipe's header check" "overwritten.*no LUKS2 header" "$(json_get header <<<"$wj")"
expect_match "the wipe's volume check" "removed" "$(json_get volume <<<"$wj")"
expect_match "the wipe's device check" "no device-mapper device" "$(json_get device <<<"$wj")"
expect_match "the wipe's key check" "deleted.*not found in cml.db" "$(json_get key <<<"$wj")"
expect_eq "$e2: the volume file is gone" "absent" "$([ -e "$f2" ] && echo there || echo absent)"
expect_eq "$e2: no file of its id in the volumes directory" "" \
    "$(ls "$(dirname "$f2")" | grep -F "$(basename "${f2%.luks}")")"
expect_eq "no LUKS2 header with the volume's UUID in the volumes directory" "" \
    "$(for f in "$(dirname "$f2")"/*; do [ -f "$f" ] && cryptsetup luksUUID "$f" 2>/dev/null; done | grep -Fx "$uuid")"
expect_eq "$e2: no wrapped key row" 0 "$(sqlite3 "$db" "SELECT count(*) FROM container_key WHERE container = '$e2'")"
expect_eq "the wrapped key's bytes are in neither cml.db nor its WAL" 0 \
    "$(python3 -c 'import os, sys
w = bytes.fromhex(sys.argv[1])
n = 0
for f in (sys.argv[2], sys.argv[2] + "-wal"):
    if os.path.exists(f):
        n += open(f, "rb").read().count(w)
print(n)' "$wrapped" "$db")"
expect_match "the wipe is audited with its checks" \
    "container=$(re_quote "$e2") object=.* result=ok details=wiped container $(re_quote "$e2")'s data and verified it: header: " "$(audit_tail 5)"
expect_eq "$e2: the container and its token stay; its state says why" \
    "$e2 stopped its data was wiped: its next start makes a new key and volume softtoken" \
    "$(ct_list | grep "^$e2 ") $(cmlsh_run --json token status "$e2" | json_get status type)"
# the next start: a new key and a new volume
pstart "$PIN" "$e2"
expect_match "$e2 after the wipe: a new volume, its new key verified" "opens keyslot 0 of the LUKS2 volume" "$(cat "$SCRATCH/err")"
# (read by another process, sqlite3: cmld's own connection kept its
# database whole through the wipe's scan)
expect_eq "$e2: a new wrapped key was stored" 1 "$(sqlite3 "$db" "SELECT count(*) FROM container_key WHERE container = '$e2' AND hex(wrapped) != '$wrapped'")"
uuid2=$(cryptsetup luksUUID "$f2" 2>&1)
expect_match "$e2: the new volume has another UUID" '^[0-9a-f-]{36}$' "$uuid2"
[ "$uuid2" != "$uuid" ] || _check_failed "$e2: the new volume has the old UUID $uuid"

# a plain volume: not while it runs; then overwritten and removed
pty_start 24 80 "$CMLSH" --socket "$SOCK" -c "container start $pl"
pty_end
expect_status "$pl (plain) on a terminal: started" 0 "$trc"
expect_eq "$pl (plain): no PIN was asked" "" "$(grep -a "PIN" "$SCRATCH/tty.out")"
fp=$(ct_show "$pl" volume_file)
ct_cmlsh --yes container wipe "$pl"
expect_status "$pl: not wiped while it runs" 1 "$rc"
expect_match "$pl: stop it first" "container '$pl' is running: stop it first" "$(cat "$SCRATCH/err")"
ct_cmlsh container stop "$pl"
ct_cmlsh --yes container wipe "$pl"
expect_status "$pl: wiped once stopped" 0 "$rc"
expect_eq "$pl: its volume is gone" "absent" "$([ -e "$fp" ] && echo there || echo absent)"

# --- remove: a kept encrypted volume is said to be unopenable ------------------------------------
ct_cmlsh --yes container remove "$e2"
expect_status "container remove $e2" 0 "$rc"
expect_match "$e2: the kept volume cannot be opened again: its key went with the container" \
    "kept in $(re_quote "$f2"), but its key went with the container: nothing opens it again" "$(cat "$SCRATCH/out")"
expect_eq "$e2: no wrapped key row after the remove" 0 "$(sqlite3 "$db" "SELECT count(*) FROM container_key WHERE container = '$e2'")"

# --- no PIN anywhere, no key material in the trail -----------------------------------------------
for s in "$PIN" "$WRONG"; do
	expect_eq "the PIN $s is in no log, database or audit record" "" \
	    "$(grep -rlaF "$s" "$STACK_DIR" 2>/dev/null)"
done
# the wrapped key that was wiped: neither its bytes nor any spelling of
# them (hex, base64) in audit.db or in the exported trail
cmlsh_run audit export >"$SCRATCH/trail.jsonl" 2>"$SCRATCH/err" ||
    fail "audit export: $(cat "$SCRATCH/err")"
expect_eq "the wrapped key is in no audit record, in no spelling" 0 \
    "$(python3 -c 'import base64, os, sys
w = bytes.fromhex(sys.argv[1])
forms = [w, sys.argv[1].encode(), sys.argv[1].lower().encode(),
    base64.b64encode(w), base64.b64encode(w[:48])]
n = 0
for f in (sys.argv[2], sys.argv[2] + "-wal", sys.argv[3]):
    if os.path.exists(f):
        data = open(f, "rb").read()
        n += sum(data.count(x) for x in forms)
print(n)' "$wrapped" "$(state_dir)/audit.db" "$SCRATCH/trail.jsonl")"
finish
