#!/bin/sh
# The server phase never makes a second server: a run that died after
# the create call adopts the server it made.  cloud-init's outcome is
# reported as the runbook wants: degraded is a warning naming the
# errors, error is a failure printing them, and one that runs on past
# SERVER_WAIT ends the phase with the deadline's status.

. "$(dirname "$0")/../lib/test-lib.sh"
. "$MKP_TOP/tests/lib/sandbox-lib.sh"

H=bruno-3
S=$SANDBOX_RUN/state/$H

test_expect_success 'the sandbox starts and the secrets are verified' '
	sandbox_up 127.21.1 &&
	mkp secrets HOST=$H >out 2>&1
'

# created: whether the fake has answered a create call with 201.
created() {
	jq -e "select(.method == \"POST\" and .path == \"/v1/servers\" and
	    .status == 201)" "$SANDBOX_RUN/logs/hetzner.requests.jsonl" \
	    >/dev/null 2>&1
}

test_expect_success 'a run killed after the create call leaves no stamp' '
	admin hetzner POST faults "{\"fail_next\": 50,
	    \"path_prefix\": \"/v1/actions\", \"delay_ms\": 2000}" &&
	setsid make -C "$MKP_TOP" SITE="$SANDBOX_SITE" \
	    SANDBOX_RUN="$SANDBOX_RUN" server HOST=$H >run.log 2>&1 &
	run=$!
	i=0; until created || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
	kill -9 -$run; wait $run
	created && test ! -e $S/server-ready.json &&
	admin hetzner DELETE faults
'

test_expect_success 'the rerun adopts that server instead of making another' '
	mkp server HOST=$H >out 2>&1 &&
	jq -e ".adopted == true" $S/server-ready.json &&
	admin hetzner GET state >state.json &&
	test $(jq "[.servers[] | select(.name == \"$H\")] | length" \
	    state.json) = 1 &&
	test $(jq -c "select(.method == \"POST\" and .path == \"/v1/servers\")" \
	    $SANDBOX_RUN/logs/hetzner.requests.jsonl | wc -l) = 1
'

test_expect_success 'a server of that name mkprov did not make is left alone' '
	mkp secrets HOST=bruno >out 2>&1 &&
	mkp server HOST=bruno >out 2>&1; test $? -ne 0 &&
	test_grep "has this name but not the label mkprov/host=bruno" out
'

test_expect_success 'cloud-init degraded is a warning naming its errors' '
	"$SANDBOXCTL" --rundir "$SANDBOX_RUN" fault cloud-init $H degraded &&
	mkp redo-server HOST=$H >out 2>&1 &&
	test_grep "warning: cloud-init: WARNING: " out &&
	jq -e ".cloud_init == \"degraded done\"" $S/server-ready.json
'

test_expect_success 'cloud-init error fails the phase and prints the errors' '
	"$SANDBOXCTL" --rundir "$SANDBOX_RUN" fault cloud-init $H error &&
	mkp redo-server HOST=$H >out 2>&1; test $? -ne 0 &&
	test_grep "cloud-init: " out && test_grep "cloud-init failed" out &&
	test ! -e $S/server-ready.json &&
	test_grep "\"outcome\":\"failed\"" $S/journal.jsonl
'

test_expect_success 'once cloud-init is fixed the phase passes again' '
	"$SANDBOXCTL" --rundir "$SANDBOX_RUN" fault cloud-init $H done &&
	mkp server HOST=$H >out 2>&1 &&
	jq -e ".cloud_init == \"done\"" $S/server-ready.json
'

test_expect_success 'a cloud-init that outlasts SERVER_WAIT ends the phase in time' '
	ci=$SANDBOX_RUN/hosts/$H/cloud-init.json &&
	jq ".started = $(date +%s) | .seconds = 300" $ci >ci.json &&
	cp ci.json $ci &&
	mkp redo-server HOST=$H SERVER_WAIT=15s >out 2>&1; rc=$?
	test $rc -ne 0 &&
	test_grep "cloud-init still running after .* SERVER_WAIT passed" out &&
	test "$(tail -n 1 $S/journal.jsonl | jq .status)" = 4 &&
	test ! -e $S/server-ready.json
'

test_expect_success 'and the phase passes once cloud-init is done' '
	jq ".seconds = 0" $ci >ci.json && cp ci.json $ci &&
	mkp server HOST=$H >out 2>&1 &&
	jq -e ".cloud_init == \"done\"" $S/server-ready.json
'

test_done
