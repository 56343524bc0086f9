/* sb-audit - verify and list the hash-chained audit log */
#include "audit.h"
#include "err.h"
#include "filter.h"
#include "flatjson.h"
#include "hash.h"
#include "input.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "state.h"
#include "strbuf.h"
#include "timefmt.h"
#include "where.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_SINCE = 1000, OPT_UNTIL, OPT_ACTION, OPT_FORMAT };

static const struct sb_option options[] = {
	{"since", 0, "T", "list: entries at or after T (RFC 3339, epoch, or a duration ago)", OPT_SINCE, NULL,
	 NULL},
	{"until", 0, "T", "list: entries before T", OPT_UNTIL, NULL, NULL},
	{"action", 0, "A", "list: entries of action A, or of a glob such as 'deploy.*' (repeatable)", OPT_ACTION,
	 NULL, NULL},
	{"format", 0, "FORMAT", "ndjson (default), or table: text for people", OPT_FORMAT, NULL, NULL},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *const formats[] = {"ndjson", "table", NULL};
enum { FORMAT_NDJSON, FORMAT_TABLE };

struct settings {
	double since, until;
	int has_since, has_until;
	const char **actions;
	int nactions;
	int format;
	const char *list_option; /* the first option given that only list takes */
};

static int set_time(const char *name, const char *arg, double *out, int *has)
{
	if (sb_time_parse_relative(arg, sb_clock(), out) < 0)
		return sb_error("--%s: '%s' is not a time (RFC 3339, epoch seconds) or a duration like 1h", name, arg);
	*has = 1;
	return 0;
}

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;

	switch (id) {
	case OPT_SINCE:
		s->list_option = s->list_option ? s->list_option : "--since";
		return set_time("since", arg, &s->since, &s->has_since);
	case OPT_UNTIL:
		s->list_option = s->list_option ? s->list_option : "--until";
		return set_time("until", arg, &s->until, &s->has_until);
	case OPT_ACTION:
		s->list_option = s->list_option ? s->list_option : "--action";
		if (!*arg)
			return sb_error("--action: the action must not be empty");
		s->actions = sb_realloc(s->actions, (size_t)(s->nactions + 1) * sizeof *s->actions);
		s->actions[s->nactions++] = arg;
		return 0;
	case OPT_FORMAT:
		return (s->format = sb_opt_choice("format", arg, formats)) < 0 ? -1 : 0;
	}
	return -1;
}

/* ---- verify ---- */

/* How far the chain holds: entries intact from the top, and the hash of the last of them. */
struct chain {
	long entries;
	char head[SB_SHA256_HEX];
	char why[512]; /* what breaks it at line entries + 1 */
};

static int broken(struct chain *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int broken(struct chain *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
	return -1;
}

/* Is prev (consumed) a string equal to want, a NUL-terminated hex digest? */
static int prev_is(jv prev, const char *want)
{
	int ok = jv_get_kind(prev) == JV_KIND_STRING &&
		 (size_t)jv_string_length_bytes(jv_copy(prev)) == strlen(want) &&
		 memcmp(jv_string_value(prev), want, strlen(want)) == 0;

	jv_free(prev);
	return ok;
}

/*
 * Does line (len bytes without its newline) continue the chain? A tamper
 * shows at the first line whose "prev" no longer matches the line above
 * it, which is why the message names both.
 */
static int check_entry(struct chain *c, const char *line, size_t len)
{
	char msg[400];
	struct sb_flat flat;
	const struct sb_json_member *m;
	jv v, prev;

	if (len == 0)
		return broken(c, "empty line");
	/* The usual entry is a small flat object: a scan is enough, and several times faster than libjq. */
	if (sb_flat_scan(line, len, &flat) && (m = sb_flat_get(&flat, "prev")) && m->kind == 's' && m->plain &&
	    m->vallen == SB_SHA256_HEX - 1 && memcmp(m->val, c->head, m->vallen) == 0)
		return 0;
	if (len > INT_MAX)
		return broken(c, "line longer than 2 GiB");
	v = jv_parse_sized(line, (int)len);
	if (!jv_is_valid(v)) {
		sb_json_error(v, msg, sizeof msg);
		return broken(c, "not JSON: %s", msg);
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return broken(c, "not a JSON object");
	}
	prev = jv_object_get(v, jv_string("prev"));
	if (jv_get_kind(prev) != JV_KIND_STRING) {
		jv_free(prev);
		return broken(c, "entry has no \"prev\" string");
	}
	if (prev_is(prev, c->head))
		return 0;
	if (c->entries == 0)
		return broken(c, "\"prev\" is not the genesis (64 zeros): line 1 is not the first entry "
				 "(entries deleted or reordered)");
	return broken(c, "\"prev\" is not the SHA-256 of line %ld: line %ld was edited, or line %ld is not "
			 "the entry that followed it (entries inserted, deleted or reordered)",
		      c->entries, c->entries, c->entries + 1);
}

/*
 * Walk the log line by line, in constant memory. Returns 0 when the chain
 * holds to the end, else the number of the first line that breaks it; a
 * read error exits 5.
 */
static long walk(FILE *f, const char *name, struct chain *c)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long bad = 0;

	while ((n = getline(&line, &cap, f)) > 0) {
		int terminated = line[n - 1] == '\n';
		if (terminated)
			line[--n] = '\0';
		/* The next append would be glued to an unterminated line: the log is damaged. */
		if (check_entry(c, line, (size_t)n) < 0 ||
		    (!terminated && broken(c, "the last line has no newline: a write was cut short") < 0)) {
			bad = c->entries + 1;
			break;
		}
		sb_sha256_hex(line, (size_t)n, c->head);
		c->entries++;
	}
	free(line);
	if (!bad && ferror(f))
		sb_die(SB_EXIT_IO, "read error on '%s':", name);
	return bad;
}

/* The log, open for reading under a shared lock: appenders hold an exclusive one while they write. */
static FILE *open_log(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	FILE *f;

	if (fd < 0)
		sb_die(SB_EXIT_IO, "cannot open '%s':", name);
	/* Without locks (some network file systems) reading still works: go on. */
	while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
		;
	if (!(f = fdopen(fd, "r")))
		sb_die(SB_EXIT_IO, "cannot open '%s':", name);
	setvbuf(f, NULL, _IOFBF, 256 * 1024);
	return f;
}

static void report_verify(const struct settings *s, const char *name, const struct chain *c, long bad)
{
	if (s->format == FORMAT_TABLE) {
		struct sb_buf b = {0};
		if (bad)
			sb_buf_addf(&b, "broken: line %ld breaks the chain; %ld entr%s intact before it", bad,
				    c->entries, c->entries == 1 ? "y" : "ies");
		else
			sb_buf_addf(&b, "ok: %ld entr%s, chain intact, head %s", c->entries,
				    c->entries == 1 ? "y" : "ies", c->head);
		char *text = sb_buf_take(&b);
		sb_output_raw(text, strlen(text));
		free(text);
		return;
	}
	jv r = jv_object_set(jv_object(), jv_string("type"), jv_string("audit_verify"));
	r = jv_object_set(r, jv_string("file"), jv_string(name));
	r = jv_object_set(r, jv_string("ok"), jv_bool(!bad));
	r = jv_object_set(r, jv_string("entries"), jv_number((double)c->entries));
	r = jv_object_set(r, jv_string("head"), jv_string(c->head));
	if (bad) {
		r = jv_object_set(r, jv_string("line"), jv_number((double)bad));
		r = jv_object_set(r, jv_string("error"), jv_string(c->why));
	}
	sb_output_record(r);
}

/* path NULL: standard input; absent: the default log is missing, which is an empty log. */
static int verify(const struct sb_common *common, const struct settings *s, const char *path, const char *name,
		  int absent)
{
	struct chain c = {.head = SB_AUDIT_GENESIS};
	long bad = 0;
	int status;

	if (!absent) {
		FILE *f = path ? open_log(path, name) : stdin;
		bad = walk(f, name, &c);
		if (f != stdin)
			fclose(f); /* releases the lock before any output can block */
	}
	sb_output_init(common->unbuffered);
	if (bad)
		sb_warn("%s:%ld: chain broken: %s", name, bad, c.why);
	report_verify(s, name, &c, bad);
	status = sb_output_finish();
	return status ? status : bad ? SB_EXIT_NEGATIVE : SB_EXIT_OK;
}

/* ---- list ---- */

/* An action pattern: a glob when it has *, ? or [, a prefix when it ends in '.', else the action itself. */
static int action_matches(const char *pattern, const char *action)
{
	size_t n = strlen(pattern);

	if (strpbrk(pattern, "*?["))
		return fnmatch(pattern, action, 0) == 0;
	if (pattern[n - 1] == '.')
		return strncmp(pattern, action, n) == 0;
	return strcmp(pattern, action) == 0;
}

static int action_selected(const struct settings *s, jv e)
{
	char *action;
	int hit = 0;

	if (!s->nactions)
		return 1;
	if (!(action = sb_rec_string(e, "action")))
		return 0;
	for (int i = 0; i < s->nactions && !hit; i++)
		hit = action_matches(s->actions[i], action);
	free(action);
	return hit;
}

/* Entries without a time cannot be placed in a window, so a window leaves them out. */
static int time_selected(const struct settings *s, jv e)
{
	double t;

	if (!s->has_since && !s->has_until)
		return 1;
	if (!sb_rec_time(e, "ts", &t))
		return 0;
	return (!s->has_since || t >= s->since) && (!s->has_until || t < s->until);
}

struct lister {
	const struct settings *set;
	const struct sb_common *common;
	sb_where *where;
	struct sb_input in;
	long listed;
};

static int selected(struct lister *l, jv e)
{
	char err[512];
	int r;

	if (!time_selected(l->set, e) || !action_selected(l->set, e) || !sb_tenant_matches(l->common, e))
		return 0;
	if (!l->where)
		return 1;
	if ((r = sb_where_test(l->where, e, err, sizeof err)) < 0)
		sb_input_reject(&l->in, "--where: %s", err);
	return r > 0;
}

/*
 * One cell of a table: s with control characters written as \xHH, so an
 * entry cannot move the terminal's cursor, padded to width characters.
 */
static void add_cell(struct sb_buf *b, const char *s, int width)
{
	int chars = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			sb_buf_addf(b, "\\x%02x", *p);
			chars += 4;
		} else {
			sb_buf_add(b, (const char *)p, 1);
			chars += (*p & 0xC0) != 0x80; /* count UTF-8 characters, not bytes */
		}
	}
	for (; chars < width; chars++)
		sb_buf_add(b, " ", 1);
	if (width)
		sb_buf_add(b, "  ", 2);
}

/* A field as text: a string as it is, anything else as compact JSON; NULL when absent or null. */
static char *field_text(jv e, const char *key)
{
	jv v = sb_rec_get(e, key);
	char *text = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING)
		text = sb_strdup(jv_string_value(v));
	else if (jv_get_kind(v) != JV_KIND_NULL) {
		jv dump = jv_dump_string(jv_copy(v), 0);
		text = sb_strdup(jv_string_value(dump));
		jv_free(dump);
	}
	jv_free(v);
	return text;
}

enum { WIDTH_TS = 20, WIDTH_ACTOR = 12, WIDTH_ACTION = 18 };

/* The ids an entry concerns, as key=value pairs: who, what and which. */
static void add_ids(struct sb_buf *b, jv e)
{
	static const char *const keys[] = {"tenant", "component", "deployment", "change", "rule", NULL};
	struct sb_buf ids = {0};

	for (const char *const *k = keys; *k; k++) {
		char *v = field_text(e, *k);
		if (v)
			sb_buf_addf(&ids, "%s%s=%s", ids.n ? " " : "", *k, v);
		free(v);
	}
	char *text = sb_buf_take(&ids);
	add_cell(b, *text ? text : "-", 0);
	sb_buf_add(b, "  ", 2);
	free(text);
}

static void add_text_cell(struct sb_buf *b, jv e, const char *key, const char *fallback, int width)
{
	char *v = field_text(e, key);

	if (!v && fallback)
		v = field_text(e, fallback);
	add_cell(b, v ? v : "-", width);
	free(v);
}

static void emit_row(jv e)
{
	struct sb_buf b = {0};
	char ts[SB_TIME_BUFSZ];
	double t;

	/* Whole seconds: the microseconds the writers record only widen the column. */
	if (sb_rec_time(e, "ts", &t))
		add_cell(&b, sb_time_format(floor(t), ts), WIDTH_TS);
	else
		add_text_cell(&b, e, "ts", NULL, WIDTH_TS);
	add_text_cell(&b, e, "actor", NULL, WIDTH_ACTOR);
	add_text_cell(&b, e, "action", NULL, WIDTH_ACTION);
	add_ids(&b, e);
	add_text_cell(&b, e, "reason", "finding", 0);
	char *row = sb_buf_take(&b);
	sb_output_raw(row, strlen(row));
	free(row);
}

static void emit_header(void)
{
	struct sb_buf b = {0};

	add_cell(&b, "TS", WIDTH_TS);
	add_cell(&b, "ACTOR", WIDTH_ACTOR);
	add_cell(&b, "ACTION", WIDTH_ACTION);
	add_cell(&b, "IDS  REASON", 0);
	char *row = sb_buf_take(&b);
	sb_output_raw(row, strlen(row));
	free(row);
}

static int list(const struct sb_common *common, const struct settings *s, const char *path, int absent)
{
	struct lister l = {.set = s, .common = common};
	jv e;
	int status;

	if (common->where)
		l.where = sb_where_compile(common->where);
	sb_output_init(common->unbuffered);
	if (s->format == FORMAT_TABLE)
		emit_header();
	sb_input_init(&l.in, common);
	l.in.default_type = "audit"; /* entries have no "type": --where sees this one */
	if (!absent)
		sb_input_add(&l.in, path, NULL, 0);
	while (sb_input_next_line(&l.in)) {
		if (!jv_is_valid(e = sb_input_parse(&l.in)))
			continue;
		if (selected(&l, e)) {
			l.listed++;
			if (s->format == FORMAT_TABLE)
				emit_row(e);
			else
				sb_output_raw(l.in.line, l.in.len);
		}
		jv_free(e);
	}
	if (common->verbose)
		sb_warn("%ld entr%s read, %ld listed", l.in.records, l.in.records == 1 ? "y" : "ies", l.listed);
	sb_input_close(&l.in);
	sb_where_free(l.where);
	status = sb_output_finish();
	return status ? status : l.in.io_failed ? SB_EXIT_IO : SB_EXIT_OK;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	struct settings set = {0};
	const struct sb_tool_spec spec = {
		.name = "sb-audit",
		.synopsis = "[OPTION]... verify [FILE]\n  or:  sb-audit [OPTION]... list [FILE]",
		.purpose = "Verify and list the hash-chained audit log.\n\n"
			   "Commands:\n"
			   "  verify  walk the hash chain; exit 1 naming the first line that breaks it\n"
			   "  list    write the entries, as they are, that the options select\n\n"
			   "FILE is audit.ndjson in the state directory unless given; - is standard input.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	const char *command, *path, *name;
	char *state_log = NULL;
	struct stat st;
	int absent = 0, status;

	sb_progname = "sb-audit";
	sb_opts_parse(&spec, argc, argv, &common);
	if (common.nfiles == 0)
		sb_usage_error("no command: verify or list");
	command = common.files[0];
	if (strcmp(command, "verify") != 0 && strcmp(command, "list") != 0)
		sb_usage_error("unknown command '%s': verify or list", command);
	if (common.nfiles > 2)
		sb_usage_error("%s takes one FILE at most ('%s' is one too many)", command, common.files[2]);
	if (strcmp(command, "verify") == 0 && (set.list_option || common.where))
		sb_usage_error("%s applies to list, not verify", set.list_option ? set.list_option : "--where");
	if (common.nfiles == 2) {
		path = strcmp(common.files[1], "-") == 0 ? NULL : common.files[1];
		name = path ? path : "<stdin>";
	} else {
		/* A fresh install has no log yet: that is an empty log, not an error. */
		path = name = state_log = sb_state_path(&common, "audit.ndjson");
		absent = stat(path, &st) < 0 && errno == ENOENT;
	}
	if (strcmp(command, "verify") == 0)
		status = verify(&common, &set, path, name, absent);
	else
		status = list(&common, &set, path, absent);
	free(state_log);
	free(set.actions);
	sb_opts_free(&common);
	return status;
}
