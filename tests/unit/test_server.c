/*
 * Unit tests of the server library (server/): the loop and the server run
 * in a child process with a small command table of their own, and the
 * test is the client, speaking the wire protocol directly; the peer
 * client (server/peer.c) runs on a loop in the test process against it.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "loop.h"
#include "peer.h"
#include "proto.h"
#include "server.h"
#include "xmalloc.h"

/*
 * AddressSanitizer keeps freed memory in quarantine (256 MiB by default),
 * which would count as the server's resident memory in the back-pressure
 * test; a smaller quarantine keeps that figure about the server.
 */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=8";
}
#endif

/* The test's commands borrow ids of the real table as handler indexes. */
#define T_ECHO CMD_ID_DEVICE_STATUS
#define T_STREAM CMD_ID_DEVICE_GET_CONFIG
#define T_LATER CMD_ID_DEVICE_SET_CONFIG
#define T_READ CMD_ID_TRUST_ADD
#define T_STATS CMD_ID_AUDIT_LIST
#define T_UNWIRED CMD_ID_TRUST_LIST

/* A stream producing more than this is what a client may not buffer. */
#define T_GIB (1024LL * 1024 * 1024)
/* How long a test client waits for any one read. */
#define T_RECV_TIMEOUT_S 20

static const struct cmd_entry t_table[] = {
	{
		.id = T_ECHO,
		.words = "echo",
		.family = "test",
		.method = "org.test.Echo",
		.args = {
			{ .name = "text", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL },
		},
		.flags = CMD_READONLY,
	},
	{
		.id = T_STREAM,
		.words = "stream",
		.family = "test",
		.method = "org.test.Stream",
		.args = {
			{ .name = "count", .type = CMD_ARG_INT, .min = 0,
			  .max = 1 << 30 },
			{ .name = "size", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL, .min = 0,
			  .max = PROTO_MAX_MSG },
			/* this reply is made larger than a message may be */
			{ .name = "oversize_at", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL, .min = 0,
			  .max = 1 << 30 },
		},
		.flags = CMD_READONLY | CMD_STREAMS,
	},
	{
		.id = T_LATER,
		.words = "later",
		.family = "test",
		.method = "org.test.Later",
		.args = {
			{ .name = "ms", .type = CMD_ARG_INT, .min = 0,
			  .max = 60000 },
			{ .name = "text", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL },
		},
		.flags = CMD_READONLY,
	},
	{
		.id = T_READ,
		.words = "read",
		.family = "test",
		.method = "org.test.ReadFile",
		.args = {
			{ .name = "file", .type = CMD_ARG_FILE },
		},
		.flags = CMD_READONLY,
	},
	{
		.id = T_STATS,
		.words = "stats",
		.family = "test",
		.method = "org.test.Stats",
		.flags = CMD_READONLY,
	},
	{
		.id = T_UNWIRED,
		.words = "unwired",
		.family = "test",
		.method = "org.test.Unwired",
		.flags = CMD_READONLY,
	},
};

/* What the server child keeps: its loop, and what the handlers did. */
struct tctx {
	struct loop *loop;
	struct srv *srv;
	LIST_HEAD(, tjob) jobs; /* deferred calls not answered yet */
	long long sent; /* replies the last stream sent */
	long long rc; /* what call_reply_more last returned */
	int parked; /* the last stream waits for its client to drain */
	long long streams; /* streams finished */
	long long drains; /* on_drain calls */
};

/* A deferred call: a stream, or an answer due from a timer. */
struct tjob {
	struct job job; /* first: the job is the tjob */
	struct loop_timer timer;
	struct call *call;
	struct tctx *ctx;
	long long n, count, size, oversize_at;
	LIST_ENTRY(tjob) entry;
};

/* Returns a member of an object as an integer, or dflt. */
static long long
t_int(struct json_object *o, const char *key, long long dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return dflt;
	return json_object_get_int64(v);
}

/* Returns a member of an object as a string, or NULL. */
static const char *
t_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static struct tjob *
tjob_new(struct call *call)
{
	struct tctx *ctx = call->ctx;
	struct tjob *tj = xcalloc(1, sizeof *tj);

	tj->call = call;
	tj->ctx = ctx;
	loop_timer_init(&tj->timer, NULL, tj);
	LIST_INSERT_HEAD(&ctx->jobs, tj, entry);
	return tj;
}

static void
tjob_free(struct tjob *tj)
{
	loop_timer_stop(tj->ctx->loop, &tj->timer);
	loop_job_remove(tj->ctx->loop, &tj->job);
	LIST_REMOVE(tj, entry);
	free(tj);
}

/* Answers a deferred call at shutdown. */
static void
tjob_cancel(struct job *job)
{
	struct tjob *tj = (struct tjob *)job;

	call_error(tj->call, PROTO_ERR_FAILED, NULL, "the test server stops");
	tjob_free(tj);
}

static void
h_echo(struct call *call)
{
	struct json_object *p = json_object_new_object();
	const char *text = t_str(call->params, "text");

	json_object_object_add(p, "text",
	    json_object_new_string(text != NULL ? text : ""));
	call_reply(call, p);
}

static void
h_stats(struct call *call)
{
	struct tctx *ctx = call->ctx;
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "sent", json_object_new_int64(ctx->sent));
	json_object_object_add(p, "rc", json_object_new_int64(ctx->rc));
	json_object_object_add(p, "parked", json_object_new_int(ctx->parked));
	json_object_object_add(p, "streams",
	    json_object_new_int64(ctx->streams));
	json_object_object_add(p, "drains", json_object_new_int64(ctx->drains));
	json_object_object_add(p, "clients",
	    json_object_new_int64((long long)srv_nclients(ctx->srv)));
	call_reply(call, p);
}

/* Reply number n of a stream: {"i": n, "data": "ccc..."}. */
static struct json_object *
stream_params(struct tjob *tj)
{
	struct json_object *p = json_object_new_object();
	size_t size = (size_t)tj->size;
	char *data;

	if (tj->n == tj->oversize_at)
		size = PROTO_MAX_MSG;
	data = xmalloc(size + 1);
	memset(data, 'a' + (int)(tj->n % 26), size);
	data[size] = '\0';
	json_object_object_add(p, "i", json_object_new_int64(tj->n));
	json_object_object_add(p, "data",
	    json_object_new_string_len(data, (int)size));
	free(data);
	return p;
}

/* The stream's client drained its replies, or left: produce again. */
static void
stream_drained(struct call *call)
{
	struct tjob *tj = call->drain_arg;

	tj->ctx->parked = 0;
	tj->ctx->drains++;
	loop_job_add(tj->ctx->loop, &tj->job);
}

/*
 * Produces a few replies a step, and parks while the client's queue is
 * full, as a stream of a real daemon does.
 */
static int
stream_step(struct job *job)
{
	struct tjob *tj = (struct tjob *)job;
	struct tctx *ctx = tj->ctx;
	struct call *call = tj->call;
	struct json_object *p;
	int i, rc = 0;

	for (i = 0; i < 16 && tj->n < tj->count; i++) {
		if (call_congested(call)) {
			call->drain_arg = tj;
			call->on_drain = stream_drained;
			ctx->parked = 1;
			return JOB_PARKED;
		}
		rc = call_reply_more(call, stream_params(tj));
		ctx->rc = rc;
		if (rc == -1)
			break;
		ctx->sent = ++tj->n;
	}
	if (rc == 0 && tj->n < tj->count)
		return JOB_AGAIN;
	p = json_object_new_object();
	json_object_object_add(p, "count", json_object_new_int64(tj->n));
	call_reply(call, p); /* sends nothing once the stream ended */
	ctx->streams++;
	tjob_free(tj);
	return JOB_DONE;
}

static void
h_stream(struct call *call)
{
	struct tctx *ctx = call->ctx;
	struct tjob *tj = tjob_new(call);

	tj->count = t_int(call->params, "count", 0);
	tj->size = t_int(call->params, "size", 16);
	tj->oversize_at = t_int(call->params, "oversize_at", -1);
	tj->job.step = stream_step;
	tj->job.cancel = tjob_cancel;
	ctx->sent = 0;
	ctx->rc = 0;
	ctx->parked = 0;
	call_defer(call);
	loop_job_add(ctx->loop, &tj->job);
}

/* Answers a call of org.test.Later when its time came. */
static void
later_fire(struct loop_timer *t)
{
	struct tjob *tj = t->arg;
	struct json_object *p = json_object_new_object();
	const char *text = t_str(tj->call->params, "text");

	json_object_object_add(p, "text",
	    json_object_new_string(text != NULL ? text : ""));
	call_reply(tj->call, p);
	tjob_free(tj);
}

static void
h_later(struct call *call)
{
	struct tjob *tj = tjob_new(call);

	tj->job.cancel = tjob_cancel;
	tj->timer.cb = later_fire;
	call_defer(call);
	if (loop_timer_start(tj->ctx->loop, &tj->timer,
	    t_int(call->params, "ms", 0)) == -1)
		fatal("timer");
}

/* Reads the passed file from its start and answers its content. */
static void
h_read(struct call *call)
{
	struct json_object *p;
	char buf[4096];
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = call_take_fd(call, "file", "fd")) == -1) {
		call_error(call, PROTO_ERR_FAILED, "file", "no descriptor");
		return;
	}
	while (len < sizeof buf - 1 && (n = pread(fd, buf + len,
	    sizeof buf - 1 - len, (off_t)len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	p = json_object_new_object();
	json_object_object_add(p, "content", json_object_new_string(buf));
	call_reply(call, p);
}

static const call_handler t_handlers[CMD_ID_COUNT] = {
	[T_ECHO] = h_echo,
	[T_STREAM] = h_stream,
	[T_LATER] = h_later,
	[T_READ] = h_read,
	[T_STATS] = h_stats,
};

/* Refuses files called "denied": a policy refusal after the checks. */
static int
t_policy(struct call *call)
{
	struct json_object *f;
	const char *name;

	if (call->cmd->id != T_READ ||
	    !json_object_object_get_ex(call->params, "file", &f) ||
	    (name = t_str(f, "name")) == NULL || strcmp(name, "denied") != 0)
		return 0;
	call_error(call, PROTO_ERR_PERMISSION_DENIED, "file",
	    "the policy refuses this file");
	return -1;
}

/* Returns the monotonic clock in microseconds. */
static long long
t_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A test server: a child process serving path. */
struct tsrv {
	pid_t pid;
	char dir[64];
	char path[128];
	const char *operator_group;
	struct srv_limits lim;
};

static void
tsrv_signal(int signo, void *arg)
{
	(void)signo;
	loop_quit(arg);
}

/* Runs the server in the child; readyfd gets "READY=1" once it listens. */
static void __attribute__((noreturn))
tsrv_main(const struct tsrv *s, int readyfd)
{
	struct srv_config cfg;
	struct tctx ctx;
	struct tjob *tj;
	sigset_t set;

	log_init("test_server", 1, LOG_LEVEL_WARNING);
	memset(&ctx, 0, sizeof ctx);
	LIST_INIT(&ctx.jobs);
	ctx.loop = loop_new();
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	loop_signals(ctx.loop, &set, tsrv_signal, ctx.loop);
	memset(&cfg, 0, sizeof cfg);
	cfg.name = "test";
	cfg.sock_path = s->path;
	cfg.operator_group = s->operator_group;
	cfg.table = t_table;
	cfg.table_len = sizeof t_table / sizeof t_table[0];
	cfg.handlers = t_handlers;
	cfg.nhandlers = CMD_ID_COUNT;
	cfg.ctx = &ctx;
	cfg.policy = t_policy;
	ctx.srv = srv_new(ctx.loop, &cfg);
	srv_set_limits(ctx.srv, &s->lim);
	loop_ready(readyfd);
	loop_run(ctx.loop);
	while ((tj = LIST_FIRST(&ctx.jobs)) != NULL)
		tjob_cancel(&tj->job);
	srv_free(ctx.srv);
	loop_free(ctx.loop);
	exit(0); /* not _exit: a sanitizer build checks for leaks */
}

/* Starts the server s describes (its socket in s->dir). */
static void
tsrv_start(struct tsrv *s)
{
	int p[2];
	ssize_t n;
	char c;

	if (s->dir[0] == '\0') {
		strcpy(s->dir, "/tmp/test_server.XXXXXX");
		assert_non_null(mkdtemp(s->dir));
		/* other uids reach the socket; the socket's mode decides */
		assert_int_equal(chmod(s->dir, 0711), 0);
		snprintf(s->path, sizeof s->path, "%s/test.sock", s->dir);
	}
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	s->pid = fork();
	assert_true(s->pid != -1);
	if (s->pid == 0) {
		/* a test that fails leaves no server behind */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
			_exit(127);
		close(p[0]);
		if (p[1] != 3 && dup2(p[1], 3) == -1)
			_exit(127);
		/* keep none of the test's connections open */
		close_range(4, ~0U, 0);
		tsrv_main(s, 3);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	/* the end of file: the ready descriptor is closed, not counted */
	while ((n = read(p[0], &c, 1)) > 0)
		;
	assert_int_equal(n, 0);
	close(p[0]);
}

/* Stops the server; it must exit cleanly (and, sanitized, without leaks). */
static void
tsrv_stop(struct tsrv *s)
{
	int status;

	if (s->pid > 0) {
		assert_int_equal(kill(s->pid, SIGTERM), 0);
		assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		s->pid = 0;
	}
	(void)unlink(s->path);
	(void)rmdir(s->dir);
}

/* Kills the server at once, as a crash would. */
static void
tsrv_kill(struct tsrv *s)
{
	int status;

	assert_int_equal(kill(s->pid, SIGKILL), 0);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	s->pid = 0;
}

/* Counts the server's open descriptors. */
static int
tsrv_nfds(const struct tsrv *s)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)s->pid);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Waits up to ms for the server to hold want descriptors; returns them. */
static int
tsrv_wait_nfds(const struct tsrv *s, int want, int ms)
{
	long long end = loop_now_ms() + ms;
	int n;

	while ((n = tsrv_nfds(s)) != want && loop_now_ms() < end)
		usleep(10 * 1000);
	return n;
}

/* Returns a line of /proc/PID/status ("VmRSS", "VmHWM") in KiB. */
static long long
tsrv_mem_kib(const struct tsrv *s, const char *key)
{
	char path[64], line[256];
	long long kib = -1;
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)s->pid);
	assert_non_null(f = fopen(path, "re"));
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			kib = strtoll(line + klen + 1, NULL, 10);
	fclose(f);
	assert_true(kib > 0);
	return kib;
}

/* A test client's connection. */
struct cli {
	int fd;
	struct proto_reader rd;
};

/* Gives a connection a read timeout, so that a bug fails, not hangs. */
static void
cli_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof tv), 0);
}

static void
cli_open(struct cli *c, const struct tsrv *s)
{
	char *cause = NULL;

	c->fd = proto_connect(s->path, &cause);
	if (c->fd == -1)
		fail_msg("%s", cause);
	cli_timeout(c->fd, T_RECV_TIMEOUT_S);
	proto_reader_init(&c->rd);
}

static void
cli_close(struct cli *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	proto_reader_free(&c->rd);
}

/* Sends a call (params taken over) with descriptors. */
static void
cli_call_fds(struct cli *c, const char *method, struct json_object *params,
    int more, const int *fds, size_t nfds)
{
	struct json_object *msg = proto_call_new(method, params, more);
	char *cause = NULL;

	if (proto_send_fds(c->fd, msg, fds, nfds, &cause) == -1)
		fail_msg("%s", cause);
	json_object_put(msg);
}

static void
cli_call(struct cli *c, const char *method, struct json_object *params,
    int more)
{
	cli_call_fds(c, method, params, more, NULL, 0);
}

/* Receives one message; fails the test on end of file or timeout. */
static struct json_object *
cli_recv(struct cli *c)
{
	struct json_object *msg = NULL;
	char *cause = NULL;

	if (proto_recv(c->fd, &c->rd, &msg, &cause) == -1)
		fail_msg("%s", cause);
	return msg;
}

/* Says whether the server closed the connection (after what it sent). */
static int
cli_closed(struct cli *c)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof buf, 0);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return 1;
		if (n == -1)
			return 0; /* the timeout: still open */
	}
}

/* Calls and returns the reply. */
static struct json_object *
cli_roundtrip(struct cli *c, const char *method, struct json_object *params)
{
	cli_call(c, method, params, 0);
	return cli_recv(c);
}

/* {"text": text} */
static struct json_object *
text_params(const char *text)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "text", json_object_new_string(text));
	return p;
}

/* Expects a reply without error; returns its parameters (borrowed). */
static struct json_object *
expect_ok(struct json_object *msg)
{
	struct json_object *p;

	assert_non_null(msg);
	if (json_object_object_get(msg, "error") != NULL)
		fail_msg("unexpected error reply %s",
		    json_object_to_json_string(msg));
	assert_true(json_object_object_get_ex(msg, "parameters", &p));
	return p;
}

/* Expects an error reply named error; returns its message (borrowed). */
static const char *
expect_error(struct json_object *msg, const char *error)
{
	struct json_object *p;

	assert_non_null(msg);
	assert_non_null(t_str(msg, "error"));
	assert_string_equal(t_str(msg, "error"), error);
	assert_null(json_object_object_get(msg, "continues"));
	assert_true(json_object_object_get_ex(msg, "parameters", &p));
	assert_non_null(t_str(p, "message"));
	return t_str(p, "message");
}

/* Expects an Echo reply of text. */
static void
expect_echo(struct json_object *msg, const char *text)
{
	assert_string_equal(t_str(expect_ok(msg), "text"), text);
	assert_null(json_object_object_get(msg, "continues"));
	json_object_put(msg);
}

/* Calls org.test.Stats on a connection of its own. */
static struct json_object *
stats(const struct tsrv *s)
{
	struct json_object *msg, *p;
	struct cli c;

	cli_open(&c, s);
	msg = cli_roundtrip(&c, "org.test.Stats", NULL);
	p = json_object_get(expect_ok(msg));
	json_object_put(msg);
	cli_close(&c);
	return p;
}

/* Sends raw bytes, as a client that does not frame correctly would. */
static void
send_raw(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return; /* the server closed: what it sent is there */
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* A server with default limits for each test; its state for cmocka. */
static int
setup(void **state)
{
	struct tsrv *s = xcalloc(1, sizeof *s);

	tsrv_start(s);
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	struct tsrv *s = *state;

	tsrv_stop(s);
	free(s);
	return 0;
}

/* --- framing ------------------------------------------------------------ */

/* Proves: none (a call is answered). */
static void
test_framing_call_answered(void **state)
{
	struct cli c;

	cli_open(&c, *state);
	expect_echo(cli_roundtrip(&c, "org.test.Echo", text_params("hello")),
	    "hello");
	cli_close(&c);
}

/* Proves: none (two calls in one write answered in order). */
static void
test_framing_two_calls_in_one_write_answered_in_order(void **state)
{
	static const char two[] =
	    "{\"method\":\"org.test.Echo\",\"parameters\":{\"text\":\"one\"}}"
	    "\0"
	    "{\"method\":\"org.test.Echo\",\"parameters\":{\"text\":\"two\"}}";
	struct cli c;

	cli_open(&c, *state);
	/* both messages with their NULs in a single write */
	assert_int_equal(write(c.fd, two, sizeof two), (ssize_t)sizeof two);
	expect_echo(cli_recv(&c), "one");
	expect_echo(cli_recv(&c), "two");
	cli_close(&c);
}

/* Sends a message and expects a protocol error, then the close. */
static void
expect_protocol_close(struct tsrv *s, const char *raw, size_t len,
    const char *why)
{
	struct json_object *msg;
	struct cli c;

	cli_open(&c, s);
	cli_timeout(c.fd, 5);
	send_raw(c.fd, raw, len);
	msg = cli_recv(&c);
	assert_non_null(strstr(expect_error(msg, PROTO_ERR_PROTOCOL), why));
	json_object_put(msg);
	assert_true(cli_closed(&c));
	cli_close(&c);
}

/* Proves: CR 7.1 (a malformed message closes that client alone). */
static void
test_framing_malformed_protocol_error_closed(void **state)
{
	static const char bad_json[] = "{\"method\": nope}";
	static const char no_method[] = "{\"method\": 42}";

	expect_protocol_close(*state, bad_json, sizeof bad_json,
	    "malformed message");
	expect_protocol_close(*state, no_method, sizeof no_method,
	    "malformed call: a call needs \"method\" as a string");
}

/* Proves: CR 7.1 (an oversized message closes that client). */
static void
test_framing_oversize_without_nul_closed(void **state)
{
	size_t len = PROTO_MAX_MSG + 4096;
	char *big = xmalloc(len);

	memset(big, ' ', len);
	big[0] = '{';
	expect_protocol_close(*state, big, len,
	    "message longer than 1048576 bytes");
	free(big);
}

/* Proves: CR 7.1 (invalid UTF-8 closes that client). */
static void
test_framing_invalid_utf8_closed(void **state)
{
	static const char bad[] =
	    "{\"method\":\"org.test.Echo\",\"parameters\":{\"text\":\"\xff\"}}";

	expect_protocol_close(*state, bad, sizeof bad, "malformed message");
}

/* Proves: CR 7.1 (a key given twice closes that client). */
static void
test_framing_duplicate_key_closed(void **state)
{
	static const char dup[] = "{\"method\":\"org.test.Echo\","
	    "\"parameters\":{\"text\":\"a\",\"text\":\"b\"}}";

	expect_protocol_close(*state, dup, sizeof dup, "malformed message");
}

/* --- methods and parameters ----------------------------------------------- */

/* Calls method and expects error, the subject under key, and no close. */
static void
expect_refused(struct tsrv *s, const char *method, struct json_object *params,
    const char *error, const char *key, const char *subject)
{
	struct json_object *msg, *p;
	struct cli c;

	cli_open(&c, s);
	msg = cli_roundtrip(&c, method, params);
	expect_error(msg, error);
	assert_true(json_object_object_get_ex(msg, "parameters", &p));
	assert_string_equal(t_str(p, key), subject);
	json_object_put(msg);
	/* a refused call does not end the connection */
	expect_echo(cli_roundtrip(&c, "org.test.Echo", text_params("on")), "on");
	cli_close(&c);
}

/* Proves: none (the varlink error for an unknown method). */
static void
test_method_unknown_method_not_found(void **state)
{
	expect_refused(*state, "org.test.Nope", NULL,
	    PROTO_ERR_METHOD_NOT_FOUND, "method", "org.test.Nope");
}

/* Proves: none (the varlink error for an unknown interface). */
static void
test_method_unknown_interface_not_found(void **state)
{
	expect_refused(*state, "org.other.Echo", NULL,
	    PROTO_ERR_INTERFACE_NOT_FOUND, "interface", "org.other");
}

/* Proves: none (the varlink error for a method without a handler). */
static void
test_method_without_handler_not_implemented(void **state)
{
	expect_refused(*state, "org.test.Unwired", NULL,
	    PROTO_ERR_METHOD_NOT_IMPLEMENTED, "method", "org.test.Unwired");
}

/* Proves: none (the varlink error for an unknown parameter). */
static void
test_param_unknown_invalid_parameter(void **state)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "bogus", json_object_new_int(1));
	expect_refused(*state, "org.test.Echo", p,
	    PROTO_ERR_INVALID_PARAMETER, "parameter", "bogus");
}

/* Proves: CR 7.1 (the reply to a huge parameter name is bounded). */
static void
test_param_huge_name_reply_bounded(void **state)
{
	size_t len = 100 * 1024, rlen;
	struct json_object *msg, *p = json_object_new_object();
	char *name = xmalloc(len + 1);
	struct cli c;

	memset(name, 'n', len);
	name[len] = '\0';
	json_object_object_add(p, name, json_object_new_int(1));
	cli_open(&c, *state);
	msg = cli_roundtrip(&c, "org.test.Echo", p);
	expect_error(msg, PROTO_ERR_INVALID_PARAMETER);
	rlen = strlen(json_object_to_json_string_ext(msg,
	    JSON_C_TO_STRING_PLAIN));
	print_message("reply to a %zu-byte parameter name: %zu bytes\n", len,
	    rlen);
	assert_true(rlen < 1024);
	/* the name quoted back is cut short, and says so */
	assert_true(json_object_object_get_ex(msg, "parameters", &p));
	assert_non_null(strstr(t_str(p, "parameter"), "nnn..."));
	json_object_put(msg);
	expect_echo(cli_roundtrip(&c, "org.test.Echo", text_params("on")), "on");
	cli_close(&c);
	free(name);
}

/* --- descriptors ---------------------------------------------------------- */

/* {"file": {"fd": i, "name": name}} */
static struct json_object *
file_params(long long i, const char *name)
{
	struct json_object *p = json_object_new_object();
	struct json_object *f = json_object_new_object();

	json_object_object_add(f, "fd", json_object_new_int64(i));
	json_object_object_add(f, "name", json_object_new_string(name));
	json_object_object_add(p, "file", f);
	return p;
}

/* Makes a file in the server's directory holding text; returns it open. */
static int
text_file(const struct tsrv *s, const char *text)
{
	char path[160];
	int fd;

	snprintf(path, sizeof path, "%s/file.XXXXXX", s->dir);
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(write(fd, text, strlen(text)),
	    (ssize_t)strlen(text));
	return fd;
}

/* Proves: CR 7.1 (files passed as descriptors). */
static void
test_fd_file_param_reaches_handler(void **state)
{
	struct json_object *msg;
	struct cli c;
	int fd = text_file(*state, "what the handler reads\n");

	cli_open(&c, *state);
	cli_call_fds(&c, "org.test.ReadFile", file_params(0, "/f"), 0, &fd, 1);
	msg = cli_recv(&c);
	assert_string_equal(t_str(expect_ok(msg), "content"),
	    "what the handler reads\n");
	json_object_put(msg);
	cli_close(&c);
	close(fd);
}

/* Proves: CR 7.1 (a file named but not passed is refused). */
static void
test_fd_index_beyond_passed_refused(void **state)
{
	struct json_object *msg;
	struct cli c;
	int fd = text_file(*state, "x");

	cli_open(&c, *state);
	cli_call_fds(&c, "org.test.ReadFile", file_params(1, "/f"), 0, &fd, 1);
	msg = cli_recv(&c);
	assert_string_equal(expect_error(msg, PROTO_ERR_INVALID_PARAMETER),
	    "'file' names passed file 1, but 1 were passed with the call");
	json_object_put(msg);
	cli_call(&c, "org.test.ReadFile", file_params(0, "/f"), 0);
	msg = cli_recv(&c);
	assert_string_equal(expect_error(msg, PROTO_ERR_INVALID_PARAMETER),
	    "'file' names passed file 0, but 0 were passed with the call");
	json_object_put(msg);
	cli_close(&c);
	close(fd);
}

/* Proves: CR 7.1 (refused calls leak no descriptor). */
static void
test_fd_refused_calls_descriptors_closed(void **state)
{
	struct tsrv *s = *state;
	struct json_object *msg, *p;
	struct cli c;
	int fds[3], base, i, after;

	for (i = 0; i < 3; i++)
		fds[i] = text_file(s, "x");
	cli_open(&c, s);
	expect_echo(cli_roundtrip(&c, "org.test.Echo", text_params("a")), "a");
	base = tsrv_nfds(s);
	for (i = 0; i < 200; i++) {
		switch (i % 4) {
		case 0: /* an index beyond those passed */
			cli_call_fds(&c, "org.test.ReadFile",
			    file_params(5, "/f"), 0, fds, 3);
			expect_error(msg = cli_recv(&c),
			    PROTO_ERR_INVALID_PARAMETER);
			break;
		case 1: /* refused by the policy, after the checks */
			cli_call_fds(&c, "org.test.ReadFile",
			    file_params(0, "denied"), 0, fds, 3);
			expect_error(msg = cli_recv(&c),
			    PROTO_ERR_PERMISSION_DENIED);
			break;
		case 2: /* a method nobody serves */
			cli_call_fds(&c, "org.test.Nope", NULL, 0, fds, 3);
			expect_error(msg = cli_recv(&c),
			    PROTO_ERR_METHOD_NOT_FOUND);
			break;
		default: /* a parameter the command does not take */
			p = file_params(0, "/f");
			json_object_object_add(p, "bogus",
			    json_object_new_int(1));
			cli_call_fds(&c, "org.test.ReadFile", p, 0, fds, 3);
			expect_error(msg = cli_recv(&c),
			    PROTO_ERR_INVALID_PARAMETER);
			break;
		}
		json_object_put(msg);
	}
	expect_echo(cli_roundtrip(&c, "org.test.Echo", text_params("b")), "b");
	after = tsrv_nfds(s);
	print_message("server descriptors: %d before, %d after 200 refused "
	    "calls passing 3 each\n", base, after);
	assert_int_equal(after, base);
	cli_close(&c);
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

/* --- streams and back-pressure -------------------------------------------- */

/* {"count": count, "size": size} */
static struct json_object *
stream_call_params(long long count, long long size)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "count", json_object_new_int64(count));
	json_object_object_add(p, "size", json_object_new_int64(size));
	return p;
}

/* Waits up to ms for the stream of s to wait for its client. */
static int
wait_parked(const struct tsrv *s, int ms, long long *sent)
{
	long long end = loop_now_ms() + ms;
	struct json_object *st;
	int parked;

	for (;;) {
		st = stats(s);
		parked = (int)t_int(st, "parked", 0);
		*sent = t_int(st, "sent", 0);
		json_object_put(st);
		if (parked || loop_now_ms() >= end)
			return parked;
		usleep(20 * 1000);
	}
}

/*
 * Reads a stream of count replies of size bytes, checking each one's
 * number, length and content, then the final reply; raw, because 1 GiB
 * through a JSON parser would make the test slow, not better.
 */
static void
read_stream_raw(struct cli *c, long long count, long long size)
{
	size_t cap = 2 * PROTO_MAX_MSG, len = 0, off, mlen;
	char *buf = xmalloc(cap), *nul, head[64], fin[64];
	long long i = 0;
	size_t hlen, tail = strlen("\"},\"continues\":true}");
	ssize_t n;

	snprintf(fin, sizeof fin, "{\"parameters\":{\"count\":%lld}}", count);
	for (;;) {
		n = recv(c->fd, buf + len, cap - len, 0);
		if (n <= 0)
			fail_msg("stream cut short after %lld replies: %s", i,
			    n == 0 ? "end of file" : strerror(errno));
		len += (size_t)n;
		off = 0;
		while ((nul = memchr(buf + off, '\0', len - off)) != NULL) {
			mlen = (size_t)(nul - (buf + off));
			if (i == count) {
				assert_int_equal(mlen, strlen(fin));
				assert_memory_equal(buf + off, fin, mlen);
				assert_int_equal(off + mlen + 1, len);
				free(buf);
				return;
			}
			hlen = (size_t)snprintf(head, sizeof head,
			    "{\"parameters\":{\"i\":%lld,\"data\":\"", i);
			if (mlen != hlen + (size_t)size + tail ||
			    memcmp(buf + off, head, hlen) != 0 ||
			    buf[off + hlen] != 'a' + i % 26 ||
			    buf[off + hlen + size - 1] != 'a' + i % 26)
				fail_msg("reply %lld is not the one expected: "
				    "%.60s", i, buf + off);
			i++;
			off += mlen + 1;
		}
		memmove(buf, buf + off, len - off);
		len -= off;
	}
}

/*
 * Proves: CR 7.1 (a stream waits for its reader; others are served).
 */
static void
test_stream_unread_replies_memory_bounded(void **state)
{
	struct tsrv *s = *state;
	long long count = 16384, size = 64 * 1024, sent, rss0, rss, hwm;
	long long t0, dt;
	struct json_object *st;
	struct cli c, other;
	int i;

	rss0 = tsrv_mem_kib(s, "VmRSS");
	cli_open(&c, s);
	cli_call(&c, "org.test.Stream", stream_call_params(count, size), 1);
	/* the client reads nothing: the stream must wait for it */
	assert_true(wait_parked(s, 10 * 1000, &sent));
	for (i = 0; i < 10; i++) {
		usleep(50 * 1000);
		st = stats(s);
		assert_int_equal(t_int(st, "sent", 0), sent);
		assert_int_equal(t_int(st, "parked", 0), 1);
		json_object_put(st);
	}
	rss = tsrv_mem_kib(s, "VmRSS");
	/* another client is served meanwhile */
	cli_open(&other, s);
	t0 = loop_now_ms();
	expect_echo(cli_roundtrip(&other, "org.test.Echo",
	    text_params("meanwhile")), "meanwhile");
	dt = loop_now_ms() - t0;
	cli_close(&other);
	print_message("stream of %lld MiB to a client that does not read: "
	    "%lld replies (%lld KiB) produced, then parked; server RSS %lld "
	    "KiB at start, %lld KiB parked; another client's call took "
	    "%lld ms\n", count * size >> 20, sent, sent * size >> 10, rss0,
	    rss, dt);
	assert_true(sent * size < 64LL * 1024 * 1024);
	assert_true(rss < 64 * 1024);
	assert_true(dt < 1000);

	/* now it reads: every reply, in order, then the final one */
	t0 = loop_now_ms();
	read_stream_raw(&c, count, size);
	dt = loop_now_ms() - t0;
	hwm = tsrv_mem_kib(s, "VmHWM");
	st = stats(s);
	print_message("read %lld MiB in %lld ms; server peak RSS (VmHWM) %lld "
	    "KiB; producer resumed %lld times\n", count * size >> 20, dt, hwm,
	    t_int(st, "drains", 0));
	assert_int_equal(t_int(st, "sent", 0), count);
	assert_int_equal(t_int(st, "streams", 0), 1);
	assert_true(t_int(st, "drains", 0) > 0);
	json_object_put(st);
	assert_true(hwm < 64 * 1024);
	assert_true(count * size >= T_GIB);
	cli_close(&c);
}

/* Proves: CR 7.1 (an oversized reply ends its stream with one error). */
static void
test_stream_oversize_reply_one_error_nothing_after(void **state)
{
	struct json_object *msg, *p, *st;
	struct cli c;
	int i;

	cli_open(&c, *state);
	p = stream_call_params(5, 100);
	json_object_object_add(p, "oversize_at", json_object_new_int(2));
	cli_call(&c, "org.test.Stream", p, 1);
	for (i = 0; i < 2; i++) {
		msg = cli_recv(&c);
		assert_int_equal(t_int(expect_ok(msg), "i", -1), i);
		assert_true(json_object_get_boolean(json_object_object_get(msg,
		    "continues")));
		json_object_put(msg);
	}
	msg = cli_recv(&c);
	assert_string_equal(expect_error(msg, PROTO_ERR_FAILED),
	    "the reply is larger than 1048576 bytes; ask for less");
	json_object_put(msg);
	/* nothing of that call follows: the next message answers the next */
	expect_echo(cli_roundtrip(&c, "org.test.Echo", text_params("next")),
	    "next");
	st = stats(*state);
	assert_int_equal(t_int(st, "rc", 0), -1); /* call_reply_more said so */
	assert_int_equal(t_int(st, "sent", 0), 2);
	assert_int_equal(t_int(st, "streams", 0), 1);
	json_object_put(st);
	cli_close(&c);
}

/* --- many connections, limits, idle timeout ------------------------------- */

static int
setup_many(void **state)
{
	struct tsrv *s = xcalloc(1, sizeof *s);
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	s->lim.max_clients = 2000;
	tsrv_start(s);
	*state = s;
	return 0;
}

/* Proves: CR 7.1 (1000 idle connections do not hold up a call). */
static void
test_idle_many_connections_call_answered_quickly(void **state)
{
	struct tsrv *s = *state;
	struct rlimit rl;
	struct json_object *st;
	struct cli c, *conns;
	long long t0, dt;
	int i, n = 1000, base, nfds;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < (rlim_t)n + 100) {
		print_message("SKIP: RLIMIT_NOFILE is %llu, cannot open %d "
		    "connections\n", (unsigned long long)rl.rlim_cur, n);
		skip();
	}
	/*
	 * The idle timer's descriptor stays once a client came (until it
	 * fires): count from there.
	 */
	base = tsrv_nfds(s) + 1;
	cli_open(&c, s);
	expect_echo(cli_roundtrip(&c, "org.test.Echo", text_params("0")), "0");
	cli_close(&c);
	assert_int_equal(tsrv_wait_nfds(s, base, 5000), base);
	conns = xcalloc((size_t)n, sizeof *conns);
	for (i = 0; i < n; i++)
		cli_open(&conns[i], s);
	nfds = tsrv_wait_nfds(s, base + n, 10 * 1000);
	assert_int_equal(nfds, base + n);

	cli_open(&c, s);
	t0 = t_now_us();
	expect_echo(cli_roundtrip(&c, "org.test.Echo", text_params("1001")),
	    "1001");
	dt = t_now_us() - t0;
	cli_close(&c);
	st = stats(s);
	assert_int_equal(t_int(st, "clients", 0), n + 1);
	json_object_put(st);
	print_message("a call on a new connection beside %d idle ones: %lld "
	    "us\n", n, dt);
	assert_true(dt < 500 * 1000);

	for (i = 0; i < n; i++)
		cli_close(&conns[i]);
	free(conns);
	assert_int_equal(tsrv_wait_nfds(s, base, 10 * 1000), base);
}

/* Finds a group in /etc/group for the operator role; NULL if none. */
static const char *
operator_group(gid_t *gid)
{
	static const char *const names[] = { "nogroup", "nobody", "users" };
	struct group *gr;
	const char *found = NULL;
	size_t i;
	FILE *f;

	for (i = 0; i < sizeof names / sizeof names[0] && found == NULL;
	    i++) {
		if ((f = fopen("/etc/group", "re")) == NULL)
			return NULL;
		while ((gr = fgetgrent(f)) != NULL)
			if (strcmp(gr->gr_name, names[i]) == 0 &&
			    gr->gr_gid != 0) {
				found = names[i];
				*gid = gr->gr_gid;
				break;
			}
		fclose(f);
	}
	return found;
}

/*
 * Connects to s as uid/gid (a child process that drops root connects and
 * hands the connection over: the server sees the child's credentials).
 * Returns the connection, or -1 if the child could not connect.
 */
static int
connect_as(const struct tsrv *s, uid_t uid, gid_t gid)
{
	struct json_object *msg;
	struct proto_reader rd;
	char *cause = NULL;
	int sp[2], fd = -1, status;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp), 0);
	fflush(NULL);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		close(sp[0]);
		if (setgroups(0, NULL) == -1 || setgid(gid) == -1 ||
		    setuid(uid) == -1)
			_exit(2);
		if ((fd = proto_connect(s->path, &cause)) == -1)
			_exit(3);
		msg = json_object_new_object();
		if (proto_send_fds(sp[1], msg, &fd, 1, &cause) == -1)
			_exit(4);
		_exit(0);
	}
	close(sp[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 3) {
		close(sp[0]);
		return -1;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
	proto_reader_init(&rd);
	assert_int_equal(proto_recv(sp[0], &rd, &msg, &cause), 0);
	json_object_put(msg);
	assert_int_equal(proto_reader_take_fds(&rd, &fd, 1), 1);
	proto_reader_free(&rd);
	close(sp[0]);
	cli_timeout(fd, 5);
	return fd;
}

/* Calls Echo on a new connection; returns the first message answered. */
static struct json_object *
probe(struct cli *c, int fd)
{
	struct json_object *msg;
	char *cause = NULL;

	c->fd = fd;
	proto_reader_init(&c->rd);
	msg = proto_call_new("org.test.Echo", text_params("probe"), 0);
	/* a refused connection may be closed before the call is sent */
	if (proto_send(fd, msg, &cause) == -1)
		free(cause);
	json_object_put(msg);
	return cli_recv(c);
}

/* Expects the connection accepted: its call answered. */
static void
expect_accepted(struct cli *c, int fd)
{
	assert_true(fd != -1);
	expect_echo(probe(c, fd), "probe");
}

/* Expects the connection refused with error and message why, and closed. */
static void
expect_conn_refused(int fd, const char *error, const char *why)
{
	struct json_object *msg;
	struct cli c;

	assert_true(fd != -1);
	msg = probe(&c, fd);
	assert_string_equal(expect_error(msg, error), why);
	json_object_put(msg);
	assert_true(cli_closed(&c));
	cli_close(&c);
}

/* Expects the connection refused as busy with message why, and closed. */
static void
expect_busy(int fd, const char *why)
{
	expect_conn_refused(fd, PROTO_ERR_BUSY, why);
}

/* Connects as root from the test process itself. */
static int
root_connect(const struct tsrv *s)
{
	char *cause = NULL;
	int fd;

	if ((fd = proto_connect(s->path, &cause)) == -1)
		fail_msg("%s", cause);
	cli_timeout(fd, 5);
	return fd;
}

/* Proves: CR 7.1 (max_clients enforced). */
static void
test_limits_max_clients_busy(void **state)
{
	struct tsrv s;
	struct cli c[4];
	int i;

	(void)state;
	memset(&s, 0, sizeof s);
	s.lim.max_clients = 4;
	tsrv_start(&s);
	for (i = 0; i < 4; i++)
		expect_accepted(&c[i], root_connect(&s));
	expect_busy(root_connect(&s),
	    "too many connections (max_clients is 4): try again later");
	/* one leaves (and the server saw it go): there is room again */
	i = tsrv_nfds(&s);
	cli_close(&c[0]);
	assert_int_equal(tsrv_wait_nfds(&s, i - 1, 5000), i - 1);
	expect_accepted(&c[0], connect_as(&s, 0, 0));
	for (i = 0; i < 4; i++)
		cli_close(&c[i]);
	tsrv_stop(&s);
}

/*
 * Proves: CR 7.1 (a limit per uid; the last slots kept for admins),
 * CR 2.1 (a uid in no group of the server is refused).
 */
static void
test_limits_per_uid_and_admin_reserve_busy(void **state)
{
	struct tsrv s;
	struct cli a[3], b, r[2];
	const char *group;
	char *want;
	gid_t gid = 0;
	int i;

	(void)state;
	memset(&s, 0, sizeof s);
	if ((group = operator_group(&gid)) == NULL) {
		print_message("SKIP: /etc/group has none of nogroup, nobody, "
		    "users for the operator role of uids other than root\n");
		skip();
	}
	/* 6 in all, the last 2 for admins, 3 per uid */
	s.operator_group = group;
	s.lim.max_clients = 6;
	s.lim.admin_reserve = 2;
	s.lim.per_uid = 3;
	tsrv_start(&s);

	for (i = 0; i < 3; i++)
		expect_accepted(&a[i], connect_as(&s, 65534, gid));
	expect_busy(connect_as(&s, 65534, gid),
	    "too many connections from uid 65534 (at most 3): close some and "
	    "try again");
	/* another uid gets the fourth place, not the fifth: admins' */
	expect_accepted(&b, connect_as(&s, 65533, gid));
	expect_busy(connect_as(&s, 65533, gid),
	    "too many connections: the last 2 of 6 are kept for admins; try "
	    "again later");
	for (i = 0; i < 2; i++)
		expect_accepted(&r[i], connect_as(&s, 0, 0));
	expect_busy(connect_as(&s, 0, 0),
	    "too many connections (max_clients is 6): try again later");

	/* a uid in no group of the server is refused, whatever the room */
	cli_close(&r[1]);
	/* the socket's mode keeps it out; opened up, the role check does */
	assert_int_equal(chmod(s.path, 0666), 0);
	want = xasprintf("permission denied: uid 65533 is not in group %s",
	    group);
	expect_conn_refused(connect_as(&s, 65533, 65533),
	    PROTO_ERR_PERMISSION_DENIED, want);
	free(want);

	for (i = 0; i < 3; i++)
		cli_close(&a[i]);
	cli_close(&b);
	cli_close(&r[0]);
	tsrv_stop(&s);
}

/* Proves: CR 7.1 (idle connections closed; busy ones kept). */
static void
test_idle_timeout_closes_idle_keeps_busy(void **state)
{
	struct tsrv s;
	struct cli idle, busy;
	struct json_object *p;
	long long t0, t_idle, t_busy;

	(void)state;
	memset(&s, 0, sizeof s);
	s.lim.idle_ms = 300;
	tsrv_start(&s);
	cli_open(&idle, &s);
	cli_open(&busy, &s);
	t0 = loop_now_ms();
	expect_echo(cli_roundtrip(&idle, "org.test.Echo", text_params("i")),
	    "i");
	/* a call that runs for 1 s, longer than the idle limit */
	p = text_params("late");
	json_object_object_add(p, "ms", json_object_new_int(1000));
	cli_call(&busy, "org.test.Later", p, 0);

	cli_timeout(idle.fd, 5);
	assert_true(cli_closed(&idle));
	t_idle = loop_now_ms() - t0;
	expect_echo(cli_recv(&busy), "late");
	t_busy = loop_now_ms() - t0;
	/* idle again after its answer: closed in turn */
	cli_timeout(busy.fd, 5);
	assert_true(cli_closed(&busy));
	print_message("idle_ms 300: the idle connection closed after %lld ms; "
	    "the one with a 1000 ms call was answered after %lld ms and "
	    "closed %lld ms later\n", t_idle, t_busy,
	    loop_now_ms() - t0 - t_busy);
	assert_true(t_idle >= 250 && t_idle < 900);
	assert_true(t_busy >= 950);
	cli_close(&idle);
	cli_close(&busy);
	tsrv_stop(&s);
}

/* --- a slow client -------------------------------------------------------- */

/* Reads one message a byte at a time. */
static struct json_object *
recv_bytewise(int fd)
{
	struct json_object *msg;
	char *buf = xmalloc(PROTO_MAX_MSG + 1);
	size_t len = 0;

	for (;;) {
		assert_true(len <= PROTO_MAX_MSG);
		assert_int_equal(recv(fd, buf + len, 1, 0), 1);
		if (buf[len] == '\0')
			break;
		len++;
	}
	msg = json_tokener_parse(buf);
	assert_non_null(msg);
	free(buf);
	return msg;
}

/* Proves: none (a client reading byte by byte gets whole replies). */
static void
test_slow_client_complete_replies(void **state)
{
	struct json_object *msg, *call;
	char text[4001], want[20001];
	const char *s;
	struct cli c;
	size_t i;

	memset(text, 't', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	cli_open(&c, *state);
	/* the call too arrives a byte at a time */
	call = proto_call_new("org.test.Echo", text_params(text), 0);
	s = json_object_to_json_string_ext(call, JSON_C_TO_STRING_PLAIN);
	for (i = 0; i <= strlen(s); i++) {
		send_raw(c.fd, s + i, 1);
		if (i % 64 == 0)
			usleep(100);
	}
	json_object_put(call);
	expect_echo(recv_bytewise(c.fd), text);

	cli_call(&c, "org.test.Stream", stream_call_params(4, 20000), 1);
	for (i = 0; i < 4; i++) {
		msg = recv_bytewise(c.fd);
		assert_int_equal(t_int(expect_ok(msg), "i", -1), (long long)i);
		memset(want, 'a' + (int)i, 20000);
		want[20000] = '\0';
		assert_string_equal(t_str(expect_ok(msg), "data"), want);
		json_object_put(msg);
	}
	msg = recv_bytewise(c.fd);
	assert_int_equal(t_int(expect_ok(msg), "count", -1), 4);
	assert_null(json_object_object_get(msg, "continues"));
	json_object_put(msg);
	cli_close(&c);
}

/* --- the loop's jobs ------------------------------------------------------ */

/* Jobs that record that they ran and what each does to the others. */
struct tturn {
	struct loop *loop;
	struct loop_timer guard;
	struct tturn_job {
		struct job job; /* first: the job is the tturn_job */
		struct tturn *t;
		int ran;
	} a, b, d, e;
	int timed_out;
};

static void
tturn_guard(struct loop_timer *timer)
{
	struct tturn *t = timer->arg;

	t->timed_out = 1;
	loop_quit(t->loop);
}

/* a: takes b, queued behind it in the same turn, off; queues d. */
static int
tturn_a(struct job *job)
{
	struct tturn_job *j = (struct tturn_job *)job;

	j->ran++;
	loop_job_remove(j->t->loop, &j->t->b.job);
	loop_job_add(j->t->loop, &j->t->d.job);
	return JOB_DONE;
}

static int
tturn_b(struct job *job)
{
	((struct tturn_job *)job)->ran++;
	return JOB_DONE;
}

/* d: queues e. */
static int
tturn_d(struct job *job)
{
	struct tturn_job *j = (struct tturn_job *)job;

	j->ran++;
	loop_job_add(j->t->loop, &j->t->e.job);
	return JOB_DONE;
}

/* e: the end. */
static int
tturn_e(struct job *job)
{
	struct tturn_job *j = (struct tturn_job *)job;

	j->ran++;
	loop_quit(j->t->loop);
	return JOB_DONE;
}

/* Proves: none (the event loop's job queue). */
static void
test_loop_job_removed_in_its_turn_not_run_queue_intact(void **state)
{
	struct tturn t;

	(void)state;
	memset(&t, 0, sizeof t);
	t.loop = loop_new();
	t.a.t = t.b.t = t.d.t = t.e.t = &t;
	t.a.job.step = tturn_a;
	t.b.job.step = tturn_b;
	t.d.job.step = tturn_d;
	t.e.job.step = tturn_e;
	loop_timer_init(&t.guard, tturn_guard, &t);
	assert_int_equal(loop_timer_start(t.loop, &t.guard, 5000), 0);
	/* b is the last of the turn that a runs in */
	loop_job_add(t.loop, &t.a.job);
	loop_job_add(t.loop, &t.b.job);
	loop_run(t.loop);
	assert_false(t.timed_out);
	assert_int_equal(t.a.ran, 1);
	assert_int_equal(t.b.ran, 0);
	assert_int_equal(t.d.ran, 1);
	assert_int_equal(t.e.ran, 1);
	loop_timer_stop(t.loop, &t.guard);
	loop_free(t.loop);
}

/* Two watches whose events come in one batch; the first frees both. */
struct tdel {
	struct loop *loop;
	struct loop_watch *a, *b;
	int p[2], q[2];
	int calls;
};

static void
tdel_event(struct loop_watch *w, unsigned int events)
{
	struct tdel *t = w->arg;

	(void)events;
	t->calls++;
	/* whichever comes first deletes and frees both */
	loop_watch_del(t->loop, t->a);
	loop_watch_del(t->loop, t->b);
	free(t->a);
	free(t->b);
	t->a = t->b = NULL;
	loop_quit(t->loop);
}

/*
 * A callback that deletes and frees another watch whose event is in the
 * same batch: that event is not delivered (ASan sees a use after free
 * otherwise).
 * Proves: none (the event loop's watches).
 */
static void
test_loop_watch_deleted_in_its_batch_not_called(void **state)
{
	struct tdel t;

	(void)state;
	memset(&t, 0, sizeof t);
	t.loop = loop_new();
	assert_int_equal(pipe(t.p), 0);
	assert_int_equal(pipe(t.q), 0);
	t.a = xcalloc(1, sizeof *t.a);
	t.b = xcalloc(1, sizeof *t.b);
	assert_int_equal(loop_watch_add(t.loop, t.a, t.p[0], EPOLLIN,
	    tdel_event, &t), 0);
	assert_int_equal(loop_watch_add(t.loop, t.b, t.q[0], EPOLLIN,
	    tdel_event, &t), 0);
	/* both readable before the loop waits: one batch */
	assert_int_equal(write(t.p[1], "x", 1), 1);
	assert_int_equal(write(t.q[1], "x", 1), 1);
	loop_run(t.loop);
	assert_int_equal(t.calls, 1);
	close(t.p[0]);
	close(t.p[1]);
	close(t.q[0]);
	close(t.q[1]);
	loop_free(t.loop);
}

/* --- the peer client ------------------------------------------------------ */

/* What the peer's callbacks saw. */
struct pstate {
	struct loop *loop;
	struct peer *peer;
	struct tsrv *srv;
	struct loop_timer guard; /* ends a test that hangs */
	struct loop_timer later; /* a step of the test, at a time */
	void (*at)(struct pstate *); /* that step */
	void (*then)(struct pstate *); /* run when the calls are done */
	int want; /* calls finished before then, or the end */
	int done; /* calls finished */
	int timed_out;
	char *log[256];
	int nlog;
	struct ptag {
		struct pstate *st;
		char name[16];
	} tags[128];
	int ntags;
	long long t0;
};

static void
p_guard(struct loop_timer *t)
{
	struct pstate *st = t->arg;

	st->timed_out = 1;
	loop_quit(st->loop);
}

static void
p_later(struct loop_timer *t)
{
	struct pstate *st = t->arg;

	st->at(st);
}

static void
pstate_init(struct pstate *st, struct tsrv *srv)
{
	memset(st, 0, sizeof *st);
	st->srv = srv;
	st->loop = loop_new();
	st->peer = peer_new(st->loop, srv->path, "test");
	loop_timer_init(&st->guard, p_guard, st);
	loop_timer_init(&st->later, p_later, st);
	assert_int_equal(loop_timer_start(st->loop, &st->guard, 20 * 1000), 0);
	st->t0 = loop_now_ms();
}

/* Runs the loop until the calls are done; the log is then checked. */
static void
pstate_run(struct pstate *st)
{
	loop_run(st->loop);
	if (st->timed_out)
		fail_msg("the peer's calls did not finish: %d of %d", st->done,
		    st->want);
}

static void
pstate_free(struct pstate *st)
{
	int i;

	peer_free(st->peer);
	loop_timer_stop(st->loop, &st->guard);
	loop_timer_stop(st->loop, &st->later);
	loop_job_cancel_all(st->loop);
	loop_free(st->loop);
	for (i = 0; i < st->nlog; i++)
		free(st->log[i]);
}

/* Records a callback: "TAG ok PARAMS [+]" or "TAG ERROR MESSAGE". */
static void
p_cb(void *arg, const char *error, struct json_object *params, int continues,
    const int *fds, size_t nfds)
{
	struct ptag *t = arg;
	struct pstate *st = t->st;
	struct json_object *d;

	(void)fds;
	if (st->nlog == (int)(sizeof st->log / sizeof st->log[0]))
		fail_msg("too many replies");
	if (error != NULL)
		st->log[st->nlog++] = xasprintf("%s %s %s", t->name, error,
		    t_str(params, "message"));
	else {
		/* long data is summed up */
		if (json_object_object_get_ex(params, "data", &d))
			json_object_object_add(params, "data",
			    json_object_new_int(json_object_get_string_len(d)));
		st->log[st->nlog++] = xasprintf("%s ok %s%s%s", t->name,
		    json_object_to_json_string_ext(params,
		    JSON_C_TO_STRING_PLAIN), nfds > 0 ? " fds" : "",
		    continues ? " +" : "");
	}
	if (continues)
		return;
	if (++st->done == st->want) {
		if (st->then != NULL)
			st->then(st);
		else
			loop_quit(st->loop);
	}
}

/* Calls method through the peer, recording the replies under tag. */
static int
p_call(struct pstate *st, const char *tag, const char *method,
    struct json_object *params, int more)
{
	struct ptag *t = &st->tags[st->ntags++];

	t->st = st;
	snprintf(t->name, sizeof t->name, "%s", tag);
	return peer_call(st->peer, method, params, NULL, 0, more, p_cb, t);
}

/* {"ms": ms, "text": text} */
static struct json_object *
later_params(int ms, const char *text)
{
	struct json_object *p = text_params(text);

	json_object_object_add(p, "ms", json_object_new_int(ms));
	return p;
}

/* Expects the log to be exactly the lines given, NULL-terminated. */
static void
expect_log(struct pstate *st, ...)
{
	const char *want;
	va_list ap;
	int i = 0;

	va_start(ap, st);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (i >= st->nlog)
			fail_msg("missing reply %d: %s", i, want);
		assert_string_equal(st->log[i], want);
		i++;
	}
	va_end(ap);
	assert_int_equal(st->nlog, i);
}

/* Proves: none (the peer client; no daemon calls another yet). */
static void
test_peer_calls_answered_in_order(void **state)
{
	struct pstate st;

	pstate_init(&st, *state);
	/* the first takes longest; the answers still come in call order */
	assert_int_equal(p_call(&st, "a", "org.test.Later",
	    later_params(200, "A"), 0), 0);
	assert_int_equal(p_call(&st, "b", "org.test.Echo", text_params("B"),
	    0), 0);
	assert_int_equal(p_call(&st, "c", "org.test.Later",
	    later_params(10, "C"), 0), 0);
	assert_int_equal(p_call(&st, "d", "org.test.Nope", NULL, 0), 0);
	assert_int_equal(peer_pending(st.peer), 4);
	assert_int_equal(st.nlog, 0); /* nothing from within peer_call */
	st.want = 4;
	pstate_run(&st);
	expect_log(&st, "a ok {\"text\":\"A\"}", "b ok {\"text\":\"B\"}",
	    "c ok {\"text\":\"C\"}",
	    "d org.varlink.service.MethodNotFound no method 'org.test.Nope'",
	    NULL);
	assert_int_equal(peer_pending(st.peer), 0);
	pstate_free(&st);
}

/* Proves: none (the peer client; no daemon calls another yet). */
static void
test_peer_stream_every_reply(void **state)
{
	struct pstate st;

	pstate_init(&st, *state);
	assert_int_equal(p_call(&st, "s", "org.test.Stream",
	    stream_call_params(3, 5), 1), 0);
	assert_int_equal(p_call(&st, "e", "org.test.Echo", text_params("E"),
	    0), 0);
	st.want = 2;
	pstate_run(&st);
	expect_log(&st, "s ok {\"i\":0,\"data\":5} +",
	    "s ok {\"i\":1,\"data\":5} +", "s ok {\"i\":2,\"data\":5} +",
	    "s ok {\"count\":3}", "e ok {\"text\":\"E\"}", NULL);
	pstate_free(&st);
}

/* Proves: none (the peer client; no daemon calls another yet). */
static void
test_peer_file_passed(void **state)
{
	struct pstate st;
	struct ptag *t;
	int fd = text_file(*state, "through the peer");

	pstate_init(&st, *state);
	t = &st.tags[st.ntags++];
	t->st = &st;
	strcpy(t->name, "f");
	/* the descriptor is taken over: closed once sent */
	assert_int_equal(peer_call(st.peer, "org.test.ReadFile",
	    file_params(0, "/f"), &fd, 1, 0, p_cb, t), 0);
	st.want = 1;
	pstate_run(&st);
	expect_log(&st, "f ok {\"content\":\"through the peer\"}", NULL);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	pstate_free(&st);
}

/* The server crashes while three calls wait for it. */
static void
p_kill(struct pstate *st)
{
	tsrv_kill(st->srv);
}

/* The server is back: the next call connects again. */
static void
p_restart(struct pstate *st)
{
	tsrv_start(st->srv);
	st->then = NULL;
	st->want++;
	assert_int_equal(p_call(st, "d", "org.test.Echo", text_params("D"),
	    0), 0);
}

/* Proves: none (the peer client; no daemon calls another yet). */
static void
test_peer_server_dies_pending_failed_then_reconnects(void **state)
{
	struct pstate st;

	pstate_init(&st, *state);
	assert_int_equal(p_call(&st, "a", "org.test.Echo", text_params("A"),
	    0), 0);
	assert_int_equal(p_call(&st, "b", "org.test.Later",
	    later_params(10000, "B"), 0), 0);
	assert_int_equal(p_call(&st, "c", "org.test.Echo", text_params("C"),
	    0), 0);
	st.at = p_kill;
	assert_int_equal(loop_timer_start(st.loop, &st.later, 200), 0);
	st.want = 3;
	st.then = p_restart;
	pstate_run(&st);
	expect_log(&st, "a ok {\"text\":\"A\"}",
	    "b org.cml.Error.Failed test is not reachable: it closed the "
	    "connection",
	    "c org.cml.Error.Failed test is not reachable: it closed the "
	    "connection",
	    "d ok {\"text\":\"D\"}", NULL);
	pstate_free(&st);
}

/* Proves: none (the peer client; no daemon calls another yet). */
static void
test_peer_no_server_fails_from_loop(void **state)
{
	struct tsrv gone;
	struct pstate st;
	char *want;

	memset(&gone, 0, sizeof gone);
	snprintf(gone.path, sizeof gone.path, "%s/none.sock",
	    ((struct tsrv *)*state)->dir);
	pstate_init(&st, &gone);
	assert_int_equal(p_call(&st, "a", "org.test.Echo", NULL, 0), 0);
	assert_int_equal(p_call(&st, "b", "org.test.Echo", NULL, 0), 0);
	assert_int_equal(st.nlog, 0); /* not from within peer_call */
	st.want = 2;
	pstate_run(&st);
	want = xasprintf("org.cml.Error.Failed test is not reachable: cannot "
	    "connect to %s: No such file or directory", gone.path);
	assert_int_equal(st.nlog, 2);
	assert_string_equal(st.log[0] + 2, want);
	assert_string_equal(st.log[1] + 2, want);
	free(want);
	pstate_free(&st);
}

/* The calls were answered: there is room again. */
static void
p_room_again(struct pstate *st)
{
	st->then = NULL;
	st->want++;
	assert_int_equal(p_call(st, "again", "org.test.Echo",
	    text_params("again"), 0), 0);
}

/* Proves: none (the peer client; no daemon calls another yet). */
static void
test_peer_queue_bound_eagain(void **state)
{
	struct pstate st;
	char tag[16];
	int i;

	pstate_init(&st, *state);
	for (i = 0; i < PEER_MAX_CALLS; i++) {
		snprintf(tag, sizeof tag, "%d", i);
		assert_int_equal(p_call(&st, tag, "org.test.Echo",
		    text_params(tag), 0), 0);
	}
	errno = 0;
	assert_int_equal(p_call(&st, "over", "org.test.Echo",
	    text_params("over"), 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(peer_pending(st.peer), PEER_MAX_CALLS);
	st.want = PEER_MAX_CALLS;
	st.then = p_room_again;
	pstate_run(&st);
	assert_int_equal(st.nlog, PEER_MAX_CALLS + 1);
	for (i = 0; i < PEER_MAX_CALLS; i++) {
		snprintf(tag, sizeof tag, "%d", i);
		assert_int_equal(strncmp(st.log[i], tag, strlen(tag)), 0);
		assert_non_null(strstr(st.log[i], " ok "));
	}
	assert_string_equal(st.log[PEER_MAX_CALLS],
	    "again ok {\"text\":\"again\"}");
	pstate_free(&st);
}

/* After a timeout the peer is used again: a new connection. */
static void
p_after_timeout(struct pstate *st)
{
	st->then = NULL;
	st->want++;
	st->t0 = loop_now_ms() - st->t0; /* when the timeout came */
	assert_int_equal(p_call(st, "c", "org.test.Echo", text_params("C"),
	    0), 0);
}

/* Proves: none (the peer client; no daemon calls another yet). */
static void
test_peer_timeout_fails_call(void **state)
{
	struct pstate st;

	pstate_init(&st, *state);
	peer_set_timeout(st.peer, 250);
	assert_int_equal(p_call(&st, "a", "org.test.Later",
	    later_params(5000, "A"), 0), 0);
	assert_int_equal(p_call(&st, "b", "org.test.Echo", text_params("B"),
	    0), 0);
	st.want = 2;
	st.then = p_after_timeout;
	pstate_run(&st);
	expect_log(&st,
	    "a org.cml.Error.Failed test did not answer org.test.Later "
	    "within 250 ms",
	    "b org.cml.Error.Failed test is not reachable: the connection "
	    "was closed after org.test.Later got no answer within 250 ms",
	    "c ok {\"text\":\"C\"}", NULL);
	print_message("a call past a 250 ms timeout failed after %lld ms\n",
	    st.t0);
	assert_true(st.t0 >= 240 && st.t0 < 2000);
	pstate_free(&st);
}

/* Frees the peer with a call pending. */
static void
p_free_now(struct pstate *st)
{
	peer_free(st->peer);
	st->peer = NULL;
	loop_quit(st->loop);
}

/* Proves: none (the peer client; no daemon calls another yet). */
static void
test_peer_free_fails_pending(void **state)
{
	struct pstate st;

	pstate_init(&st, *state);
	assert_int_equal(p_call(&st, "a", "org.test.Later",
	    later_params(5000, "A"), 0), 0);
	st.at = p_free_now;
	assert_int_equal(loop_timer_start(st.loop, &st.later, 100), 0);
	st.want = 2; /* never: the loop ends when the peer is freed */
	pstate_run(&st);
	expect_log(&st, "a org.cml.Error.Failed test is not reachable: the "
	    "connection was closed before the answer came", NULL);
	pstate_free(&st);
}

/*
 * A timer that counts its firings, and one that takes the test from step
 * to step (a loop runs once: loop_quit is for good).
 */
struct timer_count {
	struct loop *loop;
	struct loop_timer t, step;
	int fired, nstep, fd;
};

static void
timer_count_fire(struct loop_timer *t)
{
	((struct timer_count *)t->arg)->fired++;
}

static void
timer_count_step(struct loop_timer *st)
{
	struct timer_count *c = st->arg;

	switch (c->nstep++) {
	case 0:
		/* disarmed at once: it did not fire */
		assert_int_equal(c->fired, 0);
		/* expired, not read yet by the loop, then disarmed */
		assert_int_equal(loop_timer_start(c->loop, &c->t, 1), 0);
		assert_int_equal(c->t.w.fd, c->fd);
		usleep(20000);
		loop_timer_disarm(&c->t);
		assert_int_equal(loop_timer_start(c->loop, &c->step, 30), 0);
		break;
	case 1:
		assert_int_equal(c->fired, 0);
		/* started again: fires once, then is no longer armed */
		assert_int_equal(loop_timer_start(c->loop, &c->t, 5), 0);
		assert_true(loop_timer_armed(&c->t));
		assert_int_equal(loop_timer_start(c->loop, &c->step, 60), 0);
		break;
	default:
		assert_int_equal(c->fired, 1);
		assert_false(loop_timer_armed(&c->t));
		assert_int_equal(c->t.w.fd, c->fd);
		loop_quit(c->loop);
		break;
	}
}

/*
 * Proves: none (a timer disarmed does not fire, not even with an expiry
 * the loop has not read yet, keeps its descriptor for the next start, and
 * is armed from its start until it fires).
 */
static void
test_loop_timer_disarm_keeps_fd_never_fires(void **state)
{
	struct timer_count c;

	(void)state;
	memset(&c, 0, sizeof c);
	c.loop = loop_new();
	loop_timer_init(&c.t, timer_count_fire, &c);
	loop_timer_init(&c.step, timer_count_step, &c);

	assert_int_equal(loop_timer_start(c.loop, &c.t, 10), 0);
	assert_true(loop_timer_armed(&c.t));
	c.fd = c.t.w.fd;
	loop_timer_disarm(&c.t);
	assert_false(loop_timer_armed(&c.t));
	assert_int_equal(loop_timer_start(c.loop, &c.step, 60), 0);
	loop_run(c.loop);
	assert_int_equal(c.nstep, 3);

	loop_timer_stop(c.loop, &c.t);
	assert_int_equal(c.t.w.fd, -1);
	loop_timer_stop(c.loop, &c.step);
	loop_free(c.loop);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_framing_call_answered),
		T(test_framing_two_calls_in_one_write_answered_in_order),
		T(test_framing_malformed_protocol_error_closed),
		T(test_framing_oversize_without_nul_closed),
		T(test_framing_invalid_utf8_closed),
		T(test_framing_duplicate_key_closed),
		T(test_method_unknown_method_not_found),
		T(test_method_unknown_interface_not_found),
		T(test_method_without_handler_not_implemented),
		T(test_param_unknown_invalid_parameter),
		T(test_param_huge_name_reply_bounded),
		T(test_fd_file_param_reaches_handler),
		T(test_fd_index_beyond_passed_refused),
		T(test_fd_refused_calls_descriptors_closed),
		T(test_stream_unread_replies_memory_bounded),
		T(test_stream_oversize_reply_one_error_nothing_after),
		cmocka_unit_test_setup_teardown(
		    test_idle_many_connections_call_answered_quickly,
		    setup_many, teardown),
		cmocka_unit_test(test_limits_max_clients_busy),
		cmocka_unit_test(test_limits_per_uid_and_admin_reserve_busy),
		cmocka_unit_test(test_idle_timeout_closes_idle_keeps_busy),
		T(test_slow_client_complete_replies),
		cmocka_unit_test(
		    test_loop_job_removed_in_its_turn_not_run_queue_intact),
		cmocka_unit_test(test_loop_watch_deleted_in_its_batch_not_called),
		cmocka_unit_test(test_loop_timer_disarm_keeps_fd_never_fires),
		T(test_peer_calls_answered_in_order),
		T(test_peer_stream_every_reply),
		T(test_peer_file_passed),
		T(test_peer_server_dies_pending_failed_then_reconnects),
		T(test_peer_no_server_fails_from_loop),
		T(test_peer_queue_bound_eagain),
		T(test_peer_timeout_fails_call),
		T(test_peer_free_fails_pending),
	};
#undef T

	signal(SIGPIPE, SIG_IGN);
	log_init("test_server", 1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
