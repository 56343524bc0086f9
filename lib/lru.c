/* lru.c - things kept by key in a hash map and a list from least to most recently seen */
#include "lru.h"

#include <stdlib.h>

void sb_lru_init(struct sb_lru *l)
{
	l->map = sb_strmap_new();
	l->oldest = l->newest = NULL;
	l->count = 0;
	l->evicted = 0;
}

static void unlink_item(struct sb_lru *l, struct sb_lru_item *t)
{
	if (t->older)
		t->older->newer = t->newer;
	else
		l->oldest = t->newer;
	if (t->newer)
		t->newer->older = t->older;
	else
		l->newest = t->older;
	t->older = t->newer = NULL;
}

static void push_newest(struct sb_lru *l, struct sb_lru_item *t)
{
	t->older = l->newest;
	t->newer = NULL;
	if (l->newest)
		l->newest->newer = t;
	else
		l->oldest = t;
	l->newest = t;
}

struct sb_lru_item *sb_lru_find(struct sb_lru *l, const char *key, size_t keylen)
{
	struct sb_lru_item *t = sb_strmap_get(l->map, key, keylen);

	if (t && l->newest != t) {
		unlink_item(l, t);
		push_newest(l, t);
	}
	return t;
}

void sb_lru_add(struct sb_lru *l, struct sb_lru_item *t)
{
	sb_strmap_put(l->map, t->key, t->keylen, t);
	push_newest(l, t);
	l->count++;
}

void sb_lru_drop(struct sb_lru *l, struct sb_lru_item *t, void *ctx)
{
	sb_strmap_remove(l->map, t->key, t->keylen);
	unlink_item(l, t);
	l->count--;
	free(t->key);
	t->release(ctx, t);
}

void sb_lru_free(struct sb_lru *l, void *ctx)
{
	while (l->oldest)
		sb_lru_drop(l, l->oldest, ctx);
	sb_strmap_free(l->map);
	l->map = NULL;
}
