/*
 * scd: the second stage, the only process that holds token secrets.
 * This file is its main(): the options and configuration, the start-up
 * in order (no core dumps, directories, tokens, worker, platform secret
 * from tpm2d, server) and the end.  The tokens and their methods are in
 * token.c, the software token in soft.c, the worker thread in worker.c,
 * the platform secret in platform.c, the card driver in card.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "context.h"
#include "spool.h"
#include "staged.h"
#include "worker.h"
#include "xmalloc.h"

#define SCD_DEFAULT_KDF "default"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: scd [--root DIR] [--tpm2d-socket PATH] [--kdf-cost "
	    "CLASS]\n"
	    "           [--foreground] [--ready-fd N] [--log-level LEVEL]\n"
	    "       scd --version | --help\n"
	    "  --root DIR          keep the socket under DIR/run/cml and the "
	    "tokens under\n"
	    "                      DIR/var/lib/cml/scd\n"
	    "  --tpm2d-socket PATH where tpm2d gives the platform secret "
	    "(default:\n"
	    "                      ROOT/run/cml/tpm2d.sock; '': none, and no "
	    "token works)\n"
	    "  --kdf-cost CLASS    scrypt cost of new software tokens' PINs: "
	    "default\n"
	    "                      (N=2^17, 128 MiB), low (N=2^15) or test "
	    "(N=2^10, tests only)\n"
	    "  --foreground, -f    stay in the foreground, log to stderr\n"
	    "  --ready-fd N        write READY=1 to fd N once serving\n"
	    "  --log-level LEVEL   warning, info or debug\n"
	    "Options not given are taken from /etc/cml/scd.conf "
	    "(DIR/etc/cml/scd.conf\n"
	    "with --root) if it exists: tpm2d_socket, kdf_cost, log_level.\n");
}

int
scd_kdf_class(const char *name, struct scd_kdf *kdf)
{
	kdf->r = 8;
	kdf->p = 1;
	if (strcmp(name, "default") == 0)
		kdf->log2n = 17;
	else if (strcmp(name, "low") == 0)
		kdf->log2n = 15;
	else if (strcmp(name, "test") == 0)
		kdf->log2n = 10;
	else
		return -1;
	return 0;
}

/*
 * Audits the calls that change something or were refused; reading calls
 * that succeeded are not (Status, TokenStatus, List, Readers, TakeAudit).
 * A call's details name the token, never a secret.
 */
static int
scd_quiet(const struct call *call)
{
	return (call->cmd->flags & CMD_READONLY) != 0;
}

static void
scd_call_done(struct call *call, int refused)
{
	staged_audit_call(call_scd(call)->spool, call, refused, scd_quiet);
}

/* Audits what happened to a connection (refused, malformed, idle). */
static void
scd_session(void *ctx, uid_t uid, pid_t pid, const char *object,
    const char *error, const char *msg)
{
	struct scd *s = ctx;

	staged_audit_session(s->spool, uid, pid, object, error, msg);
}

/* What the command line gave; the configuration file fills in the rest. */
#define SCD_NKEYS 3

/*
 * Applies the options, and the configuration file's values for those not
 * given (o: tpm2d_socket, kdf_cost, log_level); -1 when one is bad (said
 * on stderr).
 */
static int
scd_configure(struct scd *s, const char *root, const char **o,
    enum log_level *level)
{
	static const char *const keys[SCD_NKEYS] = {
		"tpm2d_socket", "kdf_cost", "log_level"
	};
	char *conf, *cause = NULL, *keep[SCD_NKEYS] = { NULL };
	int i, ret = -1;

	conf = xasprintf("%s/etc/cml/scd.conf", root);
	if (daemon_read_config(conf, keys, SCD_NKEYS, o, keep, &cause) ==
	    -1) {
		fprintf(stderr, "scd: %s\n", cause);
		goto out;
	}
	if (o[0] == NULL)
		s->tpm2d_sock = xasprintf("%s/run/cml/tpm2d.sock", root);
	else if (*o[0] == '\0')
		s->tpm2d_sock = NULL;
	else if (o[0][0] != '/' || strlen(o[0]) > 107) {
		fprintf(stderr, "scd: --tpm2d-socket (tpm2d_socket) needs an "
		    "absolute path of at most 107 bytes, or '' for none\n");
		goto out;
	} else
		s->tpm2d_sock = xstrdup(o[0]);
	s->kdf_class = o[1] != NULL ? o[1] : SCD_DEFAULT_KDF;
	if (scd_kdf_class(s->kdf_class, &s->kdf) == -1) {
		fprintf(stderr, "scd: --kdf-cost (kdf_cost) is default, low "
		    "or test, not '%s'\n", s->kdf_class);
		goto out;
	}
	/* a string of its own: keep is freed below */
	s->kdf_class = strcmp(s->kdf_class, "test") == 0 ? "test" :
	    strcmp(s->kdf_class, "low") == 0 ? "low" : "default";
	if (o[2] != NULL && log_level_parse(o[2], level) == -1) {
		fprintf(stderr, "scd: unknown log level '%s': use warning, "
		    "info or debug\n", o[2]);
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < SCD_NKEYS; i++) {
		o[i] = NULL;
		free(keep[i]);
	}
	free(cause);
	free(conf);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "tpm2d-socket", required_argument, NULL, 't' },
		{ "kdf-cost", required_argument, NULL, 'k' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct scd s;
	const char *o[SCD_NKEYS] = { NULL, NULL, NULL };
	enum log_level level = LOG_LEVEL_INFO;
	const char *root = "";
	int ch, foreground = 0, ready_fd = -1, daemon_fd = -1;

	memset(&s, 0, sizeof s);
	TAILQ_INIT(&s.tokens);
	while ((ch = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			root = optarg;
			break;
		case 't':
			o[0] = optarg;
			break;
		case 'k':
			o[1] = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'R':
			if ((ready_fd = daemon_ready_fd("scd", optarg)) == -1)
				return 2;
			break;
		case 'l':
			o[2] = optarg;
			break;
		case 'V':
			printf("scd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (daemon_check_root("scd", root) == -1)
		return 2;
	if (scd_configure(&s, root, o, &level) == -1) {
		free(s.tpm2d_sock);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "scd: must run as root\n");
		free(s.tpm2d_sock);
		return 1;
	}

	/* PINs, keys and the platform secret pass through: no core dumps */
	daemon_fd = daemon_start("scd", foreground, level);
	s.run_dir = xasprintf("%s/run/cml", root);
	s.state_dir = xasprintf("%s/var/lib/cml/scd", root);
	s.tokens_dir = xasprintf("%s/tokens", s.state_dir);
	s.sock_path = xasprintf("%s/scd.sock", s.run_dir);
	s.pid_path = xasprintf("%s/scd.pid", s.run_dir);
	/* cmld's state directory above keeps the mode it has */
	daemon_mkdirs(s.run_dir, 0755);
	daemon_mkdirs(s.state_dir, 0700);
	daemon_mkdirs(s.tokens_dir, 0700);
	umask(0077);

	s.spool = spool_new();
	s.pcsc = "down";
	s.pcsc_reason = xstrdup("not asked yet");
	s.loop = loop_new();
	spool_add(s.spool, "daemon", "scd", "ok", "scd %s started (pid %ld, "
	    "KDF cost %s for new software tokens)", PACKAGE_VERSION,
	    (long)getpid(), s.kdf_class);
	if (strcmp(s.kdf_class, "test") == 0)
		log_warnx("--kdf-cost test: the PINs of new software tokens "
		    "are weakly protected (for tests only)");
	scd_tokens_load(&s);
	s.worker = worker_new(s.loop);
	scd_platform_start(&s);
	scd_pcsc_probe(&s);

	s.srv_cfg.name = "scd";
	s.srv_cfg.sock_path = s.sock_path;
	s.srv_cfg.operator_group = NULL;
	s.srv_cfg.admin_group = NULL;
	s.srv_cfg.table = scd_table;
	s.srv_cfg.table_len = scd_table_len;
	s.srv_cfg.handlers = scd_handlers;
	s.srv_cfg.nhandlers = CMD_ID_COUNT;
	s.srv_cfg.ctx = &s;
	s.srv_cfg.policy = NULL;
	s.srv_cfg.done = scd_call_done;
	s.srv_cfg.session = scd_session;
	s.srv = srv_new(s.loop, &s.srv_cfg);

	daemon_signals(s.loop, 0);
	daemon_write_pid(s.pid_path);

	log_info("serving %s (%zu tokens in %s, tpm2d %s, log level %s)",
	    s.sock_path, s.ntokens, s.tokens_dir,
	    s.tpm2d_sock != NULL ? s.tpm2d_sock : "none",
	    log_level_name(log_get_level()));
	daemon_ready("scd", foreground, ready_fd, daemon_fd);

	loop_run(s.loop);

	loop_sd_notify("STOPPING=1");
	s.stopping = 1;
	/* the job running ends; the calls of those queued are answered */
	worker_free(s.worker);
	s.worker = NULL;
	loop_job_cancel_all(s.loop);
	srv_close_clients(s.srv);
	loop_job_cancel_all(s.loop);
	srv_free(s.srv);
	s.srv = NULL;
	scd_platform_stop(&s);
	(void)unlink(s.pid_path);
	loop_free(s.loop);
	scd_tokens_free(&s);
	spool_free(s.spool);
	free(s.tpm2d_sock);
	free(s.run_dir);
	free(s.state_dir);
	free(s.tokens_dir);
	free(s.sock_path);
	free(s.pid_path);
	free(s.pcsc_reason);
	log_info("stopped");
	return 0;
}
