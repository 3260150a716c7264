#!/bin/bash
# scripts/stack stages swtpm, tpm2d, scd and cmld: start prints cmld's
# socket once all four run (swtpm on a Unix socket in the stack directory,
# never a TCP port; tpm2d on it with the system key unsealed; scd with the
# platform secret from it), status names each, stop ends all four, cmld
# first; a cmld that died is started again next to the scd, tpm2d and
# swtpm that still run; a tpm2d that cannot start fails the start and
# leaves nothing running (no swtpm); CML_STACK_NO_SCD=1 leaves scd out;
# CML_STACK_NO_TPM2D=1 starts cmld alone.
# Proves: none (the staging of the stack, for tests and the demo).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog swtpm python3
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] || skip "no tpm2d: build first"

# Prints the pids of processes whose command line mentions the stack
# directory, as "NAME PID" lines, sorted.
procs() {
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		case "$cmd" in
		*"$STACK_DIR/"* | *"$STACK_DIR "*)
			[ "$(awk '{ print $3 }' "$p/stat" 2>/dev/null)" = Z ] && continue
			echo "$(cat "$p/comm") ${p#/proc/}"
			;;
		esac
	done | sort
}

stack_start
out=$("$STACK" status "$STACK_DIR")
rc=$?
expect_status "status: cmld runs" 0 $rc
expect_lines "status names swtpm, tpm2d, scd and cmld with their sockets" "$out" \
    "^swtpm runs \(pid [0-9]+\), socket $(re_quote "$STACK_DIR")/run/swtpm/swtpm\.sock$" \
    "^tpm2d runs \(pid [0-9]+\), socket $(re_quote "$TPM2D_SOCK")$" \
    "^scd runs \(pid [0-9]+\), socket $(re_quote "$STACK_DIR")/run/cml/scd\.sock$" \
    "^cmld runs \(pid [0-9]+\), socket $(re_quote "$SOCK")$"
expect_eq "four processes run for the stack" "cmld scd swtpm tpm2d" \
    "$(procs | awk '{ print $1 }' | sort | xargs)"
swtpm=$(head -n 1 "$STACK_DIR/run/swtpm/swtpm.pid")
expect_eq "swtpm listens on no TCP port" "" \
    "$(for l in /proc/"$swtpm"/fd/*; do readlink "$l"; done | grep -o 'socket:\[[0-9]*\]' |
        tr -dc '0-9\n' | while read -r ino; do grep -h " $ino " /proc/net/tcp /proc/net/tcp6 2>/dev/null; done)"
expect_eq "tpm2d serves on the swtpm with the system key unsealed" \
    "swtpm:path=$STACK_DIR/run/swtpm/swtpm.sock unsealed [16, 23]" \
    "$(tpm2d_call org.cml.TPM.Status | python3 -c 'import json, sys
p = json.load(sys.stdin)["parameters"]
print(p["tcti"], p["system_key"], p["seal_pcrs"])')"
expect_eq "the swtpm state is in the stack directory" yes \
    "$([ -n "$(ls -A "$STACK_DIR/var/lib/swtpm" 2>/dev/null)" ] && echo yes || echo no)"

expect_eq "scd has the platform secret from tpm2d" present \
    "$(varlink_run "$STACK_DIR/run/cml/scd.sock" call org.cml.SCD.Status | json_get parameters platform_secret)"

# cmld dies: the next start keeps scd, tpm2d and swtpm
tpm2d=$(tpm2d_pid)
scd=$(head -n 1 "$STACK_DIR/run/cml/scd.pid")
pid=$(cmld_pid) || fail "no cmld"
kill -KILL "$pid"
for ((i = 0; i < 50; i++)); do
	cmld_pid >/dev/null || break
	sleep 0.1
done
STACK_RUNNING=0
out=$("$STACK" start "$STACK_DIR" 2>"$SCRATCH/err")
rc=$?
expect_status "start after cmld died" 0 $rc
STACK_RUNNING=1
expect_eq "start after cmld died: prints the socket" "$SOCK" "$out"
expect_eq "start after cmld died: the same tpm2d" "$tpm2d" "$(tpm2d_pid)"
expect_eq "start after cmld died: the same scd" "$scd" "$(head -n 1 "$STACK_DIR/run/cml/scd.pid")"
expect_eq "start after cmld died: the same swtpm" "$swtpm" "$(head -n 1 "$STACK_DIR/run/swtpm/swtpm.pid")"

# stop ends all four
"$STACK" stop "$STACK_DIR" >/dev/null
rc=$?
STACK_RUNNING=0
expect_status "stop" 0 $rc
expect_eq "after stop nothing of the stack runs" "" "$(procs)"
out=$("$STACK" status "$STACK_DIR")
rc=$?
expect_status "status after stop" 3 $rc
expect_lines "status says none runs" "$out" '^swtpm does not run' '^tpm2d does not run' \
    '^scd does not run' '^cmld does not run'

# tpm2d cannot start: the start fails and leaves nothing
out=$(TPM2D_SEAL_PCRS=99 "$STACK" start "$STACK_DIR" 2>"$SCRATCH/err")
rc=$?
expect_status "start with a tpm2d that cannot start fails" 1 $rc
expect_eq "... prints no socket" "" "$out"
expect_match "... and says tpm2d exited, with its log" \
    'stack: tpm2d exited before it was ready.*--seal-pcrs' "$(tr '\n' ' ' <"$SCRATCH/err")"
expect_eq "... and leaves nothing running (no swtpm)" "" "$(procs)"

# no scd
out=$(CML_STACK_NO_SCD=1 "$STACK" start "$STACK_DIR" 2>"$SCRATCH/err")
rc=$?
expect_status "CML_STACK_NO_SCD=1: start" 0 $rc
STACK_RUNNING=1
expect_eq "CML_STACK_NO_SCD=1: no scd" "cmld swtpm tpm2d" "$(procs | awk '{ print $1 }' | sort | xargs)"
stack_stop
expect_eq "after stop nothing of the stack runs" "" "$(procs)"

# cmld alone
out=$(CML_STACK_NO_TPM2D=1 "$STACK" start "$STACK_DIR" 2>"$SCRATCH/err")
rc=$?
expect_status "CML_STACK_NO_TPM2D=1: start" 0 $rc
STACK_RUNNING=1
expect_eq "CML_STACK_NO_TPM2D=1: cmld alone" "cmld" "$(procs | awk '{ print $1 }' | xargs)"
stack_stop
expect_eq "after stop nothing of the stack runs" "" "$(procs)"

# and the whole stack again on the same directory: the same key unseals
stack_start
expect_eq "a later start unseals the same system key" unsealed \
    "$(tpm2d_call org.cml.TPM.Status | json_get parameters system_key)"
stack_stop
expect_eq "stopped again: nothing runs" "" "$(procs)"

finish
