/* record.c - reading fields of records without tripping libjq's ownership rules */
#include "record.h"
#include "err.h"
#include "timefmt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

jv sb_rec_get(jv rec, const char *key)
{
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return jv_null();
	jv v = jv_object_get(jv_copy(rec), jv_string(key));
	return jv_is_valid(v) ? v : jv_null();
}

char *sb_rec_string(jv rec, const char *key)
{
	jv v = sb_rec_get(rec, key);
	char *s = jv_get_kind(v) == JV_KIND_STRING ? sb_strdup(jv_string_value(v)) : NULL;

	jv_free(v);
	return s;
}

int sb_rec_number(jv rec, const char *key, double *out)
{
	jv v = sb_rec_get(rec, key);
	int ok = jv_get_kind(v) == JV_KIND_NUMBER && isfinite(jv_number_value(v));

	if (ok)
		*out = jv_number_value(v);
	jv_free(v);
	return ok;
}

int sb_rec_time(jv rec, const char *key, double *out)
{
	jv v = sb_rec_get(rec, key);
	int ok = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER && isfinite(jv_number_value(v))) {
		*out = jv_number_value(v);
		ok = 1;
	} else if (jv_get_kind(v) == JV_KIND_STRING)
		ok = sb_time_parse(jv_string_value(v), out) == 0;
	jv_free(v);
	return ok;
}

char *sb_rec_tenant(jv rec)
{
	static const char *const nested[] = {"dims", "fields", "detail"};
	char *t = sb_rec_string(rec, "tenant");

	for (size_t i = 0; !t && i < sizeof nested / sizeof nested[0]; i++) {
		jv inner = sb_rec_get(rec, nested[i]);
		t = sb_rec_string(inner, "tenant_id");
		jv_free(inner);
	}
	return t;
}

jv sb_invalid(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return jv_invalid_with_msg(jv_string(buf));
}

int sb_rec_true(jv rec, const char *key)
{
	jv v = sb_rec_get(rec, key);
	int t = jv_get_kind(v) == JV_KIND_TRUE;

	jv_free(v);
	return t;
}
