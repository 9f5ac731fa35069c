# phase-3-inventory.mk: the runbook's phase 3, "update Ansible
# inventory": the host under its role group in inventory/hosts.yml,
# with the known_hosts mkprov pinned so Ansible checks the same key.
# Proves inventory-listed.json.

READY_PHASES += inventory

ifneq ($(PIPELINE),)
# The stamp of the server phase holds the address the inventory needs;
# jq reads it in the recipe, so a dry run shows the lookup, not a guess.
INVENTORY_FLAGS = -f $(INVENTORY) -H $(HOST) -g $(SERVER_ROLE) \
	-u $(SSH_USER) -p $(SSH_PORT) -r $(SERVER_ROLE) \
	-d $(DOMAIN_SUFFIX) \
	-K $(HOST_DIR)/known_hosts
SERVER_IPV4 = "$$(jq -r .ipv4 $(call stamp,server))"

$(eval $(call inputs,inventory,$(INVENTORY) $(SERVER_ROLE) \
	$(SSH_USER) $(SSH_PORT) $(DOMAIN_SUFFIX)))

$(call stamp,inventory): $(call stamp,server) $(HOST_DIR)/inputs/inventory \
		| $(patsubst %/,%,$(dir $(INVENTORY)))
	$(Q)$(call phase,inventory,add the host to $(notdir $(INVENTORY))) \
		$(BIN)/mkp-inventory $(INVENTORY_FLAGS) -a $(SERVER_IPV4) -s $@

$(patsubst %/,%,$(dir $(INVENTORY))):
	$(Q)mkdir -p $@

# Before the server exists its address is not known: the plan shows
# the lines with a placeholder where it will go.
PLAN.inventory = $(BIN)/mkp-inventory -n $(INVENTORY_FLAGS) -a $(if $(wildcard \
	$(call stamp,server)),$(SERVER_IPV4),'<IPv4 of $(HOST)>')
endif
