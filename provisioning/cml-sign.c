/*
 * cml-sign: signs a file with a detached CMS signature (DER, FILE.p7s) and
 * verifies one against trust anchors, with the same code cmld verifies
 * guest OSes with.
 *
 *   cml-sign sign --key KEY --cert CERT [--chain CHAIN] [-o OUT] FILE
 *   cml-sign verify --ca ROOT [--ca ROOT]... FILE [SIG]
 *
 * Exit status: 0 success, 1 failure (signing failed or the signature was
 * refused), 2 usage error.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "crypto.h"
#include "xmalloc.h"

#define CML_SIGN_EXIT_OK 0
#define CML_SIGN_EXIT_FAIL 1
#define CML_SIGN_EXIT_USAGE 2

/* A signature with its chain is a few KiB; more is not a signature. */
#define CML_SIGN_MAX_SIG (16 * 1024 * 1024)

/* A file's contents, mapped or read. */
struct cml_sign_file {
	void *data;
	size_t len;
	int mapped;
};

static void
cml_sign_usage(FILE *f)
{
	fprintf(f, "cml-sign: usage: cml-sign sign --key KEY --cert CERT "
	    "[--chain CHAIN] [-o OUT] FILE\n"
	    "cml-sign: usage: cml-sign verify --ca ROOT [--ca ROOT]... FILE "
	    "[SIG]\n");
}

static void
cml_sign_help(void)
{
	printf("usage: cml-sign sign --key KEY --cert CERT [--chain CHAIN] "
	    "[-o OUT] FILE\n"
	    "       cml-sign verify --ca ROOT [--ca ROOT]... FILE [SIG]\n"
	    "       cml-sign --version | --help\n"
	    "\n"
	    "Signs FILE with a detached CMS signature (DER), or verifies one "
	    "the way\n"
	    "cmld does before it installs or starts software.  An update "
	    "bundle\n"
	    "(cml-bundle(5)) given without -o takes one more signature in "
	    "place.\n"
	    "\n"
	    "sign:\n"
	    "  -k, --key KEY       the signer's private key (PEM, not "
	    "encrypted)\n"
	    "  -c, --cert CERT     the signer's certificate (PEM)\n"
	    "  --chain CHAIN       CA certificates to include (PEM), e.g. "
	    "chain.pem\n"
	    "  -o, --output OUT    where to write the signature (default: "
	    "FILE.p7s)\n"
	    "verify:\n"
	    "  --ca ROOT           a trust anchor (PEM or DER CA "
	    "certificate); repeatable\n"
	    "  SIG                 the signature (default: FILE.p7s)\n"
	    "\n"
	    "verify prints 'verified: signed by SUBJECT'.  Exit status: 0 "
	    "success,\n"
	    "1 signing failed or the signature was refused (the reason on "
	    "stderr),\n"
	    "2 usage error.  See cml-sign(1).\n");
}

/* Reports a usage error; returns the usage exit status. */
static int
cml_sign_usage_error(const char *msg, const char *arg)
{
	if (arg != NULL)
		fprintf(stderr, "cml-sign: %s '%s'\n", msg, arg);
	else
		fprintf(stderr, "cml-sign: %s\n", msg);
	cml_sign_usage(stderr);
	return CML_SIGN_EXIT_USAGE;
}

/* Reports an option getopt refused; returns the usage exit status. */
static int
cml_sign_bad_option(int ch, char **argv)
{
	if (ch == ':')
		fprintf(stderr, "cml-sign: option '%s' needs a value\n",
		    argv[optind - 1]);
	else if (optopt != 0)
		fprintf(stderr, "cml-sign: unknown option '-%c'\n", optopt);
	else
		fprintf(stderr, "cml-sign: unknown option '%s'\n",
		    argv[optind - 1]);
	cml_sign_usage(stderr);
	return CML_SIGN_EXIT_USAGE;
}

/*
 * Maps a regular file, or reads it if it is small and not regular;
 * -1 with *cause set.
 */
static int
cml_sign_file_open(const char *path, size_t max, struct cml_sign_file *f,
    char **cause)
{
	struct stat st;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, rc = -1;

	memset(f, 0, sizeof *f);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xasprintf("cannot stat: %s", strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		if (max != 0 && (unsigned long long)st.st_size > max) {
			*cause = xasprintf("larger than %zu MiB: not a "
			    "signature", max / (1024 * 1024));
			goto out;
		}
		if (st.st_size == 0) {
			f->data = xstrdup("");
			rc = 0;
			goto out;
		}
		f->data = mmap(NULL, (size_t)st.st_size, PROT_READ,
		    MAP_PRIVATE, fd, 0);
		if (f->data == MAP_FAILED) {
			f->data = NULL;
			*cause = xasprintf("cannot map: %s", strerror(errno));
			goto out;
		}
		(void)madvise(f->data, (size_t)st.st_size, MADV_SEQUENTIAL);
		f->len = (size_t)st.st_size;
		f->mapped = 1;
		rc = 0;
		goto out;
	}
	if (max == 0)
		max = CML_SIGN_MAX_SIG;
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				*cause = xasprintf("larger than %zu MiB",
				    max / (1024 * 1024));
				goto out;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			f->data = xreallocarray(f->data, 1, cap);
		}
		n = read(fd, (char *)f->data + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*cause = xasprintf("cannot read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	f->len = len;
	rc = 0;
out:
	if (rc == -1 && !f->mapped) {
		free(f->data);
		f->data = NULL;
	}
	close(fd);
	return rc;
}

static void
cml_sign_file_close(struct cml_sign_file *f)
{
	if (f->mapped)
		munmap(f->data, f->len);
	else
		free(f->data);
	memset(f, 0, sizeof *f);
}

/* cml-sign sign: writes FILE.p7s or OUT. */
static int
cml_sign_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "chain", required_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *cert = NULL, *chain = NULL, *file;
	char *out = NULL, *cause = NULL;
	int ch, status, fd;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+:k:c:o:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'k':
			key = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'C':
			chain = optarg;
			break;
		case 'o':
			free(out);
			out = xstrdup(optarg);
			break;
		case 'h':
			free(out);
			cml_sign_help();
			return CML_SIGN_EXIT_OK;
		default:
			free(out);
			return cml_sign_bad_option(ch, argv);
		}
	}
	if (key == NULL || cert == NULL) {
		free(out);
		return cml_sign_usage_error("sign needs --key KEY and --cert "
		    "CERT", NULL);
	}
	if (argc - optind != 1) {
		free(out);
		return cml_sign_usage_error(argc - optind == 0 ?
		    "sign needs the FILE to sign" : "sign takes one FILE",
		    NULL);
	}
	file = argv[optind];
	/* An update bundle takes one more signature, in place. */
	if (out == NULL && (fd = open(file, O_RDWR | O_CLOEXEC)) != -1) {
		if (bundle_looks_like(fd)) {
			status = CML_SIGN_EXIT_OK;
			if (crypto_sign_bundle(fd, key, cert, chain,
			    &cause) == -1) {
				fprintf(stderr, "cml-sign: %s: %s\n", file,
				    cause);
				status = CML_SIGN_EXIT_FAIL;
			}
			close(fd);
			free(cause);
			return status;
		}
		close(fd);
	}
	if (out == NULL)
		out = xasprintf("%s.p7s", file);
	if (crypto_sign_file(file, key, cert, chain, out, &cause) == -1) {
		fprintf(stderr, "cml-sign: %s: %s\n", file, cause);
		status = CML_SIGN_EXIT_FAIL;
	} else
		status = CML_SIGN_EXIT_OK;
	free(cause);
	free(out);
	return status;
}

/* Loads one --ca certificate into trust; -1 after reporting why. */
static int
cml_sign_add_anchor(struct crypto_trust *trust, const char *path)
{
	struct crypto_cert cert;
	char *cause = NULL;
	int rc = -1;

	if (crypto_cert_load(path, &cert, &cause) == -1) {
		fprintf(stderr, "cml-sign: %s\n", cause);
		goto out;
	}
	if (crypto_cert_check_anchor(&cert, &cause) == -1 ||
	    crypto_trust_add_der(trust, cert.der, cert.der_len,
	    &cause) == -1) {
		fprintf(stderr, "cml-sign: %s: %s\n", path, cause);
		goto out;
	}
	rc = 0;
out:
	crypto_cert_clear(&cert);
	free(cause);
	return rc;
}

/* cml-sign verify: checks FILE against SIG and the --ca anchors. */
static int
cml_sign_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cml_sign_file data, sig;
	struct crypto_signer signer;
	struct crypto_trust *trust = NULL;
	const char **cas = NULL, *file;
	char *sigpath = NULL, *cause = NULL;
	size_t ncas = 0, i;
	int ch, status = CML_SIGN_EXIT_FAIL;

	memset(&data, 0, sizeof data);
	memset(&sig, 0, sizeof sig);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			cas = xreallocarray(cas, ncas + 1, sizeof *cas);
			cas[ncas++] = optarg;
			break;
		case 'h':
			free(cas);
			cml_sign_help();
			return CML_SIGN_EXIT_OK;
		default:
			free(cas);
			return cml_sign_bad_option(ch, argv);
		}
	}
	if (ncas == 0) {
		free(cas);
		return cml_sign_usage_error("verify needs at least one --ca "
		    "ROOT", NULL);
	}
	if (argc - optind < 1 || argc - optind > 2) {
		free(cas);
		return cml_sign_usage_error(argc - optind < 1 ?
		    "verify needs the FILE to verify" :
		    "verify takes FILE and at most one SIG", NULL);
	}
	file = argv[optind];
	sigpath = argc - optind == 2 ? xstrdup(argv[optind + 1]) :
	    xasprintf("%s.p7s", file);

	trust = crypto_trust_new();
	for (i = 0; i < ncas; i++) {
		if (cml_sign_add_anchor(trust, cas[i]) == -1)
			goto out;
	}
	if (cml_sign_file_open(sigpath, CML_SIGN_MAX_SIG, &sig,
	    &cause) == -1) {
		fprintf(stderr, "cml-sign: %s: %s\n", sigpath, cause);
		goto out;
	}
	if (cml_sign_file_open(file, 0, &data, &cause) == -1) {
		fprintf(stderr, "cml-sign: %s: %s\n", file, cause);
		goto out;
	}
	if (crypto_verify_detached(trust, data.data, data.len, sig.data,
	    sig.len, &signer, &cause) == -1) {
		fprintf(stderr, "cml-sign: %s: %s\n", file, cause);
		goto out;
	}
	printf("verified: signed by %s\n", signer.subject);
	crypto_signer_clear(&signer);
	status = CML_SIGN_EXIT_OK;
out:
	cml_sign_file_close(&data);
	cml_sign_file_close(&sig);
	crypto_trust_free(trust);
	free(cause);
	free(sigpath);
	free(cas);
	return status;
}

/* Runs one subcommand; returns the exit status. */
int
main(int argc, char **argv)
{
	opterr = 0;
	if (argc < 2)
		return cml_sign_usage_error("give a command: sign or verify",
		    NULL);
	if (strcmp(argv[1], "--version") == 0) {
		printf("cml-sign %s\n", PACKAGE_VERSION);
		return CML_SIGN_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cml_sign_help();
		return CML_SIGN_EXIT_OK;
	}
	if (strcmp(argv[1], "sign") == 0)
		return cml_sign_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cml_sign_verify(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return cml_sign_usage_error("unknown option", argv[1]);
	return cml_sign_usage_error("unknown command", argv[1]);
}
