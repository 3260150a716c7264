/*
 * Unit tests of cmld's link to tpm2d (daemon/cmld/tpm.c, a stage link of
 * stage.c, as scd.c is) against a fake tpm2d: the server library in a
 * child process, serving Status and TakeAudit (a spool of three records
 * that honours acks, as tpm2d's does).  cmld's side runs on a loop in the
 * test process with a store in a scratch directory.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "ctx.h"
#include "log.h"
#include "loop.h"
#include "server.h"
#include "store.h"
#include "scd.h"
#include "stage.h"
#include "testutil.h"
#include "tpm.h"
#include "xmalloc.h"

/* --- the fake tpm2d ------------------------------------------------------ */

static const struct cmd_entry f_table[] = {
	{
		.id = CMD_ID_TPM_STATUS,
		.words = "status",
		.family = "test",
		.method = "org.cml.TPM.Status",
		.flags = CMD_READONLY,
	},
	{
		.id = CMD_ID_TPM_TAKE_AUDIT,
		.words = "take",
		.family = "test",
		.method = "org.cml.TPM.TakeAudit",
		.args = {
			{ .name = "ack", .type = CMD_ARG_INT,
			  .flags = CMD_ARG_OPTIONAL, .min = 0,
			  .max = 1LL << 40 },
		},
		.flags = CMD_READONLY,
	},
};

/* The fake's spool: seq 1..3, the acks it got. */
static long long f_acked;
static long long f_nacks;

static const char *const f_times[] = {
	"2026-01-02T03:04:05.006Z",
	"2026-01-02T03:04:05.106Z",
	"2026-01-02T03:04:06.000Z",
};

/* Status: what tpm2d says, and the acks this fake got. */
static void
f_status(struct call *call)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "tcti", json_object_new_string("fake"));
	json_object_object_add(p, "system_key",
	    json_object_new_string("unsealed"));
	json_object_object_add(p, "acks", json_object_new_int64(f_nacks));
	json_object_object_add(p, "acked", json_object_new_int64(f_acked));
	call_reply(call, p);
}

/* TakeAudit: the records after the last ack; 5 dropped before them. */
static void
f_take(struct call *call)
{
	struct json_object *p, *a, *o, *v;
	long long i;

	if (json_object_object_get_ex(call->params, "ack", &v) && v != NULL) {
		f_nacks++;
		if (json_object_get_int64(v) > f_acked)
			f_acked = json_object_get_int64(v);
	}
	a = json_object_new_array();
	for (i = f_acked + 1; i <= 3; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "seq", json_object_new_int64(i));
		json_object_object_add(o, "time",
		    json_object_new_string(f_times[i - 1]));
		json_object_object_add(o, "type",
		    json_object_new_string("syskey"));
		json_object_object_add(o, "object",
		    json_object_new_string("system key"));
		json_object_object_add(o, "result",
		    json_object_new_string("ok"));
		json_object_object_add(o, "details",
		    json_object_new_string("record of the fake"));
		json_object_array_add(a, o);
	}
	p = json_object_new_object();
	json_object_object_add(p, "records", a);
	json_object_object_add(p, "dropped", json_object_new_int64(5));
	call_reply(call, p);
}

/* Starts the fake tpm2d at path in a child; returns its pid once it listens. */
static pid_t
fake_start(const char *path)
{
	static call_handler handlers[CMD_ID_COUNT];
	struct srv_config cfg;
	struct loop *loop;
	struct stat sb;
	pid_t pid;
	int i;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		handlers[CMD_ID_TPM_STATUS] = f_status;
		handlers[CMD_ID_TPM_TAKE_AUDIT] = f_take;
		memset(&cfg, 0, sizeof cfg);
		cfg.name = "tpm2d";
		cfg.sock_path = path;
		cfg.table = f_table;
		cfg.table_len = sizeof f_table / sizeof f_table[0];
		cfg.handlers = handlers;
		cfg.nhandlers = CMD_ID_COUNT;
		loop = loop_new();
		(void)srv_new(loop, &cfg);
		loop_run(loop);
		_exit(0);
	}
	for (i = 0; i < 500; i++) {
		if (stat(path, &sb) == 0)
			return pid;
		usleep(10000);
	}
	fail_msg("the fake tpm2d did not listen at %s", path);
	return -1;
}

static void
fake_stop(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
}

/* --- cmld's side ---------------------------------------------------------- */

/* What a tpm_call's callback got. */
struct t_reply {
	int called;
	char *error;
	struct json_object *params;
};

struct t_state {
	char dir[64];
	char *sock;
	struct cmld cmld;
	struct t_reply r;
	long long t0;
	pid_t pid;
};

static int
t_setup(void **state)
{
	struct t_state *st;
	char *cause = NULL;

	if (geteuid() != 0)
		skip(); /* the fake's socket takes root (admin) callers */
	st = xcalloc(1, sizeof *st);
	strcpy(st->dir, "/tmp/cml-test-tpm.XXXXXX");
	assert_non_null(mkdtemp(st->dir));
	st->sock = xasprintf("%s/tpm2d.sock", st->dir);
	st->cmld.loop = loop_new();
	st->cmld.store = store_open(st->dir, &cause);
	if (st->cmld.store == NULL)
		fail_msg("store_open: %s", cause);
	/* records are stored as cmld stores them: committed each turn */
	if (audit_open(&st->cmld, &cause) == -1)
		fail_msg("audit_open: %s", cause);
	*state = st;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_state *st = *state;

	if (st == NULL)
		return 0;
	tpm_stop(&st->cmld);
	if (st->pid > 0)
		fake_stop(st->pid);
	json_object_put(st->r.params);
	free(st->r.error);
	audit_close(&st->cmld);
	store_close(st->cmld.store);
	loop_free(st->cmld.loop);
	(void)test_remove_tree(st->dir);
	free(st->sock);
	free(st);
	return 0;
}

/*
 * A test is a script of steps run by the loop (which runs once: a loop
 * that quit stays quit): each step waits until its condition holds (for
 * at most ms; failing the test after that) or, without one, for ms, and
 * then acts.
 */
struct t_step {
	const char *what;
	long long ms;
	int (*cond)(struct cmld *, void *);
	void (*act)(struct t_state *);
};

struct t_script {
	struct t_state *st;
	const struct t_step *steps;
	size_t n, i;
	long long since;
	struct loop_timer tick;
};

static void
t_tick(struct loop_timer *t)
{
	struct t_script *sc = t->arg;
	const struct t_step *s = &sc->steps[sc->i];
	long long now = loop_now_ms();

	if (s->cond != NULL ? s->cond(&sc->st->cmld, sc->st) :
	    now - sc->since >= s->ms) {
		if (s->act != NULL)
			s->act(sc->st);
		sc->since = loop_now_ms();
		if (++sc->i == sc->n) {
			loop_quit(sc->st->cmld.loop);
			return;
		}
	} else if (s->cond != NULL && now - sc->since >= s->ms)
		fail_msg("step '%s': not so after %lld ms", s->what, s->ms);
	(void)loop_timer_start(sc->st->cmld.loop, t, 5);
}

/* Runs a script of n steps on st's loop. */
static void
t_script_run(struct t_state *st, const struct t_step *steps, size_t n)
{
	struct t_script sc;

	memset(&sc, 0, sizeof sc);
	sc.st = st;
	sc.steps = steps;
	sc.n = n;
	sc.since = loop_now_ms();

	loop_timer_init(&sc.tick, t_tick, &sc);
	(void)loop_timer_start(st->cmld.loop, &sc.tick, 1);
	loop_run(st->cmld.loop);
	loop_timer_stop(st->cmld.loop, &sc.tick);
}

static int
t_is_up(struct cmld *cmld, void *arg)
{
	(void)arg;
	return strcmp(tpm_state(cmld), "up") == 0;
}

/* Counts the trail's tpm2d records; *dropped those of result dropped. */
struct t_count {
	long long n, dropped, first_time, pid;
};

static int
t_count_cb(const struct audit_record *rec, void *arg)
{
	struct t_count *c = arg;

	if (strcmp(rec->result, "dropped") == 0)
		c->dropped++;
	else {
		if (c->n == 0)
			c->first_time = rec->time_ms;
		c->n++;
	}
	c->pid = rec->pid;
	return 0;
}

static struct t_count
t_count(struct cmld *cmld)
{
	struct t_count c = { 0, 0, 0, 0 };
	struct audit_filter f;
	char *cause = NULL;

	store_audit_filter_init(&f);
	f.type = "tpm2d";
	if (store_audit_range(cmld->store, &f, 0, 1LL << 62, 1LL << 62,
	    t_count_cb, &c, &cause) == -1)
		fail_msg("%s", cause);
	return c;
}

static int
t_has_records(struct cmld *cmld, void *arg)
{
	struct t_count c = t_count(cmld);

	(void)arg;
	return c.n >= 3 && c.dropped >= 1;
}

static void
t_reply_cb(void *arg, const char *error, struct json_object *params)
{
	struct t_reply *r = arg;

	r->called++;
	r->error = error != NULL ? xstrdup(error) : NULL;
	r->params = json_object_get(params);
}

static int
t_replied(struct cmld *cmld, void *arg)
{
	(void)cmld;
	return ((struct t_state *)arg)->r.called > 0;
}

/* Steps of the tests below. */
static void
a_start(struct t_state *st)
{
	tpm_start(&st->cmld, st->sock);
}

static void
a_down_refused(struct t_state *st)
{
	char *cause = NULL;
	long long t0, t1;

	assert_string_equal(tpm_state(&st->cmld), "down");
	t0 = loop_now_ms();
	assert_int_equal(tpm_call(&st->cmld, "Status", NULL, t_reply_cb,
	    &st->r, &cause), -1);
	t1 = loop_now_ms();
	assert_true(t1 - t0 < 100);
	assert_non_null(strstr(cause, "tpm2d is not running (stage 1): "
	    "cannot connect to "));
	free(cause);
}

static void
a_not_called(struct t_state *st)
{
	assert_int_equal(st->r.called, 0);
}

static void
a_fake_start(struct t_state *st)
{
	assert_string_equal(tpm_state(&st->cmld), "down");
	st->pid = fake_start(st->sock);
	st->t0 = loop_now_ms();
}

static void
a_up_in_time(struct t_state *st)
{
	/* the next attempt, at most 5 s after the last */
	assert_true(loop_now_ms() - st->t0 <= 5500);
}

static void
a_records_and_call(struct t_state *st)
{
	struct t_count c = t_count(&st->cmld);
	char *cause = NULL;

	assert_int_equal(c.n, 3);
	assert_int_equal(c.dropped, 1);
	assert_int_equal(c.pid, st->pid);
	/* 2026-01-02T03:04:05.006Z */
	assert_int_equal(c.first_time, 1767323045006LL);
	assert_int_equal(tpm_call(&st->cmld, "Status", NULL, t_reply_cb,
	    &st->r, &cause), 0);
	assert_int_equal(st->r.called, 0); /* not from within tpm_call */
}

static void
a_status_replied(struct t_state *st)
{
	assert_null(st->r.error);
	assert_string_equal(json_object_get_string(json_object_object_get(
	    st->r.params, "tcti")), "fake");
}

/*
 * tpm2d not there: cmld's link says down, a call is refused at once with
 * the reason (its callback never runs); tpm2d started later is found by
 * the link's retries alone (100 ms doubling, 5 s at most), and its spool
 * is stored with tpm2d's times and pid.
 * Proves: TSF.AUDIT (tpm2d's records stored with their original times
 * and tpm2d's pid, and one record for those it dropped).
 */
static void
test_tpm_down_refused_then_found(void **state)
{
	static const struct t_step steps[] = {
		{ "start", 0, NULL, a_start },
		{ "down a while", 300, NULL, a_down_refused },
		{ "no callback", 50, NULL, a_not_called },
		{ "down longer", 1500, NULL, a_fake_start },
		{ "up by retrying", 7000, t_is_up, a_up_in_time },
		{ "records stored", 3000, t_has_records, a_records_and_call },
		{ "status answered", 3000, t_replied, a_status_replied },
	};
	struct t_state *st = *state;

	t_script_run(st, steps, sizeof steps / sizeof steps[0]);
}

static void
a_fake_then_start(struct t_state *st)
{
	st->pid = fake_start(st->sock);
	tpm_start(&st->cmld, st->sock);
}

static void
a_crash_restart(struct t_state *st)
{
	/* ended at once: the ack would go with the next take, 2 s later */
	tpm_stop(&st->cmld);
	tpm_start(&st->cmld, st->sock);
}

static void
a_counted_once_call(struct t_state *st)
{
	struct t_count c = t_count(&st->cmld);
	char *cause = NULL;

	assert_int_equal(c.n, 3);
	assert_int_equal(c.dropped, 1);
	assert_int_equal(tpm_call(&st->cmld, "Status", NULL, t_reply_cb,
	    &st->r, &cause), 0);
}

static void
a_acked(struct t_state *st)
{
	assert_null(st->r.error);
	/* acknowledged: all three, to this tpm2d */
	assert_int_equal(json_object_get_int64(json_object_object_get(
	    st->r.params, "acked")), 3);
}

/*
 * cmld ends after storing tpm2d's records but before acknowledging them:
 * the next cmld is handed them again and finds them in the trail, so
 * none is stored twice (nor the dropped count), and then acknowledges.
 * Proves: TSF.AUDIT (tpm2d's records stored once across a cmld that ended
 * before acknowledging them).
 */
static void
test_tpm_spool_not_stored_twice(void **state)
{
	static const struct t_step steps[] = {
		{ "start", 0, NULL, a_fake_then_start },
		{ "records stored", 3000, t_has_records, a_crash_restart },
		{ "up again", 3000, t_is_up, NULL },
		/* a take handed the three again, then one that acks them */
		{ "takes", TPM_POLL_MS + 1000, NULL, a_counted_once_call },
		{ "status answered", 3000, t_replied, a_acked },
	};
	struct t_state *st = *state;

	t_script_run(st, steps, sizeof steps / sizeof steps[0]);
}

/*
 * Both stages without their daemons (an empty socket path): "absent", and
 * every call refused at once naming the option, its callback never run;
 * a stopped link refuses too.
 * Proves: none (the stage links' configuration).
 */
static void
test_stages_absent_refused(void **state)
{
	struct t_state *st = *state;
	char *cause = NULL;

	tpm_start(&st->cmld, "");
	st->cmld.scd = stage_start(&st->cmld, &scd_def, NULL);
	assert_string_equal(tpm_state(&st->cmld), "absent");
	assert_string_equal(stage_state(st->cmld.scd), "absent");
	assert_int_equal(tpm_call(&st->cmld, "Status", NULL, t_reply_cb,
	    &st->r, &cause), -1);
	assert_string_equal(cause, "cmld runs without tpm2d (--tpm2d-socket "
	    "''): there is no TPM stage");
	free(cause);
	assert_int_equal(scd_call(&st->cmld, "Status", NULL, t_reply_cb,
	    &st->r, &cause), -1);
	assert_string_equal(cause, "cmld runs without scd (--scd-socket ''): "
	    "there is no token stage");
	free(cause);
	stage_stop(st->cmld.scd);
	st->cmld.scd = NULL;
	assert_string_equal(stage_state(st->cmld.scd), "absent");
	assert_int_equal(scd_call(&st->cmld, "Status", NULL, t_reply_cb,
	    &st->r, &cause), -1);
	assert_string_equal(cause, "cmld is stopping: scd is not called any "
	    "more");
	free(cause);
	assert_int_equal(st->r.called, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_tpm_down_refused_then_found, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(
		    test_tpm_spool_not_stored_twice, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(
		    test_stages_absent_refused, t_setup, t_teardown),
	};

	log_init("test_tpm", 1, LOG_LEVEL_WARNING);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
