#!/bin/bash
# cmld refuses a database it cannot trust, says which file, and leaves it
# exactly as it was: garbage instead of cml.db, a cml.db with damaged pages,
# garbage instead of audit.db, and a cml.db from a newer cml (higher
# user_version).  scripts/stack reports such a failed start.
# Proves: CR 3.4 (no silent use or repair of a damaged or newer store).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog sqlite3 sha256sum timeout
make_scratch

state=$STACK_DIR/var/lib/cml

# A good state directory to start from, made by cmld itself.
stack_start
cmlsh_run -c 'device config set device_name before-damage' >/dev/null ||
    fail "cannot set device_name"
stack_stop
[ -f "$state/cml.db" ] && [ -f "$state/audit.db" ] ||
    fail "cmld made no cml.db and audit.db in $state"
cp -a "$state" "$SCRATCH/good"

# restore: puts the good state back
restore() {
	rm -rf "$state"
	cp -a "$SCRATCH/good" "$state"
}

# refused WHAT FILE MESSAGE-REGEX: cmld must exit 1 on its own, naming FILE
# on stderr, and FILE must be unchanged.
refused() {
	local what=$1 file=$2 re=$3 before after rc
	before=$(sha256sum "$file" | cut -d' ' -f1)
	timeout 15 "$CMLD" --root "$STACK_DIR" --foreground \
	    >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null
	rc=$?
	[ $rc = 124 ] && echo "cmld was still running after 15 s (killed by timeout)" >&2
	expect_status "$what: cmld refuses to start" 1 $rc
	expect_match "$what: stderr names $file" "$file" "$(cat "$SCRATCH/err")"
	expect_match "$what: says what is wrong" "$re" "$(cat "$SCRATCH/err")"
	after=$(sha256sum "$file" | cut -d' ' -f1)
	expect_eq "$what: $(basename "$file") unchanged" "$before" "$after"
	expect_eq "$what: no socket left behind" "" \
	    "$(find "$STACK_DIR/run" -type s 2>/dev/null)"
}

# garbage instead of cml.db
restore
head -c 65536 /dev/urandom >"$state/cml.db"
rm -f "$state/cml.db-wal" "$state/cml.db-shm"
refused "garbage cml.db" "$state/cml.db" '[Nn]ot a database|corrupt|damaged|malformed'
# scripts/stack reports the failure and shows the log
out=$("$STACK" start "$STACK_DIR" 2>"$SCRATCH/stack.err")
expect_status "garbage cml.db: scripts/stack start fails" 1 $?
expect_eq "garbage cml.db: scripts/stack start prints no socket" "" "$out"
expect_match "garbage cml.db: scripts/stack shows cmld's message" "$state/cml.db" \
    "$(cat "$SCRATCH/stack.err")"

# damaged pages in an otherwise valid cml.db: quick_check must catch it
restore
pages=$(sqlite3 "$state/cml.db" 'PRAGMA page_count')
psize=$(sqlite3 "$state/cml.db" 'PRAGMA page_size')
[ "${pages:-0}" -ge 2 ] || fail "cml.db has only ${pages:-0} pages"
# every b-tree page but the first gets a broken header
for ((p = 1; p < pages; p++)); do
	printf '\x0d\xff\xff\xff\xff\xff\xff\xff' |
	    dd of="$state/cml.db" bs=1 seek=$((p * psize)) conv=notrunc status=none
done
expect_match "damaged cml.db: sqlite3 itself finds the damage" '.' \
    "$(sqlite3 "$state/cml.db" 'PRAGMA quick_check' 2>&1 | grep -v '^ok$')"
refused "damaged cml.db" "$state/cml.db" '[Cc]orrupt|damaged|malformed|quick_check|integrity'

# garbage instead of audit.db
restore
head -c 8192 /dev/urandom >"$state/audit.db"
refused "garbage audit.db" "$state/audit.db" '[Nn]ot a database|corrupt|damaged|malformed'

# a newer schema than this cmld knows
restore
sqlite3 "$state/cml.db" 'PRAGMA user_version = 9999' || fail "cannot set user_version"
refused "cml.db from a newer cml" "$state/cml.db" '[Nn]ewer|version'
expect_eq "newer cml.db: user_version still 9999" 9999 \
    "$(sqlite3 "$state/cml.db" 'PRAGMA user_version')"

restore
sqlite3 "$state/audit.db" 'PRAGMA user_version = 9999' || fail "cannot set user_version"
refused "audit.db from a newer cml" "$state/audit.db" '[Nn]ewer|version'

# and the good state still starts, with its setting
restore
stack_start
expect_eq "the good state still works" before-damage \
    "$(cmlsh_run --json -c 'device config get device_name' | json_get settings 0 value)"

finish
