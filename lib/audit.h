/* audit.h - the hash-chained audit log (audit.ndjson in the state directory) */
#ifndef SB_AUDIT_H
#define SB_AUDIT_H

#include <jv.h>

/* The "prev" of the first entry: there is no previous line to hash. */
#define SB_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * Append one entry to the audit log at path. entry (consumed) is a JSON
 * object with at least "action"; "ts", "actor" ($SB_ACTOR, else the user
 * name) and "prev" (hex SHA-256 of the previous line, without its newline)
 * are added. The read of the previous line and the append happen under
 * one exclusive lock, so concurrent writers keep the chain intact.
 * -1 and errno on failure; EILSEQ when the log's last line has no newline
 * (appending would join two entries: the log needs a person first).
 */
int sb_audit_append(const char *path, jv entry);

/* Who acts: $SB_ACTOR, else the name of the effective user. */
const char *sb_audit_actor(void);

/*
 * Walk the chain. Returns 0 when every entry's "prev" matches the line
 * before it, else the 1-based number of the first line that breaks the
 * chain (edited, deleted or reordered neighbour, or not JSON); -1 and
 * errno when the file cannot be read.
 */
long sb_audit_verify(const char *path);

#endif
