# Sourced by tests/bench/run-storage and tests/bench/run-start --vm: boots
# the test virtual machine of tests/integration/container-cgroup-v2-vm.sh
# once with CML_VM_BENCH=RUNS on its kernel command line and prints the
# "# bench:" lines of the figures it took from FIRST (a sed regex of the
# first line of a group) up to the line before the next group (or the end).
#
#   vm_bench PROG RUNS FIRST
#
# Prints the build and the accelerator first.  Returns 0 with figures
# printed (a failed VM test gets a warning naming its failed checks), 77
# when the VM cannot run (the reason printed), 1 when it printed no
# figures.  Needs $srcdir and $CML_BUILDDIR.
vm_bench() {
	local prog=$1 runs=$2 first=$3 out rc
	if [ -r "$CML_BUILDDIR/Makefile" ] &&
	    grep -Eq '^(CFLAGS|CML_CFLAGS) = .*(-O0|-fsanitize)' "$CML_BUILDDIR/Makefile"; then
		echo "$prog: warning: $CML_BUILDDIR is a debug or sanitizer build; the figures say little" >&2
	fi
	out=$(mktemp "${TMPDIR:-/tmp}/$prog.XXXXXX") || return 1
	# (the VM needs more time for the runs: seconds per start under KVM,
	# several times that under TCG, a 256 MiB image hashed in full too)
	CML_VM_BENCH=$runs CML_VM_TIMEOUT=${CML_VM_TIMEOUT:-$((900 + runs * 60))} \
	    bash "$srcdir/tests/integration/container-cgroup-v2-vm.sh" >"$out" 2>&1
	rc=$?
	if [ "$rc" = 77 ]; then
		grep '^SKIP' "$out" | sed "s/^SKIP: [^:]*: /$prog: skipped: /" >&2
		rm -f "$out"
		return 77
	fi
	echo "build: $CML_BUILDDIR"
	grep -m 1 '^# accelerator:' "$out" | sed 's/^# //'
	if ! grep -q "^# bench: $first" "$out"; then
		echo "$prog: the VM printed no figures (the test's exit status $rc):" >&2
		tail -n 40 "$out" >&2
		rm -f "$out"
		return 1
	fi
	# the group: from its first line up to the next line of a group of
	# its own (a line naming "N run(s) each")
	sed -n 's/^# bench: //p' "$out" | awk -v first="$first" '
		$0 ~ "^" first { on = 1; print "  " $0; next }
		on && /run\(s\) each/ { on = 0 }
		on { print "  " $0 }'
	if [ "$rc" != 0 ]; then
		echo "$prog: warning: the VM test failed ($(grep -m 1 '^FAIL' "$out")); its failed checks:" >&2
		grep '^not ok' "$out" | head -n 20 >&2
	fi
	rm -f "$out"
	return 0
}
