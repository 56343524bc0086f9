/* progress.h - a self-overwriting status line on stderr for long runs */
#ifndef SB_PROGRESS_H
#define SB_PROGRESS_H

/*
 * Shown only when enabled, stderr is a terminal and the run has lasted
 * more than 2 seconds; redrawn at most a few times a second.
 */
void sb_progress_start(int enabled);

/* Cheap enough for every record: reads the coarse monotonic clock. */
void sb_progress_update(long in, long out);

/* Clear the line, if one was drawn. */
void sb_progress_done(void);

#endif
