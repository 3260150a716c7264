#include "config.h"

#include <string.h>

#include "names.h"

/*
 * Returns 1 if s is 1 to max of [a-z0-9] and, after the first, the
 * characters of more.
 */
static int
names_ok(const char *s, size_t max, const char *more)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (i > 0 && strchr(more, s[i]) != NULL)
			continue;
		return 0;
	}
	return 1;
}

int
names_guestos_ok(const char *s)
{
	return names_ok(s, NAMES_GUESTOS_MAX, "._-");
}

int
names_container_ok(const char *s)
{
	return names_ok(s, NAMES_CONTAINER_MAX, "-");
}

int
names_version_ok(const char *s)
{
	size_t digits = 0;
	int parts = 1;

	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			if (digits == 1 && s[-1] == '0')
				return 0;
			if (++digits > NAMES_VERSION_DIGITS)
				return 0;
			continue;
		}
		if (digits == 0)
			return 0;
		if (*s == '\0')
			return 1;
		if (*s != '.' || ++parts > NAMES_VERSION_PARTS)
			return 0;
		digits = 0;
	}
}

int
names_ifname_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > NAMES_IFNAME_MAX || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '/' || s[i] == ':')
			return 0;
	return 1;
}

/*
 * Compares two versions numerically, part by part, a missing part counting
 * as 0 ("1" equals "1.0"); parts of any length are compared exactly.
 */
int
names_version_cmp(const char *a, const char *b)
{
	size_t na, nb;
	int c;

	while (*a != '\0' || *b != '\0') {
		while (*a == '0' && a[1] >= '0' && a[1] <= '9')
			a++;
		while (*b == '0' && b[1] >= '0' && b[1] <= '9')
			b++;
		na = strcspn(a, ".");
		nb = strcspn(b, ".");
		/* A missing part is "0". */
		if (na == 0 && *a == '\0') {
			a = "0";
			na = 1;
		}
		if (nb == 0 && *b == '\0') {
			b = "0";
			nb = 1;
		}
		if (na != nb)
			return na < nb ? -1 : 1;
		if ((c = memcmp(a, b, na)) != 0)
			return c < 0 ? -1 : 1;
		a += na;
		b += nb;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}
