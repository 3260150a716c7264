/*
 * Unit tests of cmltui's menus and forms (cmltui/menu.c, cmltui/form.c):
 * every command of the table that cmlsh offers has its entry, under its
 * family, through the same functions the menus are built with; every
 * argument a person types has a field in its command's form, and no
 * secret has one; the lists that need no cmld complete from the tables,
 * and those that do are empty, not missing, when cmld is away; a value
 * shown in a field of several words (words_quote) splits back whole.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmltui.h"
#include "settings.h"
#include "words.h"

/*
 * cmlsh lists, completes and runs every command of cmld's table
 * (cmlsh_help_list walks cmd_table whole): so must the menus.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_menu_offers_every_command(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < cmd_table_len; i++) {
		if (!tui_menu_offers(&cmd_table[i]))
			fail_msg("'%s' has no menu entry", cmd_table[i].words);
	}
}

/* A command of no table of cmld's (a stage daemon's own) is not offered.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_menu_offers_nothing_else(void **state)
{
	static const struct cmd_entry stage = CMD_ENTRY_TAKE_AUDIT("tpm",
	    "org.cml.TPM.TakeAudit", CMD_ID_TPM_TAKE_AUDIT);

	(void)state;
	assert_false(tui_menu_offers(&stage));
	assert_false(tui_menu_offers(NULL));
}

/* Returns how often list holds s. */
static int
count_in(const char **list, const char *s)
{
	int n = 0;

	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			n++;
	return n;
}

/* Every command is listed once, under its own family, listed once.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_menu_every_command_under_its_family(void **state)
{
	const struct cmd_entry **cmds, **c;
	const char **families;
	size_t i;
	int n;

	(void)state;
	families = tui_menu_families();
	for (i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *cmd = &cmd_table[i];

		if (count_in(families, cmd->family) != 1)
			fail_msg("'%s': its family '%s' is listed %d times",
			    cmd->words, cmd->family,
			    count_in(families, cmd->family));
		cmds = tui_menu_commands(cmd->family);
		for (n = 0, c = cmds; *c != NULL; c++) {
			if (*c == cmd)
				n++;
			if (strcmp((*c)->family, cmd->family) != 0)
				fail_msg("'%s' is listed under '%s'",
				    (*c)->words, cmd->family);
		}
		free(cmds);
		if (n != 1)
			fail_msg("'%s' is listed %d times under '%s'",
			    cmd->words, n, cmd->family);
	}
	free(families);
}

/* The families come in cmd_families' order, each with commands.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_menu_families_in_order(void **state)
{
	const struct cmd_entry **cmds;
	const char **families;
	size_t i, k = 0;

	(void)state;
	families = tui_menu_families();
	for (i = 0; i < cmd_families_len; i++) {
		cmds = tui_menu_commands(cmd_families[i].name);
		if (cmds[0] != NULL) {
			assert_non_null(families[k]);
			assert_string_equal(families[k], cmd_families[i].name);
			k++;
		}
		free(cmds);
	}
	for (; families[k] != NULL; k++) {
		/* beyond cmd_families: a family only the table names */
		cmds = tui_menu_commands(families[k]);
		assert_non_null(cmds[0]);
		assert_null(cmd_find_family(families[k]));
		free(cmds);
	}
	free(families);
}

/*
 * Every argument but secrets (asked for in dialogs) and --pin-stdin (the
 * shell's) has a field, once; an option a secret depends on
 * (--generate-puk) is a choice of the form too.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_form_fields_cover_every_argument(void **state)
{
	const struct cmd_arg **args, **a, *arg;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < cmd_table_len; i++) {
		args = tui_form_args(&cmd_table[i]);
		for (arg = cmd_table[i].args; arg->name != NULL; arg++) {
			for (n = 0, a = args; *a != NULL; a++)
				if (*a == arg)
					n++;
			if (arg->type == CMD_ARG_SECRET && n != 0)
				fail_msg("'%s': the secret %s has a field",
				    cmd_table[i].words, arg->name);
			if (arg->type != CMD_ARG_SECRET &&
			    !(arg->flags & CMD_ARG_LOCAL) && n != 1)
				fail_msg("'%s': %s has %d fields",
				    cmd_table[i].words, arg->name, n);
			if (strcmp(arg->name, CMD_SECRET_STDIN) == 0 && n != 0)
				fail_msg("'%s': --%s has a field",
				    cmd_table[i].words, CMD_SECRET_STDIN);
		}
		free(args);
	}
}

/* Positional arguments come first in their order, then the options.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_form_fields_in_command_line_order(void **state)
{
	const struct cmd_arg **args, **a;
	const struct cmd_arg *last = NULL;
	size_t i;
	int options;

	(void)state;
	for (i = 0; i < cmd_table_len; i++) {
		args = tui_form_args(&cmd_table[i]);
		options = 0;
		last = NULL;
		for (a = args; *a != NULL; a++) {
			if ((*a)->flags & CMD_ARG_OPTION)
				options = 1;
			else if (options)
				fail_msg("'%s': %s after an option",
				    cmd_table[i].words, (*a)->name);
			else if (last != NULL && *a < last)
				fail_msg("'%s': %s out of order",
				    cmd_table[i].words, (*a)->name);
			if (!((*a)->flags & CMD_ARG_OPTION))
				last = *a;
		}
		free(args);
	}
}

/* Returns the argument of the command of words named name. */
static const struct cmd_arg *
find_arg(const char *words, const char *name)
{
	const struct cmd_entry *cmd = cmd_find_words(words);
	const struct cmd_arg *a;

	assert_non_null(cmd);
	for (a = cmd->args; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	fail_msg("'%s' has no argument %s", words, name);
	return NULL;
}

/* Returns how many strings a NULL-ended list holds. */
static size_t
list_len(char **list)
{
	size_t n = 0;

	while (list[n] != NULL)
		n++;
	return n;
}

/* Settings and their values complete from the settings' table.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_completions_from_the_tables(void **state)
{
	const struct cmd_entry *set = cmd_find_words("device config set");
	const struct setting_def *def = setting_find("log_level");
	struct json_object *params;
	struct tui t;
	char **list;
	size_t i;

	(void)state;
	memset(&t, 0, sizeof t);
	client_init(&t.cl, "/nonexistent/control.sock", NULL);
	list = tui_completions(&t, set, find_arg("device config set", "key"),
	    NULL);
	assert_non_null(list);
	assert_int_equal(list_len(list), setting_defs_len);
	for (i = 0; i < setting_defs_len; i++)
		assert_string_equal(list[i], setting_defs[i].key);
	tui_strings_free(list);

	/* a value: of the setting the key field names */
	assert_non_null(def);
	assert_non_null(def->choices);
	params = json_object_new_object();
	json_object_object_add(params, "key",
	    json_object_new_string("log_level"));
	list = tui_completions(&t, set, find_arg("device config set", "value"),
	    params);
	assert_non_null(list);
	for (i = 0; def->choices[i] != NULL; i++) {
		assert_non_null(list[i]);
		assert_string_equal(list[i], def->choices[i]);
	}
	assert_null(list[i]);
	tui_strings_free(list);
	json_object_put(params);

	/* an argument without a list has none */
	assert_null(tui_completions(&t, cmd_find_words("audit list"),
	    find_arg("audit list", "last"), NULL));
	client_disconnect(&t.cl);
}

/* Live lists from a cmld that cannot be reached: empty, and said so.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_completions_without_cmld(void **state)
{
	struct tui t;
	char **list;

	(void)state;
	memset(&t, 0, sizeof t);
	client_init(&t.cl, "/nonexistent/control.sock", NULL);
	list = tui_completions(&t, cmd_find_words("container start"),
	    find_arg("container start", "name"), NULL);
	assert_non_null(list);
	assert_null(list[0]);
	tui_strings_free(list);
	client_disconnect(&t.cl);
}

/* What words_quote makes of a word, words_split gives back whole.
 * Proves: none (cmltui's menus and forms come from the command table).
 */
static void
test_words_quote_splits_back(void **state)
{
	static const char *const words[] = {
		"plain", "", "two words", "it's", "\"quoted\"", "back\\slash",
		"tab\there", "$HOME", "'", "''", "hé llo", NULL,
	};
	struct words w;
	char *q, *cause = NULL;
	size_t i;

	(void)state;
	for (i = 0; words[i] != NULL; i++) {
		q = words_quote(words[i]);
		if (words_split(q, 0, &w, &cause) == -1)
			fail_msg("%s: %s", q, cause);
		assert_int_equal(w.argc, 1);
		assert_string_equal(w.argv[0], words[i]);
		words_free(&w);
		free(q);
	}
	q = words_quote("plain");
	assert_string_equal(q, "plain");
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_menu_offers_every_command),
		cmocka_unit_test(test_menu_offers_nothing_else),
		cmocka_unit_test(test_menu_every_command_under_its_family),
		cmocka_unit_test(test_menu_families_in_order),
		cmocka_unit_test(test_form_fields_cover_every_argument),
		cmocka_unit_test(test_form_fields_in_command_line_order),
		cmocka_unit_test(test_completions_from_the_tables),
		cmocka_unit_test(test_completions_without_cmld),
		cmocka_unit_test(test_words_quote_splits_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
