/*
 * proc.h: running local programs from a helper.
 */
#ifndef PROC_H
#define PROC_H

#include <stddef.h>

int	 proc_run(char *const argv[]);
int	 proc_capture(char *const argv[], char **out, size_t max,
	    int *status);
int	 proc_find(const char *name, char *path, size_t pathsz);

#endif
