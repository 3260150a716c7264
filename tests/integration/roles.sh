#!/bin/bash
# Roles from the caller's credentials: a user in no cml group cannot reach
# the 0660 socket and, when the socket is opened up, is refused and
# disconnected; an operator (group cml) may read but not change; an admin
# (group cml-admin) may change.  Every refusal is audited with uid and pid.
# Proves: CR 2.1 (roles from kernel credentials; socket 0660 group cml),
# CR 2.8 (refusals and changes audited), CR 2.12 (with uid and pid),
# CR 2.12(1) (operators and non-root admins alike),
# CR 7.6 (settings changed by admins only),
# CR 6.1 (an operator reads the audit trail).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 setpriv getent groupadd
ensure_groups
stack_start
user_programs

NOBODY=65534
setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups true 2>/dev/null ||
    skip "setpriv cannot switch to uid $NOBODY here"

# as USER-GROUPS cmlsh ARGS...: cmlsh as uid 65534 with those groups
as_cmlsh() {
	local groups=$1
	shift
	as_user "$groups" "$USER_CMLSH" --socket "$SOCK" "$@"
}

expect_eq "control socket mode and group" "660 cml" "$(stat -c '%a %G' "$SOCK")"
rundir=$(dirname "$SOCK")
as_user cml test -x "$rundir"
rc=$?
expect_status "an operator can enter the socket's directory $rundir (mode $(stat -c %a "$rundir"))" 0 $rc

# --- no cml group, socket 0660: the kernel refuses the connection --------
out=$(as_cmlsh "" -c 'device status' 2>"$SCRATCH/err")
expect_status "no group: device status" 1 $?
expect_eq "no group: nothing on stdout" "" "$out"
expect_eq "no group: cannot reach cmld" \
    "cmlsh: cannot reach cmld at $SOCK: Permission denied: are you in group cml?" \
    "$(cat "$SCRATCH/err")"

# --- no cml group, socket opened up to everyone: cmld refuses ------------
chmod 0666 "$SOCK"
before=$(audit_count)
user_argv ""
"${USER_CMD[@]}" "$USER_CMLSH" --socket "$SOCK" -c 'device status' \
    >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
wait $pid
expect_status "no group, socket 0666: device status" 1 $?
expect_eq "no group, socket 0666: nothing on stdout" "" "$(cat "$SCRATCH/out")"
expect_match "no group, socket 0666: refused with a message" \
    '^cmlsh: [^ ].{10,}$' "$(cat "$SCRATCH/err")"
# refused at connect (a session record) or at the call (a call record)
expect_match "no group, socket 0666: refusal audited" \
    "^type=(session|call) uid=$NOBODY pid=$pid container= object=[^ ]* result=org\\.cml\\.Error\\.PermissionDenied details=" \
    "$(audit_tail 1)"
expect_eq "no group, socket 0666: one record" "$((before + 1))" "$(audit_count)"

json=$(as_cmlsh "" --json -c 'device status' 2>/dev/null)
expect_status "no group, socket 0666: device status --json" 1 $?
expect_eq "no group, socket 0666: error name" "org.cml.Error.PermissionDenied" \
    "$(printf '%s' "$json" | json_get error 2>&1)"

# and a plain varlink client is refused and then disconnected
out=$(as_user "" "$USER_PYTHON3" - "$SOCK" "$SCRATCH/bin" <<'PY' 2>&1
import sys
sys.path.insert(0, sys.argv[2])
import varlink
c = varlink.Connection(sys.argv[1])
c.send("org.varlink.service.GetInfo", {})
r = c.recv()
print(r.get("error") if r else None, "closed" if c.closed_by_peer(5) else "open")
PY
)
expect_eq "no group, plain client: PermissionDenied, then closed" \
    "org.cml.Error.PermissionDenied closed" "$out"
chmod 0660 "$SOCK"

# --- operator: group cml ---------------------------------------------------
out=$(as_cmlsh cml -c 'device status' 2>"$SCRATCH/err")
expect_status "operator: device status" 0 $?
expect_match "operator: device status shows the name" $'(^|\n)name: +cml(\n|$)' "$out"
expect_eq "operator: device status, no error" "" "$(cat "$SCRATCH/err")"
out=$(as_cmlsh cml -c 'device config get device_name' 2>"$SCRATCH/err")
expect_status "operator: device config get" 0 $?
expect_match "operator: device config get shows device_name" $'\ndevice_name +cml +string +cml$' "$out"
as_cmlsh cml -c 'audit list' >/dev/null 2>"$SCRATCH/err"
expect_status "operator: audit list" 0 $?
expect_eq "operator: audit list, no error" "" "$(cat "$SCRATCH/err")"

before=$(audit_count)
user_argv cml
"${USER_CMD[@]}" "$USER_CMLSH" --socket "$SOCK" \
    -c 'device config set device_name operator-was-here' \
    >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
wait $pid
expect_status "operator: device config set" 1 $?
expect_eq "operator: device config set prints nothing on stdout" "" "$(cat "$SCRATCH/out")"
expect_match "operator: device config set is refused with a message" \
    '^cmlsh: [^ ].{10,}$' "$(cat "$SCRATCH/err")"
json=$(as_cmlsh cml --json -c 'device config set device_name operator-was-here' 2>/dev/null)
expect_status "operator: device config set --json" 1 $?
expect_eq "operator: refused with PermissionDenied" "org.cml.Error.PermissionDenied" \
    "$(printf '%s' "$json" | json_get error 2>&1)"
expect_eq "operator: device_name unchanged" \
    "cml" "$(cmlsh_run --json -c 'device config get device_name' | json_get settings 0 value)"
expect_eq "operator: both refusals audited" "$((before + 2))" "$(audit_count)"
expect_eq "operator: refusal audited with uid, pid, object, result" \
    "type=call uid=$NOBODY pid=$pid container= object=org.cml.Device.SetConfig result=org.cml.Error.PermissionDenied" \
    "$(audit_tail 2 | head -n 1 | sed 's/ details=.*//')"

# --- admin: group cml-admin (and cml, to reach the socket) ----------------
user_argv cml,cml-admin
"${USER_CMD[@]}" "$USER_CMLSH" --socket "$SOCK" \
    -c 'device config set device_name admin-was-here' \
    >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
wait $pid
expect_status "admin: device config set" 0 $?
expect_eq "admin: device config set output" \
"key:   device_name
value: admin-was-here" "$(cat "$SCRATCH/out")"
expect_eq "admin: no error" "" "$(cat "$SCRATCH/err")"
expect_eq "admin: device_name changed" \
    "admin-was-here" "$(cmlsh_run --json -c 'device config get device_name' | json_get settings 0 value)"
expect_eq "admin: change audited with uid, pid, object, result" \
    "type=call uid=$NOBODY pid=$pid container= object=org.cml.Device.SetConfig result=ok details=device_name=admin-was-here" \
    "$(audit_tail 1)"

finish
