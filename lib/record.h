/* record.h - reading fields of records without tripping libjq's ownership rules */
#ifndef SB_RECORD_H
#define SB_RECORD_H

#include <jv.h>

/*
 * All take the record borrowed (it is not consumed) and a key; a missing
 * field or one of the wrong kind is "absent".
 */

/* The string field copied into new memory, or NULL when absent. */
char *sb_rec_string(jv rec, const char *key);

/* 1 and the number when the field is a finite number, else 0. */
int sb_rec_number(jv rec, const char *key, double *out);

/* 1 and epoch seconds when the field is an RFC 3339 string or an epoch number. */
int sb_rec_time(jv rec, const char *key, double *out);

/* Is the field the JSON value true? */
int sb_rec_true(jv rec, const char *key);

/* The field's value (owned by the caller), or null when absent. */
jv sb_rec_get(jv rec, const char *key);

/*
 * The tenant a record belongs to: its "tenant", else dims.tenant_id, else
 * fields.tenant_id, else detail.tenant_id (strings); NULL for a system
 * record. Free it.
 */
char *sb_rec_tenant(jv rec);

/* An invalid jv carrying a formatted message (at most 255 bytes): a reason to reject a line. */
jv sb_invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
