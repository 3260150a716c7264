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

#include <json-c/json.h>

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

/*
 * The end of a token init that went well, for a caller of token_init:
 * status (org.cml.Token's TokenStatus, taken over) and the PUK scd made
 * (NULL: the caller gave one; wiped once this returns).  cb answers the
 * call; the call's details say what was made.
 */
typedef void (*token_init_cb)(void *arg, struct call *call,
    struct json_object *status, const char *puk);

/*
 * Makes k's token of the type its config names, with the PIN, the PUK
 * and the reader of call's params (as org.cml.Token.Init), and binds a
 * new container key to it; then cb answers the call (NULL: Init's reply).
 * Every failure is answered at once or from scd's reply, cb not called.
 * The secrets are wiped from the call's params once they went out.
 */
void token_init(struct call *call, struct ctr *k, token_init_cb cb,
    void *arg);

#endif
