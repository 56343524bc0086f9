/* timefmt.h - RFC 3339 and epoch times, durations */
#ifndef SB_TIMEFMT_H
#define SB_TIMEFMT_H

#include <stddef.h>

/*
 * Parse an RFC 3339 time ("2026-11-24T02:00:00Z", fractional seconds and
 * numeric offsets allowed, 't', 'z' and a space separator accepted) or a
 * decimal epoch in seconds ("1764043200", "1764043200.5"). Returns 0 and
 * stores seconds since the epoch, or -1 when text is neither.
 */
int sb_time_parse(const char *text, double *epoch);

/*
 * Format epoch seconds as RFC 3339 UTC with a 'Z'; fractional seconds are
 * written (up to microseconds, trailing zeros dropped) only when present.
 * buf needs SB_TIME_BUFSZ bytes. Returns buf.
 */
#define SB_TIME_BUFSZ 40
char *sb_time_format(double epoch, char buf[SB_TIME_BUFSZ]);

/*
 * A point in time as options take it: RFC 3339, epoch seconds, "now", or a
 * duration meaning that long before now ("1h": an hour ago). 0 or -1.
 */
int sb_time_parse_relative(const char *text, double now, double *epoch);

/* Current time in epoch seconds (CLOCK_REALTIME). */
double sb_time_now(void);

/*
 * The time a tool acts at: $SB_NOW when set (RFC 3339 or epoch seconds,
 * for tests and dry runs; a malformed value exits 2), else now.
 */
double sb_clock(void);

/*
 * Parse a duration: a sequence of number-unit pairs ("90s", "5m", "1h30m",
 * "7d", "250ms", "2w") or a bare number of seconds. Returns 0 and stores
 * seconds, or -1 on a malformed or negative duration.
 */
int sb_duration_parse(const char *text, double *seconds);

/* Format seconds as the shortest exact duration ("90s" -> "1m30s"). */
char *sb_duration_format(double seconds, char *buf, size_t size);

#endif
