/*
 * audit-append.c - appends entries to an audit log through sb_audit_append,
 * the writer every tool uses, for test/sb-audit.bats.
 *
 *   audit-append FILE <entries.ndjson
 *
 * Each input line is a JSON object appended as one entry: "ts" and "actor"
 * are kept when the line has them, else stamped as the tools stamp them
 * (the real time, $SB_ACTOR or the user name); "prev" is always the
 * writer's. Exits 2 on a line that is not an object, 5 when the append fails.
 */
#include "audit.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: audit-append FILE <entries.ndjson\n");
		return 2;
	}
	while (status == 0 && (n = getline(&line, &cap, stdin)) > 0) {
		jv entry = jv_parse_sized(line, n > INT_MAX ? INT_MAX : (int)n);
		if (jv_get_kind(entry) != JV_KIND_OBJECT) {
			fprintf(stderr, "audit-append: not a JSON object: %s", line);
			jv_free(entry);
			status = 2;
		} else if (sb_audit_append(argv[1], entry) < 0) {
			fprintf(stderr, "audit-append: %s: %s\n", argv[1], strerror(errno));
			status = 5;
		}
	}
	free(line);
	return status;
}
