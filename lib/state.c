/* state.c - the state directory */
#include "state.h"
#include "err.h"
#include "fsutil.h"

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

char *sb_state_path(const struct sb_common *c, const char *relative)
{
	char *path = sb_asprintf("%s/%s", sb_state_dir(c), relative);
	char *parent = sb_strdup(path);

	if (sb_mkdirs(dirname(parent), 0700) < 0)
		sb_die(SB_EXIT_IO, "cannot create directory for '%s':", path);
	free(parent);
	return path;
}
