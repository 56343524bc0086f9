/* change.c - the digest of exactly the files of a change */
#include "change.h"
#include "err.h"
#include "record.h"

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

/* A string field with its NUL (absent: just the NUL). */
static void add_field(sb_sha256 *h, jv file, const char *key)
{
	jv v = jv_get_kind(file) == JV_KIND_OBJECT ? jv_object_get(jv_copy(file), jv_string(key)) : jv_null();

	if (jv_get_kind(v) == JV_KIND_STRING)
		sb_sha256_update(h, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
	sb_sha256_update(h, "", 1);
	jv_free(v);
}

void sb_change_digest(jv files, char hex[SB_SHA256_HEX])
{
	int n = jv_get_kind(files) == JV_KIND_ARRAY ? jv_array_length(jv_copy(files)) : 0;
	jv *v = sb_calloc((size_t)n + 1, sizeof *v);
	sb_sha256 *h = sb_sha256_new();

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
	free(v);
}
