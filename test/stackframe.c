/*
 * stackframe.c - drives lib/stackframe for test/stackframe.bats.
 *
 *   stackframe <text
 *
 * Reads all of stdin as one text and prints the top frame of the stack
 * trace in it, or "none" when it holds none.
 */
#include "stackframe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char buf[4096], *text = NULL, *frame;
	size_t len = 0, n;

	/* Grown to the exact size, so that the sanitizer build catches a read past the end. */
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
		if (!(text = realloc(text, len + n))) {
			fprintf(stderr, "stackframe: out of memory\n");
			return 5;
		}
		memcpy(text + len, buf, n);
		len += n;
	}
	if (ferror(stdin)) {
		fprintf(stderr, "stackframe: cannot read stdin\n");
		return 5;
	}
	frame = sb_stack_top_frame(text, len);
	printf("%s\n", frame ? frame : "none");
	free(frame);
	free(text);
	if (fflush(stdout) || ferror(stdout))
		return 5;
	return 0;
}
