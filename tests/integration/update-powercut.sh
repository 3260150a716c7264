#!/bin/bash
# An install cut by kill -9 at any point leaves the old version or the new
# one, never a mix, and the next start says which.  The real stack (swtpm,
# tpm2d, scd); the points come from a seeded generator (the seed is
# printed; CML_POWERCUT_SEED repeats a run).
#
# A guest OS bundle with a 128 MiB image: the longest of three installs
# never cut gives its duration D; then at 20 points over [0, 1.2 D] (the
# first at 0, before the history row can exist, the last at 1.2 D, after
# the reply, the others one in each eighteenth between; at least one of
# each kind is required) `update install` runs, the client is held still
# and cmld is killed with SIGKILL, and cmld starts again on the same
# state.  Then
# either all of it is installed (the store's row, every image in place with
# its signed SHA-256, the history installed, the floor at least its
# version) or nothing of it (no row, no version directory, no staging
# directory, the history rolled back or no row at all); a row the cut left
# installing was ended at the start with its audit record ("completed" or
# "rolled back at the next start"); an answered install is always
# complete; and the same bundle installs again (or is already installed).
#
# cml itself under cml-launch: 10 points during `update install` of a cml
# bundle (the built tree with a 32 MiB file) over [0, 1.2 D] of an install
# never cut, chosen alike; cmld killed, the launcher started again when it
# ended (it goes on by itself when the new slot was marked).  Then either the slots are as
# before (the good slot and its version, nothing tried) or the new slot is
# good with exactly the bundle's tree (every file's SHA-256); no .new or
# .old slot left after the launcher's start; the history ends rolled back
# (no row at all before it began) or confirmed, with the floor.  Two cuts
# no random point hits, made by hand: after the slot was marked but before
# the history said pending (the tried slot confirms it), and after the
# slot was confirmed but before the history said so (the next start ends
# it as confirmed).
# Proves: TSF.UPD, NDR 3.10 (installed atomically: old or new, never a
# mix), NDR 3.10(1) (the floor follows what was installed), CR 3.4, CR 2.8
# (interrupted installs ended at the next start and audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/launch-lib.sh"

update_launch_need
SLOT_TOOL=$CML_BUILDDIR/tests/tools/slot-tool
[ -x "$SLOT_TOOL" ] || skip "no tests/tools/slot-tool at $SLOT_TOOL: build first"

SEED=${CML_POWERCUT_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -dc 0-9)}
echo "# seed $SEED (CML_POWERCUT_SEED=$SEED repeats these points)"
GUESTOS_POINTS=${CML_POWERCUT_GUESTOS_POINTS:-20}
CML_POINTS=${CML_POWERCUT_CML_POINTS:-10}

stack_start
sup=$SCRATCH/sup
pki_make "$sup"
anchor_supplier "$sup"
db=$(state_dir)/cml.db

sql() {
	sqlite3 "$db" ".timeout 5000" "$@"
}
floor_of() {
	sql "select version from update_floor where kind = '$1' and name = '$2'"
}
last_id() {
	sql "select coalesce(max(id), 0) from update_history"
}
# the history rows after id N: "id|result|detail"
rows_after() {
	sql "select id, result, detail from update_history where id > $1 order by id"
}

# points N D_MS: N points over [0, 1.2 D] in milliseconds, one a line: the
# first at 0 (before the history row can exist), the last at 1.2 D (after
# the reply), the others one in each (N-2)th between, from the seeded
# generator
points() {
	python3 - "$SEED" "$1" "$2" <<'PY'
import random, sys
n, span = int(sys.argv[2]), int(sys.argv[3]) * 12 // 10
rng = random.Random(int(sys.argv[1]) * 1000 + n)
print(0)
for i in range(n - 2):
    print(int(span * (i + rng.random()) / (n - 2)))
print(span)
PY
}

# A pipe nobody writes to: ms_sleep waits on it without starting a process
# (a sleep would add milliseconds of its own to each point).
exec {SLEEPFD}<> <(:)
# timed_install BUNDLE: `update install BUNDLE` from a clean page cache,
# never cut; sets rc and t (its milliseconds), its output in $SCRATCH/out
# and err
timed_install() {
	local t0
	sync
	t0=$(ms_now)
	cmlsh_run update install "$1" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
	t=$(($(ms_now) - t0))
}

# ms_sleep MS
ms_sleep() {
	local t
	printf -v t '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
	read -r -t "$t" -u "$SLEEPFD" _
	return 0
}

# Sets pstart to a process's start time (ticks since boot), without
# starting a process, or to nothing when it is gone: proc_start PID
proc_start() {
	local stat
	pstart=
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	stat=${stat##*) }
	set -- $stat
	pstart=${20}
}

# cut_at MS VICTIM CMD...: runs CMD in the background, holds it still MS
# milliseconds later, kills VICTIM (a cmld) with SIGKILL unless it ended
# already, lets CMD go on and waits for it; sets cut_rc (its status) and
# cut_killed (1 when VICTIM was killed); CMD's output in $SCRATCH/cut.out
# and cut.err
cut_at() {
	local ms=$1 victim=$2 start cpid i
	shift 2
	# each from a clean page cache, as D was measured
	sync
	proc_start "$victim"
	start=$pstart
	[ -n "$start" ] || fail "cmld $victim is not running before the cut"
	"$@" >"$SCRATCH/cut.out" 2>"$SCRATCH/cut.err" &
	cpid=$!
	track_pid "$cpid"
	ms_sleep "$ms"
	kill -STOP "$cpid" 2>/dev/null
	cut_killed=0
	# the same process still (not a pid used again since it ended)
	proc_start "$victim"
	if [ "$pstart" = "$start" ] && kill -KILL "$victim" 2>/dev/null; then
		cut_killed=1
		for ((i = 0; i < 200; i++)); do
			kill -0 "$victim" 2>/dev/null || break
			sleep 0.01
		done
		kill -0 "$victim" 2>/dev/null && fail "cmld $victim survived SIGKILL"
	fi
	kill -CONT "$cpid" 2>/dev/null
	wait "$cpid"
	cut_rc=$?
	untrack_pid "$cpid"
	return 0
}

# ====== a guest OS ============================================================
G=$SCRATCH/bigos
guestos_make "$G" bigos 1.0 --extra-image data.ext4:128:/data
B=$SCRATCH/bigos-1.0.bundle
payloads=()
for f in $(ls "$G"); do
	payloads+=("$f=$G/$f")
done
_run_tool "cml-bundle create" "$BUNDLE" create -o "$B" --kind guestos \
    --name bigos --version 1.0 "${payloads[@]}"
_run_tool "cml-bundle sign" "$BUNDLE" sign --key "$sup/signer.key" \
    --cert "$sup/signer.crt" --chain "$sup/chain.pem" "$B"
GDIR=$(state_dir)/guestos/bigos/1.0
# what the installed directory must hold: every image with its signed
# SHA-256, and the guest OS's manifest and signature
want_images=$( (python3 - "$G/manifest.json" <<'PY'
import json, sys
for i in json.load(open(sys.argv[1]))["images"]:
    print("%s  %s" % (i["sha256"], i["file"]))
PY
	cd "$G" && sha256sum manifest.json manifest.json.p7s) | LC_ALL=C sort -k 2)

# what the installed directory holds: every entry's SHA-256 (a directory
# or other entry says so), sorted like want_images
installed_images() {
	local f
	[ -d "$GDIR" ] || { echo "<no $GDIR>"; return 0; }
	(cd "$GDIR" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
	    while read -r f; do
		if [ -f "$f" ] && [ ! -L "$f" ]; then
			sha256sum "$f"
		else
			echo "<not a file: $f>"
		fi
	    done)
}

guestos_remove() {
	cmlsh_run --yes guestos remove bigos 1.0 >/dev/null 2>"$SCRATCH/err" ||
	    fail "guestos remove bigos 1.0: $(cat "$SCRATCH/err")"
	[ -e "$GDIR" ] && fail "guestos remove left $GDIR"
	return 0
}

# --- installs never cut: their duration -----------------------------------
# D is the longest of three (an install takes from 0.7 to 1.3 times another).
ts=()
for k in 1 2 3; do
	timed_install "$B"
	expect_status "install $k never cut" 0 "$rc"
	expect_match "install $k says installed" "result: +installed" "$(cat "$SCRATCH/out")"
	expect_eq "install $k: its images as signed" "$want_images" "$(installed_images)"
	guestos_remove
	echo "# install $k of the guest OS bundle ($(($(stat -c %s "$B") / 1048576)) MiB): $t ms"
	ts+=("$t")
done
D=$(printf '%s\n' "${ts[@]}" | sort -n | tail -n 1)
echo "# D = $D ms"
[ "$D" -ge 150 ] || fail "an install took $D ms: too short to cut at points within it"

old_n=0
new_n=0
before_row=0
after_reply=0
left_installing=0
i=0
for p in $(points "$GUESTOS_POINTS" "$D"); do
	i=$((i + 1))
	what="point $i at $p ms"
	id0=$(last_id)
	victim=$(cmld_pid) || fail "no cmld runs for $STACK_DIR"
	cut_at "$p" "$victim" "$CMLSH" --socket "$SOCK" update install "$B"
	replied=0
	if [ "$cut_rc" = 0 ]; then
		replied=1
		after_reply=$((after_reply + 1))
		expect_match "$what: the answered install said installed" "result: +installed" \
		    "$(cat "$SCRATCH/cut.out")"
	elif [ "$cut_killed" = 1 ]; then
		expect_status "$what: the client failed" 1 "$cut_rc"
		expect_match "$what: it says cmld was lost" \
		    "^cmlsh: (cannot reach cmld at .*: Connection refused|cmld closed the connection before it finished replying)" \
		    "$(cat "$SCRATCH/cut.err")"
	fi
	if [ "$cut_killed" = 1 ]; then
		STACK_RUNNING=0
		stack_start
	fi

	rows=$(rows_after "$id0")
	nstore=$(sql "select count(*) from guestos where name = 'bigos' and version = '1.0'")
	[ -z "$rows" ] && [ "$cut_killed" = 1 ] && before_row=$((before_row + 1))
	if [ "$nstore" = 1 ]; then
		new_n=$((new_n + 1))
		outcome=new
		expect_eq "$what: new: every image with its signed SHA-256, nothing else" "$want_images" \
		    "$(installed_images)"
		expect_match "$what: new: the history says installed" "^[0-9]+\\|installed\\|" "$rows"
		CHECKS=$((CHECKS + 1))
		fl=$(floor_of guestos bigos)
		if [ -n "$fl" ] && [ "$(printf '%s\n' "$fl" 1.0 | sort -V | head -n 1)" = 1.0 ]; then
			_check_passed "$what: new: the floor ($fl) is at least 1.0"
		else
			_check_failed "$what: new: the floor is '$fl', below 1.0"
		fi
	else
		old_n=$((old_n + 1))
		outcome=old
		expect_eq "$what: old: no row in the store" 0 "$nstore"
		CHECKS=$((CHECKS + 1))
		if [ -e "$GDIR" ]; then
			_check_failed "$what: old: $GDIR is left: $(ls -la "$GDIR")"
		else
			_check_passed "$what: old: no version directory"
		fi
		expect_eq "$what: old: no staging directory" "" "$(staging_dirs)"
		expect_match "$what: old: the history rolled back, or no row" \
		    "^([0-9]+\\|rolled-back\\|.*)?$" "$rows"
		[ "$replied" = 1 ] && _check_failed "$what: an answered install is not there"
	fi
	# a row the cut left installing: ended at the start, audited
	case $rows in
	*"|interrupted "*)
		left_installing=$((left_installing + 1))
		rid=${rows%%|*}
		if [ "$outcome" = new ]; then
			how="interrupted after it was in place: completed at the next start"
		else
			how="interrupted before it was in place: rolled back at the next start, nothing of it is installed"
		fi
		expect_match "$what: the start ended row $rid and says how" \
		    "^$rid\\|(installed|rolled-back)\\|$(re_quote "$how")\$" "$rows"
		expect_match "$what: audited" \
		    "object=bigos result=(ok|rolled-back) details=install $rid of guestos bigos 1\\.0 \\(bundle [0-9a-f]{64}\\) was $(re_quote "$how")" \
		    "$(audit_tail 40 | grep "details=install $rid of ")"
		;;
	esac

	# the same bundle again: installs, or is there already
	cmlsh_run update install "$B" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
	if [ "$outcome" = old ]; then
		expect_status "$what: installs again" 0 "$rc"
		expect_eq "$what: installed again: every image" "$want_images" "$(installed_images)"
	else
		expect_status "$what: installed already" 1 "$rc"
		expect_match "$what: says so" "guest OS bigos 1\\.0 is already installed" \
		    "$(cat "$SCRATCH/err")"
	fi
	echo "# $what: $outcome (client exit $cut_rc$([ "$cut_killed" = 1 ] || echo ", had ended"), history: ${rows:-no row})"
	guestos_remove
done
echo "# guest OS: $GUESTOS_POINTS cuts over $((D * 12 / 10)) ms: $old_n left the old state, $new_n the new one; $before_row before the history row, $after_reply after the reply, $left_installing rows left installing"
expect_eq "every guest OS cut ended old or new" "$GUESTOS_POINTS" "$((old_n + new_n))"
CHECKS=$((CHECKS + 1))
if [ "$before_row" -ge 1 ] && [ "$after_reply" -ge 1 ]; then
	_check_passed "cuts before the history row ($before_row) and after the reply ($after_reply)"
else
	_check_failed "cuts before the history row ($before_row) and after the reply ($after_reply): both are needed"
fi

# ====== cml itself under cml-launch ============================================
# cmld from now on runs under the launcher, with tpm2d and scd as before
launch_take_over

SLOTS=$SCRATCH/slots
LOG=$STACK_DIR/log/cmld.log
mkdir -p "$SLOTS" || fail "mkdir"
LAUNCH_RESTART=1

# the files of a tree: mode, SHA-256 and path, sorted
tree_sums() {
	(cd "$1" && find . -type f -printf '%m %p\n' | LC_ALL=C sort |
	    while read -r m f; do
		echo "$m $(sha256sum <"$f" | cut -d' ' -f1) $f"
	    done)
}

# bundle_cml VERSION: a signed cml bundle of the tree with VERSION in
# share/cml/version, at $SCRATCH/cml-VERSION.bundle; its tree's files in
# $SCRATCH/cml-VERSION.sums
bundle_cml() {
	local out=$SCRATCH/cml-$1.bundle
	[ -f "$out" ] && return 0
	echo "$1" >"$TREE/share/cml/version"
	tree_sums "$TREE" >"$SCRATCH/cml-$1.sums"
	_run_tool "cml-bundle create" "$BUNDLE" create -o "$out" --kind cml \
	    --name cml --version "$1" --tree "$TREE"
	_run_tool "cml-bundle sign" "$BUNDLE" sign --key "$sup/signer.key" \
	    --cert "$sup/signer.crt" --chain "$sup/chain.pem" "$out"
}

# the leftovers of a staged slot
slot_leftovers() {
	local f
	for f in "$SLOTS"/a.new "$SLOTS"/a.old "$SLOTS"/b.new "$SLOTS"/b.old; do
		[ -e "$f" ] && echo "${f##*/}"
	done
	return 0
}

cml_history() {
	sql "select id, version, result, detail from update_history where kind = 'cml' and id > $1 order by id"
}

install_prefix "$SLOTS/a"
TREE=$SCRATCH/tree
install_prefix "$TREE"
mkdir -p "$TREE/share/cml" || fail "mkdir"
# so that writing a slot takes a measurable time
head -c $((32 * 1048576)) /dev/urandom >"$TREE/share/cml/pad" || fail "cannot write the pad"
launch_start
wait_cmld any
expect_eq "cmld runs from slot a" a "$CSLOT"

# --- one install never cut: its duration -----------------------------------
ver=2
bundle_cml "$ver.0"
id0=$(last_id)
timed_install "$SCRATCH/cml-$ver.0.bundle"
DC=$t
expect_status "cml $ver.0 never cut" 0 "$rc"
expect_match "pending in slot b" "result: +pending" "$(cat "$SCRATCH/out")"
wait_cmld any
wait_state try none
expect_eq "slot b runs" b "$CSLOT"
expect_eq "slot b is good" "b|$ver.0" "$(slot_get good)|$(slot_get good_version)"
expect_eq "slot b holds the bundle's tree" "$(cat "$SCRATCH/cml-$ver.0.sums")" "$(tree_sums "$SLOTS/b")"
expect_eq "the history: confirmed" "$ver.0|confirmed" \
    "$(cml_history "$id0" | cut -d'|' -f2,3)"
echo "# a cml bundle of $(($(stat -c %s "$SCRATCH/cml-$ver.0.bundle") / 1048576)) MiB installs into its slot in $DC ms (D)"
[ "$DC" -ge 100 ] || fail "an install of cml took $DC ms: too short to cut at points within it"
ver=$((ver + 1))

cold=0
cnew=0
recovered=0
i=0
for p in $(points "$CML_POINTS" "$DC"); do
	i=$((i + 1))
	what="cml point $i at $p ms"
	v=$ver.0
	bundle_cml "$v"
	good=$(slot_get good)
	good_version=$(slot_get good_version)
	[ "$good" = a ] && other=b || other=a
	id0=$(last_id)
	nlog=$(wc -l <"$LOG")
	cut_at "$p" "$CPID" "$CMLSH" --socket "$SOCK" update install "$SCRATCH/cml-$v.bundle"
	wait_cmld any
	# a slot being tried confirms itself (no c0 here)
	wait_state try none || fail "$what: slot $(slot_get try) is still tried"
	if tail -n +"$nlog" "$LOG" | grep -q 'left by an update that was cut off'; then
		recovered=$((recovered + 1))
	fi
	expect_eq "$what: no .new or .old slot left" "" "$(slot_leftovers)"
	rows=$(cml_history "$id0")
	now="$(slot_get good)|$(slot_get good_version)|$(slot_get try)"
	if [ "$now" = "$good|$good_version|none" ]; then
		cold=$((cold + 1))
		outcome=old
		expect_eq "$what: old: the good slot runs" "$good" "$CSLOT"
		expect_match "$what: old: the history rolled back, or no row" \
		    "^([0-9]+\\|$(re_quote "$v")\\|rolled-back\\|.*)?$" "$rows"
		[ "$cut_rc" = 0 ] && _check_failed "$what: the answered install is not there"
	elif [ "$now" = "$other|$v|none" ]; then
		cnew=$((cnew + 1))
		outcome=new
		ver=$((ver + 1))
		expect_eq "$what: new: slot $other runs" "$other" "$CSLOT"
		expect_eq "$what: new: slot $other holds the bundle's tree" \
		    "$(cat "$SCRATCH/cml-$v.sums")" "$(tree_sums "$SLOTS/$other")"
		expect_match "$what: new: the history says confirmed" \
		    "^[0-9]+\\|$(re_quote "$v")\\|confirmed\\|.*$" "$rows"
		expect_eq "$what: new: the floor of cml" "$v" "$(floor_of cml cml)"
	else
		outcome=mixed
		_check_failed "$what: the slots are neither as before ($good|$good_version|none) nor updated ($other|$v|none): $now"
	fi
	case $rows in
	*"|interrupted "*)
		rid=${rows%%|*}
		expect_match "$what: audited" \
		    "object=cml result=(ok|rolled-back) details=install $rid of cml cml $(re_quote "$v") \\(bundle [0-9a-f]{64}\\) was interrupted" \
		    "$(audit_tail 40 | grep "details=install $rid of ")"
		;;
	esac
	echo "# $what: $outcome (client exit $cut_rc$([ "$cut_killed" = 1 ] || echo ", had ended"), slot $CSLOT runs, history: ${rows:-no row})"
done
echo "# cml: $CML_POINTS cuts over $((DC * 12 / 10)) ms: $cold left the old slot, $cnew the new one; $recovered times the launcher removed a half-staged slot"
expect_eq "every cml cut ended old or new" "$CML_POINTS" "$((cold + cnew))"

# --- by hand: a cut after the slot was marked, before the history said so --
# The install is cut while it writes the slot (its history row says
# installing); what the rest of it does is then done by the same code
# (common/slot.c through slot-tool: staged, synced, swapped in, marked to
# be tried once), as if the cut had come only after that.  The tried slot's
# cmld finds the row installing and its slot marked: pending, then
# confirmed.
v=$ver.0
bundle_cml "$v"
good=$(slot_get good)
good_version=$(slot_get good_version)
[ "$good" = a ] && other=b || other=a
id0=$(last_id)
victim=$CPID
"$CMLSH" --socket "$SOCK" update install "$SCRATCH/cml-$v.bundle" \
    >"$SCRATCH/cut.out" 2>"$SCRATCH/cut.err" &
cpid=$!
track_pid "$cpid"
for ((k = 0; k < 2000; k++)); do
	[ -d "$SLOTS/$other.new" ] && break
	sleep 0.005
done
kill -STOP "$cpid"
[ -d "$SLOTS/$other.new" ] || fail "the install of cml $v never began slot $other"
kill -KILL "$victim"
kill -CONT "$cpid"
wait "$cpid"
untrack_pid "$cpid"
for ((k = 0; k < 200; k++)); do
	kill -0 "$LPID" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$LPID" 2>/dev/null && fail "cml-launch did not end with its good cmld"
wait "$LPID"
untrack_pid "$LPID"
expect_eq "cut while writing slot $other: the history row says installing" "$v|installing" \
    "$(sql "select version, result from update_history where id > $id0")"
rid=$(sql "select id from update_history where id > $id0")
echo "$v" >"$TREE/share/cml/version"
new=$("$SLOT_TOOL" begin "$SLOTS" "$other") || fail "slot-tool begin $other failed"
cp -a "$TREE/." "$new/" || fail "cannot copy the tree into $new"
"$SLOT_TOOL" commit "$SLOTS" "$other" "$v" || fail "slot-tool commit $other $v failed"
launch_start
wait_cmld any
wait_state try none || fail "slot $other is still tried"
expect_eq "marked, not recorded: slot $other runs" "$other" "$CSLOT"
expect_eq "marked, not recorded: slot $other is good" "$other|$v" \
    "$(slot_get good)|$(slot_get good_version)"
expect_eq "marked, not recorded: slot $other holds the bundle's tree" \
    "$(cat "$SCRATCH/cml-$v.sums")" "$(tree_sums "$SLOTS/$other")"
expect_match "marked, not recorded: the history says confirmed" \
    "^$rid\\|$(re_quote "$v")\\|confirmed\\|slot $other \\(cml $(re_quote "$v")\\) confirmed good once cmld and c0 were up\$" \
    "$(cml_history "$id0")"
expect_match "marked, not recorded: the start audited it as pending" \
    "object=cml result=ok details=install $rid of cml cml $(re_quote "$v") \\(bundle [0-9a-f]{64}\\) was interrupted after its slot was marked: pending at the next start, to be confirmed or to fall back" \
    "$(audit_tail 40 | grep "details=install $rid of ")"
expect_eq "marked, not recorded: the floor of cml" "$v" "$(floor_of cml cml)"

# --- by hand: a cut after the slot was confirmed, before the history said so
# The state says slot $other is good; the history row is put back to
# pending and the state store's floor to the version before, as a cut
# right after the confirmation would have left them.  The next start ends
# the row as confirmed and raises the floor.
kill -TERM "$LPID"
wait "$LPID"
untrack_pid "$LPID"
sql "update update_history set result = 'pending', detail = 'written to slot $other', end_ms = NULL where id = $rid" ||
    fail "cannot put row $rid back to pending"
sql "update update_floor set version = '$good_version' where kind = 'cml' and name = 'cml'" ||
    fail "cannot put the floor of cml back to $good_version"
launch_start
wait_cmld any
expect_eq "confirmed, not recorded: slot $other runs" "$other" "$CSLOT"
expect_eq "confirmed, not recorded: the history says confirmed" \
    "$rid|$v|confirmed|slot $other (cml $v) confirmed good (the record of it completed at the next start)" \
    "$(cml_history "$id0")"
expect_eq "confirmed, not recorded: the floor of cml" "$v" "$(floor_of cml cml)"
expect_match "confirmed, not recorded: audited" \
    "object=cml result=ok details=slot $other \\(cml $(re_quote "$v")\\) confirmed good \\(the record of it completed at the next start\\)" \
    "$(audit_tail 40 | grep 'the record of it completed')"

kill -TERM "$LPID"
wait "$LPID"
untrack_pid "$LPID"

finish
