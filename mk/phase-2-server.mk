# phase-2-server.mk: the runbook's phase 2, "provision server", with
# the Hetzner API instead of Terraform: a server with the host's name
# and label, reachable over SSH with a pinned host key, cloud-init
# done.  Proves server-ready.json (id, addresses, host key).

READY_PHASES += server

ifneq ($(PIPELINE),)
SERVER_FLAGS = -H $(HOST) -a $(HETZNER_URL) -c '$(CAFILE)' \
	-E $(HOST_DIR)/secrets.env -t $(SERVER_TYPE) -i $(SERVER_IMAGE) \
	-l $(SERVER_LOCATION) $(addprefix -L ,$(SERVER_LABELS)) \
	-D $(DEVICES_SECRET) -u $(SSH_USER) -p $(SSH_PORT) -k '$(SSH_KEY)' \
	-d $(HOST_DIR) -w $(SERVER_WAIT)

$(eval $(call inputs,server,$(HETZNER_URL) $(SERVER_TYPE) \
	$(SERVER_IMAGE) $(SERVER_LOCATION) $(SERVER_LABELS) $(SSH_USER) \
	$(SSH_PORT)))

$(call stamp,server): $(call stamp,secrets) $(HOST_DIR)/inputs/server
	$(Q)$(call phase,server,create the server and wait for cloud-init) \
		$(BIN)/mkp-server $(SERVER_FLAGS) -s $@

PLAN.server = $(BIN)/mkp-server -n $(SERVER_FLAGS)
endif
