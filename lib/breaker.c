/* breaker.c - a circuit breaker shared by every run */
#include "breaker.h"
#include "err.h"
#include "fsutil.h"
#include "record.h"
#include "selfmetrics.h"
#include "state.h"
#include "timefmt.h"

#include <errno.h>
#include <jv.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

/* sb_breaker_opens_total{breaker="NAME"} of breakers/NAME.json; zero counts too, so the series exists. */
static void count_open(const struct sb_breaker *b, double n)
{
	char *copy = sb_strdup(b->path), *name = basename(copy), *dot = strrchr(name, '.');
	char *labels;

	if (dot && strcmp(dot, ".json") == 0)
		*dot = '\0';
	labels = sb_asprintf("breaker=\"%s\"", name);
	sb_selfmetric_add("sb_breaker_opens_total", labels, n,
			  "Times a circuit breaker opened: after its limit of failures, or again after a failed probe.");
	free(labels);
	free(copy);
}

void sb_breaker_load(struct sb_breaker *b, const char *path, int limit, double cooldown)
{
	jv state = sb_state_read(path, "breaker state");
	double v;

	memset(b, 0, sizeof *b);
	b->path = sb_strdup(path);
	b->limit = limit;
	b->cooldown = cooldown;
	if (sb_rec_number(state, "failures", &v))
		b->failures = (int)v;
	sb_rec_time(state, "open_until", &b->open_until);
	jv_free(state);
	count_open(b, 0);
}

int sb_breaker_allow(struct sb_breaker *b, double now)
{
	if (b->open_until <= 0)
		return 1;
	if (now < b->open_until)
		return 0;
	b->probing = 1; /* half-open: this run decides */
	return 1;
}

static int save(const struct sb_breaker *b, double now)
{
	char ts[SB_TIME_BUFSZ], until[SB_TIME_BUFSZ];
	const char *state = b->open_until > 0 ? (now < b->open_until ? "open" : "half_open") : "closed";
	jv doc = jv_object();

	doc = jv_object_set(doc, jv_string("state"), jv_string(state));
	doc = jv_object_set(doc, jv_string("failures"), jv_number(b->failures));
	if (b->open_until > 0)
		doc = jv_object_set(doc, jv_string("open_until"), jv_string(sb_time_format(b->open_until, until)));
	doc = jv_object_set(doc, jv_string("updated"), jv_string(sb_time_format(now, ts)));
	return sb_state_write(b->path, doc);
}

int sb_breaker_record(struct sb_breaker *b, int ok, double now)
{
	if (ok) {
		b->failures = 0;
		b->open_until = 0;
		b->probing = 0; /* the probe succeeded: closed again, and later failures count from zero */
	} else {
		b->failures++;
		if (b->probing || b->failures >= b->limit) {
			/* Closed or half-open (cooldown over) to open; one still open does not open again. */
			if (b->open_until <= now)
				count_open(b, 1);
			b->open_until = now + b->cooldown;
		}
	}
	return save(b, now);
}

void sb_breaker_free(struct sb_breaker *b)
{
	free(b->path);
}
