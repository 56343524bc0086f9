/* snapshot.h - a deployment's pre-image in a compressed archive, and writing files into a component safely */
#ifndef SB_SNAPSHOT_H
#define SB_SNAPSHOT_H

#include <jv.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * All paths are relative to a component's root directory and were checked
 * with sb_path_safe. Every function refuses to read or write through a
 * symbolic link inside the root, and reports why in err.
 *
 * Files are written by libarchive's disk writer with its secure extraction
 * flags (no absolute path, no "..", no symbolic link on the way) to a
 * temporary name in the file's own directory, ".NAME.sb-TAG", then
 * fsynced and renamed over the file, and the directory is fsynced: a file
 * is always exactly its old or its new content. A crash can leave the
 * temporary file behind; sb_snapshot_clean_temps removes it.
 */

/*
 * Archive the pre-image of paths (a JSON array of strings) under root
 * into archive (".tar.gz", or ".tar.zst" with compression "zstd"): each
 * existing file with its mode, owner and modification time, and a
 * manifest (the first entry) naming every path, whether it existed and
 * its SHA-256, and the directories that did not exist yet. The archive is
 * written to a temporary file, fsynced and renamed into place: it exists
 * complete or not at all. 0, or -1 with err.
 */
int sb_snapshot_create(const char *archive, const char *root, jv paths, const char *compression, char *err,
		       size_t errsize);

/*
 * Put root back as archive recorded it: every file that existed gets its
 * bytes, mode, owner and time back, every file that did not is removed,
 * and directories that did not exist are removed when empty. The whole
 * archive is read and checked first (manifest, names, sizes, hashes, and
 * when expect is an array of {"path", "before_sha256"}, that the manifest
 * names exactly those files, each with that hash or absent when it is
 * null): nothing is written unless all of it is sound. *restored (may be NULL)
 * receives the paths, in the manifest's order. 0; -1 with err when the
 * archive or the component was refused and nothing was written; -2 with
 * err when writing failed part-way (the same call can be tried again).
 */
int sb_snapshot_restore(const char *archive, const char *root, jv expect, const char *tag, jv *restored,
			char *err, size_t errsize);

/*
 * Write data as root/path: mode, owner and group from like when the file
 * exists (like is its lstat), else mode 0666 less the umask. Temporary
 * name from tag. 0, or -1 with err.
 */
int sb_install_file(const char *root, const char *path, const void *data, size_t len, const struct stat *like,
		    const char *tag, char *err, size_t errsize);

/* Remove root/path (absent is fine) and fsync its directory; 0, or -1 with err. */
int sb_remove_file(const char *root, const char *path, char *err, size_t errsize);

/*
 * lstat root/path after checking that no directory on the way is a
 * symbolic link: 0 with *st, 1 when the file does not exist, -1 with err
 * (a link on the way, or the file is not a regular file).
 */
int sb_component_stat(const char *root, const char *path, struct stat *st, char *err, size_t errsize);

/* Remove the temporary files tag may have left for paths (a JSON array of strings). */
void sb_snapshot_clean_temps(const char *root, jv paths, const char *tag);

#endif
