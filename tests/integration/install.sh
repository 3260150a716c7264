#!/bin/bash
# make install into a DESTDIR installs exactly cml's programs, man pages,
# interface files, the systemd units of cmld and tpm2d (tpm2d ordered
# before cmld), its sysusers.d and tmpfiles.d
# files and the bash completion of cmlsh; every program has its man page;
# systemd-analyze verify accepts the unit (and refuses a broken copy);
# systemd-sysusers makes the groups cml and cml-admin from the file and
# systemd-tmpfiles cmld's directories with its modes; the unit's command
# line, run as systemd would (NOTIFY_SOCKET), reports READY=1 once serving
# and STOPPING=1 at SIGTERM; make uninstall leaves no file behind.
# Proves: none (install layout).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog make python3 find man
command -v systemd-analyze >/dev/null ||
	skip "needs systemd-analyze (Debian package systemd; scripts/deps --test installs it)"
need_prog systemd-sysusers systemd-tmpfiles
make_scratch

dest=$SCRATCH/dest
mkdir -p "$dest"

# The installation directories as this build was configured (the last
# line: make may remake its Makefile first and say so).
printf 'cml-print-%%:\n\t@echo "CML-DIR $($*)"\n' >"$SCRATCH/print.mk"
dir_of() {
	make -s --no-print-directory -C "$CML_BUILDDIR" -f Makefile \
	    -f "$SCRATCH/print.mk" "cml-print-$1" 2>/dev/null | sed -n 's/^CML-DIR //p' | tail -n 1
}
bindir=$(dir_of bindir)
sbindir=$(dir_of sbindir)
mandir=$(dir_of mandir)
pkgdatadir=$(dir_of pkgdatadir)
pkglibexecdir=$(dir_of pkglibexecdir)
unitdir=$(dir_of systemdsystemunitdir)
sysusersdir=$(dir_of sysusersdir)
tmpfilesdir=$(dir_of tmpfilesdir)
compdir=$(dir_of bashcompletiondir)
sysconfdir=$(dir_of sysconfdir)
expect_match "the build names its unit directory" '^/.*/systemd/system$' "$unitdir"

if ! make -s -C "$CML_BUILDDIR" install DESTDIR="$dest" >"$SCRATCH/install.out" 2>&1; then
	cat "$SCRATCH/install.out" >&2
	fail "make install DESTDIR=$dest failed"
fi

# --- exactly these files ---------------------------------------------------
expected=$(sort <<EOF
$sbindir/cmld
$sbindir/tpm2d
$sbindir/scd
$sbindir/cml-provision
$sbindir/cml-bootpick
$sbindir/cml-launch
$bindir/cmlsh
$bindir/cmltui
$bindir/cml-sign
$bindir/cml-bundle
$bindir/cml-attest
$bindir/cml-audit-verify
$bindir/cml-mkpki
$bindir/cml-mkguestos
$mandir/man1/cmlsh.1
$mandir/man1/cmltui.1
$mandir/man1/cml-sign.1
$mandir/man1/cml-bundle.1
$mandir/man1/cml-attest.1
$mandir/man1/cml-audit-verify.1
$mandir/man1/cml-mkpki.1
$mandir/man1/cml-mkguestos.1
$mandir/man5/cml-guestos.5
$mandir/man5/cml-container.5
$mandir/man5/cml-audit.5
$mandir/man5/cml-bundle.5
$mandir/man8/cmld.8
$mandir/man8/tpm2d.8
$mandir/man8/scd.8
$mandir/man8/cml-forward.8
$mandir/man8/cml-provision.8
$mandir/man8/cml-launch.8
$mandir/man8/cml-bootpick.8
$pkglibexecdir/cml-forward
$pkgdatadir/org.varlink.service.varlink
$pkgdatadir/org.cml.Error.varlink
$pkgdatadir/org.cml.Device.varlink
$pkgdatadir/org.cml.Audit.varlink
$pkgdatadir/org.cml.Trust.varlink
$pkgdatadir/org.cml.GuestOS.varlink
$pkgdatadir/org.cml.Container.varlink
$pkgdatadir/org.cml.TPM.varlink
$pkgdatadir/org.cml.SCD.varlink
$pkgdatadir/org.cml.Token.varlink
$pkgdatadir/org.cml.Network.varlink
$pkgdatadir/org.cml.Provision.varlink
$pkgdatadir/org.cml.Update.varlink
$unitdir/cmld.service
$unitdir/tpm2d.service
$unitdir/scd.service
$sysusersdir/cml.conf
$tmpfilesdir/cml.conf
$compdir/cmlsh
$sysconfdir/pam.d/cmltui
EOF
)
installed=$(cd "$dest" && find . -type f -o -type l | sed 's|^\.||' | sort)
expect_eq "make install installs exactly these files" "$expected" "$installed"

for p in "$sbindir/cmld" "$sbindir/tpm2d" "$sbindir/scd" "$bindir/cmlsh" "$bindir/cmltui" "$bindir/cml-sign" "$bindir/cml-bundle" "$bindir/cml-mkpki" \
    "$bindir/cml-mkguestos" "$bindir/cml-attest" "$bindir/cml-audit-verify" \
    "$sbindir/cml-provision" "$sbindir/cml-launch" "$sbindir/cml-bootpick" \
    "$pkglibexecdir/cml-forward"; do
	expect_eq "$p is mode 755" 755 "$(stat -c %a "$dest$p" 2>/dev/null)"
done
# every program has its man page, and each page formats
for p in "$dest$bindir"/* "$dest$sbindir"/* "$dest$pkglibexecdir"/*; do
	name=${p##*/}
	sect=1
	[ "$p" = "$dest$bindir/$name" ] || sect=8
	[ -f "$dest$mandir/man$sect/$name.$sect" ]
	expect_status "$name has its man page $name($sect)" 0 $?
done
for m in "$dest$mandir"/man*/*; do
	expect_match "man ${m##*/} formats, NAME first" '^NAME$' \
	    "$(MANWIDTH=80 man -l "$m" 2>/dev/null | sed -n 3p)"
done

# --- the unit ----------------------------------------------------------------
unit=$dest$unitdir/cmld.service
expect_match "the unit is Type=notify" $'(^|\n)Type=notify\n' "$(cat "$unit")"
execstart=$(sed -n 's/^ExecStart=//p' "$unit")
expect_eq "the unit starts the installed cmld in the foreground" \
    "$sbindir/cmld --foreground" "$execstart"
# verified where the installed cmld and its man page are: a copy that
# starts cmld from the DESTDIR
mkdir -p "$SCRATCH/units"
sed "s|^ExecStart=$sbindir/|ExecStart=$dest$sbindir/|" "$unit" >"$SCRATCH/units/cmld.service"
out=$(cd "$SCRATCH/units" && MANPATH=$dest$mandir systemd-analyze verify \
    "$SCRATCH/units/cmld.service" 2>&1)
expect_status "systemd-analyze verify accepts cmld.service" 0 $?
expect_eq "systemd-analyze verify: no complaint" "" "$out"
sed 's/^Type=notify$/Type=notifyy/' "$SCRATCH/units/cmld.service" >"$SCRATCH/units/bad.service"
out=$(cd "$SCRATCH/units" && MANPATH=$dest$mandir systemd-analyze verify \
    "$SCRATCH/units/bad.service" 2>&1)
expect_match "systemd-analyze verify finds a broken copy's fault" \
    "bad.service:[0-9]+: Failed to parse service type, ignoring: notifyy" "$out"

# tpm2d's unit: notify, before cmld, which orders itself after it
unit=$dest$unitdir/tpm2d.service
expect_match "tpm2d's unit is Type=notify, before cmld" \
    $'(^|\n)Before=cmld.service\n(.*\n)*Type=notify\n' "$(cat "$unit")"
expect_eq "tpm2d's unit starts the installed tpm2d in the foreground" \
    "$sbindir/tpm2d --foreground" "$(sed -n 's/^ExecStart=//p' "$unit")"
expect_match "tpm2d's unit lets it reach the TPM device alone" \
    $'(^|\n)DevicePolicy=closed\nDeviceAllow=/dev/tpmrm0 rw\n' "$(cat "$unit")"
expect_match "cmld's unit orders itself after tpm2d's" \
    $'(^|\n)After=tpm2d.service\nWants=tpm2d.service\n' \
    "$(cat "$dest$unitdir/cmld.service")"
sed "s|^ExecStart=$sbindir/|ExecStart=$dest$sbindir/|" "$unit" >"$SCRATCH/units/tpm2d.service"
out=$(cd "$SCRATCH/units" && MANPATH=$dest$mandir systemd-analyze verify \
    "$SCRATCH/units/tpm2d.service" 2>&1)
expect_status "systemd-analyze verify accepts tpm2d.service" 0 $?
expect_eq "systemd-analyze verify of tpm2d.service: no complaint" "" "$out"

# --- groups and directories ----------------------------------------------------
mkdir -p "$dest/etc"
# (the files by their paths: systemd looks under the prefix only when it
# is /usr or /usr/local)
out=$(systemd-sysusers --root="$dest" "$dest$sysusersdir/cml.conf" 2>&1)
expect_status "systemd-sysusers applies sysusers.d/cml.conf" 0 $?
expect_lines "sysusers.d/cml.conf makes the groups cml and cml-admin" \
    "$(cut -d: -f1 "$dest/etc/group" | sort)" '^cml$' '^cml-admin$'
out=$(systemd-tmpfiles --root="$dest" --create "$dest$tmpfilesdir/cml.conf" 2>&1)
expect_status "systemd-tmpfiles applies tmpfiles.d/cml.conf" 0 $?
expect_eq "tmpfiles.d/cml.conf makes cmld's directories with cmld's modes" \
    "755 root:root /run/cml
711 root:root /run/cml/containers
700 root:root /var/lib/cml
755 root:root /etc/cml" \
    "$(cd "$dest" && for d in /run/cml /run/cml/containers /var/lib/cml /etc/cml; do
        stat -c "%a %U:%G $d" ".$d"; done)"

# --- the unit's command line under NOTIFY_SOCKET ------------------------------
notify=$SCRATCH/notify.sock
root=$SCRATCH/root
mkdir -p "$root"
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
try:
    for i in range(2):
        print(s.recv(4096).decode(), flush=True)
except socket.timeout:
    print("nothing within 10 s", flush=True)' "$notify" >"$SCRATCH/notified" &
listener=$!
track_pid "$listener"
for ((i = 0; i < 100; i++)); do
	[ -S "$notify" ] && break
	sleep 0.05
done
[ -S "$notify" ] || fail "the notify listener made no socket"
read -r -a cmd <<<"$execstart"
NOTIFY_SOCKET=$notify "$dest${cmd[0]}" "${cmd[@]:1}" --root "$root" \
    --cgroup-parent "$CT_CGROUP_PARENT" >"$SCRATCH/cmld.log" 2>&1 </dev/null &
cmld=$!
track_pid "$cmld"
for ((i = 0; i < 100; i++)); do
	grep -q READY=1 "$SCRATCH/notified" && break
	sleep 0.05
done
expect_eq "the installed cmld reports READY=1 to NOTIFY_SOCKET" READY=1 \
    "$(head -n 1 "$SCRATCH/notified")"
"$dest$bindir/cmlsh" --socket "$root/run/cml/control.sock" -c 'device status' >/dev/null
expect_status "the installed cmlsh talks to it" 0 $?
kill -TERM "$cmld"
wait "$cmld"
expect_status "SIGTERM ends it cleanly" 0 $?
untrack_pid "$cmld"
wait "$listener"
untrack_pid "$listener"
expect_eq "it reports STOPPING=1 at SIGTERM" "READY=1
STOPPING=1" "$(cat "$SCRATCH/notified")"

# --- the completion ----------------------------------------------------------
expect_eq "the completion file registers _cmlsh for cmlsh" "complete -F _cmlsh cmlsh" \
    "$(bash -c ". '$dest$compdir/cmlsh' && complete -p cmlsh")"

# --- uninstall ------------------------------------------------------------------
# what sysusers and tmpfiles made (the prefix itself may lie under /var)
rm -f "$dest/etc/passwd" "$dest/etc/group" "$dest/etc/shadow" "$dest/etc/gshadow" \
    "$dest/etc/.pwd.lock"
rm -rf "$dest/etc/cml" "$dest/run/cml" "$dest/var/lib/cml"
for d in "$dest/etc" "$dest/run" "$dest/var/lib" "$dest/var"; do
	rmdir "$d" 2>/dev/null
done
make -s -C "$CML_BUILDDIR" uninstall DESTDIR="$dest" >"$SCRATCH/uninstall.out" 2>&1
rc=$?
[ "$rc" = 0 ] || cat "$SCRATCH/uninstall.out" >&2
expect_status "make uninstall" 0 "$rc"
expect_eq "make uninstall leaves no file" "" "$(find "$dest" -type f -o -type l)"

finish
