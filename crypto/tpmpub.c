/*
 * The TPM's public structures as OpenSSL sees them: see tpmpub.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "tpmpub.h"
#include "xmalloc.h"

/* An ECC curve as the TPM and OpenSSL name it. */
struct tpmpub_curve {
	TPMI_ECC_CURVE id;
	const char *name; /* as cml shows it */
	const char *group; /* OpenSSL's group name */
	size_t size; /* bytes of a coordinate */
};

static const struct tpmpub_curve tpmpub_curves[] = {
	{ TPM2_ECC_NIST_P256, "P-256", "prime256v1", 32 },
	{ TPM2_ECC_NIST_P384, "P-384", "secp384r1", 48 },
	{ TPM2_ECC_NIST_P521, "P-521", "secp521r1", 66 },
};

static const struct tpmpub_curve *
tpmpub_find_curve(const TPMT_PUBLIC *pub)
{
	size_t i;

	if (pub->type != TPM2_ALG_ECC)
		return NULL;
	for (i = 0; i < sizeof tpmpub_curves / sizeof tpmpub_curves[0]; i++) {
		if (tpmpub_curves[i].id == pub->parameters.eccDetail.curveID)
			return &tpmpub_curves[i];
	}
	return NULL;
}

const char *
tpmpub_curve(const TPMT_PUBLIC *pub)
{
	const struct tpmpub_curve *c = tpmpub_find_curve(pub);

	return c != NULL ? c->name : NULL;
}

const EVP_MD *
tpmpub_md(TPMI_ALG_HASH alg)
{
	switch (alg) {
	case TPM2_ALG_SHA256:
		return EVP_sha256();
	case TPM2_ALG_SHA384:
		return EVP_sha384();
	case TPM2_ALG_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

size_t
tpmpub_md_size(TPMI_ALG_HASH alg)
{
	const EVP_MD *md = tpmpub_md(alg);

	return md != NULL ? (size_t)EVP_MD_get_size(md) : 0;
}

/*
 * Copies a coordinate into out, right-aligned in size bytes (the TPM may
 * drop leading zeros); -1 if it is longer.
 */
static int
tpmpub_coord(const TPM2B_ECC_PARAMETER *p, unsigned char *out, size_t size)
{
	if (p->size > size)
		return -1;
	memset(out, 0, size - p->size);
	memcpy(out + size - p->size, p->buffer, p->size);
	return 0;
}

EVP_PKEY *
tpmpub_pkey(const TPMT_PUBLIC *pub, char **cause)
{
	const struct tpmpub_curve *c;
	unsigned char point[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	char *err;

	if ((c = tpmpub_find_curve(pub)) == NULL) {
		*cause = xstrdup("the key is not an ECC key on a NIST curve");
		return NULL;
	}
	point[0] = POINT_CONVERSION_UNCOMPRESSED;
	if (tpmpub_coord(&pub->unique.ecc.x, point + 1, c->size) == -1 ||
	    tpmpub_coord(&pub->unique.ecc.y, point + 1 + c->size,
	    c->size) == -1) {
		*cause = xasprintf("the key's point is too long for %s",
		    c->name);
		return NULL;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    c->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    point, 1 + 2 * c->size) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		err = crypto_openssl_error();
		*cause = xasprintf("the key's point is not on %s: %s",
		    c->name, err);
		free(err);
		key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return key;
}

char *
tpmpub_pem(const TPMT_PUBLIC *pub, char **cause)
{
	EVP_PKEY *key;
	BIO *bio;
	char *data, *pem = NULL, *err;
	long len;

	if ((key = tpmpub_pkey(pub, cause)) == NULL)
		return NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PUBKEY(bio, key)) {
		err = crypto_openssl_error();
		*cause = xasprintf("cannot write the key as PEM: %s", err);
		free(err);
	} else {
		len = BIO_get_mem_data(bio, &data);
		pem = xmalloc((size_t)len + 1);
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(bio);
	EVP_PKEY_free(key);
	return pem;
}

int
tpmpub_name(const TPMT_PUBLIC *pub, TPM2B_NAME *name, char **cause)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0, mdlen;
	const EVP_MD *md;
	unsigned int outlen;
	TSS2_RC rc;

	if ((md = tpmpub_md(pub->nameAlg)) == NULL) {
		*cause = xasprintf("unknown name algorithm 0x%04x",
		    pub->nameAlg);
		return -1;
	}
	mdlen = (size_t)EVP_MD_get_size(md);
	if ((rc = Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof buf, &off)) !=
	    TSS2_RC_SUCCESS) {
		*cause = xasprintf("cannot marshal the public area (0x%x)",
		    rc);
		return -1;
	}
	name->name[0] = pub->nameAlg >> 8;
	name->name[1] = pub->nameAlg & 0xff;
	if (!EVP_Digest(buf, off, name->name + 2, &outlen, md, NULL) ||
	    outlen != mdlen) {
		*cause = xstrdup("cannot hash the public area");
		return -1;
	}
	name->size = 2 + mdlen;
	return 0;
}

void
tpmpub_attrs(TPMA_OBJECT attrs, char *buf, size_t size)
{
	static const struct {
		TPMA_OBJECT bit;
		const char *name;
	} words[] = {
		{ TPMA_OBJECT_FIXEDTPM, "fixedtpm" },
		{ TPMA_OBJECT_STCLEAR, "stclear" },
		{ TPMA_OBJECT_FIXEDPARENT, "fixedparent" },
		{ TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitivedataorigin" },
		{ TPMA_OBJECT_USERWITHAUTH, "userwithauth" },
		{ TPMA_OBJECT_ADMINWITHPOLICY, "adminwithpolicy" },
		{ TPMA_OBJECT_NODA, "noda" },
		{ TPMA_OBJECT_ENCRYPTEDDUPLICATION, "encryptedduplication" },
		{ TPMA_OBJECT_RESTRICTED, "restricted" },
		{ TPMA_OBJECT_DECRYPT, "decrypt" },
		{ TPMA_OBJECT_SIGN_ENCRYPT, "sign" },
	};
	size_t i, len = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		if ((attrs & words[i].bit) == 0)
			continue;
		len += snprintf(buf + len, len < size ? size - len : 0, "%s%s",
		    len != 0 ? "|" : "", words[i].name);
		if (len >= size) {
			buf[size - 1] = '\0';
			return;
		}
	}
}

unsigned char *
tpmpub_ecdsa_der(const TPMS_SIGNATURE_ECC *sig, size_t *len, char **cause)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *der = NULL, *p;
	int n;

	r = BN_bin2bn(sig->signatureR.buffer, sig->signatureR.size, NULL);
	s = BN_bin2bn(sig->signatureS.buffer, sig->signatureS.size, NULL);
	if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL) {
		BN_free(r);
		BN_free(s);
		*cause = xstrdup("out of memory for a signature");
		return NULL;
	}
	ECDSA_SIG_set0(es, r, s);
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0) {
		*cause = xstrdup("cannot encode the signature");
		goto out;
	}
	der = p = xmalloc((size_t)n);
	i2d_ECDSA_SIG(es, &p);
	*len = (size_t)n;
out:
	ECDSA_SIG_free(es);
	return der;
}

int
tpmpub_verify(EVP_PKEY *key, const TPMT_SIGNATURE *sig, const void *data,
    size_t len, char **cause)
{
	const EVP_MD *md;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der;
	size_t derlen;
	int ret = -1, ok;
	char *err;

	if (sig->sigAlg != TPM2_ALG_ECDSA) {
		*cause = xasprintf("the signature is no ECDSA signature "
		    "(algorithm 0x%04x)", sig->sigAlg);
		return -1;
	}
	if ((md = tpmpub_md(sig->signature.ecdsa.hash)) == NULL) {
		*cause = xasprintf("the signature's hash algorithm 0x%04x is "
		    "not accepted", sig->signature.ecdsa.hash);
		return -1;
	}
	if ((der = tpmpub_ecdsa_der(&sig->signature.ecdsa, &derlen,
	    cause)) == NULL)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) <= 0) {
		err = crypto_openssl_error();
		*cause = xasprintf("cannot verify with the key: %s", err);
		free(err);
		goto out;
	}
	ok = EVP_DigestVerify(ctx, der, derlen, data, len);
	if (ok != 1) {
		err = crypto_openssl_error();
		free(err);
		*cause = xstrdup("the signature does not verify with the key");
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(der);
	return ret;
}

int
tpmpub_same_key(EVP_PKEY *a, EVP_PKEY *b)
{
	return EVP_PKEY_eq(a, b) == 1;
}
