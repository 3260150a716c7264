/*
 * cml-audit-verify: verifies an exported audit trail off the device, the
 * JSON lines of `audit export`, with only the device certificate and the
 * CA that issued it: the certificate must chain to the CA (and name the
 * device the export's header names), every record's hash must match its
 * contents and link to the one before it, every checkpoint's head must be
 * the chain's head at its record and its signature must verify with the
 * certificate's key (crypto/auditchain.h).  A trail whose oldest records
 * were dropped starts from the signed checkpoint before the gap.  Prints
 * what it verified, or the first broken record or checkpoint.
 *
 *   cml-audit-verify --cert FILE --ca FILE [--ca FILE]... [EXPORT|-]
 *
 * Exit status: 0 the trail verified, 1 it is broken (or the certificate
 * is refused), 2 usage error or input that cannot be read as an export.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "auditchain.h"
#include "crypto.h"
#include "devcert.h"
#include "file.h"
#include "jsonstrict.h"
#include "xmalloc.h"

#define CAV_EXIT_OK 0
#define CAV_EXIT_BROKEN 1
#define CAV_EXIT_USAGE 2

/* The export's format, as its header names it. */
#define CAV_FORMAT "cml-audit-export-v1"
/*
 * The longest line read: a record's fields are bounded (details 2048
 * bytes, each byte at most 6 as a JSON escape), far below this.
 */
#define CAV_LINE_MAX (64 * 1024)
/* The most bytes of a signature's DER. */
#define CAV_SIG_MAX 256
/* The longest device name compared (a UUID is 36 characters). */
#define CAV_DEVICE_MAX 256

/* What the verifier keeps while it reads an export. */
struct cav {
	const char *name; /* the export's name in messages */
	FILE *in;
	unsigned long line; /* the line last read */
	char *buf; /* CAV_LINE_MAX + 2 bytes */
	size_t len;
	struct auditchain_verify *v;
	long long first_seq, last_seq; /* the header's */
	char *device; /* the header's, or NULL for none */
	/* the device certificate (PEM) and the CAs it must chain to */
	const char *cert_name;
	const char *cert_pem;
	const unsigned char **anchors;
	size_t *anchor_lens;
	size_t nanchors;
	struct crypto_devcert_checked dc;
	char *cause;
};

/* The members of each kind of line: a line has these and no others. */
static const char *const cav_header_keys[] = { "kind", "format", "device",
	"exported", "first_seq", "last_seq", NULL };
static const char *const cav_checkpoint_keys[] = { "kind", "seq", "time_ms",
	"time", "head", "signature", NULL };
static const char *const cav_record_keys[] = { "kind", "seq", "time",
	"time_ms", "type", "uid", "pid", "comm", "container", "object",
	"result", "details", "prev", "hash", NULL };
/*
 * A record's member it may have besides: whether a collector or operator
 * acknowledged it (state that changes after the record was written, so
 * no part of its hash; shown by cmld, not checked here).
 */
#define CAV_RECORD_ACK "acknowledged"

static void
cav_usage(FILE *f)
{
	fprintf(f, "cml-audit-verify: usage: cml-audit-verify --cert FILE "
	    "--ca FILE [--ca FILE]... [EXPORT|-]\n");
}

static void
cav_help(void)
{
	printf("usage: cml-audit-verify --cert FILE --ca FILE [--ca FILE]... "
	    "[EXPORT|-]\n"
	    "       cml-audit-verify --version | --help\n"
	    "\n"
	    "Verifies an audit trail exported with `cmlsh -c 'audit "
	    "export'`, off the\n"
	    "device: EXPORT (default: standard input) holds its JSON "
	    "lines.\n"
	    "\n"
	    "  -c, --cert FILE   the device certificate (PEM, any "
	    "intermediate CA\n"
	    "                    certificates after it)\n"
	    "  -a, --ca FILE     a CA certificate (PEM or DER) the device "
	    "certificate must\n"
	    "                    chain to; repeatable\n"
	    "\n"
	    "Checks the certificate's chain, recomputes every record's hash "
	    "and its link to\n"
	    "the one before, and checks every checkpoint's head and its "
	    "signature by the\n"
	    "device key.  Prints what it verified, or the first broken "
	    "record or\n"
	    "checkpoint.  Exit status: 0 verified, 1 broken, 2 usage error "
	    "or unreadable\n"
	    "input.  See cml-audit-verify(1).\n");
}

/* Reports a usage error; returns the usage exit status. */
static int
cav_usage_error(const char *msg, const char *arg)
{
	if (arg != NULL)
		fprintf(stderr, "cml-audit-verify: %s '%s'\n", msg, arg);
	else
		fprintf(stderr, "cml-audit-verify: %s\n", msg);
	cav_usage(stderr);
	return CAV_EXIT_USAGE;
}

static int
cav_fail(struct cav *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets c->cause; returns status. */
static int
cav_fail(struct cav *c, int status, const char *fmt, ...)
{
	va_list ap;

	free(c->cause);
	va_start(ap, fmt);
	if (vasprintf(&c->cause, fmt, ap) == -1)
		c->cause = xstrdup("out of memory");
	va_end(ap);
	return status;
}

/*
 * Reads the next line into c->buf (without its newline); 1 for a line, 0
 * at the end, -1 with c->cause set (unreadable, too long, a NUL byte).
 */
static int
cav_read_line(struct cav *c)
{
	int ch;

	c->len = 0;
	while ((ch = getc(c->in)) != EOF && ch != '\n') {
		if (c->len == CAV_LINE_MAX) {
			cav_fail(c, -1, "%s: line %lu is longer than %d bytes: "
			    "not an audit export", c->name, c->line + 1,
			    CAV_LINE_MAX);
			return -1;
		}
		if (ch == '\0') {
			cav_fail(c, -1, "%s: line %lu holds a NUL byte: not an "
			    "audit export", c->name, c->line + 1);
			return -1;
		}
		c->buf[c->len++] = (char)ch;
	}
	if (ferror(c->in)) {
		cav_fail(c, -1, "%s: cannot read: %s", c->name,
		    strerror(errno));
		return -1;
	}
	if (ch == EOF && c->len == 0)
		return 0;
	c->buf[c->len] = '\0';
	c->line++;
	return 1;
}

/*
 * Parses the line as one JSON object with exactly the members keys of
 * one kind; NULL with c->cause set.
 */
static struct json_object *
cav_parse(struct cav *c, const char *const *keys, const char *kind,
    struct json_object *o)
{
	size_t i;
	int known;

	json_object_object_foreach(o, k, val) {
		known = 0;
		for (i = 0; keys[i] != NULL; i++)
			known |= strcmp(keys[i], k) == 0;
		if (keys == cav_record_keys && strcmp(k, CAV_RECORD_ACK) == 0) {
			if (!json_object_is_type(val, json_type_boolean)) {
				cav_fail(c, -1, "%s: line %lu: the record's '%s' "
				    "is no boolean", c->name, c->line,
				    CAV_RECORD_ACK);
				return NULL;
			}
			known = 1;
		}
		if (!known) {
			char *q = jsonstrict_quotes(k);

			cav_fail(c, -1, "%s: line %lu: a %s has no member "
			    "'%s'", c->name, c->line, kind, q);
			free(q);
			return NULL;
		}
	}
	for (i = 0; keys[i] != NULL; i++) {
		if (!json_object_object_get_ex(o, keys[i], NULL)) {
			cav_fail(c, -1, "%s: line %lu: the %s lacks '%s'",
			    c->name, c->line, kind, keys[i]);
			return NULL;
		}
	}
	return o;
}

/* Reads an integer member; -1 with c->cause set. */
static int
cav_int(struct cav *c, struct json_object *o, const char *key,
    const char *kind, long long *out)
{
	struct json_object *v = json_object_object_get(o, key);

	if (!json_object_is_type(v, json_type_int))
		return cav_fail(c, -1, "%s: line %lu: the %s's '%s' is no "
		    "integer", c->name, c->line, kind, key);
	*out = json_object_get_int64(v);
	return 0;
}

/* Reads a string member; -1 with c->cause set. */
static int
cav_str(struct cav *c, struct json_object *o, const char *key,
    const char *kind, const char **out)
{
	char *why = NULL;

	if (jsonstrict_get_string(o, "", key, JSONSTRICT_REQUIRED, out,
	    &why) == -1) {
		cav_fail(c, -1, "%s: line %lu: the %s's %s", c->name, c->line,
		    kind, why);
		free(why);
		return -1;
	}
	return 0;
}

/*
 * Writes time_ms as RFC 3339 UTC into buf: with milliseconds
 * ("2026-01-01T00:00:00.123Z") or without (whole seconds only).
 */
static void
cav_time(long long time_ms, int ms, char *buf, size_t size)
{
	long long sec = time_ms / 1000, frac = time_ms % 1000;
	time_t t;
	struct tm tm;
	char base[32];

	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "?");
		return;
	}
	if (ms)
		snprintf(buf, size, "%s.%03lldZ", base, frac);
	else
		snprintf(buf, size, "%sZ", base);
}

/*
 * Checks that a line's "time" says what its time_ms says (the hash covers
 * time_ms only, so a time edited apart from it must not mislead a
 * reader); a checkpoint's may leave out the milliseconds when they are 0.
 */
static int
cav_check_time(struct cav *c, const char *what, long long seq,
    long long time_ms, const char *time, int checkpoint)
{
	char want[64], bare[64];

	cav_time(time_ms, 1, want, sizeof want);
	cav_time(time_ms, 0, bare, sizeof bare);
	if (strcmp(time, want) == 0 ||
	    (checkpoint && time_ms % 1000 == 0 && strcmp(time, bare) == 0))
		return 0;
	return cav_fail(c, CAV_EXIT_BROKEN, "%s #%lld: its time '%.40s' is "
	    "not its time_ms %lld (%s)", what, seq, time, time_ms, want);
}

/* Reads the header (line 1); an exit status, 0 when it is one. */
static int
cav_header(struct cav *c, struct json_object *o)
{
	const char *kind, *format, *device, *exported;

	if (cav_str(c, o, "kind", "line", &kind) == -1)
		return CAV_EXIT_USAGE;
	if (strcmp(kind, "header") != 0)
		return cav_fail(c, CAV_EXIT_USAGE, "%s: line 1 is no header "
		    "(kind 'header'): not an audit export", c->name);
	if (cav_parse(c, cav_header_keys, "header", o) == NULL ||
	    cav_str(c, o, "format", "header", &format) == -1 ||
	    cav_str(c, o, "device", "header", &device) == -1 ||
	    cav_str(c, o, "exported", "header", &exported) == -1 ||
	    cav_int(c, o, "first_seq", "header", &c->first_seq) == -1 ||
	    cav_int(c, o, "last_seq", "header", &c->last_seq) == -1)
		return CAV_EXIT_USAGE;
	if (strcmp(format, CAV_FORMAT) != 0) {
		char *q = jsonstrict_quotes(format);

		cav_fail(c, CAV_EXIT_USAGE, "%s: the format '%s' is not %s",
		    c->name, q, CAV_FORMAT);
		free(q);
		return CAV_EXIT_USAGE;
	}
	if (strlen(device) > CAV_DEVICE_MAX)
		return cav_fail(c, CAV_EXIT_USAGE, "%s: the header's device "
		    "is longer than %d bytes", c->name, CAV_DEVICE_MAX);
	/* An empty trail has last_seq first_seq - 1. */
	if (c->first_seq < 1 || c->last_seq < c->first_seq - 1)
		return cav_fail(c, CAV_EXIT_USAGE, "%s: the header's seqs "
		    "%lld to %lld are no range", c->name, c->first_seq,
		    c->last_seq);
	if (*device != '\0')
		c->device = xstrdup(device);
	return 0;
}

/* Feeds a checkpoint line; an exit status, 0 when it verified. */
static int
cav_checkpoint(struct cav *c, struct json_object *o)
{
	unsigned char head[AUDITCHAIN_HASH_LEN], *sig = NULL;
	const char *hex, *b64, *time;
	long long seq, time_ms;
	char *why = NULL;
	size_t siglen;
	int rc;

	if (cav_parse(c, cav_checkpoint_keys, "checkpoint", o) == NULL ||
	    cav_int(c, o, "seq", "checkpoint", &seq) == -1 ||
	    cav_int(c, o, "time_ms", "checkpoint", &time_ms) == -1 ||
	    cav_str(c, o, "time", "checkpoint", &time) == -1 ||
	    cav_str(c, o, "head", "checkpoint", &hex) == -1 ||
	    cav_str(c, o, "signature", "checkpoint", &b64) == -1)
		return CAV_EXIT_USAGE;
	if (strlen(hex) != 2 * AUDITCHAIN_HASH_LEN ||
	    crypto_unhex(hex, head, sizeof head) != AUDITCHAIN_HASH_LEN)
		return cav_fail(c, CAV_EXIT_BROKEN, "checkpoint #%lld: its "
		    "head is no hash (64 lower-case hex digits)", seq);
	if (crypto_unbase64(b64, CAV_SIG_MAX, &sig, &siglen) == -1)
		return cav_fail(c, CAV_EXIT_BROKEN, "checkpoint #%lld: its "
		    "signature is no base64 of at most %d bytes", seq,
		    CAV_SIG_MAX);
	rc = auditchain_verify_checkpoint(c->v, seq, time_ms, head, sig,
	    siglen, &why);
	free(sig);
	if (rc == -1) {
		cav_fail(c, CAV_EXIT_BROKEN, "%s", why);
		free(why);
		return CAV_EXIT_BROKEN;
	}
	return cav_check_time(c, "checkpoint", seq, time_ms, time, 1);
}

/* Feeds a record line; an exit status, 0 when it verified. */
static int
cav_record(struct cav *c, struct json_object *o)
{
	unsigned char prev[AUDITCHAIN_HASH_LEN], hash[AUDITCHAIN_HASH_LEN];
	struct auditchain_rec r;
	const char *prev_hex, *hash_hex, *time;
	char *why = NULL;

	memset(&r, 0, sizeof r);
	if (!json_object_object_get_ex(o, "prev", NULL) &&
	    !json_object_object_get_ex(o, "hash", NULL) &&
	    cav_int(c, o, "seq", "record", &r.seq) == 0)
		return cav_fail(c, CAV_EXIT_BROKEN, "record #%lld carries no "
		    "hash: it is not part of a chain and cannot be verified",
		    r.seq);
	if (cav_parse(c, cav_record_keys, "record", o) == NULL ||
	    cav_int(c, o, "seq", "record", &r.seq) == -1 ||
	    cav_int(c, o, "time_ms", "record", &r.time_ms) == -1 ||
	    cav_int(c, o, "uid", "record", &r.uid) == -1 ||
	    cav_int(c, o, "pid", "record", &r.pid) == -1 ||
	    cav_str(c, o, "time", "record", &time) == -1 ||
	    cav_str(c, o, "type", "record", &r.type) == -1 ||
	    cav_str(c, o, "comm", "record", &r.comm) == -1 ||
	    cav_str(c, o, "container", "record", &r.container) == -1 ||
	    cav_str(c, o, "object", "record", &r.object) == -1 ||
	    cav_str(c, o, "result", "record", &r.result) == -1 ||
	    cav_str(c, o, "details", "record", &r.details) == -1 ||
	    cav_str(c, o, "prev", "record", &prev_hex) == -1 ||
	    cav_str(c, o, "hash", "record", &hash_hex) == -1)
		return CAV_EXIT_USAGE;
	if (strlen(prev_hex) != 2 * AUDITCHAIN_HASH_LEN ||
	    crypto_unhex(prev_hex, prev, sizeof prev) != AUDITCHAIN_HASH_LEN)
		return cav_fail(c, CAV_EXIT_BROKEN, "record #%lld: its prev is "
		    "no hash (64 lower-case hex digits)", r.seq);
	if (strlen(hash_hex) != 2 * AUDITCHAIN_HASH_LEN ||
	    crypto_unhex(hash_hex, hash, sizeof hash) != AUDITCHAIN_HASH_LEN)
		return cav_fail(c, CAV_EXIT_BROKEN, "record #%lld: its hash is "
		    "no hash (64 lower-case hex digits)", r.seq);
	if (auditchain_verify_record(c->v, &r, prev, hash, &why) == -1) {
		cav_fail(c, CAV_EXIT_BROKEN, "%s", why);
		free(why);
		return CAV_EXIT_BROKEN;
	}
	return cav_check_time(c, "record", r.seq, r.time_ms, time, 0);
}

/*
 * Checks the device certificate against the CAs (and the header's device)
 * and starts the chain's verifier with its key; an exit status.
 */
static int
cav_certificate(struct cav *c)
{
	char *why = NULL;

	if (crypto_devcert_verify(c->cert_pem, c->cert_name, c->anchors,
	    c->anchor_lens, c->nanchors, c->device, 0, &c->dc, &why) == -1) {
		cav_fail(c, CAV_EXIT_BROKEN, "%s", why);
		free(why);
		return CAV_EXIT_BROKEN;
	}
	c->v = auditchain_verify_new(c->dc.key);
	return 0;
}

/* Reads and verifies the whole export; an exit status. */
static int
cav_run(struct cav *c)
{
	static const struct jsonstrict_limits lim = {
		.what = NULL, .max_len = CAV_LINE_MAX, .max_depth = 1,
		.max_fields = 32, .flags = 0,
	};
	struct json_object *o = NULL;
	const char *kind;
	char *why = NULL;
	int rc, status = 0;

	while (status == 0 && (rc = cav_read_line(c)) == 1) {
		if (jsonstrict_parse(c->buf, c->len, &lim, &o, &why) == -1 ||
		    !json_object_is_type(o, json_type_object)) {
			status = cav_fail(c, CAV_EXIT_USAGE, "%s: line %lu is "
			    "no JSON object%s%s", c->name, c->line,
			    why != NULL ? ": " : "", why != NULL ? why : "");
			free(why);
			why = NULL;
			json_object_put(o);
			o = NULL;
			break;
		}
		if (c->line == 1) {
			if ((status = cav_header(c, o)) == 0)
				status = cav_certificate(c);
		} else if (cav_str(c, o, "kind", "line", &kind) == -1) {
			status = CAV_EXIT_USAGE;
		} else if (strcmp(kind, "record") == 0) {
			status = cav_record(c, o);
		} else if (strcmp(kind, "checkpoint") == 0) {
			status = cav_checkpoint(c, o);
		} else {
			char *q = jsonstrict_quotes(kind);

			status = cav_fail(c, CAV_EXIT_USAGE, "%s: line %lu: "
			    "kind '%s' is neither record nor checkpoint",
			    c->name, c->line, q);
			free(q);
		}
		json_object_put(o);
		o = NULL;
	}
	if (status != 0)
		return status;
	if (rc == -1)
		return CAV_EXIT_USAGE;
	if (c->line == 0)
		return cav_fail(c, CAV_EXIT_USAGE, "%s is empty: not an audit "
		    "export", c->name);
	return 0;
}

/*
 * Checks that the records cover the header's range: a trail cut at its
 * end still chains, so its header is what says that records are missing.
 */
static int
cav_check_range(struct cav *c, const struct auditchain_summary *s)
{
	if (s->records == 0 && c->last_seq < c->first_seq)
		return 0;
	if (s->records == 0)
		return cav_fail(c, CAV_EXIT_BROKEN, "the export holds no "
		    "records, but its header says it holds #%lld to #%lld",
		    c->first_seq, c->last_seq);
	if (s->last_seq < c->last_seq)
		return cav_fail(c, CAV_EXIT_BROKEN, "the export ends at "
		    "record #%lld, but its header says it holds records up to "
		    "#%lld: records are missing at its end", s->last_seq,
		    c->last_seq);
	if (s->last_seq > c->last_seq || s->first_seq != c->first_seq)
		return cav_fail(c, CAV_EXIT_BROKEN, "the export holds records "
		    "#%lld to #%lld, but its header says #%lld to #%lld",
		    s->first_seq, s->last_seq, c->first_seq, c->last_seq);
	return 0;
}

/* Returns "s" unless n is 1. */
static const char *
cav_plural(long long n)
{
	return n == 1 ? "" : "s";
}

/* Prints what verified. */
static void
cav_print(const struct auditchain_summary *s,
    const struct crypto_devcert_checked *dc, const char *device)
{
	printf("device certificate: %s (issued by %s)\n", dc->subject,
	    dc->issuer);
	if (device != NULL)
		printf("device: %s\n", device);
	if (s->anchor_seq > 0)
		printf("the trail starts after dropped records: verified from "
		    "checkpoint #%lld\n", s->anchor_seq);
	if (s->records > 0)
		printf("verified %lld record%s (#%lld to #%lld)", s->records,
		    cav_plural(s->records), s->first_seq, s->last_seq);
	else
		printf("verified no records");
	printf(", %lld checkpoint%s signed by the device key %s", s->checkpoints,
	    cav_plural(s->checkpoints), dc->subject);
	if (s->unsigned_tail > 0)
		printf("; %lld record%s after the last checkpoint %s chained "
		    "but not yet signed", s->unsigned_tail,
		    cav_plural(s->unsigned_tail),
		    s->unsigned_tail == 1 ? "is" : "are");
	printf("\naudit trail: ok\n");
}

/* Reads the device certificate file; NULL with *cause set. */
static char *
cav_read_cert(const char *path, char **cause)
{
	char *buf = NULL;
	size_t len;
	int fd, rc, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		*cause = xasprintf("%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	rc = file_read_fd(fd, CRYPTO_DEVCERT_MAX, &buf, &len);
	saved = errno;
	close(fd);
	if (rc == -1) {
		errno = saved;
		*cause = file_error(path, CRYPTO_DEVCERT_MAX);
		return NULL;
	}
	if (strlen(buf) != len) {
		free(buf);
		*cause = xasprintf("%s holds a NUL byte: no PEM certificate",
		    path);
		return NULL;
	}
	return buf;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "ca", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct auditchain_summary s;
	struct crypto_anchors cas_loaded;
	struct cav c;
	size_t ncas = 0;
	const char **cas = NULL, *certpath = NULL, *path;
	char *pem = NULL, *cause = NULL;
	int ch, fd, status = CAV_EXIT_USAGE;

	memset(&c, 0, sizeof c);
	memset(&cas_loaded, 0, sizeof cas_loaded);
	while ((ch = getopt_long(argc, argv, ":c:a:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			certpath = optarg;
			break;
		case 'a':
			cas = xreallocarray(cas, ncas + 1, sizeof *cas);
			cas[ncas++] = optarg;
			break;
		case 'h':
			free(cas);
			cav_help();
			return CAV_EXIT_OK;
		case 'V':
			free(cas);
			printf("cml-audit-verify %s\n", PACKAGE_VERSION);
			return CAV_EXIT_OK;
		case ':':
			free(cas);
			return cav_usage_error("option needs a value:",
			    argv[optind - 1]);
		default:
			free(cas);
			if (optopt != 0) {
				fprintf(stderr, "cml-audit-verify: unknown "
				    "option '-%c'\n", optopt);
				cav_usage(stderr);
				return CAV_EXIT_USAGE;
			}
			return cav_usage_error("unknown option",
			    argv[optind - 1]);
		}
	}
	if (certpath == NULL) {
		free(cas);
		return cav_usage_error("needs --cert FILE (the device "
		    "certificate)", NULL);
	}
	if (ncas == 0) {
		free(cas);
		return cav_usage_error("needs at least one --ca FILE", NULL);
	}
	if (argc - optind > 1) {
		free(cas);
		return cav_usage_error("takes one EXPORT at most", NULL);
	}
	path = argc - optind == 1 ? argv[optind] : "-";

	if (crypto_anchors_load(&cas_loaded, cas, ncas, &cause) == -1) {
		fprintf(stderr, "cml-audit-verify: %s\n", cause);
		goto out;
	}
	if ((pem = cav_read_cert(certpath, &cause)) == NULL) {
		fprintf(stderr, "cml-audit-verify: %s\n", cause);
		goto out;
	}
	if (strcmp(path, "-") == 0) {
		c.name = "standard input";
		fd = STDIN_FILENO;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) ==
	    -1) {
		fprintf(stderr, "cml-audit-verify: %s: cannot open: %s\n",
		    path, strerror(errno));
		goto out;
	} else
		c.name = path;
	if ((c.in = fdopen(fd, "r")) == NULL) {
		fprintf(stderr, "cml-audit-verify: %s: %s\n", c.name,
		    strerror(errno));
		if (fd != STDIN_FILENO)
			close(fd);
		goto out;
	}
	c.buf = xmalloc(CAV_LINE_MAX + 2);
	c.cert_name = certpath;
	c.cert_pem = pem;
	c.anchors = cas_loaded.der;
	c.anchor_lens = cas_loaded.len;
	c.nanchors = cas_loaded.n;
	if ((status = cav_run(&c)) == 0) {
		auditchain_verify_summary(c.v, &s);
		status = cav_check_range(&c, &s);
	}
	if (status == 0)
		cav_print(&s, &c.dc, c.device);
	else {
		fflush(stdout);
		fprintf(stderr, "cml-audit-verify: %s\n", c.cause);
	}
out:
	if (c.in != NULL)
		fclose(c.in);
	auditchain_verify_free(c.v);
	crypto_devcert_checked_clear(&c.dc);
	free(c.buf);
	free(c.device);
	free(c.cause);
	crypto_anchors_clear(&cas_loaded);
	free(cas);
	free(pem);
	free(cause);
	return status;
}
