/* hash.h - SHA-256 digests and content-derived ids (OpenSSL libcrypto) */
#ifndef SB_HASH_H
#define SB_HASH_H

#include <stddef.h>

#include <stdint.h>

#define SB_SHA256_HEX 65 /* 64 hex digits and a NUL */

/* 64-bit FNV-1a: fast and stable, for hash tables and sampling, not for ids. */
uint64_t sb_fnv1a(const void *data, size_t len);

/* Incremental SHA-256; the context is opaque to callers. */
typedef struct sb_sha256 sb_sha256;
sb_sha256 *sb_sha256_new(void);
void sb_sha256_update(sb_sha256 *h, const void *data, size_t len);
/* Write the lower-case hex digest to hex and free the context. */
void sb_sha256_final_hex(sb_sha256 *h, char hex[SB_SHA256_HEX]);

void sb_sha256_hex(const void *data, size_t len, char hex[SB_SHA256_HEX]);

/* Hex SHA-256 of a file's contents; -1 with errno set when it cannot be read. */
int sb_sha256_file(const char *path, char hex[SB_SHA256_HEX]);

/*
 * A content-derived id: the first 16 hex digits of the SHA-256 of the
 * given fields, each followed by a NUL byte so that ("ab","c") and
 * ("a","bc") differ. The list ends with NULL, so pass "" for an absent
 * field; out receives 17 bytes.
 */
#define SB_ID_LEN 16
void sb_content_id(char out[SB_ID_LEN + 1], const char *field, ...) __attribute__((sentinel));

#endif
