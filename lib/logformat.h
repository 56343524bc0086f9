/* logformat.h - text log lines (syslog, combined, Alertmanager) and structured log lines as records */
#ifndef SB_LOGFORMAT_H
#define SB_LOGFORMAT_H

#include <jv.h>
#include <stddef.h>

/*
 * Normalise a level name to DEBUG, INFO, WARN, ERROR or FATAL, ignoring
 * case, with the aliases of syslog and the common loggers (TRACE->DEBUG,
 * NOTICE, INFORMATION, INFORMATIONAL->INFO, WARNING->WARN, ERR->ERROR,
 * CRIT, CRITICAL, ALERT, EMERG, EMERGENCY, PANIC->FATAL). Returns a static
 * string, or NULL when the name is unknown.
 */
const char *sb_log_level(const char *name);

/*
 * Parse one line (NUL-terminated, len bytes, without its line ending; a
 * trailing CR is ignored) in format "syslog" (RFC 3164 or RFC 5424),
 * "combined" (nginx and Apache access logs, common log format too) or
 * "alertmanager" (one webhook payload a line). Returns an array of records:
 * one log record for syslog and combined, one event record per alert for
 * alertmanager. A line that cannot be read in that format gives
 * jv_invalid_with_msg(jv_string(reason)), reason being short enough for
 * "FILE:LINE: reason". now (epoch seconds) supplies the year RFC 3164 leaves
 * out and the time of an RFC 5424 line whose timestamp is "-".
 */
jv sb_logformat_parse(const char *format, const char *line, size_t len, double now);

/*
 * Turn a JSON object (a structured log line) into a log record: ts from
 * ts, time, timestamp or @timestamp (RFC 3339, or epoch seconds, or epoch
 * milliseconds when above 1e11); level from level, severity, lvl or
 * loglevel through sb_log_level, or a pino/bunyan number (10-60), INFO
 * when absent; message from message or msg (required, a string); stack
 * from stack, stack_trace or exception when a string; component, tenant
 * and source kept when strings; every other field goes into "fields" (the
 * members of an input "fields" object are merged there). The id is taken
 * from the compact JSON of the object as given. Consumes obj; returns the
 * record or an invalid with a message.
 */
jv sb_log_from_object(jv obj);

/* 1 when sb_logformat_parse knows format, else 0. */
int sb_logformat_known(const char *format);

#endif
