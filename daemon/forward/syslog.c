/*
 * An audit record as an RFC 5424 message:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME cml - TYPE [cml@32473 seq=".." uid=".."
 *   pid=".." comm=".." container=".." object=".." result=".." hash=".."]
 *   BOM DETAILS
 *
 * framed as "MSG-LEN SP MSG" (RFC 5425 octet counting), so that details
 * with line breaks stay one message.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syslog.h"
#include "xmalloc.h"

/* A growing message. */
struct fwd_msg {
	char *buf;
	size_t len;
	size_t cap;
};

/* Appends n bytes. */
static void
fwd_msg_add(struct fwd_msg *m, const char *s, size_t n)
{
	if (m->len + n + 1 > m->cap) {
		while (m->len + n + 1 > m->cap)
			m->cap = m->cap == 0 ? 512 : m->cap * 2;
		m->buf = xreallocarray(m->buf, m->cap, 1);
	}
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}

/* Appends short formatted text (numbers and names: at most 160 bytes). */
static void __attribute__((format(printf, 2, 3)))
fwd_msg_printf(struct fwd_msg *m, const char *fmt, ...)
{
	char s[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s, sizeof s, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	fwd_msg_add(m, s, (size_t)n < sizeof s ? (size_t)n : sizeof s - 1);
}

/*
 * Appends a header field (HOSTNAME, MSG-ID): PRINTUSASCII only (RFC 5424
 * section 6), at most max characters; anything else becomes '_', and an
 * empty value the NILVALUE "-".
 */
static void
fwd_msg_token(struct fwd_msg *m, const char *s, size_t max)
{
	size_t i;
	char c;

	if (*s == '\0') {
		fwd_msg_add(m, "-", 1);
		return;
	}
	for (i = 0; s[i] != '\0' && i < max; i++) {
		c = s[i];
		if (c < 33 || c > 126)
			c = '_';
		fwd_msg_add(m, &c, 1);
	}
}

/* Appends an SD-PARAM value with '"', '\' and ']' escaped (RFC 5424 6.3.3). */
static void
fwd_msg_param(struct fwd_msg *m, const char *name, const char *value)
{
	const char *p;

	fwd_msg_printf(m, " %s=\"", name);
	for (p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\' || *p == ']')
			fwd_msg_add(m, "\\", 1);
		fwd_msg_add(m, p, 1);
	}
	fwd_msg_add(m, "\"", 1);
}

int
fwd_syslog_severity(const char *type, const char *result)
{
	if (strcmp(type, "integrity") == 0)
		return 2;
	if (strcmp(result, "ok") == 0)
		return 5;
	return 4;
}

/*
 * Takes string member key of rec ("" when null, or absent and optional);
 * -1 when of another type.
 */
static int
fwd_rec_string(struct json_object *rec, const char *key, int optional,
    const char **out, char **cause)
{
	struct json_object *o;

	*out = "";
	if (!json_object_object_get_ex(rec, key, &o)) {
		if (optional)
			return 0;
		*cause = xasprintf("the record has no '%s'", key);
		return -1;
	}
	if (o == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_string)) {
		*cause = xasprintf("the record's '%s' is not a string", key);
		return -1;
	}
	*out = json_object_get_string(o);
	return 0;
}

/* Takes integer member key of rec; -1 when absent or of another type. */
static int
fwd_rec_int(struct json_object *rec, const char *key, long long *out,
    char **cause)
{
	struct json_object *o;

	if (!json_object_object_get_ex(rec, key, &o) ||
	    !json_object_is_type(o, json_type_int)) {
		*cause = xasprintf("the record's '%s' is missing or not an "
		    "integer", key);
		return -1;
	}
	*out = json_object_get_int64(o);
	return 0;
}

int
fwd_syslog_frame(struct json_object *rec, const char *hostname,
    char **out, size_t *len, long long *seq, char **cause)
{
	static const char *const keys[] = { "type", "comm", "container",
	    "object", "result", "hash", "details", "time" };
	const char *s[8];
	struct fwd_msg m = { 0 };
	long long uid, pid;
	char hdr[24];
	size_t i;
	int n;

	if (!json_object_is_type(rec, json_type_object)) {
		*cause = xstrdup("the record is not an object");
		return -1;
	}
	if (fwd_rec_int(rec, "seq", seq, cause) == -1 ||
	    fwd_rec_int(rec, "uid", &uid, cause) == -1 ||
	    fwd_rec_int(rec, "pid", &pid, cause) == -1)
		return -1;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		/* A record of before the chain has no hash. */
		if (fwd_rec_string(rec, keys[i], strcmp(keys[i], "hash") == 0,
		    &s[i], cause) == -1)
			return -1;
	if (*seq < 1 || strlen(s[7]) > 32 ||
	    strspn(s[7], "0123456789-T:.Z") != strlen(s[7])) {
		*cause = xasprintf("the record's seq %lld or time is out of "
		    "range", *seq);
		return -1;
	}

	/* The record's time is RFC 3339 in UTC with ms: a TIMESTAMP. */
	fwd_msg_printf(&m, "<%d>1 ", FWD_FACILITY * 8 +
	    fwd_syslog_severity(s[0], s[4]));
	fwd_msg_token(&m, s[7], 32);
	fwd_msg_add(&m, " ", 1);
	fwd_msg_token(&m, hostname, 255);
	fwd_msg_add(&m, " cml - ", 7);
	fwd_msg_token(&m, s[0], 32);
	fwd_msg_add(&m, " [" FWD_SD_ID, strlen(FWD_SD_ID) + 2);
	fwd_msg_printf(&m, " seq=\"%lld\" uid=\"%lld\" pid=\"%lld\"", *seq,
	    uid, pid);
	fwd_msg_param(&m, "comm", s[1]);
	fwd_msg_param(&m, "container", s[2]);
	fwd_msg_param(&m, "object", s[3]);
	fwd_msg_param(&m, "result", s[4]);
	fwd_msg_param(&m, "hash", s[5]);
	fwd_msg_add(&m, "]", 1);
	if (*s[6] != '\0') {
		/* MSG is UTF-8: a BOM says so (RFC 5424 section 6.4). */
		fwd_msg_add(&m, " \xef\xbb\xbf", 4);
		fwd_msg_add(&m, s[6], strlen(s[6]));
	}
	if (m.len > FWD_FRAME_MAX) {
		*cause = xasprintf("record #%lld is too long to forward (%zu "
		    "bytes)", *seq, m.len);
		free(m.buf);
		return -1;
	}

	n = snprintf(hdr, sizeof hdr, "%zu ", m.len);
	*len = (size_t)n + m.len;
	*out = xmalloc(*len + 1);
	memcpy(*out, hdr, (size_t)n);
	memcpy(*out + n, m.buf, m.len + 1);
	free(m.buf);
	return 0;
}
