/*
 * playbook.c - drives lib/playbook for test/playbook.bats.
 *
 *   playbook [PLAYBOOK|-] ROOT <records.ndjson
 *   playbook --builtin
 *
 * Loads PLAYBOOK (absent or "-": the built-in one) and applies it to the
 * component under ROOT for each opportunity record of the input, with the
 * insight records read before it. Prints, a line each, the result as one
 * JSON object with rule, file, content and rationale, or "none: REASON",
 * or "error: REASON"; exits 1 after an error. --builtin prints the
 * built-in playbook.
 */
#include "playbook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_result(const struct sb_playbook_result *r)
{
	jv o = jv_object();
	jv s;

	o = jv_object_set(o, jv_string("rule"), jv_string(r->rule));
	o = jv_object_set(o, jv_string("file"), jv_string(r->file));
	o = jv_object_set(o, jv_string("content"), jv_string(r->content));
	o = jv_object_set(o, jv_string("rationale"), jv_string(r->rationale));
	s = jv_dump_string(o, 0);
	printf("%s\n", jv_string_value(s));
	jv_free(s);
}

/* Apply p to an opportunity with the insights read before it; -1 on error. */
static int apply(sb_playbook *p, jv opportunity, jv insights, const char *root)
{
	char err[1024];
	struct sb_playbook_result r;
	int rc = sb_playbook_apply(p, opportunity, insights, root, &r, err, sizeof err);

	if (rc == 1) {
		print_result(&r);
		sb_playbook_result_free(&r);
	} else
		printf("%s: %s\n", rc == 0 ? "none" : "error", err);
	return rc < 0 ? -1 : 0;
}

/* Each opportunity in the input, with the insights before it; 1 when one had an error. */
static int apply_all(sb_playbook *p, const char *root)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	jv insights = jv_array();
	int seen = 0, failed = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		jv rec = jv_parse_sized(line, (int)n);
		jv type = jv_get_kind(rec) == JV_KIND_OBJECT ? jv_object_get(jv_copy(rec), jv_string("type")) : jv_null();
		const char *t = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "";
		if (strcmp(t, "opportunity") == 0) {
			seen = 1;
			failed |= apply(p, rec, insights, root) < 0;
		} else if (strcmp(t, "insight") == 0)
			insights = jv_array_append(insights, jv_copy(rec));
		jv_free(type);
		jv_free(rec);
	}
	free(line);
	jv_free(insights);
	if (!seen)
		printf("error: no opportunity record in the input\n");
	return failed || !seen;
}

int main(int argc, char **argv)
{
	char err[1024];
	const char *path = NULL;
	sb_playbook *p;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--builtin") == 0) {
		fputs(sb_playbook_builtin_text(), stdout);
		return 0;
	}
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: playbook [PLAYBOOK|-] ROOT <records.ndjson\n");
		return 2;
	}
	if (argc == 3 && strcmp(argv[1], "-") != 0)
		path = argv[1];
	if (!(p = sb_playbook_load(path, err, sizeof err))) {
		printf("error: %s\n", err);
		return 1;
	}
	rc = apply_all(p, argv[argc - 1]);
	sb_playbook_free(p);
	return rc;
}
