/* state.h - the state directory */
#ifndef SB_STATE_H
#define SB_STATE_H

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

#endif
