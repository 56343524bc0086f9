/* output.h - writing NDJSON records to stdout */
#ifndef SB_OUTPUT_H
#define SB_OUTPUT_H

#include <jv.h>
#include <stddef.h>

/*
 * Line-buffered when stdout is a terminal or unbuffered is set, block-
 * buffered otherwise. SIGPIPE is ignored from here on so that a closed
 * pipe shows up as EPIPE, which ends the tool quietly with status 0; code
 * that starts other programs must restore SIGPIPE's default for them.
 */
void sb_output_init(int unbuffered);

/* Write rec (consumed) compactly on one line. */
void sb_output_record(jv rec);

/* Write a line of already serialised JSON (without its newline). */
void sb_output_raw(const char *line, size_t len);

/* Records written so far. */
long sb_output_count(void);

/*
 * Flush and close stdout. Returns 0, or SB_EXIT_IO after a message when
 * the output could not be written (a full disk, say).
 */
int sb_output_finish(void);

#endif
