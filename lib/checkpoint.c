/* checkpoint.c - where sb-stream stopped reading each file */
#include "checkpoint.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "record.h"
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sb_checkpoint_load(struct sb_checkpoint *cp, const char *path)
{
	jv v = sb_state_read(path, "checkpoint");
	jv files = sb_rec_get(v, "files");

	cp->path = sb_strdup(path);
	cp->files = jv_object();
	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(files);
		return;
	}
	if (jv_get_kind(files) != JV_KIND_OBJECT)
		sb_die(SB_EXIT_IO, "%s: not a checkpoint (remove it to start over)", path);
	jv_free(cp->files);
	cp->files = files;
	jv_free(v);
}

/* The operand as an absolute path, so a checkpoint works from any directory. */
static char *absolute(const char *file)
{
	char *copy = sb_strdup(file), *base = sb_strdup(basename(copy));
	char dir[PATH_MAX], *abs;

	strcpy(copy, file);
	if (realpath(dirname(copy), dir))
		abs = sb_asprintf("%s/%s", strcmp(dir, "/") ? dir : "", base);
	else
		abs = sb_strdup(file);
	free(copy);
	free(base);
	return abs;
}

static double num(jv obj, const char *key)
{
	double v = -1;

	sb_rec_number(obj, key, &v);
	return v;
}

/* Does the line ending at offset in path still hash to what was read? */
static int last_line_matches(const char *path, jv cur)
{
	double offset = num(cur, "offset"), len = num(cur, "last_len");
	char *want = sb_rec_string(cur, "last_sha256");
	char hex[SB_SHA256_HEX];
	int ok = 0;

	if (offset <= 0 || len <= 0 || !want) {
		free(want);
		return offset == 0;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char *buf = sb_malloc((size_t)len);
		if (pread(fd, buf, (size_t)len, (off_t)(offset - len)) == (ssize_t)len) {
			sb_sha256_hex(buf, (size_t)len, hex);
			ok = strcmp(hex, want) == 0;
		}
		free(buf);
		close(fd);
	}
	free(want);
	return ok;
}

/* The rotated predecessor of file: NAME.1, else a file beside it with inode ino. */
static char *find_rotated(const char *file, dev_t dev, ino_t ino)
{
	char *candidate = sb_asprintf("%s.1", file);
	struct stat st;
	char *copy = sb_strdup(file);
	char *dir = dirname(copy);
	DIR *d;
	struct dirent *e;

	if (stat(candidate, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
		free(copy);
		return candidate;
	}
	free(candidate);
	candidate = NULL;
	if ((d = opendir(dir))) {
		while (!candidate && (e = readdir(d))) {
			char *p = sb_asprintf("%s/%s", dir, e->d_name);
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == dev && st.st_ino == ino)
				candidate = p;
			else
				free(p);
		}
		closedir(d);
	}
	free(copy);
	return candidate;
}

void sb_checkpoint_plan(struct sb_checkpoint *cp, struct sb_input *in, const char *file)
{
	struct stat st;
	char *key;
	jv cur;

	if (strcmp(file, "-") == 0) {
		sb_input_add(in, NULL, NULL, 0);
		return;
	}
	key = absolute(file);
	cur = sb_rec_get(cp->files, key);
	if (jv_get_kind(cur) != JV_KIND_OBJECT || stat(file, &st) < 0) {
		sb_input_add(in, file, key, 0);
	} else {
		dev_t dev = (dev_t)num(cur, "dev");
		ino_t ino = (ino_t)num(cur, "ino");
		off_t offset = (off_t)num(cur, "offset");
		if (st.st_dev == dev && st.st_ino == ino) {
			if (st.st_size >= offset && last_line_matches(file, cur))
				sb_input_add(in, file, key, offset);
			else {
				sb_warn("%s: truncated or rewritten since the last run: reading it from the start", file);
				sb_input_add(in, file, key, 0);
			}
		} else {
			char *rotated = find_rotated(file, dev, ino);
			if (rotated && last_line_matches(rotated, cur))
				sb_input_add(in, rotated, key, offset);
			else
				sb_warn("%s: rotated, and the rotated file was not found beside it: "
					"lines written to it after the last run are lost", file);
			free(rotated);
			sb_input_add(in, file, key, 0);
		}
	}
	jv_free(cur);
	free(key);
}

/* The position of one file: its identity, offset and last line. */
static jv position(const struct sb_input_file *f)
{
	const struct sb_lines *l = &f->lines;
	jv pos = jv_object();
	char hex[SB_SHA256_HEX] = "";
	size_t len = l->raw_len;

	if (len > 0 && l->offset >= (off_t)len) {
		int fd = open(f->path, O_RDONLY | O_CLOEXEC);
		char *buf = sb_malloc(len);
		if (fd >= 0 && pread(fd, buf, len, l->offset - (off_t)len) == (ssize_t)len)
			sb_sha256_hex(buf, len, hex);
		else
			len = 0;
		if (fd >= 0)
			close(fd);
		free(buf);
	} else
		len = 0;
	pos = jv_object_set(pos, jv_string("path"), jv_string(f->path));
	pos = jv_object_set(pos, jv_string("dev"), jv_number((double)l->dev));
	pos = jv_object_set(pos, jv_string("ino"), jv_number((double)l->ino));
	pos = jv_object_set(pos, jv_string("offset"), jv_number((double)l->offset));
	pos = jv_object_set(pos, jv_string("last_len"), jv_number((double)len));
	pos = jv_object_set(pos, jv_string("last_sha256"), jv_string(hex));
	return pos;
}

void sb_checkpoint_update(struct sb_checkpoint *cp, struct sb_input *in)
{
	/* The last file of each key that was opened holds the key's position. */
	for (int i = 0; i < in->nfiles; i++) {
		struct sb_input_file *f = &in->files[i];
		if (!f->path || !f->opened || !f->key)
			continue;
		/* Nothing read from where the last run stopped: its record stands. */
		if (f->lines.raw_len == 0 && f->start > 0 && f->lines.offset == f->start)
			continue;
		cp->files = jv_object_set(cp->files, jv_string(f->key), position(f));
	}
}

int sb_checkpoint_save(struct sb_checkpoint *cp)
{
	return sb_state_write(cp->path, jv_object_set(jv_object(), jv_string("files"), jv_copy(cp->files)));
}

void sb_checkpoint_free(struct sb_checkpoint *cp)
{
	jv_free(cp->files);
	free(cp->path);
}
