/*
 * cml-attest: verifies what a device says about itself, off the device,
 * against the CAs given.  Two kinds of evidence, both signed by keys that
 * never leave the device's TPM and vouched for by the device certificate:
 *
 * - an attestation, the reply of `cmlsh --json -c 'device attest NONCE'`:
 *   the attestation key's certification by the device key, the quote
 *   with the nonce, and the measurement log replayed against the quoted
 *   PCR (crypto/attest.h).  Prints each container's measured guest OS and
 *   "attestation: ok";
 * - with --report, a provisioning report, what `cmlsh --json provision
 *   report` printed: its signature by the device key, the device
 *   certificate and CA it names (crypto/report.h).  Prints the device, its
 *   state and every step, and "report: ok";
 * - with --receipt, an install receipt, what `cmlsh --json update
 *   receipt` printed: its signature by the device key, then the quote made
 *   over it with its measurement log, and the install's measurement in
 *   that log (crypto/receipt.h).  Prints what was installed, each check
 *   passed, and "receipt: ok".
 *
 * Both are one program because they check the same thing first, the
 * device certificate against the CAs the verifier trusts, and take the
 * same options for it; the first check that fails is printed.
 *
 *   cml-attest --ca FILE [--ca FILE]... --nonce HEX [--uuid UUID] [FILE]
 *   cml-attest --ca FILE [--ca FILE]... --report FILE [--uuid UUID]
 *   cml-attest --ca FILE [--ca FILE]... --receipt FILE [--uuid UUID]
 *
 * Exit status: 0 the evidence holds, 1 it does not (or the input cannot
 * be read), 2 usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "attest.h"
#include "crypto.h"
#include "devcert.h"
#include "receipt.h"
#include "report.h"
#include "xmalloc.h"

#define CML_ATTEST_EXIT_OK 0
#define CML_ATTEST_EXIT_FAIL 1
#define CML_ATTEST_EXIT_USAGE 2

/* The characters of a config hash printed. */
#define CML_ATTEST_SHORT_HASH 12

static void
cml_attest_usage(FILE *f)
{
	fprintf(f, "cml-attest: usage: cml-attest --ca FILE [--ca FILE]... "
	    "--nonce HEX [--uuid UUID] [FILE]\n"
	    "       cml-attest --ca FILE [--ca FILE]... --report FILE "
	    "[--uuid UUID]\n"
	    "       cml-attest --ca FILE [--ca FILE]... --receipt FILE "
	    "[--uuid UUID]\n");
}

static void
cml_attest_help(void)
{
	printf("usage: cml-attest --ca FILE [--ca FILE]... --nonce HEX "
	    "[--uuid UUID] [FILE]\n"
	    "       cml-attest --ca FILE [--ca FILE]... --report FILE "
	    "[--uuid UUID]\n"
	    "       cml-attest --ca FILE [--ca FILE]... --receipt FILE "
	    "[--uuid UUID]\n"
	    "       cml-attest --version | --help\n"
	    "\n"
	    "Verifies a device's attestation: FILE (default: standard input) "
	    "holds what\n"
	    "`cmlsh --json -c 'device attest NONCE'` printed.  With --report, "
	    "verifies a\n"
	    "provisioning report: what `cmlsh --json provision report` "
	    "printed.\n"
	    "With --receipt, verifies an install receipt: what `cmlsh --json "
	    "update receipt`\n"
	    "printed.\n"
	    "\n"
	    "  -a, --ca FILE     a CA certificate (PEM or DER) the device "
	    "certificate must\n"
	    "                    chain to (the root is enough: its chain "
	    "comes with it);\n"
	    "                    repeatable\n"
	    "  -n, --nonce HEX   the nonce the attestation was asked with "
	    "(%d to %d bytes)\n"
	    "  -r, --report FILE the provisioning report to verify ('-': "
	    "standard input)\n"
	    "  -R, --receipt FILE the install receipt to verify ('-': "
	    "standard input)\n"
	    "  -u, --uuid UUID   the device's UUID: the certificate's CN "
	    "must be it\n"
	    "\n"
	    "Checks the device certificate's chain, the attestation key's "
	    "certification\n"
	    "by the device key, the quote's nonce, signature and PCR "
	    "values, and replays\n"
	    "the measurement log against the quoted PCR.  Prints each "
	    "container's\n"
	    "measured guest OS and 'attestation: ok', or the first thing "
	    "that does not\n"
	    "match.  A report: the certificate's chain, the device CA, the "
	    "signature by\n"
	    "the device key; prints the device, its state and steps and "
	    "'report: ok'.\n"
	    "A receipt: the same, then the quote over it, the measurement "
	    "log replayed and\n"
	    "the install's measurement in it; prints what was installed, "
	    "each check and\n"
	    "'receipt: ok'.\n"
	    "Exit status: 0 ok, 1 it does not hold, 2 usage error.  See "
	    "cml-attest(1).\n", CRYPTO_ATTEST_NONCE_MIN,
	    CRYPTO_ATTEST_NONCE_MAX);
}

/* Reports a usage error; returns the usage exit status. */
static int
cml_attest_usage_error(const char *msg, const char *arg)
{
	if (arg != NULL)
		fprintf(stderr, "cml-attest: %s '%s'\n", msg, arg);
	else
		fprintf(stderr, "cml-attest: %s\n", msg);
	cml_attest_usage(stderr);
	return CML_ATTEST_EXIT_USAGE;
}

/*
 * Reads all of fd, up to max bytes (what: what it should be, for the
 * message when it is larger); NULL with *cause set.
 */
static char *
cml_attest_read(int fd, size_t max, const char *what, size_t *len,
    char **cause)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	*len = 0;
	for (;;) {
		if (*len == cap) {
			if (cap > max) {
				free(buf);
				*cause = xasprintf("larger than %zu MiB: not "
				    "%s", max / (1024 * 1024), what);
				return NULL;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			buf = xreallocarray(buf, 1, cap + 1);
		}
		n = read(fd, buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			*cause = xasprintf("cannot read: %s", strerror(errno));
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (*len > max) {
		free(buf);
		*cause = xasprintf("larger than %zu MiB: not %s",
		    max / (1024 * 1024), what);
		return NULL;
	}
	if (buf == NULL)
		buf = xmalloc(1);
	buf[*len] = '\0';
	return buf;
}

/* Prints what an accepted attestation says. */
static void
cml_attest_print(const struct crypto_attest_result *r)
{
	size_t i;

	printf("device certificate: %s (issued by %s)\n", r->subject,
	    r->issuer);
	if (r->uuid != NULL)
		printf("device: %s\n", r->uuid);
	printf("quote: PCRs");
	for (i = 0; i < r->npcrs; i++)
		printf("%s%d", i == 0 ? " " : ", ", r->pcrs[i]);
	printf(" (sha256), TPM reset %u, measurement PCR %d\n",
	    r->reset_count, r->measure_pcr);
	if (r->nstarts == 0)
		printf("no container started since the TPM's last reset\n");
	for (i = 0; i < r->nstarts; i++)
		printf("container %s: guest OS %s %s, config %.*s\n",
		    r->starts[i].container, r->starts[i].guestos,
		    r->starts[i].version, CML_ATTEST_SHORT_HASH,
		    r->starts[i].config_hash);
	for (i = 0; i < r->ninstalls; i++)
		printf("installed %s %s %s, bundle %.*s\n",
		    r->installs[i].kind, r->installs[i].name,
		    r->installs[i].version, CML_ATTEST_SHORT_HASH,
		    r->installs[i].bundle_digest);
	printf("attestation: ok\n");
}

/* Prints what a verified report says. */
static void
cml_attest_print_report(const struct report_result *r)
{
	const struct report_step *s;
	size_t i, done = 0;

	printf("device: %s (%s)\n", r->uuid, r->name);
	printf("device certificate: %s (issued by %s)\n", r->subject,
	    r->issuer);
	if (r->ca_subject != NULL)
		printf("device CA: %s\n", r->ca_subject);
	printf("report: made %s by cml %s, signed by the device key (%s)\n",
	    r->made, r->version, r->curve);
	printf("state: %s\n", r->state);
	for (i = 0; i < r->nsteps; i++) {
		s = &r->steps[i];
		if (strcmp(s->state, "done") == 0)
			done++;
		printf("step %zu %-11s %-7s", i + 1, s->name, s->state);
		if (s->time != NULL)
			printf(" %s", s->time);
		if (s->summary != NULL)
			printf(" %s", s->summary);
		if (s->error != NULL)
			printf(" (error: %s)", s->error);
		printf("\n");
	}
	printf("steps done: %zu of %zu; trust anchors: %zu; settings: %zu\n",
	    done, r->nsteps, r->nanchors, r->nsettings);
	printf("report: ok\n");
}

/*
 * Reads the file at path ("-": standard input), at most max bytes (what:
 * what it should be); NULL after saying why on standard error.
 */
static char *
cml_attest_load(const char *path, size_t max, const char *what, size_t *len)
{
	char *data, *cause = NULL;
	int fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "cml-attest: %s: cannot open: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	data = cml_attest_read(fd, max, what, len, &cause);
	if (fd != STDIN_FILENO)
		close(fd);
	if (data == NULL) {
		fprintf(stderr, "cml-attest: %s: %s\n", strcmp(path, "-") == 0 ?
		    "standard input" : path, cause);
		free(cause);
	}
	return data;
}

/*
 * Verifies the report in path ("-": standard input) against the anchors
 * and, if uuid is not NULL, that it is that device's; prints it.  Returns
 * the exit status.
 */
static int
cml_attest_report(const char *path, const struct crypto_anchors *anchors,
    const char *uuid)
{
	struct report_result result;
	struct report_want want;
	char *data, *cause = NULL;
	size_t len;
	int status = CML_ATTEST_EXIT_FAIL;

	if ((data = cml_attest_load(path, REPORT_FILE_MAX,
	    "a provisioning report", &len)) == NULL)
		return CML_ATTEST_EXIT_FAIL;
	memset(&want, 0, sizeof want);
	want.anchors = anchors->der;
	want.anchor_lens = anchors->len;
	want.nanchors = anchors->n;
	if (report_verify(data, len, &want, &result, &cause) == -1) {
		fprintf(stderr, "cml-attest: the report does not verify: %s\n",
		    cause);
		goto out;
	}
	if (uuid != NULL && strcasecmp(uuid, result.uuid) != 0) {
		fprintf(stderr, "cml-attest: the report is of device %s, not "
		    "of %s\n", result.uuid, uuid);
		report_result_clear(&result);
		goto out;
	}
	cml_attest_print_report(&result);
	report_result_clear(&result);
	status = CML_ATTEST_EXIT_OK;
out:
	free(cause);
	free(data);
	return status;
}

/* Prints what a receipt says was installed, as far as it was read. */
static void
cml_attest_print_install(const struct receipt_result *r)
{
	size_t i;

	if (r->kind == NULL)
		return;
	printf("install %lld: %s %s %s, %s\n", r->id, r->kind, r->name,
	    r->version, r->result);
	printf("bundle: SHA-256 %s (of its signed manifest), %lld bytes\n",
	    r->digest, r->size);
	for (i = 0; i < r->nsigners; i++)
		printf("signed by: %s%s%s%s\n", r->signers[i].subject,
		    r->signers[i].anchor_kind != NULL ? " (" : "",
		    r->signers[i].anchor_kind != NULL ?
		    r->signers[i].anchor_kind : "",
		    r->signers[i].anchor_kind != NULL ? " anchor)" : "");
	printf("began: %s, ended: %s\n", r->began, r->ended != NULL ?
	    r->ended : "(not yet)");
	if (r->detail != NULL)
		printf("detail: %s\n", r->detail);
	printf("device: %s (%s)\n", r->uuid, r->device_name);
	printf("receipt: made %s by cml %s\n", r->made, r->cml_version);
}

/*
 * Verifies the install receipt in path ("-": standard input) against the
 * anchors and, if uuid is not NULL, that it is that device's; prints what
 * was installed and every check passed.  Returns the exit status.
 */
static int
cml_attest_receipt(const char *path, const struct crypto_anchors *anchors,
    const char *uuid)
{
	struct receipt_result result;
	struct report_want want;
	char *data, *cause = NULL;
	size_t len, i;
	int rc, status = CML_ATTEST_EXIT_FAIL;

	if ((data = cml_attest_load(path, RECEIPT_FILE_MAX,
	    "an install receipt", &len)) == NULL)
		return CML_ATTEST_EXIT_FAIL;
	memset(&want, 0, sizeof want);
	want.anchors = anchors->der;
	want.anchor_lens = anchors->len;
	want.nanchors = anchors->n;
	rc = receipt_verify(data, len, &want, &result, &cause);
	if (rc == 0 && uuid != NULL && strcasecmp(uuid, result.uuid) != 0) {
		cause = xasprintf("the receipt is of device %s, not of %s",
		    result.uuid, uuid);
		rc = -1;
	}
	cml_attest_print_install(&result);
	for (i = 0; i < result.nchecks; i++)
		printf("check %s: ok: %s\n", result.checks[i].name,
		    result.checks[i].detail);
	receipt_result_clear(&result);
	if (rc == -1) {
		fflush(stdout);
		fprintf(stderr, "cml-attest: the receipt does not verify: %s\n",
		    cause);
		goto out;
	}
	printf("receipt: ok\n");
	status = CML_ATTEST_EXIT_OK;
out:
	free(cause);
	free(data);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "report", required_argument, NULL, 'r' },
		{ "receipt", required_argument, NULL, 'R' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct crypto_attest_want want;
	struct crypto_attest_result result;
	struct crypto_anchors anchors;
	unsigned char nonce[CRYPTO_ATTEST_NONCE_MAX];
	size_t ncas = 0, len;
	const char **cas = NULL, *nonce_hex = NULL, *uuid = NULL, *path;
	const char *report = NULL, *receipt = NULL;
	char *data = NULL, *cause = NULL;
	int ch, fd, n, status = CML_ATTEST_EXIT_FAIL;

	memset(&want, 0, sizeof want);
	memset(&anchors, 0, sizeof anchors);
	while ((ch = getopt_long(argc, argv, ":a:n:r:R:u:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			cas = xreallocarray(cas, ncas + 1, sizeof *cas);
			cas[ncas++] = optarg;
			break;
		case 'n':
			nonce_hex = optarg;
			break;
		case 'r':
			report = optarg;
			break;
		case 'R':
			receipt = optarg;
			break;
		case 'u':
			uuid = optarg;
			break;
		case 'h':
			free(cas);
			cml_attest_help();
			return CML_ATTEST_EXIT_OK;
		case 'V':
			free(cas);
			printf("cml-attest %s\n", PACKAGE_VERSION);
			return CML_ATTEST_EXIT_OK;
		case ':':
			free(cas);
			return cml_attest_usage_error("option needs a value:",
			    argv[optind - 1]);
		default:
			free(cas);
			if (optopt != 0) {
				fprintf(stderr, "cml-attest: unknown option "
				    "'-%c'\n", optopt);
				cml_attest_usage(stderr);
				return CML_ATTEST_EXIT_USAGE;
			}
			return cml_attest_usage_error("unknown option",
			    argv[optind - 1]);
		}
	}
	if (ncas == 0) {
		free(cas);
		return cml_attest_usage_error("needs at least one --ca FILE",
		    NULL);
	}
	if (report != NULL && receipt != NULL) {
		free(cas);
		return cml_attest_usage_error("--report and --receipt: one at a "
		    "time", NULL);
	}
	if ((report != NULL || receipt != NULL) &&
	    (nonce_hex != NULL || optind < argc)) {
		free(cas);
		return cml_attest_usage_error(report != NULL ? "--report FILE "
		    "takes no --nonce and no other FILE" : "--receipt FILE "
		    "takes no --nonce (its quote's nonce is the receipt's "
		    "SHA-256) and no other FILE", NULL);
	}
	if (report != NULL || receipt != NULL) {
		if (crypto_anchors_load(&anchors, cas, ncas, &cause) == -1) {
			fprintf(stderr, "cml-attest: %s\n", cause);
			free(cause);
			free(cas);
			return CML_ATTEST_EXIT_FAIL;
		}
		status = report != NULL ? cml_attest_report(report, &anchors,
		    uuid) : cml_attest_receipt(receipt, &anchors, uuid);
		crypto_anchors_clear(&anchors);
		free(cas);
		return status;
	}
	if (nonce_hex == NULL) {
		free(cas);
		return cml_attest_usage_error("needs --nonce HEX (the nonce "
		    "the attestation was asked with), --report FILE or "
		    "--receipt FILE", NULL);
	}
	if ((n = crypto_attest_unhex(nonce_hex, nonce, sizeof nonce)) <
	    CRYPTO_ATTEST_NONCE_MIN) {
		free(cas);
		return cml_attest_usage_error("the nonce must be 8 to 64 "
		    "bytes as hex digits, not", nonce_hex);
	}
	if (argc - optind > 1) {
		free(cas);
		return cml_attest_usage_error("takes one FILE at most", NULL);
	}
	path = argc - optind == 1 ? argv[optind] : NULL;

	if (crypto_anchors_load(&anchors, cas, ncas, &cause) == -1) {
		fprintf(stderr, "cml-attest: %s\n", cause);
		goto out;
	}
	if (path == NULL || strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "cml-attest: %s: cannot open: %s\n", path,
		    strerror(errno));
		goto out;
	}
	data = cml_attest_read(fd, CRYPTO_ATTEST_MAX, "an attestation", &len,
	    &cause);
	if (fd != STDIN_FILENO)
		close(fd);
	if (data == NULL) {
		fprintf(stderr, "cml-attest: %s: %s\n",
		    path != NULL ? path : "standard input", cause);
		goto out;
	}

	want.nonce = nonce;
	want.nonce_len = (size_t)n;
	want.anchors = anchors.der;
	want.anchor_lens = anchors.len;
	want.nanchors = anchors.n;
	want.uuid = uuid;
	if (crypto_attest_verify(data, len, &want, &result, &cause) == -1) {
		fflush(stdout);
		fprintf(stderr, "cml-attest: %s\n", cause);
		goto out;
	}
	cml_attest_print(&result);
	crypto_attest_result_clear(&result);
	status = CML_ATTEST_EXIT_OK;
out:
	crypto_anchors_clear(&anchors);
	free(cas);
	free(data);
	free(cause);
	return status;
}
