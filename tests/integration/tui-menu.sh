#!/bin/bash
# cmltui's menus and forms, made from the command table, driven through
# tmux against a real stack: the families (with their help beside the list
# on a wide terminal), a family's commands, a command's form.  A container
# is started from the menus (its name picked from the list of containers
# cmld knows), a command run in it has the terminal (its words split as
# cmlsh splits them) and its exit status is shown, and it is stopped with
# the flow's confirmation, `cmlsh` seeing it running, then stopped; `container list` from the menu shows cmlsh's
# table line for line; `container remove` asks "Really ...?" as cmlsh
# does: declined, nothing is done and the form says so in cmlsh's words;
# confirmed, the container is gone and the reply reads as cmlsh's.  A form
# rejects a bad value with the table's own message, the one cmlsh prints
# for the same input: `audit list --last` not a number (at Run) and out of
# range (on leaving the field), `device config set log_level` with a value
# cmld refuses (the values it takes listed in the field's list), the
# setting left as it was.
# Proves: OS 01 (a container started and stopped from the console's
# menus), CR 7.6 (a setting's values listed, a bad one refused with the
# settings table's message)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tui-lib.sh"

need_prog tmux
ct_setup
name=$(ct_name menu)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"}}'

# Opens the form (or the result) of a command from the dashboard:
# open_command FAMILY WORDS...
open_command() {
	local family=$1
	shift
	tui_to_dashboard
	tui_keys F2
	tui_wait '^ Families of commands' || fail "F2: no menu"
	tui_select_entry "$family" || return 1
	tui_keys Enter
	tui_wait "^ Commands of $family" || fail "no menu of $family"
	tui_select_entry "$*" || return 1
	tui_keys Enter
}

# The screen's lines without the first column and trailing blanks.
screen_text() {
	tui_screen | sed -E 's/^ //; s/ +$//'
}

# --- the menus, wide: the help beside the list ---------------------------------------------
tui_start 120 40
tui_expect "the dashboard shows the container" "$name +stopped"
tui_keys F2
tui_expect "F2: the families, the help of the selected one beside them" \
    '^ Families of commands +device - the device: status and settings$'
tui_expect "F2: the first family selected, its commands beside" \
    '^ > device +the device: status and settings *$'
tui_expect "F2: the selected family's commands beside the list" \
    '^   provision +the factory provisioning.* +device status$'
tui_keys Escape
tui_end

# --- start and stop from the menus, 80x24 ------------------------------------------------
tui_start 80 24
tui_wait "$name" || fail "cmltui shows no dashboard"
open_command container start
tui_expect "container start: its form, a field for NAME" '^ NAME \* *$'
tui_expect "container start: the form's synopsis, no option of the shell's" \
    '^ container start NAME *$'
tui_expect "container start: the help below the form" '^ usage: container start NAME'
tui_keys Enter
tui_expect "Enter on NAME: the containers cmld knows to choose from" "[│|] $name +[│|]"
tui_keys Enter
tui_expect "the chosen name in its field" "^ NAME \* +$name *\$"
tui_keys F5
tui_expect "run: the container runs" "$name: running"
expect_eq "cmlsh: running" running "$(ct_state "$name")"
tui_keys Enter

# --- a command in the container: the terminal is its until it ends ----------------
open_command container exec
tui_expect "container exec: its form" '^ COMMAND\.\.\. \*'
tui_type "$name"
tui_keys Tab
tui_type "echo 'hé  llo' \"x y\" \$HOME"
tui_keys F5
tui_expect "exec: the command's output, its words split as cmlsh splits them" \
    "^$(re_quote "$(ct_exec "$name" echo 'hé  llo' "x y" '$HOME')")\$"
tui_expect "exec: its exit status" '^\[container exec: exit status 0\]'
tui_keys Enter
tui_expect "exec: Enter goes back to the form, the values kept" \
    "^ COMMAND\\.\\.\\. \\* +echo 'hé  llo' \"x y\" \\\$HOME *\$"
tui_keys C-u
tui_type "sh -c 'exit 3'"
tui_keys F5
tui_expect "exec: the command's exit status" '^\[container exec: exit status 3\]'
tui_keys Enter
open_command container stop
tui_type "$name"
tui_keys F5
tui_expect "stop: asks first" "Stop container $name\\?"
tui_keys n
sleep 1
expect_eq "stop declined: still running" running "$(ct_state "$name")"
tui_keys F5
tui_expect "stop: asks again" "Stop container $name\\?"
tui_keys y
tui_expect "stop confirmed: stopped" "$name: stopped"
expect_eq "cmlsh: stopped" stopped "$(ct_state "$name")"
tui_keys Enter

# --- a read-only view: cmlsh's table ---------------------------------------------------------
open_command container list
tui_expect "container list: a table" '^ NAME +STATE +GUESTOS'
want=$(cmlsh_run container list 2>&1)
got=$(screen_text)
while IFS= read -r line; do
	line=${line%"${line##*[! ]}"}
	CHECKS=$((CHECKS + 1))
	if grep -qxF -- "$line" <<<"$got"; then
		_check_passed "container list: cmlsh's line '$line'"
	else
		_check_failed "container list: cmlsh's line '$line'" "not on the screen"
		_tui_show
	fi
done <<<"$want"

# --- a destructive command asks as cmlsh does --------------------------------------------
open_command container remove
tui_expect "container remove: its form, NAME and --purge" '^ --purge +\[ \]'
tui_type "$name"
tui_keys F5
tui_expect "remove: asks as cmlsh does" "Really container remove $name\\?"
tui_keys n
tui_expect "declined: said in cmlsh's words" \
    "^ 'container remove' not confirmed: nothing was done *\$"
expect_eq "declined: the container is there" stopped "$(ct_state "$name")"
tui_keys F5
tui_expect "remove: asks again" "Really container remove $name\\?"
tui_keys y
tui_expect "removed: cmlsh's reply" "^ name: $name *\$"
expect_eq "removed: cmlsh knows it no more" "" \
    "$(cmlsh_run container list 2>&1 | grep -F -- "$name")"

# --- bad values: the table's message, as cmlsh prints it ---------------------------------
msg_of() {
	"$@" 2>&1 >/dev/null | sed -n 's/^cmlsh: //p' | grep -v '^usage: '
}
open_command audit list
tui_expect "audit list: its form" '^ --last N'
tui_type abc
tui_keys F5
want=$(msg_of cmlsh_run audit list --last abc)
expect_eq "cmlsh's message for --last abc" "N must be an integer, not 'abc'" "$want"
tui_expect "--last abc: refused with the table's message" "^ $want *\$"
tui_expect_not "--last abc: no records shown" '^ SEQ +TIME'
tui_expect "--last abc: the value kept" '^ --last N +abc *$'
tui_keys C-u
tui_type 0
tui_keys Tab
want=$(msg_of cmlsh_run audit list --last 0)
expect_eq "cmlsh's message for --last 0" "N must be between 1 and 1000000, not 0" "$want"
tui_expect "--last 0: refused on leaving the field" "^ $want *\$"

open_command device config set
tui_expect "device config set: its form" '^ KEY \*'
tui_type log_level
tui_keys Tab Enter
tui_expect "VALUE of log_level: the values it takes to choose from" 'warning'
tui_expect_not "no other values" 'loud'
screen=$(tui_screen)
for v in warning info debug; do
	CHECKS=$((CHECKS + 1))
	if grep -qE "(^|[ │|])$v *([│|]|\$)" <<<"$screen"; then
		_check_passed "the list offers $v"
	else
		_check_failed "the list offers $v" "not in the list"
		_tui_show
	fi
done
tui_keys Escape
tui_type loud
tui_keys F5
want=$(msg_of cmlsh_run device config set log_level loud)
expect_eq "cmlsh's message for log_level loud" \
    "log_level must be warning, info or debug, not 'loud'" "$want"
tui_expect "log_level loud: refused at the form with cmld's message" "^ $want *\$"
tui_expect "log_level loud: the value kept" '^ VALUE \* +loud *$'
expect_eq "the setting unchanged" info \
    "$(cmlsh_run --json device config get log_level | json_get settings 0 value)"

tui_end
expect_eq "cmltui ended well" 0 "$trc"
finish
