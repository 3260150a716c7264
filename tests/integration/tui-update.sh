#!/bin/bash
# cmltui's update flow, driven through tmux against a real stack (swtpm,
# tpm2d, scd, cmld) with guest OS bundles signed under a supplier anchor
# (as update-install.sh makes them):
#   - the updates screen (u on the dashboard): no install and no floor yet;
#   - a bundle opened by its path: kind, name, version, digest (the one the
#     bundle's manifest hashes to), the signer with its anchor kind and that
#     it counts, the floor, and "installable";
#   - installed after the confirmation: while cmld is frozen (SIGSTOP) the
#     screen stays live: a resize redraws it at the new size at once, Esc
#     asks whether to leave it, another install waits; once cmld goes on, the bar shows a part done while
#     the 384 MiB image is copied, then 100% of all the bytes and the result
#     INSTALLED with the install's number; cmlsh lists the guest OS, its
#     images are the signed ones, the history row says installed;
#   - back on the updates screen: the install and the floor it raised;
#   - a bundle whose manifest was changed: "not installable" with cmld's
#     reason, the signature that does not verify; install refused at once
#     with that reason, nothing called;
#   - a bundle whose image was changed (only hashing finds it): installable
#     by what info reads, then REFUSED with cmld's reason naming the image;
#     nothing of it installed, the history says failed;
#   - from the menu, update info on a bundle opens the same screen, and
#     update install asks at once; its screen left while cmld is frozen
#     (asked first), cmld goes on and installs it, and the updates screen
#     shows it installed;
#   - an operator (group cml) sees the bundle and its verdict but is told
#     why only an administrator installs; nothing is called, nothing
#     installed;
#   - cml itself, with cmld run by cml-launch from slot a: the result is
#     PENDING, cml restarting into slot b, with what follows in cmld's
#     words; slot b holds the bundle's cmld, which runs and confirms
#     itself, and the updates screen shows the install confirmed once
#     cmld is back.
# Proves: TSF.UPD, NDR 3.10 (an update verified before it installs, the
# verdict and its signer shown), NDR 3.10(1), NDR 3.12, CR 2.1 (installs by
# administrators only), CR 3.4 (a tampered bundle refused with its reason)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tui-lib.sh"
. "$(dirname "$0")/launch-lib.sh"

need_root
need_binaries
need_guestos_tools
need_prog tmux setpriv getent groupadd
need_bundle_tool
update_launch_need
ensure_groups
stack_start

sup=$SCRATCH/sup
pki_make "$sup"
anchor_supplier "$sup"
db=$(state_dir)/cml.db

# bundle DIR OUT VERSION: packs the guest OS in DIR, signed by the supplier
bundle() {
	bundle_guestos "$1" "$2" "$3"
	bundle_sign "$2" "$sup"
}
history_of() {
	sqlite3 "$db" ".timeout 5000" "select kind, name, version, result from update_history order by id desc limit 1"
}
installs() {
	sqlite3 "$db" ".timeout 5000" "select count(*) from update_history"
}
# install_calls: how many calls of update install the audit trail records
install_calls() {
	cmlsh_run --json -c 'audit list' | python3 -c 'import json, sys
print(sum(r["object"] == "org.cml.Update.Install" for r in json.load(sys.stdin)["records"]))'
}
# Prints the screen as one line, box lines and runs of blanks as one
# blank: a message wrapped in a dialog or beside a label reads as said.
flat() {
	tui_screen | tr '│┃|\n' '    ' | tr -s ' '
}
# Prints what a dialog box says as one line (the text between its sides).
dialog() {
	tui_screen | LC_ALL=C.UTF-8 sed -n 's/^[^│]*│\(.*\)│[^│]*$/\1/p' |
	    tr '\n' ' ' | tr -s ' '
}
# expect_flat DESCRIPTION ERE [dialog]: the flattened screen (or dialog)
# matches within 10 s
expect_flat() {
	local i what=${3:-flat}
	CHECKS=$((CHECKS + 1))
	for ((i = 0; i < 100; i++)); do
		if $what | grep -E -q -- "$2"; then
			_check_passed "$1"
			return
		fi
		sleep 0.1
	done
	_check_failed "$1" "the screen never read /$2/"
	_tui_show
}
# open_bundle PATH: on the updates screen or a bundle's, opens PATH
open_bundle() {
	tui_keys o
	tui_wait "The bundle file" 5 || fail "no question for the bundle: $(tui_screen)"
	tui_keys C-u
	tui_type "$1"
	tui_keys Enter
	tui_wait "Bundle +$(re_quote "$1")" 10 || fail "the bundle $1 is not shown: $(tui_screen)"
}

# the guest OS to install: 384 MiB of image, so that its copy takes a while
g1=$SCRATCH/g1
guestos_make "$g1" busybox 1.0 --extra-image big.img:384:/big
b1=$SCRATCH/busybox-1.0.bundle
bundle "$g1" "$b1" 1.0
digest1=$(bundle_digest "$b1")

tui_start 80 24 -- --interval 500
tui_wait "cmltui" 20 || fail "cmltui did not start: $(tui_screen)"
tui_to_dashboard

# --- the updates screen, nothing installed yet -------------------------------
tui_keys u
tui_expect "u: the updates screen" ">  Updates"
tui_expect "no install yet" "Installs +none yet"
tui_expect "no floor yet" "Floors +none yet: any version installs"
tui_expect "its keys" "o open a bundle +f pick one"

# --- a signed bundle: what it holds, who signed it ---------------------------
open_bundle "$b1"
tui_expect "info: the kind" "Kind +guestos"
tui_expect "info: the name" "Name +busybox"
tui_expect "info: the version" "Version +1\.0"
tui_expect "info: the digest of its manifest" "Digest +$digest1"
tui_expect "info: the signer" "Signatures +#0 CN=cml software signer,O=cml"
tui_expect "info: its anchor kind, and it counts" "verified under a supplier anchor.*counts"
tui_expect "info: no floor yet" "Floor +none yet for guestos busybox"
tui_expect "info: installable" "Verdict +installable"
tui_expect "info: the keys" "i install +o open"
expect_eq "info installed nothing" 0 "$(installs)"

# --- installed: confirmed, live while cmld is frozen, the bar, the result ----
tui_keys i
expect_flat "install: confirmed first, naming what and from where" \
    "Install guestos busybox 1\.0 from $(re_quote "$b1")\?" dialog
pid=$(cmld_pid) || fail "no cmld"
kill -STOP "$pid"
tui_keys y
tui_expect "install: under way, the bar at its start" "Install +.* 0% +0 B of [0-9.]+ MiB"
tui_expect "install: the help line says so" "installing +Esc leave it to cmld"
tui_resize 100 30
CHECKS=$((CHECKS + 1))
for ((i = 0; i < 50; i++)); do
	[ "$(tui_screen | grep -c '^─\{100\}$')" -ge 1 ] && break
	sleep 0.1
done
if [ "$(tui_screen | grep -c '^─\{100\}$')" -ge 1 ] && [ "$(tui_screen | wc -l)" -eq 30 ]; then
	_check_passed "install: cmld frozen, a resize to 100x30 redraws at the new size"
else
	_check_failed "install: cmld frozen, a resize to 100x30 redraws at the new size"
	_tui_show
fi
tui_keys Escape
expect_flat "install: cmld frozen, Esc is answered: leaving is asked first" \
    "Leave this screen\? The install goes on in cmld; update status shows how it ended\." dialog
tui_keys n
tui_expect "install: not left" "The install goes on"
tui_expect "install: still its screen" ">  Update $(re_quote "$b1")"
tui_keys i
tui_expect "install: another install waits" "The install runs: wait for its end, or leave it to cmld with Esc"
expect_eq "install: nothing in place while cmld is frozen" "" \
    "$(ls "$(state_dir)/guestos" 2>/dev/null | grep -v '^\.staging-')"
kill -CONT "$pid"
mid=0
for ((i = 0; i < 300; i++)); do
	s=$(tui_screen)
	if grep -Eq "Install +.* ([1-9]|[1-9][0-9])% +[0-9.]+ [KMG]?i?B of [0-9.]+ MiB" <<<"$s"; then
		mid=1
		break
	fi
	grep -q "INSTALLED" <<<"$s" && break
	sleep 0.05
done
expect_eq "install: the bar shows a part done while cmld copies" 1 "$mid"
tui_expect "install: the result" "Result +INSTALLED"
tui_expect "install: the bar full, all the bytes" "Install +.* 100% +([0-9.]+ MiB) of \\1"
expect_flat "install: what is installed, and the install's number" "guestos busybox 1\.0 is installed \(install #1\)\."
expect_match "cmlsh lists the guest OS" "busybox +1\.0" "$(cmlsh_run guestos list)"
expect_eq "its images as signed" "$(cd "$g1" && sha256sum $(ls) | sort)" \
    "$(cd "$(state_dir)/guestos/busybox/1.0" && sha256sum $(ls) | sort)"
expect_eq "the history" "guestos|busybox|1.0|installed" "$(history_of)"
expect_match "the install audited" \
    "object=org\\.cml\\.Update\\.Install result=ok details=installed guestos busybox 1\\.0 from $(re_quote "$b1") \\(bundle $digest1\\)" \
    "$(audit_tail 5 | grep 'Update\.Install')"
tui_keys Escape
tui_expect "back on the updates screen: the install" "Installs +#1 [0-9-]+ [0-9:]+ guestos busybox 1\.0: installed"
tui_expect "the floor it raised" "Floors +guestos busybox: nothing older than 1\.0"
tui_resize 80 24

# --- a changed manifest: not installable, with cmld's reason -----------------
g2=$SCRATCH/g2
guestos_make "$g2" busybox 2.0
b2=$SCRATCH/busybox-2.0.bundle
bundle "$g2" "$b2" 2.0
bm=$SCRATCH/manifest-changed.bundle
cp "$b2" "$bm"
bundle_change_manifest "$bm"
n0=$(installs)
open_bundle "$bm"
tui_expect "changed manifest: the signature does not verify" "does not verify: "
expect_flat "changed manifest: not installable, cmld's reason" "Verdict not installable: no signature verifies: "
tui_keys i
expect_flat "changed manifest: install refused at once with the reason" \
    "cmld would refuse it: no signature verifies: " dialog
tui_keys Enter
tui_expect "changed manifest: said on the status line" "not installed: it would be refused"
expect_eq "changed manifest: nothing called, nothing recorded" "$n0" "$(installs)"

# --- a changed image: only hashing finds it ----------------------------------
bp=$SCRATCH/image-changed.bundle
cp "$b2" "$bp"
img=$(manifest_get "$g2" images 0 file)
flip_byte "$bp" $(($(bundle_payload_at "$b2" "$img") + 700000))
open_bundle "$bp"
tui_expect "changed image: info reads no payload, installable" "Verdict +installable"
tui_keys i
expect_flat "changed image: confirmed first" "Install guestos busybox 2\.0 from" dialog
tui_keys y
tui_expect "changed image: the verdict" "Result +REFUSED"
expect_flat "changed image: cmld's reason, naming the image" \
    "update $(re_quote "$bp") refused: image '$(re_quote "$img")' does not match its signed SHA-256"
expect_eq "changed image: nothing of 2.0 installed" "" "$(cmlsh_run guestos list | grep -E '^busybox +2\.0 ')"
expect_eq "changed image: the history says failed" "guestos|busybox|2.0|failed" "$(history_of)"

# --- from the menu: update info opens the same screen -------------------------
tui_to_dashboard
tui_keys F2
tui_wait '^ Families of commands' || fail "F2: no menu: $(tui_screen)"
tui_select_entry update || fail "no family update"
tui_keys Enter
tui_wait "^ Commands of update" || fail "no menu of update: $(tui_screen)"
tui_select_entry info || fail "no update info"
tui_keys Enter
tui_expect "menu: the form of update info" "update info BUNDLE"
tui_type "$b2"
tui_keys F5
tui_expect "menu: update info opens the bundle's screen" "Bundle +$(re_quote "$b2")"
tui_expect "menu: its verdict" "Verdict +installable"

# --- from the menu: update install; the screen left, cmld goes on -------------
tui_keys Escape
tui_wait_gone ">  Update /" 5 || fail "Esc does not leave the bundle: $(tui_screen)"
tui_keys Escape
tui_wait "^ Commands of update" || fail "no menu of update: $(tui_screen)"
tui_select_entry install || fail "no update install"
tui_keys Enter
tui_expect "menu: the form of update install" "update install BUNDLE"
tui_type "$b2"
tui_keys F5
expect_flat "menu: update install asks at once" "Install guestos busybox 2\.0 from $(re_quote "$b2")\?" dialog
pid=$(cmld_pid) || fail "no cmld"
kill -STOP "$pid"
tui_keys y
tui_expect "menu: under way" "installing +Esc leave it to cmld"
tui_keys Escape
expect_flat "menu: leaving is asked" "Leave this screen\? The install goes on in cmld" dialog
tui_keys y
tui_expect "menu: left, back at the form" "update install BUNDLE"
kill -CONT "$pid"
for ((i = 0; i < 100; i++)); do
	[ "$(history_of)" = "guestos|busybox|2.0|installed" ] && break
	sleep 0.1
done
expect_eq "menu: cmld went on and installed it" "guestos|busybox|2.0|installed" "$(history_of)"
expect_match "menu: cmlsh lists it" "busybox +2\.0" "$(cmlsh_run guestos list)"
tui_to_dashboard
tui_keys u
tui_expect "the updates screen shows how it ended" "Installs +#3 [0-9-]+ [0-9:]+ guestos busybox 2\.0: installed"
tui_end
expect_eq "cmltui ended well" 0 "$trc"

# --- an operator: sees, may not install --------------------------------------
mkdir -p "$SCRATCH/bin" || fail "mkdir $SCRATCH/bin"
cp "$CMLTUI" "$SCRATCH/bin/cmltui" || fail "cannot copy cmltui"
chmod 755 "$SCRATCH/bin" "$SCRATCH/bin/cmltui"
g3=$SCRATCH/g3
guestos_make "$g3" busybox 3.0
b3=$SCRATCH/busybox-3.0.bundle
bundle "$g3" "$b3" 3.0
chmod 644 "$b3"
cat >"$SCRATCH/bin/cmltui-operator" <<EOF
#!/bin/sh
exec setpriv --reuid=65534 --regid=65534 --groups=$(group_gid cml) -- "$SCRATCH/bin/cmltui" "\$@"
EOF
chmod 755 "$SCRATCH/bin/cmltui-operator"
CMLTUI=$SCRATCH/bin/cmltui-operator
n0=$(installs)
a0=$(install_calls)
tui_start 80 24 HOME=/
tui_wait "cmltui" 20 || fail "the operator's cmltui did not start: $(tui_screen)"
tui_to_dashboard
tui_keys u
tui_expect "operator: the updates screen" "Installs +#3 .*guestos busybox 2\.0: installed"
open_bundle "$b3"
tui_expect "operator: what the bundle holds" "Signatures +#0 CN=cml software signer,O=cml"
tui_expect "operator: its verdict" "Verdict +installable"
tui_keys i
expect_flat "operator: told why not" \
    "Only an administrator installs updates: 'update install' needs the admin role \(root or group cml-admin\), and [^ ]+ has the role of an operator\. Nothing was done\." dialog
tui_keys Enter
tui_expect "operator: said on the status line" "not installed: an operator may look, only an administrator installs"
expect_eq "operator: nothing installed" "" "$(cmlsh_run guestos list | grep -E '^busybox +3\.0 ')"
expect_eq "operator: nothing recorded" "$n0" "$(installs)"
expect_eq "operator: no install called" "$a0" "$(install_calls)"
tui_end
expect_eq "the operator's cmltui ended well" 0 "$trc"

# --- cml itself, run by cml-launch from slot a: pending, restarts into b -----
launch_take_over
SLOTS=$SCRATCH/slots
LOG=$STACK_DIR/log/cmld.log
mkdir -p "$SLOTS" || fail "mkdir $SLOTS"
install_prefix "$SLOTS/a"
launch_start
wait_cmld a
install_prefix "$SCRATCH/tree2"
bc=$SCRATCH/cml-2.0.bundle
_run_tool "cml-bundle create" "$BUNDLE" create -o "$bc" --kind cml --name cml \
    --version 2.0 --tree "$SCRATCH/tree2"
bundle_sign "$bc" "$sup"
CMLTUI=$CML_BUILDDIR/cmltui/cmltui
tui_start 80 24 -- --interval 500
tui_wait "cmltui" 20 || fail "cmltui did not start: $(tui_screen)"
tui_to_dashboard
tui_keys u
open_bundle "$bc"
tui_expect "cml: the kind" "Kind +cml"
tui_expect "cml: installable" "Verdict +installable"
tui_keys i
expect_flat "cml: confirmed first" "Install cml cml 2\.0 from $(re_quote "$bc")\?" dialog
old=$CPID
tui_keys y
tui_expect "cml: the result names the slot cml restarts into" "Result +PENDING: cml will restart into slot b"
expect_flat "cml: what follows, as cmld says it" \
    "written to slot b, to be tried at the restart that follows and confirmed once cmld and c0 are up"
expect_eq "slot b holds the bundle's cmld" "$(sha256sum <"$SCRATCH/tree2/sbin/cmld")" \
    "$(sha256sum <"$SLOTS/b/sbin/cmld")"
wait_cmld b
[ "$CPID" != "$old" ] || fail "cmld did not restart"
wait_state good b
expect_eq "cml: slot b confirmed itself" b "$(slot_get good)"
tui_keys Escape
tui_expect "cml: the updates screen, once cmld is back, shows it confirmed" \
    "Installs +#[0-9]+ [0-9-]+ [0-9:]+ cml cml 2\.0: confirmed"
tui_end
expect_eq "cmltui ended well after cmld restarted" 0 "$trc"
kill -TERM "$LPID"
wait "$LPID"
untrack_pid "$LPID"

finish
