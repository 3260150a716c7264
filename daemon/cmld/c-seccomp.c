/*
 * Container module: a seccomp filter (libseccomp) that denies with EPERM
 * what no service container needs and what would reach past its
 * namespaces: kernel modules, kexec, reboot, the kernel keyring, raw I/O
 * ports, swap, file handles, BPF, perf events, userfaultfd, accounting,
 * and new user namespaces (clone and unshare with CLONE_NEWUSER; clone3,
 * whose flags a filter cannot read, answers ENOSYS so that libc falls
 * back to clone).  The rules hold for every ABI the CPU runs (x86-64,
 * x32 and i386 on x86-64).  The filter is built in cmld, once per
 * container (container_free releases it); the child only loads it.  No no_new_privs: setuid programs in the guest keep working.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "xmalloc.h"

/* Denied with EPERM. */
static const char *const c_seccomp_denied[] = {
	"init_module", "finit_module", "delete_module", "create_module",
	"kexec_load", "kexec_file_load", "reboot",
	"add_key", "request_key", "keyctl",
	"iopl", "ioperm", "swapon", "swapoff",
	"open_by_handle_at", "bpf", "perf_event_open", "userfaultfd",
	"acct", "lookup_dcookie", "uselib", "nfsservctl", "vm86", "vm86old",
	"get_kernel_syms", "query_module",
};

/* The largest filter accepted, in bytes. */
#define C_SECCOMP_MAX (64 * 1024)

/* Adds the ABIs the native one can run, so a rule cannot be dodged. */
static int
c_seccomp_arches(scmp_filter_ctx ctx)
{
	uint32_t native = seccomp_arch_native();
	int rc;

	if (native == SCMP_ARCH_X86_64) {
		if ((rc = seccomp_arch_add(ctx, SCMP_ARCH_X86)) != 0 &&
		    rc != -EEXIST)
			return rc;
		if ((rc = seccomp_arch_add(ctx, SCMP_ARCH_X32)) != 0 &&
		    rc != -EEXIST)
			return rc;
	} else if (native == SCMP_ARCH_AARCH64) {
		if ((rc = seccomp_arch_add(ctx, SCMP_ARCH_ARM)) != 0 &&
		    rc != -EEXIST)
			return rc;
	}
	return 0;
}

/* Builds the filter and exports it as BPF into c->filter. */
static int
c_seccomp_prepare(struct container *c, char **cause)
{
	scmp_filter_ctx ctx;
	const char *what = "seccomp_init";
	off_t size;
	size_t i;
	int nr, rc = 0, fd = -1;

	if (c->filter != NULL)
		return 0;
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		*cause = xasprintf("the seccomp filter cannot be built: "
		    "seccomp_init failed");
		return -1;
	}
	what = "no_new_privs";
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) != 0)
		goto fail;
	what = "architectures";
	if ((rc = c_seccomp_arches(ctx)) != 0)
		goto fail;
	for (i = 0; i < sizeof c_seccomp_denied / sizeof c_seccomp_denied[0];
	    i++) {
		what = c_seccomp_denied[i];
		nr = seccomp_syscall_resolve_name(c_seccomp_denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr,
		    0)) != 0)
			goto fail;
	}
	what = "clone";
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone),
	    1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))) != 0)
		goto fail;
	what = "unshare";
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER,
	    CLONE_NEWUSER))) != 0)
		goto fail;
	what = "clone3";
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(clone3), 0)) != 0)
		goto fail;

	what = "export";
	if ((fd = memfd_create("cml-seccomp", MFD_CLOEXEC)) == -1) {
		rc = -errno;
		goto fail;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) != 0)
		goto fail;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size > C_SECCOMP_MAX ||
	    size % (off_t)sizeof(struct sock_filter) != 0) {
		rc = -EINVAL;
		goto fail;
	}
	c->filter = xmalloc((size_t)size);
	if (pread(fd, c->filter, (size_t)size, 0) != size) {
		rc = errno != 0 ? -errno : -EIO;
		free(c->filter);
		c->filter = NULL;
		goto fail;
	}
	c->filter_len = (size_t)size / sizeof(struct sock_filter);
	close(fd);
	seccomp_release(ctx);
	return 0;
fail:
	*cause = xasprintf("the seccomp filter cannot be built (%s): %s", what,
	    strerror(-rc));
	if (fd != -1)
		close(fd);
	seccomp_release(ctx);
	return -1;
}

/* Loads the filter (needs CAP_SYS_ADMIN: the caps go after this). */
static int
c_seccomp_child(struct container *c)
{
	struct sock_fprog prog;

	memset(&prog, 0, sizeof prog);
	prog.len = (unsigned short)c->filter_len;
	prog.filter = c->filter;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == -1)
		return container_child_fail(c, errno, "loading the seccomp "
		    "filter failed");
	return 0;
}

const struct container_module c_seccomp_module = {
	.name = "seccomp",
	.prepare = c_seccomp_prepare,
	.child = c_seccomp_child,
	.enter = c_seccomp_child,
	.adopt = c_seccomp_prepare,
};
