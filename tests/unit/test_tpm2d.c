/*
 * Unit tests of tpm2d's parts that need no TPM: TSS2 return codes in
 * words (rc.c), its command table against its handlers and the org.cml.TPM
 * interface file, PCR lists as parameters (CMD_ARG_INTS), and the audit
 * spool (spool.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "context.h"
#include "xmalloc.h"

/*
 * The common codes get words of their own and keep their code; the
 * session or parameter number of a format-one code does not hide it.
 * Proves: none (TSS2 return codes become readable text in one function).
 */
static void
test_rc_words(void **state)
{
	(void)state;
	assert_string_equal(tpm2d_rc_str(0x99d), "the authorization policy "
	    "was not satisfied (TPM_RC_POLICY_FAIL, 0x99d)");
	/* the same failure reported for the second session */
	assert_string_equal(tpm2d_rc_str(0xa9d), "the authorization policy "
	    "was not satisfied (TPM_RC_POLICY_FAIL, 0xa9d)");
	assert_non_null(strstr(tpm2d_rc_str(0x902),
	    "out of memory for objects"));
	assert_non_null(strstr(tpm2d_rc_str(0x902), "0x902"));
	assert_non_null(strstr(tpm2d_rc_str(0x903),
	    "out of memory for sessions"));
	assert_non_null(strstr(tpm2d_rc_str(0x98e), "TPM_RC_AUTH_FAIL"));
	assert_non_null(strstr(tpm2d_rc_str(0x921), "lockout"));
	assert_non_null(strstr(tpm2d_rc_str(0x1df), "integrity check"));
	assert_non_null(strstr(tpm2d_rc_str(TSS2_TCTI_RC_IO_ERROR),
	    "input/output error talking to the TPM"));
	assert_non_null(strstr(tpm2d_rc_str(TSS2_TCTI_RC_NO_CONNECTION),
	    "cannot reach the TPM"));
}

/*
 * A code without words of our own gets Tss2_RC_Decode's text and the code.
 * Proves: none (TSS2 return codes become readable text in one function).
 */
static void
test_rc_decode(void **state)
{
	const char *s;

	(void)state;
	s = tpm2d_rc_str(TPM2_RC_SCHEME);
	assert_non_null(strstr(s, "(0x"));
	assert_true(strlen(s) > strlen("(0x0)") + 4);
	s = tpm2d_rc_str(0x12345678);
	assert_non_null(strstr(s, "(0x12345678)"));
}

/*
 * Every command of tpm2d's table has an id of its own within range and its
 * handler, every handler belongs to a command, and every method of
 * org.cml.TPM.varlink is in the table.
 * Proves: none (consistency of tpm2d's command table).
 */
static void
test_table(void **state)
{
	int seen[CMD_ID_COUNT] = { 0 };
	char *path, *buf, *line, *p, *name, *method;
	size_t i, id, len;
	FILE *f;
	int found;

	(void)state;
	for (i = 0; i < tpm2d_table_len; i++) {
		assert_true(tpm2d_table[i].id > CMD_ID_NONE);
		assert_true(tpm2d_table[i].id < CMD_ID_COUNT);
		if (seen[tpm2d_table[i].id]++)
			fail_msg("id of %s used twice", tpm2d_table[i].method);
		if (tpm2d_handlers[tpm2d_table[i].id] == NULL)
			fail_msg("%s has no handler", tpm2d_table[i].method);
	}
	for (id = CMD_ID_NONE + 1; id < CMD_ID_COUNT; id++)
		if (tpm2d_handlers[id] != NULL && !seen[id])
			fail_msg("a handler for id %zu, which no command of "
			    "tpm2d carries", id);

	path = xasprintf("%s/varlink/org.cml.TPM.varlink", CML_SRCDIR);
	assert_non_null(f = fopen(path, "r"));
	buf = NULL;
	len = 0;
	while (getline(&buf, &len, f) != -1) {
		line = buf;
		if (strncmp(line, "method ", 7) != 0)
			continue;
		name = line + 7;
		if ((p = strchr(name, '(')) == NULL)
			fail_msg("odd method line: %s", line);
		*p = '\0';
		method = xasprintf("org.cml.TPM.%s", name);
		found = 0;
		for (i = 0; i < tpm2d_table_len; i++)
			found |= strcmp(tpm2d_table[i].method, method) == 0;
		if (!found)
			fail_msg("%s is in the interface, not in the table",
			    method);
		free(method);
	}
	free(buf);
	fclose(f);
	free(path);
}

/*
 * PCR lists: an array of integers within the argument's range, at most
 * CMD_MAX_INTS of them; anything else is refused with the parameter named.
 * Proves: none (parameter checks of tpm2d's PCR lists).
 */
static void
test_pcr_list_param(void **state)
{
	const struct cmd_entry *cmd;
	struct json_object *params;
	const char *param = NULL;
	char *cause = NULL;
	static const char *bad[] = {
		"{\"pcrs\": [24]}",
		"{\"pcrs\": [-1]}",
		"{\"pcrs\": [\"16\"]}",
		"{\"pcrs\": 16}",
		"{\"pcrs\": [1.5]}",
		"{\"pcrs\": [[16]]}",
	};
	char big[1024];
	size_t i, n;

	(void)state;
	cmd = cmd_find_method_in(tpm2d_table, tpm2d_table_len,
	    "org.cml.TPM.ReadPCRs");
	assert_non_null(cmd);
	params = json_tokener_parse("{\"pcrs\": [0, 16, 23]}");
	assert_int_equal(cmd_check_params(cmd, params, &param, &cause), 0);
	json_object_put(params);
	params = json_tokener_parse("{}");
	assert_int_equal(cmd_check_params(cmd, params, &param, &cause), 0);
	json_object_put(params);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		params = json_tokener_parse(bad[i]);
		assert_non_null(params);
		assert_int_equal(cmd_check_params(cmd, params, &param,
		    &cause), -1);
		assert_string_equal(param, "pcrs");
		free(cause);
		cause = NULL;
		json_object_put(params);
	}
	n = (size_t)snprintf(big, sizeof big, "{\"pcrs\": [");
	for (i = 0; i <= CMD_MAX_INTS; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "%s1",
		    i > 0 ? ", " : "");
	(void)snprintf(big + n, sizeof big - n, "]}");
	params = json_tokener_parse(big);
	assert_non_null(params);
	assert_int_equal(cmd_check_params(cmd, params, &param, &cause), -1);
	assert_non_null(strstr(cause, "at most"));
	free(cause);
	json_object_put(params);
}

/*
 * The audit spool is bounded: of 1100 records the oldest 76 are dropped
 * and counted; TakeAudit hands them over oldest first, in replies of a
 * bounded size, each acknowledging the last; long or malformed text is
 * cut and escaped; an acknowledged record is never handed over again.
 * Proves: TSF.AUDIT (records made before cmld can store them are kept in
 * a bounded spool and handed over in order, losses counted).
 */
static void
test_spool(void **state)
{
	struct tpm2d t;
	struct json_object *p, *recs, *r;
	char long_text[5000];
	long long seq, last = 0, want = 77;
	size_t taken, held, total = 0, n, i;
	int rounds = 0;

	(void)state;
	log_init("test_tpm2d", 1, LOG_LEVEL_WARNING);
	memset(&t, 0, sizeof t);
	tpm2d_spool_init(&t);
	memset(long_text, 'x', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	/* 300 bytes of details each: a full spool takes several replies */
	for (i = 1; i <= 1100; i++)
		tpm2d_audit(&t, "test", "spool", "ok", "record %zu %.300s", i,
		    i == 1100 ? long_text : long_text + 4000);
	do {
		p = tpm2d_spool_take(&t, last, &taken, &held);
		assert_int_equal(json_object_get_int64(
		    json_object_object_get(p, "dropped")), 76);
		recs = json_object_object_get(p, "records");
		n = json_object_array_length(recs);
		assert_int_equal(n, taken);
		assert_true(strlen(json_object_to_json_string(p)) <
		    PROTO_MAX_MSG / 2);
		for (i = 0; i < n; i++) {
			r = json_object_array_get_idx(recs, i);
			seq = json_object_get_int64(
			    json_object_object_get(r, "seq"));
			assert_int_equal(seq, want);
			want++;
			last = seq;
		}
		total += n;
		json_object_put(p);
		rounds++;
	} while (n > 0);
	assert_int_equal(total, 1024);
	assert_true(rounds > 2);
	assert_int_equal(last, 1100);
	p = tpm2d_spool_take(&t, 1100, &taken, &held);
	assert_int_equal(taken, 0);
	assert_int_equal(held, 0);
	json_object_put(p);

	/* a long text is cut, bytes that are not UTF-8 escaped */
	tpm2d_audit(&t, "test", "spool", "ok", "%s \xff\x01", long_text);
	p = tpm2d_spool_take(&t, 1100, &taken, &held);
	r = json_object_array_get_idx(json_object_object_get(p, "records"), 0);
	assert_int_equal(json_object_get_int64(json_object_object_get(r,
	    "seq")), 1101);
	assert_true(strlen(json_object_get_string(json_object_object_get(r,
	    "details"))) <= 2048);
	json_object_put(p);
	tpm2d_audit(&t, "test", "spool", "ok", "short \xff\x01");
	p = tpm2d_spool_take(&t, 1101, &taken, &held);
	r = json_object_array_get_idx(json_object_object_get(p, "records"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(r,
	    "details")), "short \\xff\\x01");
	assert_string_equal(json_object_get_string(json_object_object_get(r,
	    "result")), "ok");
	json_object_put(p);
	tpm2d_spool_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rc_words),
		cmocka_unit_test(test_rc_decode),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_pcr_list_param),
		cmocka_unit_test(test_spool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
