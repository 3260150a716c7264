/*
 * The client library: the connection to a daemon, passed files, and the
 * output of commands run in containers.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "file.h"
#include "settings.h"
#include "xmalloc.h"

void
client_init(struct client *cl, const char *path,
    volatile sig_atomic_t *interrupted)
{
	memset(cl, 0, sizeof *cl);
	cl->socket_path = path;
	cl->fd = -1;
	cl->interrupted = interrupted;
	proto_reader_init(&cl->rd);
}

void
client_disconnect(struct client *cl)
{
	if (cl->fd != -1)
		close(cl->fd);
	cl->fd = -1;
	proto_reader_free(&cl->rd);
	proto_reader_init(&cl->rd);
}

/*
 * Returns 1 if the connection still looks usable: a daemon sends nothing
 * between calls, so anything readable is its end of file.
 */
static int
client_alive(struct client *cl)
{
	struct pollfd pfd;

	pfd.fd = cl->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 0;
}

int
client_send(struct client *cl, struct json_object *call, const int *fds,
    size_t nfds, char **cause)
{
	int fresh = 0;

	cl->unreachable = 0;
	if (cl->fd != -1 && !client_alive(cl))
		client_disconnect(cl);
	for (;;) {
		if (cl->fd == -1) {
			if ((cl->fd = proto_connect(cl->socket_path,
			    cause)) == -1) {
				cl->unreachable = 1;
				return -1;
			}
			fresh = 1;
		}
		if (proto_send_fds(cl->fd, call, fds, nfds, cause) == 0)
			return 0;
		if (fresh) {
			/*
			 * The daemon may have refused the connection at once
			 * (no role, too many clients): its answer waits.
			 */
			free(*cause);
			*cause = NULL;
			return 0;
		}
		client_disconnect(cl);
		free(*cause);
		*cause = NULL;
	}
}

int
client_recv(struct client *cl, const char *what, const sigset_t *mask,
    struct json_object **msg, int *fds, size_t *nfds, char **cause)
{
	struct pollfd pfd;
	struct timespec now, deadline, left;
	char *why = NULL;
	ssize_t n;
	int rc, junk[PROTO_MAX_FDS];

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += cl->timeout_ms / 1000;
	deadline.tv_nsec += (cl->timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	for (;;) {
		rc = proto_reader_next(&cl->rd, msg, &why);
		if (rc == 1) {
			if (fds != NULL)
				*nfds = proto_reader_take_fds(&cl->rd, fds,
				    PROTO_MAX_FDS);
			else
				(void)proto_reader_take_fds(&cl->rd, junk, 0);
			return 0;
		}
		if (rc == -1) {
			*cause = xasprintf("cmld at %s sent an invalid reply "
			    "to '%s' (%s): check that this socket belongs to "
			    "cmld", cl->socket_path, what, why);
			free(why);
			goto fail;
		}
		pfd.fd = cl->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (cl->timeout_ms > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = deadline.tv_sec - now.tv_sec;
			left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000;
			}
			if (left.tv_sec < 0)
				left.tv_sec = left.tv_nsec = 0;
		}
		rc = ppoll(&pfd, 1, cl->timeout_ms > 0 ? &left : NULL, mask);
		if (rc == 0) {
			*cause = xasprintf("cmld did not answer '%s' within "
			    "%lld ms", what, cl->timeout_ms);
			cl->unreachable = 1;
			goto fail;
		}
		if (rc == -1) {
			if (errno != EINTR) {
				*cause = xasprintf("cannot wait for cmld: %s",
				    strerror(errno));
				goto fail;
			}
			if (cl->interrupted != NULL &&
			    *cl->interrupted != 0) {
				*cause = xasprintf("interrupted while waiting "
				    "for '%s': cmld may still carry it out",
				    what);
				goto fail;
			}
			continue;
		}
		n = proto_reader_fill(&cl->rd, cl->fd);
		if (n == 0) {
			*cause = xasprintf("cmld closed the connection before "
			    "it finished replying to '%s': it may have "
			    "stopped; see its log", what);
			goto fail;
		}
		if (n == -1) {
			*cause = xasprintf("cannot read the reply to '%s' from "
			    "cmld: %s", what, strerror(errno));
			goto fail;
		}
	}
fail:
	client_disconnect(cl);
	return -1;
}

void
client_close_fds(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Adds a descriptor to pass; returns its index, or -1 when full. */
static int
client_add_fd(int *fds, size_t *nfds, int fd)
{
	if (*nfds == PROTO_MAX_FDS)
		return -1;
	fds[*nfds] = fd;
	return (int)(*nfds)++;
}

/* Replaces a file parameter's path by the file passed. */
static int
client_open_file(const struct cmd_arg *a, struct json_object *params,
    const char *path, int *fds, size_t *nfds, char **cause)
{
	struct json_object *o;
	struct stat sb;
	char *sig;
	int fd, i;

	if ((fd = file_open_pass(path, 1, cause)) == -1)
		return -1;
	if ((i = client_add_fd(fds, nfds, fd)) == -1)
		goto full;
	o = json_object_new_object();
	json_object_object_add(o, "fd", json_object_new_int(i));
	json_object_object_add(o, "name", json_object_new_string(path));
	json_object_object_add(params, a->name, o);
	if (!(a->flags & CMD_ARG_SIGNED))
		return 0;
	sig = xasprintf("%s.p7s", path);
	if (lstat(sig, &sb) == -1 && errno == ENOENT) {
		free(sig);
		return 0; /* unsigned: the daemon decides */
	}
	fd = file_open_pass(sig, 1, cause);
	free(sig);
	if (fd == -1)
		return -1;
	if ((i = client_add_fd(fds, nfds, fd)) == -1)
		goto full;
	json_object_object_add(o, "signature", json_object_new_int(i));
	return 0;
full:
	close(fd);
	*cause = xasprintf("more than %d files in one call", PROTO_MAX_FDS);
	return -1;
}

/* Replaces a directory parameter's path by its entries, passed. */
static int
client_open_dir(const struct cmd_arg *a, struct json_object *params,
    const char *path, int *fds, size_t *nfds, char **cause)
{
	struct json_object *o, *files;
	struct file_set set;
	size_t k;
	int i;

	if (file_set_open_dir(&set, path, cause) == -1)
		return -1;
	files = json_object_new_object();
	for (k = 0; k < set.n; k++) {
		if ((i = client_add_fd(fds, nfds, set.fds[k])) == -1) {
			*cause = xasprintf("%s has too many entries to pass "
			    "(at most %d files in one call)", path,
			    PROTO_MAX_FDS);
			json_object_put(files);
			file_set_clear(&set);
			return -1;
		}
		set.fds[k] = -1;
		json_object_object_add(files, set.names[k],
		    json_object_new_int(i));
	}
	file_set_clear(&set);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(path));
	json_object_object_add(o, "files", files);
	json_object_object_add(params, a->name, o);
	return 0;
}

int
client_open_files(const struct cmd_entry *cmd, struct json_object *params,
    int *fds, size_t *nfds, char **cause)
{
	const struct cmd_arg *a;
	struct json_object *v;
	char *path;
	int rc;

	*nfds = 0;
	for (a = cmd->args; a->name != NULL; a++) {
		if (a->type != CMD_ARG_FILE && a->type != CMD_ARG_FILES)
			continue;
		if (!json_object_object_get_ex(params, a->name, &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		path = xstrdup(json_object_get_string(v));
		if (a->type == CMD_ARG_FILE)
			rc = client_open_file(a, params, path, fds, nfds,
			    cause);
		else
			rc = client_open_dir(a, params, path, fds, nfds,
			    cause);
		free(path);
		if (rc == -1) {
			client_close_fds(fds, *nfds);
			*nfds = 0;
			return -1;
		}
	}
	return 0;
}

struct json_object *
client_progress_of(struct json_object *params)
{
	struct json_object *p;

	if (json_object_object_length(params) != 1 ||
	    !json_object_object_get_ex(params, "progress", &p) ||
	    !json_object_is_type(p, json_type_object))
		return NULL;
	return p;
}

int
client_call(struct client *cl, const struct cmd_entry *cmd,
    struct json_object *params, int more, const sigset_t *mask,
    const struct client_reply_ops *ops, char **cause)
{
	struct json_object *call = NULL, *msg = NULL, *pr;
	struct proto_reply reply;
	int fds[PROTO_MAX_FDS];
	size_t nfds = 0;
	char *why = NULL;
	int rc = -1;

	*cause = NULL;
	if (client_open_files(cmd, params, fds, &nfds, cause) == -1) {
		json_object_put(params);
		return -1;
	}
	call = proto_call_new(cmd->method, params, more);
	rc = client_send(cl, call, fds, nfds, cause);
	client_close_fds(fds, nfds);
	json_object_put(call);
	if (rc == -1)
		return -1;
	for (;;) {
		rc = -1;
		if (client_recv(cl, cmd->words, mask, &msg, fds, &nfds,
		    cause) == -1)
			break;
		if (proto_reply_parse(msg, &reply, &why) == -1) {
			*cause = xasprintf("cmld at %s sent an invalid reply to "
			    "'%s' (%s): check that this socket belongs to "
			    "cmld", cl->socket_path, cmd->words, why);
			free(why);
			client_close_fds(fds, nfds);
			client_disconnect(cl);
			break;
		}
		if (reply.error != NULL) {
			client_close_fds(fds, nfds);
			ops->error(ops->arg, reply.error, reply.params);
			rc = 1;
			break;
		}
		if (reply.continues &&
		    (pr = client_progress_of(reply.params)) != NULL) {
			client_close_fds(fds, nfds);
			if (ops->progress != NULL)
				ops->progress(ops->arg, pr);
		} else if (ops->reply(ops->arg, reply.params, reply.continues,
		    fds, nfds, cause) == -1) {
			client_disconnect(cl);
			break;
		} else if (!reply.continues) {
			rc = 0;
			break;
		}
		json_object_put(msg);
		msg = NULL;
	}
	json_object_put(msg);
	return rc;
}

int
client_copy_output(const int *src, const int *dst, size_t n,
    const sigset_t *mask, volatile sig_atomic_t *interrupted, char **cause)
{
	struct pollfd pfd[PROTO_MAX_FDS];
	char buf[65536];
	size_t i, open = n;
	ssize_t r;
	int rc = -1;

	if (n > PROTO_MAX_FDS)
		n = PROTO_MAX_FDS;
	for (i = 0; i < n; i++) {
		pfd[i].fd = src[i];
		pfd[i].events = POLLIN;
	}
	while (open > 0) {
		if (ppoll(pfd, n, NULL, mask) == -1) {
			if (errno == EINTR && (interrupted == NULL ||
			    *interrupted == 0))
				continue;
			*cause = errno == EINTR ? xstrdup("interrupted: the "
			    "command may still run in the container") :
			    xasprintf("cannot wait for output: %s",
			    strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, buf, sizeof buf);
			if (r == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				pfd[i].fd = -1;
				open--;
				continue;
			}
			if (file_write_all(dst[i], buf, (size_t)r) == -1) {
				if (errno != EPIPE)
					*cause = xasprintf("cannot write the "
					    "output: %s", strerror(errno));
				else
					*cause = xstrdup("");
				goto out;
			}
		}
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		close(src[i]);
	return rc;
}

void
client_json_merge(struct json_object *acc, struct json_object *more)
{
	struct json_object *old;
	size_t i, n;

	json_object_object_foreach(more, key, val) {
		if (json_object_object_get_ex(acc, key, &old) &&
		    json_object_is_type(old, json_type_array) &&
		    json_object_is_type(val, json_type_array)) {
			n = json_object_array_length(val);
			for (i = 0; i < n; i++)
				json_object_array_add(old, json_object_get(
				    json_object_array_get_idx(val, i)));
		} else
			json_object_object_add(acc, key, json_object_get(val));
	}
}

long long
client_idle_timeout(struct json_object *reply)
{
	const struct setting_def *def = setting_find("session_idle_timeout");
	const char *value = def != NULL ? def->def : "0";
	struct json_object *v;
	long long seconds, max = def != NULL ? def->max : 86400;
	char *end;

	if (reply != NULL && json_object_object_get_ex(reply, "settings",
	    &v) && json_object_is_type(v, json_type_array) &&
	    json_object_array_length(v) == 1 &&
	    json_object_object_get_ex(json_object_array_get_idx(v, 0),
	    "value", &v) && json_object_is_type(v, json_type_string))
		value = json_object_get_string(v);
	errno = 0;
	seconds = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0')
		seconds = def != NULL ? strtoll(def->def, NULL, 10) : 0;
	if (seconds < 0)
		seconds = 0;
	if (seconds > max)
		seconds = max;
	return seconds;
}

int
client_notice_start(struct client *cl, const char *path)
{
	struct json_object *call, *params;
	char *cause = NULL;
	int fl;

	client_init(cl, path, NULL);
	call = json_object_new_object();
	params = json_object_new_object();
	json_object_object_add(params, "notices",
	    json_object_new_boolean(1));
	json_object_object_add(call, "method",
	    json_object_new_string("org.cml.Audit.Follow"));
	json_object_object_add(call, "parameters", params);
	json_object_object_add(call, "more", json_object_new_boolean(1));
	if (client_send(cl, call, NULL, 0, &cause) == -1) {
		free(cause);
		client_disconnect(cl);
	} else if ((fl = fcntl(cl->fd, F_GETFL)) == -1 ||
	    fcntl(cl->fd, F_SETFL, fl | O_NONBLOCK) == -1)
		client_disconnect(cl);
	json_object_put(call);
	return cl->fd == -1 ? -1 : 0;
}

int
client_notice_read(struct client *cl,
    void (*fn)(void *, struct json_object *), void *arg)
{
	struct json_object *msg, *params, *n;
	char *cause = NULL;
	ssize_t got;
	int rc;

	got = proto_reader_fill(&cl->rd, cl->fd);
	if (got == 0 || (got == -1 && errno != EAGAIN && errno != EINTR)) {
		client_disconnect(cl);
		return -1;
	}
	while ((rc = proto_reader_next(&cl->rd, &msg, &cause)) == 1) {
		if (json_object_object_get_ex(msg, "error", NULL)) {
			/* refused (an older cmld): no notices, no noise */
			json_object_put(msg);
			client_disconnect(cl);
			return -1;
		}
		if (json_object_object_get_ex(msg, "parameters", &params) &&
		    json_object_object_get_ex(params, "notice", &n) &&
		    json_object_is_type(n, json_type_object))
			fn(arg, n);
		json_object_put(msg);
	}
	if (rc == -1) {
		free(cause);
		client_disconnect(cl);
		return -1;
	}
	return 0;
}

void
client_notice_parse(struct json_object *n, const char **level,
    long long *seq, const char **message)
{
	struct json_object *v;

	*level = "notice";
	*message = "";
	*seq = 0;
	if (json_object_object_get_ex(n, "level", &v) &&
	    json_object_is_type(v, json_type_string))
		*level = json_object_get_string(v);
	if (json_object_object_get_ex(n, "message", &v) &&
	    json_object_is_type(v, json_type_string))
		*message = json_object_get_string(v);
	if (json_object_object_get_ex(n, "seq", &v))
		*seq = json_object_get_int64(v);
}
