/* input.h - reading NDJSON records from files and stdin */
#ifndef SB_INPUT_H
#define SB_INPUT_H

#include <jv.h>
#include <stdio.h>

#include "opts.h"

/*
 * Reads each file in turn ("-" or none: stdin), one JSON object a line:
 * lines of any length, CRLF or LF endings, a last line without newline;
 * blank lines are skipped. A malformed line is handled by the policy of
 * --on-error (sb(7)).
 */
struct sb_input {
	char **files;
	int nfiles, next;
	FILE *fp;
	const char *name;   /* current file, "<stdin>" for standard input */
	long lineno;        /* line number within the current file */
	char *line;         /* current line, NUL-terminated, no line ending */
	size_t len, cap;
	enum sb_on_error on_error;
	const char *quarantine;
	int quiet;
	long records;       /* records returned */
	long rejected;      /* lines skipped or quarantined */
	int io_failed;      /* a file could not be opened or read */
};

void sb_input_open(struct sb_input *in, const struct sb_common *c);

/*
 * The next record (a JSON object with a string "type"), or an invalid jv
 * at the end of all input. in->line holds its raw text until the next call.
 */
jv sb_input_next(struct sb_input *in);

/*
 * Reject the current line with a message ("FILE:LINE: message"): warn and
 * skip, exit 3, or quarantine, as --on-error says. Tools call it for
 * records that parse but break their own rules.
 */
void sb_input_reject(struct sb_input *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print the count of rejected lines, if any; release buffers. */
void sb_input_close(struct sb_input *in);

#endif
