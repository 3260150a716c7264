#!/bin/bash
# A container keeps exactly the capabilities its config lists, and never
# CAP_SYS_ADMIN: with CAP_CHOWN, CAP_NET_BIND_SERVICE and CAP_MKNOD kept,
# init's and an exec's bounding, permitted and effective sets are those
# three; mounting a file system, making a mount namespace and changing the
# host name fail; the kept ones work (chown, binding port 80).  Without a
# list, a container has no capability at all.
# Proves: TSF.ISOL (the bounding set is the config's list),
# OS 05 (no CAP_SYS_ADMIN: no mount and no new namespace),
# CR 7.7 (no capability at all without a list),
# CR 7.6(1) (the kept capabilities in the effective config).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

# CAP_CHOWN 0, CAP_NET_BIND_SERVICE 10, CAP_MKNOD 27
kept=$(printf '%016x' $(((1 << 0) | (1 << 10) | (1 << 27))))
name=$(ct_name caps)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"process":{"capabilities":{"bounding":["CAP_MKNOD","CAP_CHOWN","CAP_NET_BIND_SERVICE"]}}}'
ct_start "$name"

expect_eq "container config: the kept capabilities, in the kernel's order" \
    '["CAP_CHOWN","CAP_NET_BIND_SERVICE","CAP_MKNOD"]' \
    "$(cmlsh_run --json container config "$name" | json_get config process capabilities bounding | tr -d ' \n')"

# init, seen from the host, and an exec, seen from inside
pid=$(ct_show "$name" pid)
# caps SETS: the sets without CapInh, which may be the kept set or empty
caps() {
	grep -E '^Cap(Prm|Eff|Bnd|Amb)' <<<"$1"
}
# inheritable SETS: "within" when CapInh holds only kept capabilities
inheritable() {
	local v
	v=$(sed -n 's/^CapInh:\t//p' <<<"$1")
	[ -n "$v" ] && (((0x$v & ~0x$kept) == 0)) && echo within || echo "outside: $v"
}
sets=$(grep '^Cap' "/proc/$pid/status")
expect_eq "init's capability sets (from the host)" \
"CapPrm:	$kept
CapEff:	$kept
CapBnd:	$kept
CapAmb:	0000000000000000" "$(caps "$sets")"
expect_eq "init's inheritable set is within the kept ones" "within" "$(inheritable "$sets")"
sets=$(ct_exec "$name" /bin/grep '^Cap' /proc/self/status 2>&1)
expect_eq "an exec's capability sets" \
"CapPrm:	$kept
CapEff:	$kept
CapBnd:	$kept
CapAmb:	0000000000000000" "$(caps "$sets")"
expect_eq "an exec's inheritable set is within the kept ones" "within" "$(inheritable "$sets")"

# --- CAP_SYS_ADMIN is not there ----------------------------------------------------
out=$(ct_exec "$name" /bin/mount -t tmpfs none /tmp 2>&1)
expect_status "mount -t tmpfs inside" 1 $?
expect_eq "mount -t tmpfs inside: permission denied" "mount: permission denied (are you root?)" "$out"
out=$(ct_exec "$name" /bin/mount -o remount,rw /sys 2>&1)
expect_status "remount of /sys read-write inside" 1 $?
expect_eq "remount of /sys read-write: permission denied" "mount: permission denied (are you root?)" "$out"
expect_match "/sys is still read-only" '^sysfs /sys sysfs ro,' \
    "$(ct_exec "$name" /bin/grep ' /sys ' /proc/self/mounts 2>&1)"
out=$(ct_exec "$name" /usr/bin/unshare -m /bin/true 2>&1)
expect_status "unshare -m inside" 1 $?
expect_eq "unshare -m inside: not permitted" "unshare: unshare(0x20000): Operation not permitted" "$out"
out=$(ct_exec "$name" /bin/hostname other 2>&1)
expect_status "hostname other inside" 1 $?
expect_eq "hostname other inside: not permitted" "hostname: sethostname: Operation not permitted" "$out"
out=$(ct_exec "$name" /bin/sh -c 'echo other >/proc/sys/kernel/hostname' 2>&1)
expect_status "writing /proc/sys inside" 1 $?
expect_match "writing /proc/sys inside: read-only" "can't create /proc/sys/kernel/hostname: Read-only file system\$" "$out"

# --- what is kept works ----------------------------------------------------------
out=$(ct_exec "$name" /bin/sh -c 'touch /tmp/f && chown 123:456 /tmp/f && stat -c %u:%g /tmp/f' 2>&1)
expect_eq "CAP_CHOWN works: chown 123:456" "123:456" "$out"
out=$(ct_exec "$name" /bin/sh -c 'nc -l -p 80 </dev/null >/dev/null 2>&1 & sleep 0.3; netstat -ltn | grep -c ":80 "; kill $!' 2>&1)
expect_eq "CAP_NET_BIND_SERVICE works: a listener on port 80" "1" "$out"

# --- no list, no capability --------------------------------------------------------
none=$(ct_name nocaps)
ct_create "$none" '{"name":"'"$none"'","guestos":{"name":"busybox"}}'
ct_start "$none"
expect_eq "without a list: no capability at all" \
"CapInh:	0000000000000000
CapPrm:	0000000000000000
CapEff:	0000000000000000
CapBnd:	0000000000000000
CapAmb:	0000000000000000" "$(ct_exec "$none" /bin/grep '^Cap' /proc/self/status 2>&1)"
out=$(ct_exec "$none" /bin/chown 1:1 /tmp 2>&1)
expect_status "without a list: chown fails" 1 $?
expect_eq "without a list: chown not permitted" "chown: /tmp: Operation not permitted" "$out"

finish
