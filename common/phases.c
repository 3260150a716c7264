/*
 * Phase timing for debug lines: see phases.h.  The names are the
 * caller's static strings; one line is formatted only when logged.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "phases.h"
#include "xmalloc.h"

long long
phases_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void
phases_begin(struct phases *ph)
{
	memset(ph, 0, sizeof *ph);
	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	ph->on = 1;
	ph->t0 = ph->last = phases_now_ns();
}

/* The phase called name, added when new; NULL when there is no room. */
static long long *
phases_slot(struct phases *ph, const char *name)
{
	size_t i;

	for (i = 0; i < ph->n; i++) {
		if (strcmp(ph->p[i].name, name) == 0)
			return &ph->p[i].ns;
	}
	if (ph->n == PHASES_MAX)
		return NULL;
	ph->p[ph->n].name = name;
	ph->p[ph->n].ns = 0;
	return &ph->p[ph->n++].ns;
}

void
phases_mark(struct phases *ph, const char *name)
{
	long long now, *ns;

	if (ph == NULL || !ph->on)
		return;
	now = phases_now_ns();
	/* With no room, the time stays unmarked: "other" at the end. */
	if ((ns = phases_slot(ph, name)) == NULL)
		return;
	*ns += now - ph->last;
	ph->last = now;
}

void
phases_move(struct phases *ph, const char *from, const char *to,
    long long ns)
{
	long long *f, *t;

	if (ph == NULL || !ph->on || ns <= 0 ||
	    (f = phases_slot(ph, from)) == NULL ||
	    (t = phases_slot(ph, to)) == NULL)
		return;
	if (ns > *f)
		ns = *f;
	*f -= ns;
	*t += ns;
}

void
phases_log(struct phases *ph, const char *fmt, ...)
{
	char *what, *line, *next;
	long long now, *ns;
	va_list ap;
	size_t i;

	if (ph == NULL || !ph->on)
		return;
	now = phases_now_ns();
	/* What came after the last mark, from 0.05 ms on (it rounds up). */
	if (now - ph->last >= 50000 &&
	    (ns = phases_slot(ph, "other")) != NULL)
		*ns += now - ph->last;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	line = xasprintf("%s in %.1f ms:", what, (now - ph->t0) / 1e6);
	for (i = 0; i < ph->n; i++) {
		next = xasprintf("%s%s %s %.1f", line, i > 0 ? "," : "",
		    ph->p[i].name, ph->p[i].ns / 1e6);
		free(line);
		line = next;
	}
	log_debug("%s", line);
	free(line);
	free(what);
	ph->on = 0;
}
