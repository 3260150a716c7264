/*
 * Updates of cml itself (TSF.UPD, NDR 3.10): cmld run by cml-launch(8)
 * from slot CML_SLOT of the slots directory CML_SLOTS writes a cml bundle
 * into the inactive slot (each payload at its path, hashed as written),
 * marks it to be tried once and ends with CML_EXIT_RESTART, so that the
 * launcher starts the new slot at once.  The new cmld confirms its slot
 * once it and c0 are up (or `update mark-good` does); a slot that does not
 * confirm itself is given up by the launcher, and the cmld of the old slot
 * audits that fallback when it starts.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cconfig.h"
#include "ctr.h"
#include "ctx.h"
#include "guestos.h"
#include "file.h"
#include "log.h"
#include "slot.h"
#include "store.h"
#include "update.h"
#include "xmalloc.h"

/* How often a slot being tried looks whether c0 is up. */
#define UPDATE_CONFIRM_POLL_MS 500
/* How long after answering an install of cml cmld ends for the restart. */
#define UPDATE_RESTART_MS 20
/* Bytes copied per step of an install. */
#define UPDATE_SLOT_STEP (4 * 1024 * 1024)

/* Whether cmld runs from a slot, and which. */
static int
update_slot_of(struct cmld *cmld, enum slot_id *slot)
{
	if (cmld->slots_dir == NULL)
		return 0;
	*slot = (enum slot_id)cmld->slot;
	return 1;
}

/* Ends the newest pending install of cml as result, with detail. */
static void
update_slot_history(struct cmld *cmld, const char *version,
    const char *result, const char *detail)
{
	struct store_update u;
	char *cause = NULL;
	int rc;

	rc = store_update_last(cmld->store, "cml", "pending", &u, &cause);
	if (rc == 1 && (version == NULL || names_version_cmp(u.version,
	    version) == 0))
		rc = store_update_end(cmld->store, u.id, result, detail,
		    &cause);
	if (rc == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	if (rc >= 0)
		store_update_clear(&u);
}

int
update_slot_confirm(struct cmld *cmld, int automatic, char **what,
    char **cause)
{
	struct slot_state st;
	enum slot_id slot;
	char *why = NULL;

	if (!update_slot_of(cmld, &slot)) {
		*cause = xstrdup("cml does not run from A/B slots here "
		    "(cml-launch(8) starts it from them): there is no slot to "
		    "confirm");
		return -1;
	}
	if (slot_state_read(cmld->slots_dir, &st, cause) == -1)
		return -1;
	if (st.good == slot && st.try == SLOT_NONE) {
		*what = xasprintf("slot %s (cml %s) is good already",
		    slot_name(slot), st.good_version[0] != '\0' ?
		    st.good_version : "of unknown version");
		return 0;
	}
	if (slot_mark_good(cmld->slots_dir, slot, &why) == -1) {
		*cause = xasprintf("cannot confirm slot %s: %s",
		    slot_name(slot), why);
		free(why);
		return -1;
	}
	*what = xasprintf("slot %s (cml %s) confirmed good%s", slot_name(slot),
	    st.try_version, automatic ? " once cmld and c0 were up" : "");
	audit_write(cmld, "update", "cml", "ok", "%s", *what);
	log_info("%s", *what);
	update_slot_history(cmld, st.try_version, "confirmed", *what);
	if (st.try_version[0] != '\0')
		update_floor_raise(cmld, "cml", "cml", st.try_version);
	loop_timer_stop(cmld->loop, &cmld->confirm_timer);
	return 1;
}

/* Confirms a slot being tried once c0 runs (or at once without c0). */
static void
update_confirm_poll(struct loop_timer *t)
{
	struct cmld *cmld = t->arg;
	struct ctr *c0;
	char *what = NULL, *cause = NULL;

	if (cmld->c0_guestos != NULL && cmld->c0_guestos[0] != '\0') {
		c0 = ctr_find(cmld, CCONFIG_C0_NAME);
		if (c0 == NULL || strcmp(c0->state, "running") != 0) {
			loop_timer_start(cmld->loop, t, UPDATE_CONFIRM_POLL_MS);
			return;
		}
	}
	if (update_slot_confirm(cmld, 1, &what, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	free(what);
}

void
update_slots_open(struct cmld *cmld)
{
	const char *dir = getenv("CML_SLOTS"), *name = getenv("CML_SLOT");
	enum slot_id slot;

	if (dir == NULL || name == NULL || *dir != '/' ||
	    slot_parse(name, &slot) == -1 || slot == SLOT_NONE)
		return;
	cmld->slot = (int)slot;
	cmld->slots_dir = xstrdup(dir);
}

int
update_slot_marked(struct cmld *cmld, const char *version)
{
	struct slot_state st;
	char *cause = NULL;

	if (cmld->slots_dir == NULL)
		return 0;
	if (slot_state_read(cmld->slots_dir, &st, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return 0;
	}
	if (st.try != SLOT_NONE)
		return names_version_cmp(st.try_version, version) == 0;
	return st.failed.slot != SLOT_NONE && !st.failed.reported &&
	    names_version_cmp(st.failed.version, version) == 0;
}

/*
 * Ends the newest pending install of cml when the state says how its
 * trial ended but a cut came before the history did: confirmed, its slot
 * good and this one, or fallen back after it began.
 */
static void
update_slot_pending(struct cmld *cmld, const struct slot_state *st)
{
	struct store_update u;
	enum slot_id slot = (enum slot_id)cmld->slot;
	char *cause = NULL, *what = NULL;
	int rc;

	if (st->try != SLOT_NONE)
		return;
	if ((rc = store_update_last(cmld->store, "cml", "pending", &u,
	    &cause)) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	if (rc == 0)
		return;
	if (st->failed.slot != SLOT_NONE && st->failed.time_ms >= u.time_ms &&
	    names_version_cmp(st->failed.version, u.version) == 0) {
		what = xasprintf("cml %s in slot %s did not come up: %s (the "
		    "record of it completed at the next start)", u.version,
		    slot_name(st->failed.slot), st->failed.reason);
		audit_write(cmld, "update", "cml", "fell-back", "%s", what);
		update_slot_history(cmld, u.version, "fell-back", what);
	} else if (st->good == slot && names_version_cmp(st->good_version,
	    u.version) == 0) {
		what = xasprintf("slot %s (cml %s) confirmed good (the record "
		    "of it completed at the next start)", slot_name(slot),
		    u.version);
		audit_write(cmld, "update", "cml", "ok", "%s", what);
		update_slot_history(cmld, u.version, "confirmed", what);
		update_floor_raise(cmld, "cml", "cml", u.version);
	}
	if (what != NULL)
		log_info("%s", what);
	free(what);
	store_update_clear(&u);
}

void
update_slots_init(struct cmld *cmld)
{
	const char *dir = cmld->slots_dir;
	struct slot_failure f;
	struct slot_state st;
	char *cause = NULL;

	loop_timer_init(&cmld->confirm_timer, update_confirm_poll, cmld);
	if (dir == NULL)
		return;
	switch (slot_take_failure(dir, &f, &cause)) {
	case 1:
		audit_write(cmld, "update", "cml", "fell-back", "cml %s in "
		    "slot %s did not come up: %s; slot %s runs again",
		    f.version, slot_name(f.slot), f.reason,
		    slot_name((enum slot_id)cmld->slot));
		log_warnx("cml %s in slot %s did not come up: %s; slot %s runs "
		    "again", f.version, slot_name(f.slot), f.reason,
		    slot_name((enum slot_id)cmld->slot));
		update_slot_history(cmld, f.version, "fell-back", f.reason);
		break;
	case -1:
		log_warnx("%s", cause);
		free(cause);
		cause = NULL;
		break;
	}
	if (slot_state_read(dir, &st, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	update_slot_pending(cmld, &st);
	log_info("cml runs from slot %s of %s (%s)", slot_name((enum slot_id)cmld->slot),
	    dir, st.try == (enum slot_id)cmld->slot ? "being tried: confirmed once cmld "
	    "and c0 are up" : "the good slot");
	if (st.try == (enum slot_id)cmld->slot)
		loop_timer_start(cmld->loop, &cmld->confirm_timer, 0);
}

void
update_slots_free(struct cmld *cmld)
{
	loop_timer_stop(cmld->loop, &cmld->confirm_timer);
	free(cmld->slots_dir);
	cmld->slots_dir = NULL;
}

/* Checks what a cml bundle needs of the device; NULL or why not. */
char *
update_slots_check(struct cmld *cmld, const struct update_bundle *b)
{
	struct slot_state st;
	enum slot_id slot;
	char *cause = NULL, *why;
	size_t i;
	int cmld_found = 0;

	if (!update_slot_of(cmld, &slot))
		return xstrdup("cml does not run from A/B slots here "
		    "(cml-launch(8) starts it from them), so it cannot be "
		    "updated while it runs");
	for (i = 0; i < b->m.npayloads; i++) {
		if (strcmp(b->m.payloads[i].path, SLOT_PROGRAM) == 0 &&
		    b->m.payloads[i].mode == 0755)
			cmld_found = 1;
	}
	if (!cmld_found)
		return xstrdup("a cml bundle carries " SLOT_PROGRAM " (mode "
		    "0755): the launcher starts it");
	if (slot_state_read(cmld->slots_dir, &st, &cause) == -1) {
		why = xasprintf("cannot read the slots: %s", cause);
		free(cause);
		return why;
	}
	if (st.try != SLOT_NONE)
		return xasprintf("slot %s (cml %s) is being tried: confirm it "
		    "('update mark-good') or let it fall back first",
		    slot_name(st.try), st.try_version);
	if (slot_inactive(&st) == SLOT_NONE)
		return xstrdup("there is no inactive slot");
	return NULL;
}

/* An install of cml: payloads copied into the staged slot, one by one. */
struct update_slot_copy {
	char *dir; /* the staged slot */
	enum slot_id slot;
	int committed;
	size_t cur; /* the payload being copied */
	uint64_t copied; /* bytes of it so far */
	int fd; /* the file being written, or -1 */
	struct crypto_hash *hash;
	unsigned char *buf;
	long long done, total;
};

/* Creates the directories of path below dir; -1 with *cause set. */
static int
update_slot_mkdirs(const char *dir, const char *path, char **cause)
{
	char *p, *s;

	p = xasprintf("%s/%s", dir, path);
	for (s = p + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			xcause(cause, "cannot create %s: %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

struct update_slot_copy *
update_slot_begin(struct cmld *cmld, const struct update_bundle *b,
    char **cause)
{
	struct update_slot_copy *c;
	struct slot_state st;
	size_t i;

	if (slot_state_read(cmld->slots_dir, &st, cause) == -1)
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->fd = -1;
	c->slot = slot_inactive(&st);
	if (slot_stage_begin(cmld->slots_dir, c->slot, &c->dir, cause) == -1) {
		free(c);
		return NULL;
	}
	for (i = 0; i < b->m.npayloads; i++)
		c->total += (long long)b->m.payloads[i].size;
	c->buf = xmalloc(UPDATE_SLOT_STEP);
	return c;
}

void
update_slot_progress(const struct update_slot_copy *c,
    const struct update_bundle *b, struct guestos_progress *p)
{
	p->file = c->cur < b->m.npayloads ? b->m.payloads[c->cur].path : "";
	p->done = c->done;
	p->total = c->total;
}

int
update_slot_step(struct update_slot_copy *c, const struct update_bundle *b,
    char **cause)
{
	const struct bundle_payload *p;
	unsigned char md[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX], *file;
	size_t want;
	ssize_t n;

	if (c->cur == b->m.npayloads)
		return 1;
	p = &b->m.payloads[c->cur];
	if (c->fd == -1) {
		if (update_slot_mkdirs(c->dir, p->path, cause) == -1)
			return -1;
		file = xasprintf("%s/%s", c->dir, p->path);
		c->fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, (mode_t)p->mode);
		if (c->fd == -1) {
			xcause(cause, "cannot create %s: %s", file,
			    strerror(errno));
			free(file);
			return -1;
		}
		free(file);
		c->hash = crypto_sha256_new();
		c->copied = 0;
	}
	if (c->copied < p->size) {
		want = p->size - c->copied < UPDATE_SLOT_STEP ?
		    (size_t)(p->size - c->copied) : UPDATE_SLOT_STEP;
		do {
			n = pread(b->fd, c->buf, want,
			    (off_t)(p->offset + c->copied));
		} while (n == -1 && errno == EINTR);
		if (n <= 0) {
			xcause(cause, "cannot read payload '%s' of %s: %s",
			    p->name, b->name, n == 0 ? "the file ends early" :
			    strerror(errno));
			return -1;
		}
		if (file_write_all(c->fd, c->buf, (size_t)n) == -1) {
			xcause(cause, "cannot write %s/%s: %s", c->dir,
			    p->path, strerror(errno));
			return -1;
		}
		crypto_hash_update(c->hash, c->buf, (size_t)n);
		c->copied += (uint64_t)n;
		c->done += n;
		return 0;
	}
	crypto_hash_final(c->hash, md);
	c->hash = NULL;
	crypto_hex(md, sizeof md, hex);
	if (strcmp(hex, p->sha256) != 0) {
		xcause(cause, "payload '%s' does not match its signed SHA-256 "
		    "(got %s, the manifest says %s)", p->name, hex, p->sha256);
		return -1;
	}
	/* the mode as signed, whatever the umask */
	if (fchmod(c->fd, (mode_t)p->mode) == -1 || close(c->fd) == -1) {
		c->fd = -1;
		xcause(cause, "cannot write %s/%s: %s", c->dir, p->path,
		    strerror(errno));
		return -1;
	}
	c->fd = -1;
	c->cur++;
	return c->cur == b->m.npayloads ? 1 : 0;
}

int
update_slot_commit(struct cmld *cmld, struct update_slot_copy *c,
    const char *version, char **cause)
{
	if (slot_stage_commit(cmld->slots_dir, c->slot, version, cause) == -1)
		return -1;
	c->committed = 1;
	return 0;
}

const char *
update_slot_name(const struct update_slot_copy *c)
{
	return slot_name(c->slot);
}

void
update_slot_free(struct update_slot_copy *c)
{
	char *cause = NULL;

	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	if (c->hash != NULL) {
		unsigned char md[CRYPTO_SHA256_LEN];

		crypto_hash_final(c->hash, md);
	}
	if (!c->committed && file_remove_tree(c->dir, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	free(c->buf);
	free(c->dir);
	free(c);
}

/* Ends cmld so that cml-launch starts the slot just marked. */
static void
update_restart_fired(struct loop_timer *t)
{
	struct cmld *cmld = t->arg;

	log_info("ending for the launcher to start the updated slot");
	cmld->exit_status = CML_EXIT_RESTART;
	loop_quit(cmld->loop);
}

void
update_slot_restart(struct cmld *cmld)
{
	loop_timer_init(&cmld->restart_timer, update_restart_fired, cmld);
	loop_timer_start(cmld->loop, &cmld->restart_timer, UPDATE_RESTART_MS);
}
