/* timefmt.c - RFC 3339 and epoch times, durations */
#include "timefmt.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Read exactly n digits from *p into *out. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static int parse_epoch(const char *text, double *epoch)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)text[0]) && !(text[0] == '-' && isdigit((unsigned char)text[1])))
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*epoch = v;
	return 0;
}

static int parse_offset(const char *p, int *offset)
{
	int sign, hh, mm;

	if (*p == 'Z' || *p == 'z') {
		*offset = 0;
		return p[1] ? -1 : 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, &hh) || *p++ != ':' || digits(&p, 2, &mm) || *p || hh > 23 || mm > 59)
		return -1;
	*offset = sign * (hh * 3600 + mm * 60);
	return 0;
}

int sb_time_parse(const char *text, double *epoch)
{
	const char *p = text;
	struct tm tm = {0};
	int y, mo, d, h, mi, s, offset;
	double frac = 0;

	if (!text)
		return -1;
	if (strlen(text) < 20)
		return parse_epoch(text, epoch);
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return parse_epoch(text, epoch);
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &s))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60)
		return -1;
	if (*p == '.') {
		double scale = 0.1;
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (parse_offset(p, &offset))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s; /* a leap second 60 becomes the next minute's 00 */
	*epoch = (double)timegm(&tm) - offset + frac;
	return 0;
}

char *sb_time_format(double epoch, char buf[SB_TIME_BUFSZ])
{
	double whole = floor(epoch);
	long usec = lround((epoch - whole) * 1e6);
	time_t t;
	struct tm tm;
	size_t n;

	if (usec >= 1000000) {
		whole += 1;
		usec -= 1000000;
	}
	t = (time_t)whole;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, SB_TIME_BUFSZ, "1970-01-01T00:00:00Z");
		return buf;
	}
	n = strftime(buf, SB_TIME_BUFSZ, "%Y-%m-%dT%H:%M:%S", &tm);
	if (usec) {
		int w = snprintf(buf + n, SB_TIME_BUFSZ - n, ".%06ld", usec);
		n += (size_t)w;
		while (buf[n - 1] == '0')
			n--;
	}
	snprintf(buf + n, SB_TIME_BUFSZ - n, "Z");
	return buf;
}

int sb_time_parse_relative(const char *text, double now, double *epoch)
{
	double ago;

	if (strcmp(text, "now") == 0) {
		*epoch = now;
		return 0;
	}
	if (sb_time_parse(text, epoch) == 0 && strpbrk(text, "smhdw") == NULL)
		return 0;
	if (sb_duration_parse(text, &ago) == 0) {
		*epoch = now - ago;
		return 0;
	}
	return -1;
}

double sb_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double sb_clock(void)
{
	static double pinned = -1;
	const char *env = getenv("SB_NOW");

	if (!env || !*env)
		return sb_time_now();
	if (pinned < 0 && sb_time_parse(env, &pinned) < 0) {
		sb_die(SB_EXIT_USAGE, "SB_NOW: not an RFC 3339 time or epoch seconds: %s", env);
	}
	return pinned;
}

static double unit_seconds(const char **p)
{
	static const struct { const char *name; double seconds; } units[] = {
		{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800},
	};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t n = strlen(units[i].name);
		if (strncmp(*p, units[i].name, n) == 0 && !isalpha((unsigned char)(*p)[n])) {
			*p += n;
			return units[i].seconds;
		}
	}
	return -1;
}

/* One number (digits and an optional fraction, no sign or exponent). */
static int duration_number(const char **p, double *v)
{
	const char *q = *p;
	char *end;

	while (isdigit((unsigned char)*q) || *q == '.')
		q++;
	if (q == *p)
		return -1;
	errno = 0;
	*v = strtod(*p, &end);
	if (errno || end != q || !isfinite(*v))
		return -1;
	*p = q;
	return 0;
}

int sb_duration_parse(const char *text, double *seconds)
{
	const char *p = text;
	double total = 0, v, unit;

	if (!text || duration_number(&p, &v))
		return -1;
	if (!*p) { /* a bare number means seconds */
		*seconds = v;
		return 0;
	}
	for (;;) {
		if ((unit = unit_seconds(&p)) < 0)
			return -1;
		total += v * unit;
		if (!*p)
			break;
		if (duration_number(&p, &v))
			return -1;
	}
	*seconds = total;
	return 0;
}

char *sb_duration_format(double seconds, char *buf, size_t size)
{
	static const struct { char unit; long seconds; } parts[] = {
		{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1},
	};
	long rest = lround(seconds);
	size_t n = 0;

	buf[0] = '\0';
	if (rest <= 0) {
		snprintf(buf, size, "0s");
		return buf;
	}
	for (size_t i = 0; i < sizeof parts / sizeof parts[0] && n < size; i++) {
		long q = rest / parts[i].seconds;
		if (q) {
			int w = snprintf(buf + n, size - n, "%ld%c", q, parts[i].unit);
			if (w < 0)
				break;
			n += (size_t)w;
			rest %= parts[i].seconds;
		}
	}
	return buf;
}
