/* cloudwatch.h - CloudWatch metrics, Logs and alarms as sb records */
#ifndef SB_CLOUDWATCH_H
#define SB_CLOUDWATCH_H

#include <jv.h>

#include "aws.h"

/* Receives each record; takes ownership of rec. */
typedef void (*sb_cw_emit)(void *ctx, jv rec);

struct sb_cw_metrics {
	const char *namespace;
	const char *const *metrics; /* NULL-terminated; none: ListMetrics finds them */
	const char *const *dimensions; /* "K=V", NULL-terminated */
	const char *stat;           /* Average, Sum, p95, ... */
	double period, start, end;
};

/*
 * GetMetricData (AWS JSON 1.0) for every metric, 500 queries a request,
 * following NextToken: one metric record per datapoint. 0, or -1 after a
 * message.
 */
int sb_cw_get_metrics(struct sb_aws *a, const struct sb_cw_metrics *q, sb_cw_emit emit, void *ctx);

struct sb_cw_logs {
	const char *group, *group_prefix, *filter, *insights;
	double start, end;
	double poll;     /* seconds between GetQueryResults calls */
	jv cursor;       /* in/out: {"ts": epoch ms, "ids": [event ids at ts]} or null */
};

/*
 * FilterLogEvents (AWS JSON 1.1) following nextToken to its end, for the
 * group or each group of the prefix (DescribeLogGroups): one log record per
 * event. A JSON message is parsed into fields, its level and tenant read
 * from them; else the level is guessed from the words of the text. With
 * insights, a Logs Insights query (StartQuery, then GetQueryResults until
 * complete) instead. The cursor skips events already read at its time.
 */
int sb_cw_get_logs(struct sb_aws *a, struct sb_cw_logs *q, sb_cw_emit emit, void *ctx);

struct sb_cw_alarms {
	const char *prefix, *state;
	jv cursor;       /* in/out for the history: {"ts": epoch seconds, "ids": [...]} or null */
	double now;
};

/* DescribeAlarms: one event per alarm with its current state. */
int sb_cw_get_alarms(struct sb_aws *a, struct sb_cw_alarms *q, sb_cw_emit emit, void *ctx);

/*
 * DescribeAlarmHistory: state updates since the cursor (the last hour
 * without one) as transition events with state and previous; the cursor
 * moves to the newest, and items at its time already read are skipped.
 */
int sb_cw_get_alarms_history(struct sb_aws *a, struct sb_cw_alarms *q, sb_cw_emit emit, void *ctx);

#endif
