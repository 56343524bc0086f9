/* fsutil.c - directories, atomic replacement and locked appends */
#include "fsutil.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int sb_mkdirs(const char *path, unsigned mode)
{
	char *copy = sb_strdup(path);
	int rc = 0;

	for (char *p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = saved;
		if (!saved)
			break;
	}
	if (rc == 0) {
		struct stat st;
		if (stat(path, &st) < 0)
			rc = -1;
		else if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			rc = -1;
		}
	}
	int saved_errno = errno;
	free(copy);
	errno = saved_errno;
	return rc;
}

int sb_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sb_fsync_path(const char *path, int directory)
{
	int fd = open(path, (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -1;
	/* Some file systems cannot fsync a directory (EINVAL): nothing more can be done there. */
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = -1;
	close(fd);
	return rc;
}

int sb_fsync_parent(const char *path)
{
	char *copy = sb_strdup(path);
	int rc = sb_fsync_path(dirname(copy), 1);

	free(copy);
	return rc;
}

/* umask(2) can only be read by setting it, so set it straight back. */
static unsigned current_umask(void)
{
	mode_t old = umask(077);

	umask(old);
	return (unsigned)old;
}

int sb_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char *tmp = sb_asprintf("%s.tmpXXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	int saved;

	if (fd < 0)
		goto fail_free;
	if (fchmod(fd, mode & ~current_umask()) < 0)
		goto fail;
	if (sb_write_all(fd, data, len) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return sb_fsync_parent(path);
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
fail_free:
	saved = errno;
	free(tmp);
	errno = saved;
	return -1;
}

int sb_append_locked(const char *path, const void *data, size_t len, int sync)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	int rc = -1, saved;

	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			goto out;
	}
	if (sb_write_all(fd, data, len) == 0 && (!sync || fsync(fd) == 0))
		rc = 0;
out:
	saved = errno;
	close(fd); /* closing releases the lock */
	errno = saved;
	return rc;
}

char *sb_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 8192, n = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = sb_malloc(cap);
	for (;;) {
		if (n + 1 >= cap)
			buf = sb_realloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

char *sb_last_line(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END), start;
	char chunk[4096];

	if (end < 0)
		return NULL;
	/* Skip the final newline, then scan back for the one before it. */
	if (end > 0 && pread(fd, chunk, 1, end - 1) == 1 && chunk[0] == '\n')
		end--;
	start = end;
	while (start > 0) {
		off_t from = start > (off_t)sizeof chunk ? start - (off_t)sizeof chunk : 0;
		ssize_t n = pread(fd, chunk, (size_t)(start - from), from);
		if (n < 0)
			return NULL;
		char *nl = memrchr(chunk, '\n', (size_t)n);
		if (nl) {
			start = from + (nl - chunk) + 1;
			break;
		}
		start = from;
	}
	char *line = sb_malloc((size_t)(end - start) + 1);
	if (pread(fd, line, (size_t)(end - start), start) != (ssize_t)(end - start)) {
		free(line);
		return NULL;
	}
	line[end - start] = '\0';
	return line;
}
