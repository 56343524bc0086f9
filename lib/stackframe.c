/* stackframe.c - the frame a stack trace in text was raised at */
#include "stackframe.h"
#include "err.h"

#include <string.h>

/* A slice of the text, which is not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

/* A part whose p is NULL is one the trace does not give. */
struct frame {
	struct span file, line, func;
};

static const struct span none = {NULL, 0};

static int is_space(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static struct span trim(struct span s)
{
	while (s.n && is_space(*s.p))
		s.p++, s.n--;
	while (s.n && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

static int starts_with(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

static int equals(struct span s, const char *lit)
{
	return s.n == strlen(lit) && starts_with(s, lit);
}

/* Advance s past lit when it starts with it. */
static int eat(struct span *s, const char *lit)
{
	if (!starts_with(*s, lit))
		return 0;
	s->p += strlen(lit);
	s->n -= strlen(lit);
	return 1;
}

static int contains(struct span s, char c)
{
	return s.n && memchr(s.p, c, s.n) != NULL;
}

/* Split "X:N" at its last colon into X and the digits N. */
static int split_number(struct span s, struct span *before, struct span *num)
{
	const char *colon = s.n ? memrchr(s.p, ':', s.n) : NULL;
	size_t i;

	if (!colon || colon == s.p || colon == s.p + s.n - 1)
		return 0;
	for (i = (size_t)(colon + 1 - s.p); i < s.n; i++)
		if (!is_digit(s.p[i]))
			return 0;
	*before = (struct span){s.p, (size_t)(colon - s.p)};
	*num = (struct span){colon + 1, (size_t)(s.p + s.n - colon - 1)};
	return 1;
}

/* The line that starts at *pos, without its LF or CRLF; *pos moves past it. */
static struct span next_line(const char *text, size_t len, size_t *pos)
{
	const char *start = text + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	struct span s = {start, nl ? (size_t)(nl - start) : len - *pos};

	*pos += s.n + (nl != NULL);
	if (s.n && s.p[s.n - 1] == '\r')
		s.n--;
	return s;
}

/*
 * Python: `File "F", line N, in FN`, indented, or behind the "| " margins
 * of an exception group. A SyntaxError's frame has no ", in FN".
 */
static int python_frame(struct span s, struct frame *f)
{
	const char *q;
	size_t d = 0;

	while (s.n && (is_space(*s.p) || *s.p == '|'))
		s.p++, s.n--;
	if (!eat(&s, "File \"") || !(q = memmem(s.p, s.n, "\", line ", 8)) || q == s.p)
		return 0;
	f->file = (struct span){s.p, (size_t)(q - s.p)};
	s.n -= (size_t)(q + 8 - s.p);
	s.p = q + 8;
	while (d < s.n && is_digit(s.p[d]))
		d++;
	if (d == 0)
		return 0;
	f->line = (struct span){s.p, d};
	s.p += d, s.n -= d;
	s = trim(s);
	f->func = none;
	if (s.n == 0)
		return 1;
	if (!eat(&s, ", in ") || (s = trim(s)).n == 0)
		return 0;
	f->func = s;
	return 1;
}

/*
 * Java: `at PKG.CLASS.METHOD(SOURCE)`, SOURCE being "FILE:N", "FILE",
 * "Native Method" or "Unknown Source"; loggers may append the jar after it.
 * The name holds a dot and no space, which keeps prose and Node frames out.
 */
static int java_frame(struct span s, struct frame *f)
{
	const char *open, *close, *slash;
	struct span name, src;

	s = trim(s);
	if (!eat(&s, "at ") || !(open = memchr(s.p, '(', s.n)))
		return 0;
	name = (struct span){s.p, (size_t)(open - s.p)};
	if (name.n == 0 || contains(name, ' ') || !contains(name, '.'))
		return 0;
	if (!(close = memchr(open, ')', (size_t)(s.p + s.n - open))))
		return 0;
	src = (struct span){open + 1, (size_t)(close - open - 1)};
	/* Java 9 puts the class loader and module first: app//a.B.m, java.base/java.lang.Thread.run. */
	if ((slash = memrchr(name.p, '/', name.n)))
		name = (struct span){slash + 1, (size_t)(name.p + name.n - slash - 1)};
	f->func = name;
	f->file = f->line = none;
	if (starts_with(src, "Native Method") || starts_with(src, "Unknown Source"))
		return 1;
	if (src.n == 0 || contains(src, ' '))
		return 0;
	if (!split_number(src, &f->file, &f->line))
		f->file = src;
	return 1;
}

/*
 * Node.js: `at [async] FN (F:N:C)` or, for an anonymous function,
 * `at F:N:C`. Built-in functions have no position: `at JSON.parse
 * (<anonymous>)`, `at async Promise.all (index 0)`.
 */
static int node_frame(struct span s, struct frame *f)
{
	const char *open;
	struct span loc, rest, num;

	s = trim(s);
	if (!eat(&s, "at "))
		return 0;
	eat(&s, "async ");
	f->func = f->file = f->line = none;
	loc = s;
	if ((open = memmem(s.p, s.n, " (", 2)) && open > s.p) {
		if (s.p[s.n - 1] != ')')
			return 0; /* cut off inside the location */
		f->func = (struct span){s.p, (size_t)(open - s.p)};
		loc = (struct span){open + 2, (size_t)(s.p + s.n - open - 3)};
	}
	if (split_number(loc, &rest, &num)) {
		if (!split_number(rest, &f->file, &f->line))
			f->file = rest, f->line = num;
		/* Without a function name only a path tells a frame from prose such as "at 10:30". */
		return f->func.p || contains(f->file, '/') || contains(f->file, '\\') || contains(f->file, '.');
	}
	return f->func.p && (equals(loc, "<anonymous>") || equals(loc, "native") || starts_with(loc, "index "));
}

/* Where the argument list of "pkg.(*T).m(0x1, {0x2, 0x3})" starts. */
static size_t go_args_start(struct span fn)
{
	size_t i = fn.n, depth = 0;

	while (i-- > 0) {
		if (fn.p[i] == ')')
			depth++;
		else if (fn.p[i] == '(' && --depth == 0)
			return i;
	}
	return fn.n;
}

/*
 * Go: a function line (with its arguments in a panic, without them from
 * runtime/debug or a logger's stack field) and below it, indented,
 * "FILE.go:N +0xOFFSET". "created by F in goroutine N" has spaces and is
 * not taken: it names where the goroutine was started, not a frame.
 */
static int go_frame(struct span fn, struct span at, struct frame *f)
{
	const char *plus;

	if (fn.n == 0 || is_space(*fn.p) || at.n == 0 || !is_space(*at.p))
		return 0;
	at = trim(at);
	if ((plus = memmem(at.p, at.n, " +0x", 4)))
		at.n = (size_t)(plus - at.p);
	if (!split_number(at, &f->file, &f->line) || f->file.n < 4 ||
	    memcmp(f->file.p + f->file.n - 3, ".go", 3) != 0)
		return 0;
	fn = trim(fn);
	if (fn.p[fn.n - 1] == ')')
		fn.n = go_args_start(fn);
	if (fn.n == 0 || contains(fn, ' '))
		return 0;
	f->func = fn;
	return 1;
}

/* The frames a panic passes through before the user's code. */
static int go_runtime(struct span fn)
{
	return starts_with(fn, "runtime.") || starts_with(fn, "runtime/") || equals(fn, "panic");
}

static const char *str(struct span s) { return s.p ? s.p : ""; }

static char *format(const struct frame *f)
{
	return sb_asprintf("%.*s%s%.*s%s%.*s", (int)f->file.n, str(f->file), f->line.p ? ":" : "",
	                   (int)f->line.n, str(f->line), f->file.p && f->func.p ? " in " : "",
	                   (int)f->func.n, str(f->func));
}

char *sb_stack_top_frame(const char *text, size_t len)
{
	struct frame f, top, go_first;
	struct span prev = none, cur;
	int python = 0, go = 0;
	size_t pos = 0;

	while (pos < len) {
		cur = next_line(text, len, &pos);
		if (!go && python_frame(cur, &f)) {
			top = f;
			python = 1;
		} else if (!python && !go && (java_frame(cur, &f) || node_frame(cur, &f))) {
			return format(&f);
		} else if (!python && go_frame(prev, cur, &f)) {
			if (!go_runtime(f.func))
				return format(&f);
			if (go++ == 0)
				go_first = f;
		}
		prev = cur;
	}
	if (python)
		return format(&top);
	return go ? format(&go_first) : NULL;
}
