/*
 * The platform secret: 32 bytes tpm2d derives from its sealed system key
 * for the label "scd platform secret".  It salts every software token's
 * PIN key and every token's wrapping key, so that a token taken to
 * another device unlocks nothing there.  scd asks for it at start through
 * the non-blocking peer client and, while it does not have it, again
 * after 100 ms, doubling to 5 s; tokens cannot be used or made until
 * then.  It is kept mlock'd, never logged, and wiped at exit.
 */
#include "config.h"
#include "spool.h"

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "context.h"
#include "xmalloc.h"

#define PLATFORM_RETRY_MIN_MS 100
#define PLATFORM_RETRY_MAX_MS 5000

static void platform_ask(struct scd *s);

/* Notes why the secret is absent; audited when the reason changes. */
static void
platform_absent(struct scd *s, const char *why)
{
	if (s->psecret_reason != NULL && strcmp(s->psecret_reason, why) == 0)
		return;
	free(s->psecret_reason);
	s->psecret_reason = xstrdup(why);
	spool_add(s->spool, "platform", "platform secret", "absent", "%s", why);
}

static void
platform_timer(struct loop_timer *t)
{
	platform_ask(t->arg);
}

static void
platform_retry(struct scd *s)
{
	if (s->stopping)
		return;
	(void)loop_timer_start(s->loop, &s->psecret_timer,
	    s->psecret_backoff_ms);
	s->psecret_backoff_ms *= 2;
	if (s->psecret_backoff_ms > PLATFORM_RETRY_MAX_MS)
		s->psecret_backoff_ms = PLATFORM_RETRY_MAX_MS;
}

/* Decodes 64 hex digits into the secret; -1 if they are not. */
static int
platform_decode(struct scd *s, const char *hex)
{
	unsigned char b[SCD_PSECRET_LEN];
	size_t i;
	int hi, lo;

	if (hex == NULL || strlen(hex) != 2 * SCD_PSECRET_LEN)
		return -1;
	for (i = 0; i < SCD_PSECRET_LEN; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' :
		    hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' :
		    lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0) {
			explicit_bzero(b, sizeof b);
			return -1;
		}
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	memcpy(s->psecret, b, sizeof b);
	explicit_bzero(b, sizeof b);
	return 0;
}

static void
platform_reply(void *arg, const char *error, struct json_object *params,
    int continues, const int *fds, size_t nfds)
{
	struct scd *s = arg;
	struct json_object *v = NULL;
	const char *hex = NULL, *msg;
	char *why;

	(void)continues;
	(void)fds;
	(void)nfds;
	s->psecret_calling = 0;
	if (error != NULL) {
		msg = json_object_get_string(json_object_object_get(params,
		    "message"));
		why = xasprintf("tpm2d: %s", msg != NULL ? msg : error);
		platform_absent(s, why);
		free(why);
		platform_retry(s);
		return;
	}
	if (json_object_object_get_ex(params, "secret", &v))
		hex = json_object_get_string(v);
	if (platform_decode(s, hex) == -1) {
		platform_absent(s, "tpm2d answered no 32-byte secret");
		platform_retry(s);
	} else {
		s->psecret_ok = 1;
		free(s->psecret_reason);
		s->psecret_reason = NULL;
		spool_add(s->spool, "platform", "platform secret", "ok",
		    "taken from tpm2d");
	}
	/* the hex in the reply is a copy of the secret */
	if (hex != NULL)
		explicit_bzero((char *)hex, strlen(hex));
}

static void
platform_ask(struct scd *s)
{
	struct json_object *p;

	if (s->psecret_ok || s->psecret_calling || s->stopping)
		return;
	p = json_object_new_object();
	json_object_object_add(p, "label",
	    json_object_new_string(SCD_PSECRET_LABEL));
	if (peer_call(s->tpm2d, "org.cml.TPM.PlatformSecret", p, NULL, 0, 0,
	    platform_reply, s) == -1) {
		platform_absent(s, "cannot call tpm2d");
		platform_retry(s);
		return;
	}
	s->psecret_calling = 1;
}

void
scd_platform_start(struct scd *s)
{
	if (mlock(s->psecret, sizeof s->psecret) == -1)
		log_warn("mlock of the platform secret");
	loop_timer_init(&s->psecret_timer, platform_timer, s);
	s->psecret_backoff_ms = PLATFORM_RETRY_MIN_MS;
	if (s->tpm2d_sock == NULL) {
		platform_absent(s, "scd runs without tpm2d (--tpm2d-socket "
		    "'')");
		return;
	}
	s->tpm2d = peer_new(s->loop, s->tpm2d_sock, "tpm2d");
	platform_ask(s);
}

void
scd_platform_stop(struct scd *s)
{
	loop_timer_stop(s->loop, &s->psecret_timer);
	peer_free(s->tpm2d);
	s->tpm2d = NULL;
	explicit_bzero(s->psecret, sizeof s->psecret);
	(void)munlock(s->psecret, sizeof s->psecret);
	s->psecret_ok = 0;
	free(s->psecret_reason);
	s->psecret_reason = NULL;
}
