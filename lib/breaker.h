/* breaker.h - a circuit breaker shared by every run (breakers/NAME.json) */
#ifndef SB_BREAKER_H
#define SB_BREAKER_H

/*
 * closed: requests flow. After `limit` consecutive failed runs it opens
 * for `cooldown` seconds, during which no request is sent. Then one probe
 * run is let through (half-open): success closes it, failure opens it
 * again. The state is a small JSON file written atomically, so cron runs
 * share it.
 */
struct sb_breaker {
	char *path;
	int limit;
	double cooldown;
	int failures;
	double open_until; /* 0 when closed */
	int probing;       /* this run is the half-open probe */
};

/* Read the breaker at path (a missing file is a closed breaker); exits 5 on a corrupt one. */
void sb_breaker_load(struct sb_breaker *b, const char *path, int limit, double cooldown);

/* May this run send requests? 0 while open; a probe is allowed once the cooldown has passed. */
int sb_breaker_allow(struct sb_breaker *b, double now);

/* Record the run's outcome and save the state; -1 and errno when it cannot be written. */
int sb_breaker_record(struct sb_breaker *b, int ok, double now);

void sb_breaker_free(struct sb_breaker *b);

#endif
