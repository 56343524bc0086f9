/* audit.c - the hash-chained audit log */
#include "audit.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

const char *sb_audit_actor(void)
{
	const char *actor = getenv("SB_ACTOR");
	struct passwd *pw;

	if (actor && *actor)
		return actor;
	pw = getpwuid(geteuid());
	return pw ? pw->pw_name : "unknown";
}

static jv stamp_entry(jv entry, const char *prev)
{
	char ts[SB_TIME_BUFSZ];

	if (!jv_object_has(jv_copy(entry), jv_string("ts")))
		entry = jv_object_set(entry, jv_string("ts"), jv_string(sb_time_format(sb_time_now(), ts)));
	if (!jv_object_has(jv_copy(entry), jv_string("actor")))
		entry = jv_object_set(entry, jv_string("actor"), jv_string(sb_audit_actor()));
	return jv_object_set(entry, jv_string("prev"), jv_string(prev));
}

int sb_audit_append(const char *path, jv entry)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	char prev[SB_SHA256_HEX];
	char *last = NULL;
	int rc = -1, saved;

	if (fd < 0) {
		jv_free(entry);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			jv_free(entry);
			goto out;
		}
	}
	if (!(last = sb_last_line(fd))) {
		jv_free(entry);
		goto out;
	}
	/* A last line without its newline would be glued to this entry: refuse rather than corrupt the chain. */
	off_t end = lseek(fd, 0, SEEK_END);
	char nl = '\n';
	if (end > 0 && (pread(fd, &nl, 1, end - 1) != 1 || nl != '\n')) {
		jv_free(entry);
		errno = EILSEQ;
		goto out;
	}
	if (*last)
		sb_sha256_hex(last, strlen(last), prev);
	else
		strcpy(prev, SB_AUDIT_GENESIS);
	jv line = jv_dump_string(stamp_entry(entry, prev), 0);
	char *text = sb_asprintf("%s\n", jv_string_value(line));
	jv_free(line);
	if (sb_write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0)
		rc = 0;
	free(text);
out:
	saved = errno;
	free(last);
	close(fd);
	errno = saved;
	return rc;
}

/* Does this line's "prev" equal want? */
static int prev_matches(const char *line, size_t len, const char *want)
{
	jv v = jv_parse_sized(line, (int)len);
	int ok = 0;

	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		jv prev = jv_object_get(jv_copy(v), jv_string("prev"));
		ok = jv_get_kind(prev) == JV_KIND_STRING && strcmp(jv_string_value(prev), want) == 0;
		jv_free(prev);
	}
	jv_free(v);
	return ok;
}

long sb_audit_verify(const char *path)
{
	FILE *f = fopen(path, "re");
	char want[SB_SHA256_HEX] = SB_AUDIT_GENESIS;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0, bad = 0;

	if (!f)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!prev_matches(line, (size_t)n, want)) {
			bad = lineno;
			break;
		}
		sb_sha256_hex(line, (size_t)n, want);
	}
	free(line);
	if (ferror(f) && !bad) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return bad;
}
