#!/bin/bash
# The bash completion of cmlsh, generated from the command table at build
# time (dist/cmlsh, installed into the bash-completion directory): it
# completes cmlsh's options, command words (also after help), every
# command of the table, options of a command (not those given already) and
# their values, setting names and the values of an enum setting, interface
# names, files and directories, and, asked of the cmld on the socket the
# command line names, container names, guest OS names and versions and
# trust-anchor fingerprints; with no cmld there, it offers nothing and
# says nothing.
# Proves: none (shell completion).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

comp=$CML_BUILDDIR/dist/cmlsh
[ -f "$comp" ] || skip "no $comp: build first (make)"
ct_setup
ctr=$(ct_name comp)
ct_create "$ctr" '{"name": "'"$ctr"'", "guestos": {"name": "busybox"}}'

# complete WORD...: what bash offers for the last word of `WORD...`, one a
# line, sorted, in a fresh bash with the completion loaded
complete_words() {
	bash -c '. "$1"; shift
	COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
	_cmlsh
	printf "%s\n" "${COMPREPLY[@]}" | sort' sh "$comp" "$@" 2>&1
}

# The commands of the table, as cmlsh's help lists them (not its own
# commands help and quit, family shell).
table_commands() {
	cmlsh_run --json -c help | python3 -c 'import json, sys
for c in json.load(sys.stdin)["commands"]:
    if c["family"] != "shell":
        print(c["command"])'
}

expect_eq "registered for cmlsh" "complete -F _cmlsh cmlsh" \
    "$(bash -c ". '$comp' && complete -p cmlsh")"
expect_eq "cmlsh's options" "--help
--json
--socket
--version
--yes" "$(complete_words cmlsh --)"
expect_eq "first words: the families and help" \
    "$({ table_commands | cut -d' ' -f1; echo help; } | sort -u)" \
    "$(complete_words cmlsh '' | sort)"
expect_eq "de completes to device" device "$(complete_words cmlsh de)"
expect_eq "the words after device" "attest
cert
config
csr
status
wipe" "$(complete_words cmlsh device '')"
expect_eq "after help too" "show
start
stats
stop" "$(complete_words cmlsh help container s)"
expect_eq "after cmlsh's options" container "$(complete_words cmlsh --json -y cont)"

# every command of the table is reached word by word
while IFS= read -r cmd; do
	read -r -a w <<<"$cmd"
	prefix=(cmlsh)
	ok=1
	for ((i = 0; i < ${#w[@]}; i++)); do
		grep -qx -- "${w[i]}" <<<"$(complete_words "${prefix[@]}" "${w[i]:0:1}")" || ok=0
		prefix+=("${w[i]}")
	done
	expect_eq "'$cmd' completes word by word" 1 "$ok"
done < <(table_commands)

expect_match "options of audit list" '(^|'$'\n'')--container('$'\n''|$)' \
    "$(complete_words cmlsh audit list --)"
expect_eq "an option given is not offered again" "" \
    "$(complete_words cmlsh audit list --last 5 --la)"
expect_eq "setting names" "$(cmlsh_run --json -c 'device config get' | python3 -c 'import json, sys
for s in json.load(sys.stdin)["settings"]:
    print(s["key"])' | sort)" "$(complete_words cmlsh device config set '')"
expect_eq "the values of an enum setting" "debug
info
warning" "$(complete_words cmlsh device config set log_level '')"
expect_eq "interfaces" org.cml.Container "$(complete_words cmlsh api describe org.cml.Co)"
mkdir -p "$SCRATCH/cdir/sub"
: >"$SCRATCH/cdir/file.json"
expect_eq "files for a file argument" "$SCRATCH/cdir/file.json
$SCRATCH/cdir/sub" "$(complete_words cmlsh container create "$SCRATCH/cdir/")"
expect_eq "directories only for guestos install" "$SCRATCH/cdir/sub" \
    "$(complete_words cmlsh guestos install "$SCRATCH/cdir/")"

# names only cmld knows, from the cmld of --socket, through the cmlsh
# being completed (here by its path)
expect_eq "container names from cmld" "$ctr" \
    "$(complete_words "$CMLSH" --socket "$SOCK" container start "${ctr:0:3}")"
expect_eq "container names for an option's value" "$ctr" \
    "$(complete_words "$CMLSH" --socket "$SOCK" audit list --container "${ctr:0:3}")"
expect_eq "guest OS names" busybox "$(complete_words "$CMLSH" --socket "$SOCK" guestos verify b)"
expect_eq "versions of that guest OS" 1.0 \
    "$(complete_words "$CMLSH" --socket "$SOCK" guestos remove busybox '')"
fp=$(cmlsh_run --json -c 'ca list' | python3 -c 'import json, sys
print(json.load(sys.stdin)["anchors"][0]["fingerprint"])')
expect_eq "anchor fingerprints" "$fp" \
    "$(complete_words "$CMLSH" --socket "$SOCK" ca remove "${fp:0:4}")"
expect_eq "no cmld on the socket: nothing, silently" "" \
    "$(complete_words "$CMLSH" --socket "$SCRATCH/none.sock" container start '')"
expect_eq "nothing after --" "" \
    "$(complete_words "$CMLSH" --socket "$SOCK" container exec "$ctr" -- '')"

finish
