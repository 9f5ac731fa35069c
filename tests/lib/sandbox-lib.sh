# sandbox-lib.sh: an end-to-end script's own sandbox.
#
# Source it after test-lib.sh.  sandbox_up starts a sandbox in
# $TEST_DIR/sandbox whose hosts live on their own loopback network
# (127.X.Y.N, chosen by the caller), so that scripts never clash with
# each other or with a developer's sandbox; test_done's cleanup brings
# it down.  mkp runs make on that sandbox's site.

SANDBOXCTL=$MKP_TOP/tests/sandbox/sandboxctl
SANDBOX_SITE=$MKP_TOP/tests/sandbox/site.mk
SANDBOX_RUN=$TEST_DIR/sandbox
export SANDBOX_RUN

# sandbox_up NET [JSON-KEYS]: NET is "127.X.Y"; JSON-KEYS are more
# sandbox.json settings, e.g. '"cloud_init_seconds": 2'.  The sandbox
# is brought down when the script ends, however it ends.
sandbox_up() {
	test_atexit sandbox_down
	printf '{"net": "%s", "cloud_init_seconds": 1%s}\n' "$1" \
	    "${2:+, $2}" >"$TEST_DIR/sandbox.json"
	"$SANDBOXCTL" --rundir "$SANDBOX_RUN" \
	    --config "$TEST_DIR/sandbox.json" up
}

sandbox_down() {
	"$SANDBOXCTL" --rundir "$SANDBOX_RUN" down >/dev/null
}

# mkp ARGS: make in the tree, on the test's sandbox.
mkp() {
	make -C "$MKP_TOP" --no-print-directory SITE="$SANDBOX_SITE" \
	    SANDBOX_RUN="$SANDBOX_RUN" "$@"
}

# requests FAKE: how many API requests FAKE (hetzner, cloudflare,
# infisical) has logged so far.
requests() {
	cat "$SANDBOX_RUN/logs/$1.requests.jsonl" 2>/dev/null | wc -l
}

# admin FAKE METHOD WHAT [JSON]: call a fake's /__sandbox/ endpoint.
admin() {
	url=$(sed -n "s/^export MKP_$(echo "$1" | tr a-z A-Z)_URL='\(https:\/\/[^/]*\).*'$/\1/p" \
	    "$SANDBOX_RUN/env")
	curl -sS --cacert "$SANDBOX_RUN/tls/ca.pem" -X "$2" \
	    ${4:+-H 'content-type: application/json' -d "$4"} \
	    "$url/__sandbox/$3"
}

# tree_digest DIR...: every file below the DIRs with its mode, time and
# checksum, to prove that a run changed nothing.
tree_digest() {
	for d in "$@"; do
		(cd "$d" && find . -type f -printf '%m %T@ %p\n' | sort &&
		    find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
	done
}
