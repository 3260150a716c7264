/*
 * Commands run in a running container: the plumbing between container
 * exec, the command's output pipes and its end, and the call that asked.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "ctr.h"
#include "ctx.h"
#include "log.h"
#include "xmalloc.h"

/* Output of an exec kept for a caller that does not stream. */
#define CTR_EXEC_KEEP (256 * 1024)
/* Bytes of output per streamed reply. */
#define CTR_EXEC_CHUNK 16384

/*
 * An exec: a command running inside a container.  A streaming caller gets
 * the read ends of its output pipes as descriptors, so the bytes reach it
 * unchanged and a caller that does not read stops the command, not cmld;
 * the last reply carries the exit status.  A caller that does not stream
 * gets the first CTR_EXEC_KEEP bytes of each, base64-encoded, with it.
 */
struct ctr_exec {
	struct loop_watch ow, ew, pw, sw;
	struct cmld *cmld;
	struct call *call;
	char *name;
	pid_t pid;
	int pidfd, out, err;
	int sig; /* reads the caller's signals for the command; -1 */
	int status; /* -1 until the command ended */
	struct ctr_exec_keep {
		char *buf;
		size_t len;
	} keep_out, keep_err;
};

/* Closes one of an exec's descriptors. */
static void
ctr_exec_close(struct ctr_exec *x, struct loop_watch *w, int *fd)
{
	if (*fd == -1)
		return;
	loop_watch_del(x->cmld->loop, w);
	close(*fd);
	*fd = -1;
}

/* Returns bytes as a base64 string. */
static struct json_object *
ctr_exec_base64(const struct ctr_exec_keep *k)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *b = (const unsigned char *)k->buf;
	struct json_object *o;
	char *s = xmalloc((k->len + 2) / 3 * 4 + 1), *p = s;
	size_t i;
	unsigned int v;

	for (i = 0; i + 2 < k->len; i += 3) {
		v = (unsigned int)b[i] << 16 | (unsigned int)b[i + 1] << 8 |
		    b[i + 2];
		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = tab[(v >> 6) & 63];
		*p++ = tab[v & 63];
	}
	if (i < k->len) {
		v = (unsigned int)b[i] << 16;
		if (i + 1 < k->len)
			v |= (unsigned int)b[i + 1] << 8;
		*p++ = tab[v >> 18];
		*p++ = tab[(v >> 12) & 63];
		*p++ = i + 1 < k->len ? tab[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* Answers an exec once its command ended and its output is drained. */
static void
ctr_exec_finish(struct ctr_exec *x)
{
	struct json_object *o;

	if (x->out != -1 || x->err != -1 || x->status == -1)
		return;
	ctr_exec_close(x, &x->sw, &x->sig);
	o = json_object_new_object();
	if (!x->call->more) {
		json_object_object_add(o, "stdout",
		    ctr_exec_base64(&x->keep_out));
		json_object_object_add(o, "stderr",
		    ctr_exec_base64(&x->keep_err));
	}
	json_object_object_add(o, "exit_status",
	    json_object_new_int(x->status));
	call_set_details(x->call, "ran in %s, exit status %d", x->name,
	    x->status);
	call_reply(x->call, o);
	free(x->keep_out.buf);
	free(x->keep_err.buf);
	free(x->name);
	free(x);
}

/* Keeps output of an exec for a caller that does not stream. */
static void
ctr_exec_read(struct ctr_exec *x, struct loop_watch *w, int *fd,
    struct ctr_exec_keep *keep)
{
	char buf[CTR_EXEC_CHUNK];
	ssize_t n;
	size_t take;

	n = read(*fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctr_exec_close(x, w, fd);
		ctr_exec_finish(x);
		return;
	}
	/* beyond the limit, output is read and dropped */
	take = x->keep_out.len + x->keep_err.len + (size_t)n > CTR_EXEC_KEEP ?
	    CTR_EXEC_KEEP - x->keep_out.len - x->keep_err.len : (size_t)n;
	if (take > 0) {
		keep->buf = xreallocarray(keep->buf, keep->len + take, 1);
		memcpy(keep->buf + keep->len, buf, take);
		keep->len += take;
	}
}

static void
ctr_exec_out_event(struct loop_watch *w, unsigned int events)
{
	struct ctr_exec *x = w->arg;

	(void)events;
	ctr_exec_read(x, w, &x->out, &x->keep_out);
}

static void
ctr_exec_err_event(struct loop_watch *w, unsigned int events)
{
	struct ctr_exec *x = w->arg;

	(void)events;
	ctr_exec_read(x, w, &x->err, &x->keep_err);
}

/*
 * The caller sent signals: each byte is one, passed to the waiting
 * process, which passes it on to the command.  Only the signals a person
 * sends from a terminal count; others are dropped.
 */
static void
ctr_exec_sig_event(struct loop_watch *w, unsigned int events)
{
	struct ctr_exec *x = w->arg;
	unsigned char buf[64];
	ssize_t n, i;

	(void)events;
	n = read(x->sig, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctr_exec_close(x, &x->sw, &x->sig);
		return;
	}
	for (i = 0; i < n; i++) {
		switch (buf[i]) {
		case SIGINT:
		case SIGQUIT:
		case SIGTERM:
		case SIGHUP:
			if (x->status == -1 && x->pidfd != -1)
				(void)syscall(SYS_pidfd_send_signal, x->pidfd,
				    (int)buf[i], NULL, 0);
			break;
		default:
			break;
		}
	}
}

/* Returns a boolean parameter of a call; absent is false. */
static int
ctr_exec_flag(struct call *call, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(call->params, name, &v) &&
	    json_object_get_boolean(v);
}

/* Returns an integer parameter of a call; absent is 0. */
static int
ctr_exec_int(struct call *call, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(call->params, name, &v) ?
	    json_object_get_int(v) : 0;
}

/* The command of an exec ended. */
static void
ctr_exec_reaped(struct loop_watch *w, unsigned int events)
{
	struct ctr_exec *x = w->arg;
	siginfo_t si;

	(void)events;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)x->pid, &si, WEXITED | WNOHANG) == -1 ||
	    si.si_pid == 0)
		return;
	x->status = si.si_code == CLD_EXITED ? si.si_status :
	    128 + si.si_status;
	ctr_exec_close(x, &x->pw, &x->pidfd);
	ctr_exec_finish(x);
}

int
ctr_exec(struct ctr *k, struct call *call, char *const argv[],
    const char **error, char **cause)
{
	struct container_exec_io io = { 0 };
	struct json_object *o;
	struct ctr_exec *x;
	struct loop *loop = k->cmld->loop;
	char *why = NULL;
	int fds[3], pass[4], sp[2] = { -1, -1 };
	size_t n = 0;

	if (k->rt == NULL || strcmp(k->state, "running") != 0) {
		*error = PROTO_ERR_BUSY;
		*cause = xasprintf("container '%s' is %s: commands run only in "
		    "a running container", k->name, k->state);
		return -1;
	}
	if (argv[0] == NULL || argv[0][0] == '\0' ||
	    (argv[0][0] != '/' && strchr(argv[0], '/') != NULL)) {
		*error = PROTO_ERR_INVALID_ARGUMENT;
		*cause = xstrdup("the command must start with an absolute path "
		    "inside the container, e.g. /bin/ps");
		return -1;
	}
	io.tty = ctr_exec_flag(call, "tty");
	io.input = ctr_exec_flag(call, "interactive");
	io.rows = (unsigned short)ctr_exec_int(call, "rows");
	io.cols = (unsigned short)ctr_exec_int(call, "cols");
	if ((io.tty || io.input || ctr_exec_flag(call, "signals")) &&
	    !call->more) {
		*error = PROTO_ERR_INVALID_ARGUMENT;
		*cause = xstrdup("a terminal, stdin or signals need a streamed "
		    "call (\"more\"): their descriptors come with the first "
		    "reply");
		return -1;
	}
	if (ctr_exec_flag(call, "signals") && pipe2(sp, O_CLOEXEC) == -1) {
		*error = PROTO_ERR_FAILED;
		*cause = xasprintf("cannot set up an exec: %s",
		    strerror(errno));
		return -1;
	}
	x = xcalloc(1, sizeof *x);
	x->cmld = k->cmld;
	x->call = call;
	x->status = -1;
	x->pidfd = -1;
	x->sig = sp[0];
	if (container_exec_io(k->rt, argv, &io, &x->pid, fds, &why) == -1) {
		*error = PROTO_ERR_FAILED;
		*cause = xasprintf("cannot run %s in container '%s': %s",
		    argv[0], k->name, why);
		free(why);
		if (sp[0] != -1) {
			close(sp[0]);
			close(sp[1]);
		}
		free(x);
		return -1;
	}
	x->out = fds[1];
	x->err = fds[2];
	x->pidfd = (int)syscall(SYS_pidfd_open, x->pid, 0);
	if (x->pidfd == -1)
		fatal("pidfd_open");
	x->name = xstrdup(k->name);
	call_set_details(call, "%s%s", argv[0], io.tty ? " (tty)" : "");
	call_defer(call);
	if (call->more) {
		/*
		 * The caller reads the pipes (or the pty) itself: cmld only
		 * hands the descriptors over and never waits on them.
		 */
		o = json_object_new_object();
		if (io.tty)
			json_object_object_add(o, "tty",
			    json_object_new_int((int)n));
		else {
			json_object_object_add(o, "stdout",
			    json_object_new_int((int)n));
			json_object_object_add(o, "stderr",
			    json_object_new_int((int)n + 1));
		}
		pass[n++] = x->out;
		if (!io.tty)
			pass[n++] = x->err;
		if (fds[0] != -1) {
			json_object_object_add(o, "stdin",
			    json_object_new_int((int)n));
			pass[n++] = fds[0];
		}
		if (sp[1] != -1) {
			json_object_object_add(o, "signal",
			    json_object_new_int((int)n));
			pass[n++] = sp[1];
			(void)fcntl(x->sig, F_SETFL, O_NONBLOCK);
			if (loop_watch_add(loop, &x->sw, x->sig, EPOLLIN,
			    ctr_exec_sig_event, x) == -1)
				fatal("epoll_ctl");
		}
		(void)call_reply_more_fds(call, o, pass, n);
		x->out = x->err = -1;
	} else {
		(void)fcntl(x->out, F_SETFL, O_NONBLOCK);
		(void)fcntl(x->err, F_SETFL, O_NONBLOCK);
		if (loop_watch_add(loop, &x->ow, x->out, EPOLLIN,
		    ctr_exec_out_event, x) == -1 ||
		    loop_watch_add(loop, &x->ew, x->err, EPOLLIN,
		    ctr_exec_err_event, x) == -1)
			fatal("epoll_ctl");
	}
	if (loop_watch_add(loop, &x->pw, x->pidfd, EPOLLIN, ctr_exec_reaped,
	    x) == -1)
		fatal("epoll_ctl");
	return 0;
}
