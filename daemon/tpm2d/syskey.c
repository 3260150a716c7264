/*
 * The system key: 32 random bytes that tpm2d makes at its first start and
 * seals in the TPM, as a keyed-hash object under a storage primary key of
 * the owner hierarchy, to a policy over a set of PCRs (sha256 bank).  The
 * sealed blob (TPM2B_PUBLIC and TPM2B_PRIVATE, marshalled) is kept in
 * STATE/syskey.blob, the PCR values it was sealed against in
 * STATE/syskey.pcrs; at each start tpm2d unseals it.  When the PCRs
 * changed, the TPM refuses (TPM_RC_POLICY_FAIL) and tpm2d names each PCR
 * whose value differs from the one sealed against.  Secrets derived from
 * the key (PlatformSecret) are HMAC-SHA-256 of a label under it.
 *
 * The primary key is made anew from a fixed template each time (the same
 * seed gives the same key) and flushed at once; the policy session is
 * salted by it and encrypts the unsealed key on its way from the TPM.
 * Every session and object is flushed on every path.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <tss2/tss2_mu.h>

#include "file.h"
#include "log.h"
#include "proto.h"
#include "context.h"
#include "utf8.h"
#include "xmalloc.h"

#define SYSKEY_BLOB "syskey.blob"
#define SYSKEY_PCRS "syskey.pcrs"
/* The largest blob or PCR file tpm2d reads. */
#define SYSKEY_FILE_MAX 16384
/* The longest label of a platform secret. */
#define SYSKEY_LABEL_MAX 256

/* What a sealed key on disk holds, read back. */
struct syskey_sealed {
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	int pcrs[TPM2D_MAX_PCRS];
	size_t npcrs;
	unsigned char values[TPM2D_MAX_PCRS][32];
};

/* Returns the path of a file of the state directory (free it). */
static char *
syskey_path(struct tpm2d *t, const char *name)
{
	return xasprintf("%s/%s", t->state_dir, name);
}

/* Sets the key's state and why; reason may be NULL. */
static void
syskey_set_state(struct tpm2d *t, int state, const char *reason)
{
	free(t->syskey_reason);
	t->syskey_reason = reason != NULL ? xstrdup(reason) : NULL;
	t->syskey_state = state;
	if (state != TPM2D_SYSKEY_UNSEALED)
		explicit_bzero(t->syskey, sizeof t->syskey);
}

/* Makes the storage primary key; ESYS_TR_NONE with *rc set on error. */
static ESYS_TR
syskey_primary(struct tpm2d *t, TSS2_RC *rc)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION none;
	ESYS_TR h = ESYS_TR_NONE;

	memset(&sens, 0, sizeof sens);
	memset(&tmpl, 0, sizeof tmpl);
	memset(&outside, 0, sizeof outside);
	memset(&none, 0, sizeof none);
	/*
	 * As tpm2_createprimary -C o -G ecc256:aes128cfb makes it, with noDA:
	 * its authorization is empty, and a TPM counts every use of a
	 * DA-protected object after a power loss (a shutdown that was not
	 * orderly) as a failed try, so that a few power cuts would lock the
	 * key out (TPM_RC_LOCKOUT).
	 */
	tmpl.publicArea.type = TPM2_ALG_ECC;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED |
	    TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	tmpl.publicArea.parameters.eccDetail.symmetric.algorithm =
	    TPM2_ALG_AES;
	tmpl.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	tmpl.publicArea.parameters.eccDetail.symmetric.mode.aes =
	    TPM2_ALG_CFB;
	tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	tmpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	tmpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	*rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &h,
	    NULL, NULL, NULL, NULL);
	if (*rc != TSS2_RC_SUCCESS)
		return ESYS_TR_NONE;
	return h;
}

/*
 * Computes the policy digest of PolicyPCR over pcrs with their values in
 * a trial session; 0, or -1 with *rc set.
 */
static int
syskey_policy(struct tpm2d *t, const int *pcrs, size_t npcrs,
    unsigned char values[][32], TPM2B_DIGEST *policy, TSS2_RC *rc)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST pcr_digest, *digest = NULL;
	ESYS_TR s = ESYS_TR_NONE;
	EVP_MD_CTX *md;
	unsigned int len = 0;
	size_t i;
	int ret = -1;

	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		fatalx("out of memory");
	for (i = 0; i < npcrs; i++)
		EVP_DigestUpdate(md, values[i], 32);
	EVP_DigestFinal_ex(md, pcr_digest.buffer, &len);
	EVP_MD_CTX_free(md);
	pcr_digest.size = (UINT16)len;

	*rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL,
	    &sym, TPM2_ALG_SHA256, &s);
	if (*rc != TSS2_RC_SUCCESS)
		goto out;
	tpm2d_pcr_selection(pcrs, npcrs, &sel);
	*rc = Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &pcr_digest, &sel);
	if (*rc != TSS2_RC_SUCCESS)
		goto out;
	*rc = Esys_PolicyGetDigest(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &digest);
	if (*rc != TSS2_RC_SUCCESS)
		goto out;
	*policy = *digest;
	ret = 0;
out:
	Esys_Free(digest);
	tpm2d_flush(t, &s);
	return ret;
}

/* Syncs the state directory, so renames and unlinks in it last. */
static void
syskey_sync_dir(struct tpm2d *t)
{
	if (file_sync_dir(t->state_dir) == -1)
		log_warn("cannot sync %s", t->state_dir);
}

/*
 * Overwrites a file with zeros, syncs it and unlinks it; 0 if it is gone
 * (or was never there), -1 with *cause set.
 */
static int
syskey_wipe_file(const char *path, char **cause)
{
	static const unsigned char zeros[4096];
	struct stat sb;
	off_t left;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT)
		return 0;
	if (fd != -1 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		for (left = sb.st_size; left > 0; left -= n) {
			n = write(fd, zeros, left > (off_t)sizeof zeros ?
			    sizeof zeros : (size_t)left);
			if (n <= 0)
				break;
		}
		(void)fsync(fd);
	}
	if (fd != -1)
		close(fd);
	if (unlink(path) == -1 && errno != ENOENT) {
		xcause(cause, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes the PCR values a key is sealed against; 0, or -1 with *cause. */
static int
syskey_write_pcrs(struct tpm2d *t, const int *pcrs, size_t npcrs,
    unsigned char values[][32], char **cause)
{
	struct json_object *o, *a, *e;
	char *hex;
	const char *text;
	size_t i;
	int ret;

	a = json_object_new_array();
	for (i = 0; i < npcrs; i++) {
		e = json_object_new_object();
		hex = tpm2d_hex(values[i], 32);
		json_object_object_add(e, "index",
		    json_object_new_int(pcrs[i]));
		json_object_object_add(e, "value", json_object_new_string(hex));
		free(hex);
		json_object_array_add(a, e);
	}
	o = json_object_new_object();
	json_object_object_add(o, "bank", json_object_new_string("sha256"));
	json_object_object_add(o, "pcrs", a);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	ret = file_write_atomic(t->state_dir, SYSKEY_PCRS, text, strlen(text),
	    0600, cause);
	json_object_put(o);
	return ret;
}

/* Parses 64 hex digits; -1 if s is no SHA-256 value. */
static int
syskey_unhex(const char *s, unsigned char *out)
{
	size_t i;
	int v, c, k;

	if (s == NULL || strlen(s) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		v = 0;
		for (k = 0; k < 2; k++) {
			c = s[2 * i + k];
			if (c >= '0' && c <= '9')
				c -= '0';
			else if (c >= 'a' && c <= 'f')
				c -= 'a' - 10;
			else
				return -1;
			v = v << 4 | c;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* Reads the PCR values a key was sealed against; 0, or -1 with *cause. */
static int
syskey_read_pcrs(struct tpm2d *t, struct syskey_sealed *s, char **cause)
{
	struct json_object *o = NULL, *a, *e, *v;
	char *path, *buf = NULL;
	size_t len, i, n;
	long long idx;
	int ret = -1;

	path = syskey_path(t, SYSKEY_PCRS);
	if (file_read_small(AT_FDCWD, path, SYSKEY_FILE_MAX, &buf, &len) ==
	    -1) {
		xcause(cause, "cannot read %s (the PCR values the system key "
		    "is sealed against): %s", path, strerror(errno));
		goto out;
	}
	o = json_tokener_parse(buf);
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "bank", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "sha256") != 0 ||
	    !json_object_object_get_ex(o, "pcrs", &a) ||
	    !json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) == 0 || n > TPM2D_MAX_PCRS)
		goto bad;
	s->npcrs = 0;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "index", &v) ||
		    !json_object_is_type(v, json_type_int))
			goto bad;
		idx = json_object_get_int64(v);
		if (idx < 0 || idx >= TPM2D_MAX_PCRS ||
		    (i > 0 && idx <= s->pcrs[i - 1]) ||
		    !json_object_object_get_ex(e, "value", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    syskey_unhex(json_object_get_string(v),
		    s->values[i]) == -1)
			goto bad;
		s->pcrs[i] = (int)idx;
		s->npcrs++;
	}
	ret = 0;
	goto out;
bad:
	xcause(cause, "%s is damaged: not the PCR values of a sealed key",
	    path);
out:
	json_object_put(o);
	free(buf);
	free(path);
	return ret;
}

/* Reads the sealed blob; 0, or -1 with *cause set. */
static int
syskey_read_blob(struct tpm2d *t, struct syskey_sealed *s, char **cause)
{
	char *path, *buf = NULL;
	size_t len, off = 0;
	TSS2_RC rc;
	int ret = -1;

	path = syskey_path(t, SYSKEY_BLOB);
	if (file_read_small(AT_FDCWD, path, SYSKEY_FILE_MAX, &buf, &len) ==
	    -1) {
		xcause(cause, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	memset(&s->pub, 0, sizeof s->pub);
	memset(&s->priv, 0, sizeof s->priv);
	rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal((uint8_t *)buf, len, &off,
	    &s->pub);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal((uint8_t *)buf, len, &off,
		    &s->priv);
	if (rc != TSS2_RC_SUCCESS || off != len ||
	    s->pub.publicArea.type != TPM2_ALG_KEYEDHASH) {
		xcause(cause, "%s is damaged: not a sealed key (%s)", path,
		    rc != TSS2_RC_SUCCESS ? tpm2d_rc_str(rc) :
		    off != len ? "bytes after its end" : "not a keyed hash");
		goto out;
	}
	ret = 0;
out:
	free(buf);
	free(path);
	return ret;
}

/*
 * Says which PCRs differ from those sealed against: "PCR 16 changed:
 * sealed against HEX, now HEX; ..." (free it), or NULL when the PCRs
 * cannot be read or none differs.
 */
static char *
syskey_diff(struct tpm2d *t, const struct syskey_sealed *s)
{
	unsigned char now[TPM2D_MAX_PCRS][32];
	char *text = NULL, *one, *was, *is, *cause = NULL;
	size_t i;

	if (tpm2d_pcr_read(t, s->pcrs, s->npcrs, now, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return NULL;
	}
	for (i = 0; i < s->npcrs; i++) {
		if (memcmp(now[i], s->values[i], 32) == 0)
			continue;
		was = tpm2d_hex(s->values[i], 32);
		is = tpm2d_hex(now[i], 32);
		one = xasprintf("%s%sPCR %d changed: sealed against %s, now %s",
		    text != NULL ? text : "", text != NULL ? "; " : "",
		    s->pcrs[i], was, is);
		free(was);
		free(is);
		free(text);
		text = one;
	}
	return text;
}

/* Says "16,23" of a PCR list (free it). */
static char *
syskey_pcr_list(const int *pcrs, size_t n)
{
	char *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < n; i++) {
		t = xasprintf("%s%s%d", s, i > 0 ? "," : "", pcrs[i]);
		free(s);
		s = t;
	}
	return s;
}

/*
 * Unseals the key on disk into key.  Returns 0; or -1 with *refused set
 * when the TPM refused for the PCRs' sake and *reason saying which
 * changed, or with *reason saying what else failed.
 */
static int
syskey_unseal(struct tpm2d *t, struct syskey_sealed *s, unsigned char *key,
    int *refused, char **reason)
{
	TPMT_SYM_DEF sym = {
		.algorithm = TPM2_ALG_AES,
		.keyBits.aes = 128,
		.mode.aes = TPM2_ALG_CFB,
	};
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST empty = { .size = 0 };
	TPM2B_SENSITIVE_DATA *data = NULL;
	ESYS_TR primary = ESYS_TR_NONE, obj = ESYS_TR_NONE;
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC rc = TSS2_RC_SUCCESS;
	char *cause = NULL, *diff;
	int ret = -1;

	*refused = 0;
	if (syskey_read_blob(t, s, &cause) == -1 ||
	    syskey_read_pcrs(t, s, &cause) == -1) {
		*reason = cause;
		return -1;
	}
	if ((primary = syskey_primary(t, &rc)) == ESYS_TR_NONE) {
		*reason = xasprintf("cannot make the storage primary key: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	/* salted by the primary key: the unsealed key travels encrypted */
	rc = Esys_StartAuthSession(t->esys, primary, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
	    &sym, TPM2_ALG_SHA256, &sess);
	if (rc != TSS2_RC_SUCCESS) {
		*reason = xasprintf("cannot start a policy session: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	rc = Esys_Load(t->esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &s->priv, &s->pub, &obj);
	if (rc != TSS2_RC_SUCCESS) {
		*reason = xasprintf("cannot load the sealed system key: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	tpm2d_flush(t, &primary);
	tpm2d_pcr_selection(s->pcrs, s->npcrs, &sel);
	rc = Esys_PolicyPCR(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &empty, &sel);
	if (rc != TSS2_RC_SUCCESS) {
		*reason = xasprintf("PolicyPCR: %s", tpm2d_rc_str(rc));
		goto out;
	}
	rc = Esys_TRSess_SetAttributes(t->esys, sess, TPMA_SESSION_ENCRYPT |
	    TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS) {
		*reason = xasprintf("session attributes: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	rc = Esys_Unseal(t->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE,
	    &data);
	if ((rc & ~(TSS2_RC)0xf00) == TPM2_RC_POLICY_FAIL) {
		*refused = 1;
		diff = syskey_diff(t, s);
		if (diff != NULL)
			*reason = xasprintf("the PCRs changed since the system "
			    "key was sealed: %s", diff);
		else
			*reason = xasprintf("the TPM refused to unseal the "
			    "system key (%s), yet the PCRs sealed to hold the "
			    "values sealed against", tpm2d_rc_str(rc));
		free(diff);
		goto out;
	}
	if (rc != TSS2_RC_SUCCESS) {
		*reason = xasprintf("cannot unseal the system key: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	if (data->size != sizeof t->syskey) {
		*reason = xasprintf("the sealed system key has %u bytes, not "
		    "%zu", (unsigned)data->size, sizeof t->syskey);
		goto out;
	}
	memcpy(key, data->buffer, sizeof t->syskey);
	ret = 0;
out:
	if (ret == -1)
		tpm2d_tpm_check(t, rc);
	if (data != NULL) {
		explicit_bzero(data, sizeof *data);
		Esys_Free(data);
	}
	tpm2d_flush(t, &sess);
	tpm2d_flush(t, &obj);
	tpm2d_flush(t, &primary);
	return ret;
}

/* Makes a new system key, seals it and writes it; 0, or -1 with *reason. */
static int
syskey_create(struct tpm2d *t, char **reason)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_DATA outside;
	TPM2B_DIGEST *rnd = NULL;
	TPML_PCR_SELECTION none;
	unsigned char values[TPM2D_MAX_PCRS][32];
	unsigned char key[32], blob[sizeof(TPM2B_PUBLIC) +
	    sizeof(TPM2B_PRIVATE)];
	ESYS_TR primary = ESYS_TR_NONE;
	size_t off = 0, i;
	char *cause = NULL;
	TSS2_RC rc = TSS2_RC_SUCCESS;
	int ret = -1;

	if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
		fatal("getrandom");
	/* mixed with the TPM's own random numbers */
	rc = Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    sizeof key, &rnd);
	if (rc != TSS2_RC_SUCCESS) {
		*reason = xasprintf("TPM2_GetRandom: %s", tpm2d_rc_str(rc));
		goto out;
	}
	for (i = 0; i < rnd->size && i < sizeof key; i++)
		key[i] ^= rnd->buffer[i];
	if (tpm2d_pcr_read(t, t->seal_pcrs, t->nseal_pcrs, values, &cause) ==
	    -1) {
		*reason = cause;
		goto out;
	}
	memset(&tmpl, 0, sizeof tmpl);
	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	/* no userWithAuth: only the PCR policy lets it be unsealed */
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_ADMINWITHPOLICY |
	    TPMA_OBJECT_NODA;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme =
	    TPM2_ALG_NULL;
	if (syskey_policy(t, t->seal_pcrs, t->nseal_pcrs, values,
	    &tmpl.publicArea.authPolicy, &rc) == -1) {
		*reason = xasprintf("cannot compute the PCR policy: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	memset(&sens, 0, sizeof sens);
	sens.sensitive.data.size = sizeof key;
	memcpy(sens.sensitive.data.buffer, key, sizeof key);
	memset(&outside, 0, sizeof outside);
	memset(&none, 0, sizeof none);
	if ((primary = syskey_primary(t, &rc)) == ESYS_TR_NONE) {
		*reason = xasprintf("cannot make the storage primary key: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	rc = Esys_Create(t->esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &priv, &pub, NULL,
	    NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		*reason = xasprintf("cannot seal the system key: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, blob, sizeof blob, &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, blob, sizeof blob,
		    &off);
	if (rc != TSS2_RC_SUCCESS) {
		*reason = xasprintf("cannot marshal the sealed key: %s",
		    tpm2d_rc_str(rc));
		goto out;
	}
	/* the expected values first: a blob is never without them */
	if (syskey_write_pcrs(t, t->seal_pcrs, t->nseal_pcrs, values,
	    &cause) == -1) {
		*reason = cause;
		goto out;
	}
	if (file_write_atomic(t->state_dir, SYSKEY_BLOB, blob, off, 0600,
	    &cause) == -1) {
		*reason = cause;
		goto out;
	}
	memcpy(t->syskey, key, sizeof key);
	memcpy(t->sealed_pcrs, t->seal_pcrs, sizeof t->sealed_pcrs);
	t->nsealed_pcrs = t->nseal_pcrs;
	ret = 0;
out:
	if (ret == -1)
		tpm2d_tpm_check(t, rc);
	explicit_bzero(key, sizeof key);
	explicit_bzero(&sens, sizeof sens);
	if (rnd != NULL) {
		explicit_bzero(rnd, sizeof *rnd);
		Esys_Free(rnd);
	}
	Esys_Free(pub);
	Esys_Free(priv);
	tpm2d_flush(t, &primary);
	return ret;
}

/* Says whether a file of the state directory exists. */
static int
syskey_exists(struct tpm2d *t, const char *name)
{
	struct stat sb;
	char *path = syskey_path(t, name);
	int r;

	r = lstat(path, &sb) == 0;
	free(path);
	return r;
}

void
tpm2d_syskey_init(struct tpm2d *t)
{
	struct syskey_sealed s;
	char *reason = NULL, *list, *cause = NULL, *path;
	int refused;

	/* the key stays in memory that is never swapped out, where it can */
	if (mlock(t->syskey, sizeof t->syskey) == -1)
		log_debug("cannot lock the system key's memory: %s",
		    strerror(errno));

	if (!syskey_exists(t, SYSKEY_BLOB)) {
		/* values without a blob: a start that died half-way */
		path = syskey_path(t, SYSKEY_PCRS);
		if (syskey_wipe_file(path, &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
		}
		free(path);
		list = syskey_pcr_list(t->seal_pcrs, t->nseal_pcrs);
		if (syskey_create(t, &reason) == -1) {
			syskey_set_state(t, TPM2D_SYSKEY_ERROR, reason);
			tpm2d_audit(t, "syskey", "system key", "error",
			    "cannot make the system key: %s", reason);
		} else {
			syskey_set_state(t, TPM2D_SYSKEY_UNSEALED, NULL);
			tpm2d_audit(t, "syskey", "system key", "ok",
			    "system key created, sealed to PCRs %s (sha256)",
			    list);
		}
		free(list);
		free(reason);
		return;
	}

	memset(&s, 0, sizeof s);
	if (syskey_unseal(t, &s, t->syskey, &refused, &reason) == 0) {
		memcpy(t->sealed_pcrs, s.pcrs, sizeof t->sealed_pcrs);
		t->nsealed_pcrs = s.npcrs;
		list = syskey_pcr_list(s.pcrs, s.npcrs);
		syskey_set_state(t, TPM2D_SYSKEY_UNSEALED, NULL);
		tpm2d_audit(t, "syskey", "system key", "ok",
		    "system key unsealed (PCRs %s)", list);
		if (s.npcrs != t->nseal_pcrs || memcmp(s.pcrs, t->seal_pcrs,
		    s.npcrs * sizeof s.pcrs[0]) != 0)
			log_warnx("the system key is sealed to PCRs %s, not "
			    "to those of --seal-pcrs: they apply to the next "
			    "key (after ResetSystemKey)", list);
		free(list);
	} else if (refused) {
		memcpy(t->sealed_pcrs, s.pcrs, sizeof t->sealed_pcrs);
		t->nsealed_pcrs = s.npcrs;
		syskey_set_state(t, TPM2D_SYSKEY_REFUSED, reason);
		tpm2d_audit(t, "syskey", "system key", "refused", "%s",
		    reason);
	} else {
		syskey_set_state(t, TPM2D_SYSKEY_ERROR, reason);
		tpm2d_audit(t, "syskey", "system key", "error", "%s", reason);
	}
	explicit_bzero(&s, sizeof s);
	free(reason);
}

void
tpm2d_syskey_free(struct tpm2d *t)
{
	explicit_bzero(t->syskey, sizeof t->syskey);
	(void)munlock(t->syskey, sizeof t->syskey);
}

void
tpm2d_cmd_platform_secret(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct json_object *p;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	const char *label;
	char *hex, *clean;
	size_t n;

	label = json_object_get_string(json_object_object_get(call->params,
	    "label"));
	n = strlen(label);
	clean = utf8_clean(label, 80);
	call_set_details(call, "label '%s'", clean);
	free(clean);
	if (n == 0 || n > SYSKEY_LABEL_MAX || !utf8_valid(label, n)) {
		call_error(call, PROTO_ERR_INVALID_PARAMETER, "label",
		    "'label' must be UTF-8 text of 1 to %d bytes",
		    SYSKEY_LABEL_MAX);
		return;
	}
	if (t->syskey_state != TPM2D_SYSKEY_UNSEALED) {
		call_error(call, TPM2D_ERR_SYSKEY, NULL, "the system key is "
		    "not unsealed: %s", t->syskey_reason != NULL ?
		    t->syskey_reason : "no reason known");
		return;
	}
	if (HMAC(EVP_sha256(), t->syskey, sizeof t->syskey,
	    (const unsigned char *)label, n, mac, &len) == NULL)
		fatalx("HMAC-SHA-256 failed");
	hex = tpm2d_hex(mac, len);
	explicit_bzero(mac, sizeof mac);
	p = json_object_new_object();
	json_object_object_add(p, "secret", json_object_new_string(hex));
	explicit_bzero(hex, strlen(hex));
	free(hex);
	call_reply(call, p);
}

void
tpm2d_cmd_reset_system_key(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	char *blob, *pcrs, *cause = NULL;
	int failed = 0;

	blob = syskey_path(t, SYSKEY_BLOB);
	pcrs = syskey_path(t, SYSKEY_PCRS);
	/* the blob first: values without a blob are removed at start */
	if (syskey_wipe_file(blob, &cause) == -1 ||
	    syskey_wipe_file(pcrs, &cause) == -1)
		failed = 1;
	syskey_sync_dir(t);
	free(blob);
	free(pcrs);
	if (failed) {
		syskey_set_state(t, TPM2D_SYSKEY_ERROR, cause);
		call_error(call, PROTO_ERR_FAILED, NULL, "%s", cause);
		tpm2d_audit(t, "syskey", "system key", "error",
		    "reset failed: %s", cause);
		free(cause);
		return;
	}
	t->nsealed_pcrs = 0;
	syskey_set_state(t, TPM2D_SYSKEY_ABSENT, "destroyed by "
	    "ResetSystemKey: a new system key is made at tpm2d's next start");
	tpm2d_audit(t, "syskey", "system key", "ok", "system key destroyed "
	    "(blob and expected PCR values wiped)");
	call_set_details(call, "system key destroyed");
	call_reply(call, NULL);
}

void
tpm2d_cmd_check_system_key(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct syskey_sealed s;
	struct json_object *p;
	unsigned char key[32];
	char *reason = NULL;
	int refused, ok;

	p = json_object_new_object();
	memset(&s, 0, sizeof s);
	if (!syskey_exists(t, SYSKEY_BLOB)) {
		ok = 0;
		reason = xstrdup("there is no sealed system key");
	} else
		ok = syskey_unseal(t, &s, key, &refused, &reason) == 0;
	explicit_bzero(key, sizeof key);
	explicit_bzero(&s, sizeof s);
	json_object_object_add(p, "unseals", json_object_new_boolean(ok));
	json_object_object_add(p, "reason", reason != NULL ?
	    json_object_new_string(reason) : NULL);
	call_set_details(call, "%s", ok ? "unseals" : reason);
	free(reason);
	call_reply(call, p);
}
