/*
 * Unit tests of device settings validation (common/settings.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "settings.h"

/* Expects value to be accepted for key and canonicalised to want. */
static void
accept(const char *key, const char *value, const char *want)
{
	char *out = NULL, *cause = NULL;

	assert_int_equal(setting_canonical(setting_find(key), value, &out,
	    &cause), 0);
	assert_string_equal(out, want);
	free(out);
}

/* Expects value to be refused for key with exactly msg. */
static void
refuse(const char *key, const char *value, const char *msg)
{
	char *out = NULL, *cause = NULL;

	assert_int_equal(setting_canonical(setting_find(key), value, &out,
	    &cause), -1);
	assert_null(out);
	assert_string_equal(cause, msg);
	free(cause);
}

/* Proves: CR 7.6 (booleans canonical; anything else refused). */
static void
test_canonical_bool_forms_normalised(void **state)
{
	accept("audit_read_calls", "yes", "true");
	accept("audit_read_calls", "ON", "true");
	accept("audit_read_calls", "1", "true");
	accept("audit_read_calls", "No", "false");
	accept("audit_read_calls", "off", "false");
	refuse("audit_read_calls", "maybe", "audit_read_calls must be true "
	    "or false (yes/no, on/off, 1/0), not 'maybe'");
}

/* Proves: CR 7.6 (integers checked against their range). */
static void
test_canonical_int_range_checked(void **state)
{
	accept("max_clients", "1", "1");
	accept("max_clients", "1024", "1024");
	refuse("max_clients", "0", "max_clients must be from 1 to 1024, not 0");
	refuse("max_clients", "1025",
	    "max_clients must be from 1 to 1024, not 1025");
	refuse("max_clients", "12a", "max_clients must be an integer from 1 "
	    "to 1024, not '12a'");
	refuse("max_clients", "", "max_clients must be an integer from 1 to "
	    "1024, not ''");
	refuse("max_clients", "99999999999999999999", "max_clients must be an "
	    "integer from 1 to 1024, not '99999999999999999999'");
}

/* Proves: CR 7.6 (an enum takes only its choices). */
static void
test_canonical_enum_choices_listed(void **state)
{
	accept("log_level", "debug", "debug");
	refuse("log_level", "DEBUG",
	    "log_level must be warning, info or debug, not 'DEBUG'");
}

/* Proves: CR 7.6 (strings bounded; no control characters). */
static void
test_canonical_string_length_and_controls(void **state)
{
	char long_name[66];

	accept("device_name", "gateway 7", "gateway 7");
	memset(long_name, 'x', 65);
	long_name[65] = '\0';
	refuse("device_name", long_name,
	    "device_name must be 1 to 64 characters long");
	long_name[64] = '\0';
	accept("device_name", long_name, long_name);
	refuse("device_name", "", "device_name must be 1 to 64 characters long");
	refuse("device_name", "a\nb",
	    "device_name must not contain control characters");
	refuse("device_name", "a\033[2Jb",
	    "device_name must not contain control characters");
}

/* Proves: CR 7.6 (every default passes its own check). */
static void
test_defaults_valid(void **state)
{
	char *out, *cause;
	size_t i;

	for (i = 0; i < setting_defs_len; i++) {
		out = cause = NULL;
		assert_int_equal(setting_canonical(&setting_defs[i],
		    setting_defs[i].def, &out, &cause), 0);
		assert_string_equal(out, setting_defs[i].def);
		free(out);
		assert_ptr_equal(setting_find(setting_defs[i].key),
		    &setting_defs[i]);
	}
	assert_null(setting_find("no_such_key"));
}

/* Proves: CR 7.6 (what each type of setting takes, as help shows it). */
static void
test_values_in_words(void **state)
{
	char *s;

	s = setting_values(setting_find("log_level"));
	assert_string_equal(s, "warning, info or debug");
	free(s);
	s = setting_values(setting_find("require_signed_configs"));
	assert_string_equal(s, "auto, true or false");
	free(s);
	s = setting_values(setting_find("max_clients"));
	assert_string_equal(s, "an integer from 1 to 1024");
	free(s);
	s = setting_values(setting_find("audit_read_calls"));
	assert_string_equal(s, "true or false");
	free(s);
	s = setting_values(setting_find("device_name"));
	assert_string_equal(s, "text of 1 to 64 characters");
	free(s);
	s = setting_values(setting_find("c0_guestos"));
	assert_string_equal(s, "a guest OS name, or empty");
	free(s);
}

/* Proves: CR 2.6 (the idle limit of sessions: 0 turns it off, a day at most). */
static void
test_session_idle_timeout_range(void **state)
{
	accept("session_idle_timeout", "0", "0");
	accept("session_idle_timeout", "86400", "86400");
	accept("session_idle_timeout", "0300", "300");
	refuse("session_idle_timeout", "86401",
	    "session_idle_timeout must be from 0 to 86400, not 86401");
	refuse("session_idle_timeout", "-1",
	    "session_idle_timeout must be from 0 to 86400, not -1");
	assert_string_equal(setting_find("session_idle_timeout")->def, "900");
}

/* Proves: CR 1.11 (the tries a new token takes: 1 to 10, 3 by default). */
static void
test_token_tries_range(void **state)
{
	static const char *const keys[] = { "token_pin_tries",
	    "token_puk_tries" };
	char *want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		accept(keys[i], "1", "1");
		accept(keys[i], "10", "10");
		accept(keys[i], "05", "5");
		want = NULL;
		assert_true(asprintf(&want, "%s must be from 1 to 10, not 0",
		    keys[i]) > 0);
		refuse(keys[i], "0", want);
		free(want);
		assert_true(asprintf(&want, "%s must be from 1 to 10, not 11",
		    keys[i]) > 0);
		refuse(keys[i], "11", want);
		free(want);
		assert_string_equal(setting_find(keys[i])->def, "3");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_bool_forms_normalised),
		cmocka_unit_test(test_canonical_int_range_checked),
		cmocka_unit_test(test_canonical_enum_choices_listed),
		cmocka_unit_test(test_canonical_string_length_and_controls),
		cmocka_unit_test(test_defaults_valid),
		cmocka_unit_test(test_values_in_words),
		cmocka_unit_test(test_session_idle_timeout_range),
		cmocka_unit_test(test_token_tries_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
