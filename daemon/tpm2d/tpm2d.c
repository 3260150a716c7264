/*
 * tpm2d: the first stage, the only process that talks to the TPM.  This
 * file is its main(): the options, the ESYS context over the configured
 * TCTI, the start-up in order (TPM, system key, device key, server) and
 * the end.  The methods that describe tpm2d itself (Status, GetInfo) are
 * in status.c (with the audit spool), the system key in syskey.c, PCRs in
 * pcr.c, return codes in rc.c, the device key and quotes in
 * identity.c and attest.c, the state volume in volume.c, version floors
 * in floor.c.
 *
 * TPM commands are synchronous: a handler blocks the loop for the few
 * milliseconds a command takes.  tpm2d has few callers (cmld, scd).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_tctildr.h>

#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "staged.h"
#include "context.h"
#include "xmalloc.h"

/* Where tpm2d talks to the TPM unless told otherwise. */
#define TPM2D_DEFAULT_TCTI "device:/dev/tpmrm0"
/*
 * The PCRs the system key is sealed to by default: the firmware's code
 * (0), option ROMs (2), the boot loader (4) and Secure Boot's policy (7).
 */
#define TPM2D_DEFAULT_SEAL_PCRS "0,2,4,7"
/*
 * The PCR containers' measurements go to: 13.  In the Linux TPM PCR
 * registry it holds system extension images that systemd-stub measures,
 * which an appliance booting one signed image has none of; 0-7 belong to
 * the firmware, 8 and 9 to boot loaders and the kernel, 10 to IMA, 11 and
 * 12 to unified kernel images and their command line, 14 to shim, 15 to
 * systemd's machine and volume measurements.  16 and 23 can be reset at
 * locality 0, so a measurement there could be wiped and replayed;
 * 17 to 22 belong to dynamic launch.
 */
#define TPM2D_DEFAULT_MEASURE_PCR 13

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tpm2d [--root DIR] [--tcti TCTI] [--seal-pcrs LIST] "
	    "[--measure-pcr N]\n"
	    "             [--state-volume PATH [--state-mount DIR]]\n"
	    "             [--foreground] [--ready-fd N] [--log-level LEVEL]\n"
	    "       tpm2d --version | --help\n"
	    "  --root DIR         keep the socket under DIR/run/cml and the "
	    "state under\n"
	    "                     DIR/var/lib/cml/tpm2d\n"
	    "  --tcti TCTI        how to reach the TPM (default: %s;\n"
	    "                     swtpm:path=SOCKET for a software TPM)\n"
	    "  --seal-pcrs LIST   PCRs the system key is sealed to when made "
	    "(default: %s)\n"
	    "  --measure-pcr N    PCR that Extend measures into (default: "
	    "%d)\n"
	    "  --state-volume PATH  a LUKS2 volume (block device or image "
	    "file) opened\n"
	    "                     with the system key and mounted on the "
	    "state directory\n"
	    "  --state-mount DIR  where (default: ROOT/var/lib/cml, cmld's "
	    "state)\n"
	    "  --foreground, -f   stay in the foreground, log to stderr\n"
	    "  --ready-fd N       write READY=1 to fd N once serving\n"
	    "  --log-level LEVEL  warning, info or debug\n"
	    "Options not given are taken from /etc/cml/tpm2d.conf "
	    "(DIR/etc/cml/tpm2d.conf\n"
	    "with --root) if it exists: tcti, seal_pcrs, measure_pcr, "
	    "log_level,\nstate_volume, state_mount.\n",
	    TPM2D_DEFAULT_TCTI, TPM2D_DEFAULT_SEAL_PCRS,
	    TPM2D_DEFAULT_MEASURE_PCR);
}

/*
 * Parses a PCR list ("0,2,4,7") into pcrs, sorted, each once; -1 with
 * *cause set on a bad one.
 */
static int
tpm2d_parse_pcrs(const char *s, int *pcrs, size_t *npcrs, char **cause)
{
	int seen[TPM2D_MAX_PCRS] = { 0 }, i;
	const char *p = s;
	char *end;
	long v;

	*npcrs = 0;
	for (;;) {
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < 0 ||
		    v >= TPM2D_MAX_PCRS || (*end != ',' && *end != '\0')) {
			xcause(cause, "'%s' is no list of PCRs from 0 to %d "
			    "(such as 0,2,4,7)", s, TPM2D_MAX_PCRS - 1);
			return -1;
		}
		seen[v] = 1;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	for (i = 0; i < TPM2D_MAX_PCRS; i++)
		if (seen[i])
			pcrs[(*npcrs)++] = i;
	return 0;
}

/* Parses a number from min to max; -1 if it is none. */
static int
tpm2d_parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * Opens the TCTI and the ESYS context and starts the TPM up; 0, or -1 with
 * *cause set (and nothing left open).
 */
static int
tpm2d_tpm_connect(struct tpm2d *t, char **cause)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	TSS2_RC rc;

	rc = Tss2_TctiLdr_Initialize(t->tcti, &tcti);
	if (rc != TSS2_RC_SUCCESS) {
		xcause(cause, "cannot open the TCTI '%s': %s", t->tcti,
		    tpm2d_rc_str(rc));
		return -1;
	}
	rc = Esys_Initialize(&t->esys, tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		xcause(cause, "cannot make the ESYS context over '%s': %s",
		    t->tcti, tpm2d_rc_str(rc));
		Tss2_TctiLdr_Finalize(&tcti);
		t->esys = NULL;
		return -1;
	}
	rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
	if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE) {
		xcause(cause, "TPM2_Startup over '%s': %s", t->tcti,
		    tpm2d_rc_str(rc));
		Esys_Finalize(&t->esys);
		Tss2_TctiLdr_Finalize(&tcti);
		return -1;
	}
	t->tcti_ctx = tcti;
	t->tpm_lost = 0;
	return 0;
}

/* Opens the TPM and reads what it is; exits on error. */
static void
tpm2d_tpm_open(struct tpm2d *t)
{
	UINT32 m, f1, f2;
	size_t i, n;
	char *cause = NULL, c;

	if (tpm2d_tpm_connect(t, &cause) == -1) {
		tpm2d_audit(t, "tpm", t->tcti, "error", "%s", cause);
		fatalx("%s", cause);
	}
	m = tpm2d_property(t, TPM2_PT_MANUFACTURER);
	n = 0;
	for (i = 0; i < 4; i++) {
		c = (char)((m >> (24 - 8 * i)) & 0xff);
		if (c >= 0x21 && c <= 0x7e)
			t->manufacturer[n++] = c;
	}
	t->manufacturer[n] = '\0';
	f1 = tpm2d_property(t, TPM2_PT_FIRMWARE_VERSION_1);
	f2 = tpm2d_property(t, TPM2_PT_FIRMWARE_VERSION_2);
	(void)snprintf(t->firmware, sizeof t->firmware, "%u.%u.%u.%u",
	    (unsigned)(f1 >> 16), (unsigned)(f1 & 0xffff),
	    (unsigned)(f2 >> 16), (unsigned)(f2 & 0xffff));
}

/*
 * Before a call that needs the TPM: after the connection broke, opens it
 * anew.  Returns 0, or answers the call and returns -1.
 */
static int
tpm2d_policy(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	TSS2_TCTI_CONTEXT *tcti;
	char *cause = NULL;

	if (!t->tpm_lost)
		return 0;
	switch (call->cmd->id) {
	case CMD_ID_TPM_STATUS:
	case CMD_ID_TPM_TAKE_AUDIT:
	case CMD_ID_TPM_PLATFORM_SECRET:
	case CMD_ID_SERVICE_GET_INFO:
	case CMD_ID_SERVICE_GET_INTERFACE_DESCRIPTION:
		return 0;
	default:
		break;
	}
	/* what is left of the broken connection goes first */
	tcti = t->tcti_ctx;
	if (t->esys != NULL)
		Esys_Finalize(&t->esys);
	if (tcti != NULL)
		Tss2_TctiLdr_Finalize(&tcti);
	t->tcti_ctx = NULL;
	if (tpm2d_tpm_connect(t, &cause) == -1) {
		call_error(call, TPM2D_ERR_TPM, NULL, "the TPM cannot be "
		    "reached: %s", cause);
		free(cause);
		return -1;
	}
	tpm2d_audit(t, "tpm", t->tcti, "ok", "reconnected to the TPM over %s",
	    t->tcti);
	return 0;
}

/*
 * Closes the ESYS context and the TCTI.  A software TPM is told
 * TPM2_Shutdown first, as a platform tells its TPM before power goes:
 * swtpm is stopped next (scripts/stack), and a TPM that was not shut down
 * in order counts the next use of a key under dictionary attack
 * protection as a failed try.  A command after it undoes it, so a TPM
 * that goes on (a device's, tpm2-tools on the same swtpm) is not harmed.
 */
static void
tpm2d_tpm_close(struct tpm2d *t)
{
	TSS2_TCTI_CONTEXT *tcti = t->tcti_ctx;
	TSS2_RC rc;

	if (t->esys != NULL && strncmp(t->tcti, "swtpm:", 6) == 0) {
		rc = Esys_Shutdown(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
		    ESYS_TR_NONE, TPM2_SU_CLEAR);
		if (rc != TSS2_RC_SUCCESS)
			log_warnx("TPM2_Shutdown: %s", tpm2d_rc_str(rc));
	}
	if (t->esys != NULL)
		Esys_Finalize(&t->esys);
	if (tcti != NULL)
		Tss2_TctiLdr_Finalize(&tcti);
	t->tcti_ctx = NULL;
}

/*
 * The device key's parts, until identity.c defines them: no device key.
 */
__attribute__((weak)) void
tpm2d_identity_init(struct tpm2d *t)
{
	t->identity_state = "absent";
}

__attribute__((weak)) void
tpm2d_identity_free(struct tpm2d *t)
{
}

/*
 * Audits the calls that change something or were refused; reading calls
 * that succeeded are not (Status, ReadPCRs, TakeAudit), nor measurements
 * that succeeded: cmld keeps each in its measurement log, and a record of
 * it would come back to cmld's trail with TakeAudit.  Nor checkpoints
 * signed: the checkpoint itself is in the trail, and a record of each
 * would need a checkpoint of its own, and so on, forever.
 */
static int
tpm2d_quiet(const struct call *call)
{
	return (call->cmd->flags & CMD_READONLY) ||
	    call->cmd->id == CMD_ID_TPM_EXTEND ||
	    call->cmd->id == CMD_ID_TPM_SIGN_CHECKPOINT;
}

static void
tpm2d_call_done(struct call *call, int refused)
{
	staged_audit_call(call_tpm2d(call)->spool, call, refused, tpm2d_quiet);
}

/* Audits what happened to a connection (refused, malformed, idle). */
static void
tpm2d_session(void *ctx, uid_t uid, pid_t pid, const char *object,
    const char *error, const char *msg)
{
	struct tpm2d *t = ctx;

	staged_audit_session(t->spool, uid, pid, object, error, msg);
}

/* What the command line gave; the configuration file fills in the rest. */
struct tpm2d_opts {
	const char *tcti;
	const char *seal;
	const char *measure;
	const char *level;
	const char *volume;
	const char *mount;
};

/* The keys of the configuration file, in the order of struct tpm2d_opts. */
#define TPM2D_NKEYS 6

/*
 * Reads the configuration file (ROOT/etc/cml/tpm2d.conf): tcti,
 * seal_pcrs, measure_pcr, log_level, state_volume and state_mount, each
 * taken only where the command line did not give it (daemon_read_config).
 */
static int
tpm2d_read_config(const char *path, struct tpm2d_opts *o, char **keep,
    char **cause)
{
	static const char *const keys[TPM2D_NKEYS] = {
		"tcti", "seal_pcrs", "measure_pcr", "log_level",
		"state_volume", "state_mount"
	};
	const char *slots[TPM2D_NKEYS] = {
		o->tcti, o->seal, o->measure, o->level, o->volume, o->mount
	};

	if (daemon_read_config(path, keys, TPM2D_NKEYS, slots, keep,
	    cause) == -1)
		return -1;
	o->tcti = slots[0];
	o->seal = slots[1];
	o->measure = slots[2];
	o->level = slots[3];
	o->volume = slots[4];
	o->mount = slots[5];
	return 0;
}

/*
 * Applies the options, and the configuration file's values for those not
 * given; -1 when one is bad (said on stderr).
 */
static int
tpm2d_configure(struct tpm2d *t, const char *root, struct tpm2d_opts *o,
    enum log_level *level)
{
	char *conf, *cause = NULL, *keep[TPM2D_NKEYS] = { NULL };
	int i, ret = -1;

	conf = xasprintf("%s/etc/cml/tpm2d.conf", root);
	if (tpm2d_read_config(conf, o, keep, &cause) == -1) {
		fprintf(stderr, "tpm2d: %s\n", cause);
		goto out;
	}
	if (o->tcti != NULL && (*o->tcti == '\0' || strlen(o->tcti) > 1024)) {
		fprintf(stderr, "tpm2d: the TCTI must be a string such as "
		    "%s\n", TPM2D_DEFAULT_TCTI);
		goto out;
	}
	t->tcti = xstrdup(o->tcti != NULL ? o->tcti : TPM2D_DEFAULT_TCTI);
	if (tpm2d_parse_pcrs(o->seal != NULL ? o->seal :
	    TPM2D_DEFAULT_SEAL_PCRS, t->seal_pcrs, &t->nseal_pcrs, &cause) ==
	    -1) {
		fprintf(stderr, "tpm2d: --seal-pcrs (seal_pcrs): %s\n", cause);
		goto out;
	}
	t->measure_pcr = TPM2D_DEFAULT_MEASURE_PCR;
	if (o->measure != NULL && tpm2d_parse_int(o->measure, 0,
	    TPM2D_MAX_PCRS - 1, &t->measure_pcr) == -1) {
		fprintf(stderr, "tpm2d: --measure-pcr (measure_pcr) needs a "
		    "PCR from 0 to %d, not '%s'\n", TPM2D_MAX_PCRS - 1,
		    o->measure);
		goto out;
	}
	/* PCRs 17 to 22 take extends from localities 2 to 4 only */
	if (t->measure_pcr >= 17 && t->measure_pcr <= 22) {
		fprintf(stderr, "tpm2d: --measure-pcr (measure_pcr) %d is a "
		    "dynamic launch PCR, which cannot be extended at locality "
		    "0: choose one of 0 to 16 or 23\n", t->measure_pcr);
		goto out;
	}
	if (o->level != NULL && log_level_parse(o->level, level) == -1) {
		fprintf(stderr, "tpm2d: unknown log level '%s': use warning, "
		    "info or debug\n", o->level);
		goto out;
	}
	if ((o->volume != NULL && (o->volume[0] != '/' ||
	    strlen(o->volume) > PATH_MAX)) || (o->mount != NULL &&
	    (o->mount[0] != '/' || strlen(o->mount) > PATH_MAX ||
	    strcmp(o->mount, "/") == 0))) {
		fprintf(stderr, "tpm2d: --state-volume (state_volume) and "
		    "--state-mount (state_mount) need absolute paths (not "
		    "/)\n");
		goto out;
	}
	if (o->mount != NULL && o->volume == NULL) {
		fprintf(stderr, "tpm2d: --state-mount (state_mount) needs "
		    "--state-volume (state_volume)\n");
		goto out;
	}
	t->state_volume_path = o->volume != NULL ? xstrdup(o->volume) : NULL;
	t->state_mount = o->mount != NULL ? xstrdup(o->mount) :
	    xasprintf("%s/var/lib/cml", root);
	ret = 0;
out:
	/* the values point into keep: o is not used after this */
	memset(o, 0, sizeof *o);
	for (i = 0; i < TPM2D_NKEYS; i++)
		free(keep[i]);
	free(cause);
	free(conf);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "tcti", required_argument, NULL, 't' },
		{ "seal-pcrs", required_argument, NULL, 's' },
		{ "measure-pcr", required_argument, NULL, 'm' },
		{ "state-volume", required_argument, NULL, 'v' },
		{ "state-mount", required_argument, NULL, 'M' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tpm2d t;
	struct tpm2d_opts o = { NULL, NULL, NULL, NULL, NULL, NULL };
	enum log_level level = LOG_LEVEL_INFO;
	const char *root = "";
	int ch, foreground = 0, ready_fd = -1, daemon_fd = -1;

	memset(&t, 0, sizeof t);
	t.syskey_state = TPM2D_SYSKEY_ERROR;
	while ((ch = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			root = optarg;
			break;
		case 't':
			o.tcti = optarg;
			break;
		case 's':
			o.seal = optarg;
			break;
		case 'm':
			o.measure = optarg;
			break;
		case 'v':
			o.volume = optarg;
			break;
		case 'M':
			o.mount = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'R':
			if ((ready_fd = daemon_ready_fd("tpm2d", optarg)) ==
			    -1)
				return 2;
			break;
		case 'l':
			o.level = optarg;
			break;
		case 'V':
			printf("tpm2d %s\n", PACKAGE_VERSION);
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
	if (daemon_check_root("tpm2d", root) == -1)
		return 2;
	if (tpm2d_configure(&t, root, &o, &level) == -1) {
		free(t.tcti);
		free(t.state_volume_path);
		free(t.state_mount);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "tpm2d: must run as root\n");
		free(t.tcti);
		free(t.state_volume_path);
		free(t.state_mount);
		return 1;
	}

	/*
	 * ESYS and the TCTIs print their errors to stderr; tpm2d says what
	 * failed itself (rc.c), and expected failures (a policy refused
	 * after a PCR changed) are no errors.  TSS2_LOG set by the caller
	 * wins; at debug level the library's errors are kept.
	 */
	(void)setenv("TSS2_LOG", level == LOG_LEVEL_DEBUG ?
	    "all+error" : "all+none", 0);
	/* The system key passes through this process: no core dumps. */
	daemon_fd = daemon_start("tpm2d", foreground, level);
	t.run_dir = xasprintf("%s/run/cml", root);
	t.state_dir = xasprintf("%s/var/lib/cml/tpm2d", root);
	t.sock_path = xasprintf("%s/tpm2d.sock", t.run_dir);
	t.pid_path = xasprintf("%s/tpm2d.pid", t.run_dir);
	daemon_mkdirs(t.run_dir, 0755);
	daemon_mkdirs(t.state_dir, 0700);
	umask(0077);

	tpm2d_spool_init(&t);
	tpm2d_tpm_open(&t);
	tpm2d_audit(&t, "daemon", "tpm2d", "ok", "tpm2d %s started (pid "
	    "%ld, TPM %s firmware %s over %s)", PACKAGE_VERSION,
	    (long)getpid(), t.manufacturer, t.firmware, t.tcti);
	tpm2d_syskey_init(&t);
	tpm2d_identity_init(&t);
	tpm2d_volume_init(&t);

	t.loop = loop_new();
	t.srv_cfg.name = "tpm2d";
	t.srv_cfg.sock_path = t.sock_path;
	t.srv_cfg.operator_group = NULL;
	t.srv_cfg.admin_group = NULL;
	t.srv_cfg.table = tpm2d_table;
	t.srv_cfg.table_len = tpm2d_table_len;
	t.srv_cfg.handlers = tpm2d_handlers;
	t.srv_cfg.nhandlers = CMD_ID_COUNT;
	t.srv_cfg.ctx = &t;
	t.srv_cfg.policy = tpm2d_policy;
	t.srv_cfg.done = tpm2d_call_done;
	t.srv_cfg.session = tpm2d_session;
	t.srv = srv_new(t.loop, &t.srv_cfg);

	daemon_signals(t.loop, 0);
	daemon_write_pid(t.pid_path);

	log_info("serving %s (TPM over %s, state %s, log level %s)",
	    t.sock_path, t.tcti, t.state_dir, log_level_name(log_get_level()));
	daemon_ready("tpm2d", foreground, ready_fd, daemon_fd);

	loop_run(t.loop);

	loop_sd_notify("STOPPING=1");
	loop_job_cancel_all(t.loop);
	srv_close_clients(t.srv);
	loop_job_cancel_all(t.loop);
	srv_free(t.srv);
	t.srv = NULL;
	tpm2d_identity_free(&t);
	tpm2d_volume_free(&t);
	tpm2d_syskey_free(&t);
	tpm2d_tpm_close(&t);
	(void)unlink(t.pid_path);
	loop_free(t.loop);
	tpm2d_spool_free(&t);
	free(t.tcti);
	free(t.run_dir);
	free(t.state_dir);
	free(t.sock_path);
	free(t.pid_path);
	free(t.syskey_reason);
	free(t.floor_reason);
	free(t.state_volume_reason);
	free(t.state_volume_path);
	free(t.state_mount);
	log_info("stopped");
	return 0;
}
