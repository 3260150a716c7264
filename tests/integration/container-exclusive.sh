#!/bin/bash
# Exclusive device assignment: while a container holds a device
# exclusively (c 10:183, hwrng), no other container may be registered
# whose rules allow it (the same rule, a wildcard minor, another
# exclusive rule), and a device another container may use already cannot
# be assigned exclusively; each refusal names the device and the other
# container, stores nothing and is audited.  A different device is still
# fine, and once the holder is removed, the refused config is accepted.
# The holder's /dev has the node and its device cgroup allows it; a
# neighbour's has neither.
# Proves: TSF.DEV (exclusive assignment enforced both ways),
# CR 2.8 (refusals audited), CR 2.12 (with uid and pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

holder=$(ct_name ex-holder)
same=$(ct_name ex-same)
wild=$(ct_name ex-wild)
other=$(ct_name ex-other)
tty=$(ct_name ex-tty)
grab=$(ct_name ex-grab)
db=$(state_dir)/cml.db

cfg() {
	echo '{"name":"'"$1"'","guestos":{"name":"busybox"},"linux":{"resources":{"devices":['"$2"']}}}'
}
# refused DESC NAME RULES MESSAGE: `container create` of NAME with RULES is
# refused with MESSAGE; nothing stored; audited
refused() {
	local desc=$1 name=$2 path before n0
	path=$(ct_config "$name" "$(cfg "$name" "$3")")
	before=$(ct_list; sqlite3 "$db" 'select name, state from container order by name' 2>&1)
	n0=$(audit_count)
	ct_cmlsh container create "$path"
	expect_status "$desc: refused" 1 "$rc"
	expect_eq "$desc: the message" "cmlsh: container config $path refused: $4" "$(cat "$SCRATCH/err")"
	expect_eq "$desc: nothing on stdout" "" "$(cat "$SCRATCH/out")"
	expect_eq "$desc: nothing stored" "$before" \
	    "$(ct_list; sqlite3 "$db" 'select name, state from container order by name' 2>&1)"
	expect_eq "$desc: audited" \
	    "$((n0 + 1))
type=call uid=0 pid=$pid container= object=org.cml.Container.Create result=org.cml.Error.InvalidArgument details=container config $path refused: $4" \
	    "$(audit_last)"
}

ct_create "$holder" "$(cfg "$holder" '{"type":"c","major":10,"minor":183,"access":"rw","exclusive":true}')"
ct_create "$other" "$(cfg "$other" '{"type":"c","major":10,"minor":229,"access":"rw"}')"
expect_eq "a different device (c 10:229) next to the exclusive one is fine" \
    "$holder stopped 
$other stopped " "$(ct_list)"

refused "the same device" "$same" '{"type":"c","major":10,"minor":183,"access":"r"}' \
    "device c 10:183 rw is assigned exclusively to container '$holder'"
refused "every minor of major 10" "$wild" '{"type":"c","major":10}' \
    "device c 10:183 rw is assigned exclusively to container '$holder'"
refused "the same device, exclusively too" "$grab" '{"type":"c","major":10,"minor":183,"exclusive":true}' \
    "device c 10:183 rwm is to be assigned exclusively, but container '$holder' may use it too"
# the other order: a device one may use already cannot become exclusive
ct_create "$tty" "$(cfg "$tty" '{"type":"c","major":4,"access":"rw"}')"
refused "exclusive c 4:1 while $tty may use every c 4:*" "$grab" '{"type":"c","major":4,"minor":1,"exclusive":true}' \
    "device c 4:1 rwm is to be assigned exclusively, but container '$tty' may use it too"

# --- the holder has it, a neighbour does not ----------------------------------------
if [ -c /dev/hwrng ]; then
	ct_start "$holder"
	ct_start "$other"
	expect_eq "the holder's /dev has hwrng" "character special file 10:183" \
	    "$(ct_exec "$holder" /bin/stat -c '%F %t:%T' /dev/hwrng 2>&1 | sed 's/a:b7/10:183/')"
	expect_match "the holder's device cgroup allows c 10:183 rw" '(^|'$'\n'')c 10:183 rw($|'$'\n'')' \
	    "$(cat "/sys/fs/cgroup/devices/$CT_CGROUP_PARENT/$holder/devices.list" 2>&1)"
	expect_eq "the neighbour's /dev has no hwrng" "absent" \
	    "$(ct_exec "$other" /bin/sh -c '[ -e /dev/hwrng ] && echo present || echo absent' 2>&1)"
	expect_eq "the neighbour's device cgroup does not allow c 10:183" "" \
	    "$(grep -E '^c 10:(183|\*) ' "/sys/fs/cgroup/devices/$CT_CGROUP_PARENT/$other/devices.list" 2>&1)"
	cmlsh_run --yes container kill "$holder" >/dev/null
	cmlsh_run --yes container kill "$other" >/dev/null
else
	echo "# no /dev/hwrng on this host: the node checks are left out"
fi

# --- released once the holder is gone ---------------------------------------------------
ct_cmlsh --yes container remove "$holder"
expect_status "remove the holder" 0 "$rc"
ct_cmlsh container create "$SCRATCH/$same.json"
expect_status "the same device, once the holder is removed: accepted" 0 "$rc"
ct_track "$same"
ct_cmlsh --yes container remove "$tty"
ct_cmlsh container create "$SCRATCH/$grab.json"
expect_status "exclusive c 4:1, once $tty is removed: accepted" 0 "$rc"
ct_track "$grab"
expect_eq "the containers now" "$other stopped killed by SIGKILL
$same stopped 
$grab stopped " "$(ct_list)"

finish
