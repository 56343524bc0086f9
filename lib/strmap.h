/* strmap.h - a hash map from byte-string keys to pointers */
#ifndef SB_STRMAP_H
#define SB_STRMAP_H

#include <stddef.h>

/* Open addressing with linear probing; keys are copied, values are not owned. */
typedef struct sb_strmap sb_strmap;

sb_strmap *sb_strmap_new(void);
/* The value for key, or NULL. Keys may hold NUL bytes: give their length. */
void *sb_strmap_get(const sb_strmap *m, const char *key, size_t len);
/* Set key to value (not NULL), replacing any previous value. */
void sb_strmap_put(sb_strmap *m, const char *key, size_t len, void *value);
/* Remove key; its value is returned (NULL when absent) for the caller to free. */
void *sb_strmap_remove(sb_strmap *m, const char *key, size_t len);
size_t sb_strmap_count(const sb_strmap *m);
/* Free the map and its key copies; values are the caller's. */
void sb_strmap_free(sb_strmap *m);

#endif
