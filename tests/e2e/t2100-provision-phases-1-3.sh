#!/bin/sh
# Phases 1-3 provision a new host in the sandbox, and a rerun does
# nothing at all: no API call, no file changed.

. "$(dirname "$0")/../lib/test-lib.sh"
. "$MKP_TOP/tests/lib/sandbox-lib.sh"

H=bruno-2
test_expect_success 'the sandbox starts' '
	sandbox_up 127.21.0
'
S=$SANDBOX_RUN/state/$H
INV=$SANDBOX_RUN/inventory/hosts.yml

test_expect_success 'make provision runs secrets, server and inventory' '
	mkp provision HOST=$H FROM=bruno >out 2>&1 &&
	test_grep ">>> $H secrets" out &&
	test_grep ">>> $H server" out &&
	test_grep ">>> $H inventory" out &&
	test -f $S/secrets-verified.json &&
	test -f $S/server-ready.json &&
	test -f $S/inventory-listed.json
'

test_expect_success 'state is private: the host directory 0700, secrets 0600' '
	test "$(stat -c %a $S)" = 700 &&
	test "$(stat -c %a $S/secrets.env)" = 600 &&
	! grep -q "$(jq -r .infisical_client_secret \
	    $SANDBOX_RUN/secrets.json)" $S/* 2>/dev/null
'

test_expect_success 'the journal has a start and an end for each phase' '
	test $(grep -c "\"event\":\"start\"" $S/journal.jsonl) = 3 &&
	test $(grep -c "\"outcome\":\"done\"" $S/journal.jsonl) = 3
'

test_expect_success 'the server stamp holds the facts of the server' '
	id=$(jq -r .server_id $S/server-ready.json) &&
	ip=$(jq -r .ipv4 $S/server-ready.json) &&
	case $ip in 127.21.0.*) ;; *) false ;; esac &&
	jq -e ".host_key_fingerprint | startswith(\"SHA256:\")" \
	    $S/server-ready.json &&
	jq -e ".ipv6_network | endswith(\"/64\")" $S/server-ready.json &&
	admin hetzner GET state >state.json &&
	jq -e ".servers[] | select(.name == \"$H\") |
	    .labels[\"mkprov/host\"] == \"$H\"" state.json
'

test_expect_success 'the pinned host key opens the server; user data key does not' '
	ip=$(jq -r .ipv4 $S/server-ready.json) &&
	user=$(. $SANDBOX_RUN/env && echo "$MKP_SSH_USER") &&
	ssh -F /dev/null -i $SANDBOX_RUN/keys/macmini -p 2222 \
	    -o BatchMode=yes -o StrictHostKeyChecking=yes \
	    -o UserKnownHostsFile=$S/known_hosts $user@$ip true &&
	awk "{print \"[$ip]:2222\", \$1, \$2}" $S/host_key_initial.pub \
	    >initial_known_hosts &&
	! ssh -F /dev/null -i $SANDBOX_RUN/keys/macmini -p 2222 \
	    -o BatchMode=yes -o StrictHostKeyChecking=yes \
	    -o UserKnownHostsFile=initial_known_hosts $user@$ip true \
	    2>ssh.err &&
	test_grep "Host key verification failed" ssh.err &&
	test ! -e $S/host_key_initial
'

test_expect_success 'Ansible reads the inventory and pins the same key' '
	ANSIBLE_INVENTORY_UNPARSED_FAILED=True \
	    ansible-inventory -i $INV --list >inv.json &&
	jq -e ".production.hosts | index(\"$H\")" inv.json &&
	jq -e "._meta.hostvars[\"$H\"].ansible_host ==
	    \"$(jq -r .ipv4 $S/server-ready.json)\"" inv.json &&
	jq -e "._meta.hostvars[\"$H\"].server_role == \"production\"" inv.json &&
	jq -e "._meta.hostvars[\"$H\"].ansible_ssh_common_args |
	    contains(\"$S/known_hosts\")" inv.json
'

test_expect_success 'secrets.env reads back every Infisical value unchanged' '
	/usr/bin/python3 - "$S/secrets.env" "$SANDBOX_RUN" <<-\PY
	import json, os, sys
	sys.path.insert(0, os.path.join(os.environ["MKP_TOP"], "tests",
	                                "sandbox"))
	import dockerlib
	got = dockerlib.parse_dotenv(open(sys.argv[1]).read())
	seeded = json.load(open(os.path.join(sys.argv[2], "secrets.json")))
	want = seeded["infisical_secrets"]
	assert got == want, sorted(set(got.items()) ^ set(want.items()))
	assert any("\n" in v for v in want.values())
	assert any("$" in v and "\x27" in v for v in want.values())
	PY
'

# seen: every file of the state and the inventory, and how many
# requests each fake has logged: what a run that changes nothing
# leaves as it found.
seen() {
	tree_digest $SANDBOX_RUN/state $SANDBOX_RUN/inventory &&
	for f in hetzner cloudflare infisical; do requests $f; done
}

test_expect_success 'a rerun makes no API call and changes no file' '
	seen >before &&
	mkp provision HOST=$H >out 2>&1 &&
	test_grep "nothing to do" out &&
	seen >after && test_cmp before after
'

test_expect_success 'make -n shows a phase again and changes nothing' '
	seen >before &&
	mkp -n redo-server HOST=$H >out 2>&1 &&
	test_grep "mkp-server -H $H" out &&
	test_grep "rm -f .*/server-ready.json .*/inventory-listed.json" out &&
	seen >after && test_cmp before after
'

test_expect_success 'make -n provision of a host not seen yet changes nothing' '
	seen >before &&
	mkp -n provision HOST=bruno-9 FROM=bruno >out 2>&1 &&
	test_grep "mkp-secrets -H bruno-9" out &&
	test_grep "mkp-server -H bruno-9" out &&
	test_grep "mkp-inventory .*-H bruno-9" out &&
	test ! -e $SANDBOX_RUN/state/bruno-9 &&
	seen >after && test_cmp before after
'

test_expect_success 'make status shows each phase with its facts' '
	mkp status HOST=$H >out 2>&1 &&
	test_grep "^server  *done .*ipv4=127.21.0" out &&
	test_grep "^inventory  *done" out &&
	test_grep "^bootstrap  *pending .* 15 min" out &&
	mkp status >out 2>&1 && test_grep "| $H " out
'

test_expect_success 'another server type for an existing server stops, saying why' '
	mkp server HOST=$H SERVER_TYPE=cpx42 >out 2>&1; test $? -ne 0 &&
	test_grep "is a cpx32 but SERVER_TYPE is cpx42" out &&
	admin hetzner GET state >state.json &&
	test $(jq "[.servers[] | select(.name == \"$H\")] | length" \
	    state.json) = 1
'

test_expect_success 'a host presenting another key is refused before any command' '
	cp $S/host_key.pub pinned.pub &&
	ssh-keygen -q -t ed25519 -N "" -f other -C other &&
	cp other.pub $S/host_key.pub &&
	log=$SANDBOX_RUN/hosts/$H/logs/sshd.log &&
	before=$(grep -c "Accepted publickey" $log) &&
	mkp redo-server HOST=$H >out 2>&1; rc=$?
	cp pinned.pub $S/host_key.pub &&
	test $rc -ne 0 && test_grep "does not match" out &&
	test_grep "refused" out &&
	test $(grep -c "Accepted publickey" $log) = $before
'

test_expect_success 'the server phase runs again with the right key' '
	mkp server HOST=$H >out 2>&1 &&
	jq -e ".adopted == true" $S/server-ready.json
'

test_expect_success 'changed SERVER_LABELS reach the server; labels set by hand stay' '
	(. $SANDBOX_RUN/env &&
	id=$(jq -r .server_id $S/server-ready.json) &&
	curl -sS --cacert "$MKP_CAFILE" -X PUT \
	    -H "authorization: Bearer $HCLOUD_TOKEN" \
	    -H "content-type: application/json" -d "{\"labels\":
	    {\"role\": \"production\", \"mkprov/host\": \"$H\",
	    \"owner\": \"ops\"}}" "$MKP_HETZNER_URL/servers/$id") \
	    >/dev/null &&
	labels="SERVER_LABELS=role=production tier=web team.example/on=ops" &&
	mkp plan HOST=$H "$labels" >out 2>&1 &&
	test_grep "plan: $H: set label tier=web (now unset)" out &&
	test_grep "plan: $H: set label team.example/on=ops (now unset)" out &&
	! grep "set label role=" out &&
	mkp server HOST=$H "$labels" >out 2>&1 &&
	admin hetzner GET state >state.json &&
	jq -e ".servers[] | select(.name == \"$H\") | .labels ==
	    {\"role\": \"production\", \"tier\": \"web\",
	    \"team.example/on\": \"ops\", \"owner\": \"ops\",
	    \"mkprov/host\": \"$H\"}" state.json &&
	mkp server HOST=$H "$labels" >out 2>&1 &&
	test_grep "nothing to do" out &&
	mkp plan HOST=$H "$labels" >out 2>&1 &&
	test_grep "plan: $H: adopt server" out &&
	! grep "set label" out
'

test_expect_success 'a host directory opened up by hand is made private again' '
	chmod 0755 $S &&
	mkp redo-inventory HOST=$H >out 2>&1 &&
	test "$(stat -c %a $S)" = 700
'

test_expect_success 'a second run waits for the lock, then names the holder' '
	mkp-lock $S/lock sleep 4 & holder=$!
	sleep 0.5 &&
	mkp redo-secrets HOST=$H LOCK_WAIT=1s >out 2>&1; rc=$?
	wait $holder
	test $rc -ne 0 && test_grep "held by pid $holder since" out &&
	test_grep "sleep 4" out
'

# holds LOCKFILE TEXT: wait (5 s at most) until the holder of
# LOCKFILE has written TEXT into it.
holds() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1)) && test $i -lt 100 && sleep 0.05 || return 1
	done
}

test_expect_success 'of two make runs on a host, the second waits its turn' '
	admin hetzner POST faults "{\"path_prefix\": \"/v1/servers\",
	    \"delay_ms\": 3000}" >/dev/null &&
	mkp redo-server HOST=$H >holder.out 2>&1 & holder=$!
	holds $S/lock "MKP_LOCKED=1 redo-server" &&
	mkp redo-secrets HOST=$H LOCK_WAIT=1s >out 2>&1; rc=$?
	test $rc -ne 0 && test_grep "held by pid .*redo-server" out &&
	mkp redo-inventory HOST=$H LOCK_WAIT=60s >out 2>&1 &&
	wait $holder &&
	grep "\"event\":\"end\"" $S/journal.jsonl | tail -n 2 |
	    jq -r .phase >order &&
	printf "server\ninventory\n" >want && test_cmp want order
'

test_expect_success 'runs on different hosts never block each other' '
	mkp-lock $S/lock sleep 3 & holder=$!
	sleep 0.3 &&
	mkp secrets HOST=bruno-5 LOCK_WAIT=1s >out 2>&1; rc=$?
	wait $holder
	test $rc = 0
'

test_done
