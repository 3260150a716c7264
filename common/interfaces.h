/*
 * The varlink interfaces cmld implements, with their descriptions, built
 * from the varlink/ *.varlink files at build time.
 */
#ifndef CML_INTERFACES_H
#define CML_INTERFACES_H

#include <stddef.h>

struct cml_interface {
	const char *name;
	const char *description;
};

extern const struct cml_interface cml_interfaces[];
extern const size_t cml_interfaces_len;

/* Returns the interface called name, or NULL. */
const struct cml_interface *cml_interface_find(const char *name);

#endif
