/* logformat.c - text log lines (syslog, combined, Alertmanager) and structured log lines as records */
#include "logformat.h"
#include "err.h"
#include "record.h"
#include "hash.h"
#include "timefmt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

/* Level names are compared in ASCII whatever the locale. */
static int ascii_casecmp(const char *a, const char *b)
{
	for (; *a && ascii_upper(*a) == ascii_upper(*b); a++, b++)
		;
	return ascii_upper(*a) != ascii_upper(*b);
}

const char *sb_log_level(const char *name)
{
	static const struct { const char *name, *level; } levels[] = {
		{"DEBUG", "DEBUG"}, {"TRACE", "DEBUG"},
		{"INFO", "INFO"}, {"NOTICE", "INFO"}, {"INFORMATION", "INFO"}, {"INFORMATIONAL", "INFO"},
		{"WARN", "WARN"}, {"WARNING", "WARN"},
		{"ERROR", "ERROR"}, {"ERR", "ERROR"},
		{"FATAL", "FATAL"}, {"CRIT", "FATAL"}, {"CRITICAL", "FATAL"}, {"ALERT", "FATAL"},
		{"EMERG", "FATAL"}, {"EMERGENCY", "FATAL"}, {"PANIC", "FATAL"},
	};

	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (ascii_casecmp(name, levels[i].name) == 0)
			return levels[i].level;
	return NULL;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Exactly n digits at p (not past end). */
static int read_digits(const char *p, const char *end, int n, int *out)
{
	int v = 0;

	if (end - p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

static int month_index(const char *p, const char *end)
{
	if (end - p < 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (memcmp(p, month_names[i], 3) == 0)
			return i;
	return -1;
}

static const char *word_end(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	return p;
}

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

static jv str_range(const char *p, const char *e)
{
	return jv_string_sized(p, (int)(e - p));
}


/* Quote at most 60 bytes of a bad value in a message, so one long line does not flood stderr. */
#define QUOTED(p, e) (int)((e) - (p) > 60 ? 60 : (e) - (p)), (p)

static jv time_string(double epoch)
{
	char buf[SB_TIME_BUFSZ];

	return jv_string(sb_time_format(epoch, buf));
}

static jv hex_id(const void *data, size_t len)
{
	char hex[SB_SHA256_HEX];

	sb_sha256_hex(data, len, hex);
	return jv_string_sized(hex, SB_ID_LEN);
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

/* A log record in the order of the record contract; absent fields are invalids. */
static jv log_record(double ts, const char *level, jv message, jv stack, jv component,
                     jv tenant, jv source, jv fields, jv id)
{
	jv rec = jv_object();

	rec = jv_object_set(rec, jv_string("type"), jv_string("log"));
	rec = jv_object_set(rec, jv_string("ts"), time_string(ts));
	rec = jv_object_set(rec, jv_string("level"), jv_string(level));
	rec = jv_object_set(rec, jv_string("message"), message);
	rec = set_opt(rec, "stack", stack);
	rec = set_opt(rec, "component", component);
	rec = set_opt(rec, "tenant", tenant);
	rec = set_opt(rec, "source", source);
	rec = jv_object_set(rec, jv_string("fields"), fields);
	return jv_object_set(rec, jv_string("id"), id);
}

/* ---- syslog ---------------------------------------------------------- */

static const char *severity_level(int severity)
{
	static const char *const levels[8] = {
		"FATAL", "FATAL", "FATAL", "ERROR", "WARN", "INFO", "INFO", "DEBUG",
	};
	return levels[severity & 7];
}

/* Facilities 12-15 have no name every syslog daemon agrees on: they stay numbers. */
static jv facility_value(int facility)
{
	static const char *const names[] = {
		"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
		"uucp", "cron", "authpriv", "ftp",
	};

	if (facility < 12)
		return jv_string(names[facility]);
	if (facility >= 16 && facility <= 23)
		return jv_string_fmt("local%d", facility - 16);
	return jv_number(facility);
}

/*
 * A word of RFC 3164's TAG: "name:", "name[pid]:" or "name[pid]". Stores
 * the name and pid ranges (pid empty when absent); 0 when it is no tag.
 */
static int split_tag(const char *w, const char *we, const char **name_end,
                     const char **pid, const char **pid_end)
{
	const char *t_end = we, *open;
	int colon = we > w && we[-1] == ':';

	if (colon)
		t_end--;
	*pid = *pid_end = t_end;
	if (t_end > w && t_end[-1] == ']' && (open = memchr(w, '[', (size_t)(t_end - w))) && open > w) {
		*name_end = open;
		*pid = open + 1;
		*pid_end = t_end - 1;
		return 1;
	}
	if (!colon || t_end == w || memchr(w, '[', (size_t)(t_end - w)))
		return 0;
	*name_end = t_end;
	return 1;
}

/*
 * "Mmm dd hh:mm:ss" (a single-digit day padded with a space, or not).
 * RFC 3164 carries neither year nor zone: the local time it holds is
 * taken as UTC (the sender's zone is unknown here), and the year is now's,
 * or the one before when that would put the line more than a day ahead of
 * now (a December line read in January). Returns the position after the
 * timestamp, or NULL.
 */
static const char *syslog_3164_time(const char *p, const char *end, double now, double *ts)
{
	int mon = month_index(p, end), day, h, mi, s, year;
	time_t now_t = (time_t)floor(now);
	struct tm tm;

	if (mon < 0 || end - p < 4 || p[3] != ' ')
		return NULL;
	p += 4;
	if (p < end && *p == ' ')
		p++;
	if (read_digits(p, end, 2, &day) == 0)
		p += 2;
	else if (read_digits(p, end, 1, &day) == 0)
		p += 1;
	else
		return NULL;
	if (p >= end || *p++ != ' ' || read_digits(p, end, 2, &h) || end - p < 8 || p[2] != ':' ||
	    read_digits(p + 3, end, 2, &mi) || p[5] != ':' || read_digits(p + 6, end, 2, &s))
		return NULL;
	p += 8;
	if (day < 1 || day > 31 || h > 23 || mi > 59 || s > 60 || (p < end && *p != ' '))
		return NULL;
	if (!gmtime_r(&now_t, &tm))
		return NULL;
	/* Stepping back also finds the last leap year for a Feb 29 line. */
	for (year = tm.tm_year + 1900; year > tm.tm_year + 1900 - 9; year--) {
		struct tm t = {0};
		if (day > days_in_month(year, mon + 1))
			continue;
		t.tm_year = year - 1900;
		t.tm_mon = mon;
		t.tm_mday = day;
		t.tm_hour = h;
		t.tm_min = mi;
		t.tm_sec = s;
		*ts = (double)timegm(&t);
		if (*ts <= now + 86400)
			return p;
	}
	return NULL;
}

/*
 * A quoted value from p (just after its opening quote) to its closing
 * quote: a backslash before a character of escapes stands for that
 * character, any other backslash is kept. Returns the position after the
 * closing quote, or NULL when there is none.
 */
static const char *unquote(const char *p, const char *end, const char *escapes, jv *out)
{
	jv v = jv_string("");
	const char *run = p;

	for (; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end && p[1] && strchr(escapes, p[1])) {
			v = jv_string_append_buf(v, run, (int)(p - run));
			run = ++p;
		}
	}
	if (p >= end) {
		jv_free(v);
		return NULL;
	}
	*out = jv_string_append_buf(v, run, (int)(p - run));
	return p + 1;
}

/* Add a parameter; a name repeated inside one element (RFC 5424 allows it) collects its values in an array. */
static jv sd_add(jv element, jv name, jv value)
{
	jv old = jv_object_get(jv_copy(element), jv_copy(name));

	if (!jv_is_valid(old)) {
		jv_free(old);
		return jv_object_set(element, name, value);
	}
	if (jv_get_kind(old) != JV_KIND_ARRAY)
		old = JV_ARRAY_1(old);
	return jv_object_set(element, name, jv_array_append(old, value));
}

/*
 * STRUCTURED-DATA of RFC 5424: "-", or "[SD-ID PARAM="VALUE" ...]" one or
 * more times, into an object of objects keyed by SD-ID. Returns the
 * position after it, or NULL with *err set.
 */
static const char *sd_parse(const char *p, const char *end, jv *sd, jv *err)
{
	if (p < end && *p == '-')
		return p + 1;
	if (p >= end || *p != '[') {
		*err = sb_invalid("syslog: bad structured data");
		return NULL;
	}
	*sd = jv_object();
	while (p < end && *p == '[') {
		const char *id = ++p, *id_end;
		jv element;

		while (p < end && *p != ' ' && *p != ']' && *p != '=' && *p != '"')
			p++;
		id_end = p;
		if (id_end == id || p >= end || (*p != ' ' && *p != ']')) {
			*err = sb_invalid("syslog: bad structured data element");
			return NULL;
		}
		/* An SD-ID seen twice (which RFC 5424 forbids) adds to the first. */
		element = jv_object_get(jv_copy(*sd), str_range(id, id_end));
		if (!jv_is_valid(element)) {
			jv_free(element);
			element = jv_object();
		}
		while (p < end && *p == ' ') {
			const char *name = ++p, *name_end;
			jv value;

			while (p < end && *p != '=' && *p != ' ' && *p != ']' && *p != '"')
				p++;
			name_end = p;
			if (name_end == name || end - p < 2 || p[0] != '=' || p[1] != '"' ||
			    !(p = unquote(p + 2, end, "\"\\]", &value))) {
				jv_free(element);
				*err = sb_invalid("syslog: bad structured data parameter in [%.*s]", QUOTED(id, id_end));
				return NULL;
			}
			element = sd_add(element, str_range(name, name_end), value);
		}
		if (p >= end || *p != ']') {
			jv_free(element);
			*err = sb_invalid("syslog: unterminated structured data element [%.*s]", QUOTED(id, id_end));
			return NULL;
		}
		*sd = jv_object_set(*sd, str_range(id, id_end), element);
		p++;
	}
	return p;
}

/* An RFC 3339 time from p to e (not an epoch number, which sb_time_parse also takes). */
static int rfc3339_word(const char *p, const char *e, double *ts)
{
	char buf[64];

	if (e - p < 20 || e - p >= (long)sizeof buf || p[4] != '-')
		return -1;
	memcpy(buf, p, (size_t)(e - p));
	buf[e - p] = '\0';
	return sb_time_parse(buf, ts);
}

struct syslog_parts {
	jv host, app, pid, msgid, sd, message; /* invalid: absent */
};

/* One header field of RFC 5424 and the space after it; "-" leaves *out absent. */
static const char *header_field(const char *p, const char *end, jv *out)
{
	const char *we = word_end(p, end);

	if (we == p || we >= end)
		return NULL;
	if (!(we - p == 1 && *p == '-'))
		*out = str_range(p, we);
	return we + 1;
}

/*
 * "TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]", what follows
 * "<PRI>1 ". A timestamp "-" means the sender had no clock: the time of
 * reading (now) stands in, as a relay would use the time of reception.
 */
static jv syslog_5424(const char *p, const char *end, double now, double *ts, struct syslog_parts *s)
{
	const char *we = word_end(p, end);
	jv err;

	if (we - p == 1 && *p == '-')
		*ts = now;
	else if (rfc3339_word(p, we, ts))
		return sb_invalid("syslog: bad timestamp '%.*s'", QUOTED(p, we));
	if (we >= end)
		return sb_invalid("syslog: truncated RFC 5424 header");
	p = we + 1;
	if (!(p = header_field(p, end, &s->host)) || !(p = header_field(p, end, &s->app)) ||
	    !(p = header_field(p, end, &s->pid)) || !(p = header_field(p, end, &s->msgid)))
		return sb_invalid("syslog: truncated RFC 5424 header");
	if (!(p = sd_parse(p, end, &s->sd, &err)))
		return err;
	if (p < end && *p != ' ')
		return sb_invalid("syslog: bad structured data");
	if (p < end)
		p++;
	if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	s->message = str_range(p, end);
	return jv_true();
}

/*
 * "HOSTNAME TAG[PID]: MESSAGE", the part of RFC 3164 after the timestamp.
 * Messages logged locally often come without the host: a first word that
 * is already a tag is taken as one. Without a tag the rest is the message.
 */
static void syslog_3164_rest(const char *p, const char *end, struct syslog_parts *s)
{
	const char *we = word_end(p, end), *name_end, *pid, *pid_end;

	if (p < we && !split_tag(p, we, &name_end, &pid, &pid_end)) {
		s->host = str_range(p, we);
		p = skip_spaces(we, end);
		we = word_end(p, end);
	}
	if (p < we && split_tag(p, we, &name_end, &pid, &pid_end)) {
		s->app = str_range(p, name_end);
		if (pid < pid_end)
			s->pid = str_range(pid, pid_end);
		p = we < end ? we + 1 : we;
	}
	s->message = str_range(p, end);
}

static void syslog_parts_free(struct syslog_parts *s)
{
	jv_free(s->host);
	jv_free(s->app);
	jv_free(s->pid);
	jv_free(s->msgid);
	jv_free(s->sd);
	jv_free(s->message);
}

/*
 * A syslog line: RFC 5424 ("<PRI>1 ..."), RFC 3164 ("<PRI>Mmm dd
 * hh:mm:ss host tag[pid]: msg"), or the same with an RFC 3339 timestamp as
 * rsyslog writes files in its high-precision format; the PRI is optional,
 * as in /var/log/syslog.
 */
static jv parse_syslog(const char *line, const char *end, double now, jv id)
{
	struct syslog_parts s = {jv_invalid(), jv_invalid(), jv_invalid(), jv_invalid(), jv_invalid(), jv_invalid()};
	const char *p = line;
	int pri = -1, n = 0;
	double ts = 0;
	jv fields, component;

	if (p < end && *p == '<') {
		const char *q = ++p;
		pri = 0;
		while (p < end && is_digit(*p) && p - q < 3)
			pri = pri * 10 + (*p++ - '0');
		if (p == q || p >= end || *p != '>' || pri > 191) {
			jv_free(id);
			return sb_invalid("syslog: bad priority");
		}
		p++;
	}
	while (p + n < end && n < 4 && is_digit(p[n]))
		n++;
	if (n >= 1 && n <= 3 && p + n < end && p[n] == ' ') {
		jv r;
		if (n != 1 || *p != '1') {
			jv_free(id);
			return sb_invalid("syslog: unsupported version %.*s", n, p);
		}
		r = syslog_5424(p + 2, end, now, &ts, &s);
		if (!jv_is_valid(r)) {
			syslog_parts_free(&s);
			jv_free(id);
			return r;
		}
	} else if (month_index(p, end) >= 0) {
		const char *q = syslog_3164_time(p, end, now, &ts);
		if (!q) {
			jv_free(id);
			return sb_invalid("syslog: bad timestamp '%.*s'", QUOTED(p, end - p > 15 ? p + 15 : end));
		}
		syslog_3164_rest(skip_spaces(q, end), end, &s);
	} else if (n == 4 && p + 4 < end && p[4] == '-') {
		const char *we = word_end(p, end);
		if (rfc3339_word(p, we, &ts)) {
			jv_free(id);
			return sb_invalid("syslog: bad timestamp '%.*s'", QUOTED(p, we));
		}
		syslog_3164_rest(skip_spaces(we, end), end, &s);
	} else {
		jv_free(id);
		return sb_invalid("not a syslog line");
	}
	component = jv_copy(s.app);
	fields = jv_object();
	fields = set_opt(fields, "host", s.host);
	fields = set_opt(fields, "app", s.app);
	fields = set_opt(fields, "pid", s.pid);
	fields = set_opt(fields, "msgid", s.msgid);
	if (pri >= 0)
		fields = jv_object_set(fields, jv_string("facility"), facility_value(pri >> 3));
	fields = set_opt(fields, "sd", s.sd);
	return log_record(ts, pri >= 0 ? severity_level(pri & 7) : "INFO", s.message, jv_invalid(),
	                  component, jv_invalid(), jv_invalid(), fields, id);
}

/* ---- combined and common log format ---------------------------------- */

/* "dd/Mon/yyyy:hh:mm:ss +zzzz" */
static int clf_time(const char *p, const char *end, double *ts)
{
	int d, mon, y, h, mi, s, oh, om, sign;
	struct tm tm = {0};

	if (end - p != 26 || read_digits(p, end, 2, &d) || p[2] != '/' ||
	    (mon = month_index(p + 3, end)) < 0 || p[6] != '/' || read_digits(p + 7, end, 4, &y) ||
	    p[11] != ':' || read_digits(p + 12, end, 2, &h) || p[14] != ':' ||
	    read_digits(p + 15, end, 2, &mi) || p[17] != ':' || read_digits(p + 18, end, 2, &s) ||
	    p[20] != ' ' || (p[21] != '+' && p[21] != '-') || read_digits(p + 22, end, 2, &oh) ||
	    read_digits(p + 24, end, 2, &om))
		return -1;
	if (d < 1 || d > days_in_month(y, mon + 1) || h > 23 || mi > 59 || s > 60 || oh > 23 || om > 59)
		return -1;
	sign = p[21] == '-' ? -1 : 1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*ts = (double)timegm(&tm) - sign * (oh * 3600 + om * 60);
	return 0;
}

static int is_method_char(char c) { return is_upper(c) || c == '-' || c == '_'; }

/* "METHOD PATH PROTOCOL", or "METHOD /PATH" as HTTP/0.9 sent it. */
static int split_request(jv request, jv *method, jv *path, jv *protocol)
{
	const char *r = jv_string_value(request);
	const char *end = r + jv_string_length_bytes(jv_copy(request));
	const char *p = r, *path_start, *path_end;

	while (p < end && is_method_char(*p))
		p++;
	if (p == r || p >= end || *p != ' ')
		return -1;
	path_start = p + 1;
	path_end = word_end(path_start, end);
	if (path_end == path_start)
		return -1;
	if (path_end == end) {
		if (*path_start != '/')
			return -1;
		*protocol = jv_invalid();
	} else {
		const char *proto = path_end + 1;
		if (end - proto < 6 || memcmp(proto, "HTTP/", 5) != 0 || word_end(proto, end) != end)
			return -1;
		*protocol = str_range(proto, end);
	}
	*method = str_range(r, p);
	*path = str_range(path_start, path_end);
	return 0;
}

/*
 * REMOTE IDENT USER [TIME] "REQUEST" STATUS BYTES, then "REFERER" "AGENT"
 * (combined) or nothing (common), then anything a custom log format adds,
 * kept as one string. Apache escapes " and \ inside quotes with a
 * backslash; nginx writes \xHH, which is kept as it is.
 */
static jv parse_combined(const char *line, const char *end, jv id)
{
	const char *p = line, *remote, *remote_end, *ident, *ident_end, *user, *user_end, *t, *t_end;
	const char *st, *st_end, *by, *by_end;
	jv request = jv_invalid(), referer = jv_invalid(), agent = jv_invalid(), extra = jv_invalid();
	jv method, path, protocol, fields, message, err;
	double ts, bytes = 0;
	int status;

	remote = p;
	remote_end = word_end(remote, end);
	ident = remote_end + 1;
	if (remote_end == remote || remote_end >= end)
		goto not_combined;
	ident_end = word_end(ident, end);
	user = ident_end + 1;
	if (ident_end == ident || ident_end >= end)
		goto not_combined;
	user_end = word_end(user, end);
	if (user_end == user || end - user_end < 2 || user_end[1] != '[')
		goto not_combined;
	t = user_end + 2;
	if (!(t_end = memchr(t, ']', (size_t)(end - t))))
		goto not_combined;
	if (clf_time(t, t_end, &ts)) {
		err = sb_invalid("combined log: bad timestamp '%.*s'", QUOTED(t, t_end));
		goto fail;
	}
	p = t_end + 1;
	if (end - p < 2 || p[0] != ' ' || p[1] != '"')
		goto not_combined;
	if (!(p = unquote(p + 2, end, "\"\\", &request))) {
		err = sb_invalid("combined log: unterminated request");
		goto fail;
	}
	if (p >= end || *p != ' ')
		goto not_combined;
	st = p + 1;
	st_end = word_end(st, end);
	if (read_digits(st, st_end, 3, &status) || st_end - st != 3) {
		err = sb_invalid("combined log: bad status '%.*s'", QUOTED(st, st_end));
		goto fail;
	}
	if (st_end >= end) {
		err = sb_invalid("combined log: no byte count after the status");
		goto fail;
	}
	by = st_end + 1;
	by_end = word_end(by, end);
	if (by_end - by == 1 && *by == '-') {
		bytes = 0;
	} else {
		if (by_end == by || by_end - by > 15)
			goto bad_bytes;
		for (const char *q = by; q < by_end; q++) {
			if (!is_digit(*q))
				goto bad_bytes;
			bytes = bytes * 10 + (*q - '0');
		}
	}
	p = by_end;
	if (p < end && end - p >= 2 && p[1] == '"') {
		if (!(p = unquote(p + 2, end, "\"\\", &referer))) {
			err = sb_invalid("combined log: unterminated referer");
			goto fail;
		}
		if (end - p >= 2 && p[0] == ' ' && p[1] == '"' && !(p = unquote(p + 2, end, "\"\\", &agent))) {
			err = sb_invalid("combined log: unterminated user agent");
			goto fail;
		}
	}
	p = skip_spaces(p, end);
	if (p < end)
		extra = str_range(p, end);

	fields = jv_object_set(jv_object(), jv_string("remote"), str_range(remote, remote_end));
	if (!(ident_end - ident == 1 && *ident == '-'))
		fields = jv_object_set(fields, jv_string("ident"), str_range(ident, ident_end));
	if (!(user_end - user == 1 && *user == '-'))
		fields = jv_object_set(fields, jv_string("user"), str_range(user, user_end));
	if (split_request(request, &method, &path, &protocol) == 0) {
		message = jv_string_fmt("%s %s %d", jv_string_value(method), jv_string_value(path), status);
		fields = jv_object_set(fields, jv_string("method"), method);
		fields = jv_object_set(fields, jv_string("path"), path);
		fields = set_opt(fields, "protocol", protocol);
		jv_free(request);
	} else {
		/* An empty request (a connection closed early) reads as "-" in the message. */
		const char *r = jv_string_value(request);
		message = jv_string_fmt("%s %d", *r ? r : "-", status);
		fields = jv_object_set(fields, jv_string("request"), request);
	}
	fields = jv_object_set(fields, jv_string("status"), jv_number(status));
	fields = jv_object_set(fields, jv_string("bytes"), jv_number(bytes));
	fields = set_opt(fields, "referer", referer);
	fields = set_opt(fields, "agent", agent);
	fields = set_opt(fields, "extra", extra);
	return log_record(ts, status >= 500 ? "ERROR" : status >= 400 ? "WARN" : "INFO", message,
	                  jv_invalid(), jv_invalid(), jv_invalid(), jv_invalid(), fields, id);

bad_bytes:
	err = sb_invalid("combined log: bad byte count '%.*s'", QUOTED(by, by_end));
	goto fail;
not_combined:
	err = sb_invalid("not a combined log line");
fail:
	jv_free(request);
	jv_free(referer);
	jv_free(agent);
	jv_free(extra);
	jv_free(id);
	return err;
}

/* ---- Alertmanager webhook -------------------------------------------- */

/* The string field of obj (borrowed), or an invalid when it is absent or no string. */
static jv get_string(jv obj, const char *key)
{
	jv v;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_invalid();
	v = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_STRING)
		return v;
	jv_free(v);
	return jv_invalid();
}

/* The first of keys that is a string field of obj, or an invalid. */
static jv first_string(jv obj, const char *const keys[])
{
	for (; *keys; keys++) {
		jv v = get_string(obj, *keys);
		if (jv_is_valid(v))
			return v;
	}
	return jv_invalid();
}

/* The field of obj (borrowed) when present and not null, else an invalid. */
static jv get_present(jv obj, const char *key)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));

	if (jv_is_valid(v) && jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

/* One alert of a payload (both borrowed) as an event record. */
static jv alert_event(jv payload, jv alert, int i)
{
	static const char *const component_keys[] = {"service", "job", "instance", NULL};
	static const char *const tenant_keys[] = {"tenant", "tenant_id", NULL};
	static const char *const detail_keys[] = {"labels", "annotations", "startsAt", "endsAt",
	                                          "fingerprint", "generatorURL", NULL};
	jv labels, name, status, starts, time_text, fp, ev, detail;
	char id[SB_ID_LEN + 1];
	const char *st;
	double ts;
	int firing;

	if (jv_get_kind(alert) != JV_KIND_OBJECT)
		return sb_invalid("alertmanager payload: alerts[%d] is not an object", i);
	labels = jv_object_get(jv_copy(alert), jv_string("labels"));
	name = get_string(labels, "alertname");
	if (!jv_is_valid(name)) {
		jv_free(labels);
		return sb_invalid("alertmanager payload: alerts[%d] has no alertname label", i);
	}
	status = get_string(alert, "status");
	if (!jv_is_valid(status)) {
		jv_free(status);
		status = get_string(payload, "status");
	}
	st = jv_is_valid(status) ? jv_string_value(status) : "";
	if (strcmp(st, "firing") != 0 && strcmp(st, "resolved") != 0) {
		ev = sb_invalid("alertmanager payload: alerts[%d] has status '%.60s', not firing or resolved", i, st);
		goto out;
	}
	firing = strcmp(st, "firing") == 0;
	starts = get_string(alert, "startsAt");
	time_text = get_string(alert, firing ? "startsAt" : "endsAt");
	if (!jv_is_valid(time_text) || sb_time_parse(jv_string_value(time_text), &ts)) {
		ev = jv_is_valid(time_text)
		     ? sb_invalid("alertmanager payload: alerts[%d] has a bad %s '%.60s'", i,
		            firing ? "startsAt" : "endsAt", jv_string_value(time_text))
		     : sb_invalid("alertmanager payload: alerts[%d] has no %s", i, firing ? "startsAt" : "endsAt");
		jv_free(time_text);
		jv_free(starts);
		goto out;
	}
	jv_free(time_text);
	/* The same transition seen twice (Alertmanager repeats notifications) gets the same id. */
	fp = get_string(alert, "fingerprint");
	if (!jv_is_valid(fp)) {
		jv_free(fp);
		fp = jv_dump_string(jv_copy(labels), JV_PRINT_SORTED);
	}
	sb_content_id(id, jv_string_value(fp), st, jv_is_valid(starts) ? jv_string_value(starts) : "", NULL);
	jv_free(fp);
	jv_free(starts);

	detail = jv_object();
	for (const char *const *k = detail_keys; *k; k++)
		detail = set_opt(detail, *k, get_present(alert, *k));
	ev = jv_object();
	ev = jv_object_set(ev, jv_string("type"), jv_string("event"));
	ev = jv_object_set(ev, jv_string("ts"), time_string(ts));
	ev = jv_object_set(ev, jv_string("event"), jv_string("alarm"));
	ev = jv_object_set(ev, jv_string("name"), jv_copy(name));
	ev = jv_object_set(ev, jv_string("state"), jv_string(firing ? "ALARM" : "OK"));
	ev = jv_object_set(ev, jv_string("previous"), jv_string(firing ? "OK" : "ALARM"));
	ev = set_opt(ev, "severity", get_string(labels, "severity"));
	ev = set_opt(ev, "component", first_string(labels, component_keys));
	ev = set_opt(ev, "tenant", first_string(labels, tenant_keys));
	ev = jv_object_set(ev, jv_string("source"), jv_string("alertmanager"));
	ev = jv_object_set(ev, jv_string("detail"), detail);
	ev = jv_object_set(ev, jv_string("id"), jv_string(id));
out:
	jv_free(status);
	jv_free(name);
	jv_free(labels);
	return ev;
}

static jv parse_alertmanager(const char *line, const char *end)
{
	jv payload = jv_parse_sized(line, (int)(end - line)), alerts, out;
	int n;

	if (!jv_is_valid(payload)) {
		/* jq's message quotes the whole input: too long for one line of stderr. */
		jv_free(payload);
		return sb_invalid("alertmanager payload is not JSON");
	}
	if (jv_get_kind(payload) != JV_KIND_OBJECT) {
		jv_free(payload);
		return sb_invalid("alertmanager payload is not a JSON object");
	}
	alerts = jv_object_get(jv_copy(payload), jv_string("alerts"));
	if (jv_get_kind(alerts) != JV_KIND_ARRAY) {
		jv_free(alerts);
		jv_free(payload);
		return sb_invalid("alertmanager payload has no \"alerts\" array");
	}
	out = jv_array();
	n = jv_array_length(jv_copy(alerts));
	for (int i = 0; i < n; i++) {
		jv alert = jv_array_get(jv_copy(alerts), i);
		jv ev = alert_event(payload, alert, i);
		jv_free(alert);
		if (!jv_is_valid(ev)) {
			jv_free(out);
			out = ev;
			break;
		}
		out = jv_array_append(out, ev);
	}
	jv_free(alerts);
	jv_free(payload);
	return out;
}

/* ---- dispatch -------------------------------------------------------- */

int sb_logformat_known(const char *format)
{
	return format && (strcmp(format, "syslog") == 0 || strcmp(format, "combined") == 0 ||
	                  strcmp(format, "alertmanager") == 0);
}

jv sb_logformat_parse(const char *format, const char *line, size_t len, double now)
{
	const char *end;
	jv rec;

	if (!sb_logformat_known(format))
		return sb_invalid("unknown log format '%.60s'", format ? format : "");
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > (size_t)1 << 30)
		return sb_invalid("line too long");
	end = line + len;
	if (strcmp(format, "alertmanager") == 0)
		return parse_alertmanager(line, end);
	if (strcmp(format, "syslog") == 0)
		rec = parse_syslog(line, end, now, hex_id(line, len));
	else
		rec = parse_combined(line, end, hex_id(line, len));
	return jv_is_valid(rec) ? JV_ARRAY_1(rec) : rec;
}

/* ---- structured log lines -------------------------------------------- */

/* Remove key from *obj and return its value. */
static jv take(jv *obj, const char *key)
{
	jv v = jv_object_get(jv_copy(*obj), jv_string(key));

	*obj = jv_object_delete(*obj, jv_string(key));
	return v;
}

/* The first of keys present in obj with a value other than null, or NULL. */
static const char *first_present(jv obj, const char *const keys[])
{
	for (; *keys; keys++) {
		jv v = get_present(obj, *keys);
		int found = jv_is_valid(v);
		jv_free(v);
		if (found)
			return *keys;
	}
	return NULL;
}

/* Take key from *obj when its value is a string; otherwise it stays (and becomes one of the fields). */
static jv take_string(jv *obj, const char *key)
{
	jv v = get_string(*obj, key);

	if (jv_is_valid(v))
		*obj = jv_object_delete(*obj, jv_string(key));
	return v;
}

/* A time value: RFC 3339 or epoch text, or an epoch number; above 1e11 it counts milliseconds. */
static int value_time(jv v, double *ts)
{
	if (jv_get_kind(v) == JV_KIND_NUMBER && isfinite(jv_number_value(v)))
		*ts = jv_number_value(v);
	else if (jv_get_kind(v) != JV_KIND_STRING || sb_time_parse(jv_string_value(v), ts))
		return -1;
	if (*ts > 1e11)
		*ts /= 1000;
	return 0;
}

/* pino and bunyan write levels as numbers: 10 trace, 20 debug ... 60 fatal. */
static const char *numeric_level(double n)
{
	static const char *const levels[] = {"DEBUG", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

	if (n >= 10 && n <= 60 && fmod(n, 10) == 0)
		return levels[(int)n / 10 - 1];
	return NULL;
}

/* A value for a message: its text when a string, else its compact JSON, cut to 60 bytes. */
static jv shown(jv v)
{
	jv s = jv_get_kind(v) == JV_KIND_STRING ? v : jv_dump_string(v, 0);
	jv out = jv_string_fmt("%.60s", jv_string_value(s));

	jv_free(s);
	return out;
}

jv sb_log_from_object(jv obj)
{
	static const char *const ts_keys[] = {"ts", "time", "timestamp", "@timestamp", NULL};
	static const char *const level_keys[] = {"level", "severity", "lvl", "loglevel", NULL};
	static const char *const message_keys[] = {"message", "msg", NULL};
	static const char *const stack_keys[] = {"stack", "stack_trace", "exception", NULL};
	const char *key, *level = "INFO";
	jv dump, id, v, message, stack = jv_invalid(), component, tenant, source, fields;
	double ts;

	if (jv_get_kind(obj) != JV_KIND_OBJECT) {
		jv_free(obj);
		return sb_invalid("not a JSON object");
	}
	dump = jv_dump_string(jv_copy(obj), 0);
	id = hex_id(jv_string_value(dump), (size_t)jv_string_length_bytes(jv_copy(dump)));
	jv_free(dump);

	if (!(key = first_present(obj, ts_keys))) {
		v = sb_invalid("no ts, time, timestamp or @timestamp field");
		goto fail;
	}
	v = take(&obj, key);
	if (value_time(v, &ts)) {
		jv s = shown(v);
		v = sb_invalid("bad %s '%s'", key, jv_string_value(s));
		jv_free(s);
		goto fail;
	}
	jv_free(v);

	if ((key = first_present(obj, level_keys))) {
		v = take(&obj, key);
		level = jv_get_kind(v) == JV_KIND_STRING ? sb_log_level(jv_string_value(v))
		        : jv_get_kind(v) == JV_KIND_NUMBER ? numeric_level(jv_number_value(v)) : NULL;
		if (!level) {
			jv s = shown(v);
			v = sb_invalid("unknown level '%s'", jv_string_value(s));
			jv_free(s);
			goto fail;
		}
		jv_free(v);
	}

	key = NULL;
	for (const char *const *k = message_keys; *k && !key; k++) {
		v = jv_object_get(jv_copy(obj), jv_string(*k));
		if (jv_is_valid(v))
			key = *k;
		jv_free(v);
	}
	if (!key) {
		v = sb_invalid("no message or msg field");
		goto fail;
	}
	message = take(&obj, key);
	if (jv_get_kind(message) != JV_KIND_STRING) {
		jv_free(message);
		v = sb_invalid("%s is not a string", key);
		goto fail;
	}

	for (const char *const *k = stack_keys; *k && !jv_is_valid(stack); k++) {
		jv_free(stack);
		stack = take_string(&obj, *k);
	}
	component = take_string(&obj, "component");
	tenant = take_string(&obj, "tenant");
	source = take_string(&obj, "source");

	fields = jv_object();
	jv_object_foreach(obj, k, val) {
		if (strcmp(jv_string_value(k), "fields") == 0 && jv_get_kind(val) == JV_KIND_OBJECT) {
			jv_free(k);
			fields = jv_object_merge(fields, val);
		} else {
			fields = jv_object_set(fields, k, val);
		}
	}
	jv_free(obj);
	return log_record(ts, level, message, stack, component, tenant, source, fields, id);

fail:
	jv_free(obj);
	jv_free(id);
	return v;
}
