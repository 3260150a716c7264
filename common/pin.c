/*
 * The PIN policy: length in characters, and the guesses an attacker tries
 * first.  Every message names the rule broken and never the PIN itself.
 */
#include "config.h"

#include <string.h>

#include "pin.h"
#include "utf8.h"
#include "xmalloc.h"

/* The defaults OpenPGP cards leave the factory with (PW1, PW3). */
static const char *const pin_factory[] = { "123456", "12345678" };

/*
 * Counts the characters of s, or returns -1 if it is not valid UTF-8 or
 * holds a control character.
 */
static long
pin_chars(const char *s)
{
	const unsigned char *p;
	long n = 0;

	if (!utf8_valid(s, strlen(s)))
		return -1;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if ((*p & 0xc0) != 0x80)
			n++;
	}
	return n;
}

int
pin_syntax_check(const char *s, char **cause)
{
	long n;

	if (strlen(s) > PIN_MAX_BYTES || (n = pin_chars(s)) == -1) {
		xcause(cause, "a PIN is text of at most %d characters "
		    "without control characters", PIN_MAX);
		return -1;
	}
	if (n == 0) {
		xcause(cause, "the PIN is empty");
		return -1;
	}
	if (n > PIN_MAX) {
		xcause(cause, "a PIN has at most %d characters", PIN_MAX);
		return -1;
	}
	return 0;
}

/* Returns 1 if s is one byte repeated or a run of digits up or down. */
static int
pin_trivial(const char *s)
{
	size_t i, len = strlen(s);
	int same = 1, up = 1, down = 1;

	for (i = 1; i < len; i++) {
		if (s[i] != s[0])
			same = 0;
		if (s[i] < '0' || s[i] > '9' || s[i - 1] < '0' ||
		    s[i - 1] > '9') {
			up = down = 0;
			continue;
		}
		if (s[i] != s[i - 1] + 1)
			up = 0;
		if (s[i] != s[i - 1] - 1)
			down = 0;
	}
	return same || up || down;
}

int
pin_policy_check(const char *s, enum pin_kind kind, char **cause)
{
	const char *what = kind == PIN_KIND_PUK ? "PUK" : "PIN";
	long min = kind == PIN_KIND_PUK ? PUK_MIN : PIN_MIN, n;
	size_t i;

	if (strlen(s) > PIN_MAX_BYTES || (n = pin_chars(s)) == -1) {
		xcause(cause, "a %s is text of at most %d characters without "
		    "control characters", what, PIN_MAX);
		return -1;
	}
	if (n < min || n > PIN_MAX) {
		xcause(cause, "a %s has %ld to %d characters", what, min,
		    PIN_MAX);
		return -1;
	}
	for (i = 0; i < sizeof pin_factory / sizeof pin_factory[0]; i++) {
		if (strcmp(s, pin_factory[i]) == 0) {
			xcause(cause, "that %s is a card's factory default; "
			    "choose another", what);
			return -1;
		}
	}
	if (pin_trivial(s)) {
		xcause(cause, "a %s may not be one character repeated or a "
		    "run of digits up or down; choose another", what);
		return -1;
	}
	return 0;
}
