# pipeline.mk: the runbook as a chain of stamp files.
#
# Every phase of the runbook is a target in state/HOST/ named for the
# state it proves (server-ready.json, not "server").  A phase depends on
# the stamp of the phase before it and on a file of its inputs, the
# settings that shaped it; its recipe runs one helper through mkp-phase
# (one progress line, two journal lines), and the helper writes the
# stamp last and atomically.  So:
#
#   make server HOST=h         runs what is missing up to the server
#   make redo-dns HOST=h       deletes the dns stamp and every later
#                              one, then runs dns again
#   changing a setting         rewrites that phase's inputs file, which
#                              makes the phase run again
#
# A whole run holds the host's lock (mkp-lock): this file takes it and
# runs make again inside it with MKP_LOCKED=1.  A dry run (make -n)
# takes no lock and acts on nothing: the inner rules are used directly.
# The fragments phase-N-*.mk add each phase's rule; targets.mk, read
# last, makes the goals people type from them.

# Goals that act on one host, and those that need a site but no host.
PHASE_GOALS := secrets server inventory bootstrap deploy migrate dns \
	verify
HOST_GOALS := provision plan $(PHASE_GOALS) $(addprefix redo-,$(PHASE_GOALS))

# A site may keep its state elsewhere (the sandbox keeps its own).
STATE ?= $(TOP)/state
BIN := $(O)/bin

# The phases in runbook order, each with its stamp and the runbook's
# own estimate of its duration in minutes (make status shows both).
PHASES := secrets server inventory bootstrap deploy migrate dns verify
stamp.secrets := secrets-verified.json
stamp.server := server-ready.json
stamp.inventory := inventory-listed.json
stamp.bootstrap := bootstrapped.json
stamp.deploy := services-up.json
stamp.migrate := infisical-migrated.json
stamp.dns := dns-pointed.json
stamp.verify := verified.json
estimate.secrets := 5
estimate.server := 5
estimate.inventory := 2
estimate.bootstrap := 15
estimate.deploy := 10
estimate.migrate := 10
estimate.dns := 5
estimate.verify := 5

# The phases built so far; provision runs through the last of them.
# A fragment that adds a phase appends it here.
READY_PHASES ?=

DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))

# like VAR ERE HOWTO: the whole of VAR's value must match the extended
# regular expression ERE, else make stops naming VAR; like-value NAME
# VALUE ERE HOWTO does it for a value not in a variable of its own.
# grep only reads.
like = $(call like-value,$(1),$($(1)),$(2),$(3))
like-value = $(if $(shell printf '%s' '$(subst ','\'',$(2))' | \
	grep -Ex '$(strip $(3))'),,$(error $(1): '$(2)' $(strip $(4))))

# valid-name NAME VALUE: an RFC 1123 label, and never old or new (the
# runbook's lesson: servers are called by their names, which stay
# true).
digitless = $(subst 0,,$(subst 1,,$(subst 2,,$(subst 3,,$(subst 4,,\
	$(subst 5,,$(subst 6,,$(subst 7,,$(subst 8,,$(subst 9,,$(1)))))))))))
label-ere := [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?
valid-name = $(call like-value,$(1),$(2),$(label-ere),is not a host \
	name: use 1 to 63 lower-case letters$(,) digits and inner \
	dashes)$(if $(filter old new,$(call digitless,\
	$(subst -, ,$(2)))),$(error $(1): '$(2)' calls a server old or \
	new, which stops being true after the move: name it for what it \
	is, e.g. bruno-2))
, := ,

# Every name a goal is given is checked when make reads the files,
# before any host's run starts: HOSTS="a old" must not provision a.
ifneq ($(filter $(HOST_GOALS) status,$(MAKECMDGOALS)),)
$(foreach v,HOST FROM,$(if $($(v)),$(call valid-name,$(v),$($(v)))))
$(foreach h,$(HOSTS),$(call valid-name,HOSTS,$(h)))
endif

ifneq ($(filter $(HOST_GOALS),$(MAKECMDGOALS)),)

ifeq ($(strip $(HOST)$(HOSTS)),)
$(error HOST: not set: name the server, e.g. make provision HOST=bruno-2)
endif

ifneq ($(FROM),)
$(if $(filter $(FROM),$(HOST)),$(error FROM: '$(FROM)' is the host \
	being provisioned: name the server its services move from))
endif

# Phase fragments define their rules only when PIPELINE is set: a goal
# acts on a host and the host's name passed the checks above.
PIPELINE := $(HOST)
HOST_DIR = $(STATE)/$(HOST)
stamp = $(HOST_DIR)/$(stamp.$(1))
# after PHASE: the phases that come after PHASE.
after = $(call after_,$(1),$(PHASES))
after_ = $(if $(2),$(if $(filter $(1),$(firstword $(2))),\
	$(wordlist 2,99,$(2)),$(call after_,$(1),$(wordlist 2,99,$(2)))))

# phase NAME MESSAGE: the start of a phase's recipe.
phase = $(BIN)/mkp-phase -H $(HOST) -p $(1) \
	-j $(HOST_DIR)/journal.jsonl -m '$(2)'

# inputs PHASE TEXT: the file that records what shaped PHASE.  It is
# rewritten, and so PHASE runs again, only when TEXT changed; the
# comparison reads the file at parse time and writes nothing.
same = $(if $(subst x$(1),,x$(2))$(subst x$(2),,x$(1)),,same)
define inputs
$(HOST_DIR)/inputs/$(1): $(if $(call same,$(file \
		<$(HOST_DIR)/inputs/$(1)),$(strip $(2))),,FORCE) \
		| $(HOST_DIR)/inputs
	$(Q)printf '%s\n' '$(subst ','\'',$(strip $(2)))' >$$@.tmp && \
		mv -f $$@.tmp $$@
endef

.PHONY: FORCE
FORCE:

endif

