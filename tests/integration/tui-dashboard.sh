#!/bin/bash
# cmltui's dashboard, driven through tmux against a real stack: it shows
# the device, its stages, the audit trail, the guest OS and a running and
# a stopped container with their states (and the running one's uptime,
# CPU and memory); a pushed notice (the trail crossing its warning
# threshold) appears at once as a banner; resized from 120x40 to 80x24
# every panel stays readable and no line runs past the edge; NO_COLOR and
# a monochrome vt100 render without colours (line drawing from the
# terminal's set, ASCII bars), UTF-8 with colours otherwise; cmld killed
# and started again: cmltui says it is unreachable, then reconnects by
# itself and shows the containers again; its options are checked, and it
# refuses to run without a terminal.  Reference screens
# (tests/integration/tui-screens/) are compared with figures that change
# from run to run masked.
# Proves: CR 6.1 (the audit trail's state in the console), CR 3.4(2) (a
# notice pushed to the console at once), CR 2.9(1) (the trail's capacity
# against its thresholds shown), CR 7.2 (each container's CPU and memory
# use in the console)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tui-lib.sh"

need_prog tmux

# --- the command line ------------------------------------------------------------
out=$("$CMLTUI" --help 2>&1)
expect_status "--help" 0 $?
expect_match "--help names the options" 'usage: cmltui \[--socket PATH\] \[--interval MS\] \[--no-color\] \[--ascii\]' "$out"
out=$("$CMLTUI" --interval 5 2>&1)
expect_status "--interval out of range: a usage error" 2 $?
expect_match "it says the range" 'cmltui: --interval: 5: not a number of milliseconds in 200\.\.60000' "$out"
out=$("$CMLTUI" --bogus 2>&1)
expect_status "an unknown option: a usage error" 2 $?
out=$("$CMLTUI" </dev/null 2>&1)
expect_status "no terminal: fails" 1 $?
expect_match "and says to use cmlsh" 'cmltui: needs a terminal \(use cmlsh for scripts\)' "$out"

ct_setup
run=$(ct_name dash-run)
idle=$(ct_name dash-idle)
ct_create "$run" '{"name":"'"$run"'","guestos":{"name":"busybox"}}'
ct_create "$idle" '{"name":"'"$idle"'","guestos":{"name":"busybox"}}'
ct_start "$run"
SCREENS=$CML_SRCDIR/tests/integration/tui-screens

# The screen with what changes from run to run masked: the containers'
# names, uuids, figures with their units, the bars and sparklines.
masked() {
	tui_screen | sed -E \
	    -e "s/$run/RUN/g; s/$idle/IDLE/g" \
	    -e 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/UUID/g' \
	    -e 's/\b[0-9]+(\.[0-9]+)*( ?(B|KiB|MiB|GiB)\b|%|s\b|m\b|h\b|d\b)?/N/g' \
	    -e 's/N( N)+/N/g' \
	    -e 's/\[[^]]*\]/[BAR]/g' \
	    -e 's/[·█▏▎▍▌▋▊▉]{3,}/BAR/g; s/[#.]{4,}/BAR/g' \
	    -e 's/(N +)[▁▂▃▄▅▆▇█_.:=+*#-]+ /\1SPARK /g' \
	    -e 's/ {2,}/  /g; s/ +$//'
}

# Compares the masked screen with a reference: screen_is NAME
screen_is() {
	local want=$SCREENS/$1.txt got
	got=$(masked)
	if [ "${CML_UPDATE_SCREENS:-0}" = 1 ]; then
		printf '%s\n' "$got" >"$want"
	fi
	expect_eq "the screen $1 is the reference's" "$(cat "$want")" "$got"
}

# Every line of the screen fits its width: no_overflow COLS
no_overflow() {
	local long
	long=$(tui_screen | python3 -c 'import sys
for line in sys.stdin.buffer.read().decode("utf-8", "replace").splitlines():
    if len(line) > int(sys.argv[1]):
        print(line)' "$1")
	expect_eq "no line is wider than $1 columns" "" "$long"
}

# --- 120x40, colours, UTF-8 -------------------------------------------------
tui_start 120 40 -- --interval 500
tui_expect "the dashboard shows the device's stages" 'Stages +tpm2d ready +scd ready +cmld ready'
tui_expect "the running container, running" "[ >]$run +running +busybox 1\.0"
tui_expect "the other one, stopped" "[ >]$idle +stopped +busybox"
tui_expect "the guest OS" 'Guest OSes +busybox 1\.0'
tui_expect "the audit trail against its capacity" 'Audit +\[.*\] [0-9.]+ KiB of [0-9.]+ MiB +ok +[0-9]+ records'
tui_expect "the running container's uptime, CPU and memory" "[ >]$run +running +busybox 1\.0 +[0-9]+s +[0-9]+% *[▁▂▃▄▅▆▇█]+ +[0-9.]+ (KiB|MiB)"
tui_expect "the keys on the help line" 'Enter open +s start +x stop .*F1 help'
colours=$(_tui_tmux capture-pane -e -p -t "$TUI_TARGET" | grep -c $'\e\\[[0-9;]*3[0-7][;m]')
expect_match "colours are used on a colour terminal ($colours lines)" '^[1-9]' "$colours"
no_overflow 120

# a pushed notice: the trail crosses its warning threshold
cmlsh_run -c 'device config set audit_warn_percent 50' >/dev/null || fail "audit_warn_percent"
cmlsh_run -c 'device config set audit_critical_percent 90' >/dev/null || fail "audit_critical_percent"
cmlsh_run -c 'device config set audit_capacity 131072' >/dev/null || fail "audit_capacity"
for ((n = 0; n < 400; n++)); do
	[ "$(cmlsh_run --json -c 'audit status' | json_get level)" = ok ] || break
	cmlsh_run -c "device config set device_name d$n" >/dev/null 2>&1 || break
done
tui_expect "the warning arrives as a banner at once" 'ALERT|NOTICE'
tui_expect "the banner names the record" 'audit warning \(record #[0-9]+\): the audit trail is [0-9]+% full'
tui_keys Down
tui_wait_gone 'audit warning \(record' 5
tui_expect_not "a key dismisses the banner" 'audit warning \(record'
tui_expect "the trail's level on the dashboard" 'Audit +\[.*\] .* warning '
cmlsh_run -c 'device config set audit_capacity 67108864' >/dev/null || fail "audit_capacity"
cmlsh_run -c 'device config set device_name cml' >/dev/null || fail "device_name"

# --- resize to 80x24 ----------------------------------------------------------
tui_resize 80 24
tui_wait_gone '.{81}' 5
no_overflow 80
tui_expect "80x24: the device" '^ Device +cml +uuid'
tui_expect "80x24: the stages" '^ Stages +tpm2d ready +scd ready +cmld ready'
tui_expect "80x24: the identity" '^ Identity +certificate'
tui_expect "80x24: the audit trail" '^ Audit +\['
tui_expect "80x24: the guest OSes" '^ Guest OSes +busybox 1\.0'
tui_expect "80x24: the containers' header" 'NAME +STATE +GUEST OS +UPTIME +CPU +MEMORY'
tui_expect "80x24: the running container" "[ >]$run +running +busybox 1\.0 +[0-9]"
tui_expect "80x24: the help line" '^ Enter open .*F1 help +F10 quit'
sleep 1.2
screen_is dashboard-80x24
tui_end
expect_eq "F10 quits with status 0" 0 "$trc"

# --- NO_COLOR ------------------------------------------------------------------
tui_start 80 24 NO_COLOR=1
tui_expect "NO_COLOR: the dashboard renders" "[ >]$run +running"
colours=$(_tui_tmux capture-pane -e -p -t "$TUI_TARGET" | grep -c $'\e\\[[0-9;]*3[0-7][;m]')
expect_eq "NO_COLOR: no colour at all" 0 "$colours"
attrs=$(_tui_tmux capture-pane -e -p -t "$TUI_TARGET" | grep -c $'\e\\[[0-9;]*7[;m]')
expect_match "NO_COLOR: the title and help lines in reverse video" '^[1-9]' "$attrs"
tui_end

# --- a vt100 on a serial console ----------------------------------------------------
tui_start 80 24 TERM=vt100 LANG=C
tui_expect "vt100: the dashboard renders" "[ >]$run +running +busybox"
tui_expect "vt100: ASCII bars" 'Audit +\[[#.]+\]'
sleep 1.2
screen_is dashboard-vt100
utf8=$(tui_screen | python3 -c 'import sys
print(sum(1 for c in sys.stdin.buffer.read().decode("utf-8", "replace") if 0x2500 <= ord(c) <= 0x25ff))')
expect_eq "vt100: no Unicode line drawing or blocks" 0 "$utf8"
colours=$(_tui_tmux capture-pane -e -p -t "$TUI_TARGET" | grep -c $'\e\\[[0-9;]*3[0-7][;m]')
expect_eq "vt100: no colour (the terminal has none)" 0 "$colours"
tui_keys q
tui_wait '^cmltui-exit=0' 5
tui_expect "q on the dashboard quits" '^cmltui-exit=0'
tui_end

# --- --ascii on a UTF-8 terminal --------------------------------------------------------
tui_start 80 24 -- --ascii
tui_expect "--ascii: the dashboard renders" "[ >]$run +running"
tui_expect "--ascii: the containers' rule in ASCII" '^--Containers \([0-9]+\)---'
tui_end

# --- cmld restarted -----------------------------------------------------------------
tui_start 80 24 -- --interval 500
tui_expect "before: the dashboard" "[ >]$run +running"
cmld_kill9
tui_expect "cmld gone: the title says so" 'cmld unreachable'
CMLD_CGROUP_PARENT=$CT_CGROUP_PARENT "$STACK" start "$STACK_DIR" >/dev/null ||
    fail "cmld did not start again"
tui_wait_gone 'cmld unreachable' 15
tui_expect_not "cmld back: reconnected by itself" 'cmld unreachable'
tui_expect "and the containers are shown again" "[ >]$idle +stopped"
tui_keys F1
tui_expect "and it takes keys" 'Every screen names its own keys'
tui_end
expect_eq "cmltui ends with status 0 after the reconnect" 0 "$trc"

finish
