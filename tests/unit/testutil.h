/*
 * Helpers shared by the unit tests (cmocka).
 */
#ifndef CML_TESTUTIL_H
#define CML_TESTUTIL_H

#include <stddef.h>

/*
 * Removes dir and everything below it without following symbolic links:
 * 0, also when dir is gone already; -1 if something stayed.
 */
int test_remove_tree(const char *dir);
/* Reads a whole file; fails the test if it cannot. */
unsigned char *test_read_all(const char *path, size_t *len);

#endif
