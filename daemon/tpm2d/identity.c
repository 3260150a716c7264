/*
 * The device identity: a non-exportable ECC signing key in the TPM, made
 * at tpm2d's first start and kept persistent, its public half, PKCS#10
 * requests it signs, and the two other things it signs: the audit
 * trail's checkpoints (a digest tpm2d makes itself) and the digests of
 * the audit forwarder's TLS handshakes (see identity.h for how the keys
 * are made).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auditchain.h"
#include "crypto.h"
#include "identity.h"
#include "log.h"
#include "provreport.h"
#include "tpmpub.h"
#include "utf8.h"
#include "xmalloc.h"

/* The longest subject a request may carry, in bytes. */
#define IDENTITY_SUBJECT_MAX 1024

/*
 * The attributes the device key and the AK have (and must have).  noDA:
 * their authorization is empty, so there is nothing to guess, and a TPM
 * in dictionary attack lockout (after unorderly shutdowns) must not make
 * the device's identity unusable.
 */
#define IDENTITY_KEY_ATTRS \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
	TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | \
	TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT)
#define IDENTITY_AK_ATTRS (IDENTITY_KEY_ATTRS | TPMA_OBJECT_RESTRICTED)

/*
 * The storage primary key the two keys are made under (in the owner
 * hierarchy for the device key, the endorsement hierarchy for the AK):
 * the usual ECC P-256 storage key template, so it is the same key each
 * time (derived from the hierarchy's seed); it is flushed once the key
 * is made.
 */
static const TPM2B_PUBLIC identity_srk_template = {
	.publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM |
		    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
		    TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA,
		.parameters.eccDetail = {
			.symmetric = {
				.algorithm = TPM2_ALG_AES,
				.keyBits.aes = 128,
				.mode.aes = TPM2_ALG_CFB,
			},
			.scheme.scheme = TPM2_ALG_NULL,
			.curveID = TPM2_ECC_NIST_P256,
			.kdf.scheme = TPM2_ALG_NULL,
		},
	},
};

/* The device key: its scheme is chosen at each signature. */
static void
identity_key_template(TPM2B_PUBLIC *tmpl, TPMI_ECC_CURVE curve)
{
	memset(tmpl, 0, sizeof *tmpl);
	tmpl->publicArea.type = TPM2_ALG_ECC;
	tmpl->publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl->publicArea.objectAttributes = IDENTITY_KEY_ATTRS;
	tmpl->publicArea.parameters.eccDetail.symmetric.algorithm =
	    TPM2_ALG_NULL;
	tmpl->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	tmpl->publicArea.parameters.eccDetail.curveID = curve;
	tmpl->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

/* The AK: restricted, ECDSA with SHA-256 on P-256. */
static void
identity_ak_template(TPM2B_PUBLIC *tmpl)
{
	identity_key_template(tmpl, TPM2_ECC_NIST_P256);
	tmpl->publicArea.objectAttributes = IDENTITY_AK_ATTRS;
	tmpl->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	tmpl->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg =
	    TPM2_ALG_SHA256;
}

TPMI_ALG_HASH
tpm2d_identity_hash(const TPMT_PUBLIC *pub)
{
	if (pub->type == TPM2_ALG_ECC &&
	    pub->parameters.eccDetail.curveID == TPM2_ECC_NIST_P384)
		return TPM2_ALG_SHA384;
	return TPM2_ALG_SHA256;
}

/* Returns 1 if a persistent handle is in use, 0 if not, -1 on error. */
static int
identity_handle_used(struct tpm2d *t, TPM2_HANDLE handle, TSS2_RC *rc)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	int used;

	*rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_HANDLES, handle, 1, &more, &cap);
	if (*rc != TSS2_RC_SUCCESS)
		return -1;
	used = cap->data.handles.count != 0 &&
	    cap->data.handles.handle[0] == handle;
	Esys_Free(cap);
	return used;
}

/* Returns the largest NIST curve of P-384 and P-256 the TPM has. */
static TPMI_ECC_CURVE
identity_curve(struct tpm2d *t)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TPMI_ECC_CURVE curve = TPM2_ECC_NIST_P256;
	TSS2_RC rc;
	UINT32 i;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_ECC_CURVES, TPM2_ECC_NONE,
	    TPM2_MAX_ECC_CURVES, &more, &cap);
	if (rc != TSS2_RC_SUCCESS) {
		log_warnx("cannot list the TPM's curves, using P-256: %s",
		    tpm2d_rc_str(rc));
		return curve;
	}
	for (i = 0; i < cap->data.eccCurves.count; i++) {
		if (cap->data.eccCurves.eccCurves[i] == TPM2_ECC_NIST_P384)
			curve = TPM2_ECC_NIST_P384;
	}
	Esys_Free(cap);
	return curve;
}

int
tpm2d_persistent_open(struct tpm2d *t, TPM2_HANDLE persistent,
    ESYS_TR *handle, TPM2B_PUBLIC **pub, TPM2B_NAME **name, TSS2_RC *rc,
    char **cause)
{
	TPM2B_NAME *qname = NULL, *n = NULL;
	TPM2B_PUBLIC *p = NULL;
	int used;

	*handle = ESYS_TR_NONE;
	*rc = 0;
	if ((used = identity_handle_used(t, persistent, rc)) == -1) {
		*cause = xasprintf("cannot list the TPM's persistent handles: "
		    "%s", tpm2d_rc_str(*rc));
		return -1;
	}
	if (!used) {
		*cause = xasprintf("the TPM holds no key at 0x%08x",
		    persistent);
		return -1;
	}
	*rc = Esys_TR_FromTPMPublic(t->esys, persistent, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, handle);
	if (*rc != TSS2_RC_SUCCESS) {
		*handle = ESYS_TR_NONE;
		*cause = xasprintf("cannot open the key at 0x%08x: %s",
		    persistent, tpm2d_rc_str(*rc));
		return -1;
	}
	*rc = Esys_ReadPublic(t->esys, *handle, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &p, &n, &qname);
	if (*rc != TSS2_RC_SUCCESS) {
		*cause = xasprintf("cannot read the key at 0x%08x: %s",
		    persistent, tpm2d_rc_str(*rc));
		tpm2d_persistent_close(t, handle);
		return -1;
	}
	Esys_Free(qname);
	if (pub != NULL)
		*pub = p;
	else
		Esys_Free(p);
	if (name != NULL)
		*name = n;
	else
		Esys_Free(n);
	return 0;
}

void
tpm2d_persistent_close(struct tpm2d *t, ESYS_TR *handle)
{
	if (*handle == ESYS_TR_NONE)
		return;
	/* A persistent object is not flushed: ESYS only forgets it. */
	Esys_TR_Close(t->esys, handle);
	*handle = ESYS_TR_NONE;
}

/*
 * Makes a key from tmpl under the primary storage key of hierarchy and
 * makes it persistent at handle; every transient object is flushed.  -1
 * with *cause set.
 */
static int
identity_create(struct tpm2d *t, ESYS_TR hierarchy, const TPM2B_PUBLIC *tmpl,
    TPM2_HANDLE persistent, char **cause)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR srk = ESYS_TR_NONE, key = ESYS_TR_NONE, kept = ESYS_TR_NONE;
	const char *what;
	TSS2_RC rc;
	int ret = -1;

	memset(&sens, 0, sizeof sens);
	memset(&outside, 0, sizeof outside);
	memset(&pcrs, 0, sizeof pcrs);

	what = "cannot make the storage primary key";
	rc = Esys_CreatePrimary(t->esys, hierarchy, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &identity_srk_template,
	    &outside, &pcrs, &srk, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "cannot make the key";
	rc = Esys_Create(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, tmpl, &outside, &pcrs, &priv, &pub, NULL,
	    NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "cannot load the key";
	rc = Esys_Load(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, priv, pub, &key);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	what = "cannot make the key persistent";
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, key,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, persistent, &kept);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	tpm2d_persistent_close(t, &kept);
	ret = 0;
	goto out;
fail:
	*cause = xasprintf("%s for 0x%08x: %s", what, persistent,
	    tpm2d_rc_str(rc));
out:
	tpm2d_flush(t, &key);
	tpm2d_flush(t, &srk);
	Esys_Free(priv);
	Esys_Free(pub);
	return ret;
}

/*
 * Makes the key at persistent if it is absent; a key there must have
 * the attributes cml gives it (another's key is never used or replaced).
 * Sets *made.  -1 with *cause set.
 */
static int
identity_ensure(struct tpm2d *t, const char *what, ESYS_TR hierarchy,
    TPM2_HANDLE persistent, const TPM2B_PUBLIC *tmpl, int *made,
    char **cause)
{
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR h = ESYS_TR_NONE;
	TPMA_OBJECT want, got;
	char wants[TPMPUB_ATTRS_MAX], gots[TPMPUB_ATTRS_MAX];
	TSS2_RC rc;
	int used, ret = -1;

	*made = 0;
	if ((used = identity_handle_used(t, persistent, &rc)) == -1) {
		*cause = xasprintf("cannot list the TPM's persistent handles: "
		    "%s", tpm2d_rc_str(rc));
		return -1;
	}
	if (!used) {
		if (identity_create(t, hierarchy, tmpl, persistent,
		    cause) == -1)
			return -1;
		*made = 1;
		return 0;
	}
	if (tpm2d_persistent_open(t, persistent, &h, &pub, NULL, &rc,
	    cause) == -1)
		return -1;
	want = tmpl->publicArea.objectAttributes;
	got = pub->publicArea.objectAttributes;
	if (pub->publicArea.type != TPM2_ALG_ECC || got != want ||
	    (persistent == TPM2D_AK_HANDLE &&
	    pub->publicArea.parameters.eccDetail.scheme.scheme !=
	    TPM2_ALG_ECDSA)) {
		tpmpub_attrs(want, wants, sizeof wants);
		tpmpub_attrs(got, gots, sizeof gots);
		*cause = xasprintf("the TPM's key at 0x%08x is not cml's %s "
		    "(an ECC key with %s; it has %s): remove it, or it stays "
		    "unused", persistent, what, wants, gots);
		goto out;
	}
	ret = 0;
out:
	tpm2d_persistent_close(t, &h);
	Esys_Free(pub);
	return ret;
}

int
tpm2d_identity_start(struct tpm2d *t, int *made_any, char **cause)
{
	TPM2B_PUBLIC tmpl;
	TPMI_ECC_CURVE curve;
	int made;

	*made_any = 0;
	curve = identity_curve(t);
	identity_key_template(&tmpl, curve);
	if (identity_ensure(t, "device key", ESYS_TR_RH_OWNER,
	    TPM2D_IDENTITY_HANDLE, &tmpl, &made, cause) == -1)
		return -1;
	if (made) {
		*made_any = 1;
		log_info("made the device key (ECC %s) at 0x%08x",
		    curve == TPM2_ECC_NIST_P384 ? "P-384" : "P-256",
		    TPM2D_IDENTITY_HANDLE);
		tpm2d_audit(t, "tpm.identity", "device key", "ok",
		    "made a %s device key at 0x%08x",
		    curve == TPM2_ECC_NIST_P384 ? "P-384" : "P-256",
		    TPM2D_IDENTITY_HANDLE);
	}
	identity_ak_template(&tmpl);
	if (identity_ensure(t, "attestation key", ESYS_TR_RH_ENDORSEMENT,
	    TPM2D_AK_HANDLE, &tmpl, &made, cause) == -1)
		return -1;
	if (made) {
		*made_any = 1;
		log_info("made the attestation key (ECC P-256) at 0x%08x",
		    TPM2D_AK_HANDLE);
		tpm2d_audit(t, "tpm.identity", "attestation key", "ok",
		    "made the attestation key at 0x%08x", TPM2D_AK_HANDLE);
	}
	return 0;
}

void
tpm2d_identity_init(struct tpm2d *t)
{
	char *cause = NULL;
	int made;

	t->identity_handle = TPM2D_IDENTITY_HANDLE;
	t->identity_state = "absent";
	if (tpm2d_identity_start(t, &made, &cause) == -1) {
		log_warnx("the device identity: %s", cause);
		tpm2d_audit(t, "tpm.identity", "device key", "failed", "%s",
		    cause);
		free(cause);
		return;
	}
	t->identity_state = "present";
}

void
tpm2d_identity_free(struct tpm2d *t)
{
	/* The keys stay in the TPM; tpm2d keeps nothing of them. */
	t->identity_state = "absent";
}

int
tpm2d_identity_present(struct tpm2d *t)
{
	TSS2_RC rc;

	return identity_handle_used(t, TPM2D_IDENTITY_HANDLE, &rc) == 1;
}

/* Evicts the key at persistent if there is one; -1 with *cause set. */
static int
identity_evict(struct tpm2d *t, TPM2_HANDLE persistent, char **cause)
{
	ESYS_TR h = ESYS_TR_NONE, out = ESYS_TR_NONE;
	TSS2_RC rc;
	int used;

	if ((used = identity_handle_used(t, persistent, &rc)) == -1) {
		*cause = xasprintf("cannot list the TPM's persistent handles: "
		    "%s", tpm2d_rc_str(rc));
		return -1;
	}
	if (!used)
		return 0;
	rc = Esys_TR_FromTPMPublic(t->esys, persistent, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &h);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, h,
		    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, persistent,
		    &out);
		/*
		 * ESYS keeps its object of the evicted key (with the old
		 * key's name) after an eviction too: left there, opening the
		 * next key made at the handle fails with "Name mismatch".
		 */
		tpm2d_persistent_close(t, &h);
	}
	if (rc != TSS2_RC_SUCCESS) {
		*cause = xasprintf("cannot evict the key at 0x%08x: %s",
		    persistent, tpm2d_rc_str(rc));
		return -1;
	}
	return 0;
}

int
tpm2d_identity_wipe(struct tpm2d *t, char **cause)
{
	if (identity_evict(t, TPM2D_AK_HANDLE, cause) == -1 ||
	    identity_evict(t, TPM2D_IDENTITY_HANDLE, cause) == -1)
		return -1;
	tpm2d_audit(t, "tpm.identity", "device key", "ok",
	    "evicted the device key and the attestation key");
	t->identity_state = "absent";
	return 0;
}

int
tpm2d_identity_usable(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);

	if (t->identity_state != NULL &&
	    strcmp(t->identity_state, "present") == 0)
		return 0;
	call_error(call, TPM2D_ERR_NO_IDENTITY, NULL, "tpm2d has no usable "
	    "device key (at 0x%08x): its log from its start says why",
	    TPM2D_IDENTITY_HANDLE);
	return -1;
}

/*
 * Opens the device key for a call; answers the call and returns -1 if it
 * cannot.
 */
static int
identity_open(struct call *call, ESYS_TR *h, TPM2B_PUBLIC **pub,
    TPM2B_NAME **name)
{
	struct tpm2d *t = call_tpm2d(call);
	char *cause = NULL;
	TSS2_RC rc;

	if (tpm2d_identity_usable(call) == -1)
		return -1;
	if (tpm2d_persistent_open(t, TPM2D_IDENTITY_HANDLE, h, pub, name, &rc,
	    &cause) == 0)
		return 0;
	if (rc != 0 || tpm2d_identity_present(t))
		call_error(call, TPM2D_ERR_TPM, NULL, "%s", cause);
	else
		call_error(call, TPM2D_ERR_NO_IDENTITY, NULL,
		    "the TPM holds no device key (at 0x%08x): restart tpm2d "
		    "to make one", TPM2D_IDENTITY_HANDLE);
	free(cause);
	return -1;
}

/*
 * Answers a call with the device key's public half: public_key, curve
 * and name, then attributes (IdentityPublic) or made (CreateIdentity,
 * made >= 0).
 */
static void
identity_reply_public(struct call *call, int made)
{
	struct tpm2d *t = call_tpm2d(call);
	struct json_object *p;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	ESYS_TR h = ESYS_TR_NONE;
	char attrs[TPMPUB_ATTRS_MAX], *pem, *hex, *cause = NULL;
	const char *curve;

	if (identity_open(call, &h, &pub, &name) == -1)
		return;
	tpm2d_persistent_close(t, &h);
	if ((pem = tpmpub_pem(&pub->publicArea, &cause)) == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "the device key: %s",
		    cause);
		free(cause);
		goto out;
	}
	curve = tpmpub_curve(&pub->publicArea);
	hex = xmalloc(2 * (size_t)name->size + 1);
	crypto_hex(name->name, name->size, hex);

	p = json_object_new_object();
	if (made >= 0)
		json_object_object_add(p, "made",
		    json_object_new_boolean(made));
	json_object_object_add(p, "public_key", json_object_new_string(pem));
	json_object_object_add(p, "curve",
	    json_object_new_string(curve != NULL ? curve : "unknown"));
	json_object_object_add(p, "name", json_object_new_string(hex));
	if (made < 0) {
		tpmpub_attrs(pub->publicArea.objectAttributes, attrs,
		    sizeof attrs);
		json_object_object_add(p, "attributes",
		    json_object_new_string(attrs));
	}
	call_reply(call, p);
	free(hex);
	free(pem);
out:
	Esys_Free(pub);
	Esys_Free(name);
}

void
tpm2d_cmd_identity_public(struct call *call)
{
	identity_reply_public(call, -1);
}

void
tpm2d_cmd_create_identity(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	char *cause = NULL;
	int made;

	/*
	 * As at tpm2d's start: a key there already is kept (if it is cml's),
	 * so a repeated call changes nothing and answers the same key.
	 */
	if (tpm2d_identity_start(t, &made, &cause) == -1) {
		call_error(call, TPM2D_ERR_TPM, NULL, "the device identity: "
		    "%s", cause);
		free(cause);
		return;
	}
	t->identity_state = "present";
	call_set_details(call, made ? "made the device identity at 0x%08x" :
	    "the device identity at 0x%08x was there", TPM2D_IDENTITY_HANDLE);
	identity_reply_public(call, made);
}

void
tpm2d_cmd_wipe_identity(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct json_object *p;
	char *cause = NULL;
	TSS2_RC rc;
	int dk, ak;

	if (tpm2d_identity_wipe(t, &cause) == -1) {
		call_error(call, TPM2D_ERR_TPM, NULL, "the device identity: "
		    "%s", cause);
		free(cause);
		return;
	}
	/* The wipe is verified: both handles must be free now. */
	if ((dk = identity_handle_used(t, TPM2D_IDENTITY_HANDLE, &rc)) == -1 ||
	    (ak = identity_handle_used(t, TPM2D_AK_HANDLE, &rc)) == -1) {
		tpm2d_call_rc(call, "cannot list the TPM's persistent handles "
		    "after the wipe", rc);
		return;
	}
	if (dk || ak) {
		call_error(call, PROTO_ERR_FAILED, NULL, "the TPM still holds "
		    "%s%s%s after the wipe: check the TPM with tpm2_getcap "
		    "handles-persistent", dk ? "the device key" : "",
		    dk && ak ? " and " : "", ak ? "the attestation key" : "");
		return;
	}
	call_set_details(call, "evicted the device key (0x%08x) and the "
	    "attestation key (0x%08x); both handles are free",
	    TPM2D_IDENTITY_HANDLE, TPM2D_AK_HANDLE);
	p = json_object_new_object();
	json_object_object_add(p, "present", json_object_new_boolean(0));
	call_reply(call, p);
}

/*
 * Parses a subject in the form "/CN=value/O=value" (a backslash takes the
 * next character as it is, so "\/" is a slash in a value); NULL with
 * *cause set.
 */
static X509_NAME *
identity_subject(const char *s, char **cause)
{
	X509_NAME *name;
	size_t len = strlen(s), i, n;
	char *buf, *key, *value, *err;
	int nid, entries = 0;

	if (len == 0 || len > IDENTITY_SUBJECT_MAX) {
		*cause = xasprintf("the subject must have 1 to %d bytes",
		    IDENTITY_SUBJECT_MAX);
		return NULL;
	}
	if (!utf8_valid(s, len)) {
		*cause = xstrdup("the subject is not valid UTF-8");
		return NULL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*cause = xstrdup("the subject holds a control "
			    "character");
			return NULL;
		}
	}
	if (s[0] != '/') {
		*cause = xstrdup("the subject must have the form "
		    "/CN=NAME/O=ORG (it starts with '/')");
		return NULL;
	}
	name = X509_NAME_new();
	buf = xmalloc(len + 1);
	i = 1;
	while (i <= len) {
		/* One "key=value" up to the next unescaped '/'. */
		n = 0;
		key = buf;
		value = NULL;
		for (; i < len && s[i] != '/'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			else if (s[i] == '=' && value == NULL) {
				buf[n++] = '\0';
				value = buf + n;
				continue;
			}
			buf[n++] = s[i];
		}
		buf[n] = '\0';
		i++;
		if (value == NULL || *key == '\0' || *value == '\0') {
			*cause = xasprintf("the subject's part '%s' is not "
			    "KEY=VALUE (the form is /CN=NAME/O=ORG)", buf);
			goto fail;
		}
		if ((nid = OBJ_txt2nid(key)) == NID_undef) {
			*cause = xasprintf("the subject names an unknown "
			    "attribute '%s' (e.g. CN, O, OU, C, "
			    "serialNumber)", key);
			goto fail;
		}
		if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
		    (const unsigned char *)value, -1, -1, 0)) {
			err = crypto_openssl_error();
			*cause = xasprintf("the subject's %s is not accepted: "
			    "%s", key, err);
			free(err);
			goto fail;
		}
		entries++;
	}
	if (entries == 0) {
		*cause = xstrdup("the subject is empty");
		goto fail;
	}
	free(buf);
	return name;
fail:
	free(buf);
	X509_NAME_free(name);
	return NULL;
}

/*
 * Signs a digest with the device key (ECDSA with hash); sets *sig.  On a
 * TPM error returns -1 with *rc set, else -1 with *cause.
 */
static int
identity_sign(struct tpm2d *t, ESYS_TR key, TPMI_ALG_HASH hash,
    const unsigned char *digest, size_t len, TPMT_SIGNATURE **sig,
    TSS2_RC *rc)
{
	TPMT_SIG_SCHEME scheme;
	TPMT_TK_HASHCHECK check;
	TPM2B_DIGEST d;

	memset(&scheme, 0, sizeof scheme);
	memset(&check, 0, sizeof check);
	memset(&d, 0, sizeof d);
	scheme.scheme = TPM2_ALG_ECDSA;
	scheme.details.ecdsa.hashAlg = hash;
	/* The digest was not made by the TPM: a null ticket. */
	check.tag = TPM2_ST_HASHCHECK;
	check.hierarchy = TPM2_RH_NULL;
	d.size = len;
	memcpy(d.buffer, digest, len);
	*rc = Esys_Sign(t->esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &d, &scheme, &check, sig);
	return *rc == TSS2_RC_SUCCESS ? 0 : -1;
}

void
tpm2d_cmd_create_csr(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct json_object *o;
	TPM2B_PUBLIC *pub = NULL;
	TPMT_SIGNATURE *sig = NULL;
	ESYS_TR h = ESYS_TR_NONE;
	X509_NAME *subject = NULL;
	X509_REQ *req = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *bits = NULL;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	TPMI_ALG_HASH hash;
	const EVP_MD *md;
	unsigned char *tbs = NULL, *der = NULL, digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
	size_t derlen;
	const char *s;
	char *cause = NULL, *err, *q, *data, *pem;
	TSS2_RC rc;
	long plen;
	int tbslen;

	if (!json_object_object_get_ex(call->params, "subject", &o) ||
	    !json_object_is_type(o, json_type_string)) {
		call_error(call, PROTO_ERR_INVALID_PARAMETER, "subject",
		    "subject must be a string");
		return;
	}
	s = json_object_get_string(o);
	if ((subject = identity_subject(s, &cause)) == NULL) {
		q = utf8_clean(s, 128);
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "subject",
		    "%s: '%s'", cause, q);
		free(q);
		free(cause);
		return;
	}
	if (identity_open(call, &h, &pub, NULL) == -1)
		goto out;
	if ((key = tpmpub_pkey(&pub->publicArea, &cause)) == NULL)
		goto failed;
	hash = tpm2d_identity_hash(&pub->publicArea);
	md = tpmpub_md(hash);

	/* The request without its signature, then its to-be-signed bytes. */
	if ((req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, subject) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    (alg = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(hash == TPM2_ALG_SHA384 ?
	    NID_ecdsa_with_SHA384 : NID_ecdsa_with_SHA256), V_ASN1_UNDEF,
	    NULL) ||
	    !X509_REQ_set1_signature_algo(req, alg) ||
	    (tbslen = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0 ||
	    !EVP_Digest(tbs, (size_t)tbslen, digest, &dlen, md, NULL))
		goto openssl;
	if (identity_sign(t, h, hash, digest, dlen, &sig, &rc) == -1) {
		tpm2d_call_rc(call, "cannot sign the request with the device "
		    "key", rc);
		goto out;
	}
	if ((der = tpmpub_ecdsa_der(&sig->signature.ecdsa, &derlen,
	    &cause)) == NULL)
		goto failed;
	if ((bits = ASN1_BIT_STRING_new()) == NULL ||
	    !ASN1_BIT_STRING_set(bits, der, (int)derlen))
		goto openssl;
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	/* What the TPM signed must verify as what the request says. */
	if (X509_REQ_verify(req, key) != 1) {
		err = crypto_openssl_error();
		cause = xasprintf("the TPM's signature does not verify: %s",
		    err);
		free(err);
		goto failed;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(bio, req))
		goto openssl;
	plen = BIO_get_mem_data(bio, &data);
	pem = xmalloc((size_t)plen + 1);
	memcpy(pem, data, (size_t)plen);
	pem[plen] = '\0';
	o = json_object_new_object();
	json_object_object_add(o, "csr", json_object_new_string(pem));
	free(pem);
	q = utf8_clean(s, 128);
	call_set_details(call, "subject %s", q);
	free(q);
	call_reply(call, o);
	goto out;

openssl:
	err = crypto_openssl_error();
	cause = xasprintf("cannot build the request: %s", err);
	free(err);
failed:
	call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
	free(cause);
out:
	tpm2d_persistent_close(t, &h);
	BIO_free(bio);
	ASN1_BIT_STRING_free(bits);
	free(der);
	OPENSSL_free(tbs);
	X509_ALGOR_free(alg);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	X509_NAME_free(subject);
	Esys_Free(sig);
	Esys_Free(pub);
}

/*
 * Signs digest (len bytes, made with hash) with the device key into *der
 * (DER ECDSA-Sig-Value, *derlen bytes) and *key (the key's public half);
 * answers the call and returns -1 if it cannot.
 */
static int
identity_sign_der(struct call *call, TPMI_ALG_HASH hash,
    const unsigned char *digest, size_t len, unsigned char **der,
    size_t *derlen, EVP_PKEY **key)
{
	struct tpm2d *t = call_tpm2d(call);
	TPM2B_PUBLIC *pub = NULL;
	TPMT_SIGNATURE *sig = NULL;
	ESYS_TR h = ESYS_TR_NONE;
	char *cause = NULL;
	TSS2_RC rc;
	int ret = -1;

	*der = NULL;
	*key = NULL;
	if (identity_open(call, &h, &pub, NULL) == -1)
		return -1;
	if ((*key = tpmpub_pkey(&pub->publicArea, &cause)) == NULL)
		goto failed;
	if (identity_sign(t, h, hash, digest, len, &sig, &rc) == -1) {
		tpm2d_call_rc(call, "cannot sign with the device key", rc);
		goto out;
	}
	if ((*der = tpmpub_ecdsa_der(&sig->signature.ecdsa, derlen,
	    &cause)) == NULL)
		goto failed;
	ret = 0;
	goto out;
failed:
	call_error(call, PROTO_ERR_FAILED, NULL, "the device key: %s", cause);
	free(cause);
out:
	if (ret == -1) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	tpm2d_persistent_close(t, &h);
	Esys_Free(sig);
	Esys_Free(pub);
	return ret;
}

/* Answers a call with {"signature": base64 of der}. */
static void
identity_reply_signature(struct call *call, const unsigned char *der,
    size_t len)
{
	struct json_object *o = json_object_new_object();
	char *b64 = crypto_base64(der, len);

	json_object_object_add(o, "signature", json_object_new_string(b64));
	free(b64);
	call_reply(call, o);
}

/*
 * Reads the string parameter name (the table checked it is one) as a
 * SHA-256 digest, 64 lower-case hex digits, into out; returns the hex, or
 * NULL if it is no such digest.
 */
static const char *
identity_sha256_param(struct call *call, const char *name,
    unsigned char out[CRYPTO_SHA256_LEN])
{
	const char *hex;

	hex = json_object_get_string(json_object_object_get(call->params,
	    name));
	if (strlen(hex) != 2 * CRYPTO_SHA256_LEN ||
	    crypto_unhex(hex, out, CRYPTO_SHA256_LEN) != CRYPTO_SHA256_LEN)
		return NULL;
	return hex;
}

void
tpm2d_cmd_sign_checkpoint(struct call *call)
{
	unsigned char head[AUDITCHAIN_HASH_LEN], digest[AUDITCHAIN_HASH_LEN];
	unsigned char *der = NULL;
	EVP_PKEY *key = NULL;
	long long seq, time_ms;
	const char *hex;
	char *cause = NULL;
	size_t len;

	/* The table checked the types and ranges. */
	seq = json_object_get_int64(json_object_object_get(call->params,
	    "seq"));
	time_ms = json_object_get_int64(json_object_object_get(call->params,
	    "time_ms"));
	if ((hex = identity_sha256_param(call, "head", head)) == NULL) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "head",
		    "head must be the hash of record %lld: 64 lower-case hex "
		    "digits", seq);
		return;
	}
	/* tpm2d makes the digest itself: this signs checkpoints only. */
	auditchain_checkpoint_digest(seq, time_ms, head, digest);
	if (identity_sign_der(call, TPM2_ALG_SHA256, digest, sizeof digest,
	    &der, &len, &key) == -1)
		return;
	/* What the TPM signed must verify as a verifier checks it. */
	if (auditchain_checkpoint_verify(key, seq, time_ms, head, der, len,
	    &cause) == -1) {
		call_error(call, PROTO_ERR_FAILED, NULL, "the TPM's signature "
		    "of checkpoint #%lld: %s", seq, cause);
		free(cause);
		goto out;
	}
	call_set_details(call, "checkpoint #%lld at %lld ms, head %.16s...",
	    seq, time_ms, hex);
	identity_reply_signature(call, der, len);
out:
	free(der);
	EVP_PKEY_free(key);
}

void
tpm2d_cmd_sign_digest(struct call *call)
{
	unsigned char digest[64], *der = NULL;
	EVP_PKEY *key = NULL;
	TPMI_ALG_HASH hash;
	const char *hex, *purpose;
	char *q;
	size_t len;
	int n;

	hex = json_object_get_string(json_object_object_get(call->params,
	    "digest"));
	purpose = json_object_get_string(json_object_object_get(call->params,
	    "purpose"));
	if (strcmp(purpose, "tls-client") != 0) {
		q = utf8_clean(purpose, 64);
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "purpose",
		    "the device key signs digests only for 'tls-client', not "
		    "for '%s'", q);
		free(q);
		return;
	}
	n = crypto_unhex(hex, digest, sizeof digest);
	if (n == 32)
		hash = TPM2_ALG_SHA256;
	else if (n == 48)
		hash = TPM2_ALG_SHA384;
	else if (n == 64)
		hash = TPM2_ALG_SHA512;
	else {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, "digest",
		    "digest must be a SHA-256, SHA-384 or SHA-512 digest: 64, "
		    "96 or 128 lower-case hex digits");
		return;
	}
	if (identity_sign_der(call, hash, digest, (size_t)n, &der, &len,
	    &key) == -1)
		return;
	call_set_details(call, "a %d-byte digest for %s", n, purpose);
	identity_reply_signature(call, der, len);
	free(der);
	EVP_PKEY_free(key);
}

/*
 * Signs a document of kind (a report, a receipt) whose SHA-256 is the
 * parameter param: tpm2d makes the digest itself, under the kind's own
 * label, so that the signature holds for that kind of document alone.
 */
static void
identity_sign_document(struct call *call, const struct provreport_kind *kind,
    const char *param, const char *what)
{
	unsigned char hash[CRYPTO_SHA256_LEN], digest[CRYPTO_SHA256_LEN];
	unsigned char *der = NULL;
	EVP_PKEY *key = NULL;
	const char *hex;
	size_t len;

	if ((hex = identity_sha256_param(call, param, hash)) == NULL) {
		call_error(call, PROTO_ERR_INVALID_ARGUMENT, param,
		    "%s must be the %s's SHA-256: 64 lower-case hex digits",
		    param, kind->noun);
		return;
	}
	provreport_digest(kind, hash, digest);
	if (identity_sign_der(call, TPM2_ALG_SHA256, digest, sizeof digest,
	    &der, &len, &key) == -1)
		return;
	call_set_details(call, "the %s %.16s...", what, hex);
	identity_reply_signature(call, der, len);
	free(der);
	EVP_PKEY_free(key);
}

void
tpm2d_cmd_sign_report(struct call *call)
{
	identity_sign_document(call, &provreport_report, "report_digest",
	    "provisioning report");
}

void
tpm2d_cmd_sign_receipt(struct call *call)
{
	identity_sign_document(call, &provreport_receipt, "receipt_digest",
	    "install receipt");
}
