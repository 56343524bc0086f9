/* prometheus.c - range queries against the Prometheus HTTP API */
#include "prometheus.h"
#include "err.h"
#include "http.h"
#include "record.h"
#include "timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One walk over an answer: first to check it (emit NULL), then to emit. */
struct walk {
	const struct sb_prom_query *q;
	sb_emit_fn emit;
	void *ctx;
	long skipped;
	long histograms;
	const char *why; /* what is wrong with the answer */
};

/*
 * Up to max bytes of text for a one-line message: line breaks and tabs
 * become spaces, other control characters '?'.
 */
static char *excerpt(const char *text, size_t len, size_t max)
{
	size_t n = len < max ? len : max;
	char *out;

	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		n--;
	if (n == 0)
		return sb_strdup("(empty)");
	out = sb_malloc(n + 4);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		out[i] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	strcpy(out + n, len > max ? "..." : "");
	return out;
}

static char *excerpt_str(const char *s)
{
	return excerpt(s, strlen(s), 400);
}

static void format_number(double v, char buf[40])
{
	snprintf(buf, 40, "%.3f", v);
}

/* A sample [time, "value"]: 0 and its parts, or -1 when it is not one. */
static int sample_parts(jv s, double *t, double *v)
{
	jv ts, val;
	char *end;
	int ok;

	if (jv_get_kind(s) != JV_KIND_ARRAY || jv_array_length(jv_copy(s)) != 2)
		return -1;
	ts = jv_array_get(jv_copy(s), 0);
	val = jv_array_get(jv_copy(s), 1);
	ok = jv_get_kind(ts) == JV_KIND_NUMBER && jv_get_kind(val) == JV_KIND_STRING;
	if (ok) {
		const char *text = jv_string_value(val);
		*t = jv_number_value(ts);
		*v = strtod(text, &end);
		ok = end != text && *end == '\0' && isfinite(*t);
	}
	jv_free(ts);
	jv_free(val);
	return ok ? 0 : -1;
}

/* Emit one sample of a series, or count it when its value is not finite. */
static int walk_sample(struct walk *w, jv s, const char *name, const char *tenant, jv dims)
{
	char buf[SB_TIME_BUFSZ];
	double t, v;
	jv rec;

	if (sample_parts(s, &t, &v)) {
		w->why = "a sample is not [time, \"value\"]";
		return -1;
	}
	if (!isfinite(v)) {
		w->skipped++;
		return 0;
	}
	if (!w->emit)
		return 0;
	rec = jv_object_set(jv_object(), jv_string("type"), jv_string("metric"));
	rec = jv_object_set(rec, jv_string("ts"), jv_string(sb_time_format(t, buf)));
	if (tenant)
		rec = jv_object_set(rec, jv_string("tenant"), jv_string(tenant));
	rec = jv_object_set(rec, jv_string("metric"), jv_string(name));
	rec = jv_object_set(rec, jv_string("value"), jv_number(v));
	rec = jv_object_set(rec, jv_string("dims"), jv_copy(dims));
	rec = jv_object_set(rec, jv_string("source"), jv_string("prometheus"));
	w->emit(w->ctx, rec);
	return 0;
}

/*
 * One series: its labels ("metric"; null for a scalar) and its samples, an
 * array of them (matrix) or a single one (vector, scalar). Consumes both.
 */
static int walk_series(struct walk *w, jv labels, jv samples, int single)
{
	const char *tl = w->q->tenant_label, *n, *t;
	jv dims = jv_object(), name = jv_null(), tenant = jv_null();
	int rc = 0;

	if (jv_get_kind(labels) == JV_KIND_OBJECT) {
		jv_object_foreach(labels, k, v) {
			const char *key = jv_string_value(k);
			if (jv_get_kind(v) != JV_KIND_STRING) {
				w->why = "a label value is not a string";
				rc = -1;
			} else if (strcmp(key, "__name__") == 0) {
				jv_free(name);
				name = jv_copy(v);
			} else if (tl && strcmp(key, tl) == 0) {
				jv_free(tenant);
				tenant = jv_copy(v);
			} else
				dims = jv_object_set(dims, jv_copy(k), jv_copy(v));
			jv_free(k);
			jv_free(v);
		}
	} else if (jv_get_kind(labels) != JV_KIND_NULL) {
		w->why = "a series' \"metric\" is not an object";
		rc = -1;
	}

	n = w->q->name ? w->q->name : jv_get_kind(name) == JV_KIND_STRING ? jv_string_value(name) : w->q->query;
	t = jv_get_kind(tenant) == JV_KIND_STRING ? jv_string_value(tenant) : NULL;
	if (!rc && single)
		rc = walk_sample(w, samples, n, t, dims);
	else if (!rc && jv_get_kind(samples) != JV_KIND_ARRAY) {
		w->why = "a series' \"values\" is not an array";
		rc = -1;
	} else if (!rc) {
		jv_array_foreach(samples, i, s) {
			if (!rc)
				rc = walk_sample(w, s, n, t, dims);
			jv_free(s);
		}
	}
	jv_free(dims);
	jv_free(name);
	jv_free(tenant);
	jv_free(labels);
	jv_free(samples);
	return rc;
}

/* One element of data.result of a matrix or vector answer. */
static int walk_element(struct walk *w, jv series, int matrix)
{
	jv values, hist;

	if (jv_get_kind(series) != JV_KIND_OBJECT) {
		w->why = "a series is not an object";
		return -1;
	}
	values = sb_rec_get(series, matrix ? "values" : "value");
	/* Native histograms (experimental in Prometheus 2) come without plain values. */
	hist = sb_rec_get(series, matrix ? "histograms" : "histogram");
	if (jv_get_kind(hist) != JV_KIND_NULL) {
		w->histograms += jv_get_kind(hist) == JV_KIND_ARRAY ? jv_array_length(jv_copy(hist)) : 1;
		if (jv_get_kind(values) == JV_KIND_NULL) {
			jv_free(hist);
			jv_free(values);
			return 0;
		}
	}
	jv_free(hist);
	return walk_series(w, sb_rec_get(series, "metric"), values, !matrix);
}

/* Walk data.result of a successful answer. */
static int walk_result(struct walk *w, jv data)
{
	jv type = sb_rec_get(data, "resultType"), result = sb_rec_get(data, "result");
	const char *ty = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "";
	int rc = 0, matrix = strcmp(ty, "matrix") == 0;

	w->skipped = w->histograms = 0;
	if (strcmp(ty, "scalar") == 0)
		rc = walk_series(w, jv_null(), jv_copy(result), 1);
	else if (!matrix && strcmp(ty, "vector") != 0) {
		w->why = "data.resultType is not matrix, vector or scalar";
		rc = -1;
	} else if (jv_get_kind(result) != JV_KIND_ARRAY) {
		w->why = "data.result is not an array";
		rc = -1;
	} else {
		jv_array_foreach(result, i, series) {
			if (!rc)
				rc = walk_element(w, series, matrix);
			jv_free(series);
		}
	}
	jv_free(type);
	jv_free(result);
	return rc;
}

/* Print the answer's warnings, if any. */
static void print_warnings(const char *where, const char *query, jv ans)
{
	jv warnings = sb_rec_get(ans, "warnings");

	if (jv_get_kind(warnings) == JV_KIND_ARRAY) {
		jv_array_foreach(warnings, i, text) {
			if (jv_get_kind(text) == JV_KIND_STRING) {
				char *e = excerpt_str(jv_string_value(text));
				sb_warn("prometheus %s: query '%s': warning: %s", where, query, e);
				free(e);
			}
			jv_free(text);
		}
	}
	jv_free(warnings);
}

/* The message of an answer that reports an error or is not JSON. */
static void report_failure(const char *where, const char *query, const struct sb_http_response *r, jv ans)
{
	char *type = sb_rec_string(ans, "errorType"), *error = sb_rec_string(ans, "error");
	int ok_status = r->status >= 200 && r->status <= 299;

	if (error) {
		char *e = excerpt_str(error);
		char st[32] = "";
		if (!ok_status)
			snprintf(st, sizeof st, " (HTTP %ld)", r->status);
		sb_warn("prometheus %s: query '%s': %s%s%s%s", where, query, type ? type : "",
			type ? ": " : "", e, st);
		free(e);
	} else if (!ok_status) {
		char *e = excerpt(r->body, r->len, 200);
		sb_warn("prometheus %s: HTTP %ld: %s", where, r->status, e);
		free(e);
	} else if (jv_get_kind(ans) != JV_KIND_OBJECT) {
		char *e = excerpt(r->body, r->len, 200);
		sb_warn("prometheus %s: answer is not %s: %s", where,
			jv_get_kind(ans) == JV_KIND_INVALID ? "JSON" : "a JSON object", e);
		free(e);
	} else
		sb_warn("prometheus %s: query '%s': answer's status is not \"success\"", where, query);
	free(type);
	free(error);
}

int sb_prom_query_range(const struct sb_prom_query *q, sb_emit_fn emit, void *ctx, long *skipped)
{
	char start[40], end[40], step[40], err[512];
	char *where = sb_url_redact(q->url), *base = sb_strdup(q->url), *eq, *url, *status;
	char *query = excerpt_str(q->query); /* for messages */
	struct sb_http_response r;
	struct walk w = {.q = q, .emit = NULL, .ctx = ctx};
	size_t n = strlen(base);
	int ret = SB_EXIT_REMOTE;
	jv ans, data;

	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	format_number(q->start, start);
	format_number(q->end, end);
	format_number(q->step, step);
	eq = sb_url_escape(q->query);
	url = sb_asprintf("%s/api/v1/query_range?query=%s&start=%s&end=%s&step=%s", base, eq, start, end, step);
	free(eq);
	free(base);

	if (sb_http_get(url, q->bearer, q->timeout, &r, err, sizeof err)) {
		sb_warn("prometheus %s: %s", where, err);
		free(url);
		free(where);
		free(query);
		return SB_EXIT_REMOTE;
	}
	free(url);

	/* libjq 1.6 takes an int length. */
	ans = r.len <= 0x7fffffff ? jv_parse_sized(r.body, (int)r.len) : jv_invalid();
	if (!jv_is_valid(ans)) {
		jv_free(ans); /* drops the parser's message, which says less than the answer */
		ans = jv_invalid();
	}
	status = sb_rec_string(ans, "status");
	if (r.status < 200 || r.status > 299 || !status || strcmp(status, "success") != 0) {
		report_failure(where, query, &r, ans);
		free(status);
		goto done;
	}
	free(status);

	data = sb_rec_get(ans, "data");
	if (walk_result(&w, data)) {
		sb_warn("prometheus %s: query '%s': unexpected answer: %s", where, query, w.why);
		jv_free(data);
		goto done;
	}
	print_warnings(where, query, ans);
	w.emit = emit;
	walk_result(&w, data);
	jv_free(data);
	if (w.histograms)
		sb_warn("prometheus %s: query '%s': %ld native histogram sample%s skipped", where, query,
			w.histograms, w.histograms == 1 ? "" : "s");
	if (skipped)
		*skipped += w.skipped;
	ret = 0;
done:
	jv_free(ans);
	sb_http_response_free(&r);
	free(where);
	free(query);
	return ret;
}
