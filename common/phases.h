/*
 * Phase timing: how long each phase of one piece of work (a container's
 * start, its stop) took, on the monotonic clock, for one debug line.
 * Nothing is read or kept unless the log level is debug when
 * phases_begin runs: then each mark costs one clock_gettime.
 */
#ifndef CML_PHASES_H
#define CML_PHASES_H

#include <stddef.h>

/* The most phases one line names; later names count as "other". */
#define PHASES_MAX 32

struct phases {
	int on;
	long long t0, last; /* ns of the monotonic clock */
	size_t n;
	struct {
		const char *name; /* static */
		long long ns;
	} p[PHASES_MAX];
};

/* Nanoseconds of the monotonic clock. */
long long phases_now_ns(void);
/* Starts timing when the log level is debug; otherwise turns ph off. */
void phases_begin(struct phases *ph);
/* ph may be NULL in what follows: nothing is done. */
/*
 * Ends the phase name (a static string) now: the time since the last
 * mark (or phases_begin) is added to it.  A name marked again adds up,
 * named where it first came.
 */
void phases_mark(struct phases *ph, const char *name);
/* Moves ns (a part measured apart) from phase from to phase to. */
void phases_move(struct phases *ph, const char *from, const char *to,
    long long ns);
/*
 * Logs at debug level "<what> in T ms: name ms, ..." (what from fmt; T
 * up to now, what came after the last mark as "other"), and turns ph off.
 */
void phases_log(struct phases *ph, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
