#!/bin/bash
# The command list of cmlsh(1) and the one `cmlsh -c help` prints come from
# the same command table: they must name exactly the same commands, with
# the same synopses.  A command added, renamed or removed in one place only
# fails here.
# This keeps DESIGN "one command table drives everything": documentation
# and interface cannot drift apart.
# Proves: none (documentation drift).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$CMLSH" ] || skip "no cmlsh at $CMLSH: build first (or set CML_BUILDDIR)"
man=$CML_BUILDDIR/man/cmlsh.1
[ -f "$man" ] || skip "no $man: build first (make builds it from the command table)"
make_scratch

# The commands of help: the indented synopses, outside the shell's own
# family (help, quit), which is not part of the command table.
"$CMLSH" --socket "$SCRATCH/none.sock" -c help >"$SCRATCH/help" 2>&1
expect_status "cmlsh -c help" 0 $?
awk '
	/^[^ ]/ { family = $1 }
	/^  [^ ]/ && family != "shell" {
		sub(/^  /, ""); sub(/   *[^ ].*$/, ""); print
	}' "$SCRATCH/help" >"$SCRATCH/help.cmds"

# The commands of the man page: in its COMMANDS section, each family is a
# subsection (.SS "NAME \- SUMMARY") and each command a .TP entry whose tag
# is the bold synopsis; the arguments are nested (.RS ... .RE) entries.
sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\&//g' "$man" | awk -v out="$SCRATCH" '
	/^\.SH/ { in_cmds = ($0 ~ /^\.SH "?COMMANDS"?$/); depth = 0; next }
	!in_cmds { next }
	/^\.RS/ { depth++; next }
	/^\.RE/ { depth--; next }
	/^\.SS / { sub(/^\.SS /, ""); gsub(/"/, ""); print > (out "/man.families"); next }
	/^\.TP/ { tag = (depth == 0); next }
	tag && /^\.B / { sub(/^\.B /, ""); gsub(/"/, ""); print > (out "/man.cmds") }
	{ tag = 0 }
	'
touch "$SCRATCH/man.cmds" "$SCRATCH/man.families"
grep -E '^[a-z]+ - ' "$SCRATCH/help" | grep -v '^shell - ' >"$SCRATCH/help.families"

expect_match "help lists commands" '[a-z]' "$(cat "$SCRATCH/help.cmds")"
expect_match "cmlsh.1 lists commands" '[a-z]' "$(cat "$SCRATCH/man.cmds")"
expect_eq "cmlsh.1 and help list the same commands, in the same order" \
    "$(cat "$SCRATCH/help.cmds")" "$(cat "$SCRATCH/man.cmds")"
expect_eq "cmlsh.1 and help have the same families, in the same order" \
    "$(cat "$SCRATCH/help.families")" "$(cat "$SCRATCH/man.families")"

# the shell's own commands are documented too
for w in help quit exit; do
	expect_match "cmlsh.1 documents '$w'" "(^|"$'\n'")\\.BR? $w( |\\.|"$'\n'"|\$)" "$(cat "$man")"
done

finish
