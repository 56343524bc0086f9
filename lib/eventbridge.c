/* eventbridge.c - Amazon EventBridge events and SNS notifications to event records */
#include "eventbridge.h"
#include "err.h"
#include "record.h"
#include "hash.h"
#include "logformat.h"
#include "timefmt.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an enclosing SNS notification lends the document inside it. */
struct outer {
	const char *id; /* the SNS MessageId, or NULL */
	double now;     /* the SNS Timestamp, else the time of receipt */
	int in_sns;
};


/* ---- reading fields (objects borrowed, values owned, invalid = absent) ---- */

static jv field(jv obj, const char *key)
{
	jv v;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_invalid();
	v = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

static jv field_of_kind(jv obj, const char *key, jv_kind kind)
{
	jv v = field(obj, key);

	if (jv_get_kind(v) == kind)
		return v;
	jv_free(v);
	return jv_invalid();
}

static jv str_field(jv obj, const char *key) { return field_of_kind(obj, key, JV_KIND_STRING); }
static jv obj_field(jv obj, const char *key) { return field_of_kind(obj, key, JV_KIND_OBJECT); }
static jv arr_field(jv obj, const char *key) { return field_of_kind(obj, key, JV_KIND_ARRAY); }

/* The first of keys that is a string field of obj, or an invalid. */
static jv first_string(jv obj, const char *const keys[])
{
	for (; *keys; keys++) {
		jv v = str_field(obj, *keys);
		if (jv_is_valid(v))
			return v;
	}
	return jv_invalid();
}

/* The first of keys that is a finite number field of obj, or an invalid. */
static jv first_number(jv obj, const char *const keys[])
{
	for (; *keys; keys++) {
		jv v = field_of_kind(obj, *keys, JV_KIND_NUMBER);
		if (jv_is_valid(v) && isfinite(jv_number_value(v)))
			return v;
		jv_free(v);
	}
	return jv_invalid();
}

/* The string's text (borrowed from s), or NULL when s is no string. */
static const char *text_of(jv s)
{
	return jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : NULL;
}

/* Set key only when v is valid: the invalid stands for an absent field. */
static jv set_opt(jv obj, const char *key, jv v)
{
	if (!jv_is_valid(v)) {
		jv_free(v);
		return obj;
	}
	return jv_object_set(obj, jv_string(key), v);
}

/*
 * A time of an AWS document (borrowed): RFC 3339, also with the offset
 * without a colon that CloudWatch writes ("2019-10-02T17:04:40.989+0000"),
 * or epoch seconds or milliseconds. 0 or -1.
 */
static int aws_time(jv v, double *ts)
{
	char buf[64];
	const char *s;
	size_t n;

	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double x = jv_number_value(v);
		if (!isfinite(x) || x < 0)
			return -1;
		*ts = x > 1e11 ? x / 1000 : x;
		return 0;
	}
	if (!(s = text_of(v)) || (n = strlen(s)) + 2 > sizeof buf)
		return -1;
	memcpy(buf, s, n + 1);
	if (n > 20 && (buf[n - 5] == '+' || buf[n - 5] == '-') && isdigit((unsigned char)buf[n - 4]) &&
	    isdigit((unsigned char)buf[n - 3]) && isdigit((unsigned char)buf[n - 2]) &&
	    isdigit((unsigned char)buf[n - 1])) {
		char m0 = buf[n - 2], m1 = buf[n - 1];
		buf[n - 2] = ':';
		buf[n - 1] = m0;
		buf[n] = m1;
		buf[n + 1] = '\0';
	}
	return sb_time_parse(buf, ts);
}

/* The first of the fields (of their objects) that holds a time, else dflt. */
static double time_of(jv a, const char *ka, jv b, const char *kb, double dflt)
{
	jv v = field(a, ka);
	double ts;
	int ok = aws_time(v, &ts) == 0;

	jv_free(v);
	if (!ok && kb) {
		v = field(b, kb);
		ok = aws_time(v, &ts) == 0;
		jv_free(v);
	}
	return ok ? ts : dflt;
}

static jv time_string(double epoch)
{
	char buf[SB_TIME_BUFSZ];

	return jv_string(sb_time_format(epoch, buf));
}

/* An event record with its keys in the contract's order; every jv is consumed. */
static jv event_record(double ts, const char *event, jv name, jv state, jv previous, jv severity,
                       jv component, jv tenant, const char *source, jv detail, const char *id)
{
	jv ev = jv_object();

	ev = jv_object_set(ev, jv_string("type"), jv_string("event"));
	ev = jv_object_set(ev, jv_string("ts"), time_string(ts));
	ev = jv_object_set(ev, jv_string("event"), jv_string(event));
	ev = set_opt(ev, "name", name);
	ev = set_opt(ev, "state", state);
	ev = set_opt(ev, "previous", previous);
	ev = set_opt(ev, "severity", severity);
	ev = set_opt(ev, "component", component);
	ev = set_opt(ev, "tenant", tenant);
	ev = jv_object_set(ev, jv_string("source"), jv_string(source));
	ev = set_opt(ev, "detail", detail);
	return jv_object_set(ev, jv_string("id"), jv_string(id));
}

/*
 * The id of an event: the content id of (event id, name, state). Without an
 * event id the enclosing SNS MessageId stands in, else extra (a time or a
 * request id), so that two transitions are not taken for one.
 */
static void event_id(char out[SB_ID_LEN + 1], jv doc, const struct outer *o, jv extra, const char *name,
                     const char *state)
{
	jv eid = str_field(doc, "id");
	const char *e = text_of(eid);

	if (!e)
		e = o->id;
	if (!e)
		e = text_of(extra);
	sb_content_id(out, e ? e : "", name ? name : "", state ? state : "", NULL);
	jv_free(eid);
}

/* ---- alarms ---------------------------------------------------------- */

/*
 * Add the dimensions dims (borrowed) to *into without replacing earlier
 * ones: an object {name: value} (EventBridge) or an array of {name, value}
 * (CloudWatch's SNS message).
 */
static void merge_dims(jv *into, jv dims)
{
	if (jv_get_kind(dims) == JV_KIND_OBJECT) {
		jv_object_foreach(dims, k, v) {
			if (jv_get_kind(v) == JV_KIND_STRING && !jv_object_has(jv_copy(*into), jv_copy(k)))
				*into = jv_object_set(*into, k, v);
			else {
				jv_free(k);
				jv_free(v);
			}
		}
	} else if (jv_get_kind(dims) == JV_KIND_ARRAY) {
		jv_array_foreach(dims, i, d) {
			static const char *const name_keys[] = {"name", "Name", NULL};
			static const char *const value_keys[] = {"value", "Value", NULL};
			jv k = first_string(d, name_keys), v = first_string(d, value_keys);
			(void)i;
			if (jv_is_valid(k) && jv_is_valid(v) && !jv_object_has(jv_copy(*into), jv_copy(k)))
				*into = jv_object_set(*into, k, v);
			else {
				jv_free(k);
				jv_free(v);
			}
			jv_free(d);
		}
	}
}

/* The dimensions of the metrics in an array (borrowed), the path to them being stat/metric/dims. */
static void metric_dims(jv *into, jv metrics, const char *stat, const char *metric, const char *dims)
{
	if (jv_get_kind(metrics) != JV_KIND_ARRAY)
		return;
	jv_array_foreach(metrics, i, m) {
		jv s = obj_field(m, stat), mm = obj_field(s, metric), d = field(mm, dims);
		(void)i;
		merge_dims(into, d);
		jv_free(d);
		jv_free(mm);
		jv_free(s);
		jv_free(m);
	}
}

/* "severity=high" or "Severity: high" in a description: the word, lower-cased. */
static jv severity_in(const char *text)
{
	static const char key[] = "severity";

	for (const char *p = text; p && (p = strcasestr(p, key)); p += sizeof key - 1) {
		const char *q = p + sizeof key - 1, *w;
		char word[32];
		size_t n = 0;

		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		while (*q == ' ')
			q++;
		if (*q != '=' && *q != ':')
			continue;
		for (q++; *q == ' ' || *q == '"'; q++)
			;
		for (w = q; (isalnum((unsigned char)*w) || *w == '_' || *w == '-') && n + 1 < sizeof word; w++)
			word[n++] = (char)tolower((unsigned char)*w);
		if (n == 0)
			continue;
		word[n] = '\0';
		return jv_string(word);
	}
	return jv_invalid();
}

static jv alarm_severity(jv holder, const char *sev_key, const char *desc_key)
{
	jv sev = str_field(holder, sev_key), desc;

	if (jv_is_valid(sev) && jv_string_length_bytes(jv_copy(sev)) > 0)
		return sev;
	jv_free(sev);
	desc = str_field(holder, desc_key);
	sev = severity_in(text_of(desc));
	jv_free(desc);
	return sev;
}

/* component and tenant from the dimensions (consumed) of an alarm's metrics */
static void alarm_scope(jv dims, jv *component, jv *tenant)
{
	static const char *const component_keys[] = {"FunctionName", "ServiceName", "DBInstanceIdentifier",
	                                              "LoadBalancer", NULL};
	static const char *const tenant_keys[] = {"tenant_id", "tenant", "TenantId", NULL};

	*component = first_string(dims, component_keys);
	*tenant = first_string(dims, tenant_keys);
	jv_free(dims);
}

/* An EventBridge "CloudWatch Alarm State Change" (borrowed). */
static jv eventbridge_alarm(jv doc, const struct outer *o)
{
	jv detail = obj_field(doc, "detail"), name, state_obj, state, prev_obj, previous, config, dims, metrics,
	   component, tenant, state_ts, out;
	char id[SB_ID_LEN + 1];
	double ts;

	if (!jv_is_valid(detail))
		return sb_invalid("cloudwatch alarm event has no detail object");
	name = str_field(detail, "alarmName");
	state_obj = obj_field(detail, "state");
	state = str_field(state_obj, "value");
	if (!jv_is_valid(name) || !jv_is_valid(state)) {
		out = sb_invalid("cloudwatch alarm event has no detail.%s", jv_is_valid(name) ? "state.value" : "alarmName");
		jv_free(name);
		jv_free(state);
		jv_free(state_obj);
		jv_free(detail);
		return out;
	}
	prev_obj = obj_field(detail, "previousState");
	previous = str_field(prev_obj, "value");
	jv_free(prev_obj);
	ts = time_of(state_obj, "timestamp", doc, "time", o->now);
	state_ts = str_field(state_obj, "timestamp");
	jv_free(state_obj);

	config = obj_field(detail, "configuration");
	dims = jv_object();
	metrics = arr_field(config, "metrics");
	metric_dims(&dims, metrics, "metricStat", "metric", "dimensions");
	jv_free(metrics);
	alarm_scope(dims, &component, &tenant);

	event_id(id, doc, o, state_ts, text_of(name), text_of(state));
	jv_free(state_ts);
	out = event_record(ts, "alarm", name, state, previous, alarm_severity(config, "severity", "description"),
	                   component, tenant, "eventbridge", detail, id);
	jv_free(config);
	return out;
}

/* A CloudWatch alarm published straight to SNS (borrowed message). */
static jv sns_alarm(jv msg, const struct outer *o)
{
	jv name = str_field(msg, "AlarmName"), state = str_field(msg, "NewStateValue"), trigger, dims, d, metrics,
	   component, tenant, change;
	char id[SB_ID_LEN + 1];
	double ts = time_of(msg, "StateChangeTime", jv_invalid(), NULL, o->now);

	if (!jv_is_valid(name) || !jv_is_valid(state)) {
		jv_free(name);
		jv_free(state);
		return sb_invalid("cloudwatch alarm message has no %s string", jv_is_valid(name) ? "NewStateValue" : "AlarmName");
	}
	trigger = obj_field(msg, "Trigger");
	dims = jv_object();
	d = field(trigger, "Dimensions");
	merge_dims(&dims, d);
	jv_free(d);
	metrics = arr_field(trigger, "Metrics");
	metric_dims(&dims, metrics, "MetricStat", "Metric", "Dimensions");
	jv_free(metrics);
	jv_free(trigger);
	alarm_scope(dims, &component, &tenant);

	change = str_field(msg, "StateChangeTime");
	event_id(id, msg, o, change, text_of(name), text_of(state));
	jv_free(change);
	return event_record(ts, "alarm", name, state, str_field(msg, "OldStateValue"),
	                    alarm_severity(msg, "Severity", "AlarmDescription"), component, tenant, "sns",
	                    jv_copy(msg), id);
}

/* ---- Lambda destinations --------------------------------------------- */

/* The function name of a Lambda ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]). */
static jv function_name(const char *arn)
{
	const char *p = arn ? strstr(arn, ":function:") : NULL, *e;

	if (!p)
		return jv_invalid();
	p += strlen(":function:");
	e = strchr(p, ':');
	if (!e)
		e = p + strlen(p);
	return e > p ? jv_string_sized(p, (int)(e - p)) : jv_invalid();
}

/* The first numeric field among keys in any of the objects (borrowed) of where. */
static jv metric_of(const jv where[], int n, const char *const keys[])
{
	for (int i = 0; i < n; i++) {
		jv v = first_number(where[i], keys);
		if (jv_is_valid(v))
			return v;
	}
	return jv_invalid();
}

/*
 * A Lambda destination record (dest, borrowed): the detail of an EventBridge
 * "Lambda Function Invocation Result" event (doc, borrowed), or the message
 * of an SNS notification (doc is then dest). failed: 1, 0, or -1 to read it
 * from the record's condition.
 */
static jv completion(jv doc, jv dest, int failed, const struct outer *o, const char *source)
{
	static const char *const duration_keys[] = {"durationMs", "duration_ms", "duration", NULL};
	static const char *const billed_keys[] = {"billedDurationMs", "billed_duration_ms", "billedDuration", NULL};
	static const char *const memory_keys[] = {"memorySizeMB", "memory_mb", "memorySize", NULL};
	static const char *const used_keys[] = {"maxMemoryUsedMB", "max_memory_used_mb", "maxMemoryUsed", NULL};
	static const char *const tenant_keys[] = {"tenant_id", "tenant", NULL};
	jv req = obj_field(dest, "requestContext"), resp = obj_field(dest, "responseContext"),
	   payload = obj_field(dest, "responsePayload"), request = obj_field(dest, "requestPayload"), arn, name,
	   condition, fn_error, errors, detail, request_id, tenant, out;
	jv where[3] = {dest, req, resp};
	char id[SB_ID_LEN + 1];
	const char *state;
	double ts;

	arn = str_field(req, "functionArn");
	name = function_name(text_of(arn));
	jv_free(arn);
	if (!jv_is_valid(name)) {
		jv resources = arr_field(doc, "resources");
		int n = jv_is_valid(resources) ? jv_array_length(jv_copy(resources)) : 0;
		for (int i = 0; i < n && !jv_is_valid(name); i++) {
			jv r = jv_array_get(jv_copy(resources), i);
			jv_free(name);
			name = function_name(text_of(r));
			jv_free(r);
		}
		jv_free(resources);
	}
	if (!jv_is_valid(name)) {
		jv_free(name);
		jv_free(req);
		jv_free(resp);
		jv_free(payload);
		jv_free(request);
		return sb_invalid("lambda invocation result has no function ARN");
	}
	condition = str_field(req, "condition");
	fn_error = str_field(resp, "functionError");
	if (failed < 0)
		failed = jv_is_valid(fn_error) || !text_of(condition) || strcmp(text_of(condition), "Success") != 0;
	state = failed ? "FAILED" : "OK";
	ts = time_of(dest, "timestamp", doc, "time", o->now);

	detail = jv_object_set(jv_object(), jv_string("function"), jv_copy(name));
	detail = set_opt(detail, "version", str_field(resp, "executedVersion"));
	request_id = str_field(req, "requestId");
	detail = set_opt(detail, "request_id", jv_copy(request_id));
	detail = set_opt(detail, "condition", condition);
	detail = set_opt(detail, "status_code", field_of_kind(resp, "statusCode", JV_KIND_NUMBER));
	detail = set_opt(detail, "invoke_count", field_of_kind(req, "approximateInvokeCount", JV_KIND_NUMBER));
	errors = field_of_kind(dest, "errors", JV_KIND_NUMBER);
	if (!jv_is_valid(errors)) {
		jv_free(errors);
		errors = jv_number(failed);
	}
	detail = jv_object_set(detail, jv_string("errors"), errors);
	{
		jv type = str_field(payload, "errorType");
		if (!jv_is_valid(type)) {
			jv_free(type);
			type = jv_copy(fn_error);
		}
		detail = set_opt(detail, "error_type", type);
	}
	jv_free(fn_error);
	detail = set_opt(detail, "error_message", str_field(payload, "errorMessage"));
	detail = set_opt(detail, "duration_ms", metric_of(where, 3, duration_keys));
	detail = set_opt(detail, "billed_duration_ms", metric_of(where, 3, billed_keys));
	detail = set_opt(detail, "memory_mb", metric_of(where, 3, memory_keys));
	detail = set_opt(detail, "max_memory_used_mb", metric_of(where, 3, used_keys));
	tenant = first_string(request, tenant_keys);

	event_id(id, doc, o, request_id, jv_string_value(name), state);
	jv_free(request_id);
	out = event_record(ts, "completion", jv_copy(name), jv_string(state), jv_invalid(), jv_invalid(), name,
	                   tenant, source, detail, id);
	jv_free(req);
	jv_free(resp);
	jv_free(payload);
	jv_free(request);
	return out;
}

/* ---- EventBridge and SNS --------------------------------------------- */

/* Any other EventBridge event (borrowed). */
static jv eventbridge_other(jv doc, const char *detail_type, const struct outer *o)
{
	jv source = str_field(doc, "source"), detail = obj_field(doc, "detail"), when = str_field(doc, "time"),
	   tenant;
	char id[SB_ID_LEN + 1];
	double ts = time_of(doc, "time", jv_invalid(), NULL, o->now);

	if (!jv_is_valid(detail)) {
		jv_free(detail);
		detail = jv_object();
	}
	tenant = str_field(detail, "tenant_id");
	event_id(id, doc, o, when, text_of(source), detail_type);
	jv_free(when);
	return event_record(ts, detail_type, source, jv_invalid(), jv_invalid(), jv_invalid(), jv_invalid(), tenant,
	                    "eventbridge", detail, id);
}

static jv eventbridge(jv doc, const char *detail_type, const struct outer *o)
{
	static const char lambda[] = "Lambda Function Invocation Result - ";
	jv out;

	if (strcmp(detail_type, "CloudWatch Alarm State Change") == 0)
		return eventbridge_alarm(doc, o);
	if (strncmp(detail_type, lambda, sizeof lambda - 1) == 0) {
		const char *result = detail_type + sizeof lambda - 1;
		jv detail = obj_field(doc, "detail");
		if (!jv_is_valid(detail))
			return sb_invalid("lambda invocation result has no detail object");
		out = completion(doc, detail, strcmp(result, "Success") != 0, o, "eventbridge");
		jv_free(detail);
		return out;
	}
	return eventbridge_other(doc, detail_type, o);
}

static jv document(jv doc, const char *text, size_t len, const struct outer *o);
static jv parse_json(const char *text, size_t len);

/* An SNS message (borrowed). */
static jv sns(jv doc, const char *type, const struct outer *o)
{
	jv message, inner, mid, out;
	struct outer in = *o;

	if (strcmp(type, "SubscriptionConfirmation") == 0 || strcmp(type, "UnsubscribeConfirmation") == 0)
		return jv_array();
	if (strcmp(type, "Notification") != 0)
		return sb_invalid("sns message of type '%.60s' is not handled", type);
	if (o->in_sns)
		return sb_invalid("nested sns notification");
	message = str_field(doc, "Message");
	if (!jv_is_valid(message))
		return sb_invalid("sns notification has no Message string");
	inner = parse_json(jv_string_value(message), (size_t)jv_string_length_bytes(jv_copy(message)));
	if (!jv_is_valid(inner)) {
		jv_free(inner);
		jv_free(message);
		return sb_invalid("sns notification: Message is not JSON");
	}
	mid = str_field(doc, "MessageId");
	if (jv_is_valid(mid))
		in.id = jv_string_value(mid);
	in.now = time_of(doc, "Timestamp", jv_invalid(), NULL, o->now);
	in.in_sns = 1;
	out = document(inner, jv_string_value(message), (size_t)jv_string_length_bytes(jv_copy(message)), &in);
	if (!jv_is_valid(out) && jv_invalid_has_msg(jv_copy(out))) {
		jv msg = jv_invalid_get_msg(out);
		out = sb_invalid("sns notification: %s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "bad Message");
		jv_free(msg);
	}
	jv_free(mid);
	jv_free(inner);
	jv_free(message);
	return out;
}

/* One parsed document (borrowed) and its text. */
static jv document(jv doc, const char *text, size_t len, const struct outer *o)
{
	jv v, req, out;

	if (jv_get_kind(doc) != JV_KIND_OBJECT)
		return sb_invalid("body is not a JSON object");
	v = arr_field(doc, "alerts");
	if (jv_is_valid(v)) {
		jv_free(v);
		return sb_logformat_parse("alertmanager", text, len, o->now);
	}
	jv_free(v);
	v = str_field(doc, "Type");
	if (jv_is_valid(v) && (o->in_sns || jv_object_has(jv_copy(doc), jv_string("TopicArn")) ||
	                       jv_object_has(jv_copy(doc), jv_string("Message")))) {
		out = sns(doc, jv_string_value(v), o);
		jv_free(v);
		return out;
	}
	jv_free(v);
	v = str_field(doc, "detail-type");
	if (jv_is_valid(v)) {
		out = eventbridge(doc, jv_string_value(v), o);
		jv_free(v);
		return jv_is_valid(out) ? JV_ARRAY_1(out) : out;
	}
	jv_free(v);
	if (o->in_sns && jv_object_has(jv_copy(doc), jv_string("AlarmName")) &&
	    jv_object_has(jv_copy(doc), jv_string("NewStateValue"))) {
		out = sns_alarm(doc, o);
		return jv_is_valid(out) ? JV_ARRAY_1(out) : out;
	}
	req = obj_field(doc, "requestContext");
	if (o->in_sns && jv_is_valid(req) &&
	    (jv_object_has(jv_copy(req), jv_string("functionArn")) ||
	     jv_object_has(jv_copy(doc), jv_string("responseContext")))) {
		jv_free(req);
		out = completion(doc, doc, -1, o, "sns");
		return jv_is_valid(out) ? JV_ARRAY_1(out) : out;
	}
	jv_free(req);
	return sb_invalid("%s is not an Alertmanager, EventBridge or SNS payload", o->in_sns ? "message" : "body");
}

/*
 * 1 when a string in text starts right after a value, as in "a""b" or 1"b".
 * libjq 1.6's parser leaks such a string ("Expected separator between
 * values"), so a listener fed them by a hostile client would grow without
 * bound: they are refused before libjq sees them. In JSON a string follows
 * only the start, '[', '{', ',' or ':'.
 */
static int abutting_string(const char *text, size_t len)
{
	char prev = '\0';
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"') {
				in_string = 0;
				prev = '"';
			}
		} else if (ch == '"') {
			if (prev && prev != '[' && prev != '{' && prev != ',' && prev != ':')
				return 1;
			in_string = 1;
		} else if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
			prev = ch;
		}
	}
	return 0;
}

/* text (NUL-terminated, len bytes) as JSON; an invalid without a message when it is not. */
static jv parse_json(const char *text, size_t len)
{
	jv v;

	if (len > INT_MAX - 1 || abutting_string(text, len))
		return jv_invalid();
	v = jv_parse_sized(text, (int)len);
	if (!jv_is_valid(v)) {
		/* jq's message quotes the input: too long for one line. */
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

/* body as a NUL-terminated copy: libjq 1.6 may read past an unterminated buffer. */
static jv parse_body(const char *body, size_t len, char **copy)
{
	if (len > INT_MAX - 1)
		return jv_invalid();
	*copy = sb_malloc(len + 1);
	memcpy(*copy, body, len);
	(*copy)[len] = '\0';
	return parse_json(*copy, len);
}

jv sb_events_from_webhook(const char *body, size_t len, double now)
{
	struct outer o = {NULL, now, 0};
	char *copy = NULL;
	jv doc = parse_body(body, len, &copy), out;

	if (!jv_is_valid(doc)) {
		jv_free(doc);
		free(copy);
		return sb_invalid(len > INT_MAX - 1 ? "body too large" : "body is not JSON");
	}
	out = document(doc, copy, len, &o);
	jv_free(doc);
	free(copy);
	return out;
}

char *sb_sns_confirmation_note(const char *body, size_t len)
{
	char *copy = NULL, *note = NULL;
	jv doc = parse_body(body, len, &copy), type, topic, url, token;

	type = str_field(doc, "Type");
	if (text_of(type) && strcmp(text_of(type), "SubscriptionConfirmation") == 0) {
		topic = str_field(doc, "TopicArn");
		url = str_field(doc, "SubscribeURL");
		token = str_field(doc, "Token");
		if (text_of(url))
			note = sb_asprintf("sns subscription to %.512s not confirmed: to confirm it, open %.2048s",
			                   text_of(topic) ? text_of(topic) : "a topic", text_of(url));
		else
			note = sb_asprintf("sns subscription to %.512s not confirmed: confirm it with "
			                   "aws sns confirm-subscription --token %.2048s",
			                   text_of(topic) ? text_of(topic) : "a topic",
			                   text_of(token) ? text_of(token) : "(none given)");
		/* The text comes from the network: one line, no terminal controls. */
		for (char *p = note; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		jv_free(topic);
		jv_free(url);
		jv_free(token);
	}
	jv_free(type);
	jv_free(doc);
	free(copy);
	return note;
}
