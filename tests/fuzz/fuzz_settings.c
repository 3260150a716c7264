/*
 * libFuzzer harness of device settings (common/settings.c): the input is
 * KEY, a NUL or a newline, then VALUE (up to a NUL), as
 * "device config set KEY VALUE" hands them to cmld.
 *
 * The key is looked up with setting_find; the value is validated for that
 * setting and, so that values are explored whatever the key, for every
 * setting.  Besides memory safety it checks: a refusal sets *cause and no
 * value, an acceptance a value and no cause; and a canonical value is
 * accepted again unchanged, as cmld validates stored values once more at
 * start-up.
 */
#include "config.h"

#include "fuzz.h"
#include "settings.h"

/* Validates value for def and checks the result. */
static void
fuzz_settings_value(const struct setting_def *def, const char *value)
{
	char *out = NULL, *again = NULL, *cause = NULL;

	if (setting_canonical(def, value, &out, &cause) == -1) {
		FUZZ_CHECK(out == NULL && cause != NULL);
		FUZZ_CHECK(strncmp(cause, def->key, strlen(def->key)) == 0);
		free(cause);
		return;
	}
	FUZZ_CHECK(out != NULL && cause == NULL);
	if (setting_canonical(def, out, &again, &cause) == -1) {
		fprintf(stderr, "canonical %s '%s' is refused: %s\n", def->key,
		    out, cause);
		abort();
	}
	FUZZ_CHECK(strcmp(out, again) == 0);
	free(again);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct setting_def *def;
	char *key, *value;
	size_t i, k;

	for (k = 0; k < size && data[k] != '\0' && data[k] != '\n'; k++)
		continue;
	key = malloc(k + 1);
	memcpy(key, data, k);
	key[k] = '\0';
	i = k < size ? k + 1 : size;
	value = malloc(size - i + 1);
	memcpy(value, data + i, size - i);
	value[size - i] = '\0';

	def = setting_find(key);
	if (def != NULL) {
		FUZZ_CHECK(strcmp(def->key, key) == 0);
		FUZZ_CHECK(setting_type_name(def->type) != NULL);
		fuzz_settings_value(def, value);
	}
	for (i = 0; i < setting_defs_len; i++)
		fuzz_settings_value(&setting_defs[i], value);

	free(value);
	free(key);
	return 0;
}
