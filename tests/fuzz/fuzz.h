/*
 * What every libFuzzer harness of tests/fuzz/ shares: a check that stops
 * the run, as a crash, when a property the parsers promise does not hold,
 * and a check that refusals stay printable.
 */
#ifndef CML_FUZZ_H
#define CML_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stops the run with a message when cond is false; the input is saved. */
#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: property does not hold: %s\n", \
			    __FILE__, __LINE__, #cond);                      \
			abort();                                             \
		}                                                            \
	} while (0)

/*
 * Checks that a refusal is one line of printable ASCII: the parsers quote
 * every byte of the text they name (jsonstrict_quote), so nothing read
 * can drive a terminal or a log.
 */
static inline void
fuzz_check_printable(const char *s)
{
	const unsigned char *p;

	FUZZ_CHECK(s != NULL);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
}

/* Returns 1 if n bytes at p are all zero. */
static inline int
fuzz_all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
