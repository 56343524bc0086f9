/* playbook.h - the rules provider: playbooks of jq edits on a component's JSON configuration */
#ifndef SB_PLAYBOOK_H
#define SB_PLAYBOOK_H

#include <jv.h>
#include <stddef.h>

/*
 * A playbook is JSON: {"rules": [RULE, ...]}, each RULE
 *   {"name": "raise-http-timeout",        unique, required
 *    "doc": "...",                        what the rule edits and why; ignored
 *    "match": {...} or [{...}, ...],      all fields of one object must hold; with an
 *                                         array, any one object (default: always)
 *    "file": "config.json",               relative to the component's root (the default)
 *    "edit": "JQ PROGRAM",                required; run on the parsed file, with
 *                                         $opportunity and $insights bound
 *    "rationale": "..."}                  {field} is filled in from the opportunity
 * and a match object's fields, all optional:
 *   "kind"      string or array: any of the opportunity's "kinds" or its insights' kinds
 *   "metric"    a POSIX extended regex, case-insensitive: the opportunity's or an insight's metric
 *   "template"  a case-insensitive substring or, written "/REGEX/", a regex: the
 *               opportunity's "pattern" or an insight's pattern or evidence.template
 *   "component" string or array: the opportunity's component, exactly
 *   "severity"  string or array: the opportunity's severity
 * An edit's first output is the new document; one equal to the old (or no
 * output at all) changes nothing. Unknown fields are refused, so that a
 * misspelt match field cannot widen a rule.
 */
typedef struct sb_playbook sb_playbook;

/*
 * Load a playbook (path NULL: the built-in one), compiling every edit. NULL
 * and a one-line reason in err ("PATH: rules[2].edit: jq compile error:
 * ...", "PATH: rules[0].match.kind: not a string or array") on error.
 * A playbook holds one jq state: use it from one thread at a time.
 */
sb_playbook *sb_playbook_load(const char *path, char *err, size_t errsize);

/* The built-in playbook's JSON text (pretty printed), made on the first call; not to be freed. */
const char *sb_playbook_builtin_text(void);

struct sb_playbook_result {
	char *rule;      /* the matching rule's name */
	char *file;      /* the JSON file edited, relative to the component root */
	char *content;   /* its new content (2-space indent, trailing newline) */
	char *rationale; /* the rule's rationale with its {field}s filled in */
};

/*
 * The first rule that matches the opportunity (borrowed) and its insights
 * (a jv array of insight records, borrowed, possibly empty) and whose edit
 * changes the component's file under root: 1 and *out. 0 when no rule
 * matches or no matching rule changes anything, with the reason in err
 * ("no rule matches kinds degradation, metric checkout_latency_ms",
 * "rule raise-http-timeout: config.json unchanged"); a rule whose file does
 * not exist changes nothing. -1 and err when a file cannot be read or
 * parsed, or an edit raises an error.
 *
 * In a rationale, {field} is the opportunity's field, else that of the first
 * insight with it, else that of the first evidence with it (numbers rounded for
 * reading, arrays joined with ", "); {changes} is what the edit changed
 * ("http.timeout_ms 2000 -> 3000"), {rule} and {file} the rule's. An
 * unknown {field} stays as written.
 */
int sb_playbook_apply(sb_playbook *p, jv opportunity, jv insights, const char *root,
		      struct sb_playbook_result *out, char *err, size_t errsize);

void sb_playbook_result_free(struct sb_playbook_result *r);
void sb_playbook_free(sb_playbook *p);

#endif
