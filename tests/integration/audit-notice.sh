#!/bin/bash
# An unseal refused for a changed PCR is an integrity violation that
# connected clients hear of at once: with a client following the trail's
# notices (`audit follow --notices`), tpm2d is killed, a sealed PCR (23)
# is extended behind its back on the same swtpm, and tpm2d started again;
# its refused unseal reaches cmld's trail (result refused) and the
# follower is told of it, naming the record, without asking.
# Proves: CR 3.4(2) (automated notification of integrity violations: an
# unseal refused for changed PCRs), TSF.AUDIT.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3 tpm2_pcrextend swtpm
stack_start

tpm2d_pid() {
	local pid
	pid=$(head -n 1 "$STACK_DIR/run/cml/tpm2d.pid" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}
tpid=$(tpm2d_pid) || fail "cannot find the stack's tpm2d"

"$CMLSH" --socket "$SOCK" audit follow --notices >"$SCRATCH/notices" 2>&1 &
follower=$!
track_pid "$follower"
sleep 0.5

# tpm2d away; PCR 23 changed on its swtpm; tpm2d back
mapfile -d '' TPM2D_ARGV < <(cat "/proc/$tpid/cmdline")
kill -KILL "$tpid"
for ((i = 0; i < 100; i++)); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.05
done
TPM2TOOLS_TCTI="swtpm:path=$STACK_DIR/run/swtpm/swtpm.sock" \
    tpm2_pcrextend "23:sha256=$(printf 'changed' | sha256sum | cut -d' ' -f1)" \
    >"$SCRATCH/extend.out" 2>&1 || { cat "$SCRATCH/extend.out" >&2; fail "tpm2_pcrextend failed"; }
exec 5< <(exec "${TPM2D_ARGV[@]}" 4>&1 >>"$STACK_DIR/log/tpm2d.log" 2>&1 </dev/null)
IFS= read -r -t 10 -u 5 line
exec 5<&-
expect_eq "tpm2d started again" "READY=1" "$line"

rec=
for ((i = 0; i < 100; i++)); do
	rec=$(cmlsh_run --json audit list --type tpm2d --result refused --last 1 |
	    python3 -c 'import json, sys
r = json.load(sys.stdin)["records"]
print("%d %s" % (r[0]["seq"], r[0]["details"]) if r else "")')
	[ -n "$rec" ] && break
	sleep 0.1
done
expect_match "the refused unseal is in the trail" "^[0-9]+ #[0-9]+ syskey: " "$rec"
seq=${rec%% *}
for ((i = 0; i < 50; i++)); do
	grep -q "record #$seq)" "$SCRATCH/notices" && break
	sleep 0.1
done
expect_match "the follower was told at once, naming the record" \
    "^\\*\\*\\* audit integrity \\(record #$seq\\): tpm2d: system key: " \
    "$(grep "record #$seq)" "$SCRATCH/notices")"

finish
