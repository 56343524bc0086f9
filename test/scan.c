/*
 * scan.c - drives lib/scan for test/scan.bats.
 *
 *   scan security|tenant|quality|imports FILE [tables=a,b] [others=t2,t3]
 *
 * Prints findings as JSON lines {"rule","line","message"}, the quality
 * metrics as one JSON object, or the imports as JSON lines
 * {"module","line"}.
 */
#include "err.h"
#include "scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_string(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char buf[4096], *text = sb_strdup("");
	size_t len = 0, n;

	if (!f)
		sb_die(SB_EXIT_IO, "cannot open '%s':", path);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		text = sb_realloc(text, len + n + 1);
		memcpy(text + len, buf, n);
		len += n;
		text[len] = '\0';
	}
	if (ferror(f))
		sb_die(SB_EXIT_IO, "cannot read '%s':", path);
	fclose(f);
	return text;
}

/* "a,b" as a NULL-terminated array of pointers into s, which is split in place. */
static const char **split(char *s)
{
	size_t n = 1;
	const char **v;

	for (const char *p = s; *p; p++)
		n += *p == ',';
	v = sb_calloc(n + 1, sizeof *v);
	n = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
		v[n++] = tok;
	return v;
}

int main(int argc, char **argv)
{
	const char **tables = NULL, **others = NULL;
	char *text;

	sb_progname = "scan";
	if (argc < 3)
		sb_die(SB_EXIT_USAGE, "usage: scan security|tenant|quality|imports FILE [tables=a,b] [others=t2,t3]");
	for (int i = 3; i < argc; i++) {
		if (strncmp(argv[i], "tables=", 7) == 0)
			tables = split(argv[i] + 7);
		else if (strncmp(argv[i], "others=", 7) == 0)
			others = split(argv[i] + 7);
		else
			sb_die(SB_EXIT_USAGE, "unknown argument '%s'", argv[i]);
	}
	text = slurp(argv[2]);
	if (strcmp(argv[1], "security") == 0 || strcmp(argv[1], "tenant") == 0) {
		struct sb_findings f = {0};

		if (argv[1][0] == 's')
			sb_scan_security(argv[2], text, &f);
		else
			sb_scan_tenant(argv[2], text, tables, others, &f);
		for (size_t i = 0; i < f.n; i++) {
			printf("{\"rule\":");
			json_string(f.v[i].rule);
			printf(",\"line\":%d,\"message\":", f.v[i].line);
			json_string(f.v[i].message);
			printf("}\n");
		}
		sb_findings_free(&f);
	} else if (strcmp(argv[1], "quality") == 0) {
		struct sb_quality q;

		sb_scan_quality(argv[2], text, &q);
		printf("{\"longest_function\":%d,\"longest_line\":%d,\"longest_name\":", q.longest_function,
		       q.longest_line);
		json_string(q.longest_name);
		printf(",\"max_complexity\":%d,\"complex_line\":%d,\"complex_name\":", q.max_complexity, q.complex_line);
		json_string(q.complex_name);
		printf("}\n");
		sb_quality_free(&q);
	} else if (strcmp(argv[1], "imports") == 0) {
		struct sb_import *v;
		size_t n = sb_scan_python_imports(text, &v);

		for (size_t i = 0; i < n; i++) {
			printf("{\"module\":");
			json_string(v[i].module);
			printf(",\"line\":%d}\n", v[i].line);
			free(v[i].module);
		}
		free(v);
	} else {
		sb_die(SB_EXIT_USAGE, "unknown scan '%s'", argv[1]);
	}
	free(tables);
	free(others);
	free(text);
	if (fflush(stdout) || ferror(stdout))
		return SB_EXIT_IO;
	return 0;
}
