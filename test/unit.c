/* unit.c - tests of lib/ functions that no tool exposes directly yet.
 * Usage: sb-unit-tests NAME (run from an empty scratch directory); exit 0 on success. */
#include "audit.h"
#include "breaker.h"
#include "config.h"
#include "dedup.h"
#include "err.h"
#include "flatjson.h"
#include "fsutil.h"
#include "hash.h"
#include "opts.h"
#include "state.h"
#include "stats.h"
#include "strmap.h"
#include "timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

static int failures;

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

/* parse(text) must succeed and give want. */
static void check_parse(const char *what, int (*parse)(const char *, double *), const char *text, double want)
{
	double got = -1;
	int ok = parse(text, &got) == 0 && fabs(got - want) < 1e-6;

	if (!ok)
		fprintf(stderr, "%s '%s': got %.6f, want %.6f\n", what, text, got, want);
	CHECK(ok);
}

static void check_time(const char *text, double want)
{
	check_parse("time", sb_time_parse, text, want);
}

static void test_time(void)
{
	char buf[SB_TIME_BUFSZ];
	double t;

	check_time("2026-11-24T02:00:00Z", 1795485600);
	check_time("2026-11-24t02:00:00z", 1795485600);
	check_time("2026-11-24 02:00:00Z", 1795485600);
	check_time("2026-11-24T03:30:00+01:30", 1795485600);
	check_time("2026-11-23T21:00:00-05:00", 1795485600);
	check_time("2026-11-24T02:00:00.25Z", 1795485600.25);
	check_time("1795485600", 1795485600);
	check_time("1795485600.5", 1795485600.5);
	check_time("2024-02-29T00:00:00Z", 1709164800);
	CHECK(sb_time_parse("2023-02-29T00:00:00Z", &t) < 0);
	CHECK(sb_time_parse("2026-13-01T00:00:00Z", &t) < 0);
	CHECK(sb_time_parse("2026-11-24T02:00:00", &t) < 0);
	CHECK(sb_time_parse("2026-11-24T25:00:00Z", &t) < 0);
	CHECK(sb_time_parse("yesterday", &t) < 0);
	CHECK(sb_time_parse("", &t) < 0);
	CHECK(strcmp(sb_time_format(1795485600, buf), "2026-11-24T02:00:00Z") == 0);
	CHECK(strcmp(sb_time_format(1795485600.25, buf), "2026-11-24T02:00:00.25Z") == 0);
	CHECK(strcmp(sb_time_format(0, buf), "1970-01-01T00:00:00Z") == 0);
	/* format and parse are inverses */
	CHECK(sb_time_parse(sb_time_format(1795485600.125, buf), &t) == 0 && fabs(t - 1795485600.125) < 1e-6);
}

static void check_duration(const char *text, double want)
{
	check_parse("duration", sb_duration_parse, text, want);
}

static void test_duration(void)
{
	char buf[32];
	double d;

	check_duration("90s", 90);
	check_duration("5m", 300);
	check_duration("1h", 3600);
	check_duration("7d", 604800);
	check_duration("2w", 1209600);
	check_duration("1h30m", 5400);
	check_duration("250ms", 0.25);
	check_duration("1.5h", 5400);
	check_duration("42", 42);
	CHECK(sb_duration_parse("", &d) < 0);
	CHECK(sb_duration_parse("5x", &d) < 0);
	CHECK(sb_duration_parse("-5m", &d) < 0);
	CHECK(sb_duration_parse("m", &d) < 0);
	CHECK(sb_duration_parse("5m3", &d) < 0);
	CHECK(strcmp(sb_duration_format(90, buf, sizeof buf), "1m30s") == 0);
	CHECK(strcmp(sb_duration_format(86400 + 3600, buf, sizeof buf), "1d1h") == 0);
	CHECK(strcmp(sb_duration_format(0, buf, sizeof buf), "0s") == 0);
}

static void test_hash(void)
{
	char hex[SB_SHA256_HEX], id1[SB_ID_LEN + 1], id2[SB_ID_LEN + 1];
	FILE *f;

	sb_sha256_hex("abc", 3, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	f = fopen("abc.txt", "w");
	fputs("abc", f);
	fclose(f);
	CHECK(sb_sha256_file("abc.txt", hex) == 0);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	CHECK(sb_sha256_file("missing.txt", hex) < 0);
	sb_content_id(id1, "ab", "c", NULL);
	sb_content_id(id2, "a", "bc", NULL);
	CHECK(strlen(id1) == SB_ID_LEN && strcmp(id1, id2) != 0);
	sb_content_id(id2, "ab", "c", NULL);
	CHECK(strcmp(id1, id2) == 0);
}

static void test_atomic(void)
{
	struct stat st;
	size_t len;
	char *text;
	DIR *d;
	struct dirent *e;
	int entries = 0;

	CHECK(sb_mkdirs("a/b/c", 0700) == 0);
	CHECK(sb_mkdirs("a/b/c", 0700) == 0);
	CHECK(stat("a/b", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	CHECK(sb_write_atomic("a/b/c/f.json", "one\n", 4, 0600) == 0);
	CHECK(sb_write_atomic("a/b/c/f.json", "two\n", 4, 0640) == 0);
	text = sb_read_file("a/b/c/f.json", &len);
	CHECK(text && len == 4 && strcmp(text, "two\n") == 0);
	free(text);
	CHECK(stat("a/b/c/f.json", &st) == 0 && (st.st_mode & 0777) == (0640 & ~(unsigned)umask(022)));
	/* no temporary file is left behind */
	d = opendir("a/b/c");
	while ((e = readdir(d)))
		entries += e->d_name[0] != '.';
	closedir(d);
	CHECK(entries == 1);
	CHECK(sb_write_atomic("no/such/dir/f", "x", 1, 0600) < 0);
}

/* Many processes append concurrently; every line must arrive whole. */
static void test_append(void)
{
	enum { PROCS = 8, LINES = 200 };
	char line[600], got[2048];
	FILE *f;
	int count = 0, good = 1;

	for (int p = 0; p < PROCS; p++) {
		if (fork() == 0) {
			memset(line, 'a' + p, sizeof line);
			line[sizeof line - 1] = '\n';
			for (int i = 0; i < LINES; i++)
				if (sb_append_locked("journal.ndjson", line, sizeof line, 0) < 0)
					_exit(1);
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int st;
		wait(&st);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	f = fopen("journal.ndjson", "r");
	while (fgets(got, sizeof got, f)) {
		count++;
		for (size_t i = 1; i < sizeof line - 1; i++)
			good &= got[i] == got[0];
		good &= strlen(got) == sizeof line && got[sizeof line - 1] == '\n';
	}
	fclose(f);
	CHECK(count == PROCS * LINES);
	CHECK(good);
}

static jv entry(const char *action)
{
	return jv_object_set(jv_object(), jv_string("action"), jv_string(action));
}

static void test_audit(void)
{
	FILE *f;
	char *text, *second;
	size_t len;

	setenv("SB_ACTOR", "tester", 1);
	CHECK(sb_audit_append("audit.ndjson", entry("deploy")) == 0);
	CHECK(sb_audit_append("audit.ndjson", entry("monitor")) == 0);
	CHECK(sb_audit_append("audit.ndjson", entry("rollback")) == 0);
	CHECK(sb_audit_verify("audit.ndjson") == 0);
	text = sb_read_file("audit.ndjson", &len);
	CHECK(strstr(text, "\"prev\":\"" SB_AUDIT_GENESIS "\"") != NULL);
	CHECK(strstr(text, "\"actor\":\"tester\"") != NULL);
	/* Edit the second line: the third no longer chains to it. */
	second = strstr(text, "monitor");
	memcpy(second, "MONITOR", 7);
	f = fopen("audit.ndjson", "w");
	fwrite(text, 1, len, f);
	fclose(f);
	CHECK(sb_audit_verify("audit.ndjson") == 3);
	/* Drop the first line: the new first line does not start the chain. */
	f = fopen("audit.ndjson", "w");
	fputs(strchr(text, '\n') + 1, f);
	fclose(f);
	CHECK(sb_audit_verify("audit.ndjson") == 1);
	free(text);
	CHECK(sb_audit_verify("missing.ndjson") == -1);
}

static void test_strmap(void)
{
	sb_strmap *m = sb_strmap_new();
	char key[32];
	static int values[10000];

	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		sb_strmap_put(m, key, strlen(key), &values[i]);
	}
	CHECK(sb_strmap_count(m) == 10000);
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		CHECK(sb_strmap_get(m, key, strlen(key)) == &values[i]);
	}
	CHECK(sb_strmap_get(m, "absent", 6) == NULL);
	for (int i = 1; i < 10000; i += 2) {
		snprintf(key, sizeof key, "k%d", i);
		CHECK(sb_strmap_remove(m, key, strlen(key)) == &values[i]);
	}
	CHECK(sb_strmap_count(m) == 5000);
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		CHECK(sb_strmap_get(m, key, strlen(key)) == (i % 2 ? NULL : &values[i]));
	}
	CHECK(sb_strmap_remove(m, "absent", 6) == NULL);
	sb_strmap_put(m, "a\0b", 3, &values[0]);
	CHECK(sb_strmap_get(m, "a\0c", 3) == NULL);
	CHECK(sb_strmap_get(m, "a\0b", 3) == &values[0]);
	sb_strmap_free(m);
}

static void test_state(void)
{
	struct sb_common c = {0};
	struct stat st;
	char *p;

	c.state_dir = "state/sb";
	CHECK(strcmp(sb_state_dir(&c), "state/sb") == 0);
	CHECK(stat("state/sb", &st) == 0 && (st.st_mode & 0777) == 0700);
	p = sb_state_path(&c, "cursors/x.json");
	CHECK(strcmp(p, "state/sb/cursors/x.json") == 0);
	CHECK(stat("state/sb/cursors", &st) == 0 && (st.st_mode & 0777) == 0700);
	free(p);
}

static void test_config(void)
{
	jv cfg = jv_parse("{\"score\":{\"max\":3},\"components\":{\"a\":{\"shared\":true}}}");
	jv v = sb_config_get(cfg, "score.max");

	CHECK(jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) == 3);
	jv_free(v);
	v = sb_config_get(cfg, "score.max.deeper");
	CHECK(jv_get_kind(v) == JV_KIND_NULL);
	jv_free(v);
	v = sb_config_get(cfg, "nothing.here");
	CHECK(jv_get_kind(v) == JV_KIND_NULL);
	jv_free(v);
	jv_free(cfg);
}

static void test_dedup(void)
{
	sb_dedup *d = sb_dedup_new(300);

	CHECK(sb_dedup_check(d, "a", 0) == 0);
	CHECK(sb_dedup_check(d, "a", 100) == 1);
	CHECK(sb_dedup_check(d, "b", 200) == 0);
	CHECK(sb_dedup_check(d, "a", 299) == 1);
	CHECK(sb_dedup_check(d, "a", 300) == 0); /* the window has passed: a new sighting */
	CHECK(sb_dedup_check(d, "a", 310) == 1);
	CHECK(sb_dedup_count(d) == 2);           /* the first "a" was pruned */
	CHECK(sb_dedup_save(d, "seen") == 0);
	sb_dedup_free(d);
	d = sb_dedup_new(300);
	CHECK(sb_dedup_load(d, "seen") == 0);
	CHECK(sb_dedup_count(d) == 2);
	CHECK(sb_dedup_check(d, "b", 250) == 1);
	CHECK(sb_dedup_check(d, "a", 550) == 1);
	CHECK(sb_dedup_check(d, "b", 600) == 0); /* b (200) expired when time reached 600 */
	CHECK(sb_dedup_load(d, "missing") == 0);
	sb_dedup_free(d);
	/* thousands of keys over a long time stay bounded by one window */
	d = sb_dedup_new(10);
	for (int i = 0; i < 100000; i++) {
		char key[32];
		snprintf(key, sizeof key, "k%d", i);
		sb_dedup_check(d, key, i);
	}
	CHECK(sb_dedup_count(d) <= 11);
	sb_dedup_free(d);
}

static void test_breaker(void)
{
	struct sb_breaker b;

	sb_breaker_load(&b, "breaker.json", 3, 60);
	CHECK(sb_breaker_allow(&b, 1000));
	CHECK(sb_breaker_record(&b, 0, 1000) == 0);
	CHECK(sb_breaker_record(&b, 0, 1001) == 0);
	CHECK(sb_breaker_allow(&b, 1002));
	CHECK(sb_breaker_record(&b, 0, 1002) == 0); /* the third failure opens it */
	sb_breaker_free(&b);
	/* another run sees it open, until the cooldown has passed */
	sb_breaker_load(&b, "breaker.json", 3, 60);
	CHECK(!sb_breaker_allow(&b, 1003));
	CHECK(!sb_breaker_allow(&b, 1061));
	CHECK(sb_breaker_allow(&b, 1062));          /* half-open: one probe */
	CHECK(sb_breaker_record(&b, 0, 1062) == 0); /* a failed probe opens it again at once */
	sb_breaker_free(&b);
	sb_breaker_load(&b, "breaker.json", 3, 60);
	CHECK(!sb_breaker_allow(&b, 1100));
	CHECK(sb_breaker_allow(&b, 1123));
	CHECK(sb_breaker_record(&b, 1, 1123) == 0); /* a good probe closes it */
	sb_breaker_free(&b);
	sb_breaker_load(&b, "breaker.json", 3, 60);
	CHECK(b.failures == 0 && b.open_until == 0 && sb_breaker_allow(&b, 1124));
	sb_breaker_free(&b);
}

#define CLOSE(a, b, eps) (fabs((a) - (b)) <= (eps))

/* I_x(a, b) for whole a and b: the chance of at least a successes in a + b - 1 trials. */
static double beta_inc_binomial(int a, int b, double x)
{
	int n = a + b - 1;
	double sum = 0, choose = 1;

	for (int j = 0; j <= n; j++) {
		if (j >= a)
			sum += choose * pow(x, j) * pow(1 - x, n - j);
		choose = choose * (n - j) / (j + 1);
	}
	return sum;
}

static double t_density(double t, double df)
{
	return exp(lgamma((df + 1) / 2) - lgamma(df / 2) - (df + 1) / 2 * log1p(t * t / df)) / sqrt(df * M_PI);
}

/* P(T >= t) as 1/2 less Simpson's rule over the density from 0 to t (t > 0). */
static double t_sf_simpson(double t, double df)
{
	enum { STEPS = 2000 };
	double h = t / STEPS, sum = t_density(0, df) + t_density(t, df);

	for (int i = 1; i < STEPS; i++)
		sum += (i % 2 ? 4 : 2) * t_density(i * h, df);
	return 0.5 - sum * h / 3;
}

static void test_stats_tails(void)
{
	double xs[] = {0.05, 0.3, 0.4, 0.6, 0.95};

	CHECK(sb_normal_sf(0) == 0.5);
	CHECK(CLOSE(sb_normal_sf(1.959964), 0.025, 1e-7));
	CHECK(CLOSE(sb_normal_sf(-1.959964), 0.975, 1e-7));
	CHECK(CLOSE(sb_normal_sf(10) / 7.619853024160527e-24, 1, 1e-9)); /* no underflow to 0 in the far tail */
	/* whole a and b: a binomial tail, on both sides of the swap to I_{1-x}(b, a) */
	CHECK(CLOSE(sb_beta_inc(2, 3, 0.4), 0.5248, 1e-12));
	for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
		double x = xs[i];
		CHECK(CLOSE(sb_beta_inc(1, 1, x), x, 1e-14));
		CHECK(CLOSE(sb_beta_inc(2, 3, x), beta_inc_binomial(2, 3, x), 1e-13));
		CHECK(CLOSE(sb_beta_inc(7, 2, x), beta_inc_binomial(7, 2, x), 1e-13));
		CHECK(CLOSE(sb_beta_inc(30, 45, x), beta_inc_binomial(30, 45, x), 1e-12));
		CHECK(CLOSE(sb_beta_inc(0.5, 0.5, x), 2 / M_PI * asin(sqrt(x)), 1e-13)); /* arcsine law */
		CHECK(CLOSE(sb_beta_inc(2.5, 0.7, x) + sb_beta_inc(0.7, 2.5, 1 - x), 1, 1e-13));
	}
	CHECK(sb_beta_inc(2, 3, 0) == 0 && sb_beta_inc(2, 3, 1) == 1);
	CHECK(isnan(sb_beta_inc(0, 3, 0.5)) && isnan(sb_beta_inc(2, 3, 1.5)) && isnan(sb_beta_inc(2, 3, -0.1)));
	/* Student t: table values, closed forms for df 1 and 2, symmetry, the normal limit */
	CHECK(CLOSE(sb_t_sf(2.228, 10), 0.025, 1e-4));
	CHECK(CLOSE(sb_t_sf(2.042, 30), 0.025, 1e-4));
	CHECK(sb_t_sf(0, 3) == 0.5 && sb_t_sf(0, 1000) == 0.5);
	CHECK(CLOSE(sb_t_sf(1.7, 1), 0.5 - atan(1.7) / M_PI, 1e-14));
	CHECK(CLOSE(sb_t_sf(3, 2), 0.5 - 3 / (2 * sqrt(2 + 9.0)), 1e-14));
	CHECK(CLOSE(sb_t_sf(-1.3, 7) + sb_t_sf(1.3, 7), 1, 1e-14));
	CHECK(CLOSE(sb_t_sf(1.5, 1e7), sb_normal_sf(1.5), 1e-7));
	CHECK(sb_t_sf(1.5, INFINITY) == sb_normal_sf(1.5));
	CHECK(sb_t_sf(INFINITY, 5) == 0 && sb_t_sf(-INFINITY, 5) == 1 && isnan(sb_t_sf(1, 0)));
	CHECK(sb_t_sf(1e6, 4) > 0 && sb_t_sf(1e6, 4) < 1e-20);
	/* against the density integrated numerically */
	CHECK(CLOSE(sb_t_sf(0.7, 3), t_sf_simpson(0.7, 3), 1e-10));
	CHECK(CLOSE(sb_t_sf(2.5, 3), t_sf_simpson(2.5, 3), 1e-10));
	CHECK(CLOSE(sb_t_sf(2.5, 7.5), t_sf_simpson(2.5, 7.5), 1e-10));
	CHECK(CLOSE(sb_t_sf(4, 30), t_sf_simpson(4, 30), 1e-10));
	/* F: table values, F(1, d) = t^2, the closed form for d1 = 2 */
	CHECK(CLOSE(sb_f_sf(4.96, 1, 10), 0.05, 2e-4));
	CHECK(CLOSE(sb_f_sf(3.10, 3, 20), 0.05, 2e-4));
	CHECK(CLOSE(sb_f_sf(2.1 * 2.1, 1, 12), 2 * sb_t_sf(2.1, 12), 1e-14));
	CHECK(CLOSE(sb_f_sf(1.8, 2, 9), pow(1 + 2 * 1.8 / 9, -4.5), 1e-14));
	CHECK(sb_f_sf(0, 3, 4) == 1 && sb_f_sf(INFINITY, 3, 4) == 0 && isnan(sb_f_sf(1, 3, -1)));
}

/*
 * For every way to split the values 1..nx+ny into nx x's and ny y's: U
 * counted pair by pair, and P(U >= u) counted over all the splits, must
 * agree with the exact test.
 */
static void check_mann_whitney_exact(size_t nx, size_t ny)
{
	size_t n = nx + ny, umax = nx * ny;
	double count[64] = {0}, total = 0, x[16], y[16];
	int bad = 0;

	/* Bit k of mask set: the k-th smallest value is an x. */
	for (unsigned mask = 0; mask < 1u << n; mask++) {
		size_t ix = 0, u = 0;
		for (size_t k = 0; k < n; k++) {
			if (mask >> k & 1)
				ix++;
			else
				u += ix; /* this y lies above every x so far */
		}
		if (ix != nx)
			continue;
		count[u]++;
		total++;
	}
	for (unsigned mask = 0; mask < 1u << n; mask++) {
		size_t ix = 0, iy = 0, u = 0;
		double tail = 0;
		struct sb_mann_whitney m;

		for (size_t k = 0; k < n; k++) {
			if (mask >> k & 1)
				x[ix++] = (double)k;
			else
				y[iy++] = (double)k;
		}
		if (ix != nx)
			continue;
		for (size_t i = 0; i < nx; i++)
			for (size_t j = 0; j < ny; j++)
				u += y[j] > x[i];
		for (size_t v = u; v <= umax; v++)
			tail += count[v];
		m = sb_mann_whitney_greater(x, nx, y, ny);
		bad += !(m.exact && m.u == (double)u && m.z == 0 && CLOSE(m.p, tail / total, 1e-14));
	}
	if (bad)
		fprintf(stderr, "Mann-Whitney %zu x %zu: %d splits disagree\n", nx, ny, bad);
	CHECK(!bad);
}

static void test_stats_mann_whitney(void)
{
	double a[] = {1, 2, 2, 3}, b[] = {2, 3, 3, 4}, same[] = {5, 5, 5};
	double lo[30], hi[30], big_x[25], big_y[25];
	struct sb_mann_whitney m;

	check_mann_whitney_exact(1, 1);
	check_mann_whitney_exact(1, 6);
	check_mann_whitney_exact(3, 4);
	check_mann_whitney_exact(5, 6);
	check_mann_whitney_exact(4, 9);
	/*
	 * Ties, so the normal approximation: pooled 1 2 2 2 3 3 3 4 has ranks
	 * 1, 3 3 3, 6 6 6, 8; b's sum 3+6+6+8 = 23, U = 23 - 10 = 13. Mean 8;
	 * two triples of ties: variance 16/12 (9 - 2 (27 - 3) / (8 * 7)) = 76/7;
	 * z = (13 - 8 - 0.5) / sqrt(76/7) = 1.36570, P(Z >= z) = 0.08601.
	 */
	m = sb_mann_whitney_greater(a, 4, b, 4);
	CHECK(!m.exact && m.u == 13 && CLOSE(m.z, 4.5 / sqrt(76.0 / 7), 1e-12) && CLOSE(m.p, 0.08601, 1e-5));
	m = sb_mann_whitney_greater(b, 4, a, 4);
	CHECK(!m.exact && m.u == 3 && CLOSE(m.z, -5.5 / sqrt(76.0 / 7), 1e-12) && m.p > 0.9);
	/* 30 against 30, y all above: beyond the exact sizes, so the normal score */
	for (int i = 0; i < 30; i++) {
		lo[i] = i;
		hi[i] = 100 + i;
	}
	m = sb_mann_whitney_greater(lo, 30, hi, 30);
	CHECK(!m.exact && m.u == 900 && m.p < 1e-9);
	m = sb_mann_whitney_greater(hi, 30, lo, 30);
	CHECK(!m.exact && m.u == 0 && m.p > 1 - 1e-9);
	/* 25 against 25, interleaved with y slightly ahead: the exact and normal answers are close */
	for (int i = 0; i < 25; i++) {
		big_x[i] = i;
		big_y[i] = i + (i % 3 ? 0.5 : 3.5);
	}
	m = sb_mann_whitney_greater(big_x, 25, big_y, 25);
	CHECK(m.exact && m.p > 0.05 && m.p < 0.5);
	CHECK(CLOSE(m.p, sb_normal_sf((m.u - 312.5 - 0.5) / sqrt(625.0 * 51 / 12)), 0.005));
	/* nothing to compare */
	m = sb_mann_whitney_greater(a, 0, b, 4);
	CHECK(m.u == 0 && m.p == 1);
	m = sb_mann_whitney_greater(a, 4, b, 0);
	CHECK(m.u == 0 && m.p == 1);
	m = sb_mann_whitney_greater(same, 3, same, 2);
	CHECK(!m.exact && m.u == 3 && m.z == 0 && m.p == 1);
}

/* One-way ANOVA F of |v - median| over two groups, written out the long way. */
static double levene_f(const double *x, size_t nx, const double *y, size_t ny)
{
	double dx[64], dy[64], scratch[64], med, mad, mx = 0, my = 0, grand, between, within = 0;

	sb_median_mad(x, nx, scratch, &med, &mad);
	for (size_t i = 0; i < nx; i++)
		mx += dx[i] = fabs(x[i] - med);
	sb_median_mad(y, ny, scratch, &med, &mad);
	for (size_t i = 0; i < ny; i++)
		my += dy[i] = fabs(y[i] - med);
	grand = (mx + my) / (double)(nx + ny);
	mx /= (double)nx;
	my /= (double)ny;
	between = (double)nx * (mx - grand) * (mx - grand) + (double)ny * (my - grand) * (my - grand);
	for (size_t i = 0; i < nx; i++)
		within += (dx[i] - mx) * (dx[i] - mx);
	for (size_t i = 0; i < ny; i++)
		within += (dy[i] - my) * (dy[i] - my);
	return between / (within / (double)(nx + ny - 2));
}

static void test_stats_spread(void)
{
	double base[20], shifted[20], wide[20], x2[] = {1, 3}, y2[] = {0, 4}, flat[] = {7, 7, 7};
	double a[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}, b[] = {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9};
	struct sb_spread_test s;

	/* a fixed, irregular sample; the same spread moved and reordered; five times the spread */
	for (int i = 0; i < 20; i++) {
		base[i] = (double)((i * 7) % 20) + (i % 4) * 0.25;
		shifted[19 - i] = base[i] + 100;
		wide[i] = 5 * base[i] + 3;
	}
	s = sb_brown_forsythe_greater(base, 20, shifted, 20);
	CHECK(CLOSE(s.f, 0, 1e-12) && CLOSE(s.p, 0.5, 1e-9));
	s = sb_brown_forsythe_greater(base, 20, wide, 20);
	CHECK(s.f > 20 && s.p < 1e-4);
	s = sb_brown_forsythe_greater(wide, 20, base, 20);
	CHECK(s.f > 20 && s.p > 1 - 1e-4);
	/* F agrees with ANOVA on the deviations; the two one-sided p-values make F's tail */
	s = sb_brown_forsythe_greater(a, 11, b, 13);
	CHECK(CLOSE(s.f, levene_f(a, 11, b, 13), 1e-10));
	CHECK(CLOSE(2 * fmin(s.p, 1 - s.p), sb_f_sf(s.f, 1, 22), 1e-12));
	CHECK(s.p < 0.5); /* b strays further from its median than a does */
	/* too small, no spread at all, and constant deviations that differ */
	s = sb_brown_forsythe_greater(a, 1, b, 13);
	CHECK(s.f == 0 && s.p == 1);
	s = sb_brown_forsythe_greater(flat, 3, flat, 2);
	CHECK(s.f == 0 && s.p == 1);
	s = sb_brown_forsythe_greater(x2, 2, y2, 2);
	CHECK(isinf(s.f) && s.p == 0);
	s = sb_brown_forsythe_greater(y2, 2, x2, 2);
	CHECK(isinf(s.f) && s.p == 1);
}

static void test_stats(void)
{
	double x[] = {2, 4, 4, 4, 5, 5, 7, 9}, scratch[8], mean, sd, med, mad;
	double big[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
	double t[] = {0, 1, 2, 3, 4}, y[] = {1, 3, 5, 7, 9}, ynoisy[] = {1, 3.5, 4.5, 7.5, 8.5};
	double q[] = {5, 1, 4, 2, 3};
	double nine[] = {9, 8, 7, 6, 5, 4, 3, 2, 1}, scratch9[9];
	struct sb_fit f;

	sb_mean_sd(x, 8, &mean, &sd);
	CHECK(mean == 5 && CLOSE(sd, 2.138089935, 1e-8));
	sb_mean_sd(big, 3, &mean, &sd); /* no cancellation for large close values */
	CHECK(mean == 1e9 + 2 && CLOSE(sd, 1, 1e-9));
	sb_mean_sd(x, 1, &mean, &sd);
	CHECK(mean == 2 && sd == 0);
	sb_median_mad(x, 8, scratch, &med, &mad);
	CHECK(med == 4.5 && mad == 0.5); /* deviations 2.5 .5 .5 .5 .5 .5 2.5 4.5 */
	CHECK(x[0] == 2 && x[7] == 9);          /* input untouched */
	sb_median_mad(q, 5, scratch, &med, &mad);
	CHECK(med == 3 && mad == 1);
	CHECK(sb_quantile_sorted_inplace(q, 5, 0.95) == 4.8 && sb_quantile_sorted_inplace(q, 5, 0) == 1);
	CHECK(sb_iqr(nine, 9, scratch9) == 4 && nine[0] == 9 && nine[8] == 1); /* 7 - 3; input untouched */
	CHECK(sb_iqr(x, 8, scratch) == 1.5);                                   /* 5 + .25 (7 - 5), less 4 */
	CHECK(sb_iqr(nine, 1, scratch9) == 0 && isnan(sb_iqr(nine, 0, scratch9)));
	/* Student t thresholds: 4 sigma widened for small samples, unchanged for large ones. */
	CHECK(CLOSE(sb_t_threshold(1.959964, 10), 2.228, 0.005));
	CHECK(CLOSE(sb_t_threshold(1.959964, 30), 2.042, 0.002));
	CHECK(sb_t_threshold(4, 59) > 4.25 && sb_t_threshold(4, 59) < 4.35);
	CHECK(CLOSE(sb_t_threshold(4, 1e9), 4, 1e-6));
	f = sb_linear_fit(t, y, 5);
	CHECK(f.ok && CLOSE(f.slope, 2, 1e-12) && CLOSE(f.intercept, 1, 1e-12) && f.slope_se < 1e-9);
	f = sb_linear_fit(t, ynoisy, 5);
	CHECK(f.ok && CLOSE(f.slope, 1.9, 1e-12) && f.slope_se > 0.1 && f.slope_se < 0.3);
	CHECK(!sb_linear_fit(t, y, 2).ok);
	double same[] = {3, 3, 3};
	CHECK(!sb_linear_fit(same, y, 3).ok);
	test_stats_tails();
	test_stats_mann_whitney();
	test_stats_spread();
}

static void test_flatjson(void)
{
	static const char *const bad[] = {
		"", "[]", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}",
		"{\"a\":tru}", "{\"a\":\"x}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":1} x",
		"{\"a\":[1,]}", "{\"a\":{\"b\"}}", "{\"a\":\"tab\there\"}", "{a:1}",
	};
	struct sb_flat f;
	const char *ok = " {\"type\":\"metric\", \"v\" : -1.5e3, \"s\":\"a\\\"b\", \"o\":{\"k\":[1,{\"x\":null}]},"
			 "\"t\":true,\"n\":null,\"u\":\"caf\u00e9\",\"v\":2} ";
	char buf[16];
	double x;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!sb_flat_scan(bad[i], strlen(bad[i]), &f));
	CHECK(sb_flat_scan(ok, strlen(ok), &f) && f.n == 8);
	CHECK(sb_flat_string(sb_flat_get(&f, "type"), buf, sizeof buf) && strcmp(buf, "metric") == 0);
	CHECK(sb_flat_number(sb_flat_get(&f, "v"), &x) && x == 2); /* the last of duplicates, as libjq */
	CHECK(!sb_flat_string(sb_flat_get(&f, "s"), buf, sizeof buf)); /* escaped: left to libjq */
	CHECK(!sb_flat_string(sb_flat_get(&f, "u"), buf, sizeof buf));
	CHECK(sb_flat_get(&f, "o")->kind == 'o' && sb_flat_get(&f, "o")->vallen == 20);
	CHECK(sb_flat_get(&f, "t")->kind == 't' && sb_flat_get(&f, "n")->kind == 'z' && !sb_flat_get(&f, "zz"));
	CHECK(!sb_flat_string(sb_flat_get(&f, "type"), buf, 6)); /* does not fit */
	CHECK(sb_flat_scan("{}", 2, &f) && f.n == 0);
	CHECK(!sb_flat_number(&(struct sb_json_member){.kind = 'n', .val = "1e999", .vallen = 5}, &x));
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{"time", test_time}, {"duration", test_duration}, {"hash", test_hash}, {"atomic", test_atomic},
	{"append", test_append}, {"audit", test_audit}, {"strmap", test_strmap}, {"state", test_state},
	{"config", test_config}, {"dedup", test_dedup}, {"breaker", test_breaker}, {"stats", test_stats},
	{"flatjson", test_flatjson},
};

int main(int argc, char **argv)
{
	sb_progname = "sb-unit-tests";
	if (argc != 2) {
		fprintf(stderr, "usage: sb-unit-tests NAME\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		if (strcmp(argv[1], tests[i].name) == 0) {
			tests[i].fn();
			return failures ? 1 : 0;
		}
	}
	fprintf(stderr, "sb-unit-tests: no test '%s'\n", argv[1]);
	return 2;
}
