/*
 * Certificates as cml shows and stores them, and trust anchor checks.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "file.h"
#include "log.h"
#include "policy.h"
#include "x509.h"
#include "xmalloc.h"

/* A certificate file bigger than this is something else. */
#define CERT_MAX_FILE (1024 * 1024)

/* Converts an ASN1_TIME to seconds since the epoch; -1 if unreadable. */
static int
cert_epoch(const ASN1_TIME *t, long long *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return -1;
	}
	*out = (long long)timegm(&tm);
	return 0;
}

/* Fills cert from a parsed certificate; -1 with *cause set. */
static int
cert_fill(X509 *x, struct crypto_cert *cert, char **cause)
{
	unsigned char md[EVP_MAX_MD_SIZE], *p;
	unsigned int mdlen;
	uint32_t flags;
	int len;

	memset(cert, 0, sizeof *cert);
	flags = X509_get_extension_flags(x);
	if (flags & EXFLAG_INVALID) {
		*cause = xstrdup("certificate has malformed or repeated "
		    "extensions");
		return -1;
	}
	if ((len = i2d_X509(x, NULL)) <= 0) {
		ERR_clear_error();
		*cause = xstrdup("cannot encode the certificate");
		return -1;
	}
	cert->der = xmalloc((size_t)len);
	p = cert->der;
	if (i2d_X509(x, &p) != len) {
		free(cert->der);
		cert->der = NULL;
		*cause = xstrdup("cannot encode the certificate");
		return -1;
	}
	cert->der_len = (size_t)len;
	if (EVP_Digest(cert->der, cert->der_len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != CRYPTO_SHA256_LEN)
		fatalx("SHA-256 failed: %s", crypto_openssl_error());
	crypto_hex(md, mdlen, cert->fingerprint);
	if (cert_epoch(X509_get0_notBefore(x), &cert->not_before) == -1 ||
	    cert_epoch(X509_get0_notAfter(x), &cert->not_after) == -1) {
		free(cert->der);
		cert->der = NULL;
		*cause = xstrdup("certificate has an unreadable validity "
		    "period");
		return -1;
	}
	cert->subject = crypto_x509_subject(x);
	cert->issuer = crypto_x509_name(X509_get_issuer_name(x));
	cert->is_ca = (flags & EXFLAG_CA) != 0;
	cert->key = crypto_key_describe(X509_get0_pubkey(x));
	ERR_clear_error();
	return 0;
}

/* Parses DER into an X509, refusing trailing bytes; NULL with *cause set. */
static X509 *
cert_parse_der(const unsigned char *der, size_t len, char **cause)
{
	const unsigned char *p = der;
	X509 *x;
	char *e;

	if (len == 0 || len > CERT_MAX_FILE) {
		*cause = xasprintf("%zu bytes cannot be a certificate", len);
		return NULL;
	}
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		e = crypto_openssl_error();
		*cause = xasprintf("not a DER certificate: %s", e);
		free(e);
		return NULL;
	}
	if (p != der + len) {
		X509_free(x);
		*cause = xasprintf("%zu bytes follow the DER certificate",
		    (size_t)(der + len - p));
		return NULL;
	}
	return x;
}

int
crypto_cert_from_der(const unsigned char *der, size_t len,
    struct crypto_cert *cert, char **cause)
{
	X509 *x;
	int rc;

	memset(cert, 0, sizeof *cert);
	if ((x = cert_parse_der(der, len, cause)) == NULL)
		return -1;
	rc = cert_fill(x, cert, cause);
	X509_free(x);
	return rc;
}

int
crypto_cert_parse(const void *data, size_t len, const char *name,
    struct crypto_cert *cert, char **cause)
{
	X509 *x = NULL;
	BIO *bio = NULL;
	char *why = NULL, *text;
	int rc = -1;

	memset(cert, 0, sizeof *cert);
	/* a NUL-terminated copy, for the PEM test */
	text = xmalloc(len + 1);
	memcpy(text, data, len);
	text[len] = '\0';
	if (strstr(text, "-----BEGIN") != NULL) {
		if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL)
			fatalx("out of memory in OpenSSL");
		if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
			why = crypto_openssl_error();
			*cause = xasprintf("%s holds no PEM certificate: %s",
			    name, why);
			goto out;
		}
	} else if ((x = cert_parse_der((const unsigned char *)text, len,
	    &why)) == NULL) {
		*cause = xasprintf("%s holds no PEM or DER certificate: %s",
		    name, why);
		goto out;
	}
	if (cert_fill(x, cert, &why) == -1) {
		*cause = xasprintf("%s: %s", name, why);
		goto out;
	}
	rc = 0;
out:
	free(why);
	X509_free(x);
	BIO_free(bio);
	free(text);
	return rc;
}

int
crypto_cert_load(const char *path, struct crypto_cert *cert, char **cause)
{
	char *buf;
	size_t len;
	int rc;

	memset(cert, 0, sizeof *cert);
	if (file_read_small(AT_FDCWD, path, CERT_MAX_FILE, &buf, &len) == -1) {
		if (errno == ENOENT || errno == EACCES || errno == EPERM)
			*cause = xasprintf("cannot open %s: %s", path,
			    strerror(errno));
		else
			*cause = file_error(path, CERT_MAX_FILE);
		return -1;
	}
	rc = crypto_cert_parse(buf, len, path, cert, cause);
	free(buf);
	return rc;
}

int
crypto_cert_check_anchor(const struct crypto_cert *cert, char **cause)
{
	X509 *x;
	uint32_t flags;
	char *subject = NULL, *why = NULL;
	int rc = -1;

	if ((x = cert_parse_der(cert->der, cert->der_len, &why)) == NULL) {
		*cause = xasprintf("certificate '%s' cannot be read: %s",
		    cert->subject != NULL ? cert->subject : "", why);
		free(why);
		return -1;
	}
	subject = crypto_x509_subject(x);
	flags = X509_get_extension_flags(x);
	if ((flags & EXFLAG_BCONS) == 0 || (flags & EXFLAG_CA) == 0) {
		*cause = xasprintf("certificate '%s' is not a CA certificate: "
		    "a trust anchor needs basicConstraints CA:TRUE", subject);
		goto out;
	}
	if ((flags & EXFLAG_KUSAGE) &&
	    (X509_get_key_usage(x) & KU_KEY_CERT_SIGN) == 0) {
		*cause = xasprintf("certificate '%s' is not a CA certificate: "
		    "its keyUsage lacks keyCertSign", subject);
		goto out;
	}
	if (crypto_policy_cert(x, cause) == -1)
		goto out;
	if (crypto_x509_check_time(x, "certificate", time(NULL), cause) == -1)
		goto out;
	rc = 0;
out:
	free(subject);
	X509_free(x);
	return rc;
}

void
crypto_cert_clear(struct crypto_cert *cert)
{
	if (cert == NULL)
		return;
	free(cert->subject);
	free(cert->issuer);
	free(cert->key);
	free(cert->der);
	memset(cert, 0, sizeof *cert);
}
