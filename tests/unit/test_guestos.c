/*
 * Unit tests of daemon/cmld/guestos.c: manifest validation with the exact
 * message of every refusal, version comparison, and the copy and check
 * engines on real files in a private temporary directory.  Expected
 * hashes come from OpenSSL's one-shot digest, not from the code under test.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "file.h"
#include "guestos.h"
#include "log.h"
#include "testutil.h"
#include "xmalloc.h"

/* Two well-formed SHA-256 values for manifests that are only parsed. */
#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/*
 * Manifest text is written with ' for " (see unquote); H is a valid head,
 * ROOT and DATA valid images.
 */
#define H "'name':'busybox','version':'1.2.0','init':'/sbin/init'"
#define IMG(file, size, sha, fs, mount) \
	"{'file':" file ",'size':" size ",'sha256':" sha ",'fs':" fs \
	",'mount':" mount "}"
#define ROOT IMG("'root.squashfs'", "4096", "'" SHA_A "'", "'squashfs'", "'/'")
#define DATA IMG("'data.ext4'", "8192", "'" SHA_B "'", "'ext4'", "'/data'")
#define IMGS(x) "'images':[" x "]"
/* a root image of 12288 bytes with the verity object v */
#define VIMG(v) "{'file':'root.squashfs','size':12288,'sha256':'" SHA_A \
	"','fs':'squashfs','mount':'/','verity':" v "}"
#define VROOT "'root_hash':'" SHA_B "'"
#define VSALT "'salt':'00ff'"
#define SHA_UPPER \
	"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
#define M(x) "{" x "}"
#define ROOT4 ROOT "," ROOT "," ROOT "," ROOT
/* Descriptions of 1025 bytes, one more than allowed, and of 1024. */
#define D25 "abcdefghijklmnopqrstuvwxy"
#define D250 D25 D25 D25 D25 D25 D25 D25 D25 D25 D25
#define D1025 D250 D250 D250 D250 D25
#define D1024 D250 D250 D250 D250 "abcdefghijklmnopqrstuvwx"

/* Returns a copy of s with every ' turned into ". */
static char *
unquote(const char *s)
{
	char *out, *p;

	out = xstrdup(s);
	for (p = out; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return out;
}

/* Parses text written with ' for "; fails the test if it is refused. */
static void
parse_ok(const char *text, struct guestos_manifest *m)
{
	char *json, *cause = NULL;

	json = unquote(text);
	if (guestos_manifest_parse(json, strlen(json), m, &cause) == -1)
		fail_msg("refused %s: %s", json, cause);
	assert_null(cause);
	free(json);
}

/* One manifest that must be refused, with the exact message. */
struct bad_case {
	const char *name;
	const char *json; /* ' stands for " unless raw */
	const char *want;
	int raw;
};

static const struct bad_case bad_cases[] = {
	{ "test_guestos_manifest_parse_empty_refused", "",
	    "manifest is empty", 0 },
	{ "test_guestos_manifest_parse_whitespace_only_refused", " \n\t ",
	    "manifest is empty", 0 },
	{ "test_guestos_manifest_parse_not_json_refused", "{name",
	    "manifest is not valid JSON: unexpected character 'n' at "
	    "offset 1", 0 },
	{ "test_guestos_manifest_parse_truncated_refused", "{" H ",'images':[",
	    "manifest is not valid JSON: unexpected end at offset 66", 0 },
	{ "test_guestos_manifest_parse_trailing_data_refused",
	    M(H "," IMGS(ROOT)) " x",
	    "manifest is not valid JSON: unexpected character 'x' at "
	    "offset 209", 0 },
	{ "test_guestos_manifest_parse_single_quotes_refused",
	    "{'name':'busybox'}",
	    "manifest is not valid JSON: unexpected byte 0x27 at offset 1",
	    1 },
	{ "test_guestos_manifest_parse_nan_refused", M("'version':NaN"),
	    "manifest is not valid JSON: unexpected character 'N' at "
	    "offset 11", 0 },
	{ "test_guestos_manifest_parse_leading_zero_number_refused",
	    M("'version':01"),
	    "manifest is not valid JSON: number with a leading zero at "
	    "offset 12", 0 },
	{ "test_guestos_manifest_parse_integer_overflow_refused",
	    M("'version':9223372036854775808"),
	    "manifest is not valid JSON: integer out of range at offset 11",
	    0 },
	{ "test_guestos_manifest_parse_integer_underflow_refused",
	    M("'version':-9223372036854775809"),
	    "manifest is not valid JSON: integer out of range at offset 11",
	    0 },
	{ "test_guestos_manifest_parse_int64_min_read_as_negative",
	    M("'name':'busybox','version':-9223372036854775808,"
	    "'init':'/sbin/init'," IMGS(ROOT)),
	    "version -9223372036854775808 must not be negative", 0 },
	{ "test_guestos_manifest_parse_control_character_refused",
	    "{\"name\":\"a\tb\"}",
	    "manifest is not valid JSON: control character 0x09 in a string "
	    "at offset 10", 1 },
	{ "test_guestos_manifest_parse_nul_escape_refused",
	    M("'name':'busybox\\u0000x'"),
	    "manifest is not valid JSON: \\u0000 in a string at offset 16",
	    0 },
	{ "test_guestos_manifest_parse_invalid_utf8_refused",
	    "{\"description\":\"\xc3\x28\"}",
	    "manifest is not valid JSON: invalid UTF-8 at offset 16", 1 },
	{ "test_guestos_manifest_parse_escaped_field_name_refused",
	    M("'n\\u0061me':'x'"),
	    "manifest is not valid JSON: escape in a field name (field names "
	    "must be plain) at offset 1", 0 },
	{ "test_guestos_manifest_parse_duplicate_field_refused",
	    M(H ",'name':'other'," IMGS(ROOT)),
	    "field 'name' appears twice in the manifest", 0 },
	{ "test_guestos_manifest_parse_duplicate_image_field_refused",
	    M(H "," IMGS("{'file':'a','size':1,'size':2}")),
	    "field 'size' appears twice in images[0]", 0 },
	{ "test_guestos_manifest_parse_not_object_refused", "[1,2]",
	    "manifest must be a JSON object", 0 },
	{ "test_guestos_manifest_parse_string_refused", "'busybox'",
	    "manifest must be a JSON object", 0 },
	{ "test_guestos_manifest_parse_number_refused", "42",
	    "manifest must be a JSON object", 0 },
	{ "test_guestos_manifest_parse_null_refused", " null ",
	    "manifest must be a JSON object", 0 },
	{ "test_guestos_manifest_parse_unknown_field_refused",
	    M(H ",'foo':1," IMGS(ROOT)),
	    "unknown field 'foo' in the manifest", 0 },
	{ "test_guestos_manifest_parse_unknown_image_field_refused",
	    M(H "," IMGS(ROOT ",{'file':'data.ext4','mode':1}")),
	    "unknown field 'mode' in images[1]", 0 },
	{ "test_guestos_manifest_parse_missing_name_refused",
	    M("'version':'1','init':'/sbin/init'," IMGS(ROOT)),
	    "name is missing", 0 },
	{ "test_guestos_manifest_parse_name_not_string_refused",
	    M("'name':7,'version':'1','init':'/sbin/init'," IMGS(ROOT)),
	    "name must be a string", 0 },
	{ "test_guestos_manifest_parse_upper_case_name_refused",
	    M("'name':'BusyBox','version':'1','init':'/sbin/init'," IMGS(ROOT)),
	    "name 'BusyBox' must be 1 to 64 of a-z 0-9 . _ -, starting with "
	    "a letter or digit", 0 },
	{ "test_guestos_manifest_parse_dot_name_refused",
	    M("'name':'..','version':'1','init':'/sbin/init'," IMGS(ROOT)),
	    "name '..' must be 1 to 64 of a-z 0-9 . _ -, starting with a "
	    "letter or digit", 0 },
	{ "test_guestos_manifest_parse_long_name_refused",
	    M("'name':'a1234567890123456789012345678901234567890123456789012"
	    "345678901234','version':'1','init':'/sbin/init'," IMGS(ROOT)),
	    "name 'a123456789012345678901234567890123456789012345678901234567"
	    "890123...' must be 1 to 64 of a-z 0-9 . _ -, starting with a "
	    "letter or digit", 0 },
	{ "test_guestos_manifest_parse_missing_version_refused",
	    M("'name':'busybox','init':'/sbin/init'," IMGS(ROOT)),
	    "version is missing", 0 },
	{ "test_guestos_manifest_parse_version_leading_zero_refused",
	    M("'name':'busybox','version':'1.02','init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version '1.02' must be 1 to 4 numbers separated by dots, without "
	    "leading zeros, each at most 999999999", 0 },
	{ "test_guestos_manifest_parse_version_five_parts_refused",
	    M("'name':'busybox','version':'1.2.3.4.5','init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version '1.2.3.4.5' must be 1 to 4 numbers separated by dots, "
	    "without leading zeros, each at most 999999999", 0 },
	{ "test_guestos_manifest_parse_version_part_too_large_refused",
	    M("'name':'busybox','version':'1.1000000000','init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version '1.1000000000' must be 1 to 4 numbers separated by dots, "
	    "without leading zeros, each at most 999999999", 0 },
	{ "test_guestos_manifest_parse_version_empty_part_refused",
	    M("'name':'busybox','version':'1..2','init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version '1..2' must be 1 to 4 numbers separated by dots, without "
	    "leading zeros, each at most 999999999", 0 },
	{ "test_guestos_manifest_parse_version_negative_refused",
	    M("'name':'busybox','version':-1,'init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version -1 must not be negative", 0 },
	{ "test_guestos_manifest_parse_version_ten_digits_refused",
	    M("'name':'busybox','version':1234567890,'init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version 1234567890 must be at most 999999999", 0 },
	{ "test_guestos_manifest_parse_version_negative_string_refused",
	    M("'name':'busybox','version':'-1','init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version '-1' must be 1 to 4 numbers separated by dots, without "
	    "leading zeros, each at most 999999999", 0 },
	{ "test_guestos_manifest_parse_version_float_refused",
	    M("'name':'busybox','version':1.5,'init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version 1.5 must be an integer or a string such as \"1.2.3\"",
	    0 },
	{ "test_guestos_manifest_parse_version_boolean_refused",
	    M("'name':'busybox','version':true,'init':'/sbin/init',"
	    IMGS(ROOT)),
	    "version must be an integer or a string such as \"1.2.3\"", 0 },
	{ "test_guestos_manifest_parse_description_not_string_refused",
	    M(H ",'description':['x']," IMGS(ROOT)),
	    "description must be a string", 0 },
	{ "test_guestos_manifest_parse_description_control_refused",
	    M(H ",'description':'a\\nb'," IMGS(ROOT)),
	    "description must not contain control characters", 0 },
	{ "test_guestos_manifest_parse_description_c1_control_refused",
	    M(H ",'description':'a\\u009b[2Jb'," IMGS(ROOT)),
	    "description must not contain control characters", 0 },
	{ "test_guestos_manifest_parse_description_too_long_refused",
	    M(H ",'description':'" D1025 "'," IMGS(ROOT)),
	    "description has 1025 bytes, at most 1024 are allowed", 0 },
	{ "test_guestos_manifest_parse_mount_control_refused",
	    M(H "," IMGS(ROOT "," IMG("'d'", "1", "'" SHA_A "'", "'ext4'",
	    "'/da\\u0085ta'"))),
	    "images[1].mount '/da\\xc2\\x85ta' must not contain control "
	    "characters", 0 },
	{ "test_guestos_manifest_parse_missing_init_refused",
	    M("'name':'busybox','version':'1'," IMGS(ROOT)),
	    "init is missing", 0 },
	{ "test_guestos_manifest_parse_relative_init_refused",
	    M("'name':'busybox','version':'1','init':'sbin/init',"
	    IMGS(ROOT)),
	    "init 'sbin/init' must be an absolute path", 0 },
	{ "test_guestos_manifest_parse_root_init_refused",
	    M("'name':'busybox','version':'1','init':'/'," IMGS(ROOT)),
	    "init '/' must name a file, not '/'", 0 },
	{ "test_guestos_manifest_parse_init_dotdot_refused",
	    M("'name':'busybox','version':'1','init':'/sbin/../bin/sh',"
	    IMGS(ROOT)),
	    "init '/sbin/../bin/sh' must not contain '..'", 0 },
	{ "test_guestos_manifest_parse_init_double_slash_refused",
	    M("'name':'busybox','version':'1','init':'/sbin//init',"
	    IMGS(ROOT)),
	    "init '/sbin//init' must not contain '//'", 0 },
	{ "test_guestos_manifest_parse_missing_images_refused",
	    M(H), "images is missing", 0 },
	{ "test_guestos_manifest_parse_images_not_array_refused",
	    M(H ",'images':" ROOT), "images must be an array", 0 },
	{ "test_guestos_manifest_parse_no_images_refused",
	    M(H "," IMGS("")), "images must not be empty", 0 },
	{ "test_guestos_manifest_parse_seventeen_images_refused",
	    M(H "," IMGS(ROOT4 "," ROOT4 "," ROOT4 "," ROOT4 "," ROOT)),
	    "images has 17 entries, at most 16 are allowed", 0 },
	{ "test_guestos_manifest_parse_image_not_object_refused",
	    M(H "," IMGS(ROOT ",'data.ext4'")),
	    "images[1] must be an object", 0 },
	{ "test_guestos_manifest_parse_two_roots_refused",
	    M(H "," IMGS(ROOT "," IMG("'b.squashfs'", "1", "'" SHA_B "'",
	    "'squashfs'", "'/'"))),
	    "images[0] and images[1] both mount at '/': exactly one image "
	    "must be the root", 0 },
	{ "test_guestos_manifest_parse_no_root_refused",
	    M(H "," IMGS(DATA)),
	    "no image mounts at '/': exactly one image must be the root", 0 },
	{ "test_guestos_manifest_parse_duplicate_file_refused",
	    M(H "," IMGS(ROOT "," IMG("'root.squashfs'", "1", "'" SHA_B "'",
	    "'ext4'", "'/data'"))),
	    "images[1].file 'root.squashfs' is listed twice (also images[0])",
	    0 },
	{ "test_guestos_manifest_parse_duplicate_mount_refused",
	    M(H "," IMGS(ROOT "," DATA "," IMG("'more.ext4'", "1",
	    "'" SHA_B "'", "'ext4'", "'/data'"))),
	    "images[2].mount '/data' is listed twice (also images[1])", 0 },
	{ "test_guestos_manifest_parse_missing_file_refused",
	    M(H "," IMGS("{'size':1}")), "images[0].file is missing", 0 },
	{ "test_guestos_manifest_parse_path_traversal_refused",
	    M(H "," IMGS(IMG("'../x'", "1", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].file '../x' must be a plain file name", 0 },
	{ "test_guestos_manifest_parse_file_with_slash_refused",
	    M(H "," IMGS(IMG("'a/b'", "1", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].file 'a/b' must be a plain file name", 0 },
	{ "test_guestos_manifest_parse_hidden_file_refused",
	    M(H "," IMGS(IMG("'.hidden'", "1", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].file '.hidden' must be a plain file name", 0 },
	{ "test_guestos_manifest_parse_dotdot_file_refused",
	    M(H "," IMGS(IMG("'..'", "1", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].file '..' must be a plain file name", 0 },
	{ "test_guestos_manifest_parse_file_with_space_refused",
	    M(H "," IMGS(IMG("'a b'", "1", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].file 'a b' must be 1 to 128 of the characters A-Z a-z "
	    "0-9 . _ -", 0 },
	{ "test_guestos_manifest_parse_empty_file_refused",
	    M(H "," IMGS(IMG("''", "1", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].file '' must be 1 to 128 of the characters A-Z a-z "
	    "0-9 . _ -", 0 },
	{ "test_guestos_manifest_parse_manifest_as_image_refused",
	    M(H "," IMGS(IMG("'manifest.json'", "1", "'" SHA_A "'",
	    "'squashfs'", "'/'"))),
	    "images[0].file 'manifest.json' is reserved for the manifest and "
	    "its signature", 0 },
	{ "test_guestos_manifest_parse_signature_as_image_refused",
	    M(H "," IMGS(IMG("'manifest.json.p7s'", "1", "'" SHA_A "'",
	    "'squashfs'", "'/'"))),
	    "images[0].file 'manifest.json.p7s' is reserved for the manifest "
	    "and its signature", 0 },
	{ "test_guestos_manifest_parse_upper_case_sha256_refused",
	    M(H "," IMGS(IMG("'r'", "1",
	    "'0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef'",
	    "'squashfs'", "'/'"))),
	    "images[0].sha256 must be 64 lower-case hex digits", 0 },
	{ "test_guestos_manifest_parse_short_sha256_refused",
	    M(H "," IMGS(IMG("'r'", "1", "'0123456789abcdef'", "'squashfs'",
	    "'/'"))),
	    "images[0].sha256 must be 64 lower-case hex digits", 0 },
	{ "test_guestos_manifest_parse_long_sha256_refused",
	    M(H "," IMGS(IMG("'r'", "1", "'" SHA_A "0'", "'squashfs'",
	    "'/'"))),
	    "images[0].sha256 must be 64 lower-case hex digits", 0 },
	{ "test_guestos_manifest_parse_size_zero_refused",
	    M(H "," IMGS(IMG("'r'", "0", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].size must be an integer greater than 0", 0 },
	{ "test_guestos_manifest_parse_size_negative_refused",
	    M(H "," IMGS(IMG("'r'", "-4096", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].size must be an integer greater than 0", 0 },
	{ "test_guestos_manifest_parse_size_string_refused",
	    M(H "," IMGS(IMG("'r'", "'4096'", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].size must be an integer greater than 0", 0 },
	{ "test_guestos_manifest_parse_size_float_refused",
	    M(H "," IMGS(IMG("'r'", "4096.0", "'" SHA_A "'", "'squashfs'",
	    "'/'"))),
	    "images[0].size must be an integer greater than 0", 0 },
	{ "test_guestos_manifest_parse_bad_fs_refused",
	    M(H "," IMGS(IMG("'r'", "1", "'" SHA_A "'", "'btrfs'", "'/'"))),
	    "images[0].fs 'btrfs' must be squashfs, erofs or ext4", 0 },
	{ "test_guestos_manifest_parse_relative_mount_refused",
	    M(H "," IMGS(ROOT "," IMG("'d'", "1", "'" SHA_A "'", "'ext4'",
	    "'data'"))),
	    "images[1].mount 'data' must be an absolute path", 0 },
	{ "test_guestos_manifest_parse_mount_trailing_slash_refused",
	    M(H "," IMGS(ROOT "," IMG("'d'", "1", "'" SHA_A "'", "'ext4'",
	    "'/data/'"))),
	    "images[1].mount '/data/' must not end with '/'", 0 },
	{ "test_guestos_manifest_parse_mount_dot_refused",
	    M(H "," IMGS(ROOT "," IMG("'d'", "1", "'" SHA_A "'", "'ext4'",
	    "'/./data'"))),
	    "images[1].mount '/./data' must not contain '.' components", 0 },
	{ "test_guestos_manifest_parse_mount_dotdot_refused",
	    M(H "," IMGS(ROOT "," IMG("'d'", "1", "'" SHA_A "'", "'ext4'",
	    "'/data/..'"))),
	    "images[1].mount '/data/..' must not contain '..'", 0 },
	{ "test_guestos_manifest_parse_verity_not_object_refused",
	    M(H "," IMGS(VIMG("'x'"))),
	    "images[0].verity must be an object", 0 },
	{ "test_guestos_manifest_parse_verity_unknown_field_refused",
	    M(H "," IMGS(VIMG("{" VROOT "," VSALT ",'data_size':4096,"
	    "'hash':'sha1'}"))),
	    "unknown field 'hash' in images[0].verity", 0 },
	{ "test_guestos_manifest_parse_verity_short_root_refused",
	    M(H "," IMGS(VIMG("{'root_hash':'abcd'," VSALT ","
	    "'data_size':4096}"))),
	    "images[0].verity.root_hash must be 64 lower-case hex digits "
	    "(a SHA-256)", 0 },
	{ "test_guestos_manifest_parse_verity_upper_root_refused",
	    M(H "," IMGS(VIMG("{'root_hash':'" SHA_UPPER "'," VSALT ","
	    "'data_size':4096}"))),
	    "images[0].verity.root_hash must be 64 lower-case hex digits "
	    "(a SHA-256)", 0 },
	{ "test_guestos_manifest_parse_verity_odd_salt_refused",
	    M(H "," IMGS(VIMG("{" VROOT ",'salt':'abc','data_size':4096}"))),
	    "images[0].verity.salt must be an even number of lower-case hex "
	    "digits, at most 512", 0 },
	{ "test_guestos_manifest_parse_verity_missing_salt_refused",
	    M(H "," IMGS(VIMG("{" VROOT ",'data_size':4096}"))),
	    "images[0].verity.salt is missing", 0 },
	{ "test_guestos_manifest_parse_verity_unaligned_size_refused",
	    M(H "," IMGS(VIMG("{" VROOT "," VSALT ",'data_size':4095}"))),
	    "images[0].verity.data_size must be a multiple of 4096 greater "
	    "than 0 and less than the image's size (the hash tree follows "
	    "the file system)", 0 },
	{ "test_guestos_manifest_parse_verity_size_not_below_image_refused",
	    M(H "," IMGS(VIMG("{" VROOT "," VSALT ",'data_size':12288}"))),
	    "images[0].verity.data_size must be a multiple of 4096 greater "
	    "than 0 and less than the image's size (the hash tree follows "
	    "the file system)", 0 },
	{ "test_guestos_manifest_parse_verity_missing_size_refused",
	    M(H "," IMGS(VIMG("{" VROOT "," VSALT "}"))),
	    "images[0].verity.data_size is missing", 0 },
	{ "test_guestos_manifest_parse_allow_downgrade_string_refused",
	    M(H ",'allow_downgrade':'yes'," IMGS(ROOT)),
	    "allow_downgrade must be true or false", 0 },
};

/* Proves: none (manifest content checks: one message per kind of error). */
static void
test_bad_manifest(void **state)
{
	const struct bad_case *c = *state;
	struct guestos_manifest m;
	char *json, *cause = NULL;

	json = c->raw ? xstrdup(c->json) : unquote(c->json);
	memset(&m, 0xa5, sizeof m);
	assert_int_equal(guestos_manifest_parse(json, strlen(json), &m,
	    &cause), -1);
	assert_non_null(cause);
	if (strcmp(cause, c->want) != 0)
		fail_msg("message \"%s\", expected \"%s\"", cause, c->want);
	/* A refused manifest is left empty: clearing it is safe. */
	assert_null(m.name);
	assert_null(m.images);
	assert_int_equal(m.nimages, 0);
	guestos_manifest_clear(&m);
	free(cause);
	free(json);
}

/* Proves: none (manifest parsing). */
static void
test_guestos_manifest_parse_dotted_version_accepted(void **state)
{
	struct guestos_manifest m;

	(void)state;
	parse_ok(M("'name':'busybox','version':'1.2.0','description':'A "
	    "small \\u00e9 system','init':'/sbin/init',"
	    "'allow_downgrade':true," IMGS(ROOT)), &m);
	assert_string_equal(m.name, "busybox");
	assert_string_equal(m.version, "1.2.0");
	assert_string_equal(m.description, "A small \xc3\xa9 system");
	assert_string_equal(m.init, "/sbin/init");
	assert_true(m.allow_downgrade);
	assert_int_equal(m.nimages, 1);
	assert_string_equal(m.images[0].file, "root.squashfs");
	assert_int_equal(m.images[0].size, 4096);
	assert_string_equal(m.images[0].sha256, SHA_A);
	assert_string_equal(m.images[0].fs, "squashfs");
	assert_string_equal(m.images[0].mount, "/");
	guestos_manifest_clear(&m);
	assert_null(m.name);
	/* Clearing twice does nothing. */
	guestos_manifest_clear(&m);
}

/* Proves: APS 02 (the signed root hash of an image's dm-verity tree). */
static void
test_guestos_manifest_parse_verity_accepted(void **state)
{
	struct guestos_manifest m;

	(void)state;
	parse_ok(M(H "," IMGS(VIMG("{" VROOT "," VSALT ",'data_size':8192}")
	    "," DATA)), &m);
	assert_true(m.images[0].verity.present);
	assert_string_equal(m.images[0].verity.root_hash, SHA_B);
	assert_string_equal(m.images[0].verity.salt, "00ff");
	assert_int_equal(m.images[0].verity.data_size, 8192);
	/* optional: an image without one is hashed in full */
	assert_false(m.images[1].verity.present);
	guestos_manifest_clear(&m);
	/* an empty salt is a salt of no bytes */
	parse_ok(M(H "," IMGS(VIMG("{" VROOT ",'salt':'','data_size':4096}"))),
	    &m);
	assert_true(m.images[0].verity.present);
	assert_string_equal(m.images[0].verity.salt, "");
	guestos_manifest_clear(&m);
}

/* Proves: none (manifest parsing). */
static void
test_guestos_manifest_parse_integer_version_canonical(void **state)
{
	struct guestos_manifest m;

	(void)state;
	parse_ok(M("'name':'bb','version':7,'init':'/init'," IMGS(ROOT)), &m);
	assert_string_equal(m.version, "7");
	/* Optional fields take their defaults. */
	assert_string_equal(m.description, "");
	assert_false(m.allow_downgrade);
	guestos_manifest_clear(&m);

	parse_ok(M("'name':'bb','version':0,'init':'/init'," IMGS(ROOT)), &m);
	assert_string_equal(m.version, "0");
	guestos_manifest_clear(&m);

	/* the largest, as for one part of a version given as a string */
	parse_ok(M("'name':'bb','version':999999999,'init':'/init',"
	    IMGS(ROOT)), &m);
	assert_string_equal(m.version, "999999999");
	guestos_manifest_clear(&m);
}

/* Proves: none (manifest parsing at its limits). */
static void
test_guestos_manifest_parse_ext4_and_limits_accepted(void **state)
{
	struct guestos_manifest m;
	char name[65], *text;

	(void)state;
	/* The longest name, a 4-part version, whitespace around. */
	memset(name, 'a', 61);
	memcpy(name + 61, ".-_", 4);
	text = xasprintf(" \n{'name':'%s','version':'0.999999999.0.1',"
	    "'init':'/usr/lib/systemd/systemd'," IMGS(DATA ","
	    IMG("'Root-1.0_x.EXT4'", "1099511627776", "'" SHA_B "'", "'ext4'",
	    "'/'")) ",'allow_downgrade':false}\r\n", name);
	parse_ok(text, &m);
	assert_string_equal(m.name, name);
	assert_int_equal(strlen(m.name), 64);
	assert_string_equal(m.version, "0.999999999.0.1");
	assert_int_equal(m.nimages, 2);
	assert_string_equal(m.images[0].fs, "ext4");
	assert_string_equal(m.images[0].mount, "/data");
	assert_string_equal(m.images[1].file, "Root-1.0_x.EXT4");
	assert_string_equal(m.images[1].fs, "ext4");
	assert_int_equal(m.images[1].size, 1099511627776LL);
	assert_string_equal(m.images[1].mount, "/");
	guestos_manifest_clear(&m);
	free(text);
}

/* Proves: none (manifest parsing at its limits). */
static void
test_guestos_manifest_parse_sixteen_images_accepted(void **state)
{
	struct guestos_manifest m;
	char *text, *p, mount[16];
	size_t i;

	(void)state;
	text = xstrdup("{" H ",'images':[");
	for (i = 0; i < 16; i++) {
		if (i == 0)
			snprintf(mount, sizeof mount, "/");
		else
			snprintf(mount, sizeof mount, "/m%zu", i);
		p = xasprintf("%s%s{'file':'i%zu','size':%zu,'sha256':'%s',"
		    "'fs':'ext4','mount':'%s'}", text, i == 0 ? "" : ",", i,
		    i + 1, SHA_A, mount);
		free(text);
		text = p;
	}
	p = xasprintf("%s]}", text);
	free(text);
	parse_ok(p, &m);
	assert_int_equal(m.nimages, 16);
	assert_string_equal(m.images[0].mount, "/");
	assert_string_equal(m.images[15].mount, "/m15");
	assert_int_equal(m.images[15].size, 16);
	guestos_manifest_clear(&m);
	free(p);
}

/* Proves: none (manifest parsing at its limits). */
static void
test_guestos_manifest_parse_longest_description_accepted(void **state)
{
	struct guestos_manifest m;

	(void)state;
	parse_ok(M(H ",'description':'" D1024 "'," IMGS(ROOT)), &m);
	assert_int_equal(strlen(m.description), 1024);
	guestos_manifest_clear(&m);
}

/* Proves: CR 7.1 (a manifest bounded at 256 KiB). */
static void
test_guestos_manifest_parse_too_large_refused(void **state)
{
	struct guestos_manifest m;
	char *json, *cause = NULL;
	size_t len = GUESTOS_MANIFEST_MAX + 1;

	(void)state;
	json = xmalloc(len);
	memset(json, ' ', len);
	json[0] = '{';
	json[len - 1] = '}';
	assert_int_equal(guestos_manifest_parse(json, len, &m, &cause), -1);
	assert_string_equal(cause, "manifest has 262145 bytes, more than the "
	    "262144 allowed");
	free(cause);
	free(json);
}

/* Proves: CR 7.1 (a refusal quotes a long field name cut short). */
static void
test_guestos_manifest_parse_long_field_name_quoted_short(void **state)
{
	struct guestos_manifest m;
	char *json, *cause = NULL, *want;
	char key[201];

	(void)state;
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	key[3] = '\x7f';
	json = xasprintf("{\"%s\":1}", key);
	assert_int_equal(guestos_manifest_parse(json, strlen(json), &m,
	    &cause), -1);
	/* Cut at 64 bytes, and DEL shown as an escape. */
	want = xasprintf("unknown field 'kkk\\x7f%.60s...' in the manifest",
	    key + 4);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(json);
}

/* Proves: CR 7.1 (a manifest's nesting bounded). */
static void
test_guestos_manifest_parse_deep_nesting_refused(void **state)
{
	struct guestos_manifest m;
	char json[64], *cause = NULL;

	(void)state;
	memset(json, 0, sizeof json);
	memset(json, '[', 17);
	memset(json + 17, ']', 17);
	assert_int_equal(guestos_manifest_parse(json, strlen(json), &m,
	    &cause), -1);
	assert_string_equal(cause, "manifest is not valid JSON: nested deeper "
	    "than 16 levels at offset 16");
	free(cause);
}

/* Returns a manifest with n fields f0, f1, ... in images[0] or at the top. */
static char *
many_fields(int n, int in_image)
{
	char *s, *t;
	int i;

	s = xstrdup(in_image ? "{\"images\":[{\"f0\":1" : "{\"f0\":1");
	for (i = 1; i < n; i++) {
		t = xasprintf("%s,\"f%d\":1", s, i);
		free(s);
		s = t;
	}
	t = xasprintf("%s%s", s, in_image ? "}]}" : "}");
	free(s);
	return t;
}

/* Proves: CR 7.1 (a manifest's fields bounded). */
static void
test_guestos_manifest_parse_many_fields_refused(void **state)
{
	static const struct {
		int n, in_image;
		const char *want;
	} cases[] = {
		{ 32, 0, "unknown field 'f0' in the manifest" },
		{ 33, 0, "the manifest has more than 32 fields" },
		{ 32, 1, "name is missing" }, /* the scanner let it pass */
		{ 33, 1, "images[0] has more than 32 fields" },
	};
	struct guestos_manifest m;
	char *json, *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json = many_fields(cases[i].n, cases[i].in_image);
		cause = NULL;
		assert_int_equal(guestos_manifest_parse(json, strlen(json), &m,
		    &cause), -1);
		assert_string_equal(cause, cases[i].want);
		free(cause);
		free(json);
	}
}

/*
 * Proves: NDR 3.10 (versions ordered numerically for updates and downgrades).
 */
static void
test_names_version_cmp_numeric(void **state)
{
	(void)state;
	assert_true(names_version_cmp("1.10", "1.9") > 0);
	assert_true(names_version_cmp("1.9", "1.10") < 0);
	assert_true(names_version_cmp("2", "1.99.99") > 0);
	assert_true(names_version_cmp("1.99.99", "2") < 0);
	assert_true(names_version_cmp("10", "9") > 0);
	assert_true(names_version_cmp("1.2.3.4", "1.2.3") > 0);
	assert_true(names_version_cmp("999999999", "1000000000") < 0);
	assert_true(names_version_cmp("9223372036854775807",
	    "9223372036854775806") > 0);
}

/* Proves: NDR 3.10 (equal versions recognised). */
static void
test_names_version_cmp_equal_is_zero(void **state)
{
	(void)state;
	assert_int_equal(names_version_cmp("1.2.0", "1.2.0"), 0);
	assert_int_equal(names_version_cmp("7", "7"), 0);
	assert_int_equal(names_version_cmp("0", "0"), 0);
	/* A missing part counts as 0. */
	assert_int_equal(names_version_cmp("1", "1.0"), 0);
	assert_int_equal(names_version_cmp("1.0.0", "1"), 0);
}

/* The copy and check engines work in this private directory. */
struct fixture {
	char dir[64];
	char *src; /* the guest OS directory to install */
	char *dest; /* destroot, created by the copy */
	struct guestos_manifest m;
	char *manifest;
	size_t manifest_len;
};

static int
setup(void **state)
{
	struct fixture *f;

	f = xcalloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/cml-test-guestos.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	f->src = xasprintf("%s/src", f->dir);
	f->dest = xasprintf("%s/guestos", f->dir);
	if (mkdir(f->src, 0700) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int ret;

	ret = test_remove_tree(f->dir);
	guestos_manifest_clear(&f->m);
	free(f->manifest);
	free(f->dest);
	free(f->src);
	free(f);
	return ret;
}

/* Writes a file, replacing it. */
static void
write_file(const char *path, const void *buf, size_t len)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	if (write(fd, buf, len) != (ssize_t)len)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* Appends n bytes to a file. */
static void
append_file(const char *path, size_t n)
{
	unsigned char junk[256];
	int fd;

	assert_true(n <= sizeof junk);
	memset(junk, 0x5a, sizeof junk);
	if ((fd = open(path, O_WRONLY | O_APPEND)) == -1)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	if (write(fd, junk, n) != (ssize_t)n)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* Inverts the byte at off of a file. */
static void
flip_byte(const char *path, off_t off)
{
	unsigned char c;
	int fd;

	if ((fd = open(path, O_RDWR)) == -1)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c = (unsigned char)~c;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Returns the SHA-256 of a file in hex, computed with OpenSSL directly. */
static void
sha256_file(const char *path, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE], *buf;
	unsigned int mdlen, i;
	size_t len;

	buf = test_read_all(path, &len);
	assert_int_equal(EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL),
	    1);
	assert_int_equal(mdlen, 32);
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[64] = '\0';
	free(buf);
}

/* Writes an image of size bytes in a pattern that depends on seed. */
static void
make_image(const char *path, size_t size, unsigned int seed)
{
	unsigned char *buf;
	size_t i;

	buf = xmalloc(size == 0 ? 1 : size);
	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)(((i + seed) * 2654435761u) >> 13);
	write_file(path, buf, size);
	free(buf);
}

/* Sizes of the two images: the root spans several 1 MiB buffers. */
#define ROOT_SIZE ((size_t)(3 * 1024 * 1024 + 17))
#define DATA_SIZE ((size_t)70000)

/*
 * Builds a guest OS in f->src (root.squashfs, data.ext4, the manifest and
 * a stand-in signature; the copy engine does not verify signatures) and
 * parses its manifest into f->m.
 */
static void
make_guestos(struct fixture *f, const char *version)
{
	char *root, *data, *path, *text, *cause = NULL;
	char hr[65], hd[65];

	root = xasprintf("%s/root.squashfs", f->src);
	data = xasprintf("%s/data.ext4", f->src);
	make_image(root, ROOT_SIZE, 1);
	make_image(data, DATA_SIZE, 2);
	sha256_file(root, hr);
	sha256_file(data, hd);
	text = xasprintf("{\"name\":\"busybox\",\"version\":\"%s\","
	    "\"init\":\"/sbin/init\",\"images\":["
	    "{\"file\":\"root.squashfs\",\"size\":%zu,\"sha256\":\"%s\","
	    "\"fs\":\"squashfs\",\"mount\":\"/\"},"
	    "{\"file\":\"data.ext4\",\"size\":%zu,\"sha256\":\"%s\","
	    "\"fs\":\"ext4\",\"mount\":\"/data\"}]}\n", version, ROOT_SIZE, hr,
	    DATA_SIZE, hd);
	path = xasprintf("%s/manifest.json", f->src);
	write_file(path, text, strlen(text));
	free(path);
	path = xasprintf("%s/manifest.json.p7s", f->src);
	write_file(path, "signature", 9);
	free(path);

	guestos_manifest_clear(&f->m);
	if (guestos_manifest_parse(text, strlen(text), &f->m, &cause) == -1)
		fail_msg("manifest refused: %s", cause);
	free(f->manifest);
	f->manifest = text;
	f->manifest_len = strlen(text);
	free(data);
	free(root);
}

/*
 * Starts a copy of the files of f->src, opened as a client opens what it
 * passes; NULL with *cause set.
 */
static struct guestos_copy *
begin(struct fixture *f, char **cause)
{
	struct guestos_copy *c;
	struct file_set set;

	if (file_set_open_dir(&set, f->src, cause) == -1)
		return NULL;
	c = guestos_copy_begin(&set, f->src, f->dest, &f->m, f->manifest,
	    f->manifest_len, "signature", 9, cause);
	file_set_clear(&set);
	return c;
}

/* Starts a copy of f->src; fails the test if it is refused. */
static struct guestos_copy *
begin_ok(struct fixture *f)
{
	struct guestos_copy *c;
	char *cause = NULL;

	c = begin(f, &cause);
	if (c == NULL)
		fail_msg("guestos_copy_begin: %s", cause);
	return c;
}

/* Asserts that guestos_copy_begin refuses f->src with exactly want. */
static void
assert_begin_refused(struct fixture *f, const char *want)
{
	char *cause = NULL;

	assert_null(begin(f, &cause));
	assert_non_null(cause);
	if (strcmp(cause, want) != 0)
		fail_msg("message \"%s\", expected \"%s\"", cause, want);
	free(cause);
}

/*
 * Steps a copy with budget until it ends; returns its result and counts
 * the steps.  Progress must only ever grow.
 */
static int
run_copy(struct guestos_copy *c, size_t budget, int *steps, char **cause)
{
	struct guestos_progress p;
	long long last = 0;
	int r;

	*steps = 0;
	do {
		r = guestos_copy_step(c, budget, cause);
		(*steps)++;
		guestos_copy_progress(c, &p);
		assert_true(p.done >= last);
		assert_true(p.done <= p.total);
		if (budget != 0 && r == 0)
			assert_true(p.done - last <= (long long)budget);
		last = p.done;
	} while (r == 0);
	return r;
}

/* Counts the entries of a directory, "." and ".." aside; -1 if absent. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Asserts that two files hold the same bytes. */
static void
assert_same_file(const char *a, const char *b)
{
	unsigned char *ba, *bb;
	size_t la, lb;

	ba = test_read_all(a, &la);
	bb = test_read_all(b, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	free(bb);
	free(ba);
}

/* Installs f->src completely; returns the installed path. */
static char *
install_ok(struct fixture *f)
{
	struct guestos_copy *c;
	char *cause = NULL, *path = NULL;
	int steps;

	c = begin_ok(f);
	if (run_copy(c, 0, &steps, &cause) != 1)
		fail_msg("copy failed: %s", cause);
	if (guestos_copy_commit(c, &path, &cause) == -1)
		fail_msg("commit failed: %s", cause);
	guestos_copy_free(c);
	return path;
}

/* Proves: CR 3.4 (the installed files are the checked ones; private modes). */
static void
test_guestos_copy_good_commits_identical_files(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	struct guestos_progress p;
	struct stat sb;
	char *cause = NULL, *path = NULL, *want, *a, *b;
	const char *const files[] = {
		"root.squashfs", "data.ext4", "manifest.json",
		"manifest.json.p7s",
	};
	size_t i;
	int steps;

	make_guestos(f, "1.2.0");
	c = begin_ok(f);
	guestos_copy_progress(c, &p);
	assert_string_equal(p.file, "root.squashfs");
	assert_int_equal(p.done, 0);
	assert_int_equal(p.total, ROOT_SIZE + DATA_SIZE);
	/* Staging exists next to nothing else while copying. */
	assert_int_equal(count_entries(f->dest), 1);

	assert_int_equal(run_copy(c, 0, &steps, &cause), 1);
	assert_null(cause);
	/* 1 MiB a step: the 4th copies the root's last 17 bytes and data. */
	assert_int_equal(steps, 4);
	guestos_copy_progress(c, &p);
	assert_int_equal(p.done, p.total);
	assert_string_equal(p.file, "data.ext4");
	/* Stepping a finished copy changes nothing. */
	assert_int_equal(guestos_copy_step(c, 0, &cause), 1);

	assert_int_equal(guestos_copy_commit(c, &path, &cause), 0);
	want = xasprintf("%s/busybox/1.2.0", f->dest);
	assert_string_equal(path, want);
	guestos_copy_free(c);

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		a = xasprintf("%s/%s", f->src, files[i]);
		b = xasprintf("%s/%s", path, files[i]);
		assert_same_file(a, b);
		assert_int_equal(lstat(b, &sb), 0);
		assert_true(S_ISREG(sb.st_mode));
		assert_int_equal(sb.st_mode & 07777, 0600);
		free(b);
		free(a);
	}
	assert_int_equal(count_entries(path), 4);
	/* Only busybox/ is left in destroot: the staging directory is gone. */
	assert_int_equal(count_entries(f->dest), 1);
	a = xasprintf("%s/busybox", f->dest);
	assert_int_equal(count_entries(a), 1);
	assert_int_equal(stat(a, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(f->dest, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	free(a);
	free(want);
	free(path);
}

/* Proves: CR 7.1 (an install works in bounded steps). */
static void
test_guestos_copy_small_budget_steps_many_times(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *cause = NULL, *path = NULL, *a, *b;
	int steps;

	make_guestos(f, "2");
	c = begin_ok(f);
	assert_int_equal(run_copy(c, 4093, &steps, &cause), 1);
	assert_true(steps >= (int)((ROOT_SIZE + DATA_SIZE) / 4093));
	assert_int_equal(guestos_copy_commit(c, &path, &cause), 0);
	guestos_copy_free(c);
	a = xasprintf("%s/root.squashfs", f->src);
	b = xasprintf("%s/root.squashfs", path);
	assert_same_file(a, b);
	free(b);
	free(a);
	a = xasprintf("%s/data.ext4", f->src);
	b = xasprintf("%s/data.ext4", path);
	assert_same_file(a, b);
	free(b);
	free(a);
	free(path);
}

/* Proves: TSF.INIT (nothing outside the manifest is installed), CR 3.4. */
static void
test_guestos_copy_extra_file_refused(void **state)
{
	struct fixture *f = *state;
	char *path, *want;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/notes.txt", f->src);
	write_file(path, "x", 1);
	want = xasprintf("extra file 'notes.txt' in %s is not in the "
	    "manifest", f->src);
	assert_begin_refused(f, want);
	/* Refused before anything was created. */
	assert_int_equal(count_entries(f->dest), -1);
	free(want);
	free(path);
}

/* Proves: TSF.INIT (nothing outside the manifest is installed), CR 3.4. */
static void
test_guestos_copy_extra_directory_refused(void **state)
{
	struct fixture *f = *state;
	char *path, *want;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/.git", f->src);
	assert_int_equal(mkdir(path, 0700), 0);
	want = xasprintf("extra file '.git' in %s is not in the manifest",
	    f->src);
	assert_begin_refused(f, want);
	free(want);
	free(path);
}

/* Proves: TSF.INIT (an image must be a regular file), CR 3.4. */
static void
test_guestos_copy_symlink_image_refused(void **state)
{
	struct fixture *f = *state;
	char *path, *target;

	make_guestos(f, "1.2.0");
	/* Same bytes elsewhere: only the link itself is wrong. */
	path = xasprintf("%s/data.ext4", f->src);
	target = xasprintf("%s/outside", f->dir);
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_begin_refused(f, "image 'data.ext4' is a symbolic link");
	assert_int_equal(count_entries(f->dest), -1);
	free(target);
	free(path);
}

/* Proves: TSF.INIT (an image must be a regular file), CR 3.4. */
static void
test_guestos_copy_directory_image_refused(void **state)
{
	struct fixture *f = *state;
	char *path;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/data.ext4", f->src);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_begin_refused(f, "image 'data.ext4' is not a regular file");
	free(path);
}

/*
 * An image passed as a FIFO, a socket or a device node is refused by its
 * type, and nothing blocks: the client passes such entries as O_PATH
 * descriptors, and the engine never reads them.
 * Proves: CR 7.1 (nothing blocks on a FIFO), CR 3.4.
 */
static void
test_guestos_copy_fifo_socket_device_image_refused(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun;
	char *path;
	int sock;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/data.ext4", f->src);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_begin_refused(f, "image 'data.ext4' is not a regular file");
	assert_int_equal(unlink(path), 0);

	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof sun.sun_path);
	strcpy(sun.sun_path, path);
	assert_int_equal(bind(sock, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_begin_refused(f, "image 'data.ext4' is not a regular file");
	close(sock);
	assert_int_equal(unlink(path), 0);

	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_begin_refused(f, "image 'data.ext4' is a symbolic link");
	free(path);
}

/* Proves: TSF.INIT (a missing image refused), CR 3.4. */
static void
test_guestos_copy_missing_image_refused(void **state)
{
	struct fixture *f = *state;
	char *path;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/data.ext4", f->src);
	assert_int_equal(unlink(path), 0);
	assert_begin_refused(f, "image 'data.ext4' is missing");
	assert_int_equal(count_entries(f->dest), -1);
	free(path);
}

/*
 * Proves: TSF.INIT (size and hash against the signed manifest), COM 06,
 * CR 3.4.
 */
static void
test_guestos_copy_size_mismatch_refused(void **state)
{
	struct fixture *f = *state;
	char *path, *want;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/root.squashfs", f->src);
	append_file(path, 1);
	want = xasprintf("image 'root.squashfs' has %zu bytes, the manifest "
	    "says %zu", ROOT_SIZE + 1, ROOT_SIZE);
	assert_begin_refused(f, want);
	assert_int_equal(count_entries(f->dest), -1);
	free(want);
	free(path);
}

/*
 * Proves: TSF.INIT (size and hash against the signed manifest), COM 06,
 * CR 3.4.
 */
static void
test_guestos_copy_hash_mismatch_removes_staging(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *path, *want, *cause = NULL, *installed, hex[65];
	int steps;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/data.ext4", f->src);
	flip_byte(path, DATA_SIZE / 2);
	sha256_file(path, hex);
	c = begin_ok(f);
	assert_int_equal(run_copy(c, 0, &steps, &cause), -1);
	want = xasprintf("image 'data.ext4' does not match its signed SHA-256 "
	    "(got %s, manifest says %s)", hex, f->m.images[1].sha256);
	assert_string_equal(cause, want);
	free(cause);
	cause = NULL;
	/* Nothing is left under destroot but the empty root. */
	assert_int_equal(count_entries(f->dest), 0);
	/* The failure sticks; commit refuses. */
	assert_int_equal(guestos_copy_step(c, 0, &cause), -1);
	assert_string_equal(cause, "the copy of busybox 1.2.0 failed already");
	free(cause);
	cause = NULL;
	installed = (char *)"sentinel";
	assert_int_equal(guestos_copy_commit(c, &installed, &cause), -1);
	assert_null(installed);
	assert_string_equal(cause, "the copy of busybox 1.2.0 is not "
	    "finished");
	free(cause);
	guestos_copy_free(c);
	assert_int_equal(count_entries(f->dest), 0);
	free(want);
	free(path);
}

/*
 * Begins a copy of guest OS 1.2.0 and copies its first 64 KiB, so that a
 * test can change an image while the copy runs.
 */
static struct guestos_copy *
begin_started(struct fixture *f)
{
	struct guestos_copy *c;
	char *cause = NULL;

	make_guestos(f, "1.2.0");
	c = begin_ok(f);
	assert_int_equal(guestos_copy_step(c, 65536, &cause), 0);
	return c;
}

/*
 * Finishes copy c, expecting it refused for root.squashfs having size
 * bytes now, with nothing left in destroot; frees c.
 */
static void
assert_copy_size_refused(struct fixture *f, struct guestos_copy *c,
    size_t size)
{
	char *want, *cause = NULL;
	int steps;

	assert_int_equal(run_copy(c, 0, &steps, &cause), -1);
	want = xasprintf("image 'root.squashfs' has %zu bytes, the manifest "
	    "says %zu", size, ROOT_SIZE);
	assert_string_equal(cause, want);
	assert_int_equal(count_entries(f->dest), 0);
	guestos_copy_free(c);
	free(cause);
	free(want);
}

/*
 * Proves: TSF.INIT (size and hash against the signed manifest), COM 06,
 * CR 3.4.
 */
static void
test_guestos_copy_image_grown_during_copy_refused(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *path;

	c = begin_started(f);
	path = xasprintf("%s/root.squashfs", f->src);
	append_file(path, 100);
	assert_copy_size_refused(f, c, ROOT_SIZE + 100);
	free(path);
}

/*
 * Proves: TSF.INIT (size and hash against the signed manifest), COM 06,
 * CR 3.4.
 */
static void
test_guestos_copy_image_shrunk_during_copy_refused(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *path;

	c = begin_started(f);
	path = xasprintf("%s/root.squashfs", f->src);
	assert_int_equal(truncate(path, 100000), 0);
	assert_copy_size_refused(f, c, 100000);
	free(path);
}

/* Proves: CR 3.4 (the file opened is the one copied), TSF.INIT. */
static void
test_guestos_copy_image_replaced_during_copy_copies_original(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *path, *copy, *cause = NULL, *installed = NULL;
	int steps;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/data.ext4", f->src);
	copy = xasprintf("%s/data.orig", f->dir);
	make_image(copy, DATA_SIZE, 2);
	c = begin_ok(f);
	/* A new file under the old name is not what begin opened. */
	assert_int_equal(unlink(path), 0);
	make_image(path, DATA_SIZE, 3);
	assert_int_equal(run_copy(c, 0, &steps, &cause), 1);
	assert_int_equal(guestos_copy_commit(c, &installed, &cause), 0);
	guestos_copy_free(c);
	free(path);
	path = xasprintf("%s/data.ext4", installed);
	assert_same_file(path, copy);
	free(installed);
	free(copy);
	free(path);
}

/* Proves: none (a cancelled copy leaves nothing). */
static void
test_guestos_copy_free_uncommitted_removes_staging(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *cause = NULL;

	make_guestos(f, "1.2.0");
	c = begin_ok(f);
	assert_int_equal(guestos_copy_step(c, 100000, &cause), 0);
	assert_int_equal(count_entries(f->dest), 1);
	guestos_copy_free(c);
	assert_int_equal(count_entries(f->dest), 0);
	guestos_copy_free(NULL);
}

/*
 * Proves: TSF.INIT (nothing installed before every image is checked), CR 3.4.
 */
static void
test_guestos_copy_commit_unfinished_refused(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *cause = NULL, *path = (char *)"sentinel";

	make_guestos(f, "1.2.0");
	c = begin_ok(f);
	assert_int_equal(guestos_copy_commit(c, &path, &cause), -1);
	assert_null(path);
	assert_string_equal(cause, "the copy of busybox 1.2.0 is not finished");
	free(cause);
	guestos_copy_free(c);
	assert_int_equal(count_entries(f->dest), 0);
}

/* Proves: CR 3.4 (an installed version is never overwritten). */
static void
test_guestos_copy_same_version_twice_refused(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *first, *second = NULL, *cause = NULL, *a, *b;
	int steps;

	make_guestos(f, "1.2.0");
	first = install_ok(f);
	c = begin_ok(f);
	assert_int_equal(run_copy(c, 0, &steps, &cause), 1);
	assert_int_equal(guestos_copy_commit(c, &second, &cause), -1);
	assert_null(second);
	assert_string_equal(cause, "busybox 1.2.0 is already installed");
	free(cause);
	guestos_copy_free(c);
	/* The first install is untouched, the second left nothing behind. */
	assert_int_equal(count_entries(f->dest), 1);
	a = xasprintf("%s/busybox", f->dest);
	assert_int_equal(count_entries(a), 1);
	free(a);
	a = xasprintf("%s/root.squashfs", f->src);
	b = xasprintf("%s/root.squashfs", first);
	assert_same_file(a, b);
	free(b);
	free(a);
	free(first);
}

/* Proves: CR 3.4 (what holds a version's place is kept). */
static void
test_guestos_copy_commit_onto_empty_directory_refused(void **state)
{
	struct fixture *f = *state;
	struct guestos_copy *c;
	char *dir, *cause = NULL, *path = NULL;
	int steps;

	make_guestos(f, "1.2.0");
	c = begin_ok(f);
	/* Whatever holds NAME/VERSION, even an empty directory, stays. */
	dir = xasprintf("%s/busybox", f->dest);
	assert_int_equal(mkdir(dir, 0700), 0);
	free(dir);
	dir = xasprintf("%s/busybox/1.2.0", f->dest);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(run_copy(c, 0, &steps, &cause), 1);
	assert_int_equal(guestos_copy_commit(c, &path, &cause), -1);
	assert_string_equal(cause, "busybox 1.2.0 is already installed");
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(count_entries(f->dest), 1);
	guestos_copy_free(c);
	free(cause);
	free(dir);
}

/* Proves: NDR 3.10 (a new version installs beside the other). */
static void
test_guestos_copy_second_version_installs_beside(void **state)
{
	struct fixture *f = *state;
	char *first, *second, *dir;

	make_guestos(f, "1.2.0");
	first = install_ok(f);
	make_guestos(f, "1.10");
	second = install_ok(f);
	dir = xasprintf("%s/busybox", f->dest);
	assert_int_equal(count_entries(dir), 2);
	assert_int_equal(count_entries(f->dest), 1);
	free(dir);
	free(second);
	free(first);
}

/* Checks an installed guest OS to the end with budget; returns the result. */
static int
run_check(const char *dir, const struct guestos_manifest *m, size_t budget,
    int *steps, char **cause)
{
	struct guestos_check *k;
	struct guestos_progress p;
	long long last = 0;
	int r;

	if ((k = guestos_check_begin(dir, m->images, m->nimages, cause)) ==
	    NULL)
		return -2;
	*steps = 0;
	do {
		r = guestos_check_step(k, budget, cause);
		(*steps)++;
		guestos_check_progress(k, &p);
		assert_true(p.done >= last);
		assert_int_equal(p.total, ROOT_SIZE + DATA_SIZE);
		last = p.done;
	} while (r == 0);
	if (r == 1)
		assert_int_equal(p.done, p.total);
	guestos_check_free(k);
	return r;
}

/* Proves: APS 02 (every byte of every image checked), CR 3.4. */
static void
test_guestos_check_installed_ok(void **state)
{
	struct fixture *f = *state;
	char *path, *cause = NULL;
	int steps;

	make_guestos(f, "1.2.0");
	path = install_ok(f);
	assert_int_equal(run_check(path, &f->m, 0, &steps, &cause), 1);
	assert_null(cause);
	assert_int_equal(run_check(path, &f->m, 10000, &steps, &cause), 1);
	assert_true(steps >= (int)((ROOT_SIZE + DATA_SIZE) / 10000));
	guestos_check_free(NULL);
	free(path);
}

/*
 * Proves: APS 02 (a changed image fails the check), TSF.INIT, COM 06, NDR 3.2,
 * CR 3.4.
 */
static void
test_guestos_check_flipped_byte_names_image(void **state)
{
	struct fixture *f = *state;
	char *path, *image, *want, *cause = NULL, hex[65];
	int steps;

	make_guestos(f, "1.2.0");
	path = install_ok(f);
	image = xasprintf("%s/root.squashfs", path);
	flip_byte(image, ROOT_SIZE - 1);
	sha256_file(image, hex);
	assert_int_equal(run_check(path, &f->m, 0, &steps, &cause), -1);
	want = xasprintf("image 'root.squashfs' of busybox 1.2.0 was changed "
	    "after install: SHA-256 %s expected %s", hex,
	    f->m.images[0].sha256);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(image);
	free(path);
}

/*
 * Proves: APS 02 (images checked by dm-verity are opened, their type and
 * size checked, and handed over unhashed: the kernel checks each block).
 */
static void
test_guestos_check_skip_hash_opens_and_checks_size(void **state)
{
	struct fixture *f = *state;
	struct guestos_check *k;
	char *path, *image, *cause = NULL;
	int fd, steps = 0, r;
	struct stat sb;

	make_guestos(f, "1.2.0");
	path = install_ok(f);
	image = xasprintf("%s/root.squashfs", path);
	/* a changed byte is dm-verity's to find, at the read */
	flip_byte(image, 5);
	k = guestos_check_begin(path, f->m.images, f->m.nimages, &cause);
	assert_non_null(k);
	guestos_check_skip_hash(k);
	assert_int_equal(guestos_check_take_fd(k, 0), -1);
	do {
		r = guestos_check_step(k, 4096, &cause);
		steps++;
	} while (r == 0);
	assert_int_equal(r, 1);
	assert_null(cause);
	/* one step: nothing is read, whatever the budget */
	assert_int_equal(steps, 1);
	fd = guestos_check_take_fd(k, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_size, ROOT_SIZE);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	close(fd);
	guestos_check_free(k);

	/* a size other than the signed one is refused all the same */
	append_file(image, 1);
	k = guestos_check_begin(path, f->m.images, f->m.nimages, &cause);
	assert_non_null(k);
	guestos_check_skip_hash(k);
	assert_int_equal(guestos_check_step(k, 0, &cause), -1);
	assert_non_null(strstr(cause, "was changed after install: it has"));
	free(cause);
	guestos_check_free(k);
	free(image);
	free(path);
}

/*
 * Proves: APS 02 (a changed image fails the check), TSF.INIT, COM 06, NDR 3.2,
 * CR 3.4.
 */
static void
test_guestos_check_size_change_names_image(void **state)
{
	struct fixture *f = *state;
	char *path, *image, *want, *cause = NULL;
	int steps;

	make_guestos(f, "1.2.0");
	path = install_ok(f);
	image = xasprintf("%s/data.ext4", path);
	append_file(image, 3);
	assert_int_equal(run_check(path, &f->m, 0, &steps, &cause), -1);
	want = xasprintf("image 'data.ext4' of busybox 1.2.0 was changed after "
	    "install: it has %zu bytes, expected %zu", DATA_SIZE + 3,
	    DATA_SIZE);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(image);
	free(path);
}

/*
 * Proves: APS 02 (a missing image fails the check), TSF.INIT, NDR 3.2, CR 3.4.
 */
static void
test_guestos_check_missing_image_names_image(void **state)
{
	struct fixture *f = *state;
	char *path, *image, *cause = NULL;
	int steps;

	make_guestos(f, "1.2.0");
	path = install_ok(f);
	image = xasprintf("%s/data.ext4", path);
	assert_int_equal(unlink(image), 0);
	assert_int_equal(run_check(path, &f->m, 0, &steps, &cause), -1);
	assert_string_equal(cause, "image 'data.ext4' of busybox 1.2.0 is "
	    "missing");
	free(cause);
	free(image);
	free(path);
}

/* Proves: TSF.INIT (a link in place of an image fails the check), CR 3.4. */
static void
test_guestos_check_symlink_image_refused(void **state)
{
	struct fixture *f = *state;
	char *path, *image, *target, *cause = NULL;
	int steps;

	make_guestos(f, "1.2.0");
	path = install_ok(f);
	image = xasprintf("%s/data.ext4", path);
	target = xasprintf("%s/data.ext4", f->src);
	assert_int_equal(unlink(image), 0);
	assert_int_equal(symlink(target, image), 0);
	assert_int_equal(run_check(path, &f->m, 0, &steps, &cause), -1);
	assert_string_equal(cause, "image 'data.ext4' of busybox 1.2.0 is not "
	    "a regular file");
	free(cause);
	free(target);
	free(image);
	free(path);
}

/* Proves: TSF.INIT (a missing guest OS fails the check). */
static void
test_guestos_check_missing_dir_refused(void **state)
{
	struct fixture *f = *state;
	char *path, *want, *cause = NULL;

	make_guestos(f, "1.2.0");
	path = xasprintf("%s/busybox/1.2.0", f->dest);
	assert_null(guestos_check_begin(path, f->m.images, f->m.nimages,
	    &cause));
	want = xasprintf("cannot open %s: No such file or directory", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);
}

/* Proves: none (removal follows no link). */
static void
test_guestos_remove_dir_removes_tree_not_link_targets(void **state)
{
	struct fixture *f = *state;
	char *path, *p, *outside, *cause = NULL;

	make_guestos(f, "1.2.0");
	path = install_ok(f);
	outside = xasprintf("%s/root.squashfs", f->src);
	/* Links and a subdirectory inside: removed, never followed. */
	p = xasprintf("%s/link", path);
	assert_int_equal(symlink(outside, p), 0);
	free(p);
	p = xasprintf("%s/dirlink", path);
	assert_int_equal(symlink(f->src, p), 0);
	free(p);
	p = xasprintf("%s/sub", path);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/sub/file", path);
	write_file(p, "x", 1);
	free(p);

	assert_int_equal(guestos_remove_dir(path, &cause), 0);
	assert_null(cause);
	assert_int_equal(count_entries(path), -1);
	p = xasprintf("%s/busybox", f->dest);
	assert_int_equal(count_entries(p), 0);
	free(p);
	assert_int_equal(count_entries(f->src), 4);
	assert_int_equal(access(outside, F_OK), 0);

	/* Gone already: nothing to do. */
	assert_int_equal(guestos_remove_dir(path, &cause), 0);
	free(outside);
	free(path);
}

/* Proves: none (removal of a parent directory refused). */
static void
test_guestos_remove_dir_dot_refused(void **state)
{
	struct fixture *f = *state;
	char *path, *cause = NULL;

	path = xasprintf("%s/..", f->dir);
	assert_int_equal(guestos_remove_dir(path, &cause), -1);
	assert_non_null(strstr(cause, "not a directory of its own"));
	assert_int_equal(count_entries(f->dir), 1);
	free(cause);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(
		    test_guestos_manifest_parse_dotted_version_accepted),
		cmocka_unit_test(
		    test_guestos_manifest_parse_integer_version_canonical),
		cmocka_unit_test(
		    test_guestos_manifest_parse_ext4_and_limits_accepted),
		cmocka_unit_test(
		    test_guestos_manifest_parse_sixteen_images_accepted),
		cmocka_unit_test(
		    test_guestos_manifest_parse_longest_description_accepted),
		cmocka_unit_test(test_guestos_manifest_parse_too_large_refused),
		cmocka_unit_test(
		    test_guestos_manifest_parse_long_field_name_quoted_short),
		cmocka_unit_test(
		    test_guestos_manifest_parse_deep_nesting_refused),
		cmocka_unit_test(
		    test_guestos_manifest_parse_many_fields_refused),
		cmocka_unit_test(test_guestos_manifest_parse_verity_accepted),
		cmocka_unit_test(test_names_version_cmp_numeric),
		cmocka_unit_test(test_names_version_cmp_equal_is_zero),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_guestos_copy_good_commits_identical_files),
		T(test_guestos_copy_small_budget_steps_many_times),
		T(test_guestos_copy_extra_file_refused),
		T(test_guestos_copy_extra_directory_refused),
		T(test_guestos_copy_symlink_image_refused),
		T(test_guestos_copy_directory_image_refused),
		T(test_guestos_copy_fifo_socket_device_image_refused),
		T(test_guestos_copy_missing_image_refused),
		T(test_guestos_copy_size_mismatch_refused),
		T(test_guestos_copy_hash_mismatch_removes_staging),
		T(test_guestos_copy_image_grown_during_copy_refused),
		T(test_guestos_copy_image_shrunk_during_copy_refused),
		T(test_guestos_copy_image_replaced_during_copy_copies_original),
		T(test_guestos_copy_free_uncommitted_removes_staging),
		T(test_guestos_copy_commit_unfinished_refused),
		T(test_guestos_copy_same_version_twice_refused),
		T(test_guestos_copy_commit_onto_empty_directory_refused),
		T(test_guestos_copy_second_version_installs_beside),
		T(test_guestos_check_installed_ok),
		T(test_guestos_check_flipped_byte_names_image),
		T(test_guestos_check_size_change_names_image),
		T(test_guestos_check_skip_hash_opens_and_checks_size),
		T(test_guestos_check_missing_image_names_image),
		T(test_guestos_check_symlink_image_refused),
		T(test_guestos_check_missing_dir_refused),
		T(test_guestos_remove_dir_removes_tree_not_link_targets),
		T(test_guestos_remove_dir_dot_refused),
#undef T
	};
	const size_t nbad = sizeof bad_cases / sizeof bad_cases[0];
	const size_t nfixed = sizeof fixed / sizeof fixed[0];
	struct CMUnitTest *tests;
	size_t i;
	int ret;

	/* Each refused manifest is a test of its own, named for its case. */
	tests = xcalloc(nbad + nfixed, sizeof *tests);
	for (i = 0; i < nbad; i++) {
		tests[i].name = bad_cases[i].name;
		tests[i].test_func = test_bad_manifest;
		tests[i].initial_state = (void *)&bad_cases[i];
	}
	memcpy(tests + nbad, fixed, sizeof fixed);

	log_init("test_guestos", 1, LOG_LEVEL_WARNING);
	ret = _cmocka_run_group_tests("test_guestos", tests, nbad + nfixed,
	    NULL, NULL);
	free(tests);
	return ret;
}
