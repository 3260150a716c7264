/*
 * Splitting and joining command lines (words.h).  The rules are a POSIX
 * shell's for quotes and backslashes, so that what a person types in
 * cmlsh, or in a cmltui field that takes several words, means the same.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "words.h"
#include "xmalloc.h"

int
words_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void
words_add(struct words *w, char *word)
{
	w->argv = xreallocarray(w->argv, (size_t)w->argc + 2,
	    sizeof *w->argv);
	w->argv[w->argc++] = word;
	w->argv[w->argc] = NULL;
}

void
words_free(struct words *w)
{
	int i;

	for (i = 0; i < w->argc; i++)
		free(w->argv[i]);
	free(w->argv);
	w->argv = NULL;
	w->argc = 0;
}

int
words_split(const char *line, int lenient, struct words *w, char **cause)
{
	const char *p = line;
	char *word;
	size_t n;
	char q;

	memset(w, 0, sizeof *w);
	for (;;) {
		while (words_blank((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		word = xmalloc(strlen(p) + 1);
		n = 0;
		while (*p != '\0' && !words_blank((unsigned char)*p)) {
			if (*p == '\'' || *p == '"') {
				q = *p++;
				while (*p != '\0' && *p != q) {
					if (q == '"' && *p == '\\' &&
					    p[1] != '\0' &&
					    strchr("\"\\$`", p[1]) != NULL)
						p++;
					word[n++] = *p++;
				}
				if (*p == '\0') {
					free(word);
					if (lenient)
						return 0;
					*cause = xasprintf("unbalanced %c in the "
					    "command: close the quote, or "
					    "escape the %c with a backslash",
					    q, q);
					goto fail;
				}
				p++;
			} else if (*p == '\\') {
				if (*++p == '\0') {
					free(word);
					if (lenient)
						return 0;
					*cause = xstrdup("the command ends with "
					    "a backslash: remove it, or quote "
					    "it as '\\'");
					goto fail;
				}
				word[n++] = *p++;
			} else
				word[n++] = *p++;
		}
		word[n] = '\0';
		words_add(w, word);
	}
	return 0;
fail:
	words_free(w);
	return -1;
}

char *
words_join(int argc, char *const *argv)
{
	size_t len = 1, off = 0, n;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = xmalloc(len);
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (i > 0)
			s[off++] = ' ';
		memcpy(s + off, argv[i], n);
		off += n;
	}
	s[off] = '\0';
	return s;
}

char *
words_quote(const char *word)
{
	const char *p;
	char *s;
	size_t n = 0;

	if (*word != '\0' && strpbrk(word, " \t\n\r'\"\\") == NULL)
		return xstrdup(word);
	/* 'it'\''s': a single quote ends the quoting, is escaped, reopens */
	s = xmalloc(strlen(word) * 4 + 3);
	s[n++] = '\'';
	for (p = word; *p != '\0'; p++) {
		if (*p == '\'') {
			memcpy(s + n, "'\\''", 4);
			n += 4;
		} else
			s[n++] = *p;
	}
	s[n++] = '\'';
	s[n] = '\0';
	return s;
}
