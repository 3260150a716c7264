#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonstrict.h"
#include "names.h"
#include "settings.h"
#include "xmalloc.h"

static const char *const setting_log_levels[] = {
	"warning", "info", "debug", NULL
};
static const char *const setting_auto_bool[] = {
	"auto", "true", "false", NULL
};
static const char *const setting_audit_full[] = {
	"refuse", "drop-acknowledged", NULL
};

const struct setting_def setting_defs[] = {
	{ "device_name", SETTING_STRING, "cml", 1, 64, NULL,
	    "the device's name, shown in status and prompts" },
	{ "log_level", SETTING_ENUM, "info", 0, 0, setting_log_levels,
	    "how much cmld logs: warning, info or debug; applied at once" },
	{ "max_clients", SETTING_INT, "64", 1, 1024, NULL,
	    "control connections served at once; more are refused" },
	{ "audit_read_calls", SETTING_BOOL, "false", 0, 0, NULL,
	    "audit read-only calls too, not only changes" },
	{ "guestos_verity", SETTING_BOOL, "true", 0, 0, NULL,
	    "check guest OS images block by block with dm-verity as they "
	    "are read, where the kernel has dm-verity and the images carry "
	    "a hash tree (false: hash every image in full before each "
	    "start)" },
	{ "stop_timeout", SETTING_INT, "10", 1, 600, NULL,
	    "seconds a container's init has after SIGTERM before SIGKILL" },
	{ "c0_guestos", SETTING_GUESTOS, "", 0, 64, NULL,
	    "the guest OS of the management container c0 (empty: no c0); "
	    "takes effect at the next start of cmld" },
	{ "require_signed_configs", SETTING_ENUM, "auto", 0, 0,
	    setting_auto_bool,
	    "container configs must be signed: true, false, or auto (once "
	    "the device is provisioned)" },
	{ "session_idle_timeout", SETTING_INT, "900", 0, 86400, NULL,
	    "seconds an interactive cmlsh may wait for a key before it ends "
	    "the session (0: never); read when a session starts" },
	{ "token_pin_tries", SETTING_INT, "3", 1, 10, NULL,
	    "wrong PINs a new token takes before its PIN is blocked (the "
	    "PUK unblocks it); read at token init" },
	{ "token_puk_tries", SETTING_INT, "3", 1, 10, NULL,
	    "wrong PUKs a new token takes before it is blocked for good "
	    "(only token init again); read at token init" },
	{ "audit_capacity", SETTING_INT, "67108864", 65536,
	    68719476736LL, NULL,
	    "bytes the audit trail may take (records and checkpoints); "
	    "see audit_full_action for what happens when it is full" },
	{ "audit_warn_percent", SETTING_INT, "75", 1, 99, NULL,
	    "first threshold: a warning record and a notice to connected "
	    "clients when the trail fills past this share of its capacity" },
	{ "audit_critical_percent", SETTING_INT, "90", 1, 99, NULL,
	    "second threshold, above the first: a critical record and "
	    "notice" },
	{ "audit_full_action", SETTING_ENUM, "refuse", 0, 0,
	    setting_audit_full,
	    "when the trail is full: refuse (state-changing commands are "
	    "refused until space is freed) or drop-acknowledged (the oldest "
	    "acknowledged records go, never unacknowledged ones)" },
	{ "audit_checkpoint_records", SETTING_INT, "100", 1, 100000, NULL,
	    "a signed checkpoint over the chain after this many records" },
	{ "audit_checkpoint_seconds", SETTING_INT, "60", 1, 86400, NULL,
	    "a signed checkpoint at most this many seconds after a record "
	    "that none covers yet" },
	{ "audit_forward_host", SETTING_STRING, "", 0, 253, NULL,
	    "the syslog collector records are forwarded to over TLS (RFC "
	    "5425), a host name or address its certificate names (empty: "
	    "no forwarding)" },
	{ "audit_forward_port", SETTING_INT, "6514", 1, 65535, NULL,
	    "the collector's TCP port" },
	{ "audit_kernel", SETTING_BOOL, "false", 0, 0, NULL,
	    "register cmld as the kernel's audit daemon and keep kernel "
	    "audit records in the trail; read when cmld starts" },
	{ "net_pool_v4", SETTING_PREFIX, "10.200.0.0/16", 4, 30, NULL,
	    "the IPv4 prefix container links get their addresses from, a /30 "
	    "each by the container's index (empty: no IPv4); read at each "
	    "start of a linked container" },
	{ "net_pool_v6", SETTING_PREFIX, "fd00:c41::/48", 6, 126, NULL,
	    "the IPv6 prefix container links get their addresses from, a "
	    "/64 each (/126 when the prefix is longer than /64; empty: no "
	    "IPv6); read at each start of a linked container" },
	{ "net_masquerade", SETTING_IFLIST, "", 0, 8, NULL,
	    "uplinks of c0 through which container traffic leaves with the "
	    "uplink's address (comma-separated; empty: routed as it is); "
	    "read when the base ruleset is loaded" },
	{ "net_guard_uplinks", SETTING_IFLIST, "", 0, 8, NULL,
	    "uplinks on which c0 itself takes only the answers to its own "
	    "traffic, IPv6 neighbour discovery and the ports of net_c0_ports "
	    "(comma-separated; empty: c0 is not guarded); read when the base "
	    "ruleset is loaded" },
	{ "net_c0_ports", SETTING_PORTLIST, "", 0, 16, NULL,
	    "the ports c0 takes on the guarded uplinks, as PROTO/PORT "
	    "(tcp/22,udp/161; empty: none); read when the base ruleset is "
	    "loaded" },
	{ "update_signers_guestos", SETTING_SIGNERS, "", 0,
	    SETTING_SIGNERS_MAX, NULL,
	    "updates of guest OSes need signatures of at least M of these "
	    "signers (empty: one signature chaining to a supplier or owner "
	    "anchor)" },
	{ "update_signers_configs", SETTING_SIGNERS, "", 0,
	    SETTING_SIGNERS_MAX, NULL,
	    "updates of container configs need signatures of at least M of "
	    "these signers (empty: one signature chaining to an owner or "
	    "supplier anchor)" },
	{ "update_signers_cml", SETTING_SIGNERS, "", 0, SETTING_SIGNERS_MAX,
	    NULL,
	    "updates of cml itself need signatures of at least M of these "
	    "signers (empty: one signature chaining to a supplier anchor)" },
	{ "update_signers_boot", SETTING_SIGNERS, "", 0, SETTING_SIGNERS_MAX,
	    NULL,
	    "updates of the kernel and boot image need signatures of at "
	    "least M of these signers (empty: one signature chaining to a "
	    "supplier anchor)" },
};
const size_t setting_defs_len = sizeof setting_defs / sizeof setting_defs[0];

const char *const setting_provision_keys[] = {
	"device_name",
	"audit_capacity",
	"audit_warn_percent",
	"audit_critical_percent",
	"audit_full_action",
	"audit_forward_host",
	"audit_forward_port",
	"net_guard_uplinks",
	"net_c0_ports",
	"net_masquerade",
	"session_idle_timeout",
};
const size_t setting_provision_keys_len =
    sizeof setting_provision_keys / sizeof setting_provision_keys[0];

const struct setting_def *
setting_find(const char *key)
{
	size_t i;

	for (i = 0; i < setting_defs_len; i++)
		if (strcmp(setting_defs[i].key, key) == 0)
			return &setting_defs[i];
	return NULL;
}

const char *
setting_type_name(enum setting_type type)
{
	switch (type) {
	case SETTING_STRING:
		return "string";
	case SETTING_INT:
		return "integer";
	case SETTING_BOOL:
		return "boolean";
	case SETTING_ENUM:
		return "enum";
	case SETTING_GUESTOS:
	case SETTING_PREFIX:
	case SETTING_IFLIST:
	case SETTING_PORTLIST:
	case SETTING_SIGNERS:
		return "string";
	}
	return "unknown";
}

/* Lists an enum's choices as "a, b or c" (free it). */
static char *
setting_choices(const struct setting_def *def)
{
	const char *const *c;
	char *s = NULL, *t;

	for (c = def->choices; *c != NULL; c++) {
		if (s == NULL)
			t = xstrdup(*c);
		else
			t = xasprintf("%s%s%s", s, c[1] == NULL ? " or " : ", ",
			    *c);
		free(s);
		s = t;
	}
	return s != NULL ? s : xstrdup("");
}

char *
setting_values(const struct setting_def *def)
{
	char *list, *s;

	switch (def->type) {
	case SETTING_STRING:
		return xasprintf("text of %lld to %lld characters", def->min,
		    def->max);
	case SETTING_INT:
		return xasprintf("an integer from %lld to %lld", def->min,
		    def->max);
	case SETTING_BOOL:
		return xstrdup("true or false");
	case SETTING_ENUM:
		list = setting_choices(def);
		s = xasprintf("%s", list);
		free(list);
		return s;
	case SETTING_GUESTOS:
		return xstrdup("a guest OS name, or empty");
	case SETTING_PREFIX:
		return xasprintf("an IPv%lld prefix ADDR/LEN with LEN at most "
		    "%lld and no address bits set past it, or empty", def->min,
		    def->max);
	case SETTING_IFLIST:
		return xasprintf("at most %lld network interface names, "
		    "comma-separated, or empty", def->max);
	case SETTING_PORTLIST:
		return xasprintf("at most %lld ports as tcp/PORT or udp/PORT, "
		    "comma-separated, or empty", def->max);
	case SETTING_SIGNERS:
		return xasprintf("M:FINGERPRINT,... (at least M of at most "
		    "%lld signer certificates' SHA-256 fingerprints), or empty",
		    def->max);
	}
	return xstrdup("unknown");
}

/*
 * The canonical form of an address prefix of family def->min (4 or 6), at
 * most def->max bits long, with no host bits set; "" stays "".
 */
static int
setting_prefix(const struct setting_def *def, const char *value, char **out,
    char **cause)
{
	unsigned char a[16];
	char addr[INET6_ADDRSTRLEN], *end, *q;
	const char *slash;
	size_t alen, bytes = def->min == 4 ? 4 : 16;
	long len;
	unsigned int i;

	if (*value == '\0') {
		*out = xstrdup("");
		return 0;
	}
	slash = strchr(value, '/');
	alen = slash != NULL ? (size_t)(slash - value) : 0;
	errno = 0;
	len = slash != NULL ? strtol(slash + 1, &end, 10) : -1;
	if (slash == NULL || alen == 0 || alen >= sizeof addr ||
	    slash[1] == '\0' || *end != '\0' || errno != 0 || len < 1 ||
	    len > def->max)
		goto bad;
	memcpy(addr, value, alen);
	addr[alen] = '\0';
	if (inet_pton(def->min == 4 ? AF_INET : AF_INET6, addr, a) != 1)
		goto bad;
	for (i = (unsigned int)len; i < bytes * 8; i++) {
		if (a[i / 8] & (0x80 >> (i % 8))) {
			q = jsonstrict_quotes(value);
			*cause = xasprintf("%s: '%s' has address bits set past "
			    "/%ld", def->key, q, len);
			free(q);
			return -1;
		}
	}
	inet_ntop(def->min == 4 ? AF_INET : AF_INET6, a, addr, sizeof addr);
	*out = xasprintf("%s/%ld", addr, len);
	return 0;
bad:
	q = jsonstrict_quotes(value);
	*cause = xasprintf("%s must be an IPv%lld prefix ADDR/LEN with LEN "
	    "from 1 to %lld, or empty, not '%s'", def->key, def->min, def->max,
	    q);
	free(q);
	return -1;
}

/*
 * The canonical form of a list of interface names: comma-separated, no
 * blanks, each a valid name (1..15 bytes, none of '/', ':', ',', blanks or
 * control characters, not "." or ".."), none twice, at most def->max.
 */
static int
setting_iflist(const struct setting_def *def, const char *value, char **out,
    char **cause)
{
	const char *p = value, *e, *k;
	size_t n = 0, len;
	char *q;

	while (*p != '\0') {
		e = strchr(p, ',');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (!names_ifname_ok(p, len))
			goto bad;
		for (k = value; k < p; k += strcspn(k, ",") + 1) {
			if (strncmp(k, p, len) == 0 && (k[len] == ',')) {
				q = jsonstrict_quotes(value);
				*cause = xasprintf("%s names an interface twice: "
				    "'%s'", def->key, q);
				free(q);
				return -1;
			}
		}
		if (++n > (size_t)def->max) {
			*cause = xasprintf("%s names more than %lld "
			    "interfaces", def->key, def->max);
			return -1;
		}
		if (e == NULL)
			break;
		p = e + 1;
		if (*p == '\0')
			goto bad;
	}
	*out = xstrdup(value);
	return 0;
bad:
	q = jsonstrict_quotes(value);
	*cause = xasprintf("%s must be interface names (1 to 15 bytes, no "
	    "blank, '/', ':' or ',') separated by commas, or empty, not '%s'",
	    def->key, q);
	free(q);
	return -1;
}

/*
 * The canonical form of a list of ports: PROTO/PORT, PROTO tcp or udp (any
 * case), PORT 1..65535, comma-separated, none twice, at most def->max (64
 * at most).
 */
static int
setting_portlist(const struct setting_def *def, const char *value,
    char **out, char **cause)
{
	char *copy = xstrdup(value), *p = copy, *e, *slash, *end, *res, *t;
	long seen[64], port;
	size_t n = 0, i;
	int udp;

	res = xstrdup("");
	while (*p != '\0') {
		if ((e = strchr(p, ',')) != NULL)
			*e = '\0';
		if ((slash = strchr(p, '/')) == NULL)
			goto bad;
		*slash = '\0';
		if (strcasecmp(p, "tcp") == 0)
			udp = 0;
		else if (strcasecmp(p, "udp") == 0)
			udp = 1;
		else
			goto bad;
		errno = 0;
		port = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    errno != 0 || port < 1 || port > 65535)
			goto bad;
		port += udp ? 65536 : 0;
		for (i = 0; i < n; i++) {
			if (seen[i] == port) {
				t = jsonstrict_quotes(value);
				*cause = xasprintf("%s names a port twice: '%s'",
				    def->key, t);
				free(t);
				goto fail;
			}
		}
		if (n >= (size_t)def->max || n >= sizeof seen / sizeof *seen) {
			*cause = xasprintf("%s names more than %lld ports",
			    def->key, def->max);
			goto fail;
		}
		seen[n++] = port;
		t = xasprintf("%s%s%s/%ld", res, n > 1 ? "," : "",
		    udp ? "udp" : "tcp", port - (udp ? 65536 : 0));
		free(res);
		res = t;
		if (e == NULL)
			break;
		p = e + 1;
		if (*p == '\0')
			goto bad;
	}
	free(copy);
	*out = res;
	return 0;
bad:
	t = jsonstrict_quotes(value);
	*cause = xasprintf("%s must be ports as tcp/PORT or udp/PORT (PORT 1 "
	    "to 65535) separated by commas, or empty, not '%s'", def->key, t);
	free(t);
fail:
	free(copy);
	free(res);
	return -1;
}

/*
 * The canonical form of "M:FP,FP,...": M from 1 to the number of
 * fingerprints, at most def->max distinct SHA-256 fingerprints, each 64
 * hex digits (colons between bytes allowed), written lower-case without
 * colons; "" stays "".
 */
static int
setting_signers(const struct setting_def *def, const char *value, char **out,
    char **cause)
{
	char fps[SETTING_SIGNERS_MAX][65], *res, *end;
	const char *p = value;
	size_t n = 0, k, i;
	long m;

	if (*value == '\0') {
		*out = xstrdup("");
		return 0;
	}
	errno = 0;
	m = strtol(p, &end, 10);
	if (end == p || *end != ':' || errno != 0 || m < 1 ||
	    m > SETTING_SIGNERS_MAX)
		goto bad;
	p = end + 1;
	for (;;) {
		if (n == (size_t)def->max || n == SETTING_SIGNERS_MAX)
			goto bad;
		for (k = 0; k < 64 && *p != '\0' && *p != ','; p++) {
			if (*p == ':' && k % 2 == 0 && k > 0)
				continue;
			if (!isxdigit((unsigned char)*p))
				goto bad;
			fps[n][k++] = (char)tolower((unsigned char)*p);
		}
		fps[n][k] = '\0';
		if (k != 64 || (*p != '\0' && *p != ','))
			goto bad;
		for (i = 0; i < n; i++) {
			if (strcmp(fps[i], fps[n]) == 0) {
				*cause = xasprintf("%s names signer %s twice",
				    def->key, fps[n]);
				return -1;
			}
		}
		n++;
		if (*p == '\0')
			break;
		p++;
	}
	if ((size_t)m > n) {
		*cause = xasprintf("%s requires %ld signers of only %zu named",
		    def->key, m, n);
		return -1;
	}
	res = xasprintf("%ld:", m);
	for (i = 0; i < n; i++) {
		end = xasprintf("%s%s%s", res, i == 0 ? "" : ",", fps[i]);
		free(res);
		res = end;
	}
	*out = res;
	return 0;
bad:
	*cause = xasprintf("%s must be M:FINGERPRINT,... with M from 1 to the "
	    "number of fingerprints and at most %lld SHA-256 fingerprints "
	    "(64 hex digits each), or empty, not '%s'", def->key, def->max,
	    value);
	return -1;
}

int
setting_canonical(const struct setting_def *def, const char *value,
    char **out, char **cause)
{
	const char *const *c;
	const unsigned char *p;
	char *end, *list, *q;
	long long v;
	size_t len;

	switch (def->type) {
	case SETTING_PREFIX:
		return setting_prefix(def, value, out, cause);
	case SETTING_IFLIST:
		return setting_iflist(def, value, out, cause);
	case SETTING_PORTLIST:
		return setting_portlist(def, value, out, cause);
	case SETTING_SIGNERS:
		return setting_signers(def, value, out, cause);
	case SETTING_GUESTOS:
		if (*value != '\0' && !names_guestos_ok(value)) {
			*cause = xasprintf("%s must be a guest OS name (a-z 0-9 "
			    ". _ -, at most 64) or empty", def->key);
			return -1;
		}
		*out = xstrdup(value);
		return 0;
	case SETTING_STRING:
		len = strlen(value);
		if (len < (size_t)def->min || len > (size_t)def->max) {
			*cause = xasprintf("%s must be %lld to %lld characters "
			    "long", def->key, def->min, def->max);
			return -1;
		}
		for (p = (const unsigned char *)value; *p != '\0'; p++) {
			if (*p < 0x20 || *p == 0x7f) {
				*cause = xasprintf("%s must not contain control "
				    "characters", def->key);
				return -1;
			}
		}
		*out = xstrdup(value);
		return 0;
	case SETTING_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno == ERANGE) {
			q = jsonstrict_quotes(value);
			*cause = xasprintf("%s must be an integer from %lld to "
			    "%lld, not '%s'", def->key, def->min, def->max, q);
			free(q);
			return -1;
		}
		if (v < def->min || v > def->max) {
			*cause = xasprintf("%s must be from %lld to %lld, not "
			    "%lld", def->key, def->min, def->max, v);
			return -1;
		}
		*out = xasprintf("%lld", v);
		return 0;
	case SETTING_BOOL:
		if (strcasecmp(value, "true") == 0 ||
		    strcasecmp(value, "yes") == 0 ||
		    strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0) {
			*out = xstrdup("true");
			return 0;
		}
		if (strcasecmp(value, "false") == 0 ||
		    strcasecmp(value, "no") == 0 ||
		    strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0) {
			*out = xstrdup("false");
			return 0;
		}
		q = jsonstrict_quotes(value);
		*cause = xasprintf("%s must be true or false (yes/no, on/off, "
		    "1/0), not '%s'", def->key, q);
		free(q);
		return -1;
	case SETTING_ENUM:
		for (c = def->choices; *c != NULL; c++) {
			if (strcmp(*c, value) == 0) {
				*out = xstrdup(*c);
				return 0;
			}
		}
		list = setting_choices(def);
		q = jsonstrict_quotes(value);
		*cause = xasprintf("%s must be %s, not '%s'", def->key, list, q);
		free(q);
		free(list);
		return -1;
	}
	*cause = xasprintf("%s has an unknown type", def->key);
	return -1;
}
