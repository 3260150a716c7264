/*
 * cml-bundle: makes, signs and shows update bundles (cml-bundle(5)).
 *
 *   cml-bundle create -o OUT --kind KIND --name NAME --version VERSION
 *                     [--description TEXT] PAYLOAD=FILE...
 *   cml-bundle create -o OUT --kind cml --name NAME --version VERSION
 *                     [--description TEXT] --tree DIR
 *   cml-bundle sign --key KEY --cert CERT [--chain CHAIN] BUNDLE
 *   cml-bundle info [--ca ROOT]... BUNDLE
 *
 * create writes the payloads (each on a 4096-byte boundary, hashed as
 * written), the manifest and an empty signature table to OUT.tmp, syncs
 * it and renames it to OUT.  sign adds one signature over the manifest's
 * bytes after those already there (a bundle for m of n signers passes
 * through each of them); it rewrites the bundle's end in place.  info
 * shows what a bundle holds, hashes every payload, and, with --ca, which
 * signatures verify up to those anchors and who made them.
 *
 * Exit status: 0 success (info: every payload matches, and with --ca at
 * least one signature verifies), 1 failure, 2 usage error.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bundle.h"
#include "crypto.h"
#include "file.h"
#include "xmalloc.h"

#define EXIT_USAGE 2
#define COPY_BUF (1024 * 1024)

static int
usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "cml-bundle: %s\n", msg);
	fprintf(stderr, "usage: cml-bundle create -o OUT --kind KIND --name "
	    "NAME --version VERSION [--description TEXT] PAYLOAD=FILE...\n"
	    "       cml-bundle create -o OUT --kind cml --name NAME "
	    "--version VERSION [--description TEXT] --tree DIR\n"
	    "       cml-bundle sign --key KEY --cert CERT [--chain CHAIN] "
	    "BUNDLE\n"
	    "       cml-bundle info [--ca ROOT]... BUNDLE\n");
	return EXIT_USAGE;
}

/*
 * Copies the file path to out at *at, hashing it: its size and SHA-256
 * into p; *at moves past it.  -1 after saying why.
 */
static int
copy_payload(int out, uint64_t *at, const char *path, unsigned char *buf,
    struct bundle_payload *p)
{
	struct crypto_hash *h;
	unsigned char md[CRYPTO_SHA256_LEN];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "cml-bundle: %s: %s\n", path, strerror(errno));
		return -1;
	}
	h = crypto_sha256_new();
	p->offset = *at;
	p->size = 0;
	while ((n = read(fd, buf, COPY_BUF)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || file_write_all(out, buf, (size_t)n) == -1) {
			fprintf(stderr, "cml-bundle: %s: %s\n", path,
			    strerror(errno));
			crypto_hash_free(h);
			close(fd);
			return -1;
		}
		crypto_hash_update(h, buf, (size_t)n);
		p->size += (uint64_t)n;
	}
	close(fd);
	crypto_hash_final(h, md);
	crypto_hex(md, sizeof md, p->sha256);
	*at += p->size;
	if (p->size == 0) {
		fprintf(stderr, "cml-bundle: %s is empty\n", path);
		return -1;
	}
	return 0;
}

/* The manifest's JSON text for m (free it). */
static char *
manifest_json(const struct bundle_manifest *m)
{
	struct json_object *o, *arr, *po;
	char *s;
	size_t i;

	o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_int(
	    BUNDLE_FORMAT));
	json_object_object_add(o, "kind", json_object_new_string(
	    bundle_kind_name(m->kind)));
	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "version",
	    json_object_new_string(m->version));
	json_object_object_add(o, "description",
	    json_object_new_string(m->description));
	arr = json_object_new_array();
	for (i = 0; i < m->npayloads; i++) {
		po = json_object_new_object();
		json_object_object_add(po, "name",
		    json_object_new_string(m->payloads[i].name));
		json_object_object_add(po, "offset",
		    json_object_new_int64((int64_t)m->payloads[i].offset));
		json_object_object_add(po, "size",
		    json_object_new_int64((int64_t)m->payloads[i].size));
		json_object_object_add(po, "sha256",
		    json_object_new_string(m->payloads[i].sha256));
		if (m->payloads[i].path != NULL) {
			json_object_object_add(po, "path",
			    json_object_new_string(m->payloads[i].path));
			json_object_object_add(po, "mode",
			    json_object_new_string(m->payloads[i].mode ==
			    0755 ? "0755" : "0644"));
		}
		json_object_array_add(arr, po);
	}
	json_object_object_add(o, "payloads", arr);
	s = xasprintf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* What create packs: a payload's name, file, and path in a slot. */
struct source {
	char *name;
	char *file;
	char *path; /* NULL outside a tree */
	int mode;
};

static int
source_cmp(const void *a, const void *b)
{
	return strcmp(((const struct source *)a)->path,
	    ((const struct source *)b)->path);
}

/*
 * Adds every regular file below root/rel (rel "" at the top) to *src:
 * its path relative to root, its name that path with '/' made '.', its
 * mode from the owner's execute bit.  -1 after saying why (a symbolic
 * link, a device, too many files).
 */
static int
tree_add(const char *root, const char *rel, struct source **src, size_t *n)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	char *dir, *sub, *file, *p;
	int rc = 0;

	dir = *rel == '\0' ? xstrdup(root) : xasprintf("%s/%s", root, rel);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "cml-bundle: %s: %s\n", dir, strerror(errno));
		free(dir);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = *rel == '\0' ? xstrdup(de->d_name) :
		    xasprintf("%s/%s", rel, de->d_name);
		file = xasprintf("%s/%s", root, sub);
		if (lstat(file, &sb) == -1) {
			fprintf(stderr, "cml-bundle: %s: %s\n", file,
			    strerror(errno));
			rc = -1;
		} else if (S_ISDIR(sb.st_mode)) {
			rc = tree_add(root, sub, src, n);
		} else if (!S_ISREG(sb.st_mode)) {
			fprintf(stderr, "cml-bundle: %s is not a regular file "
			    "or a directory\n", file);
			rc = -1;
		} else if (*n == BUNDLE_PAYLOADS_MAX) {
			fprintf(stderr, "cml-bundle: %s holds more than %d "
			    "files\n", root, BUNDLE_PAYLOADS_MAX);
			rc = -1;
		} else {
			*src = xreallocarray(*src, *n + 1, sizeof **src);
			(*src)[*n].path = xstrdup(sub);
			(*src)[*n].name = xstrdup(sub);
			for (p = (*src)[*n].name; *p != '\0'; p++) {
				if (*p == '/')
					*p = '.';
			}
			(*src)[*n].file = xstrdup(file);
			(*src)[*n].mode = (sb.st_mode & S_IXUSR) ? 0755 : 0644;
			(*n)++;
		}
		free(sub);
		free(file);
	}
	closedir(d);
	free(dir);
	return rc;
}

/* cml-bundle create. */
static int
cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "version", required_argument, NULL, 'v' },
		{ "description", required_argument, NULL, 'd' },
		{ "tree", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct source *src = NULL;
	size_t nsrc = 0, k;
	const char *tree = NULL;
	struct bundle_manifest m, check;
	struct bundle_layout l;
	const char *out = NULL, *kind = NULL;
	unsigned char *buf, trailer[BUNDLE_FOOTER_LEN];
	static const unsigned char zero[BUNDLE_ALIGN];
	char *tmp = NULL, *json = NULL, *eq, *cause = NULL;
	uint64_t at = 0;
	int ch, fd = -1, rc = 1, i;

	memset(&m, 0, sizeof m);
	m.description = xstrdup("");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'k': kind = optarg; break;
		case 'n': free(m.name); m.name = xstrdup(optarg); break;
		case 'v': free(m.version); m.version = xstrdup(optarg); break;
		case 'd':
			free(m.description);
			m.description = xstrdup(optarg);
			break;
		case 't': tree = optarg; break;
		default:
			bundle_manifest_clear(&m);
			return usage(NULL);
		}
	}
	if (out == NULL || kind == NULL || m.name == NULL ||
	    m.version == NULL || (tree == NULL) == (optind == argc) ||
	    argc - optind > BUNDLE_PAYLOADS_MAX) {
		bundle_manifest_clear(&m);
		return usage("create needs -o, --kind, --name, --version and "
		    "either 1 to 256 PAYLOAD=FILE or --tree DIR");
	}
	for (i = BUNDLE_GUESTOS; i <= BUNDLE_BOOT; i++) {
		if (strcmp(kind, bundle_kind_name(i)) == 0)
			break;
	}
	if (i > BUNDLE_BOOT) {
		bundle_manifest_clear(&m);
		return usage("--kind must be guestos, configs, cml or boot");
	}
	m.kind = (enum bundle_kind)i;
	if ((m.kind == BUNDLE_CML) != (tree != NULL)) {
		bundle_manifest_clear(&m);
		return usage("a cml bundle is made from an install tree "
		    "(--tree DIR), other kinds from PAYLOAD=FILE");
	}
	if (tree != NULL) {
		if (tree_add(tree, "", &src, &nsrc) == -1)
			goto out;
		if (nsrc == 0) {
			fprintf(stderr, "cml-bundle: %s holds no file\n", tree);
			goto out;
		}
		qsort(src, nsrc, sizeof *src, source_cmp);
	} else {
		nsrc = (size_t)(argc - optind);
		src = xcalloc(nsrc, sizeof *src);
		for (k = 0; k < nsrc; k++) {
			if ((eq = strchr(argv[optind + k], '=')) == NULL ||
			    eq == argv[optind + k]) {
				fprintf(stderr, "cml-bundle: '%s' is no "
				    "PAYLOAD=FILE\n", argv[optind + k]);
				goto out;
			}
			src[k].name = xasprintf("%.*s",
			    (int)(eq - argv[optind + k]), argv[optind + k]);
			src[k].file = xstrdup(eq + 1);
		}
	}
	m.npayloads = nsrc;
	m.payloads = xcalloc(m.npayloads, sizeof *m.payloads);
	tmp = xasprintf("%s.tmp", out);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		fprintf(stderr, "cml-bundle: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	buf = xmalloc(COPY_BUF);
	for (i = 0; i < (int)m.npayloads; i++) {
		m.payloads[i].name = xstrdup(src[i].name);
		if (src[i].path != NULL) {
			m.payloads[i].path = xstrdup(src[i].path);
			m.payloads[i].mode = src[i].mode;
		}
		/* each on its boundary */
		if (at % BUNDLE_ALIGN != 0) {
			if (file_write_all(fd, zero, BUNDLE_ALIGN -
			    at % BUNDLE_ALIGN) == -1) {
				fprintf(stderr, "cml-bundle: %s: %s\n", tmp,
				    strerror(errno));
				free(buf);
				goto out;
			}
			at += BUNDLE_ALIGN - at % BUNDLE_ALIGN;
		}
		if (copy_payload(fd, &at, src[i].file, buf,
		    &m.payloads[i]) == -1) {
			free(buf);
			goto out;
		}
	}
	free(buf);
	json = manifest_json(&m);
	/* what a reader will take, or nothing */
	if (bundle_manifest_parse(json, strlen(json), at, &check,
	    &cause) == -1) {
		fprintf(stderr, "cml-bundle: %s\n", cause);
		goto out;
	}
	bundle_manifest_clear(&check);
	memset(&l, 0, sizeof l);
	l.manifest_offset = at;
	l.manifest_len = (uint32_t)strlen(json);
	l.sigtable_offset = at + l.manifest_len;
	if (file_write_all(fd, json, strlen(json)) == -1 ||
	    file_write_all(fd, trailer, bundle_trailer(&l, trailer)) == -1 ||
	    fsync(fd) == -1) {
		fprintf(stderr, "cml-bundle: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1 || rename(tmp, out) == -1) {
		fd = -1;
		fprintf(stderr, "cml-bundle: %s: %s\n", out, strerror(errno));
		goto out;
	}
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(json);
	free(cause);
	bundle_manifest_clear(&m);
	for (k = 0; k < nsrc; k++) {
		free(src[k].name);
		free(src[k].file);
		free(src[k].path);
	}
	free(src);
	return rc;
}

/* Frees what bundle_read gave. */
static void
read_clear(char *manifest, struct bundle_manifest *m, unsigned char **sigs)
{
	int i;

	free(manifest);
	bundle_manifest_clear(m);
	for (i = 0; i < BUNDLE_SIGS_MAX; i++)
		free(sigs[i]);
}

/* cml-bundle sign. */
static int
cmd_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "chain", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *cert = NULL, *chain = NULL, *path;
	char *cause = NULL;
	int ch, fd, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k': key = optarg; break;
		case 'c': cert = optarg; break;
		case 'C': chain = optarg; break;
		default: return usage(NULL);
		}
	}
	if (key == NULL || cert == NULL || argc - optind != 1)
		return usage("sign needs --key, --cert and one BUNDLE");
	path = argv[optind];
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1) {
		fprintf(stderr, "cml-bundle: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (crypto_sign_bundle(fd, key, cert, chain, &cause) == -1)
		fprintf(stderr, "cml-bundle: %s: %s\n", path, cause);
	else
		rc = 0;
	free(cause);
	close(fd);
	return rc;
}

/* Hashes payload p of the bundle in fd; 1 when it matches. */
static int
payload_ok(int fd, const struct bundle_payload *p, unsigned char *buf)
{
	struct crypto_hash *h = crypto_sha256_new();
	unsigned char md[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX];
	uint64_t done = 0;
	size_t want;
	ssize_t n;

	while (done < p->size) {
		want = p->size - done < COPY_BUF ? (size_t)(p->size - done) :
		    COPY_BUF;
		if ((n = pread(fd, buf, want, (off_t)(p->offset + done))) <= 0) {
			crypto_hash_free(h);
			return 0;
		}
		crypto_hash_update(h, buf, (size_t)n);
		done += (uint64_t)n;
	}
	crypto_hash_final(h, md);
	crypto_hex(md, sizeof md, hex);
	return strcmp(hex, p->sha256) == 0;
}

/* cml-bundle info. */
static int
cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct crypto_trust *trust = NULL;
	struct crypto_signer signer;
	struct crypto_cert c;
	struct bundle_layout l;
	struct bundle_manifest m;
	unsigned char *sigs[BUNDLE_SIGS_MAX], *buf;
	char *manifest = NULL, *cause = NULL;
	int ch, fd, rc = 1, bad = 0, verified = 0, ok;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'a') {
			crypto_trust_free(trust);
			return usage(NULL);
		}
		if (trust == NULL)
			trust = crypto_trust_new();
		if (crypto_cert_load(optarg, &c, &cause) == -1 ||
		    crypto_cert_check_anchor(&c, &cause) == -1 ||
		    crypto_trust_add_der(trust, c.der, c.der_len,
		    &cause) == -1) {
			fprintf(stderr, "cml-bundle: %s: %s\n", optarg, cause);
			crypto_cert_clear(&c);
			crypto_trust_free(trust);
			free(cause);
			return 1;
		}
		crypto_cert_clear(&c);
	}
	if (argc - optind != 1) {
		crypto_trust_free(trust);
		return usage("info needs one BUNDLE");
	}
	if ((fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "cml-bundle: %s: %s\n", argv[optind],
		    strerror(errno));
		crypto_trust_free(trust);
		return 1;
	}
	if (bundle_read(fd, &l, &manifest, &m, sigs, &cause) == -1) {
		fprintf(stderr, "cml-bundle: %s: %s\n", argv[optind], cause);
		goto out;
	}
	printf("kind:        %s\nname:        %s\nversion:     %s\n"
	    "description: %s\n", bundle_kind_name(m.kind), m.name, m.version,
	    m.description);
	buf = xmalloc(COPY_BUF);
	for (i = 0; i < m.npayloads; i++) {
		ok = payload_ok(fd, &m.payloads[i], buf);
		bad += !ok;
		printf("payload:     %s %llu bytes sha256 %s %s",
		    m.payloads[i].name,
		    (unsigned long long)m.payloads[i].size,
		    m.payloads[i].sha256, ok ? "ok" : "CHANGED");
		if (m.payloads[i].path != NULL)
			printf(" -> %s %04o", m.payloads[i].path,
			    (unsigned int)m.payloads[i].mode);
		printf("\n");
	}
	free(buf);
	if (l.nsigs == 0)
		printf("signature:   none\n");
	for (i = 0; i < l.nsigs; i++) {
		if (trust == NULL) {
			printf("signature:   %zu: %u bytes, not checked (no "
			    "--ca)\n", i + 1, l.sigs[i].len);
			continue;
		}
		if (crypto_verify_detached(trust, manifest, l.manifest_len,
		    sigs[i], l.sigs[i].len, &signer, &cause) == -1) {
			printf("signature:   %zu: REFUSED: %s\n", i + 1, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		verified++;
		printf("signature:   %zu: verified: %s (issuer %s, sha256 "
		    "%s)\n", i + 1, signer.subject, signer.issuer,
		    signer.fingerprint);
		crypto_signer_clear(&signer);
	}
	rc = bad == 0 && (trust == NULL || verified > 0) ? 0 : 1;
	read_clear(manifest, &m, sigs);
out:
	free(cause);
	crypto_trust_free(trust);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage("give a command: create, sign or info");
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(NULL);
		return 0;
	}
	return usage("unknown command");
}
