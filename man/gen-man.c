/*
 * cml-gen-man: copies a man page source from stdin to stdout, replacing
 * the line "@COMMANDS@" with every command of the command table, grouped
 * by family, and "@VERSION@" with the package version.  So the man page
 * lists exactly the commands cmlsh knows.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtab.h"
#include "xmalloc.h"

#define GEN_MAN_COMMANDS "@COMMANDS@"
#define GEN_MAN_VERSION "@VERSION@"

/* Writes text for roff: backslashes, minus signs and quotes escaped. */
static void
gen_man_text(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			fputs("\\e", out);
			break;
		case '-':
			fputs("\\-", out);
			break;
		case '"':
			fputs("\\(dq", out);
			break;
		default:
			fputc(*s, out);
			break;
		}
	}
}

/* Writes one line of running text; a leading "." or "'" is no request. */
static void
gen_man_line(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	gen_man_text(out, s);
	fputc('\n', out);
}

/* Writes a macro with one quoted argument, e.g. .B "audit list". */
static void
gen_man_macro(FILE *out, const char *macro, const char *arg)
{
	fprintf(out, ".%s \"", macro);
	gen_man_text(out, arg);
	fputs("\"\n", out);
}

/* Writes a command: bold synopsis, summary, help, policy, arguments. */
static void
gen_man_command(FILE *out, const struct cmd_entry *cmd)
{
	const struct cmd_arg *a;
	char *syn, *label, *notes;

	syn = cmd_synopsis(cmd);
	fputs(".TP\n", out);
	gen_man_macro(out, "B", syn);
	free(syn);
	gen_man_line(out, cmd->summary);
	fputs(".IP\n", out);
	gen_man_line(out, cmd->help);
	notes = cmd_flag_notes(cmd->flags);
	if (*notes != '\0')
		gen_man_line(out, notes);
	free(notes);
	if (cmd->args[0].name == NULL)
		return;
	fputs(".RS\n", out);
	for (a = cmd->args; a->name != NULL; a++) {
		label = cmd_arg_label(a);
		fputs(".TP\n", out);
		gen_man_macro(out, "I", label);
		gen_man_line(out, a->help);
		free(label);
	}
	fputs(".RE\n", out);
}

/* Writes the .SS heading of a family and its commands. */
static void
gen_man_family(FILE *out, const char *name, const char *summary)
{
	size_t i;
	char *title;

	title = summary != NULL ? xasprintf("%s - %s", name, summary) :
	    xstrdup(name);
	gen_man_macro(out, "SS", title);
	free(title);
	for (i = 0; i < cmd_table_len; i++)
		if (strcmp(cmd_table[i].family, name) == 0)
			gen_man_command(out, &cmd_table[i]);
}

/*
 * Writes every command, by family in the order of cmd_families; a family
 * missing from cmd_families still appears, under its name.
 */
static void
gen_man_commands(FILE *out)
{
	size_t i, j;

	for (i = 0; i < cmd_families_len; i++)
		gen_man_family(out, cmd_families[i].name,
		    cmd_families[i].summary);
	for (i = 0; i < cmd_table_len; i++) {
		if (cmd_find_family(cmd_table[i].family) != NULL)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(cmd_table[j].family,
			    cmd_table[i].family) == 0)
				break;
		if (j == i)
			gen_man_family(out, cmd_table[i].family, NULL);
	}
}

/* Writes a line with every "@VERSION@" replaced by the version. */
static void
gen_man_copy(FILE *out, const char *line)
{
	const char *p;

	while ((p = strstr(line, GEN_MAN_VERSION)) != NULL) {
		fwrite(line, 1, (size_t)(p - line), out);
		fputs(PACKAGE_VERSION, out);
		line = p + strlen(GEN_MAN_VERSION);
	}
	fputs(line, out);
}

/* Filters stdin to stdout; exits 1 on a read or write error. */
int
main(int argc, char **argv)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	int found = 0;

	if (argc > 1) {
		fprintf(stderr, "usage: %s < PAGE.in > PAGE\n", argv[0]);
		return 2;
	}
	while ((len = getline(&line, &size, stdin)) != -1) {
		if (strcmp(line, GEN_MAN_COMMANDS "\n") == 0 ||
		    strcmp(line, GEN_MAN_COMMANDS) == 0) {
			gen_man_commands(stdout);
			found = 1;
		} else
			gen_man_copy(stdout, line);
	}
	free(line);
	if (ferror(stdin)) {
		fprintf(stderr, "cml-gen-man: cannot read the page: %s\n",
		    strerror(errno));
		return 1;
	}
	if (!found) {
		fprintf(stderr, "cml-gen-man: no line '%s' in the page: add "
		    "one where the command list belongs\n", GEN_MAN_COMMANDS);
		return 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cml-gen-man: cannot write the page: %s\n",
		    strerror(errno));
		return 1;
	}
	return 0;
}
