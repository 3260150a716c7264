/*
 * Version floors (floor.c): for each update kind and name, the lowest
 * version cml may install, kept in one NV index of the TPM's owner
 * hierarchy, so that an old copy of cmld's database (or of the whole
 * disk) put back cannot lower it.
 *
 * The index holds one table, at most FLOOR_SIZE_MAX bytes and never more
 * than the TPM takes in one TPM2_NV_Write (TPM2_PT_NV_BUFFER_MAX), so that
 * every change writes the whole table in one command: after a power cut
 * the TPM holds the old table or the new one, never a mix.  The table:
 *
 *   offset 0  4 bytes  "CMLF"
 *          4  1 byte   format (1)
 *          5  1 byte   0
 *          6  2 bytes  count of entries, big-endian
 *          8  entries, FLOOR_ENTRY_LEN bytes each, sorted by key:
 *             8 bytes   key: the first 8 bytes of SHA-256("KIND/NAME")
 *             16 bytes  the version's four parts, each a big-endian
 *                       32-bit number (a missing part is 0)
 *          then zeros to the index's end.
 *
 * These functions are the table alone, without a TPM.
 */
#ifndef TPM2D_FLOOR_H
#define TPM2D_FLOOR_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "names.h"

/* The index: in the owner range of NV indices (0x01800000-0x01bfffff). */
#define FLOOR_HANDLE 0x01800f10
/* The largest index tpm2d defines (less where the TPM writes less). */
#define FLOOR_SIZE_MAX 1024
#define FLOOR_MAGIC "CMLF"
#define FLOOR_FORMAT 1
#define FLOOR_HEADER_LEN 8
#define FLOOR_KEY_LEN CRYPTO_FLOOR_KEY_LEN
#define FLOOR_ENTRY_LEN (FLOOR_KEY_LEN + 4 * NAMES_VERSION_PARTS)
/* The most entries an index of FLOOR_SIZE_MAX bytes holds: 42. */
#define FLOOR_ENTRIES_MAX \
	((FLOOR_SIZE_MAX - FLOOR_HEADER_LEN) / FLOOR_ENTRY_LEN)
/* The smallest index that holds one entry. */
#define FLOOR_SIZE_MIN (FLOOR_HEADER_LEN + FLOOR_ENTRY_LEN)
/* Room for a version as text: four parts of 9 digits, dots, a NUL. */
#define FLOOR_VERSION_TEXT (4 * NAMES_VERSION_DIGITS + 4)

/* One floor. */
struct floor_entry {
	unsigned char key[FLOOR_KEY_LEN];
	uint32_t parts[NAMES_VERSION_PARTS];
};

/* The table of an index of size bytes (FLOOR_SIZE_MIN to _MAX). */
struct floor_table {
	size_t size;
	size_t count;
	struct floor_entry entries[FLOOR_ENTRIES_MAX];
};

/* Returns how many entries an index of size bytes holds. */
size_t floor_capacity(size_t size);

/* Returns 1 if kind is an update kind (bundle_kind_name's). */
int floor_kind_ok(const char *kind);

/*
 * Writes the version of parts as text into buf (FLOOR_VERSION_TEXT
 * bytes): the parts joined by dots, trailing zero parts left out but
 * the first ("1.2.0.0" is "1.2", "0" is "0").
 */
void floor_version_text(const uint32_t parts[NAMES_VERSION_PARTS],
    char *buf);

/*
 * Reads a table from the size bytes of an index (a written one; an index
 * never written holds no table yet: floor_table_init).  -1 with *cause
 * set when they are no table of the format this code knows.
 */
int floor_decode(const unsigned char *buf, size_t size,
    struct floor_table *ft, char **cause);

/* Starts an empty table for an index of size bytes. */
void floor_table_init(struct floor_table *ft, size_t size);

/* Writes the table into buf: ft->size bytes. */
void floor_encode(const struct floor_table *ft, unsigned char *buf);

/*
 * Raises the floor of key to version (names_version_ok's), never lowers
 * it: the entry becomes the higher of both.  Writes the floor before into
 * old (FLOOR_VERSION_TEXT bytes; "" if key had none) and the floor after
 * into now.  Returns 1 if the table changed, 0 if version is not above
 * the floor (nothing changed), -1 if key is new and the table is full
 * (nothing changed).
 */
int floor_raise(struct floor_table *ft, const unsigned char key[FLOOR_KEY_LEN],
    const char *version, char *old, char *now);

#endif
