/*
 * bench-roundtrip: control round trips per second of `device status`
 * (org.cml.Device.Status) against cmld, next to the floor set by a bare
 * AF_UNIX echo server measured in the same run, and cmld's resident memory.
 *
 * Both ends get the same client loop: write the call in one write, read
 * until the reply's NUL.  Within each round the two take turns in short
 * slices, so that both see the same machine.  This is a benchmark: it prints
 * figures and exits 0 whether or not the targets are met, non-zero only when
 * it cannot measure.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "proto.h"
#include "xmalloc.h"

#define BENCH_METHOD "org.cml.Device.Status"
/* The call, byte for byte; sizeof includes the terminating NUL. */
#define BENCH_CALL "{\"method\":\"" BENCH_METHOD "\",\"parameters\":{}}"

#define BENCH_ROUNDS 5
#define BENCH_SECONDS_DEFAULT 1.0
#define BENCH_WARMUP_SECONDS 0.25
/* Round trips between two clock reads in a time-boxed round. */
#define BENCH_BATCH 64
/* Each round alternates between the targets this many times. */
#define BENCH_SLICES 10
#define BENCH_TARGETS 2
#define BENCH_BUF_SIZE (PROTO_MAX_MSG + 1)
#define BENCH_ECHO_BUF 65536

#define BENCH_RATIO_TARGET 0.5
/* cmld's own memory at idle (RssAnon): the part shared libraries don't set. */
#define BENCH_ANON_TARGET_KB 2048UL

#define BENCH_LABEL "%-24s"

struct bench_opts {
	const char *socket;
	pid_t pid; /* 0: do not measure memory */
	double seconds; /* per target and time-boxed round */
	unsigned long long count; /* round trips per round; 0: time-boxed */
};

/* One end measured: a connected socket and its last reply. */
struct bench_target {
	const char *name;
	int echo; /* the reply must be the call itself */
	int fd;
	char *buf; /* BENCH_BUF_SIZE bytes */
	size_t len; /* bytes of the last reply, NUL included */
	unsigned long long done; /* round trips so far in this round */
	double elapsed; /* seconds they took */
	double rate[BENCH_ROUNDS];
};

/* What /proc/PID/status says about memory, in kB. */
struct bench_mem {
	unsigned long rss_kb;
	unsigned long hwm_kb;
	unsigned long anon_kb; /* private part of the RSS; 0 if unknown */
	unsigned long file_kb; /* mapped files, mostly shared libraries */
	char name[64];
};

static const char bench_usage[] =
    "usage: bench-roundtrip --socket PATH [--pid PID] [--seconds S] "
    "[--count N]\n";

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

	return (x > y) - (x < y);
}

static double
bench_median(const double *rate)
{
	double sorted[BENCH_ROUNDS];

	memcpy(sorted, rate, sizeof sorted);
	qsort(sorted, BENCH_ROUNDS, sizeof sorted[0], bench_cmp_double);
	return sorted[BENCH_ROUNDS / 2];
}

/* Serves one client: reads what comes and writes it straight back. */
static void __attribute__((noreturn))
bench_echo_serve(int lfd, pid_t parent)
{
	char buf[BENCH_ECHO_BUF];
	ssize_t n, w, off;
	int fd;

	/* Do not outlive a benchmark that dies before it can reap us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(1);
	while ((fd = accept(lfd, NULL, NULL)) == -1) {
		if (errno != EINTR)
			_exit(1);
	}
	close(lfd);
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == 0)
			_exit(0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, (size_t)(n - off));
			if (w == -1) {
				if (errno != EINTR)
					_exit(1);
				w = 0;
			}
		}
	}
}

/*
 * Starts the echo server in a child on a socket in a private directory and
 * connects to it; the socket file is gone again once connected.
 */
static int
bench_echo_start(pid_t *child, int *fd, char **cause)
{
	struct sockaddr_un sun;
	const char *tmp;
	char *dir, *path = NULL;
	pid_t parent = getpid(), pid = -1;
	int lfd = -1, cfd = -1, made = 0, bound = 0, rv = -1;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	dir = xasprintf("%s/cml-bench.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		*cause = xasprintf("cannot create a directory in %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	made = 1;
	path = xasprintf("%s/echo.sock", dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("socket path %s is too long: set TMPDIR to "
		    "a shorter directory", path);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		*cause = xasprintf("cannot bind the echo socket %s: %s", path,
		    strerror(errno));
		goto out;
	}
	bound = 1;
	if (listen(lfd, 1) == -1) {
		*cause = xasprintf("cannot listen on %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		*cause = xasprintf("cannot fork the echo server: %s",
		    strerror(errno));
		goto out;
	}
	if (pid == 0)
		bench_echo_serve(lfd, parent);

	if ((cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(cfd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		*cause = xasprintf("cannot connect to the echo server at %s: "
		    "%s", path, strerror(errno));
		goto out;
	}
	*child = pid;
	*fd = cfd;
	rv = 0;
out:
	if (rv == -1) {
		if (cfd != -1)
			close(cfd);
		if (pid > 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
				;
		}
	}
	if (lfd != -1)
		close(lfd);
	if (bound)
		unlink(path);
	if (made)
		rmdir(dir);
	free(path);
	free(dir);
	return rv;
}

/* Ends the echo server, which the closed connection has already told. */
static void
bench_echo_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/* Makes n sequential calls, each waiting for the whole reply. */
static int
bench_exchange(struct bench_target *t, unsigned long long n, char **cause)
{
	unsigned long long i;
	const char *nul;
	size_t got, off;
	ssize_t r;

	for (i = 0; i < n; i++) {
		for (off = 0; off < sizeof BENCH_CALL; off += (size_t)r) {
			r = write(t->fd, BENCH_CALL + off,
			    sizeof BENCH_CALL - off);
			if (r == -1) {
				if (errno == EINTR) {
					r = 0;
					continue;
				}
				*cause = xasprintf("cannot write to %s: %s",
				    t->name, strerror(errno));
				return -1;
			}
		}
		got = 0;
		for (;;) {
			r = read(t->fd, t->buf + got, BENCH_BUF_SIZE - got);
			if (r == -1) {
				if (errno == EINTR)
					continue;
				*cause = xasprintf("cannot read from %s: %s",
				    t->name, strerror(errno));
				return -1;
			}
			if (r == 0) {
				*cause = xasprintf("%s closed the connection",
				    t->name);
				return -1;
			}
			nul = memchr(t->buf + got, '\0', (size_t)r);
			got += (size_t)r;
			if (nul != NULL)
				break;
			if (got == BENCH_BUF_SIZE) {
				*cause = xasprintf("%s sent a message longer "
				    "than %d bytes", t->name, PROTO_MAX_MSG);
				return -1;
			}
		}
		if (nul != t->buf + got - 1) {
			*cause = xasprintf("%s sent more than one message for "
			    "one call", t->name);
			return -1;
		}
		t->len = got;
	}
	return 0;
}

/* Checks that the last reply is a Device.Status success with a version. */
static int
bench_check_status(const struct bench_target *t, char **version,
    char **cause)
{
	struct proto_reader r;
	struct proto_reply reply;
	struct json_object *msg = NULL, *v;
	char *why = NULL;
	int rv = -1;

	proto_reader_init(&r);
	proto_reader_feed(&r, t->buf, t->len);
	if (proto_reader_next(&r, &msg, &why) != 1 ||
	    proto_reply_parse(msg, &reply, &why) == -1) {
		*cause = xasprintf("%s sent a malformed reply to %s: %s",
		    t->name, BENCH_METHOD, why != NULL ? why : "incomplete");
		goto out;
	}
	if (reply.error != NULL) {
		*cause = xasprintf("%s refused %s: %s (%s)", t->name,
		    BENCH_METHOD, proto_reply_message(&reply), reply.error);
		goto out;
	}
	if (!json_object_object_get_ex(reply.params, "version", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		*cause = xasprintf("%s's reply to %s has no \"version\"",
		    t->name, BENCH_METHOD);
		goto out;
	}
	if (version != NULL)
		*version = xstrdup(json_object_get_string(v));
	rv = 0;
out:
	free(why);
	json_object_put(msg);
	proto_reader_free(&r);
	return rv;
}

/* Checks the last reply: the echo of the call, or a status success. */
static int
bench_check(const struct bench_target *t, char **cause)
{
	if (!t->echo)
		return bench_check_status(t, NULL, cause);
	if (t->len != sizeof BENCH_CALL ||
	    memcmp(t->buf, BENCH_CALL, sizeof BENCH_CALL) != 0) {
		*cause = xasprintf("%s sent back other bytes than it got",
		    t->name);
		return -1;
	}
	return 0;
}

/* Runs count round trips, or as many as fit in seconds, and adds them up. */
static int
bench_slice(struct bench_target *t, double seconds, unsigned long long count,
    char **cause)
{
	unsigned long long done = 0;
	double start, now;

	start = bench_now();
	if (count > 0) {
		if (bench_exchange(t, count, cause) == -1)
			return -1;
		done = count;
		now = bench_now();
	} else {
		do {
			if (bench_exchange(t, BENCH_BATCH, cause) == -1)
				return -1;
			done += BENCH_BATCH;
			now = bench_now();
		} while (now - start < seconds);
	}
	t->done += done;
	t->elapsed += now - start;
	return 0;
}

/*
 * Runs one round: slices of the targets in turn, so that whatever else the
 * machine does falls on all of them alike.  Sets each target's rate.
 */
static int
bench_round(struct bench_target *t[], double seconds, unsigned long long count,
    double rate[], char **cause)
{
	unsigned long long n;
	int i, s;

	for (i = 0; i < BENCH_TARGETS; i++) {
		t[i]->done = 0;
		t[i]->elapsed = 0;
	}
	for (s = 0; s < BENCH_SLICES; s++) {
		/* count spread over the slices; some may get none */
		n = count / BENCH_SLICES +
		    ((unsigned long long)s < count % BENCH_SLICES);
		if (count > 0 && n == 0)
			continue;
		for (i = 0; i < BENCH_TARGETS; i++) {
			if (bench_slice(t[i], seconds / BENCH_SLICES, n,
			    cause) == -1)
				return -1;
		}
	}
	for (i = 0; i < BENCH_TARGETS; i++) {
		if (bench_check(t[i], cause) == -1)
			return -1;
		if (t[i]->elapsed < 1e-9)
			t[i]->elapsed = 1e-9;
		rate[i] = (double)t[i]->done / t[i]->elapsed;
	}
	return 0;
}

/* Reads VmRSS, VmHWM and the name of a process from /proc. */
static int
bench_mem_read(pid_t pid, struct bench_mem *m, char **cause)
{
	char path[64], *line = NULL;
	size_t size = 0;
	FILE *f;
	int found = 0, rv = -1;

	memset(m, 0, sizeof *m);
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("cannot read %s: %s: is cmld running with "
		    "pid %ld?", path, strerror(errno), (long)pid);
		return -1;
	}
	while (getline(&line, &size, f) != -1) {
		if (sscanf(line, "VmRSS: %lu kB", &m->rss_kb) == 1)
			found |= 1;
		else if (sscanf(line, "VmHWM: %lu kB", &m->hwm_kb) == 1)
			found |= 2;
		else if (sscanf(line, "Name: %63s", m->name) == 1)
			found |= 4;
		else if (sscanf(line, "RssAnon: %lu kB", &m->anon_kb) != 1)
			sscanf(line, "RssFile: %lu kB", &m->file_kb);
	}
	if (found != 7) {
		*cause = xasprintf("%s has no VmRSS or VmHWM: process %ld has "
		    "exited or is a kernel thread", path, (long)pid);
		goto out;
	}
	rv = 0;
out:
	free(line);
	fclose(f);
	return rv;
}

static void
bench_print_rate(const char *label, const struct bench_target *t)
{
	printf(BENCH_LABEL "%.0f round trips/s (median of %d)\n", label,
	    bench_median(t->rate), BENCH_ROUNDS);
}

static void
bench_print_rounds(const char *label, const struct bench_target *t)
{
	int i;

	printf(BENCH_LABEL, label);
	for (i = 0; i < BENCH_ROUNDS; i++)
		printf("%.0f ", t->rate[i]);
	printf("round trips/s\n");
}

static void
bench_print_kb(const char *label, unsigned long kb)
{
	printf(BENCH_LABEL "%.1f MiB, %lu kB\n", label, (double)kb / 1024.0,
	    kb);
}

static int
bench_parse_opts(int argc, char **argv, struct bench_opts *o, char **cause)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "pid", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long pid;
	int ch;

	memset(o, 0, sizeof *o);
	o->seconds = BENCH_SECONDS_DEFAULT;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		errno = 0;
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'p':
			pid = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || pid <= 0 ||
			    (pid_t)pid != pid) {
				*cause = xasprintf("--pid needs a process id, "
				    "not '%s'", optarg);
				return -1;
			}
			o->pid = (pid_t)pid;
			break;
		case 't':
			o->seconds = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' ||
			    !(o->seconds >= 0.01 && o->seconds <= 3600)) {
				*cause = xasprintf("--seconds needs a number "
				    "from 0.01 to 3600, not '%s'", optarg);
				return -1;
			}
			break;
		case 'n':
			o->count = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' ||
			    o->count == 0) {
				*cause = xasprintf("--count needs a positive "
				    "number, not '%s'", optarg);
				return -1;
			}
			break;
		case 'h':
			printf("%s"
			    "Measures round trips per second of %s\n"
			    "against cmld at PATH and against a bare AF_UNIX "
			    "echo server, %d rounds\n"
			    "each, and prints the medians, their ratio and, "
			    "with --pid, cmld's\n"
			    "resident memory before and after the run.\n"
			    "  --seconds S  time per round for each of the two "
			    "(default %.0f)\n"
			    "  --count N    N round trips per round for each "
			    "instead\n",
			    bench_usage, BENCH_METHOD, BENCH_ROUNDS,
			    BENCH_SECONDS_DEFAULT);
			exit(0);
		default:
			*cause = xasprintf("unknown or incomplete option '%s'",
			    argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc) {
		*cause = xasprintf("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (o->socket == NULL) {
		*cause = xstrdup("--socket PATH is required");
		return -1;
	}
	return 0;
}

/* Measures, then prints the figures; exits non-zero only on error. */
int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_target echo, cmld, *both[BENCH_TARGETS] = { &echo, &cmld };
	struct bench_mem idle, after;
	double rate[BENCH_TARGETS], floor_rate, cmld_rate, ratio;
	char *cause = NULL, *version = NULL;
	pid_t child = -1;
	int i, rv = 1;

	if (bench_parse_opts(argc, argv, &o, &cause) == -1) {
		fprintf(stderr, "bench-roundtrip: %s\n%s", cause, bench_usage);
		free(cause);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	memset(&echo, 0, sizeof echo);
	echo.name = "the echo server";
	echo.echo = 1;
	echo.fd = -1;
	echo.buf = xmalloc(BENCH_BUF_SIZE);
	memset(&cmld, 0, sizeof cmld);
	cmld.name = "cmld";
	cmld.fd = -1;
	cmld.buf = xmalloc(BENCH_BUF_SIZE);

	/* Idle means before our connection exists. */
	if (o.pid != 0 && bench_mem_read(o.pid, &idle, &cause) == -1)
		goto out;
	/* Fork before connecting to cmld, so the child holds no cmld fd. */
	if (bench_echo_start(&child, &echo.fd, &cause) == -1)
		goto out;
	if ((cmld.fd = proto_connect(o.socket, &cause)) == -1)
		goto out;
	if (bench_exchange(&cmld, 1, &cause) == -1 ||
	    bench_check_status(&cmld, &version, &cause) == -1)
		goto out;

	/* Warm-up: a short round whose figures are dropped. */
	if (bench_round(both, BENCH_WARMUP_SECONDS, 0, rate, &cause) == -1)
		goto out;
	for (i = 0; i < BENCH_ROUNDS; i++) {
		if (bench_round(both, o.seconds, o.count, rate, &cause) == -1)
			goto out;
		echo.rate[i] = rate[0];
		cmld.rate[i] = rate[1];
	}

	close(cmld.fd);
	cmld.fd = -1;
	if (o.pid != 0 && bench_mem_read(o.pid, &after, &cause) == -1)
		goto out;

	floor_rate = bench_median(echo.rate);
	cmld_rate = bench_median(cmld.rate);
	ratio = cmld_rate / floor_rate;
	printf(BENCH_LABEL "%s at %s\n", "cmld version:", version, o.socket);
	bench_print_rate("floor (AF_UNIX echo):", &echo);
	bench_print_rate("cmld device status:", &cmld);
	printf(BENCH_LABEL "%.2f (target >= %.2f)  %s\n", "ratio:", ratio,
	    BENCH_RATIO_TARGET, ratio >= BENCH_RATIO_TARGET ? "PASS" : "MISS");
	if (o.pid != 0) {
		if (strcmp(idle.name, "cmld") != 0)
			fprintf(stderr, "bench-roundtrip: note: process %ld "
			    "is '%s', not cmld\n", (long)o.pid, idle.name);
		/* the whole RSS depends on the shared libraries mapped */
		printf(BENCH_LABEL "%.1f MiB, %lu kB (of it shared "
		    "libraries: RssFile)\n", "cmld idle RSS:",
		    (double)idle.rss_kb / 1024.0, idle.rss_kb);
		if (idle.anon_kb != 0) {
			printf(BENCH_LABEL "%.1f MiB, %lu kB (target <= %lu "
			    "MiB)  %s\n", "cmld idle RssAnon:",
			    (double)idle.anon_kb / 1024.0, idle.anon_kb,
			    BENCH_ANON_TARGET_KB / 1024,
			    idle.anon_kb <= BENCH_ANON_TARGET_KB ? "PASS" :
			    "MISS");
			bench_print_kb("cmld idle RssFile:", idle.file_kb);
		}
		bench_print_kb("cmld idle VmHWM:", idle.hwm_kb);
		bench_print_kb("cmld RSS after run:", after.rss_kb);
		bench_print_kb("cmld VmHWM after run:", after.hwm_kb);
	} else
		printf(BENCH_LABEL "not measured (no --pid)\n",
		    "cmld idle RSS:");
	bench_print_rounds("floor per round:", &echo);
	bench_print_rounds("cmld per round:", &cmld);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cause = xasprintf("cannot write the figures: %s",
		    strerror(errno));
		goto out;
	}
	rv = 0;
out:
	if (cause != NULL)
		fprintf(stderr, "bench-roundtrip: %s\n", cause);
	if (cmld.fd != -1)
		close(cmld.fd);
	if (echo.fd != -1)
		close(echo.fd);
	if (child > 0)
		bench_echo_stop(child);
	free(version);
	free(cmld.buf);
	free(echo.buf);
	free(cause);
	return rv;
}
