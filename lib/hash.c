/* hash.c - SHA-256 digests and content-derived ids */
#include "hash.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sb_sha256 {
	EVP_MD_CTX *ctx;
};

sb_sha256 *sb_sha256_new(void)
{
	sb_sha256 *h = sb_malloc(sizeof *h);

	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		sb_die(SB_EXIT_IO, "cannot initialise SHA-256");
	return h;
}

void sb_sha256_update(sb_sha256 *h, const void *data, size_t len)
{
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		sb_die(SB_EXIT_IO, "SHA-256 update failed");
}

void sb_sha256_final_hex(sb_sha256 *h, char hex[SB_SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
		sb_die(SB_EXIT_IO, "SHA-256 final failed");
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

uint64_t sb_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void sb_sha256_hex(const void *data, size_t len, char hex[SB_SHA256_HEX])
{
	sb_sha256 *h = sb_sha256_new();

	sb_sha256_update(h, data, len);
	sb_sha256_final_hex(h, hex);
}

int sb_sha256_file(const char *path, char hex[SB_SHA256_HEX])
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	sb_sha256 *h;

	if (fd < 0)
		return -1;
	h = sb_sha256_new();
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			sb_sha256_final_hex(h, hex);
			close(fd);
			errno = saved;
			return -1;
		}
		sb_sha256_update(h, buf, (size_t)n);
	}
	close(fd);
	sb_sha256_final_hex(h, hex);
	return 0;
}

void sb_content_id(char out[SB_ID_LEN + 1], const char *field, ...)
{
	char hex[SB_SHA256_HEX];
	sb_sha256 *h = sb_sha256_new();
	va_list ap;

	va_start(ap, field);
	for (const char *f = field; f; f = va_arg(ap, const char *))
		sb_sha256_update(h, f, strlen(f) + 1);
	va_end(ap);
	sb_sha256_final_hex(h, hex);
	memcpy(out, hex, SB_ID_LEN);
	out[SB_ID_LEN] = '\0';
}
