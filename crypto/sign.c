/*
 * Detached CMS signatures over files: what cml-sign makes and cmld checks.
 * DER, signed attributes (content type, signing time, message digest),
 * the signer certificate and its chain included.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "crypto.h"
#include "log.h"
#include "xmalloc.h"

/* Read buffer in front of the file being signed. */
#define SIGN_READ_BUF (1024 * 1024)

/* Opens path for reading as a BIO; NULL with *cause set. */
static BIO *
sign_open(const char *path, const char *what, char **cause)
{
	BIO *bio;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open %s %s: %s", what, path,
		    strerror(errno));
		return NULL;
	}
	if ((bio = BIO_new_fd(fd, BIO_CLOSE)) == NULL)
		fatalx("out of memory in OpenSSL");
	return bio;
}

/* Never asks for a passphrase: cml signs with unencrypted keys. */
static int
sign_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/* Reads a PEM private key; NULL with *cause set. */
static EVP_PKEY *
sign_load_key(const char *path, char **cause)
{
	EVP_PKEY *key;
	BIO *bio;
	char *e;

	if ((bio = sign_open(path, "private key", cause)) == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, sign_no_passphrase, NULL);
	BIO_free(bio);
	if (key == NULL) {
		e = crypto_openssl_error();
		*cause = xasprintf("cannot read the private key in %s (PEM, "
		    "not encrypted): %s", path, e);
		free(e);
	}
	return key;
}

/*
 * Reads the PEM certificates of a file (at least one); NULL with *cause
 * set.
 */
static STACK_OF(X509) *
sign_load_certs(const char *path, const char *what, char **cause)
{
	STACK_OF(X509) *certs;
	X509 *x;
	BIO *bio;
	unsigned long e;
	char *why;

	if ((bio = sign_open(path, what, cause)) == NULL)
		return NULL;
	if ((certs = sk_X509_new_null()) == NULL)
		fatalx("out of memory in OpenSSL");
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(certs, x) <= 0)
			fatalx("out of memory in OpenSSL");
	}
	/* The end of the file shows as "no start line"; all else is bad. */
	e = ERR_peek_last_error();
	if (sk_X509_num(certs) == 0 || !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		why = crypto_openssl_error();
		*cause = xasprintf("cannot read the %s in %s (PEM)%s%s", what,
		    path, *why != '\0' ? ": " : "", why);
		free(why);
		sk_X509_pop_free(certs, X509_free);
		certs = NULL;
	}
	ERR_clear_error();
	BIO_free(bio);
	return certs;
}

/*
 * The digest for a key: one of at least the strength of the key (SHA-384
 * for P-384, SHA-512 for P-521), or, for key types with a fixed digest,
 * OpenSSL's choice.
 */
static const EVP_MD *
sign_digest(EVP_PKEY *key)
{
	char group[80];
	int nid;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		return EVP_sha256();
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(key, group, sizeof group,
		    NULL) != 1) {
			ERR_clear_error();
			return EVP_sha256();
		}
		nid = OBJ_txt2nid(group);
		if (nid == NID_secp384r1 || nid == NID_brainpoolP384r1)
			return EVP_sha384();
		if (nid == NID_secp521r1 || nid == NID_brainpoolP512r1)
			return EVP_sha512();
		return EVP_sha256();
	default:
		return NULL;
	}
}

/* Adds the chain's certificates that the signature does not hold yet. */
static int
sign_add_chain(CMS_ContentInfo *cms, X509 *cert, STACK_OF(X509) *chain,
    char **cause)
{
	X509 *x;
	char *e;
	int i, j, dup;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		dup = X509_cmp(x, cert) == 0;
		for (j = 0; j < i && !dup; j++)
			dup = X509_cmp(x, sk_X509_value(chain, j)) == 0;
		if (dup)
			continue;
		if (CMS_add1_cert(cms, x) != 1) {
			e = crypto_openssl_error();
			*cause = xasprintf("cannot add the chain to the "
			    "signature: %s", e);
			free(e);
			return -1;
		}
	}
	return 0;
}

/* Writes the DER signature to a temporary file, then renames it to path. */
static int
sign_write(CMS_ContentInfo *cms, const char *path, char **cause)
{
	BIO *out = NULL;
	char *tmp, *e;
	int fd, rc = -1;

	tmp = xasprintf("%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot create %s: %s", path,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, 0644) == -1) {
		*cause = xasprintf("cannot set the mode of %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if ((out = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL)
		fatalx("out of memory in OpenSSL");
	if (i2d_CMS_bio(out, cms) != 1 || BIO_flush(out) != 1) {
		e = crypto_openssl_error();
		*cause = xasprintf("cannot write %s: %s", path,
		    *e != '\0' ? e : strerror(errno));
		free(e);
		goto out;
	}
	if (fsync(fd) == -1) {
		*cause = xasprintf("cannot write %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		*cause = xasprintf("cannot write %s: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		*cause = xasprintf("cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	BIO_free(out);
	if (fd != -1)
		close(fd);
	if (rc == -1)
		unlink(tmp);
	free(tmp);
	return rc;
}

/*
 * Signs what in reads (what names it in messages) with the key and
 * certificate (and chain) of the paths given: a detached CMS SignedData
 * in *out.  -1 with *cause set.
 */
static int
sign_bio(BIO *in, const char *what, const char *keypath,
    const char *certpath, const char *chainpath, CMS_ContentInfo **out,
    char **cause)
{
	const unsigned int flags = CMS_DETACHED | CMS_BINARY |
	    CMS_NOSMIMECAP | CMS_PARTIAL;
	STACK_OF(X509) *certs = NULL, *chain = NULL;
	CMS_ContentInfo *cms = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert;
	char *e;
	int rc = -1;

	if ((key = sign_load_key(keypath, cause)) == NULL)
		goto out;
	if ((certs = sign_load_certs(certpath, "certificate", cause)) == NULL)
		goto out;
	cert = sk_X509_value(certs, 0);
	if (chainpath != NULL && (chain = sign_load_certs(chainpath,
	    "chain certificates", cause)) == NULL)
		goto out;
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		*cause = xasprintf("the key in %s does not belong to the "
		    "certificate in %s", keypath, certpath);
		goto out;
	}
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    CMS_add1_signer(cms, cert, key, sign_digest(key), flags) == NULL) {
		e = crypto_openssl_error();
		*cause = xasprintf("cannot sign with the key in %s: %s",
		    keypath, e);
		free(e);
		goto out;
	}
	if (sign_add_chain(cms, cert, chain, cause) == -1)
		goto out;
	if (CMS_final(cms, in, NULL, flags) != 1) {
		e = crypto_openssl_error();
		*cause = xasprintf("cannot sign %s: %s", what,
		    *e != '\0' ? e : "read error");
		free(e);
		goto out;
	}
	*out = cms;
	cms = NULL;
	rc = 0;
out:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	return rc;
}

int
crypto_sign_file(const char *path, const char *keypath,
    const char *certpath, const char *chainpath, const char *outpath,
    char **cause)
{
	CMS_ContentInfo *cms = NULL;
	BIO *in, *buf;
	int rc = -1;

	if ((in = sign_open(path, "file", cause)) == NULL)
		return -1;
	/* CMS reads its input a KiB at a time: not a system call each. */
	if ((buf = BIO_new(BIO_f_buffer())) == NULL ||
	    BIO_set_read_buffer_size(buf, SIGN_READ_BUF) != 1)
		fatalx("out of memory in OpenSSL");
	in = BIO_push(buf, in);
	if (sign_bio(in, path, keypath, certpath, chainpath, &cms,
	    cause) == 0 && sign_write(cms, outpath, cause) == 0)
		rc = 0;
	ERR_clear_error();
	BIO_free_all(in);
	CMS_ContentInfo_free(cms);
	return rc;
}

int
crypto_sign_data(const void *data, size_t len, const char *keypath,
    const char *certpath, const char *chainpath, unsigned char **der,
    size_t *derlen, char **cause)
{
	CMS_ContentInfo *cms = NULL;
	unsigned char *p = NULL;
	BIO *in;
	int n, rc = -1;

	if (len > INT_MAX || (in = BIO_new_mem_buf(data, (int)len)) == NULL)
		fatalx("out of memory in OpenSSL");
	if (sign_bio(in, "the data", keypath, certpath, chainpath, &cms,
	    cause) == 0) {
		if ((n = i2d_CMS_ContentInfo(cms, &p)) <= 0)
			fatalx("cannot encode a signature: %s",
			    crypto_openssl_error());
		*der = xmalloc((size_t)n);
		memcpy(*der, p, (size_t)n);
		*derlen = (size_t)n;
		OPENSSL_free(p);
		rc = 0;
	}
	ERR_clear_error();
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return rc;
}

int
crypto_sign_bundle(int fd, const char *keypath, const char *certpath,
    const char *chainpath, char **cause)
{
	struct bundle_layout l;
	struct bundle_manifest m;
	unsigned char *sigs[BUNDLE_SIGS_MAX], *der = NULL;
	unsigned char trailer[BUNDLE_SIGS_MAX * BUNDLE_SIGENTRY_LEN +
	    BUNDLE_FOOTER_LEN];
	char *manifest = NULL;
	size_t derlen, n, i, nsigs;
	uint64_t at;
	int rc = -1;

	if (bundle_read(fd, &l, &manifest, &m, sigs, cause) == -1)
		return -1;
	nsigs = l.nsigs;
	if (l.nsigs == BUNDLE_SIGS_MAX) {
		xcause(cause, "it has %d signatures already", BUNDLE_SIGS_MAX);
		goto out;
	}
	if (crypto_sign_data(manifest, l.manifest_len, keypath, certpath,
	    chainpath, &der, &derlen, cause) == -1)
		goto out;
	if (derlen > BUNDLE_SIG_MAX) {
		xcause(cause, "a signature of %zu bytes: at most %d", derlen,
		    BUNDLE_SIG_MAX);
		goto out;
	}
	/*
	 * The new signature where the table was, then table and footer: what
	 * the other signers signed does not move.
	 */
	at = l.sigtable_offset;
	l.sigs[l.nsigs].offset = at;
	l.sigs[l.nsigs].len = (uint32_t)derlen;
	l.nsigs++;
	l.sigtable_offset = at + derlen;
	n = bundle_trailer(&l, trailer);
	if (pwrite(fd, der, derlen, (off_t)at) != (ssize_t)derlen ||
	    pwrite(fd, trailer, n, (off_t)(at + derlen)) != (ssize_t)n ||
	    ftruncate(fd, (off_t)(at + derlen + n)) == -1 || fsync(fd) == -1) {
		xcause(cause, "cannot write the signature: %s",
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(manifest);
	bundle_manifest_clear(&m);
	for (i = 0; i < nsigs; i++)
		free(sigs[i]);
	free(der);
	return rc;
}
