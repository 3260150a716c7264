/*
 * A/B slots of cml itself: the state file, the decisions of cml-launch and
 * the staging of an update into the inactive slot (slot.h).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "names.h"
#include "slot.h"
#include "utf8.h"
#include "xmalloc.h"

/* The fields of a state file, in the order they are written. */
enum slot_field {
	SLOT_F_GOOD,
	SLOT_F_GOOD_VERSION,
	SLOT_F_TRY,
	SLOT_F_TRIES,
	SLOT_F_TRY_VERSION,
	SLOT_F_FAILED_SLOT,
	SLOT_F_FAILED_VERSION,
	SLOT_F_FAILED_REASON,
	SLOT_F_FAILED_TIME,
	SLOT_F_FAILED_REPORTED,
	SLOT_FIELDS,
};

static const char *const slot_fields[SLOT_FIELDS] = {
	"good", "good_version", "try", "tries", "try_version",
	"failed_slot", "failed_version", "failed_reason", "failed_time",
	"failed_reported",
};

/* The temporary file file_write_atomic writes the state through. */
#define SLOT_STATE_TMP "." SLOT_STATE_FILE ".tmp"

const char *
slot_name(enum slot_id slot)
{
	switch (slot) {
	case SLOT_A:
		return "a";
	case SLOT_B:
		return "b";
	default:
		return "none";
	}
}

int
slot_parse(const char *s, enum slot_id *slot)
{
	if (strcmp(s, "a") == 0)
		*slot = SLOT_A;
	else if (strcmp(s, "b") == 0)
		*slot = SLOT_B;
	else if (strcmp(s, "none") == 0)
		*slot = SLOT_NONE;
	else
		return -1;
	return 0;
}

/* Parses a version field: empty (unknown) or a dotted version. */
static int
slot_parse_version(const char *s, char *out)
{
	if (*s != '\0' && (strlen(s) > SLOT_VERSION_MAX ||
	    !names_version_ok(s)))
		return -1;
	strcpy(out, s);
	return 0;
}

/* Parses a decimal number of 0 to max without sign or leading zeros. */
static int
slot_parse_number(const char *s, long long max, long long *out)
{
	long long v = 0;
	const char *p;

	/* max has at most 15 digits: 18 never overflow */
	if (*s == '\0' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 18)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parses a failure's reason: bounded UTF-8 text without control bytes. */
static int
slot_parse_reason(const char *s, char *out)
{
	const unsigned char *p;
	size_t len = strlen(s);

	if (len > SLOT_REASON_MAX || !utf8_valid(s, len))
		return -1;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
	}
	strcpy(out, s);
	return 0;
}

/* Parses one field's value into st; -1 with *cause saying what it needs. */
static int
slot_parse_field(struct slot_state *st, enum slot_field f, const char *v,
    char **cause)
{
	long long n;

	switch (f) {
	case SLOT_F_GOOD:
		if (slot_parse(v, &st->good) == -1 || st->good == SLOT_NONE)
			goto bad_slot;
		return 0;
	case SLOT_F_TRY:
		if (slot_parse(v, &st->try) == -1)
			goto bad_slot;
		return 0;
	case SLOT_F_FAILED_SLOT:
		if (slot_parse(v, &st->failed.slot) == -1)
			goto bad_slot;
		return 0;
	case SLOT_F_GOOD_VERSION:
		if (slot_parse_version(v, st->good_version) == -1)
			goto bad_version;
		return 0;
	case SLOT_F_TRY_VERSION:
		if (slot_parse_version(v, st->try_version) == -1)
			goto bad_version;
		return 0;
	case SLOT_F_FAILED_VERSION:
		if (slot_parse_version(v, st->failed.version) == -1)
			goto bad_version;
		return 0;
	case SLOT_F_TRIES:
		if (slot_parse_number(v, 1, &n) == -1) {
			xcause(cause, "needs 0 or 1");
			return -1;
		}
		st->tries = (int)n;
		return 0;
	case SLOT_F_FAILED_REPORTED:
		if (slot_parse_number(v, 1, &n) == -1) {
			xcause(cause, "needs 0 or 1");
			return -1;
		}
		st->failed.reported = (int)n;
		return 0;
	case SLOT_F_FAILED_TIME:
		if (slot_parse_number(v, 999999999999999LL, &n) == -1) {
			xcause(cause, "needs milliseconds since the epoch");
			return -1;
		}
		st->failed.time_ms = n;
		return 0;
	case SLOT_F_FAILED_REASON:
		if (slot_parse_reason(v, st->failed.reason) == -1) {
			xcause(cause, "needs UTF-8 text of at most %d bytes "
			    "without control characters", SLOT_REASON_MAX);
			return -1;
		}
		return 0;
	default:
		break;
	}
	xcause(cause, "is not a field");
	return -1;

bad_slot:
	xcause(cause, "needs %s", f == SLOT_F_GOOD ? "a or b" :
	    "a, b or none");
	return -1;
bad_version:
	xcause(cause, "needs a dotted version such as 1.2.3, or nothing");
	return -1;
}

/*
 * Checks that the fields agree with each other; -1 with *cause naming the
 * line of the field that contradicts.
 */
static int
slot_state_check(const struct slot_state *st, const size_t *line,
    const char *path, char **cause)
{
	if (st->try == st->good) {
		xcause(cause, "%s line %zu: field 'try': slot %s is the good "
		    "slot already", path, line[SLOT_F_TRY],
		    slot_name(st->try));
		return -1;
	}
	if (st->try == SLOT_NONE && st->tries != 0) {
		xcause(cause, "%s line %zu: field 'tries': %d starts left "
		    "but nothing is tried (try=none)", path,
		    line[SLOT_F_TRIES], st->tries);
		return -1;
	}
	if (st->try == SLOT_NONE && *st->try_version != '\0') {
		xcause(cause, "%s line %zu: field 'try_version': a version "
		    "but nothing is tried (try=none)", path,
		    line[SLOT_F_TRY_VERSION]);
		return -1;
	}
	if (st->failed.slot == SLOT_NONE && (*st->failed.version != '\0' ||
	    *st->failed.reason != '\0' || st->failed.time_ms != 0)) {
		xcause(cause, "%s line %zu: field 'failed_slot': none, but "
		    "the failure's version, reason or time is set", path,
		    line[SLOT_F_FAILED_SLOT]);
		return -1;
	}
	return 0;
}

int
slot_state_parse(const char *text, size_t len, const char *path,
    struct slot_state *st, char **cause)
{
	size_t line[SLOT_FIELDS], n = 0, f;
	const char *p = text, *end = text + len, *nl, *eq;
	char *l = NULL, *why = NULL;
	int ret = -1;

	memset(st, 0, sizeof *st);
	memset(line, 0, sizeof line);
	if (memchr(text, '\0', len) != NULL) {
		xcause(cause, "%s: a NUL byte: not a state file", path);
		return -1;
	}
	while (p < end) {
		n++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		free(l);
		l = xmalloc((size_t)(nl - p) + 1);
		memcpy(l, p, (size_t)(nl - p));
		l[nl - p] = '\0';
		p = nl < end ? nl + 1 : end;
		if (*l == '\0' || *l == '#')
			continue;
		if ((eq = strchr(l, '=')) == NULL) {
			xcause(cause, "%s line %zu: no '=': expected "
			    "field=value", path, n);
			goto out;
		}
		l[eq - l] = '\0';
		for (f = 0; f < SLOT_FIELDS; f++) {
			if (strcmp(l, slot_fields[f]) == 0)
				break;
		}
		if (f == SLOT_FIELDS) {
			why = utf8_clean(l, 64);
			xcause(cause, "%s line %zu: unknown field '%s'", path,
			    n, why);
			goto out;
		}
		if (line[f] != 0) {
			xcause(cause, "%s line %zu: field '%s' given twice "
			    "(first on line %zu)", path, n, slot_fields[f],
			    line[f]);
			goto out;
		}
		line[f] = n;
		if (slot_parse_field(st, (enum slot_field)f, eq + 1,
		    &why) == -1) {
			xcause(cause, "%s line %zu: field '%s' %s", path, n,
			    slot_fields[f], why);
			goto out;
		}
	}
	for (f = 0; f < SLOT_FIELDS; f++) {
		if (line[f] == 0) {
			xcause(cause, "%s: field '%s' is missing", path,
			    slot_fields[f]);
			goto out;
		}
	}
	ret = slot_state_check(st, line, path, cause);
out:
	free(why);
	free(l);
	return ret;
}

char *
slot_state_format(const struct slot_state *st)
{
	return xasprintf("# cml's slots (cml-launch(8)): replaced whole, "
	    "never edited in place\n"
	    "good=%s\ngood_version=%s\ntry=%s\ntries=%d\ntry_version=%s\n"
	    "failed_slot=%s\nfailed_version=%s\nfailed_reason=%s\n"
	    "failed_time=%lld\nfailed_reported=%d\n",
	    slot_name(st->good), st->good_version, slot_name(st->try),
	    st->tries, st->try_version, slot_name(st->failed.slot),
	    st->failed.version, st->failed.reason, st->failed.time_ms,
	    st->failed.reported);
}

/*
 * Returns 1 when the slot directory sdir holds what makes a slot
 * installed: cml's SLOT_PROGRAM, or a boot slot's SLOT_KERNEL.
 */
static int
slot_holds(const char *sdir)
{
	struct stat sb;
	char *p;
	int ok;

	p = xasprintf("%s/%s", sdir, SLOT_PROGRAM);
	ok = access(p, X_OK) == 0;
	free(p);
	if (ok)
		return 1;
	p = xasprintf("%s/%s", sdir, SLOT_KERNEL);
	ok = stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
	free(p);
	return ok;
}

/* Returns 1 when DIR/<slot> is installed (slot_holds). */
static int
slot_installed(const char *dir, enum slot_id slot)
{
	char *p;
	int ok;

	p = xasprintf("%s/%s", dir, slot_name(slot));
	ok = slot_holds(p);
	free(p);
	return ok;
}

int
slot_state_read(const char *dir, struct slot_state *st, char **cause)
{
	char *path, *text = NULL, *why;
	size_t len;
	int ret = -1;

	path = xasprintf("%s/%s", dir, SLOT_STATE_FILE);
	if (file_read_small(AT_FDCWD, path, SLOT_STATE_MAX, &text,
	    &len) == 0) {
		ret = slot_state_parse(text, len, path, st, cause);
		goto out;
	}
	if (errno != ENOENT) {
		why = file_error(path, SLOT_STATE_MAX);
		xcause(cause, "%s", why);
		free(why);
		goto out;
	}
	/* Never written: what was installed first is good. */
	memset(st, 0, sizeof *st);
	if (slot_installed(dir, SLOT_A))
		st->good = SLOT_A;
	else if (slot_installed(dir, SLOT_B))
		st->good = SLOT_B;
	else {
		xcause(cause, "neither %s/a nor %s/b holds %s or %s and there "
		    "is no %s: install cml into %s/a first (make install "
		    "prefix=%s/a), or the kernel as %s/a/%s", dir, dir,
		    SLOT_PROGRAM, SLOT_KERNEL, path, dir, dir, dir,
		    SLOT_KERNEL);
		goto out;
	}
	ret = 0;
out:
	free(text);
	free(path);
	return ret;
}

int
slot_state_write(const char *dir, const struct slot_state *st, char **cause)
{
	char *text;
	int ret;

	text = slot_state_format(st);
	ret = file_write_atomic(dir, SLOT_STATE_FILE, text, strlen(text), 0644,
	    cause);
	free(text);
	return ret;
}

/* Locks DIR against other changes of its state; the descriptor, or -1. */
static int
slot_lock(const char *dir, char **cause)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xcause(cause, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			xcause(cause, "cannot lock %s: %s", dir,
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

int
slot_state_update(const char *dir,
    int (*fn)(struct slot_state *, void *, char **), void *arg,
    char **cause)
{
	struct slot_state st;
	int fd, rc, ret = -1;

	if ((fd = slot_lock(dir, cause)) == -1)
		return -1;
	if (slot_state_read(dir, &st, cause) == -1)
		goto out;
	if ((rc = fn(&st, arg, cause)) == -1)
		goto out;
	if (rc == 1 && slot_state_write(dir, &st, cause) == -1)
		goto out;
	ret = 0;
out:
	close(fd); /* and the lock with it */
	return ret;
}

enum slot_id
slot_inactive(const struct slot_state *st)
{
	if (st->try != SLOT_NONE)
		return SLOT_NONE;
	return st->good == SLOT_A ? SLOT_B : SLOT_A;
}

int
slot_pick(struct slot_state *st, long long now_ms, enum slot_id *slot,
    int *trying)
{
	int changed = 0;

	if (st->try != SLOT_NONE && st->tries > 0) {
		st->tries--;
		*slot = st->try;
		*trying = 1;
		return 1;
	}
	if (st->try != SLOT_NONE) {
		slot_fail(st, "started but not confirmed before cml-launch "
		    "started again", now_ms);
		changed = 1;
	}
	*slot = st->good;
	*trying = 0;
	return changed;
}

void
slot_fail(struct slot_state *st, const char *reason, long long now_ms)
{
	char *clean;

	if (st->try == SLOT_NONE)
		return;
	clean = utf8_clean(reason, SLOT_REASON_MAX);
	st->failed.slot = st->try;
	strcpy(st->failed.version, st->try_version);
	snprintf(st->failed.reason, sizeof st->failed.reason, "%s", clean);
	st->failed.time_ms = now_ms;
	st->failed.reported = 0;
	st->try = SLOT_NONE;
	st->tries = 0;
	*st->try_version = '\0';
	free(clean);
}

int
slot_confirm(struct slot_state *st, enum slot_id slot, char **cause)
{
	if (slot != SLOT_NONE && slot == st->try && st->tries == 0) {
		st->good = st->try;
		strcpy(st->good_version, st->try_version);
		st->try = SLOT_NONE;
		*st->try_version = '\0';
		return 1;
	}
	if (slot != SLOT_NONE && slot == st->good)
		return 0;
	if (slot != SLOT_NONE && slot == st->try) {
		xcause(cause, "slot %s is marked to be tried but was not "
		    "started yet: it cannot be confirmed", slot_name(slot));
		return -1;
	}
	xcause(cause, "slot %s is neither good (%s) nor being tried: its "
	    "trial ended before it was confirmed (see the last failure)",
	    slot_name(slot), slot_name(st->good));
	return -1;
}

static int
slot_mark_good_fn(struct slot_state *st, void *arg, char **cause)
{
	return slot_confirm(st, *(enum slot_id *)arg, cause);
}

int
slot_mark_good(const char *dir, enum slot_id slot, char **cause)
{
	return slot_state_update(dir, slot_mark_good_fn, &slot, cause);
}

static int
slot_take_failure_fn(struct slot_state *st, void *arg, char **cause)
{
	struct slot_failure *failure = arg;

	(void)cause;
	if (st->failed.slot == SLOT_NONE || st->failed.reported)
		return 0;
	*failure = st->failed;
	st->failed.reported = 1;
	return 1;
}

int
slot_take_failure(const char *dir, struct slot_failure *failure,
    char **cause)
{
	memset(failure, 0, sizeof *failure);
	if (slot_state_update(dir, slot_take_failure_fn, failure, cause) == -1)
		return -1;
	return failure->slot != SLOT_NONE;
}

/* Checks that slot may take an update: -1 with *cause set if not. */
static int
slot_check_inactive(const struct slot_state *st, enum slot_id slot,
    char **cause)
{
	if (slot != SLOT_A && slot != SLOT_B) {
		xcause(cause, "no slot %s: a or b", slot_name(slot));
		return -1;
	}
	if (slot == st->good) {
		xcause(cause, "slot %s is the good slot: an update goes to "
		    "the other one", slot_name(slot));
		return -1;
	}
	if (st->try != SLOT_NONE) {
		xcause(cause, "slot %s%s is being tried: confirm it "
		    "(update mark-good) or let it fail before the next "
		    "update", slot_name(st->try), st->tries > 0 ?
		    " (marked, not started yet)" : "");
		return -1;
	}
	return 0;
}

/* Returns DIR/<slot><suffix> (free it). */
static char *
slot_path(const char *dir, enum slot_id slot, const char *suffix)
{
	return xasprintf("%s/%s%s", dir, slot_name(slot), suffix);
}

int
slot_stage_begin(const char *dir, enum slot_id slot, char **path,
    char **cause)
{
	struct slot_state st;
	char *p;

	*path = NULL;
	if (slot_state_read(dir, &st, cause) == -1 ||
	    slot_check_inactive(&st, slot, cause) == -1)
		return -1;
	p = slot_path(dir, slot, ".new");
	if (file_remove_tree(p, cause) == -1) {
		free(p);
		return -1;
	}
	if (mkdir(p, 0755) == -1) {
		xcause(cause, "cannot make %s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	*path = p;
	return 0;
}

/* Renames DIR/from to DIR/to and fsyncs DIR; a from already gone is fine. */
static int
slot_rename(const char *dir, const char *from, const char *to,
    int missing_ok, char **cause)
{
	if (rename(from, to) == -1) {
		if (errno == ENOENT && missing_ok)
			return 0;
		xcause(cause, "cannot rename %s to %s: %s", from, to,
		    strerror(errno));
		return -1;
	}
	if (file_sync_dir(dir) == -1) {
		xcause(cause, "cannot sync %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Checks the version an update is marked with; -1 with *cause set. */
static int
slot_check_version(enum slot_id slot, const char *version, char **cause)
{
	char *clean;

	if (*version == '\0' || strlen(version) > SLOT_VERSION_MAX ||
	    !names_version_ok(version)) {
		clean = utf8_clean(version, 64);
		xcause(cause, "cannot mark slot %s: '%s' is not a dotted "
		    "version", slot_name(slot), clean);
		free(clean);
		return -1;
	}
	return 0;
}

/* The arguments of the marking step. */
struct slot_mark {
	const char *dir;
	enum slot_id slot;
	const char *version;
};

static int
slot_mark_fn(struct slot_state *st, void *arg, char **cause)
{
	struct slot_mark *m = arg;
	struct stat sb;
	char *p;
	int left;

	if (slot_check_inactive(st, m->slot, cause) == -1)
		return -1;
	/* Only a slot whose swap ended may be tried: never a half one. */
	p = slot_path(m->dir, m->slot, ".new");
	left = lstat(p, &sb) == 0;
	free(p);
	p = slot_path(m->dir, m->slot, ".old");
	left |= lstat(p, &sb) == 0;
	free(p);
	if (left || !slot_installed(m->dir, m->slot)) {
		xcause(cause, "%s/%s is not a complete install (its update "
		    "did not end): not marked", m->dir, slot_name(m->slot));
		return -1;
	}
	st->try = m->slot;
	st->tries = 1;
	strcpy(st->try_version, m->version);
	return 1;
}

int
slot_stage_step(const char *dir, enum slot_id slot, const char *version,
    enum slot_step step, char **cause)
{
	struct slot_mark m = { dir, slot, version };
	char *cur, *nw, *old;
	int ret = -1;

	if (slot != SLOT_A && slot != SLOT_B) {
		xcause(cause, "no slot %s: a or b", slot_name(slot));
		return -1;
	}
	cur = slot_path(dir, slot, "");
	nw = slot_path(dir, slot, ".new");
	old = slot_path(dir, slot, ".old");
	switch (step) {
	case SLOT_STEP_SYNC:
		if (!slot_holds(nw)) {
			xcause(cause, "%s has neither %s nor %s: not an "
			    "install prefix of cml nor a boot slot", nw,
			    SLOT_PROGRAM, SLOT_KERNEL);
			break;
		}
		ret = file_sync_tree(nw, cause);
		break;
	case SLOT_STEP_RETIRE:
		/* What an earlier cut left there is the older still. */
		if (file_remove_tree(old, cause) == 0)
			ret = slot_rename(dir, cur, old, 1, cause);
		break;
	case SLOT_STEP_INSTALL:
		ret = slot_rename(dir, nw, cur, 0, cause);
		break;
	case SLOT_STEP_CLEAN:
		ret = file_remove_tree(old, cause);
		break;
	case SLOT_STEP_MARK:
		if (slot_check_version(slot, version, cause) == 0)
			ret = slot_state_update(dir, slot_mark_fn, &m, cause);
		break;
	default:
		xcause(cause, "no step %d", (int)step);
		break;
	}
	free(old);
	free(nw);
	free(cur);
	return ret;
}

int
slot_stage_commit(const char *dir, enum slot_id slot, const char *version,
    char **cause)
{
	struct slot_state st;
	int step;

	if (slot_check_version(slot, version, cause) == -1)
		return -1;
	if (slot_state_read(dir, &st, cause) == -1 ||
	    slot_check_inactive(&st, slot, cause) == -1)
		return -1;
	for (step = 0; step < SLOT_STEPS; step++) {
		if (slot_stage_step(dir, slot, version, (enum slot_step)step,
		    cause) == -1)
			return -1;
	}
	return 0;
}

/* What slot_recover does under the lock. */
static int
slot_recover_locked(const char *dir, char **done, char **cause)
{
	static const char *const suffixes[] = { ".new", ".old" };
	static const enum slot_id slots[] = { SLOT_A, SLOT_B };
	struct stat sb;
	char *p, *list = NULL, *t;
	size_t i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++) {
			p = slot_path(dir, slots[i], suffixes[j]);
			if (lstat(p, &sb) == -1) {
				free(p);
				continue;
			}
			if (file_remove_tree(p, cause) == -1) {
				free(p);
				free(list);
				return -1;
			}
			t = xasprintf("%s%s%s%s", list != NULL ? list : "",
			    list != NULL ? ", " : "", slot_name(slots[i]),
			    suffixes[j]);
			free(list);
			list = t;
			free(p);
		}
	}
	p = xasprintf("%s/%s", dir, SLOT_STATE_TMP);
	if (unlink(p) == 0) {
		t = xasprintf("%s%s%s", list != NULL ? list : "",
		    list != NULL ? ", " : "", SLOT_STATE_TMP);
		free(list);
		list = t;
	}
	free(p);
	if (list != NULL) {
		*done = xasprintf("removed %s in %s: left by an update that "
		    "was cut off before it was complete", list, dir);
		free(list);
	}
	return 0;
}

int
slot_recover(const char *dir, char **done, char **cause)
{
	int fd, ret;

	*done = NULL;
	if ((fd = slot_lock(dir, cause)) == -1)
		return -1;
	ret = slot_recover_locked(dir, done, cause);
	close(fd);
	return ret;
}
