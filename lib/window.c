/* window.c - a baseline and a recent window over one series, with running sums */
#include "window.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>

void sb_window_init(struct sb_window *w, long points, double seconds, double first_ts)
{
	*w = (struct sb_window){.points = points, .seconds = seconds, .first_ts = first_ts};
	w->cap = points ? 2 * (size_t)points + 1 : 16;
	w->ring = sb_malloc(w->cap * sizeof *w->ring);
}

void sb_window_free(struct sb_window *w)
{
	free(w->ring);
	w->ring = NULL;
}

const struct sb_point *sb_window_at(const struct sb_window *w, size_t i)
{
	return &w->ring[(w->head + i) % w->cap];
}

size_t sb_window_recent(const struct sb_window *w)
{
	return w->n - w->nbase;
}

static void add(double *sum, double *sq, double v, double sign)
{
	*sum += sign * v;
	*sq += sign * v * v;
}

/*
 * Running sums drift after many additions and subtractions: every ring's
 * worth of points they are recomputed, shifted by the current mean so
 * that large values close together keep their precision.
 */
static void recompute(struct sb_window *w)
{
	double mean = 0;

	for (size_t i = 0; i < w->n; i++)
		mean += sb_window_at(w, i)->v;
	w->ref = w->n ? mean / (double)w->n : 0;
	w->base_sum = w->base_sq = w->cur_sum = w->cur_sq = 0;
	for (size_t i = 0; i < w->n; i++) {
		double v = sb_window_at(w, i)->v - w->ref;
		if (i < w->nbase)
			add(&w->base_sum, &w->base_sq, v, 1);
		else
			add(&w->cur_sum, &w->cur_sq, v, 1);
	}
}

static void stats(double sum, double sq, size_t n, double ref, double *mean, double *sd)
{
	double m = sum / (double)n, var = n > 1 ? (sq - sum * m) / (double)(n - 1) : 0;

	*mean = ref + m;
	*sd = var > 0 ? sqrt(var) : 0;
}

void sb_window_baseline_stats(const struct sb_window *w, double *mean, double *sd)
{
	stats(w->base_sum, w->base_sq, w->nbase, w->ref, mean, sd);
}

void sb_window_recent_stats(const struct sb_window *w, double *mean, double *sd)
{
	stats(w->cur_sum, w->cur_sq, sb_window_recent(w), w->ref, mean, sd);
}

static void grow(struct sb_window *w)
{
	size_t cap = w->cap * 2;
	struct sb_point *r = sb_malloc(cap * sizeof *r);

	for (size_t i = 0; i < w->n; i++)
		r[i] = *sb_window_at(w, i);
	free(w->ring);
	w->ring = r;
	w->cap = cap;
	w->head = 0;
}

static int recent_too_big(const struct sb_window *w, double now)
{
	size_t n = sb_window_recent(w);

	if (n == 0)
		return 0;
	if (w->points)
		return n > (size_t)w->points;
	return n > SB_WINDOW_MAX_POINTS || sb_window_at(w, w->nbase)->ts <= now - w->seconds;
}

static int baseline_too_big(const struct sb_window *w, double now)
{
	if (w->nbase == 0)
		return 0;
	if (w->points)
		return w->nbase > (size_t)w->points;
	return w->nbase > SB_WINDOW_MAX_POINTS || sb_window_at(w, 0)->ts <= now - 2 * w->seconds;
}

void sb_window_push(struct sb_window *w, double ts, double v)
{
	if (w->n == w->cap)
		grow(w);
	w->ring[(w->head + w->n) % w->cap] = (struct sb_point){ts, v};
	w->n++;
	add(&w->cur_sum, &w->cur_sq, v - w->ref, 1);
	while (recent_too_big(w, ts)) {
		double moved = sb_window_at(w, w->nbase)->v - w->ref;
		add(&w->cur_sum, &w->cur_sq, moved, -1);
		add(&w->base_sum, &w->base_sq, moved, 1);
		w->nbase++;
	}
	while (baseline_too_big(w, ts)) {
		add(&w->base_sum, &w->base_sq, sb_window_at(w, 0)->v - w->ref, -1);
		w->head = (w->head + 1) % w->cap;
		w->n--;
		w->nbase--;
	}
	if (++w->pushes % (long)w->cap == 0)
		recompute(w);
}

int sb_window_ready(const struct sb_window *w, size_t n, double span, double now)
{
	if (w->points)
		return n >= (size_t)w->points;
	return n >= SB_WINDOW_MIN_POINTS && now - w->first_ts >= span;
}
