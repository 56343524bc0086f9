/* err.h - diagnostics, exit statuses and checked allocation shared by every tool */
#ifndef SB_ERR_H
#define SB_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* Exit statuses of every sb tool (sb(7), EXIT STATUS). */
enum sb_exit {
	SB_EXIT_OK = 0,
	SB_EXIT_NEGATIVE = 1, /* the tool's documented negative outcome */
	SB_EXIT_USAGE = 2,    /* usage or configuration error */
	SB_EXIT_DATA = 3,     /* bad input under --on-error fail */
	SB_EXIT_REMOTE = 4,   /* remote service unavailable */
	SB_EXIT_IO = 5,       /* I/O or internal error */
};

/* Set once by the tool's main(); every message starts with it. */
extern const char *sb_progname;

/*
 * Print "PROG: message" on stderr. When the format ends in ':' the text of
 * errno is appended, as in sbase's eprintf.
 */
void sb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sb_warn, then return -1 so callers can write `return sb_error(...)`. */
int sb_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sb_warn, then exit with status. */
_Noreturn void sb_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *sb_malloc(size_t n);
void *sb_calloc(size_t n, size_t size);
void *sb_realloc(void *p, size_t n);
char *sb_strdup(const char *s);
char *sb_strndup(const char *s, size_t n);
/* Formatted string in newly allocated memory. */
char *sb_vasprintf(const char *fmt, va_list ap);
char *sb_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
