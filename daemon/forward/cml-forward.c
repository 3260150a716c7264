/*
 * cml-forward: forwards the audit trail to a syslog collector as RFC 5424
 * messages over TLS (RFC 5425), with mutual authentication by the device
 * certificate whose key stays in the TPM.  cmld starts it with one end of
 * a SOCK_SEQPACKET socket pair and feeds it records; each message is one
 * JSON object (cml-forward(8)):
 *
 *   cmld -> here: {"config":{"host","port","hostname","ca","cert"}}
 *                 {"resume":{"session":N,"after":SEQ}}
 *                 {"record":{ the export object of a record }}
 *   here -> cmld: {"state":"connected","session":N,"protocol":"TLSv1.3"}
 *                 {"state":"disconnected","error":"..."}
 *                 {"received":SEQ}
 *
 * After each "connected", records are taken only after the "resume" of
 * that session: records cmld sent before it learnt of a disconnect are
 * dropped, and cmld sends again from its cursor.  A record counts as
 * received once the collector's TCP acknowledged every byte up to its
 * last (SIOCOUTQ is 0): RFC 5425 has no acknowledgement of its own.
 * Blocking on tpm2d or the collector is fine here: cmld never waits for
 * this process, it only bounds the records in flight.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "jsonstrict.h"
#include "log.h"
#include "loop.h"
#include "syslog.h"
#include "tls.h"
#include "xmalloc.h"

/* The largest message from cmld (a config with its CAs, a record). */
#define FWD_MSG_MAX (512 * 1024)
/* Records held at most: cmld's window is smaller; more is cmld's bug. */
#define FWD_QUEUE_MAX 1024
/* The first and the longest wait before connecting again. */
#define FWD_BACKOFF_MIN_MS 1000
#define FWD_BACKOFF_MAX_MS 30000
/* How often the collector's acknowledgement is looked for. */
#define FWD_ACK_POLL_MS 20

/* A record, formatted, waiting to be written. */
struct fwd_frame {
	long long seq;
	char *buf;
	size_t len;
	TAILQ_ENTRY(fwd_frame) entry;
};
TAILQ_HEAD(fwd_frames, fwd_frame);

/* cml-forward's state. */
struct fwd {
	int fd; /* to cmld */
	const char *tpm2d_sock;
	char *hostname;
	struct fwd_tls *tls; /* NULL until configured */
	int connected;
	long long session; /* counts connections */
	int resumed; /* the resume of this session came */
	long long accepted; /* the last record taken in this session */
	long long written; /* the last record written in this session */
	long long reported; /* the last "received" sent */
	struct fwd_frames queue; /* not written yet */
	size_t nqueued;
	long long backoff_ms;
	long long next_try; /* monotonic ms; 0: now */
};

/* Sends a message to cmld (taken over); cmld gone ends this process. */
static void
fwd_send(struct fwd *f, struct json_object *msg)
{
	const char *s = json_object_to_json_string_ext(msg,
	    JSON_C_TO_STRING_PLAIN);

	while (send(f->fd, s, strlen(s), MSG_NOSIGNAL) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET) {
			log_info("cmld has gone: stopping");
			exit(0);
		}
		fatal("sending to cmld");
	}
	json_object_put(msg);
}

/* Sends {"state":state} with one more member (NULL: none). */
static void
fwd_send_state(struct fwd *f, const char *state, const char *key,
    struct json_object *value)
{
	struct json_object *msg = json_object_new_object();

	json_object_object_add(msg, "state", json_object_new_string(state));
	if (key != NULL)
		json_object_object_add(msg, key, value);
	fwd_send(f, msg);
}

/* Drops every record not written yet. */
static void
fwd_queue_clear(struct fwd *f)
{
	struct fwd_frame *fr;

	while ((fr = TAILQ_FIRST(&f->queue)) != NULL) {
		TAILQ_REMOVE(&f->queue, fr, entry);
		free(fr->buf);
		free(fr);
	}
	f->nqueued = 0;
}

/*
 * Ends the connection, tells cmld why, and waits before the next try:
 * 1 s, doubling up to 30 s while tries fail.
 */
static void
fwd_disconnected(struct fwd *f, const char *why)
{
	if (f->connected)
		log_info("disconnected from the collector: %s", why);
	else
		log_debug("cannot connect to the collector: %s", why);
	if (f->tls != NULL)
		fwd_tls_close(f->tls);
	f->connected = 0;
	f->resumed = 0;
	fwd_queue_clear(f);
	f->next_try = loop_now_ms() + f->backoff_ms;
	f->backoff_ms *= 2;
	if (f->backoff_ms > FWD_BACKOFF_MAX_MS)
		f->backoff_ms = FWD_BACKOFF_MAX_MS;
	fwd_send_state(f, "disconnected", "error",
	    json_object_new_string(why));
}

/* Connects when it is time to. */
static void
fwd_try_connect(struct fwd *f)
{
	struct json_object *msg;
	char *cause = NULL;

	if (f->tls == NULL || f->connected || loop_now_ms() < f->next_try)
		return;
	if (fwd_tls_connect(f->tls, &cause) == -1) {
		fwd_disconnected(f, cause);
		free(cause);
		return;
	}
	f->connected = 1;
	f->resumed = 0;
	f->session++;
	f->backoff_ms = FWD_BACKOFF_MIN_MS;
	log_info("connected to the collector (%s)", fwd_tls_version(f->tls));
	msg = json_object_new_object();
	json_object_object_add(msg, "state",
	    json_object_new_string("connected"));
	json_object_object_add(msg, "session",
	    json_object_new_int64(f->session));
	json_object_object_add(msg, "protocol",
	    json_object_new_string(fwd_tls_version(f->tls)));
	fwd_send(f, msg);
}

/* Writes the records waiting; a failure disconnects. */
static void
fwd_flush(struct fwd *f)
{
	struct fwd_frame *fr;
	char *cause = NULL;

	while (f->connected && (fr = TAILQ_FIRST(&f->queue)) != NULL) {
		if (fwd_tls_write(f->tls, fr->buf, fr->len, &cause) == -1) {
			fwd_disconnected(f, cause);
			free(cause);
			return;
		}
		f->written = fr->seq;
		TAILQ_REMOVE(&f->queue, fr, entry);
		f->nqueued--;
		free(fr->buf);
		free(fr);
	}
}

/* Reports the records the collector's TCP acknowledged in full. */
static void
fwd_check_acked(struct fwd *f)
{
	struct json_object *msg;
	char *cause = NULL;
	long n;

	if (!f->connected || f->written <= f->reported)
		return;
	if ((n = fwd_tls_unacked(f->tls, &cause)) == -1) {
		fwd_disconnected(f, cause);
		free(cause);
		return;
	}
	if (n != 0)
		return;
	f->reported = f->written;
	msg = json_object_new_object();
	json_object_object_add(msg, "received",
	    json_object_new_int64(f->reported));
	fwd_send(f, msg);
}

/* Takes the configuration; a bad one is cmld's bug. */
static void
fwd_config(struct fwd *f, struct json_object *cfg)
{
	struct fwd_tls_config tc = { 0 };
	const char *hostname;
	struct json_object *o;
	char *cause = NULL;
	long long port;

	if (jsonstrict_get_string(cfg, "config", "host", JSONSTRICT_REQUIRED,
	    &tc.host, &cause) == -1 ||
	    jsonstrict_get_string(cfg, "config", "hostname",
	    JSONSTRICT_REQUIRED, &hostname, &cause) == -1 ||
	    jsonstrict_get_string(cfg, "config", "ca", JSONSTRICT_REQUIRED,
	    &tc.ca_pem, &cause) == -1 ||
	    jsonstrict_get_string(cfg, "config", "cert", JSONSTRICT_REQUIRED,
	    &tc.cert_pem, &cause) == -1)
		fatalx("cmld sent a bad config: %s", cause);
	if (!json_object_object_get_ex(cfg, "port", &o) ||
	    !json_object_is_type(o, json_type_int) ||
	    (port = json_object_get_int64(o)) < 1 || port > 65535)
		fatalx("cmld sent a bad config: no port");
	tc.port = (int)port;
	tc.tpm2d_sock = f->tpm2d_sock;
	if (f->connected)
		fwd_disconnected(f, "the configuration changed");
	fwd_tls_free(f->tls);
	free(f->hostname);
	f->hostname = xstrdup(hostname);
	f->next_try = 0;
	f->backoff_ms = FWD_BACKOFF_MIN_MS;
	if ((f->tls = fwd_tls_new(&tc, &cause)) == NULL) {
		/* Nothing to try until cmld sends a usable one. */
		log_warnx("%s", cause);
		fwd_send_state(f, "disconnected", "error",
		    json_object_new_string(cause));
		free(cause);
	}
}

/* Takes a resume: records after `after` are cmld's for this session. */
static void
fwd_resume(struct fwd *f, struct json_object *r)
{
	struct json_object *s, *a;

	if (!json_object_object_get_ex(r, "session", &s) ||
	    !json_object_is_type(s, json_type_int) ||
	    !json_object_object_get_ex(r, "after", &a) ||
	    !json_object_is_type(a, json_type_int))
		fatalx("cmld sent a bad resume");
	/* A resume of an older session: its records are dropped too. */
	if (!f->connected || json_object_get_int64(s) != f->session)
		return;
	f->resumed = 1;
	f->accepted = f->written = f->reported = json_object_get_int64(a);
}

/* Takes a record: formatted and queued, in order, once. */
static void
fwd_record(struct fwd *f, struct json_object *rec)
{
	struct fwd_frame *fr;
	char *cause = NULL;

	if (!f->connected || !f->resumed)
		return; /* sent before cmld learnt of the disconnect */
	fr = xcalloc(1, sizeof *fr);
	if (fwd_syslog_frame(rec, f->hostname, &fr->buf, &fr->len, &fr->seq,
	    &cause) == -1)
		fatalx("cmld sent a bad record: %s", cause);
	if (fr->seq <= f->accepted) {
		free(fr->buf);
		free(fr);
		return;
	}
	if (f->nqueued == FWD_QUEUE_MAX)
		fatalx("cmld sent more than %d records in flight",
		    FWD_QUEUE_MAX);
	f->accepted = fr->seq;
	TAILQ_INSERT_TAIL(&f->queue, fr, entry);
	f->nqueued++;
}

/*
 * Reads one message from cmld: 1 when there was one, 0 when none waits;
 * cmld's end ends this process.
 */
static int
fwd_read_cmld(struct fwd *f, char *buf)
{
	static const struct jsonstrict_limits lim = { NULL, FWD_MSG_MAX, 8,
	    0, JSONSTRICT_SYNTAX_ONLY };
	struct json_object *msg, *o;
	char *cause = NULL;
	ssize_t n;

	n = recv(f->fd, buf, FWD_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		if (errno == ECONNRESET) {
			log_info("cmld has gone: stopping");
			exit(0);
		}
		fatal("reading from cmld");
	}
	if (n == 0) {
		log_info("cmld has gone: stopping");
		exit(0);
	}
	if (n > FWD_MSG_MAX)
		fatalx("cmld sent a message of %zd bytes", n);
	if (jsonstrict_parse(buf, (size_t)n, &lim, &msg, &cause) == -1 ||
	    !json_object_is_type(msg, json_type_object))
		fatalx("cmld sent a bad message: %s", cause != NULL ? cause :
		    "not an object");
	if (json_object_object_get_ex(msg, "record", &o))
		fwd_record(f, o);
	else if (json_object_object_get_ex(msg, "resume", &o))
		fwd_resume(f, o);
	else if (json_object_object_get_ex(msg, "config", &o))
		fwd_config(f, o);
	else
		fatalx("cmld sent an unknown message");
	json_object_put(msg);
	return 1;
}

/* Prints the usage; exits with status. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: cml-forward --fd N --tpm2d-socket PATH "
	    "[--log-level LEVEL]\n"
	    "cmld starts it: N is its end of a SOCK_SEQPACKET socket pair, "
	    "PATH tpm2d's\nsocket (the device key signs there).  See "
	    "cml-forward(8).\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "tpm2d-socket", required_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	enum log_level level = LOG_LEVEL_INFO;
	struct fwd f = { 0 };
	struct pollfd pfd[2];
	char *buf, *end;
	long long left;
	long fd = -1;
	int c, timeout, type;
	socklen_t len = sizeof type;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			errno = 0;
			fd = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || fd < 0 ||
			    fd > INT_MAX)
				usage(2);
			break;
		case 't':
			f.tpm2d_sock = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) == -1)
				usage(2);
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc || fd == -1 || f.tpm2d_sock == NULL)
		usage(2);
	log_init("cml-forward", 1, level);
	if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_SEQPACKET)
		fatalx("--fd %ld is no SOCK_SEQPACKET socket", fd);
	signal(SIGPIPE, SIG_IGN);

	f.fd = (int)fd;
	f.backoff_ms = FWD_BACKOFF_MIN_MS;
	TAILQ_INIT(&f.queue);
	buf = xmalloc(FWD_MSG_MAX + 1);
	for (;;) {
		fwd_try_connect(&f);
		fwd_flush(&f);
		fwd_check_acked(&f);

		timeout = -1;
		if (f.connected && f.written > f.reported)
			timeout = FWD_ACK_POLL_MS;
		else if (!f.connected && f.tls != NULL) {
			left = f.next_try - loop_now_ms();
			timeout = left < 0 ? 0 : (int)left;
		}
		pfd[0].fd = f.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = f.connected ? fwd_tls_fd(f.tls) : -1;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents != 0 && f.connected) {
			char *cause = NULL;

			if (fwd_tls_read(f.tls, &cause) == -1) {
				fwd_disconnected(&f, cause);
				free(cause);
			}
		}
		/* A batch of messages, then the records go out together. */
		for (c = 0; pfd[0].revents != 0 && c < FWD_QUEUE_MAX; c++)
			if (fwd_read_cmld(&f, buf) == 0)
				break;
	}
}
