#!/bin/bash
# scd's card token (usbtoken) through a real pcscd, its vpcd reader and the
# virtual OpenPGP card (tests/tools/vcard), scd called on its own socket,
# its platform secret from tpm2d on a real swtpm.  Readers lists the card;
# Init with the card's factory PIN is refused and leaves the card as it
# was; Init sets the card's PW1 and PW3 to the PIN and the PUK (openpgp-tool
# verifies both), generates the decryption key (gpg --card-status shows
# retry counters 3 and 3 and the fingerprint of the public key scd keeps);
# Wrap and Unwrap round trip; every wrong PIN counts one try exactly as the
# card counts it (gpg agrees at each step) down to pin-blocked, the right
# PIN is then refused; a wrong PUK counts, the right one unblocks with a
# new PIN; ChangePIN; the card pulled out in the middle of PSO:DECIPHER
# gives TokenUnavailable naming the reader, counters stay consistent and
# the key unwraps once the card is back; kill -9 of scd while the card
# checks a PIN gives no free try, a restart keeps the counters; another
# device's platform secret (a second swtpm and tpm2d) unwraps nothing with
# the right PIN; every failure says the same "verification failed"; Init
# of a card that holds keys is refused without force and with force
# resets the card (a new key; destroyed says so, the old wrapped key is
# lost); wrong PUKs block the token for good; no PIN, PUK, key, wrapped key
# or platform secret is in scd's log, state or audit records; with pcscd
# gone Readers says PC/SC is down.
# Proves: CR 1.5 (the card's key unwraps only with its PIN and only with
# this device's platform secret), CR 1.7 (the card's factory PIN is
# refused as a token PIN), CR 1.10 (one message for every failed
# verification: wrong PIN, blocked, another device), CR 1.11 (PIN and PUK
# tries limited, counted before each check so that neither a kill nor a
# pulled card gives a free try, kept across restarts, agreeing with the
# card's own counters)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pcsc.sh"

SCD=$CML_BUILDDIR/daemon/scd/scd
need_root
need_prog swtpm python3 gpg gpgconf openpgp-tool
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] || skip "no tpm2d: build first"
[ -x "$SCD" ] || skip "no scd at $SCD: build first (or set CML_BUILDDIR)"
make_scratch
swtpm_start "$SCRATCH/tpm"
tpm2d_up || fail "tpm2d did not start"
HOME_TPM2D_PID=$TPM2D_PID
pcsc_start
CARD_STATE=$SCRATCH/card.state
vcard_start "$CARD_STATE" --serial 0000A1B2
pcsc_gpg_init

SCD_SOCK=$STACK_DIR/run/cml/scd.sock
SCD_LOG=$STACK_DIR/log/scd.log
SCD_STATE=$STACK_DIR/var/lib/cml/scd
SCD_PID=
READER=$VPCD_READER
SERIAL=FF7F:0000A1B2
PIN=4711bx
PUK=Quark-8264
NEWPIN=tulip93x
PIN2=amber-52k
WRONG=999x99
KEY=$(head -c 32 /dev/urandom | base64)
KEYHEX=$(base64 -d <<<"$KEY" | od -An -tx1 | tr -d ' \n')
VF=org.cml.SCD.VerificationFailed

# Starts scd on $STACK_DIR (platform secret from $1's tpm2d socket, or the
# first tpm2d's) and waits until it has its platform secret.
scd_up() {
	local line i tsock=${1:-$TPM2D_SOCK}
	echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) scd_up $tsock" >>"$SCD_LOG"
	exec 3< <(exec "$SCD" --root "$STACK_DIR" --tpm2d-socket "$tsock" \
	    --kdf-cost test --log-level debug --foreground --ready-fd 4 4>&1 \
	    >>"$SCD_LOG" 2>&1 </dev/null)
	SCD_PID=$!
	track_pid "$SCD_PID"
	line=
	IFS= read -r -t 20 -u 3 line
	exec 3<&-
	[ "$line" = READY=1 ] || fail "scd did not start: $(tail -n 5 "$SCD_LOG")"
	for ((i = 0; i < 100; i++)); do
		[ "$(scd_call org.cml.SCD.Status | get platform_secret)" = present ] && return 0
		sleep 0.1
	done
	fail "scd has no platform secret: $(tail -n 5 "$SCD_LOG")"
}

# Stops scd: scd_down [SIGNAL]
scd_down() {
	kill -"${1:-TERM}" "$SCD_PID" 2>/dev/null
	wait "$SCD_PID" 2>/dev/null
	untrack_pid "$SCD_PID"
	SCD_PID=
}

scd_call() {
	python3 "$VARLINK_PY" --timeout 60 "$SCD_SOCK" call "$@"
}

get() {
	json_get parameters "$@"
}

# A call's parameters as JSON (names and values alternate): args k v ...
args() {
	python3 -c 'import json, sys
a = sys.argv[1:]
d = {}
for k, v in zip(a[0::2], a[1::2]):
	d[k] = int(v) if k.endswith("_tries") else (v == "true" if k == "force" else v)
print(json.dumps(d))' "$@"
}

# The token's status in one line: "state pin_left/pin_max puk_left/puk_max
# present".
status_line() {
	python3 -c 'import json, sys
m = json.load(sys.stdin)
p = m.get("parameters", {})
s = p.get("status", p)
print("%s %d/%d %d/%d %s" % (s["state"], s["pin_tries_left"], s["pin_tries_max"],
    s["puk_tries_left"], s["puk_tries_max"], "present" if s["present"] else "absent"))'
}

token_status() {
	scd_call org.cml.SCD.TokenStatus "$(args name "$1")" | status_line
}

# A VerificationFailed reply in one line: "error message tries_left state".
failure_line() {
	python3 -c 'import json, sys
m = json.load(sys.stdin)
p = m.get("parameters", {})
print("%s %s %s %s" % (m.get("error"), p.get("message"), p.get("tries_left"), p.get("state")))'
}

# Ends the test's gpg-agent and scdaemon and waits until they are gone: an
# scdaemon that lingers keeps what it read of the card, and a gpg started
# meanwhile would show that instead of the card.
gpg_gone() {
	local pids
	pcsc_gpg_stop
	pids=$(pcsc_gpg_pids)
	[ -z "$pids" ] || { kill -KILL $pids 2>/dev/null; sleep 0.1; }
}

# The card as gpg sees it: --card-status --with-colons, by an scdaemon
# started for it alone.
gpg_colons() {
	gpg_gone
	pcsc_gpg --with-colons --card-status 2>&1
	gpg_gone
}

# FIELD of gpg's view of the card, e.g. pinretry -> "3:0:3".
gpg_field() {
	gpg_colons | sed -n "s/^$1:\\(.*\\):\$/\\1/p" | head -n 1
}

# The card's PW1 and PW3 counters as gpg reads them: "PW1 PW3".
gpg_tries() {
	gpg_field pinretry | awk -F: '{ print $1 " " $3 }'
}

unwrap() {
	scd_call org.cml.SCD.Unwrap "$(args name c1 pin "$1" wrapped "$2")"
}

# --- Readers ------------------------------------------------------------------
scd_up
out=$(scd_call org.cml.SCD.Readers)
expect_eq "Readers: the virtual card, an OpenPGP card 3.4 with its serial" \
    "$READER|openpgp|$SERIAL|3.4" \
    "$(python3 -c 'import json, sys
for r in json.load(sys.stdin)["parameters"]["readers"]:
	if r["card"] != "none":
		print("%s|%s|%s|%s" % (r["name"], r["card"], r.get("serial") or "", r.get("version") or ""))' <<<"$out")"
expect_eq "gpg: the fresh card's counters" "3 3" "$(gpg_tries)"
expect_eq "gpg: no decryption key on the fresh card" "" \
    "$(gpg_field fpr | cut -d: -f2)"

# --- Init ---------------------------------------------------------------------
out=$(scd_call org.cml.SCD.Init "$(args name c1 type usbtoken reader "$READER" \
    pin 123456 puk "$PUK" pin_tries 3 puk_tries 3)")
expect_match "Init with the card's factory PIN is refused" \
    'factory default' "$out"
expect_eq "the refused Init left the card as it was" "3 3|" \
    "$(gpg_tries)|$(gpg_field fpr | cut -d: -f2)"

out=$(scd_call org.cml.SCD.Init "$(args name c1 type usbtoken reader "$READER" \
    pin "$PIN" puk "$PUK" pin_tries 3 puk_tries 3)")
expect_eq "Init: a ready card token" \
    "usbtoken $SERIAL $READER ready 3/3 3/3 present destroyed=false" \
    "$(get status type <<<"$out") $(get status serial <<<"$out") $(get status reader <<<"$out") $(status_line <<<"$out") destroyed=$(get destroyed <<<"$out")"
expect_eq "gpg after Init: PIN and admin PIN counters 3 and 3" "3 3" \
    "$(gpg_tries)"
colons=$(gpg_colons)
fpr=$(sed -n 's/^fpr:[^:]*:\([0-9A-F]*\):.*/\1/p' <<<"$colons")
fprtime=$(sed -n 's/^fprtime:[^:]*:\([0-9]*\):.*/\1/p' <<<"$colons")
keyattr=$(sed -n 's/^keyattr:2:\(.*\):$/\1/p' <<<"$colons")
expect_eq "gpg: the decryption key is ECDH (18) on NIST P-256" \
    "18:NIST P-256" "$keyattr"
# the fingerprint on the card is the v4 fingerprint (RFC 4880 12.2, RFC
# 6637 9) of the public key scd keeps in the token's state, made when the
# card says
want=$(python3 - "$SCD_STATE/tokens/c1/state" "$fprtime" <<'EOF'
import base64, binascii, hashlib, json, struct, sys
state = json.load(open(sys.argv[1]))
pub = None
def walk(v):
	global pub
	if isinstance(v, dict):
		for x in v.values():
			walk(x)
	elif isinstance(v, str):
		try:
			b = base64.b64decode(v, validate=True)
		except (binascii.Error, ValueError):
			return
		if len(b) == 65 and b[0] == 4:
			pub = b
walk(state)
if pub is None:
	print("<no public key in the state>")
	sys.exit(0)
body = bytes([4]) + struct.pack(">I", int(sys.argv[2])) + bytes([18, 8]) + \
    bytes.fromhex("2A8648CE3D030107") + struct.pack(">H", 515) + pub + \
    bytes([3, 1, 8, 7])
print(hashlib.sha1(bytes([0x99]) + struct.pack(">H", len(body)) + body).hexdigest().upper())
EOF
)
expect_eq "gpg: the card's decryption key fingerprint is that of scd's public key" \
    "$want" "$fpr"
out=$(pcsc_run openpgp-tool --verify CHV2 --pin "$PIN" 2>&1)
expect_status "openpgp-tool: the card's PW1 is the token's PIN" 0 $?
out=$(pcsc_run openpgp-tool --verify CHV3 --pin "$PUK" 2>&1)
expect_status "openpgp-tool: the card's PW3 is the token's PUK" 0 $?

# --- Wrap and Unwrap ----------------------------------------------------------
wrapped=$(scd_call org.cml.SCD.Wrap "$(args name c1 key "$KEY")" | get wrapped)
expect_match "Wrap gives a wrapped key" '^[A-Za-z0-9+/]{40,}=*$' "$wrapped"
out=$(unwrap "$PIN" "$wrapped")
expect_eq "Unwrap with the PIN gives the key back" "$KEY" "$(get key <<<"$out")"
expect_eq "Unwrap: the status after" "ready 3/3 3/3 present" "$(status_line <<<"$out")"

# --- wrong PINs, exactly counted, to pin-blocked -------------------------------
for left in 2 1 0; do
	state=ready
	[ "$left" = 0 ] && state=pin-blocked
	out=$(unwrap "$WRONG" "$wrapped")
	expect_eq "wrong PIN: $left tries left" "$VF verification failed $left $state" \
	    "$(failure_line <<<"$out")"
	expect_eq "TokenStatus: $left tries left" "$state $left/3 3/3 present" \
	    "$(token_status c1)"
	expect_eq "gpg agrees: PW1 $left" "$left 3" "$(gpg_tries)"
done
out=$(unwrap "$PIN" "$wrapped")
expect_eq "blocked: the right PIN is refused as any other" \
    "$VF verification failed 0 pin-blocked" "$(failure_line <<<"$out")"
expect_eq "blocked: no key in the reply" "" "$(json_get parameters key <<<"$out" 2>/dev/null | grep -v '^<no member')"
expect_eq "blocked: the card's PW1 stays at 0" "0 3" "$(gpg_tries)"

# --- PUK: a wrong one counts, the right one unblocks ---------------------------
out=$(scd_call org.cml.SCD.Unblock "$(args name c1 puk Wrong-PUK-1 new_pin "$NEWPIN")")
expect_eq "wrong PUK: 2 tries left" "$VF verification failed 2 pin-blocked" \
    "$(failure_line <<<"$out")"
expect_eq "gpg agrees: PW3 2" "0 2" "$(gpg_tries)"
out=$(scd_call org.cml.SCD.Unblock "$(args name c1 puk "$PUK" new_pin "$NEWPIN")")
expect_eq "Unblock with the PUK: ready, both counters full" \
    "ready 3/3 3/3 present" "$(status_line <<<"$out")"
expect_eq "gpg agrees after Unblock" "3 3" "$(gpg_tries)"
out=$(unwrap "$PIN" "$wrapped")
expect_eq "the old PIN no longer works" "$VF verification failed 2 ready" \
    "$(failure_line <<<"$out")"
out=$(unwrap "$NEWPIN" "$wrapped")
expect_eq "the new PIN unwraps" "$KEY|ready 3/3 3/3 present" \
    "$(get key <<<"$out")|$(status_line <<<"$out")"
out=$(scd_call org.cml.SCD.ChangePIN "$(args name c1 pin "$NEWPIN" new_pin "$PIN2")")
expect_eq "ChangePIN" "ready 3/3 3/3 present" "$(status_line <<<"$out")"
out=$(unwrap "$PIN2" "$wrapped")
expect_eq "the changed PIN unwraps" "$KEY" "$(get key <<<"$out")"

# --- the card counts lower than scd: scd follows the card ---------------------
# a wrong PIN given to the card by another program (OpenSC's)
pcsc_run openpgp-tool --verify CHV2 --pin 000x00 >/dev/null 2>&1
expect_eq "gpg: the card counted another program's wrong PIN" "2 3" "$(gpg_tries)"
out=$(unwrap "$WRONG" "$wrapped")
expect_eq "the next wrong PIN: the card's count, not scd's own" \
    "$VF verification failed 1 ready" "$(failure_line <<<"$out")"
expect_eq "gpg agrees: PW1 1" "1 3" "$(gpg_tries)"
out=$(unwrap "$PIN2" "$wrapped")
expect_eq "the right PIN fills both counters" "$KEY|ready 3/3 3/3 present" \
    "$(get key <<<"$out")|$(status_line <<<"$out")"

# --- the card pulled out during PSO:DECIPHER ---------------------------------
vcard_remove
vcard_start "$CARD_STATE" --remove-on 2A
out=$(unwrap "$PIN2" "$wrapped")
expect_eq "card pulled out mid-operation: TokenUnavailable" \
    org.cml.SCD.TokenUnavailable "$(json_get error <<<"$out")"
expect_match "the message names the reader and what happened" \
    "removed from reader '$READER' during the operation" \
    "$(get message <<<"$out")"
vcard_wait_removed
# the try was counted before the check: it stays counted (a card pulled
# before the check ends cannot be told from one pulled to dodge it)
expect_eq "TokenStatus: the card is gone, the try counted" "ready 2/3 3/3 absent" \
    "$(token_status c1)"
vcard_start "$CARD_STATE"
expect_eq "the card itself checked the PIN before it went: 3 tries" "3 3" "$(gpg_tries)"
out=$(unwrap "$PIN2" "$wrapped")
expect_eq "the card back: the key unwraps, counters full" \
    "$KEY|ready 3/3 3/3 present" "$(get key <<<"$out")|$(status_line <<<"$out")"

# --- kill -9 of scd while the card checks a PIN -------------------------------
vcard_remove
# each APDU takes 600 ms: the VERIFY is the fourth of the Unwrap (after
# SELECT and the reads of the AID and the application data), on the card
# from 1.8 to 2.4 s after the job began, which is when scd stored the
# counter it lowered before the check
vcard_start "$CARD_STATE" --delay-ms 600
unwrap "$WRONG" "$wrapped" >"$SCRATCH/killed.out" 2>&1 &
caller=$!
for ((i = 0; i < 100; i++)); do
	[ "$(json_get pin_tries_left <"$SCD_STATE/tokens/c1/state")" = 2 ] && break
	sleep 0.02
done
expect_eq "the try is stored before the card checks it" 2 \
    "$(json_get pin_tries_left <"$SCD_STATE/tokens/c1/state")"
sleep 2.1
scd_down KILL
wait "$caller"
expect_status "scd killed before it answered" 3 $?
# pcscd finishes the APDU in flight, then resets the card for the client
# that died; vpcd fails that reset when another client connects meanwhile
# (and the reader then stays empty), so scd is started once it is done
sleep 1
scd_up
# (a restarted scd has not seen the card yet: whether it is present is
# not asked here)
expect_eq "after kill -9 and restart: the try stayed counted" "ready 2/3 3/3" \
    "$(token_status c1 | cut -d' ' -f1-3)"
vcard_remove
vcard_start "$CARD_STATE"
expect_eq "the card counted the wrong PIN it was checking" "2 3" "$(gpg_tries)"
scd_down
scd_up
expect_eq "a restart keeps the counters" "ready 2/3 3/3" \
    "$(token_status c1 | cut -d' ' -f1-3)"
out=$(unwrap "$PIN2" "$wrapped")
expect_eq "the right PIN then unwraps and fills the counters" \
    "$KEY|ready 3/3 3/3 present" "$(get key <<<"$out")|$(status_line <<<"$out")"

# --- another device's platform secret ------------------------------------------
home_dir=$STACK_DIR
STACK_DIR=$SCRATCH/other
swtpm_start "$SCRATCH/tpm-other"
tpm2d_up || fail "the second tpm2d did not start"
other_sock=$STACK_DIR/run/cml/tpm2d.sock
STACK_DIR=$home_dir
scd_down
scd_up "$other_sock"
out=$(unwrap "$PIN2" "$wrapped")
expect_eq "another platform secret: the right PIN unwraps nothing" \
    "$VF verification failed" "$(failure_line <<<"$out" | cut -d' ' -f1-3)"
expect_eq "another platform secret: no key in the reply" "" \
    "$(json_get parameters key <<<"$out" 2>/dev/null | grep -v '^<no member')"
scd_down
scd_up
out=$(unwrap "$PIN2" "$wrapped")
expect_eq "this device again: the key unwraps" "$KEY" "$(get key <<<"$out")"

# --- Init of a card that holds keys -------------------------------------------
out=$(scd_call org.cml.SCD.Init "$(args name c2 type usbtoken reader "$READER" \
    pin "$PIN" puk "$PUK" pin_tries 3 puk_tries 3)")
expect_eq "Init of another token on the card: TokenExists" org.cml.SCD.TokenExists \
    "$(json_get error <<<"$out")"
expect_match "it says the card holds keys and what --force does" \
    "holds keys; init --force destroys them" "$(get message <<<"$out")"
out=$(scd_call org.cml.SCD.Init "$(args name c1 type usbtoken reader "$READER" \
    pin "$PIN" puk "$PUK" pin_tries 3 puk_tries 3)")
expect_eq "Init of c1 again without force: TokenExists" org.cml.SCD.TokenExists \
    "$(json_get error <<<"$out")"
expect_eq "gpg: the card kept its key" "$fpr" "$(gpg_field fpr | cut -d: -f2)"
out=$(scd_call org.cml.SCD.Init "$(args name c1 type usbtoken reader "$READER" \
    pin "$PIN" puk "$PUK" pin_tries 3 puk_tries 3 force true)")
expect_eq "Init --force: destroyed, a ready token" "true ready 3/3 3/3 present" \
    "$(get destroyed <<<"$out") $(status_line <<<"$out")"
newfpr=$(gpg_field fpr | cut -d: -f2)
expect_match "gpg: a new decryption key" '^[0-9A-F]{40}$' "$newfpr"
expect_eq "gpg: the key is another than before" changed \
    "$([ "$newfpr" != "$fpr" ] && echo changed || echo "the same: $newfpr")"
expect_eq "gpg: counters full after the reset" "3 3" "$(gpg_tries)"
out=$(unwrap "$PIN" "$wrapped")
expect_eq "the old wrapped key is lost with the old card key" \
    "$VF verification failed" "$(failure_line <<<"$out" | cut -d' ' -f1-3)"

# --- wrong PUKs block for good ---------------------------------------------
for left in 2 1 0; do
	out=$(unwrap "$WRONG" "$wrapped")
done
expect_eq "three wrong PINs: pin-blocked" "pin-blocked 0/3 3/3 present" "$(token_status c1)"
for left in 2 1 0; do
	state=pin-blocked
	[ "$left" = 0 ] && state=blocked
	out=$(scd_call org.cml.SCD.Unblock "$(args name c1 puk Wrong-PUK-$left new_pin "$NEWPIN")")
	expect_eq "wrong PUK: $left left" "$VF verification failed $left $state" \
	    "$(failure_line <<<"$out")"
	expect_eq "gpg agrees: PW3 $left" "$left" "$(gpg_tries | cut -d' ' -f2)"
done
out=$(scd_call org.cml.SCD.Unblock "$(args name c1 puk "$PUK" new_pin "$NEWPIN")")
expect_eq "blocked for good: the right PUK is refused" \
    "$VF verification failed 0 blocked" "$(failure_line <<<"$out")"
expect_eq "TokenStatus: blocked" "blocked 0/3 0/3 present" "$(token_status c1)"

# --- no secret anywhere scd writes ---------------------------------------------
audit=$(scd_call org.cml.SCD.TakeAudit)
expect_match "scd audited the blocking of the PIN" \
    '"object": "c1", "result": "blocked", "details": "PIN blocked' "$audit"
expect_match "scd audited the blocking of the PUK" \
    '"object": "c1", "result": "blocked", "details": "PUK blocked' "$audit"
psecret=$(tpm2d_call org.cml.TPM.PlatformSecret '{"label": "scd platform secret"}' | get secret)
wrapped_hex=$(base64 -d <<<"$wrapped" | od -An -tx1 | tr -d ' \n')
leaks=
for s in "$PIN" "$PUK" "$NEWPIN" "$PIN2" "$KEY" "$KEYHEX" "$wrapped" \
    "$wrapped_hex" "$psecret"; do
	[ -n "$s" ] || continue
	grep -rqaiF -e "$s" "$SCD_LOG" "$SCD_STATE" && leaks="$leaks log-or-state:${s:0:4}…"
	grep -qiF -e "$s" <<<"$audit" && leaks="$leaks audit:${s:0:4}…"
done
expect_eq "no PIN, PUK, key, wrapped key or platform secret in scd's log, state or audit" \
    "" "$leaks"
# --- PC/SC gone ------------------------------------------------------------------
kill -TERM "$PCSCD_PID"
for ((i = 0; i < 100; i++)); do
	kill -0 "$PCSCD_PID" 2>/dev/null || break
	sleep 0.05
done
out=$(scd_call org.cml.SCD.Readers)
expect_eq "pcscd gone: Readers says PC/SC is down" \
    "org.cml.SCD.TokenUnavailable|PC/SC is down (pcscd is not running)" \
    "$(json_get error <<<"$out")|$(get message <<<"$out")"
expect_eq "scd's log has no sanitizer report" "" \
    "$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SCD_LOG")"
scd_down
finish
