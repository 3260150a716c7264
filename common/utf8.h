/*
 * Text that crosses a trust boundary: checked as UTF-8, and made safe to
 * store, print and log.
 */
#ifndef CML_UTF8_H
#define CML_UTF8_H

#include <stddef.h>

/* Returns the length of the valid UTF-8 sequence at s[0..len), or 0. */
size_t utf8_seq(const unsigned char *s, size_t len);
/* Returns 1 if s[0..len) is valid UTF-8 (no overlong forms, surrogates). */
int utf8_valid(const char *s, size_t len);
/*
 * Returns a copy of s fit for a record or a terminal, of at most max bytes
 * (max >= 16): valid UTF-8 is kept, control characters and bytes that are
 * not UTF-8 become \xNN, and a longer text is cut at a character with
 * "..." appended.
 */
char *utf8_clean(const char *s, size_t max);

#endif
