/*
 * The helpers the files of crypto/ share to name certificates, keys and
 * times in messages, and to check a certificate's validity period.  They
 * check no policy: policy.c does, and names what it refuses with these.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "log.h"
#include "crypto.h"
#include "x509.h"
#include "xmalloc.h"

char *
crypto_x509_name(const X509_NAME *name)
{
	BIO *bio;
	char *data, *s;
	long len;

	if (name == NULL)
		return xstrdup("");
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("out of memory in OpenSSL");
	/* RFC 2253 escapes control and non-ASCII bytes: safe in messages. */
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
		BIO_free(bio);
		ERR_clear_error();
		return xstrdup("(unprintable name)");
	}
	len = BIO_get_mem_data(bio, &data);
	s = xmalloc((size_t)len + 1);
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	BIO_free(bio);
	return s;
}

char *
crypto_x509_subject(const X509 *x)
{
	return crypto_x509_name(X509_get_subject_name(x));
}

char *
crypto_key_describe(EVP_PKEY *pkey)
{
	char group[80];
	const char *nist, *type;
	int nid;

	if (pkey == NULL)
		return xstrdup("unknown");
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return xasprintf("RSA-%d", EVP_PKEY_get_bits(pkey));
	case EVP_PKEY_RSA_PSS:
		return xasprintf("RSA-PSS-%d", EVP_PKEY_get_bits(pkey));
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof group,
		    NULL) != 1) {
			ERR_clear_error();
			return xstrdup("EC (explicit parameters)");
		}
		nid = OBJ_txt2nid(group);
		if (nid != NID_undef && (nist = EC_curve_nid2nist(nid)) != NULL)
			return xasprintf("EC %s", nist);
		return xasprintf("EC %s", group);
	default:
		if ((type = EVP_PKEY_get0_type_name(pkey)) == NULL &&
		    (type = OBJ_nid2sn(EVP_PKEY_get_base_id(pkey))) == NULL)
			type = "unknown";
		return xstrdup(type);
	}
}

int
crypto_x509_time(const ASN1_TIME *t, char *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		snprintf(out, CRYPTO_TIME_LEN, "(unreadable time)");
		return -1;
	}
	if (strftime(out, CRYPTO_TIME_LEN, "%Y-%m-%d %H:%M UTC", &tm) == 0) {
		snprintf(out, CRYPTO_TIME_LEN, "(unreadable time)");
		return -1;
	}
	return 0;
}

int
crypto_x509_check_time(X509 *x, const char *what, time_t now, char **cause)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x);
	const ASN1_TIME *na = X509_get0_notAfter(x);
	char when[CRYPTO_TIME_LEN], *subject;
	int before, after, rc = -1;

	subject = crypto_x509_subject(x);
	before = X509_cmp_time(nb, &now);
	after = X509_cmp_time(na, &now);
	if (before == 0 || after == 0) {
		ERR_clear_error();
		*cause = xasprintf("%s '%s' has an unreadable validity period",
		    what, subject);
		goto out;
	}
	if (before > 0) {
		crypto_x509_time(nb, when);
		*cause = xasprintf("%s '%s' is not yet valid: valid from %s "
		    "(is the system clock right?)", what, subject, when);
		goto out;
	}
	if (after < 0) {
		crypto_x509_time(na, when);
		*cause = xasprintf("%s '%s' expired on %s", what, subject,
		    when);
		goto out;
	}
	rc = 0;
out:
	free(subject);
	return rc;
}

EVP_PKEY *
crypto_der_pubkey(const unsigned char *der, size_t len, char **cause)
{
	const unsigned char *p = der;
	EVP_PKEY *key;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		X509_free(x);
		ERR_clear_error();
		*cause = xstrdup("the certificate is not valid DER");
		return NULL;
	}
	if ((key = X509_get_pubkey(x)) == NULL) {
		ERR_clear_error();
		*cause = xstrdup("the certificate's key cannot be read");
	}
	X509_free(x);
	return key;
}
