#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonstrict.h"
#include "proto.h"
#include "xmalloc.h"

#define PROTO_READ_CHUNK 65536

/* Closes n descriptors. */
static void
proto_close_fds(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

void
proto_reader_init(struct proto_reader *r)
{
	memset(r, 0, sizeof *r);
	r->at_start = 1;
}

void
proto_reader_free(struct proto_reader *r)
{
	size_t i;

	for (i = 0; i < r->ngroups; i++)
		proto_close_fds(r->groups[i].fds, r->groups[i].n);
	proto_close_fds(r->fds, r->nfds);
	if (r->buf != NULL)
		xwipe(r->buf, r->cap);
	free(r->buf);
	memset(r, 0, sizeof *r);
	r->at_start = 1;
}

/*
 * Grows a buffer holding used bytes to cap bytes.  Not realloc: a message
 * may carry a PIN, so the old buffer is wiped before it is freed.
 */
static char *
proto_buf_grow(char *buf, size_t oldcap, size_t used, size_t cap)
{
	char *nbuf = xmalloc(cap);

	if (used > 0)
		memcpy(nbuf, buf, used);
	if (buf != NULL)
		xwipe(buf, oldcap);
	free(buf);
	return nbuf;
}

/* Makes room for want more bytes, dropping what was already parsed. */
static void
proto_reader_reserve(struct proto_reader *r, size_t want)
{
	if (r->off > 0 && r->off == r->len) {
		r->base += r->len;
		r->len = r->off = r->scanned = 0;
	} else if (r->off > 0 && r->cap - r->len < want) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		/* the moved bytes' old places */
		xwipe(r->buf + r->len - r->off, r->off);
		r->base += r->off;
		r->len -= r->off;
		r->off = 0;
	}
	if (r->cap - r->len < want) {
		size_t cap = r->cap ? r->cap : 4096;

		while (cap - r->len < want)
			cap *= 2;
		r->buf = proto_buf_grow(r->buf, r->cap, r->len, cap);
		r->cap = cap;
	}
}

/*
 * Files the descriptors that came with the n bytes just read at buffer
 * offset p0: they belong to the last message starting in those bytes.
 */
static void
proto_reader_file_fds(struct proto_reader *r, size_t p0, size_t n,
    const int *fds, size_t nfds)
{
	struct proto_fd_group *g;
	size_t q, start = (size_t)-1;

	if (r->at_start)
		start = p0;
	for (q = p0; q + 1 < p0 + n; q++)
		if (r->buf[q] == '\0')
			start = q + 1;
	if (start == (size_t)-1)
		r->broken = "descriptors were passed in the middle of a "
		    "message";
	else if (r->ngroups == PROTO_MAX_FD_GROUPS)
		r->broken = "too many messages with descriptors are waiting";
	else if (r->ngroups > 0 &&
	    r->groups[r->ngroups - 1].at == r->base + start)
		r->broken = "descriptors were passed twice with one message";
	if (r->broken != NULL) {
		proto_close_fds(fds, nfds);
		return;
	}
	g = &r->groups[r->ngroups++];
	g->at = r->base + start;
	memcpy(g->fds, fds, nfds * sizeof fds[0]);
	g->n = nfds;
}

ssize_t
proto_reader_fill(struct proto_reader *r, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
	} cbuf;
	int fds[PROTO_MAX_FDS * 2];
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	size_t nfds = 0, k, i;
	ssize_t n;

	proto_reader_reserve(r, PROTO_READ_CHUNK);
	iov.iov_base = r->buf + r->len;
	iov.iov_len = r->cap - r->len;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;
	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno == ENOTSOCK) {
		/* a pipe or file, in tests and in-process transports */
		do {
			n = read(fd, r->buf + r->len, r->cap - r->len);
		} while (n == -1 && errno == EINTR);
		mh.msg_controllen = 0;
		mh.msg_flags = 0;
	}
	if (n == -1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int d;

			memcpy(&d, CMSG_DATA(cm) + i * sizeof(int), sizeof d);
			if (nfds < sizeof fds / sizeof fds[0])
				fds[nfds++] = d;
			else
				close(d);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		proto_close_fds(fds, nfds);
		nfds = 0;
		if (r->broken == NULL)
			r->broken = "more than the descriptors one message "
			    "may carry were passed";
	}
	if (nfds > PROTO_MAX_FDS) {
		proto_close_fds(fds, nfds);
		nfds = 0;
		if (r->broken == NULL)
			r->broken = "more than the descriptors one message "
			    "may carry were passed";
	}
	if (nfds > 0 && n > 0)
		proto_reader_file_fds(r, r->len, (size_t)n, fds, nfds);
	else
		proto_close_fds(fds, nfds);
	if (n > 0) {
		r->len += (size_t)n;
		r->at_start = r->buf[r->len - 1] == '\0';
	}
	return n;
}

void
proto_reader_feed(struct proto_reader *r, const void *data, size_t len)
{
	if (len == 0)
		return; /* an empty reader has no buffer to add to */
	proto_reader_reserve(r, len);
	memcpy(r->buf + r->len, data, len);
	r->len += len;
}

/*
 * A message must have one meaning only: valid UTF-8, no \u0000, no field
 * given twice.  The bound on fields keeps the search for repeated ones
 * cheap.
 */
static const struct jsonstrict_limits proto_json_limits = {
	.max_depth = 32,
	.max_fields = 1024,
};

int
proto_reader_next(struct proto_reader *r, struct json_object **msg,
    char **cause)
{
	struct json_object *obj;
	int rc;
	/* A reader never fed has no buffer; then nothing below reads start. */
	const char *start = r->buf != NULL ? r->buf + r->off : NULL;
	char *nul;
	size_t avail = r->len - r->off, mlen;

	*msg = NULL;
	if (r->broken != NULL) {
		*cause = xstrdup(r->broken);
		return -1;
	}
	nul = avail > r->scanned ?
	    memchr(start + r->scanned, '\0', avail - r->scanned) : NULL;
	if (nul == NULL) {
		r->scanned = avail;
		if (avail > PROTO_MAX_MSG) {
			*cause = xasprintf("message longer than %d bytes",
			    PROTO_MAX_MSG);
			return -1;
		}
		return 0;
	}
	mlen = (size_t)(nul - start);
	proto_close_fds(r->fds, r->nfds);
	r->nfds = 0;
	if (r->ngroups > 0 && r->groups[0].at < r->base + r->off) {
		*cause = xstrdup("descriptors were passed with no message");
		return -1;
	}
	if (r->ngroups > 0 && r->groups[0].at == r->base + r->off) {
		memcpy(r->fds, r->groups[0].fds,
		    r->groups[0].n * sizeof r->fds[0]);
		r->nfds = r->groups[0].n;
		r->ngroups--;
		memmove(&r->groups[0], &r->groups[1],
		    r->ngroups * sizeof r->groups[0]);
	}
	r->off += mlen + 1;
	r->scanned = 0;
	if (mlen > PROTO_MAX_MSG) {
		*cause = xasprintf("message longer than %d bytes", PROTO_MAX_MSG);
		return -1;
	}
	if (mlen == 0) {
		*cause = xstrdup("empty message");
		return -1;
	}

	/*
	 * The message's bytes are wiped once parsed: a call may carry a PIN
	 * (scd), which then lives on only in the call's JSON, which its
	 * handler wipes.
	 */
	rc = jsonstrict_parse(start, mlen, &proto_json_limits, &obj, cause);
	xwipe((char *)start, mlen);
	if (rc == -1)
		return -1;
	if (!json_object_is_type(obj, json_type_object)) {
		*cause = xstrdup("message is not a JSON object");
		json_object_put(obj);
		return -1;
	}
	*msg = obj;
	return 1;
}

int
proto_reader_pending(const struct proto_reader *r)
{
	return r->len > r->off;
}

size_t
proto_reader_unparsed(const struct proto_reader *r)
{
	return r->len - r->off;
}

size_t
proto_reader_take_fds(struct proto_reader *r, int *fds, size_t max)
{
	size_t i, n = r->nfds;

	for (i = 0; i < n; i++) {
		if (i < max)
			fds[i] = r->fds[i];
		else
			close(r->fds[i]);
	}
	r->nfds = 0;
	return n;
}

void
proto_writer_init(struct proto_writer *w)
{
	memset(w, 0, sizeof *w);
}

void
proto_writer_free(struct proto_writer *w)
{
	size_t i;

	for (i = 0; i < w->ngroups; i++)
		proto_close_fds(w->groups[i].fds, w->groups[i].n);
	free(w->groups);
	if (w->buf != NULL)
		xwipe(w->buf, w->cap);
	free(w->buf);
	memset(w, 0, sizeof *w);
}

int
proto_writer_queue(struct proto_writer *w, struct json_object *msg)
{
	return proto_writer_queue_fds(w, msg, NULL, 0);
}

int
proto_writer_queue_fds(struct proto_writer *w, struct json_object *msg,
    const int *fds, size_t nfds)
{
	struct proto_out_group *g;
	const char *s;
	size_t len, i;

	s = json_object_to_json_string_length(msg,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL || len > PROTO_MAX_MSG || nfds > PROTO_MAX_FDS) {
		proto_close_fds(fds, nfds);
		return -1;
	}
	if (w->off > 0 && w->off == w->len)
		w->off = w->len = 0;
	if (w->cap - w->len < len + 1) {
		size_t cap = w->cap ? w->cap : 4096;

		if (w->off > 0) {
			memmove(w->buf, w->buf + w->off, w->len - w->off);
			/* the moved bytes' old places */
			xwipe(w->buf + w->len - w->off, w->off);
			for (i = 0; i < w->ngroups; i++)
				w->groups[i].at -= w->off;
			w->len -= w->off;
			w->off = 0;
		}
		while (cap - w->len < len + 1)
			cap *= 2;
		if (cap != w->cap) {
			w->buf = proto_buf_grow(w->buf, w->cap, w->len, cap);
			w->cap = cap;
		}
	}
	if (nfds > 0) {
		w->groups = xreallocarray(w->groups, w->ngroups + 1,
		    sizeof *w->groups);
		g = &w->groups[w->ngroups++];
		g->at = w->len;
		memcpy(g->fds, fds, nfds * sizeof fds[0]);
		g->n = nfds;
	}
	memcpy(w->buf + w->len, s, len);
	w->buf[w->len + len] = '\0';
	w->len += len + 1;
	/*
	 * A message may carry a PIN: json-c's copy of its text is wiped (it
	 * writes the text anew each time it is asked for it), and so is
	 * every byte once sent and the buffer when it goes.
	 */
	xwipe((char *)s, len);
	return 0;
}

/*
 * Sends bytes from w->off up to the next message with descriptors, or
 * that message's first bytes with its descriptors.
 */
static ssize_t
proto_writer_send(struct proto_writer *w, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
	} cbuf;
	struct proto_out_group *g = w->ngroups > 0 ? &w->groups[0] : NULL;
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	size_t end = w->len;
	ssize_t n;

	if (g != NULL && g->at > w->off)
		end = g->at;
	else if (w->ngroups > 1)
		end = w->groups[1].at;
	iov.iov_base = w->buf + w->off;
	iov.iov_len = end - w->off;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (g != NULL && g->at == w->off) {
		memset(&cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * g->n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * g->n);
		memcpy(CMSG_DATA(cm), g->fds, sizeof(int) * g->n);
	}
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	if (n > 0 && mh.msg_control != NULL) {
		proto_close_fds(g->fds, g->n);
		w->ngroups--;
		memmove(&w->groups[0], &w->groups[1],
		    w->ngroups * sizeof w->groups[0]);
	}
	return n;
}

int
proto_writer_flush(struct proto_writer *w, int fd)
{
	ssize_t n;

	while (w->off < w->len) {
		n = proto_writer_send(w, fd);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		xwipe(w->buf + w->off, (size_t)n);
		w->off += (size_t)n;
	}
	w->off = w->len = 0;
	return 1;
}

size_t
proto_writer_pending(const struct proto_writer *w)
{
	return w->len - w->off;
}

struct json_object *
proto_call_new(const char *method, struct json_object *params, int more)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "method", json_object_new_string(method));
	json_object_object_add(o, "parameters",
	    params != NULL ? params : json_object_new_object());
	if (more)
		json_object_object_add(o, "more", json_object_new_boolean(1));
	return o;
}

struct json_object *
proto_reply_new(struct json_object *params, int continues)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "parameters",
	    params != NULL ? params : json_object_new_object());
	if (continues)
		json_object_object_add(o, "continues",
		    json_object_new_boolean(1));
	return o;
}

/* The parameter that names the subject of each of varlink's own errors. */
static const char *
proto_error_subject_key(const char *error)
{
	if (strcmp(error, PROTO_ERR_INTERFACE_NOT_FOUND) == 0)
		return "interface";
	if (strcmp(error, PROTO_ERR_METHOD_NOT_FOUND) == 0 ||
	    strcmp(error, PROTO_ERR_METHOD_NOT_IMPLEMENTED) == 0)
		return "method";
	return "parameter";
}

struct json_object *
proto_error_new(const char *error, const char *subject, const char *fmt,
    ...)
{
	struct json_object *o, *p;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);

	p = json_object_new_object();
	if (subject != NULL)
		json_object_object_add(p, proto_error_subject_key(error),
		    json_object_new_string(subject));
	json_object_object_add(p, "message",
	    json_object_new_string(msg != NULL ? msg : error));
	free(msg);

	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "parameters", p);
	return o;
}

/* Reads an optional boolean member; -1 if present and not a boolean. */
static int
proto_get_flag(struct json_object *msg, const char *key, int *flag)
{
	struct json_object *v;

	*flag = 0;
	if (!json_object_object_get_ex(msg, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*flag = json_object_get_boolean(v);
	return 0;
}

int
proto_call_parse(struct json_object *msg, struct proto_call *call,
    char **cause)
{
	struct json_object *m, *p = NULL, *upgrade;

	memset(call, 0, sizeof *call);
	if (!json_object_object_get_ex(msg, "method", &m) ||
	    !json_object_is_type(m, json_type_string)) {
		*cause = xstrdup("a call needs \"method\" as a string");
		return -1;
	}
	call->method = json_object_get_string(m);
	if (strlen(call->method) != (size_t)json_object_get_string_len(m)) {
		*cause = xstrdup("method name contains a NUL character");
		return -1;
	}
	if (json_object_object_get_ex(msg, "parameters", &p) && p != NULL &&
	    !json_object_is_type(p, json_type_object)) {
		*cause = xstrdup("\"parameters\" must be an object");
		return -1;
	}
	if (p == NULL) {
		p = json_object_new_object();
		json_object_object_add(msg, "parameters", p);
	}
	call->params = p;
	if (proto_get_flag(msg, "more", &call->more) == -1 ||
	    proto_get_flag(msg, "oneway", &call->oneway) == -1) {
		*cause = xstrdup("\"more\" and \"oneway\" must be booleans");
		return -1;
	}
	if (json_object_object_get_ex(msg, "upgrade", &upgrade) &&
	    json_object_get_boolean(upgrade)) {
		*cause = xstrdup("protocol upgrades are not supported");
		return -1;
	}
	return 0;
}

int
proto_reply_parse(struct json_object *msg, struct proto_reply *reply,
    char **cause)
{
	struct json_object *e, *p = NULL;

	memset(reply, 0, sizeof *reply);
	if (json_object_object_get_ex(msg, "error", &e)) {
		if (!json_object_is_type(e, json_type_string)) {
			*cause = xstrdup("reply has a non-string \"error\"");
			return -1;
		}
		reply->error = json_object_get_string(e);
	}
	if (json_object_object_get_ex(msg, "parameters", &p) && p != NULL &&
	    !json_object_is_type(p, json_type_object)) {
		*cause = xstrdup("reply \"parameters\" is not an object");
		return -1;
	}
	if (p == NULL) {
		p = json_object_new_object();
		json_object_object_add(msg, "parameters", p);
	}
	reply->params = p;
	if (proto_get_flag(msg, "continues", &reply->continues) == -1) {
		*cause = xstrdup("reply \"continues\" is not a boolean");
		return -1;
	}
	return 0;
}

const char *
proto_reply_message(const struct proto_reply *reply)
{
	struct json_object *m;

	if (reply->params != NULL &&
	    json_object_object_get_ex(reply->params, "message", &m) &&
	    json_object_is_type(m, json_type_string))
		return json_object_get_string(m);
	return reply->error != NULL ? reply->error : "";
}

int
proto_connect(const char *path, char **cause)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("cannot reach cmld at %s: socket path too "
		    "long", path);
		return -1;
	}
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xasprintf("cannot create a socket: %s",
		    strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		*cause = xasprintf("cannot reach cmld at %s: %s: %s", path,
		    strerror(errno), errno == EACCES || errno == EPERM ?
		    "are you in group cml?" : "is it running?");
		close(fd);
		return -1;
	}
	return fd;
}

int
proto_send(int fd, struct json_object *msg, char **cause)
{
	return proto_send_fds(fd, msg, NULL, 0, cause);
}

int
proto_send_fds(int fd, struct json_object *msg, const int *fds, size_t nfds,
    char **cause)
{
	struct proto_writer w;
	int copies[PROTO_MAX_FDS] = { 0 };
	size_t i;
	int rc;

	proto_writer_init(&w);
	for (i = 0; i < nfds && i < PROTO_MAX_FDS; i++) {
		if ((copies[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) == -1) {
			*cause = xasprintf("cannot pass a file to cmld: %s",
			    strerror(errno));
			proto_close_fds(copies, i);
			return -1;
		}
	}
	if (proto_writer_queue_fds(&w, msg, copies, i) == -1 ||
	    nfds > PROTO_MAX_FDS) {
		*cause = nfds > PROTO_MAX_FDS ? xasprintf("more than %d files "
		    "in one call", PROTO_MAX_FDS) : xasprintf("message "
		    "longer than %d bytes", PROTO_MAX_MSG);
		proto_writer_free(&w);
		return -1;
	}
	rc = proto_writer_flush(&w, fd);
	proto_writer_free(&w);
	if (rc != 1) {
		*cause = xasprintf("cannot send to cmld: %s",
		    rc == 0 ? "connection stalled" : strerror(errno));
		return -1;
	}
	return 0;
}

int
proto_recv(int fd, struct proto_reader *r, struct json_object **msg,
    char **cause)
{
	ssize_t n;
	int rc;

	for (;;) {
		rc = proto_reader_next(r, msg, cause);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
		n = proto_reader_fill(r, fd);
		if (n == 0) {
			*cause = xstrdup("cmld closed the connection");
			return -1;
		}
		if (n == -1) {
			*cause = xasprintf("cannot read from cmld: %s",
			    strerror(errno));
			return -1;
		}
	}
}
