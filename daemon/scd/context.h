/*
 * scd's context and what its parts share: the platform secret taken from
 * tpm2d, the tokens it keeps (their counters and files), the worker
 * thread that does the slow work, its audit spool, and how a handler
 * finds the context from its call.
 */
#ifndef SCD_CONTEXT_H
#define SCD_CONTEXT_H

#include <sys/queue.h>

#include <stdarg.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "cmdtab.h"
#include "server.h"
#include "tokenwrap.h"

struct loop;
struct peer;
struct spool;
struct worker;

/* The errors of org.cml.SCD. */
#define SCD_ERR_VERIFY "org.cml.SCD.VerificationFailed"
#define SCD_ERR_UNAVAILABLE "org.cml.SCD.TokenUnavailable"
#define SCD_ERR_PSECRET "org.cml.SCD.PlatformSecretUnavailable"
#define SCD_ERR_EXISTS "org.cml.SCD.TokenExists"
/* The one message of every failed verification (CR 1.10). */
#define SCD_VERIFY_MSG "verification failed"

#define SCD_PSECRET_LEN 32
#define SCD_PSECRET_LABEL "scd platform secret"
#define SCD_SALT_LEN 16
/* A token's name is a container's: [a-z0-9][a-z0-9-]{0,30}. */
#define SCD_NAME_MAX 31
/* The most token inits at once (no more than the worker's jobs). */
#define SCD_INITS_MAX 16
#define SCD_TRIES_MAX 10

#define SCD_TYPE_SOFT "softtoken"
#define SCD_TYPE_CARD "usbtoken"

/* The scrypt parameters of a software token: N = 2^log2n. */
struct scd_kdf {
	int log2n;
	int r;
	int p;
};

/* A token scd keeps: its state file in memory. */
struct token {
	TAILQ_ENTRY(token) entry;
	char name[SCD_NAME_MAX + 1];
	int card; /* a usbtoken, else a softtoken */
	char serial[32];
	char *reader; /* the card's reader at init, or NULL */
	unsigned char pub[TOKENWRAP_PUB_LEN];
	/* a softtoken's KDF and salts (the PIN's and the PUK's file) */
	struct scd_kdf kdf;
	unsigned char salt[SCD_SALT_LEN];
	unsigned char puk_salt[SCD_SALT_LEN];
	int pin_left, pin_max, puk_left, puk_max;
	int present; /* a card answered the last time it was asked */
	int busy; /* a job of it is queued or running */
};
TAILQ_HEAD(token_list, token);

/* The daemon's context. */
struct scd {
	struct loop *loop;
	struct srv *srv;
	struct srv_config srv_cfg;
	char *run_dir;
	char *state_dir; /* ROOT/var/lib/cml/scd */
	char *tokens_dir; /* state_dir/tokens */
	char *sock_path;
	char *pid_path;
	char *tpm2d_sock; /* NULL: scd runs without tpm2d */
	struct scd_kdf kdf; /* for tokens made from now on */
	const char *kdf_class;
	/* the platform secret (platform.c), mlock'd, wiped at exit */
	unsigned char psecret[SCD_PSECRET_LEN];
	int psecret_ok;
	char *psecret_reason; /* why it is absent */
	struct peer *tpm2d;
	struct loop_timer psecret_timer;
	long long psecret_backoff_ms;
	int psecret_calling;
	/* PC/SC: "up", "down" or "absent", and why */
	const char *pcsc;
	char *pcsc_reason;
	struct token_list tokens;
	size_t ntokens;
	struct worker *worker;
	/* the names token inits are making (token.c): one init a name */
	char initing[SCD_INITS_MAX][SCD_NAME_MAX + 1];
	struct spool *spool;
	int stopping;
};

/* The daemon of a call. */
static inline struct scd *
call_scd(const struct call *call)
{
	return call->ctx;
}


/* The KDF classes: "default", "low", "test"; -1 for another name. */
int scd_kdf_class(const char *name, struct scd_kdf *kdf);

/* The command table of scd (table.c), and its handlers by command id. */
extern const struct cmd_entry scd_table[];
extern const size_t scd_table_len;
extern const call_handler scd_handlers[CMD_ID_COUNT];

/* Handlers (token.c). */
void scd_cmd_status(struct call *call);
void scd_cmd_readers(struct call *call);
void scd_cmd_init(struct call *call);
void scd_cmd_token_status(struct call *call);
void scd_cmd_list(struct call *call);
void scd_cmd_wrap(struct call *call);
void scd_cmd_unwrap(struct call *call);
void scd_cmd_verify_pin(struct call *call);
void scd_cmd_change_pin(struct call *call);
void scd_cmd_unblock(struct call *call);
void scd_cmd_remove(struct call *call);
void scd_cmd_take_audit(struct call *call);
void scd_cmd_get_info(struct call *call);
void scd_cmd_get_interface_description(struct call *call);

/* The tokens (token.c): loads them from tokens_dir; frees them. */
void scd_tokens_load(struct scd *s);
void scd_tokens_free(struct scd *s);
/* Asks PC/SC for its readers on the worker, to know whether it is up. */
void scd_pcsc_probe(struct scd *s);

/* The platform secret (platform.c): asks tpm2d, again while absent. */
void scd_platform_start(struct scd *s);
void scd_platform_stop(struct scd *s);

/*
 * The software token (soft.c), used on the worker thread.  The PIN key
 * is K = scrypt(secret, HMAC-SHA-256(platform secret, salt), N, r, p);
 * the PKCS#12 file's password is the hex of K.
 */
#define SOFT_WRONG 1
/* Makes a new key pair, its public point in pub (free the key). */
EVP_PKEY *soft_keygen(unsigned char pub[TOKENWRAP_PUB_LEN], char **cause);
/*
 * Writes dir/file: a PKCS#12 file holding key and a self-signed
 * certificate for name, under secret.  0, or -1 with *cause.
 */
int soft_store(const char *dir, const char *file, const char *name,
    EVP_PKEY *key, const char *secret, const struct scd_kdf *kdf,
    const unsigned char salt[SCD_SALT_LEN], const unsigned char *psecret,
    char **cause);
/*
 * Opens dir/file with secret: 0 with *key (free it), SOFT_WRONG when the
 * secret (or the platform secret) is wrong, -1 with *cause when the file
 * cannot be read.
 */
int soft_open(const char *dir, const char *file, const char *secret,
    const struct scd_kdf *kdf, const unsigned char salt[SCD_SALT_LEN],
    const unsigned char *psecret, EVP_PKEY **key, char **cause);

#endif
