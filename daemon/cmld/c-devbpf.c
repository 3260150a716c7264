/*
 * The device allow list on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE
 * program made from the container's rules and attached to its group, the
 * v2 counterpart of devices.deny "a" plus one devices.allow per rule.
 *
 * The kernel asks the program about every mknod and open of a device node
 * by a process of the group, with the device's type, major and minor
 * number and the access wanted (read, write, mknod).  The program allows
 * when a rule matches all four, and denies (EPERM) otherwise.  It is
 * attached with BPF_F_ALLOW_MULTI, so whatever the groups above have
 * attached is asked as well: both must allow.  It lives as long as the
 * group: removing the group detaches it.
 */
#include "config.h"

#include <sys/syscall.h>

#include <linux/bpf.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "xmalloc.h"

/* The most instructions a rule takes, and those around the rules. */
#define C_DEVBPF_RULE_MAX 8
#define C_DEVBPF_FIXED 8
#define C_DEVBPF_LOG 4096

/* Registers: the context, then its fields once loaded. */
#define R0 0
#define R1 1 /* the context; scratch after the loads */
#define R2 2 /* device type: BPF_DEVCG_DEV_CHAR or BPF_DEVCG_DEV_BLOCK */
#define R3 3 /* access wanted: BPF_DEVCG_ACC_* bits */
#define R4 4 /* major */
#define R5 5 /* minor */

static struct bpf_insn
c_devbpf_insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off,
    int32_t imm)
{
	struct bpf_insn in;

	memset(&in, 0, sizeof in);
	in.code = code;
	in.dst_reg = dst & 0xf;
	in.src_reg = src & 0xf;
	in.off = off;
	in.imm = imm;
	return in;
}

/* dst = *(u32 *)(R1 + off) */
#define LDW(dst, off) \
	c_devbpf_insn(BPF_LDX | BPF_MEM | BPF_W, (dst), R1, (off), 0)
/* if (reg != imm) goto +off */
#define JNE(reg, imm, off) \
	c_devbpf_insn(BPF_JMP | BPF_JNE | BPF_K, (reg), 0, (off), (imm))
#define AND32(dst, imm) \
	c_devbpf_insn(BPF_ALU | BPF_AND | BPF_K, (dst), 0, 0, (imm))
#define RSH32(dst, imm) \
	c_devbpf_insn(BPF_ALU | BPF_RSH | BPF_K, (dst), 0, 0, (imm))
#define MOV64(dst, src) \
	c_devbpf_insn(BPF_ALU64 | BPF_MOV | BPF_X, (dst), (src), 0, 0)
#define MOV64I(dst, imm) \
	c_devbpf_insn(BPF_ALU64 | BPF_MOV | BPF_K, (dst), 0, 0, (imm))
#define EXIT() c_devbpf_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* The BPF_DEVCG_ACC_* bits of an access string such as "rwm". */
static int32_t
c_devbpf_access(const char *access)
{
	int32_t bits = 0;

	for (; *access != '\0'; access++) {
		if (*access == 'r')
			bits |= BPF_DEVCG_ACC_READ;
		else if (*access == 'w')
			bits |= BPF_DEVCG_ACC_WRITE;
		else if (*access == 'm')
			bits |= BPF_DEVCG_ACC_MKNOD;
	}
	return bits;
}

/*
 * Appends the instructions of one rule at prog[*n]: a test for each part
 * the rule restricts, each jumping past the rule when it does not hold,
 * then "allow".
 */
static void
c_devbpf_rule(const struct container_device *d, struct bpf_insn *prog,
    size_t *n)
{
	struct bpf_insn block[C_DEVBPF_RULE_MAX];
	const int32_t all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE |
	    BPF_DEVCG_ACC_MKNOD;
	int32_t bits = c_devbpf_access(d->access);
	size_t len = 0, i;

	if (d->type == 'c' || d->type == 'b') {
		block[len++] = JNE(R2, d->type == 'c' ? BPF_DEVCG_DEV_CHAR :
		    BPF_DEVCG_DEV_BLOCK, 0);
	}
	if ((bits & all) != all) {
		/* Every access wanted must be one the rule grants. */
		block[len++] = MOV64(R1, R3);
		block[len++] = AND32(R1, all & ~bits);
		block[len++] = JNE(R1, 0, 0);
	}
	if (d->type != 'a' && d->major >= 0)
		block[len++] = JNE(R4, (int32_t)d->major, 0);
	if (d->type != 'a' && d->minor >= 0)
		block[len++] = JNE(R5, (int32_t)d->minor, 0);
	block[len++] = MOV64I(R0, 1);
	block[len++] = EXIT();
	/* A failed test skips what is left of the block. */
	for (i = 0; i < len; i++) {
		if (block[i].code == (BPF_JMP | BPF_JNE | BPF_K))
			block[i].off = (int16_t)(len - i - 1);
		prog[(*n)++] = block[i];
	}
}

struct bpf_insn *
c_devices_bpf_program(const struct container *c, size_t *len)
{
	struct bpf_insn *prog;
	size_t i, n = 0;

	prog = xcalloc(C_DEVBPF_FIXED + c->ndevices * C_DEVBPF_RULE_MAX,
	    sizeof *prog);
	/* access_type is (access << 16) | type. */
	prog[n++] = LDW(R2, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	prog[n++] = AND32(R2, 0xffff);
	prog[n++] = LDW(R3, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	prog[n++] = RSH32(R3, 16);
	prog[n++] = LDW(R4, offsetof(struct bpf_cgroup_dev_ctx, major));
	prog[n++] = LDW(R5, offsetof(struct bpf_cgroup_dev_ctx, minor));
	for (i = 0; i < c->ndevices; i++)
		c_devbpf_rule(&c->devices[i], prog, &n);
	/* No rule matched: denied. */
	prog[n++] = MOV64I(R0, 0);
	prog[n++] = EXIT();
	*len = n;
	return prog;
}

int
c_devices_bpf_attach(struct container *c, const char *dir, char **cause)
{
	union bpf_attr attr;
	struct bpf_insn *prog;
	char *log = NULL;
	size_t len;
	int pfd, cfd, saved;

	prog = c_devices_bpf_program(c, &len);
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = (uint32_t)len;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	if (pfd == -1 && errno == EINVAL) {
		/* Again, for the verifier's reason. */
		log = xcalloc(1, C_DEVBPF_LOG);
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = C_DEVBPF_LOG;
		attr.log_level = 1;
		pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	}
	saved = errno;
	free(prog);
	if (pfd == -1) {
		*cause = xasprintf("container '%s' cannot have its device allow "
		    "list on cgroup v2: loading the BPF device program failed: "
		    "%s%s%s", c->name, strerror(saved),
		    log != NULL && log[0] != '\0' ? ": " : "",
		    log != NULL ? log : "");
		free(log);
		return -1;
	}
	free(log);
	if ((cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open cgroup %s: %s", dir,
		    strerror(errno));
		close(pfd);
		return -1;
	}
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cfd;
	attr.attach_bpf_fd = (uint32_t)pfd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) == -1) {
		*cause = xasprintf("container '%s' cannot have its device allow "
		    "list on cgroup v2: attaching the BPF device program to %s "
		    "failed: %s", c->name, dir, strerror(errno));
		close(cfd);
		close(pfd);
		return -1;
	}
	/* The group holds the program now. */
	close(cfd);
	close(pfd);
	return 0;
}
