/*
 * Unit tests of the PIN policy (common/pin.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pin.h"

/* Checks s against the policy; returns the result, cause freed. */
static int
policy(const char *s, enum pin_kind kind, const char *cause_has)
{
	char *cause = NULL;
	int rc = pin_policy_check(s, kind, &cause);

	if (rc == 0)
		assert_null(cause);
	else {
		assert_non_null(cause);
		if (cause_has != NULL)
			assert_non_null(strstr(cause, cause_has));
		/* a message names the rule, never the PIN */
		if (strlen(s) >= 4)
			assert_null(strstr(cause, s));
		free(cause);
	}
	return rc;
}

/* Proves: CR 1.7 (a new PIN and PUK must be long enough and not trivial). */
static void
test_policy_lengths(void **state)
{
	char long_pin[PIN_MAX + 2];

	(void)state;
	assert_int_equal(policy("48213", PIN_KIND_PIN, "6 to 64"), -1);
	assert_int_equal(policy("482139", PIN_KIND_PIN, NULL), 0);
	assert_int_equal(policy("4821397", PIN_KIND_PUK, "8 to 64"), -1);
	assert_int_equal(policy("48213975", PIN_KIND_PUK, NULL), 0);
	memset(long_pin, '7', sizeof long_pin - 1);
	long_pin[0] = '1';
	long_pin[PIN_MAX] = '\0';
	assert_int_equal(policy(long_pin, PIN_KIND_PIN, NULL), 0);
	long_pin[PIN_MAX] = '7';
	long_pin[PIN_MAX + 1] = '\0';
	assert_int_equal(policy(long_pin, PIN_KIND_PIN, "6 to 64"), -1);
	/* characters, not bytes: six two-byte letters are six */
	assert_int_equal(policy("\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f\xc3\xa4x",
	    PIN_KIND_PIN, NULL), 0);
	assert_int_equal(policy("\xc3\xa4\xc3\xb6\xc3\xbc", PIN_KIND_PIN,
	    "6 to 64"), -1);
}

/* Proves: CR 1.7 (factory defaults, repeats and digit runs are refused). */
static void
test_policy_trivial(void **state)
{
	(void)state;
	assert_int_equal(policy("123456", PIN_KIND_PIN, "factory"), -1);
	assert_int_equal(policy("12345678", PIN_KIND_PUK, "factory"), -1);
	assert_int_equal(policy("000000", PIN_KIND_PIN, "repeated"), -1);
	assert_int_equal(policy("aaaaaaaa", PIN_KIND_PUK, "repeated"), -1);
	assert_int_equal(policy("234567", PIN_KIND_PIN, "run"), -1);
	assert_int_equal(policy("987654", PIN_KIND_PIN, "run"), -1);
	assert_int_equal(policy("0123456789", PIN_KIND_PUK, "run"), -1);
	assert_int_equal(policy("123457", PIN_KIND_PIN, NULL), 0);
	assert_int_equal(policy("abcdef", PIN_KIND_PIN, NULL), 0);
}

/* Proves: CR 1.7 (control characters and invalid UTF-8 are refused). */
static void
test_policy_text(void **state)
{
	char *cause = NULL;

	(void)state;
	assert_int_equal(policy("4821\n39", PIN_KIND_PIN, "control"), -1);
	assert_int_equal(policy("4821\x7f" "39", PIN_KIND_PIN, "control"), -1);
	assert_int_equal(policy("482\xff" "139", PIN_KIND_PIN, "control"), -1);
	assert_int_equal(pin_syntax_check("1", &cause), 0);
	assert_int_equal(pin_syntax_check("", &cause), -1);
	assert_non_null(strstr(cause, "empty"));
	free(cause);
	cause = NULL;
	assert_int_equal(pin_syntax_check("12\t34", &cause), -1);
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_lengths),
		cmocka_unit_test(test_policy_trivial),
		cmocka_unit_test(test_policy_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
