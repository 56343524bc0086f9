/* lines.h - reading lines from a file descriptor with exact byte offsets */
#ifndef SB_LINES_H
#define SB_LINES_H

#include <stddef.h>
#include <sys/types.h>

/*
 * One open file (or stdin) read line by line with read(2), so the offset
 * of every line is known exactly: checkpoints and tail -F need that.
 */
struct sb_lines {
	char *path;        /* NULL for standard input */
	int fd;            /* -1 when closed */
	dev_t dev;
	ino_t ino;
	off_t offset;      /* just past the last line returned */
	char *buf;         /* bytes read but not yet returned: buf[start..end) */
	size_t cap, start, end;
	char *line;        /* the current line, NUL-terminated, no line ending */
	size_t len;        /* its length */
	size_t raw_len;    /* its length in the file, line ending included */
	int eof;           /* the last read returned 0 */
};

/* Open path (NULL: stdin) at offset; -1 and errno on failure. */
int sb_lines_open(struct sb_lines *l, const char *path, off_t offset);

/*
 * The next complete line: 1 when l->line holds one, 0 when no complete
 * line is available now (at end of file, or nothing more yet), -1 and
 * errno on a read error. With partial, an unterminated last line at end of
 * file is returned as a line too; without it, it stays buffered (a writer
 * may be in the middle of it) and is not counted in the offset.
 */
int sb_lines_next(struct sb_lines *l, int partial);

/* Has the file at l->path been replaced (another inode) since opened? */
int sb_lines_replaced(const struct sb_lines *l);

/* Was the open file truncated below what was read? Then rewind to 0. */
int sb_lines_rewind_if_truncated(struct sb_lines *l);

void sb_lines_close(struct sb_lines *l);

#endif
