#!/bin/bash
# cmlsh --json: everything on stdout is one JSON document, errors included
# (issue 10, bug 6): help, help COMMAND, help FAMILY, usage errors (unknown
# command, missing argument, bad option, confirmation without a terminal),
# an unreachable cmld and an error of cmld each print one object, nothing
# on stderr, with the exit status of the plain mode.
# Proves: none (the shell's output form for scripts).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog python3
stack_start

# Runs cmlsh --json ARGS...; sets $out, $err, $rc.
run_json() {
	"$CMLSH" --json "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
	out=$(cat "$SCRATCH/out")
	err=$(cat "$SCRATCH/err")
}

# Prints "error|message|usage" of an error object, or why it is none.
error_of() {
	python3 -c 'import json, sys
try:
    o = json.loads(sys.stdin.read())
except ValueError as e:
    print("<not one JSON document: %s>" % e)
    sys.exit(0)
p = o.get("parameters", {})
print("%s|%s|%s" % (o.get("error"), p.get("message"), p.get("usage", "-")))'
}

run_json --socket "$SCRATCH/nothing.sock" -c 'device status'
expect_status "unreachable cmld" 1 "$rc"
expect_eq "unreachable cmld: an error object on stdout" \
    "org.cml.Shell.Unreachable|cannot reach cmld at $SCRATCH/nothing.sock: No such file or directory: is it running?|-" \
    "$(error_of <<<"$out")"
expect_eq "unreachable cmld: nothing on stderr" "" "$err"

run_json --socket "$SOCK" -c help
expect_status "help" 0 "$rc"
expect_eq "help: every command of the table and the shell's own" \
    "device status|device config get|device config set|device csr|device cert install|device attest|device wipe|help|quit" \
    "$(python3 -c 'import json, sys
c = [x["command"] for x in json.load(sys.stdin)["commands"]]
print("|".join(x for x in c if x.startswith("device") or x in ("help", "quit")))' <<<"$out")"
expect_eq "help: nothing on stderr" "" "$err"

run_json --socket "$SOCK" -c 'help device config set'
expect_status "help COMMAND" 0 "$rc"
expect_eq "help COMMAND: synopsis, arguments, policy" \
    "device config set KEY VALUE|key,value|Admin only. Allowed before provisioning." \
    "$(python3 -c 'import json, sys
o = json.load(sys.stdin)
print("%s|%s|%s" % (o["synopsis"], ",".join(a["name"] for a in o["arguments"]), o["policy"]))' <<<"$out")"

run_json --socket "$SOCK" -c 'help guestos'
expect_eq "help FAMILY: that family's commands" \
    "guestos list|guestos install|guestos verify|guestos remove" \
    "$(python3 -c 'import json, sys
print("|".join(x["command"] for x in json.load(sys.stdin)["commands"]))' <<<"$out")"

run_json --socket "$SOCK" -c 'help frobnicate'
expect_status "help of nothing" 2 "$rc"
expect_eq "help of nothing: an error object" \
    "org.cml.Shell.UsageError|no help for 'frobnicate': type 'help' for a list|-" \
    "$(error_of <<<"$out")"

run_json --socket "$SOCK" -c frobnicate
expect_status "unknown command" 2 "$rc"
expect_eq "unknown command: an error object" \
    "org.cml.Shell.UsageError|unknown command 'frobnicate': type 'help' for a list|-" \
    "$(error_of <<<"$out")"
expect_eq "unknown command: nothing on stderr" "" "$err"

run_json --socket "$SOCK" -c 'device config set log_level'
expect_status "missing argument" 2 "$rc"
expect_eq "missing argument: message and usage" \
    "org.cml.Shell.UsageError|missing VALUE|device config set KEY VALUE" \
    "$(error_of <<<"$out")"

run_json --socket "$SOCK" -c 'device status "open'
expect_status "unbalanced quote" 2 "$rc"
expect_match "unbalanced quote: an error object" \
    '^org\.cml\.Shell\.UsageError\|unbalanced " in the command' "$(error_of <<<"$out")"

run_json --socket "$SOCK" --frob -c 'device status'
expect_status "unknown option" 2 "$rc"
expect_eq "unknown option: an error object, --json seen before it" \
    "org.cml.Shell.UsageError|unknown option '--frob'|cmlsh [--json] [--socket PATH] [--yes] [-c COMMAND | COMMAND [ARG...]]" \
    "$(error_of <<<"$out")"
expect_eq "unknown option: nothing on stderr" "" "$err"

run_json --socket "$SOCK" -c 'ca remove 0123456789abcdef' </dev/null
expect_status "confirmation without a terminal" 2 "$rc"
expect_eq "confirmation without a terminal: an error object" \
    "org.cml.Shell.UsageError|'ca remove' asks for confirmation, and there is no terminal to ask on: add --yes to run it anyway|-" \
    "$(error_of <<<"$out")"

run_json --socket "$SOCK" -c 'device config get no_such_key'
expect_status "an error of cmld" 1 "$rc"
expect_match "an error of cmld: an object in the same form" \
    '^org\.cml\.Error\.[A-Za-z]+\|.+\|-$' "$(error_of <<<"$out")"
expect_eq "an error of cmld: nothing on stderr" "" "$err"

# Batch mode: every command's document, then the failing one's error.
printf 'device status\nfrobnicate\n' |
    "$CMLSH" --json --socket "$SOCK" >"$SCRATCH/out" 2>"$SCRATCH/err"
rc=$?
expect_status "batch with a failing command" 2 "$rc"
expect_eq "batch: a reply, then the error object, all JSON" "uptime_seconds|org.cml.Shell.UsageError" \
    "$(python3 -c 'import json, sys
text = sys.stdin.read()
d = json.JSONDecoder()
i, docs = 0, []
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i == len(text):
        break
    o, i = d.raw_decode(text, i)
    docs.append(o)
print("%s|%s" % ("uptime_seconds" if "uptime_seconds" in docs[0] else docs[0], docs[1]["error"]))' <"$SCRATCH/out")"

# Without --json, errors stay plain text on stderr.
"$CMLSH" --socket "$SCRATCH/nothing.sock" -c 'device status' >"$SCRATCH/out" 2>"$SCRATCH/err"
expect_eq "plain mode: nothing on stdout" "" "$(cat "$SCRATCH/out")"
expect_eq "plain mode: the message on stderr" \
    "cmlsh: cannot reach cmld at $SCRATCH/nothing.sock: No such file or directory: is it running?" \
    "$(cat "$SCRATCH/err")"

finish
