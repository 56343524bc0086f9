/* sb-analyze - find what is getting worse: metric, log and event records in, insight records out */
#include "config.h"
#include "drain.h"
#include "err.h"
#include "filter.h"
#include "flatjson.h"
#include "hash.h"
#include "logformat.h"
#include "lru.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "selfmetrics.h"
#include "stackframe.h"
#include "stats.h"
#include "strmap.h"
#include "timefmt.h"
#include "window.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_PASS = 1000, OPT_WINDOW, OPT_SIGMA, OPT_MIN_CHANGE, OPT_Z, OPT_ROBUST, OPT_HIGHER, OPT_LOWER, OPT_LIMIT,
	OPT_HORIZON, OPT_NEAR, OPT_MIN_LEVEL, OPT_MIN_COUNT, OPT_SIMILARITY, OPT_TEMPLATES, OPT_SUMMARY,
	OPT_MAX_SERIES, OPT_MAX_TEMPLATES,
};

static const struct sb_option options[] = {
	{"pass", 0, NULL, "also forward the metric, log and event records read", OPT_PASS, NULL, NULL},
	{"window", 0, "N|DURATION", "window of N points (default 60) or of a duration such as 15m", OPT_WINDOW,
	 "SB_ANALYZE_WINDOW", "analyze.window"},
	{"sigma", 0, "K", "degradation threshold in baseline standard deviations (default 3)", OPT_SIGMA,
	 "SB_ANALYZE_SIGMA", "analyze.sigma"},
	{"min-change", 0, "PCT", "and at least this change from the baseline, in percent (default 5%)",
	 OPT_MIN_CHANGE, "SB_ANALYZE_MIN_CHANGE", "analyze.min_change"},
	{"z", 0, "Z", "anomaly threshold on the Z-score against the trailing window (default 4)", OPT_Z,
	 "SB_ANALYZE_Z", "analyze.z"},
	{"robust", 0, NULL, "anomalies by median and MAD instead of mean and standard deviation", OPT_ROBUST, NULL,
	 "analyze.robust"},
	{"higher-is-better", 0, "NAME", "metric NAME degrades when it falls (repeatable)", OPT_HIGHER, NULL, NULL},
	{"lower-is-better", 0, "NAME", "metric NAME degrades when it rises (repeatable)", OPT_LOWER, NULL, NULL},
	{"limit", 0, "NAME=VALUE", "trend threshold of metric NAME (repeatable)", OPT_LIMIT, NULL, NULL},
	{"horizon", 0, "DURATION", "report trends that reach their limit within DURATION (default 24h)", OPT_HORIZON,
	 "SB_ANALYZE_HORIZON", "analyze.horizon"},
	{"near", 0, "PCT", "completions: p95 duration or peak memory at PCT% of its limit (default 80)", OPT_NEAR,
	 "SB_ANALYZE_NEAR", "analyze.near"},
	{"min-level", 0, "LEVEL", "cluster log messages of LEVEL and above (default WARN)", OPT_MIN_LEVEL,
	 "SB_ANALYZE_MIN_LEVEL", "analyze.min_level"},
	{"min-count", 0, "N", "a new log template is an insight from N messages (default 5)", OPT_MIN_COUNT,
	 "SB_ANALYZE_MIN_COUNT", "analyze.min_count"},
	{"similarity", 0, "S", "log clustering similarity threshold, 0 to 1 (default 0.5)", OPT_SIMILARITY,
	 "SB_ANALYZE_SIMILARITY", "analyze.similarity"},
	{"templates", 0, NULL, "write each log record with its template instead of insights", OPT_TEMPLATES, NULL,
	 NULL},
	{"summary", 0, NULL, "write one summary record instead of insights", OPT_SUMMARY, NULL, NULL},
	{"max-series", 0, "N", "series kept in memory (default 100000)", OPT_MAX_SERIES, "SB_ANALYZE_MAX_SERIES",
	 "analyze.max_series"},
	{"max-templates", 0, "N", "log templates kept in memory (default 50000)", OPT_MAX_TEMPLATES,
	 "SB_ANALYZE_MAX_TEMPLATES", "analyze.max_templates"},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *const levels[] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL", NULL};
enum { LVL_DEBUG, LVL_INFO, LVL_WARN, LVL_ERROR, LVL_FATAL };
static const char *const severities[] = {"low", "medium", "high", "critical"};
enum { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };
enum { LOWER_IS_BETTER = -1, HIGHER_IS_BETTER = 1 };

/* Log template rates are kept in five-minute buckets over the last hour. */
#define BUCKET_SECONDS 300
#define NBUCKETS 12

struct settings {
	long window;      /* points; 0 when a duration */
	double window_s;  /* seconds when a duration */
	double sigma, min_change, z, horizon, near, similarity;
	int robust, pass, templates, summary, min_level;
	long min_count, max_series, max_templates;
	sb_strmap *direction; /* metric name -> "higher" or "lower" from the options */
	jv limits;            /* metric name -> number */
	jv components;        /* the configuration's components, or null */
};

/* ---- options ---- */

static int set_percent(const char *name, const char *arg, double *out)
{
	char *copy = sb_strdup(arg);
	size_t n = strlen(copy);
	int rc;

	if (n && copy[n - 1] == '%')
		copy[n - 1] = '\0';
	rc = sb_opt_double(name, copy, 0, out);
	free(copy);
	return rc;
}

static int set_window(struct settings *s, const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);

	if (*arg && *end == '\0') {
		if (n < 3 || n > 100000) {
			sb_warn("--window: %s points is out of range (3 to 100000)", arg);
			return -1;
		}
		s->window = n;
		return 0;
	}
	if (sb_duration_parse(arg, &s->window_s) < 0 || s->window_s <= 0) {
		sb_warn("--window: '%s' is neither a number of points nor a duration such as 15m", arg);
		return -1;
	}
	s->window = 0;
	return 0;
}

static void put_limit(struct settings *s, const char *name, size_t len, double value)
{
	s->limits = jv_object_set(s->limits, jv_string_sized(name, (int)len), jv_number(value));
}

/* The limit of a metric: 1 and its value, or 0. */
static int limit_of(const struct settings *s, const char *metric, double *out)
{
	jv v = jv_object_get(jv_copy(s->limits), jv_string(metric));
	int ok = jv_get_kind(v) == JV_KIND_NUMBER;

	if (ok)
		*out = jv_number_value(v);
	jv_free(v);
	return ok;
}

static int set_limit(struct settings *s, const char *arg)
{
	const char *eq = strrchr(arg, '=');
	char *end;
	double v;

	if (!eq || eq == arg) {
		sb_warn("--limit: '%s' is not NAME=VALUE", arg);
		return -1;
	}
	v = strtod(eq + 1, &end);
	if (!eq[1] || *end || !isfinite(v)) {
		sb_warn("--limit: '%s' is not a number", eq + 1);
		return -1;
	}
	put_limit(s, arg, (size_t)(eq - arg), v);
	return 0;
}

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;

	switch (id) {
	case OPT_PASS: s->pass = 1; return 0;
	case OPT_ROBUST: s->robust = !arg || strcmp(arg, "false") != 0; return 0;
	case OPT_TEMPLATES: s->templates = 1; return 0;
	case OPT_SUMMARY: s->summary = 1; return 0;
	case OPT_WINDOW: return set_window(s, arg);
	case OPT_SIGMA: return sb_opt_double("sigma", arg, 0, &s->sigma);
	case OPT_MIN_CHANGE: return set_percent("min-change", arg, &s->min_change);
	case OPT_Z: return sb_opt_double("z", arg, 0, &s->z);
	case OPT_NEAR: return set_percent("near", arg, &s->near);
	case OPT_HORIZON: return sb_opt_duration("horizon", arg, &s->horizon);
	case OPT_LIMIT: return set_limit(s, arg);
	case OPT_HIGHER:
	case OPT_LOWER:
		sb_strmap_put(s->direction, arg, strlen(arg), id == OPT_HIGHER ? "higher" : "lower");
		return 0;
	case OPT_MIN_LEVEL: {
		const char *l = sb_log_level(arg);
		if (!l) {
			sb_warn("--min-level: '%s' is not one of DEBUG, INFO, WARN, ERROR, FATAL", arg);
			return -1;
		}
		return (s->min_level = sb_opt_choice("min-level", l, levels)) < 0 ? -1 : 0;
	}
	case OPT_MIN_COUNT: return sb_opt_long("min-count", arg, 1, 1000000000L, &s->min_count);
	case OPT_SIMILARITY:
		if (sb_opt_double("similarity", arg, 0, &s->similarity) < 0)
			return -1;
		if (s->similarity > 1) {
			sb_warn("--similarity: %s is above 1", arg);
			return -1;
		}
		return 0;
	case OPT_MAX_SERIES: return sb_opt_long("max-series", arg, 1, 1000000000L, &s->max_series);
	case OPT_MAX_TEMPLATES: return sb_opt_long("max-templates", arg, 1, 1000000000L, &s->max_templates);
	}
	return -1;
}

/* analyze.limits in the configuration: {"NAME": VALUE}; --limit options win. */
static void limits_from_config(struct settings *s, jv config)
{
	jv limits = sb_config_get(config, "analyze.limits");

	if (jv_get_kind(limits) == JV_KIND_OBJECT) {
		jv_object_foreach(limits, k, v)
		{
			const char *name = jv_string_value(k);
			if (jv_get_kind(v) != JV_KIND_NUMBER)
				sb_die(SB_EXIT_USAGE, "configuration: analyze.limits.%s is not a number", name);
			double ignored;
			if (!limit_of(s, name, &ignored))
				put_limit(s, name, strlen(name), jv_number_value(v));
			jv_free(k);
			jv_free(v);
		}
	} else if (jv_get_kind(limits) != JV_KIND_NULL) {
		sb_die(SB_EXIT_USAGE, "configuration: analyze.limits is not an object");
	}
	jv_free(limits);
}

/* ---- the analyser ---- */

struct anomaly_run {
	int open;
	double start, end, peak, peak_ts, peak_z, mean, sd;
	long points;
	long quiet;      /* ordinary points since the last anomalous one */
	double long_mean, long_sd;
	int zero_spread; /* the window had no spread: z is undefined */
};

struct series {
	struct sb_lru_item t;
	char *tenant, *component, *metric, *unit;
	jv dims;           /* object, or null */
	int direction;
	int has_limit;
	double limit;
	struct sb_window w;
	int degraded, trending;
	struct anomaly_run run;
	double long_mean, long_var; /* exponentially weighted over about ten windows */
	long long_n;
};

struct tstat; /* per template, tenant and component */

struct summary {
	char *tenant;
	long by_kind[6], by_severity[4], insights, records, series, templates;
	double from, to;
	int has_time;
};

static const char *const kind_names[] = {"degradation", "anomaly", "trend", "error_pattern", "completion", "alarm"};
enum { K_DEGRADATION, K_ANOMALY, K_TREND, K_PATTERN, K_COMPLETION, K_ALARM };

struct analyser {
	struct settings *set;
	const struct sb_common *common;
	struct sb_lru series;        /* series and functions alike */
	double *scratch, *scratch2;
	size_t scratch_cap;
	int warned_series, warned_templates;
	/* logs */
	sb_drain *drain;
	double log_first, log_last;
	int has_logs;
	struct tstat **tstats;    /* every live per-template entry, for the end of input */
	size_t ntstats, captstats;
	FILE *spool;              /* --templates: records held back until templates are final */
	char **retired;           /* --templates: final template of an evicted cluster, by seq */
	unsigned long *merged_into; /* --templates: the seq a merged cluster's lines now belong to, or 0 */
	size_t nretired;
	struct sb_drain_cluster **live; /* by seq */
	size_t nlive;
	/* --summary */
	struct summary *sums;
	size_t nsums;
	long written[sizeof kind_names / sizeof kind_names[0]]; /* insight records written, by kind */
	long records;
	char *key;                /* the key of the record at hand */
	char *msg;                /* the message of the log record at hand, on the fast path */
	size_t msgcap;
	size_t keylen, keycap;
};

static struct series *as_series(struct sb_lru_item *t)
{
	return (struct series *)t;
}

/* ---- small helpers for records and text ---- */

static double round4(double x)
{
	return round(x * 10000) / 10000;
}

/* A number for a sentence: 180, 0.0123, 12.5k are all too clever; keep 4 significant digits. */
static void fmt_num(double x, char *buf, size_t size)
{
	if (fabs(x) >= 1e4 && fabs(x) < 1e15)
		snprintf(buf, size, "%.0f", x);
	else
		snprintf(buf, size, "%.4g", x);
}

/* "180 ms", or "180" when the unit is absent or is a count. */
static void fmt_value(double x, const char *unit, char *buf, size_t size)
{
	char n[64];

	fmt_num(x, n, sizeof n);
	if (unit && *unit && strcasecmp(unit, "count") != 0 && strcasecmp(unit, "none") != 0)
		snprintf(buf, size, "%s%s%s", n, strcmp(unit, "%") == 0 ? "" : " ", unit);
	else
		snprintf(buf, size, "%s", n);
}

/* "02:10", or "2026-11-24 02:10" when it is not the day of ref. */
static void fmt_clock(double ts, double ref, char *buf, size_t size)
{
	char t[SB_TIME_BUFSZ], r[SB_TIME_BUFSZ];

	sb_time_format(ts, t);
	sb_time_format(ref, r);
	if (strncmp(t, r, 10) == 0)
		snprintf(buf, size, "%.5s", t + 11);
	else
		snprintf(buf, size, "%.10s %.5s", t, t + 11);
}

static jv time_jv(double ts)
{
	char buf[SB_TIME_BUFSZ];
	return jv_string(sb_time_format(ts, buf));
}

static jv num_or_null(double x)
{
	return isfinite(x) ? jv_number(round4(x)) : jv_null();
}

static jv set_num(jv o, const char *key, double x)
{
	return jv_object_set(o, jv_string(key), num_or_null(x));
}

/* "checkout" or "checkout (host=h1, az=b)": the component and the series' dimensions. */
static char *subject_of(const char *component, jv dims)
{
	char *out = sb_strdup(component);

	if (jv_get_kind(dims) != JV_KIND_OBJECT || jv_object_length(jv_copy(dims)) == 0)
		return out;
	int first = 1;
	jv_object_foreach(dims, k, v)
	{
		jv text = jv_get_kind(v) == JV_KIND_STRING ? jv_copy(v) : jv_dump_string(jv_copy(v), 0);
		char *more = sb_asprintf("%s%s%s=%s", out, first ? " (" : ", ", jv_string_value(k),
					 jv_string_value(text));
		free(out);
		out = more;
		first = 0;
		jv_free(text);
		jv_free(k);
		jv_free(v);
	}
	char *closed = sb_asprintf("%s)", out);
	free(out);
	return closed;
}

/* ---- insights ---- */

static struct summary *summary_for(struct analyser *an, const char *tenant)
{
	for (size_t i = 0; i < an->nsums; i++) {
		const char *t = an->sums[i].tenant;
		if ((!t && !tenant) || (t && tenant && strcmp(t, tenant) == 0))
			return &an->sums[i];
	}
	an->sums = sb_realloc(an->sums, (an->nsums + 1) * sizeof *an->sums);
	struct summary *s = &an->sums[an->nsums++];
	memset(s, 0, sizeof *s);
	s->tenant = tenant ? sb_strdup(tenant) : NULL;
	return s;
}

/* --summary: a tenant's records and the time range they cover. */
static void note_time(struct analyser *an, const char *tenant, double ts)
{
	if (!an->set->summary)
		return;
	struct summary *s = summary_for(an, tenant);
	s->records++;
	if (!s->has_time || ts < s->from)
		s->from = ts;
	if (!s->has_time || ts > s->to)
		s->to = ts;
	s->has_time = 1;
}

struct insight {
	int kind, severity;
	const char *tenant, *component, *metric, *pattern;
	jv dims;           /* borrowed; null when none */
	double ts;
	char *summary;     /* owned, freed by emit_insight */
	jv evidence;       /* consumed */
	jv extra;          /* consumed: more top-level fields, or an invalid jv */
};

static void insight_id(const struct insight *i, char id[SB_ID_LEN + 1])
{
	char ts[SB_TIME_BUFSZ];
	jv dims = jv_get_kind(i->dims) == JV_KIND_OBJECT ? jv_dump_string(jv_copy(i->dims), JV_PRINT_SORTED)
							  : jv_string("");

	sb_content_id(id, "insight", kind_names[i->kind], i->tenant ? "t" : "-", i->tenant ? i->tenant : "",
		      i->component, i->metric ? i->metric : "", i->pattern ? i->pattern : "", jv_string_value(dims),
		      sb_time_format(i->ts, ts), NULL);
	jv_free(dims);
}

static void emit_insight(struct analyser *an, struct insight *i)
{
	char id[SB_ID_LEN + 1];
	jv o;

	if (an->set->summary) {
		struct summary *s = summary_for(an, i->tenant);
		s->by_kind[i->kind]++;
		s->by_severity[i->severity]++;
		s->insights++;
		free(i->summary);
		jv_free(i->evidence);
		jv_free(i->extra);
		return;
	}
	insight_id(i, id);
	o = jv_object_set(jv_object(), jv_string("type"), jv_string("insight"));
	o = jv_object_set(o, jv_string("id"), jv_string(id));
	o = jv_object_set(o, jv_string("ts"), time_jv(i->ts));
	o = jv_object_set(o, jv_string("kind"), jv_string(kind_names[i->kind]));
	if (i->tenant)
		o = jv_object_set(o, jv_string("tenant"), jv_string(i->tenant));
	o = jv_object_set(o, jv_string("component"), jv_string(i->component));
	if (i->metric)
		o = jv_object_set(o, jv_string("metric"), jv_string(i->metric));
	if (i->pattern)
		o = jv_object_set(o, jv_string("pattern"), jv_string(i->pattern));
	if (jv_get_kind(i->dims) == JV_KIND_OBJECT && jv_object_length(jv_copy(i->dims)) > 0)
		o = jv_object_set(o, jv_string("dims"), jv_copy(i->dims));
	o = jv_object_set(o, jv_string("severity"), jv_string(severities[i->severity]));
	o = jv_object_set(o, jv_string("summary"), jv_string(i->summary));
	o = jv_object_set(o, jv_string("evidence"), i->evidence);
	if (jv_is_valid(i->extra)) {
		jv_object_foreach(i->extra, k, v) o = jv_object_set(o, k, v);
		jv_free(i->extra);
	} else {
		jv_free(i->extra);
	}
	free(i->summary);
	an->written[i->kind]++;
	sb_output_record(o);
}

/* Severity of a relative change in percent: <10 low, <25 medium, <50 high, else critical. */
static int severity_of_change(double pct)
{
	pct = fabs(pct);
	return !isfinite(pct) ? SEV_HIGH : pct < 10 ? SEV_LOW : pct < 25 ? SEV_MEDIUM : pct < 50 ? SEV_HIGH : SEV_CRITICAL;
}

/* ---- metric direction ---- */

/* Does a word of name (split at non-letters and camelCase humps) start with prefix? */
static int word_starts_with(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = name; *p; p++) {
		int start = p == name || !isalpha((unsigned char)p[-1]) ||
			    (islower((unsigned char)p[-1]) && isupper((unsigned char)*p));
		if (start && strncasecmp(p, prefix, n) == 0)
			return 1;
	}
	return 0;
}

static int name_has(const char *name, const char *const words[])
{
	for (int i = 0; words[i]; i++)
		if (word_starts_with(name, words[i]))
			return 1;
	return 0;
}

/*
 * Which way a metric degrades: the component's "metrics" map in the
 * configuration, then --higher-is-better/--lower-is-better, then its name,
 * then its unit; lower is better for anything else (latency, load, usage).
 */
static int direction_of(const struct settings *s, const char *component, const char *metric, const char *unit)
{
	static const char *const lower_words[] = {"latency", "duration", "time", "error", "fail", "5xx", "4xx",
						  "timeout", "throttl", "reject", "drop", "queue", "lag", NULL};
	static const char *const higher_words[] = {"success", "throughput", "rps", "qps", "requests", "availab",
						   "hit", "ok", "uptime", "apdex", NULL};
	const char *said = sb_strmap_get(s->direction, metric, strlen(metric));
	int d = 0;

	if (jv_get_kind(s->components) == JV_KIND_OBJECT) {
		jv c = sb_rec_get(s->components, component);
		jv m = sb_rec_get(c, "metrics");
		char *v = sb_rec_string(m, metric);
		if (v)
			d = strcmp(v, "higher") == 0 ? HIGHER_IS_BETTER : strcmp(v, "lower") == 0 ? LOWER_IS_BETTER : 0;
		free(v);
		jv_free(m);
		jv_free(c);
	}
	if (d)
		return d;
	if (said)
		return strcmp(said, "higher") == 0 ? HIGHER_IS_BETTER : LOWER_IS_BETTER;
	if (name_has(metric, lower_words))
		return LOWER_IS_BETTER;
	if (name_has(metric, higher_words))
		return HIGHER_IS_BETTER;
	if (unit && (strcasestr(unit, "/s") || strcasestr(unit, "per second") || strcasecmp(unit, "rps") == 0))
		return HIGHER_IS_BETTER;
	return LOWER_IS_BETTER;
}

/* ---- series windows ---- */

/* Copy the recent window's values into scratch space. */
static double *recent_values(struct analyser *an, const struct sb_window *w, size_t *n)
{
	*n = sb_window_recent(w);
	if (*n > an->scratch_cap) {
		an->scratch_cap = *n * 2;
		an->scratch = sb_realloc(an->scratch, an->scratch_cap * sizeof *an->scratch);
		an->scratch2 = sb_realloc(an->scratch2, an->scratch_cap * sizeof *an->scratch2);
	}
	for (size_t i = 0; i < *n; i++)
		an->scratch[i] = sb_window_at(w, w->nbase + i)->v;
	return an->scratch;
}

/* ---- anomalies ---- */

/* Center and spread of the trailing window: mean and sd, or median and MAD scaled to a sd. */
static void trailing_center(struct analyser *an, const struct series *s, double *center, double *spread)
{
	size_t n;

	if (!an->set->robust) {
		sb_window_recent_stats(&s->w, center, spread);
		return;
	}
	double *x = recent_values(an, &s->w, &n), mad;
	sb_median_mad(x, n, an->scratch2, center, &mad);
	/* 1.4826 MAD estimates a normal sd; when half the window is one value, fall back on the mean deviation. */
	*spread = 1.4826 * mad;
	if (*spread == 0) {
		double dev = 0;
		for (size_t i = 0; i < n; i++)
			dev += fabs(x[i] - *center);
		*spread = 1.2533 * dev / (double)n;
	}
}

static void emit_anomaly(struct analyser *an, struct series *s)
{
	struct anomaly_run *r = &s->run;
	char *subject = subject_of(s->component, s->dims), peak[96], usual[96], sd[96], at[32];
	double ratio = r->zero_spread ? INFINITY : fabs(r->peak_z) / an->set->z;
	int sev = ratio < 1.5 ? SEV_LOW : ratio < 2 ? SEV_MEDIUM : ratio < 3 ? SEV_HIGH : SEV_CRITICAL;
	jv ev = jv_object();

	fmt_value(r->peak, s->unit, peak, sizeof peak);
	fmt_value(r->mean, s->unit, usual, sizeof usual);
	fmt_value(r->sd, s->unit, sd, sizeof sd);
	fmt_clock(r->peak_ts, r->start, at, sizeof at);
	ev = jv_object_set(ev, jv_string("method"), jv_string(an->set->robust ? "robust" : "mean"));
	ev = jv_object_set(ev, jv_string("start"), time_jv(r->start));
	ev = jv_object_set(ev, jv_string("end"), time_jv(r->end));
	ev = jv_object_set(ev, jv_string("points"), jv_number((double)r->points));
	ev = set_num(ev, "peak", r->peak);
	ev = jv_object_set(ev, jv_string("peak_ts"), time_jv(r->peak_ts));
	ev = r->zero_spread ? jv_object_set(ev, jv_string("peak_z"), jv_null()) : set_num(ev, "peak_z", r->peak_z);
	ev = set_num(ev, "threshold", an->set->z);
	ev = set_num(ev, an->set->robust ? "median" : "mean", r->mean);
	ev = set_num(ev, "stddev", r->sd);
	ev = set_num(ev, "long_mean", r->long_mean);
	ev = set_num(ev, "long_stddev", r->long_sd);
	ev = set_num(ev, "change_pct", r->mean != 0 ? (r->peak - r->mean) / fabs(r->mean) * 100 : NAN);
	ev = jv_object_set(ev, jv_string("window_count"),
			   jv_number(an->set->window ? (double)an->set->window : (double)sb_window_recent(&s->w)));
	char *text;
	if (r->points > 1) {
		char until[32];
		fmt_clock(r->end, r->start, until, sizeof until);
		text = sb_asprintf("%s of %s %s to %s at %s (%ld anomalous points until %s), usual %s ± %s", s->metric,
				   subject, r->peak >= r->mean ? "spiked" : "dropped", peak, at, r->points, until, usual, sd);
	} else {
		text = sb_asprintf("%s of %s %s to %s at %s, usual %s ± %s", s->metric, subject,
				   r->peak >= r->mean ? "spiked" : "dropped", peak, at, usual, sd);
	}
	struct insight i = {K_ANOMALY, sev, s->tenant, s->component, s->metric, NULL, s->dims, r->start, text, ev,
			    jv_invalid()};
	emit_insight(an, &i);
	free(subject);
	r->open = 0;
}

/* The long memory: weights 1/n while it fills, then 1/(10 W). */
static void remember_long(const struct settings *set, struct series *s, double v)
{
	double horizon = 10.0 * (set->window ? (double)set->window : fmax((double)sb_window_recent(&s->w), SB_WINDOW_MIN_POINTS));
	double alpha = 1 / fmin((double)++s->long_n, horizon), d = v - s->long_mean;

	s->long_mean += alpha * d;
	s->long_var = (1 - alpha) * (s->long_var + alpha * d * d);
}

/*
 * Anomalous points close together are one episode: it ends after a
 * window's worth of ordinary points (W points, or the window's duration).
 */
static int episode_over(const struct settings *set, struct anomaly_run *r, double ts)
{
	r->quiet++;
	return set->window ? r->quiet >= set->window : ts - r->end >= set->window_s;
}

/*
 * Is v anomalous against the trailing window? Z is read as a normal tail
 * probability: with a window of n points the sample mean and sd are
 * themselves uncertain, so the threshold is widened to Student's t with
 * n - 1 degrees of freedom, scaled for a new observation.
 */
static void check_anomaly(struct analyser *an, struct series *s, double ts, double v)
{
	size_t n = sb_window_recent(&s->w);
	double center, spread, z, threshold;
	int anomalous, zero;

	if (!sb_window_ready(&s->w, n, an->set->window_s, ts)) {
		if (s->run.open)
			emit_anomaly(an, s);
		remember_long(an->set, s, v);
		return;
	}
	trailing_center(an, s, &center, &spread);
	zero = spread <= 1e-12 * fmax(fabs(center), 1e-300);
	z = zero ? (v == center ? 0 : copysign(INFINITY, v - center)) : (v - center) / spread;
	threshold = sb_t_threshold(an->set->z, (double)n - 1) * sqrt(1 + 1 / (double)n);
	/*
	 * News against the long memory too, so a regular swing (a daily peak)
	 * is not reported every day; and, as for degradations, a departure too
	 * small to matter is not news, however regular the series.
	 */
	double long_mean = s->long_mean, long_sd = sqrt(s->long_var), long_dev = fabs(v - long_mean);
	anomalous = fabs(z) > threshold && long_dev > an->set->z * long_sd &&
		    fabs(v - center) > an->set->min_change / 100 * fabs(center);
	remember_long(an->set, s, v);
	struct anomaly_run *r = &s->run;
	if (!anomalous) {
		if (r->open && episode_over(an->set, r, ts))
			emit_anomaly(an, s);
		return;
	}
	if (!r->open) {
		*r = (struct anomaly_run){.open = 1, .start = ts, .peak_ts = ts, .peak = v, .peak_z = z, .mean = center, .sd = spread,
					  .zero_spread = zero, .long_mean = long_mean, .long_sd = long_sd};
	} else if (fabs(z) > fabs(r->peak_z)) {
		r->peak = v;
		r->peak_z = z;
		r->peak_ts = ts;
	}
	r->end = ts;
	r->points++;
	r->quiet = 0;
}

/* ---- degradation ---- */

struct departure {
	double base, cur, sd, delta, change_pct, sigmas;
	int bad; /* in the metric's bad direction */
};

static struct departure departure_of(const struct series *s)
{
	struct departure d;
	double cur_sd;

	sb_window_baseline_stats(&s->w, &d.base, &d.sd);
	sb_window_recent_stats(&s->w, &d.cur, &cur_sd);
	d.delta = d.cur - d.base;
	d.change_pct = d.base != 0 ? d.delta / fabs(d.base) * 100 : NAN;
	d.sigmas = d.sd > 0 ? d.delta / d.sd : (d.delta == 0 ? 0 : copysign(INFINITY, d.delta));
	d.bad = s->direction == LOWER_IS_BETTER ? d.delta > 0 : d.delta < 0;
	return d;
}

/* Beyond k baseline standard deviations and pct percent, in the bad direction? */
static int departs(const struct departure *d, double k, double pct)
{
	if (!d->bad || fabs(d->sigmas) <= k)
		return 0;
	return isnan(d->change_pct) || fabs(d->change_pct) > pct;
}

/*
 * Where the change began: of the recent points, the one from which the sum
 * of departures from the baseline mean (in the direction of the change,
 * less half the window's departure so that noise before the change does
 * not count) is largest, as a CUSUM change-point estimate reads it.
 */
static size_t change_start(const struct series *s, const struct departure *d)
{
	double sum = 0, best = -INFINITY, sign = d->delta >= 0 ? 1 : -1, slack = fabs(d->delta) / 2;
	size_t at = s->w.nbase;

	for (size_t i = s->w.n; i-- > s->w.nbase;) {
		sum += sign * (sb_window_at(&s->w, i)->v - d->base) - slack;
		if (sum > best) {
			best = sum;
			at = i;
		}
	}
	return at;
}

/* The mean of the points from the change on. */
static double mean_since(const struct series *s, size_t from)
{
	double sum = 0;

	for (size_t i = from; i < s->w.n; i++)
		sum += sb_window_at(&s->w, i)->v;
	return sum / (double)(s->w.n - from);
}

static void emit_degradation(struct analyser *an, struct series *s, const struct departure *d, double ts)
{
	char *subject = subject_of(s->component, s->dims), base[96], cur[96], since[32], pct[64];
	size_t from = change_start(s, d);
	double start = sb_window_at(&s->w, from)->ts, after = mean_since(s, from);
	double after_pct = d->base != 0 ? (after - d->base) / fabs(d->base) * 100 : NAN;
	jv ev = jv_object();

	fmt_value(d->base, s->unit, base, sizeof base);
	fmt_value(after, s->unit, cur, sizeof cur);
	fmt_clock(start, ts, since, sizeof since);
	if (isnan(after_pct))
		snprintf(pct, sizeof pct, "from zero");
	else
		snprintf(pct, sizeof pct, "%.0f%%", fabs(after_pct));
	ev = set_num(ev, "baseline_mean", d->base);
	ev = set_num(ev, "current_mean", d->cur);
	ev = set_num(ev, "stddev", d->sd);
	ev = set_num(ev, "z", d->sigmas);
	ev = set_num(ev, "change_pct", d->change_pct);
	ev = jv_object_set(ev, jv_string("direction"),
			   jv_string(s->direction == LOWER_IS_BETTER ? "lower_is_better" : "higher_is_better"));
	ev = jv_object_set(ev, jv_string("since"), time_jv(start));
	ev = set_num(ev, "since_mean", after);
	ev = set_num(ev, "since_change_pct", after_pct);
	ev = jv_object_set(ev, jv_string("since_count"), jv_number((double)(s->w.n - from)));
	ev = jv_object_set(ev, jv_string("baseline_start"), time_jv(sb_window_at(&s->w, 0)->ts));
	ev = jv_object_set(ev, jv_string("baseline_end"), time_jv(sb_window_at(&s->w, s->w.nbase - 1)->ts));
	ev = jv_object_set(ev, jv_string("window_start"), time_jv(sb_window_at(&s->w, s->w.nbase)->ts));
	ev = jv_object_set(ev, jv_string("window_end"), time_jv(sb_window_at(&s->w, s->w.n - 1)->ts));
	ev = jv_object_set(ev, jv_string("baseline_count"), jv_number((double)s->w.nbase));
	ev = jv_object_set(ev, jv_string("current_count"), jv_number((double)sb_window_recent(&s->w)));
	char *text = sb_asprintf("%s of %s %s %s (%s → %s) since %s", s->metric, subject,
				 after > d->base ? "rose" : "fell", pct, base, cur, since);
	struct insight i = {K_DEGRADATION, severity_of_change(isnan(after_pct) ? d->change_pct : after_pct), s->tenant,
			    s->component, s->metric, NULL, s->dims, ts, text, ev, jv_invalid()};
	emit_insight(an, &i);
	free(subject);
}

/*
 * One insight when a degradation starts. It is over (and can be reported
 * again) only once the departure falls below half the thresholds, so noise
 * at the edge does not report one change twice.
 */
static void check_degradation(struct analyser *an, struct series *s, double ts)
{
	const struct settings *set = an->set;
	struct departure d;

	if (!sb_window_ready(&s->w, s->w.nbase, 2 * set->window_s, ts) ||
	    !sb_window_ready(&s->w, sb_window_recent(&s->w), set->window_s, ts))
		return;
	d = departure_of(s);
	if (s->degraded) {
		s->degraded = departs(&d, set->sigma / 2, set->min_change / 2);
		return;
	}
	if (departs(&d, set->sigma, set->min_change)) {
		s->degraded = 1;
		emit_degradation(an, s, &d, ts);
	}
}

/* ---- trends ---- */

struct projection {
	struct sb_fit fit;
	double now, fitted, hours, crosses_at;
	int crossing; /* reaches the limit within the horizon */
};

static struct projection project(struct analyser *an, const struct series *s, double horizon)
{
	struct projection p = {.hours = NAN, .crosses_at = NAN};
	size_t n = sb_window_recent(&s->w);
	double t0 = sb_window_at(&s->w, s->w.nbase)->ts, need;

	if (n > an->scratch_cap)
		recent_values(an, &s->w, &n);
	for (size_t i = 0; i < n; i++) {
		an->scratch[i] = sb_window_at(&s->w, s->w.nbase + i)->ts - t0; /* small times keep the fit exact */
		an->scratch2[i] = sb_window_at(&s->w, s->w.nbase + i)->v;
	}
	p.fit = sb_linear_fit(an->scratch, an->scratch2, n);
	p.now = sb_window_at(&s->w, s->w.n - 1)->ts;
	if (!p.fit.ok)
		return p;
	p.fitted = p.fit.intercept + p.fit.slope * (p.now - t0);
	if (p.fit.slope == 0 || fabs(p.fit.slope) <= an->set->sigma * p.fit.slope_se)
		return p;
	need = (s->limit - p.fitted) / p.fit.slope; /* seconds until the line meets the limit */
	if (need < 0 && (p.fit.slope > 0 ? p.fitted >= s->limit : p.fitted <= s->limit))
		need = 0; /* already past it and moving further */
	if (need < 0 || need > horizon)
		return p;
	p.hours = need / 3600;
	p.crosses_at = p.now + need;
	p.crossing = 1;
	return p;
}

static void emit_trend(struct analyser *an, struct series *s, const struct projection *p)
{
	char *subject = subject_of(s->component, s->dims), limit[96], slope[96], when[32];
	int sev = p->hours > 12 ? SEV_LOW : p->hours > 6 ? SEV_MEDIUM : p->hours > 1 ? SEV_HIGH : SEV_CRITICAL;
	jv ev = jv_object();

	fmt_value(s->limit, s->unit, limit, sizeof limit);
	fmt_num(fabs(p->fit.slope) * 3600, slope, sizeof slope);
	fmt_clock(p->crosses_at, p->now, when, sizeof when);
	ev = set_num(ev, "slope_per_hour", p->fit.slope * 3600);
	ev = set_num(ev, "slope_stderr_per_hour", p->fit.slope_se * 3600);
	ev = set_num(ev, "current", p->fitted);
	ev = set_num(ev, "limit", s->limit);
	ev = set_num(ev, "hours_to_limit", p->hours);
	ev = jv_object_set(ev, jv_string("crosses_at"), time_jv(p->crosses_at));
	ev = set_num(ev, "horizon_hours", an->set->horizon / 3600);
	ev = jv_object_set(ev, jv_string("window_start"), time_jv(sb_window_at(&s->w, s->w.nbase)->ts));
	ev = jv_object_set(ev, jv_string("window_end"), time_jv(p->now));
	ev = jv_object_set(ev, jv_string("current_count"), jv_number((double)sb_window_recent(&s->w)));
	char *text = p->hours == 0
		? sb_asprintf("%s of %s is past its limit of %s and still %s %s per hour", s->metric, subject, limit,
			      p->fit.slope > 0 ? "rising" : "falling", slope)
		: sb_asprintf("%s of %s is %s %s per hour and will reach its limit of %s in about %.1f h (around %s)",
			      s->metric, subject, p->fit.slope > 0 ? "rising" : "falling", slope, limit, p->hours, when);
	struct insight i = {K_TREND, sev, s->tenant, s->component, s->metric, NULL, s->dims, p->now, text, ev,
			    jv_invalid()};
	emit_insight(an, &i);
	free(subject);
}

/* One insight when a projection starts crossing; over when it no longer reaches within twice the horizon. */
static void check_trend(struct analyser *an, struct series *s, double ts)
{
	if (!s->has_limit || !sb_window_ready(&s->w, sb_window_recent(&s->w), an->set->window_s, ts))
		return;
	if (s->trending) {
		s->trending = project(an, s, 2 * an->set->horizon).crossing;
		return;
	}
	struct projection p = project(an, s, an->set->horizon);
	if (p.crossing) {
		s->trending = 1;
		emit_trend(an, s, &p);
	}
}

/* ---- metric records ---- */

static void release_series(void *ctx, struct sb_lru_item *t)
{
	struct analyser *an = ctx;
	struct series *s = as_series(t);

	if (s->run.open) /* a run cut short still happened */
		emit_anomaly(an, s);
	free(s->tenant);
	free(s->component);
	free(s->metric);
	free(s->unit);
	jv_free(s->dims);
	sb_window_free(&s->w);
	free(s);
}

/* Make room for one more series or function: the least recently seen goes, with a warning the first time. */
static void make_room(struct analyser *an)
{
	while (an->series.count >= (size_t)an->set->max_series) {
		if (!an->warned_series++)
			sb_warn("more than %ld series and functions: forgetting the least recently seen (--max-series)",
				an->set->max_series);
		an->series.evicted++;
		sb_lru_drop(&an->series, an->series.oldest, an);
	}
}

/*
 * The key of a series: a kind byte, tenant, component, metric and the dims
 * as sorted key=value pairs. Built in one buffer reused for every record.
 */
static void key_add(struct analyser *an, const char *text, size_t len, char sep)
{
	if (an->keylen + len + 1 > an->keycap) {
		an->keycap = (an->keylen + len + 1) * 2;
		an->key = sb_realloc(an->key, an->keycap);
	}
	memcpy(an->key + an->keylen, text, len);
	an->keylen += len;
	an->key[an->keylen++] = sep;
}

static void key_begin(struct analyser *an, char kind, const char *tenant, const char *component, const char *metric)
{
	char head[2] = {kind, tenant ? 't' : '-'};

	an->keylen = 0;
	key_add(an, head, 2, '\0');
	key_add(an, tenant ? tenant : "", tenant ? strlen(tenant) : 0, '\0');
	key_add(an, component, strlen(component), '\0');
	key_add(an, metric, strlen(metric), '\0');
}

/* The dims of a parsed record (borrowed): jv_keys sorts them. */
static void key_dims(struct analyser *an, jv dims)
{
	if (jv_get_kind(dims) != JV_KIND_OBJECT)
		return;
	jv keys = jv_keys(jv_copy(dims));
	for (int i = 0, n = jv_array_length(jv_copy(keys)); i < n; i++) {
		jv k = jv_array_get(jv_copy(keys), i);
		jv v = jv_object_get(jv_copy(dims), jv_copy(k));
		jv text = jv_get_kind(v) == JV_KIND_STRING ? jv_copy(v) : jv_dump_string(jv_copy(v), 0);
		key_add(an, jv_string_value(k), (size_t)jv_string_length_bytes(jv_copy(k)), '\x1f');
		key_add(an, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)), '\x1e');
		jv_free(text);
		jv_free(v);
		jv_free(k);
	}
	jv_free(keys);
}

static int by_member_key(const void *a, const void *b)
{
	const struct sb_json_member *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->keylen < y->keylen ? x->keylen : y->keylen);

	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

/* The dims of a scanned record, as key_dims would give them: 0 when they are not plain strings. */
static int key_flat_dims(struct analyser *an, struct sb_flat *dims)
{
	qsort(dims->m, (size_t)dims->n, sizeof dims->m[0], by_member_key);
	for (int i = 0; i < dims->n; i++) {
		if (dims->m[i].kind != 's' || !dims->m[i].plain || (i && by_member_key(&dims->m[i - 1], &dims->m[i]) == 0))
			return 0;
		key_add(an, dims->m[i].key, dims->m[i].keylen, '\x1f');
		key_add(an, dims->m[i].val, dims->m[i].vallen, '\x1e');
	}
	return 1;
}

/* The key at hand, copied: it holds NUL bytes, so not with strdup. */
static char *copy_key(const struct analyser *an)
{
	char *k = sb_malloc(an->keylen);

	memcpy(k, an->key, an->keylen);
	return k;
}

/* Name a new series or function by the key at hand. */
static void name_item(const struct analyser *an, struct sb_lru_item *t, void (*release)(void *, struct sb_lru_item *))
{
	t->key = copy_key(an);
	t->keylen = an->keylen;
	t->release = release;
}

static struct sb_lru_item *find_tracked(struct analyser *an)
{
	return sb_lru_find(&an->series, an->key, an->keylen);
}

static struct series *new_series(struct analyser *an, const char *tenant, const char *component,
				 const char *metric, const char *unit, jv dims, double ts)
{
	struct series *s = sb_calloc(1, sizeof *s);

	name_item(an, &s->t, release_series);
	s->tenant = tenant ? sb_strdup(tenant) : NULL;
	s->component = sb_strdup(component);
	s->metric = sb_strdup(metric);
	s->unit = unit ? sb_strdup(unit) : NULL;
	s->dims = jv_get_kind(dims) == JV_KIND_OBJECT ? jv_copy(dims) : jv_null();
	s->direction = direction_of(an->set, component, metric, unit);
	s->has_limit = limit_of(an->set, metric, &s->limit);
	sb_window_init(&s->w, an->set->window, an->set->window_s, ts);
	if (an->set->summary)
		summary_for(an, tenant)->series++;
	make_room(an);
	sb_lru_add(&an->series, &s->t);
	return s;
}

/* One point of a series, in input order: anomaly against the window before it, then the windows' checks. */
static void observe(struct analyser *an, struct series *s, const char *tenant, double ts, double v)
{
	note_time(an, tenant, ts);
	check_anomaly(an, s, ts, v);
	sb_window_push(&s->w, ts, v);
	check_degradation(an, s, ts);
	check_trend(an, s, ts);
}

struct metric_fields {
	char *tenant, *component, *metric, *unit;
	double ts, value;
	jv dims;
};

static void free_metric_fields(struct metric_fields *m)
{
	free(m->tenant);
	free(m->component);
	free(m->metric);
	free(m->unit);
	jv_free(m->dims);
}

/* A record's component, else its source, else "unknown": insights always name one. */
static char *component_of(jv rec)
{
	char *c = sb_rec_string(rec, "component");

	if (c && *c)
		return c;
	free(c);
	c = sb_rec_string(rec, "source");
	if (c && *c)
		return c;
	free(c);
	return sb_strdup("unknown");
}

static int read_metric(jv rec, struct sb_input *in, struct metric_fields *m)
{
	memset(m, 0, sizeof *m);
	m->dims = sb_rec_get(rec, "dims");
	m->metric = sb_rec_string(rec, "metric");
	if (!m->metric || !*m->metric)
		sb_input_reject(in, "metric record has no \"metric\" name");
	else if (!sb_rec_number(rec, "value", &m->value))
		sb_input_reject(in, "metric record has no numeric \"value\"");
	else if (!sb_rec_time(rec, "ts", &m->ts))
		sb_input_reject(in, "metric record has no \"ts\" time");
	else if (jv_get_kind(m->dims) != JV_KIND_OBJECT && jv_get_kind(m->dims) != JV_KIND_NULL)
		sb_input_reject(in, "metric record's \"dims\" is not an object");
	else {
		m->tenant = sb_rec_tenant(rec);
		m->component = component_of(rec);
		m->unit = sb_rec_string(rec, "unit");
		return 0;
	}
	free_metric_fields(m);
	return -1;
}

static int analyse_metric(struct analyser *an, jv rec, struct sb_input *in)
{
	struct metric_fields m;
	struct series *s;

	if (read_metric(rec, in, &m) < 0)
		return -1;
	key_begin(an, 'm', m.tenant, m.component, m.metric);
	key_dims(an, m.dims);
	if (!(s = (struct series *)find_tracked(an)))
		s = new_series(an, m.tenant, m.component, m.metric, m.unit, m.dims, m.ts);
	observe(an, s, m.tenant, m.ts, m.value);
	free_metric_fields(&m);
	return 0;
}

/* A plain string member into buf, or "" when absent: 0 when present but not usable as is. */
static int flat_text(const struct sb_flat *f, const char *key, char *buf, size_t size)
{
	const struct sb_json_member *m = sb_flat_get(f, key);

	buf[0] = '\0';
	return !m || sb_flat_string(m, buf, size);
}

/*
 * The tenant of a scanned record by sb_rec_tenant's rules: "tenant", else
 * tenant_id in dims, fields or detail; "" for none. 0 when a member is of
 * a form this path leaves to libjq.
 */
static int flat_tenant(const struct sb_flat *f, char *buf, size_t size)
{
	static const char *const nested[] = {"dims", "fields", "detail"};
	const struct sb_json_member *m = sb_flat_get(f, "tenant");
	struct sb_flat inner;

	if (m)
		return sb_flat_string(m, buf, size) && *buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof nested / sizeof nested[0]; i++) {
		m = sb_flat_get(f, nested[i]);
		if (!m || m->kind != 'o')
			continue;
		if (!sb_flat_scan(m->val, m->vallen, &inner))
			return 0;
		if ((m = sb_flat_get(&inner, "tenant_id")))
			return sb_flat_string(m, buf, size) && *buf;
	}
	return 1;
}

/* component_of for a scanned record. */
static int flat_component(const struct sb_flat *f, char *buf, size_t size)
{
	if (!flat_text(f, "component", buf, size))
		return 0;
	if (!*buf && !flat_text(f, "source", buf, size))
		return 0;
	if (!*buf)
		snprintf(buf, size, "unknown");
	return 1;
}

static int flat_time(const struct sb_flat *f, double *ts)
{
	const struct sb_json_member *m = sb_flat_get(f, "ts");
	char text[64];

	return m && (sb_flat_number(m, ts) || (sb_flat_string(m, text, sizeof text) && sb_time_parse(text, ts) == 0));
}

/*
 * The fast path for metric records (most of the input, usually): read
 * from the raw line, no libjq values. Anything unusual is left to
 * analyse_metric, which is the reference.
 */
static int raw_metric(struct analyser *an, const struct sb_flat *f)
{
	char tenant[256], component[256], metric[256], unit[64];
	const struct sb_json_member *dims_m = sb_flat_get(f, "dims");
	struct sb_flat dims = {.n = 0};
	double ts, value;
	struct series *s;

	if (!flat_text(f, "metric", metric, sizeof metric) || !*metric || !sb_flat_number(sb_flat_get(f, "value"), &value) ||
	    !flat_time(f, &ts) || !flat_tenant(f, tenant, sizeof tenant) || !flat_component(f, component, sizeof component) ||
	    !flat_text(f, "unit", unit, sizeof unit))
		return 0;
	if (dims_m && dims_m->kind != 'z' && (dims_m->kind != 'o' || !sb_flat_scan(dims_m->val, dims_m->vallen, &dims)))
		return 0;
	if (an->common->tenant && strcmp(an->common->tenant, tenant) != 0)
		return 0;
	key_begin(an, 'm', *tenant ? tenant : NULL, component, metric);
	if (!key_flat_dims(an, &dims))
		return 0;
	if (!(s = (struct series *)find_tracked(an))) {
		jv dj = dims.n ? jv_parse_sized(dims_m->val, (int)dims_m->vallen) : jv_null();
		s = new_series(an, *tenant ? tenant : NULL, component, metric, *unit ? unit : NULL, dj, ts);
		jv_free(dj);
	}
	observe(an, s, *tenant ? tenant : NULL, ts, value);
	return 1;
}

/* ---- completion events ---- */

/* A function's last completions: three windows, as for a metric series. */
struct function {
	struct sb_lru_item t;
	char *tenant, *component, *name;
	struct sb_window duration, memory, errors;
	double memory_mb, timeout_ms; /* the latest known; NAN when unknown */
	int slow, heavy, failing;     /* reported and not over yet */
};

static void release_function(void *ctx, struct sb_lru_item *t)
{
	struct function *f = (struct function *)t;

	(void)ctx;
	free(f->tenant);
	free(f->component);
	free(f->name);
	sb_window_free(&f->duration);
	sb_window_free(&f->memory);
	sb_window_free(&f->errors);
	free(f);
}

/* The timeout of a function from the configuration: components.NAME.timeout, a duration or seconds. */
static double configured_timeout_ms(const struct settings *set, const char *component)
{
	double seconds;

	if (jv_get_kind(set->components) != JV_KIND_OBJECT)
		return NAN;
	jv c = sb_rec_get(set->components, component);
	jv t = sb_rec_get(c, "timeout");
	int ok = jv_get_kind(t) == JV_KIND_NUMBER ? (seconds = jv_number_value(t), 1)
		 : jv_get_kind(t) == JV_KIND_STRING ? sb_duration_parse(jv_string_value(t), &seconds) == 0
						    : 0;
	jv_free(t);
	jv_free(c);
	return ok && seconds > 0 ? seconds * 1000 : NAN;
}

static struct function *function_for(struct analyser *an, const char *tenant, const char *component,
				     const char *name, double ts)
{
	struct function *f;

	key_begin(an, 'f', tenant, component, name);
	if ((f = (struct function *)find_tracked(an)))
		return f;
	f = sb_calloc(1, sizeof *f);
	name_item(an, &f->t, release_function);
	f->tenant = tenant ? sb_strdup(tenant) : NULL;
	f->component = sb_strdup(component);
	f->name = sb_strdup(name);
	sb_window_init(&f->duration, an->set->window, an->set->window_s, ts);
	sb_window_init(&f->memory, an->set->window, an->set->window_s, ts);
	sb_window_init(&f->errors, an->set->window, an->set->window_s, ts);
	f->memory_mb = NAN;
	f->timeout_ms = configured_timeout_ms(an->set, component);
	if (isnan(f->timeout_ms))
		f->timeout_ms = configured_timeout_ms(an->set, name);
	make_room(an);
	sb_lru_add(&an->series, &f->t);
	return f;
}

static void emit_completion(struct analyser *an, struct function *f, const struct sb_window *w, const char *check,
			    int sev, double ts, char *text, jv ev)
{
	ev = jv_object_set(ev, jv_string("function"), jv_string(f->name));
	ev = jv_object_set(ev, jv_string("check"), jv_string(check));
	ev = jv_object_set(ev, jv_string("window_start"), time_jv(sb_window_at(w, w->nbase)->ts));
	ev = jv_object_set(ev, jv_string("window_end"), time_jv(ts));
	ev = jv_object_set(ev, jv_string("current_count"), jv_number((double)sb_window_recent(w)));
	struct insight i = {K_COMPLETION, sev, f->tenant, f->component, check, NULL, jv_null(), ts, text, ev,
			    jv_invalid()};
	emit_insight(an, &i);
}

/* A completion figure that nears its limit: the p95 duration and the timeout, the peak memory and its size. */
struct limit_check {
	const char *metric, *what, *value_key, *limit_key, *unit, *limit_word;
	int p95; /* else the peak */
};

static const struct limit_check slow_check = {"duration_ms", "p95 duration", "p95_ms", "timeout_ms", "ms", " timeout", 1};
static const struct limit_check heavy_check = {"max_memory_used_mb", "peak memory", "peak_mb", "memory_mb", "MB", "", 0};

/* The figure at near% of its limit: one insight; over when it falls below 90% of that. */
static void check_near_limit(struct analyser *an, struct function *f, const struct limit_check *c,
			     struct sb_window *w, double limit, int *reported, double ts)
{
	size_t n;
	double *x, value = -INFINITY, share, near = an->set->near / 100;
	char v[64], l[64];

	if (isnan(limit) || limit <= 0 || sb_window_recent(w) == 0 ||
	    !sb_window_ready(w, sb_window_recent(w), an->set->window_s, ts))
		return;
	x = recent_values(an, w, &n);
	if (c->p95)
		value = sb_quantile_sorted_inplace(x, n, 0.95);
	else
		for (size_t i = 0; i < n; i++)
			value = fmax(value, x[i]);
	share = value / limit;
	if (*reported) {
		*reported = share >= near * 0.9;
		return;
	}
	if (share < near)
		return;
	*reported = 1;
	fmt_num(value, v, sizeof v);
	fmt_num(limit, l, sizeof l);
	jv ev = set_num(set_num(set_num(jv_object(), c->value_key, value), c->limit_key, limit), "share_pct", share * 100);
	emit_completion(an, f, w, c->metric, share >= 0.95 ? SEV_HIGH : SEV_MEDIUM, ts,
			sb_asprintf("%s of %s is %s %s, %.0f%% of its %s %s%s", c->what, f->name, v, c->unit, share * 100, l,
				    c->unit, c->limit_word),
			ev);
}

/*
 * The error ratio of the last window against the window before: a rise of
 * more than sigma binomial standard deviations (with the baseline ratio
 * taken as at least one error a window) and of min-change percent.
 */
static void check_failing(struct analyser *an, struct function *f, double ts)
{
	const struct settings *set = an->set;
	struct sb_window *e = &f->errors;
	double base, cur, sd, n, p0, k;

	if (!sb_window_ready(e, e->nbase, 2 * set->window_s, ts) ||
	    !sb_window_ready(e, sb_window_recent(e), set->window_s, ts))
		return;
	sb_window_baseline_stats(e, &base, &sd);
	sb_window_recent_stats(e, &cur, &sd);
	n = (double)sb_window_recent(e);
	p0 = fmax(base, 1 / n);
	sd = sqrt(p0 * (1 - fmin(p0, 0.999)) / n);
	k = f->failing ? set->sigma / 2 : set->sigma;
	int rising = cur - base > k * sd && cur > base * (1 + (f->failing ? set->min_change / 2 : set->min_change) / 100);
	if (f->failing || !rising) {
		f->failing = rising;
		return;
	}
	f->failing = 1;
	jv ev = set_num(set_num(jv_object(), "error_ratio", cur), "baseline_error_ratio", base);
	ev = set_num(ev, "stddev", sd);
	ev = set_num(ev, "z", (cur - base) / sd);
	ev = set_num(ev, "change_pct", base > 0 ? (cur - base) / base * 100 : NAN);
	ev = jv_object_set(ev, jv_string("baseline_count"), jv_number((double)e->nbase));
	emit_completion(an, f, e, "error_ratio", base > 0 && cur < 2 * base ? SEV_MEDIUM : SEV_HIGH, ts,
			sb_asprintf("error ratio of %s rose from %.1f%% to %.1f%% over the last %.0f invocations", f->name,
				    base * 100, cur * 100, n),
			ev);
}

static int analyse_completion(struct analyser *an, jv rec, struct sb_input *in, double ts)
{
	jv detail = sb_rec_get(rec, "detail");
	char *name = sb_rec_string(detail, "function"), *state = sb_rec_string(rec, "state"), *tenant, *component;
	double v, errors = 0;
	struct function *f;

	if (!name)
		name = sb_rec_string(rec, "name");
	if (!name || !*name) {
		sb_input_reject(in, "completion event has no function name (detail.function or name)");
		free(name);
		free(state);
		jv_free(detail);
		return -1;
	}
	tenant = sb_rec_tenant(rec);
	component = sb_rec_string(rec, "component");
	if (!component || !*component) {
		free(component);
		component = sb_strdup(name);
	}
	f = function_for(an, tenant, component, name, ts);
	note_time(an, tenant, ts);
	if (sb_rec_number(detail, "timeout_ms", &v) && v > 0)
		f->timeout_ms = v;
	if (sb_rec_number(detail, "memory_mb", &v) && v > 0)
		f->memory_mb = v;
	if (sb_rec_number(detail, "duration_ms", &v))
		sb_window_push(&f->duration, ts, v);
	if (sb_rec_number(detail, "max_memory_used_mb", &v))
		sb_window_push(&f->memory, ts, v);
	if (!sb_rec_number(detail, "errors", &errors))
		errors = 0;
	sb_window_push(&f->errors, ts, errors > 0 || (state && strcmp(state, "FAILED") == 0));
	check_near_limit(an, f, &slow_check, &f->duration, f->timeout_ms, &f->slow, ts);
	check_near_limit(an, f, &heavy_check, &f->memory, f->memory_mb, &f->heavy, ts);
	check_failing(an, f, ts);
	free(name);
	free(state);
	free(tenant);
	free(component);
	jv_free(detail);
	return 0;
}

/* ---- alarm events ---- */

/* The first string among detail's usual names for the alarm's metric and reason. */
static char *detail_string(jv detail, const char *const keys[])
{
	for (int i = 0; keys[i]; i++) {
		char *v = sb_rec_string(detail, keys[i]);
		if (v && *v)
			return v;
		free(v);
	}
	return NULL;
}

static void analyse_alarm(struct analyser *an, jv rec, double ts)
{
	static const char *const metric_keys[] = {"metric", "metric_name", "MetricName", "metricName", NULL};
	static const char *const reason_keys[] = {"reason", "NewStateReason", "description", "summary", NULL};
	jv detail = sb_rec_get(rec, "detail");
	char *name = sb_rec_string(rec, "name"), *tenant = sb_rec_tenant(rec), *component = component_of(rec);
	char *metric = detail_string(detail, metric_keys), *reason = detail_string(detail, reason_keys);
	jv ev = jv_object_set(jv_object(), jv_string("alarm"), jv_string(name ? name : "unnamed"));
	jv extra = jv_object_set(jv_object(), jv_string("emergency"), jv_true());
	char *prev = sb_rec_string(rec, "previous");

	note_time(an, tenant, ts);
	ev = jv_object_set(ev, jv_string("state"), jv_string("ALARM"));
	if (prev)
		ev = jv_object_set(ev, jv_string("previous"), jv_string(prev));
	if (reason)
		ev = jv_object_set(ev, jv_string("reason"), jv_string(reason));
	ev = jv_object_set(ev, jv_string("event"), sb_rec_get(rec, "id"));
	extra = jv_object_set(extra, jv_string("alarm"), jv_string(name ? name : "unnamed"));
	char *text = reason ? sb_asprintf("alarm %s is in ALARM for %s: %s", name ? name : "unnamed", component, reason)
			    : sb_asprintf("alarm %s is in ALARM for %s", name ? name : "unnamed", component);
	struct insight i = {K_ALARM, SEV_CRITICAL, tenant, component, metric, NULL, jv_null(), ts, text, ev, extra};
	emit_insight(an, &i);
	free(name);
	free(tenant);
	free(component);
	free(metric);
	free(reason);
	free(prev);
	jv_free(detail);
}

/* ---- log records: templates ---- */

/* What is known of one template in one tenant and component. */
struct tstat {
	struct tstat *next; /* the same template elsewhere */
	struct sb_drain_cluster *cluster;
	char *tenant, *component, *frame;
	char *examples[3];
	int nexamples, level;
	long count;
	double first, last;
	uint32_t buckets[NBUCKETS]; /* messages per five minutes, the newest at bucket_last */
	long bucket_last;
	size_t index;               /* in analyser.tstats */
};

static void free_tstat(struct tstat *t)
{
	free(t->tenant);
	free(t->component);
	free(t->frame);
	for (int i = 0; i < t->nexamples; i++)
		free(t->examples[i]);
	free(t);
}

static void forget_tstat(struct analyser *an, struct tstat *t)
{
	struct tstat *last = an->tstats[--an->ntstats];

	an->tstats[t->index] = last;
	last->index = t->index;
	free_tstat(t);
}

/* The clustering forgets a template (--max-templates): so do we, keeping its final text for --templates. */
static void on_evict(void *ctx, struct sb_drain_cluster *c)
{
	struct analyser *an = ctx;
	unsigned long seq = sb_drain_cluster_seq(c);
	struct tstat *t = *sb_drain_user(c), *next;

	if (!an->warned_templates++)
		sb_warn("more than %ld log templates: forgetting the least recently seen (--max-templates)",
			an->set->max_templates);
	for (; t; t = next) {
		next = t->next;
		forget_tstat(an, t);
	}
	*sb_drain_user(c) = NULL;
	if (an->spool && seq < an->nlive) {
		an->live[seq] = NULL;
		an->retired[seq] = sb_strdup(sb_drain_template(c));
	}
}

static int same_place(const struct tstat *t, const char *tenant, const char *component)
{
	return strcmp(t->component, component) == 0 && (t->tenant ? tenant && strcmp(t->tenant, tenant) == 0 : !tenant);
}

static struct tstat *tstat_for(struct analyser *an, struct sb_drain_cluster *c, const char *tenant,
			       const char *component, double ts)
{
	struct tstat **head = (struct tstat **)sb_drain_user(c), *t;

	for (t = *head; t; t = t->next)
		if (same_place(t, tenant, component))
			return t;
	t = sb_calloc(1, sizeof *t);
	t->cluster = c;
	t->tenant = tenant ? sb_strdup(tenant) : NULL;
	t->component = sb_strdup(component);
	t->first = ts;
	t->bucket_last = (long)floor(ts / BUCKET_SECONDS);
	t->next = *head;
	*head = t;
	if (an->ntstats == an->captstats)
		an->tstats = sb_realloc(an->tstats, (an->captstats = an->captstats ? 2 * an->captstats : 256) *
							    sizeof *an->tstats);
	t->index = an->ntstats;
	an->tstats[an->ntstats++] = t;
	if (an->set->summary)
		summary_for(an, tenant)->templates++;
	return t;
}

static size_t bucket_slot(long b)
{
	return (size_t)(((b % NBUCKETS) + NBUCKETS) % NBUCKETS);
}

static void count_in_bucket(struct tstat *t, double ts)
{
	long b = (long)floor(ts / BUCKET_SECONDS);

	if (b > t->bucket_last) {
		for (long i = t->bucket_last + 1; i <= b && i <= t->bucket_last + NBUCKETS; i++)
			t->buckets[bucket_slot(i)] = 0;
		t->bucket_last = b;
	}
	if (b > t->bucket_last - NBUCKETS)
		t->buckets[bucket_slot(b)]++;
}

static void keep_example(struct tstat *t, const char *message)
{
	size_t n = strlen(message);

	if (t->nexamples == 3)
		return;
	for (int i = 0; i < t->nexamples; i++)
		if (strcmp(t->examples[i], message) == 0)
			return;
	/* An example is for reading: a megabyte message is cut, at a character boundary. */
	if (n > 1000) {
		n = 1000;
		while (n > 0 && ((unsigned char)message[n] & 0xC0) == 0x80)
			n--;
	}
	t->examples[t->nexamples++] = sb_strndup(message, n);
}

static void note_log(struct tstat *t, const char *message, const char *stack, int level, double ts)
{
	t->count++;
	t->first = fmin(t->first, ts);
	t->last = t->count == 1 ? ts : fmax(t->last, ts);
	if (level > t->level)
		t->level = level;
	count_in_bucket(t, ts);
	keep_example(t, message);
	const char *trace = stack ? stack : strchr(message, '\n') ? message : NULL;
	if (trace) {
		char *frame = sb_stack_top_frame(trace, strlen(trace));
		if (frame) {
			free(t->frame);
			t->frame = frame;
		}
	}
}

/* Fold what from knows into into (same template, tenant and component). */
static void fold_tstat(struct tstat *into, struct tstat *from)
{
	long newest = into->bucket_last > from->bucket_last ? into->bucket_last : from->bucket_last;
	uint32_t sums[NBUCKETS] = {0};

	for (long b = newest; b > newest - NBUCKETS; b--) {
		if (b <= into->bucket_last && b > into->bucket_last - NBUCKETS)
			sums[bucket_slot(b)] += into->buckets[bucket_slot(b)];
		if (b <= from->bucket_last && b > from->bucket_last - NBUCKETS)
			sums[bucket_slot(b)] += from->buckets[bucket_slot(b)];
	}
	memcpy(into->buckets, sums, sizeof sums);
	into->bucket_last = newest;
	into->count += from->count;
	into->first = fmin(into->first, from->first);
	into->last = fmax(into->last, from->last);
	into->level = into->level > from->level ? into->level : from->level;
	for (int i = 0; i < from->nexamples; i++)
		keep_example(into, from->examples[i]);
	if (!into->frame && from->frame) {
		into->frame = from->frame;
		from->frame = NULL;
	}
}

/* The clustering found two templates to be one: so are their counts. */
static void on_merge(void *ctx, struct sb_drain_cluster *into, struct sb_drain_cluster *from)
{
	struct analyser *an = ctx;
	struct tstat **head = (struct tstat **)sb_drain_user(into), *t, *next, *same;
	unsigned long from_seq = sb_drain_cluster_seq(from);

	for (t = *sb_drain_user(from); t; t = next) {
		next = t->next;
		for (same = *head; same && !same_place(same, t->tenant, t->component); same = same->next)
			;
		if (same) {
			if (an->set->summary)
				summary_for(an, t->tenant)->templates--;
			fold_tstat(same, t);
			forget_tstat(an, t);
		} else {
			t->cluster = into;
			t->next = *head;
			*head = t;
		}
	}
	*sb_drain_user(from) = NULL;
	if (an->spool && from_seq < an->nlive) {
		an->live[from_seq] = NULL;
		an->merged_into[from_seq] = sb_drain_cluster_seq(into);
	}
}


/* --templates: hold a line back until the templates are final. mark: 'r' as it is, 'a' append, 'j' re-encode. */
static void spool(struct analyser *an, char mark, unsigned long seq, const char *line, size_t len)
{
	if (fprintf(an->spool, "%c%lu\t", mark, seq) < 0 || fwrite(line, 1, len, an->spool) != len ||
	    putc('\n', an->spool) == EOF)
		sb_die(SB_EXIT_IO, "cannot hold records back in a temporary file: %s", strerror(errno));
}

static void spool_forward(void *ctx, const char *line, size_t len)
{
	struct analyser *an = ctx;

	if (an->spool)
		spool(an, 'r', 0, line, len);
	else
		sb_output_raw(line, len);
}

static void remember_cluster(struct analyser *an, struct sb_drain_cluster *c)
{
	unsigned long seq = sb_drain_cluster_seq(c);

	if (seq >= an->nlive) {
		size_t n = an->nlive ? an->nlive : 1024;
		while (n <= seq)
			n *= 2;
		an->live = sb_realloc(an->live, n * sizeof *an->live);
		an->retired = sb_realloc(an->retired, n * sizeof *an->retired);
		an->merged_into = sb_realloc(an->merged_into, n * sizeof *an->merged_into);
		memset(an->live + an->nlive, 0, (n - an->nlive) * sizeof *an->live);
		memset(an->retired + an->nlive, 0, (n - an->nlive) * sizeof *an->retired);
		memset(an->merged_into + an->nlive, 0, (n - an->nlive) * sizeof *an->merged_into);
		an->nlive = n;
	}
	an->live[seq] = c;
}

/* A level's index: DEBUG..FATAL with their aliases; INFO when absent or unknown. */
static int level_index(const char *name)
{
	const char *l = name ? sb_log_level(name) : NULL;

	for (int i = 0; l && levels[i]; i++)
		if (strcmp(levels[i], l) == 0)
			return i;
	return LVL_INFO;
}

/* What a log record says, borrowed from wherever it was read. */
struct log_fields {
	const char *message, *stack, *tenant, *component;
	int level, has_template;
	double ts;
};

static void observe_log(struct analyser *an, const struct log_fields *l, struct sb_input *in)
{
	struct sb_drain_cluster *c;

	if (l->level < an->set->min_level) {
		if (an->spool)
			spool(an, 'r', 0, in->line, in->len);
		return;
	}
	/* The first line is the event; what follows is a trace or a dump. */
	c = sb_drain_add(an->drain, l->message, strcspn(l->message, "\r\n"));
	if (!an->has_logs || l->ts < an->log_first)
		an->log_first = l->ts;
	if (!an->has_logs || l->ts > an->log_last)
		an->log_last = l->ts;
	an->has_logs = 1;
	note_time(an, l->tenant, l->ts);
	note_log(tstat_for(an, c, l->tenant, l->component, l->ts), l->message, l->stack, l->level, l->ts);
	if (an->spool) {
		/* A record that already has the fields is re-encoded rather than given them twice. */
		remember_cluster(an, c);
		spool(an, l->has_template ? 'j' : 'a', sb_drain_cluster_seq(c), in->line, in->len);
	}
}

static int analyse_log(struct analyser *an, jv rec, struct sb_input *in)
{
	char *message = sb_rec_string(rec, "message"), *level = sb_rec_string(rec, "level");
	struct log_fields l = {.message = message, .level = level_index(level)};

	free(level);
	if (!message) {
		sb_input_reject(in, "log record has no \"message\" string");
		return -1;
	}
	if (!sb_rec_time(rec, "ts", &l.ts)) {
		sb_input_reject(in, "log record has no \"ts\" time");
		free(message);
		return -1;
	}
	char *stack = sb_rec_string(rec, "stack"), *tenant = sb_rec_tenant(rec), *component = component_of(rec);
	l.stack = stack;
	l.tenant = tenant;
	l.component = component;
	l.has_template = jv_object_has(jv_copy(rec), jv_string("template")) ||
			 jv_object_has(jv_copy(rec), jv_string("template_id"));
	observe_log(an, &l, in);
	free(message);
	free(stack);
	free(tenant);
	free(component);
	return 0;
}

/* ---- log templates at the end of input ---- */

/* The last hour of the input, in five-minute buckets, and the time before it. */
struct log_period {
	long last_bucket;
	double recent_start, recent_hours, baseline_hours;
	int has_baseline;
};

static struct log_period log_period(const struct analyser *an)
{
	struct log_period p;

	p.last_bucket = (long)floor(an->log_last / BUCKET_SECONDS);
	p.recent_start = (double)(p.last_bucket - NBUCKETS + 1) * BUCKET_SECONDS;
	p.recent_hours = fmax(an->log_last - p.recent_start, BUCKET_SECONDS) / 3600;
	p.baseline_hours = (p.recent_start - an->log_first) / 3600;
	p.has_baseline = p.baseline_hours >= 1;
	return p;
}

static long recent_messages(const struct tstat *t, const struct log_period *p)
{
	long n = 0;

	for (long b = t->bucket_last; b > t->bucket_last - NBUCKETS; b--)
		if (b <= p->last_bucket && b > p->last_bucket - NBUCKETS)
			n += t->buckets[bucket_slot(b)];
	return n;
}

static int pattern_severity(const struct tstat *t, long min_count)
{
	if (t->level >= LVL_FATAL)
		return SEV_CRITICAL;
	if (t->level == LVL_ERROR)
		return t->count >= 10 * min_count ? SEV_HIGH : SEV_MEDIUM;
	return SEV_LOW;
}

static void emit_pattern(struct analyser *an, struct tstat *t, const struct log_period *p, int is_new,
			 long recent, double baseline_rate)
{
	const char *tmpl = sb_drain_template(t->cluster);
	char id[SB_ID_LEN + 1], since[32];
	double span = fmax(an->log_last - an->log_first, 60) / 3600, rate = (double)t->count / span;
	jv ev = jv_object(), examples = jv_array();

	sb_content_id(id, tmpl, NULL);
	for (int i = 0; i < t->nexamples; i++)
		examples = jv_array_append(examples, jv_string(t->examples[i]));
	fmt_clock(t->first, t->last, since, sizeof since);
	ev = jv_object_set(ev, jv_string("template"), jv_string(tmpl));
	ev = jv_object_set(ev, jv_string("template_id"), jv_string(id));
	ev = jv_object_set(ev, jv_string("level"), jv_string(levels[t->level]));
	ev = jv_object_set(ev, jv_string("count"), jv_number((double)t->count));
	ev = set_num(ev, "rate_per_hour", rate);
	ev = jv_object_set(ev, jv_string("first_seen"), time_jv(t->first));
	ev = jv_object_set(ev, jv_string("last_seen"), time_jv(t->last));
	ev = jv_object_set(ev, jv_string("examples"), examples);
	ev = jv_object_set(ev, jv_string("stack_frame"), t->frame ? jv_string(t->frame) : jv_null());
	ev = jv_object_set(ev, jv_string("new"), jv_bool(is_new));
	ev = jv_object_set(ev, jv_string("current_count"), jv_number((double)recent));
	ev = set_num(ev, "current_rate", (double)recent / p->recent_hours);
	ev = p->has_baseline ? set_num(ev, "baseline_rate", baseline_rate)
			     : jv_object_set(ev, jv_string("baseline_rate"), jv_null());
	ev = jv_object_set(ev, jv_string("window_start"), time_jv(p->recent_start));
	ev = jv_object_set(ev, jv_string("window_end"), time_jv(an->log_last));
	char *text;
	if (is_new || !p->has_baseline)
		text = sb_asprintf("%s%s messages in %s: \"%.120s%s\" seen %ld times since %s", is_new ? "new " : "",
				   levels[t->level], t->component, tmpl, strlen(tmpl) > 120 ? "..." : "", t->count, since);
	else
		text = sb_asprintf("%s messages in %s: \"%.120s%s\" rose to %ld in the last hour from %.3g an hour before",
				   levels[t->level], t->component, tmpl, strlen(tmpl) > 120 ? "..." : "", recent,
				   baseline_rate);
	struct insight i = {K_PATTERN, pattern_severity(t, an->set->min_count), t->tenant, t->component, NULL, tmpl,
			    jv_null(), t->first, text, ev,
			    jv_object_set(jv_object(), jv_string("frequency"), jv_number(round4(rate)))};
	emit_insight(an, &i);
}

/*
 * A template is worth an insight when it is new in the last hour of the
 * input (anything reaching --min-count, when there is no earlier hour to
 * compare with), or when its last hour exceeds its own hourly rate before
 * by sigma Poisson standard deviations and by min-change percent.
 */
static void judge_template(struct analyser *an, struct tstat *t, const struct log_period *p)
{
	const struct settings *set = an->set;
	long recent = recent_messages(t, p);
	int is_new = p->has_baseline && t->first >= p->recent_start;
	double rate0 = p->has_baseline ? (double)(t->count - recent) / p->baseline_hours : NAN;

	if ((is_new || !p->has_baseline) && t->count >= set->min_count) {
		emit_pattern(an, t, p, is_new, recent, rate0);
		return;
	}
	if (!p->has_baseline || is_new || recent < set->min_count)
		return;
	double expected = rate0 * p->recent_hours;
	if (recent > expected + set->sigma * sqrt(fmax(expected, 1)) && recent > expected * (1 + set->min_change / 100))
		emit_pattern(an, t, p, 0, recent, rate0);
}

static int by_first_seen(const void *a, const void *b)
{
	const struct tstat *x = *(struct tstat *const *)a, *y = *(struct tstat *const *)b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

static void judge_templates(struct analyser *an)
{
	struct log_period p;

	if (!an->has_logs || an->set->templates)
		return;
	p = log_period(an);
	/* In the order templates appeared, so the output does not depend on hashing. */
	if (an->ntstats)
		qsort(an->tstats, an->ntstats, sizeof *an->tstats, by_first_seen);
	for (size_t i = 0; i < an->ntstats; i++)
		an->tstats[i]->index = i;
	for (size_t i = 0; i < an->ntstats; i++)
		judge_template(an, an->tstats[i], &p);
}

/* ---- --templates output ---- */

/* ,"template":"...","template_id":"..."} for each cluster seen, made once. */
static char *template_suffix(const char *tmpl)
{
	char id[SB_ID_LEN + 1];
	jv quoted = jv_dump_string(jv_string(tmpl), 0);
	char *s;

	sb_content_id(id, tmpl, NULL);
	s = sb_asprintf(",\"template\":%s,\"template_id\":\"%s\"}", jv_string_value(quoted), id);
	jv_free(quoted);
	return s;
}

static const char *final_template(struct analyser *an, unsigned long seq)
{
	while (seq < an->nlive && an->merged_into[seq])
		seq = an->merged_into[seq];
	if (seq < an->nlive && an->live[seq])
		return sb_drain_template(an->live[seq]);
	return seq < an->nlive && an->retired[seq] ? an->retired[seq] : "";
}

static void write_annotated(struct analyser *an, char mark, unsigned long seq, char *line, size_t len,
			    char **suffixes)
{
	if (mark == 'r') {
		sb_output_raw(line, len);
		return;
	}
	if (mark == 'j') {
		jv rec = jv_parse_sized(line, (int)len);
		const char *tmpl = final_template(an, seq);
		char id[SB_ID_LEN + 1];
		sb_content_id(id, tmpl, NULL);
		rec = jv_object_set(rec, jv_string("template"), jv_string(tmpl));
		sb_output_record(jv_object_set(rec, jv_string("template_id"), jv_string(id)));
		return;
	}
	if (!suffixes[seq])
		suffixes[seq] = template_suffix(final_template(an, seq));
	/* The record is an object: its closing brace is the last non-blank byte. */
	while (len > 0 && line[len - 1] != '}')
		len--;
	size_t slen = strlen(suffixes[seq]);
	char *out = sb_malloc(len + slen);
	memcpy(out, line, len - 1);
	memcpy(out + len - 1, suffixes[seq], slen);
	sb_output_raw(out, len - 1 + slen);
	free(out);
}

static void write_spooled(struct analyser *an)
{
	char *line = NULL, *tab, **suffixes;
	size_t cap = 0;
	ssize_t n;

	if (!an->spool)
		return;
	suffixes = sb_calloc(an->nlive ? an->nlive : 1, sizeof *suffixes);
	if (fflush(an->spool) == EOF || fseek(an->spool, 0, SEEK_SET) < 0)
		sb_die(SB_EXIT_IO, "cannot read back held records: %s", strerror(errno));
	while ((n = getline(&line, &cap, an->spool)) > 0) {
		unsigned long seq = strtoul(line + 1, &tab, 10);
		size_t skip = (size_t)(tab - line) + 1;
		write_annotated(an, line[0], seq, line + skip, (size_t)n - skip - 1, suffixes);
	}
	if (ferror(an->spool))
		sb_die(SB_EXIT_IO, "cannot read back held records: %s", strerror(errno));
	for (size_t i = 0; i < an->nlive; i++)
		free(suffixes[i]);
	free(suffixes);
	free(line);
	fclose(an->spool);
	an->spool = NULL;
}

/* ---- --summary ---- */

static jv counts_object(const char *const names[], const long *counts, int n)
{
	jv o = jv_object();

	for (int i = 0; i < n; i++)
		o = jv_object_set(o, jv_string(names[i]), jv_number((double)counts[i]));
	return o;
}

static void write_summaries(struct analyser *an)
{
	if (!an->set->summary)
		return;
	if (an->nsums == 0)
		summary_for(an, an->common->tenant);
	for (size_t i = 0; i < an->nsums; i++) {
		struct summary *s = &an->sums[i];
		jv o = jv_object_set(jv_object(), jv_string("type"), jv_string("summary"));
		if (s->tenant)
			o = jv_object_set(o, jv_string("tenant"), jv_string(s->tenant));
		o = jv_object_set(o, jv_string("from"), s->has_time ? time_jv(s->from) : jv_null());
		o = jv_object_set(o, jv_string("to"), s->has_time ? time_jv(s->to) : jv_null());
		o = jv_object_set(o, jv_string("insights"), jv_number((double)s->insights));
		o = jv_object_set(o, jv_string("records"), jv_number((double)s->records));
		o = jv_object_set(o, jv_string("series"), jv_number((double)s->series));
		o = jv_object_set(o, jv_string("templates"), jv_number((double)s->templates));
		o = jv_object_set(o, jv_string("by_kind"), counts_object(kind_names, s->by_kind, 6));
		o = jv_object_set(o, jv_string("by_severity"), counts_object(severities, s->by_severity, 4));
		sb_output_record(o);
	}
}

/* ---- dispatch ---- */

static int analyse_event(struct analyser *an, jv rec, struct sb_input *in)
{
	char *event = sb_rec_string(rec, "event"), *state = sb_rec_string(rec, "state");
	int completion = event && strcmp(event, "completion") == 0, alarm = event && strcmp(event, "alarm") == 0;
	double ts;
	int rc = 0;

	if (!event)
		rc = (sb_input_reject(in, "event record has no \"event\" kind"), -1);
	else if (!completion && !alarm) {
		if (!an->set->pass) /* deploys and the like are for later stages */
			spool_forward(an, in->line, in->len);
	} else if (!sb_rec_time(rec, "ts", &ts))
		rc = (sb_input_reject(in, "%s event has no \"ts\" time", event), -1);
	else if (completion)
		rc = analyse_completion(an, rec, in, ts);
	else if (state && strcmp(state, "ALARM") == 0)
		analyse_alarm(an, rec, ts);
	free(event);
	free(state);
	return rc;
}

static int analyse_record(void *ctx, jv rec, struct sb_input *in)
{
	struct analyser *an = ctx;
	jv type = sb_rec_get(rec, "type");
	const char *t = jv_string_value(type);
	int rc;

	an->records++;
	if (t[0] == 'm')
		rc = analyse_metric(an, rec, in);
	else if (t[0] == 'l')
		rc = analyse_log(an, rec, in);
	else
		rc = analyse_event(an, rec, in);
	jv_free(type);
	jv_free(rec);
	return rc;
}

/* The fast path for log records with a plain message and no stack: analyse_log is the reference. */
static int raw_log(struct analyser *an, const struct sb_flat *f, struct sb_input *in)
{
	const struct sb_json_member *msg = sb_flat_get(f, "message");
	char level[32], tenant[256], component[256];
	struct log_fields l = {.message = NULL};

	if (!msg || msg->kind != 's' || !msg->plain || sb_flat_get(f, "stack") || sb_flat_get(f, "template") ||
	    sb_flat_get(f, "template_id") || !flat_text(f, "level", level, sizeof level) || !flat_time(f, &l.ts) ||
	    !flat_tenant(f, tenant, sizeof tenant) || !flat_component(f, component, sizeof component))
		return 0;
	if (an->common->tenant && strcmp(an->common->tenant, tenant) != 0)
		return 0;
	if (msg->vallen + 1 > an->msgcap)
		an->msg = sb_realloc(an->msg, an->msgcap = 2 * msg->vallen + 1);
	memcpy(an->msg, msg->val, msg->vallen);
	an->msg[msg->vallen] = '\0';
	l.message = an->msg;
	l.level = level_index(*level ? level : NULL);
	l.tenant = *tenant ? tenant : NULL;
	l.component = component;
	observe_log(an, &l, in);
	return 1;
}

/* Metric and log records straight from the line, when they are plain enough. */
static int analyse_raw(void *ctx, struct sb_input *in)
{
	struct analyser *an = ctx;
	struct sb_flat f;
	char type[16];

	if (!sb_flat_scan(in->line, in->len, &f) || !flat_text(&f, "type", type, sizeof type))
		return 0;
	int took = 0;
	if (strcmp(type, "metric") == 0 && !an->set->templates)
		took = raw_metric(an, &f);
	else if (strcmp(type, "log") == 0)
		took = raw_log(an, &f, in);
	an->records += took;
	return took;
}

static void start_analyser(struct analyser *an, struct settings *set, const struct sb_common *c)
{
	struct sb_drain_params p;

	memset(an, 0, sizeof *an);
	an->set = set;
	an->common = c;
	sb_lru_init(&an->series);
	sb_drain_defaults(&p);
	if (set->similarity >= 0)
		p.similarity = set->similarity;
	p.max_templates = (size_t)set->max_templates;
	an->drain = sb_drain_new(&p);
	sb_drain_on_evict(an->drain, on_evict, an);
	sb_drain_on_merge(an->drain, on_merge, an);
	if (set->templates && !(an->spool = tmpfile()))
		sb_die(SB_EXIT_IO, "cannot create a temporary file to hold records: %s", strerror(errno));
}

/* Every kind from zero, so each series exists from the first run. */
static void count_insights(const struct analyser *an)
{
	char labels[64];

	for (size_t k = 0; k < sizeof an->written / sizeof an->written[0]; k++) {
		snprintf(labels, sizeof labels, "kind=\"%s\"", kind_names[k]);
		sb_selfmetric_add("sb_insights_total", labels, (double)an->written[k],
				  "Insight records sb-analyze wrote, by kind.");
	}
}

/* End of input: runs still open are reported, templates judged, held records written. */
static void finish_analyser(struct analyser *an)
{
	while (an->series.oldest)
		sb_lru_drop(&an->series, an->series.oldest, an);
	judge_templates(an);
	write_spooled(an);
	write_summaries(an);
	count_insights(an);
	if (an->common->verbose)
		sb_warn("%ld records; %ld series forgotten; %zu log templates, %lu forgotten", an->records,
			an->series.evicted, sb_drain_count(an->drain), sb_drain_evicted(an->drain));
}

static void free_analyser(struct analyser *an)
{
	for (size_t i = 0; i < an->ntstats; i++)
		free_tstat(an->tstats[i]);
	free(an->tstats);
	sb_drain_free(an->drain);
	for (size_t i = 0; i < an->nlive; i++)
		free(an->retired[i]);
	free(an->retired);
	free(an->merged_into);
	free(an->live);
	for (size_t i = 0; i < an->nsums; i++)
		free(an->sums[i].tenant);
	free(an->sums);
	free(an->scratch);
	free(an->scratch2);
	free(an->key);
	free(an->msg);
	sb_lru_free(&an->series, an);
}

int main(int argc, char **argv)
{
	static const char *const consumes[] = {"metric", "log", "event", NULL};
	static const char *const logs_only[] = {"log", NULL};
	struct settings set = {.window = 60, .sigma = 3, .min_change = 5, .z = 4, .horizon = 86400, .near = 80,
			       .similarity = -1, .min_level = LVL_WARN, .min_count = 5, .max_series = 100000,
			       .max_templates = 50000};
	const struct sb_tool_spec spec = {
		.name = "sb-analyze",
		.synopsis = "[OPTION]... [FILE]...",
		.purpose = "Find degradations, anomalies, trends, error patterns, troubled functions and alarms in metric, "
			   "log and event records.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct sb_run run;
	struct analyser an;
	int status;

	sb_progname = "sb-analyze";
	set.direction = sb_strmap_new();
	set.limits = jv_object();
	sb_opts_parse(&spec, argc, argv, &common);
	if (set.templates && set.summary)
		sb_usage_error("--templates and --summary exclude each other");
	limits_from_config(&set, common.config);
	set.components = sb_config_get(common.config, "components");

	start_analyser(&an, &set, &common);
	sb_filter_begin(&run, &common);
	sb_filter_loop(&run, &(struct sb_filter){.consumes = set.templates ? logs_only : consumes,
						  .pass = set.pass && !set.templates,
						  .record = analyse_record,
						  .ctx = &an,
						  .forward = spool_forward,
						  .raw = analyse_raw});
	finish_analyser(&an);
	status = sb_filter_end(&run);

	free_analyser(&an);
	jv_free(set.limits);
	jv_free(set.components);
	sb_strmap_free(set.direction);
	sb_opts_free(&common);
	return status;
}
