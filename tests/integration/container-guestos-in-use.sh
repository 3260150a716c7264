#!/bin/bash
# A guest OS in use cannot be removed: not the version a container runs on,
# and not all versions while a container is configured for it.  Once the
# container is stopped and removed, the guest OS can be removed.
# Proves: OS 01 (a guest OS stays while a container needs it),
# CR 2.8 (refusals audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

name=$(ct_name inuse)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"}}'
ct_start "$name"

out=$(cmlsh_run --yes guestos remove busybox 1.0 2>"$SCRATCH/err")
expect_status "remove the version a container runs on" 1 $?
expect_eq "remove the running version: the reason" \
    "cmlsh: guest OS busybox 1.0 is in use by container '$name': stop it first" \
    "$(cat "$SCRATCH/err")"
expect_eq "remove the running version: audited" \
    "object=org.cml.GuestOS.Remove result=org.cml.Error.Busy" \
    "$(audit_last | sed -n 2p | grep -o 'object=[^ ]* result=[^ ]*')"

out=$(cmlsh_run --yes guestos remove busybox 2>"$SCRATCH/err")
expect_status "remove all versions while a container is configured for it" 1 $?
expect_eq "remove all versions: the reason" \
    "cmlsh: guest OS busybox is in use by container '$name': remove it first" \
    "$(cat "$SCRATCH/err")"
expect_eq "the guest OS is still installed" "busybox 1.0" \
    "$(cmlsh_run --json guestos list | python3 -c 'import json,sys
print(" ".join(g["name"] + " " + g["version"] for g in json.load(sys.stdin)["guestos"]))')"

_run_tool "container stop" "$CMLSH" --socket "$SOCK" container stop "$name"
_run_tool "container remove" "$CMLSH" --socket "$SOCK" --yes container remove "$name"
out=$(cmlsh_run --yes guestos remove busybox 2>"$SCRATCH/err")
expect_status "remove once no container uses it" 0 $?
expect_eq "removed: nothing on stderr" "" "$(cat "$SCRATCH/err")"

finish
