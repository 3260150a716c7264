/*
 * An EC key whose signatures tpm2d makes.  OpenSSL 3 still runs an
 * EC_KEY with its own EC_KEY_METHOD through the legacy code path, which
 * libssl uses for a client's CertificateVerify; those functions are
 * deprecated, hence OPENSSL_SUPPRESS_DEPRECATED in this one file.  A
 * provider would do the same with a good deal more code.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>

#include "client.h"
#include "crypto.h"
#include "tpmkey.h"
#include "xmalloc.h"

/* The longest DER ECDSA signature tpm2d may answer (P-521 and more). */
#define FWD_TPMKEY_SIG_MAX 160

struct fwd_tpmkey {
	char *sock_path;
	struct client cl; /* the connection to tpm2d, made on first use */
	EC_KEY_METHOD *meth;
	EVP_PKEY *pkey;
	char *error; /* why the last signature failed */
};

/*
 * The ex_data slot of an EC_KEY that leads its callbacks to its struct
 * fwd_tpmkey: taken once per process (OpenSSL's registry is global too).
 */
static int fwd_tpmkey_index = -1;

/* Notes why a signature failed, for fwd_tpmkey_error. */
static void
fwd_tpmkey_fail(struct fwd_tpmkey *k, char *why)
{
	free(k->error);
	k->error = why;
}

/*
 * Asks tpm2d to sign the digest; returns the DER signature (allocated,
 * *len bytes), or NULL with the reason noted.
 */
static unsigned char *
fwd_tpmkey_call(struct fwd_tpmkey *k, const unsigned char *dgst, int dlen,
    size_t *len)
{
	struct json_object *call, *params, *msg = NULL, *o;
	char hex[2 * 64 + 1], *cause = NULL;
	const char *sig, *err;
	unsigned char *der = NULL;

	if (dlen != 32 && dlen != 48 && dlen != 64) {
		fwd_tpmkey_fail(k, xasprintf("a digest of %d bytes cannot be "
		    "signed (tpm2d signs SHA-256, -384 and -512 digests)",
		    dlen));
		return NULL;
	}
	crypto_hex(dgst, (size_t)dlen, hex);
	params = json_object_new_object();
	json_object_object_add(params, "digest", json_object_new_string(hex));
	json_object_object_add(params, "purpose",
	    json_object_new_string("tls-client"));
	call = json_object_new_object();
	json_object_object_add(call, "method",
	    json_object_new_string("org.cml.TPM.SignDigest"));
	json_object_object_add(call, "parameters", params);
	if (client_send(&k->cl, call, NULL, 0, &cause) == -1 ||
	    client_recv(&k->cl, "SignDigest", NULL, &msg, NULL, NULL,
	    &cause) == -1) {
		json_object_put(call);
		fwd_tpmkey_fail(k, xasprintf("tpm2d at %s cannot be asked to "
		    "sign: %s", k->sock_path, cause));
		free(cause);
		return NULL;
	}
	json_object_put(call);
	if (json_object_object_get_ex(msg, "error", &o)) {
		err = json_object_get_string(o);
		if (json_object_object_get_ex(msg, "parameters", &params) &&
		    json_object_object_get_ex(params, "message", &o))
			err = json_object_get_string(o);
		fwd_tpmkey_fail(k, xasprintf("tpm2d did not sign: %s", err));
		goto out;
	}
	if (!json_object_object_get_ex(msg, "parameters", &params) ||
	    !json_object_object_get_ex(params, "signature", &o) ||
	    (sig = json_object_get_string(o)) == NULL ||
	    crypto_unbase64(sig, FWD_TPMKEY_SIG_MAX, &der, len) == -1) {
		fwd_tpmkey_fail(k, xstrdup("tpm2d answered SignDigest without "
		    "a base64 signature"));
		der = NULL;
	}
out:
	json_object_put(msg);
	return der;
}

/* EC_KEY_METHOD sign_sig: the signature as an ECDSA_SIG. */
static ECDSA_SIG *
fwd_tpmkey_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *ec)
{
	struct fwd_tpmkey *k = EC_KEY_get_ex_data(ec, fwd_tpmkey_index);
	const unsigned char *p;
	unsigned char *der;
	ECDSA_SIG *sig;
	size_t len;

	(void)kinv;
	(void)r;
	if (k == NULL || (der = fwd_tpmkey_call(k, dgst, dlen, &len)) == NULL)
		return NULL;
	p = der;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		ECDSA_SIG_free(sig);
		sig = NULL;
		fwd_tpmkey_fail(k, xstrdup("tpm2d's signature is no DER "
		    "ECDSA-Sig-Value"));
	}
	free(der);
	return sig;
}

/* EC_KEY_METHOD sign: the signature DER-encoded into sig. */
static int
fwd_tpmkey_sign(int type, const unsigned char *dgst, int dlen,
    unsigned char *sig, unsigned int *siglen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *ec)
{
	ECDSA_SIG *s;
	int n;

	(void)type;
	if ((s = fwd_tpmkey_sign_sig(dgst, dlen, kinv, r, ec)) == NULL)
		return 0;
	/* ECDSA_size(ec) bytes are there: the DER of a minimal encoding. */
	n = i2d_ECDSA_SIG(s, NULL);
	if (n <= 0 || n > ECDSA_size(ec)) {
		ECDSA_SIG_free(s);
		return 0;
	}
	n = i2d_ECDSA_SIG(s, &sig);
	ECDSA_SIG_free(s);
	*siglen = (unsigned int)n;
	return 1;
}

struct fwd_tpmkey *
fwd_tpmkey_new(X509 *cert, const char *sock_path, char **cause)
{
	struct fwd_tpmkey *k;
	EVP_PKEY *pub;
	EC_KEY *ec = NULL;
	int (*verify)(int, const unsigned char *, int, const unsigned char *,
	    int, EC_KEY *);
	int (*verify_sig)(const unsigned char *, int, const ECDSA_SIG *,
	    EC_KEY *);

	if ((pub = X509_get0_pubkey(cert)) == NULL ||
	    EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC ||
	    (ec = EVP_PKEY_get1_EC_KEY(pub)) == NULL) {
		*cause = xstrdup("the device certificate holds no EC key (the "
		    "device key is an ECDSA key in the TPM)");
		ERR_clear_error();
		return NULL;
	}
	if (fwd_tpmkey_index == -1)
		fwd_tpmkey_index = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL,
		    NULL);
	k = xcalloc(1, sizeof *k);
	k->sock_path = xstrdup(sock_path);
	client_init(&k->cl, k->sock_path, NULL);
	if (fwd_tpmkey_index == -1 ||
	    (k->meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) == NULL)
		goto fail;
	EC_KEY_METHOD_get_verify(EC_KEY_OpenSSL(), &verify, &verify_sig);
	EC_KEY_METHOD_set_sign(k->meth, fwd_tpmkey_sign, NULL,
	    fwd_tpmkey_sign_sig);
	EC_KEY_METHOD_set_verify(k->meth, verify, verify_sig);
	if (EC_KEY_set_method(ec, k->meth) != 1 ||
	    EC_KEY_set_ex_data(ec, fwd_tpmkey_index, k) != 1 ||
	    (k->pkey = EVP_PKEY_new()) == NULL ||
	    EVP_PKEY_assign_EC_KEY(k->pkey, ec) != 1)
		goto fail;
	return k;
fail:
	*cause = xstrdup("OpenSSL cannot make a key method for the device "
	    "key");
	ERR_clear_error();
	if (k->pkey == NULL || EVP_PKEY_get0_EC_KEY(k->pkey) != ec)
		EC_KEY_free(ec);
	fwd_tpmkey_free(k);
	return NULL;
}

EVP_PKEY *
fwd_tpmkey_pkey(struct fwd_tpmkey *k)
{
	return k->pkey;
}

char *
fwd_tpmkey_error(struct fwd_tpmkey *k)
{
	char *e = k->error;

	k->error = NULL;
	return e;
}

void
fwd_tpmkey_free(struct fwd_tpmkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	EC_KEY_METHOD_free(k->meth);
	client_disconnect(&k->cl);
	free(k->sock_path);
	free(k->error);
	free(k);
}
