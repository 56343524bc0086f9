/* where.h - --where: a jq expression that selects records */
#ifndef SB_WHERE_H
#define SB_WHERE_H

#include <jv.h>
#include <stddef.h>

typedef struct sb_where sb_where;

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
