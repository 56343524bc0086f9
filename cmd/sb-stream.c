/* sb-stream - read telemetry from a source and write metric, log and event records */
#include "checkpoint.h"
#include "dedup.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "input.h"
#include "logformat.h"
#include "opts.h"
#include "output.h"
#include "progress.h"
#include "prometheus.h"
#include "record.h"
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
	OPT_STEP, OPT_NAME, OPT_TENANT_LABEL, OPT_TIMEOUT, OPT_BEARER,
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
	{"timeout", 0, "DURATION", "prometheus: time allowed for each request (default 30s)", OPT_TIMEOUT, NULL,
	 "prometheus.timeout"},
	{"bearer-token-file", 0, "FILE", "prometheus: send the token in FILE", OPT_BEARER,
	 "SB_PROMETHEUS_BEARER_TOKEN_FILE", "prometheus.bearer_token_file"},
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
};

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

static int set_duration(const char *name, const char *arg, double *out)
{
	if (sb_duration_parse(arg, out) < 0 || *out <= 0)
		return sb_error("--%s: '%s' is not a duration like 90s, 5m or 1h", name, arg);
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
		if (strcmp(arg, "0") != 0 && set_duration("dedup", arg, &t) < 0)
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
	case OPT_DRY_RUN: s->dry_run = 1; return 0;
	case OPT_URL: s->url = arg; return 0;
	case OPT_QUERY:
		s->queries = sb_realloc(s->queries, (size_t)(s->nqueries + 1) * sizeof *s->queries);
		s->queries[s->nqueries++] = arg;
		s->source_options = 1;
		return 0;
	case OPT_STEP: s->source_options = 1; return set_duration("step", arg, &s->step);
	case OPT_NAME: s->name = arg; s->source_options = 1; return 0;
	case OPT_TENANT_LABEL: s->tenant_label = arg; return 0;
	case OPT_TIMEOUT: return set_duration("timeout", arg, &s->timeout);
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

static void emit_prometheus(void *ctx, jv rec)
{
	emit(ctx, rec, 1, 0);
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
	q.end = st->has_until ? st->until : now;
	q.start = st->has_since ? st->since : q.end - 3600;
	q.bearer = s->bearer_file ? read_token(s->bearer_file) : NULL;
	/* The query window is the time range: do not filter the samples again. */
	st->has_since = st->has_until = 0;
	for (int i = 0; i < s->nqueries && status == 0; i++) {
		q.query = s->queries[i];
		status = sb_prom_query_range(&q, emit_prometheus, st, &skipped);
	}
	if (skipped)
		sb_warn("%ld NaN or infinite sample%s skipped", skipped, skipped == 1 ? "" : "s");
	free((char *)q.bearer);
	return status;
}

static void set_up_state(struct stream *st)
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
		sb_checkpoint_load(&st->cp, path);
		st->has_checkpoint = 1;
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

/* The first operand names the source when it is one; the rest are files. */
static const char *take_source(struct sb_common *c)
{
	if (c->nfiles > 0 && (strcmp(c->files[0], "file") == 0 || strcmp(c->files[0], "prometheus") == 0)) {
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
}

int main(int argc, char **argv)
{
	struct settings set = {.step = 15, .timeout = 30};
	const struct sb_tool_spec spec = {
		.name = "sb-stream",
		.synopsis = "[SOURCE] [OPTION]... [FILE]...",
		.purpose = "Read telemetry from a SOURCE (file, the default, or prometheus) and write\n"
			   "metric, log and event records.",
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
	source = take_source(&common);
	if (strcmp(source, "prometheus") == 0 && common.nfiles)
		sb_usage_error("prometheus reads no FILE ('%s')", common.files[0]);
	if (strcmp(source, "file") == 0 && set.source_options)
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
	set_up_state(&st);
	plan_files(&st, &common);
	sb_progress_start(!common.quiet);
	if (strcmp(source, "prometheus") == 0)
		status = read_prometheus(&st);
	else
		read_files(&st);
	sb_progress_done();
	if (status == 0 || status == SB_EXIT_REMOTE)
		save_state(&st);
	report(&st);
	sb_input_close(&st.in);
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
