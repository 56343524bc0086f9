/* filter.h - the loop every filter tool runs: read, select, forward, consume */
#ifndef SB_FILTER_H
#define SB_FILTER_H

#include <jv.h>

#include "input.h"
#include "opts.h"
#include "where.h"

/*
 * What a tool consumes and what it does with each such record. Records of
 * other types are forwarded unchanged and in order; with pass, consumed
 * records the tool accepted are forwarded too, right after it read them.
 */
struct sb_filter {
	const char *const *consumes; /* record types, NULL-terminated */
	int pass;
	/*
	 * Takes ownership of rec; in names the line it came from. Returns 0,
	 * or -1 when the record was rejected (sb_input_reject).
	 */
	int (*record)(void *ctx, jv rec, struct sb_input *in);
	void *ctx;
	/*
	 * Where forwarded lines go: NULL for stdout; a tool that must hold its
	 * output back (to keep input order) gives its own.
	 */
	void (*forward)(void *ctx, const char *line, size_t len);
	/*
	 * A fast path, or NULL: offered each raw line (in->line) before it is
	 * parsed, when no --where is in force. Returns 1 when it took the
	 * record (valid, of a consumed type, of the --tenant in force), 0 to
	 * leave the line to the usual parse. It never rejects a line: anything
	 * doubtful is left to the usual path, which names the error.
	 */
	int (*raw)(void *ctx, struct sb_input *in);
};

/* Per-run state of the loop; sb_filter_begin fills it. */
struct sb_run {
	const struct sb_common *common;
	struct sb_input in;
	sb_where *where;
};

/* Compile --where, set up output, input and the progress line. */
void sb_filter_begin(struct sb_run *run, const struct sb_common *c);

/* Read every input record and dispatch it. */
void sb_filter_loop(struct sb_run *run, const struct sb_filter *f);

/* Does rec (borrowed) belong to the --tenant in force (always, without one)? */
int sb_tenant_matches(const struct sb_common *c, jv rec);

/*
 * End the run: clear the progress line, report rejected lines, flush and
 * close stdout. Returns the exit status: 0, or 5 when an input could not
 * be read or the output could not be written.
 */
int sb_filter_end(struct sb_run *run);

#endif
