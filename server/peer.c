/*
 * The client side of calls between cml daemons: one non-blocking
 * connection per peer, calls matched to replies by their order, a bound
 * on calls in flight, a deadline on the call the peer works on, and every
 * call answered exactly once, by the peer or by a failure naming it.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "proto.h"
#include "xmalloc.h"

/* A call not yet finished. */
struct peer_req {
	char *method;
	int more;
	peer_reply_cb cb;
	void *arg;
	char *failure; /* why it failed, once it did */
	TAILQ_ENTRY(peer_req) entry;
};
TAILQ_HEAD(peer_req_list, peer_req);

struct peer {
	struct job job; /* first: the job is the peer */
	struct loop *loop;
	char *path;
	char *name;
	int fd; /* -1: no connection */
	int connected; /* the connect finished */
	int freeing;
	struct loop_watch w;
	struct proto_reader rd;
	struct proto_writer wr;
	/* sent or queued on the connection, oldest (the one worked on) first */
	struct peer_req_list reqs;
	/* failed: their callbacks are due, from the job */
	struct peer_req_list failed;
	size_t n; /* in both lists */
	struct loop_timer deadline; /* of the first of reqs */
	long long timeout_ms;
	unsigned long long generation; /* counts the connections made */
};

static void peer_event(struct loop_watch *, unsigned int);

/* Closes descriptors that will not be sent. */
static void
peer_close_fds(const int *fds, size_t nfds)
{
	size_t i;

	for (i = 0; i < nfds; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

/* Says how long ms is, for messages: "30 s" or "250 ms". */
static char *
peer_duration(long long ms)
{
	if (ms % 1000 == 0)
		return xasprintf("%lld s", ms / 1000);
	return xasprintf("%lld ms", ms);
}

/* Frees a finished call. */
static void
peer_req_free(struct peer_req *req)
{
	free(req->method);
	free(req->failure);
	free(req);
}

/* Calls a failed call's callback with its failure and frees it. */
static void
peer_req_fail(struct peer *p, struct peer_req *req)
{
	struct json_object *params = json_object_new_object();

	json_object_object_add(params, "message",
	    json_object_new_string(req->failure));
	p->n--;
	req->cb(req->arg, PROTO_ERR_FAILED, params, 0, NULL, 0);
	json_object_put(params);
	peer_req_free(req);
}

/* Delivers the failures due, oldest first; calls made by them wait. */
static void
peer_deliver(struct peer *p)
{
	struct peer_req_list now;
	struct peer_req *req;

	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &p->failed, entry);
	while ((req = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, req, entry);
		peer_req_fail(p, req);
	}
}

/* The job: failures reach their callbacks from the loop. */
static int
peer_job_step(struct job *job)
{
	peer_deliver((struct peer *)job);
	return JOB_DONE;
}

/* At shutdown the failures are told at once. */
static void
peer_job_cancel(struct job *job)
{
	peer_deliver((struct peer *)job);
}

/* Marks req failed with msg (taken over); its callback comes from the job. */
static void
peer_req_failed(struct peer *p, struct peer_req *req, char *msg)
{
	req->failure = msg;
	TAILQ_INSERT_TAIL(&p->failed, req, entry);
	loop_job_add(p->loop, &p->job);
}

/* Starts the deadline of the call the peer works on now, if any. */
static void
peer_arm(struct peer *p)
{
	if (TAILQ_EMPTY(&p->reqs))
		loop_timer_disarm(&p->deadline);
	else if (loop_timer_start(p->loop, &p->deadline, p->timeout_ms) == -1)
		log_warn("%s: cannot arm a call's deadline", p->name);
}

/*
 * Gives up the connection: every call on it fails with "NAME is not
 * reachable: " and why; they are told from the loop.
 */
static void __attribute__((format(printf, 2, 3)))
peer_lost(struct peer *p, const char *fmt, ...)
{
	struct peer_req *req;
	va_list ap;
	char *why;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	while ((req = TAILQ_FIRST(&p->reqs)) != NULL) {
		TAILQ_REMOVE(&p->reqs, req, entry);
		peer_req_failed(p, req, xasprintf("%s is not reachable: %s",
		    p->name, why));
	}
	free(why);
	loop_timer_stop(p->loop, &p->deadline);
	if (p->fd != -1) {
		loop_watch_del(p->loop, &p->w);
		close(p->fd);
		p->fd = -1;
	}
	p->connected = 0;
	proto_reader_free(&p->rd);
	proto_writer_free(&p->wr);
}

/* Fails the call the peer works on for taking too long, and gives up. */
static void
peer_timeout(struct loop_timer *t)
{
	struct peer *p = t->arg;
	struct peer_req *req = TAILQ_FIRST(&p->reqs);
	char *d;

	if (req == NULL)
		return;
	d = peer_duration(p->timeout_ms);
	TAILQ_REMOVE(&p->reqs, req, entry);
	peer_req_failed(p, req, xasprintf("%s did not answer %s within %s",
	    p->name, req->method, d));
	/* Its answer may still come: the connection cannot be trusted. */
	peer_lost(p, "the connection was closed after %s got no answer "
	    "within %s", req->method, d);
	free(d);
}

/* Registers what the connection waits for now. */
static void
peer_watch(struct peer *p)
{
	unsigned int ev = EPOLLIN;

	if (!p->connected || proto_writer_pending(&p->wr) > 0)
		ev |= EPOLLOUT;
	loop_watch_mod(p->loop, &p->w, ev);
}

/* Starts connecting; -1 with *cause set if that failed already. */
static int
peer_connect(struct peer *p, char **cause)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(p->path) >= sizeof sun.sun_path) {
		*cause = xasprintf("%s is not reachable: the socket path %s is "
		    "too long", p->name, p->path);
		return -1;
	}
	memcpy(sun.sun_path, p->path, strlen(p->path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*cause = xasprintf("%s is not reachable: socket: %s", p->name,
		    strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
		p->connected = 1;
	else if (errno == EINPROGRESS)
		p->connected = 0;
	else {
		/* EAGAIN: its listen queue is full, it does not accept */
		*cause = xasprintf("%s is not reachable: cannot connect to "
		    "%s: %s", p->name, p->path, strerror(errno));
		close(fd);
		return -1;
	}
	if (loop_watch_add(p->loop, &p->w, fd, EPOLLIN | EPOLLOUT, peer_event,
	    p) == -1) {
		*cause = xasprintf("%s is not reachable: epoll: %s", p->name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	p->fd = fd;
	p->generation++;
	return 0;
}

/*
 * Hands the replies read to their calls' callbacks; returns -1 if the
 * connection was given up.
 */
static int
peer_dispatch(struct peer *p)
{
	struct json_object *msg;
	struct proto_reply r;
	struct peer_req *req;
	int fds[PROTO_MAX_FDS];
	size_t nfds;
	char *cause = NULL;
	int rc = 0, more;

	while (p->fd != -1 &&
	    (rc = proto_reader_next(&p->rd, &msg, &cause)) == 1) {
		req = TAILQ_FIRST(&p->reqs);
		if (proto_reply_parse(msg, &r, &cause) == -1 || req == NULL ||
		    (r.continues && !req->more && r.error == NULL)) {
			json_object_put(msg);
			if (cause == NULL)
				cause = xstrdup(req == NULL ?
				    "a reply to no call" :
				    "\"continues\" without \"more\"");
			peer_lost(p, "it sent a bad reply: %s", cause);
			free(cause);
			return -1;
		}
		nfds = proto_reader_take_fds(&p->rd, fds, PROTO_MAX_FDS);
		if (nfds > PROTO_MAX_FDS)
			nfds = PROTO_MAX_FDS;
		more = r.continues && r.error == NULL;
		if (!more) {
			TAILQ_REMOVE(&p->reqs, req, entry);
			p->n--;
		}
		/* the peer works on the next call now, or on this one still */
		peer_arm(p);
		req->cb(req->arg, r.error, r.params, more, fds, nfds);
		peer_close_fds(fds, nfds);
		json_object_put(msg);
		if (!more)
			peer_req_free(req);
	}
	if (p->fd != -1 && rc == -1) {
		peer_lost(p, "it sent a malformed message: %s", cause);
		free(cause);
		return -1;
	}
	return p->fd == -1 ? -1 : 0;
}

/* Handles readiness of the connection. */
static void
peer_event(struct loop_watch *w, unsigned int events)
{
	struct peer *p = w->arg;
	socklen_t len = sizeof(int);
	ssize_t n;
	int err = 0;

	if (!p->connected) {
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			peer_lost(p, "cannot connect to %s: %s", p->path,
			    strerror(err));
			return;
		}
		p->connected = 1;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = proto_reader_fill(&p->rd, p->fd);
		if (n == 0) {
			peer_lost(p, "it closed the connection");
			return;
		}
		if (n == -1 && errno != EAGAIN) {
			peer_lost(p, "cannot read: %s", strerror(errno));
			return;
		}
		if (n > 0 && peer_dispatch(p) == -1)
			return;
	}
	if (proto_writer_pending(&p->wr) > 0 &&
	    proto_writer_flush(&p->wr, p->fd) == -1) {
		peer_lost(p, "cannot send: %s", strerror(errno));
		return;
	}
	peer_watch(p);
}

struct peer *
peer_new(struct loop *loop, const char *sock_path, const char *name)
{
	struct peer *p = xcalloc(1, sizeof *p);

	p->loop = loop;
	p->path = xstrdup(sock_path);
	p->name = xstrdup(name);
	p->fd = -1;
	p->timeout_ms = PEER_TIMEOUT_MS;
	proto_reader_init(&p->rd);
	proto_writer_init(&p->wr);
	TAILQ_INIT(&p->reqs);
	TAILQ_INIT(&p->failed);
	loop_timer_init(&p->deadline, peer_timeout, p);
	p->job.step = peer_job_step;
	p->job.cancel = peer_job_cancel;
	return p;
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	p->freeing = 1;
	peer_lost(p, "the connection was closed before the answer came");
	loop_job_remove(p->loop, &p->job);
	peer_deliver(p);
	free(p->path);
	free(p->name);
	free(p);
}

void
peer_set_timeout(struct peer *p, long long ms)
{
	p->timeout_ms = ms > 0 ? ms : PEER_TIMEOUT_MS;
}

size_t
peer_pending(const struct peer *p)
{
	return p->n;
}

unsigned long long
peer_connection(const struct peer *p)
{
	return p->fd != -1 && p->connected ? p->generation : 0;
}

int
peer_call(struct peer *p, const char *method, struct json_object *params,
    const int *fds, size_t nfds, int more, peer_reply_cb cb, void *arg)
{
	struct json_object *msg;
	struct peer_req *req;
	char *cause = NULL;

	if (p->freeing || p->n >= PEER_MAX_CALLS) {
		json_object_put(params);
		peer_close_fds(fds, nfds);
		errno = p->freeing ? ESHUTDOWN : EAGAIN;
		return -1;
	}
	req = xcalloc(1, sizeof *req);
	req->method = xstrdup(method);
	req->more = more != 0;
	req->cb = cb;
	req->arg = arg;
	msg = proto_call_new(method, params, req->more);
	if (p->fd == -1 && peer_connect(p, &cause) == -1) {
		json_object_put(msg);
		peer_close_fds(fds, nfds);
		p->n++;
		peer_req_failed(p, req, cause);
		return 0;
	}
	if (proto_writer_queue_fds(&p->wr, msg, fds, nfds) == -1) {
		json_object_put(msg);
		peer_req_free(req);
		errno = EMSGSIZE;
		return -1;
	}
	json_object_put(msg);
	TAILQ_INSERT_TAIL(&p->reqs, req, entry);
	p->n++;
	if (TAILQ_FIRST(&p->reqs) == req)
		peer_arm(p);
	/* written from the loop: a callback calling here is never reentered */
	peer_watch(p);
	return 0;
}
