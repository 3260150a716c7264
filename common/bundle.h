/*
 * Update bundles (cml-bundle(5)): one file that carries payloads, a signed
 * manifest naming each payload with its place, size and SHA-256, and one
 * or more detached CMS signatures over the manifest's bytes, found from a
 * fixed footer at the end.  Signatures come last, so that another signer
 * adds one without moving a byte of what the others signed.
 *
 * This is the file format only: reading and checking the layout and the
 * manifest, and writing a bundle and its signatures.  Whether the
 * signatures verify against the anchors, and whether a bundle may be
 * installed, is the caller's.
 */
#ifndef CML_BUNDLE_H
#define CML_BUNDLE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define BUNDLE_MAGIC "CMLBNDL"		/* 8 bytes with its NUL */
#define BUNDLE_FORMAT 1
#define BUNDLE_FOOTER_LEN 64
#define BUNDLE_SIGENTRY_LEN 16
#define BUNDLE_MANIFEST_MAX (256 * 1024)
#define BUNDLE_SIG_MAX (64 * 1024)
#define BUNDLE_SIGS_MAX 16
#define BUNDLE_PAYLOADS_MAX 256
#define BUNDLE_PATH_MAX 255 /* bytes of a payload's path */
#define BUNDLE_ALIGN 4096 /* payloads start on this boundary */

/* What a bundle updates. */
enum bundle_kind {
	BUNDLE_GUESTOS,
	BUNDLE_CONFIGS,
	BUNDLE_CML,
	BUNDLE_BOOT,
};

/* One payload, as the manifest names it. */
struct bundle_payload {
	char *name; /* a plain file name */
	uint64_t offset; /* a multiple of BUNDLE_ALIGN */
	uint64_t size;
	char sha256[65]; /* lower-case hex */
	/*
	 * cml bundles: where the payload goes in the slot (a relative path)
	 * and its mode (0644 or 0755); NULL and 0 in other kinds.
	 */
	char *path;
	int mode;
};

/* One signature, as the footer's table places it. */
struct bundle_sig {
	uint64_t offset;
	uint32_t len;
};

/* Where the parts of a bundle lie, from its footer. */
struct bundle_layout {
	uint64_t size; /* the file's */
	uint64_t manifest_offset; /* also the end of the payloads */
	uint32_t manifest_len;
	uint32_t nsigs;
	uint64_t sigtable_offset;
	struct bundle_sig sigs[BUNDLE_SIGS_MAX];
};

/* A bundle's manifest, parsed. */
struct bundle_manifest {
	enum bundle_kind kind;
	char *name;
	char *version; /* canonical, as a guest OS version */
	char *description;
	struct bundle_payload *payloads;
	size_t npayloads;
};

/* Returns the name of a kind: "guestos", "configs", "cml" or "boot". */
const char *bundle_kind_name(enum bundle_kind kind);

/*
 * Reads the footer (the last BUNDLE_FOOTER_LEN bytes of a file of size
 * bytes) and, with the signature table it points to (table, ntable bytes:
 * read by the caller from l->sigtable_offset once this returned 1),
 * checks that every part lies inside the file, in its order, without
 * overlap.  bundle_footer_parse: 1 with the layout but its signatures
 * filled in, -1 with *cause set.  bundle_sigtable_parse: 0, or -1.
 */
int bundle_footer_parse(const unsigned char *footer, uint64_t size,
    struct bundle_layout *l, char **cause);
int bundle_sigtable_parse(const unsigned char *table, size_t ntable,
    struct bundle_layout *l, char **cause);

/*
 * Parses and checks a manifest (the exact bytes as signed): its fields,
 * kinds, names, and that every payload lies before payload_end, on its
 * boundary, without overlapping another.  -1 with *cause set.
 */
int bundle_manifest_parse(const char *json, size_t len, uint64_t payload_end,
    struct bundle_manifest *m, char **cause);
void bundle_manifest_clear(struct bundle_manifest *m);

/*
 * Reads a bundle's layout, manifest and signatures from fd (not moved:
 * pread).  *manifest (its bytes, *manifest_len of them) and sigs[i] (each
 * l->sigs[i].len bytes) are the caller's to free.  -1 with *cause set.
 */
int bundle_read(int fd, struct bundle_layout *l, char **manifest,
    struct bundle_manifest *m, unsigned char **sigs, char **cause);

/* Reads exactly len bytes at off of fd; -1 with errno (EIO: it ends early). */
int bundle_pread(int fd, void *buf, size_t len, uint64_t off);
/* Returns 1 when the file in fd ends with a bundle's footer. */
int bundle_looks_like(int fd);

/*
 * Writes the footer and signature table for a bundle whose payloads end at
 * manifest_offset, whose manifest is manifest_len bytes there and whose
 * signatures are l's, into out (BUNDLE_SIGENTRY_LEN * nsigs bytes of table
 * followed by BUNDLE_FOOTER_LEN of footer); returns the bytes written.
 */
size_t bundle_trailer(const struct bundle_layout *l, unsigned char *out);

#endif
