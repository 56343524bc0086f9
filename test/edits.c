/*
 * edits.c - drives lib/edits for test/edits.bats and bench/edit-formats.
 *
 *   edits [--exact] FORMAT ROOT <answer   apply an answer (sb_edits_apply)
 *   edits --for ROOT PATH [--delete] <content   sb_file_change_for
 *   edits --diff PATH OLD NEW             sb_unified_diff of two files ("-": absent)
 *   edits --safe PATH...                  sb_path_safe: "safe PATH" or "unsafe PATH"
 *   edits --prompt FORMAT                 sb_edit_format_prompt
 *
 * A change set is printed as one JSON object per file (path, action,
 * base_sha256, content unless deleted, diff); a failure as "error: REASON"
 * on stdout, with exit status 1. --exact turns off the flexible matching.
 */
#include "edits.h"
#include "err.h"
#include "fsutil.h"

#include <jq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_change(const struct sb_file_change *f)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("path"), jv_string(f->path));
	o = jv_object_set(o, jv_string("action"), jv_string(f->action));
	o = jv_object_set(o, jv_string("base_sha256"), jv_string(f->base_sha256));
	if (f->content)
		o = jv_object_set(o, jv_string("content"), jv_string(f->content));
	o = jv_object_set(o, jv_string("diff"), jv_string(f->diff));
	jv s = jv_dump_string(o, 0);
	printf("%s\n", jv_string_value(s));
	jv_free(s);
}

static char *read_stdin(size_t *len)
{
	size_t cap = 8192, n = 0, r;
	char *buf = sb_malloc(cap);

	while ((r = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
		n += r;
		if (n + 1 == cap)
			buf = sb_realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int usage(void)
{
	fprintf(stderr, "usage: edits [--exact] FORMAT ROOT <answer\n"
			"       edits --for ROOT PATH [--delete] <content\n"
			"       edits --diff PATH OLD NEW\n"
			"       edits --safe PATH...\n"
			"       edits --prompt FORMAT\n");
	return 2;
}

static int apply(int argc, char **argv)
{
	enum sb_edit_format fmt;
	unsigned flags = 0;
	struct sb_change_set set;
	char err[512];
	size_t len;

	if (argc > 1 && strcmp(argv[1], "--exact") == 0) {
		flags = SB_EDITS_EXACT;
		argc--, argv++;
	}
	if (argc != 3)
		return usage();
	if (sb_edit_format_parse(argv[1], &fmt)) {
		fprintf(stderr, "edits: unknown format '%s'\n", argv[1]);
		return 2;
	}
	char *answer = read_stdin(&len);
	int rc = sb_edits_apply_flags(answer, len, fmt, argv[2], flags, &set, err, sizeof err);
	free(answer);
	if (rc) {
		printf("error: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < set.n; i++)
		print_change(&set.files[i]);
	sb_change_set_free(&set);
	return 0;
}

static int change_for(int argc, char **argv)
{
	struct sb_file_change f;
	char err[512], *content = NULL;
	size_t len;
	int rc;

	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "--delete") == 0))
		return usage();
	if (argc == 4)
		content = read_stdin(&len);
	rc = sb_file_change_for(argv[2], argv[3], content, &f, err, sizeof err);
	free(content);
	if (rc) {
		printf("error: %s\n", err);
		return 1;
	}
	print_change(&f);
	sb_file_change_free(&f);
	return 0;
}

static int diff(int argc, char **argv)
{
	char *old = NULL, *new_text = NULL, *d;
	size_t len;

	if (argc != 5)
		return usage();
	if (strcmp(argv[3], "-") != 0 && !(old = sb_read_file(argv[3], &len)))
		sb_die(2, "%s:", argv[3]);
	if (strcmp(argv[4], "-") != 0 && !(new_text = sb_read_file(argv[4], &len)))
		sb_die(2, "%s:", argv[4]);
	d = sb_unified_diff(argv[2], old, new_text);
	fputs(d, stdout);
	free(d);
	free(old);
	free(new_text);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	sb_progname = "edits";
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "--for") == 0) {
		rc = change_for(argc, argv);
	} else if (strcmp(argv[1], "--diff") == 0) {
		rc = diff(argc, argv);
	} else if (strcmp(argv[1], "--safe") == 0) {
		for (int i = 2; i < argc; i++)
			printf("%s %s\n", sb_path_safe(argv[i]) ? "safe" : "unsafe", argv[i]);
		rc = 0;
	} else if (strcmp(argv[1], "--prompt") == 0) {
		enum sb_edit_format fmt;
		if (argc != 3 || sb_edit_format_parse(argv[2], &fmt))
			return usage();
		fputs(sb_edit_format_prompt(fmt), stdout);
		rc = 0;
	} else {
		rc = apply(argc, argv);
	}
	if (fflush(stdout) || ferror(stdout)) {
		perror("edits: stdout");
		return 5;
	}
	return rc;
}
