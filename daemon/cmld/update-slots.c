/*
 * Updates through A/B slots (TSF.UPD, NDR 3.10), of cml itself and of the
 * boot image.
 *
 * cml: cmld run by cml-launch(8) from slot CML_SLOT of the slots directory
 * CML_SLOTS writes a cml bundle into the inactive slot (each payload at
 * its path, hashed as written), marks it to be tried once and ends with
 * CML_EXIT_RESTART, so that the launcher starts the new slot at once.
 *
 * boot: with --boot-slots DIR, a boot bundle (its payloads SLOT_KERNEL and
 * optionally SLOT_INITRD) is written into the inactive slot of DIR and
 * marked to be tried once; cml-bootpick(8) boots it at the next start and
 * tells the kernel which slot it came from (cml.boot_slot= on its command
 * line).
 *
 * Either way the new slot confirms itself once cmld and c0 are up (or
 * `update mark-good` does); a slot that does not confirm itself is given
 * up by the launcher or the loader, and cmld audits that fallback when it
 * starts from the old slot, ending the install's history as fell-back.
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
/* The word of the kernel's command line that names its boot slot. */
#define UPDATE_BOOT_ARG "cml.boot_slot="
/* Bytes of /proc/cmdline read. */
#define UPDATE_CMDLINE_MAX 4096

/* What the slots hold, for messages: "cml" or "boot image". */
static const char *
update_slots_noun(const struct cmld_slots *s)
{
	return strcmp(s->kind, "cml") == 0 ? "cml" : "boot image";
}

/*
 * Ends the newest pending install of the slots' kind as result, with
 * detail; with raise, the floor of its kind and name goes up to version.
 */
static void
update_slot_history(struct cmld_slots *s, const char *version,
    const char *result, const char *detail, int raise)
{
	struct cmld *cmld = s->cmld;
	struct store_update u;
	char *cause = NULL;
	const char *name = s->kind;
	int rc;

	rc = store_update_last(cmld->store, s->kind, "pending", &u, &cause);
	if (rc == 1 && (version == NULL || names_version_cmp(u.version,
	    version) == 0)) {
		name = u.name;
		rc = store_update_end(cmld->store, u.id, result, detail,
		    &cause);
	}
	if (rc == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	if (raise && version != NULL && version[0] != '\0')
		update_floor_raise(cmld, s->kind, name, version);
	if (rc >= 0)
		store_update_clear(&u);
}

/* Why s has no slot to confirm, or NULL when it has one (free it). */
static char *
update_slots_absent(const struct cmld_slots *s)
{
	if (s->dir == NULL && strcmp(s->kind, "cml") == 0)
		return xstrdup("cml does not run from A/B slots here "
		    "(cml-launch(8) starts it from them)");
	if (s->dir == NULL)
		return xstrdup("this device has no boot slots (cmld "
		    "--boot-slots DIR; cml-bootpick(8) boots from them)");
	if (s->running == SLOT_NONE)
		return xasprintf("the running kernel does not say which slot "
		    "of %s it came from (no " UPDATE_BOOT_ARG " on its command "
		    "line: it was not booted by cml-bootpick(8))", s->dir);
	return NULL;
}

int
update_slots_confirm(struct cmld_slots *s, int automatic, char **what,
    char **cause)
{
	struct slot_state st;
	enum slot_id slot = (enum slot_id)s->running;
	char *why = NULL;

	if ((why = update_slots_absent(s)) != NULL) {
		*cause = xasprintf("%s: there is no slot to confirm", why);
		free(why);
		return -1;
	}
	if (slot_state_read(s->dir, &st, cause) == -1)
		return -1;
	if (st.good == slot && (st.try == SLOT_NONE || st.tries > 0)) {
		*what = xasprintf("slot %s (%s %s) is good already",
		    slot_name(slot), update_slots_noun(s),
		    st.good_version[0] != '\0' ? st.good_version :
		    "of unknown version");
		return 0;
	}
	if (slot_mark_good(s->dir, slot, &why) == -1) {
		*cause = xasprintf("cannot confirm slot %s of the %s: %s",
		    slot_name(slot), update_slots_noun(s), why);
		free(why);
		return -1;
	}
	*what = xasprintf("slot %s (%s %s) confirmed good%s", slot_name(slot),
	    update_slots_noun(s), st.try_version, automatic ?
	    " once cmld and c0 were up" : "");
	audit_write(s->cmld, "update", s->kind, "ok", "%s", *what);
	log_info("%s", *what);
	update_slot_history(s, st.try_version, "confirmed", *what, 1);
	loop_timer_stop(s->cmld->loop, &s->confirm_timer);
	return 1;
}

/* Confirms a slot being tried once c0 runs (or at once without c0). */
static void
update_confirm_poll(struct loop_timer *t)
{
	struct cmld_slots *s = t->arg;
	struct cmld *cmld = s->cmld;
	struct ctr *c0;
	char *what = NULL, *cause = NULL;

	if (cmld->c0_guestos != NULL && cmld->c0_guestos[0] != '\0') {
		c0 = ctr_find(cmld, CCONFIG_C0_NAME);
		if (c0 == NULL || strcmp(c0->state, "running") != 0) {
			loop_timer_start(cmld->loop, t, UPDATE_CONFIRM_POLL_MS);
			return;
		}
	}
	if (update_slots_confirm(s, 1, &what, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	free(what);
}

/*
 * Ends the newest pending install of s's kind when the state says how its
 * trial ended but a cut came before the history did: confirmed (its slot
 * the good one, the one that runs, of its version), or fallen back after
 * it began.
 */
static void
update_slot_pending(struct cmld_slots *s, const struct slot_state *st)
{
	struct cmld *cmld = s->cmld;
	struct store_update u;
	enum slot_id slot = (enum slot_id)s->running;
	char *cause = NULL, *what = NULL;
	int rc;

	if (st->try != SLOT_NONE)
		return;
	if ((rc = store_update_last(cmld->store, s->kind, "pending", &u,
	    &cause)) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	if (rc == 0)
		return;
	if (st->failed.slot != SLOT_NONE && st->failed.time_ms >= u.time_ms &&
	    names_version_cmp(st->failed.version, u.version) == 0) {
		what = xasprintf("%s %s in slot %s did not come up: %s (the "
		    "record of it completed at the next start)",
		    update_slots_noun(s), u.version,
		    slot_name(st->failed.slot), st->failed.reason);
		audit_write(cmld, "update", s->kind, "fell-back", "%s", what);
		update_slot_history(s, u.version, "fell-back", what, 0);
	} else if (slot != SLOT_NONE && st->good == slot &&
	    names_version_cmp(st->good_version, u.version) == 0) {
		what = xasprintf("slot %s (%s %s) confirmed good (the record "
		    "of it completed at the next start)", slot_name(slot),
		    update_slots_noun(s), u.version);
		audit_write(cmld, "update", s->kind, "ok", "%s", what);
		update_slot_history(s, u.version, "confirmed", what, 1);
	}
	if (what != NULL)
		log_info("%s", what);
	free(what);
	store_update_clear(&u);
}

int
update_slot_marked(struct cmld *cmld, const char *kind, const char *version)
{
	struct cmld_slots *s;
	struct slot_state st;
	char *cause = NULL;

	if (strcmp(kind, "cml") == 0)
		s = &cmld->cml_slots;
	else if (strcmp(kind, "boot") == 0)
		s = &cmld->boot_slots;
	else
		return 0;
	if (s->dir == NULL)
		return 0;
	if (slot_state_read(s->dir, &st, &cause) == -1) {
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
 * Audits a fallback the launcher or the loader recorded in s's state and
 * ends its install as fell-back; starts confirming s's running slot when
 * it is being tried.
 */
static void
update_slots_start(struct cmld_slots *s)
{
	struct slot_failure f;
	struct slot_state st;
	char *cause = NULL;
	const char *runs = slot_name((enum slot_id)s->running);

	switch (slot_take_failure(s->dir, &f, &cause)) {
	case 1:
		audit_write(s->cmld, "update", s->kind, "fell-back", "%s %s in "
		    "slot %s did not come up: %s; slot %s runs again",
		    update_slots_noun(s), f.version, slot_name(f.slot),
		    f.reason, runs);
		log_warnx("%s %s in slot %s did not come up: %s; slot %s runs "
		    "again", update_slots_noun(s), f.version,
		    slot_name(f.slot), f.reason, runs);
		update_slot_history(s, f.version, "fell-back", f.reason, 0);
		break;
	case -1:
		log_warnx("%s", cause);
		free(cause);
		cause = NULL;
		break;
	}
	if (slot_state_read(s->dir, &st, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	update_slot_pending(s, &st);
	log_info("%s runs from slot %s of %s (%s)", update_slots_noun(s),
	    runs, s->dir, s->running == SLOT_NONE ? "not known: nothing is "
	    "confirmed" : st.try == (enum slot_id)s->running && st.tries == 0 ?
	    "being tried: confirmed once cmld and c0 are up" :
	    st.good == (enum slot_id)s->running ? "the good slot" :
	    "neither good nor being tried");
	if (s->running != SLOT_NONE && st.try == (enum slot_id)s->running &&
	    st.tries == 0)
		loop_timer_start(s->cmld->loop, &s->confirm_timer, 0);
}

/* The boot slot the running kernel names on its command line, or NONE. */
static enum slot_id
update_boot_running(void)
{
	enum slot_id slot = SLOT_NONE;
	char *text = NULL, *w, *save = NULL;
	size_t len;

	if (file_read_proc("/proc/cmdline", UPDATE_CMDLINE_MAX, &text,
	    &len) == -1) {
		log_warn("cannot read /proc/cmdline");
		return SLOT_NONE;
	}
	for (w = strtok_r(text, " \t\n", &save); w != NULL;
	    w = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(w, UPDATE_BOOT_ARG, strlen(UPDATE_BOOT_ARG)) == 0 &&
		    slot_parse(w + strlen(UPDATE_BOOT_ARG), &slot) == -1) {
			log_warnx("ignoring '%.40s' on the kernel's command "
			    "line: it names a or b", w);
			slot = SLOT_NONE;
		}
	}
	free(text);
	return slot;
}

/* Makes s the slots of kind (dir NULL: none). */
static void
update_slots_setup(struct cmld *cmld, struct cmld_slots *s, const char *kind,
    char *dir, enum slot_id running)
{
	s->cmld = cmld;
	s->kind = kind;
	s->dir = dir;
	s->running = (int)running;
	loop_timer_init(&s->confirm_timer, update_confirm_poll, s);
}

void
update_slots_init(struct cmld *cmld)
{
	if (cmld->cml_slots.dir != NULL)
		update_slots_start(&cmld->cml_slots);
	if (cmld->boot_slots.dir != NULL)
		update_slots_start(&cmld->boot_slots);
}

void
update_slots_open(struct cmld *cmld, const char *boot_dir)
{
	const char *dir = getenv("CML_SLOTS"), *name = getenv("CML_SLOT");
	enum slot_id slot;

	if (dir == NULL || name == NULL || *dir != '/' ||
	    slot_parse(name, &slot) == -1 || slot == SLOT_NONE)
		update_slots_setup(cmld, &cmld->cml_slots, "cml", NULL,
		    SLOT_NONE);
	else
		update_slots_setup(cmld, &cmld->cml_slots, "cml",
		    xstrdup(dir), slot);
	if (boot_dir == NULL)
		update_slots_setup(cmld, &cmld->boot_slots, "boot", NULL,
		    SLOT_NONE);
	else
		update_slots_setup(cmld, &cmld->boot_slots, "boot",
		    xstrdup(boot_dir), update_boot_running());
}

void
update_slots_free(struct cmld *cmld)
{
	struct cmld_slots *all[] = { &cmld->cml_slots, &cmld->boot_slots };
	size_t i;

	for (i = 0; i < 2; i++) {
		loop_timer_stop(cmld->loop, &all[i]->confirm_timer);
		free(all[i]->dir);
		all[i]->dir = NULL;
	}
}

struct cmld_slots *
update_slots_of(struct cmld *cmld, enum bundle_kind kind)
{
	switch (kind) {
	case BUNDLE_CML:
		return &cmld->cml_slots;
	case BUNDLE_BOOT:
		return &cmld->boot_slots;
	default:
		return NULL;
	}
}

/* Why a bundle's payloads do not fit s's kind of slots, or NULL. */
static char *
update_slots_payloads(const struct cmld_slots *s,
    const struct update_bundle *b)
{
	size_t i;
	int found = 0;

	for (i = 0; i < b->m.npayloads; i++) {
		if (strcmp(s->kind, "cml") == 0) {
			if (strcmp(b->m.payloads[i].path, SLOT_PROGRAM) == 0 &&
			    b->m.payloads[i].mode == 0755)
				found = 1;
			continue;
		}
		if (strcmp(b->m.payloads[i].name, SLOT_KERNEL) == 0)
			found = 1;
		else if (strcmp(b->m.payloads[i].name, SLOT_INITRD) != 0)
			return xasprintf("payload '%s': a boot bundle carries "
			    SLOT_KERNEL " and optionally " SLOT_INITRD ", "
			    "nothing else", b->m.payloads[i].name);
	}
	if (found)
		return NULL;
	if (strcmp(s->kind, "cml") == 0)
		return xstrdup("a cml bundle carries " SLOT_PROGRAM " (mode "
		    "0755): the launcher starts it");
	return xstrdup("a boot bundle carries the kernel image as payload "
	    SLOT_KERNEL ": the loader boots it");
}

char *
update_slots_check(struct cmld_slots *s, const struct update_bundle *b)
{
	struct slot_state st;
	char *cause = NULL, *why;

	if (s->dir == NULL && strcmp(s->kind, "cml") == 0)
		return xstrdup("cml does not run from A/B slots here "
		    "(cml-launch(8) starts it from them), so it cannot be "
		    "updated while it runs");
	if (s->dir == NULL)
		return xstrdup("this device has no boot slots (cmld "
		    "--boot-slots DIR): the kernel and boot image are not "
		    "updated by cmld here");
	if ((why = update_slots_payloads(s, b)) != NULL)
		return why;
	if (slot_state_read(s->dir, &st, &cause) == -1) {
		why = xasprintf("cannot read the slots: %s", cause);
		free(cause);
		return why;
	}
	if (st.try != SLOT_NONE)
		return xasprintf("slot %s (%s %s) is being tried: confirm it "
		    "('update mark-good') or let it fall back first%s",
		    slot_name(st.try), update_slots_noun(s), st.try_version,
		    st.tries > 0 && strcmp(s->kind, "boot") == 0 ?
		    " (it boots at the next start)" : "");
	if (slot_inactive(&st) == SLOT_NONE)
		return xstrdup("there is no inactive slot");
	return NULL;
}

struct json_object *
update_slots_json(const struct cmld_slots *s)
{
	struct json_object *o;
	struct slot_state st;
	char *cause = NULL, when[32], *text;

	if (s->dir == NULL)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "what", json_object_new_string(s->kind));
	if (s->running != SLOT_NONE)
		json_object_object_add(o, "running", json_object_new_string(
		    slot_name((enum slot_id)s->running)));
	if (slot_state_read(s->dir, &st, &cause) == -1) {
		/* said, not hidden: the state file is what is wrong */
		json_object_object_add(o, "good", json_object_new_string(
		    "unknown"));
		json_object_object_add(o, "tries", json_object_new_int(0));
		json_object_object_add(o, "pending_confirmation",
		    json_object_new_boolean(0));
		json_object_object_add(o, "last_failure",
		    json_object_new_string(cause));
		free(cause);
		return o;
	}
	json_object_object_add(o, "good", json_object_new_string(
	    slot_name(st.good)));
	if (st.try != SLOT_NONE)
		json_object_object_add(o, "try", json_object_new_string(
		    slot_name(st.try)));
	json_object_object_add(o, "tries", json_object_new_int(st.tries));
	if (st.good_version[0] != '\0')
		json_object_object_add(o, "good_version",
		    json_object_new_string(st.good_version));
	if (st.try_version[0] != '\0')
		json_object_object_add(o, "try_version",
		    json_object_new_string(st.try_version));
	json_object_object_add(o, "pending_confirmation",
	    json_object_new_boolean(st.try != SLOT_NONE &&
	    st.try == (enum slot_id)s->running && st.tries == 0));
	if (st.failed.slot != SLOT_NONE) {
		audit_format_time(st.failed.time_ms, when, sizeof when);
		text = xasprintf("%s: slot %s (%s %s): %s", when,
		    slot_name(st.failed.slot), update_slots_noun(s),
		    st.failed.version, st.failed.reason);
		json_object_object_add(o, "last_failure",
		    json_object_new_string(text));
		free(text);
	}
	return o;
}

/*
 * An install through slots: payloads copied into the staged slot, one by
 * one, each at its path (cml) or its name (boot).
 */
struct update_slot_copy {
	struct cmld_slots *s;
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

/*
 * Where payload p goes in a slot: its path (cml), else its name (boot);
 * *mode its mode, 0644 for a boot slot's files.
 */
static const char *
update_slot_target(const struct bundle_payload *p, mode_t *mode)
{
	if (mode != NULL)
		*mode = p->path != NULL ? (mode_t)p->mode : 0644;
	return p->path != NULL ? p->path : p->name;
}

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
update_slot_begin(struct cmld_slots *s, const struct update_bundle *b,
    char **cause)
{
	struct update_slot_copy *c;
	struct slot_state st;
	size_t i;

	if (slot_state_read(s->dir, &st, cause) == -1)
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->s = s;
	c->fd = -1;
	c->slot = slot_inactive(&st);
	if (slot_stage_begin(s->dir, c->slot, &c->dir, cause) == -1) {
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
	p->file = c->cur < b->m.npayloads ?
	    update_slot_target(&b->m.payloads[c->cur], NULL) : "";
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
	const char *target;
	mode_t mode;
	size_t want;
	ssize_t n;

	if (c->cur == b->m.npayloads)
		return 1;
	p = &b->m.payloads[c->cur];
	target = update_slot_target(p, &mode);
	if (c->fd == -1) {
		if (update_slot_mkdirs(c->dir, target, cause) == -1)
			return -1;
		file = xasprintf("%s/%s", c->dir, target);
		c->fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
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
			    target, strerror(errno));
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
	if (fchmod(c->fd, mode) == -1 || close(c->fd) == -1) {
		c->fd = -1;
		xcause(cause, "cannot write %s/%s: %s", c->dir, target,
		    strerror(errno));
		return -1;
	}
	c->fd = -1;
	c->cur++;
	return c->cur == b->m.npayloads ? 1 : 0;
}

int
update_slot_commit(struct update_slot_copy *c, const char *version,
    char **cause)
{
	if (slot_stage_commit(c->s->dir, c->slot, version, cause) == -1)
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
