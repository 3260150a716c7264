# Sourced after lib.sh by the tests that need a smartcard: a real pcscd with
# the vpcd reader (vsmartcard) and the virtual OpenPGP card
# (tests/tools/vcard) in it.
#
# pcscd 1.9.9 ignores PCSCLITE_CSOCK_NAME and always listens on
# /run/pcscd/pcscd.comm, so it runs in a mount and network namespace of its
# own with a tmpfs on /run; clients outside reach it through
# /proc/PID/root (the client library does honour the variable).  vpcd
# listens on TCP in that namespace's loopback, so the card runs in the same
# network namespace, and no port is shared with anything else.
#
#   pcsc_start            starts pcscd; exports PCSCD_PID, PCSCLITE_CSOCK_NAME,
#                         VPCD_PORT, VPCD_READER (the reader's name as
#                         PC/SC lists it)
#   vcard_start FILE [OPTION...]
#                         inserts the card whose state is FILE (vcard's
#                         options: --serial HEX8, --remove-on INS,
#                         --delay-ms N); waits until pcscd sees it; sets
#                         VCARD_PID
#   vcard_remove          pulls the card out (ends vcard) and waits until
#                         the reader is empty
#   vcard_wait_removed    waits until the reader is empty (after a card
#                         that pulled itself out with --remove-on)
#   pcsc_run CMD...       runs CMD in pcscd's namespaces, where the
#                         default socket is the private pcscd's
#   pcsc_gpg_init         a GNUPGHOME of the test whose scdaemon reaches
#                         the private pcscd (PC/SC, shared access)
#   pcsc_gpg ARGS...      runs gpg --batch with it (through pcsc_run; gpg
#                         and gpgconf run outside would look for another
#                         agent, under the host's /run/user)
#   pcsc_gpg_stop         ends its gpg-agent and scdaemon
#   vcard_check_logs      a check: no sanitizer report in the cards' logs
# Everything started is stopped at the test's end (lib.sh's track_pid).

VCARD=$CML_BUILDDIR/tests/tools/vcard
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
PCSC_DIR=
PCSCD_PID=
VCARD_PID=
PCSC_GPG_WATCH=
# vpcd's own default port; nothing else listens in the private namespace
VPCD_PORT=35963
# pcscd names the reader FRIENDLYNAME, then the reader and slot numbers
VPCD_READER="Virtual PCD 00 00"
export VPCD_PORT VPCD_READER

# Skips unless pcscd, the vpcd driver, the virtual card and the tools the
# harness needs are there.
need_pcsc() {
	need_root
	need_prog pcscd unshare nsenter ip opensc-tool
	[ -f "$VPCD_DRIVER" ] || skip "no vpcd driver at $VPCD_DRIVER (Debian package vsmartcard-vpcd; scripts/deps --test installs it)"
	[ -x "$VCARD" ] || skip "no tests/tools/vcard at $VCARD: build first (or set CML_BUILDDIR)"
}

# Prints pcscd's view of the virtual reader: "card", "empty", or "none"
# when it does not list the reader.
pcsc_reader_state() {
	local line
	line=$(opensc-tool --list-readers 2>/dev/null | grep -F " $VPCD_READER" | head -n 1)
	case "$line" in
	"") echo none ;;
	*" Yes "*) echo card ;;
	*) echo empty ;;
	esac
}

# Waits up to 10 s until the reader's state is STATE: pcsc_wait_reader STATE
pcsc_wait_reader() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(pcsc_reader_state)" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# Starts pcscd with the vpcd reader in namespaces of its own.
pcsc_start() {
	local i ns_pid
	need_pcsc
	make_scratch
	PCSC_DIR=$SCRATCH/pcsc
	mkdir -p "$PCSC_DIR/reader.conf.d" || fail "mkdir $PCSC_DIR"
	printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:%d\nLIBPATH %s\nCHANNELID %d\n' \
	    "$VPCD_PORT" "$VPCD_DRIVER" "$VPCD_PORT" >"$PCSC_DIR/reader.conf.d/vpcd"
	unshare -mn --fork --kill-child sh -c "ip link set lo up &&
	    mount -t tmpfs -o mode=755 cml-pcsc-run /run && mkdir -m 755 /run/pcscd &&
	    exec pcscd --foreground --config $PCSC_DIR/reader.conf.d" \
	    >"$PCSC_DIR/pcscd.log" 2>&1 </dev/null &
	ns_pid=$!
	track_pid "$ns_pid"
	# unshare --fork ignores SIGTERM while it waits for its child: the
	# cleanup ends pcscd itself, and unshare with it
	for ((i = 0; i < 200; i++)); do
		PCSCD_PID=$(pgrep -P "$ns_pid" -x pcscd)
		[ -n "$PCSCD_PID" ] && [ -S "/proc/$PCSCD_PID/root/run/pcscd/pcscd.comm" ] && break
		kill -0 "$ns_pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$PCSCD_PID" ] || fail "pcscd did not start: $(cat "$PCSC_DIR/pcscd.log")"
	track_pid "$PCSCD_PID"
	PCSCLITE_CSOCK_NAME=/proc/$PCSCD_PID/root/run/pcscd/pcscd.comm
	export PCSCD_PID PCSCLITE_CSOCK_NAME
	[ -S "$PCSCLITE_CSOCK_NAME" ] || fail "pcscd made no socket: $(cat "$PCSC_DIR/pcscd.log")"
	pcsc_wait_reader empty ||
	    fail "pcscd does not list '$VPCD_READER': $(opensc-tool --list-readers 2>&1) $(cat "$PCSC_DIR/pcscd.log")"
}

# Inserts the virtual card whose state is FILE (made at the first start)
# and waits until pcscd sees it: vcard_start FILE [VCARD-OPTION...]
vcard_start() {
	local state=$1
	shift
	[ -n "$PCSCD_PID" ] || fail "vcard_start before pcsc_start"
	[ -z "$VCARD_PID" ] || fail "vcard_start: a card ($VCARD_PID) is in the reader"
	nsenter --net="/proc/$PCSCD_PID/ns/net" "$VCARD" --port "$VPCD_PORT" \
	    --state "$state" "$@" >/dev/null 2>>"$PCSC_DIR/vcard.log" </dev/null &
	VCARD_PID=$!
	export VCARD_PID
	track_pid "$VCARD_PID"
	pcsc_wait_reader card || {
		kill -0 "$VCARD_PID" 2>/dev/null || wait "$VCARD_PID"
		fail "pcscd does not see the card: $(cat "$PCSC_DIR/vcard.log")"
	}
}

# Waits until the reader is empty and the card's program has ended.
vcard_wait_removed() {
	local pid=$VCARD_PID
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	untrack_pid "$pid"
	VCARD_PID=
	pcsc_wait_reader empty || fail "the reader still holds a card"
}

# Pulls the card out: ends vcard (its state stays in its file) and waits
# until pcscd sees the reader empty.
vcard_remove() {
	[ -n "$VCARD_PID" ] || fail "vcard_remove without a card"
	kill -TERM "$VCARD_PID" 2>/dev/null
	vcard_wait_removed
}

# Runs a command in pcscd's mount and network namespaces (the default
# PC/SC socket there is the private pcscd's): pcsc_run CMD...
pcsc_run() {
	nsenter --mount="/proc/$PCSCD_PID/ns/mnt" --net="/proc/$PCSCD_PID/ns/net" \
	    env PCSCLITE_CSOCK_NAME=/run/pcscd/pcscd.comm "$@"
}

# Makes the test's GNUPGHOME ($SCRATCH/gnupg), whose scdaemon uses PC/SC
# only (no CCID driver of its own) and shares the card with other clients,
# and starts its gpg-agent and scdaemon (logs in $PCSC_DIR), which are
# stopped at the test's end.
pcsc_gpg_init() {
	need_prog gpg gpgconf gpg-connect-agent
	[ -x "$(gpgconf --list-components 2>/dev/null | sed -n 's/^scdaemon:[^:]*://p')" ] ||
	    skip "no gpg scdaemon (Debian package scdaemon; scripts/deps --test installs it)"
	GNUPGHOME=$SCRATCH/gnupg
	export GNUPGHOME
	mkdir -p -m 700 "$GNUPGHOME" || fail "mkdir $GNUPGHOME"
	printf 'disable-ccid\npcsc-shared\nlog-file %s\n' "$PCSC_DIR/scdaemon.log" \
	    >"$GNUPGHOME/scdaemon.conf"
	printf 'log-file %s\n' "$PCSC_DIR/gpg-agent.log" >"$GNUPGHOME/gpg-agent.conf"
	pcsc_run gpg-connect-agent 'scd getinfo version' /bye >/dev/null 2>&1
	[ -n "$(pcsc_gpg_pids)" ] ||
	    fail "gpg-agent did not start: $(cat "$PCSC_DIR/gpg-agent.log" 2>&1)"
	# gpg-agent and scdaemon put off a SIGTERM while a connection is open
	# (a dead pcscd's included) and end at once on SIGINT: the cleanup's
	# SIGTERM reaches this watcher, which passes SIGINT on to those of
	# this GNUPGHOME, the ones gpg started again after pcsc_gpg_stop too
	(
		trap 'kill -INT $(pcsc_gpg_pids) 2>/dev/null; exit 0' TERM
		while :; do
			sleep 1 &
			wait $!
		done
	) </dev/null >/dev/null 2>&1 &
	PCSC_GPG_WATCH=$!
	track_pid "$PCSC_GPG_WATCH"
}

# Prints the pids of the gpg-agent and scdaemon of the test's GNUPGHOME
# that run (not those ended and not yet reaped).
pcsc_gpg_pids() {
	local p cmd stat
	for p in /proc/[0-9]*; do
		case "$(cat "$p/comm" 2>/dev/null)" in
		gpg-agent | scdaemon) ;;
		*) continue ;;
		esac
		stat=$(cat "$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		[ "${stat%% *}" = Z ] && continue
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)
		[[ "$cmd" == *" --homedir $GNUPGHOME "* ]] && echo "${p#/proc/}"
	done
	return 0
}

# Runs gpg --batch in pcscd's namespaces with the test's GNUPGHOME:
# pcsc_gpg ARGS...
pcsc_gpg() {
	pcsc_run gpg --batch "$@"
}

# Stops the gpg-agent and scdaemon of the test's GNUPGHOME (a later
# pcsc_gpg starts them again).
pcsc_gpg_stop() {
	local i
	[ -n "${GNUPGHOME:-}" ] || return 0
	pcsc_run gpgconf --kill all 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		[ -z "$(pcsc_gpg_pids)" ] && return 0
		sleep 0.05
	done
	kill -INT $(pcsc_gpg_pids) 2>/dev/null
	return 0
}

# Checks the cards' logs ($PCSC_DIR/vcard*.log) for sanitizer reports (an
# ASan or UBSan build): one check of the test.
vcard_check_logs() {
	local log bad=
	CHECKS=$((CHECKS + 1))
	for log in "$PCSC_DIR"/vcard*.log; do
		[ -f "$log" ] || continue
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$log"; then
			bad="$bad $log"
			grep -E -A 30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -n 60 >&2
		fi
	done
	if [ -n "$bad" ]; then
		_check_failed "sanitizer reports in$bad"
		return 1
	fi
	_check_passed "no sanitizer report in the cards' logs"
}
