/*
 * Bytes as the daemons pass them: base64 (RFC 4648, padded, no line
 * breaks) and lower-case hex in JSON, random bytes for keys, HMAC-SHA-256,
 * comparison in constant time and wiping.  Decoding is strict: only the
 * alphabet and padding where it belongs, so one value has one spelling.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "xmalloc.h"

char *
crypto_base64(const void *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	(void)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* Returns 1 if s[i] may stand at i of n characters of base64. */
static int
crypto_base64_char(const char *s, size_t i, size_t n)
{
	char c = s[i];

	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/')
		return 1;
	/* "=" only as the last one or two, "x=" never before "==" */
	return c == '=' && i + 2 >= n && (i == n - 1 || s[n - 1] == '=');
}

int
crypto_unbase64(const char *s, size_t max, unsigned char **out, size_t *len)
{
	size_t i, n = strlen(s), pad = 0, room;
	unsigned char *b;
	int got;

	*out = NULL;
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 2)
		return -1;
	for (i = 0; i < n; i++) {
		if (!crypto_base64_char(s, i, n))
			return -1;
		if (s[i] == '=')
			pad++;
	}
	room = n / 4 * 3 + 1;
	b = xmalloc(room);
	got = EVP_DecodeBlock(b, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got < pad || (size_t)got - pad > max) {
		OPENSSL_cleanse(b, room);
		free(b);
		return -1;
	}
	*out = b;
	*len = (size_t)got - pad;
	return 0;
}

/* Returns the value of a lower-case hex digit, or -1. */
static int
crypto_xdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
crypto_unhex(const char *s, unsigned char *out, size_t max)
{
	size_t len = strlen(s), i;
	int hi, lo;

	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (i = 0; i < len; i += 2) {
		if ((hi = crypto_xdigit(s[i])) == -1 ||
		    (lo = crypto_xdigit(s[i + 1])) == -1)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

int
crypto_random(void *buf, size_t len)
{
	return RAND_priv_bytes(buf, (int)len) == 1 ? 0 : -1;
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int n = CRYPTO_SHA256_LEN;

	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL ||
	    n != CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}

int
crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
crypto_wipe(void *buf, size_t len)
{
	OPENSSL_cleanse(buf, len);
}
