/*
 * cml-forward's connection to the collector: TCP, then TLS 1.2 or newer
 * (RFC 5425) with mutual authentication.  The collector's certificate must
 * chain to the configured CAs and name the configured host (DNS name or IP
 * address); cml-forward's own certificate is the device certificate, its
 * key the TPM's (tpmkey.c).  The socket is non-blocking; a connect, a
 * handshake and a write wait for at most FWD_TLS_TIMEOUT_MS.
 */
#ifndef FWD_TLS_H
#define FWD_TLS_H

#include <stddef.h>

/* How long connecting, the handshake and a write may take. */
#define FWD_TLS_TIMEOUT_MS 15000

struct fwd_tls;

/* What a connection needs. */
struct fwd_tls_config {
	const char *host; /* a DNS name or an IP address */
	int port;
	const char *ca_pem; /* the CAs the collector's certificate chains to */
	const char *cert_pem; /* the device certificate */
	const char *tpm2d_sock; /* where tpm2d signs with the device key */
};

/*
 * Prepares connections with cfg (copied); NULL with *cause set when the
 * CAs or the certificate cannot be read or the certificate holds no key
 * the TPM can use.
 */
struct fwd_tls *fwd_tls_new(const struct fwd_tls_config *cfg, char **cause);
/*
 * Connects and completes the handshake, checking the collector's
 * certificate; -1 with *cause saying why (unreachable, refused, an
 * untrusted or misnamed certificate, the TPM did not sign).
 */
int fwd_tls_connect(struct fwd_tls *t, char **cause);
/* Returns the protocol of the connection ("TLSv1.3"). */
const char *fwd_tls_version(const struct fwd_tls *t);
/* Returns the connection's socket (-1 when not connected). */
int fwd_tls_fd(const struct fwd_tls *t);
/*
 * Writes all of buf, waiting while the socket is full; -1 with *cause set
 * when the connection failed (it is closed then).
 */
int fwd_tls_write(struct fwd_tls *t, const char *buf, size_t len,
    char **cause);
/*
 * Returns the bytes written that the collector's TCP has not acknowledged
 * yet (SIOCOUTQ), or -1 with *cause set.
 */
long fwd_tls_unacked(struct fwd_tls *t, char **cause);
/*
 * Reads what the collector sent (nothing is expected but TLS's own
 * messages) after the socket became readable; -1 with *cause set when the
 * collector closed the connection or it failed (it is closed then).
 */
int fwd_tls_read(struct fwd_tls *t, char **cause);
/* Closes the connection (after a close_notify, if it can go at once). */
void fwd_tls_close(struct fwd_tls *t);
/* Closes and frees; NULL does nothing. */
void fwd_tls_free(struct fwd_tls *t);

#endif
