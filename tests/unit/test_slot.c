/*
 * Unit tests of common/slot.c: the state file read back as written and
 * every malformed one refused with its line; the decisions of cml-launch
 * (a slot tried once, confirmed or fallen back from); and an update staged
 * into the inactive slot, cut off after each of its steps as a power cut
 * would, always leaving the old state or the new one.  Real files in a
 * private temporary directory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slot.h"
#include "testutil.h"
#include "xmalloc.h"

/* A slots directory with a/ installed ("A"); b/ too if asked ("OLD"). */
struct fix {
	char dir[64];
};

/* Writes text to dir/rel, making the directories before it. */
static void
put(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char *p, *s;
	int fd;

	p = xasprintf("%s/%s", dir, rel);
	for (s = strchr(p + strlen(dir) + 1, '/'); s != NULL;
	    s = strchr(s + 1, '/')) {
		*s = '\0';
		(void)mkdir(p, 0755);
		*s = '/';
	}
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	free(p);
}

/* Returns the content of dir/rel (free it), or NULL when it is missing. */
static char *
get(const char *dir, const char *rel)
{
	unsigned char *buf;
	char *p;
	size_t len;

	p = xasprintf("%s/%s", dir, rel);
	if (access(p, F_OK) == -1) {
		free(p);
		return NULL;
	}
	buf = test_read_all(p, &len);
	free(p);
	buf = xreallocarray(buf, 1, len + 1);
	buf[len] = '\0';
	return (char *)buf;
}

/* Returns 1 when dir/rel exists. */
static int
exists(const char *dir, const char *rel)
{
	struct stat sb;
	char *p;
	int ok;

	p = xasprintf("%s/%s", dir, rel);
	ok = lstat(p, &sb) == 0;
	free(p);
	return ok;
}

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/test_slot.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	put(f->dir, "a/sbin/cmld", "A", 0755);
	put(f->dir, "a/share/man/man8/cmld.8", "A man", 0644);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	int ret;

	ret = test_remove_tree(f->dir);
	free(f);
	return ret;
}

/* A state with every field set. */
static void
full_state(struct slot_state *st)
{
	memset(st, 0, sizeof *st);
	st->good = SLOT_B;
	strcpy(st->good_version, "1.2.3");
	st->try = SLOT_A;
	st->tries = 1;
	strcpy(st->try_version, "1.3");
	st->failed.slot = SLOT_A;
	strcpy(st->failed.version, "1.2.4");
	strcpy(st->failed.reason, "killed by signal 9 before confirming");
	st->failed.time_ms = 1700000000123LL;
	st->failed.reported = 1;
}

/* Proves: TSF.UPD (the slots' state reads back exactly as written). */
static void
test_slot_state_round_trip_same(void **state)
{
	struct fix *f = *state;
	struct slot_state st, back;
	char *text, *cause = NULL;

	full_state(&st);
	text = slot_state_format(&st);
	assert_int_equal(slot_state_parse(text, strlen(text), "x", &back,
	    &cause), 0);
	assert_memory_equal(&st, &back, sizeof st);
	free(text);

	assert_int_equal(slot_state_write(f->dir, &st, &cause), 0);
	memset(&back, 0xff, sizeof back);
	assert_int_equal(slot_state_read(f->dir, &back, &cause), 0);
	assert_memory_equal(&st, &back, sizeof st);
	/* written through a temporary file that does not stay */
	assert_false(exists(f->dir, ".state.tmp"));
	text = get(f->dir, "state");
	assert_non_null(strstr(text, "\ngood=b\ngood_version=1.2.3\ntry=a\n"
	    "tries=1\ntry_version=1.3\nfailed_slot=a\n"));
	free(text);
}

/* A state file in which one line is replaced: line, with text. */
static char *
edited(int line, const char *text)
{
	static const char *const lines[] = {
		"# comment", "good=a", "good_version=1.0", "try=b", "tries=1",
		"try_version=1.1", "failed_slot=none", "failed_version=",
		"failed_reason=", "failed_time=0", "failed_reported=0",
	};
	char *out = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		t = xasprintf("%s%s\n", out, (int)i + 1 == line ? text :
		    lines[i]);
		free(out);
		out = t;
	}
	return out;
}

/*
 * Proves: TSF.UPD (a malformed state file is refused with its line and
 * field, never guessed around).
 */
static void
test_slot_state_malformed_refused_with_line(void **state)
{
	static const struct {
		int line;
		const char *text;
		const char *cause;
	} cases[] = {
		{ 0, "", NULL },
		{ 2, "good=c", "S line 2: field 'good' needs a or b" },
		{ 2, "good=none", "S line 2: field 'good' needs a or b" },
		{ 2, "good", "S line 2: no '=': expected field=value" },
		{ 2, "good_version=1.0", "S line 3: field 'good_version' given "
		    "twice (first on line 2)" },
		{ 2, "colour=red", "S line 2: unknown field 'colour'" },
		{ 2, "# good=a", "S: field 'good' is missing" },
		{ 3, "good_version=01.0", "S line 3: field 'good_version' needs "
		    "a dotted version such as 1.2.3, or nothing" },
		{ 4, "try=a", "S line 4: field 'try': slot a is the good slot "
		    "already" },
		{ 4, "try=B", "S line 4: field 'try' needs a, b or none" },
		{ 5, "tries=2", "S line 5: field 'tries' needs 0 or 1" },
		{ 5, "tries=-1", "S line 5: field 'tries' needs 0 or 1" },
		{ 5, "tries= 1", "S line 5: field 'tries' needs 0 or 1" },
		{ 9, "failed_reason=a\tb", "S line 9: field 'failed_reason' "
		    "needs UTF-8 text of at most 200 bytes without control "
		    "characters" },
		{ 9, "failed_reason=\xff", "S line 9: field 'failed_reason' "
		    "needs UTF-8 text of at most 200 bytes without control "
		    "characters" },
		{ 9, "failed_reason=exited", "S line 7: field 'failed_slot': "
		    "none, but the failure's version, reason or time is set" },
		{ 10, "failed_time=12x", "S line 10: field 'failed_time' needs "
		    "milliseconds since the epoch" },
		{ 10, "failed_time=99999999999999999999999", "S line 10: field "
		    "'failed_time' needs milliseconds since the epoch" },
		{ 11, "failed_reported=yes", "S line 11: field "
		    "'failed_reported' needs 0 or 1" },
	};
	struct slot_state st;
	char *text, *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		text = edited(cases[i].line, cases[i].text);
		if (cases[i].cause == NULL) {
			assert_int_equal(slot_state_parse(text, strlen(text),
			    "S", &st, &cause), 0);
			assert_int_equal(st.good, SLOT_A);
			assert_int_equal(st.try, SLOT_B);
			assert_int_equal(st.tries, 1);
			assert_string_equal(st.try_version, "1.1");
		} else {
			assert_int_equal(slot_state_parse(text, strlen(text),
			    "S", &st, &cause), -1);
			assert_string_equal(cause, cases[i].cause);
		}
		free(cause);
		free(text);
	}

	/* nothing tried, but starts or a version left */
	text = xstrdup("good=a\ngood_version=\ntry=none\ntries=1\n"
	    "try_version=\nfailed_slot=none\nfailed_version=\n"
	    "failed_reason=\nfailed_time=0\nfailed_reported=0\n");
	cause = NULL;
	assert_int_equal(slot_state_parse(text, strlen(text), "S", &st,
	    &cause), -1);
	assert_string_equal(cause, "S line 4: field 'tries': 1 starts left "
	    "but nothing is tried (try=none)");
	free(cause);
	/* a NUL byte */
	text[3] = '\0';
	cause = NULL;
	assert_int_equal(slot_state_parse(text, strlen(text + 4) + 4, "S", &st,
	    &cause), -1);
	assert_string_equal(cause, "S: a NUL byte: not a state file");
	free(cause);
	free(text);
}

/* Proves: TSF.UPD (a state file that cannot be read is an error). */
static void
test_slot_state_read_bad_file_refused(void **state)
{
	struct fix *f = *state;
	struct slot_state st;
	char *cause = NULL, *want;

	put(f->dir, "state", "good=a\n", 0644);
	assert_int_equal(slot_state_read(f->dir, &st, &cause), -1);
	want = xasprintf("%s/state: field 'good_version' is missing", f->dir);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	cause = NULL;
	/* nor is it changed on a guess */
	assert_int_equal(slot_mark_good(f->dir, SLOT_A, &cause), -1);
	assert_non_null(strstr(cause, "field 'good_version' is missing"));
	free(cause);
}

/* Proves: TSF.UPD (without a state file, the installed slot is good). */
static void
test_slot_state_missing_installed_slot_good(void **state)
{
	struct fix *f = *state;
	struct slot_state st;
	char *cause = NULL, *p;

	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(st.good, SLOT_A);
	assert_int_equal(st.try, SLOT_NONE);
	assert_int_equal(slot_inactive(&st), SLOT_B);

	/* only b installed */
	p = xasprintf("%s/a", f->dir);
	assert_int_equal(test_remove_tree(p), 0);
	free(p);
	put(f->dir, "b/sbin/cmld", "B", 0755);
	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(st.good, SLOT_B);
	assert_int_equal(slot_inactive(&st), SLOT_A);

	/* none: say what to do */
	p = xasprintf("%s/b", f->dir);
	assert_int_equal(test_remove_tree(p), 0);
	free(p);
	assert_int_equal(slot_state_read(f->dir, &st, &cause), -1);
	assert_non_null(strstr(cause, "holds sbin/cmld or vmlinuz and there "
	    "is no"));
	assert_non_null(strstr(cause, "install cml into"));
	free(cause);
}

/* Commits the staged b (path, freed) as 2.0: marked to be tried once. */
static void
commit_b(struct fix *f, char *path)
{
	struct slot_state st;
	char *cause = NULL;

	assert_int_equal(slot_stage_commit(f->dir, SLOT_B, "2.0", &cause), 0);
	free(path);
	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(st.good, SLOT_A);
	assert_int_equal(st.try, SLOT_B);
	assert_int_equal(st.tries, 1);
	assert_string_equal(st.try_version, "2.0");
}

/*
 * Proves: TSF.UPD, NDR 3.10 (boot slots: a slot holding a kernel image is
 * installed, an update of kernel and initramfs is staged into the inactive
 * slot and marked to be tried once; an empty kernel is no install).
 */
static void
test_slot_boot_stage_marks_inactive(void **state)
{
	struct fix *f = *state;
	struct slot_state st;
	char *path, *cause = NULL, *p, *s;

	p = xasprintf("%s/a", f->dir);
	assert_int_equal(test_remove_tree(p), 0);
	free(p);
	put(f->dir, "a/" SLOT_KERNEL, "KERNEL A", 0644);
	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(st.good, SLOT_A);
	assert_int_equal(slot_inactive(&st), SLOT_B);

	assert_int_equal(slot_stage_begin(f->dir, SLOT_B, &path, &cause), 0);
	/* an empty kernel image is not a boot slot */
	put(path, SLOT_KERNEL, "", 0644);
	assert_int_equal(slot_stage_commit(f->dir, SLOT_B, "2.0", &cause), -1);
	assert_non_null(strstr(cause, "b.new has neither sbin/cmld nor "
	    "vmlinuz"));
	free(cause);
	cause = NULL;
	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(st.try, SLOT_NONE);

	put(path, SLOT_KERNEL, "KERNEL B", 0644);
	put(path, SLOT_INITRD, "INITRD B", 0644);
	commit_b(f, path);
	s = get(f->dir, "b/" SLOT_INITRD);
	assert_string_equal(s, "INITRD B");
	free(s);
	assert_false(exists(f->dir, "b.new"));
}

/*
 * Proves: TSF.UPD, NDR 3.10 (a marked slot is started once; unconfirmed,
 * the next start falls back to the good slot and records why).
 */
static void
test_slot_pick_once_then_fallback(void **state)
{
	struct slot_state st;
	enum slot_id slot;
	int trying;

	(void)state;
	memset(&st, 0, sizeof st);
	st.good = SLOT_A;
	strcpy(st.good_version, "1.0");
	/* nothing tried: the good slot, nothing changes */
	assert_int_equal(slot_pick(&st, 5, &slot, &trying), 0);
	assert_int_equal(slot, SLOT_A);
	assert_int_equal(trying, 0);

	st.try = SLOT_B;
	st.tries = 1;
	strcpy(st.try_version, "1.1");
	assert_int_equal(slot_inactive(&st), SLOT_NONE);
	/* the tried slot, its one start used up before it runs */
	assert_int_equal(slot_pick(&st, 6, &slot, &trying), 1);
	assert_int_equal(slot, SLOT_B);
	assert_int_equal(trying, 1);
	assert_int_equal(st.tries, 0);
	assert_int_equal(st.try, SLOT_B);

	/* started again without confirming: back to a, failure recorded */
	assert_int_equal(slot_pick(&st, 7, &slot, &trying), 1);
	assert_int_equal(slot, SLOT_A);
	assert_int_equal(trying, 0);
	assert_int_equal(st.good, SLOT_A);
	assert_string_equal(st.good_version, "1.0");
	assert_int_equal(st.try, SLOT_NONE);
	assert_int_equal(st.tries, 0);
	assert_string_equal(st.try_version, "");
	assert_int_equal(st.failed.slot, SLOT_B);
	assert_string_equal(st.failed.version, "1.1");
	assert_string_equal(st.failed.reason, "started but not confirmed "
	    "before cml-launch started again");
	assert_int_equal(st.failed.time_ms, 7);
	assert_int_equal(st.failed.reported, 0);
	assert_int_equal(slot_inactive(&st), SLOT_B);
}

/*
 * Proves: TSF.UPD (only a started, tried slot becomes good; a slot whose
 * trial ended cannot confirm itself late).
 */
static void
test_slot_confirm_transitions(void **state)
{
	struct slot_state st;
	enum slot_id slot;
	char *cause = NULL;
	int trying;

	(void)state;
	memset(&st, 0, sizeof st);
	st.good = SLOT_A;
	st.try = SLOT_B;
	st.tries = 1;
	strcpy(st.try_version, "2.0");
	/* marked, not started */
	assert_int_equal(slot_confirm(&st, SLOT_B, &cause), -1);
	assert_string_equal(cause, "slot b is marked to be tried but was not "
	    "started yet: it cannot be confirmed");
	free(cause);
	cause = NULL;
	/* the good slot confirms nothing and keeps the pending trial */
	assert_int_equal(slot_confirm(&st, SLOT_A, &cause), 0);
	assert_int_equal(st.try, SLOT_B);
	assert_int_equal(st.tries, 1);

	assert_int_equal(slot_pick(&st, 1, &slot, &trying), 1);
	assert_int_equal(slot_confirm(&st, SLOT_B, &cause), 1);
	assert_int_equal(st.good, SLOT_B);
	assert_string_equal(st.good_version, "2.0");
	assert_int_equal(st.try, SLOT_NONE);
	assert_int_equal(st.tries, 0);
	assert_string_equal(st.try_version, "");
	assert_int_equal(slot_inactive(&st), SLOT_A);
	/* again: nothing to do */
	assert_int_equal(slot_confirm(&st, SLOT_B, &cause), 0);

	/* a trial that failed: a late confirmation is refused */
	st.try = SLOT_A;
	strcpy(st.try_version, "3.0");
	slot_fail(&st, "not confirmed within 120 s", 9);
	assert_int_equal(slot_confirm(&st, SLOT_A, &cause), -1);
	assert_string_equal(cause, "slot a is neither good (b) nor being "
	    "tried: its trial ended before it was confirmed (see the last "
	    "failure)");
	free(cause);
	assert_int_equal(st.good, SLOT_B);
	assert_int_equal(st.failed.slot, SLOT_A);
	assert_string_equal(st.failed.version, "3.0");
	assert_string_equal(st.failed.reason, "not confirmed within 120 s");
}

/* Proves: TSF.UPD (a failure is handed to cmld for its audit once). */
static void
test_slot_take_failure_once(void **state)
{
	struct fix *f = *state;
	struct slot_state st;
	struct slot_failure fl;
	char *cause = NULL;

	assert_int_equal(slot_take_failure(f->dir, &fl, &cause), 0);
	assert_false(exists(f->dir, "state"));
	memset(&st, 0, sizeof st);
	st.good = SLOT_A;
	st.try = SLOT_B;
	strcpy(st.try_version, "1.5");
	/* a reason with a newline cannot break the file */
	slot_fail(&st, "exited\nfailed_slot=a", 42);
	assert_int_equal(slot_state_write(f->dir, &st, &cause), 0);
	assert_int_equal(slot_take_failure(f->dir, &fl, &cause), 1);
	assert_int_equal(fl.slot, SLOT_B);
	assert_string_equal(fl.version, "1.5");
	assert_string_equal(fl.reason, "exited\\x0afailed_slot=a");
	assert_int_equal(fl.time_ms, 42);
	assert_int_equal(fl.reported, 0);
	assert_int_equal(slot_take_failure(f->dir, &fl, &cause), 0);
	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(st.failed.reported, 1);
	assert_int_equal(st.failed.slot, SLOT_B);
}

/* Stages "NEW" into b of f as an update would: returns .new's path. */
static char *
stage_b(struct fix *f)
{
	char *path = NULL, *cause = NULL, *link;

	assert_int_equal(slot_stage_begin(f->dir, SLOT_B, &path, &cause), 0);
	put(path, "sbin/cmld", "NEW", 0755);
	put(path, "bin/cmlsh", "NEW sh", 0755);
	put(path, "share/man/man8/cmld.8", "NEW man", 0644);
	/* a symbolic link is kept, not followed */
	link = xasprintf("%s/sbin/cml", path);
	assert_int_equal(symlink("cmld", link), 0);
	free(link);
	return path;
}

/*
 * Proves: TSF.UPD, NDR 3.10 (an update goes to the inactive slot whole and
 * is marked to be tried once; the good and a tried slot are refused).
 */
static void
test_slot_stage_commit_marks_inactive(void **state)
{
	struct fix *f = *state;
	char *path, *cause = NULL, *s;

	put(f->dir, "b/sbin/cmld", "OLD", 0755);
	put(f->dir, "b/sbin/gone", "OLD", 0755);
	/* the good slot is never written */
	assert_int_equal(slot_stage_begin(f->dir, SLOT_A, &path, &cause), -1);
	assert_string_equal(cause, "slot a is the good slot: an update goes "
	    "to the other one");
	free(cause);
	cause = NULL;
	assert_null(path);

	path = stage_b(f);
	/* a version is needed */
	assert_int_equal(slot_stage_commit(f->dir, SLOT_B, "v2", &cause), -1);
	assert_string_equal(cause, "cannot mark slot b: 'v2' is not a dotted "
	    "version");
	free(cause);
	cause = NULL;
	/* also when the step is run alone */
	assert_int_equal(slot_stage_step(f->dir, SLOT_B,
	    "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20",
	    SLOT_STEP_MARK, &cause), -1);
	assert_string_equal(cause, "cannot mark slot b: '1.2.3.4.5.6.7.8.9.10."
	    "11.12.13.14.15.16.17.18.19.20' is not a dotted version");
	free(cause);
	cause = NULL;
	commit_b(f, path);
	s = get(f->dir, "b/sbin/cmld");
	assert_string_equal(s, "NEW");
	free(s);
	s = get(f->dir, "b/share/man/man8/cmld.8");
	assert_string_equal(s, "NEW man");
	free(s);
	assert_false(exists(f->dir, "b/sbin/gone"));
	assert_false(exists(f->dir, "b.new"));
	assert_false(exists(f->dir, "b.old"));
	s = get(f->dir, "a/sbin/cmld");
	assert_string_equal(s, "A");
	free(s);

	/* while b is tried, no slot takes another update */
	assert_int_equal(slot_stage_begin(f->dir, SLOT_B, &path, &cause), -1);
	assert_string_equal(cause, "slot b (marked, not started yet) is being "
	    "tried: confirm it (update mark-good) or let it fail before the "
	    "next update");
	free(cause);
	cause = NULL;
	assert_int_equal(slot_stage_begin(f->dir, SLOT_A, &path, &cause), -1);
	free(cause);
	/* a .new without cmld is no install */
	cause = NULL;
	put(f->dir, "a.new/bin/x", "x", 0644);
	assert_int_equal(slot_stage_step(f->dir, SLOT_A, "3.0",
	    SLOT_STEP_SYNC, &cause), -1);
	assert_non_null(strstr(cause, "a.new has neither sbin/cmld nor "
	    "vmlinuz: not an install prefix of cml nor a boot slot"));
	free(cause);
}

/*
 * Checks the promise of a power cut after the first cut steps of a
 * commit: after recovery, either the old state (b not tried, a good and
 * untouched) or the new one (b tried, holding all of the new files), and
 * nothing half done left.  Returns 1 for the new state.
 */
static int
check_after_cut(struct fix *f, int cut)
{
	struct slot_state st;
	char *cause = NULL, *done = NULL, *s;
	int step, isnew;

	for (step = 0; step < cut; step++)
		assert_int_equal(slot_stage_step(f->dir, SLOT_B, "2.0",
		    (enum slot_step)step, &cause), 0);
	/* the cut; the next start */
	assert_int_equal(slot_recover(f->dir, &done, &cause), 0);
	if (cut > 0 && cut < SLOT_STEPS - 1)
		assert_non_null(done);
	free(done);
	assert_false(exists(f->dir, "b.new"));
	assert_false(exists(f->dir, "b.old"));
	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(st.good, SLOT_A);
	s = get(f->dir, "a/sbin/cmld");
	assert_string_equal(s, "A");
	free(s);
	isnew = st.try == SLOT_B;
	if (isnew) {
		assert_int_equal(st.tries, 1);
		assert_string_equal(st.try_version, "2.0");
		s = get(f->dir, "b/sbin/cmld");
		assert_string_equal(s, "NEW");
		free(s);
		s = get(f->dir, "b/bin/cmlsh");
		assert_string_equal(s, "NEW sh");
		free(s);
	} else {
		assert_int_equal(st.try, SLOT_NONE);
		assert_int_equal(st.tries, 0);
	}
	return isnew;
}

/*
 * Proves: TSF.UPD, NDR 3.10 (a power cut after any step of an update
 * leaves the old or the new state, never a half-written slot marked to
 * boot; the next update after a cut succeeds).
 */
static void
test_slot_stage_cut_after_each_step_consistent(void **state)
{
	struct fix *f = *state;
	char *path, *cause = NULL, *p;
	int cut;

	for (cut = 0; cut <= SLOT_STEPS; cut++) {
		p = xasprintf("%s/b", f->dir);
		assert_int_equal(test_remove_tree(p), 0);
		free(p);
		p = xasprintf("%s/state", f->dir);
		(void)unlink(p);
		free(p);
		put(f->dir, "b/sbin/cmld", "OLD", 0755);
		path = stage_b(f);
		free(path);
		assert_int_equal(check_after_cut(f, cut), cut == SLOT_STEPS);
		if (cut < SLOT_STEPS) {
			/* the update is done again, whole */
			path = stage_b(f);
			free(path);
			assert_int_equal(slot_stage_commit(f->dir, SLOT_B,
			    "2.0", &cause), 0);
			assert_int_equal(check_after_cut(f, 0), 1);
		}
	}
}

/*
 * Proves: TSF.UPD (marking refuses a slot whose swap did not end, so a
 * skipped or reordered step cannot mark a half slot).
 */
static void
test_slot_stage_skipped_step_refused(void **state)
{
	struct fix *f = *state;
	struct slot_state st;
	char *path, *cause = NULL, *want;
	static const enum slot_step runs[][3] = {
		{ SLOT_STEP_SYNC, SLOT_STEPS, SLOT_STEPS },
		{ SLOT_STEP_SYNC, SLOT_STEP_RETIRE, SLOT_STEPS },
		{ SLOT_STEP_SYNC, SLOT_STEP_RETIRE, SLOT_STEP_INSTALL },
	};
	size_t i, j;

	want = xasprintf("%s/b is not a complete install (its update did not "
	    "end): not marked", f->dir);
	for (i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		put(f->dir, "b/sbin/cmld", "OLD", 0755);
		path = stage_b(f);
		free(path);
		for (j = 0; j < 3 && runs[i][j] != SLOT_STEPS; j++)
			assert_int_equal(slot_stage_step(f->dir, SLOT_B, "2.0",
			    runs[i][j], &cause), 0);
		if (i == 2) {
			/* installed but the old copy not cleaned yet */
			assert_true(exists(f->dir, "b.old"));
		}
		assert_int_equal(slot_stage_step(f->dir, SLOT_B, "2.0",
		    SLOT_STEP_MARK, &cause), -1);
		assert_string_equal(cause, want);
		free(cause);
		cause = NULL;
		assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
		assert_int_equal(st.try, SLOT_NONE);
		path = NULL;
		assert_int_equal(slot_recover(f->dir, &path, &cause), 0);
		free(path);
	}
	free(want);
}

/* Proves: TSF.UPD (the slot that runs confirms itself through the file). */
static void
test_slot_mark_good_file(void **state)
{
	struct fix *f = *state;
	struct slot_state st;
	enum slot_id slot;
	char *path, *cause = NULL;
	int trying;

	path = stage_b(f);
	free(path);
	assert_int_equal(slot_stage_commit(f->dir, SLOT_B, "2.0", &cause), 0);
	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(slot_pick(&st, 1, &slot, &trying), 1);
	assert_int_equal(slot_state_write(f->dir, &st, &cause), 0);
	assert_int_equal(slot_mark_good(f->dir, SLOT_B, &cause), 0);
	assert_int_equal(slot_state_read(f->dir, &st, &cause), 0);
	assert_int_equal(st.good, SLOT_B);
	assert_string_equal(st.good_version, "2.0");
	assert_int_equal(st.try, SLOT_NONE);
	/* the old slot may take the next update now */
	assert_int_equal(slot_inactive(&st), SLOT_A);
	assert_int_equal(slot_mark_good(f->dir, SLOT_A, &cause), -1);
	free(cause);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_slot_state_round_trip_same),
		T(test_slot_state_malformed_refused_with_line),
		T(test_slot_state_read_bad_file_refused),
		T(test_slot_state_missing_installed_slot_good),
		T(test_slot_boot_stage_marks_inactive),
		T(test_slot_pick_once_then_fallback),
		T(test_slot_confirm_transitions),
		T(test_slot_take_failure_once),
		T(test_slot_stage_commit_marks_inactive),
		T(test_slot_stage_cut_after_each_step_consistent),
		T(test_slot_stage_skipped_step_refused),
		T(test_slot_mark_good_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
