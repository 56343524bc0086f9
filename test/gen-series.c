/*
 * gen-series.c - synthetic metric series whose answer is known, for the
 * sb-analyze tests.
 *
 *   gen-series noise|step|spike|drift [--points N] [--seed S] [--mean M]
 *       [--sd S] [--at I] [--size X] [--metric NAME] [--component C]
 *       [--series K] [--start RFC3339] [--step-seconds N] [--unit U]
 *
 * Prints one metric record a line: Gaussian noise around the mean (sd),
 * plus for "step" size added from point I on, for "spike" size added at
 * point I only, for "drift" a ramp from point I that reaches size at the
 * last point. Defaults: 1000 points, seed 1, mean 100, sd 5, I the middle
 * point, size 10 sd, latency_ms of checkout in ms ("--unit ''" leaves the
 * unit out), one point a minute from 2026-11-24T00:00:00Z. With --series K
 * there are K series, dims {"host":"h1"} to {"host":"hK"}, interleaved in
 * time order, all of the same shape; without it, no dims.
 *
 * The output is the same on every machine: the generator is our own
 * (xorshift64*, seeded through splitmix64), values are printed to 6
 * significant digits, and no multiply-add is fused into one rounding (GCC
 * does not in -std=c11; clang is told below).
 * Build: cc -std=c11 -o gen-series gen-series.c -lm
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getopt_long, timegm, M_PI */
#endif
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct opts {
	const char *kind, *metric, *component, *unit;
	long points, at, series, step;
	double mean, sd, size;
	int have_at, have_size, have_series;
	uint64_t seed;
	time_t start;
};

static uint64_t rng_state;

static void usage(void)
{
	fputs("usage: gen-series noise|step|spike|drift [--points N] [--seed S] [--mean M] [--sd S]\n"
	      "       [--at I] [--size X] [--metric NAME] [--component C] [--series K]\n"
	      "       [--start RFC3339] [--step-seconds N] [--unit U]\n", stderr);
	exit(2);
}

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "gen-series: bad %s '%s'\n", what, arg);
	exit(2);
}

static double number(const char *what, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v))
		die(what, s);
	return v;
}

static long count(const char *what, const char *s, long min)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < min)
		die(what, s);
	return v;
}

/* splitmix64 spreads any seed, 0 included, over the whole state. */
static void rng_seed(uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15u;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	rng_state = (z ^ (z >> 31)) | 1;
}

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

/* Uniform in (0, 1]: never 0, which Box-Muller takes the log of. */
static double rng_uniform(void)
{
	return (double)((rng_next() >> 11) + 1) * 0x1.0p-53;
}

static double rng_gauss(void)
{
	double u1 = rng_uniform(), u2 = rng_uniform();

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* The known answer: what the kind adds to the noise at point i. */
static double shape(const struct opts *o, long i)
{
	if (i < o->at)
		return 0;
	if (strcmp(o->kind, "step") == 0)
		return o->size;
	if (strcmp(o->kind, "spike") == 0)
		return i == o->at ? o->size : 0;
	if (strcmp(o->kind, "drift") == 0)
		return o->size * (double)(i - o->at + 1) / (double)(o->points - o->at);
	return 0;
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_record(const struct opts *o, long i, long k, double value)
{
	char ts[32];
	time_t t = o->start + (time_t)(i * o->step);
	struct tm tm;

	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	printf("{\"type\":\"metric\",\"ts\":\"%s\",\"component\":", ts);
	print_json_string(o->component);
	fputs(",\"metric\":", stdout);
	print_json_string(o->metric);
	printf(",\"value\":%.6g", value);
	if (*o->unit) {
		fputs(",\"unit\":", stdout);
		print_json_string(o->unit);
	}
	if (o->have_series)
		printf(",\"dims\":{\"host\":\"h%ld\"}", k + 1);
	fputs("}\n", stdout);
}

static time_t parse_start(const char *s)
{
	struct tm tm = {0};
	int end = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &end) != 6 || s[end] != '\0')
		die("start (want YYYY-MM-DDTHH:MM:SSZ)", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"points", 1, 0, 'n'}, {"seed", 1, 0, 'r'}, {"mean", 1, 0, 'm'},
		{"sd", 1, 0, 'd'}, {"at", 1, 0, 'a'}, {"size", 1, 0, 'x'},
		{"metric", 1, 0, 'M'}, {"component", 1, 0, 'C'}, {"series", 1, 0, 'k'},
		{"start", 1, 0, 's'}, {"step-seconds", 1, 0, 'p'}, {"unit", 1, 0, 'u'},
		{0, 0, 0, 0},
	};
	int c;

	*o = (struct opts){.metric = "latency_ms", .component = "checkout", .unit = "ms",
	                   .points = 1000, .series = 1, .step = 60, .mean = 100, .sd = 5, .seed = 1,
	                   .start = parse_start("2026-11-24T00:00:00Z")};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->points = count("points", optarg, 1); break;
		case 'r': o->seed = (uint64_t)count("seed", optarg, 0); break;
		case 'm': o->mean = number("mean", optarg); break;
		case 'd': o->sd = number("sd", optarg); break;
		case 'a': o->at = count("at", optarg, 0), o->have_at = 1; break;
		case 'x': o->size = number("size", optarg), o->have_size = 1; break;
		case 'M': o->metric = optarg; break;
		case 'C': o->component = optarg; break;
		case 'k': o->series = count("series", optarg, 1), o->have_series = 1; break;
		case 's': o->start = parse_start(optarg); break;
		case 'p': o->step = count("step-seconds", optarg, 1); break;
		case 'u': o->unit = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	o->kind = argv[optind];
	if (strcmp(o->kind, "noise") && strcmp(o->kind, "step") && strcmp(o->kind, "spike") &&
	    strcmp(o->kind, "drift"))
		die("kind", o->kind);
	if (!o->have_at)
		o->at = o->points / 2;
	if (o->at >= o->points) {
		fprintf(stderr, "gen-series: --at %ld is past the last point\n", o->at);
		exit(2);
	}
	if (!o->have_size)
		o->size = 10 * o->sd;
}

int main(int argc, char **argv)
{
	struct opts o;
	long i, k;

	parse(argc, argv, &o);
	rng_seed(o.seed);
	for (i = 0; i < o.points; i++)
		for (k = 0; k < o.series; k++)
			print_record(&o, i, k, o.mean + o.sd * rng_gauss() + shape(&o, i));
	if (fflush(stdout) || ferror(stdout)) {
		perror("gen-series: stdout");
		return 5;
	}
	return 0;
}
