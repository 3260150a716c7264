/*
 * Unit tests of the version floor table tpm2d keeps in the TPM
 * (daemon/tpm2d/floor.c), without a TPM: the key of a kind and name, the
 * bytes of the table as floor.h lays them out, what a damaged or unknown
 * table is refused for, and raising (never lowering) a floor, in a full
 * table too.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "floor.h"
#include "xmalloc.h"

/* The key of kind/name as 16 hex digits. */
static void
key_hex(const char *kind, const char *name, char *out)
{
	unsigned char key[FLOOR_KEY_LEN];
	size_t i;

	crypto_floor_key(kind, name, key);
	for (i = 0; i < FLOOR_KEY_LEN; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", key[i]);
}

/*
 * The key is the first 8 bytes of SHA-256("KIND/NAME") (the values were
 * computed apart, with Python's hashlib), so another program finds the
 * entry of a name without cml's code.
 * Proves: TSF.UPD (the version floors the TPM holds are found by kind
 * and name).
 */
static void
test_floor_key_is_sha256_prefix(void **state)
{
	char hex[2 * FLOOR_KEY_LEN + 1];

	(void)state;
	key_hex("guestos", "core", hex);
	assert_string_equal(hex, "8e7b1c1f77ed8d57");
	key_hex("cml", "cml", hex);
	assert_string_equal(hex, "015faab28b7af14a");
	key_hex("boot", "kernel", hex);
	assert_string_equal(hex, "8722238ce1621c8e");
	assert_true(floor_kind_ok("guestos"));
	assert_true(floor_kind_ok("configs"));
	assert_true(floor_kind_ok("cml"));
	assert_true(floor_kind_ok("boot"));
	assert_false(floor_kind_ok("kernel"));
	assert_false(floor_kind_ok(""));
	assert_false(floor_kind_ok("guestos/"));
}

/*
 * An index of 1024 bytes (swtpm's TPM2_PT_NV_BUFFER_MAX) holds 42
 * entries of 24 bytes after the 8-byte header; never more than
 * FLOOR_SIZE_MAX counts.
 * Proves: none (the capacity of the floor index).
 */
static void
test_floor_capacity_by_size(void **state)
{
	(void)state;
	assert_int_equal(floor_capacity(1024), 42);
	assert_int_equal(FLOOR_ENTRIES_MAX, 42);
	assert_int_equal(floor_capacity(2048), 42);
	assert_int_equal(floor_capacity(512), 21);
	assert_int_equal(floor_capacity(FLOOR_SIZE_MIN), 1);
	assert_int_equal(floor_capacity(FLOOR_SIZE_MIN - 1), 0);
}

/*
 * A version is kept as four parts and said without trailing zero parts.
 * Proves: none (versions of the floor table as text).
 */
static void
test_floor_version_text_trims_zero_parts(void **state)
{
	static const uint32_t a[4] = { 1, 2, 0, 0 }, b[4] = { 0, 0, 0, 0 },
	    c[4] = { 999999999, 0, 0, 7 }, d[4] = { 10, 0, 3, 0 };
	char buf[FLOOR_VERSION_TEXT];

	(void)state;
	floor_version_text(a, buf);
	assert_string_equal(buf, "1.2");
	floor_version_text(b, buf);
	assert_string_equal(buf, "0");
	floor_version_text(c, buf);
	assert_string_equal(buf, "999999999.0.0.7");
	floor_version_text(d, buf);
	assert_string_equal(buf, "10.0.3");
}

/*
 * Two floors give exactly the bytes floor.h lays out: "CMLF", format 1,
 * 0, the count big-endian, the entries sorted by key (cml/cml's 015f...
 * before guestos/core's 8e7b...) with four big-endian parts each, zeros to
 * the end; and they read back as they were.
 * Proves: TSF.UPD (the floor table's format, one table in one index).
 */
static void
test_floor_encode_layout_exact(void **state)
{
	static const unsigned char want[] = {
		'C', 'M', 'L', 'F', 1, 0, 0, 2,
		0x01, 0x5f, 0xaa, 0xb2, 0x8b, 0x7a, 0xf1, 0x4a,
		0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x8e, 0x7b, 0x1c, 0x1f, 0x77, 0xed, 0x8d, 0x57,
		0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
	};
	struct floor_table ft, back;
	unsigned char key[FLOOR_KEY_LEN], buf[FLOOR_SIZE_MAX];
	char old[FLOOR_VERSION_TEXT], now[FLOOR_VERSION_TEXT], *cause = NULL;
	size_t i;

	(void)state;
	floor_table_init(&ft, 1024);
	crypto_floor_key("guestos", "core", key);
	assert_int_equal(floor_raise(&ft, key, "1.2.0.256", old, now), 1);
	assert_string_equal(old, "");
	assert_string_equal(now, "1.2.0.256");
	crypto_floor_key("cml", "cml", key);
	assert_int_equal(floor_raise(&ft, key, "3", old, now), 1);
	floor_encode(&ft, buf);
	assert_memory_equal(buf, want, sizeof want);
	for (i = sizeof want; i < 1024; i++)
		if (buf[i] != 0)
			fail_msg("byte %zu is %u, not 0", i, buf[i]);
	assert_int_equal(floor_decode(buf, 1024, &back, &cause), 0);
	assert_int_equal(back.count, 2);
	assert_int_equal(back.size, 1024);
	assert_memory_equal(back.entries, ft.entries,
	    2 * sizeof ft.entries[0]);
}

/* Encodes a table of one floor into buf (1024 bytes). */
static void
one_floor(unsigned char *buf)
{
	struct floor_table ft;
	unsigned char key[FLOOR_KEY_LEN];
	char old[FLOOR_VERSION_TEXT], now[FLOOR_VERSION_TEXT];

	floor_table_init(&ft, 1024);
	crypto_floor_key("guestos", "core", key);
	assert_int_equal(floor_raise(&ft, key, "2.1", old, now), 1);
	crypto_floor_key("boot", "kernel", key);
	assert_int_equal(floor_raise(&ft, key, "6.1.0", old, now), 1);
	floor_encode(&ft, buf);
}

/* Expects buf (changed by the caller) to be refused, saying why. */
static void
refused(const unsigned char *buf, size_t size, const char *why)
{
	struct floor_table ft;
	char *cause = NULL;

	assert_int_equal(floor_decode(buf, size, &ft, &cause), -1);
	assert_non_null(cause);
	if (strstr(cause, why) == NULL)
		fail_msg("'%s' does not say '%s'", cause, why);
	assert_int_equal(ft.count, 0);
	free(cause);
}

/*
 * A table tpm2d did not write as it writes is refused with the reason,
 * never half read: another magic, a newer format, a count beyond the
 * room, entries out of order or twice, a part above 999999999, bytes
 * after the entries, a size out of range.
 * Proves: TSF.UPD (a floor table that is not understood is never taken
 * for fewer floors).
 */
static void
test_floor_decode_damaged_refused(void **state)
{
	unsigned char buf[FLOOR_SIZE_MAX], good[FLOOR_SIZE_MAX], e[24];

	(void)state;
	one_floor(good);

	memcpy(buf, good, sizeof buf);
	buf[0] = 'X';
	refused(buf, 1024, "does not start with \"CMLF\"");
	memcpy(buf, good, sizeof buf);
	buf[4] = 2;
	refused(buf, 1024, "format 2, which this tpm2d does not know");
	memcpy(buf, good, sizeof buf);
	buf[7] = 43;
	refused(buf, 1024, "43 entries of room for 42");
	memcpy(buf, good, sizeof buf);
	buf[5] = 1;
	refused(buf, 1024, "entries of room for");
	/* the two entries swapped */
	memcpy(buf, good, sizeof buf);
	memcpy(e, buf + 8, 24);
	memcpy(buf + 8, buf + 32, 24);
	memcpy(buf + 32, e, 24);
	refused(buf, 1024, "entry 2 is out of order");
	/* one key twice */
	memcpy(buf, good, sizeof buf);
	memcpy(buf + 32, buf + 8, 8);
	refused(buf, 1024, "entry 2 is out of order");
	memcpy(buf, good, sizeof buf);
	buf[16] = 0x3b;
	buf[17] = 0x9a;
	buf[18] = 0xca;
	buf[19] = 0x00; /* 1000000000 */
	refused(buf, 1024, "entry 1 holds no version");
	memcpy(buf, good, sizeof buf);
	buf[1023] = 1;
	refused(buf, 1024, "byte 1023 after its 2 entries is not zero");
	refused(good, FLOOR_SIZE_MIN - 1, "bytes, not 32 to 1024");
}

/*
 * A floor only rises: a lower or equal version ("2.1.0" is "2.1") changes
 * nothing and says the floor; a higher one replaces it, compared part by
 * part as numbers (2.10 is above 2.9).
 * Proves: TSF.UPD, NDR 3.10 (a version floor per kind and name that never
 * goes down).
 */
static void
test_floor_raise_never_lowers(void **state)
{
	struct floor_table ft;
	unsigned char key[FLOOR_KEY_LEN], before[FLOOR_SIZE_MAX];
	unsigned char after[FLOOR_SIZE_MAX];
	char old[FLOOR_VERSION_TEXT], now[FLOOR_VERSION_TEXT];

	(void)state;
	floor_table_init(&ft, 1024);
	crypto_floor_key("configs", "web", key);
	assert_int_equal(floor_raise(&ft, key, "2.9", old, now), 1);
	floor_encode(&ft, before);

	assert_int_equal(floor_raise(&ft, key, "2.8.99", old, now), 0);
	assert_string_equal(old, "2.9");
	assert_string_equal(now, "2.9");
	assert_int_equal(floor_raise(&ft, key, "2.9.0.0", old, now), 0);
	assert_string_equal(now, "2.9");
	assert_int_equal(floor_raise(&ft, key, "1", old, now), 0);
	floor_encode(&ft, after);
	assert_memory_equal(before, after, 1024);

	assert_int_equal(floor_raise(&ft, key, "2.10", old, now), 1);
	assert_string_equal(old, "2.9");
	assert_string_equal(now, "2.10");
	assert_int_equal(ft.count, 1);
	assert_int_equal(ft.entries[0].parts[0], 2);
	assert_int_equal(ft.entries[0].parts[1], 10);
	/* another kind of the same name is another floor */
	crypto_floor_key("guestos", "web", key);
	assert_int_equal(floor_raise(&ft, key, "1", old, now), 1);
	assert_string_equal(old, "");
	assert_int_equal(ft.count, 2);
}

/*
 * A full table refuses a new name and stays as it was; a floor it holds
 * still rises.
 * Proves: TSF.UPD (a full floor index keeps every floor it holds).
 */
static void
test_floor_raise_full_keeps_old(void **state)
{
	struct floor_table ft;
	unsigned char key[FLOOR_KEY_LEN], before[FLOOR_SIZE_MAX];
	unsigned char after[FLOOR_SIZE_MAX];
	char old[FLOOR_VERSION_TEXT], now[FLOOR_VERSION_TEXT], name[16];
	size_t i;

	(void)state;
	floor_table_init(&ft, 1024);
	for (i = 0; i < 42; i++) {
		(void)snprintf(name, sizeof name, "os%zu", i);
		crypto_floor_key("guestos", name, key);
		assert_int_equal(floor_raise(&ft, key, "1.0", old, now), 1);
	}
	assert_int_equal(ft.count, 42);
	for (i = 1; i < ft.count; i++)
		assert_true(memcmp(ft.entries[i - 1].key, ft.entries[i].key,
		    FLOOR_KEY_LEN) < 0);
	floor_encode(&ft, before);
	crypto_floor_key("guestos", "one-too-many", key);
	assert_int_equal(floor_raise(&ft, key, "1.0", old, now), -1);
	floor_encode(&ft, after);
	assert_memory_equal(before, after, 1024);

	crypto_floor_key("guestos", "os7", key);
	assert_int_equal(floor_raise(&ft, key, "1.1", old, now), 1);
	assert_string_equal(old, "1");
	assert_string_equal(now, "1.1");
	assert_int_equal(ft.count, 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_floor_key_is_sha256_prefix),
		cmocka_unit_test(test_floor_capacity_by_size),
		cmocka_unit_test(test_floor_version_text_trims_zero_parts),
		cmocka_unit_test(test_floor_encode_layout_exact),
		cmocka_unit_test(test_floor_decode_damaged_refused),
		cmocka_unit_test(test_floor_raise_never_lowers),
		cmocka_unit_test(test_floor_raise_full_keeps_old),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
