/* where.h - --where: a jq expression that selects records */
#ifndef SB_WHERE_H
#define SB_WHERE_H

#include <jv.h>
#include <stddef.h>

typedef struct sb_where sb_where;

/*
 * Compile a jq program given to option (for messages, e.g. "--where");
 * a compile error exits 2 with jq's message on one line.
 */
struct jq_state;
struct jq_state *sb_jq_compile(const char *program, const char *option);

/*
 * Tear down a program of sb_jq_compile. Those still alive when the tool
 * exits (say, by --on-error fail in the middle of a run) are torn down
 * then, so an early exit releases jq's memory too.
 */
void sb_jq_release(struct jq_state *jq);

/* Compile expr once; a compile error exits 2 with jq's message. */
sb_where *sb_where_compile(const char *expr);

/*
 * 1 when expr yields a true value (anything but false and null, as
 * jq's select) for rec (borrowed), 0 when it does not, -1 when it raised
 * an error, whose message is put in err.
 */
int sb_where_test(sb_where *w, jv rec, char *err, size_t errsize);

void sb_where_free(sb_where *w);

#endif
