/*
 * The PIN policy of cml's tokens (CR 1.7): what a new PIN or PUK must be.
 * scd enforces it for every PIN it sets (token init, change, unblock);
 * shells check it too, before asking for the PIN a second time.
 */
#ifndef CML_PIN_H
#define CML_PIN_H

#include <stddef.h>

/* The lengths allowed, in characters (not bytes). */
#define PIN_MIN 6
#define PUK_MIN 8
#define PIN_MAX 64
/* The most bytes a PIN or PUK of PIN_MAX characters can take. */
#define PIN_MAX_BYTES (PIN_MAX * 4)

enum pin_kind {
	PIN_KIND_PIN,
	PIN_KIND_PUK,
};

/*
 * Returns 0 if s may be set as a new PIN (or PUK): valid UTF-8 without
 * control characters, PIN_MIN (PUK_MIN) to PIN_MAX characters, not one
 * character repeated, not a run of consecutive digits up or down
 * ("123456", "87654321"), not a factory default of OpenPGP cards.  Else
 * -1 with *cause set to a message that names the rule, never the PIN.
 */
int pin_policy_check(const char *s, enum pin_kind kind, char **cause);

/*
 * Returns 0 if s can be a PIN or PUK offered for verification: valid UTF-8
 * without control characters, 1 to PIN_MAX characters.  Else -1 with
 * *cause set (without the PIN).  Whether it is right is the token's to say.
 */
int pin_syntax_check(const char *s, char **cause);

#endif
