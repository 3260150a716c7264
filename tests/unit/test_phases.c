/*
 * Unit tests of the phase timing (common/phases.c): what a start's or a
 * stop's debug line says, and that nothing is timed at other levels.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "phases.h"

/* Sleeps ms milliseconds. */
static void
nap(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		;
}

/* Runs phases_log with stderr in a file; returns what it wrote (free). */
static char *
logged(struct phases *ph, const char *name)
{
	char path[] = "/tmp/test_phases.XXXXXX", *buf;
	int fd, saved;
	ssize_t n;

	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved != -1);
	assert_int_equal(dup2(fd, 2), 2);
	phases_log(ph, "container %s started", name);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	buf = calloc(1, 4096);
	assert_non_null(buf);
	n = pread(fd, buf, 4095, 0);
	assert_true(n >= 0);
	close(fd);
	return buf;
}

/* Proves: none (below log level debug nothing is timed or logged). */
static void
test_off_below_debug(void **state)
{
	struct phases ph;
	char *out;

	(void)state;
	log_init("test", 1, LOG_LEVEL_INFO);
	phases_begin(&ph);
	assert_int_equal(ph.on, 0);
	phases_mark(&ph, "check");
	phases_move(&ph, "check", "audit", 1000);
	assert_int_equal(ph.n, 0);
	out = logged(&ph, "c");
	assert_string_equal(out, "");
	free(out);
	/* A start that has no phases to mark marks nothing. */
	phases_mark(NULL, "check");
	phases_log(NULL, "nothing");
}

/*
 * Proves: none (each phase named with its milliseconds, in the order
 * first marked, a phase marked twice added up, a part moved apart, the
 * total over all).
 */
static void
test_line(void **state)
{
	struct phases ph;
	char *out;
	double total, a, c, audit;

	(void)state;
	log_init("test", 1, LOG_LEVEL_DEBUG);
	phases_begin(&ph);
	assert_int_equal(ph.on, 1);
	nap(20);
	phases_mark(&ph, "a");
	nap(10);
	phases_mark(&ph, "b");
	nap(10);
	phases_mark(&ph, "a");
	nap(20);
	phases_mark(&ph, "reply");
	phases_move(&ph, "reply", "audit", 15 * 1000000LL);
	/* more than the phase holds moves no more than it holds */
	phases_move(&ph, "b", "c", 1000 * 1000000LL);
	out = logged(&ph, "web");
	assert_int_equal(ph.on, 0);
	assert_int_equal(sscanf(out, "test: container web started in %lf ms: "
	    "a %lf, b 0.0, reply %*f, audit %lf, c %lf", &total, &a, &audit,
	    &c), 4);
	assert_true(a >= 30.0 && a < 1000.0);
	assert_true(c >= 10.0 && c < 1000.0);
	assert_true(audit > 14.9 && audit < 15.1);
	assert_true(total >= 60.0 && total >= a + c + audit);
	free(out);
	/* Logged once: a second phases_log says nothing. */
	out = logged(&ph, "web");
	assert_string_equal(out, "");
	free(out);
}

/* Proves: none (more phases than room: the rest counts as "other"). */
static void
test_full(void **state)
{
	static const char *const names[PHASES_MAX + 2] = {
		"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9",
		"p10", "p11", "p12", "p13", "p14", "p15", "p16", "p17", "p18",
		"p19", "p20", "p21", "p22", "p23", "p24", "p25", "p26", "p27",
		"p28", "p29", "p30", "p31", "p32", "p33",
	};
	struct phases ph;
	char *out;
	size_t i;

	(void)state;
	log_init("test", 1, LOG_LEVEL_DEBUG);
	phases_begin(&ph);
	for (i = 0; i < PHASES_MAX + 2; i++)
		phases_mark(&ph, names[i]);
	assert_int_equal(ph.n, PHASES_MAX);
	nap(1);
	ph.n--; /* room for "other", which the time after the marks takes */
	out = logged(&ph, "x");
	assert_non_null(strstr(out, ", other "));
	assert_null(strstr(out, "p32"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_below_debug),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
