# demo.mk: make demo, the newcomer's first command.  It installs what
# is missing, builds, starts a fresh sandbox and provisions a new host
# through every phase built so far, as a person would type it, then
# shows the result and what to try next.  It always uses the sandbox,
# even where a site.mk for a real site exists.

DEMO_HOST ?= bruno-2
DEMO_FROM ?= bruno
DEMO_SITE := $(TOP)/tests/sandbox/site.mk
demo_make = $(MAKE) --no-print-directory SITE=$(DEMO_SITE)

# What to try next, as "command<TAB>what it does" lines.
define DEMO_NEXT
make -n provision HOST=$(DEMO_HOST)	what a run would do (nothing now)
make redo-server HOST=$(DEMO_HOST)	run one phase again
make plan HOST=bruno-3	what provisioning another host would change
make provision HOST=bruno-3 FROM=$(DEMO_FROM)	provision it
eval "$$(make -s sandbox-env)"	then drive the fakes with curl
make sandbox-down	stop everything the sandbox started
endef
export DEMO_NEXT

.PHONY: demo
demo: deps
	$(Q)$(MAKE) --no-print-directory $(if $(filter 1,$(V)),,-s) all
	$(Q)$(SANDBOXCTL) down >/dev/null 2>&1 || :
	$(Q)$(SANDBOXCTL) up
	$(Q)$(demo_make) provision HOST=$(DEMO_HOST) FROM=$(DEMO_FROM)
	$(Q)$(demo_make) status HOST=$(DEMO_HOST)
	$(Q)$(demo_make) status
	@printf '\nThe sandbox is still running.  Try next:\n'
	@printf '%s\n' "$$DEMO_NEXT" | \
		awk -F '\t' '{ printf "  %-40s %s\n", $$1, $$2 }'
