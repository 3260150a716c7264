/*
 * Audit forwarding, cmld's side: cml-forward (daemon/forward/) talks TLS
 * to the collector and asks tpm2d to sign; cmld only starts it, feeds it
 * records from the store and keeps the cursor.  The protocol is one JSON
 * object per SOCK_SEQPACKET message (cml-forward(8)):
 *
 *   cmld -> cml-forward: {"config":{...}}, {"resume":{"session","after"}},
 *                        {"record":{...}}
 *   cml-forward -> cmld: {"state":"connected","session":N,...},
 *                        {"state":"disconnected","error":"..."},
 *                        {"received":SEQ}
 *
 * Records go out only within a session, after its "resume" (the cursor):
 * whatever was in flight when the connection went is sent again from the
 * cursor.  The collector's receipt moves the cursor, which retention by
 * acknowledgement counts (audit-space.c).
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit-int.h"
#include "crypto.h"
#include "ctx.h"
#include "daemon.h"
#include "devcert.h"
#include "forward.h"
#include "jsonstrict.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "xmalloc.h"

#ifndef CML_FORWARD_PROGRAM
#define CML_FORWARD_PROGRAM "/usr/libexec/cml/cml-forward"
#endif
/* The descriptor cml-forward gets its end of the socket pair as. */
#define FORWARD_CHILD_FD 3
/* The largest message cml-forward sends (a state with its error). */
#define FORWARD_MSG_MAX 8192
/* The meta key of the cursor in audit.db (audit-space.c reads it). */
#define FORWARD_CURSOR_KEY "forward_cursor"

struct forward {
	struct cmld *cmld;
	char *host;
	long long port;
	char *program;
	char *tpm2d_sock;
	const char *state; /* as forward_status says it */
	char *error; /* why it is not connected; NULL: no reason */
	long long cursor; /* the last record the collector received */
	long long sent; /* the last record sent in this session */
	long long session; /* the session resumed; 0: none */
	pid_t pid; /* cml-forward; 0: none */
	int pidfd;
	int fd; /* cmld's end of the socket pair */
	struct loop_watch sock_w;
	struct loop_watch pid_w;
	struct loop_timer restart_t;
	long long restart_ms; /* the next wait before a restart */
	char *pending; /* a message the full socket did not take */
	size_t pending_len;
	int connected_once; /* since cml-forward last started */
	char *audited; /* the outage's reason last put in the trail */
};

static void forward_launch(struct forward *fw);

/* Sets why forwarding does not work now (NULL: it does). */
static void
forward_set_error(struct forward *fw, const char *error)
{
	free(fw->error);
	fw->error = error != NULL ? xstrdup(error) : NULL;
}

/*
 * Notes an outage: logged and audited when its reason changes, so that a
 * collector that stays away does not fill the trail with each try, while
 * a refused certificate after a closed connection is recorded.
 */
static void
forward_down(struct forward *fw, const char *state, const char *why)
{
	fw->state = state;
	forward_set_error(fw, why);
	if (fw->audited != NULL && strcmp(fw->audited, why) == 0)
		return;
	free(fw->audited);
	fw->audited = xstrdup(why);
	log_warnx("audit forwarding to %s port %lld: %s", fw->host, fw->port,
	    why);
	audit_write(fw->cmld, "audit", "forwarding", "failed",
	    "forwarding to %s port %lld stopped at record #%lld: %s",
	    fw->host, fw->port, fw->cursor, why);
}

/* Returns a certificate as PEM (allocated). */
static char *
forward_pem(const unsigned char *der, size_t len)
{
	char *b64 = crypto_base64(der, len), *pem, *p;
	size_t n = strlen(b64), i;

	pem = xmalloc(n + n / 64 + 64);
	p = pem + sprintf(pem, "-----BEGIN CERTIFICATE-----\n");
	for (i = 0; i < n; i += 64) {
		memcpy(p, b64 + i, n - i < 64 ? n - i : 64);
		p += n - i < 64 ? n - i : 64;
		*p++ = '\n';
	}
	strcpy(p, "-----END CERTIFICATE-----\n");
	free(b64);
	return pem;
}

/* Collects the trust anchors as PEM (store_anchor_list's callback). */
static int
forward_anchor_cb(const struct store_anchor *a, void *arg)
{
	char **all = arg, *pem = forward_pem(a->der, a->der_len), *s;

	s = xasprintf("%s%s", *all != NULL ? *all : "", pem);
	free(pem);
	free(*all);
	*all = s;
	return 0;
}

/*
 * Makes cml-forward's configuration: the collector, the device name as
 * HOSTNAME, the trust anchors as the CAs the collector's certificate must
 * chain to, the device certificate.  NULL with *cause set when one is
 * missing.
 */
static struct json_object *
forward_config(struct forward *fw, char **cause)
{
	struct cmld *cmld = fw->cmld;
	struct store_device_cert dc;
	struct json_object *cfg, *msg;
	char *ca = NULL, *cert;
	int rc;

	memset(&dc, 0, sizeof dc);
	if ((rc = store_device_cert_get(cmld->store, &dc, cause)) != 1) {
		if (rc == 0)
			*cause = xstrdup("no device certificate: the collector "
			    "authenticates the device by it (device cert "
			    "install)");
		return NULL;
	}
	if (store_anchor_list(cmld->store, forward_anchor_cb, &ca,
	    cause) == -1 || ca == NULL) {
		if (ca == NULL && *cause == NULL)
			*cause = xstrdup("no trust anchor to check the "
			    "collector's certificate against (ca add)");
		store_device_cert_clear(&dc);
		free(ca);
		return NULL;
	}
	/* With its chain, the path to the root a collector may trust. */
	cert = crypto_devcert_pem(dc.der, dc.der_len, dc.chain, dc.chain_len);
	store_device_cert_clear(&dc);
	if (cert == NULL) {
		*cause = xstrdup("the device certificate in the store or its "
		    "chain cannot be encoded as PEM");
		free(ca);
		return NULL;
	}
	cfg = json_object_new_object();
	json_object_object_add(cfg, "host", json_object_new_string(fw->host));
	json_object_object_add(cfg, "port", json_object_new_int64(fw->port));
	json_object_object_add(cfg, "hostname",
	    json_object_new_string(cmld->device_name != NULL ?
	    cmld->device_name : ""));
	json_object_object_add(cfg, "ca", json_object_new_string(ca));
	json_object_object_add(cfg, "cert", json_object_new_string(cert));
	free(ca);
	free(cert);
	msg = json_object_new_object();
	json_object_object_add(msg, "config", cfg);
	return msg;
}

/*
 * Finds cml-forward: in the slot cml-launch(8) runs cmld from, next to a
 * cmld run from the build tree (daemon/cmld/cmld and
 * daemon/forward/cml-forward), else where it is installed.
 */
static char *
forward_program(void)
{
	char exe[PATH_MAX], *slash, *path, *real;
	const char *slots = getenv("CML_SLOTS"), *slot = getenv("CML_SLOT");
	ssize_t n;

	/* cml-launch's slot: the cml-forward of the same cml */
	if (slots != NULL && slot != NULL && *slots == '/' &&
	    (strcmp(slot, "a") == 0 || strcmp(slot, "b") == 0))
		return xasprintf("%s/%s/libexec/cml/cml-forward", slots, slot);

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return xstrdup(CML_FORWARD_PROGRAM);
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return xstrdup(CML_FORWARD_PROGRAM);
	*slash = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL || strcmp(slash, "/cmld") != 0)
		return xstrdup(CML_FORWARD_PROGRAM);
	path = xasprintf("%s/../forward/cml-forward", exe);
	if ((real = realpath(path, NULL)) == NULL)
		return path; /* named as it is in the error */
	free(path);
	return real;
}

/* Closes the socket to cml-forward and drops what waits to go there. */
static void
forward_close_socket(struct forward *fw)
{
	if (fw->fd == -1)
		return;
	loop_watch_del(fw->cmld->loop, &fw->sock_w);
	close(fw->fd);
	fw->fd = -1;
	free(fw->pending);
	fw->pending = NULL;
	fw->session = 0;
}

/*
 * Ends a cml-forward that broke the protocol; its end (the pidfd) starts
 * another.
 */
static void
forward_kill(struct forward *fw, const char *why)
{
	log_warnx("cml-forward: %s: stopping it", why);
	forward_close_socket(fw);
	if (fw->pid != 0)
		syscall(SYS_pidfd_send_signal, fw->pidfd, SIGKILL, NULL, 0);
}

/*
 * Sends a message (taken over): 0 sent, 1 kept until the socket takes it
 * (nothing more may be sent until then), -1 when the socket failed.
 */
static int
forward_send(struct forward *fw, struct json_object *msg)
{
	const char *s = json_object_to_json_string_ext(msg,
	    JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	int rc = 0;

	if (fw->fd == -1)
		rc = -1;
	else if (send(fw->fd, s, len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS) {
			fw->pending = xmalloc(len);
			memcpy(fw->pending, s, len);
			fw->pending_len = len;
			loop_watch_mod(fw->cmld->loop, &fw->sock_w,
			    EPOLLIN | EPOLLOUT);
			rc = 1;
		} else {
			forward_kill(fw, "its socket failed");
			rc = -1;
		}
	}
	json_object_put(msg);
	return rc;
}

/* Sends one record (store_audit_range's callback); stops when full. */
static int
forward_record_cb(const struct audit_record *rec, void *arg)
{
	struct forward *fw = arg;
	struct json_object *msg = json_object_new_object();
	int rc;

	json_object_object_add(msg, "record", audit_record_json(rec, 1));
	rc = forward_send(fw, msg);
	if (rc == -1)
		return 1;
	fw->sent = rec->seq;
	return rc;
}

/* Sends the records after those in flight, up to the window. */
static void
forward_pump(struct forward *fw)
{
	long long until, room;
	char *cause = NULL;

	if (fw->session == 0 || fw->pending != NULL)
		return;
	room = FORWARD_WINDOW - (fw->sent - fw->cursor);
	until = audit_stored_seq(fw->cmld);
	if (room <= 0 || fw->sent >= until)
		return;
	if (store_audit_range(fw->cmld->store, NULL, fw->sent, until, room,
	    forward_record_cb, fw, &cause) == -1) {
		log_warnx("audit forwarding: %s", cause);
		free(cause);
	}
}

/* Moves the cursor to seq and keeps it in audit.db. */
static void
forward_received(struct forward *fw, long long seq)
{
	char v[32], *cause = NULL;

	if (seq > fw->sent) {
		forward_kill(fw, "it reported a record received that was "
		    "never sent");
		return;
	}
	if (seq <= fw->cursor)
		return;
	fw->cursor = seq;
	snprintf(v, sizeof v, "%lld", seq);
	if (store_audit_meta_set(fw->cmld->store, FORWARD_CURSOR_KEY, v,
	    &cause) == -1) {
		log_warnx("audit forwarding: the cursor cannot be kept: %s",
		    cause);
		free(cause);
	}
	forward_pump(fw);
}

/* A session began: the records after the cursor go (again). */
static void
forward_connected(struct forward *fw, struct json_object *msg)
{
	struct json_object *o, *r, *resume;
	const char *proto = "TLS";

	if (!json_object_object_get_ex(msg, "session", &o) ||
	    !json_object_is_type(o, json_type_int) ||
	    json_object_get_int64(o) < 1) {
		forward_kill(fw, "it sent a connection without a session");
		return;
	}
	if (json_object_object_get_ex(msg, "protocol", &r) &&
	    json_object_is_type(r, json_type_string))
		proto = json_object_get_string(r);
	/* A record for the old session is dropped there anyway. */
	if (fw->pending != NULL) {
		free(fw->pending);
		fw->pending = NULL;
		loop_watch_mod(fw->cmld->loop, &fw->sock_w, EPOLLIN);
	}
	fw->session = json_object_get_int64(o);
	fw->sent = fw->cursor;
	fw->state = "connected";
	forward_set_error(fw, NULL);
	fw->connected_once = 1;
	fw->restart_ms = FORWARD_RESTART_MIN_MS;
	r = json_object_new_object();
	json_object_object_add(r, "session",
	    json_object_new_int64(fw->session));
	json_object_object_add(r, "after", json_object_new_int64(fw->cursor));
	resume = json_object_new_object();
	json_object_object_add(resume, "resume", r);
	if (forward_send(fw, resume) == 0)
		forward_pump(fw);
	/* After the resume: this record may be sent at once. */
	log_info("audit forwarding: connected to %s port %lld (%s) from "
	    "record #%lld", fw->host, fw->port, proto, fw->cursor + 1);
	free(fw->audited);
	fw->audited = NULL;
	audit_write(fw->cmld, "audit", "forwarding", "ok",
	    "connected to the collector %s port %lld (%s, mutual "
	    "authentication); forwarding from record #%lld", fw->host,
	    fw->port, proto, fw->cursor + 1);
}

/* Handles one message of cml-forward. */
static void
forward_message(struct forward *fw, struct json_object *msg)
{
	struct json_object *o, *e;
	const char *state;

	if (json_object_object_get_ex(msg, "received", &o) &&
	    json_object_is_type(o, json_type_int)) {
		forward_received(fw, json_object_get_int64(o));
		return;
	}
	if (!json_object_object_get_ex(msg, "state", &o) ||
	    !json_object_is_type(o, json_type_string)) {
		forward_kill(fw, "it sent an unknown message");
		return;
	}
	state = json_object_get_string(o);
	if (strcmp(state, "connected") == 0)
		forward_connected(fw, msg);
	else if (strcmp(state, "disconnected") == 0) {
		fw->session = 0;
		forward_down(fw, "disconnected",
		    json_object_object_get_ex(msg, "error", &e) &&
		    json_object_is_type(e, json_type_string) ?
		    json_object_get_string(e) : "disconnected");
	} else
		forward_kill(fw, "it sent an unknown state");
}

/* The socket to cml-forward is readable or writable. */
static void
forward_sock_cb(struct loop_watch *w, unsigned int events)
{
	static const struct jsonstrict_limits lim = { NULL, FORWARD_MSG_MAX,
	    4, 0, JSONSTRICT_SYNTAX_ONLY };
	struct forward *fw = w->arg;
	struct json_object *msg;
	char buf[FORWARD_MSG_MAX], *cause = NULL;
	ssize_t n;
	int i;

	if ((events & EPOLLOUT) && fw->pending != NULL) {
		if (send(fw->fd, fw->pending, fw->pending_len, MSG_DONTWAIT |
		    MSG_NOSIGNAL) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ENOBUFS) {
				forward_kill(fw, "its socket failed");
				return;
			}
		} else {
			free(fw->pending);
			fw->pending = NULL;
			loop_watch_mod(fw->cmld->loop, &fw->sock_w, EPOLLIN);
			forward_pump(fw);
		}
	}
	/* A bounded batch, so that a chatty child cannot hold the loop. */
	for (i = 0; i < 64 && fw->fd != -1; i++) {
		n = recv(fw->fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
		if (n <= 0) {
			/* Its end: the pidfd says how it ended. */
			forward_close_socket(fw);
			return;
		}
		if ((size_t)n > sizeof buf ||
		    jsonstrict_parse(buf, (size_t)n, &lim, &msg, &cause) ==
		    -1 || !json_object_is_type(msg, json_type_object)) {
			free(cause);
			if ((size_t)n <= sizeof buf)
				json_object_put(msg);
			forward_kill(fw, "it sent a malformed message");
			return;
		}
		forward_message(fw, msg);
		json_object_put(msg);
	}
}

/* The restart timer: cml-forward (or its configuration) again. */
static void
forward_restart_cb(struct loop_timer *t)
{
	forward_launch(t->arg);
}

/* Waits before the next start: 1 s, doubling up to a minute. */
static void
forward_schedule(struct forward *fw)
{
	if (loop_timer_start(fw->cmld->loop, &fw->restart_t,
	    fw->restart_ms) == -1)
		log_warn("audit forwarding: no restart timer");
	fw->restart_ms *= 2;
	if (fw->restart_ms > FORWARD_RESTART_MAX_MS)
		fw->restart_ms = FORWARD_RESTART_MAX_MS;
}

/* cml-forward ended: reaped, and started again later. */
static void
forward_pid_cb(struct loop_watch *w, unsigned int events)
{
	struct forward *fw = w->arg;
	siginfo_t si;
	char *why;

	(void)events;
	memset(&si, 0, sizeof si);
	if (waitid((idtype_t)P_PIDFD, (id_t)fw->pidfd, &si,
	    WEXITED | WNOHANG) == -1 || si.si_pid == 0)
		return;
	loop_watch_del(fw->cmld->loop, &fw->pid_w);
	close(fw->pidfd);
	fw->pidfd = -1;
	fw->pid = 0;
	forward_close_socket(fw);
	if (si.si_code == CLD_EXITED)
		why = xasprintf("cml-forward exited with status %d",
		    si.si_status);
	else
		why = xasprintf("cml-forward was killed by signal %d",
		    si.si_status);
	if (fw->connected_once)
		fw->restart_ms = FORWARD_RESTART_MIN_MS;
	forward_down(fw, "restarting", why);
	free(why);
	forward_schedule(fw);
}

/*
 * Forks and executes cml-forward with its end of a socket pair as
 * FORWARD_CHILD_FD; its stdout and stderr are cmld's (its log).  Returns
 * the pid, or -1 with *cause set.
 */
static pid_t
forward_spawn(struct forward *fw, int sv[2], char **cause)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C", NULL };
	char fdarg[16], *argv[8];
	pid_t pid;
	int nullfd;

	snprintf(fdarg, sizeof fdarg, "%d", FORWARD_CHILD_FD);
	argv[0] = fw->program;
	argv[1] = "--fd";
	argv[2] = fdarg;
	argv[3] = "--tpm2d-socket";
	argv[4] = fw->tpm2d_sock;
	argv[5] = "--log-level";
	argv[6] = (char *)log_level_name(log_get_level());
	argv[7] = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		*cause = xasprintf("socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* A cmld that dies takes it along. */
		if (daemon_child_init(SIGTERM) == -1)
			_exit(126);
		nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nullfd == -1 || dup2(nullfd, 0) == -1 ||
		    dup2(sv[1], FORWARD_CHILD_FD) == -1)
			_exit(126);
		syscall(SYS_close_range, FORWARD_CHILD_FD + 1, ~0U, 0);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(sv[1]);
	return pid;
}

/*
 * Starts cml-forward with its configuration; when something is missing
 * (a certificate, an anchor, the program), says why and tries again
 * later.
 */
static void
forward_launch(struct forward *fw)
{
	struct json_object *cfg;
	char *cause = NULL;
	int sv[2];

	if (fw->pid != 0)
		return;
	if (access(fw->program, X_OK) == -1) {
		cause = xasprintf("cml-forward is not installed at %s: %s",
		    fw->program, strerror(errno));
		goto later;
	}
	if ((cfg = forward_config(fw, &cause)) == NULL)
		goto later;
	if ((fw->pid = forward_spawn(fw, sv, &cause)) == -1) {
		fw->pid = 0;
		json_object_put(cfg);
		goto later;
	}
	fw->fd = sv[0];
	if (fcntl(fw->fd, F_SETFL, O_NONBLOCK) == -1)
		fatal("fcntl");
	if ((fw->pidfd = (int)syscall(SYS_pidfd_open, fw->pid, 0)) == -1)
		fatal("pidfd_open");
	if (loop_watch_add(fw->cmld->loop, &fw->sock_w, fw->fd, EPOLLIN,
	    forward_sock_cb, fw) == -1 ||
	    loop_watch_add(fw->cmld->loop, &fw->pid_w, fw->pidfd, EPOLLIN,
	    forward_pid_cb, fw) == -1)
		fatal("audit forwarding: cannot watch cml-forward");
	fw->state = "starting";
	fw->connected_once = 0;
	fw->session = 0;
	log_info("audit forwarding: started cml-forward (pid %ld) for %s "
	    "port %lld", (long)fw->pid, fw->host, fw->port);
	forward_send(fw, cfg);
	return;
later:
	forward_down(fw, "unconfigured", cause);
	free(cause);
	forward_schedule(fw);
}

void
forward_start(struct cmld *cmld, const char *tpm2d_sock)
{
	struct forward *fw;
	char *host = store_setting_value(cmld->store, "audit_forward_host");
	long long stored;

	if (cmld->forward != NULL || *host == '\0') {
		free(host);
		return;
	}
	fw = xcalloc(1, sizeof *fw);
	fw->cmld = cmld;
	fw->host = host;
	fw->port = audit_setting_int(cmld, "audit_forward_port");
	fw->program = forward_program();
	fw->tpm2d_sock = xstrdup(tpm2d_sock != NULL ? tpm2d_sock : "");
	fw->fd = fw->pidfd = -1;
	fw->restart_ms = FORWARD_RESTART_MIN_MS;
	fw->state = "starting";
	loop_timer_init(&fw->restart_t, forward_restart_cb, fw);
	fw->cursor = audit_forward_cursor(cmld);
	stored = audit_stored_seq(cmld);
	if (fw->cursor > stored) {
		/* A trail begun anew: its records were never forwarded. */
		log_warnx("audit forwarding: the cursor #%lld is past the "
		    "trail's last record #%lld: forwarding from the start",
		    fw->cursor, stored);
		fw->cursor = 0;
	}
	fw->sent = fw->cursor;
	cmld->forward = fw;
	forward_launch(fw);
}

void
forward_kick(struct cmld *cmld)
{
	if (cmld->forward != NULL)
		forward_pump(cmld->forward);
}

void
forward_status(struct cmld *cmld, struct json_object *o)
{
	struct forward *fw = cmld->forward;

	json_object_object_add(o, "forward_host",
	    json_object_new_string(fw != NULL ? fw->host : ""));
	json_object_object_add(o, "forward_state",
	    json_object_new_string(fw != NULL ? fw->state : "off"));
	json_object_object_add(o, "forward_cursor",
	    json_object_new_int64(fw != NULL ? fw->cursor :
	    audit_forward_cursor(cmld)));
	if (fw != NULL && fw->error != NULL)
		json_object_object_add(o, "forward_error",
		    json_object_new_string(fw->error));
}

void
forward_stop(struct cmld *cmld)
{
	struct forward *fw = cmld->forward;
	siginfo_t si;

	if (fw == NULL)
		return;
	cmld->forward = NULL;
	loop_timer_stop(cmld->loop, &fw->restart_t);
	forward_close_socket(fw);
	if (fw->pid != 0) {
		/* It ends at SIGTERM whatever it waits for: reaped here. */
		loop_watch_del(cmld->loop, &fw->pid_w);
		syscall(SYS_pidfd_send_signal, fw->pidfd, SIGTERM, NULL, 0);
		while (waitid((idtype_t)P_PIDFD, (id_t)fw->pidfd, &si,
		    WEXITED) == -1 && errno == EINTR)
			;
		close(fw->pidfd);
	}
	free(fw->host);
	free(fw->program);
	free(fw->tpm2d_sock);
	free(fw->error);
	free(fw->audited);
	free(fw->pending);
	free(fw);
}

const struct audit_hook forward_audit_hook = {
	.committed = forward_kick,
};
