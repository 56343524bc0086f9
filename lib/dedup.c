/* dedup.c - a bounded set of keys seen within a time window */
#include "dedup.h"
#include "err.h"
#include "fsutil.h"
#include "strmap.h"

#include <errno.h>
#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *key;
	double t;
};

/* Entries in order of first sighting (a ring), and a map from key to entry. */
struct sb_dedup {
	double window, newest;
	sb_strmap *map;
	struct entry **ring;
	size_t cap, head, count;
};

sb_dedup *sb_dedup_new(double window)
{
	sb_dedup *d = sb_calloc(1, sizeof *d);

	d->window = window;
	d->newest = -1e300;
	d->map = sb_strmap_new();
	d->cap = 1024;
	d->ring = sb_calloc(d->cap, sizeof *d->ring);
	return d;
}

static void push(sb_dedup *d, struct entry *e)
{
	if (d->count == d->cap) {
		struct entry **bigger = sb_calloc(d->cap * 2, sizeof *bigger);
		for (size_t i = 0; i < d->count; i++)
			bigger[i] = d->ring[(d->head + i) % d->cap];
		free(d->ring);
		d->ring = bigger;
		d->head = 0;
		d->cap *= 2;
	}
	d->ring[(d->head + d->count++) % d->cap] = e;
}

/* Forget the oldest entries while they are out of the window. */
static void prune(sb_dedup *d)
{
	while (d->count > 0) {
		struct entry *e = d->ring[d->head];
		if (d->newest - e->t < d->window)
			break;
		sb_strmap_remove(d->map, e->key, strlen(e->key));
		free(e->key);
		free(e);
		d->head = (d->head + 1) % d->cap;
		d->count--;
	}
}

static void remember(sb_dedup *d, const char *key, double t)
{
	struct entry *e = sb_malloc(sizeof *e);

	e->key = sb_strdup(key);
	e->t = t;
	sb_strmap_put(d->map, key, strlen(key), e);
	push(d, e);
}

int sb_dedup_check(sb_dedup *d, const char *key, double t)
{
	struct entry *e;

	if (t > d->newest) {
		d->newest = t;
		prune(d);
	}
	e = sb_strmap_get(d->map, key, strlen(key));
	if (e) /* an older record out of order may lie outside the window */
		return t - e->t < d->window && e->t - t < d->window;
	remember(d, key, t);
	return 0;
}

int sb_dedup_load(sb_dedup *d, const char *path)
{
	size_t len;
	char *text = sb_read_file(path, &len);

	if (!text)
		return errno == ENOENT ? 0 : -1;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0'; /* libjq wants a terminated buffer */
		jv v = jv_parse_sized(line, (int)strlen(line));
		if (jv_get_kind(v) == JV_KIND_OBJECT) {
			jv k = jv_object_get(jv_copy(v), jv_string("k"));
			jv t = jv_object_get(jv_copy(v), jv_string("t"));
			if (jv_get_kind(k) == JV_KIND_STRING && jv_get_kind(t) == JV_KIND_NUMBER &&
			    !sb_strmap_get(d->map, jv_string_value(k), strlen(jv_string_value(k)))) {
				remember(d, jv_string_value(k), jv_number_value(t));
				if (jv_number_value(t) > d->newest)
					d->newest = jv_number_value(t);
			}
			jv_free(k);
			jv_free(t);
		}
		jv_free(v);
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	prune(d);
	return 0;
}

int sb_dedup_save(sb_dedup *d, const char *path)
{
	size_t cap = 4096, n = 0;
	char *buf = sb_malloc(cap);
	int rc;

	prune(d);
	for (size_t i = 0; i < d->count; i++) {
		struct entry *e = d->ring[(d->head + i) % d->cap];
		jv line = jv_dump_string(jv_object_set(jv_object_set(jv_object(), jv_string("k"), jv_string(e->key)),
						       jv_string("t"), jv_number(e->t)), 0);
		size_t len = strlen(jv_string_value(line));
		while (n + len + 2 > cap)
			buf = sb_realloc(buf, cap *= 2);
		memcpy(buf + n, jv_string_value(line), len);
		n += len;
		buf[n++] = '\n';
		jv_free(line);
	}
	rc = sb_write_atomic(path, buf, n, 0600);
	free(buf);
	return rc;
}

long sb_dedup_count(const sb_dedup *d)
{
	return (long)d->count;
}

void sb_dedup_free(sb_dedup *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->count; i++) {
		struct entry *e = d->ring[(d->head + i) % d->cap];
		free(e->key);
		free(e);
	}
	free(d->ring);
	sb_strmap_free(d->map);
	free(d);
}
