/* input.h - reading NDJSON records (or raw lines) from files and stdin */
#ifndef SB_INPUT_H
#define SB_INPUT_H

#include <jv.h>
#include <signal.h>
#include <sys/types.h>

#include "lines.h"
#include "opts.h"

/* One file to read, from an offset; key names it in checkpoints. */
struct sb_input_file {
	char *path;   /* NULL: standard input */
	char *name;   /* for messages: the path, or "<stdin>" */
	char *key;    /* the FILE operand this part of the input belongs to */
	off_t start;
	struct sb_lines lines;
	long lineno;
	int opened, done, warned;
};

/*
 * Reads each file in turn ("-" or none: stdin), one JSON object a line:
 * lines of any length, CRLF or LF endings, a last line without newline;
 * blank lines are skipped. A malformed line is handled by the policy of
 * --on-error (sb(7)).
 */
struct sb_input {
	struct sb_input_file *files;
	int nfiles, cur;
	const char *name;   /* current file, "<stdin>" for standard input */
	long lineno;        /* line number within the current file (from its start offset) */
	char *line;         /* current line, NUL-terminated, no line ending */
	size_t len;
	enum sb_on_error on_error;
	const char *quarantine;
	int quiet;
	const char *default_type; /* given to records without "type"; NULL: they are malformed */
	int follow;         /* at the end, wait for more like tail -F */
	int hold_partial;   /* leave an unterminated last line for a later run */
	double poll;        /* seconds between looks at followed files */
	volatile sig_atomic_t *stop; /* when set, reading ends at the next line boundary */
	void (*idle)(void *ctx);     /* with follow: called before each wait for more */
	void *idle_ctx;
	long records;       /* records returned */
	long rejected;      /* lines skipped or quarantined */
	int io_failed;      /* a file could not be opened or read */
};

/* Set up for the FILE operands of c (none: stdin), each from offset 0. */
void sb_input_open(struct sb_input *in, const struct sb_common *c);

/* Set up with no files; add them with sb_input_add. */
void sb_input_init(struct sb_input *in, const struct sb_common *c);

/* Append a file to read (path NULL or "-": stdin) from start, filed under key. */
void sb_input_add(struct sb_input *in, const char *path, const char *key, off_t start);

/*
 * The next non-blank line in in->line: 1, or 0 at the end of all input
 * (or when *stop was set). With follow it waits for more instead.
 */
int sb_input_next_line(struct sb_input *in);

/*
 * The next record (a JSON object with a string "type"), or an invalid jv
 * at the end of all input. in->line holds its raw text until the next call.
 */
jv sb_input_next(struct sb_input *in);

/*
 * The current line (from sb_input_next_line) as a record, or an invalid jv
 * after the line was rejected.
 */
jv sb_input_parse(struct sb_input *in);

/* The file the current line came from, with its offset just past it. */
struct sb_input_file *sb_input_current(struct sb_input *in);

/*
 * Reject the current line with a message ("FILE:LINE: message"): warn and
 * skip, exit 3, or quarantine, as --on-error says. Tools call it for
 * records that parse but break their own rules.
 */
void sb_input_reject(struct sb_input *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * libjq's parse error without its repetition of the input, and with its
 * own line number dropped (the caller names the line): "... at column 4".
 */
void sb_json_error(jv invalid, char *out, size_t size);

/* Print the count of rejected lines, if any; release buffers. */
void sb_input_close(struct sb_input *in);

#endif
