/*
 * The server side of every cml daemon: connections, framing, caller
 * identity, connection limits, the central policy hook, dispatch to the
 * handlers by command id, streams with back-pressure.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "jsonstrict.h"
#include "log.h"
#include "server.h"
#include "xmalloc.h"

#define SRV_MAX_GROUPS 256
/* Longest method or parameter name quoted back. */
#define SRV_NAME_MAX 128
/* Refusals of one kind a client may cause before they go unrecorded. */
#define SRV_REFUSAL_BURST 20
#define SRV_REFUSAL_PER_S 5

/* One connection. */
struct srv_client {
	struct loop_watch w;
	struct srv *srv;
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char comm[16]; /* the peer's command name when it connected */
	enum srv_role role;
	int closing; /* close once the queued replies are written */
	struct call *pending; /* a deferred call still running */
	struct proto_reader rd;
	struct proto_writer wr;
	long long active_ms; /* last time it sent or got something */
	/* the refusal limit: a token bucket for refusals like the last */
	char *refusal_key;
	double refusal_tokens;
	long long refusal_ms;
	unsigned long long refusals_dropped;
	TAILQ_ENTRY(srv_client) entry;
};
TAILQ_HEAD(srv_client_list, srv_client);

struct srv {
	const struct srv_config *cfg;
	struct loop *loop;
	struct loop_watch lw;
	int lfd;
	struct srv_client_list clients; /* least recently active first */
	size_t nclients;
	struct srv_limits lim;
	struct loop_timer idle;
};

static void srv_client_close(struct srv_client *);
static void srv_client_kick(struct srv_client *);
static void srv_client_event(struct loop_watch *, unsigned int);

/*
 * Looks a group up in /etc/group.  The appliance's roles are local groups;
 * reading the file directly keeps NSS modules out of the daemons.  Returns
 * 0 with *gid set, or -1 if there is no such group.
 */
static int
srv_group_gid(const char *name, gid_t *gid)
{
	struct group *gr;
	FILE *f;
	int rc = -1;

	if (name == NULL || (f = fopen("/etc/group", "re")) == NULL)
		return -1;
	while ((gr = fgetgrent(f)) != NULL) {
		if (strcmp(gr->gr_name, name) == 0) {
			*gid = gr->gr_gid;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

call_handler
srv_handler(const struct srv_config *cfg, const struct cmd_entry *cmd)
{
	if (cmd == NULL || cmd->id <= CMD_ID_NONE ||
	    (size_t)cmd->id >= cfg->nhandlers)
		return NULL;
	return cfg->handlers[cmd->id];
}

const char *
srv_role_name(enum srv_role role)
{
	switch (role) {
	case SRV_ROLE_ADMIN:
		return "admin";
	case SRV_ROLE_OPERATOR:
		return "operator";
	default:
		return "none";
	}
}

/* Fills in the defaults of the limits. */
static void
srv_limits_fix(struct srv_limits *l)
{
	if (l->max_clients <= 0)
		l->max_clients = 64;
	if (l->admin_reserve <= 0)
		l->admin_reserve = l->max_clients / 8 > 0 ?
		    l->max_clients / 8 : 1;
	if (l->admin_reserve >= l->max_clients)
		l->admin_reserve = l->max_clients - 1;
	if (l->per_uid <= 0)
		l->per_uid = l->max_clients / 4 > 0 ? l->max_clients / 4 : 1;
	if (l->idle_ms <= 0)
		l->idle_ms = 300 * 1000;
}

void
srv_set_limits(struct srv *srv, const struct srv_limits *limits)
{
	srv->lim = *limits;
	srv_limits_fix(&srv->lim);
}

size_t
srv_nclients(const struct srv *srv)
{
	return srv->nclients;
}

/* Opens the listening socket; exits on failure. */
static int
srv_listen(const struct srv_config *cfg)
{
	struct sockaddr_un sun;
	gid_t gid;
	mode_t old;
	int fd, probe;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(cfg->sock_path) >= sizeof sun.sun_path)
		fatalx("socket path %s is too long", cfg->sock_path);
	strncpy(sun.sun_path, cfg->sock_path, sizeof sun.sun_path - 1);

	/* A socket file that accepts belongs to a running daemon. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
	    sizeof sun) == 0)
		fatalx("another %s is already serving %s", cfg->name,
		    cfg->sock_path);
	if (probe != -1)
		close(probe);
	if (unlink(cfg->sock_path) == -1 && errno != ENOENT)
		fatal("cannot remove stale socket %s", cfg->sock_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		fatal("cannot bind %s", cfg->sock_path);
	umask(old);
	if (cfg->operator_group != NULL) {
		if (srv_group_gid(cfg->operator_group, &gid) == 0) {
			if (chown(cfg->sock_path, 0, gid) == -1)
				fatal("cannot give %s to group %s",
				    cfg->sock_path, cfg->operator_group);
			if (chmod(cfg->sock_path, 0660) == -1)
				fatal("chmod %s", cfg->sock_path);
		} else
			log_info("group %s does not exist: only root can use "
			    "%s", cfg->operator_group, cfg->sock_path);
	}
	if (listen(fd, 128) == -1)
		fatal("listen on %s", cfg->sock_path);
	return fd;
}

/* Registers what a client's connection waits for now. */
static void
srv_client_watch(struct srv_client *c)
{
	unsigned int ev = 0;

	/*
	 * Nothing more is read while a call runs, output is backed up or a
	 * whole message waits: a client cannot make the daemon buffer
	 * without bound.
	 */
	if (!c->closing && c->pending == NULL &&
	    proto_writer_pending(&c->wr) < SRV_OUT_HIGH &&
	    proto_reader_unparsed(&c->rd) < PROTO_MAX_MSG + 1)
		ev |= EPOLLIN;
	if (proto_writer_pending(&c->wr) > 0)
		ev |= EPOLLOUT;
	loop_watch_mod(c->srv->loop, &c->w, ev);
}

/* Decides the caller's role from its uid and groups. */
static enum srv_role
srv_role(const struct srv_config *cfg, int fd, const struct ucred *cred)
{
	gid_t groups[SRV_MAX_GROUPS];
	socklen_t len = sizeof groups;
	gid_t admin = (gid_t)-1, oper = (gid_t)-1;
	size_t i, n = 0;
	int is_oper = 0, have_admin, have_oper;

	if (cred->uid == 0)
		return SRV_ROLE_ADMIN;
	have_admin = srv_group_gid(cfg->admin_group, &admin) == 0;
	have_oper = srv_group_gid(cfg->operator_group, &oper) == 0;
	if (!have_admin && !have_oper)
		return SRV_ROLE_NONE;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		n = len / sizeof groups[0];
	else
		log_warn("SO_PEERGROUPS of pid %ld", (long)cred->pid);
	if (have_admin && cred->gid == admin)
		return SRV_ROLE_ADMIN;
	if (have_oper && cred->gid == oper)
		is_oper = 1;
	for (i = 0; i < n; i++) {
		if (have_admin && groups[i] == admin)
			return SRV_ROLE_ADMIN;
		if (have_oper && groups[i] == oper)
			is_oper = 1;
	}
	return is_oper ? SRV_ROLE_OPERATOR : SRV_ROLE_NONE;
}

/* Reports an event of a connection to the daemon (its audit). */
static void
srv_session(struct srv_client *c, const char *object, const char *error,
    const char *msg)
{
	const struct srv_config *cfg = c->srv->cfg;

	if (cfg->session != NULL)
		cfg->session(cfg->ctx, c->uid, c->pid, object, error, msg);
}

/*
 * Queues a message for c with descriptors (taken over); a reply too large
 * becomes an error.  Returns 0, or -1 if msg was replaced by that error.
 */
static int
srv_queue_fds(struct srv_client *c, struct json_object *msg, const int *fds,
    size_t nfds)
{
	struct json_object *err;
	int rc = 0;

	if (proto_writer_queue_fds(&c->wr, msg, fds, nfds) == -1) {
		err = proto_error_new(PROTO_ERR_FAILED, NULL,
		    "the reply is larger than %d bytes; ask for less",
		    PROTO_MAX_MSG);
		if (proto_writer_queue(&c->wr, err) == -1)
			fatalx("cannot queue an error reply");
		json_object_put(err);
		rc = -1;
	}
	json_object_put(msg);
	c->active_ms = loop_now_ms();
	return rc;
}

/* Queues a message for c. */
static int
srv_queue(struct srv_client *c, struct json_object *msg)
{
	return srv_queue_fds(c, msg, NULL, 0);
}

/* Refuses a connection with an error and closes it. */
static void
srv_refuse(struct srv_client *c, const char *error, const char *msg)
{
	(void)srv_queue(c, proto_error_new(error, NULL, "%s", msg));
	(void)proto_writer_flush(&c->wr, c->fd);
	srv_session(c, "connect", error, msg);
	srv_client_close(c);
}

/* Counts the connections of uid. */
static long long
srv_count_uid(struct srv *srv, uid_t uid)
{
	struct srv_client *c;
	long long n = 0;

	TAILQ_FOREACH(c, &srv->clients, entry)
		if (c->uid == uid)
			n++;
	return n;
}

/*
 * Applies the connection limits to a new client (already counted):
 * returns NULL, or why it is refused (free it).
 */
static char *
srv_over_limit(struct srv *srv, struct srv_client *c)
{
	long long n = (long long)srv->nclients;

	if (n > srv->lim.max_clients)
		return xasprintf("too many connections (max_clients is %lld): "
		    "try again later", srv->lim.max_clients);
	if (c->role == SRV_ROLE_ADMIN)
		return NULL;
	if (n > srv->lim.max_clients - srv->lim.admin_reserve)
		return xasprintf("too many connections: the last %lld of "
		    "%lld are kept for admins; try again later",
		    srv->lim.admin_reserve, srv->lim.max_clients);
	if (srv_count_uid(srv, c->uid) > srv->lim.per_uid)
		return xasprintf("too many connections from uid %u (at most "
		    "%lld): close some and try again", (unsigned)c->uid,
		    srv->lim.per_uid);
	return NULL;
}

/* Arms the idle timer for the least recently active client. */
static void
srv_idle_arm(struct srv *srv)
{
	struct srv_client *c = TAILQ_FIRST(&srv->clients);
	long long due;

	if (c == NULL) {
		loop_timer_stop(srv->loop, &srv->idle);
		return;
	}
	due = c->active_ms + srv->lim.idle_ms - loop_now_ms();
	if (loop_timer_start(srv->loop, &srv->idle, due) == -1)
		log_warn("cannot arm the idle timer");
}

/*
 * Marks c active now: it moves to the end of the idle order.  The timer
 * is not moved: when it fires early it looks again and re-arms, which
 * costs less than a timerfd_settime(2) per call.
 */
static void
srv_client_touch(struct srv_client *c)
{
	struct srv *srv = c->srv;

	c->active_ms = loop_now_ms();
	if (TAILQ_NEXT(c, entry) != NULL) {
		TAILQ_REMOVE(&srv->clients, c, entry);
		TAILQ_INSERT_TAIL(&srv->clients, c, entry);
	}
	if (!loop_timer_armed(&srv->idle))
		srv_idle_arm(srv);
}

/* Closes connections idle for too long; one with work going on stays. */
static void
srv_idle_fire(struct loop_timer *t)
{
	struct srv *srv = t->arg;
	struct srv_client *c, *next;
	long long now = loop_now_ms();
	char *msg;

	for (c = TAILQ_FIRST(&srv->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->active_ms + srv->lim.idle_ms > now)
			break;
		if (c->pending != NULL || proto_writer_pending(&c->wr) > 0) {
			/* busy: idle time counts from now */
			c->active_ms = now;
			TAILQ_REMOVE(&srv->clients, c, entry);
			TAILQ_INSERT_TAIL(&srv->clients, c, entry);
			continue;
		}
		msg = xasprintf("closed after %lld s without a call",
		    srv->lim.idle_ms / 1000);
		log_info("uid %u pid %ld: %s", (unsigned)c->uid, (long)c->pid,
		    msg);
		srv_session(c, "idle", "ok", msg);
		free(msg);
		srv_client_close(c);
	}
	srv_idle_arm(srv);
}

/* Accepts waiting connections. */
static void
srv_accept(struct loop_watch *w, unsigned int events)
{
	struct srv *srv = w->arg;
	struct ucred cred;
	socklen_t len;
	struct srv_client *c;
	char *msg;
	int fd;

	(void)events;
	for (;;) {
		fd = accept4(srv->lfd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept");
				return;
			}
			if (errno == ECONNABORTED)
				continue;
			fatal("accept");
		}
		len = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ==
		    -1) {
			log_warn("SO_PEERCRED");
			close(fd);
			continue;
		}
		c = xcalloc(1, sizeof *c);
		c->srv = srv;
		c->fd = fd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		/* read once: the audit records of every call name it */
		file_proc_comm((long long)cred.pid, c->comm, sizeof c->comm);
		c->refusal_tokens = SRV_REFUSAL_BURST;
		c->active_ms = loop_now_ms();
		proto_reader_init(&c->rd);
		proto_writer_init(&c->wr);
		TAILQ_INSERT_TAIL(&srv->clients, c, entry);
		srv->nclients++;
		c->role = srv_role(srv->cfg, fd, &cred);
		if (loop_watch_add(srv->loop, &c->w, fd, EPOLLIN,
		    srv_client_event, c) == -1)
			fatal("epoll_ctl");
		if (!loop_timer_armed(&srv->idle))
			srv_idle_arm(srv);
		log_debug("connection from uid %u pid %ld (%s)",
		    (unsigned)c->uid, (long)c->pid, srv_role_name(c->role));

		if (c->role == SRV_ROLE_NONE) {
			if (srv->cfg->operator_group != NULL &&
			    srv->cfg->admin_group != NULL)
				msg = xasprintf("permission denied: uid %u is "
				    "in neither group %s nor %s",
				    (unsigned)c->uid,
				    srv->cfg->operator_group,
				    srv->cfg->admin_group);
			else if (srv->cfg->operator_group != NULL ||
			    srv->cfg->admin_group != NULL)
				msg = xasprintf("permission denied: uid %u is "
				    "not in group %s", (unsigned)c->uid,
				    srv->cfg->operator_group != NULL ?
				    srv->cfg->operator_group :
				    srv->cfg->admin_group);
			else
				msg = xasprintf("permission denied: only root "
				    "may use %s", srv->cfg->name);
			srv_refuse(c, PROTO_ERR_PERMISSION_DENIED, msg);
			free(msg);
		} else if ((msg = srv_over_limit(srv, c)) != NULL) {
			srv_refuse(c, PROTO_ERR_BUSY, msg);
			free(msg);
		}
	}
}

struct srv *
srv_new(struct loop *loop, const struct srv_config *cfg)
{
	struct srv *srv = xcalloc(1, sizeof *srv);

	srv->cfg = cfg;
	srv->loop = loop;
	TAILQ_INIT(&srv->clients);
	srv_limits_fix(&srv->lim);
	loop_timer_init(&srv->idle, srv_idle_fire, srv);
	srv->lfd = srv_listen(cfg);
	if (loop_watch_add(loop, &srv->lw, srv->lfd, EPOLLIN, srv_accept,
	    srv) == -1)
		fatal("epoll_ctl");
	return srv;
}

/* Closes the descriptors a call still holds. */
static void
srv_call_close_fds(struct call *call)
{
	size_t i;

	for (i = 0; i < call->nfds; i++)
		if (call->fds[i] != -1)
			close(call->fds[i]);
	call->nfds = 0;
}

/* Tells a call's producer that its client left or drained. */
static void
srv_call_drained(struct call *call)
{
	void (*fn)(struct call *) = call->on_drain;

	if (fn != NULL) {
		call->on_drain = NULL;
		fn(call);
	}
}

/* Frees a client and its connection; a deferred call goes on without it. */
static void
srv_client_close(struct srv_client *c)
{
	struct srv *srv = c->srv;
	struct call *call = c->pending;
	char *msg;

	if (c->refusals_dropped > 0) {
		msg = xasprintf("%llu refusals like the last recorded one "
		    "were not recorded", c->refusals_dropped);
		srv_session(c, "refusals", PROTO_ERR_BUSY, msg);
		free(msg);
	}
	TAILQ_REMOVE(&srv->clients, c, entry);
	srv->nclients--;
	loop_watch_del(srv->loop, &c->w);
	close(c->fd);
	proto_reader_free(&c->rd);
	proto_writer_free(&c->wr);
	free(c->refusal_key);
	free(c);
	if (call != NULL) {
		call->client = NULL;
		srv_call_drained(call);
	}
}

void
srv_close_clients(struct srv *srv)
{
	struct srv_client *c;

	while ((c = TAILQ_FIRST(&srv->clients)) != NULL) {
		(void)proto_writer_flush(&c->wr, c->fd);
		srv_client_close(c);
	}
}

void
srv_free(struct srv *srv)
{
	if (srv == NULL)
		return;
	srv_close_clients(srv);
	loop_timer_stop(srv->loop, &srv->idle);
	loop_watch_del(srv->loop, &srv->lw);
	close(srv->lfd);
	(void)unlink(srv->cfg->sock_path);
	free(srv);
}

/*
 * Says whether the refusal of call goes unrecorded: a client repeating
 * the same refused call faster than SRV_REFUSAL_PER_S after a burst.
 */
static int
srv_refusal_limited(struct srv_client *c, struct call *call)
{
	long long now = loop_now_ms();
	char *key;

	key = xasprintf("%s %s", call->cmd->method,
	    call->error != NULL ? call->error : "");
	if (c->refusal_key == NULL || strcmp(c->refusal_key, key) != 0) {
		free(c->refusal_key);
		c->refusal_key = key;
		c->refusal_tokens = SRV_REFUSAL_BURST;
		c->refusal_ms = now;
	} else {
		c->refusal_tokens += (double)(now - c->refusal_ms) *
		    SRV_REFUSAL_PER_S / 1000.0;
		if (c->refusal_tokens > SRV_REFUSAL_BURST)
			c->refusal_tokens = SRV_REFUSAL_BURST;
		c->refusal_ms = now;
		free(key);
	}
	if (c->refusal_tokens < 1) {
		c->refusals_dropped++;
		return 1;
	}
	c->refusal_tokens -= 1;
	call->suppressed = c->refusals_dropped;
	c->refusals_dropped = 0;
	return 0;
}

/* Reports a finished call (its audit) and frees what the call owns. */
static void
srv_call_done(struct call *call, int refused)
{
	const struct srv_config *cfg = call->srv->cfg;

	if (!refused || call->client == NULL ||
	    !srv_refusal_limited(call->client, call))
		if (cfg->done != NULL)
			cfg->done(call, refused);
	free(call->details);
	call->details = NULL;
	srv_call_close_fds(call);
	/* a PIN the call carried goes now, whatever became of the call */
	cmd_wipe_secrets(call->cmd, call->params);
}

/* Ends a deferred call: report, free, and let its client go on. */
static void
srv_call_finish_deferred(struct call *call)
{
	struct srv_client *c = call->client;

	srv_call_done(call, 0);
	json_object_put(call->params);
	if (c != NULL) {
		c->pending = NULL;
		srv_client_kick(c);
	}
	free(call);
}

void
call_defer(struct call *call)
{
	if (call->replied || call->deferred)
		fatalx("%s deferred after answering", call->cmd->method);
	call->deferred = 1;
	json_object_get(call->params);
}

void
call_reply(struct call *call, struct json_object *params)
{
	if (call->replied && !call->ended)
		fatalx("%s answered twice", call->cmd->method);
	if (call->client != NULL && !call->ended)
		(void)srv_queue(call->client, proto_reply_new(params, 0));
	else
		json_object_put(params);
	call->replied = 1;
	if (call->deferred)
		srv_call_finish_deferred(call);
}

int
call_reply_more_fds(struct call *call, struct json_object *params,
    const int *fds, size_t nfds)
{
	size_t i;

	if (call->replied && !call->ended)
		fatalx("%s answered after its last reply", call->cmd->method);
	if (!call->more || call->client == NULL || call->ended) {
		json_object_put(params);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return call->ended || call->client == NULL ? -1 : 0;
	}
	if (srv_queue_fds(call->client, proto_reply_new(params, 1), fds,
	    nfds) == -1) {
		/* The error ends the stream: nothing follows it. */
		call->ended = call->replied = 1;
		call->error = PROTO_ERR_FAILED;
	}
	if (call->deferred)
		srv_client_kick(call->client);
	return call->ended ? -1 : 0;
}

int
call_reply_more(struct call *call, struct json_object *params)
{
	return call_reply_more_fds(call, params, NULL, 0);
}

int
call_congested(const struct call *call)
{
	return call->client != NULL &&
	    proto_writer_pending(&call->client->wr) >= SRV_STREAM_HIGH;
}

/*
 * Answers a call with an error, its message and, if extra is set, its
 * members (taken over) in the error's parameters.
 */
static void
call_error_send(struct call *call, const char *error, const char *param,
    struct json_object *extra, const char *fmt, va_list ap)
{
	struct json_object *err, *p;
	char *msg, *q = NULL;

	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	if (call->replied && !call->ended)
		fatalx("%s answered twice", call->cmd->method);
	if (!call->ended)
		call->error = error;
	if (call->details == NULL)
		call->details = xstrdup(msg);
	if (param != NULL && strlen(param) > SRV_NAME_MAX)
		param = q = jsonstrict_quotes(param);
	err = proto_error_new(error, param, "%s", msg);
	free(msg);
	free(q);
	if (extra != NULL) {
		p = json_object_object_get(err, "parameters");
		json_object_object_foreach(extra, key, val)
			json_object_object_add(p, key, json_object_get(val));
		json_object_put(extra);
	}
	if (call->client != NULL && !call->ended)
		(void)srv_queue(call->client, err);
	else
		json_object_put(err);
	call->replied = 1;
	if (call->deferred)
		srv_call_finish_deferred(call);
}

void
call_error(struct call *call, const char *error, const char *param,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	call_error_send(call, error, param, NULL, fmt, ap);
	va_end(ap);
}

void
call_error_params(struct call *call, const char *error,
    struct json_object *params, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	call_error_send(call, error, NULL, params, fmt, ap);
	va_end(ap);
}

void
call_set_details(struct call *call, const char *fmt, ...)
{
	va_list ap;

	free(call->details);
	va_start(ap, fmt);
	if (vasprintf(&call->details, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
}

int
call_take_fd_at(struct call *call, long long i)
{
	int fd;

	if (i < 0 || (size_t)i >= call->nfds)
		return -1;
	fd = call->fds[i];
	call->fds[i] = -1;
	return fd;
}

int
call_take_fd(struct call *call, const char *param, const char *member)
{
	struct json_object *v;

	if (!json_object_object_get_ex(call->params, param, &v) ||
	    v == NULL || !json_object_object_get_ex(v, member, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return call_take_fd_at(call, json_object_get_int64(v));
}

_Static_assert(CMD_MAX_FDS == PROTO_MAX_FDS, "one bound on descriptors");

/* Checks that index v names a descriptor passed with the call. */
static int
srv_check_fd_index(struct call *call, const char *name,
    struct json_object *v, char **cause)
{
	long long i = json_object_get_int64(v);

	if (v == NULL || (i >= 0 && (size_t)i < call->nfds))
		return 0;
	*cause = xasprintf("'%s' names passed file %lld, but %zu were passed "
	    "with the call", name, i, call->nfds);
	return -1;
}

/* Checks that descriptor indexes name descriptors passed with the call. */
static int
srv_check_fd_params(struct call *call, const char **param, char **cause)
{
	const struct cmd_arg *a;
	struct json_object *v, *files;
	int i;

	for (i = 0; i < CMD_MAX_ARGS && call->cmd->args[i].name != NULL;
	    i++) {
		a = &call->cmd->args[i];
		*param = a->name;
		if (!json_object_object_get_ex(call->params, a->name, &v) ||
		    v == NULL)
			continue;
		if (a->type == CMD_ARG_FILE) {
			if (srv_check_fd_index(call, a->name,
			    json_object_object_get(v, "fd"), cause) == -1 ||
			    srv_check_fd_index(call, a->name,
			    json_object_object_get(v, "signature"),
			    cause) == -1)
				return -1;
		} else if (a->type == CMD_ARG_FILES) {
			files = json_object_object_get(v, "files");
			json_object_object_foreach(files, key, fv) {
				(void)key;
				if (srv_check_fd_index(call, a->name, fv,
				    cause) == -1)
					return -1;
			}
		}
	}
	*param = NULL;
	return 0;
}

int
srv_check_role(struct call *call)
{
	const struct cmd_entry *cmd = call->cmd;

	if (call->role != SRV_ROLE_ADMIN &&
	    ((cmd->flags & CMD_ADMIN) ||
	    !(cmd->flags & (CMD_READONLY | CMD_OPERATOR)))) {
		if (call->srv->cfg->admin_group != NULL)
			call_error(call, PROTO_ERR_PERMISSION_DENIED, NULL,
			    "permission denied: '%s' needs the admin role "
			    "(root or group %s)", cmd->words,
			    call->srv->cfg->admin_group);
		else
			call_error(call, PROTO_ERR_PERMISSION_DENIED, NULL,
			    "permission denied: '%s' needs root",
			    cmd->words);
		return -1;
	}
	return 0;
}

/* Says whether this server serves any method of interface iface. */
static int
srv_serves_interface(const struct srv_config *cfg, const char *iface)
{
	size_t i;
	char *mi;
	int known = 0;

	for (i = 0; i < cfg->table_len && !known; i++) {
		mi = cmd_method_interface(cfg->table[i].method);
		known = strcmp(mi, iface) == 0;
		free(mi);
	}
	return known;
}

/* Answers a call of a method this server does not serve. */
static void
srv_unknown(struct srv_client *c, const struct proto_call *pc,
    const struct cmd_entry *cmd)
{
	struct json_object *err;
	char *iface, *q;

	iface = cmd_method_interface(pc->method);
	if (cmd != NULL)
		err = proto_error_new(PROTO_ERR_METHOD_NOT_IMPLEMENTED,
		    pc->method, "'%s' is not implemented", pc->method);
	else if (!srv_serves_interface(c->srv->cfg, iface)) {
		q = jsonstrict_quotes(iface);
		err = proto_error_new(PROTO_ERR_INTERFACE_NOT_FOUND, q,
		    "no interface '%s'", q);
		free(q);
	} else {
		q = jsonstrict_quotes(pc->method);
		err = proto_error_new(PROTO_ERR_METHOD_NOT_FOUND, q,
		    "no method '%s'", q);
		free(q);
	}
	free(iface);
	if (!pc->oneway)
		(void)srv_queue(c, err);
	else
		json_object_put(err);
	log_debug("uid %u called a method not served here", (unsigned)c->uid);
}

/* Runs one call: lookup, parameter and policy checks, handler, report. */
static void
srv_dispatch(struct srv_client *c, struct json_object *msg)
{
	struct srv *srv = c->srv;
	const struct srv_config *cfg = srv->cfg;
	struct proto_call pc;
	struct call *call;
	call_handler fn;
	const struct cmd_entry *cmd;
	const char *param = NULL;
	char *cause = NULL;
	int refused = 0;

	if (proto_call_parse(msg, &pc, &cause) == -1) {
		(void)srv_queue(c, proto_error_new(PROTO_ERR_PROTOCOL, NULL,
		    "malformed call: %s", cause));
		srv_session(c, "message", PROTO_ERR_PROTOCOL, cause);
		free(cause);
		c->closing = 1;
		return;
	}

	cmd = cmd_find_method_in(cfg->table, cfg->table_len, pc.method);
	fn = srv_handler(cfg, cmd);
	if (cmd == NULL || fn == NULL) {
		srv_unknown(c, &pc, cmd);
		return;
	}

	call = xcalloc(1, sizeof *call);
	call->srv = srv;
	call->ctx = cfg->ctx;
	call->client = pc.oneway ? NULL : c;
	call->uid = c->uid;
	call->pid = c->pid;
	memcpy(call->comm, c->comm, sizeof call->comm);
	call->role = c->role;
	call->cmd = cmd;
	call->params = pc.params;
	call->more = pc.more && (cmd->flags & CMD_STREAMS);
	call->nfds = proto_reader_take_fds(&c->rd, call->fds, PROTO_MAX_FDS);
	if (cmd_check_params(cmd, pc.params, &param, &cause) == -1 ||
	    srv_check_fd_params(call, &param, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_PARAMETER, param, "%s",
		    cause);
		free(cause);
		refused = 1;
	} else if (srv_check_role(call) == -1 ||
	    (cfg->policy != NULL && cfg->policy(call) == -1)) {
		refused = 1;
	} else {
		fn(call);
		if (call->deferred) {
			/* A job answers it later; the client waits for that. */
			if (call->replied)
				fatalx("%s answered a deferred call in its "
				    "handler", pc.method);
			if (call->client != NULL)
				c->pending = call;
			return;
		}
		if (!call->replied)
			fatalx("%s returned without answering", pc.method);
	}
	srv_call_done(call, refused);
	free(call);
}

/*
 * Parses and runs every complete message c has sent; returns 1 if it
 * stopped because too much output waits for the client.
 */
static int
srv_client_process(struct srv_client *c)
{
	struct json_object *msg;
	char *cause = NULL;
	int rc;

	while (!c->closing && c->pending == NULL) {
		if (proto_writer_pending(&c->wr) >= SRV_OUT_HIGH)
			return 1;
		rc = proto_reader_next(&c->rd, &msg, &cause);
		if (rc == 0)
			break;
		if (rc == -1) {
			(void)srv_queue(c, proto_error_new(PROTO_ERR_PROTOCOL,
			    NULL, "malformed message: %s", cause));
			srv_session(c, "message", PROTO_ERR_PROTOCOL, cause);
			log_info("closing uid %u pid %ld: %s",
			    (unsigned)c->uid, (long)c->pid, cause);
			free(cause);
			c->closing = 1;
			break;
		}
		srv_dispatch(c, msg);
		json_object_put(msg);
	}
	return 0;
}

/*
 * Writes what is queued, runs waiting calls, tells a stream's producer
 * when the queue drained, and updates the epoll interest.  Returns -1 if
 * the client was closed.
 */
static int
srv_client_pump(struct srv_client *c)
{
	const struct srv_config *cfg = c->srv->cfg;
	int rc, stalled = 0;

	for (;;) {
		if (c->pending == NULL)
			stalled = srv_client_process(c);
		if (cfg->barrier != NULL && proto_writer_pending(&c->wr) > 0)
			cfg->barrier(cfg->ctx);
		rc = proto_writer_flush(&c->wr, c->fd);
		if (rc == -1 || (rc == 1 && c->closing)) {
			srv_client_close(c);
			return -1;
		}
		if (rc == 0 || !stalled)
			break;
	}
	if (c->pending != NULL && c->pending->on_drain != NULL &&
	    proto_writer_pending(&c->wr) < SRV_STREAM_LOW)
		srv_call_drained(c->pending);
	srv_client_watch(c);
	return 0;
}

/* Handles readiness of a client's socket. */
static void
srv_client_event(struct loop_watch *w, unsigned int events)
{
	struct srv_client *c = w->arg;
	ssize_t n;

	if (events & EPOLLIN) {
		n = proto_reader_fill(&c->rd, c->fd);
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			if (proto_reader_pending(&c->rd))
				srv_session(c, "message", PROTO_ERR_PROTOCOL,
				    "connection closed in the middle of a "
				    "message");
			srv_client_close(c);
			return;
		}
		if (n > 0)
			srv_client_touch(c);
	} else if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLOUT)) {
		srv_client_close(c);
		return;
	}
	(void)srv_client_pump(c);
}

/*
 * Writes what is queued for c outside of its own events (replies of a
 * job), runs its waiting calls once nothing is pending.
 */
static void
srv_client_kick(struct srv_client *c)
{
	(void)srv_client_pump(c);
}
