/*
 * Unit tests of the cgroup v2 device program (daemon/cmld/c-devbpf.c): the
 * program made from a container's rules runs in a small interpreter of
 * the instructions it uses, and its verdict on every kind of access must
 * be that of the rules read directly (a rule allows an access when its
 * type, numbers and access letters cover it).  The kernel's side, loading
 * and enforcing it, is tested in tests/integration/container-cgroup-v2-vm.sh.
 * What each test proves is tagged on the test.
 */
#include "config.h"

#include <linux/bpf.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "container.h"

/* Runs prog on one access; fails the test on anything it cannot run. */
static int
run(const struct bpf_insn *prog, size_t len,
    const struct bpf_cgroup_dev_ctx *ctx)
{
	uint64_t r[11] = { 0 };
	size_t pc = 0, steps = 0;
	const struct bpf_insn *in;
	uint32_t v;

	r[1] = 0xc0de; /* the context */
	while (pc < len) {
		assert_true(++steps <= len); /* no loops: every jump is forward */
		in = &prog[pc];
		switch (in->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			assert_int_equal(r[in->src_reg], 0xc0de);
			assert_true(in->off >= 0 &&
			    (size_t)in->off + 4 <= sizeof *ctx);
			memcpy(&v, (const char *)ctx + in->off, 4);
			r[in->dst_reg] = v;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[in->dst_reg] = (uint32_t)r[in->dst_reg] &
			    (uint32_t)in->imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[in->dst_reg] = (uint32_t)r[in->dst_reg] >> in->imm;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X:
			r[in->dst_reg] = r[in->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[in->dst_reg] = (uint64_t)(int64_t)in->imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			assert_true(in->off >= 0);
			if (r[in->dst_reg] != (uint64_t)(int64_t)in->imm)
				pc += (size_t)in->off;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			fail_msg("instruction 0x%02x at %zu", in->code, pc);
		}
		pc++;
	}
	fail_msg("the program runs past its end");
	return -1;
}

/* The rules' own verdict. */
static int
expected(const struct container *c, char type, unsigned int major,
    unsigned int minor, const char *access)
{
	const struct container_device *d;
	size_t i;

	for (i = 0; i < c->ndevices; i++) {
		d = &c->devices[i];
		if (d->type != 'a' && (d->type != type ||
		    (d->major >= 0 && d->major != (long long)major) ||
		    (d->minor >= 0 && d->minor != (long long)minor)))
			continue;
		if (strspn(access, d->access) == strlen(access))
			return 1;
	}
	return 0;
}

/* The program's verdict on one access ("r", "rw", "m", ...). */
static int
verdict(const struct container *c, char type, unsigned int major,
    unsigned int minor, const char *access)
{
	struct bpf_cgroup_dev_ctx ctx;
	struct bpf_insn *prog;
	uint32_t bits = 0;
	size_t len;
	int v;

	for (; *access != '\0'; access++) {
		bits |= *access == 'r' ? BPF_DEVCG_ACC_READ :
		    *access == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.access_type = (bits << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK :
	    BPF_DEVCG_DEV_CHAR);
	ctx.major = major;
	ctx.minor = minor;
	prog = c_devices_bpf_program(c, &len);
	v = run(prog, len, &ctx);
	free(prog);
	return v;
}

static void
set_rules(struct container *c, struct container_device *d, size_t n)
{
	memset(c, 0, sizeof *c);
	c->devices = d;
	c->ndevices = n;
}

#define ALLOW(t, ma, mi, acc) \
	assert_int_equal(verdict(&c, (t), (ma), (mi), (acc)), 1)
#define DENY(t, ma, mi, acc) \
	assert_int_equal(verdict(&c, (t), (ma), (mi), (acc)), 0)

/*
 * Proves: TSF.DEV (the default list and nothing else),
 * CR 7.7 (every other device denied).
 */
static void
test_devbpf_defaults(void **state)
{
	struct container_device d[] = {
		{ 'c', 1, 3, "rwm" }, { 'c', 1, 5, "rwm" },
		{ 'c', 5, 0, "rwm" }, { 'c', 136, -1, "rwm" },
	};
	struct container c;

	(void)state;
	set_rules(&c, d, 4);
	ALLOW('c', 1, 3, "r");
	ALLOW('c', 1, 3, "rw");
	ALLOW('c', 1, 3, "m");
	ALLOW('c', 136, 0, "rw");
	ALLOW('c', 136, 1048575, "m");
	DENY('c', 1, 1, "r"); /* /dev/mem */
	DENY('b', 1, 3, "r"); /* the same numbers, a block device */
	DENY('c', 3, 1, "r");
	DENY('c', 137, 0, "r");
	DENY('b', 7, 0, "rw"); /* loop0 */
}

/*
 * Proves: TSF.DEV (only the access a rule gives),
 * CR 7.7 (every other device denied).
 */
static void
test_devbpf_access_subset(void **state)
{
	struct container_device d[] = {
		{ 'c', 5, 1, "r" }, { 'b', 8, -1, "rw" }, { 'c', 10, 229, "rm" },
	};
	struct container c;

	(void)state;
	set_rules(&c, d, 3);
	ALLOW('c', 5, 1, "r");
	DENY('c', 5, 1, "w");
	DENY('c', 5, 1, "rw");
	DENY('c', 5, 1, "m");
	ALLOW('b', 8, 0, "rw");
	ALLOW('b', 8, 17, "w");
	DENY('b', 8, 0, "m");
	DENY('c', 8, 0, "r");
	ALLOW('c', 10, 229, "m");
	ALLOW('c', 10, 229, "r");
	DENY('c', 10, 229, "w");
}

/*
 * Proves: TSF.DEV (no rule: every device denied),
 * CR 7.7 (every other device denied).
 */
static void
test_devbpf_all_and_none(void **state)
{
	struct container_device all[] = { { 'a', -1, -1, "rwm" } };
	struct container_device ro[] = { { 'a', -1, -1, "r" } };
	struct container c;

	(void)state;
	set_rules(&c, all, 1);
	ALLOW('c', 1, 1, "rwm");
	ALLOW('b', 259, 3, "w");
	set_rules(&c, ro, 1);
	ALLOW('b', 259, 3, "r");
	DENY('b', 259, 3, "w");
	set_rules(&c, NULL, 0);
	DENY('c', 1, 3, "r");
}

/*
 * Random rule sets against their own reading, every kind of access.
 * Proves: TSF.DEV (the program's verdict is the rules' own),
 * CR 7.7 (every other device denied).
 */
static void
test_devbpf_random(void **state)
{
	static const char *const accesses[] = {
		"r", "w", "m", "rw", "rm", "wm", "rwm",
	};
	struct container_device d[12];
	struct container c;
	unsigned int seed = 27070, major, minor;
	size_t n, i, a, round;
	char type;

	(void)state;
	for (round = 0; round < 300; round++) {
		n = (size_t)(rand_r(&seed) % 12);
		for (i = 0; i < n; i++) {
			d[i].type = "cbca"[rand_r(&seed) % (i == 0 ? 4 : 3)];
			d[i].major = rand_r(&seed) % 3 == 0 ? -1 :
			    rand_r(&seed) % 8;
			d[i].minor = rand_r(&seed) % 3 == 0 ? -1 :
			    rand_r(&seed) % 8;
			strcpy(d[i].access, accesses[rand_r(&seed) % 7]);
		}
		set_rules(&c, d, n);
		for (i = 0; i < 20; i++) {
			type = rand_r(&seed) % 2 ? 'c' : 'b';
			major = (unsigned int)(rand_r(&seed) % 9);
			minor = (unsigned int)(rand_r(&seed) % 9);
			a = (size_t)(rand_r(&seed) % 7);
			assert_int_equal(verdict(&c, type, major, minor,
			    accesses[a]), expected(&c, type, major, minor,
			    accesses[a]));
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devbpf_defaults),
		cmocka_unit_test(test_devbpf_access_subset),
		cmocka_unit_test(test_devbpf_all_and_none),
		cmocka_unit_test(test_devbpf_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
