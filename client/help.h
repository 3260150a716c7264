/*
 * The help of one command, made from the command table: what cmlsh's
 * "help COMMAND" prints and cmltui shows beside its menus and forms.
 */
#ifndef CML_CLIENT_HELP_H
#define CML_CLIENT_HELP_H

#include <stddef.h>
#include <stdio.h>

#include "cmdtab.h"

/*
 * Writes the help of cmd: usage, summary, its paragraph, the arguments,
 * the settings with what each takes where an argument names a setting,
 * and the policy notes, wrapped at width columns.
 */
void help_command(FILE *out, const struct cmd_entry *cmd, size_t width);

#endif
