# Sourced by the provisioning tests (after lib.sh): cml-provision on a
# fresh stack with the busybox guest OS installed for c0 (ct_setup), and a
# factory PKI $FAB (cml-mkpki) whose software-signing CA is the supplier's
# anchor and whose root is the device CA, and an owner's PKI $OWN.
#
#   prov_setup          ct_setup, c0 tracked, $FAB and $OWN made, $UUID
#                       set; the working directory is $SCRATCH
#   prov_fresh          a new stack in the same directory: new TPM, new
#                       state, busybox installed again; $UUID set
#   prov ARGS...        cml-provision --socket $SOCK ARGS...
#   prov_fp CERT        the SHA-256 fingerprint as openssl prints it
#   prov_gone PID       waits until a process killed is gone (5 s at most)
#   prov_sign CSR OUT   $FAB's device CA signs CSR: OUT is the certificate
#                       with the device CA after it
#   prov_state          the end state, to compare: the provisioning steps
#                       (without times), the anchors, every setting, c0's
#                       token, the device's state and certificate, the
#                       report verified off the device with $FAB's root
#                       alone; what differs from one TPM or token to
#                       another (UUID, key names, serials, times) is
#                       masked

PROVISION=$CML_BUILDDIR/provisioning/cml-provision
CML_ATTEST=$CML_BUILDDIR/provisioning/cml-attest
FAB=
OWN=
UUID=

prov() {
	"$PROVISION" --socket "$SOCK" "$@"
}

prov_fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

prov_setup() {
	[ -x "$PROVISION" ] || skip "no cml-provision at $PROVISION: build first (or set CML_BUILDDIR)"
	need_prog openssl sqlite3 python3
	ct_setup
	ct_track c0
	FAB=$SCRATCH/fab
	OWN=$SCRATCH/own
	pki_make "$FAB"
	pki_make "$OWN"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' \
	    >"$SCRATCH/dev.ext"
	UUID=$(cmlsh_run --json device status | json_get uuid)
	[ -n "$UUID" ] || fail "device status names no uuid"
	cd "$SCRATCH" || fail "cd $SCRATCH"
}

prov_gone() {
	timeout 5 tail --pid="$1" -f /dev/null || fail "process $1 survived SIGKILL"
}

prov_fresh() {
	if [ "$STACK_RUNNING" = 1 ] && cmld_pid >/dev/null; then
		cmlsh_run --yes container kill c0 >/dev/null 2>&1
	fi
	stack_stop
	ct_reap_host c0
	rm -rf "$STACK_DIR"
	stack_start
	_run_tool "ca add" "$CMLSH" --socket "$SOCK" ca add "$SCRATCH/pki/root.crt"
	_run_tool "guestos install" "$CMLSH" --socket "$SOCK" guestos install "$CT_GUESTOS"
	UUID=$(cmlsh_run --json device status | json_get uuid)
	[ -n "$UUID" ] || fail "device status names no uuid"
}

prov_sign() {
	openssl x509 -req -in "$1" -CA "$FAB/devca.crt" -CAkey "$FAB/devca.key" \
	    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha384 \
	    -extfile "$SCRATCH/dev.ext" -out "$2" >/dev/null 2>&1 ||
	    fail "openssl x509 -req $1 failed"
	cat "$FAB/devca.crt" >>"$2"
}

prov_state() {
	local report=${1:-}
	echo "# provision status"
	prov --status --json | python3 -c '
import json, re, sys
s = json.load(sys.stdin)
def mask(t):
    if t is None:
        return "-"
    t = t.replace(s["uuid"], "<uuid>")
    t = re.sub(r"\d{4}-\d\d-\d\dT[0-9:.]+Z", "<time>", t)
    return re.sub(r"\b[0-9a-f]{16,}\b", "<hex>", t)
print("state", s["state"], "next", s["next"])
for st in s["steps"]:
    print(st["name"], st["state"], mask(st["summary"]), mask(st["error"]))'
	echo "# device status"
	cmlsh_run --json device status | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["provisioning"], d["certificate"].replace(d["uuid"], "<uuid>"))'
	echo "# anchors"
	cmlsh_run --json ca list | python3 -c '
import json, sys
for a in sorted(json.load(sys.stdin)["anchors"], key=lambda a: (a["kind"], a["fingerprint"])):
    print(a["kind"], a["fingerprint"], a["subject"])'
	echo "# settings"
	cmlsh_run --json device config get | python3 -c '
import json, sys
for s in json.load(sys.stdin)["settings"]:
    print("%s=%s" % (s["key"], s["value"]))'
	echo "# c0's token"
	cmlsh_run --json token status c0 2>/dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin).get("status")
if t is None:
    print("none")
else:
    print(t["type"], t["state"], "pin", t["pin_tries_left"], t["pin_tries_max"],
        "puk", t["puk_tries_left"], t["puk_tries_max"], "bound", t["bound"])'
	echo "# c0"
	cmlsh_run --json container list | python3 -c '
import json, sys
for c in json.load(sys.stdin)["containers"]:
    if c["name"] == "c0":
        print(c["name"], c["guestos"])'
	if [ -n "$report" ]; then
		echo "# the report"
		"$CML_ATTEST" --ca "$FAB/root.crt" --report "$report" 2>&1 |
		    sed -n 's/^\(report: ok\|state: .*\)$/\1/p'
	fi
}
