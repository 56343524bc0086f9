/* selfmetrics.c - the tools' own counters in metrics/sb.prom (node_exporter's textfile collector) */
#include "selfmetrics.h"
#include "err.h"
#include "fsutil.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* One sample line: a series of this run, or one read from the file. */
struct series {
	char *family; /* the metric it belongs to (a histogram's x for x_bucket) */
	char *name;
	char *labels; /* canonical: sorted by label name, `k="v",...`; "" without labels */
	double value;
	char *line;   /* the file's line, written back as it was while the value is unchanged */
	size_t pos;   /* a histogram's or summary's line in the file: its buckets keep their order */
	int ordered;
};

/* The HELP and TYPE of a metric; help is escaped as in the file; either may be NULL. */
struct family {
	char *name, *help, *type;
};

struct metrics {
	struct series *s;
	size_t ns, caps;
	struct family *f;
	size_t nf, capf;
};

/* The counters of this run not yet in the file; the lock guards them against listener threads. */
static struct metrics pending;
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static int disabled, warned;

static void metrics_free(struct metrics *m)
{
	for (size_t i = 0; i < m->ns; i++) {
		free(m->s[i].family);
		free(m->s[i].name);
		free(m->s[i].labels);
		free(m->s[i].line);
	}
	for (size_t i = 0; i < m->nf; i++) {
		free(m->f[i].name);
		free(m->f[i].help);
		free(m->f[i].type);
	}
	free(m->s);
	free(m->f);
	memset(m, 0, sizeof *m);
}

static struct family *family_get(struct metrics *m, const char *name, int create)
{
	for (size_t i = 0; i < m->nf; i++)
		if (strcmp(m->f[i].name, name) == 0)
			return &m->f[i];
	if (!create)
		return NULL;
	if (m->nf == m->capf)
		m->f = sb_realloc(m->f, (m->capf = m->capf ? 2 * m->capf : 16) * sizeof *m->f);
	m->f[m->nf] = (struct family){.name = sb_strdup(name)};
	return &m->f[m->nf++];
}

static struct series *series_get(struct metrics *m, const char *name, const char *labels)
{
	for (size_t i = 0; i < m->ns; i++)
		if (strcmp(m->s[i].name, name) == 0 && strcmp(m->s[i].labels, labels) == 0)
			return &m->s[i];
	return NULL;
}

static struct series *series_add(struct metrics *m, const char *family, const char *name, const char *labels)
{
	if (m->ns == m->caps)
		m->s = sb_realloc(m->s, (m->caps = m->caps ? 2 * m->caps : 16) * sizeof *m->s);
	m->s[m->ns] = (struct series){.family = sb_strdup(family), .name = sb_strdup(name),
				      .labels = sb_strdup(labels)};
	return &m->s[m->ns++];
}

/* ---- the text format ---- */

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static size_t name_length(const char *p, int colon)
{
	size_t n = 0;

	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_' ||
	       (colon && p[n] == ':') || (n > 0 && p[n] >= '0' && p[n] <= '9'))
		n++;
	return n;
}

struct label {
	const char *name, *value; /* value with its escapes */
	size_t nlen, vlen;
};

static int by_label_name(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	int c = memcmp(x->name, y->name, x->nlen < y->nlen ? x->nlen : y->nlen);

	return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

/* One `name="value"` at p; the end of it, or NULL with *err. */
static const char *parse_label(const char *p, struct label *l, const char **err)
{
	l->name = p = skip_blank(p);
	if (!(l->nlen = name_length(p, 0)))
		return *err = "label name expected", NULL;
	p = skip_blank(p + l->nlen);
	if (*p != '=')
		return *err = "'=' expected after a label name", NULL;
	p = skip_blank(p + 1);
	if (*p != '"')
		return *err = "label value expected", NULL;
	l->value = ++p;
	for (; *p != '"'; p++) {
		if (!*p)
			return *err = "unterminated label value", NULL;
		if (*p == '\\' && p[1] != '\\' && p[1] != '"' && p[1] != 'n')
			return *err = "invalid escape in a label value", NULL;
		if (*p == '\\')
			p++;
	}
	l->vlen = (size_t)(p - l->value);
	return skip_blank(p + 1);
}

static char *join_labels(struct label *ls, size_t n, const char **err)
{
	struct sb_buf b = {0};

	qsort(ls, n, sizeof *ls, by_label_name);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && by_label_name(&ls[i - 1], &ls[i]) == 0) {
			free(b.p);
			return *err = "duplicate label name", NULL;
		}
		sb_buf_addf(&b, "%s%.*s=\"%.*s\"", i ? "," : "", (int)ls[i].nlen, ls[i].name, (int)ls[i].vlen,
			    ls[i].value);
	}
	return sb_buf_take(&b);
}

/*
 * The labels at p in canonical form (sorted by name, so that a series is
 * found whatever order wrote it), up to close ('}', or '\0' for the
 * labels callers give). *end is set past them; NULL with *err when malformed.
 */
static char *canonical_labels(const char *p, char close, const char **end, const char **err)
{
	struct label *ls = NULL;
	size_t n = 0;
	char *out = NULL;

	for (p = skip_blank(p); *p != close;) {
		ls = sb_realloc(ls, (n + 1) * sizeof *ls);
		if (!(p = parse_label(p, &ls[n++], err)))
			goto done;
		if (*p == ',')
			p = skip_blank(p + 1);
		else if (*p != close) {
			*err = close ? "',' or '}' expected after a label" : "',' expected after a label";
			goto done;
		}
	}
	out = join_labels(ls, n, err);
	*end = close ? p + 1 : p;
done:
	free(ls);
	return out;
}

/* A histogram's or summary's x_bucket, x_sum and x_count belong to x (*ordered is then set). */
static const char *family_of(struct metrics *m, const char *name, char *buf, size_t size, int *ordered)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count", NULL};
	size_t len = strlen(name);

	if (family_get(m, name, 0))
		return name;
	for (const char *const *s = suffixes; *s; s++) {
		size_t sl = strlen(*s);
		if (len <= sl || len - sl >= size || strcmp(name + len - sl, *s) != 0)
			continue;
		snprintf(buf, size, "%.*s", (int)(len - sl), name);
		struct family *f = family_get(m, buf, 0);
		if (f && f->type && (strcmp(f->type, "histogram") == 0 || strcmp(f->type, "summary") == 0))
			return *ordered = 1, buf;
	}
	return name;
}

/* The value and optional timestamp after a series; 0, or -1 with *err. */
static int parse_value(const char *p, double *value, const char **err)
{
	char *end;

	if (!*p)
		return *err = "no value", -1;
	*value = strtod(p, &end);
	if (end == p || (*end && *end != ' ' && *end != '\t'))
		return *err = "the value is not a number", -1;
	p = skip_blank(end);
	if (*p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*skip_blank(p))
		return *err = "unexpected text after the value", -1;
	return 0;
}

static int parse_sample(struct metrics *m, char *line, const char **err)
{
	size_t n = name_length(line, 1);
	const char *p = skip_blank(line + n);
	char *labels = NULL, buf[256], saved;
	double value;

	if (!n)
		return *err = "metric name expected", -1;
	if (*p == '{' && !(labels = canonical_labels(p + 1, '}', &p, err)))
		return -1;
	p = skip_blank(p);
	if (parse_value(p, &value, err) < 0) {
		free(labels);
		return -1;
	}
	saved = line[n];
	line[n] = '\0';
	if (series_get(m, line, labels ? labels : "")) {
		free(labels);
		return *err = "a second line for the same series", -1;
	}
	int ordered = 0;
	struct series *s = series_add(m, family_of(m, line, buf, sizeof buf, &ordered), line, labels ? labels : "");
	s->value = value;
	s->pos = m->ns;
	s->ordered = ordered;
	line[n] = saved;
	s->line = sb_strdup(line);
	free(labels);
	return 0;
}

/* "# HELP name text" and "# TYPE name type"; other comments are not kept. */
static int parse_comment(struct metrics *m, const char *line, const char **err)
{
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped", NULL};
	const char *p = skip_blank(line + 1);
	int help = strncmp(p, "HELP", 4) == 0, type = strncmp(p, "TYPE", 4) == 0;
	size_t n;

	if ((!help && !type) || (p[4] != ' ' && p[4] != '\t'))
		return 0;
	p = skip_blank(p + 4);
	if (!(n = name_length(p, 1)) || (p[n] && p[n] != ' ' && p[n] != '\t'))
		return *err = "metric name expected", -1;
	char *name = sb_strndup(p, n);
	struct family *f = family_get(m, name, 1);
	free(name);
	p = skip_blank(p + n);
	if (help && f->help)
		return *err = "a second HELP line for the same metric", -1;
	if (help) {
		f->help = sb_strdup(p);
		return 0;
	}
	if (f->type)
		return *err = "a second TYPE line for the same metric", -1;
	for (const char *const *t = types; *t; t++)
		if (strcmp(p, *t) == 0)
			return f->type = sb_strdup(p), 0;
	return *err = "unknown metric type", -1;
}

/* The file's metrics into m; -1 with *err and *lineno when a line is not the text format. */
static int parse_file(char *text, size_t len, struct metrics *m, const char **err, int *lineno)
{
	char *line = text, *next;

	if (strlen(text) != len) {
		*lineno = 1;
		return *err = "a NUL byte in the file", -1;
	}
	for (*lineno = 1; line; line = next, ++*lineno) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		char *p = (char *)skip_blank(line);
		if (*p && (*p == '#' ? parse_comment(m, p, err) : parse_sample(m, p, err)) < 0)
			return -1;
	}
	return 0;
}

/* Integers without exponent; fractions in the fewest digits that read back the same. */
static void format_value(double v, char *buf, size_t size)
{
	if (isnan(v))
		snprintf(buf, size, "NaN");
	else if (isinf(v))
		snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e21)
		snprintf(buf, size, "%.0f", v == 0 ? 0.0 : v);
	else
		for (int prec = 15; prec <= 17; prec++)
			if (snprintf(buf, size, "%.*g", prec, v) > 0 && strtod(buf, NULL) == v)
				break;
}

static int by_series(const void *a, const void *b)
{
	const struct series *x = *(const struct series *const *)a, *y = *(const struct series *const *)b;
	int c = strcmp(x->family, y->family);

	if (!c && x->ordered && y->ordered)
		return (x->pos > y->pos) - (x->pos < y->pos);
	if (!c)
		c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->labels, y->labels);
}

static int by_family(const void *a, const void *b)
{
	return strcmp(((const struct family *)a)->name, ((const struct family *)b)->name);
}

static void render_series(const struct series *s, struct sb_buf *b)
{
	char value[64];

	if (s->line) {
		sb_buf_addf(b, "%s\n", s->line);
		return;
	}
	format_value(s->value, value, sizeof value);
	sb_buf_addf(b, "%s%s%s%s %s\n", s->name, *s->labels ? "{" : "", s->labels, *s->labels ? "}" : "", value);
}

/* Each metric's HELP and TYPE, then its series: metrics by name, series by name and labels. */
static char *render(struct metrics *m, size_t *len)
{
	struct series **order = sb_malloc((m->ns + 1) * sizeof *order);
	struct sb_buf b = {0};
	size_t k = 0;

	for (size_t i = 0; i < m->ns; i++) {
		order[i] = &m->s[i];
		family_get(m, m->s[i].family, 1); /* every series under a metric */
	}
	qsort(order, m->ns, sizeof *order, by_series);
	qsort(m->f, m->nf, sizeof *m->f, by_family);
	for (size_t i = 0; i < m->nf; i++) {
		const struct family *f = &m->f[i];
		if (f->help)
			sb_buf_addf(&b, "# HELP %s%s%s\n", f->name, *f->help ? " " : "", f->help);
		if (f->type)
			sb_buf_addf(&b, "# TYPE %s %s\n", f->name, f->type);
		for (; k < m->ns && strcmp(order[k]->family, f->name) == 0; k++)
			render_series(order[k], &b);
	}
	free(order);
	*len = b.n;
	return sb_buf_take(&b);
}

/* HELP text escapes backslash and newline. */
static char *escape_help(const char *help)
{
	struct sb_buf b = {0};

	for (const char *p = help ? help : ""; *p; p++)
		if (*p == '\\' || *p == '\n')
			sb_buf_str(&b, *p == '\\' ? "\\\\" : "\\n");
		else
			sb_buf_add(&b, p, 1);
	return sb_buf_take(&b);
}

/* ---- this run's counters ---- */

void sb_selfmetric_add(const char *name, const char *labels, double value, const char *help)
{
	const char *err = NULL, *end;
	char *canon = NULL;

	if (!*name || name_length(name, 1) != strlen(name))
		err = "not a metric name";
	else if (!isfinite(value) || value < 0)
		err = "a counter only grows";
	else
		canon = canonical_labels(labels ? labels : "", '\0', &end, &err);
	if (!canon) {
		sb_warn("metric %s{%s}: %s: not counted", name, labels ? labels : "", err);
		return;
	}
	pthread_mutex_lock(&pending_lock);
	if (!disabled) {
		struct family *f = family_get(&pending, name, 1);
		struct series *s = series_get(&pending, name, canon);
		if (!f->help) {
			f->help = escape_help(help);
			f->type = sb_strdup("counter");
		}
		if (!s)
			s = series_add(&pending, name, name, canon);
		s->value += value;
	}
	pthread_mutex_unlock(&pending_lock);
	free(canon);
}

void sb_selfmetrics_disable(void)
{
	pthread_mutex_lock(&pending_lock);
	disabled = 1;
	metrics_free(&pending);
	pthread_mutex_unlock(&pending_lock);
}

/* Add this run's counters to the file's; this run's HELP of a metric replaces the file's. */
static void merge(struct metrics *file, const struct metrics *run)
{
	for (size_t i = 0; i < run->nf; i++) {
		struct family *f = family_get(file, run->f[i].name, 1);
		free(f->help);
		free(f->type);
		f->help = sb_strdup(run->f[i].help);
		f->type = sb_strdup(run->f[i].type);
	}
	for (size_t i = 0; i < run->ns; i++) {
		const struct series *r = &run->s[i];
		struct series *s = series_get(file, r->name, r->labels);
		if (!s)
			s = series_add(file, r->family, r->name, r->labels);
		s->value += r->value;
		free(s->line);
		s->line = NULL;
	}
}

/* sb_warn, once a run: a long-running tool flushes again and again. */
static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void complain(const char *fmt, ...)
{
	int saved = errno;
	size_t n = strlen(fmt);
	va_list ap;
	char *msg;

	if (warned)
		return;
	va_start(ap, fmt);
	msg = sb_vasprintf(fmt, ap);
	va_end(ap);
	errno = saved;
	if (n > 0 && fmt[n - 1] == ':') {
		msg[strlen(msg) - 1] = '\0'; /* sb_warn puts it back, with errno's text */
		sb_warn("%s:", msg);
	} else {
		sb_warn("%s", msg);
	}
	free(msg);
}

/*
 * The state directory by the rules of sb_state_dir, which exits when it
 * cannot be created: a tool that cannot write its metrics still did its work.
 */
static char *state_dir_of(const struct sb_common *c)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (c && c->state_dir && *c->state_dir)
		return sb_strdup(c->state_dir);
	if (xdg && *xdg)
		return sb_asprintf("%s/sb", xdg);
	if (home && *home)
		return sb_asprintf("%s/.local/state/sb", home);
	return NULL;
}

/*
 * metrics/ with its parents, or NULL after a message. The state directory
 * stays private (0700, as sb_state_dir makes it); metrics/ may be read by
 * node_exporter once the state directory is opened to it.
 */
static char *metrics_dir(const struct sb_common *c)
{
	char *state = state_dir_of(c), *dir;

	if (!state) {
		complain("cannot write metrics: no state directory (set --state-dir, SB_STATE_DIR or HOME)");
		return NULL;
	}
	dir = sb_asprintf("%s/metrics", state);
	if (sb_mkdirs(state, 0700) < 0 || sb_mkdirs(dir, 0755) < 0) {
		complain("cannot write metrics: cannot create '%s':", dir);
		free(dir);
		dir = NULL;
	}
	free(state);
	return dir;
}

/* The file's counters plus the run's, written back; holds the lock. */
static int update_file(const char *path, const struct metrics *run)
{
	struct metrics file = {0};
	size_t len;
	char *text = sb_read_file(path, &len), *out;
	const char *err;
	int lineno, rc;

	if (!text && errno != ENOENT) {
		complain("cannot read metrics '%s':", path);
		return -1;
	}
	if (text && parse_file(text, len, &file, &err, &lineno) < 0) {
		sb_warn("%s:%d: %s: not a metrics file; rewritten from this run's counters", path, lineno, err);
		metrics_free(&file);
	}
	free(text);
	merge(&file, run);
	out = render(&file, &len);
	rc = sb_write_atomic(path, out, len, 0644);
	if (rc < 0)
		complain("cannot write metrics '%s':", path);
	free(out);
	metrics_free(&file);
	return rc;
}

/* Lock, merge, write; 0 or -1 after a message. */
static int write_metrics(const struct sb_common *c, const struct metrics *run)
{
	char *dir = metrics_dir(c), *path, *lock;
	int fd, rc = -1;

	if (!dir)
		return -1;
	path = sb_asprintf("%s/sb.prom", dir);
	lock = sb_asprintf("%s/sb.prom.lock", dir);
	/* The lock is a file of its own: sb.prom itself is replaced by rename. */
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		complain("cannot write metrics: cannot open '%s':", lock);
	} else {
		while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
			;
		if (rc < 0)
			complain("cannot write metrics: cannot lock '%s':", lock);
		else
			rc = update_file(path, run);
		close(fd);
	}
	free(lock);
	free(path);
	free(dir);
	return rc;
}

int sb_selfmetrics_flush(const struct sb_common *c)
{
	int rc = 0;

	pthread_mutex_lock(&pending_lock);
	if (!disabled && pending.ns > 0)
		rc = write_metrics(c, &pending);
	/* After a failure the counters are kept for a later call, which stays quiet about it. */
	if (rc == 0)
		metrics_free(&pending);
	else
		warned = 1;
	pthread_mutex_unlock(&pending_lock);
	return rc;
}
