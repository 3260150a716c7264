#!/bin/bash
# cmlsh outside its interactive mode: exact usage errors (too few and too
# many arguments, unknown and incomplete commands, bad options) with exit 2,
# "cannot reach cmld" with exit 1, how the socket is chosen, commands as
# arguments, -c with shell quoting, commands from stdin (stopping at the
# first failure with its status), and help.
# It keeps STYLE "exact usage text for too few, right and too many
# arguments".
# Proves: CR 7.6 (settings set through cmlsh; a bad value refused).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
stack_start

# run NAME WANT-STATUS WANT-STDOUT WANT-STDERR ARGS...
run() {
	local name=$1 status=$2 want_out=$3 want_err=$4 out rc
	shift 4
	out=$("$CMLSH" "$@" 2>"$SCRATCH/err" </dev/null)
	rc=$?
	expect_status "$name" "$status" "$rc"
	expect_eq "$name: stdout" "$want_out" "$out"
	expect_eq "$name: stderr" "$want_err" "$(cat "$SCRATCH/err")"
}

# --- usage errors: exit 2, the synopsis, then the reason -----------------
run "too few arguments" 2 "" \
"cmlsh: usage: device config set KEY VALUE
cmlsh: missing VALUE" --socket "$SOCK" -c 'device config set x'
run "no arguments" 2 "" \
"cmlsh: usage: device config set KEY VALUE
cmlsh: missing KEY" --socket "$SOCK" -c 'device config set'
run "too many arguments" 2 "" \
"cmlsh: usage: device config set KEY VALUE
cmlsh: too many arguments (unexpected 'c')" --socket "$SOCK" -c 'device config set a b c'
run "too many arguments for device status" 2 "" \
"cmlsh: usage: device status
cmlsh: too many arguments (unexpected 'now')" --socket "$SOCK" -c 'device status now'
run "unknown option of a command" 2 "" \
"cmlsh: usage: audit list [--last N] [--since TIME] [--until TIME] [--container NAME] [--type TYPE] [--result RESULT] [--uid UID]
cmlsh: unknown option '--first'" --socket "$SOCK" -c 'audit list --first 3'
run "unknown command" 2 "" \
"cmlsh: unknown command 'foo': type 'help' for a list" --socket "$SOCK" -c 'foo'
run "unknown command in a family" 2 "" \
"cmlsh: unknown command 'device foo': type 'help device' for a list" \
    --socket "$SOCK" -c 'device foo'
run "incomplete command" 2 "" \
"cmlsh: incomplete command 'device': type 'help device' for a list" \
    --socket "$SOCK" -c 'device'
run "unknown option of cmlsh" 2 "" \
"cmlsh: unknown option '--bogus'
cmlsh: usage: cmlsh [--json] [--socket PATH] [--yes] [-c COMMAND | COMMAND [ARG...]]" \
    --socket "$SOCK" --bogus -c 'device status'
run "--socket without a value" 2 "" \
"cmlsh: option '--socket' needs a value
cmlsh: usage: cmlsh [--json] [--socket PATH] [--yes] [-c COMMAND | COMMAND [ARG...]]" \
    --socket
# nothing of a usage error reaches cmld: no audit record, daemon serving
expect_eq "usage errors are not sent to cmld" \
    "$(audit_count)" "$(cmlsh_run -c 'device status' >/dev/null; audit_count)"

# --- cannot reach cmld: exit 1 -------------------------------------------
run "no socket file" 1 "" \
"cmlsh: cannot reach cmld at $SCRATCH/none.sock: No such file or directory: is it running?" \
    --socket "$SCRATCH/none.sock" -c 'device status'
# a socket file nobody listens on (a cmld that died)
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SCRATCH/dead.sock"
run "socket file without a daemon" 1 "" \
"cmlsh: cannot reach cmld at $SCRATCH/dead.sock: Connection refused: is it running?" \
    --socket "$SCRATCH/dead.sock" -c 'device status'

# --- which socket: --socket, else $CML_SOCKET ------------------------------
out=$(CML_SOCKET=$SOCK "$CMLSH" -c 'device config get max_clients' 2>&1)
expect_status "CML_SOCKET is used" 0 $?
expect_match "CML_SOCKET is used: output" $'^KEY +VALUE +TYPE +DEFAULT\nmax_clients +64 +integer +64$' "$out"
out=$(CML_SOCKET=$SCRATCH/none.sock "$CMLSH" --socket "$SOCK" -c 'device config get max_clients' 2>&1)
expect_status "--socket wins over CML_SOCKET" 0 $?
out=$(CML_SOCKET=$SCRATCH/none.sock "$CMLSH" -c 'device status' 2>&1)
expect_status "CML_SOCKET pointing nowhere" 1 $?
expect_eq "CML_SOCKET pointing nowhere: names it" \
"cmlsh: cannot reach cmld at $SCRATCH/none.sock: No such file or directory: is it running?" "$out"

# --- a command as arguments, and -c with shell quoting ---------------------
a=$("$CMLSH" --socket "$SOCK" device config get log_level 2>&1)
expect_status "command as arguments" 0 $?
b=$("$CMLSH" --socket "$SOCK" -c 'device config get log_level' 2>&1)
expect_eq "command as arguments equals -c" "$b" "$a"
run "-c with a quoted argument" 0 \
"key:   device_name
value: plant 7 \"north\"" "" --socket "$SOCK" -c "device config set device_name 'plant 7 \"north\"'"
run "arguments keep their spaces" 0 \
"key:   device_name
value: plant 8" "" --socket "$SOCK" device config set device_name "plant 8"
run "both -c and arguments" 2 "" \
"cmlsh: give the command either with -c or after the options, not both
cmlsh: usage: cmlsh [--json] [--socket PATH] [--yes] [-c COMMAND | COMMAND [ARG...]]" \
    --socket "$SOCK" -c 'device status' device status

# --- commands from stdin -------------------------------------------------
out=$(printf 'device config get max_clients\ndevice config get log_level\n' |
    "$CMLSH" --socket "$SOCK" 2>"$SCRATCH/err")
expect_status "stdin: two commands" 0 $?
expect_eq "stdin: both outputs, no prompt" \
"KEY          VALUE  TYPE     DEFAULT
max_clients  64     integer  64
KEY        VALUE  TYPE  DEFAULT
log_level  info   enum  info" "$out"
expect_eq "stdin: nothing on stderr" "" "$(cat "$SCRATCH/err")"

out=$(printf 'device config set device_name b1\nfoo\ndevice config set device_name b2\n' |
    "$CMLSH" --socket "$SOCK" 2>"$SCRATCH/err")
expect_status "stdin: stops at a usage error with its status" 2 $?
expect_eq "stdin: the command before ran" "key:   device_name
value: b1" "$out"
expect_eq "stdin: the usage error" "cmlsh: unknown command 'foo': type 'help' for a list" \
    "$(cat "$SCRATCH/err")"
expect_eq "stdin: nothing after the failure ran" b1 \
    "$(cmlsh_run --json -c 'device config get device_name' | json_get settings 0 value)"

out=$(printf 'device config set max_clients 0\ndevice config set device_name b3\n' |
    "$CMLSH" --socket "$SOCK" 2>"$SCRATCH/err")
expect_status "stdin: stops at a refused command with its status" 1 $?
expect_eq "stdin: no output" "" "$out"
expect_eq "stdin: cmld's message" "cmlsh: max_clients must be from 1 to 1024, not 0" \
    "$(cat "$SCRATCH/err")"
expect_eq "stdin: nothing after the refusal ran" b1 \
    "$(cmlsh_run --json -c 'device config get device_name' | json_get settings 0 value)"

# --- help ----------------------------------------------------------------
out=$("$CMLSH" --socket "$SOCK" -c help 2>"$SCRATCH/err")
expect_status "help" 0 $?
expect_eq "help: nothing on stderr" "" "$(cat "$SCRATCH/err")"
expect_eq "help: the families, in order" \
"device - the device: status and settings
provision - the factory provisioning: its steps and the lock
tpm - the TPM, through tpm2d: the sealed system key
ca - trust anchors that signatures must chain to
guestos - signed guest OS images
update - signed update bundles: check, install, confirm, receipts
container - containers: create, start, stop, inspect
net - the containers' network: links to c0 and the firewall
token - containers' tokens, through scd: PINs and PUKs
audit - the audit trail
api - the control interface itself
shell - commands of cmlsh itself
Type 'help COMMAND' for a command's arguments, 'help FAMILY' for one family." \
    "$(printf '%s\n' "$out" | grep -v -e '^  ' -e '^$')"
expect_match "help: lists device config set" \
    $'\n  device config set KEY VALUE +change a device setting\n' "$out"
expect_match "help: lists audit list" \
    $'\n  audit list \\[--last N\\] \\[--since TIME\\] [^\n]*\\[--uid UID\\]\n +show audit records\n' "$out"
# without a daemon too: help is the shell's own
out2=$("$CMLSH" --socket "$SCRATCH/none.sock" -c help 2>&1)
expect_status "help without a daemon" 0 $?
expect_eq "help without a daemon: same text" "$out" "$out2"

run "help device config set" 0 \
"usage: device config set KEY VALUE
change a device setting

Validates VALUE against the setting's type and range, stores it and applies it
at once. The change is audited.

Arguments:
  KEY     the setting to change
  VALUE   its new value

Settings:
  device_name                text of 1 to 64 characters; default cml. The
                             device's name, shown in status and prompts.
  log_level                  warning, info or debug; default info. How much
                             cmld logs: warning, info or debug; applied at
                             once.
  max_clients                an integer from 1 to 1024; default 64. Control
                             connections served at once; more are refused.
  audit_read_calls           true or false; default false. Audit read-only
                             calls too, not only changes.
  guestos_verity             true or false; default true. Check guest OS
                             images block by block with dm-verity as they are
                             read, where the kernel has dm-verity and the
                             images carry a hash tree (false: hash every image
                             in full before each start).
  stop_timeout               an integer from 1 to 600; default 10. Seconds a
                             container's init has after SIGTERM before
                             SIGKILL.
  c0_guestos                 a guest OS name, or empty; default empty. The
                             guest OS of the management container c0 (empty:
                             no c0); takes effect at the next start of cmld.
  require_signed_configs     auto, true or false; default auto. Container
                             configs must be signed: true, false, or auto
                             (once the device is provisioned).
  session_idle_timeout       an integer from 0 to 86400; default 900. Seconds
                             an interactive cmlsh may wait for a key before it
                             ends the session (0: never); read when a session
                             starts.
  token_pin_tries            an integer from 1 to 10; default 3. Wrong PINs a
                             new token takes before its PIN is blocked (the
                             PUK unblocks it); read at token init.
  token_puk_tries            an integer from 1 to 10; default 3. Wrong PUKs a
                             new token takes before it is blocked for good
                             (only token init again); read at token init.
  audit_capacity             an integer from 65536 to 68719476736; default
                             67108864. Bytes the audit trail may take (records
                             and checkpoints); see audit_full_action for what
                             happens when it is full.
  audit_warn_percent         an integer from 1 to 99; default 75. First
                             threshold: a warning record and a notice to
                             connected clients when the trail fills past this
                             share of its capacity.
  audit_critical_percent     an integer from 1 to 99; default 90. Second
                             threshold, above the first: a critical record and
                             notice.
  audit_full_action          refuse or drop-acknowledged; default refuse. When
                             the trail is full: refuse (state-changing
                             commands are refused until space is freed) or
                             drop-acknowledged (the oldest acknowledged
                             records go, never unacknowledged ones).
  audit_checkpoint_records   an integer from 1 to 100000; default 100. A
                             signed checkpoint over the chain after this many
                             records.
  audit_checkpoint_seconds   an integer from 1 to 86400; default 60. A signed
                             checkpoint at most this many seconds after a
                             record that none covers yet.
  audit_forward_host         text of 0 to 253 characters; default empty. The
                             syslog collector records are forwarded to over
                             TLS (RFC 5425), a host name or address its
                             certificate names (empty: no forwarding).
  audit_forward_port         an integer from 1 to 65535; default 6514. The
                             collector's TCP port.
  audit_kernel               true or false; default false. Register cmld as
                             the kernel's audit daemon and keep kernel audit
                             records in the trail; read when cmld starts.
  net_pool_v4                an IPv4 prefix ADDR/LEN with LEN at most 30 and
                             no address bits set past it, or empty; default
                             10.200.0.0/16. The IPv4 prefix container links
                             get their addresses from, a /30 each by the
                             container's index (empty: no IPv4); read at each
                             start of a linked container.
  net_pool_v6                an IPv6 prefix ADDR/LEN with LEN at most 126 and
                             no address bits set past it, or empty; default
                             fd00:c41::/48. The IPv6 prefix container links
                             get their addresses from, a /64 each (/126 when
                             the prefix is longer than /64; empty: no IPv6);
                             read at each start of a linked container.
  net_masquerade             at most 8 network interface names,
                             comma-separated, or empty; default empty. Uplinks
                             of c0 through which container traffic leaves with
                             the uplink's address (comma-separated; empty:
                             routed as it is); read when the base ruleset is
                             loaded.
  net_guard_uplinks          at most 8 network interface names,
                             comma-separated, or empty; default empty. Uplinks
                             on which c0 itself takes only the answers to its
                             own traffic, IPv6 neighbour discovery and the
                             ports of net_c0_ports (comma-separated; empty: c0
                             is not guarded); read when the base ruleset is
                             loaded.
  net_c0_ports               at most 16 ports as tcp/PORT or udp/PORT,
                             comma-separated, or empty; default empty. The
                             ports c0 takes on the guarded uplinks, as
                             PROTO/PORT (tcp/22,udp/161; empty: none); read
                             when the base ruleset is loaded.
  update_signers_guestos     M:FINGERPRINT,... (at least M of at most 8 signer
                             certificates' SHA-256 fingerprints), or empty;
                             default empty. Updates of guest OSes need
                             signatures of at least M of these signers (empty:
                             one signature chaining to a supplier or owner
                             anchor).
  update_signers_configs     M:FINGERPRINT,... (at least M of at most 8 signer
                             certificates' SHA-256 fingerprints), or empty;
                             default empty. Updates of container configs need
                             signatures of at least M of these signers (empty:
                             one signature chaining to an owner or supplier
                             anchor).
  update_signers_cml         M:FINGERPRINT,... (at least M of at most 8 signer
                             certificates' SHA-256 fingerprints), or empty;
                             default empty. Updates of cml itself need
                             signatures of at least M of these signers (empty:
                             one signature chaining to a supplier anchor).
  update_signers_boot        M:FINGERPRINT,... (at least M of at most 8 signer
                             certificates' SHA-256 fingerprints), or empty;
                             default empty. Updates of the kernel and boot
                             image need signatures of at least M of these
                             signers (empty: one signature chaining to a
                             supplier anchor).

Admin only. Allowed before provisioning." "" --socket "$SOCK" -c 'help device config set'
run "help audit" 0 \
"audit - the audit trail
  audit list [--last N] [--since TIME] [--until TIME] [--container NAME] [--type TYPE] [--result RESULT] [--uid UID]
                                           show audit records
  audit show SEQ                           show one audit record whole
  audit ack [SEQ] [--up-to SEQ]            acknowledge audit records as reviewed
  audit status                             show the audit trail's state
  audit follow [--notices] [--after SEQ]   follow the audit trail live
  audit export                             export the audit trail with its chain
  audit verify                             check the audit trail's chain and checkpoints
  audit session EVENT [--user NAME] [--seconds N]
                                           record an event of this session" "" --socket "$SOCK" -c 'help audit'
out=$("$CMLSH" --socket "$SOCK" -c 'help nothing' 2>"$SCRATCH/err")
expect_status "help for an unknown command" 2 $?
expect_match "help for an unknown command: says so" "^cmlsh: no help for 'nothing'" \
    "$(cat "$SCRATCH/err")"

out=$("$CMLSH" --help 2>&1)
expect_status "--help" 0 $?
expect_match "--help: starts with the usage" '^usage: cmlsh \[OPTIONS\] \[-c COMMAND \| COMMAND \[ARG\.\.\.\]\]' "$out"
version=$(sed -n 's/^AC_INIT(\[cml\], *\[\([^]]*\)\].*/\1/p' "$CML_SRCDIR/configure.ac")
run "--version" 0 "cmlsh $version" "" --version

finish
