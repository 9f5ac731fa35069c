#!/bin/sh
# make plan shows what a run would change without changing it, and
# several hosts provision in parallel without their state or output
# mixing.

. "$(dirname "$0")/../lib/test-lib.sh"
. "$MKP_TOP/tests/lib/sandbox-lib.sh"

test_expect_success 'the sandbox starts' '
	sandbox_up 127.21.3
'

# writes FAKE: how many requests FAKE logged that were not GETs.
writes() {
	jq -c "select(.method != \"GET\")" \
	    "$SANDBOX_RUN/logs/$1.requests.jsonl" | wc -l
}

test_expect_success 'plan names the server it would create, with its price' '
	before=$(writes hetzner) &&
	mkp plan HOST=bruno-7 >out 2>&1 &&
	test_grep "plan: bruno-7: create server bruno-7: cpx32 in nbg1," out &&
	test_grep "net, .* gross per month" out &&
	test_grep "plan: bruno-7: add it to .* under production" out &&
	test $(writes hetzner) = $before &&
	test ! -e $SANDBOX_RUN/state/bruno-7/server-ready.json
'

test_expect_success 'plan says a run would stop at a server mkprov did not make' '
	mkp plan HOST=bruno >out 2>&1; test $? -ne 0 &&
	test_grep "has this name but not the label mkprov/host=bruno" out
'

test_expect_success 'three hosts provision in parallel' '
	mkp -j4 provision HOSTS="p-1 p-2 p-3" >out 2>&1 &&
	for h in p-1 p-2 p-3; do
		test -f $SANDBOX_RUN/state/$h/inventory-listed.json || return 1
	done
'

test_expect_success 'each line of output names its host' '
	grep ">>> " out >progress &&
	test $(wc -l <progress) = 9 &&
	! grep -v "^\[\(p-[123]\)\] >>> \1 " progress
'

test_expect_success 'each host keeps its own state and journal' '
	for h in p-1 p-2 p-3; do
		test $(jq -r .host $SANDBOX_RUN/state/$h/server-ready.json) = $h &&
		! grep -v "\"host\":\"$h\"" $SANDBOX_RUN/state/$h/journal.jsonl ||
		return 1
	done &&
	test $(jq -r .ipv4 $SANDBOX_RUN/state/p-*/server-ready.json |
	    sort -u | wc -l) = 3
'

test_expect_success 'plan names an existing server it would adopt' '
	mkp plan HOST=p-1 >out 2>&1 &&
	test_grep "plan: p-1: adopt server [0-9]*: cpx32 in nbg1, 127.21.3." out
'

test_expect_success 'the inventory holds all three and the hosts it had' '
	ANSIBLE_INVENTORY_UNPARSED_FAILED=True ansible-inventory \
	    -i $SANDBOX_RUN/inventory/hosts.yml --list >inv.json &&
	test "$(jq -c ".production.hosts | sort" inv.json)" = \
	    "[\"bruno\",\"p-1\",\"p-2\",\"p-3\"]"
'

test_done
