/*
 * The TLS connection to the collector (RFC 5425): OpenSSL 3, TLS 1.2 or
 * newer, the collector's certificate checked against the configured CAs
 * and the host, the device certificate and the TPM's key as ours.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "devcert.h"
#include "tls.h"
#include "tpmkey.h"
#include "loop.h"
#include "xmalloc.h"

struct fwd_tls {
	char *host;
	int port;
	int host_is_ip;
	char *tpm2d_sock;
	SSL_CTX *ctx;
	struct fwd_tpmkey *key;
	SSL *ssl;
	int fd;
};

/*
 * Waits until fd has events or the deadline passed; 0 when it has them,
 * -1 with errno (ETIMEDOUT at the deadline).
 */
static int
fwd_tls_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	for (;;) {
		if ((left = deadline - loop_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/* Adds every certificate of the PEM text to the context's store. */
static int
fwd_tls_load_cas(SSL_CTX *ctx, const char *pem, char **cause)
{
	STACK_OF(X509_INFO) *infos;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_INFO *xi;
	BIO *bio;
	int i, n = 0;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		goto fail;
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (infos == NULL)
		goto fail;
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 == NULL)
			continue;
		if (X509_STORE_add_cert(store, xi->x509) != 1) {
			sk_X509_INFO_pop_free(infos, X509_INFO_free);
			goto fail;
		}
		n++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (n == 0) {
		*cause = xstrdup("no CA certificate is configured for the "
		    "collector (cmld's trust anchors are empty)");
		return -1;
	}
	return 0;
fail:
	*cause = xasprintf("the collector's CA certificates cannot be read: "
	    "%s", crypto_openssl_error());
	return -1;
}

/* Sets the device certificate and its TPM-held key. */
static int
fwd_tls_load_cert(struct fwd_tls *t, const char *pem, char **cause)
{
	X509 *cert = NULL, *ca;
	char *why;
	BIO *bio;
	size_t n = 0;
	int rc = -1;

	if ((bio = BIO_new_mem_buf(pem, -1)) != NULL) {
		cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (cert == NULL) {
		*cause = xasprintf("the device certificate cannot be read: %s",
		    crypto_openssl_error());
		return -1;
	}
	if ((t->key = fwd_tpmkey_new(cert, t->tpm2d_sock, cause)) == NULL)
		goto out;
	if (SSL_CTX_use_certificate(t->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(t->ctx, fwd_tpmkey_pkey(t->key)) != 1) {
		why = crypto_openssl_error();
		*cause = xasprintf("the device certificate cannot be used as "
		    "the TLS client certificate: %s", why);
		free(why);
		goto out;
	}
	/*
	 * The CA certificates cmld keeps with the device certificate follow
	 * it (leaf first, then each issuer), so that a collector that
	 * trusts only the root accepts the device.
	 */
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		goto chain;
	X509_free(PEM_read_bio_X509(bio, NULL, NULL, NULL));
	for (n = 0; n < CRYPTO_DEVCERT_CERTS_MAX &&
	    (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL; n++) {
		if (SSL_CTX_add0_chain_cert(t->ctx, ca) != 1) {
			X509_free(ca);
			BIO_free(bio);
			why = crypto_openssl_error();
			*cause = xasprintf("the device certificate's CA "
			    "certificates cannot be sent: %s", why);
			free(why);
			goto out;
		}
	}
	BIO_free(bio);
chain:
	/* Intermediate CAs among the configured ones go along. */
	if (n == 0)
		SSL_CTX_build_cert_chain(t->ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT |
		    SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR);
	ERR_clear_error();
	rc = 0;
out:
	X509_free(cert);
	return rc;
}

struct fwd_tls *
fwd_tls_new(const struct fwd_tls_config *cfg, char **cause)
{
	struct fwd_tls *t = xcalloc(1, sizeof *t);
	unsigned char addr[16];

	t->host = xstrdup(cfg->host);
	t->port = cfg->port;
	t->tpm2d_sock = xstrdup(cfg->tpm2d_sock);
	t->fd = -1;
	t->host_is_ip = inet_pton(AF_INET, t->host, addr) == 1 ||
	    inet_pton(AF_INET6, t->host, addr) == 1;
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set1_client_sigalgs_list(t->ctx,
	    "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512") != 1) {
		*cause = xasprintf("OpenSSL cannot make a TLS context: %s",
		    crypto_openssl_error());
		goto fail;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* The configured CAs are anchors, intermediates as well (as in crypto/). */
	X509_STORE_set_flags(SSL_CTX_get_cert_store(t->ctx),
	    X509_V_FLAG_PARTIAL_CHAIN);
	if (fwd_tls_load_cas(t->ctx, cfg->ca_pem, cause) == -1 ||
	    fwd_tls_load_cert(t, cfg->cert_pem, cause) == -1)
		goto fail;
	return t;
fail:
	fwd_tls_free(t);
	return NULL;
}

/* Connects the TCP socket before the deadline; -1 with *cause set. */
static int
fwd_tls_tcp(struct fwd_tls *t, long long deadline, char **cause)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	socklen_t len;
	int fd = -1, err = 0, gai;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", t->port);
	if ((gai = getaddrinfo(t->host, port, &hints, &res)) != 0) {
		*cause = xasprintf("cannot resolve %s: %s", t->host,
		    gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			len = sizeof err;
			if (fwd_tls_wait(fd, POLLOUT, deadline) == -1)
				err = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &len) == -1)
				err = errno;
			if (err == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		*cause = xasprintf("cannot connect to %s port %d: %s", t->host,
		    t->port, strerror(err));
		return -1;
	}
	t->fd = fd;
	return 0;
}

/* Says why a handshake failed, the most telling reason first. */
static char *
fwd_tls_why(struct fwd_tls *t)
{
	char *tpm, *ssl, *why;
	long v;

	tpm = fwd_tpmkey_error(t->key);
	ssl = crypto_openssl_error();
	v = SSL_get_verify_result(t->ssl);
	if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
	    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
		why = xasprintf("the collector's certificate does not name "
		    "%s", t->host);
	else if (v != X509_V_OK)
		why = xasprintf("the collector's certificate is not trusted: "
		    "%s", X509_verify_cert_error_string(v));
	else if (tpm != NULL)
		why = xasprintf("the device key did not sign: %s", tpm);
	else
		why = xasprintf("TLS handshake with %s port %d failed: %s",
		    t->host, t->port, *ssl != '\0' ? ssl :
		    "the collector closed the connection (did it refuse the "
		    "device certificate?)");
	free(tpm);
	free(ssl);
	return why;
}

int
fwd_tls_connect(struct fwd_tls *t, char **cause)
{
	long long deadline = loop_now_ms() + FWD_TLS_TIMEOUT_MS;
	X509_VERIFY_PARAM *param;
	int r, e;

	fwd_tls_close(t);
	ERR_clear_error();
	free(fwd_tpmkey_error(t->key));
	if (fwd_tls_tcp(t, deadline, cause) == -1)
		return -1;
	if ((t->ssl = SSL_new(t->ctx)) == NULL ||
	    SSL_set_fd(t->ssl, t->fd) != 1) {
		*cause = xasprintf("OpenSSL cannot make a TLS connection: %s",
		    crypto_openssl_error());
		goto fail;
	}
	param = SSL_get0_param(t->ssl);
	if (t->host_is_ip)
		r = X509_VERIFY_PARAM_set1_ip_asc(param, t->host);
	else {
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		r = X509_VERIFY_PARAM_set1_host(param, t->host, 0) == 1 &&
		    SSL_set_tlsext_host_name(t->ssl, t->host) == 1;
	}
	if (r != 1) {
		*cause = xasprintf("the collector's name %s cannot be checked: "
		    "%s", t->host, crypto_openssl_error());
		goto fail;
	}
	for (;;) {
		if ((r = SSL_connect(t->ssl)) == 1)
			break;
		e = SSL_get_error(t->ssl, r);
		if ((e == SSL_ERROR_WANT_READ &&
		    fwd_tls_wait(t->fd, POLLIN, deadline) == 0) ||
		    (e == SSL_ERROR_WANT_WRITE &&
		    fwd_tls_wait(t->fd, POLLOUT, deadline) == 0))
			continue;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			*cause = xasprintf("TLS handshake with %s port %d: "
			    "%s", t->host, t->port, strerror(errno));
		else
			*cause = fwd_tls_why(t);
		goto fail;
	}
	if (SSL_get0_peer_certificate(t->ssl) == NULL ||
	    SSL_get_verify_result(t->ssl) != X509_V_OK) {
		*cause = xstrdup("the collector presented no trusted "
		    "certificate");
		goto fail;
	}
	return 0;
fail:
	SSL_free(t->ssl);
	t->ssl = NULL;
	close(t->fd);
	t->fd = -1;
	return -1;
}

const char *
fwd_tls_version(const struct fwd_tls *t)
{
	return t->ssl != NULL ? SSL_get_version(t->ssl) : "none";
}

int
fwd_tls_fd(const struct fwd_tls *t)
{
	return t->ssl != NULL ? t->fd : -1;
}

/* Names a failed read or write and closes the connection. */
static int
fwd_tls_failed(struct fwd_tls *t, int r, const char *what, char **cause)
{
	int e = SSL_get_error(t->ssl, r), saved = errno;
	char *ssl;

	/* Collectors often close without a close_notify (rsyslog does). */
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
	    saved == 0) || (e == SSL_ERROR_SSL &&
	    ERR_GET_REASON(ERR_peek_error()) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING))
		*cause = xasprintf("the collector closed the connection");
	else if (e == SSL_ERROR_SYSCALL)
		*cause = xasprintf("%s the collector failed: %s", what,
		    strerror(saved));
	else {
		ssl = crypto_openssl_error();
		*cause = xasprintf("%s the collector failed: %s", what, ssl);
		free(ssl);
	}
	ERR_clear_error();
	SSL_free(t->ssl);
	t->ssl = NULL;
	close(t->fd);
	t->fd = -1;
	return -1;
}

int
fwd_tls_write(struct fwd_tls *t, const char *buf, size_t len,
    char **cause)
{
	long long deadline = loop_now_ms() + FWD_TLS_TIMEOUT_MS;
	size_t off = 0;
	int r, e;

	if (t->ssl == NULL) {
		*cause = xstrdup("not connected to the collector");
		return -1;
	}
	while (off < len) {
		ERR_clear_error();
		errno = 0;
		r = SSL_write(t->ssl, buf + off, (int)(len - off));
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		e = SSL_get_error(t->ssl, r);
		if ((e == SSL_ERROR_WANT_WRITE &&
		    fwd_tls_wait(t->fd, POLLOUT, deadline) == 0) ||
		    (e == SSL_ERROR_WANT_READ &&
		    fwd_tls_wait(t->fd, POLLIN, deadline) == 0))
			continue;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			*cause = xasprintf("the collector took nothing for %d "
			    "s", FWD_TLS_TIMEOUT_MS / 1000);
			fwd_tls_close(t);
			return -1;
		}
		return fwd_tls_failed(t, r, "writing to", cause);
	}
	return 0;
}

long
fwd_tls_unacked(struct fwd_tls *t, char **cause)
{
	int n;

	if (t->ssl == NULL) {
		*cause = xstrdup("not connected to the collector");
		return -1;
	}
	if (ioctl(t->fd, SIOCOUTQ, &n) == -1) {
		*cause = xasprintf("SIOCOUTQ: %s", strerror(errno));
		return -1;
	}
	return n;
}

int
fwd_tls_read(struct fwd_tls *t, char **cause)
{
	char buf[4096];
	int r;

	if (t->ssl == NULL) {
		*cause = xstrdup("not connected to the collector");
		return -1;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_read(t->ssl, buf, sizeof buf)) > 0)
			continue; /* a collector has nothing to say: ignored */
		if (SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_READ)
			return 0;
		return fwd_tls_failed(t, r, "reading from", cause);
	}
}

void
fwd_tls_close(struct fwd_tls *t)
{
	if (t->ssl != NULL) {
		/* Non-blocking: a close_notify goes if it can, at once. */
		SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
		t->ssl = NULL;
		ERR_clear_error();
	}
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
}

void
fwd_tls_free(struct fwd_tls *t)
{
	if (t == NULL)
		return;
	fwd_tls_close(t);
	SSL_CTX_free(t->ctx);
	fwd_tpmkey_free(t->key);
	free(t->host);
	free(t->tpm2d_sock);
	free(t);
}
