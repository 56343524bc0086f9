/* sb-stream - read telemetry from a source and write metric, log and event records */
#include "aws.h"
#include "breaker.h"
#include "checkpoint.h"
#include "cloudwatch.h"
#include "dedup.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "input.h"
#include "listen.h"
#include "logformat.h"
#include "opts.h"
#include "output.h"
#include "progress.h"
#include "prometheus.h"
#include "record.h"
#include "selfmetrics.h"
#include "state.h"
#include "timefmt.h"
#include "where.h"

#include <errno.h>
#include <jq.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_FORMAT = 1000, OPT_FORMAT_JQ, OPT_MAP, OPT_TYPE, OPT_SINCE, OPT_UNTIL, OPT_FOLLOW, OPT_CHECKPOINT,
	OPT_DEDUP, OPT_INCLUDE_SYSTEM, OPT_SAMPLE, OPT_SAMPLE_ERRORS, OPT_DRY_RUN, OPT_URL, OPT_QUERY,
	OPT_STEP, OPT_NAME, OPT_TENANT_LABEL, OPT_TIMEOUT, OPT_BEARER, OPT_NAMESPACE, OPT_METRIC, OPT_DIMENSION,
	OPT_STAT, OPT_PERIOD, OPT_GROUP, OPT_GROUP_PREFIX, OPT_FILTER, OPT_INSIGHTS, OPT_PREFIX, OPT_STATE,
	OPT_CACHE_TTL, OPT_ENDPOINT, OPT_BREAKER_FAILURES, OPT_BREAKER_COOLDOWN, OPT_FALLBACK, OPT_RETRIES,
	OPT_ADDR, OPT_TOKEN_FILE,
};

static const struct sb_option options[] = {
	{"format", 0, "FORMAT", "input format: ndjson (default), syslog, combined, json, alertmanager", OPT_FORMAT,
	 NULL, NULL},
	{"format-jq", 0, "PROGRAM", "turn each raw line (a string) into a record with a jq PROGRAM", OPT_FORMAT_JQ,
	 NULL, NULL},
	{"map", 0, "DST=.SRC,...", "rename fields: move .SRC to DST (repeatable)", OPT_MAP, NULL, NULL},
	{"type", 0, "TYPE", "type of input records that have none (metric, log, event)", OPT_TYPE, NULL, NULL},
	{"since", 0, "T", "drop records before T (RFC 3339, epoch, or a duration ago)", OPT_SINCE, NULL, NULL},
	{"until", 0, "T", "drop records at or after T", OPT_UNTIL, NULL, NULL},
	{"follow", 'F', NULL, "keep reading appended lines, across rotation, like tail -F", OPT_FOLLOW, NULL, NULL},
	{"checkpoint", 0, "NAME", "resume from, and record, where each file was read", OPT_CHECKPOINT, NULL, NULL},
	{"dedup", 0, "WINDOW", "drop records seen within WINDOW (default 5m for events)", OPT_DEDUP,
	 "SB_STREAM_DEDUP", "stream.dedup"},
	{"include-system", 0, NULL, "with --tenant, also keep records of no tenant", OPT_INCLUDE_SYSTEM, NULL, NULL},
	{"sample", 0, "RATE", "keep this fraction of log records (0 < RATE <= 1)", OPT_SAMPLE, "SB_STREAM_SAMPLE",
	 "stream.sample"},
	{"sample-errors", 0, NULL, "sample ERROR and FATAL logs too", OPT_SAMPLE_ERRORS, NULL, NULL},
	{"dry-run", 'n', NULL, "write no checkpoint and no de-duplication state", OPT_DRY_RUN, NULL, NULL},
	{"url", 0, "URL", "prometheus: the server's base URL", OPT_URL, "SB_PROMETHEUS_URL", "prometheus.url"},
	{"query", 0, "PROMQL", "prometheus: a range query (repeatable)", OPT_QUERY, NULL, NULL},
	{"step", 0, "DURATION", "prometheus: resolution of the range query (default 15s)", OPT_STEP, NULL, NULL},
	{"name", 0, "NAME", "prometheus: metric name of the records", OPT_NAME, NULL, NULL},
	{"tenant-label", 0, "LABEL", "prometheus: label that names the tenant", OPT_TENANT_LABEL,
	 "SB_PROMETHEUS_TENANT_LABEL", "prometheus.tenant_label"},
	{"timeout", 0, "DURATION", "prometheus: per request (default 30s); CloudWatch: the whole run (5m)",
	 OPT_TIMEOUT, NULL, "stream.timeout"},
	{"bearer-token-file", 0, "FILE", "prometheus: send the token in FILE", OPT_BEARER,
	 "SB_PROMETHEUS_BEARER_TOKEN_FILE", "prometheus.bearer_token_file"},
	{"namespace", 0, "NS", "cloudwatch-metrics: the namespace (AWS/Lambda, ...)", OPT_NAMESPACE, NULL, NULL},
	{"metric", 0, "NAME", "cloudwatch-metrics: a metric (repeatable; default: all, by ListMetrics)", OPT_METRIC,
	 NULL, NULL},
	{"dimension", 0, "K=V", "cloudwatch-metrics: a dimension to match (repeatable)", OPT_DIMENSION, NULL, NULL},
	{"stat", 0, "STAT", "cloudwatch-metrics: statistic, Average (default), Sum, p95, ...", OPT_STAT, NULL, NULL},
	{"period", 0, "DURATION", "cloudwatch-metrics: period of the datapoints (default 60s)", OPT_PERIOD, NULL,
	 NULL},
	{"group", 0, "NAME", "cloudwatch-logs: the log group", OPT_GROUP, NULL, NULL},
	{"group-prefix", 0, "PREFIX", "cloudwatch-logs: every log group whose name starts so", OPT_GROUP_PREFIX,
	 NULL, NULL},
	{"filter", 0, "PATTERN", "cloudwatch-logs: a CloudWatch Logs filter pattern", OPT_FILTER, NULL, NULL},
	{"insights", 0, "QUERY", "cloudwatch-logs: run a Logs Insights QUERY instead", OPT_INSIGHTS, NULL, NULL},
	{"prefix", 0, "PREFIX", "cloudwatch-alarms: alarms whose name starts so", OPT_PREFIX, NULL, NULL},
	{"state", 0, "STATE", "cloudwatch-alarms: only alarms in STATE (OK, ALARM, INSUFFICIENT_DATA)", OPT_STATE,
	 NULL, NULL},
	{"cache-ttl", 0, "DURATION", "cloudwatch-alarms: reuse states fetched this recently (default 60s)",
	 OPT_CACHE_TTL, NULL, "cloudwatch.cache_ttl"},
	{"endpoint", 0, "URL", "CloudWatch: send requests to URL (also AWS_ENDPOINT_URL)", OPT_ENDPOINT,
	 "AWS_ENDPOINT_URL", "cloudwatch.endpoint"},
	{"addr", 0, "HOST:PORT", "listen: address to serve webhooks on (default 127.0.0.1:9099)", OPT_ADDR,
	 "SB_LISTEN_ADDR", "listen.addr"},
	{"token-file", 0, "FILE", "listen: require \"Authorization: Bearer\" with the token in FILE", OPT_TOKEN_FILE,
	 "SB_LISTEN_TOKEN_FILE", "listen.token_file"},
	{"retries", 0, "N", "CloudWatch: retries of a throttled or failed request (default 4)", OPT_RETRIES, NULL,
	 "cloudwatch.retries"},
	{"breaker-failures", 0, "N", "remote sources: open the breaker after N failed runs (default 5)",
	 OPT_BREAKER_FAILURES, NULL, "stream.breaker_failures"},
	{"breaker-cooldown", 0, "DURATION", "remote sources: keep it open this long (default 5m)",
	 OPT_BREAKER_COOLDOWN, NULL, "stream.breaker_cooldown"},
	{"fallback", 0, "FILE...", "remote sources: read these NDJSON files while the breaker is open",
	 OPT_FALLBACK, NULL, NULL},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

/* One --map rename: the value at src moves to dst. */
struct rename {
	jv src, dst; /* paths as arrays of keys */
};

struct settings {
	const char *format, *format_jq, *type, *since, *until, *checkpoint, *dedup;
	const char *url, *name, *tenant_label, *bearer_file;
	const char **queries;
	int nqueries;
	struct rename *maps;
	int nmaps;
	int follow, include_system, sample_errors, dry_run;
	double sample, step, timeout;
	int source_options; /* a prometheus option was given */
	const char *namespace, *stat, *group, *group_prefix, *filter, *insights, *prefix, *state, *endpoint;
	const char *fallback, *addr, *token_file;
	const char **metrics, **dimensions; /* NULL-terminated */
	int nmetrics, ndimensions, timeout_given;
	double period, cache_ttl, breaker_cooldown;
	long breaker_failures, retries;
};

/* Append to a NULL-terminated list. */
static void push_arg(const char ***list, int *n, const char *arg)
{
	*list = sb_realloc(*list, (size_t)(*n + 2) * sizeof **list);
	(*list)[(*n)++] = arg;
	(*list)[*n] = NULL;
}

/* What a run needs while records flow. */
struct stream {
	struct settings *set;
	const struct sb_common *common;
	struct sb_input in;
	sb_where *where;
	jq_state *format_jq;
	sb_dedup *dedup;
	int dedup_all;      /* --dedup given: every type, not only events */
	double since, until;
	int has_since, has_until;
	char *seen_path;
	struct sb_checkpoint cp;
	int has_checkpoint;
	long dropped_dup, dropped_sample, emitted;
	int fallback_mode;  /* records come from --fallback: mark them */
	const char *source; /* file, prometheus, ..., listen */
	long counted;       /* of emitted, those added to the metrics */
	double metrics_at;  /* when the metrics were last written */
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ".a.b" or "a.b" as a path array; NULL on an empty step. */
static int parse_path(const char *text, jv *path)
{
	const char *p = text[0] == '.' ? text + 1 : text;

	*path = jv_array();
	while (*p) {
		size_t n = strcspn(p, ".");
		if (n == 0) {
			jv_free(*path);
			return -1;
		}
		*path = jv_array_append(*path, jv_string_sized(p, (int)n));
		p += n + (p[n] == '.');
	}
	return jv_array_length(jv_copy(*path)) > 0 ? 0 : -1;
}

static int add_maps(struct settings *s, const char *arg)
{
	char *copy = sb_strdup(arg), *save = NULL;

	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		struct rename r;
		if (!eq || (*eq = '\0', parse_path(item, &r.dst) < 0)) {
			free(copy);
			return sb_error("--map: '%s' is not DST=.SRC", arg);
		}
		if (parse_path(eq + 1, &r.src) < 0) {
			jv_free(r.dst);
			free(copy);
			return sb_error("--map: '%s' is not DST=.SRC", arg);
		}
		s->maps = sb_realloc(s->maps, (size_t)(s->nmaps + 1) * sizeof *s->maps);
		s->maps[s->nmaps++] = r;
	}
	free(copy);
	return 0;
}

static int set_option(void *ctx, int id, const char *arg)
{
	static const char *const types[] = {"metric", "log", "event", NULL};
	struct settings *s = ctx;
	double t;

	switch (id) {
	case OPT_FORMAT:
		if (strcmp(arg, "ndjson") != 0 && strcmp(arg, "json") != 0 && !sb_logformat_known(arg))
			return sb_error("--format: '%s' is not ndjson, syslog, combined, json or alertmanager "
					"(see --format-jq)", arg);
		s->format = arg;
		return 0;
	case OPT_FORMAT_JQ: s->format_jq = arg; return 0;
	case OPT_MAP: return add_maps(s, arg);
	case OPT_TYPE:
		if (sb_opt_choice("type", arg, types) < 0)
			return -1;
		s->type = arg;
		return 0;
	case OPT_SINCE:
	case OPT_UNTIL:
		if (sb_time_parse_relative(arg, sb_time_now(), &t) < 0)
			return sb_error("--%s: '%s' is not a time (RFC 3339, epoch seconds, now, or a duration ago)",
					id == OPT_SINCE ? "since" : "until", arg);
		*(id == OPT_SINCE ? &s->since : &s->until) = arg;
		return 0;
	case OPT_FOLLOW: s->follow = 1; return 0;
	case OPT_CHECKPOINT:
		if (!*arg || strchr(arg, '/') || arg[0] == '.')
			return sb_error("--checkpoint: '%s' must be a plain name (no '/', not starting with '.')", arg);
		s->checkpoint = arg;
		return 0;
	case OPT_DEDUP:
		if (strcmp(arg, "0") != 0 && sb_opt_duration("dedup", arg, &t) < 0)
			return -1;
		s->dedup = arg;
		return 0;
	case OPT_INCLUDE_SYSTEM: s->include_system = 1; return 0;
	case OPT_SAMPLE:
		if (sb_opt_double("sample", arg, 0, &s->sample) < 0)
			return -1;
		if (s->sample <= 0 || s->sample > 1)
			return sb_error("--sample: '%s' is not a rate above 0 and at most 1", arg);
		return 0;
	case OPT_SAMPLE_ERRORS: s->sample_errors = 1; return 0;
	case OPT_DRY_RUN:
		s->dry_run = 1;
		sb_selfmetrics_disable();
		return 0;
	case OPT_URL: s->url = arg; return 0;
	case OPT_QUERY:
		s->queries = sb_realloc(s->queries, (size_t)(s->nqueries + 1) * sizeof *s->queries);
		s->queries[s->nqueries++] = arg;
		s->source_options = 1;
		return 0;
	case OPT_STEP: s->source_options = 1; return sb_opt_duration("step", arg, &s->step);
	case OPT_NAME: s->name = arg; s->source_options = 1; return 0;
	case OPT_TENANT_LABEL: s->tenant_label = arg; return 0;
	case OPT_TIMEOUT: s->timeout_given = 1; return sb_opt_duration("timeout", arg, &s->timeout);
	case OPT_NAMESPACE: s->namespace = arg; return 0;
	case OPT_METRIC: push_arg(&s->metrics, &s->nmetrics, arg); return 0;
	case OPT_DIMENSION:
		if (!strchr(arg, '=') || arg[0] == '=')
			return sb_error("--dimension: '%s' is not NAME=VALUE", arg);
		push_arg(&s->dimensions, &s->ndimensions, arg);
		return 0;
	case OPT_STAT: s->stat = arg; return 0;
	case OPT_PERIOD:
		if (sb_opt_duration("period", arg, &s->period) < 0)
			return -1;
		if (s->period != floor(s->period))
			return sb_error("--period: '%s' is not a whole number of seconds", arg);
		return 0;
	case OPT_GROUP: s->group = arg; return 0;
	case OPT_GROUP_PREFIX: s->group_prefix = arg; return 0;
	case OPT_FILTER: s->filter = arg; return 0;
	case OPT_INSIGHTS: s->insights = arg; return 0;
	case OPT_PREFIX: s->prefix = arg; return 0;
	case OPT_STATE: {
		static const char *const states[] = {"OK", "ALARM", "INSUFFICIENT_DATA", NULL};
		if (sb_opt_choice("state", arg, states) < 0)
			return -1;
		s->state = arg;
		return 0;
	}
	case OPT_CACHE_TTL: /* 0 turns the cache off */
		if (sb_duration_parse(arg, &s->cache_ttl) < 0)
			return sb_error("--cache-ttl: '%s' is not a duration like 30s or 5m", arg);
		return 0;
	case OPT_ENDPOINT: s->endpoint = arg; return 0;
	case OPT_BREAKER_FAILURES: return sb_opt_long("breaker-failures", arg, 1, 1000000, &s->breaker_failures);
	case OPT_BREAKER_COOLDOWN: return sb_opt_duration("breaker-cooldown", arg, &s->breaker_cooldown);
	case OPT_FALLBACK: s->fallback = arg; return 0;
	case OPT_RETRIES: return sb_opt_long("retries", arg, 0, 100, &s->retries);
	case OPT_ADDR: s->addr = arg; return 0;
	case OPT_TOKEN_FILE: s->token_file = arg; return 0;
	case OPT_BEARER: s->bearer_file = arg; return 0;
	}
	return -1;
}

/* --map: move each source field to its destination. */
static jv apply_maps(const struct settings *s, jv rec)
{
	for (int i = 0; i < s->nmaps; i++) {
		jv v = jv_getpath(jv_copy(rec), jv_copy(s->maps[i].src));
		if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
			continue;
		}
		rec = jv_delpaths(rec, jv_array_append(jv_array(), jv_copy(s->maps[i].src)));
		rec = jv_setpath(rec, jv_copy(s->maps[i].dst), v);
		if (!jv_is_valid(rec))
			return rec;
	}
	return rec;
}

/*
 * Check a record against the contract and normalise it: ts as RFC 3339
 * UTC, log levels upper-case. *changed tells whether it differs from its
 * input line. Returns the record, or an invalid one with the reason.
 */
static jv normalise(jv rec, int *changed)
{
	char *type = sb_rec_string(rec, "type");
	jv ts = sb_rec_get(rec, "ts");
	char buf[SB_TIME_BUFSZ], reason[128] = "";
	double t;

	if (jv_get_kind(ts) != JV_KIND_NULL) {
		if (!sb_rec_time(rec, "ts", &t))
			snprintf(reason, sizeof reason, "\"ts\" is not an RFC 3339 time or epoch seconds");
		else {
			sb_time_format(t, buf);
			if (jv_get_kind(ts) != JV_KIND_STRING || strcmp(jv_string_value(ts), buf) != 0) {
				rec = jv_object_set(rec, jv_string("ts"), jv_string(buf));
				*changed = 1;
			}
		}
	}
	jv_free(ts);
	if (!*reason && strcmp(type, "metric") == 0) {
		if (!sb_rec_number(rec, "value", &t))
			snprintf(reason, sizeof reason, "metric has no numeric \"value\"");
		else if (!sb_rec_time(rec, "ts", &t))
			snprintf(reason, sizeof reason, "metric has no \"ts\"");
	} else if (!*reason && strcmp(type, "log") == 0) {
		jv raw = sb_rec_get(rec, "level");
		char *level = sb_rec_string(rec, "level");
		const char *norm = level ? sb_log_level(level) : "INFO";
		int wrong_kind = jv_get_kind(raw) != JV_KIND_NULL && jv_get_kind(raw) != JV_KIND_STRING;
		jv_free(raw);
		if (wrong_kind)
			snprintf(reason, sizeof reason, "log \"level\" is not a string");
		else if (!norm)
			snprintf(reason, sizeof reason, "log \"level\" '%.40s' is not DEBUG, INFO, WARN, ERROR or FATAL",
				 level);
		else if (!level || strcmp(level, norm) != 0) {
			rec = jv_object_set(rec, jv_string("level"), jv_string(norm));
			*changed = 1;
		}
		free(level);
	}
	free(type);
	if (*reason) {
		jv_free(rec);
		return jv_invalid_with_msg(jv_string(reason));
	}
	return rec;
}

/* --sample: 1 to keep (and *mark it), 0 to drop. */
static int sampled(struct stream *st, jv rec, const char *text, size_t len, int *mark)
{
	char *type = sb_rec_string(rec, "type");
	int is_log = type && strcmp(type, "log") == 0;

	free(type);
	*mark = 0;
	if (st->set->sample <= 0 || st->set->sample >= 1 || !is_log)
		return 1;
	if (!st->set->sample_errors) {
		char *level = sb_rec_string(rec, "level");
		int error = level && (strcmp(level, "ERROR") == 0 || strcmp(level, "FATAL") == 0);
		free(level);
		if (error)
			return 1;
	}
	*mark = 1;
	/* The top 53 bits as a fraction in [0, 1). */
	return (double)(sb_fnv1a(text, len) >> 11) / 9007199254740992.0 < st->set->sample;
}

/* The de-duplication key: the id, else a hash of the record without ts. */
static char *dedup_key(jv rec)
{
	char *id = sb_rec_string(rec, "id");
	char hex[SB_SHA256_HEX];

	if (id)
		return id;
	jv text = jv_dump_string(jv_object_delete(jv_copy(rec), jv_string("ts")), JV_PRINT_SORTED);
	sb_sha256_hex(jv_string_value(text), strlen(jv_string_value(text)), hex);
	jv_free(text);
	return sb_strdup(hex);
}

static int duplicate(struct stream *st, jv rec)
{
	char *type, *key;
	double t;
	int dup;

	if (!st->dedup)
		return 0;
	type = sb_rec_string(rec, "type");
	int applies = st->dedup_all || (type && strcmp(type, "event") == 0);
	free(type);
	if (!applies)
		return 0;
	if (!sb_rec_time(rec, "ts", &t))
		t = sb_time_now();
	key = dedup_key(rec);
	dup = sb_dedup_check(st->dedup, key, t);
	free(key);
	return dup;
}

static int tenant_kept(const struct stream *st, jv rec)
{
	char *t;
	int keep;

	if (!st->common->tenant)
		return 1;
	t = sb_rec_tenant(rec);
	keep = t ? strcmp(t, st->common->tenant) == 0 : st->set->include_system;
	free(t);
	return keep;
}

static int in_time_range(const struct stream *st, jv rec)
{
	double t;

	if ((!st->has_since && !st->has_until) || !sb_rec_time(rec, "ts", &t))
		return 1;
	return (!st->has_since || t >= st->since) && (!st->has_until || t < st->until);
}

/* --where on an output record; a jq error rejects the line it came from. */
static int where_kept(struct stream *st, jv rec, int from_file)
{
	char err[512];
	int r;

	if (!st->where)
		return 1;
	r = sb_where_test(st->where, rec, err, sizeof err);
	if (r < 0) {
		if (from_file)
			sb_input_reject(&st->in, "--where: %s", err);
		else
			sb_warn("--where: %s", err);
	}
	return r > 0;
}

/*
 * Every record on its way out: filters, de-duplication, sampling, then
 * the record itself, or its input line when nothing in it changed.
 */
static void emit(struct stream *st, jv rec, int changed, int from_file)
{
	int mark;
	const char *text = from_file ? st->in.line : NULL;
	size_t len = from_file ? st->in.len : 0;
	jv dumped = jv_invalid();

	if (st->fallback_mode) {
		rec = jv_object_set(rec, jv_string("fallback"), jv_true());
		changed = 1;
	}
	if (!in_time_range(st, rec) || !tenant_kept(st, rec) || !where_kept(st, rec, from_file))
		goto drop;
	if (duplicate(st, rec)) {
		st->dropped_dup++;
		goto drop;
	}
	if (!text || changed) {
		dumped = jv_dump_string(jv_copy(rec), 0);
		text = jv_string_value(dumped);
		len = strlen(text);
	}
	if (!sampled(st, rec, text, len, &mark)) {
		st->dropped_sample++;
		goto drop;
	}
	if (mark) {
		jv_free(dumped);
		rec = jv_object_set(rec, jv_string("sample_rate"), jv_number(st->set->sample));
		dumped = jv_dump_string(rec, 0);
		sb_output_raw(jv_string_value(dumped), strlen(jv_string_value(dumped)));
		jv_free(dumped);
		st->emitted++;
		return;
	}
	sb_output_raw(text, len);
	st->emitted++;
	jv_free(dumped);
drop:
	jv_free(rec);
}

/* A record from a line: give it a type, rename, check, and emit it. */
/* Reject the current line with the message of an invalid jv, prefixed. */
static void reject_invalid(struct stream *st, jv invalid, const char *prefix)
{
	jv msg = jv_invalid_get_msg(invalid);

	sb_input_reject(&st->in, "%s%s", prefix, jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "invalid");
	jv_free(msg);
}

/* A record from a line: rename, give it a type if it lacks one, check, and emit it. */
static void take_record(struct stream *st, jv rec, int changed, const char *fallback_type)
{
	if (st->set->nmaps) {
		rec = apply_maps(st->set, rec);
		changed = 1;
		if (!jv_is_valid(rec)) {
			reject_invalid(st, rec, "--map: ");
			return;
		}
	}
	jv type = sb_rec_get(rec, "type");
	jv_kind kind = jv_get_kind(type);
	jv_free(type);
	if (kind != JV_KIND_STRING) {
		const char *t = st->set->type ? st->set->type : fallback_type;
		if (kind != JV_KIND_NULL || !t) {
			jv_free(rec);
			sb_input_reject(&st->in, kind != JV_KIND_NULL ? "\"type\" is not a string"
								    : "record has no \"type\" string (see --type)");
			return;
		}
		/* "type" leads, as in every record sb writes. */
		rec = jv_object_merge(jv_object_set(jv_object(), jv_string("type"), jv_string(t)),
				      jv_object_delete(rec, jv_string("type")));
		changed = 1;
	}
	rec = normalise(rec, &changed);
	if (!jv_is_valid(rec)) {
		reject_invalid(st, rec, "");
		return;
	}
	emit(st, rec, changed, 1);
}

/* Run --format-jq on the current line; each object it yields is a record. */
static void take_jq_line(struct stream *st)
{
	jv out;
	int any = 0;

	jq_start(st->format_jq, jv_string_sized(st->in.line, (int)st->in.len), 0);
	while (jv_is_valid(out = jq_next(st->format_jq))) {
		any = 1;
		if (jv_get_kind(out) != JV_KIND_OBJECT) {
			jv_free(out);
			sb_input_reject(&st->in, "--format-jq did not yield an object");
			continue;
		}
		take_record(st, out, 1, "log");
	}
	if (jv_invalid_has_msg(jv_copy(out))) {
		reject_invalid(st, out, "--format-jq: ");
	} else {
		jv_free(out);
		if (!any)
			sb_input_reject(&st->in, "--format-jq yielded nothing");
	}
}

/* --format json: a structured log object, renamed, then read as a log. */
static void take_json_line(struct stream *st)
{
	jv obj = jv_parse_sized(st->in.line, (int)st->in.len);

	if (jv_get_kind(obj) != JV_KIND_OBJECT) {
		jv_free(obj);
		sb_input_reject(&st->in, "not a JSON object");
		return;
	}
	obj = apply_maps(st->set, obj);
	if (!jv_is_valid(obj)) {
		reject_invalid(st, obj, "--map: ");
		return;
	}
	jv rec = sb_log_from_object(obj);
	if (!jv_is_valid(rec)) {
		reject_invalid(st, rec, "");
		return;
	}
	rec = normalise(rec, &(int){1});
	if (!jv_is_valid(rec)) {
		reject_invalid(st, rec, "");
		return;
	}
	emit(st, rec, 1, 1);
}

/* --format syslog, combined, alertmanager. */
static void take_text_line(struct stream *st)
{
	jv recs = sb_logformat_parse(st->set->format, st->in.line, st->in.len, sb_time_now());

	if (!jv_is_valid(recs)) {
		reject_invalid(st, recs, "");
		return;
	}
	jv_array_foreach(recs, i, rec) {
		(void)i;
		take_record(st, rec, 1, "log");
	}
	jv_free(recs);
}

static void take_ndjson_line(struct stream *st)
{
	char message[512];
	jv rec = jv_parse_sized(st->in.line, (int)st->in.len);

	if (!jv_is_valid(rec)) {
		sb_json_error(rec, message, sizeof message);
		sb_input_reject(&st->in, "invalid JSON: %s", message);
		return;
	}
	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		jv_free(rec);
		sb_input_reject(&st->in, "not a JSON object");
		return;
	}
	take_record(st, rec, 0, NULL);
}

/* Records written since the last count; those read from --fallback under source "fallback". */
static void count_records(struct stream *st)
{
	char labels[64];

	snprintf(labels, sizeof labels, "source=\"%s\"", st->fallback_mode ? "fallback" : st->source);
	sb_selfmetric_add("sb_telemetry_records_total", labels, (double)(st->emitted - st->counted),
			  "Telemetry records sb-stream wrote, by source (fallback: read from --fallback files).");
	st->counted = st->emitted;
}

static void write_metrics(struct stream *st)
{
	count_records(st);
	sb_selfmetrics_flush(st->common);
	st->metrics_at = sb_time_now();
}

/* Flush what was written, then record how far that is. */
static void save_state(struct stream *st)
{
	if (fflush(stdout) == EOF)
		return; /* sb_output_finish reports it; never checkpoint unwritten lines */
	if (st->set->dry_run)
		return;
	if (st->has_checkpoint) {
		sb_checkpoint_update(&st->cp, &st->in);
		if (sb_checkpoint_save(&st->cp) < 0)
			sb_die(SB_EXIT_IO, "cannot write checkpoint '%s':", st->cp.path);
	}
	if (st->seen_path && st->dedup && sb_dedup_save(st->dedup, st->seen_path) < 0)
		sb_die(SB_EXIT_IO, "cannot write '%s':", st->seen_path);
	/* A run that follows or listens for days shows its counts once a minute, not only at its end. */
	if (sb_time_now() - st->metrics_at >= 60)
		write_metrics(st);
}

static void on_idle(void *ctx)
{
	save_state(ctx);
}

static void read_files(struct stream *st)
{
	double saved = sb_time_now();

	while (sb_input_next_line(&st->in)) {
		sb_progress_update(st->in.records++, st->emitted);
		if (st->format_jq)
			take_jq_line(st);
		else if (!st->set->format || strcmp(st->set->format, "ndjson") == 0)
			take_ndjson_line(st);
		else if (strcmp(st->set->format, "json") == 0)
			take_json_line(st);
		else
			take_text_line(st);
		/*
		 * A followed stream that never pauses still gets a checkpoint every
		 * second; only here, after the line was written, may it count.
		 */
		if (st->set->follow && (st->in.records & 1023) == 0 && sb_time_now() - saved >= 1) {
			save_state(st);
			saved = sb_time_now();
		}
	}
}

static char *read_token(const char *path)
{
	size_t len;
	char *token = sb_read_file(path, &len);

	if (!token)
		sb_die(SB_EXIT_USAGE, "cannot read bearer token file '%s':", path);
	while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r'))
		token[--len] = '\0';
	return token;
}

/* The window of a remote query: --since and --until, by default the hour before --until (now). */
static void query_window(struct stream *st, double now, double *start, double *end)
{
	*end = st->has_until ? st->until : now;
	*start = st->has_since ? st->since : *end - 3600;
	/* The query window is the time range: do not filter the records again. */
	st->has_since = st->has_until = 0;
}

static void emit_remote(void *ctx, jv rec)
{
	emit(ctx, rec, 1, 0);
}

static int read_prometheus(struct stream *st)
{
	struct settings *s = st->set;
	struct sb_prom_query q = {.url = s->url, .name = s->name, .tenant_label = s->tenant_label,
				  .step = s->step, .timeout = s->timeout};
	double now = sb_time_now();
	long skipped = 0;
	int status = 0;

	if (!s->url || !s->nqueries)
		sb_usage_error("prometheus needs --url and at least one --query");
	query_window(st, now, &q.start, &q.end);
	q.bearer = s->bearer_file ? read_token(s->bearer_file) : NULL;
	for (int i = 0; i < s->nqueries && status == 0; i++) {
		q.query = s->queries[i];
		status = sb_prom_query_range(&q, emit_remote, st, &skipped);
	}
	if (skipped)
		sb_warn("%ld NaN or infinite sample%s skipped", skipped, skipped == 1 ? "" : "s");
	free((char *)q.bearer);
	return status;
}

/* Remote sources keep their own cursor in cursors/NAME.json; only files use the file checkpoint. */
static void set_up_state(struct stream *st, int files)
{
	const struct settings *s = st->set;
	double window = 300;

	if (s->dedup)
		sb_duration_parse(s->dedup, &window);
	st->dedup_all = s->dedup != NULL;
	st->dedup = window > 0 ? sb_dedup_new(window) : NULL; /* --dedup 0: off */
	if (s->checkpoint) {
		char *rel = sb_asprintf("cursors/%s.json", s->checkpoint);
		char *path = sb_state_path(st->common, rel);
		if (files) {
			sb_checkpoint_load(&st->cp, path);
			st->has_checkpoint = 1;
		}
		free(rel);
		free(path);
		rel = sb_asprintf("seen/%s", s->checkpoint);
		st->seen_path = sb_state_path(st->common, rel);
		free(rel);
		if (st->dedup && sb_dedup_load(st->dedup, st->seen_path) < 0)
			sb_die(SB_EXIT_IO, "cannot read '%s':", st->seen_path);
	}
}

static void plan_files(struct stream *st, const struct sb_common *c)
{
	sb_input_init(&st->in, c);
	st->in.follow = st->set->follow;
	st->in.hold_partial = st->has_checkpoint;
	st->in.stop = &stop_requested;
	st->in.idle = on_idle;
	st->in.idle_ctx = st;
	for (int i = 0; i < c->nfiles; i++) {
		if (st->has_checkpoint)
			sb_checkpoint_plan(&st->cp, &st->in, c->files[i]);
		else
			sb_input_add(&st->in, c->files[i], NULL, 0);
	}
	if (c->nfiles == 0)
		sb_input_add(&st->in, NULL, NULL, 0);
}

/* cursors/NAME.json of a remote source holds {"cursor": ...}; null without --checkpoint. */
static char *remote_cursor_path(struct stream *st)
{
	char *rel, *path;

	if (!st->set->checkpoint)
		return NULL;
	rel = sb_asprintf("cursors/%s.json", st->set->checkpoint);
	path = sb_state_path(st->common, rel);
	free(rel);
	return path;
}

static jv load_remote_cursor(struct stream *st)
{
	char *path = remote_cursor_path(st);
	jv doc = path ? sb_state_read(path, "checkpoint") : jv_null();
	jv cursor = sb_rec_get(doc, "cursor");

	free(path);
	jv_free(doc);
	return cursor;
}

static void save_remote_cursor(struct stream *st, jv cursor)
{
	char *path = remote_cursor_path(st);

	if (path && !st->set->dry_run && jv_get_kind(cursor) != JV_KIND_NULL && fflush(stdout) != EOF &&
	    sb_state_write(path, jv_object_set(jv_object(), jv_string("cursor"), jv_copy(cursor))) < 0)
		sb_die(SB_EXIT_IO, "cannot write checkpoint '%s':", path);
	free(path);
	jv_free(cursor);
}

static int fetch_metrics(struct stream *st, struct sb_aws *a, double now)
{
	const struct settings *s = st->set;
	struct sb_cw_metrics q = {.namespace = s->namespace, .metrics = s->metrics, .dimensions = s->dimensions,
				  .stat = s->stat ? s->stat : "Average", .period = s->period > 0 ? s->period : 60};

	if (!s->namespace)
		sb_usage_error("cloudwatch-metrics needs --namespace");
	query_window(st, now, &q.start, &q.end);
	return sb_cw_get_metrics(a, &q, emit_remote, st);
}

static int fetch_logs(struct stream *st, struct sb_aws *a, double now)
{
	const struct settings *s = st->set;
	struct sb_cw_logs q = {.group = s->group, .group_prefix = s->group_prefix, .filter = s->filter,
			       .insights = s->insights, .poll = 1};
	int rc;

	if (!s->group == !s->group_prefix)
		sb_usage_error("cloudwatch-logs needs one of --group and --group-prefix");
	query_window(st, now, &q.start, &q.end);
	q.cursor = s->insights ? jv_null() : load_remote_cursor(st);
	rc = sb_cw_get_logs(a, &q, emit_remote, st);
	if (rc == 0)
		save_remote_cursor(st, jv_copy(q.cursor));
	jv_free(q.cursor);
	return rc;
}

/* cache/NAME.json: alarm states fetched recently, so that frequent runs do not call again. */
static char *alarm_cache_path(struct stream *st, const struct sb_aws *a)
{
	const struct settings *s = st->set;
	char id[SB_ID_LEN + 1], *rel, *path;

	sb_content_id(id, a->region, a->endpoint ? a->endpoint : "", s->prefix ? s->prefix : "",
		      s->state ? s->state : "", NULL);
	rel = sb_asprintf("cache/cloudwatch-alarms-%s.json", id);
	path = sb_state_path(st->common, rel);
	free(rel);
	return path;
}

/* Emit the cached states when fresh; 1 when they were. */
static int alarms_from_cache(struct stream *st, const char *path, double now)
{
	char *text = st->set->cache_ttl > 0 ? sb_read_file(path, NULL) : NULL;
	jv doc = text ? jv_parse(text) : jv_null();
	double fetched;
	int fresh = sb_rec_number(doc, "fetched", &fetched) && now - fetched >= 0 && now - fetched < st->set->cache_ttl;

	free(text);
	if (fresh) {
		jv recs = sb_rec_get(doc, "records");
		if (jv_get_kind(recs) == JV_KIND_ARRAY)
			jv_array_foreach(recs, i, rec) {
				(void)i;
				emit(st, rec, 1, 0);
			}
		jv_free(recs);
	}
	jv_free(doc);
	return fresh;
}

static void collect_record(void *ctx, jv rec)
{
	jv *all = ctx;

	*all = jv_array_append(*all, rec);
}

static int fetch_alarms(struct stream *st, struct sb_aws *a, double now)
{
	const struct settings *s = st->set;
	struct sb_cw_alarms q = {.prefix = s->prefix, .state = s->state, .now = now};
	char *cache = alarm_cache_path(st, a);
	jv states = jv_array();
	int rc = 0;

	if (!alarms_from_cache(st, cache, now)) {
		rc = sb_cw_get_alarms(a, &q, collect_record, &states);
		if (rc == 0 && !s->dry_run && s->cache_ttl > 0) {
			jv doc = jv_object_set(jv_object(), jv_string("fetched"), jv_number(now));
			if (sb_state_write(cache, jv_object_set(doc, jv_string("records"), jv_copy(states))) < 0)
				sb_warn("cannot write cache '%s':", cache);
		}
		jv_array_foreach(states, i, rec) {
			(void)i;
			emit(st, rec, 1, 0);
		}
	}
	jv_free(states);
	free(cache);
	if (rc == 0 && s->checkpoint) { /* transitions since the last run */
		struct sb_cw_alarms h = {.prefix = s->prefix, .now = now, .cursor = load_remote_cursor(st)};
		rc = sb_cw_get_alarms_history(a, &h, emit_remote, st);
		if (rc == 0)
			save_remote_cursor(st, jv_copy(h.cursor));
		jv_free(h.cursor);
	}
	return rc;
}

/* --fallback: NDJSON files ("file" may lead, as a SOURCE would), records marked "fallback". */
static int read_fallback(struct stream *st)
{
	char *copy = sb_strdup(st->set->fallback), *save = NULL;
	int first = 1;

	sb_input_close(&st->in);
	sb_input_init(&st->in, st->common);
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save), first = 0)
		if (!(first && strcmp(w, "file") == 0))
			sb_input_add(&st->in, w, NULL, 0);
	free(copy);
	if (st->in.nfiles == 0)
		sb_usage_error("--fallback names no file");
	st->fallback_mode = 1;
	read_files(st);
	return st->in.io_failed ? SB_EXIT_IO : 0;
}

static int fetch_cloudwatch(struct stream *st, const char *source)
{
	struct sb_aws a;
	double now = sb_time_now();
	int rc;

	sb_aws_init(&a, st->set->endpoint);
	a.deadline = now + (st->set->timeout_given ? st->set->timeout : 300);
	a.max_attempts = (int)st->set->retries + 1;
	if (strcmp(source, "cloudwatch-metrics") == 0)
		rc = fetch_metrics(st, &a, now);
	else if (strcmp(source, "cloudwatch-logs") == 0)
		rc = fetch_logs(st, &a, now);
	else
		rc = fetch_alarms(st, &a, now);
	if (st->common->verbose)
		sb_warn("%s: %ld request%s sent", source, a.requests, a.requests == 1 ? "" : "s");
	sb_aws_free(&a);
	return rc < 0 ? SB_EXIT_REMOTE : 0;
}

/*
 * A remote source behind its circuit breaker (breakers/SOURCE.json): while
 * it is open no request is sent, and --fallback is read instead.
 */
static int read_remote(struct stream *st, const char *source)
{
	struct sb_breaker b;
	char *rel = sb_asprintf("breakers/%s.json", source), *path = sb_state_path(st->common, rel);
	double now = sb_time_now();
	int status;

	sb_breaker_load(&b, path, (int)st->set->breaker_failures, st->set->breaker_cooldown);
	free(rel);
	free(path);
	if (!sb_breaker_allow(&b, now)) {
		char until[SB_TIME_BUFSZ];
		sb_time_format(b.open_until, until);
		if (st->set->fallback) {
			if (!st->common->quiet)
				sb_warn("%s: circuit breaker open until %s: reading --fallback", source, until);
			status = read_fallback(st);
		} else {
			sb_warn("%s: circuit breaker open until %s after %d failed run%s; no request sent", source, until,
				b.failures, b.failures == 1 ? "" : "s");
			status = SB_EXIT_REMOTE;
		}
		sb_breaker_free(&b);
		return status;
	}
	status = strcmp(source, "prometheus") == 0 ? read_prometheus(st) : fetch_cloudwatch(st, source);
	if (!st->set->dry_run && sb_breaker_record(&b, status == 0, sb_time_now()) < 0)
		sb_warn("cannot write breaker '%s':", b.path);
	sb_breaker_free(&b);
	return status;
}

/*
 * listen: each accepted webhook's events go out at once (flushed), through
 * the same filters and de-duplication as any record.
 */
static int webhook_write_errno; /* why the output failed, for the end of the run */

static int emit_webhook_event(void *ctx, jv rec)
{
	static double saved;
	struct stream *st = ctx;

	emit(st, rec, 1, 0);
	if (fflush(stdout) == EOF) {
		/* Not written, so not accepted; the end of the run reports the error. */
		webhook_write_errno = errno ? errno : EIO;
		stop_requested = 1;
		return -1;
	}
	/* The seen set, at most once a second: the end of the run saves it too. */
	if (sb_time_now() - saved >= 1) {
		save_state(st);
		saved = sb_time_now();
	}
	return 0;
}

static int listen_for_webhooks(struct stream *st)
{
	char *token = st->set->token_file ? read_token(st->set->token_file) : NULL;
	struct sb_listen_opts o = {.addr = st->set->addr ? st->set->addr : "127.0.0.1:9099", .token = token,
				   .max_body = 1 << 20, .stop = &stop_requested};
	int status;

	if (token && !*token)
		sb_die(SB_EXIT_USAGE, "token file '%s' is empty", st->set->token_file);
	status = sb_listen_serve(&o, emit_webhook_event, st);
	if (webhook_write_errno == EPIPE) { /* the reader went away: a quiet end, as for every source */
		write_metrics(st);
		_exit(SB_EXIT_OK);
	}
	if (webhook_write_errno) {
		errno = webhook_write_errno;
		sb_die(SB_EXIT_IO, "write error on standard output:");
	}
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return status;
}

/* The first operand names the source when it is one; the rest are files. */
static const char *take_source(struct sb_common *c)
{
	static const char *const sources[] = {"file", "prometheus", "cloudwatch-metrics", "cloudwatch-logs",
					      "cloudwatch-alarms", "listen", NULL};

	for (int i = 0; c->nfiles > 0 && sources[i]; i++)
		if (strcmp(c->files[0], sources[i]) == 0) {
			c->nfiles--;
			return *c->files++;
		}
	return "file";
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal; /* no SA_RESTART: a blocked read returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void report(const struct stream *st)
{
	if (!st->common->verbose)
		return;
	sb_warn("%ld line%s read, %ld record%s written, %ld duplicate%s dropped, %ld dropped by sampling",
		st->in.records, st->in.records == 1 ? "" : "s", st->emitted, st->emitted == 1 ? "" : "s",
		st->dropped_dup, st->dropped_dup == 1 ? "" : "s", st->dropped_sample);
}

static void free_settings(struct settings *s)
{
	for (int i = 0; i < s->nmaps; i++) {
		jv_free(s->maps[i].src);
		jv_free(s->maps[i].dst);
	}
	free(s->maps);
	free(s->queries);
	free(s->metrics);
	free(s->dimensions);
}

int main(int argc, char **argv)
{
	struct settings set = {.step = 15, .timeout = 30, .cache_ttl = 60, .breaker_failures = 5,
			       .breaker_cooldown = 300, .retries = 4};
	const struct sb_tool_spec spec = {
		.name = "sb-stream",
		.synopsis = "[SOURCE] [OPTION]... [FILE]...",
		.purpose = "Read telemetry from a SOURCE (file, the default, prometheus, cloudwatch-metrics,\n"
			   "cloudwatch-logs, cloudwatch-alarms or listen) and write metric, log and event records.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct stream st = {.set = &set, .common = &common};
	const char *source;
	int status = 0;

	sb_progname = "sb-stream";
	sb_opts_parse(&spec, argc, argv, &common);
	source = st.source = take_source(&common);
	st.metrics_at = sb_time_now();
	if (strcmp(source, "file") != 0 && common.nfiles)
		sb_usage_error("%s reads no FILE ('%s')", source, common.files[0]);
	if (strcmp(source, "prometheus") != 0 && set.source_options)
		sb_usage_error("--query, --step and --name apply to the prometheus source");
	if (set.format_jq && set.format)
		sb_usage_error("--format and --format-jq exclude each other");
	if (set.since)
		st.has_since = sb_time_parse_relative(set.since, sb_time_now(), &st.since) == 0;
	if (set.until)
		st.has_until = sb_time_parse_relative(set.until, sb_time_now(), &st.until) == 0;
	if (common.where)
		st.where = sb_where_compile(common.where);
	if (set.format_jq)
		st.format_jq = sb_jq_compile(set.format_jq, "--format-jq");

	install_signals();
	sb_output_init(common.unbuffered || set.follow);
	set_up_state(&st, strcmp(source, "file") == 0);
	plan_files(&st, &common);
	sb_progress_start(!common.quiet);
	if (strcmp(source, "listen") == 0)
		status = listen_for_webhooks(&st);
	else if (strcmp(source, "file") != 0)
		status = read_remote(&st, source);
	else
		read_files(&st);
	sb_progress_done();
	if (status == 0 || status == SB_EXIT_REMOTE)
		save_state(&st);
	report(&st);
	sb_input_close(&st.in);
	write_metrics(&st); /* before stdout's last flush, as sb_filter_end does */
	int out = sb_output_finish();
	if (!status)
		status = out ? out : st.in.io_failed ? SB_EXIT_IO : 0;

	sb_where_free(st.where);
	if (st.format_jq)
		sb_jq_release(st.format_jq);
	sb_dedup_free(st.dedup);
	if (st.has_checkpoint)
		sb_checkpoint_free(&st.cp);
	free(st.seen_path);
	free_settings(&set);
	sb_opts_free(&common);
	return status;
}
