# status.mk: make status HOST=h shows the phases of one host; make
# status alone shows the runbook's Server Reference table.  Both read
# state and the inventory only: no API is called.


.PHONY: status
status: all
	$(Q)$(BIN)/mkp-status -S $(STATE) $(if $(HOST),-H $(HOST) \
		$(foreach p,$(PHASES),$(p)=$(stamp.$(p)):$(estimate.$(p))),\
		$(if $(wildcard $(INVENTORY)),-i $(INVENTORY)))
