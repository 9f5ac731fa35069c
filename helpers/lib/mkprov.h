/*
 * mkprov.h: the exit status contract every helper keeps.
 *
 * The Makefile reads these numbers: 2 lets a recipe skip work that is
 * already as wanted, 4 and 5 let it say why a phase stopped.  The same
 * table stands in README.md and in every helper's man page.
 */
#ifndef MKPROV_H
#define MKPROV_H

enum mkp_exit {
	MKP_EXIT_OK = 0,	/* done: the state was changed as asked */
	MKP_EXIT_FAIL = 1,	/* failure: API, network, remote command */
	MKP_EXIT_UNCHANGED = 2,	/* already as wanted: nothing changed */
	MKP_EXIT_USAGE = 3,	/* usage or configuration error */
	MKP_EXIT_DEADLINE = 4,	/* a deadline passed before the state */
	MKP_EXIT_VERIFY = 5,	/* verification failed: wrong state seen */
	MKP_EXIT__MAX
};

#endif
