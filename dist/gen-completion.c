/*
 * cml-gen-completion: writes the bash completion of cmlsh to stdout, made
 * from the command table, the settings and the varlink interfaces, so that
 * it completes exactly the commands, options and values cmlsh knows.
 * Names that only cmld knows (containers, guest OSes and their versions,
 * trust anchors) are asked of cmld at completion time, through cmlsh on
 * the socket the command line names.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmdtab.h"
#include "interfaces.h"
#include "settings.h"

/* The word that names how an argument's value is completed. */
static const char *
gen_completion_kind(const struct cmd_arg *a)
{
	if (a->type == CMD_ARG_FILES)
		return "dir";
	if (a->type == CMD_ARG_FILE)
		return "file";
	switch (a->complete) {
	case CMD_COMPLETE_FILE:
		return "file";
	case CMD_COMPLETE_SETTING:
		return "setting";
	case CMD_COMPLETE_SETTING_VALUE:
		return "value";
	case CMD_COMPLETE_INTERFACE:
		return "interface";
	case CMD_COMPLETE_CONTAINER:
		return "container";
	case CMD_COMPLETE_GUESTOS:
		return "guestos";
	case CMD_COMPLETE_GUESTOS_VERSION:
		return "version";
	case CMD_COMPLETE_ANCHOR:
		return "anchor";
	default:
		/* free text, numbers, and values no list holds */
		return "none";
	}
}

/* Writes s in single quotes for bash; s holds no single quote. */
static void
gen_completion_quoted(FILE *out, const char *s)
{
	fputc('\'', out);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	}
	fputc('\'', out);
}

/*
 * Writes _cmlsh_args: each command's arguments, one a line, "pos KIND",
 * "rest KIND" (all remaining words), "opt --NAME KIND" (with a value) or
 * "flag --NAME".
 */
static void
gen_completion_args(FILE *out)
{
	const struct cmd_arg *a;
	size_t i;

	fputs("# _cmlsh_args WORDS: the arguments of the command WORDS, one a "
	    "line:\n# pos KIND, rest KIND (all the words left), opt --NAME "
	    "KIND or flag --NAME.\n_cmlsh_args() {\n\tcase \"$1\" in\n", out);
	for (i = 0; i < cmd_table_len; i++) {
		if (cmd_table[i].args[0].name == NULL)
			continue;
		fputs("\t", out);
		gen_completion_quoted(out, cmd_table[i].words);
		fputs(")\n\t\techo ", out);
		fputc('\'', out);
		for (a = cmd_table[i].args; a->name != NULL; a++) {
			/* asked for by cmlsh, never completed */
			if (a->type == CMD_ARG_SECRET)
				continue;
			if (a != cmd_table[i].args)
				fputc('\n', out);
			if (a->flags & CMD_ARG_OPTION) {
				if (a->type == CMD_ARG_BOOL)
					fprintf(out, "flag --%s", a->name);
				else
					fprintf(out, "opt --%s %s", a->name,
					    gen_completion_kind(a));
			} else
				fprintf(out, "%s %s",
				    a->type == CMD_ARG_STRINGS ? "rest" : "pos",
				    gen_completion_kind(a));
		}
		fputs("'\n\t\t;;\n", out);
	}
	fputs("\tesac\n}\n\n", out);
}

/* Writes the settings, and the values of those that have a fixed set. */
static void
gen_completion_settings(FILE *out)
{
	const char *const *c;
	size_t i;

	fputs("_cmlsh_settings='", out);
	for (i = 0; i < setting_defs_len; i++)
		fprintf(out, "%s%s", i > 0 ? " " : "", setting_defs[i].key);
	fputs("'\n\n# _cmlsh_setting_values KEY: the values KEY may take, "
	    "where they are few.\n_cmlsh_setting_values() {\n\tcase \"$1\" "
	    "in\n", out);
	for (i = 0; i < setting_defs_len; i++) {
		if (setting_defs[i].type == SETTING_BOOL)
			fprintf(out, "\t%s) echo 'true false' ;;\n",
			    setting_defs[i].key);
		else if (setting_defs[i].type == SETTING_ENUM &&
		    setting_defs[i].choices != NULL) {
			fprintf(out, "\t%s) echo '", setting_defs[i].key);
			for (c = setting_defs[i].choices; *c != NULL; c++)
				fprintf(out, "%s%s",
				    c != setting_defs[i].choices ? " " : "",
				    *c);
			fputs("' ;;\n", out);
		} else if (setting_defs[i].type == SETTING_GUESTOS)
			fprintf(out, "\t%s) _cmlsh_live guestos ;;\n",
			    setting_defs[i].key);
	}
	fputs("\tesac\n}\n\n", out);
}

/* The part that does not depend on the tables. */
static const char gen_completion_body[] =
"# _cmlsh_live KIND [NAME]: names cmld knows, asked through cmlsh on the\n"
"# socket of the command line (2 s at most; nothing when cmld is away).\n"
"_cmlsh_live() {\n"
"\tlocal cmd key field\n"
"\tcase \"$1\" in\n"
"\tcontainer) cmd='container list' key=containers field=name ;;\n"
"\tguestos) cmd='guestos list' key=guestos field=name ;;\n"
"\tversion) cmd='guestos list' key=guestos field=version ;;\n"
"\tanchor) cmd='ca list' key=anchors field=fingerprint ;;\n"
"\t*) return 0 ;;\n"
"\tesac\n"
"\tcommand -v python3 >/dev/null 2>&1 || return 0\n"
"\ttimeout 2 \"${COMP_WORDS[0]}\" \"${_cmlsh_sockopt[@]}\" --json -c \"$cmd\" \\\n"
"\t    2>/dev/null | python3 -c 'import json, sys\n"
"try:\n"
"    for e in json.load(sys.stdin).get(sys.argv[1], []):\n"
"        if len(sys.argv) < 4 or e.get(\"name\") == sys.argv[3]:\n"
"            print(e.get(sys.argv[2], \"\"))\n"
"except Exception:\n"
"    pass' \"$key\" \"$field\" \"${@:2}\" 2>/dev/null\n"
"}\n"
"\n"
"# _cmlsh_values KIND PREV: the candidates for an argument of KIND; PREV is\n"
"# the positional argument before it (a setting's key, a guest OS name).\n"
"_cmlsh_values() {\n"
"\tlocal cur=${COMP_WORDS[COMP_CWORD]}\n"
"\tcase \"$1\" in\n"
"\tfile)\n"
"\t\tcompopt -o filenames 2>/dev/null\n"
"\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
"\t\t;;\n"
"\tdir)\n"
"\t\tcompopt -o filenames 2>/dev/null\n"
"\t\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n"
"\t\t;;\n"
"\tsetting) mapfile -t COMPREPLY < <(compgen -W \"$_cmlsh_settings\" -- \"$cur\") ;;\n"
"\tvalue) mapfile -t COMPREPLY < <(compgen -W \"$(_cmlsh_setting_values \"$2\")\" -- \"$cur\") ;;\n"
"\tinterface) mapfile -t COMPREPLY < <(compgen -W \"$_cmlsh_interfaces\" -- \"$cur\") ;;\n"
"\tcontainer | guestos | anchor)\n"
"\t\tmapfile -t COMPREPLY < <(compgen -W \"$(_cmlsh_live \"$1\")\" -- \"$cur\")\n"
"\t\t;;\n"
"\tversion) mapfile -t COMPREPLY < <(compgen -W \"$(_cmlsh_live version \"$2\")\" -- \"$cur\") ;;\n"
"\tesac\n"
"}\n"
"\n"
"# _cmlsh_next WORD...: the next word of every command that starts with\n"
"# the words given.\n"
"_cmlsh_next() {\n"
"\tlocal c n=$# w\n"
"\tlocal -a cw\n"
"\twhile IFS= read -r c; do\n"
"\t\tread -r -a cw <<<\"$c\"\n"
"\t\t[ \"${#cw[@]}\" -gt \"$n\" ] || continue\n"
"\t\t[ \"${cw[*]:0:n}\" = \"$*\" ] || continue\n"
"\t\techo \"${cw[n]}\"\n"
"\tdone <<<\"$_cmlsh_commands\" | sort -u\n"
"}\n"
"\n"
"_cmlsh() {\n"
"\tlocal cur=${COMP_WORDS[COMP_CWORD]} i=1 w c best= spec kind name vk\n"
"\tlocal npos=0 prevpos= want= dashdash=0 opts=\n"
"\tlocal -a words cw given used specs pos\n"
"\t_cmlsh_sockopt=()\n"
"\tCOMPREPLY=()\n"
"\t# cmlsh's own options come first\n"
"\twhile [ \"$i\" -lt \"$COMP_CWORD\" ]; do\n"
"\t\tw=${COMP_WORDS[i]}\n"
"\t\tcase \"$w\" in\n"
"\t\t--socket)\n"
"\t\t\t[ $((i + 1)) -lt \"$COMP_CWORD\" ] || break\n"
"\t\t\t_cmlsh_sockopt=(--socket \"${COMP_WORDS[i + 1]}\")\n"
"\t\t\ti=$((i + 2))\n"
"\t\t\tcontinue\n"
"\t\t\t;;\n"
"\t\t-c | -h | --help | --version) return 0 ;;\n"
"\t\t-*) ;;\n"
"\t\t*) break ;;\n"
"\t\tesac\n"
"\t\ti=$((i + 1))\n"
"\tdone\n"
"\tif [ \"$i\" -lt \"$COMP_CWORD\" ] && [ \"${COMP_WORDS[i]}\" = --socket ]; then\n"
"\t\tcompopt -o filenames 2>/dev/null\n"
"\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
"\t\treturn 0\n"
"\tfi\n"
"\tif [ \"$i\" -ge \"$COMP_CWORD\" ] && [[ $cur == -* ]]; then\n"
"\t\tmapfile -t COMPREPLY < <(compgen -W \"$_cmlsh_options\" -- \"$cur\")\n"
"\t\treturn 0\n"
"\tfi\n"
"\twords=(\"${COMP_WORDS[@]:i:COMP_CWORD-i}\")\n"
"\t# help takes command words\n"
"\tif [ \"${words[0]:-}\" = help ]; then\n"
"\t\tmapfile -t COMPREPLY < <(compgen -W \"$(_cmlsh_next \"${words[@]:1}\")\" -- \"$cur\")\n"
"\t\treturn 0\n"
"\tfi\n"
"\t# the longest command the words begin with\n"
"\twhile IFS= read -r c; do\n"
"\t\tread -r -a cw <<<\"$c\"\n"
"\t\t[ \"${#cw[@]}\" -le \"${#words[@]}\" ] || continue\n"
"\t\t[ \"${words[*]:0:${#cw[@]}}\" = \"$c\" ] || continue\n"
"\t\t[ \"${#c}\" -gt \"${#best}\" ] && best=$c\n"
"\tdone <<<\"$_cmlsh_commands\"\n"
"\tif [ -z \"$best\" ]; then\n"
"\t\tw=$(_cmlsh_next \"${words[@]}\")\n"
"\t\t[ \"${#words[@]}\" -gt 0 ] || w+=\" help\"\n"
"\t\tmapfile -t COMPREPLY < <(compgen -W \"$w\" -- \"$cur\")\n"
"\t\treturn 0\n"
"\tfi\n"
"\tread -r -a cw <<<\"$best\"\n"
"\tgiven=(\"${words[@]:${#cw[@]}}\")\n"
"\tmapfile -t specs < <(_cmlsh_args \"$best\")\n"
"\tfor spec in \"${specs[@]}\"; do\n"
"\t\tcase \"$spec\" in\n"
"\t\tpos* | rest*) pos+=(\"$spec\") ;;\n"
"\t\tesac\n"
"\tdone\n"
"\t# walk the arguments given: options, their values, positionals\n"
"\tfor ((c = 0; c < ${#given[@]}; c++)); do\n"
"\t\tw=${given[c]}\n"
"\t\tif [ -n \"$want\" ]; then\n"
"\t\t\twant=\n"
"\t\t\tcontinue\n"
"\t\tfi\n"
"\t\tif [ \"$w\" = -- ] && [ \"$dashdash\" = 0 ]; then\n"
"\t\t\tdashdash=1\n"
"\t\t\tcontinue\n"
"\t\tfi\n"
"\t\tif [[ $w == --* ]] && [ \"$dashdash\" = 0 ]; then\n"
"\t\t\tused+=(\"$w\")\n"
"\t\t\tfor spec in \"${specs[@]}\"; do\n"
"\t\t\t\tread -r kind name _ <<<\"$spec\"\n"
"\t\t\t\t[ \"$kind\" = opt ] && [ \"$name\" = \"$w\" ] && want=$spec\n"
"\t\t\tdone\n"
"\t\t\tcontinue\n"
"\t\tfi\n"
"\t\tprevpos=$w\n"
"\t\tcase \"${pos[npos]:-}\" in\n"
"\t\trest*) ;;\n"
"\t\t*) npos=$((npos + 1)) ;;\n"
"\t\tesac\n"
"\tdone\n"
"\tif [ -n \"$want\" ]; then\n"
"\t\tread -r _ _ vk <<<\"$want\"\n"
"\t\t_cmlsh_values \"$vk\" \"$prevpos\"\n"
"\t\treturn 0\n"
"\tfi\n"
"\tif [[ $cur == -* ]] && [ \"$dashdash\" = 0 ]; then\n"
"\t\tfor spec in \"${specs[@]}\"; do\n"
"\t\t\tread -r kind name _ <<<\"$spec\"\n"
"\t\t\tcase \"$kind\" in\n"
"\t\t\topt | flag)\n"
"\t\t\t\t[[ \" ${used[*]} \" == *\" $name \"* ]] || opts+=\" $name\"\n"
"\t\t\t\t;;\n"
"\t\t\tesac\n"
"\t\tdone\n"
"\t\tmapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n"
"\t\treturn 0\n"
"\tfi\n"
"\t[ \"$npos\" -lt \"${#pos[@]}\" ] || return 0\n"
"\tread -r _ vk <<<\"${pos[npos]}\"\n"
"\t_cmlsh_values \"$vk\" \"$prevpos\"\n"
"}\n"
"complete -F _cmlsh cmlsh\n";

int
main(int argc, char **argv)
{
	size_t i;

	if (argc > 1) {
		fprintf(stderr, "usage: %s > cmlsh.bash\n", argv[0]);
		return 2;
	}
	printf("# bash completion of cmlsh(1), cml %s.\n# Generated by "
	    "cml-gen-completion from cml's command table: do not edit.\n\n",
	    PACKAGE_VERSION);
	fputs("_cmlsh_options='-c --json --socket --yes --version --help'\n\n"
	    "_cmlsh_commands='", stdout);
	for (i = 0; i < cmd_table_len; i++)
		printf("%s%s", i > 0 ? "\n" : "", cmd_table[i].words);
	fputs("'\n\n", stdout);
	gen_completion_args(stdout);
	gen_completion_settings(stdout);
	fputs("_cmlsh_interfaces='", stdout);
	for (i = 0; i < cml_interfaces_len; i++)
		printf("%s%s", i > 0 ? " " : "", cml_interfaces[i].name);
	fputs("'\n\n", stdout);
	fputs(gen_completion_body, stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cml-gen-completion: cannot write: %s\n",
		    strerror(errno));
		return 1;
	}
	return 0;
}
