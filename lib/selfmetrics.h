/* selfmetrics.h - the tools' own counters in metrics/sb.prom (node_exporter's textfile collector) */
#ifndef SB_SELFMETRICS_H
#define SB_SELFMETRICS_H

#include "opts.h"

/* Add value to counter name{labels} in this run (labels: `key="value",...` or NULL); help describes the metric. */
void sb_selfmetric_add(const char *name, const char *labels, double value, const char *help);

/*
 * Merge this run's counters into STATE/metrics/sb.prom: under an exclusive
 * flock on metrics/sb.prom.lock, read the file, add, write atomically
 * (sb_write_atomic, mode 0644 so node_exporter can read it). 0, or -1 with
 * a message (never fatal for the tool: a tool that cannot write its
 * metrics still did its work). What was flushed is forgotten, so a second
 * call adds nothing new; what could not be written is tried again by the
 * next call. sb_filter_end calls it; tools that end elsewhere call it too.
 */
int sb_selfmetrics_flush(const struct sb_common *c);

/*
 * This run writes no metrics (--dry-run): what was added is dropped, and
 * later adds and flushes do nothing.
 */
void sb_selfmetrics_disable(void);

#endif
