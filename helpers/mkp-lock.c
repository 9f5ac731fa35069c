/*
 * mkp-lock: run a command while holding a host's lock.
 *
 * Two runs on one host must not interleave their phases, so every run
 * of make on a host goes through this helper.  The lock is flock(2) on
 * a file in the host's state directory: the kernel drops it when the
 * holder dies, so a crash never leaves a stale lock.  The holder writes
 * its pid, start time and command into the file, which lets a second
 * run say who it is waiting for.
 *
 * The lock is held by this process, not by the command: the lock's
 * descriptor is close-on-exec, so a daemon started by the command (the
 * sandbox supervisor, say) cannot keep the host locked after the run.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mkprov.h"
#include "proc.h"
#include "util.h"

/* How often a waiting run tries the lock again. */
#define POLL_MS		200

#define SYNOPSIS	"mkp-lock [-v] [-w wait] lockfile command [arg ...]"

/*
 * Describe the current holder from the lock file's contents, in place:
 * the file holds "pid started command" on one line.  A holder writes
 * that line just after it takes the lock, so an empty file is read
 * again for a moment before it counts as saying nothing.  Returns a
 * pointer into buf, or a fixed text when the file says nothing usable.
 */
static const char *
holder(int fd, char *buf, size_t bufsz)
{
	ssize_t	 n;
	char	*nl;
	int	 tries;

	for (tries = 0; tries < 10; tries++) {
		if ((n = pread(fd, buf, bufsz - 1, 0)) > 0)
			break;
		util_sleep_ms(20);
	}
	if (n <= 0)
		return "an unknown process";
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	return buf;
}

/*
 * Take the lock on fd, trying again until the deadline.  Returns 0
 * with the lock held, -1 when the deadline passed (logged, naming the
 * holder), -2 on any other failure (logged).
 */
static int
take(int fd, const char *path, const struct deadline *dl,
    int64_t wait_ms)
{
	char	 buf[512], what[600];
	int64_t	 t0 = util_now_ms();
	int	 said = 0;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			log_progress_end();
			return 0;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			log_progress_end();
			log_errno(path, "flock");
			return -2;
		}
		if (!said) {
			/* Who holds it now, said once: a pid's line. */
			snprintf(what, sizeof(what), "waiting for pid %s",
			    holder(fd, buf, sizeof(buf)));
			log_info(path, "%s", what);
			said = 1;
		}
		log_progress(path, what, util_now_ms() - t0,
		    deadline_left_ms(dl));
		if (deadline_passed(dl)) {
			log_progress_end();
			log_err(path, "held by pid %s: gave up after %lld s: "
			    "let that run finish, or raise LOCK_WAIT",
			    holder(fd, buf, sizeof(buf)),
			    (long long)(wait_ms / 1000));
			return -1;
		}
		util_sleep_ms(POLL_MS);
	}
}

/*
 * Record this process as the holder: "pid started command".  Returns 0,
 * or -1 (logged).
 */
static int
record(int fd, const char *path, char **argv)
{
	char		 line[1024], stamp[32];
	size_t		 len;
	int		 i;

	util_utc_now(stamp, sizeof(stamp));
	len = (size_t)snprintf(line, sizeof(line), "%ld since %s:",
	    (long)getpid(), stamp);
	for (i = 0; argv[i] != NULL && len < sizeof(line) - 1; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    " %s", argv[i]);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (ftruncate(fd, 0) == -1 || pwrite(fd, line, len, 0) == -1) {
		log_errno(path, "write");
		return -1;
	}
	return 0;
}

/*
 * Take the lock named by the first argument, run the rest as a
 * command, and exit with the command's status; 4 when the lock stayed
 * taken past the wait, 3 on a usage error, 1 on any other failure.
 */
int
main(int argc, char *argv[])
{
	struct deadline	 dl;
	const char	*errstr, *path;
	int64_t		 wait_ms = 0;
	int		 ch, fd, rc;

	log_init(argv[0]);
	while ((ch = getopt(argc, argv, "+:vw:")) != -1) {
		switch (ch) {
		case 'v':
			log_verbosity++;
			break;
		case 'w':
			if (util_parse_duration(optarg, &wait_ms,
			    &errstr) == -1) {
				log_err("-w", "%s: %s: give a duration "
				    "such as 30s or 5m", optarg, errstr);
				return MKP_EXIT_USAGE;
			}
			break;
		default:
			return log_usage(ch, SYNOPSIS);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		return log_usage(0, SYNOPSIS);
	path = argv[0];

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_errno(path, "open");
		return MKP_EXIT_FAIL;
	}
	deadline_set(&dl, wait_ms);
	if ((rc = take(fd, path, &dl, wait_ms)) != 0)
		return rc == -1 ? MKP_EXIT_DEADLINE : MKP_EXIT_FAIL;
	if (record(fd, path, argv + 1) == -1)
		return MKP_EXIT_FAIL;
	rc = proc_run(argv + 1);
	/* Leave no stale holder line behind for the next reader. */
	if (ftruncate(fd, 0) == -1)
		log_errno(path, "truncate");
	return rc;
}
