#!/bin/sh
# The build installs every helper and manual page where PREFIX and
# DESTDIR say, uninstalls exactly that, and make deps is silent when
# every package is there.

. "$(dirname "$0")/../lib/test-lib.sh"

D=$TEST_DIR/dest

test_expect_success 'make install puts every helper and page in place' '
	make -s -C "$MKP_TOP" install PREFIX=/opt/mkp DESTDIR=$D >out 2>&1 &&
	for h in "$MKP_TOP"/helpers/mkp-*.c; do
		n=$(basename $h .c) &&
		test -x $D/opt/mkp/libexec/mkprov/$n &&
		test -f $D/opt/mkp/share/man/man1/$n.1 || return 1
	done &&
	test -f $D/opt/mkp/share/man/man7/mkprov.7
'

test_expect_success 'the installed helpers run and keep the usage status' '
	$D/opt/mkp/libexec/mkprov/mkp-lock >out 2>&1; test $? = 3 &&
	test_grep "usage: mkp-lock" out
'

test_expect_success 'make uninstall removes exactly what it installed' '
	make -s -C "$MKP_TOP" uninstall PREFIX=/opt/mkp DESTDIR=$D &&
	test -z "$(find $D -type f)"
'

test_expect_success 'make deps does nothing when every package is there' '
	make -s -C "$MKP_TOP" deps >out 2>&1 && test ! -s out
'

test_expect_success 'make help names the targets a user types' '
	make -s -C "$MKP_TOP" help >out &&
	for t in demo check provision plan status redo-PHASE sandbox-up \
	    sandbox-env install; do
		test_grep "make.* $t" out || return 1
	done
'

test_done
