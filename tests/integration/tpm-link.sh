#!/bin/bash
# cmld's link to tpm2d, the first stage, on the full stack (swtpm, tpm2d,
# cmld): device status shows tpm2d up and the TPM's state; tpm2d killed
# shows down at once and TPM commands are refused at once with the reason;
# tpm2d started again is found by cmld's retries without a command and
# without restarting cmld; tpm2d's audit records reach cmld's trail with
# tpm2d's times and pid, once, also when cmld ends between storing and
# acknowledging them; a hung tpm2d makes calls fail after 5 s while cmld
# serves other calls; records tpm2d dropped for lack of room are one record
# saying how many, once; tpm reset-system-key asks, is admin only, destroys
# the key and is audited; cmld without tpm2d runs and says tpm2d is down,
# or absent when told to run without it.
# Proves: CR 4.2 (tpm reset-system-key destroys the TPM-sealed system key:
# confirmed, admin only, audited with the caller; tpm2d then reports it
# absent), TSF.AUDIT (tpm2d's records stored by cmld with their original
# times, once across cmld restarts and crashes; a spool overflow recorded
# once with its count), CR 2.12 (tpm2d's records carry tpm2d's uid and
# pid), CR 2.8 (the loss and return of tpm2d and the refused and done
# resets audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 swtpm setpriv getent groupadd
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] ||
    skip "no tpm2d at $CML_BUILDDIR/daemon/tpm2d/tpm2d: build first"
ensure_groups
stack_start
user_programs

# Prints the pid of the stack's tpm2d (its pid file, checked).
tpm2d_pid() {
	local pid
	pid=$(head -n 1 "$STACK_DIR/run/cml/tpm2d.pid" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] || return 1
	case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
	*tpm2d*" --root $STACK_DIR "*) echo "$pid" ;;
	*) return 1 ;;
	esac
}

# Prints one member of device status --json: status_get KEY...
status_get() {
	cmlsh_run --json -c 'device status' | json_get "$@"
}

# Prints the tpm2d records of the trail, one line each:
# "seq=S time=T uid=U pid=P object=O result=R details=D".
tpm2d_records() {
	cmlsh_run --json -c 'audit list --type tpm2d' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    print("seq=%s time=%s uid=%s pid=%s object=%s result=%s details=%s" % (
        r["seq"], r["time"], r["uid"], r["pid"], r["object"], r["result"],
        r["details"]))'
}

# Waits up to 5 s until a tpm2d record's details match RE: wait_record RE.
wait_record() {
	local i
	for ((i = 0; i < 50; i++)); do
		tpm2d_records | grep -E "details=$1" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Milliseconds since the epoch of an RFC 3339 time with milliseconds.
ms_of() {
	python3 -c 'import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ")
t = t.replace(tzinfo=datetime.timezone.utc)
print(int(t.timestamp() * 1000))' "$1"
}

# --- up: the stage and the TPM's state -------------------------------------
expect_eq "tpm2d up" "up" "$(status_get stages tpm2d)"
expect_eq "system key unsealed" "unsealed" "$(status_get tpm system_key)"
expect_eq "tcti: the stack's swtpm" \
    "swtpm:path=$STACK_DIR/run/swtpm/swtpm.sock" "$(status_get tpm tcti)"
expect_eq "identity present" "present" "$(status_get tpm identity)"
out=$(cmlsh_run -c 'device status')
expect_lines "device status: the TPM's lines" "$(printf '%s\n' "$out" |
    grep -E '^(stages|tpm|system key|identity|state volume):')" \
	'^stages: +tpm2d=up scd=up cmld=up$' \
	"^tpm: +swtpm:path=${STACK_DIR//./\\.}/run/swtpm/swtpm\\.sock\$" \
	'^system key: +unsealed \(sealed to PCRs 16, 23\)$' \
	'^identity: +present \(0x[0-9a-f]+\)$' \
	'^state volume: +(plain \((no state volume is configured|the kernel has no device-mapper).*\)|encrypted)$'

# cmld says at start-up where its state lives, as tpm2d tells it
for ((i = 0; i < 50; i++)); do
	grep -q 'state directory: ' "$STACK_DIR/log/cmld.log" && break
	sleep 0.1
done
expect_match "cmld's log says how its state directory is kept" \
    'cmld: state directory: plain: no state volume is configured' \
    "$(grep 'state directory: ' "$STACK_DIR/log/cmld.log")"

# --- tpm2d's records: its times, its pid, stored after cmld's start --------
tpid=$(tpm2d_pid) || fail "cannot find the stack's tpm2d"
wait_record '#1 daemon: tpm2d .* started' ||
    fail "tpm2d's start record never reached the trail"
rec=$(tpm2d_records | grep -E 'details=#1 daemon: tpm2d .* started' | head -n 1)
expect_match "tpm2d's start: its uid and pid, its object and seq" \
    "^seq=[0-9]+ time=[^ ]+ uid=0 pid=$tpid object=tpm2d result=ok details=#1 daemon: tpm2d [^ ]+ started \\(pid $tpid," "$rec"
# in human output the writer is named where the uid would be
expect_match "audit list names tpm2d as the writer of its records" \
    '^ *[0-9]+ +[^ ]+ +tpm2d +tpm2d +[0-9]+ ' \
    "$(cmlsh_run -c 'audit list --type tpm2d --last 1' | sed -n 2p)"
expect_match "tpm2d's key creation stored too" \
    "uid=0 pid=$tpid object=system key result=ok details=#[0-9]+ syskey: system key created, sealed to PCRs 16,23" \
    "$(tpm2d_records)"
cmld_start=$(cmlsh_run --json -c 'audit list --type daemon' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["object"] == "cmld" and " started " in r["details"]:
        print(r["seq"], r["time"])' | tail -n 1)
t_seq=${rec#seq=}
t_seq=${t_seq%% *}
t_time=${rec#* time=}
t_time=${t_time%% *}
expect_eq "tpm2d's record is later in the trail than cmld's start" yes \
    "$([ "$t_seq" -gt "${cmld_start%% *}" ] && echo yes || echo "no: $t_seq, cmld's start ${cmld_start%% *}")"
expect_eq "tpm2d's record keeps its time, before cmld's start" yes \
    "$([ "$(ms_of "$t_time")" -lt "$(ms_of "${cmld_start#* }")" ] && echo yes || echo "no: $t_time, cmld started ${cmld_start#* }")"

# --- tpm2d killed: down at once, TPM commands refused at once ---------------
cpid=$(cmld_pid) || fail "cannot find cmld"
mapfile -d '' TPM2D_ARGV < <(cat "/proc/$tpid/cmdline")
kill -KILL "$tpid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.01
done
t0=$(date +%s%N)
state=$(status_get stages tpm2d)
t1=$(date +%s%N)
expect_eq "tpm2d killed: down" "down" "$state"
expect_eq "tpm2d killed: down said within a second" yes \
    "$([ $(((t1 - t0) / 1000000)) -lt 1000 ] && echo yes || echo "no: $(((t1 - t0) / 1000000)) ms")"
expect_match "tpm2d killed: why" \
    "^tpm2d is not running \\(stage 1\\): " "$(status_get tpm_error)"
expect_match "tpm2d killed: device status says so" \
    $'\ntpm: +unknown \\(tpm2d is not running \\(stage 1\\): ' "$out
$(cmlsh_run -c 'device status')"
t0=$(date +%s%N)
out=$(cmlsh_run --yes -c 'tpm reset-system-key' 2>&1)
rc=$?
t1=$(date +%s%N)
expect_status "tpm2d down: tpm reset-system-key refused" 1 $rc
expect_match "tpm2d down: the reason" \
    "^cmlsh: tpm2d is not running \\(stage 1\\): cannot connect to ${STACK_DIR//./\\.}/run/cml/tpm2d\\.sock: " "$out"
expect_eq "tpm2d down: refused at once, not after a timeout" yes \
    "$([ $(((t1 - t0) / 1000000)) -lt 1000 ] && echo yes || echo "no: $(((t1 - t0) / 1000000)) ms")"
expect_match "tpm2d down: the loss audited by cmld" \
    "(^|"$'\n'")type=daemon uid=0 pid=$cpid container= object=tpm2d result=org\\.cml\\.Error\\.Failed details=tpm2d is not running \\(stage 1\\)" \
    "$(audit_tail 10 | grep 'object=tpm2d ')"
expect_match "tpm2d down: the refused reset audited with the caller" \
    "^type=call uid=0 pid=[0-9]+ container= object=org\\.cml\\.Device\\.ResetSystemKey result=org\\.cml\\.Error\\.Failed details=tpm2d is not running" \
    "$(audit_tail 1)"

# --- tpm2d back: cmld finds it by itself, without a command -----------------
exec 5< <(exec "${TPM2D_ARGV[@]}" 4>&1 >>"$STACK_DIR/log/tpm2d.log" 2>&1 </dev/null)
IFS= read -r -t 10 -u 5 line
exec 5<&-
expect_eq "tpm2d started again" "READY=1" "$line"
tpid2=$(tpm2d_pid) || fail "cannot find the new tpm2d"
back=
for ((i = 0; i < 80; i++)); do
	# the trail only: nothing that calls tpm2d
	back=$(audit_tail 20 | grep "object=tpm2d result=ok details=tpm2d answers again")
	[ -n "$back" ] && break
	sleep 0.1
done
expect_match "tpm2d back: cmld reconnected on its own (retrying, 5 s at most)" \
    "^type=daemon uid=0 pid=$cpid " "$back"
expect_eq "tpm2d back: up" "up" "$(status_get stages tpm2d)"
expect_eq "tpm2d back: the same cmld" "$cpid" "$(cmld_pid)"
wait_record '#[0-9]+ syskey: system key unsealed \(PCRs 16,23\)' ||
    fail "the new tpm2d's unseal never reached the trail"
expect_match "tpm2d back: its unseal stored with its pid" \
    "uid=0 pid=$tpid2 object=system key result=ok details=#[0-9]+ syskey: system key unsealed \\(PCRs 16,23\\)" \
    "$(tpm2d_records)"
expect_eq "tpm2d back: system key unsealed" "unsealed" \
    "$(status_get tpm system_key)"

# --- tpm2d hung: calls time out with the reason, cmld serves on -------------
kill -STOP "$tpid2"
# device status uses a stage's answer again for 1 s (with no call out and
# its connection open): past that, it asks tpm2d, which does not answer
sleep 1.2
t0=$(date +%s%N)
cmlsh_run --json -c 'device status' >"$SCRATCH/hung.json" 2>&1 &
spid=$!
track_pid "$spid"
sleep 0.3
t2=$(date +%s%N)
out=$(cmlsh_run --json -c 'device config get device_name' | json_get settings 0 value)
t3=$(date +%s%N)
expect_eq "tpm2d hung: cmld answers other calls meanwhile" cml "$out"
expect_eq "tpm2d hung: at once" yes \
    "$([ $(((t3 - t2) / 1000000)) -lt 1000 ] && echo yes || echo "no: $(((t3 - t2) / 1000000)) ms")"
wait "$spid"
rc=$?
untrack_pid "$spid"
t1=$(date +%s%N)
expect_status "tpm2d hung: device status answers" 0 $rc
ms=$(((t1 - t0) / 1000000))
expect_eq "tpm2d hung: device status after the call's timeout (5 s), not much later" yes \
    "$([ "$ms" -ge 4500 ] && [ "$ms" -lt 11000 ] && echo yes || echo "no: $ms ms")"
expect_eq "tpm2d hung: down" down "$(json_get stages tpm2d <"$SCRATCH/hung.json")"
expect_match "tpm2d hung: why" \
    "^tpm2d (did not answer org\\.cml\\.TPM\\.[A-Za-z]+ within 5 s|does not answer \\(stage 1\\): the connection was closed after org\\.cml\\.TPM\\.[A-Za-z]+ got no answer within 5 s)\$" \
    "$(json_get tpm_error <"$SCRATCH/hung.json")"
kill -CONT "$tpid2"
up=
for ((i = 0; i < 80; i++)); do
	up=$(status_get stages tpm2d)
	[ "$up" = up ] && break
	sleep 0.1
done
expect_eq "tpm2d running again: up" up "$up"

# --- cmld restarted: nothing stored twice ------------------------------------
before=$(tpm2d_records | sed 's/^seq=[0-9]* //')
kill -TERM "$cpid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.05
done
STACK_RUNNING=0
stack_start
expect_eq "cmld restarted: tpm2d kept running" "$tpid2" "$(tpm2d_pid)"
expect_eq "cmld restarted: tpm2d up" "up" "$(status_get stages tpm2d)"
sleep 2.5 # a take or two
expect_eq "cmld restarted: tpm2d's records as before, none twice" \
    "$before" "$(tpm2d_records | sed 's/^seq=[0-9]* //')"

# --- tpm reset-system-key: confirmation, role, the reset, its audit --------
out=$(cmlsh_run -c 'tpm reset-system-key' 2>&1 </dev/null)
expect_status "reset without --yes and no terminal: refused" 2 $?
expect_match "reset without --yes: asks for --yes" "add --yes" "$out"
expect_eq "reset without --yes: key still unsealed" "unsealed" \
    "$(status_get tpm system_key)"

user_argv cml
"${USER_CMD[@]}" "$USER_CMLSH" --socket "$SOCK" --yes \
    -c 'tpm reset-system-key' >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
wait $pid
expect_status "operator: tpm reset-system-key refused" 1 $?
expect_match "operator: permission denied" "admin" "$(cat "$SCRATCH/err")"
expect_eq "operator: refusal audited with uid and pid" \
    "type=call uid=65534 pid=$pid container= object=org.cml.Device.ResetSystemKey result=org.cml.Error.PermissionDenied" \
    "$(audit_tail 1 | sed 's/ details=.*//')"
expect_eq "operator: key still unsealed" "unsealed" \
    "$(status_get tpm system_key)"

"$CMLSH" --socket "$SOCK" --yes -c 'tpm reset-system-key' \
    >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
wait $pid
expect_status "admin: tpm reset-system-key --yes" 0 $?
expect_match "reset: says what is lost and when a new key comes" \
    "^system key: absent"$'\n'"message: +The sealed system key is destroyed\\. tpm2d makes a new one at its next start" \
    "$(cat "$SCRATCH/out")"
# device status within a second of the last (operator: key still
# unsealed) uses tpm2d's answer again only while no call changed it
expect_eq "reset: device status at once says absent, not tpm2d's answer of before" \
    "absent" "$(status_get tpm system_key)"
# the records tpm2d made of it are stored before the reply: kill cmld
# before it acknowledges them (its next take), and start it again
crashed=$(cmld_pid)
kill -KILL "$crashed"
for ((i = 0; i < 100; i++)); do
	kill -0 "$crashed" 2>/dev/null || break
	sleep 0.01
done
STACK_RUNNING=0
stack_start
expect_match "reset: audited in cmld with the caller" \
    "type=call uid=0 pid=$pid container= object=org\\.cml\\.Device\\.ResetSystemKey result=ok details=the sealed system key was destroyed" \
    "$(audit_tail 40)"
expect_eq "reset: tpm2d says absent" "absent" "$(status_get tpm system_key)"
expect_match "reset: device status says when it comes back" \
    $'\nsystem key: +absent: destroyed by ResetSystemKey: a new system key is made at tpm2d\'s next start\n' \
    "$(cmlsh_run -c 'device status')"
sleep 2.5 # the new cmld takes (and acknowledges) again
n=$(tpm2d_records | grep -c 'details=#[0-9]* syskey: system key destroyed')
expect_eq "reset: tpm2d's record of it stored once, though cmld was killed before acknowledging it" \
    1 "$n"
n=$(tpm2d_records | grep -c 'details=#[0-9]* call: .*ResetSystemKey\|object=org.cml.TPM.ResetSystemKey')
expect_eq "reset: tpm2d's record of the call stored once" 1 "$n"
expect_match "reset: the new cmld found them in the trail" \
    "tpm2d's audit records: [0-9]+ stored, [1-9][0-9]* stored before" \
    "$(cat "$STACK_DIR/log/cmld.log")"

# --- tpm2d's spool overflows while cmld is stopped: one record says so ------
cpid=$(cmld_pid) || fail "cannot find cmld"
sleep 2.5 # cmld acknowledges what it stored
kill -TERM "$cpid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.05
done
STACK_RUNNING=0
# 550 resets of the (absent) key, each two records of tpm2d's (the call,
# the wipe): 1100, where its spool holds 1024
n=$(python3 -c 'import sys
sys.path.insert(0, sys.argv[2])
import varlink
c = varlink.Connection(sys.argv[1], 30)
n = 0
for i in range(550):
    r = c.call("org.cml.TPM.ResetSystemKey", {})
    if r is not None and "error" not in r:
        n += 1
print(n)' "$TPM2D_SOCK" "$(dirname "$VARLINK_PY")")
expect_eq "tpm2d: 550 resets while cmld is stopped" 550 "$n"
stack_start
dropped=
for ((i = 0; i < 50; i++)); do
	dropped=$(tpm2d_records | grep ' result=dropped ')
	[ -n "$dropped" ] && break
	sleep 0.1
done
expect_match "overflow: one record says how many tpm2d dropped, with its pid" \
    "^seq=[0-9]+ time=[^ ]+ uid=0 pid=$tpid2 object=audit spool result=dropped details=tpm2d dropped [0-9]+ of its audit records for lack of room \\([0-9]+ since it started\\)\$" \
    "$dropped"
k=$(printf '%s\n' "$dropped" | sed -n 's/.*details=tpm2d dropped \([0-9]*\) .*/\1/p')
expect_eq "overflow: at least the 76 beyond the 1024 the spool holds" yes \
    "$([ "${k:-0}" -ge 76 ] && echo yes || echo "no: ${k:-none}")"
# (a take hands over a bounded part of the spool: the rest at the next)
for ((i = 0; i < 60; i++)); do
	n=$(tpm2d_records | grep -c " pid=$tpid2 .* details=#[0-9]* \(call\|syskey\): .*system key destroyed")
	[ "$n" -ge 1024 ] && break
	sleep 0.1
done
expect_eq "overflow: the 1024 it held stored" yes \
    "$([ "$n" -ge 1024 ] && echo yes || echo "no: $n")"
sleep 2.5
kill -KILL "$(cmld_pid)"
sleep 0.2
stack_start
sleep 2.5
expect_eq "overflow: said once, though cmld was killed and started again" 1 \
    "$(tpm2d_records | grep -c ' result=dropped ')"

# --- cmld without tpm2d: runs, says tpm2d is down -------------------------
stack_stop
CML_STACK_NO_TPM2D=1 stack_start
expect_eq "no tpm2d: cmld runs, tpm2d down" "down" "$(status_get stages tpm2d)"
expect_match "no tpm2d: why" "^tpm2d is not running \\(stage 1\\): " \
    "$(status_get tpm_error)"
out=$(cmlsh_run --yes -c 'tpm reset-system-key' 2>&1)
expect_status "no tpm2d: reset refused" 1 $?
expect_match "no tpm2d: reset refused with the reason" \
    "^cmlsh: tpm2d is not running \\(stage 1\\)" "$out"

# --- cmld told to run without tpm2d (--tpm2d-socket ''): absent ----------
stack_stop
printf '#!/bin/sh\nexec "$@" --tpm2d-socket ""\n' >"$SCRATCH/no-tpm2d"
chmod 755 "$SCRATCH/no-tpm2d"
CML_STACK_NO_TPM2D=1 CML_TEST_WRAP=$SCRATCH/no-tpm2d stack_start
expect_eq "--tpm2d-socket '': tpm2d absent" "absent" \
    "$(status_get stages tpm2d)"
expect_eq "--tpm2d-socket '': no TPM state, no error" "" \
    "$(cmlsh_run -c 'device status' | grep -E '^(tpm|system key):')"
out=$(cmlsh_run --yes -c 'tpm reset-system-key' 2>&1)
expect_status "--tpm2d-socket '': reset refused" 1 $?
expect_eq "--tpm2d-socket '': reset refused with the reason" \
    "cmlsh: cmld runs without tpm2d (--tpm2d-socket ''): there is no TPM stage" \
    "$out"

finish
