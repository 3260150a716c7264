/*
 * The device: its settings as the running daemon applies them (cmld is
 * their only writer, so what it applied is what the store holds).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "ctx.h"
#include "device.h"
#include "log.h"
#include "settings.h"
#include "store.h"
#include "xmalloc.h"

void
device_apply_setting(struct cmld *cmld, const char *key, const char *value)
{
	enum log_level level;

	if (strcmp(key, "device_name") == 0) {
		free(cmld->device_name);
		cmld->device_name = xstrdup(value);
	} else if (strcmp(key, "log_level") == 0) {
		if (!cmld->log_level_pinned &&
		    log_level_parse(value, &level) == 0)
			log_set_level(level);
	} else if (strcmp(key, "stop_timeout") == 0)
		cmld->stop_timeout = strtoll(value, NULL, 10);
	else if (strcmp(key, "c0_guestos") == 0) {
		free(cmld->c0_guestos);
		cmld->c0_guestos = xstrdup(value);
	} else if (strcmp(key, "require_signed_configs") == 0) {
		free(cmld->require_signed_configs);
		cmld->require_signed_configs = xstrdup(value);
	} else if (strcmp(key, "max_clients") == 0) {
		cmld->max_clients = strtoll(value, NULL, 10);
		cmld_apply_limits(cmld);
	} else if (strcmp(key, "audit_read_calls") == 0)
		cmld->audit_read_calls = strcmp(value, "true") == 0;
	else if (strcmp(key, "guestos_verity") == 0)
		cmld->guestos_verity = strcmp(value, "true") == 0;
}

int
device_load_settings(struct cmld *cmld, char **cause)
{
	const struct setting_def *def;
	char *value, *canon, *why = NULL;
	size_t i;

	for (i = 0; i < setting_defs_len; i++) {
		def = &setting_defs[i];
		if (store_setting_get(cmld->store, def->key, &value, cause) ==
		    -1)
			return -1;
		if (value != NULL &&
		    setting_canonical(def, value, &canon, &why) == -1) {
			log_warnx("stored setting %s is invalid (%s): using "
			    "the default %s", def->key, why, def->def);
			free(why);
			why = NULL;
			free(value);
			value = NULL;
		} else if (value != NULL) {
			free(value);
			value = canon;
		}
		device_apply_setting(cmld, def->key,
		    value != NULL ? value : def->def);
		free(value);
	}
	return 0;
}
