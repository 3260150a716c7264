#!/bin/bash
# Every script of scripts/, the provisioning tools and .ci/run answer
# --help with their usage on stdout and exit 0, doing nothing else (the
# demo builds nothing and makes no directory named --help), and answer an
# unknown option with the usage on stderr and exit 2.
# Proves: none (--help texts).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog python3
make_scratch

progs=()
for f in "$CML_SRCDIR"/scripts/*; do
	[ -f "$f" ] && [ -x "$f" ] && progs+=("$f")
done
progs+=("$CML_SRCDIR/provisioning/cml-mkpki" "$CML_BUILDDIR/provisioning/cml-sign"
	"$CML_SRCDIR/.ci/run")
expect_match "the scripts are found" "(^| )$CML_SRCDIR/scripts/demo( |$)" "${progs[*]}"

cd "$SCRATCH" || fail "cd $SCRATCH"
for p in "${progs[@]}"; do
	name=${p#"$CML_SRCDIR"/}
	name=${name#"$CML_BUILDDIR"/}
	[ -x "$p" ] || {
		expect_eq "$name exists and is executable" yes no
		continue
	}
	# no apt-get, build or stack may start: a short timeout catches it
	timeout 20 "$p" --help >"$SCRATCH/out" 2>"$SCRATCH/err"
	expect_status "$name --help" 0 $?
	expect_match "$name --help: usage on stdout" '(^|'$'\n'')[^'$'\n'']*[Uu]sage:' "$(cat "$SCRATCH/out")"
	expect_eq "$name --help: nothing on stderr" "" "$(cat "$SCRATCH/err")"
	timeout 20 "$p" --no-such-option >"$SCRATCH/out" 2>"$SCRATCH/err"
	expect_status "$name --no-such-option" 2 $?
	expect_eq "$name --no-such-option: nothing on stdout" "" "$(cat "$SCRATCH/out")"
	expect_match "$name --no-such-option: usage on stderr" '[Uu]sage:' "$(cat "$SCRATCH/err")"
done
expect_eq "no file named --help or --no-such-option was made" "" \
    "$(ls -A "$SCRATCH" | grep -e '^--' || true)"

# the demo with a directory and --help still only helps
timeout 20 "$CML_SRCDIR/scripts/demo" "$SCRATCH/d" --help >/dev/null 2>&1
expect_status "scripts/demo DIR --help" 0 $?
[ -e "$SCRATCH/d" ]
expect_status "scripts/demo DIR --help makes no DIR" 1 $?
# --test is what scripts/test installs
grep -q '^if ! ./scripts/deps --test; then$' "$CML_SRCDIR/scripts/test"
expect_status "scripts/test installs with scripts/deps --test" 0 $?

finish
