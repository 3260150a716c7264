#!/bin/bash
# The hardening of cmld's systemd unit (dist/cmld.service.in) leaves cmld
# what it needs: cmld runs in the mount namespace the unit's options make
# (emulated here with unshare and mounts, as systemd sets it up: /usr,
# /boot, /efi and /etc read-only for ProtectSystem=full, /home, /root and
# /run/user inaccessible for ProtectHome=yes), and there it starts
# containers with and without a user namespace (squashfs on a loop device,
# and erofs), runs commands in them, finds them again after a restart
# (a new namespace, as a restarted unit gets) and stops them.  An option
# this test cannot emulate fails it, so none reaches the unit untried.
# Proves: none (the unit's hardening does not break cmld).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

unit=$CML_SRCDIR/dist/cmld.service.in
[ -f "$unit" ] || fail "no $unit"
need_prog unshare mount

# --- the unit's sandboxing options, as a wrapper of cmld -------------------
protect_system=no
protect_home=no
unknown=()
while IFS='=' read -r key value; do
	case "$key" in
	ProtectSystem) protect_system=$value ;;
	ProtectHome) protect_home=$value ;;
	ReadWritePaths) ;; # the paths of a real installation: checked below
	Protect* | Private* | Restrict* | NoNewPrivileges | SystemCall* | \
	    Capability* | AmbientCapabilities | LockPersonality | \
	    MemoryDenyWriteExecute | DevicePolicy | DeviceAllow | IPAddress* | \
	    ReadOnlyPaths | InaccessiblePaths | TemporaryFileSystem | \
	    BindPaths | BindReadOnlyPaths | RootDirectory | RootImage | \
	    MountFlags | UMask | KeyringMode | Delegate | User | Group | DynamicUser)
		unknown+=("$key=$value")
		;;
	esac
done < <(grep -E '^[A-Za-z]+=' "$unit")
expect_eq "every sandboxing option of the unit is emulated here" "" "${unknown[*]}"

ro=()
case "$protect_system" in
no | false) ;;
yes | true) ro=(/usr /boot /efi) ;;
full) ro=(/usr /boot /efi /etc) ;;
*) fail "ProtectSystem=$protect_system is not emulated here: add it before it goes into the unit" ;;
esac
hide=()
case "$protect_home" in
no | false) ;;
yes | true) hide=(/home /root /run/user) ;;
*) fail "ProtectHome=$protect_home is not emulated here: add it before it goes into the unit" ;;
esac
# What cmld writes in a real installation stays writable: /run/cml,
# /var/lib/cml, and /etc/cml (ReadWritePaths, where /etc is read-only).
rw=$(sed -n 's/^ReadWritePaths=//p' "$unit")
for d in /run/cml /var/lib/cml /etc/cml; do
	blocked=
	for r in "${ro[@]}" "${hide[@]}"; do
		case "$d/" in "$r"/*) blocked=$r ;; esac
	done
	if [ -n "$blocked" ]; then
		expect_match "$d, below $blocked, is in ReadWritePaths" "(^| )-?$d( |$)" "$rw"
	fi
done

ct_setup_wrapped() {
	make_scratch
	cat >"$SCRATCH/sandbox" <<EOF
#!/bin/bash
# cmld in the mount namespace of dist/cmld.service.in (same pid)
exec unshare -m --propagation slave bash -c '
for d in ${ro[*]}; do
	[ -d "\$d" ] || continue
	mount --bind "\$d" "\$d" && mount -o remount,bind,ro "\$d" || exit 1
done
for d in ${hide[*]}; do
	[ -d "\$d" ] || continue
	mount -t tmpfs -o mode=000,size=4k cml-inaccessible "\$d" || exit 1
done
exec "\$@"' bash "\$@"
EOF
	chmod 755 "$SCRATCH/sandbox"
	CML_TEST_WRAP=$SCRATCH/sandbox
	ct_setup
}
ct_setup_wrapped

# cmld runs in the sandbox
pid=$(cmld_pid) || fail "no cmld"
expect_eq "cmld has a mount namespace of its own" yes \
    "$([ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && echo yes || echo no)"
for d in "${ro[@]}"; do
	[ -d "$d" ] || continue
	expect_match "$d is read-only for cmld" '(^|,)ro(,|$)' \
	    "$(awk -v d="$d" '$5 == d { print $6 }' "/proc/$pid/mountinfo" | tail -n 1)"
done
for d in "${hide[@]}"; do
	[ -d "$d" ] || continue
	expect_eq "$d is hidden from cmld" cml-inaccessible \
	    "$(awk -v d="$d" '$5 == d { for (i = 7; $i != "-"; i++); print $(i + 2) }' \
	        "/proc/$pid/mountinfo" | tail -n 1)"
done

# containers, with and without a user namespace, on squashfs and erofs
guestos_make "$SCRATCH/ero" ero 1.0 --fs erofs
_run_tool "guestos install ero" "$CMLSH" --socket "$SOCK" guestos install "$SCRATCH/ero"
# a user namespace's root is nobody on the host: it must reach its mount
# point below the stack's run directory
chmod o+x "$SCRATCH" "$STACK_DIR" "$STACK_DIR/run" || fail "chmod o+x failed"
names=()
for gos in busybox ero; do
	for userns in false true; do
		name=$(ct_name "hard-$gos-$userns")
		names+=("$name")
		ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"'"$gos"'"},"linux":{"user_namespace":'"$userns"'}}'
		ct_start "$name"
		expect_eq "$gos, user_namespace $userns: runs" running "$(ct_state "$name")"
		expect_eq "$gos, user_namespace $userns: exec" "$gos" \
		    "$(ct_exec "$name" /bin/cat /etc/hostname 2>&1)"
		expect_eq "$gos, user_namespace $userns: its own /proc, init as pid 1" init \
		    "$(ct_exec "$name" /bin/cat /proc/1/comm 2>&1)"
	done
done

# a restart: a new cmld in a new sandbox finds them and stops them
stack_stop
stack_start
for name in "${names[@]}"; do
	expect_eq "$name: found again after a restart" running "$(ct_state "$name")"
	expect_eq "$name: exec after the restart" ok "$(ct_exec "$name" /bin/echo ok 2>&1)"
	cmlsh_run container stop "$name" >/dev/null
	expect_eq "$name: stops" stopped "$(ct_state "$name")"
done

finish
