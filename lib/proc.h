/* proc.h - running a program without a shell, with a time limit, its output captured */
#ifndef SB_PROC_H
#define SB_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Output kept from a program: its first bytes, enough for a message. */
#define SB_PROC_MAX_OUTPUT 65536

enum sb_proc_result {
	SB_PROC_RAN,       /* it ran: *status is its exit status, or 128 + the signal that ended it */
	SB_PROC_MISSING,   /* the program is not installed (not on PATH) */
	SB_PROC_TIMEOUT,   /* killed, with its process group, after timeout seconds */
	SB_PROC_FAILED,    /* it could not be started for another reason (errno kept in *status) */
};

/*
 * Run argv (argv[0] looked up on PATH) in directory cwd (NULL: here), with
 * stdin from /dev/null and stdout and stderr captured together into
 * *output (NUL-terminated; free it), in a process group of its own so a
 * timeout ends its children too. timeout <= 0: none. A SIGTERM, SIGINT or
 * SIGHUP that arrives meanwhile is passed on to that group, then raised
 * again in the caller once the program has ended.
 */
enum sb_proc_result sb_proc_run(const char *const argv[], const char *cwd, double timeout, int *status,
				char **output);

/*
 * Start argv (argv[0] looked up on PATH) with stdin from in (NULL:
 * /dev/null), stdout to the file out (appended with append, else
 * truncated) and stderr appended to err, default signal dispositions, and
 * with own_group in a process group of its own. The pid, or -1 and errno.
 */
pid_t sb_proc_spawn(char *const argv[], const char *in, const char *out, int append, const char *err, int own_group);

/* Wait for a child: its exit status, 128 + the signal that ended it, or -1 and errno. */
int sb_proc_wait(pid_t pid);

/*
 * The sb tool name as installed next to the running one (bin/ of a build,
 * or the install directory), else name itself, for execvp to find on PATH:
 * a tool that runs the others runs those of its own version. Free it.
 */
char *sb_tool_path(const char *name);

#endif
