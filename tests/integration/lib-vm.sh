# Helpers of the tests that boot a test virtual machine (tests/vm/):
# sourced after lib.sh.  The kernel, the accelerator, and qemu run in the
# background under a watchdog.

# vm_kernel: sets kernel and kver: $CML_VM_KERNEL (its version from the
# file name vmlinuz-VERSION, or $CML_VM_KVER), else the newest Debian
# kernel in /boot whose modules are installed; skips loudly without one,
# and without busybox-static.
vm_kernel() {
	local k v
	kernel=${CML_VM_KERNEL:-}
	kver=${CML_VM_KVER:-}
	if [ -z "$kernel" ]; then
		for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
			v=${k#/boot/vmlinuz-}
			if [ -r "$k" ] && [ -f "/lib/modules/$v/modules.dep" ]; then
				kernel=$k
				break
			fi
		done
		[ -n "$kernel" ] || skip "no kernel for the VM: install linux-image-amd64 (scripts/deps); none of /boot/vmlinuz-* is readable with its modules in /lib/modules"
	fi
	[ -r "$kernel" ] || skip "cannot read the VM's kernel $kernel"
	[ -n "$kver" ] || kver=${kernel##*/vmlinuz-}
	[ -f "/lib/modules/$kver/modules.dep" ] || [ -n "${CML_VM_MODULES_DIR:-}" ] ||
	    skip "no modules of kernel $kver in /lib/modules/$kver (linux-image-amd64)"
	if ! ldd /bin/busybox 2>&1 | grep -q 'not a dynamic executable'; then
		skip "/bin/busybox is not static: install busybox-static"
	fi
}

# Prints the time in milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# kvm_probe: boots the kernel under KVM alone (no TCG fallback), without an
# initramfs, with early serial output to a file, and returns 0 as soon as
# the guest's first console line is there (qemu is killed then), 1 when it
# is not there within CML_VM_PROBE_TIMEOUT seconds or qemu ends without it.
# qemu's output is left in $SCRATCH/kvm-probe.qemu, the console in
# $SCRATCH/kvm-probe.console.
kvm_probe() {
	local console=$SCRATCH/kvm-probe.console qlog=$SCRATCH/kvm-probe.qemu
	local pid deadline
	deadline=$(($(now_ms) + ${CML_VM_PROBE_TIMEOUT:-20} * 1000))
	: >"$console"
	qemu-system-x86_64 -accel kvm -smp 1 -m 256 -nodefaults -no-user-config \
	    -display none -nic none -serial "file:$console" -no-reboot \
	    -kernel "$kernel" -append "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1" \
	    </dev/null >"$qlog" 2>&1 &
	pid=$!
	track_pid "$pid"
	while [ "$(now_ms)" -lt "$deadline" ]; do
		grep -q 'Linux version' "$console" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	untrack_pid "$pid"
	grep -q 'Linux version' "$console"
}
# vm_accel: sets accel (qemu's options): KVM where /dev/kvm is writable and
# a probe boot under it reaches its first console line, else TCG, saying
# loudly why.
vm_accel() {
	local p0
	accel=(-accel tcg)
	if [ "${CML_VM_NO_KVM:-0}" = 1 ]; then
		echo "# accelerator: tcg (CML_VM_NO_KVM=1)"
	elif [ ! -w /dev/kvm ]; then
		echo "# accelerator: tcg (/dev/kvm is missing or not writable)"
	else
		p0=$(now_ms)
		if kvm_probe; then
			accel=(-accel kvm)
			echo "# accelerator: kvm (a probe boot reached its first console line in $(($(now_ms) - p0)) ms)"
		else
			echo "# ##########################################################################"
			echo "# KVM is present (/dev/kvm) but could not boot a guest: no 'Linux version'"
			echo "# on the console within ${CML_VM_PROBE_TIMEOUT:-20} s (probe took $(($(now_ms) - p0)) ms)."
			echo "# qemu printed:"
			{ cat "$SCRATCH/kvm-probe.qemu"; echo; } | sed '/^$/d; s/^/#   /'
			echo "# the guest's console:"
			{ tr -d '\r' <"$SCRATCH/kvm-probe.console"; echo; } | sed '/^$/d; s/^/#   /'
			echo "# accelerator: tcg (emulation, slower)"
			echo "# ##########################################################################"
		fi
	fi
}

# vm_run CONSOLE QEMU-ARGS...: runs qemu-system-x86_64 with the serial
# console to the file CONSOLE and the given options, in the background,
# and waits for it under a watchdog: progress is the console growing.  The
# VM is stopped when its console stays silent for $VM_STALL seconds or it
# ran $VM_TIMEOUT seconds in all, or when the function vm_watch, if the
# test defines one, prints a reason (it is called every second).  Sets qrc
# (qemu's exit status), stopped (why the VM was stopped, or empty) and tvm
# (when it started); qemu's own output goes to $SCRATCH/qemu.log.
vm_run() {
	local console=$1 last_size=-1 last_change now size i
	shift
	: >"$console"
	tvm=$(date +%s)
	stopped=
	qemu-system-x86_64 "$@" -serial "file:$console" \
	    </dev/null >"$SCRATCH/qemu.log" 2>&1 &
	qpid=$!
	track_pid "$qpid"
	last_change=$tvm
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 1
		now=$(date +%s)
		size=$(stat -c %s "$console" 2>/dev/null || echo 0)
		if [ "$size" != "$last_size" ]; then
			last_size=$size
			last_change=$now
		fi
		if [ $((now - last_change)) -ge "$VM_STALL" ]; then
			stopped="the VM's console was silent for $VM_STALL s (after $((now - tvm)) s)"
		elif [ $((now - tvm)) -ge "$VM_TIMEOUT" ]; then
			stopped="the VM did not finish within $VM_TIMEOUT s"
		elif declare -F vm_watch >/dev/null; then
			stopped=$(vm_watch)
		fi
		if [ -n "$stopped" ]; then
			kill -TERM "$qpid" 2>/dev/null
			for ((i = 0; i < 100; i++)); do
				kill -0 "$qpid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$qpid" 2>/dev/null
			break
		fi
	done
	wait "$qpid"
	qrc=$?
	untrack_pid "$qpid"
}

# vm_cmdline BASE [VAR...]: sets append, the kernel's command line: BASE,
# then the sanitizer settings of the test run (scripts/test) and each
# VAR that is set, as NAME=VALUE words, which the kernel hands to init as
# its environment (and so to cmld in the VM).
vm_cmdline() {
	local v val
	append=$1
	shift
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS "$@"; do
		val=${!v:-}
		[ -n "$val" ] || continue
		[[ "$val" =~ ^[A-Za-z0-9_=:,./+-]+$ ]] || fail "cannot pass $v='$val' on the kernel command line"
		append+=" $v=$val"
	done
}
