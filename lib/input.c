/* input.c - reading NDJSON records from files and stdin */
#include "input.h"
#include "err.h"
#include "fsutil.h"
#include "selfmetrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

void sb_input_init(struct sb_input *in, const struct sb_common *c)
{
	memset(in, 0, sizeof *in);
	in->on_error = c->on_error;
	in->quarantine = c->quarantine;
	in->quiet = c->quiet;
	in->poll = 0.25;
}

void sb_input_add(struct sb_input *in, const char *path, const char *key, off_t start)
{
	struct sb_input_file *f;
	int is_stdin = !path || strcmp(path, "-") == 0;

	in->files = sb_realloc(in->files, (size_t)(in->nfiles + 1) * sizeof *in->files);
	f = &in->files[in->nfiles++];
	memset(f, 0, sizeof *f);
	f->path = is_stdin ? NULL : sb_strdup(path);
	f->name = sb_strdup(is_stdin ? "<stdin>" : path);
	f->key = sb_strdup(key ? key : f->name);
	f->start = start;
	f->lines.fd = -1;
}

void sb_input_open(struct sb_input *in, const struct sb_common *c)
{
	sb_input_init(in, c);
	for (int i = 0; i < c->nfiles; i++)
		sb_input_add(in, c->files[i], NULL, 0);
	if (c->nfiles == 0)
		sb_input_add(in, NULL, NULL, 0);
}

struct sb_input_file *sb_input_current(struct sb_input *in)
{
	return in->cur < in->nfiles ? &in->files[in->cur] : NULL;
}

/* Open a file when first reached; 0, or -1 after a warning. */
static int open_file(struct sb_input *in, struct sb_input_file *f)
{
	if (sb_lines_open(&f->lines, f->path, f->start) < 0) {
		/* A followed file may appear later, as with tail -F. */
		if (!in->follow || errno != ENOENT || !f->warned)
			sb_warn("cannot open '%s':", f->name);
		f->warned = 1;
		if (!in->follow || errno != ENOENT) {
			in->io_failed = 1;
			f->done = 1;
		}
		return -1;
	}
	f->opened = 1;
	return 0;
}

static void finish_file(struct sb_input_file *f)
{
	sb_lines_close(&f->lines);
	f->done = 1;
}

/* A followed file was renamed away or truncated: tail -F's rules. */
static void check_rotation(struct sb_input *in, struct sb_input_file *f)
{
	(void)in;
	if (!f->path)
		return;
	if (sb_lines_replaced(&f->lines)) {
		/* Every complete line of the old file has been read: go on with the new one. */
		sb_lines_close(&f->lines);
		f->opened = 0;
		f->start = 0;
		f->lineno = 0;
		if (sb_lines_open(&f->lines, f->path, 0) == 0)
			f->opened = 1;
		return;
	}
	if (sb_lines_rewind_if_truncated(&f->lines))
		f->lineno = 0;
}

/*
 * One line from file f: 1 with it in in->line, 0 when it has none now.
 * A file that ends (or fails) without follow is finished.
 */
static int line_from(struct sb_input *in, struct sb_input_file *f)
{
	if (!f->opened && open_file(in, f) < 0)
		return 0;
	for (;;) {
		/* stdin has no checkpoint and nobody else appends to it */
		int partial = !f->path || (!in->hold_partial && !in->follow);
		int r = sb_lines_next(&f->lines, partial);
		if (r > 0) {
			f->lineno++;
			if (blank(f->lines.line, f->lines.len))
				continue;
			in->name = f->name;
			in->lineno = f->lineno;
			in->line = f->lines.line;
			in->len = f->lines.len;
			return 1;
		}
		if (r < 0 && errno == EINTR) {
			if (in->stop && *in->stop)
				return 0;
			continue;
		}
		if (r < 0) {
			sb_warn("read error on '%s':", f->name);
			in->io_failed = 1;
			finish_file(f);
		} else if (!in->follow || !f->path) {
			/* stdin ends for good; so does every file without follow */
			if (!in->follow || f->lines.eof)
				finish_file(f);
		}
		return 0;
	}
}

static void wait_a_little(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};

	nanosleep(&ts, NULL);
}

static int next_followed(struct sb_input *in)
{
	for (;;) {
		int live = 0;
		for (int k = 0; k < in->nfiles; k++) {
			int i = (in->cur + k) % in->nfiles;
			struct sb_input_file *f = &in->files[i];
			if (in->stop && *in->stop)
				return 0;
			if (f->done)
				continue;
			live = 1;
			/* A renamed file is read to its end once more after the rename
			 * is seen: its writer may have added lines just before. */
			if (line_from(in, f) || (f->opened && sb_lines_replaced(&f->lines) && line_from(in, f))) {
				in->cur = i;
				return 1;
			}
			if (f->opened)
				check_rotation(in, f);
		}
		if (!live)
			return 0;
		if (in->idle)
			in->idle(in->idle_ctx);
		if (in->stop && *in->stop)
			return 0;
		wait_a_little(in->poll);
	}
}

int sb_input_next_line(struct sb_input *in)
{
	if (in->follow)
		return next_followed(in);
	while (in->cur < in->nfiles) {
		if (in->stop && *in->stop)
			return 0;
		struct sb_input_file *f = &in->files[in->cur];
		if (!f->done && line_from(in, f))
			return 1;
		if (f->done || !f->opened)
			in->cur++;
	}
	return 0;
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
void sb_json_error(jv invalid, char *out, size_t size)
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
		sb_json_error(v, message, sizeof message);
		sb_input_reject(in, "invalid JSON: %s", message);
		return jv_invalid();
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		sb_input_reject(in, "not a JSON object");
		return jv_invalid();
	}
	jv type = jv_object_get(jv_copy(v), jv_string("type"));
	jv_kind kind = jv_get_kind(type);
	jv_free(type);
	if (kind == JV_KIND_INVALID && in->default_type)
		return jv_object_set(v, jv_string("type"), jv_string(in->default_type));
	if (kind != JV_KIND_STRING) {
		jv_free(v);
		sb_input_reject(in, "record has no \"type\" string");
		return jv_invalid();
	}
	return v;
}

jv sb_input_parse(struct sb_input *in)
{
	jv v = parse_line(in);

	if (jv_is_valid(v))
		in->records++;
	return v;
}

jv sb_input_next(struct sb_input *in)
{
	while (sb_input_next_line(in)) {
		jv v = sb_input_parse(in);
		if (jv_is_valid(v))
			return v;
	}
	return jv_invalid();
}

/* Every run counts its rejected lines, zero included, so the series exist before the first one. */
static void count_rejected(const struct sb_input *in)
{
	char *labels = sb_asprintf("tool=\"%s\"", sb_progname);

	sb_selfmetric_add("sb_records_rejected_total", labels, (double)in->rejected,
			  "Input lines a tool rejected (malformed, or breaking its rules), skipped or quarantined.");
	sb_selfmetric_add("sb_records_quarantined_total", labels,
			  in->on_error == SB_ON_ERROR_QUARANTINE ? (double)in->rejected : 0,
			  "Rejected input lines a tool kept in the quarantine file of --on-error quarantine=FILE.");
	free(labels);
}

void sb_input_close(struct sb_input *in)
{
	count_rejected(in);
	if (in->rejected && in->on_error == SB_ON_ERROR_QUARANTINE)
		sb_warn("%ld malformed line%s quarantined in '%s'", in->rejected, in->rejected == 1 ? "" : "s",
			in->quarantine);
	else if (in->rejected)
		sb_warn("%ld malformed line%s skipped", in->rejected, in->rejected == 1 ? "" : "s");
	for (int i = 0; i < in->nfiles; i++) {
		sb_lines_close(&in->files[i].lines);
		free(in->files[i].path);
		free(in->files[i].name);
		free(in->files[i].key);
	}
	free(in->files);
	in->files = NULL;
	in->nfiles = 0;
	in->line = NULL;
}
