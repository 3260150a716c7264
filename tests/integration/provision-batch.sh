#!/bin/bash
# cml-provision --batch on a fresh stack (swtpm, the software token): a
# batch file that is wrong in any way (an unknown key, a supplier anchor
# without the fingerprint it must have, a PIN in a file others may read)
# is refused with exit 1 before anything is asked of cmld. A key=value
# file without the certificate does steps 1 and 2, writes the request
# carrying the device UUID and stops with 13; with the certificate the
# device CA issued for it but the wrong supplier fingerprint, it installs
# the certificate and stops with 14, no supplier anchor stored; the same
# answers as JSON, PIN and PUK on stdin, then do every step left: the end
# state is exactly the one asked for (steps, certificate, the supplier,
# owner and device CA anchors, settings, c0's softtoken with that PIN,
# provisioned) and the signed report verifies off the device with the
# factory's root CA alone, the device CA coming with the certificate (a
# changed byte fails it). --json gives one object per step and a summary; --status
# shows the steps; a run on a provisioned device has nothing left to do.
# Proves: CR 1.2 (the request and certificate carry the device UUID), IAM 01
# (the device certificate for the TPM key, installed by provisioning), CR 1.8
# (the certificate kept and handed out with its device CA), CR 1.9
# (the device PKI's certificate checked against the TPM key), NDR 3.12,
# NDR 3.13 (supplier and owner anchors, each installed only with its
# fingerprint confirmed), CR 1.5 (c0's token made with the PIN given), CR 7.6
# (settings set, and the signed machine-readable report).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/provision-lib.sh"

prov_setup
pin='Qw7!pin9x'
puk='Puk-8832-zz'
fresh=$(prov_state)

# --- a wrong batch file does nothing -----------------------------------------
printf 'csr_out=%s/x.csr\nno_such_key=1\n' "$SCRATCH" >bad1.conf
out=$(prov --batch bad1.conf 2>&1)
expect_status "an unknown key" 1 $?
expect_eq "it is named with its line" \
    "cml-provision: bad1.conf: line 2: unknown key 'no_such_key' (cml-provision(8) lists the keys)" "$out"
printf 'supplier_anchor=%s/swca.crt\n' "$FAB" >bad2.conf
out=$(prov --batch bad2.conf 2>&1)
expect_status "a supplier anchor without its fingerprint" 1 $?
expect_eq "it says the fingerprint is needed" \
    "cml-provision: bad2.conf: supplier_anchor needs supplier_fingerprint: the batch file names the fingerprint it expects" "$out"
printf '{"pin": "%s", "generate_puk": true}\n' "$pin" >bad3.json
chmod 644 bad3.json
out=$(prov --batch bad3.json 2>&1)
expect_status "a PIN in a file others may read" 1 $?
expect_eq "it says so, without the PIN" \
    "cml-provision: bad3.json: it holds a PIN or PUK and others may read it (mode 0644): make it private (chmod 600), or give the secrets on a descriptor (pin_fd, puk_fd)" "$out"
printf 'settings.audit_warn_percent=150\n' >bad4.conf
out=$(prov --batch bad4.conf 2>&1)
expect_status "a setting cmld would refuse" 1 $?
expect_match "it is named with its line" "^cml-provision: bad4\\.conf: line 1: .*audit_warn_percent" "$out"
out=$(prov --batch bad1.conf --status 2>&1)
expect_status "--batch with --status" 1 $?
expect_eq "nothing was done by any of them" "$fresh" "$(prov_state)"
expect_eq "no request was written" "" "$(ls "$SCRATCH"/*.csr 2>/dev/null)"

# --- key=value, no certificate yet: steps 1 and 2, then 13 ---------------------
cat >device.conf <<EOF
# the answers of a factory line
csr_out = $SCRATCH/device.csr
supplier_anchor = $FAB/swca.crt
supplier_fingerprint = $(prov_fp "$FAB/swca.crt")
owner_anchor = $OWN/root.crt
owner_fingerprint = $(prov_fp "$OWN/root.crt" | tr -d : | tr A-F a-f)
c0_guestos = busybox
pin_fd = 0
puk_fd = 0
settings.audit_capacity = 1048576
settings.audit_warn_percent = 60
settings.audit_full_action = drop-acknowledged
lock = yes
report_out = $SCRATCH/report.json
EOF
printf '%s\n%s\n' "$pin" "$puk" | prov --batch device.conf --json >run1.json 2>run1.err
expect_status "without a certificate the run stops at step 3" 13 $?
expect_eq "the JSON lines: check and identity done, the certificate not given, the summary" \
"step 1 check done False
step 2 identity done False
step 3 certificate failed False
summary 13 factory certificate" "$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "step":
        print("step", o["number"], o["name"], o["result"], o["done_before"])
    else:
        print("summary", o["exit_status"], o["state"], o["next"])' run1.json)"
expect_eq "step 3 says what is missing" \
    "the batch file gives no certificate and device_ca: have the device CA sign the request in $SCRATCH/device.csr and add them" \
    "$(sed -n 3p run1.json | json_get message)"
expect_eq "and so does stderr" \
    "cml-provision: step 3 (certificate) failed: the batch file gives no certificate and device_ca: have the device CA sign the request in $SCRATCH/device.csr and add them" \
    "$(tail -n 1 run1.err)"
openssl req -in device.csr -verify -noout >/dev/null 2>&1
expect_status "the request verifies" 0 $?
expect_eq "its subject carries the device UUID" "CN=$UUID, O=cml device" \
    "$(openssl req -in device.csr -noout -subject -nameopt sep_comma_plus_space | sed 's/^subject=//')"
expect_eq "the request's file is named in step 2's JSON" "$SCRATCH/device.csr" \
    "$(sed -n 2p run1.json | json_get reply csr_file)"
status=$(prov --status)
expect_status "--status" 0 $?
expect_lines "--status shows the device, the progress line, each step and the next" "$status" \
    "^Device $UUID: factory\$" \
    '^\[1 check ✓\] \[2 identity ✓\] \[3 certificate\] \[4 anchors\] \[5 token\] \[6 settings\]$' \
    '^\[7 lock\]$' \
    '^  1 check +done +20[0-9-]+T[0-9:.]+Z every check passed: tpm, device-key, scd, clock$' \
    "^  2 identity +done +20[0-9-]+T[0-9:.]+Z device key [0-9a-f]+ \\(made before\\), request for /CN=$UUID/O=cml device\$" \
    '^  3 certificate +pending *$' '^  4 anchors +pending *$' '^  5 token +pending *$' \
    '^  6 settings +pending *$' '^  7 lock +pending *$' '^Next: certificate$'
expect_match "in a locale that is not UTF-8 the marks are words" \
    '^\[1 check ok\] \[2 identity ok\] \[3 certificate\]' "$(LC_ALL=C prov --status | sed -n 2p)"

# --- the certificate, a wrong supplier fingerprint: 14, nothing stored --------
prov_sign device.csr device.crt
{
	cat device.conf
	echo "certificate = $SCRATCH/device.crt"
	echo "device_ca = $FAB/root.crt"
} | sed "s/^supplier_fingerprint = .*/supplier_fingerprint = $(prov_fp "$OWN/root.crt")/" >wrong.conf
prov --batch wrong.conf </dev/null >run2.out 2>run2.err
expect_status "a supplier anchor whose fingerprint is another: step 4 fails" 14 $?
expect_match "cmld says the fingerprints differ, nothing installed" \
    "^cml-provision: step 4 \\(anchors\\) failed: the fingerprint confirmed \\([0-9a-f]{64}\\) is not the one of $(re_quote "$FAB/swca.crt") \\([0-9a-f]{64}\\): nothing was installed\$" \
    "$(tail -n 1 run2.err)"
expect_eq "no supplier anchor is stored" "0" \
    "$(sqlite3 "$(state_dir)/cml.db" ".timeout 5000" "select count(*) from trust_anchor where kind = 'supplier'")"
expect_eq "the certificate is installed, the anchors step failed" "done failed" \
    "$(prov --status --json | python3 -c 'import json, sys
s = {x["name"]: x["state"] for x in json.load(sys.stdin)["steps"]}
print(s["certificate"], s["anchors"])')"

# --- the same answers as JSON: every step left ---------------------------------
python3 - "$SCRATCH" "$FAB" "$OWN" "$(prov_fp "$FAB/swca.crt")" \
    "$(prov_fp "$OWN/root.crt")" >device.json <<'PY'
import json, sys
scratch, fab, own, sfp, ofp = sys.argv[1:]
print(json.dumps({
    "csr_out": scratch + "/device.csr",
    "certificate": scratch + "/device.crt",
    "device_ca": fab + "/root.crt",
    "supplier_anchor": fab + "/swca.crt",
    "supplier_fingerprint": sfp,
    "owner_anchor": [own + "/root.crt"],
    "owner_fingerprint": [ofp],
    "c0_guestos": "busybox",
    "pin_fd": 0, "puk_fd": 0,
    "settings": {"audit_capacity": 1048576, "audit_warn_percent": "60",
        "audit_full_action": "drop-acknowledged"},
    "lock": True,
    "report_out": scratch + "/report.json"}, indent=1))
PY
printf '%s\n%s\n' "$pin" "$puk" | prov --batch device.json --json >run3.json 2>run3.err
expect_status "the JSON batch does the rest" 0 $?
expect_eq "one line per step, then the summary" \
"step 1 check done True done
step 2 identity done True done
step 3 certificate done True done
step 4 anchors done False done
step 5 token done False done
step 6 settings done False done
step 7 lock done False done
summary 0 provisioned None $SCRATCH/report.json" "$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "step":
        print("step", o["number"], o["name"], o["result"], o["done_before"], o["state"])
    else:
        print("summary", o["exit_status"], o["state"], o["next"], o["report"])' run3.json)"
expect_eq "step 4 installed the supplier's anchor, then the owner's" \
    "supplier True $(prov_fp "$FAB/swca.crt" | tr -d : | tr A-F a-f)
owner True $(prov_fp "$OWN/root.crt" | tr -d : | tr A-F a-f)" \
    "$(sed -n 4p run3.json | python3 -c 'import json, sys
for a in json.load(sys.stdin)["reply"]["anchors"]:
    print(a["kind"], a["installed"], a["fingerprint"])')"
expect_eq "no PUK in step 5's reply: it was given" "None" \
    "$(sed -n 5p run3.json | python3 -c 'import json, sys; print(json.load(sys.stdin)["reply"].get("puk"))')"
expect_eq "no secret in the output" "" "$(grep -h -F -e "$pin" -e "$puk" run1.json run3.json run3.err run1.err)"

state=$(prov_state "$SCRATCH/report.json")
expect_eq "the end state" "# provision status
state provisioned next None
check done every check passed: tpm, device-key, scd, clock -
identity done device key <hex> (made before), request for /CN=<uuid>/O=cml device -
certificate done device certificate 'O=cml device,CN=<uuid>' (<hex>) issued by 'CN=cml device CA,O=cml', valid until <time>; device CA 'CN=cml root CA,O=cml' (<hex>) -
anchors done supplier anchor 'CN=cml software signing CA,O=cml' (<hex>) -
token done softtoken <hex> of c0, PIN and PUK set -
settings done audit_capacity=1048576, audit_warn_percent=60, audit_full_action=drop-acknowledged -
lock done provisioned: signed configs required, factory-only commands refused, supplier anchors fixed -
# device status
provisioned O=cml device,CN=<uuid>
# anchors
$(sqlite3 "$(state_dir)/cml.db" ".timeout 5000" "select kind, fingerprint, subject from trust_anchor order by kind, fingerprint" | tr '|' ' ')
# settings
$(cmlsh_run --json device config get | python3 -c '
import json, sys
want = {"audit_capacity": "1048576", "audit_warn_percent": "60", "audit_full_action": "drop-acknowledged", "c0_guestos": "busybox"}
for s in json.load(sys.stdin)["settings"]:
    print("%s=%s" % (s["key"], want.get(s["key"], s["default"])))')
# c0's token
softtoken ready pin 3 3 puk 3 3 bound True
# c0
c0 busybox
# the report
state: provisioned
report: ok" "$state"
hex() {
	prov_fp "$1" | tr -d : | tr A-F a-f
}
expect_eq "the anchors: the device CA, the owner's and the one before, the supplier's" \
    "$(printf '%s\n' "device $(hex "$FAB/root.crt")" "owner $(hex "$OWN/root.crt")" \
    "owner $(hex "$SCRATCH/pki/root.crt")" "supplier $(hex "$FAB/swca.crt")" | sort)" \
    "$(sqlite3 "$(state_dir)/cml.db" ".timeout 5000" "select kind, fingerprint from trust_anchor" | tr '|' ' ' | sort)"
expect_eq "the device certificate is the one issued" \
    "$(openssl x509 -in device.crt -noout -fingerprint -sha256 | sed 's/^.*=//' | tr -d : | tr A-F a-f)" \
    "$(prov --status --json | python3 -c 'import json, re, sys
s = [x for x in json.load(sys.stdin)["steps"] if x["name"] == "certificate"][0]["summary"]
print(re.search(r"\(([0-9a-f]{64})\)", s).group(1))')"
out=$(printf '%s\n' "$pin" | cmlsh_run token verify c0 --pin-stdin 2>&1)
expect_status "c0's token takes the PIN of the batch" 0 $?
out=$(printf '%s\n%s\n' "$puk" 'New-pin-4411' | cmlsh_run token unblock c0 --pin-stdin 2>&1)
expect_status "and the PUK" 0 $?

# --- the report off the device: a changed byte fails it ------------------------
python3 - report.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["report"] = r["report"].replace("provisioned", "provisionee", 1)
json.dump(r, open(sys.argv[1] + ".changed", "w"))
PY
"$CML_ATTEST" --ca "$FAB/root.crt" --report report.json.changed >/dev/null 2>&1
expect_status "a report with one byte changed does not verify" 1 $?

# --- again: nothing left to do ---------------------------------------------------
rm -f report.json
out=$(printf '%s\n%s\n' "$pin" "$puk" | prov --batch device.json 2>&1)
expect_status "a run on the provisioned device" 0 $?
expect_match "says there is nothing left to do" "It is provisioned: there is nothing left to do\\." "$out"
expect_eq "and writes the report again" "report: ok" \
    "$("$CML_ATTEST" --ca "$FAB/root.crt" --report report.json 2>&1 | tail -n 1)"
expect_eq "the state did not change" "$state" "$(prov_state "$SCRATCH/report.json")"

# --- exit statuses of the client itself --------------------------------------------
out=$(prov --no-such-option 2>&1)
expect_status "an unknown option" 1 $?
expect_eq "says so with the usage" "cml-provision: unknown option '--no-such-option'
usage: cml-provision [--socket PATH] [--json] [--batch FILE | --status]" "$out"
out=$("$PROVISION" --socket "$SCRATCH/no.sock" --status 2>&1)
expect_status "no cmld" 2 $?
expect_match "says where it looked" "^cml-provision: cannot ask cmld at $(re_quote "$SCRATCH/no.sock") for the provisioning status: " "$out"

finish
