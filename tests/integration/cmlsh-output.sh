#!/bin/bash
# Output a person reads: sizes in binary units (exact bytes with --json),
# "-" for a pid when there is no process (0 with --json), a container's
# config as indented JSON (the same object --json gives), trust anchor
# fingerprints shortened to 16 hex digits in the list (whole in --json and
# in what names one anchor), and help longer than the terminal paged
# through $PAGER when stdout is a terminal (not when it is short, not into
# a pipe).
# Proves: none (how replies are shown).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog expect
ct_setup

name=$(ct_name out)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"},"cml":{"storage":{"volume":{"size_mb":16,"mount":"/data"}}}}'

# Bytes as format_bytes in client/format.c shows them.
human() {
	python3 -c 'import sys
n = int(sys.argv[1])
if n < 1024:
    print("%d B" % n); sys.exit()
units, div, u = ["KiB", "MiB", "GiB", "TiB", "PiB"], 1024, 0
while u + 1 < len(units) and n // div >= 1024:
    div *= 1024; u += 1
if n % div == 0:
    print("%d %s" % (n // div, units[u]))
else:
    v = n / div
    print(("%.1f %s" if v < 10 else "%.0f %s") % (v, units[u]))' "$1"
}

# sizes
bytes=$(cmlsh_run --json guestos list | json_get guestos 0 size)
expect_match "guestos list --json: the size in bytes" '^[0-9]+$' "$bytes"
h=$(human "$bytes")
expect_match "the size in binary units" '^[0-9.]+ (B|KiB|MiB)$' "$h"
expect_lines "guestos list: the size in binary units" "$(cmlsh_run guestos list)" \
    '^NAME +VERSION +SIGNER +IMAGES +SIZE +INSTALLED$' \
    "^busybox +1\\.0 +CN=cml software signer,O=cml +1 +$(re_quote "$h") +[-0-9T:.]+Z\$"
expect_eq "container show --json: the volume's size in bytes" 16777216 \
    "$(cmlsh_run --json container show "$name" | json_get volume_size)"
expect_eq "container show: the volume's size in MiB" "volume size:    16 MiB" \
    "$(cmlsh_run container show "$name" | grep '^volume size:')"

# a pid with no process
expect_lines "container list: no pid for a stopped container" \
    "$(cmlsh_run container list | grep -e '^NAME' -e "^$name ")" \
    '^NAME +STATE +GUESTOS +VERSION +PID +REASON$' \
    "^$name +stopped +busybox +- +- +-\$"
expect_eq "container show: pid -" "pid:            -" \
    "$(cmlsh_run container show "$name" | grep '^pid:')"
expect_eq "container show --json: pid 0" 0 "$(cmlsh_run --json container show "$name" | json_get pid)"

# the config as indented JSON, the same object as --json's
out=$(cmlsh_run container config "$name")
expect_match "container config: indented JSON under its key" \
    $'^config: \\{\n +"name": "'"$name"$'",\n +"guestos": \\{\n' "$out"
expect_eq "container config: the object --json gives" same "$(python3 -c '
import json, sys
text, js = sys.argv[1], json.loads(sys.argv[2])
lines = text.split("\n")
block = []
for l in lines:
    if l.startswith("signer:"):
        break
    block.append(l[len("config: "):] if l.startswith("config: ") else l)
print("same" if json.loads("\n".join(block)) == js["config"] else "differs")' \
    "$out" "$(cmlsh_run --json container config "$name")")"

# fingerprints: short in the list, whole in --json and where one is named
fp=$(cmlsh_run --json ca list | json_get anchors 0 fingerprint)
expect_match "ca list --json: the whole fingerprint" '^[0-9a-f]{64}$' "$fp"
expect_match "ca list: 16 hex digits and an ellipsis" \
    $'\n'"${fp:0:16}"$'\u2026  +CN=cml root CA' "$(cmlsh_run ca list)"

# help: paged when longer than the terminal, else not; never into a pipe
cat >"$SCRATCH/pager" <<'PAGER'
#!/bin/sh
sed 's/^/PAGED:/'
PAGER
chmod +x "$SCRATCH/pager"
printf 'set enable-bracketed-paste off\n' >"$SCRATCH/inputrc"
cat >"$SCRATCH/page.exp" <<'EXP'
set timeout 10
set stty_init "rows 10 columns 100"
proc fail {what} {
	puts "\nEXPECT-FAIL: $what"
	exit 3
}
spawn $env(CMLSH) --socket $env(SOCK)
expect "cml> "
send "help\r"
expect {
	"PAGED:device - the device" {}
	"\ndevice - the device" { fail "long help not paged" }
	timeout { fail "long help: nothing (timeout)" }
}
expect "cml> "
send "help quit\r"
expect {
	"PAGED:" { fail "short help paged" }
	"\nusage: quit" {}
	timeout { fail "short help: nothing (timeout)" }
}
expect "cml> "
send "quit\r"
expect eof
set result [wait]
exit [lindex $result 3]
EXP
export CMLSH SOCK
PAGER=$SCRATCH/pager INPUTRC=$SCRATCH/inputrc TERM=dumb HOME=$SCRATCH \
    expect -f "$SCRATCH/page.exp" >"$SCRATCH/page.log" 2>&1
rc=$?
expect_status "help paged on a terminal when longer than it" 0 $rc
[ $rc = 0 ] || cat "$SCRATCH/page.log" >&2
expect_eq "help into a pipe: not paged" 0 \
    "$(PAGER=$SCRATCH/pager cmlsh_run -c help | grep -c PAGED)"

finish
