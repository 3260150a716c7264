/*
 * bench-audit: durable audit records per second under a burst, through
 * cmld's own write path, against raw batched SQLite inserts of the same
 * rows in the same run.
 *
 *   bench-audit [--records N] [--runs R] [--dir DIR]
 *
 * cml:  the real store (store_open) and cmld's real trail (audit_open on
 *       a struct cmld with the store and no loop); N records of a call
 *       (type "call", object "org.cml.Device.SetConfig", result "ok", a
 *       container, about 60 bytes of details that differ from record to
 *       record, a uid, and the pid of a process named "cmlsh", whose
 *       command name is read from procfs once, as cmld's server does when
 *       a client connects) through audit_write_as, then
 *       audit_sync.  Timed from before the first write until the final
 *       sync returns, when every record is durable.  Records are committed
 *       as cmld commits them: a group when the queue is full
 *       (AUDIT_QUEUE_MAX) and the rest at the sync; the groups are counted
 *       (by audit_stored_seq) and printed.
 * peer: raw SQLite on its own database file, WAL, synchronous=FULL, a
 *       table with the columns of audit.audit, the rows cml stored (read
 *       back from its audit.db: the same strings, seqs and 32-byte hashes)
 *       inserted with one prepared statement, 100 rows a transaction.
 *       Timed from the first BEGIN until the last COMMIT returns.
 *
 * Every run is a process of its own (cmld's trail is one per process) in
 * a fresh directory under DIR (default $TMPDIR or /tmp), and the file
 * system is synced before each, so that no run pays for the writeback of
 * the one before.  One run of cml, not counted, gives the peer its rows;
 * then R rounds (default 5) of one run each, the order alternating.  The
 * medians are compared: target, cml at least 0.8 of the peer's records
 * per second.  This is a benchmark: it prints figures and exits 0 whether
 * or not the target is met; 1 when it cannot measure, 2 on a usage error.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit-int.h"
#include "ctx.h"
#include "file.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define BENCH_RECORDS_DEFAULT 20000
#define BENCH_RECORDS_MAX 10000000
#define BENCH_RUNS_DEFAULT 5
#define BENCH_RUNS_MAX 1000
/* The peer's transactions, as the issue sets them. */
#define BENCH_PEER_BATCH 100
#define BENCH_TARGET 0.8
/* The subject of every record: a client's uid and command name. */
#define BENCH_UID 1000
#define BENCH_COMM "cmlsh"
#define BENCH_OBJECT "org.cml.Device.SetConfig"
#define BENCH_HASH_LEN 32

#define BENCH_LABEL "%-24s"

/* One row of the trail, as cml stored it; the peer inserts these. */
struct bench_row {
	long long seq, time_ms, uid, pid;
	char *type, *container, *object, *result, *details, *comm;
	unsigned char prev[BENCH_HASH_LEN], hash[BENCH_HASH_LEN];
};

/* What a run measured, sent from its process to the parent. */
struct bench_result {
	int ok;
	double secs; /* the whole burst */
	double queue_secs; /* cml: in writes that did not commit */
	double commit_secs; /* cml: in writes that committed, and the sync */
	long long commits;
	long long group_min, group_max;
	char error[512];
};

struct bench {
	long long records;
	long runs;
	char *base; /* the directory every run's directory is made in */
	int base_fd;
	pid_t subject; /* the "cmlsh" process the records name */
	/* the rows of the newest cml run, for the peer */
	struct bench_row *rows;
	size_t nrows;
	/* the details and containers of the records (made before timing) */
	char **details;
	char **containers;
	unsigned int nrun; /* runs made, for directory names */
};

static void
bench_usage(void)
{
	fprintf(stderr, "bench-audit: usage: bench-audit [--records N] "
	    "[--runs R] [--dir DIR]\n");
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

/* Returns the median of n values (sorts them). */
static double
bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Notes why a run could not measure, for the parent to print. */
static void __attribute__((format(printf, 2, 3)))
bench_fail(struct bench_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->error, sizeof res->error, fmt, ap);
	va_end(ap);
	res->ok = 0;
}

/*
 * Removes a run's directory and the files in it (a run makes no
 * subdirectories); -1 if something stayed.
 */
static int
bench_remove_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;
	char *p;
	int ret = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (unlink(p) == -1)
			ret = -1;
		free(p);
	}
	closedir(d);
	if (rmdir(dir) == -1)
		ret = -1;
	return ret;
}

/*
 * Starts the process the records name as their subject: it calls itself
 * "cmlsh", as a client would, and waits to be killed (or dies with us).
 * Returns its pid once its name is set, or -1.
 */
static pid_t
bench_subject_start(void)
{
	int p[2];
	pid_t pid;
	char c = 0;

	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)prctl(PR_SET_NAME, BENCH_COMM);
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(p[0]);
	return pid;
}

/*
 * The cml run, in its own process: N records through audit_write_as into
 * a fresh store in dir, then audit_sync.
 */
static void
bench_cml(struct bench *b, const char *dir, struct bench_result *res)
{
	struct cmld cmld;
	char *cause = NULL;
	long long i, stored, now_stored, group;
	double t0, t1, t2;
	char comm[16];

	memset(&cmld, 0, sizeof cmld);
	TAILQ_INIT(&cmld.ctrs);
	if ((cmld.store = store_open(dir, &cause)) == NULL) {
		bench_fail(res, "%s", cause);
		goto out;
	}
	/* what cmld hooks in that runs without a loop: the room, checkpoints */
	audit_hook(&cmld, &audit_space_hook);
	audit_hook(&cmld, &audit_cp_hook);
	if (audit_open(&cmld, &cause) == -1) {
		bench_fail(res, "%s", cause);
		goto out;
	}
	stored = audit_stored_seq(&cmld);
	res->group_min = -1;
	t0 = bench_now();
	/* as the server reads it when a client connects: once */
	file_proc_comm((long long)b->subject, comm, sizeof comm);
	for (i = 0; i < b->records; i++) {
		t1 = bench_now();
		audit_write_as(&cmld, "call", BENCH_UID, (long long)b->subject,
		    comm, b->containers[i], BENCH_OBJECT, "ok", "%s",
		    b->details[i]);
		t2 = bench_now();
		/* a write that finds the queue full commits it first */
		if ((now_stored = audit_stored_seq(&cmld)) != stored) {
			group = now_stored - stored;
			stored = now_stored;
			res->commits++;
			if (res->group_min == -1 || group < res->group_min)
				res->group_min = group;
			if (group > res->group_max)
				res->group_max = group;
			res->commit_secs += t2 - t1;
		} else
			res->queue_secs += t2 - t1;
	}
	t1 = bench_now();
	if (audit_sync(&cmld) == -1) {
		bench_fail(res, "audit_sync could not store the records");
		goto out;
	}
	t2 = bench_now();
	res->secs = t2 - t0;
	res->commit_secs += t2 - t1;
	if ((now_stored = audit_stored_seq(&cmld)) != stored) {
		group = now_stored - stored;
		res->commits++;
		if (res->group_min == -1 || group < res->group_min)
			res->group_min = group;
		if (group > res->group_max)
			res->group_max = group;
	}
	res->ok = 1;
out:
	if (cmld.store != NULL) {
		audit_close(&cmld);
		store_close(cmld.store);
	}
	free(cause);
}

/* Runs sql on db; -1 with the reason in res. */
static int
bench_exec(sqlite3 *db, const char *sql, struct bench_result *res)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		bench_fail(res, "%s: %s", sql, msg != NULL ? msg :
		    sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Binds and inserts one row with the peer's prepared statement. */
static int
bench_peer_insert(sqlite3_stmt *stmt, const struct bench_row *r)
{
	int rc;

	sqlite3_reset(stmt);
	if ((rc = sqlite3_bind_int64(stmt, 1, r->seq)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(stmt, 2, r->time_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(stmt, 3, r->type, -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(stmt, 4, r->uid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(stmt, 5, r->pid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(stmt, 6, r->container, -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(stmt, 7, r->object, -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(stmt, 8, r->result, -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(stmt, 9, r->details, -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(stmt, 10, r->comm, -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(stmt, 11, r->prev, BENCH_HASH_LEN,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(stmt, 12, r->hash, BENCH_HASH_LEN,
	    SQLITE_STATIC)) != SQLITE_OK)
		return rc;
	return sqlite3_step(stmt);
}

/*
 * The peer's run, in its own process: the rows into a fresh database in
 * dir, 100 a transaction.
 */
static void
bench_peer(struct bench *b, const char *dir, struct bench_result *res)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	char *path;
	size_t i;
	double t0;
	int rc;

	path = xasprintf("%s/peer.db", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		bench_fail(res, "cannot open %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (bench_exec(db, "PRAGMA journal_mode = WAL", res) == -1 ||
	    bench_exec(db, "PRAGMA synchronous = FULL", res) == -1 ||
	    bench_exec(db, "CREATE TABLE audit (seq INTEGER PRIMARY KEY, "
	    "time_ms INTEGER NOT NULL, type TEXT NOT NULL, uid INTEGER, "
	    "pid INTEGER, container TEXT, object TEXT NOT NULL, "
	    "result TEXT NOT NULL, details TEXT, comm TEXT NOT NULL, "
	    "prev BLOB, hash BLOB, acked_ms INTEGER)", res) == -1)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO audit (seq, time_ms, type, "
	    "uid, pid, container, object, result, details, comm, prev, hash) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &stmt,
	    NULL) != SQLITE_OK) {
		bench_fail(res, "cannot prepare the insert: %s",
		    sqlite3_errmsg(db));
		goto out;
	}
	t0 = bench_now();
	for (i = 0; i < b->nrows; i++) {
		if (i % BENCH_PEER_BATCH == 0 &&
		    bench_exec(db, "BEGIN", res) == -1)
			goto out;
		if ((rc = bench_peer_insert(stmt, &b->rows[i])) !=
		    SQLITE_DONE) {
			bench_fail(res, "cannot insert row %zu: %s", i,
			    sqlite3_errstr(rc));
			goto out;
		}
		if ((i % BENCH_PEER_BATCH == BENCH_PEER_BATCH - 1 ||
		    i == b->nrows - 1) && bench_exec(db, "COMMIT", res) == -1)
			goto out;
		if (sqlite3_get_autocommit(db))
			res->commits++;
	}
	res->secs = bench_now() - t0;
	res->group_max = b->nrows < BENCH_PEER_BATCH ?
	    (long long)b->nrows : BENCH_PEER_BATCH;
	res->group_min = b->nrows % BENCH_PEER_BATCH != 0 ?
	    (long long)(b->nrows % BENCH_PEER_BATCH) : res->group_max;
	res->ok = 1;
out:
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
}

/* Frees the rows read back from a cml run. */
static void
bench_rows_free(struct bench *b)
{
	size_t i;

	for (i = 0; i < b->nrows; i++) {
		free(b->rows[i].type);
		free(b->rows[i].container);
		free(b->rows[i].object);
		free(b->rows[i].result);
		free(b->rows[i].details);
		free(b->rows[i].comm);
	}
	free(b->rows);
	b->rows = NULL;
	b->nrows = 0;
}

/* Copies a text column (NULL stays NULL). */
static char *
bench_column(sqlite3_stmt *stmt, int i)
{
	const unsigned char *s = sqlite3_column_text(stmt, i);

	return s != NULL ? xstrdup((const char *)s) : NULL;
}

/*
 * Reads the records a cml run stored in dir's audit.db, for the peer, and
 * checks that they are the N records written, each naming the subject's
 * command; -1 with a message on stderr.
 */
static int
bench_rows_read(struct bench *b, const char *dir)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	struct bench_row *r;
	char *path;
	int rc, ret = -1;

	bench_rows_free(b);
	b->rows = xcalloc((size_t)b->records, sizeof *b->rows);
	path = xasprintf("%s/audit.db", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "SELECT seq, time_ms, type, "
	    "uid, pid, container, object, result, details, comm, prev, hash "
	    "FROM audit ORDER BY seq", -1, &stmt, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-audit: cannot read %s: %s\n", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (b->nrows == (size_t)b->records) {
			fprintf(stderr, "bench-audit: %s holds more than the "
			    "%lld records written\n", path, b->records);
			goto out;
		}
		r = &b->rows[b->nrows++];
		r->seq = sqlite3_column_int64(stmt, 0);
		r->time_ms = sqlite3_column_int64(stmt, 1);
		r->type = bench_column(stmt, 2);
		r->uid = sqlite3_column_int64(stmt, 3);
		r->pid = sqlite3_column_int64(stmt, 4);
		r->container = bench_column(stmt, 5);
		r->object = bench_column(stmt, 6);
		r->result = bench_column(stmt, 7);
		r->details = bench_column(stmt, 8);
		r->comm = bench_column(stmt, 9);
		if (sqlite3_column_bytes(stmt, 10) != BENCH_HASH_LEN ||
		    sqlite3_column_bytes(stmt, 11) != BENCH_HASH_LEN) {
			fprintf(stderr, "bench-audit: record #%lld in %s is "
			    "not chained\n", r->seq, path);
			goto out;
		}
		memcpy(r->prev, sqlite3_column_blob(stmt, 10), BENCH_HASH_LEN);
		memcpy(r->hash, sqlite3_column_blob(stmt, 11), BENCH_HASH_LEN);
		if (r->comm == NULL || strcmp(r->comm, BENCH_COMM) != 0) {
			fprintf(stderr, "bench-audit: record #%lld names "
			    "command '%s', not '%s'\n", r->seq,
			    r->comm != NULL ? r->comm : "", BENCH_COMM);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "bench-audit: cannot read %s: %s\n", path,
		    sqlite3_errmsg(db));
		goto out;
	}
	if (b->nrows != (size_t)b->records) {
		fprintf(stderr, "bench-audit: %s holds %zu records, not the "
		    "%lld written\n", path, b->nrows, b->records);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
	return ret;
}

/*
 * Runs one run (cml or the peer) in a process of its own, in a fresh
 * directory, after syncing the file system; *res is what it measured.
 * For cml, reads its rows back for the peer.  -1 when it could not
 * measure (the reason printed).
 */
static int
bench_run(struct bench *b, int cml, struct bench_result *res)
{
	struct bench_result r;
	char *dir;
	ssize_t n;
	size_t got;
	pid_t pid;
	int p[2], status, ret = -1;

	memset(res, 0, sizeof *res);
	dir = xasprintf("%s/%s-%u", b->base, cml ? "cml" : "peer", b->nrun++);
	if (mkdir(dir, 0700) == -1) {
		fprintf(stderr, "bench-audit: cannot make %s: %s\n", dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	/* what earlier runs left to write back is not this run's cost */
	if (syncfs(b->base_fd) == -1)
		fprintf(stderr, "bench-audit: warning: cannot sync the file "
		    "system of %s: %s\n", b->base, strerror(errno));
	if (pipe(p) == -1 || (pid = fork()) == -1) {
		fprintf(stderr, "bench-audit: cannot start a run: %s\n",
		    strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(p[0]);
		memset(&r, 0, sizeof r);
		if (cml)
			bench_cml(b, dir, &r);
		else
			bench_peer(b, dir, &r);
		free(dir);
		_exit(write(p[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
	}
	close(p[1]);
	for (got = 0; got < sizeof *res; got += (size_t)n) {
		n = read(p[0], (char *)res + got, sizeof *res - got);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			break;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (got != sizeof *res || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-audit: the %s run ended without a "
		    "result\n", cml ? "cml" : "peer");
		goto out;
	}
	if (!res->ok) {
		fprintf(stderr, "bench-audit: the %s run failed: %s\n",
		    cml ? "cml" : "peer", res->error);
		goto out;
	}
	if (cml && bench_rows_read(b, dir) == -1)
		goto out;
	ret = 0;
out:
	if (bench_remove_dir(dir) == -1)
		fprintf(stderr, "bench-audit: warning: cannot remove %s\n",
		    dir);
	free(dir);
	return ret;
}

/*
 * Makes the records' details (about 60 bytes, each different) and
 * containers before anything is timed: a handler has them ready when it
 * audits its call.
 */
static void
bench_contents(struct bench *b)
{
	long long i;

	b->details = xcalloc((size_t)b->records, sizeof *b->details);
	b->containers = xcalloc((size_t)b->records, sizeof *b->containers);
	for (i = 0; i < b->records; i++) {
		b->details[i] = xasprintf("memory %lld MiB, cpus %lld, "
		    "network veth%lld, config revision %lld",
		    256 + (i % 8) * 64, 1 + i % 4, i % 16, 1000 + i);
		b->containers[i] = xasprintf("web-%lld", i % 8);
	}
}

/* Parses a bounded positive number for option name; -1 if it is not one. */
static long long
bench_number(const char *name, const char *s, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "bench-audit: %s must be from 1 to %lld, not "
		    "'%s'\n", name, max, s);
		return -1;
	}
	return v;
}

/* Prints one side's median rate and what its runs were made of. */
static void
bench_print_side(const char *label, const struct bench *b, double median,
    const struct bench_result *last, const char *how)
{
	printf(BENCH_LABEL "%.0f records/s (median of %ld, %.3f s for %lld "
	    "records)\n", label, (double)b->records / median, b->runs, median,
	    b->records);
	if (last->group_min == last->group_max)
		printf(BENCH_LABEL "%lld commits of %lld records (%s)\n", "",
		    last->commits, last->group_max, how);
	else
		printf(BENCH_LABEL "%lld commits of %lld to %lld records, "
		    "%.0f on average (%s)\n", "", last->commits,
		    last->group_min, last->group_max,
		    (double)b->records / (double)last->commits, how);
}

/* Measures both and prints the figures. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "records", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b;
	struct bench_result res, last_cml, last_peer;
	double *cml_secs = NULL, *peer_secs = NULL, *queue_secs = NULL;
	double *commit_secs = NULL, cml, peer, queue, commit, ratio;
	const char *tmp, *dir = NULL;
	long long v, i, commits = 0;
	long r;
	int ch, side, status = 1;

	/* warnings only: not the migrations of every fresh store */
	log_init("bench-audit", 1, LOG_LEVEL_WARNING);
	memset(&b, 0, sizeof b);
	b.records = BENCH_RECORDS_DEFAULT;
	b.runs = BENCH_RUNS_DEFAULT;
	b.base_fd = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+n:r:d:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'n':
			if ((v = bench_number("--records", optarg,
			    BENCH_RECORDS_MAX)) == -1)
				return 2;
			b.records = v;
			break;
		case 'r':
			if ((v = bench_number("--runs", optarg,
			    BENCH_RUNS_MAX)) == -1)
				return 2;
			b.runs = (long)v;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("usage: bench-audit [--records N] [--runs R] "
			    "[--dir DIR]\n"
			    "Writes N audit records (default %d) through "
			    "cmld's audit_write_as and\n"
			    "audit_sync, and inserts the same rows with raw "
			    "SQLite (WAL,\n"
			    "synchronous=FULL, %d rows a transaction); R "
			    "runs of each (default %d),\n"
			    "each in a fresh directory under DIR (default "
			    "$TMPDIR or /tmp).\n", BENCH_RECORDS_DEFAULT,
			    BENCH_PEER_BATCH, BENCH_RUNS_DEFAULT);
			return 0;
		default:
			bench_usage();
			return 2;
		}
	}
	if (argc != optind) {
		bench_usage();
		return 2;
	}
	if (dir == NULL)
		dir = (tmp = getenv("TMPDIR")) != NULL && *tmp != '\0' ?
		    tmp : "/tmp";
	b.base = xasprintf("%s/cml-bench-audit.XXXXXX", dir);
	if (mkdtemp(b.base) == NULL) {
		fprintf(stderr, "bench-audit: cannot make a directory in %s: "
		    "%s\n", dir, strerror(errno));
		free(b.base);
		return 1;
	}
	if ((b.base_fd = open(b.base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		fprintf(stderr, "bench-audit: cannot open %s: %s\n", b.base,
		    strerror(errno));
		goto out;
	}
	if ((b.subject = bench_subject_start()) == -1) {
		fprintf(stderr, "bench-audit: cannot start the subject "
		    "process: %s\n", strerror(errno));
		goto out;
	}
	bench_contents(&b);
	cml_secs = xcalloc((size_t)b.runs, sizeof *cml_secs);
	peer_secs = xcalloc((size_t)b.runs, sizeof *peer_secs);
	queue_secs = xcalloc((size_t)b.runs, sizeof *queue_secs);
	commit_secs = xcalloc((size_t)b.runs, sizeof *commit_secs);

	/* not counted: the peer's first rows, and warm caches for both */
	if (bench_run(&b, 1, &last_cml) == -1 ||
	    bench_run(&b, 0, &last_peer) == -1)
		goto out;
	for (r = 0; r < b.runs; r++)
		for (side = 0; side < 2; side++) {
			/* cml first in even rounds, the peer in odd ones */
			if ((side == 0) == (r % 2 == 0)) {
				if (bench_run(&b, 1, &res) == -1)
					goto out;
				cml_secs[r] = res.secs;
				queue_secs[r] = res.queue_secs;
				commit_secs[r] = res.commit_secs;
				commits += res.commits;
				last_cml = res;
			} else {
				if (bench_run(&b, 0, &res) == -1)
					goto out;
				peer_secs[r] = res.secs;
				last_peer = res;
			}
		}
	cml = bench_median(cml_secs, (size_t)b.runs);
	peer = bench_median(peer_secs, (size_t)b.runs);
	queue = bench_median(queue_secs, (size_t)b.runs);
	commit = bench_median(commit_secs, (size_t)b.runs);
	ratio = peer / cml;

	printf(BENCH_LABEL "%s\n", "directory:", dir);
	printf(BENCH_LABEL "%lld a run, %ld runs of each (order "
	    "alternating), after one of each not counted\n", "records:",
	    b.records, b.runs);
	bench_print_side("cml (audit_write_as):", &b, cml, &last_cml,
	    "cmld's group commits: a full queue, then audit_sync");
	printf(BENCH_LABEL "%.2f us a record queued (clean, chain, command "
	    "name), %.2f ms a commit\n", "", queue * 1e6 / (double)b.records,
	    commit * 1e3 * (double)b.runs / (double)commits);
	printf(BENCH_LABEL "%.0f%% of the time in commits\n", "",
	    commit * 100 / cml);
	bench_print_side("peer (raw SQLite):", &b, peer, &last_peer,
	    "prepared inserts, WAL, synchronous=FULL");
	printf(BENCH_LABEL "%.3f (target >= %.1f: %s)\n", "ratio cml/peer:",
	    ratio, BENCH_TARGET, ratio >= BENCH_TARGET ? "met" : "NOT met");
	status = 0;
out:
	if (b.subject > 0) {
		kill(b.subject, SIGKILL);
		waitpid(b.subject, NULL, 0);
	}
	bench_rows_free(&b);
	if (b.details != NULL)
		for (i = 0; i < b.records; i++) {
			free(b.details[i]);
			free(b.containers[i]);
		}
	free(b.details);
	free(b.containers);
	free(cml_secs);
	free(peer_secs);
	free(queue_secs);
	free(commit_secs);
	if (b.base_fd != -1)
		close(b.base_fd);
	if (rmdir(b.base) == -1 && errno != ENOENT)
		fprintf(stderr, "bench-audit: warning: cannot remove %s: %s\n",
		    b.base, strerror(errno));
	free(b.base);
	return status;
}
