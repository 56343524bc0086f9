/* stats.h - the small statistics sb-analyze and sb-monitor decide with */
#ifndef SB_STATS_H
#define SB_STATS_H

#include <stddef.h>

/* Mean and sample standard deviation (n - 1) of x; sd is 0 for n < 2. */
void sb_mean_sd(const double *x, size_t n, double *mean, double *sd);

/* The q-quantile (0..1) of x by linear interpolation between order statistics; sorts x in place. */
double sb_quantile_sorted_inplace(double *x, size_t n, double q);

/*
 * Median and median absolute deviation of x. scratch holds n doubles and
 * is overwritten; x is left as it was.
 */
void sb_median_mad(const double *x, size_t n, double *scratch, double *median, double *mad);

/*
 * The threshold on a Student t statistic with df degrees of freedom that
 * has the same two-sided tail probability as z has for a normal variable
 * (Cornish-Fisher expansion; close for df >= 10, exact as df grows).
 */
double sb_t_threshold(double z, double df);

/* Least-squares line y = intercept + slope * t, with the standard error of the slope. */
struct sb_fit {
	double slope, intercept, slope_se;
	int ok; /* 0 when fewer than 3 points or all t equal */
};
struct sb_fit sb_linear_fit(const double *t, const double *y, size_t n);

#endif
