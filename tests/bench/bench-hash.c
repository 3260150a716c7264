/*
 * bench-hash: how fast crypto_sha256_fd, the streaming SHA-256 cmld checks
 * guest OS images with, hashes a file.  Hashes FILE a number of times from
 * the start and prints the digest and the median time and throughput.
 *
 *   bench-hash [--runs N] FILE
 *
 * tests/bench/run-hash compares it with `openssl dgst -sha256`.  This is a
 * benchmark: it prints figures and exits 0 whether or not a target is met,
 * 1 when it cannot measure, 2 on a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "xmalloc.h"

#define BENCH_RUNS_DEFAULT 5
#define BENCH_RUNS_MAX 1000
#define BENCH_MIB (1024.0 * 1024.0)

#define BENCH_LABEL "%-24s"

static void
bench_usage(void)
{
	fprintf(stderr, "bench-hash: usage: bench-hash [--runs N] FILE\n");
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Hashes FILE --runs times; prints digest, median time and MiB/s. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char md[CRYPTO_SHA256_LEN], first[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX], *cause = NULL, *end;
	double *secs = NULL, t0, median;
	const char *path;
	off_t size = 0;
	long runs = BENCH_RUNS_DEFAULT, i;
	int ch, fd = -1, status = 1;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+n:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			errno = 0;
			runs = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || runs < 1 ||
			    runs > BENCH_RUNS_MAX) {
				fprintf(stderr, "bench-hash: --runs must be "
				    "from 1 to %d, not '%s'\n", BENCH_RUNS_MAX,
				    optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: bench-hash [--runs N] FILE\n"
			    "Hashes FILE N times (default %d) with "
			    "crypto_sha256_fd and prints\n"
			    "the digest and the median time and "
			    "throughput.\n", BENCH_RUNS_DEFAULT);
			return 0;
		default:
			bench_usage();
			return 2;
		}
	}
	if (argc - optind != 1) {
		bench_usage();
		return 2;
	}
	path = argv[optind];
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "bench-hash: cannot open %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	secs = xcalloc((size_t)runs, sizeof *secs);
	for (i = 0; i < runs; i++) {
		if (lseek(fd, 0, SEEK_SET) == -1) {
			fprintf(stderr, "bench-hash: cannot seek in %s: %s\n",
			    path, strerror(errno));
			goto out;
		}
		t0 = bench_now();
		if (crypto_sha256_fd(fd, md, &size, &cause) == -1) {
			fprintf(stderr, "bench-hash: %s: %s\n", path, cause);
			goto out;
		}
		secs[i] = bench_now() - t0;
		if (i == 0)
			memcpy(first, md, sizeof first);
		else if (memcmp(first, md, sizeof md) != 0) {
			fprintf(stderr, "bench-hash: %s changed while it was "
			    "measured\n", path);
			goto out;
		}
	}
	qsort(secs, (size_t)runs, sizeof *secs, bench_cmp_double);
	median = runs % 2 ? secs[runs / 2] :
	    (secs[runs / 2 - 1] + secs[runs / 2]) / 2;
	crypto_hex(md, sizeof md, hex);
	printf(BENCH_LABEL "%s\n", "file:", path);
	printf(BENCH_LABEL "%lld bytes (%.1f MiB)\n", "size:",
	    (long long)size, (double)size / BENCH_MIB);
	printf(BENCH_LABEL "%ld\n", "runs:", runs);
	printf(BENCH_LABEL "%s\n", "sha256:", hex);
	printf(BENCH_LABEL "%.6f s\n", "median time:", median);
	if (median > 0)
		printf(BENCH_LABEL "%.1f MiB/s\n", "median throughput:",
		    (double)size / BENCH_MIB / median);
	status = 0;
out:
	free(cause);
	free(secs);
	close(fd);
	return status;
}
