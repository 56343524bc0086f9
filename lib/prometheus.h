/* prometheus.h - range queries against the Prometheus HTTP API */
#ifndef SB_PROMETHEUS_H
#define SB_PROMETHEUS_H

#include <jv.h>

struct sb_prom_query {
	const char *url;          /* base URL, e.g. http://127.0.0.1:9090 (trailing slashes are fine) */
	const char *query;        /* PromQL */
	const char *name;         /* metric name when set, else the series' __name__, else the query text */
	const char *tenant_label; /* label whose value becomes "tenant", or NULL */
	const char *bearer;       /* bearer token, or NULL */
	double start, end, step;  /* epoch seconds, seconds */
	double timeout;           /* seconds for the whole request; 0 or less means none */
};

/* Receives each record; takes ownership of rec. */
typedef void (*sb_emit_fn)(void *ctx, jv rec);

/*
 * GET {url}/api/v1/query_range and pass one metric record per sample to
 * emit, in the order of the answer (series, then time):
 *
 *   {"type":"metric","ts":RFC 3339,"tenant":T,"metric":NAME,"value":N,
 *    "dims":{labels but __name__ and the tenant label},"source":"prometheus"}
 *
 * "tenant" is there only when the series has the tenant label. Samples
 * whose value is NaN, +Inf or -Inf are not emitted; their number is added
 * to *skipped (when not NULL), so one counter serves several queries. The
 * answer is checked whole before the first record is emitted, so a failure
 * emits nothing. Returns 0, or SB_EXIT_REMOTE after a message naming the URL
 * (without credentials): no answer (connection refused, timeout), an HTTP
 * error status (with Prometheus' error text when the answer has one), a
 * {"status":"error"} answer, or one that is not JSON or not of the
 * documented shape. Warnings in a successful answer are printed.
 */
int sb_prom_query_range(const struct sb_prom_query *q, sb_emit_fn emit, void *ctx, long *skipped);

#endif
