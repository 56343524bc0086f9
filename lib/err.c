/* err.c - diagnostics, exit statuses and checked allocation */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sb_progname = "sb";

static void vwarn(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);

	fprintf(stderr, "%s: ", sb_progname);
	vfprintf(stderr, fmt, ap);
	if (n > 0 && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void sb_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

int sb_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	return -1;
}

void sb_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(status);
}

static void *checked(void *p)
{
	if (!p)
		sb_die(SB_EXIT_IO, "out of memory");
	return p;
}

void *sb_malloc(size_t n) { return checked(malloc(n ? n : 1)); }
void *sb_calloc(size_t n, size_t size) { return checked(calloc(n ? n : 1, size ? size : 1)); }
void *sb_realloc(void *p, size_t n) { return checked(realloc(p, n ? n : 1)); }
char *sb_strdup(const char *s) { return checked(strdup(s)); }
char *sb_strndup(const char *s, size_t n) { return checked(strndup(s, n)); }

char *sb_vasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		sb_die(SB_EXIT_IO, "out of memory");
	return s;
}

char *sb_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = sb_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}
