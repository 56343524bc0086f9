/* stats.c - means, spreads, quantiles, Student t thresholds and a least-squares line */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sb_mean_sd(const double *x, size_t n, double *mean, double *sd)
{
	double m = 0, ss = 0;

	/* Welford: no cancellation when values are large and close together. */
	for (size_t i = 0; i < n; i++) {
		double d = x[i] - m;
		m += d / (double)(i + 1);
		ss += d * (x[i] - m);
	}
	*mean = m;
	*sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double sb_quantile_sorted_inplace(double *x, size_t n, double q)
{
	double pos, frac;
	size_t i;

	if (n == 0)
		return NAN;
	qsort(x, n, sizeof *x, cmp_double);
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	frac = pos - (double)i;
	return i + 1 < n ? x[i] + frac * (x[i + 1] - x[i]) : x[n - 1];
}

/* Wirth's selection: the k-th smallest of x[0..n), reordering x. */
static double select_kth(double *x, long n, long k)
{
	long lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = x[k];
		long i = lo, j = hi;
		do {
			while (x[i] < pivot)
				i++;
			while (pivot < x[j])
				j--;
			if (i <= j) {
				double t = x[i];
				x[i++] = x[j];
				x[j--] = t;
			}
		} while (i <= j);
		if (j < k)
			lo = i;
		if (k < i)
			hi = j;
	}
	return x[k];
}

static double median_of(double *x, size_t n)
{
	double hi = select_kth(x, (long)n, (long)(n / 2));
	double lo;

	if (n % 2)
		return hi;
	/* The lower middle is the largest of the values left below the upper one. */
	lo = x[0];
	for (size_t i = 1; i < n / 2; i++)
		if (x[i] > lo)
			lo = x[i];
	return (lo + hi) / 2;
}

void sb_median_mad(const double *x, size_t n, double *scratch, double *median, double *mad)
{
	if (n == 0) {
		*median = *mad = NAN;
		return;
	}
	memcpy(scratch, x, n * sizeof *x);
	*median = median_of(scratch, n);
	for (size_t i = 0; i < n; i++)
		scratch[i] = fabs(x[i] - *median);
	*mad = median_of(scratch, n);
}

double sb_t_threshold(double z, double df)
{
	double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2;

	if (df <= 0)
		return INFINITY;
	return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df) +
	       (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df * df * df);
}

struct sb_fit sb_linear_fit(const double *t, const double *y, size_t n)
{
	struct sb_fit f = {0, 0, 0, 0};
	double tm = 0, ym = 0, stt = 0, sty = 0, syy = 0;

	if (n < 3)
		return f;
	for (size_t i = 0; i < n; i++) {
		tm += t[i];
		ym += y[i];
	}
	tm /= (double)n;
	ym /= (double)n;
	/* Centred sums: exact enough for epoch seconds and large values alike. */
	for (size_t i = 0; i < n; i++) {
		double dt = t[i] - tm, dy = y[i] - ym;
		stt += dt * dt;
		sty += dt * dy;
		syy += dy * dy;
	}
	if (stt <= 0)
		return f;
	f.slope = sty / stt;
	f.intercept = ym - f.slope * tm;
	double resid = syy - f.slope * sty;
	f.slope_se = sqrt(fmax(resid, 0) / (double)(n - 2) / stt);
	f.ok = 1;
	return f;
}
