/*
 * Version floors in the TPM (anti-rollback): org.cml.TPM.Floors and
 * RaiseFloor, and the table they keep in one NV index (floor.h says its
 * format).  cmld keeps the same floors in its database and takes the
 * higher of both, so that a database put back from an older copy cannot
 * lower a floor while the TPM holds it.
 *
 * The index is defined at the first RaiseFloor, in the owner hierarchy
 * with owner authorization (empty, as for every key tpm2d makes):
 * ownerwrite|writeall|ownerread|authread|no_da, an ordinary index, not
 * orderly (each write reaches the TPM's NV before the command completes),
 * with no policy.  Only the owner hierarchy writes it, and only whole
 * (writeall); anyone may read it.  Its size is at most FLOOR_SIZE_MAX and
 * at most what one TPM2_NV_Write takes, so each change is one command and
 * the TPM holds the old table or the new one after a power cut.  Every
 * write is read back and compared.
 *
 * An index at FLOOR_HANDLE with other attributes is another's: it is
 * never used or written.  Nor is a table tpm2d cannot read (a newer
 * format, damage): a floor is never rewritten from what is not understood.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "crypto.h"
#include "floor.h"
#include "log.h"
#include "names.h"
#include "proto.h"
#include "context.h"
#include "utf8.h"
#include "xmalloc.h"

/* The index's attributes (TPMA_NV_WRITTEN comes with the first write). */
#define FLOOR_NV_ATTRS \
	(TPMA_NV_OWNERWRITE | TPMA_NV_WRITEALL | TPMA_NV_OWNERREAD | \
	TPMA_NV_AUTHREAD | TPMA_NV_NO_DA)

/* The errors of floors (varlink/org.cml.TPM.varlink). */
#define FLOOR_ERR_UNAVAILABLE "org.cml.TPM.FloorUnavailable"
#define FLOOR_ERR_FULL "org.cml.TPM.FloorTableFull"

/* --- the table, without a TPM ----------------------------------------- */

size_t
floor_capacity(size_t size)
{
	if (size < FLOOR_SIZE_MIN)
		return 0;
	if (size > FLOOR_SIZE_MAX)
		size = FLOOR_SIZE_MAX;
	return (size - FLOOR_HEADER_LEN) / FLOOR_ENTRY_LEN;
}

int
floor_kind_ok(const char *kind)
{
	enum bundle_kind k;

	for (k = BUNDLE_GUESTOS; k <= BUNDLE_BOOT; k++)
		if (strcmp(kind, bundle_kind_name(k)) == 0)
			return 1;
	return 0;
}

/* Reads a version names_version_ok accepted into its parts. */
static void
floor_version_parts(const char *version, uint32_t parts[NAMES_VERSION_PARTS])
{
	const char *p = version;
	char *end;
	size_t i;

	memset(parts, 0, NAMES_VERSION_PARTS * sizeof parts[0]);
	for (i = 0; i < NAMES_VERSION_PARTS && *p != '\0'; i++) {
		parts[i] = (uint32_t)strtoul(p, &end, 10);
		p = *end == '.' ? end + 1 : end;
	}
}

void
floor_version_text(const uint32_t parts[NAMES_VERSION_PARTS], char *buf)
{
	size_t n = NAMES_VERSION_PARTS, i, off = 0;

	while (n > 1 && parts[n - 1] == 0)
		n--;
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, FLOOR_VERSION_TEXT - off,
		    "%s%u", i > 0 ? "." : "", (unsigned)parts[i]);
}

static uint32_t
floor_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
floor_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

void
floor_table_init(struct floor_table *ft, size_t size)
{
	memset(ft, 0, sizeof *ft);
	ft->size = size;
}

int
floor_decode(const unsigned char *buf, size_t size, struct floor_table *ft,
    char **cause)
{
	const unsigned char *e;
	size_t count, cap, i, j;

	floor_table_init(ft, size);
	if (size < FLOOR_SIZE_MIN || size > FLOOR_SIZE_MAX) {
		xcause(cause, "%zu bytes, not %d to %d", size, FLOOR_SIZE_MIN,
		    FLOOR_SIZE_MAX);
		return -1;
	}
	if (memcmp(buf, FLOOR_MAGIC, 4) != 0) {
		xcause(cause, "it does not start with \"%s\"", FLOOR_MAGIC);
		return -1;
	}
	if (buf[4] != FLOOR_FORMAT) {
		xcause(cause, "format %u, which this tpm2d does not know (it "
		    "reads and writes format %d)", (unsigned)buf[4],
		    FLOOR_FORMAT);
		return -1;
	}
	count = (size_t)buf[6] << 8 | buf[7];
	cap = floor_capacity(size);
	if (buf[5] != 0 || count > cap) {
		xcause(cause, "its header says %zu entries of room for %zu",
		    count, cap);
		return -1;
	}
	for (i = 0; i < count; i++) {
		e = buf + FLOOR_HEADER_LEN + i * FLOOR_ENTRY_LEN;
		memcpy(ft->entries[i].key, e, FLOOR_KEY_LEN);
		if (i > 0 && memcmp(ft->entries[i - 1].key, e,
		    FLOOR_KEY_LEN) >= 0) {
			xcause(cause, "entry %zu is out of order", i + 1);
			return -1;
		}
		for (j = 0; j < NAMES_VERSION_PARTS; j++) {
			ft->entries[i].parts[j] = floor_get32(e +
			    FLOOR_KEY_LEN + 4 * j);
			/* names_version_ok's largest part */
			if (ft->entries[i].parts[j] > 999999999) {
				xcause(cause, "entry %zu holds no version",
				    i + 1);
				return -1;
			}
		}
	}
	for (i = FLOOR_HEADER_LEN + count * FLOOR_ENTRY_LEN; i < size; i++) {
		if (buf[i] != 0) {
			xcause(cause, "byte %zu after its %zu entries is not "
			    "zero", i, count);
			return -1;
		}
	}
	ft->count = count;
	return 0;
}

void
floor_encode(const struct floor_table *ft, unsigned char *buf)
{
	unsigned char *e;
	size_t i, j;

	memset(buf, 0, ft->size);
	memcpy(buf, FLOOR_MAGIC, 4);
	buf[4] = FLOOR_FORMAT;
	buf[6] = (unsigned char)(ft->count >> 8);
	buf[7] = (unsigned char)ft->count;
	for (i = 0; i < ft->count; i++) {
		e = buf + FLOOR_HEADER_LEN + i * FLOOR_ENTRY_LEN;
		memcpy(e, ft->entries[i].key, FLOOR_KEY_LEN);
		for (j = 0; j < NAMES_VERSION_PARTS; j++)
			floor_put32(e + FLOOR_KEY_LEN + 4 * j,
			    ft->entries[i].parts[j]);
	}
}

int
floor_raise(struct floor_table *ft, const unsigned char key[FLOOR_KEY_LEN],
    const char *version, char *old, char *now)
{
	struct floor_entry *e;
	size_t i;
	int c = 1;

	old[0] = '\0';
	/* the entries are sorted: i is key's place, found or to be made */
	for (i = 0; i < ft->count; i++)
		if ((c = memcmp(ft->entries[i].key, key, FLOOR_KEY_LEN)) >= 0)
			break;
	if (i < ft->count && c == 0) {
		e = &ft->entries[i];
		floor_version_text(e->parts, old);
		if (names_version_cmp(version, old) <= 0) {
			memcpy(now, old, FLOOR_VERSION_TEXT);
			return 0;
		}
	} else {
		if (ft->count >= floor_capacity(ft->size)) {
			now[0] = '\0';
			return -1;
		}
		memmove(&ft->entries[i + 1], &ft->entries[i],
		    (ft->count - i) * sizeof ft->entries[0]);
		ft->count++;
		e = &ft->entries[i];
		memcpy(e->key, key, FLOOR_KEY_LEN);
	}
	floor_version_parts(version, e->parts);
	floor_version_text(e->parts, now);
	return 1;
}

/* --- the index in the TPM ----------------------------------------------- */

/* What the TPM holds at FLOOR_HANDLE, read. */
struct floor_state {
	ESYS_TR h; /* the index, or ESYS_TR_NONE while it is not defined */
	struct floor_table table;
};

/* Returns 1 if rc is the TPM's: it refused, rather than broke. */
static int
floor_rc_tpm(TSS2_RC rc)
{
	return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER;
}

/*
 * Works out the size of an index the TPM can write in one command:
 * FLOOR_SIZE_MAX, or less where TPM2_PT_NV_BUFFER_MAX or
 * TPM2_PT_NV_INDEX_MAX say less.  0, or -1 with *cause set.
 */
static int
floor_size(struct tpm2d *t, size_t *size, char **cause)
{
	UINT32 buffer, index;

	buffer = tpm2d_property(t, TPM2_PT_NV_BUFFER_MAX);
	index = tpm2d_property(t, TPM2_PT_NV_INDEX_MAX);
	*size = FLOOR_SIZE_MAX;
	if (buffer < *size)
		*size = buffer;
	if (index != 0 && index < *size)
		*size = index;
	if (*size < FLOOR_SIZE_MIN) {
		xcause(cause, "the TPM writes %u bytes of NV in one command "
		    "(TPM2_PT_NV_BUFFER_MAX), too few for one floor (%d "
		    "bytes)", (unsigned)buffer, FLOOR_SIZE_MIN);
		return -1;
	}
	return 0;
}

/* Closes the index's ESYS object; ESYS_TR_NONE does nothing. */
static void
floor_close(struct tpm2d *t, struct floor_state *fs)
{
	if (fs->h != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->esys, &fs->h);
	fs->h = ESYS_TR_NONE;
}

/*
 * Checks that the index's public area is the floor index's; -1 with
 * *cause set when it is another's, or one this TPM cannot write whole.
 */
static int
floor_check_public(struct tpm2d *t, const TPMS_NV_PUBLIC *p, char **cause)
{
	UINT32 buffer;

	if ((p->attributes & ~TPMA_NV_WRITTEN) != FLOOR_NV_ATTRS ||
	    p->nameAlg != TPM2_ALG_SHA256 || p->authPolicy.size != 0 ||
	    p->dataSize < FLOOR_SIZE_MIN || p->dataSize > FLOOR_SIZE_MAX) {
		xcause(cause, "the TPM's NV index at 0x%08x is not cml's "
		    "floor index (attributes 0x%08x, %u bytes; cml's has "
		    "0x%08x, %d to %d bytes, no policy): it is left alone, "
		    "and the floors are kept in cmld's database only; remove "
		    "it (tpm2_nvundefine 0x%08x) if nothing uses it",
		    FLOOR_HANDLE, (unsigned)p->attributes,
		    (unsigned)p->dataSize, (unsigned)FLOOR_NV_ATTRS,
		    FLOOR_SIZE_MIN, FLOOR_SIZE_MAX, FLOOR_HANDLE);
		return -1;
	}
	buffer = tpm2d_property(t, TPM2_PT_NV_BUFFER_MAX);
	if (p->dataSize > buffer) {
		xcause(cause, "the floor index at 0x%08x has %u bytes, but "
		    "the TPM writes only %u in one command "
		    "(TPM2_PT_NV_BUFFER_MAX): a change could not replace it "
		    "at once", FLOOR_HANDLE, (unsigned)p->dataSize,
		    (unsigned)buffer);
		return -1;
	}
	return 0;
}

/* Reads the index's size bytes into buf; 0, or -1 with *rc set. */
static int
floor_read(struct tpm2d *t, ESYS_TR h, size_t size, unsigned char *buf,
    TSS2_RC *rc)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;

	*rc = Esys_NV_Read(t->esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)size, 0, &data);
	if (*rc != TSS2_RC_SUCCESS)
		return -1;
	if (data->size != size) {
		*rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
		Esys_Free(data);
		return -1;
	}
	memcpy(buf, data->buffer, size);
	Esys_Free(data);
	return 0;
}

/*
 * Reads what the TPM holds into fs: the index and its table, or, while it
 * is not defined, fs->h ESYS_TR_NONE and an empty table of the size it
 * would have.  0; -1 with *rc set on a TPM error (*cause says what
 * failed), or with *rc 0 and *cause set when the TPM cannot hold the
 * floors (another's index, a table not understood, the owner hierarchy
 * disabled, too little NV for one write).
 */
static int
floor_load(struct tpm2d *t, struct floor_state *fs, TSS2_RC *rc,
    char **cause)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	unsigned char buf[FLOOR_SIZE_MAX];
	size_t size;
	char *why = NULL;
	int ret = -1;

	fs->h = ESYS_TR_NONE;
	*rc = Esys_TR_FromTPMPublic(t->esys, FLOOR_HANDLE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &fs->h);
	if (*rc != TSS2_RC_SUCCESS) {
		fs->h = ESYS_TR_NONE;
		if (tpm2d_rc_base(*rc) != TPM2_RC_HANDLE) {
			xcause(cause, "cannot read the public area of the NV "
			    "index at 0x%08x", FLOOR_HANDLE);
			return -1;
		}
		/* not defined: an owner index is hidden while shEnable is
		 * clear, and cannot be defined then */
		*rc = 0;
		if (!(tpm2d_property(t, TPM2_PT_STARTUP_CLEAR) &
		    TPMA_STARTUP_CLEAR_SHENABLE)) {
			xcause(cause, "the TPM's owner hierarchy is disabled "
			    "(shEnable is clear in TPM2_PT_STARTUP_CLEAR): "
			    "its NV indices cannot be used until the "
			    "platform enables it");
			return -1;
		}
		if (floor_size(t, &size, cause) == -1)
			return -1;
		floor_table_init(&fs->table, size);
		return 0;
	}
	*rc = Esys_NV_ReadPublic(t->esys, fs->h, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &pub, &name);
	if (*rc != TSS2_RC_SUCCESS) {
		xcause(cause, "cannot read the public area of the floor index "
		    "at 0x%08x", FLOOR_HANDLE);
		goto out;
	}
	if (floor_check_public(t, &pub->nvPublic, cause) == -1)
		goto out;
	size = pub->nvPublic.dataSize;
	if (!(pub->nvPublic.attributes & TPMA_NV_WRITTEN)) {
		/* defined, the first write never came: no floor yet */
		floor_table_init(&fs->table, size);
		ret = 0;
		goto out;
	}
	if (floor_read(t, fs->h, size, buf, rc) == -1) {
		xcause(cause, "cannot read the floor index at 0x%08x",
		    FLOOR_HANDLE);
		goto out;
	}
	if (floor_decode(buf, size, &fs->table, &why) == -1) {
		xcause(cause, "the floor index at 0x%08x holds no floor table "
		    "this tpm2d can read (%s): it is left as it is, and the "
		    "floors are kept in cmld's database only", FLOOR_HANDLE,
		    why);
		free(why);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		floor_close(t, fs);
	Esys_Free(pub);
	Esys_Free(name);
	return ret;
}

/*
 * Defines the index for fs->table; 0, or -1 with *rc set.  A TPM that
 * refuses (no room in its NV, a disabled hierarchy) is remembered, so
 * that Floors says why until a definition succeeds.
 */
static int
floor_define(struct tpm2d *t, struct floor_state *fs, TSS2_RC *rc)
{
	TPM2B_AUTH auth;
	TPM2B_NV_PUBLIC pub;

	memset(&auth, 0, sizeof auth);
	memset(&pub, 0, sizeof pub);
	pub.nvPublic.nvIndex = FLOOR_HANDLE;
	pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub.nvPublic.attributes = FLOOR_NV_ATTRS |
	    TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT;
	pub.nvPublic.dataSize = (UINT16)fs->table.size;
	*rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &fs->h);
	if (*rc != TSS2_RC_SUCCESS) {
		fs->h = ESYS_TR_NONE;
		if (floor_rc_tpm(*rc)) {
			free(t->floor_reason);
			t->floor_reason = xasprintf("the TPM cannot define "
			    "the floor index at 0x%08x (%zu bytes): %s",
			    FLOOR_HANDLE, fs->table.size, tpm2d_rc_str(*rc));
		}
		return -1;
	}
	free(t->floor_reason);
	t->floor_reason = NULL;
	tpm2d_audit(t, "floor", "floor index", "ok", "defined the floor "
	    "index at 0x%08x (%zu bytes, room for %zu floors)", FLOOR_HANDLE,
	    fs->table.size, floor_capacity(fs->table.size));
	return 0;
}

/*
 * Writes fs->table over the whole index in one command and reads it back;
 * 0, or -1 with *cause set and *rc (0 when the read back differs).
 */
static int
floor_write(struct tpm2d *t, struct floor_state *fs, TSS2_RC *rc,
    char **cause)
{
	TPM2B_MAX_NV_BUFFER data;
	unsigned char back[FLOOR_SIZE_MAX];

	memset(&data, 0, sizeof data);
	data.size = (UINT16)fs->table.size;
	floor_encode(&fs->table, data.buffer);
	*rc = Esys_NV_Write(t->esys, ESYS_TR_RH_OWNER, fs->h,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &data, 0);
	if (*rc != TSS2_RC_SUCCESS) {
		xcause(cause, "cannot write the floor index at 0x%08x",
		    FLOOR_HANDLE);
		return -1;
	}
	if (floor_read(t, fs->h, fs->table.size, back, rc) == -1) {
		xcause(cause, "cannot read the floor index at 0x%08x back "
		    "after writing it", FLOOR_HANDLE);
		return -1;
	}
	if (memcmp(back, data.buffer, fs->table.size) != 0) {
		*rc = 0;
		xcause(cause, "the floor index at 0x%08x reads back other "
		    "than tpm2d wrote: check the TPM", FLOOR_HANDLE);
		return -1;
	}
	return 0;
}

void
tpm2d_cmd_floors(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct floor_state fs;
	struct json_object *p, *a, *e;
	char index[16], key[2 * FLOOR_KEY_LEN + 1];
	char version[FLOOR_VERSION_TEXT], *cause = NULL;
	TSS2_RC rc;
	size_t i;
	int ok;

	memset(&fs, 0, sizeof fs);
	ok = floor_load(t, &fs, &rc, &cause) == 0;
	if (!ok && rc != 0) {
		tpm2d_call_rc(call, cause, rc);
		free(cause);
		return;
	}
	/* not defined, and the TPM refused to define it at the last try */
	if (ok && fs.h == ESYS_TR_NONE && t->floor_reason != NULL) {
		ok = 0;
		cause = xstrdup(t->floor_reason);
	}
	(void)snprintf(index, sizeof index, "0x%08x", FLOOR_HANDLE);
	a = json_object_new_array();
	for (i = 0; ok && i < fs.table.count; i++) {
		crypto_hex(fs.table.entries[i].key, FLOOR_KEY_LEN, key);
		floor_version_text(fs.table.entries[i].parts, version);
		e = json_object_new_object();
		json_object_object_add(e, "key", json_object_new_string(key));
		json_object_object_add(e, "version",
		    json_object_new_string(version));
		json_object_array_add(a, e);
	}
	p = json_object_new_object();
	json_object_object_add(p, "available", json_object_new_boolean(ok));
	json_object_object_add(p, "index", json_object_new_string(index));
	json_object_object_add(p, "capacity", json_object_new_int64(ok ?
	    (int64_t)floor_capacity(fs.table.size) : 0));
	json_object_object_add(p, "floors", a);
	if (!ok)
		json_object_object_add(p, "reason",
		    json_object_new_string(cause));
	floor_close(t, &fs);
	free(cause);
	call_reply(call, p);
}

/*
 * Reads RaiseFloor's parameters (the table checked they are strings);
 * answers the call and returns -1 when one is not what it must be.
 */
static int
floor_params(struct call *call, const char **kind, const char **name,
    const char **version)
{
	const char *param, *value, *what;
	char *q;

	*kind = json_object_get_string(json_object_object_get(call->params,
	    "kind"));
	*name = json_object_get_string(json_object_object_get(call->params,
	    "name"));
	*version = json_object_get_string(json_object_object_get(call->params,
	    "version"));
	if (!floor_kind_ok(*kind)) {
		param = "kind";
		value = *kind;
		what = "one of guestos, configs, cml and boot";
	} else if (!names_guestos_ok(*name)) {
		param = "name";
		value = *name;
		what = "1 to 64 of a-z, 0-9, '.', '_' and '-', the first a "
		    "letter or digit";
	} else if (!names_version_ok(*version)) {
		param = "version";
		value = *version;
		what = "1 to 4 numbers joined by dots, without leading "
		    "zeros, each at most 999999999 (such as 1.2.3)";
	} else
		return 0;
	q = utf8_clean(value, 80);
	call_error(call, PROTO_ERR_INVALID_ARGUMENT, param, "%s must be %s, "
	    "not '%s'", param, what, q);
	free(q);
	return -1;
}

/*
 * Raises the floor of object in the TPM (defining the index if it is not
 * there); returns 1 if it rose, 0 if it stays (version not above it), or
 * -1 with *err (an error name) and *cause set, and *rc on a TPM error.
 * old and now: as floor_raise says.
 */
static int
floor_raise_tpm(struct tpm2d *t, const char *kind, const char *name,
    const char *version, char *old, char *now, const char **err,
    TSS2_RC *rc, char **cause)
{
	struct floor_state fs;
	unsigned char key[FLOOR_KEY_LEN];
	int r;

	memset(&fs, 0, sizeof fs);
	*rc = 0;
	*err = TPM2D_ERR_TPM;
	if (floor_load(t, &fs, rc, cause) == -1) {
		if (*rc == 0)
			*err = FLOOR_ERR_UNAVAILABLE;
		return -1;
	}
	crypto_floor_key(kind, name, key);
	if ((r = floor_raise(&fs.table, key, version, old, now)) == -1) {
		*err = FLOOR_ERR_FULL;
		xcause(cause, "the TPM's floor index holds %zu floors: it has "
		    "no room for %s/%s and keeps the old ones; that floor is "
		    "kept in cmld's database only", fs.table.count, kind,
		    name);
		goto out;
	}
	if (r == 0)
		goto out;
	if (fs.h == ESYS_TR_NONE && floor_define(t, &fs, rc) == -1) {
		if (floor_rc_tpm(*rc)) {
			/* the TPM refused: no room, a hierarchy disabled */
			*err = FLOOR_ERR_UNAVAILABLE;
			*rc = 0;
			xcause(cause, "%s", t->floor_reason);
		} else
			xcause(cause, "cannot define the floor index at "
			    "0x%08x", FLOOR_HANDLE);
		r = -1;
		goto out;
	}
	if (floor_write(t, &fs, rc, cause) == -1) {
		if (*rc == 0)
			*err = PROTO_ERR_FAILED;
		r = -1;
	}
out:
	floor_close(t, &fs);
	return r;
}

void
tpm2d_cmd_raise_floor(struct call *call)
{
	struct tpm2d *t = call_tpm2d(call);
	struct json_object *p;
	char old[FLOOR_VERSION_TEXT], now[FLOOR_VERSION_TEXT];
	char *cause = NULL, *object;
	const char *kind, *name, *version, *err, *was;
	TSS2_RC rc;
	int r;

	if (floor_params(call, &kind, &name, &version) == -1)
		return;
	object = xasprintf("%s/%s", kind, name);
	r = floor_raise_tpm(t, kind, name, version, old, now, &err, &rc,
	    &cause);
	if (r == -1) {
		tpm2d_audit(t, "floor", object, rc != 0 ||
		    strcmp(err, PROTO_ERR_FAILED) == 0 ? "error" : "refused",
		    "cannot raise the floor to %s: %s%s%s", version, cause,
		    rc != 0 ? ": " : "", rc != 0 ? tpm2d_rc_str(rc) : "");
		if (rc != 0)
			tpm2d_call_rc(call, cause, rc);
		else
			call_error(call, err, NULL, "%s", cause);
		goto out;
	}
	was = old[0] != '\0' ? old : "none";
	if (r == 1) {
		tpm2d_audit(t, "floor", object, "ok", "floor raised: %s -> %s",
		    was, now);
		call_set_details(call, "%s: floor raised: %s -> %s", object,
		    was, now);
	} else
		call_set_details(call, "%s: floor stays at %s (asked %s)",
		    object, now, version);
	p = json_object_new_object();
	json_object_object_add(p, "version", json_object_new_string(now));
	json_object_object_add(p, "raised", json_object_new_boolean(r == 1));
	call_reply(call, p);
out:
	free(cause);
	free(object);
}
