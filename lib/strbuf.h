/* strbuf.h - a growing string */
#ifndef SB_STRBUF_H
#define SB_STRBUF_H

#include <stddef.h>

/* Zero-initialise; p stays NUL-terminated once anything was added. */
struct sb_buf {
	char *p;
	size_t n, cap;
};

void sb_buf_add(struct sb_buf *b, const char *s, size_t n);
void sb_buf_str(struct sb_buf *b, const char *s);
void sb_buf_addf(struct sb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string, handed over (an empty one when nothing was added); b may be reused once zeroed. */
char *sb_buf_take(struct sb_buf *b);

#endif
