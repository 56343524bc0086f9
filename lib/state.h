/* state.h - the state directory */
#ifndef SB_STATE_H
#define SB_STATE_H

#include <jv.h>

#include "opts.h"

/*
 * The state directory: --state-dir, else $SB_STATE_DIR, else the
 * configuration's "state_dir", else $XDG_STATE_HOME/sb, else
 * ~/.local/state/sb. It is created with mode 0700 when missing; failure
 * exits 5. The returned string is owned by the module.
 */
const char *sb_state_dir(const struct sb_common *c);

/* A path inside the state directory, with its parent created (0700); free it. */
char *sb_state_path(const struct sb_common *c, const char *relative);

/*
 * A JSON state file (a checkpoint, a breaker, a cursor): the object in it,
 * or null when there is no such file. A file that cannot be read, or that
 * holds no JSON object, exits 5 naming it and what it should be.
 */
jv sb_state_read(const char *path, const char *what);

/* Replace a JSON state file atomically with doc (consumed); 0 or -1 and errno. */
int sb_state_write(const char *path, jv doc);

#endif
