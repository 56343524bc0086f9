/* input.c - reading NDJSON records from files and stdin */
#include "input.h"
#include "err.h"
#include "fsutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_BUFSZ (256 * 1024)

void sb_input_open(struct sb_input *in, const struct sb_common *c)
{
	static char *dash[] = {"-"};

	memset(in, 0, sizeof *in);
	in->files = c->nfiles ? c->files : dash;
	in->nfiles = c->nfiles ? c->nfiles : 1;
	in->on_error = c->on_error;
	in->quarantine = c->quarantine;
	in->quiet = c->quiet;
}

/* Open the next file; 0 at the end of the list. */
static int open_next(struct sb_input *in)
{
	while (in->next < in->nfiles) {
		const char *path = in->files[in->next++];
		in->lineno = 0;
		if (strcmp(path, "-") == 0) {
			in->fp = stdin;
			in->name = "<stdin>";
		} else if (!(in->fp = fopen(path, "re"))) {
			sb_warn("cannot open '%s':", path);
			in->io_failed = 1;
			continue;
		} else
			in->name = path;
		setvbuf(in->fp, NULL, _IOFBF, INPUT_BUFSZ);
		return 1;
	}
	return 0;
}

static void close_current(struct sb_input *in)
{
	if (ferror(in->fp)) {
		sb_warn("read error on '%s':", in->name);
		in->io_failed = 1;
	}
	if (in->fp != stdin)
		fclose(in->fp);
	in->fp = NULL;
}

/* Read one line into in->line without its ending; 0 at end of file. */
static int read_line(struct sb_input *in)
{
	errno = 0;
	ssize_t n = getline(&in->line, &in->cap, in->fp);

	if (n < 0)
		return 0;
	in->lineno++;
	if (n > 0 && in->line[n - 1] == '\n')
		n--;
	if (n > 0 && in->line[n - 1] == '\r')
		n--;
	in->line[n] = '\0';
	in->len = (size_t)n;
	return 1;
}

static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static void quarantine_line(struct sb_input *in, const char *message)
{
	jv rec = jv_object();

	rec = jv_object_set(rec, jv_string("file"), jv_string(in->name));
	rec = jv_object_set(rec, jv_string("line"), jv_number((double)in->lineno));
	rec = jv_object_set(rec, jv_string("error"), jv_string(message));
	rec = jv_object_set(rec, jv_string("raw"), jv_string_sized(in->line, (int)in->len));
	jv text = jv_dump_string(rec, 0);
	char *line = sb_asprintf("%s\n", jv_string_value(text));
	jv_free(text);
	if (sb_append_locked(in->quarantine, line, strlen(line), 0) < 0)
		sb_die(SB_EXIT_IO, "cannot write quarantine file '%s':", in->quarantine);
	free(line);
}

void sb_input_reject(struct sb_input *in, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	in->rejected++;
	switch (in->on_error) {
	case SB_ON_ERROR_FAIL:
		sb_die(SB_EXIT_DATA, "%s:%ld: %s", in->name, in->lineno, message);
	case SB_ON_ERROR_QUARANTINE:
		quarantine_line(in, message);
		if (!in->quiet)
			sb_warn("%s:%ld: %s (quarantined)", in->name, in->lineno, message);
		break;
	case SB_ON_ERROR_WARN:
		if (!in->quiet)
			sb_warn("%s:%ld: %s", in->name, in->lineno, message);
		break;
	}
}

/*
 * libjq's message names its own line and column and repeats the whole
 * input; keep the column only, since the line is ours to name.
 */
static void parse_message(jv invalid, char *out, size_t size)
{
	jv msg = jv_invalid_get_msg(invalid);
	const char *text = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "invalid JSON";
	const char *cut = strstr(text, " (while parsing");
	size_t n = cut ? (size_t)(cut - text) : strlen(text);
	const char *at = strstr(text, " at line ");
	const char *col = at && at < text + n ? strstr(at, "column ") : NULL;

	if (col && col < text + n)
		snprintf(out, size, "%.*s at %.*s", (int)(at - text), text, (int)(text + n - col), col);
	else
		snprintf(out, size, "%.*s", (int)n, text);
	jv_free(msg);
}

/* Parse the current line; an invalid jv when it was rejected. */
static jv parse_line(struct sb_input *in)
{
	char message[512];
	jv v;

	if (in->len > (size_t)0x7fffffff) {
		sb_input_reject(in, "line longer than 2 GiB");
		return jv_invalid();
	}
	v = jv_parse_sized(in->line, (int)in->len);
	if (!jv_is_valid(v)) {
		parse_message(v, message, sizeof message);
		sb_input_reject(in, "invalid JSON: %s", message);
		return jv_invalid();
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		sb_input_reject(in, "not a JSON object");
		return jv_invalid();
	}
	jv type = jv_object_get(jv_copy(v), jv_string("type"));
	int ok = jv_get_kind(type) == JV_KIND_STRING;
	jv_free(type);
	if (!ok) {
		jv_free(v);
		sb_input_reject(in, "record has no \"type\" string");
		return jv_invalid();
	}
	return v;
}

jv sb_input_next(struct sb_input *in)
{
	for (;;) {
		if (!in->fp && !open_next(in))
			return jv_invalid();
		if (!read_line(in)) {
			close_current(in);
			continue;
		}
		if (blank(in->line, in->len))
			continue;
		jv v = parse_line(in);
		if (jv_is_valid(v)) {
			in->records++;
			return v;
		}
	}
}

void sb_input_close(struct sb_input *in)
{
	if (in->rejected && in->on_error == SB_ON_ERROR_QUARANTINE)
		sb_warn("%ld malformed line%s quarantined in '%s'", in->rejected, in->rejected == 1 ? "" : "s",
			in->quarantine);
	else if (in->rejected)
		sb_warn("%ld malformed line%s skipped", in->rejected, in->rejected == 1 ? "" : "s");
	free(in->line);
	in->line = NULL;
}
