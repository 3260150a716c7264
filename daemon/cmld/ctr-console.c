/*
 * The console of a container's init and the log of what it printed.  At
 * each start cmld opens a pseudo-terminal: its slave is init's stdin,
 * stdout and stderr (not its controlling terminal), its master is read by
 * cmld's loop, never blocking, into a ring of the last CTR_CONSOLE_RING
 * bytes, kept after init's end until the next start.  A follower (logs
 * --follow) gets what comes as streamed replies, paced by the server's
 * back-pressure (call_congested): a follower that falls more than the ring
 * behind is told how many bytes it missed, and init is never held up by
 * it.  An attached console gets a pipe cmld writes to without blocking (a
 * full pipe waits for it, with the same rule) and a descriptor of the
 * master to type into; cmld never reads what is typed.
 * (OS 01: the containers' consoles; CR 7.1: no client holds up cmld.)
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctr.h"
#include "ctx.h"
#include "handlers.h"
#include "log.h"
#include "xmalloc.h"

/* Bytes read from the master per event, and per streamed reply. */
#define CTR_CONSOLE_CHUNK 16384

/* One reader of the log: a logs --follow or an attached console. */
struct ctr_follow {
	TAILQ_ENTRY(ctr_follow) entry;
	struct ctr_console *con;
	struct call *call;
	struct loop_watch pw; /* the console's pipe */
	int pipe; /* console: the write end of its output pipe; -1 */
	unsigned long long pos; /* the next byte it gets */
};

/* The console of one container, kept from one start to the next. */
struct ctr_console {
	struct loop_watch mw;
	struct cmld *cmld;
	int master; /* -1 once init and all it started closed the slave */
	char ring[CTR_CONSOLE_RING];
	unsigned long long end; /* bytes written since the start */
	TAILQ_HEAD(, ctr_follow) follows;
};

static void ctr_follow_push(struct ctr_follow *);

/* Returns bytes as a base64 string. */
static struct json_object *
ctr_console_base64(const unsigned char *b, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct json_object *o;
	char *s = xmalloc((len + 2) / 3 * 4 + 1), *p = s;
	size_t i;
	unsigned int v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned int)b[i] << 16 | (unsigned int)b[i + 1] << 8 |
		    b[i + 2];
		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = tab[(v >> 6) & 63];
		*p++ = tab[v & 63];
	}
	if (i < len) {
		v = (unsigned int)b[i] << 16;
		if (i + 1 < len)
			v |= (unsigned int)b[i + 1] << 8;
		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* Returns the oldest byte the ring still holds. */
static unsigned long long
ctr_console_start_pos(const struct ctr_console *con)
{
	return con->end > CTR_CONSOLE_RING ? con->end - CTR_CONSOLE_RING : 0;
}

/*
 * Copies up to max bytes of the ring from *pos on to buf (moving *pos
 * past bytes the ring lost, counted in *lost); returns how many.
 */
static size_t
ctr_console_copy(const struct ctr_console *con, unsigned long long *pos,
    unsigned char *buf, size_t max, unsigned long long *lost)
{
	unsigned long long start = ctr_console_start_pos(con);
	size_t n = 0, off, take;

	if (*pos < start) {
		*lost += start - *pos;
		*pos = start;
	}
	while (n < max && *pos < con->end) {
		off = (size_t)(*pos % CTR_CONSOLE_RING);
		take = CTR_CONSOLE_RING - off;
		if (take > max - n)
			take = max - n;
		if (take > con->end - *pos)
			take = (size_t)(con->end - *pos);
		memcpy(buf + n, con->ring + off, take);
		n += take;
		*pos += take;
	}
	return n;
}

/* Ends a follower: its call is answered (the client may be gone). */
static void
ctr_follow_end(struct ctr_follow *f, const char *why)
{
	struct json_object *o = json_object_new_object();
	struct call *call = f->call;

	TAILQ_REMOVE(&f->con->follows, f, entry);
	call->on_drain = NULL;
	if (f->pipe != -1) {
		loop_watch_del(f->con->cmld->loop, &f->pw);
		close(f->pipe);
	}
	json_object_object_add(o, "end", json_object_new_string(why));
	call_set_details(call, "%s", why);
	call_reply(call, o);
	free(f);
}

/* The client drained its replies, or left. */
static void
ctr_follow_drained(struct call *call)
{
	struct ctr_follow *f = call->drain_arg;

	if (call->client == NULL)
		ctr_follow_end(f, "the caller left");
	else
		ctr_follow_push(f);
}

/* The console's pipe takes more, or its reader left. */
static void
ctr_follow_pipe_event(struct loop_watch *w, unsigned int events)
{
	struct ctr_follow *f = w->arg;

	if (events & (EPOLLERR | EPOLLHUP)) {
		ctr_follow_end(f, "detached");
		return;
	}
	ctr_follow_push(f);
}

/*
 * Gives a follower what it has not had yet, until its client's queue or
 * pipe is full; then it waits for them (on_drain, EPOLLOUT).
 */
static void
ctr_follow_push(struct ctr_follow *f)
{
	struct ctr_console *con = f->con;
	unsigned char buf[CTR_CONSOLE_CHUNK];
	unsigned long long lost = 0, pos;
	struct json_object *o;
	size_t n;
	ssize_t w;

	/* no call back from inside the replies sent here */
	f->call->on_drain = NULL;
	while (f->pos < con->end || lost > 0) {
		if (f->pipe == -1 && call_congested(f->call))
			break;
		pos = f->pos;
		n = ctr_console_copy(con, &pos, buf, sizeof buf, &lost);
		if (f->pipe != -1) {
			f->pos = pos - n;
			w = write(f->pipe, buf, n);
			if (w == -1 && errno == EAGAIN) {
				loop_watch_mod(con->cmld->loop, &f->pw,
				    EPOLLOUT);
				return;
			}
			if (w == -1) {
				ctr_follow_end(f, "detached");
				return;
			}
			f->pos += (unsigned long long)w;
			lost = 0; /* a terminal shows no gap notice */
			continue;
		}
		/* "\r\n" in one reply, so that a reader may make it "\n" */
		if (n > 1 && buf[n - 1] == '\r' && pos < con->end) {
			n--;
			pos--;
		}
		f->pos = pos;
		o = json_object_new_object();
		json_object_object_add(o, "log", ctr_console_base64(buf, n));
		if (lost > 0)
			json_object_object_add(o, "lost",
			    json_object_new_int64((long long)lost));
		lost = 0;
		if (call_reply_more(f->call, o) == -1) {
			ctr_follow_end(f, "the caller left");
			return;
		}
	}
	if (f->pipe != -1)
		loop_watch_mod(con->cmld->loop, &f->pw, 0);
	f->call->on_drain = ctr_follow_drained;
	f->call->drain_arg = f;
}

/* Closes the master: init and all it started are gone. */
static void
ctr_console_close(struct ctr_console *con, const char *why)
{
	struct ctr_follow *f;

	if (con->master != -1) {
		loop_watch_del(con->cmld->loop, &con->mw);
		close(con->master);
		con->master = -1;
	}
	while ((f = TAILQ_FIRST(&con->follows)) != NULL) {
		/* what is left in the ring first, where the client takes it */
		if (f->pipe != -1 || !call_congested(f->call))
			ctr_follow_push(f);
		if (TAILQ_FIRST(&con->follows) == f)
			ctr_follow_end(f, why);
	}
}

/* Init printed something: into the ring, then to the followers. */
static void
ctr_console_event(struct loop_watch *w, unsigned int events)
{
	struct ctr_console *con = w->arg;
	struct ctr_follow *f, *next;
	char buf[CTR_CONSOLE_CHUNK];
	size_t off, take, done, total = 0;
	ssize_t n;
	int avail;

	/*
	 * A pty gives what was written, often a line per read: up to a
	 * ring's worth is taken per event, so that followers get it in
	 * replies of some size.  An attached console holds this open file
	 * too and may clear O_NONBLOCK on it: only what is there is read.
	 */
	while (total < CTR_CONSOLE_RING) {
		if (ioctl(con->master, FIONREAD, &avail) == -1)
			avail = 0;
		if (avail <= 0) {
			/* the last holder of the slave closed it */
			if (events & (EPOLLHUP | EPOLLERR)) {
				ctr_console_close(con, "init ended");
				return;
			}
			break;
		}
		n = read(con->master, buf, (size_t)avail < sizeof buf ?
		    (size_t)avail : sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* EIO: the last holder of the slave closed it */
			ctr_console_close(con, "init ended");
			return;
		}
		for (done = 0; done < (size_t)n; done += take) {
			off = (size_t)(con->end % CTR_CONSOLE_RING);
			take = CTR_CONSOLE_RING - off;
			if (take > (size_t)n - done)
				take = (size_t)n - done;
			memcpy(con->ring + off, buf + done, take);
			con->end += take;
		}
		total += (size_t)n;
	}
	if (total == 0)
		return;
	for (f = TAILQ_FIRST(&con->follows); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		ctr_follow_push(f);
	}
}

int
ctr_console_open(struct ctr *k)
{
	struct ctr_console *con = k->console;
	int master, slave, unlock = 0;

	if (con == NULL) {
		con = k->console = xcalloc(1, sizeof *con);
		k->console_free = ctr_console_free;
		con->cmld = k->cmld;
		con->master = -1;
		TAILQ_INIT(&con->follows);
	}
	ctr_console_close(con, "the container starts again");
	con->end = 0;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (master == -1 || ioctl(master, TIOCSPTLCK, &unlock) == -1 ||
	    (slave = ioctl(master, TIOCGPTPEER,
	    O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		log_warn("container %s: no console", k->name);
		if (master != -1)
			close(master);
		return -1;
	}
	if (loop_watch_add(k->cmld->loop, &con->mw, master, EPOLLIN,
	    ctr_console_event, con) == -1)
		fatal("epoll_ctl");
	con->master = master;
	return slave;
}

void
ctr_console_free(struct ctr *k)
{
	if (k->console == NULL)
		return;
	ctr_console_close(k->console, "the container was removed");
	free(k->console);
	k->console = NULL;
}

/* Finds the container a call names, or answers the call. */
static struct ctr *
ctr_console_find(struct call *call)
{
	const char *name;
	struct ctr *k;

	name = json_object_get_string(json_object_object_get(call->params,
	    "name"));
	if ((k = ctr_find(call_cmld(call), name)) == NULL)
		call_error(call, PROTO_ERR_NOT_FOUND, "name",
		    "no container '%s': 'container list' shows them", name);
	return k;
}

/* Adds a follower of k's console from the ring's pos on. */
static struct ctr_follow *
ctr_follow_add(struct ctr *k, struct call *call, unsigned long long pos,
    int pipe)
{
	struct ctr_follow *f = xcalloc(1, sizeof *f);

	f->con = k->console;
	f->call = call;
	f->pipe = pipe;
	f->pos = pos;
	TAILQ_INSERT_TAIL(&k->console->follows, f, entry);
	call_defer(call);
	/* a client that leaves is forgotten at once */
	call->on_drain = ctr_follow_drained;
	call->drain_arg = f;
	if (pipe != -1 && loop_watch_add(k->cmld->loop, &f->pw, pipe, 0,
	    ctr_follow_pipe_event, f) == -1)
		fatal("epoll_ctl");
	return f;
}

void
cmd_container_logs(struct call *call)
{
	struct json_object *o, *v;
	struct ctr_console *con;
	struct ctr *k;
	unsigned char *buf;
	unsigned long long pos = 0, lost = 0;
	size_t n;
	int follow;

	if ((k = ctr_console_find(call)) == NULL)
		return;
	follow = json_object_object_get_ex(call->params, "follow", &v) &&
	    json_object_get_boolean(v);
	if (follow && !call->more) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "follow",
		    "follow needs a streamed call (\"more\")");
		return;
	}
	con = k->console;
	call_set_details(call, "%s", k->name);
	if (follow && con != NULL && con->master != -1) {
		ctr_follow_push(ctr_follow_add(k, call,
		    ctr_console_start_pos(con), -1));
		return;
	}
	o = json_object_new_object();
	if (con != NULL) {
		buf = xmalloc(CTR_CONSOLE_RING);
		n = ctr_console_copy(con, &pos, buf, CTR_CONSOLE_RING, &lost);
		json_object_object_add(o, "log", ctr_console_base64(buf, n));
		free(buf);
	} else
		json_object_object_add(o, "log", json_object_new_string(""));
	if (follow)
		json_object_object_add(o, "end", json_object_new_string(
		    k->rt != NULL ? "no console: cmld was restarted while "
		    "the container ran" : "init ended"));
	call_reply(call, o);
}

void
cmd_container_console(struct call *call)
{
	struct json_object *o, *v;
	struct ctr_console *con;
	struct winsize ws;
	struct ctr *k;
	int p[2], in;

	if ((k = ctr_console_find(call)) == NULL)
		return;
	con = k->console;
	if (k->rt == NULL || con == NULL || con->master == -1) {
		call_error(call, PROTO_ERR_BUSY, "name", "container '%s' %s",
		    k->name, k->rt == NULL ? "is not running" :
		    "has no console: cmld was restarted while it ran (it has "
		    "one again from its next start)");
		return;
	}
	if (!call->more) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, NULL,
		    "a console needs a streamed call (\"more\"): its "
		    "descriptors come with the first reply");
		return;
	}
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    (in = fcntl(con->master, F_DUPFD_CLOEXEC, 0)) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "cannot attach to the "
		    "console of container '%s': %s", k->name,
		    strerror(errno));
		return;
	}
	memset(&ws, 0, sizeof ws);
	if (json_object_object_get_ex(call->params, "rows", &v))
		ws.ws_row = (unsigned short)json_object_get_int(v);
	if (json_object_object_get_ex(call->params, "cols", &v))
		ws.ws_col = (unsigned short)json_object_get_int(v);
	if (ws.ws_row > 0 && ws.ws_col > 0)
		(void)ioctl(con->master, TIOCSWINSZ, &ws);
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	call_set_details(call, "%s", k->name);
	/* what init prints from now on; the log has what came before */
	ctr_follow_add(k, call, con->end, p[1]);
	o = json_object_new_object();
	json_object_object_add(o, "output", json_object_new_int(0));
	json_object_object_add(o, "input", json_object_new_int(1));
	(void)call_reply_more_fds(call, o, (int[]){ p[0], in }, 2);
}
