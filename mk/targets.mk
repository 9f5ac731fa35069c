# targets.mk: the goals people type, made from the phases that the
# phase-N-*.mk fragments declared ready.  Read after them.

ifneq ($(HOSTS),)
# make -j4 provision HOSTS="a b c": one locked make per host, each line
# of its output prefixed with the host's name; their state never mixes
# since each host has its own directory, lock and journal.
HOSTS_GOAL := $(firstword $(filter $(HOST_GOALS),$(MAKECMDGOALS)))
$(HOSTS_GOAL): $(addprefix $(HOSTS_GOAL)@,$(HOSTS))
	@:
$(addprefix $(HOSTS_GOAL)@,$(HOSTS)): $(HOSTS_GOAL)@%: all
	$(Q)set -o pipefail; $(MAKE) --no-print-directory HOSTS= HOST=$* \
		$(HOSTS_GOAL) 2>&1 | sed -u 's/^/[$*] /'

else ifneq ($(PIPELINE),)
# state/ lets others through (the sandbox's PostgreSQL runs as another
# user below it); each host's own directory is for its owner alone.
# Made 0700 from the start: a mkdir then chmod would leave a moment
# in which others could look in.
$(HOST_DIR) $(HOST_DIR)/inputs:
	$(Q)mkdir -p -m 0711 $(STATE) && chmod 0711 $(STATE) && \
		mkdir -p -m 0700 $(HOST_DIR) && mkdir -p -m 0700 $@

ifeq ($(MKP_LOCKED)$(DRY_RUN),)
# The outer make: take the host's lock, unless nothing is left to do,
# in which case nothing is touched at all (not even the lock file).
# A host directory someone opened up is made private again first.
$(HOST_GOALS): all | $(HOST_DIR)
	$(Q)if $(MAKE) -q --no-print-directory MKP_LOCKED=1 $@ \
		2>/dev/null; then \
		echo ">>> $(HOST) $@: nothing to do" \
		    "(make redo-PHASE HOST=$(HOST) runs one again)"; \
	else \
		chmod 0700 $(HOST_DIR) && \
		$(BIN)/mkp-lock -w $(LOCK_WAIT) $(HOST_DIR)/lock \
		    $(MAKE) --no-print-directory MKP_LOCKED=1 $@; \
	fi

else
# The inner make, or a dry run: the phases themselves.
provision: $(call stamp,$(lastword $(READY_PHASES)))
$(foreach p,$(READY_PHASES),$(eval $(p): $(call stamp,$(p))))

# plan: read-only calls that show what each phase would change; it
# needs the secrets (the API tokens are among them), nothing more.
# A helper's 2 ("nothing would change") is an answer, not a failure.
plan: $(call stamp,secrets)
	$(Q)$(foreach p,$(READY_PHASES),$(if $(PLAN.$(p)),\
		{ $(PLAN.$(p)) || [ $$? -eq 2 ]; } &&)) :

# redo-PHASE first deletes PHASE's stamp and every later one, which no
# longer prove anything, then makes PHASE again; the stamps of a dry
# run are only shown deleted.  No recipe special-cases a rerun.
$(foreach p,$(READY_PHASES),$(if $(filter redo-$(p),$(MAKECMDGOALS)),\
	$(eval $(call stamp,$(p)): FORCE | redo-clear-$(p))))
$(foreach p,$(READY_PHASES),$(eval redo-$(p): $(call stamp,$(p))))
$(foreach p,$(READY_PHASES),$(eval redo-clear-$(p): ; \
	$$(Q)rm -f $(foreach q,$(p) $(call after,$(p)),$(call stamp,$(q)))))

# Phases of the runbook this version does not automate yet.
$(foreach p,$(filter-out $(READY_PHASES),$(PHASES)),\
	$(eval $(p) redo-$(p): ; @echo "make: $(p): not automated in \
	this version of mkprov: do it by hand as the runbook says" >&2; \
	exit 3))
endif
endif

# The runbook's phase 9 has no phase stamp: it ends a host.
retire:
	@echo "make: retire: not automated in this version of mkprov:" \
	    "do it by hand as the runbook's phase 9 says" >&2; exit 3

.PHONY: $(HOST_GOALS) retire
