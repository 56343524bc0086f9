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

/* Interquartile range (q75 - q25 by linear interpolation, as sb_quantile_sorted_inplace); scratch holds n doubles, x untouched. */
double sb_iqr(const double *x, size_t n, double *scratch);

/* Upper tail of the standard normal: P(Z >= z). */
double sb_normal_sf(double z);

/*
 * Regularized incomplete beta I_x(a, b), for a, b > 0 and 0 <= x <= 1
 * (continued fraction, Lentz's method, with lgamma); NAN outside that domain.
 */
double sb_beta_inc(double a, double b, double x);

/* Upper tail of Student's t with df degrees of freedom: P(T >= t). */
double sb_t_sf(double t, double df);

/* Upper tail of F with (d1, d2) degrees of freedom: P(F >= f). */
double sb_f_sf(double f, double d1, double d2);

/*
 * One-sided Mann-Whitney U test: are y's values stochastically greater
 * than x's? Neither sample may hold NaN.
 */
struct sb_mann_whitney {
	double u;  /* pairs (x_i, y_j) with y_j > x_i, plus half of the tied pairs */
	double z;  /* the normal score used (0 when exact) */
	double p;  /* P(U >= u) under the null hypothesis that both come from one distribution */
	int exact; /* 1 when p is from the exact distribution (no ties, small samples) */
};
struct sb_mann_whitney sb_mann_whitney_greater(const double *x, size_t nx, const double *y, size_t ny);

/*
 * One-sided Brown-Forsythe test: is y's spread greater than x's? Levene's
 * test on absolute deviations from each group's median; with two groups F = t^2
 * of a pooled two-sample t on those deviations, so the one-sided p is the t
 * upper tail with nx + ny - 2 df, signed by which group deviates more.
 */
struct sb_spread_test {
	double f; /* the Brown-Forsythe F statistic, (1, nx+ny-2) df */
	double p; /* one-sided p-value that y's spread exceeds x's */
};
struct sb_spread_test sb_brown_forsythe_greater(const double *x, size_t nx, const double *y, size_t ny);

#endif
