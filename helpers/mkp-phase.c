/*
 * mkp-phase: run one phase of the runbook for one host, with its
 * progress line and its journal entries.
 *
 * Make runs every phase recipe through this helper, so that each phase
 * prints one line on the terminal and leaves two lines in the host's
 * journal (state/HOST/journal.jsonl): one when it starts and one when
 * it ends, with the time it took and how it ended.  make status reads
 * the journal back to set real durations beside the runbook's.
 */
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

#include "json.h"
#include "log.h"
#include "mkprov.h"
#include "proc.h"
#include "util.h"

/* What the journal says of each exit status of the contract. */
static const char *const outcomes[MKP_EXIT__MAX] = {
	[MKP_EXIT_OK] = "done",
	[MKP_EXIT_FAIL] = "failed",
	[MKP_EXIT_UNCHANGED] = "unchanged",
	[MKP_EXIT_USAGE] = "misconfigured",
	[MKP_EXIT_DEADLINE] = "timed out",
	[MKP_EXIT_VERIFY] = "refused",
};

struct phase {
	const char	*host;
	const char	*name;
	const char	*journal;
	const char	*what;
};


/* What a usage error prints after "usage: ". */
#define SYNOPSIS	"mkp-phase -H host -p phase -j journal " \
	"[-m message] command [arg ...]"

/*
 * Name an exit status for people and the journal.
 */
static const char *
outcome(int status)
{
	if (status >= 0 && status < MKP_EXIT__MAX && outcomes[status])
		return outcomes[status];
	if (status > 128)
		return "killed";
	return "failed";
}

/*
 * Append one event to the journal in a single write, so that lines of
 * runs on other hosts (other files) or of a crashed run never mix.
 * status < 0 marks a start.  Returns 0, or -1 (logged).
 */
static int
journal(const struct phase *ph, int status, int64_t ms)
{
	struct json_w	 w;
	char		 when[32], *line;
	size_t		 len;
	int		 fd, rc = -1;

	util_utc_now(when, sizeof(when));
	if (jw_init(&w) == -1)
		return -1;
	jw_obj_open(&w);
	jw_kv_str(&w, "time", when);
	jw_kv_str(&w, "host", ph->host);
	jw_kv_str(&w, "phase", ph->name);
	jw_kv_str(&w, "event", status < 0 ? "start" : "end");
	if (status >= 0) {
		jw_kv_int(&w, "duration_ms", ms);
		jw_kv_int(&w, "status", status);
		jw_kv_str(&w, "outcome", outcome(status));
	}
	jw_obj_close(&w);
	if (jw_finish(&w, &line, &len) == -1)
		goto out;
	line[len++] = '\n';	/* jw_finish leaves room for the NUL */
	fd = open(ph->journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600);
	if (fd == -1 || write(fd, line, len) != (ssize_t)len)
		log_errno(ph->journal, "append");
	else
		rc = 0;
	if (fd != -1)
		close(fd);
	free(line);
out:
	jw_free(&w);
	return rc;
}

/*
 * Print the phase's progress line, run the command between its two
 * journal lines, and exit with the command's status, except that 2
 * ("already as wanted") becomes 0 so that make carries on.
 */
int
main(int argc, char *argv[])
{
	struct phase	 ph = { 0 };
	int64_t		 t0, ms;
	int		 ch, status;

	log_init(argv[0]);
	while ((ch = getopt(argc, argv, "+:H:j:m:p:")) != -1) {
		switch (ch) {
		case 'H':
			ph.host = optarg;
			break;
		case 'j':
			ph.journal = optarg;
			break;
		case 'm':
			ph.what = optarg;
			break;
		case 'p':
			ph.name = optarg;
			break;
		default:
			return log_usage(ch, SYNOPSIS);
		}
	}
	argv += optind;
	if (ph.host == NULL || ph.name == NULL || ph.journal == NULL ||
	    argv[0] == NULL)
		return log_usage(0, SYNOPSIS);

	printf(">>> %s %s%s%s\n", ph.host, ph.name, ph.what ? ": " : "",
	    ph.what ? ph.what : "");
	fflush(stdout);
	t0 = util_now_ms();
	if (journal(&ph, -1, 0) == -1)
		return MKP_EXIT_FAIL;
	status = proc_run(argv);
	ms = util_now_ms() - t0;
	if (journal(&ph, status, ms) == -1 && status == 0)
		status = MKP_EXIT_FAIL;
	if (status != MKP_EXIT_OK && status != MKP_EXIT_UNCHANGED)
		log_err(ph.host, "%s: %s (exit %d) after %.1f s", ph.name,
		    outcome(status), status, (double)ms / 1000);
	return status == MKP_EXIT_UNCHANGED ? MKP_EXIT_OK : status;
}
