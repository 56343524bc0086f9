/* proc.c - running a program without a shell, with a time limit, its output captured */
#include "proc.h"
#include "err.h"
#include "timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: the pipe as stdout and stderr, /dev/null as stdin, default signals; report exec's errno. */
static _Noreturn void child(const char *const argv[], const char *cwd, int out, int report)
{
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL); /* the tools ignore it; the programs they start must not */
	if (null >= 0)
		dup2(null, 0);
	dup2(out, 1);
	dup2(out, 2);
	if (!cwd || chdir(cwd) == 0)
		execvp(argv[0], (char *const *)argv);
	int e = errno;
	if (write(report, &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

/* Read what the child writes until it closes its end or the deadline passes: 0, or -1 on timeout. */
static int collect(int fd, double deadline, char **output)
{
	size_t len = 0;
	char buf[4096];

	*output = sb_malloc(SB_PROC_MAX_OUTPUT + 1);
	for (;;) {
		double left = deadline > 0 ? deadline - sb_time_now() : -1;
		if (deadline > 0 && left <= 0)
			break;
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, left < 0 ? -1 : (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0) {
			(*output)[len] = '\0';
			return 0;
		}
		size_t keep = (size_t)n < SB_PROC_MAX_OUTPUT - len ? (size_t)n : SB_PROC_MAX_OUTPUT - len;
		memcpy(*output + len, buf, keep);
		len += keep;
	}
	(*output)[len] = '\0';
	return -1;
}

enum sb_proc_result sb_proc_run(const char *const argv[], const char *cwd, double timeout, int *status,
				char **output)
{
	int out[2], report[2], e = 0, ws;
	pid_t pid;

	*output = NULL;
	if (pipe2(out, O_CLOEXEC) < 0)
		return *status = errno, SB_PROC_FAILED;
	if (pipe2(report, O_CLOEXEC) < 0) {
		*status = errno;
		close(out[0]);
		close(out[1]);
		return SB_PROC_FAILED;
	}
	if ((pid = fork()) < 0) {
		*status = errno;
		close(out[0]), close(out[1]), close(report[0]), close(report[1]);
		return SB_PROC_FAILED;
	}
	if (pid == 0)
		child(argv, cwd, out[1], report[1]);
	setpgid(pid, pid);
	close(out[1]);
	close(report[1]);
	int timed_out = collect(out[0], timeout > 0 ? sb_time_now() + timeout : 0, output) < 0;
	if (timed_out)
		kill(-pid, SIGKILL);
	close(out[0]);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	ssize_t n = read(report[0], &e, sizeof e); /* exec's errno, when exec failed */
	close(report[0]);
	if (n == (ssize_t)sizeof e) {
		*status = e;
		return e == ENOENT ? SB_PROC_MISSING : SB_PROC_FAILED;
	}
	if (timed_out)
		return SB_PROC_TIMEOUT;
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return SB_PROC_RAN;
}
