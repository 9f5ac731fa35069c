#!/bin/sh
# The pipeline refuses a bad host name or a bad setting when make reads
# its files, naming what is wrong and the fix, before anything runs.

. "$(dirname "$0")/../lib/test-lib.sh"

# A complete site of its own, pointing nowhere: nothing may be called.
cat >"$TEST_DIR/site.mk" <<'SITE'
INFISICAL_URL = https://secrets.invalid
INFISICAL_PROJECT_ID = p-1
SERVER_TYPE = cpx32
SERVER_LOCATION = nbg1
DOMAIN_SUFFIX = example.test
DNS_RECORDS = secrets:proxied git:dns-only
STATE = $(TEST_DIR)/state
SITE
export TEST_DIR

# refused WANT make-args...: make stops at parse time saying WANT.
refused() {
	want=$1
	shift
	make -C "$MKP_TOP" --no-print-directory SITE="$TEST_DIR/site.mk" \
	    "$@" >out 2>&1 && { cat out; return 1; }
	test_grep "$want" out && test ! -e "$TEST_DIR/state"
}

test_expect_success 'a host is required' '
	refused "HOST: not set" provision
'

test_expect_success 'old and new are refused as names, with the reason' '
	refused "calls a server old or new" provision HOST=old &&
	refused "calls a server old or new" provision HOST=new &&
	refused "calls a server old or new" provision HOST=old-prod &&
	refused "calls a server old or new" provision HOST=new1 &&
	refused "calls a server old or new" provision HOST=web-new-2
'

test_expect_success 'names merely containing old or new are fine' '
	make -C "$MKP_TOP" -n SITE="$TEST_DIR/site.mk" provision \
	    HOST=newton >out 2>&1 &&
	make -C "$MKP_TOP" -n SITE="$TEST_DIR/site.mk" provision \
	    HOST=golden-2 >out 2>&1
'

test_expect_success 'host names must be RFC 1123 labels' '
	refused "is not a host name" provision HOST=Bruno &&
	refused "is not a host name" provision HOST=bru_no &&
	refused "is not a host name" provision HOST=-bruno &&
	refused "is not a host name" provision \
	    HOST=a123456789012345678901234567890123456789012345678901234567890123
'

test_expect_success 'the server moved from cannot be the host itself' '
	refused "FROM: .bruno. is the host being provisioned" provision \
	    HOST=bruno FROM=bruno &&
	refused "FROM: .old. calls a server old" provision \
	    HOST=bruno-2 FROM=old
'

test_expect_success 'a missing setting is named with what to put there' '
	sed /SERVER_TYPE/d "$TEST_DIR/site.mk" >"$TEST_DIR/site2.mk" &&
	make -C "$MKP_TOP" SITE="$TEST_DIR/site2.mk" provision \
	    HOST=bruno-2 >out 2>&1; test_grep "SERVER_TYPE: not set" out
'

test_expect_success 'malformed settings are named' '
	refused "SSH_PORT: .22x. is not a port" provision HOST=b SSH_PORT=22x &&
	refused "DNS_RECORDS: .git:maybe." provision HOST=b \
	    "DNS_RECORDS=git:maybe" &&
	refused "DNS_RECORDS: .git. is listed twice" provision HOST=b \
	    "DNS_RECORDS=git:proxied git:dns-only" &&
	refused "SERVER_LABELS: .role. is not a Hetzner label: write key=" \
	    provision HOST=b SERVER_LABELS=role &&
	refused "the prefix mkprov/ is mkprov" provision HOST=b \
	    SERVER_LABELS=mkprov/host=x
'

test_expect_success 'ports, durations and names out of range are named' '
	refused "SSH_PORT: .0. is not a port" provision HOST=b SSH_PORT=0 &&
	refused "SSH_PORT: .65536. is not a port" provision HOST=b \
	    SSH_PORT=65536 &&
	refused "SSH_PORT: not set" provision HOST=b SSH_PORT= &&
	refused "SERVER_WAIT: .forever. is not a duration" provision HOST=b \
	    SERVER_WAIT=forever &&
	refused "LOCK_WAIT: .5 min. is not a duration" provision HOST=b \
	    "LOCK_WAIT=5 min" &&
	refused "SERVER_IMAGE: not set" provision HOST=b SERVER_IMAGE= &&
	refused "SSH_USER: .Root. is not a user name" provision HOST=b \
	    SSH_USER=Root &&
	refused "SERVER_ROLE: .a-b. is not an Ansible group" provision \
	    HOST=b SERVER_ROLE=a-b &&
	refused "INFISICAL_PATH: .prod. is not a secret path" provision \
	    HOST=b INFISICAL_PATH=prod &&
	refused "REQUIRED_SECRETS: .s3-key. is not a secret name" \
	    provision HOST=b "REQUIRED_SECRETS=HETZNER_API_TOKEN s3-key" &&
	refused "SERVICES_DIR: .srv. is not an absolute directory" \
	    provision HOST=b SERVICES_DIR=srv &&
	refused "INFISICAL_DB_CONTAINER: not set" provision HOST=b \
	    INFISICAL_DB_CONTAINER=
'

test_expect_success 'every API must be reached over https' '
	refused "INFISICAL_URL: .http://secrets.test. is not an https URL" \
	    provision HOST=b INFISICAL_URL=http://secrets.test &&
	refused "HETZNER_URL: .api.hetzner.cloud/v1. is not an https" \
	    provision HOST=b HETZNER_URL=api.hetzner.cloud/v1
'

test_expect_success 'settings that contradict each other are named' '
	refused "DOMAIN_SUFFIX: .example.test. is not in DNS_ZONE" \
	    provision HOST=b DNS_ZONE=example.org &&
	refused "SERVER_LABELS: .tier. is given twice" provision HOST=b \
	    "SERVER_LABELS=tier=a tier=b" &&
	refused "SERVER_LABELS: .role=staging. contradicts SERVER_ROLE" \
	    provision HOST=b SERVER_LABELS=role=staging &&
	make -C "$MKP_TOP" -n SITE="$TEST_DIR/site.mk" provision \
	    HOST=bruno-2 DNS_ZONE=example.test \
	    DOMAIN_SUFFIX=lab.example.test >out 2>&1 &&
	make -C "$MKP_TOP" -n SITE="$TEST_DIR/site.mk" provision \
	    HOST=bruno-2 SERVER_LABELS=role=production >out 2>&1
'

test_expect_success 'every host of HOSTS is checked before any runs' '
	refused "HOSTS: .old. calls a server old or new" provision \
	    "HOSTS=bruno-3 old" &&
	test ! -e "$TEST_DIR/state/bruno-3"
'

test_expect_success 'make status refuses a bad name too' '
	refused "HOST: .old. calls a server old or new" status HOST=old
'

test_expect_success 'DNS records and server labels are checked for their form' '
	refused "DNS_RECORDS: .Secrets:proxied. is not a record" provision \
	    HOST=b DNS_RECORDS=Secrets:proxied &&
	refused "DNS_RECORDS: .git:dns-only:x. is not a record" provision \
	    HOST=b DNS_RECORDS=git:dns-only:x &&
	refused "DNS_RECORDS: .git. is not a record" provision HOST=b \
	    DNS_RECORDS=git &&
	refused "SERVER_LABELS: .tier=-x. is not a Hetzner label" provision \
	    HOST=b SERVER_LABELS=tier=-x &&
	refused "SERVER_LABELS: .tier. is not a Hetzner label" provision \
	    HOST=b SERVER_LABELS=tier &&
	refused "SERVER_LABELS: the prefix hetzner.cloud/ is Hetzner" \
	    provision HOST=b SERVER_LABELS=hetzner.cloud/x=y &&
	make -C "$MKP_TOP" -n SITE="$TEST_DIR/site.mk" provision \
	    HOST=bruno-2 "SERVER_LABELS=team.example/owner=ops tier=" \
	    "DNS_RECORDS=git:dns-only media.eu:proxied" >out 2>&1
'

test_expect_success 'make status needs no complete site' '
	printf "STATE = %s\n" "$TEST_DIR/state-s" >status-site.mk &&
	make -C "$MKP_TOP" --no-print-directory \
	    SITE="$TEST_DIR/status-site.mk" status >out 2>&1 &&
	test_grep "| Name " out
'

test_expect_success 'a missing site file is named with the fix' '
	refused "no such file: copy mk/site.example" provision HOST=b \
	    SITE=/nonexistent/site.mk
'

test_expect_success 'a per-host setting overrides the site for that host' '
	echo "bruno-9.SERVER_TYPE = cpx52" >>"$TEST_DIR/site.mk" &&
	make -C "$MKP_TOP" -n SITE="$TEST_DIR/site.mk" server \
	    HOST=bruno-9 >out 2>&1 && test_grep "-t cpx52" out &&
	make -C "$MKP_TOP" -n SITE="$TEST_DIR/site.mk" server \
	    HOST=bruno-8 >out 2>&1 && test_grep "-t cpx32" out
'

test_expect_success 'a dry run prints the helpers and writes nothing' '
	make -C "$MKP_TOP" -n SITE="$TEST_DIR/site.mk" provision \
	    HOST=bruno-2 >out 2>&1 &&
	test_grep "mkp-secrets -H bruno-2" out &&
	test_grep "mkp-server -H bruno-2" out &&
	test_grep "mkp-inventory -f" out &&
	test ! -e "$TEST_DIR/state"
'

test_expect_success 'phases not automated yet say so' '
	make -C "$MKP_TOP" SITE="$TEST_DIR/site.mk" MKP_LOCKED=1 \
	    migrate HOST=bruno-2 >out 2>&1; test $? -ne 0 &&
	test_grep "not automated in this version" out
'

test_done
