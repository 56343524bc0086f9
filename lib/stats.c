/*
 * stats.c - means, spreads, quantiles, Student t thresholds, a least-squares
 * line, the normal, t and F tails, and the rank and spread tests a canary is judged by
 */
#include "stats.h"
#include "err.h"

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

/* The q-quantile of x[0..n), already sorted and not empty. */
static double quantile_of_sorted(const double *x, size_t n, double q)
{
	double pos = q * (double)(n - 1), frac;
	size_t i = (size_t)pos;

	frac = pos - (double)i;
	return i + 1 < n ? x[i] + frac * (x[i + 1] - x[i]) : x[n - 1];
}

double sb_quantile_sorted_inplace(double *x, size_t n, double q)
{
	if (n == 0)
		return NAN;
	qsort(x, n, sizeof *x, cmp_double);
	return quantile_of_sorted(x, n, q);
}

double sb_iqr(const double *x, size_t n, double *scratch)
{
	if (n == 0)
		return NAN;
	memcpy(scratch, x, n * sizeof *x);
	qsort(scratch, n, sizeof *scratch, cmp_double);
	return quantile_of_sorted(scratch, n, 0.75) - quantile_of_sorted(scratch, n, 0.25);
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

double sb_normal_sf(double z)
{
	/* erfc keeps its relative precision far into the upper tail, where 1 - Phi(z) would round to 0. */
	return 0.5 * erfc(z / M_SQRT2);
}

/*
 * The continued fraction of I_x(a, b) without its prefactor x^a (1-x)^b / (a B(a, b)):
 * 1 / (1 + d1 / (1 + d2 / (1 + ...))), by the modified Lentz method. It converges
 * quickly for x < (a + 1) / (a + b + 2); the caller swaps a and b otherwise.
 */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double f = 1, c = 1, d = 0;

	for (int j = 1; j <= 1000; j++) {
		int m = j / 2;
		double num;

		if (j % 2)
			num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
		else
			num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
		d = 1 + num * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + num / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		f *= c * d;
		if (fabs(c * d - 1) < eps)
			break;
	}
	return 1 / f;
}

/*
 * I_x(a, b) given both x and y = 1 - x, so callers that know 1 - x more
 * precisely than the subtraction would give (the t and F tails) can pass it.
 */
static double beta_inc2(double a, double b, double x, double y)
{
	double lfront;

	if (!(a > 0 && b > 0 && x >= 0 && y >= 0))
		return NAN;
	if (x == 0)
		return 0;
	if (y == 0)
		return 1;
	lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(y);
	if (x < (a + 1) / (a + b + 2))
		return exp(lfront) * beta_cf(a, b, x) / a;
	/* I_x(a, b) = 1 - I_{1-x}(b, a): the fraction for the other tail converges here. */
	return 1 - exp(lfront) * beta_cf(b, a, y) / b;
}

double sb_beta_inc(double a, double b, double x)
{
	if (!(x <= 1))
		return NAN;
	return beta_inc2(a, b, x, 1 - x);
}

double sb_t_sf(double t, double df)
{
	double half;

	if (isnan(t) || !(df > 0))
		return NAN;
	if (isinf(df))
		return sb_normal_sf(t);
	if (isinf(t))
		return t > 0 ? 0 : 1;
	/* P(|T| >= |t|) = I_{df/(df+t^2)}(df/2, 1/2); both arguments formed without cancellation. */
	half = 0.5 * beta_inc2(df / 2, 0.5, df / (df + t * t), t * t / (df + t * t));
	return t > 0 ? half : 1 - half;
}

double sb_f_sf(double f, double d1, double d2)
{
	if (isnan(f) || !(d1 > 0 && d2 > 0))
		return NAN;
	if (f <= 0)
		return 1;
	if (isinf(f))
		return 0;
	return beta_inc2(d2 / 2, d1 / 2, d2 / (d2 + d1 * f), d1 * f / (d2 + d1 * f));
}

/* Samples up to this size with no ties get the exact null distribution of U. */
#define SB_MW_EXACT_MAX 25

/*
 * P(U >= u) for samples of m and n without ties. The number of arrangements
 * with U = k is the coefficient of q^k in the Gaussian binomial
 * [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), built one factor
 * at a time so each partial product stays a polynomial; the multiplication
 * briefly reaches degree deg + n + i before the division brings it back to
 * deg + n. The counts stay below C(50, 25) < 2^53, so doubles hold them exactly.
 */
static double mw_exact_sf(size_t m, size_t n, double u)
{
	double c[SB_MW_EXACT_MAX * (SB_MW_EXACT_MAX + 1) + 1] = {1}, tail = 0, total = 0;
	size_t deg = 0;

	for (size_t i = 1; i <= m; i++) {
		size_t top = deg + n + i;
		for (size_t k = top; k >= n + i; k--)
			c[k] -= c[k - n - i];
		for (size_t k = i; k <= top; k++)
			c[k] += c[k - i];
		deg += n;
	}
	for (size_t k = 0; k <= deg; k++) {
		total += c[k];
		if ((double)k >= u)
			tail += c[k];
	}
	return tail / total;
}

struct mw_obs {
	double v;
	int from_y;
};

static int cmp_obs(const void *a, const void *b)
{
	return cmp_double(&((const struct mw_obs *)a)->v, &((const struct mw_obs *)b)->v);
}

struct sb_mann_whitney sb_mann_whitney_greater(const double *x, size_t nx, const double *y, size_t ny)
{
	struct sb_mann_whitney r = {0, 0, 1, 0};
	size_t n = nx + ny;
	struct mw_obs *o;
	double ranks_y = 0, ties = 0, mean, var;

	if (nx == 0 || ny == 0)
		return r;
	o = sb_malloc(n * sizeof *o);
	for (size_t i = 0; i < nx; i++)
		o[i] = (struct mw_obs){x[i], 0};
	for (size_t j = 0; j < ny; j++)
		o[nx + j] = (struct mw_obs){y[j], 1};
	qsort(o, n, sizeof *o, cmp_obs);
	/* Each run of equal values shares the mean of the ranks it spans. */
	for (size_t i = 0, j; i < n; i = j) {
		double t;
		for (j = i + 1; j < n && o[j].v == o[i].v; j++)
			;
		t = (double)(j - i);
		for (size_t k = i; k < j; k++)
			if (o[k].from_y)
				ranks_y += (double)(i + j + 1) / 2;
		ties += t * t * t - t;
	}
	free(o);
	/* Ranks of y minus the least they could sum to: each y counts the x below it, ties as halves. */
	r.u = ranks_y - (double)ny * (double)(ny + 1) / 2;
	if (ties == 0 && nx <= SB_MW_EXACT_MAX && ny <= SB_MW_EXACT_MAX) {
		r.p = mw_exact_sf(nx, ny, r.u);
		r.exact = 1;
		return r;
	}
	mean = (double)nx * (double)ny / 2;
	var = (double)nx * (double)ny / 12 * ((double)(n + 1) - ties / ((double)n * (double)(n - 1)));
	if (var <= 0)
		return r; /* every value equal: nothing to tell the samples apart */
	/* Continuity: P(U >= u) of the lattice is P(normal >= u - 1/2). */
	r.z = (r.u - mean - 0.5) / sqrt(var);
	r.p = sb_normal_sf(r.z);
	return r;
}

/* Mean and sum of squared deviations of |v - median(v)|; v is overwritten. */
static void abs_dev_moments(double *v, size_t n, double *mean, double *ss)
{
	double med = median_of(v, n), sd;

	for (size_t i = 0; i < n; i++)
		v[i] = fabs(v[i] - med);
	sb_mean_sd(v, n, mean, &sd);
	*ss = sd * sd * (double)(n - 1);
}

struct sb_spread_test sb_brown_forsythe_greater(const double *x, size_t nx, const double *y, size_t ny)
{
	struct sb_spread_test r = {0, 1};
	double *v, mx, my, ssx, ssy, df, var, t;

	if (nx < 2 || ny < 2)
		return r;
	v = sb_malloc((nx + ny) * sizeof *v);
	memcpy(v, x, nx * sizeof *x);
	memcpy(v + nx, y, ny * sizeof *y);
	abs_dev_moments(v, nx, &mx, &ssx);
	abs_dev_moments(v + nx, ny, &my, &ssy);
	free(v);
	df = (double)(nx + ny - 2);
	var = (ssx + ssy) / df * (1 / (double)nx + 1 / (double)ny);
	if (var <= 0) {
		/* Deviations constant within each group: only their difference can speak. */
		if (my != mx) {
			r.f = INFINITY;
			r.p = my > mx ? 0 : 1;
		}
		return r;
	}
	t = (my - mx) / sqrt(var);
	r.f = t * t;
	r.p = sb_t_sf(t, df);
	return r;
}
