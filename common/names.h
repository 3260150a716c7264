/*
 * Names and versions shared by guest OS manifests and container configs.
 */
#ifndef CML_NAMES_H
#define CML_NAMES_H

#include <stddef.h>

#define NAMES_GUESTOS_MAX 64 /* characters of a guest OS name */
#define NAMES_CONTAINER_MAX 31 /* characters of a container name */
#define NAMES_VERSION_PARTS 4
#define NAMES_VERSION_DIGITS 9 /* each part at most 999999999 */

/* Returns 1 if s is a guest OS name: [a-z0-9][a-z0-9._-]{0,63}. */
int names_guestos_ok(const char *s);
/*
 * Returns 1 if s is a container name: [a-z0-9][a-z0-9-]{0,30} (also the
 * name of its token in scd, and of directories: never a path).
 */
int names_container_ok(const char *s);
/*
 * Returns 1 if s is a dotted version: 1 to 4 decimal numbers without
 * leading zeros, each at most 999999999.
 */
int names_version_ok(const char *s);
/*
 * Compares two versions numerically, part by part, a missing part counting
 * as 0 ("1" equals "1.0"): <0, 0 or >0 as a is older, the same or newer.
 */
int names_version_cmp(const char *a, const char *b);
/* The longest network interface name (the kernel's IFNAMSIZ less its NUL). */
#define NAMES_IFNAME_MAX 15
/*
 * Returns 1 if the len bytes at s can name a network interface: 1 to 15
 * bytes of printable ASCII without a blank, '/' or ':', not "." or "..".
 */
int names_ifname_ok(const char *s, size_t len);

#endif
