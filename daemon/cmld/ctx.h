/*
 * cmld's context: the one struct every part of the daemon is handed,
 * passed explicitly (cmld is a single-threaded epoll loop and keeps no
 * other mutable state), and how a handler finds it from its call.
 */
#ifndef CMLD_CTX_H
#define CMLD_CTX_H

#include <sys/queue.h>

#include <time.h>

#include "server.h"

struct crypto_trust;
struct audit_trail;
struct net;
struct ctr;
struct loop;
struct store;
struct stage;
struct guestos_vcache;

/* Token calls out to scd at once, of all clients (cmd-token.c). */
#define CMLD_TOKEN_CALLS 8

/*
 * A pair of A/B slots (common/slot.h) whose running slot cmld confirms
 * once it and c0 are up: cml's own, or the boot image's.
 */
struct cmld_slots {
	struct cmld *cmld;
	const char *kind; /* the bundle kind: "cml" or "boot" */
	char *dir; /* the slots directory; NULL: none here */
	int running; /* enum slot_id the running cml or kernel came from */
	struct loop_timer confirm_timer;
};

/* The daemon's context. */
struct cmld {
	char *run_dir;
	char *ctr_dir; /* run_dir/containers: the containers' mount points */
	char *state_dir;
	/* the parent of the containers' cgroups (--cgroup-parent) */
	const char *cgroup_parent;
	char *conf_dir;
	char *sock_path;
	char *pid_path;
	struct store *store;
	struct loop *loop;
	struct srv *srv;
	struct srv_config srv_cfg;
	struct timespec started; /* CLOCK_MONOTONIC */
	char *uuid;
	char *prov_state;
	TAILQ_HEAD(, ctr) ctrs; /* the containers, c0 first */
	struct crypto_trust *trust; /* the anchors in the store */
	/* the same, of one kind each: what an update of a kind needs */
	struct crypto_trust *trust_supplier;
	struct crypto_trust *trust_owner;
	struct stage *tpm; /* the link to tpm2d (tpm.c) */
	struct stage *scd; /* the link to scd (scd.c) */
	struct kmsg *kmsg; /* the kernel's log: integrity errors (kmsg.c) */
	struct kaudit *kaudit; /* cmld as the kernel's audit daemon */
	struct forward *forward; /* audit forwarding (forward.c) */
	struct audit_trail *audit; /* the audit trail (audit.c) */
	struct net *net; /* links, rules, interfaces (net.c) */
	int wiping; /* a device wipe runs: other changes wait (cmd-wipe.c) */
	/* the client processes with a token call out; 0: a free slot */
	pid_t token_callers[CMLD_TOKEN_CALLS];
	/* settings, as applied (cmld is their only writer) */
	char *device_name;
	long long max_clients;
	long long idle_timeout; /* seconds (--idle-timeout) */
	int audit_read_calls;
	long long stop_timeout; /* seconds from SIGTERM to SIGKILL */
	char *c0_guestos; /* "" : no c0 */
	char *require_signed_configs; /* "auto", "true" or "false" */
	int guestos_verity; /* images checked by dm-verity where it can */
	/* the trust anchors' generation: trust_reload counts it up */
	unsigned long trust_gen;
	/* guest OS signature checks kept (guestos-ready.c) */
	struct guestos_vcache *gcache;
	/* whether this kernel has dm-verity (probed at start); why not */
	int verity_ok;
	char *verity_why;
	/* --log-level given: the setting does not apply */
	int log_level_pinned;
	/*
	 * The A/B slots (update-slots.c): cml-launch's of cml itself and the
	 * boot image's (--boot-slots); the timer that ends cmld for the
	 * launcher to start an updated slot, and cmld's exit status.
	 */
	struct cmld_slots cml_slots;
	struct cmld_slots boot_slots;
	struct loop_timer restart_timer;
	int exit_status;
};

/* The daemon of a call. */
static inline struct cmld *
call_cmld(const struct call *call)
{
	return call->ctx;
}

#endif
