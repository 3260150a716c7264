/*
 * Command lines as words: split as a POSIX shell splits them (quotes and
 * backslashes, no expansions) and joined again, the same for cmlsh's
 * lines and cmltui's fields of several words.
 */
#ifndef CML_CLIENT_WORDS_H
#define CML_CLIENT_WORDS_H

/* The words of a line; argv ends with NULL. */
struct words {
	char **argv;
	int argc;
};

/* Says whether c separates words (space, tab, newline, carriage return). */
int words_blank(int c);
/* Adds word (taken over) at the end. */
void words_add(struct words *w, char *word);
/* Frees the words; w is empty then. */
void words_free(struct words *w);
/*
 * Splits line into w with 'single' and "double" quotes and backslashes,
 * without expansions.  -1 with *cause set when a quote is not closed or
 * a backslash ends the line; with lenient set (a line still being typed),
 * an unclosed last word is dropped instead.
 */
int words_split(const char *line, int lenient, struct words *w,
    char **cause);
/* Returns argv's words joined by spaces (free it). */
char *words_join(int argc, char *const *argv);
/*
 * Returns word quoted so that words_split gives it back whole: as it is
 * when it needs nothing, else in single quotes (free it).
 */
char *words_quote(const char *word);

#endif
