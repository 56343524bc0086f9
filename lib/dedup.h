/* dedup.h - a bounded set of keys seen within a time window */
#ifndef SB_DEDUP_H
#define SB_DEDUP_H

typedef struct sb_dedup sb_dedup;

/* Keys are remembered for window seconds from their first sighting. */
sb_dedup *sb_dedup_new(double window);

/*
 * 1 when key was first seen less than the window before t (a duplicate to
 * drop), else 0 after remembering key at t. Entries older than the window
 * (against the newest time seen) are pruned as it goes, so memory stays
 * bounded by the keys of one window.
 */
int sb_dedup_check(sb_dedup *d, const char *key, double t);

/* Load entries saved by sb_dedup_save; a missing file is empty. 0 or -1 and errno. */
int sb_dedup_load(sb_dedup *d, const char *path);

/* Save the unexpired entries atomically, one {"k":KEY,"t":TIME} a line. 0 or -1 and errno. */
int sb_dedup_save(sb_dedup *d, const char *path);

/* Number of keys held. */
long sb_dedup_count(const sb_dedup *d);

void sb_dedup_free(sb_dedup *d);

#endif
