#!/bin/bash
# Audit forwarding to a real rsyslog over TLS (RFC 5424 messages, RFC 5425
# transport, rsyslog-gnutls) on loopback, with mutual authentication: the
# collector accepts only the device certificate (x509/name, the device's
# UUID; the collector trusts only the root, the device sends its device CA
# certificate along), whose key stays in the TPM behind tpm2d (cml-forward asks tpm2d's
# SignDigest to sign the handshake).  Every record arrives exactly once and
# in order, as an RFC 5424 message with the record in its structured data;
# after the collector is stopped, records are written and the collector is
# started again, forwarding resumes at the persistent cursor and still every
# record arrives exactly once; `audit status` shows the collector, the state
# and the cursor, which is the trail's last record once all arrived; a
# collector whose certificate is not from the configured CA (the trust
# anchors) is refused, with the reason in `audit status` and in the trail,
# and gets nothing; a client with a certificate naming another device, or
# with none, gets nothing into the collector; a cml-forward that is killed is started again and goes
# on from the cursor; no private key is anywhere in the device's state (the
# device key is the TPM's, fixedtpm).
# Proves: CR 6.2 (audit records forwarded to a collector continuously,
# authenticated and encrypted, none lost or repeated across an outage),
# TSF.AUDIT, CR 4.1 (records leave the device only over TLS), COM 02
# (mutual authentication: the device refuses a collector
# its anchors do not vouch for; the collector takes only the device
# certificate, whose key is the TPM's).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog openssl python3
[ -x "$MKPKI" ] || skip "no provisioning/cml-mkpki at $MKPKI"
FORWARD=$CML_BUILDDIR/daemon/forward/cml-forward
[ -x "$FORWARD" ] || skip "no cml-forward at $FORWARD: build first"
RSYSLOGD=$(command -v rsyslogd) ||
	skip "needs rsyslogd (Debian packages rsyslog and rsyslog-gnutls; scripts/deps --test installs them)"
gtls=$(find /usr/lib /usr/lib64 -name lmnsd_gtls.so 2>/dev/null | head -n 1)
[ -n "$gtls" ] ||
	skip "needs rsyslog's TLS driver lmnsd_gtls.so (Debian package rsyslog-gnutls; scripts/deps --test installs it)"

ensure_groups
stack_start

# --- the PKI: the device certificate, the collector's -----------------------
uuid=$(cmlsh_run --json device status | json_get uuid)
[ -n "$uuid" ] || fail "device status names no uuid"
pki=$SCRATCH/pki
pki_make "$pki"
cmlsh_run -c 'device csr' >"$SCRATCH/dev.csr" || fail "device csr failed"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
    >"$SCRATCH/dev.ext"
openssl x509 -req -in "$SCRATCH/dev.csr" -CA "$pki/devca.crt" -CAkey "$pki/devca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha384 \
    -extfile "$SCRATCH/dev.ext" -out "$SCRATCH/dev.crt" >/dev/null 2>&1 ||
	fail "openssl x509 -req (device) failed"
# the root is the one anchor: the device certificate comes with the device
# CA, and so does the collector's
cat "$SCRATCH/dev.crt" "$pki/devca.crt" >"$SCRATCH/dev-chain.pem"
_run_tool "ca add root" "$CMLSH" --socket "$SOCK" ca add "$pki/root.crt"
_run_tool "device cert install" "$CMLSH" --socket "$SOCK" device cert install "$SCRATCH/dev-chain.pem"

# collector_cert DIR CA: a server certificate for 127.0.0.1 from CA
collector_cert() {
	local dir=$1 ca=$2
	mkdir -p "$dir"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n' \
	    >"$dir/ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$dir/key.pem" -subj "/CN=127.0.0.1/O=cml test collector" \
	    -out "$dir/req.pem" >/dev/null 2>&1 || fail "openssl req (collector) failed"
	openssl x509 -req -in "$dir/req.pem" -CA "$ca.crt" -CAkey "$ca.key" \
	    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
	    -extfile "$dir/ext" -out "$dir/cert.pem" >/dev/null 2>&1 ||
		fail "openssl x509 -req (collector) failed"
	cat "$ca.crt" >>"$dir/cert.pem"
}
collector_cert "$SCRATCH/good" "$pki/devca"
# another PKI's: a collector the device must refuse
pki_make "$SCRATCH/otherpki"
collector_cert "$SCRATCH/bad" "$SCRATCH/otherpki/devca"

# A free port of our own on loopback (never 514 or 6514 of the host).
port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

# --- the collector: rsyslogd with its own config, pid file and work dir -----
RSYSLOG_PID=
# collector_start NAME CERTDIR OUT: rsyslogd on 127.0.0.1:$port, TLS only
# (gtls, mode 1), the client authenticated by its certificate from the
# device CA naming the device's UUID; every message of app-name cml goes to
# OUT as "PRI HOSTNAME APP-NAME MSGID STRUCTURED-DATA".
collector_start() {
	local name=$1 certdir=$2 out=$3 dir=$SCRATCH/rsyslog-$1 i
	mkdir -p "$dir/work"
	cat >"$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir/work"
    defaultNetstreamDriver="gtls"
    defaultNetstreamDriverCAFile="$pki/root.crt"
    defaultNetstreamDriverCertFile="$certdir/cert.pem"
    defaultNetstreamDriverKeyFile="$certdir/key.pem")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"
    streamDriver.authMode="x509/name" permittedPeer=["$uuid"])
input(type="imtcp" address="127.0.0.1" port="$port")
template(name="cmlrec" type="string"
    string="%pri% %hostname% %app-name% %msgid% %structured-data%\n")
if \$app-name == "cml" then {
    action(type="omfile" file="$out" template="cmlrec")
}
EOF
	"$RSYSLOGD" -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" \
	    >>"$dir/rsyslogd.log" 2>&1 </dev/null &
	RSYSLOG_PID=$!
	track_pid "$RSYSLOG_PID"
	# listening once the port accepts
	for i in $(seq 1 100); do
		if python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
			return 0
		fi
		kill -0 "$RSYSLOG_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/rsyslogd.log" >&2
	fail "rsyslogd ($name) did not listen on 127.0.0.1:$port"
}
collector_stop() {
	[ -n "$RSYSLOG_PID" ] || return 0
	kill -TERM "$RSYSLOG_PID" 2>/dev/null
	wait "$RSYSLOG_PID" 2>/dev/null
	untrack_pid "$RSYSLOG_PID"
	RSYSLOG_PID=
}

# status FIELD: a member of `audit status --json` ("" when absent)
status() {
	cmlsh_run --json -c 'audit status' | python3 -c 'import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
print("" if v is None else v)' "$1"
}
# seqs FILE: the seq of every message the collector wrote, in its order
seqs() {
	sed -n 's/.*\[cml@32473 seq="\([0-9]*\)".*/\1/p' "$1" 2>/dev/null
}
# expect_all WHAT FILE: FILE holds every record of the trail, once each,
# in order (1 to the last); records that came meanwhile (tpm2d's, the
# forwarding's own) get 15 s to follow
expect_all() {
	local last i got
	for i in $(seq 1 150); do
		last=$(status last_seq)
		got=$(seqs "$2")
		[ "$(seq 1 "$last")" = "$got" ] && break
		sleep 0.1
	done
	# (the same snapshot: a record may arrive after it)
	expect_eq "$1: every record once, in order (1 to #$last)" \
	    "$(seq 1 "$last")" "$got"
}
# wait_cursor: until the cursor is the trail's last record (30 s)
wait_cursor() {
	local i
	for i in $(seq 1 300); do
		[ "$(status forward_cursor)" = "$(status last_seq)" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_state STATE [SECONDS]
wait_state() {
	local i
	for i in $(seq 1 $((${2:-40} * 10))); do
		[ "$(status forward_state)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# records N: N records (configuration changes)
records() {
	local i
	for i in $(seq 1 "$1"); do
		cmlsh_run -c "device config set stop_timeout $((10 + i % 5))" >/dev/null ||
			fail "device config set failed"
	done
}
# restart_cmld: cmld again, tpm2d and scd kept
restart_cmld() {
	local pid
	pid=$(cmld_pid) || fail "cmld is not running"
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	STACK_RUNNING=0
	stack_start
}

# --- off by default ---------------------------------------------------------
expect_eq "forwarding is off by default" "off" "$(status forward_state)"
expect_eq "no host" "" "$(status forward_host)"

# --- forwarding: every record once, in order ------------------------------
out=$SCRATCH/received.log
collector_start good "$SCRATCH/good" "$out"
cmlsh_run -c "device config set audit_forward_host 127.0.0.1" >/dev/null || fail "set audit_forward_host"
cmlsh_run -c "device config set audit_forward_port $port" >/dev/null || fail "set audit_forward_port"
restart_cmld
wait_state connected 30 || fail "not connected: $(status forward_state): $(status forward_error)"
expect_eq "audit status: the collector" "127.0.0.1" "$(status forward_host)"
records 20
wait_cursor || fail "the cursor stays at $(status forward_cursor) of $(status last_seq)"
expect_all "first run" "$out"
expect_eq "no error while connected" "" "$(status forward_error)"
first=$(grep -m 1 'seq="1"' "$out")
expect_match "RFC 5424 header: authpriv.notice, the device name, app cml, MSGID the type" \
    '^85 cml cml daemon \[cml@32473 seq="1" uid="0" pid="[0-9]+" comm="[^"]*" container="" object="[^"]*" result="ok" hash="[0-9a-f]{64}"\]$' \
    "$first"
expect_match "the connection is in the trail, with mutual authentication" \
    'connected to the collector 127.0.0.1 port [0-9]+ \(TLSv1\.[23], mutual authentication\)' \
    "$(cmlsh_run --json -c 'audit list' | python3 -c 'import json, sys
print("\n".join(r["details"] for r in json.load(sys.stdin)["records"] if r["object"] == "forwarding"))')"

# --- the collector away: records wait, then arrive once --------------------
collector_stop
records 10
wait_state disconnected 20 || fail "still $(status forward_state) without a collector"
expect_match "the outage's reason" "closed the connection|cannot connect" "$(status forward_error)"
cursor=$(status forward_cursor)
[ "$cursor" -lt "$(status last_seq)" ] || fail "the cursor $cursor moved past what the collector got"
records 5
collector_start good "$SCRATCH/good" "$out"
wait_state connected 40 || fail "not connected again: $(status forward_state): $(status forward_error)"
records 3
wait_cursor || fail "after the restart the cursor stays at $(status forward_cursor) of $(status last_seq)"
expect_all "across a collector restart" "$out"

# --- cml-forward killed: started again, from the cursor --------------------
fpid=$(pgrep -f "^$FORWARD --fd 3 --tpm2d-socket $STACK_DIR/" | head -n 1)
[ -n "$fpid" ] || fail "no cml-forward running for this stack"
kill -KILL "$fpid"
records 4
wait_state connected 30 || fail "cml-forward not back: $(status forward_state): $(status forward_error)"
wait_cursor || fail "after the restart of cml-forward the cursor stays at $(status forward_cursor)"
expect_all "across a restart of cml-forward" "$out"

# --- cmld restarted: the cursor persists -----------------------------------
restart_cmld
wait_state connected 30 || fail "not connected after cmld's restart"
records 2
wait_cursor || fail "after cmld's restart the cursor stays at $(status forward_cursor)"
expect_all "across a restart of cmld" "$out"

# --- the collector's side: only this device's certificate gets in ----------
# client_cert NAME CN: a client certificate from the device CA naming CN
client_cert() {
	local dir=$SCRATCH/client-$1
	mkdir -p "$dir"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
	    >"$dir/ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
	    -keyout "$dir/key.pem" -subj "/CN=$2/O=cml device" -out "$dir/req.pem" \
	    >/dev/null 2>&1 || fail "openssl req (client $1) failed"
	openssl x509 -req -in "$dir/req.pem" -CA "$pki/devca.crt" -CAkey "$pki/devca.key" \
	    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha384 \
	    -extfile "$dir/ext" -out "$dir/cert.pem" >/dev/null 2>&1 ||
		fail "openssl x509 -req (client $1) failed"
}
# probe MARKER [openssl s_client options]: one octet-counted RFC 5424
# message of app-name cml with MSGID MARKER, sent over TLS to the collector
probe() {
	local marker=$1 msg
	shift
	msg="<13>1 2026-01-01T00:00:00Z probe cml - $marker - probe"
	printf '%d %s' "${#msg}" "$msg" |
	    timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" \
	    -CAfile "$pki/root.crt" "$@" >/dev/null 2>&1
	sleep 1
}
client_cert other "$(cat /proc/sys/kernel/random/uuid)"
client_cert same "$uuid"
probe probe-other -cert "$SCRATCH/client-other/cert.pem" -key "$SCRATCH/client-other/key.pem" \
    -cert_chain "$pki/devca.crt"
probe probe-none
# (the control: a certificate naming this device gets in, so the probes are
# heard; only the device CA issues it, for the TPM's key)
probe probe-same -cert "$SCRATCH/client-same/cert.pem" -key "$SCRATCH/client-same/key.pem" \
    -cert_chain "$pki/devca.crt"
for i in $(seq 1 50); do
	grep -q ' probe-same ' "$out" && break
	sleep 0.1
done
expect_eq "the collector takes a client certificate naming this device" 1 \
    "$(grep -c ' probe-same ' "$out")"
expect_eq "the collector refuses a certificate of the device CA naming another device" 0 \
    "$(grep -c ' probe-other ' "$out")"
expect_eq "the collector refuses a client without a certificate" 0 \
    "$(grep -c ' probe-none ' "$out")"

# --- an untrusted collector: refused, nothing delivered --------------------
collector_stop
bad_out=$SCRATCH/untrusted.log
collector_start bad "$SCRATCH/bad" "$bad_out"
records 3
before=$(status forward_cursor)
for i in $(seq 1 400); do
	case "$(status forward_error)" in *"not trusted"*) break ;; esac
	sleep 0.1
done
expect_match "an untrusted collector is refused, saying why" \
    "^the collector's certificate is not trusted: " "$(status forward_error)"
expect_eq "it is disconnected" "disconnected" "$(status forward_state)"
sleep 1
expect_eq "nothing reached the untrusted collector" "" "$(cat "$bad_out" 2>/dev/null)"
expect_eq "the cursor stays" "$before" "$(status forward_cursor)"
expect_match "the refusal is in the trail" \
    "forwarding to 127\.0\.0\.1 port $port stopped at record #[0-9]+: the collector's certificate is not trusted" \
    "$(cmlsh_run --json -c 'audit list' | python3 -c 'import json, sys
print("\n".join(r["details"] for r in json.load(sys.stdin)["records"] if r["object"] == "forwarding"))')"
collector_stop

# --- and the trusted one gets the rest -------------------------------------
collector_start good "$SCRATCH/good" "$out"
wait_state connected 40 || fail "not connected to the trusted collector again"
wait_cursor || fail "the records of the refusal did not follow"
expect_all "after the refusal" "$out"

# --- the device key is the TPM's: no private key in the device's state ----
expect_match "the device key cannot leave the TPM" "fixedtpm" \
    "$(tpm2d_call org.cml.TPM.IdentityPublic | json_get parameters attributes)"
leaks=$(grep -rlaE -- "-----BEGIN ([A-Z]+ )?PRIVATE KEY-----" "$STACK_DIR" \
    --exclude-dir=swtpm 2>/dev/null)
expect_eq "no private key in the device's state" "" "$leaks"

collector_stop
finish
