#!/bin/bash
# The hardening of tpm2d's systemd unit (dist/tpm2d.service.in) leaves tpm2d
# what it needs: tpm2d runs in the sandbox the unit's options make,
# emulated here as systemd sets it up (every option of the unit is
# emulated, or the test fails, so none reaches the unit untried):
# a mount namespace whose file systems are read-only but its two directories
# (ProtectSystem=strict, ReadWritePaths), /home, /root and /run/user hidden,
# a /tmp of its own, /dev with the devices DevicePolicy=closed leaves
# (the TPM device where there is one), /proc/sys, /sys and the cgroup tree
# read-only, kernel logs hidden; a network and a UTS namespace of its own;
# only the capabilities of CapabilityBoundingSet; no_new_privs; the
# unit's system call filter (systemd-analyze expands its groups; other calls
# fail with EPERM), sockets of AF_UNIX only, no writable and executable
# memory, no set-user-ID bits; umask 0077.  There it makes, unseals and
# reports the system key and answers over its socket from outside, and
# stops cleanly.
# Proves: none (the unit's hardening does not break tpm2d).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog unshare mount setpriv systemd-analyze swtpm python3
unit=$CML_SRCDIR/dist/tpm2d.service.in
[ -f "$unit" ] || fail "no $unit"
tpm2d=$CML_BUILDDIR/daemon/tpm2d/tpm2d
sexec=$CML_BUILDDIR/tests/tools/seccomp-exec
[ -x "$tpm2d" ] || skip "no tpm2d: build first"
[ -x "$sexec" ] || skip "no tests/tools/seccomp-exec: build first"
make_scratch

# --- the unit's options ------------------------------------------------------------
declare -A opt=()
filters=()
unknown=()
while IFS='=' read -r key value; do
	case "$key" in
	Type | NotifyAccess | ExecStart | Restart | RestartSec | TimeoutStopSec | \
	    Description | Documentation | After | Wants | Before | WantedBy) ;;
	SystemCallFilter) filters+=("$value") ;;
	ProtectSystem | ReadWritePaths | ProtectHome | PrivateTmp | PrivateNetwork | \
	    ProtectKernelTunables | ProtectKernelModules | ProtectKernelLogs | \
	    ProtectControlGroups | ProtectClock | ProtectHostname | DevicePolicy | \
	    DeviceAllow | CapabilityBoundingSet | NoNewPrivileges | \
	    RestrictAddressFamilies | RestrictNamespaces | RestrictRealtime | \
	    RestrictSUIDSGID | LockPersonality | MemoryDenyWriteExecute | \
	    SystemCallArchitectures | SystemCallErrorNumber | UMask)
		opt[$key]=$value
		;;
	*) unknown+=("$key=$value") ;;
	esac
done < <(grep -E '^[A-Za-z]+=' "$unit")
expect_eq "every option of the unit is emulated here" "" "${unknown[*]}"
expect_eq "ProtectSystem=strict" strict "${opt[ProtectSystem]:-}"
expect_eq "ReadWritePaths: tpm2d's two directories" "/run/cml /var/lib/cml" "${opt[ReadWritePaths]:-}"
for k in ProtectHome PrivateTmp PrivateNetwork ProtectKernelTunables ProtectKernelModules \
    ProtectKernelLogs ProtectControlGroups ProtectClock ProtectHostname NoNewPrivileges \
    RestrictNamespaces RestrictRealtime RestrictSUIDSGID LockPersonality MemoryDenyWriteExecute; do
	expect_eq "$k=yes" yes "${opt[$k]:-}"
done
expect_eq "DevicePolicy=closed" closed "${opt[DevicePolicy]:-}"
expect_eq "DeviceAllow: the TPM's resource manager alone" "/dev/tpmrm0 rw" "${opt[DeviceAllow]:-}"
expect_eq "RestrictAddressFamilies=AF_UNIX" AF_UNIX "${opt[RestrictAddressFamilies]:-}"
expect_eq "SystemCallArchitectures=native" native "${opt[SystemCallArchitectures]:-}"
expect_eq "SystemCallErrorNumber=EPERM" EPERM "${opt[SystemCallErrorNumber]:-}"
expect_eq "UMask=0077" 0077 "${opt[UMask]:-}"
caps=${opt[CapabilityBoundingSet]:-}
[ -n "$caps" ] || fail "no CapabilityBoundingSet"

# --- the system call filter, as systemd expands it ----------------------------------
# Prints the calls of a group (systemd-analyze syscall-filter), nested
# groups expanded.
expand() {
	local g=$1 x
	systemd-analyze syscall-filter "$g" 2>/dev/null | sed -n '2,$p' |
	    sed -e 's/^ *//' -e '/^#/d' -e '/^$/d' | while read -r x; do
		case "$x" in
		@*) expand "$x" ;;
		*) echo "$x" ;;
		esac
	done
}
: >"$SCRATCH/allow"
: >"$SCRATCH/deny"
for f in "${filters[@]}"; do
	case "$f" in
	~*) for g in ${f#\~}; do expand "$g"; done >>"$SCRATCH/deny" ;;
	*) for g in $f; do expand "$g"; done >>"$SCRATCH/allow" ;;
	esac
done
# an allow list always allows @default too
expand @default >>"$SCRATCH/allow"
sort -u -o "$SCRATCH/allow" "$SCRATCH/allow"
sort -u -o "$SCRATCH/deny" "$SCRATCH/deny"
comm -23 "$SCRATCH/allow" "$SCRATCH/deny" >"$SCRATCH/calls"
# RestrictNamespaces, RestrictRealtime, LockPersonality: the calls they
# restrict tpm2d never makes; here they are refused altogether
grep -v -x -e unshare -e setns -e sched_setscheduler -e sched_setattr \
    -e personality "$SCRATCH/calls" >"$SCRATCH/calls.1"
mv "$SCRATCH/calls.1" "$SCRATCH/calls"
expect_eq "the filter allows what a service needs" "epoll_wait getrandom" \
    "$(grep -x -e epoll_wait -e getrandom "$SCRATCH/calls" | xargs)"
expect_eq "the filter refuses @privileged (chroot, mount, reboot)" "" \
    "$(grep -x -e chroot -e mount -e reboot "$SCRATCH/calls")"

# --- the sandbox --------------------------------------------------------------------
swtpm_start "$SCRATCH/tpm"
# The stack lives below /tmp, which the sandbox replaces: inside, the
# scratch directory is bound to a directory of its own outside /tmp.
inside=/run/cml-unit-test-$$
mkdir -p "$inside" || fail "mkdir $inside"
cleanup_inside() {
	rmdir "$inside" 2>/dev/null
	return 0
}
trap 'cleanup_inside; cleanup' EXIT
mkdir -p "$STACK_DIR/run/cml" "$STACK_DIR/var/lib/cml" "$STACK_DIR/log"
chmod 755 "$STACK_DIR" "$STACK_DIR/run" "$STACK_DIR/run/cml" "$STACK_DIR/log"
chmod 700 "$STACK_DIR/var/lib/cml"
bset=$(tr ' ' '\n' <<<"$caps" | sed -n 's/^CAP_//p' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd, -)
cat >"$SCRATCH/sandbox" <<EOF
#!/bin/bash
# tpm2d in the sandbox of dist/tpm2d.service.in (mount, network and UTS
# namespaces of its own; runs as the caller's child)
set -e
mount --make-rprivate /
mount --bind "$SCRATCH" "$inside"
# ProtectSystem=strict: every mount read-only but the API file systems
awk '{ print \$5 }' /proc/self/mountinfo | sort -u | while read -r m; do
	case "\$m" in
	/proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;;
	esac
	mount -o remount,bind,ro "\$m" 2>/dev/null || true
done
# ReadWritePaths: its directories (below the stack's root here)
for d in "$inside/stack/run/cml" "$inside/stack/var/lib/cml"; do
	mount --bind "\$d" "\$d"
	mount -o remount,bind,rw "\$d"
done
# ProtectHome
for d in /home /root /run/user; do
	[ -d "\$d" ] && mount -t tmpfs -o mode=000,size=4k cml-inaccessible "\$d"
done
# PrivateTmp
mount -t tmpfs -o mode=1777,size=1m cml-tmp /tmp
mount -t tmpfs -o mode=1777,size=1m cml-tmp /var/tmp 2>/dev/null || true
mkdir /tmp/hostdev
mount --bind /dev /tmp/hostdev
# ProtectKernelTunables, ProtectControlGroups: read-only
for d in /proc/sys /sys /sys/fs/cgroup; do
	[ -d "\$d" ] && mount --bind "\$d" "\$d" && mount -o remount,bind,ro "\$d"
done
# ProtectKernelLogs, ProtectKernelModules: hidden
[ -e /proc/kmsg ] && mount --bind /dev/null /proc/kmsg
[ -d /lib/modules ] && mount -t tmpfs -o mode=000,size=4k cml-inaccessible /lib/modules
# DevicePolicy=closed with DeviceAllow=/dev/tpmrm0: the pseudo devices and
# the TPM's resource manager, nothing else
mount -t tmpfs -o mode=755,size=64k cml-dev /dev
for n in null zero full random urandom tty tpmrm0; do
	[ -e "/tmp/hostdev/\$n" ] || continue
	touch "/dev/\$n"
	mount --bind "/tmp/hostdev/\$n" "/dev/\$n"
done
umount /tmp/hostdev
rmdir /tmp/hostdev
umask 0077
exec setpriv --bounding-set -all,$bset --no-new-privs -- \
    "$sexec" "$inside/calls" --af-unix --mdwe --no-suid -- "\$@"
EOF
chmod 755 "$SCRATCH/sandbox"

log=$STACK_DIR/log/tpm2d.log
# LeakSanitizer stops the process's threads with ptrace, which the filter
# refuses (as systemd's would): an ASan build checks leaks in the other
# tests, not here.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
exec 3< <(exec unshare -m -n -u "$SCRATCH/sandbox" "$tpm2d" --root "$inside/stack" \
    --tcti "swtpm:path=$inside/tpm/sock" --seal-pcrs 16,23 --foreground \
    --ready-fd 4 4>&1 >>"$log" 2>&1 </dev/null)
pid=$!
track_pid "$pid"
line=
IFS= read -r -t 20 -u 3 line
exec 3<&-
if [ "$line" != READY=1 ]; then
	cat "$log" >&2
	fail "tpm2d did not start in the sandbox"
fi
expect_eq "tpm2d serves in the sandbox" READY=1 "$line"
# the pid of tpm2d itself (unshare, the wrapper and setpriv exec it)
expect_eq "tpm2d has a network namespace of its own" yes \
    "$([ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] && echo yes || echo no)"
expect_eq "tpm2d runs under a seccomp filter with no_new_privs" "2 1" \
    "$(awk '/^Seccomp:/ { s = $2 } /^NoNewPrivs:/ { n = $2 } END { print s, n }' /proc/$pid/status)"
expect_eq "tpm2d's bounding set is the unit's" \
    "$(python3 -c 'import sys
names = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3}
print("%016x" % sum(1 << names[c] for c in sys.argv[1:]))' $caps)" \
    "$(awk '/^CapBnd:/ { print $2 }' /proc/$pid/status)"
out=$(tpm2d_call org.cml.TPM.Status)
expect_eq "in the sandbox: the system key is made and unsealed" unsealed \
    "$(json_get parameters system_key <<<"$out")"
s1=$(tpm2d_call org.cml.TPM.PlatformSecret '{"label": "x"}' | json_get parameters secret)
expect_match "PlatformSecret answers" '^[0-9a-f]{64}$' "$s1"
expect_eq "CheckSystemKey: a full unseal in the sandbox" true \
    "$(tpm2d_call org.cml.TPM.CheckSystemKey | json_get parameters unseals)"
expect_eq "its files are root's only (UMask)" "600 600" \
    "$(stat -c %a "$STACK_DIR/var/lib/cml/tpm2d/syskey.blob" "$STACK_DIR/var/lib/cml/tpm2d/syskey.pcrs" | xargs)"
kill -TERM "$pid"
wait "$pid"
rc=$?
untrack_pid "$pid"
expect_status "tpm2d stops cleanly at SIGTERM" 0 $rc
expect_eq "no call was refused by the filter (no EPERM in the log)" "" \
    "$(grep -i 'operation not permitted' "$log")"
expect_match "it said it stopped" 'tpm2d: stopped' "$(cat "$log")"

finish
