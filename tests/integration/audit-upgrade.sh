#!/bin/bash
# A trail written before the hash chain (audit.db at schema 1) is kept
# whole when cmld upgrades it: its records are chained once, oldest first,
# new records follow them in the same chain, and `audit verify` finds it
# intact; the old records' fields are as they were.
# Proves: CR 3.9 (the chain covers records of an older trail too),
# TSF.AUDIT.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog sqlite3 python3
export CML_STACK_NO_TPM2D=1
make_scratch
state=$STACK_DIR/var/lib/cml
mkdir -p "$state"
chmod 700 "$state"
sqlite3 "$state/audit.db" <<'EOF' || fail "cannot make a schema 1 trail"
PRAGMA journal_mode = WAL;
CREATE TABLE audit (
 seq INTEGER PRIMARY KEY AUTOINCREMENT,
 time_ms INTEGER NOT NULL,
 type TEXT NOT NULL,
 uid INTEGER,
 pid INTEGER,
 container TEXT,
 object TEXT NOT NULL,
 result TEXT NOT NULL,
 details TEXT
) STRICT;
INSERT INTO audit (time_ms, type, uid, pid, container, object, result, details)
 VALUES (1700000000000, 'daemon', 0, 10, NULL, 'cmld', 'ok', 'old start'),
        (1700000000001, 'call', 0, 11, 'c1', 'org.cml.Container.Start', 'ok', 'old call'),
        (1700000000002, 'call', 1000, 12, NULL, 'org.cml.Device.SetConfig',
         'org.cml.Error.PermissionDenied', 'old refusal');
PRAGMA user_version = 1;
EOF
stack_start

expect_match "cmld says it chained them" "chained 3 audit records of an older trail" \
    "$(cat "$STACK_DIR/log/cmld.log")"
expect_eq "the old records as they were" \
"1 daemon 0 10 - cmld ok old start
2 call 0 11 c1 org.cml.Container.Start ok old call
3 call 1000 12 - org.cml.Device.SetConfig org.cml.Error.PermissionDenied old refusal" \
    "$(cmlsh_run --json audit list --until 2024-01-01 | python3 -c 'import json, sys
for r in json.load(sys.stdin)["records"]:
    print(r["seq"], r["type"], r["uid"], r["pid"], r["container"] or "-",
        r["object"], r["result"], r["details"])')"
expect_match "record 1 starts the chain" '"prev": *"0{64}"' \
    "$(cmlsh_run --json audit show 1)"
cmlsh_run -c 'device config set device_name upgraded' >/dev/null ||
    fail "device config set failed"
out=$(cmlsh_run audit verify 2>&1)
expect_status "audit verify of the upgraded trail" 0 $?
expect_match "all of it, the old records too" "^verified: +yes" "$out"
expect_match "from record 1" "first seq: +1" "$(grep '^first seq:' <<<"$out")"
expect_eq "the schema is the current one" 2 \
    "$(sqlite3 "$state/audit.db" 'PRAGMA user_version')"

finish
