/* window.h - two adjacent windows over one series: a baseline, then the recent points */
#ifndef SB_WINDOW_H
#define SB_WINDOW_H

#include <stddef.h>

struct sb_point {
	double ts, v;
};

/*
 * Each window holds `points` points, or (points 0) the points of the last
 * `seconds`, at most SB_WINDOW_MAX_POINTS. A new point joins the recent
 * window; the oldest recent point moves into the baseline; the oldest
 * baseline point is dropped. Sums are kept so that means and spreads cost
 * O(1) a point.
 */
#define SB_WINDOW_MAX_POINTS 10000
/* Points a duration window needs before its statistics are trusted. */
#define SB_WINDOW_MIN_POINTS 10

struct sb_window {
	long points;
	double seconds;
	struct sb_point *ring;
	size_t cap, head, n, nbase; /* ring[head] is the oldest; the first nbase points are the baseline */
	double ref, base_sum, base_sq, cur_sum, cur_sq;
	long pushes;
	double first_ts;
};

void sb_window_init(struct sb_window *w, long points, double seconds, double first_ts);
void sb_window_free(struct sb_window *w);
void sb_window_push(struct sb_window *w, double ts, double v);

/* The i-th point, oldest first: the baseline's are 0..nbase-1, the recent ones nbase..n-1. */
const struct sb_point *sb_window_at(const struct sb_window *w, size_t i);
size_t sb_window_recent(const struct sb_window *w);

/* Mean and sample standard deviation of the baseline or the recent window (n >= 1). */
void sb_window_baseline_stats(const struct sb_window *w, double *mean, double *sd);
void sb_window_recent_stats(const struct sb_window *w, double *mean, double *sd);

/*
 * Is a window of n points, ending at now, enough to judge by: n reaches the
 * points of a window, or (by duration) the minimum and the series has been
 * seen for span seconds?
 */
int sb_window_ready(const struct sb_window *w, size_t n, double span, double now);

#endif
