/*
 * Container configs (cml-container(5)).  The text is first checked as
 * strict JSON (RFC 8259, no field twice in one object), because a signed
 * config must have one meaning only, whatever reads it; json-c then builds
 * the tree, and every field is checked against its type and range, in a
 * fixed order, so a config with several faults always gets the same
 * message.
 */
#include "config.h"

#include <linux/capability.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cconfig.h"
#include "jsonstrict.h"
#include "log.h"
#include "names.h"
#include "net-fw.h"
#include "net-link.h"
#include "xmalloc.h"

#define CCONFIG_HOSTNAME_MAX 64
#define CCONFIG_LABEL_MAX 63

/* In a config a null member means "the default", as an absent one does. */
#define CCONFIG_OPTIONAL JSONSTRICT_NULL_ABSENT
#define CCONFIG_REQUIRED (JSONSTRICT_REQUIRED | JSONSTRICT_NULL_ABSENT)

/*
 * The JSON accepted: a valid config nests 5 levels
 * (linux.resources.devices[0]) and has at most 7 fields in one object.
 */
static const struct jsonstrict_limits cconfig_json_limits = {
	.what = "config",
	.max_len = CCONFIG_MAX,
	.max_depth = 8,
	.max_fields = 32,
	.flags = JSONSTRICT_PATH_NAMES,
};

const struct cconfig_device cconfig_default_devices[] = {
	{ 'c', 1, 3, "rwm", 0 }, /* null */
	{ 'c', 1, 5, "rwm", 0 }, /* zero */
	{ 'c', 1, 7, "rwm", 0 }, /* full */
	{ 'c', 1, 8, "rwm", 0 }, /* random */
	{ 'c', 1, 9, "rwm", 0 }, /* urandom */
	{ 'c', 5, 0, "rwm", 0 }, /* tty */
	{ 'c', 5, 2, "rwm", 0 }, /* ptmx */
	{ 'c', 136, CCONFIG_DEVICE_ANY, "rwm", 0 }, /* pts */
};
const size_t cconfig_default_devices_len =
    sizeof cconfig_default_devices / sizeof cconfig_default_devices[0];

/* Capability names, indexed by number as in <linux/capability.h>. */
static const char *const cconfig_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define CCONFIG_NCAPS ((int)(sizeof cconfig_caps / sizeof cconfig_caps[0]))
_Static_assert(sizeof cconfig_caps / sizeof cconfig_caps[0] <= 64,
    "capabilities are kept in a 64-bit mask");

/* Capabilities no container keeps, or only some, and why. */
enum cconfig_cap_rule {
	CCONFIG_CAP_NEVER,
	CCONFIG_CAP_C0_ONLY,
	CCONFIG_CAP_TIME_ONLY,
	CCONFIG_CAP_NOT_C0,
};
static const struct {
	const char *name;
	enum cconfig_cap_rule rule;
	const char *why;
} cconfig_cap_policy[] = {
	{ "CAP_SYS_MODULE", CCONFIG_CAP_NEVER,
	    "it would let the container load kernel modules" },
	{ "CAP_SYS_RAWIO", CCONFIG_CAP_NEVER,
	    "it would give the container raw access to memory and I/O ports" },
	{ "CAP_SYS_BOOT", CCONFIG_CAP_NEVER,
	    "it would let the container reboot the host or load a new kernel" },
	{ "CAP_MAC_ADMIN", CCONFIG_CAP_NEVER,
	    "it would let the container change the mandatory access control "
	    "policy" },
	{ "CAP_MAC_OVERRIDE", CCONFIG_CAP_NEVER,
	    "it would let the container bypass mandatory access control" },
	{ "CAP_SYS_ADMIN", CCONFIG_CAP_C0_ONLY,
	    "it would let the container mount file systems and undo its "
	    "isolation" },
	{ "CAP_NET_ADMIN", CCONFIG_CAP_NOT_C0,
	    "c0 runs in cmld's network namespace, whose links, addresses, "
	    "routes and firewall only cmld changes" },
	{ "CAP_SYS_TIME", CCONFIG_CAP_TIME_ONLY,
	    "it would let the container set the host's clock" },
};

static const char *const cconfig_token_names[] = {
	[CCONFIG_TOKEN_NONE] = "none",
	[CCONFIG_TOKEN_SOFTTOKEN] = "softtoken",
	[CCONFIG_TOKEN_USBTOKEN] = "usbtoken",
};

/* Names a member: "key" at the top level, else "path.key". */
static char *
cconfig_path(const char *path, const char *key)
{
	if (*path == '\0')
		return xstrdup(key);
	return xasprintf("%s.%s", path, key);
}

/* What a parse needs besides the tree and the result. */
struct cconfig_parser {
	int is_c0;
	char **cause;
	int capv[64]; /* capabilities in the order listed */
	size_t ncapv;
};

/* Returns member key of obj, or NULL when it is absent or null. */
static struct json_object *
cconfig_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/*
 * Checks that v (the value at path) is an object with only known fields.
 * -1 with *cause set.
 */
static int
cconfig_object(struct json_object *v, const char *path,
    const char *const *known, char **cause)
{
	const char *const *k;
	char *q, *name;

	if (!json_object_is_type(v, json_type_object)) {
		xcause(cause, "%s must be an object", path);
		return -1;
	}
	json_object_object_foreach(v, key, val) {
		(void)val;
		for (k = known; *k != NULL; k++) {
			if (strcmp(key, *k) == 0)
				break;
		}
		if (*k == NULL) {
			q = jsonstrict_quotes(key);
			name = cconfig_path(path, q);
			xcause(cause, "unknown field '%s'", name);
			free(name);
			free(q);
			return -1;
		}
	}
	return 0;
}

/*
 * Looks up an optional object member of obj and checks its fields; *out
 * is NULL when it is absent.  -1 with *cause set.
 */
static int
cconfig_sub(struct json_object *obj, const char *path, const char *key,
    const char *const *known, struct json_object **out, char **cause)
{
	char *name;
	int ret = 0;

	*out = cconfig_member(obj, key);
	if (*out == NULL)
		return 0;
	name = cconfig_path(path, key);
	if (cconfig_object(*out, name, known, cause) == -1)
		ret = -1;
	free(name);
	return ret;
}

/*
 * Reads an optional integer member into *out, which keeps its default
 * when the member is absent.  -1 with *cause set.
 */
static int
cconfig_int(struct json_object *obj, const char *path, const char *key,
    long long min, long long max, long long *out, char **cause)
{
	struct json_object *v;
	long long n;
	char *name;

	if ((v = cconfig_member(obj, key)) == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		n = (long long)json_object_get_int64(v);
		if (n >= min && n <= max) {
			*out = n;
			return 0;
		}
	}
	name = cconfig_path(path, key);
	xcause(cause, "%s must be an integer from %lld to %lld", name,
	    min, max);
	free(name);
	return -1;
}

/* Reads an optional boolean member, as cconfig_int. */
static int
cconfig_bool(struct json_object *obj, const char *path, const char *key,
    int *out, char **cause)
{
	struct json_object *v;
	char *name;

	if ((v = cconfig_member(obj, key)) == NULL)
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return 0;
	}
	name = cconfig_path(path, key);
	xcause(cause, "%s must be true or false", name);
	free(name);
	return -1;
}

/*
 * Looks up an optional array of strings: *out is NULL when it is absent.
 * -1 with *cause set.
 */
static int
cconfig_strings(struct json_object *obj, const char *path, const char *key,
    struct json_object **out, char **cause)
{
	struct json_object *v;
	size_t i, n;
	char *name;

	*out = NULL;
	if ((v = cconfig_member(obj, key)) == NULL)
		return 0;
	if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (!json_object_is_type(json_object_array_get_idx(v,
			    i), json_type_string))
				break;
		}
		if (i == n) {
			*out = v;
			return 0;
		}
	}
	name = cconfig_path(path, key);
	xcause(cause, "%s must be an array of strings", name);
	free(name);
	return -1;
}

/*
 * Looks up an optional array of at most max objects: *out is NULL when it
 * is absent.  -1 with *cause set.
 */
static int
cconfig_objects(struct json_object *obj, const char *path, const char *key,
    size_t max, struct json_object **out, char **cause)
{
	struct json_object *a;
	size_t i, n;
	char *name;
	int ret = -1;

	*out = NULL;
	if ((a = cconfig_member(obj, key)) == NULL)
		return 0;
	name = cconfig_path(path, key);
	n = json_object_is_type(a, json_type_array) ?
	    json_object_array_length(a) : 0;
	for (i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(a, i),
		    json_type_object))
			break;
	}
	if (!json_object_is_type(a, json_type_array) || i < n)
		xcause(cause, "%s must be an array of objects", name);
	else if (n > max)
		xcause(cause, "%s must have at most %zu entries", name, max);
	else {
		*out = a;
		ret = 0;
	}
	free(name);
	return ret;
}

/*
 * Checks a host name (RFC 1123): dot-separated labels of letters, digits
 * and '-', each 1 to 63 long and neither starting nor ending with '-',
 * at most 64 in all.
 */
static int
cconfig_hostname_ok(const char *s)
{
	size_t label = 0, i, n = strlen(s);

	if (n == 0 || n > CCONFIG_HOSTNAME_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
		if (label == 0 && s[i] == '-')
			return 0;
		if (++label > CCONFIG_LABEL_MAX)
			return 0;
	}
	return 1;
}

/* Reads a CPU number (no leading zeros, at most CCONFIG_CPU_MAX). */
static int
cconfig_cpu_number(const char **sp, long *out)
{
	const char *s = *sp;
	long n = 0;

	if (*s < '0' || *s > '9')
		return 0;
	if (*s == '0' && s[1] >= '0' && s[1] <= '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (*s - '0');
		if (n > CCONFIG_CPU_MAX)
			return 0;
	}
	*sp = s;
	*out = n;
	return 1;
}

/*
 * Checks a cpuset list: numbers and ranges ("0-1,3") separated by commas,
 * each range in order and the whole list ascending without overlaps.
 */
static int
cconfig_cpus_ok(const char *s)
{
	long prev = -1, lo, hi;

	for (;;) {
		if (!cconfig_cpu_number(&s, &lo))
			return 0;
		hi = lo;
		if (*s == '-') {
			s++;
			if (!cconfig_cpu_number(&s, &hi) || hi < lo)
				return 0;
		}
		if (lo <= prev)
			return 0;
		prev = hi;
		if (*s == '\0')
			return 1;
		if (*s++ != ',')
			return 0;
	}
}

/* Returns the length of the KEY of a KEY=VALUE entry, or 0 if it is bad. */
static size_t
cconfig_env_key(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	    s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '='; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return i;
}

/* Returns the number of capability name, or -1. */
static int
cconfig_cap_number(const char *name)
{
	int i;

	for (i = 0; i < CCONFIG_NCAPS; i++) {
		if (strcmp(cconfig_caps[i], name) == 0)
			return i;
	}
	return -1;
}

/* Reads "name", checking the pattern and who may use "c0". */
static int
cconfig_read_name(struct cconfig_parser *p, struct json_object *top,
    struct cconfig *c)
{
	const char *s;
	char *q;
	int ret = -1;

	if (jsonstrict_get_string(top, "", "name", CCONFIG_REQUIRED, &s,
	    p->cause) == -1)
		return -1;
	q = jsonstrict_quotes(s);
	if (!names_container_ok(s))
		xcause(p->cause, "name '%s' must be 1 to 31 of a-z 0-9 -, "
		    "starting with a letter or digit", q);
	else if (!p->is_c0 && strcmp(s, CCONFIG_C0_NAME) == 0)
		xcause(p->cause, "name 'c0' is reserved for the "
		    "management container");
	else if (p->is_c0 && strcmp(s, CCONFIG_C0_NAME) != 0)
		xcause(p->cause, "name must be 'c0' for the management "
		    "container, not '%s'", q);
	else {
		c->name = xstrdup(s);
		ret = 0;
	}
	free(q);
	return ret;
}

/* Reads "guestos": the guest OS name and the lowest version accepted. */
static int
cconfig_read_guestos(struct cconfig_parser *p, struct json_object *top,
    struct cconfig *c)
{
	static const char *const known[] = { "name", "min_version", NULL };
	struct json_object *g, *v;
	const char *s;
	char *q;
	int64_t n;

	if (cconfig_sub(top, "", "guestos", known, &g, p->cause) == -1)
		return -1;
	if (g == NULL) {
		xcause(p->cause, "guestos is missing");
		return -1;
	}
	if (jsonstrict_get_string(g, "guestos", "name", CCONFIG_REQUIRED, &s,
	    p->cause) == -1)
		return -1;
	if (!names_guestos_ok(s)) {
		q = jsonstrict_quotes(s);
		xcause(p->cause, "guestos.name '%s' must be 1 to 64 of "
		    "a-z 0-9 . _ -, starting with a letter or digit", q);
		free(q);
		return -1;
	}
	c->guestos_name = xstrdup(s);

	if ((v = cconfig_member(g, "min_version")) == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		if (n >= 0 && n <= 999999999) {
			c->guestos_min_version = xasprintf("%lld",
			    (long long)n);
			return 0;
		}
	} else if (json_object_is_type(v, json_type_string) &&
	    names_version_ok(json_object_get_string(v))) {
		c->guestos_min_version = xstrdup(json_object_get_string(v));
		return 0;
	}
	xcause(p->cause, "guestos.min_version must be a version such "
	    "as \"1.2.3\": 1 to 4 numbers separated by dots, without leading "
	    "zeros, each at most 999999999");
	return -1;
}

/* Reads "hostname", which defaults to the name. */
static int
cconfig_read_hostname(struct cconfig_parser *p, struct json_object *top,
    struct cconfig *c)
{
	const char *s;
	char *q;

	if (jsonstrict_get_string(top, "", "hostname", CCONFIG_OPTIONAL, &s,
	    p->cause) == -1)
		return -1;
	if (s == NULL) {
		c->hostname = xstrdup(c->name);
		return 0;
	}
	/* The name is always accepted, as it is the default. */
	if (!cconfig_hostname_ok(s) && strcmp(s, c->name) != 0) {
		q = jsonstrict_quotes(s);
		xcause(p->cause, "hostname '%s' must be an RFC 1123 host "
		    "name: labels of a-z A-Z 0-9 - separated by dots, each 1 to "
		    "63 long, not starting or ending with -, 64 at most in all",
		    q);
		free(q);
		return -1;
	}
	c->hostname = xstrdup(s);
	return 0;
}

/* Copies an array of strings into a NULL-terminated vector. */
static char **
cconfig_vector(struct json_object *a, size_t *np)
{
	size_t i, n = a == NULL ? 0 : json_object_array_length(a);
	char **v;

	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = xstrdup(json_object_get_string(
		    json_object_array_get_idx(a, i)));
	*np = n;
	return v;
}

/* Reads process.args: the init and its arguments. */
static int
cconfig_read_args(struct cconfig_parser *p, struct json_object *proc,
    struct cconfig *c)
{
	struct json_object *a;
	const char *s;
	size_t i, n;

	if (cconfig_strings(proc, "process", "args", &a, p->cause) == -1)
		return -1;
	if (a == NULL)
		return 0;
	n = json_object_array_length(a);
	if (n == 0 || n > CCONFIG_ARGS_MAX) {
		xcause(p->cause, "process.args must have 1 to %d entries",
		    CCONFIG_ARGS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(a, i));
		if (strlen(s) > CCONFIG_STRING_MAX) {
			xcause(p->cause, "process.args[%zu] must be at "
			    "most %d bytes long", i, CCONFIG_STRING_MAX);
			return -1;
		}
		if (i == 0 && s[0] != '/') {
			xcause(p->cause, "process.args[0] must be an "
			    "absolute path");
			return -1;
		}
	}
	c->args = cconfig_vector(a, &c->nargs);
	return 0;
}

/*
 * Reads process.env.  Values are never quoted into a message: they may
 * hold secrets.
 */
static int
cconfig_read_env(struct cconfig_parser *p, struct json_object *proc,
    struct cconfig *c)
{
	struct json_object *a;
	const char *s, *t;
	size_t i, k, n, len;
	char *q;

	if (cconfig_strings(proc, "process", "env", &a, p->cause) == -1)
		return -1;
	n = a == NULL ? 0 : json_object_array_length(a);
	if (n > CCONFIG_ENV_MAX) {
		xcause(p->cause, "process.env must have at most %d "
		    "entries", CCONFIG_ENV_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(a, i));
		if (strlen(s) > CCONFIG_STRING_MAX) {
			xcause(p->cause, "process.env[%zu] must be at "
			    "most %d bytes long", i, CCONFIG_STRING_MAX);
			return -1;
		}
		if (strchr(s, '=') == NULL || (len = cconfig_env_key(s)) == 0) {
			xcause(p->cause, "process.env[%zu] must be "
			    "KEY=VALUE, KEY of A-Z a-z 0-9 _ and not starting "
			    "with a digit", i);
			return -1;
		}
		for (k = 0; k < i; k++) {
			t = json_object_get_string(
			    json_object_array_get_idx(a, k));
			if (strncmp(s, t, len + 1) == 0) {
				q = jsonstrict_quote(s, len);
				xcause(p->cause, "process.env sets %s "
				    "twice", q);
				free(q);
				return -1;
			}
		}
	}
	c->env = cconfig_vector(a, &c->nenv);
	return 0;
}

/* Reads process.capabilities.bounding into the mask, in listed order. */
static int
cconfig_read_caps(struct cconfig_parser *p, struct json_object *proc,
    struct cconfig *c)
{
	static const char *const known[] = { "bounding", NULL };
	static const char *const path = "process.capabilities.bounding";
	struct json_object *caps, *a;
	const char *s;
	size_t i, n;
	char *q;
	int cap;

	if (cconfig_sub(proc, "process", "capabilities", known, &caps,
	    p->cause) == -1)
		return -1;
	if (cconfig_strings(caps, "process.capabilities", "bounding", &a,
	    p->cause) == -1)
		return -1;
	n = a == NULL ? 0 : json_object_array_length(a);
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(a, i));
		q = jsonstrict_quotes(s);
		if ((cap = cconfig_cap_number(s)) == -1) {
			xcause(p->cause, "%s[%zu]: unknown capability "
			    "'%s'", path, i, q);
			free(q);
			return -1;
		}
		free(q);
		if (c->caps & (UINT64_C(1) << cap)) {
			xcause(p->cause, "%s lists %s twice", path, s);
			return -1;
		}
		c->caps |= UINT64_C(1) << cap;
		p->capv[p->ncapv++] = cap;
	}
	return 0;
}

/* Reads "process". */
static int
cconfig_read_process(struct cconfig_parser *p, struct json_object *top,
    struct cconfig *c)
{
	static const char *const known[] = {
		"args", "env", "capabilities", "init_shim", NULL
	};
	struct json_object *proc;

	if (cconfig_sub(top, "", "process", known, &proc, p->cause) == -1)
		return -1;
	if (cconfig_read_args(p, proc, c) == -1 ||
	    cconfig_read_env(p, proc, c) == -1 ||
	    cconfig_read_caps(p, proc, c) == -1 ||
	    cconfig_bool(proc, "process", "init_shim", &c->init_shim,
	    p->cause) == -1)
		return -1;
	/*
	 * The shim is a fork of cmld that never executes a program: what
	 * may trace it could read what cmld held in memory at the start.
	 */
	if (c->init_shim && (c->caps & (UINT64_C(1) << CAP_SYS_PTRACE))) {
		xcause(p->cause, "process.init_shim cannot go with "
		    "CAP_SYS_PTRACE: the shim is a copy of cmld, whose memory "
		    "a process that may trace it could read");
		return -1;
	}
	return 0;
}

/* Reads linux.resources.cpu. */
static int
cconfig_read_cpu(struct cconfig_parser *p, struct json_object *res,
    struct cconfig *c)
{
	static const char *const known[] = {
		"shares", "quota", "period", "cpus", NULL
	};
	static const char *const path = "linux.resources.cpu";
	struct json_object *cpu;
	const char *s;
	char *q;

	if (cconfig_sub(res, "linux.resources", "cpu", known, &cpu,
	    p->cause) == -1)
		return -1;
	if (cconfig_int(cpu, path, "shares", CCONFIG_SHARES_MIN,
	    CCONFIG_SHARES_MAX, &c->cpu_shares, p->cause) == -1 ||
	    cconfig_int(cpu, path, "quota", CCONFIG_QUOTA_MIN,
	    CCONFIG_QUOTA_MAX, &c->cpu_quota, p->cause) == -1 ||
	    cconfig_int(cpu, path, "period", CCONFIG_PERIOD_MIN,
	    CCONFIG_PERIOD_MAX, &c->cpu_period, p->cause) == -1)
		return -1;
	if (jsonstrict_get_string(cpu, path, "cpus", CCONFIG_OPTIONAL, &s,
	    p->cause) == -1)
		return -1;
	if (s != NULL) {
		if (!cconfig_cpus_ok(s)) {
			q = jsonstrict_quotes(s);
			xcause(p->cause, "linux.resources.cpu.cpus '%s' "
			    "must be CPU numbers (0 to %d) and ranges in "
			    "ascending order, such as \"0-1,3\"", q,
			    CCONFIG_CPU_MAX);
			free(q);
			return -1;
		}
		c->cpu_cpus = xstrdup(s);
	}
	return 0;
}

/* Returns 1 if rule d covers some device that rule e covers. */
static int
cconfig_device_overlaps(const struct cconfig_device *d,
    const struct cconfig_device *e)
{
	if (d->type != 'a' && e->type != 'a' && d->type != e->type)
		return 0;
	if (d->major != CCONFIG_DEVICE_ANY && e->major != CCONFIG_DEVICE_ANY &&
	    d->major != e->major)
		return 0;
	if (d->minor != CCONFIG_DEVICE_ANY && e->minor != CCONFIG_DEVICE_ANY &&
	    d->minor != e->minor)
		return 0;
	return 1;
}

/* Reads one rule of linux.resources.devices; path names it. */
static int
cconfig_read_device(struct cconfig_parser *p, struct json_object *o,
    const char *path, struct cconfig_device *d)
{
	static const char *const known[] = {
		"allow", "type", "major", "minor", "access", "exclusive", NULL
	};
	const char *s, *a;
	char *str;
	size_t i;
	int allow = 1;

	if (cconfig_object(o, path, known, p->cause) == -1)
		return -1;
	if (cconfig_bool(o, path, "allow", &allow, p->cause) == -1)
		return -1;
	if (!allow) {
		xcause(p->cause, "%s.allow must be true: every device "
		    "not listed is denied already", path);
		return -1;
	}
	if (jsonstrict_get_string(o, path, "type", CCONFIG_REQUIRED, &s,
	    p->cause) == -1)
		return -1;
	if (strcmp(s, "c") != 0 && strcmp(s, "b") != 0 && strcmp(s, "a") != 0) {
		xcause(p->cause, "%s.type must be 'c', 'b' or 'a'", path);
		return -1;
	}
	d->type = s[0];
	d->major = d->minor = CCONFIG_DEVICE_ANY;
	if (cconfig_int(o, path, "major", 0, CCONFIG_MAJOR_MAX, &d->major,
	    p->cause) == -1 || cconfig_int(o, path, "minor", 0,
	    CCONFIG_MINOR_MAX, &d->minor, p->cause) == -1)
		return -1;
	if (d->type == 'a' && !p->is_c0) {
		xcause(p->cause, "%s: type 'a' (every device) is allowed "
		    "only for c0", path);
		return -1;
	}
	if (d->type == 'a' && (d->major != CCONFIG_DEVICE_ANY ||
	    d->minor != CCONFIG_DEVICE_ANY)) {
		xcause(p->cause, "%s: type 'a' stands for every device "
		    "and takes no major or minor", path);
		return -1;
	}

	if (jsonstrict_get_string(o, path, "access", CCONFIG_OPTIONAL, &a,
	    p->cause) == -1)
		return -1;
	if (a == NULL)
		a = "rwm";
	if (*a == '\0' || strlen(a) > 3 || strspn(a, "rwm") != strlen(a) ||
	    (strchr(a, 'r') != strrchr(a, 'r')) ||
	    (strchr(a, 'w') != strrchr(a, 'w')) ||
	    (strchr(a, 'm') != strrchr(a, 'm'))) {
		xcause(p->cause, "%s.access must be one or more of r, w "
		    "and m, each at most once", path);
		return -1;
	}
	i = 0;
	if (strchr(a, 'r') != NULL)
		d->access[i++] = 'r';
	if (strchr(a, 'w') != NULL)
		d->access[i++] = 'w';
	if (strchr(a, 'm') != NULL)
		d->access[i++] = 'm';
	d->access[i] = '\0';

	if (cconfig_bool(o, path, "exclusive", &d->exclusive, p->cause) == -1)
		return -1;
	if (!d->exclusive)
		return 0;
	if (d->type == 'a' || d->major == CCONFIG_DEVICE_ANY ||
	    d->minor == CCONFIG_DEVICE_ANY) {
		xcause(p->cause, "%s: exclusive needs type 'c' or 'b' "
		    "with both major and minor", path);
		return -1;
	}
	for (i = 0; i < cconfig_default_devices_len; i++) {
		if (cconfig_device_overlaps(d, &cconfig_default_devices[i])) {
			str = cconfig_device_string(d);
			xcause(p->cause, "%s: %s is a default device of "
			    "every container and cannot be exclusive", path,
			    str);
			free(str);
			return -1;
		}
	}
	return 0;
}

/* Reads linux.resources.devices. */
static int
cconfig_read_devices(struct cconfig_parser *p, struct json_object *res,
    struct cconfig *c)
{
	struct json_object *a;
	size_t i, n;
	char *name;

	if (cconfig_objects(res, "linux.resources", "devices",
	    CCONFIG_DEVICES_MAX, &a, p->cause) == -1)
		return -1;
	n = a == NULL ? 0 : json_object_array_length(a);
	if (n == 0)
		return 0;
	c->devices = xcalloc(n, sizeof *c->devices);
	for (i = 0; i < n; i++) {
		name = xasprintf("linux.resources.devices[%zu]", i);
		if (cconfig_read_device(p, json_object_array_get_idx(a, i),
		    name, &c->devices[i]) == -1) {
			free(name);
			return -1;
		}
		free(name);
		c->ndevices++;
	}
	return 0;
}

/* Reads "linux": resources and the user namespace. */
static int
cconfig_read_linux(struct cconfig_parser *p, struct json_object *top,
    struct cconfig *c)
{
	static const char *const known[] = {
		"resources", "user_namespace", NULL
	};
	static const char *const rknown[] = {
		"memory", "cpu", "pids", "devices", NULL
	};
	static const char *const lknown[] = { "limit", NULL };
	struct json_object *lx, *res, *mem, *pids;

	if (cconfig_sub(top, "", "linux", known, &lx, p->cause) == -1 ||
	    cconfig_sub(lx, "linux", "resources", rknown, &res,
	    p->cause) == -1)
		return -1;
	if (cconfig_sub(res, "linux.resources", "memory", lknown, &mem,
	    p->cause) == -1 || cconfig_int(mem, "linux.resources.memory",
	    "limit", CCONFIG_MEMORY_MIN, CCONFIG_MEMORY_MAX, &c->memory_limit,
	    p->cause) == -1)
		return -1;
	if (cconfig_read_cpu(p, res, c) == -1)
		return -1;
	if (cconfig_sub(res, "linux.resources", "pids", lknown, &pids,
	    p->cause) == -1 || cconfig_int(pids, "linux.resources.pids",
	    "limit", CCONFIG_PIDS_MIN, CCONFIG_PIDS_MAX, &c->pids_limit,
	    p->cause) == -1)
		return -1;
	if (cconfig_read_devices(p, res, c) == -1)
		return -1;
	return cconfig_bool(lx, "linux", "user_namespace", &c->user_namespace,
	    p->cause);
}

/*
 * Checks the mount point of the data volume: an absolute, normalised path
 * (no "//", ".", ".." or trailing '/'), not "/" and not in /dev, /proc or
 * /sys, which the runtime makes itself.  -1 with *cause set.
 */
static int
cconfig_check_volume_mount(const char *s, char **cause)
{
	static const char *const sys[] = { "/dev", "/proc", "/sys", NULL };
	const char *p, *q;
	size_t i, n;

	if (s[0] != '/' || strcmp(s, "/") == 0 ||
	    strlen(s) > CCONFIG_VOLUME_PATH_MAX || s[strlen(s) - 1] == '/')
		goto bad;
	for (p = s; *p != '\0'; p = q) {
		p++;
		q = p + strcspn(p, "/");
		n = (size_t)(q - p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			goto bad;
		for (i = 0; i < n; i++) {
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				goto bad;
		}
	}
	for (i = 0; sys[i] != NULL; i++) {
		n = strlen(sys[i]);
		if (strncmp(s, sys[i], n) == 0 && (s[n] == '\0' ||
		    s[n] == '/')) {
			xcause(cause, "cml.storage.volume.mount must not be in "
			    "%s: the runtime makes it", sys[i]);
			return -1;
		}
	}
	return 0;
bad:
	xcause(cause, "cml.storage.volume.mount must be an absolute path "
	    "below / without '.', '..', '//' or a trailing '/', at most %d "
	    "bytes", CCONFIG_VOLUME_PATH_MAX);
	return -1;
}

/* Reads cml.storage.volume: the data volume's size and mount point. */
static int
cconfig_read_volume(struct cconfig_parser *p, struct json_object *storage,
    struct cconfig *c)
{
	static const char *const vknown[] = { "size_mb", "mount", NULL };
	struct json_object *vol;
	const char *s;

	if (cconfig_sub(storage, "cml.storage", "volume", vknown, &vol,
	    p->cause) == -1)
		return -1;
	if (vol == NULL)
		return 0;
	if (cconfig_member(vol, "size_mb") == NULL) {
		xcause(p->cause, "cml.storage.volume.size_mb is missing: the "
		    "data volume needs a size");
		return -1;
	}
	if (cconfig_int(vol, "cml.storage.volume", "size_mb",
	    CCONFIG_VOLUME_MIN, CCONFIG_VOLUME_MAX, &c->volume_size_mb,
	    p->cause) == -1 ||
	    jsonstrict_get_string(vol, "cml.storage.volume", "mount",
	    CCONFIG_REQUIRED, &s, p->cause) == -1 ||
	    cconfig_check_volume_mount(s, p->cause) == -1)
		return -1;
	c->volume_mount = xstrdup(s);
	return 0;
}

/* The protocols an allowance names, as the firewall numbers them. */
static const struct {
	const char *name;
	int proto;
} cconfig_protos[] = {
	{ "any", 0 },
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
};

/* Returns the name of a protocol of cconfig_protos. */
static const char *
cconfig_proto_name(int proto)
{
	size_t i;

	for (i = 0; i < sizeof cconfig_protos / sizeof cconfig_protos[0]; i++) {
		if (cconfig_protos[i].proto == proto)
			return cconfig_protos[i].name;
	}
	return "any";
}

/*
 * Reads "proto" of the allowance at path into *out: "tcp" or "udp", and
 * with any (then it is optional) also "any", its default.  -1 with *cause
 * set.
 */
static int
cconfig_read_proto(struct json_object *o, const char *path, int any,
    int *out, char **cause)
{
	const char *s;
	size_t i;

	if (jsonstrict_get_string(o, path, "proto", any ? CCONFIG_OPTIONAL :
	    CCONFIG_REQUIRED, &s, cause) == -1)
		return -1;
	*out = 0;
	if (s == NULL)
		return 0;
	for (i = any ? 0 : 1; i < sizeof cconfig_protos /
	    sizeof cconfig_protos[0]; i++) {
		if (strcmp(s, cconfig_protos[i].name) == 0) {
			*out = cconfig_protos[i].proto;
			return 0;
		}
	}
	xcause(cause, "%s.proto must be tcp%s udp%s", path, any ? "," : " or",
	    any ? " or any" : "");
	return -1;
}

/*
 * Reads port member key (1 to 65535) of the allowance at path into *out,
 * which stays 0 when it is absent and not required.  -1 with *cause set.
 */
static int
cconfig_read_port(struct json_object *o, const char *path, const char *key,
    int required, uint16_t *out, char **cause)
{
	long long n = 0;

	if (required && cconfig_member(o, key) == NULL) {
		xcause(cause, "%s.%s is missing", path, key);
		return -1;
	}
	if (cconfig_int(o, path, key, 1, 65535, &n, cause) == -1)
		return -1;
	*out = (uint16_t)n;
	return 0;
}

/*
 * Checks the interface name s at path (an uplink or an assigned
 * interface): a name the kernel takes, and not a container link's.  -1
 * with *cause set.
 */
static int
cconfig_check_ifname(const char *s, const char *path, char **cause)
{
	char *q;

	q = jsonstrict_quotes(s);
	if (!net_link_name_ok(s))
		xcause(cause, "%s '%s' must be an interface name: 1 to %d "
		    "bytes of printable ASCII without '/', ':' or spaces, not "
		    "'.' or '..'", path, q, NET_FW_IFNAME_MAX);
	else if (strncmp(s, CCONFIG_NET_LINK_PREFIX,
	    strlen(CCONFIG_NET_LINK_PREFIX)) == 0)
		xcause(cause, "%s '%s' names a container link (%s...), not "
		    "one of the device's interfaces", path, q,
		    CCONFIG_NET_LINK_PREFIX);
	else {
		free(q);
		return 0;
	}
	free(q);
	return -1;
}

/*
 * Reads the required interface name member key of the allowance at path
 * into *out (the parser's string).  -1 with *cause set.
 */
static int
cconfig_read_ifname(struct json_object *o, const char *path,
    const char *key, const char **out, char **cause)
{
	char *name;
	int ret;

	if (jsonstrict_get_string(o, path, key, CCONFIG_REQUIRED, out,
	    cause) == -1)
		return -1;
	name = cconfig_path(path, key);
	ret = cconfig_check_ifname(*out, name, cause);
	free(name);
	return ret;
}

/*
 * Parses the address or prefix s at path with the firewall's parser into
 * *pfx.  -1 with *cause set, quoting what the parser refused.
 */
static int
cconfig_parse_prefix(const char *s, const char *path,
    struct net_fw_prefix *pfx, char **cause)
{
	char *q, *why = NULL;
	int ret;

	/*
	 * The parser quotes the text in its cause as it is, so it gets the
	 * text made fit for a message: every valid prefix is printable
	 * ASCII without quotes and far shorter than the cut, so the two
	 * texts are the same exactly when s can be valid.
	 */
	q = jsonstrict_quotes(s);
	if ((ret = net_fw_prefix_parse(q, pfx, &why)) == -1)
		xcause(cause, "%s: %s", path, why);
	free(why);
	free(q);
	return ret;
}

/* Reads one entry of cml.network.egress at path. */
static int
cconfig_read_egress(struct cconfig_parser *p, struct json_object *o,
    const char *path, struct net_fw_egress *e)
{
	static const char *const known[] = {
		"to", "proto", "port", "uplink", NULL
	};
	const char *s;
	char *name;
	int ret;

	if (cconfig_object(o, path, known, p->cause) == -1 ||
	    jsonstrict_get_string(o, path, "to", CCONFIG_REQUIRED, &s,
	    p->cause) == -1)
		return -1;
	name = cconfig_path(path, "to");
	ret = cconfig_parse_prefix(s, name, &e->dst, p->cause);
	free(name);
	if (ret == -1 ||
	    cconfig_read_proto(o, path, 1, &e->port.proto, p->cause) == -1 ||
	    cconfig_read_port(o, path, "port", 0, &e->port.port,
	    p->cause) == -1)
		return -1;
	if (e->port.port != 0 && e->port.proto == 0) {
		xcause(p->cause, "%s.port needs proto tcp or udp", path);
		return -1;
	}
	if (cconfig_read_ifname(o, path, "uplink", &s, p->cause) == -1)
		return -1;
	e->uplink = xstrdup(s);
	return 0;
}

/* Reads one entry of cml.network.forward at path; i is its index. */
static int
cconfig_read_forward(struct cconfig_parser *p, struct json_object *o,
    const char *path, struct cconfig_net *net, size_t i)
{
	static const char *const known[] = {
		"uplink", "proto", "port", "to_port", NULL
	};
	struct net_fw_forward *f = &net->forward[i];
	const char *s;
	size_t k;
	char *q;

	if (cconfig_object(o, path, known, p->cause) == -1 ||
	    cconfig_read_ifname(o, path, "uplink", &s, p->cause) == -1 ||
	    cconfig_read_proto(o, path, 0, &f->port.proto, p->cause) == -1 ||
	    cconfig_read_port(o, path, "port", 1, &f->port.port,
	    p->cause) == -1 ||
	    cconfig_read_port(o, path, "to_port", 0, &f->to_port,
	    p->cause) == -1)
		return -1;
	if (f->to_port == 0)
		f->to_port = f->port.port;
	/* One port of an uplink leads to one place. */
	for (k = 0; k < i; k++) {
		if (strcmp(net->forward[k].uplink, s) == 0 &&
		    net->forward[k].port.proto == f->port.proto &&
		    net->forward[k].port.port == f->port.port) {
			q = jsonstrict_quotes(s);
			xcause(p->cause, "%s forwards %s port %u of uplink "
			    "'%s' again, as cml.network.forward[%zu] does",
			    path, cconfig_proto_name(f->port.proto),
			    f->port.port, q, k);
			free(q);
			return -1;
		}
	}
	f->uplink = xstrdup(s);
	return 0;
}

/* Reads one entry of cml.network.management at path; i is its index. */
static int
cconfig_read_mgmt(struct cconfig_parser *p, struct json_object *o,
    const char *path, struct cconfig_net *net, size_t i)
{
	static const char *const known[] = { "proto", "port", NULL };
	struct net_fw_port *m = &net->mgmt[i];
	size_t k;

	if (cconfig_object(o, path, known, p->cause) == -1 ||
	    cconfig_read_proto(o, path, 0, &m->proto, p->cause) == -1 ||
	    cconfig_read_port(o, path, "port", 1, &m->port, p->cause) == -1)
		return -1;
	for (k = 0; k < i; k++) {
		if (net->mgmt[k].proto == m->proto &&
		    net->mgmt[k].port == m->port) {
			xcause(p->cause, "%s lists %s port %u again, as "
			    "cml.network.management[%zu] does", path,
			    cconfig_proto_name(m->proto), m->port, k);
			return -1;
		}
	}
	return 0;
}

/*
 * Reads the allowance list key of cml.network (egress, forward or
 * management) with at most max entries of size bytes each into *v and
 * *n, each entry by read.  -1 with *cause set.
 */
static int
cconfig_read_net_list(struct cconfig_parser *p, struct json_object *net,
    const char *key, size_t max, size_t size, void **v, size_t *n,
    int (*read)(struct cconfig_parser *, struct json_object *,
    const char *, struct cconfig_net *, size_t), struct cconfig *c)
{
	struct json_object *a;
	size_t i, len;
	char *path;
	int ret;

	if (cconfig_objects(net, "cml.network", key, max, &a, p->cause) == -1)
		return -1;
	len = a == NULL ? 0 : json_object_array_length(a);
	if (len == 0)
		return 0;
	if (c->net.mode == CCONFIG_NET_ISLAND) {
		xcause(p->cause, "cml.network.%s needs cml.network.mode "
		    "link: an island container has only lo", key);
		return -1;
	}
	*v = xcalloc(len, size);
	for (i = 0; i < len; i++) {
		path = xasprintf("cml.network.%s[%zu]", key, i);
		ret = read(p, json_object_array_get_idx(a, i), path, &c->net,
		    i);
		free(path);
		if (ret == -1)
			return -1;
		/* Counted as read, so that clearing frees what it holds. */
		*n = i + 1;
	}
	return 0;
}

/* Reads egress entry i for cconfig_read_net_list. */
static int
cconfig_read_egress_at(struct cconfig_parser *p, struct json_object *o,
    const char *path, struct cconfig_net *net, size_t i)
{
	return cconfig_read_egress(p, o, path, &net->egress[i]);
}

/*
 * Reads a list of strings of cml.network (dns or interfaces) with at most
 * max entries, none twice, each checked by check, into a NULL-terminated
 * vector of what check made of it.  -1 with *cause set.
 */
static int
cconfig_read_net_strings(struct cconfig_parser *p, struct json_object *net,
    const char *key, size_t max,
    char *(*check)(const char *, const char *, char **),
    struct cconfig *c, char ***v, size_t *n)
{
	struct json_object *a;
	size_t i, k, len;
	char *path, *s, *q;

	if (cconfig_strings(net, "cml.network", key, &a, p->cause) == -1)
		return -1;
	len = a == NULL ? 0 : json_object_array_length(a);
	if (len > max) {
		xcause(p->cause, "cml.network.%s must have at most %zu "
		    "entries", key, max);
		return -1;
	}
	if (len > 0 && c->net.mode == CCONFIG_NET_ISLAND) {
		xcause(p->cause, "cml.network.%s needs cml.network.mode "
		    "link: an island container has only lo", key);
		return -1;
	}
	*v = xcalloc(len + 1, sizeof **v);
	for (i = 0; i < len; i++) {
		path = xasprintf("cml.network.%s[%zu]", key, i);
		s = check(json_object_get_string(json_object_array_get_idx(a,
		    i)), path, p->cause);
		if (s == NULL) {
			free(path);
			return -1;
		}
		for (k = 0; k < i; k++) {
			if (strcmp((*v)[k], s) == 0)
				break;
		}
		if (k < i) {
			q = jsonstrict_quotes(s);
			xcause(p->cause, "%s '%s' is listed twice, as "
			    "cml.network.%s[%zu]", path, q, key, k);
			free(q);
			free(path);
			free(s);
			return -1;
		}
		free(path);
		(*v)[i] = s;
		*n = i + 1;
	}
	return 0;
}

/*
 * Checks a DNS server's address at path: one address, no prefix length.
 * Returns its canonical text, or NULL with *cause set.
 */
static char *
cconfig_check_dns(const char *s, const char *path, char **cause)
{
	struct net_fw_prefix pfx;
	char buf[NET_FW_PREFIX_STRLEN], *q;

	if (cconfig_parse_prefix(s, path, &pfx, cause) == -1)
		return NULL;
	if (strchr(s, '/') != NULL) {
		q = jsonstrict_quotes(s);
		xcause(cause, "%s '%s' must be one address, without a "
		    "prefix length", path, q);
		free(q);
		return NULL;
	}
	net_fw_prefix_format(&pfx, buf, sizeof buf);
	*strchr(buf, '/') = '\0';
	return xstrdup(buf);
}

/*
 * Checks an interface to assign at path.  Returns a copy of it, or NULL
 * with *cause set.
 */
static char *
cconfig_check_iface(const char *s, const char *path, char **cause)
{
	if (cconfig_check_ifname(s, path, cause) == -1)
		return NULL;
	return xstrdup(s);
}

/*
 * Refuses an assigned interface that an allowance names as an uplink: it
 * leaves c0's namespace while the container runs.
 */
static int
cconfig_check_ifaces_uplinks(struct cconfig_parser *p,
    const struct cconfig_net *net)
{
	size_t i, k;
	const char *up;
	char *q;

	for (i = 0; i < net->ninterfaces; i++) {
		for (k = 0; k < net->negress + net->nforward; k++) {
			up = k < net->negress ? net->egress[k].uplink :
			    net->forward[k - net->negress].uplink;
			if (strcmp(up, net->interfaces[i]) != 0)
				continue;
			q = jsonstrict_quotes(up);
			xcause(p->cause, "cml.network.interfaces[%zu] '%s' is "
			    "an uplink of cml.network.%s[%zu] too: an "
			    "assigned interface leaves c0", i, q,
			    k < net->negress ? "egress" : "forward",
			    k < net->negress ? k : k - net->negress);
			free(q);
			return -1;
		}
	}
	return 0;
}

/*
 * Reads cml.network: the mode, the allowances, the DNS servers and the
 * interfaces assigned, then checks the whole as the firewall will at
 * start, so that a config accepted here is never refused there.
 */
static int
cconfig_read_network(struct cconfig_parser *p, struct json_object *cml,
    struct cconfig *c)
{
	static const char *const known[] = {
		"mode", "egress", "forward", "management", "dns",
		"interfaces", NULL
	};
	static const struct net_fw_prefix any_addr = { .family = AF_INET,
	    .len = 32 };
	struct net_fw_forward fwd[CCONFIG_NET_FORWARD_MAX];
	struct json_object *net;
	struct net_fw_ctr ctr;
	const char *s;
	char *why = NULL;

	if (cconfig_sub(cml, "cml", "network", known, &net, p->cause) == -1 ||
	    jsonstrict_get_string(net, "cml.network", "mode",
	    CCONFIG_OPTIONAL, &s, p->cause) == -1)
		return -1;
	if (s != NULL && strcmp(s, "link") == 0)
		c->net.mode = CCONFIG_NET_LINK;
	else if (s != NULL && strcmp(s, "island") != 0) {
		xcause(p->cause, "cml.network.mode must be island or link");
		return -1;
	}
	if (c->net.mode == CCONFIG_NET_LINK && p->is_c0) {
		xcause(p->cause, "cml.network.mode link is for service "
		    "containers: c0 holds the uplinks");
		return -1;
	}
	if (cconfig_read_net_list(p, net, "egress", CCONFIG_NET_EGRESS_MAX,
	    sizeof *c->net.egress, (void **)&c->net.egress, &c->net.negress,
	    cconfig_read_egress_at, c) == -1 ||
	    cconfig_read_net_list(p, net, "forward", CCONFIG_NET_FORWARD_MAX,
	    sizeof *c->net.forward, (void **)&c->net.forward,
	    &c->net.nforward, cconfig_read_forward, c) == -1 ||
	    cconfig_read_net_list(p, net, "management", CCONFIG_NET_MGMT_MAX,
	    sizeof *c->net.mgmt, (void **)&c->net.mgmt, &c->net.nmgmt,
	    cconfig_read_mgmt, c) == -1 ||
	    cconfig_read_net_strings(p, net, "dns", CCONFIG_NET_DNS_MAX,
	    cconfig_check_dns, c, &c->net.dns, &c->net.ndns) == -1 ||
	    cconfig_read_net_strings(p, net, "interfaces",
	    CCONFIG_NET_IFACES_MAX, cconfig_check_iface, c,
	    &c->net.interfaces, &c->net.ninterfaces) == -1 ||
	    cconfig_check_ifaces_uplinks(p, &c->net) == -1)
		return -1;
	if (c->net.mode == CCONFIG_NET_ISLAND)
		return 0;
	if (cconfig_net_fw_ctr(c, CCONFIG_NET_LINK_PREFIX "0", &any_addr, fwd,
	    &ctr, &why) == -1) {
		xcause(p->cause, "cml.network: %s", why);
		free(why);
		return -1;
	}
	return 0;
}

/* Reads "cml": token, storage the time container flag and the network. */
static int
cconfig_read_cml(struct cconfig_parser *p, struct json_object *top,
    struct cconfig *c)
{
	static const char *const known[] = {
		"token", "storage", "time", "network", NULL
	};
	static const char *const tknown[] = { "type", NULL };
	static const char *const sknown[] = { "encrypted", "integrity",
	    "size_mb", "volume", NULL };
	struct json_object *cml, *token, *storage;
	const char *s;
	size_t i;

	if (cconfig_sub(top, "", "cml", known, &cml, p->cause) == -1 ||
	    cconfig_sub(cml, "cml", "token", tknown, &token, p->cause) == -1 ||
	    jsonstrict_get_string(token, "cml.token", "type",
	    CCONFIG_OPTIONAL, &s, p->cause) == -1)
		return -1;
	if (s != NULL) {
		for (i = 0; i < sizeof cconfig_token_names /
		    sizeof cconfig_token_names[0]; i++) {
			if (strcmp(s, cconfig_token_names[i]) == 0)
				break;
		}
		if (i == sizeof cconfig_token_names /
		    sizeof cconfig_token_names[0]) {
			xcause(p->cause, "cml.token.type must be none, "
			    "softtoken or usbtoken");
			return -1;
		}
		c->token = (enum cconfig_token)i;
	}
	if (cconfig_sub(cml, "cml", "storage", sknown, &storage,
	    p->cause) == -1 ||
	    cconfig_bool(storage, "cml.storage", "encrypted",
	    &c->storage_encrypted, p->cause) == -1 ||
	    cconfig_bool(storage, "cml.storage", "integrity",
	    &c->storage_integrity, p->cause) == -1 ||
	    cconfig_int(storage, "cml.storage", "size_mb", CCONFIG_STORAGE_MIN,
	    CCONFIG_STORAGE_MAX, &c->storage_size_mb, p->cause) == -1 ||
	    cconfig_read_volume(p, storage, c) == -1)
		return -1;
	/* What is encrypted is the data volume, under the token's PIN. */
	if (c->storage_encrypted && c->volume_mount == NULL) {
		xcause(p->cause, "cml.storage.encrypted needs "
		    "cml.storage.volume: the data volume is what is "
		    "encrypted");
		return -1;
	}
	if (c->storage_encrypted && c->token == CCONFIG_TOKEN_NONE) {
		xcause(p->cause, "cml.storage.encrypted needs cml.token.type "
		    "softtoken or usbtoken: the token's PIN unlocks the "
		    "volume's key");
		return -1;
	}
	if (cconfig_bool(cml, "cml", "time", &c->time, p->cause) == -1)
		return -1;
	return cconfig_read_network(p, cml, c);
}

/* Refuses capabilities this container may not keep, in listed order. */
static int
cconfig_check_caps(struct cconfig_parser *p, const struct cconfig *c)
{
	const char *name;
	size_t i, k;

	for (i = 0; i < p->ncapv; i++) {
		name = cconfig_caps[p->capv[i]];
		for (k = 0; k < sizeof cconfig_cap_policy /
		    sizeof cconfig_cap_policy[0]; k++) {
			if (strcmp(cconfig_cap_policy[k].name, name) == 0)
				break;
		}
		if (k == sizeof cconfig_cap_policy /
		    sizeof cconfig_cap_policy[0])
			continue;
		switch (cconfig_cap_policy[k].rule) {
		case CCONFIG_CAP_NEVER:
			xcause(p->cause, "%s is never granted: %s", name,
			    cconfig_cap_policy[k].why);
			return -1;
		case CCONFIG_CAP_C0_ONLY:
			if (c->is_c0)
				continue;
			xcause(p->cause, "%s is granted only to c0: %s",
			    name, cconfig_cap_policy[k].why);
			return -1;
		case CCONFIG_CAP_NOT_C0:
			if (!c->is_c0)
				continue;
			xcause(p->cause, "%s is never granted to c0: %s", name,
			    cconfig_cap_policy[k].why);
			return -1;
		case CCONFIG_CAP_TIME_ONLY:
			if (c->time)
				continue;
			xcause(p->cause, "%s is granted only to the time "
			    "container (cml.time true): %s", name,
			    cconfig_cap_policy[k].why);
			return -1;
		}
	}
	return 0;
}

/* Sets every default. */
static void
cconfig_defaults(struct cconfig *c, int is_c0)
{
	memset(c, 0, sizeof *c);
	c->is_c0 = is_c0;
	c->memory_limit = CCONFIG_MEMORY_DEFAULT;
	c->cpu_shares = CCONFIG_SHARES_DEFAULT;
	c->cpu_period = CCONFIG_PERIOD_DEFAULT;
	c->pids_limit = CCONFIG_PIDS_DEFAULT;
	c->token = CCONFIG_TOKEN_NONE;
	c->storage_size_mb = CCONFIG_STORAGE_DEFAULT;
	c->storage_integrity = 1;
}

/* Parses for cconfig_parse and cconfig_parse_c0. */
static int
cconfig_parse_as(const char *json, size_t len, int is_c0, struct cconfig *c,
    char **cause)
{
	static const char *const known[] = {
		"name", "guestos", "hostname", "autostart", "process", "linux",
		"cml", NULL
	};
	struct cconfig_parser p;
	struct json_object *top;
	int ret = -1;

	cconfig_defaults(c, is_c0);
	memset(&p, 0, sizeof p);
	p.is_c0 = is_c0;
	p.cause = cause;

	if (jsonstrict_parse(json, len, &cconfig_json_limits, &top,
	    cause) == -1)
		goto fail;
	if (!json_object_is_type(top, json_type_object)) {
		xcause(cause, "config must be a JSON object");
		json_object_put(top);
		goto fail;
	}
	if (cconfig_object(top, "", known, cause) == 0 &&
	    cconfig_read_name(&p, top, c) == 0 &&
	    cconfig_read_guestos(&p, top, c) == 0 &&
	    cconfig_read_hostname(&p, top, c) == 0 &&
	    cconfig_bool(top, "", "autostart", &c->autostart, cause) == 0 &&
	    cconfig_read_process(&p, top, c) == 0 &&
	    cconfig_read_linux(&p, top, c) == 0 &&
	    cconfig_read_cml(&p, top, c) == 0 &&
	    cconfig_check_caps(&p, c) == 0)
		ret = 0;
	json_object_put(top);
	if (ret == 0) {
		if (c->env == NULL)
			c->env = xcalloc(1, sizeof *c->env);
		if (c->net.dns == NULL)
			c->net.dns = xcalloc(1, sizeof *c->net.dns);
		if (c->net.interfaces == NULL)
			c->net.interfaces = xcalloc(1,
			    sizeof *c->net.interfaces);
		return 0;
	}
fail:
	cconfig_clear(c);
	return -1;
}

/*
 * Parses and validates the config of a service container; c is empty on
 * error.  -1 with *cause naming the field.
 */
int
cconfig_parse(const char *json, size_t len, struct cconfig *c, char **cause)
{
	return cconfig_parse_as(json, len, 0, c, cause);
}

/*
 * Parses and validates the config of the management container c0; c is
 * empty on error.  -1 with *cause naming the field.
 */
int
cconfig_parse_c0(const char *json, size_t len, struct cconfig *c,
    char **cause)
{
	return cconfig_parse_as(json, len, 1, c, cause);
}

/* Frees a NULL-terminated vector of strings. */
static void
cconfig_free_vector(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Releases a parsed config and leaves it empty; NULL does nothing. */
void
cconfig_clear(struct cconfig *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->name);
	free(c->guestos_name);
	free(c->guestos_min_version);
	free(c->hostname);
	cconfig_free_vector(c->args);
	cconfig_free_vector(c->env);
	free(c->cpu_cpus);
	free(c->devices);
	free(c->volume_mount);
	/* The uplinks are the config's own copies. */
	for (i = 0; i < c->net.negress; i++)
		free((char *)c->net.egress[i].uplink);
	free(c->net.egress);
	for (i = 0; i < c->net.nforward; i++)
		free((char *)c->net.forward[i].uplink);
	free(c->net.forward);
	free(c->net.mgmt);
	cconfig_free_vector(c->net.dns);
	cconfig_free_vector(c->net.interfaces);
	memset(c, 0, sizeof *c);
}

/* Returns a JSON string, or null for NULL. */
static struct json_object *
cconfig_json_string_or_null(const char *s)
{
	return s == NULL ? NULL : json_object_new_string(s);
}

/* Returns an array of the strings of a vector. */
static struct json_object *
cconfig_json_vector(char *const *v, size_t n)
{
	struct json_object *a;
	size_t i;

	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* Returns a device rule as a JSON object. */
static struct json_object *
cconfig_json_device(const struct cconfig_device *d)
{
	struct json_object *o;
	char type[2] = { d->type, '\0' };

	o = json_object_new_object();
	json_object_object_add(o, "allow", json_object_new_boolean(1));
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "major", d->major == CCONFIG_DEVICE_ANY ?
	    NULL : json_object_new_int64(d->major));
	json_object_object_add(o, "minor", d->minor == CCONFIG_DEVICE_ANY ?
	    NULL : json_object_new_int64(d->minor));
	json_object_object_add(o, "access", json_object_new_string(d->access));
	json_object_object_add(o, "exclusive",
	    json_object_new_boolean(d->exclusive));
	return o;
}

/* Returns an object with one member. */
static struct json_object *
cconfig_json_one(const char *key, struct json_object *v)
{
	struct json_object *o;

	o = json_object_new_object();
	json_object_object_add(o, key, v);
	return o;
}

/* Returns a protocol and port: "proto" and, unless 0, "key". */
static struct json_object *
cconfig_json_port(const struct net_fw_port *pp, const char *key)
{
	struct json_object *o;

	o = json_object_new_object();
	json_object_object_add(o, "proto",
	    json_object_new_string(cconfig_proto_name(pp->proto)));
	json_object_object_add(o, key, pp->port == 0 ? NULL :
	    json_object_new_int(pp->port));
	return o;
}

/* Returns cml.network, every list present, empty ones too. */
static struct json_object *
cconfig_json_network(const struct cconfig_net *net)
{
	struct json_object *o, *a, *e;
	char buf[NET_FW_PREFIX_STRLEN];
	size_t i;

	o = json_object_new_object();
	json_object_object_add(o, "mode",
	    json_object_new_string(cconfig_net_mode_name(net->mode)));
	a = json_object_new_array();
	for (i = 0; i < net->negress; i++) {
		e = cconfig_json_port(&net->egress[i].port, "port");
		net_fw_prefix_format(&net->egress[i].dst, buf, sizeof buf);
		json_object_object_add(e, "to", json_object_new_string(buf));
		json_object_object_add(e, "uplink",
		    json_object_new_string(net->egress[i].uplink));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "egress", a);
	a = json_object_new_array();
	for (i = 0; i < net->nforward; i++) {
		e = cconfig_json_port(&net->forward[i].port, "port");
		json_object_object_add(e, "to_port",
		    json_object_new_int(net->forward[i].to_port));
		json_object_object_add(e, "uplink",
		    json_object_new_string(net->forward[i].uplink));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "forward", a);
	a = json_object_new_array();
	for (i = 0; i < net->nmgmt; i++)
		json_object_array_add(a, cconfig_json_port(&net->mgmt[i],
		    "port"));
	json_object_object_add(o, "management", a);
	json_object_object_add(o, "dns", cconfig_json_vector(net->dns,
	    net->ndns));
	json_object_object_add(o, "interfaces",
	    cconfig_json_vector(net->interfaces, net->ninterfaces));
	return o;
}

/*
 * Returns the effective config: every field, defaults included, plus the
 * built-in device list as "default_devices".
 */
struct json_object *
cconfig_to_json(const struct cconfig *c)
{
	struct json_object *top, *o, *res, *a;
	size_t i;
	int cap;

	top = json_object_new_object();
	json_object_object_add(top, "name", cconfig_json_string_or_null(c->name));

	o = json_object_new_object();
	json_object_object_add(o, "name",
	    cconfig_json_string_or_null(c->guestos_name));
	json_object_object_add(o, "min_version",
	    cconfig_json_string_or_null(c->guestos_min_version));
	json_object_object_add(top, "guestos", o);
	json_object_object_add(top, "hostname",
	    cconfig_json_string_or_null(c->hostname));
	json_object_object_add(top, "autostart",
	    json_object_new_boolean(c->autostart));

	o = json_object_new_object();
	json_object_object_add(o, "args", c->args == NULL ? NULL :
	    cconfig_json_vector(c->args, c->nargs));
	json_object_object_add(o, "env", cconfig_json_vector(c->env, c->nenv));
	a = json_object_new_array();
	for (cap = 0; cap < CCONFIG_NCAPS; cap++) {
		if (c->caps & (UINT64_C(1) << cap))
			json_object_array_add(a,
			    json_object_new_string(cconfig_caps[cap]));
	}
	json_object_object_add(o, "capabilities",
	    cconfig_json_one("bounding", a));
	json_object_object_add(o, "init_shim",
	    json_object_new_boolean(c->init_shim));
	json_object_object_add(top, "process", o);

	res = json_object_new_object();
	json_object_object_add(res, "memory", cconfig_json_one("limit",
	    json_object_new_int64(c->memory_limit)));
	o = json_object_new_object();
	json_object_object_add(o, "shares",
	    json_object_new_int64(c->cpu_shares));
	json_object_object_add(o, "quota", c->cpu_quota == 0 ? NULL :
	    json_object_new_int64(c->cpu_quota));
	json_object_object_add(o, "period",
	    json_object_new_int64(c->cpu_period));
	json_object_object_add(o, "cpus",
	    cconfig_json_string_or_null(c->cpu_cpus));
	json_object_object_add(res, "cpu", o);
	json_object_object_add(res, "pids", cconfig_json_one("limit",
	    json_object_new_int64(c->pids_limit)));
	a = json_object_new_array();
	for (i = 0; i < c->ndevices; i++)
		json_object_array_add(a, cconfig_json_device(&c->devices[i]));
	json_object_object_add(res, "devices", a);
	o = cconfig_json_one("resources", res);
	json_object_object_add(o, "user_namespace",
	    json_object_new_boolean(c->user_namespace));
	json_object_object_add(top, "linux", o);

	o = json_object_new_object();
	json_object_object_add(o, "token", cconfig_json_one("type",
	    json_object_new_string(cconfig_token_name(c->token))));
	res = json_object_new_object();
	json_object_object_add(res, "encrypted",
	    json_object_new_boolean(c->storage_encrypted));
	json_object_object_add(res, "integrity",
	    json_object_new_boolean(c->storage_integrity));
	json_object_object_add(res, "size_mb",
	    json_object_new_int64(c->storage_size_mb));
	if (c->volume_mount != NULL) {
		a = json_object_new_object();
		json_object_object_add(a, "size_mb",
		    json_object_new_int64(c->volume_size_mb));
		json_object_object_add(a, "mount",
		    json_object_new_string(c->volume_mount));
		json_object_object_add(res, "volume", a);
	} else
		json_object_object_add(res, "volume", NULL);
	json_object_object_add(o, "storage", res);
	json_object_object_add(o, "time", json_object_new_boolean(c->time));
	json_object_object_add(o, "network", cconfig_json_network(&c->net));
	json_object_object_add(top, "cml", o);

	a = json_object_new_array();
	for (i = 0; i < cconfig_default_devices_len; i++)
		json_object_array_add(a,
		    cconfig_json_device(&cconfig_default_devices[i]));
	json_object_object_add(top, "default_devices", a);
	return top;
}

/* Formats a rule as the device cgroup takes it ("c 188:0 rwm"; free it). */
char *
cconfig_device_string(const struct cconfig_device *d)
{
	char major[24], minor[24];

	if (d->major == CCONFIG_DEVICE_ANY)
		strcpy(major, "*");
	else
		snprintf(major, sizeof major, "%lld", d->major);
	if (d->minor == CCONFIG_DEVICE_ANY)
		strcpy(minor, "*");
	else
		snprintf(minor, sizeof minor, "%lld", d->minor);
	return xasprintf("%c %s:%s %s", d->type, major, minor, d->access);
}

/* Returns 1 if rule d covers device type/major/minor, else 0. */
int
cconfig_device_covers(const struct cconfig_device *d, char type,
    long long major, long long minor)
{
	if (d->type != 'a' && d->type != type)
		return 0;
	if (d->major != CCONFIG_DEVICE_ANY && d->major != major)
		return 0;
	if (d->minor != CCONFIG_DEVICE_ANY && d->minor != minor)
		return 0;
	return 1;
}

/* Returns 1 if a container with config c may use that device, else 0. */
int
cconfig_allows_device(const struct cconfig *c, char type, long long major,
    long long minor)
{
	size_t i;

	for (i = 0; i < cconfig_default_devices_len; i++) {
		if (cconfig_device_covers(&cconfig_default_devices[i], type,
		    major, minor))
			return 1;
	}
	for (i = 0; i < c->ndevices; i++) {
		if (cconfig_device_covers(&c->devices[i], type, major, minor))
			return 1;
	}
	return 0;
}

/* Returns the name of capability cap, or NULL. */
const char *
cconfig_cap_name(int cap)
{
	if (cap < 0 || cap >= CCONFIG_NCAPS)
		return NULL;
	return cconfig_caps[cap];
}

/* Returns the highest capability number known. */
int
cconfig_cap_last(void)
{
	return CCONFIG_NCAPS - 1;
}

/* Returns the name of a token type. */
const char *
cconfig_token_name(enum cconfig_token t)
{
	if ((size_t)t >= sizeof cconfig_token_names /
	    sizeof cconfig_token_names[0])
		return "none";
	return cconfig_token_names[t];
}

/* Returns the name of a network mode. */
const char *
cconfig_net_mode_name(enum cconfig_net_mode m)
{
	return m == CCONFIG_NET_LINK ? "link" : "island";
}

/*
 * Fills *ctr with the firewall's view of c's network, the port forwards
 * copied into fwd with to_addr as their target, and checks it.  -1 with a
 * cause.
 */
int
cconfig_net_fw_ctr(const struct cconfig *c, const char *link,
    const struct net_fw_prefix *to_addr, struct net_fw_forward *fwd,
    struct net_fw_ctr *ctr, char **cause)
{
	size_t i;

	memset(ctr, 0, sizeof *ctr);
	if (c->net.mode != CCONFIG_NET_LINK) {
		xcause(cause, "container '%s' is an island: it has no link",
		    c->name);
		return -1;
	}
	for (i = 0; i < c->net.nforward; i++) {
		fwd[i] = c->net.forward[i];
		fwd[i].to_addr = *to_addr;
	}
	ctr->id = c->name;
	ctr->link = link;
	ctr->egress = c->net.egress;
	ctr->negress = c->net.negress;
	ctr->forward = fwd;
	ctr->nforward = c->net.nforward;
	ctr->mgmt = c->net.mgmt;
	ctr->nmgmt = c->net.nmgmt;
	return net_fw_ctr_check(ctr, cause);
}
