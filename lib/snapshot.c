/* snapshot.c - pre-image archives with libarchive, and secure atomic writes into a component */
#include "snapshot.h"
#include "edits.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "record.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST ".sb-snapshot.json"
/* A pre-image larger than this is not a source file: refuse rather than hold it in memory. */
#define MAX_ENTRY ((size_t)256 << 20)

static int fail(char *err, size_t errsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
	return -1;
}

static char *join(const char *root, const char *path)
{
	return sb_asprintf("%s/%s", root, path);
}

int sb_component_stat(const char *root, const char *path, struct stat *st, char *err, size_t errsize)
{
	char *full = join(root, path);
	size_t skip = strlen(root) + 1;
	int rc = 0;

	/* Each directory on the way, then the file itself. */
	for (char *p = full + skip;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (lstat(full, st) < 0) {
			rc = errno == ENOENT ? 1 : fail(err, errsize, "%s: %s", path, strerror(errno));
			break;
		}
		if (S_ISLNK(st->st_mode)) {
			rc = fail(err, errsize, "%s: %s is a symbolic link", path, full + skip);
			break;
		}
		if (!saved) {
			if (!S_ISREG(st->st_mode))
				rc = fail(err, errsize, "%s: not a regular file", path);
			break;
		}
		if (!S_ISDIR(st->st_mode)) {
			rc = fail(err, errsize, "%s: %s is not a directory", path, full + skip);
			break;
		}
		*p = saved;
	}
	free(full);
	return rc;
}

static char *temp_name(const char *path, const char *tag)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return sb_asprintf(".%s.sb-%s", path, tag);
	return sb_asprintf("%.*s/.%s.sb-%s", (int)(slash - path), path, slash + 1, tag);
}

/* Where relative paths resolve while libarchive writes: the component's root. */
static int enter_root(const char *root, int *saved, char *err, size_t errsize)
{
	*saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*saved < 0)
		return fail(err, errsize, "cannot open the working directory: %s", strerror(errno));
	if (chdir(root) < 0) {
		int e = errno;
		close(*saved);
		return fail(err, errsize, "%s: %s", root, strerror(e));
	}
	return 0;
}

static void leave_root(int saved)
{
	if (fchdir(saved) < 0)
		sb_die(5, "cannot return to the working directory:");
	close(saved);
}

/*
 * One regular file written by libarchive's disk writer, relative to the
 * current directory, refusing absolute paths, ".." and symbolic links on
 * the way. mtime NULL: the file gets the current time.
 */
static int write_disk(const char *rel, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
		      const struct timespec *mtime, char *err, size_t errsize)
{
	struct archive *a = archive_write_disk_new();
	struct archive_entry *e = archive_entry_new();
	int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK;
	int rc = 0;

	if (mtime)
		flags |= ARCHIVE_EXTRACT_TIME;
	if (geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	archive_write_disk_set_options(a, flags);
	archive_entry_set_pathname(e, rel);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, mode & 07777);
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
	archive_entry_set_size(e, (la_int64_t)len);
	if (mtime)
		archive_entry_set_mtime(e, mtime->tv_sec, mtime->tv_nsec);
	if (archive_write_header(a, e) < ARCHIVE_WARN ||
	    (len && archive_write_data(a, data, len) != (la_ssize_t)len) ||
	    archive_write_finish_entry(a) < ARCHIVE_WARN)
		rc = fail(err, errsize, "%s: %s", rel, archive_error_string(a) ? archive_error_string(a) : "write failed");
	if (archive_write_close(a) < ARCHIVE_WARN && rc == 0)
		rc = fail(err, errsize, "%s: %s", rel, archive_error_string(a));
	archive_entry_free(e);
	archive_write_free(a);
	return rc;
}

/* Write to the temporary name, fsync, rename over path, fsync the directory. */
static int place_file(const char *path, const char *tag, const void *data, size_t len, mode_t mode, uid_t uid,
		      gid_t gid, const struct timespec *mtime, char *err, size_t errsize)
{
	char *tmp = temp_name(path, tag);
	int rc = -1;

	unlink(tmp); /* one a crash left behind */
	if (write_disk(tmp, data, len, mode, uid, gid, mtime, err, errsize) < 0)
		goto out;
	if (sb_fsync_path(tmp, 0) < 0 || rename(tmp, path) < 0 || sb_fsync_parent(path) < 0) {
		fail(err, errsize, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

static mode_t default_mode(void)
{
	mode_t mask = umask(022);

	umask(mask);
	return 0666 & ~mask;
}

int sb_install_file(const char *root, const char *path, const void *data, size_t len, const struct stat *like,
		    const char *tag, char *err, size_t errsize)
{
	int saved, rc;

	if (enter_root(root, &saved, err, errsize) < 0)
		return -1;
	if (like)
		rc = place_file(path, tag, data, len, like->st_mode, like->st_uid, like->st_gid, NULL, err, errsize);
	else
		rc = place_file(path, tag, data, len, default_mode(), geteuid(), getegid(), NULL, err, errsize);
	leave_root(saved);
	return rc;
}

int sb_remove_file(const char *root, const char *path, char *err, size_t errsize)
{
	struct stat st;
	char *full;
	int rc = sb_component_stat(root, path, &st, err, errsize);

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	full = join(root, path);
	if (unlink(full) < 0 || sb_fsync_parent(full) < 0)
		rc = fail(err, errsize, "%s: %s", path, strerror(errno));
	free(full);
	return rc;
}

void sb_snapshot_clean_temps(const char *root, jv paths, const char *tag)
{
	jv_array_foreach(paths, i, p)
	{
		if (jv_get_kind(p) == JV_KIND_STRING && sb_path_safe(jv_string_value(p))) {
			char *tmp = temp_name(jv_string_value(p), tag), *full = join(root, tmp);
			struct stat st;
			/* Only a regular file of that exact name: never follow a link. */
			if (lstat(full, &st) == 0 && S_ISREG(st.st_mode))
				unlink(full);
			free(full);
			free(tmp);
		}
		jv_free(p);
	}
}

/* ---- creating the archive ---- */

/* Directories on the way to path that do not exist, outermost first. */
static jv missing_dirs(const char *root, const char *path, jv dirs)
{
	char *copy = sb_strdup(path);
	struct stat st;

	for (char *p = copy; (p = strchr(p, '/')); p++) {
		*p = '\0';
		char *full = join(root, copy);
		if (lstat(full, &st) < 0 && errno == ENOENT) {
			int seen = 0;
			jv_array_foreach(dirs, i, d)
			{
				seen |= strcmp(jv_string_value(d), copy) == 0;
				jv_free(d);
			}
			if (!seen)
				dirs = jv_array_append(dirs, jv_string(copy));
		}
		free(full);
		*p = '/';
	}
	free(copy);
	return dirs;
}

static int add_entry(struct archive *a, const char *name, const void *data, size_t len, const struct stat *st,
		     char *err, size_t errsize)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	if (st) {
		archive_entry_set_perm(e, st->st_mode & 07777);
		archive_entry_set_uid(e, st->st_uid);
		archive_entry_set_gid(e, st->st_gid);
		archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	} else {
		archive_entry_set_perm(e, 0600);
		archive_entry_set_mtime(e, time(NULL), 0);
	}
	if (archive_write_header(a, e) < ARCHIVE_WARN || (len && archive_write_data(a, data, len) != (la_ssize_t)len))
		rc = fail(err, errsize, "%s: %s", name, archive_error_string(a));
	archive_entry_free(e);
	return rc;
}

/* Manifest rows for paths: whether each existed, its hash and mode; and the directories missing. */
static jv plan_manifest(const char *root, jv paths, char *err, size_t errsize)
{
	jv files = jv_array(), dirs = jv_array();
	int rc = 0;

	jv_array_foreach(paths, i, p)
	{
		const char *path = jv_string_value(p);
		jv row = jv_object_set(jv_object(), jv_string("path"), jv_string(path));
		struct stat st;
		int s = rc < 0 ? -1 : sb_component_stat(root, path, &st, err, errsize);
		if (s == 0 && (size_t)st.st_size > MAX_ENTRY)
			s = fail(err, errsize, "%s: %lld bytes is more than a pre-image may hold", path, (long long)st.st_size);
		if (s == 0) {
			char hex[SB_SHA256_HEX], *full = join(root, path);
			if (sb_sha256_file(full, hex) < 0)
				s = fail(err, errsize, "%s: %s", path, strerror(errno));
			row = jv_object_set(row, jv_string("existed"), jv_true());
			row = jv_object_set(row, jv_string("sha256"), jv_string(hex));
			row = jv_object_set(row, jv_string("mode"), jv_number(st.st_mode & 07777));
			free(full);
		} else if (s == 1) {
			dirs = missing_dirs(root, path, dirs);
			row = jv_object_set(row, jv_string("existed"), jv_false());
		}
		if (s < 0)
			rc = -1;
		files = jv_array_append(files, row);
		jv_free(p);
	}
	if (rc < 0) {
		jv_free(files);
		jv_free(dirs);
		return jv_invalid();
	}
	jv m = jv_object_set(jv_object(), jv_string("version"), jv_number(1));
	m = jv_object_set(m, jv_string("files"), files);
	return jv_object_set(m, jv_string("dirs"), dirs);
}

/* The bytes of one existing file, which must still be what the manifest hashed. */
static int archive_file(struct archive *a, const char *root, jv row, char *err, size_t errsize)
{
	char *path = sb_rec_string(row, "path"), *sha = sb_rec_string(row, "sha256"), *full = join(root, path), *data;
	char hex[SB_SHA256_HEX];
	struct stat st;
	size_t len;
	int rc = -1;

	if (sb_component_stat(root, path, &st, err, errsize) != 0)
		fail(err, errsize, "%s: changed while it was archived", path);
	else if (!(data = sb_read_file(full, &len)))
		fail(err, errsize, "%s: %s", path, strerror(errno));
	else {
		sb_sha256_hex(data, len, hex);
		if (strcmp(hex, sha) != 0)
			fail(err, errsize, "%s: changed while it was archived", path);
		else
			rc = add_entry(a, path, data, len, &st, err, errsize);
		free(data);
	}
	free(path);
	free(sha);
	free(full);
	return rc;
}

/* The manifest first, so a reader knows what to expect before any byte is written back. */
static int write_archive(struct archive *a, const char *root, jv paths, char *err, size_t errsize)
{
	jv m = plan_manifest(root, paths, err, errsize), files, text;
	int rc;

	if (!jv_is_valid(m))
		return -1;
	text = jv_dump_string(jv_copy(m), JV_PRINT_SORTED);
	rc = add_entry(a, MANIFEST, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)), NULL, err,
		       errsize);
	jv_free(text);
	files = sb_rec_get(m, "files");
	jv_array_foreach(files, i, row)
	{
		jv existed = sb_rec_get(row, "existed");
		if (rc == 0 && jv_get_kind(existed) == JV_KIND_TRUE)
			rc = archive_file(a, root, row, err, errsize);
		jv_free(existed);
		jv_free(row);
	}
	jv_free(files);
	jv_free(m);
	return rc;
}

int sb_snapshot_create(const char *archive, const char *root, jv paths, const char *compression, char *err,
		       size_t errsize)
{
	char *tmp = sb_asprintf("%s.tmp", archive);
	struct archive *a = archive_write_new();
	int rc;

	archive_write_set_format_pax(a); /* pax keeps nanoseconds of mtimes */
	rc = compression && strcmp(compression, "zstd") == 0 ? archive_write_add_filter_zstd(a)
							      : archive_write_add_filter_gzip(a);
	if (rc != ARCHIVE_OK) {
		rc = fail(err, errsize, "%s: %s", archive, archive_error_string(a));
		archive_write_free(a);
		free(tmp);
		return rc;
	}
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		rc = fail(err, errsize, "%s: %s", tmp, archive_error_string(a));
		archive_write_free(a);
		free(tmp);
		return rc;
	}
	rc = write_archive(a, root, paths, err, errsize);
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = fail(err, errsize, "%s: %s", tmp, archive_error_string(a));
	archive_write_free(a);
	/* The pre-image may hold secrets: readable by the owner only, like the rest of the state directory. */
	if (rc == 0 && (chmod(tmp, 0600) < 0 || sb_fsync_path(tmp, 0) < 0 || rename(tmp, archive) < 0 ||
			sb_fsync_parent(archive) < 0))
		rc = fail(err, errsize, "%s: %s", archive, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* ---- restoring ---- */

struct pre_file {
	char *path;
	int existed;
	char sha256[SB_SHA256_HEX];
	char *data;
	size_t len;
	int have; /* its bytes were found in the archive */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};

struct pre_image {
	struct pre_file *files;
	size_t n;
	jv dirs;
};

static void pre_image_free(struct pre_image *pi)
{
	for (size_t i = 0; i < pi->n; i++) {
		free(pi->files[i].path);
		free(pi->files[i].data);
	}
	free(pi->files);
	jv_free(pi->dirs);
}

static char *read_entry_data(struct archive *a, size_t size, char *err, size_t errsize)
{
	char *buf;
	la_ssize_t got;

	if (size > MAX_ENTRY) {
		fail(err, errsize, "an entry of %zu bytes is too large", size);
		return NULL;
	}
	buf = sb_malloc(size + 1);
	got = size ? archive_read_data(a, buf, size) : 0;
	if (got < 0 || (size_t)got != size) {
		fail(err, errsize, "truncated entry: %s", got < 0 ? archive_error_string(a) : "short read");
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

static int parse_manifest(struct pre_image *pi, const char *text, char *err, size_t errsize)
{
	jv m = jv_parse(text), files = jv_null();
	int rc = 0;

	if (jv_get_kind(m) != JV_KIND_OBJECT || jv_get_kind(files = sb_rec_get(m, "files")) != JV_KIND_ARRAY) {
		jv_free(m);
		jv_free(files);
		return fail(err, errsize, "the manifest is not a snapshot manifest");
	}
	jv_free(pi->dirs);
	pi->dirs = sb_rec_get(m, "dirs");
	if (jv_get_kind(pi->dirs) != JV_KIND_ARRAY) {
		jv_free(pi->dirs);
		pi->dirs = jv_array();
	}
	pi->files = sb_calloc((size_t)jv_array_length(jv_copy(files)) + 1, sizeof *pi->files);
	jv_array_foreach(files, i, f)
	{
		char *path = sb_rec_string(f, "path"), *sha = sb_rec_string(f, "sha256");
		jv existed = sb_rec_get(f, "existed");
		if (rc == 0 && (!path || !sb_path_safe(path)))
			rc = fail(err, errsize, "the manifest names an unsafe path: %s", path ? path : "(none)");
		else if (rc == 0 && jv_get_kind(existed) == JV_KIND_TRUE && (!sha || strlen(sha) != 64))
			rc = fail(err, errsize, "the manifest gives no hash for %s", path);
		if (rc == 0) {
			struct pre_file *pf = &pi->files[pi->n++];
			pf->path = path;
			path = NULL;
			pf->existed = jv_get_kind(existed) == JV_KIND_TRUE;
			if (pf->existed)
				memcpy(pf->sha256, sha, SB_SHA256_HEX);
		}
		free(path);
		free(sha);
		jv_free(existed);
		jv_free(f);
	}
	jv_array_foreach(pi->dirs, i, d)
	{
		if (rc == 0 && (jv_get_kind(d) != JV_KIND_STRING || !sb_path_safe(jv_string_value(d))))
			rc = fail(err, errsize, "the manifest names an unsafe directory");
		jv_free(d);
	}
	jv_free(files);
	jv_free(m);
	return rc;
}

static struct pre_file *find_file(struct pre_image *pi, const char *path)
{
	for (size_t i = 0; i < pi->n; i++)
		if (strcmp(pi->files[i].path, path) == 0)
			return &pi->files[i];
	return NULL;
}

/* One entry after the manifest: it must be a regular file the manifest says existed, with that hash. */
static int take_entry(struct pre_image *pi, struct archive *a, struct archive_entry *e, char *err, size_t errsize)
{
	const char *name = archive_entry_pathname(e);
	struct pre_file *pf = name ? find_file(pi, name) : NULL;
	char hex[SB_SHA256_HEX];

	if (!pf || !pf->existed || pf->have)
		return fail(err, errsize, "unexpected entry '%s' (not in the manifest)", name ? name : "");
	if (archive_entry_filetype(e) != AE_IFREG)
		return fail(err, errsize, "entry '%s' is not a regular file", name);
	pf->len = (size_t)archive_entry_size(e);
	if (!(pf->data = read_entry_data(a, pf->len, err, errsize)))
		return -1;
	sb_sha256_hex(pf->data, pf->len, hex);
	if (strcmp(hex, pf->sha256) != 0)
		return fail(err, errsize, "entry '%s' does not match its hash in the manifest", name);
	pf->have = 1;
	pf->mode = archive_entry_perm(e);
	pf->uid = (uid_t)archive_entry_uid(e);
	pf->gid = (gid_t)archive_entry_gid(e);
	pf->mtime.tv_sec = archive_entry_mtime(e);
	pf->mtime.tv_nsec = archive_entry_mtime_nsec(e);
	return 0;
}

static int read_pre_image(const char *archive, struct pre_image *pi, char *err, size_t errsize)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int rc = 0, r;
	char msg[512];

	pi->dirs = jv_array();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, archive, 65536) != ARCHIVE_OK) {
		rc = fail(err, errsize, "%s: %s", archive, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	for (int first = 1; rc == 0 && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF; first = 0) {
		if (r < ARCHIVE_WARN) {
			rc = fail(msg, sizeof msg, "%s", archive_error_string(a));
		} else if (first) {
			const char *name = archive_entry_pathname(e);
			char *text = NULL;
			if (!name || strcmp(name, MANIFEST) != 0)
				rc = fail(msg, sizeof msg, "the first entry is not the manifest");
			else if (!(text = read_entry_data(a, (size_t)archive_entry_size(e), msg, sizeof msg)))
				rc = -1;
			else
				rc = parse_manifest(pi, text, msg, sizeof msg);
			free(text);
		} else {
			rc = take_entry(pi, a, e, msg, sizeof msg);
		}
	}
	for (size_t i = 0; rc == 0 && i < pi->n; i++)
		if (pi->files[i].existed && !pi->files[i].have)
			rc = fail(msg, sizeof msg, "the bytes of '%s' are missing", pi->files[i].path);
	if (rc == 0 && pi->n == 0 && !pi->files)
		rc = fail(msg, sizeof msg, "no manifest");
	if (rc < 0)
		fail(err, errsize, "%s: %s", archive, msg);
	archive_read_free(a);
	return rc;
}

/* Is every step of dir (relative to the working directory) a real directory, no symbolic link? */
static int real_dir_chain(const char *dir)
{
	char *copy = sb_strdup(dir);
	struct stat st;
	int ok = 1;

	for (char *p = copy;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		ok = lstat(copy, &st) == 0 && S_ISDIR(st.st_mode);
		*p = saved;
		if (!ok || !saved)
			break;
	}
	free(copy);
	return ok;
}

/* Remove the directories the deployment created, deepest first, when nothing else is in them. */
static void remove_created_dirs(jv dirs)
{
	for (int i = jv_array_length(jv_copy(dirs)) - 1; i >= 0; i--) {
		jv d = jv_array_get(jv_copy(dirs), i);
		if (real_dir_chain(jv_string_value(d)) && rmdir(jv_string_value(d)) == 0)
			sb_fsync_parent(jv_string_value(d));
		jv_free(d);
	}
}

/* Runs inside the root: paths are relative to the working directory. -1: refused, nothing written; -2: failed part-way. */
static int put_back(struct pre_image *pi, const char *tag, char *err, size_t errsize)
{
	struct stat st;

	/* A regular file, or nothing, is what a deployment leaves: anything else is not ours to replace. */
	for (size_t i = 0; i < pi->n; i++)
		if (sb_component_stat(".", pi->files[i].path, &st, err, errsize) < 0)
			return -1;
	for (size_t i = 0; i < pi->n; i++) {
		struct pre_file *pf = &pi->files[i];
		if (pf->existed) {
			if (place_file(pf->path, tag, pf->data, pf->len, pf->mode, pf->uid, pf->gid, &pf->mtime, err,
				       errsize) < 0)
				return i == 0 ? -1 : -2;
		} else if (unlink(pf->path) == 0) {
			sb_fsync_parent(pf->path);
		} else if (errno != ENOENT) {
			fail(err, errsize, "%s: %s", pf->path, strerror(errno));
			return i == 0 ? -1 : -2;
		}
	}
	remove_created_dirs(pi->dirs);
	return 0;
}

/* The manifest must name exactly the files the journal says, each as it was before the deployment. */
static int matches_journal(struct pre_image *pi, jv expect, char *err, size_t errsize)
{
	int rc = 0;

	if (jv_array_length(jv_copy(expect)) != (int)pi->n)
		return fail(err, errsize, "the manifest names %zu files, the journal %d", pi->n,
			    jv_array_length(jv_copy(expect)));
	jv_array_foreach(expect, i, e)
	{
		char *path = sb_rec_string(e, "path"), *before = sb_rec_string(e, "before_sha256");
		struct pre_file *pf = path ? find_file(pi, path) : NULL;
		if (rc < 0)
			;
		else if (!pf)
			rc = fail(err, errsize, "the manifest does not name %s", path ? path : "a file of the journal");
		else if (before ? !pf->existed || strcmp(before, pf->sha256) != 0 : pf->existed)
			rc = fail(err, errsize, "the manifest's %s is not the one the journal recorded", path);
		free(path);
		free(before);
		jv_free(e);
	}
	return rc;
}

int sb_snapshot_restore(const char *archive, const char *root, jv expect, const char *tag, jv *restored, char *err,
			size_t errsize)
{
	struct pre_image pi = {0};
	int saved, rc = read_pre_image(archive, &pi, err, errsize);

	if (rc == 0 && jv_get_kind(expect) == JV_KIND_ARRAY)
		rc = matches_journal(&pi, expect, err, errsize);

	if (rc == 0 && (rc = enter_root(root, &saved, err, errsize)) == 0) {
		rc = put_back(&pi, tag, err, errsize);
		leave_root(saved);
	}
	if (rc == 0 && restored) {
		*restored = jv_array();
		for (size_t i = 0; i < pi.n; i++)
			*restored = jv_array_append(*restored, jv_string(pi.files[i].path));
	}
	pre_image_free(&pi);
	return rc;
}
