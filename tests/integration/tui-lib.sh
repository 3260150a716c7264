# Sourced by the tests that drive cmltui (after lib.sh): cmltui runs in a
# detached tmux session of its own (a server on a socket in the scratch
# directory, no configuration read), keys are sent with send-keys and the
# screen is read with capture-pane.
#
#   tui_start COLS ROWS [VAR=VALUE...] [-- ARG...]
#                       starts cmltui --socket $SOCK on a COLSxROWS window,
#                       with those variables in its environment (LANG is
#                       C.UTF-8 and TERM tmux-256color unless given)
#   tui_keys KEY...     tmux key names: Enter Escape Tab Up Down F2 C-r, or
#                       words sent as they are
#   tui_type TEXT       types TEXT literally
#   tui_screen          prints the screen (capture-pane)
#   tui_wait ERE [S]    waits up to S (10) seconds until the screen matches
#   tui_wait_gone ERE [S]  ... until it no longer does
#   tui_resize COLS ROWS
#   tui_end             quits (F10) unless it ended; its exit status in $trc
#   tui_expect TEXT ERE    a check: the screen matches within 10 s
#   tui_expect_not TEXT ERE  a check: the screen does not match now
#   tui_select_entry WORD  moves a menu's selection down to the entry WORD
#   tui_to_dashboard    Esc, view by view, until the dashboard shows

CMLTUI=$CML_BUILDDIR/cmltui/cmltui
TUI_TMUX=
TUI_TARGET=cmltui

_tui_tmux() {
	tmux -f /dev/null -S "$TUI_TMUX" "$@"
}

tui_start() {
	local cols=$1 rows=$2 envs=(LANG=C.UTF-8 TERM=tmux-256color) args=() cmd pid
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--) shift; args=("$@"); break ;;
		*=*) envs+=("$1"); shift ;;
		*) fail "tui_start: $1: not VAR=VALUE" ;;
		esac
	done
	need_prog tmux
	make_scratch
	# a server of its own each time: one ended with tui_end is gone
	TUI_STARTS=$((${TUI_STARTS:-0} + 1))
	TUI_TMUX=$SCRATCH/tmux-$TUI_STARTS.sock
	[ -x "$CMLTUI" ] || fail "no $CMLTUI"
	# not over SSH unless a test says so (cmltui ends an idle remote session)
	printf -v cmd '%q ' env -u SSH_CONNECTION -u SSH_TTY "${envs[@]}" \
	    "$CMLTUI" --socket "$SOCK" "${args[@]}"
	_tui_tmux new-session -d -s "$TUI_TARGET" -x "$cols" -y "$rows" \
	    "$cmd; echo cmltui-exit=\$?; sleep 600" ||
	    fail "tmux new-session failed"
	pid=$(_tui_tmux display-message -p -t "$TUI_TARGET" '#{pid}') &&
	    track_pid "$pid"
}

tui_keys() {
	_tui_tmux send-keys -t "$TUI_TARGET" "$@"
}

tui_type() {
	_tui_tmux send-keys -t "$TUI_TARGET" -l -- "$1"
}

tui_screen() {
	_tui_tmux capture-pane -p -t "$TUI_TARGET"
}

tui_wait() {
	local ere=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		tui_screen | grep -E -q -- "$ere" && return 0
		sleep 0.1
	done
	return 1
}

tui_wait_gone() {
	local ere=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		tui_screen | grep -E -q -- "$ere" || return 0
		sleep 0.1
	done
	return 1
}

tui_resize() {
	_tui_tmux resize-window -t "$TUI_TARGET" -x "$1" -y "$2"
}

tui_end() {
	local k
	# F10, or (a vt100 has no F10) back to the dashboard and q
	for k in F10 Escape Escape Escape q; do
		tui_screen | grep -q 'cmltui-exit=' && break
		tui_keys "$k"
		[ "$k" = F10 ] && tui_wait 'cmltui-exit=' 2
	done
	tui_wait 'cmltui-exit=' 20 || true
	# (a vt100 has no alternate screen: the help line's rest follows; a key
	# sent while cmltui was already ending is echoed before the status)
	trc=$(tui_screen | sed -n 's/.*cmltui-exit=\([0-9]*\).*/\1/p' | tail -n 1)
	[ -n "$trc" ] || { echo "# cmltui did not end:" >&2; _tui_show; }
	_tui_tmux kill-server 2>/dev/null
	return 0
}

# Shows the screen when a check about it fails.
_tui_show() {
	echo "--- screen ---" >&2
	tui_screen >&2
	echo "--------------" >&2
}

tui_expect() {
	CHECKS=$((CHECKS + 1))
	if tui_wait "$2"; then
		_check_passed "$1"
	else
		_check_failed "$1" "the screen never matched /$2/"
		_tui_show
	fi
}

tui_expect_not() {
	CHECKS=$((CHECKS + 1))
	if tui_screen | grep -E -q -- "$2"; then
		_check_failed "$1" "the screen matches /$2/"
		_tui_show
	else
		_check_passed "$1"
	fi
}

# Moves the menu's selection down to the entry WORD (a failed check, and 1,
# when it is not there): tui_select_entry WORD
tui_select_entry() {
	local i
	for ((i = 0; i < 40; i++)); do
		tui_screen | grep -E -q -- "^ > $1( |\$)" && return 0
		tui_keys Down
		sleep 0.1
	done
	_check_failed "the menu has an entry '$1'" "not found going down"
	_tui_show
	return 1
}

# Goes back to the dashboard, view by view (a factory device with a
# provisioning step done opens on the provisioning screen, above it).
tui_to_dashboard() {
	local i
	for ((i = 0; i < 8; i++)); do
		tui_screen | grep -E -q '^─*Containers \(' && return 0
		tui_keys Escape
		sleep 0.3
	done
	fail "Esc does not lead back to the dashboard"
}
