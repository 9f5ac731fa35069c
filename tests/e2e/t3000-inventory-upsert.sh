#!/bin/sh
# t3000-inventory-upsert: mkp-inventory lists a host in an Ansible YAML
# inventory, keeps every other byte of the file, refuses what it cannot
# edit safely, and takes hosts out again.  ansible-inventory is the
# judge of every result.

. "$(dirname "$0")/../lib/test-lib.sh"

# The runbook's Phase 3 example, with the servers of its Server
# Reference.
write_runbook() {
	cat >"$1" <<-'EOF'
	production:
	  hosts:
	    bruno:
	      ansible_host: 188.34.198.57
	      ansible_user: root
	      server_role: production
	      domain_suffix: kua.cl
	development:
	  hosts:
	    development-vps:
	      ansible_host: 46.224.125.1
	      ansible_user: root
	      server_role: development
	      domain_suffix: kua.cl
	EOF
}

# list FILE: ansible-inventory's view of FILE, failing when it cannot
# parse it.
list() {
	ANSIBLE_INVENTORY_UNPARSED_FAILED=True ANSIBLE_LOCALHOST_WARNING=False \
	    ansible-inventory -i "$1" --list
}

# upsert FILE HOST ADDRESS [more options]: the usual production host.
upsert() {
	f=$1 h=$2 a=$3
	shift 3
	mkp-inventory -f "$f" -H "$h" -g production -a "$a" -u root \
	    -p 22 -r production -d kua.cl "$@"
}

# without_block FILE HOST: FILE minus HOST's line and the lines below
# it indented deeper.
without_block() {
	awk -v h="$2" '
	    skip && (match($0, /^ */) && RLENGTH > ind || /^ *$/) { next }
	    { skip = 0 }
	    $1 == h ":" { skip = 1; match($0, /^ */); ind = RLENGTH; next }
	    { print }' "$1"
}

test_expect_success 'a new file gets the host with all five variables' '
	upsert new.yml newbox 203.0.113.7 -K /srv/kh &&
	list new.yml >out.json &&
	test "$(jq -r ".production.hosts[0]" out.json)" = newbox &&
	jq -e "._meta.hostvars.newbox | .ansible_host == \"203.0.113.7\" and
	    .ansible_user == \"root\" and .ansible_port == 22 and
	    .server_role == \"production\" and
	    .domain_suffix == \"kua.cl\"" out.json &&
	jq -r "._meta.hostvars.newbox.ansible_ssh_common_args" out.json \
	    >args &&
	test_grep "UserKnownHostsFile=/srv/kh -o StrictHostKeyChecking=yes" \
	    args &&
	test_grep "HostKeyAlgorithms=ssh-ed25519" args
'

test_expect_success 'a new file starts with a header saying who edits what' '
	head -n 4 new.yml >head &&
	test_grep "^# mkprov maintains the host entries" head &&
	test_grep "edit the rest" head &&
	test "$(stat -c %a new.yml)" = 644
'

test_expect_success 'a second identical run exits 2 and leaves the file alone' '
	touch -d "2001-02-03 04:05:06" new.yml &&
	cp -p new.yml before.yml &&
	ino=$(stat -c %i new.yml) &&
	test_must_fail 2 upsert new.yml newbox 203.0.113.7 -K /srv/kh &&
	cmp before.yml new.yml &&
	test "$(stat -c %Y new.yml)" = "$(stat -c %Y before.yml)" &&
	test "$(stat -c %i new.yml)" = "$ino"
'

test_expect_success 'a new address replaces the block and nothing else' '
	cat >keep.yml <<-\EOF &&
	---
	# Hosts of the shop.  Keep this comment.
	production:
	  vars:
	    ntp: pool.ntp.org   # trailing comment
	  hosts:
	    bruno:   # the main box
	      ansible_host: 188.34.198.57
	      ansible_user: root
	      # an old note inside the block
	      legacy_var: 1

	    # carla is next
	    carla:
	      ansible_host: 192.0.2.10

	development:
	  hosts: {}
	EOF
	cp keep.yml before.yml &&
	chmod 640 keep.yml &&
	upsert keep.yml bruno 198.51.100.9 &&
	without_block before.yml bruno >a &&
	without_block keep.yml bruno >b &&
	test_cmp a b &&
	test "$(grep -c "^$" keep.yml)" = 2 &&
	test_grep "^    bruno:   # the main box$" keep.yml &&
	test "$(stat -c %a keep.yml)" = 640 &&
	list keep.yml >out.json &&
	jq -e "._meta.hostvars.bruno.ansible_host == \"198.51.100.9\" and
	    ._meta.hostvars.carla.ansible_host == \"192.0.2.10\"" out.json
'

test_expect_success 'a host listed in another group is refused with exit 3' '
	write_runbook rb.yml &&
	cp rb.yml before.yml &&
	test_must_fail 3 upsert rb.yml development-vps 192.0.2.1 2>err &&
	test_grep "rb.yml: line 10: development-vps is in group development" \
	    err &&
	test_grep "not production: retire it there first" err &&
	test_grep "mkp-inventory -D" err &&
	cmp before.yml rb.yml
'

test_expect_success 'the runbook layout gets a new host after bruno' '
	write_runbook rb.yml &&
	write_runbook before.yml &&
	upsert rb.yml bruno-2 192.0.2.50 &&
	sed -n "1,7p" rb.yml >a && sed -n "1,7p" before.yml >b &&
	test_cmp b a &&
	sed -n "8,13p" rb.yml >added &&
	test_grep "^    bruno-2:$" added &&
	test_grep "^      ansible_host: 192.0.2.50$" added &&
	sed -n "14,\$p" rb.yml >a && sed -n "8,\$p" before.yml >b &&
	test_cmp b a &&
	list rb.yml >out.json &&
	test "$(jq -c .production.hosts out.json)" = \
	    "[\"bruno\",\"bruno-2\"]"
'

test_expect_success 'the all: children: layout gets the group under children' '
	cat >ac.yml <<-\EOF &&
	all:
	    vars:
	        ansible_python_interpreter: /usr/bin/python3
	    children:
	        development:
	            hosts:
	                development-vps:
	                    ansible_host: 46.224.125.1
	# the end
	EOF
	cp ac.yml before.yml &&
	upsert ac.yml bruno 188.34.198.57 &&
	test_grep "^        production:$" ac.yml &&
	test_grep "^                    ansible_host: 188.34.198.57$" ac.yml &&
	tail -n 1 ac.yml >last && test_grep "^# the end$" last &&
	list ac.yml >out.json &&
	jq -e "(.all.children | index(\"production\")) and
	    .production.hosts == [\"bruno\"]" out.json &&
	upsert ac.yml bruno 188.34.198.58 &&
	test "$(grep -c "^        production:$" ac.yml)" = 1
'

test_expect_success 'tabs in the indentation are refused and the file kept' '
	printf "production:\n  hosts:\n\tbruno:\n" >tab.yml &&
	cp tab.yml before.yml &&
	test_must_fail 3 upsert tab.yml bruno 192.0.2.1 2>err &&
	test_grep "tab.yml: line 3: tab in the indentation" err &&
	cmp before.yml tab.yml
'

test_expect_success 'a group or host in flow style is refused, the file kept' '
	printf "production: {hosts: {bruno: {}}}\n" >flow.yml &&
	cp flow.yml before.yml &&
	test_must_fail 3 upsert flow.yml bruno 192.0.2.1 2>err &&
	test_grep "line 1: group production has flow style" err &&
	printf "production:\n  hosts:\n    bruno: {ansible_host: x}\n" \
	    >flow.yml &&
	cp flow.yml before.yml &&
	test_must_fail 3 upsert flow.yml bruno 192.0.2.1 2>err &&
	test_grep "line 3: host bruno has flow style" err &&
	cmp before.yml flow.yml
'

test_expect_success 'anchors and a duplicate host are refused' '
	printf "production:\n  hosts:\n    bruno: &b\n      x: 1\n" >an.yml &&
	test_must_fail 3 upsert an.yml bruno 192.0.2.1 2>err &&
	test_grep "line 3: host bruno has an anchor" err &&
	write_runbook dup.yml &&
	sed -n "1,7p" dup.yml >>dup.yml &&
	test_must_fail 3 upsert dup.yml bruno 192.0.2.1 2>err &&
	test_grep "line 17: bruno listed again in group production" err &&
	test_grep "(first at line 3): delete one of them" err &&
	sed -n "3,7p" dup.yml >>dup.yml &&
	test_must_fail 3 upsert dup.yml carla 192.0.2.1 2>err &&
	test_grep "line 15: group production defined again at the same" err &&
	test_grep "level (first at line 1): merge them" err
'

test_expect_success 'removal deletes only the block, and exits 2 when absent' '
	write_runbook rm.yml &&
	upsert rm.yml bruno-2 192.0.2.50 &&
	mkp-inventory -D -f rm.yml -H bruno-2 &&
	write_runbook want.yml &&
	test_cmp want.yml rm.yml &&
	test_must_fail 2 mkp-inventory -D -f rm.yml -H bruno-2 &&
	test_cmp want.yml rm.yml &&
	mkp-inventory -D -f rm.yml -H development-vps &&
	list rm.yml >out.json &&
	jq -e "._meta.hostvars | has(\"development-vps\") | not" out.json
'

test_expect_success '-n writes nothing and prints the lines it would add' '
	write_runbook dry.yml &&
	cp dry.yml before.yml &&
	upsert dry.yml bruno-2 192.0.2.50 -n >diff &&
	cmp before.yml dry.yml &&
	test_grep "^@@ -7,0 +8,6 @@$" diff &&
	test_grep "^+    bruno-2:$" diff &&
	test_grep "^+      ansible_host: 192.0.2.50$" diff &&
	upsert dry.yml bruno 192.0.2.9 -n >diff &&
	test_grep "^-      ansible_host: 188.34.198.57$" diff &&
	test_grep "^+      ansible_host: 192.0.2.9$" diff &&
	upsert dry.yml bruno 192.0.2.9 &&
	test_must_fail 2 upsert dry.yml bruno 192.0.2.9 -n >diff &&
	echo "plan: bruno: dry.yml: already as wanted" >want &&
	test_cmp want diff
'

test_expect_success 'odd values round-trip through ansible-inventory' '
	mkp-inventory -f odd.yml -H odd -g staging -a 2001:db8::1 \
	    -u "no" -p 2222 -r "1.5" -d "ex:ample.org #x" \
	    -K "/srv/my state/{{ inventory_hostname }}/kh" 2>err &&
	test_grep "white space" err &&
	list odd.yml >out.json &&
	jq -e "._meta.hostvars.odd | .ansible_host == \"2001:db8::1\" and
	    .ansible_user == \"no\" and .server_role == \"1.5\" and
	    .domain_suffix == \"ex:ample.org #x\" and .ansible_port == 2222"\
	    out.json &&
	jq -r "._meta.hostvars.odd.ansible_ssh_common_args" out.json >args &&
	test_grep "=/srv/my state/{{ inventory_hostname }}/kh -o Strict" args
'

test_expect_success 'a result ansible-inventory cannot read is never written' '
	write_runbook bad.yml &&
	printf "broken: [unclosed\n" >>bad.yml &&
	cp bad.yml before.yml &&
	test_must_fail 1 upsert bad.yml bruno 192.0.2.1 2>err &&
	test_grep "ansible-inventory cannot read the new text" err &&
	test_grep "nothing written" err &&
	cmp before.yml bad.yml &&
	! ls -A | grep -q "mkp-"
'

test_expect_success 'an address overridden in host_vars fails the check' '
	mkdir -p hv/host_vars &&
	write_runbook hv/hosts.yml &&
	echo "ansible_host: 10.9.9.9" >hv/host_vars/bruno.yml &&
	cp hv/hosts.yml before.yml &&
	test_must_fail 1 upsert hv/hosts.yml bruno 192.0.2.1 2>err &&
	test_grep "reads ansible_host of bruno as \"10.9.9.9\"" err &&
	cmp before.yml hv/hosts.yml
'

test_expect_success 'the stamp says what was done, also when nothing changed' '
	write_runbook st.yml &&
	upsert st.yml bruno 192.0.2.1 -s stamp.json &&
	test "$(stat -c %a stamp.json)" = 600 &&
	jq -e ".host == \"bruno\" and .group == \"production\" and
	    .file == \"st.yml\" and .ansible_host == \"192.0.2.1\" and
	    .changed == true and (.updated_at | test(\"Z$\"))" stamp.json &&
	test_must_fail 2 upsert st.yml bruno 192.0.2.1 -s stamp.json &&
	jq -e ".changed == false" stamp.json
'

test_expect_success 'bad options are all reported at once with exit 3' '
	test_must_fail 3 mkp-inventory -f x.yml -H Bad_Host -g "a-b" \
	    -a "" -u root -p 70000 -r r -d d 2>err &&
	test_grep "^mkp-inventory: -H: Bad_Host: not a host name" err &&
	test_grep "^mkp-inventory: -g: a-b: not a group name" err &&
	test_grep "^mkp-inventory: -a: empty address" err &&
	test_grep "^mkp-inventory: -p: 70000: port too large" err &&
	! test -e x.yml
'

test_done
