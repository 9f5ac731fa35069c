#!/bin/sh
# The secrets phase reports every problem of a run at once (missing or
# empty secrets, missing tools), names the fix, ends with the status
# the contract gives, and never shows a secret value.

. "$(dirname "$0")/../lib/test-lib.sh"
. "$MKP_TOP/tests/lib/sandbox-lib.sh"

test_expect_success 'the sandbox starts' '
	sandbox_up 127.21.2
'

# last_status HOST: the exit status of the last phase run on HOST.
last_status() {
	tail -n 1 "$SANDBOX_RUN/state/$1/journal.jsonl" | jq .status
}

# no_value_in FILE...: no secret value the sandbox seeded shows there.
no_value_in() {
	jq -r ".infisical_secrets | to_entries[] | .value |
	    select(length > 7)" "$SANDBOX_RUN/secrets.json" |
	    head -n 1 >value &&
	jq -r .infisical_client_secret "$SANDBOX_RUN/secrets.json" >>value &&
	! grep -F -f value "$@"
}

test_expect_success 'every missing or empty secret is named in one run' '
	pid=$(jq -r .infisical_project_id $SANDBOX_RUN/secrets.json) &&
	admin infisical GET config >config.json &&
	jq --arg p "$pid" "{projects: (.projects |
	    .[\$p].prod[\"/\"].S3_BUCKET = \"\" |
	    del(.[\$p].prod[\"/\"].REDIS_PASSWORD) |
	    del(.[\$p].prod[\"/\"].SSH_KEY_MACBOOKPRO_STATUS))}" \
	    config.json >broken.json &&
	admin infisical POST config "$(cat broken.json)" >/dev/null &&
	mkp secrets HOST=b-1 >out 2>&1; test $? -ne 0 &&
	test_grep "b-1: S3_BUCKET: empty in prod/" out &&
	test_grep "b-1: REDIS_PASSWORD: missing in prod/" out &&
	test_grep "b-1: SSH_KEY_MACBOOKPRO_STATUS: missing in prod/" out &&
	test_grep "3 required secrets missing or empty in prod" out &&
	test $(last_status b-1) = 5 &&
	test ! -e $SANDBOX_RUN/state/b-1/secrets.env &&
	test ! -e $SANDBOX_RUN/state/b-1/secrets-verified.json &&
	no_value_in out $SANDBOX_RUN/state/b-1/journal.jsonl
'

test_expect_success 'a missing environment is told apart from a missing path' '
	mkp secrets HOST=b-2 INFISICAL_ENV=qa >out 2>&1; test $? -ne 0 &&
	test_grep "b-2: environment .qa. missing in project" out &&
	test_grep "check INFISICAL_ENV and INFISICAL_PROJECT_ID" out &&
	test $(last_status b-2) = 3 &&
	mkp secrets HOST=b-2 INFISICAL_ENV=qa INFISICAL_PATH=/apps \
	    >out 2>&1; test $? -ne 0 &&
	test_grep "b-2: environment .qa. missing in project" out &&
	mkp secrets HOST=b-2 INFISICAL_PATH=/nope >out 2>&1; test $? -ne 0 &&
	test_grep "b-2: path ./nope. missing in environment .prod." out &&
	test_grep "check INFISICAL_PATH" out &&
	test $(last_status b-2) = 3
'

test_expect_success 'an empty environment lists every secret it lacks' '
	mkp secrets HOST=b-2 INFISICAL_ENV=staging >out 2>&1; test $? -ne 0 &&
	test_grep "17 required secrets missing or empty in staging" out
'

test_expect_success 'a wrong machine identity is refused, naming the fix' '
	printf "INFISICAL_CLIENT_ID=\"%s\"\nINFISICAL_CLIENT_SECRET=\"wrong\"\n" \
	    "$(jq -r .infisical_client_id $SANDBOX_RUN/secrets.json)" >id.env &&
	chmod 600 id.env &&
	mkp secrets HOST=b-3 INFISICAL_CREDENTIALS=$TEST_DIR/id.env \
	    >out 2>&1; test $? -ne 0 &&
	test_grep "Invalid credentials" out &&
	test_grep "login refused: check the machine identity" out &&
	test $(last_status b-3) = 3
'

test_expect_success 'credentials others can read are refused' '
	chmod 644 id.env &&
	mkp secrets HOST=b-4 INFISICAL_CREDENTIALS=$TEST_DIR/id.env \
	    >out 2>&1; test $? -ne 0 &&
	test_grep "readable by others: chmod 600 it" out
'

test_expect_success 'every missing tool is reported in the same run' '
	mkdir -p empty-path &&
	PATH=$TEST_DIR/empty-path "$MKP_BUILD/bin/mkp-secrets" -H b-5 \
	    -u https://127.0.0.1:1 -p p -e prod -P / \
	    -D SSH_KEYS_ACTIVE_DEVICES -o $TEST_DIR/s.env -s $TEST_DIR/st \
	    -k $SANDBOX_RUN/keys/macmini >out 2>&1; rc=$?
	test $rc = 3 &&
	test_grep "ansible-playbook: not found in PATH" out &&
	test_grep "ansible-inventory: not found in PATH" out &&
	test_grep "ssh-keygen: not found in PATH" out &&
	test_grep "jq: not found in PATH" out &&
	test_grep "4 prerequisites missing" out &&
	test ! -e s.env
'

test_expect_success 'no SSH key at hand is reported with the fix' '
	SSH_AUTH_SOCK= "$MKP_BUILD/bin/mkp-secrets" -H b-6 \
	    -u https://127.0.0.1:1 -p p -e prod -P / \
	    -D SSH_KEYS_ACTIVE_DEVICES -o s.env -s st >out 2>&1; rc=$?
	test $rc = 3 && test_grep "ssh-agent: .*set SSH_KEY" out
'

test_expect_success 'the identity never reaches a log or a state file' '
	admin infisical POST config "$(jq "{projects: .projects}" \
	    config.json)" >/dev/null &&
	mkp secrets HOST=b-7 >out 2>&1 &&
	no_value_in out $SANDBOX_RUN/state/b-7/journal.jsonl \
	    $SANDBOX_RUN/state/b-7/secrets-verified.json
'

test_expect_success 'the tools are recorded with their versions' '
	jq -e ".tools[\"ssh-keygen\"] | test(\"^OpenSSH_\")" \
	    $SANDBOX_RUN/state/b-7/secrets-verified.json &&
	jq -e ".tools.jq | test(\"^jq-\")" \
	    $SANDBOX_RUN/state/b-7/secrets-verified.json
'

# ask ARGS...: run the secrets phase of host b-9 on a terminal of its
# own, with no machine identity but the one typed at the prompts.
ask() {
	env -u INFISICAL_CLIENT_ID -u INFISICAL_CLIENT_SECRET \
	    "$MKP_TOP/tests/lib/pty-run.py" -o tty.out "$@" \
	    make -C "$MKP_TOP" --no-print-directory SITE="$SANDBOX_SITE" \
	    SANDBOX_RUN="$SANDBOX_RUN" INFISICAL_CREDENTIALS= \
	    redo-secrets HOST=b-9
}

test_expect_success 'the identity is asked on the terminal, the secret unseen' '
	id=$(jq -r .infisical_client_id $SANDBOX_RUN/secrets.json) &&
	secret=$(jq -r .infisical_client_secret $SANDBOX_RUN/secrets.json) &&
	ask -a "client ID: =$id" -a "client secret: =$secret" >echo &&
	test_grep "client ID: $id" tty.out &&
	test_grep "client secret: *.$" tty.out &&
	! grep -F "$secret" tty.out &&
	test_grep "echo on at client ID" echo &&
	test_grep "echo off at client secret" echo &&
	test "$(tail -n 1 echo)" = "echo on" &&
	test -e $SANDBOX_RUN/state/b-9/secrets-verified.json
'

test_expect_success 'an interrupted prompt gives the terminal its echo back' '
	ask -a "client ID: =someone" -i "client secret: " >echo; rc=$?
	test $rc = 130 &&
	test_grep "echo off at client secret" echo &&
	test "$(tail -n 1 echo)" = "echo on" &&
	test ! -e $SANDBOX_RUN/state/b-9/secrets-verified.json
'

test_expect_success 'a bootstrap bundle needs age and a readable file' '
	mkp secrets HOST=b-8 BOOTSTRAP_BUNDLE=$TEST_DIR/none.age \
	    >out 2>&1; test $? -ne 0 &&
	test_grep "none.age: BOOTSTRAP_BUNDLE unreadable" out &&
	printf "age-encrypted\n" >bundle.age &&
	mkp secrets HOST=b-8 BOOTSTRAP_BUNDLE=$TEST_DIR/bundle.age \
	    >out 2>&1 &&
	jq -e ".tools.age | test(\"v?[0-9]\")" \
	    $SANDBOX_RUN/state/b-8/secrets-verified.json
'

test_done
