#!/bin/bash
# scd's software tokens through its own socket, on a real stack (swtpm,
# tpm2d, scd, cmld): Init with a generated and with a given PUK, Wrap and
# Unwrap a key, the exact tries left after every check; three wrong PINs
# block the PIN and the right one is then refused with the same message;
# the PUK unblocks and sets a new PIN; wrong PUKs are counted and the last
# blocks the token for good, until Init again with force destroys it (and
# says so); ChangePIN; weak new PINs refused.  scd killed (-9) while a
# verification is in flight costs a try, never gives one; a restart keeps
# the counters; while one token is checked, a second check of it is Busy
# and the loop answers TokenStatus; while a token is made, a second Init
# of that name is Busy.  A copy of a token's files on a second
# device (its own swtpm, so another platform secret) verifies no PIN there
# (counted).
# Malformed calls (bad base64, a PIN too long, not UTF-8, control
# characters, names that are paths) are refused clearly and count nothing.
# Without tpm2d there is no platform secret and token calls are refused;
# scd takes it once tpm2d serves.  Bad options and scd.conf keys refused.
# No PIN, PUK or key (base64 or hex) is in scd's log, its files, cmld's
# databases or the audit records.
# Proves: CR 1.5 (the PIN key is derived from the PIN and the platform
# secret: the same token on another device unlocks nothing), CR 1.7 (scd
# refuses weak new PINs and PUKs), CR 1.10 (every failed verification
# says "verification failed" whatever the cause; the tries left apart),
# CR 1.11 (wrong PINs and PUKs are counted persistently, before the check,
# and block; a crash or restart gives no try back).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog swtpm python3 base64 od
SCD=$CML_BUILDDIR/daemon/scd/scd
[ -x "$SCD" ] || skip "no scd at $SCD: build first"
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] || skip "no tpm2d: build first"

export CML_STACK_KDF_COST=test
stack_start
SCD_SOCK=$STACK_DIR/run/cml/scd.sock
TOKENS=$STACK_DIR/var/lib/cml/scd/tokens

# The secrets of this test: each is grepped for at the end.
PIN1=Pin-a7c31f
PIN1B=Pin-b9e40d
PIN2=Pin-c2f85e
PUK2=Puk-d4a17b93
WRONG1=Pin-e1d0aa
WRONG2=Pin-f8c3bb
WRONGPUK=Puk-99ab1c2d
PIN3=Pin-0a6e2c
PIN9=Pin-7d3f15
SECRETS=("$PIN1" "$PIN1B" "$PIN2" "$PUK2" "$WRONG1" "$WRONG2" "$WRONGPUK"
    "$PIN3" "$PIN9")

# Calls scd: scd_call METHOD [PARAMETERS-JSON] (on SOCK if set).
scd_call() {
	python3 "$VARLINK_PY" "${SOCK2:-$SCD_SOCK}" call "$@"
}

# Prints a member of a reply's parameters.
get() {
	json_get parameters "$@"
}

# Prints "left/max left/max state" of a token's status.
counters() {
	scd_call org.cml.SCD.TokenStatus "{\"name\": \"$1\"}" | python3 -c '
import json, sys
s = json.load(sys.stdin)["parameters"]["status"]
print("%d/%d %d/%d %s" % (s["pin_tries_left"], s["pin_tries_max"],
    s["puk_tries_left"], s["puk_tries_max"], s["state"]))'
}

# Prints "error message tries_left state" of a failed verification.
failed() {
	python3 -c '
import json, sys
r = json.load(sys.stdin)
p = r.get("parameters", {})
print(r.get("error", "-"), p.get("message"), p.get("tries_left"),
    p.get("state"))'
}

unwrap() { # unwrap NAME PIN WRAPPED
	scd_call org.cml.SCD.Unwrap "{\"name\": \"$1\", \"pin\": \"$2\", \"wrapped\": \"$3\"}"
}

verify() { # verify NAME PIN
	scd_call org.cml.SCD.VerifyPIN "{\"name\": \"$1\", \"pin\": \"$2\"}"
}

unblock() { # unblock NAME PUK NEW_PIN
	scd_call org.cml.SCD.Unblock "{\"name\": \"$1\", \"puk\": \"$2\", \"new_pin\": \"$3\"}"
}

VF="org.cml.SCD.VerificationFailed verification failed"

# Starts scd for $STACK_DIR (after it was stopped or killed), with the
# KDF cost given: scd_up COST.
scd_up() {
	local line
	exec 3< <(exec "$SCD" --root "$STACK_DIR" --tpm2d-socket \
	    "$STACK_DIR/run/cml/tpm2d.sock" --kdf-cost "$1" --foreground \
	    --ready-fd 4 4>&1 >>"$STACK_DIR/log/scd.log" 2>&1 </dev/null)
	line=
	IFS= read -r -t 20 -u 3 line
	exec 3<&-
	[ "$line" = READY=1 ] || fail "scd did not start again"
	# the platform secret is asked for once it serves
	for ((i = 0; i < 50; i++)); do
		[ "$(scd_call org.cml.SCD.Status | get platform_secret)" = present ] && return 0
		sleep 0.1
	done
	fail "scd has no platform secret after its restart"
}

scd_pid() {
	local pid
	pid=$(head -n 1 "$STACK_DIR/run/cml/scd.pid" 2>/dev/null | tr -dc 0-9)
	case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
	*scd*" --root $STACK_DIR "*) echo "$pid" ;;
	*) return 1 ;;
	esac
}

# Keeps the records in scd's spool (without acknowledging them), which a
# restart loses unless cmld took them already: "TYPE OBJECT RESULT:
# DETAILS" lines in $SCRATCH/audit.
audit_keep() {
	scd_call org.cml.SCD.TakeAudit | python3 -c '
import json, sys
for r in json.load(sys.stdin)["parameters"]["records"]:
    print(r["type"], r["object"], r["result"] + ":", r["details"])' >>"$SCRATCH/audit"
}

# Stops scd with a signal and waits until it is gone: scd_down SIGNAL.
scd_down() {
	local pid i
	audit_keep
	pid=$(scd_pid) || fail "no scd runs"
	kill -"$1" "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "scd (pid $pid) did not end after SIG$1"
}

# --- options and configuration ------------------------------------------------
out=$("$SCD" --root "$SCRATCH/x" --kdf-cost cheap 2>&1)
expect_status "--kdf-cost cheap: a usage error" 2 $?
expect_eq "--kdf-cost cheap: says what is allowed" \
    "scd: --kdf-cost (kdf_cost) is default, low or test, not 'cheap'" "$out"
mkdir -p "$SCRATCH/x/etc/cml"
printf 'kdf_cost = low\npin = 123456\n' >"$SCRATCH/x/etc/cml/scd.conf"
out=$("$SCD" --root "$SCRATCH/x" 2>&1)
expect_status "scd.conf with an unknown key: a usage error" 2 $?
expect_eq "scd.conf: the file, line and keys named" \
    "scd: $SCRATCH/x/etc/cml/scd.conf:2: unknown key 'pin': use tpm2d_socket, kdf_cost or log_level" "$out"
out=$("$SCD" --root "$SCRATCH/x" --tpm2d-socket relative.sock 2>&1)
expect_status "--tpm2d-socket relative: a usage error" 2 $?
expect_match "scd --help names its options" "--tpm2d-socket PATH.*--kdf-cost CLASS" \
    "$("$SCD" --help | tr '\n' ' ')"

# --- the stack: scd serves, root only, with the platform secret ----------
r=$(scd_call org.cml.SCD.Status)
expect_eq "Status: platform secret present" present "$(get platform_secret <<<"$r")"
expect_eq "Status: no tokens yet" 0 "$(get tokens <<<"$r")"
expect_eq "scd's socket is root's only" "600 root" "$(stat -c '%a %U' "$SCD_SOCK")"
expect_match "scd warned that test KDF cost protects PINs weakly" "weakly protected" \
    "$(cat "$STACK_DIR/log/scd.log")"
expect_eq "scd's state directory is 0700" 700 "$(stat -c %a "$STACK_DIR/var/lib/cml/scd")"
pid=$(head -n 1 "$STACK_DIR/run/cml/scd.pid")
# AddressSanitizer makes mlock(2) a no-op: locked memory is checked in the
# build without it
if ldd "$CML_BUILDDIR/daemon/scd/scd" | grep -q libasan; then
	echo "# the platform secret's locked memory is not checked: AddressSanitizer ignores mlock"
else
	expect_match "the platform secret is in locked memory" '^VmLck:[[:space:]]+[1-9][0-9]* kB$' \
	    "$(grep '^VmLck:' "/proc/$pid/status")"
fi
expect_eq "no core dumps of scd" "0 0" "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$pid/limits")"

# --- Init: a generated PUK shown once, a given one not shown -------------
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c1\", \"type\": \"softtoken\", \"pin\": \"$PIN1\", \"pin_tries\": 3, \"puk_tries\": 3}")
expect_status "Init c1 (PUK generated)" 0 $?
PUK1=$(get puk <<<"$r")
SECRETS+=("$PUK1")
expect_match "Init c1: a generated PUK of 12 digits" '^[0-9]{12}$' "$PUK1"
expect_eq "Init c1: nothing destroyed" false "$(get destroyed <<<"$r")"
expect_match "Init c1: a softtoken with a 16-hex-digit serial" \
    '^softtoken [0-9a-f]{16} null true$' \
    "$(get status type <<<"$r") $(get status serial <<<"$r") $(get status reader <<<"$r") $(get status present <<<"$r")"
expect_eq "Init c1: 3 PIN and 3 PUK tries, ready" "3/3 3/3 ready" "$(counters c1)"
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c2\", \"type\": \"softtoken\", \"pin\": \"$PIN2\", \"puk\": \"$PUK2\", \"pin_tries\": 5, \"puk_tries\": 2}")
expect_status "Init c2 (PUK given)" 0 $?
expect_eq "Init c2: a given PUK is not sent back" null "$(get puk <<<"$r")"
expect_eq "Init c2: 5 PIN and 2 PUK tries" "5/5 2/2 ready" "$(counters c2)"
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c1\", \"type\": \"softtoken\", \"pin\": \"$PIN1\", \"pin_tries\": 3, \"puk_tries\": 3}")
expect_eq "Init c1 again without force: TokenExists" org.cml.SCD.TokenExists "$(json_get error <<<"$r")"
expect_match "TokenExists says force destroys it" "force destroys it" "$(get message <<<"$r")"
for weak in 123456 aaaaaaaa 12345 "123456789"; do
	r=$(scd_call org.cml.SCD.Init "{\"name\": \"c8\", \"type\": \"softtoken\", \"pin\": \"$weak\", \"pin_tries\": 3, \"puk_tries\": 3}")
	expect_eq "Init with the weak PIN '$weak' refused" org.cml.Error.InvalidArgument "$(json_get error <<<"$r")"
done
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c8\", \"type\": \"softtoken\", \"pin\": \"$PIN9\", \"puk\": \"12345678\", \"pin_tries\": 3, \"puk_tries\": 3}")
expect_eq "Init with the card's factory PUK refused" org.cml.Error.InvalidArgument "$(json_get error <<<"$r")"
r=$(scd_call org.cml.SCD.List)
expect_eq "List: c1 and c2" "c1 c2" "$(python3 -c 'import json,sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin)["parameters"]["tokens"])))' <<<"$r")"

# --- Wrap and Unwrap ---------------------------------------------------------
KEY=$(head -c 64 /dev/urandom | base64 -w0)
KEYHEX=$(base64 -d <<<"$KEY" | od -An -tx1 -v | tr -d ' \n')
r=$(scd_call org.cml.SCD.Wrap "{\"name\": \"c1\", \"key\": \"$KEY\"}")
expect_status "Wrap a 64-byte key for c1" 0 $?
W1=$(get wrapped <<<"$r")
r=$(unwrap c1 "$PIN1" "$W1")
expect_eq "Unwrap with the PIN gives the key back" "$KEY" "$(get key <<<"$r")"
expect_eq "Unwrap: the status in the reply" 3 "$(get status pin_tries_left <<<"$r")"
r=$(scd_call org.cml.SCD.Wrap "{\"name\": \"c2\", \"key\": \"$KEY\"}")
W2=$(get wrapped <<<"$r")
expect_eq "Unwrap c1's blob with c2's token: verification failed" "$VF 5 ready" \
    "$(unwrap c2 "$PIN2" "$W1" | failed)"
expect_eq "Unwrap c2's own blob" "$KEY" "$(unwrap c2 "$PIN2" "$W2" | get key)"

# --- wrong PINs: counted exactly, blocked after three -------------------------
expect_eq "wrong PIN 1: 2 left" "$VF 2 ready" "$(unwrap c1 "$WRONG1" "$W1" | failed)"
expect_eq "status after 1 wrong PIN" "2/3 3/3 ready" "$(counters c1)"
expect_eq "the state file has it too" 2 \
    "$(json_get pin_tries_left <"$TOKENS/c1/state")"
expect_eq "right PIN: the key, the counter back at 3" "$KEY" "$(unwrap c1 "$PIN1" "$W1" | get key)"
expect_eq "status after the right PIN" "3/3 3/3 ready" "$(counters c1)"
expect_eq "wrong PIN 1 of 3 (VerifyPIN)" "$VF 2 ready" "$(verify c1 "$WRONG1" | failed)"
expect_eq "wrong PIN 2 of 3" "$VF 1 ready" "$(verify c1 "$WRONG2" | failed)"
expect_eq "status: 1 left" "1/3 3/3 ready" "$(counters c1)"
expect_eq "wrong PIN 3 of 3: blocked" "$VF 0 pin-blocked" "$(unwrap c1 "$WRONG1" "$W1" | failed)"
expect_eq "status: PIN blocked" "0/3 3/3 pin-blocked" "$(counters c1)"
r=$(unwrap c1 "$PIN1" "$W1")
expect_eq "the right PIN now: refused alike" "$VF 0 pin-blocked" "$(failed <<<"$r")"
expect_eq "and no key in the refusal" "" "$(grep -F "$KEY" <<<"$r")"
expect_eq "VerifyPIN with the right PIN: refused alike" "$VF 0 pin-blocked" "$(verify c1 "$PIN1" | failed)"

# --- the PUK: counted, unblocks and sets a new PIN -----------------------
expect_eq "wrong PUK: 2 PUK tries left" "$VF 2 pin-blocked" "$(unblock c1 "$WRONGPUK" "$PIN1B" | failed)"
expect_eq "status after a wrong PUK" "0/3 2/3 pin-blocked" "$(counters c1)"
r=$(unblock c1 "$PUK1" "$PIN1B")
expect_status "Unblock with the PUK" 0 $?
expect_eq "Unblock: both counters back, ready" "3/3 3/3 ready" "$(counters c1)"
expect_eq "the old PIN no longer works (counted)" "$VF 2 ready" "$(verify c1 "$PIN1" | failed)"
expect_eq "the new PIN unwraps" "$KEY" "$(unwrap c1 "$PIN1B" "$W1" | get key)"
r=$(unblock c1 "$PUK1" "123456")
expect_eq "Unblock to a weak new PIN refused" org.cml.Error.InvalidArgument "$(json_get error <<<"$r")"
expect_eq "and it counted nothing" "3/3 3/3 ready" "$(counters c1)"

# --- ChangePIN ---------------------------------------------------------------
r=$(scd_call org.cml.SCD.ChangePIN "{\"name\": \"c2\", \"pin\": \"$WRONG1\", \"new_pin\": \"$PIN3\"}")
expect_eq "ChangePIN with a wrong PIN: counted" "$VF 4 ready" "$(failed <<<"$r")"
r=$(scd_call org.cml.SCD.ChangePIN "{\"name\": \"c2\", \"pin\": \"$PIN2\", \"new_pin\": \"654321\"}")
expect_eq "ChangePIN to a weak PIN refused" org.cml.Error.InvalidArgument "$(json_get error <<<"$r")"
r=$(scd_call org.cml.SCD.ChangePIN "{\"name\": \"c2\", \"pin\": \"$PIN2\", \"new_pin\": \"$PIN3\"}")
expect_status "ChangePIN" 0 $?
expect_eq "ChangePIN: counter back at 5" "5/5 2/2 ready" "$(counters c2)"
expect_eq "the new PIN unwraps" "$KEY" "$(unwrap c2 "$PIN3" "$W2" | get key)"
expect_eq "the old PIN is wrong now" "$VF 4 ready" "$(verify c2 "$PIN2" | failed)"

# --- malformed calls: refused clearly, nothing counted ------------------------
before=$(counters c2)
bad_call() { # bad_call DESCRIPTION ERROR-REGEX METHOD PARAMETERS
	local r
	r=$(scd_call "$3" "$4")
	expect_match "$1: refused" "$2" "$(json_get error <<<"$r") $(get message <<<"$r")"
}
bad_call "Wrap with a key not base64" 'InvalidArgument .*base64' org.cml.SCD.Wrap \
    '{"name": "c2", "key": "not base64!"}'
bad_call "Wrap with a key of 8 bytes" 'InvalidArgument .*16 to 64' org.cml.SCD.Wrap \
    '{"name": "c2", "key": "AAAAAAAAAAA="}'
bad_call "Wrap with a key of 65 bytes" 'InvalidArgument .*16 to 64' org.cml.SCD.Wrap \
    "{\"name\": \"c2\", \"key\": \"$(head -c 65 /dev/zero | base64 -w0)\"}"
bad_call "Unwrap of a blob not base64" 'InvalidArgument .*wrapped' org.cml.SCD.Unwrap \
    "{\"name\": \"c2\", \"pin\": \"$PIN3\", \"wrapped\": \"%%%%\"}"
bad_call "Unwrap of base64 that is no blob" 'InvalidArgument .*wrapped' org.cml.SCD.Unwrap \
    "{\"name\": \"c2\", \"pin\": \"$PIN3\", \"wrapped\": \"$KEY\"}"
long=$(printf 'x%.0s' {1..65})
bad_call "a PIN of 65 characters" 'InvalidArgument' org.cml.SCD.VerifyPIN \
    "{\"name\": \"c2\", \"pin\": \"$long\"}"
bad_call "a PIN with a control character" 'InvalidArgument' org.cml.SCD.VerifyPIN \
    '{"name": "c2", "pin": "abc\u0001defg"}'
bad_call "an empty PIN" 'InvalidArgument' org.cml.SCD.VerifyPIN \
    '{"name": "c2", "pin": ""}'
bad_call "a PIN that is a lone surrogate (no UTF-8)" 'Protocol|InvalidArgument|InvalidParameter' \
    org.cml.SCD.VerifyPIN '{"name": "c2", "pin": "\udcff\udcfe1234"}'
for name in ../c2 c2/../c2 /etc/passwd C2 -c2 "" c2. "$(printf 'a%.0s' {1..32})"; do
	bad_call "the name '$name'" 'InvalidArgument .*container name' org.cml.SCD.TokenStatus \
	    "{\"name\": \"$name\"}"
done
bad_call "Unwrap for a path-like name" 'InvalidArgument' org.cml.SCD.Unwrap \
    "{\"name\": \"../tokens/c2\", \"pin\": \"$PIN3\", \"wrapped\": \"$W2\"}"
bad_call "Init of type 'card'" 'InvalidArgument .*softtoken or usbtoken' org.cml.SCD.Init \
    "{\"name\": \"c9\", \"type\": \"card\", \"pin\": \"$PIN9\", \"pin_tries\": 3, \"puk_tries\": 3}"
bad_call "Init with 11 tries" 'InvalidParameter' org.cml.SCD.Init \
    "{\"name\": \"c9\", \"type\": \"softtoken\", \"pin\": \"$PIN9\", \"pin_tries\": 11, \"puk_tries\": 3}"
bad_call "an unknown parameter" 'InvalidParameter' org.cml.SCD.VerifyPIN \
    "{\"name\": \"c2\", \"pin\": \"$PIN3\", \"path\": \"/etc/shadow\"}"
bad_call "an unknown token" 'NotFound' org.cml.SCD.VerifyPIN \
    "{\"name\": \"nope\", \"pin\": \"$PIN3\"}"
# bytes that are not UTF-8, sent as they are
r=$(printf '{"method": "org.cml.SCD.VerifyPIN", "parameters": {"name": "c2", "pin": "ab\xff\xfe1234"}}\0' |
    python3 "$VARLINK_PY" "$SCD_SOCK" send 2>/dev/null | head -n 1)
expect_match "a PIN of bytes that are not UTF-8: refused" 'org.cml.Error.Protocol|InvalidArgument' "$r"
expect_eq "malformed calls counted nothing" "$before" "$(counters c2)"
expect_eq "no directory was made for a bad name" "c1 c2" "$(ls "$TOKENS" | tr '\n' ' ' | sed 's/ $//')"

# --- a restart keeps the counters -----------------------------------------------
verify c2 "$WRONG1" >/dev/null
expect_eq "c2 before the restart" "3/5 2/2 ready" "$(counters c2)"
scd_down TERM
scd_up test
expect_eq "c2 after a restart" "3/5 2/2 ready" "$(counters c2)"
expect_eq "c1 after a restart" "3/3 3/3 ready" "$(counters c1)"
scd_down KILL
scd_up test
expect_eq "c2 after kill -9 and a restart" "3/5 2/2 ready" "$(counters c2)"

# --- kill -9 while a verification is in flight: a try is gone -----------------
# scrypt at the default cost (128 MiB) takes long enough to kill scd while
# it checks the PIN; the state file shows when the counter was stored.
scd_down TERM
scd_up default
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c3\", \"type\": \"softtoken\", \"pin\": \"$PIN3\", \"puk\": \"$PUK2\", \"pin_tries\": 3, \"puk_tries\": 3}")
expect_status "Init c3 at the default KDF cost" 0 $?
expect_eq "c3 is scrypt N=2^17" 17 "$(json_get kdf log2n <"$TOKENS/c3/state")"
# two inits of one new token, at the default cost: the second is Busy, the
# first ends well
# (an attempt holds only while the first init is still running when the
# second comes; a new name each time)
for attempt in 1 2 3; do
	tn=n$attempt
	scd_call org.cml.SCD.Init "{\"name\": \"$tn\", \"type\": \"softtoken\", \"pin\": \"$PIN9\", \"puk\": \"$PUK2\", \"pin_tries\": 3, \"puk_tries\": 3}" \
	    >"$SCRATCH/init1" 2>&1 &
	cpid=$!
	for ((i = 0; i < 400; i++)); do
		[ -e "$TOKENS/.$tn.new" ] && break
		sleep 0.005
	done
	rb=$(scd_call org.cml.SCD.Init "{\"name\": \"$tn\", \"type\": \"softtoken\", \"pin\": \"$PIN9\", \"puk\": \"$PUK2\", \"pin_tries\": 3, \"puk_tries\": 3}")
	# (TokenExists: the first had ended when the second came)
	[ "$(json_get error <<<"$rb")" = org.cml.SCD.TokenExists ] || break
	echo "# attempt $attempt: the first init ended before the second came; again"
	wait "$cpid"
done
expect_eq "a second init of a token being made: Busy" \
    "org.cml.Error.Busy token $tn is being made: try again once that ends" \
    "$(json_get error <<<"$rb") $(get message <<<"$rb")"
wait "$cpid"
expect_eq "the first init ends with its token" "false" "$(get destroyed <"$SCRATCH/init1")"
expect_eq "the token made is the first init's: its PIN verifies" "3/3 3/3 ready" \
    "$(verify "$tn" "$PIN9" >/dev/null; counters "$tn")"
expect_eq "no directory of the init is left" "" \
    "$(cd "$TOKENS" && ls -A | grep -F ".$tn." || true)"
for ((i = 1; i <= attempt; i++)); do
	scd_call org.cml.SCD.Remove "{\"name\": \"n$i\"}" >/dev/null
	expect_status "token n$i removed" 0 $?
done

W3=$(scd_call org.cml.SCD.Wrap "{\"name\": \"c3\", \"key\": \"$KEY\"}" | get wrapped)
t0=$(date +%s%N)
expect_eq "c3: the right PIN unwraps" "$KEY" "$(unwrap c3 "$PIN3" "$W3" | get key)"
t1=$(date +%s%N)
kdf_ms=$(((t1 - t0) / 1000000))
echo "# one Unwrap at the default KDF cost: $kdf_ms ms"
for pin in "$PIN3" "$WRONG1"; do
	want=$(counters c3)
	want=${want%%/*}
	unwrap c3 "$pin" "$W3" >"$SCRATCH/inflight" 2>&1 &
	cpid=$!
	for ((i = 0; i < 400; i++)); do
		[ "$(json_get pin_tries_left <"$TOKENS/c3/state")" = $((want - 1)) ] && break
		sleep 0.005
	done
	scd_down KILL
	wait "$cpid"
	expect_status "Unwrap in flight when scd was killed: no reply" 3 $?
	scd_up test
	expect_eq "after kill -9 during a check: one try fewer" "$((want - 1))/3 3/3 ready" \
	    "$(counters c3)"
done
# one check of a token at a time; the loop answers while the worker works
expect_eq "c3 after two kills" "1/3 3/3 ready" "$(counters c3)"
# (each attempt holds only while the check is still in flight when the
# calls come back: one that ended first on a loaded machine says nothing,
# and is made again, eight times at most)
for attempt in 1 2 3 4 5 6 7 8; do
	taken=$(counters c3)
	taken=$((${taken%%/*} - 1))
	unwrap c3 "$PIN3" "$W3" >"$SCRATCH/inflight" 2>&1 &
	cpid=$!
	for ((i = 0; i < 400; i++)); do
		[ "$(json_get pin_tries_left <"$TOKENS/c3/state")" = "$taken" ] && break
		sleep 0.005
	done
	rb=$(verify c3 "$WRONG1")
	t0=$(date +%s%N)
	r=$(scd_call org.cml.SCD.TokenStatus '{"name": "c3"}')
	t1=$(date +%s%N)
	kill -0 "$cpid" 2>/dev/null && break
	echo "# attempt $attempt: the check ended before the calls came back; again"
	wait "$cpid"
done
expect_eq "a second check of a busy token: Busy" "org.cml.Error.Busy token c3 is busy" \
    "$(json_get error <<<"$rb") $(get message <<<"$rb")"
expect_eq "TokenStatus answers while the KDF runs (the try taken)" "$taken" \
    "$(get status pin_tries_left <<<"$r")"
status_ms=$(((t1 - t0) / 1000000))
echo "# TokenStatus during a check: $status_ms ms"
expect_eq "TokenStatus does not wait for the check (under half an Unwrap)" yes \
    "$([ "$status_ms" -lt $((kdf_ms / 2)) ] && echo yes || echo "no: $status_ms ms")"
wait "$cpid"
expect_eq "the check in flight ends with the key" "$KEY" "$(get key <"$SCRATCH/inflight")"
expect_eq "and the Busy call counted nothing" "3/3 3/3 ready" "$(counters c3)"
expect_eq "the right PIN again: the counter back at 3" "$KEY" "$(unwrap c3 "$PIN3" "$W3" | get key)"
expect_eq "c3 ready again" "3/3 3/3 ready" "$(counters c3)"

# --- another device: its own swtpm, another platform secret -------------------
D2=$SCRATCH/dev2
swtpm_start "$SCRATCH/tpm2"
mkdir -p "$D2/log" "$D2/var/lib/cml/scd/tokens" "$D2/etc/cml"
chmod 700 "$D2/var/lib/cml/scd" "$D2/var/lib/cml/scd/tokens"
cp -a "$TOKENS/c2" "$D2/var/lib/cml/scd/tokens/c2"
# its scd first, its KDF cost from scd.conf: no platform secret until its
# tpm2d serves, then it is taken without a restart
printf '# the second device\nkdf_cost = test\n' >"$D2/etc/cml/scd.conf"
exec 3< <(exec "$SCD" --root "$D2" --foreground --ready-fd 4 4>&1 \
    >>"$D2/log/scd.log" 2>&1 </dev/null)
track_pid $!
IFS= read -r -t 20 -u 3 line
exec 3<&-
[ "$line" = READY=1 ] || fail "the second scd did not start"
SOCK2=$D2/run/cml/scd.sock
r=$(scd_call org.cml.SCD.Status)
expect_eq "device 2 without tpm2d: no platform secret" absent "$(get platform_secret <<<"$r")"
expect_match "device 2 without tpm2d: Status says why" "^tpm2d: .*tpm2d" "$(get reason <<<"$r")"
r=$(verify c2 "$PIN3")
expect_eq "device 2 without tpm2d: token calls refused" org.cml.SCD.PlatformSecretUnavailable \
    "$(json_get error <<<"$r")"
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c5\", \"type\": \"softtoken\", \"pin\": \"$PIN9\", \"pin_tries\": 3, \"puk_tries\": 3}")
expect_eq "device 2 without tpm2d: Init refused" org.cml.SCD.PlatformSecretUnavailable \
    "$(json_get error <<<"$r")"
expect_eq "device 2 without tpm2d: nothing counted" "3/5 2/2 ready" "$(counters c2)"
exec 3< <(exec "$CML_BUILDDIR/daemon/tpm2d/tpm2d" --root "$D2" --tcti "$SWTPM_TCTI" \
    --seal-pcrs 16,23 --foreground --ready-fd 4 4>&1 >>"$D2/log/tpm2d.log" 2>&1 </dev/null)
track_pid $!
IFS= read -r -t 20 -u 3 line
exec 3<&-
[ "$line" = READY=1 ] || fail "the second tpm2d did not start"
# scd asks again after at most 5 s
for ((i = 0; i < 80; i++)); do
	[ "$(scd_call org.cml.SCD.Status | get platform_secret)" = present ] && break
	sleep 0.1
done
expect_eq "device 2: its scd has its own platform secret" present \
    "$(scd_call org.cml.SCD.Status | get platform_secret)"
expect_eq "device 2: the copied token is known" "3/5 2/2 ready" "$(counters c2)"
expect_eq "device 2: the right PIN does not open it (counted)" "$VF 2 ready" \
    "$(unwrap c2 "$PIN3" "$W2" | failed)"
expect_eq "device 2: nor VerifyPIN" "$VF 1 ready" "$(verify c2 "$PIN3" | failed)"
expect_eq "device 2: nor the PUK" "$VF 1 ready" "$(unblock c2 "$PUK2" "$PIN9" | failed)"
W2B=$(scd_call org.cml.SCD.Wrap "{\"name\": \"c2\", \"key\": \"$KEY\"}" | get wrapped)
SOCK2=
expect_eq "device 1: a key wrapped on device 2 does not unwrap (the PIN was right)" "$VF 5 ready" \
    "$(unwrap c2 "$PIN3" "$W2B" | failed)"
expect_eq "device 1: its own still does" "$KEY" "$(unwrap c2 "$PIN3" "$W2" | get key)"

# --- wrong PUKs block for good; Init again with force destroys ----------------
expect_eq "c2 wrong PUK 1 of 2" "$VF 1 ready" "$(unblock c2 "$WRONGPUK" "$PIN9" | failed)"
expect_eq "c2 wrong PUK 2 of 2: blocked for good" "$VF 0 blocked" \
    "$(unblock c2 "$WRONGPUK" "$PIN9" | failed)"
expect_eq "c2 status: blocked" "0/5 0/2 blocked" "$(counters c2)"
expect_eq "the right PUK now: refused alike" "$VF 0 blocked" "$(unblock c2 "$PUK2" "$PIN9" | failed)"
expect_eq "the right PIN now: refused alike" "$VF 0 blocked" "$(unwrap c2 "$PIN3" "$W2" | failed)"
scd_down TERM
scd_up test
expect_eq "blocked after a restart too" "0/5 0/2 blocked" "$(counters c2)"
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c2\", \"type\": \"softtoken\", \"pin\": \"$PIN9\", \"puk\": \"$PUK2\", \"pin_tries\": 3, \"puk_tries\": 3, \"force\": true}")
expect_status "Init c2 again with force" 0 $?
expect_eq "Init with force: destroyed says so" true "$(get destroyed <<<"$r")"
expect_eq "the new c2 is ready" "3/3 3/3 ready" "$(counters c2)"
expect_eq "what the old c2 protected is gone" "$VF 3 ready" "$(unwrap c2 "$PIN9" "$W2" | failed)"

# --- a state file damaged: the token is not used, Init needs force -----------
echo '{"type": "softtoken", "pin_tries_left": 99' >"$TOKENS/c1/state"
scd_down TERM
scd_up test
expect_match "a damaged state file is said in the log" "token c1 cannot be used: .*c1/state" \
    "$(cat "$STACK_DIR/log/scd.log")"
expect_eq "the damaged token is not known" org.cml.Error.NotFound \
    "$(scd_call org.cml.SCD.TokenStatus '{"name": "c1"}' | json_get error)"
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c1\", \"type\": \"softtoken\", \"pin\": \"$PIN9\", \"pin_tries\": 3, \"puk_tries\": 3}")
expect_eq "Init over it without force: TokenExists" org.cml.SCD.TokenExists "$(json_get error <<<"$r")"
r=$(scd_call org.cml.SCD.Init "{\"name\": \"c1\", \"type\": \"softtoken\", \"pin\": \"$PIN9\", \"puk\": \"$PUK2\", \"pin_tries\": 3, \"puk_tries\": 3, \"force\": true}")
expect_eq "Init over it with force: destroyed" true "$(get destroyed <<<"$r")"
expect_eq "the new c1" "3/3 3/3 ready" "$(counters c1)"

# --- Remove --------------------------------------------------------------------
r=$(scd_call org.cml.SCD.Remove '{"name": "c3"}')
expect_status "Remove c3" 0 $?
expect_eq "c3's files are gone" no "$([ -e "$TOKENS/c3" ] && echo yes || echo no)"
expect_eq "Status: two tokens" 2 "$(scd_call org.cml.SCD.Status | get tokens)"
expect_eq "nothing is left of replaced or removed tokens" "c1 c2" "$(ls -A "$TOKENS" | xargs)"

# --- the audit records -------------------------------------------------------
# scd's records as cmld stored them (type scd, details "#SEQ TYPE: ...")
# and those still in scd's spool, each "TYPE OBJECT RESULT: DETAILS"
AUDIT=$({
	cmlsh_run --json -c 'audit list --type scd' | python3 -c '
import json, re, sys
for r in json.load(sys.stdin)["records"]:
    m = re.match(r"#[0-9]+ ([a-z]+): (.*)", r["details"], re.S)
    if m:
        print(m.group(1), r["object"], r["result"] + ":", m.group(2))'
	audit_keep
	cat "$SCRATCH/audit"
})
expect_match "audited: token init" "token c2 ok: token init: softtoken [0-9a-f]{16}, 3 PIN and 3 PUK tries; the token it replaces was destroyed" "$AUDIT"
expect_match "audited: a wrong PIN with the tries left" "token c1 failed: PIN verification failed \(2 tries left\)" "$AUDIT"
expect_match "audited: PIN blocked" "token c1 blocked: PIN blocked" "$AUDIT"
expect_match "audited: PUK blocked" "token c2 blocked: PUK blocked" "$AUDIT"
expect_match "audited: unblock" "token c1 ok: PUK verified, PIN unblocked and set" "$AUDIT"
expect_match "audited: token removed" "token c3 ok: token removed" "$AUDIT"
expect_match "audited: the platform secret" "platform platform secret ok: taken from tpm2d" "$AUDIT"

# --- no secret anywhere --------------------------------------------------------
leaks=
for s in "${SECRETS[@]}" "$KEY" "$KEYHEX"; do
	for f in $(find "$STACK_DIR/log" "$STACK_DIR/var/lib/cml" "$D2/log" "$D2/var/lib/cml" -type f); do
		grep -aqF -- "$s" "$f" && leaks="$leaks $f:$s"
	done
	grep -qF -- "$s" <<<"$AUDIT" && leaks="$leaks audit:$s"
done
expect_eq "no PIN, PUK or key in logs, state files, databases or audit records" "" "$leaks"
expect_eq "no sanitizer report in scd's logs" "" \
    "$(grep -hE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$STACK_DIR/log/scd.log" "$D2/log/scd.log")"
finish
