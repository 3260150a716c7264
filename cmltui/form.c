/* A command's form, built from its argument specs. */
#include "config.h"

#include "cmltui.h"

void
tui_form_push(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params)
{
	(void)cmd;
	(void)params;
	tui_message(t, "Form", "not yet");
}

int
tui_run_command(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params)
{
	(void)cmd;
	json_object_put(params);
	tui_message(t, "Run", "not yet");
	return -1;
}

char **
tui_completions(struct tui *t, const struct cmd_entry *cmd,
    const struct cmd_arg *arg, struct json_object *params)
{
	(void)t;
	(void)cmd;
	(void)arg;
	(void)params;
	return NULL;
}

void
tui_strings_free(char **list)
{
	(void)list;
}
