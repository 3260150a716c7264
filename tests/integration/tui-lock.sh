#!/bin/bash
# cmltui's screen lock, driven through tmux against a real stack with
# session_idle_timeout set to 2 s through cmlsh: keys pressed each second
# keep the session open beyond the timeout; without keys the screen locks
# and nothing of the dashboard shows (no container, no uuid, no stages);
# PAM (the service file dist/pam.d/cmltui, installed for the test when the
# host has none) checks the name and password typed: a wrong password and
# an unknown user get the same words, with a wait during which keys are
# dropped; a valid user who is neither the session's owner nor an
# administrator is told that he may not unlock; an administrator (group
# cml-admin) unlocks a session of root, and the dashboard is back; the
# operator's lock key locks at once, and SIGTERM ends a locked session.
# As an unprivileged operator (group cml, vt100 without colours) only the
# owner's own password unlocks (PAM's unix_chkpwd checks no other); a
# resize while locked keeps the lock and lays the dashboard out anew.  No
# password typed shows on the screen or is stored anywhere in the stack's
# directory (cmld's log, the audit trail).  cmld records each lock, unlock
# and failed unlock (type session, cmltui's process as the subject), naming
# the account where the name typed is one.  Over SSH (SSH_CONNECTION set)
# an idle session ends instead (locked by the key or not), saying so, with
# status 1, and cmld records the end.  With cmld stopped (SIGSTOP) the lock key still locks at once,
# and an idle session still locks (the dashboard's calls give up).
# Proves: CR 2.5 (the session locks after the device's idle time and stays
# locked until the owner or an authorised user authenticates), CR 2.6 (an
# idle remote session is terminated, and the end audited), CR 2.8 (locks,
# unlocks and failed unlocks audited with who), CR 1.1
# (the user who unlocks is identified and authenticated by PAM), CR 1.10
# (one message for a wrong password and an unknown user; the password is
# never shown), CR 2.1 (an authenticated user without the right is refused)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tui-lib.sh"

need_prog tmux useradd userdel chpasswd setpriv getent pgrep
ct_setup
ensure_groups
ct=$(ct_name lock)
ct_create "$ct" '{"name":"'"$ct"'","guestos":{"name":"busybox"}}'
uuid=$(cmlsh_run --json -c 'device status' | json_get uuid)

PAM_FILE=/etc/pam.d/cmltui
PAM_SAVED=
PAM_INSTALLED=0
TEST_USERS=()

# Removes the test's users and puts the host's PAM file back.
lock_cleanup() {
	local u
	for u in "${TEST_USERS[@]}"; do
		userdel "$u" 2>/dev/null
	done
	if [ -n "$PAM_SAVED" ]; then
		cp -p "$PAM_SAVED" "$PAM_FILE"
	elif [ "$PAM_INSTALLED" = 1 ]; then
		rm -f "$PAM_FILE"
	fi
}
trap 'st=$?; lock_cleanup; (exit $st); ct_exit' EXIT

# The PAM service cmltui uses (fixed: an environment must not choose it).
if ! cmp -s "$CML_SRCDIR/dist/pam.d/cmltui" "$PAM_FILE"; then
	if [ -e "$PAM_FILE" ]; then
		PAM_SAVED=$SCRATCH/pam.cmltui.host
		cp -p "$PAM_FILE" "$PAM_SAVED" || fail "cannot save $PAM_FILE"
	fi
	PAM_INSTALLED=1
	install -m 644 "$CML_SRCDIR/dist/pam.d/cmltui" "$PAM_FILE" ||
	    fail "cannot install $PAM_FILE"
fi

# A random password of letters and digits.
new_password() {
	tr -dc 'A-Za-z0-9' </dev/urandom | head -c 20
}

# Creates a user without home and login shell with a random password in
# PW_<var>: add_user VAR NAME [GROUP]
add_user() {
	local pw
	pw=$(new_password)
	useradd -M -s /usr/sbin/nologin ${3:+-G "$3"} "$2" ||
	    fail "useradd $2 failed"
	TEST_USERS+=("$2")
	echo "$2:$pw" | chpasswd || fail "chpasswd $2 failed"
	printf -v "$1" '%s' "$pw"
}
OWNER=cmltui-own-$$
OTHER=cmltui-oth-$$
ADMIN=cmltui-adm-$$
add_user PW_OWNER "$OWNER" cml
add_user PW_OTHER "$OTHER"
add_user PW_ADMIN "$ADMIN" cml-admin
PW_WRONG=wrong$(new_password)
PASSWORDS=("$PW_OWNER" "$PW_OTHER" "$PW_ADMIN" "$PW_WRONG")

# A check: no password typed shows on the screen (now, or as captured
# before): no_password WHEN [SCREEN]
no_password() {
	local p screen bad=0
	screen=${2-$(tui_screen)}
	for p in "${PASSWORDS[@]}"; do
		case $screen in *"$p"*) bad=1 ;; esac
	done
	expect_eq "no password on the screen ($1)" 0 "$bad"
}

# A check: a screen captured before does not match ERE:
# screen_lacks TEXT ERE SCREEN
screen_lacks() {
	CHECKS=$((CHECKS + 1))
	if grep -E -q -- "$2" <<<"$3"; then
		_check_failed "$1" "the screen matched /$2/"
		printf '%s\n' "--- screen ---" "$3" "--------------" >&2
	else
		_check_passed "$1"
	fi
}

# Types into the lock screen's fields (the user field cleared first) and
# unlocks: unlock USER PASSWORD
unlock() {
	tui_keys Up C-u
	tui_type "$1"
	tui_keys Enter
	tui_type "$2"
	no_password "typed, before Enter"
	tui_keys Enter
}

# Waits until the wait after a failure is over.
wait_over() {
	tui_wait '\(wait [0-9]+ s\)' 3
	tui_wait_gone '\(wait [0-9]+ s\)' 40 ||
	    _check_failed "the wait after a failure ends" "still waiting"
}

# The lines from the outcome of the last try down to the box's end.
outcome() {
	tui_screen | sed -n '/unlock failed/,$p' | sed -E 's/ +$//'
}

# The session records cmltui made as uid $1, one line each: "OBJECT
# RESULT DETAILS".
session_records() {
	cmlsh_run --json -c 'audit list --type session' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["comm"] == "cmltui" and r["uid"] == int(sys.argv[1]):
        print(r["object"], r["result"], r["details"])' "$1"
}

# A check: the lines of $3 hold the lines of $2 in this order (others may
# come between): in_order TEXT EXPECTED GOT
in_order() {
	local missing
	missing=$(python3 -c '
import sys
want = sys.argv[1].splitlines()
got = sys.argv[2].splitlines()
i = 0
for line in got:
    if i < len(want) and line == want[i]:
        i += 1
print(want[i] if i < len(want) else "")' "$2" "$3")
	CHECKS=$((CHECKS + 1))
	if [ -z "$missing" ]; then
		_check_passed "$1"
	else
		_check_failed "$1" "not found in order: $missing"
		printf '%s\n' "--- got ---" "$3" "-----------" >&2
	fi
}

# cmltui's pid (the child of the shell in the tmux pane).
cmltui_pid() {
	local pane
	pane=$(_tui_tmux display-message -p -t "$TUI_TARGET" '#{pane_pid}')
	pgrep -P "$pane" -x cmltui
}

cmlsh_run -c 'device config set session_idle_timeout 2' >/dev/null ||
    fail "device config set session_idle_timeout 2 failed"

# --- root's session, 80x24 ------------------------------------------------
tui_start 80 24
# keys each second keep it open for three times the timeout, the
# dashboard's content in sight
locked=0 seen_ct=0 seen_uuid=0
for ((i = 0; i < 6; i++)); do
	tui_keys Down
	sleep 1
	screen=$(tui_screen)
	case $screen in *"cmltui locked"*) locked=1 ;; esac
	case $screen in *"$ct"*) seen_ct=1 ;; esac
	case $screen in *"$uuid"*) seen_uuid=1 ;; esac
done
expect_eq "keys each second keep the session unlocked for 6 s" 0 "$locked"
expect_eq "the dashboard showed the container" 1 "$seen_ct"
expect_eq "the dashboard showed the device's uuid" 1 "$seen_uuid"

tui_expect "idle for 2 s, the screen locks" 'cmltui locked \(idle 2 s\)'
tui_expect_not "locked: no container shows" "$ct"
tui_expect_not "locked: no uuid shows" "$uuid"
tui_expect_not "locked: no stage shows" 'Stages|tpm2d|Containers|Audit'
tui_expect "locked: whose session it is" 'session of root'
tui_expect "locked: asks for the user" 'User:'
tui_expect "locked: asks for the password" 'Password:'

# a wrong password
unlock "$ADMIN" "$PW_WRONG"
tui_expect "a wrong password: unlock failed" 'unlock failed'
tui_expect "a wrong password: still locked" 'cmltui locked'
no_password "after a wrong password"
# typed during the wait: Tab would go to the user field, the rest into it
tui_keys Tab
tui_type "dropped$$"
wait_over
tui_expect_not "keys typed during the wait are dropped" "dropped$$"
failed_wrong=$(outcome)

# an unknown user: the same words
unlock "cmltui-none-$$" "$PW_WRONG"
tui_expect "an unknown user: unlock failed" 'unlock failed \(wait'
wait_over
expect_eq "an unknown user and a wrong password look the same" \
    "$failed_wrong" "$(outcome)"
tui_expect "the second failure in a row: still locked" 'cmltui locked'

# a valid user without the right
unlock "$OTHER" "$PW_OTHER"
tui_expect "a user neither owner nor admin is refused" \
    "$OTHER may not unlock this session"
tui_expect_not "refused: no container shows" "$ct"
no_password "refused"
wait_over

# an administrator unlocks (2 s idle lock it again: the screen unlocked is
# kept at once and checked after the next key)
unlock "$ADMIN" "$PW_ADMIN"
tui_expect "an administrator unlocks: the dashboard is back" "$uuid"
unlocked=$(tui_screen)

# the operator's key locks at once; SIGTERM ends the locked session
tui_keys L
screen_lacks "unlocked: the lock screen is gone" 'cmltui locked' "$unlocked"
no_password "unlocked" "$unlocked"
tui_expect "the lock key locks at once" 'cmltui locked by the operator'
tui_expect_not "locked by the key: no container shows" "$ct"
pid=$(cmltui_pid)
[ -n "$pid" ] || fail "no cmltui process in the tmux pane"
kill -TERM "$pid"
tui_expect "SIGTERM ends a locked session with status 1" '^cmltui-exit=1$'
tui_end
in_order "cmld recorded root's locks, failed unlocks (the account named where it is one) and the unlock" \
    "locked ok cmltui reports: the screen locked after 2 s without a key (session_idle_timeout)
unlock-failed failed cmltui reports: an unlock failed (user $ADMIN)
unlock-failed failed cmltui reports: an unlock failed (a name that is no account)
unlock-failed failed cmltui reports: an unlock failed (user $OTHER)
unlocked ok cmltui reports: the screen unlocked by $ADMIN
locked ok cmltui reports: the screen locked when asked" \
    "$(session_records 0)"

# --- an operator's session (group cml), vt100 without colours ---------------
mkdir -p "$SCRATCH/bin" || fail "mkdir $SCRATCH/bin"
cp "$CMLTUI" "$SCRATCH/bin/cmltui" || fail "cannot copy cmltui"
chmod 755 "$SCRATCH/bin" "$SCRATCH/bin/cmltui"
cat >"$SCRATCH/bin/cmltui-as-owner" <<EOF
#!/bin/sh
exec setpriv --reuid=$OWNER --regid=$OWNER --init-groups -- "$SCRATCH/bin/cmltui" "\$@"
EOF
chmod 755 "$SCRATCH/bin/cmltui-as-owner"
CMLTUI=$SCRATCH/bin/cmltui-as-owner
tui_start 80 24 TERM=vt100 NO_COLOR=1 HOME=/
tui_expect "the operator's dashboard shows the device's uuid" "$uuid"
tui_expect "idle, the operator's screen locks" 'cmltui locked \(idle 2 s\)'
tui_expect_not "locked: no container shows (vt100)" "$ct"
tui_expect "the owner's name is offered" "User: +$OWNER"

# not root: PAM checks no password but the owner's own
unlock "$ADMIN" "$PW_ADMIN"
tui_expect "as an operator, an administrator's password fails" \
    'unlock failed'
no_password "operator, after a failure"
wait_over
# resized while locked: still locked, and laid out anew once unlocked
tui_resize 100 30
tui_expect "resized to 100x30 while locked: the lock screen stays" \
    'cmltui locked \(idle 2 s\)'
tui_expect_not "resized while locked: no uuid shows" "$uuid"
unlock "$OWNER" "$PW_OWNER"
tui_expect "the owner unlocks: the dashboard is back" "$uuid"
unlocked=$(tui_screen)
tui_keys q
wide=$(awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }' \
    <<<"$unlocked")
expect_eq "unlocked after the resize: the dashboard is 100 columns wide" \
    100 "$wide"
screen_lacks "the owner unlocked: the lock screen is gone" 'cmltui locked' \
    "$unlocked"
no_password "operator, unlocked" "$unlocked"
tui_end
# (a vt100 has no screen of its own to leave: the status follows the
# help line's rest on the same line)
expect_eq "the operator's cmltui quits with status 0" 0 "${trc%%[!0-9]*}"
in_order "cmld recorded the operator's lock, failed unlock and unlock with its uid" \
    "locked ok cmltui reports: the screen locked after 2 s without a key (session_idle_timeout)
unlock-failed failed cmltui reports: an unlock failed (user $ADMIN)
unlocked ok cmltui reports: the screen unlocked by $OWNER" \
    "$(session_records "$(id -u "$OWNER")")"

# --- a remote session (over SSH): ends when idle --------------------------
CMLTUI=$SCRATCH/bin/cmltui
tui_start 80 24 'SSH_CONNECTION=192.0.2.1 50000 192.0.2.2 22'
tui_expect "remote: the dashboard shows the device's uuid" "$uuid"
tui_expect "remote: idle for 2 s, the session ends with status 1" \
    '^cmltui-exit=1$'
tui_expect "remote: it says why" \
    '^cmltui: session ended after 2 s idle \(session_idle_timeout\)$'
tui_expect_not "remote: it did not lock" 'cmltui locked'
tui_end
expect_eq "remote: cmld recorded the end" \
    "idle-ended ok cmltui reports: the session ended after 2 s without a key (session_idle_timeout)" \
    "$(session_records 0 | tail -n 1)"
# locked by the key, then idle: a remote session ends all the same
tui_start 80 24 'SSH_CONNECTION=192.0.2.1 50000 192.0.2.2 22'
tui_expect "remote: the dashboard again" "$uuid"
tui_keys L
tui_expect "remote: the lock key locks" 'cmltui locked by the operator'
tui_expect "remote, locked, idle for 2 s: the session ends with status 1" \
    '^cmltui-exit=1$'
tui_expect "remote, locked: it says why" \
    '^cmltui: session ended after 2 s idle \(session_idle_timeout\)$'
tui_end

# --- cmld hangs: the screen locks all the same ------------------------------
cmlsh_run -c 'device config set session_idle_timeout 0' >/dev/null ||
    fail "device config set session_idle_timeout 0 failed"
tui_start 80 24 -- --interval 60000
tui_expect "hung cmld: the dashboard shows the device's uuid" "$uuid"
cpid=$(cmld_pid) || fail "no cmld pid"
kill -STOP "$cpid"
t0=$(date +%s%N)
tui_keys L
tui_wait 'cmltui locked by the operator' 5
t1=$(date +%s%N)
kill -CONT "$cpid"
ms=$(((t1 - t0) / 1000000))
expect_eq "hung cmld: the lock key locks at once, not after the report's 2 s" yes \
    "$([ "$ms" -lt 1500 ] && echo yes || echo "no: $ms ms")"
tui_expect_not "hung cmld: locked, no container shows" "$ct"
unlock "$ADMIN" "$PW_ADMIN"
tui_expect "cmld back: an administrator unlocks" "$uuid"
tui_end
# idle while cmld hangs: the dashboard's refresh gives up after 8 s
cmlsh_run -c 'device config set session_idle_timeout 2' >/dev/null ||
    fail "device config set session_idle_timeout 2 failed"
tui_start 80 24 -- --interval 1000
tui_expect "hung cmld, idle: the dashboard shows the device's uuid" "$uuid"
kill -STOP "$cpid"
if tui_wait 'cmltui locked \(idle 2 s\)' 20; then
	_check_passed "hung cmld, idle: the screen locks all the same"
else
	_check_failed "hung cmld, idle: the screen locks all the same" \
	    "not locked 20 s after cmld stopped"
	_tui_show
fi
CHECKS=$((CHECKS + 1))
kill -CONT "$cpid"
tui_expect_not "hung cmld, idle: locked, no container shows" "$ct"
unlock "$ADMIN" "$PW_ADMIN"
tui_expect "cmld back: the dashboard again" "$uuid"
tui_end

# --- nothing typed is kept ------------------------------------------------
kept=0
for p in "${PASSWORDS[@]}"; do
	grep -r -a -q -F -- "$p" "$STACK_DIR" && kept=1
done
expect_eq "no password in cmld's log, audit trail or state" 0 "$kept"

finish
