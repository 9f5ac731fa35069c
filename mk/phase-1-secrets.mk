# phase-1-secrets.mk: the runbook's phase 1, "verify Infisical
# secrets": prerequisites, machine-identity login, the required list.
# Proves secrets-verified.json and leaves secrets.env (0600) for the
# later phases.

READY_PHASES += secrets

ifneq ($(PIPELINE),)
$(eval $(call inputs,secrets,$(INFISICAL_URL) $(INFISICAL_PROJECT_ID) \
	$(INFISICAL_ENV) $(INFISICAL_PATH) $(DEVICES_SECRET) \
	$(REQUIRED_SECRETS) key=$(SSH_KEY) bundle=$(BOOTSTRAP_BUNDLE)))

$(call stamp,secrets): $(HOST_DIR)/inputs/secrets | $(HOST_DIR)
	$(Q)$(call phase,secrets,verify the secrets in Infisical) \
		$(BIN)/mkp-secrets -H $(HOST) -u $(INFISICAL_URL) \
		-p $(INFISICAL_PROJECT_ID) -e $(INFISICAL_ENV) \
		-P $(INFISICAL_PATH) -D $(DEVICES_SECRET) \
		-c '$(CAFILE)' -C '$(INFISICAL_CREDENTIALS)' \
		-k '$(SSH_KEY)' -b '$(BOOTSTRAP_BUNDLE)' \
		-o $(HOST_DIR)/secrets.env -s $@ \
		$(REQUIRED_SECRETS)
endif
