/* stackframe.h - the frame a stack trace in text was raised at */
#ifndef SB_STACKFRAME_H
#define SB_STACKFRAME_H

#include <stddef.h>

/*
 * The top (innermost, where the error was raised) frame of a stack trace
 * in text (len bytes, not necessarily NUL-terminated; lines end in LF or
 * CRLF), as "FILE:LINE in FUNCTION", or NULL when text holds no trace.
 * Parts that the trace does not give are left out: "FILE:LINE" for an
 * anonymous function, "FUNCTION" alone for a native method.
 *
 * Python: the last `File "F", line N, in FN` line, so that of a chain of
 * exceptions the one printed last, the one that propagated, is taken.
 * Java: the first `at PKG.CLASS.METHOD(FILE:N)` line, the outer exception
 * of a "Caused by:" chain for the same reason; FILE is the source file
 * name the trace gives. Node.js: the first `at FN (F:N:C)` or `at F:N:C`
 * line. Go: the first function and `\tF.go:N +0x..` pair whose function is
 * not runtime.* or panic (the first frame of all when every frame is).
 * The first frame found decides the format of the whole text. Caller frees.
 */
char *sb_stack_top_frame(const char *text, size_t len);

#endif
