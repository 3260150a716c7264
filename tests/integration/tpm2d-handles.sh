#!/bin/bash
# 1000 operations through tpm2d against one swtpm leave no transient object
# and no session in the TPM: PlatformSecret, ReadPCRs, CheckSystemKey (a
# full unseal: primary key, salted policy session, load, PolicyPCR,
# unseal), Extend, Status, IdentityPublic and Quote, in five runs with a
# restart of tpm2d (an unseal at start) between them.  tpm2d measures into
# PCR 16, one of the PCRs the system key is sealed to, so after the first
# Extend every unseal (CheckSystemKey and at start) takes the refused path
# (TPM_RC_POLICY_FAIL), which must flush as well.  swtpm has no resource
# manager: whatever tpm2d does not flush stays until the TPM runs out of
# memory (0x902, 0x903), so no call may fail with a TPM error either.
# Each Extend returns sha256(value before || digest) and the TPM's reset
# count, the same throughout.  Finally tpm2-tools, on the same swtpm once
# tpm2d is stopped, finds no transient handle and no loaded session.
# Proves: COM 04 (Extend measures into the PCR: each value the hash chain
# of the digests, with the reset count the measurements belong to).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm tpm2_getcap python3
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] || skip "no tpm2d: build first"
make_scratch
swtpm_start "$SCRATCH/tpm"
export TPM2TOOLS_TCTI=$SWTPM_TCTI

RUNS=5
PER_RUN=200

# Runs N operations on one connection; prints "ok N", or what went wrong.
# state: the last PCR 16 value and reset count, carried between runs.
drive() {
	python3 - "$TPM2D_SOCK" "$1" "$2" "$SCRATCH/state" <<'PY'
import hashlib, json, os, sys
sys.path.insert(0, os.path.dirname(os.environ["VARLINK_PY"]))
import varlink

sock, run, n, state_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = varlink.Connection(sock, 30)
state = json.load(open(state_path)) if os.path.exists(state_path) else {}
if "pcr16" not in state:
    r = c.call("org.cml.TPM.ReadPCRs", {"pcrs": [16]})
    state["pcr16"] = r["parameters"]["pcrs"][0]["value"]
done = 0
problems = []
for i in range(n):
    k = (run * n + i) % 7
    if k == 0:
        r = c.call("org.cml.TPM.PlatformSecret", {"label": "label %d" % i})
        ok = "error" not in r or r["error"] == "org.cml.TPM.SystemKeyUnavailable"
    elif k == 1:
        r = c.call("org.cml.TPM.ReadPCRs", {"pcrs": [0, 13, 16, 23]})
        ok = "error" not in r and len(r["parameters"]["pcrs"]) == 4
    elif k == 2:
        r = c.call("org.cml.TPM.CheckSystemKey")
        ok = "error" not in r
        if ok and not r["parameters"]["unseals"]:
            ok = "PCR 16 changed" in (r["parameters"]["reason"] or "")
    elif k == 3:
        d = hashlib.sha256(b"measurement %d %d" % (run, i)).hexdigest()
        r = c.call("org.cml.TPM.Extend", {"digest": d})
        ok = "error" not in r
        if ok:
            want = hashlib.sha256(bytes.fromhex(state["pcr16"]) +
                                  bytes.fromhex(d)).hexdigest()
            got = r["parameters"]["pcr"]
            if got != {"index": 16, "bank": "sha256", "value": want}:
                problems.append("Extend: got %r, expected value %s" % (got, want))
            rc = r["parameters"]["reset_count"]
            if state.setdefault("reset_count", rc) != rc:
                problems.append("Extend: reset count %r, before %r" %
                                (rc, state["reset_count"]))
            state["pcr16"] = want
            state["extends"] = state.get("extends", 0) + 1
    elif k == 4:
        r = c.call("org.cml.TPM.Status")
        ok = "error" not in r
    elif k == 5:
        r = c.call("org.cml.TPM.IdentityPublic")
        ok = "error" not in r
    else:
        r = c.call("org.cml.TPM.Quote", {"nonce": os.urandom(16).hex(),
                                         "pcrs": [16]})
        ok = "error" not in r
    if not ok:
        problems.append("operation %d: %s" % (i, json.dumps(r)[:300]))
    done += 1
c.close()
json.dump(state, open(state_path, "w"))
if problems:
    print("\n".join(problems[:10]))
else:
    print("ok %d" % done)
PY
}

total=0
for ((run = 0; run < RUNS; run++)); do
	tpm2d_up --seal-pcrs 16,23 --measure-pcr 16 || fail "tpm2d did not start (run $run)"
	out=$(VARLINK_PY=$VARLINK_PY drive "$run" "$PER_RUN")
	expect_eq "run $((run + 1)): $PER_RUN operations, none failed" "ok $PER_RUN" "$out"
	[ "$out" = "ok $PER_RUN" ] && total=$((total + PER_RUN))
	if [ "$run" = 0 ]; then
		expect_eq "after the first Extend of PCR 16 the system key no longer unseals" false \
		    "$(tpm2d_call org.cml.TPM.CheckSystemKey | json_get parameters unseals)"
	fi
	tpm2d_down
done
expect_eq "1000 operations in all" 1000 "$total"
expect_match "the next start refused the unseal too (the refused path at start)" \
    "syskey system key refused: .*PCR 16 changed" "$(cat "$STACK_DIR/log/tpm2d.log")"
expect_match "Extend was among them" '"extends": [1-9][0-9]*' "$(cat "$SCRATCH/state")"
expect_eq "no TPM error (out of memory: 0x902, 0x903) in tpm2d's log" "" \
    "$(grep -E '0x90[23]|OBJECT_MEMORY|SESSION_MEMORY' "$STACK_DIR/log/tpm2d.log")"

# swtpm serves one client at a time: tpm2d is stopped
expect_eq "no transient object left in the TPM" "" "$(tpm2_getcap handles-transient)"
expect_eq "no session left in the TPM" "" "$(tpm2_getcap handles-loaded-session)"
expect_eq "no saved session either" "" "$(tpm2_getcap handles-saved-session)"

finish
