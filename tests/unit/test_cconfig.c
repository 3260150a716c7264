/*
 * Unit tests of container configs (daemon/cmld/cconfig.c): the effective
 * config with its defaults, and the exact message for every kind of bad
 * config.
 */
#include "config.h"

#include <linux/capability.h>
/* Not <netinet/in.h>: its <sys/socket.h> has an accept() of its own. */
#include <linux/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <json-c/json.h>

#include "cconfig.h"
#include "xmalloc.h"

/* The smallest valid config; cases append members and the closing brace. */
#define MIN "{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\"}"

static const char full_config[] =
    "{\n"
    "  \"name\": \"web-1\",\n"
    "  \"guestos\": {\"name\": \"busybox\", \"min_version\": \"1.0\"},\n"
    "  \"hostname\": \"web.example\",\n"
    "  \"autostart\": true,\n"
    "  \"process\": {\n"
    "    \"args\": [\"/sbin/init\", \"-v\", \"\"],\n"
    "    \"env\": [\"PATH=/usr/bin:/bin\", \"_X1=a=b\", \"EMPTY=\"],\n"
    "    \"capabilities\": {\"bounding\": [\"CAP_NET_RAW\", "
    "\"CAP_NET_BIND_SERVICE\", \"CAP_SYS_TIME\"]},\n"
    "    \"init_shim\": true\n"
    "  },\n"
    "  \"linux\": {\n"
    "    \"resources\": {\n"
    "      \"memory\": {\"limit\": 67108864},\n"
    "      \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 200000, "
    "\"cpus\": \"0-1,3\"},\n"
    "      \"pids\": {\"limit\": 128},\n"
    "      \"devices\": [\n"
    "        {\"allow\": true, \"type\": \"c\", \"major\": 188, "
    "\"minor\": 0, \"access\": \"rwm\", \"exclusive\": true},\n"
    "        {\"allow\": true, \"type\": \"b\", \"major\": 8, "
    "\"minor\": null, \"access\": \"r\", \"exclusive\": false}\n"
    "      ]\n"
    "    },\n"
    "    \"user_namespace\": true\n"
    "  },\n"
    "  \"cml\": {\n"
    "    \"token\": {\"type\": \"softtoken\"},\n"
    "    \"storage\": {\"encrypted\": true, \"integrity\": false, "
    "\"size_mb\": 128,\n"
    "      \"volume\": {\"size_mb\": 32, \"mount\": \"/data\"}},\n"
    "    \"time\": true\n"
    "  }\n"
    "}\n";

/* The built-in device list as the effective config shows it. */
#define DEFAULT_DEVICES \
	"\"default_devices\": [" \
	"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3," \
	"\"access\":\"rwm\",\"exclusive\":false}," \
	"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5," \
	"\"access\":\"rwm\",\"exclusive\":false}," \
	"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":7," \
	"\"access\":\"rwm\",\"exclusive\":false}," \
	"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":8," \
	"\"access\":\"rwm\",\"exclusive\":false}," \
	"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":9," \
	"\"access\":\"rwm\",\"exclusive\":false}," \
	"{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":0," \
	"\"access\":\"rwm\",\"exclusive\":false}," \
	"{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":2," \
	"\"access\":\"rwm\",\"exclusive\":false}," \
	"{\"allow\":true,\"type\":\"c\",\"major\":136,\"minor\":null," \
	"\"access\":\"rwm\",\"exclusive\":false}]"

/* The network section of the effective config when the config has none. */
#define ISLAND_NET \
	"{\"mode\":\"island\",\"egress\":[],\"forward\":[]," \
	"\"management\":[],\"dns\":[],\"interfaces\":[]}"
#define ISLAND "\"network\":" ISLAND_NET

/* Formats a config. */
static char * __attribute__((format(printf, 1, 2)))
fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) == -1)
		abort();
	va_end(ap);
	return s;
}

/* Expects the struct to be left empty. */
static void
assert_empty(const struct cconfig *c)
{
	static const struct cconfig zero;

	assert_memory_equal(c, &zero, sizeof zero);
}

/* Expects json of length len to be refused with exactly msg. */
static void
refuse_len(int is_c0, const char *json, size_t len, const char *msg)
{
	struct cconfig c;
	char *cause = NULL;
	int ret;

	memset(&c, 0xa5, sizeof c);
	if (is_c0)
		ret = cconfig_parse_c0(json, len, &c, &cause);
	else
		ret = cconfig_parse(json, len, &c, &cause);
	if (ret != -1)
		fail_msg("accepted: %s", json);
	assert_non_null(cause);
	if (strcmp(cause, msg) != 0)
		fail_msg("for %s\n got: %s\nwant: %s", json, cause, msg);
	assert_empty(&c);
	free(cause);
}

/* Expects a service container's config to be refused with exactly msg. */
static void
refuse(const char *json, const char *msg)
{
	refuse_len(0, json, strlen(json), msg);
}

/* Expects c0's config to be refused with exactly msg. */
static void
refuse_c0(const char *json, const char *msg)
{
	refuse_len(1, json, strlen(json), msg);
}

/* As refuse, and frees json. */
static void
refuse_free(char *json, const char *msg)
{
	refuse(json, msg);
	free(json);
}

/* Expects json to be accepted into c. */
static void
accept_as(int is_c0, const char *json, struct cconfig *c)
{
	char *cause = NULL;
	int ret;

	if (is_c0)
		ret = cconfig_parse_c0(json, strlen(json), c, &cause);
	else
		ret = cconfig_parse(json, strlen(json), c, &cause);
	if (ret != 0)
		fail_msg("refused: %s\n%s", json, cause);
	assert_null(cause);
}

/* Expects a service container's config to be accepted, then drops it. */
static void
accept(const char *json)
{
	struct cconfig c;

	accept_as(0, json, &c);
	cconfig_clear(&c);
}

/* As accept, and frees json. */
static void
accept_free(char *json)
{
	accept(json);
	free(json);
}

/* Expects the effective config of c to equal the JSON text want. */
static void
assert_effective(const struct cconfig *c, const char *want)
{
	struct json_object *got, *exp;

	got = cconfig_to_json(c);
	exp = json_tokener_parse(want);
	assert_non_null(exp);
	if (!json_object_equal(got, exp))
		fail_msg("effective config\n got: %s\nwant: %s",
		    json_object_to_json_string_ext(got,
		    JSON_C_TO_STRING_PLAIN),
		    json_object_to_json_string_ext(exp,
		    JSON_C_TO_STRING_PLAIN));
	json_object_put(got);
	json_object_put(exp);
}

/* Returns f with its one '@' replaced by v. */
static char *
subst(const char *f, const char *v)
{
	const char *at = strchr(f, '@');

	assert_non_null(at);
	return fmt("%.*s%s%s", (int)(at - f), f, v, at + 1);
}

/*
 * Checks an integer field: min and max accepted, one outside each
 * refused, and a string and a fraction refused, all with msg; an integer
 * beyond 64 bits is not valid JSON.  f is a config with one '@' where the
 * value goes.
 */
static void
range(const char *f, long long min, long long max, const char *msg)
{
	char v[32], *big;

	snprintf(v, sizeof v, "%lld", min);
	accept_free(subst(f, v));
	snprintf(v, sizeof v, "%lld", max);
	accept_free(subst(f, v));
	snprintf(v, sizeof v, "%lld", min - 1);
	refuse_free(subst(f, v), msg);
	snprintf(v, sizeof v, "%lld", max + 1);
	refuse_free(subst(f, v), msg);
	refuse_free(subst(f, "\"1\""), msg);
	refuse_free(subst(f, "1.0"), msg);
	refuse_free(subst(f, "true"), msg);
	big = fmt("config is not valid JSON: integer out of range at offset "
	    "%d", (int)(strchr(f, '@') - f));
	refuse_free(subst(f, "99999999999999999999"), big);
	refuse_free(subst(f, "-99999999999999999999"), big);
	free(big);
}

/*
 * Proves: APS 04 (memory and CPU and PID limits read from the config),
 * CR 7.6(1) (the effective config as JSON).
 */
static void
test_parse_full_config_round_trips(void **state)
{
	struct cconfig c, again;
	struct json_object *eff;
	const char *text;

	accept_as(0, full_config, &c);
	assert_string_equal(c.name, "web-1");
	assert_string_equal(c.guestos_name, "busybox");
	assert_string_equal(c.guestos_min_version, "1.0");
	assert_string_equal(c.hostname, "web.example");
	assert_true(c.autostart);
	assert_int_equal(c.nargs, 3);
	assert_string_equal(c.args[0], "/sbin/init");
	assert_string_equal(c.args[2], "");
	assert_null(c.args[3]);
	assert_int_equal(c.nenv, 3);
	assert_string_equal(c.env[1], "_X1=a=b");
	assert_null(c.env[3]);
	assert_true(c.init_shim);
	assert_true(c.caps == ((UINT64_C(1) << CAP_NET_RAW) |
	    (UINT64_C(1) << CAP_NET_BIND_SERVICE) |
	    (UINT64_C(1) << CAP_SYS_TIME)));
	assert_int_equal(c.memory_limit, 67108864);
	assert_int_equal(c.cpu_shares, 512);
	assert_int_equal(c.cpu_quota, 50000);
	assert_int_equal(c.cpu_period, 200000);
	assert_string_equal(c.cpu_cpus, "0-1,3");
	assert_int_equal(c.pids_limit, 128);
	assert_int_equal(c.ndevices, 2);
	assert_int_equal(c.devices[0].type, 'c');
	assert_int_equal(c.devices[0].major, 188);
	assert_int_equal(c.devices[0].minor, 0);
	assert_string_equal(c.devices[0].access, "rwm");
	assert_true(c.devices[0].exclusive);
	assert_int_equal(c.devices[1].minor, CCONFIG_DEVICE_ANY);
	assert_true(c.user_namespace);
	assert_int_equal(c.token, CCONFIG_TOKEN_SOFTTOKEN);
	assert_true(c.storage_encrypted);
	assert_false(c.storage_integrity);
	assert_int_equal(c.storage_size_mb, 128);
	assert_string_equal(c.volume_mount, "/data");
	assert_true(c.time);
	assert_false(c.is_c0);

	/* Everything given comes back; capabilities in number order. */
	assert_effective(&c, "{\"name\":\"web-1\","
	    "\"guestos\":{\"name\":\"busybox\",\"min_version\":\"1.0\"},"
	    "\"hostname\":\"web.example\",\"autostart\":true,"
	    "\"process\":{\"args\":[\"/sbin/init\",\"-v\",\"\"],"
	    "\"env\":[\"PATH=/usr/bin:/bin\",\"_X1=a=b\",\"EMPTY=\"],"
	    "\"capabilities\":{\"bounding\":[\"CAP_NET_BIND_SERVICE\","
	    "\"CAP_NET_RAW\",\"CAP_SYS_TIME\"]},\"init_shim\":true},"
	    "\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864},"
	    "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":200000,"
	    "\"cpus\":\"0-1,3\"},\"pids\":{\"limit\":128},"
	    "\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":188,"
	    "\"minor\":0,\"access\":\"rwm\",\"exclusive\":true},"
	    "{\"allow\":true,\"type\":\"b\",\"major\":8,\"minor\":null,"
	    "\"access\":\"r\",\"exclusive\":false}]},"
	    "\"user_namespace\":true},"
	    "\"cml\":{\"token\":{\"type\":\"softtoken\"},"
	    "\"storage\":{\"encrypted\":true,\"integrity\":false,\"size_mb\":128,"
	    "\"volume\":{\"size_mb\":32,\"mount\":\"/data\"}},\"time\":true,"
	    ISLAND "}," DEFAULT_DEVICES "}");

	/* The effective config, less the built-in list, parses to itself. */
	eff = cconfig_to_json(&c);
	json_object_object_del(eff, "default_devices");
	text = json_object_to_json_string_ext(eff, JSON_C_TO_STRING_PRETTY);
	accept_as(0, text, &again);
	json_object_put(eff);
	eff = cconfig_to_json(&c);
	text = json_object_to_json_string_ext(eff, JSON_C_TO_STRING_PLAIN);
	assert_effective(&again, text);
	json_object_put(eff);
	cconfig_clear(&again);
	cconfig_clear(&c);
	assert_empty(&c);
}

/*
 * Proves: CR 7.6(1) (the defaults in the effective config),
 * CR 7.7 (no capability and no device beyond the defaults unless listed),
 * CR 7.2 (memory and PID limits also when the config names none).
 */
static void
test_parse_minimal_config_gets_defaults(void **state)
{
	struct cconfig c;

	accept_as(0, MIN "}", &c);
	assert_string_equal(c.hostname, "web");
	assert_null(c.guestos_min_version);
	assert_null(c.args);
	assert_int_equal(c.nargs, 0);
	assert_non_null(c.env);
	assert_null(c.env[0]);
	assert_int_equal(c.nenv, 0);
	assert_true(c.caps == 0);
	assert_int_equal(c.memory_limit, CCONFIG_MEMORY_DEFAULT);
	assert_int_equal(c.cpu_shares, 1024);
	assert_int_equal(c.cpu_quota, 0);
	assert_int_equal(c.cpu_period, 100000);
	assert_null(c.cpu_cpus);
	assert_int_equal(c.pids_limit, 1024);
	assert_int_equal(c.ndevices, 0);
	assert_false(c.user_namespace);
	assert_false(c.autostart);
	assert_int_equal(c.token, CCONFIG_TOKEN_NONE);
	assert_false(c.storage_encrypted);
	assert_int_equal(c.storage_size_mb, 64);
	assert_false(c.time);
	assert_false(c.init_shim);
	assert_effective(&c, "{\"name\":\"web\","
	    "\"guestos\":{\"name\":\"busybox\",\"min_version\":null},"
	    "\"hostname\":\"web\",\"autostart\":false,"
	    "\"process\":{\"args\":null,\"env\":[],"
	    "\"capabilities\":{\"bounding\":[]},\"init_shim\":false},"
	    "\"linux\":{\"resources\":{\"memory\":{\"limit\":268435456},"
	    "\"cpu\":{\"shares\":1024,\"quota\":null,\"period\":100000,"
	    "\"cpus\":null},\"pids\":{\"limit\":1024},\"devices\":[]},"
	    "\"user_namespace\":false},"
	    "\"cml\":{\"token\":{\"type\":\"none\"},"
	    "\"storage\":{\"encrypted\":false,\"integrity\":true,\"size_mb\":64,"
	    "\"volume\":null},\"time\":false," ISLAND "},"
	    DEFAULT_DEVICES "}");
	cconfig_clear(&c);
}

/* Proves: none (null and empty objects read as absent). */
static void
test_parse_empty_objects_and_nulls_get_defaults(void **state)
{
	struct cconfig c;

	accept_as(0, MIN ",\"process\":{},\"linux\":{\"resources\":{"
	    "\"memory\":{},\"cpu\":{},\"pids\":{},\"devices\":[]}},"
	    "\"cml\":{\"token\":{},\"storage\":{}}}", &c);
	assert_int_equal(c.memory_limit, CCONFIG_MEMORY_DEFAULT);
	assert_int_equal(c.cpu_period, CCONFIG_PERIOD_DEFAULT);
	cconfig_clear(&c);

	/* null is the same as leaving the member out. */
	accept_as(0, "{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"min_version\":null},\"hostname\":null,\"autostart\":null,"
	    "\"process\":{\"args\":null,\"env\":null,\"capabilities\":null},"
	    "\"linux\":{\"resources\":{\"memory\":{\"limit\":null},"
	    "\"cpu\":{\"quota\":null,\"cpus\":null},\"devices\":null},"
	    "\"user_namespace\":null},\"cml\":null}", &c);
	assert_string_equal(c.hostname, "web");
	assert_null(c.args);
	assert_int_equal(c.memory_limit, CCONFIG_MEMORY_DEFAULT);
	cconfig_clear(&c);

	refuse("{\"name\":null,\"guestos\":{\"name\":\"busybox\"}}",
	    "name is missing");
	refuse("{\"name\":\"web\",\"guestos\":null}", "guestos is missing");
}

/* Proves: APS 04 (a CPU quota with the default period). */
static void
test_parse_quota_without_period_uses_default(void **state)
{
	struct cconfig c;

	accept_as(0, MIN ",\"linux\":{\"resources\":{\"cpu\":{"
	    "\"quota\":50000}}}}", &c);
	assert_int_equal(c.cpu_quota, 50000);
	assert_int_equal(c.cpu_period, 100000);
	cconfig_clear(&c);
	accept_as(0, MIN ",\"linux\":{\"resources\":{\"cpu\":{"
	    "\"period\":50000}}}}", &c);
	assert_int_equal(c.cpu_quota, 0);
	assert_int_equal(c.cpu_period, 50000);
	cconfig_clear(&c);
}

/* Proves: none (config syntax checks). */
static void
test_parse_not_json_refused(void **state)
{
	refuse("not json",
	    "config is not valid JSON: unexpected character 'n' at offset 0");
	refuse("{", "config is not valid JSON: unexpected end at offset 1");
	refuse(MIN, "config is not valid JSON: unexpected end at offset 42");
	refuse(MIN "}x",
	    "config is not valid JSON: unexpected character 'x' at offset 43");
	refuse(MIN "}{}",
	    "config is not valid JSON: unexpected character '{' at offset 43");
	refuse(MIN ",}",
	    "config is not valid JSON: unexpected character '}' at offset 43");
	refuse("{'name':'web'}",
	    "config is not valid JSON: unexpected byte 0x27 at offset 1");
	refuse(MIN ",\"autostart\":NaN}",
	    "config is not valid JSON: unexpected character 'N' at offset 55");
	refuse(MIN ",\"autostart\":True}",
	    "config is not valid JSON: unexpected character 'T' at offset 55");
	refuse(MIN ",\"linux\":{\"resources\":{\"pids\":{\"limit\":01}}}}",
	    "config is not valid JSON: number with a leading zero at offset "
	    "82");
	refuse(MIN ",\"linux\":{\"resources\":{\"pids\":{\"limit\":+1}}}}",
	    "config is not valid JSON: unexpected character '+' at offset 81");
	refuse(MIN ",\"linux\":{\"resources\":{\"pids\":{\"limit\":1.}}}}",
	    "config is not valid JSON: invalid number at offset 83");
	refuse(MIN ",\"hostname\":\"a\tb\"}", "config is not valid JSON: "
	    "control character 0x09 in a string at offset 56");
	refuse(MIN ",\"hostname\":\"a\\u0000b\"}", "config is not valid JSON: "
	    "\\u0000 in a string at offset 56");
	refuse(MIN ",\"hostname\":\"a\\x\"}", "config is not valid JSON: "
	    "invalid escape at offset 56");
	refuse(MIN ",\"hostname\":\"\\ud800\"}", "config is not valid JSON: "
	    "unpaired surrogate at offset 61");
	refuse(MIN ",\"hostname\":\"a\xff\"}", "config is not valid JSON: "
	    "invalid UTF-8 at offset 56");
	refuse(MIN ",\"hostname\":\"a}", "config is not valid JSON: "
	    "unterminated string at offset 54");
	refuse("\xef\xbb\xbf" MIN "}",
	    "config is not valid JSON: unexpected byte 0xef at offset 0");
	refuse(MIN "/* c */}",
	    "config is not valid JSON: unexpected character '/' at offset 42");
	refuse_len(0, MIN "}\0{}", sizeof(MIN "}\0{}") - 1,
	    "config is not valid JSON: unexpected byte 0x00 at offset 43");
}

/* Proves: none (config syntax checks). */
static void
test_parse_not_object_refused(void **state)
{
	refuse("[]", "config must be a JSON object");
	refuse("[" MIN "}]", "config must be a JSON object");
	refuse("42", "config must be a JSON object");
	refuse("\"web\"", "config must be a JSON object");
	refuse("null", "config must be a JSON object");
	refuse(" true ", "config must be a JSON object");
}

/* Proves: none (config syntax checks). */
static void
test_parse_empty_refused(void **state)
{
	refuse("", "config is empty");
	refuse(" \n\t\r ", "config is empty");
	refuse_len(0, NULL, 0, "config is empty");
	refuse("{}", "name is missing");
}

/* Proves: CR 7.1 (a config bounded at 512 KiB). */
static void
test_parse_oversize_refused(void **state)
{
	size_t len = CCONFIG_MAX + 1;
	char *big;

	big = xmalloc(len);
	memset(big, ' ', len);
	memcpy(big, MIN "}", strlen(MIN "}"));
	refuse_len(0, big, len, "config has 524289 bytes, more than the "
	    "524288 allowed");
	free(big);
}

/* Proves: none (config syntax checks). */
static void
test_parse_duplicate_field_refused(void **state)
{
	refuse(MIN ",\"name\":\"db\"}", "field 'name' appears twice");
	refuse(MIN ",\"linux\":{\"resources\":{\"memory\":{\"limit\":4194304},"
	    "\"memory\":{\"limit\":8388608}}}}",
	    "field 'linux.resources.memory' appears twice");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"c\","
	    "\"type\":\"b\"}]}}}",
	    "field 'linux.resources.devices[0].type' appears twice");
}

/* Proves: none (config syntax checks). */
static void
test_parse_escaped_field_name_refused(void **state)
{
	refuse("{\"n\\u0061me\":\"web\"}", "config is not valid JSON: escape "
	    "in a field name (field names must be plain) at offset 1");
}

/* Proves: CR 7.1 (a config's nesting bounded). */
static void
test_parse_deep_nesting_refused(void **state)
{
	refuse(MIN ",\"cml\":{\"token\":{\"type\":[[[[[[1]]]]]]}}}",
	    "config is not valid JSON: nested deeper than 8 levels at offset "
	    "71");
	refuse(MIN ",\"cml\":{\"token\":{\"type\":[[[[[1]]]]]}}}",
	    "cml.token.type must be a string");
}

/* Proves: CR 7.1 (a config's fields bounded). */
static void
test_parse_many_fields_refused(void **state)
{
	char *s, *t;
	int i;

	s = xstrdup(MIN);
	for (i = 0; i < 31; i++) {
		t = fmt("%s,\"f%d\":1", s, i);
		free(s);
		s = t;
	}
	t = fmt("%s}", s);
	refuse(t, "the config has more than 32 fields");
	free(t);
	free(s);
}

/* Proves: none (config field checks). */
static void
test_parse_unknown_field_refused_at_each_level(void **state)
{
	refuse(MIN ",\"nmae\":\"x\"}", "unknown field 'nmae'");
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"version\":\"1\"}}", "unknown field 'guestos.version'");
	refuse(MIN ",\"process\":{\"cwd\":\"/\"}}",
	    "unknown field 'process.cwd'");
	refuse(MIN ",\"process\":{\"capabilities\":{\"effective\":[]}}}",
	    "unknown field 'process.capabilities.effective'");
	refuse(MIN ",\"linux\":{\"namespaces\":[]}}",
	    "unknown field 'linux.namespaces'");
	refuse(MIN ",\"linux\":{\"resources\":{\"memroy\":{}}}}",
	    "unknown field 'linux.resources.memroy'");
	refuse(MIN ",\"linux\":{\"resources\":{\"memory\":{\"swap\":1}}}}",
	    "unknown field 'linux.resources.memory.swap'");
	refuse(MIN ",\"linux\":{\"resources\":{\"cpu\":{\"mems\":\"0\"}}}}",
	    "unknown field 'linux.resources.cpu.mems'");
	refuse(MIN ",\"linux\":{\"resources\":{\"pids\":{\"max\":1}}}}",
	    "unknown field 'linux.resources.pids.max'");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"c\"},"
	    "{\"type\":\"c\",\"path\":\"/dev/x\"}]}}}",
	    "unknown field 'linux.resources.devices[1].path'");
	refuse(MIN ",\"cml\":{\"token\":{\"pin\":\"1234\"}}}",
	    "unknown field 'cml.token.pin'");
	refuse(MIN ",\"cml\":{\"storage\":{\"size\":1}}}",
	    "unknown field 'cml.storage.size'");
	/* A hostile field name is quoted harmlessly. */
	refuse(MIN ",\"a\x1b[2J'\":1}", "config is not valid JSON: control "
	    "character 0x1b in a string at offset 45");
	refuse(MIN ",\"\xc3\xa9'\":1}", "unknown field '\\xc3\\xa9\\x27'");
}

/* Proves: none (config field checks). */
static void
test_parse_wrong_type_refused_at_each_level(void **state)
{
	refuse("{\"name\":1,\"guestos\":{\"name\":\"busybox\"}}",
	    "name must be a string");
	refuse("{\"name\":\"web\",\"guestos\":\"busybox\"}",
	    "guestos must be an object");
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":[\"busybox\"]}}",
	    "guestos.name must be a string");
	refuse(MIN ",\"hostname\":1}", "hostname must be a string");
	refuse(MIN ",\"autostart\":\"yes\"}", "autostart must be true or false");
	refuse(MIN ",\"autostart\":1}", "autostart must be true or false");
	refuse(MIN ",\"process\":[]}", "process must be an object");
	refuse(MIN ",\"process\":{\"args\":\"/sbin/init\"}}",
	    "process.args must be an array of strings");
	refuse(MIN ",\"process\":{\"args\":[\"/sbin/init\",1]}}",
	    "process.args must be an array of strings");
	refuse(MIN ",\"process\":{\"env\":{\"A\":\"b\"}}}",
	    "process.env must be an array of strings");
	refuse(MIN ",\"process\":{\"env\":[null]}}",
	    "process.env must be an array of strings");
	refuse(MIN ",\"process\":{\"capabilities\":[\"CAP_CHOWN\"]}}",
	    "process.capabilities must be an object");
	refuse(MIN ",\"process\":{\"capabilities\":{\"bounding\":"
	    "\"CAP_CHOWN\"}}}",
	    "process.capabilities.bounding must be an array of strings");
	refuse(MIN ",\"linux\":true}", "linux must be an object");
	refuse(MIN ",\"linux\":{\"resources\":1}}",
	    "linux.resources must be an object");
	refuse(MIN ",\"linux\":{\"resources\":{\"memory\":67108864}}}",
	    "linux.resources.memory must be an object");
	refuse(MIN ",\"linux\":{\"resources\":{\"memory\":{\"limit\":"
	    "\"64M\"}}}}", "linux.resources.memory.limit must be an integer "
	    "from 4194304 to 1099511627776");
	refuse(MIN ",\"linux\":{\"resources\":{\"cpu\":\"0-1\"}}}",
	    "linux.resources.cpu must be an object");
	refuse(MIN ",\"linux\":{\"resources\":{\"cpu\":{\"cpus\":1}}}}",
	    "linux.resources.cpu.cpus must be a string");
	refuse(MIN ",\"linux\":{\"resources\":{\"pids\":[]}}}",
	    "linux.resources.pids must be an object");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":{}}}}",
	    "linux.resources.devices must be an array of objects");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[\"c 1:3 rwm\"]}}}",
	    "linux.resources.devices must be an array of objects");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"allow\":1,"
	    "\"type\":\"c\"}]}}}",
	    "linux.resources.devices[0].allow must be true or false");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"type\":99}]}}}",
	    "linux.resources.devices[0].type must be a string");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"c\","
	    "\"access\":7}]}}}",
	    "linux.resources.devices[0].access must be a string");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"c\","
	    "\"major\":\"188\"}]}}}", "linux.resources.devices[0].major must "
	    "be an integer from 0 to 4095");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"c\","
	    "\"major\":1,\"minor\":1,\"exclusive\":\"yes\"}]}}}",
	    "linux.resources.devices[0].exclusive must be true or false");
	refuse(MIN ",\"linux\":{\"user_namespace\":\"true\"}}",
	    "linux.user_namespace must be true or false");
	refuse(MIN ",\"cml\":1}", "cml must be an object");
	refuse(MIN ",\"cml\":{\"token\":\"none\"}}", "cml.token must be an object");
	refuse(MIN ",\"cml\":{\"token\":{\"type\":0}}}",
	    "cml.token.type must be a string");
	refuse(MIN ",\"cml\":{\"storage\":true}}",
	    "cml.storage must be an object");
	refuse(MIN ",\"cml\":{\"storage\":{\"encrypted\":0}}}",
	    "cml.storage.encrypted must be true or false");
	refuse(MIN ",\"cml\":{\"storage\":{\"integrity\":\"no\"}}}",
	    "cml.storage.integrity must be true or false");
	/* TSF.CDATA: encrypted storage is the volume's, under a token */
	refuse(MIN ",\"cml\":{\"token\":{\"type\":\"softtoken\"},"
	    "\"storage\":{\"encrypted\":true}}}",
	    "cml.storage.encrypted needs cml.storage.volume: the data volume "
	    "is what is encrypted");
	refuse(MIN ",\"cml\":{\"storage\":{\"encrypted\":true,"
	    "\"volume\":{\"size_mb\":16,\"mount\":\"/data\"}}}}",
	    "cml.storage.encrypted needs cml.token.type softtoken or usbtoken: "
	    "the token's PIN unlocks the volume's key");
	refuse(MIN ",\"cml\":{\"storage\":{\"size_mb\":\"64\"}}}",
	    "cml.storage.size_mb must be an integer from 1 to 1048576");
	refuse(MIN ",\"cml\":{\"time\":\"no\"}}", "cml.time must be true or false");
}

#define VOL(v) MIN ",\"cml\":{\"storage\":{\"volume\":" v "}}}"
#define VOL_PATH_MSG "cml.storage.volume.mount must be an absolute path " \
	"below / without '.', '..', '//' or a trailing '/', at most 255 bytes"

/* Proves: OS 01 (a data volume's size and mount point are checked). */
static void
test_parse_volume(void **state)
{
	struct json_object *eff;
	struct cconfig c;
	char *cause = NULL;
	const char *json = VOL("{\"size_mb\":256,\"mount\":\"/var/data\"}");

	(void)state;
	assert_int_equal(cconfig_parse(json, strlen(json), &c, &cause), 0);
	assert_string_equal(c.volume_mount, "/var/data");
	assert_int_equal(c.volume_size_mb, 256);
	eff = cconfig_to_json(&c);
	assert_string_equal(json_object_to_json_string_ext(
	    json_object_object_get(json_object_object_get(
	    json_object_object_get(eff, "cml"), "storage"), "volume"),
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "{\"size_mb\":256,\"mount\":\"/var/data\"}");
	json_object_put(eff);
	cconfig_clear(&c);

	refuse(VOL("true"), "cml.storage.volume must be an object");
	refuse(VOL("{\"mount\":\"/data\"}"), "cml.storage.volume.size_mb is "
	    "missing: the data volume needs a size");
	refuse(VOL("{\"size_mb\":4,\"mount\":\"/data\"}"),
	    "cml.storage.volume.size_mb must be an integer from 8 to 1048576");
	refuse(VOL("{\"size_mb\":8}"),
	    "cml.storage.volume.mount is missing");
	refuse(VOL("{\"size_mb\":8,\"mount\":\"/data\",\"ro\":true}"),
	    "unknown field 'cml.storage.volume.ro'");
	refuse(VOL("{\"size_mb\":8,\"mount\":\"data\"}"), VOL_PATH_MSG);
	refuse(VOL("{\"size_mb\":8,\"mount\":\"/\"}"), VOL_PATH_MSG);
	refuse(VOL("{\"size_mb\":8,\"mount\":\"/data/\"}"), VOL_PATH_MSG);
	refuse(VOL("{\"size_mb\":8,\"mount\":\"/a//b\"}"), VOL_PATH_MSG);
	refuse(VOL("{\"size_mb\":8,\"mount\":\"/a/../b\"}"), VOL_PATH_MSG);
	refuse(VOL("{\"size_mb\":8,\"mount\":\"/a/./b\"}"), VOL_PATH_MSG);
	refuse(VOL("{\"size_mb\":8,\"mount\":\"/proc/x\"}"),
	    "cml.storage.volume.mount must not be in /proc: the runtime "
	    "makes it");
	refuse(VOL("{\"size_mb\":8,\"mount\":\"/dev\"}"),
	    "cml.storage.volume.mount must not be in /dev: the runtime "
	    "makes it");
	/* "/system" is not "/sys" */
	json = VOL("{\"size_mb\":8,\"mount\":\"/system\"}");
	assert_int_equal(cconfig_parse(json, strlen(json), &c, &cause), 0);
	cconfig_clear(&c);
}

/* Proves: none (config field checks). */
static void
test_parse_missing_required_refused(void **state)
{
	refuse("{\"guestos\":{\"name\":\"busybox\"}}", "name is missing");
	refuse("{\"name\":\"web\"}", "guestos is missing");
	refuse("{\"name\":\"web\",\"guestos\":{}}", "guestos.name is missing");
	refuse(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"major\":1}]}}}",
	    "linux.resources.devices[0].type is missing");
}

/*
 * Proves: APS 04 (limits only within their ranges; never unlimited by mistake).
 */
static void
test_parse_range_boundaries_checked(void **state)
{
	range(MIN ",\"linux\":{\"resources\":{\"memory\":{\"limit\":@}}}}",
	    4194304, 1099511627776LL, "linux.resources.memory.limit must be "
	    "an integer from 4194304 to 1099511627776");
	range(MIN ",\"linux\":{\"resources\":{\"cpu\":{\"shares\":@}}}}",
	    2, 262144, "linux.resources.cpu.shares must be an integer from 2 "
	    "to 262144");
	range(MIN ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":@}}}}",
	    1000, 1000000, "linux.resources.cpu.quota must be an integer from "
	    "1000 to 1000000");
	range(MIN ",\"linux\":{\"resources\":{\"cpu\":{\"period\":@}}}}",
	    1000, 1000000, "linux.resources.cpu.period must be an integer "
	    "from 1000 to 1000000");
	range(MIN ",\"linux\":{\"resources\":{\"pids\":{\"limit\":@}}}}",
	    1, 4194304, "linux.resources.pids.limit must be an integer from 1 "
	    "to 4194304");
	range(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"c\","
	    "\"major\":@}]}}}", 0, 4095, "linux.resources.devices[0].major "
	    "must be an integer from 0 to 4095");
	range(MIN ",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"b\","
	    "\"minor\":@}]}}}", 0, 1048575, "linux.resources.devices[0].minor "
	    "must be an integer from 0 to 1048575");
	range(MIN ",\"cml\":{\"storage\":{\"size_mb\":@}}}", 1, 1048576,
	    "cml.storage.size_mb must be an integer from 1 to 1048576");
}

/* Proves: none (container name checks). */
static void
test_parse_bad_name_refused(void **state)
{
	accept("{\"name\":\"0\",\"guestos\":{\"name\":\"busybox\"}}");
	accept("{\"name\":\"a-\",\"guestos\":{\"name\":\"busybox\"}}");
	accept("{\"name\":\"abcdefghijklmnopqrstuvwxyz01234\","
	    "\"guestos\":{\"name\":\"busybox\"}}");
	refuse("{\"name\":\"abcdefghijklmnopqrstuvwxyz012345\","
	    "\"guestos\":{\"name\":\"busybox\"}}",
	    "name 'abcdefghijklmnopqrstuvwxyz012345' must be 1 to 31 of a-z "
	    "0-9 -, starting with a letter or digit");
	refuse("{\"name\":\"\",\"guestos\":{\"name\":\"busybox\"}}",
	    "name '' must be 1 to 31 of a-z 0-9 -, starting with a letter or "
	    "digit");
	refuse("{\"name\":\"Web\",\"guestos\":{\"name\":\"busybox\"}}",
	    "name 'Web' must be 1 to 31 of a-z 0-9 -, starting with a letter "
	    "or digit");
	refuse("{\"name\":\"-web\",\"guestos\":{\"name\":\"busybox\"}}",
	    "name '-web' must be 1 to 31 of a-z 0-9 -, starting with a letter "
	    "or digit");
	refuse("{\"name\":\"web_1\",\"guestos\":{\"name\":\"busybox\"}}",
	    "name 'web_1' must be 1 to 31 of a-z 0-9 -, starting with a letter "
	    "or digit");
	refuse("{\"name\":\"../x\",\"guestos\":{\"name\":\"busybox\"}}",
	    "name '../x' must be 1 to 31 of a-z 0-9 -, starting with a letter "
	    "or digit");
	refuse("{\"name\":\"it's\\n\",\"guestos\":{\"name\":\"busybox\"}}",
	    "name 'it\\x27s\\x0a' must be 1 to 31 of a-z 0-9 -, starting with "
	    "a letter or digit");
}

/* Proves: none (guest OS name and version checks). */
static void
test_parse_guestos_checked(void **state)
{
	struct cconfig c;

	accept("{\"name\":\"web\",\"guestos\":{\"name\":\"a.b_c-d\","
	    "\"min_version\":\"1.2.3.4\"}}");
	accept_as(0, "{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"min_version\":7}}", &c);
	assert_string_equal(c.guestos_min_version, "7");
	cconfig_clear(&c);
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\".hidden\"}}",
	    "guestos.name '.hidden' must be 1 to 64 of a-z 0-9 . _ -, starting "
	    "with a letter or digit");
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\"Busybox\"}}",
	    "guestos.name 'Busybox' must be 1 to 64 of a-z 0-9 . _ -, starting "
	    "with a letter or digit");
#define BADVERSION "guestos.min_version must be a version such as " \
	"\"1.2.3\": 1 to 4 numbers separated by dots, without leading zeros, " \
	"each at most 999999999"
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"min_version\":\"01\"}}", BADVERSION);
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"min_version\":\"1.2.3.4.5\"}}", BADVERSION);
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"min_version\":\"1.\"}}", BADVERSION);
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"min_version\":\"1000000000\"}}", BADVERSION);
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"min_version\":-1}}", BADVERSION);
	refuse("{\"name\":\"web\",\"guestos\":{\"name\":\"busybox\","
	    "\"min_version\":1.5}}", BADVERSION);
#undef BADVERSION
}

/* Proves: none (host name checks). */
static void
test_parse_bad_hostname_refused(void **state)
{
	static const char label63[] =
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk";
	struct cconfig c;
	char *s;

	accept(MIN ",\"hostname\":\"Web-1.example.ORG\"}");
	accept_free(fmt(MIN ",\"hostname\":\"%s\"}", label63));
	accept_free(fmt(MIN ",\"hostname\":\"%s.a\"}", label63 + 1));
	/* The name is always accepted, as it is the default. */
	accept_as(0, "{\"name\":\"web-\",\"guestos\":{\"name\":\"busybox\"}}",
	    &c);
	assert_string_equal(c.hostname, "web-");
	cconfig_clear(&c);
	accept("{\"name\":\"web-\",\"guestos\":{\"name\":\"busybox\"},"
	    "\"hostname\":\"web-\"}");

#define BADHOST(h) "hostname '" h "' must be an RFC 1123 host name: labels " \
	"of a-z A-Z 0-9 - separated by dots, each 1 to 63 long, not starting " \
	"or ending with -, 64 at most in all"
	refuse(MIN ",\"hostname\":\"\"}", BADHOST(""));
	refuse(MIN ",\"hostname\":\"-web\"}", BADHOST("-web"));
	refuse(MIN ",\"hostname\":\"web-\"}", BADHOST("web-"));
	refuse(MIN ",\"hostname\":\"a..b\"}", BADHOST("a..b"));
	refuse(MIN ",\"hostname\":\".a\"}", BADHOST(".a"));
	refuse(MIN ",\"hostname\":\"a.\"}", BADHOST("a."));
	refuse(MIN ",\"hostname\":\"a_b\"}", BADHOST("a_b"));
	refuse(MIN ",\"hostname\":\"a b\"}", BADHOST("a b"));
	s = fmt(MIN ",\"hostname\":\"%sl\"}", label63);
	refuse(s, "hostname 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx"
	    "yzabcdefghijkl' must be an RFC 1123 host name: labels of a-z A-Z "
	    "0-9 - separated by dots, each 1 to 63 long, not starting or "
	    "ending with -, 64 at most in all");
	free(s);
	s = fmt(MIN ",\"hostname\":\"%s.a\"}", label63);
	refuse(s, "hostname 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx"
	    "yzabcdefghijk....' must be an RFC 1123 host name: labels of a-z "
	    "A-Z 0-9 - separated by dots, each 1 to 63 long, not starting or "
	    "ending with -, 64 at most in all");
	free(s);
#undef BADHOST
}

/* Proves: OS 02 (only the management container is c0). */
static void
test_parse_c0_reserved_refused(void **state)
{
	struct cconfig c;

	refuse("{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"}}",
	    "name 'c0' is reserved for the management container");
	refuse_c0(MIN "}",
	    "name must be 'c0' for the management container, not 'web'");
	accept_as(1, "{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"}}",
	    &c);
	assert_true(c.is_c0);
	assert_string_equal(c.hostname, "c0");
	cconfig_clear(&c);
	accept("{\"name\":\"c01\",\"guestos\":{\"name\":\"busybox\"}}");
}

/* Proves: none (init argument checks). */
static void
test_parse_args_checked(void **state)
{
	char big[CCONFIG_STRING_MAX + 2];
	char *s, *t;
	int i;

	refuse(MIN ",\"process\":{\"args\":[\"sbin/init\"]}}",
	    "process.args[0] must be an absolute path");
	refuse(MIN ",\"process\":{\"args\":[\"\"]}}",
	    "process.args[0] must be an absolute path");
	refuse(MIN ",\"process\":{\"args\":[]}}",
	    "process.args must have 1 to 64 entries");

	s = xstrdup("\"/init\"");
	for (i = 1; i < CCONFIG_ARGS_MAX; i++) {
		t = fmt("%s,\"a%d\"", s, i);
		free(s);
		s = t;
	}
	accept_free(fmt(MIN ",\"process\":{\"args\":[%s]}}", s));
	refuse_free(fmt(MIN ",\"process\":{\"args\":[%s,\"x\"]}}", s),
	    "process.args must have 1 to 64 entries");
	free(s);

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[0] = '/';
	refuse_free(fmt(MIN ",\"process\":{\"args\":[\"%s\"]}}", big),
	    "process.args[0] must be at most 4096 bytes long");
	refuse_free(fmt(MIN ",\"process\":{\"args\":[\"/init\",\"%s\"]}}", big),
	    "process.args[1] must be at most 4096 bytes long");
	big[sizeof big - 2] = '\0';
	accept_free(fmt(MIN ",\"process\":{\"args\":[\"%s\"]}}", big));
}

/* Proves: none (environment checks). */
static void
test_parse_bad_env_refused(void **state)
{
	char *s, *t;
	int i;

#define BADENV(i) "process.env[" #i "] must be KEY=VALUE, KEY of A-Z a-z " \
	"0-9 _ and not starting with a digit"
	refuse(MIN ",\"process\":{\"env\":[\"A=1\",\"NOVALUE\"]}}", BADENV(1));
	refuse(MIN ",\"process\":{\"env\":[\"1A=x\"]}}", BADENV(0));
	refuse(MIN ",\"process\":{\"env\":[\"A-B=x\"]}}", BADENV(0));
	refuse(MIN ",\"process\":{\"env\":[\"=x\"]}}", BADENV(0));
	refuse(MIN ",\"process\":{\"env\":[\"\"]}}", BADENV(0));
	refuse(MIN ",\"process\":{\"env\":[\"A B=x\"]}}", BADENV(0));
#undef BADENV
	refuse(MIN ",\"process\":{\"env\":[\"PATH=/bin\",\"A=1\",\"PATH=/x\"]}}",
	    "process.env sets PATH twice");
	accept(MIN ",\"process\":{\"env\":[\"PATH=/bin\",\"PATHX=/x\","
	    "\"PAT=1\"]}}");

	s = xstrdup("\"V0=0\"");
	for (i = 1; i < CCONFIG_ENV_MAX; i++) {
		t = fmt("%s,\"V%d=%d\"", s, i, i);
		free(s);
		s = t;
	}
	accept_free(fmt(MIN ",\"process\":{\"env\":[%s]}}", s));
	refuse_free(fmt(MIN ",\"process\":{\"env\":[%s,\"X=1\"]}}", s),
	    "process.env must have at most 128 entries");
	free(s);
}

/* Proves: none (capability name checks). */
static void
test_parse_unknown_capability_refused(void **state)
{
	refuse(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
	    "\"CAP_CHOWN\",\"CAP_FOO\"]}}}",
	    "process.capabilities.bounding[1]: unknown capability 'CAP_FOO'");
	refuse(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
	    "\"cap_chown\"]}}}",
	    "process.capabilities.bounding[0]: unknown capability "
	    "'cap_chown'");
	refuse(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
	    "\"CHOWN\"]}}}",
	    "process.capabilities.bounding[0]: unknown capability 'CHOWN'");
	refuse(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
	    "\"0\"]}}}",
	    "process.capabilities.bounding[0]: unknown capability '0'");
	refuse(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
	    "\"CAP_KILL\",\"CAP_CHOWN\",\"CAP_KILL\"]}}}",
	    "process.capabilities.bounding lists CAP_KILL twice");
}

/*
 * Proves: OS 05 (the init shim, a copy of cmld, never with a capability
 * that could trace it).
 */
static void
test_parse_init_shim_checked(void **state)
{
	struct cconfig c;

	(void)state;
	accept_as(0, MIN ",\"process\":{\"init_shim\":true}}", &c);
	assert_true(c.init_shim);
	cconfig_clear(&c);
	accept_as(1, "{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"},"
	    "\"process\":{\"init_shim\":true}}", &c);
	assert_true(c.init_shim);
	cconfig_clear(&c);
	refuse(MIN ",\"process\":{\"init_shim\":1}}",
	    "process.init_shim must be true or false");
	refuse(MIN ",\"process\":{\"init_shim\":\"yes\"}}",
	    "process.init_shim must be true or false");
	refuse(MIN ",\"process\":{\"init_shim\":true,\"capabilities\":"
	    "{\"bounding\":[\"CAP_SYS_PTRACE\"]}}}",
	    "process.init_shim cannot go with CAP_SYS_PTRACE: the shim is a "
	    "copy of cmld, whose memory a process that may trace it could "
	    "read");
	accept(MIN ",\"process\":{\"init_shim\":false,\"capabilities\":"
	    "{\"bounding\":[\"CAP_SYS_PTRACE\"]}}}");
}

/* Expects cap to be refused for a service container and for c0 with msg. */
static void
refuse_cap(const char *cap, int also_c0, const char *msg)
{
	char *s;

	s = fmt(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
	    "\"CAP_CHOWN\",\"%s\"]}}}", cap);
	refuse(s, msg);
	free(s);
	s = fmt("{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"},"
	    "\"process\":{\"capabilities\":{\"bounding\":[\"%s\"]}}}", cap);
	if (also_c0)
		refuse_c0(s, msg);
	else {
		struct cconfig c;

		accept_as(1, s, &c);
		cconfig_clear(&c);
	}
	free(s);
}

/*
 * Proves: OS 05 (CAP_SYS_MODULE and the like never granted),
 * TSF.ISOL (CAP_SYS_ADMIN for c0 only), CR 7.7, NDR 5.2 (c0 cannot change
 * the rules cmld enforces in its namespace: no CAP_NET_ADMIN).
 */
static void
test_parse_forbidden_capability_refused(void **state)
{
	struct cconfig c;
	int i;

	refuse_cap("CAP_SYS_MODULE", 1, "CAP_SYS_MODULE is never granted: it "
	    "would let the container load kernel modules");
	refuse_cap("CAP_SYS_RAWIO", 1, "CAP_SYS_RAWIO is never granted: it "
	    "would give the container raw access to memory and I/O ports");
	refuse_cap("CAP_SYS_BOOT", 1, "CAP_SYS_BOOT is never granted: it "
	    "would let the container reboot the host or load a new kernel");
	refuse_cap("CAP_MAC_ADMIN", 1, "CAP_MAC_ADMIN is never granted: it "
	    "would let the container change the mandatory access control "
	    "policy");
	refuse_cap("CAP_MAC_OVERRIDE", 1, "CAP_MAC_OVERRIDE is never granted: "
	    "it would let the container bypass mandatory access control");
	refuse_cap("CAP_SYS_ADMIN", 0, "CAP_SYS_ADMIN is granted only to c0: "
	    "it would let the container mount file systems and undo its "
	    "isolation");
	refuse_cap("CAP_SYS_TIME", 1, "CAP_SYS_TIME is granted only to the "
	    "time container (cml.time true): it would let the container set "
	    "the host's clock");

	/* c0 shares cmld's network namespace: no CAP_NET_ADMIN there. */
	refuse_c0("{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"},"
	    "\"process\":{\"capabilities\":{\"bounding\":[\"CAP_NET_ADMIN\"]}}}",
	    "CAP_NET_ADMIN is never granted to c0: c0 runs in cmld's network "
	    "namespace, whose links, addresses, routes and firewall only cmld "
	    "changes");

	/* The first one listed is named. */
	refuse(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
	    "\"CAP_SYS_BOOT\",\"CAP_SYS_MODULE\"]}}}", "CAP_SYS_BOOT is never "
	    "granted: it would let the container reboot the host or load a "
	    "new kernel");

	/* The time container keeps CAP_SYS_TIME; c0 may be it. */
	accept(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
	    "\"CAP_SYS_TIME\"]}},\"cml\":{\"time\":true}}");
	accept_as(1, "{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"},"
	    "\"process\":{\"capabilities\":{\"bounding\":[\"CAP_SYS_ADMIN\","
	    "\"CAP_SYS_TIME\"]}},\"cml\":{\"time\":true}}", &c);
	assert_true(c.caps == ((UINT64_C(1) << CAP_SYS_ADMIN) |
	    (UINT64_C(1) << CAP_SYS_TIME)));
	cconfig_clear(&c);

	/* Every other capability may be kept by a service container. */
	for (i = 0; i <= cconfig_cap_last(); i++) {
		const char *n = cconfig_cap_name(i);
		char *s;

		if (i == CAP_SYS_MODULE || i == CAP_SYS_RAWIO ||
		    i == CAP_SYS_BOOT || i == CAP_MAC_ADMIN ||
		    i == CAP_MAC_OVERRIDE || i == CAP_SYS_ADMIN ||
		    i == CAP_SYS_TIME)
			continue;
		s = fmt(MIN ",\"process\":{\"capabilities\":{\"bounding\":["
		    "\"%s\"]}}}", n);
		accept_as(0, s, &c);
		assert_true(c.caps == (UINT64_C(1) << i));
		cconfig_clear(&c);
		free(s);
	}
}

/*
 * Proves: TSF.DEV (device rules checked; exclusive only for one device),
 * CR 7.7 (every device for c0 only).
 */
static void
test_parse_bad_device_rules_refused(void **state)
{
	struct cconfig c;
	char *s, *t;
	int i;

#define DEV(rule) MIN ",\"linux\":{\"resources\":{\"devices\":[" rule "]}}}"
#define C0DEV(rule) "{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"}," \
	"\"linux\":{\"resources\":{\"devices\":[" rule "]}}}"
	refuse(DEV("{\"type\":\"x\"}"),
	    "linux.resources.devices[0].type must be 'c', 'b' or 'a'");
	refuse(DEV("{\"type\":\"C\"}"),
	    "linux.resources.devices[0].type must be 'c', 'b' or 'a'");
	refuse(DEV("{\"type\":\"\"}"),
	    "linux.resources.devices[0].type must be 'c', 'b' or 'a'");
	refuse(DEV("{\"type\":\"cb\"}"),
	    "linux.resources.devices[0].type must be 'c', 'b' or 'a'");
	refuse(DEV("{\"allow\":false,\"type\":\"c\"}"),
	    "linux.resources.devices[0].allow must be true: every device not "
	    "listed is denied already");

#define BADACCESS "linux.resources.devices[0].access must be one or more " \
	"of r, w and m, each at most once"
	refuse(DEV("{\"type\":\"c\",\"access\":\"\"}"), BADACCESS);
	refuse(DEV("{\"type\":\"c\",\"access\":\"rwx\"}"), BADACCESS);
	refuse(DEV("{\"type\":\"c\",\"access\":\"rr\"}"), BADACCESS);
	refuse(DEV("{\"type\":\"c\",\"access\":\"rwr\"}"), BADACCESS);
	refuse(DEV("{\"type\":\"c\",\"access\":\"rwmr\"}"), BADACCESS);
	refuse(DEV("{\"type\":\"c\",\"access\":\"R\"}"), BADACCESS);
	refuse(DEV("{\"type\":\"c\",\"access\":\"r w\"}"), BADACCESS);
#undef BADACCESS

	refuse(DEV("{\"type\":\"a\"}"),
	    "linux.resources.devices[0]: type 'a' (every device) is allowed "
	    "only for c0");
	refuse(DEV("{\"type\":\"c\",\"major\":1,\"minor\":1},"
	    "{\"type\":\"a\",\"access\":\"r\"}"),
	    "linux.resources.devices[1]: type 'a' (every device) is allowed "
	    "only for c0");
	refuse_c0(C0DEV("{\"type\":\"a\",\"major\":1}"),
	    "linux.resources.devices[0]: type 'a' stands for every device and "
	    "takes no major or minor");
	refuse_c0(C0DEV("{\"type\":\"a\",\"exclusive\":true}"),
	    "linux.resources.devices[0]: exclusive needs type 'c' or 'b' with "
	    "both major and minor");
	accept_as(1, C0DEV("{\"type\":\"a\"}"), &c);
	assert_int_equal(c.devices[0].type, 'a');
	cconfig_clear(&c);

	refuse(DEV("{\"type\":\"c\",\"major\":188,\"exclusive\":true}"),
	    "linux.resources.devices[0]: exclusive needs type 'c' or 'b' with "
	    "both major and minor");
	refuse(DEV("{\"type\":\"c\",\"minor\":0,\"exclusive\":true}"),
	    "linux.resources.devices[0]: exclusive needs type 'c' or 'b' with "
	    "both major and minor");
	refuse(DEV("{\"type\":\"c\",\"major\":1,\"minor\":3,"
	    "\"exclusive\":true}"), "linux.resources.devices[0]: c 1:3 rwm is "
	    "a default device of every container and cannot be exclusive");
	refuse(DEV("{\"type\":\"c\",\"major\":136,\"minor\":4,\"access\":\"r\","
	    "\"exclusive\":true}"), "linux.resources.devices[0]: c 136:4 r is "
	    "a default device of every container and cannot be exclusive");
	accept(DEV("{\"type\":\"b\",\"major\":1,\"minor\":3,"
	    "\"exclusive\":true}"));

	/* access is written back in the order r, w, m; rwm by default. */
	accept_as(0, DEV("{\"type\":\"c\",\"major\":4,\"access\":\"mr\"},"
	    "{\"type\":\"b\"}"), &c);
	assert_string_equal(c.devices[0].access, "rm");
	assert_string_equal(c.devices[1].access, "rwm");
	assert_int_equal(c.devices[1].major, CCONFIG_DEVICE_ANY);
	assert_int_equal(c.devices[1].minor, CCONFIG_DEVICE_ANY);
	cconfig_clear(&c);

	s = xstrdup("{\"type\":\"c\"}");
	for (i = 1; i < CCONFIG_DEVICES_MAX; i++) {
		t = fmt("%s,{\"type\":\"c\"}", s);
		free(s);
		s = t;
	}
	accept_free(fmt(DEV("%s"), s));
	refuse_free(fmt(DEV("%s,{\"type\":\"c\"}"), s),
	    "linux.resources.devices must have at most 256 entries");
	free(s);
#undef DEV
#undef C0DEV
}

/* Proves: none (CPU list syntax). */
static void
test_parse_bad_cpus_refused(void **state)
{
	static const char *const good[] = {
		"0", "0-1,3", "3-3", "0,2,4-7", "0-8191", "8191",
	};
	static const char *const bad[] = {
		"", "1-0", "0,0", "3,1", "0-2,2", "0-2,1-3", "a", "0,", ",0",
		"01", "8192", "0-8192", "0-", "-1", " 0", "0 ", "0 - 1",
		"0--1", "0,,1", "99999999999999999999",
	};
	char *s, *msg;
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		accept_free(fmt(MIN ",\"linux\":{\"resources\":{\"cpu\":{"
		    "\"cpus\":\"%s\"}}}}", good[i]));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s = fmt(MIN ",\"linux\":{\"resources\":{\"cpu\":{"
		    "\"cpus\":\"%s\"}}}}", bad[i]);
		msg = fmt("linux.resources.cpu.cpus '%s' must be CPU numbers "
		    "(0 to 8191) and ranges in ascending order, such as "
		    "\"0-1,3\"", bad[i]);
		refuse(s, msg);
		free(msg);
		free(s);
	}
}

/* Proves: none (token type checks). */
static void
test_parse_bad_token_refused(void **state)
{
	struct cconfig c;

	refuse(MIN ",\"cml\":{\"token\":{\"type\":\"smartcard\"}}}",
	    "cml.token.type must be none, softtoken or usbtoken");
	refuse(MIN ",\"cml\":{\"token\":{\"type\":\"None\"}}}",
	    "cml.token.type must be none, softtoken or usbtoken");
	accept_as(0, MIN ",\"cml\":{\"token\":{\"type\":\"usbtoken\"}}}", &c);
	assert_int_equal(c.token, CCONFIG_TOKEN_USBTOKEN);
	assert_string_equal(cconfig_token_name(c.token), "usbtoken");
	cconfig_clear(&c);
}

/* Proves: TSF.DEV (the default device list is exactly these eight), CR 7.7. */
static void
test_device_string_formats_rules(void **state)
{
	static const struct cconfig_device d1 = { 'c', 188, 0, "rwm", 1 };
	static const struct cconfig_device d2 = {
		'b', CCONFIG_DEVICE_ANY, 7, "r", 0
	};
	static const struct cconfig_device d3 = {
		'a', CCONFIG_DEVICE_ANY, CCONFIG_DEVICE_ANY, "rw", 0
	};
	static const char *const defaults[] = {
		"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
		"c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm",
	};
	char *s;
	size_t i;

	s = cconfig_device_string(&d1);
	assert_string_equal(s, "c 188:0 rwm");
	free(s);
	s = cconfig_device_string(&d2);
	assert_string_equal(s, "b *:7 r");
	free(s);
	s = cconfig_device_string(&d3);
	assert_string_equal(s, "a *:* rw");
	free(s);

	assert_int_equal(cconfig_default_devices_len, 8);
	for (i = 0; i < cconfig_default_devices_len; i++) {
		s = cconfig_device_string(&cconfig_default_devices[i]);
		assert_string_equal(s, defaults[i]);
		free(s);
		assert_false(cconfig_default_devices[i].exclusive);
	}
}

/* Proves: TSF.DEV (what a config allows; the test of exclusive assignment). */
static void
test_allows_device_covers_defaults_and_list(void **state)
{
	struct cconfig c;

	accept_as(0, MIN ",\"linux\":{\"resources\":{\"devices\":["
	    "{\"type\":\"c\",\"major\":188,\"minor\":0,\"exclusive\":true},"
	    "{\"type\":\"b\",\"major\":8}]}}}", &c);
	assert_true(cconfig_allows_device(&c, 'c', 1, 3));
	assert_true(cconfig_allows_device(&c, 'c', 136, 12));
	assert_false(cconfig_allows_device(&c, 'b', 1, 3));
	assert_true(cconfig_allows_device(&c, 'c', 188, 0));
	assert_false(cconfig_allows_device(&c, 'c', 188, 1));
	assert_true(cconfig_allows_device(&c, 'b', 8, 17));
	assert_false(cconfig_allows_device(&c, 'c', 8, 17));
	assert_false(cconfig_allows_device(&c, 'c', 10, 200));
	cconfig_clear(&c);

	accept_as(1, "{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"},"
	    "\"linux\":{\"resources\":{\"devices\":[{\"type\":\"a\"}]}}}", &c);
	assert_true(cconfig_allows_device(&c, 'c', 188, 0));
	assert_true(cconfig_allows_device(&c, 'b', 8, 0));
	assert_true(cconfig_device_covers(&c.devices[0], 'c', 4, 4));
	cconfig_clear(&c);
}

/* Proves: CR 7.7 (a capability named is the one kept). */
static void
test_cap_names_match_kernel_numbers(void **state)
{
#define CAP(n) assert_string_equal(cconfig_cap_name(n), #n)
	CAP(CAP_CHOWN);
	CAP(CAP_DAC_OVERRIDE);
	CAP(CAP_DAC_READ_SEARCH);
	CAP(CAP_FOWNER);
	CAP(CAP_FSETID);
	CAP(CAP_KILL);
	CAP(CAP_SETGID);
	CAP(CAP_SETUID);
	CAP(CAP_SETPCAP);
	CAP(CAP_LINUX_IMMUTABLE);
	CAP(CAP_NET_BIND_SERVICE);
	CAP(CAP_NET_BROADCAST);
	CAP(CAP_NET_ADMIN);
	CAP(CAP_NET_RAW);
	CAP(CAP_IPC_LOCK);
	CAP(CAP_IPC_OWNER);
	CAP(CAP_SYS_MODULE);
	CAP(CAP_SYS_RAWIO);
	CAP(CAP_SYS_CHROOT);
	CAP(CAP_SYS_PTRACE);
	CAP(CAP_SYS_PACCT);
	CAP(CAP_SYS_ADMIN);
	CAP(CAP_SYS_BOOT);
	CAP(CAP_SYS_NICE);
	CAP(CAP_SYS_RESOURCE);
	CAP(CAP_SYS_TIME);
	CAP(CAP_SYS_TTY_CONFIG);
	CAP(CAP_MKNOD);
	CAP(CAP_LEASE);
	CAP(CAP_AUDIT_WRITE);
	CAP(CAP_AUDIT_CONTROL);
	CAP(CAP_SETFCAP);
	CAP(CAP_MAC_OVERRIDE);
	CAP(CAP_MAC_ADMIN);
	CAP(CAP_SYSLOG);
	CAP(CAP_WAKE_ALARM);
	CAP(CAP_BLOCK_SUSPEND);
	CAP(CAP_AUDIT_READ);
	CAP(CAP_PERFMON);
	CAP(CAP_BPF);
	CAP(CAP_CHECKPOINT_RESTORE);
#undef CAP
	assert_int_equal(cconfig_cap_last(), 40);
	assert_null(cconfig_cap_name(41));
	assert_null(cconfig_cap_name(-1));
}

/* A config with a network section n (the object's members). */
#define NET(n) MIN ",\"cml\":{\"network\":{" n "}}}"
/* A linked config with network members n besides the mode. */
#define LINK(n) NET("\"mode\":\"link\"," n)

/* A network section with every list used, as an operator writes it. */
#define NET_FULL LINK( \
	"\"egress\":[{\"to\":\"192.0.2.0/24\",\"proto\":\"tcp\"," \
	"\"port\":443,\"uplink\":\"up0\"}," \
	"{\"to\":\"2001:DB8:0::/32\",\"uplink\":\"up1\"}," \
	"{\"to\":\"198.51.100.7\",\"proto\":\"udp\",\"uplink\":\"up0\"}]," \
	"\"forward\":[{\"uplink\":\"up0\",\"proto\":\"tcp\",\"port\":8080," \
	"\"to_port\":80},{\"uplink\":\"up0\",\"proto\":\"udp\"," \
	"\"port\":8080}]," \
	"\"management\":[{\"proto\":\"tcp\",\"port\":22}]," \
	"\"dns\":[\"192.0.2.53\",\"2001:DB8::0:53\"]," \
	"\"interfaces\":[\"eth1\",\"wlan0\"]")

/* What the effective config shows of NET_FULL. */
#define NET_FULL_EFFECTIVE \
	"{\"mode\":\"link\"," \
	"\"egress\":[{\"proto\":\"tcp\",\"port\":443,\"to\":\"192.0.2.0/24\"," \
	"\"uplink\":\"up0\"},{\"proto\":\"any\",\"port\":null," \
	"\"to\":\"2001:db8::/32\",\"uplink\":\"up1\"},{\"proto\":\"udp\"," \
	"\"port\":null,\"to\":\"198.51.100.7/32\",\"uplink\":\"up0\"}]," \
	"\"forward\":[{\"proto\":\"tcp\",\"port\":8080,\"to_port\":80," \
	"\"uplink\":\"up0\"},{\"proto\":\"udp\",\"port\":8080," \
	"\"to_port\":8080,\"uplink\":\"up0\"}]," \
	"\"management\":[{\"proto\":\"tcp\",\"port\":22}]," \
	"\"dns\":[\"192.0.2.53\",\"2001:db8::53\"]," \
	"\"interfaces\":[\"eth1\",\"wlan0\"]}"

/* Returns the effective config's cml.network as plain JSON (free it). */
static char *
effective_network(const struct cconfig *c)
{
	struct json_object *eff;
	char *s;

	eff = cconfig_to_json(c);
	s = xstrdup(json_object_to_json_string_ext(json_object_object_get(
	    json_object_object_get(eff, "cml"), "network"),
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(eff);
	return s;
}

/* Returns the address family of address s, as the firewall's parser says. */
static int
family_of(const char *s)
{
	struct net_fw_prefix p;

	assert_int_equal(net_fw_prefix_parse(s, &p, NULL), 0);
	return p.family;
}

/* Returns a JSON array of n copies of item, joined by commas (free it). */
static char *
repeat(const char *item, size_t n)
{
	char *s, *t;
	size_t i;

	s = xstrdup("");
	for (i = 0; i < n; i++) {
		t = fmt("%s%s%s", s, i == 0 ? "" : ",", item);
		free(s);
		s = t;
	}
	return s;
}

/*
 * Proves: NDR 5.2(2) (island, only lo, is the default: no section, an
 * empty one, mode island and empty lists all read as island).
 */
static void
test_parse_network_default_is_island(void **state)
{
	static const char *const islands[] = {
		MIN "}",
		MIN ",\"cml\":{\"network\":null}}",
		NET(""),
		NET("\"mode\":\"island\""),
		NET("\"mode\":null,\"egress\":[],\"forward\":null,"
		    "\"management\":[],\"dns\":[],\"interfaces\":[]"),
	};
	struct cconfig c;
	char *eff;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof islands / sizeof islands[0]; i++) {
		accept_as(0, islands[i], &c);
		assert_int_equal(c.net.mode, CCONFIG_NET_ISLAND);
		assert_int_equal(c.net.negress + c.net.nforward + c.net.nmgmt +
		    c.net.ndns + c.net.ninterfaces, 0);
		assert_non_null(c.net.dns);
		assert_null(c.net.dns[0]);
		assert_non_null(c.net.interfaces);
		assert_null(c.net.interfaces[0]);
		eff = effective_network(&c);
		assert_string_equal(eff, ISLAND_NET);
		free(eff);
		cconfig_clear(&c);
		assert_empty(&c);
	}
	/* c0 holds the uplinks; island is all it may say. */
	accept_as(1, "{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"},"
	    "\"cml\":{\"network\":{\"mode\":\"island\"}}}", &c);
	assert_int_equal(c.net.mode, CCONFIG_NET_ISLAND);
	cconfig_clear(&c);
}

/*
 * Proves: NDR 5.2(1) (a container's allowances are exactly those its
 * config lists, as the firewall takes them), NDR 5.2 (the effective
 * config shows them).
 */
static void
test_parse_network_link_round_trips(void **state)
{
	struct json_object *eff;
	struct cconfig c, again;
	char *s;

	(void)state;
	accept_as(0, NET_FULL, &c);
	assert_int_equal(c.net.mode, CCONFIG_NET_LINK);
	assert_int_equal(c.net.negress, 3);
	assert_int_equal(c.net.egress[0].dst.family, family_of("10.0.0.1"));
	assert_int_equal(c.net.egress[0].dst.len, 24);
	assert_int_equal(c.net.egress[0].dst.addr[2], 2);
	assert_int_equal(c.net.egress[0].port.proto, IPPROTO_TCP);
	assert_int_equal(c.net.egress[0].port.port, 443);
	assert_string_equal(c.net.egress[0].uplink, "up0");
	assert_int_equal(c.net.egress[1].dst.family, family_of("::1"));
	assert_int_not_equal(family_of("::1"), family_of("10.0.0.1"));
	assert_int_equal(c.net.egress[1].dst.len, 32);
	assert_int_equal(c.net.egress[1].port.proto, 0);
	assert_int_equal(c.net.egress[1].port.port, 0);
	assert_int_equal(c.net.egress[2].dst.len, 32);
	assert_int_equal(c.net.egress[2].port.proto, IPPROTO_UDP);
	assert_int_equal(c.net.nforward, 2);
	assert_string_equal(c.net.forward[0].uplink, "up0");
	assert_int_equal(c.net.forward[0].port.proto, IPPROTO_TCP);
	assert_int_equal(c.net.forward[0].port.port, 8080);
	assert_int_equal(c.net.forward[0].to_port, 80);
	assert_int_equal(c.net.forward[1].to_port, 8080);
	assert_int_equal(c.net.forward[1].to_addr.family, 0);
	assert_int_equal(c.net.nmgmt, 1);
	assert_int_equal(c.net.mgmt[0].proto, IPPROTO_TCP);
	assert_int_equal(c.net.mgmt[0].port, 22);
	assert_int_equal(c.net.ndns, 2);
	assert_string_equal(c.net.dns[1], "2001:db8::53");
	assert_null(c.net.dns[2]);
	assert_int_equal(c.net.ninterfaces, 2);
	assert_string_equal(c.net.interfaces[1], "wlan0");
	assert_null(c.net.interfaces[2]);
	s = effective_network(&c);
	assert_string_equal(s, NET_FULL_EFFECTIVE);
	free(s);

	/* The effective config, less the built-in list, parses to itself. */
	eff = cconfig_to_json(&c);
	json_object_object_del(eff, "default_devices");
	accept_as(0, json_object_to_json_string(eff), &again);
	json_object_put(eff);
	s = effective_network(&again);
	assert_string_equal(s, NET_FULL_EFFECTIVE);
	free(s);
	cconfig_clear(&again);
	cconfig_clear(&c);
	assert_empty(&c);

	/* A link and nothing else: everything is denied. */
	accept_as(0, LINK("\"egress\":[]"), &c);
	assert_int_equal(c.net.mode, CCONFIG_NET_LINK);
	assert_int_equal(c.net.negress, 0);
	cconfig_clear(&c);
}

/* Proves: NDR 5.2(1) (the allowances of a config are what the firewall gets). */
static void
test_net_fw_ctr_fills_the_firewalls_view(void **state)
{
	struct net_fw_forward fwd[CCONFIG_NET_FORWARD_MAX];
	struct net_fw_prefix to;
	struct net_fw_ctr ctr;
	struct cconfig c;
	char *cause = NULL, *plan;

	(void)state;
	assert_int_equal(net_fw_prefix_parse("10.200.0.2", &to, &cause), 0);
	accept_as(0, NET_FULL, &c);
	assert_int_equal(cconfig_net_fw_ctr(&c, "vc-7", &to, fwd, &ctr,
	    &cause), 0);
	assert_null(cause);
	assert_string_equal(ctr.id, "web");
	assert_string_equal(ctr.link, "vc-7");
	assert_ptr_equal(ctr.egress, c.net.egress);
	assert_int_equal(ctr.negress, 3);
	assert_ptr_equal(ctr.forward, fwd);
	assert_int_equal(ctr.nforward, 2);
	assert_memory_equal(&fwd[0].to_addr, &to, sizeof to);
	assert_memory_equal(&fwd[1].to_addr, &to, sizeof to);
	assert_int_equal(fwd[0].to_port, 80);
	assert_string_equal(fwd[0].uplink, "up0");
	assert_ptr_equal(ctr.mgmt, c.net.mgmt);
	assert_int_equal(ctr.nmgmt, 1);
	/* The firewall plans rules for it. */
	plan = net_fw_ctr_plan(&ctr, &cause);
	assert_non_null(plan);
	assert_non_null(strstr(plan, "ctr-web"));
	free(plan);
	/* The firewall's own checks: the link may not be an uplink. */
	assert_int_equal(cconfig_net_fw_ctr(&c, "up1", &to, fwd, &ctr,
	    &cause), -1);
	assert_string_equal(cause,
	    "container 'web': egress 2: the uplink is the container's link");
	free(cause);
	cause = NULL;
	cconfig_clear(&c);

	/* An island has no link. */
	accept_as(0, MIN "}", &c);
	assert_int_equal(cconfig_net_fw_ctr(&c, "vc-7", &to, fwd, &ctr,
	    &cause), -1);
	assert_string_equal(cause, "container 'web' is an island: it has no "
	    "link");
	free(cause);
	cconfig_clear(&c);
}

/* Proves: NDR 5.2(2) (an island container gets no allowance at all). */
static void
test_parse_network_island_with_allowance_refused(void **state)
{
	(void)state;
	refuse(NET("\"mode\":\"bridge\""),
	    "cml.network.mode must be island or link");
	refuse(NET("\"mode\":1"), "cml.network.mode must be a string");
	refuse(MIN ",\"cml\":{\"network\":\"link\"}}",
	    "cml.network must be an object");
	refuse(NET("\"egress\":[{\"to\":\"0.0.0.0/0\",\"uplink\":\"up0\"}]"),
	    "cml.network.egress needs cml.network.mode link: an island "
	    "container has only lo");
	refuse(NET("\"mode\":\"island\",\"forward\":[{}]"),
	    "cml.network.forward needs cml.network.mode link: an island "
	    "container has only lo");
	refuse(NET("\"management\":[{\"proto\":\"tcp\",\"port\":22}]"),
	    "cml.network.management needs cml.network.mode link: an island "
	    "container has only lo");
	refuse(NET("\"dns\":[\"192.0.2.53\"]"),
	    "cml.network.dns needs cml.network.mode link: an island "
	    "container has only lo");
	refuse(NET("\"interfaces\":[\"eth1\"]"),
	    "cml.network.interfaces needs cml.network.mode link: an island "
	    "container has only lo");
	refuse_c0("{\"name\":\"c0\",\"guestos\":{\"name\":\"busybox\"},"
	    "\"cml\":{\"network\":{\"mode\":\"link\"}}}",
	    "cml.network.mode link is for service containers: c0 holds the "
	    "uplinks");
	refuse(NET("\"mode\":\"link\",\"vlan\":3"),
	    "unknown field 'cml.network.vlan'");
}

/* Proves: NDR 5.2(1) (an egress allowance is checked field by field). */
static void
test_parse_network_bad_egress_refused(void **state)
{
	(void)state;
#define EG(e) LINK("\"egress\":[{\"to\":\"10.0.0.0/8\",\"uplink\":\"up0\"}," \
	e "]")
	refuse(LINK("\"egress\":{}"),
	    "cml.network.egress must be an array of objects");
	refuse(LINK("\"egress\":[\"10.0.0.0/8\"]"),
	    "cml.network.egress must be an array of objects");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"uplink\":\"up0\",\"via\":1}"),
	    "unknown field 'cml.network.egress[1].via'");
	refuse(EG("{\"uplink\":\"up0\"}"), "cml.network.egress[1].to is "
	    "missing");
	refuse(EG("{\"to\":10,\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to must be a string");
	refuse(EG("{\"to\":\"10.0.0.300\",\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to: '10.0.0.300' is no IPv4 or IPv6 "
	    "address");
	refuse(EG("{\"to\":\"web.example\",\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to: 'web.example' is no IPv4 or IPv6 "
	    "address");
	refuse(EG("{\"to\":\"10.0.0.1/8\",\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to: '10.0.0.1/8' has address bits set "
	    "past /8");
	refuse(EG("{\"to\":\"fd00::1/64\",\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to: 'fd00::1/64' has address bits set "
	    "past /64");
	refuse(EG("{\"to\":\"10.0.0.0/33\",\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to: '10.0.0.0/33': the prefix length must "
	    "be 0 to 32");
	refuse(EG("{\"to\":\"fd00::/129\",\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to: 'fd00::/129': the prefix length must "
	    "be 0 to 128");
	refuse(EG("{\"to\":\"10.0.0.0/\",\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to: '10.0.0.0/': the prefix length must "
	    "be 0 to 32");
	/* What cannot be an address is quoted fit for a terminal. */
	refuse(EG("{\"to\":\"10.0.0.0\\u001b[2J\",\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].to: '10.0.0.0\\x1b[2J' is no IPv4 or IPv6 "
	    "address");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"proto\":\"icmp\","
	    "\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].proto must be tcp, udp or any");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"proto\":\"tcp\",\"port\":0,"
	    "\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].port must be an integer from 1 to 65535");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"proto\":\"tcp\",\"port\":65536,"
	    "\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].port must be an integer from 1 to 65535");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"proto\":\"tcp\",\"port\":\"80\","
	    "\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].port must be an integer from 1 to 65535");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"proto\":\"any\",\"port\":53,"
	    "\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].port needs proto tcp or udp");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"port\":53,\"uplink\":\"up0\"}"),
	    "cml.network.egress[1].port needs proto tcp or udp");
	refuse(EG("{\"to\":\"10.0.0.0/8\"}"),
	    "cml.network.egress[1].uplink is missing");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"uplink\":\"\"}"),
	    "cml.network.egress[1].uplink '' must be an interface name: 1 to "
	    "15 bytes of printable ASCII without '/', ':' or spaces, not '.' "
	    "or '..'");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"uplink\":\"eth0:1\"}"),
	    "cml.network.egress[1].uplink 'eth0:1' must be an interface "
	    "name: 1 to 15 bytes of printable ASCII without '/', ':' or "
	    "spaces, not '.' or '..'");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"uplink\":\"a-very-long-name\"}"),
	    "cml.network.egress[1].uplink 'a-very-long-name' must be an "
	    "interface name: 1 to 15 bytes of printable ASCII without '/', "
	    "':' or spaces, not '.' or '..'");
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"uplink\":\"vc-3\"}"),
	    "cml.network.egress[1].uplink 'vc-3' names a container link "
	    "(vc-...), not one of the device's interfaces");
	/* The firewall's own check of what it can match on. */
	refuse(EG("{\"to\":\"10.0.0.0/8\",\"uplink\":\"up*\"}"),
	    "cml.network: container 'web': egress 2: 'up*' is no interface "
	    "name");
#undef EG
}

/* Proves: NDR 5.2(1) (port forwards and management ports are checked). */
static void
test_parse_network_bad_forward_and_management_refused(void **state)
{
	(void)state;
#define FW(f) LINK("\"forward\":[" f "]")
	refuse(FW("{\"proto\":\"tcp\",\"port\":80}"),
	    "cml.network.forward[0].uplink is missing");
	refuse(FW("{\"uplink\":\"up0\",\"port\":80}"),
	    "cml.network.forward[0].proto is missing");
	refuse(FW("{\"uplink\":\"up0\",\"proto\":\"any\",\"port\":80}"),
	    "cml.network.forward[0].proto must be tcp or udp");
	refuse(FW("{\"uplink\":\"up0\",\"proto\":\"tcp\"}"),
	    "cml.network.forward[0].port is missing");
	refuse(FW("{\"uplink\":\"up0\",\"proto\":\"tcp\",\"port\":null}"),
	    "cml.network.forward[0].port is missing");
	refuse(FW("{\"uplink\":\"up0\",\"proto\":\"tcp\",\"port\":80,"
	    "\"to_port\":0}"),
	    "cml.network.forward[0].to_port must be an integer from 1 to "
	    "65535");
	refuse(FW("{\"uplink\":\"up0\",\"proto\":\"tcp\",\"port\":80,"
	    "\"to\":\"10.0.0.2\"}"),
	    "unknown field 'cml.network.forward[0].to'");
	refuse(FW("{\"uplink\":\"up0\",\"proto\":\"tcp\",\"port\":80},"
	    "{\"uplink\":\"up1\",\"proto\":\"tcp\",\"port\":80},"
	    "{\"uplink\":\"up0\",\"proto\":\"tcp\",\"port\":80,"
	    "\"to_port\":81}"),
	    "cml.network.forward[2] forwards tcp port 80 of uplink 'up0' "
	    "again, as cml.network.forward[0] does");
	refuse(FW("{\"uplink\":\"u'p\",\"proto\":\"udp\",\"port\":53},"
	    "{\"uplink\":\"u'p\",\"proto\":\"udp\",\"port\":53}"),
	    "cml.network.forward[1] forwards udp port 53 of uplink 'u\\x27p' "
	    "again, as cml.network.forward[0] does");
	/* The same port of another protocol or uplink is another forward. */
	accept(FW("{\"uplink\":\"up0\",\"proto\":\"tcp\",\"port\":80},"
	    "{\"uplink\":\"up1\",\"proto\":\"tcp\",\"port\":80},"
	    "{\"uplink\":\"up0\",\"proto\":\"udp\",\"port\":80}"));
#undef FW
#define MG(m) LINK("\"management\":[" m "]")
	refuse(MG("{\"port\":22}"),
	    "cml.network.management[0].proto is missing");
	refuse(MG("{\"proto\":\"any\",\"port\":22}"),
	    "cml.network.management[0].proto must be tcp or udp");
	refuse(MG("{\"proto\":\"udp\"}"),
	    "cml.network.management[0].port is missing");
	refuse(MG("{\"proto\":\"udp\",\"port\":-1}"),
	    "cml.network.management[0].port must be an integer from 1 to "
	    "65535");
	refuse(MG("{\"proto\":\"tcp\",\"port\":22,\"from\":\"c0\"}"),
	    "unknown field 'cml.network.management[0].from'");
	refuse(MG("{\"proto\":\"tcp\",\"port\":22},{\"proto\":\"udp\","
	    "\"port\":22},{\"proto\":\"tcp\",\"port\":22}"),
	    "cml.network.management[2] lists tcp port 22 again, as "
	    "cml.network.management[0] does");
#undef MG
}

/* Proves: TSF.DEV (interfaces assigned are named validly, once each). */
static void
test_parse_network_bad_dns_and_interfaces_refused(void **state)
{
	(void)state;
	refuse(LINK("\"dns\":\"192.0.2.53\""),
	    "cml.network.dns must be an array of strings");
	refuse(LINK("\"dns\":[53]"),
	    "cml.network.dns must be an array of strings");
	refuse(LINK("\"dns\":[\"192.0.2.53\",\"ns.example\"]"),
	    "cml.network.dns[1]: 'ns.example' is no IPv4 or IPv6 address");
	refuse(LINK("\"dns\":[\"192.0.2.0/24\"]"),
	    "cml.network.dns[0] '192.0.2.0/24' must be one address, without "
	    "a prefix length");
	refuse(LINK("\"dns\":[\"192.0.2.53/32\"]"),
	    "cml.network.dns[0] '192.0.2.53/32' must be one address, without "
	    "a prefix length");
	refuse(LINK("\"dns\":[\"2001:db8::53\",\"2001:DB8:0::53\"]"),
	    "cml.network.dns[1] '2001:db8::53' is listed twice, as "
	    "cml.network.dns[0]");
	refuse(LINK("\"interfaces\":[\"eth1\",\"eth 2\"]"),
	    "cml.network.interfaces[1] 'eth 2' must be an interface name: 1 "
	    "to 15 bytes of printable ASCII without '/', ':' or spaces, not "
	    "'.' or '..'");
	refuse(LINK("\"interfaces\":[\"..\"]"),
	    "cml.network.interfaces[0] '..' must be an interface name: 1 "
	    "to 15 bytes of printable ASCII without '/', ':' or spaces, not "
	    "'.' or '..'");
	refuse(LINK("\"interfaces\":[\"vc-web\"]"),
	    "cml.network.interfaces[0] 'vc-web' names a container link "
	    "(vc-...), not one of the device's interfaces");
	refuse(LINK("\"interfaces\":[\"eth1\",\"eth1\"]"),
	    "cml.network.interfaces[1] 'eth1' is listed twice, as "
	    "cml.network.interfaces[0]");
	refuse(LINK("\"interfaces\":[\"eth1\",\"up0\"],"
	    "\"forward\":[{\"uplink\":\"up0\",\"proto\":\"tcp\",\"port\":80}]"),
	    "cml.network.interfaces[1] 'up0' is an uplink of "
	    "cml.network.forward[0] too: an assigned interface leaves c0");
	refuse(LINK("\"interfaces\":[\"up0\"],\"egress\":[{\"to\":\"::/0\","
	    "\"uplink\":\"up0\"}]"),
	    "cml.network.interfaces[0] 'up0' is an uplink of "
	    "cml.network.egress[0] too: an assigned interface leaves c0");
}

/* Proves: NDR 5.2 (each list bounded, so a transaction is bounded). */
static void
test_parse_network_counts_bounded(void **state)
{
	static const struct {
		const char *key;
		const char *item; /* '@' is the entry's number */
		size_t max;
	} lists[] = {
		{ "egress", "{\"to\":\"10.0.0.@\",\"uplink\":\"up0\"}",
		    CCONFIG_NET_EGRESS_MAX },
		{ "forward", "{\"uplink\":\"up0\",\"proto\":\"tcp\","
		    "\"port\":@}", CCONFIG_NET_FORWARD_MAX },
		{ "management", "{\"proto\":\"udp\",\"port\":@}",
		    CCONFIG_NET_MGMT_MAX },
		{ "dns", "\"10.0.0.@\"", CCONFIG_NET_DNS_MAX },
		{ "interfaces", "\"eth@\"", CCONFIG_NET_IFACES_MAX },
	};
	struct cconfig c;
	char *items, *t, *item, num[8], *json, *msg;
	size_t i, k;

	(void)state;
	assert_int_equal(CCONFIG_NET_EGRESS_MAX, 32);
	assert_int_equal(CCONFIG_NET_FORWARD_MAX, 16);
	assert_int_equal(CCONFIG_NET_MGMT_MAX, 16);
	assert_int_equal(CCONFIG_NET_DNS_MAX, 3);
	assert_int_equal(CCONFIG_NET_IFACES_MAX, 8);
	for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		items = xstrdup("");
		for (k = 0; k <= lists[i].max; k++) {
			snprintf(num, sizeof num, "%zu", k + 1);
			item = subst(lists[i].item, num);
			t = fmt("%s%s%s", items, k == 0 ? "" : ",", item);
			free(item);
			free(items);
			items = t;
			json = fmt(MIN ",\"cml\":{\"network\":{\"mode\":"
			    "\"link\",\"%s\":[%s]}}}", lists[i].key, items);
			if (k + 1 < lists[i].max) {
				free(json);
				continue;
			}
			if (k + 1 == lists[i].max) {
				accept_as(0, json, &c);
				cconfig_clear(&c);
				free(json);
				continue;
			}
			msg = fmt("cml.network.%s must have at most %zu entries",
			    lists[i].key, lists[i].max);
			refuse_free(json, msg);
			free(msg);
		}
		free(items);
	}
	/* The refusal comes before any entry is read. */
	items = repeat("{}", CCONFIG_NET_EGRESS_MAX + 1);
	json = fmt(MIN ",\"cml\":{\"network\":{\"mode\":\"link\","
	    "\"egress\":[%s]}}}", items);
	refuse_free(json, "cml.network.egress must have at most 32 entries");
	free(items);
}

/* Proves: none (freeing nothing). */
static void
test_clear_null_does_nothing(void **state)
{
	cconfig_clear(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full_config_round_trips),
		cmocka_unit_test(test_parse_minimal_config_gets_defaults),
		cmocka_unit_test(test_parse_empty_objects_and_nulls_get_defaults),
		cmocka_unit_test(test_parse_quota_without_period_uses_default),
		cmocka_unit_test(test_parse_not_json_refused),
		cmocka_unit_test(test_parse_not_object_refused),
		cmocka_unit_test(test_parse_empty_refused),
		cmocka_unit_test(test_parse_oversize_refused),
		cmocka_unit_test(test_parse_duplicate_field_refused),
		cmocka_unit_test(test_parse_escaped_field_name_refused),
		cmocka_unit_test(test_parse_deep_nesting_refused),
		cmocka_unit_test(test_parse_many_fields_refused),
		cmocka_unit_test(test_parse_unknown_field_refused_at_each_level),
		cmocka_unit_test(test_parse_wrong_type_refused_at_each_level),
		cmocka_unit_test(test_parse_missing_required_refused),
		cmocka_unit_test(test_parse_range_boundaries_checked),
		cmocka_unit_test(test_parse_bad_name_refused),
		cmocka_unit_test(test_parse_guestos_checked),
		cmocka_unit_test(test_parse_bad_hostname_refused),
		cmocka_unit_test(test_parse_c0_reserved_refused),
		cmocka_unit_test(test_parse_args_checked),
		cmocka_unit_test(test_parse_bad_env_refused),
		cmocka_unit_test(test_parse_unknown_capability_refused),
		cmocka_unit_test(test_parse_init_shim_checked),
		cmocka_unit_test(test_parse_forbidden_capability_refused),
		cmocka_unit_test(test_parse_bad_device_rules_refused),
		cmocka_unit_test(test_parse_bad_cpus_refused),
		cmocka_unit_test(test_parse_bad_token_refused),
		cmocka_unit_test(test_device_string_formats_rules),
		cmocka_unit_test(test_allows_device_covers_defaults_and_list),
		cmocka_unit_test(test_cap_names_match_kernel_numbers),
		cmocka_unit_test(test_parse_volume),
		cmocka_unit_test(test_parse_network_default_is_island),
		cmocka_unit_test(test_parse_network_link_round_trips),
		cmocka_unit_test(test_net_fw_ctr_fills_the_firewalls_view),
		cmocka_unit_test(
		    test_parse_network_island_with_allowance_refused),
		cmocka_unit_test(test_parse_network_bad_egress_refused),
		cmocka_unit_test(
		    test_parse_network_bad_forward_and_management_refused),
		cmocka_unit_test(
		    test_parse_network_bad_dns_and_interfaces_refused),
		cmocka_unit_test(test_parse_network_counts_bounded),
		cmocka_unit_test(test_clear_null_does_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
