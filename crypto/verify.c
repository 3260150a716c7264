/*
 * Verification of detached CMS signatures against a set of trust anchors.
 *
 * Every check that can fail has its own message, because a refusal must
 * say why.  The checks run from the most specific to the most generic: the
 * structure, the algorithms (BSI TR-02102-1), what the signer certificate
 * is for, its validity period, its chain to an anchor, and last whether
 * the signature matches the data.  CMS_verify, with the trust store, has
 * the final word; by then only a signature that does not match the data
 * can fail it.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "log.h"
#include "policy.h"
#include "xmalloc.h"

struct crypto_trust {
	X509_STORE *store;
};

/* The data a signature covers, read through a BIO without copying it. */
struct verify_data {
	const unsigned char *p;
	size_t left;
};

struct crypto_trust *
crypto_trust_new(void)
{
	struct crypto_trust *trust;

	trust = xcalloc(1, sizeof *trust);
	if ((trust->store = X509_STORE_new()) == NULL)
		fatalx("out of memory in OpenSSL");
	/*
	 * What the signer may do (code signing) is checked here, not by
	 * OpenSSL's purposes; "any" also keeps CMS_verify from asking for
	 * S/MIME's emailProtection.  An anchor need not be self-signed: a
	 * registered intermediate CA is a trust anchor too.
	 */
	if (X509_STORE_set_purpose(trust->store, X509_PURPOSE_ANY) != 1 ||
	    X509_STORE_set_flags(trust->store, X509_V_FLAG_PARTIAL_CHAIN |
	    X509_V_FLAG_X509_STRICT) != 1)
		fatalx("cannot set up a trust store: %s",
		    crypto_openssl_error());
	return trust;
}

void
crypto_trust_free(struct crypto_trust *trust)
{
	if (trust == NULL)
		return;
	X509_STORE_free(trust->store);
	free(trust);
}

int
crypto_trust_add_der(struct crypto_trust *trust, const unsigned char *der,
    size_t len, char **cause)
{
	const unsigned char *p = der;
	X509 *x;
	char *e;
	int rc = -1;

	if (len == 0 || len > LONG_MAX ||
	    (x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		e = crypto_openssl_error();
		*cause = xasprintf("trust anchor is not a DER certificate%s%s",
		    *e != '\0' ? ": " : "", e);
		free(e);
		return -1;
	}
	if (p != der + len) {
		*cause = xstrdup("trust anchor has bytes after its DER "
		    "certificate");
		goto out;
	}
	if (X509_STORE_add_cert(trust->store, x) != 1) {
		e = crypto_openssl_error();
		*cause = xasprintf("cannot add a trust anchor: %s", e);
		free(e);
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	return rc;
}

void
crypto_signer_clear(struct crypto_signer *signer)
{
	if (signer == NULL)
		return;
	free(signer->subject);
	free(signer->issuer);
	memset(signer, 0, sizeof *signer);
}

/* Parses the signature: a DER CMS SignedData without its content. */
static CMS_ContentInfo *
verify_parse(const unsigned char *sig, size_t siglen, char **cause)
{
	const unsigned char *p = sig;
	CMS_ContentInfo *cms;
	int type;

	if (siglen == 0 || siglen > LONG_MAX ||
	    (cms = d2i_CMS_ContentInfo(NULL, &p, (long)siglen)) == NULL) {
		ERR_clear_error();
		*cause = xstrdup("signature is not a DER CMS (PKCS#7) "
		    "structure");
		return NULL;
	}
	if (p != sig + siglen) {
		*cause = xasprintf("signature has %zu bytes after its DER CMS "
		    "(PKCS#7) structure", (size_t)(sig + siglen - p));
		goto fail;
	}
	type = OBJ_obj2nid(CMS_get0_type(cms));
	if (type != NID_pkcs7_signed) {
		*cause = xasprintf("signature is a CMS structure of type %s, "
		    "not SignedData", OBJ_nid2sn(type) != NULL ?
		    OBJ_nid2sn(type) : "unknown");
		goto fail;
	}
	if (CMS_is_detached(cms) != 1) {
		*cause = xstrdup("signature is not detached: it carries its "
		    "own content (sign with a detached signature)");
		goto fail;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		*cause = xstrdup("signature covers content of a type other "
		    "than data");
		goto fail;
	}
	return cms;
fail:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	return NULL;
}

/* Returns the one SignerInfo; NULL with *cause set if not exactly one. */
static CMS_SignerInfo *
verify_signer_info(CMS_ContentInfo *cms, char **cause)
{
	STACK_OF(CMS_SignerInfo) *sis;
	int n;

	sis = CMS_get0_SignerInfos(cms);
	n = sis != NULL ? sk_CMS_SignerInfo_num(sis) : 0;
	if (n <= 0) {
		*cause = xstrdup("signature has no signer");
		return NULL;
	}
	if (n > 1) {
		*cause = xasprintf("signature has %d signers: cml accepts "
		    "exactly one", n);
		return NULL;
	}
	return sk_CMS_SignerInfo_value(sis, 0);
}

/* Finds the signer's certificate among those the signature carries. */
static X509 *
verify_find_signer(CMS_SignerInfo *si, STACK_OF(X509) *certs, char **cause)
{
	X509 *x;
	int i;

	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		x = sk_X509_value(certs, i);
		if (CMS_SignerInfo_cert_cmp(si, x) == 0)
			return x;
	}
	*cause = xstrdup("signature does not carry its signer's certificate: "
	    "sign with the certificate included");
	return NULL;
}

/*
 * Checks what the signer certificate is for: not a CA, and made for code
 * signing.
 */
static int
verify_signer_usage(X509 *x, const char *subject, char **cause)
{
	uint32_t flags, ku;

	flags = X509_get_extension_flags(x);
	ku = X509_get_key_usage(x);
	if ((flags & EXFLAG_CA) ||
	    ((flags & EXFLAG_KUSAGE) && (ku & KU_KEY_CERT_SIGN))) {
		*cause = xasprintf("signer certificate '%s' is a CA "
		    "certificate: signatures must come from a code-signing "
		    "certificate", subject);
		return -1;
	}
	if ((flags & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(x) & XKU_CODE_SIGN) == 0) {
		*cause = xasprintf("signer certificate '%s' is not for code "
		    "signing (no extendedKeyUsage codeSigning)", subject);
		return -1;
	}
	if ((flags & EXFLAG_KUSAGE) && (ku & KU_DIGITAL_SIGNATURE) == 0) {
		*cause = xasprintf("signer certificate '%s' may not sign "
		    "(its keyUsage lacks digitalSignature)", subject);
		return -1;
	}
	return 0;
}

/*
 * Checks that a CA of the chain may stand behind code signing: when it
 * limits its extended key usage, codeSigning must be among it.
 */
static int
verify_ca_usage(X509 *x, char **cause)
{
	uint32_t xku;
	char *subject;

	if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) == 0)
		return 0;
	xku = X509_get_extended_key_usage(x);
	if (xku & (XKU_CODE_SIGN | XKU_ANYEKU))
		return 0;
	subject = crypto_x509_subject(x);
	*cause = xasprintf("CA certificate '%s' is not for code signing "
	    "(its extendedKeyUsage lacks codeSigning)", subject);
	free(subject);
	return -1;
}

/*
 * Builds and checks the chain from the signer to an anchor, with the
 * certificates the signature carries as untrusted intermediates.  Time is
 * checked separately, so that an expired certificate is named as such.
 */
/*
 * Returns the earliest end of validity of the certificates of chain (all
 * valid at now): until then a signature verified now verifies the same.
 * now when one cannot be read.
 */
static time_t
verify_not_after(STACK_OF(X509) *chain, time_t now)
{
	struct tm tm;
	time_t t, min = (time_t)-1;
	int i, n = sk_X509_num(chain);

	for (i = 0; i < n; i++) {
		memset(&tm, 0, sizeof tm);
		if (ASN1_TIME_to_tm(X509_get0_notAfter(sk_X509_value(chain, i)),
		    &tm) != 1 || (t = timegm(&tm)) == (time_t)-1)
			return now;
		if (min == (time_t)-1 || t < min)
			min = t;
	}
	return min == (time_t)-1 ? now : min;
}

static int
verify_chain(struct crypto_trust *trust, X509 *x, STACK_OF(X509) *certs,
    const char *subject, time_t now, time_t *not_after, char **cause)
{
	X509_STORE_CTX *ctx;
	STACK_OF(X509) *chain;
	X509 *c;
	int ok, err, i, n, rc = -1;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, trust->store, x, certs) != 1)
		fatalx("cannot set up a certificate check: %s",
		    crypto_openssl_error());
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	ERR_clear_error();

	/* Even a chain that failed: a policy reason says more. */
	chain = X509_STORE_CTX_get0_chain(ctx);
	n = chain != NULL ? sk_X509_num(chain) : 0;
	for (i = 1; i < n; i++) {
		c = sk_X509_value(chain, i);
		if (crypto_policy_cert(c, cause) == -1 ||
		    verify_ca_usage(c, cause) == -1)
			goto out;
	}
	if (ok != 1) {
		*cause = xasprintf("signer certificate '%s' does not chain to "
		    "a trusted root: %s", subject,
		    X509_verify_cert_error_string(err != X509_V_OK ? err :
		    X509_V_ERR_UNSPECIFIED));
		goto out;
	}
	for (i = 1; i < n; i++) {
		c = sk_X509_value(chain, i);
		if (crypto_x509_check_time(c, i == n - 1 ? "trust anchor" :
		    "CA certificate", now, cause) == -1)
			goto out;
	}
	*not_after = verify_not_after(chain, now);
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	return rc;
}

/* Reads the next bytes of the data; 0 at its end. */
static int
verify_bio_read(BIO *bio, char *out, size_t outlen, size_t *nread)
{
	struct verify_data *d = BIO_get_data(bio);
	size_t n;

	n = outlen < d->left ? outlen : d->left;
	if (n > 0) {
		memcpy(out, d->p, n);
		d->p += n;
		d->left -= n;
	}
	*nread = n;
	return n > 0;
}

/* Answers what CMS asks a source BIO: end of data, bytes left, flush. */
static long
verify_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct verify_data *d = BIO_get_data(bio);

	switch (cmd) {
	case BIO_CTRL_EOF:
		return d->left == 0;
	case BIO_CTRL_PENDING:
		return d->left > LONG_MAX ? LONG_MAX : (long)d->left;
	case BIO_CTRL_FLUSH:
		return 1;
	default:
		return 0;
	}
}

/*
 * Runs CMS_verify over the data: the signer's chain once more, and whether
 * the signature matches the data.  A memory BIO would limit the data to
 * INT_MAX bytes, so the data is read through a BIO of its own.
 */
static int
verify_signature(struct crypto_trust *trust, CMS_ContentInfo *cms,
    const void *data, size_t len, const char *subject, char **cause)
{
	struct verify_data d = { data, len };
	BIO_METHOD *meth;
	BIO *in;
	unsigned long e;
	char *why;
	int rc = -1;

	/*
	 * A plain source/sink type: nothing looks this BIO up by type, and
	 * BIO_get_new_index would use up a process-wide index on every call.
	 */
	if ((meth = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "cml data")) == NULL ||
	    BIO_meth_set_read_ex(meth, verify_bio_read) != 1 ||
	    BIO_meth_set_ctrl(meth, verify_bio_ctrl) != 1 ||
	    (in = BIO_new(meth)) == NULL)
		fatalx("out of memory in OpenSSL");
	BIO_set_data(in, &d);
	BIO_set_init(in, 1);

	ERR_clear_error();
	if (CMS_verify(cms, NULL, trust->store, in, NULL,
	    CMS_BINARY | CMS_DETACHED) == 1) {
		rc = 0;
		goto out;
	}
	e = ERR_peek_last_error();
	why = crypto_openssl_error();
	if (ERR_GET_LIB(e) == ERR_LIB_CMS &&
	    (ERR_GET_REASON(e) == CMS_R_CONTENT_VERIFY_ERROR ||
	    ERR_GET_REASON(e) == CMS_R_VERIFICATION_FAILURE))
		*cause = xstrdup("signature does not match the data: the "
		    "file was changed after signing or the signature belongs "
		    "to another file");
	else if (ERR_GET_LIB(e) == ERR_LIB_CMS &&
	    ERR_GET_REASON(e) == CMS_R_CERTIFICATE_VERIFY_ERROR)
		*cause = xasprintf("signer certificate '%s' does not chain to "
		    "a trusted root: %s", subject, why);
	else
		*cause = xasprintf("signature cannot be verified: %s", why);
	free(why);
out:
	BIO_free(in);
	BIO_meth_free(meth);
	return rc;
}

/* Fills in who signed. */
static void
verify_fill_signer(X509 *x, struct crypto_signer *signer)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	signer->subject = crypto_x509_subject(x);
	signer->issuer = crypto_x509_name(X509_get_issuer_name(x));
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 ||
	    mdlen != CRYPTO_SHA256_LEN)
		fatalx("SHA-256 failed: %s", crypto_openssl_error());
	crypto_hex(md, mdlen, signer->fingerprint);
}

int
crypto_verify_detached(struct crypto_trust *trust, const void *data,
    size_t len, const void *sig, size_t siglen, struct crypto_signer *signer,
    char **cause)
{
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	STACK_OF(X509) *certs = NULL;
	X509_ALGOR *dig, *alg;
	X509 *x;
	char *subject = NULL;
	time_t now = time(NULL), not_after;
	int rc = -1;

	memset(signer, 0, sizeof *signer);
	if ((cms = verify_parse(sig, siglen, cause)) == NULL)
		return -1;
	if ((si = verify_signer_info(cms, cause)) == NULL)
		goto out;
	certs = CMS_get1_certs(cms);
	if ((x = verify_find_signer(si, certs, cause)) == NULL)
		goto out;
	subject = crypto_x509_subject(x);

	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &alg);
	if (crypto_policy_digest(OBJ_obj2nid(dig->algorithm),
	    "signature digest", cause) == -1 ||
	    crypto_policy_sigalg(alg, cause) == -1 ||
	    crypto_policy_cert(x, cause) == -1)
		goto out;
	if (verify_signer_usage(x, subject, cause) == -1)
		goto out;
	if (crypto_x509_check_time(x, "signer certificate", now, cause) == -1)
		goto out;
	if (verify_chain(trust, x, certs, subject, now, &not_after,
	    cause) == -1)
		goto out;
	if (verify_signature(trust, cms, data, len, subject, cause) == -1)
		goto out;
	verify_fill_signer(x, signer);
	signer->not_after = not_after;
	rc = 0;
out:
	ERR_clear_error();
	free(subject);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	return rc;
}
