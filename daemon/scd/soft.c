/*
 * The software token: a PKCS#12 file holding a P-256 key pair, under a
 * password derived from the PIN (or the PUK) and the device's platform
 * secret.  K = scrypt(PIN, HMAC-SHA-256(platform secret, token salt), N,
 * r, p); the password is the hex of K.  The file is AES-256-CBC with
 * PBKDF2 (2048 iterations: K is the strong part) and a SHA-256 MAC: a
 * wrong K fails the MAC, which is the verification failure.  With the
 * platform secret in the salt, a token's files copied to another device
 * open there with no PIN.
 *
 * Everything here runs on the worker thread: it may take a second.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "file.h"
#include "context.h"
#include "xmalloc.h"

/* The PKCS#12 file's own KDF and MAC iterations. */
#define SOFT_P12_ITER 2048
/* The largest token file read. */
#define SOFT_P12_MAX (64 * 1024)
#define SOFT_KEY_LEN 32

/* Sets *cause to what failed and OpenSSL's reason. */
static void
soft_error(char **cause, const char *what)
{
	char *e = crypto_openssl_error();

	xcause(cause, "%s: %s", what, e);
	free(e);
}

/*
 * Derives the file's password from secret: the hex of K (65 bytes with
 * the NUL).  0, or -1 with *cause.
 */
static int
soft_password(const char *secret, const struct scd_kdf *kdf,
    const unsigned char salt[SCD_SALT_LEN], const unsigned char *psecret,
    char pass[2 * SOFT_KEY_LEN + 1], char **cause)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char msalt[32], k[SOFT_KEY_LEN];
	unsigned int mlen = 0;
	uint64_t n = (uint64_t)1 << kdf->log2n;
	uint64_t maxmem;
	size_t i;

	if (HMAC(EVP_sha256(), psecret, SCD_PSECRET_LEN, salt, SCD_SALT_LEN,
	    msalt, &mlen) == NULL || mlen != sizeof msalt) {
		soft_error(cause, "HMAC-SHA-256 failed");
		return -1;
	}
	/* scrypt needs 128 r N bytes for V and 128 r p for B */
	maxmem = 128 * (uint64_t)kdf->r * (n + 2 + (uint64_t)kdf->p) +
	    (1 << 20);
	if (EVP_PBE_scrypt(secret, strlen(secret), msalt, sizeof msalt, n,
	    (uint64_t)kdf->r, (uint64_t)kdf->p, maxmem, k, sizeof k) != 1) {
		OPENSSL_cleanse(msalt, sizeof msalt);
		soft_error(cause, "scrypt failed");
		return -1;
	}
	OPENSSL_cleanse(msalt, sizeof msalt);
	for (i = 0; i < sizeof k; i++) {
		pass[2 * i] = hex[k[i] >> 4];
		pass[2 * i + 1] = hex[k[i] & 0xf];
	}
	pass[2 * sizeof k] = '\0';
	OPENSSL_cleanse(k, sizeof k);
	return 0;
}

EVP_PKEY *
soft_keygen(unsigned char pub[TOKENWRAP_PUB_LEN], char **cause)
{
	EVP_PKEY *key;

	if ((key = tokenwrap_keygen(cause)) == NULL)
		return NULL;
	if (tokenwrap_pub(key, pub, cause) == -1) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* A self-signed certificate for key, CN "cml token NAME". */
static X509 *
soft_cert(EVP_PKEY *key, const char *name, char **cause)
{
	X509 *x;
	X509_NAME *subj;
	ASN1_INTEGER *serial;
	unsigned char rnd[8];
	char *cn;
	BIGNUM *bn;
	int ok;

	if ((x = X509_new()) == NULL) {
		soft_error(cause, "cannot make a certificate");
		return NULL;
	}
	cn = xasprintf("cml token %s", name);
	(void)RAND_bytes(rnd, sizeof rnd);
	rnd[0] &= 0x7f;
	bn = BN_bin2bn(rnd, sizeof rnd, NULL);
	serial = X509_get_serialNumber(x);
	subj = X509_get_subject_name(x);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, serial) != NULL &&
	    X509_set_version(x, 2) == 1 &&
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) == 1 &&
	    X509_set_issuer_name(x, subj) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * 3650) !=
	    NULL && X509_set_pubkey(x, key) == 1 &&
	    X509_sign(x, key, EVP_sha256()) > 0;
	BN_free(bn);
	free(cn);
	if (!ok) {
		soft_error(cause, "cannot make the token's certificate");
		X509_free(x);
		return NULL;
	}
	return x;
}

int
soft_store(const char *dir, const char *file, const char *name,
    EVP_PKEY *key, const char *secret, const struct scd_kdf *kdf,
    const unsigned char salt[SCD_SALT_LEN], const unsigned char *psecret,
    char **cause)
{
	char pass[2 * SOFT_KEY_LEN + 1];
	unsigned char *der = NULL;
	PKCS12 *p12 = NULL;
	X509 *x;
	int len, ret = -1;

	if ((x = soft_cert(key, name, cause)) == NULL)
		return -1;
	if (soft_password(secret, kdf, salt, psecret, pass, cause) == -1)
		goto out;
	p12 = PKCS12_create(pass, NULL, key, x, NULL, NID_aes_256_cbc,
	    NID_aes_256_cbc, SOFT_P12_ITER, -1, 0);
	if (p12 == NULL || PKCS12_set_mac(p12, pass, -1, NULL, 0,
	    SOFT_P12_ITER, EVP_sha256()) != 1 ||
	    (len = i2d_PKCS12(p12, &der)) <= 0) {
		soft_error(cause, "cannot make the token's PKCS#12 file");
		goto out;
	}
	ret = file_write_atomic(dir, file, der, (size_t)len, 0600, cause);
	OPENSSL_free(der);
out:
	OPENSSL_cleanse(pass, sizeof pass);
	PKCS12_free(p12);
	X509_free(x);
	return ret;
}

int
soft_open(const char *dir, const char *file, const char *secret,
    const struct scd_kdf *kdf, const unsigned char salt[SCD_SALT_LEN],
    const unsigned char *psecret, EVP_PKEY **key, char **cause)
{
	char pass[2 * SOFT_KEY_LEN + 1], *path, *buf = NULL;
	const unsigned char *p;
	PKCS12 *p12 = NULL;
	X509 *x = NULL;
	size_t len;
	int ret = -1;

	*key = NULL;
	path = xasprintf("%s/%s", dir, file);
	if (file_read_small(AT_FDCWD, path, SOFT_P12_MAX, &buf, &len) == -1) {
		xcause(cause, "cannot read the token file %s: %s", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	p = (const unsigned char *)buf;
	if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
		xcause(cause, "the token file %s is damaged", path);
		goto out;
	}
	if (soft_password(secret, kdf, salt, psecret, pass, cause) == -1)
		goto out;
	if (PKCS12_verify_mac(p12, pass, -1) != 1) {
		ret = SOFT_WRONG;
		goto out;
	}
	if (PKCS12_parse(p12, pass, key, &x, NULL) != 1 || *key == NULL) {
		soft_error(cause, "cannot open the token file");
		EVP_PKEY_free(*key);
		*key = NULL;
		goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(pass, sizeof pass);
	X509_free(x);
	PKCS12_free(p12);
	free(buf);
	free(path);
	return ret;
}
