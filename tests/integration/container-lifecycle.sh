#!/bin/bash
# The lifecycle of a container through cmlsh, with exact replies: create
# (stopped), start (running, with init's pid), a second start refused,
# freeze (frozen, in the host's freezer; exec refused while frozen),
# unfreeze, remove refused while it runs, stop (stopped: exited with
# status 0), stop of a stopped container refused, start again, stop of a
# frozen container, remove (asks for confirmation; then gone, and so is
# its row).  `container list`, `container show` and the database agree at
# every step, and every change is audited.
# Proves: OS 01 (create; start; freeze; stop; remove; state and reason),
# APS 05 (a container with its own config and state and lifecycle),
# CR 2.8 (every change and refusal audited),
# CR 2.12 (the caller's uid and pid; cmld's for the container's end).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

name=$(ct_name life)
db=$(state_dir)/cml.db
HEADER='^NAME +STATE +GUESTOS +VERSION +PID +REASON$'

# row: the container's row in the database, "state|reason|pid>0"
row() {
	sqlite3 "$db" ".timeout 5000" \
	    "select state, coalesce(reason, ''), pid > 0 from container where name = '$name'"
}
# audited N0 RESULT DETAILS OBJECT [CONTAINER]: one more record since N0,
# the call's (about the container, unless CONTAINER says otherwise)
audited() {
	expect_eq "$4: audited" "$(($1 + 1))
type=call uid=0 pid=$pid container=${5-$name} object=$4 result=$2 details=$3" "$(audit_last)"
}
freezer() {
	local d
	d=$(ct_cgroups "$name" | grep "/freezer/$CT_CGROUP_PARENT/")
	[ -n "$d" ] && cat "$d/freezer.state" || echo "<no freezer group>"
}

out=$(cmlsh_run container list 2>&1)
expect_lines "container list: none yet" "$out" "$HEADER"

# --- create --------------------------------------------------------------------------------
path=$(ct_config "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"hostname":"life"}')
ct_track "$name"
n0=$(audit_count)
ct_cmlsh container create "$path"
expect_status "create" 0 "$rc"
expect_eq "create: the reply" "name:   $name
signer: -" "$(cat "$SCRATCH/out")"
audited "$n0" ok "created container $name from $path (unsigned)" org.cml.Container.Create ""
expect_lines "container list: stopped, never started" "$(cmlsh_run container list 2>&1)" \
    "$HEADER" "^$name +stopped +busybox +- +- +-\$"
expect_eq "database: stopped" "stopped||0" "$(row)"

# --- start -----------------------------------------------------------------------------------
n0=$(audit_count)
ct_cmlsh container start "$name"
expect_status "start" 0 "$rc"
ipid=$(sed -n 's/^pid: *//p' "$SCRATCH/out")
expect_eq "start: the reply" "name:  $name
state: running
pid:   $ipid" "$(cat "$SCRATCH/out")"
expect_eq "start: init's pid is a process whose root is the container's" "yes" \
    "$([ -n "$ipid" ] && [ "$(readlink /proc/"$ipid"/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] && echo yes || echo no)"
audited "$n0" ok "started $name on busybox 1.0, init pid $ipid" org.cml.Container.Start
expect_lines "container list: running" "$(cmlsh_run container list 2>&1)" \
    "$HEADER" "^$name +running +busybox +1\\.0 +$ipid +-\$"
expect_eq "container show" "name:           $name
state:          running
guestos:        busybox
version:        1.0
pid:            $ipid
reason:         -
signer:         -
hostname:       life
autostart:      no
memory:         256 MiB
pids:           1024
user namespace: no
images:         $(ct_show "$name" images)" "$(cmlsh_run container show "$name" 2>&1)"
expect_match "container show: the root image is on a loop device" \
    '^root\.squashfs \(squashfs\) on loop device /dev/loop[0-9]+$' "$(ct_show "$name" images)"
expect_eq "database: running with a pid" "running||1" "$(row)"

n0=$(audit_count)
ct_cmlsh container start "$name"
expect_status "start of a running container" 1 "$rc"
expect_eq "start of a running container: why" \
    "cmlsh: container '$name' did not start: it is running already" "$(cat "$SCRATCH/err")"
audited "$n0" org.cml.Error.Busy "container '$name' did not start: it is running already" org.cml.Container.Start
expect_eq "still running, same init" "running $ipid" "$(ct_state "$name") $(ct_show "$name" pid)"

# --- freeze ------------------------------------------------------------------------------------
n0=$(audit_count)
ct_cmlsh container freeze "$name"
expect_status "freeze" 0 "$rc"
expect_eq "freeze: the reply" "name:  $name
state: frozen" "$(cat "$SCRATCH/out")"
audited "$n0" ok "$name frozen" org.cml.Container.Freeze
expect_eq "the host's freezer: FROZEN" "FROZEN" "$(freezer)"
expect_eq "database: frozen" "frozen||1" "$(row)"
n0=$(audit_count)
ct_cmlsh container exec "$name" -- /bin/true
expect_status "exec while frozen" 1 "$rc"
expect_eq "exec while frozen: why" \
    "cmlsh: container '$name' is frozen: commands run only in a running container" "$(cat "$SCRATCH/err")"
audited "$n0" org.cml.Error.Busy "container '$name' is frozen: commands run only in a running container" org.cml.Container.Exec
ct_cmlsh container freeze "$name"
expect_status "freeze of a frozen container" 1 "$rc"
expect_eq "freeze of a frozen container: why" \
    "cmlsh: container '$name' is frozen: only a running container can be frozen" "$(cat "$SCRATCH/err")"

n0=$(audit_count)
ct_cmlsh container unfreeze "$name"
expect_status "unfreeze" 0 "$rc"
expect_eq "unfreeze: the reply" "name:  $name
state: running" "$(cat "$SCRATCH/out")"
audited "$n0" ok "$name running" org.cml.Container.Unfreeze
expect_eq "the host's freezer: THAWED" "THAWED" "$(freezer)"
expect_eq "exec after unfreeze" "life" "$(ct_exec "$name" /bin/hostname 2>&1)"
ct_cmlsh container unfreeze "$name"
expect_status "unfreeze of a running container" 1 "$rc"
expect_eq "unfreeze of a running container: why" \
    "cmlsh: container '$name' is running: only a frozen container can be unfrozen" "$(cat "$SCRATCH/err")"

# --- remove refused while it runs ----------------------------------------------------------------
n0=$(audit_count)
ct_cmlsh --yes container remove "$name"
expect_status "remove while running" 1 "$rc"
expect_eq "remove while running: why" "cmlsh: container '$name' is running: stop it first" "$(cat "$SCRATCH/err")"
audited "$n0" org.cml.Error.Busy "container '$name' is running: stop it first" org.cml.Container.Remove
expect_eq "still running after the refused remove" "running||1" "$(row)"

# --- stop ------------------------------------------------------------------------------------------
n0=$(audit_count)
ct_cmlsh container stop "$name"
expect_status "stop" 0 "$rc"
expect_eq "stop: the reply" "name:   $name
state:  stopped
reason: exited with status 0" "$(cat "$SCRATCH/out")"
expect_eq "stop: audited, the container's end, then the call" "$((n0 + 2))" "$(audit_count)"
expect_eq "stop: the audit records" \
"type=container uid=0 pid=$(cmld_pid) container=$name object=container result=stopped details=exited with status 0
type=call uid=0 pid=$pid container=$name object=org.cml.Container.Stop result=ok details=$name stopped: exited with status 0" \
    "$(audit_tail 2)"
expect_eq "init is gone" "gone" "$(kill -0 "$ipid" 2>/dev/null && echo running || echo gone)"
expect_lines "container list: stopped with the reason" "$(cmlsh_run container list 2>&1)" \
    "$HEADER" "^$name +stopped +busybox +1\\.0 +- +exited with status 0\$"
expect_eq "database: stopped, the reason, no pid" "stopped|exited with status 0|0" "$(row)"
ct_cmlsh container stop "$name"
expect_status "stop of a stopped container" 1 "$rc"
expect_eq "stop of a stopped container: why" "cmlsh: container '$name' is not running (stopped)" "$(cat "$SCRATCH/err")"
ct_cmlsh --yes container kill "$name"
expect_status "kill of a stopped container" 1 "$rc"
expect_eq "kill of a stopped container: why" "cmlsh: container '$name' is not running (stopped)" "$(cat "$SCRATCH/err")"
ct_cmlsh container exec "$name" -- /bin/true
expect_eq "exec in a stopped container: why" \
    "cmlsh: container '$name' is stopped: commands run only in a running container" "$(cat "$SCRATCH/err")"

# --- start again, freeze, stop while frozen --------------------------------------------------------
ct_cmlsh container start "$name"
expect_status "start again" 0 "$rc"
expect_eq "running again with a new init" "running" "$(ct_state "$name")"
cmlsh_run container freeze "$name" >/dev/null
ct_cmlsh container stop "$name"
expect_status "stop of a frozen container" 0 "$rc"
expect_eq "stop of a frozen container: the reply" "name:   $name
state:  stopped
reason: exited with status 0" "$(cat "$SCRATCH/out")"

# --- remove ----------------------------------------------------------------------------------------
ct_cmlsh container remove "$name"
expect_status "remove without --yes and without a terminal" 2 "$rc"
expect_eq "remove without --yes: the message" \
    "cmlsh: 'container remove' asks for confirmation, and there is no terminal to ask on: add --yes to run it anyway" \
    "$(cat "$SCRATCH/err")"
expect_eq "not removed" "stopped|exited with status 0|0" "$(row)"
n0=$(audit_count)
ct_cmlsh --yes container remove "$name"
expect_status "remove --yes" 0 "$rc"
expect_eq "remove: the reply" "name: $name" "$(cat "$SCRATCH/out")"
audited "$n0" ok "removed container $name" org.cml.Container.Remove
expect_lines "container list: empty again" "$(cmlsh_run container list 2>&1)" "$HEADER"
expect_eq "database: no row" "" "$(row)"
ct_cmlsh container show "$name"
expect_status "show of a removed container" 1 "$rc"
expect_eq "show of a removed container: why" \
    "cmlsh: no container '$name': 'container list' shows them" "$(cat "$SCRATCH/err")"
ct_cmlsh container start "$name"
expect_eq "start of a removed container: why" \
    "cmlsh: no container '$name': 'container list' shows them" "$(cat "$SCRATCH/err")"
expect_eq "nothing of it is left on the host" "" "$(ct_leftovers "$name")"

finish
