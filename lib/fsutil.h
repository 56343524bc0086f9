/* fsutil.h - directories, atomic replacement and locked appends */
#ifndef SB_FSUTIL_H
#define SB_FSUTIL_H

#include <stddef.h>

/* mkdir -p with mode for each directory it creates; -1 and errno on failure. */
int sb_mkdirs(const char *path, unsigned mode);

/*
 * Replace path with data atomically: write a temporary file in the same
 * directory, fsync it, rename it over path and fsync the directory, so a
 * reader sees the old or the new contents and never a mix, even after a
 * crash. The file gets mode (before umask). -1 and errno on failure; the
 * temporary file is removed.
 */
int sb_write_atomic(const char *path, const void *data, size_t len, unsigned mode);

/*
 * Append whole lines to path under an exclusive flock(2), creating it with
 * mode 0600. data must end in a newline. With sync the file is fsynced
 * before the lock is released. -1 and errno on failure.
 */
int sb_append_locked(const char *path, const void *data, size_t len, int sync);

/* fsync a file, or a directory (directory non-zero); 0 or -1 and errno. */
int sb_fsync_path(const char *path, int directory);

/* fsync the directory that holds path, so a rename or unlink in it is durable. */
int sb_fsync_parent(const char *path);

/* Write all of buf to fd, retrying short writes and EINTR. */
int sb_write_all(int fd, const void *buf, size_t len);

/* Read a whole file into a NUL-terminated buffer; NULL and errno on failure. */
char *sb_read_file(const char *path, size_t *len);

/*
 * The last line of an open file (without its newline) in a new buffer, or
 * an empty string when the file is empty; NULL and errno on failure.
 */
char *sb_last_line(int fd);

#endif
