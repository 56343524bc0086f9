/* output.c - writing NDJSON records to stdout */
#include "output.h"
#include "err.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTPUT_BUFSZ (128 * 1024)

static long written;

void sb_output_init(int unbuffered)
{
	signal(SIGPIPE, SIG_IGN);
	if (unbuffered || isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	else
		setvbuf(stdout, NULL, _IOFBF, OUTPUT_BUFSZ);
}

/* A reader that went away is the normal end of `sb-x | head`. */
static _Noreturn void write_failed(int err)
{
	if (err == EPIPE)
		_exit(SB_EXIT_OK);
	errno = err;
	sb_die(SB_EXIT_IO, "write error on standard output:");
}

void sb_output_raw(const char *line, size_t len)
{
	if (fwrite_unlocked(line, 1, len, stdout) != len || putc_unlocked('\n', stdout) == EOF)
		write_failed(errno);
	written++;
}

void sb_output_record(jv rec)
{
	jv text = jv_dump_string(rec, 0);

	sb_output_raw(jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)));
	jv_free(text);
}

long sb_output_count(void)
{
	return written;
}

int sb_output_finish(void)
{
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout))
		write_failed(errno ? errno : EIO);
	if (fclose(stdout) == EOF && errno != EBADF)
		write_failed(errno);
	return SB_EXIT_OK;
}
