#!/bin/sh
# The fakes are checked against tests/sandbox/reference/, a copy of
# the project's shared API reference (official spec excerpts, example
# payloads, FACTS.md) kept in the tree so that a clean checkout tests
# alone.  Where the shared reference sits beside the tree, the copy
# must be the same, file for file.

. "$(dirname "$0")/../lib/test-lib.sh"

COPY=$MKP_TOP/tests/sandbox/reference
SHARED=${MKP_SHARED_REFERENCE:-$MKP_TOP/../shared/api-reference}

test_expect_success 'the copy holds the reference README that says where each file came from' '
	test_grep "Source repo" "$COPY/README.md" &&
	test -s "$COPY/FACTS.md" &&
	test -s "$COPY/hetzner-cloud-openapi-subset.json"
'

if [ -d "$SHARED" ]; then
	test_expect_success 'the copy in the tree is the shared reference, file for file' '
		diff -r "$SHARED" "$COPY"
	'
else
	test_skip 'the copy in the tree is the shared reference, file for file' \
	    "no shared reference at $SHARED to compare with"
fi

test_done
