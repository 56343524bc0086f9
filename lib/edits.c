/* edits.c - model answers in three edit formats, applied flexibly but never ambiguously */
#include "edits.h"
#include "err.h"
#include "strbuf.h"
#include "fsutil.h"
#include "hash.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- strings ---- */

/* A slice of text, not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* strchr finds the terminating NUL too: a NUL byte is in no set here. */
static int in_set(char c, const char *set) { return c && strchr(set, c); }

static struct span rtrim(struct span s)
{
	while (s.n && is_ws(s.p[s.n - 1]))
		s.n--;
	return s;
}

static struct span ltrim(struct span s)
{
	while (s.n && is_ws(*s.p))
		s.p++, s.n--;
	return s;
}

static struct span trim(struct span s) { return ltrim(rtrim(s)); }

static int blank(struct span s) { return trim(s).n == 0; }

static int span_eq(struct span a, struct span b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int span_is(struct span s, const char *lit) { return span_eq(s, (struct span){lit, strlen(lit)}); }

static int starts(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

static int has_nul(struct span s) { return s.n && memchr(s.p, '\0', s.n) != NULL; }

static int has_char(struct span s, char c) { return s.n && memchr(s.p, c, s.n) != NULL; }

static size_t indent_of(struct span s)
{
	size_t i = 0;

	while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
		i++;
	return i;
}

static char *span_dup(struct span s) { return sb_strndup(s.n ? s.p : "", s.n); }

static int all_blank(const struct span *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!blank(v[i]))
			return 0;
	return 1;
}

static int any_nul(const struct span *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (has_nul(v[i]))
			return 1;
	return 0;
}

/* ---- the answer's lines ---- */

struct lines {
	struct span *v;
	size_t n;
};

/* Lines without their LF or CRLF: answers come with either. */
static struct lines split_lines(const char *s, size_t len)
{
	struct lines L = {NULL, 0};
	size_t cap = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '\n')
			continue;
		if (i == len && start == len)
			break;
		struct span line = {s + start, i - start};
		if (line.n && line.p[line.n - 1] == '\r')
			line.n--;
		if (L.n == cap)
			L.v = sb_realloc(L.v, (cap = cap ? cap * 2 : 64) * sizeof *L.v);
		L.v[L.n++] = line;
		start = i + 1;
	}
	return L;
}

/* ---- file content as lines ---- */

struct text {
	struct span *v; /* lines without their newline, each allocated */
	size_t n, cap;
	int eol;        /* the last line ends with a newline */
	int crlf;       /* the file's lines end with CR LF: edits are made in LF and joined back */
};

static void text_push(struct text *t, struct span line)
{
	if (t->n == t->cap)
		t->v = sb_realloc(t->v, (t->cap = t->cap ? t->cap * 2 : 64) * sizeof *t->v);
	t->v[t->n++] = line;
}

static void text_clear(struct text *t)
{
	for (size_t i = 0; i < t->n; i++)
		free((char *)t->v[i].p);
	t->n = 0;
	t->eol = 1;
}

static void text_free(struct text *t)
{
	text_clear(t);
	free(t->v);
	t->v = NULL;
	t->cap = 0;
}

static void text_load(struct text *t, const char *s, size_t len)
{
	size_t crlf = 0, lf = 0, start = 0;

	text_clear(t);
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' && i && s[i - 1] == '\r')
			crlf++;
		else if (s[i] == '\n')
			lf++;
	t->crlf = crlf && !lf;
	if (!len)
		return;
	t->eol = s[len - 1] == '\n';
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '\n')
			continue;
		if (i == len && start == len)
			break;
		struct span line = {s + start, i - start};
		if (t->crlf && line.n && line.p[line.n - 1] == '\r')
			line.n--;
		text_push(t, (struct span){span_dup(line), line.n});
		start = i + 1;
	}
}

static char *text_join(const struct text *t)
{
	struct sb_buf b = {0};
	const char *nl = t->crlf ? "\r\n" : "\n";

	for (size_t i = 0; i < t->n; i++) {
		sb_buf_add(&b, t->v[i].p, t->v[i].n);
		if (i + 1 < t->n || t->eol)
			sb_buf_str(&b, nl);
	}
	return sb_buf_take(&b);
}

/* Replace del lines at at with the n lines of ins, taking ownership of ins and its lines. */
static void text_splice(struct text *t, size_t at, size_t del, struct span *ins, size_t n)
{
	for (size_t i = at; i < at + del; i++)
		free((char *)t->v[i].p);
	while (t->n - del + n > t->cap)
		t->v = sb_realloc(t->v, (t->cap = t->cap ? t->cap * 2 : 64) * sizeof *t->v);
	if (t->n > at + del)
		memmove(t->v + at + n, t->v + at + del, (t->n - at - del) * sizeof *t->v);
	if (n)
		memcpy(t->v + at, ins, n * sizeof *ins);
	t->n = t->n - del + n;
	free(ins);
}

static int text_blank(const struct text *t) { return all_blank(t->v, t->n); }

/* ---- shortest edit script, for diffs and for pairing an edit's lines ---- */

struct dline {
	const char *p;
	size_t n;
	uint64_t h;
	int noeol; /* the last line, without a newline: it differs from the same text with one */
};

static size_t diff_lines(const char *s, struct dline **out)
{
	size_t n = 0, len = s ? strlen(s) : 0, start = 0;

	*out = NULL;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	n += len && s[len - 1] != '\n';
	if (!n)
		return 0;
	*out = sb_calloc(n, sizeof **out);
	for (size_t k = 0; k < n; k++) {
		const char *nl = memchr(s + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - s) : len;
		(*out)[k] = (struct dline){s + start, end - start, sb_fnv1a(s + start, end - start), !nl};
		start = end + 1;
	}
	return n;
}

static int dline_eq(const struct dline *a, const struct dline *b)
{
	return a->h == b->h && a->n == b->n && a->noeol == b->noeol && (!a->n || memcmp(a->p, b->p, a->n) == 0);
}

enum { OP_EQ, OP_DEL, OP_INS };

/* One line of the edit script: a and b are the positions in the old and the new text. */
struct op {
	int kind;
	size_t a, b;
};

struct script {
	struct op *v;
	size_t n, cap;
};

static void op_add(struct script *s, int kind, size_t a, size_t b)
{
	if (s->n == s->cap)
		s->v = sb_realloc(s->v, (s->cap = s->cap ? s->cap * 2 : 64) * sizeof *s->v);
	s->v[s->n++] = (struct op){kind, a, b};
}

/*
 * Beyond this many differing lines the shortest edit script is not worth
 * its memory (the search keeps D*D positions): the middle of the texts is
 * then given as removed and added whole, a correct if longer diff.
 */
#define MYERS_MAX_D 2000

/*
 * One move onto diagonal k = x - y in round d, from round d - 1's furthest
 * points P: down (a line of b inserted) from diagonal k + 1 or right (a line
 * of a deleted) from k - 1, whichever gets further without leaving the
 * texts; -1 when neither can. The walk back makes the same choice.
 */
static long step(const long *P, long k, long d, long N, long M, int *down)
{
	long xd = -1, xr = -1;

	if (k + 1 <= d - 1 && P[k + 1] >= 0 && P[k + 1] - k <= M)
		xd = P[k + 1];
	if (k - 1 >= 1 - d && P[k - 1] >= 0 && P[k - 1] + 1 <= N)
		xr = P[k - 1] + 1;
	*down = xd >= xr;
	return *down ? xd : xr;
}

/*
 * Myers' O(ND) greedy search for the shortest edit script from a (N lines)
 * to b (M lines), appended to s with positions offset by a0 and b0. Round d
 * keeps in V[k] the furthest x reached on each diagonal k with d edits; all
 * rounds are kept to walk the path back from (N, M).
 */
static void myers(const struct dline *a, long N, const struct dline *b, long M, size_t a0, size_t b0,
		  struct script *s)
{
	long *trace = NULL, D = -1, x, y;
	size_t cap = 0, start = s->n;
	int down;

	for (long d = 0; d <= N + M && d <= MYERS_MAX_D && D < 0; d++) {
		if ((size_t)((d + 1) * (d + 1)) > cap) {
			cap = (size_t)((d + 1) * (d + 1)) * 2;
			trace = sb_realloc(trace, cap * sizeof *trace);
		}
		long *V = trace + d * d + d, *P = d ? trace + (d - 1) * (d - 1) + (d - 1) : NULL;
		for (long k = -d; k <= d; k += 2) {
			x = d ? step(P, k, d, N, M, &down) : 0;
			V[k] = x;
			if (x < 0)
				continue;
			y = x - k;
			while (x < N && y < M && dline_eq(&a[x], &b[y]))
				x++, y++;
			V[k] = x;
			if (x == N && y == M) {
				D = d;
				break;
			}
		}
	}
	if (D < 0) {
		for (long i = 0; i < N; i++)
			op_add(s, OP_DEL, a0 + (size_t)i, b0);
		for (long j = 0; j < M; j++)
			op_add(s, OP_INS, a0 + (size_t)N, b0 + (size_t)j);
		free(trace);
		return;
	}
	/* Walk back from (N, M), emitting the script in reverse. */
	x = N, y = M;
	for (long d = D; d > 0; d--) {
		long *P = trace + (d - 1) * (d - 1) + (d - 1), k = x - y;
		long mx = step(P, k, d, N, M, &down);
		long px = down ? P[k + 1] : P[k - 1], py = px - (down ? k + 1 : k - 1);
		while (x > mx)
			x--, y--, op_add(s, OP_EQ, a0 + (size_t)x, b0 + (size_t)y);
		op_add(s, down ? OP_INS : OP_DEL, a0 + (size_t)px, b0 + (size_t)py);
		x = px, y = py;
	}
	while (x > 0)
		x--, y--, op_add(s, OP_EQ, a0 + (size_t)x, b0 + (size_t)y);
	for (size_t i = start, j = s->n ? s->n - 1 : 0; i < j; i++, j--) {
		struct op t = s->v[i];
		s->v[i] = s->v[j];
		s->v[j] = t;
	}
	free(trace);
}

/* The edit script, with the common head and tail taken off before the search. */
static void edit_script(const struct dline *a, size_t na, const struct dline *b, size_t nb, struct script *s)
{
	size_t head = 0, tail = 0;

	while (head < na && head < nb && dline_eq(&a[head], &b[head]))
		head++;
	while (tail < na - head && tail < nb - head && dline_eq(&a[na - 1 - tail], &b[nb - 1 - tail]))
		tail++;
	for (size_t i = 0; i < head; i++)
		op_add(s, OP_EQ, i, i);
	myers(a + head, (long)(na - head - tail), b + head, (long)(nb - head - tail), head, head, s);
	for (size_t i = tail; i > 0; i--)
		op_add(s, OP_EQ, na - i, nb - i);
}

/* ---- paths ---- */

static int dotdot(const char *path)
{
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static int control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int sb_path_safe(const char *path)
{
	return path && *path && *path != '/' && !dotdot(path) && !control_char(path);
}

/* The path without "." components and repeated slashes: "" when nothing is left. */
static char *path_normalise(const char *path)
{
	struct sb_buf b = {0};

	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if (n && !(n == 1 && *p == '.')) {
			if (b.n)
				sb_buf_str(&b, "/");
			sb_buf_add(&b, p, n);
		}
		p += n;
		if (*p)
			p++;
	}
	return sb_buf_take(&b);
}

/* ---- the files an answer edits ---- */

struct work {
	char *path;     /* normalised, relative to the root */
	char *orig;     /* the file as it is on disk, NULL when absent */
	size_t orig_len;
	struct text t;  /* its content after the edits so far */
	int exists;     /* after the edits so far */
};

struct ctx {
	const char *root;
	char *real_root;
	unsigned flags;
	struct work *w;
	size_t n, cap;
	char *err;
	size_t errsize;
};

__attribute__((format(printf, 2, 3))) static int fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->errsize) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errsize, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int ctx_init(struct ctx *c, const char *root, unsigned flags, char *err, size_t errsize)
{
	memset(c, 0, sizeof *c);
	c->root = root;
	c->flags = flags;
	c->err = err;
	c->errsize = errsize;
	if (errsize)
		err[0] = '\0';
	if (!root)
		return fail(c, "no component directory");
	c->real_root = realpath(root, NULL);
	if (!c->real_root)
		return fail(c, "%s: %s", root, strerror(errno));
	return 0;
}

static void ctx_free(struct ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->w[i].path);
		free(c->w[i].orig);
		text_free(&c->w[i].t);
	}
	free(c->w);
	free(c->real_root);
}

/* Under the resolved root, which has no trailing slash to count with. */
static char *full_path(const struct ctx *c, const char *rel)
{
	return sb_asprintf("%s/%s", strcmp(c->real_root, "/") ? c->real_root : "", rel);
}

static int inside_root(const struct ctx *c, const char *real)
{
	size_t n = strlen(c->real_root);

	if (strcmp(c->real_root, "/") == 0)
		return 1;
	return strncmp(real, c->real_root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

/*
 * A relative path can still leave the component through a symbolic link:
 * resolve the file, or its deepest existing directory when it does not
 * exist yet, and check that the result lies under the resolved root.
 */
static int check_inside(struct ctx *c, const char *full, const char *shown)
{
	size_t rootlen = strlen(c->real_root);
	char *p, *real = NULL;
	struct stat st;
	int rc = 0;

	if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode) && stat(full, &st) != 0)
		return fail(c, "%s: dangling symbolic link", shown);
	p = sb_strdup(full);
	for (;;) {
		real = realpath(p, NULL);
		if (real || errno != ENOENT)
			break;
		char *slash = strrchr(p, '/');
		if (!slash || (size_t)(slash - p) < rootlen)
			break;
		*slash = '\0';
	}
	if (!real)
		rc = fail(c, "%s: %s", shown, strerror(errno));
	else if (!inside_root(c, real))
		rc = fail(c, "%s: path outside the component (through a symbolic link)", shown);
	free(real);
	free(p);
	return rc;
}

static int check_path(struct ctx *c, const char *shown)
{
	if (!*shown)
		return fail(c, "empty file path");
	if (*shown == '/')
		return fail(c, "%s: path outside the component (absolute path)", shown);
	if (dotdot(shown))
		return fail(c, "%s: path outside the component", shown);
	if (control_char(shown))
		return fail(c, "%s: control character in the file path", shown);
	return 0;
}

static int load_work(struct ctx *c, struct work *w, const char *full)
{
	struct stat st;

	w->t.eol = 1;
	if (stat(full, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return fail(c, "%s: %s", w->path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return fail(c, "%s: not a regular file", w->path);
	w->orig = sb_read_file(full, &w->orig_len);
	if (!w->orig)
		return fail(c, "%s: cannot read: %s", w->path, strerror(errno));
	if (strlen(w->orig) != w->orig_len)
		return fail(c, "%s: binary file", w->path);
	text_load(&w->t, w->orig, w->orig_len);
	w->exists = 1;
	return 0;
}

/* The file the answer names with raw, read on first use; errors name it as given. */
static int get_work(struct ctx *c, struct span raw, struct work **out)
{
	char *shown, *norm, *full;
	struct work *w;
	int rc;

	if (has_nul(raw))
		return fail(c, "file path with a NUL byte");
	shown = span_dup(raw);
	norm = path_normalise(shown);
	rc = check_path(c, shown);
	if (!rc && !*norm)
		rc = fail(c, "%s: not a file path", shown);
	for (size_t i = 0; !rc && i < c->n; i++) {
		if (strcmp(c->w[i].path, norm) == 0) {
			*out = &c->w[i];
			free(shown);
			free(norm);
			return 0;
		}
	}
	full = rc ? NULL : full_path(c, norm);
	if (!rc)
		rc = check_inside(c, full, shown);
	free(shown);
	if (rc) {
		free(norm);
		free(full);
		return rc;
	}
	if (c->n == c->cap)
		c->w = sb_realloc(c->w, (c->cap = c->cap ? c->cap * 2 : 8) * sizeof *c->w);
	w = &c->w[c->n++];
	memset(w, 0, sizeof *w);
	w->path = norm;
	rc = load_work(c, w, full);
	free(full);
	*out = w;
	return rc;
}

/* Is rel an existing regular file of the component? For names given without a directory or extension. */
static int component_has(struct ctx *c, struct span rel)
{
	char *s = span_dup(rel), *full;
	struct stat st;
	int yes = 0;

	if (sb_path_safe(s) && !has_nul(rel)) {
		full = full_path(c, s);
		yes = stat(full, &st) == 0 && S_ISREG(st.st_mode);
		free(full);
	}
	free(s);
	return yes;
}

/* ---- locating an edit's text ---- */

/*
 * How far to look when an exact match fails. Each level is tried only when
 * the previous ones found nothing, and whatever a level finds must be one
 * place: two is an ambiguity to report, never a guess.
 */
enum level { EXACT, TRAILING, INDENT };

/* The indentation the file has more (add) or less than the edit's text. */
struct shift {
	const char *p;
	size_t n;
	int add;
};

/* Find how the indentation of file line f differs from that of edit line e. */
static int shift_of(struct span f, struct span e, struct shift *sh)
{
	size_t fi = indent_of(f), ei = indent_of(e);

	if (fi >= ei && memcmp(f.p + fi - ei, e.p, ei) == 0)
		*sh = (struct shift){f.p, fi - ei, 1};
	else if (ei > fi && memcmp(e.p + ei - fi, f.p, fi) == 0)
		*sh = (struct shift){e.p, ei - fi, 0};
	else
		return 0;
	return 1;
}

/* Does the indentation of f differ from e's by exactly sh? */
static int shifted(struct span f, struct span e, const struct shift *sh)
{
	size_t fi = indent_of(f), ei = indent_of(e);

	if (sh->add)
		return fi == sh->n + ei && memcmp(f.p, sh->p, sh->n) == 0 && memcmp(f.p + sh->n, e.p, ei) == 0;
	return ei == sh->n + fi && memcmp(e.p, sh->p, sh->n) == 0 && memcmp(e.p + sh->n, f.p, fi) == 0;
}

/*
 * Do the k file lines f match the edit's lines e at level lv? At INDENT the
 * lines must agree once stripped, blank with blank, and every indentation
 * must differ by the same prefix, so that the block keeps its shape.
 */
static int lines_match(const struct span *f, const struct span *e, size_t k, enum level lv, struct shift *sh)
{
	int have = 0;

	*sh = (struct shift){NULL, 0, 1};
	for (size_t i = 0; i < k; i++) {
		if (lv == EXACT) {
			if (!span_eq(f[i], e[i]))
				return 0;
		} else if (lv == TRAILING) {
			if (!span_eq(rtrim(f[i]), rtrim(e[i])))
				return 0;
		} else if (blank(f[i]) || blank(e[i])) {
			if (!blank(f[i]) || !blank(e[i]))
				return 0;
		} else if (!span_eq(trim(f[i]), trim(e[i]))) {
			return 0;
		} else if (!have) {
			if (!shift_of(f[i], e[i], sh))
				return 0;
			have = 1;
		} else if (!shifted(f[i], e[i], sh)) {
			return 0;
		}
	}
	return 1;
}

/* How many places of t match the k lines e at level lv; the first in *at and *sh. */
static size_t find_level(const struct text *t, const struct span *e, size_t k, enum level lv, size_t *at,
			 struct shift *sh)
{
	size_t count = 0;
	struct shift s;

	if (!k || k > t->n)
		return 0;
	for (size_t p = 0; p + k <= t->n; p++) {
		if (!lines_match(t->v + p, e, k, lv, &s))
			continue;
		if (!count++) {
			*at = p;
			*sh = s;
		}
	}
	return count;
}

/* The number of places found at the first level that finds any (0: none). */
static size_t locate(const struct ctx *c, const struct text *t, const struct span *e, size_t k, size_t *at,
		     struct shift *sh)
{
	enum level top = c->flags & SB_EDITS_EXACT ? EXACT : INDENT;

	for (enum level lv = EXACT; lv <= top; lv++) {
		size_t n = find_level(t, e, k, lv, at, sh);
		if (n)
			return n;
	}
	return 0;
}

/* Copies of the replacement lines r, re-indented by the shift found where they go. */
static struct span *reindent(const struct span *r, size_t k, const struct shift *sh)
{
	struct span *out = sb_calloc(k ? k : 1, sizeof *out);

	for (size_t i = 0; i < k; i++) {
		struct span s = r[i];
		char *line;
		if (!sh->n || blank(s)) {
			line = span_dup(s);
		} else if (sh->add) {
			line = sb_malloc(sh->n + s.n + 1);
			memcpy(line, sh->p, sh->n);
			memcpy(line + sh->n, s.p, s.n);
			line[sh->n + s.n] = '\0';
		} else {
			size_t cut = s.n >= sh->n && memcmp(s.p, sh->p, sh->n) == 0 ? sh->n : indent_of(s);
			line = span_dup((struct span){s.p + cut, s.n - cut});
		}
		out[i] = (struct span){line, strlen(line)};
	}
	return out;
}

static struct dline *span_dlines(const struct span *v, size_t n)
{
	struct dline *d = sb_calloc(n ? n : 1, sizeof *d);

	for (size_t i = 0; i < n; i++)
		d[i] = (struct dline){v[i].p, v[i].n, sb_fnv1a(v[i].n ? v[i].p : "", v[i].n), 0};
	return d;
}

/*
 * Replace the ne file lines at at, which matched the edit's lines e, with
 * r. Lines r keeps from e (paired by the shortest edit script) keep the
 * file's own version, whitespace included, so that a flexible match changes
 * no line the edit did not mean to change; the others are re-indented.
 */
static void replace_lines(struct text *t, size_t at, const struct span *e, size_t ne, const struct span *r,
			  size_t nr, const struct shift *sh)
{
	struct span *out = reindent(r, nr, sh);
	struct dline *de = span_dlines(e, ne), *dr = span_dlines(r, nr);
	struct script s = {NULL, 0, 0};

	edit_script(de, ne, dr, nr, &s);
	for (size_t i = 0; i < s.n; i++) {
		const struct op *o = &s.v[i];
		struct span f = t->v[at + o->a];
		if (o->kind != OP_EQ || !span_eq(trim(f), trim(e[o->a])))
			continue;
		free((char *)out[o->b].p);
		out[o->b] = (struct span){span_dup(f), f.n};
	}
	free(s.v);
	free(de);
	free(dr);
	text_splice(t, at, ne, out, nr);
}

static void set_lines(struct work *w, const struct span *r, size_t k)
{
	struct shift none = {NULL, 0, 1};

	text_clear(&w->t);
	text_splice(&w->t, 0, 0, reindent(r, k, &none), k);
	w->exists = 1;
}

/* ---- lazy answers ---- */

static int comment_lead(struct span s)
{
	static const char *const leads[] = {"#", "//", "/*", "{/*", "<!--", "--", ";", "*", "...", "\xe2\x80\xa6"};

	for (size_t i = 0; i < sizeof leads / sizeof *leads; i++)
		if (starts(s, leads[i]))
			return 1;
	return 0;
}

/*
 * A comment standing for code the model left out ("# ... existing code
 * ..."): taken literally it would delete that code.
 */
static int elides(struct span s)
{
	static const char *const words[] = {"existing", "unchanged", "rest of", "remain", "omitted", "same as"};
	int hit = 0;

	s = trim(s);
	if (!comment_lead(s) || (!memmem(s.p, s.n, "...", 3) && !memmem(s.p, s.n, "\xe2\x80\xa6", 3)))
		return 0;
	char *line = span_dup(s);
	for (size_t i = 0; !hit && i < sizeof words / sizeof *words; i++)
		hit = strcasestr(line, words[i]) != NULL;
	free(line);
	return hit;
}

/* Refuse new text with such a comment, unless the file already has it. */
static int check_elision(struct ctx *c, const struct work *w, const struct span *r, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		struct span s = trim(r[i]);
		if (!elides(s) || (w->orig && memmem(w->orig, w->orig_len, s.p, s.n)))
			continue;
		return fail(c, "%s: the new text leaves code out (\"%.*s\"): write it in full", w->path,
			    (int)(s.n > 60 ? 60 : s.n), s.p);
	}
	return 0;
}

/* ---- file names in the answer ---- */

/* Strip what models put around a file name: `x`, **x**, "x", # x, ## x, - x, 1. x, File: x, x: */
static struct span undecorate(struct span s, int *decorated)
{
	static const char *const labels[] = {"file:", "filename:", "file name:", "path:"};
	struct span before;

	*decorated = 0;
	do {
		before = s;
		s = trim(s);
		while (s.n && in_set(s.p[0], "#*`'\""))
			s.p++, s.n--, *decorated = 1;
		while (s.n && in_set(s.p[s.n - 1], "*`'\":"))
			*decorated |= s.p[s.n - 1] != ':', s.n--;
		s = trim(s);
		if (starts(s, "- "))
			s.p += 2, s.n -= 2;
		size_t d = 0;
		while (d < s.n && s.p[d] >= '0' && s.p[d] <= '9')
			d++;
		if (d && d + 1 < s.n && s.p[d] == '.' && s.p[d + 1] == ' ')
			s.p += d + 2, s.n -= d + 2;
		for (size_t i = 0; i < sizeof labels / sizeof *labels; i++) {
			size_t n = strlen(labels[i]);
			if (s.n >= n && strncasecmp(s.p, labels[i], n) == 0) {
				s.p += n, s.n -= n;
				*decorated = 1;
			}
		}
	} while (!span_eq(s, before));
	return s;
}

static int has_ext(struct span s)
{
	for (size_t i = 0; i + 1 < s.n; i++)
		if (s.p[i] == '.' && ((s.p[i + 1] >= 'a' && s.p[i + 1] <= 'z') || (s.p[i + 1] >= 'A' && s.p[i + 1] <= 'Z') ||
				      (s.p[i + 1] >= '0' && s.p[i + 1] <= '9')))
			return 1;
	return 0;
}

static int has_alnum(struct span s)
{
	for (size_t i = 0; i < s.n; i++)
		if ((s.p[i] >= 'a' && s.p[i] <= 'z') || (s.p[i] >= 'A' && s.p[i] <= 'Z') || (s.p[i] >= '0' && s.p[i] <= '9'))
			return 1;
	return 0;
}

/*
 * Does s, undecorated, look like a file name rather than prose? No
 * whitespace, and a directory, an extension, decoration or an existing file
 * ("Makefile") to tell it from a word such as "Changes:".
 */
static int path_like(struct ctx *c, struct span s, int decorated)
{
	if (!s.n || has_char(s, ' ') || has_char(s, '\t'))
		return 0;
	if (has_nul(s))
		return 1; /* so that the reason names it */
	if (!has_alnum(s) || s.p[s.n - 1] == '.')
		return 0;
	return has_char(s, '/') || has_ext(s) || decorated || component_has(c, s);
}

/* A prose line naming exactly one existing file ("Here is the updated `src/app.py`:"). */
static int path_in_prose(struct ctx *c, struct span line, struct span *out)
{
	size_t found = 0;

	for (size_t i = 0; i < line.n;) {
		while (i < line.n && is_ws(line.p[i]))
			i++;
		size_t j = i;
		while (j < line.n && !is_ws(line.p[j]))
			j++;
		struct span tok = {line.p + i, j - i};
		while (tok.n && in_set(tok.p[0], "`*\"'("))
			tok.p++, tok.n--;
		while (tok.n && in_set(tok.p[tok.n - 1], "`*\"'(),:;.!?"))
			tok.n--;
		if (tok.n && (has_char(tok, '/') || has_ext(tok)) && component_has(c, tok)) {
			if (found && !span_eq(*out, tok))
				return 0;
			*out = tok;
			found = 1;
		}
		i = j;
	}
	return found != 0;
}

/* ---- fences ---- */

struct fence {
	char ch;
	size_t len, indent;
	struct span info;
};

static int fence_open(struct span s, struct fence *f)
{
	size_t i = indent_of(s), n = 0;

	if (i >= s.n || (s.p[i] != '`' && s.p[i] != '~'))
		return 0;
	while (i + n < s.n && s.p[i + n] == s.p[i])
		n++;
	if (n < 3)
		return 0;
	f->ch = s.p[i];
	f->len = n;
	f->indent = i;
	f->info = trim((struct span){s.p + i + n, s.n - i - n});
	return f->ch == '~' || !has_char(f->info, '`');
}

static int fence_close(struct span s, const struct fence *f)
{
	size_t n = 0;

	s = trim(s);
	while (n < s.n && s.p[n] == f->ch)
		n++;
	return n == s.n && n >= f->len;
}

/* A file name in a fence's info string: "```python src/app.py", "```js:web/client.js". */
static int path_in_info(struct span info, struct span *out)
{
	for (size_t i = 0; i < info.n;) {
		while (i < info.n && in_set(info.p[i], " \t:="))
			i++;
		size_t j = i;
		while (j < info.n && !in_set(info.p[j], " \t:="))
			j++;
		int deco;
		struct span tok = undecorate((struct span){info.p + i, j - i}, &deco);
		if (tok.n && tok.p[tok.n - 1] != '.' && (has_char(tok, '/') || has_ext(tok))) {
			*out = tok;
			return 1;
		}
		i = j;
	}
	return 0;
}

/*
 * The file a block is for, from the lines between the previous block and
 * this one: a line holding only the path (looking up to three lines back,
 * past fences and blank lines), else a path in the fence's info string,
 * else one existing file named in the nearest prose line.
 */
static int path_before(struct ctx *c, const struct lines *L, size_t from, size_t to, struct span *out)
{
	struct span prose = {NULL, 0}, info = {NULL, 0};
	size_t seen = 0;
	struct fence f;

	for (size_t j = to; j-- > from && seen < 3;) {
		struct span s = L->v[j];
		int deco;
		if (blank(s))
			continue;
		if (fence_open(s, &f)) {
			if (!info.p)
				info = f.info;
			continue;
		}
		seen++;
		struct span p = undecorate(s, &deco);
		if (path_like(c, p, deco)) {
			*out = p;
			return 1;
		}
		if (!prose.p)
			prose = s;
	}
	if (info.p && path_in_info(info, out))
		return 1;
	return prose.p && path_in_prose(c, prose, out);
}

/* ---- search-replace ---- */

/* "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE", with 5 to 9 marks and any spacing. */
static int is_marker(struct span s, char ch, const char *word)
{
	size_t i = 0;

	s = trim(s);
	while (i < s.n && s.p[i] == ch)
		i++;
	if (i < 5 || i > 9)
		return 0;
	s = trim((struct span){s.p + i, s.n - i});
	if (!word)
		return s.n == 0;
	return s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0;
}

static size_t leading_blank(const struct span *v, size_t n)
{
	size_t i = 0;

	while (i < n && blank(v[i]))
		i++;
	return i;
}

static size_t trailing_blank(const struct span *v, size_t n)
{
	size_t i = 0;

	while (i < n && blank(v[n - 1 - i]))
		i++;
	return i;
}

struct block {
	const struct span *s, *r; /* SEARCH and REPLACE lines */
	size_t ns, nr;
	size_t no;                /* the block's number in the answer */
};

/*
 * Models often open or close SEARCH with a blank line the file does not
 * have there: when nothing else matched, drop those, and as many from the
 * same end of REPLACE.
 */
static size_t locate_trimmed(struct ctx *c, const struct work *w, struct block *b, size_t *at, struct shift *sh)
{
	size_t ls = leading_blank(b->s, b->ns), ts = trailing_blank(b->s, b->ns);
	size_t lr = leading_blank(b->r, b->nr), tr = trailing_blank(b->r, b->nr);

	if ((!ls && !ts) || (c->flags & SB_EDITS_EXACT))
		return 0;
	lr = lr < ls ? lr : ls;
	tr = tr < ts ? tr : ts;
	if (lr + tr > b->nr)
		tr = b->nr - lr;
	b->s += ls, b->ns -= ls + ts;
	b->r += lr, b->nr -= lr + tr;
	return locate(c, &w->t, b->s, b->ns, at, sh);
}

/* An empty SEARCH creates a file, or fills an empty one. */
static int create_with(struct ctx *c, struct work *w, const struct block *b)
{
	if (w->exists && !text_blank(&w->t))
		return fail(c, "%s: empty SEARCH but the file exists (block %zu): quote the lines to replace", w->path,
			    b->no);
	set_lines(w, b->r, b->nr);
	return 0;
}

static int apply_block(struct ctx *c, struct span path, struct block b)
{
	struct work *w;
	struct shift sh;
	size_t at = 0, count;

	if (get_work(c, path, &w))
		return -1;
	if (any_nul(b.s, b.ns) || any_nul(b.r, b.nr))
		return fail(c, "%s: NUL byte in block %zu", w->path, b.no);
	if (check_elision(c, w, b.r, b.nr))
		return -1;
	if (all_blank(b.s, b.ns))
		return create_with(c, w, &b);
	if (!w->exists)
		return fail(c, "%s: no such file (block %zu): an empty SEARCH creates one", w->path, b.no);
	count = locate(c, &w->t, b.s, b.ns, &at, &sh);
	if (!count)
		count = locate_trimmed(c, w, &b, &at, &sh);
	if (count > 1)
		return fail(c, "%s: SEARCH text matches %zu places (block %zu): include more lines to make it unique",
			    w->path, count, b.no);
	if (!count)
		return fail(c, "%s: SEARCH text not found (block %zu): copy the lines exactly as they are in the file",
			    w->path, b.no);
	replace_lines(&w->t, at, b.s, b.ns, b.r, b.nr, &sh);
	return 0;
}

/* Find the ======= and >>>>>>> REPLACE lines of the block opening at line i. */
static int block_ends(struct ctx *c, const struct lines *L, size_t i, struct span path, size_t *mid, size_t *end)
{
	size_t m = i + 1, e;

	while (m < L->n && !is_marker(L->v[m], '=', NULL) && !is_marker(L->v[m], '<', "SEARCH") &&
	       !is_marker(L->v[m], '>', "REPLACE"))
		m++;
	if (m == L->n || !is_marker(L->v[m], '=', NULL))
		return fail(c, "%.*s: SEARCH block at line %zu without its ======= line (answer cut short?)", (int)path.n,
			    path.p, i + 1);
	e = m + 1;
	while (e < L->n && !is_marker(L->v[e], '>', "REPLACE") && !is_marker(L->v[e], '<', "SEARCH"))
		e++;
	if (e == L->n || !is_marker(L->v[e], '>', "REPLACE"))
		return fail(c, "%.*s: SEARCH block at line %zu without its >>>>>>> REPLACE line (answer cut short?)",
			    (int)path.n, path.p, i + 1);
	*mid = m;
	*end = e;
	return 0;
}

/* A block without a path of its own is for the file of the block before it, as models write them. */
static int parse_search_replace(struct ctx *c, const struct lines *L)
{
	struct span path = {NULL, 0}, p;
	size_t from = 0, blocks = 0, mid = 0, end = 0;

	for (size_t i = 0; i < L->n; i++) {
		if (!is_marker(L->v[i], '<', "SEARCH"))
			continue;
		if (path_before(c, L, from, i, &p))
			path = p;
		else if (!path.p)
			return fail(c, "no file path before the SEARCH block at line %zu of the answer", i + 1);
		if (block_ends(c, L, i, path, &mid, &end))
			return -1;
		struct block b = {L->v + i + 1, L->v + mid + 1, mid - i - 1, end - mid - 1, ++blocks};
		if (apply_block(c, path, b))
			return -1;
		i = end;
		from = end + 1;
	}
	return blocks ? 0 : fail(c, "no edits found in the answer");
}

/* ---- udiff ---- */

static int is_header(const struct lines *L, size_t i)
{
	return i + 1 < L->n && starts(L->v[i], "--- ") && starts(L->v[i + 1], "+++ ");
}

static int hunk_ends(const struct lines *L, size_t i)
{
	struct span s = L->v[i];

	return is_header(L, i) || starts(s, "@@") || starts(s, "```") || starts(s, "~~~") || starts(s, "diff ");
}

/* The path of a "--- " or "+++ " line, without a timestamp after a tab; NULL for /dev/null. */
static struct span header_path(struct span line)
{
	struct span s = {line.p + 4, line.n - 4};
	const char *tab = s.n ? memchr(s.p, '\t', s.n) : NULL;

	if (tab)
		s.n = (size_t)(tab - s.p);
	s = trim(s);
	if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"')
		s.p++, s.n -= 2;
	if (span_is(s, "/dev/null"))
		return (struct span){NULL, 0};
	return s;
}

static struct span drop_prefix(struct span s, const char *prefix)
{
	if (s.p && starts(s, prefix) && s.n > strlen(prefix))
		return (struct span){s.p + strlen(prefix), s.n - strlen(prefix)};
	return s;
}

/* Both sides of a file header, with git's a/ and b/ taken off when they are git's. */
static int header_file(struct ctx *c, const struct lines *L, size_t i, struct span *path)
{
	struct span o = header_path(L->v[i]), n = header_path(L->v[i + 1]);
	struct span os = drop_prefix(o, "a/"), ns = drop_prefix(n, "b/");

	if (!o.p && !n.p)
		return fail(c, "file header at line %zu of the answer has /dev/null on both sides", i + 1);
	if (!o.p)
		*path = ns;
	else if (!n.p)
		*path = os;
	else if (span_eq(os, ns))
		*path = os;
	else if (span_eq(o, n) || span_eq(o, ns))
		*path = o;
	else if (span_eq(os, n))
		*path = n;
	else
		return fail(c, "%.*s: the --- and +++ lines name different files (%.*s): renames are not supported",
			    (int)n.n, n.p, (int)o.n, o.p);
	return 0;
}

struct hunk {
	struct span *before, *after; /* context and removed lines; context and added lines */
	size_t nb, na;
	size_t lead, trail;          /* context lines before the first change and after the last */
	int changes;
	int old_noeol, new_noeol;    /* "\ No newline at end of file" */
};

/* The capacity is the next power of two: grow when n is one. */
static void hunk_add(struct span **v, size_t *n, struct span s)
{
	if (!*n || !(*n & (*n - 1)))
		*v = sb_realloc(*v, (*n ? *n * 2 : 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

static void hunk_line(struct hunk *h, char kind, struct span s)
{
	if (kind != '+')
		hunk_add(&h->before, &h->nb, s);
	if (kind != '-')
		hunk_add(&h->after, &h->na, s);
	if (kind == ' ') {
		h->trail++;
		if (!h->changes)
			h->lead++;
	} else {
		h->changes++;
		h->trail = 0;
	}
}

/*
 * Read the hunk starting at *i. Models drop the space of blank context
 * lines, and sometimes of other context lines: within a hunk, a line
 * without a prefix is context; after the last change it ends the hunk, as
 * prose does.
 */
static void read_hunk(const struct lines *L, size_t *i, struct hunk *h)
{
	size_t end = *i, last = SIZE_MAX;
	char prev = 0;

	for (; end < L->n && !hunk_ends(L, end); end++)
		if (L->v[end].n && (L->v[end].p[0] == '-' || L->v[end].p[0] == '+'))
			last = end;
	for (size_t j = *i; j < end; j++) {
		struct span s = L->v[j];
		char k = s.n ? s.p[0] : 0;
		if ((last == SIZE_MAX || j > last) && k != ' ' && k != '\\')
			break;
		if (k == '\\') {
			h->old_noeol |= prev != '+';
			h->new_noeol |= prev != '-';
			continue;
		}
		if (k == '-' || k == '+' || k == ' ')
			hunk_line(h, k, (struct span){s.p + 1, s.n - 1});
		else
			hunk_line(h, ' ', s);
		prev = k == '-' || k == '+' ? k : ' ';
	}
	*i = end;
}

/* Where a hunk goes: del lines at at become after[from, to), re-indented by sh. */
struct place {
	size_t at, del, from, to;
	struct shift sh;
};

/*
 * Context lines a model misremembers stop the whole hunk from matching:
 * drop them from the ends, one more on each side at a time, while the
 * lines left still say something.
 */
static size_t locate_fewer(struct ctx *c, const struct work *w, const struct hunk *h, struct place *pl)
{
	size_t most = h->lead > h->trail ? h->lead : h->trail;

	for (size_t d = 1; d <= most; d++) {
		size_t dl = d < h->lead ? d : h->lead, dt = d < h->trail ? d : h->trail;
		size_t k = h->nb - dl - dt, n;
		if (!k || all_blank(h->before + dl, k))
			break;
		n = locate(c, &w->t, h->before + dl, k, &pl->at, &pl->sh);
		if (n) {
			*pl = (struct place){pl->at, k, dl, h->na - dt, pl->sh};
			return n;
		}
	}
	return 0;
}

/*
 * Removed lines a model misremembers: place the hunk by its context alone,
 * with as many file lines between the leading and the trailing context as
 * the hunk removes. Needs context on both sides.
 */
static size_t locate_by_context(const struct work *w, const struct hunk *h, struct place *pl)
{
	size_t core = h->nb - h->lead - h->trail, count = 0;
	const struct span *tail = h->before + h->nb - h->trail;
	int lead_says = !all_blank(h->before, h->lead);
	struct shift s1, s2;

	if (!h->lead || !h->trail || (!lead_says && all_blank(tail, h->trail)))
		return 0;
	for (size_t p = 0; p + h->nb <= w->t.n; p++) {
		if (!lines_match(w->t.v + p, h->before, h->lead, INDENT, &s1) ||
		    !lines_match(w->t.v + p + h->lead + core, tail, h->trail, INDENT, &s2))
			continue;
		if (!count++)
			*pl = (struct place){p + h->lead, core, h->lead, h->na - h->trail, lead_says ? s1 : s2};
	}
	return count;
}

static int apply_hunk(struct ctx *c, struct work *w, const struct hunk *h, size_t no)
{
	struct place pl = {0, h->nb, 0, h->na, {NULL, 0, 1}};
	size_t count;

	if (any_nul(h->before, h->nb) || any_nul(h->after, h->na))
		return fail(c, "%s: NUL byte in hunk %zu", w->path, no);
	if (check_elision(c, w, h->after, h->na))
		return -1;
	if (all_blank(h->before, h->nb)) {
		/* Nothing to locate: only an empty or new file can take it (blank context then counts for nothing). */
		if (!text_blank(&w->t))
			return fail(c, "%s: hunk %zu has no context or removed lines to place it", w->path, no);
		set_lines(w, h->after, h->na);
	} else {
		count = locate(c, &w->t, h->before, h->nb, &pl.at, &pl.sh);
		if (!count && !(c->flags & SB_EDITS_EXACT))
			count = locate_fewer(c, w, h, &pl);
		if (!count && !(c->flags & SB_EDITS_EXACT))
			count = locate_by_context(w, h, &pl);
		if (count > 1)
			return fail(c, "%s: hunk %zu matches %zu places: include more context lines", w->path, no, count);
		if (!count)
			return fail(c, "%s: hunk %zu not found: its context and removed lines must be as in the file",
				    w->path, no);
		replace_lines(&w->t, pl.at, h->before + pl.from, pl.del, h->after + pl.from, pl.to - pl.from, &pl.sh);
	}
	if (h->new_noeol)
		w->t.eol = 0;
	else if (h->old_noeol)
		w->t.eol = 1;
	return 0;
}

/* Start a file's section: a diff from /dev/null creates it, one to /dev/null deletes it. */
static int start_file(struct ctx *c, const struct lines *L, size_t i, struct work **w, int *deleting)
{
	struct span path;
	int creates = !header_path(L->v[i]).p;

	*deleting = !header_path(L->v[i + 1]).p;
	if (header_file(c, L, i, &path) || get_work(c, path, w))
		return -1;
	if (creates && (*w)->exists)
		return fail(c, "%s: the diff creates it from /dev/null but it exists", (*w)->path);
	if (!creates && !(*w)->exists)
		return fail(c, "%s: no such file (a diff from /dev/null creates one)", (*w)->path);
	if (creates)
		set_lines(*w, NULL, 0);
	if (*deleting) {
		text_clear(&(*w)->t);
		(*w)->exists = 0;
	}
	return 0;
}

static int is_hunk_line(struct span s) { return s.n && (s.p[0] == ' ' || s.p[0] == '-' || s.p[0] == '+'); }

/*
 * A cut-short diff can still apply, leaving a function half removed: when
 * the diff was opened in a fenced block, that block must be closed.
 */
static int track_fence(struct span s, struct fence *f, size_t *open_at, size_t i)
{
	struct fence g;

	if (*open_at && fence_close(s, f))
		*open_at = 0;
	else if (!*open_at && fence_open(s, &g))
		*f = g, *open_at = i + 1;
	else
		return 0;
	return 1;
}

static int parse_udiff(struct ctx *c, const struct lines *L)
{
	struct work *w = NULL;
	size_t i = 0, files = 0, hunks = 0, open_at = 0;
	struct fence f;
	int deleting = 0;

	while (i < L->n) {
		int implicit = 0;
		if (track_fence(L->v[i], &f, &open_at, i)) {
			i++;
		} else if (is_header(L, i)) {
			if (start_file(c, L, i, &w, &deleting))
				return -1;
			files++;
			i += 2;
			/* Some models leave out the @@ line of a file's first hunk. */
			implicit = i < L->n && is_hunk_line(L->v[i]) && !is_header(L, i);
		} else if (starts(L->v[i], "@@")) {
			if (!w)
				return fail(c, "hunk at line %zu of the answer has no ---/+++ file header", i + 1);
			i++;
			implicit = 1;
		} else {
			i++;
		}
		if (!implicit)
			continue;
		struct hunk h = {0};
		read_hunk(L, &i, &h);
		int rc = 0;
		if (h.changes && !deleting)
			rc = apply_hunk(c, w, &h, ++hunks);
		free(h.before);
		free(h.after);
		if (rc)
			return -1;
	}
	if (files && open_at)
		return fail(c, "code block at line %zu not closed (answer cut short?)", open_at);
	return files ? 0 : fail(c, "no edits found in the answer");
}

/* ---- whole files ---- */

/* A whole-file block that holds edits instead would replace the file with them. */
static int check_whole(struct ctx *c, const struct work *w, const struct fence *f, const struct span *v, size_t n)
{
	struct span lang = f->info;
	size_t first = leading_blank(v, n);

	for (size_t i = 0; i < n; i++)
		if (is_marker(v[i], '<', "SEARCH"))
			return fail(c, "%s: the block holds SEARCH/REPLACE markers, not the whole file", w->path);
	if (starts(lang, "diff") || starts(lang, "patch") ||
	    (first + 1 < n && starts(v[first], "--- ") && starts(v[first + 1], "+++ ")))
		return fail(c, "%s: the block holds a diff, not the whole file", w->path);
	return check_elision(c, w, v, n);
}

/* The lines of a fenced block, without the fence's own indentation (a block in a list item). */
static struct span *block_lines(const struct lines *L, size_t from, size_t to, size_t indent)
{
	struct span *v = sb_calloc(to > from ? to - from : 1, sizeof *v);

	for (size_t i = from; i < to; i++) {
		struct span s = L->v[i];
		size_t cut = indent_of(s) < indent ? indent_of(s) : indent;
		v[i - from] = (struct span){s.p + cut, s.n - cut};
	}
	return v;
}

/* A one-line comment's text without its closing mark, as in a block comment or HTML. */
static struct span before_close(struct span p)
{
	static const char *const ends[] = {"*/", "-->"};

	for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
		const char *e = p.n ? memmem(p.p, p.n, ends[i], strlen(ends[i])) : NULL;
		if (e)
			p.n = (size_t)(e - p.p);
	}
	return p;
}

/*
 * "```python" then "# src/app.py": a first line that is a comment holding
 * only a file name with an extension, or an existing file's ("#!/bin/sh"
 * is neither).
 */
static int path_in_first_line(struct ctx *c, struct span line, struct span *out)
{
	static const char *const leads[] = {"#", "//", "--", "/*", "<!--", ";"};
	struct span s = trim(line), p;
	int deco;

	for (size_t i = 0; i < sizeof leads / sizeof *leads; i++) {
		if (!starts(s, leads[i]))
			continue;
		p = undecorate(before_close((struct span){s.p + strlen(leads[i]), s.n - strlen(leads[i])}), &deco);
		if (path_like(c, p, 0) && (has_ext(p) || component_has(c, p)) && p.p[0] != '!') {
			*out = p;
			return 1;
		}
	}
	return 0;
}

/* With the path in the first line, that line is no content, unless the file starts with it. */
static int apply_whole(struct ctx *c, struct span path, const struct fence *f, const struct lines *L, size_t from,
		       size_t to, int path_line)
{
	struct work *w;
	struct span *v;
	int rc;

	if (get_work(c, path, &w))
		return -1;
	if (path_line && !(w->exists && w->t.n && span_eq(trim(w->t.v[0]), trim(L->v[from]))))
		from++;
	v = block_lines(L, from, to, f->indent);
	if (any_nul(v, to - from))
		rc = fail(c, "%s: NUL byte in the new content", w->path);
	else
		rc = check_whole(c, w, f, v, to - from);
	if (!rc)
		set_lines(w, v, to - from);
	free(v);
	return rc;
}

/* Blocks of commands or output that answers add after the files ("To test, run: ```sh"). */
static int not_a_file(struct span info)
{
	static const char *const langs[] = {"sh", "bash", "shell", "console", "zsh", "powershell", "text", "output"};

	for (size_t i = 0; i < sizeof langs / sizeof *langs; i++)
		if (span_is(info, langs[i]))
			return 1;
	return 0;
}

static int parse_whole(struct ctx *c, const struct lines *L)
{
	size_t from = 0, files = 0, i = 0;
	struct fence f;
	struct span path;

	while (i < L->n) {
		if (!fence_open(L->v[i], &f)) {
			i++;
			continue;
		}
		int named = path_before(c, L, from, i, &path) || path_in_info(f.info, &path), path_line = 0;
		size_t end = i + 1;
		while (end < L->n && !fence_close(L->v[end], &f))
			end++;
		if (!named && i + 1 < end)
			named = path_line = path_in_first_line(c, L->v[i + 1], &path);
		if (!named && end < L->n && not_a_file(f.info)) {
			i = from = end + 1;
			continue;
		}
		if (!named)
			return fail(c, "no file path before the code block at line %zu of the answer", i + 1);
		if (end == L->n)
			return fail(c, "%.*s: code block at line %zu not closed (answer cut short?)", (int)path.n, path.p,
				    i + 1);
		if (apply_whole(c, path, &f, L, i + 1, end, path_line))
			return -1;
		files++;
		i = from = end + 1;
	}
	return files ? 0 : fail(c, "no edits found in the answer");
}

/* ---- change sets ---- */

/* Fill f for w, taking content (NULL: delete). */
static void change_fill(struct sb_file_change *f, const struct work *w, char *content)
{
	f->path = sb_strdup(w->path);
	f->content = content;
	f->action = !w->orig ? "create" : content ? "modify" : "delete";
	f->diff = sb_unified_diff(w->path, w->orig, content);
	if (w->orig)
		sb_sha256_hex(w->orig, w->orig_len, f->base_sha256);
	else
		f->base_sha256[0] = '\0';
}

static int finish(struct ctx *c, struct sb_change_set *out)
{
	out->files = sb_calloc(c->n ? c->n : 1, sizeof *out->files);
	out->n = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct work *w = &c->w[i];
		char *content = w->exists ? text_join(&w->t) : NULL;
		if ((!w->orig && !w->exists) || (content && w->orig && strcmp(content, w->orig) == 0)) {
			free(content);
			continue;
		}
		change_fill(&out->files[out->n++], w, content);
	}
	if (out->n)
		return 0;
	sb_change_set_free(out);
	return fail(c, "the edits change nothing");
}

int sb_edits_apply_flags(const char *answer, size_t len, enum sb_edit_format fmt, const char *root, unsigned flags,
			 struct sb_change_set *out, char *err, size_t errsize)
{
	struct ctx c;
	struct lines L;
	int rc;

	out->files = NULL;
	out->n = 0;
	if (ctx_init(&c, root, flags, err, errsize)) {
		ctx_free(&c);
		return -1;
	}
	L = split_lines(answer ? answer : "", answer ? len : 0);
	switch (fmt) {
	case SB_EDIT_SEARCH_REPLACE:
		rc = parse_search_replace(&c, &L);
		break;
	case SB_EDIT_UDIFF:
		rc = parse_udiff(&c, &L);
		break;
	case SB_EDIT_WHOLE:
		rc = parse_whole(&c, &L);
		break;
	default:
		rc = fail(&c, "unknown edit format");
	}
	if (!rc)
		rc = finish(&c, out);
	free(L.v);
	ctx_free(&c);
	return rc;
}

int sb_edits_apply(const char *answer, size_t len, enum sb_edit_format fmt, const char *root,
		   struct sb_change_set *out, char *err, size_t errsize)
{
	return sb_edits_apply_flags(answer, len, fmt, root, 0, out, err, errsize);
}

int sb_file_change_for(const char *root, const char *path, const char *content, struct sb_file_change *out,
		       char *err, size_t errsize)
{
	struct ctx c;
	struct work *w;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!ctx_init(&c, root, 0, err, errsize)) {
		if (!path) {
			fail(&c, "empty file path");
		} else if (!get_work(&c, (struct span){path, strlen(path)}, &w)) {
			if (!content && !w->orig) {
				fail(&c, "%s: no such file to delete", w->path);
			} else {
				change_fill(out, w, content ? sb_strdup(content) : NULL);
				rc = 0;
			}
		}
	}
	ctx_free(&c);
	return rc;
}

void sb_file_change_free(struct sb_file_change *f)
{
	if (!f)
		return;
	free(f->path);
	free(f->content);
	free(f->diff);
	memset(f, 0, sizeof *f);
}

void sb_change_set_free(struct sb_change_set *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		sb_file_change_free(&c->files[i]);
	free(c->files);
	c->files = NULL;
	c->n = 0;
}

/* ---- formats ---- */

static const char *const format_names[] = {"search-replace", "udiff", "whole"};

int sb_edit_format_parse(const char *name, enum sb_edit_format *out)
{
	for (size_t i = 0; name && i < sizeof format_names / sizeof *format_names; i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum sb_edit_format)i;
			return 0;
		}
	}
	return -1;
}

const char *sb_edit_format_name(enum sb_edit_format fmt)
{
	return (size_t)fmt < sizeof format_names / sizeof *format_names ? format_names[fmt] : "?";
}

const char *sb_edit_format_prompt(enum sb_edit_format fmt)
{
	switch (fmt) {
	case SB_EDIT_SEARCH_REPLACE:
		return "Give each change as a SEARCH/REPLACE block: the file's path alone on a line, then a fenced\n"
		       "block holding a line <<<<<<< SEARCH, the lines to replace copied exactly from the file\n"
		       "(indentation included, enough of them to be unique in it), a line =======, the new lines,\n"
		       "and a line >>>>>>> REPLACE. Use one block per place to change; blocks for one file are\n"
		       "applied in order. To create a file, give its path and a block with an empty SEARCH.\n"
		       "Example:\n\n"
		       "src/app.py\n"
		       "```python\n"
		       "<<<<<<< SEARCH\n"
		       "TIMEOUT_S = 2\n"
		       "=======\n"
		       "TIMEOUT_S = 5\n"
		       ">>>>>>> REPLACE\n"
		       "```\n";
	case SB_EDIT_UDIFF:
		return "Give the changes as a unified diff without line numbers, in a fenced diff block: for\n"
		       "each file a line --- a/PATH and a line +++ b/PATH, then hunks, each starting with a line\n"
		       "@@ ... @@ and holding lines prefixed with a space (unchanged), - (removed) or + (added).\n"
		       "Copy unchanged and removed lines exactly from the file, with a few unchanged lines around\n"
		       "each change so that it is found in one place only; rewrite whole blocks (a function, a\n"
		       "loop) rather than single lines. A new file has --- /dev/null, a deleted one +++ /dev/null.\n"
		       "Example:\n\n"
		       "```diff\n"
		       "--- a/src/app.py\n"
		       "+++ b/src/app.py\n"
		       "@@ ... @@\n"
		       " UPSTREAM = \"http://orders.internal:8080\"\n"
		       "-TIMEOUT_S = 2\n"
		       "+TIMEOUT_S = 5\n"
		       "```\n";
	case SB_EDIT_WHOLE:
		return "Give each file you change or create in full: its path alone on a line, then a fenced code\n"
		       "block holding the whole new content of the file. Never leave parts out with comments such\n"
		       "as \"... rest unchanged ...\": what the block does not hold is deleted.\n"
		       "Example:\n\n"
		       "src/settings.py\n"
		       "```python\n"
		       "TIMEOUT_S = 5\n"
		       "RETRIES = 3\n"
		       "```\n";
	}
	return "";
}

/* ---- unified diff ---- */

#define CONTEXT 3

static void hunk_range(struct sb_buf *out, char sign, size_t start, size_t count)
{
	char tmp[64];

	/* An empty range is named by the line before it; a range of one line by its number alone. */
	if (count == 1)
		snprintf(tmp, sizeof tmp, "%c%zu", sign, start + 1);
	else
		snprintf(tmp, sizeof tmp, "%c%zu,%zu", sign, count ? start + 1 : start, count);
	sb_buf_str(out, tmp);
}

static void write_hunk(struct sb_buf *out, const struct script *s, size_t from, size_t to, const struct dline *a,
		       const struct dline *b)
{
	size_t na = 0, nb = 0;

	for (size_t i = from; i < to; i++) {
		na += s->v[i].kind != OP_INS;
		nb += s->v[i].kind != OP_DEL;
	}
	sb_buf_str(out, "@@ ");
	hunk_range(out, '-', s->v[from].a, na);
	sb_buf_str(out, " ");
	hunk_range(out, '+', s->v[from].b, nb);
	sb_buf_str(out, " @@\n");
	for (size_t i = from; i < to; i++) {
		const struct op *o = &s->v[i];
		const struct dline *l = o->kind == OP_INS ? &b[o->b] : &a[o->a];
		sb_buf_add(out, o->kind == OP_EQ ? " " : o->kind == OP_DEL ? "-" : "+", 1);
		sb_buf_add(out, l->p, l->n);
		sb_buf_str(out, "\n");
		if (l->noeol)
			sb_buf_str(out, "\\ No newline at end of file\n");
	}
}

/* Hunks of changes with CONTEXT lines around them, joined when their contexts would touch. */
static void write_hunks(struct sb_buf *out, const struct script *s, const struct dline *a, const struct dline *b)
{
	size_t i = 0;

	while (i < s->n) {
		while (i < s->n && s->v[i].kind == OP_EQ)
			i++;
		if (i == s->n)
			break;
		size_t from = i >= CONTEXT ? i - CONTEXT : 0, last = i, j = i;
		while (j < s->n) {
			if (s->v[j].kind != OP_EQ) {
				last = j++;
				continue;
			}
			size_t run = 0;
			while (j + run < s->n && s->v[j + run].kind == OP_EQ)
				run++;
			if (j + run == s->n || run > 2 * CONTEXT)
				break;
			j += run;
		}
		size_t to = last + 1 + CONTEXT < s->n ? last + 1 + CONTEXT : s->n;
		write_hunk(out, s, from, to, a, b);
		i = to;
	}
}

char *sb_unified_diff(const char *path, const char *old, const char *new_text)
{
	struct dline *a, *b;
	size_t na, nb;
	struct script s = {NULL, 0, 0};
	struct sb_buf out = {0};

	if (old && new_text && strcmp(old, new_text) == 0)
		return sb_strdup("");
	na = diff_lines(old, &a);
	nb = diff_lines(new_text, &b);
	sb_buf_str(&out, old ? "--- a/" : "--- /dev/null");
	if (old)
		sb_buf_str(&out, path);
	sb_buf_str(&out, new_text ? "\n+++ b/" : "\n+++ /dev/null");
	if (new_text)
		sb_buf_str(&out, path);
	sb_buf_str(&out, "\n");
	edit_script(a, na, b, nb, &s);
	write_hunks(&out, &s, a, b);
	free(s.v);
	free(a);
	free(b);
	return sb_buf_take(&out);
}
