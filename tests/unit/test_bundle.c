/*
 * Unit tests of common/bundle.c: a bundle written with bundle_trailer and
 * read back with bundle_read, then every kind of broken layout and
 * manifest refused with its own message, on real files in a private
 * temporary directory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "xmalloc.h"

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A bundle being made: its bytes. */
struct buf {
	unsigned char *p;
	size_t len;
};

static void
put(struct buf *b, const void *p, size_t len)
{
	b->p = xreallocarray(b->p, 1, b->len + len);
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

/*
 * Makes a bundle: payload bytes plen long at 0, manifest json after it
 * (at manifest_at, which must be >= plen), then nsigs signatures of
 * siglen bytes each, their table and the footer.
 */
static struct buf
make(size_t plen, size_t manifest_at, const char *json, uint32_t nsigs,
    uint32_t siglen)
{
	struct bundle_layout l;
	struct buf b = { NULL, 0 };
	unsigned char trailer[BUNDLE_SIGS_MAX * BUNDLE_SIGENTRY_LEN +
	    BUNDLE_FOOTER_LEN], *zero;
	uint32_t i;

	zero = xcalloc(1, manifest_at + 1);
	memset(zero, 'p', plen);
	put(&b, zero, manifest_at);
	free(zero);
	memset(&l, 0, sizeof l);
	l.manifest_offset = b.len;
	l.manifest_len = (uint32_t)strlen(json);
	put(&b, json, strlen(json));
	l.nsigs = nsigs;
	for (i = 0; i < nsigs; i++) {
		zero = xmalloc(siglen);
		memset(zero, 's' + (int)i, siglen);
		l.sigs[i].offset = b.len;
		l.sigs[i].len = siglen;
		put(&b, zero, siglen);
		free(zero);
	}
	l.sigtable_offset = b.len;
	put(&b, trailer, bundle_trailer(&l, trailer));
	return b;
}

/* Writes b to a temporary file; returns its descriptor (unlinked). */
static int
to_fd(const struct buf *b)
{
	char path[] = "/tmp/cml-test-bundle.XXXXXX";
	int fd;

	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_int_equal(write(fd, b->p, b->len), (ssize_t)b->len);
	return fd;
}

#define MANIFEST(payloads) \
	"{\"format\":1,\"kind\":\"guestos\",\"name\":\"busybox\"," \
	"\"version\":\"1.2.0\",\"description\":\"a test\",\"payloads\":[" \
	payloads "]}"
#define PAYLOAD(name, off, size) \
	"{\"name\":\"" name "\",\"offset\":" #off ",\"size\":" #size \
	",\"sha256\":\"" SHA_A "\"}"

#define CML(payloads) \
	"{\"format\":1,\"kind\":\"cml\",\"name\":\"cml\"," \
	"\"version\":\"2\",\"payloads\":[" payloads "]}"
#define PLACED(name, off, size, path, mode) \
	"{\"name\":\"" name "\",\"offset\":" #off ",\"size\":" #size \
	",\"sha256\":\"" SHA_A "\",\"path\":\"" path "\",\"mode\":\"" mode "\"}"

/* Reads b; returns bundle_read's value, *cause set on failure. */
static int
read_buf(const struct buf *b, struct bundle_layout *l,
    struct bundle_manifest *m, char **cause)
{
	unsigned char *sigs[BUNDLE_SIGS_MAX];
	char *manifest;
	int fd, rc, i;

	fd = to_fd(b);
	rc = bundle_read(fd, l, &manifest, m, sigs, cause);
	close(fd);
	if (rc == 0) {
		assert_int_equal(strlen(manifest), l->manifest_len);
		for (i = 0; i < (int)l->nsigs; i++) {
			assert_int_equal(sigs[i][0], 's' + i);
			free(sigs[i]);
		}
	}
	if (rc == 0)
		free(manifest);
	return rc;
}

/* Proves: TSF.UPD (a bundle's layout and manifest read back as written). */
static void
test_bundle_round_trip(void **state)
{
	struct bundle_layout l;
	struct bundle_manifest m;
	struct buf b;
	char *cause = NULL;

	(void)state;
	b = make(5000, 8192, MANIFEST(PAYLOAD("root.squashfs", 0, 4096) ","
	    PAYLOAD("data.ext4", 4096, 904)), 2, 300);
	assert_int_equal(read_buf(&b, &l, &m, &cause), 0);
	assert_null(cause);
	assert_int_equal(l.nsigs, 2);
	assert_int_equal(l.manifest_offset, 8192);
	assert_int_equal(l.sigs[0].offset, 8192 + l.manifest_len);
	assert_int_equal(l.sigs[1].offset, l.sigs[0].offset + 300);
	assert_int_equal(l.size, b.len);
	assert_int_equal(m.kind, BUNDLE_GUESTOS);
	assert_string_equal(bundle_kind_name(m.kind), "guestos");
	assert_string_equal(m.name, "busybox");
	assert_string_equal(m.version, "1.2.0");
	assert_string_equal(m.description, "a test");
	assert_int_equal(m.npayloads, 2);
	assert_string_equal(m.payloads[1].name, "data.ext4");
	assert_int_equal(m.payloads[1].offset, 4096);
	assert_int_equal(m.payloads[1].size, 904);
	assert_string_equal(m.payloads[1].sha256, SHA_A);
	bundle_manifest_clear(&m);
	free(b.p);

	/* cml: each payload placed by its path, with its mode */
	b = make(5000, 8192, CML(PLACED("sbin.cmld", 0, 4096, "sbin/cmld",
	    "0755") "," PLACED("man", 4096, 10, "share/man/man8/cmld.8",
	    "0644")), 1, 300);
	assert_int_equal(read_buf(&b, &l, &m, &cause), 0);
	assert_int_equal(m.kind, BUNDLE_CML);
	assert_string_equal(m.payloads[0].path, "sbin/cmld");
	assert_int_equal(m.payloads[0].mode, 0755);
	assert_string_equal(m.payloads[1].path, "share/man/man8/cmld.8");
	assert_int_equal(m.payloads[1].mode, 0644);
	bundle_manifest_clear(&m);
	free(b.p);

	/* still being made: no signature yet */
	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 0, 0);
	assert_int_equal(read_buf(&b, &l, &m, &cause), 0);
	assert_int_equal(l.nsigs, 0);
	bundle_manifest_clear(&m);
	free(b.p);
}

/* Expects b refused with want; frees b. */
static void
refused(struct buf *b, const char *want)
{
	struct bundle_layout l;
	struct bundle_manifest m;
	char *cause = NULL;

	assert_int_equal(read_buf(b, &l, &m, &cause), -1);
	assert_non_null(cause);
	if (strcmp(cause, want) != 0)
		fail_msg("message \"%s\", expected \"%s\"", cause, want);
	free(cause);
	free(b->p);
}

/* Proves: TSF.UPD, NDR 3.10 (a bundle whose layout is broken is refused). */
static void
test_bundle_layout_refused(void **state)
{
	struct buf b;
	size_t f;

	(void)state;
	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	b.len = 10;
	refused(&b, "not a bundle: shorter than its footer");

	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	b.p[b.len - 1] = 'X';
	refused(&b, "not a bundle: no bundle footer at its end");

	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	f = b.len - BUNDLE_FOOTER_LEN;
	b.p[f + 8] = 2;
	refused(&b, "bundle format 2: this cml reads format 1");

	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	b.p[b.len - BUNDLE_FOOTER_LEN + 44] = 1;
	refused(&b, "bundle footer: reserved bytes are not zero");

	/* one more signature than the table holds */
	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	b.p[b.len - BUNDLE_FOOTER_LEN + 12] = 2;
	refused(&b, "bundle footer: the signature table does not end where "
	    "the footer begins");

	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	b.p[b.len - BUNDLE_FOOTER_LEN + 12] = 17;
	refused(&b, "bundle has 17 signatures, at most 16");

	/* a manifest longer than the room before the signatures */
	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	b.p[b.len - BUNDLE_FOOTER_LEN + 25] = 0x40;
	refused(&b, "bundle footer: the manifest does not lie before the "
	    "signatures");

	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	memset(b.p + b.len - BUNDLE_FOOTER_LEN + 24, 0, 4);
	refused(&b, "bundle manifest of 0 bytes: 1 to 262144");

	/* a gap between the signatures: the second placed one byte later */
	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 2, 10);
	b.p[b.len - BUNDLE_FOOTER_LEN - BUNDLE_SIGENTRY_LEN] += 1;
	refused(&b, "bundle signature 2 does not lie right after the one "
	    "before (1 to 65536 bytes)");

	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	b.p[b.len - BUNDLE_FOOTER_LEN - 2] = 1;
	refused(&b, "bundle signature 1: reserved bytes are not zero");

	/* the last signature shorter than its room */
	b = make(1, 4096, MANIFEST(PAYLOAD("a", 0, 1)), 1, 10);
	b.p[b.len - BUNDLE_FOOTER_LEN - BUNDLE_SIGENTRY_LEN + 8] = 9;
	refused(&b, "bundle: bytes between the signatures and their table");
}

/* Proves: TSF.UPD (a manifest's every fault refused with its own message). */
static void
test_bundle_manifest_refused(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "[]", "bundle manifest must be a JSON object" },
		{ "{\"format\":2,\"kind\":\"cml\",\"name\":\"a\",\"version\":"
		    "\"1\",\"payloads\":[" PAYLOAD("a", 0, 1) "]}",
		    "format must be 1" },
		{ "{\"format\":1,\"kind\":\"kernel\",\"name\":\"a\",\"version\":"
		    "\"1\",\"payloads\":[" PAYLOAD("a", 0, 1) "]}",
		    "kind 'kernel' must be guestos, configs, cml or boot" },
		{ "{\"format\":1,\"kind\":\"cml\",\"name\":\"A\",\"version\":"
		    "\"1\",\"payloads\":[" PAYLOAD("a", 0, 1) "]}",
		    "name 'A' must be 1 to 64 of a-z 0-9 . _ -, starting with a "
		    "letter or digit" },
		{ "{\"format\":1,\"kind\":\"cml\",\"name\":\"a\",\"version\":"
		    "\"01\",\"payloads\":[" PAYLOAD("a", 0, 1) "]}",
		    "version '01' must be 1 to 4 numbers separated by dots, "
		    "without leading zeros" },
		{ "{\"format\":1,\"kind\":\"cml\",\"name\":\"a\",\"version\":"
		    "\"1\",\"payloads\":[" PAYLOAD("a", 0, 1) "],\"x\":1}",
		    "unknown field 'x' in the bundle manifest" },
		{ MANIFEST(""), "payloads must be an array of 1 to 256 "
		    "payloads" },
		{ CML(PAYLOAD("a", 0, 1)), "payloads[0] needs a path: a cml "
		    "bundle places every payload by its path, other kinds by "
		    "its name" },
		{ MANIFEST(PLACED("a", 0, 1, "sbin/a", "0755")), "payloads[0] "
		    "must not have a path: a cml bundle places every payload "
		    "by its path, other kinds by its name" },
		{ CML(PLACED("a", 0, 1, "../sbin/a", "0755")),
		    "payloads[0].path '../sbin/a' must be a relative path of at "
		    "most 255 bytes whose parts are plain file names" },
		{ CML(PLACED("a", 0, 1, "/sbin/a", "0755")),
		    "payloads[0].path '/sbin/a' must be a relative path of at "
		    "most 255 bytes whose parts are plain file names" },
		{ CML(PLACED("a", 0, 1, "sbin//a", "0755")),
		    "payloads[0].path 'sbin//a' must be a relative path of at "
		    "most 255 bytes whose parts are plain file names" },
		{ CML(PLACED("a", 0, 1, "sbin/", "0755")),
		    "payloads[0].path 'sbin/' must be a relative path of at "
		    "most 255 bytes whose parts are plain file names" },
		{ CML(PLACED("a", 0, 1, "sbin/.a", "0755")),
		    "payloads[0].path 'sbin/.a' must be a relative path of at "
		    "most 255 bytes whose parts are plain file names" },
		{ CML(PLACED("a", 0, 1, "sbin/a", "4755")),
		    "payloads[0].mode must be \"0644\" or \"0755\"" },
		{ CML(PLACED("a", 0, 1, "sbin", "0755") ","
		    PLACED("b", 4096, 1, "sbin/cmld", "0755")),
		    "payloads[1].path 'sbin/cmld' clashes with payloads[0].path "
		    "'sbin'" },
		{ CML(PLACED("a", 0, 1, "sbin/cmld", "0755") ","
		    PLACED("b", 4096, 1, "sbin/cmld", "0644")),
		    "payloads[1].path 'sbin/cmld' clashes with payloads[0].path "
		    "'sbin/cmld'" },
		{ MANIFEST(PAYLOAD("../a", 0, 1)), "payloads[0].name '../a' "
		    "must be a plain file name of 1 to 128 of A-Z a-z 0-9 . _ "
		    "-, not starting with ." },
		{ MANIFEST(PAYLOAD("a", 1, 1)), "payloads[0] must begin on a "
		    "4096-byte boundary after the payload before it, hold at "
		    "least a byte and end before the manifest" },
		{ MANIFEST(PAYLOAD("a", 0, 8193)), "payloads[0] must begin on "
		    "a 4096-byte boundary after the payload before it, hold at "
		    "least a byte and end before the manifest" },
		{ MANIFEST(PAYLOAD("a", 0, 0)), "payloads[0] must begin on a "
		    "4096-byte boundary after the payload before it, hold at "
		    "least a byte and end before the manifest" },
		{ MANIFEST(PAYLOAD("a", 0, 2) "," PAYLOAD("b", 0, 1)),
		    "payloads[1] must begin on a 4096-byte boundary after the "
		    "payload before it, hold at least a byte and end before "
		    "the manifest" },
		{ MANIFEST(PAYLOAD("a", 0, 1) "," PAYLOAD("a", 4096, 1)),
		    "payloads[1].name 'a' is given twice" },
		{ MANIFEST("{\"name\":\"a\",\"offset\":0,\"size\":1,"
		    "\"sha256\":\"abc\"}"),
		    "payloads[0].sha256 must be 64 lower-case hex digits" },
		{ MANIFEST("{\"name\":\"a\",\"offset\":-4096,\"size\":1,"
		    "\"sha256\":\"" SHA_A "\"}"),
		    "payloads[0].offset must be an integer of at least 0" },
	};
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		/* room for two payloads: the manifest at 8192 */
		b = make(8192, 8192, cases[i].json, 1, 10);
		refused(&b, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle_round_trip),
		cmocka_unit_test(test_bundle_layout_refused),
		cmocka_unit_test(test_bundle_manifest_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
