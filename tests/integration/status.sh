#!/bin/bash
# `device status`: the exact text lines and the --json form of
# org.cml.Device.Status, against a private cmld; `api info` for the other
# formatting rules.
# It checks DESIGN "Processes": each stage reported up, down or absent, and
# the TPM's state tpm2d reports (the stack's swtpm, key sealed to 16,23).
# Proves: CR 1.2 (the device's UUID shown),
# CR 1.2(1) (random and kept across a restart), CR 1.4 (made once and kept),
# IAM 01 (the connector identifier).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
stack_start

version=$(sed -n 's/^AC_INIT(\[cml\], *\[\([^]]*\)\].*/\1/p' "$CML_SRCDIR/configure.ac")
[ -n "$version" ] || fail "cannot read the version from configure.ac"
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
state_dir=$STACK_DIR/var/lib/cml

out=$(cmlsh_run -c 'device status' 2>"$SCRATCH/err")
expect_status "device status" 0 $?
expect_eq "device status writes nothing on stderr" "" "$(cat "$SCRATCH/err")"
expect_lines "device status lines" "$out" \
	"^version:         ${version//./\\.}\$" \
	'^uptime seconds:  [0-9]+$' \
	"^state dir:       ${state_dir//./\\.}\$" \
	'^provisioning:    factory$' \
	"^uuid:            $uuid_re\$" \
	'^name:            cml$' \
	'^stages:          tpm2d=up scd=up cmld=up$' \
	'^certificate:     none$' \
	'^image check:     (dm-verity|full hash \(.+\))$' \
	"^tpm:             swtpm:path=${STACK_DIR//./\\.}/run/swtpm/swtpm\\.sock\$" \
	'^system key:      unsealed \(sealed to PCRs 16, 23\)$' \
	'^identity:        present \(0x[0-9a-f]{8}\)$' \
	'^state volume:    (plain \(.+\)|encrypted)$' \
	'^platform secret: present$' \
	'^pcsc:            (up|down \(.+\))$' \
	'^tokens:          0$'
# everything but the uptime, the uuid, the key's handle and why the state
# volume is plain or not (the kernel's), exactly
expect_eq "device status text without the varying values" \
"version:         $version
uptime seconds:  N
state dir:       $state_dir
provisioning:    factory
uuid:            U
name:            cml
stages:          tpm2d=up scd=up cmld=up
certificate:     none
image check:     I
tpm:             swtpm:path=$STACK_DIR/run/swtpm/swtpm.sock
system key:      unsealed (sealed to PCRs 16, 23)
identity:        present (H)
state volume:    V
platform secret: present
pcsc:            P
tokens:          0" \
	"$(printf '%s\n' "$out" | sed -E -e 's/^(uptime seconds: +)[0-9]+$/\1N/' \
	    -e "s/^(uuid: +)$uuid_re\$/\\1U/" \
	    -e 's/^(identity: +present \()0x[0-9a-f]+\)$/\1H)/' \
	    -e 's/^(state volume: +).*/\1V/' -e 's/^(pcsc: +).*/\1P/' \
	    -e 's/^(image check: +).*/\1I/')"
uuid=$(printf '%s\n' "$out" | sed -n 's/^uuid: *//p')

json=$(cmlsh_run --json -c 'device status' 2>"$SCRATCH/err")
expect_status "device status --json" 0 $?
expect_eq "device status --json writes nothing on stderr" "" "$(cat "$SCRATCH/err")"
checked=$(printf '%s' "$json" | python3 -c '
import json, re, sys
version, state_dir, uuid, tcti = sys.argv[1:5]
d = json.load(sys.stdin)
problems = []
want_keys = ["version", "uptime_seconds", "state_dir", "provisioning",
             "uuid", "name", "stages", "certificate", "tpm", "scd",
             "image_check"]
if sorted(d) != sorted(want_keys):
    problems.append("members %s, expected %s" % (sorted(d), sorted(want_keys)))
def want(key, ok, what):
    if key not in d or not ok(d[key]):
        problems.append("%s is %r, expected %s" % (key, d.get(key), what))
want("version", lambda v: v == version, repr(version))
want("uptime_seconds", lambda v: type(v) is int and 0 <= v < 600,
     "an integer 0..600")
want("state_dir", lambda v: v == state_dir, repr(state_dir))
want("provisioning", lambda v: v == "factory", "factory")
want("uuid", lambda v: v == uuid, repr(uuid) + " (as in the text form)")
want("name", lambda v: v == "cml", "cml")
want("certificate", lambda v: v == "none", "none")
want("image_check", lambda v: v == "dm-verity" or
     re.match(r"full hash \(.+\)$", v) is not None,
     "dm-verity or full hash (WHY)")
want("stages", lambda v: v == {"tpm2d": "up", "scd": "up",
                               "cmld": "up"}, "tpm2d up, scd up, cmld up")
tpm = d.get("tpm", {})
want_tpm = {"tcti": tcti, "system_key": "unsealed", "seal_pcrs": [16, 23],
            "identity": "present"}
for k, v in want_tpm.items():
    if tpm.get(k) != v:
        problems.append("tpm.%s is %r, expected %r" % (k, tpm.get(k), v))
if tpm.get("state_volume") not in ("plain", "encrypted"):
    problems.append("tpm.state_volume is %r" % tpm.get("state_volume"))
if "reason" in tpm:
    problems.append("tpm.reason %r for an unsealed key" % tpm["reason"])
scd = d.get("scd", {})
if scd.get("platform_secret") != "present" or scd.get("tokens") != 0 or \
    scd.get("pcsc") not in ("up", "down"):
    problems.append("scd is %r" % scd)
print("\n".join(problems) if problems else "ok")
' "$version" "$state_dir" "$uuid" "swtpm:path=$STACK_DIR/run/swtpm/swtpm.sock" 2>&1)
expect_eq "device status --json parses and has the fields" "ok" "$checked"

expect_eq "device status --json is pretty-printed" "{" "$(printf '%s\n' "$json" | head -n 1)"
expect_match "device status --json: one member per line" $'\n +"name": ?"cml",?\n' "$json"

# the other formatting rules: "" as -, an array of scalars as "a, b"
out=$(cmlsh_run -c 'api info' 2>"$SCRATCH/err")
expect_status "api info" 0 $?
expect_eq "api info lines" \
"vendor:     cml
product:    cml
version:    $version
url:        -
interfaces: org.varlink.service, org.cml.Error, org.cml.Device, org.cml.Audit, org.cml.Trust, org.cml.GuestOS, org.cml.Container, org.cml.Token, org.cml.Network, org.cml.Provision, org.cml.Update" "$out"
expect_eq "api info writes nothing on stderr" "" "$(cat "$SCRATCH/err")"

# The UUID identifies the device: it survives a restart of cmld.
stack_stop
stack_start
uuid2=$(cmlsh_run -c 'device status' | sed -n 's/^uuid: *//p')
expect_eq "uuid after a restart" "$uuid" "$uuid2"

# scd's stage is what cmld's link to it says, as tpm2d's: "up" while it
# answers, "down" once it does not (cmld connects again), "up" again once
# it is back.  (tpm2d's: tests/integration/tpm-link.sh.)
spid=$(head -n 1 "$STACK_DIR/run/cml/scd.pid" 2>/dev/null | tr -dc 0-9)
[ -n "$spid" ] || fail "cannot find scd's pid"
mapfile -d '' SCD_ARGV < <(cat "/proc/$spid/cmdline")
kill -KILL "$spid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$spid" 2>/dev/null || break
	sleep 0.05
done
expect_eq "stages: scd down once it is gone" \
    "stages:         tpm2d=up scd=down cmld=up" \
    "$(cmlsh_run -c 'device status' | grep '^stages:')"
exec 5< <(exec "${SCD_ARGV[@]}" 4>&1 >>"$STACK_DIR/log/scd.log" 2>&1 \
    </dev/null)
IFS= read -r -t 10 -u 5 line
exec 5<&-
expect_eq "scd started again" "READY=1" "$line"
expect_eq "stages: scd up again once it is back" \
    "stages:          tpm2d=up scd=up cmld=up" \
    "$(cmlsh_run -c 'device status' | grep '^stages:')"
export CML_STACK_NO_SCD=1
stack_stop
stack_start
expect_eq "stages: scd down when it does not run (cmld looks for it)" \
    "stages:         tpm2d=up scd=down cmld=up" \
    "$(cmlsh_run -c 'device status' | grep '^stages:')"

finish
