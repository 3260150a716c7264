/*
 * The varlink interfaces scd implements, with their descriptions, built
 * from varlink/ files at build time (scripts/gen-interfaces, its names
 * changed to these).
 */
#ifndef SCD_INTERFACES_H
#define SCD_INTERFACES_H

#include "interfaces.h"

extern const struct cml_interface scd_interfaces[];
extern const size_t scd_interfaces_len;

/* Returns the interface called name, or NULL. */
const struct cml_interface *scd_interface_find(const char *name);

#endif
