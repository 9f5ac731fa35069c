/*
 * proc.c: run local programs and wait for them.
 *
 * While a child runs, the terminal's interrupt reaches it directly (it
 * is in the same process group); the helper ignores it, passes a
 * SIGTERM or SIGHUP of its own on, and reports how the child ended, so
 * that make sees the child's own status.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mkprov.h"
#include "proc.h"

/* The child being waited for, for the signal handler. */
static volatile sig_atomic_t	child_pid;

/*
 * Pass a termination request on to the child, which decides how to
 * end; the helper goes on waiting for it, so that a lock it holds is
 * only released once the child is gone.
 */
static void
forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/*
 * Wait for pid.  The terminal's interrupts reach the child directly and
 * are ignored here; SIGTERM and SIGHUP sent to this process are passed
 * on to it.  Returns its exit status, 128 + the signal that ended it,
 * or MKP_EXIT_FAIL (logged).
 */
static int
wait_child(pid_t pid, const char *name)
{
	struct sigaction	 ign, fwd, oint, oquit, oterm, ohup;
	int			 st, rc;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	memset(&fwd, 0, sizeof(fwd));
	fwd.sa_handler = forward;
	child_pid = pid;
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	sigaction(SIGTERM, &fwd, &oterm);
	sigaction(SIGHUP, &fwd, &ohup);
	while ((rc = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	sigaction(SIGHUP, &ohup, NULL);
	child_pid = 0;
	if (rc == -1) {
		log_errno(name, "waitpid");
		return MKP_EXIT_FAIL;
	}
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/*
 * Start argv with its stdout on out_fd (-1: ours).  Returns the pid,
 * or -1 (logged).
 */
static pid_t
start(char *const argv[], int out_fd)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_errno(argv[0], "fork");
		return -1;
	}
	if (pid == 0) {
		if (out_fd != -1 && dup2(out_fd, STDOUT_FILENO) == -1)
			_exit(127);
		execvp(argv[0], argv);
		log_errno(argv[0], "exec");
		_exit(127);
	}
	return pid;
}

/*
 * Run argv and wait for it.  Returns its exit status as wait_child
 * does; 127 when it could not be started.
 */
int
proc_run(char *const argv[])
{
	pid_t	 pid;

	if ((pid = start(argv, -1)) == -1)
		return MKP_EXIT_FAIL;
	return wait_child(pid, argv[0]);
}

/*
 * Run argv with its stdout read into a NUL-terminated buffer of at
 * most max bytes (the rest is read and dropped, so the child never
 * blocks).  Returns 0 with *out and *status set, or -1 (logged).
 */
int
proc_capture(char *const argv[], char **out, size_t max, int *status)
{
	char	*buf, sink[4096];
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 fds[2];

	if ((buf = malloc(max + 1)) == NULL) {
		log_errno(argv[0], "malloc");
		return -1;
	}
	if (pipe(fds) == -1) {
		log_errno(argv[0], "pipe");
		free(buf);
		return -1;
	}
	/* Only the child's stdout may keep the pipe open. */
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	pid = start(argv, fds[1]);
	close(fds[1]);
	while (pid != -1 && (n = read(fds[0], len < max ? buf + len : sink,
	    len < max ? max - len : sizeof(sink))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		if (len < max)
			len += (size_t)n;
	}
	close(fds[0]);
	buf[len] = '\0';
	if (pid == -1) {
		free(buf);
		return -1;
	}
	*status = wait_child(pid, argv[0]);
	*out = buf;
	return 0;
}

/*
 * Look name up in PATH as execvp would, writing the full path to path.
 * Returns 0 when found, -1 when not (not logged: callers report every
 * missing program together).
 */
int
proc_find(const char *name, char *path, size_t pathsz)
{
	const char	*p, *e, *env = getenv("PATH");
	int		 n;

	if (strchr(name, '/') != NULL) {
		n = snprintf(path, pathsz, "%s", name);
		return n >= 0 && (size_t)n < pathsz &&
		    access(path, X_OK) == 0 ? 0 : -1;
	}
	for (p = env ? env : "/usr/bin:/bin"; *p != '\0'; p = e) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		n = snprintf(path, pathsz, "%.*s/%s", (int)(e - p), p, name);
		if (n >= 0 && (size_t)n < pathsz && access(path, X_OK) == 0)
			return 0;
		if (*e == ':')
			e++;
	}
	return -1;
}
