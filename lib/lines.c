/* lines.c - reading lines from a file descriptor with exact byte offsets */
#include "lines.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINES_CHUNK (256 * 1024)

int sb_lines_open(struct sb_lines *l, const char *path, off_t offset)
{
	struct stat st;

	memset(l, 0, sizeof *l);
	l->fd = path ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (l->fd < 0)
		return -1;
	if (fstat(l->fd, &st) < 0 || (offset > 0 && lseek(l->fd, offset, SEEK_SET) < 0)) {
		int saved = errno;
		if (path)
			close(l->fd);
		l->fd = -1;
		errno = saved;
		return -1;
	}
	if (path && S_ISDIR(st.st_mode)) {
		close(l->fd);
		l->fd = -1;
		errno = EISDIR;
		return -1;
	}
	l->path = path ? sb_strdup(path) : NULL;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->offset = offset;
	l->cap = LINES_CHUNK;
	l->buf = sb_malloc(l->cap + 1);
	return 0;
}

/* Read more bytes after the buffered ones; the return value of read(2). */
static ssize_t fill(struct sb_lines *l)
{
	ssize_t n;

	if (l->start > 0) { /* slide the unreturned bytes to the front */
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->end == l->cap)
		l->buf = sb_realloc(l->buf, (l->cap *= 2) + 1);
	/* EINTR is returned, not retried: a signal must be able to stop a blocked read. */
	n = read(l->fd, l->buf + l->end, l->cap - l->end);
	if (n > 0)
		l->end += (size_t)n;
	l->eof = n == 0;
	return n;
}

static void take(struct sb_lines *l, size_t len, size_t raw_len)
{
	l->line = l->buf + l->start;
	l->len = len;
	if (len > 0 && l->line[len - 1] == '\r')
		l->len--;
	l->line[l->len] = '\0';
	l->raw_len = raw_len;
	l->start += raw_len;
	l->offset += (off_t)raw_len;
}

int sb_lines_next(struct sb_lines *l, int partial)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = memchr(l->buf + l->start + scanned, '\n', l->end - l->start - scanned);
		if (nl) {
			size_t len = (size_t)(nl - (l->buf + l->start));
			take(l, len, len + 1);
			return 1;
		}
		scanned = l->end - l->start;
		ssize_t n = fill(l);
		if (n < 0)
			return -1;
		if (n == 0) {
			if (partial && l->end > l->start) {
				take(l, l->end - l->start, l->end - l->start);
				return 1;
			}
			return 0;
		}
	}
}

int sb_lines_replaced(const struct sb_lines *l)
{
	struct stat st;

	if (!l->path || stat(l->path, &st) < 0)
		return 0; /* gone for now: keep reading the old one, it may come back */
	return st.st_dev != l->dev || st.st_ino != l->ino;
}

int sb_lines_rewind_if_truncated(struct sb_lines *l)
{
	struct stat st;
	off_t read_to = l->offset + (off_t)(l->end - l->start);

	if (!l->path || fstat(l->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size >= read_to)
		return 0;
	if (lseek(l->fd, 0, SEEK_SET) < 0)
		return 0;
	l->start = l->end = 0;
	l->offset = 0;
	return 1;
}

void sb_lines_close(struct sb_lines *l)
{
	if (l->fd >= 0 && l->path)
		close(l->fd);
	l->fd = -1;
	free(l->path);
	free(l->buf);
	l->path = NULL;
	l->buf = NULL;
}
