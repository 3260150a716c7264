/*
 * Unit tests of cmltui's menus (cmltui/menu.c): every command of the
 * table that a person runs has its entry.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cmltui.h"

static void
test_placeholder(void **state)
{
	(void)state;
	assert_true(cmd_table_len > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
