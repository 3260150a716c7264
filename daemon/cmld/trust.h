/*
 * The trust store (trust.c): the anchors of the state store, as the
 * signature checks use them.
 */
#ifndef CMLD_TRUST_H
#define CMLD_TRUST_H

struct cmld;

/* Rebuilds the trust store from the anchors in the store; -1 on error. */
int trust_reload(struct cmld *cmld, char **cause);
/* Frees the trust stores (at cmld's end). */
void trust_free(struct cmld *cmld);

#endif
