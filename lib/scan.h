/* scan.h - static checks of a file's text: security rules, tenant isolation, quality, imports */
#ifndef SB_SCAN_H
#define SB_SCAN_H

#include <stddef.h>

/*
 * Every check here reads text only: nothing is parsed by a real compiler
 * and nothing is run. The checks are heuristics, documented rule by rule in
 * scan.c, that lean towards reporting: a finding is a reason to look, and
 * a rule can be waived for one run (sb-validate --allow RULE).
 */

enum sb_lang { SB_LANG_OTHER, SB_LANG_PYTHON, SB_LANG_SHELL, SB_LANG_C, SB_LANG_JS, SB_LANG_JSON };

/* The language of path by its extension: .py .sh .bash .c .h .js .mjs .cjs .json. */
enum sb_lang sb_lang_of(const char *path);

/* rule is a static name, one of those listed at sb_scan_security and sb_scan_tenant. */
struct sb_finding {
	const char *rule;
	int line;
	char *message;
};

struct sb_findings {
	struct sb_finding *v;
	size_t n, cap;
};

/* Frees the messages and the array, and leaves f empty. */
void sb_findings_free(struct sb_findings *f);

/*
 * Security rules on one file's text (NUL-terminated, lines numbered from
 * 1), appended to out, at most one finding per rule and line. The rules,
 * by the names --allow takes: eval, shell, deserialization, tls, sql,
 * permissions, pipe-to-shell, secret. Comments are not scanned, except by
 * secret: a secret in a comment is still a secret. A secret's message
 * names its kind, never its value.
 */
void sb_scan_security(const char *path, const char *text, struct sb_findings *out);

/*
 * Tenant isolation, appended to out. tables and other_tenants are
 * NULL-terminated (either may be NULL). Rules: tenant-sql (a SQL
 * statement on one of tables that does not mention tenant_id),
 * tenant-literal (a tenant id of other_tenants as a whole word),
 * tenant-api (an HTTP call whose URL has a literal after "/tenants/").
 */
void sb_scan_tenant(const char *path, const char *text, const char *const tables[],
		    const char *const other_tenants[], struct sb_findings *out);

/*
 * Quality metrics: the longest function in lines and the highest
 * cyclomatic-complexity estimate of a function, each with the line the
 * function starts on and its name ("(anonymous)" when it has none). All
 * zero and names NULL when the file has no function found.
 */
struct sb_quality {
	int longest_function, longest_line;
	char *longest_name;
	int max_complexity, complex_line;
	char *complex_name;
};

void sb_scan_quality(const char *path, const char *text, struct sb_quality *out);
void sb_quality_free(struct sb_quality *q);

/*
 * Python: the top-level module of each absolute import (`import a.b`,
 * `from a.b import c`: "a"; relative imports are left out), in order, with
 * its line. *out is an array of the returned count of entries followed by
 * one whose module is NULL; the caller frees each module and the array.
 */
struct sb_import {
	char *module;
	int line;
};

size_t sb_scan_python_imports(const char *text, struct sb_import **out);

#endif
