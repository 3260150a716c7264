#!/bin/bash
# Containers' tokens through cmlsh, cmld and scd on the full stack (swtpm,
# tpm2d, scd, cmld), with software tokens: token init refused for a
# container whose config names no token; init with a generated PUK (shown
# once) and with a given one; status, verify, three wrong PINs (the same
# message each time, tries left 2, 1, 0 on a line of their own), the right
# PIN then refused, unblock with the PUK, change-pin; wrong PUKs block the
# token for good and only init --force makes it anew; operators may verify,
# change the PIN and unblock but not init; PINs read with --pin-stdin and
# on a terminal without echo (a new one twice), never from the command
# line; no PIN or PUK in a log, a database, scd's state or the audit trail;
# the token calls audited with the caller, scd's records stored by cmld;
# one token call per client process and 8 of all at a time (Busy beyond);
# scd down: a clear error at once, and the counters kept across its
# restart.  A usbtoken on the virtual OpenPGP card through pcscd and vpcd:
# token readers lists it, init on it, verify, a wrong PIN counted as gpg
# reads the card's counters, unblock with the PUK (the card's PW3),
# change-pin, the card pulled out refused with the reader named.
# Proves: CR 1.1 (a container's token unlocked by its PIN through cmlsh),
# CR 1.1(2) (a usbtoken's key needs the card in its reader and its PIN),
# CR 1.5 (PINs and PUKs managed through cmlsh: set at init, changed,
# unblocked with the PUK; never on a command line, never echoed, never
# stored or logged), CR 1.7 (a new PIN or PUK must pass the PIN policy in
# cmlsh before it is asked twice, and again in scd), CR 1.10 (every failed
# verification says the same, whatever the cause), CR 1.11 (three wrong
# PINs block the PIN, wrong PUKs block the token for good; the tries left
# exact at each step and kept across an scd restart), CR 2.8 (token
# commands audited with the caller, never with a PIN), TSF.CDATA (each
# container's own key wrapped under its token, checked by token verify).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pcsc.sh"

need_prog script setsid gpg gpgconf
# scd's cheapest key derivation: the flows, not the KDF's cost, are tested
export CML_STACK_KDF_COST=test
# the stack's scd reaches the private pcscd through PCSCLITE_CSOCK_NAME
pcsc_start
vcard_start "$SCRATCH/card.state" --serial 0000A1B2
pcsc_gpg_init
ct_setup
ensure_groups
user_programs

c1=$(ct_name tok1)
c2=$(ct_name tok2)
c3=$(ct_name tok3)
c4=$(ct_name tokc)
none=$(ct_name tokn)
for n in "$c1" "$c2" "$c3"; do
	ct_create "$n" '{"name":"'"$n"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"}}}'
done
ct_create "$c4" '{"name":"'"$c4"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"usbtoken"}}}'
ct_create "$none" '{"name":"'"$none"'","guestos":{"name":"busybox"}}'

# PINs and PUKs of this run: none is a run, a repetition or a default,
# and none is likely to stand in a log or a database by chance
PIN1=qz4829
PIN2=vx7302
PIN3=wy9153
PIN4=ju2648
WRONG=rn5910
PUK2=pk839201
BADPUK=bd102938
CPIN=cd4711x
CPUK=Quark-8264
CPIN2=tulip93x
SECRETS=("$PIN1" "$PIN2" "$PIN3" "$PIN4" "$WRONG" "$PUK2" "$BADPUK" "$CPIN"
    "$CPUK" "$CPIN2")

# tok LINES COMMAND: runs cmlsh -c COMMAND with the lines on stdin; stdout
# in $out, stderr in $err, the exit status in $rc
tok() {
	local lines=$1
	shift
	out=$(printf '%s' "$lines" | cmlsh_run -c "$*" 2>"$SCRATCH/err")
	rc=$?
	err=$(cat "$SCRATCH/err")
}

# tries NAME: "PIN PUK STATE" from token status --json
tries() {
	cmlsh_run --json -c "token status $1" | python3 -c '
import json, sys
s = json.load(sys.stdin)["status"]
print("%d/%d %d/%d %s bound=%s" % (s["pin_tries_left"], s["pin_tries_max"],
    s["puk_tries_left"], s["puk_tries_max"], s["state"], s["bound"]))'
}

# --- device status shows scd's state ---------------------------------------------
out=$(cmlsh_run -c 'device status')
expect_match "device status: scd has the platform secret" "platform secret: +present" "$out"
expect_match "device status: scd's tokens" "tokens: +[0-9]+" "$out"

# --- a container without a token ---------------------------------------------
tok "$PIN1"$'\n' "token init $none --generate-puk --pin-stdin"
expect_status "init: no token in the config: refused" 1 "$rc"
expect_eq "init: no token in the config: says how to choose one" \
    "cmlsh: container '$none' has no token: its config says cml.token.type none; set cml.token.type in its config to softtoken (a key file scd keeps) or usbtoken (an OpenPGP card) and create it again" \
    "$err"

# --- never on the command line --------------------------------------------------
tok "" "token verify $c1 --pin $PIN1"
expect_status "a PIN on the command line: usage error" 2 "$rc"
expect_eq "a PIN on the command line: refused, not sent" \
    "cmlsh: usage: token verify NAME [--pin-stdin]
cmlsh: the PIN is never given on the command line: it is asked for without echo, or read from stdin with --pin-stdin" \
    "$err"
out=$(setsid -w "$CMLSH" --socket "$SOCK" -c "token verify $c1" </dev/null 2>&1)
expect_status "no terminal and no --pin-stdin: usage error" 2 $?
expect_match "no terminal and no --pin-stdin: says to use it" \
    "there is no terminal to ask on: give it on stdin with --pin-stdin" "$out"
tok "" "token verify $c1 --pin-stdin"
expect_status "stdin ends before the PIN" 1 "$rc"
expect_eq "stdin ends before the PIN: says so" \
    "cmlsh: token verify: --pin-stdin: stdin ended before the PIN" "$err"

# --- init with a generated PUK ---------------------------------------------------
tok "" "token status $c1"
expect_status "status before init: refused" 1 "$rc"
expect_eq "status before init: no token, and what makes one" \
    "cmlsh: cannot read the token: container '$c1' has no token: 'token init $c1' makes one" "$err"
tok "123456"$'\n' "token init $c1 --generate-puk --pin-stdin"
expect_status "init: a PIN against the policy refused by cmlsh" 1 "$rc"
expect_match "init: the policy's reason, not the PIN" "^cmlsh: token init: " "$err"
expect_eq "init: a refused PIN is not shown" "" "$(printf '%s' "$err" | grep -F 123456)"
tok "$PIN1"$'\n' "token init $c1 --generate-puk --pin-stdin"
expect_status "init --generate-puk" 0 "$rc"
expect_eq "init --generate-puk: nothing on stderr" "" "$err"
PUK1=$(printf '%s\n' "$out" | sed -n 's/^PUK: \([0-9]\{12\}\) (write it down: it is shown only now)$/\1/p')
expect_match "init --generate-puk: the PUK shown once" '^[0-9]{12}$' "$PUK1"
SECRETS+=("$PUK1")
expect_lines "init: the token's status" "$out" \
	"^name:      $c1\$" \
	'^type:      softtoken$' \
	'^serial:    [0-9a-f]{16}$' \
	'^state:     ready$' \
	'^present:   yes$' \
	'^bound:     yes$' \
	'^pin tries: 3 of 3$' \
	'^puk tries: 3 of 3$' \
	'^PUK: [0-9]{12} \(write it down: it is shown only now\)$'
tok "" "token status $c1"
expect_status "status" 0 "$rc"
expect_eq "status: the PUK is not shown again" "" "$(printf '%s' "$out" | grep -i puk:)"
expect_eq "status: ready, 3 of 3, bound" "3/3 3/3 ready bound=True" "$(tries "$c1")"
tok "$PIN2"$'\n' "token init $c1 --generate-puk --pin-stdin"
expect_status "init again without --force: refused" 1 "$rc"
expect_match "init again without --force: says --force replaces it" \
    "^cmlsh: cannot make the token: .*--force" "$err"

# --- verify, three wrong PINs, blocked, unblock -------------------------------------
tok "$PIN1"$'\n' "token verify $c1 --pin-stdin"
expect_status "verify: the right PIN" 0 "$rc"
expect_match "verify: ready" $'(^|\n)state: +ready\n' "$out"
for left in 2 1 0; do
	tok "$WRONG"$'\n' "token verify $c1 --pin-stdin"
	expect_status "wrong PIN ($left left)" 1 "$rc"
	case $left in
	0) want="cmlsh: token verify $c1: verification failed
tries left: 0
PIN blocked: unblock it with the PUK (token unblock $c1)" ;;
	*) want="cmlsh: token verify $c1: verification failed
tries left: $left" ;;
	esac
	expect_eq "wrong PIN: the same message, then the tries left ($left)" "$want" "$err"
done
expect_eq "after three wrong PINs: pin-blocked" "0/3 3/3 pin-blocked bound=True" "$(tries "$c1")"
tok "$PIN1"$'\n' "token verify $c1 --pin-stdin"
expect_status "blocked: the right PIN refused" 1 "$rc"
expect_eq "blocked: the right PIN gets the same message" \
    "cmlsh: token verify $c1: verification failed
tries left: 0
PIN blocked: unblock it with the PUK (token unblock $c1)" "$err"
json=$(printf '%s\n' "$PIN1" | cmlsh_run --json -c "token verify $c1 --pin-stdin" 2>/dev/null)
expect_eq "blocked, --json: the error with tries_left and state" \
    '{"error": "org.cml.Token.VerificationFailed", "parameters": {"message": "verification failed", "tries_left": 0, "state": "pin-blocked"}}' \
    "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))')"
tok "$PUK1"$'\n'"$PIN2"$'\n' "token unblock $c1 --pin-stdin"
expect_status "unblock with the PUK" 0 "$rc"
expect_eq "unblocked: ready, 3 of 3" "3/3 3/3 ready bound=True" "$(tries "$c1")"
tok "$PIN2"$'\n' "token verify $c1 --pin-stdin"
expect_status "verify: the new PIN" 0 "$rc"
tok "$PIN1"$'\n' "token verify $c1 --pin-stdin"
expect_status "verify: the old PIN refused" 1 "$rc"
expect_eq "verify: the old PIN counts" "2/3 3/3 ready bound=True" "$(tries "$c1")"

# --- change-pin -----------------------------------------------------------------
tok "$PIN2"$'\n'"$PIN3"$'\n' "token change-pin $c1 --pin-stdin"
expect_status "change-pin" 0 "$rc"
expect_eq "change-pin: the counter back to 3" "3/3 3/3 ready bound=True" "$(tries "$c1")"
tok "$PIN3"$'\n' "token verify $c1 --pin-stdin"
expect_status "verify after change-pin: the new PIN" 0 "$rc"
tok "$WRONG"$'\n'"$PIN4"$'\n' "token change-pin $c1 --pin-stdin"
expect_status "change-pin with a wrong PIN: refused" 1 "$rc"
expect_eq "change-pin with a wrong PIN: the same message" \
    "cmlsh: token change-pin $c1: verification failed
tries left: 2" "$err"

# --- operators: verify, change-pin, unblock; not init ----------------------------
opsh() {
	local lines=$1
	shift
	out=$(printf '%s' "$lines" | as_user cml "$USER_CMLSH" --socket "$SOCK" -c "$*" 2>"$SCRATCH/err")
	rc=$?
	err=$(cat "$SCRATCH/err")
}
opsh "$PIN3"$'\n' "token verify $c1 --pin-stdin"
expect_status "operator: verify" 0 "$rc"
opsh "$PIN3"$'\n'"$PIN4"$'\n' "token change-pin $c1 --pin-stdin"
expect_status "operator: change-pin" 0 "$rc"
opsh "$PUK1"$'\n'"$PIN3"$'\n' "token unblock $c1 --pin-stdin"
expect_status "operator: unblock" 0 "$rc"
opsh "" "token status $c1"
expect_status "operator: status" 0 "$rc"
opsh "$PIN1"$'\n'"$PUK2"$'\n' "token init $c2 --pin-stdin"
expect_status "operator: init refused" 1 "$rc"
expect_match "operator: init needs the admin role" \
    "^cmlsh: permission denied: 'token init' needs the admin role" "$err"

# --- init with a given PUK; wrong PUKs block the token for good ---------------------
tok "$PIN1"$'\n'"$PUK2"$'\n' "token init $c2 --pin-stdin"
expect_status "init with a given PUK" 0 "$rc"
expect_eq "init with a given PUK: no PUK shown" "" "$(printf '%s' "$out" | grep '^PUK')"
for left in 2 1; do
	tok "$BADPUK"$'\n'"$PIN2"$'\n' "token unblock $c2 --pin-stdin"
	expect_status "wrong PUK ($left left)" 1 "$rc"
	expect_eq "wrong PUK: the same message, the PUK's tries left ($left)" \
	    "cmlsh: token unblock $c2: verification failed
tries left: $left" "$err"
done
tok "$BADPUK"$'\n'"$PIN2"$'\n' "token unblock $c2 --pin-stdin"
expect_status "the last wrong PUK" 1 "$rc"
expect_eq "the last wrong PUK: blocked for good" \
    "cmlsh: token unblock $c2: verification failed
tries left: 0
token blocked for good: only token init again (destroys its keys)" "$err"
expect_eq "blocked for good: no tries left of either" "0/3 0/3 blocked bound=True" "$(tries "$c2")"
tok "$PUK2"$'\n'"$PIN2"$'\n' "token unblock $c2 --pin-stdin"
expect_status "blocked for good: the right PUK refused" 1 "$rc"
tok "$PIN1"$'\n' "token verify $c2 --pin-stdin"
expect_status "blocked for good: the right PIN refused" 1 "$rc"
tok "$PIN4"$'\n' "token init $c2 --force --generate-puk --pin-stdin"
expect_status "init --force" 0 "$rc"
expect_match "init --force: says the old token is destroyed" \
    $'(^|\n)The token there was is destroyed, and what it protected with it\.\n' "$out"
SECRETS+=("$(printf '%s\n' "$out" | sed -n 's/^PUK: \([0-9]*\) .*/\1/p')")
expect_eq "init --force: a new token, ready" "3/3 3/3 ready bound=True" "$(tries "$c2")"
tok "$PIN4"$'\n' "token verify $c2 --pin-stdin"
expect_status "init --force: its PIN works" 0 "$rc"

# --- on a terminal: no echo, a new PIN twice ------------------------------------------
tok "$PIN1"$'\n' "token init $c3 --generate-puk --pin-stdin"
expect_status "init $c3" 0 "$rc"
SECRETS+=("$(printf '%s\n' "$out" | sed -n 's/^PUK: \([0-9]*\) .*/\1/p')")
# prompt_wait TEXT N: waits up to 10 s until the terminal showed TEXT N times
prompt_wait() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -a -c -- "$1" "$SCRATCH/tty.out" 2>/dev/null)" -ge "$2" ] &&
		    return 0
		sleep 0.1
	done
	return 1
}
pty_start 24 80 "$CMLSH" --socket "$SOCK" -c "token change-pin $c3"
prompt_wait "^PIN: " 1 || fail "change-pin on a terminal: no PIN prompt"
pty_keys "$PIN1\r"
prompt_wait "^New PIN: " 1 || fail "change-pin: no new PIN prompt"
pty_keys "$PIN2\r"
prompt_wait "^Repeat new PIN: " 1 || fail "change-pin: no repeat prompt"
pty_keys "$PIN3\r"
prompt_wait "^New PIN: " 2 || fail "change-pin: a mismatch not asked again"
pty_keys "$PIN2\r"
prompt_wait "^Repeat new PIN: " 2 || fail "change-pin: no second repeat prompt"
pty_keys "$PIN2\r"
pty_end
expect_status "change-pin on a terminal" 0 "$trc"
tty_out=$(tr -d '\r' <"$SCRATCH/tty.out")
expect_eq "change-pin on a terminal: the prompts, a mismatch asked again, no PIN echoed" \
"PIN: 
New PIN: 
Repeat new PIN: 
They differ: again.
New PIN: 
Repeat new PIN: " "$(printf '%s\n' "$tty_out" | sed -n '1,6p')"
for s in "$PIN1" "$PIN2" "$PIN3"; do
	expect_eq "no PIN on the terminal ($s)" "" "$(grep -aF -- "$s" "$SCRATCH/tty.out")"
done
expect_eq "change-pin on a terminal: the new PIN set" "3/3 3/3 ready bound=True" "$(tries "$c3")"
pty_start 24 80 "$CMLSH" --socket "$SOCK" -c "token verify $c3"
prompt_wait "^PIN: " 1 || fail "verify on a terminal: no PIN prompt"
pty_keys "$WRONG\r"
pty_end
expect_status "verify on a terminal: a wrong PIN" 1 "$trc"
expect_eq "verify on a terminal: the message and the tries left, no PIN" \
"PIN: 
cmlsh: token verify $c3: verification failed
tries left: 2" "$(tr -d '\r' <"$SCRATCH/tty.out")"

# --- a usbtoken: the virtual OpenPGP card through pcscd and vpcd ---------------------
# gpg's PW1 and PW3 counters of the card ("3 3"); its scdaemon let go after
gpg_tries() {
	local out
	out=$(pcsc_gpg --with-colons --card-status 2>&1)
	pcsc_gpg_stop
	sed -n 's/^pinretry:\(.*\):$/\1/p' <<<"$out" | head -n 1 |
	    awk -F: '{ print $1 " " $3 }'
}
json=$(cmlsh_run --json -c 'token readers')
expect_eq "token readers: the card's reader, an OpenPGP card; vpcd's second reader, empty" \
    "$VPCD_READER openpgp FF7F:0000A1B2
${VPCD_READER% 00} 01 none None" \
    "$(printf '%s' "$json" | python3 -c 'import json, sys
for r in json.load(sys.stdin)["readers"]:
    print(r["name"], r["card"], r.get("serial"))')"
tok "$CPIN"$'\n'"$CPUK"$'\n' "token init $c4 --reader '$VPCD_READER' --pin-stdin"
expect_status "usbtoken: init on the card" 0 "$rc"
expect_lines "usbtoken: init: the card's status" "$out" \
	"^name:      $c4\$" \
	'^type:      usbtoken$' \
	'^serial:    FF7F:0000A1B2$' \
	"^reader:    $VPCD_READER\$" \
	'^state:     ready$' \
	'^present:   yes$' \
	'^bound:     yes$' \
	'^pin tries: 3 of 3$' \
	'^puk tries: 3 of 3$'
expect_eq "usbtoken: gpg reads the card's counters: 3 and 3" "3 3" "$(gpg_tries)"
tok "$CPIN"$'\n' "token verify $c4 --pin-stdin"
expect_status "usbtoken: verify (the card unwraps the container's key)" 0 "$rc"
tok "$WRONG"$'\n' "token verify $c4 --pin-stdin"
expect_status "usbtoken: a wrong PIN" 1 "$rc"
expect_eq "usbtoken: a wrong PIN: the same message, the tries left" \
    "cmlsh: token verify $c4: verification failed
tries left: 2" "$err"
expect_eq "usbtoken: 2 tries left" "2/3 3/3 ready bound=True" "$(tries "$c4")"
expect_eq "usbtoken: gpg agrees: 2 and 3" "2 3" "$(gpg_tries)"
tok "$CPUK"$'\n'"$CPIN2"$'\n' "token unblock $c4 --pin-stdin"
expect_status "usbtoken: unblock with the PUK (the card's PW3)" 0 "$rc"
expect_eq "usbtoken: gpg agrees: 3 and 3" "3 3" "$(gpg_tries)"
tok "$CPIN2"$'\n' "token verify $c4 --pin-stdin"
expect_status "usbtoken: verify the new PIN" 0 "$rc"
tok "$CPIN2"$'\n'"$CPIN"$'\n' "token change-pin $c4 --pin-stdin"
expect_status "usbtoken: change-pin" 0 "$rc"
tok "$CPIN"$'\n' "token verify $c4 --pin-stdin"
expect_status "usbtoken: verify after change-pin" 0 "$rc"
vcard_remove
tok "$CPIN"$'\n' "token verify $c4 --pin-stdin"
expect_status "usbtoken: the card pulled out: refused" 1 "$rc"
expect_match "usbtoken: the card pulled out: says so" \
    "^cmlsh: cannot verify the PIN: .*'$VPCD_READER'" "$err"
vcard_start "$SCRATCH/card.state" --serial 0000A1B2
tok "$CPIN"$'\n' "token verify $c4 --pin-stdin"
expect_status "usbtoken: the card back: verify" 0 "$rc"

# --- audit: the calls with their callers, scd's own records; never a PIN ------------
trail=$(audit_tail 400)
expect_match "audit: init with the caller" \
    "(^|"$'\n'")type=call uid=0 pid=[0-9]+ container=$c1 object=org\\.cml\\.Token\\.Init result=ok details=softtoken [0-9a-f]{16} made for container '$c1', its key bound to it; the PUK was generated and shown once" \
    "$trail"
expect_match "audit: a failed verification with the caller" \
    "(^|"$'\n'")type=call uid=0 pid=[0-9]+ container=$c1 object=org\\.cml\\.Token\\.Verify result=org\\.cml\\.Token\\.VerificationFailed details=verification failed" \
    "$trail"
expect_match "audit: an operator's change-pin with the operator's uid" \
    "(^|"$'\n'")type=call uid=65534 pid=[0-9]+ container=$c1 object=org\\.cml\\.Token\\.ChangePIN result=ok details=PIN changed" \
    "$trail"
expect_match "audit: the operator's init refused" \
    "(^|"$'\n'")type=call uid=65534 pid=[0-9]+ container=$c2 object=org\\.cml\\.Token\\.Init result=org\\.cml\\.Error\\.PermissionDenied" \
    "$trail"
expect_match "audit: scd's own records stored by cmld" \
    "(^|"$'\n'")type=scd uid=0 pid=[0-9]+ container= object=[^ ]+ result=[^ ]+ details=#[0-9]+ " \
    "$trail"

# --- at most one token call per client, and 8 of all clients ------------------------
# scd stopped (SIGSTOP): the calls out to it wait, holding their places
spid=$(head -n 1 "$STACK_DIR/run/cml/scd.pid" 2>/dev/null | tr -dc 0-9)
[ -n "$spid" ] || fail "cannot find scd's pid"
busy=$(python3 - "$SOCK" "$c1" "$spid" "$CML_SRCDIR/tests/integration" <<'PY' 2>&1
import os, signal, sys, time
sys.path.insert(0, sys.argv[4])
import varlink
sock, name, scd = sys.argv[1], sys.argv[2], int(sys.argv[3])
call = ("org.cml.Token.Status", {"name": name})
def said(r):
    return "%s %s" % (r.get("error"), r.get("parameters", {}).get("message"))
os.kill(scd, signal.SIGSTOP)
try:
    a = varlink.Connection(sock, 30)
    a.send(*call)
    time.sleep(0.3)
    # the same process on a second connection
    print(said(varlink.Connection(sock, 30).call(*call)))
    # seven other processes take the other places
    kids = []
    for i in range(7):
        pid = os.fork()
        if pid == 0:
            c = varlink.Connection(sock, 30)
            c.send(*call)
            r = c.recv()
            os._exit(0 if r is not None and "error" not in r else 1)
        kids.append(pid)
    time.sleep(0.5)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, said(varlink.Connection(sock, 30).call(*call)).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    print(os.read(r, 4096).decode())
finally:
    os.kill(scd, signal.SIGCONT)
# once scd goes on, every call that waited is answered
ok = a.recv() is not None
for pid in kids:
    ok = os.waitpid(pid, 0)[1] == 0 and ok
print("waiting calls answered" if ok else "a waiting call failed")
PY
)
expect_eq "busy: one token call per client, 8 of all clients" \
"org.cml.Error.Busy 'token status': this client has a token call waiting for scd; one at a time
org.cml.Error.Busy 'token status': 8 token calls are waiting for scd; try again shortly
waiting calls answered" "$busy"
tok "" "token status $c1"
expect_status "busy: the places free again" 0 "$rc"

# --- scd down: a clear error at once; back: the counters kept ---------------------
tok "$WRONG"$'\n' "token verify $c3 --pin-stdin"
expect_eq "before scd's restart: one more wrong PIN" "1/3 3/3 ready bound=True" "$(tries "$c3")"
spid=$(head -n 1 "$STACK_DIR/run/cml/scd.pid" 2>/dev/null | tr -dc 0-9)
[ -n "$spid" ] || fail "cannot find scd's pid"
mapfile -d '' SCD_ARGV < <(cat "/proc/$spid/cmdline")
kill -KILL "$spid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$spid" 2>/dev/null || break
	sleep 0.05
done
t0=$(date +%s%N)
tok "$PIN2"$'\n' "token verify $c3 --pin-stdin"
t1=$(date +%s%N)
expect_status "scd down: verify refused" 1 "$rc"
expect_match "scd down: says scd is not running" \
    "^cmlsh: cannot verify the PIN: scd is not running \\(stage 2\\): cannot connect to ${STACK_DIR//./\\.}/run/cml/scd\\.sock: " "$err"
expect_eq "scd down: refused at once" yes \
    "$([ $(((t1 - t0) / 1000000)) -lt 1000 ] && echo yes || echo "no: $(((t1 - t0) / 1000000)) ms")"
tok "" "token status $c3"
expect_match "scd down: status says so too" "^cmlsh: cannot read the token: scd is not running \\(stage 2\\)" "$err"
exec 5< <(exec "${SCD_ARGV[@]}" 4>&1 >>"$STACK_DIR/log/scd.log" 2>&1 \
    </dev/null)
IFS= read -r -t 10 -u 5 line
exec 5<&-
expect_eq "scd started again" "READY=1" "$line"
expect_eq "scd back: the counters kept" "1/3 3/3 ready bound=True" "$(tries "$c3")"
tok "$PIN2"$'\n' "token verify $c3 --pin-stdin"
expect_status "scd back: verify" 0 "$rc"

# --- container remove takes its token and wrapped key along ----------------------
c5=$(ct_name tok5)
ct_create "$c5" '{"name":"'"$c5"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"}}}'
tok "$PIN1"$'\n' "token init $c5 --generate-puk --pin-stdin"
expect_status "remove: a token to remove" 0 "$rc"
out=$(cmlsh_run -y -c "container remove $c5" 2>&1)
expect_match "remove: says the token is removed" "token: +removed" "$out"
expect_eq "remove: no wrapped key left" 0 \
    "$(sqlite3 "$STACK_DIR/var/lib/cml/cml.db" "SELECT count(*) FROM container_key WHERE container = '$c5'")"
expect_eq "remove: scd forgot the token" "" \
    "$(ls "$STACK_DIR/var/lib/cml/scd/tokens" | grep -Fx "$c5")"
ct_create "$c5" '{"name":"'"$c5"'","guestos":{"name":"busybox"},"cml":{"token":{"type":"softtoken"}}}'
tok "$PIN1"$'\n' "token init $c5 --generate-puk --pin-stdin"
expect_status "remove: a new container of that name gets a token without --force" 0 "$rc"

# --- no PIN or PUK anywhere: logs, databases, scd's state, the trail -----------------
stack_stop
for s in "${SECRETS[@]}"; do
	[ -n "$s" ] || continue
	found=$(grep -raFl -- "$s" "$STACK_DIR" 2>/dev/null)
	expect_eq "no secret ${s:0:2}... in a log, database or state file" "" "$found"
done
hits=$(sqlite3 "$STACK_DIR/var/lib/cml/audit.db" "SELECT count(*) FROM audit WHERE details LIKE '%$PIN1%' OR details LIKE '%$PUK2%'" 2>&1)
expect_eq "no PIN or PUK in the audit trail's rows" 0 "$hits"
keys=$(sqlite3 "$STACK_DIR/var/lib/cml/cml.db" "SELECT container || ' ' || token_type || ' ' || length(kcv) || ' ' || (length(wrapped) > 64) FROM container_key ORDER BY container" 2>&1)
expect_eq "cmld keeps a wrapped key and a check value per token" \
"$c1 softtoken 32 1
$c2 softtoken 32 1
$c3 softtoken 32 1
$c5 softtoken 32 1
$c4 usbtoken 32 1" "$keys"
vcard_check_logs

finish
