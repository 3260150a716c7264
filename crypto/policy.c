/*
 * The algorithm policy of BSI TR-02102-1 ("Kryptographische Verfahren:
 * Empfehlungen und Schlüssellängen"): which digests, key types, key sizes
 * and curves a signature, a signer and every certificate of its chain may
 * use.  One table per kind, so that the policy reads as data.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "policy.h"
#include "x509.h"
#include "xmalloc.h"

/* A digest the policy knows, allowed or not, with the name users know. */
struct policy_digest {
	int nid;
	const char *name;
	int allowed;
};

static const struct policy_digest policy_digests[] = {
	{ NID_sha256, "SHA-256", 1 },
	{ NID_sha384, "SHA-384", 1 },
	{ NID_sha512, "SHA-512", 1 },
	{ NID_sha512_256, "SHA-512/256", 1 },
	{ NID_sha3_256, "SHA3-256", 1 },
	{ NID_sha3_384, "SHA3-384", 1 },
	{ NID_sha3_512, "SHA3-512", 1 },
	{ NID_md2, "MD2", 0 },
	{ NID_md4, "MD4", 0 },
	{ NID_md5, "MD5", 0 },
	{ NID_md5_sha1, "MD5+SHA-1", 0 },
	{ NID_sha1, "SHA-1", 0 },
	{ NID_ripemd160, "RIPEMD-160", 0 },
	/* No longer in the recommendations since TR-02102-1 2023. */
	{ NID_sha224, "SHA-224", 0 },
	{ NID_sha512_224, "SHA-512/224", 0 },
	{ NID_sha3_224, "SHA3-224", 0 },
};

/* The curves the policy allows for ECDSA. */
static const int policy_curves[] = {
	NID_X9_62_prime256v1,
	NID_secp384r1,
	NID_secp521r1,
	NID_brainpoolP256r1,
	NID_brainpoolP384r1,
	NID_brainpoolP512r1,
};

int
crypto_policy_digest(int md_nid, const char *what, char **cause)
{
	const char *name = NULL;
	size_t i;

	for (i = 0; i < sizeof policy_digests / sizeof policy_digests[0];
	    i++) {
		if (policy_digests[i].nid != md_nid)
			continue;
		if (policy_digests[i].allowed)
			return 0;
		name = policy_digests[i].name;
		break;
	}
	if (name == NULL && (name = OBJ_nid2sn(md_nid)) == NULL)
		name = "an unknown digest";
	*cause = xasprintf("%s%s%s is not allowed (BSI TR-02102-1): use "
	    "SHA-256 or stronger", what != NULL ? what : "",
	    what != NULL ? ": " : "", name);
	return -1;
}

/* Returns the dotted or short name of an algorithm, allocated. */
static char *
policy_oid_name(const ASN1_OBJECT *obj)
{
	char buf[128];

	if (obj == NULL || OBJ_obj2txt(buf, sizeof buf, obj, 0) <= 0)
		return xstrdup("(unreadable)");
	return xstrdup(buf);
}

/*
 * Checks the digest and the MGF1 digest of RSASSA-PSS parameters; absent
 * ones mean SHA-1 (RFC 4055).
 */
static int
policy_pss(const X509_ALGOR *alg, char **cause)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgfmd = NULL;
	ASN1_TYPE *param;
	int ptype, md, mgf, rc = -1;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE) {
		*cause = xstrdup("RSASSA-PSS signature without parameters: "
		    "it means SHA-1, which is not allowed (BSI TR-02102-1): "
		    "use SHA-256 or stronger");
		return -1;
	}
	param = alg->parameter;
	pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), param);
	if (pss == NULL) {
		ERR_clear_error();
		*cause = xstrdup("RSASSA-PSS signature with malformed "
		    "parameters");
		return -1;
	}
	md = pss->hashAlgorithm == NULL ? NID_sha1 :
	    OBJ_obj2nid(pss->hashAlgorithm->algorithm);
	if (crypto_policy_digest(md, "RSASSA-PSS digest", cause) == -1)
		goto out;
	if (pss->maskGenAlgorithm == NULL)
		md = NID_sha1;
	else {
		mgf = OBJ_obj2nid(pss->maskGenAlgorithm->algorithm);
		if (mgf != NID_mgf1) {
			*cause = xstrdup("RSASSA-PSS signature with a mask "
			    "generation function other than MGF1");
			goto out;
		}
		mgfmd = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
		    pss->maskGenAlgorithm->parameter);
		if (mgfmd == NULL) {
			ERR_clear_error();
			*cause = xstrdup("RSASSA-PSS signature with malformed "
			    "MGF1 parameters");
			goto out;
		}
		md = OBJ_obj2nid(mgfmd->algorithm);
	}
	if (crypto_policy_digest(md, "RSASSA-PSS MGF1 digest", cause) == -1)
		goto out;
	rc = 0;
out:
	X509_ALGOR_free(mgfmd);
	RSA_PSS_PARAMS_free(pss);
	return rc;
}

int
crypto_policy_sigalg(const X509_ALGOR *alg, char **cause)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	char *name;
	int ptype, nid, mdnid, pknid;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	nid = OBJ_obj2nid(obj);
	switch (nid) {
	case NID_rsaEncryption:
	case NID_X9_62_id_ecPublicKey:
		/* The digest is the SignerInfo's digestAlgorithm. */
		return 0;
	case NID_rsassaPss:
		return policy_pss(alg, cause);
	default:
		break;
	}
	if (OBJ_find_sigid_algs(nid, &mdnid, &pknid)) {
		if (mdnid != NID_undef)
			return crypto_policy_digest(mdnid, "signature "
			    "algorithm", cause);
		/* Ed25519 and the like: the signer key check names it. */
		return 0;
	}
	name = policy_oid_name(obj);
	*cause = xasprintf("signature algorithm %s is not allowed "
	    "(BSI TR-02102-1)", name);
	free(name);
	return -1;
}

int
crypto_policy_key(EVP_PKEY *pkey, const char *subject, char **cause)
{
	char group[80], *desc;
	size_t i;
	int bits, nid;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		bits = EVP_PKEY_get_bits(pkey);
		if (bits >= CRYPTO_POLICY_RSA_MIN_BITS)
			return 0;
		*cause = xasprintf("RSA key of %d bits in '%s' is too weak "
		    "(BSI TR-02102-1: at least %d)", bits, subject,
		    CRYPTO_POLICY_RSA_MIN_BITS);
		return -1;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof group,
		    NULL) != 1) {
			ERR_clear_error();
			snprintf(group, sizeof group, "(explicit parameters)");
			nid = NID_undef;
		} else
			nid = OBJ_txt2nid(group);
		for (i = 0; i < sizeof policy_curves / sizeof policy_curves[0];
		    i++) {
			if (nid != NID_undef && policy_curves[i] == nid)
				return 0;
		}
		*cause = xasprintf("curve %s of '%s' is not allowed "
		    "(BSI TR-02102-1: P-256, P-384, P-521, "
		    "brainpoolP256r1/384r1/512r1)", group, subject);
		return -1;
	default:
		desc = crypto_key_describe(pkey);
		*cause = xasprintf("key type %s of '%s' is not allowed "
		    "(BSI TR-02102-1 in cml: ECDSA, or RSA of at least %d "
		    "bits)", desc, subject, CRYPTO_POLICY_RSA_MIN_BITS);
		free(desc);
		return -1;
	}
}

int
crypto_policy_cert(X509 *x, char **cause)
{
	const X509_ALGOR *alg;
	EVP_PKEY *pkey;
	char *subject, *what = NULL, *name = NULL;
	int mdnid = NID_undef, pknid = NID_undef, rc = -1;

	subject = crypto_x509_subject(x);
	if ((pkey = X509_get0_pubkey(x)) == NULL) {
		ERR_clear_error();
		*cause = xasprintf("certificate '%s' holds a public key of "
		    "a kind that cannot be read", subject);
		goto out;
	}
	if (crypto_policy_key(pkey, subject, cause) == -1)
		goto out;
	if (X509_get_signature_info(x, &mdnid, &pknid, NULL, NULL) != 1)
		mdnid = NID_undef;
	ERR_clear_error();
	if (mdnid == NID_undef) {
		X509_get0_signature(NULL, &alg, x);
		name = policy_oid_name(alg->algorithm);
		*cause = xasprintf("signature algorithm %s on certificate "
		    "'%s' is not allowed (BSI TR-02102-1)", name, subject);
		goto out;
	}
	what = xasprintf("signature on certificate '%s'", subject);
	if (crypto_policy_digest(mdnid, what, cause) == -1)
		goto out;
	rc = 0;
out:
	free(name);
	free(what);
	free(subject);
	return rc;
}
