#!/bin/bash
# `container create` refuses a bad config of every kind with one exact
# sentence naming the field, stores nothing (`container list` and the
# database unchanged) and audits the refusal: not JSON, not an object, a
# field twice, a trailing comma, an unknown field at any depth, a missing
# guest OS, a wrong type, a float for an integer, out-of-range memory, a
# bad name, the reserved name c0, a relative init, a bad environment
# entry, CAP_SYS_MODULE, CAP_SYS_ADMIN, CAP_SYS_TIME without cml.time, an
# unknown capability, device rules of type a, with allow false, with bad
# access, exclusive without a minor or on a default device, a bad CPU
# list, a bad host name, an unknown token type, a guest OS not installed
# or too old, a name taken already, a file too large, a directory, a
# symbolic link to a FIFO (passed unopened, refused by cmld), a missing
# file (cmlsh cannot open it; cmld is not called).  The man page's example is accepted, and
# `container config` shows its effective config, which, created again
# under another name, means the same.
# Proves: OS 01 (containers from a checked config),
# CR 7.6(1) (the effective config as JSON; created again it means the same),
# OS 05 (CAP_SYS_MODULE and CAP_SYS_ADMIN refused),
# CR 7.7 (forbidden capabilities and every-device rules refused),
# TSF.DEV (device rules checked),
# CR 7.1 (an oversized config or a FIFO refused at once),
# CR 2.8 (every refusal audited), CR 2.12 (with uid and pid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

ct_setup

db=$(state_dir)/cml.db
taken=$(ct_name taken)
ct_create "$taken" '{"name":"'"$taken"'","guestos":{"name":"busybox"}}'
n=$(ct_name bad)
bb='"guestos":{"name":"busybox"}'

# stored: what a refusal must leave alone
stored() {
	cmlsh_run container list 2>&1
	sqlite3 "$db" ".timeout 5000" 'select name, idx, state, config from container order by name' 2>&1
}
# refused_file DESC PATH ERROR MESSAGE
refused_file() {
	local desc=$1 path=$2 before n0
	before=$(stored)
	n0=$(audit_count)
	ct_cmlsh container create "$path"
	expect_status "$desc: refused" 1 "$rc"
	expect_eq "$desc: the message" "cmlsh: container config $path refused: $4" "$(cat "$SCRATCH/err")"
	expect_eq "$desc: nothing stored" "$before" "$(stored)"
	expect_eq "$desc: audited" "$((n0 + 1))
type=call uid=0 pid=$pid container= object=org.cml.Container.Create result=$3 details=container config $path refused: $4" \
	    "$(audit_last)"
}
# refused DESC CONFIG MESSAGE [ERROR]: CONFIG (text) is refused
refused() {
	printf '%s' "$2" >"$SCRATCH/bad.json"
	refused_file "$1" "$SCRATCH/bad.json" "${4:-org.cml.Error.InvalidArgument}" "$3"
}

refused "not JSON" 'nope' "config is not valid JSON: unexpected character 'n' at offset 0"
refused "not an object" '[1]' "config must be a JSON object"
refused "a field twice" '{"name":"'"$n"'",'"$bb"',"name":"x2"}' "field 'name' appears twice"
refused "a trailing comma" '{"name":"'"$n"'",'"$bb"',}' \
    "config is not valid JSON: unexpected character '}' at offset $((${#n} + 40))"
refused "an unknown field, deep down" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"memroy":{"limit":67108864}}}}' \
    "unknown field 'linux.resources.memroy'"
refused "an unknown field at the top" '{"name":"'"$n"'",'"$bb"',"user_namespace":true}' \
    "unknown field 'user_namespace'"
refused "no guest OS" '{"name":"'"$n"'"}' "guestos is missing"
refused "a string for an integer" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"pids":{"limit":"12"}}}}' \
    "linux.resources.pids.limit must be an integer from 1 to 4194304"
refused "a float for an integer" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"memory":{"limit":67108864.0}}}}' \
    "linux.resources.memory.limit must be an integer from 4194304 to 1099511627776"
refused "memory below 4 MiB" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"memory":{"limit":1048576}}}}' \
    "linux.resources.memory.limit must be an integer from 4194304 to 1099511627776"
refused "a bad name" '{"name":"Bad_Name",'"$bb"'}' \
    "name 'Bad_Name' must be 1 to 31 of a-z 0-9 -, starting with a letter or digit"
refused "the name c0" '{"name":"c0",'"$bb"'}' "name 'c0' is reserved for the management container"
refused "a relative init" '{"name":"'"$n"'",'"$bb"',"process":{"args":["sbin/init"]}}' \
    "process.args[0] must be an absolute path"
refused "a bad environment entry" '{"name":"'"$n"'",'"$bb"',"process":{"env":["1A=b"]}}' \
    "process.env[0] must be KEY=VALUE, KEY of A-Z a-z 0-9 _ and not starting with a digit"
refused "CAP_SYS_MODULE" '{"name":"'"$n"'",'"$bb"',"process":{"capabilities":{"bounding":["CAP_SYS_MODULE"]}}}' \
    "CAP_SYS_MODULE is never granted: it would let the container load kernel modules"
refused "CAP_SYS_ADMIN" '{"name":"'"$n"'",'"$bb"',"process":{"capabilities":{"bounding":["CAP_NET_ADMIN","CAP_SYS_ADMIN"]}}}' \
    "CAP_SYS_ADMIN is granted only to c0: it would let the container mount file systems and undo its isolation"
refused "CAP_SYS_TIME without cml.time" '{"name":"'"$n"'",'"$bb"',"process":{"capabilities":{"bounding":["CAP_SYS_TIME"]}}}' \
    "CAP_SYS_TIME is granted only to the time container (cml.time true): it would let the container set the host's clock"
refused "an unknown capability" '{"name":"'"$n"'",'"$bb"',"process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_FOO"]}}}' \
    "process.capabilities.bounding[1]: unknown capability 'CAP_FOO'"
refused "a device rule of type a" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"devices":[{"type":"a"}]}}}' \
    "linux.resources.devices[0]: type 'a' (every device) is allowed only for c0"
refused "a device rule with allow false" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"devices":[{"allow":false,"type":"c"}]}}}' \
    "linux.resources.devices[0].allow must be true: every device not listed is denied already"
refused "a device rule with access x" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"devices":[{"type":"c","access":"rwx"}]}}}' \
    "linux.resources.devices[0].access must be one or more of r, w and m, each at most once"
refused "exclusive without a minor" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"devices":[{"type":"c","major":188,"exclusive":true}]}}}' \
    "linux.resources.devices[0]: exclusive needs type 'c' or 'b' with both major and minor"
refused "exclusive on a default device" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"devices":[{"type":"c","major":1,"minor":3,"exclusive":true}]}}}' \
    "linux.resources.devices[0]: c 1:3 rwm is a default device of every container and cannot be exclusive"
refused "a CPU list out of order" '{"name":"'"$n"'",'"$bb"',"linux":{"resources":{"cpu":{"cpus":"3-1"}}}}' \
    "linux.resources.cpu.cpus '3-1' must be CPU numbers (0 to 8191) and ranges in ascending order, such as \"0-1,3\""
refused "a bad host name" '{"name":"'"$n"'",'"$bb"',"hostname":"-bad"}' \
    "hostname '-bad' must be an RFC 1123 host name: labels of a-z A-Z 0-9 - separated by dots, each 1 to 63 long, not starting or ending with -, 64 at most in all"
refused "an unknown token type" '{"name":"'"$n"'",'"$bb"',"cml":{"token":{"type":"smartcard"}}}' \
    "cml.token.type must be none, softtoken or usbtoken"
refused "a guest OS not installed" '{"name":"'"$n"'","guestos":{"name":"nosuch"}}' \
    "guest OS 'nosuch' is not installed: 'guestos list' shows what is" org.cml.Error.NotFound
refused "a guest OS too old" '{"name":"'"$n"'","guestos":{"name":"busybox","min_version":"2.0"}}' \
    "guest OS 'busybox' >= 2.0 is not installed: 'guestos list' shows what is" org.cml.Error.NotFound
refused "a name taken already" '{"name":"'"$taken"'",'"$bb"',"hostname":"other"}' \
    "container '$taken' exists already"

python3 -c 'import sys
sys.stdout.write("{\"name\":\"%s\",\"guestos\":{\"name\":\"busybox\"},\"hostname\":\"%s\"}" % (sys.argv[1], "a" * 524288))' "$n" \
    >"$SCRATCH/big.json"
refused_file "a file over 512 KiB" "$SCRATCH/big.json" org.cml.Error.InvalidArgument \
    "$SCRATCH/big.json is larger than 524288 bytes"
mkdir "$SCRATCH/dir.json"
refused_file "a directory" "$SCRATCH/dir.json" org.cml.Error.InvalidArgument \
    "$SCRATCH/dir.json is not a regular file"
mkfifo "$SCRATCH/fifo.json"
ln -s "$SCRATCH/fifo.json" "$SCRATCH/link.json"
refused_file "a symbolic link to a FIFO" "$SCRATCH/link.json" org.cml.Error.InvalidArgument \
    "$SCRATCH/link.json is not a regular file"
# a file cmlsh cannot open never reaches cmld
before=$(stored)
n0=$(audit_count)
ct_cmlsh container create "$SCRATCH/none.json"
expect_status "a missing file: refused" 1 "$rc"
expect_eq "a missing file: cmlsh says so" \
    "cmlsh: cannot open $SCRATCH/none.json: No such file or directory" "$(cat "$SCRATCH/err")"
expect_eq "a missing file: nothing stored" "$before" "$(stored)"
expect_eq "a missing file: cmld was not called" "$n0" "$(audit_count)"

# --- the man page's example, and its effective config -----------------------------------------
ex=$(ct_name ex)
example='{
  "name": "'"$ex"'",
  "guestos": {"name": "busybox", "min_version": "1.0"},
  "hostname": "web",
  "autostart": true,
  "process": {
    "args": ["/sbin/init"],
    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
    "capabilities": {"bounding": ["CAP_NET_BIND_SERVICE"]}
  },
  "linux": {
    "resources": {
      "memory": {"limit": 67108864},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000,
              "cpus": "0-1"},
      "pids": {"limit": 128},
      "devices": [
        {"allow": true, "type": "c", "major": 188, "minor": 0,
         "access": "rw", "exclusive": true}
      ]
    },
    "user_namespace": true
  },
  "cml": {
    "token": {"type": "none"},
    "storage": {"encrypted": false, "size_mb": 64,
                "volume": {"size_mb": 256, "mount": "/var/lib/web"}}
  }
}'
ct_create "$ex" "$example"
effective() {
	cmlsh_run --json container config "$1" | python3 -c 'import json, sys
c = json.load(sys.stdin)["config"]
print(json.dumps(c, sort_keys=True))'
}
defaults='[{"access": "rwm", "allow": true, "exclusive": false, "major": 1, "minor": 3, "type": "c"}, {"access": "rwm", "allow": true, "exclusive": false, "major": 1, "minor": 5, "type": "c"}, {"access": "rwm", "allow": true, "exclusive": false, "major": 1, "minor": 7, "type": "c"}, {"access": "rwm", "allow": true, "exclusive": false, "major": 1, "minor": 8, "type": "c"}, {"access": "rwm", "allow": true, "exclusive": false, "major": 1, "minor": 9, "type": "c"}, {"access": "rwm", "allow": true, "exclusive": false, "major": 5, "minor": 0, "type": "c"}, {"access": "rwm", "allow": true, "exclusive": false, "major": 5, "minor": 2, "type": "c"}, {"access": "rwm", "allow": true, "exclusive": false, "major": 136, "minor": null, "type": "c"}]'
eff=$(effective "$ex")
expect_eq "the example's effective config: every field, the default device list" \
    '{"autostart": true, "cml": {"network": {"dns": [], "egress": [], "forward": [], "interfaces": [], "management": [], "mode": "island"}, "storage": {"encrypted": false, "integrity": true, "size_mb": 64, "volume": {"mount": "/var/lib/web", "size_mb": 256}}, "time": false, "token": {"type": "none"}}, "default_devices": '"$defaults"', "guestos": {"min_version": "1.0", "name": "busybox"}, "hostname": "web", "linux": {"resources": {"cpu": {"cpus": "0-1", "period": 100000, "quota": 50000, "shares": 512}, "devices": [{"access": "rw", "allow": true, "exclusive": true, "major": 188, "minor": 0, "type": "c"}], "memory": {"limit": 67108864}, "pids": {"limit": 128}}, "user_namespace": true}, "name": "'"$ex"'", "process": {"args": ["/sbin/init"], "capabilities": {"bounding": ["CAP_NET_BIND_SERVICE"]}, "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "init_shim": false}}' \
    "$eff"
minimal=$(ct_name minimal)
ct_create "$minimal" '{"name":"'"$minimal"'",'"$bb"'}'
expect_eq "a minimal config's effective config: the defaults" \
    '{"autostart": false, "cml": {"network": {"dns": [], "egress": [], "forward": [], "interfaces": [], "management": [], "mode": "island"}, "storage": {"encrypted": false, "integrity": true, "size_mb": 64, "volume": null}, "time": false, "token": {"type": "none"}}, "default_devices": '"$defaults"', "guestos": {"min_version": null, "name": "busybox"}, "hostname": "'"$minimal"'", "linux": {"resources": {"cpu": {"cpus": null, "period": 100000, "quota": null, "shares": 1024}, "devices": [], "memory": {"limit": 268435456}, "pids": {"limit": 1024}}, "user_namespace": false}, "name": "'"$minimal"'", "process": {"args": null, "capabilities": {"bounding": []}, "env": [], "init_shim": false}}' \
    "$(effective "$minimal")"

# the effective config without default_devices is a config with the same meaning
again=$(ct_name again)
cmlsh_run --yes container remove "$ex" >/dev/null || fail "cannot remove $ex"
ct_create "$again" "$(python3 -c 'import json, sys
c = json.loads(sys.argv[1])
del c["default_devices"]
c["name"] = sys.argv[2]
print(json.dumps(c))' "$eff" "$again")"
expect_eq "created from the effective config: the same effective config" \
    "${eff//\"name\": \"$ex\"/\"name\": \"$again\"}" "$(effective "$again")"

finish
