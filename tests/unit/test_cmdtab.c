/*
 * Unit tests of the command table (common/cmdtab.c): lookup, argument
 * parsing in the shells, parameter checks in cmld, and the table's
 * agreement with the varlink interface files.
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

#include "cmdtab.h"
#include "interfaces.h"

/* Splits a string of words into argv (static storage, for tests). */
static int
split(char *s, char **argv, int max)
{
	int n = 0;
	char *w;

	for (w = strtok(s, " "); w != NULL && n < max; w = strtok(NULL, " "))
		argv[n++] = w;
	return n;
}

/* Parses line as a whole shell command; returns 0/-1 like cmd_parse_args. */
static int
parse(const char *line, const struct cmd_entry **cmd,
    struct json_object **params, char **cause)
{
	char buf[256], *argv[16];
	int argc, used;

	strncpy(buf, line, sizeof buf - 1);
	buf[sizeof buf - 1] = '\0';
	argc = split(buf, argv, 16);
	*cmd = cmd_match(argc, argv, &used);
	if (*cmd == NULL)
		return -2;
	return cmd_parse_args(*cmd, argc - used, argv + used, params, cause);
}

/* Proves: none (command lookup in the shells). */
static void
test_match_longest_words_found(void **state)
{
	char *argv[] = { "device", "config", "set", "a", "b" };
	const struct cmd_entry *cmd;
	int used;

	cmd = cmd_match(5, argv, &used);
	assert_non_null(cmd);
	assert_string_equal(cmd->method, "org.cml.Device.SetConfig");
	assert_int_equal(used, 3);

	cmd = cmd_match(2, argv, &used);
	assert_null(cmd);
	assert_int_equal(used, 0);
}

/* Proves: none (command lookup in the shells). */
static void
test_match_unknown_words_null(void **state)
{
	char *argv[] = { "devices", "status" };
	char *argv2[] = { "device" };
	int used = -1;

	assert_null(cmd_match(2, argv, &used));
	assert_int_equal(used, 0);
	assert_null(cmd_match(1, argv2, &used));
	assert_null(cmd_match(0, argv, &used));
}

/* Proves: none (consistency of the command table). */
static void
test_find_method_and_words_agree(void **state)
{
	size_t i;

	for (i = 0; i < cmd_table_len; i++) {
		assert_ptr_equal(cmd_find_method(cmd_table[i].method),
		    &cmd_table[i]);
		assert_ptr_equal(cmd_find_words(cmd_table[i].words),
		    &cmd_table[i]);
	}
	assert_null(cmd_find_method("org.cml.Device.Nope"));
	assert_null(cmd_find_words("device"));
}

/* Proves: none (argument parsing in the shells). */
static void
test_parse_too_few_right_too_many(void **state)
{
	const struct cmd_entry *cmd;
	struct json_object *p = NULL;
	char *cause = NULL;

	assert_int_equal(parse("device config set log_level", &cmd, &p,
	    &cause), -1);
	assert_string_equal(cause, "missing VALUE");
	free(cause);

	assert_int_equal(parse("device config set log_level debug", &cmd, &p,
	    &cause), 0);
	assert_string_equal(json_object_to_json_string_ext(p,
	    JSON_C_TO_STRING_PLAIN),
	    "{\"key\":\"log_level\",\"value\":\"debug\"}");
	json_object_put(p);

	assert_int_equal(parse("device config set log_level debug extra",
	    &cmd, &p, &cause), -1);
	assert_string_equal(cause, "too many arguments (unexpected 'extra')");
	free(cause);

	assert_int_equal(parse("device status now", &cmd, &p, &cause), -1);
	assert_string_equal(cause, "too many arguments (unexpected 'now')");
	free(cause);
}

/* Proves: none (option parsing in the shells). */
static void
test_parse_optional_and_options(void **state)
{
	const struct cmd_entry *cmd;
	struct json_object *p = NULL;
	char *cause = NULL;

	assert_int_equal(parse("device config get", &cmd, &p, &cause), 0);
	assert_int_equal(json_object_object_length(p), 0);
	json_object_put(p);

	assert_int_equal(parse("audit list --last 5", &cmd, &p, &cause), 0);
	assert_int_equal(json_object_get_int(json_object_object_get(p,
	    "last")), 5);
	json_object_put(p);

	assert_int_equal(parse("audit list --last", &cmd, &p, &cause), -1);
	assert_string_equal(cause, "option '--last' needs a value (N)");
	free(cause);
	assert_int_equal(parse("audit list --last 0", &cmd, &p, &cause), -1);
	assert_string_equal(cause, "N must be between 1 and 1000000, not 0");
	free(cause);
	assert_int_equal(parse("audit list --last x", &cmd, &p, &cause), -1);
	assert_string_equal(cause, "N must be an integer, not 'x'");
	free(cause);
	assert_int_equal(parse("audit list --last 1 --last 2", &cmd, &p,
	    &cause), -1);
	assert_string_equal(cause, "option '--last' given twice");
	free(cause);
	assert_int_equal(parse("audit list --first 1", &cmd, &p, &cause), -1);
	assert_string_equal(cause, "unknown option '--first'");
	free(cause);
	/* After "--" an option-like word is a positional argument. */
	assert_int_equal(parse("device config get -- --x", &cmd, &p, &cause),
	    0);
	assert_string_equal(json_object_get_string(json_object_object_get(p,
	    "key")), "--x");
	json_object_put(p);
}

/* Proves: none (parameter type checks of calls). */
static void
test_check_params_types_and_unknown(void **state)
{
	static const struct {
		const char *method, *json, *param;
	} cases[] = {
		{ "org.cml.Device.SetConfig", "{\"key\":\"a\",\"value\":\"b\"}",
		  NULL },
		{ "org.cml.Device.SetConfig", "{\"key\":\"a\"}", "value" },
		{ "org.cml.Device.SetConfig", "{\"key\":1,\"value\":\"b\"}",
		  "key" },
		{ "org.cml.Device.SetConfig",
		  "{\"key\":\"a\",\"value\":\"b\",\"x\":1}", "x" },
		{ "org.cml.Device.SetConfig", "{\"key\":\"a\",\"value\":null}",
		  "value" },
		{ "org.cml.Device.GetConfig", "{\"key\":null}", NULL },
		{ "org.cml.Device.GetConfig", "{}", NULL },
		{ "org.cml.Audit.List", "{\"last\":3}", NULL },
		{ "org.cml.Audit.List", "{\"last\":\"3\"}", "last" },
		{ "org.cml.Audit.List", "{\"last\":0}", "last" },
		{ "org.cml.Audit.List", "{\"last\":1.5}", "last" },
		{ "org.cml.Device.Status", "{\"a\":1}", "a" },
	};
	const struct cmd_entry *cmd;
	struct json_object *p;
	const char *param;
	char *cause;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cmd = cmd_find_method(cases[i].method);
		assert_non_null(cmd);
		p = json_tokener_parse(cases[i].json);
		assert_non_null(p);
		param = NULL;
		cause = NULL;
		if (cases[i].param == NULL) {
			assert_int_equal(cmd_check_params(cmd, p, &param,
			    &cause), 0);
		} else {
			assert_int_equal(cmd_check_params(cmd, p, &param,
			    &cause), -1);
			assert_string_equal(param, cases[i].param);
			assert_non_null(cause);
			free(cause);
		}
		json_object_put(p);
	}
}

/* Proves: CR 1.5 (a PIN is never a word of a command line). */
static void
test_secret_never_on_the_command_line(void **state)
{
	const struct cmd_entry *cmd;
	const struct cmd_arg *a;
	struct json_object *p = NULL;
	char *cause = NULL;

	/* the secrets are asked for later: the words alone parse */
	assert_int_equal(parse("token verify c1", &cmd, &p, &cause), 0);
	assert_string_equal(json_object_to_json_string_ext(p,
	    JSON_C_TO_STRING_PLAIN), "{\"name\":\"c1\"}");
	json_object_put(p);
	assert_int_equal(cmd_secret_count(cmd), 1);
	/* as an option: refused, without quoting what followed */
	assert_int_equal(parse("token verify c1 --pin 482915", &cmd, &p,
	    &cause), -1);
	assert_string_equal(cause, "the PIN is never given on the command "
	    "line: it is asked for without echo, or read from stdin with "
	    "--pin-stdin");
	free(cause);
	assert_int_equal(parse("token unblock c1 --new_pin 482915", &cmd, &p,
	    &cause), -1);
	assert_null(strstr(cause, "482915"));
	free(cause);
	/* nor by position */
	assert_int_equal(parse("token verify c1 482915", &cmd, &p, &cause),
	    -1);
	assert_string_equal(cause, "too many arguments (unexpected '482915')");
	free(cause);
	/* the shell's own options parse, for the shell to take out */
	assert_int_equal(parse("token init c1 --generate-puk --pin-stdin",
	    &cmd, &p, &cause), 0);
	assert_true(json_object_get_boolean(json_object_object_get(p,
	    "generate-puk")));
	assert_true(json_object_get_boolean(json_object_object_get(p,
	    "pin-stdin")));
	json_object_put(p);
	assert_int_equal(cmd_secret_count(cmd), 2);
	for (a = cmd->args; a->name != NULL; a++)
		assert_int_equal(cmd_arg_positional(a),
		    strcmp(a->name, "name") == 0);
}

/* Proves: CR 1.5 (secrets checked as strings, shell options refused). */
static void
test_secret_params_checked(void **state)
{
	static const struct {
		const char *json, *param;
	} cases[] = {
		{ "{\"name\":\"c1\",\"pin\":\"482915\"}", NULL },
		{ "{\"name\":\"c1\"}", "pin" },
		{ "{\"name\":\"c1\",\"pin\":482915}", "pin" },
		{ "{\"name\":\"c1\",\"pin\":\"\"}", "pin" },
		/* the shell's own option is no parameter of cmld */
		{ "{\"name\":\"c1\",\"pin\":\"482915\",\"pin-stdin\":true}",
		  "pin-stdin" },
	};
	const struct cmd_entry *cmd = cmd_find_method("org.cml.Token.Verify");
	struct json_object *p;
	const char *param;
	char *cause, *big, *json;
	size_t i;

	assert_non_null(cmd);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		p = json_tokener_parse(cases[i].json);
		assert_non_null(p);
		param = NULL;
		cause = NULL;
		if (cases[i].param == NULL)
			assert_int_equal(cmd_check_params(cmd, p, &param,
			    &cause), 0);
		else {
			assert_int_equal(cmd_check_params(cmd, p, &param,
			    &cause), -1);
			assert_string_equal(param, cases[i].param);
			/* a secret is never quoted back */
			assert_null(strstr(cause, "482915"));
			free(cause);
		}
		json_object_put(p);
	}
	/* longer than CMD_MAX_SECRET bytes */
	big = malloc(CMD_MAX_SECRET + 2);
	assert_non_null(big);
	memset(big, 'x', CMD_MAX_SECRET + 1);
	big[CMD_MAX_SECRET + 1] = '\0';
	assert_true(asprintf(&json, "{\"name\":\"c1\",\"pin\":\"%s\"}",
	    big) > 0);
	p = json_tokener_parse(json);
	assert_int_equal(cmd_check_params(cmd, p, &param, &cause), -1);
	assert_string_equal(param, "pin");
	free(cause);
	json_object_put(p);
	free(json);
	free(big);
}

/* Proves: none (usage text). */
static void
test_synopsis_from_args(void **state)
{
	char *s;

	s = cmd_synopsis(cmd_find_words("device config set"));
	assert_string_equal(s, "device config set KEY VALUE");
	free(s);
	/* secrets are asked for, never typed: not in the synopsis */
	s = cmd_synopsis(cmd_find_words("token unblock"));
	assert_string_equal(s, "token unblock NAME [--pin-stdin]");
	free(s);
	s = cmd_synopsis(cmd_find_words("token init"));
	assert_string_equal(s, "token init NAME [--reader READER] "
	    "[--generate-puk] [--force] [--pin-stdin]");
	free(s);
	s = cmd_synopsis(cmd_find_words("device config get"));
	assert_string_equal(s, "device config get [KEY]");
	free(s);
	s = cmd_synopsis(cmd_find_words("audit list"));
	assert_string_equal(s, "audit list [--last N] [--since TIME] "
	    "[--until TIME] [--container NAME] [--type TYPE] "
	    "[--result RESULT] [--uid UID]");
	free(s);
}

/* Proves: none (the command table agrees with the interface files). */
static void
test_table_consistent_with_interfaces(void **state)
{
	const struct cml_interface *iface;
	const struct cmd_entry *cmd;
	const char *name;
	char *ifname, *decl;
	size_t i, j;

	for (i = 0; i < cmd_table_len; i++) {
		cmd = &cmd_table[i];
		/* Words are unique, start with a known family. */
		for (j = i + 1; j < cmd_table_len; j++) {
			assert_string_not_equal(cmd->words,
			    cmd_table[j].words);
			assert_string_not_equal(cmd->method,
			    cmd_table[j].method);
		}
		assert_non_null(cmd_find_family(cmd->family));
		assert_int_equal(strncmp(cmd->words, cmd->family,
		    strlen(cmd->family)), 0);
		/* A read-only command cannot also be admin-only or streaming
		 * without saying so; flags stay meaningful. */
		assert_false((cmd->flags & CMD_READONLY) &&
		    (cmd->flags & CMD_DESTRUCTIVE));
		/* The method is declared in its interface file. */
		ifname = cmd_method_interface(cmd->method);
		iface = cml_interface_find(ifname);
		assert_non_null(iface);
		name = cmd->method + strlen(ifname) + 1;
		decl = NULL;
		assert_true(asprintf(&decl, "\nmethod %s(", name) > 0);
		assert_non_null(strstr(iface->description, decl));
		free(decl);
		free(ifname);
		/* Every argument is a parameter of that method. */
		for (j = 0; j < CMD_MAX_ARGS && cmd->args[j].name != NULL;
		    j++) {
			assert_non_null(cmd->args[j].metavar);
			assert_non_null(cmd->args[j].help);
		}
	}
}

/*
 * Proves: CR 1.5, CR 4.2(1) (a PIN a call carried is wiped in place when
 * the call ends; other members are left alone).
 */
static void
test_wipe_secrets_in_place(void **state)
{
	const struct cmd_entry *cmd = cmd_find_method("org.cml.Token.Unblock");
	struct json_object *p = json_object_new_object(), *v;
	const char *pin, *name;
	size_t i;

	(void)state;
	assert_non_null(cmd);
	json_object_object_add(p, "name", json_object_new_string("c1"));
	json_object_object_add(p, "puk", json_object_new_string("pk839201"));
	json_object_object_add(p, "new_pin", json_object_new_string(
	    "a long new PIN that json-c keeps out of line"));
	cmd_wipe_secrets(cmd, p);
	assert_true(json_object_object_get_ex(p, "puk", &v));
	pin = json_object_get_string(v);
	for (i = 0; i < 8; i++)
		assert_int_equal(pin[i], '\0');
	assert_true(json_object_object_get_ex(p, "new_pin", &v));
	pin = json_object_get_string(v);
	for (i = 0; i < 44; i++)
		assert_int_equal(pin[i], '\0');
	name = json_object_get_string(json_object_object_get(p, "name"));
	assert_string_equal(name, "c1");
	cmd_wipe_secrets(NULL, p);
	cmd_wipe_secrets(cmd, NULL);
	json_object_put(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_longest_words_found),
		cmocka_unit_test(test_match_unknown_words_null),
		cmocka_unit_test(test_find_method_and_words_agree),
		cmocka_unit_test(test_parse_too_few_right_too_many),
		cmocka_unit_test(test_parse_optional_and_options),
		cmocka_unit_test(test_check_params_types_and_unknown),
		cmocka_unit_test(test_secret_never_on_the_command_line),
		cmocka_unit_test(test_secret_params_checked),
		cmocka_unit_test(test_synopsis_from_args),
		cmocka_unit_test(test_table_consistent_with_interfaces),
		cmocka_unit_test(test_wipe_secrets_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
