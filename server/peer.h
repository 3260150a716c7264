/*
 * A non-blocking varlink client for calls from one cml daemon to another
 * (cmld to scd, cmld to tpm2d), run on the caller's event loop.  Calls go
 * out on one connection, opened on first use and again after it was lost;
 * varlink answers them in order, and so the replies reach the callbacks
 * in the order the calls were made.  Nothing here blocks the loop.
 */
#ifndef CML_PEER_H
#define CML_PEER_H

#include <stddef.h>

#include <json-c/json.h>

#include "loop.h"

struct peer;

/*
 * Gets a call's replies.  error is NULL for a reply, else the error name
 * ("org.cml.Error.Failed" when the peer could not be reached or did not
 * answer in time); params (borrowed: json_object_get to keep them) then
 * carries "message".  continues is 1 for a streamed reply that more
 * replies follow; the last call of a callback has continues 0.  The
 * descriptors that came with the reply are closed when the callback
 * returns: dup(2) one to keep it.  A callback may call peer_call, but not
 * peer_free.
 */
typedef void (*peer_reply_cb)(void *arg, const char *error,
    struct json_object *params, int continues, const int *fds, size_t nfds);

/* Calls on one connection at most; peer_call refuses more (EAGAIN). */
#define PEER_MAX_CALLS 64
/* How long the peer may work on a call, or between two streamed replies. */
#define PEER_TIMEOUT_MS (30 * 1000)

/*
 * Makes a client of the daemon serving sock_path, called name in messages
 * ("scd is not reachable: ..."); it connects on the first call.
 */
struct peer *peer_new(struct loop *loop, const char *sock_path,
    const char *name);
/*
 * Fails every pending call through its callback, closes the connection
 * and frees the peer; NULL does nothing.
 */
void peer_free(struct peer *p);
/*
 * Sets how long the peer may work on one call (from when it starts on
 * it, and again after each streamed reply) before the call fails and the
 * connection is given up; 0 restores PEER_TIMEOUT_MS.
 */
void peer_set_timeout(struct peer *p, long long ms);
/* Returns the number of calls not yet finished (their callbacks due). */
size_t peer_pending(const struct peer *p);
/*
 * Returns which connection the peer holds (1 for its first, counting
 * up), or 0 when it holds none now (never made, or given up: its server
 * closed it, a call failed or timed out).  A value seen again later
 * means the same connection to the same process all along.
 */
unsigned long long peer_connection(const struct peer *p);
/*
 * Queues a call of method with params and descriptors (all taken over,
 * also on failure; params may be NULL), with "more" if more is set, and
 * returns 0: cb then gets its replies, or its failure, from the loop,
 * never from within peer_call.  Returns -1 with errno EAGAIN when
 * PEER_MAX_CALLS calls are pending, EMSGSIZE when the call is too large,
 * ESHUTDOWN while the peer is being freed.
 */
int peer_call(struct peer *p, const char *method, struct json_object *params,
    const int *fds, size_t nfds, int more, peer_reply_cb cb, void *arg);

#endif
