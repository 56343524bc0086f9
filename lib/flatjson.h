/* flatjson.h - a validating scan of one JSON object's top-level members, without building values */
#ifndef SB_FLATJSON_H
#define SB_FLATJSON_H

#include <stddef.h>

/*
 * The hot path of a filter reads a few fields of small flat records; libjq
 * builds every value first. This scan checks the whole line is one valid
 * JSON object and notes where each top-level member lies, so a tool can
 * take what it needs and fall back on libjq for anything unusual.
 */
struct sb_json_member {
	const char *key, *val; /* key without quotes; val without quotes for strings */
	size_t keylen, vallen;
	char kind;  /* 's' string, 'n' number, 'o' object, 'a' array, 't' true, 'f' false, 'z' null */
	char plain; /* a string (or key) with no escapes and only ASCII bytes: usable as is */
};

#define SB_FLAT_MAX 32

struct sb_flat {
	struct sb_json_member m[SB_FLAT_MAX];
	int n;
};

/*
 * 1 when text is exactly one JSON object (surrounding blanks allowed) of
 * at most SB_FLAT_MAX members with plain keys; 0 otherwise: invalid JSON,
 * too many members or too deep, which the caller leaves to libjq.
 */
int sb_flat_scan(const char *text, size_t len, struct sb_flat *out);

/* The member named key (the last one, as libjq keeps the last of duplicates), or NULL. */
const struct sb_json_member *sb_flat_get(const struct sb_flat *f, const char *key);

/* A string member's value copied into buf (size bytes, NUL-terminated): 1, or 0 when not a plain string that fits. */
int sb_flat_string(const struct sb_json_member *m, char *buf, size_t size);

/* A number member's value: 1, or 0 when absent or not a finite number. */
int sb_flat_number(const struct sb_json_member *m, double *out);

#endif
