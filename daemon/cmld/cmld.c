/*
 * cmld: the container management daemon (stage 3).  Owns the state store,
 * the control socket and the audit trail.  This file is its main(): the
 * options, the start-up in order (directories, store, settings, trust,
 * guest OSes, server, containers) and the end; the parts it starts live
 * in files of their own, which never call back into this one.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "c-verity.h"
#include "audit-int.h"
#include "container.h"
#include "control.h"
#include "crypto.h"
#include "ctr.h"
#include "ctx.h"
#include "forward.h"
#include "kaudit.h"
#include "kmsg.h"
#include "device.h"
#include "guestos-ready.h"
#include "handlers.h"
#include "daemon.h"
#include "log.h"
#include "net.h"
#include "store.h"
#include "scd.h"
#include "tpm.h"
#include "trust.h"
#include "update.h"
#include "xmalloc.h"


static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cmld [--root DIR] [--foreground] [--ready-fd N] "
	    "[--log-level LEVEL]\n"
	    "            [--cgroup-parent NAME] [--idle-timeout SECONDS]\n"
	    "            [--tpm2d-socket PATH] [--scd-socket PATH] "
	    "[--boot-slots DIR]\n"
	    "       cmld --version | --help\n"
	    "  --root DIR         keep run, state and config directories "
	    "under DIR\n"
	    "  --foreground, -f   stay in the foreground, log to stderr\n"
	    "  --ready-fd N       write READY=1 to fd N once serving\n"
	    "  --log-level LEVEL  warning, info or debug (overrides the "
	    "log_level setting)\n"
	    "  --cgroup-parent NAME\n"
	    "                     make containers' cgroups under NAME "
	    "(default: cml)\n"
	    "  --idle-timeout SECONDS\n"
	    "                     close connections idle this long "
	    "(default: 300)\n"
	    "  --tpm2d-socket PATH\n"
	    "                     reach tpm2d there (default: "
	    "ROOT/run/cml/tpm2d.sock;\n"
	    "                     '': run without tpm2d)\n"
	    "  --scd-socket PATH  reach scd there (default: "
	    "ROOT/run/cml/scd.sock;\n"
	    "                     '': run without scd)\n"
	    "  --boot-slots DIR   the A/B slots of the kernel and its "
	    "initramfs that\n"
	    "                     cml-bootpick(8) boots from (boot bundles "
	    "install there)\n");
}

/* Makes a random (version 4) UUID. */
static char *
cmld_new_uuid(void)
{
	unsigned char b[16];
	ssize_t n;

	n = getrandom(b, sizeof b, 0);
	if (n != (ssize_t)sizeof b)
		fatal("getrandom");
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Reads the device row, creating it on first start; exits on error. */
static void
cmld_load_device(struct cmld *cmld)
{
	struct store_device dev = { 0 };
	char *cause = NULL, *uuid;
	int rc;

	rc = store_device_get(cmld->store, &dev, &cause);
	if (rc == 0) {
		uuid = cmld_new_uuid();
		if (store_device_create(cmld->store, uuid, &cause) == -1)
			fatalx("%s", cause);
		log_info("first start: device %s created, state factory",
		    uuid);
		audit_write(cmld, "daemon", "device", "ok",
		    "device %s created in state factory", uuid);
		free(uuid);
		rc = store_device_get(cmld->store, &dev, &cause);
	}
	if (rc != 1)
		fatalx("%s", cause != NULL ? cause : "no device row");
	cmld->uuid = xstrdup(dev.uuid);
	cmld->prov_state = xstrdup(dev.state);
	store_device_clear(&dev);
}

/* The kernel reported an integrity error: the containers' core looks. */
static void
cmld_integrity_error(void *arg, const char *dm_name, long long sector,
    const char *what)
{
	ctr_integrity_error(arg, dm_name, sector, what);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "cgroup-parent", required_argument, NULL, 'c' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "tpm2d-socket", required_argument, NULL, 'T' },
		{ "scd-socket", required_argument, NULL, 'S' },
		{ "boot-slots", required_argument, NULL, 'B' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmld cmld;
	char *end;
	enum log_level level = LOG_LEVEL_INFO;
	const char *root = "", *tpm2d_sock = NULL, *scd_sock = NULL;
	const char *boot_slots = NULL;
	char *cause = NULL, *tpm2d_default, *scd_default;
	int ch, foreground = 0, ready_fd = -1, daemon_fd = -1;

	memset(&cmld, 0, sizeof cmld);
	cmld.cgroup_parent = CONTAINER_CGROUP_DIR;
	cmld.idle_timeout = 300;
	TAILQ_INIT(&cmld.ctrs);
	while ((ch = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			root = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'R':
			if ((ready_fd = daemon_ready_fd("cmld", optarg)) ==
			    -1)
				return 2;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) == -1) {
				fprintf(stderr, "cmld: unknown log level '%s': "
				    "use warning, info or debug\n", optarg);
				return 2;
			}
			cmld.log_level_pinned = 1;
			break;
		case 'c':
			if (c_cgroups_parent_ok(optarg, &cause) == -1) {
				fprintf(stderr, "cmld: --cgroup-parent %s\n",
				    cause);
				free(cause);
				return 2;
			}
			cmld.cgroup_parent = optarg;
			break;
		case 'i':
			errno = 0;
			cmld.idle_timeout = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    cmld.idle_timeout < 1 ||
			    cmld.idle_timeout > 86400) {
				fprintf(stderr, "cmld: --idle-timeout needs "
				    "seconds from 1 to 86400, not '%s'\n",
				    optarg);
				return 2;
			}
			break;
		case 'T':
			tpm2d_sock = optarg;
			break;
		case 'S':
			scd_sock = optarg;
			break;
		case 'B':
			if (*optarg != '/') {
				fprintf(stderr, "cmld: --boot-slots needs an "
				    "absolute path, not '%s'\n", optarg);
				return 2;
			}
			boot_slots = optarg;
			break;
		case 'V':
			printf("cmld %s\n", PACKAGE_VERSION);
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
	if (geteuid() != 0) {
		fprintf(stderr, "cmld: must run as root\n");
		return 1;
	}
	if (daemon_check_root("cmld", root) == -1)
		return 2;

	/* Keys will pass through this process: keep it out of core dumps. */
	daemon_fd = daemon_start("cmld", foreground, level);
	cmld.run_dir = xasprintf("%s/run/cml", root);
	cmld.state_dir = xasprintf("%s/var/lib/cml", root);
	cmld.conf_dir = xasprintf("%s/etc/cml", root);
	cmld.sock_path = xasprintf("%s/control.sock", cmld.run_dir);
	cmld.pid_path = xasprintf("%s/cmld.pid", cmld.run_dir);
	cmld.ctr_dir = xasprintf("%s/containers", cmld.run_dir);
	daemon_mkdirs(cmld.run_dir, 0755);
	/* Search permission for all: a user namespace's root is nobody here. */
	daemon_mkdirs(cmld.ctr_dir, 0711);
	daemon_mkdirs(cmld.state_dir, 0700);
	daemon_mkdirs(cmld.conf_dir, 0755);
	umask(0077);

	if ((cmld.store = store_open(cmld.state_dir, &cause)) == NULL)
		fatalx("%s", cause);
	if (device_load_settings(&cmld, &cause) == -1)
		fatalx("%s", cause);
	if (trust_reload(&cmld, &cause) == -1)
		fatalx("%s", cause);
	guestos_reconcile(&cmld);
	update_slots_open(&cmld, boot_slots);
	update_reconcile(&cmld);
	cmld.loop = loop_new();
	/* what acts on the trail: its room, checkpoints, followers, forwarding */
	audit_hook(&cmld, &audit_space_hook);
	audit_hook(&cmld, &audit_cp_hook);
	audit_hook(&cmld, &audit_follow_hook);
	audit_hook(&cmld, &forward_audit_hook);
	/* from now on records are stored (those before were held) */
	if (audit_open(&cmld, &cause) == -1)
		fatalx("%s", cause);
	cmld.srv_cfg.name = "cmld";
	cmld.srv_cfg.sock_path = cmld.sock_path;
	cmld.srv_cfg.operator_group = "cml";
	cmld.srv_cfg.admin_group = "cml-admin";
	cmld.srv_cfg.table = cmd_table;
	cmld.srv_cfg.table_len = cmd_table_len;
	cmld.srv_cfg.handlers = cmld_handlers;
	cmld.srv_cfg.nhandlers = CMD_ID_COUNT;
	cmld.srv_cfg.ctx = &cmld;
	cmld.srv_cfg.policy = cmld_policy;
	cmld.srv_cfg.done = cmld_call_done;
	cmld.srv_cfg.session = cmld_session;
	cmld.srv_cfg.barrier = cmld_barrier;
	cmld.srv = srv_new(cmld.loop, &cmld.srv_cfg);
	cmld_apply_limits(&cmld);
	/* tpm2d is reached from the loop: cmld does not wait for it */
	tpm2d_default = xasprintf("%s/tpm2d.sock", cmld.run_dir);
	tpm_start(&cmld, tpm2d_sock != NULL ? tpm2d_sock : tpm2d_default);
	/* cml-forward has the device key sign through tpm2d, too */
	forward_start(&cmld, tpm2d_sock != NULL ? tpm2d_sock : tpm2d_default);
	free(tpm2d_default);
	scd_default = xasprintf("%s/scd.sock", cmld.run_dir);
	cmld.scd = stage_start(&cmld, &scd_def,
	    scd_sock != NULL ? scd_sock : scd_default);
	free(scd_default);
	clock_gettime(CLOCK_MONOTONIC, &cmld.started);
	cmld_load_device(&cmld);
	cmld.verity_ok = cverity_available(&cmld.verity_why);
	if (cmld.verity_ok)
		log_info("guest OS images with a hash tree are checked by "
		    "dm-verity as they are read");
	else
		log_info("guest OS images are hashed in full before every "
		    "start: %s", cmld.verity_why);

	daemon_signals(cmld.loop, SIGCHLD);
	daemon_write_pid(cmld.pid_path);
	containers_init(&cmld);
	update_slots_init(&cmld);
	/* from now on: integrity errors on the containers' volumes */
	cmld.kmsg = kmsg_open(cmld.loop, cmld_integrity_error, &cmld);

	audit_write(&cmld, "daemon", "cmld", "ok",
	    "cmld %s started (pid %ld, device %s, %s)", PACKAGE_VERSION,
	    (long)getpid(), cmld.uuid, cmld.prov_state);
	(void)kaudit_start(&cmld);
	log_info("serving %s (state %s, cgroups under %s)", cmld.sock_path,
	    cmld.state_dir, cmld.cgroup_parent);
	daemon_ready("cmld", foreground, ready_fd, daemon_fd);

	loop_run(cmld.loop);

	loop_sd_notify("STOPPING=1");
	/* calls out to the stages are failed while their clients are there */
	stage_stop(cmld.scd);
	cmld.scd = NULL;
	tpm_stop(&cmld);
	loop_job_cancel_all(cmld.loop);
	srv_close_clients(cmld.srv);
	/* jobs that waited for a client that was just let go */
	loop_job_cancel_all(cmld.loop);
	srv_free(cmld.srv);
	cmld.srv = NULL;
	kmsg_close(cmld.kmsg);
	kaudit_stop(&cmld);
	containers_release(&cmld);
	update_slots_free(&cmld);
	net_free(&cmld);
	audit_write(&cmld, "daemon", "cmld", "ok", "cmld stopped");
	forward_stop(&cmld);
	audit_close(&cmld);
	(void)unlink(cmld.pid_path);
	store_close(cmld.store);
	trust_free(&cmld);
	loop_free(cmld.loop);
	free(cmld.uuid);
	free(cmld.prov_state);
	free(cmld.device_name);
	free(cmld.c0_guestos);
	free(cmld.require_signed_configs);
	free(cmld.verity_why);
	guestos_vcache_free(&cmld);
	free(cmld.run_dir);
	free(cmld.state_dir);
	free(cmld.conf_dir);
	free(cmld.sock_path);
	free(cmld.pid_path);
	free(cmld.ctr_dir);
	log_info("stopped");
	return cmld.exit_status;
}
