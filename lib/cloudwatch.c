/* cloudwatch.c - CloudWatch metrics, Logs and alarms as sb records */
#include "cloudwatch.h"
#include "err.h"
#include "hash.h"
#include "logformat.h"
#include "record.h"
#include "timefmt.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define METRICS_TARGET "GraniteServiceVersion20100801."
#define LOGS_TARGET "Logs_20140328."
#define MAX_QUERIES 500 /* GetMetricData's limit per request */

/* The value at key as a string jv, or null. */
static jv str_or_null(jv obj, const char *key)
{
	jv v = sb_rec_get(obj, key);

	if (jv_get_kind(v) == JV_KIND_STRING)
		return v;
	jv_free(v);
	return jv_null();
}

static jv set_if(jv obj, const char *key, jv value)
{
	if (jv_get_kind(value) == JV_KIND_NULL || !jv_is_valid(value)) {
		jv_free(value);
		return obj;
	}
	return jv_object_set(obj, jv_string(key), value);
}

static jv ts_string(double epoch)
{
	char buf[SB_TIME_BUFSZ];

	return jv_string(sb_time_format(epoch, buf));
}

/* A content id: 16 hex digits of SHA-256 over the fields, NUL-separated. */
static jv id_of(const char *a, const char *b, const char *c)
{
	char id[SB_ID_LEN + 1];

	sb_content_id(id, a ? a : "", b ? b : "", c ? c : "", NULL);
	return jv_string(id);
}

/* Call target, following the page token (named token) until the answer has none. */
typedef int (*page_fn)(void *ctx, jv page);

static int paginate(struct sb_aws *a, const char *service, const char *target, const char *version,
		    jv request, const char *token, page_fn each, void *ctx)
{
	jv next = jv_null();

	for (;;) {
		jv req = jv_copy(request);
		jv answer;
		if (jv_get_kind(next) == JV_KIND_STRING)
			req = jv_object_set(req, jv_string(token), jv_copy(next));
		if (sb_aws_call(a, service, target, version, req, &answer) < 0) {
			jv_free(next);
			jv_free(request);
			return -1;
		}
		jv_free(next);
		next = str_or_null(answer, token);
		/* A page may be partial or empty while more remain: only a missing token ends it. */
		int rc = each(ctx, answer);
		if (rc < 0 || jv_get_kind(next) != JV_KIND_STRING) {
			jv_free(next);
			jv_free(request);
			return rc;
		}
	}
}

/* ---- metrics ---- */

struct metric_meta {
	jv metas;      /* index -> {"name", "dims"} */
	const char *stat;
	sb_cw_emit emit;
	void *ctx;
};

static jv dimension_filters(const char *const *dimensions)
{
	jv a = jv_array();

	for (const char *const *d = dimensions; d && *d; d++) {
		const char *eq = strchr(*d, '=');
		jv f = jv_object_set(jv_object(), jv_string("Name"),
				     eq ? jv_string_sized(*d, (int)(eq - *d)) : jv_string(*d));
		if (eq)
			f = jv_object_set(f, jv_string("Value"), jv_string(eq + 1));
		a = jv_array_append(a, f);
	}
	return a;
}

static int collect_metrics(void *ctx, jv page)
{
	jv *found = ctx;
	jv metrics = sb_rec_get(page, "Metrics");

	if (jv_get_kind(metrics) == JV_KIND_ARRAY)
		jv_array_foreach(metrics, i, m) {
			(void)i;
			*found = jv_array_append(*found, m);
		}
	jv_free(metrics);
	jv_free(page);
	return 0;
}

/* The metrics to query: the named ones with the given dimensions, else ListMetrics' answer. */
static int metrics_to_query(struct sb_aws *a, const struct sb_cw_metrics *q, jv *out)
{
	jv dims = dimension_filters(q->dimensions);

	*out = jv_array();
	if (q->metrics && q->metrics[0]) {
		for (const char *const *m = q->metrics; *m; m++) {
			jv metric = jv_object_set(jv_object(), jv_string("Namespace"), jv_string(q->namespace));
			metric = jv_object_set(metric, jv_string("MetricName"), jv_string(*m));
			metric = jv_object_set(metric, jv_string("Dimensions"), jv_copy(dims));
			*out = jv_array_append(*out, metric);
		}
		jv_free(dims);
		return 0;
	}
	jv req = jv_object_set(jv_object(), jv_string("Namespace"), jv_string(q->namespace));
	if (jv_array_length(jv_copy(dims)) > 0)
		req = jv_object_set(req, jv_string("Dimensions"), dims);
	else
		jv_free(dims);
	return paginate(a, "monitoring", METRICS_TARGET "ListMetrics", "1.0", req, "NextToken", collect_metrics, out);
}

static jv dims_object(jv dimensions)
{
	jv o = jv_object();

	if (jv_get_kind(dimensions) == JV_KIND_ARRAY)
		jv_array_foreach(dimensions, i, d) {
			(void)i;
			jv name = str_or_null(d, "Name"), value = str_or_null(d, "Value");
			if (jv_get_kind(name) == JV_KIND_STRING && jv_get_kind(value) == JV_KIND_STRING)
				o = jv_object_set(o, name, value);
			else {
				jv_free(name);
				jv_free(value);
			}
			jv_free(d);
		}
	jv_free(dimensions);
	return o;
}

static int emit_datapoints(void *ctx, jv page)
{
	struct metric_meta *mm = ctx;
	jv results = sb_rec_get(page, "MetricDataResults");

	if (jv_get_kind(results) == JV_KIND_ARRAY)
		jv_array_foreach(results, i, r) {
			(void)i;
			char *id = sb_rec_string(r, "Id");
			jv times = sb_rec_get(r, "Timestamps"), values = sb_rec_get(r, "Values");
			int k = id && id[0] == 'm' ? atoi(id + 1) : -1;
			jv meta = k >= 0 ? jv_array_get(jv_copy(mm->metas), k) : jv_invalid();
			if (jv_is_valid(meta) && jv_get_kind(times) == JV_KIND_ARRAY && jv_get_kind(values) == JV_KIND_ARRAY) {
				int n = jv_array_length(jv_copy(times));
				for (int j = 0; j < n && j < jv_array_length(jv_copy(values)); j++) {
					jv t = jv_array_get(jv_copy(times), j), v = jv_array_get(jv_copy(values), j);
					jv holder = jv_object_set(jv_object(), jv_string("t"), t);
					double when;
					if (sb_rec_time(holder, "t", &when) && jv_get_kind(v) == JV_KIND_NUMBER) {
						jv dims = sb_rec_get(meta, "dims");
						jv rec = jv_object_set(jv_object(), jv_string("type"), jv_string("metric"));
						rec = jv_object_set(rec, jv_string("ts"), ts_string(when));
						rec = set_if(rec, "tenant", str_or_null(dims, "tenant_id"));
						rec = jv_object_set(rec, jv_string("metric"), sb_rec_get(meta, "name"));
						rec = jv_object_set(rec, jv_string("value"), v);
						rec = jv_object_set(rec, jv_string("dims"), dims);
						rec = jv_object_set(rec, jv_string("stat"), jv_string(mm->stat));
						rec = jv_object_set(rec, jv_string("source"), jv_string("cloudwatch"));
						mm->emit(mm->ctx, rec);
					} else
						jv_free(v);
					jv_free(holder);
				}
			}
			jv_free(meta);
			jv_free(times);
			jv_free(values);
			free(id);
			jv_free(r);
		}
	jv_free(results);
	jv_free(page);
	return 0;
}

int sb_cw_get_metrics(struct sb_aws *a, const struct sb_cw_metrics *q, sb_cw_emit emit, void *ctx)
{
	struct metric_meta mm = {.stat = q->stat, .emit = emit, .ctx = ctx};
	jv metrics;
	int n, rc = 0;

	if (metrics_to_query(a, q, &metrics) < 0)
		return -1;
	n = jv_array_length(jv_copy(metrics));
	for (int base = 0; base < n && rc == 0; base += MAX_QUERIES) {
		jv queries = jv_array();
		mm.metas = jv_array();
		for (int i = base; i < n && i < base + MAX_QUERIES; i++) {
			jv m = jv_array_get(jv_copy(metrics), i);
			char id[24];
			snprintf(id, sizeof id, "m%d", i - base);
			jv stat = jv_object_set(jv_object(), jv_string("Metric"), jv_copy(m));
			stat = jv_object_set(stat, jv_string("Period"), jv_number(q->period));
			stat = jv_object_set(stat, jv_string("Stat"), jv_string(q->stat));
			jv query = jv_object_set(jv_object(), jv_string("Id"), jv_string(id));
			query = jv_object_set(query, jv_string("MetricStat"), stat);
			query = jv_object_set(query, jv_string("ReturnData"), jv_true());
			queries = jv_array_append(queries, query);
			jv meta = jv_object_set(jv_object(), jv_string("name"), sb_rec_get(m, "MetricName"));
			meta = jv_object_set(meta, jv_string("dims"), dims_object(sb_rec_get(m, "Dimensions")));
			mm.metas = jv_array_append(mm.metas, meta);
			jv_free(m);
		}
		jv req = jv_object_set(jv_object(), jv_string("MetricDataQueries"), queries);
		req = jv_object_set(req, jv_string("StartTime"), jv_number(floor(q->start)));
		req = jv_object_set(req, jv_string("EndTime"), jv_number(ceil(q->end)));
		req = jv_object_set(req, jv_string("ScanBy"), jv_string("TimestampAscending"));
		rc = paginate(a, "monitoring", METRICS_TARGET "GetMetricData", "1.0", req, "NextToken", emit_datapoints,
			      &mm);
		jv_free(mm.metas);
	}
	jv_free(metrics);
	return rc;
}

/* ---- logs ---- */

/* The level a plain-text message suggests, by its words. */
static const char *guess_level(const char *text)
{
	static const struct {
		const char *word, *level;
	} words[] = {
		{"FATAL", "FATAL"}, {"CRITICAL", "FATAL"}, {"PANIC", "FATAL"}, {"ERROR", "ERROR"},
		{"EXCEPTION", "ERROR"}, {"TRACEBACK", "ERROR"}, {"WARN", "WARN"}, {"WARNING", "WARN"},
		{"DEBUG", "DEBUG"}, {"TRACE", "DEBUG"},
	};
	const char *best = "INFO";
	int rank = 0;

	for (const char *p = text; *p;) {
		while (*p && !isalpha((unsigned char)*p))
			p++;
		const char *w = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t n = (size_t)(p - w);
		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
			int r = (int)(sizeof words / sizeof words[0] - i);
			if (n == strlen(words[i].word) && strncasecmp(w, words[i].word, n) == 0 && r > rank &&
			    (strcmp(words[i].level, "DEBUG") != 0 || rank == 0)) {
				best = words[i].level;
				rank = r;
			}
		}
	}
	return best;
}

/* A log record from a message, parsing a JSON message into fields. */
static jv log_record(double when, const char *message, jv fields, jv id)
{
	jv parsed = message[0] == '{' ? jv_parse(message) : jv_invalid();
	jv rec = jv_object_set(jv_object(), jv_string("type"), jv_string("log"));
	jv level = jv_null(), tenant = jv_null(), text = jv_string(message);

	rec = jv_object_set(rec, jv_string("ts"), ts_string(when));
	if (jv_get_kind(parsed) == JV_KIND_OBJECT) {
		static const char *const level_keys[] = {"level", "severity", "lvl", "loglevel", NULL};
		for (int i = 0; level_keys[i] && jv_get_kind(level) == JV_KIND_NULL; i++) {
			char *l = sb_rec_string(parsed, level_keys[i]);
			const char *norm = l ? sb_log_level(l) : NULL;
			if (norm)
				level = jv_string(norm);
			free(l);
		}
		tenant = str_or_null(parsed, "tenant_id");
		if (jv_get_kind(tenant) == JV_KIND_NULL)
			tenant = str_or_null(parsed, "tenant");
		jv m = str_or_null(parsed, "message");
		if (jv_get_kind(m) == JV_KIND_NULL)
			m = str_or_null(parsed, "msg");
		if (jv_get_kind(m) == JV_KIND_STRING) {
			jv_free(text);
			text = m;
		} else
			jv_free(m);
		fields = jv_object_merge(fields, jv_copy(parsed));
	}
	jv_free(parsed);
	if (jv_get_kind(level) == JV_KIND_NULL) {
		jv_free(level);
		level = jv_string(guess_level(message));
	}
	rec = jv_object_set(rec, jv_string("level"), level);
	rec = jv_object_set(rec, jv_string("message"), text);
	rec = set_if(rec, "tenant", tenant);
	rec = jv_object_set(rec, jv_string("source"), jv_string("cloudwatch-logs"));
	rec = jv_object_set(rec, jv_string("fields"), fields);
	return jv_object_set(rec, jv_string("id"), id);
}

struct log_pass {
	struct sb_cw_logs *q;
	const char *group;
	double last_ms;   /* the cursor's time, events at it already read */
	jv last_ids;
	double max_ms;    /* the newest event of this run */
	jv max_ids;
	sb_cw_emit emit;
	void *ctx;
};

static int seen_at_cursor(struct log_pass *lp, double ms, const char *id)
{
	if (ms != lp->last_ms || !id)
		return 0;
	jv_array_foreach(lp->last_ids, i, x) {
		(void)i;
		int same = strcmp(jv_string_value(x), id) == 0;
		jv_free(x);
		if (same)
			return 1;
	}
	return 0;
}

static void advance_cursor(struct log_pass *lp, double ms, const char *id)
{
	if (ms > lp->max_ms) {
		lp->max_ms = ms;
		jv_free(lp->max_ids);
		lp->max_ids = jv_array();
	}
	if (ms == lp->max_ms && id)
		lp->max_ids = jv_array_append(lp->max_ids, jv_string(id));
}

static int emit_log_events(void *ctx, jv page)
{
	struct log_pass *lp = ctx;
	jv events = sb_rec_get(page, "events");

	if (jv_get_kind(events) == JV_KIND_ARRAY)
		jv_array_foreach(events, i, e) {
			(void)i;
			double ms;
			char *message = sb_rec_string(e, "message"), *id = sb_rec_string(e, "eventId");
			if (sb_rec_number(e, "timestamp", &ms) && message && !seen_at_cursor(lp, ms, id)) {
				jv fields = jv_object_set(jv_object(), jv_string("log_group"), jv_string(lp->group));
				fields = set_if(fields, "log_stream", str_or_null(e, "logStreamName"));
				jv idv = id ? jv_string(id) : id_of(lp->group, message, NULL);
				advance_cursor(lp, ms, id);
				lp->emit(lp->ctx, log_record(ms / 1000, message, fields, idv));
			}
			free(message);
			free(id);
			jv_free(e);
		}
	jv_free(events);
	jv_free(page);
	return 0;
}

static int collect_groups(void *ctx, jv page)
{
	jv *groups = ctx;
	jv list = sb_rec_get(page, "logGroups");

	if (jv_get_kind(list) == JV_KIND_ARRAY)
		jv_array_foreach(list, i, g) {
			(void)i;
			jv name = str_or_null(g, "logGroupName");
			if (jv_get_kind(name) == JV_KIND_STRING)
				*groups = jv_array_append(*groups, name);
			else
				jv_free(name);
			jv_free(g);
		}
	jv_free(list);
	jv_free(page);
	return 0;
}

static int log_groups(struct sb_aws *a, const struct sb_cw_logs *q, jv *groups)
{
	*groups = jv_array();
	if (q->group) {
		*groups = jv_array_append(*groups, jv_string(q->group));
		return 0;
	}
	jv req = jv_object_set(jv_object(), jv_string("logGroupNamePrefix"), jv_string(q->group_prefix));
	return paginate(a, "logs", LOGS_TARGET "DescribeLogGroups", "1.1", req, "nextToken", collect_groups, groups);
}

static void sleep_for(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};

	nanosleep(&ts, NULL);
}

/* A Logs Insights timestamp: "2026-11-24 02:00:00.000", UTC without a zone. */
static int insights_time(const char *text, double *when)
{
	char *zoned = sb_asprintf("%sZ", text);
	int ok = sb_time_parse(text, when) == 0 || sb_time_parse(zoned, when) == 0;

	free(zoned);
	return ok;
}

static void emit_insights_row(struct log_pass *lp, jv row)
{
	jv fields = jv_object();
	char *message = NULL;
	double when = sb_time_now();

	jv_array_foreach(row, i, cell) {
		(void)i;
		char *field = sb_rec_string(cell, "field"), *value = sb_rec_string(cell, "value");
		if (field && value) {
			if (strcmp(field, "@timestamp") == 0)
				insights_time(value, &when);
			else if (strcmp(field, "@message") == 0 && !message)
				message = sb_strdup(value);
			else if (strcmp(field, "@ptr") != 0)
				fields = jv_object_set(fields, jv_string(field), jv_string(value));
		}
		free(field);
		free(value);
		jv_free(cell);
	}
	jv dump = jv_dump_string(jv_copy(row), JV_PRINT_SORTED);
	jv id = id_of("insights", jv_string_value(dump), NULL);
	jv_free(dump);
	lp->emit(lp->ctx, log_record(when, message ? message : "", fields, id));
	free(message);
	jv_free(row);
}

static int run_insights(struct sb_aws *a, struct log_pass *lp, jv groups)
{
	jv req = jv_object_set(jv_object(), jv_string("logGroupNames"), groups);
	jv answer;

	req = jv_object_set(req, jv_string("startTime"), jv_number(floor(lp->q->start)));
	req = jv_object_set(req, jv_string("endTime"), jv_number(ceil(lp->q->end)));
	req = jv_object_set(req, jv_string("queryString"), jv_string(lp->q->insights));
	if (sb_aws_call(a, "logs", LOGS_TARGET "StartQuery", "1.1", req, &answer) < 0)
		return -1;
	jv query_id = str_or_null(answer, "queryId");
	jv_free(answer);
	if (jv_get_kind(query_id) != JV_KIND_STRING) {
		jv_free(query_id);
		sb_warn("logs StartQuery: the answer has no queryId");
		return -1;
	}
	for (;;) {
		jv poll = jv_object_set(jv_object(), jv_string("queryId"), jv_copy(query_id));
		if (sb_aws_call(a, "logs", LOGS_TARGET "GetQueryResults", "1.1", poll, &answer) < 0)
			break;
		char *status = sb_rec_string(answer, "status");
		if (status && strcmp(status, "Complete") == 0) {
			jv rows = sb_rec_get(answer, "results");
			if (jv_get_kind(rows) == JV_KIND_ARRAY)
				jv_array_foreach(rows, i, row) {
					(void)i;
					emit_insights_row(lp, row);
				}
			jv_free(rows);
			free(status);
			jv_free(answer);
			jv_free(query_id);
			return 0;
		}
		jv_free(answer);
		if (!status || (strcmp(status, "Running") != 0 && strcmp(status, "Scheduled") != 0)) {
			sb_warn("logs query %s: %s", jv_string_value(query_id), status ? status : "no status");
			free(status);
			break;
		}
		free(status);
		if (a->deadline > 0 && sb_time_now() + lp->q->poll > a->deadline) {
			sb_warn("logs query %s: still running at --timeout", jv_string_value(query_id));
			break;
		}
		sleep_for(lp->q->poll);
	}
	jv_free(query_id);
	return -1;
}

int sb_cw_get_logs(struct sb_aws *a, struct sb_cw_logs *q, sb_cw_emit emit, void *ctx)
{
	struct log_pass lp = {.q = q, .emit = emit, .ctx = ctx, .last_ms = -1, .max_ms = -1};
	double start_ms = floor(q->start * 1000);
	jv groups;
	int rc = 0;

	lp.last_ids = jv_array();
	lp.max_ids = jv_array();
	if (sb_rec_number(q->cursor, "ts", &lp.last_ms)) {
		jv ids = sb_rec_get(q->cursor, "ids");
		if (jv_get_kind(ids) == JV_KIND_ARRAY) {
			jv_free(lp.last_ids);
			lp.last_ids = ids;
		} else
			jv_free(ids);
		/* From the cursor's own millisecond: events there not yet read come too. */
		start_ms = lp.last_ms;
		lp.max_ms = lp.last_ms;
		jv_free(lp.max_ids);
		lp.max_ids = jv_copy(lp.last_ids);
	}
	if (log_groups(a, q, &groups) < 0)
		rc = -1;
	else if (q->insights)
		rc = run_insights(a, &lp, groups);
	else {
		jv_array_foreach(groups, i, g) {
			(void)i;
			if (rc == 0) {
				jv req = jv_object_set(jv_object(), jv_string("logGroupName"), jv_copy(g));
				req = jv_object_set(req, jv_string("startTime"), jv_number(start_ms));
				req = jv_object_set(req, jv_string("endTime"), jv_number(ceil(q->end * 1000)));
				if (q->filter)
					req = jv_object_set(req, jv_string("filterPattern"), jv_string(q->filter));
				lp.group = jv_string_value(g);
				rc = paginate(a, "logs", LOGS_TARGET "FilterLogEvents", "1.1", req, "nextToken",
					      emit_log_events, &lp);
			}
			jv_free(g);
		}
		jv_free(groups);
	}
	if (rc == 0 && lp.max_ms >= 0) {
		jv_free(q->cursor);
		q->cursor = jv_object_set(jv_object_set(jv_object(), jv_string("ts"), jv_number(lp.max_ms)),
					  jv_string("ids"), jv_copy(lp.max_ids));
	}
	jv_free(lp.last_ids);
	jv_free(lp.max_ids);
	return rc;
}

/* ---- alarms ---- */

/* The component an alarm is about: the first of the usual naming dimensions. */
static jv alarm_component(jv dims)
{
	static const char *const keys[] = {"FunctionName", "ServiceName", "DBInstanceIdentifier", "LoadBalancer",
					   "TableName", "QueueName", "InstanceId", NULL};

	for (int i = 0; keys[i]; i++) {
		jv v = str_or_null(dims, keys[i]);
		if (jv_get_kind(v) == JV_KIND_STRING)
			return v;
		jv_free(v);
	}
	return jv_null();
}

static jv alarm_event(jv alarm, const char *state, const char *previous, double when, jv detail, jv id)
{
	jv dims = dims_object(sb_rec_get(alarm, "Dimensions"));
	jv rec = jv_object_set(jv_object(), jv_string("type"), jv_string("event"));

	rec = jv_object_set(rec, jv_string("ts"), ts_string(when));
	rec = jv_object_set(rec, jv_string("event"), jv_string("alarm"));
	rec = jv_object_set(rec, jv_string("name"), str_or_null(alarm, "AlarmName"));
	rec = jv_object_set(rec, jv_string("state"), jv_string(state));
	if (previous)
		rec = jv_object_set(rec, jv_string("previous"), jv_string(previous));
	rec = set_if(rec, "component", alarm_component(dims));
	rec = set_if(rec, "tenant", str_or_null(dims, "tenant_id"));
	rec = jv_object_set(rec, jv_string("source"), jv_string("cloudwatch"));
	detail = jv_object_set(detail, jv_string("dimensions"), dims);
	rec = jv_object_set(rec, jv_string("detail"), detail);
	return jv_object_set(rec, jv_string("id"), id);
}

struct alarm_pass {
	struct sb_cw_alarms *q;
	sb_cw_emit emit;
	void *ctx;
	double last, newest;
	jv last_ids, newest_ids;
};

static int prefix_ok(const struct sb_cw_alarms *q, const char *name)
{
	return !q->prefix || (name && strncmp(name, q->prefix, strlen(q->prefix)) == 0);
}

static int emit_alarms(void *ctx, jv page)
{
	struct alarm_pass *ap = ctx;
	jv alarms = sb_rec_get(page, "MetricAlarms");

	if (jv_get_kind(alarms) == JV_KIND_ARRAY)
		jv_array_foreach(alarms, i, al) {
			(void)i;
			char *name = sb_rec_string(al, "AlarmName"), *state = sb_rec_string(al, "StateValue");
			double when;
			if (name && state) {
				char ts[SB_TIME_BUFSZ];
				if (!sb_rec_time(al, "StateUpdatedTimestamp", &when))
					when = ap->q->now;
				jv detail = jv_object();
				detail = set_if(detail, "reason", str_or_null(al, "StateReason"));
				detail = set_if(detail, "namespace", str_or_null(al, "Namespace"));
				detail = set_if(detail, "metric", str_or_null(al, "MetricName"));
				ap->emit(ap->ctx, alarm_event(al, state, NULL, when, detail,
							      id_of(name, state, sb_time_format(when, ts))));
			}
			free(name);
			free(state);
			jv_free(al);
		}
	jv_free(alarms);
	jv_free(page);
	return 0;
}

static int emit_history(void *ctx, jv page)
{
	struct alarm_pass *ap = ctx;
	jv items = sb_rec_get(page, "AlarmHistoryItems");

	if (jv_get_kind(items) == JV_KIND_ARRAY)
		jv_array_foreach(items, i, it) {
			(void)i;
			char *name = sb_rec_string(it, "AlarmName"), *data = sb_rec_string(it, "HistoryData");
			double when;
			jv hist = data ? jv_parse(data) : jv_invalid();
			jv newstate = sb_rec_get(hist, "newState"), oldstate = sb_rec_get(hist, "oldState");
			char *to = sb_rec_string(newstate, "stateValue"), *from = sb_rec_string(oldstate, "stateValue");
			char ts[SB_TIME_BUFSZ];
			if (name && to && prefix_ok(ap->q, name) && sb_rec_time(it, "Timestamp", &when)) {
				jv id = id_of(name, "history", sb_time_format(when, ts));
				int seen = 0;
				if (when == ap->last)
					jv_array_foreach(ap->last_ids, k, x) {
						(void)k;
						seen |= jv_equal(x, jv_copy(id));
					}
				if (!seen && when >= ap->last) {
					if (when > ap->newest) {
						ap->newest = when;
						jv_free(ap->newest_ids);
						ap->newest_ids = jv_array();
					}
					if (when == ap->newest)
						ap->newest_ids = jv_array_append(ap->newest_ids, jv_copy(id));
					jv detail = set_if(jv_object(), "summary", str_or_null(it, "HistorySummary"));
					jv alarm = jv_object_set(jv_object(), jv_string("AlarmName"), jv_string(name));
					ap->emit(ap->ctx, alarm_event(alarm, to, from, when, detail, id));
					jv_free(alarm);
				} else
					jv_free(id);
			}
			free(name);
			free(data);
			free(to);
			free(from);
			jv_free(newstate);
			jv_free(oldstate);
			jv_free(hist);
			jv_free(it);
		}
	jv_free(items);
	jv_free(page);
	return 0;
}

int sb_cw_get_alarms(struct sb_aws *a, struct sb_cw_alarms *q, sb_cw_emit emit, void *ctx)
{
	struct alarm_pass ap = {.q = q, .emit = emit, .ctx = ctx};
	jv req = jv_object();

	if (q->prefix)
		req = jv_object_set(req, jv_string("AlarmNamePrefix"), jv_string(q->prefix));
	if (q->state)
		req = jv_object_set(req, jv_string("StateValue"), jv_string(q->state));
	return paginate(a, "monitoring", METRICS_TARGET "DescribeAlarms", "1.0", req, "NextToken", emit_alarms, &ap);
}

int sb_cw_get_alarms_history(struct sb_aws *a, struct sb_cw_alarms *q, sb_cw_emit emit, void *ctx)
{
	struct alarm_pass ap = {.q = q, .emit = emit, .ctx = ctx, .last = -1, .newest = -1};
	jv req;
	int rc;

	ap.last_ids = jv_array();
	ap.newest_ids = jv_array();
	if (sb_rec_number(q->cursor, "ts", &ap.last)) {
		jv ids = sb_rec_get(q->cursor, "ids");
		if (jv_get_kind(ids) == JV_KIND_ARRAY) {
			jv_free(ap.last_ids);
			ap.last_ids = ids;
		} else
			jv_free(ids);
		ap.newest = ap.last;
		jv_free(ap.newest_ids);
		ap.newest_ids = jv_copy(ap.last_ids);
	}
	req = jv_object_set(jv_object(), jv_string("HistoryItemType"), jv_string("StateUpdate"));
	req = jv_object_set(req, jv_string("StartDate"), jv_number(ap.last >= 0 ? ap.last : q->now - 3600));
	req = jv_object_set(req, jv_string("EndDate"), jv_number(ceil(q->now)));
	req = jv_object_set(req, jv_string("ScanBy"), jv_string("TimestampAscending"));
	rc = paginate(a, "monitoring", METRICS_TARGET "DescribeAlarmHistory", "1.0", req, "NextToken", emit_history,
		      &ap);
	if (rc == 0 && ap.newest >= 0) {
		jv_free(q->cursor);
		q->cursor = jv_object_set(jv_object_set(jv_object(), jv_string("ts"), jv_number(ap.newest)),
					  jv_string("ids"), jv_copy(ap.newest_ids));
	}
	jv_free(ap.last_ids);
	jv_free(ap.newest_ids);
	return rc;
}
