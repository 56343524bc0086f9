/* change.c - the digest of exactly what a change would deploy */
#include "change.h"
#include "err.h"
#include "record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int by_path(const void *a, const void *b)
{
	jv x = *(const jv *)a, y = *(const jv *)b;
	jv px = jv_object_get(jv_copy(x), jv_string("path")), py = jv_object_get(jv_copy(y), jv_string("path"));
	int c = strcmp(jv_get_kind(px) == JV_KIND_STRING ? jv_string_value(px) : "",
		       jv_get_kind(py) == JV_KIND_STRING ? jv_string_value(py) : "");

	jv_free(px);
	jv_free(py);
	return c;
}

/*
 * A field as a presence byte, an 8-byte big-endian length and its bytes:
 * no two different records share a form, whatever bytes (NUL included)
 * their strings hold, and an absent field differs from an empty one.
 */
static void add_field(sb_sha256 *h, jv obj, const char *key)
{
	jv v = jv_get_kind(obj) == JV_KIND_OBJECT ? jv_object_get(jv_copy(obj), jv_string(key)) : jv_null();
	unsigned char head[9] = {0};

	if (jv_get_kind(v) == JV_KIND_STRING) {
		uint64_t n = (uint64_t)jv_string_length_bytes(jv_copy(v));
		head[0] = 1;
		for (int i = 0; i < 8; i++)
			head[1 + i] = (unsigned char)(n >> (56 - 8 * i));
		sb_sha256_update(h, head, sizeof head);
		sb_sha256_update(h, jv_string_value(v), (size_t)n);
	} else {
		sb_sha256_update(h, head, sizeof head);
	}
	jv_free(v);
}

/* A boolean as the one-byte string "1" when true, "0" otherwise: deleting the flag changes the digest too. */
static void add_flag(sb_sha256 *h, jv obj, const char *key)
{
	jv v = jv_get_kind(obj) == JV_KIND_OBJECT ? jv_object_get(jv_copy(obj), jv_string(key)) : jv_null();
	jv as_text = jv_object_set(jv_object(), jv_string(key), jv_string(jv_get_kind(v) == JV_KIND_TRUE ? "1" : "0"));

	add_field(h, as_text, key);
	jv_free(as_text);
	jv_free(v);
}

void sb_change_digest(jv change, char hex[SB_SHA256_HEX])
{
	jv files = jv_get_kind(change) == JV_KIND_OBJECT ? jv_object_get(jv_copy(change), jv_string("files")) : jv_null();
	int n = jv_get_kind(files) == JV_KIND_ARRAY ? jv_array_length(jv_copy(files)) : 0;
	jv *v = sb_calloc((size_t)n + 1, sizeof *v);
	sb_sha256 *h = sb_sha256_new();

	sb_sha256_update(h, "sb-change-2", 12);
	add_field(h, change, "component");
	add_field(h, change, "tenant");
	add_field(h, change, "scope");
	add_flag(h, change, "requires_approval");
	for (int i = 0; i < n; i++)
		v[i] = jv_array_get(jv_copy(files), i);
	if (n)
		qsort(v, (size_t)n, sizeof *v, by_path);
	for (int i = 0; i < n; i++) {
		add_field(h, v[i], "path");
		add_field(h, v[i], "action");
		add_field(h, v[i], "content");
		add_field(h, v[i], "base_sha256");
		jv_free(v[i]);
	}
	sb_sha256_final_hex(h, hex);
	jv_free(files);
	free(v);
}
