/* playbook.c - the rules provider: playbooks of jq edits on a component's JSON configuration */
#include "playbook.h"
#include "err.h"
#include "fsutil.h"
#include "record.h"

#include <errno.h>
#include <jq.h>
#include <limits.h>
#include <math.h>
#include <oniguruma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the built-in playbook ---- */

/*
 * Written as a table rather than as JSON text so that the jq programs and
 * regular expressions read as they are, with one level of escaping; the
 * JSON text (and examples/playbook.json, a copy of it) is made from it.
 */
struct builtin_match {
	const char *kinds; /* one kind, or several separated by spaces */
	const char *metric, *template;
};

struct builtin_rule {
	const char *name, *doc, *edit, *rationale;
	struct builtin_match match[3]; /* alternatives; the unused ones have no kinds */
};

/*
 * Every edit changes one number only where the key already holds a number
 * below its cap, so a rule never adds a key the component does not read,
 * never lowers a value someone set above the cap, leaves alone the zero or
 * negative values that often mean "off" or "no limit", and stops changing
 * anything once the cap is reached. Metric rules follow lasting shifts
 * (degradations, trends), not single spikes.
 */
static const struct builtin_rule builtin[] = {
	{"raise-db-pool",
	 "config.json: db.pool_size (connections), x1.5 rounded up, at most 100. For error patterns about "
	 "connection pools or failing to get a connection, and degradations or trends of pool or "
	 "connection-wait metrics.",
	 "(.db?.pool_size? // null) as $n"
	 " | if ($n | type) == \"number\" and $n > 0 and $n < 100"
	 " then .db.pool_size = ([$n * 1.5 | ceil, 100] | min) "
	 "else . end",
	 "{title}: requests in {component} wait for a database connection. A larger pool lets more queries "
	 "run at once; it grows by half per change and never beyond 100 connections ({changes}).",
	 {{"error_pattern", NULL,
	   "/pool|(unable to|could not|cannot|failed to) (get|obtain|acquire|check ?out) (a )?(db |database )?connection/"},
	  {"degradation trend", "pool|conn(ection)?s?_wait|db_wait", NULL}}},
	{"raise-function-timeout",
	 "config.json: timeout_s (seconds, Lambda-style), x1.5 rounded up, at most 900. For completions whose "
	 "p95 duration nears the timeout and the \"Task timed out\" error pattern.",
	 "(.timeout_s? // null) as $t"
	 " | if ($t | type) == \"number\" and $t > 0 and $t < 900"
	 " then .timeout_s = ([$t * 1.5 | ceil, 900] | min) "
	 "else . end",
	 "{title}: invocations of {component} run close to their time limit. A longer timeout keeps slow "
	 "invocations from being cut off; it grows by half per change and never beyond 900 s ({changes}).",
	 {{"completion", "^duration_ms$", NULL}, {"error_pattern", NULL, "task timed out"}}},
	{"raise-http-timeout",
	 "config.json: http.timeout_ms (milliseconds), x1.5 rounded down, at most 30000. For error patterns "
	 "about timeouts (timed out, timeout, deadline exceeded) and degradations or trends of timeout metrics.",
	 "(.http?.timeout_ms? // null) as $t"
	 " | if ($t | type) == \"number\" and $t > 0 and $t < 30000"
	 " then .http.timeout_ms = ([$t * 1.5 | floor, 30000] | min) "
	 "else . end",
	 "{title}: calls from {component} give up before the other side answers. A longer HTTP timeout lets "
	 "slow but successful calls finish; it grows by half per change and never beyond 30 s ({changes}).",
	 {{"error_pattern", NULL, "/timed? ?out|deadline exceeded/"}, {"degradation trend", "timeout", NULL}}},
	{"raise-retries",
	 "config.json: http.retries (attempts after the first), +1, at most 5. For error patterns of transient "
	 "network failures (connection reset, refused or aborted, broken pipe, service unavailable, bad "
	 "gateway) and a rising error ratio of function completions.",
	 "(.http?.retries? // null) as $r"
	 " | if ($r | type) == \"number\" and $r >= 0 and $r < 5"
	 " then .http.retries = ([$r + 1, 5] | min) "
	 "else . end",
	 "{title}: failures in {component} look transient. One more retry turns many of them into successes; "
	 "retries grow by one per change and never beyond 5 ({changes}).",
	 {{"error_pattern", NULL,
	   "/connection (reset|refused|aborted|closed)|broken pipe|temporar(il)?y unavailable|service unavailable|"
	   "bad gateway|try again/"},
	  {"completion", "^error_ratio$", NULL}}},
	{"raise-memory",
	 "config.json: memory_mb (megabytes, Lambda-style), x1.5 rounded up to a multiple of 64, at most 10240. "
	 "For completions whose peak memory nears the limit and out-of-memory error patterns.",
	 "(.memory_mb? // null) as $m"
	 " | if ($m | type) == \"number\" and $m > 0 and $m < 10240"
	 " then .memory_mb = ([($m * 1.5 / 64 | ceil) * 64, 10240] | min) "
	 "else . end",
	 "{title}: {component} runs short of memory. More memory avoids out-of-memory failures (and, on "
	 "Lambda, brings more CPU); it grows by half per change and never beyond 10240 MB ({changes}).",
	 {{"completion", "^max_memory_used_mb$", NULL},
	  {"error_pattern", NULL, "/out ?of ?memory|memoryerror|cannot allocate memory|oom[- ]?kill/"}}},
	{"raise-cache-ttl",
	 "config.json: cache.ttl_s (seconds), x2, at most 3600. For degradations or trends of latency, "
	 "response time, duration, cache hit or miss and database load metrics.",
	 "(.cache?.ttl_s? // null) as $s"
	 " | if ($s | type) == \"number\" and $s > 0 and $s < 3600"
	 " then .cache.ttl_s = ([$s * 2, 3600] | min) "
	 "else . end",
	 "{title}: {component} got slower. Keeping cached entries longer answers more requests without the "
	 "slow path, at the cost of staler data; the TTL doubles per change and never goes beyond 1 h ({changes}).",
	 {{"degradation trend", "latency|response_time|duration|cache_(hit|miss)|db_(load|queries|qps)", NULL}}},
};

/* "a" as a string, "a b" as ["a", "b"]. */
static jv words(const char *s)
{
	jv list = jv_array();

	for (const char *p = s; *p;) {
		size_t n = strcspn(p, " ");
		list = jv_array_append(list, jv_string_sized(p, (int)n));
		p += n + (p[n] == ' ');
	}
	if (jv_array_length(jv_copy(list)) == 1)
		return jv_array_get(list, 0);
	return list;
}

static jv builtin_match_json(const struct builtin_match *m)
{
	jv o = jv_object_set(jv_object(), jv_string("kind"), words(m->kinds));

	if (m->metric)
		o = jv_object_set(o, jv_string("metric"), jv_string(m->metric));
	if (m->template)
		o = jv_object_set(o, jv_string("template"), jv_string(m->template));
	return o;
}

static jv builtin_rule_json(const struct builtin_rule *b)
{
	jv alts = jv_array();
	jv r = jv_object_set(jv_object(), jv_string("name"), jv_string(b->name));

	for (size_t i = 0; i < sizeof b->match / sizeof b->match[0] && b->match[i].kinds; i++)
		alts = jv_array_append(alts, builtin_match_json(&b->match[i]));
	r = jv_object_set(r, jv_string("doc"), jv_string(b->doc));
	/* One alternative reads best as a plain object. */
	if (jv_array_length(jv_copy(alts)) == 1)
		alts = jv_array_get(alts, 0);
	r = jv_object_set(r, jv_string("match"), alts);
	r = jv_object_set(r, jv_string("file"), jv_string("config.json"));
	r = jv_object_set(r, jv_string("edit"), jv_string(b->edit));
	return jv_object_set(r, jv_string("rationale"), jv_string(b->rationale));
}

const char *sb_playbook_builtin_text(void)
{
	static char *text;

	if (!text) {
		jv rules = jv_array();
		for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
			rules = jv_array_append(rules, builtin_rule_json(&builtin[i]));
		jv doc = jv_object_set(jv_object(), jv_string("rules"), rules);
		jv s = jv_dump_string(doc, JV_PRINT_PRETTY | JV_PRINT_INDENT_FLAGS(2));
		text = sb_asprintf("%s\n", jv_string_value(s));
		jv_free(s);
	}
	return text;
}

/* ---- loading ---- */

/* One object of a rule's match: every field it gives must hold. */
struct alt {
	jv kinds, components, severities; /* arrays of strings, or null for any */
	OnigRegex metric, template_re; /* NULL when not given */
	char *template_text;           /* a substring to look for, when the template is not a regex */
};

struct rule {
	char *name, *file, *edit, *rationale;
	struct alt *alts;
	size_t nalts; /* 0: the rule matches every opportunity */
};

struct sb_playbook {
	struct rule *rules;
	size_t nrules;
	struct jq_state *jq; /* every rule's edit, in one program (see combined_program) */
};

/* Where a message about the playbook goes, and the field it is about ("rules[2].match.kind"). */
struct ctx {
	char *msg;
	size_t size;
	char field[128];
};

static int bad(struct ctx *c, const char *what)
{
	snprintf(c->msg, c->size, "%s: %s", c->field, what);
	return -1;
}

/* Point c at a field below the current one; returns the old length to go back to. */
static size_t enter(struct ctx *c, const char *fmt, const char *key, size_t index)
{
	size_t n = strlen(c->field);

	/* At the top level a key is written alone: "rules", not ".rules". */
	if (n == 0 && *fmt == '.')
		fmt++;
	if (key)
		snprintf(c->field + n, sizeof c->field - n, fmt, key);
	else
		snprintf(c->field + n, sizeof c->field - n, fmt, index);
	return n;
}

/* A typo in a field name would silently widen a match: refuse fields we do not know. */
static int known_fields(jv obj, const char *const *names, struct ctx *c)
{
	int rc = 0;

	jv_object_foreach(obj, key, value)
	{
		size_t i = 0;
		while (names[i] && strcmp(names[i], jv_string_value(key)) != 0)
			i++;
		if (!names[i] && rc == 0) {
			size_t back = enter(c, ".%s", jv_string_value(key), 0);
			rc = bad(c, "unknown field");
			c->field[back] = '\0';
		}
		jv_free(key);
		jv_free(value);
	}
	return rc;
}

/* An optional string field: 1 and a copy, 0 when absent, -1 when not a string. */
static int string_field(jv obj, const char *key, char **out, struct ctx *c)
{
	jv v = sb_rec_get(obj, key);
	int rc = 0;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		*out = sb_strdup(jv_string_value(v));
		rc = 1;
	} else if (jv_get_kind(v) != JV_KIND_NULL) {
		size_t back = enter(c, ".%s", key, 0);
		rc = bad(c, "not a string");
		c->field[back] = '\0';
	}
	jv_free(v);
	return rc;
}

/* "kind", "component", "severity": a string or a non-empty array of strings, kept as an array. */
static int string_set(jv m, const char *key, jv *out, struct ctx *c)
{
	jv v = sb_rec_get(m, key);
	jv_kind k = jv_get_kind(v);
	size_t back = enter(c, ".%s", key, 0);
	int rc = 0;

	*out = jv_null();
	if (k == JV_KIND_STRING)
		*out = jv_array_append(jv_array(), v);
	else if (k == JV_KIND_ARRAY && jv_array_length(jv_copy(v)) > 0) {
		jv_array_foreach(v, i, s)
		{
			if (jv_get_kind(s) != JV_KIND_STRING && rc == 0) {
				enter(c, "[%zu]", NULL, (size_t)i);
				rc = bad(c, "not a string");
			}
			jv_free(s);
		}
		if (rc == 0)
			*out = v;
		else
			jv_free(v);
	} else {
		if (k != JV_KIND_NULL)
			rc = bad(c, "not a string or array");
		jv_free(v);
	}
	c->field[back] = '\0';
	return rc;
}

/*
 * POSIX extended syntax, case-insensitive. Through Oniguruma rather than
 * regcomp(3): libonig, which every tool links for libjq, exports a regcomp
 * and regexec of its own, with other flag values and another regex_t, that
 * take the place of the C library's.
 */
static int compile_regex(OnigRegex *re, const char *pattern, struct ctx *c)
{
	OnigErrorInfo info;
	OnigUChar text[ONIG_MAX_ERROR_MESSAGE_LEN];
	char why[160];
	const OnigUChar *start = (const OnigUChar *)pattern;
	int e = onig_new(re, start, start + strlen(pattern), ONIG_OPTION_IGNORECASE, ONIG_ENCODING_UTF8,
			 ONIG_SYNTAX_POSIX_EXTENDED, &info);

	if (e == ONIG_NORMAL)
		return 0;
	*re = NULL;
	onig_error_code_to_str(text, e, &info);
	snprintf(why, sizeof why, "bad regex: %s", (const char *)text);
	return bad(c, why);
}

static int regex_finds(OnigRegex re, const char *s)
{
	const OnigUChar *start = (const OnigUChar *)s, *end = start + strlen(s);

	return onig_search(re, start, end, start, end, NULL, ONIG_OPTION_NONE) >= 0;
}

/* "template": a substring, or "/REGEX/". */
static int parse_template(struct alt *a, jv m, struct ctx *c)
{
	char *t = NULL;
	size_t back = strlen(c->field);
	int rc = string_field(m, "template", &t, c);
	size_t n = t ? strlen(t) : 0;

	if (rc <= 0)
		return rc;
	if (n >= 2 && t[0] == '/' && t[n - 1] == '/') {
		t[n - 1] = '\0';
		enter(c, ".%s", "template", 0);
		rc = compile_regex(&a->template_re, t + 1, c);
		c->field[back] = '\0';
		free(t);
		return rc;
	}
	a->template_text = t;
	return 0;
}

static int parse_alt(struct alt *a, jv m, struct ctx *c)
{
	static const char *const fields[] = {"kind", "metric", "template", "component", "severity", NULL};
	char *metric = NULL;

	a->kinds = a->components = a->severities = jv_null();
	if (jv_get_kind(m) != JV_KIND_OBJECT)
		return bad(c, "not an object");
	if (known_fields(m, fields, c) < 0 || string_set(m, "kind", &a->kinds, c) < 0 ||
	    string_set(m, "component", &a->components, c) < 0 || string_set(m, "severity", &a->severities, c) < 0 ||
	    string_field(m, "metric", &metric, c) < 0)
		return -1;
	if (metric) {
		size_t back = enter(c, ".%s", "metric", 0);
		int rc = compile_regex(&a->metric, metric, c);
		c->field[back] = '\0';
		free(metric);
		if (rc < 0)
			return -1;
	}
	return parse_template(a, m, c);
}

/* "match": absent (always), an object, or a non-empty array of objects (any one). */
static int parse_match(struct rule *r, jv rule, struct ctx *c)
{
	jv m = sb_rec_get(rule, "match");
	size_t back = enter(c, ".%s", "match", 0);
	int rc = 0;

	if (jv_get_kind(m) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(m));
		if (n == 0)
			rc = bad(c, "empty array");
		r->alts = sb_calloc((size_t)n + 1, sizeof *r->alts);
		for (int i = 0; i < n && rc == 0; i++) {
			size_t up = enter(c, "[%zu]", NULL, (size_t)i);
			jv one = jv_array_get(jv_copy(m), i);
			r->nalts++;
			rc = parse_alt(&r->alts[i], one, c);
			jv_free(one);
			c->field[up] = '\0';
		}
	} else if (jv_get_kind(m) != JV_KIND_NULL) {
		r->alts = sb_calloc(1, sizeof *r->alts);
		r->nalts = 1;
		rc = parse_alt(&r->alts[0], m, c);
	}
	jv_free(m);
	if (rc == 0)
		c->field[back] = '\0';
	return rc;
}

/* A file the edit may touch: a relative path inside the component, without "..". */
static int safe_path(const char *path)
{
	if (!*path || *path == '/')
		return 0;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if ((n == 2 && strncmp(p, "..", 2) == 0) || n == 0)
			return 0;
		p += n + (p[n] == '/');
	}
	return path[strlen(path) - 1] != '/';
}

/* Where jq's compile errors are collected. */
struct messages {
	char *buf;
	size_t size;
};

/* jq reports compile errors through this callback, a message at a time: keep them on one line. */
static void collect_message(void *data, jv msg)
{
	struct messages *m = data;
	size_t n = strlen(m->buf);
	const char *text = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "";

	if (strncmp(text, "jq: error: ", 11) == 0)
		text += 11;
	if (*text && !strstr(text, " compile error") && n < m->size) {
		snprintf(m->buf + n, m->size - n, "%s%s", n ? "; " : "", text);
		for (char *p = m->buf + n; *p; p++)
			if (*p == '\n')
				*p = ' ';
		/* jq ends with the program's line: its trailing blanks would only pad the message. */
		for (n = strlen(m->buf); n > 0 && m->buf[n - 1] == ' ';)
			m->buf[--n] = '\0';
	}
	jv_free(msg);
}

/* Nothing an edit does at run time may write to the tool's stderr behind its back. */
static void discard_message(void *data, jv msg)
{
	(void)data;
	jv_free(msg);
}

/*
 * Compile program, with $opportunity and $insights bound when given (args
 * an object, consumed). NULL and jq's diagnosis in msg when it does not
 * compile.
 */
static jq_state *compile_program(const char *program, jv args, char *msg, size_t size)
{
	struct messages m = {msg, size};
	jq_state *jq = jq_init();

	msg[0] = '\0';
	if (!jq) {
		jv_free(args);
		snprintf(msg, size, "cannot initialise jq");
		return NULL;
	}
	jq_set_error_cb(jq, collect_message, &m);
	if (!jq_compile_args(jq, program, args)) {
		jq_teardown(&jq);
		if (!msg[0])
			snprintf(msg, size, "compile error");
		return NULL;
	}
	jq_set_error_cb(jq, discard_message, NULL);
	return jq;
}

static int parse_edit(struct rule *r, jv rule, struct ctx *c)
{
	int rc = string_field(rule, "edit", &r->edit, c);
	size_t back;

	if (rc < 0)
		return -1;
	back = enter(c, ".%s", "edit", 0);
	if (rc == 0)
		return bad(c, "missing");
	if (r->edit[strspn(r->edit, " \t\r\n")] == '\0')
		return bad(c, "empty");
	c->field[back] = '\0';
	return 0;
}

/*
 * Every rule's edit as a function of one program, which picks the rule
 * from its input, [document, opportunity, insights, rule index]: libjq 1.6
 * compiles its builtins again with every program, some 40 ms, so this
 * compiles once per playbook rather than once per rule or use. The edits
 * sit on lines of their own, so a comment cannot swallow what follows.
 */
static char *combined_program(const sb_playbook *p, size_t from, size_t to)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		sb_die(SB_EXIT_IO, "cannot allocate memory");
	for (size_t i = from; i < to; i++)
		fprintf(f, "def __sb_edit_%zu($opportunity; $insights):\n%s\n;\n", i, p->rules[i].edit);
	fputs(". as [$__sb_doc, $__sb_opp, $__sb_insights, $__sb_rule] | $__sb_doc\n| ", f);
	for (size_t i = from; i < to; i++)
		fprintf(f, "%sif $__sb_rule == %zu then __sb_edit_%zu($__sb_opp; $__sb_insights)\n", i > from ? "el" : "", i,
			i);
	fputs(to > from ? "else . end\n" : ".\n", f);
	if (fclose(f) != 0)
		sb_die(SB_EXIT_IO, "cannot allocate memory");
	return text;
}

/* The bindings an edit compiles with. */
static jv edit_args(void)
{
	jv args = jv_object_set(jv_object(), jv_string("opportunity"), jv_null());

	return jv_object_set(args, jv_string("insights"), jv_array());
}

/* 1 when the edits of rules from to to compile together, else 0 and jq's message. */
static int compiles(const sb_playbook *p, size_t from, size_t to, jq_state **out, char *msg, size_t size)
{
	char *program = combined_program(p, from, to);
	jq_state *jq = compile_program(program, jv_object(), msg, size);
	int ok = jq != NULL;

	free(program);
	if (out)
		*out = jq;
	else if (jq)
		jq_teardown(&jq);
	return ok;
}

/*
 * Compile the playbook's edits, so that a broken one is refused when the
 * playbook is loaded. When the whole does not compile, find the edit at
 * fault: one that does not compile alone (jq's message is then about its
 * own text), else one that does not compile as a function (a module
 * directive, say).
 */
static int compile_edits(sb_playbook *p, struct ctx *c)
{
	char whole[512], why[512], what[600];
	jq_state *jq;

	if (compiles(p, 0, p->nrules, &p->jq, whole, sizeof whole))
		return 0;
	for (size_t i = 0; i < p->nrules; i++) {
		if (!(jq = compile_program(p->rules[i].edit, edit_args(), why, sizeof why)))
			snprintf(what, sizeof what, "jq compile error: %s", why);
		else {
			jq_teardown(&jq);
			if (compiles(p, i, i + 1, NULL, why, sizeof why))
				continue;
			snprintf(what, sizeof what, "jq compile error: not a jq expression: %s", why);
		}
		snprintf(c->field, sizeof c->field, "rules[%zu].edit", i);
		return bad(c, what);
	}
	snprintf(c->msg, c->size, "rules: jq compile error: %s", whole);
	return -1;
}

static int parse_name(sb_playbook *p, struct rule *r, jv rule, struct ctx *c)
{
	int rc = string_field(rule, "name", &r->name, c);
	size_t back = enter(c, ".%s", "name", 0);

	if (rc == 0 || (r->name && !*r->name))
		return bad(c, "missing");
	if (rc < 0)
		return -1;
	for (size_t i = 0; i + 1 < p->nrules; i++)
		if (strcmp(p->rules[i].name, r->name) == 0)
			return bad(c, "a name used by an earlier rule");
	c->field[back] = '\0';
	return 0;
}

static int parse_rule(sb_playbook *p, struct rule *r, jv rule, struct ctx *c)
{
	static const char *const fields[] = {"name", "doc", "match", "file", "edit", "rationale", NULL};
	char *doc = NULL;
	int rc;

	if (jv_get_kind(rule) != JV_KIND_OBJECT)
		return bad(c, "not an object");
	if (known_fields(rule, fields, c) < 0 || parse_name(p, r, rule, c) < 0 || string_field(rule, "doc", &doc, c) < 0)
		return -1;
	free(doc);
	if ((rc = string_field(rule, "file", &r->file, c)) < 0)
		return -1;
	if (rc == 0)
		r->file = sb_strdup("config.json");
	else if (!safe_path(r->file)) {
		enter(c, ".%s", "file", 0);
		return bad(c, "not a relative path inside the component");
	}
	if ((rc = string_field(rule, "rationale", &r->rationale, c)) < 0)
		return -1;
	if (rc == 0)
		r->rationale = sb_strdup("Playbook rule {rule} changed {file}: {changes}.");
	return parse_match(r, rule, c) < 0 || parse_edit(r, rule, c) < 0 ? -1 : 0;
}

/*
 * The message of a failed jv_parse (consumed), without the copy of the
 * whole text that libjq appends to it: a long file would flood the line.
 */
static const char *parse_error(jv invalid, char *buf, size_t size)
{
	jv msg = jv_invalid_get_msg(invalid);

	snprintf(buf, size, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "unreadable");
	buf[strcspn(buf, "\n")] = '\0';
	if (strstr(buf, " (while parsing '"))
		*strstr(buf, " (while parsing '") = '\0';
	jv_free(msg);
	return buf;
}

/* The rules array (borrowed) into p. */
static int parse_rules(sb_playbook *p, jv rules, struct ctx *c)
{
	int n, rc = 0;

	snprintf(c->field, sizeof c->field, "rules");
	if (jv_get_kind(rules) != JV_KIND_ARRAY)
		return bad(c, jv_get_kind(rules) == JV_KIND_NULL ? "missing" : "not an array");
	n = jv_array_length(jv_copy(rules));
	p->rules = sb_calloc((size_t)n + 1, sizeof *p->rules);
	for (int i = 0; i < n && rc == 0; i++) {
		jv rule = jv_array_get(jv_copy(rules), i);
		snprintf(c->field, sizeof c->field, "rules[%d]", i);
		p->nrules++;
		rc = parse_rule(p, &p->rules[i], rule, c);
		jv_free(rule);
	}
	return rc;
}

/* The playbook document (consumed) into p. */
static int parse_playbook(sb_playbook *p, jv doc, struct ctx *c)
{
	static const char *const fields[] = {"rules", "doc", NULL};
	jv rules;
	int rc;

	if (!jv_is_valid(doc)) {
		char why[256];
		snprintf(c->msg, c->size, "not JSON: %s", parse_error(doc, why, sizeof why));
		return -1;
	}
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		jv_free(doc);
		snprintf(c->msg, c->size, "not a JSON object");
		return -1;
	}
	rules = sb_rec_get(doc, "rules");
	rc = known_fields(doc, fields, c) < 0 || parse_rules(p, rules, c) < 0 ? -1 : compile_edits(p, c);
	jv_free(rules);
	jv_free(doc);
	return rc;
}

sb_playbook *sb_playbook_load(const char *path, char *err, size_t errsize)
{
	char msg[768] = "";
	struct ctx c = {msg, sizeof msg, ""};
	const char *where = path ? path : "built-in playbook";
	size_t len = 0;
	char *text = path ? sb_read_file(path, &len) : sb_strdup(sb_playbook_builtin_text());
	sb_playbook *p;

	if (!text) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!path)
		len = strlen(text);
	if (len > INT_MAX) {
		free(text);
		snprintf(err, errsize, "%s: too large", where);
		return NULL;
	}
	p = sb_calloc(1, sizeof *p);
	if (parse_playbook(p, jv_parse_sized(text, (int)len), &c) < 0) {
		snprintf(err, errsize, "%s: %s", where, msg);
		sb_playbook_free(p);
		p = NULL;
	}
	free(text);
	return p;
}

/* ---- matching ---- */

/* What rules are matched against, gathered once from the opportunity and its insights. */
struct facts {
	jv kinds, metrics, templates; /* arrays of distinct strings */
	jv component, severity;       /* strings, or null */
};

/* Append v (consumed) to the set when it is a string not already there. */
static jv add_string(jv set, jv v)
{
	if (jv_get_kind(v) == JV_KIND_STRING) {
		jv_array_foreach(set, i, s)
		{
			int same = jv_equal(s, jv_copy(v));
			if (same) {
				jv_free(v);
				return set;
			}
		}
		return jv_array_append(set, v);
	}
	jv_free(v);
	return set;
}

static void gather_insight(struct facts *f, jv insight)
{
	jv evidence = sb_rec_get(insight, "evidence");

	f->kinds = add_string(f->kinds, sb_rec_get(insight, "kind"));
	f->metrics = add_string(f->metrics, sb_rec_get(insight, "metric"));
	f->templates = add_string(f->templates, sb_rec_get(insight, "pattern"));
	f->templates = add_string(f->templates, sb_rec_get(evidence, "template"));
	jv_free(evidence);
}

static struct facts gather(jv opp, jv insights)
{
	struct facts f = {jv_array(), jv_array(), jv_array(), sb_rec_get(opp, "component"), sb_rec_get(opp, "severity")};
	jv kinds = sb_rec_get(opp, "kinds");

	if (jv_get_kind(kinds) == JV_KIND_ARRAY)
		jv_array_foreach(kinds, i, k) f.kinds = add_string(f.kinds, k);
	jv_free(kinds);
	f.kinds = add_string(f.kinds, sb_rec_get(opp, "kind"));
	f.metrics = add_string(f.metrics, sb_rec_get(opp, "metric"));
	f.templates = add_string(f.templates, sb_rec_get(opp, "pattern"));
	if (jv_get_kind(insights) == JV_KIND_ARRAY)
		jv_array_foreach(insights, i, insight)
		{
			gather_insight(&f, insight);
			jv_free(insight);
		}
	return f;
}

static void facts_free(struct facts *f)
{
	jv_free(f->kinds);
	jv_free(f->metrics);
	jv_free(f->templates);
	jv_free(f->component);
	jv_free(f->severity);
}

/* Whether a wanted set (null: anything) shares a string with the facts' values (borrowed). */
static int overlaps(jv wanted, jv values)
{
	int hit = 0;

	if (jv_get_kind(wanted) == JV_KIND_NULL)
		return 1;
	if (jv_get_kind(values) == JV_KIND_STRING)
		values = jv_array_append(jv_array(), jv_copy(values));
	else if (jv_get_kind(values) == JV_KIND_ARRAY)
		values = jv_copy(values);
	else
		return 0;
	jv_array_foreach(values, i, v)
	{
		jv_array_foreach(wanted, j, w)
		{
			hit |= jv_equal(jv_copy(v), w);
		}
		jv_free(v);
	}
	jv_free(values);
	return hit;
}

static int any_regex(OnigRegex re, jv values)
{
	int hit = 0;

	jv_array_foreach(values, i, v)
	{
		hit |= regex_finds(re, jv_string_value(v));
		jv_free(v);
	}
	return hit;
}

static int any_substring(const char *needle, jv values)
{
	int hit = 0;

	jv_array_foreach(values, i, v)
	{
		hit |= strcasestr(jv_string_value(v), needle) != NULL;
		jv_free(v);
	}
	return hit;
}

static int alt_holds(const struct alt *a, const struct facts *f)
{
	if (!overlaps(a->kinds, f->kinds) || !overlaps(a->components, f->component) ||
	    !overlaps(a->severities, f->severity))
		return 0;
	if (a->metric && !any_regex(a->metric, f->metrics))
		return 0;
	if (a->template_re && !any_regex(a->template_re, f->templates))
		return 0;
	return !a->template_text || any_substring(a->template_text, f->templates);
}

static int rule_matches(const struct rule *r, const struct facts *f)
{
	for (size_t i = 0; i < r->nalts; i++)
		if (alt_holds(&r->alts[i], f))
			return 1;
	return r->nalts == 0;
}

/* Write the set's strings joined by '/' after a label, when it has any. */
static void write_set(FILE *f, const char *label, jv set)
{
	if (jv_array_length(jv_copy(set)) == 0)
		return;
	fprintf(f, ", %s ", label);
	jv_array_foreach(set, i, s)
	{
		fprintf(f, "%s%s", i ? "/" : "", jv_string_value(s));
		jv_free(s);
	}
}

/* "no rule matches kinds degradation/anomaly, metric latency_p95_ms": what no rule matched, for -v. */
static void describe(const struct facts *f, char *err, size_t errsize)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		sb_die(SB_EXIT_IO, "cannot allocate memory");
	write_set(out, "kinds", f->kinds);
	write_set(out, "metric", f->metrics);
	write_set(out, "pattern", f->templates);
	if (jv_get_kind(f->component) == JV_KIND_STRING)
		fprintf(out, ", component %s", jv_string_value(f->component));
	if (fclose(out) != 0)
		sb_die(SB_EXIT_IO, "cannot allocate memory");
	snprintf(err, errsize, "no rule matches%s", len ? text + 1 : " an opportunity without kinds or subject");
	free(text);
}

/* ---- applying ---- */

/*
 * Run rule i's edit on doc (consumed): 1 and its first output in *out, 0
 * when it yields nothing, -1 and why in msg when it raises an error.
 */
static int run_edit(sb_playbook *p, size_t i, jv doc, jv opp, jv insights, jv *out, char *msg, size_t size)
{
	jq_state *jq = p->jq;
	jv input = jv_array_append(jv_array_append(jv_array(), doc), jv_copy(opp));
	jv v;
	int rc = 1;

	input = jv_array_append(jv_array_append(input, jv_copy(insights)), jv_number((double)i));
	jq_start(jq, input, 0);
	v = jq_next(jq);
	if (jv_is_valid(v))
		*out = v;
	else if (jv_invalid_has_msg(jv_copy(v))) {
		jv why = jv_invalid_get_msg(v);
		jv text = jv_get_kind(why) == JV_KIND_STRING ? why : jv_dump_string(why, 0);
		snprintf(msg, size, "%s", jv_string_value(text));
		jv_free(text);
		rc = -1;
	} else {
		jv_free(v);
		rc = jq_halted(jq) ? -1 : 0;
		if (rc < 0)
			snprintf(msg, size, "the edit halted");
	}
	return rc;
}

/* A value for a rationale: strings as they are, numbers rounded for reading, arrays joined. */
static void write_value(FILE *f, jv v)
{
	char num[64];

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		fputs(jv_string_value(v), f);
		break;
	case JV_KIND_NUMBER: {
		double x = jv_number_value(v);
		if (x == floor(x) && fabs(x) < 1e15)
			snprintf(num, sizeof num, "%.0f", x);
		else if (fabs(x) < 1)
			snprintf(num, sizeof num, "%.3g", x);
		else {
			snprintf(num, sizeof num, "%.2f", x);
			for (size_t n = strlen(num); strchr(num, '.') && (num[n - 1] == '0' || num[n - 1] == '.');)
				num[--n] = '\0';
		}
		fputs(num, f);
		break;
	}
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, e)
		{
			if (i)
				fputs(", ", f);
			write_value(f, e);
			jv_free(e);
		}
		break;
	default: {
		jv s = jv_dump_string(jv_copy(v), 0);
		fputs(jv_string_value(s), f);
		jv_free(s);
	}
	}
}

/* The value of {name}: the opportunity's field, else an insight's, else an insight's evidence's. */
static jv lookup(const char *name, jv opp, jv insights)
{
	jv v = sb_rec_get(opp, name);

	for (int pass = 0; pass < 2 && jv_get_kind(v) == JV_KIND_NULL; pass++) {
		if (jv_get_kind(insights) != JV_KIND_ARRAY)
			break;
		jv_array_foreach(insights, i, insight)
		{
			if (jv_get_kind(v) == JV_KIND_NULL) {
				jv from = pass ? sb_rec_get(insight, "evidence") : jv_copy(insight);
				jv_free(v);
				v = sb_rec_get(from, name);
				jv_free(from);
			}
			jv_free(insight);
		}
	}
	return v;
}

struct filling {
	const struct rule *rule;
	jv opp, insights;
	const char *changes;
};

/* Write {name}'s value; 0 when there is none, so the placeholder stays as written. */
static int write_placeholder(FILE *f, const char *name, const struct filling *fl)
{
	jv v;
	const char *fixed = strcmp(name, "changes") == 0 ? fl->changes
			    : strcmp(name, "rule") == 0  ? fl->rule->name
			    : strcmp(name, "file") == 0  ? fl->rule->file
							 : NULL;

	if (fixed) {
		fputs(fixed, f);
		return 1;
	}
	v = lookup(name, fl->opp, fl->insights);
	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	write_value(f, v);
	jv_free(v);
	return 1;
}

static char *fill_rationale(const struct filling *fl)
{
	char *out = NULL, name[64];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const char *p = fl->rule->rationale;

	if (!f)
		sb_die(SB_EXIT_IO, "cannot allocate memory");
	while (*p) {
		size_t n = *p == '{' ? strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") : 0;
		if (n > 0 && n < sizeof name && p[n + 1] == '}') {
			memcpy(name, p + 1, n);
			name[n] = '\0';
			if (write_placeholder(f, name, fl)) {
				p += n + 2;
				continue;
			}
		}
		fputc(*p++, f);
	}
	if (fclose(f) != 0)
		sb_die(SB_EXIT_IO, "cannot allocate memory");
	return out;
}

/* A value in {changes}, cut short when long: a changed list should not flood the rationale. */
static void write_short(FILE *f, jv v)
{
	jv s = jv_dump_string(jv_copy(v), 0);
	const char *text = jv_string_value(s);

	if (strlen(text) > 60)
		fprintf(f, "%.57s...", text);
	else
		fputs(text, f);
	jv_free(s);
}

static void note_change(FILE *f, int *count, const char *path, jv before, jv after)
{
	fputs((*count)++ ? ", " : "", f);
	fputs(*path ? path : "the document", f);
	if (!jv_is_valid(before)) {
		fputs(" set to ", f);
		write_short(f, after);
	} else if (!jv_is_valid(after))
		fputs(" removed", f);
	else {
		fputc(' ', f);
		write_short(f, before);
		fputs(" -> ", f);
		write_short(f, after);
	}
}

/* Each leaf that differs between two documents (borrowed; invalid: absent), by its dotted path. */
static void diff_values(FILE *f, int *count, const char *path, jv before, jv after)
{
	if (jv_get_kind(before) != JV_KIND_OBJECT || jv_get_kind(after) != JV_KIND_OBJECT) {
		if (!jv_is_valid(before) || !jv_is_valid(after) || !jv_equal(jv_copy(before), jv_copy(after)))
			note_change(f, count, path, before, after);
		return;
	}
	jv_object_foreach(after, key, value)
	{
		char *sub = sb_asprintf("%s%s%s", path, *path ? "." : "", jv_string_value(key));
		jv old = jv_object_get(jv_copy(before), jv_copy(key));
		diff_values(f, count, sub, old, value);
		free(sub);
		jv_free(old);
		jv_free(key);
		jv_free(value);
	}
	jv_object_foreach(before, key, value)
	{
		if (!jv_object_has(jv_copy(after), jv_copy(key))) {
			char *sub = sb_asprintf("%s%s%s", path, *path ? "." : "", jv_string_value(key));
			jv none = jv_invalid();
			note_change(f, count, sub, value, none);
			jv_free(none);
			free(sub);
		}
		jv_free(key);
		jv_free(value);
	}
}

static char *describe_changes(jv before, jv after)
{
	char *out = NULL;
	size_t len = 0;
	int count = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		sb_die(SB_EXIT_IO, "cannot allocate memory");
	diff_values(f, &count, "", before, after);
	if (fclose(f) != 0)
		sb_die(SB_EXIT_IO, "cannot allocate memory");
	return out;
}

static void fill_result(struct sb_playbook_result *out, const struct rule *r, jv opp, jv insights, jv before,
			jv after)
{
	jv text = jv_dump_string(jv_copy(after), JV_PRINT_PRETTY | JV_PRINT_INDENT_FLAGS(2));
	char *changes = describe_changes(before, after);
	struct filling fl = {r, opp, insights, changes};

	out->rule = sb_strdup(r->name);
	out->file = sb_strdup(r->file);
	out->content = sb_asprintf("%s\n", jv_string_value(text));
	out->rationale = fill_rationale(&fl);
	free(changes);
	jv_free(text);
}

/* The component's file parsed: 1 and *doc, 0 when it does not exist, -1 and err otherwise. */
static int read_json(const char *root, const char *file, jv *doc, char *err, size_t errsize)
{
	char *path = sb_asprintf("%s/%s", root, file);
	size_t len;
	char *text = sb_read_file(path, &len);
	int e = errno;

	free(path);
	if (!text) {
		if (e == ENOENT)
			return 0;
		snprintf(err, errsize, "%s: %s", file, strerror(e));
		return -1;
	}
	*doc = len > INT_MAX ? sb_invalid("too large") : jv_parse_sized(text, (int)len);
	free(text);
	if (!jv_is_valid(*doc)) {
		char why[256];
		snprintf(err, errsize, "%s: not JSON: %s", file, parse_error(*doc, why, sizeof why));
		return -1;
	}
	return 1;
}

/* One matching rule: 1 and *out when it changes its file, 0 and why when not, -1 and err on error. */
static int try_rule(sb_playbook *p, size_t i, jv opp, jv insights, const char *root,
		    struct sb_playbook_result *out, char *why, size_t whysize, char *err, size_t errsize)
{
	const struct rule *r = &p->rules[i];
	char msg[512];
	jv before, after = jv_null();
	int rc = read_json(root, r->file, &before, err, errsize);

	if (rc == 0)
		snprintf(why, whysize, "rule %s: %s: no such file", r->name, r->file);
	if (rc <= 0)
		return rc;
	rc = run_edit(p, i, jv_copy(before), opp, insights, &after, msg, sizeof msg);
	if (rc < 0)
		snprintf(err, errsize, "rule %s: %s: %s", r->name, r->file, msg);
	else if (rc == 0)
		snprintf(why, whysize, "rule %s: %s unchanged (the edit yields nothing)", r->name, r->file);
	else if (jv_equal(jv_copy(before), jv_copy(after))) {
		snprintf(why, whysize, "rule %s: %s unchanged", r->name, r->file);
		rc = 0;
	} else
		fill_result(out, r, opp, insights, before, after);
	jv_free(after);
	jv_free(before);
	return rc;
}

int sb_playbook_apply(sb_playbook *p, jv opportunity, jv insights, const char *root,
		      struct sb_playbook_result *out, char *err, size_t errsize)
{
	struct facts f = gather(opportunity, insights);
	size_t n = 0;
	int rc = 0, matched = 0;

	memset(out, 0, sizeof *out);
	err[0] = '\0';
	for (size_t i = 0; i < p->nrules && rc == 0; i++) {
		char why[512];
		if (!rule_matches(&p->rules[i], &f))
			continue;
		matched = 1;
		rc = try_rule(p, i, opportunity, insights, root, out, why, sizeof why, err, errsize);
		/* Every matching rule that changed nothing says why, in order. */
		if (rc == 0 && n < errsize)
			n += (size_t)snprintf(err + n, errsize - n, "%s%s", n ? "; " : "", why);
	}
	if (!matched)
		describe(&f, err, errsize);
	else if (rc == 1)
		err[0] = '\0';
	facts_free(&f);
	return rc;
}

void sb_playbook_result_free(struct sb_playbook_result *r)
{
	if (!r)
		return;
	free(r->rule);
	free(r->file);
	free(r->content);
	free(r->rationale);
	memset(r, 0, sizeof *r);
}

static void alt_free(struct alt *a)
{
	jv_free(a->kinds);
	jv_free(a->components);
	jv_free(a->severities);
	if (a->metric)
		onig_free(a->metric);
	if (a->template_re)
		onig_free(a->template_re);
	free(a->template_text);
}

void sb_playbook_free(sb_playbook *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++) {
		struct rule *r = &p->rules[i];
		for (size_t j = 0; j < r->nalts; j++)
			alt_free(&r->alts[j]);
		free(r->alts);
		free(r->name);
		free(r->file);
		free(r->edit);
		free(r->rationale);
	}
	free(p->rules);
	if (p->jq)
		jq_teardown(&p->jq);
	free(p);
}
