/* checkpoint.h - where sb-stream stopped reading each file (cursors/NAME.json) */
#ifndef SB_CHECKPOINT_H
#define SB_CHECKPOINT_H

#include <jv.h>

#include "input.h"

/*
 * A checkpoint maps each FILE operand (by absolute path) to the device,
 * inode and offset read up to, and the SHA-256 and length of the last line
 * read, so a later run can tell "appended to", "rotated" and "replaced".
 */
struct sb_checkpoint {
	char *path;   /* cursors/NAME.json in the state directory */
	jv files;     /* object: key -> {dev, ino, offset, last_len, last_sha256} */
};

/* Load path; a missing file is an empty checkpoint. Exits 5 on a corrupt one. */
void sb_checkpoint_load(struct sb_checkpoint *cp, const char *path);

/*
 * Add FILE to in, resuming from the checkpoint: from its offset when it is
 * the same file, first the rest of the rotated file (NAME.1 beside it, or
 * any file there with the recorded inode) and then the new file from its
 * start when it was rotated, from the start when it was truncated or
 * rewritten. Standard input is added as it is.
 */
void sb_checkpoint_plan(struct sb_checkpoint *cp, struct sb_input *in, const char *file);

/* Record how far each file of in was read; nothing is written yet. */
void sb_checkpoint_update(struct sb_checkpoint *cp, struct sb_input *in);

/* Write the checkpoint atomically; 0 or -1 and errno. */
int sb_checkpoint_save(struct sb_checkpoint *cp);

void sb_checkpoint_free(struct sb_checkpoint *cp);

#endif
