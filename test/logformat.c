/*
 * logformat.c - drives lib/logformat for test/logformat.bats.
 *
 *   logformat FORMAT [NOW] <lines
 *
 * FORMAT is a format of sb_logformat_parse, "json" (each line a JSON object
 * for sb_log_from_object) or "level" (each line a name for sb_log_level).
 * Each record is printed compactly on a line of its own; a line that cannot
 * be read prints "error: REASON". NOW (RFC 3339 or epoch seconds) fixes the
 * time that RFC 3164 takes its year from.
 */
#include "logformat.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print(jv v)
{
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		printf("error: %s\n", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "?");
		jv_free(msg);
		return;
	}
	jv s = jv_dump_string(v, 0);
	printf("%s\n", jv_string_value(s));
	jv_free(s);
}

static void print_records(jv arr)
{
	if (!jv_is_valid(arr)) {
		print(arr);
		return;
	}
	jv_array_foreach(arr, i, rec)
		print(rec);
	jv_free(arr);
}

int main(int argc, char **argv)
{
	const char *format;
	double now;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: logformat FORMAT|json|level [NOW] <lines\n");
		return 2;
	}
	format = argv[1];
	if (argc == 3) {
		if (sb_time_parse(argv[2], &now)) {
			fprintf(stderr, "logformat: bad time '%s'\n", argv[2]);
			return 2;
		}
	} else {
		now = sb_time_now();
	}
	if (strcmp(format, "json") != 0 && strcmp(format, "level") != 0 && !sb_logformat_known(format)) {
		fprintf(stderr, "logformat: unknown format '%s'\n", format);
		return 2;
	}
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (strcmp(format, "level") == 0) {
			const char *level = sb_log_level(line);
			printf("%s\n", level ? level : "error: unknown level");
		} else if (strcmp(format, "json") == 0) {
			jv obj = jv_parse_sized(line, (int)n);
			if (jv_is_valid(obj)) {
				print(sb_log_from_object(obj));
			} else {
				jv_free(obj);
				printf("error: not JSON\n");
			}
		} else {
			print_records(sb_logformat_parse(format, line, (size_t)n, now));
		}
	}
	free(line);
	if (fflush(stdout) || ferror(stdout))
		return 5;
	return 0;
}
