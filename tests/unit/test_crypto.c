/*
 * Unit tests of crypto/: certificates and trust anchors, detached CMS
 * signatures (made with crypto_sign_file and with the openssl tool) and
 * every reason verification refuses one for, and streaming SHA-256.
 *
 * The PKIs are real ones, made by provisioning/cml-mkpki in a temporary
 * directory that the tests run in: "a" (ECDSA P-384, with deliberately bad
 * certificates from `cml-mkpki leaf`), "r" (RSA-3072) and "o" (ECDSA P-384 of
 * another organization, trusted by nobody).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "crypto.h"
#include "xmalloc.h"

#define MKPKI CML_SRCDIR "/provisioning/cml-mkpki"

/* The data every signature in these tests covers. */
#define DATA "name=busybox version=1.2.0\n"

#define SIGNER "CN=cml software signer,O=cml"
#define RSA_SIGNER "CN=cml other software signer,O=cml other"

#define BSI_CURVES "(BSI TR-02102-1: P-256, P-384, P-521, " \
	"brainpoolP256r1/384r1/512r1)"
#define BSI_DIGEST "is not allowed (BSI TR-02102-1): use SHA-256 or stronger"

/* Where the fixture lives, and where the tests came from. */
struct fixture {
	char dir[PATH_MAX];
	char cwd[PATH_MAX];
};

static struct fixture fixture;

/* Runs a shell command in the fixture directory; returns its exit status. */
static int
sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) == -1)
		abort();
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc)) {
		fprintf(stderr, "test_crypto: cannot run: %s\n", cmd);
		free(cmd);
		return -1;
	}
	free(cmd);
	return WEXITSTATUS(rc);
}

/* Writes len bytes to a new file. */
static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(path, "wb"));
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Reads a whole file; the caller frees. */
static unsigned char *
read_file(const char *path, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	FILE *f;

	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = xmalloc((size_t)st.st_size + 1);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	assert_int_equal(*len, (size_t)st.st_size);
	fclose(f);
	return buf;
}

static int group_teardown(void **state);

static int
group_setup(void **state)
{
	static const char *const leaves[] = {
		"exp --expired",
		"nyv --not-yet-valid",
		"nocs --no-codesign",
		"ca --ca",
		"s1 --sha1",
		"r2k --rsa 2048",
		"k1 --ec secp256k1",
		"cae --ca --ed25519",
		"caexp --ca --expired",
		"car2k --ca --rsa 2048",
	};
	char tmpl[] = "/tmp/test_crypto.XXXXXX";
	size_t i;

	if (getcwd(fixture.cwd, sizeof fixture.cwd) == NULL ||
	    mkdtemp(tmpl) == NULL || chdir(tmpl) == -1) {
		fprintf(stderr, "test_crypto: cannot make a temporary "
		    "directory: %s\n", strerror(errno));
		return -1;
	}
	snprintf(fixture.dir, sizeof fixture.dir, "%s", tmpl);
	if (sh("'%s' a >/dev/null", MKPKI) != 0 ||
	    sh("'%s' --algo rsa-3072 --org 'cml other' r >/dev/null",
	    MKPKI) != 0 ||
	    sh("'%s' --org elsewhere o >/dev/null", MKPKI) != 0)
		goto fail;
	for (i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
		if (sh("'%s' leaf a %s", MKPKI, leaves[i]) != 0)
			goto fail;
	}
	if (sh("openssl x509 -in a/root.crt -outform DER -out root.der") != 0)
		goto fail;
	write_file("data", DATA, strlen(DATA));
	*state = &fixture;
	return 0;
fail:
	fprintf(stderr, "test_crypto: cannot make the test PKIs with %s\n",
	    MKPKI);
	group_teardown(state);
	return -1;
}

static int
group_teardown(void **state)
{
	if (fixture.dir[0] != '\0') {
		if (chdir(fixture.cwd) == -1)
			return -1;
		if (sh("rm -rf '%s'", fixture.dir) != 0)
			return -1;
	}
	return 0;
}

/* A trust store holding the certificate files given, NULL-terminated. */
static struct crypto_trust *
trust_with(const char *path, ...)
{
	struct crypto_trust *trust;
	struct crypto_cert cert;
	char *cause = NULL;
	va_list ap;

	trust = crypto_trust_new();
	va_start(ap, path);
	for (; path != NULL; path = va_arg(ap, const char *)) {
		assert_int_equal(crypto_cert_load(path, &cert, &cause), 0);
		assert_int_equal(crypto_trust_add_der(trust, cert.der,
		    cert.der_len, &cause), 0);
		crypto_cert_clear(&cert);
	}
	va_end(ap);
	return trust;
}

/* Signs "data" with a certificate of PKI a (NAME.key, NAME.crt, chain). */
static void
sign_a(const char *name, const char *out)
{
	char key[64], crt[64], *cause = NULL;

	snprintf(key, sizeof key, "a/%s.key", name);
	snprintf(crt, sizeof crt, "a/%s.crt", name);
	if (crypto_sign_file("data", key, crt, "a/chain.pem", out,
	    &cause) != 0)
		fail_msg("signing with %s: %s", name, cause);
}

/*
 * Verifies data against the signature in sigpath; returns
 * crypto_verify_detached's result with *cause or *signer filled in.
 */
static int
verify(struct crypto_trust *trust, const void *data, size_t len,
    const char *sigpath, struct crypto_signer *signer, char **cause)
{
	unsigned char *sig;
	size_t siglen;
	int rc;

	sig = read_file(sigpath, &siglen);
	rc = crypto_verify_detached(trust, data, len, sig, siglen, signer,
	    cause);
	free(sig);
	return rc;
}

/* Expects DATA and sigpath to be refused by the root of a with msg. */
static void
refused_a(const char *sigpath, const char *msg)
{
	struct crypto_trust *trust = trust_with("a/root.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL;

	assert_int_equal(verify(trust, DATA, strlen(DATA), sigpath, &signer,
	    &cause), -1);
	assert_string_equal(cause, msg);
	assert_null(signer.subject);
	free(cause);
	crypto_trust_free(trust);
}

/* Expects s to start with prefix (what follows comes from OpenSSL). */
static void
assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("'%s' does not start with '%s'", s, prefix);
}

/* The SHA-256 of a buffer, as hex, computed with OpenSSL in one go. */
static void
oneshot_hex(const void *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	assert_int_equal(EVP_Digest(data, len, md, &mdlen, EVP_sha256(),
	    NULL), 1);
	assert_int_equal(mdlen, CRYPTO_SHA256_LEN);
	crypto_hex(md, mdlen, hex);
}

/* The digest algorithm (NID) of the one signer of a DER CMS file. */
static int
signature_digest(const char *path)
{
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	X509_ALGOR *dig;
	const unsigned char *p;
	unsigned char *der;
	size_t len;
	int nid;

	der = read_file(path, &len);
	p = der;
	assert_non_null(cms = d2i_CMS_ContentInfo(NULL, &p, (long)len));
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	nid = OBJ_obj2nid(dig->algorithm);
	CMS_ContentInfo_free(cms);
	free(der);
	return nid;
}

/* --- crypto_openssl_error ----------------------------------------------- */

/* Proves: none (OpenSSL's error text). */
static void
test_openssl_error_empty_queue_empty_string(void **state)
{
	char *e;

	ERR_clear_error();
	e = crypto_openssl_error();
	assert_string_equal(e, "");
	free(e);
}

/* Proves: none (OpenSSL's error text). */
static void
test_openssl_error_queued_described_and_cleared(void **state)
{
	const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01 };
	const unsigned char *p = junk;
	char *e;

	assert_null(d2i_X509(NULL, &p, sizeof junk));
	e = crypto_openssl_error();
	assert_true(strlen(e) > 0);
	assert_null(strchr(e, '\n'));
	assert_int_equal(ERR_peek_error(), 0);
	free(e);
}

/* --- certificates and anchors ------------------------------------------- */

/* Proves: none (certificate fields read). */
static void
test_cert_load_pem_fields_filled(void **state)
{
	struct crypto_cert cert;
	char *cause = NULL, hex[CRYPTO_SHA256_HEX];

	assert_int_equal(crypto_cert_load("a/root.crt", &cert, &cause), 0);
	assert_string_equal(cert.subject, "CN=cml root CA,O=cml");
	assert_string_equal(cert.issuer, "CN=cml root CA,O=cml");
	assert_string_equal(cert.key, "EC P-384");
	assert_int_equal(cert.is_ca, 1);
	/* cml-mkpki: a root is valid for 7305 days (20 years). */
	assert_true(cert.not_after - cert.not_before == 7305LL * 86400);
	assert_true(cert.not_before <= (long long)time(NULL));
	oneshot_hex(cert.der, cert.der_len, hex);
	assert_string_equal(cert.fingerprint, hex);
	crypto_cert_clear(&cert);
	assert_null(cert.subject);
}

/* Proves: none (DER and PEM read alike). */
static void
test_cert_load_der_same_as_pem(void **state)
{
	struct crypto_cert pem, der;
	char *cause = NULL;

	assert_int_equal(crypto_cert_load("a/root.crt", &pem, &cause), 0);
	assert_int_equal(crypto_cert_load("root.der", &der, &cause), 0);
	assert_string_equal(pem.fingerprint, der.fingerprint);
	assert_string_equal(pem.subject, der.subject);
	assert_int_equal(pem.der_len, der.der_len);
	crypto_cert_clear(&pem);
	crypto_cert_clear(&der);
}

/* Proves: none (key descriptions). */
static void
test_cert_load_rsa_key_described(void **state)
{
	struct crypto_cert cert;
	char *cause = NULL;

	assert_int_equal(crypto_cert_load("r/signer.crt", &cert, &cause), 0);
	assert_string_equal(cert.key, "RSA-3072");
	assert_string_equal(cert.subject, RSA_SIGNER);
	assert_string_equal(cert.issuer,
	    "CN=cml other software signing CA,O=cml other");
	assert_int_equal(cert.is_ca, 0);
	crypto_cert_clear(&cert);
	assert_int_equal(crypto_cert_load("a/k1.crt", &cert, &cause), 0);
	assert_string_equal(cert.key, "EC secp256k1");
	crypto_cert_clear(&cert);
}

/* Proves: none (a missing file named). */
static void
test_cert_load_missing_file_refused(void **state)
{
	struct crypto_cert cert;
	char *cause = NULL;

	assert_int_equal(crypto_cert_load("nosuch.crt", &cert, &cause), -1);
	assert_string_equal(cause,
	    "cannot open nosuch.crt: No such file or directory");
	free(cause);
}

/* Proves: NDR 3.13 (a file that is no certificate is refused). */
static void
test_cert_load_garbage_refused(void **state)
{
	struct crypto_cert cert;
	char *cause = NULL;

	write_file("junk.crt", "hello\n", 6);
	assert_int_equal(crypto_cert_load("junk.crt", &cert, &cause), -1);
	assert_prefix(cause, "junk.crt holds no PEM or DER certificate: not "
	    "a DER certificate: ");
	free(cause);
	write_file("junk.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n", 34);
	assert_int_equal(crypto_cert_load("junk.crt", &cert, &cause), -1);
	assert_prefix(cause, "junk.crt holds no PEM certificate: ");
	free(cause);
}

/* Proves: NDR 3.13 (bytes after the certificate refused). */
static void
test_cert_from_der_trailing_bytes_refused(void **state)
{
	struct crypto_cert cert;
	unsigned char *der;
	size_t len;
	char *cause = NULL;

	der = read_file("root.der", &len);
	assert_int_equal(crypto_cert_from_der(der, len, &cert, &cause), 0);
	crypto_cert_clear(&cert);
	der = xreallocarray(der, len + 1, 1);
	der[len] = 0;
	assert_int_equal(crypto_cert_from_der(der, len + 1, &cert, &cause),
	    -1);
	assert_string_equal(cause, "1 bytes follow the DER certificate");
	free(cause);
	free(der);
}

/* Expects the anchor check of a certificate file to give msg (or pass). */
static void
anchor(const char *path, const char *msg)
{
	struct crypto_cert cert;
	char *cause = NULL;

	assert_int_equal(crypto_cert_load(path, &cert, &cause), 0);
	if (msg == NULL)
		assert_int_equal(crypto_cert_check_anchor(&cert, &cause), 0);
	else {
		assert_int_equal(crypto_cert_check_anchor(&cert, &cause), -1);
		assert_string_equal(cause, msg);
		free(cause);
	}
	crypto_cert_clear(&cert);
}

/* Proves: NDR 3.13 (CA certificates become trust anchors), OS 03. */
static void
test_anchor_ca_certificates_accepted(void **state)
{
	anchor("a/root.crt", NULL);
	anchor("a/swca.crt", NULL);
	anchor("a/devca.crt", NULL);
	anchor("r/root.crt", NULL);
}

/* Proves: NDR 3.13 (only CA certificates become trust anchors), OS 03. */
static void
test_anchor_leaf_refused(void **state)
{
	anchor("a/signer.crt", "certificate '" SIGNER "' is not a CA "
	    "certificate: a trust anchor needs basicConstraints CA:TRUE");
	anchor("a/nocs.crt", "certificate 'CN=nocs,O=cml' is not a CA "
	    "certificate: a trust anchor needs basicConstraints CA:TRUE");
}

/* Proves: NDR 3.13 (an expired CA refused), OS 03. */
static void
test_anchor_expired_refused(void **state)
{
	anchor("a/caexp.crt", "certificate 'CN=caexp,O=cml' expired on "
	    "2025-01-01 00:00 UTC");
}

/* Proves: NDR 3.13, COM 03 (RSA-2048 and Ed25519 anchors refused), CR 4.3. */
static void
test_anchor_weak_keys_refused(void **state)
{
	anchor("a/car2k.crt", "RSA key of 2048 bits in 'CN=car2k,O=cml' is "
	    "too weak (BSI TR-02102-1: at least 3072)");
	anchor("a/cae.crt", "key type ED25519 of 'CN=cae,O=cml' is not "
	    "allowed (BSI TR-02102-1 in cml: ECDSA, or RSA of at least 3072 "
	    "bits)");
}

/* Proves: none (a stored anchor that is no certificate). */
static void
test_trust_add_der_garbage_refused(void **state)
{
	struct crypto_trust *trust = crypto_trust_new();
	char *cause = NULL;

	assert_int_equal(crypto_trust_add_der(trust,
	    (const unsigned char *)"x", 1, &cause), -1);
	assert_prefix(cause, "trust anchor is not a DER certificate");
	free(cause);
	crypto_trust_free(trust);
	crypto_trust_free(NULL);
}

/* --- signing ------------------------------------------------------------ */

/* Proves: COM 03 (cml-sign: P-384 with SHA-384), CR 4.3. */
static void
test_sign_ec_p384_verifies_with_openssl(void **state)
{
	sign_a("signer", "ec.p7s");
	assert_int_equal(signature_digest("ec.p7s"), NID_sha384);
	assert_int_equal(sh("openssl cms -verify -binary -inform DER "
	    "-content data -in ec.p7s -CAfile a/root.crt -purpose any "
	    "-out /dev/null 2>/dev/null"), 0);
	/* The same check fails for other data: the test can fail. */
	write_file("other", "x", 1);
	assert_int_not_equal(sh("openssl cms -verify -binary -inform DER "
	    "-content other -in ec.p7s -CAfile a/root.crt -purpose any "
	    "-out /dev/null 2>/dev/null"), 0);
}

/* Proves: COM 03 (cml-sign: RSA-3072 with SHA-256), CR 4.3. */
static void
test_sign_rsa_3072_verifies_with_openssl(void **state)
{
	char *cause = NULL;

	assert_int_equal(crypto_sign_file("data", "r/signer.key",
	    "r/signer.crt", "r/chain.pem", "rsa.p7s", &cause), 0);
	assert_int_equal(signature_digest("rsa.p7s"), NID_sha256);
	assert_int_equal(sh("openssl cms -verify -binary -inform DER "
	    "-content data -in rsa.p7s -CAfile r/root.crt -purpose any "
	    "-out /dev/null 2>/dev/null"), 0);
}

/* Proves: none (cml-sign checks its inputs). */
static void
test_sign_key_of_other_cert_refused(void **state)
{
	char *cause = NULL;

	assert_int_equal(crypto_sign_file("data", "a/signer.key",
	    "r/signer.crt", NULL, "x.p7s", &cause), -1);
	assert_string_equal(cause, "the key in a/signer.key does not belong "
	    "to the certificate in r/signer.crt");
	free(cause);
	assert_int_equal(access("x.p7s", F_OK), -1);
}

/* Proves: none (cml-sign checks its inputs). */
static void
test_sign_missing_inputs_refused(void **state)
{
	char *cause = NULL;

	assert_int_equal(crypto_sign_file("nosuch", "a/signer.key",
	    "a/signer.crt", NULL, "x.p7s", &cause), -1);
	assert_string_equal(cause,
	    "cannot open file nosuch: No such file or directory");
	free(cause);
	assert_int_equal(crypto_sign_file("data", "nosuch.key",
	    "a/signer.crt", NULL, "x.p7s", &cause), -1);
	assert_string_equal(cause,
	    "cannot open private key nosuch.key: No such file or directory");
	free(cause);
	assert_int_equal(crypto_sign_file("data", "a/signer.key",
	    "a/signer.key", NULL, "x.p7s", &cause), -1);
	assert_prefix(cause, "cannot read the certificate in "
	    "a/signer.key (PEM)");
	free(cause);
	assert_int_equal(crypto_sign_file("data", "a/signer.crt",
	    "a/signer.crt", NULL, "x.p7s", &cause), -1);
	assert_prefix(cause, "cannot read the private key in "
	    "a/signer.crt (PEM, not encrypted): ");
	free(cause);
	assert_int_equal(access("x.p7s", F_OK), -1);
}

/* Proves: none (a chain with duplicates still verifies). */
static void
test_sign_chain_with_signer_duplicate_verified(void **state)
{
	struct crypto_trust *trust = trust_with("a/root.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL;

	assert_int_equal(sh("cat a/signer.crt a/swca.crt a/swca.crt > "
	    "dup.pem"), 0);
	assert_int_equal(crypto_sign_file("data", "a/signer.key",
	    "a/signer.crt", "dup.pem", "dup.p7s", &cause), 0);
	assert_int_equal(verify(trust, DATA, strlen(DATA), "dup.p7s",
	    &signer, &cause), 0);
	assert_string_equal(signer.subject, SIGNER);
	crypto_signer_clear(&signer);
	crypto_trust_free(trust);
}

/* --- verification: what passes ------------------------------------------ */

/*
 * Proves: CR 3.4(1) (verified up to the registered root; the signer named;
 * how long the verification holds).
 */
static void
test_verify_good_ec_signature_verified(void **state)
{
	struct crypto_trust *trust = trust_with("a/root.crt", NULL);
	struct crypto_signer signer;
	struct crypto_cert cert;
	char *cause = NULL;
	long long min;

	sign_a("signer", "good.p7s");
	assert_int_equal(verify(trust, DATA, strlen(DATA), "good.p7s",
	    &signer, &cause), 0);
	assert_null(cause);
	assert_string_equal(signer.subject, SIGNER);
	assert_string_equal(signer.issuer,
	    "CN=cml software signing CA,O=cml");
	assert_int_equal(crypto_cert_load("a/signer.crt", &cert, &cause), 0);
	assert_string_equal(signer.fingerprint, cert.fingerprint);
	/* valid until the first certificate on the chain ends */
	min = cert.not_after;
	crypto_cert_clear(&cert);
	assert_int_equal(crypto_cert_load("a/swca.crt", &cert, &cause), 0);
	min = cert.not_after < min ? cert.not_after : min;
	crypto_cert_clear(&cert);
	assert_int_equal(crypto_cert_load("a/root.crt", &cert, &cause), 0);
	min = cert.not_after < min ? cert.not_after : min;
	crypto_cert_clear(&cert);
	assert_true(min > time(NULL));
	assert_int_equal((long long)signer.not_after, min);
	crypto_signer_clear(&signer);
	assert_null(signer.subject);
	crypto_trust_free(trust);
}

/* Proves: CR 3.4(1) (verified up to the second of two anchors). */
static void
test_verify_good_rsa_signature_verified(void **state)
{
	struct crypto_trust *trust;
	struct crypto_signer signer;
	char *cause = NULL;

	assert_int_equal(crypto_sign_file("data", "r/signer.key",
	    "r/signer.crt", "r/chain.pem", "rsa2.p7s", &cause), 0);
	/* Two anchors: the signature chains to the second. */
	trust = trust_with("a/root.crt", "r/root.crt", NULL);
	assert_int_equal(verify(trust, DATA, strlen(DATA), "rsa2.p7s",
	    &signer, &cause), 0);
	assert_string_equal(signer.subject, RSA_SIGNER);
	crypto_signer_clear(&signer);
	crypto_trust_free(trust);
}

/* Proves: none (a signature made by the openssl tool verifies). */
static void
test_verify_openssl_made_signature_verified(void **state)
{
	struct crypto_trust *trust = trust_with("a/root.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL;

	assert_int_equal(sh("openssl cms -sign -binary -in data -signer "
	    "a/signer.crt -inkey a/signer.key -certfile a/chain.pem "
	    "-outform DER -out cli.p7s"), 0);
	assert_int_equal(verify(trust, DATA, strlen(DATA), "cli.p7s",
	    &signer, &cause), 0);
	assert_string_equal(signer.subject, SIGNER);
	crypto_signer_clear(&signer);
	crypto_trust_free(trust);
}

/* Proves: CR 1.8 (a registered intermediate CA is an anchor). */
static void
test_verify_intermediate_anchor_verified(void **state)
{
	struct crypto_trust *trust = trust_with("a/swca.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL;

	sign_a("signer", "good.p7s");
	assert_int_equal(verify(trust, DATA, strlen(DATA), "good.p7s",
	    &signer, &cause), 0);
	assert_string_equal(signer.subject, SIGNER);
	crypto_signer_clear(&signer);
	crypto_trust_free(trust);
}

/* Proves: CR 3.4(1) (a signature of nothing does not cover one byte). */
static void
test_verify_empty_file_verified(void **state)
{
	struct crypto_trust *trust = trust_with("a/root.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL;

	write_file("empty", "", 0);
	assert_int_equal(crypto_sign_file("empty", "a/signer.key",
	    "a/signer.crt", "a/chain.pem", "empty.p7s", &cause), 0);
	assert_int_equal(verify(trust, NULL, 0, "empty.p7s", &signer,
	    &cause), 0);
	crypto_signer_clear(&signer);
	assert_int_equal(verify(trust, "x", 1, "empty.p7s", &signer, &cause),
	    -1);
	free(cause);
	crypto_trust_free(trust);
}

/* Proves: none (verification does not wear out). */
static void
test_verify_many_times_still_verified(void **state)
{
	struct crypto_trust *trust = trust_with("a/root.crt", NULL);
	struct crypto_signer signer;
	unsigned char *sig;
	size_t siglen;
	char *cause = NULL;
	int i;

	/* A daemon verifies for as long as it runs: nothing may wear out. */
	sign_a("signer", "good.p7s");
	sig = read_file("good.p7s", &siglen);
	for (i = 0; i < 300; i++) {
		if (crypto_verify_detached(trust, DATA, strlen(DATA), sig,
		    siglen, &signer, &cause) != 0)
			fail_msg("verification %d: %s", i, cause);
		crypto_signer_clear(&signer);
	}
	free(sig);
	crypto_trust_free(trust);
}

/* --- verification: every refusal ---------------------------------------- */

/* Proves: CR 3.4(1) (changed data refused), APS 01, NDR 2.4(1). */
static void
test_verify_modified_data_mismatch(void **state)
{
	struct crypto_trust *trust = trust_with("a/root.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL, *data;

	sign_a("signer", "good.p7s");
	data = xstrdup(DATA);
	data[0] ^= 1;
	assert_int_equal(verify(trust, data, strlen(data), "good.p7s",
	    &signer, &cause), -1);
	assert_string_equal(cause, "signature does not match the data: the "
	    "file was changed after signing or the signature belongs to "
	    "another file");
	free(cause);
	/* One byte more is a change too. */
	assert_int_equal(verify(trust, DATA "x", strlen(DATA) + 1,
	    "good.p7s", &signer, &cause), -1);
	assert_prefix(cause, "signature does not match the data");
	free(cause);
	free(data);
	crypto_trust_free(trust);
}

/*
 * Proves: CR 1.8 (no chain to a registered anchor: refused), OS 03, CR 3.4(1),
 * NDR 2.4(1).
 */
static void
test_verify_untrusted_root_no_chain(void **state)
{
	char *cause = NULL;

	assert_int_equal(crypto_sign_file("data", "o/signer.key",
	    "o/signer.crt", "o/chain.pem", "o.p7s", &cause), 0);
	refused_a("o.p7s", "signer certificate 'CN=elsewhere software "
	    "signer,O=elsewhere' does not chain to a trusted root: unable to "
	    "get local issuer certificate");
}

/*
 * Proves: CR 1.8 (a root carried in the signature is not trusted), OS 03,
 * CR 3.4(1).
 */
static void
test_verify_carried_unregistered_root_no_chain(void **state)
{
	char *cause = NULL;

	/* The signature carries its own root: that makes nothing trusted. */
	assert_int_equal(sh("cat o/chain.pem o/root.crt > o-full.pem"), 0);
	assert_int_equal(crypto_sign_file("data", "o/signer.key",
	    "o/signer.crt", "o-full.pem", "o-full.p7s", &cause), 0);
	refused_a("o-full.p7s", "signer certificate 'CN=elsewhere software "
	    "signer,O=elsewhere' does not chain to a trusted root: "
	    "self-signed certificate in certificate chain");
}

/* Proves: CR 1.8 (the chain is checked first). */
static void
test_verify_untrusted_and_modified_chain_first(void **state)
{
	struct crypto_trust *trust = trust_with("a/root.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL;

	assert_int_equal(crypto_sign_file("data", "o/signer.key",
	    "o/signer.crt", "o/chain.pem", "o.p7s", &cause), 0);
	assert_int_equal(verify(trust, "changed", 7, "o.p7s", &signer,
	    &cause), -1);
	assert_prefix(cause, "signer certificate 'CN=elsewhere "
	    "software signer,O=elsewhere' does not chain");
	free(cause);
	crypto_trust_free(trust);
}

/* Proves: CR 1.8 (without anchors nothing verifies), CR 3.4(1). */
static void
test_verify_no_anchors_no_chain(void **state)
{
	struct crypto_trust *trust = crypto_trust_new();
	struct crypto_signer signer;
	char *cause = NULL;

	sign_a("signer", "good.p7s");
	assert_int_equal(verify(trust, DATA, strlen(DATA), "good.p7s",
	    &signer, &cause), -1);
	assert_string_equal(cause, "signer certificate '" SIGNER "' does not "
	    "chain to a trusted root: unable to get local issuer "
	    "certificate");
	free(cause);
	crypto_trust_free(trust);
}

/* Proves: CR 1.8 (a signature without its chain is refused). */
static void
test_verify_without_chain_no_chain(void **state)
{
	char *cause = NULL;

	assert_int_equal(crypto_sign_file("data", "a/signer.key",
	    "a/signer.crt", NULL, "nochain.p7s", &cause), 0);
	refused_a("nochain.p7s", "signer certificate '" SIGNER "' does not "
	    "chain to a trusted root: unable to get local issuer "
	    "certificate");
}

/* Proves: CR 1.8 (validity checked). */
static void
test_verify_expired_signer_refused(void **state)
{
	sign_a("exp", "exp.p7s");
	refused_a("exp.p7s", "signer certificate 'CN=exp,O=cml' expired on "
	    "2025-01-01 00:00 UTC");
}

/* Proves: CR 1.8 (validity checked). */
static void
test_verify_not_yet_valid_signer_refused(void **state)
{
	struct crypto_cert cert;
	char *cause = NULL, *want, when[32];
	time_t nb;

	assert_int_equal(crypto_cert_load("a/nyv.crt", &cert, &cause), 0);
	nb = (time_t)cert.not_before;
	assert_true(strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC",
	    gmtime(&nb)) > 0);
	crypto_cert_clear(&cert);
	want = xasprintf("signer certificate 'CN=nyv,O=cml' is not yet "
	    "valid: valid from %s (is the system clock right?)", when);
	sign_a("nyv", "nyv.p7s");
	refused_a("nyv.p7s", want);
	free(want);
}

/* Proves: CR 1.8 (key usage checked). */
static void
test_verify_no_codesigning_refused(void **state)
{
	sign_a("nocs", "nocs.p7s");
	refused_a("nocs.p7s", "signer certificate 'CN=nocs,O=cml' is not for "
	    "code signing (no extendedKeyUsage codeSigning)");
}

/* Proves: CR 1.8 (CA constraints checked). */
static void
test_verify_ca_signer_refused(void **state)
{
	sign_a("ca", "ca.p7s");
	refused_a("ca.p7s", "signer certificate 'CN=ca,O=cml' is a CA "
	    "certificate: signatures must come from a code-signing "
	    "certificate");
}

/* Proves: COM 03 (SHA-1 refused), CR 4.3. */
static void
test_verify_sha1_digest_refused(void **state)
{
	assert_int_equal(sh("openssl cms -sign -binary -md sha1 -in data "
	    "-signer a/signer.crt -inkey a/signer.key -certfile a/chain.pem "
	    "-outform DER -out sha1.p7s"), 0);
	refused_a("sha1.p7s", "signature digest: SHA-1 " BSI_DIGEST);
}

/* Proves: COM 03 (MD5 refused), CR 4.3. */
static void
test_verify_md5_digest_refused(void **state)
{
	struct crypto_trust *trust = trust_with("r/root.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL;

	assert_int_equal(sh("openssl cms -sign -binary -md md5 -in data "
	    "-signer r/signer.crt -inkey r/signer.key -certfile r/chain.pem "
	    "-outform DER -out md5.p7s"), 0);
	assert_int_equal(verify(trust, DATA, strlen(DATA), "md5.p7s",
	    &signer, &cause), -1);
	assert_string_equal(cause, "signature digest: MD5 " BSI_DIGEST);
	free(cause);
	crypto_trust_free(trust);
}

/* Proves: COM 03 (PSS with SHA-1 in MGF1 refused), CR 4.3. */
static void
test_verify_pss_mgf1_sha1_refused(void **state)
{
	struct crypto_trust *trust = trust_with("r/root.crt", NULL);
	struct crypto_signer signer;
	char *cause = NULL;

	assert_int_equal(sh("openssl cms -sign -binary -md sha256 -in data "
	    "-signer r/signer.crt -inkey r/signer.key "
	    "-keyopt rsa_padding_mode:pss -keyopt rsa_mgf1_md:sha1 "
	    "-certfile r/chain.pem -outform DER -out pss1.p7s"), 0);
	assert_int_equal(verify(trust, DATA, strlen(DATA), "pss1.p7s",
	    &signer, &cause), -1);
	assert_string_equal(cause, "RSASSA-PSS MGF1 digest: SHA-1 "
	    BSI_DIGEST);
	free(cause);
	/* PSS with SHA-256 throughout is fine. */
	assert_int_equal(sh("openssl cms -sign -binary -md sha256 -in data "
	    "-signer r/signer.crt -inkey r/signer.key "
	    "-keyopt rsa_padding_mode:pss -certfile r/chain.pem "
	    "-outform DER -out pss.p7s"), 0);
	assert_int_equal(verify(trust, DATA, strlen(DATA), "pss.p7s",
	    &signer, &cause), 0);
	crypto_signer_clear(&signer);
	crypto_trust_free(trust);
}

/* Proves: COM 03 (a certificate signed with SHA-1 refused), CR 4.3, CR 1.8. */
static void
test_verify_sha1_signed_certificate_refused(void **state)
{
	sign_a("s1", "s1.p7s");
	refused_a("s1.p7s", "signature on certificate 'CN=s1,O=cml': SHA-1 "
	    BSI_DIGEST);
}

/* Proves: COM 03 (RSA below 3072 bits refused), CR 4.3. */
static void
test_verify_rsa_2048_signer_refused(void **state)
{
	sign_a("r2k", "r2k.p7s");
	refused_a("r2k.p7s", "RSA key of 2048 bits in 'CN=r2k,O=cml' is too "
	    "weak (BSI TR-02102-1: at least 3072)");
}

/* Proves: COM 03 (curves outside the policy refused), CR 4.3. */
static void
test_verify_secp256k1_signer_refused(void **state)
{
	sign_a("k1", "k1.p7s");
	refused_a("k1.p7s", "curve secp256k1 of 'CN=k1,O=cml' is not "
	    "allowed " BSI_CURVES);
}

/* Proves: CR 3.4(1) (only a DER CMS signature is read). */
static void
test_verify_not_der_refused(void **state)
{
	assert_int_equal(sh("openssl cms -sign -binary -in data -signer "
	    "a/signer.crt -inkey a/signer.key -certfile a/chain.pem "
	    "-outform PEM -out pem.p7s"), 0);
	refused_a("pem.p7s", "signature is not a DER CMS (PKCS#7) structure");
	write_file("junk.p7s", "hello", 5);
	refused_a("junk.p7s", "signature is not a DER CMS (PKCS#7) structure");
	write_file("zero.p7s", "", 0);
	refused_a("zero.p7s", "signature is not a DER CMS (PKCS#7) structure");
	/* A certificate is DER, but not CMS. */
	refused_a("root.der", "signature is not a DER CMS (PKCS#7) structure");
}

/* Proves: CR 3.4(1) (bytes after the signature refused). */
static void
test_verify_trailing_bytes_refused(void **state)
{
	sign_a("signer", "good.p7s");
	assert_int_equal(sh("cat good.p7s > tail.p7s && printf x >> "
	    "tail.p7s"), 0);
	refused_a("tail.p7s", "signature has 1 bytes after its DER CMS "
	    "(PKCS#7) structure");
}

/* Proves: CR 3.4(1) (only detached signatures). */
static void
test_verify_embedded_content_refused(void **state)
{
	assert_int_equal(sh("openssl cms -sign -binary -nodetach -in data "
	    "-signer a/signer.crt -inkey a/signer.key -certfile a/chain.pem "
	    "-outform DER -out attached.p7s"), 0);
	refused_a("attached.p7s", "signature is not detached: it carries its "
	    "own content (sign with a detached signature)");
}

/* Proves: CR 3.4(1) (the signer's certificate must come with it). */
static void
test_verify_without_signer_certificate_refused(void **state)
{
	assert_int_equal(sh("openssl cms -sign -binary -nocerts -in data "
	    "-signer a/signer.crt -inkey a/signer.key -outform DER "
	    "-out nocerts.p7s"), 0);
	refused_a("nocerts.p7s", "signature does not carry its signer's "
	    "certificate: sign with the certificate included");
}

/* Proves: CR 3.4(1) (exactly one signer). */
static void
test_verify_two_signers_refused(void **state)
{
	assert_int_equal(sh("openssl cms -sign -binary -in data "
	    "-signer a/signer.crt -inkey a/signer.key "
	    "-signer r/signer.crt -inkey r/signer.key "
	    "-outform DER -out two.p7s"), 0);
	refused_a("two.p7s", "signature has 2 signers: cml accepts exactly "
	    "one");
}

/* --- hashing ------------------------------------------------------------ */

/* Hashes a file with crypto_sha256_fd from offset; returns the hex. */
static void
hash_file(const char *path, off_t offset, char *hex, off_t *size)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	char *cause = NULL;
	int fd;

	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(lseek(fd, offset, SEEK_SET), offset);
	if (crypto_sha256_fd(fd, md, size, &cause) != 0)
		fail_msg("hashing %s: %s", path, cause);
	close(fd);
	crypto_hex(md, sizeof md, hex);
}

/* Proves: CR 4.3 (SHA-256 gives the known digest). */
static void
test_sha256_fd_abc_known_digest(void **state)
{
	char hex[CRYPTO_SHA256_HEX];
	off_t size;

	write_file("abc", "abc", 3);
	hash_file("abc", 0, hex, &size);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
	/* From the file's offset, not its start. */
	write_file("xabc", "xabc", 4);
	hash_file("xabc", 1, hex, &size);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
}

/* Proves: CR 4.3 (SHA-256 gives the known digest). */
static void
test_sha256_fd_empty_known_digest(void **state)
{
	char hex[CRYPTO_SHA256_HEX];
	off_t size;

	write_file("empty", "", 0);
	hash_file("empty", 0, hex, &size);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	assert_int_equal(size, 0);
}

/* Proves: CR 4.3 (SHA-256 of large files read in parts). */
static void
test_sha256_fd_10mib_zeros_equals_oneshot(void **state)
{
	const size_t len = 10 * 1024 * 1024 + 7;
	char hex[CRYPTO_SHA256_HEX], want[CRYPTO_SHA256_HEX];
	unsigned char *zeros;
	off_t size;

	zeros = xcalloc(1, len);
	write_file("zeros", zeros, 10 * 1024 * 1024);
	hash_file("zeros", 0, hex, &size);
	assert_int_equal(size, 10 * 1024 * 1024);
	assert_string_equal(hex, "e5b844cc57f57094ea4585e235f36c78"
	    "c1cd222262bb89d53c94dcb4d6b3e55d");
	oneshot_hex(zeros, 10 * 1024 * 1024, want);
	assert_string_equal(hex, want);
	/* Not a multiple of the read size, and not all zeros. */
	zeros[len - 1] = 'z';
	zeros[len / 2] = 'm';
	write_file("zeros", zeros, len);
	hash_file("zeros", 0, hex, &size);
	assert_int_equal(size, len);
	oneshot_hex(zeros, len, want);
	assert_string_equal(hex, want);
	free(zeros);
}

/* Proves: CR 4.3 (SHA-256 of what a pipe carries). */
static void
test_sha256_fd_pipe_hashed(void **state)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX], *cause = NULL;
	off_t size;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	close(p[1]);
	assert_int_equal(crypto_sha256_fd(p[0], md, &size, &cause), 0);
	close(p[0]);
	crypto_hex(md, sizeof md, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
}

/* Proves: none (an unreadable descriptor named). */
static void
test_sha256_fd_unreadable_refused(void **state)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	char *cause = NULL;
	off_t size = 0;
	int fd;

	assert_int_equal(crypto_sha256_fd(-1, md, &size, &cause), -1);
	assert_string_equal(cause, "cannot read: Bad file descriptor");
	free(cause);
	assert_true((fd = open(".", O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(crypto_sha256_fd(fd, md, &size, &cause), -1);
	assert_string_equal(cause, "cannot read: Is a directory");
	free(cause);
	close(fd);
}

/* Proves: CR 4.3 (SHA-256 in pieces equals the whole). */
static void
test_hash_streaming_pieces_equal_whole(void **state)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX];
	struct crypto_hash *h;

	h = crypto_sha256_new();
	crypto_hash_update(h, "a", 1);
	crypto_hash_update(h, "", 0);
	crypto_hash_update(h, "bc", 2);
	crypto_hash_final(h, md);
	crypto_hex(md, sizeof md, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	h = crypto_sha256_new();
	crypto_hash_update(h, "abc", 3);
	crypto_hash_free(h);
	crypto_hash_free(NULL);
}

/* Proves: none (hex formatting). */
static void
test_hex_lower_case_nul_terminated(void **state)
{
	const unsigned char in[] = { 0x00, 0xff, 0x1a, 0xb0 };
	char out[2 * sizeof in + 1];

	memset(out, 'X', sizeof out);
	crypto_hex(in, sizeof in, out);
	assert_string_equal(out, "00ff1ab0");
	crypto_hex(in, 0, out);
	assert_string_equal(out, "");
}

/*
 * Proves: none (base64 as the daemons pass keys: one spelling per value,
 * bounded, round trip).
 */
static void
test_base64_strict_round_trip(void **state)
{
	static const char *const bad[] = { "", "QQ", "QQ=", "Q===", "QQ=A",
	    "Q Q=", "QUJD\n", "QU=D", "QUJD====", "QU*D", NULL };
	unsigned char in[64], *out;
	size_t i, n, len;
	char *b64;

	(void)state;
	for (i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)(i * 37 + 1);
	for (n = 1; n <= sizeof in; n++) {
		b64 = crypto_base64(in, n);
		assert_int_equal(strlen(b64), 4 * ((n + 2) / 3));
		assert_int_equal(crypto_unbase64(b64, sizeof in, &out, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(out, in, n);
		free(out);
		/* one byte more than allowed is refused */
		assert_int_equal(crypto_unbase64(b64, n - 1, &out, &len), -1);
		assert_null(out);
		free(b64);
	}
	for (i = 0; bad[i] != NULL; i++) {
		assert_int_equal(crypto_unbase64(bad[i], 64, &out, &len), -1);
		assert_null(out);
	}
	assert_int_equal(crypto_unbase64("QUI=", 64, &out, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "AB", 2);
	free(out);
	assert_true(crypto_equal("abc", "abc", 3));
	assert_false(crypto_equal("abc", "abd", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_error_empty_queue_empty_string),
		cmocka_unit_test(
		    test_openssl_error_queued_described_and_cleared),
		cmocka_unit_test(test_cert_load_pem_fields_filled),
		cmocka_unit_test(test_cert_load_der_same_as_pem),
		cmocka_unit_test(test_cert_load_rsa_key_described),
		cmocka_unit_test(test_cert_load_missing_file_refused),
		cmocka_unit_test(test_cert_load_garbage_refused),
		cmocka_unit_test(test_cert_from_der_trailing_bytes_refused),
		cmocka_unit_test(test_anchor_ca_certificates_accepted),
		cmocka_unit_test(test_anchor_leaf_refused),
		cmocka_unit_test(test_anchor_expired_refused),
		cmocka_unit_test(test_anchor_weak_keys_refused),
		cmocka_unit_test(test_trust_add_der_garbage_refused),
		cmocka_unit_test(test_sign_ec_p384_verifies_with_openssl),
		cmocka_unit_test(test_sign_rsa_3072_verifies_with_openssl),
		cmocka_unit_test(test_sign_key_of_other_cert_refused),
		cmocka_unit_test(test_sign_missing_inputs_refused),
		cmocka_unit_test(
		    test_sign_chain_with_signer_duplicate_verified),
		cmocka_unit_test(test_verify_good_ec_signature_verified),
		cmocka_unit_test(test_verify_good_rsa_signature_verified),
		cmocka_unit_test(test_verify_openssl_made_signature_verified),
		cmocka_unit_test(test_verify_intermediate_anchor_verified),
		cmocka_unit_test(test_verify_empty_file_verified),
		cmocka_unit_test(test_verify_many_times_still_verified),
		cmocka_unit_test(test_verify_modified_data_mismatch),
		cmocka_unit_test(test_verify_untrusted_root_no_chain),
		cmocka_unit_test(
		    test_verify_carried_unregistered_root_no_chain),
		cmocka_unit_test(
		    test_verify_untrusted_and_modified_chain_first),
		cmocka_unit_test(test_verify_no_anchors_no_chain),
		cmocka_unit_test(test_verify_without_chain_no_chain),
		cmocka_unit_test(test_verify_expired_signer_refused),
		cmocka_unit_test(test_verify_not_yet_valid_signer_refused),
		cmocka_unit_test(test_verify_no_codesigning_refused),
		cmocka_unit_test(test_verify_ca_signer_refused),
		cmocka_unit_test(test_verify_sha1_digest_refused),
		cmocka_unit_test(test_verify_md5_digest_refused),
		cmocka_unit_test(test_verify_pss_mgf1_sha1_refused),
		cmocka_unit_test(test_verify_sha1_signed_certificate_refused),
		cmocka_unit_test(test_verify_rsa_2048_signer_refused),
		cmocka_unit_test(test_verify_secp256k1_signer_refused),
		cmocka_unit_test(test_verify_not_der_refused),
		cmocka_unit_test(test_verify_trailing_bytes_refused),
		cmocka_unit_test(test_verify_embedded_content_refused),
		cmocka_unit_test(
		    test_verify_without_signer_certificate_refused),
		cmocka_unit_test(test_verify_two_signers_refused),
		cmocka_unit_test(test_sha256_fd_abc_known_digest),
		cmocka_unit_test(test_sha256_fd_empty_known_digest),
		cmocka_unit_test(test_sha256_fd_10mib_zeros_equals_oneshot),
		cmocka_unit_test(test_sha256_fd_pipe_hashed),
		cmocka_unit_test(test_sha256_fd_unreadable_refused),
		cmocka_unit_test(test_hash_streaming_pieces_equal_whole),
		cmocka_unit_test(test_hex_lower_case_nul_terminated),
		cmocka_unit_test(test_base64_strict_round_trip),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
