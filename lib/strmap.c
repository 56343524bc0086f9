/* strmap.c - a hash map from byte-string keys to pointers */
#include "strmap.h"
#include "err.h"
#include "hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	char *key;
	size_t len;
	uint64_t hash;
	void *value;
};

struct sb_strmap {
	struct slot *slots;
	size_t cap, count; /* cap is a power of two */
};

sb_strmap *sb_strmap_new(void)
{
	sb_strmap *m = sb_calloc(1, sizeof *m);

	m->cap = 64;
	m->slots = sb_calloc(m->cap, sizeof *m->slots);
	return m;
}

static struct slot *find(const sb_strmap *m, const char *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

static void grow(sb_strmap *m)
{
	struct slot *old = m->slots;
	size_t oldcap = m->cap;

	m->cap *= 2;
	m->slots = sb_calloc(m->cap, sizeof *m->slots);
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
}

void *sb_strmap_get(const sb_strmap *m, const char *key, size_t len)
{
	struct slot *s = find(m, key, len, sb_fnv1a(key, len));

	return s->key ? s->value : NULL;
}

void sb_strmap_put(sb_strmap *m, const char *key, size_t len, void *value)
{
	uint64_t h = sb_fnv1a(key, len);
	struct slot *s;

	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m);
	s = find(m, key, len, h);
	if (!s->key) {
		s->key = sb_malloc(len + 1);
		memcpy(s->key, key, len);
		s->key[len] = '\0';
		s->len = len;
		s->hash = h;
		m->count++;
	}
	s->value = value;
}

void *sb_strmap_remove(sb_strmap *m, const char *key, size_t len)
{
	struct slot *s = find(m, key, len, sb_fnv1a(key, len));
	size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
	void *value = s->value;

	if (!s->key)
		return NULL;
	free(s->key);
	m->count--;
	/* Backward-shift deletion: move later entries of the run into the hole
	 * when their home slot does not lie between the hole and them. */
	for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
		size_t home = m->slots[i].hash & mask;
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			m->slots[hole] = m->slots[i];
			hole = i;
		}
	}
	memset(&m->slots[hole], 0, sizeof m->slots[hole]);
	return value;
}

size_t sb_strmap_count(const sb_strmap *m)
{
	return m->count;
}

void sb_strmap_free(sb_strmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}
