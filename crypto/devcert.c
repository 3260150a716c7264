/*
 * The device certificate: what cmld checks before it installs the
 * certificate of the TPM's device key (device cert install), and what a
 * verifier off the device checks against the CAs it is given
 * (crypto_devcert_verify: cml-attest, cml-audit-verify).  Each check
 * has its own message, because a refusal must say why: the certificate is
 * parsed, is no CA, is within the algorithm policy, is valid now, chains
 * to a trust anchor, names this device, and certifies the TPM's key.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "devcert.h"
#include "log.h"
#include "policy.h"
#include "x509.h"
#include "xmalloc.h"

/* The longest commonName compared (a UUID is 36 characters). */
#define DEVCERT_CN_MAX 256

/*
 * Reads the certificates after the leaf from bio: at most
 * CRYPTO_DEVCERT_CERTS_MAX - 1 of them (to free with sk_X509_pop_free);
 * NULL with *cause set when there are more.
 */
static STACK_OF(X509) *
devcert_read_rest(BIO *bio, const char *name, char **cause)
{
	STACK_OF(X509) *rest;
	X509 *c;

	if ((rest = sk_X509_new_null()) == NULL)
		fatalx("out of memory in OpenSSL");
	while ((c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(rest) == CRYPTO_DEVCERT_CERTS_MAX - 1) {
			X509_free(c);
			sk_X509_pop_free(rest, X509_free);
			ERR_clear_error();
			*cause = xasprintf("%s holds more than %d certificates "
			    "(the device certificate and at most %d CA "
			    "certificates of its chain)", name,
			    CRYPTO_DEVCERT_CERTS_MAX,
			    CRYPTO_DEVCERT_CERTS_MAX - 1);
			return NULL;
		}
		if (sk_X509_push(rest, c) <= 0)
			fatalx("out of memory in OpenSSL");
	}
	/* the end of the PEM data is no error */
	ERR_clear_error();
	return rest;
}

/*
 * Reads the leaf and, from PEM, the certificates after it (*rest, to
 * free with sk_X509_pop_free); NULL with *cause set.
 */
static X509 *
devcert_read(const void *data, size_t len, const char *name,
    STACK_OF(X509) **rest, char **cause)
{
	const unsigned char *p;
	X509 *x = NULL;
	BIO *bio;
	char *text, *e;

	*rest = NULL;
	if (len == 0 || len > CRYPTO_DEVCERT_MAX) {
		*cause = xasprintf("%s: %zu bytes cannot be a device "
		    "certificate (at most %d)", name, len, CRYPTO_DEVCERT_MAX);
		return NULL;
	}
	text = xmalloc(len + 1);
	memcpy(text, data, len);
	text[len] = '\0';
	if (strstr(text, "-----BEGIN") == NULL) {
		p = (const unsigned char *)text;
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
			e = crypto_openssl_error();
			*cause = xasprintf("%s holds no PEM or DER "
			    "certificate: %s", name, e);
			free(e);
		} else if (p != (const unsigned char *)text + len) {
			*cause = xasprintf("%s: bytes follow the DER "
			    "certificate", name);
			X509_free(x);
			x = NULL;
		}
		free(text);
		return x;
	}
	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		fatalx("out of memory in OpenSSL");
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		e = crypto_openssl_error();
		*cause = xasprintf("%s holds no PEM certificate: %s", name, e);
		free(e);
		goto out;
	}
	if ((*rest = devcert_read_rest(bio, name, cause)) == NULL) {
		X509_free(x);
		x = NULL;
	}
out:
	BIO_free(bio);
	free(text);
	return x;
}

/* Checks the subject's one commonName is the device UUID; -1 if not. */
static int
devcert_check_uuid(X509 *x, const char *subject, const char *uuid,
    char **cause)
{
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_ENTRY *ent;
	unsigned char *cn = NULL;
	int i, len, rc = -1;

	i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	if (i < 0 || X509_NAME_get_index_by_NID(n, NID_commonName, i) >= 0) {
		*cause = xasprintf("its subject '%s' does not name this "
		    "device: it needs one CN, the device UUID %s", subject,
		    uuid);
		return -1;
	}
	ent = X509_NAME_get_entry(n, i);
	len = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(ent));
	if (len < 0) {
		ERR_clear_error();
		*cause = xasprintf("its subject '%s' has an unreadable CN",
		    subject);
		return -1;
	}
	if (len > DEVCERT_CN_MAX || strlen((char *)cn) != (size_t)len ||
	    strcasecmp((char *)cn, uuid) != 0) {
		*cause = xasprintf("it is for another device: its subject "
		    "'%s' has not this device's UUID %s as its CN", subject,
		    uuid);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(cn);
	return rc;
}

/* Checks the certificate's key is the TPM's device key; -1 if not. */
static int
devcert_check_key(X509 *x, const char *key_pem, char **cause)
{
	EVP_PKEY *tpm = NULL, *pub = X509_get0_pubkey(x);
	BIO *bio;
	char *e;
	int rc = -1;

	if ((bio = BIO_new_mem_buf(key_pem, -1)) == NULL)
		fatalx("out of memory in OpenSSL");
	if ((tpm = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		e = crypto_openssl_error();
		*cause = xasprintf("tpm2d reported a device key that cannot "
		    "be read: %s", e);
		free(e);
		goto out;
	}
	if (pub == NULL || EVP_PKEY_eq(pub, tpm) != 1) {
		ERR_clear_error();
		*cause = xstrdup("it certifies another key, not this device's "
		    "TPM key ('device csr' makes a request for that one)");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(tpm);
	BIO_free(bio);
	return rc;
}

/*
 * Checks that each certificate given after the leaf is on the verified
 * path (chain: the leaf first, the anchor last); -1 with *cause naming the
 * first that is not.
 */
static int
devcert_check_rest(STACK_OF(X509) *rest, STACK_OF(X509) *chain,
    const char *name, char **cause)
{
	char *s, *top;
	int i, j, n = sk_X509_num(chain);

	for (i = 0; i < sk_X509_num(rest); i++) {
		for (j = 1; j < n; j++) {
			if (X509_cmp(sk_X509_value(rest, i),
			    sk_X509_value(chain, j)) == 0)
				break;
		}
		if (j < n)
			continue;
		s = crypto_x509_subject(sk_X509_value(rest, i));
		top = crypto_x509_subject(sk_X509_value(chain, n - 1));
		*cause = xasprintf("it comes with a certificate off its "
		    "path: certificate %d in %s, '%s', is not between it and "
		    "the trust anchor '%s' (give the device certificate and "
		    "only the CA certificates between it and the anchor)",
		    i + 2, name, s, top);
		free(top);
		free(s);
		return -1;
	}
	return 0;
}

/*
 * Returns the DER of the untrusted CA certificates of a verified chain
 * (chain[1] up to, not including, the first from the trust store), one
 * after another, in *der (NULL when there are none; free it); -1 with
 * *cause set when they do not fit.
 */
static int
devcert_chain_der(X509_STORE_CTX *ctx, unsigned char **der, size_t *len,
    char **cause)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	unsigned char *one;
	int j, n, dlen;

	*der = NULL;
	*len = 0;
	n = X509_STORE_CTX_get_num_untrusted(ctx);
	for (j = 1; chain != NULL && j < n && j < sk_X509_num(chain); j++) {
		one = NULL;
		if ((dlen = i2d_X509(sk_X509_value(chain, j), &one)) <= 0 ||
		    *len + (size_t)dlen > CRYPTO_DEVCERT_MAX) {
			OPENSSL_free(one);
			ERR_clear_error();
			free(*der);
			*der = NULL;
			*len = 0;
			*cause = xasprintf("the device certificate's chain "
			    "cannot be encoded in %d bytes",
			    CRYPTO_DEVCERT_MAX);
			return -1;
		}
		*der = xreallocarray(*der, 1, *len + (size_t)dlen);
		memcpy(*der + *len, one, (size_t)dlen);
		*len += (size_t)dlen;
		OPENSSL_free(one);
	}
	return 0;
}

/*
 * Checks the chain from x to one of the anchors, with the certificates
 * given after it (rest, each of which must be on the path), and returns
 * the CA certificates between x and the anchor (*chain_der, DER);
 * -1 with *cause set.
 */
static int
devcert_check_chain(X509 *x, STACK_OF(X509) *rest,
    const struct crypto_devcert_want *want, const char *name,
    const char *subject, unsigned char **chain_der, size_t *chain_len,
    char **cause)
{
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	STACK_OF(X509) *chain;
	const unsigned char *p;
	X509 *a;
	size_t i;
	int ok, err, n, j, rc = -1;

	if ((store = X509_STORE_new()) == NULL)
		fatalx("out of memory in OpenSSL");
	if (X509_STORE_set_purpose(store, X509_PURPOSE_ANY) != 1 ||
	    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN |
	    X509_V_FLAG_X509_STRICT) != 1)
		fatalx("cannot set up a trust store: %s",
		    crypto_openssl_error());
	for (i = 0; i < want->nanchors; i++) {
		p = want->anchors[i];
		if ((a = d2i_X509(NULL, &p, (long)want->anchor_lens[i])) ==
		    NULL) {
			/* the store checked it when it was added */
			ERR_clear_error();
			continue;
		}
		if (X509_STORE_add_cert(store, a) != 1)
			ERR_clear_error(); /* a duplicate */
		X509_free(a);
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, x, rest) != 1)
		fatalx("cannot set up a certificate check: %s",
		    crypto_openssl_error());
	X509_STORE_CTX_set_time(ctx, 0, want->now);
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	ERR_clear_error();
	if (ok != 1) {
		*cause = xasprintf("'%s' does not chain to a trust anchor "
		    "(%s): 'ca add' registers the device CA", subject,
		    X509_verify_cert_error_string(err != X509_V_OK ? err :
		    X509_V_ERR_UNSPECIFIED));
		goto out;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	n = chain != NULL ? sk_X509_num(chain) : 0;
	for (j = 1; j < n; j++) {
		if (crypto_policy_cert(sk_X509_value(chain, j), cause) == -1)
			goto out;
	}
	/*
	 * What the file adds must be the path a verifier walks: anything
	 * else would be handed out with the certificate as if it were.
	 */
	if (rest != NULL && devcert_check_rest(rest, chain, name,
	    cause) == -1)
		goto out;
	rc = devcert_chain_der(ctx, chain_der, chain_len, cause);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

int
crypto_devcert_check(const void *data, size_t len, const char *name,
    const struct crypto_devcert_want *want, struct crypto_cert *cert,
    unsigned char **chain, size_t *chain_len, char **cause)
{
	STACK_OF(X509) *rest = NULL;
	unsigned char *der = NULL;
	X509 *x;
	char *subject = NULL, *why = NULL;
	int dlen, rc = -1;

	memset(cert, 0, sizeof *cert);
	*chain = NULL;
	*chain_len = 0;
	if ((x = devcert_read(data, len, name, &rest, cause)) == NULL)
		return -1;
	subject = crypto_x509_subject(x);
	if ((dlen = i2d_X509(x, &der)) <= 0) {
		ERR_clear_error();
		*cause = xasprintf("%s: cannot encode the certificate", name);
		goto out;
	}
	if (crypto_cert_from_der(der, (size_t)dlen, cert, &why) == -1) {
		*cause = xasprintf("%s: %s", name, why);
		goto out;
	}
	if (cert->is_ca) {
		*cause = xasprintf("'%s' is a CA certificate, not a device "
		    "certificate", subject);
		goto out;
	}
	if (crypto_policy_cert(x, cause) == -1 ||
	    crypto_x509_check_time(x, "device certificate", want->now,
	    cause) == -1 ||
	    devcert_check_chain(x, rest, want, name, subject, chain,
	    chain_len, cause) == -1 ||
	    devcert_check_uuid(x, subject, want->uuid, cause) == -1 ||
	    devcert_check_key(x, want->key_pem, cause) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		crypto_cert_clear(cert);
		free(*chain);
		*chain = NULL;
		*chain_len = 0;
	}
	free(why);
	free(subject);
	OPENSSL_free(der);
	X509_free(x);
	sk_X509_pop_free(rest, X509_free);
	return rc;
}

/* Sets *cause; returns -1. */
static int
devcert_fail(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
devcert_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = xstrdup("out of memory");
	va_end(ap);
	return -1;
}

/* Checks that x's first CN is uuid, case aside; -1 if not. */
static int
devcert_cn_is(X509 *x, const char *uuid)
{
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_ENTRY *e;
	ASN1_STRING *str;
	unsigned char *cn = NULL;
	int i, rc = -1;

	if ((i = X509_NAME_get_index_by_NID(n, NID_commonName, -1)) >= 0 &&
	    (e = X509_NAME_get_entry(n, i)) != NULL &&
	    (str = X509_NAME_ENTRY_get_data(e)) != NULL &&
	    ASN1_STRING_to_UTF8(&cn, str) >= 0 &&
	    strcasecmp((char *)cn, uuid) == 0)
		rc = 0;
	OPENSSL_free(cn);
	ERR_clear_error();
	return rc;
}

int
crypto_devcert_verify(const char *pem, const char *name,
    const unsigned char *const *anchors, const size_t *anchor_lens,
    size_t nanchors, const char *uuid, time_t now,
    struct crypto_devcert_checked *out, char **cause)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	X509 *cert = NULL, *anchor;
	BIO *bio = NULL;
	const unsigned char *p;
	char *err;
	int ret = -1, ok, verr;
	size_t i;

	memset(out, 0, sizeof *out);
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		err = crypto_openssl_error();
		devcert_fail(cause, "%s is no PEM certificate: %s", name, err);
		free(err);
		goto out;
	}
	if ((chain = devcert_read_rest(bio, name, cause)) == NULL)
		goto out;
	out->subject = crypto_x509_subject(cert);
	out->issuer = crypto_x509_name(X509_get_issuer_name(cert));

	if ((store = X509_STORE_new()) == NULL)
		fatalx("out of memory in OpenSSL");
	for (i = 0; i < nanchors; i++) {
		p = anchors[i];
		if ((anchor = d2i_X509(NULL, &p, (long)anchor_lens[i])) ==
		    NULL) {
			free(crypto_openssl_error());
			devcert_fail(cause, "CA certificate %zu cannot be read",
			    i + 1);
			goto out;
		}
		if (X509_STORE_add_cert(store, anchor) != 1)
			ERR_clear_error(); /* a duplicate */
		X509_free(anchor);
	}
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN |
	    X509_V_FLAG_X509_STRICT);
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, cert, chain) != 1) {
		err = crypto_openssl_error();
		devcert_fail(cause, "cannot check the certificate: %s", err);
		free(err);
		goto out;
	}
	if (now != 0)
		X509_STORE_CTX_set_time(ctx, 0, now);
	ok = X509_verify_cert(ctx);
	verr = X509_STORE_CTX_get_error(ctx);
	free(crypto_openssl_error());
	if (ok != 1) {
		devcert_fail(cause, "the device certificate (%s, issued by %s) "
		    "does not chain to a CA given: %s", out->subject,
		    out->issuer, X509_verify_cert_error_string(
		    verr != X509_V_OK ? verr : X509_V_ERR_UNSPECIFIED));
		goto out;
	}
	if (X509_check_ca(cert) != 0) {
		devcert_fail(cause, "the device certificate (%s) is a CA "
		    "certificate", out->subject);
		goto out;
	}
	if (uuid != NULL && devcert_cn_is(cert, uuid) == -1) {
		devcert_fail(cause, "the device certificate (%s) is not for "
		    "device %s (its CN is not that UUID)", out->subject, uuid);
		goto out;
	}
	if ((out->key = X509_get_pubkey(cert)) == NULL) {
		free(crypto_openssl_error());
		devcert_fail(cause, "the device certificate's key cannot be "
		    "read");
		goto out;
	}
	ret = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(chain, X509_free);
	X509_free(cert);
	BIO_free(bio);
	return ret;
}

void
crypto_devcert_checked_clear(struct crypto_devcert_checked *c)
{
	free(c->subject);
	free(c->issuer);
	EVP_PKEY_free(c->key);
	memset(c, 0, sizeof *c);
}

int
crypto_anchors_load(struct crypto_anchors *a, const char **paths,
    size_t n, char **cause)
{
	size_t i;

	a->certs = xcalloc(n, sizeof *a->certs);
	a->der = xcalloc(n, sizeof *a->der);
	a->len = xcalloc(n, sizeof *a->len);
	a->n = n;
	for (i = 0; i < n; i++) {
		if (crypto_cert_load(paths[i], &a->certs[i], cause) == -1) {
			crypto_anchors_clear(a);
			return -1;
		}
		a->der[i] = a->certs[i].der;
		a->len[i] = a->certs[i].der_len;
	}
	return 0;
}

void
crypto_anchors_clear(struct crypto_anchors *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		crypto_cert_clear(&a->certs[i]);
	free(a->certs);
	free(a->der);
	free(a->len);
	memset(a, 0, sizeof *a);
}

char *
crypto_der_pem(const unsigned char *der, size_t len, const char *label)
{
	BIO *bio;
	char *data, *pem = NULL;
	long n;

	if (len == 0 || len > CRYPTO_DEVCERT_MAX)
		return NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("out of memory in OpenSSL");
	if (PEM_write_bio(bio, label, "", der, (long)len) > 0 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0) {
		pem = xmalloc((size_t)n + 1);
		memcpy(pem, data, (size_t)n);
		pem[n] = '\0';
	}
	ERR_clear_error();
	BIO_free(bio);
	return pem;
}

char *
crypto_devcert_pem(const unsigned char *der, size_t len,
    const unsigned char *chain, size_t chain_len)
{
	const unsigned char *p = chain, *start, *end = chain + chain_len;
	char *pem, *one, *all;
	X509 *x;
	int n = 1;

	if ((pem = crypto_der_pem(der, len, "CERTIFICATE")) == NULL)
		return NULL;
	while (chain != NULL && p < end) {
		start = p;
		if (++n > CRYPTO_DEVCERT_CERTS_MAX ||
		    (x = d2i_X509(NULL, &p, (long)(end - p))) == NULL) {
			ERR_clear_error();
			free(pem);
			return NULL;
		}
		X509_free(x);
		if ((one = crypto_der_pem(start, (size_t)(p - start),
		    "CERTIFICATE")) == NULL) {
			free(pem);
			return NULL;
		}
		all = xasprintf("%s%s", pem, one);
		free(one);
		free(pem);
		pem = all;
	}
	return pem;
}
