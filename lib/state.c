/* state.c - the state directory */
#include "state.h"
#include "err.h"
#include "fsutil.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

static char *state_dir;

const char *sb_state_dir(const struct sb_common *c)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (state_dir)
		return state_dir;
	if (c->state_dir && *c->state_dir)
		state_dir = sb_strdup(c->state_dir);
	else if (xdg && *xdg)
		state_dir = sb_asprintf("%s/sb", xdg);
	else if (home && *home)
		state_dir = sb_asprintf("%s/.local/state/sb", home);
	else
		sb_die(SB_EXIT_USAGE, "no state directory: set --state-dir, SB_STATE_DIR or HOME");
	if (sb_mkdirs(state_dir, 0700) < 0)
		sb_die(SB_EXIT_IO, "cannot create state directory '%s':", state_dir);
	return state_dir;
}

jv sb_state_read(const char *path, const char *what)
{
	size_t len;
	char *text = sb_read_file(path, &len);
	jv doc;

	if (!text) {
		if (errno == ENOENT)
			return jv_null();
		sb_die(SB_EXIT_IO, "cannot read %s '%s':", what, path);
	}
	doc = jv_parse_sized(text, (int)len);
	free(text);
	if (jv_get_kind(doc) != JV_KIND_OBJECT)
		sb_die(SB_EXIT_IO, "%s: not a %s (remove it to start over)", path, what);
	return doc;
}

int sb_state_write(const char *path, jv doc)
{
	jv text = jv_dump_string(doc, 0);
	char *line = sb_asprintf("%s\n", jv_string_value(text));
	int rc = sb_write_atomic(path, line, strlen(line), 0600);
	int saved = errno;

	jv_free(text);
	free(line);
	errno = saved;
	return rc;
}

char *sb_state_path(const struct sb_common *c, const char *relative)
{
	char *path = sb_asprintf("%s/%s", sb_state_dir(c), relative);
	char *parent = sb_strdup(path);

	if (sb_mkdirs(dirname(parent), 0700) < 0)
		sb_die(SB_EXIT_IO, "cannot create directory for '%s':", path);
	free(parent);
	return path;
}
