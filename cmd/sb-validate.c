/* sb-validate - prove a change safe to deploy without running it: paths, base, syntax, security, tenants, quality */
#include "audit.h"
#include "change.h"
#include "config.h"
#include "edits.h"
#include "err.h"
#include "filter.h"
#include "fsutil.h"
#include "hash.h"
#include "opts.h"
#include "output.h"
#include "proc.h"
#include "record.h"
#include "scan.h"
#include "state.h"
#include "strmap.h"
#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_ONLY_VALID = 1000, OPT_REJECTS, OPT_ALLOW, OPT_CHECK_TIMEOUT, OPT_MAX_FILES, OPT_MAX_FILE_BYTES,
	OPT_MAX_LINES, OPT_MAX_FUNCTION, OPT_MAX_COMPLEXITY,
};

static const struct sb_option options[] = {
	{"only-valid", 0, NULL, "write only the changes that pass", OPT_ONLY_VALID, NULL, NULL},
	{"rejects", 0, "FILE", "append the changes that fail to FILE", OPT_REJECTS, "SB_VALIDATE_REJECTS",
	 "validate.rejects"},
	{"allow", 0, "RULE", "waive security or tenant RULE for this run, recorded in the audit log (repeatable)",
	 OPT_ALLOW, NULL, NULL},
	{"check-timeout", 0, "DURATION", "time allowed to each syntax checker (default 30s)", OPT_CHECK_TIMEOUT,
	 "SB_VALIDATE_CHECK_TIMEOUT", "validate.check_timeout"},
	{"max-files", 0, "N", "most files in one change (default 50)", OPT_MAX_FILES, NULL, "validate.max_files"},
	{"max-file-bytes", 0, "N", "largest new content of a file (default 1048576)", OPT_MAX_FILE_BYTES, NULL,
	 "validate.max_file_bytes"},
	{"max-lines-changed", 0, "N", "most lines added and removed in one change (default 2000)", OPT_MAX_LINES,
	 NULL, "validate.max_lines_changed"},
	{"max-function-lines", 0, "N", "longest function allowed in a changed file (default 150)", OPT_MAX_FUNCTION,
	 NULL, "validate.max_function_lines"},
	{"max-complexity", 0, "N", "highest cyclomatic complexity allowed (default 25)", OPT_MAX_COMPLEXITY, NULL,
	 "validate.max_complexity"},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

/* The rules --allow may waive: lib/scan's security and tenant rules. */
static const char *const rule_names[] = {"eval", "shell", "deserialization", "tls", "sql", "permissions",
					 "pipe-to-shell", "secret", "tenant-sql", "tenant-literal", "tenant-api", NULL};

struct settings {
	int only_valid;
	const char *rejects;
	char **allow;
	int nallow;
	double check_timeout;
	long max_files, max_file_bytes, max_lines, max_function, max_complexity;
};

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;

	switch (id) {
	case OPT_ONLY_VALID: s->only_valid = 1; return 0;
	case OPT_REJECTS: s->rejects = arg; return 0;
	case OPT_ALLOW:
		if (sb_opt_choice("allow", arg, rule_names) < 0)
			return -1;
		s->allow = sb_realloc(s->allow, (size_t)(s->nallow + 1) * sizeof *s->allow);
		s->allow[s->nallow++] = (char *)arg;
		return 0;
	case OPT_CHECK_TIMEOUT: return sb_opt_duration("check-timeout", arg, &s->check_timeout);
	case OPT_MAX_FILES: return sb_opt_long("max-files", arg, 1, 1000000, &s->max_files);
	case OPT_MAX_FILE_BYTES: return sb_opt_long("max-file-bytes", arg, 1, 1L << 40, &s->max_file_bytes);
	case OPT_MAX_LINES: return sb_opt_long("max-lines-changed", arg, 1, 1L << 40, &s->max_lines);
	case OPT_MAX_FUNCTION: return sb_opt_long("max-function-lines", arg, 1, 1000000, &s->max_function);
	case OPT_MAX_COMPLEXITY: return sb_opt_long("max-complexity", arg, 1, 1000000, &s->max_complexity);
	}
	return -1;
}

/* ---- what one run knows ---- */

struct validator {
	struct settings *set;
	const struct sb_common *common;
	jv components;
	char **tables;       /* tenant_tables of the configuration, NULL-terminated */
	char **tenants;      /* every tenant id the configuration names, NULL-terminated */
	sb_strmap *stdlib;   /* Python's standard library modules, read once from python3 */
	int stdlib_state;    /* 0 not read, 1 read, -1 python3 missing */
	long changes, failed;
};

/* The checks of one change, as they are made. */
struct verdict {
	jv checks;
	int ok;
	char digest[SB_SHA256_HEX];
	long added, removed, longest_function, max_complexity;
};

static void add_check(struct verdict *v, const char *name, int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* ok: 1 passed, 0 failed, -1 skipped (not a pass: "ok" is null). */
static void add_check(struct verdict *v, const char *name, int ok, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	jv c = jv_object_set(jv_object(), jv_string("name"), jv_string(name));

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c = jv_object_set(c, jv_string("ok"), ok < 0 ? jv_null() : jv_bool(ok));
	if (ok < 0)
		c = jv_object_set(c, jv_string("skipped"), jv_true());
	c = jv_object_set(c, jv_string("file"), file ? jv_string(file) : jv_null());
	if (line > 0)
		c = jv_object_set(c, jv_string("line"), jv_number(line));
	c = jv_object_set(c, jv_string("message"), jv_string(msg));
	v->checks = jv_array_append(v->checks, c);
	if (ok == 0)
		v->ok = 0;
}

static char **string_list(jv v)
{
	int n = jv_get_kind(v) == JV_KIND_ARRAY ? jv_array_length(jv_copy(v)) : 0, k = 0;
	char **out = sb_calloc((size_t)n + 1, sizeof *out);

	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(v), i);
		if (jv_get_kind(s) == JV_KIND_STRING)
			out[k++] = sb_strdup(jv_string_value(s));
		jv_free(s);
	}
	jv_free(v);
	return out;
}

static void free_list(char **l)
{
	for (char **p = l; p && *p; p++)
		free(*p);
	free(l);
}

static void add_unique(char ***list, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], s) == 0)
			return;
	*list = sb_realloc(*list, (*n + 2) * sizeof **list);
	(*list)[(*n)++] = sb_strdup(s);
	(*list)[*n] = NULL;
}

/* Tenant ids the configuration names: its "tenants" (array, or object keys) and each component's "tenant". */
static char **configured_tenants(jv config, jv components)
{
	jv t = sb_config_get(config, "tenants");
	char **out = sb_calloc(1, sizeof *out);
	size_t n = 0;

	if (jv_get_kind(t) == JV_KIND_ARRAY) {
		jv_array_foreach(t, i, x)
		{
			if (jv_get_kind(x) == JV_KIND_STRING)
				add_unique(&out, &n, jv_string_value(x));
			jv_free(x);
		}
	} else if (jv_get_kind(t) == JV_KIND_OBJECT) {
		jv_object_foreach(t, k, x)
		{
			add_unique(&out, &n, jv_string_value(k));
			jv_free(k);
			jv_free(x);
		}
	}
	jv_free(t);
	if (jv_get_kind(components) == JV_KIND_OBJECT) {
		jv_object_foreach(components, k, c)
		{
			char *tenant = sb_rec_string(c, "tenant");
			if (tenant)
				add_unique(&out, &n, tenant);
			free(tenant);
			jv_free(k);
			jv_free(c);
		}
	}
	return out;
}

/* ---- path, base, size and text ---- */

/* The file a change names, as it stands in the component. */
struct target {
	const char *path, *action, *content, *base;
	size_t content_len; /* a JSON string may hold NUL bytes: not strlen */
	char *full;      /* root/path */
	char *current;   /* the current content, or NULL when absent */
	size_t current_len;
};

/* Is the deepest existing directory on the way to full inside real_root once symlinks are resolved? */
static int stays_inside(const char *real_root, const char *full)
{
	char *dir = sb_strdup(full), real[PATH_MAX];
	int inside = 0;

	for (;;) {
		if (realpath(dir, real)) {
			size_t n = strlen(real_root);
			inside = strncmp(real, real_root, n) == 0 && (real[n] == '\0' || real[n] == '/');
			break;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	free(dir);
	return inside;
}

/* A ".git" anywhere in the path: the repository's own files are never a change's to touch. */
static int has_git_part(const char *path)
{
	for (const char *p = path; *p; p += strcspn(p, "/"), p += *p == '/')
		if (strncmp(p, ".git", 4) == 0 && (p[4] == '/' || p[4] == '\0'))
			return 1;
	return 0;
}

static int check_path(struct verdict *v, const char *real_root, struct target *t)
{
	struct stat st;

	if (!sb_path_safe(t->path) || strchr(t->path, '\\')) {
		add_check(v, "path", 0, t->path, 0, "not a relative path inside the component (absolute, \"..\" or a control character)");
		return 0;
	}
	if (has_git_part(t->path)) {
		add_check(v, "path", 0, t->path, 0, "under .git/");
		return 0;
	}
	if (!stays_inside(real_root, t->full)) {
		add_check(v, "path", 0, t->path, 0, "outside the component once symbolic links are resolved");
		return 0;
	}
	if (lstat(t->full, &st) == 0 && !S_ISREG(st.st_mode)) {
		add_check(v, "path", 0, t->path, 0, "%s", S_ISLNK(st.st_mode) ? "a symbolic link, not a file"
							 : S_ISDIR(st.st_mode) ? "a directory"
									       : "a device or special file");
		return 0;
	}
	add_check(v, "path", 1, t->path, 0, "inside the component");
	return 1;
}

static int check_base(struct verdict *v, struct target *t)
{
	char hex[SB_SHA256_HEX];

	if (strcmp(t->action, "create") == 0) {
		if (t->current)
			add_check(v, "base", 0, t->path, 0, "to be created, but it exists");
		else
			add_check(v, "base", 1, t->path, 0, "new file");
		return !t->current;
	}
	if (!t->current) {
		add_check(v, "base", 0, t->path, 0, "to %s, but it does not exist", t->action);
		return 0;
	}
	sb_sha256_hex(t->current, t->current_len, hex);
	if (!t->base || strcmp(hex, t->base) != 0) {
		add_check(v, "base", 0, t->path, 0, "stale: the file changed since the change was made (base_sha256 %s, now %.12s)",
			  t->base ? t->base : "missing", hex);
		return 0;
	}
	add_check(v, "base", 1, t->path, 0, "unchanged since the change was made");
	return 1;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
		if (c == 0 || k == 9 || i + k >= n + (k ? 0 : 1))
			return 0;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

static int check_size_text(struct verdict *v, const struct settings *set, struct target *t)
{
	size_t n = t->content_len;

	if ((long)n > set->max_file_bytes)
		add_check(v, "size", 0, t->path, 0, "%zu bytes, more than --max-file-bytes %ld", n, set->max_file_bytes);
	else
		add_check(v, "size", 1, t->path, 0, "%zu bytes", n);
	if (!valid_utf8((const unsigned char *)t->content, n)) {
		add_check(v, "text", 0, t->path, 0, "not UTF-8 text");
		return 0;
	}
	add_check(v, "text", 1, t->path, 0, "UTF-8 text");
	return (long)n <= set->max_file_bytes;
}

/* ---- syntax: parse or compile a copy, never run it ---- */

/* The first line number a checker's message gives for the file ("x.py", line 3 / x.c:3:5: / x.js:3), or 0. */
static int line_in(const char *out, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(out, name); p; p = strstr(p + 1, name))
		if (p[n] == ':' && p[n + 1] >= '1' && p[n + 1] <= '9')
			return atoi(p + n + 1);
	for (const char *p = out; *p; p++) {
		if (strncmp(p, "line ", 5) == 0 && p[5] >= '0' && p[5] <= '9')
			return atoi(p + 5);
		if (*p == ':' && p[1] >= '1' && p[1] <= '9') {
			const char *q = p + 1;
			while (*q >= '0' && *q <= '9')
				q++;
			if (*q == ':')
				return atoi(p + 1);
		}
	}
	return 0;
}

/* The checker's message on one line, without the temporary directory's name. */
static void tidy(char *out, const char *dir, char *msg, size_t size)
{
	size_t n = strlen(dir), k = 0;

	for (char *p = out; *p && k + 1 < size; p++) {
		if (strncmp(p, dir, n) == 0) {
			p += n - 1 + (p[n] == '/');
			continue;
		}
		msg[k++] = *p == '\n' || *p == '\t' ? ' ' : *p;
	}
	while (k > 0 && msg[k - 1] == ' ')
		k--;
	msg[k] = '\0';
}

/* Run one checker on the copy: 1 passed, 0 failed, -1 skipped (missing). */
static int run_checker(struct verdict *v, const struct settings *set, const char *const argv[], const char *dir,
		       const char *path, const char *what)
{
	char *out = NULL, msg[600];
	int status = 0;
	enum sb_proc_result r = sb_proc_run(argv, dir, set->check_timeout, &status, &out);

	switch (r) {
	case SB_PROC_MISSING:
		add_check(v, "syntax", -1, path, 0, "skipped: %s is not installed", argv[0]);
		free(out);
		return -1;
	case SB_PROC_TIMEOUT:
		add_check(v, "syntax", 0, path, 0, "%s took longer than --check-timeout", what);
		free(out);
		return 0;
	case SB_PROC_FAILED:
		add_check(v, "syntax", -1, path, 0, "skipped: %s could not be started: %s", argv[0], strerror(status));
		free(out);
		return -1;
	case SB_PROC_RAN:
		break;
	}
	tidy(out ? out : "", dir, msg, sizeof msg);
	if (status == 0)
		add_check(v, "syntax", 1, path, 0, "%s: no errors", what);
	else
		add_check(v, "syntax", 0, path, line_in(msg, strrchr(path, '/') ? strrchr(path, '/') + 1 : path), "%s: %s", what,
			  *msg ? msg : "failed");
	free(out);
	return status == 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path) < 0 ? 0 : 0; /* keep going: remove what can be removed */
}

/* The private temporary directory and what the checkers left in it, without a shell. */
static void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write the new content under a private temporary directory, at its own relative path. */
static char *write_copy(const char *dir, const struct target *t)
{
	char *copy = sb_asprintf("%s/%s", dir, t->path), *slash = strrchr(copy, '/');

	*slash = '\0';
	if (sb_mkdirs(copy, 0700) < 0)
		sb_die(SB_EXIT_IO, "cannot create '%s': %s", copy, strerror(errno));
	*slash = '/';
	if (sb_write_atomic(copy, t->content, t->content_len, 0600) < 0)
		sb_die(SB_EXIT_IO, "cannot write '%s': %s", copy, strerror(errno));
	return copy;
}

static void check_syntax(struct verdict *v, const struct settings *set, const char *root, struct target *t)
{
	enum sb_lang lang = sb_lang_of(t->path);

	if (lang == SB_LANG_JSON) {
		jv doc = jv_parse_sized(t->content, (int)t->content_len);
		if (jv_is_valid(doc))
			add_check(v, "syntax", 1, t->path, 0, "JSON: no errors");
		else {
			jv m = jv_invalid_get_msg(jv_copy(doc));
			add_check(v, "syntax", 0, t->path, 0, "JSON: %s", jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "invalid");
			jv_free(m);
		}
		jv_free(doc);
		return;
	}
	if (lang == SB_LANG_OTHER) {
		add_check(v, "syntax", -1, t->path, 0, "skipped: no syntax checker for this kind of file");
		return;
	}
	const char *tmp = getenv("TMPDIR");
	char *dir, *pattern = sb_asprintf("%s/sb-validate-XXXXXX", tmp && *tmp ? tmp : "/tmp");

	if (!(dir = mkdtemp(pattern)))
		sb_die(SB_EXIT_IO, "cannot create a temporary directory: %s", strerror(errno));
	char *copy = write_copy(dir, t), *rel = copy + strlen(dir) + 1;
	if (lang == SB_LANG_PYTHON) {
		/* -I: the copy's directory is not on the module path, so a generated py_compile.py is not run. */
		const char *argv[] = {"python3", "-I", "-m", "py_compile", rel, NULL};
		run_checker(v, set, argv, dir, t->path, "python3 -m py_compile");
	} else if (lang == SB_LANG_SHELL) {
		const char *argv[] = {"bash", "-n", rel, NULL};
		const char *sc[] = {"shellcheck", "-S", "error", rel, NULL};
		if (run_checker(v, set, argv, dir, t->path, "bash -n") > 0)
			run_checker(v, set, sc, dir, t->path, "shellcheck");
	} else if (lang == SB_LANG_C) {
		char *d = sb_strdup(t->path), *slash = strrchr(d, '/');
		char *inc_copy = sb_asprintf("-I%s/%s", dir, slash ? (*slash = '\0', d) : "");
		char *inc_dir = sb_asprintf("-I%s/%s", root, slash ? d : ""), *inc_root = sb_asprintf("-I%s", root);
		const char *argv[] = {"cc", "-fsyntax-only", inc_copy, inc_dir, inc_root, rel, NULL};
		run_checker(v, set, argv, dir, t->path, "cc -fsyntax-only");
		free(d);
		free(inc_copy);
		free(inc_dir);
		free(inc_root);
	} else if (lang == SB_LANG_JS) {
		const char *argv[] = {"node", "--check", rel, NULL};
		run_checker(v, set, argv, dir, t->path, "node --check");
	}
	remove_tree(dir);
	free(copy);
	free(pattern);
}

/* ---- Python imports: standard library, the component, or a declared dependency ---- */

static void load_stdlib(struct validator *val)
{
	const char *argv[] = {"python3", "-I", "-c", "import sys; print('\\n'.join(sorted(sys.stdlib_module_names)))",
			      NULL};
	char *out = NULL;
	int status;

	val->stdlib = sb_strmap_new();
	val->stdlib_state = -1;
	if (sb_proc_run(argv, NULL, val->set->check_timeout, &status, &out) == SB_PROC_RAN && status == 0) {
		for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
			sb_strmap_put(val->stdlib, line, strlen(line), val->stdlib);
		val->stdlib_state = 1;
	}
	free(out);
}

/* A distribution name as an import name: lower case, "-" and "." as "_"; and the usual odd ones. */
static void add_dependency(sb_strmap *deps, const char *name, size_t n)
{
	static const char *const renamed[][2] = {
		{"pyyaml", "yaml"}, {"beautifulsoup4", "bs4"}, {"pillow", "PIL"}, {"python_dateutil", "dateutil"},
		{"scikit_learn", "sklearn"}, {"opencv_python", "cv2"}, {"psycopg2_binary", "psycopg2"},
		{"python_dotenv", "dotenv"}, {"protobuf", "google"}, {"pyjwt", "jwt"}, {"attrs", "attr"},
	};
	char *d = sb_strndup(name, n);

	for (char *p = d; *p; p++)
		*p = *p == '-' || *p == '.' ? '_' : (char)tolower((unsigned char)*p);
	sb_strmap_put(deps, d, strlen(d), deps);
	for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
		if (strcmp(d, renamed[i][0]) == 0)
			sb_strmap_put(deps, renamed[i][1], strlen(renamed[i][1]), deps);
	free(d);
}

/* requirements.txt lines and the quoted names of pyproject.toml's dependencies. */
static sb_strmap *declared_dependencies(const char *root)
{
	sb_strmap *deps = sb_strmap_new();
	char *path = sb_asprintf("%s/requirements.txt", root), *text;
	size_t len;

	if ((text = sb_read_file(path, &len))) {
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			line += strspn(line, " \t");
			size_t n = strcspn(line, " \t<>=!~;[#\r");
			if (n && *line != '-')
				add_dependency(deps, line, n);
		}
		free(text);
	}
	free(path);
	path = sb_asprintf("%s/pyproject.toml", root);
	if ((text = sb_read_file(path, &len))) {
		/* Names at the start of quoted requirement strings, and keys of poetry's table: a loose reading. */
		for (char *q = strchr(text, '"'); q; q = strchr(q + 1, '"')) {
			size_t n = strcspn(q + 1, " \t<>=!~;[\"");
			if (n && isalpha((unsigned char)q[1]))
				add_dependency(deps, q + 1, n);
			if (!(q = strchr(q + 1, '"')))
				break;
		}
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			size_t n = strcspn(line, " =");
			if (n && isalpha((unsigned char)*line) && strstr(line + n, "="))
				add_dependency(deps, line, n);
		}
		free(text);
	}
	free(path);
	return deps;
}

/* Is module a top-level name of the component: a .py file or a package, at the root or under src/, or in the change? */
static int component_module(const char *root, const char *module, jv files)
{
	static const char *const forms[] = {"%s/%s.py", "%s/%s", "%s/src/%s.py", "%s/src/%s"};
	struct stat st;

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char *p = sb_asprintf(forms[i], root, module);
		int found = stat(p, &st) == 0;
		free(p);
		if (found)
			return 1;
	}
	int found = 0;
	jv_array_foreach(files, i, f)
	{
		char *path = sb_rec_string(f, "path");
		const char *base = path ? (strncmp(path, "src/", 4) == 0 ? path + 4 : path) : "";
		size_t n = strlen(module);
		if (path && strncmp(base, module, n) == 0 && (base[n] == '/' || strcmp(base + n, ".py") == 0))
			found = 1;
		free(path);
		jv_free(f);
	}
	return found;
}

static void check_imports(struct validator *val, struct verdict *v, const char *root, struct target *t, jv files)
{
	struct sb_import *imports = NULL;
	size_t n;
	int bad = 0;

	if (sb_lang_of(t->path) != SB_LANG_PYTHON)
		return;
	if (!val->stdlib_state)
		load_stdlib(val);
	if (val->stdlib_state < 0) {
		add_check(v, "imports", -1, t->path, 0, "skipped: python3 is not installed");
		return;
	}
	sb_strmap *deps = declared_dependencies(root);
	n = sb_scan_python_imports(t->content, &imports);
	for (size_t i = 0; i < n; i++) {
		const char *m = imports[i].module;
		if (!sb_strmap_get(val->stdlib, m, strlen(m)) && !sb_strmap_get(deps, m, strlen(m)) &&
		    !component_module(root, m, files)) {
			add_check(v, "imports", 0, t->path, imports[i].line,
				  "module %s is not in the standard library, the component or its declared dependencies", m);
			bad = 1;
		}
		free(imports[i].module);
	}
	free(imports);
	sb_strmap_free(deps);
	if (!bad)
		add_check(v, "imports", 1, t->path, 0, "%zu import%s resolved", n, n == 1 ? "" : "s");
}

/* ---- security, tenants and quality: judged on the lines the change adds ---- */

/*
 * The lines of the new content that the change adds or alters, from a
 * unified diff of the current file to it: a finding on a line that was
 * already there is not this change's doing. added[i] is line i + 1.
 */
static unsigned char *added_lines(const struct target *t, size_t *nlines, long *plus, long *minus)
{
	char *diff = sb_unified_diff(t->path, t->current, t->content);
	size_t n = 1;
	unsigned char *added;
	long line = 0;

	for (const char *p = t->content; *p; p++)
		n += *p == '\n';
	added = sb_calloc(n + 1, 1);
	*nlines = n;
	for (const char *p = diff ? diff : ""; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		if (strncmp(p, "@@ ", 3) == 0) {
			const char *plus_at = strchr(p, '+');
			line = plus_at ? strtol(plus_at + 1, NULL, 10) : 0;
		} else if (strncmp(p, "+++ ", 4) == 0 || strncmp(p, "--- ", 4) == 0) {
			continue;
		} else if (*p == '+') {
			if (line >= 1 && (size_t)line <= n)
				added[line - 1] = 1;
			line++;
			(*plus)++;
		} else if (*p == '-') {
			(*minus)++;
		} else if (*p == ' ') {
			line++;
		}
	}
	free(diff);
	return added;
}

static int allowed(const struct settings *set, const char *rule)
{
	for (int i = 0; i < set->nallow; i++)
		if (strcmp(set->allow[i], rule) == 0)
			return 1;
	return 0;
}

/* The waiver of a finding, in the audit log: who let what through, where. */
static void audit_waiver(struct validator *val, jv change, const char *digest, const char *file,
			 const struct sb_finding *f)
{
	char *path = sb_state_path(val->common, "audit.ndjson"), *id = sb_rec_string(change, "id");
	jv e = jv_object_set(jv_object(), jv_string("action"), jv_string("validate.waiver"));

	e = jv_object_set(e, jv_string("rule"), jv_string(f->rule));
	e = jv_object_set(e, jv_string("change"), id ? jv_string(id) : jv_null());
	e = jv_object_set(e, jv_string("digest"), jv_string(digest));
	e = jv_object_set(e, jv_string("file"), jv_string(file));
	e = jv_object_set(e, jv_string("line"), jv_number(f->line));
	e = jv_object_set(e, jv_string("finding"), jv_string(f->message));
	if (sb_audit_append(path, e) < 0)
		sb_die(SB_EXIT_IO, "cannot append to the audit log '%s': %s", path, strerror(errno));
	free(path);
	free(id);
}

/* Findings of one kind of check on the added lines: failed, waived (--allow, audited), or one passing check. */
static void report_findings(struct validator *val, struct verdict *v, jv change, const char *name,
			    const struct target *t, struct sb_findings *f, const unsigned char *added, size_t nlines)
{
	int reported = 0;

	for (size_t i = 0; i < f->n; i++) {
		const struct sb_finding *x = &f->v[i];
		if (x->line >= 1 && (size_t)x->line <= nlines && !added[x->line - 1])
			continue;
		reported = 1;
		if (allowed(val->set, x->rule)) {
			audit_waiver(val, change, v->digest, t->path, x);
			add_check(v, name, 1, t->path, x->line, "%s: %s (waived by --allow %s)", x->rule, x->message, x->rule);
		} else {
			add_check(v, name, 0, t->path, x->line, "%s: %s", x->rule, x->message);
		}
	}
	if (!reported)
		add_check(v, name, 1, t->path, 0, "no findings on the lines the change adds");
}

static void check_quality(struct verdict *v, const struct settings *set, const struct target *t)
{
	struct sb_quality q = {0};

	sb_scan_quality(t->path, t->content, &q);
	if (q.longest_function > v->longest_function)
		v->longest_function = q.longest_function;
	if (q.max_complexity > v->max_complexity)
		v->max_complexity = q.max_complexity;
	if (q.longest_function > set->max_function)
		add_check(v, "quality", 0, t->path, q.longest_line, "function %s is %d lines long, more than %ld",
			  q.longest_name ? q.longest_name : "?", q.longest_function, set->max_function);
	else if (q.max_complexity > set->max_complexity)
		add_check(v, "quality", 0, t->path, q.complex_line, "function %s has a complexity of %d, more than %ld",
			  q.complex_name ? q.complex_name : "?", q.max_complexity, set->max_complexity);
	else
		add_check(v, "quality", 1, t->path, 0, "longest function %d lines, highest complexity %d",
			  q.longest_function, q.max_complexity);
	sb_quality_free(&q);
}

static void check_content(struct validator *val, struct verdict *v, jv change, const char *tenant, struct target *t)
{
	size_t nlines;
	long plus = 0, minus = 0;
	unsigned char *added = added_lines(t, &nlines, &plus, &minus);
	struct sb_findings f = {0};

	v->added += plus;
	v->removed += minus;
	sb_scan_security(t->path, t->content, &f);
	report_findings(val, v, change, "security", t, &f, added, nlines);
	sb_findings_free(&f);
	if (tenant) {
		char **others = sb_calloc(1, sizeof *others);
		size_t n = 0;
		for (char **p = val->tenants; *p; p++)
			if (strcmp(*p, tenant) != 0)
				add_unique(&others, &n, *p);
		memset(&f, 0, sizeof f);
		sb_scan_tenant(t->path, t->content, (const char *const *)val->tables, (const char *const *)others, &f);
		report_findings(val, v, change, "tenant", t, &f, added, nlines);
		sb_findings_free(&f);
		free_list(others);
	}
	check_quality(v, val->set, t);
	free(added);
}

/* ---- one change ---- */

static int read_target(jv file, const char *root, struct target *t, char **owned, struct verdict *v)
{
	static const char *const actions[] = {"create", "modify", "delete", NULL};
	jv content = sb_rec_get(file, "content");

	memset(t, 0, sizeof *t);
	owned[0] = sb_rec_string(file, "path");
	owned[1] = sb_rec_string(file, "action");
	owned[2] = sb_rec_string(file, "base_sha256");
	t->path = owned[0];
	t->action = owned[1];
	t->base = owned[2];
	if (jv_get_kind(content) == JV_KIND_STRING) {
		t->content_len = (size_t)jv_string_length_bytes(jv_copy(content));
		owned[3] = sb_malloc(t->content_len + 1);
		memcpy(owned[3], jv_string_value(content), t->content_len + 1);
		t->content = owned[3];
	}
	jv_free(content);
	int known = 0;
	for (int i = 0; t->action && actions[i]; i++)
		known |= strcmp(t->action, actions[i]) == 0;
	jv raw_path = sb_rec_get(file, "path");
	int nul = t->path && strlen(t->path) != (size_t)jv_string_length_bytes(jv_copy(raw_path));
	jv_free(raw_path);
	if (nul) {
		add_check(v, "path", 0, t->path, 0, "a NUL byte in the path");
		return 0;
	}
	if (known && ((strcmp(t->action, "delete") == 0 && t->content) || (strcmp(t->action, "create") == 0 && t->base))) {
		add_check(v, "path", 0, t->path, 0, "%s", strcmp(t->action, "delete") == 0 ? "a delete carries no content"
											 : "a create has no base_sha256");
		return 0;
	}
	if (!t->path || !known || (strcmp(t->action, "delete") != 0 && !t->content)) {
		add_check(v, "path", 0, t->path, 0, "a file needs a path, an action (create, modify or delete) and, "
						    "unless deleted, a content string");
		return 0;
	}
	t->full = sb_asprintf("%s/%s", root, t->path);
	/* Only a regular file is read: opening a FIFO or a device could block or do worse. */
	struct stat st;
	if (lstat(t->full, &st) == 0 && S_ISREG(st.st_mode))
		t->current = sb_read_file(t->full, &t->current_len);
	return 1;
}

static void check_file(struct validator *val, struct verdict *v, jv change, const char *tenant, const char *root,
		       const char *real_root, jv file, jv files)
{
	char *owned[4] = {NULL, NULL, NULL, NULL};
	struct target t;

	if (read_target(file, root, &t, owned, v) && check_path(v, real_root, &t) && check_base(v, &t) &&
	    strcmp(t.action, "delete") != 0 && check_size_text(v, val->set, &t)) {
		check_syntax(v, val->set, root, &t);
		check_imports(val, v, root, &t, files);
		check_content(val, v, change, tenant, &t);
	} else if (t.action && strcmp(t.action, "delete") == 0 && t.current) {
		for (const char *p = t.current; *p; p++)
			v->removed += *p == '\n';
	}
	free(t.full);
	free(t.current);
	for (int i = 0; i < 4; i++)
		free(owned[i]);
}

/* A file named twice ("a.py" and "./a.py" too) would be checked once and deployed twice. */
static void check_unique_paths(struct verdict *v, jv files)
{
	sb_strmap *seen = sb_strmap_new();

	jv_array_foreach(files, i, f)
	{
		char *path = sb_rec_string(f, "path"), norm[PATH_MAX];
		size_t n = 0;
		for (const char *p = path ? path : ""; *p && n + 1 < sizeof norm; p += strcspn(p, "/"), p += *p == '/') {
			size_t k = strcspn(p, "/");
			if (k == 0 || (k == 1 && *p == '.'))
				continue;
			n += (size_t)snprintf(norm + n, sizeof norm - n, "%s%.*s", n ? "/" : "", (int)k, p);
		}
		norm[n] = '\0';
		if (path && sb_strmap_get(seen, norm, n))
			add_check(v, "path", 0, path, 0, "named twice in the change (as %s)", norm);
		else if (path)
			sb_strmap_put(seen, norm, n, seen);
		free(path);
		jv_free(f);
	}
	sb_strmap_free(seen);
}

static jv metrics_of(const struct verdict *v, int nfiles)
{
	jv m = jv_object_set(jv_object(), jv_string("files"), jv_number(nfiles));

	m = jv_object_set(m, jv_string("lines_added"), jv_number((double)v->added));
	m = jv_object_set(m, jv_string("lines_removed"), jv_number((double)v->removed));
	m = jv_object_set(m, jv_string("longest_function"), jv_number((double)v->longest_function));
	m = jv_object_set(m, jv_string("max_complexity"), jv_number((double)v->max_complexity));
	return m;
}

/* Every check of a change: its validation object. */
static jv validate(struct validator *val, jv change)
{
	struct verdict v = {.checks = jv_array(), .ok = 1};
	jv files = sb_rec_get(change, "files");
	char *component = sb_rec_string(change, "component"), *tenant = sb_rec_string(change, "tenant");
	jv c = component ? sb_rec_get(val->components, component) : jv_null();
	char *root = sb_rec_string(c, "path"), real_root[PATH_MAX], digest[SB_SHA256_HEX];
	int nfiles = jv_get_kind(files) == JV_KIND_ARRAY ? jv_array_length(jv_copy(files)) : 0;

	sb_change_digest(change, v.digest);
	if (!root || !realpath(root, real_root)) {
		add_check(&v, "path", 0, NULL, 0, "component %s has %s", component ? component : "(none)",
			  root ? "a path that does not exist" : "no path in the configuration");
	} else if (nfiles == 0) {
		add_check(&v, "size", 0, NULL, 0, "the change has no files");
	} else {
		if (nfiles > val->set->max_files)
			add_check(&v, "size", 0, NULL, 0, "%d files, more than --max-files %ld", nfiles, val->set->max_files);
		jv_array_foreach(files, i, f)
		{
			check_file(val, &v, change, tenant, root, real_root, f, files);
			jv_free(f);
		}
		if (v.added + v.removed > val->set->max_lines)
			add_check(&v, "quality", 0, NULL, 0, "%ld lines changed, more than --max-lines-changed %ld",
				  v.added + v.removed, val->set->max_lines);
	}
	memcpy(digest, v.digest, sizeof digest);
	check_unique_paths(&v, files);
	jv out = jv_object_set(jv_object(), jv_string("ok"), jv_bool(v.ok));
	out = jv_object_set(out, jv_string("digest"), jv_string(digest));
	out = jv_object_set(out, jv_string("checks"), v.checks);
	out = jv_object_set(out, jv_string("metrics"), metrics_of(&v, nfiles));
	free(component);
	free(tenant);
	free(root);
	jv_free(c);
	jv_free(files);
	return out;
}

static int validate_record(void *ctx, jv change, struct sb_input *in)
{
	struct validator *val = ctx;
	jv files = sb_rec_get(change, "files");
	int ok;

	if (jv_get_kind(files) != JV_KIND_ARRAY) {
		jv_free(files);
		jv_free(change);
		sb_input_reject(in, "change has no \"files\" array");
		return -1;
	}
	jv_free(files);
	jv validation = validate(val, change);
	jv verdict = jv_object_get(jv_copy(validation), jv_string("ok"));
	ok = jv_get_kind(verdict) == JV_KIND_TRUE;
	jv_free(verdict);
	change = jv_object_set(change, jv_string("validation"), validation);
	val->changes++;
	if (!ok) {
		val->failed++;
		if (val->set->rejects) {
			jv line = jv_dump_string(jv_copy(change), 0);
			char *text = sb_asprintf("%s\n", jv_string_value(line));
			if (sb_append_locked(val->set->rejects, text, strlen(text), 1) < 0)
				sb_die(SB_EXIT_IO, "cannot append to '%s': %s", val->set->rejects, strerror(errno));
			free(text);
			jv_free(line);
		}
	}
	if (ok || !val->set->only_valid)
		sb_output_record(change);
	else
		jv_free(change);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const consumes[] = {"change", NULL};
	struct settings set = {.check_timeout = 30, .max_files = 50, .max_file_bytes = 1048576, .max_lines = 2000,
			       .max_function = 150, .max_complexity = 25};
	const struct sb_tool_spec spec = {
		.name = "sb-validate",
		.synopsis = "[OPTION]... [FILE]...",
		.purpose = "Check changes (paths, base, syntax, imports, security, tenant isolation, quality) without "
			   "running them, and stamp a digest of what was validated.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct sb_run run;
	struct validator val = {.set = &set};
	int status;

	sb_progname = "sb-validate";
	sb_opts_parse(&spec, argc, argv, &common);
	val.common = &common;
	val.components = sb_config_get(common.config, "components");
	val.tables = string_list(sb_config_get(common.config, "tenant_tables"));
	val.tenants = configured_tenants(common.config, val.components);

	sb_filter_begin(&run, &common);
	sb_filter_loop(&run, &(struct sb_filter){.consumes = consumes, .record = validate_record, .ctx = &val});
	status = sb_filter_end(&run);
	if (common.verbose)
		sb_warn("%ld changes: %ld passed, %ld failed", val.changes, val.changes - val.failed, val.failed);
	if (status == SB_EXIT_OK && val.failed)
		status = SB_EXIT_NEGATIVE;

	if (val.stdlib)
		sb_strmap_free(val.stdlib);
	free_list(val.tables);
	free_list(val.tenants);
	jv_free(val.components);
	free(set.allow);
	sb_opts_free(&common);
	return status;
}
