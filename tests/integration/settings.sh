#!/bin/bash
# Device settings: the exact `device config get` table, setting each type
# with canonical values, every kind of bad value refused with its message
# and nothing changed, settings kept across a restart of cmld, and
# log_level and max_clients applied at once.
# Proves: CR 7.6 (typed and checked settings; kept across a restart),
# CR 7.6(1) (the settings as JSON), CR 7.1 (max_clients applied at once).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
stack_start

# config_table [KEY]: the table
config_table() {
	cmlsh_run -c "device config get${1:+ $1}"
}
value_of() {
	cmlsh_run --json -c "device config get $1" | json_get settings 0 value
}

defaults="KEY                       VALUE          TYPE     DEFAULT
device_name               cml            string   cml
log_level                 info           enum     info
max_clients               64             integer  64
audit_read_calls          false          boolean  false
guestos_verity            true           boolean  true
stop_timeout              10             integer  10
c0_guestos                -              string   -
require_signed_configs    auto           enum     auto
session_idle_timeout      900            integer  900
token_pin_tries           3              integer  3
token_puk_tries           3              integer  3
audit_capacity            67108864       integer  67108864
audit_warn_percent        75             integer  75
audit_critical_percent    90             integer  90
audit_full_action         refuse         enum     refuse
audit_checkpoint_records  100            integer  100
audit_checkpoint_seconds  60             integer  60
audit_forward_host        -              string   -
audit_forward_port        6514           integer  6514
audit_kernel              false          boolean  false
net_pool_v4               10.200.0.0/16  string   10.200.0.0/16
net_pool_v6               fd00:c41::/48  string   fd00:c41::/48
net_masquerade            -              string   -
net_guard_uplinks         -              string   -
net_c0_ports              -              string   -
update_signers_guestos    -              string   -
update_signers_configs    -              string   -
update_signers_cml        -              string   -
update_signers_boot       -              string   -"

out=$(config_table 2>"$SCRATCH/err")
expect_status "device config get" 0 $?
expect_eq "device config get: the defaults" "$defaults" "$out"
expect_eq "device config get: nothing on stderr" "" "$(cat "$SCRATCH/err")"

out=$(config_table max_clients 2>&1)
expect_status "device config get max_clients" 0 $?
expect_eq "device config get max_clients" \
"KEY          VALUE  TYPE     DEFAULT
max_clients  64     integer  64" "$out"

json=$(cmlsh_run --json -c 'device config get')
expect_status "device config get --json" 0 $?
expect_eq "device config get --json" \
    '{"settings": [{"key": "device_name", "value": "cml", "type": "string", "default": "cml"}, {"key": "log_level", "value": "info", "type": "enum", "default": "info"}, {"key": "max_clients", "value": "64", "type": "integer", "default": "64"}, {"key": "audit_read_calls", "value": "false", "type": "boolean", "default": "false"}, {"key": "guestos_verity", "value": "true", "type": "boolean", "default": "true"}, {"key": "stop_timeout", "value": "10", "type": "integer", "default": "10"}, {"key": "c0_guestos", "value": "", "type": "string", "default": ""}, {"key": "require_signed_configs", "value": "auto", "type": "enum", "default": "auto"}, {"key": "session_idle_timeout", "value": "900", "type": "integer", "default": "900"}, {"key": "token_pin_tries", "value": "3", "type": "integer", "default": "3"}, {"key": "token_puk_tries", "value": "3", "type": "integer", "default": "3"}, {"key": "audit_capacity", "value": "67108864", "type": "integer", "default": "67108864"}, {"key": "audit_warn_percent", "value": "75", "type": "integer", "default": "75"}, {"key": "audit_critical_percent", "value": "90", "type": "integer", "default": "90"}, {"key": "audit_full_action", "value": "refuse", "type": "enum", "default": "refuse"}, {"key": "audit_checkpoint_records", "value": "100", "type": "integer", "default": "100"}, {"key": "audit_checkpoint_seconds", "value": "60", "type": "integer", "default": "60"}, {"key": "audit_forward_host", "value": "", "type": "string", "default": ""}, {"key": "audit_forward_port", "value": "6514", "type": "integer", "default": "6514"}, {"key": "audit_kernel", "value": "false", "type": "boolean", "default": "false"}, {"key": "net_pool_v4", "value": "10.200.0.0/16", "type": "string", "default": "10.200.0.0/16"}, {"key": "net_pool_v6", "value": "fd00:c41::/48", "type": "string", "default": "fd00:c41::/48"}, {"key": "net_masquerade", "value": "", "type": "string", "default": ""}, {"key": "net_guard_uplinks", "value": "", "type": "string", "default": ""}, {"key": "net_c0_ports", "value": "", "type": "string", "default": ""}, {"key": "update_signers_guestos", "value": "", "type": "string", "default": ""}, {"key": "update_signers_configs", "value": "", "type": "string", "default": ""}, {"key": "update_signers_cml", "value": "", "type": "string", "default": ""}, {"key": "update_signers_boot", "value": "", "type": "string", "default": ""}]}' \
    "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))')"

# set KEY VALUE CANONICAL: set, check the reply and the stored value
set_ok() {
	local key=$1 value=$2 canonical=$3 out
	out=$(cmlsh_run -c "device config set $key $value" 2>"$SCRATCH/err")
	expect_status "set $key $value" 0 $?
	expect_eq "set $key $value: reply" \
"key:   $key
value: $canonical" "$out"
	expect_eq "set $key $value: nothing on stderr" "" "$(cat "$SCRATCH/err")"
	expect_eq "set $key $value: stored as $canonical" "$canonical" "$(value_of "$key")"
}

# string
set_ok device_name gw-7.plant_A gw-7.plant_A
long64=$(printf 'n%.0s' $(seq 64))
set_ok device_name "$long64" "$long64"
set_ok device_name gateway-7 gateway-7
# integer, in canonical decimal
set_ok max_clients 128 128
set_ok max_clients 0017 17
set_ok max_clients 1024 1024
set_ok max_clients 1 1
set_ok max_clients 256 256
# enum
set_ok log_level warning warning
set_ok log_level info info
# boolean, canonicalised
set_ok audit_read_calls yes true
set_ok audit_read_calls off false
set_ok audit_read_calls 1 true
set_ok audit_read_calls FALSE false
set_ok audit_read_calls on true
# the address pools of the container links: canonical prefixes
set_ok net_pool_v4 10.9.0.0/24 10.9.0.0/24
set_ok net_pool_v4 10.200.0.0/16 10.200.0.0/16
set_ok net_pool_v6 FD00:C41:0::/48 fd00:c41::/48
set_ok net_c0_ports TCP/22,udp/0161 tcp/22,udp/161
# the signers an update kind needs: lower case, without colons
fa=$(printf 'ab%.0s' {1..32})
fb=$(printf '0c%.0s' {1..32})
set_ok update_signers_cml "2:$(printf 'AB:%.0s' {1..31})AB,$fb" "2:$fa,$fb"
cmlsh_run -c "device config set update_signers_cml ''" >/dev/null
expect_status "update_signers_cml emptied again" 0 $?
expect_eq "update_signers_cml: empty" "" "$(value_of update_signers_cml)"

expected="KEY                       VALUE           TYPE     DEFAULT
device_name               gateway-7       string   cml
log_level                 info            enum     info
max_clients               256             integer  64
audit_read_calls          true            boolean  false
guestos_verity            true            boolean  true
stop_timeout              10              integer  10
c0_guestos                -               string   -
require_signed_configs    auto            enum     auto
session_idle_timeout      900             integer  900
token_pin_tries           3               integer  3
token_puk_tries           3               integer  3
audit_capacity            67108864        integer  67108864
audit_warn_percent        75              integer  75
audit_critical_percent    90              integer  90
audit_full_action         refuse          enum     refuse
audit_checkpoint_records  100             integer  100
audit_checkpoint_seconds  60              integer  60
audit_forward_host        -               string   -
audit_forward_port        6514            integer  6514
audit_kernel              false           boolean  false
net_pool_v4               10.200.0.0/16   string   10.200.0.0/16
net_pool_v6               fd00:c41::/48   string   fd00:c41::/48
net_masquerade            -               string   -
net_guard_uplinks         -               string   -
net_c0_ports              tcp/22,udp/161  string   -
update_signers_guestos    -               string   -
update_signers_configs    -               string   -
update_signers_cml        -               string   -
update_signers_boot       -               string   -"
expect_eq "device config get after the changes" "$expected" "$(config_table)"

# bad values: exit 1, the message, nothing changed
set_bad() {
	local what=$1 cmd=$2 message=$3 out
	out=$(cmlsh_run -c "$cmd" 2>"$SCRATCH/err")
	expect_status "$what" 1 $?
	expect_eq "$what: nothing on stdout" "" "$out"
	expect_eq "$what: message" "cmlsh: $message" "$(cat "$SCRATCH/err")"
	expect_eq "$what: nothing changed" "$expected" "$(config_table)"
}
set_bad "unknown key" 'device config set colour blue' \
    "unknown setting 'colour': 'device config get' lists them"
set_bad "get an unknown key" 'device config get colour' \
    "unknown setting 'colour': 'device config get' lists them"
set_bad "more signers required than named" "device config set update_signers_cml 3:$fa,$fb" \
    "update_signers_cml requires 3 signers of only 2 named"
set_bad "a signer named twice" "device config set update_signers_cml 1:$fa,$fa" \
    "update_signers_cml names signer $fa twice"
set_bad "a fingerprint that is none" "device config set update_signers_cml 1:abcd" \
    "update_signers_cml must be M:FINGERPRINT,... with M from 1 to the number of fingerprints and at most 8 SHA-256 fingerprints (64 hex digits each), or empty, not '1:abcd'"
set_bad "integer below the range" 'device config set max_clients 0' \
    "max_clients must be from 1 to 1024, not 0"
set_bad "integer above the range" 'device config set max_clients 1025' \
    "max_clients must be from 1 to 1024, not 1025"
set_bad "negative integer" 'device config set max_clients -5' \
    "max_clients must be from 1 to 1024, not -5"
set_bad "not an integer" 'device config set max_clients 12x' \
    "max_clients must be an integer from 1 to 1024, not '12x'"
set_bad "integer overflow" 'device config set max_clients 99999999999999999999' \
    "max_clients must be an integer from 1 to 1024, not '99999999999999999999'"
set_bad "bad enum" 'device config set log_level verbose' \
    "log_level must be warning, info or debug, not 'verbose'"
set_bad "enum is case-sensitive" 'device config set log_level DEBUG' \
    "log_level must be warning, info or debug, not 'DEBUG'"
set_bad "bad boolean" 'device config set audit_read_calls maybe' \
    "audit_read_calls must be true or false (yes/no, on/off, 1/0), not 'maybe'"
set_bad "string too long" "device config set device_name ${long64}x" \
    "device_name must be 1 to 64 characters long"
set_bad "control character" $'device config set device_name a\x1bb' \
    "device_name must not contain control characters"
set_bad "pool with host bits" 'device config set net_pool_v4 10.200.0.1/16' \
    "net_pool_v4: '10.200.0.1/16' has address bits set past /16"
set_bad "pool too small" 'device config set net_pool_v4 10.200.0.0/31' \
    "net_pool_v4 must be an IPv4 prefix ADDR/LEN with LEN from 1 to 30, or empty, not '10.200.0.0/31'"
set_bad "pool of the other family" 'device config set net_pool_v6 10.200.0.0/16' \
    "net_pool_v6 must be an IPv6 prefix ADDR/LEN with LEN from 1 to 126, or empty, not '10.200.0.0/16'"
set_bad "uplink list with a blank" 'device config set net_masquerade "up0, up1"' \
    "net_masquerade must be interface names (1 to 15 bytes, no blank, '/', ':' or ',') separated by commas, or empty, not 'up0, up1'"
set_bad "uplink named twice" 'device config set net_masquerade up0,up1,up0' \
    "net_masquerade names an interface twice: 'up0,up1,up0'"
set_bad "port without a protocol" 'device config set net_c0_ports 22' \
    "net_c0_ports must be ports as tcp/PORT or udp/PORT (PORT 1 to 65535) separated by commas, or empty, not '22'"
set_bad "port 0" 'device config set net_c0_ports tcp/0' \
    "net_c0_ports must be ports as tcp/PORT or udp/PORT (PORT 1 to 65535) separated by commas, or empty, not 'tcp/0'"
set_bad "port named twice" 'device config set net_c0_ports tcp/22,udp/161,TCP/22' \
    "net_c0_ports names a port twice: 'tcp/22,udp/161,TCP/22'"

# the same through plain varlink: a newline, an empty name, the error name
for v in '"a\nb"' '""' '"\u007f"'; do
	reply=$(varlink_run "$SOCK" call org.cml.Device.SetConfig "{\"key\": \"device_name\", \"value\": $v}")
	expect_status "SetConfig device_name $v" 1 $?
	expect_eq "SetConfig device_name $v: error" "org.cml.Error.InvalidArgument" \
	    "$(printf '%s' "$reply" | json_get error 2>&1)"
	expect_match "SetConfig device_name $v: message names the key" '^device_name must ' \
	    "$(printf '%s' "$reply" | json_get parameters message 2>&1)"
done
reply=$(varlink_run "$SOCK" call org.cml.Device.GetConfig '{"key": "colour"}')
expect_status "GetConfig of an unknown key" 1 $?
expect_eq "GetConfig of an unknown key: error" "org.cml.Error.InvalidArgument" \
    "$(printf '%s' "$reply" | json_get error 2>&1)"
expect_eq "GetConfig of an unknown key: message" \
    "unknown setting 'colour': 'device config get' lists them" \
    "$(printf '%s' "$reply" | json_get parameters message 2>&1)"
reply=$(varlink_run "$SOCK" call org.cml.Device.SetConfig '{"key": "max_clients", "value": 5}')
expect_status "SetConfig with a number for value" 1 $?
expect_eq "SetConfig with a number for value: error" "org.varlink.service.InvalidParameter" \
    "$(printf '%s' "$reply" | json_get error 2>&1)"
expect_eq "SetConfig with a number for value: parameter" "value" \
    "$(printf '%s' "$reply" | json_get parameters parameter 2>&1)"
expect_eq "nothing changed by the plain client" "$expected" "$(config_table)"

# settings survive a restart
stack_stop
stack_start
expect_eq "settings after a restart" "$expected" "$(config_table)"

# log_level is applied at once: cmld logs each connection at debug level
log=$STACK_DIR/log/cmld.log
"$CMLSH" --socket "$SOCK" -c 'device status' >/dev/null &
pid=$!
wait $pid
sleep 0.2
expect_eq "at level info: no debug line for a connection" "" \
    "$(grep -E "uid 0 pid $pid( |$)" "$log")"
set_ok log_level debug debug
"$CMLSH" --socket "$SOCK" -c 'device status' >/dev/null &
pid=$!
wait $pid
sleep 0.2
expect_match "at level debug: a debug line for the connection" \
    "uid 0 pid $pid( |$)" "$(cat "$log")"
set_ok log_level warning warning
"$CMLSH" --socket "$SOCK" -c 'device status' >/dev/null &
pid=$!
wait $pid
sleep 0.2
expect_eq "back at level warning: no debug line" "" \
    "$(grep -E "uid 0 pid $pid( |$)" "$log")"

# max_clients is applied at once: a client beyond it is told Busy and closed
set_ok max_clients 2 2
out=$(python3 - "$SOCK" <<'PY' 2>&1
import os, sys
sys.path.insert(0, os.path.join(os.environ["CML_SRCDIR"], "tests/integration"))
import varlink
conns = [varlink.Connection(sys.argv[1]) for _ in range(3)]
for c in conns:
    c.send("org.cml.Device.Status", {})
for i, c in enumerate(conns):
    r = c.recv()
    what = "none" if r is None else r.get("error", "status")
    print("client %d: %s, %s" % (i + 1, what,
          "closed" if c.closed_by_peer(0.5) else "open"))
PY
)
expect_eq "max_clients 2: the third client is refused" \
"client 1: status, open
client 2: status, open
client 3: org.cml.Error.Busy, closed" "$out"
set_ok max_clients 64 64

finish
