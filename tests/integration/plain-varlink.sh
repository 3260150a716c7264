#!/bin/bash
# cmld speaks plain varlink: a client written with nothing but Python's
# standard library (varlink.py, none of cml's code) introspects it with
# org.varlink.service and calls it; errors follow the varlink conventions.
# It checks DESIGN "The control protocol".
# Proves: CR 1.2(1) (the device UUID is a random version 4 UUID).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
stack_start

version=$(sed -n 's/^AC_INIT(\[cml\], *\[\([^]]*\)\].*/\1/p' "$CML_SRCDIR/configure.ac")

# jget JSON KEY...: one member of a JSON text
jget() {
	local j=$1
	shift
	printf '%s' "$j" | json_get "$@"
}

# GetInfo
reply=$(varlink_run "$SOCK" call org.varlink.service.GetInfo)
expect_status "GetInfo" 0 $?
expect_eq "GetInfo vendor" "cml" "$(jget "$reply" parameters vendor)"
expect_eq "GetInfo product" "cml" "$(jget "$reply" parameters product)"
expect_eq "GetInfo version" "$version" "$(jget "$reply" parameters version)"
expect_eq "GetInfo url" "" "$(jget "$reply" parameters url)"
ifaces=$(varlink_run "$SOCK" info)
expect_status "GetInfo interfaces" 0 $?
expect_eq "GetInfo lists the interfaces" \
"org.varlink.service
org.cml.Error
org.cml.Device
org.cml.Audit
org.cml.Trust
org.cml.GuestOS
org.cml.Container
org.cml.Token
org.cml.Network
org.cml.Provision
org.cml.Update" "$ifaces"

# GetInterfaceDescription: the text of each .varlink file, as shipped
for iface in $ifaces; do
	varlink_run "$SOCK" describe "$iface" >"$SCRATCH/$iface.txt"
	expect_status "GetInterfaceDescription $iface" 0 $?
	first=$(grep -v -e '^#' -e '^[[:space:]]*$' "$SCRATCH/$iface.txt" | head -n 1)
	expect_eq "$iface: first line after the comments" "interface $iface" "$first"
	expect_match "$iface: starts with its description" '^# [A-Z]' \
	    "$(head -n 1 "$SCRATCH/$iface.txt")"
	if cmp -s "$SCRATCH/$iface.txt" "$CML_SRCDIR/varlink/$iface.varlink"; then
		expect_eq "$iface: description equals varlink/$iface.varlink" same same
	else
		expect_eq "$iface: description equals varlink/$iface.varlink" \
		    "$(cat "$CML_SRCDIR/varlink/$iface.varlink")" "$(cat "$SCRATCH/$iface.txt")"
	fi
done

# Unknown interface
reply=$(varlink_run "$SOCK" call org.varlink.service.GetInterfaceDescription \
    '{"interface": "org.example.Nothing"}')
expect_status "GetInterfaceDescription of an unknown interface" 1 $?
expect_eq "unknown interface: error" "org.varlink.service.InterfaceNotFound" \
    "$(jget "$reply" error)"
expect_eq "unknown interface: parameter interface" "org.example.Nothing" \
    "$(jget "$reply" parameters interface)"
expect_match "unknown interface: a message" '^.{10,}$' \
    "$(jget "$reply" parameters message)"

# Unknown method of a known interface
reply=$(varlink_run "$SOCK" call org.cml.Device.Explode '{}')
expect_status "unknown method" 1 $?
expect_eq "unknown method: error" "org.varlink.service.MethodNotFound" \
    "$(jget "$reply" error)"
expect_eq "unknown method: parameter method" "org.cml.Device.Explode" \
    "$(jget "$reply" parameters method)"
expect_match "unknown method: a message" '^.{10,}$' \
    "$(jget "$reply" parameters message)"

# Bad parameters: wrong type, unknown parameter
reply=$(varlink_run "$SOCK" call org.cml.Device.GetConfig '{"key": 5}')
expect_status "GetConfig with a number for key" 1 $?
expect_eq "wrong type: error" "org.varlink.service.InvalidParameter" \
    "$(jget "$reply" error)"
expect_eq "wrong type: parameter" "key" "$(jget "$reply" parameters parameter)"
expect_match "wrong type: a message" '^.{10,}$' "$(jget "$reply" parameters message)"
reply=$(varlink_run "$SOCK" call org.cml.Device.Status '{"verbose": true}')
expect_status "Status with an unknown parameter" 1 $?
expect_eq "unknown parameter: error" "org.varlink.service.InvalidParameter" \
    "$(jget "$reply" error)"
expect_eq "unknown parameter: parameter" "verbose" \
    "$(jget "$reply" parameters parameter)"

# Device.Status with the plain client; an error reply does not end the
# connection, so the calls share one.
checked=$(python3 - "$SOCK" "$version" "$STACK_DIR/var/lib/cml" <<'PY' 2>&1
import os, re, sys
sys.path.insert(0, os.path.join(os.environ["CML_SRCDIR"], "tests/integration"))
import varlink
path, version, state_dir = sys.argv[1:4]
c = varlink.Connection(path)
problems = []
r = c.call("org.cml.Device.Nothing")
if r is None or r.get("error") != "org.varlink.service.MethodNotFound":
    problems.append("unknown method on a shared connection: %r" % r)
r = c.call("org.cml.Device.Status")
if r is None or "error" in r:
    problems.append("Status after an error on the same connection: %r" % r)
else:
    p = r["parameters"]
    if set(r) != {"parameters"}:
        problems.append("reply members %s" % sorted(r))
    want = {"version": version, "state_dir": state_dir,
            "provisioning": "factory", "name": "cml", "certificate": "none",
            "stages": {"tpm2d": "up", "scd": "up", "cmld": "up"}}
    for k, v in want.items():
        if p.get(k) != v:
            problems.append("%s is %r, expected %r" % (k, p.get(k), v))
    if type(p.get("uptime_seconds")) is not int or p["uptime_seconds"] < 0:
        problems.append("uptime_seconds %r" % p.get("uptime_seconds"))
    if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        str(p.get("uuid"))):
        problems.append("uuid %r" % p.get("uuid"))
    if not isinstance(p.get("tpm"), dict):
        problems.append("tpm %r" % p.get("tpm"))
    if not isinstance(p.get("scd"), dict):
        problems.append("scd %r" % p.get("scd"))
    if not str(p.get("image_check")).startswith(("dm-verity", "full hash (")):
        problems.append("image_check %r" % p.get("image_check"))
    if len(p) != 11:
        problems.append("%d members: %s" % (len(p), sorted(p)))
c.close()
print("\n".join(problems) if problems else "ok")
PY
)
expect_eq "Device.Status through the plain client" "ok" "$checked"

finish
