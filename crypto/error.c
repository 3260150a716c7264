/*
 * The one place OpenSSL's error space is mapped to text for cml's users.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "crypto.h"
#include "xmalloc.h"

/* Keeps a description to one line of reasonable length. */
#define ERROR_MAX_LEN 512

/*
 * Appends one queued error to line: its reason and the detail OpenSSL
 * recorded with it, skipping a repetition of what is there already.
 */
static void
error_append(char *line, size_t size, unsigned long e, const char *data,
    int flags)
{
	char part[256];
	const char *reason;
	size_t len, i;

	if ((reason = ERR_reason_error_string(e)) != NULL) {
		if (data != NULL && *data != '\0' && (flags & ERR_TXT_STRING))
			snprintf(part, sizeof part, "%s (%s)", reason, data);
		else
			snprintf(part, sizeof part, "%s", reason);
	} else
		snprintf(part, sizeof part, "OpenSSL error %lx", e);
	/* Detail strings may hold anything: keep the line one line. */
	for (i = 0; part[i] != '\0'; i++) {
		if ((unsigned char)part[i] < 0x20 || part[i] == 0x7f)
			part[i] = ' ';
	}
	if (strstr(line, part) != NULL)
		return;
	len = strlen(line);
	if (len != 0 && len + 2 < size) {
		strcpy(line + len, ": ");
		len += 2;
	}
	if (len < size)
		snprintf(line + len, size - len, "%s", part);
}

char *
crypto_openssl_error(void)
{
	char line[ERROR_MAX_LEN] = "";
	const char *data;
	unsigned long e;
	int flags;

	/*
	 * The queue runs from the first failure, the cause, to the callers
	 * that gave up because of it; the cause comes first.
	 */
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0)
		error_append(line, sizeof line, e, data, flags);
	return xstrdup(line);
}
