/* edits.h - model answers in three edit formats, applied flexibly but never ambiguously */
#ifndef SB_EDITS_H
#define SB_EDITS_H

#include <stddef.h>

enum sb_edit_format { SB_EDIT_SEARCH_REPLACE, SB_EDIT_UDIFF, SB_EDIT_WHOLE };

/* "search-replace", "udiff" or "whole": 0, or -1 for any other name. */
int sb_edit_format_parse(const char *name, enum sb_edit_format *out);

/* The name sb_edit_format_parse takes for fmt. */
const char *sb_edit_format_name(enum sb_edit_format fmt);

/*
 * Instructions for the model describing fmt, with an example, written for
 * the parser of sb_edits_apply: a prompt can include them as they are.
 */
const char *sb_edit_format_prompt(enum sb_edit_format fmt);

struct sb_file_change {
	char *path;           /* relative to the component root, normalised ("src/x.py") */
	const char *action;   /* "create", "modify" or "delete" (static strings) */
	char *content;        /* new content (NULL for delete) */
	char *diff;           /* unified diff, "--- a/PATH\n+++ b/PATH\n@@ ..."; /dev/null sides for create/delete */
	char base_sha256[65]; /* hex SHA-256 of the current file (modify, delete); "" for create */
};

struct sb_change_set {
	struct sb_file_change *files;
	size_t n;
};

/* Only exact matches: what the flexible matching adds, for bench/edit-formats. */
#define SB_EDITS_EXACT 1u

/*
 * Parse a model's answer in format fmt and apply every edit to the files
 * under root (the component's directory): 0 and the resulting file changes
 * (one per file, in the order the answer first names them, edits to the same
 * file applied in order), or -1 with a one-line reason in err that can be
 * quoted back to the model: "src/x.py: SEARCH text not found",
 * "src/x.py: SEARCH text matches 2 places", "../etc/passwd: path outside the
 * component", "no edits found in the answer". Files are only read, never
 * written. A file whose content the edits leave as it was is left out; when
 * that leaves nothing, the answer fails with "the edits change nothing".
 *
 * When an exact match fails, an edit's text is looked for with trailing
 * whitespace ignored, then with leading indentation ignored (the
 * replacement is re-indented by the difference found), then, for a diff
 * hunk, with fewer context lines and finally by its context lines alone; the
 * first of these that finds anything must find exactly one place.
 */
int sb_edits_apply(const char *answer, size_t len, enum sb_edit_format fmt, const char *root,
		   struct sb_change_set *out, char *err, size_t errsize);

/* sb_edits_apply with flags (SB_EDITS_EXACT). */
int sb_edits_apply_flags(const char *answer, size_t len, enum sb_edit_format fmt, const char *root,
			 unsigned flags, struct sb_change_set *out, char *err, size_t errsize);

/*
 * A file change giving path under root the new content (create when the
 * file is absent, modify otherwise; a NULL content deletes it): for
 * providers that compute content themselves. The path is checked as in
 * sb_edits_apply. When content equals the file's, the change is a modify
 * with an empty diff. 0, or -1 with a reason in err.
 */
int sb_file_change_for(const char *root, const char *path, const char *content,
		       struct sb_file_change *out, char *err, size_t errsize);

/*
 * Unified diff of old (NULL: absent file) to new_text (NULL: deleted) with 3
 * lines of context and "a/" and "b/" prefixes, for `patch -p1`; "" when the
 * two are equal. Newly allocated.
 */
char *sb_unified_diff(const char *path, const char *old, const char *new_text);

/*
 * Is path a safe relative path inside a component: not empty, not
 * absolute, no ".." component, no control character (a newline would break
 * the diff's header)?
 */
int sb_path_safe(const char *path);

void sb_file_change_free(struct sb_file_change *f);
void sb_change_set_free(struct sb_change_set *c);

#endif
