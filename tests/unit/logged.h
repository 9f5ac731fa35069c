/*
 * logged.h: catching what the library logs, for the Check suites.
 *
 * Header-only, so that each suite stays one file to build: setup calls
 * logged_start, teardown logged_stop, and a test reads what was logged
 * with logged().
 */
#ifndef LOGGED_H
#define LOGGED_H

#include <check.h>
#include <stdio.h>

#include "log.h"

static FILE	*logged_fp;
static char	 logged_text[65536];

/*
 * Send log lines to a temporary file, as program "test".
 */
static inline void
logged_start(void)
{
	logged_fp = tmpfile();
	ck_assert_ptr_nonnull(logged_fp);
	log_init("test");
	log_set_stream(logged_fp);
}

/*
 * Send log lines to stderr again and drop what was caught.
 */
static inline void
logged_stop(void)
{
	log_set_stream(NULL);
	if (logged_fp != NULL)
		fclose(logged_fp);
	logged_fp = NULL;
}

/*
 * Return everything logged since logged_start, NUL-terminated.
 */
static inline const char *
logged(void)
{
	size_t	n;

	fflush(logged_fp);
	rewind(logged_fp);
	n = fread(logged_text, 1, sizeof(logged_text) - 1, logged_fp);
	logged_text[n] = '\0';
	return logged_text;
}

#endif
