/*
 * Every command a daemon serves has its handler: the table and the
 * handler arrays are joined by command id at compile time, and this test
 * fails when an entry has none (instead of a daemon failing at start or
 * answering MethodNotImplemented).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmdtab.h"
#include "handlers.h"

/*
 * Every command of cmld's table has a handler, found through its id.
 * Proves: none (consistency of the command table and the handlers).
 */
static void
test_cmld_every_command_has_handler(void **state)
{
	struct srv_config cfg = {
		.table = cmd_table,
		.table_len = cmd_table_len,
		.handlers = cmld_handlers,
		.nhandlers = CMD_ID_COUNT,
	};
	size_t i;

	(void)state;
	for (i = 0; i < cmd_table_len; i++) {
		if (srv_handler(&cfg, &cmd_table[i]) == NULL)
			fail_msg("command '%s' (%s) has no handler in cmld",
			    cmd_table[i].words, cmd_table[i].method);
	}
}

/*
 * Ids are unique and in range: no two commands share a handler slot.
 * Proves: none (consistency of the command table).
 */
static void
test_cmdtab_ids_unique_in_range(void **state)
{
	int seen[CMD_ID_COUNT];
	size_t i;

	(void)state;
	memset(seen, 0, sizeof seen);
	for (i = 0; i < cmd_table_len; i++) {
		assert_true(cmd_table[i].id > CMD_ID_NONE);
		assert_true(cmd_table[i].id < CMD_ID_COUNT);
		if (seen[cmd_table[i].id]++)
			fail_msg("id of '%s' used twice", cmd_table[i].words);
	}
}

/*
 * cmld has no handler for an id no command of its table carries.
 * Proves: none (consistency of the command table and the handlers).
 */
static void
test_cmld_no_handler_without_command(void **state)
{
	size_t i, id;
	int found;

	(void)state;
	for (id = CMD_ID_NONE + 1; id < CMD_ID_COUNT; id++) {
		if (cmld_handlers[id] == NULL)
			continue;
		found = 0;
		for (i = 0; i < cmd_table_len; i++)
			found |= cmd_table[i].id == (enum cmd_id)id;
		if (!found)
			fail_msg("cmld has a handler for id %zu, which no "
			    "command carries", id);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmld_every_command_has_handler),
		cmocka_unit_test(test_cmdtab_ids_unique_in_range),
		cmocka_unit_test(test_cmld_no_handler_without_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
