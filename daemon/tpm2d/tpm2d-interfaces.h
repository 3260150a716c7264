/*
 * The varlink interfaces tpm2d implements, with their descriptions, built
 * from varlink/ files at build time (scripts/gen-interfaces, its names
 * changed to these).
 */
#ifndef TPM2D_INTERFACES_H
#define TPM2D_INTERFACES_H

#include "interfaces.h"

extern const struct cml_interface tpm2d_interfaces[];
extern const size_t tpm2d_interfaces_len;

/* Returns the interface called name, or NULL. */
const struct cml_interface *tpm2d_interface_find(const char *name);

#endif
