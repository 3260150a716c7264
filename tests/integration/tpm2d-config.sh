#!/bin/bash
# tpm2d's options and its configuration file (ROOT/etc/cml/tpm2d.conf):
# the file gives tcti, seal_pcrs, measure_pcr and log_level, the command
# line wins over it, Status shows what applies; an unknown key, a key given
# twice, a line that is no "key = value", a bad PCR list or PCR number, a
# measurement PCR that locality 0 cannot extend and an unknown log level
# are refused with exit 2 and the file and line named;
# the usage is refused likewise; a TPM that cannot be reached ends tpm2d with
# exit 1 and the TCTI's error in words.
# Proves: none (configuration of tpm2d).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm python3
tpm2d=$CML_BUILDDIR/daemon/tpm2d/tpm2d
[ -x "$tpm2d" ] || skip "no tpm2d: build first"
make_scratch
swtpm_start "$SCRATCH/tpm"
conf=$STACK_DIR/etc/cml/tpm2d.conf
mkdir -p "$STACK_DIR/etc/cml"

status() {
	tpm2d_call org.cml.TPM.Status | python3 -c 'import json, sys
p = json.load(sys.stdin)["parameters"]
print(p["tcti"], p["seal_pcrs"], p["measure_pcr"])'
}

# --- the file gives what the command line does not ----------------------------
cat >"$conf" <<EOF
# tpm2d's configuration
tcti = $SWTPM_TCTI
  seal_pcrs=16,23
measure_pcr = 23

log_level = debug
EOF
# tpm2d_up passes --tcti; start it here without
exec 3< <(exec "$tpm2d" --root "$STACK_DIR" --foreground --ready-fd 4 4>&1 \
    >>"$SCRATCH/tpm2d.out" 2>&1 </dev/null)
TPM2D_PID=$!
track_pid "$TPM2D_PID"
IFS= read -r -t 20 -u 3 line
exec 3<&-
[ "$line" = READY=1 ] || { cat "$SCRATCH/tpm2d.out" >&2; fail "tpm2d did not start from its configuration file"; }
expect_eq "the file's tcti, seal_pcrs and measure_pcr apply" "$SWTPM_TCTI [16, 23] 23" "$(status)"
expect_match "the file's log_level applies" 'tpm2d: serving .*, log level debug\)' "$(cat "$SCRATCH/tpm2d.out")"
tpm2d_down

# --- the command line wins ---------------------------------------------------------
tpm2d_up --measure-pcr 13 || fail "tpm2d did not start"
expect_eq "--measure-pcr wins over measure_pcr" "$SWTPM_TCTI [16, 23] 13" "$(status)"
tpm2d_down

# --- refusals ------------------------------------------------------------------------
refused() {
	local desc=$1 text=$2 want=$3 out rc
	shift 3
	printf '%s\n' "$text" >"$conf"
	out=$("$tpm2d" --root "$STACK_DIR" --foreground "$@" 2>&1 </dev/null)
	rc=$?
	expect_status "$desc: refused" 2 $rc
	expect_match "$desc: says why" "$want" "$out"
}
refused "unknown key" "tcti = $SWTPM_TCTI"$'\n'"color = blue" \
    "^tpm2d: $(re_quote "$conf"):2: unknown key 'color': use tcti, seal_pcrs, measure_pcr, log_level, state_volume or state_mount$"
refused "key twice" "measure_pcr = 13"$'\n'"measure_pcr = 14" \
    "^tpm2d: $(re_quote "$conf"):2: 'measure_pcr' is given twice$"
refused "no key = value" "tcti" "^tpm2d: $(re_quote "$conf"):1: not 'key = value'$"
refused "empty value" "seal_pcrs =" "^tpm2d: $(re_quote "$conf"):1: 'seal_pcrs' has no value$"
refused "bad PCR list" "seal_pcrs = 16,24" \
    "^tpm2d: --seal-pcrs \(seal_pcrs\): '16,24' is no list of PCRs from 0 to 23"
refused "bad PCR list on the command line" "" \
    "^tpm2d: --seal-pcrs \(seal_pcrs\): '1,,2' is no list of PCRs" --seal-pcrs 1,,2
refused "bad measure PCR" "measure_pcr = x" \
    "^tpm2d: --measure-pcr \(measure_pcr\) needs a PCR from 0 to 23, not 'x'$"
refused "a dynamic launch PCR to measure into" "measure_pcr = 17" \
    "^tpm2d: --measure-pcr \(measure_pcr\) 17 is a dynamic launch PCR, which cannot be extended at locality 0"
refused "bad log level" "log_level = loud" "^tpm2d: unknown log level 'loud'"
refused "a relative root" "" "^tpm2d: --root needs an absolute path" --root rel
refused "an argument" "" "^usage: tpm2d" extra
rm -f "$conf"

# --- no TPM at the TCTI ---------------------------------------------------------------
out=$("$tpm2d" --root "$STACK_DIR" --foreground --tcti "swtpm:path=$SCRATCH/none" 2>&1 </dev/null)
rc=$?
expect_status "no TPM at the TCTI: exit 1" 1 $rc
expect_match "no TPM at the TCTI: the error in words" \
    "tpm2d: cannot open the TCTI 'swtpm:path=$(re_quote "$SCRATCH")/none': input/output error talking to the TPM \(TCTI_IO_ERROR, 0xa000a\)" "$out"
expect_eq "no TPM at the TCTI: no library noise on stderr" "" \
    "$(grep -E '^(ERROR|WARNING):' <<<"$out")"

finish
