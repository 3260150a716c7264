#!/bin/bash
# A container cannot load kernel modules, nor use kexec, reboot, the
# keyrings, raw I/O ports, swap, handles or a user namespace of its own:
# busybox insmod and rmmod fail with "Operation not permitted", and a
# probe that calls each of these system calls (also through the 32-bit
# entry, so the filter cannot be dodged) gets EPERM for every one, from
# init and from an exec, which both run under the seccomp filter.  The
# same probe on the host, as an unprivileged user, gets through on the
# keyring calls and gets ENOSYS, not EPERM, for modules on a kernel
# without them: so the EPERM inside comes from the filter, not from
# missing capabilities alone.
# Proves: OS 05 (a seccomp deny list; also through the 32-bit entry),
# TSF.ISOL, CR 7.7 (those system calls denied to init and exec).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog gcc setpriv
ct_setup

# --- the probe: a static program that calls each denied system call -------------
cat >"$SCRATCH/probe.c" <<'EOF'
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_PROCESS_KEYRING -2
#define KEY_SPEC_SESSION_KEYRING -3

static const char *
name(int e)
{
	static char buf[32];

	switch (e) {
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case ENOKEY: return "ENOKEY";
	case EBADF: return "EBADF";
	case E2BIG: return "E2BIG";
	case ESTALE: return "ESTALE";
	}
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

static void
report(const char *what, long rc)
{
	if (rc == -1)
		printf("%s %s\n", what, name(errno));
	else
		printf("%s ok\n", what);
	fflush(stdout);
}

/* A system call through the 32-bit entry (int 0x80), in a child: a kernel
 * without 32-bit emulation may kill the caller. */
static void
report32(const char *what, long nr, long a, long b, long c)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		long ret;

		__asm__ volatile("int $0x80" : "=a"(ret)
		    : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
		if (ret < 0 && ret > -4096) {
			errno = (int)-ret;
			ret = -1;
		}
		report(what, ret);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) == pid && WIFSIGNALED(st))
		printf("%s signal %d\n", what, WTERMSIG(st));
	fflush(stdout);
}

int
main(void)
{
	/* every argument is harmless: bad flags, missing files, no-ops */
	report("init_module", syscall(SYS_init_module, NULL, 0, ""));
	report("finit_module", syscall(SYS_finit_module, -1, "", 0));
	report("delete_module", syscall(SYS_delete_module, "cml_no_such", 0));
	report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL));
	report("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL));
	report("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
	report("add_key", syscall(SYS_add_key, "user", "cml-probe", "x", 1,
	    KEY_SPEC_PROCESS_KEYRING));
	report("request_key", syscall(SYS_request_key, "user", "cml-none",
	    NULL, 0));
	report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
	    KEY_SPEC_SESSION_KEYRING, 0));
	report("iopl", syscall(SYS_iopl, 0));
	report("ioperm", syscall(SYS_ioperm, 0x80, 1, 0));
	report("swapon", syscall(SYS_swapon, "/cml-none", 0));
	report("swapoff", syscall(SYS_swapoff, "/cml-none"));
	report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD,
	    NULL, 0));
	report("bpf", syscall(SYS_bpf, -1, NULL, 0));
	report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1,
	    -1, 0));
	report("userfaultfd", syscall(SYS_userfaultfd, ~0));
	/* i386: init_module 128, keyctl 288 */
	report32("init_module/i386", 128, 0, 0, 0);
	report32("keyctl/i386", 288, KEYCTL_GET_KEYRING_ID,
	    KEY_SPEC_SESSION_KEYRING, 0);
	/* last: it changes this process */
	report("unshare(CLONE_NEWUSER)", syscall(SYS_unshare, CLONE_NEWUSER));
	return 0;
}
EOF
_run_tool "gcc -static probe.c" gcc -static -O1 -o "$SCRATCH/probe" "$SCRATCH/probe.c"

denied="init_module finit_module delete_module kexec_load kexec_file_load reboot add_key request_key keyctl iopl ioperm swapon swapoff open_by_handle_at bpf perf_event_open userfaultfd init_module/i386 keyctl/i386 unshare(CLONE_NEWUSER)"
all_eperm=$(for s in $denied; do echo "$s EPERM"; done)

# --- the host, as an unprivileged user, for comparison --------------------------------
chmod 755 "$SCRATCH/probe"
host=$(as_user "" "$SCRATCH/probe" 2>&1)
host_of() {
	sed -n "s|^$(re_quote "$1") ||p" <<<"$host"
}
expect_eq "host, unprivileged: keyctl gets through" "ok" "$(host_of keyctl)"
expect_eq "host, unprivileged: add_key gets through" "ok" "$(host_of add_key)"
expect_eq "host, unprivileged: request_key finds no key" "ENOKEY" "$(host_of request_key)"
if [ ! -e /proc/modules ]; then
	expect_eq "host (a kernel without modules): init_module is not implemented" \
	    "ENOSYS" "$(host_of init_module)"
fi
i386=$(host_of keyctl/i386)
echo "# on the host, unprivileged: $(tr '\n' ',' <<<"$host")"

# --- inside ------------------------------------------------------------------------
name=$(ct_name sec)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"busybox"}}'
ct_start "$name"
pid=$(ct_show "$name" pid)
expect_eq "init runs under a seccomp filter" "Seccomp:	2" "$(grep '^Seccomp:' "/proc/$pid/status")"
expect_eq "an exec runs under a seccomp filter" "Seccomp:	2" \
    "$(ct_exec "$name" /bin/grep '^Seccomp:' /proc/self/status 2>&1)"

out=$(ct_exec "$name" /sbin/insmod /bin/busybox 2>&1)
expect_status "insmod inside" 1 $?
expect_eq "insmod inside: not permitted" "insmod: can't insert '/bin/busybox': Operation not permitted" "$out"
out=$(ct_exec "$name" /sbin/rmmod cml_none 2>&1)
expect_status "rmmod inside" 1 $?
expect_eq "rmmod inside: not permitted" "rmmod: can't unload module 'cml_none': Operation not permitted" "$out"

cp "$SCRATCH/probe" "/proc/$pid/root/tmp/probe" || fail "cannot copy the probe into $name"
out=$(ct_exec "$name" /tmp/probe 2>&1)
expect_status "the probe inside" 0 $?
if [ "$i386" = "signal 11" ] || [ "$i386" = "ENOSYS" ]; then
	# no 32-bit entry on this kernel: nothing to dodge the filter with
	echo "# this kernel has no 32-bit system call entry ($i386): the i386 probes show that"
	all_eperm=$(for s in $denied; do
		case "$s" in
		*/i386) echo "$s $i386" ;;
		*) echo "$s EPERM" ;;
		esac
	done)
fi
expect_eq "the probe inside: EPERM for every denied system call" "$all_eperm" "$out"

# the same from a process init started (not through exec)
init2=$(ct_name sec-init)
ct_create "$init2" '{"name":"'"$init2"'","guestos":{"name":"busybox"},"process":{"args":["/bin/sh","-c","while [ ! -x /tmp/probe ]; do sleep 0.1; done; /tmp/probe >/tmp/probe.out 2>&1; exec /sbin/init"]}}'
ct_start "$init2"
pid2=$(ct_show "$init2" pid)
cp "$SCRATCH/probe" "/proc/$pid2/root/tmp/probe.new" && mv "/proc/$pid2/root/tmp/probe.new" "/proc/$pid2/root/tmp/probe" ||
    fail "cannot copy the probe into $init2"
for ((i = 0; i < 50; i++)); do
	[ "$(wc -l 2>/dev/null <"/proc/$pid2/root/tmp/probe.out")" = "$(wc -l <<<"$all_eperm")" ] && break
	sleep 0.1
done
expect_eq "the probe run by init: EPERM for every denied system call" "$all_eperm" \
    "$(cat "/proc/$pid2/root/tmp/probe.out" 2>&1)"

finish
