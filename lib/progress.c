/* progress.c - a self-overwriting status line on stderr for long runs */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_DELAY 2.0    /* seconds before the line first appears */
#define PROGRESS_PERIOD 0.25  /* seconds between redraws */

static struct {
	int enabled, drawn;
	double start, last;
} progress;

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void sb_progress_start(int enabled)
{
	progress.enabled = enabled && isatty(STDERR_FILENO);
	progress.start = monotonic();
	progress.last = 0;
	progress.drawn = 0;
}

void sb_progress_update(long in, long out)
{
	double now, elapsed;

	if (!progress.enabled)
		return;
	now = monotonic();
	elapsed = now - progress.start;
	if (elapsed < PROGRESS_DELAY || now - progress.last < PROGRESS_PERIOD)
		return;
	progress.last = now;
	progress.drawn = 1;
	fprintf(stderr, "\r\033[K%ld in, %ld out, %.0f records/s, %.0fs", in, out, in / elapsed, elapsed);
	fflush(stderr);
}

void sb_progress_done(void)
{
	if (progress.drawn)
		fputs("\r\033[K", stderr);
	progress.drawn = 0;
}
