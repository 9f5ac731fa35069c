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

# hcloud METHOD PATH: call the sandbox's Hetzner API as a user would.
hcloud() {
	(. "$SANDBOX_RUN/env" &&
	curl -sS --cacert "$MKP_CAFILE" -X "$1" \
	    -H "authorization: Bearer $HCLOUD_TOKEN" "$MKP_HETZNER_URL$2")
}

test_expect_success 'plan names the server it would create, with its price' '
	before=$(writes hetzner) &&
	tree_digest $SANDBOX_RUN/inventory >inv.before &&
	mkp plan HOST=bruno-7 >out 2>&1 &&
	test_grep "plan: bruno-7: create server bruno-7: cpx32 in nbg1," out &&
	test_grep "net, .* gross per month" out &&
	test $(writes hetzner) = $before &&
	test ! -e $SANDBOX_RUN/state/bruno-7/server-ready.json
'

test_expect_success 'plan shows the inventory lines it would add' '
	test_grep "plan: bruno-7: .*/hosts.yml would change so:" out &&
	test_grep "^+    bruno-7:\$" out &&
	test_grep "^+      ansible_host: \"<IPv4 of bruno-7>\"" out &&
	test_grep "^+      server_role: production" out &&
	tree_digest $SANDBOX_RUN/inventory >inv.after &&
	test_cmp inv.before inv.after
'

test_expect_success 'plan names a device key the project lacks, uploads none' '
	hcloud GET "/ssh_keys?name=macbookpro" >keys.json &&
	id=$(jq -r ".ssh_keys[0].id" keys.json) &&
	hcloud DELETE /ssh_keys/$id &&
	before=$(writes hetzner) &&
	mkp plan HOST=bruno-7 >out 2>&1 &&
	test_grep "plan: bruno-7: upload the SSH key of MACBOOKPRO" out &&
	! grep "upload the SSH key of MACMINI" out &&
	test $(writes hetzner) = $before
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

test_expect_success 'the hosts racing to upload one key leave one key' '
	hcloud GET "/ssh_keys?name=macbookpro" >keys.json &&
	test $(jq ".ssh_keys | length" keys.json) = 1 &&
	hcloud GET /ssh_keys >keys.json &&
	test $(jq "[.ssh_keys[].fingerprint] | unique | length" keys.json) = \
	    $(jq ".ssh_keys | length" keys.json)
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
