/*
 * A command's help (help.h), all of it from the command table and the
 * settings' table, so that a new command or setting explains itself in
 * every client.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>

#include "client.h"
#include "help.h"
#include "settings.h"
#include "xmalloc.h"

/* Columns between a label and its text. */
#define HELP_GAP 3

/* Lists the device settings with the values each takes and its default. */
static void
help_settings(FILE *out, size_t width)
{
	size_t i, w = 0;
	char *values, *text;

	for (i = 0; i < setting_defs_len; i++)
		if (format_width(setting_defs[i].key) > w)
			w = format_width(setting_defs[i].key);
	fprintf(out, "\nSettings:\n");
	for (i = 0; i < setting_defs_len; i++) {
		values = setting_values(&setting_defs[i]);
		text = xasprintf("%s; default %s. %c%s.", values,
		    *setting_defs[i].def != '\0' ? setting_defs[i].def :
		    "empty", toupper((unsigned char)setting_defs[i].help[0]),
		    setting_defs[i].help + 1);
		fprintf(out, "  %s%*s", setting_defs[i].key,
		    (int)(w - format_width(setting_defs[i].key) + HELP_GAP),
		    "");
		format_wrap(out, text, w + 2 + HELP_GAP, w + 2 + HELP_GAP,
		    width);
		free(text);
		free(values);
	}
}

void
help_command(FILE *out, const struct cmd_entry *cmd, size_t width)
{
	const struct cmd_arg *a;
	size_t w = 0;
	char *syn, *label, *notes;

	syn = cmd_synopsis(cmd);
	fprintf(out, "usage: %s\n%s\n\n", syn, cmd->summary);
	free(syn);
	format_wrap(out, cmd->help, 0, 0, width);
	for (a = cmd->args; a->name != NULL; a++) {
		label = cmd_arg_label(a);
		if (format_width(label) > w)
			w = format_width(label);
		free(label);
	}
	if (cmd->args[0].name != NULL)
		fprintf(out, "\nArguments:\n");
	for (a = cmd->args; a->name != NULL; a++) {
		label = cmd_arg_label(a);
		fprintf(out, "  %s%*s", label,
		    (int)(w - format_width(label) + HELP_GAP), "");
		format_wrap(out, a->help, w + 2 + HELP_GAP, w + 2 + HELP_GAP,
		    width);
		free(label);
	}
	for (a = cmd->args; a->name != NULL; a++)
		if (a->complete == CMD_COMPLETE_SETTING)
			break;
	if (a->name != NULL)
		help_settings(out, width);
	notes = cmd_flag_notes(cmd->flags);
	if (*notes != '\0') {
		fputc('\n', out);
		format_wrap(out, notes, 0, 0, width);
	}
	free(notes);
}
