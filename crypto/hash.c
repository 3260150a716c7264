/*
 * Streaming SHA-256, at close to the speed of OpenSSL's own tools: large
 * reads straight into one buffer that is hashed where it lies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Bytes per read.  Big enough that system calls cost nothing next to the
 * hashing; small enough to stay in the cache between read and hash.
 */
#define HASH_BUF_SIZE (1024 * 1024)

struct crypto_hash {
	EVP_MD_CTX *ctx;
};

struct crypto_hash *
crypto_sha256_new(void)
{
	struct crypto_hash *h;
	char *e;

	h = xmalloc(sizeof *h);
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		e = crypto_openssl_error();
		fatalx("SHA-256 is not available: %s", e);
	}
	return h;
}

void
crypto_hash_update(struct crypto_hash *h, const void *data, size_t len)
{
	char *e;

	if (len == 0)
		return;
	if (EVP_DigestUpdate(h->ctx, data, len) != 1) {
		e = crypto_openssl_error();
		fatalx("SHA-256 failed: %s", e);
	}
}

void
crypto_hash_final(struct crypto_hash *h, unsigned char *out)
{
	unsigned int len;
	char *e;

	if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 ||
	    len != CRYPTO_SHA256_LEN) {
		e = crypto_openssl_error();
		fatalx("SHA-256 failed: %s", e);
	}
	crypto_hash_free(h);
}

void
crypto_hash_free(struct crypto_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
crypto_sha256_fd(int fd, unsigned char *out, off_t *size, char **cause)
{
	struct crypto_hash *h;
	unsigned char *buf;
	off_t total = 0;
	ssize_t n;
	int rc = -1;

	/* Advice only: a pipe or a socket refuses it, and that is fine. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = xmalloc(HASH_BUF_SIZE);
	h = crypto_sha256_new();
	for (;;) {
		n = read(fd, buf, HASH_BUF_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*cause = xasprintf("cannot read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		crypto_hash_update(h, buf, (size_t)n);
		total += n;
	}
	crypto_hash_final(h, out);
	h = NULL;
	*size = total;
	rc = 0;
out:
	crypto_hash_free(h);
	free(buf);
	return rc;
}

void
crypto_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void
crypto_floor_key(const char *kind, const char *name,
    unsigned char key[CRYPTO_FLOOR_KEY_LEN])
{
	unsigned char digest[CRYPTO_SHA256_LEN];
	struct crypto_hash *h;

	h = crypto_sha256_new();
	crypto_hash_update(h, kind, strlen(kind));
	crypto_hash_update(h, "/", 1);
	crypto_hash_update(h, name, strlen(name));
	crypto_hash_final(h, digest);
	memcpy(key, digest, CRYPTO_FLOOR_KEY_LEN);
}
