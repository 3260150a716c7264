/*
 * Unlocking a container's key for the start of a container with encrypted
 * storage (cmd-token.c): scd unwraps the key cmld keeps wrapped under the
 * container's token, with the PIN the start call carries, as token verify
 * does, and the key is checked against its check value.  A container
 * whose key was wiped (container wipe) gets a new one, wrapped under the
 * same token and stored once the PIN unwrapped it.  The unlock is a token
 * call: it takes the client's one token slot.
 */
#ifndef CMLD_TOKEN_H
#define CMLD_TOKEN_H

#include <stddef.h>

struct call;
struct ctr;

/*
 * The end of an unlock: key (len bytes, wiped by the caller once this
 * returns) on success; NULL with why (the reason for the container's
 * state: "wrong PIN (2 tries left): ...") when it failed, the call
 * answered already.
 */
typedef void (*token_key_cb)(void *arg, const unsigned char *key, size_t len,
    const char *why);

/* The length of a container key (the keyslot's passphrase), in bytes. */
#define TOKEN_KEY_LEN 64

/*
 * Begins unlocking k's key with the PIN of call (member "pin"): 0 and cb
 * is called later (the call stays the caller's: cb answers it, or it was
 * answered when key is NULL); -1 with the call answered at once (Busy, no
 * scd, ...), cb never called.  The PIN is wiped from the call's params
 * once it went out.
 */
int token_unlock(struct call *call, struct ctr *k, token_key_cb cb,
    void *arg);

#endif
