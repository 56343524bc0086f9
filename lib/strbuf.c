/* strbuf.c - a growing string */
#include "strbuf.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_buf_add(struct sb_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = sb_realloc(b->p, b->cap);
	}
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void sb_buf_str(struct sb_buf *b, const char *s)
{
	sb_buf_add(b, s, strlen(s));
}

void sb_buf_addf(struct sb_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		sb_die(SB_EXIT_IO, "out of memory");
	va_end(ap);
	sb_buf_str(b, s);
	free(s);
}

char *sb_buf_take(struct sb_buf *b)
{
	return b->p ? b->p : sb_strdup("");
}
