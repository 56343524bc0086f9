/* scan.c - static checks of a file's text: security rules, tenant isolation, quality, imports */
#include "scan.h"
#include "err.h"

#include <ctype.h>
#include <oniguruma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Patterns go through Oniguruma (Ruby syntax, for \b, lookahead and
 * lookbehind) rather than regcomp(3): libonig, which every tool links for
 * libjq, exports a regcomp and regexec of its own that take the place of
 * the C library's. Every pattern is matched against one line at a time.
 */
static OnigRegex re_new(const char *pattern, int icase)
{
	OnigRegex re;
	OnigErrorInfo info;
	OnigUChar why[ONIG_MAX_ERROR_MESSAGE_LEN];
	const OnigUChar *p = (const OnigUChar *)pattern;
	int e = onig_new(&re, p, p + strlen(pattern), icase ? ONIG_OPTION_IGNORECASE : ONIG_OPTION_NONE,
			 ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);

	if (e != ONIG_NORMAL) {
		onig_error_code_to_str(why, e, &info);
		sb_die(SB_EXIT_IO, "bad scan pattern '%s': %s", pattern, (const char *)why);
	}
	return re;
}

/* Offset in [s, e) of the first match of re, or -1; its end in *mend when mend is not NULL. */
static long re_find(OnigRegex re, const char *s, const char *e, size_t *mend)
{
	const OnigUChar *us = (const OnigUChar *)s, *ue = (const OnigUChar *)e;
	OnigRegion *region = mend ? onig_region_new() : NULL;
	long r = onig_search(re, us, ue, us, ue, region, ONIG_OPTION_NONE);

	if (region) {
		if (r >= 0)
			*mend = (size_t)region->end[0];
		onig_region_free(region, 1);
	}
	return r >= 0 ? r : -1;
}

enum sb_lang sb_lang_of(const char *path)
{
	static const struct {
		const char *ext;
		enum sb_lang lang;
	} exts[] = {
		{".py", SB_LANG_PYTHON}, {".sh", SB_LANG_SHELL}, {".bash", SB_LANG_SHELL}, {".c", SB_LANG_C},
		{".h", SB_LANG_C},	 {".js", SB_LANG_JS},	 {".mjs", SB_LANG_JS},	     {".cjs", SB_LANG_JS},
		{".json", SB_LANG_JSON},
	};
	const char *dot = path ? strrchr(path, '.') : NULL;

	if (!dot || strchr(dot, '/'))
		return SB_LANG_OTHER;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (strcmp(dot, exts[i].ext) == 0)
			return exts[i].lang;
	return SB_LANG_OTHER;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void add(struct sb_findings *f, const char *rule, int line, char *message)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->v = sb_realloc(f->v, f->cap * sizeof *f->v);
	}
	f->v[f->n++] = (struct sb_finding){rule, line, message};
}

void sb_findings_free(struct sb_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].message);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

/*
 * Two views of the text, of its length, newlines kept so lines and offsets
 * stay those of the text: code, with comments blanked out, and bare, with
 * string contents blanked out too. lit lists the string literals (their
 * contents, quotes excluded) in order. A lexer of each language's comments
 * and quotes, no more: Python's triple quotes, shell's '...' without
 * escapes, C and JavaScript's // and block comments and JavaScript's
 * multi-line template literals. Here-documents, raw strings and regex
 * literals are not understood.
 */
struct lit {
	size_t start, end;
};

struct lexed {
	char *code, *bare;
	struct lit *lit;
	size_t nlit, cap;
};

static void blank(char *buf, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (buf[i] != '\n')
			buf[i] = ' ';
}

static void comment(struct lexed *lx, size_t from, size_t to)
{
	blank(lx->code, from, to);
	blank(lx->bare, from, to);
}

static void literal(struct lexed *lx, size_t from, size_t to)
{
	blank(lx->bare, from, to);
	if (lx->nlit == lx->cap) {
		lx->cap = lx->cap ? 2 * lx->cap : 32;
		lx->lit = sb_realloc(lx->lit, lx->cap * sizeof *lx->lit);
	}
	lx->lit[lx->nlit++] = (struct lit){from, to};
}

/* End of a quoted run from i (just past the opening quote) to q, with backslash escapes. */
static size_t quoted_end(const char *t, size_t i, size_t n, char q, int multiline)
{
	while (i < n && t[i] != q && (multiline || t[i] != '\n'))
		i += (t[i] == '\\' && i + 1 < n) ? 2 : 1;
	return i;
}

static void lex(const char *t, enum sb_lang lang, struct lexed *lx)
{
	size_t n = strlen(t), i = 0, j;

	memset(lx, 0, sizeof *lx);
	lx->code = sb_strdup(t);
	lx->bare = sb_strdup(t);
	if (lang == SB_LANG_OTHER)
		return;
	while (i < n) {
		char c = t[i];

		if (lang == SB_LANG_PYTHON && c == '#') {
			for (j = i; j < n && t[j] != '\n'; j++)
				;
			comment(lx, i, j);
			i = j;
		} else if (lang == SB_LANG_PYTHON && (c == '"' || c == '\'')) {
			if (t[i + 1] == c && t[i + 2] == c) {
				for (j = i + 3; j < n && !(t[j] == c && t[j + 1] == c && t[j + 2] == c);)
					j += (t[j] == '\\' && j + 1 < n) ? 2 : 1;
				literal(lx, i + 3, j);
				i = j < n ? j + 3 : n;
			} else {
				j = quoted_end(t, i + 1, n, c, 0);
				literal(lx, i + 1, j);
				i = (j < n && t[j] == c) ? j + 1 : j;
			}
		} else if (lang == SB_LANG_SHELL && c == '#' && (i == 0 || strchr(" \t\n;&|(", t[i - 1]))) {
			for (j = i; j < n && t[j] != '\n'; j++)
				;
			comment(lx, i, j);
			i = j;
		} else if (lang == SB_LANG_SHELL && c == '\'') {
			for (j = i + 1; j < n && t[j] != '\''; j++)
				;
			literal(lx, i + 1, j);
			i = j < n ? j + 1 : n;
		} else if (lang == SB_LANG_SHELL && c == '"') {
			j = quoted_end(t, i + 1, n, c, 1);
			literal(lx, i + 1, j);
			i = j < n ? j + 1 : n;
		} else if (lang == SB_LANG_SHELL && c == '\\') {
			i += i + 1 < n ? 2 : 1;
		} else if ((lang == SB_LANG_C || lang == SB_LANG_JS) && c == '/' && t[i + 1] == '/') {
			for (j = i; j < n && t[j] != '\n'; j++)
				;
			comment(lx, i, j);
			i = j;
		} else if ((lang == SB_LANG_C || lang == SB_LANG_JS) && c == '/' && t[i + 1] == '*') {
			for (j = i + 2; j < n && !(t[j] == '*' && t[j + 1] == '/'); j++)
				;
			j = j < n ? j + 2 : n;
			comment(lx, i, j);
			i = j;
		} else if ((lang != SB_LANG_SHELL && lang != SB_LANG_PYTHON && (c == '"' || c == '\'')) ||
			   (lang == SB_LANG_JS && c == '`')) {
			j = quoted_end(t, i + 1, n, c, c == '`');
			literal(lx, i + 1, j);
			i = (j < n && t[j] == c) ? j + 1 : j;
		} else {
			i++;
		}
	}
}

static void lexed_free(struct lexed *lx)
{
	free(lx->code);
	free(lx->bare);
	free(lx->lit);
}

/* Line number (from 1) of offset off in text. */
static int line_at(const char *text, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

/* ---- security ---- */

#define L_PY (1u << SB_LANG_PYTHON)
#define L_SH (1u << SB_LANG_SHELL)
#define L_C (1u << SB_LANG_C)
#define L_JS (1u << SB_LANG_JS)
#define L_CODE (L_PY | L_SH | L_C | L_JS)
#define L_ALL (L_CODE | (1u << SB_LANG_OTHER) | (1u << SB_LANG_JSON))

/* A SQL statement in a line: SELECT ... FROM, INSERT INTO, UPDATE t SET, DELETE FROM. */
#define SQL_SHAPE                                                                                 \
	"^(?=.*(?i:\\b(?:select\\b.+?\\bfrom|insert\\s+into|update\\s+[\\w.\"`{}%$]+\\s+set|delete\\s+from)\\b))"

/*
 * One pattern of a rule. It is matched against the line with comments
 * blanked out, or against the raw line when raw is set (secrets). unless:
 * no finding when this also matches the line. needs: only in files whose
 * text contains this string.
 */
struct pattern {
	const char *rule;
	unsigned langs;
	int icase, raw;
	const char *re, *unless, *needs, *message;
};

static const struct pattern patterns[] = {
	/* eval: eval() and exec() called as functions, not as methods (cursor.execute, regex.exec). */
	{"eval", L_PY, 0, 0, "(?<![\\w.])(?:eval|exec)\\s*\\(", NULL, NULL, "eval/exec of dynamic code"},
	{"eval", L_JS, 0, 0, "(?<![\\w.])eval\\s*\\(", NULL, NULL, "eval of dynamic code"},
	{"eval", L_JS, 0, 0, "\\bnew\\s+Function\\s*\\(", NULL, NULL, "new Function compiles dynamic code"},

	/*
	 * shell: calls that hand a command line to /bin/sh. shell=True is
	 * found on its own line, so a subprocess call spread over lines is
	 * caught where the keyword is. JavaScript's exec counts only in a file
	 * that mentions child_process, and not as another object's method.
	 */
	{"shell", L_PY, 0, 0, "\\bos\\.(?:system|popen[234]?)\\s*\\(", NULL, NULL, "os.system/os.popen runs a shell"},
	{"shell", L_PY, 0, 0, "\\bshell\\s*=\\s*True\\b", NULL, NULL, "process started with shell=True"},
	{"shell", L_PY, 0, 0, "\\b(?:subprocess|commands)\\.(?:getoutput|getstatusoutput)\\s*\\(", NULL, NULL,
	 "getoutput runs a shell"},
	{"shell", L_C, 0, 0, "(?<![\\w.>])(?:system|popen)\\s*\\(", NULL, NULL, "system()/popen() runs a shell"},
	{"shell", L_JS, 0, 0, "(?:\\b(?:child_process|cp|childProcess)\\.|(?<![\\w.]))exec(?:Sync)?\\s*\\(", NULL,
	 "child_process", "child_process exec runs a shell"},
	{"shell", L_JS, 0, 0, "\\bshell\\s*:\\s*true\\b", NULL, NULL, "process started with shell: true"},

	/* deserialization: loaders that can run code; yaml.load is fine with a SafeLoader on its line. */
	{"deserialization", L_PY, 0, 0, "\\b(?:c?[pP]ickle|_pickle|dill)\\.(?:loads?|Unpickler)\\b", NULL, NULL,
	 "pickle load can run code from its input"},
	{"deserialization", L_PY, 0, 0, "\\bmarshal\\.loads?\\s*\\(", NULL, NULL, "marshal load of untrusted data"},
	{"deserialization", L_PY, 0, 0, "\\byaml\\.(?:load|load_all|unsafe_load)\\s*\\(", "\\bC?SafeLoader\\b", NULL,
	 "yaml.load without SafeLoader (use yaml.safe_load)"},

	/* tls: certificate or host verification turned off. */
	{"tls", L_PY, 0, 0, "\\bverify\\s*=\\s*False\\b", NULL, NULL, "TLS verification disabled (verify=False)"},
	{"tls", L_PY, 0, 0, "\\bcheck_hostname\\s*=\\s*False\\b", NULL, NULL, "TLS host name check disabled"},
	{"tls", L_PY, 0, 0, "\\bssl\\._create_unverified_context\\b", NULL, NULL, "unverified TLS context"},
	{"tls", L_PY | L_C | L_JS, 0, 0, "\\bCERT_NONE\\b", NULL, NULL, "TLS verification disabled (CERT_NONE)"},
	{"tls", L_JS, 0, 0, "\\brejectUnauthorized\\s*:\\s*false\\b", NULL, NULL,
	 "TLS verification disabled (rejectUnauthorized: false)"},
	{"tls", L_ALL, 0, 0, "NODE_TLS_REJECT_UNAUTHORIZED['\"\\]]*\\s*[=:]\\s*['\"]?0\\b", NULL, NULL,
	 "TLS verification disabled (NODE_TLS_REJECT_UNAUTHORIZED=0)"},
	{"tls", L_ALL, 0, 0, "\\bcurl\\b[^|;&]*?[\\s'\"](?:-[a-zA-Z]*k[a-zA-Z]*|--insecure)(?=[\\s'\"]|$)", NULL, NULL,
	 "curl without TLS verification (-k/--insecure)"},
	{"tls", L_ALL, 0, 0, "\\bwget\\b.*--no-check-certificate\\b", NULL, NULL,
	 "wget without TLS verification"},
	{"tls", L_C, 0, 0, "\\bCURLOPT_SSL_VERIFY(?:PEER|HOST)\\s*,\\s*(?:0L?|FALSE|false)\\b", NULL, NULL,
	 "TLS verification disabled (CURLOPT_SSL_VERIFYPEER/HOST 0)"},

	/*
	 * sql: a line holding a SQL statement (SQL_SHAPE) that also builds a
	 * string: Python f-strings, .format(), the % operator after a closing
	 * quote, + next to a quote; JavaScript template literals with ${ and
	 * +; C's sprintf family and strcat; shell expansions. Placeholders
	 * passed separately (execute("... %s", (x,))) are none of these.
	 * Only the statement's own line is looked at.
	 */
	{"sql", L_PY, 0, 0,
	 SQL_SHAPE ".*(?:\\b[rRbB]?[fF][rRbB]?[\"']|\\.format\\s*\\(|[\"']\\s+%\\s*[\\w(\\[{]|[\"']%\\s*[(\\[{]|"
		   "[\"']\\s*\\+|\\+\\s*[rRbBfF]*[\"'])",
	 NULL, NULL, "SQL built from strings (use placeholders)"},
	{"sql", L_JS, 0, 0, SQL_SHAPE ".*(?:`[^`]*\\$\\{|[\"'`]\\s*\\+|\\+\\s*[\"'`])", NULL, NULL,
	 "SQL built from strings (use placeholders)"},
	{"sql", L_C, 0, 0, SQL_SHAPE ".*(?:\\b(?:s|sn|as|vs|vsn|vas)printf\\s*\\(|\\bstrn?cat\\s*\\()", NULL, NULL,
	 "SQL built with printf/strcat (use bound parameters)"},
	{"sql", L_SH, 0, 0, SQL_SHAPE ".*\\$\\{?\\w", NULL, NULL, "SQL built by shell expansion"},

	/*
	 * permissions: modes writable by others (octal whose last digit has
	 * the write bit: 2, 3, 6, 7; symbolic a+w, o+w), umask 0.
	 */
	{"permissions", L_ALL & ~L_C, 0, 0,
	 "\\bchmod\\s+(?:-\\w+\\s+)*(?:[0-7]{0,3}[2367]|[ugo]*[ao][ugo]*[+=][rwxXst]*w[rwxXst]*)(?=\\s|$|['\";])",
	 NULL, NULL, "world-writable mode"},
	{"permissions", L_PY | L_C | L_JS, 0, 0,
	 "\\b[fl]?chmod(?:Sync)?\\s*\\([^,]*,\\s*['\"]?(?:0[oO]?)?[0-7]{0,3}[2367]['\"]?\\s*\\)", NULL, NULL,
	 "world-writable mode"},
	{"permissions", L_PY | L_C, 0, 0, "\\bS_I(?:WOTH|RWXO)\\b", NULL, NULL, "world-writable mode"},
	{"permissions", L_PY | L_C | L_JS, 0, 0, "\\bumask\\s*\\(\\s*0+[oO]?0*\\s*\\)", NULL, NULL,
	 "umask(0) makes new files world-writable"},
	{"permissions", L_ALL & ~(L_PY | L_C | L_JS), 0, 0, "\\bumask\\s+0+(?=\\s|$|;)", NULL, NULL,
	 "umask 0 makes new files world-writable"},

	/* pipe-to-shell: a download piped into a shell, or read by one through process substitution. */
	{"pipe-to-shell", L_ALL, 0, 0,
	 "\\b(?:curl|wget)\\b[^|]*\\|\\s*(?:sudo\\s+(?:-\\S+\\s+)*)?(?:\\S*/)?(?:ba|z|da|k)?sh\\b", NULL, NULL,
	 "download piped into a shell"},
	{"pipe-to-shell", L_ALL, 0, 0, "\\b(?:ba|z)?sh\\s+<\\(\\s*(?:curl|wget)\\b", NULL, NULL,
	 "download run by a shell"},

	/* secret: raw lines, comments included; messages name the kind, never the value. */
	{"secret", L_ALL, 0, 1, "\\b(?:AKIA|ASIA)[A-Z0-9]{16}\\b", NULL, NULL, "AWS access key id"},
	{"secret", L_ALL, 0, 1, "-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----", NULL, NULL, "private key block"},
	{"secret", L_ALL, 0, 1, "\\bgh[opsur]_[A-Za-z0-9]{36}\\b", NULL, NULL, "GitHub token"},
	{"secret", L_ALL, 0, 1, "\\bxox[abposr]-[A-Za-z0-9-]{10,}", NULL, NULL, "Slack token"},
	{"secret", L_ALL, 0, 1, "\\bsk-[A-Za-z0-9_-]{20,}", NULL, NULL, "OpenAI-style secret key"},
	{"secret", L_ALL, 0, 1, "\\bAIza[0-9A-Za-z_-]{35}", NULL, NULL, "Google API key"},
	{"secret", L_ALL, 0, 1, "\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}", NULL, NULL, "JSON Web Token"},
};

#define NPATTERNS (sizeof patterns / sizeof patterns[0])

/* Whether out already has a finding of rule on line, among those from index from. */
static int already(const struct sb_findings *out, size_t from, const char *rule, int line)
{
	for (size_t i = from; i < out->n; i++)
		if (out->v[i].line == line && strcmp(out->v[i].rule, rule) == 0)
			return 1;
	return 0;
}

void sb_scan_security(const char *path, const char *text, struct sb_findings *out)
{
	enum sb_lang lang = sb_lang_of(path);
	OnigRegex re[NPATTERNS] = {0}, unless[NPATTERNS] = {0};
	struct lexed lx;
	size_t off = 0, n = strlen(text);
	int line = 1;

	for (size_t k = 0; k < NPATTERNS; k++) {
		if (!(patterns[k].langs & (1u << lang)) || (patterns[k].needs && !strstr(text, patterns[k].needs)))
			continue;
		re[k] = re_new(patterns[k].re, patterns[k].icase);
		if (patterns[k].unless)
			unless[k] = re_new(patterns[k].unless, patterns[k].icase);
	}
	lex(text, lang, &lx);
	while (off < n) {
		const char *nl = strchr(text + off, '\n');
		size_t end = nl ? (size_t)(nl - text) : n, first = out->n;

		for (size_t k = 0; k < NPATTERNS; k++) {
			const char *s = (patterns[k].raw ? text : lx.code) + off, *e = s + (end - off);

			if (!re[k] || already(out, first, patterns[k].rule, line) || re_find(re[k], s, e, NULL) < 0)
				continue;
			if (unless[k] && re_find(unless[k], s, e, NULL) >= 0)
				continue;
			add(out, patterns[k].rule, line, sb_strdup(patterns[k].message));
		}
		off = end + 1;
		line++;
	}
	lexed_free(&lx);
	for (size_t k = 0; k < NPATTERNS; k++) {
		if (re[k])
			onig_free(re[k]);
		if (unless[k])
			onig_free(unless[k]);
	}
}

/* ---- tenant isolation ---- */

/* A SQL statement: its text and the line it starts on. */
struct stmt {
	char *text;
	int line;
};

struct stmts {
	struct stmt *v;
	size_t n, cap;
};

static void stmt_add(struct stmts *s, const char *from, size_t len, int line)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = sb_realloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = (struct stmt){sb_strndup(from, len), line};
}

/* Line of the first non-blank character at or after off, so a statement in """\n SELECT is on its line. */
static int first_text_line(const char *text, size_t off, size_t end)
{
	while (off < end && isspace((unsigned char)text[off]))
		off++;
	return line_at(text, off);
}

/*
 * .sql files: statements end at ';' (comments after "--" blanked first).
 * Other files: string literals, where literals joined by '+' or merely
 * adjacent (Python's implicit concatenation) form one statement, so that
 * "SELECT ... " + x + " AND tenant_id = %s" is read whole. The gap between
 * two joined literals must be blank, start with '+' or end with '+' (before
 * a string prefix such as f or r).
 */
static void statements(const char *path, const char *text, const struct lexed *lx, struct stmts *out)
{
	if (has_suffix(path, ".sql")) {
		char *t = sb_strdup(text);
		size_t n = strlen(t), start = 0;

		for (size_t i = 0; i < n; i++)
			if (t[i] == '-' && t[i + 1] == '-')
				for (; i < n && t[i] != '\n'; i++)
					t[i] = ' ';
		for (size_t i = 0; i <= n; i++)
			if (i == n || t[i] == ';') {
				stmt_add(out, t + start, i - start, first_text_line(t, start, i));
				start = i + 1;
			}
		free(t);
		return;
	}
	for (size_t i = 0; i < lx->nlit;) {
		size_t j = i, len = 0;
		char *joined;

		while (j + 1 < lx->nlit && lx->lit[j].end < lx->lit[j + 1].start) {
			const char *g = lx->code + lx->lit[j].end, *ge = lx->code + lx->lit[j + 1].start;

			while (g < ge && strchr("\"'`", *g))
				g++;
			while (ge > g && strchr("\"'`", ge[-1]))
				ge--;
			while (g < ge && isspace((unsigned char)*g))
				g++;
			while (ge > g && strchr("rRbBfFuU", ge[-1]) && ge - g <= 2)
				ge--;
			while (ge > g && isspace((unsigned char)ge[-1]))
				ge--;
			if (!(g == ge || *g == '+' || ge[-1] == '+' || *g == '\\'))
				break;
			j++;
		}
		for (size_t k = i; k <= j; k++)
			len += lx->lit[k].end - lx->lit[k].start + 1;
		joined = sb_malloc(len + 1);
		len = 0;
		for (size_t k = i; k <= j; k++) {
			memcpy(joined + len, text + lx->lit[k].start, lx->lit[k].end - lx->lit[k].start);
			len += lx->lit[k].end - lx->lit[k].start;
			joined[len++] = ' ';
		}
		joined[len] = '\0';
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 16;
			out->v = sb_realloc(out->v, out->cap * sizeof *out->v);
		}
		out->v[out->n++] = (struct stmt){joined, first_text_line(text, lx->lit[i].start, lx->lit[i].end)};
		i = j + 1;
	}
}

/* table as a regex matching itself: every character that is not alphanumeric escaped. */
static char *escape_re(const char *s)
{
	char *r = sb_malloc(2 * strlen(s) + 1), *p = r;

	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return r;
}

/*
 * tenant-sql: a statement is SQL when it has SELECT, INSERT, UPDATE or
 * DELETE as a word; it touches a table when the table's name follows FROM,
 * JOIN, INTO or UPDATE (optionally schema-qualified or quoted); it is
 * scoped when tenant_id appears anywhere in it, as a filter or, for an
 * INSERT, as a column. Tables named only after a comma (FROM a, b) are
 * not seen.
 */
static void tenant_sql(const char *path, const char *text, const struct lexed *lx, const char *const tables[],
		       struct sb_findings *out)
{
	struct stmts st = {0};
	OnigRegex verb, scoped;

	if (!tables || !tables[0])
		return;
	verb = re_new("\\b(?:select|insert|update|delete)\\b", 1);
	scoped = re_new("\\btenant_id\\b", 1);
	statements(path, text, lx, &st);
	for (size_t t = 0; tables[t]; t++) {
		char *name = escape_re(tables[t]);
		char *pat = sb_asprintf("\\b(?:from|join|into|update)\\s+(?:[\\w\"`\\[\\]]+\\.)?[\"`\\[]?%s(?![\\w$])",
					name);
		OnigRegex on = re_new(pat, 1);

		for (size_t i = 0; i < st.n; i++) {
			const char *s = st.v[i].text, *e = s + strlen(s);

			if (re_find(verb, s, e, NULL) >= 0 && re_find(on, s, e, NULL) >= 0 &&
			    re_find(scoped, s, e, NULL) < 0)
				add(out, "tenant-sql", st.v[i].line,
				    sb_asprintf("SQL on table '%s' does not filter by tenant_id", tables[t]));
		}
		onig_free(on);
		free(pat);
		free(name);
	}
	for (size_t i = 0; i < st.n; i++)
		free(st.v[i].text);
	free(st.v);
	onig_free(verb);
	onig_free(scoped);
}

static int idchar(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/*
 * tenant-literal: another tenant's id anywhere in the raw text, comments
 * included, as a whole word where '-' and '_' count as word characters
 * (so "acme" is not found in "acme-eu"), which covers quoted values.
 * Matching is exact, case included. One finding per tenant and line.
 */
static void tenant_literal(const char *text, const char *const others[], struct sb_findings *out)
{
	for (size_t t = 0; others && others[t]; t++) {
		size_t m = strlen(others[t]);
		int last = 0;

		if (m == 0)
			continue;
		for (const char *p = text; (p = strstr(p, others[t])) != NULL; p++) {
			int line;

			if ((p > text && idchar(p[-1])) || idchar(p[m]))
				continue;
			line = line_at(text, (size_t)(p - text));
			if (line != last)
				add(out, "tenant-literal", line, sb_asprintf("id of another tenant '%s'", others[t]));
			last = line;
		}
	}
}

/*
 * tenant-api: an HTTP call (requests.*, httpx.*, session.get/..., fetch,
 * axios, http(s).request/get, urllib.request.*, urlopen) whose arguments,
 * up to the closing parenthesis, hold "/tenants/" followed by a literal
 * character: a letter, digit, '_' or '-'. A variable or placeholder there
 * ({tid}, ${tid}, %s, :tid, <tid>, or the string ending so a variable is
 * concatenated) is fine. A URL built in a variable before the call is not
 * followed.
 */
static void tenant_api(const char *text, const struct lexed *lx, struct sb_findings *out)
{
	OnigRegex call = re_new("\\b(?:requests\\.(?:get|post|put|delete|patch|head|options|request)|httpx\\.\\w+|"
				"session\\.(?:get|post|put|delete|patch|request)|fetch|axios(?:\\.\\w+)?|"
				"https?\\.(?:request|get)|urllib\\.request\\.\\w+|urlopen)\\s*\\(",
				0);
	const char *code = lx->code, *end = code + strlen(code);
	size_t mend = 0;
	long at;

	for (const char *s = code; s < end && (at = re_find(call, s, end, &mend)) >= 0;) {
		const char *p = s + mend, *q = p;
		int depth = 1;

		while (q < end && depth > 0 && q - p < 4000) {
			depth += (*q == '(') - (*q == ')');
			q++;
		}
		for (const char *u = p; u < q && (u = strstr(u, "/tenants/")) != NULL && u < q; u++) {
			char c = u[9];

			if (isalnum((unsigned char)c) || c == '_' || c == '-') {
				size_t len = 0;

				while (idchar(text[u - code + 9 + len]) && len < 64)
					len++;
				add(out, "tenant-api", line_at(code, (size_t)(u - code)),
				    sb_asprintf("HTTP call with a literal tenant in its URL: /tenants/%.*s", (int)len,
						text + (u - code) + 9));
			}
		}
		s = s + (at > 0 ? at : 0) + 1;
	}
	onig_free(call);
}

/* The findings from index from on, in line order, those of one line in the order found. */
static void sort_by_line(struct sb_findings *f, size_t from)
{
	for (size_t i = from + 1; i < f->n; i++) {
		struct sb_finding x = f->v[i];
		size_t j = i;

		for (; j > from && f->v[j - 1].line > x.line; j--)
			f->v[j] = f->v[j - 1];
		f->v[j] = x;
	}
}

void sb_scan_tenant(const char *path, const char *text, const char *const tables[],
		    const char *const other_tenants[], struct sb_findings *out)
{
	struct lexed lx;
	size_t first = out->n;

	lex(text, sb_lang_of(path), &lx);
	tenant_sql(path, text, &lx, tables, out);
	tenant_literal(text, other_tenants, out);
	tenant_api(text, &lx, out);
	lexed_free(&lx);
	sort_by_line(out, first);
}

/* ---- quality ---- */

static int word_in(const char *w, size_t len, const char *const words[])
{
	for (size_t i = 0; words[i]; i++)
		if (strlen(words[i]) == len && memcmp(words[i], w, len) == 0)
			return 1;
	return 0;
}

static int wordchar(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/*
 * Decision points in bare[from, to): the language's branching keywords
 * (Python: if elif for while except and or; C and JavaScript: if for
 * while case catch, so "else if" counts once; shell: if elif for while
 * until case), && and ||, and in C and JavaScript the ternary '?' (not
 * JavaScript's ?. and ??). Strings and comments are blank in bare.
 */
static int decisions(const char *bare, size_t from, size_t to, enum sb_lang lang)
{
	static const char *const py[] = {"if", "elif", "for", "while", "except", "and", "or", NULL};
	static const char *const cjs[] = {"if", "for", "while", "case", "catch", NULL};
	static const char *const sh[] = {"if", "elif", "for", "while", "until", "case", NULL};
	const char *const *words = lang == SB_LANG_PYTHON ? py : lang == SB_LANG_SHELL ? sh : cjs;
	int n = 0;

	for (size_t i = from; i < to;) {
		char c = bare[i];

		if (wordchar(c) && (i == 0 || !wordchar(bare[i - 1]))) {
			size_t j = i;

			while (j < to && wordchar(bare[j]))
				j++;
			n += word_in(bare + i, j - i, words);
			i = j;
		} else if ((c == '&' || c == '|') && i + 1 < to && bare[i + 1] == c) {
			n++;
			i += 2;
		} else if (c == '?' && (lang == SB_LANG_C || lang == SB_LANG_JS)) {
			if (i + 1 < to && (bare[i + 1] == '?' || bare[i + 1] == '.'))
				i += 2;
			else {
				n++;
				i++;
			}
		} else {
			i++;
		}
	}
	return n;
}

static void record(struct sb_quality *q, const char *name, int line, int lines, int complexity)
{
	if (lines > q->longest_function) {
		free(q->longest_name);
		q->longest_function = lines;
		q->longest_line = line;
		q->longest_name = sb_strdup(name);
	}
	if (complexity > q->max_complexity) {
		free(q->complex_name);
		q->max_complexity = complexity;
		q->complex_line = line;
		q->complex_name = sb_strdup(name);
	}
}

static int blank_line(const char *s, const char *e)
{
	for (; s < e; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

static int indent_of(const char *s)
{
	int col = 0;

	for (; *s == ' ' || *s == '\t'; s++)
		col = *s == '\t' ? (col / 8 + 1) * 8 : col + 1;
	return col;
}

/*
 * Python: a def (or async def) line starts a function; its body is every
 * following line indented deeper, blank and comment-only lines aside. It
 * ends at its last such line. A nested def is a function of its own and
 * also counts in its enclosing one.
 */
static void quality_python(const char *bare, struct sb_quality *q)
{
	OnigRegex def = re_new("^[ \\t]*(?:async[ \\t]+)?def[ \\t]+(\\w+)", 0);
	const OnigUChar *ub = (const OnigUChar *)bare;
	size_t n = strlen(bare);
	int line = 1;

	for (size_t off = 0; off < n; line++) {
		const char *nl = strchr(bare + off, '\n');
		size_t end = nl ? (size_t)(nl - bare) : n;
		OnigRegion *r = onig_region_new();

		if (onig_search(def, ub + off, ub + end, ub + off, ub + end, r, ONIG_OPTION_NONE) >= 0) {
			char *name = sb_strndup(bare + off + r->beg[1], (size_t)(r->end[1] - r->beg[1]));
			int ind = indent_of(bare + off), l = line, last = line;
			size_t o = end + 1, last_end = end;

			while (o < n) {
				const char *e = strchr(bare + o, '\n');
				size_t oe = e ? (size_t)(e - bare) : n;

				l++;
				if (!blank_line(bare + o, bare + oe)) {
					if (indent_of(bare + o) <= ind)
						break;
					last = l;
					last_end = oe;
				}
				o = oe + 1;
			}
			record(q, name, line, last - line + 1, 1 + decisions(bare, off, last_end, SB_LANG_PYTHON));
			free(name);
		}
		onig_region_free(r, 1);
		off = end + 1;
	}
	onig_free(def);
}

/* The offset just past the brace matching the '{' at open in bare, or n. */
static size_t match_brace(const char *bare, size_t open, size_t n)
{
	int depth = 0;

	for (size_t i = open; i < n; i++) {
		depth += (bare[i] == '{') - (bare[i] == '}');
		if (depth == 0)
			return i + 1;
	}
	return n;
}

/* Shell: "name() {" or "function name {" (the brace may be on the next line), to its matching '}'. */
static void quality_shell(const char *bare, struct sb_quality *q)
{
	OnigRegex head = re_new("^[ \\t]*(?:function[ \\t]+([A-Za-z_][\\w:.-]*)[ \\t]*(?:\\([ \\t]*\\))?|"
				"([A-Za-z_][\\w:.-]*)[ \\t]*\\([ \\t]*\\))",
				0);
	const OnigUChar *ub = (const OnigUChar *)bare;
	size_t n = strlen(bare);

	for (size_t off = 0; off < n;) {
		const char *nl = strchr(bare + off, '\n');
		size_t end = nl ? (size_t)(nl - bare) : n, b;
		OnigRegion *r = onig_region_new();

		if (onig_search(head, ub + off, ub + end, ub + off, ub + end, r, ONIG_OPTION_NONE) >= 0) {
			int g = r->beg[1] >= 0 ? 1 : 2;
			char *name = sb_strndup(bare + off + r->beg[g], (size_t)(r->end[g] - r->beg[g]));

			for (b = off + (size_t)r->end[0]; b < n && isspace((unsigned char)bare[b]); b++)
				;
			if (b < n && bare[b] == '{') {
				size_t close = match_brace(bare, b, n);
				int first = line_at(bare, off), lastl = line_at(bare, close - 1);

				record(q, name, first, lastl - first + 1, 1 + decisions(bare, b, close, SB_LANG_SHELL));
				end = close;
				while (end < n && bare[end] != '\n')
					end++;
			}
			free(name);
		}
		onig_region_free(r, 1);
		off = end + 1;
	}
	onig_free(head);
}

static int control_word(const char *w, size_t len)
{
	static const char *const kw[] = {"if",	   "for",    "while", "switch", "catch",  "with",
					 "return", "sizeof", "else",  "do",	"typeof", NULL};

	return word_in(w, len, kw);
}

/* Skips whitespace backwards from k (inclusive); the index of the non-blank character, or -1. */
static long skip_back(const char *s, long k)
{
	while (k >= 0 && isspace((unsigned char)s[k]))
		k--;
	return k;
}

/* The identifier ending at k (inclusive) in *start; its length. */
static size_t word_back(const char *s, long k, long *start)
{
	long b = k;

	while (b >= 0 && wordchar(s[b]))
		b--;
	*start = b + 1;
	return (size_t)(k - b);
}

/* The name of "NAME = ..." or "NAME: ..." ending just before k: the anonymous function's binding. */
static char *binding(const char *s, long k, long *at)
{
	long w;
	size_t len;

	k = skip_back(s, k);
	if (k >= 0 && (len = word_back(s, k, &w)) == 5 && memcmp(s + w, "async", 5) == 0)
		k = skip_back(s, w - 1);
	if (k < 1 || (s[k] != '=' && s[k] != ':') || strchr("=!<>", s[k - 1]))
		return NULL;
	k = skip_back(s, k - 1);
	if (k < 0 || (len = word_back(s, k, &w)) == 0)
		return NULL;
	*at = w;
	return sb_strndup(s + w, len);
}

/*
 * Whether the '{' at open starts a function body: it follows ")" of a
 * parameter list whose name is not a control keyword (C functions,
 * JavaScript functions and methods), or "=>" (arrow functions). The name,
 * or "(anonymous)", in *name and where it is in *at.
 */
static int function_head(const char *s, long open, char **name, long *at)
{
	long k = skip_back(s, open - 1), w;
	size_t len;

	*at = open;
	if (k >= 1 && s[k] == '>' && s[k - 1] == '=') {
		k = skip_back(s, k - 2);
		if (k >= 0 && s[k] == ')') {
			for (int depth = 0; k >= 0; k--) {
				depth += (s[k] == ')') - (s[k] == '(');
				if (depth == 0)
					break;
			}
			k--;
		} else if (k >= 0) {
			word_back(s, k, &w);
			k = w - 1;
		}
		*at = k + 1;
		*name = binding(s, k, at);
		if (!*name)
			*name = sb_strdup("(anonymous)");
		return 1;
	}
	if (k < 0 || s[k] != ')')
		return 0;
	for (int depth = 0; k >= 0; k--) {
		depth += (s[k] == ')') - (s[k] == '(');
		if (depth == 0)
			break;
	}
	k = skip_back(s, k - 1);
	if (k < 0 || (len = word_back(s, k, &w)) == 0 || control_word(s + w, len))
		return 0;
	*at = w;
	if (len == 8 && memcmp(s + w, "function", 8) == 0) {
		*name = binding(s, w - 1, at);
		if (!*name)
			*name = sb_strdup("(anonymous)");
	} else {
		*name = sb_strndup(s + w, len);
	}
	return 1;
}

/*
 * C and JavaScript: outermost brace-delimited function bodies (see
 * function_head), from the line of the function's name to its closing
 * brace. Functions nested in a function count in the enclosing one.
 */
static void quality_braces(const char *bare, enum sb_lang lang, struct sb_quality *q)
{
	size_t n = strlen(bare);
	int depth = 0, fn_depth = -1, fn_line = 0;
	size_t fn_open = 0;
	char *fn_name = NULL;

	for (size_t i = 0; i < n; i++) {
		if (bare[i] == '{') {
			long at;

			if (!fn_name && (lang == SB_LANG_JS || depth == 0) && function_head(bare, (long)i, &fn_name, &at)) {
				fn_depth = depth;
				fn_line = line_at(bare, (size_t)at);
				fn_open = i;
			}
			depth++;
		} else if (bare[i] == '}' && depth > 0) {
			depth--;
			if (fn_name && depth == fn_depth) {
				record(q, fn_name, fn_line, line_at(bare, i) - fn_line + 1,
				       1 + decisions(bare, fn_open, i, lang));
				free(fn_name);
				fn_name = NULL;
			}
		}
	}
	free(fn_name);
}

void sb_scan_quality(const char *path, const char *text, struct sb_quality *out)
{
	enum sb_lang lang = sb_lang_of(path);
	struct lexed lx;

	memset(out, 0, sizeof *out);
	if (lang == SB_LANG_OTHER || lang == SB_LANG_JSON)
		return;
	lex(text, lang, &lx);
	if (lang == SB_LANG_PYTHON)
		quality_python(lx.bare, out);
	else if (lang == SB_LANG_SHELL)
		quality_shell(lx.bare, out);
	else
		quality_braces(lx.bare, lang, out);
	lexed_free(&lx);
}

void sb_quality_free(struct sb_quality *q)
{
	free(q->longest_name);
	free(q->complex_name);
	memset(q, 0, sizeof *q);
}

/* ---- Python imports ---- */

static void import_add(struct sb_import **v, size_t *n, size_t *cap, const char *name, size_t len, int line)
{
	if (*n + 1 >= *cap) {
		*cap = *cap ? 2 * *cap : 16;
		*v = sb_realloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = (struct sb_import){sb_strndup(name, len), line};
}

/* Length of the top-level module of the dotted name at s ("a" of "a.b.c"). */
static size_t top_module(const char *s)
{
	size_t len = 0;

	while (isalnum((unsigned char)s[len]) || s[len] == '_')
		len++;
	return len;
}

static const char *keyword(const char *s, const char *kw)
{
	size_t m = strlen(kw);

	return strncmp(s, kw, m) == 0 && (s[m] == ' ' || s[m] == '\t') ? s + m : NULL;
}

/*
 * Statements "import a.b as c, d" and "from a.b import c" anywhere (in
 * functions and try blocks too), several to a line when separated by ';'.
 * Text in strings and comments is not read. "from . import x" and
 * "from .m import x" are relative and left out.
 */
size_t sb_scan_python_imports(const char *text, struct sb_import **out)
{
	struct lexed lx;
	struct sb_import *v = NULL;
	size_t n = 0, cap = 0;
	int line = 1;

	lex(text, SB_LANG_PYTHON, &lx);
	for (char *s = lx.bare; *s; line++) {
		char *nl = strchr(s, '\n'), *stmt, *p;

		if (nl)
			*nl = '\0';
		for (stmt = s; stmt; stmt = (p = strchr(stmt, ';')) ? p + 1 : NULL) {
			const char *t = stmt;
			size_t len;

			while (*t == ' ' || *t == '\t')
				t++;
			if ((p = (char *)keyword(t, "from")) != NULL) {
				while (*p == ' ' || *p == '\t')
					p++;
				if (*p != '.' && (len = top_module(p)) > 0)
					import_add(&v, &n, &cap, p, len, line);
			} else if ((p = (char *)keyword(t, "import")) != NULL) {
				for (;;) {
					while (*p == ' ' || *p == '\t')
						p++;
					if ((len = top_module(p)) > 0)
						import_add(&v, &n, &cap, p, len, line);
					while (*p && *p != ',' && *p != ';')
						p++;
					if (*p != ',')
						break;
					p++;
				}
			}
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	lexed_free(&lx);
	if (!v)
		v = sb_malloc(sizeof *v);
	v[n] = (struct sb_import){NULL, 0};
	*out = v;
	return n;
}
