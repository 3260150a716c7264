#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned int c;
	size_t n, i;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

char *
utf8_clean(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, o = 0, n;
	char *out;
	int c1;

	if (max < 16)
		max = 16;
	/* at most 4 bytes out for each byte in, and "..." */
	out = xmalloc((max < len * 4 + 4 ? max : len * 4 + 4) + 1);
	while (i < len) {
		n = utf8_seq(p + i, len - i);
		/* C1 controls: U+0080..U+009F, encoded c2 80..c2 9f */
		c1 = n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0;
		if (n == 0 || c1 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			if (o + 4 > max - 3)
				goto cut;
			snprintf(out + o, 5, "\\x%02x", p[i]);
			o += 4;
			i += 1;
			continue;
		}
		if (o + n > max - 3 && !(i + n == len && o + n <= max))
			goto cut;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
cut:
	memcpy(out + o, "...", 3);
	out[o + 3] = '\0';
	return out;
}
