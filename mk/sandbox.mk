# sandbox.mk: the sandbox world, where make demo and the end-to-end
# tests run: local fakes of Hetzner Cloud, Cloudflare and Infisical,
# and sandbox hosts on 127.0.0.x with a real sshd and PostgreSQL, all
# owned by one supervisor process.  tests/sandbox/sandboxctl does the
# work; these targets only name it.
#
#   eval "$(make -s sandbox-env)"   exports the fakes' URLs, the CA
#                                    (also as CURL_CA_BUNDLE,
#                                    SSL_CERT_FILE, REQUESTS_CA_BUNDLE
#                                    and NODE_EXTRA_CA_CERTS) and the
#                                    sandbox-only credentials
#   SANDBOX_CONFIG=FILE             sandbox.json keys to change (net,
#                                    ssh_port...), so that a second
#                                    sandbox can run beside another

SANDBOX_RUN ?= $(TOP)/state/sandbox
SANDBOX_CONFIG ?=
SANDBOXCTL := $(TOP)/tests/sandbox/sandboxctl --rundir $(SANDBOX_RUN) \
	$(if $(SANDBOX_CONFIG),--config $(SANDBOX_CONFIG))

.PHONY: sandbox-up sandbox-down sandbox-status sandbox-env
sandbox-up: | deps
	$(Q)$(SANDBOXCTL) up

sandbox-down:
	$(Q)$(SANDBOXCTL) down

sandbox-status:
	$(Q)$(SANDBOXCTL) status

sandbox-env:
	$(Q)$(SANDBOXCTL) env
