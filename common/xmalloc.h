/*
 * Allocation helpers that abort on exhaustion, so call sites need not
 * check for NULL.
 */
#ifndef CML_XMALLOC_H
#define CML_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Allocates size bytes; aborts on exhaustion. */
void *xmalloc(size_t size);
/* Allocates a zeroed array; aborts on exhaustion or overflow. */
void *xcalloc(size_t nmemb, size_t size);
/* Resizes an array; aborts on exhaustion or overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
/* Duplicates a string; aborts on exhaustion. */
char *xstrdup(const char *s);
/* Formats into a new string; aborts on exhaustion. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with a va_list. */
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
/* Sets *cause to a formatted message, unless cause is NULL. */
void xcause(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Wipes size bytes at p so the compiler cannot elide it. */
void xwipe(void *p, size_t size);
/* Wipes and frees a NUL-terminated secret; NULL does nothing. */
void xfree_secret(char *s);

#endif
