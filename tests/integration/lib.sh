# Sourced by every integration test: finds the binaries, starts a private
# stack in a scratch directory, cleans up what the test started, and offers
# assertions.  A test calls `need_root`, `stack_start`, asserts with the
# expect_* helpers, and ends with `finish`.
#
# Binaries come from $CML_BUILDDIR (set by `make check`), sources from
# $CML_SRCDIR.  A test that cannot run skips with exit 77 and says why; when
# CML_REQUIRE_INTEGRATION=1 (CI) a skip is a failure instead.

set -u

CML_SRCDIR=${CML_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CML_BUILDDIR=${CML_BUILDDIR:-$CML_SRCDIR/build}
export CML_SRCDIR CML_BUILDDIR
# tests import varlink.py; keep the source tree free of __pycache__
export PYTHONDONTWRITEBYTECODE=1

# The system's programs first, python3 above all (scripts/deps installs
# it): a version manager's shim earlier in PATH costs a third of a second
# per call.
if [ -x /usr/bin/python3 ]; then
	PATH=/usr/bin:$PATH
fi

CMLD=$CML_BUILDDIR/daemon/cmld/cmld
CMLSH=$CML_BUILDDIR/cmlsh/cmlsh
STACK=$CML_SRCDIR/scripts/stack
VARLINK_PY=$CML_SRCDIR/tests/integration/varlink.py
TEST_NAME=$(basename "$0" .sh)

FAILURES=0
CHECKS=0
SCRATCH=
STACK_DIR=
SOCK=
STACK_RUNNING=0
BG_PIDS=()
# network namespaces this test made (net_ns_add), removed at cleanup
NET_NSES=()
# The parent cgroup of the stack's containers (cmld --cgroup-parent): one
# of the test's own, so that tests running side by side never share
# groups; removed at cleanup.
CT_CGROUP_PARENT=${CT_CGROUP_PARENT:-cml-test-$$}
# Words put in front of cmld's command line (a command that ends by
# executing its arguments, so that cmld keeps the pid scripts/stack
# records), e.g. "unshare -m --propagation private": CML_TEST_WRAP
CML_TEST_WRAP=${CML_TEST_WRAP:-}

# Ends the test as skipped, loudly; under CML_REQUIRE_INTEGRATION=1 a skip
# is a failure.
skip() {
	if [ "${CML_REQUIRE_INTEGRATION:-0}" = 1 ]; then
		echo "FAIL: $TEST_NAME cannot run: $* (CML_REQUIRE_INTEGRATION=1 forbids skipping)" >&2
		exit 1
	fi
	echo "SKIP: $TEST_NAME: $*" >&2
	exit 77
}

# Ends the test as failed at once.
fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	FAILURES=$((FAILURES + 1))
	exit 1
}

# Records a failed check and goes on, so one run shows every deviation.
_check_failed() {
	FAILURES=$((FAILURES + 1))
	echo "not ok - $*" >&2
}

_check_passed() {
	echo "ok - $*"
}

# expect_eq DESCRIPTION EXPECTED ACTUAL: exact string comparison.
expect_eq() {
	local desc=$1 want=$2 got=$3
	CHECKS=$((CHECKS + 1))
	if [ "$want" == "$got" ]; then
		_check_passed "$desc"
		return 0
	fi
	_check_failed "$desc"
	echo "--- expected:" >&2
	printf '%s\n' "$want" >&2
	echo "--- got:" >&2
	printf '%s\n' "$got" >&2
	if command -v diff >/dev/null; then
		echo "--- diff (expected, got):" >&2
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2
	fi
	echo "---" >&2
	return 1
}

# expect_match DESCRIPTION REGEX ACTUAL: bash extended regex, anchor it
# yourself.
expect_match() {
	local desc=$1 re=$2 got=$3
	CHECKS=$((CHECKS + 1))
	if [[ "$got" =~ $re ]]; then
		_check_passed "$desc"
		return 0
	fi
	_check_failed "$desc"
	echo "--- expected to match: $re" >&2
	echo "--- got:" >&2
	printf '%s\n' "$got" >&2
	echo "---" >&2
	return 1
}

# expect_between DESCRIPTION LOW HIGH VALUE: LOW <= VALUE < HIGH (a
# duration in ms).
expect_between() {
	CHECKS=$((CHECKS + 1))
	if [ "$4" -ge "$2" ] && [ "$4" -lt "$3" ]; then
		_check_passed "$1 ($4 ms)"
	else
		_check_failed "$1: $4 ms, expected $2 to $3"
	fi
}

# Prints the milliseconds since the epoch, without a fork.
ms_now() {
	echo $((${EPOCHREALTIME/./} / 1000))
}

# expect_status DESCRIPTION EXPECTED ACTUAL: exit statuses.
expect_status() {
	local desc=$1 want=$2 got=$3
	CHECKS=$((CHECKS + 1))
	if [ "$want" = "$got" ]; then
		_check_passed "$desc (exit $got)"
		return 0
	fi
	_check_failed "$desc: exit status $got, expected $want"
	return 1
}

# expect_lines DESCRIPTION TEXT REGEX...: each line of the text
# matches the regex at its position, and there are exactly that many lines.
expect_lines() {
	local desc=$1 text=$2 i n ok=1
	shift 2
	local -a pats=("$@") lines=()
	mapfile -t lines <<<"$text"
	[ -z "$text" ] && lines=()
	CHECKS=$((CHECKS + 1))
	n=$#
	if [ "${#lines[@]}" -ne "$n" ]; then
		ok=0
	else
		for ((i = 0; i < n; i++)); do
			if ! [[ "${lines[$i]}" =~ ${pats[$i]} ]]; then
				ok=0
				echo "  line $((i + 1)) '${lines[$i]}' does not match '${pats[$i]}'" >&2
			fi
		done
	fi
	if [ "$ok" = 1 ]; then
		_check_passed "$desc"
		return 0
	fi
	_check_failed "$desc"
	echo "--- expected $n lines matching:" >&2
	printf '  %s\n' "$@" >&2
	echo "--- got ${#lines[@]}:" >&2
	printf '%s\n' "$text" >&2
	echo "---" >&2
	return 1
}

# Skips unless we run as root.
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (runs cmld with a private state directory and changes users)"
}

# Skips unless every named program is on PATH.
need_prog() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || skip "needs '$p' (scripts/deps installs it)"
	done
}

# Skips unless cmld and cmlsh are built.
need_binaries() {
	[ -x "$CMLD" ] || skip "no cmld at $CMLD: build first (or set CML_BUILDDIR)"
	[ -x "$CMLSH" ] || skip "no cmlsh at $CMLSH: build first (or set CML_BUILDDIR)"
}

# Makes the scratch directory (traversable by unprivileged test users) and
# arms the cleanup.
make_scratch() {
	[ -n "$SCRATCH" ] && return 0
	SCRATCH=$(mktemp -d "/tmp/cml-it-$TEST_NAME.XXXXXX") || fail "mktemp failed"
	chmod 755 "$SCRATCH"
	STACK_DIR=$SCRATCH/stack
	SOCK=$STACK_DIR/run/cml/control.sock
	TPM2D_SOCK=$STACK_DIR/run/cml/tpm2d.sock
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Starts the stack in the scratch directory and sets $SOCK; cmld runs with
# --cgroup-parent $CT_CGROUP_PARENT, behind $CML_TEST_WRAP.
stack_start() {
	local out
	make_scratch
	if ! out=$(CMLD_CGROUP_PARENT=$CT_CGROUP_PARENT CMLD_WRAP=${CML_TEST_WRAP:-} \
	    "$STACK" start "$STACK_DIR"); then
		fail "scripts/stack start $STACK_DIR failed"
	fi
	STACK_RUNNING=1
	[ "$out" = "$SOCK" ] || fail "scripts/stack start printed '$out', expected '$SOCK'"
}

# Stops the stack this test started.
stack_stop() {
	if [ "$STACK_RUNNING" = 1 ]; then
		"$STACK" stop "$STACK_DIR" >/dev/null || echo "warning: scripts/stack stop had to kill cmld" >&2
		STACK_RUNNING=0
	fi
}

# Prints the pid of the stack's cmld, if that process is the cmld of this
# test's directory (a stale pid file must not lead to signalling another).
cmld_pid() {
	local pid
	pid=$(head -n 1 "$STACK_DIR/run/cml/cmld.pid" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] || return 1
	case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
	*cmld*" --root $STACK_DIR "*) echo "$pid" ;;
	*) return 1 ;;
	esac
}

# Sends the stack's cmld a signal and waits until it is gone (it is not our
# child, 5 s at most); fails the test when there is none or it survives:
# cmld_end SIGNAL
cmld_end() {
	local pid w
	pid=$(cmld_pid) || fail "no cmld runs for $STACK_DIR"
	kill -"$1" "$pid"
	for ((w = 0; w < 100; w++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "cmld $pid survived SIG$1"
	return 0
}

# Kills the stack's cmld with SIGKILL and waits until it is gone.
cmld_kill9() {
	cmld_end KILL
}

# Runs the shell against the stack: cmlsh_run ARGS...
cmlsh_run() {
	"$CMLSH" --socket "$SOCK" "$@"
}

# Runs the varlink client (standard library only): varlink_run ARGS...
varlink_run() {
	python3 "$VARLINK_PY" "$@"
}

# Remembers a background process this test started, to stop it on exit.
track_pid() {
	BG_PIDS+=("$1")
}

# Forgets a tracked process once the test has waited for it (its pid may
# be reused by then).
untrack_pid() {
	local p keep=()
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

# Looks for sanitizer reports in cmld's and tpm2d's logs; ASan and UBSan
# builds fail the test on any.
check_sanitizer_reports() {
	local log rc=0
	for log in "$STACK_DIR/log/cmld.log" "$STACK_DIR/log/tpm2d.log"; do
		[ -f "$log" ] || continue
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$log"; then
			echo "not ok - $(basename "$log" .log) reported a sanitizer error:" >&2
			grep -E -A 30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -n 60 >&2
			rc=1
		fi
	done
	return $rc
}

# Removes the stack's own parent cgroup (never cmld's default "cml") in every
# hierarchy, v2 ones mounted elsewhere included, once cmld has gone: what
# is left below it is empty by then (ct_exit killed the containers).
cgroup_parent_remove() {
	local d
	[ "$CT_CGROUP_PARENT" != cml ] || return 0
	for d in /sys/fs/cgroup/*/"$CT_CGROUP_PARENT" /sys/fs/cgroup/"$CT_CGROUP_PARENT"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$d" ] && echo "warning: cgroup $d is left: $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l) processes in it" >&2
	done
	return 0
}

# Stops what this test started (by pid) and removes the scratch directory.
cleanup() {
	local status=$? pid
	trap - EXIT
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	stack_stop
	# what a failed or interrupted start left (tpm2d, swtpm): stop it too
	if [ -n "$STACK_DIR" ] && [ -d "$STACK_DIR/run" ]; then
		"$STACK" stop "$STACK_DIR" >/dev/null 2>&1
	fi
	cgroup_parent_remove
	net_ns_cleanup
	if [ -n "$STACK_DIR" ] && ! check_sanitizer_reports; then
		FAILURES=$((FAILURES + 1))
		[ "$status" = 0 ] && status=1
	fi
	if [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ]; then
		if [ "$status" != 0 ] && [ "$status" != 77 ] && [ -f "$STACK_DIR/log/cmld.log" ]; then
			echo "--- last lines of cmld.log ---" >&2
			tail -n 30 "$STACK_DIR/log/cmld.log" >&2
		fi
		if [ "${CML_KEEP_SCRATCH:-0}" = 1 ]; then
			echo "kept $SCRATCH" >&2
		else
			rm -rf "$SCRATCH"
		fi
	fi
	exit "$status"
}

# --- a pseudo-terminal ----------------------------------------------------------
# pty_start ROWS COLS WORD...: runs the words on a pty of that size (under
# script), output in $SCRATCH/tty.out; what pty_keys types is its input,
# which stays open until pty_end (at its input's end script would type an
# end-of-file character, which a raw terminal passes on); $tpid is script.
pty_start() {
	local rows=$1 cols=$2 args
	shift 2
	make_scratch
	rm -f "$SCRATCH/keys" "$SCRATCH/tty.out"
	mkfifo "$SCRATCH/keys" || fail "cannot make $SCRATCH/keys"
	printf -v args '%q ' "$@"
	script -qfec "stty rows $rows cols $cols; exec $args" /dev/null \
	    <"$SCRATCH/keys" >"$SCRATCH/tty.out" 2>&1 &
	tpid=$!
	track_pid "$tpid"
	exec 9>"$SCRATCH/keys"
}

# pty_keys TEXT: types TEXT (printf escapes: \r for Enter, \003 for Ctrl-C)
pty_keys() {
	printf "$1" >&9
}

# pty_wait TEXT: waits up to 10 s until the output shows TEXT
pty_wait() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -a -q -- "$1" "$SCRATCH/tty.out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# pty_end: closes the input and waits for the command; its status in $trc
pty_end() {
	exec 9>&-
	wait "$tpid"
	trc=$?
	untrack_pid "$tpid"
}

# --- the TPM ------------------------------------------------------------------
# The stack's tpm2d socket is $TPM2D_SOCK (scripts/stack starts swtpm and
# tpm2d before cmld).  A test that needs a TPM of its own starts one with
# swtpm_start; it is stopped at exit.

# Starts a software TPM whose state and Unix socket are in DIR (never a TCP
# port) and sets $SWTPM_TCTI to reach it (tpm2d --tcti, TPM2TOOLS_TCTI):
# swtpm_start DIR.  swtpm serves one client at a time.
swtpm_start() {
	local d=$1 i pid
	need_prog swtpm
	mkdir -p "$d" || fail "mkdir $d"
	swtpm socket --tpm2 --tpmstate "dir=$d" \
	    --server "type=unixio,path=$d/sock" \
	    --ctrl "type=unixio,path=$d/sock.ctrl" \
	    --flags not-need-init,startup-clear --daemon \
	    --pid "file=$d/pid" --log "file=$d/log" </dev/null ||
	    fail "swtpm did not start in $d"
	for ((i = 0; i < 100; i++)); do
		[ -S "$d/sock" ] && [ -s "$d/pid" ] && break
		sleep 0.05
	done
	pid=$(head -n 1 "$d/pid" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] || fail "swtpm in $d wrote no pid"
	track_pid "$pid"
	SWTPM_TCTI=swtpm:path=$d/sock
}

# Starts tpm2d alone (no cmld) with --root $STACK_DIR on the TPM of
# swtpm_start, its log in $STACK_DIR/log/tpm2d.log, and waits until it is
# ready; sets $TPM2D_PID: tpm2d_up [TPM2D-OPTIONS...].  1 if it exits
# first.  $TPM2D_WRAP, if set, are words put in front of it (setpriv ...).
tpm2d_up() {
	local line
	make_scratch
	mkdir -p "$STACK_DIR/log" || fail "mkdir $STACK_DIR/log"
	chmod 755 "$STACK_DIR" "$STACK_DIR/log"
	echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) tpm2d_up $*" >>"$STACK_DIR/log/tpm2d.log"
	exec 3< <(exec ${TPM2D_WRAP:-} "$CML_BUILDDIR/daemon/tpm2d/tpm2d" --root "$STACK_DIR" \
	    --tcti "$SWTPM_TCTI" --foreground --ready-fd 4 "$@" 4>&1 \
	    >>"$STACK_DIR/log/tpm2d.log" 2>&1 </dev/null)
	TPM2D_PID=$!
	track_pid "$TPM2D_PID"
	line=
	IFS= read -r -t 20 -u 3 line
	exec 3<&-
	[ "$line" = READY=1 ] && return 0
	tail -n 5 "$STACK_DIR/log/tpm2d.log" >&2
	return 1
}

# Stops the tpm2d of tpm2d_up (SIGTERM) and waits until it is gone.
tpm2d_down() {
	local i
	[ -n "${TPM2D_PID:-}" ] || return 0
	kill -TERM "$TPM2D_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$TPM2D_PID" 2>/dev/null || break
		[ "$(awk '{ print $3 }' "/proc/$TPM2D_PID/stat" 2>/dev/null)" = Z ] && break
		sleep 0.1
	done
	wait "$TPM2D_PID" 2>/dev/null
	untrack_pid "$TPM2D_PID"
	TPM2D_PID=
}

# Calls a method of tpm2d: tpm2d_call METHOD [PARAMETERS-JSON]; prints the
# reply as varlink.py does (exit 1 for an error reply).
tpm2d_call() {
	python3 "$VARLINK_PY" "$TPM2D_SOCK" call "$@"
}

# Calls a method of tpm2d and prints the reply's parameters (the test fails
# on an error reply): tpm2d_params METHOD [PARAMETERS-JSON].
tpm2d_params() {
	local out
	out=$(tpm2d_call "$@") || fail "tpm2d answered $1 with $out"
	json_get parameters <<<"$out"
}

# Calls a method of tpm2d that is to fail and prints "ERROR NAME: MESSAGE"
# of its error reply: tpm2d_refused METHOD [PARAMETERS-JSON].
tpm2d_refused() {
	tpm2d_call "$@" | python3 -c 'import json, sys
m = json.load(sys.stdin)
print("ERROR %s: %s" % (m.get("error"), m.get("parameters", {}).get("message", "")))'
}

# Prints the pid of the stack's tpm2d, if it is the tpm2d of this test's
# directory.
tpm2d_pid() {
	local pid
	pid=$(head -n 1 "$STACK_DIR/run/cml/tpm2d.pid" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] || return 1
	case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
	*tpm2d*" --root $STACK_DIR "*) echo "$pid" ;;
	*) return 1 ;;
	esac
}

# Ends the test: 0 when every check passed, 1 otherwise.
finish() {
	if [ "$FAILURES" -ne 0 ]; then
		echo "FAIL: $TEST_NAME: $FAILURES of $CHECKS checks failed" >&2
		exit 1
	fi
	echo "PASS: $TEST_NAME: $CHECKS checks"
	exit 0
}

# Creates the groups cmld knows (cml: operators, cml-admin: admins) if they
# are missing, and prints nothing.
ensure_groups() {
	need_prog groupadd getent
	groupadd -f cml || fail "groupadd cml failed"
	groupadd -f cml-admin || fail "groupadd cml-admin failed"
}

# Prints the gid of a group.
group_gid() {
	getent group "$1" | cut -d: -f3
}

# Copies the programs an unprivileged user runs (cmlsh, varlink.py) into the
# scratch directory, since the build and source trees may sit below a
# directory only root can enter (such as /root); sets $USER_CMLSH,
# $USER_VARLINK_PY and $USER_PYTHON3 (the system's python3, not one under
# root's home).
user_programs() {
	make_scratch
	mkdir -p "$SCRATCH/bin" || fail "mkdir $SCRATCH/bin"
	cp "$CMLSH" "$VARLINK_PY" "$SCRATCH/bin/" || fail "cannot copy cmlsh and varlink.py"
	chmod 755 "$SCRATCH/bin" "$SCRATCH/bin/cmlsh" "$SCRATCH/bin/varlink.py"
	USER_CMLSH=$SCRATCH/bin/cmlsh
	USER_VARLINK_PY=$SCRATCH/bin/varlink.py
	USER_PYTHON3=/usr/bin/python3
	[ -x "$USER_PYTHON3" ] || USER_PYTHON3=$(command -v python3)
}

# Sets USER_CMD to the setpriv command line that runs a program as uid/gid
# 65534 with exactly the named supplementary groups (none if no group is
# named): user_argv "cml,cml-admin".  "${USER_CMD[@]}" PROG... & leaves the
# program's own pid in $!.
user_argv() {
	local groups=$1 gids='' g id
	USER_CMD=(setpriv --reuid=65534 --regid=65534)
	if [ -z "$groups" ]; then
		USER_CMD+=(--clear-groups --)
		return 0
	fi
	for g in ${groups//,/ }; do
		id=$(group_gid "$g")
		[ -n "$id" ] || fail "no group $g"
		gids=${gids:+$gids,}$id
	done
	USER_CMD+=(--groups="$gids" --)
}

# Runs a command as uid/gid 65534 with exactly the named supplementary
# groups: as_user "cml,cml-admin" CMD...
as_user() {
	user_argv "$1"
	shift
	"${USER_CMD[@]}" "$@"
}

# Prints one member of a JSON text on stdin: json_get KEY-OR-INDEX...,
# e.g. json_get settings 0 value.  Strings print as they are, anything else
# as JSON; input that is not JSON, or a missing member, prints a line that
# says so (and exits 1), so that a comparison shows what went wrong.
json_get() {
	python3 -c 'import json, sys
text = sys.stdin.read()
try:
	v = json.loads(text)
except ValueError:
	print("<not JSON: %r>" % text[:200], end="")
	sys.exit(1)
for k in sys.argv[1:]:
	try:
		v = v[int(k)] if isinstance(v, list) else v[k]
	except (LookupError, TypeError, ValueError):
		print("<no member %r in %s>" % (k, json.dumps(v)[:200]), end="")
		sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v), end="")
' "$@"
}

# Prints the number of audit records (asks as root through cmlsh --json).
audit_count() {
	cmlsh_run --json -c 'audit list' |
	    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["records"]))'
}

# Prints the last N audit records, one line each, without seq and time:
# "type=T uid=U pid=P container=C object=O result=R details=D".
audit_tail() {
	cmlsh_run --json -c "audit list --last $1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    print("type=%s uid=%s pid=%s container=%s object=%s result=%s details=%s" % (
        r["type"], r["uid"], r["pid"], r["container"], r["object"],
        r["result"], r["details"]))'
}

# --- trust chain and guest OSes --------------------------------------------
# A test makes its PKI and guest OSes once (pki_make, guestos_make), copies a
# guest OS for each tampering (guestos_clone), and checks that a refused
# install changed nothing (expect_install_refused, installed_snapshot).

MKPKI=$CML_SRCDIR/provisioning/cml-mkpki
CML_SIGN=$CML_BUILDDIR/provisioning/cml-sign
MKGUESTOS=$CML_SRCDIR/scripts/cml-mkguestos
# the PKI guestos_make and manifest_sign use unless told otherwise
GUESTOS_PKI=

# Skips unless the PKI and guest OS tools and what they need are there.
need_guestos_tools() {
	[ -x "$MKPKI" ] || skip "no provisioning/cml-mkpki at $MKPKI"
	[ -x "$CML_SIGN" ] || skip "no cml-sign at $CML_SIGN: build first (or set CML_BUILDDIR)"
	[ -x "$MKGUESTOS" ] || skip "no scripts/cml-mkguestos at $MKGUESTOS"
	need_prog openssl sqlite3 sha256sum python3 mksquashfs mkfs.ext4 busybox
}

# Prints the state directory of the stack.
state_dir() {
	echo "$STACK_DIR/var/lib/cml"
}

# Runs a tool quietly; on failure ends the test with its output:
# _run_tool WHAT CMD...
_run_tool() {
	local what=$1 log
	shift
	make_scratch
	log=$SCRATCH/tool.log
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		fail "$what failed: $*"
	fi
}

# Creates a PKI (root, software-signing CA, signer, device CA) in DIR and,
# the first time, makes it GUESTOS_PKI: pki_make DIR [MKPKI-OPTIONS...]
pki_make() {
	local dir=$1
	shift
	_run_tool "cml-mkpki" "$MKPKI" "$dir" "$@"
	[ -n "$GUESTOS_PKI" ] || GUESTOS_PKI=$dir
}

# Adds a certificate and key DIR/NAME.{crt,key} to a PKI (a signer under
# its software-signing CA unless told otherwise):
# pki_leaf DIR NAME [--expired] [--no-codesign] [--rsa BITS] [--sha1] [--ca]
pki_leaf() {
	local dir=$1 name=$2
	shift 2
	_run_tool "cml-mkpki leaf $name" "$MKPKI" leaf "$dir" "$name" "$@"
}

# Gives the stack's device its identity under the PKI in DIR (steps 2 and
# 3 of provisioning): the device key's request (provision identity), a
# certificate for it issued by DIR's device CA (DIR/dev.crt), installed
# with that CA as its chain (DIR/dev-chain.pem) and DIR's root as the
# device CA anchor: provision_device_cert DIR
provision_device_cert() {
	local pki=$1
	cmlsh_run --json provision identity >"$SCRATCH/identity.json" 2>"$SCRATCH/err" ||
	    fail "provision identity: $(cat "$SCRATCH/err")"
	json_get csr <"$SCRATCH/identity.json" >"$pki/dev.csr"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' \
	    >"$pki/dev.ext"
	openssl x509 -req -in "$pki/dev.csr" -CA "$pki/devca.crt" \
	    -CAkey "$pki/devca.key" -set_serial "0x$(openssl rand -hex 8)" -days 30 \
	    -sha384 -extfile "$pki/dev.ext" -out "$pki/dev.crt" >/dev/null 2>&1 ||
	    fail "openssl x509 -req (the device CA signs the request)"
	cat "$pki/dev.crt" "$pki/devca.crt" >"$pki/dev-chain.pem"
	cmlsh_run provision certificate "$pki/dev-chain.pem" "$pki/root.crt" \
	    >/dev/null 2>"$SCRATCH/err" ||
	    fail "provision certificate: $(cat "$SCRATCH/err")"
}

# Builds and signs a guest OS in DIR with GUESTOS_PKI:
# guestos_make DIR NAME VERSION [MKGUESTOS-OPTIONS...]
guestos_make() {
	local dir=$1 name=$2 version=$3
	shift 3
	[ -n "$GUESTOS_PKI" ] || fail "guestos_make: no PKI (call pki_make first)"
	_run_tool "cml-mkguestos $name $version" "$MKGUESTOS" "$dir" \
	    --pki "$GUESTOS_PKI" --name "$name" --version "$version" "$@"
}

# Copies a guest OS directory to a new one, to tamper with:
# guestos_clone SRC DST
guestos_clone() {
	rm -rf "$2"
	cp -a "$1" "$2" || fail "cannot copy $1 to $2"
}

# Signs DIR/manifest.json again (DIR/manifest.json.p7s) with a signer:
# manifest_sign DIR [KEY CERT [CHAIN]] (default: GUESTOS_PKI's signer and
# chain; an empty CHAIN signs without one).
manifest_sign() {
	local dir=$1 key=${2:-$GUESTOS_PKI/signer.key}
	local cert=${3:-$GUESTOS_PKI/signer.crt} chain=${4-$GUESTOS_PKI/chain.pem}
	rm -f "$dir/manifest.json.p7s"
	if [ -n "$chain" ]; then
		_run_tool "cml-sign" "$CML_SIGN" sign --key "$key" --cert "$cert" \
		    --chain "$chain" "$dir/manifest.json"
	else
		_run_tool "cml-sign" "$CML_SIGN" sign --key "$key" --cert "$cert" \
		    "$dir/manifest.json"
	fi
}

# Changes DIR/manifest.json with a piece of Python acting on the dict m
# (written back compactly, not signed again): manifest_edit DIR CODE, e.g.
# manifest_edit "$d" 'm["images"].append(dict(m["images"][0]))'
manifest_edit() {
	python3 - "$1/manifest.json" "$2" <<'PY' || fail "manifest_edit $1 failed"
import json, sys
path, code = sys.argv[1], sys.argv[2]
with open(path) as f:
    m = json.load(f)
exec(code)
with open(path, "w") as f:
    json.dump(m, f, separators=(",", ":"))
PY
}

# Prints one member of DIR/manifest.json: manifest_get DIR KEY-OR-INDEX...
manifest_get() {
	local dir=$1
	shift
	json_get "$@" <"$dir/manifest.json"
}

# Flips the bits of one byte of FILE at OFFSET (default: the middle).
flip_byte() {
	python3 - "$1" "${2:-}" <<'PY' || fail "flip_byte $1 failed"
import os, sys
path = sys.argv[1]
size = os.path.getsize(path)
off = int(sys.argv[2]) if sys.argv[2] else size // 2
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
PY
}

# Prints what installing may change, to compare before and after: every
# entry under the installed tree (type, mode, size, name) and the hash of
# every file, staging directories included; the guest OS rows of the
# database; and `guestos list`.
installed_snapshot() {
	local state t
	state=$(state_dir)
	# (a missing and an empty guestos directory look the same)
	echo "# tree"
	if [ -d "$state/guestos" ]; then
		(cd "$state/guestos" && find . -mindepth 1 -printf '%y %m %s %p -> %l\n' | LC_ALL=C sort &&
		    find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
	fi
	echo "# database"
	local -a sql=()
	for t in $(sqlite3 "$state/cml.db" ".timeout 5000" \
	    "select name from sqlite_master where type = 'table' and (name like '%guestos%' or name like '%image%') order by name"); do
		sql+=("select '## $t'" "select * from \"$t\" order by 1, 2")
	done
	sqlite3 "$state/cml.db" ".timeout 5000" "${sql[@]}" \
	    "select '## count'" "select count(*) from guestos" 2>&1
	echo "# guestos list"
	cmlsh_run guestos list 2>&1
}

# Prints the staging directories left in the installed tree.
staging_dirs() {
	local state
	state=$(state_dir)
	[ -d "$state/guestos" ] || return 0
	find "$state/guestos" -maxdepth 1 -name '.staging-*' -printf '%f\n'
}

# --- update bundles (cml-bundle(5)) -----------------------------------------
BUNDLE=$CML_BUILDDIR/provisioning/cml-bundle

# Skips unless cml-bundle is built.
need_bundle_tool() {
	[ -x "$BUNDLE" ] || skip "no cml-bundle at $BUNDLE: build first"
}

# Prints the SHA-256 fingerprint of a certificate's DER (as cmld names
# anchors and signers): cert_fp CERT
cert_fp() {
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# Makes the root of PKI DIR a supplier anchor, confirmed by its
# fingerprint: anchor_supplier DIR
anchor_supplier() {
	cmlsh_run provision anchor "$1/root.crt" supplier --confirm \
	    "$(cert_fp "$1/root.crt")" >/dev/null ||
	    fail "provision anchor (supplier) $1/root.crt failed"
}

# Packs the guest OS in DIR into a bundle OUT, unsigned:
# bundle_guestos DIR OUT VERSION
bundle_guestos() {
	local dir=$1 out=$2 version=$3 f
	local -a payloads=()
	for f in $(ls "$dir"); do
		payloads+=("$f=$dir/$f")
	done
	_run_tool "cml-bundle create" "$BUNDLE" create -o "$out" --kind guestos \
	    --name "$(manifest_get "$dir" name)" --version "$version" "${payloads[@]}"
}

# Adds a signature by a signer of PKI DIR (signer unless told):
# bundle_sign BUNDLE DIR [LEAF]
bundle_sign() {
	local leaf=${3:-signer}
	_run_tool "cml-bundle sign" "$BUNDLE" sign --key "$2/$leaf.key" \
	    --cert "$2/$leaf.crt" --chain "$2/chain.pem" "$1"
}

# Prints a bundle's digest (the SHA-256 of its manifest): bundle_digest B
bundle_digest() {
	python3 - "$1" <<'PY'
import hashlib, struct, sys
d = open(sys.argv[1], "rb").read()
off, ln = struct.unpack_from("<QI", d[-64:], 16)
print(hashlib.sha256(d[off:off + ln]).hexdigest())
PY
}

# Prints where a payload of a bundle begins: bundle_payload_at B NAME
bundle_payload_at() {
	python3 - "$1" "$2" <<'PY'
import json, struct, sys
d = open(sys.argv[1], "rb").read()
off, ln = struct.unpack_from("<QI", d[-64:], 16)
for p in json.loads(d[off:off + ln])["payloads"]:
    if p["name"] == sys.argv[2]:
        print(p["offset"])
PY
}

# Changes a byte of the first SHA-256 in a bundle's manifest, so that the
# manifest stays valid JSON but its signature no longer verifies:
# bundle_change_manifest BUNDLE
bundle_change_manifest() {
	python3 - "$1" <<'PY' || fail "cannot change the manifest of $1"
import struct, sys
path = sys.argv[1]
d = bytearray(open(path, "rb").read())
off, ln = struct.unpack_from("<QI", d[-64:], 16)
i = d.index(b'"sha256":"', off) + 10
d[i] = ord("0") if d[i] != ord("0") else ord("1")
open(path, "wb").write(d)
PY
}

# Quotes a string for use in a bash regex.
re_quote() {
	printf '%s' "$1" | sed 's|[][\.*^$+?(){}]|\\&|g; s/|/\\|/g'
}

# Runs `guestos install DIR` through cmlsh as root; sets $pid (of cmlsh),
# $rc, and leaves stdout and stderr in $SCRATCH/out and $SCRATCH/err.
guestos_install() {
	"$CMLSH" --socket "$SOCK" guestos install "$1" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	wait $pid
	rc=$?
}

# Installs a guest OS that must be refused, and checks everything a refusal
# promises: exit 1, nothing on stdout, on stderr exactly
# "cmlsh: guest OS in DIR refused: REASON", nothing changed in the installed
# tree or the database, no staging directory left, and one audit record of
# the call with the error and the reason:
# expect_install_refused DESCRIPTION DIR ERROR REASON
expect_install_refused() {
	expect_install_refused_re "$1" "$2" "$3" "$(re_quote "$4")"
}

# The same with a bash regex for the reason:
# expect_install_refused_re DESCRIPTION DIR ERROR REASON-REGEX
expect_install_refused_re() {
	local desc=$1 dir=$2 error=$3 reason=$4 before n0
	before=$(installed_snapshot)
	n0=$(audit_count)
	guestos_install "$dir"
	expect_status "$desc: refused" 1 "$rc"
	expect_eq "$desc: nothing on stdout" "" "$(cat "$SCRATCH/out")"
	expect_match "$desc: the message" \
	    "^cmlsh: guest OS in $(re_quote "$dir") refused: ${reason}\$" "$(cat "$SCRATCH/err")"
	expect_eq "$desc: nothing installed or changed" "$before" "$(installed_snapshot)"
	expect_eq "$desc: no staging directory left" "" "$(staging_dirs)"
	audit_last >"$SCRATCH/audit"
	expect_eq "$desc: one audit record" "$((n0 + 1))" "$(head -n 1 "$SCRATCH/audit")"
	expect_match "$desc: audited with the error and the reason" \
	    "^type=call uid=0 pid=$pid container= object=org\\.cml\\.GuestOS\\.Install result=$(re_quote "$error") details=.*${reason}" \
	    "$(sed -n 2p "$SCRATCH/audit")"
}

# Prints the number of audit records, then the last one as audit_tail
# shows it, from one call.
audit_last() {
	cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
rs = json.load(sys.stdin)["records"]
print(len(rs))
for r in rs[-1:]:
    print("type=%s uid=%s pid=%s container=%s object=%s result=%s details=%s" % (
        r["type"], r["uid"], r["pid"], r["container"], r["object"],
        r["result"], r["details"]))'
}

# Signs DIR/manifest.json again with openssl itself, for what cml-sign will
# not make (a weak digest, a chain of our choosing):
# manifest_sign_openssl DIR DIGEST [KEY CERT [CERTFILE]]
manifest_sign_openssl() {
	local dir=$1 md=$2 key=${3:-$GUESTOS_PKI/signer.key}
	local cert=${4:-$GUESTOS_PKI/signer.crt} certfile=${5-$GUESTOS_PKI/chain.pem}
	local -a extra=()
	[ -n "$certfile" ] && extra=(-certfile "$certfile")
	rm -f "$dir/manifest.json.p7s"
	_run_tool "openssl cms -sign -md $md" openssl cms -sign -binary -md "$md" \
	    -in "$dir/manifest.json" -signer "$cert" -inkey "$key" "${extra[@]}" \
	    -outform DER -out "$dir/manifest.json.p7s"
}

# Installs a guest OS that must be accepted: exit 0, the reply names it,
# the installed tree and the database changed (so that the snapshot that
# proves refusals changed nothing can see a change), one more row, no
# staging directory left: expect_install_ok DESCRIPTION DIR
expect_install_ok() {
	local desc=$1 dir=$2 before rows
	before=$(installed_snapshot)
	rows=$(sqlite3 "$(state_dir)/cml.db" ".timeout 5000" "select count(*) from guestos")
	guestos_install "$dir"
	expect_status "$desc: installed" 0 "$rc"
	expect_match "$desc: the reply" \
	    "^name: +$(re_quote "$(manifest_get "$dir" name)")"$'\n'"version: +[0-9.]+"$'\n'"signer: +[^ ]" \
	    "$(cat "$SCRATCH/out")"
	CHECKS=$((CHECKS + 1))
	if [ "$before" != "$(installed_snapshot)" ]; then
		_check_passed "$desc: the snapshot of the installed tree and database changed"
	else
		_check_failed "$desc: the snapshot of the installed tree and database did not change"
	fi
	expect_eq "$desc: one more guest OS row" "$((rows + 1))" \
	    "$(sqlite3 "$(state_dir)/cml.db" ".timeout 5000" "select count(*) from guestos")"
	expect_eq "$desc: no staging directory left" "" "$(staging_dirs)"
}

# --- containers ---------------------------------------------------------------
# A container test calls ct_setup (the stack, a PKI whose root is trusted,
# the busybox 1.0 guest OS installed), registers containers with ct_create,
# and checks from the host with ct_leftovers.  cgroups live in the host's
# one hierarchy, so container names carry the test's pid (ct_name); every
# container a test registered is killed when the test ends, whether cmld
# still runs or not.

# the containers this test registered (their processes are killed at exit)
CT_NAMES=()
# the busybox guest OS directory ct_setup made
CT_GUESTOS=
# where cmld makes cgroups: CGROUP/<controller>/PARENT/NAME (v1),
# CGROUP/PARENT/NAME (v2), PARENT being $CT_CGROUP_PARENT
CT_CGROUP_ROOT=/sys/fs/cgroup

# Prints a container name of this run: ct_name BASE (BASE at most 23
# characters of a-z 0-9 -).
ct_name() {
	echo "$1-$$"
}

# Starts the stack and installs the busybox 1.0 guest OS from a new PKI
# whose root becomes the trust anchor; arms the container cleanup.
ct_setup() {
	need_root
	need_binaries
	need_guestos_tools
	[ -d "$CT_CGROUP_ROOT" ] || skip "no /sys/fs/cgroup: containers need cgroups"
	stack_start
	trap ct_exit EXIT
	pki_make "$SCRATCH/pki"
	CT_GUESTOS=$SCRATCH/busybox-1.0
	guestos_make "$CT_GUESTOS" busybox 1.0
	_run_tool "ca add" "$CMLSH" --socket "$SOCK" ca add "$SCRATCH/pki/root.crt"
	_run_tool "guestos install" "$CMLSH" --socket "$SOCK" guestos install "$CT_GUESTOS"
}

# Writes a config to $SCRATCH/NAME.json and prints its path:
# ct_config NAME JSON
ct_config() {
	printf '%s\n' "$2" >"$SCRATCH/$1.json" || fail "cannot write $SCRATCH/$1.json"
	echo "$SCRATCH/$1.json"
}

# Remembers a container, so that whatever of it runs is killed at exit.
ct_track() {
	local n
	for n in "${CT_NAMES[@]}"; do
		[ "$n" = "$1" ] && return 0
	done
	CT_NAMES+=("$1")
}

# Registers a container that must be accepted: ct_create NAME JSON
ct_create() {
	local path
	path=$(ct_config "$1" "$2")
	ct_track "$1"
	_run_tool "container create $1" "$CMLSH" --socket "$SOCK" container create "$path"
}

# Prints to stderr why a container is in its state, as `container show`
# says: ct_why NAME
ct_why() {
	echo "# $1: state $(ct_state "$1"), reason: $(ct_show "$1" reason)" >&2
}

# Starts a container that must start; when it does not, prints cmlsh's
# message and the container's reason, and ends the test: ct_start NAME
ct_start() {
	local log
	ct_track "$1"
	make_scratch
	log=$SCRATCH/tool.log
	if ! "$CMLSH" --socket "$SOCK" container start "$1" >"$log" 2>&1; then
		cat "$log" >&2
		ct_why "$1"
		fail "container start $1 failed"
	fi
}

# Runs a command in a container through cmlsh: ct_exec NAME CMD...
ct_exec() {
	local name=$1
	shift
	"$CMLSH" --socket "$SOCK" container exec "$name" -- "$@"
}

# Prints a member of `container show NAME --json`: ct_show NAME KEY
ct_show() {
	cmlsh_run --json container show "$1" 2>&1 | json_get "$2"
}

# Prints a container's state.
ct_state() {
	ct_show "$1" state
}

# Waits up to SECONDS (default 10) until a container is in STATE; prints
# the state it is in then: ct_wait_state NAME STATE [SECONDS]
ct_wait_state() {
	local name=$1 want=$2 i state
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		state=$(ct_state "$name")
		[ "$state" = "$want" ] && break
		sleep 0.1
	done
	echo "$state"
}

# Prints the host's cgroup directories of a container that exist.
ct_cgroups() {
	local d
	for d in "$CT_CGROUP_ROOT"/*/"$CT_CGROUP_PARENT/$1" "$CT_CGROUP_ROOT/$CT_CGROUP_PARENT/$1"; do
		[ -d "$d" ] && echo "$d"
	done
	return 0
}

# Prints the loop devices whose backing file lies in the stack's state
# directory: "loop0 FILE".
ct_loops() {
	local f b state
	state=$(state_dir)
	for f in /sys/block/loop*/loop/backing_file; do
		[ -r "$f" ] || continue
		b=$(cat "$f" 2>/dev/null) || continue
		case "$b" in
		"$state"/*) f=${f#/sys/block/}; echo "${f%%/*} $b" ;;
		esac
	done
	return 0
}

# Prints the clock ticks since boot, the unit of a process's start time
# in /proc/PID/stat.
ct_ticks() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", $1 * hz }' /proc/uptime
}

# Prints a process's start time in ticks since boot ("" when it is gone).
ct_proc_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# after the command name, which may hold spaces and parentheses:
	# field 3 (state) on; the start time is field 22
	awk '{ print $20 }' <<<"${stat##*) }"
}

# Prints the processes in a mount namespace that are a container's.  The
# kernel gives a freed namespace's number to the next namespace made, by
# anyone (another test's container before cmld moved it into its cgroups,
# an unshare), so the number alone is not the namespace: with NAME and the
# time the namespace was seen (ct_mntns: "mnt:[4026532176]@TICKS"), a
# process counts when it is in the container's cgroups, or when it started
# before that time, when the container's namespace still existed; one in
# a namespace of that number made later does not.  Without the time, every
# process in a namespace of that number counts, but those in another
# container's cgroups.  Each is printed with what decided it:
# "PID (COMM, started at TICKS, cgroup GROUP)".  ct_ns_procs NS[@TICKS] [NAME]
ct_ns_procs() {
	local p pid ns=${1%@*} since='' kind name=${2:-} cg start comm mine
	kind=${ns%%:*}
	[[ "$1" == *@* ]] && since=${1##*@}
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/$kind" 2>/dev/null)" = "$ns" ] || continue
		pid=${p#/proc/}
		cg=$(cat "$p/cgroup" 2>/dev/null) || continue
		mine=0
		if [ -n "$name" ] && grep -qe ":/$CT_CGROUP_PARENT/$name\$" -e ":/$CT_CGROUP_PARENT/$name/" <<<"$cg"; then
			mine=1
		fi
		start=$(ct_proc_start "$pid")
		[ -n "$start" ] || continue
		if [ "$mine" = 0 ] && [ -n "$name" ]; then
			if [ -n "$since" ]; then
				[ "$start" -lt "$since" ] || continue
			elif grep -v -e ":/$CT_CGROUP_PARENT/$name\$" -e ":/$CT_CGROUP_PARENT/$name/" <<<"$cg" |
			    grep -q ':/cml[-_a-zA-Z0-9]*/[^/]'; then
				continue
			fi
		fi
		comm=$(cat "$p/comm" 2>/dev/null)
		echo "$pid ($comm, started at $start, cgroup $(grep -m 1 -o ':/.*' <<<"$cg" | cut -c 2-))"
	done
	return 0
}

# Prints a container's mount namespace as the host sees it (it must run),
# with the time it was seen in ticks since boot: "mnt:[4026532176]@TICKS"
# (ct_ns_procs tells that namespace from a later one of the same number).
ct_mntns() {
	local pid ns
	pid=$(ct_show "$1" pid)
	ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null) || ns="<no process $pid>"
	echo "$ns@$(ct_ticks)"
}

# Prints the number of this stack's containers that run (or are starting,
# stopping or frozen).
ct_running_count() {
	ct_list | awk '$2 != "stopped" && $2 != "failed" { n++ } END { print n + 0 }'
}

# Prints what a container left on the host, one line each, nothing when it
# left nothing: its cgroups, loop devices of guest OS images beyond one for
# each container of the stack still running (a loop device of an image
# does not tell which container it serves; the busybox guest OS has one
# image), a loop device over its data volume (cml.storage.volume; those of
# other containers' volumes are theirs), host mounts under the stack
# directory, its mount point directory and, given its mount namespace
# (ct_mntns), the processes still in it (ct_ns_procs):
# ct_leftovers NAME [MNTNS]
ct_leftovers() {
	local name=$1 mntns=${2:-} d loops running vol
	ct_cgroups "$name" | sed 's/^/cgroup /'
	loops=$(ct_loops | grep -v " $(state_dir)/volumes/")
	running=$(ct_running_count)
	if [ -n "$loops" ] && [ "$(wc -l <<<"$loops")" -gt "$running" ]; then
		sed "s/^/loop device (of $running running) /" <<<"$loops"
	fi
	vol=$(ct_show "$name" volume_file 2>/dev/null)
	if [[ "$vol" == /* ]]; then
		ct_loops | grep -F " $vol" | sed 's/^/loop device over its volume /'
	fi
	grep -F " $STACK_DIR/" /proc/self/mountinfo | sed 's/^/host mount /'
	d=$STACK_DIR/run/cml/containers/$name
	[ -e "$d" ] && echo "directory $d"
	if [ -n "$mntns" ]; then
		ct_ns_procs "$mntns" "$name" | sed "s/^/process in ${mntns%@*}: /"
	fi
	return 0
}

# Ends what is left of a container without cmld: thaws and kills the
# processes of its cgroups, then removes them.
ct_reap_host() {
	local d p i
	for d in $(ct_cgroups "$1"); do
		[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
		[ -f "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
	done
	for d in $(ct_cgroups "$1"); do
		for ((i = 0; i < 50; i++)); do
			p=$(cat "$d/cgroup.procs" 2>/dev/null)
			[ -z "$p" ] && break
			kill -KILL $p 2>/dev/null
			sleep 0.1
		done
		rmdir "$d" 2>/dev/null
	done
	return 0
}

# The EXIT trap of container tests: kills the containers of the test
# (through cmld while it runs, from the host anyway), then cleans up.
ct_exit() {
	local status=$? name
	trap - EXIT
	if [ "$STACK_RUNNING" = 1 ] && cmld_pid >/dev/null; then
		for name in "${CT_NAMES[@]}"; do
			case "$(ct_state "$name")" in
			running | frozen | starting | stopping)
				cmlsh_run --yes container kill "$name" >/dev/null 2>&1 ;;
			esac
		done
	fi
	for name in "${CT_NAMES[@]}"; do
		ct_reap_host "$name"
	done
	(exit "$status")
	cleanup
}

# Runs cmlsh as root in the background, to learn its pid; sets $pid and
# $rc, and leaves stdout and stderr in $SCRATCH/out and $SCRATCH/err:
# ct_cmlsh ARGS...
ct_cmlsh() {
	"$CMLSH" --socket "$SOCK" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	wait $pid
	rc=$?
	# a failed start says why, whether the test expected it or not
	if [ "$rc" != 0 ] && [ "${1:-}" = container ] && [ "${2:-}" = start ] &&
	    [ -n "${3:-}" ]; then
		echo "# container start $3: exit $rc: $(cat "$SCRATCH/err")" >&2
		ct_why "$3"
	fi
	return 0
}

# Stops a container through ct_cmlsh, timed: sets $rc, $pid and $elapsed
# (ms): ct_timed_stop NAME
ct_timed_stop() {
	local t0
	t0=$(ms_now)
	ct_cmlsh container stop "$1"
	elapsed=$(($(ms_now) - t0))
}

# Prints `container list --json` as "NAME STATE REASON" lines.
ct_list() {
	cmlsh_run --json container list 2>&1 | python3 -c 'import json, sys
text = sys.stdin.read()
try:
    cs = json.loads(text)["containers"]
except (ValueError, KeyError):
    print("<not a container list: %r>" % text[:200])
    sys.exit(1)
for c in cs:
    print(c["name"], c["state"], c["reason"])'
}

# Gives the device a certificate for its TPM key: a PKI in DIR (cml-mkpki)
# whose device CA signs `device csr`, the device CA added as an anchor,
# the certificate installed.  Leaves DIR/dev.crt and DIR/devca.{crt,key}.
device_cert_setup() {
	local dir=$1
	pki_make "$dir"
	cmlsh_run -c 'device csr' >"$dir/dev.csr" 2>"$dir/err" ||
	    fail "device csr: $(cat "$dir/err")"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' \
	    >"$dir/dev.ext"
	openssl x509 -req -in "$dir/dev.csr" -CA "$dir/devca.crt" \
	    -CAkey "$dir/devca.key" -set_serial "0x$(openssl rand -hex 8)" \
	    -days 30 -sha384 -extfile "$dir/dev.ext" -out "$dir/dev.crt" \
	    >/dev/null 2>&1 || fail "openssl x509 -req $dir/dev.csr failed"
	_run_tool "ca add devca" "$CMLSH" --socket "$SOCK" ca add "$dir/devca.crt"
	_run_tool "device cert install" "$CMLSH" --socket "$SOCK" \
	    device cert install "$dir/dev.crt"
}

# --- network namespaces ---------------------------------------------------------
# A network test makes namespaces of its own (net_ns_add) and never puts an
# address on the host's interfaces or a rule in the host's ruleset: cmld
# runs in one (net_stack_ns, then stack_start or ct_setup), the outside
# world is another.  They are removed at cleanup, after the stack stopped.

# Makes network namespace NS with lo up, removed at cleanup: net_ns_add NS
net_ns_add() {
	ip netns add "$1" || fail "cannot make network namespace $1"
	NET_NSES+=("$1")
	ip -n "$1" link set lo up || fail "cannot bring up lo in $1"
}

# Removes the namespaces of net_ns_add; their interfaces go once nothing
# runs in them any more.
net_ns_cleanup() {
	local ns
	for ns in "${NET_NSES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	NET_NSES=()
}

# Runs a command in namespace NS through nsenter (which keeps the mounts,
# /sys and the cgroups included, unlike `ip netns exec`): net_in NS CMD...
net_in() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# Makes cmld's namespace NET_C0 (cmlnet-PID) and the outside NET_OUT
# (cmlout-PID), joined by a veth pair: the uplink up0 in NET_C0
# (192.0.2.1/24, 2001:db8::1/64) and ext0 in NET_OUT (192.0.2.2/24,
# 2001:db8::2/64), the outside routing cmld's default pools
# (10.200.0.0/16, fd00:c41::/48) back through up0; sets CML_TEST_WRAP so
# that the next stack_start runs cmld in NET_C0.
net_stack_ns() {
	need_prog ip nsenter
	make_scratch
	NET_C0=cmlnet-$$
	NET_OUT=cmlout-$$
	net_ns_add "$NET_C0"
	net_ns_add "$NET_OUT"
	ip -n "$NET_C0" link add up0 type veth peer name ext0 netns "$NET_OUT" ||
	    fail "cannot make the uplink up0"
	ip -n "$NET_C0" addr add 192.0.2.1/24 dev up0 &&
	    ip -n "$NET_C0" addr add 2001:db8::1/64 dev up0 nodad &&
	    ip -n "$NET_OUT" addr add 192.0.2.2/24 dev ext0 &&
	    ip -n "$NET_OUT" addr add 2001:db8::2/64 dev ext0 nodad &&
	    ip -n "$NET_C0" link set up0 up &&
	    ip -n "$NET_OUT" link set ext0 up &&
	    ip -n "$NET_OUT" route add 10.200.0.0/16 via 192.0.2.1 &&
	    ip -n "$NET_OUT" -6 route add fd00:c41::/48 via 2001:db8::1 ||
	    fail "cannot set up the uplink's addresses and routes"
	CML_TEST_WRAP="nsenter --net=/run/netns/$NET_C0"
}

# Starts a TCP server in namespace NS that answers TEXT on PORT (busybox
# nc, a process per connection), and waits until it listens:
# net_serve NS PORT TEXT
net_serve() {
	local i
	# nsenter itself, not through a function: $! is the server
	nsenter --net="/run/netns/$1" busybox nc -ll -p "$2" -e echo "$3" \
	    </dev/null >/dev/null 2>&1 &
	track_pid $!
	for ((i = 0; i < 50; i++)); do
		net_in "$1" busybox netstat -ltn | grep -q ":$2 " && return 0
		sleep 0.1
	done
	fail "no server on port $2 in $1"
}

# Prints what a TCP connection from namespace NS to ADDR PORT got: the
# server's answer, or busybox nc's error ("nc: timed out" when it was
# dropped): net_tcp NS ADDR PORT
net_tcp() {
	net_in "$1" busybox nc -w 1 "$2" "$3" </dev/null 2>&1
}

# Prints "ok" when one ping from namespace NS reaches ADDR within a
# second, "no" otherwise: net_ping NS ADDR
net_ping() {
	if net_in "$1" busybox ping -c 1 -W 1 "$2" >/dev/null 2>&1; then
		echo ok
	else
		echo no
	fi
}

# Prints the chains of table inet cml in namespace NS as `nft -j` lists
# them (an independent reading of what cmld loaded), "NAME POLICY" a
# line, sorted; "<no table: ...>" when there is none: net_chains NS
net_chains() {
	net_in "$1" nft -j list table inet cml 2>&1 | python3 -c '
import json, sys
text = sys.stdin.read()
try:
    d = json.loads(text)["nftables"]
except ValueError:
    print("<no table: %s>" % text.strip()[:200])
    sys.exit(0)
for o in d:
    if "chain" in o:
        print("%s %s" % (o["chain"]["name"], o["chain"].get("policy", "-")))' | sort
}

# Compares the rules of table inet cml in JSON as cmld shows them (`net
# rules --json`, or net-fw list: {"chains": [{"name", "rules": [{"handle",
# "comment", "expr"}]}]}) with `nft -a list table inet cml` in namespace
# NS, an independent reading: the same rules in the same order, each with
# the same chain, handle, comment and expressions in nft's words
# (whitespace normalised; the counters' numbers left out, the kernel counts
# on its own between the two readings).  Prints "same N" (N rules) or the
# first rules that differ: net_rules_vs_nft NS JSON
net_rules_vs_nft() {
	net_in "$1" nft -a list table inet cml 2>&1 | python3 -c '
import json, re, sys
def norm(s):
    s = re.sub(r"\bcounter packets [0-9]+ bytes [0-9]+", "counter", s or "")
    return " ".join(s.split())
nft, chain = [], None
for line in sys.stdin:
    line = line.strip()
    m = re.match(r"chain (\S+) \{", line)
    if m:
        chain = m.group(1)
        continue
    m = re.match(r"(.*?)\s*# handle ([0-9]+)$", line)
    if chain is None or m is None or line.startswith("table "):
        continue
    expr, comment = m.group(1), None
    c = re.match(r"(.*?)\s*comment \"((?:[^\"\\]|\\.)*)\"$", expr)
    if c:
        expr, comment = c.group(1), c.group(2)
    nft.append((chain, int(m.group(2)), comment, norm(expr)))
ours = [(c["name"], r["handle"], r["comment"], norm(r["expr"]))
        for c in json.loads(sys.argv[1])["chains"] for r in c["rules"]]
if ours == nft:
    print("same %d" % len(ours))
else:
    diff = [(a, b) for a, b in zip(ours, nft) if a != b][:3]
    print("ours %d rules, nft %d; first differing (ours, nft): %r" %
          (len(ours), len(nft), diff))' "$2"
}

# Prints the container links (vc-...) in namespace NS, names on one line,
# sorted: net_vc_links NS
net_vc_links() {
	ip -n "$1" -j link show | python3 -c '
import json, sys
print(" ".join(sorted(i["ifname"] for i in json.load(sys.stdin)
                      if i["ifname"].startswith("vc-"))))'
}

# As net_vc_links, once they are gone: the kernel removes a stopped
# container's link with its namespace, in the background; waits up to 5 s
# and prints what is left then: net_vc_links_gone NS
net_vc_links_gone() {
	local i left
	for ((i = 0; i < 100; i++)); do
		left=$(net_vc_links "$1")
		[ -z "$left" ] && break
		sleep 0.05
	done
	printf '%s\n' "$left"
}

# Prints the host's interface names, one a line, sorted (a network test
# compares them before and after).
net_host_links() {
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
}
