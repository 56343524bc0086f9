/* lru.h - things kept by key, the least recently seen first out */
#ifndef SB_LRU_H
#define SB_LRU_H

#include <stddef.h>

#include "strmap.h"

/* Embed this first in what is kept; the key is owned (freed by sb_lru_drop). */
struct sb_lru_item {
	char *key;
	size_t keylen;
	struct sb_lru_item *older, *newer;
	/* Called by sb_lru_drop after the item left the list: flush what it holds pending, then free it. */
	void (*release)(void *ctx, struct sb_lru_item *item);
};

struct sb_lru {
	sb_strmap *map;
	struct sb_lru_item *oldest, *newest;
	size_t count;
	long evicted; /* for the caller's counting */
};

void sb_lru_init(struct sb_lru *l);

/* The item of key, made the most recently seen; NULL when there is none. */
struct sb_lru_item *sb_lru_find(struct sb_lru *l, const char *key, size_t keylen);

/* Add an item (its key set) as the most recently seen. */
void sb_lru_add(struct sb_lru *l, struct sb_lru_item *item);

/* Remove an item, free its key and call its release with ctx. */
void sb_lru_drop(struct sb_lru *l, struct sb_lru_item *item, void *ctx);

/* Drop every item, oldest first; then the map. */
void sb_lru_free(struct sb_lru *l, void *ctx);

#endif
