/* proc.c - running a program without a shell, with a time limit, its output captured */
#include "proc.h"
#include "err.h"
#include "timefmt.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
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
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
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

/*
 * A SIGTERM, SIGINT or SIGHUP that arrives while a program runs is passed
 * on to its process group (a group of its own, which the signal would not
 * reach), and raised again once it has ended: the tool still ends as the
 * signal says, and leaves no program behind.
 */
static const int passed_on[] = {SIGTERM, SIGINT, SIGHUP};
static volatile sig_atomic_t caught;
static volatile pid_t running;

static void pass_on(int sig)
{
	caught = sig;
	if (running > 0)
		kill(-running, SIGTERM);
}

static void catch_while_running(struct sigaction old[3])
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = pass_on;
	sigemptyset(&sa.sa_mask);
	caught = 0;
	for (int i = 0; i < 3; i++)
		sigaction(passed_on[i], &sa, &old[i]);
}

static void restore_and_raise(const struct sigaction old[3])
{
	running = 0;
	for (int i = 0; i < 3; i++)
		sigaction(passed_on[i], &old[i], NULL);
	if (caught)
		raise(caught);
}

enum sb_proc_result sb_proc_run(const char *const argv[], const char *cwd, double timeout, int *status,
				char **output)
{
	int out[2], report[2], e = 0, ws;
	struct sigaction old[3];
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
	catch_while_running(old);
	if ((pid = fork()) < 0) {
		*status = errno;
		close(out[0]), close(out[1]), close(report[0]), close(report[1]);
		restore_and_raise(old);
		return SB_PROC_FAILED;
	}
	if (pid == 0)
		child(argv, cwd, out[1], report[1]);
	setpgid(pid, pid);
	running = pid;
	if (caught)
		kill(-pid, SIGTERM); /* the signal came before the child's group was known */
	close(out[1]);
	close(report[1]);
	int timed_out = collect(out[0], timeout > 0 ? sb_time_now() + timeout : 0, output) < 0;
	if (timed_out)
		kill(-pid, SIGKILL);
	close(out[0]);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	restore_and_raise(old);
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

char *sb_tool_path(const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n > 0) {
		self[n] = '\0';
		char *path = sb_asprintf("%s/%s", dirname(self), name);
		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return sb_strdup(name);
}

pid_t sb_proc_spawn(char *const argv[], const char *in, const char *out, int append, const char *err, int own_group)
{
	pid_t pid = fork();

	if (pid != 0) {
		if (pid > 0 && own_group)
			setpgid(pid, pid); /* here too: no window in which a signal to the group misses it */
		return pid;
	}
	int fi = open(in ? in : "/dev/null", O_RDONLY),
	    fo = open(out, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0600),
	    fe = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (own_group)
		setpgid(0, 0);
	for (size_t i = 0; i < sizeof passed_on / sizeof *passed_on; i++)
		signal(passed_on[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (fi < 0 || fo < 0 || fe < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
		_exit(127);
	execvp(argv[0], argv);
	dprintf(2, "%s: cannot run %s: %s\n", sb_progname, argv[0], strerror(errno));
	_exit(127);
}

int sb_proc_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
